/*
 * sample.c - canonical resampling onto a detected grid: every cell is
 * area-sampled (a box filter with exact fractional pixel coverage) into
 * k x k samples, and the classical cell colour is the median of the
 * central samples. Not grid detection (detect.c) and not colour science.
 */
#include <math.h>
#include <string.h>

#include "grid.h"

/* Coverage of one sample interval [a, b) over input pixels: pixel p gets
 * |[p, p+1) ∩ [a, b)| / (b - a); pixels outside [0, n) clamp to the edge. */
typedef struct span {
    int first, count;   /* pixels first .. first+count-1 (clamped indices may repeat) */
    int woff;           /* offset of the weights in the shared array */
} span;

/* Fills the k spans of each of the cells between bounds (shifted by the
 * drift); returns the number of weights, or -1 when wts is too small. */
static int build_spans(span *sp, float *wts, int wcap, const double *bounds, int cells, int k,
                       double shift)
{
    int nw = 0;
    for (int c = 0; c < cells; c++) {
        double c0 = bounds[c] + shift, c1 = bounds[c + 1] + shift;
        for (int s = 0; s < k; s++) {
            double a = c0 + (c1 - c0) * s / k, b = c0 + (c1 - c0) * (s + 1) / k;
            span *p = &sp[c * k + s];
            int p0 = (int)floor(a), p1 = (int)ceil(b) - 1;
            if (p1 < p0) p1 = p0;
            double len = b - a > 1e-9 ? b - a : 1e-9;
            p->first = p0;
            p->count = p1 - p0 + 1;
            p->woff = nw;
            if (nw + p->count > wcap) return -1;
            for (int q = p0; q <= p1; q++) {
                double lo = q > a ? q : a, hi = q + 1 < b ? q + 1 : b;
                wts[nw++] = (float)((hi > lo ? hi - lo : (b - a < 1e-9 ? 1.0 : 0.0)) / len);
            }
        }
    }
    return nw;
}

static inline int clampi(int v, int n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

void pf_grid_sample(const pf_grid *g, double dx, double dy, const uint8_t *rgba, int w, int h, int k,
                    float *out)
{
    const int W = g->cols * k, H = g->rows * k;
    const size_t plane = (size_t)W * (size_t)H;
    /* each sample spans at most ceil(cell/k)+1 pixels */
    double maxc = 0;
    for (int i = 0; i < g->cols; i++) if (g->xb[i + 1] - g->xb[i] > maxc) maxc = g->xb[i + 1] - g->xb[i];
    for (int j = 0; j < g->rows; j++) if (g->yb[j + 1] - g->yb[j] > maxc) maxc = g->yb[j + 1] - g->yb[j];
    int per = (int)ceil(maxc / k) + 2;
    size_t wcap = (size_t)(W > H ? W : H) * (size_t)per;
    span *sx = malloc(sizeof *sx * (size_t)W), *sy = malloc(sizeof *sy * (size_t)H);
    float *wx = malloc(sizeof *wx * wcap), *wy = malloc(sizeof *wy * wcap);
    float *acc = malloc(sizeof *acc * (size_t)W * 4);
    float lut[256];

    if (!sx || !sy || !wx || !wy || !acc ||
        build_spans(sx, wx, (int)wcap, g->xb, g->cols, k, dx) < 0 ||
        build_spans(sy, wy, (int)wcap, g->yb, g->rows, k, dy) < 0) {
        /* allocation failure: leave a neutral, fully transparent result */
        memset(out, 0, plane * 4 * sizeof *out);
        goto done;
    }
    for (int i = 0; i < 256; i++) lut[i] = i / 255.f;
    for (int j = 0; j < H; j++) {
        const span *py = &sy[j];
        memset(acc, 0, sizeof *acc * (size_t)W * 4);
        for (int q = 0; q < py->count; q++) {
            float wyq = wy[py->woff + q];
            if (wyq == 0.f) continue;
            const uint8_t *src = rgba + (size_t)clampi(py->first + q, h) * (size_t)w * 4;
            /* horizontal pass over this input row */
            for (int i = 0; i < W; i++) {
                const span *px = &sx[i];
                float r = 0, gg = 0, b = 0, a = 0;
                for (int t = 0; t < px->count; t++) {
                    const uint8_t *p = src + (size_t)clampi(px->first + t, w) * 4;
                    float wt = wx[px->woff + t];
                    r += wt * lut[p[0]]; gg += wt * lut[p[1]]; b += wt * lut[p[2]]; a += wt * lut[p[3]];
                }
                acc[4 * i] += wyq * r; acc[4 * i + 1] += wyq * gg;
                acc[4 * i + 2] += wyq * b; acc[4 * i + 3] += wyq * a;
            }
        }
        for (int c = 0; c < 4; c++) {
            float *dst = out + (size_t)c * plane + (size_t)j * W;
            for (int i = 0; i < W; i++) dst[i] = acc[4 * i + c];
        }
    }
done:
    free(sx); free(sy); free(wx); free(wy); free(acc);
}

static float median(float *v, int n)
{
    for (int i = 1; i < n; i++) { /* insertion sort: n <= 64 */
        float x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
        v[j + 1] = x;
    }
    return n & 1 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

void pf_grid_cells(const float *samples, int rows, int cols, int k, float *cells)
{
    const int W = cols * k, lo = k / 4, hi = k - k / 4;
    const size_t splane = (size_t)W * (size_t)rows * (size_t)k, cplane = (size_t)rows * (size_t)cols;
    float v[64];
    for (int c = 0; c < 4; c++)
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                int n = 0;
                for (int sy = lo; sy < hi; sy++)
                    for (int sx = lo; sx < hi; sx++)
                        v[n++] = samples[(size_t)c * splane + (size_t)(y * k + sy) * W + x * k + sx];
                cells[(size_t)c * cplane + (size_t)y * cols + x] = median(v, n);
            }
}
