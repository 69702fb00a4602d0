/*
 * metrics.c - scores a restored animation against its ground truth with the
 * metrics of docs/metrics.md (acc, acc_opaque, alpha_iou, psnr, edge_f1,
 * flicker, perfect_frames, colors, palette_de). Pure scoring on in-memory
 * frames: no file I/O, no restoration logic.
 *
 * Every distinct RGB of both clips goes once into one colour table (with its
 * OKLab value); each pixel becomes a 32-bit code, bit 31 = opaque, the rest
 * the table index. "Same colour" is then a squared OKLab distance between two
 * table entries, and "identical RGB" is equal indices.
 */
#include "eval/metrics.h"

#include <math.h>
#include <string.h>

#include "palette/palette.h"

#define SAME_DIST 0.04     /* docs/metrics.md: same colour below this OKLab distance */
#define OPAQUE_MIN 128     /* docs/metrics.md: opaque when alpha >= 128 */
#define PERFECT_ACC 0.995  /* docs/metrics.md: per-frame acc for a perfect frame */
#define PSNR_MAX 99.0      /* dB, reported for zero error; the cap */
#define PALETTE_DE_EMPTY 1.0 /* palette_de when exactly one colour set is empty */

#define CODE_OPAQUE 0x80000000u
#define CODE_INDEX 0x7fffffffu

enum { IN_GT = 1, IN_OUT = 2 };   /* colour table flags: seen opaque in */

/* ---- colour table: rgb24 -> index, open addressing ---------------------- */

typedef struct colour_table {
    uint32_t *slot_key;   /* (cap) rgb24 + 1, 0 = empty */
    uint32_t *slot_val;   /* (cap) entry index */
    size_t cap;           /* power of two */
    size_t n, list_cap;   /* entries, entries allocated */
    uint32_t *rgb;        /* (n) rgb24 = r << 16 | g << 8 | b */
    uint8_t *flags;       /* (n) IN_GT | IN_OUT */
    float *lab;           /* (n, 3) OKLab, filled once all pixels are in */
} colour_table;

static void table_free(colour_table *ct)
{
    free(ct->slot_key);
    free(ct->slot_val);
    free(ct->rgb);
    free(ct->flags);
    free(ct->lab);
    memset(ct, 0, sizeof *ct);
}

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)((key * 2654435761u) >> 8) & (cap - 1);
}

static pf_status table_rehash(colour_table *ct, size_t cap)
{
    uint32_t *k = pfi_calloc4(cap, sizeof *k, 1, 1);
    uint32_t *v = pfi_malloc4(cap, sizeof *v, 1, 1);
    size_t i;

    if (!k || !v) {
        free(k);
        free(v);
        return PF_ENOMEM;
    }
    for (i = 0; i < ct->cap; i++) {
        size_t s;
        if (!ct->slot_key[i]) continue;
        for (s = slot_of(ct->slot_key[i], cap); k[s]; s = (s + 1) & (cap - 1)) {}
        k[s] = ct->slot_key[i];
        v[s] = ct->slot_val[i];
    }
    free(ct->slot_key);
    free(ct->slot_val);
    ct->slot_key = k;
    ct->slot_val = v;
    ct->cap = cap;
    return PF_OK;
}

/* Index of rgb24, adding it when new. Errors: PF_ENOMEM. */
static pf_status table_index(colour_table *ct, uint32_t rgb, uint32_t *index)
{
    uint32_t key = rgb + 1;
    size_t s;

    for (s = slot_of(key, ct->cap); ct->slot_key[s]; s = (s + 1) & (ct->cap - 1)) {
        if (ct->slot_key[s] == key) {
            *index = ct->slot_val[s];
            return PF_OK;
        }
    }
    if (ct->n == ct->list_cap) {
        size_t nc = ct->list_cap * 2;
        uint32_t *r = realloc(ct->rgb, nc * sizeof *r);
        uint8_t *f;
        if (!r) return PF_ENOMEM;
        ct->rgb = r;
        f = realloc(ct->flags, nc);
        if (!f) return PF_ENOMEM;
        ct->flags = f;
        ct->list_cap = nc;
    }
    ct->slot_key[s] = key;
    ct->slot_val[s] = (uint32_t)ct->n;
    ct->rgb[ct->n] = rgb;
    ct->flags[ct->n] = 0;
    *index = (uint32_t)ct->n++;
    /* At most 2^24 keys, so cap stays below 2^26 slots. */
    if (ct->n * 2 > ct->cap) return table_rehash(ct, ct->cap * 2);
    return PF_OK;
}

static pf_status table_init(colour_table *ct)
{
    memset(ct, 0, sizeof *ct);
    ct->cap = 1024;
    ct->list_cap = 256;
    ct->slot_key = calloc(ct->cap, sizeof *ct->slot_key);
    ct->slot_val = malloc(ct->cap * sizeof *ct->slot_val);
    ct->rgb = malloc(ct->list_cap * sizeof *ct->rgb);
    ct->flags = malloc(ct->list_cap);
    if (!ct->slot_key || !ct->slot_val || !ct->rgb || !ct->flags) return PF_ENOMEM;
    return PF_OK;
}

/* Codes the first n frames of a (RGBA8 (H, W, 4) each) into codes
 * (n, H, W), marking opaque colours with flag. Errors: PF_ENOMEM. */
static pf_status code_frames(colour_table *ct, const pfi_anim *a, int n, uint8_t flag,
                             uint32_t *codes)
{
    size_t npx = (size_t)a->width * (size_t)a->height;
    uint32_t last_rgb = 0xffffffffu, last_idx = 0;
    int t;

    for (t = 0; t < n; t++) {
        const uint8_t *p = a->frames[t].rgba;
        uint32_t *c = codes + (size_t)t * npx;
        size_t i;
        for (i = 0; i < npx; i++, p += 4) {
            uint32_t rgb = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
            if (rgb != last_rgb) {   /* runs of one colour are the common case */
                pf_status st = table_index(ct, rgb, &last_idx);
                if (st != PF_OK) return st;
                last_rgb = rgb;
            }
            if (p[3] >= OPAQUE_MIN) {
                ct->flags[last_idx] |= flag;
                c[i] = last_idx | CODE_OPAQUE;
            } else {
                c[i] = last_idx;
            }
        }
    }
    return PF_OK;
}

/* ---- pixel predicates ----------------------------------------------------- */

static inline int same_colour(const float *lab, uint32_t i, uint32_t j)
{
    const float *a, *b;
    double d0, d1, d2;

    if (i == j) return 1;
    a = lab + (size_t)i * 3;
    b = lab + (size_t)j * 3;
    d0 = (double)a[0] - b[0];
    d1 = (double)a[1] - b[1];
    d2 = (double)a[2] - b[2];
    return d0 * d0 + d1 * d1 + d2 * d2 < SAME_DIST * SAME_DIST;
}

/* GT pixel g is right in the output pixel o: class matches, and the colour
 * is the same when opaque. */
static inline int pixel_right(const float *lab, uint32_t g, uint32_t o)
{
    if ((g ^ o) & CODE_OPAQUE) return 0;
    if (!(g & CODE_OPAQUE)) return 1;
    return same_colour(lab, g & CODE_INDEX, o & CODE_INDEX);
}

/* A pixel-boundary edge between 4-neighbours a and b. */
static inline int is_edge(const float *lab, uint32_t a, uint32_t b)
{
    if ((a ^ b) & CODE_OPAQUE) return 1;
    if (!(a & CODE_OPAQUE)) return 0;
    return !same_colour(lab, a & CODE_INDEX, b & CODE_INDEX);
}

/* Identical pixels for flicker: both transparent (any RGB), or both opaque
 * with exactly the same RGB. */
static inline int identical(uint32_t a, uint32_t b)
{
    if ((a ^ b) & CODE_OPAQUE) return 0;
    return !(a & CODE_OPAQUE) || a == b;
}

/* ---- scoring ---------------------------------------------------------------- */

typedef struct scene {
    int w, h, wo, ho, n;      /* GT size, output size, frames compared */
    const uint32_t *g, *o;    /* codes (n, h, w) and (n, ho, wo) */
    const colour_table *ct;
} scene;

/* The GT columns [*x0, *x1) whose output column x + dx exists. */
static void covered_cols(const scene *s, int dx, int *x0, int *x1)
{
    *x0 = dx < 0 ? -dx : 0;
    *x1 = s->w < s->wo - dx ? s->w : s->wo - dx;
    if (*x1 < *x0) *x1 = *x0;
}

/* GT pixels right under shift (dx, dy), over all compared frames. */
static size_t count_right(const scene *s, int dx, int dy)
{
    size_t right = 0;
    int t, y, x, x0, x1;

    covered_cols(s, dx, &x0, &x1);
    for (t = 0; t < s->n; t++) {
        for (y = 0; y < s->h; y++) {
            const uint32_t *gr, *orow;
            int oy = y + dy;
            if (oy < 0 || oy >= s->ho) continue;
            gr = s->g + ((size_t)t * s->h + y) * s->w;
            orow = s->o + ((size_t)t * s->ho + oy) * s->wo;
            for (x = x0; x < x1; x++) right += (size_t)pixel_right(s->ct->lab, gr[x], orow[x + dx]);
        }
    }
    return right;
}

/* Output code aligned with GT (x, y) of frame t, or 0 with *ok = 0 when the
 * shifted output does not cover it. */
static inline uint32_t out_at(const scene *s, int t, int x, int y, int dx, int dy, int *ok)
{
    int ox = x + dx, oy = y + dy;
    if (ox < 0 || oy < 0 || ox >= s->wo || oy >= s->ho) {
        *ok = 0;
        return 0;
    }
    *ok = 1;
    return s->o[((size_t)t * s->ho + oy) * s->wo + ox];
}

static double ratio_or(double num, double den, double empty)
{
    return den > 0 ? num / den : empty;
}

/* Every per-pixel metric at the chosen shift (m->dx, m->dy). */
static void score_aligned(const scene *s, pfi_metrics *m)
{
    const float *lab = s->ct->lab;
    const uint32_t *rgb = s->ct->rgb;
    int dx = m->dx, dy = m->dy, t, y, x;
    size_t right = 0, gt_opaque = 0, opaque_right = 0, inter = 0, uni = 0;
    size_t tp = 0, fp = 0, fn = 0, still = 0, changed = 0, perfect = 0;
    uint64_t sq = 0;
    size_t frame_px = (size_t)s->w * s->h;

    for (t = 0; t < s->n; t++) {
        size_t frame_right = 0;
        for (y = 0; y < s->h; y++) {
            for (x = 0; x < s->w; x++) {
                size_t gi = ((size_t)t * s->h + y) * s->w + x;
                uint32_t g = s->g[gi], o, on;
                int cov, cov_n, g_op = (g & CODE_OPAQUE) != 0;

                o = out_at(s, t, x, y, dx, dy, &cov);
                if (cov && pixel_right(lab, g, o)) frame_right++;
                if (g_op) {
                    gt_opaque++;
                    if (cov) {
                        uint32_t a = rgb[g & CODE_INDEX], b = rgb[o & CODE_INDEX];
                        int c;
                        opaque_right += (size_t)same_colour(lab, g & CODE_INDEX, o & CODE_INDEX);
                        for (c = 16; c >= 0; c -= 8) {
                            int d = (int)((a >> c) & 255) - (int)((b >> c) & 255);
                            sq += (uint64_t)(d * d);
                        }
                    } else {
                        sq += 3u * 255u * 255u;   /* uncovered: worst error */
                    }
                }
                if (cov && (o & CODE_OPAQUE)) {
                    uni++;
                    if (g_op) inter++;
                } else if (g_op) {
                    uni++;
                }
                /* Edges to the right and below neighbours. */
                if (x + 1 < s->w) {
                    int eg = is_edge(lab, g, s->g[gi + 1]), eo = 0;
                    on = out_at(s, t, x + 1, y, dx, dy, &cov_n);
                    if (cov && cov_n) eo = is_edge(lab, o, on);
                    tp += (size_t)(eg && eo);
                    fp += (size_t)(!eg && eo);
                    fn += (size_t)(eg && !eo);
                }
                if (y + 1 < s->h) {
                    int eg = is_edge(lab, g, s->g[gi + (size_t)s->w]), eo = 0;
                    on = out_at(s, t, x, y + 1, dx, dy, &cov_n);
                    if (cov && cov_n) eo = is_edge(lab, o, on);
                    tp += (size_t)(eg && eo);
                    fp += (size_t)(!eg && eo);
                    fn += (size_t)(eg && !eo);
                }
                /* Flicker against the previous frame, where the output exists. */
                if (t > 0 && cov && identical(s->g[gi - frame_px], g)) {
                    size_t oi = ((size_t)t * s->ho + (size_t)(y + dy)) * s->wo + (size_t)(x + dx);
                    still++;
                    changed += (size_t)!identical(s->o[oi - (size_t)s->wo * s->ho], o);
                }
            }
        }
        right += frame_right;
        if ((double)frame_right / (double)frame_px >= PERFECT_ACC) perfect++;
    }

    m->acc = (double)right / ((double)frame_px * s->n);
    m->acc_opaque = ratio_or((double)opaque_right, (double)gt_opaque, 1.0);
    m->alpha_iou = ratio_or((double)inter, (double)uni, 1.0);
    if (gt_opaque == 0 || sq == 0) {
        m->psnr = PSNR_MAX;
    } else {
        double mse = (double)sq / (3.0 * (double)gt_opaque);
        m->psnr = 10.0 * log10(255.0 * 255.0 / mse);
        if (m->psnr > PSNR_MAX) m->psnr = PSNR_MAX;
    }
    m->edge_f1 = ratio_or(2.0 * (double)tp, 2.0 * (double)tp + (double)fp + (double)fn, 1.0);
    m->flicker = ratio_or((double)changed, (double)still, 0.0);
    m->perfect_frames = (double)perfect / s->n;
}

/* ---- palette_de: nearest colours through a k-d tree in OKLab --------------- */

/* An implicit k-d tree (Bentley 1975) over points (n, 3), reordered in
 * place: pts[lo, hi) is a node; its median pts[mid] splits on axis[mid],
 * keys <= before it and >= after it. Nodes of at most KD_LEAF points are
 * scanned. Colour sets can reach millions of entries (noisy baselines), so
 * a brute-force O(n * m) search is only for few queries. */
#define KD_LEAF 8
#define BRUTE_MAX_QUERIES 32

typedef struct kd_tree {
    float *pts;         /* (n, 3) OKLab, reordered by the build */
    uint8_t *axis;      /* (n) split axis of the node whose median sits here */
    size_t n;
} kd_tree;

static inline void kd_swap(float *pts, size_t i, size_t j)
{
    float t[3];
    memcpy(t, pts + 3 * i, sizeof t);
    memcpy(pts + 3 * i, pts + 3 * j, sizeof t);
    memcpy(pts + 3 * j, t, sizeof t);
}

/* Quickselect: puts the k-th smallest key (axis ax) of pts[lo, hi) at k.
 * Three-way partitions, so runs of equal keys (greys have a = b = 0) cost
 * no more. */
static void kd_select(float *pts, size_t lo, size_t hi, size_t k, int ax)
{
    while (hi - lo > 1) {
        float a = pts[3 * lo + ax], b = pts[3 * (lo + (hi - lo) / 2) + ax];
        float c = pts[3 * (hi - 1) + ax], pv;
        size_t lt = lo, i = lo, gt = hi;

        pv = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        while (i < gt) {
            float v = pts[3 * i + ax];
            if (v < pv) kd_swap(pts, lt++, i++);
            else if (v > pv) kd_swap(pts, i, --gt);
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return;
    }
}

/* Splits pts[lo, hi) on its widest axis, recursing on the left half and
 * looping on the right; depth is about log2(n / KD_LEAF). */
static void kd_build(kd_tree *kd, size_t lo, size_t hi)
{
    while (hi - lo > KD_LEAF) {
        const float *p = kd->pts;
        float mn[3], mx[3];
        size_t i, mid = lo + (hi - lo) / 2;
        int a, ax = 0;

        for (a = 0; a < 3; a++) mn[a] = mx[a] = p[3 * lo + a];
        for (i = lo + 1; i < hi; i++)
            for (a = 0; a < 3; a++) {
                float v = p[3 * i + a];
                if (v < mn[a]) mn[a] = v;
                if (v > mx[a]) mx[a] = v;
            }
        for (a = 1; a < 3; a++)
            if (mx[a] - mn[a] > mx[ax] - mn[ax]) ax = a;
        kd_select(kd->pts, lo, hi, mid, ax);
        kd->axis[mid] = (uint8_t)ax;
        kd_build(kd, lo, mid);
        lo = mid + 1;
    }
}

static inline void kd_visit(const float *p, const float *q, double *best, const float **arg)
{
    double d0 = (double)p[0] - q[0], d1 = (double)p[1] - q[1], d2 = (double)p[2] - q[2];
    double d = d0 * d0 + d1 * d1 + d2 * d2;
    if (d < *best) {
        *best = d;
        *arg = p;
    }
}

/* Nearest point to q within pts[lo, hi); *best is a squared distance. The
 * far side of a split is skipped when the split plane is no nearer than
 * the best so far. */
static void kd_query(const kd_tree *kd, size_t lo, size_t hi, const float *q,
                     double *best, const float **arg)
{
    while (hi - lo > KD_LEAF) {
        size_t mid = lo + (hi - lo) / 2;
        int ax = kd->axis[mid];
        double diff = (double)q[ax] - kd->pts[3 * mid + ax];

        kd_visit(kd->pts + 3 * mid, q, best, arg);
        if (diff < 0) {
            kd_query(kd, lo, mid, q, best, arg);
            if (diff * diff >= *best) return;
            lo = mid + 1;
        } else {
            kd_query(kd, mid + 1, hi, q, best, arg);
            if (diff * diff >= *best) return;
            hi = mid;
        }
    }
    for (; lo < hi; lo++) kd_visit(kd->pts + 3 * lo, q, best, arg);
}

/* Over pts (n, 3), reordered in place; with build = 0 the points stay a
 * plain list searched by brute force (for few queries). Errors: PF_ENOMEM. */
static pf_status kd_init(kd_tree *kd, float *pts, size_t n, int build)
{
    kd->pts = pts;
    kd->n = n;
    kd->axis = NULL;
    if (!build) return PF_OK;
    kd->axis = pfi_calloc4(n, 1, 1, 1);
    if (!kd->axis) return PF_ENOMEM;
    kd_build(kd, 0, n);
    return PF_OK;
}

static void kd_free(kd_tree *kd)
{
    free(kd->axis);
    memset(kd, 0, sizeof *kd);
}

/* OKLab distance from q to the nearest point (n > 0). */
static double kd_nearest_dist(const kd_tree *kd, const float *q)
{
    double best = INFINITY;
    const float *arg = kd->pts;
    size_t i;

    if (kd->axis) {
        kd_query(kd, 0, kd->n, q, &best, &arg);
    } else {
        for (i = 0; i < kd->n; i++) kd_visit(kd->pts + 3 * i, q, &best, &arg);
    }
    return pfi_oklab_dist(q, arg);
}

/* Counts the opaque colour sets and scores palette_de: the mean of (mean
 * over output colours of the distance to the nearest GT colour) and (the
 * same from GT to output). A colour in both sets is at distance 0 without
 * a search. Errors: PF_ENOMEM. */
static pf_status score_palette(const colour_table *ct, pfi_metrics *m)
{
    float *gs = pfi_malloc4(ct->n, 3, sizeof(float), 1);
    float *os = pfi_malloc4(ct->n, 3, sizeof(float), 1);
    kd_tree gt_tree, out_tree;
    size_t ng = 0, no = 0, only_g = 0, only_o = 0, i;
    double sum_go = 0, sum_og = 0;
    pf_status st = PF_ENOMEM;

    memset(&gt_tree, 0, sizeof gt_tree);
    memset(&out_tree, 0, sizeof out_tree);
    if (!gs || !os) goto fail;
    for (i = 0; i < ct->n; i++) {
        if (ct->flags[i] & IN_GT) memcpy(gs + 3 * ng++, ct->lab + 3 * i, 3 * sizeof(float));
        if (ct->flags[i] & IN_OUT) memcpy(os + 3 * no++, ct->lab + 3 * i, 3 * sizeof(float));
        only_g += ct->flags[i] == IN_GT;
        only_o += ct->flags[i] == IN_OUT;
    }
    m->colors_gt = (int)ng;
    m->colors_out = (int)no;
    st = PF_OK;
    if (ng == 0 && no == 0) {
        m->palette_de = 0;
    } else if (ng == 0 || no == 0) {
        m->palette_de = PALETTE_DE_EMPTY;
    } else {
        /* GT colours query the output set, output colours the GT set. */
        if ((st = kd_init(&out_tree, os, no, only_g > BRUTE_MAX_QUERIES)) != PF_OK) goto fail;
        if ((st = kd_init(&gt_tree, gs, ng, only_o > BRUTE_MAX_QUERIES)) != PF_OK) goto fail;
        for (i = 0; i < ct->n; i++) {
            const float *lab = ct->lab + 3 * i;
            if (ct->flags[i] == IN_GT) sum_go += kd_nearest_dist(&out_tree, lab);
            if (ct->flags[i] == IN_OUT) sum_og += kd_nearest_dist(&gt_tree, lab);
        }
        m->palette_de = 0.5 * (sum_og / (double)no + sum_go / (double)ng);
    }
fail:
    kd_free(&gt_tree);
    kd_free(&out_tree);
    free(gs);
    free(os);
    return st;
}

/* ---- entry point ------------------------------------------------------------ */

static int anim_ok(const pfi_anim *a, int n)
{
    int t;
    if (!a || a->width <= 0 || a->height <= 0 || a->count <= 0 || !a->frames) return 0;
    for (t = 0; t < n; t++)
        if (!a->frames[t].rgba) return 0;
    return 1;
}

pf_status pfi_metrics_compute(pfi_metrics *m, const pfi_anim *gt, const pfi_anim *out)
{
    /* Shift candidates in tie-break order: none, then 4-neighbours, then diagonals. */
    static const int shifts[9][2] = {
        {0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}, {-1, -1}, {1, -1}, {-1, 1}, {1, 1}
    };
    colour_table ct;
    uint32_t *gc = NULL, *oc = NULL;
    scene s;
    size_t best = 0, i;
    int n, k;
    pf_status st;

    if (!m) return PF_EINVAL;
    memset(m, 0, sizeof *m);
    memset(&ct, 0, sizeof ct);
    if (!gt || !out || gt->count <= 0 || out->count <= 0) return PF_EINVAL;
    n = gt->count < out->count ? gt->count : out->count;
    if (!anim_ok(gt, n) || !anim_ok(out, n)) return PF_EINVAL;
    m->frames_gt = gt->count;
    m->frames_out = out->count;
    m->size_ok = gt->width == out->width && gt->height == out->height && gt->count == out->count;

    st = PF_ENOMEM;
    gc = pfi_malloc4((size_t)n, (size_t)gt->width, (size_t)gt->height, sizeof *gc);
    oc = pfi_malloc4((size_t)n, (size_t)out->width, (size_t)out->height, sizeof *oc);
    if (!gc || !oc) goto fail;
    if ((st = table_init(&ct)) != PF_OK) goto fail;
    if ((st = code_frames(&ct, gt, n, IN_GT, gc)) != PF_OK) goto fail;
    if ((st = code_frames(&ct, out, n, IN_OUT, oc)) != PF_OK) goto fail;
    st = PF_ENOMEM;
    if (!(ct.lab = pfi_malloc4(ct.n, 3, sizeof(float), 1))) goto fail;
    for (i = 0; i < ct.n; i++) {
        uint8_t c[3] = { (uint8_t)(ct.rgb[i] >> 16), (uint8_t)(ct.rgb[i] >> 8), (uint8_t)ct.rgb[i] };
        pfi_srgb8_to_oklab(c, ct.lab + 3 * i);
    }

    s.w = gt->width;
    s.h = gt->height;
    s.wo = out->width;
    s.ho = out->height;
    s.n = n;
    s.g = gc;
    s.o = oc;
    s.ct = &ct;
    for (k = 0; k < 9; k++) {
        size_t right = count_right(&s, shifts[k][0], shifts[k][1]);
        if (k == 0 || right > best) {
            best = right;
            m->dx = shifts[k][0];
            m->dy = shifts[k][1];
        }
    }
    score_aligned(&s, m);
    st = score_palette(&ct, m);
fail:
    free(gc);
    free(oc);
    table_free(&ct);
    return st;
}
