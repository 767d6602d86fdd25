#!/usr/bin/env bash
# Installs what is missing, builds the workbench and opens it on the bundled example adapter
# (or on the adapters given as arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${LQ_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$(nproc)" --target loraquant-workbench
exec "$build_dir/app/gui/loraquant-workbench" "$@"
