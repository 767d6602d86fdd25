#!/usr/bin/env bash
# Regenerates docs/COMPARISON.md: `loraquant sweep` on the three shared adapters and on the
# synthetic llama2-7b r16 adapter (all linear layers), one table per adapter of the error of each
# method at equal true bits, and per adapter the method with the lowest error at each true bit
# width among all of them, the methods people use today included (rank truncation, NF4, q8_0,
# Delta-CoMe tiers, ComPEFT; docs/METHOD.md section 10). The sweeps' CSV files go to
# docs/comparison/ next to it. The 7B sweep takes a few minutes on two cores.
#
#   bash scripts/make-comparison.sh
#
# LQ_BUILD_DIR picks the build folder (default build/, configured like the other scripts if it
# does not exist yet); LQ_SHARED_DIR the shared data (default ../shared). The synthetic adapter
# is written to a temporary folder and removed afterwards. Every number in the document comes
# from the sweeps this run makes; the script only arranges them (scripts/comparison-table.py).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LQ_BUILD_DIR:-build}
shared_dir=${LQ_SHARED_DIR:-../shared}
out_dir=docs/comparison
if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" -j "$(nproc)" --target loraquant
cli="$build_dir/app/loraquant"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$out_dir"

adapters=()
for path in "$shared_dir"/adapters/*/; do
    adapters+=("${path%/}")
done
"$cli" synth --preset llama2-7b --rank 16 --targets all --seed 1 -o "$scratch/llama2-7b-synth-r16" >&2
adapters+=("$scratch/llama2-7b-synth-r16")

for adapter in "${adapters[@]}"; do
    name=$(basename "$adapter")
    echo "sweep $name" >&2
    "$cli" sweep "$adapter" --csv "$out_dir/$name.csv" >"$scratch/$name.txt"
done

# The command as run, with the settings that change what it reads.
command="LQ_BUILD_DIR=$build_dir LQ_SHARED_DIR=$shared_dir bash scripts/make-comparison.sh"
python3 scripts/comparison-table.py --command "$command" \
    --cli-version "$("$cli" --version)" "$out_dir"/*.csv >docs/COMPARISON.md.tmp
mv docs/COMPARISON.md.tmp docs/COMPARISON.md
echo "wrote docs/COMPARISON.md" >&2
