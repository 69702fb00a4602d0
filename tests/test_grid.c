/* test_grid.c - grid detection, drift, irregular boundaries, canonical
 * sampling and background keying on synthetic pixel art (tests/grid_synth.h):
 * random sprites upscaled at known scales and phases with nearest, bilinear
 * and bicubic resampling, blurred, JPEG / H.264 compressed by ffmpeg, or
 * lossy WebP compressed by libwebp; and the real AI clips of ../shared/wild
 * when they are there. Per-family hit rates go to stderr. */
#include "testutil.h"

#include <math.h>

#include "grid/grid.h"
#include "grid_synth.h"
#include "io/io.h"

/* ---- synthetic cases ------------------------------------------------------ */

/* test_families asserts the first FAM_COUNT; lossy WebP has its own test */
enum { FAM_INTEGER, FAM_NONINT, FAM_BLURRED, FAM_COMPRESSED, FAM_COUNT, FAM_WEBP = FAM_COUNT, FAM_WEBP_2X,
       FAM_SMOOTH_SMALL, FAM_LAST = FAM_SMOOTH_SMALL };
static const char *fam_name[FAM_LAST + 1] = {"integer", "non-integer", "blurred", "compressed", "lossy WebP",
                                             "2x bilinear WebP", "smooth 2.1-2.7x"};

/* One rendered case: native sprite nw x nh at scale s, phase (ox, oy). */
typedef struct gcase {
    int nw, nh, W, H, kernel;
    double s, ox, oy;
    uint8_t *native, *img;
} gcase;

static void case_free(gcase *c)
{
    free(c->native);
    free(c->img);
    memset(c, 0, sizeof *c);
}

/* Picks a phase whose half-cell count is unambiguous (by at least 0.1 cell),
 * both for the nominal grid and, with nearest, for the pixel edges. */
static void pick_phase(uint64_t *rng, gcase *c)
{
    double mx, my;
    for (;;) {
        int q = c->kernel == GS_NEAREST;
        c->ox = (tu_uniform(rng) - 0.5) * 0.9 * c->s;
        c->oy = (tu_uniform(rng) - 0.5) * 0.9 * c->s;
        if (gs_half_cells(c->s, c->ox, c->W, q, &mx) != c->nw || mx < 0.1 * c->s) continue;
        if (gs_half_cells(c->s, c->oy, c->H, q, &my) != c->nh || my < 0.1 * c->s) continue;
        if (gs_half_cells(c->s, c->ox, c->W, 0, &mx) != c->nw) continue;
        if (gs_half_cells(c->s, c->oy, c->H, 0, &my) != c->nh) continue;
        return;
    }
}

/* Renders one case of a family. dir is a scratch folder for the codecs. */
static void make_case(uint64_t *rng, int fam, const char *dir, gcase *c)
{
    uint8_t bg[3] = {255, 0, 255};
    int transparent;
    memset(c, 0, sizeof *c);
    c->nw = fam == FAM_WEBP_2X ? gs_randi(rng, 24, 48) : fam == FAM_SMOOTH_SMALL ? gs_randi(rng, 40, 64) : gs_randi(rng, 12, 64);
    c->nh = fam == FAM_WEBP_2X ? gs_randi(rng, 24, 48) : fam == FAM_SMOOTH_SMALL ? gs_randi(rng, 40, 64) : gs_randi(rng, 12, 64);
    c->s = fam == FAM_INTEGER ? gs_randi(rng, 2, 12)
         : fam == FAM_WEBP_2X ? 2
         : fam == FAM_COMPRESSED ? 3 + 9 * tu_uniform(rng)
         : fam == FAM_SMOOTH_SMALL ? 2.1 + 0.6 * tu_uniform(rng) : 2 + 10 * tu_uniform(rng);
    c->kernel = fam == FAM_INTEGER ? GS_NEAREST : fam == FAM_WEBP_2X ? GS_BILINEAR
              : fam == FAM_SMOOTH_SMALL ? gs_randi(rng, GS_BILINEAR, GS_BICUBIC) : gs_randi(rng, 0, 2);
    transparent = fam == FAM_COMPRESSED ? 0 : gs_randi(rng, 0, 1);
    if (gs_randi(rng, 0, 2)) {
        bg[0] = (uint8_t)gs_randi(rng, 0, 255);
        bg[1] = (uint8_t)gs_randi(rng, 0, 255);
        bg[2] = (uint8_t)gs_randi(rng, 0, 255);
    }
    c->W = (int)lrint(c->nw * c->s);
    c->H = (int)lrint(c->nh * c->s);
    c->native = malloc((size_t)c->nw * c->nh * 4);
    c->img = malloc((size_t)c->W * c->H * 4);
    assert_non_null(c->native);
    assert_non_null(c->img);
    gs_sprite(rng, c->nw, c->nh, transparent ? NULL : bg, c->native);
    if (fam != FAM_WEBP_2X) pick_phase(rng, c);   /* 2x: at the frame origin, on VP8's comb */
    gs_upscale(c->native, c->nw, c->nh, c->s, c->s, c->ox, c->oy, c->kernel, c->img, c->W, c->H);
    if (fam == FAM_BLURRED || (fam == FAM_WEBP && gs_randi(rng, 0, 1))) {
        gs_blur(c->img, c->W, c->H, (0.1 + 0.15 * tu_uniform(rng)) * c->s);
        gs_noise(rng, c->img, c->W, c->H, gs_randi(rng, 0, 4));
    }
    if (fam == FAM_WEBP || fam == FAM_WEBP_2X) {
        /* opaque ones flattened on the background, the others with alpha */
        if (!transparent) gs_flatten(c->img, c->W, c->H, bg);
        assert_int_equal(gs_webp(c->img, c->W, c->H,
                                 (float)(fam == FAM_WEBP ? gs_randi(rng, 20, 80) : gs_randi(rng, 40, 60))), 0);
    }
    if (fam == FAM_SMOOTH_SMALL) {
        gs_blur(c->img, c->W, c->H, (0.1 + 0.15 * tu_uniform(rng)) * c->s);
        gs_noise(rng, c->img, c->W, c->H, gs_randi(rng, 0, 4));
    }
    if (fam == FAM_COMPRESSED) {
        int codec = gs_randi(rng, 0, 1);
        gs_flatten(c->img, c->W, c->H, bg);
        assert_int_equal(gs_compress(c->img, c->W, c->H, codec,
                                     codec == 0 ? gs_randi(rng, 2, 5) : gs_randi(rng, 16, 23), dir), 0);
    }
}

/* A forced scale that both axes find on their own gets the confidence the
 * search gives it: the lattice's bend check runs on grids under 0.995, and
 * a forced exact 3x GIF (val gif_bilinear_dither_08: 0.948) was bent into
 * a mesh and lost 0.12 acc. Blurred and non-integer upscales. */
static void test_forced_scale_confidence(void **state)
{
    uint64_t rng = 0xf0c3dULL;
    char dir[4096];
    int i, sure = 0, lower = 0;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    for (i = 0; i < 40; i++) {
        gcase c;
        pfi_grid ga, gf;
        pfi_grid_params p = pfi_grid_default_params();
        const uint8_t *fr[1];
        make_case(&rng, i % 2 ? FAM_BLURRED : FAM_NONINT, dir, &c);
        fr[0] = c.img;
        if (pfi_grid_detect(&ga, fr, 1, c.W, c.H, &p, NULL) == PF_OK && fabs(ga.cell_w / c.s - 1) < 0.005 &&
            ga.cell_w == ga.cell_h && ga.confidence >= 0.995) {
            p.scale = ga.cell_w;
            assert_int_equal(pfi_grid_detect(&gf, fr, 1, c.W, c.H, &p, NULL), PF_OK);
            sure++;
            lower += gf.confidence < 0.995;
            pfi_grid_free(&gf);
        }
        pfi_grid_free(&ga);
        case_free(&c);
    }
    tu_rmtree(dir);
    fprintf(stderr, "grid: forced scale: %d of %d sure grids below 0.995 when forced\n", lower, sure);
    assert_true(sure >= 20);
    assert_int_equal(lower, 0);
}

/* ---- detection families ---------------------------------------------------- */

static void test_families(void **state)
{
    const int ncase = 100;
    uint64_t rng = 0x5eed6121ULL;
    char dir[4096];
    int fam, i;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    for (fam = 0; fam < FAM_COUNT; fam++) {
        int hits = 0, enogrid = 0;
        double worst = 0, ms = 0;
        for (i = 0; i < ncase; i++) {
            gcase c;
            pfi_grid g;
            const uint8_t *fr[1];
            pfi_grid_params p = pfi_grid_default_params();
            double t0, err;
            pf_status st;
            make_case(&rng, fam, dir, &c);
            fr[0] = c.img;
            t0 = pfi_now_ms();
            st = pfi_grid_detect(&g, fr, 1, c.W, c.H, &p, NULL);
            ms += pfi_now_ms() - t0;
            err = fmax(fabs(g.cell_w - c.s), fabs(g.cell_h - c.s)) / c.s;
            if (st == PF_OK && g.cols == c.nw && g.rows == c.nh) {
                hits++;
                assert_true(err < 0.01);   /* the cell size within 1 % */
                if (err > worst) worst = err;
                assert_true(g.confidence >= p.min_confidence && g.confidence <= 1);
                assert_true(g.xb[0] < g.xb[g.cols] && g.yb[0] < g.yb[g.rows]);
            } else if (st == PF_ENOGRID) {
                enogrid++;
            } else {
                assert_int_equal(st, PF_OK);
            }
            pfi_grid_free(&g);
            case_free(&c);
        }
        fprintf(stderr, "grid: %-11s %3d/%d exact (%.1f %%), %d no grid, worst cell error %.3f %%, "
                "%.1f ms per detection\n", fam_name[fam], hits, ncase, 100.0 * hits / ncase, enogrid,
                100 * worst, ms / ncase);
        assert_true(hits * 100 >= 95 * ncase);
    }
    tu_rmtree(dir);
}

/* ---- lossy WebP ------------------------------------------------------------ */

/* Detects ncase cases of a family (one frame each, no codec folder) and counts
 * them: exact (the native size, cells within 1 %), found but wrong, and no
 * grid. */
static void family_counts(int fam, uint64_t seed, int ncase, int *hits, int *wrong, int *enogrid)
{
    uint64_t rng = seed;
    char dir[4096];
    tu_tmpdir(dir, sizeof dir);
    *hits = *wrong = *enogrid = 0;
    for (int i = 0; i < ncase; i++) {
        gcase c;
        pfi_grid g;
        const uint8_t *fr[1];
        pfi_grid_params p = pfi_grid_default_params();
        pf_status st;
        make_case(&rng, fam, dir, &c);
        fr[0] = c.img;
        st = pfi_grid_detect(&g, fr, 1, c.W, c.H, &p, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK && g.cols == c.nw && g.rows == c.nh &&
            fmax(fabs(g.cell_w - c.s), fabs(g.cell_h - c.s)) < 0.01 * c.s) {
            (*hits)++;
        } else if (st == PF_OK) {
            (*wrong)++;
            fprintf(stderr, "grid: %s: scale %.3f found as %.3f x %.3f (%dx%d, not %dx%d)\n", fam_name[fam],
                    c.s, g.cell_w, g.cell_h, g.cols, g.rows, c.nw, c.nh);
        } else {
            (*enogrid)++;
        }
        pfi_grid_free(&g);
        case_free(&c);
    }
    fprintf(stderr, "grid: %-11s %3d/%d exact (%.1f %%), %d no grid, %d wrong\n", fam_name[fam], *hits, ncase,
            100.0 * *hits / ncase, *enogrid, *wrong);
    tu_rmtree(dir);
}

/* Lossy WebP (VP8) leaves a 2 px comb and 4 px blocks locked to the frame.
 * libwebp's smooth chroma upsampling hides the 4:2:0 subsampling from the
 * chroma test, and the detector used to take that comb for a grid of 2 px:
 * 14 of these 150 cases came out found but wrong (found, but not the
 * native size within 1 %), 11 of them as 2 px. Now such a comb must be
 * backed by the luma like any codec period: 3 wrong; exact 128 both ways
 * (the others say "no grid"). Asserted with some margin. */
static void test_lossy_webp(void **state)
{
    const int ncase = 150;
    int hits, wrong, enogrid;
    (void)state;
    family_counts(FAM_WEBP, 0x7eb9ULL, ncase, &hits, &wrong, &enogrid);
    assert_true(wrong <= 6);
    assert_true(hits * 100 >= 80 * ncase);
}

/* A 2x bilinear upscale saved as lossy WebP (q40-60), the small scales of
 * issue 14's hidden WebP kind: the art's 2 px comb sits exactly on VP8's,
 * at its phase, so the luma must vouch for it. Bilinear at 2x leaves the
 * cells less flat than nearest does (luma fit gain 0.6-0.65 where nearest
 * gives 0.9): with a gain bar of 0.65 the detector found 11 of these 40
 * and said "no grid" to the rest (the eval's val webp_lossy_09 among
 * them); at 0.60 it finds 38, and test_lossy_webp still counts 3 wrong
 * (0.55: 38 here too, 4 wrong there). */
static void test_webp_2x_bilinear(void **state)
{
    const int ncase = 40;
    int hits, wrong, enogrid;
    (void)state;
    family_counts(FAM_WEBP_2X, 0x2b11e4ULL, ncase, &hits, &wrong, &enogrid);
    assert_int_equal(wrong, 0);
    assert_true(hits * 100 >= 75 * ncase);
}

/* Bilinear or bicubic upscales by 2.1-2.7x, blurred and noisy (a GIF or
 * WebP resized by a site: issue 14's hidden GIF and WebP kinds at their
 * small end). Edges fall on whole pixels, so a comb of 2.2 px keeps only
 * sin(x) / x (x = pi / 2.2), 0.7, of its coherence however clean the
 * upscale; the confidence takes the coherence over that share
 * (pixel_attenuation in detect.c). Without it 43 of these 60 are found
 * and 15 say "no grid"; with it 49 and 9. Both find the same 2 wrong. */
static void test_smooth_small_cells(void **state)
{
    const int ncase = 60;
    int hits, wrong, enogrid;
    (void)state;
    family_counts(FAM_SMOOTH_SMALL, 0x5a11ce11ULL, ncase, &hits, &wrong, &enogrid);
    assert_true(hits >= 47);
    assert_true(wrong <= 2);
}

static pf_status detect1(const uint8_t *img, int w, int h, pfi_grid *g)
{
    const uint8_t *fr[1] = {img};
    pfi_grid_params p = pfi_grid_default_params();
    return pfi_grid_detect(g, fr, 1, w, h, &p, NULL);
}

/* Detects one frame (detect1): 1 when it finds square cells of s px
 * within 1 %, 0 when it finds other cells or says "no grid". */
static int found_at(const uint8_t *img, int w, int h, double s, pfi_grid *g, pf_status *st)
{
    *st = detect1(img, w, h, g);
    assert_true(*st == PF_OK || *st == PF_ENOGRID);
    return *st == PF_OK && fabs(g->cell_w / s - 1) < 0.01 && fabs(g->cell_h / s - 1) < 0.01;
}

/* A frame side is round(W s) px for W native pixels, and a 4:2:0 encoder
 * or a scaler that needs even sides adds one px to an odd one: at 2.1-2.7x
 * that px is 0.4 cell, so round(side / cell) counted one cell too many
 * whenever the phase left more than a tenth of a cell beyond the sprite.
 * The grid must count W either way (pfi_grid_extent) and start at the
 * boundary nearest the frame's top-left corner, where upscalers start
 * and encoders do not pad. Clean bilinear and bicubic upscales, the phase
 * within 0.45 cell of the corner; 40 cases, 33 with a padded side, 35 found
 * (the others: no grid). Counting round(side / cell) and centring the
 * cells, 25 of the 35 came out right; now 32 (the 3 left: the period is off
 * by 0.4 %, a fifth of a cell over 50). */
static void test_even_side_padding(void **state)
{
    uint64_t rng = 0xe7e5ULL;
    int right = 0, padded = 0, found = 0;
    (void)state;
    for (int i = 0; i < 40; i++) {
        const int nw = gs_randi(&rng, 30, 60), nh = gs_randi(&rng, 30, 60);
        const double s = 2.1 + 0.6 * tu_uniform(&rng);
        const double ox = (tu_uniform(&rng) - 0.5) * 0.9 * s, oy = (tu_uniform(&rng) - 0.5) * 0.9 * s;
        int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        padded += (W & 1) || (H & 1);
        W += W & 1;
        H += H & 1;
        uint8_t *native = malloc((size_t)nw * nh * 4), *img = malloc((size_t)W * H * 4);
        assert_non_null(native);
        assert_non_null(img);
        gs_sprite(&rng, nw, nh, (const uint8_t[3]){40, 90, 200}, native);
        gs_upscale(native, nw, nh, s, s, ox, oy, gs_randi(&rng, GS_BILINEAR, GS_BICUBIC), img, W, H);
        pfi_grid g;
        pf_status st;
        found += found_at(img, W, H, s, &g, &st);
        const int ok = st == PF_OK && g.cols == nw && g.rows == nh && fabs(g.xb[0] - ox) < 0.25 * s && fabs(g.yb[0] - oy) < 0.25 * s;
        if (st == PF_OK && !ok)
            fprintf(stderr, "grid: %dx%d at %.3f (phase %.2f %.2f cell, %dx%d px): %dx%d cells from %.2f, %.2f px\n",
                    nw, nh, s, ox / s, oy / s, W, H, g.cols, g.rows, g.xb[0], g.yb[0]);
        right += ok;
        if (st == PF_OK) pfi_grid_free(&g);
        free(native);
        free(img);
    }
    fprintf(stderr, "grid: even sides: %d of 40 found, %d counted and placed right (%d padded)\n", found, right,
            padded);
    assert_true(found >= 33);
    assert_true(right >= 30);
}

/* Art drawn in double pixels with a few single-pixel details (tecnoballz
 * draws so): most edges lie on every other grid line, so a period of two
 * cells scores nearly as well as one, and the details' edges on the lines
 * in between are a tenth to a quarter of the main lines' peak. The finer
 * period then scores clearly higher (a comb of period 2 s alone scores as
 * well at s as at 2 s), and it is the grid (wide val opaque_scene_11,
 * 6x found at 12: acc 0.04). 24 opaque scenes at 4-8x, bilinear or
 * bicubic: 12 found at 2 s before, 3 now: one at 7.98x (the finer
 * period is within 0.5 % of the 8 px codec block, where a lossy codec's
 * comb would outscore the art, so the rule stays off) and two whose finer
 * period scores only 1.1 times the coarser (too few details). */
static void test_doubled_art_details(void **state)
{
    uint64_t rng = 0xd0b1ULL;
    int right = 0, doubled = 0;
    (void)state;
    for (int i = 0; i < 24; i++) {
        const int hw = gs_randi(&rng, 18, 30), hh = gs_randi(&rng, 18, 30), nw = 2 * hw, nh = 2 * hh;
        const double s = 4 + 4 * tu_uniform(&rng);
        const double ox = (tu_uniform(&rng) - 0.5) * 0.9 * s, oy = (tu_uniform(&rng) - 0.5) * 0.9 * s;
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        const uint8_t bg[3] = {(uint8_t)gs_randi(&rng, 0, 255), (uint8_t)gs_randi(&rng, 0, 255), 90};
        uint8_t *half = malloc((size_t)hw * hh * 4), *native = malloc((size_t)nw * nh * 4),
                *img = malloc((size_t)W * H * 4);
        assert_non_null(half);
        assert_non_null(native);
        assert_non_null(img);
        gs_sprite(&rng, hw, hh, bg, half);
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++) memcpy(native + ((size_t)y * nw + x) * 4, half + ((size_t)(y / 2) * hw + x / 2) * 4, 4);
        /* single-pixel details: short lines one native pixel wide at odd
         * columns and rows */
        for (int k = 0, nd = gs_randi(&rng, 6, 10); k < nd; k++) {
            const uint8_t c[4] = {(uint8_t)gs_randi(&rng, 0, 255), (uint8_t)gs_randi(&rng, 0, 255), 255, 255};
            const int x0 = 2 * gs_randi(&rng, 1, hw - 4) + 1, y0 = 2 * gs_randi(&rng, 1, hh - 4) + 1, len = gs_randi(&rng, 4, 8);
            for (int j = 0; j < len; j++) {
                if (y0 + j < nh - 1) gs_put(native, nw, x0, y0 + j, c);
                if (x0 + j < nw - 1) gs_put(native, nw, x0 + j, y0, c);
            }
        }
        gs_upscale(native, nw, nh, s, s, ox, oy, gs_randi(&rng, GS_BILINEAR, GS_BICUBIC), img, W, H);
        pfi_grid g;
        pf_status st;
        const int ok = found_at(img, W, H, s, &g, &st);
        if (st == PF_OK && !ok)
            fprintf(stderr, "grid: doubled art %dx%d at %.3f: cell %.3f x %.3f\n", nw, nh, s, g.cell_w, g.cell_h);
        right += ok;
        doubled += st == PF_OK && fabs(g.cell_w / (2 * s) - 1) < 0.02 && fabs(g.cell_h / (2 * s) - 1) < 0.02;
        if (st == PF_OK) pfi_grid_free(&g);
        free(half);
        free(native);
        free(img);
    }
    fprintf(stderr, "grid: doubled art with details: %d of 24 at the cell, %d at two cells\n", right, doubled);
    assert_true(doubled <= 3);
    assert_true(right >= 21);
}

/* Upscales by 16/7 (2.29x) and 16/6 (2.67x), bilinear, H.264: the 16 px
 * macroblock comb has harmonics there, and an axis whose own period fell
 * on one had to pass the luma test of the codec's block periods (flat
 * cells), which a bilinear upscale fails: "no grid". Only 16, 8, 4 and 2
 * px are block periods now (block_period). Art of single pixels from an
 * 8-colour palette, 30-50 px, crf 18-26, 24 cases: none found before, 24 now. */
static void test_codec_harmonic_scales(void **state)
{
    uint64_t rng = 0x16a7ULL;
    int found = 0;
    char dir[4096];
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    for (int i = 0; i < 24; i++) {
        const int nw = gs_randi(&rng, 30, 50), nh = gs_randi(&rng, 30, 50);
        const double s = (i % 2 ? 16.0 / 6 : 16.0 / 7) * (1 + 0.006 * (tu_uniform(&rng) - 0.5));
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t pal[8][4], *native = malloc((size_t)nw * nh * 4), *img = malloc((size_t)W * H * 4);
        assert_non_null(native);
        assert_non_null(img);
        for (int k = 0; k < 8; k++) {
            for (int c = 0; c < 3; c++) pal[k][c] = (uint8_t)gs_randi(&rng, 0, 255);
            pal[k][3] = 255;
        }
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++) memcpy(native + ((size_t)y * nw + x) * 4, pal[gs_randi(&rng, 0, 7)], 4);
        gs_upscale(native, nw, nh, s, s, 0, 0, GS_BILINEAR, img, W, H);
        assert_int_equal(gs_compress(img, W, H, 1, gs_randi(&rng, 18, 26), dir), 0);
        pfi_grid g;
        pf_status st;
        found += found_at(img, W, H, s, &g, &st);
        if (st == PF_OK) pfi_grid_free(&g);
        free(native);
        free(img);
    }
    tu_rmtree(dir);
    fprintf(stderr, "grid: 16/7 and 16/6 px cells under H.264: %d of 24 found\n", found);
    assert_true(found >= 20);
}

/* Sprites over a gradient whose hue turns across the frame, through a
 * lossy codec: 4:2:0 keeps the gradient's chroma in 2x2 blocks, whose
 * steps leak into the luma computed from RGB on a 2 px comb at the frame
 * origin, which the luma test of a codec period then takes for cells. n
 * cases; the sprite covers 1 / div of each side; scale: 0 for 6.5-8x,
 * else that whole factor; codec 1 = H.264, 2 = lossy WebP. *found counts
 * cells of the true size (found_at), *fine cells under 3 px. */
static void gradient_cases(uint64_t rng, int n, int div, int scale, int codec, int *found, int *fine)
{
    char dir[4096];
    *found = *fine = 0;
    tu_tmpdir(dir, sizeof dir);
    for (int i = 0; i < n; i++) {
        const int nw = gs_randi(&rng, 20, 28), nh = gs_randi(&rng, 20, 28);
        const double s = scale ? scale : 6.5 + 1.5 * tu_uniform(&rng);
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        const int sw = nw / div, sh = nh / div;
        uint8_t *native = calloc((size_t)nw * nh, 4), *sprite = malloc((size_t)sw * sh * 4);
        uint8_t *img = malloc((size_t)W * H * 4);
        float c0[3], c1[3];
        assert_non_null(native);
        assert_non_null(sprite);
        assert_non_null(img);
        gs_sprite(&rng, sw, sh, NULL, sprite);
        for (int y = 0; y < sh; y++)
            memcpy(native + ((size_t)(y + nh / 4) * nw + nw / 4) * 4, sprite + (size_t)y * sw * 4, (size_t)sw * 4);
        for (int c = 0; c < 3; c++) {
            c0[c] = (float)gs_randi(&rng, 40, 220);
            c1[c] = (float)gs_randi(&rng, 40, 220);
        }
        gs_upscale(native, nw, nh, s, s, 0, 0, GS_NEAREST, img, W, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = img + ((size_t)y * W + x) * 4;
                const float t = (0.8f * y + 0.2f * x) / (0.8f * H + 0.2f * W), a = p[3] / 255.f;
                for (int c = 0; c < 3; c++)
                    p[c] = (uint8_t)lrintf(a * p[c] + (1 - a) * (c0[c] + t * (c1[c] - c0[c])));
                p[3] = 255;
            }
        if (codec == 1)
            assert_int_equal(gs_compress(img, W, H, 1, gs_randi(&rng, 20, 28), dir), 0);
        else
            assert_int_equal(gs_webp(img, W, H, (float)gs_randi(&rng, 70, 85)), 0);
        pfi_grid g;
        pf_status st;
        *found += found_at(img, W, H, s, &g, &st);
        if (st == PF_OK) {
            *fine += g.cell_w < 3;
            pfi_grid_free(&g);
        }
        free(native);
        free(sprite);
        free(img);
    }
    tu_rmtree(dir);
}

/* One axis kept the 2 px comb on the luma test while the other found the
 * sprite's cells (or both kept 2 px), and its own best period away from
 * the codec's was the same (codec_agree); the wide bg_busy draw's 7.35x
 * H.264 case came out 88x96 for 24x26. 48 sprites at 6.5-8x: one at 2 px
 * before (6.6x, 43 found), none now (44 found). */
static void test_codec_comb_on_gradient(void **state)
{
    int found, fine;
    (void)state;
    gradient_cases(0x96adULL, 48, 2, 0, 1, &found, &fine);
    fprintf(stderr, "grid: sprites at 6.5-8x on an H.264 gradient: %d of 48 found, %d at 2 px\n", found, fine);
    assert_int_equal(fine, 0);
    assert_true(found >= 40);
}

/* A small sprite at 6x, lossy WebP: the axis that shows the sprite's
 * cells takes them as the fundamental of the 2 px comb (no edges on the
 * finer lines), the other keeps 2 px on the luma test, with the stronger
 * comb (a 6x nearest upscale at phase 0 is also a 2x one, and the
 * gradient's chroma steps fill the finer lines). reconcile_square's
 * whole-multiple rule now holds against a comb that the luma test alone
 * kept (luma_kept); dev bg_busy_06 (6x over a gradient, lossy WebP) came
 * out 66x69 for 22x23. 24 cases: 9 at 2 px before (11 found), none now
 * (14 found). Under H.264 most such cases keep 2 px on both axes, which
 * this does not change. */
static void test_codec_comb_harmonic(void **state)
{
    int found, fine;
    (void)state;
    gradient_cases(0x6a12ULL, 24, 4, 6, 2, &found, &fine);
    fprintf(stderr, "grid: small sprites at 6x on a WebP gradient: %d of 24 found, %d at 2 px\n", found, fine);
    assert_int_equal(fine, 0);
}

/* The real AI clip ../shared/wild/sprited_one_part00.webp (lossy WebP,
 * 640x640): its strongest combs are VP8's 2 and 4 px ones; its soft cells
 * of about 5-7 px drift from frame to frame and within a frame, so no
 * regular grid stands out (see the note in detect.c). Whatever the
 * detector says, on the first 8 frames as pf_stream gives them, it must
 * not be the codec's comb. Skipped when ../shared is not beside the repo. */
static void test_wild_webp(void **state)
{
    const char *path = "../shared/wild/sprited_one_part00.webp";
    pfi_anim a;
    pf_limits lim = pf_default_limits();
    const uint8_t *fr[8];
    pfi_grid g;
    pfi_grid_params p = pfi_grid_default_params();
    pf_status st;
    int i, n;
    (void)state;
    memset(&a, 0, sizeof a);
    if (!tu_exists(path)) {
        fprintf(stderr, "grid: %s not found: skipped\n", path);
        skip();
    }
    assert_int_equal(pfi_read_anim(&a, path, &lim, 1, NULL), PF_OK);
    n = a.count < 8 ? a.count : 8;
    for (i = 0; i < n; i++) fr[i] = a.frames[i].rgba;
    st = pfi_grid_detect(&g, fr, n, a.width, a.height, &p, NULL);
    fprintf(stderr, "grid: wild WebP: %s, cell %.3f x %.3f, confidence %.2f\n",
            st == PF_OK ? "found" : "no grid", g.cell_w, g.cell_h, g.confidence);
    assert_true(st == PF_OK || st == PF_ENOGRID);
    for (i = 0; i < 2; i++) {
        const double cell = i ? g.cell_h : g.cell_w;
        assert_true(fabs(cell - 2) > 0.02 && fabs(cell - 4) > 0.04);
    }
    pfi_grid_free(&g);
    pfi_anim_free(&a);
}

/* ---- no grid ----------------------------------------------------------------- */



static void test_no_grid(void **state)
{
    const int w = 320, h = 240;
    uint8_t *img = malloc((size_t)w * h * 4);
    uint64_t rng = 77;
    pfi_grid g;
    int i, none = 0, total = 0;
    (void)state;
    assert_non_null(img);

    /* a smooth photo-like image: no grid, figures still filled in */
    gs_photo(&rng, img, w, h);
    assert_int_equal(detect1(img, w, h, &g), PF_ENOGRID);
    assert_null(g.xb);
    assert_true(g.confidence >= 0 && g.confidence < 0.25);
    assert_true(g.cell_w >= 0);
    pfi_grid_free(&g);

    /* flat */
    memset(img, 120, (size_t)w * h * 4);
    assert_int_equal(detect1(img, w, h, &g), PF_ENOGRID);
    pfi_grid_free(&g);

    /* a batch: photos, vector discs, white noise, native-resolution sprites */
    for (i = 0; i < 24; i++) {
        pf_status st;
        if (i % 4 == 0) gs_photo(&rng, img, w, h);
        else if (i % 4 == 1) gs_discs(&rng, img, w, h);
        else if (i % 4 == 2) {
            size_t q;
            for (q = 0; q < (size_t)w * h * 4; q++) img[q] = (q & 3) == 3 ? 255 : (uint8_t)gs_randi(&rng, 0, 255);
        } else {
            gs_sprite(&rng, w, h, NULL, img);
        }
        st = detect1(img, w, h, &g);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        none += st == PF_ENOGRID;
        total++;
        pfi_grid_free(&g);
    }
    fprintf(stderr, "grid: no-grid images: %d/%d reported as no grid\n", none, total);
    assert_true(none * 10 >= total * 9);
    free(img);
}

/* ---- forced scale, arguments ----------------------------------------------- */

static void test_forced_scale(void **state)
{
    uint64_t rng = 4242;
    gcase c;
    pfi_grid g;
    pfi_grid_params p = pfi_grid_default_params();
    const uint8_t *fr[1];
    (void)state;
    memset(&c, 0, sizeof c);
    c.nw = 40;
    c.nh = 30;
    c.s = 6.5;
    c.kernel = GS_BICUBIC;
    c.W = (int)lrint(c.nw * c.s);
    c.H = (int)lrint(c.nh * c.s);
    c.native = malloc((size_t)c.nw * c.nh * 4);
    c.img = malloc((size_t)c.W * c.H * 4);
    gs_sprite(&rng, c.nw, c.nh, NULL, c.native);
    pick_phase(&rng, &c);
    gs_upscale(c.native, c.nw, c.nh, c.s, c.s, c.ox, c.oy, c.kernel, c.img, c.W, c.H);
    fr[0] = c.img;

    p.scale = c.s;
    assert_int_equal(pfi_grid_detect(&g, fr, 1, c.W, c.H, &p, NULL), PF_OK);
    assert_true(g.cell_w == c.s && g.cell_h == c.s);
    assert_int_equal(g.cols, c.nw);
    assert_int_equal(g.rows, c.nh);
    assert_true(g.confidence > 0.25);
    pfi_grid_free(&g);

    /* scale 1: every pixel is a cell */
    p.scale = 1;
    assert_int_equal(pfi_grid_detect(&g, fr, 1, c.W, c.H, &p, NULL), PF_OK);
    assert_int_equal(g.cols, c.W);
    assert_int_equal(g.rows, c.H);
    assert_true(fabs(g.xb[0]) < 1e-6 && fabs(g.xb[c.W] - c.W) < 1e-6);
    pfi_grid_free(&g);

    /* bad arguments */
    p = pfi_grid_default_params();
    assert_int_equal(pfi_grid_detect(&g, fr, 0, c.W, c.H, &p, NULL), PF_EINVAL);
    assert_int_equal(pfi_grid_detect(&g, NULL, 1, c.W, c.H, &p, NULL), PF_EINVAL);
    assert_int_equal(pfi_grid_detect(&g, fr, 1, 1, c.H, &p, NULL), PF_EINVAL);
    p.scale = 0.5;
    assert_int_equal(pfi_grid_detect(&g, fr, 1, c.W, c.H, &p, NULL), PF_EINVAL);
    pfi_grid_free(&g);
    pfi_grid_free(NULL);
    case_free(&c);
}

/* ---- drift ------------------------------------------------------------------- */

static void test_drift(void **state)
{
    static const double shift[6] = {0, 0.12, 0.3, -0.25, -0.33, 0.2};   /* native px */
    static const int kernels[3] = {GS_NEAREST, GS_BILINEAR, GS_BICUBIC};
    uint64_t rng = 99;
    int kk;
    (void)state;
    for (kk = 0; kk < 3; kk++) {
        const int nw = 48, nh = 40;
        const double s = 5.6;
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t *native = malloc((size_t)nw * nh * 4), *img[6];
        const uint8_t *fr[6];
        pfi_grid g, nog = {0};
        pfi_grid_params p = pfi_grid_default_params();
        pfi_grid_scratch sc, big, zero = {0};
        double dxs[6], dys[6], dx, dy, mx = 0, my = 0, ms = 0, worst = 0;
        int t;
        gs_sprite(&rng, nw, nh, NULL, native);
        for (t = 0; t < 6; t++) {
            img[t] = malloc((size_t)W * H * 4);
            /* the same sprite moved by shift[t] native px right and -shift[t]/2 down */
            gs_upscale(native, nw, nh, s, s, 0.1 * s + shift[t] * s, 0.05 * s - 0.5 * shift[t] * s,
                       kernels[kk], img[t], W, H);
            fr[t] = img[t];
        }
        assert_int_equal(pfi_grid_detect(&g, fr, 6, W, H, &p, NULL), PF_OK);
        assert_true(fabs(g.cell_w - s) < 0.01 * s);
        assert_int_equal(pfi_grid_scratch_init(&sc, W, H), PF_OK);
        for (t = 0; t < 6; t++) {
            assert_int_equal(pfi_grid_drift(&g, img[t], W, H, &sc, &dxs[t], &dys[t]), PF_OK);
            mx += dxs[t] / 6;
            my += dys[t] / 6;
        }
        for (t = 0; t < 6; t++) ms += shift[t] / 6;
        for (t = 0; t < 6; t++) {
            /* drift is relative to the clip's mean grid */
            double ex = (dxs[t] - mx) / s - (shift[t] - ms);
            double ey = (dys[t] - my) / s + 0.5 * (shift[t] - ms);
            worst = fmax(worst, fmax(fabs(ex), fabs(ey)));
        }
        fprintf(stderr, "grid: drift (%s): worst error %.3f native px\n",
                kk == 0 ? "nearest" : kk == 1 ? "bilinear" : "bicubic", worst);
        assert_true(worst < 0.15);
        /* a scratch for larger frames serves too */
        assert_int_equal(pfi_grid_scratch_init(&big, W + 7, H + 3), PF_OK);
        assert_int_equal(pfi_grid_drift(&g, img[2], W, H, &big, &dx, &dy), PF_OK);
        assert_true(dx == dxs[2] && dy == dys[2]);
        /* bad arguments: EINVAL, no drift */
        assert_int_equal(pfi_grid_drift(&g, img[2], W, H, NULL, &dx, &dy), PF_EINVAL);
        assert_true(dx == 0 && dy == 0);
        assert_int_equal(pfi_grid_drift(&g, img[2], W + 8, H, &big, &dx, &dy), PF_EINVAL);
        assert_int_equal(pfi_grid_drift(&g, img[2], W, H + 1, &sc, &dx, &dy), PF_EINVAL);
        assert_int_equal(pfi_grid_drift(&g, img[2], W, H, &zero, &dx, &dy), PF_EINVAL);
        assert_int_equal(pfi_grid_drift(&g, NULL, W, H, &sc, &dx, &dy), PF_EINVAL);
        assert_int_equal(pfi_grid_drift(&g, img[2], W, H, &sc, NULL, &dy), PF_EINVAL);
        assert_int_equal(pfi_grid_drift(&nog, img[2], W, H, &sc, &dx, &dy), PF_EINVAL);
        pfi_grid_scratch_free(&big);
        /* a frame without edges: no drift, and no error */
        memset(img[0], 80, (size_t)W * H * 4);
        assert_int_equal(pfi_grid_drift(&g, img[0], W, H, &sc, &dxs[0], &dys[0]), PF_OK);
        assert_true(dxs[0] == 0 && dys[0] == 0);
        pfi_grid_scratch_free(&sc);
        pfi_grid_scratch_free(&sc);   /* a freed scratch is fine */
        pfi_grid_free(&g);
        for (t = 0; t < 6; t++) free(img[t]);
        free(native);
    }
}

/* ---- irregular grids ---------------------------------------------------------- */

static void test_irregular(void **state)
{
    uint64_t rng = 1234;
    int trial;
    (void)state;
    for (trial = 0; trial < 3; trial++) {
        const int nw = 36, nh = 30;
        const double s = 7.3 + trial;
        double xb[37], yb[31], ex = 0, ey = 0, rx = 0, ry = 0;
        int W, H, i;
        uint8_t *native = malloc((size_t)nw * nh * 4), *img;
        pfi_grid g;
        const uint8_t *fr[1];
        pfi_grid_params p = pfi_grid_default_params();
        /* boundaries perturbed by up to +-0.2 cell */
        for (i = 0; i <= nw; i++) xb[i] = 0.3 * s + i * s + (i > 0 && i < nw ? (tu_uniform(&rng) - 0.5) * 0.4 * s : 0);
        for (i = 0; i <= nh; i++) yb[i] = 0.2 * s + i * s + (i > 0 && i < nh ? (tu_uniform(&rng) - 0.5) * 0.4 * s : 0);
        W = (int)lrint(nw * s);
        H = (int)lrint(nh * s);
        img = malloc((size_t)W * H * 4);
        gs_sprite(&rng, nw, nh, NULL, native);
        /* a checker of two colours as background keeps every boundary visible */
        for (i = 0; i < nw * nh; i++)
            if (native[i * 4 + 3] == 0) {
                const int dark = ((i % nw) + (i / nw)) & 1;
                native[i * 4 + 0] = dark ? 40 : 200;
                native[i * 4 + 1] = dark ? 50 : 190;
                native[i * 4 + 2] = dark ? 90 : 170;
                native[i * 4 + 3] = 255;
            }
        gs_upscale_bounds(native, nw, nh, xb, yb, img, W, H);
        fr[0] = img;
        assert_int_equal(pfi_grid_detect(&g, fr, 1, W, H, &p, NULL), PF_OK);
        assert_int_equal(g.cols, nw);
        assert_int_equal(g.rows, nh);
        /* compare the interior boundaries with the truth: refined and regular */
        for (i = 1; i < nw; i++) {
            ex += fabs(g.xb[i] - xb[i]) / (nw - 1);
            rx += fabs(g.offset_x + (floor((xb[0] - g.offset_x) / g.cell_w + 0.5) + i) * g.cell_w - xb[i]) / (nw - 1);
        }
        for (i = 1; i < nh; i++) {
            ey += fabs(g.yb[i] - yb[i]) / (nh - 1);
            ry += fabs(g.offset_y + (floor((yb[0] - g.offset_y) / g.cell_h + 0.5) + i) * g.cell_h - yb[i]) / (nh - 1);
        }
        for (i = 1; i <= nw; i++) assert_true(g.xb[i] > g.xb[i - 1]);
        for (i = 1; i <= nh; i++) assert_true(g.yb[i] > g.yb[i - 1]);
        fprintf(stderr, "grid: irregular s=%.1f: mean boundary error %.2f / %.2f px (regular grid %.2f / %.2f)\n",
                s, ex, ey, rx, ry);
        assert_true(ex < 0.5 && ey < 0.5);
        pfi_grid_free(&g);
        free(img);
        free(native);
    }
}

/* ---- sampling ------------------------------------------------------------------ */

/* Clean nearest upscales: the cell colours are the native pixels. */
static void test_cells_exact(void **state)
{
    static const double scales[6] = {2, 3, 2.5, 4.75, 7, 11.2};
    uint64_t rng = 555;
    int si;
    (void)state;
    for (si = 0; si < 6; si++) {
        gcase c;
        pfi_grid g;
        const int k = 4;
        float *samples, *cells;
        size_t plane;
        int x, y, bad = 0;
        memset(&c, 0, sizeof c);
        c.nw = gs_randi(&rng, 16, 40);
        c.nh = gs_randi(&rng, 16, 40);
        c.s = scales[si];
        c.kernel = GS_NEAREST;
        c.W = (int)lrint(c.nw * c.s);
        c.H = (int)lrint(c.nh * c.s);
        c.native = malloc((size_t)c.nw * c.nh * 4);
        c.img = malloc((size_t)c.W * c.H * 4);
        gs_sprite(&rng, c.nw, c.nh, si & 1 ? NULL : (const uint8_t[3]){20, 200, 90}, c.native);
        pick_phase(&rng, &c);
        gs_upscale(c.native, c.nw, c.nh, c.s, c.s, c.ox, c.oy, c.kernel, c.img, c.W, c.H);
        assert_int_equal(detect1(c.img, c.W, c.H, &g), PF_OK);
        assert_int_equal(g.cols, c.nw);
        assert_int_equal(g.rows, c.nh);
        plane = (size_t)g.rows * g.cols;
        samples = malloc(sizeof *samples * plane * k * k * 4);
        cells = malloc(sizeof *cells * plane * 4);
        pfi_grid_sample(&g, 0, 0, c.img, c.W, c.H, k, samples);
        pfi_grid_cells(samples, g.rows, g.cols, k, cells);
        for (y = 0; y < c.nh; y++)
            for (x = 0; x < c.nw; x++) {
                const uint8_t *px = c.native + ((size_t)y * c.nw + x) * 4;
                const size_t i = (size_t)y * c.nw + x;
                int ch;
                if (fabsf(cells[3 * plane + i] - px[3] / 255.f) > 1.0f / 255) bad++;
                else if (px[3])
                    for (ch = 0; ch < 3; ch++)
                        if (fabsf(cells[ch * plane + i] - px[ch] / 255.f) > 1.0f / 255) { bad++; break; }
            }
        if (bad) fprintf(stderr, "grid: scale %.2f: %d cells differ\n", c.s, bad);
        assert_int_equal(bad, 0);
        free(samples);
        free(cells);
        pfi_grid_free(&g);
        case_free(&c);
    }
}

/* Area sampling against values worked out by hand. */
static void test_sample_area(void **state)
{
    /* 5 x 2 image: columns 0, 100, 200, 100, 0 (red), alpha 255 */
    uint8_t img[5 * 2 * 4];
    double xb[3] = {0.5, 3.0, 5.5}, yb[2] = {0, 2};
    pfi_grid g;
    float out[4 * 2 * 4], cells[4 * 1 * 2];   /* (4, rows k, cols k), (4, rows, cols) */
    int x, y;
    (void)state;
    for (y = 0; y < 2; y++)
        for (x = 0; x < 5; x++) {
            uint8_t *p = img + (y * 5 + x) * 4;
            p[0] = (uint8_t)(x < 3 ? 100 * x : 100 * (4 - x));
            p[1] = 0;
            p[2] = 50;
            p[3] = 255;
        }
    memset(&g, 0, sizeof g);
    g.cols = 2;
    g.rows = 1;
    g.xb = xb;
    g.yb = yb;
    /* k = 2: sub-cells [0.5,1.75) [1.75,3) [3,4.25) [4.25,5.5), rows [0,1) [1,2) */
    pfi_grid_sample(&g, 0, 0, img, 5, 2, 2, out);
    assert_float_equal(out[0], (0.5 * 0 + 0.75 * 100) / 1.25 / 255, 1e-5);
    assert_float_equal(out[1], (0.25 * 100 + 1.0 * 200) / 1.25 / 255, 1e-5);
    assert_float_equal(out[2], (1.0 * 100 + 0.25 * 0) / 1.25 / 255, 1e-5);
    /* [4.25, 5.5) runs past the edge: the last column (0) is repeated */
    assert_float_equal(out[3], 0, 1e-6);
    assert_float_equal(out[4], out[0], 1e-6);            /* second row is identical */
    assert_float_equal(out[2 * 8 + 1], 50 / 255.f, 1e-5);  /* blue plane */
    assert_float_equal(out[3 * 8 + 2], 1, 1e-5);           /* alpha plane */
    /* a drift of -0.5 px: the first sub-cell is [0, 1.25) */
    pfi_grid_sample(&g, -0.5, 0, img, 5, 2, 2, out);
    assert_float_equal(out[0], (1.0 * 0 + 0.25 * 100) / 1.25 / 255, 1e-5);
    /* cells: k = 2 takes the median of all 4 samples (mean of the middle two) */
    pfi_grid_sample(&g, 0, 0, img, 5, 2, 2, out);
    pfi_grid_cells(out, 1, 2, 2, cells);
    assert_float_equal(cells[0], 0.5f * (out[0] + out[1]), 1e-6);
    assert_float_equal(cells[2 * 2 + 1], 50 / 255.f, 1e-5);
}

/* ---- deblurring the cells (deblur.c) ------------------------------------------ */

/* Cells (4, rows, cols) of an upscaled native image on the true grid (the
 * detector at the true scale; sizes must match), measured into d and
 * returned with the samples. */
static float *grid_cells(const uint8_t *img, int W, int H, int nw, int nh, double s, int k, float **samples,
                         pfi_deblur *d)
{
    pfi_grid g;
    const uint8_t *fr[1] = {img};
    pfi_grid_params p = pfi_grid_default_params();
    p.scale = s;
    assert_int_equal(pfi_grid_detect(&g, fr, 1, W, H, &p, NULL), PF_OK);
    assert_int_equal(g.cols, nw);
    assert_int_equal(g.rows, nh);
    const size_t plane = (size_t)nw * nh;
    float *cells = malloc(sizeof *cells * plane * 4);
    *samples = malloc(sizeof **samples * plane * k * k * 4);
    assert_non_null(cells);
    assert_non_null(*samples);
    pfi_grid_sample(&g, 0, 0, img, W, H, k, *samples);
    pfi_grid_cells(*samples, nh, nw, k, cells);
    assert_int_equal(pfi_deblur_measure(d, *samples, cells, nh, nw, k), PF_OK);
    pfi_grid_free(&g);
    return cells;
}

/* Cells within 8/255 on every channel of the native image's colour. */
static int cells_right(const float *cells, const uint8_t *native, int nw, int nh)
{
    const size_t plane = (size_t)nw * nh;
    int ok = 0;
    for (size_t i = 0; i < plane; i++) {
        int good = 1;
        for (int ch = 0; ch < 3; ch++) good &= fabsf(cells[ch * plane + i] - native[i * 4 + ch] / 255.f) <= 8 / 255.f;
        ok += good;
    }
    return ok;
}

/* A blurred upscale leaks every pixel into its neighbours' centres: the
 * leak is measured (beta well above 0) and removing it brings more cells
 * back to their drawn colour. Nearest upscales of art with drawn
 * in-between shades (a quarter of the way from one run to the next, which
 * a measure that only looked at the cell centres would take for a leak of
 * 0.25) measure no leak, and their cells stay as they are. */
static void test_deblur(void **state)
{
    const int nw = 36, nh = 30, k = 4;
    uint64_t rng = 4711;
    (void)state;
    for (int c = 0; c < 4; c++) {
        const double s = 5.0 + c * 0.7;
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t *native = malloc((size_t)nw * nh * 4), *img = malloc((size_t)W * H * 4);
        float *samples;
        pfi_deblur d;
        assert_non_null(native);
        assert_non_null(img);
        memset(&d, 0, sizeof d);
        gs_sprite(&rng, nw, nh, (const uint8_t[3]){30, 30, 40}, native);
        gs_upscale(native, nw, nh, s, s, 0, 0, GS_BILINEAR, img, W, H);
        gs_blur(img, W, H, 0.2 * s);
        float *cells = grid_cells(img, W, H, nw, nh, s, k, &samples, &d);
        const double beta = pfi_deblur_finish(&d);
        float *scratch = malloc(sizeof *scratch * nw * nh * 2);
        assert_non_null(scratch);
        const int before = cells_right(cells, native, nw, nh);
        assert_int_equal(pfi_deblur_apply(&d, cells, nh, nw, scratch), PF_OK);
        const int after = cells_right(cells, native, nw, nh);
        fprintf(stderr, "deblur: blurred x%.1f: leak %.3f from %zu edges, cells right %d -> %d of %d\n", s, beta,
                d.edges, before, after, nw * nh);
        assert_true(beta > 0.04 && beta <= 0.2);
        assert_true(after >= before + (nw * nh - before) / 4);
        free(cells);
        free(samples);
        pfi_deblur_free(&d);

        /* drawn in-between shades, nearest: no leak, no change */
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++) {
                static const uint8_t runs[4][3] = {{20, 20, 30}, {200, 180, 60}, {60, 120, 220}, {240, 240, 240}};
                const int r = (x / 6 + y / 5) % 4, r2 = (r + 1) % 4, last = x % 6 == 5 || y % 5 == 4;
                uint8_t *p = native + ((size_t)y * nw + x) * 4;
                for (int ch = 0; ch < 3; ch++)   /* the last of each run, across and down, is drawn a
                                                    quarter of the way to the next */
                    p[ch] = (uint8_t)(last ? (3 * runs[r][ch] + runs[r2][ch]) / 4 : runs[r][ch]);
                p[3] = 255;
            }
        gs_upscale(native, nw, nh, s, s, 0, 0, GS_NEAREST, img, W, H);
        memset(&d, 0, sizeof d);
        cells = grid_cells(img, W, H, nw, nh, s, k, &samples, &d);
        float *kept = malloc(sizeof *kept * nw * nh * 4);
        assert_non_null(kept);
        memcpy(kept, cells, sizeof *kept * nw * nh * 4);
        const double beta0 = pfi_deblur_finish(&d);
        assert_int_equal(pfi_deblur_apply(&d, cells, nh, nw, scratch), PF_OK);
        fprintf(stderr, "deblur: drawn shades x%.1f: leak %.3f from %zu edges\n", s, beta0, d.edges);
        assert_true(d.edges >= 32);
        assert_true(beta0 < 0.01);
        assert_true(cells_right(cells, native, nw, nh) >= nw * nh - 2);
        free(kept);
        free(cells);
        free(samples);
        free(scratch);
        pfi_deblur_free(&d);
        free(native);
        free(img);
    }
}

/* Deblurring by hand: a lone opaque cell between a transparent one and an
 * opaque one takes only the opaque neighbour's leak back; transparent cells
 * are left alone; bad arguments are refused. */
static void test_deblur_by_hand(void **state)
{
    /* 1 x 3 cells: transparent, 0.5, 0.9 (all channels) */
    float cells[4 * 3] = {0.2f, 0.5f, 0.9f, 0.2f, 0.5f, 0.9f, 0.2f, 0.5f, 0.9f, 0, 1, 1};
    float scratch[2 * 3];
    pfi_deblur d;
    (void)state;
    memset(&d, 0, sizeof d);
    d.beta = 0.1;
    assert_int_equal(pfi_deblur_apply(&d, cells, 1, 3, scratch), PF_OK);
    assert_float_equal(cells[0], 0.2f, 1e-6);                     /* transparent: as it was */
    assert_float_equal(cells[1], 0.5f - 0.1f * (0.9f - 0.5f), 1e-6);
    assert_float_equal(cells[2], 0.9f - 0.1f * (0.5f - 0.9f), 1e-6);
    assert_float_equal(cells[2 * 3 + 1], cells[1], 1e-6);         /* every colour channel */
    assert_float_equal(cells[3 * 3 + 1], 1, 1e-6);                /* alpha untouched */
    assert_int_equal(pfi_deblur_apply(&d, NULL, 1, 3, scratch), PF_EINVAL);
    assert_int_equal(pfi_deblur_measure(&d, NULL, cells, 1, 3, 4), PF_EINVAL);
    /* too few edges: no leak */
    assert_float_equal(pfi_deblur_finish(&d), 0, 0);
}

/* Timing of the two hot paths on a 720p frame (reported, not asserted). */
static void test_speed(void **state)
{
    const int nw = 240, nh = 135, W = 1280, H = 720, k = 4;
    const double s = 1280.0 / 240;
    uint64_t rng = 31337;
    uint8_t *native = malloc((size_t)nw * nh * 4), *img = malloc((size_t)W * H * 4);
    const uint8_t *fr[8];
    pfi_grid g;
    pfi_grid_scratch sc;
    pfi_grid_params p = pfi_grid_default_params();
    float *samples;
    double t0, t1, t2, t3;
    int t;
    (void)state;
    gs_sprite(&rng, nw, nh, (const uint8_t[3]){40, 40, 60}, native);
    gs_upscale(native, nw, nh, s, s, 0, 0, GS_NEAREST, img, W, H);
    for (t = 0; t < 8; t++) fr[t] = img;
    t0 = pfi_now_ms();
    assert_int_equal(pfi_grid_detect(&g, fr, 8, W, H, &p, NULL), PF_OK);
    t1 = pfi_now_ms();
    assert_int_equal(g.cols, nw);
    samples = malloc(sizeof *samples * (size_t)g.cols * g.rows * k * k * 4);
    pfi_grid_sample(&g, 0, 0, img, W, H, k, samples);
    t2 = pfi_now_ms();
    assert_int_equal(pfi_grid_scratch_init(&sc, W, H), PF_OK);
    for (t = 0; t < 3; t++) {
        double dx, dy;
        assert_int_equal(pfi_grid_drift(&g, img, W, H, &sc, &dx, &dy), PF_OK);
    }
    t3 = pfi_now_ms();
    pfi_grid_scratch_free(&sc);
    fprintf(stderr, "grid: 720p: detect (8 frames) %.1f ms, sample k=4 %.1f ms, drift %.1f ms per frame\n",
            t1 - t0, t2 - t1, (t3 - t2) / 3);
    free(samples);
    pfi_grid_free(&g);
    free(native);
    free(img);
}

/* ---- background ------------------------------------------------------------------ */

/* A native frame (4, rows, cols): background colour bg(u, v) with noise of
 * +-noise (0..1), a ring-shaped sprite with a hole of the background colour
 * inside it, and a U-shaped sprite open to the border. */
typedef void (*bg_fn)(float u, float v, float rgb[3]);

static void bg_magenta(float u, float v, float rgb[3]) { (void)u; (void)v; rgb[0] = 1; rgb[1] = 0; rgb[2] = 1; }
static void bg_gradient(float u, float v, float rgb[3]) { rgb[0] = 0.2f + 0.6f * u; rgb[1] = 0.3f; rgb[2] = 0.9f - 0.5f * v; }
static void bg_white(float u, float v, float rgb[3]) { (void)u; (void)v; rgb[0] = rgb[1] = rgb[2] = 1; }

static void make_native(float *cells, int rows, int cols, bg_fn bg, float noise, uint64_t *rng)
{
    const size_t plane = (size_t)rows * cols;
    int x, y, c;
    for (y = 0; y < rows; y++)
        for (x = 0; x < cols; x++) {
            const size_t i = (size_t)y * cols + x;
            float rgb[3];
            int ring = (x >= 4 && x <= 12 && y >= 4 && y <= 12) && !(x >= 7 && x <= 9 && y >= 7 && y <= 9);
            int ushape = (x >= 16 && x <= 24 && y >= 10 && y <= 20) && !(x >= 19 && x <= 21 && y >= 10 && y <= 17);
            bg((x + 0.5f) / cols, (y + 0.5f) / rows, rgb);
            if (ring) { rgb[0] = 0.1f; rgb[1] = 0.6f; rgb[2] = 0.2f; }
            if (ushape) { rgb[0] = 0.9f; rgb[1] = 0.8f; rgb[2] = 0.1f; }
            for (c = 0; c < 3; c++)
                cells[c * plane + i] = pfi_clampf(rgb[c] + (float)((tu_uniform(rng) * 2 - 1) * noise), 0, 1);
            cells[3 * plane + i] = 1;
        }
}

static void check_keyed(const float *cells, int rows, int cols)
{
    const size_t plane = (size_t)rows * cols;
    const float *a = cells + 3 * plane;
    assert_true(a[0] == 0);                                  /* border background */
    assert_true(a[(size_t)(rows - 1) * cols + cols - 1] == 0);
    assert_true(a[(size_t)2 * cols + 14] == 0);              /* open background */
    assert_true(a[(size_t)8 * cols + 8] == 1);               /* the hole inside the ring stays */
    assert_true(a[(size_t)12 * cols + 20] == 0);             /* the inside of the U is open to the border */
    assert_true(a[(size_t)5 * cols + 5] == 1);               /* sprite */
    assert_true(a[(size_t)15 * cols + 16] == 1);
}

/* The halo cases' square, cells x 8..20, y 6..16: the ring a cell lies
 * on (0 = its edge, 1 = one in, ...), negative outside it. */
static int square_ring(int x, int y)
{
    if (x < 8 || x > 20 || y < 6 || y > 16) return -1;
    const int rx = x - 8 < 20 - x ? x - 8 : 20 - x, ry = y - 6 < 16 - y ? y - 6 : 16 - y;
    return rx < ry ? rx : ry;
}

/* Estimates the background of nf opaque frames (it must come out solid)
 * and keys frame 0; returns frame 0's alpha plane. */
static const float *key_solid(float **cells, const float **cc, int nf, int rows, int cols, uint8_t *scratch)
{
    pfi_background bg;
    for (int t = 0; t < nf; t++) cc[t] = cells[t];
    pfi_background_estimate(&bg, cc, nf, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_SOLID);
    pfi_background_key(&bg, cells[0], rows, cols, scratch);
    return cells[0] + 3 * (size_t)rows * cols;
}

static void test_background(void **state)
{
    const int rows = 24, cols = 30, nf = 3;
    const size_t plane = (size_t)rows * cols;
    static const bg_fn fns[3] = {bg_magenta, bg_gradient, bg_white};
    static const float noises[3] = {0, 0.02f, 0.04f};
    float *cells[3];
    const float *cc[3];
    uint8_t *scratch = malloc(pfi_background_scratch_size(rows, cols));
    uint64_t rng = 8080;
    pfi_background bg;
    int f, t, ni, y, x;
    (void)state;
    for (t = 0; t < nf; t++) cells[t] = malloc(sizeof(float) * plane * 4);
    for (f = 0; f < 3; f++)
        for (ni = 0; ni < 3; ni++) {
            for (t = 0; t < nf; t++) {
                make_native(cells[t], rows, cols, fns[f], noises[ni], &rng);
                cc[t] = cells[t];
            }
            pfi_background_estimate(&bg, cc, nf, rows, cols);
            fprintf(stderr, "grid: background %s, noise %.2f: kind %d, rgb %d,%d,%d, tol %.3f\n",
                    f == 0 ? "magenta" : f == 1 ? "gradient" : "white", noises[ni], bg.kind, bg.rgb[0],
                    bg.rgb[1], bg.rgb[2], bg.tol);
            assert_int_equal(bg.kind, f == 1 ? PF_BGK_GRADIENT : PF_BGK_SOLID);
            if (f == 0) assert_true(bg.rgb[0] > 240 && bg.rgb[1] < 15 && bg.rgb[2] > 240);
            for (t = 0; t < nf; t++) {
                pfi_background_key(&bg, cells[t], rows, cols, scratch);
                check_keyed(cells[t], rows, cols);
            }
        }

    /* a given colour */
    make_native(cells[0], rows, cols, bg_magenta, 0.01f, &rng);
    pfi_background_solid(&bg, (const uint8_t[3]){255, 0, 255});
    assert_int_equal(bg.kind, PF_BGK_SOLID);
    pfi_background_key(&bg, cells[0], rows, cols, scratch);
    check_keyed(cells[0], rows, cols);

    /* transparent borders: the input has alpha already */
    make_native(cells[0], rows, cols, bg_white, 0, &rng);
    for (y = 0; y < rows; y++)
        for (x = 0; x < cols; x++)
            if (x < 2 || y < 2 || x >= cols - 2 || y >= rows - 2) cells[0][3 * plane + (size_t)y * cols + x] = 0;
    cc[0] = cells[0];
    pfi_background_estimate(&bg, cc, 1, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_ALPHA);
    pfi_background_key(&bg, cells[0], rows, cols, scratch);   /* no-op */
    assert_true(cells[0][3 * plane + (size_t)5 * cols + 5] == 1);

    /* no dominant colour on the border */
    make_native(cells[0], rows, cols, bg_white, 0, &rng);
    for (y = 0; y < rows; y++)
        for (x = 0; x < cols; x++) {
            int c;
            for (c = 0; c < 3; c++) cells[0][c * plane + (size_t)y * cols + x] = (float)tu_uniform(&rng);
        }
    pfi_background_estimate(&bg, cc, 1, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_NONE);
    memcpy(cells[1], cells[0], sizeof(float) * plane * 4);
    pfi_background_key(&bg, cells[0], rows, cols, scratch);   /* no-op */
    assert_memory_equal(cells[0], cells[1], sizeof(float) * plane * 4);

    /* a halo: a green square on white whose edge cells are blends of the
     * two (70% white: keyed, 30% white: kept), with one edge cell a pale
     * yellow that is no blend of white and green (kept) */
    {
        static const float green[3] = {0.1f, 0.6f, 0.2f}, yellow[3] = {1.0f, 0.95f, 0.6f};
        for (t = 0; t < nf; t++) {
            for (y = 0; y < rows; y++)
                for (x = 0; x < cols; x++) {
                    const size_t i = (size_t)y * cols + x;
                    const int ring = square_ring(x, y);
                    float w = ring < 0 ? 1.f : ring > 0 ? 0.f : x == 8 ? 0.3f : 0.7f;
                    for (int c = 0; c < 3; c++) cells[t][c * plane + i] = w + (1 - w) * green[c];
                    if (x == 14 && y == 6)
                        for (int c = 0; c < 3; c++) cells[t][c * plane + i] = yellow[c];
                    cells[t][3 * plane + i] = 1;
                }
        }
        const float *a = key_solid(cells, cc, nf, rows, cols, scratch);
        assert_true(a[(size_t)16 * cols + 14] == 0);   /* bottom edge, 70% white */
        assert_true(a[(size_t)10 * cols + 20] == 0);   /* right edge, 70% white */
        assert_true(a[(size_t)10 * cols + 8] == 1);    /* left edge, 30% white */
        assert_true(a[(size_t)6 * cols + 14] == 1);    /* pale yellow: not a blend */
        assert_true(a[(size_t)7 * cols + 14] == 1);    /* inside */
        assert_true(a[(size_t)15 * cols + 14] == 1);   /* one cell deep only */
    }

    /* a halo outside an outline: an orange fill inside a one-cell dark
     * outline, on white, whose outer ring mixes white (60%) with the fill
     * two cells in (the wild clip's pale specks beside skin). The outline
     * beside it is no partner (the halo is off the white-outline line), the
     * fill is. A pale ring that is no blend of white and anything within
     * two cells stays. */
    {
        static const float fill[3] = {0.90f, 0.45f, 0.20f}, line[3] = {0.38f, 0.24f, 0.22f},
                           pale[3] = {0.85f, 0.95f, 0.55f};
        for (int variant = 0; variant < 2; variant++) {
            for (t = 0; t < nf; t++) {
                for (y = 0; y < rows; y++)
                    for (x = 0; x < cols; x++) {
                        const size_t i = (size_t)y * cols + x;
                        const int ring = square_ring(x, y);
                        for (int c = 0; c < 3; c++) {
                            float v = ring < 0 ? 1.f : ring == 1 ? line[c] : fill[c];
                            if (ring == 0) v = variant ? pale[c] : 0.6f + 0.4f * fill[c];
                            cells[t][c * plane + i] = v;
                        }
                        cells[t][3 * plane + i] = 1;
                    }
            }
            const float *a = key_solid(cells, cc, nf, rows, cols, scratch);
            assert_true(a[(size_t)6 * cols + 14] == (variant ? 1 : 0));    /* the ring */
            assert_true(a[(size_t)11 * cols + 8] == (variant ? 1 : 0));
            assert_true(a[(size_t)7 * cols + 14] == 1);   /* the outline */
            assert_true(a[(size_t)11 * cols + 14] == 1);  /* the fill */
        }
    }

    /* an opaque scene: a pixel-art wall of three close tones in 3x2-cell
     * blocks fills the frame. It fits one colour as well as a noisy
     * background does, but it is drawn: nothing may be keyed */
    {
        static const float tone[3][3] = {{0.30f, 0.45f, 0.25f}, {0.37f, 0.53f, 0.31f}, {0.24f, 0.37f, 0.19f}};
        for (t = 0; t < nf; t++) {
            make_native(cells[t], rows, cols, bg_white, 0.01f, &rng);
            for (y = 0; y < rows; y++)
                for (x = 0; x < cols; x++) {
                    const size_t i = (size_t)y * cols + x;
                    if (cells[t][i] < 0.95f) continue;   /* the sprites stay */
                    for (int c = 0; c < 3; c++)
                        cells[t][c * plane + i] = tone[(x / 3 + y / 2) % 3][c] + (float)(tu_uniform(&rng) - 0.5) * 0.01f;
                }
            cc[t] = cells[t];
        }
        pfi_background_estimate(&bg, cc, nf, rows, cols);
        assert_int_equal(bg.kind, PF_BGK_NONE);
        memcpy(cells[1], cells[0], sizeof(float) * plane * 4);
        pfi_background_key(&bg, cells[0], rows, cols, scratch);   /* no-op */
        assert_memory_equal(cells[0], cells[1], sizeof(float) * plane * 4);
        /* the same wall in one tone (a plain background) is keyed */
        for (t = 0; t < nf; t++) {
            make_native(cells[t], rows, cols, bg_white, 0.01f, &rng);
            for (y = 0; y < rows; y++)
                for (x = 0; x < cols; x++) {
                    const size_t i = (size_t)y * cols + x;
                    if (cells[t][i] < 0.95f) continue;
                    for (int c = 0; c < 3; c++) cells[t][c * plane + i] = tone[0][c];
                }
        }
        pfi_background_estimate(&bg, cc, nf, rows, cols);
        assert_int_equal(bg.kind, PF_BGK_SOLID);
    }

    /* an opaque scene with one dominant colour: a blue wall crossed by three
     * grey bars, 3 cells thick, from edge to edge. A plane fits the blue on
     * 83% of the border, but the bars cross the border 6 times: nothing
     * may be keyed */
    for (t = 0; t < nf; t++) {
        make_native(cells[t], rows, cols, bg_white, 0.01f, &rng);
        for (y = 0; y < rows; y++)
            for (x = 0; x < cols; x++) {
                const size_t i = (size_t)y * cols + x;
                int bar = (y >= 4 && y <= 6) || (y >= 10 && y <= 12) || (y >= 16 && y <= 18);
                if (cells[t][i] < 0.95f && !bar) continue;   /* the sprites stay, under the bars */
                for (int c = 0; c < 3; c++) cells[t][c * plane + i] = bar ? 0.7f : c == 2 ? 0.55f : 0.05f;
            }
        cc[t] = cells[t];
    }
    pfi_background_estimate(&bg, cc, nf, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_NONE);

    /* a grainy background of colour blotches (val bg_busy_06): bilinear
     * blobs of +-0.2 every 6 cells plus grain, so that one neighbour pair
     * in seven steps by more than a drawn edge, but no two cells are one
     * colour as a drawn texture's are. It is keyed as a field, not taken
     * as a scene (nor keyed as a plane, which leaves the blotches) */
    {
        float blob[6][6][3];
        for (y = 0; y < 6; y++)
            for (x = 0; x < 6; x++)
                for (int c = 0; c < 3; c++) blob[y][x][c] = 0.45f + (float)(tu_uniform(&rng) - 0.5) * 0.4f;
        for (t = 0; t < nf; t++) {
            make_native(cells[t], rows, cols, bg_white, 0, &rng);
            for (y = 0; y < rows; y++)
                for (x = 0; x < cols; x++) {
                    const size_t i = (size_t)y * cols + x;
                    if (cells[t][i] < 0.95f) continue;   /* the sprites stay */
                    const float gx = x / 6.f, gy = y / 6.f;
                    const int x0 = (int)gx, y0 = (int)gy;
                    const float fx = gx - x0, fy = gy - y0;
                    const float grain = tu_uniform(&rng) < 0.15 ? 0.24f : 0.01f;   /* codec-flattened or not */
                    for (int c = 0; c < 3; c++) {
                        const float v = (1 - fy) * ((1 - fx) * blob[y0][x0][c] + fx * blob[y0][x0 + 1][c]) +
                                        fy * ((1 - fx) * blob[y0 + 1][x0][c] + fx * blob[y0 + 1][x0 + 1][c]);
                        cells[t][c * plane + i] = pfi_clampf(v + (float)(tu_uniform(&rng) - 0.5) * grain, 0, 1);
                    }
                }
            cc[t] = cells[t];
        }
        pfi_background_estimate(&bg, cc, nf, rows, cols);
        assert_int_equal(bg.kind, PF_BGK_FIELD);   /* 85% of the ring in smooth runs */
    }

    for (t = 0; t < nf; t++) free(cells[t]);
    free(scratch);
}

/* Enclosed background: the inside of a ring (a pocket of 120 cells, 17%
 * of the frame) is keyed like the open background, a 2x2 hole in a block
 * (an eye) stays, and keep_pockets keeps the pocket too. Filled with a
 * colour close to the background (within the key's tolerance, but off in
 * every cell: a coat, not a pocket), it stays (variant 2). */
static void test_background_pockets(void **state)
{
    const int rows = 24, cols = 30;
    const size_t plane = (size_t)rows * cols;
    float *cells = malloc(sizeof(float) * plane * 4);
    uint8_t *scratch = malloc(pfi_background_scratch_size(rows, cols));
    pfi_background bg;
    (void)state;
    /* variants 3 and 4: the inside's rim mixes 10% of the ring in (a
     * blurred upscale's edge cells). Inside a ring of one colour it is a
     * drawn shape (a glasses lens on a white background, val enclosed_00)
     * and stays; inside a ring of two colours (a gap between parts, val
     * enclosed_03) it is keyed, as its inner cells are the background's */
    for (int variant = 0; variant < 5; variant++) {
        const int keep = variant == 1;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                const size_t i = (size_t)y * cols + x;
                int ring = x >= 15 && x <= 28 && y >= 2 && y <= 13 && (x == 15 || x == 28 || y == 2 || y == 13);
                int block = x >= 3 && x <= 8 && y >= 3 && y <= 8 && !(x >= 5 && x <= 6 && y >= 5 && y <= 6);
                static const float magenta[3] = {1, 0, 1}, dark[3] = {0.1f, 0.1f, 0.3f}, coat[3] = {0.93f, 0.06f, 0.93f},
                                   yellow[3] = {0.9f, 0.8f, 0.1f};
                int inside = x > 15 && x < 28 && y > 2 && y < 13;
                int rim = inside && (x == 16 || x == 27 || y == 3 || y == 12);
                for (int c = 0; c < 3; c++)
                    cells[c * plane + i] = ring && variant == 4 && y == 2 ? yellow[c]
                                         : ring || block ? dark[c]
                                         : inside && variant == 2 ? coat[c]
                                         : rim && variant >= 3 ? 0.9f * magenta[c] + 0.1f * dark[c]
                                                               : magenta[c];
                cells[3 * plane + i] = 1;
            }
        pfi_background_solid(&bg, (const uint8_t[3]){255, 0, 255});
        bg.keep_pockets = keep;
        pfi_background_key(&bg, cells, rows, cols, scratch);
        const float *a = cells + 3 * plane;
        assert_true(a[(size_t)20 * cols + 2] == 0);           /* open background */
        assert_true(a[(size_t)2 * cols + 20] == 1);           /* the ring */
        assert_true(a[(size_t)8 * cols + 21] == (variant >= 1 && variant <= 3)); /* its inside */
        assert_true(a[(size_t)3 * cols + 21] == (variant >= 1 && variant <= 3)); /* its rim */
        assert_true(a[(size_t)5 * cols + 5] == 1);            /* the small hole */
    }
    free(cells);
    free(scratch);
}

/* Small pockets (under 2% of the frame): a gap of 48 cells between a dark
 * part and a yellow part is keyed (the space between a raised arm and the
 * head on shared/wild/sprited_one_part00.webp: 44-59 cells of 13794), and
 * so is a gap 2 cells wide and 12 long (between its legs). The same gaps
 * inside a ring of one colour (a glasses lens) stay, so do a 25-cell gap
 * and a 3x5 one between two colours (an eye's white: 16 cells on dev
 * gif_dither_05), and so do the keyed gaps when the open background is
 * grainy (a checkerboard 0.059 OKLab off in half its cells: an opaque
 * scene's texture, dev opaque_scene_09, where the "background" is a
 * colour of the scene). */
static void put_ring(float *cells, int cols, size_t plane, int x0, int y0, int x1, int y1, const float *left,
                     const float *right)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            if (x != x0 && x != x1 && y != y0 && y != y1) continue;
            const float *c = x < (x0 + x1) / 2 ? left : right;
            for (int k = 0; k < 3; k++) cells[k * plane + (size_t)y * cols + x] = c[k];
        }
}

static void test_background_small_pockets(void **state)
{
    const int rows = 60, cols = 80;
    const size_t plane = (size_t)rows * cols;
    float *cells = malloc(sizeof(float) * plane * 4);
    uint8_t *scratch = malloc(pfi_background_scratch_size(rows, cols));
    static const float dark[3] = {0.1f, 0.1f, 0.3f}, yellow[3] = {0.9f, 0.8f, 0.1f};
    pfi_background bg;
    (void)state;
    for (int grainy = 0; grainy < 2; grainy++) {
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                const size_t i = (size_t)y * cols + x;
                const float off = grainy && (x + y) % 2 ? 0.1f : 0.f;
                cells[i] = 1.f - off;
                cells[plane + i] = off * 0.3f;
                cells[2 * plane + i] = 1.f - off;
                cells[3 * plane + i] = 1.f;
            }
        put_ring(cells, cols, plane, 5, 5, 12, 14, dark, yellow);     /* inside 6x8 = 48, two colours */
        put_ring(cells, cols, plane, 20, 5, 27, 14, dark, dark);      /* inside 48, one colour */
        put_ring(cells, cols, plane, 35, 5, 41, 11, dark, yellow);    /* inside 5x5 = 25 */
        put_ring(cells, cols, plane, 50, 5, 53, 18, dark, yellow);    /* inside 2x12: a gap between legs */
        put_ring(cells, cols, plane, 60, 5, 63, 18, dark, dark);      /* the same, one colour */
        put_ring(cells, cols, plane, 70, 5, 74, 11, dark, yellow);    /* inside 3x5, 3 inner cells */
        pfi_background_solid(&bg, (const uint8_t[3]){255, 0, 255});
        pfi_background_key(&bg, cells, rows, cols, scratch);
        const float *a = cells + 3 * plane;
        assert_true(a[(size_t)40 * cols + 40] == 0);          /* open background */
        assert_true(a[(size_t)5 * cols + 8] == 1);            /* a ring */
        assert_true(a[(size_t)9 * cols + 8] == (float)grainy); /* the two-colour gap of 48 */
        assert_true(a[(size_t)9 * cols + 23] == 1);           /* the lens */
        assert_true(a[(size_t)8 * cols + 38] == 1);           /* the gap of 25 */
        assert_true(a[(size_t)12 * cols + 51] == (float)grainy); /* the thin gap */
        assert_true(a[(size_t)12 * cols + 61] == 1);          /* ... inside one colour */
        assert_true(a[(size_t)8 * cols + 72] == 1);           /* the 3-wide gap of 15 */
    }
    free(cells);
    free(scratch);
}

/* A busy background no plane fits: a smooth field of colour waves over
 * the whole frame. It is keyed by continuity from the border (kind
 * FIELD), the sprites and their enclosed hole stay, and a sprite part
 * that touches the border (cut off by steps in the ring) is not keyed. */
static void bg_waves(float u, float v, float rgb[3])
{
    rgb[0] = 0.5f + 0.3f * sinf(6.f * u + 2.f * v);
    rgb[1] = 0.45f + 0.3f * sinf(5.f * v - 3.f * u + 1.f);
    rgb[2] = 0.5f + 0.3f * cosf(4.f * u + 5.f * v);
}

static void test_background_field(void **state)
{
    const int rows = 48, cols = 60, nf = 3;
    const size_t plane = (size_t)rows * cols;
    float *cells[3], *copy = malloc(sizeof(float) * plane * 4);
    const float *cc[3];
    uint8_t *scratch = malloc(pfi_background_scratch_size(rows, cols));
    uint64_t rng = 4242;
    pfi_background bg;
    (void)state;
    for (int t = 0; t < nf; t++) {
        cells[t] = malloc(sizeof(float) * plane * 4);
        make_native(cells[t], rows, cols, bg_waves, 0.01f, &rng);
        /* a dark block standing on the bottom edge */
        for (int y = rows - 6; y < rows; y++)
            for (int x = 30; x < 42; x++)
                for (int c = 0; c < 3; c++) cells[t][c * plane + (size_t)y * cols + x] = c == 2 ? 0.35f : 0.15f;
        cc[t] = cells[t];
    }
    pfi_background_estimate(&bg, cc, nf, rows, cols);
    fprintf(stderr, "grid: background field: kind %d, rgb %d,%d,%d, tol %.3f\n", bg.kind, bg.rgb[0], bg.rgb[1],
            bg.rgb[2], bg.tol);
    assert_int_equal(bg.kind, PF_BGK_FIELD);
    for (int t = 0; t < nf; t++) {
        pfi_background_key(&bg, cells[t], rows, cols, scratch);
        check_keyed(cells[t], rows, cols);
        const float *a = cells[t] + 3 * plane;
        assert_true(a[(size_t)30 * cols + 50] == 0);             /* far from the sprites */
        assert_true(a[(size_t)(rows - 1) * cols + 35] == 1);     /* the block on the edge */
        assert_true(a[(size_t)(rows - 4) * cols + 30] == 1);
    }
    /* the same frame on a solid colour is no field */
    make_native(cells[0], rows, cols, bg_magenta, 0.01f, &rng);
    pfi_background_estimate(&bg, cc, 1, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_SOLID);
    /* noise with no continuity is neither: nothing is keyed */
    for (size_t i = 0; i < 3 * plane; i++) cells[0][i] = (float)tu_uniform(&rng);
    pfi_background_estimate(&bg, cc, 1, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_NONE);
    memcpy(copy, cells[0], sizeof(float) * plane * 4);
    pfi_background_key(&bg, cells[0], rows, cols, scratch);
    assert_memory_equal(copy, cells[0], sizeof(float) * plane * 4);
    for (int t = 0; t < nf; t++) free(cells[t]);
    free(copy);
    free(scratch);
}

/* A field that a plane covers only at its widest inlier threshold (red
 * waves of +-0.25 over a flat green and blue), with a square whose blue
 * differs from the field by a step (0.05 OKLab from the field's mean):
 * keyed as a plane, the square went with the background (val bg_field_08,
 * a shaded eye over a blob field); keyed as a field, it stays. */
static void bg_red_waves(float u, float v, float rgb[3])
{
    rgb[0] = 0.5f + 0.25f * sinf(7.f * u + 3.f * v);
    rgb[1] = 0.45f;
    rgb[2] = 0.5f;
}

/* Estimates the background of one frame of cells (4, rows, cols), which
 * must come out a field, and keys it; check_keyed's cells must hold. */
static void key_as_field(float *cells, int rows, int cols)
{
    const float *cc[1] = {cells};
    uint8_t *scratch = malloc(pfi_background_scratch_size(rows, cols));
    pfi_background bg;
    assert_non_null(scratch);
    pfi_background_estimate(&bg, cc, 1, rows, cols);
    assert_int_equal(bg.kind, PF_BGK_FIELD);
    pfi_background_key(&bg, cells, rows, cols, scratch);
    check_keyed(cells, rows, cols);
    free(scratch);
}

/* Two blobs of a field meeting at a sharp seam (a blue-grey ramp to the
 * left, olive to the right, column 42 a blend of 75 % of its left and
 * 25 % of its right neighbour): the growth stops on both sides of the
 * seam, as the blend is a step from the mean of its field neighbours,
 * and left an opaque line of background one cell wide (dev bg_field_06,
 * val bg_field_00). Such a line is keyed (key_ridges); a dark sprite line
 * one cell wide inside the olive blob stays. */
static void bg_seam(float u, float v, float rgb[3])
{
    const float left[3] = {0.35f + 0.1f * v, 0.55f, 0.85f - 0.1f * v}, right[3] = {0.35f, 0.42f + 0.05f * v, 0.05f};
    const int x = (int)(u * 60);
    for (int c = 0; c < 3; c++) rgb[c] = x < 42 ? left[c] : x > 42 ? right[c] : 0.75f * left[c] + 0.25f * right[c];
}

static void test_background_field_seam(void **state)
{
    const int rows = 48, cols = 60;
    const size_t plane = (size_t)rows * cols;
    float *cells = malloc(sizeof(float) * plane * 4);
    uint64_t rng = 77;
    (void)state;
    assert_non_null(cells);
    make_native(cells, rows, cols, bg_seam, 0.004f, &rng);
    for (int y = 26; y < 40; y++)
        for (int c = 0; c < 3; c++) cells[c * plane + (size_t)y * cols + 51] = c == 2 ? 0.03f : 0.18f;
    key_as_field(cells, rows, cols);
    const float *a = cells + 3 * plane;
    int seam = 0;
    for (int y = 0; y < rows; y++) seam += a[(size_t)y * cols + 42] == 0;
    fprintf(stderr, "grid: field seam: %d of %d cells keyed\n", seam, rows);
    assert_int_equal(seam, rows);
    for (int y = 26; y < 40; y++) assert_true(a[(size_t)y * cols + 51] == 1);   /* the dark line */
    free(cells);
}

static void test_background_field_near_plane(void **state)
{
    const int rows = 40, cols = 48;
    const size_t plane = (size_t)rows * cols;
    float *cells = malloc(sizeof(float) * plane * 4);
    uint64_t rng = 99;
    (void)state;
    assert_non_null(cells);
    make_native(cells, rows, cols, bg_red_waves, 0.005f, &rng);
    for (int y = 24; y < 34; y++)
        for (int x = 30; x < 40; x++) {
            const size_t i = (size_t)y * cols + x;
            cells[i] = 0.5f;
            cells[plane + i] = 0.45f;
            cells[2 * plane + i] = 0.62f;
        }
    key_as_field(cells, rows, cols);
    const float *a = cells + 3 * plane;
    for (int y = 24; y < 34; y++)
        for (int x = 30; x < 40; x++) assert_true(a[(size_t)y * cols + x] == 1);
    free(cells);
}

/* A busy field with many strong blobs along the border: no plane fits it
 * (the plane's threshold grows to its cap), and the stretches far from
 * that plane are as many as a scene's objects. It must still be keyed as
 * a field (val bg_busy_06 at --scale 5 was taken for a scene: acc 0.15). */
static void bg_blobs(float u, float v, float rgb[3])
{
    rgb[0] = 0.5f + 0.4f * sinf(10.f * u + 3.f) * sinf(9.f * v + 1.f);
    rgb[1] = 0.5f + 0.4f * cosf(10.f * v + 9.f * u);
    rgb[2] = 0.5f + 0.3f * sinf(9.f * u - 10.f * v);
}

static void test_background_field_many_blobs(void **state)
{
    const int rows = 40, cols = 48;
    float *cells = malloc(sizeof(float) * (size_t)rows * cols * 4);
    uint64_t rng = 7;
    (void)state;
    assert_non_null(cells);
    make_native(cells, rows, cols, bg_blobs, 0.005f, &rng);
    key_as_field(cells, rows, cols);
    free(cells);
}

/* A scene of textured grass over a band of bricks (the small-cell draw's
 * dev opaque_scene_06, 2.2x bilinear): the grass is one dominant colour of
 * three close shades and a few light dots, blurred as the upscale blurs
 * them (no step between neighbours strong enough for border_is_texture),
 * which a plane fits only with a wide tolerance (0.094 OKLab here, 0.096
 * there), and the bricks leave 0.38 of the ring out (0.40 there). Nothing
 * there is a background to key: keying the grass punched the scene out
 * (acc 0.33; 0.82 unkeyed). A plain background behind the same bricks,
 * with codec noise, is still keyed. */
static void make_grass_scene(float *cells, int rows, int cols, int textured, uint64_t *rng)
{
    const size_t plane = (size_t)rows * cols;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            const size_t i = (size_t)y * cols + x;
            float rgb[3] = {0.25f, 0.55f, 0.15f};
            if (textured) {
                const int shade = gs_randi(rng, 0, 2), dot = gs_randi(rng, 0, 29) == 0;
                rgb[1] += 0.05f * (float)(shade - 1);
                rgb[0] += 0.02f * (float)(shade - 1);
                if (dot) rgb[0] = 0.7f, rgb[1] = 0.9f, rgb[2] = 0.5f;
            } else {
                for (int c = 0; c < 3; c++) rgb[c] += 0.01f * (float)(gs_randi(rng, 0, 2) - 1);
            }
            if (y >= rows - 8) {   /* bricks of two reds: mortar every 4 rows and 8 columns */
                const int mortar = (y % 4 == 0) || ((x + (y / 4 % 2) * 4) % 8 == 0);
                const int dark = ((x + (y / 4 % 2) * 4) / 8 + y / 4) % 2;
                rgb[0] = mortar ? 0.75f : dark ? 0.5f : 0.65f;
                rgb[1] = mortar ? 0.7f : dark ? 0.2f : 0.3f;
                rgb[2] = mortar ? 0.65f : dark ? 0.1f : 0.2f;
            }
            if (x >= 14 && x < 22 && y >= 10 && y < rows - 8) rgb[0] = 0.1f, rgb[1] = 0.3f, rgb[2] = 0.6f;
            for (int c = 0; c < 3; c++) cells[c * plane + i] = rgb[c];
            cells[3 * plane + i] = 1;
        }
    if (!textured) return;
    /* the blur of a 2.2x bilinear upscale: half of each cell's colour
     * spread over its 4-neighbours (the dots become soft spots) */
    float *tmp = malloc(sizeof(float) * plane * 3);
    assert_non_null(tmp);
    memcpy(tmp, cells, sizeof(float) * plane * 3);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                const float *t = tmp + c * plane;
                const float l = t[(size_t)y * cols + (x > 0 ? x - 1 : x)], r = t[(size_t)y * cols + (x < cols - 1 ? x + 1 : x)];
                const float u = t[(size_t)(y > 0 ? y - 1 : y) * cols + x], d = t[(size_t)(y < rows - 1 ? y + 1 : y) * cols + x];
                cells[c * plane + (size_t)y * cols + x] = 0.5f * t[(size_t)y * cols + x] + 0.125f * (l + r + u + d);
            }
    free(tmp);
}

static void test_textured_scene_not_keyed(void **state)
{
    const int rows = 36, cols = 40, nf = 3;
    float *cells[3];
    const float *cc[3];
    uint64_t rng = 4242;
    pfi_background bg;
    (void)state;
    for (int textured = 1; textured >= 0; textured--) {
        for (int t = 0; t < nf; t++) {
            cells[t] = malloc(sizeof(float) * (size_t)rows * cols * 4);
            assert_non_null(cells[t]);
            make_grass_scene(cells[t], rows, cols, textured, &rng);
            cc[t] = cells[t];
        }
        pfi_background_estimate(&bg, cc, nf, rows, cols);
        fprintf(stderr, "grid: grass over bricks, %s: background kind %d\n", textured ? "textured" : "plain",
                (int)bg.kind);
        if (textured) assert_int_equal(bg.kind, PF_BGK_NONE);
        else assert_true(bg.kind == PF_BGK_SOLID || bg.kind == PF_BGK_GRADIENT);
        for (int t = 0; t < nf; t++) free(cells[t]);
    }
}

/* ---- regression: low-contrast texture framed by a saturated background ---- */

/* A 16x16 texture of close blues (an animated water tile) padded to 24x22
 * with magenta, upscaled 5.43x bicubic, 8 frames each shifted by a smooth
 * sub-pixel jitter. The outline against the background is ten times
 * stronger than any edge inside, and only its few positions are sharp in
 * every frame: the detector must still find the cells inside. */
static void test_framed_texture(void **state)
{
    enum { NW = 24, NH = 22, T = 8 };
    const double s = 5.43;
    const int W = (int)lrint(NW * s), H = (int)lrint(NH * s);
    uint8_t tex[16 * 16], *native = malloc((size_t)NW * NH * 4), *img[T];
    const uint8_t *fr[T];
    uint64_t rng = 4242;
    pfi_grid g;
    pfi_grid_params p = pfi_grid_default_params();
    int t, x, y;
    (void)state;
    assert_non_null(native);
    for (x = 0; x < 16 * 16; x++) tex[x] = (uint8_t)gs_randi(&rng, 0, 3);
    for (t = 0; t < T; t++) {
        const double jx = 0.25 * sin(0.9 * t), jy = 0.2 * cos(0.7 * t);
        for (y = 0; y < NH; y++)
            for (x = 0; x < NW; x++) {
                uint8_t *o = native + ((size_t)y * NW + x) * 4;
                if (x < 5 || x >= 21 || y < 3 || y >= 19) {
                    o[0] = 255; o[1] = 0; o[2] = 255;
                } else {
                    const int v = tex[((y - 3 + t) % 16) * 16 + (x - 5)];   /* flowing down */
                    o[0] = (uint8_t)(30 + 5 * v); o[1] = (uint8_t)(70 + 8 * v); o[2] = (uint8_t)(180 + 10 * v);
                }
                o[3] = 255;
            }
        img[t] = malloc((size_t)W * H * 4);
        assert_non_null(img[t]);
        gs_upscale(native, NW, NH, s, s, (-0.3 + jx) * s, (0.1 + jy) * s, GS_BICUBIC, img[t], W, H);
        fr[t] = img[t];
    }
    assert_int_equal(pfi_grid_detect(&g, fr, T, W, H, &p, NULL), PF_OK);
    fprintf(stderr, "grid: framed texture: cell %.3f x %.3f (true %.2f), %dx%d cells, confidence %.2f\n",
            g.cell_w, g.cell_h, s, g.cols, g.rows, g.confidence);
    assert_true(fabs(g.cell_w - s) < 0.01 * s && fabs(g.cell_h - s) < 0.01 * s);
    assert_int_equal(g.cols, NW);
    assert_int_equal(g.rows, NH);
    assert_true(g.confidence >= 0.5);   /* a clear grid, with margin over min_confidence */
    pfi_grid_free(&g);
    for (t = 0; t < T; t++) free(img[t]);
    free(native);
}

/* ---- limits ------------------------------------------------------------------ */

/* A frame 2 px wide and 4.3 million high (8.6 Mpx, under the default
 * max_pixels of 64 Mpx) overflowed the int line index of the edge profiles,
 * (2 l + 1) * h, and read far outside the frame: such sides are refused
 * before anything side-sized is allocated, either way round. */
static void test_huge_side(void **state)
{
    const int w = 2, h = 4300000;
    uint8_t *img = malloc((size_t)w * h * 4);
    const uint8_t *fr[1];
    pfi_grid g;
    pfi_grid_scratch sc;
    (void)state;
    assert_non_null(img);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t v = (i / (size_t)w / 3) & 1 ? 200 : 40;   /* 3 px stripes */
        img[4 * i] = img[4 * i + 1] = img[4 * i + 2] = v;
        img[4 * i + 3] = 255;
    }
    fr[0] = img;
    assert_int_equal(pfi_grid_detect(&g, fr, 1, w, h, NULL, NULL), PF_ELIMIT);
    assert_null(g.xb);
    assert_int_equal(pfi_grid_detect(&g, fr, 1, h, w, NULL, NULL), PF_ELIMIT);
    assert_null(g.xb);
    /* nor does the drift's scratch */
    assert_int_equal(pfi_grid_scratch_init(&sc, w, h), PF_ELIMIT);
    assert_null(sc.px);
    assert_int_equal(pfi_grid_scratch_init(&sc, 1, 10), PF_EINVAL);
    assert_int_equal(pfi_grid_scratch_init(NULL, 10, 10), PF_EINVAL);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_area),
        cmocka_unit_test(test_cells_exact),
        cmocka_unit_test(test_deblur),
        cmocka_unit_test(test_deblur_by_hand),
        cmocka_unit_test(test_forced_scale),
        cmocka_unit_test(test_no_grid),
        cmocka_unit_test(test_lossy_webp),
        cmocka_unit_test(test_webp_2x_bilinear),
        cmocka_unit_test(test_smooth_small_cells),
        cmocka_unit_test(test_even_side_padding),
        cmocka_unit_test(test_doubled_art_details),
        cmocka_unit_test(test_codec_harmonic_scales),
        cmocka_unit_test(test_codec_comb_on_gradient),
        cmocka_unit_test(test_codec_comb_harmonic),
        cmocka_unit_test(test_wild_webp),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_irregular),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_background_field),
        cmocka_unit_test(test_background_field_near_plane),
        cmocka_unit_test(test_background_field_seam),
        cmocka_unit_test(test_background_field_many_blobs),
        cmocka_unit_test(test_textured_scene_not_keyed),
        cmocka_unit_test(test_forced_scale_confidence),
        cmocka_unit_test(test_background_pockets),
        cmocka_unit_test(test_background_small_pockets),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_framed_texture),
        cmocka_unit_test(test_huge_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
