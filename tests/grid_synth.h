/* grid_synth.h - synthetic pixel art for the grid tests: random sprites at
 * native resolution, upscaled by any scale at any phase with nearest,
 * bilinear or bicubic (Keys a = -0.5) resampling, Gaussian blur, noise,
 * JPEG / H.264 round trips through the ffmpeg CLI and lossy WebP round trips
 * through libwebp. Test-only; not a library. */
#ifndef PF_GRID_SYNTH_H
#define PF_GRID_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/encode.h>

#include "testutil.h"
#include "base/common.h"

enum { GS_NEAREST = 0, GS_BILINEAR = 1, GS_BICUBIC = 2 };

static inline int gs_randi(uint64_t *s, int lo, int hi) /* lo..hi inclusive */
{
    return lo + (int)(tu_uniform(s) * (hi - lo + 1));
}

static inline void gs_put(uint8_t *img, int w, int x, int y, const uint8_t c[4])
{
    memcpy(img + ((size_t)y * w + x) * 4, c, 4);
}

/* A random sprite (h, w, 4) RGBA8: a background (transparent when bg is
 * NULL), then filled rectangles and ellipses from a small palette, outlines,
 * single-pixel details and a dithered patch. */
static inline void gs_sprite(uint64_t *s, int w, int h, const uint8_t *bg, uint8_t *img)
{
    uint8_t pal[8][4];
    int npal = gs_randi(s, 3, 7), i, x, y, k, nshape;
    uint8_t *mask = calloc((size_t)w * h, 1);

    for (i = 0; i < npal; i++) {
        int ok = 0, tries = 0;
        while (!ok && tries++ < 50) {
            int j;
            for (k = 0; k < 3; k++) pal[i][k] = (uint8_t)gs_randi(s, 0, 255);
            pal[i][3] = 255;
            ok = 1;
            for (j = 0; j < i; j++) {
                int d = abs(pal[i][0] - pal[j][0]) + abs(pal[i][1] - pal[j][1]) + abs(pal[i][2] - pal[j][2]);
                if (d < 90) ok = 0;
            }
            if (bg) {
                int d = abs(pal[i][0] - bg[0]) + abs(pal[i][1] - bg[1]) + abs(pal[i][2] - bg[2]);
                if (d < 90) ok = 0;
            }
        }
    }
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            uint8_t c[4] = {0, 0, 0, 0};
            if (bg) { c[0] = bg[0]; c[1] = bg[1]; c[2] = bg[2]; c[3] = 255; }
            gs_put(img, w, x, y, c);
        }
    nshape = gs_randi(s, 3, 9);
    for (i = 0; i < nshape; i++) {
        int cx = gs_randi(s, w / 6, w - 1 - w / 6), cy = gs_randi(s, h / 6, h - 1 - h / 6);
        int rx = gs_randi(s, 1, w / 3 + 1), ry = gs_randi(s, 1, h / 3 + 1);
        int ell = gs_randi(s, 0, 1);
        const uint8_t *c = pal[gs_randi(s, 1, npal - 1)];
        for (y = cy - ry; y <= cy + ry; y++)
            for (x = cx - rx; x <= cx + rx; x++) {
                double dx = (double)(x - cx) / (rx + 0.5), dy = (double)(y - cy) / (ry + 0.5);
                if (x < 1 || y < 1 || x >= w - 1 || y >= h - 1) continue;
                if (ell && dx * dx + dy * dy > 1.0) continue;
                gs_put(img, w, x, y, c);
                mask[(size_t)y * w + x] = 1;
            }
    }
    /* outline in colour 0 around the union of the shapes */
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            if (mask[(size_t)y * w + x]) continue;
            if ((x > 0 && mask[(size_t)y * w + x - 1] == 1) || (x < w - 1 && mask[(size_t)y * w + x + 1] == 1) ||
                (y > 0 && mask[(size_t)(y - 1) * w + x] == 1) || (y < h - 1 && mask[(size_t)(y + 1) * w + x] == 1)) {
                gs_put(img, w, x, y, pal[0]);
                mask[(size_t)y * w + x] = 2;
            }
        }
    /* details: single pixels and a small dithered patch inside the shapes */
    for (i = 0; i < (w * h) / 60; i++) {
        x = gs_randi(s, 0, w - 1); y = gs_randi(s, 0, h - 1);
        if (mask[(size_t)y * w + x] == 1) gs_put(img, w, x, y, pal[gs_randi(s, 0, npal - 1)]);
    }
    {
        int px0 = gs_randi(s, 0, w - 4), py0 = gs_randi(s, 0, h - 4);
        const uint8_t *c = pal[gs_randi(s, 1, npal - 1)];
        for (y = py0; y < py0 + 4; y++)
            for (x = px0; x < px0 + 4; x++)
                if (mask[(size_t)y * w + x] == 1 && ((x + y) & 1)) gs_put(img, w, x, y, c);
    }
    free(mask);
}

/* Keys cubic convolution kernel, a = -0.5. */
static inline double gs_keys(double t)
{
    t = fabs(t);
    if (t < 1) return (1.5 * t - 2.5) * t * t + 1;
    if (t < 2) return ((-0.5 * t + 2.5) * t - 4) * t + 2;
    return 0;
}

/* Upscales src (sh, sw, 4) to dst (dh, dw, 4): native pixel j covers
 * [ox + j*sx, ox + (j+1)*sx) in output pixels (sx, sy may differ; the
 * irregular variant passes boundary tables xb/yb instead, see
 * gs_upscale_bounds). Interpolation on premultiplied RGBA, clamped edges. */
static inline void gs_upscale(const uint8_t *src, int sw, int sh, double sx, double sy,
                              double ox, double oy, int kernel, uint8_t *dst, int dw, int dh)
{
    int x, y, c, i, j;
    for (y = 0; y < dh; y++)
        for (x = 0; x < dw; x++) {
            double u = (x + 0.5 - ox) / sx, v = (y + 0.5 - oy) / sy;
            double acc[4] = {0, 0, 0, 0};
            uint8_t *d = dst + ((size_t)y * dw + x) * 4;
            if (kernel == GS_NEAREST) {
                int ju = pfi_clampi((int)floor(u), 0, sw - 1), jv = pfi_clampi((int)floor(v), 0, sh - 1);
                memcpy(d, src + ((size_t)jv * sw + ju) * 4, 4);
                continue;
            }
            {
                double uu = u - 0.5, vv = v - 0.5, wsum = 0;
                int u0 = (int)floor(uu), v0 = (int)floor(vv), r = kernel == GS_BILINEAR ? 1 : 2;
                for (j = v0 - r + 1; j <= v0 + r; j++)
                    for (i = u0 - r + 1; i <= u0 + r; i++) {
                        double wu = kernel == GS_BILINEAR ? 1 - fabs(uu - i) : gs_keys(uu - i);
                        double wv = kernel == GS_BILINEAR ? 1 - fabs(vv - j) : gs_keys(vv - j);
                        const uint8_t *p = src + ((size_t)pfi_clampi(j, 0, sh - 1) * sw + pfi_clampi(i, 0, sw - 1)) * 4;
                        double wt = wu * wv, a = p[3] / 255.0;
                        for (c = 0; c < 3; c++) acc[c] += wt * p[c] * a;
                        acc[3] += wt * p[3];
                        wsum += wt;
                    }
                for (c = 0; c < 4; c++) acc[c] /= wsum;
                if (acc[3] > 0.5) for (c = 0; c < 3; c++) acc[c] = acc[c] * 255.0 / acc[3];
                else acc[0] = acc[1] = acc[2] = 0;
                for (c = 0; c < 4; c++) d[c] = (uint8_t)pfi_clampi((int)lrint(acc[c]), 0, 255);
            }
        }
}

/* Nearest upscale with explicit boundaries: native column j covers
 * [xb[j], xb[j+1]) (sw + 1 entries), row j [yb[j], yb[j+1]). */
static inline void gs_upscale_bounds(const uint8_t *src, int sw, int sh, const double *xb,
                                     const double *yb, uint8_t *dst, int dw, int dh)
{
    int x, y, ju = 0, jv = 0;
    for (y = 0; y < dh; y++) {
        double v = y + 0.5;
        jv = 0;
        while (jv < sh - 1 && v >= yb[jv + 1]) jv++;
        for (x = 0; x < dw; x++) {
            double u = x + 0.5;
            if (x == 0) ju = 0;
            while (ju < sw - 1 && u >= xb[ju + 1]) ju++;
            memcpy(dst + ((size_t)y * dw + x) * 4, src + ((size_t)jv * sw + ju) * 4, 4);
        }
    }
}

/* Separable Gaussian blur (sigma in pixels) of straight RGBA, in place. */
static inline void gs_blur(uint8_t *img, int w, int h, double sigma)
{
    int r = (int)ceil(3 * sigma), x, y, c, k, n = w > h ? w : h;
    double *kern, *line, ksum = 0;
    if (sigma <= 0.05) return;
    kern = malloc(sizeof(double) * (2 * r + 1));
    line = malloc(sizeof(double) * (size_t)n * 4);
    for (k = -r; k <= r; k++) ksum += kern[k + r] = exp(-0.5 * k * k / (sigma * sigma));
    for (k = 0; k <= 2 * r; k++) kern[k] /= ksum;
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++)
            for (c = 0; c < 4; c++) {
                double a = 0;
                for (k = -r; k <= r; k++) a += kern[k + r] * img[((size_t)y * w + pfi_clampi(x + k, 0, w - 1)) * 4 + c];
                line[x * 4 + c] = a;
            }
        for (x = 0; x < w * 4; x++) img[(size_t)y * w * 4 + x] = (uint8_t)lrint(line[x]);
    }
    for (x = 0; x < w; x++) {
        for (y = 0; y < h; y++)
            for (c = 0; c < 4; c++) {
                double a = 0;
                for (k = -r; k <= r; k++) a += kern[k + r] * img[((size_t)pfi_clampi(y + k, 0, h - 1) * w + x) * 4 + c];
                line[y * 4 + c] = a;
            }
        for (y = 0; y < h; y++)
            for (c = 0; c < 4; c++) img[((size_t)y * w + x) * 4 + c] = (uint8_t)lrint(line[y * 4 + c]);
    }
    free(kern);
    free(line);
}

/* Adds uniform noise of +-amp (0..255) to RGB. */
static inline void gs_noise(uint64_t *s, uint8_t *img, int w, int h, int amp)
{
    size_t i;
    for (i = 0; i < (size_t)w * h * 4; i++)
        if ((i & 3) != 3) img[i] = (uint8_t)pfi_clampi(img[i] + gs_randi(s, -amp, amp), 0, 255);
}

/* Composites straight RGBA over an opaque colour. */
static inline void gs_flatten(uint8_t *img, int w, int h, const uint8_t bg[3])
{
    size_t i;
    int c;
    for (i = 0; i < (size_t)w * h; i++) {
        uint8_t *p = img + i * 4;
        for (c = 0; c < 3; c++) p[c] = (uint8_t)((p[c] * p[3] + bg[c] * (255 - p[3]) + 127) / 255);
        p[3] = 255;
    }
}

/* Round trip through a real encoder with the ffmpeg CLI: codec 0 = JPEG
 * (mjpeg, -q:v quality 2..31), 1 = H.264 (libx264 yuv420p, -crf quality).
 * The frame is edge-padded to even size for 4:2:0 and cropped back.
 * Returns 0 on success. */
static inline int gs_compress(uint8_t *img, int w, int h, int codec, int quality, const char *dir)
{
    char in[4200], out[4200], cmd[9000];
    int pw = (w + 1) & ~1, ph = (h + 1) & ~1, x, y, rc = -1;
    uint8_t *pad = malloc((size_t)pw * ph * 4);
    FILE *f;
    snprintf(in, sizeof in, "%s/in.rgba", dir);
    snprintf(out, sizeof out, "%s/out.rgba", dir);
    for (y = 0; y < ph; y++)
        for (x = 0; x < pw; x++)
            memcpy(pad + ((size_t)y * pw + x) * 4, img + ((size_t)(y < h ? y : h - 1) * w + (x < w ? x : w - 1)) * 4, 4);
    f = fopen(in, "wb");
    if (!f) goto done;
    fwrite(pad, 4, (size_t)pw * ph, f);
    fclose(f);
    if (codec == 0)
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt rgba -s %dx%d -i '%s' "
                 "-c:v mjpeg -pix_fmt yuvj420p -q:v %d -f mjpeg - | "
                 "ffmpeg -nostdin -loglevel error -y -f mjpeg -i - -f rawvideo -pix_fmt rgba '%s'",
                 pw, ph, in, quality, out);
    else
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt rgba -s %dx%d -i '%s' "
                 "-c:v libx264 -preset veryfast -pix_fmt yuv420p -crf %d -f h264 - | "
                 "ffmpeg -nostdin -loglevel error -y -f h264 -i - -f rawvideo -pix_fmt rgba '%s'",
                 pw, ph, in, quality, out);
    if (system(cmd) != 0) goto done;
    f = fopen(out, "rb");
    if (!f) goto done;
    if (fread(pad, 4, (size_t)pw * ph, f) == (size_t)pw * ph) rc = 0;
    fclose(f);
    for (y = 0; y < h && rc == 0; y++) memcpy(img + (size_t)y * w * 4, pad + (size_t)y * pw * 4, (size_t)w * 4);
done:
    free(pad);
    return rc;
}

/* Round trip through lossy WebP (VP8: 4:2:0, 4x4 transforms, 16x16
 * macroblocks) with libwebp's simple API at quality 0..100, decoded with
 * its default (fancy, smooth) chroma upsampling, as a browser or
 * WebPAnimDecoder shows it. Returns 0 on success. */
static inline int gs_webp(uint8_t *img, int w, int h, float quality)
{
    uint8_t *enc = NULL, *dec;
    size_t n = WebPEncodeRGBA(img, w, h, w * 4, quality, &enc);
    int dw = 0, dh = 0, rc = -1;
    if (n == 0) return -1;
    dec = WebPDecodeRGBA(enc, n, &dw, &dh);
    if (dec && dw == w && dh == h) {
        memcpy(img, dec, (size_t)w * h * 4);
        rc = 0;
    }
    WebPFree(dec);
    WebPFree(enc);
    return rc;
}

/* Number of cells [o + j*s, o + (j+1)*s) overlapping [0, n) by at least half
 * a cell; *margin gets the smallest distance of any overlap to s/2. With
 * quant (nearest rendering) a boundary b is where pixels change, at
 * ceil(b - 0.5). */
static inline int gs_half_cells(double s, double o, int n, int quant, double *margin)
{
    int j, cnt = 0;
    double m = 1e9;
    for (j = (int)floor(-o / s) - 2; o + j * s < n + s; j++) {
        double a = o + j * s, b = a + s, ov;
        if (quant) { a = ceil(a - 0.5); b = ceil(b - 0.5); }
        if (a < 0) a = 0;
        if (b > n) b = n;
        ov = b - a;
        if (ov >= s / 2) cnt++;
        if (fabs(ov - s / 2) < m) m = fabs(ov - s / 2);
    }
    *margin = m;
    return cnt;
}

/* Smooth "photo": coloured Gaussian blobs, mildly noisy; no pixel grid. */
static inline void gs_photo(uint64_t *rng, uint8_t *img, int w, int h)
{
    double cx[30], cy[30], r[30], col[30][3];
    int k, x, y, c;
    for (k = 0; k < 30; k++) {
        cx[k] = tu_uniform(rng) * w;
        cy[k] = tu_uniform(rng) * h;
        r[k] = 10 + 60 * tu_uniform(rng);
        for (c = 0; c < 3; c++) col[k][c] = tu_uniform(rng) * 2 - 1;
    }
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            double v[3] = {128, 128, 128};
            for (k = 0; k < 30; k++) {
                double e = 80 * exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) / (r[k] * r[k]));
                for (c = 0; c < 3; c++) v[c] += e * col[k][c];
            }
            for (c = 0; c < 3; c++) img[((size_t)y * w + x) * 4 + c] = (uint8_t)pfi_clampi((int)v[c], 0, 255);
            img[((size_t)y * w + x) * 4 + 3] = 255;
        }
    gs_noise(rng, img, w, h, 2);
}

/* Antialiased discs: smooth vector art, not pixel art; no pixel grid. */
static inline void gs_discs(uint64_t *rng, uint8_t *img, int w, int h)
{
    int k, x, y, c;
    memset(img, 230, (size_t)w * h * 4);
    for (k = 0; k < 20; k++) {
        double cx = tu_uniform(rng) * w, cy = tu_uniform(rng) * h, r = 5 + 40 * tu_uniform(rng);
        int col[3] = {gs_randi(rng, 0, 255), gs_randi(rng, 0, 255), gs_randi(rng, 0, 255)};
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                double d = sqrt((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy)) - r;
                double a = d < -0.5 ? 1 : d > 0.5 ? 0 : 0.5 - d;
                uint8_t *p = img + ((size_t)y * w + x) * 4;
                for (c = 0; c < 3; c++) p[c] = (uint8_t)lrint(p[c] * (1 - a) + col[c] * a);
                p[3] = 255;
            }
    }
}

#endif /* PF_GRID_SYNTH_H */
