/*
 * sample.c - canonical resampling of a detected grid: every cell is split
 * into k x k sub-cells, each area-sampled (box filter with exact fractional
 * pixel coverage), and the per-cell colour is the median of the central
 * samples. Not the detection (detect.c).
 */
#include "grid/grid.h"

#include <math.h>
#include <string.h>

/* The pixels an interval [a, b) of one axis covers: pixels i0 .. i0+n-1
 * (before clamping to the canvas), their weights (coverage / length) at
 * off in the weight table. */
typedef struct span {
    int i0, n;
    size_t off;
} span;

/* Number of pixels [a, b) touches; at least 1. */
static int span_len(double a, double b)
{
    int n = (int)ceil(b) - (int)floor(a);
    return n < 1 ? 1 : n;
}

/* Fills sp (one per sub-interval) and wt for the k sub-intervals of every
 * cell between boundaries bd[0..cells] shifted by d. wt must hold the sum
 * of span_len over all sub-intervals. */
static void make_spans(const double *bd, int cells, int k, double d, span *sp, float *wt)
{
    size_t off = 0;
    int i, a, j;
    for (i = 0; i < cells; i++) {
        const double c0 = bd[i] + d, step = (bd[i + 1] - bd[i]) / k;
        for (a = 0; a < k; a++) {
            const double s0 = c0 + a * step, s1 = c0 + (a + 1) * step;
            span *s = &sp[i * k + a];
            s->i0 = (int)floor(s0);
            s->n = span_len(s0, s1);
            s->off = off;
            if (s1 - s0 <= 1e-9) {
                /* degenerate interval: a point sample */
                wt[off] = 1;
                s->n = 1;
            } else {
                for (j = 0; j < s->n; j++) {
                    const double p0 = s->i0 + j, lo = p0 > s0 ? p0 : s0;
                    const double hi = p0 + 1 < s1 ? p0 + 1 : s1;
                    wt[off + j] = (float)((hi > lo ? hi - lo : 0) / (s1 - s0));
                }
            }
            off += (size_t)s->n;
        }
    }
}

/* Total weight-table length for make_spans. */
static size_t spans_total(const double *bd, int cells, int k, double d)
{
    size_t tot = 0;
    int i, a;
    for (i = 0; i < cells; i++) {
        const double c0 = bd[i] + d, step = (bd[i + 1] - bd[i]) / k;
        for (a = 0; a < k; a++) tot += (size_t)span_len(c0 + a * step, c0 + (a + 1) * step);
    }
    return tot;
}

/* Area sampling with precomputed spans: out (4, R, C), R = rows k, C = cols k. */
static void sample_spans(const span *sx, const float *wx, int C, const span *sy, const float *wy,
                         int R, const uint8_t *rgba, int w, int h, float *out)
{
    const size_t plane = (size_t)R * C;
    int Y, X, j, i;
    for (Y = 0; Y < R; Y++) {
        float *o0 = out + (size_t)Y * C, *o1 = o0 + plane, *o2 = o1 + plane, *o3 = o2 + plane;
        const span *ys = &sy[Y];
        memset(o0, 0, sizeof(float) * (size_t)C);
        memset(o1, 0, sizeof(float) * (size_t)C);
        memset(o2, 0, sizeof(float) * (size_t)C);
        memset(o3, 0, sizeof(float) * (size_t)C);
        for (j = 0; j < ys->n; j++) {
            const float wyj = wy[ys->off + j] * (1.0f / 255.0f);
            const uint8_t *row = rgba + (size_t)pfi_clampi(ys->i0 + j, 0, h - 1) * w * 4;
            if (wyj == 0) continue;
            for (X = 0; X < C; X++) {
                const span *xs = &sx[X];
                const float *ww = wx + xs->off;
                float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                if (xs->i0 >= 0 && xs->i0 + xs->n <= w) {
                    const uint8_t *p = row + (size_t)xs->i0 * 4;
                    for (i = 0; i < xs->n; i++, p += 4) {
                        a0 += ww[i] * p[0];
                        a1 += ww[i] * p[1];
                        a2 += ww[i] * p[2];
                        a3 += ww[i] * p[3];
                    }
                } else {
                    for (i = 0; i < xs->n; i++) {
                        const uint8_t *p = row + (size_t)pfi_clampi(xs->i0 + i, 0, w - 1) * 4;
                        a0 += ww[i] * p[0];
                        a1 += ww[i] * p[1];
                        a2 += ww[i] * p[2];
                        a3 += ww[i] * p[3];
                    }
                }
                o0[X] += wyj * a0;
                o1[X] += wyj * a1;
                o2[X] += wyj * a2;
                o3[X] += wyj * a3;
            }
        }
    }
}

/* The coverage of pixel p by [a, b), over b - a. */
static float coverage(int p, double a, double b)
{
    const double lo = p > a ? p : a, hi = p + 1 < b ? p + 1 : b;
    if (b - a <= 1e-9) return (a >= p && a < p + 1) ? 1.0f : 0.0f;
    return (float)(hi > lo ? (hi - lo) / (b - a) : 0);
}

/* The same without tables (when they cannot be allocated): slower. */
static void sample_direct(const pfi_grid *g, double dx, double dy, const uint8_t *rgba, int w,
                          int h, int k, float *out)
{
    const int C = g->cols * k, R = g->rows * k;
    const size_t plane = (size_t)R * C;
    int Y, X, yy, xx, c;
    for (Y = 0; Y < R; Y++) {
        const int ci = Y / k, a = Y % k;
        const double st = (g->yb[ci + 1] - g->yb[ci]) / k;
        const double y0 = g->yb[ci] + dy + a * st, y1 = y0 + st;
        for (X = 0; X < C; X++) {
            const int cj = X / k, b = X % k;
            const double su = (g->xb[cj + 1] - g->xb[cj]) / k;
            const double x0 = g->xb[cj] + dx + b * su, x1 = x0 + su;
            double acc[4] = {0, 0, 0, 0};
            for (yy = (int)floor(y0); yy < (int)floor(y0) + span_len(y0, y1); yy++) {
                const float wy_ = coverage(yy, y0, y1);
                const uint8_t *row = rgba + (size_t)pfi_clampi(yy, 0, h - 1) * w * 4;
                for (xx = (int)floor(x0); xx < (int)floor(x0) + span_len(x0, x1); xx++) {
                    const float wgt = wy_ * coverage(xx, x0, x1);
                    const uint8_t *p = row + (size_t)pfi_clampi(xx, 0, w - 1) * 4;
                    for (c = 0; c < 4; c++) acc[c] += wgt * p[c];
                }
            }
            for (c = 0; c < 4; c++) out[c * plane + (size_t)Y * C + X] = (float)(acc[c] / 255.0);
        }
    }
}

void pfi_grid_sample(const pfi_grid *g, double dx, double dy, const uint8_t *rgba, int w, int h,
                    int k, float *out)
{
    span *sx = NULL, *sy = NULL;
    float *wx = NULL, *wy = NULL;
    size_t nx, ny;

    PF_ASSERT(g && g->xb && g->yb && rgba && out && k >= 1 && w >= 1 && h >= 1);
    PF_ASSERT(g->cols >= 1 && g->rows >= 1);
    nx = spans_total(g->xb, g->cols, k, dx);
    ny = spans_total(g->yb, g->rows, k, dy);
    sx = pfi_malloc4((size_t)g->cols, (size_t)k, sizeof *sx, 1);
    sy = pfi_malloc4((size_t)g->rows, (size_t)k, sizeof *sy, 1);
    wx = pfi_malloc4(nx, sizeof *wx, 1, 1);
    wy = pfi_malloc4(ny, sizeof *wy, 1, 1);
    if (sx && sy && wx && wy) {
        make_spans(g->xb, g->cols, k, dx, sx, wx);
        make_spans(g->yb, g->rows, k, dy, sy, wy);
        sample_spans(sx, wx, g->cols * k, sy, wy, g->rows * k, rgba, w, h, out);
    } else {
        sample_direct(g, dx, dy, rgba, w, h, k, out);
    }
    free(sx);
    free(sy);
    free(wx);
    free(wy);
}

void pfi_grid_sample_box(const uint8_t *rgba, int w, int h, double x0, double x1, double y0,
                        double y1, float out[4])
{
    double acc[4] = {0, 0, 0, 0};
    const int ny = span_len(y0, y1), nx = span_len(x0, x1);
    const int yi = (int)floor(y0), xi = (int)floor(x0);
    for (int yy = yi; yy < yi + ny; yy++) {
        const float wy = coverage(yy, y0, y1);
        if (wy == 0) continue;
        const uint8_t *row = rgba + (size_t)pfi_clampi(yy, 0, h - 1) * w * 4;
        for (int xx = xi; xx < xi + nx; xx++) {
            const float wgt = wy * coverage(xx, x0, x1);
            const uint8_t *p = row + (size_t)pfi_clampi(xx, 0, w - 1) * 4;
            for (int c = 0; c < 4; c++) acc[c] += wgt * p[c];
        }
    }
    for (int c = 0; c < 4; c++) out[c] = (float)(acc[c] / 255.0);
}

/* ---- per-cell colour ------------------------------------------------------ */

/* Median of n floats (sorted in place); the mean of the middle two when n
 * is even. */
static float median_small(float *v, int n)
{
    int i, j;
    for (i = 1; i < n; i++) {
        const float x = v[i];
        for (j = i - 1; j >= 0 && v[j] > x; j--) v[j + 1] = v[j];
        v[j + 1] = x;
    }
    return n & 1 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

void pfi_grid_cells(const float *samples, int rows, int cols, int k, float *cells)
{
    const int C = cols * k;
    const size_t splane = (size_t)rows * k * C, cplane = (size_t)rows * cols;
    int m, lo, r, c, ch, i, j;
    float buf[64], *v = buf;

    PF_ASSERT(samples && cells && rows >= 1 && cols >= 1 && k >= 1);
    /* the central m x m samples: the inner half, centred */
    if (k <= 2) {
        m = k;
    } else {
        m = k / 2;
        if ((k - m) & 1) m++;
    }
    lo = (k - m) / 2;
    if (m * m > (int)(sizeof buf / sizeof buf[0])) {
        v = malloc(sizeof *v * (size_t)m * m);
        if (!v) { /* cannot happen for k <= 8; keep a valid result */
            m = 1;
            lo = k / 2;
            v = buf;
        }
    }
    for (ch = 0; ch < 4; ch++)
        for (r = 0; r < rows; r++)
            for (c = 0; c < cols; c++) {
                const float *s = samples + ch * splane + ((size_t)r * k + lo) * C + (size_t)c * k + lo;
                int n = 0;
                for (i = 0; i < m; i++)
                    for (j = 0; j < m; j++) v[n++] = s[(size_t)i * C + j];
                cells[ch * cplane + (size_t)r * cols + c] = median_small(v, n);
            }
    if (v != buf) free(v);
}

void pfi_grid_cell_means(const float *samples, int rows, int cols, int k, float *means)
{
    const int C = cols * k;
    const size_t splane = (size_t)rows * k * C;
    const float inv = 1.0f / (float)(k * k);
    PF_ASSERT(samples && means && rows >= 1 && cols >= 1 && k >= 1);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            for (int ch = 0; ch < 4; ch++) {
                float acc = 0;
                for (int a = 0; a < k; a++) {
                    const float *p = samples + (size_t)ch * splane + ((size_t)r * k + a) * C + (size_t)c * k;
                    for (int b = 0; b < k; b++) acc += p[b];
                }
                means[((size_t)r * cols + c) * 4 + ch] = acc * inv;
            }
}
