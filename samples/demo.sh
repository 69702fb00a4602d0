#!/bin/sh
# demo.sh - restores a bundled sample clip into out/ (`make demo`).
set -e
BIN=${PIXELFIX:-./pixelfix}
IN=${1:-samples/guy-walk-video.mp4}
[ -f "$IN" ] || IN=$(ls samples/*.mp4 | head -n 1)
mkdir -p out
"$BIN" probe "$IN"
"$BIN" "$IN" -o out/sheet.png --force --json=out/report.json
"$BIN" "$IN" -o out/clip.gif --force -q
echo
echo "demo: restored $IN"
echo "  spritesheet: $(pwd)/out/sheet.png"
echo "  metadata:    $(pwd)/out/sheet.json"
echo "  GIF:         $(pwd)/out/clip.gif"
echo "  report:      $(pwd)/out/report.json"
