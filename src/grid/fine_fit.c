/*
 * fine_fit.c - a cell of 2-3.4 px found by refitting the frame: a small
 * upscale with a smooth kernel (bilinear or bicubic 2-2.7x) is, line by
 * line, a linear interpolation of its native pixels, so at the true cell
 * and phase a least-squares fit of such an interpolation leaves only noise,
 * and one a few per cent off leaves every edge it misplaces. Not the
 * spectra of fine_pair.c, which such clips defeat about as often as not.
 *
 * Per axis, for cells s = 2.00, 2.01, ... 3.40 px and FIT_PHASES phases,
 * lines of the first frame's luma (every k-th, k = lines / FIT_MAX_LINES
 * rounded down, at most FIT_MAX_LINES of them from the top: a frame of
 * 128-255 lines gives its first 128; each line's central FIT_MAX_LEN px)
 * are fitted by native values under a linear (triangle) kernel: the
 * normal equations are tridiagonal and the same for every line, so one
 * factorisation serves them all. The residual over the lines, at the best
 * phase, falls as s shrinks (more native values fit anything better), and
 * dips sharply at the true cell. A dip scores how far its neighbours at
 * 0.03-0.05 px on either side lie above it; a "fit pair" is a dip on x and
 * one on y within FIT_SAME of each other, scored by the smaller dip, its
 * cell refined by a parabola through each axis' minimum.
 * Measured on tests/evalset draws at 2.1-2.7x (145 clips): pairs of 1.3
 * or more on 96, 92 of them at the true cell within 0.6 %; ground-truth
 * art at its native size: 1.11 at most (337 clips). Harmonics of larger
 * cells dip too (2.5 px for 5 px): callers use a fit pair where no other
 * grid stands, or against one it does not divide when it scores well
 * above what a right grid lets it reach (lattice.c prefer_fit_pair).
 */
#include "grid/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_MIN_CELL 2.0     /* px: the smallest cell tried ... */
#define FIT_MAX_CELL 3.4     /* ... the largest ... */
#define FIT_STEP 0.01        /* ... and the step between them */
#define FIT_PHASES 8         /* phases tried per cell (cell / 8 apart) */
#define FIT_MAX_LINES 128    /* lines fitted per axis at most ... */
#define FIT_MAX_LEN 512      /* ... and px of each, centred (150-250 cells: plenty; a 720p
                                frame's whole lines took 1.1 s) */
#define FIT_NEAR 3           /* a dip's neighbours lie this many steps away ... */
#define FIT_FAR 5            /* ... up to this many */
#define FIT_SAME 0.012       /* relative: x and y dips this close are one cell */

/* Residual sum of squares of nl lines of n luma values (line l at
 * lines + l * n, contiguous) under the triangle-kernel model
 * of cell s px and phase ph (cells): native coordinate u = (i + 0.5) / s
 * + ph, each sample (1 - f) a_j + f a_(j+1) with j = floor(u - 0.5) and
 * f its fraction, the native values a fitted per line; ss_all is the
 * lines' sum of squares.
 * Scratch: jj (n ints); ff, d, o, rhs (n + 2 each); c (2 (n + 2)). */
static double line_fit(const float *lines, int n, int nl, double ss_all, double s, double ph,
                       int *jj, double *ff, double *d, double *o, double *c, double *rhs)
{
    const double u0 = 0.5 / s + ph;
    const int j0 = (int)floor(u0 - 0.5);
    int m = 0;
    for (int i = 0; i < n; i++) {
        const double u = (i + 0.5) / s + ph - 0.5;
        const int j = (int)floor(u);
        jj[i] = j - j0;
        ff[i] = u - j;
        if (jj[i] + 2 > m) m = jj[i] + 2;
    }
    /* the normal equations A^T A, tridiagonal: diagonal d, off-diagonal o */
    memset(d, 0, sizeof *d * (size_t)m);
    memset(o, 0, sizeof *o * (size_t)m);
    for (int i = 0; i < n; i++) {
        const double f = ff[i];
        d[jj[i]] += (1 - f) * (1 - f);
        d[jj[i] + 1] += f * f;
        o[jj[i]] += (1 - f) * f;
    }
    for (int k = 0; k < m; k++) d[k] += 1e-6;
    /* Thomas factorisation: c[k] the modified super-diagonal, d[k] the
     * reciprocal pivots (the sweeps below run once per line) */
    d[0] = 1 / d[0];
    c[0] = o[0] * d[0];
    for (int k = 1; k < m; k++) {
        d[k] = 1 / (d[k] - o[k - 1] * c[k - 1]);
        c[k] = o[k] * d[k];
    }
    double fit = 0;
    for (int l = 0; l < nl; l++) {
        const float *p = lines + (size_t)l * n;
        memset(rhs, 0, sizeof *rhs * (size_t)m);
        for (int i = 0; i < n; i++) {
            const double v = p[i];
            rhs[jj[i]] += (1 - ff[i]) * v;
            rhs[jj[i] + 1] += ff[i] * v;
        }
        /* rss = |x|^2 - b^T a for the least-squares solution a of (A^T A) a = b */
        double bta = 0, prev = 0;   /* c[m..2m) holds y, then a */
        for (int k = 0; k < m; k++) {   /* forward: y_k = (b_k - o_(k-1) y_(k-1)) / pivot_k */
            const double y = (rhs[k] - (k ? o[k - 1] * prev : 0)) * d[k];
            c[m + k] = y;
            prev = y;
        }
        for (int k = m - 1; k >= 0; k--) {   /* back: a_k = y_k - c_k a_(k+1) */
            if (k < m - 1) c[m + k] -= c[k] * c[m + k + 1];
            bta += rhs[k] * c[m + k];
        }
        fit += bta;
    }
    return ss_all - fit;
}

/* The best-phase residual r[q] at cells FIT_MIN_CELL + q FIT_STEP for
 * the lines of one axis. Returns 0, or -1 when out of memory. */
static int axis_curve(const float *lines, int n, int nl, double *r, int nq)
{
    int *jj = malloc(sizeof *jj * (size_t)n);
    double *buf = malloc(sizeof *buf * (size_t)(7 * (n + 2)));
    if (!jj || !buf) {
        free(jj);
        free(buf);
        return -1;
    }
    double *ff = buf, *d = ff + n + 2, *o = d + n + 2, *c = o + n + 2, *rhs = c + 2 * (n + 2), ss_all = 0;
    for (size_t i = 0; i < (size_t)nl * n; i++) ss_all += (double)lines[i] * lines[i];
    for (int q = 0; q < nq; q++) {
        const double s = FIT_MIN_CELL + q * FIT_STEP;
        r[q] = INFINITY;
        for (int k = 0; k < FIT_PHASES; k++) {
            const double v = line_fit(lines, n, nl, ss_all, s, (double)k / FIT_PHASES, jj, ff, d, o, c, rhs);
            if (v < r[q]) r[q] = v;
        }
        if (r[q] < 1e-9) r[q] = 1e-9;
    }
    free(jj);
    free(buf);
    return 0;
}

/* A dip's depth at q: the mean of r at FIT_NEAR..FIT_FAR steps on both
 * sides over r[q] (0 where q is no local minimum). */
static double dip_depth(const double *r, int nq, int q)
{
    if (q < FIT_FAR || q + FIT_FAR >= nq || r[q] > r[q - 1] || r[q] > r[q + 1]) return 0;
    double sum = 0;
    for (int k = FIT_NEAR; k <= FIT_FAR; k++) sum += r[q - k] + r[q + k];
    return sum / (2 * (FIT_FAR - FIT_NEAR + 1)) / r[q];
}

/* The cell at local minimum q, refined by the parabola through r[q-1..q+1]. */
static double dip_cell(const double *r, int q)
{
    const double den = r[q - 1] - 2 * r[q] + r[q + 1];
    const double off = den > 0 ? 0.5 * (r[q - 1] - r[q + 1]) / den : 0;
    return FIT_MIN_CELL + (q + fmax(-0.5, fmin(0.5, off))) * FIT_STEP;
}

double pfi_grid_fine_fit(const uint8_t *const *frames, int n, int w, int h, double *score)
{
    const int nq = (int)lrint((FIT_MAX_CELL - FIT_MIN_CELL) / FIT_STEP) + 1;
    float *luma = NULL, *lines_buf = NULL;
    double *r[2] = {NULL, NULL}, best = 0, cell = 0;

    *score = 0;
    if (!frames || n < 1 || !frames[0] || w < 16 || h < 16 || w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE)
        return 0;
    luma = malloc(sizeof *luma * (size_t)w * (size_t)h);
    lines_buf = malloc(sizeof *lines_buf * (size_t)FIT_MAX_LINES * FIT_MAX_LEN);
    r[0] = malloc(sizeof *r[0] * (size_t)nq);
    r[1] = malloc(sizeof *r[1] * (size_t)nq);
    if (!luma || !lines_buf || !r[0] || !r[1]) goto done;
    for (size_t i = 0; i < (size_t)w * h; i++) {   /* luma over black, 0..255 */
        const uint8_t *p = frames[0] + 4 * i;
        luma[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * (p[3] / 255.f);
    }
    for (int a = 0; a < 2; a++) {
        const int side = a == 0 ? w : h, lines = a == 0 ? h : w;
        const int nl = lines < FIT_MAX_LINES ? lines : FIT_MAX_LINES, k = lines / nl;
        const int len = side < FIT_MAX_LEN ? side : FIT_MAX_LEN, i0 = (side - len) / 2;
        /* the lines fitted, copied out contiguous */
        for (int l = 0; l < nl; l++)
            for (int i = 0; i < len; i++)
                lines_buf[(size_t)l * len + i] =
                    a == 0 ? luma[(size_t)l * k * w + i0 + i] : luma[(size_t)(i0 + i) * w + (size_t)l * k];
        if (axis_curve(lines_buf, len, nl, r[a], nq) < 0) goto done;
    }
    for (int qx = 0; qx < nq; qx++) {
        const double dx = dip_depth(r[0], nq, qx);
        if (dx <= best) continue;
        const double cx = dip_cell(r[0], qx);
        for (int qy = 0; qy < nq; qy++) {
            const double dy = dip_depth(r[1], nq, qy), v = fmin(dx, dy);
            if (v <= best) continue;
            const double cy = dip_cell(r[1], qy);
            if (fabs(cx / cy - 1) >= FIT_SAME) continue;
            best = v;
            cell = 0.5 * (cx + cy);
        }
    }
    *score = best;
done:
    free(luma);
    free(lines_buf);
    free(r[0]);
    free(r[1]);
    return best > 0 ? cell : 0;
}
