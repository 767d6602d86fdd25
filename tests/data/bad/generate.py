#!/usr/bin/env python3
"""Writes the bad-input corpus next to this script. Run it again after changing a case; the
expected error of each case is in tests/io/badinputtest.cpp.

Every case is built from one tiny valid PEFT adapter (two modules, r = 2, 4 x 6 and 4 x 6, F32) so
that exactly one thing is wrong in each."""

import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "base_model.model.model.layers.{}.self_attn.{}"
CONFIG = {
    "base_model_name_or_path": None,
    "peft_type": "LORA",
    "r": 2,
    "lora_alpha": 4,
    "target_modules": ["q_proj", "v_proj"],
}


def values(count, start):
    return [start + 0.25 * i for i in range(count)]


def tiny_tensors():
    """(name, dtype, shape, little-endian bytes), in PEFT's order."""
    tensors = []
    for layer, kind in ((0, "q_proj"), (0, "v_proj")):
        base = PREFIX.format(layer, kind)
        a = values(2 * 6, -1.0)
        b = values(4 * 2, 0.5)
        tensors.append((base + ".lora_A.weight", "F32", [2, 6], struct.pack("<12f", *a)))
        tensors.append((base + ".lora_B.weight", "F32", [4, 2], struct.pack("<8f", *b)))
    return tensors


def header_for(tensors, metadata=True):
    header = {"__metadata__": {"format": "pt"}} if metadata else {}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    return header


def pack(header, data, header_text=None):
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def write(name, content):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(content)


def write_folder(name, content, config=True):
    folder = os.path.join(HERE, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    if content is not None:
        with open(os.path.join(folder, "adapter_model.safetensors"), "wb") as f:
            f.write(content)
    if config is True:
        config = json.dumps(CONFIG, indent=2)
    if config:
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            f.write(config)


def main():
    tensors = tiny_tensors()
    data = b"".join(t[3] for t in tensors)
    good = pack(header_for(tensors), data)

    write("empty.safetensors", b"")
    write("short.safetensors", b"\x10\x00\x00")
    # The last tensor's bytes are cut off, as by an interrupted download.
    write("truncated.safetensors", good[:-20])
    # The 8-byte length claims more header than the file holds.
    write("header-too-long.safetensors", struct.pack("<Q", len(good) * 4) + good[8:])

    outside = header_for(tensors)
    first = next(k for k in outside if k != "__metadata__")
    outside[first]["data_offsets"] = [4096, 4096 + 48]
    write("offsets-outside.safetensors", pack(outside, data))

    overlap = header_for(tensors)
    names = [k for k in overlap if k != "__metadata__"]
    overlap[names[1]]["data_offsets"] = [16, 16 + 32]  # inside the first tensor's [0, 48)
    write("overlapping-offsets.safetensors", pack(overlap, data))

    # A type no safetensors writer of ours knows (4-bit, less than a byte per element).
    unknown = header_for(tensors)
    unknown[names[0]]["dtype"] = "F4"
    unknown[names[0]]["shape"] = [2, 48]
    write("unknown-dtype.safetensors", pack(unknown, data))

    # A known type, but not one a LoRA factor can have: the first lora_A as 48 int8 values.
    integer = header_for(tensors)
    integer[names[0]]["dtype"] = "I8"
    integer[names[0]]["shape"] = [2, 24]
    write("integer-factor.safetensors", pack(integer, data))

    mismatch = header_for(tensors)
    mismatch[names[0]]["shape"] = [2, 5]  # 40 bytes, but the range holds 48
    write("shape-mismatch.safetensors", pack(mismatch, data))

    text = json.dumps(header_for(tensors), separators=(",", ":"))
    write("malformed-json.safetensors", pack(None, data, header_text=text[:-7] + "]]"))
    write("not-an-object.safetensors", pack(None, data, header_text="[1,2,3]"))

    # A and B of the first module disagree on the rank: A is [2, 6], B is [4, 3].
    ranks = list(tensors)
    b_name = ranks[1][0]
    ranks[1] = (b_name, "F32", [4, 3], struct.pack("<12f", *values(12, 0.5)))
    write_folder("rank-mismatch", pack(header_for(ranks), b"".join(t[3] for t in ranks)))

    nan = list(tensors)
    a = values(12, -1.0)
    a[7] = float("nan")
    nan[2] = (nan[2][0], "F32", [2, 6], struct.pack("<12f", *a))  # v_proj lora_A
    write_folder("nan-values", pack(header_for(nan), b"".join(t[3] for t in nan)))

    inf = list(tensors)
    b = values(8, 0.5)
    b[3] = float("-inf")
    inf[1] = (inf[1][0], "F32", [4, 2], struct.pack("<8f", *b))  # q_proj lora_B
    write_folder("inf-values", pack(header_for(inf), b"".join(t[3] for t in inf)))

    # Finite as stored but not in float32, in which every computation runs: F64 factors of 1e300
    # became Inf, and inspect printed zero singular values.
    wide = list(tensors)
    a = [v * 1e300 for v in values(12, -1.0)]
    wide[0] = (wide[0][0], "F64", [2, 6], struct.pack("<12d", *a))  # q_proj lora_A
    write_folder("f64-beyond-float32", pack(header_for(wide), b"".join(t[3] for t in wide)))

    # Finite in float32, but the sums of squares the SVD forms are not: F32 factors of 1e30.
    squares = list(tensors)
    b = [v * 1e30 for v in values(8, 0.5)]
    squares[3] = (squares[3][0], "F32", [4, 2], struct.pack("<8f", *b))  # v_proj lora_B
    write_folder("float32-square-overflow",
                 pack(header_for(squares), b"".join(t[3] for t in squares)))

    # Each factor computable alone, but the squared singular values of B A overflow float32:
    # both factors of q_proj scaled by 1e12 (quantize reported error 0.0000).
    product = list(tensors)
    a = [v * 1e12 for v in values(12, -1.0)]
    b = [v * 1e12 for v in values(8, 0.5)]
    product[0] = (product[0][0], "F32", [2, 6], struct.pack("<12f", *a))
    product[1] = (product[1][0], "F32", [4, 2], struct.pack("<8f", *b))
    write_folder("float32-product-overflow",
                 pack(header_for(product), b"".join(t[3] for t in product)))

    lonely = tensors[:3]  # v_proj has lora_A but no lora_B
    write_folder("missing-lora-b", pack(header_for(lonely), b"".join(t[3] for t in lonely)))

    write_folder("no-adapter", None, config=True)
    with open(os.path.join(HERE, "no-adapter", "README.md"), "w") as f:
        f.write("A folder with a config but no adapter_model.safetensors.\n")

    write_folder("bad-config", good, config=json.dumps(dict(CONFIG, r="eight"), indent=2))
    write_folder("missing-config", good, config=False)

    # Hostile headers (issue 25). 100,000 unclosed levels: printing or copying such a value
    # recursed until the stack overflowed; the depth is now refused at 64 while parsing.
    deep = text.replace('"shape":[2,6]', '"shape":' + "[" * 100000, 1)
    write("deep-nesting.safetensors", pack(None, data, header_text=deep))
    # One tensor given twice: which one is meant is not for a reader to guess.
    first_entry = text[text.index('"' + names[0] + '"'):text.index(',"' + names[1] + '"')]
    write("duplicate-key.safetensors",
          pack(None, data, header_text=text[:-1] + "," + first_entry + "}"))
    # A NUL in a name would be cut wherever the name meets a C string, renaming the tensor.
    nul = {(k.replace("q_proj.lora_A", "q_proj\0x.lora_A") if k != "__metadata__" else k): v
           for k, v in header_for(tensors).items()}
    write("nul-in-name.safetensors", pack(nul, data))
    write_folder("deep-config", good, config='{"r": ' + "[" * 100000)

    # Findings of the fuzzers (tests/fuzz); each one guards a fix in core/io.
    # A rank_pattern value above INT_MAX wrapped to a negative rank.
    write_folder("rank-pattern-overflow", good,
                 config=json.dumps(dict(CONFIG, rank_pattern={"q_proj": 2**31}), indent=2))
    # A key that makes a backtracking regex engine take exponential time: loading hung. It is a
    # valid regex that matches no module, so the adapter loads; the second key still applies.
    write_folder("catastrophic-pattern", good, config=json.dumps(
        dict(CONFIG, alpha_pattern={"(.*.*.*.*.*.*.*.*.*.*.*.*)*x": 100, "q_pr.j": 8}), indent=2))


    # A quantization report used as a plan (quantize --plan) that lists q_proj twice with another
    # h each time: which entry applies must not be decided silently. It fits missing-config.
    planned = [{"name": PREFIX.format(0, kind), "r": 2, "h": h, "bits_high": 2}
               for kind, h in (("q_proj", 1), ("v_proj", 1), ("q_proj", 2))]
    plan = {"tool": "loraquant", "method": "loraquant",
            "settings": {"rho": 0.8, "split": "ratio", "bits_high": 2, "group_size": 128},
            "modules": planned}
    write("plan-module-twice.json", (json.dumps(plan, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
