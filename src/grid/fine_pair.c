/*
 * fine_pair.c - a cell of 2-3.2 px that both axes show: the last chance for
 * a small upscale (a GIF or WebP resized 2-2.7x by a site, bilinear or
 * bicubic) that the regular detector and the candidates miss. Not the fit
 * of a grid (detect.c).
 *
 * Why a separate measure. A bilinear upscale by s is a triangle filter
 * whose transfer, sin^2(pi f s) / (pi f s)^2, is zero at the grid's own
 * frequency f = 1 / s: such a comb lives only in the edge magnitudes, and
 * at 2.2-2.4 px the detector's edge-location combs lose it (normalised
 * scores 1.2-2.1 at the true period on refused clips), while period.c's
 * trials start at 2.5 px. The plain magnitude of the first differences
 * keeps it. Per axis: the sum over frames and lines of |dR| + |dG| + |dB|
 * between neighbours (opaque pixels only); its spectrum under a Hann
 * window, divided by its running median (FINE_FLOOR_BINS resolution cells
 * wide), so a peak scores how far it stands over its neighbourhood. A
 * "fine pair" is a local maximum on x and one on y within FINE_SAME of each
 * other; its score is the smaller of the two. Art at its native size
 * (the evaluation set's ground-truth clips, 193 where it ran) gives no
 * pair on half of them, 1.6 at the 99th percentile and 2.1 at most; small
 * upscales that nothing else finds, 3-5.
 *
 * A lossy codec's square blocks, aligned to the frame origin, ring at
 * 16 / k px inside every block, in step on both axes: JPEG photos, noise
 * and a gradient gave pairs at 2.29, 2.67 and 3.2 px scoring 3-15, both
 * combs within 0.03 cell of the origin at the exact 16 / k. Such a pair at
 * a fraction 16 / k that is no whole number is left out when the two
 * axes' combs sit at the same phase, within FINE_CODEC_PHASE; a sprite
 * upscaled by that factor does so by chance (10 % of placements).
 */
#include "grid/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FINE_MIN_PERIOD 2.0    /* px: the smallest cell looked for ... */
#define FINE_MAX_PERIOD 3.2    /* ... and the largest (period.c's trials take over from 2.5) */
#define FINE_OVERSAMPLE 8      /* spectrum samples per resolution cell (1 / n cycles per px) */
#define FINE_FLOOR_BINS 12     /* resolution cells under the running median */
#define FINE_SAME 0.01         /* relative: x and y periods this close are one period */
#define FINE_MAX_FRAMES 8      /* frames summed */
#define FINE_CODEC_NEAR 0.01   /* relative: periods this close to 16 / k px ... */
#define FINE_CODEC_SHARE 0.67  /* ... score this share: a codec's comb needs half as much again */
#define FINE_CODEC_PHASE 0.05  /* cells: a comb at a fraction 16 / k with both axes' phases this close is the codec's */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The first-difference profile of axis (0: x, 1: y) over the frames:
 * prof[i] (n - 1 entries) sums |dR| + |dG| + |dB| between pixels i and
 * i + 1 along that axis, where both are opaque. */
static void diff_profile(const uint8_t *const *frames, int nf, int w, int h, int axis, double *prof)
{
    const int n = axis == 0 ? w : h, nl = axis == 0 ? h : w;
    const size_t step = axis == 0 ? 4 : (size_t)w * 4, lstep = axis == 0 ? (size_t)w * 4 : 4;
    memset(prof, 0, sizeof *prof * (size_t)(n - 1));
    for (int t = 0; t < nf; t++)
        for (int l = 0; l < nl; l++) {
            const uint8_t *p = frames[t] + (size_t)l * lstep;
            for (int i = 0; i + 1 < n; i++, p += step) {
                const uint8_t *q = p + step;
                if (p[3] < 255 || q[3] < 255) continue;
                prof[i] += abs(p[0] - q[0]) + abs(p[1] - q[1]) + abs(p[2] - q[2]);
            }
        }
}

/* The whitened spectrum of prof (m entries, overwritten) at nb
 * frequencies f0 + k df (cycles per px): |DFT| under a Hann window, over
 * its running median. raw, spec: nb floats; tmp: FINE_FLOOR_BINS *
 * FINE_OVERSAMPLE + 1. */
static void whitened_spectrum(double *prof, int m, double f0, double df, int nb, float *raw, float *spec,
                              float *tmp)
{
    double mean = 0;
    for (int i = 0; i < m; i++) mean += prof[i];
    mean /= m;
    for (int i = 0; i < m; i++) prof[i] = (prof[i] - mean) * (0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / m));
    for (int k = 0; k < nb; k++) {
        const double f = f0 + k * df, c = cos(2 * M_PI * f), sn = -sin(2 * M_PI * f);
        double re = 0, im = 0, zr = 1, zi = 0;   /* z = exp(-2 pi i f x), by rotation */
        for (int i = 0; i < m; i++) {
            const double v = prof[i], t = zr * c - zi * sn;
            re += v * zr;
            im += v * zi;
            zi = zr * sn + zi * c;
            zr = t;
        }
        raw[k] = (float)sqrt(re * re + im * im);
    }
    const int half = FINE_FLOOR_BINS * FINE_OVERSAMPLE / 2;
    for (int k = 0; k < nb; k++) {
        int c = 0;
        for (int j = k - half; j <= k + half; j++)
            if (j >= 0 && j < nb) tmp[c++] = raw[j];
        qsort(tmp, (size_t)c, sizeof *tmp, cmp_float);
        spec[k] = raw[k] / (tmp[c / 2] + 1e-6f);
    }
}

/* The frequency of the local maximum s[k] (samples f0 + k df), refined
 * by the parabola through it and its neighbours. */
static double peak_freq(const float *s, int k, double f0, double df)
{
    const double den = s[k - 1] - 2.0 * s[k] + s[k + 1];
    const double off = den < 0 ? 0.5 * (s[k - 1] - s[k + 1]) / den : 0;
    return f0 + (k + fmax(-0.5, fmin(0.5, off))) * df;
}

/* Where the lines of a comb of period per sit in a first-difference
 * profile prof (m entries, entry i the boundary at x = i + 1): the phase of
 * its Fourier coefficient at 1 / per, in cells from the frame origin,
 * 0..1. */
static double comb_phase(const double *prof, int m, double per)
{
    double re = 0, im = 0;
    for (int i = 0; i < m; i++) {
        re += prof[i] * cos(2 * M_PI * (i + 1) / per);
        im -= prof[i] * sin(2 * M_PI * (i + 1) / per);
    }
    const double ph = -atan2(im, re) / (2 * M_PI);
    return ph - floor(ph);
}

/* Is per a fraction 16 / k px that is no whole number (16/3, 16/5, 16/6,
 * 16/7) where the combs of that period on the two axes' profiles sit at
 * the same phase, as a codec's square blocks put them? */
static int codec_ringing(const double *const prof[2], const int m[2], double per)
{
    const int k = pfi_codec_harmonic(per, FINE_CODEC_NEAR);
    if (k == 0 || 16 % k == 0) return 0;
    const double c = 16.0 / k;   /* the codec's own period: 1 % off it, the phase drifts over a frame */
    const double d = fabs(comb_phase(prof[0], m[0], c) - comb_phase(prof[1], m[1], c));
    return fmin(d, 1 - d) < FINE_CODEC_PHASE;
}

double pfi_grid_fine_pair(const uint8_t *const *frames, int n, int w, int h, double *score)
{
    const int nf = n < FINE_MAX_FRAMES ? n : FINE_MAX_FRAMES;
    const int side[2] = {w, h};
    double best = 0, per = 0;
    float *buf[2] = {NULL, NULL}, *raw = NULL, *tmp = NULL;
    double *prof = NULL;
    int nb[2] = {0, 0};
    double f0[2], df[2];

    *score = 0;
    if (!frames || n < 1 || w < 16 || h < 16 || w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE) return 0;
    const size_t side_max = (size_t)(w > h ? w : h);
    prof = malloc(sizeof *prof * side_max * 3);   /* each axis's profile, then a copy to whiten */
    tmp = malloc(sizeof *tmp * (FINE_FLOOR_BINS * FINE_OVERSAMPLE + 1));
    if (!prof || !tmp) goto done;
    for (int a = 0; a < 2; a++) {
        const int m = side[a] - 1;
        /* from a floor's width below the band to the Nyquist frequency */
        df[a] = 1.0 / ((double)m * FINE_OVERSAMPLE);
        f0[a] = fmax(df[a], 1.0 / FINE_MAX_PERIOD - 0.5 * FINE_FLOOR_BINS / m);
        nb[a] = (int)((0.5 - f0[a]) / df[a]) + 1;
        float *grown = realloc(raw, sizeof(float) * (size_t)nb[a]);
        if (!grown) goto done;
        raw = grown;
        if (!(buf[a] = malloc(sizeof(float) * (size_t)nb[a]))) goto done;
        diff_profile(frames, nf, w, h, a, prof + a * side_max);
        memcpy(prof + 2 * side_max, prof + a * side_max, sizeof *prof * (size_t)m);
        whitened_spectrum(prof + 2 * side_max, m, f0[a], df[a], nb[a], raw, buf[a], tmp);
    }
    const double *const axis_prof[2] = {prof, prof + side_max};
    const int axis_m[2] = {w - 1, h - 1};
    for (int i = 1; i + 1 < nb[0]; i++) {
        const double fx = f0[0] + i * df[0];
        const float *sx = buf[0];
        if (fx < 1.0 / FINE_MAX_PERIOD || fx > 1.0 / FINE_MIN_PERIOD || sx[i] < sx[i - 1] || sx[i] < sx[i + 1] ||
            sx[i] <= best)
            continue;
        const int jlo = (int)ceil((fx * (1 - FINE_SAME) - f0[1]) / df[1]);
        const int jhi = (int)floor((fx * (1 + FINE_SAME) - f0[1]) / df[1]);
        for (int j = jlo > 1 ? jlo : 1; j <= jhi && j + 1 < nb[1]; j++) {
            const float *sy = buf[1];
            const double v = fmin(sx[i], sy[j]);
            if (sy[j] < sy[j - 1] || sy[j] < sy[j + 1] || v <= best) continue;
            const double p2 = 2.0 / (peak_freq(sx, i, f0[0], df[0]) + peak_freq(sy, j, f0[1], df[1]));
            if (codec_ringing(axis_prof, axis_m, p2)) continue;
            /* the band's codec harmonics 16 / k px (k = 5..8): an H.264 texture
             * shows them on both axes (a water tile at 10x: 2.66 px at 3.97),
             * a real upscale by such a factor too (2.28x, lossy WebP: 5.00) */
            const double v2 = pfi_codec_harmonic(p2, FINE_CODEC_NEAR) ? FINE_CODEC_SHARE * v : v;
            if (v2 <= best) continue;
            best = v2;
            per = p2;
        }
    }
    *score = best;
done:
    free(prof);
    free(tmp);
    free(raw);
    free(buf[0]);
    free(buf[1]);
    return best > 0 ? per : 0;
}
