#!/usr/bin/python3
"""metrics_ref.py - a numpy reference of the quality metrics defined in
docs/metrics.md, to cross-check `pixelfix eval` (the C implementation is
the one that reports figures). opaque: alpha >= 128; same colour: OKLab
distance < 0.04 (Bjorn Ottosson's matrices, L in 0..1); one integer
alignment (dx, dy) in [-1, 1]^2 for the whole clip, output pixel
(x + dx, y + dy) against GT (x, y), chosen to maximise acc; GT pixels the
shifted output does not cover count as wrong; frames compared index by
index over min(N_gt, N_out).

Usage: metrics_ref.py GT OUT [--json FILE]   (GIF/WebP by Pillow, or a PNG folder)
"""

import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev             # noqa: E402

ev.require_python_deps()
import numpy as np                # noqa: E402

SAME = 0.04


def srgb_to_oklab(rgb):
    """(..., 3) uint8 sRGB -> (..., 3) float OKLab (L 0..1)."""
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                   [0.2119034982, 0.6806995451, 0.1073969566],
                   [0.0883024619, 0.2817188376, 0.6299787005]])
    m2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                   [1.9779984951, -2.4285922050, 0.4505937099],
                   [0.0259040371, 0.7827717662, -0.8086757660]])
    lms = np.cbrt(lin @ m1.T)
    return lms @ m2.T


def _shifted(out, dx, dy, h, w):
    """Output pixels (x + dx, y + dy) laid on the GT grid (N, h, w, 4) and
    a coverage mask (h, w)."""
    n, oh, ow, _ = out.shape
    res = np.zeros((n, h, w, 4), np.uint8)
    cov = np.zeros((h, w), bool)
    ys, xs = np.arange(h) + dy, np.arange(w) + dx
    vy, vx = (ys >= 0) & (ys < oh), (xs >= 0) & (xs < ow)
    if vy.any() and vx.any():
        gy, gx = np.where(vy)[0], np.where(vx)[0]
        res[:, gy[0]:gy[-1] + 1, gx[0]:gx[-1] + 1] = out[:, ys[vy][0]:ys[vy][-1] + 1,
                                                          xs[vx][0]:xs[vx][-1] + 1]
        cov[gy[0]:gy[-1] + 1, gx[0]:gx[-1] + 1] = True
    return res, cov


def _edges(op, lab):
    """Horizontal and vertical pixel-boundary edges (N, h, w-1), (N, h-1, w)."""
    def diff(a_op, b_op, a_lab, b_lab):
        col = np.linalg.norm(a_lab - b_lab, axis=-1) >= SAME
        return (a_op != b_op) | (a_op & b_op & col)
    eh = diff(op[:, :, :-1], op[:, :, 1:], lab[:, :, :-1], lab[:, :, 1:])
    ev_ = diff(op[:, :-1, :], op[:, 1:, :], lab[:, :-1, :], lab[:, 1:, :])
    return eh, ev_


def compute(gt, out):
    """gt (N, H, W, 4), out (M, H', W', 4) uint8 -> dict of docs/metrics.md."""
    n = min(len(gt), len(out))
    h, w = gt.shape[1:3]
    g = gt[:n]
    g_op = g[..., 3] >= 128
    g_lab = srgb_to_oklab(g[..., :3])
    best = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            o, cov = _shifted(out[:n], dx, dy, h, w)
            o_op = (o[..., 3] >= 128) & cov
            same = (np.linalg.norm(srgb_to_oklab(o[..., :3]) - g_lab, axis=-1) < SAME) & cov
            right = np.where(g_op, o_op & same, ~o_op & cov)
            acc = right.mean()
            if best is None or acc > best[0]:
                best = (acc, dx, dy, o, cov, o_op, same, right)
    acc, dx, dy, o, cov, o_op, same, right = best
    r = {"size_ok": int(gt.shape[1:3] == out.shape[1:3] and len(gt) == len(out)),
         "acc": float(acc), "dx": dx, "dy": dy, "frames_gt": len(gt), "frames_out": len(out)}
    r["acc_opaque"] = float(same[g_op].mean()) if g_op.any() else 1.0
    union = (g_op | o_op).sum()
    r["alpha_iou"] = float((g_op & o_op).sum() / union) if union else 1.0
    mask = g_op & cov
    if mask.any():
        mse = ((g[..., :3].astype(float) - o[..., :3]) ** 2)[mask].mean()
        r["psnr"] = 99.0 if mse == 0 else float(min(99.0, 10 * np.log10(255.0 ** 2 / mse)))
    else:
        r["psnr"] = 0.0
    o_lab = srgb_to_oklab(o[..., :3])
    tp = fp = fn = 0
    for eg, eo in zip(_edges(g_op, g_lab), _edges(o_op, o_lab)):
        tp += int((eg & eo).sum())
        fp += int((~eg & eo).sum())
        fn += int((eg & ~eo).sum())
    r["edge_f1"] = 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    if n > 1:
        g_eq = np.where(g_op[1:] & g_op[:-1], (g[1:] == g[:-1]).all(-1),
                        ~g_op[1:] & ~g_op[:-1])
        o_eq = np.where(o_op[1:] & o_op[:-1], (o[1:] == o[:-1]).all(-1),
                        ~o_op[1:] & ~o_op[:-1])
        r["flicker"] = float((g_eq & ~o_eq).sum() / g_eq.sum()) if g_eq.any() else 0.0
    else:
        r["flicker"] = 0.0
    r["perfect_frames"] = float((right.reshape(n, -1).mean(1) >= 0.995).mean())
    oc = np.unique(out[out[..., 3] >= 128][:, :3], axis=0)
    gc = np.unique(gt[gt[..., 3] >= 128][:, :3], axis=0)
    r["colors_out"], r["colors_gt"] = int(len(oc)), int(len(gc))
    if len(oc) and len(gc):
        d = np.linalg.norm(srgb_to_oklab(oc)[:, None] - srgb_to_oklab(gc)[None], axis=-1)
        r["palette_de"] = float(0.5 * (d.min(1).mean() + d.min(0).mean()))
    else:
        r["palette_de"] = 0.0 if len(oc) == len(gc) else 1.0
    return r


def load_frames(path):
    """A GIF/WebP (Pillow) or a folder of PNG frames in name order -> a list
    of (H, W, 4) uint8 frames (a folder's frames may differ in size)."""
    import os
    from PIL import Image
    import containers
    if os.path.isdir(path):
        names = sorted(f for f in os.listdir(path) if f.lower().endswith(".png"))
        return [np.array(Image.open(os.path.join(path, f)).convert("RGBA")) for f in names]
    return list(containers.read_anim(path)[0])


def load(path):
    """load_frames as one (N, H, W, 4) uint8 array."""
    return np.stack(load_frames(path))


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="reference docs/metrics.md scorer")
    ap.add_argument("gt")
    ap.add_argument("out")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    r = compute(load(a.gt), load(a.out))
    if a.json:
        ev.write_json(a.json, r)
    print(ev.dumps(r), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
