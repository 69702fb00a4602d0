#!/bin/sh
# ffmpeg.sh - the FFmpeg filter's contract (make check-ffmpeg): `ffmpeg -vf
# pixelfix` restores the same frames as the pixelfix CLI for the same
# options, one out per frame in, with the input's pts in order; short clips
# and cut inputs flush; early-stopping outputs and bad options end cleanly;
# the README's pipelines run. Run from the repository root after `make` and
# `make ffmpeg`. Exit code = verdict.
set -u
FF=${FFMPEG:-build/ffmpeg/ffmpeg}
BIN=${PIXELFIX:-./pixelfix}
MK=${MKMODEL:-build/tools/mkmodel}
SRC=samples/guy-walk-video.mp4
T=$(mktemp -d /tmp/pfffmpeg-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for f in "$FF" "$BIN" "$MK"; do
    [ -x "$f" ] || { echo "ffmpeg.sh: $f is missing: run make, make tools and make ffmpeg"; exit 1; }
done

# run DESC -- command...: runs it quietly; a non-zero exit is a failure with
# the end of stderr. Returns the command's status.
run() {
    desc=$1; shift 2
    "$@" >"$T/out.txt" 2>"$T/err.txt"
    rc=$?
    [ "$rc" -eq 0 ] || bad "$desc: exit $rc: $(tail -c 400 "$T/err.txt")"
    return "$rc"
}
# hashes FILE: the per-frame MD5 column of a framemd5 file.
hashes() { [ -f "$1" ] && grep -v '^#' "$1" | awk -F', *' '{ print $6 }'; }
# ptss FILE: the pts column.
ptss() { [ -f "$1" ] && grep -v '^#' "$1" | awk -F', *' '{ print $3 }'; }
# count FILE: frames in a framemd5 file.
count() { if [ -f "$1" ]; then grep -vc '^#' "$1"; else echo 0; fi; }
# dims FILE: WxH of stream 0 in a framemd5 file.
dims() { [ -f "$1" ] && sed -n 's/^#dimensions 0: //p' "$1"; }
# ff_md5 OUT.md5 INPUT_ARGS... -- FILTER: the filter's frames as RGBA framemd5.
# -fps_mode passthrough keeps ffmpeg from dropping or duplicating frames, so
# what is counted is the filter's output.
ff_md5() {
    out=$1; shift
    "$FF" -nostdin -y -v error "$@" -fps_mode passthrough -pix_fmt rgba -f framemd5 "$out"
}
# frames_md5 DIR OUT.md5: the CLI's PNG frames (frame_0000.png, ...) as framemd5.
frames_md5() {
    "$FF" -nostdin -y -v error -start_number 0 -i "$1/frame_%04d.png" -pix_fmt rgba -f framemd5 "$2"
}
# same_frames A.md5 B.md5 DESC: identical frame hashes, in order.
same_frames() {
    if [ "$(count "$1")" -eq 0 ]; then bad "$3: no frames"; return; fi
    if hashes "$1" > "$T/h1" && hashes "$2" > "$T/h2" && cmp -s "$T/h1" "$T/h2"; then
        ok
    else
        bad "$3: frames differ ($(diff "$T/h1" "$T/h2" | grep -c '^<') of $(count "$1") differ," \
            "$(dims "$1") vs $(dims "$2"))"
    fi
}
# differ A.md5 B.md5 MESSAGE: some frame differs.
differ() {
    hashes "$1" > "$T/d1"; hashes "$2" > "$T/d2"
    cmp -s "$T/d1" "$T/d2" && bad "$3" || ok
}
# monotonic FILE DESC: pts strictly increasing.
monotonic() {
    ptss "$1" | awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' && ok ||
        bad "$2: pts not increasing: $(ptss "$1" | tr '\n' ' ' | head -c 200)"
}

# --- registration and documentation ------------------------------------------
"$FF" -hide_banner -filters 2>/dev/null | grep -q ' pixelfix ' && ok || bad "ffmpeg -filters lacks pixelfix"
"$FF" -hide_banner -h filter=pixelfix > "$T/help.txt" 2>&1
for opt in model scale colors palette background matte window overlap upscale threads max_memory; do
    grep -q "^ *$opt " "$T/help.txt" && ok || bad "ffmpeg -h filter=pixelfix lacks '$opt'"
done

# --- the input, frame by frame ------------------------------------------------------
run "decode the sample" -- "$FF" -nostdin -v error -i "$SRC" -map 0:v:0 -fps_mode passthrough -f framemd5 "$T/in.md5"
N_IN=$(count "$T/in.md5")
[ "$N_IN" -gt 8 ] && ok || bad "the sample has $N_IN frames, want more than one window"

# --- classical path: model=none vs --no-model ------------------------------------------
run "CLI --no-model" -- "$BIN" "$SRC" -o "$T/cli0/" --no-model -q && frames_md5 "$T/cli0" "$T/cli0.md5"
run "filter model=none" -- ff_md5 "$T/ff0.md5" -i "$SRC" -vf pixelfix=model=none
same_frames "$T/ff0.md5" "$T/cli0.md5" "model=none vs CLI --no-model"
[ "$(count "$T/ff0.md5")" -eq "$N_IN" ] && ok || bad "model=none: $(count "$T/ff0.md5") frames out, $N_IN in"
ptss "$T/in.md5" > "$T/pts_in"; ptss "$T/ff0.md5" > "$T/pts_out"
cmp -s "$T/pts_in" "$T/pts_out" && ok || bad "model=none: output pts are not the input's"
monotonic "$T/ff0.md5" "model=none"
NATIVE=$(dims "$T/ff0.md5")

# a PNG sequence through the image2 muxer, read back
mkdir -p "$T/seq"
run "PNG sequence" -- "$FF" -nostdin -v error -i "$SRC" -vf pixelfix=model=none "$T/seq/%04d.png"
run "read PNG sequence" -- "$FF" -nostdin -v error -i "$T/seq/%04d.png" -pix_fmt rgba -f framemd5 "$T/seq.md5"
same_frames "$T/seq.md5" "$T/cli0.md5" "PNG sequence vs CLI"

# --- the model: the default model path, and model=FILE -----------------------------------
"$MK" "$T/m.safetensors" --seed 5 >/dev/null
run "CLI default model" -- env PIXELFIX_MODEL="$T/m.safetensors" "$BIN" "$SRC" -o "$T/cli1/" -q &&
    frames_md5 "$T/cli1" "$T/cli1.md5"
run "filter default model" -- env PIXELFIX_MODEL="$T/m.safetensors" "$FF" -nostdin -y -v verbose -i "$SRC" \
    -vf pixelfix -fps_mode passthrough -pix_fmt rgba -f framemd5 "$T/ff1.md5"
grep -q "model: $T/m.safetensors" "$T/err.txt" && ok || bad "default model: the filter did not load \$PIXELFIX_MODEL"
same_frames "$T/ff1.md5" "$T/cli1.md5" "default model vs CLI"
differ "$T/ff1.md5" "$T/ff0.md5" "the model changed nothing (the test cannot tell the paths apart)"
[ "$(count "$T/ff1.md5")" -eq "$N_IN" ] && ok || bad "model: $(count "$T/ff1.md5") frames out, $N_IN in"
monotonic "$T/ff1.md5" "model"
run "filter model=FILE" -- env -u PIXELFIX_MODEL "$FF" -nostdin -y -v error -i "$SRC" \
    -vf "pixelfix=model=$T/m.safetensors" -fps_mode passthrough -pix_fmt rgba -f framemd5 "$T/ff2.md5"
same_frames "$T/ff2.md5" "$T/cli1.md5" "model=FILE vs CLI"
# two pixelfix filters in one graph share nothing mutable (issue 17): each
# restores what the CLI does, one of them on two threads
run "two filters in one graph" -- env -u PIXELFIX_MODEL "$FF" -nostdin -y -v error -i "$SRC" \
    -filter_complex "[0:v]split[a][b];[a]pixelfix=model=$T/m.safetensors[x];[b]pixelfix=model=$T/m.safetensors:threads=2[y]" \
    -map "[x]" -fps_mode passthrough -pix_fmt rgba -f framemd5 "$T/two_a.md5" \
    -map "[y]" -fps_mode passthrough -pix_fmt rgba -f framemd5 "$T/two_b.md5"
same_frames "$T/two_a.md5" "$T/cli1.md5" "two filters in one graph (first) vs CLI"
same_frames "$T/two_b.md5" "$T/cli1.md5" "two filters in one graph (second, threads=2) vs CLI"

# options reach the library: the same options on both sides
run "CLI options" -- "$BIN" "$SRC" -o "$T/cli3/" --no-model -q --colors 6 --background none &&
    frames_md5 "$T/cli3" "$T/cli3.md5"
run "filter options" -- ff_md5 "$T/ff3.md5" -i "$SRC" -vf pixelfix=model=none:colors=6:background=none
same_frames "$T/ff3.md5" "$T/cli3.md5" "colors=6:background=none vs CLI"
differ "$T/ff3.md5" "$T/ff0.md5" "colors=6:background=none changed nothing"

# --- short clips and cut inputs flush -------------------------------------------------------
# fewer frames than one grid window / model window (8): the grid locks at EOF
run "5-frame clip" -- ff_md5 "$T/short.md5" -i "$SRC" -vf "trim=end_frame=5,pixelfix=model=none"
[ "$(count "$T/short.md5")" -eq 5 ] && ok || bad "5-frame clip: $(count "$T/short.md5") frames out"
[ "$(dims "$T/short.md5")" = "$NATIVE" ] && ok || bad "5-frame clip: size $(dims "$T/short.md5"), want $NATIVE"
run "5-frame clip, model" -- ff_md5 "$T/short1.md5" -i "$SRC" -vf "trim=end_frame=5,pixelfix=model=$T/m.safetensors"
[ "$(count "$T/short1.md5")" -eq 5 ] && ok || bad "5-frame clip with model: $(count "$T/short1.md5") frames out"
monotonic "$T/short1.md5" "5-frame clip with model"
# the same 5 frames through the CLI (as lossless PNG-in-Matroska, read by both)
run "5-frame lossless clip" -- "$FF" -nostdin -y -v error -i "$SRC" -frames:v 5 -c:v png -pix_fmt rgba "$T/short.mkv"
run "CLI 5 frames" -- "$BIN" "$T/short.mkv" -o "$T/cli5/" --no-model -q && frames_md5 "$T/cli5" "$T/cli5.md5"
run "filter 5 frames" -- ff_md5 "$T/ff5.md5" -i "$T/short.mkv" -vf pixelfix=model=none
same_frames "$T/ff5.md5" "$T/cli5.md5" "5-frame clip vs CLI"
# -t on the input cuts it mid-window
run "input -t" -- "$FF" -nostdin -v error -t 0.7 -i "$SRC" -map 0:v:0 -fps_mode passthrough -f framemd5 "$T/cut_in.md5"
N_CUT=$(count "$T/cut_in.md5")
run "filter after input -t" -- ff_md5 "$T/cut.md5" -t 0.7 -i "$SRC" -vf pixelfix=model=$T/m.safetensors
[ "$N_CUT" -gt 8 ] && [ "$N_CUT" -lt "$N_IN" ] && [ "$(count "$T/cut.md5")" -eq "$N_CUT" ] && ok ||
    bad "input -t 0.7: $(count "$T/cut.md5") frames out, $N_CUT in ($N_IN uncut)"
monotonic "$T/cut.md5" "input -t"

# --- downstream stops early: clean exit, the frames asked for --------------------------------
run "-frames:v 3" -- ff_md5 "$T/f3.md5" -i "$SRC" -vf pixelfix=model=$T/m.safetensors -frames:v 3
[ "$(count "$T/f3.md5")" -eq 3 ] && ok || bad "-frames:v 3: $(count "$T/f3.md5") frames"
run "output -t" -- ff_md5 "$T/t3.md5" -i "$SRC" -vf pixelfix=model=none -t 0.3
[ "$(count "$T/t3.md5")" -ge 1 ] && [ "$(count "$T/t3.md5")" -lt "$N_IN" ] && ok ||
    bad "output -t 0.3: $(count "$T/t3.md5") frames"
if command -v valgrind >/dev/null 2>&1 && [ "${PF_VALGRIND:-1}" != 0 ]; then
    # vg DESC ok|fail ARGS...: ffmpeg exits 0 (ok) or with its own error (fail),
    # with no memory error and no definite leak under valgrind (exit 99)
    vg() {
        desc=$1; want=$2; shift 2
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
            "$FF" -nostdin -y -v error "$@" > "$T/vg.txt" 2>&1
        rc=$?
        case "$want:$rc" in
        ok:0) ok ;;
        fail:0|*:99) bad "valgrind, $desc: exit $rc: $(grep -m 3 -E 'definitely|Invalid|uninit|rror' "$T/vg.txt")" ;;
        fail:*) ok ;;
        *) bad "valgrind, $desc: exit $rc: $(tail -c 300 "$T/vg.txt")" ;;
        esac
    }
    # the output stops while the filter holds ~70 frames (grid and palette lookahead)
    vg "-frames:v 2 mid-stream" ok -stream_loop 3 -i "$SRC" -vf pixelfix=model=none -frames:v 2 \
        -pix_fmt rgba -f framemd5 "$T/vg.md5"
    # the model's windows, flushed at EOF, then upscaled into another format
    vg "model, flush" ok -i "$SRC" -vf "trim=end_frame=10,pixelfix=model=$T/m.safetensors:upscale=2,format=yuv420p" \
        -f null -
    vg "missing model" fail -i "$SRC" -vf pixelfix=model=/nonexistent -f null -
    vg "no grid" fail -f lavfi -i color=c=gray:s=64x64:d=1 -vf pixelfix=model=none -f null -
fi

# --- limits: max_memory reaches the library, and its hints name the filter's options -----------
if "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none:max_memory=1000 -f null - 2>"$T/lim.txt"; then
    bad "max_memory=1000: the restore ran"
else
    grep -q "max_memory option" "$T/lim.txt" && ! grep -q -- "--max-memory" "$T/lim.txt" && ok ||
        bad "max_memory=1000: the message does not name the filter's option: $(head -c 300 "$T/lim.txt")"
fi
run "max_memory=0 (no limit)" -- ff_md5 "$T/lim0.md5" -i "$SRC" -vf pixelfix=model=none:max_memory=0
same_frames "$T/lim0.md5" "$T/cli0.md5" "max_memory=0 vs CLI --no-model"

# --- upscale: native x N, nearest -------------------------------------------------------------
run "upscale=3" -- ff_md5 "$T/up.md5" -i "$SRC" -vf pixelfix=model=none:upscale=3
W=${NATIVE%x*}; H=${NATIVE#*x}
[ "$(dims "$T/up.md5")" = "$((W * 3))x$((H * 3))" ] && ok || bad "upscale=3: $(dims "$T/up.md5"), native $NATIVE"
if command -v python3 >/dev/null 2>&1; then
    # every output pixel is its native pixel's colour
    run "upscale=3 raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none:upscale=3 \
        -fps_mode passthrough -pix_fmt rgba -f rawvideo "$T/up.rgba"
    run "native raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none \
        -fps_mode passthrough -pix_fmt rgba -f rawvideo "$T/nat.rgba"
    python3 - "$T/nat.rgba" "$T/up.rgba" "$W" "$H" 3 2>"$T/py.txt" <<'PY' && ok || bad "upscale=3 is not the nearest upscale of the native frames"
import sys
nat, up = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
w, h, u = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n = len(nat) // (w * h * 4)
assert n > 0 and len(up) == n * w * h * 4 * u * u
for f in range(n):
    a = nat[f * w * h * 4:(f + 1) * w * h * 4]
    b = up[f * w * h * 4 * u * u:(f + 1) * w * h * 4 * u * u]
    for y in range(h * u):
        row = b[y * w * u * 4:(y + 1) * w * u * 4]
        want = b"".join(a[((y // u) * w + x) * 4:((y // u) * w + x) * 4 + 4] * u for x in range(w))
        assert row == want, (f, y)
PY
fi

# --- errors ---------------------------------------------------------------------------------------
"$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=/nonexistent -f null - >"$T/o" 2>"$T/e"
rc=$?
[ "$rc" -ne 0 ] && grep -q "/nonexistent" "$T/e" && grep -q -i "model" "$T/e" && ok ||
    bad "model=/nonexistent: exit $rc, stderr: $(head -c 300 "$T/e")"
head -c 1000 "$T/m.safetensors" > "$T/cut.safetensors"
"$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=$T/cut.safetensors -f null - >"$T/o" 2>"$T/e"
rc=$?
[ "$rc" -ne 0 ] && grep -q "cut.safetensors" "$T/e" && ok || bad "truncated model: exit $rc, stderr: $(head -c 300 "$T/e")"
"$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none:background=notacolour -f null - >"$T/o" 2>"$T/e"
rc=$?
[ "$rc" -ne 0 ] && grep -q "background" "$T/e" && ok || bad "bad background: exit $rc, stderr: $(head -c 300 "$T/e")"
# a flat clip has no grid
"$FF" -nostdin -y -v error -f lavfi -i color=c=gray:s=64x64:d=1 -vf pixelfix=model=none -f null - >"$T/o" 2>"$T/e"
rc=$?
[ "$rc" -ne 0 ] && grep -q -i "grid" "$T/e" && ok || bad "no grid: exit $rc, stderr: $(head -c 300 "$T/e")"

# --- matte: opaque frames, transparent pixels over the keyed colour or a given one ------------
run "CLI report" -- "$BIN" "$SRC" -o "$T/mat.png" --no-model -q --json "$T/mat-report.json"
run "matte=none raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none -frames:v 3 \
    -pix_fmt rgba -f rawvideo "$T/m0.rgba"
run "matte=auto raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=model=none:matte=auto -frames:v 3 \
    -pix_fmt rgba -f rawvideo "$T/ma.rgba"
run "matte=#00ff00 raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf "pixelfix=model=none:matte=#00ff00" \
    -frames:v 3 -pix_fmt rgba -f rawvideo "$T/mg.rgba"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/m0.rgba" "$T/ma.rgba" "$T/mg.rgba" "$T/mat-report.json" 2>"$T/py.txt" <<'PY' && ok ||
import json, sys
n, a, g = (open(f, "rb").read() for f in sys.argv[1:4])
bg = json.load(open(sys.argv[4]))["background"]
assert bg["kind"] == "solid", bg
key = bytes.fromhex(bg["color"][1:])
assert len(n) == len(a) == len(g) > 0
clear = 0
for i in range(0, len(n), 4):
    al = n[i + 3]
    assert a[i + 3] == 255 and g[i + 3] == 255, i           # opaque
    if al == 255:                                          # opaque pixels keep their colour
        assert a[i:i + 3] == n[i:i + 3] and g[i:i + 3] == n[i:i + 3], i
    elif al == 0:                                          # transparent ones take the matte
        clear += 1
        assert a[i:i + 3] == key, (i, a[i:i + 3], key)
        assert g[i:i + 3] == bytes((0, 255, 0)), i
assert clear > 0 and clear < len(n) // 4
PY
        bad "matte: $(tail -c 300 "$T/py.txt")"
fi
"$FF" -nostdin -v error -i "$SRC" -vf pixelfix=model=none:matte=nocolour -f null - 2>"$T/err.txt" && \
    bad "matte=nocolour was accepted" || { grep -q "invalid matte" "$T/err.txt" && ok || bad "matte=nocolour: $(cat "$T/err.txt")"; }

# --- pipes: NUT, YUV4MPEG, PNG image pipes, FFV1; overlay and hstack on pixelfix's own branches --
"$FF" -nostdin -v error -i "$SRC" -vf pixelfix=model=none -c:v rawvideo -f nut - 2>"$T/err1.txt" |
    "$FF" -nostdin -y -v error -f nut -i - -pix_fmt rgba -f framemd5 "$T/nut.md5" 2>"$T/err2.txt"
same_frames "$T/nut.md5" "$T/ff0.md5" "NUT rawvideo pipe vs the filter"
"$FF" -nostdin -v error -i "$SRC" -vf pixelfix=model=none -c:v ffv1 -f nut - 2>"$T/err1.txt" |
    "$FF" -nostdin -y -v error -f nut -i - -pix_fmt rgba -f framemd5 "$T/ffv1.md5" 2>"$T/err2.txt"
same_frames "$T/ffv1.md5" "$T/ff0.md5" "NUT FFV1 pipe (lossless RGBA) vs the filter"
"$FF" -nostdin -v error -i "$SRC" -vf pixelfix=model=none -c:v png -f image2pipe - 2>"$T/err1.txt" |
    "$FF" -nostdin -y -v error -f image2pipe -c:v png -i - -pix_fmt rgba -f framemd5 "$T/i2p.md5" 2>"$T/err2.txt"
same_frames "$T/i2p.md5" "$T/ff0.md5" "PNG image2pipe vs the filter"
# YUV4MPEG in and out: the input through a y4m pipe gives the frames of the same decoded input
run "input as y4m" -- "$FF" -nostdin -y -v error -i "$SRC" -pix_fmt yuv420p -f yuv4mpegpipe "$T/in.y4m"
run "y4m input to the filter" -- ff_md5 "$T/y4m_in.md5" -f yuv4mpegpipe -i "$T/in.y4m" -vf pixelfix=model=none
[ "$(count "$T/y4m_in.md5")" -eq "$N_IN" ] && [ "$(dims "$T/y4m_in.md5")" = "$NATIVE" ] && ok ||
    bad "y4m input: $(count "$T/y4m_in.md5") frames $(dims "$T/y4m_in.md5"), want $N_IN $NATIVE"
cat "$T/in.y4m" | "$FF" -nostdin -v error -f yuv4mpegpipe -i - -vf pixelfix=model=none,format=yuv444p \
    -f yuv4mpegpipe - 2>"$T/err1.txt" | "$FF" -nostdin -y -v error -f yuv4mpegpipe -i - -f framemd5 "$T/y4m_out.md5" 2>"$T/err2.txt"
[ "$(count "$T/y4m_out.md5")" -eq "$N_IN" ] && ok || bad "y4m pipe through: $(count "$T/y4m_out.md5") frames, $(cat "$T/err1.txt" "$T/err2.txt" | head -c 300)"
run "overlay on a branch" -- ff_md5 "$T/ov.md5" -i "$SRC" -filter_complex \
    "pixelfix=model=none,split[a][b];[a][b]overlay=format=auto"
[ "$(count "$T/ov.md5")" -eq "$N_IN" ] && [ "$(dims "$T/ov.md5")" = "$NATIVE" ] && ok ||
    bad "overlay: $(count "$T/ov.md5") frames $(dims "$T/ov.md5")"
run "hstack" -- ff_md5 "$T/hs.md5" -i "$SRC" -filter_complex "pixelfix=model=none,split[a][b];[a][b]hstack"
[ "$(dims "$T/hs.md5")" = "$((W * 2))x$H" ] && ok || bad "hstack: $(dims "$T/hs.md5"), want $((W * 2))x$H"

# --- the README's pipelines (keep these command lines the same as README.md's) ------------------
# 1. a spritesheet-ready PNG sequence: the CLI's frames under the CLI's names, both with the
# default model as a fresh checkout finds it (pf_model_default_path: the tree's models/)
mkdir -p "$T/walk"
SHIPPED="$(pwd -P)/models/pixelfix-v6.safetensors"
run "README: PNG sequence" -- env -u PIXELFIX_MODEL "$FF" -nostdin -v info -i "$SRC" -vf pixelfix -start_number 0 "$T/walk/frame_%04d.png"
grep -q "model: $SHIPPED" "$T/err.txt" && ok || bad "the filter in the build tree did not find $SHIPPED"
run "CLI PNG frames" -- env -u PIXELFIX_MODEL "$BIN" "$SRC" -o "$T/cliw/"
grep -q "model $SHIPPED" "$T/err.txt" && ok || bad "the CLI in the build tree did not say it ran $SHIPPED"
(cd "$T/walk" && ls) > "$T/names_ff"; (cd "$T/cliw" && ls) > "$T/names_cli"
cmp -s "$T/names_ff" "$T/names_cli" && ok || bad "README PNG sequence: file names differ from the CLI's"
frames_md5 "$T/walk" "$T/walk.md5"; frames_md5 "$T/cliw" "$T/cliw.md5"
same_frames "$T/walk.md5" "$T/cliw.md5" "README PNG sequence vs CLI"
# 2. upscaled for YouTube: whole native pixels, even, at least 1080 high; with an audio track
run "input with audio" -- "$FF" -nostdin -y -v error -i "$SRC" -f lavfi -i "sine=d=1.5" -map 0:v -map 1:a \
    -c:v copy -c:a aac -shortest "$T/walk.mp4"
run "README: video for YouTube" -- "$FF" -nostdin -y -v error -i "$T/walk.mp4" \
  -vf "pixelfix=matte=auto,scale=iw*2*ceil(540/ih):ih*2*ceil(540/ih):flags=neighbor:out_color_matrix=bt709,format=yuv420p" \
  -c:v libx264 -preset slow -crf 16 -colorspace bt709 -color_primaries bt709 -color_trc bt709 \
  -c:a aac -b:a 192k -movflags +faststart "$T/walk-youtube.mp4"
run "decode it" -- "$FF" -nostdin -v error -i "$T/walk-youtube.mp4" -map 0:v -fps_mode passthrough -f framemd5 "$T/yt.md5"
F2=$((2 * ((540 + H - 1) / H)))
[ "$(dims "$T/yt.md5")" = "$((W * F2))x$((H * F2))" ] && ok || bad "YouTube mp4: $(dims "$T/yt.md5"), want $NATIVE x $F2"
[ "$(count "$T/yt.md5")" -eq "$N_IN" ] && ok || bad "YouTube mp4: $(count "$T/yt.md5") frames, $N_IN in"
"$FF" -hide_banner -nostdin -i "$T/walk-youtube.mp4" 2>&1 | grep -q "Audio: aac" && ok || bad "YouTube mp4 has no audio"
# the issue's own one-liner
run "pixelfix=upscale=4,format=yuv420p" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=upscale=4,format=yuv420p "$T/walk4.mp4"
run "decode walk4" -- "$FF" -nostdin -v error -i "$T/walk4.mp4" -fps_mode passthrough -f framemd5 "$T/w4.md5"
[ "$(dims "$T/w4.md5")" = "$((W * 4))x$((H * 4))" ] && [ "$(count "$T/w4.md5")" -eq "$N_IN" ] && ok ||
    bad "upscale=4 mp4: $(dims "$T/w4.md5"), $(count "$T/w4.md5") frames"
# 3. a GIF through palettegen/paletteuse: the filter's colours and transparency, unchanged
run "README: GIF" -- "$FF" -nostdin -y -v error -i "$SRC" -filter_complex \
  "pixelfix=upscale=4,split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=dither=none" "$T/walk.gif"
run "decode the GIF" -- "$FF" -nostdin -v error -i "$T/walk.gif" -fps_mode passthrough -pix_fmt rgba -f framemd5 "$T/gif.md5"
[ "$(dims "$T/gif.md5")" = "$((W * 4))x$((H * 4))" ] && ok || bad "GIF: $(dims "$T/gif.md5"), want 4 x $NATIVE"
[ "$(count "$T/gif.md5")" -ge 1 ] && ok || bad "GIF has no frames"
if command -v python3 >/dev/null 2>&1; then
    run "GIF raw" -- "$FF" -nostdin -y -v error -i "$T/walk.gif" -frames:v 1 -pix_fmt rgba -f rawvideo "$T/gif.rgba"
    run "upscale=4 raw" -- "$FF" -nostdin -y -v error -i "$SRC" -vf pixelfix=upscale=4 -frames:v 1 \
        -pix_fmt rgba -f rawvideo "$T/up4.rgba"
    python3 - "$T/gif.rgba" "$T/up4.rgba" 2>"$T/py.txt" <<'PY' && ok || bad "GIF: colours or transparency differ from the filter's"
import sys
g, p = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(g) == len(p) and len(g) > 0
for i in range(0, len(g), 4):
    assert (g[i + 3] >= 128) == (p[i + 3] >= 128), i
    assert p[i + 3] < 128 or g[i:i + 3] == p[i:i + 3], i
PY
fi

echo "ffmpeg.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
