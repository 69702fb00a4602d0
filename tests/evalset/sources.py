"""sources.py - per-package slicers: turn the files of one extracted Debian
package (see shared/DATA.md) into animations, each a list of RGBA frames
with per-frame durations in ms and the package paths they came from.
Every slicer returns raw frames; fetch.py canonicalises them (binary
alpha, transparent pixels (0, 0, 0, 0)) and writes them out.
Not a downloader (fetch.py) and not a degradation renderer (degrade.py).

To add a package: write slice_<name>(root) and add it to PACKAGES."""

import fnmatch
import glob
import os
import re

import numpy as np
from PIL import Image

import xpm

DEFAULT_MS = 100            # per-frame duration when a package has no timing


class Anim:
    """One animation: name (unique within its package, [a-z0-9_.-]),
    frames [(H, W, 4) uint8 RGBA], durations_ms [int], sources [paths
    relative to the package root], meta {str: str} (author, timing ...)."""

    def __init__(self, name, frames, durations_ms, sources, **meta):
        self.name = name
        self.frames = frames
        self.durations_ms = [int(d) for d in durations_ms]
        self.sources = sources
        self.meta = meta


def load_rgba(path):
    """Any PNG/BMP/TGA Pillow reads, or an XPM -> (H, W, 4) uint8 RGBA
    (palette transparency and tRNS honoured)."""
    if path.lower().endswith(".xpm"):
        return xpm.read_xpm(path)
    with Image.open(path) as im:
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        return np.array(im.convert("RGBA"))


def key_to_transparent(rgba, key):
    """Sets pixels whose RGB equals key (r, g, b) to alpha 0."""
    out = rgba.copy()
    m = (out[..., 0] == key[0]) & (out[..., 1] == key[1]) & (out[..., 2] == key[2])
    out[m, 3] = 0
    return out


def _rel(root, path):
    return os.path.relpath(path, root)


# ---- minetest-data ------------------------------------------------------

MT_MODS = "usr/share/games/minetest/games/minetest_game/mods"


def _minetest_lengths(mods_dir):
    """Texture-name regex -> animation length in seconds, from the
    'vertical_frames' definitions in the mods' Lua files."""
    out = []
    for lua in sorted(glob.glob(os.path.join(mods_dir, "*", "*.lua"))):
        with open(lua, errors="replace") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if "_animated.png" not in line:
                continue
            # a Lua string expression: "lit" .. ident .. "lit_animated.png"
            m = re.search(r'((?:(?:"[^"]*"|[A-Za-z_][\w.]*)\s*\.\.\s*)*"[^"]*_animated\.png")',
                          line)
            if not m:
                continue
            pat = ""                 # identifiers become wildcards
            for lit, ident in re.findall(r'"([^"]*)"|([A-Za-z_][\w.]*)', m.group(1)):
                pat += re.escape(lit) if not ident else ".*"
            for j in range(i, min(i + 12, len(lines))):
                lm = re.search(r"\blength\s*=\s*([0-9.]+)", lines[j])
                if lm:
                    out.append((re.compile("^" + pat + "$"), float(lm.group(1))))
                    break
    return out


def _minetest_author(mod_dir, fname):
    """The 'Author (licence):' heading above fname in the mod's README."""
    readme = os.path.join(mod_dir, "README.txt")
    if not os.path.exists(readme):
        return None
    head = None
    with open(readme, errors="replace") as f:
        for line in f:
            s = line.strip()
            # headings start at column 0; the files under them are indented
            if re.match(r"^[^\s].*\((CC[^)]*|Public Domain|WTFPL|MIT)\)\s*:?\s*$", line):
                head = s.rstrip(":")
            elif s and head and (s == fname or ("*" in s and fnmatch.fnmatch(fname, s))):
                return head
    return None


def slice_minetest_data(root):
    """*_animated.png vertical strips of square frames (n = H / W); timing
    from the Lua 'length' (seconds per loop), else 100 ms per frame."""
    mods = os.path.join(root, MT_MODS)
    lengths = _minetest_lengths(mods)
    anims = []
    for path in sorted(glob.glob(os.path.join(mods, "*", "textures", "*_animated.png"))):
        img = load_rgba(path)
        h, w = img.shape[:2]
        if h % w or h // w < 2:
            continue
        n = h // w
        fname = os.path.basename(path)
        length = next((L for rx, L in lengths if rx.match(fname)), None)
        if length:
            ms = [int(round(length * 1000 / n))] * n
            timing = "lua length %.3g s / %d frames" % (length, n)
        else:
            ms = [DEFAULT_MS] * n
            timing = "default"
        frames = [img[k * w:(k + 1) * w] for k in range(n)]
        mod_dir = os.path.dirname(os.path.dirname(path))
        author = _minetest_author(mod_dir, fname)
        anims.append(Anim(fname[:-len("_animated.png")], frames, ms,
                          [_rel(root, path)], timing=timing,
                          author=author or "see mod README.txt",
                          attribution_file=_rel(root, os.path.join(mod_dir, "README.txt"))))
    return anims


# ---- whichwayisup --------------------------------------------------------

WWIU_PICS = "usr/share/games/whichwayisup/data/pictures"
WWIU_FPS = 24   # lib/locals.py FPS


def slice_whichwayisup(root):
    """<obj>_<anim>.txt lists 'frame I T' lines; frame k is the file
    <obj>_<anim>_<k>.png shown for T+1 game ticks at 24 fps (lib/animation.py
    advances when its tick counter exceeds T). Magenta is transparent."""
    pics = os.path.join(root, WWIU_PICS)
    anims = []
    for txt in sorted(glob.glob(os.path.join(pics, "*_*.txt"))):
        base = os.path.basename(txt)[:-4]
        ticks = []
        with open(txt, errors="replace") as f:
            for line in f:
                v = line.split()
                if len(v) >= 3 and v[0] == "frame":
                    ticks.append(int(v[2]))
        files = [os.path.join(pics, "%s_%d.png" % (base, k)) for k in range(len(ticks))]
        if len(ticks) < 2 or not all(os.path.exists(p) for p in files):
            continue
        frames = [key_to_transparent(load_rgba(p), (255, 0, 255)) for p in files]
        if len({f.shape for f in frames}) != 1:
            continue
        ms = [int(round((t + 1) * 1000 / WWIU_FPS)) for t in ticks]
        anims.append(Anim(base, frames, ms, [_rel(root, p) for p in files] + [_rel(root, txt)],
                          timing="%s: (T+1) ticks at %d fps" % (os.path.basename(txt), WWIU_FPS),
                          author='Olli "Hectigo" Etuaho'))
    return anims


# ---- xbill ---------------------------------------------------------------

XBILL_PIX = "usr/share/xbill/pixmaps"


def slice_xbill(root):
    """Numbered XPM sequences <name>_<i>.xpm (bill*, spark); colour None
    is transparent. xbill has no timing files: 100 ms per frame."""
    pix = os.path.join(root, XBILL_PIX)
    groups = {}
    for p in glob.glob(os.path.join(pix, "*_*.xpm")):
        m = re.match(r"^(.*)_(\d+)\.xpm$", os.path.basename(p))
        if m:
            groups.setdefault(m.group(1), {})[int(m.group(2))] = p
    anims = []
    for name in sorted(groups):
        idx = groups[name]
        n = max(idx) + 1
        if n < 2 or sorted(idx) != list(range(n)):
            continue
        files = [idx[k] for k in range(n)]
        frames = [load_rgba(p) for p in files]
        if len({f.shape for f in frames}) != 1:
            continue
        anims.append(Anim(name, frames, [DEFAULT_MS] * n, [_rel(root, p) for p in files],
                          timing="default",
                          author="Brian Wellington, Matias Duarte"))
    return anims


# ---- gnujump-data -------------------------------------------------------

GNUJUMP_SKINS = "usr/share/games/gnujump/skins"


def _parse_gnujump_anim(path):
    """A skin's .anim file -> [(picture path, ms)] from its pic/time lines."""
    out, pic = [], None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0]
            m = re.match(r'\s*pic\s*=\s*"([^"]+)"', line)
            if m:
                pic = m.group(1)
                continue
            m = re.match(r"\s*time\s*=\s*(\d+)", line)
            if m and pic is not None:
                # pictures are relative to the .anim file, or to the skin
                # folder for anims in sub-folders (wincrash/heroanim1)
                here = os.path.dirname(path)
                cand = [os.path.join(here, pic), os.path.join(os.path.dirname(here), pic)]
                full = next((c for c in cand if os.path.exists(c)), cand[0])
                out.append((full, int(m.group(1))))
                pic = None
    return out


def slice_gnujump_data(root):
    """Every .anim file of every skin (pic/time lines, time in ms). Kept
    only when all its frames have binary alpha and <= 256 colours in all
    (DATA.md); cursors and soft-alpha skins drop out here."""
    skins = os.path.join(root, GNUJUMP_SKINS)
    anims = []
    for path in sorted(glob.glob(os.path.join(skins, "*", "*.anim")) +
                       glob.glob(os.path.join(skins, "*", "*", "*.anim"))):
        seq = _parse_gnujump_anim(path)
        if len(seq) < 2 or not all(os.path.exists(p) for p, _ in seq):
            continue
        frames = [load_rgba(p) for p, _ in seq]
        if len({f.shape for f in frames}) != 1:
            continue
        stack = np.stack(frames)
        a = stack[..., 3]
        if ((a > 0) & (a < 255)).any():
            continue
        opaque = stack[a == 255][:, :3]
        if len(np.unique(opaque, axis=0)) > 256:
            continue
        rel = os.path.relpath(path, skins)
        name = rel[:-5].replace(os.sep, "_")
        skin = rel.split(os.sep)[0]
        anims.append(Anim(name, frames, [ms for _, ms in seq],
                          [_rel(root, p) for p, _ in seq] + [_rel(root, path)],
                          timing=os.path.basename(path), skin=skin,
                          author="Juan Pedro Bolivar Puente and skin authors"))
    return anims


# ---- registry -------------------------------------------------------------

# licence: as DATA.md states and the package's debian/copyright confirms for
# the files used.
PACKAGES = {
    "minetest-data": {"licence": "CC-BY-SA-3.0", "slicer": slice_minetest_data},
    "whichwayisup": {"licence": "CC-BY-3.0", "slicer": slice_whichwayisup},
    "xbill": {"licence": "GPL-2+", "slicer": slice_xbill},
    "gnujump-data": {"licence": "GPL-3+", "slicer": slice_gnujump_data},
}
