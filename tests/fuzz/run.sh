#!/bin/sh
# Runs libFuzzer harnesses: run.sh SECONDS JOBS build/fuzz/fuzz_NAME...
# Each harness gets SECONDS of fuzzing (JOBS harnesses at a time) on a
# corpus kept across runs in build/fuzz/corpus/NAME, seeded from
# tests/fuzz/seeds/NAME, tests/regress/NAME and matching samples/. Crashing
# inputs land in build/fuzz/crashes/NAME/ (copy them to tests/regress/NAME/
# once fixed). Prints one line per harness: executions, coverage, corpus,
# crashes. Exit status: 1 when any harness found something.
set -u
secs=${1:?usage: run.sh SECONDS JOBS HARNESS...}; jobs=${2:?}; shift 2
out=build/fuzz
export OPENBLAS_NUM_THREADS=1

one() {
    bin=$1; name=${bin##*/fuzz_}
    corpus=$out/corpus/$name; crashes=$out/crashes/$name; log=$out/logs/$name.log
    mkdir -p "$corpus" "$crashes" "$out/logs"
    for d in tests/fuzz/seeds/$name tests/regress/$name; do
        [ -d "$d" ] && cp -n "$d"/* "$corpus"/ 2>/dev/null
    done
    case $name in
        gif)  cp -n samples/guy-exit.gif "$corpus"/ ;;
        webp) cp -n samples/*.webp "$corpus"/ ;;
        av)   cp -n samples/*.mp4 "$corpus"/ ;;
    esac
    t0=$(date +%s)
    "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" > "$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    found=$(ls "$crashes" | wc -l)
    echo "fuzz_$name: ${execs:-?} executions in ${took} s, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l) files, $found crash/leak/timeout inputs in $crashes (exit $rc; log $log)"
    [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]
}

status=0
if [ "$jobs" -le 1 ]; then
    for b in "$@"; do one "$b" || status=1; done
else
    # Background jobs, at most $jobs at a time; each writes its own line.
    tmp=$(mktemp -d)
    i=0
    for b in "$@"; do
        ( one "$b" > "$tmp/$i.txt" || echo fail > "$tmp/$i.fail" ) &
        i=$((i + 1))
        while [ "$(jobs -p | wc -l)" -ge "$jobs" ]; do sleep 1; done
    done
    wait
    cat "$tmp"/*.txt
    ls "$tmp"/*.fail > /dev/null 2>&1 && status=1
    rm -rf "$tmp"
fi
exit $status
