/* test_palette.c - OKLab conversions, palette extraction, mapping with
 * hysteresis and palette files (src/palette). */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "io/io.h"
#include "palette/palette.h"

/* ---- helpers ------------------------------------------------------------ */

static double tu_gauss(uint64_t *s)
{
    double u = tu_uniform(s) + 1e-300, v = tu_uniform(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* sRGB8 -> OKLab in double precision straight from the formulas. */
static void ref_oklab(const uint8_t c[3], double lab[3])
{
    double lin[3], lms[3];
    for (int i = 0; i < 3; i++) {
        double v = c[i] / 255.0;
        lin[i] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
    }
    lms[0] = cbrt(0.4122214708 * lin[0] + 0.5363325363 * lin[1] + 0.0514459929 * lin[2]);
    lms[1] = cbrt(0.2119034982 * lin[0] + 0.6806995451 * lin[1] + 0.1073969566 * lin[2]);
    lms[2] = cbrt(0.0883024619 * lin[0] + 0.2817188376 * lin[1] + 0.6299787005 * lin[2]);
    lab[0] = 0.2104542553 * lms[0] + 0.7936177850 * lms[1] - 0.0040720468 * lms[2];
    lab[1] = 1.9779984951 * lms[0] - 2.4285922050 * lms[1] + 0.4505937099 * lms[2];
    lab[2] = 0.0259040371 * lms[0] + 0.7827717662 * lms[1] - 0.8086757660 * lms[2];
}

static void hex_to_lab(const char *hex, float lab[3])
{
    unsigned v = (unsigned)strtoul(hex, NULL, 16);
    uint8_t c[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    pfi_srgb8_to_oklab(c, lab);
}

/* Parses a space-separated list of RRGGBB into OKLab; returns the count. */
static int parse_list(const char *list, float (*lab)[3])
{
    int n = 0;
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        hex_to_lab(p, lab[n++]);
        p += 6;
    }
    return n;
}

/* A random palette of k sRGB8 colours at least `sep` apart in OKLab. */
static int random_palette(int k, float sep, uint64_t *rng, float (*lab)[3])
{
    int n = 0;
    for (int tries = 0; n < k && tries < 1000000; tries++) {
        uint8_t c[3] = { (uint8_t)tu_rand(rng), (uint8_t)tu_rand(rng), (uint8_t)tu_rand(rng) };
        float l[3];
        int ok = 1;
        pfi_srgb8_to_oklab(c, l);
        for (int i = 0; i < n && ok; i++) ok = pfi_oklab_dist(l, lab[i]) >= sep;
        if (ok) memcpy(lab[n++], l, sizeof l);
    }
    return n;
}

/* m colours drawn from k true colours (weights w, or 1..10 at random when
 * NULL) with Gaussian noise of sigma per OKLab axis, then quantised to
 * sRGB8 like the pipeline's native pixels. */
static void noisy_clusters(float *out, size_t m, const float (*P)[3], int k, const double *w,
                           double sigma, uint64_t *rng)
{
    double wl[256], ws = 0;
    for (int i = 0; i < k; i++) ws += wl[i] = w ? w[i] : 1.0 + 9.0 * tu_uniform(rng);
    for (size_t i = 0; i < m; i++) {
        double u = tu_uniform(rng) * ws;
        int j = 0;
        while (j < k - 1 && u >= wl[j]) u -= wl[j++];
        float x[3], rgb[3];
        uint8_t q[3];
        for (int d = 0; d < 3; d++) x[d] = P[j][d] + (float)(sigma * tu_gauss(rng));
        pfi_oklab_to_srgb(x, rgb);
        for (int d = 0; d < 3; d++) q[d] = (uint8_t)lrintf(rgb[d] * 255.0f);
        pfi_srgb8_to_oklab(q, out + 3 * i);
    }
}

/* Distance from lab to the nearest of k colours. */
static float nearest_of(const float lab[3], const float (*set)[3], int k)
{
    float best = INFINITY;
    for (int i = 0; i < k; i++) best = fminf(best, pfi_oklab_dist(lab, set[i]));
    return best;
}

/* Checks an auto extraction against the true colours: count within tol,
 * every true colour matched within 0.03, no entry far from all of them. */
static void check_extraction(const char *what, const float (*P)[3], int k, double sigma, size_t m,
                             uint64_t seed)
{
    uint64_t rng = seed;
    float *lab = malloc(m * 3 * sizeof(float));
    pfi_palette p;
    assert_non_null(lab);
    noisy_clusters(lab, m, P, k, NULL, sigma, &rng);
    double t0 = pfi_now_ms();
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, 0), PF_OK);
    double ms = pfi_now_ms() - t0;
    int tol = (int)(0.1 * k);
    float worst = 0, junk = 0;
    for (int i = 0; i < k; i++) {
        float d;
        pfi_palette_nearest(&p, P[i], &d);
        worst = fmaxf(worst, d);
    }
    for (int i = 0; i < p.n; i++) junk = fmaxf(junk, nearest_of(p.lab[i], P, k));
    printf("  %-22s k=%2d sigma=%.3f: %2d colours, worst true colour %.4f, worst entry %.4f, %.0f ms\n",
           what, k, sigma, p.n, worst, junk, ms);
    assert_in_range(p.n, k - tol, k + tol);
    assert_true(worst <= 0.03f);
    assert_true(junk <= 0.06f);
    free(lab);
}

/* ---- OKLab ---------------------------------------------------------------- */

static void test_oklab_reference(void **state)
{
    (void)state;
    /* Ottosson's matrices; primaries as published in CSS Color 4 */
    static const struct { float rgb[3]; float lab[3]; } ref[] = {
        { { 1, 1, 1 }, { 1.0f, 0.0f, 0.0f } },
        { { 0, 0, 0 }, { 0.0f, 0.0f, 0.0f } },
        { { 1, 0, 0 }, { 0.62796f, 0.22486f, 0.12585f } },
        { { 0, 1, 0 }, { 0.86644f, -0.23389f, 0.17950f } },
        { { 0, 0, 1 }, { 0.45201f, -0.03246f, -0.31153f } },
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        float lab[3], back[3];
        pfi_srgb_to_oklab(ref[i].rgb, lab);
        for (int d = 0; d < 3; d++) assert_true(fabsf(lab[d] - ref[i].lab[d]) < 1e-4f);
        pfi_oklab_to_srgb(lab, back);
        for (int d = 0; d < 3; d++) assert_true(fabsf(back[d] - ref[i].rgb[d]) < 1e-4f);
    }
}

/* The built-in linearisation table against the formula in double, and the
 * float path against the table. */
static void test_oklab_table(void **state)
{
    (void)state;
    uint64_t rng = 11;
    double worst = 0;
    for (int i = 0; i < 256 + 20000; i++) {
        uint8_t c[3];
        if (i < 256) c[0] = c[1] = c[2] = (uint8_t)i;
        else for (int d = 0; d < 3; d++) c[d] = (uint8_t)tu_rand(&rng);
        float lab[3], lab2[3], rgb[3] = { c[0] / 255.0f, c[1] / 255.0f, c[2] / 255.0f };
        double want[3];
        pfi_srgb8_to_oklab(c, lab);
        pfi_srgb_to_oklab(rgb, lab2);
        ref_oklab(c, want);
        for (int d = 0; d < 3; d++) {
            worst = fmax(worst, fabs(lab[d] - want[d]));
            assert_true(fabs(lab[d] - want[d]) < 2e-6);
            assert_true(fabsf(lab[d] - lab2[d]) < 1e-5f);
        }
    }
    printf("  sRGB8 table vs double formula: max error %.2g\n", worst);
}

/* sRGB8 -> OKLab -> sRGB8 gives back every one of the 256^3 colours. */
static void test_oklab_round_trip(void **state)
{
    (void)state;
    long bad = 0;
    for (int r = 0; r < 256; r++)
        for (int g = 0; g < 256; g++)
            for (int b = 0; b < 256; b++) {
                uint8_t c[3] = { (uint8_t)r, (uint8_t)g, (uint8_t)b };
                float lab[3], rgb[3];
                pfi_srgb8_to_oklab(c, lab);
                pfi_oklab_to_srgb(lab, rgb);
                for (int d = 0; d < 3; d++) bad += lrintf(rgb[d] * 255.0f) != c[d];
            }
    assert_int_equal(bad, 0);
}

static void test_oklab_clamp_and_dist(void **state)
{
    (void)state;
    uint64_t rng = 5;
    for (int i = 0; i < 10000; i++) {
        float lab[3] = { (float)(tu_uniform(&rng) * 1.6 - 0.3), (float)(tu_uniform(&rng) - 0.5),
                         (float)(tu_uniform(&rng) - 0.5) }, rgb[3];
        pfi_oklab_to_srgb(lab, rgb);
        for (int d = 0; d < 3; d++) assert_true(rgb[d] >= 0.0f && rgb[d] <= 1.0f);
    }
    float nan3[3] = { NAN, NAN, NAN }, rgb[3];
    pfi_oklab_to_srgb(nan3, rgb);
    for (int d = 0; d < 3; d++) assert_true(rgb[d] >= 0.0f && rgb[d] <= 1.0f);

    float a[3] = { 0.5f, 0.0f, 0.0f }, b[3] = { 0.5f, 0.3f, 0.4f };
    assert_true(fabsf(pfi_oklab_dist(a, b) - 0.5f) < 1e-6f);
    assert_true(pfi_oklab_dist(a, b) == pfi_oklab_dist(b, a));
    assert_true(pfi_oklab_dist(a, a) == 0.0f);

    pfi_palette p;
    memset(&p, 0, sizeof p);
    p.n = 2;
    p.rgb[1][0] = 255;
    pfi_palette_update_lab(&p);
    assert_true(fabsf(p.lab[0][0]) < 1e-6f);
    assert_true(fabsf(p.lab[1][0] - 0.62796f) < 1e-4f);
}

/* ---- extraction ------------------------------------------------------------- */

static const char *PICO8 =
    "000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8 ff004d ffa300 ffec27 00e436 "
    "29adff 83769c ff77a8 ffccaa";
static const char *DB16 =
    "140c1c 442434 30346d 4e4a4e 854c30 346524 d04648 757161 597dce d27d2c 8595a1 6daa2c "
    "d2aa99 6dc2ca dad45e deeed6";
/* DawnBringer's 32 has pairs only 0.068 apart */
static const char *DB32 =
    "000000 222034 45283c 663931 8f563b df7126 d9a066 eec39a fbf236 99e550 6abe30 37946e "
    "4b692f 524b24 323c39 3f3f74 306082 5b6ee1 639bff 5fcde4 cbdbfc ffffff 9badb7 847e87 "
    "696a6a 595652 76428a ac3232 d95763 d77bba 8f974a 8a6f30";

static void test_extract_known_palettes(void **state)
{
    (void)state;
    float P[64][3];
    int k;
    k = parse_list("000000 ffffff", P);
    check_extraction("black/white", (const float (*)[3])P, k, 0.02, 100000, 1);
    k = parse_list("000000 55ffff ff55ff ffffff", P);
    check_extraction("CGA 4", (const float (*)[3])P, k, 0.02, 150000, 2);
    k = parse_list("000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8", P);
    check_extraction("PICO-8 first 8", (const float (*)[3])P, k, 0.02, 150000, 3);
    k = parse_list(PICO8, P);
    check_extraction("PICO-8", (const float (*)[3])P, k, 0.02, 300000, 4);
    check_extraction("PICO-8", (const float (*)[3])P, k, 0.01, 300000, 5);
    k = parse_list(DB16, P);
    check_extraction("DawnBringer 16", (const float (*)[3])P, k, 0.015, 300000, 6);
    k = parse_list(DB32, P);
    check_extraction("DawnBringer 32", (const float (*)[3])P, k, 0.01, 400000, 7);
}

static void test_extract_random_palettes(void **state)
{
    (void)state;
    static const int sizes[] = { 2, 4, 8, 16, 32 };
    float P[64][3];
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint64_t rng = 100 + 10 * (uint64_t)t + i;
            /* sigma 0.02 per axis needs ~5 sigma between colours; 0.01 is
             * resolved down to the 0.06 the header promises */
            double sigma = t ? 0.01 : 0.02;
            int k = random_palette(sizes[i], t ? 0.065f : 0.1f, &rng, P);
            assert_int_equal(k, sizes[i]);
            check_extraction("random", (const float (*)[3])P, k, sigma, 200000, rng);
        }
}

/* A colour of one pixel per frame over 40 frames, far from everything, is
 * a colour (an eye highlight); a few hundred pixels just beside a big
 * colour are its noise. */
static void test_extract_small_colours(void **state)
{
    (void)state;
    float P[3][3], hi[3], *lab;
    uint64_t rng = 77;
    size_t m = 40 * 64 * 64, n;
    parse_list("1a1c2c 5d275d 94b0c2", P);
    hex_to_lab("ffcd75", hi);
    lab = malloc((m + 500) * 3 * sizeof(float));
    assert_non_null(lab);
    noisy_clusters(lab, m - 40, (const float (*)[3])P, 3, NULL, 0.01, &rng);
    n = m - 40;
    for (int i = 0; i < 40; i++, n++) memcpy(lab + 3 * n, hi, sizeof hi);
    /* a faint shoulder 0.03 from the first colour */
    for (int i = 0; i < 300; i++, n++) {
        memcpy(lab + 3 * n, P[0], sizeof hi);
        lab[3 * n] += 0.03f;
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, n, 0), PF_OK);
    float d;
    pfi_palette_nearest(&p, hi, &d);
    assert_int_equal(p.n, 4);
    assert_true(d < 0.01f);
    /* the same highlight as a single stray pixel is noise */
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m - 39, 0), PF_OK);
    assert_int_equal(p.n, 3);
    free(lab);
}

/* A small clean sprite (one 16x16 frame, exact colours, some used by a
 * single pixel) keeps every colour exactly. */
static void test_extract_small_sprite(void **state)
{
    (void)state;
    float P[12][3], lab[256 * 3];
    uint64_t rng = 13;
    size_t n = 0;
    assert_int_equal(random_palette(12, 0.1f, &rng, P), 12);
    for (int j = 0; j < 12; j++)
        for (int r = 0; r < (j < 4 ? 1 : 2 * j); r++, n++) memcpy(lab + 3 * n, P[j], sizeof P[j]);
    while (n < 256) { memcpy(lab + 3 * n, P[11], sizeof P[11]); n++; }
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, n, 0), PF_OK);
    assert_int_equal(p.n, 12);
    for (int j = 0; j < 12; j++) {
        float d;
        pfi_palette_nearest(&p, P[j], &d);
        assert_true(d < 1e-6f);
    }
}

/* Noisy 8-bit black splits into several OKLab clumps ((0,0,0) and (1,1,1)
 * are 0.067 apart); it must still be one entry, and black. */
static void test_extract_near_black(void **state)
{
    (void)state;
    uint64_t rng = 9;
    size_t m = 60000;
    float *lab = malloc(m * 3 * sizeof(float));
    assert_non_null(lab);
    for (size_t i = 0; i < m; i++) {
        uint8_t c[3];
        int which = (int)(tu_rand(&rng) % 3);
        for (int d = 0; d < 3; d++) {
            int base = which == 0 ? 0 : which == 1 ? 255 : (d == 0 ? 200 : 40);
            int v = base + (int)lrint(2.5 * tu_gauss(&rng));
            c[d] = (uint8_t)pfi_clampi(v, 0, 255);
        }
        pfi_srgb8_to_oklab(c, lab + 3 * i);
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, 0), PF_OK);
    assert_int_equal(p.n, 3);
    assert_true(p.rgb[0][0] <= 2 && p.rgb[0][1] <= 2 && p.rgb[0][2] <= 2);
    free(lab);
}

/* Mixes of two colours along the sRGB path between them (cells on an
 * edge) are not colours; a compact colour between two others is. */
static void test_extract_blends(void **state)
{
    (void)state;
    uint64_t rng = 21;
    size_t m = 120000;
    float *lab = malloc(m * 3 * sizeof(float));
    float P[3][3], rgb[3][3];
    parse_list("202020 f0d020 e06020", P);
    for (int j = 0; j < 3; j++) pfi_oklab_to_srgb(P[j], rgb[j]);
    assert_non_null(lab);
    for (size_t i = 0; i < m; i++) {
        double u = tu_uniform(&rng);
        float x[3], c[3];
        uint8_t q[3];
        if (u < 0.06) {   /* blend between the outline and the yellow */
            double t = tu_uniform(&rng);
            for (int d = 0; d < 3; d++) c[d] = (float)(t * rgb[0][d] + (1 - t) * rgb[1][d]);
        } else {
            int j = u < 0.5 ? 0 : u < 0.9 ? 1 : 2;
            for (int d = 0; d < 3; d++) x[d] = P[j][d] + (float)(0.008 * tu_gauss(&rng));
            pfi_oklab_to_srgb(x, c);
        }
        for (int d = 0; d < 3; d++) q[d] = (uint8_t)lrintf(c[d] * 255.0f);
        pfi_srgb8_to_oklab(q, lab + 3 * i);
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, 0), PF_OK);
    assert_int_equal(p.n, 3);
    for (int j = 0; j < 3; j++) {
        float d;
        pfi_palette_nearest(&p, P[j], &d);
        assert_true(d < 0.02f);
    }
    free(lab);
}

/* A dense, even ramp (AI shading) becomes steps, not one muddy colour:
 * every colour on it ends within 0.05 of an entry, and the steps stay
 * apart. */
static void test_extract_ramp(void **state)
{
    (void)state;
    uint64_t rng = 31;
    size_t m = 100000;
    float *lab = malloc(m * 3 * sizeof(float)), a[3], b[3];
    hex_to_lab("203060", a);
    hex_to_lab("80b0e0", b);
    assert_non_null(lab);
    for (size_t i = 0; i < m; i++) {
        float t = (float)tu_uniform(&rng), x[3], rgb[3];
        uint8_t q[3];
        for (int d = 0; d < 3; d++) x[d] = a[d] + t * (b[d] - a[d]) + (float)(0.004 * tu_gauss(&rng));
        pfi_oklab_to_srgb(x, rgb);
        for (int d = 0; d < 3; d++) q[d] = (uint8_t)lrintf(rgb[d] * 255.0f);
        pfi_srgb8_to_oklab(q, lab + 3 * i);
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, 0), PF_OK);
    float worst = 0;
    for (int i = 0; i <= 100; i++) {
        float x[3], d;
        for (int c = 0; c < 3; c++) x[c] = a[c] + 0.01f * (float)i * (b[c] - a[c]);
        pfi_palette_nearest(&p, x, &d);
        worst = fmaxf(worst, d);
    }
    printf("  ramp of length %.3f: %d steps, farthest ramp colour %.3f\n", pfi_oklab_dist(a, b), p.n, worst);
    assert_true(worst <= 0.05f);
    assert_in_range(p.n, 4, 12);
    for (int i = 0; i < p.n; i++)
        for (int j = i + 1; j < p.n; j++) assert_true(pfi_oklab_dist(p.lab[i], p.lab[j]) >= 0.035f);
    free(lab);
}

/* colors = N is a maximum: N entries when the clip has more colours, the
 * automatic palette itself when it has N or fewer. */
static void test_extract_fixed_count(void **state)
{
    (void)state;
    float P[8][3];
    uint64_t rng = 41;
    size_t m = 100000;
    float *lab = malloc(m * 3 * sizeof(float));
    pfi_palette p, a;
    assert_non_null(lab);
    assert_int_equal(random_palette(8, 0.1f, &rng, P), 8);
    noisy_clusters(lab, m, (const float (*)[3])P, 8, NULL, 0.01, &rng);
    assert_int_equal(pfi_palette_extract(&a, lab, NULL, NULL, m, 0), PF_OK);
    assert_int_equal(a.n, 8);
    static const int want[] = { 1, 2, 3, 5, 7, 8, 12, 16, 40, 64, 256 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, want[i]), PF_OK);
        if (want[i] >= 8) {   /* the automatic palette, exactly */
            assert_int_equal(p.n, 8);
            assert_memory_equal(p.rgb, a.rgb, 8 * 3);
            continue;
        }
        assert_int_equal(p.n, want[i]);
        for (int x = 0; x < p.n; x++)   /* all distinct */
            for (int y = x + 1; y < p.n; y++) assert_memory_not_equal(p.rgb[x], p.rgb[y], 3);
    }
    for (int j = 0; j < 8; j++) {
        float d;
        pfi_palette_nearest(&a, P[j], &d);
        assert_true(d < 0.02f);
    }
    /* fewer distinct colours than asked: each of them once, exactly */
    static const uint8_t exact[3][3] = { { 10, 20, 30 }, { 200, 100, 50 }, { 255, 255, 255 } };
    for (size_t i = 0; i < 3000; i++) pfi_srgb8_to_oklab(exact[i % 3], lab + 3 * i);
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 3000, 8), PF_OK);
    assert_int_equal(p.n, 3);
    for (int j = 0; j < 3; j++) {
        int found = 0;
        for (int i = 0; i < p.n; i++) found |= !memcmp(p.rgb[i], exact[j], 3);
        assert_true(found);
    }
    /* and auto mode returns exact colours exactly */
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 3000, 0), PF_OK);
    assert_int_equal(p.n, 3);
    free(lab);
}

static void test_extract_deterministic(void **state)
{
    (void)state;
    float P[16][3];
    uint64_t rng = 51;
    size_t m = 150000;
    float *lab = malloc(m * 3 * sizeof(float));
    pfi_palette a, b;
    assert_non_null(lab);
    parse_list(PICO8, P);
    noisy_clusters(lab, m, (const float (*)[3])P, 16, NULL, 0.02, &rng);
    for (int colors = 0; colors <= 24; colors += 12) {
        memset(&a, 0xAB, sizeof a);
        memset(&b, 0xCD, sizeof b);
        assert_int_equal(pfi_palette_extract(&a, lab, NULL, NULL, m, colors), PF_OK);
        assert_int_equal(pfi_palette_extract(&b, lab, NULL, NULL, m, colors), PF_OK);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.rgb, b.rgb, (size_t)a.n * 3);
        assert_memory_equal(a.lab, b.lab, (size_t)a.n * sizeof a.lab[0]);
    }
    free(lab);
}

/* Weights act as pixel counts: one point of weight 5 is five points, and
 * weights that are shares (mean < 1) give the same as counts. */
static void test_extract_weights(void **state)
{
    (void)state;
    float P[4][3];
    uint64_t rng = 61;
    size_t m = 20000;
    float *lab = malloc(m * 5 * 3 * sizeof(float)), *w = malloc(m * sizeof(float));
    float *rep = lab + m * 3;
    pfi_palette a, b, c;
    assert_true(lab && w);
    parse_list("102030 c04040 40c040 f0f0a0", P);
    noisy_clusters(lab, m, (const float (*)[3])P, 4, NULL, 0.01, &rng);
    for (size_t i = 0; i < m; i++) {
        w[i] = 5.0f;
        for (int r = 0; r < 4; r++) memcpy(rep + 3 * (4 * i + r), lab + 3 * i, 3 * sizeof(float));
    }
    assert_int_equal(pfi_palette_extract(&a, lab, w, NULL, m, 0), PF_OK);
    /* the same colours five times over, unweighted */
    float *five = malloc(m * 5 * 3 * sizeof(float));
    assert_non_null(five);
    memcpy(five, lab, m * 3 * sizeof(float));
    memcpy(five + m * 3, rep, m * 4 * 3 * sizeof(float));
    assert_int_equal(pfi_palette_extract(&b, five, NULL, NULL, m * 5, 0), PF_OK);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.rgb, b.rgb, (size_t)a.n * 3);
    for (size_t i = 0; i < m; i++) w[i] = 1e-3f;
    assert_int_equal(pfi_palette_extract(&c, lab, w, NULL, m, 0), PF_OK);
    assert_int_equal(c.n, 4);
    /* zero, negative and NaN weights and NaN colours are skipped */
    for (size_t i = 0; i < m; i++) w[i] = 1.0f;
    for (size_t i = 0; i < m; i += 10) {
        w[i] = (i / 10) % 3 == 0 ? 0.0f : (i / 10) % 3 == 1 ? -4.0f : NAN;
        lab[3 * i + 1] = 0.35f;   /* far-off colour that must not count */
    }
    lab[3 * 5] = NAN;
    assert_int_equal(pfi_palette_extract(&c, lab, w, NULL, m, 0), PF_OK);
    assert_int_equal(c.n, 4);
    free(lab);
    free(w);
    free(five);
}

static void test_extract_args(void **state)
{
    (void)state;
    float lab[6] = { 0.5f, 0, 0, 0.6f, 0.1f, 0 };
    pfi_palette p;
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 2, -1), PF_EINVAL);
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 2, 257), PF_EINVAL);
    assert_int_equal(pfi_palette_extract(NULL, lab, NULL, NULL, 2, 0), PF_EINVAL);
    assert_int_equal(pfi_palette_extract(&p, NULL, NULL, NULL, 2, 0), PF_EINVAL);
    p.n = 99;
    assert_int_equal(pfi_palette_extract(&p, NULL, NULL, NULL, 0, 0), PF_OK);
    assert_int_equal(p.n, 0);
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 2, 0), PF_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, 1, 0), PF_OK);
    assert_int_equal(p.n, 1);
    float bad[3] = { NAN, 0, 0 };
    assert_int_equal(pfi_palette_extract(&p, bad, NULL, NULL, 1, 4), PF_OK);
    assert_int_equal(p.n, 0);
    /* absurd and infinite colours are ignored, not binned */
    float huge[12] = { 1e30f, 0, 0, 0.5f, -1e30f, 3e38f, INFINITY, 0, 0, 0.7f, 0.01f, 0.02f };
    assert_int_equal(pfi_palette_extract(&p, huge, NULL, NULL, 4, 0), PF_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(pfi_palette_extract(&p, huge, NULL, NULL, 4, 3), PF_OK);
    assert_int_equal(p.n, 1);
}

/* Prints what a restore-sized extraction costs (no assertion on time). */
static void test_extract_speed(void **state)
{
    (void)state;
    float P[32][3];
    uint64_t rng = 71;
    size_t m = 2000000;
    float *lab = malloc(m * 3 * sizeof(float));
    pfi_palette p;
    assert_non_null(lab);
    assert_int_equal(random_palette(32, 0.08f, &rng, P), 32);
    noisy_clusters(lab, m, (const float (*)[3])P, 32, NULL, 0.015, &rng);
    double t0 = pfi_now_ms();
    assert_int_equal(pfi_palette_extract(&p, lab, NULL, NULL, m, 0), PF_OK);
    printf("  2M colours, 32 true: %d colours in %.0f ms\n", p.n, pfi_now_ms() - t0);
    assert_in_range(p.n, 29, 35);
    free(lab);
}

/* ---- whole clips (pfi_palette_from_rgba) -------------------------------------- */

/* One pixel of a synthetic restored clip: colour c of the table, blended
 * towards a 4-neighbour of another region (where there is one) by a share
 * drawn from [0, edge_mix], plus Gaussian noise of sd `noise` in 8-bit
 * sRGB codes. lbl: (h, w) region indices. */
static void clip_pixel(uint8_t *px, const int *lbl, int w, int h, int x, int y, const uint8_t (*tab)[3],
                       double edge_mix, double noise, uint64_t *rng)
{
    static const int dx[4] = { 1, -1, 0, 0 }, dy[4] = { 0, 0, 1, -1 };
    int c = lbl[y * w + x], o = -1, start = (int)(tu_rand(rng) % 4);
    for (int q = 0; q < 4 && o < 0; q++) {
        int k = (start + q) & 3, xx = x + dx[k], yy = y + dy[k];
        if (xx >= 0 && yy >= 0 && xx < w && yy < h && lbl[yy * w + xx] != c) o = lbl[yy * w + xx];
    }
    double t = o >= 0 ? edge_mix * tu_uniform(rng) : 0.0;
    for (int d = 0; d < 3; d++) {
        double v = (1 - t) * tab[c][d] + t * (o >= 0 ? tab[o][d] : 0) + noise * tu_gauss(rng);
        px[d] = (uint8_t)pfi_clampi((int)lrint(v), 0, 255);
    }
    px[3] = 255;
}

/* The colour of table entry c that the palette has nearest, as a distance. */
static float entry_dist(const pfi_palette *p, const uint8_t c[3])
{
    float lab[3], d;
    pfi_srgb8_to_oklab(c, lab);
    pfi_palette_nearest(p, lab, &d);
    return d;
}

/* A sprite that is mostly browns and greys with a dark outline, and a
 * small saturated red plume (4x4 of 64x64, 0.4%) among the browns and a
 * small teal patch among the greys, as a video model restores it: every
 * cell on a region edge is a blend with its neighbour (up to half), plus
 * noise. The blends bridge the small colours to their big neighbours
 * (about 0.14 and 0.11 OKLab away); each must keep an entry of its own,
 * within 0.04 of its true colour, and no blend or noise becomes an entry. */
static void test_clip_small_hues(void **state)
{
    (void)state;
    enum { W = 64, H = 64, F = 24, NCOL = 8, RED = 6, TEAL = 7 };
    static const uint8_t tab[NCOL][3] = {
        { 0x5a, 0x3a, 0x22 }, { 0x7a, 0x52, 0x30 }, { 0x9a, 0x6a, 0x40 },   /* browns */
        { 0x80, 0x80, 0x80 }, { 0x60, 0x60, 0x60 }, { 0x20, 0x18, 0x14 },   /* greys, outline */
        { 0xb0, 0x30, 0x20 }, { 0x30, 0xa0, 0xa0 },                         /* red, teal */
    };
    uint8_t *rgba = malloc((size_t)F * W * H * 4);
    const uint8_t *frames[F];
    int lbl[W * H];
    float lab[NCOL][3];
    assert_non_null(rgba);
    for (int c = 0; c < NCOL; c++) pfi_srgb8_to_oklab(tab[c], lab[c]);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        uint64_t rng = 0x5eed0000 + seed;
        for (int f = 0; f < F; f++) {
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int c = x < 2 || y < 2 || x >= W - 2 || y >= H - 2 ? 5
                          : y < 20 ? 0 : y < 34 ? 1 : y < 44 ? 2 : x < 32 ? 3 : 4;
                    int rx = 40 + f % 4, ty = 50 - f % 3;    /* both move a little */
                    if (x >= rx && x < rx + 4 && y >= 8 && y < 12) c = RED;
                    if (x >= 10 && x < 14 && y >= ty && y < ty + 4) c = TEAL;
                    lbl[y * W + x] = c;
                }
            uint8_t *px = rgba + (size_t)f * W * H * 4;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    clip_pixel(px + ((size_t)y * W + x) * 4, lbl, W, H, x, y, tab, 0.5, 4.0, &rng);
            frames[f] = px;
        }
        pfi_palette p;
        assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 0, 1), PF_OK);
        float dr = entry_dist(&p, tab[RED]), dt = entry_dist(&p, tab[TEAL]), junk = 0, worst = 0;
        for (int i = 0; i < p.n; i++) junk = fmaxf(junk, nearest_of(p.lab[i], (const float (*)[3])lab, NCOL));
        for (int c = 0; c < NCOL; c++) worst = fmaxf(worst, entry_dist(&p, tab[c]));
        printf("  seed %d: %d entries, red %.3f (%.3f from the brown), teal %.3f (%.3f from the grey), "
               "worst colour %.3f, worst entry %.3f\n", (int)seed, p.n, dr, pfi_oklab_dist(lab[RED], lab[0]), dt,
               pfi_oklab_dist(lab[TEAL], lab[3]), worst, junk);
        assert_true(dr < 0.04f);
        assert_true(dt < 0.04f);
        assert_true(worst < 0.04f);
        assert_true(junk < 0.04f);
    }
    free(rgba);
}

/* A dark grey shirt between a black screen and a grey frame (val
 * opaque_scene_03): its cells lie on the mixing path from black to the
 * grey, spread along it by shading, and it weighs under a third of either,
 * so without the flat test it was dropped as a blend of the two and drawn
 * brown. Inside its patch the cells are flat, which an edge blend never
 * is: it keeps an entry, while the blends along the black-grey edge still
 * give none. */
static void test_clip_flat_between(void **state)
{
    (void)state;
    enum { W = 48, H = 32, F = 6 };
    static const uint8_t black[3] = { 0x18, 0x18, 0x18 }, grey[3] = { 0x88, 0x88, 0x88 },
                         shirt[3] = { 0x44, 0x44, 0x44 };
    uint8_t *rgba = malloc((size_t)F * W * H * 4);
    const uint8_t *frames[F];
    uint64_t rng = 77;
    assert_non_null(rgba);
    for (int f = 0; f < F; f++) {
        uint8_t *px = rgba + (size_t)f * W * H * 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v;
                if (x >= 6 && x < 18 && y >= 10 && y < 22) v = shirt[0] - 12 + 2 * (x - 6);   /* shaded */
                else if (x < 23) v = black[0];
                else if (x > 24) v = grey[0];
                else v = black[0] + (grey[0] - black[0]) * (x - 22) / 3.0 * tu_uniform(&rng) * 1.5;
                v += 1.5 * tu_gauss(&rng);
                uint8_t *q = px + ((size_t)y * W + x) * 4;
                q[0] = q[1] = q[2] = (uint8_t)pfi_clampi((int)lrint(v), 0, 255);
                q[3] = 255;
            }
        frames[f] = px;
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 0, 1), PF_OK);
    const uint8_t *want[3] = { black, grey, shirt };
    int blends = 0;   /* entries near none of the three */
    for (int i = 0; i < p.n; i++) {
        int near = 0;
        for (int c = 0; c < 3; c++) {
            float l[3];
            pfi_srgb8_to_oklab(want[c], l);
            near |= pfi_oklab_dist(p.lab[i], l) < 0.04f;
        }
        blends += !near;
    }
    printf("  %d entries, the shirt %.3f from one, %d other blends\n", p.n, entry_dist(&p, shirt), blends);
    assert_true(entry_dist(&p, shirt) < 0.04f);
    assert_true(entry_dist(&p, black) < 0.04f);
    assert_true(entry_dist(&p, grey) < 0.04f);
    assert_int_equal(blends, 0);
    free(rgba);
}

/* --colors N is a maximum: a clip of 8 colours (noise, compression-like
 * edge blends) asked for 16 gives its 8, with no near-duplicate (such as
 * a second near-black); asked for 5 it gives 5. */
static void test_clip_colors_max(void **state)
{
    (void)state;
    enum { W = 64, H = 48, F = 16, NCOL = 8 };
    static const uint8_t tab[NCOL][3] = {   /* PICO-8's first eight */
        { 0x00, 0x00, 0x00 }, { 0x1d, 0x2b, 0x53 }, { 0x7e, 0x25, 0x53 }, { 0x00, 0x87, 0x51 },
        { 0xab, 0x52, 0x36 }, { 0x5f, 0x57, 0x4f }, { 0xc2, 0xc3, 0xc7 }, { 0xff, 0xf1, 0xe8 },
    };
    uint8_t *rgba = malloc((size_t)F * W * H * 4);
    const uint8_t *frames[F];
    int lbl[W * H];
    uint64_t rng = 88;
    assert_non_null(rgba);
    for (int f = 0; f < F; f++) {
        for (int y = 0; y < H; y++)   /* 4 x 2 blocks of 16x24, shifting with the frame */
            for (int x = 0; x < W; x++) lbl[y * W + x] = ((x + f) / 16) % 4 + 4 * (y / 24);
        uint8_t *px = rgba + (size_t)f * W * H * 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) clip_pixel(px + ((size_t)y * W + x) * 4, lbl, W, H, x, y, tab, 0.3, 3.0, &rng);
        frames[f] = px;
    }
    pfi_palette p, a;
    assert_int_equal(pfi_palette_from_rgba(&a, frames, F, W, H, 0, 1), PF_OK);
    assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 16, 1), PF_OK);
    float close = INFINITY, worst = 0;
    for (int i = 0; i < p.n; i++)
        for (int j = i + 1; j < p.n; j++) close = fminf(close, pfi_oklab_dist(p.lab[i], p.lab[j]));
    for (int c = 0; c < NCOL; c++) worst = fmaxf(worst, entry_dist(&p, tab[c]));
    printf("  8 colours, --colors 16: %d entries (auto %d), closest pair %.3f, worst colour %.3f\n", p.n, a.n,
           close, worst);
    assert_true(p.n <= NCOL);
    assert_true(close >= 0.04f);
    assert_true(worst < 0.04f);
    assert_int_equal(p.n, a.n);
    assert_memory_equal(p.rgb, a.rgb, (size_t)p.n * 3);
    assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 5, 1), PF_OK);
    assert_int_equal(p.n, 5);
    free(rgba);
}

/* A smooth gradient between two colours (AI shading, a sky) stays a
 * modest palette: steps about the merge distance apart, not one entry per
 * noisy shade. Measured before the orphan rule: 9 entries; the bound
 * keeps what worked. */
static void test_clip_gradient(void **state)
{
    (void)state;
    enum { W = 96, H = 32, F = 12 };
    static const uint8_t a[3] = { 0x20, 0x30, 0x60 }, b[3] = { 0xe0, 0xa0, 0x40 };
    uint8_t *rgba = malloc((size_t)F * W * H * 4);
    const uint8_t *frames[F];
    uint64_t rng = 99;
    assert_non_null(rgba);
    for (int f = 0; f < F; f++) {
        uint8_t *px = rgba + (size_t)f * W * H * 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double t = (double)((x + f) % W) / (W - 1);
                for (int d = 0; d < 3; d++) {
                    double v = (1 - t) * a[d] + t * b[d] + 2.0 * tu_gauss(&rng);
                    px[((size_t)y * W + x) * 4 + d] = (uint8_t)pfi_clampi((int)lrint(v), 0, 255);
                }
                px[((size_t)y * W + x) * 4 + 3] = 255;
            }
        frames[f] = px;
    }
    pfi_palette p;
    assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 0, 1), PF_OK);
    float la[3], lb[3];
    pfi_srgb8_to_oklab(a, la);
    pfi_srgb8_to_oklab(b, lb);
    printf("  gradient of length %.3f: %d entries\n", pfi_oklab_dist(la, lb), p.n);
    assert_in_range(p.n, 4, 12);
    free(rgba);
}

/* ---- mapping ---------------------------------------------------------------- */

static void test_nearest(void **state)
{
    (void)state;
    pfi_palette p;
    uint64_t rng = 81;
    float d, lab[3] = { 0.5f, 0, 0 };
    memset(&p, 0, sizeof p);
    assert_int_equal(pfi_palette_nearest(&p, lab, &d), -1);
    assert_true(isinf(d));
    p.n = 40;
    for (int i = 0; i < p.n; i++)
        for (int c = 0; c < 3; c++) p.rgb[i][c] = (uint8_t)tu_rand(&rng);
    pfi_palette_update_lab(&p);
    for (int t = 0; t < 2000; t++) {
        uint8_t c[3] = { (uint8_t)tu_rand(&rng), (uint8_t)tu_rand(&rng), (uint8_t)tu_rand(&rng) };
        pfi_srgb8_to_oklab(c, lab);
        int best = 0;
        for (int i = 1; i < p.n; i++)
            if (pfi_oklab_dist(lab, p.lab[i]) < pfi_oklab_dist(lab, p.lab[best])) best = i;
        assert_int_equal(pfi_palette_nearest(&p, lab, &d), best);
        assert_true(fabsf(d - pfi_oklab_dist(lab, p.lab[best])) < 1e-6f);
    }
    assert_int_equal(pfi_palette_nearest(&p, p.lab[7], NULL), 7);
}

/* One-pixel frames: RGBA planes of a single cell. */
static void cell_from_lab(float cell[4], const float lab[3], float alpha)
{
    pfi_oklab_to_srgb(lab, cell);
    cell[3] = alpha;
}

/* Maps a sequence of single-pixel frames; returns the indices. */
static void map_sequence(const pfi_palette *p, const float (*labs)[3], const float *alpha, int n,
                         const pfi_hysteresis *hy, int16_t *out)
{
    float cur[4], prev[4];
    int16_t pidx = -1;
    for (int f = 0; f < n; f++) {
        cell_from_lab(cur, labs[f], alpha ? alpha[f] : 1.0f);
        pfi_palette_map_frame(p, cur, 1, 1, f ? prev : NULL, f ? &pidx : NULL, hy, &out[f]);
        memcpy(prev, cur, sizeof cur);
        pidx = out[f];
    }
}

static void test_map_frame_basic(void **state)
{
    (void)state;
    pfi_palette p;
    memset(&p, 0, sizeof p);
    p.n = 3;
    memcpy(p.rgb[0], (uint8_t[]){ 0, 0, 0 }, 3);
    memcpy(p.rgb[1], (uint8_t[]){ 255, 0, 0 }, 3);
    memcpy(p.rgb[2], (uint8_t[]){ 255, 255, 255 }, 3);
    pfi_palette_update_lab(&p);
    /* (4, 2, 3) planar RGBA */
    float cells[4 * 6] = {
        0.0f, 0.9f, 1.0f, 0.1f, 0.5f, NAN,    /* R */
        0.0f, 0.1f, 1.0f, 0.1f, 0.5f, 0.0f,   /* G */
        0.0f, 0.0f, 0.9f, 0.1f, 0.5f, 0.0f,   /* B */
        1.0f, 1.0f, 1.0f, 0.4f, NAN,  1.0f,   /* A */
    };
    int16_t idx[6];
    pfi_palette_map_frame(&p, cells, 3, 2, NULL, NULL, NULL, idx);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    assert_int_equal(idx[3], -1);   /* alpha < 0.5 */
    assert_int_equal(idx[4], -1);   /* NaN alpha */
    assert_true(idx[5] >= 0 && idx[5] < 3);   /* NaN colour: some entry, no crash */
    /* an empty palette maps everything to -1 */
    pfi_palette empty;
    memset(&empty, 0, sizeof empty);
    pfi_palette_map_frame(&empty, cells, 3, 2, NULL, NULL, NULL, idx);
    for (int i = 0; i < 6; i++) assert_int_equal(idx[i], -1);
    /* garbage previous indices are ignored */
    int16_t junk[6] = { 300, -7, 3, 2, 1, 0 };
    pfi_palette_map_frame(&p, cells, 3, 2, cells, junk, NULL, idx);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
}

/* The cached path (8-bit colours) and the direct one (other floats) give
 * exactly what each colour maps to alone: the nearest entry, or for a
 * colour far from all of them the end of a mixing path it lies on. */
static void test_map_frame_cache(void **state)
{
    (void)state;
    enum { W = 128, H = 96 };
    size_t plane = (size_t)W * H;
    float *cells = malloc(4 * plane * sizeof(float));
    int16_t *idx = malloc(plane * sizeof(int16_t));
    uint8_t set[3000][3];
    pfi_palette p;
    uint64_t rng = 83;
    assert_true(cells && idx);
    memset(&p, 0, sizeof p);
    p.n = 200;
    for (int i = 0; i < p.n; i++)
        for (int c = 0; c < 3; c++) p.rgb[i][c] = (uint8_t)tu_rand(&rng);
    pfi_palette_update_lab(&p);
    for (int i = 0; i < 3000; i++)
        for (int c = 0; c < 3; c++) set[i][c] = (uint8_t)tu_rand(&rng);
    for (size_t i = 0; i < plane; i++) {
        int exact = i % 5 != 0, k = (int)(tu_rand(&rng) % 3000);
        for (int c = 0; c < 3; c++)
            cells[c * plane + i] = exact ? set[k][c] / 255.0f : (float)tu_uniform(&rng);
        cells[3 * plane + i] = 1.0f;
    }
    double t0 = pfi_now_ms();
    pfi_palette_map_frame(&p, cells, W, H, NULL, NULL, NULL, idx);
    printf("  %dx%d frame, 200 entries: %.2f ms\n", W, H, pfi_now_ms() - t0);
    int far = 0;
    for (size_t i = 0; i < plane; i++) {
        float one[4] = { cells[i], cells[plane + i], cells[2 * plane + i], 1.0f }, lab[3], d;
        int16_t alone;
        pfi_palette_map_frame(&p, one, 1, 1, NULL, NULL, NULL, &alone);
        pfi_srgb_to_oklab(one, lab);
        const int nearest = pfi_palette_nearest(&p, lab, &d);
        if (d <= 0.05f) {
            assert_int_equal(idx[i], nearest);
            assert_int_equal(idx[i], alone);
            continue;
        }
        /* far: its own choice, or one of its neighbours' (map.c neighbour_pick) */
        far++;
        int ok = idx[i] == alone;
        const int x = (int)(i % W), y = (int)(i / W);
        for (int dy = -1; dy <= 1 && !ok; dy++)
            for (int dx = -1; dx <= 1 && !ok; dx++)
                if ((dx || dy) && x + dx >= 0 && x + dx < W && y + dy >= 0 && y + dy < H)
                    ok = idx[(size_t)(y + dy) * W + (size_t)(x + dx)] == idx[i];
        assert_true(ok);
    }
    printf("  %d of %zu colours farther than 0.05 from every entry\n", far, plane);
    free(cells);
    free(idx);
}

/* A colour that the upscaler mixed from two entries (skin and its brown
 * outline) and that lies far from every entry maps to the end it holds
 * more of, not to the nearest entry when that is a third colour of
 * another hue (teal hair): the wild clip's skin shadows went teal. Near
 * an entry, the nearest one stands. */
static void test_map_blend_end(void **state)
{
    (void)state;
    pfi_palette p;
    memset(&p, 0, sizeof p);
    p.n = 3;
    memcpy(p.rgb[0], (uint8_t[]){ 243, 199, 175 }, 3);   /* skin */
    memcpy(p.rgb[1], (uint8_t[]){ 96, 61, 56 }, 3);      /* outline */
    memcpy(p.rgb[2], (uint8_t[]){ 140, 181, 174 }, 3);   /* teal */
    pfi_palette_update_lab(&p);
    /* skin shares of the sRGB mix, and the end each must map to */
    const float share[] = { 0.9f, 0.7f, 0.6f, 0.4f, 0.3f, 0.1f };
    const int want[] = { 0, 0, 0, 1, 1, 1 };
    float cells[4 * 6];
    for (int i = 0; i < 6; i++) {
        for (int c = 0; c < 3; c++)
            cells[c * 6 + i] = (share[i] * p.rgb[0][c] + (1 - share[i]) * p.rgb[1][c]) / 255.0f;
        cells[3 * 6 + i] = 1.0f;
    }
    int16_t idx[6];
    pfi_palette_map_frame(&p, cells, 6, 1, NULL, NULL, NULL, idx);
    int teal_nearest = 0;
    for (int i = 0; i < 6; i++) {
        float rgb[3] = { cells[i], cells[6 + i], cells[12 + i] }, lab[3];
        pfi_srgb_to_oklab(rgb, lab);
        teal_nearest += pfi_palette_nearest(&p, lab, NULL) == 2;
        assert_int_equal(idx[i], want[i]);
    }
    assert_true(teal_nearest >= 3);   /* plain nearest would have gone teal */
    /* a colour near teal stays teal although it lies on no path */
    float near_teal[4] = { 145 / 255.f, 178 / 255.f, 170 / 255.f, 1.0f };
    int16_t one;
    pfi_palette_map_frame(&p, near_teal, 1, 1, NULL, NULL, NULL, &one);
    assert_int_equal(one, 2);
}

/* A cell far from every entry whose nearest is a third hue that appears
 * nowhere near it (teal) takes its near neighbours' entry (skin) when that
 * is at most 0.04 OKLab farther; a far cell whose neighbours' entries are
 * much farther keeps its own; with no near neighbour nothing changes. */
static void test_map_neighbours(void **state)
{
    (void)state;
    pfi_palette p;
    memset(&p, 0, sizeof p);
    p.n = 3;
    memcpy(p.rgb[0], (uint8_t[]){ 201, 153, 136 }, 3);   /* skin */
    memcpy(p.rgb[1], (uint8_t[]){ 40, 30, 30 }, 3);      /* outline */
    memcpy(p.rgb[2], (uint8_t[]){ 150, 140, 140 }, 3);   /* teal-grey */
    pfi_palette_update_lab(&p);
    /* a colour far from every entry, nearer the grey than the skin */
    const float odd[3] = { 140 / 255.f, 162 / 255.f, 110 / 255.f };
    float lab[3], d_grey, d_skin;
    pfi_srgb_to_oklab(odd, lab);
    d_grey = pfi_oklab_dist(lab, p.lab[2]);
    d_skin = pfi_oklab_dist(lab, p.lab[0]);
    printf("  odd cell: %.3f from the grey, %.3f from the skin\n", d_grey, d_skin);
    assert_true(d_grey > 0.05f && d_grey < d_skin && d_skin < d_grey + 0.04f);
    float cells[4 * 9];
    int16_t idx[9];
    for (int i = 0; i < 9; i++) {
        for (int c = 0; c < 3; c++) cells[c * 9 + i] = i == 4 ? odd[c] : p.rgb[0][c] / 255.f;
        cells[3 * 9 + i] = 1.0f;
    }
    pfi_palette_map_frame(&p, cells, 3, 3, NULL, NULL, NULL, idx);
    for (int i = 0; i < 9; i++) assert_int_equal(idx[i], 0);   /* the odd cell went skin */
    /* alone (1 x 1) it stays grey, its nearest */
    int16_t one;
    float alone[4] = { odd[0], odd[1], odd[2], 1.0f };
    pfi_palette_map_frame(&p, alone, 1, 1, NULL, NULL, NULL, &one);
    assert_int_equal(one, 2);
    /* among outline cells (far more than 0.04 beyond the grey) it stays grey */
    for (int i = 0; i < 9; i++)
        if (i != 4)
            for (int c = 0; c < 3; c++) cells[c * 9 + i] = p.rgb[1][c] / 255.f;
    pfi_palette_map_frame(&p, cells, 3, 3, NULL, NULL, NULL, idx);
    assert_int_equal(idx[4], 2);
    assert_int_equal(idx[0], 1);
}

static void test_hysteresis(void **state)
{
    (void)state;
    pfi_hysteresis hy = pfi_hysteresis_default();
    assert_true(fabsf(hy.keep_margin - 0.03f) < 1e-6f && fabsf(hy.same_dist - 0.03f) < 1e-6f);

    /* two greys 0.1 apart in L; a pixel hovering around their midpoint */
    pfi_palette p;
    memset(&p, 0, sizeof p);
    p.n = 2;
    memcpy(p.rgb[0], (uint8_t[]){ 100, 100, 100 }, 3);
    memcpy(p.rgb[1], (uint8_t[]){ 125, 125, 125 }, 3);
    pfi_palette_update_lab(&p);
    float mid = 0.5f * (p.lab[0][0] + p.lab[1][0]);
    enum { N = 12 };
    float seq[N][3];
    int16_t with[N], without[N];

    /* small wobble (0.01 < same_dist) across the midpoint */
    for (int f = 0; f < N; f++) { seq[f][0] = mid + (f % 2 ? 0.005f : -0.005f); seq[f][1] = seq[f][2] = 0; }
    map_sequence(&p, (const float (*)[3])seq, NULL, N, &hy, with);
    for (int f = 1; f < N; f++) assert_int_equal(with[f], with[0]);
    for (int f = 0; f < N; f++) {   /* without history it flips every frame */
        float cell[4];
        cell_from_lab(cell, seq[f], 1.0f);
        pfi_palette_map_frame(&p, cell, 1, 1, NULL, NULL, &hy, &without[f]);
    }
    for (int f = 1; f < N; f++) assert_int_not_equal(without[f], without[f - 1]);

    /* a larger wobble (0.04 > same_dist) kept by the margin rule alone */
    pfi_hysteresis wide = { 0.05f, 0.01f };
    for (int f = 0; f < N; f++) seq[f][0] = mid + (f % 2 ? 0.02f : -0.02f);
    map_sequence(&p, (const float (*)[3])seq, NULL, N, &wide, with);
    for (int f = 1; f < N; f++) assert_int_equal(with[f], with[0]);
    /* with the defaults the same wobble is 0.04 > keep_margin: it follows */
    map_sequence(&p, (const float (*)[3])seq, NULL, N, &hy, with);
    for (int f = 1; f < N; f++) assert_int_not_equal(with[f], with[f - 1]);

    /* a real change switches at once */
    for (int f = 0; f < N; f++) seq[f][0] = f < 6 ? p.lab[0][0] : p.lab[1][0] + 0.01f;
    map_sequence(&p, (const float (*)[3])seq, NULL, N, &hy, with);
    for (int f = 0; f < N; f++) assert_int_equal(with[f], f < 6 ? 0 : 1);

    /* a slow drift (0.01 per frame) from one grey past the other switches
     * within a few frames of passing the midpoint */
    enum { D = 20 };
    float drift[D][3];
    int16_t di[D];
    for (int f = 0; f < D; f++) {
        drift[f][0] = p.lab[0][0] - 0.02f + 0.01f * (float)f;
        drift[f][1] = drift[f][2] = 0;
    }
    map_sequence(&p, (const float (*)[3])drift, NULL, D, &hy, di);
    assert_int_equal(di[0], 0);
    assert_int_equal(di[D - 1], 1);
    for (int f = 0; f < D; f++)
        if (drift[f][0] < mid) assert_int_equal(di[f], 0);
        else if (drift[f][0] > mid + hy.keep_margin + 2 * hy.same_dist) assert_int_equal(di[f], 1);

    /* entries closer than the margins still hand over on a drift */
    pfi_palette close;
    memset(&close, 0, sizeof close);
    close.n = 2;
    memcpy(close.rgb[0], (uint8_t[]){ 100, 100, 100 }, 3);
    memcpy(close.rgb[1], (uint8_t[]){ 105, 105, 105 }, 3);
    pfi_palette_update_lab(&close);
    assert_true(pfi_oklab_dist(close.lab[0], close.lab[1]) < hy.keep_margin);
    for (int f = 0; f < D; f++) drift[f][0] = close.lab[0][0] + 0.002f * (float)f;
    map_sequence(&close, (const float (*)[3])drift, NULL, D, &hy, di);
    assert_int_equal(di[0], 0);
    assert_int_equal(di[D - 1], 1);

    /* turning transparent gives -1, and coming back is a fresh choice */
    float alpha[N];
    for (int f = 0; f < N; f++) {
        seq[f][0] = f < 8 ? mid - 0.01f : mid + 0.01f;
        alpha[f] = f >= 4 && f < 8 ? 0.2f : 1.0f;
    }
    map_sequence(&p, (const float (*)[3])seq, alpha, N, &hy, with);
    for (int f = 0; f < 4; f++) assert_int_equal(with[f], 0);
    for (int f = 4; f < 8; f++) assert_int_equal(with[f], -1);
    for (int f = 8; f < N; f++) assert_int_equal(with[f], 1);
}

/* ---- palette files ---------------------------------------------------------- */

static char g_log[4096];

static void capture_log(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    snprintf(g_log, sizeof g_log, "%s", msg);
}

static const pfi_logger g_lg = { capture_log, NULL, PF_LOG_DEBUG };

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static pf_status load_text(const char *dir, const char *name, const char *text, pfi_palette *p)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, text, strlen(text));
    g_log[0] = 0;
    return pfi_palette_load(p, path, &g_lg);
}

static void expect_rgb(const pfi_palette *p, int i, int r, int g, int b)
{
    assert_int_equal(p->rgb[i][0], r);
    assert_int_equal(p->rgb[i][1], g);
    assert_int_equal(p->rgb[i][2], b);
    float lab[3];
    pfi_srgb8_to_oklab(p->rgb[i], lab);
    assert_memory_equal(lab, p->lab[i], sizeof lab);
}

static void test_file_hex(void **state)
{
    (void)state;
    char dir[256];
    pfi_palette p;
    tu_tmpdir(dir, sizeof dir);
    assert_int_equal(load_text(dir, "a.hex", "#FF0000\r\n00ff00\n\n  0000Fa  \r\n\n", &p), PF_OK);
    assert_int_equal(p.n, 3);
    expect_rgb(&p, 0, 255, 0, 0);
    expect_rgb(&p, 1, 0, 255, 0);
    expect_rgb(&p, 2, 0, 0, 250);
    assert_int_equal(load_text(dir, "b.HEX", "\xEF\xBB\xBF" "123456", &p), PF_OK);
    assert_int_equal(p.n, 1);
    expect_rgb(&p, 0, 0x12, 0x34, 0x56);

    assert_int_equal(load_text(dir, "bad.hex", "ff0000\n00ff00\nxyz123\n", &p), PF_EPALETTE);
    assert_int_equal(p.n, 0);
    assert_non_null(strstr(g_log, "bad.hex:3:"));
    assert_int_equal(load_text(dir, "bad2.hex", "ff00000\n", &p), PF_EPALETTE);
    assert_non_null(strstr(g_log, ":1:"));
    assert_int_equal(load_text(dir, "bad3.hex", "ff00\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "bad4.hex", "ff 000\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "empty.hex", "", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "blank.hex", "\n\r\n  \n", &p), PF_EPALETTE);

    /* 256 colours load, 257 do not */
    char *big = malloc(300 * 8);
    assert_non_null(big);
    big[0] = 0;
    for (int i = 0; i < 257; i++) sprintf(big + strlen(big), "%06x\n", i * 1000);
    assert_int_equal(load_text(dir, "257.hex", big, &p), PF_EPALETTE);
    assert_non_null(strstr(g_log, ":257:"));
    big[256 * 7] = 0;
    assert_int_equal(load_text(dir, "256.hex", big, &p), PF_OK);
    assert_int_equal(p.n, 256);
    free(big);
    tu_rmtree(dir);
}

static void test_file_gpl(void **state)
{
    (void)state;
    char dir[256];
    pfi_palette p;
    tu_tmpdir(dir, sizeof dir);
    const char *good =
        "GIMP Palette\r\n"
        "Name: Test palette\r\n"
        "Columns: 4\r\n"
        "#\r\n"
        "# a comment\r\n"
        "255   0   0\tRed\r\n"
        "  0 255   0\r\n"
        "\r\n"
        "  0   0 255 Deep blue sky\r\n";
    assert_int_equal(load_text(dir, "a.gpl", good, &p), PF_OK);
    assert_int_equal(p.n, 3);
    expect_rgb(&p, 0, 255, 0, 0);
    expect_rgb(&p, 1, 0, 255, 0);
    expect_rgb(&p, 2, 0, 0, 255);
    /* GIMP 3 RGBA palettes carry a fourth value */
    assert_int_equal(load_text(dir, "b.gpl", "GIMP Palette\nChannels: RGBA\n1 2 3 255 x\n", &p), PF_OK);
    assert_int_equal(p.n, 1);
    expect_rgb(&p, 0, 1, 2, 3);
    /* the header identifies a .gpl even under another name */
    assert_int_equal(load_text(dir, "noext", "GIMP Palette\n9 8 7\n", &p), PF_OK);
    expect_rgb(&p, 0, 9, 8, 7);

    assert_int_equal(load_text(dir, "c.gpl", "GIMP Palette\n1 2 3\n256 0 0 Too red\n", &p), PF_EPALETTE);
    assert_non_null(strstr(g_log, "c.gpl:3:"));
    assert_int_equal(load_text(dir, "d.gpl", "1 2 3\n", &p), PF_EPALETTE);
    assert_non_null(strstr(g_log, ":1:"));
    assert_int_equal(load_text(dir, "e.gpl", "GIMP Palette\n12 34\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "f.gpl", "GIMP Palette\n1 2 x\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "g.gpl", "GIMP Palette\n-1 2 3\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "h.gpl", "GIMP Palette\n1.5 2 3\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "i.gpl", "GIMP Palette\nName: nothing\n", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "j.gpl", "", &p), PF_EPALETTE);
    assert_int_equal(load_text(dir, "k.gpl", "GIMP Palette\nChannels: CMYK\n", &p), PF_EPALETTE);
    tu_rmtree(dir);
}

static void test_file_png(void **state)
{
    (void)state;
    char dir[256], path[4200];
    pfi_palette p;
    tu_tmpdir(dir, sizeof dir);
    /* 4x2: duplicates and transparent pixels are skipped, scan order kept */
    uint8_t px[8][4] = {
        { 10, 20, 30, 255 }, { 40, 50, 60, 255 }, { 10, 20, 30, 255 }, { 99, 99, 99, 0 },
        { 1, 2, 3, 200 },    { 40, 50, 60, 255 }, { 70, 80, 90, 127 }, { 250, 0, 5, 255 },
    };
    snprintf(path, sizeof path, "%s/pal.png", dir);
    assert_int_equal(pfi_png_write(path, &px[0][0], 4, 2, 1), PF_OK);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_OK);
    assert_int_equal(p.n, 4);
    expect_rgb(&p, 0, 10, 20, 30);
    expect_rgb(&p, 1, 40, 50, 60);
    expect_rgb(&p, 2, 1, 2, 3);
    expect_rgb(&p, 3, 250, 0, 5);

    /* 300 distinct colours are too many */
    uint8_t *many = malloc(300 * 4);
    assert_non_null(many);
    for (int i = 0; i < 300; i++) {
        many[4 * i] = (uint8_t)i;
        many[4 * i + 1] = (uint8_t)(i >> 8);
        many[4 * i + 2] = 7;
        many[4 * i + 3] = 255;
    }
    snprintf(path, sizeof path, "%s/many.png", dir);
    assert_int_equal(pfi_png_write(path, many, 30, 10, 1), PF_OK);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    assert_non_null(strstr(g_log, "many.png"));
    /* ... but 256 of them are fine */
    assert_int_equal(pfi_png_write(path, many, 16, 16, 1), PF_OK);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_OK);
    assert_int_equal(p.n, 256);
    /* all transparent: no colour */
    for (int i = 0; i < 300; i++) many[4 * i + 3] = 0;
    assert_int_equal(pfi_png_write(path, many, 30, 10, 1), PF_OK);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    free(many);
    /* not a PNG */
    snprintf(path, sizeof path, "%s/fake.png", dir);
    write_file(path, "GIMP Palette\n1 2 3\n", 19);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    assert_non_null(strstr(g_log, "fake.png"));
    tu_rmtree(dir);
}

static void test_file_errors(void **state)
{
    (void)state;
    char dir[256], path[4200];
    pfi_palette p;
    tu_tmpdir(dir, sizeof dir);
    static const char *const missing[] = { "none.hex", "none.gpl", "none.png", "none" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, missing[i]);
        g_log[0] = 0;
        assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
        assert_non_null(strstr(g_log, missing[i]));
    }
    g_log[0] = 0;
    assert_int_equal(pfi_palette_load(&p, dir, &g_lg), PF_EPALETTE);   /* a folder */
    assert_non_null(strstr(g_log, "is a folder"));
    snprintf(path, sizeof path, "%s/dir.png", dir);   /* a folder named like a palette */
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    assert_int_equal(pfi_palette_load(NULL, path, NULL), PF_EINVAL);
    assert_int_equal(pfi_palette_load(&p, NULL, NULL), PF_EINVAL);
    assert_int_equal(load_text(dir, "x.pal", "JASC-PAL\n0100\n1\n1 2 3\n", &p), PF_EPALETTE);
    snprintf(path, sizeof path, "%s/nul.hex", dir);
    write_file(path, "ff0000\n\0\n", 9);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    /* a file over the size limit is refused without reading it all */
    size_t n = (2u << 20) + 5;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = i % 7 == 6 ? '\n' : 'a';
    snprintf(path, sizeof path, "%s/big.hex", dir);
    write_file(path, big, n);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    /* a very long line */
    snprintf(path, sizeof path, "%s/long.gpl", dir);
    memcpy(big, "GIMP Palette\n1 2 3 ", 19);
    big[100000] = 0;
    write_file(path, big, 100000);
    assert_int_equal(pfi_palette_load(&p, path, &g_lg), PF_EPALETTE);
    free(big);
    /* random bytes never crash and never load as colours unless valid */
    uint64_t rng = 91;
    char buf[512];
    for (int t = 0; t < 400; t++) {
        size_t len = (size_t)(tu_rand(&rng) % sizeof buf);
        int textish = t % 2;
        if (t % 4 < 2) memcpy(buf, "GIMP Palette\n", 13);
        for (size_t i = (t % 4 < 2 ? 13 : 0); i < len; i++) {
            uint64_t r = tu_rand(&rng);
            buf[i] = textish ? "0123456789abcdefABCDEF #\n\r\t:GIMP"[r % 33] : (char)r;
        }
        snprintf(path, sizeof path, "%s/fuzz%d.%s", dir, t, t % 3 ? "hex" : "gpl");
        write_file(path, buf, len);
        pf_status st = pfi_palette_load(&p, path, NULL);
        assert_true(st == PF_OK || st == PF_EPALETTE);
        if (st == PF_OK) assert_in_range(p.n, 1, 256);
        else assert_int_equal(p.n, 0);
    }
    tu_rmtree(dir);
}


/* pfi_palette_snap: a dominant exact colour replaces a biased entry, clipped
 * noise near the gamut's ends snaps to 0/255, and without a dominant
 * colour an entry keeps its value. */
static void test_snap(void **state)
{
    (void)state;
    pfi_palette p = {0};
    uint8_t rgb[3 * 1000];
    size_t m = 0;
    uint64_t s = 7;
    p.n = 3;
    memcpy(p.rgb[0], (uint8_t[3]){1, 2, 1}, 3);       /* a biased "black" */
    memcpy(p.rgb[1], (uint8_t[3]){120, 60, 30}, 3);   /* mean of a dominant colour + noise */
    memcpy(p.rgb[2], (uint8_t[3]){40, 200, 90}, 3);   /* members all different */
    pfi_palette_update_lab(&p);
    for (int i = 0; i < 300; i++) { /* black with one-sided noise: no single code dominates... */
        uint8_t v = (uint8_t)(tu_rand(&s) % 4);
        rgb[m++] = (uint8_t)(i % 3 == 0 ? v : 0); rgb[m++] = (uint8_t)(i % 3 == 1 ? v : 0);
        rgb[m++] = (uint8_t)(i % 3 == 2 ? v : 0);
    }
    for (int i = 0; i < 300; i++) { /* 50% exactly (121, 61, 29) */
        int exact = i % 2 == 0, d = exact ? 0 : (int)(tu_rand(&s) % 5) - 2;
        rgb[m++] = (uint8_t)(121 + (exact ? 0 : d)); rgb[m++] = (uint8_t)(61 - (exact ? 0 : d));
        rgb[m++] = (uint8_t)(29 + (exact ? 0 : 1));
    }
    for (int i = 0; i < 60; i++) { /* 60 distinct colours around entry 2 */
        rgb[m++] = (uint8_t)(38 + i % 5); rgb[m++] = (uint8_t)(196 + i / 5 % 12 / 2); rgb[m++] = (uint8_t)(88 + i / 30);
    }
    uint8_t before2[3];
    memcpy(before2, p.rgb[2], 3);
    assert_int_equal(pfi_palette_snap(&p, rgb, m / 3, 0.03f, 0.2f, NULL), PF_OK);
    assert_memory_equal(p.rgb[0], ((uint8_t[3]){0, 0, 0}), 3);
    assert_memory_equal(p.rgb[1], ((uint8_t[3]){121, 61, 29}), 3);
    assert_memory_equal(p.rgb[2], before2, 3);
    /* lab[] follows rgb[] */
    float lab[3];
    pfi_srgb8_to_oklab(p.rgb[1], lab);
    assert_true(pfi_oklab_dist(lab, p.lab[1]) < 1e-6f);
    /* near white snaps up, and an empty input changes nothing else */
    p.n = 1;
    memcpy(p.rgb[0], (uint8_t[3]){253, 254, 128}, 3);
    pfi_palette_update_lab(&p);
    assert_int_equal(pfi_palette_snap(&p, (const uint8_t[3]){10, 10, 10}, 1, 0.03f, 0.2f, NULL), PF_OK);
    assert_memory_equal(p.rgb[0], ((uint8_t[3]){255, 255, 128}), 3);
    assert_int_equal(pfi_palette_snap(NULL, rgb, 1, 0.03f, 0.2f, NULL), PF_EINVAL);
}

/* A mean entry (no exact colour dominates its members) keeps its colour
 * even near a corner of the RGB cube: gnujump's greens (0,220..247,0),
 * blurred and re-encoded, average to (3,237,2), a shade of their own and
 * not (0,255,0). Only channels within 3 codes of an end move there. An
 * entry that an exact colour dominates takes it, and a mean entry that is
 * near no corner stays too. */
static void test_snap_mean_keeps_shade(void **state)
{
    (void)state;
    pfi_palette p = {0};
    uint8_t rgb[3 * 1200];
    size_t m = 0;
    uint64_t s = 11;
    static const uint8_t ent[4][3] = { { 3, 237, 2 }, { 240, 235, 234 }, { 234, 1, 0 }, { 120, 140, 90 } };
    p.n = 4;
    for (int e = 0; e < 4; e++) memcpy(p.rgb[e], ent[e], 3);
    pfi_palette_update_lab(&p);
    for (int e = 0; e < 4; e++)
        for (int i = 0; i < 300; i++) {   /* entry 2: every member exact; the others: noise of +-4 */
            for (int c = 0; c < 3; c++) {
                int v = ent[e][c] + (e == 2 ? 0 : (int)(tu_rand(&s) % 9) - 4);
                rgb[m++] = (uint8_t)pfi_clampi(v, 0, 255);
            }
        }
    uint8_t clean[4];
    assert_int_equal(pfi_palette_snap(&p, rgb, m / 3, 0.03f, 0.2f, clean), PF_OK);
    assert_int_equal(clean[2], 1);   /* an exact colour dominates it */
    assert_memory_equal(p.rgb[0], ((uint8_t[3]){0, 237, 0}), 3);   /* 3 and 2: clipped noise */
    assert_memory_equal(p.rgb[1], ent[1], 3);
    assert_memory_equal(p.rgb[2], ((uint8_t[3]){234, 0, 0}), 3);
    assert_memory_equal(p.rgb[3], ent[3], 3);

    /* clean: members tight around the entry; a blend's spread wide */
    p.n = 2;
    memcpy(p.rgb[0], (uint8_t[3]){100, 100, 100}, 3);
    memcpy(p.rgb[1], (uint8_t[3]){30, 26, 22}, 3);
    pfi_palette_update_lab(&p);
    m = 0;
    for (int i = 0; i < 400; i++) {
        const int e = i % 2, r = e ? 24 : 1;   /* +-1 code around the grey, +-24 around the dark */
        for (int c = 0; c < 3; c++) {
            int v = p.rgb[e][c] + (int)(tu_rand(&s) % (unsigned)(2 * r + 1)) - r;
            rgb[m++] = (uint8_t)pfi_clampi(v, 0, 255);
        }
    }
    assert_int_equal(pfi_palette_snap(&p, rgb, m / 3, 0.0f, 0.2f, clean), PF_OK);
    assert_int_equal(clean[0], 1);
    assert_int_equal(clean[1], 0);
}

/* The black point: a neutral dark entry lifted by blur and noise is
 * written as (0,0,0) and keeps its members (lab stays), also a tinted one
 * beside an exact black; a saturated dark colour, a mid grey, and a
 * neutral or clean dark grey beside black stay as they are. Through
 * pfi_palette_from_rgba, a black outline that blur lifted towards its
 * fill (by up to a quarter on the cells beside it, not at all elsewhere)
 * maps to pure black, while an outline that is (30,26,22) +- noise
 * everywhere, dark but never near black, is the artist's and stays when
 * the frames come from the network (restored); classical cells keep
 * blur's lift, so there it is black too. */
static void test_black_point(void **state)
{
    (void)state;
    pfi_palette p = {0};
    p.n = 3;
    memcpy(p.rgb[0], (uint8_t[3]){120, 60, 30}, 3);
    memcpy(p.rgb[1], (uint8_t[3]){30, 26, 22}, 3);    /* a lifted black outline */
    memcpy(p.rgb[2], (uint8_t[3]){0, 0, 130}, 3);
    pfi_palette_update_lab(&p);
    float lab1[3];
    memcpy(lab1, p.lab[1], sizeof lab1);
    pfi_palette_black_point(&p, NULL, NULL);
    assert_memory_equal(p.rgb[1], ((uint8_t[3]){0, 0, 0}), 3);
    assert_memory_equal(p.lab[1], lab1, sizeof lab1);
    assert_memory_equal(p.rgb[0], ((uint8_t[3]){120, 60, 30}), 3);
    assert_memory_equal(p.rgb[2], ((uint8_t[3]){0, 0, 130}), 3);

    const uint8_t keep[3][3] = { { 0, 0, 90 }, { 70, 70, 70 }, { 60, 20, 10 } };   /* navy, grey, dark red-brown */
    for (int k = 0; k < 3; k++) {
        p.n = 2;
        memcpy(p.rgb[0], keep[k], 3);
        memcpy(p.rgb[1], (uint8_t[3]){200, 180, 120}, 3);
        pfi_palette_update_lab(&p);
        pfi_palette_black_point(&p, NULL, NULL);
        assert_memory_equal(p.rgb[0], keep[k], 3);
    }
    p.n = 3;   /* a lifted second black beside an exact one: both written black, counted once */
    memcpy(p.rgb[0], (uint8_t[3]){0, 0, 0}, 3);
    memcpy(p.rgb[1], (uint8_t[3]){29, 29, 11}, 3);
    memcpy(p.rgb[2], (uint8_t[3]){200, 180, 120}, 3);
    pfi_palette_update_lab(&p);
    pfi_palette_black_point(&p, NULL, NULL);
    assert_memory_equal(p.rgb[1], ((uint8_t[3]){0, 0, 0}), 3);
    uint8_t distinct[3][3];
    assert_int_equal(pfi_palette_colors(&p, distinct), 2);
    assert_memory_equal(distinct[1], ((uint8_t[3]){200, 180, 120}), 3);
    memcpy(p.rgb[1], (uint8_t[3]){22, 22, 22}, 3);   /* a neutral dark grey beside black stays */
    memcpy(p.rgb[2], (uint8_t[3]){30, 24, 12}, 3);   /* and a tinted one, marked clean, too */
    pfi_palette_update_lab(&p);
    pfi_palette_black_point(&p, (const uint8_t[3]){0, 0, 1}, NULL);
    assert_memory_equal(p.rgb[1], ((uint8_t[3]){22, 22, 22}), 3);
    assert_memory_equal(p.rgb[2], ((uint8_t[3]){30, 24, 12}), 3);
    pfi_palette_black_point(&p, NULL, NULL);   /* unmarked, the tinted one is a lifted black */
    assert_memory_equal(p.rgb[1], ((uint8_t[3]){22, 22, 22}), 3);
    assert_memory_equal(p.rgb[2], ((uint8_t[3]){0, 0, 0}), 3);
    pfi_palette_black_point(NULL, NULL, NULL);

    enum { W = 32, H = 32, F = 4 };
    static const uint8_t outline[2][3] = { { 0, 0, 0 }, { 30, 26, 22 } };
    uint8_t *rgba = malloc((size_t)F * W * H * 4);
    const uint8_t *frames[F];
    int lbl[W * H];
    assert_non_null(rgba);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) lbl[y * W + x] = x < 3 || y < 3 || x >= W - 3 || y >= H - 3 ? 0 : 1;
    for (int k = 0; k < 2; k++) {
        uint8_t tab[2][3] = { { 0 }, { 220, 180, 90 } };
        uint64_t rng = 5;
        memcpy(tab[0], outline[k], 3);
        for (int f = 0; f < F; f++) {
            uint8_t *px = rgba + (size_t)f * W * H * 4;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    clip_pixel(px + ((size_t)y * W + x) * 4, lbl, W, H, x, y, (const uint8_t (*)[3])tab,
                               k ? 0.0 : 0.25, 3.0, &rng);
            frames[f] = px;
        }
        for (int restored = 0; restored < 2; restored++) {
            assert_int_equal(pfi_palette_from_rgba(&p, frames, F, W, H, 0, restored), PF_OK);
            float lab[3];
            pfi_srgb8_to_oklab(k ? outline[1] : (const uint8_t[3]){14, 11, 6}, lab);
            int e = pfi_palette_nearest(&p, lab, NULL);
            assert_true(e >= 0);
            printf("  outline %d, restored %d: entry (%d,%d,%d)\n", k, restored, p.rgb[e][0], p.rgb[e][1],
                   p.rgb[e][2]);
            if (k == 0 || !restored) {
                assert_memory_equal(p.rgb[e], ((uint8_t[3]){0, 0, 0}), 3);
            } else {
                float we[3];
                pfi_srgb8_to_oklab(p.rgb[e], we);
                assert_true(pfi_oklab_dist(we, lab) < 0.04f);
            }
        }
    }
    free(rgba);
}

/* A 12x12 frame, (12, 12, 4) RGBA8: transparent outside the 8x8 block at
 * (2, 2); the block's outer ring of colour ring, its next ring of colour
 * mid, its 4x4 core of colour core. */
static void fringe_frame(uint8_t *rgba, const uint8_t ring[3], const uint8_t mid[3], const uint8_t core[3])
{
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++) {
            uint8_t *px = rgba + ((size_t)y * 12 + x) * 4;
            const int d = x < 2 || y < 2 || x >= 10 || y >= 10 ? -1
                          : (x - 2 < y - 2 ? x - 2 : y - 2) < (9 - x < 9 - y ? 9 - x : 9 - y)
                              ? (x - 2 < y - 2 ? x - 2 : y - 2) : (9 - x < 9 - y ? 9 - x : 9 - y);
            memset(px, 0, 4);
            if (d < 0) continue;
            memcpy(px, d == 0 ? ring : d == 1 ? mid : core, 3);
            px[3] = 255;
        }
}

/* Palette entries core, mid, ring (in that order) after defringe against
 * bg (NULL: no keyed colour); returns the entries changed. */
static int fringe_run(const uint8_t ring[3], const uint8_t mid[3], const uint8_t core[3], const uint8_t *bg,
                      pfi_palette *p)
{
    uint8_t rgba[12 * 12 * 4];
    const uint8_t *frames[1] = {rgba};
    int merged = -1;
    fringe_frame(rgba, ring, mid, core);
    memset(p, 0, sizeof *p);
    p->n = 3;
    memcpy(p->rgb[0], core, 3);
    memcpy(p->rgb[1], mid, 3);
    memcpy(p->rgb[2], ring, 3);
    pfi_palette_update_lab(p);
    assert_int_equal(pfi_palette_defringe(p, frames, 1, 12, 12, bg, 0, &merged), PF_OK);
    return merged;
}

/* The background's own colour inside the sprite: single-pixel specks of a
 * magenta key (what a lossy 2.4x upscale leaves between outline cells,
 * val h264_nearest_06) are cleared; a 7x7 patch of it (trousers of the
 * green-screen colour, val video_model_04) is a sprite part and stays. */
static void test_defringe_specks(void **state)
{
    (void)state;
    static const uint8_t red[3] = {255, 0, 0}, magenta[3] = {255, 0, 255}, navy[3] = {20, 20, 90};
    uint8_t rgba[16 * 16 * 4];
    const uint8_t *frames[1] = {rgba};
    for (int patch = 0; patch < 2; patch++) {
        memset(rgba, 0, sizeof rgba);
        for (int y = 2; y < 14; y++)
            for (int x = 2; x < 14; x++) {
                uint8_t *px = rgba + ((size_t)y * 16 + x) * 4;
                const int outline = x == 2 || y == 2 || x == 13 || y == 13;
                const int key = patch ? (x >= 4 && x < 11 && y >= 4 && y < 11)
                                      : ((x == 5 && y == 5) || (x == 9 && y == 7) || (x == 6 && y == 10));
                memcpy(px, outline ? navy : key ? magenta : red, 3);
                px[3] = 255;
            }
        pfi_palette p;
        memset(&p, 0, sizeof p);
        p.n = 3;
        memcpy(p.rgb[0], red, 3);
        memcpy(p.rgb[1], navy, 3);
        memcpy(p.rgb[2], magenta, 3);
        pfi_palette_update_lab(&p);
        int merged = -1;
        assert_int_equal(pfi_palette_defringe(&p, frames, 1, 16, 16, magenta, 0, &merged), PF_OK);
        assert_int_equal(p.clear[2], patch ? 0 : 1);
        assert_int_equal(p.clear[0] + p.clear[1], 0);
        /* without a keyed colour nothing is the background */
        assert_int_equal(pfi_palette_defringe(&p, frames, 1, 16, 16, NULL, 0, &merged), PF_OK);
        assert_int_equal(p.clear[2], 0);
    }
}

static void test_defringe(void **state)
{
    (void)state;
    static const uint8_t red[3] = {255, 0, 0}, brown[3] = {166, 90, 79}, black[3] = {0, 0, 0},
                         yellow[3] = {250, 240, 120};
    uint8_t fringe[3];   /* 60% red, 40% the brown background */
    for (int c = 0; c < 3; c++) fringe[c] = (uint8_t)lround(brown[c] + 0.6 * (red[c] - brown[c]));
    pfi_palette p;

    /* a red shape whose silhouette blends with the brown background */
    assert_int_equal(fringe_run(fringe, red, red, brown, &p), 1);
    assert_memory_equal(p.rgb[2], red, 3);
    float lab[3];
    pfi_srgb8_to_oklab(fringe, lab);
    assert_true(pfi_oklab_dist(lab, p.lab[2]) < 1e-4f);   /* still matched as before */
    uint8_t distinct[3][3];
    assert_int_equal(pfi_palette_colors(&p, distinct), 1);

    /* mostly the background (20% red): the key left it opaque; cleared,
     * so mapping writes it transparent */
    uint8_t halo[3];
    for (int c = 0; c < 3; c++) halo[c] = (uint8_t)lround(brown[c] + 0.2 * (red[c] - brown[c]));
    assert_int_equal(fringe_run(halo, red, red, brown, &p), 1);
    assert_int_equal(p.clear[2], 1);
    assert_memory_equal(p.rgb[2], halo, 3);
    assert_int_equal(pfi_palette_colors(&p, distinct), 1);
    uint8_t rgba[12 * 12 * 4];
    fringe_frame(rgba, halo, red, red);
    pfi_palette_mapper mp;
    assert_int_equal(pfi_palette_mapper_init(&mp, &p, 12, 12), PF_OK);
    pfi_palette_mapper_apply(&mp, rgba);
    assert_int_equal(rgba[(2 * 12 + 2) * 4 + 3], 0);      /* the ring */
    assert_int_equal(rgba[(3 * 12 + 3) * 4 + 3], 255);    /* the red inside */
    assert_memory_equal(rgba + (3 * 12 + 3) * 4, red, 3);
    pfi_palette_mapper_free(&mp);
    fringe_frame(rgba, halo, red, red);   /* a later call starts over: nothing to clear on black */
    const uint8_t *one[1] = {rgba};
    assert_int_equal(pfi_palette_defringe(&p, one, 1, 12, 12, black, 0, NULL), PF_OK);
    assert_int_equal(p.clear[2], 0);

    /* on black, the same geometry is a darker shade: kept */
    uint8_t dark[3];
    for (int c = 0; c < 3; c++) dark[c] = (uint8_t)lround(0.6 * red[c]);
    assert_int_equal(fringe_run(dark, red, red, black, &p), 0);
    assert_memory_equal(p.rgb[2], dark, 3);

    /* a ring of the blend colour that touches only a black outline, not
     * the red it would blend from, is drawn: kept */
    assert_int_equal(fringe_run(fringe, black, red, brown, &p), 0);
    assert_memory_equal(p.rgb[2], fringe, 3);

    /* the blend colour inside the shape is drawn: kept */
    assert_int_equal(fringe_run(red, red, fringe, brown, &p), 0);
    assert_memory_equal(p.rgb[0], fringe, 3);

    /* a colour off the blend line: kept */
    assert_int_equal(fringe_run(yellow, red, red, brown, &p), 0);
    assert_memory_equal(p.rgb[2], yellow, 3);

    /* the background itself, off every blend line by its codec noise (val
     * webp_lossy_02: magenta specks (223,37,220) on a (255,1,255) key, 0.076
     * OKLab away, 23 levels off the line to the outline): cleared */
    static const uint8_t magenta[3] = {255, 1, 255}, speck[3] = {223, 37, 220}, outline[3] = {90, 65, 80};
    assert_int_equal(fringe_run(speck, outline, outline, magenta, &p), 1);
    assert_int_equal(p.clear[2], 1);
    /* ... but a dark outline beside a dull dark key, as close to it in OKLab
     * (val video_model_01: (87,54,84) on (81,40,49), 0.064 apart, the key's
     * chroma 0.062), is the sprite's: kept */
    static const uint8_t wine[3] = {81, 40, 49}, dark_purple[3] = {87, 54, 84}, skin[3] = {241, 175, 243};
    assert_int_equal(fringe_run(dark_purple, skin, skin, wine, &p), 0);
    assert_int_equal(p.clear[2], 0);
    assert_memory_equal(p.rgb[2], dark_purple, 3);

    /* 92% of the way to the shape's colour (val video_model_04: a purple
     * outline tinted by a green key): written as that colour */
    static const uint8_t green_key[3] = {68, 246, 13}, purple[3] = {85, 56, 81};
    uint8_t tinted[3];
    for (int c = 0; c < 3; c++) tinted[c] = (uint8_t)lround(green_key[c] + 0.92 * (purple[c] - green_key[c]));
    assert_int_equal(fringe_run(tinted, purple, purple, green_key, &p), 1);
    assert_memory_equal(p.rgb[2], purple, 3);

    int merged = 5;
    assert_int_equal(pfi_palette_defringe(NULL, NULL, 1, 12, 12, brown, 0, &merged), PF_EINVAL);
    assert_int_equal(merged, 0);
}

/* A background that varies (a gradient or a field of blobs, keyed pixels
 * keeping their colour): each entry's background is the mean of the
 * transparent pixels beside its silhouette. A ring 60 % red, 40 % the
 * local teal-to-purple ramp around a red core is written red; without
 * local_bg it stays. A ring of black with 20 % of the ramp around a black
 * core stays either way: beside black the mean background makes real dark
 * shades look like blends (dev bg_busy_04's greys, 0.897 -> 0.833
 * acc_opaque without that guard). */
static void test_defringe_local_bg(void **state)
{
    (void)state;
    enum { W = 16 };
    static const uint8_t red[3] = {255, 0, 0}, black[3] = {0, 0, 0}, teal[3] = {0, 160, 160},
                         purple[3] = {150, 60, 200};
    uint8_t rgba[W * W * 4];
    const uint8_t *frames[1] = {rgba};
    for (int dark = 0; dark < 2; dark++) {
        const uint8_t *core = dark ? black : red;
        const double keep = dark ? 0.0 : 0.6;   /* ring = keep core + (1 - keep) ... */
        const double bgshare = dark ? 0.2 : 0.4; /* ... + bgshare local background */
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *px = rgba + ((size_t)y * W + x) * 4;
                for (int c = 0; c < 3; c++) px[c] = (uint8_t)lrint(teal[c] + (purple[c] - teal[c]) * x / (W - 1.0));
                px[3] = 0;
            }
        double sum[3] = {0, 0, 0};
        int nring = 0;
        for (int y = 4; y < 12; y++)
            for (int x = 4; x < 12; x++) {
                uint8_t *px = rgba + ((size_t)y * W + x) * 4;
                const int ring = x == 4 || y == 4 || x == 11 || y == 11;
                px[3] = 255;
                if (!ring) {
                    memcpy(px, core, 3);
                    continue;
                }
                double bgc[3] = {0, 0, 0};
                int k = 0;
                const int nb[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
                for (int d = 0; d < 4; d++) {
                    const int qx = nb[d][0], qy = nb[d][1];
                    if (qx >= 4 && qx < 12 && qy >= 4 && qy < 12) continue;
                    for (int c = 0; c < 3; c++) bgc[c] += rgba[((size_t)qy * W + qx) * 4 + c];
                    k++;
                }
                for (int c = 0; c < 3; c++) {
                    px[c] = (uint8_t)lrint(keep * core[c] + bgshare * bgc[c] / k + (1 - keep - bgshare) * core[c]);
                    sum[c] += px[c];
                }
                nring++;
            }
        uint8_t ringc[3];
        for (int c = 0; c < 3; c++) ringc[c] = (uint8_t)lrint(sum[c] / nring);
        for (int local = 0; local < 2; local++) {
            pfi_palette p;
            memset(&p, 0, sizeof p);
            p.n = 2;
            memcpy(p.rgb[0], core, 3);
            memcpy(p.rgb[1], ringc, 3);
            pfi_palette_update_lab(&p);
            int merged = -1;
            assert_int_equal(pfi_palette_defringe(&p, frames, 1, W, W, NULL, local, &merged), PF_OK);
            assert_memory_equal(p.rgb[0], core, 3);
            assert_int_equal(p.clear[0] + p.clear[1], 0);
            if (local && !dark) {
                assert_memory_equal(p.rgb[1], red, 3);
                assert_true(merged >= 1);
            } else {
                assert_memory_equal(p.rgb[1], ringc, 3);
                assert_int_equal(merged, 0);
            }
        }
    }
}

/* c = a + t (b - a), rounded */
static void mix(uint8_t c[3], const uint8_t a[3], const uint8_t b[3], double t)
{
    for (int k = 0; k < 3; k++) c[k] = (uint8_t)lround(a[k] + t * (b[k] - a[k]));
}

static void test_defringe_pair(void **state)
{
    (void)state;
    static const uint8_t purple[3] = {93, 60, 93}, yellow[3] = {250, 248, 154}, green[3] = {0, 255, 0},
                         black[3] = {0, 0, 0}, dark_red[3] = {62, 0, 0}, orange[3] = {233, 68, 4},
                         grey[3] = {100, 100, 100}, light_grey[3] = {160, 160, 160};
    uint8_t i[3];
    pfi_palette p;

    /* a dark outline ring around a light fill, with a band of the outline
     * tinted 10% by the fill between them: the band is the outline */
    mix(i, purple, yellow, 0.1);
    assert_int_equal(fringe_run(purple, i, yellow, NULL, &p), 1);
    assert_memory_equal(p.rgb[1], purple, 3);
    assert_memory_equal(p.rgb[2], purple, 3);
    assert_memory_equal(p.rgb[0], yellow, 3);

    /* kept: the same geometry in one hue (a ramp); towards black (a colour
     * darkening into its own shade); between colours of low contrast; a
     * third of the way (a colour of its own) */
    const struct { const uint8_t *a, *b; double t; } kept[] = {
        {dark_red, orange, 0.12}, {green, black, 0.14}, {grey, light_grey, 0.1}, {purple, yellow, 0.33}};
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
        mix(i, kept[k].a, kept[k].b, kept[k].t);
        assert_int_equal(fringe_run(kept[k].a, i, kept[k].b, NULL, &p), 0);
        assert_memory_equal(p.rgb[1], i, 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oklab_reference),
        cmocka_unit_test(test_oklab_table),
        cmocka_unit_test(test_oklab_round_trip),
        cmocka_unit_test(test_oklab_clamp_and_dist),
        cmocka_unit_test(test_extract_known_palettes),
        cmocka_unit_test(test_extract_random_palettes),
        cmocka_unit_test(test_extract_small_colours),
        cmocka_unit_test(test_extract_small_sprite),
        cmocka_unit_test(test_extract_near_black),
        cmocka_unit_test(test_extract_blends),
        cmocka_unit_test(test_clip_flat_between),
        cmocka_unit_test(test_extract_ramp),
        cmocka_unit_test(test_extract_fixed_count),
        cmocka_unit_test(test_extract_deterministic),
        cmocka_unit_test(test_extract_weights),
        cmocka_unit_test(test_extract_args),
        cmocka_unit_test(test_extract_speed),
        cmocka_unit_test(test_clip_small_hues),
        cmocka_unit_test(test_clip_colors_max),
        cmocka_unit_test(test_clip_gradient),
        cmocka_unit_test(test_nearest),
        cmocka_unit_test(test_map_frame_basic),
        cmocka_unit_test(test_map_frame_cache),
        cmocka_unit_test(test_map_blend_end),
        cmocka_unit_test(test_map_neighbours),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_file_hex),
        cmocka_unit_test(test_file_gpl),
        cmocka_unit_test(test_file_png),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_snap),
        cmocka_unit_test(test_snap_mean_keeps_shade),
        cmocka_unit_test(test_black_point),
        cmocka_unit_test(test_defringe),
        cmocka_unit_test(test_defringe_specks),
        cmocka_unit_test(test_defringe_pair),
        cmocka_unit_test(test_defringe_local_bg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
