/*
 * sprite.c - procedural pixel-art sprites with exact ground truth
 * (docs/data.md, "Generated data"): pfi_synth_sprite. Draws clean native
 * frames only; animating them is animate.c's job, degrading them into
 * network inputs degrade.c's.
 *
 * A sprite is drawn in four passes over a (h, w) material map:
 *   1. shapes: a kind (character, creature, blob, item) paints material ids
 *      inside a box inset by the margin plus 1 px, mirrored about the
 *      vertical axis for the symmetric kinds (the approach of classic
 *      random sprite generators: draw one half, mirror it);
 *   2. palette: an outline colour and one hue-shifted OKLab ramp of 1..4
 *      shades per material slot, every colour at least PF_SYNTH_MIN_DE from
 *      the others after rounding to 8 bits;
 *   3. shading: a bevel normal from the chamfer distance to the material's
 *      edge, lit from the top left, quantised to the ramp, optionally with
 *      ordered dithering (checker band or 4x4 Bayer) between two shades;
 *   4. outline: every empty pixel touching the shape becomes an outline
 *      colour, so no shape pixel ever borders transparency.
 */
#include "train/synth.h"

#include <math.h>
#include <string.h>

#include "palette/palette.h"
#include "train/rng.h"

#define PI_F 3.14159265f
#define MAT_MAX 10          /* materials per sprite */
#define SLOT_MAX 8          /* colour ramps per sprite */
#define SHADE_MAX 4         /* shades per ramp */
#define DE_GUARD 0.002f     /* extra distance so a float re-check never lands below MIN_DE */
#define OUTLINE_L_LO 0.08f  /* OKLab L range of outline colours */
#define OUTLINE_L_HI 0.25f
#define FILL_L_TOP 0.96f    /* lightest ramp shade */
#define OKLAB_YELLOW 1.92f  /* OKLab hue of yellow, rad: lights shift towards it */

enum { KIND_CHARACTER, KIND_CREATURE, KIND_BLOB, KIND_ITEM };
enum { DITHER_NONE, DITHER_BAND, DITHER_BAYER, DITHER_PATTERN };
enum { SPEC_NONE = -1, SPEC_DARK = 0, SPEC_ACCENT = 1 };

/* What a kind wants of a ramp: hue (rad, < 0 = any), chroma and darkest L. */
typedef struct ramp_hint {
    float hue, cmin, cmax, lmin, lmax;
} ramp_hint;

typedef struct ramp {
    int n;                  /* shades, 0 = not made */
    int pal[SHADE_MAX];     /* palette indices, dark to light */
    int outline;            /* palette index of this ramp's outline */
} ramp;

typedef struct material {
    int slot;               /* ramp slot asked for by the kind */
    float bias;             /* shade offset, in shades */
    int dither;             /* DITHER_* */
} material;

typedef struct sprite {
    pfi_rng rng;
    int w, h;
    int bx0, by0, bx1, by1, bw, bh;   /* drawable box, inclusive */
    float cx;                         /* mirror axis (continuous x) */
    uint8_t *mat;                     /* (h, w) 0 = empty, 1..nmat */
    int8_t *spec;                     /* (h, w) SPEC_* forced colour role */
    float *dist;                      /* (h, w) chamfer distance */
    int16_t *idx;                     /* (h, w) palette index, -1 = transparent */
    int nmat;
    material m[MAT_MAX + 1];
    int nslot;
    ramp_hint hint[SLOT_MAX];
    int slot_ramp[SLOT_MAX];
    ramp r[SLOT_MAX];
    int nramp;
    int npal;
    uint8_t rgb[PF_SYNTH_MAX_COLORS][3];
    float lab[PF_SYNTH_MAX_COLORS][3];
    int outline_main, accent;         /* palette indices; accent -1 = none */
    int want_accent, outline8, lines, cast;
} sprite;

/* ---- palette ------------------------------------------------------------- */

/* Adds lab (rounded to sRGB8) when its L is in [lmin, lmax) and it is at
 * least MIN_DE from every entry. Returns the index, or -1. */
static int pal_try_add(sprite *c, const float lab[3], float lmin, float lmax)
{
    float q[3];
    uint8_t rgb[3];

    if (c->npal >= PF_SYNTH_MAX_COLORS) return -1;
    pfi_oklab_to_srgb8(lab, rgb);
    pfi_srgb8_to_oklab(rgb, q);
    if (q[0] < lmin || q[0] >= lmax) return -1;
    for (int i = 0; i < c->npal; i++)
        if (pfi_oklab_dist(q, c->lab[i]) < PF_SYNTH_MIN_DE + DE_GUARD) return -1;
    memcpy(c->rgb[c->npal], rgb, 3);
    memcpy(c->lab[c->npal], q, sizeof q);
    return c->npal++;
}

static void lch(float lab[3], float L, float C, float hue)
{
    lab[0] = L;
    lab[1] = C * cosf(hue);
    lab[2] = C * sinf(hue);
}

/* A ramp of up to n shades, dark to light, lights hue-shifted towards
 * yellow and darks away from it (the usual pixel-art hue shifting).
 * Returns the shades made (fewer when crowded; 0 on failure). */
static int make_ramp(sprite *c, int n, const ramp_hint *hn, ramp *out)
{
    for (int tries = 0; tries < 80 && n > 0; tries++) {
        int nn = tries < 50 ? n : (n - 1 - (tries - 50) / 10 > 1 ? n - 1 - (tries - 50) / 10 : 1);
        float hue = hn->hue >= 0 && tries < 25 ? hn->hue + pfi_rng_betweenf(&c->rng, -0.3f, 0.3f)
                                                : pfi_rng_betweenf(&c->rng, 0.f, 2.f * PI_F);
        float c0 = pfi_rng_betweenf(&c->rng, hn->cmin, hn->cmax);
        float llo = pfi_rng_betweenf(&c->rng, hn->lmin, hn->lmax), dl = pfi_rng_betweenf(&c->rng, 0.09f, 0.17f);
        float toward = remainderf(OKLAB_YELLOW - hue, 2.f * PI_F) > 0 ? 1.f : -1.f;
        float hs = pfi_rng_betweenf(&c->rng, 0.1f, 0.45f);
        int save = c->npal, ok = 1;

        if (nn == 1) llo = pfi_rng_betweenf(&c->rng, 0.45f, 0.85f);
        if (llo + (nn - 1) * dl > FILL_L_TOP) {
            llo = FILL_L_TOP - (nn - 1) * dl;
            if (llo < PF_SYNTH_FILL_L_MIN + 0.03f) {
                llo = PF_SYNTH_FILL_L_MIN + 0.03f;
                dl = (FILL_L_TOP - llo) / (float)(nn - 1);
            }
        }
        for (int i = 0; i < nn && ok; i++) {
            float t = nn > 1 ? (float)i / (float)(nn - 1) : 0.5f, lab[3];
            float ci = c0 * (1.f - 0.45f * fabsf(2.f * t - 1.f) * (t > 0.5f ? 1.3f : 0.6f));
            lch(lab, llo + i * dl, ci > 0 ? ci : 0, hue + toward * hs * (t - 0.45f));
            out->pal[i] = pal_try_add(c, lab, PF_SYNTH_FILL_L_MIN + 0.01f, 2.f);
            ok = out->pal[i] >= 0;
        }
        if (ok) {
            out->n = nn;
            return nn;
        }
        c->npal = save;
    }
    out->n = 0;
    return 0;
}

/* An outline colour: dark, low chroma, tinted by hue. */
static int make_outline(sprite *c, float hue, float lmax)
{
    for (int tries = 0; tries < 60; tries++) {
        float lab[3];
        float hi = lmax < OUTLINE_L_HI ? lmax : OUTLINE_L_HI;
        lch(lab, pfi_rng_betweenf(&c->rng, OUTLINE_L_LO, hi > OUTLINE_L_LO ? hi : OUTLINE_L_LO + 0.01f),
            tries < 40 ? pfi_rng_betweenf(&c->rng, 0.f, 0.06f) : 0.f,
            tries < 20 ? hue : pfi_rng_betweenf(&c->rng, 0.f, 2.f * PI_F));
        int k = pal_try_add(c, lab, 0.f, PF_SYNTH_OUTLINE_L_MAX - 0.01f);
        if (k >= 0) return k;
    }
    return -1;
}

/* Chooses the colour budget, then makes outline(s), ramps and the accent.
 * Every slot gets a ramp with at least one shade. */
static pf_status build_palette(sprite *c)
{
    int k = 2 + (int)(31.0 * pow(pfi_rng_unit(&c->rng), 1.15));
    int avail = k - 1, nr, total = 0, shades[SLOT_MAX], selective;

    nr = c->nslot < (avail / 2 > 1 ? avail / 2 : 1) ? c->nslot : (avail / 2 > 1 ? avail / 2 : 1);
    for (int i = 0; i < nr; i++) {   /* 2..4 shades, more when the budget is large */
        double u = pfi_rng_unit(&c->rng), rich = avail >= 3 * nr ? 0.25 : 0.0;
        shades[i] = u < 0.3 - rich ? 2 : u < 0.7 - rich ? 3 : 4;
        total += shades[i];
    }
    if (avail < 2) shades[0] = 1, total = 1;
    while (total > avail) {
        int big = 0;
        for (int i = 1; i < nr; i++) if (shades[i] > shades[big]) big = i;
        if (shades[big] > 1) shades[big]--, total--;
        else total -= shades[--nr];
    }
    c->want_accent = c->want_accent && total < avail;
    selective = nr >= 2 && total + c->want_accent + nr <= PF_SYNTH_MAX_COLORS && pfi_rng_chance(&c->rng, 0.25);

    c->npal = 0;
    c->nramp = nr;
    memset(c->r, 0, sizeof c->r);
    if (!selective) {
        c->outline_main = make_outline(c, c->hint[0].hue >= 0 ? c->hint[0].hue : pfi_rng_betweenf(&c->rng, 0, 6.28f),
                                       OUTLINE_L_HI);
        if (c->outline_main < 0) return PF_EINTERNAL;
    }
    for (int i = 0; i < nr; i++) {
        ramp_hint hn = c->hint[i];
        if (make_ramp(c, shades[i], &hn, &c->r[i]) == 0) {
            if (i == 0) return PF_EINTERNAL;
            c->r[i] = c->r[0];
        }
    }
    for (int i = 0; i < nr; i++) {
        c->r[i].outline = c->outline_main;
        if (selective) {
            float *lo = c->lab[c->r[i].pal[0]];
            int o = make_outline(c, atan2f(lo[2], lo[1]) + 0.3f, lo[0] - 0.15f);
            c->r[i].outline = o >= 0 ? o : i > 0 ? c->r[0].outline : -1;
            if (c->r[i].outline < 0) return PF_EINTERNAL;
        }
    }
    if (selective) c->outline_main = c->r[0].outline;
    c->accent = -1;
    if (c->want_accent) {
        float lab[3];
        for (int tries = 0; tries < 20 && c->accent < 0; tries++) {
            lch(lab, pfi_rng_betweenf(&c->rng, 0.9f, 0.99f), pfi_rng_betweenf(&c->rng, 0.f, 0.04f), pfi_rng_betweenf(&c->rng, 0, 6.28f));
            c->accent = pal_try_add(c, lab, PF_SYNTH_FILL_L_MIN + 0.01f, 2.f);
        }
    }
    for (int s = 0; s < c->nslot; s++)
        c->slot_ramp[s] = s < nr ? s : nr > 1 ? 1 + (s % (nr - 1)) : 0;
    return PF_OK;
}

/* ---- shape drawing on the material map ----------------------------------- */

static int in_box(const sprite *c, int x, int y)
{
    return x >= c->bx0 && x <= c->bx1 && y >= c->by0 && y <= c->by1;
}

static void put(sprite *c, int x, int y, int m)
{
    if (in_box(c, x, y)) c->mat[(size_t)y * c->w + x] = (uint8_t)m;
}

static int mat_at(const sprite *c, int x, int y)
{
    return in_box(c, x, y) ? c->mat[(size_t)y * c->w + x] : 0;
}

static void set_spec(sprite *c, int x, int y, int s)
{
    if (in_box(c, x, y) && c->mat[(size_t)y * c->w + x]) c->spec[(size_t)y * c->w + x] = (int8_t)s;
}

/* Pixels whose centres lie in the ellipse (cx, cy, rx, ry), continuous px. */
static void fill_ellipse(sprite *c, float cx, float cy, float rx, float ry, int m)
{
    if (rx < 0.5f) rx = 0.5f;
    if (ry < 0.5f) ry = 0.5f;
    for (int y = c->by0; y <= c->by1; y++)
        for (int x = c->bx0; x <= c->bx1; x++) {
            float dx = (x + 0.5f - cx) / rx, dy = (y + 0.5f - cy) / ry;
            if (dx * dx + dy * dy <= 1.0f) put(c, x, y, m);
        }
}

/* Pixels with centre x in [xa, xb] (continuous) and rows ya..yb. */
static void fill_rectf(sprite *c, float xa, int ya, float xb, int yb, int m)
{
    for (int y = ya; y <= yb; y++)
        for (int x = c->bx0; x <= c->bx1; x++)
            if (x + 0.5f >= xa && x + 0.5f <= xb) put(c, x, y, m);
}

/* Copies the left half (and centre) onto the right half, materials and
 * special pixels, so the sprite is exactly symmetric. */
static void mirror_x(sprite *c)
{
    int axis = c->bx0 + c->bx1;
    for (int y = c->by0; y <= c->by1; y++)
        for (int x = c->bx0; x <= c->bx1; x++)
            if (2 * x > axis) {
                size_t d = (size_t)y * c->w + x, s = (size_t)y * c->w + (axis - x);
                c->mat[d] = c->mat[s];
                c->spec[d] = c->spec[s];
            }
}

/* Chamfer (1, sqrt 2) distance of every shape pixel to the nearest pixel that
 * is empty (same_mat = 0) or of another material (same_mat = 1); pixels off
 * the canvas count as such. Two passes (Borgefors 1986). */
static void chamfer(sprite *c, int same_mat)
{
    static const int fdx[4] = { -1, -1, 0, 1 }, fdy[4] = { 0, -1, -1, -1 };
    static const float fw[4] = { 1.f, 1.41421f, 1.f, 1.41421f };
    int w = c->w, h = c->h;

    for (int i = 0; i < w * h; i++) c->dist[i] = c->mat[i] ? 1e9f : 0.f;
    for (int pass = 0; pass < 2; pass++) {
        int sg = pass ? -1 : 1;
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++) {
                int x = pass ? w - 1 - xx : xx, y = pass ? h - 1 - yy : yy;
                size_t p = (size_t)y * w + x;
                if (!c->mat[p]) continue;
                for (int k = 0; k < 4; k++) {
                    int qx = x + sg * fdx[k], qy = y + sg * fdy[k];
                    float dq = 0.f;
                    if (qx >= 0 && qx < w && qy >= 0 && qy < h) {
                        size_t q = (size_t)qy * w + qx;
                        int same = same_mat ? c->mat[q] == c->mat[p] : c->mat[q] != 0;
                        dq = same ? c->dist[q] : 0.f;
                    }
                    if (dq + fw[k] < c->dist[p]) c->dist[p] = dq + fw[k];
                }
            }
    }
}

/* Keeps only the 4-connected component of shape pixels that contains
 * (sx, sy), or the largest one when (sx, sy) is empty. queue: (w*h) ints. */
static void keep_component(sprite *c, int sx, int sy, int *queue)
{
    int w = c->w, n = w * c->h, best = -1, best_size = 0;
    size_t bytes = (size_t)c->w * (size_t)c->h;
    int8_t *lab = c->spec;   /* borrowed: labels 0 = unseen, 1 = seen; reset below */
    size_t seed_px = (size_t)sy * w + sx;

    memset(lab, 0, bytes);
    for (int start = 0; start < n; start++) {
        int head = 0, tail = 0, contains = 0;
        if (!c->mat[start] || lab[start]) continue;
        lab[start] = 1;
        queue[tail++] = start;
        while (head < tail) {
            int p = queue[head++], x = p % w, y = p / w;
            const int nb[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };
            if ((size_t)p == seed_px) contains = 1;
            for (int k = 0; k < 4; k++) {
                int qx = nb[k][0], qy = nb[k][1], q;
                if (qx < 0 || qx >= w || qy < 0 || qy >= c->h) continue;
                q = qy * w + qx;
                if (c->mat[q] && !lab[q]) lab[q] = 1, queue[tail++] = q;
            }
        }
        if (contains) { best = start; best_size = n + 1; }
        else if (tail > best_size) { best = start; best_size = tail; }
    }
    memset(lab, 0, bytes);
    if (best < 0) return;
    /* second flood from the chosen start marks the component */
    {
        int head = 0, tail = 0;
        lab[best] = 1;
        queue[tail++] = best;
        while (head < tail) {
            int p = queue[head++], x = p % w, y = p / w;
            const int nb[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };
            for (int k = 0; k < 4; k++) {
                int qx = nb[k][0], qy = nb[k][1], q;
                if (qx < 0 || qx >= w || qy < 0 || qy >= c->h) continue;
                q = qy * w + qx;
                if (c->mat[q] && !lab[q]) lab[q] = 1, queue[tail++] = q;
            }
        }
    }
    for (int p = 0; p < n; p++)
        if (!lab[p]) c->mat[p] = 0;
    memset(c->spec, SPEC_NONE, bytes);
}


/* One cellular-automaton step on the shape (material 1): a pixel turns on
 * with 5+ of its 8 neighbours on and off with 2 or fewer, which removes
 * speckle and pinholes; the rule is mirror-invariant, so symmetry stays. */
static void smooth_shape(sprite *c)
{
    size_t n = (size_t)c->w * c->h;
    uint8_t *next = (uint8_t *)c->idx;   /* borrowed scratch, n bytes of 2n */

    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            int k = 0, on = mat_at(c, x, y) != 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if ((dx || dy) && mat_at(c, x + dx, y + dy)) k++;
            next[(size_t)y * c->w + x] = (uint8_t)(k >= 5 ? 1 : k <= 2 ? 0 : on);
        }
    for (size_t i = 0; i < n; i++) c->mat[i] = next[i] ? (c->mat[i] ? c->mat[i] : 1) : 0;
}

/* Fills enclosed empty areas of at most max_px pixels (4-connected, not
 * reaching the box's border) with material m. queue: (w*h) ints. */
static void fill_holes(sprite *c, int max_px, int m, int *queue)
{
    size_t n = (size_t)c->w * c->h;
    int8_t *seen = c->spec;   /* borrowed; reset below */

    memset(seen, 0, n);
    for (int y = c->by0; y <= c->by1; y++)
        for (int x = c->bx0; x <= c->bx1; x++) {
            int p0 = y * c->w + x, head = 0, tail = 0, border = 0;
            if (c->mat[p0] || seen[p0]) continue;
            seen[p0] = 1;
            queue[tail++] = p0;
            while (head < tail) {
                int p = queue[head++], px = p % c->w, py = p / c->w;
                const int nb[4][2] = { { px - 1, py }, { px + 1, py }, { px, py - 1 }, { px, py + 1 } };
                for (int k = 0; k < 4; k++) {
                    int qx = nb[k][0], qy = nb[k][1], q;
                    if (!in_box(c, qx, qy)) {
                        border = 1;
                        continue;
                    }
                    q = qy * c->w + qx;
                    if (!c->mat[q] && !seen[q]) seen[q] = 1, queue[tail++] = q;
                }
            }
            if (!border && tail <= max_px)
                for (int i = 0; i < tail; i++) c->mat[queue[i]] = (uint8_t)m;
        }
    memset(c->spec, SPEC_NONE, n);
}

/* ---- the sprite kinds ------------------------------------------------------ */

static void add_material(sprite *c, int slot, float bias)
{
    if (c->nmat >= MAT_MAX) return;
    c->nmat++;
    c->m[c->nmat].slot = slot;
    c->m[c->nmat].bias = bias;
    c->m[c->nmat].dither = DITHER_NONE;
}

static void hint(sprite *c, int slot, float hue, float cmin, float cmax, float lmin, float lmax)
{
    ramp_hint h = { hue, cmin, cmax, lmin, lmax };
    c->hint[slot] = h;
    if (slot + 1 > c->nslot) c->nslot = slot + 1;
}

static void hint_any(sprite *c, int slot)
{
    hint(c, slot, -1.f, 0.03f, 0.17f, 0.38f, 0.62f);
}

/* Material and ramp slots of each kind, before any drawing (the palette
 * budget depends on them). */
static void plan_character(sprite *c)
{
    hint(c, 0, pfi_rng_betweenf(&c->rng, 0.6f, 1.2f), 0.04f, 0.11f, 0.5f, 0.66f); /* skin */
    hint_any(c, 1);   /* shirt */
    hint_any(c, 2);   /* trousers */
    hint_any(c, 3);   /* hair or hat */
    hint(c, 4, pfi_rng_betweenf(&c->rng, 0.5f, 1.1f), 0.02f, 0.08f, 0.38f, 0.5f);   /* boots */
    hint_any(c, 5);   /* belt, gear */
    add_material(c, 0, 0.f);   /* 1 skin */
    add_material(c, 1, 0.f);   /* 2 shirt */
    add_material(c, 2, 0.f);   /* 3 trousers */
    add_material(c, 3, 0.f);   /* 4 hair */
    add_material(c, 4, 0.f);   /* 5 boots */
    add_material(c, 5, 0.f);   /* 6 belt */
    c->want_accent = 1;
}

static void draw_character(sprite *c)
{
    pfi_rng *r = &c->rng;
    int W = c->bw, H = c->bh;
    int head_h = pfi_clampi((int)lrintf(H * pfi_rng_betweenf(r, 0.28f, 0.42f)), 1, H);
    int leg_h = pfi_clampi((int)lrintf(H * pfi_rng_betweenf(r, 0.18f, 0.32f)), H >= 5 ? 1 : 0, H - head_h);
    int body_h = H - head_h - leg_h, arm_w, top, body_top, body_bot;
    float head_w = W * pfi_rng_betweenf(r, 0.45f, 0.85f), body_w = W * pfi_rng_betweenf(r, 0.45f, 0.8f), cx = c->cx;

    if (body_h < 1 && leg_h > 0) leg_h--, body_h++;
    if (body_h < 1 && head_h > 1) head_h--, body_h++;
    if (head_w < 2) head_w = 2;
    if (body_w < 2) body_w = 2;
    arm_w = W >= 10 ? pfi_rng_between(r, 1, W / 8 > 1 ? W / 8 : 1) : (W >= 6 && pfi_rng_chance(r, 0.5)) ? 1 : 0;
    if (body_w + 2 * arm_w > W) body_w = (float)(W - 2 * arm_w);
    if (body_w < 1) body_w = 1, arm_w = 0;
    top = c->by0;
    body_top = top + head_h;
    body_bot = body_top + body_h - 1;

    /* head */
    if (pfi_rng_chance(r, 0.6)) fill_ellipse(c, cx, top + head_h * 0.5f, head_w * 0.5f, head_h * 0.5f, 1);
    else {
        fill_rectf(c, cx - head_w * 0.5f, top, cx + head_w * 0.5f, top + head_h - 1, 1);
        if (head_h >= 3 && head_w >= 5 && pfi_rng_chance(r, 0.6)) {   /* rounded corners */
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, top) == 1) { put(c, x, top, 0); break; }
        }
    }
    /* hair, or a hat with a brim */
    if (pfi_rng_chance(r, 0.75)) {
        int rows = pfi_rng_between(r, 1, head_h / 2 > 1 ? head_h / 2 : 1);
        if (pfi_rng_chance(r, 0.3) && head_h >= 4) {
            float brim = head_w + 2.f < W ? head_w + 2.f : (float)W;
            for (int y = top; y < top + rows - 1; y++)
                for (int x = c->bx0; x <= c->bx1; x++)
                    if (mat_at(c, x, y)) put(c, x, y, 4);
            fill_rectf(c, cx - brim * 0.5f, top + rows - 1, cx + brim * 0.5f, top + rows - 1, 4);
            fill_rectf(c, cx - head_w * 0.35f, top, cx + head_w * 0.35f, top + rows - 1, 4);
        } else {
            int side = pfi_rng_chance(r, 0.5) ? (int)(head_h * 0.7f) : 0;
            for (int y = top; y < top + head_h; y++) {
                int first = 1;
                for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++) {
                    if (mat_at(c, x, y) != 1) continue;
                    if (y < top + rows || (first && y < top + side)) put(c, x, y, 4);
                    first = 0;
                }
            }
        }
    }
    /* body, widening downwards for a robe */
    {
        int robe = pfi_rng_chance(r, 0.25);
        for (int y = body_top; y <= body_bot; y++) {
            float bwid = body_w + (robe ? (float)((y - body_top) / 2) : 0.f);
            fill_rectf(c, cx - bwid * 0.5f, y, cx + bwid * 0.5f, y, 2);
        }
    }
    /* arms: sleeves with hands, or bare */
    if (arm_w > 0) {
        int sleeves = pfi_rng_chance(r, 0.6);
        int ya = body_top + (body_h > 3 ? 1 : 0);
        int yb = body_bot + (leg_h > 1 && pfi_rng_chance(r, 0.5) ? 1 : 0);
        for (int y = ya; y <= yb; y++)
            fill_rectf(c, cx - body_w * 0.5f - arm_w, y, cx - body_w * 0.5f - 0.01f, y,
                       sleeves && y < yb ? 2 : 1);
    }
    if (body_h >= 3 && pfi_rng_chance(r, 0.4)) {   /* belt */
        for (int x = c->bx0; x <= c->bx1; x++)
            if (mat_at(c, x, body_bot) == 2) put(c, x, body_bot, 6);
    }
    /* legs with a gap, boots */
    if (leg_h > 0) {
        float gap = leg_h >= 2 ? (float)pfi_rng_between(r, 0, 2) : 0.f, inset = (float)pfi_rng_between(r, 0, 1);
        int boots = leg_h >= 2 && pfi_rng_chance(r, 0.6), wide = pfi_rng_chance(r, 0.4);
        for (int y = body_bot + 1; y <= c->by1; y++) {
            int m = boots && y == c->by1 ? 5 : 3;
            fill_rectf(c, cx - body_w * 0.5f + inset, y, cx - gap * 0.5f, y, m);
            if (m == 5 && wide) fill_rectf(c, cx - body_w * 0.5f + inset - 1.f, y, cx - gap * 0.5f, y, m);
        }
    }
    /* eyes (and a mouth) on the left half; mirror_x makes the right one */
    {
        int ey = top + pfi_clampi((int)lrintf(head_h * pfi_rng_betweenf(r, 0.45f, 0.65f)), 0, head_h - 1);
        float eo = pfi_rng_betweenf(r, 0.5f, head_w * 0.3f > 0.6f ? head_w * 0.3f : 0.6f);
        int ex = (int)floorf(cx - eo - 0.5f);
        if (mat_at(c, ex, ey) == 1) {
            set_spec(c, ex, ey, SPEC_DARK);
            if (head_w >= 7 && head_h >= 5 && mat_at(c, ex - 1, ey) == 1 && pfi_rng_chance(r, 0.5))
                set_spec(c, ex - 1, ey, SPEC_ACCENT);
            if (head_h >= 6 && pfi_rng_chance(r, 0.4) && ey + 2 < top + head_h)
                for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++)
                    if (fabsf(x + 0.5f - cx) < 1.0f && mat_at(c, x, ey + 2) == 1)
                        set_spec(c, x, ey + 2, SPEC_DARK);
        }
    }
    if (body_h >= 3 && pfi_rng_chance(r, 0.3))   /* a buckle or a badge */
        for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++)
            if (fabsf(x + 0.5f - cx) < 1.0f) set_spec(c, x, body_bot - (mat_at(c, x, body_bot) == 6 ? 0 : 1), SPEC_ACCENT);
    mirror_x(c);
    if (pfi_rng_chance(r, 0.5)) {
        /* asymmetric details: a staff held in one hand, a side glance */
        int side = pfi_rng_chance(r, 0.5), xs = side ? c->bx1 : c->bx0;
        if (arm_w > 0 && head_h >= 3) {
            for (int y = top + head_h / 3; y < body_top + body_h - 1; y++)
                if (!mat_at(c, xs, y) || y >= body_top) put(c, xs, y, 6);
        }
        if (pfi_rng_chance(r, 0.5))
            for (int y = top; y < body_top; y++)
                for (int x = side ? c->bx0 : (c->bx0 + c->bx1 + 1) / 2; x <= (side ? (c->bx0 + c->bx1) / 2 : c->bx1); x++)
                    if (c->spec[(size_t)y * c->w + x] == SPEC_DARK) c->spec[(size_t)y * c->w + x] = SPEC_NONE;
    }
}

static void plan_creature(sprite *c)
{
    hint_any(c, 0);
    hint_any(c, 1);
    hint_any(c, 2);
    add_material(c, 0, 0.f);   /* 1 body */
    add_material(c, 1, 0.f);   /* 2 belly or shell */
    add_material(c, 2, 0.f);   /* 3 legs, tentacles */
    c->want_accent = pfi_rng_chance(&c->rng, 0.6);
}

static void draw_creature(sprite *c, int *queue)
{
    pfi_rng *r = &c->rng;
    int W = c->bw, H = c->bh, spine_x;
    float cy = (c->by0 + c->by1 + 1) * 0.5f, cx = c->cx;
    float pbase = pfi_rng_betweenf(r, 0.6f, 1.0f), pa = pfi_rng_betweenf(r, 0.4f, 1.0f), pb = pfi_rng_betweenf(r, 0.2f, 0.7f);

    for (int y = c->by0; y <= c->by1; y++)
        for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++) {
            float nx = (cx - (x + 0.5f)) / (W * 0.5f), ny = ((y + 0.5f) - cy) / (H * 0.5f);
            if (pfi_rng_unit(r) < pbase - pa * nx * nx - pb * ny * ny) put(c, x, y, 1);
        }
    mirror_x(c);
    if (W >= 10 && H >= 10 && pfi_rng_chance(r, 0.7)) smooth_shape(c);
    for (int k = pfi_rng_between(r, 0, 3); k > 0; k--) {   /* limbs: strokes from the middle outwards */
        int y = pfi_rng_between(r, c->by0, c->by1), len = pfi_rng_between(r, 1, W / 2 > 1 ? W / 2 : 1);
        for (int x = (int)floorf(cx - 0.5f); x > (int)floorf(cx - 0.5f) - len; x--) put(c, x, y, 1);
        if (pfi_rng_chance(r, 0.5)) put(c, (int)floorf(cx - 0.5f) - len + 1, y + 1, 1);
    }
    spine_x = (int)floorf(cx - 0.5f);   /* a spine keeps the body in one piece */
    for (int y = (int)(cy - H * 0.3f); y <= (int)(cy + H * 0.3f); y++) put(c, spine_x, y, 1);
    mirror_x(c);
    keep_component(c, spine_x, (int)cy < c->by1 ? (int)cy : c->by1, queue);
    fill_holes(c, pfi_rng_chance(r, 0.5) ? 1 << 20 : 3, 1, queue);

    chamfer(c, 0);
    if (pfi_rng_chance(r, 0.5)) {   /* belly: the inside of the lower half */
        for (int y = (int)cy; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y) && c->dist[(size_t)y * c->w + x] >= 2.f) put(c, x, y, 2);
    } else if (pfi_rng_chance(r, 0.5)) {   /* shell or head: the top rows */
        int yb = (int)(cy - H * pfi_rng_betweenf(r, 0.05f, 0.3f));
        for (int y = c->by0; y <= yb; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y)) put(c, x, y, 2);
    }
    if (pfi_rng_chance(r, 0.5)) {   /* legs or tentacles: the bottom rows */
        int ya = (int)(cy + H * pfi_rng_betweenf(r, 0.15f, 0.35f));
        for (int y = ya; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y)) put(c, x, y, 3);
    }
    /* eyes: a symmetric pair of interior pixels in the upper half */
    for (int tries = 0; tries < 30; tries++) {
        int y = pfi_rng_between(r, c->by0 + H / 6, (int)cy), x = pfi_rng_between(r, c->bx0, spine_x);
        int ok = 1;
        for (int k = 0; k < 5 && ok; k++) {
            static const int ox[5] = { 0, -1, 1, 0, 0 }, oy[5] = { 0, 0, 0, -1, 1 };
            ok = mat_at(c, x + ox[k], y + oy[k]) != 0;
        }
        if (!ok) continue;
        set_spec(c, x, y, SPEC_DARK);
        if (pfi_rng_chance(r, 0.5) && mat_at(c, x - 1, y - 1)) set_spec(c, x, y - 1, SPEC_ACCENT);
        break;
    }
    mirror_x(c);
}

static void plan_blob(sprite *c)
{
    int n = pfi_rng_between(&c->rng, 1, SLOT_MAX);
    for (int i = 0; i < n; i++) {
        hint_any(c, i);
        add_material(c, i, 0.f);
    }
    c->want_accent = pfi_rng_chance(&c->rng, 0.4);
}

static void draw_blob(sprite *c, int *queue)
{
    pfi_rng *r = &c->rng;
    int W = c->bw, H = c->bh, sym = pfi_rng_chance(r, 0.35), nprim = pfi_rng_between(r, 2, c->nmat > 5 ? c->nmat + 1 : 6);
    float cx = c->cx, cy = (c->by0 + c->by1 + 1) * 0.5f;

    for (int i = 0; i < nprim; i++) {
        float px = cx + W * pfi_rng_betweenf(r, -0.25f, 0.25f), py = cy + H * pfi_rng_betweenf(r, -0.25f, 0.25f);
        float rx = W * pfi_rng_betweenf(r, 0.15f, 0.45f), ry = H * pfi_rng_betweenf(r, 0.15f, 0.45f);
        int m = 1 + i % c->nmat;
        if (i == 0) px = cx, py = cy, rx = W * pfi_rng_betweenf(r, 0.3f, 0.5f), ry = H * pfi_rng_betweenf(r, 0.3f, 0.5f);
        if (pfi_rng_chance(r, 0.7)) fill_ellipse(c, px, py, rx, ry, m);
        else fill_rectf(c, px - rx, (int)floorf(py - ry), px + rx, (int)floorf(py + ry), m);
    }
    if (sym) mirror_x(c);
    if (pfi_rng_chance(r, 0.8)) keep_component(c, (int)cx, (int)cy, queue);
    if (pfi_rng_chance(r, 0.4)) {   /* a slime's eyes */
        int y = (int)(cy - H * pfi_rng_betweenf(r, 0.0f, 0.2f)), x = (int)floorf(cx - 0.5f - W * pfi_rng_betweenf(r, 0.08f, 0.25f));
        set_spec(c, x, y, SPEC_DARK);
        if (sym) mirror_x(c);
        else set_spec(c, c->bx0 + c->bx1 - x, y, SPEC_DARK);
    }
}

enum { ITEM_POTION, ITEM_GEM, ITEM_SWORD, ITEM_CHEST, ITEM_ORB, ITEM_SHIELD, ITEM_COUNT };

static int plan_item(sprite *c)
{
    int kind = pfi_rng_between(&c->rng, 0, ITEM_COUNT - 1);
    float metal_hue = pfi_rng_betweenf(&c->rng, 0.f, 6.28f);

    c->want_accent = 1;
    switch (kind) {
    case ITEM_POTION:
        hint_any(c, 0);                                          /* liquid */
        hint(c, 1, pfi_rng_betweenf(&c->rng, 3.f, 4.f), 0.0f, 0.05f, 0.6f, 0.75f); /* glass */
        hint(c, 2, 1.0f, 0.04f, 0.09f, 0.38f, 0.5f);               /* cork */
        add_material(c, 0, 0.f);
        add_material(c, 1, 0.3f);
        add_material(c, 2, 0.f);
        break;
    case ITEM_GEM:
        hint(c, 0, -1.f, 0.1f, 0.2f, 0.38f, 0.55f);
        add_material(c, 0, 0.8f);    /* top facet */
        add_material(c, 0, 0.f);     /* left */
        add_material(c, 0, -0.8f);   /* right */
        break;
    case ITEM_SWORD:
        hint(c, 0, metal_hue, 0.0f, 0.03f, 0.5f, 0.62f);   /* blade */
        hint(c, 1, 1.0f, 0.05f, 0.1f, 0.38f, 0.5f);        /* grip */
        hint(c, 2, 1.6f, 0.08f, 0.14f, 0.45f, 0.6f);       /* guard: gold */
        add_material(c, 0, 0.3f);
        add_material(c, 1, 0.f);
        add_material(c, 2, 0.f);
        break;
    case ITEM_CHEST:
        hint(c, 0, pfi_rng_betweenf(&c->rng, 0.7f, 1.2f), 0.04f, 0.1f, 0.38f, 0.5f);  /* wood */
        hint(c, 1, 1.6f, 0.06f, 0.14f, 0.45f, 0.6f);                    /* metal */
        add_material(c, 0, 0.3f);    /* lid */
        add_material(c, 0, -0.2f);   /* body */
        add_material(c, 1, 0.f);     /* band, corners */
        break;
    case ITEM_ORB:
        hint_any(c, 0);
        hint(c, 1, metal_hue, 0.0f, 0.12f, 0.4f, 0.55f);
        add_material(c, 1, 0.f);   /* ring, coin rim */
        add_material(c, 0, 0.f);   /* inside */
        break;
    default:
        hint(c, 0, metal_hue, 0.0f, 0.04f, 0.45f, 0.6f);   /* rim */
        hint_any(c, 1);                                     /* field */
        hint_any(c, 2);                                     /* emblem */
        add_material(c, 0, 0.f);
        add_material(c, 1, 0.f);
        add_material(c, 2, 0.f);
        break;
    }
    return kind;
}

static void draw_item(sprite *c, int kind)
{
    pfi_rng *r = &c->rng;
    int W = c->bw, H = c->bh;
    float cx = c->cx, cy = (c->by0 + c->by1 + 1) * 0.5f;

    switch (kind) {
    case ITEM_POTION: {
        float rb = fminf(W * pfi_rng_betweenf(r, 0.38f, 0.5f), H * 0.36f);
        float fy = c->by1 + 1 - rb;                  /* flask centre */
        float nw = fmaxf(1.f, W * pfi_rng_betweenf(r, 0.18f, 0.3f));
        int cork = H >= 8 ? pfi_rng_between(r, 1, 2) : 1, level = (int)(fy - rb * pfi_rng_betweenf(r, -0.3f, 0.5f));
        fill_ellipse(c, cx, fy, rb, rb, 1);
        fill_rectf(c, cx - nw * 0.5f, c->by0, cx + nw * 0.5f, (int)fy, 1);
        for (int y = c->by0; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y) == 1 && y < level) put(c, x, y, 2);
        fill_rectf(c, cx - nw * 0.5f, c->by0, cx + nw * 0.5f, c->by0 + cork - 1, 3);
        set_spec(c, (int)(cx - rb * 0.45f), (int)(fy - rb * 0.45f), SPEC_ACCENT);
        break;
    }
    case ITEM_GEM: {
        float rx = W * 0.5f, ry = H * 0.5f, table = pfi_rng_betweenf(r, 0.0f, 0.5f);
        for (int y = c->by0; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++) {
                float dx = fabsf(x + 0.5f - cx) / rx, dy = (y + 0.5f - cy) / ry;
                if (dx + fabsf(dy) > 1.f && !(dy < 0 && dy > -1.f && dx < 1.f - table * 0.5f &&
                                             dx + fabsf(dy) <= 1.f + table)) continue;
                put(c, x, y, dy < -0.15f ? 1 : (x + 0.5f < cx ? 2 : 3));
            }
        set_spec(c, (int)(cx - rx * 0.3f), (int)(cy - ry * 0.45f), SPEC_ACCENT);
        break;
    }
    case ITEM_SWORD: {
        int n = W < H ? W : H, hilt = pfi_clampi(n / 4, 1, n), guard = n >= 10 ? pfi_rng_between(r, 1, 2) : 1;
        int thick = n >= 16 && pfi_rng_chance(r, 0.6), flip = pfi_rng_chance(r, 0.5);
        for (int k = 0; k < n; k++) {
            int x = c->bx0 + k, y = c->by1 - k;
            if (flip) x = c->bx1 - k;
            if (k < hilt) put(c, x, y, k == 0 ? 3 : 2);
            else {
                put(c, x, y, 1);
                if (thick && k < n - 1) put(c, x + (flip ? -1 : 1), y, 1);
            }
        }
        for (int j = -guard; j <= guard; j++) {   /* the cross-guard, perpendicular */
            int x = c->bx0 + hilt + j, y = c->by1 - hilt + j;
            if (flip) x = c->bx1 - hilt - j;
            put(c, x, y, 3);
        }
        break;
    }
    case ITEM_CHEST: {
        int ch = pfi_clampi((int)lrintf(H * pfi_rng_betweenf(r, 0.6f, 0.85f)), 2, H);
        int ctop = c->by1 - ch + 1, lid = pfi_clampi(ch / 3, 1, ch - 1);
        fill_rectf(c, (float)c->bx0, ctop, (float)(c->bx1 + 1), c->by1, 2);
        fill_rectf(c, (float)c->bx0, ctop, (float)(c->bx1 + 1), ctop + lid - 1, 1);
        if (ch >= 4) fill_rectf(c, (float)c->bx0, ctop + lid, (float)(c->bx1 + 1), ctop + lid, 3);
        if (W >= 8 && pfi_rng_chance(r, 0.6)) {   /* corner straps */
            fill_rectf(c, (float)c->bx0, ctop, c->bx0 + 1.f, c->by1, 3);
            fill_rectf(c, (float)c->bx1, ctop, c->bx1 + 1.f, c->by1, 3);
        }
        for (int x = c->bx0; x <= c->bx1; x++)
            if (fabsf(x + 0.5f - cx) < 1.0f) set_spec(c, x, ctop + lid + (ch >= 5), SPEC_DARK);
        break;
    }
    case ITEM_ORB: {
        float rad = fminf(W, H) * 0.5f;
        int coin = pfi_rng_chance(r, 0.5);
        fill_ellipse(c, cx, cy, rad, rad, coin ? 1 : 2);
        if (coin) {
            fill_ellipse(c, cx, cy, rad - 1.2f, rad - 1.2f, 2);
            if (rad >= 4) fill_rectf(c, cx - 0.5f, (int)(cy - rad * 0.45f), cx + 0.5f, (int)(cy + rad * 0.35f), 1);
        } else {
            chamfer(c, 0);
            for (int y = c->by0; y <= c->by1; y++)   /* a rim ring at the bottom */
                for (int x = c->bx0; x <= c->bx1; x++)
                    if (mat_at(c, x, y) && y > cy + rad * 0.5f && c->dist[(size_t)y * c->w + x] < 1.5f)
                        put(c, x, y, 1);
            set_spec(c, (int)(cx - rad * 0.4f), (int)(cy - rad * 0.4f), SPEC_ACCENT);
        }
        break;
    }
    default: {   /* shield: a rectangle over a half ellipse, a rim, an emblem */
        int ytop = c->by0 + (int)(H * pfi_rng_betweenf(r, 0.3f, 0.5f)), cross = pfi_rng_chance(r, 0.5);
        fill_rectf(c, (float)c->bx0, c->by0, (float)(c->bx1 + 1), ytop, 1);
        for (int y = ytop; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++) {
                float dx = (x + 0.5f - cx) / (W * 0.5f), dy = (y + 0.5f - ytop) / (c->by1 + 1 - ytop);
                if (dx * dx + dy * dy <= 1.f) put(c, x, y, 1);
            }
        chamfer(c, 0);
        for (int y = c->by0; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y) && c->dist[(size_t)y * c->w + x] >= (W >= 12 ? 2.f : 1.5f)) put(c, x, y, 2);
        for (int y = c->by0; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++) {
                int in = cross ? (fabsf(x + 0.5f - cx) < (W >= 14 ? 1.1f : 0.6f) || y == (int)(c->by0 + H * 0.4f))
                               : (x + 0.5f < cx);
                if (mat_at(c, x, y) == 2 && in) put(c, x, y, 3);
            }
        break;
    }
    }
}

/* ---- shading, outline, colours ---------------------------------------------- */

static const uint8_t bayer4[4][4] = { { 0, 8, 2, 10 }, { 12, 4, 14, 6 }, { 3, 11, 1, 9 }, { 15, 7, 13, 5 } };

/* Fills c->idx: shaded ramp colours, internal lines and special pixels
 * (when `extras`), then the outline around the shape. */
static void colourise(sprite *c, int extras)
{
    const float lx = -0.55f, ly = -0.65f, lz = 0.52f;   /* light from the top left */
    float ln = sqrtf(lx * lx + ly * ly + lz * lz), tilt = 1.2f;
    float cap = pfi_clampf(fminf(c->bw, c->bh) / 6.f, 1.5f, 4.f);
    int w = c->w, h = c->h;
    int mbx0[MAT_MAX + 1], mby0[MAT_MAX + 1], mbx1[MAT_MAX + 1], mby1[MAT_MAX + 1];

    for (int m = 0; m <= MAT_MAX; m++) mbx0[m] = mby0[m] = 1 << 20, mbx1[m] = mby1[m] = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int m = c->mat[(size_t)y * w + x];
            if (!m) continue;
            if (x < mbx0[m]) mbx0[m] = x;
            if (x > mbx1[m]) mbx1[m] = x;
            if (y < mby0[m]) mby0[m] = y;
            if (y > mby1[m]) mby1[m] = y;
        }
    chamfer(c, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            int m = c->mat[p], n, k;
            const ramp *rp;
            float hx[2], hy[2], gx, gy, nn, in, s, base, gain, thr;
            if (!m) {
                c->idx[p] = -1;
                continue;
            }
            rp = &c->r[c->slot_ramp[c->m[m].slot]];
            n = rp->n;
            for (int k2 = 0; k2 < 2; k2++) {
                int qx = x + (k2 ? 1 : -1), qy = y + (k2 ? 1 : -1);
                hx[k2] = qx >= 0 && qx < w && c->mat[(size_t)y * w + qx] == m ? fminf(c->dist[(size_t)y * w + qx], cap) : 0.f;
                hy[k2] = qy >= 0 && qy < h && c->mat[(size_t)qy * w + x] == m ? fminf(c->dist[(size_t)qy * w + x], cap) : 0.f;
            }
            gx = (hx[1] - hx[0]) * 0.5f * tilt;
            gy = (hy[1] - hy[0]) * 0.5f * tilt;
            nn = sqrtf(gx * gx + gy * gy + 1.f);
            in = (-gx * lx - gy * ly + lz) / (nn * ln) - lz / ln;
            in += 0.12f * (1.f - 2.f * (y - c->by0 + 0.5f) / (float)c->bh);
            if (c->cast && y > 0) {
                int up = c->mat[p - w];
                if (up && up != m && up < m) in -= 0.35f;
            }
            base = (n - 1) * 0.6f + c->m[m].bias;
            gain = 0.7f + 0.65f * (n - 1);
            s = base + gain * in;
            thr = 0.5f;
            switch (c->m[m].dither) {
            case DITHER_BAND:
                thr = ((x + y) & 1) ? 0.25f : 0.75f;
                break;
            case DITHER_BAYER: {
                float t = ((float)(x - mbx0[m]) / (float)(mbx1[m] - mbx0[m] + 1) +
                           (float)(y - mby0[m]) / (float)(mby1[m] - mby0[m] + 1)) * 0.5f;
                s = base + 0.5f * gain * in + (n - 1) * 0.9f * (0.5f - t);
                thr = (bayer4[y & 3][x & 3] + 0.5f) / 16.f;
                break;
            }
            case DITHER_PATTERN:
                s = floorf(s) + 0.5f;
                thr = ((x + y) & 1) ? 0.25f : 0.75f;
                break;
            default:
                break;
            }
            k = pfi_clampi((int)floorf(s + thr), 0, n - 1);
            c->idx[p] = (int16_t)rp->pal[k];
            if (extras) {
                if (c->spec[p] == SPEC_DARK) c->idx[p] = (int16_t)c->outline_main;
                else if (c->spec[p] == SPEC_ACCENT)
                    c->idx[p] = (int16_t)(c->accent >= 0 ? c->accent : rp->pal[n - 1]);
                else if (c->lines) {   /* a dark line where this material meets a lower one */
                    static const int ox[4] = { -1, 1, 0, 0 }, oy[4] = { 0, 0, -1, 1 };
                    for (int j = 0; j < 4; j++) {
                        int q = mat_at(c, x + ox[j], y + oy[j]);
                        if (q && q < m) {
                            c->idx[p] = (int16_t)rp->outline;
                            break;
                        }
                    }
                }
            }
        }
    /* the outline: empty pixels next to the shape */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            static const int ox[8] = { 0, -1, 1, 0, -1, 1, -1, 1 }, oy[8] = { -1, 0, 0, 1, -1, -1, 1, 1 };
            size_t p = (size_t)y * w + x;
            if (c->mat[p]) continue;
            for (int j = 0; j < (c->outline8 ? 8 : 4); j++) {
                int qx = x + ox[j], qy = y + oy[j], q;
                if (qx < 0 || qx >= w || qy < 0 || qy >= h) continue;
                q = c->mat[(size_t)qy * w + qx];
                if (q) {
                    c->idx[p] = (int16_t)c->r[c->slot_ramp[c->m[q].slot]].outline;
                    break;
                }
            }
        }
}

/* Marks dithered materials: some ramps get a checker band, a Bayer
 * gradient or an all-over checker texture. */
static void choose_dither(sprite *c)
{
    for (int m = 1; m <= c->nmat; m++) {
        const ramp *rp = &c->r[c->slot_ramp[c->m[m].slot]];
        double u;
        if (rp->n < 2 || !pfi_rng_chance(&c->rng, 0.25)) continue;
        u = pfi_rng_unit(&c->rng);
        c->m[m].dither = u < 0.45 ? DITHER_BAND : u < 0.8 ? DITHER_BAYER : DITHER_PATTERN;
    }
}

pf_status pfi_synth_sprite(uint8_t *rgba, int w, int h, uint64_t seed)
{
    sprite *c = NULL;
    int *queue = NULL, kind, item = 0, fills = 0;
    int capx, capy, ml, mr, mt, mb;
    pf_status st = PF_ENOMEM;
    size_t n;

    if (!rgba || w < PF_SYNTH_MIN_SIZE || h < PF_SYNTH_MIN_SIZE ||
        w > PF_SYNTH_MAX_SIZE || h > PF_SYNTH_MAX_SIZE)
        return PF_EINVAL;
    n = (size_t)w * h;
    c = calloc(1, sizeof *c);
    if (!c) goto fail;
    c->mat = calloc(n, 1);
    c->spec = malloc(n);
    c->dist = pfi_malloc4(n, sizeof(float), 1, 1);
    c->idx = pfi_malloc4(n, sizeof(int16_t), 1, 1);
    queue = pfi_malloc4(n, sizeof(int), 1, 1);
    if (!c->mat || !c->spec || !c->dist || !c->idx || !queue) goto fail;
    memset(c->spec, SPEC_NONE, n);

    pfi_rng_seed(&c->rng, seed);
    c->w = w;
    c->h = h;
    kind = (int)(pfi_rng_unit(&c->rng) * 100);
    kind = kind < 30 ? KIND_CHARACTER : kind < 55 ? KIND_CREATURE : kind < 75 ? KIND_BLOB : KIND_ITEM;
    /* margins 2..5 px per side (one for both sides of a mirrored kind; at
     * most side/6 above 2, so small sprites fill their canvas), shrunk on
     * tiny canvases so the box inside margin + outline keeps at least 1 px */
    capx = pfi_clampi(w / 6, 2, 5);
    capy = pfi_clampi(h / 6, 2, 5);
    ml = pfi_rng_between(&c->rng, 2, capx);
    mr = kind == KIND_CHARACTER || kind == KIND_CREATURE ? ml : pfi_rng_between(&c->rng, 2, capx);
    mt = pfi_rng_between(&c->rng, 2, capy);
    mb = pfi_rng_between(&c->rng, 2, capy);
    capx = (w - 3) / 2;   /* tiny canvases: keep a 1-px box */
    capy = (h - 3) / 2;
    ml = pfi_clampi(ml, 0, capx);
    mr = pfi_clampi(mr, 0, capx);
    mt = pfi_clampi(mt, 0, capy);
    mb = pfi_clampi(mb, 0, capy);
    c->bx0 = ml + 1;
    c->bx1 = w - mr - 2;
    c->by0 = mt + 1;
    c->by1 = h - mb - 2;
    c->bw = c->bx1 - c->bx0 + 1;
    c->bh = c->by1 - c->by0 + 1;
    c->cx = (c->bx0 + c->bx1 + 1) * 0.5f;
    c->outline8 = pfi_rng_chance(&c->rng, 0.3);
    c->lines = pfi_rng_chance(&c->rng, 0.35);
    c->cast = pfi_rng_chance(&c->rng, 0.5);

    switch (kind) {
    case KIND_CHARACTER: plan_character(c); break;
    case KIND_CREATURE: plan_creature(c); break;
    case KIND_BLOB: plan_blob(c); break;
    default: item = plan_item(c); break;
    }
    st = build_palette(c);
    if (st != PF_OK) goto fail;
    choose_dither(c);
    switch (kind) {
    case KIND_CHARACTER: draw_character(c); break;
    case KIND_CREATURE: draw_creature(c, queue); break;
    case KIND_BLOB: draw_blob(c, queue); break;
    default: draw_item(c, item); break;
    }
    for (size_t i = 0; i < n; i++) fills += c->mat[i] != 0;
    if (!fills) {
        fill_ellipse(c, c->cx, (c->by0 + c->by1 + 1) * 0.5f, c->bw * 0.5f, c->bh * 0.5f, 1);
        memset(c->spec, SPEC_NONE, n);
    }
    colourise(c, 1);
    /* every sprite keeps a fill colour: drop eyes and lines if they ate it */
    fills = 0;
    for (size_t i = 0; i < n; i++)
        if (c->idx[i] >= 0 && c->lab[c->idx[i]][0] >= PF_SYNTH_FILL_L_MIN) fills++;
    if (!fills) colourise(c, 0);
    {   /* selective outlines on a sprite that shows few fill colours: keep
         * the dark colours a minority by using the main outline only */
        int used[PF_SYNTH_MAX_COLORS] = { 0 }, dark = 0, light = 0;
        for (size_t i = 0; i < n; i++)
            if (c->idx[i] >= 0) used[c->idx[i]] = 1;
        for (int k = 0; k < c->npal; k++)
            if (used[k]) c->lab[k][0] < PF_SYNTH_OUTLINE_L_MAX ? dark++ : light++;
        if (dark > light)
            for (size_t i = 0; i < n; i++)
                if (c->idx[i] >= 0 && c->lab[c->idx[i]][0] < PF_SYNTH_OUTLINE_L_MAX)
                    c->idx[i] = (int16_t)c->outline_main;
    }

    for (size_t i = 0; i < n; i++) {
        uint8_t *o = rgba + 4 * i;
        if (c->idx[i] < 0) {
            memset(o, 0, 4);
        } else {
            memcpy(o, c->rgb[c->idx[i]], 3);
            o[3] = 255;
        }
    }
    st = PF_OK;
fail:
    if (c) {
        free(c->mat);
        free(c->spec);
        free(c->dist);
        free(c->idx);
    }
    free(c);
    free(queue);
    return st;
}
