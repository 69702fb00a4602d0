#!/usr/bin/python3
"""wild.py - scores a restore of a real clip that has no ground truth
(shared/wild/, users' clips) by its behaviour, as docs/metrics.md "Real
clips without ground truth" defines:

  sizes        distinct output frame sizes (must be 1)
  steadiness   over consecutive output frames, the share of sprite pixels
               (alpha >= 128 in either frame) whose RGBA changes, pooled
               over all pairs of frames
  box          the same share for a box-filter resize of the input frames
               to the output size (Pillow's Image.BOX: area average), where
               a pixel counts as changed when any channel moves by more than
               24. A restorer whose motion is whole-pixel comes out below it
  colours      distinct opaque (alpha >= 128) output colours

The box figure's sprite pixels come from the resized input's alpha when
the input has transparency. An opaque input (MP4, most AI clips) cannot
tell sprite from background, so the restored output's alpha mask of the
same frames is used instead (frame t of the input against frame t of the
output). When the frame counts differ (--dedupe, merged WebP frames),
only the first min(N_in, N_out) frames pair up: say so, and compare with
care. Pairs of output frames of different sizes are left out of
steadiness.

Usage: wild.py INPUT OUTPUT [--json FILE]
  INPUT: any clip oracle_pixelfix.decode reads (GIF / WebP by Pillow, the
  rest through the ffmpeg CLI); OUTPUT: a folder of PNG frames, a GIF or
  an animated WebP.
"""

import argparse
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev             # noqa: E402

ev.require_python_deps()
import numpy as np                # noqa: E402
from PIL import Image             # noqa: E402

import metrics_ref                # noqa: E402
import oracle_pixelfix            # noqa: E402

BOX_MOVE = 24                     # docs/metrics.md: "moves by more than 24"


def steadiness(frames):
    """(changed, sprite pixels) over consecutive same-size output frames:
    sprite = alpha >= 128 in either frame, changed = any RGBA differs."""
    changed = sprite = 0
    for a, b in zip(frames[:-1], frames[1:]):
        if a.shape != b.shape:
            continue
        m = (a[..., 3] >= 128) | (b[..., 3] >= 128)
        changed += int(((a != b).any(-1) & m).sum())
        sprite += int(m.sum())
    return changed, sprite


def box_steadiness(inp, out, size):
    """(changed, sprite pixels, mask source) of the input frames box-resized
    to size (W, H); a pixel changed when a channel moves by more than
    BOX_MOVE. The mask is the resized input's alpha, or for an opaque input
    the output's alpha of the same frames."""
    opaque = bool((inp[..., 3] == 255).all())
    n = min(len(inp), len(out)) if opaque else len(inp)
    box = [np.array(Image.fromarray(f, "RGBA").resize(size, Image.BOX)) for f in inp[:n]]
    changed = sprite = 0
    for t in range(1, n):
        if opaque:
            if out[t - 1].shape[:2] != (size[1], size[0]) or out[t].shape != out[t - 1].shape:
                continue
            m = (out[t - 1][..., 3] >= 128) | (out[t][..., 3] >= 128)
        else:
            m = (box[t - 1][..., 3] >= 128) | (box[t][..., 3] >= 128)
        moved = (np.abs(box[t].astype(np.int16) - box[t - 1]) > BOX_MOVE).any(-1)
        changed += int((moved & m).sum())
        sprite += int(m.sum())
    return changed, sprite, "output alpha" if opaque else "input alpha"


def score(inp_path, out_path):
    inp = oracle_pixelfix.decode(inp_path)
    out = metrics_ref.load_frames(out_path)
    if not out:
        raise ValueError("no output frames in %s" % out_path)
    sizes = sorted({(f.shape[1], f.shape[0]) for f in out})
    # the most common size, should there be several
    size = max(sizes, key=lambda s: sum(1 for f in out if (f.shape[1], f.shape[0]) == s))
    ch, sp = steadiness(out)
    bch, bsp, mask = box_steadiness(inp, out, size)
    ops = [f[f[..., 3] >= 128][:, :3] for f in out]
    colours = len(np.unique(np.concatenate(ops), axis=0)) if ops else 0
    return {"input": inp_path, "output": out_path,
            "frames_in": int(len(inp)), "frames_out": len(out),
            "input_size": [int(inp.shape[2]), int(inp.shape[1])],
            "sizes": len(sizes), "size": list(size),
            "steadiness": ch / sp if sp else 0.0, "sprite_pixels": sp,
            "box_steadiness": bch / bsp if bsp else 0.0, "box_sprite_pixels": bsp,
            "box_mask": mask, "colours": int(colours)}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output", help="a folder of PNG frames, a GIF or an animated WebP")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    r = score(a.input, a.output)
    paired = r["frames_in"] != r["frames_out"] and r["box_mask"] == "output alpha"
    print("frames      %d in, %d out%s" % (r["frames_in"], r["frames_out"],
                                           " (the box figure pairs the first %d)"
                                           % min(r["frames_in"], r["frames_out"])
                                           if paired else ""))
    print("sizes       %d (%dx%d; input %dx%d)" % (r["sizes"], r["size"][0], r["size"][1],
                                                  r["input_size"][0], r["input_size"][1]))
    print("steadiness  %.4f of sprite pixels change between frames" % r["steadiness"])
    print("box resize  %.4f (moves > %d; sprite mask: %s)" % (r["box_steadiness"], BOX_MOVE,
                                                              r["box_mask"]))
    print("colours     %d" % r["colours"])
    if a.json:
        ev.write_json(a.json, r)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
