#!/bin/sh
# valgrind over the CLI on each bundled sample: no invalid reads or writes,
# no uninitialised values used, no leaks "definitely lost". Classical path
# on every sample, and the shipped model on the smallest clip (the network
# under valgrind takes minutes). VALGRIND_MODEL=all runs the model on every
# sample, VALGRIND_MODEL=none on none (what CI runs). The exit code is the
# verdict.
set -u
BIN=${PIXELFIX:-./pixelfix}
MODEL=${PIXELFIX_MODEL:-models/pixelfix-v6.safetensors}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OPENBLAS_NUM_THREADS=1
pass=0; fail=0

vg() {   # vg NAME ARGS...: one CLI run under valgrind
    name=$1; shift
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite "$BIN" "$@" > "$T/log" 2>&1; then
        pass=$((pass + 1)); echo "ok: $name"
    else
        fail=$((fail + 1)); echo "FAIL: $name"; tail -40 "$T/log"
    fi
}

command -v valgrind > /dev/null || { echo "valgrind.sh: valgrind is not installed"; exit 1; }
# valgrind 3.19 (Debian 12) stops with SIGILL on some hosts (AMD Zen 4: it
# advertises RDTSCP but cannot decode it) inside libhwy's constructor, which
# libavcodec loads through libjxl, before pixelfix runs a line. Nothing can be
# checked there: say so and step aside (the ASan/UBSan pass still runs).
valgrind -q "$BIN" --version > "$T/log" 2>&1
if grep -q "Illegal opcode" "$T/log"; then
    grep -m1 -A1 "Illegal opcode" "$T/log"
    echo "valgrind.sh: SKIPPED: $(valgrind --version) cannot run the libraries pixelfix links on this CPU"
    exit 0
fi
for s in samples/guy-exit.gif samples/fire-flame.webp samples/guy-walk-video.mp4 \
         samples/xsprite_v2-blue_spin.gif; do
    b=$(basename "$s")
    vg "$b (classical, sheet)" "$s" -o "$T/$b.png" --no-model --threads 1 --force -q
    if [ "${VALGRIND_MODEL:-}" = all ]; then
        vg "$b (model, GIF)" "$s" -o "$T/$b.gif" --model "$MODEL" --threads 1 --force -q
    fi
done
[ "${VALGRIND_MODEL:-}" = all ] || [ "${VALGRIND_MODEL:-}" = none ] ||
    vg "guy-exit.gif (model, GIF)" samples/guy-exit.gif -o "$T/model.gif" --model "$MODEL" \
       --threads 1 --force -q
vg "guy-walk-video.mp4 (classical, MP4 out)" samples/guy-walk-video.mp4 -o "$T/v.mp4" --no-model \
   --threads 1 --force -q
echo "valgrind.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
