/* test_synth.c - the synthetic sprite and animation generator
 * (src/train/synth.h; sprite.c, animate.c): determinism, clean frames, palette and outline
 * guarantees, and for every motion the exact relation between frames that
 * the generator declares in pfi_synth_info. */
#include "testutil.h"

#include <math.h>

#include "palette/palette.h"
#include "train/synth.h"

/* ---- helpers ---------------------------------------------------------------- */

static const uint8_t *px_at(const uint8_t *img, int w, int x, int y)
{
    return img + 4 * ((size_t)y * w + x);
}

static uint32_t rgb24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct opaque colours of img, sorted, into out (n entries of room). */
static int colours(const uint8_t *img, size_t n, uint32_t *out)
{
    int k = 0, m = 0;
    for (size_t i = 0; i < n; i++)
        if (img[4 * i + 3]) out[k++] = rgb24(img + 4 * i);
    qsort(out, (size_t)k, sizeof *out, cmp_u32);
    for (int i = 0; i < k; i++)
        if (i == 0 || out[i] != out[i - 1]) out[m++] = out[i];
    return m;
}

static void lab_of(uint32_t v, float lab[3])
{
    uint8_t q[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    pfi_srgb8_to_oklab(q, lab);
}

/* Binary alpha, and every transparent pixel exactly (0, 0, 0, 0). */
static void assert_clean(const uint8_t *img, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img + 4 * i;
        assert_true(p[3] == 0 || p[3] == 255);
        if (!p[3]) assert_true(p[0] == 0 && p[1] == 0 && p[2] == 0);
    }
}

/* The test's own alpha binarisation of an input still. */
static void binarise(const uint8_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in[4 * i + 3] >= 128) {
            memcpy(out + 4 * i, in + 4 * i, 3);
            out[4 * i + 3] = 255;
        } else {
            memset(out + 4 * i, 0, 4);
        }
    }
}

/* A canvas (ch, cw, 4) with the still (h, w, 4) at (ox, oy), mirrored when flip. */
static void place(uint8_t *canvas, int cw, int ch, const uint8_t *still, int w, int h,
                  int ox, int oy, int flip)
{
    memset(canvas, 0, (size_t)cw * ch * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int dx = ox + x, dy = oy + y;
            assert_true(dx >= 0 && dx < cw && dy >= 0 && dy < ch);
            memcpy(canvas + 4 * ((size_t)dy * cw + dx), px_at(still, w, flip ? w - 1 - x : x, y), 4);
        }
}

static int frames_equal(const pfi_anim *a, int s, int t)
{
    return !memcmp(a->frames[s].rgba, a->frames[t].rgba, (size_t)a->width * a->height * 4);
}

/* Durations in range, pts the running sum, holds byte-identical. */
static void assert_timing(const pfi_anim *a, const pfi_synth_info *in)
{
    int64_t pts = 0;
    assert_int_equal(a->count, in->frames);
    for (int t = 0; t < a->count; t++) {
        assert_in_range(a->frames[t].duration_ms, 40, 200);
        assert_int_equal(a->frames[t].duration_ms, in->duration_ms[t]);
        assert_true(a->frames[t].pts_ms == pts);
        pts += a->frames[t].duration_ms;
        if (t > 0) {
            assert_true(in->step[t] == in->step[t - 1] || in->step[t] == in->step[t - 1] + 1);
            if (in->step[t] == in->step[t - 1]) assert_true(frames_equal(a, t, t - 1));
        }
    }
}

static uint64_t g_seed = 0x5eed5eedULL;

static int randi(int lo, int hi)
{
    return lo + (int)(tu_uniform(&g_seed) * (hi - lo + 1));
}

/* ---- sprites ------------------------------------------------------------------ */

static void test_sprite_deterministic(void **state)
{
    (void)state;
    uint8_t a[48 * 48 * 4], b[48 * 48 * 4], c[48 * 48 * 4];
    for (uint64_t s = 0; s < 40; s++) {
        int w = 8 + (int)(s * 5 % 41), h = 8 + (int)(s * 11 % 41);
        size_t n = (size_t)w * h * 4;
        assert_int_equal(pfi_synth_sprite(a, w, h, s), PF_OK);
        assert_int_equal(pfi_synth_sprite(b, w, h, s), PF_OK);
        assert_memory_equal(a, b, n);
        assert_int_equal(pfi_synth_sprite(c, w, h, s + 1000), PF_OK);
        assert_memory_not_equal(a, c, n);
    }
}

/* Every guarantee of pfi_synth_sprite's doc comment, over many seeds and
 * sizes, plus the variety a training set needs. */
static void test_sprite_invariants(void **state)
{
    (void)state;
    static uint8_t img[128 * 128 * 4];
    static uint32_t cols[128 * 128];
    int few = 0, many = 0, symmetric = 0, total = 0;

    for (int it = 0; it < 600; it++) {
        int w = randi(8, 48), h = randi(8, 48), n, nb = 0, dark = 0, opaque = 0;
        uint64_t seed = tu_rand(&g_seed);
        float lab[PF_SYNTH_MAX_COLORS][3];
        if (it % 50 == 0) w = randi(4, 7), h = randi(4, 128);
        if (it % 50 == 1) w = 128, h = randi(100, 128);
        assert_int_equal(pfi_synth_sprite(img, w, h, seed), PF_OK);
        assert_clean(img, (size_t)w * h);
        n = colours(img, (size_t)w * h, cols);
        assert_in_range(n, 2, PF_SYNTH_MAX_COLORS);
        for (int i = 0; i < n; i++) {
            lab_of(cols[i], lab[i]);
            /* outline colours and fill colours are separated in L */
            assert_true(lab[i][0] < PF_SYNTH_OUTLINE_L_MAX || lab[i][0] >= PF_SYNTH_FILL_L_MIN);
            dark += lab[i][0] < PF_SYNTH_OUTLINE_L_MAX;
            for (int j = 0; j < i; j++) assert_true(pfi_oklab_dist(lab[i], lab[j]) >= PF_SYNTH_MIN_DE);
        }
        assert_true(dark >= 1 && dark <= n - dark);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *p = px_at(img, w, x, y);
                int border = 0, rank = 0, k;
                float l[3];
                if (!p[3]) continue;
                opaque++;
                border |= x > 0 && !px_at(img, w, x - 1, y)[3];
                border |= x < w - 1 && !px_at(img, w, x + 1, y)[3];
                border |= y > 0 && !px_at(img, w, x, y - 1)[3];
                border |= y < h - 1 && !px_at(img, w, x, y + 1)[3];
                if (!border) continue;
                nb++;
                /* an outline colour, in the darker half of the sprite's colours */
                lab_of(rgb24(p), l);
                assert_true(l[0] < PF_SYNTH_OUTLINE_L_MAX);
                for (k = 0; k < n; k++) rank += lab[k][0] < l[0];
                assert_true(2 * rank < n);
            }
        assert_true(opaque > 0 && nb > 0);
        /* the transparent margin: 2 px, or (side - 3) / 2 on tiny canvases */
        {
            int mx = w >= 7 ? 2 : (w - 3) / 2, my = h >= 7 ? 2 : (h - 3) / 2;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (x < mx || x >= w - mx || y < my || y >= h - my)
                        assert_int_equal(px_at(img, w, x, y)[3], 0);
        }
        /* a silhouette mirrored about some vertical axis (the mirrored
         * kinds; the shading, lit from the top left, is not symmetric) */
        {
            int sym_any = 0;
            for (int axis = 1; axis < 2 * w - 1 && !sym_any; axis++) {
                int ok = 1;
                for (int y = 0; y < h && ok; y++)
                    for (int x = 0; x < w && ok; x++) {
                        int xm = axis - x;
                        const uint8_t *p = px_at(img, w, x, y);
                        if (xm < 0 || xm >= w) ok = !p[3];
                        else ok = p[3] == px_at(img, w, xm, y)[3];
                    }
                sym_any = ok;
            }
            symmetric += sym_any;
        }
        few += n <= 4;
        many += n >= 16;
        total++;
    }
    /* variety: small and large palettes, and the mirrored kinds */
    assert_true(few >= total / 20);
    assert_true(many >= total / 20);
    assert_true(symmetric >= total / 5);
    assert_true(symmetric <= total - total / 10);
}

static void test_sprite_errors(void **state)
{
    (void)state;
    uint8_t img[130 * 130 * 4];
    assert_int_equal(pfi_synth_sprite(NULL, 16, 16, 1), PF_EINVAL);
    assert_int_equal(pfi_synth_sprite(img, 3, 16, 1), PF_EINVAL);
    assert_int_equal(pfi_synth_sprite(img, 16, 3, 1), PF_EINVAL);
    assert_int_equal(pfi_synth_sprite(img, 129, 16, 1), PF_EINVAL);
    assert_int_equal(pfi_synth_sprite(img, 16, 129, 1), PF_EINVAL);
    assert_int_equal(pfi_synth_sprite(img, 4, 4, 1), PF_OK);
    assert_int_equal(pfi_synth_sprite(img, 128, 128, 1), PF_OK);
}

/* ---- animations ------------------------------------------------------------------ */

typedef struct fixture {
    int w, h, cw, ch, frames;
    uint8_t still[48 * 48 * 4];
    uint8_t canvas[128 * 128 * 4];
    pfi_anim a;
    pfi_synth_info in;
} fixture;

/* A random sprite animated with `motion` on a random canvas. */
static void make_clip(fixture *f, pfi_synth_motion motion, int slack)
{
    f->w = randi(8, 40);
    f->h = randi(8, 40);
    f->cw = f->w + (slack ? randi(0, 40) : randi(0, 3));
    f->ch = f->h + (slack ? randi(0, 30) : randi(0, 3));
    if (slack && f->cw == f->w && f->ch == f->h) f->cw++;
    f->frames = randi(8, 32);
    assert_int_equal(pfi_synth_sprite(f->still, f->w, f->h, tu_rand(&g_seed)), PF_OK);
    assert_int_equal(pfi_synth_animate(&f->a, f->still, f->w, f->h, f->cw, f->ch, f->frames, motion,
                                      tu_rand(&g_seed), &f->in), PF_OK);
    assert_int_equal(f->a.width, f->cw);
    assert_int_equal(f->a.height, f->ch);
    assert_int_equal(f->a.count, f->frames);
    assert_int_equal((int)f->in.motion, (int)motion);
    assert_int_equal(f->in.img_w, f->w);
    assert_int_equal(f->in.img_h, f->h);
    assert_timing(&f->a, &f->in);
    for (int t = 0; t < f->frames; t++) assert_clean(f->a.frames[t].rgba, (size_t)f->cw * f->ch);
}

static int any_change(const pfi_anim *a)
{
    for (int t = 1; t < a->count; t++)
        if (!frames_equal(a, 0, t)) return 1;
    return 0;
}

static void test_translate(void **state)
{
    (void)state;
    static fixture f;
    int seen[3] = { 0, 0, 0 };
    for (int it = 0; it < 60; it++) {
        make_clip(&f, PF_SYNTH_TRANSLATE, 1);
        assert_true(f.in.variant == PF_SYNTH_V_LINEAR || f.in.variant == PF_SYNTH_V_PINGPONG ||
                    f.in.variant == PF_SYNTH_V_HOP);
        seen[f.in.variant]++;
        for (int t = 0; t < f.frames; t++) {
            const uint8_t *fr = f.a.frames[t].rgba, *f0 = f.a.frames[0].rgba;
            int ddx = f.in.dx[t] - f.in.dx[0], ddy = f.in.dy[t] - f.in.dy[0];
            /* the still itself at its declared offset */
            place(f.canvas, f.cw, f.ch, f.still, f.w, f.h, f.in.img_x + f.in.dx[t], f.in.img_y + f.in.dy[t], 0);
            assert_memory_equal(fr, f.canvas, (size_t)f.cw * f.ch * 4);
            /* frame 0 shifted by the whole-pixel offset */
            for (int y = 0; y < f.ch; y++)
                for (int x = 0; x < f.cw; x++) {
                    int sx = x - ddx, sy = y - ddy;
                    const uint8_t *p = px_at(fr, f.cw, x, y);
                    if (sx >= 0 && sx < f.cw && sy >= 0 && sy < f.ch) assert_memory_equal(p, px_at(f0, f.cw, sx, sy), 4);
                    else assert_int_equal(p[3], 0);
                }
            /* constant velocity: equal steps between non-held frames */
            if (f.in.variant == PF_SYNTH_V_LINEAR) {
                int last = f.in.step[f.frames - 1];
                assert_true(last > 0);
                assert_int_equal(f.in.dx[t] * last, f.in.dx[f.frames - 1] * f.in.step[t]);
                assert_int_equal(f.in.dy[t] * last, f.in.dy[f.frames - 1] * f.in.step[t]);
            }
            if (f.in.variant == PF_SYNTH_V_PINGPONG && t > 0)
                assert_true(abs(f.in.dx[t] - f.in.dx[t - 1]) <= 1 && abs(f.in.dy[t] - f.in.dy[t - 1]) <= 1);
        }
        assert_true(any_change(&f.a));
        pfi_anim_free(&f.a);
    }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
    /* no room to move */
    assert_int_equal(pfi_synth_animate(&f.a, f.still, 16, 16, 16, 16, 8, PF_SYNTH_TRANSLATE, 1, NULL),
                     PF_EINVAL);
    assert_int_equal(f.a.count, 0);
}

static void test_palette_cycle(void **state)
{
    (void)state;
    static fixture f;
    static uint32_t c0[128 * 128], ct[128 * 128], cs[48 * 48];
    for (int it = 0; it < 60; it++) {
        int n0, ns;
        make_clip(&f, PF_SYNTH_PALETTE_CYCLE, it & 1);
        assert_int_equal(f.in.variant, PF_SYNTH_V_CYCLE);
        assert_in_range(f.in.cycle_n, 2, PF_SYNTH_CYCLE_MAX);
        ns = colours(f.still, (size_t)f.w * f.h, cs);
        for (int i = 0; i < f.in.cycle_n; i++) {   /* cycle colours come from the still */
            uint32_t v = rgb24(f.in.cycle_rgb[i]);
            assert_non_null(bsearch(&v, cs, (size_t)ns, sizeof v, cmp_u32));
        }
        n0 = colours(f.a.frames[0].rgba, (size_t)f.cw * f.ch, c0);
        for (int t = 0; t < f.frames; t++) {
            const uint8_t *fr = f.a.frames[t].rgba, *f0 = f.a.frames[0].rgba;
            int nt = colours(fr, (size_t)f.cw * f.ch, ct);
            /* the same alpha mask and the same set of colours every frame */
            for (size_t i = 0; i < (size_t)f.cw * f.ch; i++) assert_int_equal(fr[4 * i + 3], f0[4 * i + 3]);
            assert_int_equal(nt, n0);
            assert_memory_equal(ct, c0, (size_t)n0 * sizeof *c0);
            /* and exactly the declared rotation of the still's colours */
            place(f.canvas, f.cw, f.ch, f.still, f.w, f.h, f.in.img_x, f.in.img_y, 0);
            for (size_t i = 0; i < (size_t)f.cw * f.ch; i++) {
                uint8_t *p = f.canvas + 4 * i;
                for (int k = 0; k < f.in.cycle_n && p[3]; k++)
                    if (!memcmp(p, f.in.cycle_rgb[k], 3)) {
                        memcpy(p, f.in.cycle_rgb[(k + f.in.state[t]) % f.in.cycle_n], 3);
                        break;
                    }
            }
            assert_memory_equal(fr, f.canvas, (size_t)f.cw * f.ch * 4);
        }
        assert_true(any_change(&f.a));
        pfi_anim_free(&f.a);
    }
}

static void test_flip(void **state)
{
    (void)state;
    static fixture f;
    for (int it = 0; it < 60; it++) {
        int flips = 0;
        make_clip(&f, PF_SYNTH_FLIP, it & 1);
        assert_int_equal(f.in.variant, PF_SYNTH_V_FLIP);
        for (int t = 0; t < f.frames; t++) {
            const uint8_t *fr = f.a.frames[t].rgba;
            place(f.canvas, f.cw, f.ch, f.still, f.w, f.h, f.in.img_x, f.in.img_y, f.in.state[t]);
            assert_memory_equal(fr, f.canvas, (size_t)f.cw * f.ch * 4);
            if (t > 0 && f.in.state[t] != f.in.state[t - 1]) {
                /* the frame after the flip mirrors the frame before, about the still's axis */
                const uint8_t *pr = f.a.frames[t - 1].rgba;
                flips++;
                for (int y = 0; y < f.ch; y++)
                    for (int x = 0; x < f.cw; x++) {
                        int xm = 2 * f.in.img_x + f.w - 1 - x;
                        if (xm >= 0 && xm < f.cw) assert_memory_equal(px_at(fr, f.cw, x, y), px_at(pr, f.cw, xm, y), 4);
                        else assert_int_equal(px_at(fr, f.cw, x, y)[3], 0);
                    }
            }
        }
        assert_true(flips >= 1);
        pfi_anim_free(&f.a);
    }
}

/* Pixels outside the declared region grown by 1 px never change. */
static void test_region_shift(void **state)
{
    (void)state;
    static fixture f;
    int bobs = 0, toggles = 0;
    for (int it = 0; it < 80; it++) {
        int x0, y0, x1, y1, changed = 0;
        make_clip(&f, PF_SYNTH_REGION_SHIFT, it & 1);
        assert_true(f.in.variant == PF_SYNTH_V_HEAD_BOB || f.in.variant == PF_SYNTH_V_TOGGLE);
        bobs += f.in.variant == PF_SYNTH_V_HEAD_BOB;
        toggles += f.in.variant == PF_SYNTH_V_TOGGLE;
        assert_true(f.in.region_w >= 1 && f.in.region_h >= 1);
        assert_true(f.in.region_x >= f.in.img_x && f.in.region_x + f.in.region_w <= f.in.img_x + f.w);
        assert_true(f.in.region_y >= f.in.img_y && f.in.region_y + f.in.region_h <= f.in.img_y + f.h);
        x0 = f.in.region_x - 1;
        y0 = f.in.region_y - 1;
        x1 = f.in.region_x + f.in.region_w;   /* inclusive, grown by 1 */
        y1 = f.in.region_y + f.in.region_h;
        place(f.canvas, f.cw, f.ch, f.still, f.w, f.h, f.in.img_x, f.in.img_y, 0);
        for (int t = 0; t < f.frames; t++) {
            const uint8_t *fr = f.a.frames[t].rgba;
            int diff = 0;
            for (int y = 0; y < f.ch; y++)
                for (int x = 0; x < f.cw; x++) {
                    int d = memcmp(px_at(fr, f.cw, x, y), px_at(f.canvas, f.cw, x, y), 4) != 0;
                    if (d) assert_true(x >= x0 && x <= x1 && y >= y0 && y <= y1);
                    diff |= d;
                }
            /* inactive frames show the still; active ones differ from it */
            assert_int_equal(diff, f.in.state[t]);
            changed |= diff;
            if (f.in.variant == PF_SYNTH_V_HEAD_BOB && f.in.state[t]) {
                /* the region's opaque pixels sit exactly 1 px lower */
                for (int y = f.in.region_y; y < f.in.region_y + f.in.region_h; y++)
                    for (int x = f.in.region_x; x < f.in.region_x + f.in.region_w; x++)
                        if (px_at(f.canvas, f.cw, x, y)[3])
                            assert_memory_equal(px_at(fr, f.cw, x, y + 1), px_at(f.canvas, f.cw, x, y), 4);
            }
        }
        assert_true(changed);
        pfi_anim_free(&f.a);
    }
    assert_true(bobs > 0 && toggles > 0);
}

static void test_blink(void **state)
{
    (void)state;
    static fixture f;
    int seen[4] = { 0, 0, 0, 0 };
    for (int it = 0; it < 80; it++) {
        int on = 0, off = 0;
        make_clip(&f, PF_SYNTH_BLINK, it & 1);
        assert_true(f.in.variant >= PF_SYNTH_V_HIDE_ALL && f.in.variant <= PF_SYNTH_V_SWAP);
        seen[f.in.variant - PF_SYNTH_V_HIDE_ALL]++;
        place(f.canvas, f.cw, f.ch, f.still, f.w, f.h, f.in.img_x, f.in.img_y, 0);
        for (int t = 0; t < f.frames; t++) {
            const uint8_t *fr = f.a.frames[t].rgba;
            on += f.in.state[t];
            off += !f.in.state[t];
            if (!f.in.state[t]) {
                assert_memory_equal(fr, f.canvas, (size_t)f.cw * f.ch * 4);
                continue;
            }
            for (int y = 0; y < f.ch; y++)
                for (int x = 0; x < f.cw; x++) {
                    const uint8_t *p = px_at(fr, f.cw, x, y), *s = px_at(f.canvas, f.cw, x, y);
                    int in_region = x >= f.in.region_x && x < f.in.region_x + f.in.region_w &&
                                    y >= f.in.region_y && y < f.in.region_y + f.in.region_h;
                    switch (f.in.variant) {
                    case PF_SYNTH_V_HIDE_ALL:
                        assert_int_equal(p[3], 0);
                        break;
                    case PF_SYNTH_V_FLASH_ALL:
                        assert_int_equal(p[3], s[3]);
                        if (p[3]) assert_memory_equal(p, f.in.alt_rgb, 3);
                        break;
                    case PF_SYNTH_V_HIDE_PART:
                        if (in_region) assert_int_equal(p[3], 0);
                        else assert_memory_equal(p, s, 4);
                        break;
                    default:
                        assert_int_equal(p[3], s[3]);
                        if (s[3] && !memcmp(s, f.in.from_rgb, 3)) assert_memory_equal(p, f.in.alt_rgb, 3);
                        else assert_memory_equal(p, s, 4);
                        break;
                    }
                }
        }
        assert_true(on > 0 && off > 0);
        pfi_anim_free(&f.a);
    }
    assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
}

/* A real-data-like tile: soft alpha and many colours. Alpha is made
 * binary at 128, colours are kept. */
static void test_tile(void **state)
{
    (void)state;
    static uint8_t tile[16 * 16 * 4], bin[16 * 16 * 4];
    static uint32_t cs[16 * 16], ct[128 * 128];
    static uint8_t canvas[40 * 30 * 4];
    int ns, motions[5] = { 0, 0, 0, 0, 0 };

    for (int i = 0; i < 16 * 16; i++) {
        for (int k = 0; k < 3; k++) tile[4 * i + k] = (uint8_t)tu_rand(&g_seed);
        tile[4 * i + 3] = (uint8_t)(i % 5 == 0 ? 127 : i % 5 == 1 ? 128 : 255 - (i % 7));
    }
    binarise(tile, bin, 16 * 16);
    ns = colours(bin, 16 * 16, cs);
    for (int it = 0; it < 60; it++) {
        pfi_anim a = { 0 };
        pfi_synth_info in;
        int cw = it % 3 ? 40 : 16, ch = it % 3 ? 30 : 16;
        assert_int_equal(pfi_synth_animate(&a, tile, 16, 16, cw, ch, 12, PF_SYNTH_ANY, (uint64_t)it * 77, &in), PF_OK);
        assert_true(in.motion >= PF_SYNTH_TRANSLATE && in.motion < PF_SYNTH_ANY);
        motions[in.motion]++;
        if (cw == 16) assert_true(in.motion != PF_SYNTH_TRANSLATE);
        assert_timing(&a, &in);
        for (int t = 0; t < a.count; t++) {
            int nt;
            assert_clean(a.frames[t].rgba, (size_t)cw * ch);
            nt = colours(a.frames[t].rgba, (size_t)cw * ch, ct);
            for (int i = 0; i < nt; i++) {   /* the tile's own colours (FLASH may add one) */
                int known = bsearch(&ct[i], cs, (size_t)ns, sizeof *cs, cmp_u32) != NULL;
                if (!known) assert_true(in.variant == PF_SYNTH_V_FLASH_ALL && ct[i] == rgb24(in.alt_rgb));
            }
        }
        /* an unchanged frame is the binarised tile at its place */
        if (in.motion == PF_SYNTH_BLINK || in.motion == PF_SYNTH_REGION_SHIFT) {
            for (int t = 0; t < a.count; t++)
                if (!in.state[t]) {
                    place(canvas, cw, ch, bin, 16, 16, in.img_x, in.img_y, 0);
                    assert_memory_equal(a.frames[t].rgba, canvas, (size_t)cw * ch * 4);
                }
        }
        pfi_anim_free(&a);
    }
    for (int m = 0; m < 5; m++) assert_true(motions[m] > 0);
}

static void test_clip(void **state)
{
    (void)state;
    int motions[5] = { 0, 0, 0, 0, 0 }, holds = 0, constant = 0, varying = 0;
    for (uint64_t s = 0; s < 150; s++) {
        pfi_anim a = { 0 }, b = { 0 }, c = { 0 };
        pfi_synth_info in, in2;
        int mw = 16 + (int)(s * 37 % 113), mh = 16 + (int)(s * 53 % 113), same = 1;
        assert_int_equal(pfi_synth_clip(&a, mw, mh, 0, s, &in), PF_OK);
        assert_true(a.width <= mw && a.height <= mh);
        assert_in_range(a.count, 8, 32);
        assert_timing(&a, &in);
        motions[in.motion]++;
        holds += in.held > 0;
        for (int t = 1; t < a.count; t++) same &= a.frames[t].duration_ms == a.frames[0].duration_ms;
        constant += same;
        varying += !same;
        for (int t = 0; t < a.count; t++) assert_clean(a.frames[t].rgba, (size_t)a.width * a.height);
        /* the same seed gives the same clip, another seed another */
        assert_int_equal(pfi_synth_clip(&b, mw, mh, 0, s, &in2), PF_OK);
        assert_int_equal(b.count, a.count);
        assert_int_equal(b.width, a.width);
        assert_int_equal(b.height, a.height);
        assert_memory_equal(&in, &in2, sizeof in);
        for (int t = 0; t < a.count; t++) {
            assert_int_equal(a.frames[t].duration_ms, b.frames[t].duration_ms);
            assert_memory_equal(a.frames[t].rgba, b.frames[t].rgba, (size_t)a.width * a.height * 4);
        }
        assert_int_equal(pfi_synth_clip(&c, mw, mh, 0, s + 7777, NULL), PF_OK);
        assert_true(c.width != a.width || c.height != a.height || c.count != a.count ||
                    memcmp(c.frames[0].rgba, a.frames[0].rgba, (size_t)a.width * a.height * 4));
        pfi_anim_free(&a);
        pfi_anim_free(&b);
        pfi_anim_free(&c);
    }
    for (int m = 0; m < 5; m++) assert_true(motions[m] > 0);
    assert_true(holds > 0 && constant > 0 && varying > 0);
    {   /* explicit frame counts and the smallest canvas */
        pfi_anim a = { 0 };
        assert_int_equal(pfi_synth_clip(&a, 4, 4, 1, 3, NULL), PF_OK);
        assert_int_equal(a.count, 1);
        pfi_anim_free(&a);
        assert_int_equal(pfi_synth_clip(&a, 128, 128, 64, 3, NULL), PF_OK);
        assert_int_equal(a.count, 64);
        pfi_anim_free(&a);
        assert_int_equal(pfi_synth_clip(&a, 5, 4, 16, 11, NULL), PF_OK);
        pfi_anim_free(&a);
    }
}

static void test_animate_errors(void **state)
{
    (void)state;
    uint8_t img[16 * 16 * 4];
    pfi_anim a = { 0 };
    assert_int_equal(pfi_synth_sprite(img, 16, 16, 5), PF_OK);
    assert_int_equal(pfi_synth_animate(NULL, img, 16, 16, 16, 16, 8, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, NULL, 16, 16, 16, 16, 8, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 3, 16, 16, 16, 8, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 15, 16, 8, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 129, 16, 8, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 16, 16, 0, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 16, 16, 65, PF_SYNTH_FLIP, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 16, 16, 8, (pfi_synth_motion)99, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 16, 16, 8, (pfi_synth_motion)-1, 1, NULL), PF_EINVAL);
    assert_int_equal(a.count, 0);
    assert_null(a.frames);
    assert_int_equal(pfi_synth_clip(NULL, 16, 16, 8, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_clip(&a, 3, 16, 8, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_clip(&a, 16, 200, 8, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_clip(&a, 16, 16, -1, 1, NULL), PF_EINVAL);
    assert_int_equal(pfi_synth_clip(&a, 16, 16, 65, 1, NULL), PF_EINVAL);
    /* a single frame is fine */
    assert_int_equal(pfi_synth_animate(&a, img, 16, 16, 20, 16, 1, PF_SYNTH_ANY, 1, NULL), PF_OK);
    assert_int_equal(a.count, 1);
    pfi_anim_free(&a);
    assert_string_equal(pfi_synth_motion_name(PF_SYNTH_PALETTE_CYCLE), "palette_cycle");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sprite_deterministic),
        cmocka_unit_test(test_sprite_invariants),
        cmocka_unit_test(test_sprite_errors),
        cmocka_unit_test(test_translate),
        cmocka_unit_test(test_palette_cycle),
        cmocka_unit_test(test_flip),
        cmocka_unit_test(test_region_shift),
        cmocka_unit_test(test_blink),
        cmocka_unit_test(test_tile),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_animate_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
