/* test_mesh.c - the elastic grid and the choice of lattice (src/grid/mesh.c,
 * lattice.c, period.c) on synthetic bent upscales: busy pixel-art sprites
 * rendered by the trainer's video_bent degradation (src/train/degrade.c),
 * whose true native coordinate of every input pixel is known
 * (pfi_degrade_native_at). Also: straight upscales stay regular, pictures
 * with no lattice get no grid, tracking is steady and rewinds exactly, and
 * the real AI clip of ../shared/wild restores into one size when it is
 * there. Per-case figures go to stderr. */
#include "testutil.h"

#include <math.h>

#include "grid/grid.h"
#include "grid_synth.h"
#include "io/io.h"
#include "train/degrade.h"
#include "pixelfix.h"

/* A busy sprite filling most of the w x h canvas: many small shapes with
 * outlines, shading pairs and single-pixel details, as pixel art has (big
 * flat areas would leave nothing to follow the lattice by). */
static void busy_sprite(uint64_t *s, int w, int h, uint8_t *img)
{
    uint8_t pal[10][4];
    const int npal = gs_randi(s, 6, 10);
    for (int i = 0; i < npal; i++) {
        for (int c = 0; c < 3; c++) pal[i][c] = (uint8_t)gs_randi(s, 0, 255);
        pal[i][3] = 255;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) memcpy(img + i * 4, pal[0], 4);
    for (int k = 0; k < w * h / 12; k++) {
        const int cx = gs_randi(s, 0, w - 1), cy = gs_randi(s, 0, h - 1);
        const int rx = gs_randi(s, 1, 4), ry = gs_randi(s, 1, 4);
        const uint8_t *c = pal[gs_randi(s, 1, npal - 1)], *o = pal[gs_randi(s, 0, npal - 1)];
        for (int y = cy - ry; y <= cy + ry; y++)
            for (int x = cx - rx; x <= cx + rx; x++) {
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                const int edge = x == cx - rx || x == cx + rx || y == cy - ry || y == cy + ry;
                gs_put(img, w, x, y, edge ? o : c);
            }
    }
}

/* One bent clip: a busy sprite of nw x nh native pixels (transparent
 * margin of 1-2), n frames through the video_bent degradation (codec
 * off unless asked, one frame per drawing). */
typedef struct bent_case {
    pfi_degrade d;
    pfi_degrade_geom g;
    pfi_anim clean, in;
    int nw, nh;
} bent_case;

/* How bent_make_ex animates: the sprite moves right one native pixel
 * every move_every clean frames (0: it stays), with room for it to the
 * right; jitter > 0 replaces the drawn sub-pixel drift by a slow sway of
 * that amplitude (native px) that starts at one extreme (-jitter) and
 * reaches the other (+jitter) at frame 20, with the bend held still. */
typedef struct bent_motion {
    int move_every;
    double jitter;
} bent_motion;

static void bent_make_ex(bent_case *b, uint64_t seed, int n, int codec, const bent_motion *mo)
{
    uint64_t s = seed * 2654435761u + 17;
    memset(b, 0, sizeof *b);
    const int sw0 = gs_randi(&s, 40, 70), sh0 = gs_randi(&s, 40, 70);
    const int mx = gs_randi(&s, 1, 2), my = gs_randi(&s, 1, 2);
    const int sw = sw0 - 2 * mx, sh = sh0 - 2 * my;
    const int room = mo && mo->move_every > 0 ? (n - 1) / mo->move_every : 0;
    b->nw = sw0 + room;
    b->nh = sh0;
    uint8_t *img = malloc((size_t)b->nw * b->nh * 4), *spr = malloc((size_t)sw * sh * 4);
    assert_non_null(img);
    assert_non_null(spr);
    busy_sprite(&s, sw, sh, spr);
    assert_int_equal(pfi_anim_init(&b->clean, b->nw, b->nh), PF_OK);
    for (int f = 0; f < n; f++) {
        const int at = mx + (room ? f / mo->move_every : 0);
        memset(img, 0, (size_t)b->nw * b->nh * 4);
        for (int y = 0; y < sh; y++)
            memcpy(img + ((size_t)(y + my) * b->nw + at) * 4, spr + (size_t)y * sw * 4, (size_t)sw * 4);
        assert_int_equal(pfi_anim_push(&b->clean, img, 100), PF_OK);
    }
    pfi_degrade_draw(&b->d, PF_DKIND_BENT, seed);
    b->d.hold = b->d.hold_max = 1;
    if (!codec) b->d.codec = PF_CODEC_NONE;
    if (mo && mo->jitter > 0) {
        b->d.jitter_x = b->d.jitter_y = mo->jitter;
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 2; k++) {
                b->d.jit_period[a][k] = 40;
                b->d.jit_theta[a][k] = -M_PI / 2;
                b->d.bend_speed[a][k] = 0;
                b->d.bend_wobble[a][k] = 0;
            }
    }
    assert_int_equal(pfi_degrade_clip(&b->d, &b->clean, &b->in, &b->g, NULL), PF_OK);
    free(img);
    free(spr);
}

static void bent_make(bent_case *b, uint64_t seed, int n, int codec) { bent_make_ex(b, seed, n, codec, NULL); }

static void bent_free(bent_case *b)
{
    pfi_anim_free(&b->clean);
    pfi_anim_free(&b->in);
    pfi_degrade_geom_free(&b->g);
}

/* Mean distance, in cells, between the mesh's boundaries and the true
 * ones of frame t (the same lattice index up to one whole offset per
 * axis), over the sprite. */
static double boundary_error(const pfi_lattice *L, const bent_case *b, int t)
{
    const pfi_grid *g = pfi_lattice_grid(L);
    double err = 0;
    int n = 0;
    for (int axis = 0; axis < 2; axis++) {
        /* true native coordinate of every fitted boundary, at band centres */
        const int len = axis ? b->in.height : b->in.width, lines = axis ? b->in.width : b->in.height;
        const int cells = axis ? g->rows : g->cols;
        double *val = malloc(sizeof *val * (size_t)(cells + 1) * 64);
        int nv = 0;
        assert_non_null(val);
        for (int q = 0; q < 64; q++) {
            const double across = (q + 0.5) * lines / 64.0;
            /* the boundary index i sits where the mesh coordinate is i */
            double prev = -1e9;
            for (int p = 0; p <= 4 * len; p++) {
                const double pos = p / 4.0, x = axis ? across : pos, y = axis ? pos : across;
                double u, v, tu, tv;
                pfi_lattice_coord(L, 0, 0, x, y, &u, &v);
                const double c = axis ? v : u;
                if (p > 0 && floor(c) != floor(prev) && nv < (cells + 1) * 64) {
                    pfi_degrade_native_at(&b->d, &b->g, t, x, y, &tu, &tv);
                    const double tc = axis ? tv : tu, other = axis ? tu : tv;
                    if (tc >= 1 && tc <= (axis ? b->nh : b->nw) - 1 && other >= 1 &&
                        other <= (axis ? b->nw : b->nh) - 1)
                        val[nv++] = tc - floor(c);
                }
                prev = c;
            }
        }
        /* the whole offset: the most common rounded difference */
        int best = 0, bestn = -1;
        for (int off = -4; off <= 4; off++) {
            int k = 0;
            for (int i = 0; i < nv; i++) k += lrint(val[i]) == off;
            if (k > bestn) bestn = k, best = off;
        }
        for (int i = 0; i < nv; i++) err += fabs(val[i] - best), n++;
        free(val);
    }
    return n ? err / n : 1e9;
}

static pfi_lattice *find_at(const pfi_anim *a, pf_grid_mode mode, double scale, pf_status *st)
{
    const uint8_t *fr[8];
    const int n = a->count < 8 ? a->count : 8;
    pfi_lattice *L = NULL;
    pfi_lattice_params lp = {mode, scale, 4};
    for (int i = 0; i < n; i++) fr[i] = a->frames[i].rgba;
    *st = pfi_lattice_find(&L, fr, n, a->width, a->height, &lp, NULL);
    return L;
}

static pfi_lattice *find(const pfi_anim *a, pf_grid_mode mode, pf_status *st)
{
    return find_at(a, mode, 0, st);
}

/* ---- bent upscales: the count and the boundaries ----------------------------- */

static void test_bent_count_and_boundaries(void **state)
{
    const int ncase = 20;
    int exact = 0, elastic = 0;
    double errsum = 0;
    (void)state;
    for (int c = 0; c < ncase; c++) {
        bent_case b;
        pf_status st;
        bent_make(&b, 1000 + (uint64_t)c, 4, c % 5 == 4);
        pfi_lattice *L = find(&b.in, PF_GRID_AUTO, &st);
        assert_non_null(L);
        assert_int_equal(st, PF_OK);
        const pfi_grid *g = pfi_lattice_grid(L);
        float *smp = pfi_malloc4((size_t)g->cols * 4, (size_t)g->rows * 4, 4, sizeof(float));
        double dx, dy;
        assert_non_null(smp);
        assert_int_equal(pfi_lattice_sample(L, b.in.frames[0].rgba, smp, &dx, &dy), PF_OK);
        const double e = boundary_error(L, &b, 0);
        exact += g->cols == b.nw && g->rows == b.nh;
        elastic += pfi_lattice_elastic(L);
        errsum += e;
        fprintf(stderr, "mesh: bent %2d: scale %.3f (found %.3f x %.3f) bend %.2f codec %d, %dx%d -> %dx%d %s, boundary error %.3f cell\n",
                c, b.d.scale, g->cell_w, g->cell_h, b.d.bend, b.d.codec, b.nw, b.nh, g->cols, g->rows,
                pfi_lattice_elastic(L) ? "elastic" : "regular", e);
        free(smp);
        pfi_lattice_free(L);
        bent_free(&b);
    }
    fprintf(stderr, "mesh: bent upscales: %d/%d exact count, %d elastic, mean boundary error %.3f cell\n",
            exact, ncase, elastic, errsum / ncase);
    assert_true(exact * 100 >= 95 * ncase);
    assert_true(errsum / ncase <= 0.2);
}

/* ---- square cells: both axes' mean cells pooled ---------------------------------- */

/* in stretched along x by f (bilinear, edge clamped) into out, which is
 * pfi_anim_init'ed here. */
static void stretch_x(const pfi_anim *in, double f, pfi_anim *out)
{
    const int w = (int)lrint(in->width * f), h = in->height;
    uint8_t *row = malloc((size_t)w * h * 4);
    assert_non_null(row);
    assert_int_equal(pfi_anim_init(out, w, h), PF_OK);
    for (int i = 0; i < in->count; i++) {
        const uint8_t *src = in->frames[i].rgba;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double sx = (x + 0.5) / f - 0.5;
                if (sx < 0) sx = 0;
                if (sx > in->width - 1) sx = in->width - 1;
                const int x0 = (int)sx, x1 = x0 + 1 < in->width ? x0 + 1 : x0;
                const double t = sx - x0;
                for (int c = 0; c < 4; c++)
                    row[((size_t)y * w + x) * 4 + c] =
                        (uint8_t)lrint((1 - t) * src[((size_t)y * in->width + x0) * 4 + c] +
                                       t * src[((size_t)y * in->width + x1) * 4 + c]);
            }
        assert_int_equal(pfi_anim_push(out, row, 100), PF_OK);
    }
    free(row);
}

/* A video model's pixels are square, and each axis measures the bend over
 * its own rows or columns: the pooled mean cell gets the count right where
 * one axis alone is off (seed 1016: rows 56 from the rows' own mean cell,
 * 55 pooled). Cells 15% wider than tall are not pooled. */
static void test_square_cells(void **state)
{
    bent_case b;
    pf_status st;
    (void)state;
    bent_make(&b, 1016, 4, 0);
    pfi_lattice *L = find(&b.in, PF_GRID_AUTO, &st);
    assert_int_equal(st, PF_OK);
    assert_true(pfi_lattice_elastic(L));
    assert_int_equal(pfi_lattice_grid(L)->cols, b.nw);
    assert_int_equal(pfi_lattice_grid(L)->rows, b.nh);
    pfi_lattice_free(L);
    bent_free(&b);

    int exact = 0;
    for (int c = 0; c < 4; c++) {
        pfi_anim wide;
        bent_make(&b, 1000 + (uint64_t)c, 4, 0);
        stretch_x(&b.in, 1.15, &wide);
        L = find(&wide, PF_GRID_ELASTIC, &st);
        assert_int_equal(st, PF_OK);
        const pfi_grid *g = pfi_lattice_grid(L);
        fprintf(stderr, "mesh: stretched bent %d: %dx%d -> %dx%d\n", c, b.nw, b.nh, g->cols, g->rows);
        exact += g->cols == b.nw && g->rows == b.nh;
        pfi_lattice_free(L);
        pfi_anim_free(&wide);
        bent_free(&b);
    }
    assert_int_equal(exact, 4);
}

/* ---- a forced cell size keeps its count ------------------------------------------ */

/* --scale S on a bent clip: the native size is the canvas over S (as the
 * ground truth's), whether the lattice stays regular or goes elastic; the
 * mesh's own recount (the sprite's mean cell) would move it by up to a few
 * cells (measured on val video_bent at the true scale: 5 of 10 sizes
 * right before, 10 of 10 after). */
static void test_forced_scale_count(void **state)
{
    int exact = 0, elastic = 0;
    (void)state;
    for (int c = 0; c < 20; c++) {
        bent_case b;
        pf_status st;
        bent_make(&b, 1000 + (uint64_t)c, 4, c % 5 == 4);
        pfi_lattice *L = find_at(&b.in, PF_GRID_AUTO, b.d.scale, &st);
        assert_non_null(L);
        assert_int_equal(st, PF_OK);
        const pfi_grid *g = pfi_lattice_grid(L);
        assert_int_equal(g->cols, (int)lrint(b.in.width / b.d.scale));
        assert_int_equal(g->rows, (int)lrint(b.in.height / b.d.scale));
        exact += g->cols == b.nw && g->rows == b.nh;
        elastic += pfi_lattice_elastic(L);
        pfi_lattice_free(L);
        bent_free(&b);
    }
    fprintf(stderr, "mesh: forced scale: %d/20 the ground truth's size, %d elastic\n", exact, elastic);
    assert_int_equal(exact, 20);
    assert_true(elastic >= 5);
}

/* `--grid regular` on bent upscales: where the regular detector finds no
 * period, the mesh's cell gives the regular grid (before, no grid), within
 * a cell of the truth on each axis. */
static void test_regular_mode_takes_mesh_cell(void **state)
{
    int found = 0, near = 0;
    (void)state;
    for (int c = 0; c < 20; c++) {
        bent_case b;
        pf_status st;
        bent_make(&b, 1000 + (uint64_t)c, 4, c % 5 == 4);
        pfi_lattice *L = find(&b.in, PF_GRID_REGULAR, &st);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK) {
            const pfi_grid *g = pfi_lattice_grid(L);
            assert_false(pfi_lattice_elastic(L));
            assert_non_null(g->xb);
            found++;
            near += abs(g->cols - b.nw) <= 1 && abs(g->rows - b.nh) <= 1;
        }
        pfi_lattice_free(L);
        bent_free(&b);
    }
    fprintf(stderr, "mesh: --grid regular on bent upscales: %d/20 found, %d within a cell of the size\n", found,
            near);
    assert_int_equal(found, 20);
    assert_true(near >= 18);
}

/* An empty case of lo..hi native pixels a side; returns its picture's
 * buffer (b->nh, b->nw, 4), for the caller to draw and free. */
static uint8_t *new_still(bent_case *b, uint64_t *seed, int lo, int hi)
{
    memset(b, 0, sizeof *b);
    b->nw = gs_randi(seed, lo, hi);
    b->nh = gs_randi(seed, lo, hi);
    uint8_t *img = malloc((size_t)b->nw * b->nh * 4);
    assert_non_null(img);
    return img;
}

/* Three frames of the native picture img (b->nh, b->nw, 4) into b->clean,
 * degraded as the trainer's kind draws from seed, every frame its own
 * (no holds); codec 0 drops the codec. */
static void degrade_still(bent_case *b, const uint8_t *img, int kind, uint64_t seed, int codec)
{
    assert_int_equal(pfi_anim_init(&b->clean, b->nw, b->nh), PF_OK);
    for (int f = 0; f < 3; f++) assert_int_equal(pfi_anim_push(&b->clean, img, 100), PF_OK);
    pfi_degrade_draw(&b->d, kind, seed);
    if (!codec) b->d.codec = PF_CODEC_NONE;
    b->d.hold = b->d.hold_max = 1;
    assert_int_equal(pfi_degrade_clip(&b->d, &b->clean, &b->in, &b->g, NULL), PF_OK);
}

/* ---- straight upscales stay regular -------------------------------------------- */

static void test_straight_stays_regular(void **state)
{
    int regular = 0, exact = 0;
    (void)state;
    for (int c = 0; c < 8; c++) {
        bent_case b;
        pf_status st;
        uint64_t s = 500 + (uint64_t)c;
        uint8_t *img = new_still(&b, &s, 30, 60);
        busy_sprite(&s, b.nw, b.nh, img);
        degrade_still(&b, img, PF_DKIND_VIDEO_MODEL, s, 0);   /* bicubic, jitter, no bend */
        pfi_lattice *L = find(&b.in, PF_GRID_AUTO, &st);
        assert_int_equal(st, PF_OK);
        regular += !pfi_lattice_elastic(L);
        exact += pfi_lattice_grid(L)->cols == b.nw && pfi_lattice_grid(L)->rows == b.nh;
        pfi_lattice_free(L);
        bent_free(&b);
        free(img);
    }
    fprintf(stderr, "mesh: straight upscales: %d/8 regular, %d/8 exact count\n", regular, exact);
    assert_int_equal(regular, 8);
    assert_int_equal(exact, 8);
}

/* Small straight upscales through real codecs: a 16x16 tile of four close
 * blues in a plain margin, 20-26 cells a side, as dev's minetest textures.
 * Where the regular detector does not trust its period, the mesh fallback
 * runs; a mesh that confirms that period and hardly bends gives the regular
 * grid back (lattice.c LATTICE_STRAIGHT): 38 of 47 regular, was 34. The
 * clips whose count is wrong (7 of 47) mostly get a cell 2-3x the true one,
 * dev's own failure (given the true --scale, dev scores 0.933, not 0.830):
 * this holds the line until the candidates find the true cell there. */
static void test_small_straight(void **state)
{
    static const int kinds[] = {PF_DKIND_GIF, PF_DKIND_H264_SMOOTH, PF_DKIND_WEBP, PF_DKIND_VIDEO_MODEL};
    int regular = 0, exact = 0, found = 0;
    (void)state;
    for (int c = 0; c < 48; c++) {
        bent_case b;
        pf_status st;
        uint64_t s = 7000 + (uint64_t)c;
        uint8_t *img = new_still(&b, &s, 20, 26);
        for (int y = 0; y < b.nh; y++)
            for (int x = 0; x < b.nw; x++) {
                uint8_t *o = img + ((size_t)y * b.nw + x) * 4;
                const int in = x >= 2 && x < 18 && y >= 2 && y < 18;
                const int v = gs_randi(&s, 0, 3);
                o[0] = in ? (uint8_t)(30 + 12 * v) : 0;
                o[1] = in ? (uint8_t)(70 + 16 * v) : 0;
                o[2] = in ? (uint8_t)(170 + 20 * v) : 0;
                o[3] = in ? 255 : 0;
            }
        degrade_still(&b, img, kinds[c % 4], s, 1);
        pfi_lattice *L = find(&b.in, PF_GRID_AUTO, &st);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK) {
            const pfi_grid *g = pfi_lattice_grid(L);
            found++;
            regular += !pfi_lattice_elastic(L);
            exact += g->cols == b.nw && g->rows == b.nh;
            if (g->cols != b.nw || g->rows != b.nh)
                fprintf(stderr, "mesh: small %2d (kind %d, scale %.3f): %dx%d -> %dx%d %s\n", c, kinds[c % 4],
                        b.d.scale, b.nw, b.nh, g->cols, g->rows, pfi_lattice_elastic(L) ? "elastic" : "regular");
        }
        pfi_lattice_free(L);
        bent_free(&b);
        free(img);
    }
    fprintf(stderr, "mesh: small straight upscales: %d/48 found, %d regular, %d exact count\n", found, regular,
            exact);
    assert_true(found >= 45);
    assert_true(exact >= 40);
    assert_true(regular >= 38);
}

/* ---- no lattice: no grid --------------------------------------------------------- */



/* Art for a small-upscale case: (nh, nw, 4) from gs_sprite on a random
 * background colour (drawn from rng after the art's own draws, as every
 * such test did), and room for its (H, W, 4) upscale. bg gets the colour. */
static void small_art(uint64_t *rng, int nw, int nh, int W, int H, uint8_t bg[3], uint8_t **art, uint8_t **img)
{
    *art = malloc((size_t)nw * nh * 4);
    *img = malloc((size_t)W * H * 4);
    assert_non_null(*art);
    assert_non_null(*img);
    for (int c = 0; c < 3; c++) bg[c] = (uint8_t)gs_randi(rng, 0, 255);
    gs_sprite(rng, nw, nh, bg, *art);
}

/* Small upscales (2.2-2.5x, bilinear) of pixel art with single-pixel
 * detail on a plain background, through lossy WebP: the regular
 * detector's edge-location combs lose a 2.2-2.4 px comb and the
 * candidates start at 2.5 px, so most such clips were refused ("no pixel
 * grid found"); both axes' first-difference spectra still show it (the
 * fine pair, fine_pair.c). 24 cases: without the fine pair 10 found, 5 at
 * the art's size; with it 22 found, 16 at the art's size (20 fine pairs
 * within 1 % of the scale, scoring 3 or more). */
static void test_small_cells_fine_pair(void **state)
{
    uint64_t rng = 0xf19eULL;
    int found = 0, right = 0, paired = 0;
    (void)state;
    for (int i = 0; i < 24; i++) {
        const int nw = gs_randi(&rng, 30, 48), nh = gs_randi(&rng, 30, 48);
        const double s = 2.2 + 0.3 * tu_uniform(&rng);
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t bg[3], *native, *img;
        small_art(&rng, nw, nh, W, H, bg, &native, &img);
        for (size_t q = 0; q < (size_t)nw * nh; q++)   /* single-pixel detail: dither, highlights */
            if (gs_randi(&rng, 0, 99) < 30) memcpy(native + q * 4, native + (size_t)gs_randi(&rng, 0, nw * nh - 1) * 4, 3);
        gs_upscale(native, nw, nh, s, s, 0, 0, GS_BILINEAR, img, W, H);
        assert_int_equal(gs_webp(img, W, H, (float)gs_randi(&rng, 60, 80)), 0);
        const uint8_t *fr[1] = {img};
        double score, per = pfi_grid_fine_pair(fr, 1, W, H, &score);
        paired += per > 0 && fabs(per / s - 1) < 0.01 && score >= 3.0;
        pfi_lattice *L = NULL;
        pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
        pf_status st = pfi_lattice_find(&L, fr, 1, W, H, &lp, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK) {
            found++;
            right += pfi_lattice_grid(L)->cols == nw && pfi_lattice_grid(L)->rows == nh;
        }
        pfi_lattice_free(L);
        free(native);
        free(img);
    }
    fprintf(stderr, "mesh: 2.2-2.5x bilinear under WebP: %d of 24 found, %d at the art's size, %d fine pairs\n",
            found, right, paired);
    assert_true(paired >= 18);
    assert_true(right >= 17);   /* 16 before the fit pair (fine_fit.c) */
}

/* The fit pair (fine_fit.c) finds the cell of small upscales with a
 * smooth kernel, bilinear or bicubic at 2.1-2.7x, with or without a lossy
 * WebP, within 0.6 %, and finds nothing in pixel art at its native size
 * (score under 1.5, LATTICE_FINE_FIT). */
static void test_small_cells_fine_fit(void **state)
{
    uint64_t rng = 0xf17ULL;
    int right = 0, native = 0;
    double worst_native = 0;
    (void)state;
    for (int i = 0; i < 24; i++) {
        const int nw = gs_randi(&rng, 30, 48), nh = gs_randi(&rng, 30, 48);
        const double s = 2.1 + 0.6 * tu_uniform(&rng);
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t bg[3], *art, *img;
        small_art(&rng, nw, nh, W, H, bg, &art, &img);
        gs_upscale(art, nw, nh, s, s, tu_uniform(&rng), tu_uniform(&rng), i % 2 ? GS_BICUBIC : GS_BILINEAR, img, W, H);
        if (i % 3 == 0) assert_int_equal(gs_webp(img, W, H, (float)gs_randi(&rng, 60, 80)), 0);
        const uint8_t *fr[1] = {img};
        double score, cell = pfi_grid_fine_fit(fr, 1, W, H, &score);
        right += cell > 0 && score >= 1.5 && fabs(cell / s - 1) < 0.006;
        const uint8_t *nf[1] = {art};
        if (nw >= 16 && nh >= 16) {
            pfi_grid_fine_fit(nf, 1, nw, nh, &score);
            native += score < 1.5;
            if (score > worst_native) worst_native = score;
        }
        free(art);
        free(img);
    }
    fprintf(stderr, "mesh: fit pairs at the cell of 2.1-2.7x smooth upscales: %d of 24; native art under 1.5: %d of 24 "
            "(highest %.2f)\n", right, native, worst_native);
    assert_true(right >= 18);
    assert_int_equal(native, 24);
}

/* Opaque art (no background: a scene, a tile) upscaled 2.1-2.7x with a
 * smooth kernel, plain or through lossy WebP or H.264: the regular
 * detector can lock onto a harmonic of the art's texture or the codec's
 * blocks with full confidence (11.7 px for 2.58 px; 10.3 px for 2.35 px),
 * and then only the fit pair (fine_fit.c), scoring far above what any
 * right grid lets it reach, tells the true cell (lattice.c
 * prefer_fit_pair). 60 cases: without the override 52 at the art's size
 * and 2 at 4-5 times its cell; with it 54, and every grid found within 2
 * cells of the art's size. */
static void test_small_opaque_fit_pair(void **state)
{
    uint64_t rng = 0xe1ULL;
    int right = 0, found = 0, near = 0;
    char dir[4096];
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    for (int i = 0; i < 60; i++) {
        const int nw = gs_randi(&rng, 40, 90), nh = gs_randi(&rng, 30, 60);
        const double s = 2.1 + 0.6 * tu_uniform(&rng);
        const int W = (int)lrint(nw * s), H = (int)lrint(nh * s);
        uint8_t bg[3], *art, *img;
        small_art(&rng, nw, nh, W, H, bg, &art, &img);
        for (size_t q = 0; q < (size_t)nw * nh; q++) {   /* opaque; every other case with single-pixel detail */
            if (art[q * 4 + 3] == 0) memcpy(art + q * 4, bg, 3), art[q * 4 + 3] = 255;
            if (i % 2 && gs_randi(&rng, 0, 99) < 30) memcpy(art + q * 4, art + (size_t)gs_randi(&rng, 0, nw * nh - 1) * 4, 3);
        }
        const int codec = (i / 3) % 3;
        gs_upscale(art, nw, nh, s, s, tu_uniform(&rng), tu_uniform(&rng), i % 3 ? GS_BICUBIC : GS_BILINEAR, img, W, H);
        if (codec == 1) assert_int_equal(gs_webp(img, W, H, (float)gs_randi(&rng, 60, 80)), 0);
        if (codec == 2) assert_int_equal(gs_compress(img, W, H, 1, gs_randi(&rng, 18, 28), dir), 0);
        const uint8_t *fr[1] = {img};
        pfi_lattice *L = NULL;
        pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
        pf_status st = pfi_lattice_find(&L, fr, 1, W, H, &lp, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK) {
            const pfi_grid *g = pfi_lattice_grid(L);
            found++;
            right += g->cols == nw && g->rows == nh;
            near += abs(g->cols - nw) <= 2 && abs(g->rows - nh) <= 2;
            if (g->cols != nw || g->rows != nh)
                fprintf(stderr, "mesh: opaque %2d (scale %.3f, codec %d): %dx%d -> %dx%d at %.3f px\n", i, s, codec, nw,
                        nh, g->cols, g->rows, g->cell_w);
        }
        pfi_lattice_free(L);
        free(art);
        free(img);
    }
    tu_rmtree(dir);
    fprintf(stderr, "mesh: opaque art at 2.1-2.7x: %d of 60 found, %d at the art's size, %d within 2 cells\n", found,
            right, near);
    assert_true(right >= 54);
    assert_int_equal(near, found);
}

static void test_no_lattice(void **state)
{
    const int w = 320, h = 240;
    uint8_t *img = malloc((size_t)w * h * 4);
    uint64_t rng = 77;
    int none = 0, total = 0;
    (void)state;
    assert_non_null(img);
    for (int i = 0; i < 40; i++) {
        if (i % 4 == 0) gs_photo(&rng, img, w, h);
        else if (i % 4 == 1) gs_discs(&rng, img, w, h);
        else if (i % 4 == 2)
            for (size_t q = 0; q < (size_t)w * h * 4; q++) img[q] = (q & 3) == 3 ? 255 : (uint8_t)gs_randi(&rng, 0, 255);
        else
            gs_sprite(&rng, w, h, NULL, img);   /* pixel art at its own size: no grid to find */
        const uint8_t *fr[1] = {img};
        pfi_lattice *L = NULL;
        pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
        pf_status st = pfi_lattice_find(&L, fr, 1, w, h, &lp, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        none += st == PF_ENOGRID;
        total++;
        pfi_lattice_free(L);
    }
    fprintf(stderr, "mesh: pictures with no lattice: %d/%d reported as no grid\n", none, total);
    assert_true(none * 10 >= total * 9);
    free(img);
}

/* The same for clips, where a candidate needs less contrast than on a
 * still (LATTICE_MIN_CONTRAST): four frames of a picture panning by 3 px
 * a frame, or of noise redrawn every frame. Noise is never taken for a
 * grid. */
static void test_no_lattice_clips(void **state)
{
    const int w = 240, h = 180, n = 4, pad = 3 * n;
    uint8_t *big = malloc((size_t)(w + pad) * (h + pad) * 4), *fr[4];
    uint64_t rng = 91;
    int none = 0, total = 0, noise_found = 0;
    (void)state;
    assert_non_null(big);
    for (int f = 0; f < n; f++) assert_non_null(fr[f] = malloc((size_t)w * h * 4));
    for (int i = 0; i < 32; i++) {
        const int W = w + pad, H = h + pad;
        if (i % 4 == 0) gs_photo(&rng, big, W, H);
        else if (i % 4 == 1) gs_discs(&rng, big, W, H);
        else if (i % 4 == 3) gs_sprite(&rng, W, H, NULL, big);
        for (int f = 0; f < n; f++) {
            if (i % 4 == 2)
                for (size_t q = 0; q < (size_t)w * h * 4; q++) fr[f][q] = (q & 3) == 3 ? 255 : (uint8_t)gs_randi(&rng, 0, 255);
            else
                for (int y = 0; y < h; y++)
                    memcpy(fr[f] + (size_t)y * w * 4, big + ((size_t)(y + 3 * f) * W + 3 * f) * 4, (size_t)w * 4);
        }
        pfi_lattice *L = NULL;
        pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
        pf_status st = pfi_lattice_find(&L, (const uint8_t *const *)fr, n, w, h, &lp, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK)
            fprintf(stderr, "mesh: clip %d (%s) found a %s grid of %.2f px\n", i,
                    (const char *[]){"photo", "discs", "noise", "sprite"}[i % 4],
                    pfi_lattice_elastic(L) ? "elastic" : "regular", pfi_lattice_grid(L)->cell_w);
        none += st == PF_ENOGRID;
        noise_found += i % 4 == 2 && st == PF_OK;
        total++;
        pfi_lattice_free(L);
    }
    assert_int_equal(noise_found, 0);
    fprintf(stderr, "mesh: clips with no lattice: %d/%d reported as no grid\n", none, total);
    /* today 25 of 32: panning photos, discs and pixel art at its own size
     * can pass as a bent lattice of 8-15 px (the mesh fallback is lenient;
     * see the issue 13 note); this holds the line */
    assert_true(none * 4 >= total * 3);
    for (int f = 0; f < n; f++) free(fr[f]);
    free(big);
}

/* Pictures with no lattice saved as JPEG: the 8 x 8 blocks ring at 16 / k
 * px on both axes, locked to the frame origin, and the fine pair
 * (fine_pair.c) took that comb for a 2.67 or 3.2 px upscale: JPEG photos,
 * gradients and smooth noise came out as 120x90 to 384x288 "pixel art".
 * 12 pictures (smooth blobs, blurred noise, vector discs) at JPEG qualities
 * 4-9 (-q:v): none at a codec fraction, and 10 or more no grid at all. */
static void test_no_lattice_jpeg(void **state)
{
    const int w = 320, h = 240;
    uint8_t *img = malloc((size_t)w * h * 4);
    uint64_t rng = 0x1b9ULL;
    int codec_comb = 0, none = 0;
    char dir[4096];
    (void)state;
    assert_non_null(img);
    tu_tmpdir(dir, sizeof dir);
    for (int i = 0; i < 12; i++) {
        if (i % 3 == 0) gs_photo(&rng, img, w, h);
        else if (i % 3 == 1) gs_discs(&rng, img, w, h);
        else {
            for (size_t q = 0; q < (size_t)w * h * 4; q++) img[q] = (q & 3) == 3 ? 255 : (uint8_t)gs_randi(&rng, 0, 255);
            gs_blur(img, w, h, 1.0 + i / 4);
        }
        assert_int_equal(gs_compress(img, w, h, 0, 4 + i / 2, dir), 0);
        const uint8_t *fr[1] = {img};
        pfi_lattice *L = NULL;
        pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
        pf_status st = pfi_lattice_find(&L, fr, 1, w, h, &lp, NULL);
        assert_true(st == PF_OK || st == PF_ENOGRID);
        if (st == PF_OK) {
            const double c = pfi_lattice_grid(L)->cell_w;
            const int k = pfi_codec_harmonic(c, 0.01);
            fprintf(stderr, "mesh: JPEG picture %d found a grid of %.3f px\n", i, c);
            codec_comb += k > 0 && 16 % k != 0;
        }
        none += st == PF_ENOGRID;
        pfi_lattice_free(L);
    }
    /* before the phase test 8 of the 12 gave 2.66-2.67 px; today one gives
     * 2.005 px (blurred noise: a whole-number period, left to the luma test) */
    assert_int_equal(codec_comb, 0);
    assert_true(none >= 10);
    tu_rmtree(dir);
    free(img);
}

/* ---- tracking ------------------------------------------------------------------ */

/* The same drawing held for several frames (as video models hold each
 * drawing 2-3 frames) comes out the same; a rewind replays exactly. */
static void test_tracking_held_and_rewind(void **state)
{
    bent_case b;
    pf_status st;
    (void)state;
    bent_make(&b, 4242, 6, 0);
    /* hold: frames 2 and 3 repeat frame 1 */
    memcpy(b.in.frames[2].rgba, b.in.frames[1].rgba, (size_t)b.in.width * b.in.height * 4);
    memcpy(b.in.frames[3].rgba, b.in.frames[1].rgba, (size_t)b.in.width * b.in.height * 4);
    pfi_lattice *L = find(&b.in, PF_GRID_ELASTIC, &st);
    assert_int_equal(st, PF_OK);
    assert_true(pfi_lattice_elastic(L));
    const pfi_grid *g = pfi_lattice_grid(L);
    const size_t ns = (size_t)g->cols * 4 * g->rows * 4 * 4;
    float *smp[6];
    double dx, dy;
    for (int t = 0; t < 6; t++) {
        assert_non_null(smp[t] = malloc(ns * sizeof(float)));
        assert_int_equal(pfi_lattice_sample(L, b.in.frames[t].rgba, smp[t], &dx, &dy), PF_OK);
    }
    /* held frames: the mesh settles, so samples barely move (< 1/255 mean) */
    for (int t = 2; t <= 3; t++) {
        double d = 0;
        for (size_t i = 0; i < ns; i++) d += fabs(smp[t][i] - smp[t - 1][i]);
        fprintf(stderr, "mesh: held frame %d: mean sample change %.5f\n", t, d / ns);
        assert_true(d / ns < 1.0 / 255);
    }
    /* rewind: the same samples again */
    pfi_lattice_rewind(L);
    float *again = malloc(ns * sizeof(float));
    assert_non_null(again);
    for (int t = 0; t < 6; t++) {
        assert_int_equal(pfi_lattice_sample(L, b.in.frames[t].rgba, again, &dx, &dy), PF_OK);
        assert_memory_equal(again, smp[t], ns * sizeof(float));
    }
    /* boundaries follow the wobble: still accurate on the last frame */
    const double e = boundary_error(L, &b, 5);
    fprintf(stderr, "mesh: tracked to frame 5: boundary error %.3f cell\n", e);
    assert_true(e < 0.25);
    free(again);
    for (int t = 0; t < 6; t++) free(smp[t]);
    pfi_lattice_free(L);
    bent_free(&b);
}

/* A regular grid's drift wraps with hysteresis: a drawing held through
 * sub-pixel jitter around half a cell (frames at +0.42 and +0.58 cell of
 * the lattice found on the first frames) keeps its cells, where a wrap at
 * exactly half a cell moved every cell by one and back (val video_model_06
 * and dev video_model_07: held frames a row apart); a steady pan still
 * wraps, so motion stays in whole cells. */
static void test_regular_drift_hysteresis(void **state)
{
    (void)state;
    enum { NW = 40, NH = 32, HEAD = 4, JIT = 6, PAN = 10 };
    const double s = 5.6;
    const int W = (int)lrint(NW * s), H = (int)lrint(NH * s), n = HEAD + JIT + PAN;
    uint64_t rng = 77;
    uint8_t *native = malloc((size_t)NW * NH * 4), *img[HEAD + JIT + PAN];
    double shift[HEAD + JIT + PAN];
    assert_non_null(native);
    gs_sprite(&rng, NW, NH, NULL, native);
    for (int t = 0; t < n; t++) {
        shift[t] = t < HEAD ? 0 : t < HEAD + JIT ? ((t - HEAD) % 2 ? 0.58 : 0.42) : 0.2 * (t - HEAD - JIT);
        assert_non_null(img[t] = malloc((size_t)W * H * 4));
        gs_upscale(native, NW, NH, s, s, (0.1 + shift[t]) * s, 0.2 * s, GS_NEAREST, img[t], W, H);
    }
    pfi_lattice *L = NULL;
    pfi_lattice_params lp = {PF_GRID_REGULAR, 0, 4};
    assert_int_equal(pfi_lattice_find(&L, (const uint8_t *const *)img, HEAD, W, H, &lp, NULL), PF_OK);
    assert_false(pfi_lattice_elastic(L));
    const pfi_grid *g = pfi_lattice_grid(L);
    assert_true(fabs(g->cell_w - s) < 0.02 * s);
    const size_t ns = (size_t)g->cols * 4 * g->rows * 4 * 4;
    float *smp = malloc(ns * sizeof(float)), *first = malloc(ns * sizeof(float));
    assert_non_null(smp);
    assert_non_null(first);
    double worst_held = 0, dx, dy;
    for (int t = 0; t < n; t++) {
        assert_int_equal(pfi_lattice_sample(L, img[t], smp, &dx, &dy), PF_OK);
        const double cells = dx / g->cell_w;
        if (t == HEAD) memcpy(first, smp, ns * sizeof(float));
        if (t > HEAD && t < HEAD + JIT) {
            double d = 0;
            for (size_t i = 0; i < ns; i++) d += fabs(smp[i] - first[i]);
            worst_held = fmax(worst_held, d / ns);
            assert_true(fabs(cells - shift[t]) < 0.1);
        }
        /* the pan (0.2 cell a frame): the drift stays within the hold, wraps
         * at 0.8 cell and is near 0 once the content has moved a whole cell */
        assert_true(fabs(cells) <= 0.5 + 0.15 + 0.05);
        if (t == HEAD + JIT + 4) assert_true(cells < -0.1);
        if (t == HEAD + JIT + 5) assert_true(fabs(cells) < 0.1);
    }
    fprintf(stderr, "lattice: drawing held through jitter across half a cell: mean sample change %.4f\n",
            worst_held);
    assert_true(worst_held < 0.02);
    free(smp);
    free(first);
    for (int t = 0; t < n; t++) free(img[t]);
    free(native);
    pfi_lattice_free(L);
}

/* ---- whole-pixel motion ---------------------------------------------------------- */

/* The whole offset (ox, oy) in [-3, 3]^2 at which restored cells (4, rows,
 * cols), 0..1, best match the clean frame (nh, nw, 4) RGBA8: clean pixel
 * (x, y) against cell (x + ox, y + oy), mean |RGB difference| over the
 * clean frame's opaque pixels. */
static void clean_offset(const float *cells, int rows, int cols, const uint8_t *clean, int nw, int nh, int *ox,
                         int *oy)
{
    const size_t P = (size_t)rows * cols;
    double best = 1e30;
    for (int dy = -3; dy <= 3; dy++)
        for (int dx = -3; dx <= 3; dx++) {
            double e = 0;
            int n = 0;
            for (int y = 0; y < nh; y++)
                for (int x = 0; x < nw; x++) {
                    const uint8_t *p = clean + ((size_t)y * nw + x) * 4;
                    const int r = y + dy, c = x + dx;
                    if (p[3] < 128 || r < 0 || c < 0 || r >= rows || c >= cols) continue;
                    for (int ch = 0; ch < 3; ch++) e += fabs(cells[ch * P + (size_t)r * cols + c] - p[ch] / 255.0);
                    n++;
                }
            if (n > nw * nh / 4 && e / n < best) best = e / n, *ox = dx, *oy = dy;
        }
}

/* Still parts stay still and moving parts move in whole native pixels
 * (issue 13): the restored cells keep one offset to the clean frames over
 * the whole clip, both when the sprite sways by up to 0.84 cell from where
 * it starts (a video model's sub-pixel drift: the mesh must not re-index,
 * which would make the sprite jump a pixel and back) and when it moves
 * one native pixel every third frame (whole moves pass through as they
 * are). A sprite that drifts 2 cells follows in steps of one pixel. */
static void test_whole_pixel_motion(void **state)
{
    const bent_motion motions[3] = {{0, 0.42}, {3, 0.2}, {0, 1.0}};
    const char *what[3] = {"swaying 0.84 cell", "moving 1 px every 3 frames", "drifting 2 cells"};
    const int n = 24;
    (void)state;
    for (int c = 0; c < 4; c++) {
        bent_case b;
        pf_status st;
        const int mo = c % 3;
        bent_make_ex(&b, 3100 + (uint64_t)c, n, 0, &motions[mo]);
        pfi_lattice *L = find(&b.in, PF_GRID_ELASTIC, &st);
        assert_int_equal(st, PF_OK);
        const pfi_grid *g = pfi_lattice_grid(L);
        const int k = 4;
        float *smp = pfi_malloc4((size_t)g->cols * k, (size_t)g->rows * k, 4, sizeof(float));
        float *cells = pfi_malloc4((size_t)g->cols, (size_t)g->rows, 4, sizeof(float));
        assert_non_null(smp);
        assert_non_null(cells);
        int ox0 = 0, oy0 = 0, moved = 0, px = 0, py = 0, jump = 0;
        for (int t = 0; t < n; t++) {
            double dx, dy;
            int ox = 0, oy = 0;
            assert_int_equal(pfi_lattice_sample(L, b.in.frames[t].rgba, smp, &dx, &dy), PF_OK);
            pfi_grid_cells(smp, g->rows, g->cols, k, cells);
            clean_offset(cells, g->rows, g->cols, b.clean.frames[t].rgba, b.nw, b.nh, &ox, &oy);
            if (t == 0) ox0 = ox, oy0 = oy;
            moved += ox != ox0 || oy != oy0;
            if (t > 0 && (abs(ox - px) > 1 || abs(oy - py) > 1)) jump++;
            px = ox;
            py = oy;
        }
        fprintf(stderr, "mesh: motion %d (%s): %d of %d frames off the first frame's offset, %d jumps over a pixel\n",
                c, what[mo], moved, n, jump);
        if (mo < 2) assert_int_equal(moved, 0);
        else assert_true(moved > 0 && jump == 0);
        free(smp);
        free(cells);
        pfi_lattice_free(L);
        bent_free(&b);
    }
}

/* ---- the real AI clip --------------------------------------------------------- */

/* Of the pixels opaque in either of two consecutive frames (alpha >= 128),
 * the share that `changed` calls changed. */
typedef int (*changed_fn)(const uint8_t *a, const uint8_t *b);
static int any_change(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 4) != 0; }
static int box_change(const uint8_t *a, const uint8_t *b)
{
    for (int c = 0; c < 4; c++)
        if (abs(a[c] - b[c]) > 24) return 1;
    return 0;
}

/* docs/metrics.md "Real clips without ground truth": the share of sprite pixels
 * (output alpha >= 128 in either frame) that change between consecutive
 * frames, for `frames` (n, h, w, 4) judged by `changed`, with the sprite
 * mask from `mask` (the restored frames). */
static double steadiness(uint8_t *const *frames, uint8_t *const *mask, int n, int w, int h, changed_fn changed)
{
    double moved = 0, sprite = 0;
    for (int t = 1; t < n; t++)
        for (size_t i = 0; i < (size_t)w * h; i++) {
            if (mask[t - 1][i * 4 + 3] < 128 && mask[t][i * 4 + 3] < 128) continue;
            sprite++;
            moved += changed(frames[t - 1] + i * 4, frames[t] + i * 4);
        }
    return sprite > 0 ? moved / sprite : 0;
}

/* ../shared/wild/sprited_one_part00.webp with default settings (the
 * shipped model when models/ has it): no error, one size for the clip,
 * and steadier than a box resize of the input to the same size. */
static void test_wild_clip(void **state)
{
    const char *path = "../shared/wild/sprited_one_part00.webp";
    pfi_anim in = {0};
    pf_limits lim = pf_default_limits();
    pf_params p = pf_default_params();
    pf_model *model = NULL;
    pf_stream *st = NULL;
    pf_stream_frame f;
    uint8_t *out[64], *box[64];
    int n = 0, w = 0, h = 0;
    (void)state;
    if (!tu_exists(path)) {
        fprintf(stderr, "mesh: %s not found: skipped\n", path);
        skip();
    }
    assert_int_equal(pfi_read_anim(&in, path, &lim, 1, NULL), PF_OK);
    if (tu_exists("models/pixelfix-v6.safetensors"))
        assert_int_equal(pf_model_load(&model, "models/pixelfix-v6.safetensors", &p), PF_OK);
    assert_int_equal(pf_stream_open(&st, in.width, in.height, &p, model), PF_OK);
    for (int t = 0; t <= in.count; t++) {
        if (t < in.count)
            assert_int_equal(pf_stream_push(st, in.frames[t].rgba, in.width * 4, t * 41, in.frames[t].duration_ms), PF_OK);
        else
            assert_int_equal(pf_stream_finish(st), PF_OK);
        while (pf_stream_pull(st, &f) == PF_OK) {
            if (!w) w = f.width, h = f.height;
            assert_int_equal(f.width, w);   /* one size for the clip */
            assert_int_equal(f.height, h);
            assert_true(n < 64);
            out[n] = malloc((size_t)w * h * 4);
            assert_non_null(out[n]);
            memcpy(out[n], f.rgba, (size_t)w * h * 4);
            n++;
        }
    }
    assert_int_equal(n, in.count);
    const pf_report *rep = pf_stream_report(st);
    assert_int_equal(rep->grid_kind, PF_GRID_ELASTIC);
    /* the box resize of every input frame to the native size */
    for (int t = 0; t < n; t++) {
        box[t] = malloc((size_t)w * h * 4);
        assert_non_null(box[t]);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float px[4];
                pfi_grid_sample_box(in.frames[t].rgba, in.width, in.height, (double)x * in.width / w,
                                   (double)(x + 1) * in.width / w, (double)y * in.height / h,
                                   (double)(y + 1) * in.height / h, px);
                for (int c = 0; c < 4; c++) box[t][((size_t)y * w + x) * 4 + c] = (uint8_t)lrintf(px[c] * 255);
            }
    }
    const double ours = steadiness(out, out, n, w, h, any_change), theirs = steadiness(box, out, n, w, h, box_change);
    fprintf(stderr, "mesh: wild clip: %dx%d native, %s grid, cell %.2f x %.2f px, bending %.2f cells; "
            "steadiness %.4f against %.4f for a box resize (model %s)\n", w, h,
            rep->grid_kind == PF_GRID_ELASTIC ? "elastic" : "regular", rep->cell_w, rep->cell_h, rep->bend,
            ours, theirs, model ? "on" : "off");
    assert_true(ours < theirs);
    for (int t = 0; t < n; t++) {
        free(out[t]);
        free(box[t]);
    }
    pf_stream_close(st);
    pf_model_free(model);
    pfi_anim_free(&in);
}

/* The regular detector's period breaks ties between mesh candidates only
 * where its two axes agree: a clip whose axes came out 22.3 x 2.0 px (a
 * codec comb on one) has no period 12.1 px, which once outvoted the true
 * 7.1 px mesh. */
static void test_regular_period_needs_agreeing_axes(void **state)
{
    pfi_grid g;
    (void)state;
    memset(&g, 0, sizeof g);
    g.cell_w = 22.275, g.cell_h = 2.0;
    assert_true(pfi_lattice_regular_period(&g) == 0);
    g.cell_w = 5.718, g.cell_h = 5.718;
    assert_true(fabs(pfi_lattice_regular_period(&g) - 5.718) < 1e-12);
    g.cell_w = 10.0, g.cell_h = 10.4;   /* 4% apart: one period, their mean */
    assert_true(fabs(pfi_lattice_regular_period(&g) - 10.2) < 1e-12);
    g.cell_w = 10.0, g.cell_h = 11.0;   /* 10% apart */
    assert_true(pfi_lattice_regular_period(&g) == 0);
    g.cell_w = 0, g.cell_h = 0;         /* nothing found */
    assert_true(pfi_lattice_regular_period(&g) == 0);
}

/* Between meshes about as coherent, the larger cell wins only where it is
 * a whole multiple of the best's (the best is then its harmonic). A
 * shaded head (tecnoballz, bent at 7.1 px) fits meshes at 7.31 and 10.99
 * px with coherence 0.443 and 0.401: 1.5 times is no harmonic, and the
 * larger one sized it at 49 cells for 72. Figures from -vv logs of
 * video_bent clips of a fresh evaluation-set draw. */
static void test_pick_harmonic_only(void **state)
{
    (void)state;
    const double c1[3] = {7.311, 10.993, 4.004}, h1[3] = {0.443, 0.401, 0.274};
    assert_int_equal(pfi_lattice_pick(c1, h1, 3), 0);
    const double c2[2] = {6.765, 9.053}, h2[2] = {0.461, 0.451};   /* 1.34 times */
    assert_int_equal(pfi_lattice_pick(c2, h2, 2), 0);
    const double c3[3] = {5.10, 10.35, 15.0}, h3[3] = {0.50, 0.47, 0.30};   /* twice: the larger */
    assert_int_equal(pfi_lattice_pick(c3, h3, 3), 1);
    const double c4[3] = {5.10, 10.35, 15.0}, h4[3] = {0.50, 0.47, 0.46};   /* three times, too */
    assert_int_equal(pfi_lattice_pick(c4, h4, 3), 2);
    const double c5[2] = {5.10, 10.35}, h5[2] = {0.50, 0.44};   /* twice, but under 0.9 of it */
    assert_int_equal(pfi_lattice_pick(c5, h5, 2), 0);
    const double c6[3] = {12.0, 6.0, 3.0}, h6[3] = {-1, 0.40, 0.41};   /* no mesh at 12 */
    assert_int_equal(pfi_lattice_pick(c6, h6, 3), 1);
    const double c7[2] = {12.0, 6.0}, h7[2] = {-1, -1};
    assert_int_equal(pfi_lattice_pick(c7, h7, 2), -1);
}

/* ---- arguments ------------------------------------------------------------------ */

static void test_errors(void **state)
{
    uint8_t img[16 * 16 * 4] = {0};
    const uint8_t *fr[1] = {img};
    pfi_lattice *L = NULL;
    pfi_mesh *m = NULL;
    pfi_lattice_params lp = {PF_GRID_AUTO, 0, 4};
    (void)state;
    assert_int_equal(pfi_lattice_find(&L, NULL, 1, 16, 16, &lp, NULL), PF_EINVAL);
    lp.k = 0;
    assert_int_equal(pfi_lattice_find(&L, fr, 1, 16, 16, &lp, NULL), PF_EINVAL);
    lp.k = 4;
    lp.scale = 0.5;
    assert_int_equal(pfi_lattice_find(&L, fr, 1, 16, 16, &lp, NULL), PF_EINVAL);
    assert_null(L);
    assert_int_equal(pfi_mesh_fit(&m, img, 16, 16, 2.0, 4, 0, NULL), PF_EINVAL);   /* cell under 2.5 */
    assert_int_equal(pfi_mesh_fit(&m, img, 16, 16, 8.0, 4, 0, NULL), PF_EINVAL);   /* over a third */
    assert_int_equal(pfi_mesh_fit(&m, img, 16, 16, 4.0, 9, 0, NULL), PF_EINVAL);   /* k */
    assert_int_equal(pfi_mesh_fit(&m, img, 16, 16, 4.0, 4, 0, NULL), PF_ENOGRID);  /* flat: no edges */
    assert_null(m);
    /* a flat clip: no grid, and the lattice still says what it saw */
    lp.mode = PF_GRID_ELASTIC;
    lp.scale = 0;
    assert_int_equal(pfi_lattice_find(&L, fr, 1, 16, 16, &lp, NULL), PF_ENOGRID);
    assert_non_null(L);
    float smp[64];
    double dx, dy;
    assert_int_equal(pfi_lattice_sample(L, img, smp, &dx, &dy), PF_EINVAL);
    pfi_lattice_free(L);
    pfi_lattice_free(NULL);
    pfi_mesh_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bent_count_and_boundaries),
        cmocka_unit_test(test_square_cells),
        cmocka_unit_test(test_forced_scale_count),
        cmocka_unit_test(test_regular_mode_takes_mesh_cell),
        cmocka_unit_test(test_straight_stays_regular),
        cmocka_unit_test(test_small_straight),
        cmocka_unit_test(test_small_cells_fine_pair),
        cmocka_unit_test(test_small_cells_fine_fit),
        cmocka_unit_test(test_small_opaque_fit_pair),
        cmocka_unit_test(test_no_lattice),
        cmocka_unit_test(test_no_lattice_clips),
        cmocka_unit_test(test_no_lattice_jpeg),
        cmocka_unit_test(test_tracking_held_and_rewind),
        cmocka_unit_test(test_regular_drift_hysteresis),
        cmocka_unit_test(test_whole_pixel_motion),
        cmocka_unit_test(test_regular_period_needs_agreeing_axes),
        cmocka_unit_test(test_pick_harmonic_only),
        cmocka_unit_test(test_wild_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
