#!/usr/bin/env bash
# Regenerates the README's screenshots: builds the workbench, opens the bundled example adapter
# (or the adapter given as an argument) headless and writes one 1280 x 800 PNG per view
# (spectrum, error, learn), the Spectrum view's trade-off plot alone (tradeoff), the sorted,
# multi-selected tree (tree), then the Fleet view of a generated 200-adapter batch summary
# (fleet), into docs/screenshots/ with the workbench's --screenshot option.
#
#   bash scripts/make-screenshots.sh [ADAPTER]
#
# LQ_BUILD_DIR picks the build folder (default build/, configured like the other scripts if it
# does not exist yet). The workbench runs with its own scratch settings, so your saved window
# layout and recent files neither change the pictures nor are changed by them.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LQ_BUILD_DIR:-build}
out_dir=docs/screenshots
if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build_dir" -j "$(nproc)" --target loraquant-workbench
mkdir -p "$out_dir"
# Offscreen unless the caller chose a platform: no display needed, same pictures everywhere.
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} \
    "$build_dir/app/gui/loraquant-workbench" --screenshot "$out_dir" "$@"
