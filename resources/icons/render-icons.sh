#!/usr/bin/env bash
# Renders the PNG icons from the hand-drawn SVGs. The PNGs are committed, so building and
# packaging need no converter; run this only after changing an SVG (needs rsvg-convert from
# librsvg2-bin). 16 px uses the 16-grid drawing, 24 px the 24-grid one and 22 px its inner
# 22 pixels (that drawing keeps a 1 pixel margin), the rest the full drawing.
set -euo pipefail
cd "$(dirname "$0")"
for size in 16 22 24 32 48 64 128 256; do
  source=loraquant-workbench.svg
  if [ "$size" -le 16 ]; then
    source=loraquant-workbench-16.svg
  elif [ "$size" -le 24 ]; then
    source=loraquant-workbench-24.svg
  fi
  mkdir -p "${size}x${size}"
  if [ "$size" -eq 22 ]; then
    rsvg-convert -w 24 -h 24 --page-width 22 --page-height 22 --left=-1 --top=-1 \
      "$source" -o "${size}x${size}/loraquant-workbench.png"
  else
    rsvg-convert -w "$size" -h "$size" "$source" -o "${size}x${size}/loraquant-workbench.png"
  fi
done
