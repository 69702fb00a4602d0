"""xpm.py - a small XPM3 reader (X PixMap, the C-array text format of
libXpm) returning exact RGBA pixels. Colour "None" becomes transparent.
Follows the libXpm format description: a values line "W H NCOLORS CPP
[XHOT YHOT] [XPMEXT]", NCOLORS colour lines "<chars> <key> <colour> ..."
with keys c (colour), g, g4, m (mono), s (symbolic), then H pixel rows.
Not a general image library: no XPM1/XPM2, no extensions section."""

import os
import re

import numpy as np

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KEYS = ("c", "g", "g4", "m", "s")
_KEY_PRIORITY = ("c", "g", "g4", "m")   # the colour-visual fallbacks, best first
_rgb_names = None


def _x11_names():
    """Lower-cased X11 colour names (spaces removed) -> (r, g, b)."""
    global _rgb_names
    if _rgb_names is None:
        _rgb_names = {"black": (0, 0, 0), "white": (255, 255, 255),
                      "red": (255, 0, 0), "green": (0, 255, 0),
                      "blue": (0, 0, 255), "yellow": (255, 255, 0),
                      "magenta": (255, 0, 255), "cyan": (0, 255, 255)}
        for p in ("/usr/share/X11/rgb.txt", "/etc/X11/rgb.txt"):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) < 4 or line.startswith("!"):
                            continue
                        try:
                            rgb = tuple(int(v) for v in parts[:3])
                        except ValueError:
                            continue
                        _rgb_names["".join(parts[3:]).lower()] = rgb
                break
    return _rgb_names


def parse_colour(spec):
    """An XPM colour value -> (r, g, b, a) 0..255. Accepts None,
    #RGB / #RRGGBB / #RRRRGGGGBBBB and X11 names. Raises ValueError."""
    s = spec.strip()
    low = s.lower()
    if low in ("none", "transparent"):
        return (0, 0, 0, 0)
    if s.startswith("#"):
        hx = s[1:]
        if len(hx) % 3 or not hx or not re.fullmatch(r"[0-9a-fA-F]+", hx):
            raise ValueError("bad hex colour %r" % spec)
        n = len(hx) // 3
        vals = [int(hx[i * n:(i + 1) * n], 16) for i in range(3)]
        mx = (1 << (4 * n)) - 1
        return tuple(int(round(v * 255 / mx)) for v in vals) + (255,)
    rgb = _x11_names().get(low.replace(" ", ""))
    if rgb is None:
        raise ValueError("unknown colour name %r" % spec)
    return rgb + (255,)


def read_xpm(path):
    """Reads an XPM3 file -> uint8 array (H, W, 4), RGBA, transparent
    pixels (0, 0, 0, 0). Raises ValueError on malformed input."""
    with open(path, "r", errors="replace") as f:
        text = f.read()
    # drop C comments so a quoted string inside a comment is not taken
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    strings = _STRING.findall(text)
    if not strings:
        raise ValueError("%s: no XPM strings" % path)
    head = strings[0].split()
    if len(head) < 4:
        raise ValueError("%s: bad values line %r" % (path, strings[0]))
    w, h, ncol, cpp = (int(v) for v in head[:4])
    if w <= 0 or h <= 0 or ncol <= 0 or cpp <= 0 or w * h > (1 << 26):
        raise ValueError("%s: bad dimensions" % path)
    if len(strings) < 1 + ncol + h:
        raise ValueError("%s: truncated (%d strings)" % (path, len(strings)))
    table = {}
    for line in strings[1:1 + ncol]:
        chars, rest = line[:cpp], line[cpp:].split()
        found = {}
        i = 0
        while i < len(rest):           # key value pairs; values may be multi-word
            if rest[i] in _KEYS:
                key, j = rest[i], i + 1
                while j < len(rest) and rest[j] not in _KEYS:
                    j += 1
                found.setdefault(key, " ".join(rest[i + 1:j]))
                i = j
            else:
                i += 1
        spec = next((found[k] for k in _KEY_PRIORITY if k in found), None)
        if spec is None:
            raise ValueError("%s: colour %r has no visual" % (path, chars))
        table[chars] = parse_colour(spec)
    out = np.zeros((h, w, 4), np.uint8)
    for y, row in enumerate(strings[1 + ncol:1 + ncol + h]):
        if len(row) < w * cpp:
            raise ValueError("%s: short row %d" % (path, y))
        try:
            out[y] = [table[row[x * cpp:(x + 1) * cpp]] for x in range(w)]
        except KeyError as e:
            raise ValueError("%s: undefined pixel %s in row %d" % (path, e, y))
    return out
