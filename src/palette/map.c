/*
 * map.c - native frames to palette indices: nearest colour in OKLab (a
 * blend of two entries far from all: the end it holds more of; a colour far
 * from all: preferably an entry of its neighbours), no dithering, with
 * temporal hysteresis so a pixel keeps its index unless its colour really
 * changed. Not the extractor (extract.c).
 */
#include "palette/palette.h"

#include <math.h>
#include <string.h>

/* Linear scan, O(n) with n <= 256; ties go to the lower index. */
int pfi_palette_nearest(const pfi_palette *p, const float lab[3], float *dist)
{
    int n = p ? pfi_clampi(p->n, 0, PF_PALETTE_MAX) : 0, bi = -1;
    float bd = INFINITY;

    for (int i = 0; i < n; i++) {
        const float *c = p->lab[i];
        float x = lab[0] - c[0], y = lab[1] - c[1], z = lab[2] - c[2];
        float d = x * x + y * y + z * z;
        if (d < bd) { bd = d; bi = i; }
    }
    if (dist) *dist = bi >= 0 ? sqrtf(bd) : INFINITY;
    return bi;
}

/* A colour far from every entry that lies on the mixing path of two
 * (a cell the upscaler or the blur mixed across an edge, such as a skin
 * shadow between skin and its outline when the palette holds neither the
 * shadow nor anything near it) goes to the path's end it holds more of,
 * not to the nearest entry: that can be a third colour of another hue
 * (wild clip: skin blends became teal-grey hair shades). */
#define MAP_BLEND_FAR 0.05f   /* OKLab: nearer than this, the nearest entry stands */
#define MAP_BLEND_PERP 0.02f  /* OKLab: within this of the path */
#define MAP_BLEND_GAIN 0.5f   /* ... and this share of the nearest entry's distance */
#define MAP_BLEND_NEAR 3      /* one end among the nearest entries */

static int blend_end(const pfi_palette *p, const float lab[3], const float rgb[3], int best, float *best_d)
{
    const int n = pfi_clampi(p->n, 0, PF_PALETTE_MAX);
    int near[MAP_BLEND_NEAR], nn = 0;
    float nd[MAP_BLEND_NEAR];
    for (int i = 0; i < n; i++) {
        const float d = pfi_oklab_dist(lab, p->lab[i]);
        int r = nn < MAP_BLEND_NEAR ? nn++ : MAP_BLEND_NEAR;
        while (r > 0 && d < nd[r - 1]) {
            if (r < MAP_BLEND_NEAR) near[r] = near[r - 1], nd[r] = nd[r - 1];
            r--;
        }
        if (r < MAP_BLEND_NEAR) near[r] = i, nd[r] = d;
    }
    float bp = fminf(MAP_BLEND_PERP, MAP_BLEND_GAIN * *best_d);
    int pick = best;
    for (int r = 0; r < nn; r++) {
        const int a = near[r];
        float ar[3];
        for (int c = 0; c < 3; c++) ar[c] = p->rgb[a][c] / 255.f;
        for (int b = 0; b < n; b++) {
            float br[3], t;
            if (b == a) continue;
            for (int c = 0; c < 3; c++) br[c] = p->rgb[b][c] / 255.f;
            const float d = pfi_blend_dist(lab, rgb, p->lab[a], ar, p->lab[b], br, 0.0f, &t);
            if (d < bp) {
                bp = d;
                pick = t >= 0.5f ? a : b;
            }
        }
    }
    if (pick != best) *best_d = pfi_oklab_dist(lab, p->lab[pick]);
    return pick;
}

pfi_hysteresis pfi_hysteresis_default(void)
{
    pfi_hysteresis h = { 0.03f, 0.03f };
    return h;
}

/* ---- per-call colour cache ---------------------------------------------- */

/* Pixel art repeats a few colours over a frame, so the OKLab conversion and
 * the nearest search are cached per call, keyed by the 8-bit colour when
 * all three channels are exactly k / 255 (what 8-bit sources give); other
 * inputs are computed directly. Either way the result is the same bits. */
#define CACHE_BITS 10

typedef struct centry {
    uint32_t key;       /* 1 << 24 | RGB8, 0 = empty */
    int16_t best;       /* nearest entry */
    float best_d;       /* its distance */
    float lab[3];
} centry;

typedef struct look {
    float lab[3];
    int best;
    float best_d;
} look;

/* 8-bit code of an exact k / 255 colour, or -1. */
static int32_t exact8(const float rgb[3])
{
    int32_t key = 0;
    for (int c = 0; c < 3; c++) {
        long q = lrintf(rgb[c] * 255.0f);
        if ((float)q / 255.0f != rgb[c]) return -1;
        key = key << 8 | (int32_t)q;
    }
    return key;
}

/* Colour rgb (clamped 0..1) -> OKLab and its entry (nearest, or blend_end). */
static void look_up(const pfi_palette *p, centry *cache, const float rgb[3], look *out)
{
    int32_t k8 = exact8(rgb);
    centry *ce = NULL;
    if (k8 >= 0) {
        uint32_t key = (uint32_t)k8 | 1u << 24;
        ce = &cache[((uint32_t)k8 * 2654435761u) >> (32 - CACHE_BITS)];
        if (ce->key == key) {
            memcpy(out->lab, ce->lab, sizeof out->lab);
            out->best = ce->best;
            out->best_d = ce->best_d;
            return;
        }
        ce->key = key;
    }
    pfi_srgb_to_oklab(rgb, out->lab);
    out->best = pfi_palette_nearest(p, out->lab, &out->best_d);
    if (out->best >= 0 && out->best_d > MAP_BLEND_FAR) out->best = blend_end(p, out->lab, rgb, out->best, &out->best_d);
    if (ce) {
        memcpy(ce->lab, out->lab, sizeof ce->lab);
        ce->best = (int16_t)out->best;
        ce->best_d = out->best_d;
    }
}

/* Cell i of planar RGBA (4, h, w) looked up; 0 if transparent (alpha <
 * 0.5 or NaN). Non-finite colour channels read as 0. */
static int cell_look(const pfi_palette *p, centry *cache, const float *cells, size_t plane,
                     size_t i, look *out)
{
    float rgb[3] = { cells[i], cells[plane + i], cells[2 * plane + i] };
    if (!(cells[3 * plane + i] >= 0.5f)) return 0;
    for (int c = 0; c < 3; c++) rgb[c] = isfinite(rgb[c]) ? pfi_clampf(rgb[c], 0.0f, 1.0f) : 0.0f;
    look_up(p, cache, rgb, out);
    return 1;
}

/* A cell far from every entry (over MAP_BLEND_FAR) whose own choice is no
 * choice of its 8 neighbours takes the nearest entry of the neighbours that
 * are near one, when that is at most MAP_NEIGH_SLACK farther than its own: such a cell is an edge mix of what surrounds it, and the
 * global choice can be a third hue that appears nowhere near (wild clip: skin
 * outline cells 0.10 OKLab from every entry went to teal-greys of the hair). */
#define MAP_NEIGH_SLACK 0.04f

static int neighbour_pick(const pfi_palette *p, centry *cache, const float *cells, int w, int h, size_t i,
                          const look *cur)
{
    const int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
    const size_t plane = (size_t)w * (size_t)h;
    int pick = -1;
    float pd = INFINITY;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            const int xx = x + dx, yy = y + dy;
            look nb;
            if ((dx == 0 && dy == 0) || xx < 0 || yy < 0 || xx >= w || yy >= h ||
                !cell_look(p, cache, cells, plane, (size_t)yy * (size_t)w + (size_t)xx, &nb))
                continue;
            if (nb.best == cur->best) return cur->best;   /* a neighbour's choice too: it stands */
            if (nb.best_d > MAP_BLEND_FAR || nb.best == pick) continue;
            const float d = pfi_oklab_dist(cur->lab, p->lab[nb.best]);
            if (d < pd || (d == pd && nb.best < pick)) pd = d, pick = nb.best;
        }
    return pick >= 0 && pd <= cur->best_d + MAP_NEIGH_SLACK ? pick : cur->best;
}

/* ---- mapping ---------------------------------------------------------------- */

/* Per pixel: alpha < 0.5 -> -1. Otherwise the entry b look_up gives, except
 * that with a previous frame where the pixel was opaque (same alpha class)
 * with a valid index q, q stays while d(q) - d(b) <= limit:
 *   - limit = keep_margin + 2 same_dist when the input colour moved less
 *     than same_dist since the previous frame (a still pixel whose earlier
 *     choice obeyed either rule then never changes: each frame moves the
 *     difference by at most 2 same_dist),
 *   - limit = keep_margin otherwise,
 *   - and never more than half the distance between entries q and b, so a
 *     slow drift always switches soon after passing their midpoint, even
 *     between entries closer than the limits.
 * Before the hysteresis, a far colour may take a neighbour's entry
 * (neighbour_pick: from the neighbours' own choices, so the result does
 * not depend on the scan order).
 * Cost: O(w h n) colour distances and one sRGB -> OKLab conversion per
 * pixel in the worst case; with 8-bit colours, once per distinct colour
 * (1024-entry cache, 24 KiB on the stack). No heap allocation. */
void pfi_palette_map_frame(const pfi_palette *p, const float *cells, int w, int h,
                          const float *prev_cells, const int16_t *prev_idx,
                          const pfi_hysteresis *hy, int16_t *idx)
{
    pfi_hysteresis def = pfi_hysteresis_default();
    size_t plane = (size_t)(w > 0 ? w : 0) * (size_t)(h > 0 ? h : 0);
    int n = p ? pfi_clampi(p->n, 0, PF_PALETTE_MAX) : 0;
    centry cache[1 << CACHE_BITS];

    if (!hy) hy = &def;
    memset(cache, 0, sizeof cache);
    for (size_t i = 0; i < plane; i++) {
        look cur, prev;
        if (n == 0 || !cell_look(p, cache, cells, plane, i, &cur)) {
            idx[i] = -1;
            continue;
        }
        if (cur.best_d > MAP_BLEND_FAR) {
            cur.best = neighbour_pick(p, cache, cells, w, h, i, &cur);
            cur.best_d = pfi_oklab_dist(cur.lab, p->lab[cur.best]);
        }
        int best = cur.best;
        int q = prev_idx && prev_cells ? prev_idx[i] : -1;
        if (q >= 0 && q < n && q != best && cell_look(p, cache, prev_cells, plane, i, &prev)) {
            float dq = pfi_oklab_dist(cur.lab, p->lab[q]);
            float limit = pfi_oklab_dist(cur.lab, prev.lab) < hy->same_dist
                              ? hy->keep_margin + 2.0f * hy->same_dist
                              : hy->keep_margin;
            limit = fminf(limit, 0.5f * pfi_oklab_dist(p->lab[q], p->lab[best]));
            if (dq - cur.best_d <= limit) best = q;
        }
        idx[i] = (int16_t)best;
    }
}
