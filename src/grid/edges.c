/*
 * edges.c - edge locations in band profiles, and local demodulation of
 * those profiles against a lattice coordinate (edges.h). The measurement
 * that period.c and mesh.c share; not the fitting itself.
 */
#include "grid/edges.h"

#include <math.h>
#include <string.h>

#define EDGE_SAMPLE_LINES 256   /* lines sampled for the noise floor */
#define EDGE_HIST_STEP 0.25     /* noise-floor histogram bin, 0..255 units */
#define EDGE_HIST_BINS 4200     /* covers D up to 4 channels x 255 */
#define EDGE_FLOOR_MEDIANS 3.0  /* floor = this many medians ... */
#define EDGE_FLOOR_ADD 4.0      /* ... plus this, 0..255 units */
#define EDGE_WEIGHT_SCALE 10.0  /* weight = log(1 + (D - floor) / this) */

void pfi_edge_bands_free(pfi_edge_bands *eb)
{
    if (!eb) return;
    free(eb->p);
    eb->p = NULL;
}

static int band_lo(const pfi_edge_bands *eb, int b)
{
    return (int)((int64_t)b * eb->lines / eb->nb);
}

void pfi_edge_prefix_free(pfi_edge_prefix *pp)
{
    if (!pp) return;
    free(pp->cs);
    pp->cs = NULL;
}

pf_status pfi_edge_prefix_make(pfi_edge_prefix *pp, const uint8_t *rgba, int w, int h, int axis, int luma_only)
{
    memset(pp, 0, sizeof *pp);
    if (!rgba || w < 2 || h < 2 || (axis != 0 && axis != 1)) return PF_EINVAL;
    pp->axis = axis;
    pp->len = axis == 0 ? w : h;
    pp->lines = axis == 0 ? h : w;
    if (!(pp->cs = pfi_malloc4((size_t)pp->lines, (size_t)pp->len + 1, 4, sizeof *pp->cs))) return PF_ENOMEM;
    const size_t row = (size_t)w * 4, along = axis == 0 ? 4 : row, across = axis == 0 ? row : 4;
    for (int l = 0; l < pp->lines; l++) {
        const uint8_t *q = rgba + (size_t)l * across;
        float *cs = pp->cs + (size_t)l * (pp->len + 1) * 4;
        /* summed in double, stored as float: a line of 2^22 px of 255 still
         * differences to well under a level over a box */
        double acc[4] = {0, 0, 0, 0};
        memset(cs, 0, 4 * sizeof *cs);
        for (int i = 0; i < pp->len; i++, q += along) {
            const double a = q[3] / 255.0;
            if (luma_only) {
                const double y = (0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2]) * a;
                acc[0] += y;
                acc[1] += y;
                acc[2] += y;
            } else {
                acc[0] += q[0] * a;
                acc[1] += q[1] * a;
                acc[2] += q[2] * a;
            }
            acc[3] += q[3];
            for (int c = 0; c < 4; c++) cs[(size_t)(i + 1) * 4 + c] = (float)acc[c];
        }
    }
    return PF_OK;
}

/* The box-difference D at every boundary 0..len of one line (0 at the
 * frame's own edges), from its prefix sums (len + 1, 4). */
static void line_steps(const float *cs, int len, int step, float *d)
{
    const float inv = 1.0f / (float)step;
    d[0] = d[len] = 0;
    for (int b = 1; b < len; b++) {
        const float *c = cs + (size_t)b * 4;
        float s = 0;
        if (b >= step && b + step <= len) {
            const float *l0 = c - (size_t)step * 4, *h0 = c + (size_t)step * 4;
            for (int k = 0; k < 4; k++) s += fabsf((h0[k] - 2 * c[k] + l0[k]) * inv);
        } else {
            const int lo = b - step < 0 ? 0 : b - step, hi = b + step > len ? len : b + step;
            const float *l0 = cs + (size_t)lo * 4, *h0 = cs + (size_t)hi * 4;
            for (int k = 0; k < 4; k++)
                s += fabsf((h0[k] - c[k]) / (float)(hi - b) - (c[k] - l0[k]) / (float)(b - lo));
        }
        d[b] = s;
    }
}

pf_status pfi_edge_bands_cut(pfi_edge_bands *eb, const pfi_edge_prefix *pp, int step, int band)
{
    const int len = pp->len, lines = pp->lines;
    float *d = NULL;
    uint32_t *hist = NULL;
    pf_status st = PF_ENOMEM;

    memset(eb, 0, sizeof *eb);
    if (!pp->cs || step < 1 || band < 1) return PF_EINVAL;
    eb->axis = pp->axis;
    eb->len = len;
    eb->n = len + 1;
    eb->lines = lines;
    eb->nb = lines / band < 1 ? 1 : lines / band;
    if (!(eb->p = pfi_calloc4((size_t)eb->nb, (size_t)eb->n, 1, sizeof(float))) ||
        !(d = pfi_malloc4((size_t)len + 1, 1, 1, sizeof *d)) ||
        !(hist = calloc(EDGE_HIST_BINS, sizeof *hist)))
        goto fail;

    /* noise floor: the median step over a sample of lines */
    const int ls = lines > EDGE_SAMPLE_LINES ? lines / EDGE_SAMPLE_LINES : 1;
    uint64_t cnt = 0;
    for (int l = ls / 2; l < lines; l += ls) {
        line_steps(pp->cs + (size_t)l * (len + 1) * 4, len, step, d);
        for (int b = 1; b < len; b++) {
            int k = (int)(d[b] / EDGE_HIST_STEP);
            hist[k < EDGE_HIST_BINS ? k : EDGE_HIST_BINS - 1]++;
            cnt++;
        }
    }
    double median = 0;
    for (uint64_t acc = 0, k = 0; k < EDGE_HIST_BINS; k++) {
        acc += hist[k];
        if (2 * acc >= cnt) {
            median = (k + 0.5) * EDGE_HIST_STEP;
            break;
        }
    }
    const double floor_ = EDGE_FLOOR_MEDIANS * median + EDGE_FLOOR_ADD;
    const int r = step / 2 < 1 ? 1 : step / 2;

    for (int bi = 0; bi < eb->nb; bi++) {
        float *prof = eb->p + (size_t)bi * eb->n;
        for (int l = band_lo(eb, bi); l < band_lo(eb, bi + 1); l++) {
            line_steps(pp->cs + (size_t)l * (len + 1) * 4, len, step, d);
            for (int b = 1; b < len; b++) {
                const float v = d[b];
                int k, ok = v > floor_;
                for (k = 1; ok && k <= r; k++) {
                    if (b - k >= 0 && d[b - k] > v) ok = 0;
                    if (b + k <= len && d[b + k] >= v) ok = 0;
                }
                if (!ok) continue;
                const double dm = d[b - 1], dp = d[b + 1], den = dm - 2.0 * v + dp;
                double off = den < 0 ? 0.5 * (dm - dp) / den : 0;
                off = off < -0.5 ? -0.5 : off > 0.5 ? 0.5 : off;
                const double pos = b + off, wgt = log1p((v - floor_) / EDGE_WEIGHT_SCALE);
                const int i0 = (int)floor(pos);
                const double fr = pos - i0;
                if (i0 >= 0 && i0 < eb->n) prof[i0] += (float)(wgt * (1 - fr));
                if (i0 + 1 >= 0 && i0 + 1 < eb->n) prof[i0 + 1] += (float)(wgt * fr);
                eb->total += wgt;
            }
        }
    }
    st = PF_OK;
fail:
    free(d);
    free(hist);
    if (st < 0) pfi_edge_bands_free(eb);
    return st;
}

pf_status pfi_edge_bands_make(pfi_edge_bands *eb, const uint8_t *rgba, int w, int h, int axis,
                             int step, int band, int luma_only)
{
    pfi_edge_prefix pp;
    memset(eb, 0, sizeof *eb);
    if (step < 1 || band < 1) return PF_EINVAL;
    pf_status st = pfi_edge_prefix_make(&pp, rgba, w, h, axis, luma_only);
    if (st < 0) return st;
    st = pfi_edge_bands_cut(eb, &pp, step, band);
    pfi_edge_prefix_free(&pp);
    return st;
}

/* One running-box pass over v, zero outside: full weight within ri of the
 * centre, weight f at ri + 1, normalised (a box of width 2 (ri + f) + 1,
 * so the smoothing varies continuously with sigma). */
static void box_pass(float *v, int n, int ri, double f, float *tmp)
{
    const double inv = 1.0 / (2 * (ri + f) + 1);
    double s = 0;
    memcpy(tmp, v, sizeof *v * (size_t)n);
    for (int i = 0; i < ri && i < n; i++) s += tmp[i];
    for (int i = 0; i < n; i++) {
        if (i + ri < n) s += tmp[i + ri];
        if (i - ri - 1 >= 0) s -= tmp[i - ri - 1];
        double e = 0;
        if (i + ri + 1 < n) e += tmp[i + ri + 1];
        if (i - ri - 1 >= 0) e += tmp[i - ri - 1];
        v[i] = (float)((s + f * e) * inv);
    }
}

void pfi_gauss_1d(float *v, int n, double sigma, float *tmp)
{
    /* three boxes of width L have variance 3 (L^2 - 1) / 12 */
    const double r = (sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0;
    if (r < 0.25) return;
    const int ri = (int)floor(r);
    for (int k = 0; k < 3; k++) box_pass(v, n, ri, r - ri, tmp);
}

void pfi_edge_demod(const pfi_edge_bands *eb, const float *u, double period, double sigma,
                   float *zr, float *zi, float *m, float *scratch)
{
    const int n = eb->n;
    for (int b = 0; b < eb->nb; b++) {
        const float *p = eb->p + (size_t)b * n;
        const float *ub = u ? u + (size_t)b * n : NULL;
        float *re = zr + (size_t)b * n, *im = zi + (size_t)b * n, *mm = m + (size_t)b * n;
        for (int x = 0; x < n; x++) {
            if (p[x] == 0) {
                re[x] = im[x] = 0;
                continue;
            }
            const double ph = 2 * M_PI * (ub ? ub[x] : x / period);
            re[x] = (float)(p[x] * cos(ph));
            im[x] = (float)(-p[x] * sin(ph));
        }
        memcpy(mm, p, sizeof *mm * (size_t)n);
        pfi_gauss_1d(re, n, sigma, scratch);
        pfi_gauss_1d(im, n, sigma, scratch);
        pfi_gauss_1d(mm, n, sigma, scratch);
    }
}
