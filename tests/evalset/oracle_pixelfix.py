#!/usr/bin/python3
"""oracle_pixelfix.py - a stand-in for the pixelfix binary with the same
command line as run.py uses, for testing run.py's plumbing and for an
"oracle grid" reference figure per kind:

  oracle_pixelfix.py INPUT -o OUT.webp|DIR/ [--force] [-q]
                     [--oracle-palette | --nearest]
      reads the case JSON beside INPUT (case.json, or <stem>.json), takes
      the TRUE grid from it (scale, phase, per-frame jitter, native size)
      and writes one colour per native cell: the median of the cell's
      central samples; alpha from the input alpha (transparent cases) or
      from the RGB distance (>= 24 of 255) to the known background. No
      palette and no temporal smoothing, so its flicker is what a
      per-frame classical method with a perfect grid would show. With
      --oracle-palette each opaque cell snaps to the nearest (OKLab) colour
      of the GT's own palette: oracle grid + oracle palette.
      With --nearest: nearest neighbour at the true scale. Each cell takes
      the one input pixel at its centre under the true geometry: native
      pixel i covers input [(i + o)*s, (i + 1 + o)*s) with o = phase +
      that frame's jitter, so the pixel is floor((i + 0.5 + o)*s), clamped
      to the canvas. Alpha follows the same rule on that one pixel (input
      alpha >= 128, or RGB distance >= 24 to the background pixel there).
      No palette, no temporal smoothing. Exit 4 without a case JSON.
      A bent lattice (video_bent's "bend") uses the true bent coordinate
      instead: --nearest takes the input pixel whose native coordinate is
      closest to the cell centre, the default mode the median of the
      pixels whose native coordinate lies in the cell's central box
      (bent_cells). A drifting blob field (bg_field) is compared frame by
      frame against that frame's own field.
  oracle_pixelfix.py eval GT OUT --json FILE
      scores with metrics_ref.py (the numpy reference of docs/metrics.md); OUT
      may be a folder of PNG frames.
  oracle_pixelfix.py --version
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev

ev.require_python_deps()
import numpy as np            # noqa: E402

import build                  # noqa: E402
import containers             # noqa: E402
import degrade                # noqa: E402
import encoders               # noqa: E402
import metrics_ref            # noqa: E402


def decode(path):
    """Any input -> (N, H, W, 4) uint8 RGBA (MP4 through the ffmpeg CLI)."""
    if path.endswith(".gif") or path.endswith(".webp"):
        return containers.read_anim(path)[0]
    n, w, h = encoders.probe_frames(path)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo",
                          "-pix_fmt", "rgba", "-"], stdout=subprocess.PIPE, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 4)


def case_json(inp):
    d, stem = os.path.dirname(inp), os.path.splitext(os.path.basename(inp))[0]
    for c in (os.path.join(d, "case.json"), os.path.join(d, stem + ".json")):
        if os.path.exists(c):
            return ev.read_json(c)
    return None


def frame_bg(bg, t):
    """bg: None, one (ch, cw, 3) background, or a list of one per frame (a
    drifting field, bg_field)."""
    return bg[t] if isinstance(bg, list) else bg


def nearest_cells(frames, c, bg):
    """--nearest: (N, H, W, 4) uint8 from the input pixel at each native
    cell's centre, (i + 0.5 + o)*s floored and clamped, per frame's o."""
    s = c["scale"]
    w, h = c["native_size"]
    n, ch, cw = frames.shape[:3]
    jit = c.get("jitter")
    out = np.zeros((n, h, w, 4), np.uint8)
    for t in range(n):
        ox = c["phase"][0] + (jit["x"][t] if jit else 0.0)
        oy = c["phase"][1] + (jit["y"][t] if jit else 0.0)
        xs = np.clip(np.floor((np.arange(w) + 0.5 + ox) * s).astype(np.int64), 0, cw - 1)
        ys = np.clip(np.floor((np.arange(h) + 0.5 + oy) * s).astype(np.int64), 0, ch - 1)
        px = frames[t][ys[:, None], xs[None, :]]                 # (H, W, 4)
        if bg is None:
            opaque = px[..., 3] >= 128
        else:
            bcol = frame_bg(bg, t)[ys[:, None], xs[None, :]] * 255   # (H, W, 3)
            opaque = np.linalg.norm(px[..., :3].astype(np.float64) - bcol, axis=-1) >= 24
        out[t, opaque, :3] = px[opaque][:, :3]
        out[t, opaque, 3] = 255
    return out


def median_cells(frames, c, bg):
    """Default mode: (N, H, W, 4) uint8, each cell the median of the input
    samples in a box of half-size max(0.5, s/4) around its true centre."""
    s = c["scale"]
    w, h = c["native_size"]
    n, ch, cw = frames.shape[:3]
    jit = c.get("jitter")
    out = np.zeros((n, h, w, 4), np.uint8)
    r = max(0.5, 0.25 * s)                      # half-size of the central box, input px
    for t in range(n):
        ox = c["phase"][0] + (jit["x"][t] if jit else 0.0)
        oy = c["phase"][1] + (jit["y"][t] if jit else 0.0)
        for j in range(h):
            cy = (j + 0.5 + oy) * s
            y0, y1 = int(max(0, np.floor(cy - r))), int(min(ch, np.ceil(cy + r)))
            for i in range(w):
                cx = (i + 0.5 + ox) * s
                x0, x1 = int(max(0, np.floor(cx - r))), int(min(cw, np.ceil(cx + r)))
                if y1 <= y0 or x1 <= x0:
                    continue
                px = frames[t, y0:y1, x0:x1].reshape(-1, 4)
                col = np.median(px, axis=0)
                if bg is None:
                    opaque = col[3] >= 128
                else:
                    bcol = np.median((frame_bg(bg, t)[y0:y1, x0:x1] * 255).reshape(-1, 3), axis=0)
                    opaque = np.linalg.norm(col[:3] - bcol) >= 24
                if opaque:
                    out[t, j, i, :3] = np.rint(col[:3])
                    out[t, j, i, 3] = 255
    return out


def _group_median(cell, vals):
    """Per-cell medians (np.median's: the mean of the two middle values for
    even counts) of vals (N, C) grouped by cell (N,): (cells, (K, C))."""
    cells, start, cnt = np.unique(np.sort(cell), return_index=True, return_counts=True)
    lo, hi = start + (cnt - 1) // 2, start + cnt // 2
    med = np.empty((len(cells), vals.shape[1]))
    for ch in range(vals.shape[1]):
        sv = vals[np.lexsort((vals[:, ch], cell)), ch].astype(np.float64)
        med[:, ch] = 0.5 * (sv[lo] + sv[hi])
    return cells, med


def bent_cells(frames, c, bg, nearest):
    """Both modes on a bent lattice (case key "bend", the video_bent kind):
    the straight formulas above do not hold there, so every input pixel's
    native coordinate (u, v) comes from degrade.bent_coords, the
    renderer's own. --nearest: each cell takes the input pixel whose (u, v)
    is closest to the cell centre (i + 0.5, j + 0.5). Default: the median
    of the pixels whose (u, v) lie in the central box of half-size
    max(0.5, s/4) / s native px. Alpha as in the straight modes. A cell
    that no input pixel maps into (off the canvas) is transparent."""
    s = c["scale"]
    w, h = c["native_size"]
    n, ch, cw = frames.shape[:3]
    jit = c.get("jitter")
    out = np.zeros((n, h, w, 4), np.uint8)
    half = max(0.5, 0.25 * s) / s
    for t in range(n):
        ox = c["phase"][0] + (jit["x"][t] if jit else 0.0)
        oy = c["phase"][1] + (jit["y"][t] if jit else 0.0)
        u, v = degrade.bent_coords((cw, ch), s, (ox, oy), c["bend"], max(w, h), t)
        i, j = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        du, dv = u - i - 0.5, v - j - 0.5
        ok = (i >= 0) & (i < w) & (j >= 0) & (j < h)
        if not nearest:
            ok &= (np.abs(du) <= half) & (np.abs(dv) <= half)
        pix = np.flatnonzero(ok)                         # input pixels, row-major
        cell = (j * w + i).ravel()[pix]
        px = frames[t].reshape(-1, 4)[pix]
        bpx = None if bg is None else frame_bg(bg, t).reshape(-1, 3)[pix] * 255
        if nearest:
            d2 = (du * du + dv * dv).ravel()[pix]
            order = np.lexsort((d2, cell))
            cells, first = np.unique(cell[order], return_index=True)
            col = px[order[first]].astype(np.float64)
            bcol = None if bg is None else bpx[order[first]]
        else:
            cells, col = _group_median(cell, px)
            bcol = None if bg is None else _group_median(cell, bpx)[1]
        if bg is None:
            opaque = col[:, 3] >= 128
        else:
            opaque = np.linalg.norm(col[:, :3] - bcol, axis=-1) >= 24
        o = out[t].reshape(-1, 4)
        o[cells[opaque], :3] = np.rint(col[opaque, :3])
        o[cells[opaque], 3] = 255
    return out


def restore(inp, outp, oracle_palette=False, nearest=False):
    c = case_json(inp)
    if c is None:
        sys.stderr.write("oracle: no case JSON beside %s\n" % inp)
        return 4
    frames = decode(inp)
    n = frames.shape[0]
    bg = build.make_background(c)
    if build.moving_background(c):
        bg = [build.make_background(c, t) for t in range(n)]
    if c.get("bend"):
        out = bent_cells(frames, c, bg, nearest)
    else:
        out = (nearest_cells if nearest else median_cells)(frames, c, bg)
    if oracle_palette:
        gt = containers.read_anim(os.path.join(os.path.dirname(inp), c["gt"]))[0]
        pal = np.unique(gt[gt[..., 3] >= 128][:, :3], axis=0)
        op = out[..., 3] == 255
        if len(pal) and op.any():
            lab = metrics_ref.srgb_to_oklab(out[op][:, :3])
            plab = metrics_ref.srgb_to_oklab(pal)
            k = np.argmin(((lab[:, None] - plab[None]) ** 2).sum(-1), axis=1)
            out[op, :3] = pal[k]
    durs = c["timing"]["durations_ms"] if len(c["timing"]["durations_ms"]) == n else [100] * n
    if outp.endswith("/") or os.path.isdir(outp):      # a folder of PNG frames
        from PIL import Image
        os.makedirs(outp, exist_ok=True)
        for t in range(n):
            Image.fromarray(out[t], "RGBA").save(os.path.join(outp, "frame_%04d.png" % t))
    else:
        encoders.write_gt(out, outp, durs)
    return 0


def main(argv):
    if argv[:1] == ["--version"]:
        print("oracle_pixelfix (tests/evalset)")
        return 0
    if argv[:1] == ["eval"]:
        return metrics_ref.main(argv[1:])
    inp, outp = None, None
    pal = "--oracle-palette" in argv
    nearest = "--nearest" in argv
    if pal and nearest:
        sys.stderr.write("oracle: --oracle-palette and --nearest exclude each other\n")
        return 2
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-o":
            outp = argv[i + 1]
            i += 2
            continue
        if not a.startswith("-"):
            inp = a
        i += 1
    if not inp or not outp:
        sys.stderr.write("usage: oracle_pixelfix.py INPUT -o OUT.webp\n")
        return 2
    return restore(inp, outp, pal, nearest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
