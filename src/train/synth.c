/*
 * synth.c - procedural pixel-art sprites and synthetic animations with exact
 * ground truth (docs/data.md, "Generated data"). Draws clean native frames
 * only; degrading them into network inputs is another module's job.
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
 * Animations render a still per motion step into a canvas; holds repeat
 * the previous step.
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
    pf_rng rng;
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

/* ---- small random helpers ---------------------------------------------- */

static int ri(pf_rng *r, int lo, int hi) /* lo..hi inclusive */
{
    return hi <= lo ? lo : lo + pf_rng_int(r, hi - lo + 1);
}

static float rf(pf_rng *r, float lo, float hi)
{
    return (float)pf_rng_range(r, lo, hi);
}

static int chance(pf_rng *r, double p)
{
    return pf_rng_unit(r) < p;
}

/* ---- palette ------------------------------------------------------------- */

/* Adds lab (rounded to sRGB8) when its L is in [lmin, lmax) and it is at
 * least MIN_DE from every entry. Returns the index, or -1. */
static int pal_try_add(sprite *c, const float lab[3], float lmin, float lmax)
{
    float rgbf[3], q[3];
    uint8_t rgb[3];

    if (c->npal >= PF_SYNTH_MAX_COLORS) return -1;
    pf_oklab_to_srgb(lab, rgbf);
    for (int i = 0; i < 3; i++) rgb[i] = (uint8_t)lrintf(pf_clampf(rgbf[i], 0.f, 1.f) * 255.f);
    pf_srgb8_to_oklab(rgb, q);
    if (q[0] < lmin || q[0] >= lmax) return -1;
    for (int i = 0; i < c->npal; i++)
        if (pf_oklab_dist(q, c->lab[i]) < PF_SYNTH_MIN_DE + DE_GUARD) return -1;
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
        float hue = hn->hue >= 0 && tries < 25 ? hn->hue + rf(&c->rng, -0.3f, 0.3f)
                                                : rf(&c->rng, 0.f, 2.f * PI_F);
        float c0 = rf(&c->rng, hn->cmin, hn->cmax);
        float llo = rf(&c->rng, hn->lmin, hn->lmax), dl = rf(&c->rng, 0.09f, 0.17f);
        float toward = remainderf(OKLAB_YELLOW - hue, 2.f * PI_F) > 0 ? 1.f : -1.f;
        float hs = rf(&c->rng, 0.1f, 0.45f);
        int save = c->npal, ok = 1;

        if (nn == 1) llo = rf(&c->rng, 0.45f, 0.85f);
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
        lch(lab, rf(&c->rng, OUTLINE_L_LO, hi > OUTLINE_L_LO ? hi : OUTLINE_L_LO + 0.01f),
            tries < 40 ? rf(&c->rng, 0.f, 0.06f) : 0.f,
            tries < 20 ? hue : rf(&c->rng, 0.f, 2.f * PI_F));
        int k = pal_try_add(c, lab, 0.f, PF_SYNTH_OUTLINE_L_MAX - 0.01f);
        if (k >= 0) return k;
    }
    return -1;
}

/* Chooses the colour budget, then makes outline(s), ramps and the accent.
 * Every slot gets a ramp with at least one shade. */
static pf_status build_palette(sprite *c)
{
    int k = 2 + (int)(31.0 * pow(pf_rng_unit(&c->rng), 1.15));
    int avail = k - 1, nr, total = 0, shades[SLOT_MAX], selective;

    nr = c->nslot < (avail / 2 > 1 ? avail / 2 : 1) ? c->nslot : (avail / 2 > 1 ? avail / 2 : 1);
    for (int i = 0; i < nr; i++) {   /* 2..4 shades, more when the budget is large */
        double u = pf_rng_unit(&c->rng), rich = avail >= 3 * nr ? 0.25 : 0.0;
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
    selective = nr >= 2 && total + c->want_accent + nr <= PF_SYNTH_MAX_COLORS && chance(&c->rng, 0.25);

    c->npal = 0;
    c->nramp = nr;
    memset(c->r, 0, sizeof c->r);
    if (!selective) {
        c->outline_main = make_outline(c, c->hint[0].hue >= 0 ? c->hint[0].hue : rf(&c->rng, 0, 6.28f),
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
            lch(lab, rf(&c->rng, 0.9f, 0.99f), rf(&c->rng, 0.f, 0.04f), rf(&c->rng, 0, 6.28f));
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
    hint(c, 0, rf(&c->rng, 0.6f, 1.2f), 0.04f, 0.11f, 0.5f, 0.66f); /* skin */
    hint_any(c, 1);   /* shirt */
    hint_any(c, 2);   /* trousers */
    hint_any(c, 3);   /* hair or hat */
    hint(c, 4, rf(&c->rng, 0.5f, 1.1f), 0.02f, 0.08f, 0.38f, 0.5f);   /* boots */
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
    pf_rng *r = &c->rng;
    int W = c->bw, H = c->bh;
    int head_h = pf_clampi((int)lrintf(H * rf(r, 0.28f, 0.42f)), 1, H);
    int leg_h = pf_clampi((int)lrintf(H * rf(r, 0.18f, 0.32f)), H >= 5 ? 1 : 0, H - head_h);
    int body_h = H - head_h - leg_h, arm_w, top, body_top, body_bot;
    float head_w = W * rf(r, 0.45f, 0.85f), body_w = W * rf(r, 0.45f, 0.8f), cx = c->cx;

    if (body_h < 1 && leg_h > 0) leg_h--, body_h++;
    if (body_h < 1 && head_h > 1) head_h--, body_h++;
    if (head_w < 2) head_w = 2;
    if (body_w < 2) body_w = 2;
    arm_w = W >= 10 ? ri(r, 1, W / 8 > 1 ? W / 8 : 1) : (W >= 6 && chance(r, 0.5)) ? 1 : 0;
    if (body_w + 2 * arm_w > W) body_w = (float)(W - 2 * arm_w);
    if (body_w < 1) body_w = 1, arm_w = 0;
    top = c->by0;
    body_top = top + head_h;
    body_bot = body_top + body_h - 1;

    /* head */
    if (chance(r, 0.6)) fill_ellipse(c, cx, top + head_h * 0.5f, head_w * 0.5f, head_h * 0.5f, 1);
    else {
        fill_rectf(c, cx - head_w * 0.5f, top, cx + head_w * 0.5f, top + head_h - 1, 1);
        if (head_h >= 3 && head_w >= 5 && chance(r, 0.6)) {   /* rounded corners */
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, top) == 1) { put(c, x, top, 0); break; }
        }
    }
    /* hair, or a hat with a brim */
    if (chance(r, 0.75)) {
        int rows = ri(r, 1, head_h / 2 > 1 ? head_h / 2 : 1);
        if (chance(r, 0.3) && head_h >= 4) {
            float brim = head_w + 2.f < W ? head_w + 2.f : (float)W;
            for (int y = top; y < top + rows - 1; y++)
                for (int x = c->bx0; x <= c->bx1; x++)
                    if (mat_at(c, x, y)) put(c, x, y, 4);
            fill_rectf(c, cx - brim * 0.5f, top + rows - 1, cx + brim * 0.5f, top + rows - 1, 4);
            fill_rectf(c, cx - head_w * 0.35f, top, cx + head_w * 0.35f, top + rows - 1, 4);
        } else {
            int side = chance(r, 0.5) ? (int)(head_h * 0.7f) : 0;
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
        int robe = chance(r, 0.25);
        for (int y = body_top; y <= body_bot; y++) {
            float bwid = body_w + (robe ? (float)((y - body_top) / 2) : 0.f);
            fill_rectf(c, cx - bwid * 0.5f, y, cx + bwid * 0.5f, y, 2);
        }
    }
    /* arms: sleeves with hands, or bare */
    if (arm_w > 0) {
        int sleeves = chance(r, 0.6);
        int ya = body_top + (body_h > 3 ? 1 : 0);
        int yb = body_bot + (leg_h > 1 && chance(r, 0.5) ? 1 : 0);
        for (int y = ya; y <= yb; y++)
            fill_rectf(c, cx - body_w * 0.5f - arm_w, y, cx - body_w * 0.5f - 0.01f, y,
                       sleeves && y < yb ? 2 : 1);
    }
    if (body_h >= 3 && chance(r, 0.4)) {   /* belt */
        for (int x = c->bx0; x <= c->bx1; x++)
            if (mat_at(c, x, body_bot) == 2) put(c, x, body_bot, 6);
    }
    /* legs with a gap, boots */
    if (leg_h > 0) {
        float gap = leg_h >= 2 ? (float)ri(r, 0, 2) : 0.f, inset = (float)ri(r, 0, 1);
        int boots = leg_h >= 2 && chance(r, 0.6), wide = chance(r, 0.4);
        for (int y = body_bot + 1; y <= c->by1; y++) {
            int m = boots && y == c->by1 ? 5 : 3;
            fill_rectf(c, cx - body_w * 0.5f + inset, y, cx - gap * 0.5f, y, m);
            if (m == 5 && wide) fill_rectf(c, cx - body_w * 0.5f + inset - 1.f, y, cx - gap * 0.5f, y, m);
        }
    }
    /* eyes (and a mouth) on the left half; mirror_x makes the right one */
    {
        int ey = top + pf_clampi((int)lrintf(head_h * rf(r, 0.45f, 0.65f)), 0, head_h - 1);
        float eo = rf(r, 0.5f, head_w * 0.3f > 0.6f ? head_w * 0.3f : 0.6f);
        int ex = (int)floorf(cx - eo - 0.5f);
        if (mat_at(c, ex, ey) == 1) {
            set_spec(c, ex, ey, SPEC_DARK);
            if (head_w >= 7 && head_h >= 5 && mat_at(c, ex - 1, ey) == 1 && chance(r, 0.5))
                set_spec(c, ex - 1, ey, SPEC_ACCENT);
            if (head_h >= 6 && chance(r, 0.4) && ey + 2 < top + head_h)
                for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++)
                    if (fabsf(x + 0.5f - cx) < 1.0f && mat_at(c, x, ey + 2) == 1)
                        set_spec(c, x, ey + 2, SPEC_DARK);
        }
    }
    if (body_h >= 3 && chance(r, 0.3))   /* a buckle or a badge */
        for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++)
            if (fabsf(x + 0.5f - cx) < 1.0f) set_spec(c, x, body_bot - (mat_at(c, x, body_bot) == 6 ? 0 : 1), SPEC_ACCENT);
    mirror_x(c);
    if (chance(r, 0.5)) {
        /* asymmetric details: a staff held in one hand, a side glance */
        int side = chance(r, 0.5), xs = side ? c->bx1 : c->bx0;
        if (arm_w > 0 && head_h >= 3) {
            for (int y = top + head_h / 3; y < body_top + body_h - 1; y++)
                if (!mat_at(c, xs, y) || y >= body_top) put(c, xs, y, 6);
        }
        if (chance(r, 0.5))
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
    c->want_accent = chance(&c->rng, 0.6);
}

static void draw_creature(sprite *c, int *queue)
{
    pf_rng *r = &c->rng;
    int W = c->bw, H = c->bh, spine_x;
    float cy = (c->by0 + c->by1 + 1) * 0.5f, cx = c->cx;
    float pbase = rf(r, 0.6f, 1.0f), pa = rf(r, 0.4f, 1.0f), pb = rf(r, 0.2f, 0.7f);

    for (int y = c->by0; y <= c->by1; y++)
        for (int x = c->bx0; 2 * x <= c->bx0 + c->bx1; x++) {
            float nx = (cx - (x + 0.5f)) / (W * 0.5f), ny = ((y + 0.5f) - cy) / (H * 0.5f);
            if (pf_rng_unit(r) < pbase - pa * nx * nx - pb * ny * ny) put(c, x, y, 1);
        }
    mirror_x(c);
    if (W >= 10 && H >= 10 && chance(r, 0.7)) smooth_shape(c);
    for (int k = ri(r, 0, 3); k > 0; k--) {   /* limbs: strokes from the middle outwards */
        int y = ri(r, c->by0, c->by1), len = ri(r, 1, W / 2 > 1 ? W / 2 : 1);
        for (int x = (int)floorf(cx - 0.5f); x > (int)floorf(cx - 0.5f) - len; x--) put(c, x, y, 1);
        if (chance(r, 0.5)) put(c, (int)floorf(cx - 0.5f) - len + 1, y + 1, 1);
    }
    spine_x = (int)floorf(cx - 0.5f);   /* a spine keeps the body in one piece */
    for (int y = (int)(cy - H * 0.3f); y <= (int)(cy + H * 0.3f); y++) put(c, spine_x, y, 1);
    mirror_x(c);
    keep_component(c, spine_x, (int)cy < c->by1 ? (int)cy : c->by1, queue);
    fill_holes(c, chance(r, 0.5) ? 1 << 20 : 3, 1, queue);

    chamfer(c, 0);
    if (chance(r, 0.5)) {   /* belly: the inside of the lower half */
        for (int y = (int)cy; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y) && c->dist[(size_t)y * c->w + x] >= 2.f) put(c, x, y, 2);
    } else if (chance(r, 0.5)) {   /* shell or head: the top rows */
        int yb = (int)(cy - H * rf(r, 0.05f, 0.3f));
        for (int y = c->by0; y <= yb; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y)) put(c, x, y, 2);
    }
    if (chance(r, 0.5)) {   /* legs or tentacles: the bottom rows */
        int ya = (int)(cy + H * rf(r, 0.15f, 0.35f));
        for (int y = ya; y <= c->by1; y++)
            for (int x = c->bx0; x <= c->bx1; x++)
                if (mat_at(c, x, y)) put(c, x, y, 3);
    }
    /* eyes: a symmetric pair of interior pixels in the upper half */
    for (int tries = 0; tries < 30; tries++) {
        int y = ri(r, c->by0 + H / 6, (int)cy), x = ri(r, c->bx0, spine_x);
        int ok = 1;
        for (int k = 0; k < 5 && ok; k++) {
            static const int ox[5] = { 0, -1, 1, 0, 0 }, oy[5] = { 0, 0, 0, -1, 1 };
            ok = mat_at(c, x + ox[k], y + oy[k]) != 0;
        }
        if (!ok) continue;
        set_spec(c, x, y, SPEC_DARK);
        if (chance(r, 0.5) && mat_at(c, x - 1, y - 1)) set_spec(c, x, y - 1, SPEC_ACCENT);
        break;
    }
    mirror_x(c);
}

static void plan_blob(sprite *c)
{
    int n = ri(&c->rng, 1, SLOT_MAX);
    for (int i = 0; i < n; i++) {
        hint_any(c, i);
        add_material(c, i, 0.f);
    }
    c->want_accent = chance(&c->rng, 0.4);
}

static void draw_blob(sprite *c, int *queue)
{
    pf_rng *r = &c->rng;
    int W = c->bw, H = c->bh, sym = chance(r, 0.35), nprim = ri(r, 2, c->nmat > 5 ? c->nmat + 1 : 6);
    float cx = c->cx, cy = (c->by0 + c->by1 + 1) * 0.5f;

    for (int i = 0; i < nprim; i++) {
        float px = cx + W * rf(r, -0.25f, 0.25f), py = cy + H * rf(r, -0.25f, 0.25f);
        float rx = W * rf(r, 0.15f, 0.45f), ry = H * rf(r, 0.15f, 0.45f);
        int m = 1 + i % c->nmat;
        if (i == 0) px = cx, py = cy, rx = W * rf(r, 0.3f, 0.5f), ry = H * rf(r, 0.3f, 0.5f);
        if (chance(r, 0.7)) fill_ellipse(c, px, py, rx, ry, m);
        else fill_rectf(c, px - rx, (int)floorf(py - ry), px + rx, (int)floorf(py + ry), m);
    }
    if (sym) mirror_x(c);
    if (chance(r, 0.8)) keep_component(c, (int)cx, (int)cy, queue);
    if (chance(r, 0.4)) {   /* a slime's eyes */
        int y = (int)(cy - H * rf(r, 0.0f, 0.2f)), x = (int)floorf(cx - 0.5f - W * rf(r, 0.08f, 0.25f));
        set_spec(c, x, y, SPEC_DARK);
        if (sym) mirror_x(c);
        else set_spec(c, c->bx0 + c->bx1 - x, y, SPEC_DARK);
    }
}

enum { ITEM_POTION, ITEM_GEM, ITEM_SWORD, ITEM_CHEST, ITEM_ORB, ITEM_SHIELD, ITEM_COUNT };

static int plan_item(sprite *c)
{
    int kind = ri(&c->rng, 0, ITEM_COUNT - 1);
    float metal_hue = rf(&c->rng, 0.f, 6.28f);

    c->want_accent = 1;
    switch (kind) {
    case ITEM_POTION:
        hint_any(c, 0);                                          /* liquid */
        hint(c, 1, rf(&c->rng, 3.f, 4.f), 0.0f, 0.05f, 0.6f, 0.75f); /* glass */
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
        hint(c, 0, rf(&c->rng, 0.7f, 1.2f), 0.04f, 0.1f, 0.38f, 0.5f);  /* wood */
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
    pf_rng *r = &c->rng;
    int W = c->bw, H = c->bh;
    float cx = c->cx, cy = (c->by0 + c->by1 + 1) * 0.5f;

    switch (kind) {
    case ITEM_POTION: {
        float rb = fminf(W * rf(r, 0.38f, 0.5f), H * 0.36f);
        float fy = c->by1 + 1 - rb;                  /* flask centre */
        float nw = fmaxf(1.f, W * rf(r, 0.18f, 0.3f));
        int cork = H >= 8 ? ri(r, 1, 2) : 1, level = (int)(fy - rb * rf(r, -0.3f, 0.5f));
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
        float rx = W * 0.5f, ry = H * 0.5f, table = rf(r, 0.0f, 0.5f);
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
        int n = W < H ? W : H, hilt = pf_clampi(n / 4, 1, n), guard = n >= 10 ? ri(r, 1, 2) : 1;
        int thick = n >= 16 && chance(r, 0.6), flip = chance(r, 0.5);
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
        int ch = pf_clampi((int)lrintf(H * rf(r, 0.6f, 0.85f)), 2, H);
        int ctop = c->by1 - ch + 1, lid = pf_clampi(ch / 3, 1, ch - 1);
        fill_rectf(c, (float)c->bx0, ctop, (float)(c->bx1 + 1), c->by1, 2);
        fill_rectf(c, (float)c->bx0, ctop, (float)(c->bx1 + 1), ctop + lid - 1, 1);
        if (ch >= 4) fill_rectf(c, (float)c->bx0, ctop + lid, (float)(c->bx1 + 1), ctop + lid, 3);
        if (W >= 8 && chance(r, 0.6)) {   /* corner straps */
            fill_rectf(c, (float)c->bx0, ctop, c->bx0 + 1.f, c->by1, 3);
            fill_rectf(c, (float)c->bx1, ctop, c->bx1 + 1.f, c->by1, 3);
        }
        for (int x = c->bx0; x <= c->bx1; x++)
            if (fabsf(x + 0.5f - cx) < 1.0f) set_spec(c, x, ctop + lid + (ch >= 5), SPEC_DARK);
        break;
    }
    case ITEM_ORB: {
        float rad = fminf(W, H) * 0.5f;
        int coin = chance(r, 0.5);
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
        int ytop = c->by0 + (int)(H * rf(r, 0.3f, 0.5f)), cross = chance(r, 0.5);
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
    float cap = pf_clampf(fminf(c->bw, c->bh) / 6.f, 1.5f, 4.f);
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
            k = pf_clampi((int)floorf(s + thr), 0, n - 1);
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
        if (rp->n < 2 || !chance(&c->rng, 0.25)) continue;
        u = pf_rng_unit(&c->rng);
        c->m[m].dither = u < 0.45 ? DITHER_BAND : u < 0.8 ? DITHER_BAYER : DITHER_PATTERN;
    }
}

pf_status pf_synth_sprite(uint8_t *rgba, int w, int h, uint64_t seed)
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
    c->dist = pf_malloc4(n, sizeof(float), 1, 1);
    c->idx = pf_malloc4(n, sizeof(int16_t), 1, 1);
    queue = pf_malloc4(n, sizeof(int), 1, 1);
    if (!c->mat || !c->spec || !c->dist || !c->idx || !queue) goto fail;
    memset(c->spec, SPEC_NONE, n);

    pf_rng_seed(&c->rng, seed);
    c->w = w;
    c->h = h;
    kind = (int)(pf_rng_unit(&c->rng) * 100);
    kind = kind < 30 ? KIND_CHARACTER : kind < 55 ? KIND_CREATURE : kind < 75 ? KIND_BLOB : KIND_ITEM;
    /* margins 2..5 px per side (one for both sides of a mirrored kind; at
     * most side/6 above 2, so small sprites fill their canvas), shrunk on
     * tiny canvases so the box inside margin + outline keeps at least 1 px */
    capx = pf_clampi(w / 6, 2, 5);
    capy = pf_clampi(h / 6, 2, 5);
    ml = ri(&c->rng, 2, capx);
    mr = kind == KIND_CHARACTER || kind == KIND_CREATURE ? ml : ri(&c->rng, 2, capx);
    mt = ri(&c->rng, 2, capy);
    mb = ri(&c->rng, 2, capy);
    capx = (w - 3) / 2;   /* tiny canvases: keep a 1-px box */
    capy = (h - 3) / 2;
    ml = pf_clampi(ml, 0, capx);
    mr = pf_clampi(mr, 0, capx);
    mt = pf_clampi(mt, 0, capy);
    mb = pf_clampi(mb, 0, capy);
    c->bx0 = ml + 1;
    c->bx1 = w - mr - 2;
    c->by0 = mt + 1;
    c->by1 = h - mb - 2;
    c->bw = c->bx1 - c->bx0 + 1;
    c->bh = c->by1 - c->by0 + 1;
    c->cx = (c->bx0 + c->bx1 + 1) * 0.5f;
    c->outline8 = chance(&c->rng, 0.3);
    c->lines = chance(&c->rng, 0.35);
    c->cast = chance(&c->rng, 0.5);

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

/* ---- animation ---------------------------------------------------------------- */

typedef struct still {
    int w, h;
    uint8_t *px;                      /* (h, w, 4), binary alpha */
    int ox0, oy0, ox1, oy1;           /* opaque bounding box, ox1 < ox0 when none */
    int ncol;                         /* distinct opaque colours */
    uint32_t *col;                    /* (ncol) rgb24, sorted */
    int *cnt;                         /* (ncol) pixel counts */
} still;

static uint32_t rgb24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void rgb_of(uint32_t v, uint8_t o[3])
{
    o[0] = (uint8_t)(v >> 16);
    o[1] = (uint8_t)(v >> 8);
    o[2] = (uint8_t)v;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static float lum_of(uint32_t v)
{
    uint8_t q[3];
    float lab[3];
    rgb_of(v, q);
    pf_srgb8_to_oklab(q, lab);
    return lab[0];
}

/* Binary alpha copy of the input, its opaque box and its colour table. */
static pf_status still_make(still *s, const uint8_t *rgba, int w, int h)
{
    size_t n = (size_t)w * h, k = 0;
    uint32_t *all;

    memset(s, 0, sizeof *s);
    s->w = w;
    s->h = h;
    s->px = pf_malloc4(n, 4, 1, 1);
    all = pf_malloc4(n, sizeof *all, 1, 1);
    s->col = pf_malloc4(n, sizeof *s->col, 1, 1);
    s->cnt = pf_malloc4(n, sizeof *s->cnt, 1, 1);
    if (!s->px || !all || !s->col || !s->cnt) {
        free(all);
        return PF_ENOMEM;
    }
    s->ox0 = w;
    s->oy0 = h;
    s->ox1 = s->oy1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            const uint8_t *p = rgba + 4 * i;
            uint8_t *o = s->px + 4 * i;
            if (p[3] < 128) {
                memset(o, 0, 4);
                continue;
            }
            memcpy(o, p, 3);
            o[3] = 255;
            all[k++] = rgb24(p);
            if (x < s->ox0) s->ox0 = x;
            if (x > s->ox1) s->ox1 = x;
            if (y < s->oy0) s->oy0 = y;
            if (y > s->oy1) s->oy1 = y;
        }
    qsort(all, k, sizeof *all, cmp_u32);
    for (size_t i = 0; i < k; i++) {
        if (i == 0 || all[i] != all[i - 1]) {
            s->col[s->ncol] = all[i];
            s->cnt[s->ncol++] = 0;
        }
        s->cnt[s->ncol - 1]++;
    }
    free(all);
    return PF_OK;
}

static void still_free(still *s)
{
    free(s->px);
    free(s->col);
    free(s->cnt);
    memset(s, 0, sizeof *s);
}

static int still_opaque(const still *s, int x, int y)
{
    return x >= 0 && x < s->w && y >= 0 && y < s->h && s->px[4 * ((size_t)y * s->w + x) + 3];
}

/* The plan of one clip: everything pf_synth_info records plus periods. */
typedef struct plan {
    pf_synth_info in;
    int rx, ry, rw, rh;    /* region in still coordinates */
} plan;

/* Writes one frame: the still transformed by frame t's state. */
static void render(uint8_t *buf, int cw, int ch, const still *s, const plan *pl, int t)
{
    const pf_synth_info *in = &pl->in;
    int active = in->state[t];
    int ox = in->img_x + in->dx[t], oy = in->img_y + in->dy[t];

    memset(buf, 0, (size_t)cw * ch * 4);
    if (in->variant == PF_SYNTH_V_HIDE_ALL && active) return;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            int sx = x, sy = y;
            uint8_t px[4];
            int in_region = x >= pl->rx && x < pl->rx + pl->rw && y >= pl->ry && y < pl->ry + pl->rh;
            if (in->variant == PF_SYNTH_V_FLIP && active) sx = s->w - 1 - x;
            if (in->variant == PF_SYNTH_V_HEAD_BOB && active) {
                /* the region's rows drawn 1 px lower, over the rest */
                int from_region = y - 1 >= pl->ry && y - 1 < pl->ry + pl->rh && x >= pl->rx &&
                                  x < pl->rx + pl->rw && still_opaque(s, x, y - 1);
                if (from_region) sy = y - 1;
                else if (in_region) continue;
            }
            memcpy(px, s->px + 4 * ((size_t)sy * s->w + sx), 4);
            if (!px[3]) continue;
            switch (in->variant) {
            case PF_SYNTH_V_TOGGLE:
                if (active && in_region) memcpy(px, in->alt_rgb, 3);
                break;
            case PF_SYNTH_V_FLASH_ALL:
                if (active) memcpy(px, in->alt_rgb, 3);
                break;
            case PF_SYNTH_V_HIDE_PART:
                if (active && in_region) continue;
                break;
            case PF_SYNTH_V_SWAP:
                if (active && !memcmp(px, in->from_rgb, 3)) memcpy(px, in->alt_rgb, 3);
                break;
            case PF_SYNTH_V_CYCLE:
                for (int i = 0; i < in->cycle_n; i++)
                    if (!memcmp(px, in->cycle_rgb[i], 3)) {
                        memcpy(px, in->cycle_rgb[(i + active) % in->cycle_n], 3);
                        break;
                    }
                break;
            default:
                break;
            }
            memcpy(buf + 4 * ((size_t)(oy + y) * cw + (ox + x)), px, 4);
        }
}

/* Periodic on/off: active for `on` steps out of every `period`. */
static int pulse(int step, int phase, int period, int on)
{
    return (step + phase) % period < on;
}

/* Picks a small rectangle of opaque pixels (an eye) and the colour it turns
 * to: the commonest colour around it (the eyelid), or another colour of the
 * still. Returns 0 when no such region exists. */
static int pick_toggle(pf_rng *r, const still *s, plan *pl)
{
    for (int tries = 0; tries < 300; tries++) {
        int rw = ri(r, 1, 3), rh = ri(r, 1, 2), strict = tries < 200;
        int bh = s->oy1 - s->oy0 + 1;
        int x = ri(r, s->ox0, s->ox1 - rw + 1), y = ri(r, s->oy0, s->oy0 + (strict ? (bh * 3) / 5 : bh - rh));
        uint32_t ring[16];
        int nring = 0, ok = 1, differs = 0, best = -1, bestn = 0;
        if (x > s->ox1 - rw + 1 || y > s->oy1 - rh + 1) continue;
        for (int yy = y; yy < y + rh && ok; yy++)
            for (int xx = x; xx < x + rw && ok; xx++) ok = still_opaque(s, xx, yy);
        if (!ok) continue;
        for (int xx = x - 1; xx <= x + rw; xx++)   /* the ring's rows above and below */
            for (int k = 0; k < 2; k++) {
                int yy = k ? y + rh : y - 1;
                if (still_opaque(s, xx, yy) && nring < 16) ring[nring++] = rgb24(s->px + 4 * ((size_t)yy * s->w + xx));
                else if (strict) ok = 0;
            }
        if (!ok || nring == 0) continue;
        for (int i = 0; i < nring; i++) {
            int cnt = 0;
            for (int j = 0; j < nring; j++) cnt += ring[j] == ring[i];
            if (cnt > bestn) bestn = cnt, best = i;
        }
        for (int yy = y; yy < y + rh; yy++)
            for (int xx = x; xx < x + rw; xx++)
                differs |= rgb24(s->px + 4 * ((size_t)yy * s->w + xx)) != ring[best];
        if (!differs) continue;
        pl->rx = x;
        pl->ry = y;
        pl->rw = rw;
        pl->rh = rh;
        rgb_of(ring[best], pl->in.alt_rgb);
        return 1;
    }
    return 0;
}

/* The motion steps: step[t] grows by 1 per frame except on holds. */
static void plan_steps(pf_rng *r, plan *pl, int frames)
{
    int held = 0;
    if (frames >= 4 && chance(r, 0.35)) held = ri(r, 1, frames / 4);
    pl->in.step[0] = 0;
    for (int t = 1; t < frames; t++) pl->in.step[t] = pl->in.step[t - 1] + 1;
    for (int k = 0; k < held; k++) {
        int t = ri(r, 1, frames - 1);
        if (pl->in.step[t] == pl->in.step[t - 1]) continue;   /* already a hold */
        for (int u = t; u < frames; u++) pl->in.step[u]--;
        pl->in.held++;
    }
}

static void plan_durations(pf_rng *r, pf_synth_info *in, int frames)
{
    static const int nice[] = { 40, 50, 60, 70, 80, 100, 120, 150, 200 };
    double u = pf_rng_unit(r);
    int d = chance(r, 0.6) ? nice[ri(r, 0, 8)] : ri(r, 40, 200);
    for (int t = 0; t < frames; t++) {
        int dt = d;
        if (u >= 0.6 && u < 0.85) dt = ri(r, 40, 200);                  /* every frame its own */
        else if (u >= 0.85 && chance(r, 0.25)) dt = pf_clampi(d * 2, 40, 200);   /* key poses */
        in->duration_ms[t] = dt;
    }
}

static int motion_applies(pf_synth_motion m, const still *s, int cw, int ch)
{
    switch (m) {
    case PF_SYNTH_TRANSLATE: return cw > s->w || ch > s->h;
    case PF_SYNTH_PALETTE_CYCLE: return s->ncol >= 2;
    case PF_SYNTH_REGION_SHIFT: return s->ox1 >= s->ox0;
    default: return 1;
    }
}

/* Fills pl for a TRANSLATE: a variant, the per-frame offsets and the
 * placement so that every offset keeps the still inside the canvas. */
static void plan_translate(pf_rng *r, plan *pl, const still *s, int cw, int ch, int frames)
{
    pf_synth_info *in = &pl->in;
    int sx = cw - s->w, sy = ch - s->h, steps = in->step[frames - 1] + 1;
    int vmaxx = steps > 1 ? sx / (steps - 1) : sx, vmaxy = steps > 1 ? sy / (steps - 1) : sy;
    int minx = 0, maxx = 0, miny = 0, maxy = 0;
    double u = pf_rng_unit(r);

    if (vmaxx > 3) vmaxx = 3;
    if (vmaxy > 3) vmaxy = 3;
    if ((vmaxx > 0 || vmaxy > 0) && u < 0.45) {
        int vx, vy;
        do {
            vx = ri(r, -vmaxx, vmaxx);
            vy = chance(r, 0.6) ? 0 : ri(r, -vmaxy, vmaxy);
            if (vmaxx == 0) vy = ri(r, -vmaxy, vmaxy);
        } while (vx == 0 && vy == 0);
        in->variant = PF_SYNTH_V_LINEAR;
        for (int t = 0; t < frames; t++) in->dx[t] = vx * in->step[t], in->dy[t] = vy * in->step[t];
    } else if (sy > 0 && u < 0.75) {
        int period = ri(r, 4, 10), height = ri(r, 1, sy < 6 ? sy : 6), phase = ri(r, 0, period - 1);
        int vx = sx >= steps - 1 && chance(r, 0.5) ? (chance(r, 0.5) ? 1 : -1) : 0;
        in->variant = PF_SYNTH_V_HOP;
        for (int t = 0; t < frames; t++) {
            float q = (float)((in->step[t] + phase) % period) / (float)period;
            in->dx[t] = vx * in->step[t];
            in->dy[t] = -(int)lrintf(height * 4.f * q * (1.f - q));
        }
    } else {
        int ax = sx > 0 ? ri(r, 1, sx < 12 ? sx : 12) : 0, ay = sy > 0 ? ri(r, 1, sy < 12 ? sy : 12) : 0;
        int ux = 0, uy = 0, a, phase;
        while (ux == 0 && uy == 0) {
            ux = ax > 0 ? ri(r, -1, 1) : 0;
            uy = ay > 0 ? ri(r, -1, 1) : 0;
        }
        a = ux && uy ? (ax < ay ? ax : ay) : ux ? ax : ay;
        phase = ri(r, 0, 2 * a - 1);
        in->variant = PF_SYNTH_V_PINGPONG;
        for (int t = 0; t < frames; t++) {
            int p = (in->step[t] + phase) % (2 * a), off = p <= a ? p : 2 * a - p;
            in->dx[t] = ux * off;
            in->dy[t] = uy * off;
        }
    }
    for (int t = 0; t < frames; t++) {
        if (in->dx[t] < minx) minx = in->dx[t];
        if (in->dx[t] > maxx) maxx = in->dx[t];
        if (in->dy[t] < miny) miny = in->dy[t];
        if (in->dy[t] > maxy) maxy = in->dy[t];
    }
    PF_ASSERT(maxx - minx <= sx && maxy - miny <= sy);
    in->img_x = ri(r, -minx, sx - maxx);
    in->img_y = ri(r, -miny, sy - maxy);
}

/* A period for a pattern over `steps` steps: at least 2 and, when there
 * are enough steps, short enough that it repeats within the clip. */
static int period_for(pf_rng *r, int lo, int hi, int steps)
{
    if (hi > steps) hi = steps;
    if (hi < lo) hi = lo;
    return ri(r, lo, hi);
}

static pf_status plan_motion(pf_rng *r, plan *pl, const still *s, int cw, int ch, int frames,
                             pf_synth_motion motion)
{
    pf_synth_info *in = &pl->in;
    int steps;

    if (motion == PF_SYNTH_ANY) {
        static const double cum[5] = { 0.3, 0.5, 0.65, 0.8, 1.0 };
        for (int tries = 0; tries < 100; tries++) {
            double u = pf_rng_unit(r);
            int k = 0;
            while (k < 4 && u >= cum[k]) k++;
            motion = (pf_synth_motion)k;
            if (motion_applies(motion, s, cw, ch)) break;
            motion = PF_SYNTH_FLIP;
        }
    }
    if (motion == PF_SYNTH_TRANSLATE && !motion_applies(motion, s, cw, ch)) return PF_EINVAL;
    in->motion = motion;
    in->frames = frames;
    in->img_w = s->w;
    in->img_h = s->h;
    plan_steps(r, pl, frames);
    plan_durations(r, in, frames);
    steps = in->step[frames - 1] + 1;
    pl->rx = pl->ry = 0;
    pl->rw = s->w;
    pl->rh = s->h;

    if (motion == PF_SYNTH_TRANSLATE) {
        plan_translate(r, pl, s, cw, ch, frames);
    } else {
        in->img_x = ri(r, 0, cw - s->w);
        in->img_y = ri(r, 0, ch - s->h);
    }
    switch (motion) {
    case PF_SYNTH_REGION_SHIFT: {
        int bh = s->oy1 - s->oy0 + 1, has_clear = 0, bob;
        for (size_t i = 0; i < (size_t)s->w * s->h && !has_clear; i++) has_clear = !s->px[4 * i + 3];
        bob = bh >= 2 && has_clear && chance(r, 0.5);
        in->variant = PF_SYNTH_V_HEAD_BOB;
        if (!bob && s->ox1 >= s->ox0 && s->ncol >= 2 && pick_toggle(r, s, pl)) {
            int period = period_for(r, 3, 12, steps), on = ri(r, 1, period >= 5 ? 2 : 1);
            int phase = ri(r, 0, period - 1);
            in->variant = PF_SYNTH_V_TOGGLE;
            for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
        } else if (bh >= 2 && s->oy1 < s->h) {
            int rows = pf_clampi((int)lrintf(bh * rf(r, 0.3f, 0.55f)), 1, bh - 1);
            int period = period_for(r, 2, 8, steps), on = ri(r, 1, period - 1), phase = ri(r, 0, period - 1);
            pl->rx = s->ox0;
            pl->rw = s->ox1 - s->ox0 + 1;
            pl->ry = s->oy0;
            pl->rh = rows;
            for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
        } else {
            pl->rh = 0;   /* nothing can move: static frames */
        }
        break;
    }
    case PF_SYNTH_BLINK: {
        double u = pf_rng_unit(r);
        int period = period_for(r, 2, 8, steps), on = ri(r, 1, period - 1), phase = ri(r, 0, period - 1);
        for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
        if (u < 0.3 || s->ncol == 0) {
            in->variant = PF_SYNTH_V_HIDE_ALL;
        } else if (u < 0.5) {
            uint32_t lightest = s->col[0];
            for (int i = 1; i < s->ncol; i++)
                if (lum_of(s->col[i]) > lum_of(lightest)) lightest = s->col[i];
            in->variant = PF_SYNTH_V_FLASH_ALL;
            if (chance(r, 0.5)) lightest = 0xffffff;
            rgb_of(lightest, in->alt_rgb);
        } else if (u < 0.75 || s->ncol < 2) {
            int bw = s->ox1 - s->ox0 + 1, bh = s->oy1 - s->oy0 + 1;
            in->variant = PF_SYNTH_V_HIDE_PART;
            pl->rw = ri(r, (bw + 3) / 4, (bw + 1) / 2);
            pl->rh = ri(r, (bh + 3) / 4, (bh + 1) / 2);
            pl->rx = ri(r, s->ox0, s->ox1 - pl->rw + 1);
            pl->ry = ri(r, s->oy0, s->oy1 - pl->rh + 1);
        } else {
            int a = ri(r, 0, s->ncol - 1), b = ri(r, 0, s->ncol - 2);
            if (b >= a) b++;
            in->variant = PF_SYNTH_V_SWAP;
            rgb_of(s->col[a], in->from_rgb);
            rgb_of(s->col[b], in->alt_rgb);
        }
        break;
    }
    case PF_SYNTH_PALETTE_CYCLE: {
        int n = s->ncol < 2 ? 0 : ri(r, 2, s->ncol < PF_SYNTH_CYCLE_MAX ? s->ncol : PF_SYNTH_CYCLE_MAX);
        int every = chance(r, 0.7) ? 1 : 2, dir = chance(r, 0.5) ? 1 : -1;
        int phase = ri(r, 0, 7);
        uint32_t pick[PF_SYNTH_CYCLE_MAX];
        in->variant = PF_SYNTH_V_CYCLE;
        if (n > 0 && chance(r, 0.7)) {
            /* a ramp: n colours adjacent in OKLab L order (water, fire) */
            float lum[PF_SYNTH_CYCLE_MAX];
            int start = ri(r, 0, s->ncol - 1), cnt = 0;
            /* walk from a start colour to the n-1 nearest in L above it */
            pick[cnt] = s->col[start];
            lum[cnt++] = lum_of(s->col[start]);
            while (cnt < n) {
                int best = -1;
                float bd = 1e9f;
                for (int i = 0; i < s->ncol; i++) {
                    int used = 0;
                    float l = lum_of(s->col[i]), d;
                    for (int j = 0; j < cnt; j++) used |= pick[j] == s->col[i];
                    if (used) continue;
                    d = fabsf(l - lum[cnt - 1]);
                    if (d < bd) bd = d, best = i;
                }
                pick[cnt] = s->col[best];
                lum[cnt++] = lum_of(s->col[best]);
            }
        } else {
            for (int cnt = 0; cnt < n;) {
                uint32_t v = s->col[ri(r, 0, s->ncol - 1)];
                int used = 0;
                for (int j = 0; j < cnt; j++) used |= pick[j] == v;
                if (!used) pick[cnt++] = v;
            }
        }
        in->cycle_n = n;
        for (int i = 0; i < n; i++) rgb_of(pick[i], in->cycle_rgb[i]);
        for (int t = 0; t < frames; t++) {
            int q = (in->step[t] + phase) / every;
            in->state[t] = n ? ((dir * q) % n + n) % n : 0;
        }
        break;
    }
    case PF_SYNTH_FLIP: {
        int k = steps >= 2 ? ri(r, 1, steps - 1 < 8 ? steps - 1 : 8) : 1, phase = ri(r, 0, 2 * k - 1);
        in->variant = PF_SYNTH_V_FLIP;
        for (int t = 0; t < frames; t++) in->state[t] = ((in->step[t] + phase) / k) & 1;
        break;
    }
    default:
        break;
    }
    in->region_x = in->img_x + pl->rx;
    in->region_y = in->img_y + pl->ry;
    in->region_w = pl->rw;
    in->region_h = pl->rh;
    return PF_OK;
}

pf_status pf_synth_animate(pf_anim *out, const uint8_t *rgba, int w, int h,
                           int out_w, int out_h, int frames, pf_synth_motion motion,
                           uint64_t seed, pf_synth_info *info)
{
    still s;
    plan *pl = NULL;
    uint8_t *buf = NULL;
    pf_rng rng;
    pf_status st;

    if (!out) return PF_EINVAL;
    memset(out, 0, sizeof *out);
    if (!rgba || w < PF_SYNTH_MIN_SIZE || h < PF_SYNTH_MIN_SIZE || w > PF_SYNTH_MAX_SIZE ||
        h > PF_SYNTH_MAX_SIZE || out_w < w || out_h < h || out_w > PF_SYNTH_MAX_SIZE ||
        out_h > PF_SYNTH_MAX_SIZE || frames < 1 || frames > PF_SYNTH_MAX_FRAMES ||
        (int)motion < 0 || motion > PF_SYNTH_ANY)
        return PF_EINVAL;
    st = still_make(&s, rgba, w, h);
    if (st != PF_OK) goto fail;
    st = PF_ENOMEM;
    pl = calloc(1, sizeof *pl);
    buf = pf_malloc4((size_t)out_w, (size_t)out_h, 4, 1);
    if (!pl || !buf) goto fail;
    pf_rng_seed(&rng, seed);
    st = plan_motion(&rng, pl, &s, out_w, out_h, frames, motion);
    if (st != PF_OK) goto fail;
    st = pf_anim_init(out, out_w, out_h);
    if (st != PF_OK) goto fail;
    for (int t = 0; t < frames; t++) {
        if (t == 0 || pl->in.step[t] != pl->in.step[t - 1]) render(buf, out_w, out_h, &s, pl, t);
        st = pf_anim_push(out, buf, pl->in.duration_ms[t]);
        if (st != PF_OK) goto fail;
    }
    if (info) *info = pl->in;
    st = PF_OK;
fail:
    if (st != PF_OK) pf_anim_free(out);
    still_free(&s);
    free(pl);
    free(buf);
    return st;
}

pf_status pf_synth_clip(pf_anim *out, int max_w, int max_h, int frames, uint64_t seed,
                        pf_synth_info *info)
{
    static const double cum[5] = { 0.3, 0.5, 0.65, 0.8, 1.0 };
    pf_rng rng;
    pf_synth_motion motion;
    uint8_t *sprite_px = NULL;
    int sw, sh, cw, ch, k = 0;
    double u;
    pf_status st;

    if (!out) return PF_EINVAL;
    memset(out, 0, sizeof *out);
    if (max_w < PF_SYNTH_MIN_SIZE || max_h < PF_SYNTH_MIN_SIZE || max_w > PF_SYNTH_MAX_SIZE ||
        max_h > PF_SYNTH_MAX_SIZE || frames < 0 || frames > PF_SYNTH_MAX_FRAMES)
        return PF_EINVAL;
    pf_rng_seed(&rng, seed);
    if (frames == 0) frames = ri(&rng, 8, 32);
    u = pf_rng_unit(&rng);
    while (k < 4 && u >= cum[k]) k++;
    motion = (pf_synth_motion)k;
    if (motion == PF_SYNTH_TRANSLATE && max_w == PF_SYNTH_MIN_SIZE && max_h == PF_SYNTH_MIN_SIZE)
        motion = PF_SYNTH_FLIP;

    sw = ri(&rng, max_w < 8 ? max_w : 8, max_w < 48 ? max_w : 48);
    sh = chance(&rng, 0.5) ? pf_clampi(sw + ri(&rng, -2, 2), PF_SYNTH_MIN_SIZE, max_h)
                           : ri(&rng, max_h < 8 ? max_h : 8, max_h < 48 ? max_h : 48);
    if (sh > max_h) sh = max_h;
    if (motion == PF_SYNTH_TRANSLATE) {
        /* leave room to move: shrink the sprite when the canvas is tight */
        if (sw == max_w && sh == max_h) {
            if (sw > PF_SYNTH_MIN_SIZE) sw -= ri(&rng, 1, (sw - PF_SYNTH_MIN_SIZE) < 8 ? sw - PF_SYNTH_MIN_SIZE : 8);
            else sh -= 1;
        }
        cw = pf_clampi(sw + ri(&rng, 4, 48), sw, max_w);
        ch = pf_clampi(sh + ri(&rng, 2, 32), sh, max_h);
    } else {
        cw = pf_clampi(sw + (chance(&rng, 0.5) ? 0 : ri(&rng, 1, 8)), sw, max_w);
        ch = pf_clampi(sh + (chance(&rng, 0.5) ? 0 : ri(&rng, 1, 8)), sh, max_h);
    }
    sprite_px = pf_malloc4((size_t)sw, (size_t)sh, 4, 1);
    if (!sprite_px) return PF_ENOMEM;
    st = pf_synth_sprite(sprite_px, sw, sh, pf_rng_u64(&rng));
    if (st == PF_OK)
        st = pf_synth_animate(out, sprite_px, sw, sh, cw, ch, frames, motion, pf_rng_u64(&rng), info);
    free(sprite_px);
    return st;
}

const char *pf_synth_motion_name(pf_synth_motion m)
{
    switch (m) {
    case PF_SYNTH_TRANSLATE: return "translate";
    case PF_SYNTH_REGION_SHIFT: return "region_shift";
    case PF_SYNTH_BLINK: return "blink";
    case PF_SYNTH_PALETTE_CYCLE: return "palette_cycle";
    case PF_SYNTH_FLIP: return "flip";
    case PF_SYNTH_ANY: return "any";
    }
    return "?";
}
