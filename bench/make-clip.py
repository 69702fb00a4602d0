#!/usr/bin/python3
"""make-clip.py - a fixed benchmark clip: a bundled sample's ground truth,
tiled and nearest-upscaled by a non-integer factor onto a WxH canvas, moving
by whole native pixels, encoded with libx264 yuv420p.
Usage: make-clip.py GT.webp OUT.mp4 WIDTH HEIGHT FRAMES"""
import subprocess, sys
from PIL import Image

gt, out, W, H, N = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
im = Image.open(gt)
frames = []
for i in range(im.n_frames):
    im.seek(i)
    frames.append(im.convert("RGBA"))
nw, nh = frames[0].size
scale = H / (nh * 2.6)                     # about 2.6 sprites tall: a non-integer scale
cols, rows = int(W / (nw * scale)) + 2, 3
ff = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                       "-s", f"{W}x{H}", "-r", "24", "-i", "-", "-c:v", "libx264", "-crf", "23",
                       "-pix_fmt", "yuv420p", out], stdin=subprocess.PIPE)
for t in range(N):
    canvas = Image.new("RGBA", (nw * cols, nh * rows), (236, 236, 232, 255))
    spr = frames[t % len(frames)]
    for r in range(rows):
        for c in range(cols):
            canvas.alpha_composite(spr, ((c * nw + t // 3) % (nw * cols), r * nh))
    big = canvas.resize((round(nw * cols * scale), round(nh * rows * scale)), Image.NEAREST)
    ff.stdin.write(big.crop((0, 0, W, H)).convert("RGB").tobytes())
ff.stdin.close()
sys.exit(ff.wait())
