/*
 * mesh.c - the elastic grid: a lattice whose column and row boundaries
 * are smooth curves, fitted to one frame's edges, tracked from frame to
 * frame, and sampled into canonical cells. Video models draw the look of
 * pixels without a lattice: the local cell size drifts 10-20 % across
 * the frame and the bend wobbles over time (docs/architecture.md section 2). Not the
 * regular grid (detect.c) nor the cell-size candidates (period.c).
 *
 * Representation. Per axis, a lattice coordinate u(x, y) in cells whose
 * whole values are the boundaries: for columns, u = x / cell + r(x, y),
 * with r on nodes every cell / 2 pixels along x and one per band of 2
 * cells across (bilinear between them). Rows likewise with x and y
 * swapped. Native column i covers u in [k0 + i, k0 + i + 1).
 *
 * Fit (the lock).
 * 1. Demodulate the edge profile of every band at the nominal frequency
 *    (edges.h): z = |z| exp(-2 pi i r_local).
 * 2. Unwrap: the phase increments between neighbouring nodes, as
 *    arg(z_j+1 conj(z_j)) smoothed over a cell (robust where edges are
 *    sparse), integrated by weighted least squares with a curvature
 *    penalty along and across bands (so a gap without edges is bridged by
 *    continuing the local cell size, not the nominal one), plus the
 *    clip-wide offset from the phases themselves.
 * 3. Refine: demodulate against the current u, and fit r to the field's
 *    edge-weighted mean in the window plus the residual phase (axis_target),
 *    weighted by |z|, with the curvature penalty and a weak pull of the
 *    slope to the nominal cell (where there are no edges at all, the
 *    lattice continues at the nominal size). Three rounds.
 * 4. The nominal cell is re-estimated as the sprite's mean cell (its width
 *    per band over the cells the field counts across it) and the fit
 *    repeated until it settles: each fit leans to the cell it starts from.
 *    The count is the frame over that mean cell (averaged over the
 *    lookahead by pfi_mesh_recount, and pooled over the two axes when they
 *    agree within MESH_SQUARE_TOL: pixels are square): the background
 *    cannot tell where the frame's edges fall on a lattice that bends.
 * Measured on synthetic bent upscales (tests/test_mesh.c: exact count on
 * 20 of 20, mean boundary error 0.07 cell) and on
 * ../shared/wild/sprited_one_part00.webp.
 *
 * Tracking. Each new frame is demodulated against the previous field; the
 * residual phase (a fraction of a cell) is smoothed with the evidence as
 * weights (normalised convolution) and added, at most MESH_TRACK_MAX
 * cells per frame, so the phase never jumps. Where a frame shows no edges
 * the field stays. When the field has moved by more than half a cell plus
 * a hysteresis from the reference on average, it is re-indexed by a
 * whole cell: the sprite then moves by one native pixel, once.
 */
#include "grid/grid.h"
#include "grid/edges.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define MESH_WINDOW_CELLS 1.5     /* demodulation window sigma, cells */
#define MESH_STEP_CELLS 0.45      /* edge finder's box step, cells */
#define MESH_BAND_CELLS 2.0       /* band height, cells */
#define MESH_NODE_CELLS 0.5       /* node spacing along the axis, cells */
#define MESH_INC_SMOOTH_CELLS 1.0 /* smoothing of the phase increments, cells */
#define MESH_CURV_INIT 0.005      /* curvature weight of the unwrapping fit */
#define MESH_CURV_REFINE 0.05     /* curvature weight of the refinement */
#define MESH_SLOPE_PRIOR 1e-4     /* pull of the local slope to the nominal cell */
#define MESH_REFINE_ROUNDS 3
#define MESH_PASSES 4             /* fits at most, each at the last mean cell */
#define MESH_SETTLED 0.0025       /* relative change of the mean cell that ends them */
#define MESH_START 0.96           /* the first fit's cell over the candidate's: a fit
                                     from a cell too small loses fewer cells than one
                                     from a cell too large (measured) */
#define MESH_CG_ITERS 300
#define MESH_CG_TOL 1e-8          /* relative squared residual */
#define MESH_TRACK_SIGMA_CELLS 2.0 /* tracking: smoothing along the axis, cells */
#define MESH_TRACK_MAX 0.35       /* tracking: largest move per frame, cells */
#define MESH_TRACK_FLOOR 0.05     /* tracking: evidence (share of the 95th
                                     percentile) under which a place stays */
#define MESH_REINDEX_HYST 0.45    /* re-index past 0.5 + this many cells: a video model's
                                     sway of up to 0.9 cell either way stays still (val
                                     video_bent_08 sways 0.72: acc_opaque 0.49 at 0.2, 0.60);
                                     whole-pixel moves do not need it (test_mesh) */
#define MESH_CONTENT_SHARE 0.2    /* content: evidence over this share of the 95th percentile */
#define MESH_MEAN_MIN_CELLS 4.0   /* bands with less content across are left out of the mean cell */
#define MESH_SQUARE_TOL 0.08      /* axes' mean cells closer than this (relative) are one square
                                     cell: their mean counts both axes */

typedef struct mesh_axis {
    int len;        /* frame side along the axis, px */
    int lines;      /* frame side across */
    int n;          /* positions along: len + 1 */
    int band;       /* band height asked for, lines */
    int nb;         /* bands */
    int step;       /* node spacing, px */
    int nx;         /* nodes along */
    double cell;    /* nominal cell along this axis, px */
    double q95;     /* the lock's evidence scale (95th percentile of |z|) */
    int k0;         /* lattice index of native cell 0 */
    int cells;      /* native cells along this axis */
    double *r;      /* (nb, nx) field, cells */
    double *ref;    /* (nb, nx) the field at the lock */
    double *wt;     /* (nb, nx) evidence of the lock's fit, for content weights */
    float *u;       /* (nb, n) dense lattice coordinate */
    float *inv;     /* (nb, cells k + 1) position of every sub-boundary, px */
    double shift;   /* mean move from the reference, cells (after re-indexing) */
    double mean_cell; /* the sprite's mean cell at the fit, px (0 = unknown) */
} mesh_axis;

struct pfi_mesh {
    int w, h, k;
    double cell;          /* nominal cell, input px */
    mesh_axis ax[2];      /* 0: columns (x), 1: rows (y) */
    double confidence, bend;
    int luma_only;        /* subsampled chroma: edges from luma and alpha */
    pfi_logger lg;
    /* scratch */
    float *zr, *zi, *zm, *sc;
    size_t zcap;
};

/* ---- small helpers ---------------------------------------------------------- */

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The q-quantile (0..1) of v (n): the element of rank floor(q (n - 1)),
 * the one a sort would put there, selected in a copy in tmp (Hoare's
 * quickselect, median-of-three pivot: expected O(n)). */
static double quantile(const double *v, size_t n, double q, double *tmp)
{
    if (n == 0) return 0;
    memcpy(tmp, v, sizeof *v * n);
    const ptrdiff_t k = (ptrdiff_t)clampd(q * (double)(n - 1), 0, (double)(n - 1));
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1;
    while (lo < hi) {
        const double a = tmp[lo], b = tmp[lo + (hi - lo) / 2], c = tmp[hi];
        const double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {   /* then [lo, j] <= pivot <= [i, hi], and (j, i) == pivot */
            while (tmp[i] < pivot) i++;
            while (tmp[j] > pivot) j--;
            if (i <= j) {
                const double t = tmp[i];
                tmp[i++] = tmp[j];
                tmp[j--] = t;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return tmp[k];
}

static double node_pos(const mesh_axis *a, int j) { return (double)j * a->step; }

/* The dense field u (nb, n) from the nodes. */
static void axis_dense(mesh_axis *a, double cell)
{
    for (int b = 0; b < a->nb; b++) {
        const double *r = a->r + (size_t)b * a->nx;
        float *u = a->u + (size_t)b * a->n;
        for (int x = 0; x < a->n; x++) {
            const double t = (double)x / a->step;
            int j = (int)t;
            if (j >= a->nx - 1) j = a->nx - 2;
            const double f = t - j;
            u[x] = (float)(x / cell + r[j] * (1 - f) + r[j + 1] * f);
        }
    }
}

/* ---- least squares on the node lattice -------------------------------------
 * Unknowns r (nb, nx). Terms, each weighted:
 *   wx (r[b][j+1] - r[b][j] - gx)^2     increments along
 *   wy (r[b+1][j] - r[b][j] - gy)^2     increments across
 *   wv (r[b][j] - tv)^2                 values
 *   cx (second difference along)^2, cy (second difference across)^2
 *   sp (first difference along)^2       slope pull to the nominal cell
 *   eps r^2                             fixes the free offset
 * solved by conjugate gradients on the normal equations. */
typedef struct ls_sys {
    int nb, nx;
    const double *wx, *gx, *wy, *gy, *wv, *tv;   /* any may be NULL */
    double cx, cy, sp, eps;
} ls_sys;

static void ls_apply(const ls_sys *s, const double *v, double *o)
{
    const int nb = s->nb, nx = s->nx;
    const size_t N = (size_t)nb * nx;
    for (size_t i = 0; i < N; i++) o[i] = s->eps * v[i] + (s->wv ? s->wv[i] * v[i] : 0);
    for (int b = 0; b < nb; b++)
        for (int j = 0; j + 1 < nx; j++) {
            const size_t i = (size_t)b * nx + j;
            const double w = (s->wx ? s->wx[(size_t)b * (nx - 1) + j] : 0) + s->sp;
            const double d = w * (v[i + 1] - v[i]);
            o[i + 1] += d;
            o[i] -= d;
        }
    if (s->wy)
        for (int b = 0; b + 1 < nb; b++)
            for (int j = 0; j < nx; j++) {
                const size_t i = (size_t)b * nx + j;
                const double d = s->wy[i] * (v[i + nx] - v[i]);
                o[i + nx] += d;
                o[i] -= d;
            }
    for (int b = 0; b < nb; b++)
        for (int j = 1; j + 1 < nx; j++) {
            const size_t i = (size_t)b * nx + j;
            const double d = s->cx * (v[i - 1] - 2 * v[i] + v[i + 1]);
            o[i - 1] += d;
            o[i] -= 2 * d;
            o[i + 1] += d;
        }
    for (int b = 1; b + 1 < nb; b++)
        for (int j = 0; j < nx; j++) {
            const size_t i = (size_t)b * nx + j;
            const double d = s->cy * (v[i - nx] - 2 * v[i] + v[i + nx]);
            o[i - nx] += d;
            o[i] -= 2 * d;
            o[i + nx] += d;
        }
}

static void ls_rhs(const ls_sys *s, double *o)
{
    const int nb = s->nb, nx = s->nx;
    const size_t N = (size_t)nb * nx;
    for (size_t i = 0; i < N; i++) o[i] = s->wv ? s->wv[i] * s->tv[i] : 0;
    if (s->wx)
        for (int b = 0; b < nb; b++)
            for (int j = 0; j + 1 < nx; j++) {
                const size_t e = (size_t)b * (nx - 1) + j, i = (size_t)b * nx + j;
                o[i + 1] += s->wx[e] * s->gx[e];
                o[i] -= s->wx[e] * s->gx[e];
            }
    if (s->wy)
        for (int b = 0; b + 1 < nb; b++)
            for (int j = 0; j < nx; j++) {
                const size_t i = (size_t)b * nx + j;
                o[i + nx] += s->wy[i] * s->gy[i];
                o[i] -= s->wy[i] * s->gy[i];
            }
}

/* The diagonal of the normal matrix (Jacobi preconditioner). */
static void ls_diag(const ls_sys *s, double *d)
{
    const int nb = s->nb, nx = s->nx;
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < nx; j++) {
            const size_t i = (size_t)b * nx + j;
            double v = s->eps + (s->wv ? s->wv[i] : 0);
            if (j > 0) v += (s->wx ? s->wx[(size_t)b * (nx - 1) + j - 1] : 0) + s->sp;
            if (j + 1 < nx) v += (s->wx ? s->wx[(size_t)b * (nx - 1) + j] : 0) + s->sp;
            if (s->wy && b > 0) v += s->wy[i - nx];
            if (s->wy && b + 1 < nb) v += s->wy[i];
            /* second differences: 4 as the centre of a triplet, 1 at its ends */
            v += s->cx * ((j > 0 && j + 1 < nx ? 4 : 0) + (j >= 2 ? 1 : 0) + (j + 2 < nx ? 1 : 0));
            v += s->cy * ((b > 0 && b + 1 < nb ? 4 : 0) + (b >= 2 ? 1 : 0) + (b + 2 < nb ? 1 : 0));
            d[i] = v > 0 ? 1.0 / v : 1.0;
        }
}

/* Solves into x (warm start: x holds the first guess) by preconditioned
 * conjugate gradients. work: 6 N doubles. */
static void ls_solve(const ls_sys *s, double *x, double *work)
{
    const size_t N = (size_t)s->nb * s->nx;
    double *r = work, *p = work + N, *ap = work + 2 * N, *b = work + 3 * N, *m = work + 4 * N, *z = work + 5 * N;
    double rz = 0, bb = 0, rr;
    ls_rhs(s, b);
    ls_diag(s, m);
    ls_apply(s, x, ap);
    for (size_t i = 0; i < N; i++) {
        r[i] = b[i] - ap[i];
        z[i] = m[i] * r[i];
        p[i] = z[i];
        rz += r[i] * z[i];
        bb += b[i] * b[i];
    }
    rr = 0;
    for (size_t i = 0; i < N; i++) rr += r[i] * r[i];
    for (int it = 0; it < MESH_CG_ITERS && rr > MESH_CG_TOL * (bb + 1e-30); it++) {
        double pap = 0, rz2 = 0;
        ls_apply(s, p, ap);
        for (size_t i = 0; i < N; i++) pap += p[i] * ap[i];
        if (!(pap > 0)) break;
        const double al = rz / pap;
        rr = 0;
        for (size_t i = 0; i < N; i++) {
            x[i] += al * p[i];
            r[i] -= al * ap[i];
            z[i] = m[i] * r[i];
            rz2 += r[i] * z[i];
            rr += r[i] * r[i];
        }
        const double be = rz2 / rz;
        rz = rz2;
        for (size_t i = 0; i < N; i++) p[i] = z[i] + be * p[i];
    }
}

/* ---- fitting one axis ------------------------------------------------------------ */

static pf_status axis_setup(mesh_axis *a, int len, int lines, double cell)
{
    memset(a, 0, sizeof *a);
    a->cell = cell;
    a->len = len;
    a->lines = lines;
    a->n = len + 1;
    a->band = (int)lrint(MESH_BAND_CELLS * cell) < 4 ? 4 : (int)lrint(MESH_BAND_CELLS * cell);
    a->nb = lines / a->band < 1 ? 1 : lines / a->band;
    a->step = (int)(MESH_NODE_CELLS * cell) < 1 ? 1 : (int)(MESH_NODE_CELLS * cell);
    a->nx = len / a->step + 2;
    const size_t N = (size_t)a->nb * a->nx;
    a->r = calloc(N, sizeof *a->r);
    a->ref = calloc(N, sizeof *a->ref);
    a->wt = calloc(N, sizeof *a->wt);
    a->u = pfi_malloc4((size_t)a->nb, (size_t)a->n, 1, sizeof *a->u);
    return a->r && a->ref && a->wt && a->u ? PF_OK : PF_ENOMEM;
}

static void axis_free(mesh_axis *a)
{
    free(a->r);
    free(a->ref);
    free(a->wt);
    free(a->u);
    free(a->inv);
    memset(a, 0, sizeof *a);
}

/* The demodulated value at node j of band b (nearest position). */
static size_t node_at(const mesh_axis *a, int b, int j)
{
    int x = j * a->step;
    if (x > a->n - 1) x = a->n - 1;
    return (size_t)b * a->n + (size_t)x;
}

/* Step 2: unwrap the regular demodulation into a field. */
static pf_status axis_unwrap(pfi_mesh *m, mesh_axis *a, const pfi_edge_bands *eb, double cell)
{
    const int nb = a->nb, nx = a->nx;
    const size_t N = (size_t)nb * nx;
    double *buf = malloc(sizeof *buf * (N * 13 + 64));
    if (!buf) return PF_ENOMEM;
    double *zr = buf, *zi = buf + N, *wx = buf + 2 * N, *gx = buf + 3 * N, *wy = buf + 4 * N, *gy = buf + 5 * N;
    double *tmp = buf + 6 * N, *work = buf + 7 * N;
    pfi_edge_demod(eb, NULL, cell, MESH_WINDOW_CELLS * cell, m->zr, m->zi, m->zm, m->sc);
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < nx; j++) {
            const size_t k = node_at(a, b, j);
            zr[(size_t)b * nx + j] = m->zr[k];
            zi[(size_t)b * nx + j] = m->zi[k];
        }
    /* the scale of the weights: the 95th percentile of |z| */
    for (size_t i = 0; i < N; i++) tmp[i] = hypot(zr[i], zi[i]);
    double s95 = quantile(tmp, N, 0.95, work);
    s95 = s95 > 0 ? s95 * s95 : 1;
    /* increments along: z_{j+1} conj(z_j), smoothed along the band */
    {
        float *pr = m->sc, *pi = m->sc + a->n, *t = m->zm;   /* scratch rows (n >= nx) */
        const double sig = MESH_INC_SMOOTH_CELLS * cell / a->step;
        for (int b = 0; b < nb; b++) {
            const double *r0 = zr + (size_t)b * nx, *i0 = zi + (size_t)b * nx;
            for (int j = 0; j + 1 < nx; j++) {
                pr[j] = (float)(r0[j + 1] * r0[j] + i0[j + 1] * i0[j]);
                pi[j] = (float)(i0[j + 1] * r0[j] - r0[j + 1] * i0[j]);
            }
            pfi_gauss_1d(pr, nx - 1, sig, t);
            pfi_gauss_1d(pi, nx - 1, sig, t);
            for (int j = 0; j + 1 < nx; j++) {
                const size_t e = (size_t)b * (nx - 1) + j;
                gx[e] = atan2(pi[j], pr[j]) / (2 * M_PI);
                wx[e] = hypot(pr[j], pi[j]) / s95;
            }
        }
        for (int b = 0; b + 1 < nb; b++) {
            const double *r0 = zr + (size_t)b * nx, *i0 = zi + (size_t)b * nx;
            const double *r1 = r0 + nx, *i1 = i0 + nx;
            for (int j = 0; j < nx; j++) {
                pr[j] = (float)(r1[j] * r0[j] + i1[j] * i0[j]);
                pi[j] = (float)(i1[j] * r0[j] - r1[j] * i0[j]);
            }
            pfi_gauss_1d(pr, nx, sig, t);
            pfi_gauss_1d(pi, nx, sig, t);
            for (int j = 0; j < nx; j++) {
                gy[(size_t)b * nx + j] = atan2(pi[j], pr[j]) / (2 * M_PI);
                wy[(size_t)b * nx + j] = hypot(pr[j], pi[j]) / s95;
            }
        }
    }
    ls_sys s = {nb, nx, wx, gx, nb > 1 ? wy : NULL, gy, NULL, NULL, MESH_CURV_INIT, MESH_CURV_INIT,
                MESH_SLOPE_PRIOR, 1e-8};
    memset(a->r, 0, sizeof *a->r * N);
    ls_solve(&s, a->r, work);
    /* the offset: circular mean of phase minus field, weighted by |z| */
    double cre = 0, cim = 0;
    for (size_t i = 0; i < N; i++) {
        const double ph = atan2(zi[i], zr[i]) / (2 * M_PI);   /* r where the edges are */
        const double d = 2 * M_PI * (ph - a->r[i]), w = hypot(zr[i], zi[i]);
        cre += w * cos(d);
        cim += w * sin(d);
    }
    const double off = atan2(cim, cre) / (2 * M_PI);
    for (size_t i = 0; i < N; i++) a->r[i] += off;
    free(buf);
    return PF_OK;
}

/* Where the edges put the field, per node: tgt (nb, nx) in cells, with
 * weight q = |z| (not normalised). The residual phase of the edges in a
 * window is relative to the field at the edges themselves, so it is added
 * to the field's edge-weighted mean over the same window, not to its value
 * at the node: near the end of a run of edges the two differ by the slope
 * times the distance to the edges' centroid, and adding to the node's value
 * makes any slope feed itself round after round. */
static void axis_target(pfi_mesh *m, mesh_axis *a, const pfi_edge_bands *eb, double cell,
                        double *tgt, double *q)
{
    const int n = a->n;
    axis_dense(a, cell);
    pfi_edge_demod(eb, a->u, cell, MESH_WINDOW_CELLS * cell, m->zr, m->zi, m->zm, m->sc);
    float *pr = m->sc, *tmp = m->sc + n;
    for (int b = 0; b < a->nb; b++) {
        const float *p = eb->p + (size_t)b * n, *u = a->u + (size_t)b * n;
        for (int x = 0; x < n; x++) pr[x] = p[x] * (float)(u[x] - x / cell);
        pfi_gauss_1d(pr, n, MESH_WINDOW_CELLS * cell, tmp);
        for (int j = 0; j < a->nx; j++) {
            const size_t k = node_at(a, b, j), i = (size_t)b * a->nx + j;
            const int x = (int)(k - (size_t)b * n);
            const double mm = m->zm[k];
            const double ravg = mm > 1e-12 ? pr[x] / mm : a->r[i];
            tgt[i] = ravg + atan2(m->zi[k], m->zr[k]) / (2 * M_PI);
            q[i] = hypot(m->zr[k], m->zi[k]);
        }
    }
}

/* Step 3: rounds of residual fitting. wt gets the last weights. */
static pf_status axis_refine(pfi_mesh *m, mesh_axis *a, const pfi_edge_bands *eb, double cell, int rounds)
{
    const size_t N = (size_t)a->nb * a->nx;
    double *buf = malloc(sizeof *buf * (N * 10 + 64));
    if (!buf) return PF_ENOMEM;
    double *q = buf + N, *tv = buf + 2 * N, *work = buf + 3 * N;
    for (int it = 0; it < rounds; it++) {
        axis_target(m, a, eb, cell, tv, q);
        double s95 = quantile(q, N, 0.95, work);
        s95 = s95 > 0 ? s95 : 1;
        for (size_t i = 0; i < N; i++) q[i] /= s95;
        ls_sys s = {a->nb, a->nx, NULL, NULL, NULL, NULL, q, tv, MESH_CURV_REFINE, MESH_CURV_REFINE,
                    MESH_SLOPE_PRIOR, 1e-8};
        ls_solve(&s, a->r, work);
        memcpy(a->wt, q, sizeof *q * N);
    }
    free(buf);
    return PF_OK;
}

/* The sprite's mean cell along the axis, px (0 when there is too little
 * content): per band, the width from the first to the last node with
 * evidence over the number of cells the field counts across it. This is
 * the mean over the sprite's area, not over its edges: edges crowd at the
 * outline, and a bent lattice's local cell differs there. On a straight
 * lattice it is exact (0.1-0.3 % measured). */
static double axis_mean_cell(mesh_axis *a, double *work)
{
    const size_t N = (size_t)a->nb * a->nx;
    const double lim = MESH_CONTENT_SHARE * quantile(a->wt, N, 0.95, work);
    double sw = 0, sc = 0;
    for (int b = 0; b < a->nb; b++) {
        const double *w = a->wt + (size_t)b * a->nx, *r = a->r + (size_t)b * a->nx;
        int j0 = -1, j1 = -1;
        for (int j = 0; j < a->nx; j++)
            if (w[j] > lim) {
                if (j0 < 0) j0 = j;
                j1 = j;
            }
        if (j0 < 0) continue;
        const double width = (double)(j1 - j0) * a->step;
        if (width < MESH_MEAN_MIN_CELLS * a->cell) continue;
        sw += width;
        sc += width / a->cell + r[j1] - r[j0];
    }
    return sc > 0 ? sw / sc : 0;
}

/* Native cells along the axis and the lattice index of the first. The
 * count is the frame's extent (pfi_grid_extent: an evened side's extra
 * pixel left out) over the sprite's mean cell: where the frame's edges
 * fall on the lattice depends on how the lattice bends there, where there
 * is nothing to see, so counting the cells whose centre is in the frame
 * would be off by one as often as not. The cells are then centred on the
 * frame along the middle band. Without a mean cell, the centres in the
 * frame are counted. */
static void axis_count(mesh_axis *a, double mean_cell)
{
    axis_dense(a, a->cell);
    const float *u = a->u + (size_t)(a->nb / 2) * a->n;
    if (mean_cell > 0) {
        const double ext = pfi_grid_extent(a->len, mean_cell);
        a->cells = (int)lrint(ext / mean_cell);
        if (a->cells < 1) a->cells = 1;
        const int ie = (int)ext;   /* u at ext, between nodes ie and ie + 1 */
        const double ue = ie < a->len ? u[ie] + (ext - ie) * (u[ie + 1] - u[ie]) : u[ie];
        a->k0 = (int)lrint((u[0] + ue - a->cells) / 2);
        return;
    }
    const int k0 = (int)ceil(u[0] - 0.5), k1 = (int)floor(u[a->n - 1] - 0.5);
    a->k0 = k0;
    a->cells = k1 - k0 + 1 < 1 ? 1 : k1 - k0 + 1;
}

/* Pixels are square: where the two axes' mean cells (px, 0 = unknown)
 * differ by less than MESH_SQUARE_TOL, both take their mean. Each axis
 * measures the bend over its own sprite rows or columns, and their errors
 * partly cancel (val + dev video_bent: the right size on 6 + 6 clips of
 * 20 instead of 3 + 3; a 15% wider cell stays per axis, test_mesh). */
static void square_cell(double mc[2])
{
    if (mc[0] > 0 && mc[1] > 0 && fabs(mc[0] / mc[1] - 1) < MESH_SQUARE_TOL) mc[0] = mc[1] = 0.5 * (mc[0] + mc[1]);
}

/* How far the field bends from a straight, even lattice over the content:
 * the 95th percentile of |r - plane|, cells. */
static double axis_bend(const mesh_axis *a, double *work)
{
    const size_t N = (size_t)a->nb * a->nx;
    const double lim = MESH_CONTENT_SHARE * quantile(a->wt, N, 0.95, work);
    double A[3][3] = {{0}}, B[3] = {0};
    size_t cnt = 0;
    for (int b = 0; b < a->nb; b++)
        for (int j = 0; j < a->nx; j++) {
            const size_t i = (size_t)b * a->nx + j;
            if (!(a->wt[i] > lim)) continue;
            const double f[3] = {1, node_pos(a, j) / a->len, (b + 0.5) / a->nb};
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) A[r][c] += f[r] * f[c];
                B[r] += f[r] * a->r[i];
            }
            cnt++;
        }
    if (cnt < 3) return 0;
    /* 3x3 solve by Cramer's rule */
    const double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                       A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                       A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
    if (fabs(det) < 1e-12) return 0;
    double c[3];
    for (int k = 0; k < 3; k++) {
        double M[3][3];
        memcpy(M, A, sizeof M);
        for (int r = 0; r < 3; r++) M[r][k] = B[r];
        c[k] = (M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) -
                M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
                M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0])) / det;
    }
    size_t k = 0;
    double *dev = work + N;
    for (int b = 0; b < a->nb; b++)
        for (int j = 0; j < a->nx; j++) {
            const size_t i = (size_t)b * a->nx + j;
            if (!(a->wt[i] > lim)) continue;
            dev[k++] = fabs(a->r[i] - c[0] - c[1] * node_pos(a, j) / a->len - c[2] * (b + 0.5) / a->nb);
        }
    return quantile(dev, k, 0.95, work + 2 * N);
}

/* The mean local coherence of the edges against the fitted field (energy
 * weighted), 0..1. */
static double axis_coherence(pfi_mesh *m, mesh_axis *a, const pfi_edge_bands *eb, double cell)
{
    double sz = 0, sm = 0;
    axis_dense(a, cell);
    pfi_edge_demod(eb, a->u, cell, MESH_WINDOW_CELLS * cell, m->zr, m->zi, m->zm, m->sc);
    for (size_t i = 0; i < (size_t)a->nb * a->n; i++) {
        sz += m->zr[i];   /* the in-phase part: edges on the lines */
        sm += m->zm[i];
    }
    return sm > 0 ? fmax(0, sz / sm) : 0;
}

/* ---- the public mesh ----------------------------------------------------------------- */

static pf_status mesh_scratch(pfi_mesh *m)
{
    size_t need = 0;
    for (int a = 0; a < 2; a++) {
        const size_t z = (size_t)m->ax[a].nb * m->ax[a].n;
        if (z > need) need = z;
    }
    if (need <= m->zcap) return PF_OK;
    free(m->zr);
    free(m->zi);
    free(m->zm);
    free(m->sc);
    m->zr = pfi_malloc4(need, sizeof(float), 1, 1);
    m->zi = pfi_malloc4(need, sizeof(float), 1, 1);
    m->zm = pfi_malloc4(need, sizeof(float), 1, 1);
    m->sc = pfi_malloc4((size_t)(m->w > m->h ? m->w : m->h) + 2, 3, sizeof(float), 1);
    m->zcap = m->zr && m->zi && m->zm && m->sc ? need : 0;
    return m->zcap ? PF_OK : PF_ENOMEM;
}

static int edge_step(double cell)
{
    const int s = (int)lrint(MESH_STEP_CELLS * cell);
    return s < 1 ? 1 : s;
}

/* Fits both axes at the cells in m->ax[].cell (already set up). */
static pf_status mesh_fit_pass(pfi_mesh *m, const uint8_t *rgba, double coh[2], double mean_cell[2])
{
    pf_status st;
    if ((st = mesh_scratch(m)) < 0) return st;
    for (int i = 0; i < 2; i++) {
        mesh_axis *a = &m->ax[i];
        pfi_edge_bands eb;
        if ((st = pfi_edge_bands_make(&eb, rgba, m->w, m->h, i, edge_step(a->cell), a->band, m->luma_only)) < 0) return st;
        if (!(eb.total > 0)) {
            pfi_edge_bands_free(&eb);
            return PF_ENOGRID;
        }
        if ((st = axis_unwrap(m, a, &eb, a->cell)) >= 0 && (st = axis_refine(m, a, &eb, a->cell, MESH_REFINE_ROUNDS)) >= 0) {
            coh[i] = axis_coherence(m, a, &eb, a->cell);
            double *work = malloc(sizeof *work * ((size_t)a->nb * a->nx + 1));
            if (!work) st = PF_ENOMEM;
            else mean_cell[i] = axis_mean_cell(a, work);
            free(work);
        }
        pfi_edge_bands_free(&eb);
        if (st < 0) return st;
    }
    return PF_OK;
}

void pfi_mesh_free(pfi_mesh *m)
{
    if (!m) return;
    axis_free(&m->ax[0]);
    axis_free(&m->ax[1]);
    free(m->zr);
    free(m->zi);
    free(m->zm);
    free(m->sc);
    free(m);
}

pf_status pfi_mesh_fit(pfi_mesh **out, const uint8_t *rgba, int w, int h, double cell, int k,
                      int quick, const pfi_logger *lg)
{
    pfi_mesh *m;
    pf_status st;
    double cells[2] = {cell * MESH_START, cell * MESH_START}, coh[2] = {0, 0}, mcell[2] = {0, 0};

    if (out) *out = NULL;
    if (!out || !rgba || w < 2 || h < 2 || k < 1 || k > 8 || !(cell >= 2.5) || cell > fmin(w, h) / 3.0)
        return PF_EINVAL;
    if (w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE) return PF_ELIMIT;
    if (!(m = calloc(1, sizeof *m))) return PF_ENOMEM;
    m->w = w;
    m->h = h;
    m->k = k;
    m->luma_only = pfi_grid_chroma_subsampled(rgba, w, h);
    if (lg) m->lg = *lg;
    const int passes = quick ? 1 : MESH_PASSES;
    for (int pass = 0; pass < passes; pass++) {
        for (int i = 0; i < 2; i++) {
            axis_free(&m->ax[i]);
            if ((st = axis_setup(&m->ax[i], i == 0 ? w : h, i == 0 ? h : w, cells[i])) < 0) goto fail;
        }
        double mc[2] = {0, 0};
        if ((st = mesh_fit_pass(m, rgba, coh, mc)) < 0) goto fail;
        for (int i = 0; i < 2; i++) mcell[i] = fabs(mc[i] - cell) < 0.25 * cell ? mc[i] : 0;
        pfi_debug(lg, "grid: mesh pass %d at %.3f x %.3f px: coherence %.3f %.3f", pass, cells[0],
                 cells[1], coh[0], coh[1]);
        if (pass == passes - 1) break;
        /* the sprite's own mean cell, per axis (a bent lattice's mean
         * stretch over the sprite differs by axis); each fit is pulled
         * towards the cell it starts from, so fit again until it settles */
        int moved = 0;
        for (int i = 0; i < 2; i++) {
            const double c = fabs(mc[i] - cell) < 0.25 * cell ? mc[i] : cells[i];
            moved |= fabs(c / cells[i] - 1) > MESH_SETTLED;
            cells[i] = c;
        }
        if (!moved) break;
    }
    square_cell(mcell);
    {
        double bend = 0;
        for (int i = 0; i < 2; i++) {
            mesh_axis *a = &m->ax[i];
            const size_t N = (size_t)a->nb * a->nx;
            double *work = malloc(sizeof *work * (3 * N + 3));
            if (!work) {
                st = PF_ENOMEM;
                goto fail;
            }
            a->q95 = 1;   /* wt is normalised by the last refinement's scale */
            bend = fmax(bend, axis_bend(a, work));
            free(work);
            a->mean_cell = mcell[i];
            axis_count(a, mcell[i]);
            memcpy(a->ref, a->r, sizeof *a->r * N);
            if (!(a->inv = pfi_malloc4((size_t)a->nb, (size_t)a->cells * k + 1, sizeof(float), 1))) {
                st = PF_ENOMEM;
                goto fail;
            }
        }
        m->bend = bend;
        axis_dense(&m->ax[0], m->ax[0].cell);
        axis_dense(&m->ax[1], m->ax[1].cell);
        m->cell = 0.5 * (m->ax[0].cell + m->ax[1].cell);
        m->confidence = fmin(coh[0], coh[1]);
    }
    pfi_debug(lg, "grid: mesh %dx%d cells of %.3f x %.3f px, bend %.2f cells, coherence %.3f",
             m->ax[0].cells, m->ax[1].cells, m->ax[0].cell, m->ax[1].cell, m->bend, m->confidence);
    *out = m;
    return PF_OK;
fail:
    pfi_mesh_free(m);
    return st;
}

pf_status pfi_mesh_track(pfi_mesh *m, const uint8_t *rgba)
{
    if (!m || !rgba) return PF_EINVAL;
    for (int i = 0; i < 2; i++) {
        mesh_axis *a = &m->ax[i];
        const size_t N = (size_t)a->nb * a->nx;
        pfi_edge_bands eb;
        pf_status st;
        double *buf = malloc(sizeof *buf * (4 * N + 8));
        if (!buf) return PF_ENOMEM;
        if ((st = pfi_edge_bands_make(&eb, rgba, m->w, m->h, i, edge_step(a->cell), a->band, m->luma_only)) < 0) {
            free(buf);
            return st;
        }
        double *res = buf, *q = buf + N, *num = buf + 2 * N, *den = buf + 3 * N;
        axis_target(m, a, &eb, a->cell, res, q);
        for (size_t j = 0; j < N; j++) res[j] -= a->r[j];
        pfi_edge_bands_free(&eb);
        /* normalised convolution along (sigma in nodes) and across (one band) */
        const double s95 = quantile(q, N, 0.95, num);
        const double scale = s95 > 0 ? s95 : 1;
        float *row = m->sc, *tmp = m->sc + a->nx + 1;
        for (size_t j = 0; j < N; j++) {
            q[j] /= scale;
            num[j] = res[j] * q[j];
            den[j] = q[j];
        }
        for (int pass = 0; pass < 2; pass++) {
            double *v = pass ? den : num;
            for (int b = 0; b < a->nb; b++) {
                for (int j = 0; j < a->nx; j++) row[j] = (float)v[(size_t)b * a->nx + j];
                pfi_gauss_1d(row, a->nx, MESH_TRACK_SIGMA_CELLS * a->cell / a->step, tmp);
                for (int j = 0; j < a->nx; j++) v[(size_t)b * a->nx + j] = row[j];
            }
            if (a->nb > 1)
                for (int j = 0; j < a->nx; j++) {
                    for (int b = 0; b < a->nb; b++) row[b] = (float)v[(size_t)b * a->nx + j];
                    pfi_gauss_1d(row, a->nb, 1.0, tmp);
                    for (int b = 0; b < a->nb; b++) v[(size_t)b * a->nx + j] = row[b];
                }
        }
        double sw = 0, sd = 0;
        for (size_t j = 0; j < N; j++) {
            const double d = clampd(num[j] / fmax(den[j], MESH_TRACK_FLOOR), -MESH_TRACK_MAX, MESH_TRACK_MAX);
            a->r[j] += d;
            sw += a->wt[j];
            sd += a->wt[j] * (a->r[j] - a->ref[j]);
        }
        a->shift = sw > 0 ? sd / sw : 0;
        if (fabs(a->shift) > 0.5 + MESH_REINDEX_HYST) {
            const double whole = a->shift > 0 ? 1 : -1;
            for (size_t j = 0; j < N; j++) a->r[j] -= whole;
            a->shift -= whole;
        }
        axis_dense(a, a->cell);
        free(buf);
    }
    return PF_OK;
}

/* The inverse of every band's field at the sub-boundaries k0 + j / k. */
static void axis_inverse(mesh_axis *a, int k)
{
    const int nt = a->cells * k + 1;
    axis_dense(a, a->cell);
    for (int b = 0; b < a->nb; b++) {
        const float *u = a->u + (size_t)b * a->n;
        float *inv = a->inv + (size_t)b * nt;
        int x = 0;
        double umax = u[0];
        for (int j = 0; j < nt; j++) {
            const double t = a->k0 + (double)j / k;
            if (t <= u[0]) {
                inv[j] = (float)((t - u[0]) * a->cell);
                continue;
            }
            while (x + 1 < a->n && fmax(umax, u[x + 1]) < t) {
                x++;
                umax = fmax(umax, u[x]);
            }
            if (x + 1 >= a->n) {
                inv[j] = (float)(a->len + (t - u[a->n - 1]) * a->cell);
                continue;
            }
            const double u1 = fmax(umax, u[x + 1]), d = u1 - umax;
            inv[j] = (float)(x + (d > 1e-9 ? (t - umax) / d : 0));
        }
    }
}

/* One coordinate across axis a: its band pair and weight, looked up once
 * for the sub-boundaries read there. */
typedef struct axis_row {
    const float *i0, *i1;   /* the inverse of the two bands, (nt) each */
    double fb;              /* weight of i1 */
    int nt;
} axis_row;

static axis_row axis_row_at(const mesh_axis *a, int k, double c)
{
    axis_row r;
    r.nt = a->cells * k + 1;
    const double bc = c / a->lines * a->nb - 0.5;   /* band index of c */
    int b = (int)floor(bc);
    r.fb = bc - b;
    if (b < 0) b = 0, r.fb = 0;
    if (b >= a->nb - 1) b = a->nb - 1, r.fb = 0;
    r.i0 = a->inv + (size_t)b * r.nt;
    r.i1 = a->inv + (size_t)(b + (r.fb > 0 ? 1 : 0)) * r.nt;
    return r;
}

/* Position along the axis of sub-boundary t (fractional) on row r (px):
 * linear between band centres. */
static double axis_row_pos(const axis_row *r, double t)
{
    const int j = (int)floor(t) < 0 ? 0 : (int)floor(t) >= r->nt - 1 ? r->nt - 2 : (int)floor(t);
    const double ft = t - j;
    const double v0 = r->i0[j] * (1 - ft) + r->i0[j + 1] * ft, v1 = r->i1[j] * (1 - ft) + r->i1[j + 1] * ft;
    return v0 * (1 - r->fb) + v1 * r->fb;
}

/* Position along axis a of sub-boundary t at coordinate c across (px). */
static double axis_at(const mesh_axis *a, int k, double t, double c)
{
    const axis_row r = axis_row_at(a, k, c);
    return axis_row_pos(&r, t);
}

pf_status pfi_mesh_sample(pfi_mesh *m, const uint8_t *rgba, float *out)
{
    const int k = m->k, C = m->ax[0].cells * k, R = m->ax[1].cells * k;
    const size_t plane = (size_t)R * C;
    axis_inverse(&m->ax[0], k);
    axis_inverse(&m->ax[1], k);
    /* the first guess of each column's centre, along the middle row */
    const axis_row mid = axis_row_at(&m->ax[0], k, m->h * 0.5);
    double *xg = malloc(sizeof *xg * (size_t)(C > 0 ? C : 1));
    if (!xg) return PF_ENOMEM;
    for (int X = 0; X < C; X++) xg[X] = axis_row_pos(&mid, X + 0.5);
    for (int Y = 0; Y < R; Y++)
        for (int X = 0; X < C; X++) {
            /* the sub-cell's centre, then its box */
            double yc = axis_at(&m->ax[1], k, Y + 0.5, xg[X]);
            double xc = axis_at(&m->ax[0], k, X + 0.5, yc);
            const axis_row ry = axis_row_at(&m->ax[1], k, xc);
            yc = axis_row_pos(&ry, Y + 0.5);
            const axis_row rx = axis_row_at(&m->ax[0], k, yc);
            const double x0 = axis_row_pos(&rx, X), x1 = axis_row_pos(&rx, X + 1);
            const double y0 = axis_row_pos(&ry, Y), y1 = axis_row_pos(&ry, Y + 1);
            float px[4];
            pfi_grid_sample_box(rgba, m->w, m->h, x0, x1 > x0 ? x1 : x0, y0, y1 > y0 ? y1 : y0, px);
            for (int c = 0; c < 4; c++) out[c * plane + (size_t)Y * C + X] = px[c];
        }
    free(xg);
    return PF_OK;
}

/* Axis i's count from a mean cell (axis_count), with its sampling
 * buffer resized to match. Errors: PF_ENOMEM. */
static pf_status set_count(pfi_mesh *m, int i, double mean_cell)
{
    mesh_axis *a = &m->ax[i];
    const int old = a->cells;
    axis_count(a, mean_cell);
    if (a->cells != old) {
        float *inv = pfi_malloc4((size_t)a->nb, (size_t)a->cells * m->k + 1, sizeof(float), 1);
        if (!inv) return PF_ENOMEM;
        free(a->inv);
        a->inv = inv;
    }
    return PF_OK;
}

pf_status pfi_mesh_recount(pfi_mesh *m, const uint8_t *const *frames, int n)
{
    double sum[2] = {0, 0};
    int cnt[2] = {0, 0};
    pf_status st = PF_OK;
    for (int i = 0; i < 2; i++)
        if (m->ax[i].mean_cell > 0) sum[i] += m->ax[i].mean_cell, cnt[i]++;
    for (int t = 1; t < n && st == PF_OK; t++) {
        if ((st = pfi_mesh_track(m, frames[t])) < 0) break;
        for (int i = 0; i < 2; i++) {
            mesh_axis *a = &m->ax[i];
            double *work = malloc(sizeof *work * ((size_t)a->nb * a->nx + 1));
            if (!work) {
                st = PF_ENOMEM;
                break;
            }
            const double c = axis_mean_cell(a, work);
            free(work);
            if (c > 0 && fabs(c / a->cell - 1) < 0.25) sum[i] += c, cnt[i]++;
        }
    }
    pfi_mesh_rewind(m);
    if (st < 0) return st;
    double mc[2] = {cnt[0] ? sum[0] / cnt[0] : 0, cnt[1] ? sum[1] / cnt[1] : 0};
    square_cell(mc);
    for (int i = 0; i < 2; i++)
        if (mc[i] > 0 && (st = set_count(m, i, mc[i])) < 0) return st;
    return PF_OK;
}

pf_status pfi_mesh_fix_cell(pfi_mesh *m, double cell)
{
    pf_status st = PF_OK;
    if (!(cell > 0)) return PF_EINVAL;
    for (int i = 0; i < 2 && st == PF_OK; i++) st = set_count(m, i, cell);
    return st;
}

void pfi_mesh_rewind(pfi_mesh *m)
{
    for (int i = 0; i < 2; i++) {
        mesh_axis *a = &m->ax[i];
        memcpy(a->r, a->ref, sizeof *a->r * (size_t)a->nb * a->nx);
        a->shift = 0;
        axis_dense(a, a->cell);
    }
}

/* The dense field of axis a at position p along, coordinate c across
 * (linear between band centres and positions). */
static double axis_u(const mesh_axis *a, double p, double c)
{
    double bc = c / a->lines * a->nb - 0.5;
    int b = (int)floor(bc);
    double fb = bc - b;
    if (b < 0) b = 0, fb = 0;
    if (b >= a->nb - 1) b = a->nb - 1, fb = 0;
    const int b1 = fb > 0 ? b + 1 : b;
    const double pc = p < 0 ? 0 : p > a->len ? a->len : p;
    int x = (int)floor(pc);
    if (x >= a->n - 1) x = a->n - 2;
    const double fx = pc - x, extra = (p - pc) / a->cell;
    const float *u0 = a->u + (size_t)b * a->n, *u1 = a->u + (size_t)b1 * a->n;
    const double v0 = u0[x] * (1 - fx) + u0[x + 1] * fx, v1 = u1[x] * (1 - fx) + u1[x + 1] * fx;
    return v0 * (1 - fb) + v1 * fb + extra;
}

void pfi_mesh_coord(const pfi_mesh *m, double x, double y, double *u, double *v)
{
    *u = axis_u(&m->ax[0], x, y) - m->ax[0].k0;
    *v = axis_u(&m->ax[1], y, x) - m->ax[1].k0;
}

void pfi_mesh_centre(const pfi_mesh *m, int i, int j, double *x, double *y)
{
    const int k = m->k;
    double xc = axis_at(&m->ax[0], k, (i + 0.5) * k, m->h * 0.5);
    double yc = axis_at(&m->ax[1], k, (j + 0.5) * k, xc);
    xc = axis_at(&m->ax[0], k, (i + 0.5) * k, yc);
    *y = axis_at(&m->ax[1], k, (j + 0.5) * k, xc);
    *x = xc;
}

void pfi_mesh_size(const pfi_mesh *m, int *cols, int *rows)
{
    if (cols) *cols = m->ax[0].cells;
    if (rows) *rows = m->ax[1].cells;
}

void pfi_mesh_cell(const pfi_mesh *m, double *cell_w, double *cell_h)
{
    if (cell_w) *cell_w = m->ax[0].cell;
    if (cell_h) *cell_h = m->ax[1].cell;
}

double pfi_mesh_bend(const pfi_mesh *m) { return m->bend; }
double pfi_mesh_confidence(const pfi_mesh *m) { return m->confidence; }

void pfi_mesh_shift(const pfi_mesh *m, double *sx, double *sy)
{
    if (sx) *sx = m->ax[0].shift;
    if (sy) *sy = m->ax[1].shift;
}


