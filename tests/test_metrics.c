/* test_metrics.c - pfi_metrics_compute against clips built by hand, with every
 * expected figure derived from the construction (docs/metrics.md). */
#include "testutil.h"

#include <math.h>

#include "palette/palette.h"
#include "eval/metrics.h"

/* ---- clip helpers (no dependency on anim.c) ------------------------------- */

static pfi_anim mk_anim(int w, int h, int n)
{
    pfi_anim a;
    int t;
    memset(&a, 0, sizeof a);
    a.width = w;
    a.height = h;
    a.count = a.cap = n;
    a.frames = calloc((size_t)n, sizeof *a.frames);
    assert_non_null(a.frames);
    for (t = 0; t < n; t++) {
        a.frames[t].rgba = calloc((size_t)w * h * 4, 1);   /* transparent black */
        assert_non_null(a.frames[t].rgba);
        a.frames[t].duration_ms = 100;
        a.frames[t].pts_ms = 100 * t;
    }
    return a;
}

static void free_anim(pfi_anim *a)
{
    int t;
    for (t = 0; t < a->cap; t++) free(a->frames[t].rgba);
    free(a->frames);
    memset(a, 0, sizeof *a);
}

static uint8_t *px(pfi_anim *a, int t, int x, int y)
{
    return a->frames[t].rgba + ((size_t)y * a->width + x) * 4;
}

static void set_px(pfi_anim *a, int t, int x, int y, int r, int g, int b, int alpha)
{
    uint8_t *p = px(a, t, x, y);
    p[0] = (uint8_t)r; p[1] = (uint8_t)g; p[2] = (uint8_t)b; p[3] = (uint8_t)alpha;
}

static void fill(pfi_anim *a, int t, int r, int g, int b, int alpha)
{
    int x, y;
    for (y = 0; y < a->height; y++)
        for (x = 0; x < a->width; x++) set_px(a, t, x, y, r, g, b, alpha);
}

static pfi_anim copy_anim(const pfi_anim *s)
{
    pfi_anim a = mk_anim(s->width, s->height, s->count);
    int t;
    for (t = 0; t < s->count; t++)
        memcpy(a.frames[t].rgba, s->frames[t].rgba, (size_t)s->width * s->height * 4);
    return a;
}

/* Six colours far apart in OKLab (every pair well over 0.04). */
static const uint8_t PAL[6][3] = {
    {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {0, 0, 0}, {255, 255, 255}
};

/* Random pixel art: one palette colour or transparent (with random RGB) per pixel. */
static pfi_anim random_clip(int w, int h, int n, uint64_t seed)
{
    pfi_anim a = mk_anim(w, h, n);
    uint64_t s = seed;
    int t, x, y;
    for (t = 0; t < n; t++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                int k = (int)(tu_rand(&s) % 7);
                if (k == 6)
                    set_px(&a, t, x, y, (int)(tu_rand(&s) & 255), (int)(tu_rand(&s) & 255),
                           (int)(tu_rand(&s) & 255), (int)(tu_rand(&s) % 128));
                else
                    set_px(&a, t, x, y, PAL[k][0], PAL[k][1], PAL[k][2], 128 + (int)(tu_rand(&s) % 128));
            }
    return a;
}

static int opaque(const uint8_t *p) { return p[3] >= 128; }

/* Edge by the definition, valid for clips whose opaque colours are either
 * equal or far apart (random_clip). */
static int edge_exact(const uint8_t *a, const uint8_t *b)
{
    if (opaque(a) != opaque(b)) return 1;
    if (!opaque(a)) return 0;
    return memcmp(a, b, 3) != 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct opaque RGB of an animation; list (sorted rgb24) returned in *out. */
static int distinct_opaque(const pfi_anim *a, uint32_t **out)
{
    size_t cap = (size_t)a->width * a->height * a->count, n = 0, i, k = 0;
    uint32_t *v = malloc((cap ? cap : 1) * sizeof *v);
    int t, x, y;
    assert_non_null(v);
    for (t = 0; t < a->count; t++)
        for (y = 0; y < a->height; y++)
            for (x = 0; x < a->width; x++) {
                const uint8_t *p = px((pfi_anim *)a, t, x, y);
                if (opaque(p)) v[n++] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
            }
    qsort(v, n, sizeof *v, cmp_u32);
    for (i = 0; i < n; i++)
        if (k == 0 || v[i] != v[k - 1]) v[k++] = v[i];
    if (out) *out = v; else free(v);
    return (int)k;
}

/* OKLab L of an sRGB grey: for greys l = m = s = the linear value, so
 * L = cbrt(linear) and a = b = 0 (Ottosson's matrices have unit row sums). */
static double grey_L(int v)
{
    double c = v / 255.0;
    double lin = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
    return cbrt(lin);
}

static double oklab_dist8(uint32_t a, uint32_t b)
{
    uint8_t ca[3] = { (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };
    uint8_t cb[3] = { (uint8_t)(b >> 16), (uint8_t)(b >> 8), (uint8_t)b };
    float la[3], lb[3];
    pfi_srgb8_to_oklab(ca, la);
    pfi_srgb8_to_oklab(cb, lb);
    return pfi_oklab_dist(la, lb);
}

/* Greys 128 + k_same (OKLab distance < 0.035 from grey 128) and 128 + k_diff
 * (> 0.045): clearly either side of the 0.04 threshold. */
static void grey_steps(int *k_same, int *k_diff)
{
    int k;
    *k_same = *k_diff = 0;
    for (k = 1; k < 100; k++) {
        double d = grey_L(128 + k) - grey_L(128);
        if (d < 0.035) *k_same = k;
        if (d > 0.045 && !*k_diff) *k_diff = k;
    }
    assert_true(*k_same > 0 && *k_diff > *k_same);
    /* The library's OKLab agrees with the grey formula. */
    assert_true(fabs(oklab_dist8(0x808080u, 0x808080u + 0x010101u * (uint32_t)*k_same) -
                     (grey_L(128 + *k_same) - grey_L(128))) < 1e-4);
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* ---- tests ------------------------------------------------------------------ */

static void test_identical(void **state)
{
    pfi_anim g = random_clip(17, 11, 6, 1), o = copy_anim(&g);
    pfi_metrics m;
    uint64_t s = 99;
    int t, x, y, ncol = distinct_opaque(&g, NULL);

    /* Transparent output pixels get other RGB every frame: still identical. */
    for (t = 0; t < o.count; t++)
        for (y = 0; y < o.height; y++)
            for (x = 0; x < o.width; x++)
                if (!opaque(px(&o, t, x, y))) set_px(&o, t, x, y, (int)(tu_rand(&s) & 255), 7, 9, 0);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.size_ok, 1);
    assert_int_equal(m.dx, 0);
    assert_int_equal(m.dy, 0);
    NEAR(m.acc, 1);
    NEAR(m.acc_opaque, 1);
    NEAR(m.alpha_iou, 1);
    NEAR(m.psnr, 99);
    NEAR(m.edge_f1, 1);
    NEAR(m.flicker, 0);
    NEAR(m.perfect_frames, 1);
    NEAR(m.palette_de, 0);
    assert_int_equal(m.colors_gt, ncol);
    assert_int_equal(m.colors_out, ncol);
    assert_int_equal(m.frames_gt, 6);
    assert_int_equal(m.frames_out, 6);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

/* Output = GT moved by (sx, sy): O(x + sx, y + sy) = G(x, y). */
static void check_shift(int sx, int sy)
{
    const int w = 13, h = 9, n = 4;
    pfi_anim g = random_clip(w, h, n, 7 + (uint64_t)(sx * 3 + sy + 4)), o = mk_anim(w, h, n);
    pfi_metrics m;
    uint64_t s = 5;
    long tp = 0, fn = 0, gop = 0, unc = 0;
    int t, x, y;

    for (t = 0; t < n; t++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                int gx = x - sx, gy = y - sy;
                if (gx >= 0 && gy >= 0 && gx < w && gy < h) {
                    memcpy(px(&o, t, x, y), px(&g, t, gx, gy), 4);
                } else {
                    int k = (int)(tu_rand(&s) % 6);
                    set_px(&o, t, x, y, PAL[k][0], PAL[k][1], PAL[k][2], 255);
                }
            }
    /* Expected figures: GT pixels covered iff (x + sx, y + sy) is inside. */
    for (t = 0; t < n; t++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                int cov = x + sx >= 0 && x + sx < w && y + sy >= 0 && y + sy < h;
                if (opaque(px(&g, t, x, y))) {
                    gop++;
                    unc += !cov;
                }
                if (x + 1 < w && edge_exact(px(&g, t, x, y), px(&g, t, x + 1, y))) {
                    int cov2 = cov && x + 1 + sx < w;
                    tp += cov2;
                    fn += !cov2;
                }
                if (y + 1 < h && edge_exact(px(&g, t, x, y), px(&g, t, x, y + 1))) {
                    int cov2 = cov && y + 1 + sy < h;
                    tp += cov2;
                    fn += !cov2;
                }
            }
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.dx, sx);
    assert_int_equal(m.dy, sy);
    assert_int_equal(m.size_ok, 1);
    NEAR(m.acc, (double)(w - abs(sx)) * (h - abs(sy)) / ((double)w * h));
    NEAR(m.acc_opaque, (double)(gop - unc) / gop);
    NEAR(m.alpha_iou, (double)(gop - unc) / gop);
    assert_true(unc > 0);
    NEAR(m.psnr, 10 * log10((double)gop / unc));   /* mse = 255^2 * unc / gop */
    NEAR(m.edge_f1, 2.0 * tp / (2.0 * tp + fn));
    NEAR(m.flicker, 0);
    NEAR(m.perfect_frames, 0);   /* a lost row or column is far over 0.5 % */
    free_anim(&g);
    free_anim(&o);
}

static void test_shift(void **state)
{
    check_shift(1, 0);
    check_shift(0, -1);
    check_shift(1, -1);
    check_shift(-1, 1);
    (void)state;
}

static void test_colour_threshold(void **state)
{
    const int w = 8, h = 6;
    pfi_anim g = mk_anim(w, h, 2), o = mk_anim(w, h, 2);
    pfi_metrics m;
    int ks, kd, t, x, y;

    grey_steps(&ks, &kd);
    for (t = 0; t < 2; t++) fill(&g, t, 128, 128, 128, 255);

    /* Perturbed below 0.04: the same colour everywhere. */
    for (t = 0; t < 2; t++) fill(&o, t, 128 + ks, 128 + ks, 128 + ks, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.acc, 1);
    NEAR(m.acc_opaque, 1);
    NEAR(m.perfect_frames, 1);
    NEAR(m.edge_f1, 1);   /* no edges in either */
    NEAR(m.psnr, 20 * log10(255.0 / ks));   /* uniform error ks on R, G and B */
    assert_true(fabs(m.palette_de - (grey_L(128 + ks) - grey_L(128))) < 1e-4);
    assert_int_equal(m.colors_gt, 1);
    assert_int_equal(m.colors_out, 1);

    /* Perturbed above 0.04: different everywhere. */
    for (t = 0; t < 2; t++) fill(&o, t, 128 + kd, 128 + kd, 128 + kd, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.acc, 0);
    NEAR(m.acc_opaque, 0);
    NEAR(m.alpha_iou, 1);   /* classes still all match */
    NEAR(m.perfect_frames, 0);
    NEAR(m.psnr, 20 * log10(255.0 / kd));
    assert_true(fabs(m.palette_de - (grey_L(128 + kd) - grey_L(128))) < 1e-4);
    assert_int_equal(m.dx, 0);   /* every shift scores 0: the tie goes to (0, 0) */
    assert_int_equal(m.dy, 0);

    /* Left half far, right half exact: half right; the boundary is an
     * output edge the GT lacks (h false positives, no true edge). The
     * shift (1, 0) also gets w / 2 columns right; the tie goes to (0, 0). */
    for (t = 0; t < 2; t++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                int v = 128 + (x < w / 2 ? kd : 0);
                set_px(&o, t, x, y, v, v, v, 255);
            }
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.dx, 0);
    assert_int_equal(m.dy, 0);
    NEAR(m.acc, 0.5);
    NEAR(m.acc_opaque, 0.5);
    NEAR(m.edge_f1, 0);
    NEAR(m.psnr, 10 * log10(255.0 * 255.0 / (kd * kd / 2.0)));
    assert_int_equal(m.colors_out, 2);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

static void test_alpha(void **state)
{
    const int w = 6, h = 4;
    pfi_anim g = mk_anim(w, h, 1), o = mk_anim(w, h, 1);
    pfi_metrics m;
    int x, y;

    /* GT: left half opaque red (alpha exactly 128), right half transparent. */
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) set_px(&g, 0, x, y, 255, 0, 0, x < w / 2 ? 128 : 0);

    /* Output all red at alpha 127: transparent, RGB still right. */
    fill(&o, 0, 255, 0, 0, 127);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.dx, 0);
    assert_int_equal(m.dy, 0);
    NEAR(m.acc, 0.5);
    NEAR(m.acc_opaque, 1);   /* output alpha ignored */
    NEAR(m.alpha_iou, 0);
    NEAR(m.psnr, 99);
    assert_int_equal(m.colors_out, 0);
    assert_int_equal(m.colors_gt, 1);
    NEAR(m.palette_de, 1);   /* one set empty */
    /* GT edges: the h class changes in each row; the output has none. */
    NEAR(m.edge_f1, 0);

    /* Output all opaque red: the transparent half is wrong; the shift
     * (1, 0) ties with (0, 0) and the tie goes to (0, 0). */
    fill(&o, 0, 255, 0, 0, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.dx, 0);
    assert_int_equal(m.dy, 0);
    NEAR(m.acc, 0.5);
    NEAR(m.acc_opaque, 1);
    NEAR(m.alpha_iou, 0.5);   /* intersection: left half; union: everything */
    NEAR(m.palette_de, 0);
    assert_int_equal(m.colors_out, 1);

    /* Output equal to the GT but (w-1, 0), inside the transparent half,
     * opaque blue: edges to its two neighbours are false positives, the h
     * class edges stay true positives. */
    memcpy(o.frames[0].rgba, g.frames[0].rgba, (size_t)w * h * 4);
    set_px(&o, 0, w - 1, 0, 0, 0, 255, 200);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.acc, (w * h - 1.0) / (w * h));
    NEAR(m.alpha_iou, (h * w / 2.0) / (h * w / 2.0 + 1));
    NEAR(m.edge_f1, 2.0 * h / (2.0 * h + 2));
    NEAR(m.perfect_frames, 0);   /* 23/24 < 0.995 */
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

static void test_edges(void **state)
{
    /* 4x4: columns 0-1 colour A, 2-3 colour B: 4 GT edges (one per row). */
    pfi_anim g = mk_anim(4, 4, 1), o;
    pfi_metrics m;
    int ks, kd, x, y;

    grey_steps(&ks, &kd);
    for (y = 0; y < 4; y++)
        for (x = 0; x < 4; x++) set_px(&g, 0, x, y, x < 2 ? 200 : 0, x < 2 ? 30 : 90, 40, 255);
    o = copy_anim(&g);

    /* (0, 0) to a third colour: edges to (1, 0) and (0, 1) are false positives. */
    set_px(&o, 0, 0, 0, 255, 255, 255, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.edge_f1, 8.0 / 10.0);

    /* (3, 3) made transparent too: two more false positives. */
    set_px(&o, 0, 3, 3, 0, 90, 40, 0);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.edge_f1, 8.0 / 12.0);
    NEAR(m.acc, 14.0 / 16.0);

    /* A grey field where one pixel moves by less than 0.04: no edge, right. */
    fill(&g, 0, 128, 128, 128, 255);
    fill(&o, 0, 128, 128, 128, 255);
    set_px(&o, 0, 1, 1, 128 + ks, 128 + ks, 128 + ks, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.edge_f1, 1);
    NEAR(m.acc, 1);
    /* ... and by more than 0.04: four false positives, no true edge. */
    set_px(&o, 0, 1, 1, 128 + kd, 128 + kd, 128 + kd, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.edge_f1, 0);
    NEAR(m.acc, 15.0 / 16.0);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

/* perfect_frames at its boundary: 20x10 frames, 199/200 = 0.995 counts. */
static void test_perfect(void **state)
{
    pfi_anim g = mk_anim(20, 10, 4), o;
    pfi_metrics m;
    int t;

    for (t = 0; t < 4; t++) fill(&g, t, 0, 0, 255, 255);
    o = copy_anim(&g);
    set_px(&o, 1, 5, 5, 255, 255, 0, 255);   /* frame 1: 199 / 200 */
    set_px(&o, 2, 5, 5, 255, 255, 0, 255);   /* frame 2: 198 / 200 */
    set_px(&o, 2, 6, 5, 0, 0, 255, 0);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    NEAR(m.perfect_frames, 3.0 / 4.0);
    NEAR(m.acc, 797.0 / 800.0);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

static void test_flicker(void **state)
{
    const int w = 9, h = 7, n = 6;
    pfi_anim g = random_clip(w, h, 1, 3), g2 = mk_anim(w, h, n), o;
    pfi_metrics m;
    int t, px_n = w * h;

    /* Static GT; its transparent pixels change RGB every frame (still static). */
    for (t = 0; t < n; t++) {
        int x, y;
        memcpy(g2.frames[t].rgba, g.frames[0].rgba, (size_t)px_n * 4);
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++)
                if (!opaque(px(&g2, t, x, y))) px(&g2, t, x, y)[0] = (uint8_t)(17 * t);
    }
    /* Pixel (2, 3) is opaque red in the GT. */
    set_px(&g2, 0, 2, 3, 255, 0, 0, 255);
    for (t = 1; t < n; t++) memcpy(px(&g2, t, 2, 3), px(&g2, 0, 2, 3), 4);
    o = copy_anim(&g2);

    assert_int_equal(pfi_metrics_compute(&m, &g2, &o), PF_OK);
    NEAR(m.flicker, 0);

    /* Output (2, 3) turns green at frame 2 only: changes at 1->2 and 2->3. */
    set_px(&o, 2, 2, 3, 0, 255, 0, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g2, &o), PF_OK);
    NEAR(m.flicker, 2.0 / ((n - 1.0) * px_n));

    /* One GT pixel (5, 5) changes colour every frame, and the output follows:
     * it leaves the static set (px_n - 1 per transition), adds no flicker. */
    for (t = 0; t < n; t++) {
        set_px(&g2, t, 5, 5, PAL[t % 6][0], PAL[t % 6][1], PAL[t % 6][2], 255);
        memcpy(px(&o, t, 5, 5), px(&g2, t, 5, 5), 4);
    }
    assert_int_equal(pfi_metrics_compute(&m, &g2, &o), PF_OK);
    NEAR(m.flicker, 2.0 / ((n - 1.0) * (px_n - 1)));

    /* Output (2, 3) at frame 4 moves one level (still the same colour, but
     * not identical): two more changes, 3->4 and 4->5. */
    set_px(&o, 4, 2, 3, 254, 0, 0, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g2, &o), PF_OK);
    NEAR(m.flicker, 4.0 / ((n - 1.0) * (px_n - 1)));
    NEAR(m.acc, 1.0 - 1.0 / ((double)n * px_n));   /* only frame 2's green is wrong */

    /* An output pixel that stays transparent but changes RGB is no change. */
    {
        int x, y, found = 0;
        for (y = 0; y < h && !found; y++)
            for (x = 0; x < w && !found; x++)
                if (!opaque(px(&o, 1, x, y)) && !(x == 5 && y == 5)) {
                    px(&o, 1, x, y)[1] ^= 0x55;
                    found = 1;
                }
        assert_true(found);
    }
    assert_int_equal(pfi_metrics_compute(&m, &g2, &o), PF_OK);
    NEAR(m.flicker, 4.0 / ((n - 1.0) * (px_n - 1)));
    free_anim(&g);
    free_anim(&g2);
    free_anim(&o);
    (void)state;
}

static void test_wrong_size(void **state)
{
    const int w = 10, h = 8, n = 5;
    pfi_anim g = random_clip(w, h, n, 11), big = mk_anim(w + 1, h, n), small = mk_anim(w - 1, h, n);
    pfi_anim few = copy_anim(&g);
    pfi_metrics m;
    int t, y;

    /* Wider output equal to the GT on the GT area: covered and right. */
    for (t = 0; t < n; t++)
        for (y = 0; y < h; y++) {
            memcpy(px(&big, t, 0, y), px(&g, t, 0, y), (size_t)w * 4);
            set_px(&big, t, w, y, 0, 255, 0, 255);
            memcpy(px(&small, t, 0, y), px(&g, t, 0, y), (size_t)(w - 1) * 4);
        }
    assert_int_equal(pfi_metrics_compute(&m, &g, &big), PF_OK);
    assert_int_equal(m.size_ok, 0);
    NEAR(m.acc, 1);
    assert_int_equal(m.dx, 0);

    /* Narrower output: the GT's last column is uncovered, hence wrong. */
    assert_int_equal(pfi_metrics_compute(&m, &g, &small), PF_OK);
    assert_int_equal(m.size_ok, 0);
    assert_int_equal(m.dx, 0);
    NEAR(m.acc, (w - 1.0) / w);

    /* Fewer frames: compared over the frames both have. */
    few.count = n - 2;
    assert_int_equal(pfi_metrics_compute(&m, &g, &few), PF_OK);
    assert_int_equal(m.size_ok, 0);
    assert_int_equal(m.frames_gt, n);
    assert_int_equal(m.frames_out, n - 2);
    NEAR(m.acc, 1);
    NEAR(m.perfect_frames, 1);
    few.count = n;
    free_anim(&g);
    free_anim(&big);
    free_anim(&small);
    free_anim(&few);
    (void)state;
}

static void test_palette_known(void **state)
{
    /* GT colours: greys a, b; output: greys a, c. In OKLab greys lie on the
     * L axis, so the nearest distances are differences of L. */
    const int a = 40, b = 120, c = 200;
    pfi_anim g = mk_anim(2, 1, 1), o = mk_anim(2, 1, 1);
    pfi_metrics m;
    double La = grey_L(a), Lb = grey_L(b), Lc = grey_L(c);
    double d_og = (0 + fmin(fabs(Lc - La), fabs(Lc - Lb))) / 2;
    double d_go = (0 + fmin(fabs(Lb - La), fabs(Lb - Lc))) / 2;

    set_px(&g, 0, 0, 0, a, a, a, 255);
    set_px(&g, 0, 1, 0, b, b, b, 255);
    set_px(&o, 0, 0, 0, a, a, a, 255);
    set_px(&o, 0, 1, 0, c, c, c, 255);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.colors_gt, 2);
    assert_int_equal(m.colors_out, 2);
    assert_true(fabs(m.palette_de - (d_og + d_go) / 2) < 1e-4);

    /* Transparent pixels add no colour to either set. */
    set_px(&o, 0, 1, 0, 7, 7, 7, 0);
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.colors_out, 1);
    assert_true(fabs(m.palette_de - (0 + (0 + fabs(Lb - La)) / 2) / 2) < 1e-4);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

/* palette_de on large colour sets against a brute-force evaluation of the
 * definition. mode 0: uniform random colours; 1: GT and output colours in
 * separate regions, so nearest neighbours are far away; 2: greys (equal a
 * and b keys) with a few other colours; 3: 20 GT colours against many. */
static void check_palette_random(uint64_t seed, int mode)
{
    pfi_anim g = mk_anim(64, 40, 1), o = mk_anim(48, 30, 1);
    pfi_metrics m;
    uint32_t *cg, *co;
    float *lg, *lo;
    uint64_t s = seed;
    int ng, no, i, j, x, y;
    double sum_og = 0, sum_go = 0, want;

    for (y = 0; y < g.height; y++)
        for (x = 0; x < g.width; x++) {
            int r = (int)(tu_rand(&s) & 255), gg = (int)(tu_rand(&s) & 255);
            int b = (int)(tu_rand(&s) & 255), alpha = (x + y) % 5 ? 255 : 0;
            if (mode == 1) r /= 3;
            if (mode == 2) r = gg = b = r & ~1;
            if (mode == 3) r = gg = b = 12 * (int)(tu_rand(&s) % 20);
            set_px(&g, 0, x, y, r, gg, b, alpha);
        }
    for (y = 0; y < o.height; y++)
        for (x = 0; x < o.width; x++) {
            int r = (int)(tu_rand(&s) & 255), gg = (int)(tu_rand(&s) & 255);
            int b = (int)(tu_rand(&s) & 255);
            if (mode == 1) {
                r = 255 - r / 4;
                b = 200;
            }
            if (mode == 2 && (x + y) % 50) r = gg = b = r | 1;
            set_px(&o, 0, x, y, r, gg, b, 255);
        }
    ng = distinct_opaque(&g, &cg);
    no = distinct_opaque(&o, &co);
    lg = malloc((size_t)ng * 3 * sizeof *lg);
    lo = malloc((size_t)no * 3 * sizeof *lo);
    assert_true(lg && lo);
    for (j = 0; j < ng; j++) {
        uint8_t c[3] = { (uint8_t)(cg[j] >> 16), (uint8_t)(cg[j] >> 8), (uint8_t)cg[j] };
        pfi_srgb8_to_oklab(c, lg + 3 * j);
    }
    for (i = 0; i < no; i++) {
        uint8_t c[3] = { (uint8_t)(co[i] >> 16), (uint8_t)(co[i] >> 8), (uint8_t)co[i] };
        pfi_srgb8_to_oklab(c, lo + 3 * i);
    }
    for (i = 0; i < no; i++) {
        double best = INFINITY;
        for (j = 0; j < ng; j++) best = fmin(best, pfi_oklab_dist(lo + 3 * i, lg + 3 * j));
        sum_og += best;
    }
    for (j = 0; j < ng; j++) {
        double best = INFINITY;
        for (i = 0; i < no; i++) best = fmin(best, pfi_oklab_dist(lg + 3 * j, lo + 3 * i));
        sum_go += best;
    }
    free(lg);
    free(lo);
    want = (sum_og / no + sum_go / ng) / 2;
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    assert_int_equal(m.size_ok, 0);
    assert_int_equal(m.colors_gt, ng);
    assert_int_equal(m.colors_out, no);
    printf("palette_de %.6f (brute force %.6f), %d vs %d colours\n", m.palette_de, want, no, ng);
    assert_true(fabs(m.palette_de - want) < 1e-6 * (1 + want));
    free(cg);
    free(co);
    free_anim(&g);
    free_anim(&o);
}

static void test_palette_random(void **state)
{
    check_palette_random(21, 0);
    check_palette_random(22, 1);
    check_palette_random(23, 2);
    check_palette_random(24, 3);
    (void)state;
}

static void test_errors(void **state)
{
    pfi_anim g = random_clip(4, 4, 2, 1), e, o = copy_anim(&g);
    pfi_metrics m;
    uint8_t *keep;

    memset(&e, 0, sizeof e);
    assert_int_equal(pfi_metrics_compute(&m, &g, &e), PF_EINVAL);
    assert_int_equal(pfi_metrics_compute(&m, &e, &g), PF_EINVAL);
    assert_int_equal(pfi_metrics_compute(&m, NULL, &g), PF_EINVAL);
    assert_int_equal(pfi_metrics_compute(NULL, &g, &g), PF_EINVAL);
    keep = o.frames[1].rgba;
    o.frames[1].rgba = NULL;
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_EINVAL);
    o.frames[1].rgba = keep;
    o.width = 0;
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_EINVAL);
    o.width = 4;
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

/* A 200-frame 128x128 clip: correct figures, and the time printed. */
static void test_large(void **state)
{
    const int n = 200, w = 128, h = 128;
    pfi_anim g = random_clip(w, h, n, 77), o;
    pfi_metrics m;
    long still = 0;
    double t0;
    int t, x, y;

    /* GT (64, 64) white in frames 99-101; the output has grey at frame 100
     * only: one wrong pixel, and two changes over GT-static pixels. */
    for (t = 99; t <= 101; t++) set_px(&g, t, 64, 64, 255, 255, 255, 255);
    o = copy_anim(&g);
    set_px(&o, 100, 64, 64, 128, 128, 128, 255);
    for (t = 1; t < n; t++)
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                const uint8_t *a = px(&g, t - 1, x, y), *b = px(&g, t, x, y);
                still += (!opaque(a) && !opaque(b)) || (opaque(a) && opaque(b) && !memcmp(a, b, 3));
            }
    t0 = pfi_now_ms();
    assert_int_equal(pfi_metrics_compute(&m, &g, &o), PF_OK);
    printf("200x128x128: %.1f ms\n", pfi_now_ms() - t0);
    NEAR(m.acc, 1.0 - 1.0 / ((double)n * w * h));
    NEAR(m.perfect_frames, 1);
    NEAR(m.flicker, 2.0 / still);
    free_anim(&g);
    free_anim(&o);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_colour_threshold),
        cmocka_unit_test(test_alpha),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_perfect),
        cmocka_unit_test(test_flicker),
        cmocka_unit_test(test_wrong_size),
        cmocka_unit_test(test_palette_known),
        cmocka_unit_test(test_palette_random),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
