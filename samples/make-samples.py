#!/usr/bin/python3
"""make-samples.py - rebuilds the degraded sample clips in samples/ and
their ground truth from Debian packages (shared/DATA.md), with the same
renderer and real encoders as the evaluation set (tests/evalset/build.py):

  <name>.<gif|webp|mp4>   the degraded clip, input for pixelfix
  <name>.gt.webp          lossless ground truth, one frame per input frame
  <name>.json             every parameter used (tests/evalset/run.py reads it)

Deterministic: the same files on every run with the same ffmpeg/libwebp.
Needs network once for `apt-get download` (tests/evalset/fetch.py caches
the packages in tests/data/cache/). Usage: samples/make-samples.py
"""

import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "evalset"))

import evcommon as ev         # noqa: E402

ev.require_python_deps()
import build                  # noqa: E402
import fetch                  # noqa: E402

SEED = 7

# name, animation id, kind, overrides (see build.make_params)
SAMPLES = [
    ("guy-exit", "whichwayisup/guy_exit", "gif_dither", {
        "pad_ltrb": [3, 3, 3, 3], "scale": 5.2, "phase": [0.31, -0.22],
        "resampling": "nearest", "blur": 0.0, "noise": 0.0, "gamma": 0.97,
        "background": {"type": "solid", "name": "magenta", "rgb": [255, 0, 255]},
        "codec": {"format": "gif", "encoder": "ffmpeg palettegen+paletteuse", "max_colors": 32,
                  "dither": "sierra2_4a", "bayer_scale": 2, "stats_mode": "full"}}),
    ("fire-flame", "minetest-data/fire_basic_flame", "bg_busy", {
        "pad_ltrb": [3, 3, 3, 3], "scale": 7.3, "phase": [-0.18, 0.27],
        "resampling": "nearest", "blur": 0.0, "noise": 1.0, "gamma": 1.0,
        "background": {"type": "gradient", "angle": 60.0,
                       "colours": [[28, 36, 72], [92, 60, 110], [200, 170, 120]]},
        "codec": {"format": "webp", "encoder": "ffmpeg libwebp_anim", "lossless": 0,
                  "quality": 75, "method": 4}}),
    ("guy-walk-video", "whichwayisup/guy_walking", "video_model", {
        "pad_ltrb": [4, 3, 4, 3], "scale": 6.3, "phase": [0.12, -0.37],
        "resampling": "bicubic", "blur": 0.12, "noise": 1.5, "gamma": 1.05,
        "jitter_amp": [0.3, 0.25], "hold": True, "video_frames": 36,
        "background": {"type": "solid", "name": "light grey", "rgb": [236, 236, 232]},
        "codec": {"format": "mp4", "encoder": "libx264", "pix_fmt": "yuv420p", "crf": 23,
                  "preset": "medium", "colorspace": "bt709"}}),
]


def main():
    ev.require_tools("ffmpeg", "ffprobe", "apt-get", "dpkg", "dpkg-deb")
    mpath = os.path.join(ev.CACHE, "clean", "manifest.json")
    need = sorted({a.split("/")[0] for _, a, _, _ in SAMPLES})
    have = ev.read_json(mpath)["packages"] if os.path.exists(mpath) else {}
    if any(p not in have for p in need):
        fetch.main(["--packages", ",".join(sorted(set(need) | set(have)))])
    manifest = ev.read_json(mpath)
    entries = {e["id"]: e for e in manifest["animations"]}
    clean_dir = os.path.join(ev.CACHE, "clean")
    for i, (name, aid, kind, ov) in enumerate(SAMPLES):
        e = entries[aid]
        p = build.make_params("samples", kind, i, e, SEED, overrides=ov, case_id=name)
        fmt = p["codec"]["format"]
        p["input"], p["gt"] = "%s.%s" % (name, fmt), "%s.gt.webp" % name
        clean = fetch.load_frames(clean_dir, e)
        build.render_case(p, clean, HERE)
        p["attribution"] = e.get("author")
        ev.write_json(os.path.join(HERE, name + ".json"), p)
        ev.log("samples: %-16s %s %dx%d, %d frames, %d bytes; gt %d bytes" % (
            p["input"], aid, p["canvas"][0], p["canvas"][1], p["frames"], p["input_bytes"],
            os.path.getsize(os.path.join(HERE, p["gt"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
