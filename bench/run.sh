#!/bin/sh
# Runs every bench binary given (make bench: build/bench/bench_*, sorted,
# so bench_e2e runs first and makes the clips the others use), from the
# repository root. Each prints "name value unit" and "info key text" lines
# on stdout (bench/bench.h) and progress on stderr. This script keeps all
# of them in build/bench/raw.txt and has bench/report.py turn them into
# bench/report.json and bench/report.md. BENCH_QUICK=1 makes a quick, not
# representative, run. Exits non-zero when any bench failed; the report is
# written anyway, with what was measured.
raw=build/bench/raw.txt
mkdir -p build/bench
t0=$(date +%s)
{
    echo "info bench_date_utc $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "info bench_loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -n "$BENCH_QUICK" ] && [ "$BENCH_QUICK" != 0 ] && echo "info bench_quick 1"
} > "$raw.tmp"
fails=0
for b in "$@"; do
    echo "=== $b" >&2
    if ! "$b" >> "$raw.tmp"; then
        echo "bench/run.sh: $b failed" >&2
        echo "info bench_failed $b" >> "$raw.tmp"
        fails=$((fails + 1))
    fi
done
echo "bench_seconds $(( $(date +%s) - t0 )) s" >> "$raw.tmp"
mv "$raw.tmp" "$raw"
python3 bench/report.py "$raw" bench/report.json bench/report.md || fails=$((fails + 1))
[ "$fails" -eq 0 ]
