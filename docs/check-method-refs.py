#!/usr/bin/env python3
"""Checks that every section of docs/METHOD.md the tree cites exists.

    python3 docs/check-method-refs.py [SOURCE_DIR] [--list]

Code comments, tests, scripts and docs cite the method as "METHOD n" or "METHOD n.m" (also
"METHOD n, m" for two sections) and docs as "METHOD.md section n". Each cited number must be the
number of a heading in docs/METHOD.md ("## n. Title" or "### n.m Title"). Prints every citation
that does not resolve, as FILE:LINE, and exits 1 if there is one; with --list, prints every
citation and the heading it resolves to. CTest runs it as test_docs_method, so CI does too.
"""
import os
import re
import sys

# Where citations may be: the project's own sources and docs, not build trees or test inputs.
FOLDERS = ["core", "app", "widgets", "tests", "docs", "scripts", "packaging", "resources", ".ci"]
TOP_FILES = ["README.md", "CMakeLists.txt"]
SKIP_FOLDERS = {os.path.join("tests", "data"), os.path.join("tests", "fuzz", "corpus")}
EXTENSIONS = (".h", ".hpp", ".cpp", ".c", ".py", ".md", ".sh", ".txt", ".cmake", ".in")

NUMBER = r"\d+(?:\.\d+)*"
# Comment markers may sit between the word and the number when a citation wraps a line.
GAP = r"(?:\s|//|#|\*)+"
CITATION = re.compile(
    r"\bMETHOD(?:\.md)?,?" + GAP + r"(?:sections?" + GAP + r")?"
    r"(" + NUMBER + r"(?:(?:\s*,\s*|\s+and\s+)" + NUMBER + r")*)")
HEADING = re.compile(r"^#{1,6}\s+(" + NUMBER + r")\.?\s+(.*?)\s*$")


def headings(method_md):
    sections = {}
    duplicates = []
    with open(method_md, encoding="utf-8") as f:
        for line in f:
            match = HEADING.match(line)
            if match:
                number, title = match.groups()
                if number in sections:
                    duplicates.append(number)
                sections[number] = title
    return sections, duplicates


def source_files(root):
    for name in TOP_FILES:
        if os.path.isfile(os.path.join(root, name)):
            yield name
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            relative = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(d for d in dirnames
                                 if os.path.join(relative, d) not in SKIP_FOLDERS)
            for name in sorted(filenames):
                if name.endswith(EXTENSIONS) or name == "run":
                    yield os.path.join(relative, name)


def citations(root, path):
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        return
    for match in CITATION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for number in re.findall(NUMBER, match.group(1)):
            yield line, number


def main():
    args = [a for a in sys.argv[1:] if a != "--list"]
    listing = "--list" in sys.argv[1:]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    method_md = os.path.join(root, "docs", "METHOD.md")
    if not os.path.isfile(method_md):
        print(f"check-method-refs: {method_md} does not exist")
        return 1
    sections, duplicates = headings(method_md)
    this_script = os.path.join("docs", os.path.basename(__file__))

    cited = []
    for path in source_files(root):
        if path == this_script:
            continue
        for line, number in citations(root, path):
            cited.append((path, line, number))

    missing = [(p, l, n) for p, l, n in cited if n not in sections]
    if listing:
        for path, line, number in cited:
            print(f"{path}:{line}: METHOD {number} -> {sections.get(number, '(no such section)')}")
    for number in duplicates:
        print(f"docs/METHOD.md: section {number} has more than one heading")
    for path, line, number in missing:
        print(f"{path}:{line}: cites METHOD {number}, which has no heading in docs/METHOD.md")
    if missing or duplicates or not cited:
        if not cited:
            print("check-method-refs: no METHOD citations found (wrong SOURCE_DIR?)")
        return 1
    print(f"check-method-refs: all {len(cited)} METHOD citations in "
          f"{len({p for p, _, _ in cited})} files resolve to a section of docs/METHOD.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
