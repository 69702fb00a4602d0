"""degrade.py - renders clean native-resolution RGBA frames into degraded
input frames, in float numpy at input resolution, as shared/METRICS.md
lists: scale with a sub-cell grid phase, nearest / bilinear / bicubic
resampling (premultiplied alpha), sub-pixel jitter, solid / gradient /
noisy backgrounds, Gaussian blur, gamma and additive noise.
Not an encoder (encoders.py) and not a case sampler (build.py).

Geometry: native pixel i covers input pixels [(i + o) * s, (i + 1 + o) * s)
where s is the scale (input px per native px) and o = phase + jitter_t the
grid origin offset in native px. Input pixel x samples the native image at
u = (x + 0.5) / s - o; outside the native image everything is transparent.
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


def compose_frame(native, p, bg, jitter_xy, rng):
    """One degraded input frame from one native frame.
    native (H, W, 4) uint8; p: case parameters (scale, phase, canvas,
    resampling, cubic_a, blur, gamma, noise, background.type); bg
    (ch, cw, 3) float or None for a transparent background.
    Returns (ch, cw, 4) uint8 RGBA (alpha 255 when bg is given)."""
    s = p["scale"]
    off = (p["phase"][0] + jitter_xy[0], p["phase"][1] + jitter_xy[1])
    pm = render_sprite(native, s, off, p["canvas"], p["resampling"], p.get("cubic_a", -0.5))
    sigma = p["blur"] * s                         # native px -> input px
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
