/*
 * extract.c - one clip-wide palette from many OKLab colours.
 *
 * Auto mode (colors = 0), in order:
 *  1. a weighted histogram on a 0.01 grid keeps exact OKLab sums per cell;
 *  2. the significant modes of the smoothed histogram seed the centres
 *     (persistence-based clustering, ToMATo: Chazal, Guibas, Oudot,
 *     Skraba, "Persistence-Based Clustering in Riemannian Manifolds",
 *     J. ACM 2013), with trimmed Lloyd iterations (k-means in OKLab);
 *  3. blends are removed: light clusters strung along the mixing path of
 *     two heavier centres (anti-aliasing, cells straddling an edge) are
 *     dropped and the cells on such paths ignored from then on;
 *  4. clusters spread wider than one noisy colour are split (continuous
 *     AI shading becomes steps about the merge distance apart);
 *  5. orphans are recovered: the cells farther than noise from every
 *     centre and off every mixing path of two centres get their own
 *     modes, judged like step 2's. A small colour whose edge blends bridge
 *     it to a big neighbour (a red plume on brown, teal hair on grey) has
 *     too low a peak above that bridge to survive step 2 as a mode, and
 *     its cells, too far from the neighbour's centre for the trimmed means
 *     and the spread test, are seen by nothing else;
 *  6. centres closer than the merge distance are joined and negligible
 *     clusters (light AND near a heavier centre) dropped; light colours
 *     far from everything, such as an eye highlight, stay.
 * colors = N is a maximum: the auto result, reduced to N with Ward merges
 * (Ward 1963) when it has more, then plain Lloyd iterations.
 *
 * Decisions use a "toed" OKLab: below L = 0.2 lightness bends
 * quadratically towards 0 and a, b scale by L / 0.2, because OKLab's cube
 * root spreads 8-bit near-blacks apart ((0,0,0) and (1,1,1) are 0.067
 * apart) and noisy black would otherwise split into several entries.
 * Centres are still means of the plain OKLab inputs.
 *
 * Deterministic: no threads, no random numbers, sorts with full tie-breaks.
 * Not a mapper (map.c) and not a file reader (palette_file.c).
 */
#include "palette/palette.h"

#include <math.h>
#include <string.h>

/* ---- tuning ------------------------------------------------------------- */

#define BIN         0.01f   /* histogram cell side, toed OKLab units */
#define L_TOE       0.2f    /* lightness below which the toe bends L */
#define GL          96      /* cells along toed L: 0 .. 0.96 */
#define GA          80      /* cells along a and b: -0.40 .. 0.40 */
#define AB_MIN      (-0.40f)
#define NCELL       (GL * GA * GA)
#define KRAD        3       /* smoothing kernel radius, cells (sigma = 1 cell) */
#define Z_SIG       4.0f    /* a mode must rise Z_SIG Poisson sigmas above its saddle */
#define TAU_REL     0.10f   /* ... and this share of its height */
#define KEEP_FRAC   0.001   /* an isolated mode this heavy is kept even if not significant */
#define TRIM        0.05f   /* auto Lloyd: centre = mean of members this close */
#define BLEND_PERP  0.015f  /* a blend lies this close to the mixing path of two centres */
#define BLEND_T     0.08f   /* ... strictly inside it (t in [BLEND_T, 1 - BLEND_T]) */
#define BLEND_FAR   0.05f   /* a cell this far from every colour and on a path is a blend */
#define BLEND_WREL  0.3     /* a blend cluster weighs less than this share of either end */
#define BLEND_SPAN  0.04f   /* and its on-path cells spread over this share of the path */
#define BLEND_SHARE 0.8     /* and this share of its weight is on the path */
#define BLEND_ELONG 2.0     /* and it is stretched along the path this much more than across */
#define BLEND_FLAT  0.25    /* and under this share of its weight lies inside flat patches: an edge
                               blend is one cell wide, a dithered dark-grey shirt between a black
                               screen and a grey frame is not (val opaque_scene_03) */
#define SPREAD_MAX  0.028f  /* a cluster spread wider (sd, principal axis) splits */
#define COV_RADIUS  0.08f   /* ... measured on members this close to its centre */
#define MERGE_DIST  0.04f   /* auto: centres closer than this are joined */
#define NEG_FRAC    0.002   /* auto: clusters lighter than this share of the total ... */
#define NEG_DIST    0.06f   /* ... and this close to a heavier centre are dropped */
#define ORPHAN_SIG  4.0f    /* an orphan lies this many noise sds (per axis) from its centre */
#define ORPHAN_PATH (2 * BLEND_PERP) /* ... and farther than this from every mixing path */
#define LLOYD_MAX   30      /* Lloyd iterations at most */
#define LLOYD_SPLIT 8       /* ... between split rounds (the next round refines) */
#define LLOYD_EPS   1e-4f   /* stop when no centre moves farther (toed OKLab) */

/* ---- the toed space ------------------------------------------------------ */

/* OKLab -> toed OKLab: L < L_TOE maps to L^2 / (2 L_TOE) (C1 at L_TOE), a
 * and b scale with the toe's slope; above, a shift by L_TOE / 2. */
static void toe(const float lab[3], float out[3])
{
    float L = pfi_clampf(lab[0], 0.0f, 1.05f), s = 1.0f;

    if (L < L_TOE) {
        s = L / L_TOE;
        out[0] = L * L / (2.0f * L_TOE);
    } else {
        out[0] = L - 0.5f * L_TOE;
    }
    out[1] = lab[1] * s;
    out[2] = lab[2] * s;
}

static inline float d2(const float *a, const float *b)
{
    float x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
    return x * x + y * y + z * z;
}

/* Grid cell of a toed colour (clamped into the grid). */
static int cell_of(const float t[3])
{
    int i = (int)pfi_clampf(floorf(t[0] / BIN), 0.0f, (float)(GL - 1));
    int j = (int)pfi_clampf(floorf((t[1] - AB_MIN) / BIN), 0.0f, (float)(GA - 1));
    int k = (int)pfi_clampf(floorf((t[2] - AB_MIN) / BIN), 0.0f, (float)(GA - 1));
    return (i * GA + j) * GA + k;
}

/* ---- working state ------------------------------------------------------ */

/* The histogram (occupied cells, "bins") and the current centres. */
typedef struct ext {
    size_t nb;          /* occupied cells */
    double *sum;        /* (nb, 3) OKLab sums */
    double *w;          /* (nb) weights */
    double *fw;         /* (nb) of which from colours inside flat patches */
    float *lab;         /* (nb, 3) OKLab means */
    float *tp;          /* (nb, 3) toed means */
    int *cell;          /* (nb) grid cell */
    int *asg;           /* (nb) centre index, -1 = none (or masked) */
    uint8_t *mask;      /* (nb) 1 = a blend, ignored by Lloyd and splits */
    int *mem;           /* (nb) bins grouped by centre (group_members) */
    size_t *mstart;     /* (k + 1) where each centre's bins start in mem */
    double wtot;        /* sum of w */
    int k, cap;         /* centres, allocated */
    float (*c)[3];      /* (cap, 3) centres, OKLab */
    float (*ct)[3];     /* (cap, 3) the same toed */
    double *cw;         /* (cap) member weight */
} ext;

static void ext_free(ext *e)
{
    free(e->sum); free(e->w); free(e->fw); free(e->lab); free(e->tp); free(e->cell); free(e->asg);
    free(e->mask); free(e->mem); free(e->mstart);
    free(e->c); free(e->ct); free(e->cw);
}

static int ext_reserve(ext *e, int cap)
{
    if (cap <= e->cap) return 1;
    if (cap < 2 * e->cap) cap = 2 * e->cap;
    void *a = realloc(e->c, (size_t)cap * sizeof *e->c);
    if (a) e->c = a;
    void *b = realloc(e->ct, (size_t)cap * sizeof *e->ct);
    if (b) e->ct = b;
    void *c = realloc(e->cw, (size_t)cap * sizeof *e->cw);
    if (c) e->cw = c;
    if (!a || !b || !c) return 0;
    e->cap = cap;
    return 1;
}

static void set_centre(ext *e, int i, const float lab[3], double w)
{
    memcpy(e->c[i], lab, sizeof e->c[i]);
    toe(e->c[i], e->ct[i]);
    e->cw[i] = w;
}

/* Removes centre i (order kept; asg goes stale until the next Lloyd). */
static void drop_centre(ext *e, int i)
{
    int n = e->k - i - 1;
    memmove(e->c + i, e->c + i + 1, (size_t)n * sizeof *e->c);
    memmove(e->ct + i, e->ct + i + 1, (size_t)n * sizeof *e->ct);
    memmove(e->cw + i, e->cw + i + 1, (size_t)n * sizeof *e->cw);
    e->k--;
}

/* ---- histogram ------------------------------------------------------------ */

/* Bins the m colours (OKLab (m, 3), weights (m) or NULL, flat (m) or NULL)
 * into occupied cells of the toed grid, keeping exact OKLab sums so means
 * lose nothing to the cell size. Colours that are not finite or lie outside L -0.5..1.5,
 * a and b -1..1, and weights that are not finite and positive, are skipped.
 * slot: (NCELL) scratch. Errors: PF_ENOMEM. */
static pf_status build_bins(ext *e, const float *lab, const float *weights, const uint8_t *flat, size_t m,
                            int *slot)
{
    size_t cap = 4096, used = 0, npts = 0;
    double wsum = 0;

    for (int i = 0; i < NCELL; i++) slot[i] = -1;
    e->sum = pfi_malloc4(cap, 3, sizeof(double), 1);
    e->w = pfi_malloc4(cap, sizeof(double), 1, 1);
    e->fw = pfi_malloc4(cap, sizeof(double), 1, 1);
    e->cell = pfi_malloc4(cap, sizeof(int), 1, 1);
    if (!e->sum || !e->w || !e->fw || !e->cell) return PF_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        const float *x = lab + 3 * i;
        double wi = weights ? weights[i] : 1.0;
        float t[3];
        /* NaN, infinite or absurd colours and weights count as absent */
        if (!(wi > 0 && wi < 1e12) || !(fabsf(x[0] - 0.5f) <= 1.0f) || !(fabsf(x[1]) <= 1.0f) ||
            !(fabsf(x[2]) <= 1.0f))
            continue;
        toe(x, t);
        int c = cell_of(t), s = slot[c];
        if (s < 0) {
            if (used == cap) {
                size_t nc = cap * 2;
                void *a = realloc(e->sum, nc * 3 * sizeof(double));
                if (a) e->sum = a;
                void *b = realloc(e->w, nc * sizeof(double));
                if (b) e->w = b;
                void *f = realloc(e->fw, nc * sizeof(double));
                if (f) e->fw = f;
                void *d = realloc(e->cell, nc * sizeof(int));
                if (d) e->cell = d;
                if (!a || !b || !f || !d) return PF_ENOMEM;
                cap = nc;
            }
            s = slot[c] = (int)used++;
            e->sum[3 * s] = e->sum[3 * s + 1] = e->sum[3 * s + 2] = 0;
            e->w[s] = e->fw[s] = 0;
            e->cell[s] = c;
        }
        e->sum[3 * s] += wi * x[0];
        e->sum[3 * s + 1] += wi * x[1];
        e->sum[3 * s + 2] += wi * x[2];
        e->w[s] += wi;
        if (flat && flat[i]) e->fw[s] += wi;
        wsum += wi;
        npts++;
    }
    e->nb = used;
    if (used == 0) return PF_OK;
    e->lab = pfi_malloc4(used, 3, sizeof(float), 1);
    e->tp = pfi_malloc4(used, 3, sizeof(float), 1);
    e->asg = pfi_malloc4(used, sizeof(int), 1, 1);
    e->mask = pfi_calloc4(used, 1, 1, 1);
    e->mem = pfi_malloc4(used, sizeof(int), 1, 1);
    if (!e->lab || !e->tp || !e->asg || !e->mask || !e->mem) return PF_ENOMEM;
    /* The significance test reads weights as pixel counts; weights that
     * average below 1 (shares, coverage) are scaled up to a mean of 1. */
    double scale = wsum < (double)npts ? (double)npts / wsum : 1.0;
    for (size_t s = 0; s < used; s++) {
        for (int d = 0; d < 3; d++) e->lab[3 * s + d] = (float)(e->sum[3 * s + d] / e->w[s]);
        for (int d = 0; d < 3; d++) e->sum[3 * s + d] *= scale;
        e->w[s] *= scale;
        e->fw[s] *= scale;
        toe(e->lab + 3 * s, e->tp + 3 * s);
        e->asg[s] = -1;
    }
    e->wtot = wsum * scale;
    return PF_OK;
}

/* ---- density and persistence ------------------------------------------- */

/* A box of grid cells, inclusive, per axis (toed L, a, b). */
typedef struct gbox { int lo[3], hi[3]; } gbox;

/* One separable pass of the smoothing kernel along `axis` over the cells
 * of box bx; src and dst (NCELL) must differ. Only cells inside the box
 * are read and written: a box that reaches KRAD beyond every occupied
 * cell holds all of the smoothed density (outside it is 0). */
static void blur_axis(const float *src, float *dst, const float *k, const gbox *bx, int axis)
{
    static const int stride[3] = { GA * GA, GA, 1 };
    for (int i = bx->lo[0]; i <= bx->hi[0]; i++)
        for (int j = bx->lo[1]; j <= bx->hi[1]; j++)
            for (int l = bx->lo[2]; l <= bx->hi[2]; l++) {
                int c = (i * GA + j) * GA + l, pos = axis == 0 ? i : axis == 1 ? j : l;
                float acc = 0;
                for (int o = -KRAD; o <= KRAD; o++) {
                    int q = pos + o;
                    if (q < bx->lo[axis] || q > bx->hi[axis]) continue;
                    acc += k[o + KRAD] * src[c + o * stride[axis]];
                }
                dst[c] = acc;
            }
}

typedef struct dcell { float d; int c; } dcell;

static int cmp_dcell(const void *a, const void *b)
{
    const dcell *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

static int uf_find(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Finds the significant modes of the smoothed histogram (Gaussian kernel,
 * sigma one cell) and seeds one centre per mode. Cells join clusters by
 * falling density over the 26-neighbourhood; a mode meeting a higher one
 * is absorbed when its peak rises above the saddle by less than Z_SIG
 * Poisson sigmas (weights read as counts) or TAU_REL of its height. A mode
 * left alone is kept when its peak is significant on its own or its basin
 * holds KEEP_FRAC of the total weight.
 * sel NULL: all bins; the centres are replaced, each the weighted OKLab
 * mean of its basin. sel (nb, 1 = use): only those bins; the centres are
 * appended, each the mean of its basin's bins within TRIM of the peak
 * (such a basin has a blend bridge hanging off it that would pull a basin
 * mean along). slot: (NCELL) scratch reused for cell labels.
 * Errors: PF_ENOMEM. */
static pf_status find_modes(ext *e, int *slot, const uint8_t *sel)
{
    float *den = pfi_calloc4(NCELL, sizeof(float), 1, 1);
    float *tmp = pfi_malloc4(NCELL, sizeof(float), 1, 1);
    dcell *ord = NULL;
    int *parent = NULL, *root_id = NULL, *pcell = NULL;
    float *peak = NULL;
    double *mass = NULL, *acc = NULL, *near = NULL;
    pf_status st = PF_ENOMEM;
    float k[2 * KRAD + 1], ksum = 0, ksq1 = 0;
    size_t n = 0;
    int nclus = 0;

    if (!den || !tmp) goto fail;
    for (int o = -KRAD; o <= KRAD; o++) ksum += k[o + KRAD] = expf(-0.5f * (float)(o * o));
    for (int o = 0; o <= 2 * KRAD; o++) {
        k[o] /= ksum;
        ksq1 += k[o] * k[o];
    }
    const float ksq = ksq1 * ksq1 * ksq1;   /* sum of squared 3D kernel weights */

    gbox bx = { { GL, GA, GA }, { -1, -1, -1 } };
    static const int glen[3] = { GL, GA, GA };
    for (size_t s = 0; s < e->nb; s++) {
        if (sel && !sel[s]) continue;
        int c = e->cell[s], at[3] = { c / (GA * GA), (c / GA) % GA, c % GA };
        den[c] = (float)e->w[s];
        for (int d = 0; d < 3; d++) {
            int lo = pfi_clampi(at[d] - KRAD, 0, glen[d] - 1), hi = pfi_clampi(at[d] + KRAD, 0, glen[d] - 1);
            if (lo < bx.lo[d]) bx.lo[d] = lo;
            if (hi > bx.hi[d]) bx.hi[d] = hi;
        }
    }
    blur_axis(den, tmp, k, &bx, 2);
    blur_axis(tmp, den, k, &bx, 1);
    blur_axis(den, tmp, k, &bx, 0);

    for (int i = bx.lo[0]; i <= bx.hi[0]; i++)   /* the box is empty when nothing is selected */
        for (int j = bx.lo[1]; j <= bx.hi[1]; j++)
            for (int l = bx.lo[2]; l <= bx.hi[2]; l++) n += tmp[(i * GA + j) * GA + l] > 0;
    ord = pfi_malloc4(n ? n : 1, sizeof *ord, 1, 1);
    parent = pfi_malloc4(n ? n : 1, sizeof(int), 1, 1);
    peak = pfi_malloc4(n ? n : 1, sizeof(float), 1, 1);
    pcell = pfi_malloc4(n ? n : 1, sizeof(int), 1, 1);
    if (!ord || !parent || !peak || !pcell) goto fail;
    n = 0;
    for (int i = bx.lo[0]; i <= bx.hi[0]; i++)
        for (int j = bx.lo[1]; j <= bx.hi[1]; j++)
            for (int l = bx.lo[2]; l <= bx.hi[2]; l++) {
                int c = (i * GA + j) * GA + l;
                if (tmp[c] > 0) ord[n++] = (dcell){ tmp[c], c };
            }
    qsort(ord, n, sizeof *ord, cmp_dcell);

    int *lbl = slot;
    for (int c = 0; c < NCELL; c++) lbl[c] = -1;
    for (size_t q = 0; q < n; q++) {
        int c = ord[q].c, ci = c / (GA * GA), cj = (c / GA) % GA, ck = c % GA;
        float d = ord[q].d;
        int roots[26], nr = 0, g = -1;
        for (int di = -1; di <= 1; di++)
            for (int dj = -1; dj <= 1; dj++)
                for (int dk = -1; dk <= 1; dk++) {
                    int i = ci + di, j = cj + dj, kk = ck + dk;
                    if ((!di && !dj && !dk) || i < 0 || i >= GL || j < 0 || j >= GA || kk < 0 || kk >= GA)
                        continue;
                    int l = lbl[(i * GA + j) * GA + kk];
                    if (l < 0) continue;
                    int r = uf_find(parent, l), seen = 0;
                    for (int t = 0; t < nr; t++) seen |= roots[t] == r;
                    if (seen) continue;
                    roots[nr++] = r;
                    if (g < 0 || peak[r] > peak[g] || (peak[r] == peak[g] && r < g)) g = r;
                }
        if (nr == 0) {
            parent[nclus] = nclus;
            peak[nclus] = d;
            pcell[nclus] = c;
            lbl[c] = nclus++;
            continue;
        }
        lbl[c] = g;
        for (int t = 0; t < nr; t++) {
            int r = roots[t];
            if (r == g) continue;
            float thr = fmaxf(Z_SIG * sqrtf(ksq * (peak[r] + d)), TAU_REL * peak[r]);
            if (peak[r] - d < thr) parent[r] = g;
        }
    }

    root_id = pfi_malloc4(nclus ? nclus : 1, sizeof(int), 1, 1);
    mass = pfi_calloc4(nclus ? nclus : 1, sizeof(double), 1, 1);
    acc = pfi_calloc4(nclus ? nclus : 1, 3, sizeof(double), 1);
    near = pfi_calloc4(nclus ? nclus : 1, 4, sizeof(double), 1);
    if (!root_id || !mass || !acc || !near) goto fail;
    for (size_t s = 0; s < e->nb; s++) {
        if (sel && !sel[s]) continue;
        int r = uf_find(parent, lbl[e->cell[s]]), pc = pcell[r];
        mass[r] += e->w[s];
        for (int d = 0; d < 3; d++) acc[3 * r + d] += e->sum[3 * s + d];
        /* the peak cell's centre, toed */
        float pt[3] = { ((float)(pc / (GA * GA)) + 0.5f) * BIN,
                        AB_MIN + ((float)((pc / GA) % GA) + 0.5f) * BIN,
                        AB_MIN + ((float)(pc % GA) + 0.5f) * BIN };
        if (d2(e->tp + 3 * s, pt) > TRIM * TRIM) continue;
        for (int d = 0; d < 3; d++) near[4 * r + d] += e->sum[3 * s + d];
        near[4 * r + 3] += e->w[s];
    }
    if (!sel) e->k = 0;
    if (!ext_reserve(e, e->k + (nclus ? nclus : 1))) goto fail;
    for (int r = 0; r < nclus; r++) {
        root_id[r] = -1;
        if (parent[r] != r || mass[r] <= 0) continue;
        int significant = peak[r] >= Z_SIG * Z_SIG * ksq;
        if (!significant && mass[r] < KEEP_FRAC * e->wtot) continue;
        const double *a = sel && near[4 * r + 3] > 0 ? near + 4 * r : acc + 3 * r;
        double aw = sel && near[4 * r + 3] > 0 ? near[4 * r + 3] : mass[r];
        float m[3];
        for (int d = 0; d < 3; d++) m[d] = (float)(a[d] / aw);
        root_id[r] = e->k;
        set_centre(e, e->k++, m, mass[r]);
    }
    st = PF_OK;
fail:
    free(den); free(tmp); free(ord); free(parent); free(peak); free(pcell); free(root_id); free(mass);
    free(acc); free(near);
    return st;
}

/* ---- Lloyd ------------------------------------------------------------------ */

/* Centres ordered by toed L, for nearest2. */
typedef struct lkey { float l; int j; } lkey;

static int cmp_lkey(const void *a, const void *b)
{
    const lkey *x = a, *y = b;
    if (x->l != y->l) return x->l < y->l ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static void sort_by_l(const ext *e, lkey *ord)
{
    for (int j = 0; j < e->k; j++) ord[j] = (lkey){ e->ct[j][0], j };
    qsort(ord, (size_t)e->k, sizeof *ord, cmp_lkey);
}

/* Nearest and second-nearest squared distances from toed t to the
 * centres (ord: sort_by_l); returns the nearest. Walks outwards in L from
 * t and stops once the L gap alone exceeds the second best, so a search
 * usually visits a few centres, not all k (k >= 1). */
static int nearest2(const ext *e, const lkey *ord, const float t[3], float *b1o, float *b2o)
{
    int k = e->k, hi = 0, lo, n = k, bi = ord[0].j;
    float b1 = INFINITY, b2 = INFINITY;

    while (n > 0) {   /* first key with l >= t[0] */
        int h = n / 2;
        if (ord[hi + h].l < t[0]) { hi += h + 1; n -= h + 1; }
        else n = h;
    }
    lo = hi - 1;
    while (lo >= 0 || hi < k) {
        float dlo = lo >= 0 ? t[0] - ord[lo].l : INFINITY;
        float dhi = hi < k ? ord[hi].l - t[0] : INFINITY;
        int j;
        float dl;
        if (dlo <= dhi) { j = ord[lo--].j; dl = dlo; }
        else { j = ord[hi++].j; dl = dhi; }
        if (dl * dl >= b2) break;
        float d = d2(t, e->ct[j]);
        if (d < b1 || (d == b1 && j < bi)) { b2 = b1; b1 = d; bi = j; }
        else if (d < b2) b2 = d;
    }
    *b1o = b1;
    *b2o = b2;
    return bi;
}

/* Lloyd iterations on the unmasked bins: assign to the nearest centre
 * (toed space), move each centre to the weighted OKLab mean of its members
 * (only those within `trim` of it when trim > 0 and any are; a centre with
 * no member keeps its place and gets weight 0). Updates cw to the full
 * member weight and leaves asg current. Assignment uses Hamerly's bounds
 * (G. Hamerly, "Making k-means even faster", SDM 2010): a bin closer to
 * its centre than half the gap to that centre's nearest other centre, or
 * than a lower bound on its second-nearest, is not searched again, so
 * later iterations cost far less than bins x centres. Errors: PF_ENOMEM. */
static pf_status lloyd(ext *e, float trim, int iters)
{
    int k = e->k;
    double *acc = pfi_malloc4(k ? k : 1, 8, sizeof(double), 1);
    float *ub = pfi_malloc4(e->nb ? e->nb : 1, sizeof(float), 1, 1);
    float *lb = pfi_malloc4(e->nb ? e->nb : 1, sizeof(float), 1, 1);
    float *half = pfi_malloc4(k ? k : 1, sizeof(float), 1, 1);
    float *moved = pfi_malloc4(k ? k : 1, sizeof(float), 1, 1);
    lkey *ord = pfi_malloc4(k ? k : 1, sizeof(lkey), 1, 1);
    pf_status st = PF_ENOMEM;

    if (!acc || !ub || !lb || !half || !moved || !ord) goto fail;
    st = PF_OK;
    if (k == 0) goto fail;
    sort_by_l(e, ord);
    for (size_t s = 0; s < e->nb; s++) {   /* first pass: full search */
        float b1, b2;
        if (e->mask[s]) { e->asg[s] = -1; continue; }
        e->asg[s] = nearest2(e, ord, e->tp + 3 * s, &b1, &b2);
        ub[s] = sqrtf(b1);
        lb[s] = sqrtf(b2);
    }
    for (int it = 0; it < iters; it++) {
        if (it > 0) {
            sort_by_l(e, ord);
            for (int j = 0; j < k; j++) {
                float m = INFINITY;
                for (int i = 0; i < k; i++)
                    if (i != j) m = fminf(m, d2(e->ct[i], e->ct[j]));
                half[j] = 0.5f * sqrtf(m);
            }
            for (size_t s = 0; s < e->nb; s++) {
                int a = e->asg[s];
                if (a < 0) continue;
                float bound = fmaxf(half[a], lb[s]);
                if (ub[s] <= bound) continue;
                const float *t = e->tp + 3 * s;
                ub[s] = sqrtf(d2(t, e->ct[a]));
                if (ub[s] <= bound) continue;
                float b1, b2;
                e->asg[s] = nearest2(e, ord, t, &b1, &b2);
                ub[s] = sqrtf(b1);
                lb[s] = sqrtf(b2);
            }
        }
        memset(acc, 0, (size_t)k * 8 * sizeof(double));
        for (size_t s = 0; s < e->nb; s++) {
            int j = e->asg[s];
            if (j < 0) continue;
            double *all = acc + 8 * j, *in = all + 4;
            all[0] += e->sum[3 * s]; all[1] += e->sum[3 * s + 1]; all[2] += e->sum[3 * s + 2];
            all[3] += e->w[s];
            if (trim > 0 && (ub[s] <= trim || d2(e->tp + 3 * s, e->ct[j]) <= trim * trim)) {
                in[0] += e->sum[3 * s]; in[1] += e->sum[3 * s + 1]; in[2] += e->sum[3 * s + 2];
                in[3] += e->w[s];
            }
        }
        float max1 = 0, max2 = 0;
        int arg1 = -1;
        for (int j = 0; j < k; j++) {
            const double *a = trim > 0 && acc[8 * j + 7] > 0 ? acc + 8 * j + 4 : acc + 8 * j;
            float old[3];
            memcpy(old, e->ct[j], sizeof old);
            if (a[3] > 0) {
                float m[3];
                for (int d = 0; d < 3; d++) m[d] = (float)(a[d] / a[3]);
                set_centre(e, j, m, acc[8 * j + 3]);
            } else {
                e->cw[j] = 0;
            }
            moved[j] = sqrtf(d2(old, e->ct[j]));
            if (moved[j] > max1) { max2 = max1; max1 = moved[j]; arg1 = j; }
            else if (moved[j] > max2) max2 = moved[j];
        }
        if (max1 <= LLOYD_EPS) break;
        for (size_t s = 0; s < e->nb; s++) {
            int a = e->asg[s];
            if (a < 0) continue;
            ub[s] += moved[a];
            lb[s] -= a == arg1 ? max2 : max1;
        }
    }
fail:
    free(acc); free(ub); free(lb); free(half); free(moved); free(ord);
    return st;
}

/* Groups the assigned bins by centre (a counting sort of asg) so
 * per-cluster work costs its own members. Errors: PF_ENOMEM. */
static pf_status group_members(ext *e)
{
    size_t *st = realloc(e->mstart, ((size_t)e->k + 2) * sizeof *st);
    if (!st) return PF_ENOMEM;
    e->mstart = st;
    memset(st, 0, ((size_t)e->k + 2) * sizeof *st);
    for (size_t s = 0; s < e->nb; s++)
        if (e->asg[s] >= 0 && e->asg[s] < e->k) st[e->asg[s] + 2]++;
    for (int j = 0; j < e->k; j++) st[j + 2] += st[j + 1];
    /* st[j + 1] is now where centre j's bins start; filling advances it to
     * where they end, which is st[j + 1] of the final layout */
    for (size_t s = 0; s < e->nb; s++)
        if (e->asg[s] >= 0 && e->asg[s] < e->k) e->mem[st[e->asg[s] + 1]++] = (int)s;
    return PF_OK;
}

/* ---- blends --------------------------------------------------------------- */

/* The mixing path over t in [BLEND_T, 1 - BLEND_T] (pfi_blend_dist). */
static float path_dist(const float xl[3], const float xr[3], const float al[3], const float ar[3],
                       const float bl[3], const float br[3], float *t)
{
    return pfi_blend_dist(xl, xr, al, ar, bl, br, BLEND_T, t);
}

/* Masks the bins farther than BLEND_FAR from every centre that lie within
 * BLEND_PERP of the mixing path of one of their three nearest centres and
 * another (crgb: (k, 3) the centres in sRGB 0..1), so bridges of blends
 * cannot come back through splitting or pull a centre along them. */
static void mask_bridges(ext *e, const float (*crgb)[3])
{
    const int k = e->k;
    for (size_t s = 0; s < e->nb; s++) {
        const float *t = e->tp + 3 * s;
        int near[3] = { -1, -1, -1 };
        float nd[3] = { INFINITY, INFINITY, INFINITY };
        if (e->mask[s]) continue;
        for (int j = 0; j < k; j++) {
            float d = d2(t, e->ct[j]);
            for (int r = 0; r < 3; r++)
                if (d < nd[r]) {
                    for (int q = 2; q > r; q--) { nd[q] = nd[q - 1]; near[q] = near[q - 1]; }
                    nd[r] = d;
                    near[r] = j;
                    break;
                }
        }
        if (nd[0] <= BLEND_FAR * BLEND_FAR) continue;
        float xr[3];
        pfi_oklab_to_srgb(e->lab + 3 * s, xr);
        for (int r = 0; r < 3 && near[r] >= 0 && !e->mask[s]; r++)
            for (int b = 0; b < k && !e->mask[s]; b++) {
                float u;
                int a = near[r];
                if (b == a) continue;
                if (path_dist(e->lab + 3 * s, xr, e->c[a], crgb[a], e->c[b], crgb[b], &u) <= BLEND_PERP)
                    e->mask[s] = 1;
            }
    }
}

/* Auto mode: finds blend clusters and blend bins and takes them out.
 * A cluster C is a blend when its centre lies within BLEND_PERP of the
 * mixing path of two centres A, B that each weigh over 1 / BLEND_WREL
 * times C, at least BLEND_SHARE of C's weight lies on that path, and those
 * on-path members spread along it (sd of t |AB|) over BLEND_SPAN of its
 * length (at least 0.012): a stretch of bridge, not a compact colour that
 * happens to sit between two others (a ramp's middle or hand-placed
 * anti-aliasing). Nor is a cluster with BLEND_FLAT of its weight inside
 * flat patches a blend: noise and dithering spread a dark grey along the
 * lightness axis, which is the path from black to a lighter grey. Blend
 * clusters are dropped; then every bin farther than BLEND_FAR from all
 * remaining centres and on a mixing path of two of them
 * is masked, so bridges cannot come back through splitting.
 * Needs current asg. Returns the number of clusters dropped. */
static int drop_blends(ext *e)
{
    int k = e->k, dropped = 0;
    float (*crgb)[3] = pfi_malloc4(k ? k : 1, 3, sizeof(float), 1);
    uint8_t *gone = pfi_calloc4(k ? k : 1, 1, 1, 1);
    if (!crgb || !gone || group_members(e) < 0) goto done;
    for (int j = 0; j < k; j++) pfi_oklab_to_srgb(e->c[j], crgb[j]);

    for (int c = 0; c < k; c++) {
        const int *mb = e->mem + e->mstart[c];
        size_t nm = e->mstart[c + 1] - e->mstart[c];
        if (!(e->cw[c] > 0) || nm == 0) continue;
        double fw = 0, mw = 0;
        for (size_t q = 0; q < nm; q++) {
            fw += e->fw[mb[q]];
            mw += e->w[mb[q]];
        }
        if (fw >= BLEND_FLAT * mw) continue;   /* a region of its own */
        for (int a = 0; a < k && !gone[c]; a++) {
            if (a == c || e->cw[a] * BLEND_WREL <= e->cw[c]) continue;
            for (int b = a + 1; b < k && !gone[c]; b++) {
                float t;
                if (b == c || e->cw[b] * BLEND_WREL <= e->cw[c]) continue;
                /* a centre averages a curved stretch of path: looser here,
                 * the members decide */
                if (path_dist(e->c[c], crgb[c], e->c[a], crgb[a], e->c[b], crgb[b], &t) > 3 * BLEND_PERP)
                    continue;
                double won = 0, m1 = 0, m2 = 0, len = sqrt(d2(e->c[a], e->c[b]));
                double wall = 0, tot = 0, al = 0, u[3];
                for (int d = 0; d < 3; d++) u[d] = (e->c[a][d] - e->c[b][d]) / len;
                for (size_t q = 0; q < nm; q++) {
                    size_t s = (size_t)mb[q];
                    const float *x = e->lab + 3 * s;
                    float xr[3], ts, r2 = d2(x, e->c[c]);
                    if (r2 <= COV_RADIUS * COV_RADIUS) {
                        double p = (x[0] - e->c[c][0]) * u[0] + (x[1] - e->c[c][1]) * u[1] +
                                   (x[2] - e->c[c][2]) * u[2];
                        wall += e->w[s];
                        tot += e->w[s] * r2;
                        al += e->w[s] * p * p;
                    }
                    pfi_oklab_to_srgb(x, xr);
                    if (path_dist(x, xr, e->c[a], crgb[a], e->c[b], crgb[b], &ts) > BLEND_PERP)
                        continue;
                    won += e->w[s];
                    m1 += e->w[s] * ts * len;
                    m2 += e->w[s] * ts * len * ts * len;
                }
                if (won < BLEND_SHARE * e->cw[c] || !(wall > 0)) continue;
                double sd = sqrt(fmax(0, m2 / won - (m1 / won) * (m1 / won)));
                double across = sqrt(fmax(0, tot - al) / (2 * wall));
                if (sd >= BLEND_SPAN * len && sd >= 0.012 && sd >= BLEND_ELONG * across) gone[c] = 1;
            }
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        if (!gone[c]) continue;
        drop_centre(e, c);
        memmove(crgb + c, crgb + c + 1, (size_t)(e->k - c) * sizeof *crgb);
        dropped++;
    }
    mask_bridges(e, (const float (*)[3])crgb);
done:
    free(crgb);
    free(gone);
    return dropped;
}

/* ---- splitting, merging, dropping, seeding ----------------------------------- */

/* Splits cluster j in two when its members (those within COV_RADIUS of
 * the centre) spread wider than SPREAD_MAX (standard deviation along the
 * principal axis, toed space): one noisy colour is rounder and tighter
 * than that, while continuous AI shading or two overlapping shades become
 * steps about the merge distance apart instead of one muddy average.
 * Weighted 2-means seeded on the principal axis; kept only if the halves
 * end MERGE_DIST apart. Needs group_members(). Returns 1 when it split. */
static int split_wide(ext *e, int j)
{
    double v[6] = { 0 }, w = 0, mu[3] = { 0 };
    float c[2][3];
    double acc[2][4];
    const int *mb = e->mem + e->mstart[j];
    size_t nm = e->mstart[j + 1] - e->mstart[j];

    for (size_t q = 0; q < nm; q++) {
        size_t s = (size_t)mb[q];
        if (d2(e->tp + 3 * s, e->ct[j]) > COV_RADIUS * COV_RADIUS) continue;
        for (int d = 0; d < 3; d++) mu[d] += e->w[s] * e->tp[3 * s + d];
        w += e->w[s];
    }
    if (!(w > 0)) return 0;
    for (int d = 0; d < 3; d++) mu[d] /= w;
    for (size_t q = 0; q < nm; q++) {
        size_t s = (size_t)mb[q];
        if (d2(e->tp + 3 * s, e->ct[j]) > COV_RADIUS * COV_RADIUS) continue;
        double x = e->tp[3 * s] - mu[0], y = e->tp[3 * s + 1] - mu[1], z = e->tp[3 * s + 2] - mu[2];
        v[0] += e->w[s] * x * x; v[1] += e->w[s] * y * y; v[2] += e->w[s] * z * z;
        v[3] += e->w[s] * x * y; v[4] += e->w[s] * x * z; v[5] += e->w[s] * y * z;
    }
    for (int d = 0; d < 6; d++) v[d] /= w;
    /* principal axis by power iteration on the 3x3 covariance */
    double u[3] = { 0.577, 0.577, 0.577 }, lam = 0;
    for (int it = 0; it < 50; it++) {
        double x = v[0] * u[0] + v[3] * u[1] + v[4] * u[2];
        double y = v[3] * u[0] + v[1] * u[1] + v[5] * u[2];
        double z = v[4] * u[0] + v[5] * u[1] + v[2] * u[2];
        double n = sqrt(x * x + y * y + z * z);
        if (!(n > 0)) return 0;
        u[0] = x / n; u[1] = y / n; u[2] = z / n;
        lam = n;
    }
    if (lam <= (double)SPREAD_MAX * SPREAD_MAX) return 0;
    double sd = sqrt(lam);
    for (int d = 0; d < 3; d++) {
        c[0][d] = (float)(mu[d] - 0.8 * sd * u[d]);
        c[1][d] = (float)(mu[d] + 0.8 * sd * u[d]);
    }
    for (int it = 0; it < 20; it++) {
        memset(acc, 0, sizeof acc);
        for (size_t q = 0; q < nm; q++) {
            size_t s = (size_t)mb[q];
            const float *t = e->tp + 3 * s;
            int h = d2(t, c[1]) < d2(t, c[0]);
            for (int d = 0; d < 3; d++) acc[h][d] += e->sum[3 * s + d];
            acc[h][3] += e->w[s];
        }
        if (!(acc[0][3] > 0) || !(acc[1][3] > 0)) return 0;
        float moved = 0;
        for (int h = 0; h < 2; h++) {
            float m[3], nc[3];
            for (int d = 0; d < 3; d++) m[d] = (float)(acc[h][d] / acc[h][3]);
            toe(m, nc);
            moved = fmaxf(moved, d2(nc, c[h]));
            memcpy(c[h], nc, sizeof nc);
        }
        if (moved < LLOYD_EPS * LLOYD_EPS) break;
    }
    if (d2(c[0], c[1]) < MERGE_DIST * MERGE_DIST) return 0;
    if (!ext_reserve(e, e->k + 1)) return 0;
    float m0[3], m1[3];
    for (int d = 0; d < 3; d++) {
        m0[d] = (float)(acc[0][d] / acc[0][3]);
        m1[d] = (float)(acc[1][d] / acc[1][3]);
    }
    set_centre(e, j, m0, acc[0][3]);
    set_centre(e, e->k++, m1, acc[1][3]);
    return 1;
}

/* Auto mode: drops empty clusters, and light ones (NEG_FRAC of the total)
 * within NEG_DIST of a heavier centre: noise tails, not colours. A light
 * colour far from everything (an eye highlight) stays. */
static int drop_negligible(ext *e)
{
    int dropped = 0;
    for (int i = 0; i < e->k;) {
        int drop = e->cw[i] <= 0 && e->k > 1;
        if (!drop && e->cw[i] < NEG_FRAC * e->wtot)
            for (int j = 0; j < e->k && !drop; j++)
                drop = j != i && e->cw[j] > e->cw[i] && d2(e->ct[i], e->ct[j]) < NEG_DIST * NEG_DIST;
        if (drop) { drop_centre(e, i); dropped++; }
        else i++;
    }
    return dropped;
}

/* Marks the orphans (sel, (nb)): unmasked bins farther from their
 * centre than NEG_DIST and than ORPHAN_SIG times its noise (the RMS
 * per-axis spread of its members within COV_RADIUS), and farther than
 * ORPHAN_PATH from every mixing path of two centres. Noise tails stay
 * inside the first radius; the second leaves the cells that blend two
 * entries (path_dist) to drop_blends. Needs current asg. Returns the
 * number marked, or -1 when out of memory. */
static int mark_orphans(const ext *e, uint8_t *sel)
{
    int k = e->k, n = 0;
    double *var = pfi_calloc4(k ? k : 1, 2, sizeof(double), 1);   /* (k, 2) w d^2 sum, w sum */
    float (*crgb)[3] = pfi_malloc4(k ? k : 1, 3, sizeof(float), 1);

    if (!var || !crgb) { free(var); free(crgb); return -1; }
    for (int j = 0; j < k; j++) pfi_oklab_to_srgb(e->c[j], crgb[j]);
    for (size_t s = 0; s < e->nb; s++) {
        int a = e->asg[s];
        float dd = a >= 0 ? d2(e->tp + 3 * s, e->ct[a]) : INFINITY;
        if (e->mask[s] || dd > COV_RADIUS * COV_RADIUS) continue;
        var[2 * a] += e->w[s] * dd;
        var[2 * a + 1] += e->w[s];
    }
    for (size_t s = 0; s < e->nb; s++) {
        int a = e->asg[s], blend = 0;
        float r = NEG_DIST, xr[3], t;
        sel[s] = 0;
        if (e->mask[s] || a < 0) continue;
        if (var[2 * a + 1] > 0)
            r = fmaxf(r, ORPHAN_SIG * (float)sqrt(var[2 * a] / (3 * var[2 * a + 1])));
        if (d2(e->tp + 3 * s, e->ct[a]) <= r * r) continue;
        pfi_oklab_to_srgb(e->lab + 3 * s, xr);
        for (int i = 0; i < k && !blend; i++)
            for (int j = i + 1; j < k && !blend; j++)
                blend = path_dist(e->lab + 3 * s, xr, e->c[i], crgb[i], e->c[j], crgb[j], &t) <= ORPHAN_PATH;
        sel[s] = !blend;
        n += !blend;
    }
    free(var);
    free(crgb);
    return n;
}

/* Auto mode: gives the orphans' significant modes (find_modes, the rule
 * for isolated modes) centres and runs Lloyd. A new centre that ends
 * within NEG_DIST of an old one or of a new one kept before it was a piece
 * of a spread cluster, and one within ORPHAN_PATH of the mixing path of a
 * new centre and another a bridge of blends from a recovered colour to its
 * neighbour (mark_orphans could not know that path yet): those are
 * removed, the old centres restored, the bridges masked and Lloyd run
 * again. Needs current asg. Errors: PF_ENOMEM. */
static pf_status recover_orphans(ext *e, int *slot)
{
    const int k0 = e->k;
    uint8_t *sel = pfi_malloc4(e->nb ? e->nb : 1, 1, 1, 1);
    float (*keep)[3] = NULL, (*cl)[3] = NULL, (*crgb)[3] = NULL;
    int n, k, kept = 0;
    pf_status st = PF_ENOMEM;

    if (!sel || (n = mark_orphans(e, sel)) < 0) goto done;
    st = PF_OK;
    if (n == 0) goto done;
    keep = pfi_malloc4((size_t)k0 + 1, 3, sizeof(float), 1);
    if (!keep) { st = PF_ENOMEM; goto done; }
    memcpy(keep, e->c, (size_t)k0 * sizeof *keep);
    if ((st = find_modes(e, slot, sel)) < 0 || e->k == k0) goto done;
    if ((st = lloyd(e, TRIM, LLOYD_MAX)) < 0) goto done;
    k = e->k;
    cl = pfi_malloc4((size_t)k, 3, sizeof(float), 1);
    crgb = pfi_malloc4((size_t)k, 3, sizeof(float), 1);
    if (!cl || !crgb) { st = PF_ENOMEM; goto done; }
    memcpy(cl, e->c, (size_t)k * sizeof *cl);   /* e->c is compacted below */
    for (int j = 0; j < k; j++) pfi_oklab_to_srgb(cl[j], crgb[j]);
    /* new centres come in order of falling peak */
    for (int j = k0; j < k; j++) {
        int apart = 1;
        float t;
        for (int i = 0; i < k0 + kept && apart; i++) apart = d2(e->ct[i], e->ct[j]) >= NEG_DIST * NEG_DIST;
        for (int a = k0; a < k && apart; a++)
            for (int b = 0; b < k && apart; b++)
                apart = a == j || b == j || b == a ||
                        path_dist(cl[j], crgb[j], cl[a], crgb[a], cl[b], crgb[b], &t) > ORPHAN_PATH;
        if (!apart) continue;
        if (k0 + kept != j) {
            memcpy(e->c[k0 + kept], e->c[j], sizeof e->c[j]);
            memcpy(e->ct[k0 + kept], e->ct[j], sizeof e->ct[j]);
        }
        kept++;
    }
    if (k0 + kept == k) goto done;
    for (int j = 0; j < k0; j++) set_centre(e, j, keep[j], 0);
    e->k = k0 + kept;
    for (int j = 0; j < e->k; j++) pfi_oklab_to_srgb(e->c[j], crgb[j]);
    mask_bridges(e, (const float (*)[3])crgb);
    st = lloyd(e, TRIM, LLOYD_MAX);
done:
    free(sel);
    free(keep);
    free(cl);
    free(crgb);
    return st;
}

/* Merge costs for agglomerate(): the squared distance of the centres
 * (toed space), or Ward's w_i w_j / (w_i + w_j) |c_i - c_j|^2, the growth
 * of the weighted squared error (Ward 1963). */
static double cost_dist(const ext *e, int i, int j) { return d2(e->ct[i], e->ct[j]); }

static double cost_ward(const ext *e, int i, int j)
{
    double wi = e->cw[i], wj = e->cw[j], s = wi + wj;
    return (s > 0 ? wi * wj / s : 0) * d2(e->ct[i], e->ct[j]);
}

typedef double (*cost_fn)(const ext *e, int i, int j);

/* Best partner of centre i among the live ones. */
static void best_partner(const ext *e, cost_fn cost, const uint8_t *dead, int i, int *nn, double *nc)
{
    nn[i] = -1;
    nc[i] = INFINITY;
    for (int j = 0; j < e->k; j++) {
        if (j == i || dead[j]) continue;
        double c = cost(e, i, j);
        if (c < nc[i]) { nc[i] = c; nn[i] = j; }
    }
}

/* Joins the cheapest pair of centres (weighted OKLab mean) while more than
 * `target` remain and the cheapest cost is below max_cost. Each centre's
 * cheapest partner is cached and refreshed only where a merge touched it,
 * so k centres cost about O(k^2) rather than O(k^3). Returns the number
 * of merges, or -1 when out of memory. */
static int agglomerate(ext *e, int target, double max_cost, cost_fn cost)
{
    int k = e->k, alive = k, merged = 0;
    int *nn = pfi_malloc4(k ? k : 1, sizeof(int), 1, 1);
    double *nc = pfi_malloc4(k ? k : 1, sizeof(double), 1, 1);
    uint8_t *dead = pfi_calloc4(k ? k : 1, 1, 1, 1);

    if (!nn || !nc || !dead) { free(nn); free(nc); free(dead); return -1; }
    for (int i = 0; i < k; i++) best_partner(e, cost, dead, i, nn, nc);
    while (alive > target && alive > 1) {
        int bi = -1;
        for (int i = 0; i < k; i++)
            if (!dead[i] && nn[i] >= 0 && (bi < 0 || nc[i] < nc[bi])) bi = i;
        if (bi < 0 || !(nc[bi] < max_cost)) break;
        int bj = nn[bi];
        double wi = e->cw[bi], wj = e->cw[bj], s = wi + wj;
        float m[3];
        for (int d = 0; d < 3; d++)
            m[d] = s > 0 ? (float)((wi * e->c[bi][d] + wj * e->c[bj][d]) / s)
                         : 0.5f * (e->c[bi][d] + e->c[bj][d]);
        set_centre(e, bi, m, s);
        dead[bj] = 1;
        alive--;
        merged++;
        best_partner(e, cost, dead, bi, nn, nc);
        for (int l = 0; l < k; l++) {
            if (dead[l] || l == bi) continue;
            if (nn[l] == bi || nn[l] == bj) {
                best_partner(e, cost, dead, l, nn, nc);
            } else {
                double c = cost(e, l, bi);
                if (c < nc[l] || (c == nc[l] && bi < nn[l])) { nc[l] = c; nn[l] = bi; }
            }
        }
    }
    int n = 0;
    for (int i = 0; i < k; i++) {
        if (dead[i]) continue;
        if (n != i) {
            memcpy(e->c[n], e->c[i], sizeof e->c[n]);
            memcpy(e->ct[n], e->ct[i], sizeof e->ct[n]);
            e->cw[n] = e->cw[i];
        }
        n++;
    }
    e->k = n;
    free(nn);
    free(nc);
    free(dead);
    return merged;
}

/* ---- output ---------------------------------------------------------------- */

typedef struct entry { uint8_t rgb[3]; float lab[3]; } entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    for (int d = 0; d < 3; d++)
        if (x->lab[d] != y->lab[d]) return x->lab[d] < y->lab[d] ? -1 : 1;
    return memcmp(x->rgb, y->rgb, 3);
}

/* Centres -> sRGB8 entries, sorted by OKLab L, then a, then b. Centres
 * that round to the same 8-bit colour are joined. */
static void write_palette(pfi_palette *p, const ext *e)
{
    entry ent[PF_PALETTE_MAX];
    int n = 0;
    PF_ASSERT(e->k <= PF_PALETTE_MAX);
    for (int i = 0; i < e->k; i++) {
        uint8_t q[3];
        int j = 0;
        pfi_oklab_to_srgb8(e->c[i], q);
        while (j < n && memcmp(ent[j].rgb, q, 3) != 0) j++;
        if (j < n) continue;
        memcpy(ent[n].rgb, q, 3);
        pfi_srgb8_to_oklab(q, ent[n++].lab);
    }
    qsort(ent, (size_t)n, sizeof *ent, cmp_entry);
    p->n = n;
    for (int i = 0; i < n; i++) {
        memcpy(p->rgb[i], ent[i].rgb, 3);
        memcpy(p->lab[i], ent[i].lab, sizeof p->lab[i]);
    }
}

/* ---- entry point ------------------------------------------------------------- */

/* The auto pipeline of the file comment, steps 2-6. Errors: PF_ENOMEM. */
static pf_status auto_palette(ext *e, int *slot)
{
    pf_status st;

    if ((st = find_modes(e, slot, NULL)) < 0) return st;
    if (e->k == 0) {   /* nothing significant: start from the heaviest bin */
        size_t hb = 0;
        for (size_t s = 1; s < e->nb; s++) if (e->w[s] > e->w[hb]) hb = s;
        if (!ext_reserve(e, 1)) return PF_ENOMEM;
        set_centre(e, e->k++, e->lab + 3 * hb, e->w[hb]);
    }
    if ((st = lloyd(e, TRIM, LLOYD_MAX)) < 0) return st;
    for (int round = 0; round < 3; round++) {
        int n = drop_blends(e);
        n += drop_negligible(e);
        if ((st = lloyd(e, TRIM, LLOYD_MAX)) < 0) return st;
        if (!n) break;
    }
    for (int round = 0; round < 8; round++) {
        int split = 0, k0 = e->k;
        if ((st = group_members(e)) < 0) return st;
        for (int j = 0; j < k0; j++) split += split_wide(e, j);
        if (!split) break;
        if ((st = lloyd(e, TRIM, LLOYD_SPLIT)) < 0) return st;
    }
    if ((st = recover_orphans(e, slot)) < 0) return st;
    for (int round = 0; round < 8; round++) {
        int n = agglomerate(e, 1, (double)MERGE_DIST * MERGE_DIST, cost_dist);
        if (n < 0) return PF_ENOMEM;
        if (n && (st = lloyd(e, TRIM, LLOYD_MAX)) < 0) return st;
        int m = drop_blends(e);
        m += drop_negligible(e);
        if (!n && !m) break;
        if (m && (st = lloyd(e, TRIM, LLOYD_MAX)) < 0) return st;
    }
    return PF_OK;
}

pf_status pfi_palette_extract(pfi_palette *p, const float *lab, const float *weights,
                             const uint8_t *flat, size_t m, int colors)
{
    ext e;
    int *slot = NULL, target;
    pf_status st = PF_ENOMEM;

    if (!p || (m > 0 && !lab) || colors < 0 || colors > PF_PALETTE_MAX) return PF_EINVAL;
    memset(&e, 0, sizeof e);
    p->n = 0;
    memset(p->clear, 0, sizeof p->clear);
    if (m == 0) return PF_OK;
    slot = pfi_malloc4(NCELL, sizeof(int), 1, 1);
    if (!slot) goto fail;
    if ((st = build_bins(&e, lab, weights, flat, m, slot)) < 0) goto fail;
    if (e.nb == 0) goto done;

    if ((st = auto_palette(&e, slot)) < 0) goto fail;
    /* colors = N is a maximum: a clip with fewer colours keeps its own */
    target = colors > 0 ? colors : PF_PALETTE_MAX;
    if (e.k > target) {
        if (agglomerate(&e, target, INFINITY, cost_ward) < 0) { st = PF_ENOMEM; goto fail; }
        if (colors > 0 && (st = lloyd(&e, 0.0f, LLOYD_MAX)) < 0) goto fail;
    }
    /* Lloyd can empty a centre; drop those */
    for (int i = 0; i < e.k;) {
        if (e.cw[i] <= 0 && e.k > 1) drop_centre(&e, i);
        else i++;
    }
done:
    write_palette(p, &e);
fail:
    free(slot);
    ext_free(&e);
    if (st < 0) p->n = 0;
    return st;
}
