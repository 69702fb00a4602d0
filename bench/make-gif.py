#!/usr/bin/python3
"""make-gif.py - a fixed small benchmark GIF: the middle SIZE x SIZE native
pixels of a bundled sample's ground truth over a solid background,
nearest-upscaled by a whole SCALE, cycled to FRAMES frames of 100 ms. Exact
colours (well under 256), one palette per frame, looping forever.
Usage: make-gif.py GT.webp OUT.gif SIZE SCALE FRAMES"""
import sys
from PIL import Image

gt, out, S, k, N = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
im = Image.open(gt)
frames = []
for i in range(im.n_frames):
    im.seek(i)
    f = im.convert("RGBA")
    x0, y0 = (f.width - S) // 2, (f.height - S) // 2
    bg = Image.new("RGBA", (S, S), (40, 44, 62, 255))
    bg.alpha_composite(f.crop((x0, y0, x0 + S, y0 + S)))
    frames.append(bg.convert("RGB").resize((S * k, S * k), Image.NEAREST))
seq = [frames[t % len(frames)].convert("P", palette=Image.ADAPTIVE, colors=255) for t in range(N)]
seq[0].save(out, format="GIF", save_all=True, append_images=seq[1:], duration=100, loop=0,
            optimize=False, disposal=1)
