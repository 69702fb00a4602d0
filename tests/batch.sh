#!/bin/sh
# batch.sh - the many-clips recipes of the README on this machine: GNU
# parallel over the samples with 1 and 2 jobs, and samples/slurm-array.sh
# with SLURM_ARRAY_TASK_ID set by hand. Every output must be byte-identical
# to the one a plain sequential run writes; prints clips per minute.
# Run from the repository root after `make`; needs GNU parallel.
set -u
BIN=$(realpath "${PIXELFIX:-./pixelfix}")
T=$(mktemp -d /tmp/pfbatch-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if ! command -v parallel >/dev/null 2>&1; then
    echo "batch.sh: GNU parallel is missing (apt-get install parallel)"; exit 1
fi
export OPENBLAS_NUM_THREADS=1

# 8 clips: the four samples, twice under other names
mkdir -p "$T/clips"
for rep in a b; do
    for f in samples/guy-exit.gif samples/fire-flame.webp samples/guy-walk-video.mp4 samples/xsprite_v2-blue_spin.gif; do
        b=${f##*/}
        ln -s "$(realpath "$f")" "$T/clips/$rep-$b"
    done
done
ls "$T"/clips/* > "$T/list.txt"
n=$(wc -l < "$T/list.txt")

# the reference: one clip after the other, one command each
mkdir -p "$T/seq"
while read -r c; do "$BIN" "$c" -o "$T/seq/{name}.png" -q || bad "sequential: $c"; done < "$T/list.txt"

now() { date +%s.%N; }
same() {   # DIR WHAT: every reference output is there, byte for byte
    for f in "$T"/seq/*; do
        cmp -s "$f" "$1/${f##*/}" || { bad "$2: ${f##*/} differs or is missing"; return; }
    done
    ok
}
for j in 1 2; do
    mkdir -p "$T/par$j"
    t0=$(now)
    parallel --will-cite -j "$j" --halt never "$BIN" {} -o "$T/par$j/{/.}.png" -q :::: "$T/list.txt"
    rc=$?
    t1=$(now)
    [ "$rc" -eq 0 ] && ok || bad "parallel -j $j: exit $rc"
    same "$T/par$j" "parallel -j $j"
    awk -v n="$n" -v j="$j" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "batch.sh: parallel -j %d: %d clips in %.1f s, %.1f clips/min\n", j, n, b - a, n * 60 / (b - a) }'
done

# a failing clip: parallel reports it in its exit status (the count of failures)
printf 'not a clip' > "$T/clips/bad.gif"
parallel --will-cite -j 2 "$BIN" {} -o "$T/par2/{/.}.png" -q --force ::: "$T/clips/bad.gif" "$T/clips/a-guy-exit.gif" 2>/dev/null
[ $? -eq 1 ] && [ -s "$T/par2/a-guy-exit.png" ] && ok || bad "parallel: one failing clip is not exit 1, or stopped the other"

# the Slurm array script, one task at a time
i=0
while [ $i -lt "$n" ]; do
    SLURM_ARRAY_TASK_ID=$i PIXELFIX="$BIN" bash samples/slurm-array.sh "$T/list.txt" "$T/slurm" || bad "slurm task $i"
    i=$((i + 1))
done
same "$T/slurm" "slurm-array.sh"
SLURM_ARRAY_TASK_ID=$n PIXELFIX="$BIN" bash samples/slurm-array.sh "$T/list.txt" "$T/slurm" 2>/dev/null
[ $? -eq 2 ] && ok || bad "slurm-array.sh past the list's end: not exit 2"

echo "batch.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
