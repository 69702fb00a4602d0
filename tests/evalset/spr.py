"""spr.py - reader for the sprite definitions (.spr) of Pekka Kana 2
(pekka-kana-2-data): which BMP holds a sprite's frames, the frame
rectangles, the animation sequences and their timing. Not an image reader
(Pillow reads the 8-bit BMPs) and not a slicer (sources.py is).

Layout, checked on all 194 .spr files of pekka-kana-2-data 1.2.7 and
against the game's own reader (PrototypeClass::Load and the structs
PrototypeClass10 .. PrototypeClass13 of the pk2 SDL port): a 4-byte
version string ("1.0" .. "1.3", NUL-padded) followed by one C struct as
MSVC lays it out on x86 (little endian, u32/double aligned to 4/8 bytes
from the struct start, i.e. file offset 4). Fields read here, as offsets
from the struct start:

  field                       1.0 / 1.1 / 1.2        1.3
  u32  type                   0                      0
  char image[]                4   (13 bytes)         4   (100 bytes)
  u8   frames                 136                    832
  anim animations[20]         137 (12 bytes each)    833
  u8   frame_rate             378                    1074
  u32  x, y, w, h             380, 384, 388, 392     1076, 1080, 1084, 1088
  char name[30]               400                    1096
  u8   colour                 496                    1220

An animation is u8 sequence[10] (1-based frame numbers), u8 length,
bool loop. The game cuts frame i at (x, y) + i * (w + 3) along the row
and starts a new row (y += h + 3, x back to the first x) when the next
frame would pass x = 640. Each sequence step shows for frame_rate + 1
game ticks (SpriteClass::Animoi). A colour other than 255 recolours the
image: every palette index c != 255 becomes c % 32 + colour (the palette
is 8 ramps of 32). Palette index 255 is transparent."""

import struct

SHEET_WIDTH = 640          # the loader wraps frame rows at x = 640
FRAME_GAP = 3              # pixels between frames, across and down
MAX_ANIMATIONS = 20
SEQUENCE_SIZE = 10
COLOUR_NORMAL = 255        # no recolouring

# Animation slots, as the game names them (sprite.hpp enum ANIMATION_*).
ANIMATION_NAMES = ("idle", "walk", "jump_up", "jump_down", "squat", "damage",
                   "death", "attack1", "attack2")

_LAYOUTS = {
    # name bytes, image, frames, animations, frame_rate, x, name, colour
    "old": (13, 4, 136, 137, 378, 380, 400, 496),
    "1.3": (100, 4, 832, 833, 1074, 1076, 1096, 1220),
}
# The fields after colour differ between the old versions (a 1.1 file of
# the package is 564 bytes like 1.0); only what precedes them is read.
_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


def _cstr(b):
    return b.split(b"\0", 1)[0].decode("latin-1")


def read_spr(path):
    """Parses one .spr file -> dict with version, type, image (BMP file
    name), frames, frame_rate, x, y, w, h (frame rectangle, pixels),
    name, colour (0..255, 255 = no recolouring) and animations: a list of
    (slot, [frame numbers, 1-based], loop) for each slot with a non-empty
    sequence. Raises ValueError on an unknown version, a short file or
    values out of range."""
    with open(path, "rb") as f:
        data = f.read()
    version = _cstr(data[:4])
    if version not in _VERSIONS:
        raise ValueError("%s: unknown .spr version %r" % (path, version))
    s = data[4:]
    nb, o_img, o_frames, o_anims, o_rate, o_x, o_name, o_col = \
        _LAYOUTS["1.3" if version == "1.3" else "old"]
    if len(s) <= o_col:
        raise ValueError("%s: truncated (%d bytes)" % (path, len(data)))
    x, y, w, h = struct.unpack_from("<4I", s, o_x)
    spr = {"version": version, "type": struct.unpack_from("<I", s, 0)[0],
           "image": _cstr(s[o_img:o_img + nb]), "frames": s[o_frames],
           "frame_rate": s[o_rate], "x": x, "y": y, "w": w, "h": h,
           "name": _cstr(s[o_name:o_name + 30]), "colour": s[o_col]}
    if not spr["image"] or not 0 < w <= SHEET_WIDTH or not 0 < h <= 4096:
        raise ValueError("%s: bad image or frame size" % path)
    anims = []
    for slot in range(MAX_ANIMATIONS):
        o = o_anims + 12 * slot
        seq, n, loop = list(s[o:o + SEQUENCE_SIZE]), s[o + 10], s[o + 11]
        if n == 0:
            continue
        if n > SEQUENCE_SIZE or any(not 1 <= v <= spr["frames"] for v in seq[:n]):
            raise ValueError("%s: animation %d refers to a missing frame" % (path, slot))
        anims.append((slot, seq[:n], bool(loop)))
    spr["animations"] = anims
    return spr


def frame_rects(spr):
    """The (x, y, w, h) of each frame in the sprite's BMP, in frame order,
    cut as the game's loader cuts them (see the module doc)."""
    rects, fx, fy = [], spr["x"], spr["y"]
    w, h = spr["w"], spr["h"]
    for _ in range(spr["frames"]):
        if fx + w > SHEET_WIDTH:
            fy += h + FRAME_GAP
            fx = spr["x"]
        rects.append((fx, fy, w, h))
        fx += w + FRAME_GAP
    return rects


def animation_name(slot):
    return ANIMATION_NAMES[slot] if slot < len(ANIMATION_NAMES) else "anim%d" % slot
