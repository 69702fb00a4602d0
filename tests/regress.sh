#!/bin/sh
# Replays every input that once made a fuzzer fail (tests/regress/NAME/),
# and the seed corpora (tests/fuzz/seeds/NAME/), through the harness
# fuzz_NAME built without libFuzzer (build/replay/fuzz_NAME, see
# tests/fuzz/replay.c). A crash fails it; under ./configure
# --enable-sanitizers so does any ASan/UBSan/LeakSanitizer report.
set -u
B=${REPLAY_DIR:-build/replay}
pass=0; fail=0
export OPENBLAS_NUM_THREADS=1
for src in tests/fuzz/fuzz_*.c; do
    name=${src##*/fuzz_}; name=${name%.c}
    bin=$B/fuzz_$name
    if [ ! -x "$bin" ]; then echo "regress: $bin missing (make check builds it)"; fail=$((fail + 1)); continue; fi
    for d in tests/regress/$name tests/fuzz/seeds/$name; do
        [ -d "$d" ] || continue
        if "$bin" "$d" > /tmp/regress.$$ 2>&1; then
            pass=$((pass + 1))
        else
            echo "regress: FAIL $bin $d"; tail -30 /tmp/regress.$$
            fail=$((fail + 1))
        fi
    done
done
rm -f /tmp/regress.$$
echo "regress.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
