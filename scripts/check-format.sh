#!/usr/bin/env bash
# Fails when a C++ file of the project differs from what clang-format makes of it with the root
# .clang-format, listing the files; `clang-format -i FILE` fixes one. clang-format comes with
# scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find app core widgets tests -name '*.cpp' -o -name '*.h' | sort)
unformatted=()
for file in "${files[@]}"; do
    clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done
if [ "${#unformatted[@]}" -gt 0 ]; then
    echo "check-format: ${#unformatted[@]} of ${#files[@]} files are not clang-formatted:"
    printf '  %s\n' "${unformatted[@]}"
    exit 1
fi
echo "check-format: all ${#files[@]} C++ files are clang-formatted"
