#!/bin/sh
# cli.sh - the command line's contract: exit codes, --help, refusing to
# overwrite, and bad inputs that must give a clear error and no output.
# Run from the repository root after `make`. Exit code = verdict.
set -u
BIN=${PIXELFIX:-./pixelfix}
T=$(mktemp -d /tmp/pfcli-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, and
# that stderr says something (for errors).
expect() {
    code=$1; desc=$2; shift 3
    "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        bad "$desc: exit $rc, expected $code; stderr: $(head -c 300 "$T/stderr")"
        return
    fi
    if [ "$code" -ne 0 ] && ! grep -q "pixelfix" "$T/stderr"; then
        bad "$desc: no error message on stderr"
        return
    fi
    ok
}

# one_line DESC: the error is a single line on stderr
one_line() {
    [ "$(grep -c . "$T/stderr")" -eq 1 ] && ok || bad "$1: $(grep -c . "$T/stderr") lines of error: $(head -c 400 "$T/stderr")"
}

# no_output PATH DESCRIPTION: nothing (not even a temp file) left behind.
no_output() {
    if [ -e "$1" ] || ls "$1".tmp-* >/dev/null 2>&1; then bad "$2: left output $1"; else ok; fi
}

SRC=samples/guy-exit.gif
[ -f "$SRC" ] || SRC=$(ls samples/*.gif | head -n 1)

# --- help, version, usage ---------------------------------------------------
expect 0 "--help" -- "$BIN" --help
grep -q -- "--palette" "$T/stdout" && grep -q "Exit status" "$T/stdout" && ok || bad "--help lacks options or exit codes"
expect 0 "--version" -- "$BIN" --version
grep -q "^pixelfix [0-9]" "$T/stdout" && ok || bad "--version output"
expect 2 "no arguments" -- "$BIN"
expect 2 "unknown option" -- "$BIN" "$SRC" -o "$T/x.gif" --frobnicate
expect 2 "missing -o" -- "$BIN" "$SRC"
expect 2 "bad --colors" -- "$BIN" "$SRC" -o "$T/x.gif" --colors 1000
expect 2 "bad --scale" -- "$BIN" "$SRC" -o "$T/x.gif" --scale abc
expect 2 "bad --background" -- "$BIN" "$SRC" -o "$T/x.gif" --background notacolour
expect 2 "unknown output kind" -- "$BIN" "$SRC" -o "$T/x.xyz"
no_output "$T/x.xyz" "unknown output kind"

# --- every man page option is in --help, and the reverse ----------------------
for opt in $("$BIN" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" man/pixelfix.1 && ok || bad "man page lacks $opt"
done

# --- a good run, then refusing to overwrite ------------------------------------
expect 0 "restore to gif" -- "$BIN" "$SRC" -o "$T/out.gif" -q
[ -s "$T/out.gif" ] && ok || bad "restore wrote no gif"
cp "$T/out.gif" "$T/before.gif"
expect 5 "refuse to overwrite" -- "$BIN" "$SRC" -o "$T/out.gif" -q
cmp -s "$T/out.gif" "$T/before.gif" && ok || bad "existing output was modified"
expect 0 "--force overwrites" -- "$BIN" "$SRC" -o "$T/out.gif" -q --force
expect 0 "spritesheet" -- "$BIN" "$SRC" -o "$T/sheet.png" -q --json="$T/report.json"
[ -s "$T/sheet.png" ] && [ -s "$T/sheet.json" ] && [ -s "$T/report.json" ] && ok || bad "sheet/json/report missing"
expect 5 "report exists" -- "$BIN" "$SRC" -o "$T/r2.gif" -q --json="$T/report.json"
expect 0 "--json FILE (space)" -- "$BIN" "$SRC" -o "$T/r3.gif" -q --json "$T/report3.json"
grep -q '"native_size"' "$T/report3.json" && ok || bad "--json FILE wrote no report"
# --json -: the report on standard output, nothing else there; not with -o -
expect 0 "--json -" -- "$BIN" "$SRC" -o "$T/r-stdout.gif" -q --json -
[ "$(head -c 1 "$T/stdout")" = "{" ] && [ "$(tail -n 1 "$T/stdout")" = "}" ] && grep -q '"output": ".*r-stdout.gif"' "$T/stdout" &&
    grep -q '"native_size"' "$T/stdout" && ok || bad "--json - printed no report alone: $(head -c 200 "$T/stdout")"
[ ! -e ./- ] && ok || bad "--json - wrote a file named -"
expect 2 "-o - with --json -" -- "$BIN" "$SRC" -o - --format gif --json -
one_line "-o - with --json -"
no_output "$T/r2.gif" "report exists"
echo junk > "$T/taken.json"
expect 5 "sheet json exists" -- "$BIN" "$SRC" -o "$T/taken.png" -q
no_output "$T/taken.png" "sheet json exists"
expect 0 "probe" -- "$BIN" probe "$SRC"
grep -q "native size" "$T/stdout" && grep -q "confidence" "$T/stdout" && ok || bad "probe output"
expect 0 "probe --json" -- "$BIN" probe "$SRC" --json
grep -q '"native_size"' "$T/stdout" && ok || bad "probe --json output"
grep -q '"kind": "regular"' "$T/stdout" && grep -A2 '"candidates": \[' "$T/stdout" | grep -q '"scale"' \
    && grep -q '"bend_cells"' "$T/stdout" && ok || bad "probe --json lacks the grid kind, bend or candidates"
expect 0 "probe lists --scale candidates" -- "$BIN" probe "$SRC"
grep -q "^candidates: *--scale [0-9]" "$T/stdout" && ok || bad "probe lists no --scale candidates"
# each candidate with the native size it gives: round(input width / cell)
W=$(sed -n 's/^input: .*, \([0-9]*\)x[0-9]*)$/\1/p' "$T/stdout")
read -r C NW NH <<EOF
$(sed -n -E 's/^candidates: +--scale ([0-9.]+) \([0-9.]+, ([0-9]+)x([0-9]+)\).*/\1 \2 \3/p' "$T/stdout")
EOF
[ -n "$W" ] && [ -n "$NW" ] && awk -v w="$W" -v c="$C" -v n="$NW" 'BEGIN { d = w / c - n; exit !(d > -1.01 && d < 1.01) }' \
    && ok || bad "probe's first candidate lacks the native size it gives (input $W px, --scale $C -> $NW)"
expect 0 "probe --json candidates" -- "$BIN" probe "$SRC" --json
grep -A6 '"candidates": \[' "$T/stdout" | grep -q '"native_w"' && ok || bad "probe --json candidates lack native_w"
# a small blurred sprite (tests/data/README.md): the regular detector measures 5.72 px
# too weakly to trust and edge coherence alone prefers a 10.9 px mesh; the two
# measurements agreeing pick the true cell, 5.84 px
expect 0 "probe small blurred torch" -- "$BIN" probe tests/data/torch-5.8x-x264.mp4 --json
cell=$(sed -n 's/.*"cell_w": \([0-9.]*\).*/\1/p' "$T/stdout" | head -1)
awk -v c="${cell:-0}" 'BEGIN { exit !(c > 5.6 && c < 6.1) }' && ok || bad "torch: cell ${cell:-none} px, expected 5.84"
expect 2 "bad --grid" -- "$BIN" "$SRC" -o "$T/x.gif" --grid curvy
expect 0 "--grid regular" -- "$BIN" "$SRC" -o "$T/reg.gif" -q --grid regular --no-model
# spritesheet JSON for engines: one tag over the clip (named after the input by
# default), frames named by index (what Phaser's createFromAseprite looks up)
grep -q '"name": "guy-exit"' "$T/sheet.json" && grep -q '"filename": "0"' "$T/sheet.json" &&
    grep -q '"animations"' "$T/sheet.json" && ok || bad "sheet JSON: default tag, names or animations missing"
expect 0 "--tag, --sheet-format hash, --filename-format" -- "$BIN" "$SRC" -o "$T/tagged.png" -q --no-model \
    --tag walk --sheet-format hash --filename-format "{tag}_{frame}.{extension}"
grep -q '"walk_0.png": {' "$T/tagged.json" && grep -q '"name": "walk"' "$T/tagged.json" &&
    ! grep -q '"filename"' "$T/tagged.json" && ok || bad "hash sheet: $(head -c 300 "$T/tagged.json")"
expect 2 "--filename-format without {frame}" -- "$BIN" "$SRC" -o "$T/tagged2.png" --filename-format "{tag}.png"
expect 2 "--sheet-format bad" -- "$BIN" "$SRC" -o "$T/tagged2.png" --sheet-format xml
"$BIN" "$SRC" -o "$T/tagged.gif" --tag walk --no-model 2>"$T/stderr" >/dev/null
grep -q "warning: --tag is ignored for" "$T/stderr" && ok || bad "--tag on a GIF: no warning"
expect 0 "--grid elastic" -- "$BIN" "$SRC" -o "$T/ela.png" -q --grid elastic --no-model --json="$T/ela-report.json"
grep -q '"kind": "elastic"' "$T/ela-report.json" && ok || bad "--grid elastic not in the report"
grep -q '"elastic"' "$T/ela.json" && ok || bad "sheet meta lacks the elastic grid"
# a smooth picture with no lattice (lossless, 3 frames): no grid (exit 4),
# and probe still counts every frame
ffmpeg -nostdin -loglevel error -f lavfi -i "color=c=gray:s=96x80:d=0.3:r=10" \
    -vf "geq=lum='128+60*sin(X/17)*cos(Y/23)':cb=128:cr=128,format=rgb24" -f apng -y "$T/nogrid.png" 2>/dev/null
if [ -s "$T/nogrid.png" ]; then
    expect 4 "no grid" -- "$BIN" "$T/nogrid.png" -o "$T/ng.gif"
    no_output "$T/ng.gif" "no grid"
    expect 4 "probe, no grid" -- "$BIN" probe "$T/nogrid.png"
    grep -q "^frames: *3," "$T/stdout" && grep -q "NOT FOUND" "$T/stdout" && ok || bad "probe without a grid: $(head -3 "$T/stdout")"
else
    bad "ffmpeg could not make the no-grid clip"
fi

# --- inputs are never modified -------------------------------------------------
cp "$SRC" "$T/input.gif"
sum1=$(cksum < "$T/input.gif")
"$BIN" "$T/input.gif" -o "$T/input_out.webp" -q
[ "$(cksum < "$T/input.gif")" = "$sum1" ] && ok || bad "input was modified"

# --- the output may never be the input, not even with --force --------------------
cp "$SRC" "$T/self.gif"
ln "$T/self.gif" "$T/self-hard.gif"
ln -s self.gif "$T/self-sym.gif"
sum1=$(cksum < "$T/self.gif")
expect 5 "output is the input, --force" -- "$BIN" "$T/self.gif" -o "$T/self.gif" --force -q
grep -q "is the input" "$T/stderr" && ok || bad "output is the input: unclear message: $(cat "$T/stderr")"
expect 5 "output is a hard link to the input" -- "$BIN" "$T/self.gif" -o "$T/self-hard.gif" --force -q
expect 5 "output is a symlink to the input" -- "$BIN" "$T/self.gif" -o "$T/self-sym.gif" --force -q
expect 5 "input is a symlink to the output" -- "$BIN" "$T/self-sym.gif" -o "$T/self.gif" --force -q
expect 5 "--json report is the input" -- "$BIN" "$T/self.gif" -o "$T/self-out.gif" --json "$T/self-hard.gif" --force -q
no_output "$T/self-out.gif" "--json report is the input"
[ "$(cksum < "$T/self.gif")" = "$sum1" ] && [ -L "$T/self-sym.gif" ] && ok || bad "the input was modified"
# a PNG frame restored into its own frames folder
"$BIN" "$SRC" -o "$T/selfdir/" -q --no-model
cp "$T/selfdir/frame_0000.png" "$T/frame0.png"
expect 5 "a frame restored into its own folder" -- "$BIN" "$T/selfdir/frame_0000.png" -o "$T/selfdir/" --scale 1 --force -q --no-model
cmp -s "$T/selfdir/frame_0000.png" "$T/frame0.png" && ok || bad "a frame restored into its own folder: the input changed"

# --- --debug DIR: grid overlays of the lookahead, native frames before and after
# the palette (drawn by pf_restore_file through the stream's hooks); the output
# is the same as without it
expect 0 "--debug" -- "$BIN" "$SRC" -o "$T/dbg.gif" -q --no-model --debug "$T/dbgdir"
expect 0 "without --debug" -- "$BIN" "$SRC" -o "$T/nodbg.gif" -q --no-model
cmp -s "$T/dbg.gif" "$T/nodbg.gif" && ok || bad "--debug changed the output"
for f in grid_000 cells_000 result_000; do
    [ "$(head -c 8 "$T/dbgdir/$f.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok ||
        bad "--debug: no $f.png ($(ls "$T/dbgdir" 2>&1 | tr '\n' ' '))"
done
[ "$(ls "$T/dbgdir" | grep -c '^grid_')" -ge 2 ] && [ "$(ls "$T/dbgdir" | grep -c '^grid_')" -le 4 ] && ok ||
    bad "--debug: $(ls "$T/dbgdir" | grep -c '^grid_') grid overlays (2..4 expected)"

# --- a 254-byte output name (legal; NAME_MAX is 255) works: the temp name fits ----
long=$(printf '%0250d' 0)
expect 0 "a 254-byte output name" -- "$BIN" "$SRC" -o "$T/$long.gif" -q --no-model
[ -s "$T/$long.gif" ] && ok || bad "a 254-byte output name: no output"
expect 0 "a 254-byte sheet name (its JSON 255)" -- "$BIN" "$SRC" -o "$T/$long.png" -q --no-model
[ -s "$T/$long.png" ] && [ -s "$T/$long.json" ] && ok || bad "a 254-byte sheet name: no sheet or JSON"
ls "$T" | grep -q '\.tmp-' && bad "a 254-byte output name: temp file left" || ok

# --- --force into a frames folder: stale frames of the same pattern go -----------
# The folder holds 40 old frames (more than the clip has) and files that are
# not the pattern's; the run keeps exactly its own frames and the others.
mkdir -p "$T/stale" "$T/stalep"
i=0
while [ $i -lt 40 ]; do
    echo old > "$T/stale/$(printf 'frame_%04d.png' $i)"
    echo old > "$T/stalep/$(printf 'f_%03d.png' $i)"
    i=$((i + 1))
done
for f in frame_12.png frame_00012.png frame_0003.txt other.png; do echo keep > "$T/stale/$f"; done
for f in f_12.png f_0012.png g_012.png; do echo keep > "$T/stalep/$f"; done
expect 0 "--force into a folder with stale frames" -- "$BIN" "$SRC" -o "$T/stale/" --force -q --no-model --json "$T/stale.json"
n=$(sed -n 's/.*"frames_out": \([0-9]*\).*/\1/p' "$T/stale.json")
[ -n "$n" ] && [ "$n" -lt 40 ] && [ "$(ls "$T/stale" | grep -c '^frame_[0-9][0-9][0-9][0-9]\.png$')" -eq "$n" ] &&
    [ "$(ls "$T/stale" | wc -l)" -eq $((n + 4)) ] && [ -z "$(find "$T/stale" -name 'frame_????.png' -size -5c)" ] && ok ||
    bad "stale frames: $n frames written, folder holds: $(ls "$T/stale" | tr '\n' ' ')"
expect 0 "--force onto a %03d pattern with stale frames" -- "$BIN" "$SRC" -o "$T/stalep/f_%03d.png" --force -q --no-model
[ "$(ls "$T/stalep" | grep -c '^f_[0-9][0-9][0-9]\.png$')" -eq "$n" ] && [ "$(ls "$T/stalep" | wc -l)" -eq $((n + 3)) ] && ok ||
    bad "stale frames (pattern): folder holds: $(ls "$T/stalep" | tr '\n' ' ')"

# --- bad inputs: clear error, documented code, no output --------------------------
expect 3 "missing input" -- "$BIN" "$T/does-not-exist.gif" -o "$T/o1.gif"
no_output "$T/o1.gif" "missing input"
: > "$T/empty.gif"
expect 3 "zero-byte file" -- "$BIN" "$T/empty.gif" -o "$T/o2.gif"
no_output "$T/o2.gif" "zero-byte file"
printf 'this is not a video, just text\n' > "$T/text.mp4"
expect 3 "text renamed .mp4" -- "$BIN" "$T/text.mp4" -o "$T/o3.gif"
no_output "$T/o3.gif" "text renamed .mp4"
head -c 13 "$SRC" > "$T/trunc_header.gif"
expect 3 "GIF truncated in the header" -- "$BIN" "$T/trunc_header.gif" -o "$T/o4.gif"
no_output "$T/o4.gif" "GIF truncated in the header"
# A GIF whose logical screen is 65535x65535 (the largest GIF can declare)
printf 'GIF89a\377\377\377\377\000\000\000' > "$T/huge.gif"
expect 7 "huge GIF canvas" -- "$BIN" "$T/huge.gif" -o "$T/o5.gif"
no_output "$T/o5.gif" "huge GIF canvas"
grep -q "max-pixels" "$T/stderr" && ok || bad "huge GIF: message does not name --max-pixels"
# --max-memory bounds finding the grid (held frames + about twelve canvases of
# work): a canvas that does not fit with one frame is refused before anything
# is held; a tighter budget holds fewer frames and still restores
expect 7 "--max-memory too small" -- "$BIN" "$SRC" -o "$T/mem1.gif" --no-model --max-memory 1000000
no_output "$T/mem1.gif" "--max-memory too small"
one_line "--max-memory too small"
grep -q "max-memory" "$T/stderr" && ok || bad "--max-memory: message does not name it: $(cat "$T/stderr")"
expect 7 "--max-memory 1K" -- "$BIN" "$SRC" -o "$T/mem1.gif" --no-model --max-memory 1K
grep -q "over the limit of 1.0 KiB" "$T/stderr" && ok || bad "--max-memory 1K: $(cat "$T/stderr")"
expect 2 "--max-memory 12x" -- "$BIN" "$SRC" -o "$T/mem1.gif" --no-model --max-memory 12x
expect 0 "--max-memory 2GiB" -- "$BIN" "$SRC" -o "$T/mem3.gif" --no-model --max-memory 2GiB
expect 0 "--max-memory holds fewer frames" -- "$BIN" "$SRC" -o "$T/mem2.gif" --no-model --max-memory 2500000 -v
grep -q "5 of 8 frames held" "$T/stderr" && ok || bad "--max-memory: not 5 of 8 frames: $(grep held "$T/stderr")"
# --max-memory bounds the rest of the restore too: the native working set
# (256x256 cells at --scale 1: about 45 MB) and the frames held for the
# palette and by a spritesheet (48 frames of 256 KiB, three copies), each
# refused before it is allocated; an MP4 writes frames as they come
ffmpeg -nostdin -v error -f lavfi -i testsrc=s=256x256:r=24 -frames:v 48 -y "$T/mem.mp4" 2>/dev/null
if [ -s "$T/mem.mp4" ]; then
    expect 7 "--max-memory under the lock's native work" -- "$BIN" "$T/mem.mp4" -o "$T/mem4.gif" --no-model --scale 1 --max-memory 20M
    grep -q "need about .* to set up, over the limit of 20.0 MiB (--max-memory raises it)" "$T/stderr" && ok ||
        bad "--max-memory lock: $(cat "$T/stderr")"
    expect 7 "--max-memory under the working set" -- "$BIN" "$T/mem.mp4" -o "$T/mem4.gif" --no-model --scale 1 --max-memory 30M
    no_output "$T/mem4.gif" "--max-memory under the working set"
    one_line "--max-memory under the working set"
    grep -q "need about .* to restore, over the limit of 30.0 MiB (--max-memory raises it)" "$T/stderr" && ok ||
        bad "--max-memory working set: $(cat "$T/stderr")"
    expect 7 "--max-memory under a sheet's frames" -- "$BIN" "$T/mem.mp4" -o "$T/mem5.png" --no-model --scale 1 --max-memory 60M
    no_output "$T/mem5.png" "--max-memory under a sheet's frames"
    no_output "$T/mem5.json" "--max-memory under a sheet's frames (JSON)"
    grep -q "holding .* frames of 256x256 native pixels .* (--max-memory raises it" "$T/stderr" && ok ||
        bad "--max-memory held frames: $(cat "$T/stderr")"
    expect 0 "--max-memory: an MP4 holds no frames" -- "$BIN" "$T/mem.mp4" -o "$T/mem6.mp4" --no-model --scale 1 \
        --max-memory 60M --json "$T/mem6.json"
    m=$(sed -n 's/.*"memory_bytes": \([0-9]*\).*/\1/p' "$T/mem6.json")
    [ -n "$m" ] && [ "$m" -gt 30000000 ] && [ "$m" -le 62914560 ] && ok || bad "memory_bytes of the MP4 run: '$m'"
else
    bad "ffmpeg could not make the --max-memory clip"
fi
# A truncated GIF that still has frames: a warning, and an output
size=$(wc -c < "$SRC")
head -c $((size * 2 / 3)) "$SRC" > "$T/trunc.gif"
"$BIN" "$T/trunc.gif" -o "$T/trunc_out.gif" 2>"$T/stderr"
rc=$?
if [ $rc -eq 0 ]; then
    grep -qi "truncat" "$T/stderr" && ok || bad "truncated GIF: no warning"
else
    bad "truncated GIF with frames: exit $rc ($(head -c 300 "$T/stderr"))"
fi

# --- outputs that cannot be written ----------------------------------------------
expect 5 "unwritable folder" -- "$BIN" "$SRC" -o /proc/pixelfix-cannot-write.gif -q
expect 9 "bad palette file" -- sh -c "printf 'zzzzzz\n' > '$T/bad.hex'; '$BIN' '$SRC' -o '$T/o6.gif' --palette '$T/bad.hex'"
no_output "$T/o6.gif" "bad palette file"
# a folder or a missing file as the palette: exit 9, and the message names the
# palette rather than blaming the input
mkdir -p "$T/paldir"
expect 9 "a folder as the palette" -- "$BIN" "$SRC" -o "$T/o8.gif" --palette "$T/paldir" -q
grep -qF "$T/paldir: is a folder" "$T/stderr" && ! grep -qF "$SRC" "$T/stderr" && ok ||
    bad "a folder as the palette: the message does not name it: $(cat "$T/stderr")"
no_output "$T/o8.gif" "a folder as the palette"
expect 9 "a missing palette file" -- "$BIN" "$SRC" -o "$T/o9.gif" --palette "$T/nope.hex" -q
grep -qF "$T/nope.hex" "$T/stderr" && ! grep -qF "$SRC" "$T/stderr" && ok ||
    bad "a missing palette: the message does not name it: $(cat "$T/stderr")"
no_output "$T/o9.gif" "a missing palette file"
# A palette file: the report lists exactly its colours.
printf '000000\nffffff\nff0000\n3050a0\n' > "$T/four.hex"
expect 0 "palette file" -- "$BIN" "$SRC" -o "$T/o7.gif" --palette "$T/four.hex" --json "$T/o7.json" -q
grep -q '"palette_size": 4' "$T/o7.json" && grep -q '#3050a0' "$T/o7.json" && ok ||
    bad "palette file: the report does not list its 4 colours ($(grep -o '"palette_size": [0-9]*' "$T/o7.json"))"

# --- the model ----------------------------------------------------------------------
MK=${MKMODEL:-build/tools/mkmodel}
if [ -x "$MK" ]; then
    "$MK" "$T/m.safetensors" --seed 5
    "$MK" "$T/zero.safetensors" --seed 5 --head-scale 0
    expect 8 "missing model" -- "$BIN" "$SRC" -o "$T/m1.gif" -m "$T/nope.safetensors"
    no_output "$T/m1.gif" "missing model"
    head -c 1000 "$T/m.safetensors" > "$T/cut.safetensors"
    expect 8 "a folder as the model" -- "$BIN" "$SRC" -o "$T/m5.gif" -m "$T"
    no_output "$T/m5.gif" "a folder as the model"
    expect 8 "truncated model" -- "$BIN" "$SRC" -o "$T/m2.gif" -m "$T/cut.safetensors"
    no_output "$T/m2.gif" "truncated model"
    sed 's/unet-v1/unet-v9/' "$T/m.safetensors" > "$T/arch.safetensors"
    expect 8 "other architecture" -- "$BIN" "$SRC" -o "$T/m3.gif" -m "$T/arch.safetensors"
    grep -q "unet-v9" "$T/stderr" && ok || bad "other architecture: the message does not say what differs"
    expect 7 "model over --max-model-bytes" -- "$BIN" "$SRC" -o "$T/m4.gif" -m "$T/m.safetensors" --max-model-bytes 1000
    expect 2 "overlap over half the window" -- "$BIN" "$SRC" -o "$T/m5.gif" -m "$T/m.safetensors" --overlap 5
    for out in sheet.png clip.gif clip.webp clip.mp4 frames/; do
        expect 0 "model to $out" -- "$BIN" "$SRC" -o "$T/model_$out" -m "$T/m.safetensors" -q
        [ -e "$T/model_$out" ] && ok || bad "model to $out: no output"
    done
    expect 0 "window 16" -- "$BIN" "$SRC" -o "$T/w16.gif" -m "$T/m.safetensors" --window 16 --overlap 2 -q
    expect 0 "model report" -- "$BIN" "$SRC" -o "$T/mr.gif" -m "$T/m.safetensors" -q --json="$T/mr.json" --threads 2
    grep -q '"window": 8' "$T/mr.json" && ok || bad "model report: no model section"
    # a model whose head is zero returns the classical result exactly
    expect 0 "zero-head model" -- "$BIN" "$SRC" -o "$T/zero.png" -m "$T/zero.safetensors" -q
    expect 0 "--no-model" -- "$BIN" "$SRC" -o "$T/classic.png" -m "$T/m.safetensors" --no-model -q
    cmp -s "$T/zero.png" "$T/classic.png" && ok || bad "zero-head model differs from the classical path"
    cmp -s "$T/model_sheet.png" "$T/classic.png" && bad "random model gives the classical result" || ok
else
    bad "no $MK: build it with make tools"
fi

# --- one truth: --help, the man page and README give the ranges the code takes --
# every "--opt N ... LO..HI" of --help: the man page and README say LO..HI, and
# LO-1 and HI+1 are refused with that range
"$BIN" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\) N[^ ]* .*[^0-9.]\([0-9][0-9]*\)\.\.\([0-9][0-9]*\)[^0-9].*/\2 \3 \4/p' \
    > "$T/ranges"
[ "$(wc -l < "$T/ranges")" -ge 8 ] && ok || bad "--help states $(wc -l < "$T/ranges") ranges, expected 8 or more"
while read -r opt lo hi; do
    man_opt=$(echo "$opt" | sed 's/-/\\\\-/g')
    grep -A4 -- "^\.B[IR] .*$man_opt" man/pixelfix.1 | grep -q "$lo\.\.$hi" && ok || bad "man page: $opt is not $lo..$hi as in --help"
    grep -- "^| .*$opt" README.md | grep -q "$lo\.\.$hi" && ok || bad "README: $opt is not $lo..$hi as in --help"
    for v in $((lo - 1)) $((hi + 1)); do
        expect 2 "$opt $v" -- "$BIN" "$SRC" -o "$T/range.gif" "$opt" "$v"
        grep -q "$lo\.\.$hi" "$T/stderr" && ok || bad "$opt $v: the error does not give $lo..$hi: $(cat "$T/stderr")"
    done
done < "$T/ranges"
# the model window: 1..64 (12 is fine), overlap 0..window/2 (0 and 1 are fine)
env -u PIXELFIX_MODEL "$BIN" --help | grep -q -- "--overlap N .*0\.\.window/2" && ok || bad "--help: --overlap is not 0..window/2"
grep -A3 -- '^\.BI \\-\\-overlap' man/pixelfix.1 | grep -q "0 to half of" && ok || bad "man page: --overlap is not 0..window/2"
grep -q '`--overlap N` | .*0\.\.window/2' README.md && ok || bad "README: --overlap is not 0..window/2"
grep -q -- "--window.* 8 or 16\|(8 or 16" README.md man/pixelfix.1 && bad "a page still says --window is 8 or 16" || ok
if [ -x "$MK" ]; then
    expect 0 "--window 12" -- "$BIN" "$SRC" -o "$T/w12.gif" -m "$T/m.safetensors" --window 12 -q --json "$T/w12.json"
    grep -q '"window": 12' "$T/w12.json" && ok || bad "--window 12: not in the report"
    expect 0 "--overlap 0" -- "$BIN" "$SRC" -o "$T/o0.gif" -m "$T/m.safetensors" --overlap 0 -q
    expect 0 "--overlap 1" -- "$BIN" "$SRC" -o "$T/o1.gif" -m "$T/m.safetensors" --overlap 1 -q
    expect 0 "--window 2: the default overlap follows" -- "$BIN" "$SRC" -o "$T/w4.gif" -m "$T/m.safetensors" --window 2 -q --json "$T/w4.json"
    grep -q '"overlap": 1' "$T/w4.json" && ok || bad "--window 2: overlap is not 1"
fi
expect 2 "--overlap over half of --window 4" -- "$BIN" "$SRC" -o "$T/o3.gif" --window 4 --overlap 3
grep -q "0\.\.2" "$T/stderr" && ok || bad "--overlap 3 --window 4: the error does not give 0..2"
expect 2 "--overlap 33" -- "$BIN" "$SRC" -o "$T/o33.gif" --overlap 33

# probe --json FILE writes the report (and still prints the summary)
expect 0 "probe --json FILE" -- "$BIN" probe "$SRC" --json "$T/probe.json"
grep -q '"native_size"' "$T/probe.json" && grep -q "^native size" "$T/stdout" && ok || bad "probe --json FILE wrote no report"
expect 0 "probe --json FILE before the input" -- "$BIN" probe --json "$T/probe2.json" "$SRC"
grep -q '"native_size"' "$T/probe2.json" && ok || bad "probe --json FILE INPUT wrote no report"
expect 0 "restore --json FILE before the input" -- "$BIN" --json "$T/r4.json" "$SRC" -o "$T/r4.gif" -q
grep -q '"native_size"' "$T/r4.json" && ok || bad "--json FILE INPUT wrote no report"

# the man page: no stale BUGS, no typos
grep -qi "not in this one" man/pixelfix.1 && bad "man page BUGS: says the network is not in this version" || ok
grep -q 'width\\(mutheight' man/pixelfix.1 && bad "man page: width x theight" || ok
if command -v groff >/dev/null 2>&1; then
    groff -man -Tascii -P-cbou man/pixelfix.1 2>/dev/null > "$T/man.txt"
    grep -q -- "--plot \[--plot-png FILE\]" "$T/man.txt" && ok || bad "man page: the --plot line is garbled"
    grep -q "widthxheight" "$T/man.txt" && ok || bad "man page: width x height"
fi

# errors: exit 9 for a missing palette file, one line each, naming the cause
expect 9 "missing palette file" -- "$BIN" "$SRC" -o "$T/p1.gif" --palette "$T/none.hex"
one_line "missing palette file"
grep -q "none.hex" "$T/stderr" && ! grep -q "$SRC" "$T/stderr" && ok || bad "missing palette: $(cat "$T/stderr")"
expect 3 "missing input, one line" -- "$BIN" "$T/none.gif" -o "$T/p2.gif"
one_line "missing input"
expect 4 "no grid, one line" -- "$BIN" "$T/nogrid.png" -o "$T/p3.gif" --no-model
one_line "no grid"
if [ -x "$MK" ]; then
    expect 8 "missing model, one line" -- "$BIN" "$SRC" -o "$T/p4.gif" -m "$T/nope.safetensors"
    one_line "missing model"
    grep -q "nope.safetensors" "$T/stderr" && ! grep -q "$SRC" "$T/stderr" && ok || bad "missing model: $(cat "$T/stderr")"
    expect 8 "truncated model, one line" -- "$BIN" "$SRC" -o "$T/p5.gif" -m "$T/cut.safetensors"
    one_line "truncated model"
    expect 7 "model memory limit, one line" -- "$BIN" "$SRC" -o "$T/p6.gif" -m "$T/m.safetensors" --max-model-memory 1000000
    one_line "model memory limit"
    grep -q "more than 976.6 KiB .*[0-9] MiB of it the window's frames" "$T/stderr" && ! grep -q "0\.0 GiB" "$T/stderr" && ok ||
        bad "model memory limit: units: $(cat "$T/stderr")"
fi

# options the output does not use are ignored with a warning; -q silences it
# --upscale applies to every output: a GIF and a sheet come out 3x, no warning
expect 0 "--upscale for a GIF" -- "$BIN" "$SRC" -o "$T/u.gif" --upscale 3 --no-model
grep -q "warning" "$T/stderr" && bad "--upscale for a GIF: warned: $(cat "$T/stderr")" || ok
expect 0 "GIF without --upscale" -- "$BIN" "$SRC" -o "$T/u1.gif" --no-model
s1=$("$BIN" probe "$T/u1.gif" 2>/dev/null | sed -n 's/^input:.*, \([0-9]*\)x\([0-9]*\)).*/\1 \2/p')
s3=$("$BIN" probe "$T/u.gif" 2>/dev/null | sed -n 's/^input:.*, \([0-9]*\)x\([0-9]*\)).*/\1 \2/p')
w1=$(echo "$s1" | cut -d' ' -f1); h1=$(echo "$s1" | cut -d' ' -f2)
[ -n "$s1" ] && [ "$s3" = "$((w1 * 3)) $((h1 * 3))" ] && ok || bad "--upscale 3 GIF: $s3, native $s1"
expect 0 "--upscale for a sheet" -- "$BIN" "$SRC" -o "$T/u3.png" --upscale 3 --no-model
grep -q '"scale": "3"' "$T/u3.json" && grep -q "\"w\": $((w1 * 3))," "$T/u3.json" && ok ||
    bad "--upscale 3 sheet: JSON does not follow"
expect 0 "--colors with --palette" -- "$BIN" "$SRC" -o "$T/cp.gif" --colors 3 --palette "$T/four.hex" --no-model
grep -q "warning: --colors is ignored" "$T/stderr" && ok || bad "--colors with --palette: no warning"
expect 0 "--columns, --loop for PNG frames" -- "$BIN" "$SRC" -o "$T/cf/" --columns 3 --loop 2 --no-model
grep -q "warning: --columns is ignored" "$T/stderr" && grep -q "warning: --loop is ignored" "$T/stderr" && ok ||
    bad "--columns/--loop for PNG frames: no warning"
expect 0 "--window with --no-model" -- "$BIN" "$SRC" -o "$T/wn.gif" --window 16 --no-model
grep -q "warning: --window is ignored with --no-model" "$T/stderr" && ok || bad "--window with --no-model: no warning"
expect 0 "probe with output options" -- "$BIN" probe "$SRC" --upscale 2
grep -q "warning: --upscale is ignored" "$T/stderr" && ok || bad "probe --upscale: no warning"
expect 0 "--columns for a sheet" -- "$BIN" "$SRC" -o "$T/cs.png" --columns 3 --no-model
grep -q "warning" "$T/stderr" && bad "--columns for a sheet: warned: $(cat "$T/stderr")" || ok
expect 0 "-q silences warnings" -- "$BIN" "$SRC" -o "$T/uq.gif" --upscale 2 --no-model -q
[ -s "$T/stderr" ] && bad "-q: $(cat "$T/stderr")" || ok

# --- which model ran: the closing line and model.path in --json ---------------
TREE_MODEL="$(cd models && pwd -P)/pixelfix-v6.safetensors"
expect 0 "default model in the tree" -- env -u PIXELFIX_MODEL "$BIN" "$SRC" -o "$T/tree.png" --json "$T/tree-report.json"
grep -q "model $TREE_MODEL\$" "$T/stderr" && ok || bad "the closing line does not name $TREE_MODEL: $(cat "$T/stderr")"
grep -q "\"path\": \"$TREE_MODEL\"" "$T/tree-report.json" && ok || bad "--json model.path is not $TREE_MODEL"
expect 0 "--no-model names no model" -- "$BIN" "$SRC" -o "$T/nm.png" --no-model --json "$T/nm-report.json"
grep -q "no model (classical path: --no-model)" "$T/stderr" && ok || bad "--no-model: the closing line: $(cat "$T/stderr")"
grep -q '"path": null' "$T/nm-report.json" && ok || bad "--no-model: model.path is not null"
if [ -x "$MK" ]; then
    expect 0 "PIXELFIX_MODEL" -- env PIXELFIX_MODEL="$T/m.safetensors" "$BIN" "$SRC" -o "$T/env.gif" --json "$T/env.json"
    grep -q "\"path\": \"$T/m.safetensors\"" "$T/env.json" && grep -q "model $T/m.safetensors" "$T/stderr" && ok ||
        bad "PIXELFIX_MODEL: not the model that ran"
fi

# --- make install PREFIX=/usr into a DESTDIR: the installed binary runs the
# model it installed (whatever prefix the build was configured with), and
# restores the same frames as the build tree's
STAGE="$T/stage"
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} --no-print-directory install DESTDIR="$STAGE" PREFIX=/usr \
       BUILD="${PF_BUILD:-build}" >"$T/install.log" 2>&1; then
    IBIN="$STAGE/usr/bin/pixelfix"
    IMODEL="$(cd "$STAGE/usr/share/pixelfix/models" && pwd -P)/pixelfix-v6.safetensors"
    expect 0 "installed binary" -- env -u PIXELFIX_MODEL "$IBIN" "$SRC" -o "$T/inst.png" --json "$T/inst-report.json"
    grep -q "model $IMODEL\$" "$T/stderr" && ok || bad "installed binary: the closing line does not name $IMODEL: $(cat "$T/stderr")"
    grep -q "\"path\": \"$IMODEL\"" "$T/inst-report.json" && ok || bad "installed binary: model.path is not $IMODEL"
    cmp -s "$T/inst.png" "$T/tree.png" && ok || bad "installed and build-tree binaries restore different frames"
    # without its model it says it ran the classical path (unless the
    # configured prefix holds one, the last place looked)
    rm "$STAGE/usr/share/pixelfix/models/pixelfix-v6.safetensors"
    cfg=$(sed -n 's/^PREFIX ?= //p' config.mk 2>/dev/null)
    if [ ! -e "$cfg/share/pixelfix/models/pixelfix-v6.safetensors" ]; then
        expect 0 "installed binary, no model" -- env -u PIXELFIX_MODEL "$IBIN" "$SRC" -o "$T/inst2.gif"
        grep -q "no model (classical path: none found)" "$T/stderr" && ok || bad "no model installed: $(cat "$T/stderr")"
        # and warns, with what to do, since the same binary in place would use one
        grep -q "warning.*no model found.*-m FILE" "$T/stderr" && ok || bad "no model installed: no warning: $(cat "$T/stderr")"
    fi
else
    bad "make install DESTDIR=$STAGE PREFIX=/usr: $(tail -c 400 "$T/install.log")"
fi

# --- pixelfix train: a tiny run, its files, resume and plot ------------------
TR="$T/train"
TINY="--data none --val none --widths 8,8 --crop 8 --window 2 --batch 1 --log-every 1 -q"
expect 0 "train --help" -- "$BIN" train --help
grep -q -- "--max-minutes" "$T/stdout" && ok || bad "train --help lists no --max-minutes"
expect 2 "train without --out" -- "$BIN" train $TINY --steps 2
expect 2 "train bad --crop" -- "$BIN" train --out "$TR" $TINY --crop 10
expect 2 "train bad --mixer" -- "$BIN" train --out "$TR" $TINY --mixer lstm
expect 2 "train bad --kinds" -- "$BIN" train --out "$TR" $TINY --kinds gif_dither,,any
expect 2 "train unknown --kinds" -- "$BIN" train --out "$TR" $TINY --kinds gif_dither,lstm
grep -q "kinds" "$T/stderr" && ok || bad "train unknown --kinds: no message: $(cat "$T/stderr")"
expect 8 "train --resume without a checkpoint" -- "$BIN" train --out "$T/none" $TINY --steps 2 --resume
printf 'steps 2\n# a comment\nseed 3\n' > "$T/train.conf"
expect 0 "train from a config file" -- "$BIN" train --out "$TR" --config "$T/train.conf" $TINY
[ -s "$TR/model.safetensors" ] && [ -s "$TR/checkpoint.safetensors" ] && ok || bad "train wrote no model/checkpoint"
[ "$(wc -l < "$TR/train.csv")" -eq 3 ] && ok || bad "train.csv: expected a header and 2 rows"
expect 0 "trained model restores" -- "$BIN" "$SRC" -o "$T/trained.gif" -m "$TR/model.safetensors" -q
expect 0 "train --resume to more steps" -- "$BIN" train --out "$TR" --config "$T/train.conf" $TINY --steps 4 --resume
[ "$(wc -l < "$TR/train.csv")" -eq 5 ] && ok || bad "resumed train.csv: expected a header and 4 rows"
expect 0 "train --export --alpha classical" -- "$BIN" train --out "$TR" $TINY --export "$T/cut.safetensors" --alpha classical
expect 0 "exported model restores" -- "$BIN" "$SRC" -o "$T/cut.gif" -m "$T/cut.safetensors" -q
grep -q '"pf.alpha":"classical"' "$T/cut.safetensors" && ok || bad "export did not record pf.alpha classical"
printf 'stepz 2\n' > "$T/bad.conf"
expect 2 "train config with an unknown setting" -- "$BIN" train --out "$TR" --config "$T/bad.conf"
grep -q "bad.conf:1" "$T/stderr" && ok || bad "config error does not name the line"
if command -v gnuplot >/dev/null 2>&1; then
    expect 0 "train --plot" -- "$BIN" train --plot --out "$TR" --plot-png "$T/curves.png"
    [ -s "$T/curves.png" ] && ok || bad "train --plot wrote no PNG"
fi

# --- SIGTERM mid-run: exit 130 and no output or temporary file ----------------
if command -v ffmpeg >/dev/null 2>&1 &&
   ffmpeg -v error -f lavfi -i testsrc=size=640x360:rate=25 -t 60 -pix_fmt yuv420p "$T/long.mp4" 2>/dev/null; then
    "$BIN" "$T/long.mp4" -o "$T/term.mp4" --scale 4 --no-model -q 2>"$T/stderr" &
    pid=$!
    sleep 1
    if kill -TERM "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        [ "$rc" -eq 130 ] && ok || bad "SIGTERM: exit $rc, expected 130"
        no_output "$T/term.mp4" "SIGTERM"
    else
        wait "$pid"
        echo "cli.sh: note: the long clip finished within 1 s; SIGTERM not tested"
    fi
fi

# --- two writers, one output, no --force: one wins, the other exits 5 -----------
# Each writer makes a different file (an option apart), so the survivor shows
# who won; a sheet's PNG and JSON must both be the winner's, and no temp file
# may be left. GIF and sheet: both start together (they meet at the final move
# when both pass the early checks in time). MP4: the first is stopped once its
# temp file exists and resumed once the second's exists too, so both are past
# every check and only the final move can decide.
ffmpeg -nostdin -v error -f lavfi -i "testsrc=size=16x12:rate=10" -frames:v 60 \
    -vf "scale=64:48:flags=neighbor" -y "$T/tiny.gif" 2>/dev/null
[ -s "$T/tiny.gif" ] || bad "ffmpeg could not make the race clip"
# set here, it spares each run the re-exec that sets it (a third of its time)
export OPENBLAS_NUM_THREADS=1
# n_tmp: how many temp files of race.KIND exist
n_tmp() { ls "$T"/race."$1".tmp-* 2>/dev/null | wc -l; }
race_ok=0; race_both=0; race_tries=0; race_late=0
for kind in gif png mp4; do
    case $kind in
    gif) A="--loop 1"; B="--loop 2"; tries=6 ;;
    png) A="--padding 0"; B="--padding 1"; tries=6 ;;
    mp4) A="--upscale 2"; B="--upscale 3"; tries=8 ;;
    esac
    common="--scale 4 --no-model -q --palette-frames 1"
    for w in A B; do
        eval "opts=\$$w"
        rm -f "$T/race.$kind" "$T/race.json"
        "$BIN" "$T/tiny.gif" -o "$T/race.$kind" $common $opts
        mv "$T/race.$kind" "$T/ref$w.$kind"
        [ "$kind" = png ] && mv "$T/race.json" "$T/ref$w.json"
    done
    try=0
    while [ $try -lt $tries ]; do
        try=$((try + 1)); race_tries=$((race_tries + 1))
        rm -f "$T/race.$kind" "$T/race.json" "$T"/race.*.tmp-*
        "$BIN" "$T/tiny.gif" -o "$T/race.$kind" $common $A 2>"$T/race.errA" &
        pa=$!
        if [ $kind = mp4 ]; then
            w=0
            while [ $w -lt 300 ] && [ "$(n_tmp mp4)" -lt 1 ] && kill -0 $pa 2>/dev/null; do sleep 0.01; w=$((w + 1)); done
            kill -STOP $pa 2>/dev/null
        fi
        "$BIN" "$T/tiny.gif" -o "$T/race.$kind" $common $B 2>"$T/race.errB" &
        pb=$!
        if [ $kind = mp4 ]; then
            w=0
            while [ $w -lt 300 ] && [ "$(n_tmp mp4)" -lt 2 ] && kill -0 $pb 2>/dev/null; do sleep 0.01; w=$((w + 1)); done
            kill -CONT $pa 2>/dev/null
        fi
        wait $pa; ra=$?
        wait $pb; rb=$?
        if [ $ra -eq 0 ] && [ $rb -eq 5 ]; then win=A
        elif [ $ra -eq 5 ] && [ $rb -eq 0 ]; then win=B
        else
            [ $ra -eq 0 ] && [ $rb -eq 0 ] && race_both=$((race_both + 1))
            echo "race $kind try $try: exits $ra and $rb, expected 0 and 5"
            continue
        fi
        if ! cmp -s "$T/race.$kind" "$T/ref$win.$kind" ||
           { [ "$kind" = png ] && ! cmp -s "$T/race.json" "$T/ref$win.json"; }; then
            echo "race $kind try $try: the output is not the winner's ($win)"
            continue
        fi
        if ls "$T"/race.*.tmp-* >/dev/null 2>&1; then echo "race $kind try $try: temp file left"; continue; fi
        # the loser got past the early checks and was stopped by the final move
        grep -q "created by someone else" "$T/race.errA" "$T/race.errB" && race_late=$((race_late + 1))
        race_ok=$((race_ok + 1))
    done
done
echo "cli.sh: concurrent writers: $race_ok of $race_tries tries correct, $race_late decided at the final move" \
    "(both exit 0 in $race_both)"
[ $race_ok -eq $race_tries ] && ok || bad "concurrent writers: $race_ok of $race_tries tries correct"

# --- issue 16's small-but-huge GIFs (also fuzz seeds): a canvas near --max-pixels with
# 2000 1x1 frames is refused at once; pixel art followed by 600 1x1 frames restores
expect 7 "8000x8000 canvas of 1x1 frames" -- "$BIN" tests/fuzz/seeds/gif/canvas-8000-2000x1x1.gif -o "$T/c8k.gif" --no-model
one_line "8000x8000 canvas of 1x1 frames"
no_output "$T/c8k.gif" "8000x8000 canvas of 1x1 frames"
expect 0 "art then 600 1x1 frames" -- "$BIN" tests/fuzz/seeds/gif/art-then-600x1x1.gif -o "$T/a600.gif" --no-model --json "$T/a600.json"
grep -q '"frames_out": 601' "$T/a600.json" && grep -A2 '"native_size"' "$T/a600.json" | grep -q '"w": 20' &&
    grep -A2 '"native_size"' "$T/a600.json" | grep -q '"h": 20' && ok ||
    bad "art then 600 1x1 frames: $(grep -o '"frames_out": [0-9]*' "$T/a600.json") $(grep -A2 '"native_size"' "$T/a600.json" | tr -d '\n ')"

# --- several inputs: {name} in -o, a failing clip does not stop the others --------
mkdir -p "$T/batch"
printf 'not a clip' > "$T/batch-bad.gif"
expect 3 "batch with a bad clip" -- "$BIN" "$SRC" "$T/batch-bad.gif" samples/fire-flame.webp \
    -o "$T/batch/{name}.gif" --no-model --json "$T/batch/{name}-report.json"
for f in guy-exit.gif fire-flame.gif guy-exit-report.json fire-flame-report.json; do
    [ -s "$T/batch/$f" ] && ok || bad "batch: $f was not written"
done
[ ! -e "$T/batch/batch-bad.gif" ] && ok || bad "batch: the bad clip left an output"
grep -q "batch-bad.gif failed (exit 3); going on" "$T/stderr" && grep -q "2 of 3 inputs restored" "$T/stderr" && ok ||
    bad "batch: the failure or the count is not reported: $(cat "$T/stderr")"
expect 2 "several inputs without {name}" -- "$BIN" "$SRC" samples/fire-flame.webp -o "$T/batch/one.gif"
grep -q "{name}" "$T/stderr" && ok || bad "several inputs without {name}: $(cat "$T/stderr")"
no_output "$T/batch/one.gif" "several inputs without {name}"
expect 2 "probe with two inputs" -- "$BIN" probe "$SRC" samples/fire-flame.webp

# --- PNG frames (a folder or a %d pattern) and standard input as the input -------
mkdir -p "$T/pngin/walk" "$T/pngin/nat" "$T/pngin/empty"
"$BIN" "$SRC" -o "$T/pngin/walk/" --no-model --upscale 4 -q
expect 0 "a folder of PNG frames" -- "$BIN" "$T/pngin/walk" -o "$T/pngin/{name}.gif" --no-model --json "$T/pngin/folder.json"
[ -s "$T/pngin/walk.gif" ] && grep -q '"format": "png frames"' "$T/pngin/folder.json" &&
    grep -q '"frames_in": 22' "$T/pngin/folder.json" && ok || bad "folder input: $(head -c 300 "$T/pngin/folder.json")"
expect 0 "a PNG frame pattern" -- "$BIN" probe "$T/pngin/walk/frame_%04d.png" --json
grep -q '"frames_in": 22' "$T/stdout" && ok || bad "pattern input: $(grep frames_in "$T/stdout")"
# natural order: f2.png before f10.png (eval reads both folders through the same reader)
i=0
for f in $(ls "$T/pngin/walk" | sort); do cp "$T/pngin/walk/$f" "$T/pngin/nat/f$i.png"; i=$((i + 1)); done
expect 0 "natural order of frame names" -- "$BIN" eval "$T/pngin/nat" "$T/pngin/walk"
grep -q "| acc  *| 1.0000" "$T/stdout" && ok || bad "f0..f21.png not in natural order: $(grep '| acc ' "$T/stdout")"
expect 0 "--fps for PNG frames" -- "$BIN" probe "$T/pngin/walk" --fps 8
grep -q "^durations:   125 125 125" "$T/stdout" && grep -q "22, 2750 ms in total" "$T/stdout" && ok ||
    bad "--fps 8: $(grep -E '^(frames|durations)' "$T/stdout")"
expect 2 "--fps 0" -- "$BIN" "$T/pngin/walk" --fps 0 -o "$T/pngin/fps0.gif"
"$BIN" "$SRC" --fps 8 -o "$T/pngin/fps-gif.gif" --no-model 2>"$T/stderr" >/dev/null
grep -q "warning: --fps is ignored for" "$T/stderr" && ok || bad "--fps on a GIF input: no warning"
expect 3 "a folder without PNG frames" -- "$BIN" "$T/pngin/empty" -o "$T/pngin/empty.gif"
one_line "a folder without PNG frames"
expect 3 "a pattern that matches nothing" -- "$BIN" "$T/pngin/none_%03d.png" -o "$T/pngin/none.gif"
cp samples/fire-flame.gt.webp "$T/pngin/nat/f7.png"
expect 3 "a folder with a broken frame" -- "$BIN" "$T/pngin/nat" -o "$T/pngin/nat.gif"
grep -q "f7.png" "$T/stderr" && ok || bad "broken frame not named: $(cat "$T/stderr")"
no_output "$T/pngin/nat.gif" "a folder with a broken frame"
expect 0 "standard input" -- sh -c "\"\$1\" - -o \"\$2\" --no-model -q < \"\$3\"" sh "$BIN" "$T/pngin/stdin.gif" "$SRC"
"$BIN" "$SRC" -o "$T/pngin/walk-direct.gif" --no-model -q
cmp -s "$T/pngin/stdin.gif" "$T/pngin/walk-direct.gif" && ok || bad "standard input gives other frames than the file"
expect 3 "empty standard input" -- sh -c "\"\$1\" - -o \"\$2\" < /dev/null" sh "$BIN" "$T/pngin/empty-stdin.gif"

# the report may not take the spritesheet's own JSON (io's one naming rule, any-case .png)
expect 2 "--json is the sheet's own JSON" -- "$BIN" "$SRC" -o "$T/pngin/own.PNG" --json "$T/pngin/own.json" --no-model
no_output "$T/pngin/own.PNG" "--json is the sheet's own JSON"

# --- standard output: -o - with --format, through a listed temporary file ------
mkdir -p "$T/stdout-tmp"
expect 0 "-o - --format gif" -- sh -c "TMPDIR=\"\$1\" \"\$2\" \"\$3\" -o - --format gif --no-model -q > \"\$4\"" \
    sh "$T/stdout-tmp" "$BIN" "$SRC" "$T/pngin/stdout.gif"
cmp -s "$T/pngin/stdout.gif" "$T/pngin/walk-direct.gif" && ok || bad "-o - gives other bytes than -o FILE.gif"
expect 2 "-o - without --format" -- sh -c "\"\$1\" \"\$2\" -o - > /dev/null" sh "$BIN" "$SRC"
grep -q "needs --format" "$T/stderr" && ok || bad "-o - without --format: $(cat "$T/stderr")"
expect 2 "--format png (a sheet cannot be piped)" -- sh -c "\"\$1\" \"\$2\" -o - --format png > /dev/null" sh "$BIN" "$SRC"
# a reader that stops early: exit 5 with one line, not death by SIGPIPE
TMPDIR="$T/stdout-tmp" "$BIN" "$SRC" -o - --format gif --no-model -q --upscale 16 2>"$T/stderr" | head -c 1 >/dev/null
[ -z "$(ls "$T/stdout-tmp")" ] && ok || bad "-o -: temporary files left: $(ls "$T/stdout-tmp")"
grep -q "cannot write to standard output" "$T/stderr" && [ "$(grep -c . "$T/stderr")" -eq 1 ] && ok ||
    bad "-o - into a closed pipe: $(cat "$T/stderr")"

# --- one signal during work that makes no progress calls -----------------------
# Grid detection on a 4096x4096 still takes ~20 s and calls no progress hook:
# one SIGINT must still end it (exit 130, one line, nothing written) within the
# CLI's 0.8 s grace, not after the detection (it used to finish with exit 0/4).
ffmpeg -nostdin -v error -f lavfi -i testsrc=s=4096x4096 -frames:v 1 -y "$T/sigbig.png" 2>/dev/null
if [ -s "$T/sigbig.png" ]; then
    "$BIN" "$T/sigbig.png" -o "$T/sigbig-out.png" --no-model 2>"$T/stderr" &
    pid=$!
    sleep 1
    kill -INT $pid 2>/dev/null
    w=0
    while [ $w -lt 150 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; w=$((w + 1)); done
    kill -KILL $pid 2>/dev/null
    wait $pid
    rc=$?
    [ $rc -eq 130 ] && ok || bad "SIGINT during grid detection: exit $rc after $((w / 10)) s, expected 130"
    one_line "SIGINT during grid detection"
    no_output "$T/sigbig-out.png" "SIGINT during grid detection"
    no_output "$T/sigbig-out.json" "SIGINT during grid detection (JSON)"
else
    bad "ffmpeg could not make the 4096x4096 still"
fi

# --- a second signal during cleanup: exit 130, no output, no temp file ------------
# Both signals arrive once the temp file exists, 0 to 50 ms apart; a TERM
# second tells our exit 130 from death by the default action (143). The clip
# (1500 frames) never ends before them.
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=64x48:rate=25 -t 60 -pix_fmt yuv420p \
    -y "$T/dbl.mp4" 2>/dev/null
[ -s "$T/dbl.mp4" ] || bad "ffmpeg could not make the double-signal clip"
dbl_ok=0; dbl_tries=0; try=0
while [ $try -lt 20 ]; do
    try=$((try + 1)); dbl_tries=$((dbl_tries + 1))
    case $((try % 4)) in 0) gap=0 ;; 1) gap=0.005 ;; 2) gap=0.02 ;; 3) gap=0.05 ;; esac
    [ $((try % 2)) -eq 0 ] && sig2=INT || sig2=TERM
    rm -f "$T/dbl-out.mp4" "$T"/dbl-out.mp4.tmp-*
    "$BIN" "$T/dbl.mp4" -o "$T/dbl-out.mp4" --scale 4 --no-model -q --palette-frames 1 2>/dev/null &
    pid=$!
    w=0
    while [ $w -lt 500 ] && ! ls "$T"/dbl-out.mp4.tmp-* >/dev/null 2>&1; do sleep 0.01; w=$((w + 1)); done
    kill -INT $pid 2>/dev/null
    [ "$gap" != 0 ] && sleep $gap
    kill -$sig2 $pid 2>/dev/null
    # it must end within 5 s; a hung run is stopped and counted as a failure
    w=0
    while [ $w -lt 50 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; w=$((w + 1)); done
    kill -KILL $pid 2>/dev/null
    wait $pid; rc=$?
    if [ $rc -ne 130 ]; then echo "double signal try $try (INT, $sig2 after ${gap}s): exit $rc"; continue; fi
    if [ -e "$T/dbl-out.mp4" ] || ls "$T"/dbl-out.mp4.tmp-* >/dev/null 2>&1; then
        echo "double signal try $try (INT, $sig2 after ${gap}s): output or temp file left"
        continue
    fi
    dbl_ok=$((dbl_ok + 1))
done
unset OPENBLAS_NUM_THREADS
echo "cli.sh: double signal: $dbl_ok of $dbl_tries tries clean"
[ $dbl_ok -eq $dbl_tries ] && ok || bad "double signal: $dbl_ok of $dbl_tries tries clean"

# --- names: the library exports as pf_ only what pixelfix.h declares; the rest
# is pfi_ or nn_, so a name shows whether it is public (docs/architecture.md) ---
LIBA="${PF_BUILD:-build}/libpixelfix.a"
if command -v nm >/dev/null 2>&1 && [ -f "$LIBA" ]; then
    nm -g --defined-only "$LIBA" | awk '$2 ~ /^[TDBRC]$/ { print $3 }' | sort -u > "$T/syms"
    grep -q '^pf_restore_file$' "$T/syms" && ok || bad "nm found no pf_restore_file in $LIBA"
    odd=$(grep '^pf_' "$T/syms" | while read -r s; do grep -q "[ *]$s(" src/pixelfix.h || echo "$s"; done)
    odd="$odd$(grep -vE '^(pf_|pfi_|nn_)' "$T/syms" | tr '\n' ' ')"
    [ -z "$odd" ] && ok || bad "exported names outside the convention: $odd"
fi

echo "cli.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
