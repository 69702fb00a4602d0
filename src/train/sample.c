/* sample.c - one training example: clean clip -> degrade -> the lattice,
 * background, samples and cells through pfi_sampler, as pf_stream makes
 * them -> GT aligned to the detected grid through the true geometry. */
#include "train/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grid/grid.h"
#include "palette/palette.h"
#include "train/degrade.h"
#include "train/rng.h"
#include "train/synth.h"

#define SAMPLE_MAX_OFF 0.3   /* mean |x - centre| + |y - centre| of detected centres, cells */

pfi_sample_cfg pfi_sample_default_cfg(void)
{
    pfi_sample_cfg c = {.T = 8, .crop = 32, .k = 4, .grid_frames = 8, .p_anim = 0.5, .p_tile = 0.25,
                       .kind = -1, .max_native = 48};
    return c;
}

int pfi_sample_dkind(int k)
{
    return k < PF_SAMPLE_KINDS - 1 ? PF_DKIND_GIF + k : PF_DKIND_ANY;
}

int pfi_sample_draw_kind(uint32_t kinds, pfi_rng *r)
{
    const uint32_t all = (1u << PF_SAMPLE_KINDS) - 1;
    kinds &= all;
    if (!kinds) kinds = all;
    int n = 0;
    for (int k = 0; k < PF_SAMPLE_KINDS; k++) n += (kinds >> k) & 1;
    int i = pfi_rng_int(r, n);
    for (int k = 0; k < PF_SAMPLE_KINDS; k++)
        if (((kinds >> k) & 1) && i-- == 0) return k;
    return PF_SAMPLE_KINDS - 1;   /* not reached */
}

pf_status pfi_sample_alloc(pfi_sample *s, const pfi_sample_cfg *c)
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
        pfi_sample_free(s);
        return PF_ENOMEM;
    }
    return PF_OK;
}

void pfi_sample_free(pfi_sample *s)
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
static pf_status clip_from_anim(pfi_anim *out, const pfi_anim *a, int T, int max_in, pfi_rng *r)
{
    int cw = a->width < max_in ? a->width : max_in, ch = a->height < max_in ? a->height : max_in;
    int x0 = 0, y0 = 0;
    for (int tries = 0; tries < 8; tries++) {
        x0 = pfi_rng_int(r, a->width - cw + 1);
        y0 = pfi_rng_int(r, a->height - ch + 1);
        if (opaque_count(a->frames[0].rgba, a->width, x0, y0, cw, ch) * 10 >= cw * ch) break;
    }
    int ml = 2 + pfi_rng_int(r, 4), mt = 2 + pfi_rng_int(r, 4), mr = 2 + pfi_rng_int(r, 4),
        mb = 2 + pfi_rng_int(r, 4);
    int W = cw + ml + mr, H = ch + mt + mb, start = pfi_rng_int(r, a->count);
    uint8_t *buf = calloc((size_t)W * H, 4);
    pf_status st = buf ? pfi_anim_init(out, W, H) : PF_ENOMEM;
    for (int t = 0; t < T && st == PF_OK; t++) {
        const pfi_frame *f = &a->frames[(start + t) % a->count];
        for (int y = 0; y < ch; y++)
            memcpy(buf + ((size_t)(y + mt) * W + ml) * 4, f->rgba + ((size_t)(y + y0) * a->width + x0) * 4,
                   (size_t)cw * 4);
        st = pfi_anim_push(out, buf, f->duration_ms);
    }
    free(buf);
    return st;
}

static pf_status clean_clip(pfi_anim *out, int *source, const pfi_dataset *d, const pfi_sample_cfg *c,
                            pfi_rng *r)
{
    double u = pfi_rng_unit(r);
    int max_in = c->max_native - 10;
    if (u < c->p_anim && d->n_anims > 0) {
        *source = 0;
        return clip_from_anim(out, &d->anims[pfi_rng_int(r, d->n_anims)], c->T, max_in, r);
    }
    if (u < c->p_anim + c->p_tile && d->n_tiles > 0) {
        const pfi_tile *t = &d->tiles[pfi_rng_int(r, d->n_tiles)];
        if (t->w <= max_in - 8 && t->h <= max_in - 8) {
            *source = 1;
            int ow = t->w + 8 + pfi_rng_int(r, max_in - t->w - 7), oh = t->h + 8 + pfi_rng_int(r, max_in - t->h - 7);
            return pfi_synth_animate(out, t->rgba, t->w, t->h, ow, oh, c->T, PF_SYNTH_ANY, pfi_rng_u64(r), NULL);
        }
    }
    *source = 2;
    return pfi_synth_clip(out, 16 + pfi_rng_int(r, max_in - 15), 16 + pfi_rng_int(r, max_in - 15), c->T,
                         pfi_rng_u64(r), NULL);
}

/* Fills rows y0..y1-1 of the opaque backdrop (W wide, RGBA8) with tile t
 * repeated from a random offset; t NULL: a checker of two random colours
 * with squares of 2..8 px. */
static void fill_band(uint8_t *bg, int W, int y0, int y1, const pfi_tile *t, pfi_rng *r)
{
    uint8_t under[3], other[3];
    for (int c = 0; c < 3; c++) under[c] = (uint8_t)pfi_rng_int(r, 256), other[c] = (uint8_t)pfi_rng_int(r, 256);
    const int ox = pfi_rng_int(r, 64), oy = pfi_rng_int(r, 64), sq = 2 + pfi_rng_int(r, 7);
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *o = bg + ((size_t)y * W + x) * 4;
            if (!t) {
                memcpy(o, ((x + ox) / sq + (y + oy) / sq) % 2 ? other : under, 3);
            } else {
                const uint8_t *p = t->rgba + ((size_t)((y + oy) % t->h) * t->w + (size_t)((x + ox) % t->w)) * 4;
                memcpy(o, p, 3);
            }
            o[3] = 255;
        }
}

/* A wall or floor tile for a scene: opaque, with visible texture
 * (pfi_tile.texture >= SCENE_MIN_TEXTURE, as build.py's opaque_scene
 * walls: no plain fills, which a key would rightly take for background).
 * NULL when SCENE_TILE_TRIES draws find none. */
#define SCENE_MIN_TEXTURE 0.05
#define SCENE_TILE_TRIES 16
static const pfi_tile *scene_tile(const pfi_dataset *d, pfi_rng *r)
{
    for (int i = 0; i < SCENE_TILE_TRIES && d->n_tiles > 0; i++) {
        const pfi_tile *t = &d->tiles[pfi_rng_int(r, d->n_tiles)];
        if (t->texture >= SCENE_MIN_TEXTURE) return t;
    }
    return NULL;
}

/* Replaces `clip` by an opaque scene (the evaluation set's opaque_scene): its
 * frames over a wall of one tile repeated over the canvas and, in 70%, a floor
 * band of another tile under the bottom 20..45%. Nothing may be keyed. */
static pf_status make_scene(pfi_anim *clip, const pfi_dataset *d, pfi_rng *r)
{
    const int W = clip->width, H = clip->height;
    uint8_t *bg = malloc((size_t)W * H * 4), *buf = malloc((size_t)W * H * 4);
    pfi_anim out = {0};
    pf_status st = bg && buf ? pfi_anim_init(&out, W, H) : PF_ENOMEM;
    if (st == PF_OK) {
        const pfi_tile *wall = scene_tile(d, r), *floor_t = scene_tile(d, r);
        const int yf = pfi_rng_unit(r) < 0.7 ? H - (int)(H * pfi_rng_range(r, 0.2, 0.45)) : H;
        fill_band(bg, W, 0, yf, wall, r);
        fill_band(bg, W, yf, H, floor_t, r);
        out.loop = clip->loop;
    }
    for (int t = 0; t < clip->count && st == PF_OK; t++) {
        const uint8_t *f = clip->frames[t].rgba;
        for (size_t i = 0; i < (size_t)W * H; i++) {
            const int a = f[i * 4 + 3];
            for (int c = 0; c < 3; c++)
                buf[i * 4 + c] = (uint8_t)((f[i * 4 + c] * a + bg[i * 4 + c] * (255 - a) + 127) / 255);
            buf[i * 4 + 3] = 255;
        }
        st = pfi_anim_push(&out, buf, clip->frames[t].duration_ms);
    }
    free(bg);
    free(buf);
    if (st < 0) {
        pfi_anim_free(&out);
        return st;
    }
    pfi_anim_free(clip);
    *clip = out;
    return PF_OK;
}

/* The box of the pixels opaque in any frame (x1, y1 exclusive); 0 if none. */
static int opaque_box(const pfi_anim *a, int box[4])
{
    box[0] = a->width, box[1] = a->height, box[2] = box[3] = 0;
    for (int t = 0; t < a->count; t++)
        for (int y = 0; y < a->height; y++)
            for (int x = 0; x < a->width; x++)
                if (a->frames[t].rgba[((size_t)y * a->width + x) * 4 + 3] >= 128) {
                    if (x < box[0]) box[0] = x;
                    if (y < box[1]) box[1] = y;
                    if (x + 1 > box[2]) box[2] = x + 1;
                    if (y + 1 > box[3]) box[3] = y + 1;
                }
    return box[2] > box[0];
}

/* A line drawn behind the sprite in every frame (the evaluation set's
 * enclosed, compose.plan_ring), 1-2 px thick, so that background between
 * it and the sprite is enclosed: a ground line along the feet (45%), an
 * ellipse of 0.9-1.15 x the half box (35%, running behind the limbs) or the
 * box itself (20%), each 0-2 px off the box. Its colour: the sprite's
 * darkest (an outline, 40%), one of its pixels' (30%) or a saturated one.
 * Only transparent pixels are drawn (it is behind); no opaque pixel: as is. */
void pfi_sample_ring(pfi_anim *clip, pfi_rng *r)
{
    const int W = clip->width, H = clip->height;
    int box[4];
    if (!opaque_box(clip, box)) return;
    const double u = pfi_rng_unit(r), f = pfi_rng_range(r, 0.9, 1.15), m = pfi_rng_unit(r);
    const int shape = u < 0.45 ? 0 : u < 0.8 ? 1 : 2, thick = 1 + pfi_rng_int(r, 2), gap = pfi_rng_int(r, 3);
    uint8_t rgb[3];
    const uint8_t *f0 = clip->frames[0].rgba;
    int best = -1;
    float best_l = 2.0f;
    for (int i = 0; i < W * H; i++)
        if (f0[i * 4 + 3] >= 128) {
            float lab[3];
            pfi_srgb8_to_oklab(f0 + (size_t)i * 4, lab);
            if (lab[0] < best_l) best_l = lab[0], best = i;
        }
    if (best < 0) return;
    if (m < 0.4) {
        memcpy(rgb, f0 + (size_t)best * 4, 3);
    } else if (m < 0.7) {
        int at = best;
        for (int tries = 0; tries < 64; tries++) {
            const int k = pfi_rng_int(r, W * H);
            if (f0[k * 4 + 3] >= 128) {
                at = k;
                break;
            }
        }
        memcpy(rgb, f0 + (size_t)at * 4, 3);
    } else {
        const double h = pfi_rng_range(r, 0.0, 6.283185307179586);
        const float lab[3] = {(float)pfi_rng_range(r, 0.45, 0.75), (float)(0.2 * cos(h)), (float)(0.2 * sin(h))};
        pfi_oklab_to_srgb8(lab, rgb);
    }
    const double cx = 0.5 * (box[0] + box[2]), cy = 0.5 * (box[1] + box[3]);
    const double ax = 0.5 * (box[2] - box[0]) * (shape == 1 ? f : 1.0) + gap + 0.5 * thick,
                 ay = 0.5 * (box[3] - box[1]) * (shape == 1 ? f : 1.0) + gap + 0.5 * thick;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const double px = x + 0.5, py = y + 0.5;
            int on;
            if (shape == 0) {   /* the ground: the box's last rows, and the gap below */
                on = x >= box[0] - gap && x < box[2] + gap && y >= box[3] - thick && y < box[3] + gap;
            } else if (shape == 1) {   /* |radius - 1| within half the thickness, in pixels */
                const double dx = (px - cx) / ax, dy = (py - cy) / ay, rr = sqrt(dx * dx + dy * dy);
                const double scale = sqrt(pow(dx * ax, 2) + pow(dy * ay, 2)) / fmax(rr, 1e-9);
                on = fabs(rr - 1.0) * scale < 0.5 * thick;
            } else {
                const int x0 = box[0] - gap - thick, x1 = box[2] + gap + thick, y0 = box[1] - gap - thick,
                          y1 = box[3] + gap + thick;
                on = x >= x0 && x < x1 && y >= y0 && y < y1 &&
                     (x < x0 + thick || x >= x1 - thick || y < y0 + thick || y >= y1 - thick);
            }
            if (!on) continue;
            for (int t = 0; t < clip->count; t++) {
                uint8_t *p = clip->frames[t].rgba + ((size_t)y * W + x) * 4;
                if (p[3] >= 128) continue;
                memcpy(p, rgb, 3);
                p[3] = 255;
            }
        }
}

/* A small but distinct hue (the evaluation set's minority_hue,
 * compose.plan_recolour): a group of the clip's colours within
 * MINORITY_GROUP OKLab of one of them (neither near black nor near white)
 * that holds 1-5% of the opaque pixels, drawn among all such groups; else
 * a cap, the top rows of the sprite's box holding 2-4% of them. Its pixels
 * take a hue far from the clip's main colours at chroma 0.15-0.25, their
 * lightness kept.
 * More than MINORITY_MAX_COLOURS distinct colours: groups are not looked for. */
#define MINORITY_GROUP 0.1f
#define MINORITY_MAX_COLOURS 512
#define MINORITY_HUE_TRIES 16

typedef struct colour_count {
    uint8_t rgb[3];
    float lab[3];
    size_t n;
} colour_count;

/* The distinct opaque colours and their counts; -1 past cap. */
static int count_colours(const pfi_anim *a, colour_count *c, int cap, size_t *opaque)
{
    const size_t npx = (size_t)a->width * a->height;
    int n = 0;
    *opaque = 0;
    for (int t = 0; t < a->count; t++)
        for (size_t i = 0; i < npx; i++) {
            const uint8_t *p = a->frames[t].rgba + i * 4;
            if (p[3] < 128) continue;
            ++*opaque;
            int k = 0;
            while (k < n && memcmp(c[k].rgb, p, 3) != 0) k++;
            if (k == n) {
                if (n == cap) return -1;
                memcpy(c[n].rgb, p, 3);
                pfi_srgb8_to_oklab(p, c[n].lab);
                c[n++].n = 0;
            }
            c[k].n++;
        }
    return n;
}

void pfi_sample_recolour(pfi_anim *clip, pfi_rng *r)
{
    const size_t npx = (size_t)clip->width * clip->height;
    colour_count *c = malloc(sizeof *c * MINORITY_MAX_COLOURS);
    size_t opaque = 0;
    if (!c) return;
    const int n = count_colours(clip, c, MINORITY_MAX_COLOURS, &opaque);
    int seed = -1, seen = 0;
    for (int k = 0; k < n && opaque > 0; k++) {   /* a uniform draw among the groups that fit */
        if (c[k].lab[0] < 0.25f || c[k].lab[0] > 0.9f) continue;
        size_t g = 0;
        for (int j = 0; j < n; j++) g += pfi_oklab_dist(c[j].lab, c[k].lab) < MINORITY_GROUP ? c[j].n : 0;
        if (g * 100 >= opaque && g * 20 <= opaque && pfi_rng_int(r, ++seen) == 0) seed = k;
    }
    int box[4], cap_rows = 0;
    if (seed < 0 && opaque > 0 && opaque_box(clip, box)) {   /* a cap */
        size_t in = 0;
        for (int y = box[1]; y < box[3] && in * 50 < opaque; y++, cap_rows++)
            for (int t = 0; t < clip->count; t++)
                for (int x = box[0]; x < box[2]; x++) in += clip->frames[t].rgba[((size_t)y * clip->width + x) * 4 + 3] >= 128;
        if (in * 25 > opaque) cap_rows = 0;
    }
    if (seed >= 0 || cap_rows > 0) {
        const float *ref = seed >= 0 ? c[seed].lab : NULL;
        /* the hue: of MINORITY_HUE_TRIES draws, the farthest from every
         * chromatic colour (chroma over 0.03) holding 3% of the pixels */
        double h = 0, best = -1;
        for (int k = 0; k < MINORITY_HUE_TRIES; k++) {
            const double hk = pfi_rng_range(r, 0.0, 6.283185307179586);
            double far = 3.141592653589793;
            for (int j = 0; j < n; j++) {
                if (c[j].n * 100 < 3 * opaque || hypot(c[j].lab[1], c[j].lab[2]) <= 0.03) continue;
                double dh = fabs(hk - atan2(c[j].lab[2], c[j].lab[1]));
                dh = fmod(dh, 6.283185307179586);
                far = fmin(far, dh > 3.141592653589793 ? 6.283185307179586 - dh : dh);
            }
            if (far > best) best = far, h = hk;
        }
        const double ch = pfi_rng_range(r, 0.15, 0.25);
        for (int t = 0; t < clip->count; t++)
            for (size_t i = 0; i < npx; i++) {
                uint8_t *p = clip->frames[t].rgba + i * 4;
                float lab[3], out[3];
                if (p[3] < 128) continue;
                pfi_srgb8_to_oklab(p, lab);
                if (ref ? pfi_oklab_dist(lab, ref) >= MINORITY_GROUP
                        : (int)(i / (size_t)clip->width) >= box[1] + cap_rows)
                    continue;
                out[0] = lab[0], out[1] = (float)(ch * cos(h)), out[2] = (float)(ch * sin(h));
                pfi_oklab_to_srgb8(out, p);
            }
    }
    free(c);
}

/* ---- the detected grid and the aligned GT ------------------------------------------ */

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

static pf_status make_once(pfi_sample *s, const pfi_dataset *d, const pfi_sample_cfg *c, pfi_rng *r,
                           pfi_sample_stats *stats, const pfi_logger *lg)
{
    pfi_anim clean = {0}, deg = {0};
    pfi_degrade_geom geom = {0};
    pfi_degrade dp;
    int kind = c->kind >= 0 ? c->kind : pfi_sample_draw_kind(c->kinds, r);
    pf_status st = clean_clip(&clean, &s->source, d, c, r);
    if (st == PF_OK && pfi_sample_dkind(kind) == PF_DKIND_SCENE) st = make_scene(&clean, d, r);
    if (st == PF_OK && pfi_sample_dkind(kind) == PF_DKIND_ENCLOSED) pfi_sample_ring(&clean, r);
    if (st == PF_OK && pfi_sample_dkind(kind) == PF_DKIND_MINORITY) pfi_sample_recolour(&clean, r);
    if (st < 0) goto done;
    pfi_degrade_draw(&dp, pfi_sample_dkind(kind), pfi_rng_u64(r));
    if ((st = pfi_degrade_clip(&dp, &clean, &deg, &geom, lg)) < 0) goto done;
    if (deg.count < c->T) {
        st = PF_EINTERNAL;
        goto done;
    }
    s->kind = kind;
    if (stats) stats->drawn[kind]++;
    if ((st = pfi_sample_from_clip(s, &clean, &deg, &dp, &geom, c, r)) == PF_ENOGRID && stats) {
        if (s->wrong_grid) stats->wrong_grid[kind]++;
        else stats->no_grid[kind]++;
    }
done:
    pfi_degrade_geom_free(&geom);
    pfi_anim_free(&deg);
    pfi_anim_free(&clean);
    return st;
}

pf_status pfi_sample_from_clip(pfi_sample *s, const pfi_anim *clean, const pfi_anim *deg, const pfi_degrade *dp,
                              const pfi_degrade_geom *geom, const pfi_sample_cfg *c, pfi_rng *r)
{
    pfi_sampler smp = {0};
    float *full = NULL, *cells = NULL;
    const int T = c->T, k = c->k;
    const uint8_t *head[64];
    const int nh = c->grid_frames < T ? c->grid_frames : T;
    pfi_lattice_params lp = {PF_GRID_AUTO, 0, k};
    pf_status st;

    s->wrong_grid = 0;
    if (deg->count < T || nh > 64) return PF_EINVAL;
    for (int i = 0; i < nh; i++) head[i] = deg->frames[i].rgba;
    /* the lattice, background and cells exactly as pf_stream makes them */
    st = pfi_sampler_lock(&smp, head, nh, deg->width, deg->height, &lp, PF_BG_AUTO, NULL, 0, 0, NULL);
    if (st < 0) goto done;
    const int rows = smp.rows, cols = smp.cols, H = s->H, W = s->W;
    st = PF_ENOMEM;
    if (!(full = pfi_malloc4(smp.slen, sizeof *full, 1, 1)) || !(cells = pfi_malloc4(smp.clen, sizeof *cells, 1, 1)))
        goto done;
    for (int ch = 0; ch < 3; ch++) s->bg[ch] = smp.bg.rgb[ch] / 255.f;

    const int r0 = rows > H ? pfi_rng_int(r, rows - H + 1) : 0, c0 = cols > W ? pfi_rng_int(r, cols - W + 1) : 0;
    const size_t cp = (size_t)H * W;
    double off = 0;   /* how far the detected centres sit from the true ones, cells */
    int noff = 0;
    for (int t = 0; t < T; t++) {
        double dx, dy;
        if ((st = pfi_sampler_next(&smp, deg->frames[t].rgba, full, cells, &dx, &dy)) < 0) goto done;
        crop_planes(s->samples + (size_t)t * 4 * cp * k * k, full, 4, rows, cols, k, r0, c0, H, W);
        crop_planes(s->cells + (size_t)t * 4 * cp, cells, 4, rows, cols, 1, r0, c0, H, W);
        /* GT: the clean pixel under each detected cell's centre, through the
         * true geometry (straight or bent) of this frame */
        const pfi_frame *gf = &clean->frames[geom->src[t]];
        float *gt = s->gt + (size_t)t * 4 * cp, *valid = s->valid + (size_t)t * cp;
        for (int y = 0; y < H; y++) {
            const int gr = r0 + y < rows ? r0 + y : rows - 1;
            for (int x = 0; x < W; x++) {
                const int gc = c0 + x < cols ? c0 + x : cols - 1;
                double cx, cy, u, v;
                pfi_lattice_centre(smp.lat, dx, dy, gc, gr, &cx, &cy);
                pfi_degrade_native_at(dp, geom, t, cx, cy, &u, &v);
                if (t == 0 && r0 + y < rows && c0 + x < cols) {
                    off += fabs(u - floor(u) - 0.5) + fabs(v - floor(v) - 0.5);
                    noff++;
                }
                const int nx = (int)floor(u), ny = (int)floor(v);
                valid[(size_t)y * W + x] = r0 + y < rows && c0 + x < cols ? 1.f : 0.f;
                uint8_t px[4] = {0, 0, 0, 0};
                if (nx >= 0 && ny >= 0 && nx < clean->width && ny < clean->height)
                    memcpy(px, gf->rgba + ((size_t)ny * clean->width + nx) * 4, 4);
                for (int ch = 0; ch < 4; ch++) gt[ch * cp + (size_t)y * W + x] = px[ch] / 255.f;
            }
        }
        /* a grid off the true one (centres spread over the cells instead of
         * sitting at theirs: 0.5 on average by chance) is a failed draw */
        if (t == 0 && (noff == 0 || off / noff > SAMPLE_MAX_OFF)) {
            s->wrong_grid = 1;
            st = PF_ENOGRID;
            goto done;
        }
    }
    st = PF_OK;
done:
    pfi_sampler_free(&smp);
    free(full);
    free(cells);
    return st;
}

pf_status pfi_sample_make(pfi_sample *s, const pfi_dataset *d, const pfi_sample_cfg *c, uint64_t seed,
                         pfi_sample_stats *stats, const pfi_logger *lg)
{
    if (c->T != s->T || c->crop != s->H || c->k != s->k || c->grid_frames < 1 || c->grid_frames > 64)
        return PF_EINVAL;
    pfi_rng r;
    pfi_rng_seed(&r, seed);
    pf_status st = PF_ENOGRID;
    for (int i = 0; i < 32 && st == PF_ENOGRID; i++) st = make_once(s, d, c, &r, stats, lg);
    return st;
}
