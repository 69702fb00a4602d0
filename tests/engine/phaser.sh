#!/bin/bash
# tests/engine/phaser.sh - the spritesheet JSON in a real engine: Phaser
# (from the npm registry, pinned) in headless Chromium loads a sheet that
# pixelfix wrote, makes its animation with anims.createFromAseprite, plays
# the tag once, and the frame sequence and timing are checked against the
# JSON. `make check-engine`; CI runs it. Needs chromium, npm and
# /usr/bin/python3; without chromium or the registry it says SKIPPED and why.
# Usage: tests/engine/phaser.sh [PIXELFIX]
set -u
BIN=${1:-./pixelfix}
PHASER_VERSION=4.2.1
CACHE=build/engine
PY=/usr/bin/python3
SRC=samples/guy-exit.gif

skip() { echo "phaser.sh: SKIPPED: $*"; exit 0; }
fail() { echo "phaser.sh: FAIL: $*"; exit 1; }

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "no chromium (apt-get install chromium)"
command -v npm >/dev/null || skip "no npm (apt-get install npm)"
[ -x "$BIN" ] || fail "no pixelfix binary at $BIN"

mkdir -p "$CACHE"
TGZ="$CACHE/phaser-$PHASER_VERSION.tgz"
if [ ! -s "$TGZ" ]; then
    (cd "$CACHE" && timeout 300 npm pack --silent "phaser@$PHASER_VERSION" >/dev/null 2>&1) ||
        skip "cannot fetch phaser@$PHASER_VERSION from the npm registry"
fi

T=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

tar -xzf "$TGZ" -C "$T" package/dist/phaser.min.js || fail "phaser tarball unreadable"
mv "$T/package/dist/phaser.min.js" "$T/"
cp tests/engine/phaser.html "$T/index.html"
"$BIN" "$SRC" -o "$T/sheet.png" -q --no-model --tag walk || fail "pixelfix could not write the sheet"

# Chromium will not fetch JSON from file://, so the page is served locally.
(cd "$T" && exec "$PY" -m http.server --bind 127.0.0.1 0 >"$T/server.log" 2>&1) &
SERVER=$!
PORT=
for _ in $(seq 50); do
    PORT=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$T/server.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || fail "the local HTTP server did not start: $(cat "$T/server.log")"

timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --mute-audio --virtual-time-budget=60000 \
    --dump-dom "http://127.0.0.1:$PORT/index.html" >"$T/dom.html" 2>"$T/chromium.log" ||
    fail "chromium failed: $(tail -3 "$T/chromium.log")"

"$PY" - "$T/dom.html" "$T/sheet.json" "$PHASER_VERSION" <<'EOF'
import html, json, re, sys
dom = open(sys.argv[1]).read()
m = re.search(r"RESULT (\{.*?\})</pre>", dom, re.S)
if not m:
    sys.exit("phaser.sh: FAIL: the page reported nothing: %s" % re.sub(r"\s+", " ", dom)[:300])
r = json.loads(html.unescape(m.group(1)))
sheet = json.load(open(sys.argv[2]))
want = [f["duration"] for f in sheet["frames"]]
n = len(want)
names = [str(i) for i in range(n)]
errs = []
if "error" in r:
    errs.append("page error: " + r["error"])
if r.get("made") != ["walk"]:
    errs.append("createFromAseprite made %r, expected ['walk']" % r.get("made"))
if r.get("frames") != names:
    errs.append("the tag's frames are %r, expected 0..%d" % (r.get("frames"), n - 1))
if r.get("durations") != want:
    errs.append("frame durations %r, the JSON says %r" % (r.get("durations"), want))
if r.get("missing"):
    errs.append("the atlas has no frames %r" % r["missing"])
if r.get("played") != names:
    errs.append("played %r, expected 0..%d once, in order" % (r.get("played"), n - 1))
times = r.get("times", [])
# each frame shows for its own duration: the time between two changes,
# within one 60 Hz step of the game loop
shown = [b - a for a, b in zip(times, times[1:])]
bad = [(i, s, want[i]) for i, s in enumerate(shown) if abs(s - want[i]) > 17.5]
if len(shown) != n - 1 or bad:
    errs.append("frames shown for %s ms, the JSON says %s" % ([round(s) for s in shown], want[:-1]))
if errs:
    sys.exit("phaser.sh: FAIL: " + "; ".join(errs))
print("phaser.sh: Phaser %s played the tag 'walk': %d frames in order, each for its duration (%d ms in all)"
      % (sys.argv[3], n, round(r.get("total", 0))))
EOF
