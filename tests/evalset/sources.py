"""sources.py - per-package slicers: turn the files of one extracted Debian
package (see docs/data.md) into animations, each a list of RGBA frames
with per-frame durations in ms and the package paths they came from, and
into static tiles (one RGBA image each) that the trainer animates
synthetically. Every slicer returns raw pixels; fetch.py canonicalises
them (binary alpha, transparent pixels (0, 0, 0, 0)) and writes them out.
Not a downloader (fetch.py) and not a degradation renderer (degrade.py).

To add a package: write slice_<name>(root) returning Anim, Tile and Skip
objects and add it to PACKAGES with its licence and role."""

import fnmatch
import glob
import os
import re

import numpy as np
from PIL import Image
from scipy import ndimage

import spr
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


class Tile:
    """One static image: name (unique within its package), image (H, W, 4)
    uint8 RGBA, sources, meta as for Anim."""

    def __init__(self, name, image, sources, **meta):
        self.name = name
        self.image = image
        self.sources = sources
        self.meta = meta


class Skip:
    """Something a slicer left out: name, sources, reason (a short fixed
    phrase, counted per package in the manifest)."""

    def __init__(self, name, sources, reason):
        self.name = name
        self.sources = sources
        self.reason = reason


def clean_reason(images):
    """Why a list of raw RGBA images (one tile or one animation's frames)
    is not binary-alpha pixel art, or None when it is: soft alpha (docs/data.md
    wants binary alpha), more than 256 colours over all images, or nothing
    drawn (fully transparent or a single RGBA value)."""
    stack = np.stack(images) if len({im.shape for im in images}) == 1 else None
    if stack is None:
        return "frames of different sizes"
    a = stack[..., 3]
    if ((a > 0) & (a < 255)).any():
        return "soft alpha"
    if not (a == 255).any():
        return "empty"
    opaque = stack[a == 255][:, :3]
    n = len(np.unique(opaque, axis=0))
    if n > 256:
        return "more than 256 colours"
    if n == 1 and (a == 255).all():
        return "one colour"
    return None


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
    (docs/data.md); cursors and soft-alpha skins drop out here."""
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


# ---- training-only packages (see PACKAGES roles) -----------------------


def _safe_name(s):
    return re.sub(r"[^a-z0-9_.-]+", "_", s.lower()).strip("_")


def _tiles_from(name, image, sources, **meta):
    """[Tile] or [Skip] for one candidate static image."""
    reason = clean_reason([image])
    if reason:
        return [Skip(name, sources, reason)]
    return [Tile(name, image, sources, **meta)]


# minetest-data static textures (the animated strips are slice_minetest_data)

MT_ROOT = "usr/share/games/minetest"


def tile_minetest_data(root):
    """Every static 16x16 PNG of minetest-data: the textures of the
    minetest_game and devtest mods and of textures/base/pack. The
    *_animated.png strips are animations (slice_minetest_data), other
    sizes are skins, menu art and models' textures, left out."""
    base = os.path.join(root, MT_ROOT)
    out = []
    # minetest_game first: devtest copies some of its textures, and the
    # first copy is the one kept (it has the attribution in its README)
    paths = sorted(glob.glob(os.path.join(base, "**", "*.png"), recursive=True),
                   key=lambda p: ("/devtest/" in p, p))
    for path in paths:
        fname = os.path.basename(path)
        if fname.endswith("_animated.png"):
            continue
        rel = os.path.relpath(path, base)
        img = load_rgba(path)
        if img.shape[:2] != (16, 16):
            continue
        parts = rel.split(os.sep)
        in_mod = parts[0] == "games" and len(parts) >= 6 and parts[2] == "mods"
        group = "/".join(parts[1:4:2]) if in_mod else "/".join(parts[:-1])
        name = _safe_name(".".join([q for q in parts[:-1]
                                    if q not in ("games", "mods", "textures")] + [fname[:-4]]))
        meta = {"group": group}
        if in_mod:
            mod_dir = os.path.join(base, *parts[:4])
            readme = os.path.join(mod_dir, "README.txt")
            meta["author"] = _minetest_author(mod_dir, fname) or (
                "see mod README.txt" if os.path.exists(readme) else "Minetest contributors")
            if os.path.exists(readme):
                meta["attribution_file"] = _rel(root, readme)
        out += _tiles_from(name, img, [_rel(root, path)], **meta)
    return out


# pekka-kana-2-data

PK2_SPRITES = "usr/share/games/pekka-kana-2/data/sprites"
PK2_TICKS_PER_S = 60    # the Piste engine runs the game logic at 60 fps


def _pk2_sheet(path, colour):
    """An 8-bit sprite BMP -> (H, W, 4) RGBA with its own palette, after
    the game's recolouring (spr.py); palette index 255 is transparent."""
    with Image.open(path) as im:
        if im.mode != "P":
            raise ValueError("%s: not an 8-bit palette image" % path)
        idx = np.array(im).astype(np.int32)
        pal = np.zeros((256, 3), np.uint8)
        p = np.array(im.getpalette() or [], np.uint8)[:768].reshape(-1, 3)
        pal[:len(p)] = p
    if colour != spr.COLOUR_NORMAL:
        idx = np.where(idx != 255, (idx % 32 + colour) & 0xFF, 255)
    out = np.zeros(idx.shape + (4,), np.uint8)
    out[..., :3] = pal[idx]
    out[..., 3] = np.where(idx != 255, 255, 0)
    return out


def slice_pekka_kana_2_data(root):
    """Each sprites/*.spr (parsed by spr.py) cut from its BMP. Every
    animation slot whose sequence shows at least two different frames
    becomes an animation <spr>_<slot name>: consecutive repeats of a frame
    are merged, each step lasts (frame_rate + 1) ticks at 60 ticks/s. A
    sprite none of whose animations moves gives one static tile. Recoloured
    variants (the .spr colour field) are kept; identical results are
    marked duplicates by fetch.py."""
    sdir = os.path.join(root, PK2_SPRITES)
    files = {f.lower(): f for f in os.listdir(sdir)}
    sheets = {}
    out = []
    for path in sorted(glob.glob(os.path.join(sdir, "*.spr"))):
        stem = _safe_name(os.path.basename(path)[:-4])
        srcs = [_rel(root, path)]
        try:
            s = spr.read_spr(path)
        except ValueError:
            out.append(Skip(stem, srcs, "unreadable .spr"))
            continue
        img_name = files.get(s["image"].lower())
        if img_name is None:
            out.append(Skip(stem, srcs, "image file missing"))
            continue
        img_path = os.path.join(sdir, img_name)
        srcs.append(_rel(root, img_path))
        key = (img_name, s["colour"])
        if key not in sheets:
            sheets[key] = _pk2_sheet(img_path, s["colour"])
        sheet = sheets[key]
        # the game cuts all frames, clipped; only the used ones must fit
        frames = [sheet[y:y + h, x:x + w]
                  if x + w <= sheet.shape[1] and y + h <= sheet.shape[0] else None
                  for x, y, w, h in spr.frame_rects(s)]
        meta = {"pk2_name": s["name"], "pk2_colour": s["colour"],
                "spr_version": s["version"],
                "author": "Janne Kivilahti (Piste Gamez)"}
        tick_ms = 1000.0 / PK2_TICKS_PER_S
        moved = False
        for slot, seq, loop in s["animations"]:
            steps = []                          # [frame index, ticks]
            for v in seq:
                if steps and steps[-1][0] == v - 1:
                    steps[-1][1] += s["frame_rate"] + 1
                else:
                    steps.append([v - 1, s["frame_rate"] + 1])
            name = "%s_%s" % (stem, spr.animation_name(slot))
            if any(frames[i] is None for i, _ in steps):
                out.append(Skip(name, srcs, "frame outside the image"))
                continue
            if len({frames[i].tobytes() for i, _ in steps}) < 2:
                continue
            moved = True
            fr = [frames[i] for i, _ in steps]
            reason = clean_reason(fr)
            if reason:
                out.append(Skip(name, srcs, reason))
                continue
            out.append(Anim(name, fr, [round(t * tick_ms) for _, t in steps], srcs,
                            timing="(frame_rate %d + 1) ticks per step at %d ticks/s, "
                                   "repeats merged" % (s["frame_rate"], PK2_TICKS_PER_S),
                            loop=loop, pk2_slot=slot, **meta))
        if not moved:
            first = s["animations"][0][1][0] - 1 if s["animations"] else 0
            if frames[first] is None:
                out.append(Skip(stem, srcs, "frame outside the image"))
            else:
                out += _tiles_from(stem, frames[first], srcs, **meta)
    return out


# xpenguins

XPENGUINS_THEMES = "usr/share/xpenguins/themes"
XPENGUINS_USE = ("Turtles",)
# The data rules also allow Bill/, but its about file says "Images from XBill" and
# its frames are xbill's (splat.xpm = billD_0..4 pixel for pixel, walker
# = billL/billR recoloured by 1/255): xbill is a validation package.
XPENGUINS_LEFT_OUT = {"Bill": "xbill art (validation package)"}
_XP_REST_OF_LINE = ("artist", "maintainer", "date", "copyright", "license",
                    "comment", "icon")


def _xpenguins_config(path, theme):
    """A theme's config or about file -> (delay ms or None, {key: text} of
    the artist/licence lines, [(toon, name, {property: value})]). Properties
    follow 'define NAME' until the next define or toon; 'define default'
    sets a toon's defaults (merged into the others here)."""
    delay, info, defs = None, {}, []
    toon, cur, defaults = theme, None, {}
    with open(path, errors="replace") as f:
        for line in f:
            tok = line.split("#", 1)[0].split()
            i = 0
            while i < len(tok):
                k = tok[i]
                if k in _XP_REST_OF_LINE:
                    info[k] = " ".join(tok[i + 1:])
                    break
                v = tok[i + 1] if i + 1 < len(tok) else None
                if k == "toon":
                    toon, cur, defaults = v, None, {}
                elif k == "define":
                    cur = defaults if v == "default" else {}
                    if v != "default":
                        defs.append((toon, v, cur, defaults))
                elif k == "delay" and cur is None:
                    delay = int(v)
                elif cur is not None and v is not None:
                    cur[k] = v
                i += 2
    return delay, info, [(t, n, dict(d, **p)) for t, n, p, d in defs]


def slice_xpenguins(root):
    """The themes in XPENGUINS_USE: each 'define' is a pixmap of N frames
    of W x H along x, one row per direction; a row with at least two
    different frames is an animation <theme>_<define>[_<direction>], a
    one-frame define a tile. Timing: the config's 'delay' (ms per frame).
    XPM colour None is transparent (xpm.py)."""
    out = []
    for theme in XPENGUINS_USE:
        tdir = os.path.join(root, XPENGUINS_THEMES, theme)
        cfg = os.path.join(tdir, "config")
        delay, info, defs = _xpenguins_config(cfg, theme)
        about = os.path.join(tdir, "about")
        if os.path.exists(about):
            info.update(_xpenguins_config(about, theme)[1])
        ms = delay or DEFAULT_MS
        timing = "config delay %d ms" % delay if delay else "default"
        for toon, dname, g in defs:
            name = _safe_name("%s_%s" % (theme, dname))
            try:
                w, h = int(g["width"]), int(g["height"])
                n, dirs = int(g.get("frames", 1)), int(g.get("directions", 1))
                pix = os.path.join(tdir, g["pixmap"])
            except (KeyError, ValueError):
                out.append(Skip(name, [_rel(root, cfg)], "incomplete define"))
                continue
            srcs = [_rel(root, pix), _rel(root, cfg)]
            if os.path.exists(about):
                srcs.append(_rel(root, about))
            img = load_rgba(pix)
            if img.shape[0] < h * dirs or img.shape[1] < w * n:
                out.append(Skip(name, srcs, "pixmap smaller than its geometry"))
                continue
            meta = {"author": info.get("artist", "see the theme's about file"),
                    "theme": theme}
            for d in range(dirs):
                aname = name if dirs == 1 else "%s_%d" % (name, d)
                fr = [img[d * h:(d + 1) * h, k * w:(k + 1) * w] for k in range(n)]
                if len({f.tobytes() for f in fr}) < 2:
                    out += _tiles_from(aname, fr[0], srcs, **meta)
                    continue
                reason = clean_reason(fr)
                if reason:
                    out.append(Skip(aname, srcs, reason))
                    continue
                out.append(Anim(aname, fr, [ms] * n, srcs, timing=timing, direction=d,
                                **meta))
    for theme, why in sorted(XPENGUINS_LEFT_OUT.items()):
        out.append(Skip(_safe_name(theme), [XPENGUINS_THEMES + "/" + theme], why))
    return out


# davegnukem-data

DG_SPRITES = "usr/share/games/davegnukem/sprites"
DG_CELL = 16
DG_LICENCE = "Expat OR GPL-2 OR GPL-3"
# debian/copyright: the boots in sprites01 are Freepik's, CC-BY-3.0
DG_EXTRA = {"sprites01.tga": ("(Expat OR GPL-2 OR GPL-3) AND CC-BY-3.0",
                              "David Joffe; boots by Freepik (flaticon.com)")}


def slice_davegnukem_data(root):
    """sprites/sprites0*.tga, sheets of 16x16 cells, one static tile per
    cell in row-major order. The cells hold animation frames, but which
    cells form an animation is in the game's C++ code, not in the data
    (def*spr.dat are per-cell flags), so they are not grouped."""
    out = []
    for path in sorted(glob.glob(os.path.join(root, DG_SPRITES, "sprites0*.tga"))):
        img = load_rgba(path)
        sheet = os.path.basename(path)
        lic, author = DG_EXTRA.get(sheet, (DG_LICENCE, "David Joffe"))
        stem = _safe_name(sheet[:-4])
        k = 0
        for y in range(0, img.shape[0] - DG_CELL + 1, DG_CELL):
            for x in range(0, img.shape[1] - DG_CELL + 1, DG_CELL):
                out += _tiles_from("%s_%03d" % (stem, k),
                                   img[y:y + DG_CELL, x:x + DG_CELL], [_rel(root, path)],
                                   licence=lic, author=author, cell=k)
                k += 1
    return out


# crawl-tiles-data

CRAWL_TILES = "usr/share/crawl/dat/tiles"
CRAWL_CELL = 32
# Only the floor and wall atlases are a plain 32-px grid of whole tiles;
# main/feat/player pack trimmed tiles of other sizes (their positions are
# compiled into the game). At most this many tiles per atlas, evenly spaced.
CRAWL_QUOTA = {"floor.png": 150, "wall.png": 150}
CRAWL_LICENCE_NOTE = ("debian/copyright (crawl-common): 'Public Domain|CC0: most of tiles. "
                      "Exact list is sketchy'; the atlases carry no per-tile provenance, so "
                      "every tile is recorded under the package licence GPL-2+")


def _cut_tile(op, x, y, c):
    """True when opaque pixels run across a side of the c x c cell at
    (x, y): part of a tile bigger than one cell, or an off-grid one."""
    h, w = op.shape
    pairs = []
    if x > 0:
        pairs.append((op[y:y + c, x - 1], op[y:y + c, x]))
    if x + c < w:
        pairs.append((op[y:y + c, x + c - 1], op[y:y + c, x + c]))
    if y > 0:
        pairs.append((op[y - 1, x:x + c], op[y, x:x + c]))
    if y + c < h:
        pairs.append((op[y + c - 1, x:x + c], op[y + c, x:x + c]))
    return any((a & b).sum() >= 3 for a, b in pairs)


def slice_crawl_tiles_data(root):
    """32x32 cells of the floor and wall atlases (CRAWL_QUOTA). A cell with
    transparent pixels is kept only when no opaque run crosses its sides;
    fully opaque cells are whole floor/wall tiles."""
    out = []
    for sheet, quota in sorted(CRAWL_QUOTA.items()):
        path = os.path.join(root, CRAWL_TILES, sheet)
        img = load_rgba(path)
        op = img[..., 3] > 0
        stem = sheet[:-4]
        cand = []
        k = 0
        for y in range(0, img.shape[0] - CRAWL_CELL + 1, CRAWL_CELL):
            for x in range(0, img.shape[1] - CRAWL_CELL + 1, CRAWL_CELL):
                name = "%s_%04d" % (stem, k)
                cell = img[y:y + CRAWL_CELL, x:x + CRAWL_CELL]
                k += 1
                reason = clean_reason([cell])
                if not reason and not op[y:y + CRAWL_CELL, x:x + CRAWL_CELL].all() \
                        and _cut_tile(op, x, y, CRAWL_CELL):
                    reason = "crosses the cell grid"
                if reason:
                    out.append(Skip(name, [_rel(root, path)], reason))
                else:
                    cand.append((name, cell))
        keep = {int(i * len(cand) / quota) for i in range(min(quota, len(cand)))}
        for i, (name, cell) in enumerate(cand):
            if i in keep:
                out.append(Tile(name, cell, [_rel(root, path)], atlas_cell=name,
                                licence_note=CRAWL_LICENCE_NOTE,
                                copyright_file="usr/share/doc/crawl-common/copyright",
                                author="the Dungeon Crawl Stone Soup tile artists"))
            else:
                out.append(Skip(name, [_rel(root, path)], "over the per-atlas quota"))
    return out


# ---- tecnoballz-data -------------------------------------------------------

TB_LORES = "usr/share/games/tecnoballz/lores"
TB_MS = 80   # no timing in the data (the game steps these per frame): a plausible rate
# name -> (sheet, frame rectangles (x, y, w, h) in play order). The sheets
# carry no geometry (the game's C++ source has it): measured on the 0.93.1
# lores sheets. The head's frames 1-3 are TV static, left out, and each
# frame's last column is the sheet's separator line.
TB_ANIMS = {
    "head": ("head_animation.png", [(32 * i, 0, 31, 29) for i in [0] + list(range(4, 14))]),
    "eye": ("all_sprites.png", [(32 * (k % 10), 642 + 29 * (k // 10), 32, 29) for k in range(32)]),
}


def _key_border_black(rgba):
    """Black (palette index 0, the sheets' key) connected to the frame's
    border becomes transparent; black inside the drawing (eyes, glasses)
    stays opaque."""
    black = (rgba[..., :3] == 0).all(axis=2)
    lab, _ = ndimage.label(black)
    edge = set(np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))) - {0}
    out = rgba.copy()
    m = np.isin(lab, sorted(edge))
    out[m] = 0
    return out


def slice_tecnoballz_data(root):
    """Two animations of the lores sheets at TB_ANIMS' rectangles: the
    shaded Amiga-style art (22 and 57 colours) that xbill and gnujump lack."""
    out = []
    for name, (sheet, rects) in sorted(TB_ANIMS.items()):
        path = os.path.join(root, TB_LORES, sheet)
        img = load_rgba(path)
        frames = [_key_border_black(img[y:y + h, x:x + w]) for (x, y, w, h) in rects]
        reason = clean_reason(frames)
        if reason:
            out.append(Skip(name, [_rel(root, path)], reason))
            continue
        out.append(Anim(name, frames, [TB_MS] * len(frames), [_rel(root, path)],
                        timing="default", author="TLK Games"))
    return out


# ---- registry -------------------------------------------------------------

# licence: as docs/data.md states and the package's debian/copyright confirms for
# the files used (a Tile or Anim may override it in its meta).
# role: "val" = validation only, never trained on (docs/data.md "Splits");
# "dev+train" = the development eval split, also trained on; "train".
# slicer -> Anim/Tile/Skip objects; tiler (optional) -> more tiles, run
# after the slicer so the slicer's output stays as it was.
ROLES = ("val", "dev+train", "train")
PACKAGES = {
    "minetest-data": {"licence": "CC-BY-SA-3.0", "role": "dev+train",
                      "slicer": slice_minetest_data, "tiler": tile_minetest_data},
    "whichwayisup": {"licence": "CC-BY-3.0", "role": "dev+train",
                     "slicer": slice_whichwayisup},
    "xbill": {"licence": "GPL-2+", "role": "val", "slicer": slice_xbill},
    "gnujump-data": {"licence": "GPL-3+", "role": "val", "slicer": slice_gnujump_data},
    "tecnoballz-data": {"licence": "GPL-3+", "role": "val", "slicer": slice_tecnoballz_data},
    "pekka-kana-2-data": {"licence": "BSD-2-Clause", "role": "train",
                          "slicer": slice_pekka_kana_2_data},
    "xpenguins": {"licence": "GPL-2+", "role": "train", "slicer": slice_xpenguins},
    "davegnukem-data": {"licence": "Expat OR GPL-2 OR GPL-3", "role": "train",
                        "slicer": slice_davegnukem_data},
    "crawl-tiles-data": {"licence": "GPL-2+", "role": "train",
                         "slicer": slice_crawl_tiles_data},
}
