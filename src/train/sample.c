/* sample.c - one training example: clean clip -> degrade -> the real grid
 * detector -> cells as pf_stream makes them -> GT aligned to the detected
 * grid. */
#include "train/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grid/grid.h"
#include "train/degrade.h"
#include "train/rng.h"
#include "train/synth.h"

pf_sample_cfg pf_sample_default_cfg(void)
{
    pf_sample_cfg c = {.T = 8, .crop = 32, .k = 4, .grid_frames = 8, .p_anim = 0.5, .p_tile = 0.25,
                       .kind = -1, .max_native = 48};
    return c;
}

int pf_sample_dkind(int k)
{
    return k < PF_SAMPLE_KINDS - 1 ? PF_DKIND_GIF + k : PF_DKIND_ANY;
}

pf_status pf_sample_alloc(pf_sample *s, const pf_sample_cfg *c)
{
    memset(s, 0, sizeof *s);
    if (c->T < 2 || c->T > 64 || c->crop < 8 || c->crop > 128 || c->crop % 4 || c->k < 1 || c->k > 8)
        return PF_EINVAL;
    s->T = c->T;
    s->H = s->W = c->crop;
    s->k = c->k;
    size_t plane = (size_t)s->H * s->W;
    s->samples = malloc(sizeof(float) * (size_t)s->T * 4 * plane * s->k * s->k);
    s->cells = malloc(sizeof(float) * (size_t)s->T * 4 * plane);
    s->gt = malloc(sizeof(float) * (size_t)s->T * 4 * plane);
    s->valid = malloc(sizeof(float) * (size_t)s->T * plane);
    if (!s->samples || !s->cells || !s->gt || !s->valid) {
        pf_sample_free(s);
        return PF_ENOMEM;
    }
    return PF_OK;
}

void pf_sample_free(pf_sample *s)
{
    free(s->samples);
    free(s->cells);
    free(s->gt);
    free(s->valid);
    memset(s, 0, sizeof *s);
}

/* ---- the clean clip ------------------------------------------------------------ */

static int opaque_count(const uint8_t *rgba, int w, int x0, int y0, int cw, int ch)
{
    int n = 0;
    for (int y = y0; y < y0 + ch; y++)
        for (int x = x0; x < x0 + cw; x++) n += rgba[((size_t)y * w + x) * 4 + 3] >= 128;
    return n;
}

/* T frames of a real animation from a random start (looping), a random
 * crop of at most max_in px with content, on a transparent margin. */
static pf_status clip_from_anim(pf_anim *out, const pf_anim *a, int T, int max_in, pf_rng *r)
{
    int cw = a->width < max_in ? a->width : max_in, ch = a->height < max_in ? a->height : max_in;
    int x0 = 0, y0 = 0;
    for (int tries = 0; tries < 8; tries++) {
        x0 = pf_rng_int(r, a->width - cw + 1);
        y0 = pf_rng_int(r, a->height - ch + 1);
        if (opaque_count(a->frames[0].rgba, a->width, x0, y0, cw, ch) * 10 >= cw * ch) break;
    }
    int ml = 2 + pf_rng_int(r, 4), mt = 2 + pf_rng_int(r, 4), mr = 2 + pf_rng_int(r, 4),
        mb = 2 + pf_rng_int(r, 4);
    int W = cw + ml + mr, H = ch + mt + mb, start = pf_rng_int(r, a->count);
    uint8_t *buf = calloc((size_t)W * H, 4);
    pf_status st = buf ? pf_anim_init(out, W, H) : PF_ENOMEM;
    for (int t = 0; t < T && st == PF_OK; t++) {
        const pf_frame *f = &a->frames[(start + t) % a->count];
        for (int y = 0; y < ch; y++)
            memcpy(buf + ((size_t)(y + mt) * W + ml) * 4, f->rgba + ((size_t)(y + y0) * a->width + x0) * 4,
                   (size_t)cw * 4);
        st = pf_anim_push(out, buf, f->duration_ms);
    }
    free(buf);
    return st;
}

static pf_status clean_clip(pf_anim *out, int *source, const pf_dataset *d, const pf_sample_cfg *c,
                            pf_rng *r)
{
    double u = pf_rng_unit(r);
    int max_in = c->max_native - 10;
    if (u < c->p_anim && d->n_anims > 0) {
        *source = 0;
        return clip_from_anim(out, &d->anims[pf_rng_int(r, d->n_anims)], c->T, max_in, r);
    }
    if (u < c->p_anim + c->p_tile && d->n_tiles > 0) {
        const pf_tile *t = &d->tiles[pf_rng_int(r, d->n_tiles)];
        if (t->w <= max_in - 8 && t->h <= max_in - 8) {
            *source = 1;
            int ow = t->w + 8 + pf_rng_int(r, max_in - t->w - 7), oh = t->h + 8 + pf_rng_int(r, max_in - t->h - 7);
            return pf_synth_animate(out, t->rgba, t->w, t->h, ow, oh, c->T, PF_SYNTH_ANY, pf_rng_u64(r), NULL);
        }
    }
    *source = 2;
    return pf_synth_clip(out, 16 + pf_rng_int(r, max_in - 15), 16 + pf_rng_int(r, max_in - 15), c->T,
                         pf_rng_u64(r), NULL);
}

/* ---- the detected grid and the aligned GT ------------------------------------------ */

/* What pf_stream does per frame (stream.c, feed): sample the cells of the
 * drifted grid, their colour, and the key. */
typedef struct detected {
    pf_grid g;
    double *dx, *dy;
    pf_background bg;
    float *full;        /* (4, rows*k, cols*k) */
    float *cells;       /* (4, rows, cols) */
    uint8_t *scratch;
    pf_grid_scratch drift;
} detected;

static void detected_free(detected *q)
{
    pf_grid_free(&q->g);
    free(q->dx);
    free(q->dy);
    free(q->full);
    free(q->cells);
    free(q->scratch);
    pf_grid_scratch_free(&q->drift);
}

/* Copies a (C, rows*f, cols*f) plane set into the crop (C, H*f, W*f) at
 * cell (r0, c0), replicating the last row/column over the padding. */
static void crop_planes(float *dst, const float *src, int C, int rows, int cols, int f, int r0, int c0,
                        int H, int W)
{
    const size_t sw = (size_t)cols * f, sp = (size_t)rows * f * sw, dw = (size_t)W * f,
                 dp = (size_t)H * f * dw;
    const int sr = rows * f, sc = cols * f;
    for (int ch = 0; ch < C; ch++)
        for (int y = 0; y < H * f; y++) {
            int yy = r0 * f + y;
            if (yy >= sr) yy = sr - 1;
            const float *s = src + ch * sp + (size_t)yy * sw;
            float *o = dst + ch * dp + (size_t)y * dw;
            for (int x = 0; x < W * f; x++) {
                int xx = c0 * f + x;
                o[x] = s[xx < sc ? xx : sc - 1];
            }
        }
}

static pf_status make_once(pf_sample *s, const pf_dataset *d, const pf_sample_cfg *c, pf_rng *r,
                           pf_sample_stats *stats, const pf_logger *lg)
{
    pf_anim clean = {0}, deg = {0};
    pf_degrade_geom geom = {0};
    pf_degrade dp;
    detected q = {0};
    const int T = c->T, k = c->k;
    int kind = c->kind >= 0 ? c->kind : pf_rng_int(r, PF_SAMPLE_KINDS);
    pf_status st = clean_clip(&clean, &s->source, d, c, r);
    if (st < 0) goto done;
    pf_degrade_draw(&dp, pf_sample_dkind(kind), pf_rng_u64(r));
    if ((st = pf_degrade_clip(&dp, &clean, &deg, &geom, lg)) < 0) goto done;
    if (deg.count < T) {
        st = PF_EINTERNAL;
        goto done;
    }
    s->kind = kind;
    if (stats) stats->drawn[kind]++;

    const uint8_t *head[64];
    int nh = c->grid_frames < T ? c->grid_frames : T;
    for (int i = 0; i < nh; i++) head[i] = deg.frames[i].rgba;
    pf_grid_params gp = pf_grid_default_params();
    st = pf_grid_detect(&q.g, head, nh, deg.width, deg.height, &gp, NULL);
    if (st == PF_ENOGRID) {
        if (stats) stats->no_grid[kind]++;
        goto done;
    }
    if (st < 0) goto done;
    const int rows = q.g.rows, cols = q.g.cols, H = s->H, W = s->W;
    const int span = cols > rows ? (cols < W ? cols : W) : (rows < H ? rows : H);
    if (fabs(q.g.cell_w / dp.scale - 1) * span > 0.35 || fabs(q.g.cell_h / dp.scale - 1) * span > 0.35) {
        if (stats) stats->wrong_grid[kind]++;
        st = PF_ENOGRID;
        goto done;
    }
    const size_t plane = (size_t)rows * cols;
    st = PF_ENOMEM;
    if (!(q.dx = calloc((size_t)T, sizeof *q.dx)) || !(q.dy = calloc((size_t)T, sizeof *q.dy)) ||
        !(q.full = malloc(sizeof(float) * plane * 4 * k * k)) ||
        !(q.cells = malloc(sizeof(float) * plane * 4 * (size_t)(nh + 1))) || !(q.scratch = malloc(plane)) ||
        (st = pf_grid_scratch_init(&q.drift, deg.width, deg.height)) < 0)
        goto done;
    for (int t = 0; t < T; t++)
        if ((st = pf_grid_drift(&q.g, deg.frames[t].rgba, deg.width, deg.height, &q.drift, &q.dx[t], &q.dy[t])) < 0)
            goto done;
    /* the background from the head frames' cells, as pf_stream estimates it */
    const float *est[64];
    for (int i = 0; i < nh; i++) {
        float *ci = q.cells + (size_t)(i + 1) * 4 * plane;
        pf_grid_sample(&q.g, q.dx[i], q.dy[i], head[i], deg.width, deg.height, k, q.full);
        pf_grid_cells(q.full, rows, cols, k, ci);
        est[i] = ci;
    }
    pf_background_estimate(&q.bg, est, nh, rows, cols);
    for (int ch = 0; ch < 3; ch++) s->bg[ch] = q.bg.rgb[ch] / 255.f;

    const int r0 = rows > H ? pf_rng_int(r, rows - H + 1) : 0, c0 = cols > W ? pf_rng_int(r, cols - W + 1) : 0;
    const size_t cp = (size_t)H * W;
    for (int t = 0; t < T; t++) {
        pf_grid_sample(&q.g, q.dx[t], q.dy[t], deg.frames[t].rgba, deg.width, deg.height, k, q.full);
        pf_grid_cells(q.full, rows, cols, k, q.cells);
        if (q.bg.kind == PF_BGK_SOLID || q.bg.kind == PF_BGK_GRADIENT)
            pf_background_key(&q.bg, q.cells, rows, cols, q.scratch);
        crop_planes(s->samples + (size_t)t * 4 * cp * k * k, q.full, 4, rows, cols, k, r0, c0, H, W);
        crop_planes(s->cells + (size_t)t * 4 * cp, q.cells, 4, rows, cols, 1, r0, c0, H, W);
        /* GT: the clean pixel under each detected cell's centre */
        const pf_frame *gf = &clean.frames[geom.src[t]];
        float *gt = s->gt + (size_t)t * 4 * cp, *valid = s->valid + (size_t)t * cp;
        for (int y = 0; y < H; y++) {
            int gr = r0 + y < rows ? r0 + y : rows - 1;
            double cy = 0.5 * (q.g.yb[gr] + q.g.yb[gr + 1]) + q.dy[t];
            int ny = (int)floor(cy / dp.scale - geom.oy[t]);
            for (int x = 0; x < W; x++) {
                int gc = c0 + x < cols ? c0 + x : cols - 1;
                double cx = 0.5 * (q.g.xb[gc] + q.g.xb[gc + 1]) + q.dx[t];
                int nx = (int)floor(cx / dp.scale - geom.ox[t]);
                valid[(size_t)y * W + x] = r0 + y < rows && c0 + x < cols ? 1.f : 0.f;
                uint8_t px[4] = {0, 0, 0, 0};
                if (nx >= 0 && ny >= 0 && nx < clean.width && ny < clean.height)
                    memcpy(px, gf->rgba + ((size_t)ny * clean.width + nx) * 4, 4);
                for (int ch = 0; ch < 4; ch++) gt[ch * cp + (size_t)y * W + x] = px[ch] / 255.f;
            }
        }
    }
    st = PF_OK;
done:
    detected_free(&q);
    pf_degrade_geom_free(&geom);
    pf_anim_free(&deg);
    pf_anim_free(&clean);
    return st;
}

pf_status pf_sample_make(pf_sample *s, const pf_dataset *d, const pf_sample_cfg *c, uint64_t seed,
                         pf_sample_stats *stats, const pf_logger *lg)
{
    if (c->T != s->T || c->crop != s->H || c->k != s->k || c->grid_frames < 1 || c->grid_frames > 64)
        return PF_EINVAL;
    pf_rng r;
    pf_rng_seed(&r, seed);
    pf_status st = PF_ENOGRID;
    for (int i = 0; i < 32 && st == PF_ENOGRID; i++) st = make_once(s, d, c, &r, stats, lg);
    return st;
}
