/*
 * deblur.c - native-grid deconvolution of the classical cells. A blurred
 * upscale (bilinear or bicubic kernels, Gaussian blur, a video codec's
 * smoothing) leaks every native pixel's colour into its neighbours' cell
 * centres, so a one-pixel outline comes out lighter than it was drawn and
 * a gradient's shades run together. The leak is measured on the clip's
 * own step edges and removed from every frame's cells. Not the sampling
 * (sample.c) nor the keying (background.c).
 *
 * Model. A cell centre sees its own colour plus beta times each
 * 4-neighbour's difference: obs = c + beta sum_n (c_n - c). Between two
 * flat runs A A A | B B B the last A reads a + beta (b - a), so beta is
 * the share of the step seen one cell into A, measured on the luma of the
 * cell centres; the clip's beta is the median over all such edges of the
 * lookahead frames. A shade drawn between the runs (anti-aliasing,
 * gradients) is flat across its cell where a blurred step ramps, so the
 * leak is taken against the cell's own far side where that is nearer
 * (and against the run where a sharpening kernel's ringing dips the far
 * side below it). The inverse is taken to first order,
 * c = obs - beta sum_n (obs_n - obs): on val with --no-model, acc 0.921
 * -> 0.952, acc_opaque 0.821 -> 0.911; further Jacobi steps (0.948 with
 * two) or beta scaled by 0.8 or 1.25 do no better (tests/evalset, the
 * session note of 2026-12-06).
 */
#include "grid/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEBLUR_FLAT 0.03      /* luma (0..1) within a run: its cells differ less than this */
#define DEBLUR_STEP 0.15      /* luma step between the runs, at least */
#define DEBLUR_OPAQUE 0.99    /* cells with alpha under this are left out and left alone */
#define DEBLUR_LEAK_MIN (-0.1) /* leaks outside [min, max] are some other pixel, not a step */
#define DEBLUR_LEAK_MAX 0.45
#define DEBLUR_MIN_EDGES 32   /* fewer edges than this: no estimate (beta 0) */
#define DEBLUR_MAX_BETA 0.2   /* the largest beta removed */

static float luma_at(const float *cells, size_t plane, size_t i)
{
    return 0.299f * cells[i] + 0.587f * cells[plane + i] + 0.114f * cells[2 * plane + i];
}

/* Luma of the sub-sample column (or row, axis 1) j of cell (r, c),
 * averaged over the central half across: samples (4, rows k, cols k). */
static float sub_luma(const float *samples, int rows, int cols, int k, int axis, int r, int c, int j)
{
    const size_t C = (size_t)cols * k, plane = (size_t)rows * k * C;
    const int lo = k / 4, hi = k - k / 4;
    float sum = 0;
    int n = 0;
    for (int q = lo; q < hi; q++) {
        const size_t y = (size_t)r * k + (axis ? j : q), x = (size_t)c * k + (axis ? q : j);
        sum += luma_at(samples, plane, y * C + x);
        n++;
    }
    return n ? sum / n : 0;
}

pf_status pfi_deblur_measure(pfi_deblur *d, const float *samples, const float *cells, int rows, int cols, int k)
{
    const size_t plane = (size_t)rows * cols;
    if (!d || !samples || !cells || rows < 1 || cols < 1 || k < 2) return PF_EINVAL;
    for (int axis = 0; axis < 2; axis++) {
        const int len = axis ? rows : cols, lines = axis ? cols : rows;
        const size_t step = axis ? (size_t)cols : 1, lstep = axis ? 1 : (size_t)cols;
        for (int l = 0; l < lines; l++)
            for (int c = 2; c + 3 < len; c++) {
                size_t idx[6];
                float y[6];
                int ok = 1;
                for (int j = 0; j < 6; j++) {
                    idx[j] = (size_t)l * lstep + (size_t)(c - 2 + j) * step;
                    y[j] = luma_at(cells, plane, idx[j]);
                    ok &= cells[3 * plane + idx[j]] >= DEBLUR_OPAQUE;
                }
                if (!ok) continue;
                const float a = y[1], b = y[4];
                if (fabsf(y[0] - a) > DEBLUR_FLAT || fabsf(y[5] - b) > DEBLUR_FLAT || fabsf(b - a) < DEBLUR_STEP)
                    continue;
                /* the leak is what the centre sees beyond the cell's far
                 * side: a shade drawn between the runs is flat across its
                 * cell, a blurred step ramps */
                const int ra = axis ? c : l, ca = axis ? l : c, rb = axis ? c + 1 : l, cb = axis ? l : c + 1;
                const float fa = sub_luma(samples, rows, cols, k, axis, ra, ca, 0);
                const float fb = sub_luma(samples, rows, cols, k, axis, rb, cb, k - 1);
                const float la = fminf((y[2] - fa) / (b - a), (y[2] - a) / (b - a));
                const float lb = fminf((y[3] - fb) / (a - b), (y[3] - b) / (a - b));
                if (la < DEBLUR_LEAK_MIN || la > DEBLUR_LEAK_MAX || lb < DEBLUR_LEAK_MIN || lb > DEBLUR_LEAK_MAX)
                    continue;
                if (d->n + 2 > d->cap) {
                    const size_t cap = d->cap ? 2 * d->cap : 1024;
                    float *v = realloc(d->leak, sizeof *v * cap);
                    if (!v) return PF_ENOMEM;
                    d->leak = v;
                    d->cap = cap;
                }
                d->leak[d->n++] = la;
                d->leak[d->n++] = lb;
            }
    }
    return PF_OK;
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double pfi_deblur_finish(pfi_deblur *d)
{
    double beta = 0;
    if (!d) return 0;
    if (d->n >= DEBLUR_MIN_EDGES) {
        qsort(d->leak, d->n, sizeof *d->leak, cmp_float);
        beta = d->leak[d->n / 2];
    }
    d->beta = beta < 0 ? 0 : beta > DEBLUR_MAX_BETA ? DEBLUR_MAX_BETA : beta;
    d->edges = d->n;
    free(d->leak);
    d->leak = NULL;
    d->n = d->cap = 0;
    return d->beta;
}

void pfi_deblur_free(pfi_deblur *d)
{
    if (!d) return;
    free(d->leak);
    memset(d, 0, sizeof *d);
}

pf_status pfi_deblur_apply(const pfi_deblur *d, float *cells, int rows, int cols, float *scratch)
{
    const size_t plane = (size_t)rows * cols;
    if (!d || !cells || !scratch || rows < 1 || cols < 1) return PF_EINVAL;
    const float beta = (float)d->beta;
    if (!(beta > 0)) return PF_OK;
    const float *al = cells + 3 * plane;
    float *obs = scratch;
    for (int ch = 0; ch < 3; ch++) {
        float *p = cells + ch * plane;
        memcpy(obs, p, sizeof *obs * plane);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                const size_t i = (size_t)r * cols + c;
                if (al[i] < DEBLUR_OPAQUE) continue;
                /* a missing or see-through neighbour leaks nothing to undo */
                float sum = 0;
                if (r > 0 && al[i - cols] >= DEBLUR_OPAQUE) sum += obs[i - cols] - obs[i];
                if (r + 1 < rows && al[i + cols] >= DEBLUR_OPAQUE) sum += obs[i + cols] - obs[i];
                if (c > 0 && al[i - 1] >= DEBLUR_OPAQUE) sum += obs[i - 1] - obs[i];
                if (c + 1 < cols && al[i + 1] >= DEBLUR_OPAQUE) sum += obs[i + 1] - obs[i];
                const float v = obs[i] - beta * sum;
                p[i] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
    }
    return PF_OK;
}
