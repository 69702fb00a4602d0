/*
 * animate.c - synthetic animations with exact ground truth (docs/data.md,
 * "Generated data"): pfi_synth_animate moves a sprite or a static tile
 * (whole-pixel translation, a region moving by one pixel, blinking, palette
 * cycling, flips); pfi_synth_clip draws a sprite (sprite.c) and animates it.
 * A still is rendered per motion step into a canvas; holds repeat the
 * previous step.
 */
#include "train/synth.h"

#include <math.h>
#include <string.h>

#include "palette/palette.h"
#include "train/rng.h"

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
    pfi_srgb8_to_oklab(q, lab);
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
    s->px = pfi_malloc4(n, 4, 1, 1);
    all = pfi_malloc4(n, sizeof *all, 1, 1);
    s->col = pfi_malloc4(n, sizeof *s->col, 1, 1);
    s->cnt = pfi_malloc4(n, sizeof *s->cnt, 1, 1);
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

/* The plan of one clip: everything pfi_synth_info records plus periods. */
typedef struct plan {
    pfi_synth_info in;
    int rx, ry, rw, rh;    /* region in still coordinates */
} plan;

/* Writes one frame: the still transformed by frame t's state. */
static void render(uint8_t *buf, int cw, int ch, const still *s, const plan *pl, int t)
{
    const pfi_synth_info *in = &pl->in;
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
static int pick_toggle(pfi_rng *r, const still *s, plan *pl)
{
    for (int tries = 0; tries < 300; tries++) {
        int rw = pfi_rng_between(r, 1, 3), rh = pfi_rng_between(r, 1, 2), strict = tries < 200;
        int bh = s->oy1 - s->oy0 + 1;
        int x = pfi_rng_between(r, s->ox0, s->ox1 - rw + 1), y = pfi_rng_between(r, s->oy0, s->oy0 + (strict ? (bh * 3) / 5 : bh - rh));
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
static void plan_steps(pfi_rng *r, plan *pl, int frames)
{
    int held = 0;
    if (frames >= 4 && pfi_rng_chance(r, 0.35)) held = pfi_rng_between(r, 1, frames / 4);
    pl->in.step[0] = 0;
    for (int t = 1; t < frames; t++) pl->in.step[t] = pl->in.step[t - 1] + 1;
    for (int k = 0; k < held; k++) {
        int t = pfi_rng_between(r, 1, frames - 1);
        if (pl->in.step[t] == pl->in.step[t - 1]) continue;   /* already a hold */
        for (int u = t; u < frames; u++) pl->in.step[u]--;
        pl->in.held++;
    }
}

static void plan_durations(pfi_rng *r, pfi_synth_info *in, int frames)
{
    static const int nice[] = { 40, 50, 60, 70, 80, 100, 120, 150, 200 };
    double u = pfi_rng_unit(r);
    int d = pfi_rng_chance(r, 0.6) ? nice[pfi_rng_between(r, 0, 8)] : pfi_rng_between(r, 40, 200);
    for (int t = 0; t < frames; t++) {
        int dt = d;
        if (u >= 0.6 && u < 0.85) dt = pfi_rng_between(r, 40, 200);                  /* every frame its own */
        else if (u >= 0.85 && pfi_rng_chance(r, 0.25)) dt = pfi_clampi(d * 2, 40, 200);   /* key poses */
        in->duration_ms[t] = dt;
    }
}

static int motion_applies(pfi_synth_motion m, const still *s, int cw, int ch)
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
static void plan_translate(pfi_rng *r, plan *pl, const still *s, int cw, int ch, int frames)
{
    pfi_synth_info *in = &pl->in;
    int sx = cw - s->w, sy = ch - s->h, steps = in->step[frames - 1] + 1;
    int vmaxx = steps > 1 ? sx / (steps - 1) : sx, vmaxy = steps > 1 ? sy / (steps - 1) : sy;
    int minx = 0, maxx = 0, miny = 0, maxy = 0;
    double u = pfi_rng_unit(r);

    if (vmaxx > 3) vmaxx = 3;
    if (vmaxy > 3) vmaxy = 3;
    if ((vmaxx > 0 || vmaxy > 0) && u < 0.45) {
        int vx, vy;
        do {
            vx = pfi_rng_between(r, -vmaxx, vmaxx);
            vy = pfi_rng_chance(r, 0.6) ? 0 : pfi_rng_between(r, -vmaxy, vmaxy);
            if (vmaxx == 0) vy = pfi_rng_between(r, -vmaxy, vmaxy);
        } while (vx == 0 && vy == 0);
        in->variant = PF_SYNTH_V_LINEAR;
        for (int t = 0; t < frames; t++) in->dx[t] = vx * in->step[t], in->dy[t] = vy * in->step[t];
    } else if (sy > 0 && u < 0.75) {
        int period = pfi_rng_between(r, 4, 10), height = pfi_rng_between(r, 1, sy < 6 ? sy : 6), phase = pfi_rng_between(r, 0, period - 1);
        int vx = sx >= steps - 1 && pfi_rng_chance(r, 0.5) ? (pfi_rng_chance(r, 0.5) ? 1 : -1) : 0;
        in->variant = PF_SYNTH_V_HOP;
        for (int t = 0; t < frames; t++) {
            float q = (float)((in->step[t] + phase) % period) / (float)period;
            in->dx[t] = vx * in->step[t];
            in->dy[t] = -(int)lrintf(height * 4.f * q * (1.f - q));
        }
    } else {
        int ax = sx > 0 ? pfi_rng_between(r, 1, sx < 12 ? sx : 12) : 0, ay = sy > 0 ? pfi_rng_between(r, 1, sy < 12 ? sy : 12) : 0;
        int ux = 0, uy = 0, a, phase;
        while (ux == 0 && uy == 0) {
            ux = ax > 0 ? pfi_rng_between(r, -1, 1) : 0;
            uy = ay > 0 ? pfi_rng_between(r, -1, 1) : 0;
        }
        a = ux && uy ? (ax < ay ? ax : ay) : ux ? ax : ay;
        phase = pfi_rng_between(r, 0, 2 * a - 1);
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
    in->img_x = pfi_rng_between(r, -minx, sx - maxx);
    in->img_y = pfi_rng_between(r, -miny, sy - maxy);
}

/* A period for a pattern over `steps` steps: at least 2 and, when there
 * are enough steps, short enough that it repeats within the clip. */
static int period_for(pfi_rng *r, int lo, int hi, int steps)
{
    if (hi > steps) hi = steps;
    if (hi < lo) hi = lo;
    return pfi_rng_between(r, lo, hi);
}

/* REGION_SHIFT: a head bob (the top rows of the opaque box move by one
 * pixel), or a toggle of one colour's pixels (pick_toggle). */
static void plan_region_shift(pfi_rng *r, plan *pl, const still *s, int frames, int steps)
{
    pfi_synth_info *in = &pl->in;
    int bh = s->oy1 - s->oy0 + 1, has_clear = 0, bob;
    for (size_t i = 0; i < (size_t)s->w * s->h && !has_clear; i++) has_clear = !s->px[4 * i + 3];
    bob = bh >= 2 && has_clear && pfi_rng_chance(r, 0.5);
    in->variant = PF_SYNTH_V_HEAD_BOB;
    if (!bob && s->ox1 >= s->ox0 && s->ncol >= 2 && pick_toggle(r, s, pl)) {
        int period = period_for(r, 3, 12, steps), on = pfi_rng_between(r, 1, period >= 5 ? 2 : 1);
        int phase = pfi_rng_between(r, 0, period - 1);
        in->variant = PF_SYNTH_V_TOGGLE;
        for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
    } else if (bh >= 2 && s->oy1 < s->h) {
        int rows = pfi_clampi((int)lrintf(bh * pfi_rng_betweenf(r, 0.3f, 0.55f)), 1, bh - 1);
        int period = period_for(r, 2, 8, steps), on = pfi_rng_between(r, 1, period - 1), phase = pfi_rng_between(r, 0, period - 1);
        pl->rx = s->ox0;
        pl->rw = s->ox1 - s->ox0 + 1;
        pl->ry = s->oy0;
        pl->rh = rows;
        for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
    } else {
        pl->rh = 0;   /* nothing can move: static frames */
    }
}

/* BLINK: the sprite, a part of it, or one colour hidden, flashed or
 * swapped on a pulse. */
static void plan_blink(pfi_rng *r, plan *pl, const still *s, int frames, int steps)
{
    pfi_synth_info *in = &pl->in;
    double u = pfi_rng_unit(r);
    int period = period_for(r, 2, 8, steps), on = pfi_rng_between(r, 1, period - 1), phase = pfi_rng_between(r, 0, period - 1);
    for (int t = 0; t < frames; t++) in->state[t] = pulse(in->step[t], phase, period, on);
    if (u < 0.3 || s->ncol == 0) {
        in->variant = PF_SYNTH_V_HIDE_ALL;
    } else if (u < 0.5) {
        uint32_t lightest = s->col[0];
        for (int i = 1; i < s->ncol; i++)
            if (lum_of(s->col[i]) > lum_of(lightest)) lightest = s->col[i];
        in->variant = PF_SYNTH_V_FLASH_ALL;
        if (pfi_rng_chance(r, 0.5)) lightest = 0xffffff;
        rgb_of(lightest, in->alt_rgb);
    } else if (u < 0.75 || s->ncol < 2) {
        int bw = s->ox1 - s->ox0 + 1, bh = s->oy1 - s->oy0 + 1;
        in->variant = PF_SYNTH_V_HIDE_PART;
        pl->rw = pfi_rng_between(r, (bw + 3) / 4, (bw + 1) / 2);
        pl->rh = pfi_rng_between(r, (bh + 3) / 4, (bh + 1) / 2);
        pl->rx = pfi_rng_between(r, s->ox0, s->ox1 - pl->rw + 1);
        pl->ry = pfi_rng_between(r, s->oy0, s->oy1 - pl->rh + 1);
    } else {
        int a = pfi_rng_between(r, 0, s->ncol - 1), b = pfi_rng_between(r, 0, s->ncol - 2);
        if (b >= a) b++;
        in->variant = PF_SYNTH_V_SWAP;
        rgb_of(s->col[a], in->from_rgb);
        rgb_of(s->col[b], in->alt_rgb);
    }
}

/* PALETTE_CYCLE: n colours (a ramp adjacent in lightness, or any) rotate
 * every one or two steps. */
static void plan_palette_cycle(pfi_rng *r, plan *pl, const still *s, int frames, int steps)
{
    pfi_synth_info *in = &pl->in;
    int n = s->ncol < 2 ? 0 : pfi_rng_between(r, 2, s->ncol < PF_SYNTH_CYCLE_MAX ? s->ncol : PF_SYNTH_CYCLE_MAX);
    int every = pfi_rng_chance(r, 0.7) ? 1 : 2, dir = pfi_rng_chance(r, 0.5) ? 1 : -1;
    int phase = pfi_rng_between(r, 0, 7);
    uint32_t pick[PF_SYNTH_CYCLE_MAX];
    in->variant = PF_SYNTH_V_CYCLE;
    if (n > 0 && pfi_rng_chance(r, 0.7)) {
        /* a ramp: n colours adjacent in OKLab L order (water, fire) */
        float lum[PF_SYNTH_CYCLE_MAX];
        int start = pfi_rng_between(r, 0, s->ncol - 1), cnt = 0;
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
            uint32_t v = s->col[pfi_rng_between(r, 0, s->ncol - 1)];
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
}

/* FLIP: mirrored every k steps. */
static void plan_flip(pfi_rng *r, plan *pl, const still *s, int frames, int steps)
{
    pfi_synth_info *in = &pl->in;
    int k = steps >= 2 ? pfi_rng_between(r, 1, steps - 1 < 8 ? steps - 1 : 8) : 1, phase = pfi_rng_between(r, 0, 2 * k - 1);
    in->variant = PF_SYNTH_V_FLIP;
    for (int t = 0; t < frames; t++) in->state[t] = ((in->step[t] + phase) / k) & 1;
}

static pf_status plan_motion(pfi_rng *r, plan *pl, const still *s, int cw, int ch, int frames,
                             pfi_synth_motion motion)
{
    pfi_synth_info *in = &pl->in;
    int steps;

    if (motion == PF_SYNTH_ANY) {
        static const double cum[5] = { 0.3, 0.5, 0.65, 0.8, 1.0 };
        for (int tries = 0; tries < 100; tries++) {
            double u = pfi_rng_unit(r);
            int k = 0;
            while (k < 4 && u >= cum[k]) k++;
            motion = (pfi_synth_motion)k;
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
        in->img_x = pfi_rng_between(r, 0, cw - s->w);
        in->img_y = pfi_rng_between(r, 0, ch - s->h);
    }
    switch (motion) {
    case PF_SYNTH_REGION_SHIFT: plan_region_shift(r, pl, s, frames, steps); break;
    case PF_SYNTH_BLINK: plan_blink(r, pl, s, frames, steps); break;
    case PF_SYNTH_PALETTE_CYCLE: plan_palette_cycle(r, pl, s, frames, steps); break;
    case PF_SYNTH_FLIP: plan_flip(r, pl, s, frames, steps); break;
    default: break;
    }
    in->region_x = in->img_x + pl->rx;
    in->region_y = in->img_y + pl->ry;
    in->region_w = pl->rw;
    in->region_h = pl->rh;
    return PF_OK;
}

pf_status pfi_synth_animate(pfi_anim *out, const uint8_t *rgba, int w, int h,
                           int out_w, int out_h, int frames, pfi_synth_motion motion,
                           uint64_t seed, pfi_synth_info *info)
{
    still s;
    plan *pl = NULL;
    uint8_t *buf = NULL;
    pfi_rng rng;
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
    buf = pfi_malloc4((size_t)out_w, (size_t)out_h, 4, 1);
    if (!pl || !buf) goto fail;
    pfi_rng_seed(&rng, seed);
    st = plan_motion(&rng, pl, &s, out_w, out_h, frames, motion);
    if (st != PF_OK) goto fail;
    st = pfi_anim_init(out, out_w, out_h);
    if (st != PF_OK) goto fail;
    for (int t = 0; t < frames; t++) {
        if (t == 0 || pl->in.step[t] != pl->in.step[t - 1]) render(buf, out_w, out_h, &s, pl, t);
        st = pfi_anim_push(out, buf, pl->in.duration_ms[t]);
        if (st != PF_OK) goto fail;
    }
    if (info) *info = pl->in;
    st = PF_OK;
fail:
    if (st != PF_OK) pfi_anim_free(out);
    still_free(&s);
    free(pl);
    free(buf);
    return st;
}

pf_status pfi_synth_clip(pfi_anim *out, int max_w, int max_h, int frames, uint64_t seed,
                        pfi_synth_info *info)
{
    static const double cum[5] = { 0.3, 0.5, 0.65, 0.8, 1.0 };
    pfi_rng rng;
    pfi_synth_motion motion;
    uint8_t *sprite_px = NULL;
    int sw, sh, cw, ch, k = 0;
    double u;
    pf_status st;

    if (!out) return PF_EINVAL;
    memset(out, 0, sizeof *out);
    if (max_w < PF_SYNTH_MIN_SIZE || max_h < PF_SYNTH_MIN_SIZE || max_w > PF_SYNTH_MAX_SIZE ||
        max_h > PF_SYNTH_MAX_SIZE || frames < 0 || frames > PF_SYNTH_MAX_FRAMES)
        return PF_EINVAL;
    pfi_rng_seed(&rng, seed);
    if (frames == 0) frames = pfi_rng_between(&rng, 8, 32);
    u = pfi_rng_unit(&rng);
    while (k < 4 && u >= cum[k]) k++;
    motion = (pfi_synth_motion)k;
    if (motion == PF_SYNTH_TRANSLATE && max_w == PF_SYNTH_MIN_SIZE && max_h == PF_SYNTH_MIN_SIZE)
        motion = PF_SYNTH_FLIP;

    sw = pfi_rng_between(&rng, max_w < 8 ? max_w : 8, max_w < 48 ? max_w : 48);
    sh = pfi_rng_chance(&rng, 0.5) ? pfi_clampi(sw + pfi_rng_between(&rng, -2, 2), PF_SYNTH_MIN_SIZE, max_h)
                           : pfi_rng_between(&rng, max_h < 8 ? max_h : 8, max_h < 48 ? max_h : 48);
    if (sh > max_h) sh = max_h;
    if (motion == PF_SYNTH_TRANSLATE) {
        /* leave room to move: shrink the sprite when the canvas is tight */
        if (sw == max_w && sh == max_h) {
            if (sw > PF_SYNTH_MIN_SIZE) sw -= pfi_rng_between(&rng, 1, (sw - PF_SYNTH_MIN_SIZE) < 8 ? sw - PF_SYNTH_MIN_SIZE : 8);
            else sh -= 1;
        }
        cw = pfi_clampi(sw + pfi_rng_between(&rng, 4, 48), sw, max_w);
        ch = pfi_clampi(sh + pfi_rng_between(&rng, 2, 32), sh, max_h);
    } else {
        cw = pfi_clampi(sw + (pfi_rng_chance(&rng, 0.5) ? 0 : pfi_rng_between(&rng, 1, 8)), sw, max_w);
        ch = pfi_clampi(sh + (pfi_rng_chance(&rng, 0.5) ? 0 : pfi_rng_between(&rng, 1, 8)), sh, max_h);
    }
    sprite_px = pfi_malloc4((size_t)sw, (size_t)sh, 4, 1);
    if (!sprite_px) return PF_ENOMEM;
    st = pfi_synth_sprite(sprite_px, sw, sh, pfi_rng_u64(&rng));
    if (st == PF_OK)
        st = pfi_synth_animate(out, sprite_px, sw, sh, cw, ch, frames, motion, pfi_rng_u64(&rng), info);
    free(sprite_px);
    return st;
}

const char *pfi_synth_motion_name(pfi_synth_motion m)
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
