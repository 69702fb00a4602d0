"""degrade.py - renders clean native-resolution RGBA frames into degraded
input frames, in float numpy at input resolution, as docs/metrics.md
lists: scale with a sub-cell grid phase, nearest / bilinear / bicubic
resampling (premultiplied alpha), sub-pixel jitter, solid / gradient /
noisy / blob-field backgrounds, Gaussian blur, gamma and additive noise;
and the bent, wobbling lattice of the video_bent kind (render_sprite_bent).
Not an encoder (encoders.py) and not a case sampler (build.py).

Geometry: native pixel i covers input pixels [(i + o) * s, (i + 1 + o) * s)
where s is the scale (input px per native px) and o = phase + jitter_t the
grid origin offset in native px. Input pixel x samples the native image at
u = (x + 0.5) / s - o; outside the native image everything is transparent.
A bent lattice (case key "bend") also subtracts a smooth displacement
that depends on x, y and the frame (bend_displacement), exactly as
src/train/degrade.c does (pfi_degrade.bend in degrade.h).
"""

import math

import numpy as np


def _cubic(t, a):
    """Keys' cubic convolution kernel (a = -0.5 is Keys 1981 / Pillow)."""
    t = np.abs(t)
    t2, t3 = t * t, t * t * t
    return np.where(t <= 1, (a + 2) * t3 - (a + 3) * t2 + 1,
                    np.where(t < 2, a * t3 - 5 * a * t2 + 8 * a * t - 4 * a, 0.0))


def resample_matrix(n_out, n_in, scale, offset, mode, cubic_a=-0.5):
    """Weights (n_out, n_in): output pixel x = sum_i M[x, i] * native[i].
    scale: input px per native px (> 0); offset: grid origin in native px;
    mode: 'nearest' | 'bilinear' | 'bicubic'. Samples outside the native
    range get weight 0 (transparent)."""
    u = (np.arange(n_out) + 0.5) / scale - offset          # native coordinate
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode == "nearest":
        i = np.floor(u).astype(int)
        ok = (i >= 0) & (i < n_in)
        m[rows[ok], i[ok]] = 1.0
        return m
    c = u - 0.5                                              # sample centres at i + 0.5
    i0 = np.floor(c).astype(int)
    f = c - i0
    if mode == "bilinear":
        taps = [(0, 1 - f), (1, f)]
    elif mode == "bicubic":
        taps = [(k, _cubic(f - k, cubic_a)) for k in (-1, 0, 1, 2)]
    else:
        raise ValueError("unknown resampling %r" % mode)
    for k, w in taps:
        i = i0 + k
        ok = (i >= 0) & (i < n_in)
        np.add.at(m, (rows[ok], i[ok]), w[ok])
    return m


def render_sprite(native, scale, offset_xy, canvas_wh, mode, cubic_a=-0.5):
    """native (H, W, 4) uint8 RGBA -> premultiplied float RGBA at input
    resolution, (ch, cw, 4) in 0..1 (alpha clipped to 0..1, colour to
    0..alpha, since bicubic overshoots)."""
    h, w = native.shape[:2]
    cw, ch = canvas_wh
    a = native[..., 3:4].astype(np.float64) / 255.0
    pm = np.concatenate([native[..., :3] / 255.0 * a, a], axis=2)      # (H, W, 4)
    mx = resample_matrix(cw, w, scale, offset_xy[0], mode, cubic_a)    # (cw, W)
    my = resample_matrix(ch, h, scale, offset_xy[1], mode, cubic_a)    # (ch, H)
    tmp = np.tensordot(my, pm, axes=(1, 0))                            # (ch, W, 4)
    out = np.einsum("ywc,xw->yxc", tmp, mx)                           # (ch, cw, 4)
    out[..., 3] = np.clip(out[..., 3], 0.0, 1.0)
    out[..., :3] = np.clip(out[..., :3], 0.0, out[..., 3:4])
    return out


# ---- the bent lattice (video_bent) -------------------------------------------
#
# bend (case.json "bend"): amount (the largest local cell-size deviation),
# and per [axis x/y][mode 0/1] lambda (wavelength over the larger native
# side), dir (radians), phase (radians), speed (radians per output frame)
# and wobble (relative amplitude wobble). The same formula as bend_at in
# src/train/degrade.c, so the evaluation set and the trainer share one
# definition.


def bend_displacement(axis, X, Y, t, bend, side):
    """D_axis(X, Y, t) in native px, X and Y = input position / scale:
    the sum over the 2 modes m of A_m (1 + wobble sin(0.5 t + phase))
    sin(2 pi (X cos dir + Y sin dir) / L_m + phase + speed t), with
    L_m = lambda * side and A_m = amount L_m / (4 pi), so that each mode
    stretches or squeezes cells by at most amount / 2."""
    d = 0.0
    for m in range(2):
        lam = bend["lambda"][axis][m] * side
        amp = bend["amount"] * lam / (4.0 * math.pi)
        th, ph = bend["dir"][axis][m], bend["phase"][axis][m]
        d = d + amp * (1.0 + bend["wobble"][axis][m] * math.sin(0.5 * t + ph)) * \
            np.sin(2.0 * math.pi * (X * math.cos(th) + Y * math.sin(th)) / lam + ph
                   + bend["speed"][axis][m] * t)
    return d


def bent_coords(canvas_wh, scale, offset_xy, bend, side, t):
    """(u, v), each (ch, cw): the native coordinate of every input pixel
    centre in output frame t. u = X - o_x - D_x(X, Y, t), X = (x + 0.5) / s;
    v likewise. side: the larger native side (W or H, padding included)."""
    cw, ch = canvas_wh
    X = ((np.arange(cw) + 0.5) / scale)[None, :]
    Y = ((np.arange(ch) + 0.5) / scale)[:, None]
    u = X - offset_xy[0] - bend_displacement(0, X, Y, t, bend, side)
    v = Y - offset_xy[1] - bend_displacement(1, X, Y, t, bend, side)
    return u, v


def _taps(c, mode, cubic_a):
    """Kernel taps around native coordinates c (pixel centres at i + 0.5):
    (first native index, (len(c), K) weights of indices first .. first+K-1)."""
    if mode == "nearest":
        return np.floor(c).astype(np.int64), np.ones((len(c), 1))
    b = np.floor(c - 0.5)
    f = (c - 0.5 - b)[:, None]
    b = b.astype(np.int64)
    if mode == "bilinear":
        return b, np.concatenate([1.0 - f, f], axis=1)
    if mode == "bicubic":
        return b - 1, _cubic(f - np.arange(-1, 3), cubic_a)
    raise ValueError("unknown resampling %r" % mode)


def render_sprite_bent(native, scale, offset_xy, canvas_wh, mode, bend, t, cubic_a=-0.5):
    """render_sprite along frame t's bent lattice: every input pixel takes
    the kernel's taps around its own native coordinate (u, v), which is not
    separable. Same return value as render_sprite."""
    h, w = native.shape[:2]
    u, v = bent_coords(canvas_wh, scale, offset_xy, bend, max(w, h), t)
    out = np.zeros(u.shape + (4,))
    ys, xs = np.nonzero(native[..., 3])
    if len(ys) == 0:
        return out
    # Only input pixels within 2 native px of the drawn pixels' bounding box
    # can get a non-zero tap (the widest kernel reaches 2 px); the sprite
    # covers a small part of a video_bent canvas, so this saves most of it.
    sel = (u >= xs.min() - 2) & (u < xs.max() + 3) & (v >= ys.min() - 2) & (v < ys.max() + 3)
    iu, wu = _taps(u[sel], mode, cubic_a)
    iv, wv = _taps(v[sel], mode, cubic_a)
    k = wu.shape[1]
    # Every K x K block of the premultiplied image, with a border of B >= K
    # zeros: a block start clamped into the bordered image then reads only
    # zeros whenever the true block lies wholly outside (transparent), and
    # is exact otherwise. One gather of K*K*4 values per pixel.
    bd = 4
    a = native[..., 3:4].astype(np.float64) / 255.0
    pm = np.zeros((h + 2 * bd, w + 2 * bd, 4))
    pm[bd:-bd, bd:-bd] = np.concatenate([native[..., :3] / 255.0 * a, a], axis=2)
    blocks = np.lib.stride_tricks.sliding_window_view(pm, (k, k), axis=(0, 1))
    nbx = blocks.shape[1]
    blocks = blocks.transpose(0, 1, 3, 4, 2).reshape(-1, k * k, 4)       # [block][dy*k+dx][c]
    start = np.clip(iv + bd, 0, blocks.shape[0] // nbx - 1) * nbx + np.clip(iu + bd, 0, nbx - 1)
    wts = (wv[:, :, None] * wu[:, None, :]).reshape(-1, 1, k * k)
    out[sel] = (wts @ blocks[start])[:, 0]
    out[..., 3] = np.clip(out[..., 3], 0.0, 1.0)
    out[..., :3] = np.clip(out[..., :3], 0.0, out[..., 3:4])
    return out


# ---- backgrounds (ch, cw, 3) float 0..1 -------------------------------------


def bg_solid(canvas_wh, rgb):
    cw, ch = canvas_wh
    return np.broadcast_to(np.array(rgb, float) / 255.0, (ch, cw, 3)).copy()


def bg_gradient(canvas_wh, colours, angle_deg):
    """Linear gradient through the colours (list of (r, g, b) 0..255,
    evenly spaced stops) along the direction angle_deg."""
    cw, ch = canvas_wh
    y, x = np.mgrid[0:ch, 0:cw].astype(float)
    d = np.array([math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))])
    t = x * d[0] + y * d[1]
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
    stops = np.array(colours, float) / 255.0
    pos = t * (len(stops) - 1)
    k = np.minimum(np.floor(pos).astype(int), len(stops) - 2)
    f = (pos - k)[..., None]
    return stops[k] * (1 - f) + stops[k + 1] * f


def bg_noise(canvas_wh, base_rgb, blotch_amp, grain_sigma, cells, rng):
    """A static busy background: base colour + smooth colour blotches
    (a cells x cells random grid, bilinear) + per-pixel grain (sigma in
    0..1 units)."""
    cw, ch = canvas_wh
    grid = rng.normal(0.0, blotch_amp, (cells + 1, cells + 1, 3))
    gy = np.linspace(0, cells, ch)
    gx = np.linspace(0, cells, cw)
    my = resample_lin(gy, cells + 1)
    mx = resample_lin(gx, cells + 1)
    smooth = np.einsum("yi,ijc,xj->yxc", my, grid, mx)
    img = np.array(base_rgb, float) / 255.0 + smooth \
        + rng.normal(0.0, grain_sigma, (ch, cw, 3))
    return np.clip(img, 0.0, 1.0)


def bg_field(canvas_wh, blobs, t=0):
    """A busy background that is no plane (bg_field): a smooth field of
    several colour blobs covering the whole canvas. Blob i has a centre
    (cx, cy) in fractions of the canvas, a radius r in fractions of its
    diagonal, an sRGB colour (0..255) and a drift: the centre moves by
    `drift` (fraction of the canvas) along a circle of period `period`
    frames from angle `phase`. Each pixel mixes the blob colours with the
    normalised weights exp(-d_i^2 / (2 r_i^2)), so each blob holds a
    plateau of its colour and neighbours blend smoothly."""
    cw, ch = canvas_wh
    diag = math.hypot(cw, ch)
    y, x = np.mgrid[0:ch, 0:cw].astype(float) + 0.5
    logw, cols = [], []
    for b in blobs:
        ang = 2 * math.pi * t / b["period"] + b["phase"]
        cx = (b["centre"][0] + b["drift"] * math.cos(ang)) * cw
        cy = (b["centre"][1] + b["drift"] * math.sin(ang)) * ch
        r = b["radius"] * diag
        logw.append(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        cols.append(np.array(b["rgb"], float) / 255.0)
    logw = np.stack(logw)
    wts = np.exp(logw - logw.max(axis=0))
    wts /= wts.sum(axis=0)
    return np.einsum("kyx,kc->yxc", wts, np.stack(cols))


def resample_lin(pos, n):
    """(len(pos), n) linear-interpolation weights at fractional indices."""
    i0 = np.clip(np.floor(pos).astype(int), 0, n - 2)
    f = pos - i0
    m = np.zeros((len(pos), n))
    m[np.arange(len(pos)), i0] = 1 - f
    m[np.arange(len(pos)), i0 + 1] += f
    return m


# ---- whole-frame effects ------------------------------------------------------


def gaussian_blur(img, sigma):
    """Separable Gaussian blur of (H, W, C) float, sigma in pixels, edges
    replicated. sigma < 0.05 returns img unchanged."""
    if sigma < 0.05:
        return img
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    out = img
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for j, wj in enumerate(k):
            acc += wj * np.take(p, np.arange(j, j + n), axis=axis)
        out = acc
    return out


def jitter_track(n, amp, rng):
    """A smooth drift of n frames, |value| <= amp native px: two sines with
    random phases, periods of 24-64 and 9-20 frames."""
    if amp <= 0:
        return np.zeros(n)
    t = np.arange(n)
    p1, p2 = rng.uniform(24, 64), rng.uniform(9, 20)
    th1, th2 = rng.uniform(0, 2 * math.pi, 2)
    v = 0.7 * np.sin(2 * math.pi * t / p1 + th1) + 0.3 * np.sin(2 * math.pi * t / p2 + th2)
    return amp * v


def compose_frame(native, p, bg, jitter_xy, rng, t=0):
    """One degraded input frame from one native frame.
    native (H, W, 4) uint8; p: case parameters (scale, phase, canvas,
    resampling, cubic_a, blur, gamma, noise, background.type, and bend
    for a bent lattice); bg (ch, cw, 3) float or None for a transparent
    background; t: the output frame index (the bend moves with it).
    Returns (ch, cw, 4) uint8 RGBA (alpha 255 when bg is given)."""
    s = p["scale"]
    off = (p["phase"][0] + jitter_xy[0], p["phase"][1] + jitter_xy[1])
    sigma = p["blur"] * s                         # native px -> input px
    if p.get("bend"):
        # pfi_degrade_clip's order, which the bent kind was defined with:
        # blur the clipped premultiplied sprite, then composite over the
        # background, which C blurs only when it is a noise one (a blur
        # leaves a solid colour, and a linear ramp away from its stops, as
        # they are).
        pm = render_sprite_bent(native, s, off, p["canvas"], p["resampling"], p["bend"], t,
                                p.get("cubic_a", -0.5))
        pm = gaussian_blur(pm, sigma)
        if bg is not None and p["background"]["type"] == "noise":
            bg = gaussian_blur(bg, sigma)
        sigma = 0.0                               # done: the branches below must not blur again
    else:
        pm = render_sprite(native, s, off, p["canvas"], p["resampling"], p.get("cubic_a", -0.5))
    if bg is not None:
        rgb = pm[..., :3] + (1.0 - pm[..., 3:4]) * bg
        rgb = gaussian_blur(rgb, sigma)
        alpha = np.ones(rgb.shape[:2])
    else:
        pm = gaussian_blur(pm, sigma)
        alpha = pm[..., 3]
        rgb = np.where(alpha[..., None] > 1e-6, pm[..., :3] / np.maximum(alpha[..., None], 1e-6), 0.0)
    rgb = np.clip(rgb, 0.0, 1.0) ** p["gamma"]
    if p["noise"] > 0:
        rgb = rgb + rng.normal(0.0, p["noise"] / 255.0, rgb.shape)
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.clip(np.rint(rgb * 255.0), 0, 255)
    out[..., 3] = np.clip(np.rint(alpha * 255.0), 0, 255)
    if bg is None:
        out[out[..., 3] == 0, :3] = 0
    return out
