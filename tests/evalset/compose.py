"""compose.py - the clean native frames of the composed kinds, before any
degradation: a ring around the sprite that encloses background pockets
(enclosed), a small region recoloured to a distinct saturated hue
(minority_hue), opaque tile scenes with no background at all
(opaque_scene), and the sprite colours that bg_field draws its busy
background near. plan_* draw the parameters (recorded in case.json);
apply() renders the frames from those parameters alone. Not a degrader
(degrade.py) and not a case sampler (build.py).

Material: a split's own packages only (docs/data.md). The val packages
ship no tiles in the cache's clean/ set, so opaque_scene reads the static
art of xbill (usr/share/xbill/pixmaps/*.xpm) and gnujump-data (skin floor
and brick tiles) straight from the packages fetch.py unpacked under
<cache>/root/; dev uses minetest-data's static tiles from clean/.
"""

import json
import math
import os

import numpy as np
from PIL import Image

import fetch
import metrics_ref
import xpm


def r4(v):
    return round(float(v), 4)


# ---- colour ------------------------------------------------------------------


def oklab_to_srgb(lab):
    """(..., 3) OKLab -> (..., 3) float sRGB 0..1, unclipped (out of gamut
    when any channel leaves 0..1)."""
    m2i = np.array([[1.0, 0.3963377774, 0.2158037573],
                    [1.0, -0.1055613458, -0.0638541728],
                    [1.0, -0.0894841775, -1.2914855480]])
    m1i = np.array([[4.0767416621, -3.3077115913, 0.2309699292],
                    [-1.2684380046, 2.6097574011, -0.3413193965],
                    [-0.0041960863, -0.7034186147, 1.7076147010]])
    lin = (np.asarray(lab, float) @ m2i.T) ** 3 @ m1i.T
    a = np.abs(lin)
    return np.sign(lin) * np.where(a <= 0.0031308, 12.92 * a, 1.055 * a ** (1 / 2.4) - 0.055)


def lch_rgb(l, c, h_deg):
    """The sRGB uint8 triple of OKLab lightness l, chroma c, hue h (deg),
    the chroma lowered until it is in gamut."""
    for _ in range(60):
        lab = [l, c * math.cos(math.radians(h_deg)), c * math.sin(math.radians(h_deg))]
        rgb = oklab_to_srgb(lab)
        if np.all(rgb >= -1e-4) and np.all(rgb <= 1 + 1e-4):
            break
        c *= 0.95
    return [int(v) for v in np.clip(np.rint(rgb * 255), 0, 255)]


def histogram(frames):
    """Opaque colours of (N, H, W, 4) frames: (colours (K, 3) uint8,
    shares (K,) summing to 1), most frequent first."""
    px = frames[frames[..., 3] >= 128][:, :3]
    if len(px) == 0:
        return np.zeros((0, 3), np.uint8), np.zeros(0)
    cols, cnt = np.unique(px, axis=0, return_counts=True)
    order = np.argsort(-cnt, kind="stable")
    return cols[order], cnt[order] / cnt.sum()


def hue_dist(a, b):
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def lch(cols):
    lab = metrics_ref.srgb_to_oklab(np.asarray(cols, np.uint8))
    return lab[:, 0], np.hypot(lab[:, 1], lab[:, 2]), np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))


def sprite_colours(frames, n=8):
    """The n most frequent opaque colours and their shares (bg_field draws
    some of its blob colours near them)."""
    cols, share = histogram(frames)
    return [[int(v) for v in c] for c in cols[:n]], [r4(s) for s in share[:n]]


# ---- enclosed: a ring around the sprite ----------------------------------------


def pockets(alpha):
    """(H, W) bool opaque -> (H, W) bool: transparent pixels that no
    4-connected transparent path joins to the image border."""
    from scipy import ndimage
    a = np.pad(alpha, 1)
    lab, n = ndimage.label(~a)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return np.isin(lab, np.setdiff1d(np.arange(1, n + 1), border))[1:-1, 1:-1]


def pocket_share(frames):
    """Mean share of the frame area that is enclosed background."""
    return r4(np.mean([pockets(f[..., 3] >= 128).mean() for f in frames]))


def pick_int(rng, items, p):
    return items[int(rng.choice(len(items), p=p))]


def plan_ring(rng, frames):
    """A closed line drawn behind the sprite, 1-2 px thick, so background
    between it and the sprite is enclosed:
    - "floor" (45%): a ground line under the feet, the full width of the
      sprite's box plus 0-2 px: closes the gaps between the legs (when that
      encloses under 1% of the frame, an ellipse instead);
    - "ellipse" (35%): semi-axes of 0.9-1.15 x the half box plus 0-2 px,
      so it runs behind the limbs and closes the gaps between them;
    - "rect" (20%): the box plus 0-2 px;
    ellipse and rect split by a bar across the middle in 40% of cases.
    The colour: the sprite's darkest with >= 2% of its pixels (an
    outline), one of its 4 main colours, or a saturated one.
    Returns (spec, composed (w, h))."""
    ys, xs = np.nonzero((frames[..., 3] >= 128).any(axis=0))
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]   # x0 y0 x1 y1
    bw, bh = box[2] - box[0], box[3] - box[1]
    shape = pick_int(rng, ["floor", "ellipse", "rect"], [0.45, 0.35, 0.2])
    thick = int(rng.integers(1, 3))
    gap = int(pick_int(rng, [0, 1, 2], [0.4, 0.4, 0.2]))
    bars = str(rng.choice(["none", "none", "none", "h", "v", "cross"], p=[0.2, 0.2, 0.2, 0.15, 0.15, 0.1]))
    f = rng.uniform(0.9, 1.15)
    cols, share = histogram(frames)
    l_ = lch(cols)[0]
    mode = str(rng.choice(["dark", "sprite", "saturated"], p=[0.4, 0.3, 0.3]))
    if mode == "dark":                     # the outline colour: darkest with a real share
        ok = np.flatnonzero(share >= 0.02)
        ok = ok if len(ok) else np.arange(len(cols))
        rgb = cols[ok[np.argmin(l_[ok])]]
    elif mode == "sprite":
        rgb = cols[int(rng.choice(min(4, len(cols))))]
    else:
        rgb = lch_rgb(rng.uniform(0.45, 0.75), 0.2, rng.uniform(0, 360))
    spec = {"type": "ring", "thickness": thick, "gap": gap, "rgb": [int(v) for v in rgb],
            "colour_from": mode, "sprite_box": box}
    for sh in ([shape, "ellipse"] if shape == "floor" else [shape]):
        spec["shape"] = sh
        spec["bars"] = "none" if sh == "floor" else bars
        if sh == "floor":
            spec["semi_axes"] = None
            spec["sprite_at"] = [gap, 0]
            spec["size"] = [bw + 2 * gap, bh + thick]
        else:
            # the ellipse may run behind the sprite's limbs and corners,
            # which keeps the pockets closed
            fx = f if sh == "ellipse" else 1.0
            ax, ay = bw / 2 * fx + gap + thick, bh / 2 * fx + gap + thick
            mx = max(0, int(math.ceil(ax - bw / 2)))
            my = max(0, int(math.ceil(ay - bh / 2)))
            spec["semi_axes"] = [r4(ax), r4(ay)]
            spec["sprite_at"] = [mx, my]
            spec["size"] = [bw + 2 * mx, bh + 2 * my]
        if sh != "floor" or pocket_share(apply_ring(spec, frames)) >= 0.01:
            break
    return spec, spec["size"]


def ring_mask(spec):
    w, h = spec["size"]
    t = spec["thickness"]
    if spec["shape"] == "floor":
        m = np.zeros((h, w), bool)
        m[h - t:] = True
        return m
    ax, ay = spec["semi_axes"]
    y, x = np.mgrid[0:h, 0:w] + 0.5
    cx, cy = w / 2.0, h / 2.0
    if spec["shape"] == "ellipse":
        outer = ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0
        inner = ((x - cx) / (ax - t)) ** 2 + ((y - cy) / (ay - t)) ** 2 <= 1.0
    else:
        outer = (np.abs(x - cx) <= ax) & (np.abs(y - cy) <= ay)
        inner = (np.abs(x - cx) <= ax - t) & (np.abs(y - cy) <= ay - t)
    m = outer & ~inner
    r0y, r0x = int(math.floor(cy - t / 2.0)), int(math.floor(cx - t / 2.0))
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    if spec["bars"] in ("h", "cross"):
        m |= inner & (rows >= r0y) & (rows < r0y + t)
    if spec["bars"] in ("v", "cross"):
        m |= inner & (cols >= r0x) & (cols < r0x + t)
    return m


def apply_ring(spec, frames):
    n = frames.shape[0]
    w, h = spec["size"]
    x0, y0, x1, y1 = spec["sprite_box"]
    mx, my = spec["sprite_at"]
    out = np.zeros((n, h, w, 4), np.uint8)
    out[:, ring_mask(spec)] = list(spec["rgb"]) + [255]
    spr = frames[:, y0:y1, x0:x1]
    dst = out[:, my:my + (y1 - y0), mx:mx + (x1 - x0)]
    op = spr[..., 3] >= 128
    dst[op] = spr[op]
    return out


# ---- minority_hue: a small, distinct saturated hue ------------------------------

HUES = {"red": 29.0, "orange": 55.0, "yellow": 110.0, "green": 142.0, "cyan": 195.0,
        "blue": 264.0, "violet": 300.0, "magenta": 330.0}


def _majority_hues(cols, share, skip=()):
    """Hues of the chromatic colours (C >= 0.04) that carry >= 3% of the
    opaque pixels, besides those in skip."""
    _, c, hh = lch(cols)
    return [float(hh[i]) for i in range(len(cols))
            if i not in skip and c[i] >= 0.04 and share[i] >= 0.03]


def _groups(cols, share):
    """Colour groups: each colour with every colour within 0.1 OKLab of it."""
    lab = metrics_ref.srgb_to_oklab(cols)
    d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    return [np.flatnonzero(d[i] < 0.1) for i in range(len(cols))]


def natural_minority(frames, lo=0.01, hi=0.05):
    """A colour group already in the sprite with lo..hi of the opaque
    pixels, mean chroma >= 0.1 and a hue >= 60 deg from every majority
    hue: (indices, colours, share, hue) or None."""
    cols, share = histogram(frames)
    _, c, hh = lch(cols)
    best = None
    for g in _groups(cols, share):
        s = share[g].sum()
        if not lo <= s <= hi or np.average(c[g], weights=share[g]) < 0.1:
            continue
        hue = float(hh[g[np.argmax(share[g])]])
        maj = _majority_hues(cols, share, set(g.tolist()))
        if all(hue_dist(hue, m) >= 60 for m in maj) and (best is None or s > best[2]):
            best = (g, cols[g], float(s), hue)
    return best


def _ramp(src, weights, base_l, chroma, hue):
    """[[source rgb, new rgb]]: the source colours on the new hue, their
    lightness steps kept (0.8x) around base_l."""
    l_src = lch(src)[0]
    l_new = np.clip(base_l + 0.8 * (l_src - np.average(l_src, weights=weights)), 0.3, 0.88)
    return [[[int(v) for v in s], lch_rgb(float(l), chroma, hue)] for s, l in zip(src, l_new)]


def plan_recolour(rng, frames, lo=0.01, hi=0.05):
    """A natural minority hue when the sprite has one (half the time), else
    a recolour onto a saturated hue >= 60 deg (when possible) from the
    sprite's majority hues, keeping the lightness steps:
    - "colours" (70% where one exists): a group of similar colours (within
      0.1 OKLab of a seed, neither near black nor near white) with lo..hi
      of the opaque pixels, everywhere;
    - "patch": else the opaque pixels in a box on top of the sprite's
      silhouette (a cap, a plume), grown until it holds 2-4% of them.
    Returns the spec."""
    nat = natural_minority(frames, lo, hi)
    if nat is not None and rng.random() < 0.5:
        return {"type": "natural", "colours": [[int(v) for v in c] for c in nat[1]],
                "share": r4(nat[2]), "hue": r4(nat[3])}
    cols, share = histogram(frames)
    l_all = lch(cols)[0]
    uniq = []
    for g in _groups(cols, share):
        if lo <= share[g].sum() <= hi and 0.25 <= np.average(l_all[g], weights=share[g]) <= 0.95 \
                and not any(len(g) == len(u) and np.all(g == u) for u in uniq):
            uniq.append(g)
    mode = "colours" if uniq and rng.random() < 0.7 else "patch"
    op = frames[..., 3] >= 128
    if mode == "colours":
        g = uniq[int(rng.integers(len(uniq)))]
        skip, box = set(g.tolist()), None
    else:
        union = op.any(axis=0)
        top = int(np.flatnonzero(union.any(axis=1))[0])
        cx = int(np.median(np.nonzero(union[top:top + 3])[1]))
        target = rng.uniform(0.02, 0.04) * op.sum()
        best = None
        for i in range(0, union.shape[1]):                   # half-width beyond the centre column
            for k in range(max(1, i), 2 * i + 2):             # rows: squat to tall
                b = [max(cx - i, 0), top, cx + i + 1, top + k]     # x0 y0 x1 y1
                got = op[:, b[1]:b[3], b[0]:b[2]].sum()
                if best is None or abs(got - target) < best[0]:
                    best = (abs(got - target), b)
        box = best[1]
        inside = op[:, box[1]:box[3], box[0]:box[2]]
        px = frames[:, box[1]:box[3], box[0]:box[2]][inside][:, :3]
        pc, pn = np.unique(px, axis=0, return_counts=True)
        g = np.array([int(np.flatnonzero(np.all(cols == c, axis=1))[0]) for c in pc])
        skip = set()
    maj = _majority_hues(cols, share, skip)
    far = [k for k, hh in HUES.items() if all(hue_dist(hh, m) >= 60 for m in maj)]
    name = str(rng.choice(far or sorted(HUES, key=lambda k: -min(
        [hue_dist(HUES[k], m) for m in maj] or [180]))[:2]))
    chroma = rng.uniform(0.15, 0.25)
    base_l = rng.uniform(0.5, 0.72)
    spec = {"type": "recolour", "mode": mode, "hue_name": name, "hue": HUES[name],
            "chroma": r4(chroma)}
    if mode == "colours":
        spec["map"] = _ramp(cols[g], share[g], base_l, chroma, HUES[name])
        spec["share"] = r4(share[g].sum())
    else:
        spec["box"] = box
        spec["map"] = _ramp(cols[g], pn, base_l, chroma, HUES[name])
        spec["share"] = r4(inside.sum() / op.sum())
    return spec


def apply_recolour(spec, frames):
    if spec["type"] == "natural":
        return frames
    out = frames.copy()
    x0, y0, x1, y1 = spec.get("box") or [0, 0, frames.shape[2], frames.shape[1]]
    src, dst = frames[:, y0:y1, x0:x1], out[:, y0:y1, x0:x1]
    for a, b in spec["map"]:
        m = np.all(src[..., :3] == a, axis=-1) & (src[..., 3] >= 128)
        dst[m, :3] = b
    return out


# ---- opaque_scene: a tile scene with no background ---------------------------------

MARGIN = 3    # native px of scene beyond each side of the GT, so no edge is ever empty

GJ = "usr/share/games/gnujump/skins/"
XB = "usr/share/xbill/pixmaps/"
# Val scene material, all checked by eye: fully opaque tiles for walls and
# floors (gnujump's brick and window tiles, and one 8 x 8 period of the
# blue brick wall in xjump's game background: "#x,y,w,h" crops) and props
# (xbill's OS logos, computers, toaster, bucket). The logos sit on a plain
# fill that would join into a plain field when repeated, so they are props
# only.
VAL_WALLS = [("gnujump-data", GJ + "xjump/sidebrick.png"), ("gnujump-data", GJ + "xjump/floor.png"),
             ("gnujump-data", GJ + "auri/floorC.png"), ("gnujump-data", GJ + "wincrash/floorC.png"),
             ("gnujump-data", GJ + "xjump/gamebg.png#40,160,8,8")]
VAL_FLOORS = VAL_WALLS[:4]
VAL_PROPS = [("xbill", XB + n + ".xpm") for n in (
    "apple", "bsd", "hurd", "linux", "next", "os2", "palm", "sgi", "sun", "wingdows", "bucket",
    "bsdcpu", "maccpu", "nextcpu", "os2cpu", "palmcpu", "sgicpu", "suncpu", "toaster")]
WALL_SPREAD = 0.05     # dev walls: mean OKLab distance to the tile's mean colour, at least


class Material:
    """Scene material of one split, from the cache (clean/ and root/)."""

    def __init__(self, cache, manifest, pool):
        self.cache = cache
        self.clean = os.path.join(cache, "clean")
        self.manifest = manifest
        self.pool = pool                           # package -> manifest entries (build.pools)
        self._img = {}

    def image(self, src):
        """(package, path) -> (H, W, 4) uint8: a clean/ tile path
        ("clean:<path>") or a file of the unpacked package."""
        key = tuple(src)
        if key not in self._img:
            pkg, path = src
            path, _, crop = path.partition("#")
            if path.startswith("clean:"):
                f = os.path.join(self.clean, path[6:])
            else:
                f = os.path.join(self.cache, "root", pkg, path)
            if not os.path.exists(f):
                raise RuntimeError("%s missing; run tests/evalset/fetch.py" % f)
            if f.endswith(".xpm"):
                a = xpm.read_xpm(f)
            else:
                a = np.array(Image.open(f).convert("RGBA"))
            if crop:
                x, y, w, h = (int(v) for v in crop.split(","))
                a = a[y:y + h, x:x + w]
            a = a.copy()
            a[..., 3] = np.where(a[..., 3] >= 128, 255, 0)
            a[a[..., 3] == 0] = 0
            self._img[key] = a
        return self._img[key]

    def stats(self, entry):
        """{"opaque_px": mean opaque pixels per frame, "all_opaque": bool}."""
        key = ("stats", entry["id"])
        if key not in self._img:
            op = fetch.load_frames(self.clean, entry)[..., 3]
            self._img[key] = {"opaque_px": float((op >= 128).sum()) / len(op),
                              "all_opaque": bool((op == 255).all())}
        return self._img[key]

    def frames(self, anim_id):
        e = next(e for es in self.pool.values() for e in es if e["id"] == anim_id)
        return fetch.load_frames(self.clean, e)

    def lists(self, split):
        """(walls, floors, props): lists of (package, path). Dev walls and
        floors: minetest_game's opaque default and wool tiles with a visible
        texture (WALL_SPREAD; sand, snow or plain wool would read as a flat
        background); props: its tiles with transparency and at least a
        quarter opaque."""
        if split == "val":
            return VAL_WALLS, VAL_FLOORS, VAL_PROPS
        walls, props = [], []
        for t in self.manifest["tiles"]:
            if t["package"] not in self.pool or "duplicate_of" in t or \
                    not t.get("group", "").startswith("minetest_game/"):
                continue
            src = (t["package"], "clean:" + t["path"])
            a = self.image(src)
            if (a[..., 3] == 255).all():
                lab = metrics_ref.srgb_to_oklab(a[..., :3].reshape(-1, 3))
                textured = np.linalg.norm(lab - lab.mean(axis=0), axis=1).mean() >= WALL_SPREAD
                if textured and t["group"] in ("minetest_game/default", "minetest_game/wool"):
                    walls.append(src)
            elif (a[..., 3] == 255).mean() >= 0.25:
                props.append(src)
        walls.sort()
        props.sort()
        return walls, walls, props


def plan_scene(rng, split, entry, frames, mat):
    """An opaque scene: a wall tile repeated over the canvas, a floor band
    of another tile (70%), 0-3 props and the case's animation on top; a
    second animation of the split in half the cases. A fully opaque
    animation (minetest's lava and water) becomes the floor band itself.
    The scene extends MARGIN px beyond the GT on every side. Returns
    (spec, GT (w, h))."""
    walls, floors, props = mat.lists(split)
    n, sh, sw = frames.shape[:3]
    opaque_anim = bool((frames[..., 3] == 255).all())
    w = int(max(sw + 12, rng.integers(48, 97)))
    h = int(max(sh + 10, rng.integers(40, 81)))
    W, H = w + 2 * MARGIN, h + 2 * MARGIN
    layers = []
    wall = walls[int(rng.integers(len(walls)))]
    layers.append({"what": "wall", "source": list(wall),
                   "offset": [int(v) for v in rng.integers(0, 32, 2)]})
    floor_h = 0
    if opaque_anim:
        floor_h = sh
        layers.append({"what": "floor_anim", "anim": entry["id"], "y": H - MARGIN - sh,
                       "offset": int(rng.integers(0, sw))})
    elif rng.random() < 0.7:
        fl = floors[int(rng.integers(len(floors)))]
        fh = mat.image(fl).shape[0]
        if fh <= h // 3:
            floor_h = fh
            layers.append({"what": "floor", "source": list(fl), "y": H - MARGIN - fh,
                           "offset": int(rng.integers(0, 32))})
    for _ in range(int(rng.integers(0, 4))):
        pr = props[int(rng.integers(len(props)))]
        ph, pw = mat.image(pr).shape[:2]
        if pw > W or ph > H:
            continue
        layers.append({"what": "prop", "source": list(pr),
                       "at": [int(rng.integers(0, W - pw + 1)), int(rng.integers(0, H - ph + 1))]})
    others = [e for es in mat.pool.values() for e in es if e["id"] != entry["id"]]
    sprites = [] if opaque_anim else [entry]
    if rng.random() < 0.5 and others:
        o = others[int(rng.integers(len(others)))]
        if o["width"] <= w and o["height"] <= h:
            sprites.append(o)
    for k, e in enumerate(sprites):
        ow, oh = e["width"], e["height"]
        ground = H - MARGIN - floor_h - oh + (2 if floor_h else 0)
        y = int(min(max(ground, MARGIN), H - MARGIN - oh)) if rng.random() < 0.7 else \
            int(rng.integers(MARGIN, max(MARGIN + 1, H - MARGIN - oh + 1)))
        x = int(rng.integers(MARGIN, max(MARGIN + 1, W - MARGIN - ow + 1)))
        layers.append({"what": "sprite", "anim": e["id"], "at": [x, y], "main": k == 0 and not opaque_anim})
    spec = {"type": "scene", "size": [w, h], "margin": MARGIN, "layers": layers,
            "sources": sorted({(l["source"][0], l["source"][1]) for l in layers if "source" in l})}
    spec["sources"] = [list(s) for s in spec["sources"]]
    return spec, [w, h]


def _over(dst, src, x, y):
    """Binary-alpha src over dst (H, W, 4) at (x, y), clipped."""
    h, w = src.shape[:2]
    H, W = dst.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y:y1 - y, x0 - x:x1 - x]
    m = s[..., 3] >= 128
    dst[y0:y1, x0:x1][m] = s[m]


def _tiled(tile, w, h, ox, oy):
    th, tw = tile.shape[:2]
    ys = (np.arange(h) + oy) % th
    xs = (np.arange(w) + ox) % tw
    return tile[ys[:, None], xs[None, :]]


def apply_scene(spec, frames, mat):
    """(N, h, w, 4) clean frames of the case's animation -> (N, h + 2M,
    w + 2M, 4) opaque scene frames, margin included (render_case crops the
    GT)."""
    n = frames.shape[0]
    w, h = spec["size"]
    W, H = w + 2 * spec["margin"], h + 2 * spec["margin"]
    anim = {}
    out = np.zeros((n, H, W, 4), np.uint8)
    for t in range(n):
        img = out[t]
        for l in spec["layers"]:
            if l["what"] == "wall":
                img[:] = _tiled(mat.image(l["source"]), W, H, *l["offset"])
            elif l["what"] == "floor":
                tile = mat.image(l["source"])
                img[l["y"]:l["y"] + tile.shape[0]] = _tiled(tile, W, tile.shape[0], l["offset"], 0)
            elif l["what"] == "floor_anim":
                f = frames[t]
                img[l["y"]:l["y"] + f.shape[0]] = _tiled(f, W, f.shape[0], l["offset"], 0)
            elif l["what"] == "prop":
                _over(img, mat.image(l["source"]), *l["at"])
            elif l["what"] == "sprite":
                if l["main"]:
                    f = frames[t]
                else:
                    if l["anim"] not in anim:
                        anim[l["anim"]] = mat.frames(l["anim"])
                    f = anim[l["anim"]][t % len(anim[l["anim"]])]
                _over(img, f, *l["at"])
    if (out[..., 3] != 255).any():
        raise RuntimeError("scene has transparent pixels")
    return out


# ---- entry points -------------------------------------------------------------------


def apply(spec, frames, mat=None):
    """The composed clean frames of a case (spec = case.json "compose")."""
    if spec is None:
        return frames
    if spec["type"] == "ring":
        return apply_ring(spec, frames)
    if spec["type"] in ("recolour", "natural"):
        return apply_recolour(spec, frames)
    if spec["type"] == "scene":
        return apply_scene(spec, frames, mat)
    raise ValueError("unknown compose type %r" % spec["type"])


def dumps(obj):
    return json.dumps(obj, sort_keys=True)
