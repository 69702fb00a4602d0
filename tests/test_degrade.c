/* test_degrade.c - the training degradation pipeline (train/degrade.h) and
 * its codec round trips (train/codec.h): determinism, the evaluation set's
 * geometry convention, holds, sizes, codec fidelity, GIF palette limits,
 * 4:2:0 chroma, and the parameter ranges of every draw kind. Expected
 * values come from the construction of each clip, never from a run. */
#include "testutil.h"

#include <math.h>

#include "train/codec.h"
#include "train/degrade.h"

/* ---- clips ------------------------------------------------------------------ */

static const uint8_t PAL[6][3] = {
    {20, 30, 200}, {230, 200, 40}, {10, 10, 10}, {240, 240, 240}, {200, 40, 60}, {40, 180, 90}};

/* A w x h clip of n frames: a 2-pixel transparent border, inside it a
 * checker of 2x3-pixel blocks of PAL colours that moves one pixel right per
 * frame, with a transparent hole every 7th block. Binary alpha, transparent
 * pixels (0, 0, 0, 0). */
static void make_clip(pfi_anim *a, int w, int h, int n)
{
    uint8_t *f = calloc((size_t)w * h * 4, 1);
    assert_non_null(f);
    assert_int_equal(pfi_anim_init(a, w, h), PF_OK);
    for (int t = 0; t < n; t++) {
        memset(f, 0, (size_t)w * h * 4);
        for (int y = 2; y < h - 2; y++)
            for (int x = 2; x < w - 2; x++) {
                int bx = (x + t) / 2, by = y / 3, k = bx + 3 * by;
                uint8_t *p = f + ((size_t)y * w + x) * 4;
                if (k % 7 == 6) continue;
                memcpy(p, PAL[k % 6], 3);
                p[3] = 255;
            }
        assert_int_equal(pfi_anim_push(a, f, 80 + 10 * t), PF_OK);
    }
    free(f);
}

/* A clip of random opaque colours with random transparent pixels. */
static void make_random_clip(pfi_anim *a, int w, int h, int n, uint64_t seed)
{
    uint8_t *f = malloc((size_t)w * h * 4);
    assert_non_null(f);
    assert_int_equal(pfi_anim_init(a, w, h), PF_OK);
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < w * h; i++) {
            uint8_t *p = f + (size_t)i * 4;
            if (tu_uniform(&seed) < 0.2) {
                p[0] = p[1] = p[2] = p[3] = 0;
                continue;
            }
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)(tu_rand(&seed) & 255);
            p[3] = 255;
        }
        assert_int_equal(pfi_anim_push(a, f, 100), PF_OK);
    }
    free(f);
}

/* Parameters with every effect off: nearest, no jitter/hold/blur/noise,
 * transparent background, no codec. */
static pfi_degrade plain(double scale, double px, double py)
{
    pfi_degrade d;
    pfi_degrade_draw(&d, PF_DKIND_ANY, 1);
    d.scale = scale;
    d.phase_x = px;
    d.phase_y = py;
    d.kernel = PF_RS_NEAREST;
    d.jitter_x = d.jitter_y = 0.0;
    d.hold = d.hold_max = 1;
    d.blur = d.noise = 0.0;
    d.gamma = d.exposure = 1.0;
    d.bg = PF_DBG_TRANSPARENT;
    d.chroma420 = 0;
    d.codec = PF_CODEC_NONE;
    return d;
}

static void set_solid(pfi_degrade *d, int r, int g, int b)
{
    d->bg = PF_DBG_SOLID;
    d->bg_rgb[0][0] = (uint8_t)r;
    d->bg_rgb[0][1] = (uint8_t)g;
    d->bg_rgb[0][2] = (uint8_t)b;
}

static const uint8_t *pxl(const pfi_anim *a, int t, int x, int y)
{
    return a->frames[t].rgba + ((size_t)y * a->width + x) * 4;
}

/* RGB PSNR of frame b against frame a over their top-left w x h pixels
 * (row lengths wa, wb pixels), dB; 99 when equal. */
static double psnr2(const uint8_t *a, int wa, const uint8_t *b, int wb, int w, int h)
{
    double se = 0.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double d = (double)a[((size_t)y * wa + x) * 4 + c] - b[((size_t)y * wb + x) * 4 + c];
                se += d * d;
            }
    if (se == 0.0) return 99.0;
    return 10.0 * log10(255.0 * 255.0 / (se / (3.0 * w * h)));
}

static int anims_equal(const pfi_anim *a, const pfi_anim *b)
{
    if (a->width != b->width || a->height != b->height || a->count != b->count) return 0;
    for (int t = 0; t < a->count; t++)
        if (a->frames[t].duration_ms != b->frames[t].duration_ms ||
            memcmp(a->frames[t].rgba, b->frames[t].rgba, (size_t)a->width * a->height * 4))
            return 0;
    return 1;
}

/* ---- determinism ------------------------------------------------------------ */

static void test_determinism(void **state)
{
    pfi_anim clean;
    (void)state;
    make_clip(&clean, 20, 16, 3);
    for (int kind = 0; kind < PF_DKIND_COUNT; kind++) {
        pfi_degrade d1, d2, d3;
        pfi_anim o1, o2, o3;
        pfi_degrade_geom g1, g2;
        uint64_t seed = 1000 + (uint64_t)kind;
        pfi_degrade_draw(&d1, kind, seed);
        pfi_degrade_draw(&d2, kind, seed);
        assert_memory_equal(&d1, &d2, sizeof d1);
        /* every stochastic stage on, whatever the kind drew */
        d1.noise = 2.0;
        d1.jitter_x = d1.jitter_y = 0.3;
        d1.scale = fmin(d1.scale, 6.0);
        d2 = d1;
        assert_int_equal(pfi_degrade_clip(&d1, &clean, &o1, &g1, NULL), PF_OK);
        assert_int_equal(pfi_degrade_clip(&d2, &clean, &o2, &g2, NULL), PF_OK);
        assert_true(anims_equal(&o1, &o2));
        assert_int_equal(g1.n, g2.n);
        assert_memory_equal(g1.src, g2.src, (size_t)g1.n * sizeof *g1.src);
        assert_memory_equal(g1.ox, g2.ox, (size_t)g1.n * sizeof *g1.ox);
        /* another seed: other parameters and other pixels */
        pfi_degrade_draw(&d3, kind, seed + 77);
        assert_true(memcmp(&d1, &d3, sizeof d1) != 0);
        d3.noise = 2.0;
        d3.scale = fmin(d3.scale, 6.0);
        assert_int_equal(pfi_degrade_clip(&d3, &clean, &o3, NULL, NULL), PF_OK);
        assert_false(anims_equal(&o1, &o3));
        /* the same parameters with only the seed changed: other noise */
        pfi_anim_free(&o3);
        d3 = d1;
        d3.seed ^= 1;
        assert_int_equal(pfi_degrade_clip(&d3, &clean, &o3, NULL, NULL), PF_OK);
        assert_false(anims_equal(&o1, &o3));
        pfi_anim_free(&o1);
        pfi_anim_free(&o2);
        pfi_anim_free(&o3);
        pfi_degrade_geom_free(&g1);
        pfi_degrade_geom_free(&g2);
    }
    pfi_anim_free(&clean);
}

/* ---- geometry ------------------------------------------------------------------ */

/* Integer scale 4, nearest, no effects: native pixel (i, j) is exactly the
 * 4x4 block starting at input ((j + px) * 4, (i + py) * 4), and input pixels
 * outside the native image are transparent (or the solid background). */
static void test_nearest_integer_blocks(void **state)
{
    static const double phases[4][2] = {{0.0, 0.0}, {0.25, -0.5}, {-0.25, 0.5}, {0.5, 0.25}};
    pfi_anim clean;
    (void)state;
    make_random_clip(&clean, 10, 8, 2, 99);
    for (int k = 0; k < 4; k++)
        for (int solid = 0; solid < 2; solid++) {
            pfi_degrade d = plain(4.0, phases[k][0], phases[k][1]);
            pfi_anim out;
            pfi_degrade_geom g;
            int ox = (int)lround(phases[k][0] * 4), oy = (int)lround(phases[k][1] * 4);
            if (solid) set_solid(&d, 255, 0, 255);
            assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
            assert_int_equal(out.width, 40);
            assert_int_equal(out.height, 32);
            assert_int_equal(out.count, 2);
            for (int t = 0; t < 2; t++) {
                assert_true(g.ox[t] == phases[k][0] && g.oy[t] == phases[k][1]);
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 40; x++) {
                        /* which native pixel's block holds input (x, y) */
                        int j = (int)floor((double)(x - ox) / 4), i = (int)floor((double)(y - oy) / 4);
                        uint8_t want[4] = {0, 0, 0, 0};
                        const uint8_t *got = pxl(&out, t, x, y);
                        if (i >= 0 && i < 8 && j >= 0 && j < 10)
                            memcpy(want, pxl(&clean, t, j, i), 4);
                        if (solid && want[3] == 0) {
                            want[0] = 255;
                            want[1] = 0;
                            want[2] = 255;
                        }
                        if (solid) want[3] = 255;
                        if (memcmp(got, want, 4)) {
                            fprintf(stderr, "phase %g,%g solid %d frame %d px %d,%d: got %d %d %d %d want "
                                    "%d %d %d %d\n", phases[k][0], phases[k][1], solid, t, x, y,
                                    got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
                            fail();
                        }
                    }
            }
            pfi_anim_free(&out);
            pfi_degrade_geom_free(&g);
        }
    pfi_anim_free(&clean);
}

/* Non-integer nearest scales with phases and jitter: the input pixel under
 * the centre of native pixel (i, j), x = (j + 0.5 + ox) * s, has that
 * pixel's colour in every frame (with the frame's src and origin). */
static void test_geometry_nonint(void **state)
{
    static const double cases[][5] = {   /* scale, phase x, phase y, jitter x, jitter y */
        {5.37, 0.23, -0.41, 0.0, 0.0}, {3.3, -0.5, 0.49, 0.35, 0.2},
        {7.77, 0.1, 0.3, 0.3, 0.35},   {2.45, 0.44, -0.12, 0.25, 0.0},
        {11.6, -0.3, -0.3, 0.1, 0.3}};
    pfi_anim clean;
    (void)state;
    make_random_clip(&clean, 12, 9, 4, 5);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const double *c = cases[k];
        pfi_degrade d = plain(c[0], c[1], c[2]);
        pfi_anim out;
        pfi_degrade_geom g;
        int jittered = 0;
        d.jitter_x = c[3];
        d.jitter_y = c[4];
        d.hold = 1;
        d.hold_max = 2;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
        assert_int_equal(out.count, g.n);
        for (int t = 0; t < g.n; t++) {
            /* the documented two-sine drift (degrade.h, degrade.py jitter_track) */
            for (int a = 0; a < 2; a++) {
                double amp = a ? d.jitter_y : d.jitter_x, ph = a ? d.phase_y : d.phase_x;
                double want = ph + amp * (0.7 * sin(2 * M_PI * t / d.jit_period[a][0] + d.jit_theta[a][0]) +
                                          0.3 * sin(2 * M_PI * t / d.jit_period[a][1] + d.jit_theta[a][1]));
                assert_true(fabs((a ? g.oy[t] : g.ox[t]) - want) < 1e-9);
            }
            assert_true(fabs(g.ox[t] - c[1]) <= c[3] + 1e-12);
            assert_true(fabs(g.oy[t] - c[2]) <= c[4] + 1e-12);
            if (g.ox[t] != c[1] || g.oy[t] != c[2]) jittered = 1;
            for (int i = 0; i < 9; i++)
                for (int j = 0; j < 12; j++) {
                    int x = (int)floor((j + 0.5 + g.ox[t]) * c[0]);
                    int y = (int)floor((i + 0.5 + g.oy[t]) * c[0]);
                    if (x < 0 || y < 0 || x >= out.width || y >= out.height) continue;
                    assert_memory_equal(pxl(&out, t, x, y), pxl(&clean, g.src[t], j, i), 4);
                }
        }
        assert_int_equal(jittered, c[3] > 0 || c[4] > 0);
        pfi_anim_free(&out);
        pfi_degrade_geom_free(&g);
    }
    pfi_anim_free(&clean);
}

/* An opaque constant image stays that constant inside for every kernel
 * (weights sum to 1), with blur too. */
static void test_kernels_constant(void **state)
{
    pfi_anim clean;
    uint8_t *f = malloc(16 * 16 * 4);
    (void)state;
    assert_non_null(f);
    for (int i = 0; i < 256; i++) {
        f[i * 4] = 37;
        f[i * 4 + 1] = 150;
        f[i * 4 + 2] = 222;
        f[i * 4 + 3] = 255;
    }
    assert_int_equal(pfi_anim_init(&clean, 16, 16), PF_OK);
    assert_int_equal(pfi_anim_push(&clean, f, 100), PF_OK);
    for (int kern = PF_RS_NEAREST; kern <= PF_RS_LANCZOS3; kern++)
        for (int b = 0; b < 2; b++) {
            pfi_degrade d = plain(4.37, 0.31, -0.22);
            pfi_anim out;
            d.kernel = (pfi_resample_kind)kern;
            d.blur = b ? 0.3 : 0.0;
            assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_OK);
            /* away from the image edge by the kernel and blur reach */
            for (int y = 20; y < out.height - 20; y++)
                for (int x = 20; x < out.width - 20; x++) {
                    const uint8_t *p = pxl(&out, 0, x, y);
                    assert_true(abs(p[0] - 37) <= 1 && abs(p[1] - 150) <= 1 && abs(p[2] - 222) <= 1);
                    assert_int_equal(p[3], 255);
                }
            pfi_anim_free(&out);
        }
    free(f);
    pfi_anim_free(&clean);
}

/* ---- timing and size ------------------------------------------------------------ */

static void test_hold(void **state)
{
    pfi_anim clean;
    (void)state;
    make_clip(&clean, 14, 12, 5);
    {
        pfi_degrade d = plain(3.5, 0.1, 0.2);
        pfi_anim out;
        pfi_degrade_geom g;
        int total = 0;
        d.hold = d.hold_max = 3;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
        assert_int_equal(g.n, 15);
        assert_int_equal(out.count, 15);
        for (int t = 0; t < 15; t++) {
            assert_int_equal(g.src[t], t / 3);
            /* identical clean frame, no jitter or noise: identical output */
            if (t % 3)
                assert_memory_equal(out.frames[t].rgba, out.frames[t - 1].rgba,
                                    (size_t)out.width * out.height * 4);
            assert_true(out.frames[t].duration_ms == 41 || out.frames[t].duration_ms == 42);
            total += out.frames[t].duration_ms;
        }
        assert_int_equal(total, (int)lround(15 * 1000.0 / 24.0));
        assert_false(memcmp(out.frames[2].rgba, out.frames[3].rgba,
                            (size_t)out.width * out.height * 4) == 0);
        pfi_anim_free(&out);
        pfi_degrade_geom_free(&g);
    }
    {   /* holds of 2..3, varying; without holds the clean durations stay */
        pfi_degrade d = plain(3.5, 0.1, 0.2);
        pfi_anim out;
        pfi_degrade_geom g;
        int run = 1, seen2 = 0, seen3 = 0;
        d.hold = 2;
        d.hold_max = 3;
        d.jitter_x = 0.2;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
        assert_true(g.n >= 10 && g.n <= 15);
        assert_int_equal(g.src[0], 0);
        for (int t = 1; t <= g.n; t++) {
            if (t < g.n && g.src[t] == g.src[t - 1]) {
                run++;
                continue;
            }
            assert_true(run == 2 || run == 3);
            seen2 |= run == 2;
            seen3 |= run == 3;
            if (t < g.n) assert_int_equal(g.src[t], g.src[t - 1] + 1);
            run = 1;
        }
        assert_int_equal(g.src[g.n - 1], 4);
        (void)seen2;
        (void)seen3;
        pfi_anim_free(&out);
        pfi_degrade_geom_free(&g);
        d.hold = d.hold_max = 1;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
        assert_int_equal(out.count, 5);
        for (int t = 0; t < 5; t++) assert_int_equal(out.frames[t].duration_ms, 80 + 10 * t);
        pfi_anim_free(&out);
        pfi_degrade_geom_free(&g);
    }
    pfi_anim_free(&clean);
}

static void test_output_size(void **state)
{
    static const double scales[] = {2.0, 2.5, 3.3, 4.75, 7.77, 12.0};
    static const pfi_codec_kind codecs[] = {PF_CODEC_NONE, PF_CODEC_H264, PF_CODEC_MJPEG,
                                           PF_CODEC_WEBP, PF_CODEC_GIF};
    pfi_anim clean;
    (void)state;
    make_clip(&clean, 13, 11, 2);
    for (size_t si = 0; si < sizeof scales / sizeof *scales; si++)
        for (size_t ci = 0; ci < sizeof codecs / sizeof *codecs; ci++) {
            pfi_degrade d = plain(scales[si], 0.0, 0.0);
            pfi_anim out;
            pfi_degrade_geom g;
            int video = codecs[ci] == PF_CODEC_H264 || codecs[ci] == PF_CODEC_MJPEG;
            /* round half to even, as Python's round() in build.py */
            int ew = (int)nearbyint(13 * scales[si]), eh = (int)nearbyint(11 * scales[si]);
            d.codec = codecs[ci];
            d.quality = codecs[ci] == PF_CODEC_MJPEG ? 4 : codecs[ci] == PF_CODEC_WEBP ? 80 : 23;
            set_solid(&d, 0, 255, 0);
            if (video) {
                ew += ew & 1;
                eh += eh & 1;
            }
            assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
            assert_int_equal(out.width, ew);
            assert_int_equal(out.height, eh);
            assert_int_equal(g.in_w, ew);
            assert_int_equal(g.in_h, eh);
            assert_int_equal(out.count, 2);
            if (video) assert_true(out.width % 2 == 0 && out.height % 2 == 0);
            pfi_anim_free(&out);
            pfi_degrade_geom_free(&g);
        }
    {   /* 13 * 2.5 = 32.5 rounds to 32 (even), as build.py's canvas_nominal */
        pfi_degrade d = plain(2.5, 0.0, 0.0);
        pfi_anim out;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_OK);
        assert_int_equal(out.width, 32);
        pfi_anim_free(&out);
    }
    pfi_anim_free(&clean);
}

/* ---- codecs -------------------------------------------------------------------- */

/* Luma (BT.601 weights) PSNR of frame b against frame a, as psnr2. */
static double psnr_luma(const uint8_t *a, int wa, const uint8_t *b, int wb, int w, int h)
{
    double se = 0.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = a + ((size_t)y * wa + x) * 4, *q = b + ((size_t)y * wb + x) * 4;
            double d = 0.299 * (p[0] - q[0]) + 0.587 * (p[1] - q[1]) + 0.114 * (p[2] - q[2]);
            se += d * d;
        }
    if (se == 0.0) return 99.0;
    return 10.0 * log10(255.0 * 255.0 / (se / ((double)w * h)));
}

/* Renders clean with d and without its codec, and checks that every frame
 * comes back, in order, the durations kept, the pixels changed, and:
 * luma PSNR against the pre-codec frames above min_db, and RGB PSNR above
 * min_db against the pre-codec frames put through a plain 4:2:0 round trip
 * (matrix m, full range or not): 4:2:0 alone costs saturated pixel-art
 * edges far more than 30 dB (ffmpeg's libx264 the same), so the codec's
 * own loss is measured beyond it. Returns the mean RGB PSNR. */
static double codec_round_trip(const pfi_anim *clean, pfi_degrade d, double min_db, pfi_yuv_matrix m,
                               int full)
{
    pfi_degrade raw = d;
    pfi_anim a, b;
    double sum = 0.0, sum_raw = 0.0;
    int changed = 0;
    uint8_t *ref;
    size_t fb;
    raw.codec = PF_CODEC_NONE;
    assert_int_equal(pfi_degrade_clip(&raw, clean, &a, NULL, NULL), PF_OK);
    assert_int_equal(pfi_degrade_clip(&d, clean, &b, NULL, NULL), PF_OK);
    /* video pads the canvas to even; the shared area renders the same */
    assert_true(b.width - a.width >= 0 && b.width - a.width <= 1);
    assert_true(b.height - a.height >= 0 && b.height - a.height <= 1);
    assert_int_equal(a.count, b.count);
    fb = (size_t)a.width * a.height * 4;
    ref = malloc(fb * (size_t)a.count);
    assert_non_null(ref);
    for (int t = 0; t < a.count; t++) memcpy(ref + (size_t)t * fb, a.frames[t].rgba, fb);
    assert_int_equal(pfi_codec_chroma420(ref, a.count, a.width, a.height, m, full), PF_OK);
    for (int t = 0; t < a.count; t++) {
        const uint8_t *pa = a.frames[t].rgba, *pb = b.frames[t].rgba;
        double py = psnr_luma(pa, a.width, pb, b.width, a.width, a.height);
        double p = psnr2(ref + (size_t)t * fb, a.width, pb, b.width, a.width, a.height);
        if (p < min_db || py < min_db)
            fprintf(stderr, "codec %d frame %d: PSNR %.2f dB (after 4:2:0), luma %.2f dB\n",
                    d.codec, t, p, py);
        assert_true(p > min_db);
        assert_true(py > min_db);
        sum += p;
        sum_raw += psnr2(pa, a.width, pb, b.width, a.width, a.height);
        changed |= p < 99.0;
        /* in order: nearer its own frame than the next clean frame's */
        if (t + 1 < a.count && memcmp(pa, a.frames[t + 1].rgba, fb))
            assert_true(py > psnr_luma(a.frames[t + 1].rgba, a.width, pb, b.width, a.width,
                                       a.height));
        assert_int_equal(b.frames[t].duration_ms, a.frames[t].duration_ms);
    }
    assert_true(changed);
    fprintf(stderr, "codec %d quality %d: mean PSNR %.2f dB after 4:2:0, %.2f dB raw, %d frames\n",
            d.codec, d.quality, sum / a.count, sum_raw / a.count, a.count);
    sum /= a.count;
    free(ref);
    pfi_anim_free(&a);
    pfi_anim_free(&b);
    return sum;
}

static void test_h264(void **state)
{
    pfi_anim clean;
    pfi_degrade d = plain(4.75, 0.2, -0.3);
    (void)state;
    make_clip(&clean, 24, 20, 6);     /* 114 x 95 -> 114 x 96 */
    set_solid(&d, 255, 0, 255);
    d.codec = PF_CODEC_H264;
    d.quality = 18;
    for (int preset = 0; preset < 3; preset++) {
        d.h264_preset = preset;
        d.yuv709 = preset == 1;
        codec_round_trip(&clean, d, 30.0, d.yuv709 ? PF_YUV_BT709 : PF_YUV_BT601, 0);
    }
    /* held frames and a worse CRF: still every frame, in order */
    d.hold = d.hold_max = 3;
    d.quality = 32;
    d.h264_preset = 2;
    {
        double hi = codec_round_trip(&clean, d, 22.0, PF_YUV_BT601, 0);
        d.quality = 18;
        assert_true(codec_round_trip(&clean, d, 30.0, PF_YUV_BT601, 0) > hi);   /* CRF 18 beats CRF 32 */
    }
    pfi_anim_free(&clean);
}

static void test_mjpeg(void **state)
{
    pfi_anim clean;
    pfi_degrade d = plain(3.3, -0.1, 0.4);
    double q2, q12;
    (void)state;
    make_clip(&clean, 24, 20, 4);
    set_solid(&d, 0, 0, 0);
    d.codec = PF_CODEC_MJPEG;
    d.quality = 2;
    q2 = codec_round_trip(&clean, d, 30.0, PF_YUV_BT601, 1);
    d.quality = 12;
    q12 = codec_round_trip(&clean, d, 20.0, PF_YUV_BT601, 1);
    assert_true(q2 > q12);
    pfi_anim_free(&clean);
}

static void test_webp(void **state)
{
    pfi_anim clean, a, b;
    pfi_degrade d = plain(3.7, 0.3, 0.1);
    (void)state;
    make_clip(&clean, 24, 20, 4);
    d.codec = PF_CODEC_WEBP;
    d.quality = 90;
    set_solid(&d, 128, 128, 128);
    codec_round_trip(&clean, d, 30.0, PF_YUV_BT601, 0);
    /* transparent background: alpha kept exactly (lossless alpha), colour lossy */
    d.bg = PF_DBG_TRANSPARENT;
    d.quality = 50;
    {
        pfi_degrade raw = d;
        raw.codec = PF_CODEC_NONE;
        assert_int_equal(pfi_degrade_clip(&raw, &clean, &a, NULL, NULL), PF_OK);
        assert_int_equal(pfi_degrade_clip(&d, &clean, &b, NULL, NULL), PF_OK);
    }
    assert_int_equal(a.count, b.count);
    for (int t = 0; t < a.count; t++) {
        double se = 0.0;
        int n = 0, transparent = 0;
        for (size_t i = 0; i < (size_t)a.width * a.height; i++) {
            const uint8_t *p = a.frames[t].rgba + i * 4, *q = b.frames[t].rgba + i * 4;
            assert_int_equal(p[3], q[3]);
            if (!q[3]) {
                assert_true(q[0] == 0 && q[1] == 0 && q[2] == 0);
                transparent++;
                continue;
            }
            {
                double dy = 0.299 * (p[0] - q[0]) + 0.587 * (p[1] - q[1]) + 0.114 * (p[2] - q[2]);
                se += dy * dy;
            }
            n++;
        }
        assert_true(transparent > 0 && n > 0);
        /* luma of the opaque pixels (4:2:0 costs saturated edges more) */
        assert_true(10.0 * log10(255.0 * 255.0 / (se / n + 1e-9)) > 25.0);
    }
    pfi_anim_free(&a);
    pfi_anim_free(&b);
    pfi_anim_free(&clean);
}

/* Distinct RGBA values of one frame, at most 257 counted. */
static int distinct_colours(const uint8_t *rgba, size_t npx)
{
    uint32_t seen[257];
    int n = 0;
    for (size_t i = 0; i < npx; i++) {
        uint32_t v;
        int k;
        memcpy(&v, rgba + i * 4, 4);
        for (k = 0; k < n && seen[k] != v; k++) {}
        if (k == n) {
            if (n == 257) return n;
            seen[n++] = v;
        }
    }
    return n;
}

static void test_gif(void **state)
{
    static const int colours[] = {2, 16, 64, 256};
    pfi_anim clean;
    (void)state;
    make_clip(&clean, 24, 20, 3);
    for (int ci = 0; ci < 4; ci++)
        for (int dither = 0; dither <= PF_GIF_DITHER_FS; dither++)
            for (int per_frame = 0; per_frame < 2; per_frame++)
                for (int transp = 0; transp < 2; transp++) {
                    pfi_degrade d = plain(4.4, 0.2, 0.2);
                    pfi_anim out;
                    d.kernel = PF_RS_BICUBIC;    /* soft alpha edges and many colours */
                    d.blur = 0.2;
                    d.noise = 6.0;
                    if (!transp) set_solid(&d, 255, 0, 255);
                    d.codec = PF_CODEC_GIF;
                    d.gif_colors = colours[ci];
                    d.gif_dither = dither;
                    d.gif_per_frame = per_frame;
                    assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_OK);
                    for (int t = 0; t < out.count; t++) {
                        const uint8_t *f = out.frames[t].rgba;
                        size_t npx = (size_t)out.width * out.height;
                        int nc = distinct_colours(f, npx), has_t = 0;
                        assert_true(nc <= colours[ci]);
                        for (size_t i = 0; i < npx; i++) {
                            assert_true(f[i * 4 + 3] == 0 || f[i * 4 + 3] == 255);
                            if (!f[i * 4 + 3]) {
                                assert_true(!f[i * 4] && !f[i * 4 + 1] && !f[i * 4 + 2]);
                                has_t = 1;
                            }
                        }
                        assert_int_equal(has_t, transp);
                        if (colours[ci] >= 16) assert_true(nc >= 8);   /* the palette is used */
                    }
                    pfi_anim_free(&out);
                }
    pfi_anim_free(&clean);
}

/* Direct codec call: well-separated colours, no more than the palette
 * holds, come back exactly without dithering; dithering a smooth ramp
 * with a small palette gives a closer local mean than plain mapping. */
static void test_gif_exact_and_dither(void **state)
{
    const int w = 64, h = 16;
    uint8_t *img = malloc((size_t)w * h * 4), *ref = malloc((size_t)w * h * 4);
    (void)state;
    assert_non_null(img);
    assert_non_null(ref);
    for (int i = 0; i < w * h; i++) {
        int k = (i / 5) % 7;
        uint8_t *p = ref + (size_t)i * 4;
        if (k == 6) {
            memset(p, 0, 4);
            continue;
        }
        memcpy(p, PAL[k], 3);
        p[3] = 255;
    }
    memcpy(img, ref, (size_t)w * h * 4);
    assert_int_equal(pfi_codec_gif(img, 1, w, h, 8, PF_GIF_DITHER_NONE, 2, 0), PF_OK);
    assert_memory_equal(img, ref, (size_t)w * h * 4);

    /* a grey ramp, 4 colours: error diffusion keeps column means closer */
    for (int dither = PF_GIF_DITHER_BAYER4; dither <= PF_GIF_DITHER_FS; dither++) {
        double err_plain = 0.0, err_dith = 0.0;
        for (int pass = 0; pass < 2; pass++) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    uint8_t *p = img + ((size_t)y * w + x) * 4;
                    p[0] = p[1] = p[2] = (uint8_t)(x * 4);
                    p[3] = 255;
                }
            assert_int_equal(pfi_codec_gif(img, 1, w, h, 4, pass ? dither : PF_GIF_DITHER_NONE, 1, 0),
                             PF_OK);
            for (int x = 0; x < w; x++) {
                double m = 0.0;
                for (int y = 0; y < h; y++) m += img[((size_t)y * w + x) * 4];
                m /= h;
                *(pass ? &err_dith : &err_plain) += fabs(m - x * 4);
            }
        }
        assert_true(err_dith < err_plain);
    }
    assert_int_equal(pfi_codec_gif(img, 1, w, h, 1, PF_GIF_DITHER_NONE, 2, 0), PF_EINVAL);
    assert_int_equal(pfi_codec_gif(img, 1, w, h, 257, PF_GIF_DITHER_NONE, 2, 0), PF_EINVAL);
    free(img);
    free(ref);
}

static void test_chroma420(void **state)
{
    pfi_anim clean;
    (void)state;
    make_clip(&clean, 24, 20, 2);
    for (int mode = 1; mode <= 2; mode++) {
        pfi_degrade d = plain(3.3, 0.3, 0.3);
        pfi_anim a, b;
        double dy = 0.0, drgb = 0.0;
        size_t n = 0;
        set_solid(&d, 40, 40, 40);
        assert_int_equal(pfi_degrade_clip(&d, &clean, &a, NULL, NULL), PF_OK);
        d.chroma420 = mode;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &b, NULL, NULL), PF_OK);
        for (int t = 0; t < a.count; t++)
            for (size_t i = 0; i < (size_t)a.width * a.height; i++, n++) {
                const uint8_t *p = a.frames[t].rgba + i * 4, *q = b.frames[t].rgba + i * 4;
                double yp = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                double yq = 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2];
                dy += fabs(yp - yq);
                for (int c = 0; c < 3; c++) drgb += fabs((double)p[c] - q[c]) / 3.0;
                assert_int_equal(q[3], 255);
            }
        dy /= (double)n;
        drgb /= (double)n;
        fprintf(stderr, "chroma420 mode %d: mean |dY| %.3f, mean |dRGB| %.3f\n", mode, dy, drgb);
        assert_true(drgb > 2.0);       /* colours change at chroma edges */
        assert_true(dy < 1.5);         /* luma stays */
        assert_true(dy < drgb / 3.0);
        pfi_anim_free(&a);
        pfi_anim_free(&b);
    }
    pfi_anim_free(&clean);
}

/* ---- draws --------------------------------------------------------------------- */

static int in(double v, double lo, double hi) { return v >= lo && v <= hi; }

static void check_draw(const pfi_degrade *d, int kind)
{
    int video = d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_MJPEG;
    assert_true(in(d->scale, 2.0, 12.0));
    assert_true(d->phase_x >= -0.5 && d->phase_x < 0.5 && d->phase_y >= -0.5 && d->phase_y < 0.5);
    assert_true(d->kernel >= PF_RS_NEAREST && d->kernel <= PF_RS_LANCZOS3);
    assert_true(in(d->jitter_x, 0.0, 0.35) && in(d->jitter_y, 0.0, 0.35));
    for (int a = 0; a < 2; a++) {
        assert_true(in(d->jit_period[a][0], 24.0, 64.0) && in(d->jit_period[a][1], 9.0, 20.0));
        assert_true(in(d->jit_theta[a][0], 0.0, 6.2832) && in(d->jit_theta[a][1], 0.0, 6.2832));
    }
    assert_true(d->hold >= 1 && d->hold <= 3 && d->hold_max >= d->hold && d->hold_max <= 3);
    assert_true(in(d->blur, 0.0, 0.3) && in(d->noise, 0.0, 6.0));
    assert_true(in(d->gamma, 0.9, 1.1) && in(d->exposure, 0.85, 1.15));
    assert_true(d->bg >= PF_DBG_TRANSPARENT && d->bg <= PF_DBG_FIELD);
    if (video) assert_int_not_equal(d->bg, PF_DBG_TRANSPARENT);
    if (d->bg == PF_DBG_GRADIENT) {
        assert_true(d->bg_stops == 2 || d->bg_stops == 3);
        assert_true(d->bg_angle >= 0.0 && d->bg_angle < 360.0);
    }
    if (d->bg == PF_DBG_NOISE) {
        assert_true(in(d->bg_blotch, 0.05, 0.2) && in(d->bg_grain, 0.01, 0.06));
        assert_true(d->bg_cells >= 3 && d->bg_cells <= 11);
        for (int c = 0; c < 3; c++) assert_true(in(d->bg_rgb[0][c], 40, 215));
    }
    assert_true(d->chroma420 >= 0 && d->chroma420 <= 2);
    if (video) assert_int_equal(d->chroma420, 0);
    switch (d->codec) {
    case PF_CODEC_H264:
        assert_true(d->quality >= 18 && d->quality <= 32);
        assert_true(d->h264_preset >= 0 && d->h264_preset <= 2);
        break;
    case PF_CODEC_MJPEG: assert_true(d->quality >= 2 && d->quality <= 12); break;
    case PF_CODEC_WEBP: assert_true(d->quality >= 45 && d->quality <= 90); break;
    case PF_CODEC_GIF:
        assert_true(d->gif_colors >= 16 && d->gif_colors <= 256 &&
                    (d->gif_colors & (d->gif_colors - 1)) == 0);
        assert_true(d->gif_dither >= 0 && d->gif_dither <= 3);
        assert_true(d->gif_bayer_shift >= 1 && d->gif_bayer_shift <= 3);
        break;
    case PF_CODEC_NONE: break;
    default: fail();
    }
    /* the evaluation kinds (tests/evalset/build.py) */
    switch (kind) {
    case PF_DKIND_GIF:
        assert_int_equal(d->codec, PF_CODEC_GIF);
        assert_true(d->kernel == PF_RS_NEAREST || d->kernel == PF_RS_BILINEAR);
        if (d->kernel == PF_RS_BILINEAR) assert_true(in(d->scale, 2.5, 6.0) && d->gif_colors <= 128);
        assert_true(d->bg == PF_DBG_TRANSPARENT || d->bg == PF_DBG_SOLID);
        assert_true(d->gif_colors >= 32);
        break;
    case PF_DKIND_H264_NEAREST:
        assert_int_equal(d->codec, PF_CODEC_H264);
        assert_int_equal(d->kernel, PF_RS_NEAREST);
        assert_int_equal(d->bg, PF_DBG_SOLID);
        assert_true(d->scale != floor(d->scale));
        assert_true(d->quality <= 30);
        break;
    case PF_DKIND_H264_SMOOTH:
        assert_int_equal(d->codec, PF_CODEC_H264);
        assert_int_not_equal(d->kernel, PF_RS_NEAREST);
        assert_true(d->scale >= 2.5 && d->blur <= 0.2 && d->noise <= 4.0);
        break;
    case PF_DKIND_VIDEO_MODEL:
        assert_int_equal(d->codec, PF_CODEC_H264);
        assert_true(in(d->scale, 4.5, 7.5) && d->scale != floor(d->scale));
        assert_true(in(d->jitter_x, 0.15, 0.35) && in(d->jitter_y, 0.15, 0.35));
        assert_true(d->hold == 2 && d->hold_max == 3);
        assert_true(in(d->blur, 0.05, 0.2) && d->quality >= 20 && d->quality <= 28);
        assert_true(d->bg == PF_DBG_SOLID || d->bg == PF_DBG_GRADIENT);
        break;
    case PF_DKIND_WEBP:
        assert_int_equal(d->codec, PF_CODEC_WEBP);
        assert_true(d->kernel == PF_RS_NEAREST || d->kernel == PF_RS_BILINEAR);
        assert_true(in(d->scale, 2.0, 4.0) && d->quality >= 45 && d->quality <= 75);
        break;
    case PF_DKIND_BG_BUSY:
        assert_true(d->bg == PF_DBG_GRADIENT || d->bg == PF_DBG_NOISE);
        assert_true(d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_WEBP);
        break;
    case PF_DKIND_BG_FIELD:
        assert_int_equal(d->bg, PF_DBG_FIELD);
        assert_int_equal(d->codec, PF_CODEC_H264);
        assert_int_equal(d->kernel, PF_RS_BILINEAR);
        assert_true(d->field_blobs >= 4 && d->field_blobs <= 8 && d->field_near >= 1 && d->field_near <= 2);
        for (int i = 0; i < d->field_blobs; i++)
            assert_true(in(d->field_xy[i][0], -0.1, 1.1) && in(d->field_xy[i][1], -0.1, 1.1) &&
                        in(d->field_radius[i], 0.08, 0.3));
        assert_true(d->hold == 2 && d->hold_max == 3);
        break;
    case PF_DKIND_ENCLOSED:
        assert_int_equal(d->bg, PF_DBG_SOLID);
        assert_true(d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_WEBP);
        assert_true(in(d->scale, 2.5, 8.0) && d->kernel <= PF_RS_BICUBIC);
        break;
    case PF_DKIND_MINORITY:
        assert_true(d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_GIF || d->codec == PF_CODEC_WEBP);
        assert_true(in(d->scale, 2.0, 7.0) && d->kernel <= PF_RS_BICUBIC);
        if (d->codec == PF_CODEC_GIF) assert_true(d->gif_colors <= 128);
        break;
    case PF_DKIND_SCENE:
        assert_int_equal(d->bg, PF_DBG_SOLID);
        assert_true(d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_GIF || d->codec == PF_CODEC_WEBP);
        assert_true(in(d->scale, 2.0, 8.0) && d->kernel <= PF_RS_BICUBIC);
        break;
    default: break;
    }
}

static void test_draw_kinds(void **state)
{
    pfi_anim clean;
    int solids = 0, magenta = 0, codec_seen[5] = {0}, bg_seen[5] = {0};
    (void)state;
    make_clip(&clean, 11, 10, 3);
    for (int kind = 0; kind < PF_DKIND_COUNT; kind++) {
        const char *name = pfi_degrade_kind_name(kind);
        assert_non_null(name);
        assert_string_not_equal(name, "unknown");
        for (int s = 0; s < 50; s++) {
            pfi_degrade d;
            pfi_anim out;
            pfi_degrade_geom g;
            pfi_degrade_draw(&d, kind, 0xabc00ull + (uint64_t)s);
            check_draw(&d, kind);
            codec_seen[d.codec]++;
            bg_seen[d.bg]++;
            assert_int_equal(pfi_degrade_clip(&d, &clean, &out, &g, NULL), PF_OK);
            assert_int_equal(out.count, g.n);
            assert_true(g.n >= 3 * d.hold && g.n <= 3 * (d.hold_max > d.hold ? d.hold_max : d.hold));
            assert_int_equal(out.width, g.in_w);
            for (int t = 0; t < out.count; t++) {
                assert_true(out.frames[t].duration_ms > 0);
                if (d.bg != PF_DBG_TRANSPARENT)
                    for (size_t i = 0; i < (size_t)out.width * out.height; i++)
                        assert_int_equal(out.frames[t].rgba[i * 4 + 3], 255);
            }
            pfi_anim_free(&out);
            pfi_degrade_geom_free(&g);
        }
    }
    for (int c = 0; c < 5; c++) assert_true(codec_seen[c] > 0);
    for (int b = 0; b < 5; b++) assert_true(bg_seen[b] > 0);
    /* magenta in about a third of the solids (ANY: 1/3, kinds: 0.25-0.35) */
    for (int s = 0; s < 3000; s++) {
        pfi_degrade d;
        pfi_degrade_draw(&d, s % PF_DKIND_COUNT, (uint64_t)s * 7919u);
        if (d.bg != PF_DBG_SOLID || s % PF_DKIND_COUNT == PF_DKIND_SCENE) continue;   /* never seen */
        solids++;
        magenta += d.bg_rgb[0][0] == 255 && d.bg_rgb[0][1] == 0 && d.bg_rgb[0][2] == 255;
    }
    assert_true(solids > 300);
    assert_true(magenta > solids / 5 && magenta < solids / 2);
    assert_string_equal(pfi_degrade_kind_name(PF_DKIND_VIDEO_MODEL), "video_model");
    assert_string_equal(pfi_degrade_kind_name(99), "unknown");
    pfi_anim_free(&clean);
}

/* The field background (bg_field): opaque, inside the blobs' colour box, and
 * no plane (a least-squares plane per channel leaves a residual), where a
 * gradient background of the same draw would leave none. */
static double plane_residual(const pfi_anim *a, int ch)
{
    /* normal equations of v = p0 + p1 x + p2 y over every pixel of frame 0 */
    double m[3][4] = {{0}};
    const int W = a->width, H = a->height;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const double b[3] = {1, x, y}, v = a->frames[0].rgba[((size_t)y * W + x) * 4 + ch];
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) m[i][j] += b[i] * b[j];
                m[i][3] += b[i] * v;
            }
        }
    for (int i = 0; i < 3; i++)   /* Gauss-Jordan, the matrix is positive definite */
        for (int k = 0; k < 3; k++) {
            if (k == i) continue;
            const double f = m[k][i] / m[i][i];
            for (int j = 0; j < 4; j++) m[k][j] -= f * m[i][j];
        }
    double ss = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const double e = a->frames[0].rgba[((size_t)y * W + x) * 4 + ch] -
                             (m[0][3] / m[0][0] + m[1][3] / m[1][1] * x + m[2][3] / m[2][2] * y);
            ss += e * e;
        }
    return sqrt(ss / ((double)W * H));
}

static void test_field_background(void **state)
{
    (void)state;
    pfi_anim clean, out;
    assert_int_equal(pfi_anim_init(&clean, 24, 20), PF_OK);
    uint8_t *f = calloc(24 * 20 * 4, 1);   /* all transparent: only the background shows */
    assert_non_null(f);
    assert_int_equal(pfi_anim_push(&clean, f, 100), PF_OK);
    double worst = 1e9;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        pfi_degrade d;
        pfi_degrade_draw(&d, PF_DKIND_BG_FIELD, seed);
        d.codec = PF_CODEC_NONE, d.noise = 0, d.blur = 0, d.gamma = 1, d.exposure = 1, d.hold = d.hold_max = 1;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_OK);
        double res = 0;
        for (int ch = 0; ch < 3; ch++) {
            int lo = 255, hi = 0;
            for (int i = 0; i < d.field_blobs; i++) {
                lo = d.field_rgb[i][ch] < lo ? d.field_rgb[i][ch] : lo;
                hi = d.field_rgb[i][ch] > hi ? d.field_rgb[i][ch] : hi;
            }
            for (size_t i = 0; i < (size_t)out.width * out.height; i++) {
                const int v = out.frames[0].rgba[i * 4 + ch];
                assert_true(v >= lo - 1 && v <= hi + 1);
                assert_int_equal(out.frames[0].rgba[i * 4 + 3], 255);
            }
            res = fmax(res, plane_residual(&out, ch));
        }
        worst = fmin(worst, res);
        pfi_anim_free(&out);
        /* the same canvas as a two-stop gradient is a plane */
        d.bg = PF_DBG_GRADIENT, d.bg_stops = 2, d.bg_angle = 30;
        assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_OK);
        for (int ch = 0; ch < 3; ch++) assert_true(plane_residual(&out, ch) < 1.0);
        pfi_anim_free(&out);
    }
    printf("  field backgrounds: smallest plane residual %.1f levels\n", worst);
    assert_true(worst > 3.0);
    /* an invalid field is refused */
    pfi_degrade d;
    pfi_degrade_draw(&d, PF_DKIND_BG_FIELD, 9);
    d.field_blobs = PF_DEGRADE_MAX_BLOBS + 1;
    assert_int_equal(pfi_degrade_clip(&d, &clean, &out, NULL, NULL), PF_EINVAL);
    free(f);
    pfi_anim_free(&clean);
}

/* ---- errors -------------------------------------------------------------------- */

static void test_errors(void **state)
{
    pfi_anim clean, big, out, empty = {0};
    pfi_degrade_geom g;
    pfi_degrade d;
    (void)state;
    make_clip(&clean, 12, 10, 2);
    make_clip(&big, 129, 8, 1);

#define EXPECT_EINVAL(expr)                                                   \
    do {                                                                      \
        assert_int_equal((expr), PF_EINVAL);                                  \
        assert_int_equal(out.count, 0);                                       \
        assert_null(out.frames);                                              \
        assert_null(g.src);                                                   \
    } while (0)

    d = plain(3.0, 0.0, 0.0);
    d.codec = PF_CODEC_H264;
    d.quality = 23;
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));   /* transparent + H.264 */
    d.codec = PF_CODEC_MJPEG;
    d.quality = 5;
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));   /* transparent + MJPEG */
    d = plain(100.0, 0.0, 0.0);
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));
    d = plain(3.0, 0.0, 0.0);
    EXPECT_EINVAL(pfi_degrade_clip(&d, &big, &out, &g, NULL));     /* 129 native px */
    d = plain(12.0, 0.0, 0.0);
    {
        pfi_anim wide;
        make_clip(&wide, 100, 8, 1);                                /* 1200 px canvas */
        EXPECT_EINVAL(pfi_degrade_clip(&d, &wide, &out, &g, NULL));
        pfi_anim_free(&wide);
    }
    d = plain(3.0, 0.0, 0.0);
    EXPECT_EINVAL(pfi_degrade_clip(&d, &empty, &out, &g, NULL));
    EXPECT_EINVAL(pfi_degrade_clip(NULL, &clean, &out, &g, NULL));
    d.noise = NAN;
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));
    d = plain(3.0, 0.0, 0.0);
    d.codec = PF_CODEC_GIF;
    d.gif_colors = 300;
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));
    d = plain(3.0, 0.0, 0.0);
    d.hold = 0;
    EXPECT_EINVAL(pfi_degrade_clip(&d, &clean, &out, &g, NULL));
    /* odd sizes are refused by the video round trips themselves */
    {
        uint8_t px[3 * 2 * 4] = {0};
        assert_int_equal(pfi_codec_h264(px, 1, 3, 2, 23, 0, PF_YUV_BT601, NULL), PF_EINVAL);
        assert_int_equal(pfi_codec_mjpeg(px, 1, 3, 2, 4, NULL), PF_EINVAL);
        assert_int_equal(pfi_codec_webp(px, 1, 3, 2, 101, 0, NULL), PF_EINVAL);
    }
#undef EXPECT_EINVAL
    pfi_degrade_geom_free(&g);
    pfi_degrade_geom_free(NULL);
    pfi_anim_free(&clean);
    pfi_anim_free(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_nearest_integer_blocks),
        cmocka_unit_test(test_geometry_nonint),
        cmocka_unit_test(test_kernels_constant),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_output_size),
        cmocka_unit_test(test_h264),
        cmocka_unit_test(test_mjpeg),
        cmocka_unit_test(test_webp),
        cmocka_unit_test(test_gif),
        cmocka_unit_test(test_gif_exact_and_dither),
        cmocka_unit_test(test_chroma420),
        cmocka_unit_test(test_draw_kinds),
        cmocka_unit_test(test_field_background),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
