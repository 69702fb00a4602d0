/* test_train.c - the training pipeline: examples aligned to the detected
 * grid, the loss's gradient, determinism of examples, and a resumed run
 * equal bit for bit to an uninterrupted one. Procedural data only, so it
 * runs without the fetched packages. */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "nn/model.h"
#include "nn/weights.h"
#include "train/sample.h"
#include "train/trainer.h"
#include "train/synth.h"
#include "train/dataset.h"
#include "io/io.h"
#include "palette/palette.h"
#include "core/stream_tap.h"

static pfi_sample_cfg small_cfg(int kind)
{
    pfi_sample_cfg c = pfi_sample_default_cfg();
    c.T = 4;
    c.crop = 16;
    c.kind = kind;
    c.max_native = 32;
    return c;
}

/* On nearest-scaled H.264 clips (kind 1) the classical cell colour must
 * match the aligned GT in most opaque cells: a GT shifted by one cell
 * would match far fewer (edges everywhere in a sprite). */
static void test_sample_gt_aligned(void **state)
{
    (void)state;
    pfi_dataset d = {0};
    pfi_sample_cfg c = small_cfg(1);
    pfi_sample s;
    assert_int_equal(pfi_sample_alloc(&s, &c), PF_OK);
    int good = 0, seen = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        pfi_sample_stats st = {0};
        assert_int_equal(pfi_sample_make(&s, &d, &c, seed, &st, NULL), PF_OK);
        assert_int_equal(s.kind, 1);
        const size_t plane = (size_t)s.H * s.W;
        for (int t = 0; t < s.T; t++)
            for (size_t i = 0; i < plane; i++) {
                const float *gt = s.gt + (size_t)t * 4 * plane, *ce = s.cells + (size_t)t * 4 * plane;
                if (s.valid[(size_t)t * plane + i] == 0 || gt[3 * plane + i] < 0.5f) continue;
                float e = 0;
                for (int ch = 0; ch < 3; ch++) e = fmaxf(e, fabsf(gt[ch * plane + i] - ce[ch * plane + i]));
                seen++;
                good += e < 12 / 255.0f;
            }
    }
    assert_true(seen > 200);
    printf("  classical cells within 12/255 of the aligned GT: %d of %d\n", good, seen);
    assert_true(good > 0.85 * seen);
    pfi_sample_free(&s);
}

/* opaque_scene examples: the clean clip is composed over a tiled backdrop
 * (procedural checkers without tiles), so the GT is opaque in every cell. */
static void test_sample_scene_opaque(void **state)
{
    (void)state;
    pfi_dataset d = {0};
    int k_scene = -1;
    for (int k = 0; k < PF_SAMPLE_KINDS; k++)
        if (pfi_sample_dkind(k) == PF_DKIND_SCENE) k_scene = k;
    assert_true(k_scene >= 0);
    pfi_sample_cfg c = small_cfg(k_scene);
    pfi_sample s;
    assert_int_equal(pfi_sample_alloc(&s, &c), PF_OK);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        assert_int_equal(pfi_sample_make(&s, &d, &c, seed, NULL, NULL), PF_OK);
        const size_t plane = (size_t)s.H * s.W;
        int valid = 0;
        for (int t = 0; t < s.T; t++)
            for (size_t i = 0; i < plane; i++) {
                if (s.valid[(size_t)t * plane + i] == 0) continue;
                valid++;
                assert_true(s.gt[(size_t)t * 4 * plane + 3 * plane + i] == 1.0f);
            }
        assert_true(valid > 0);
    }
    pfi_sample_free(&s);
}

/* Transparent pixels (alpha < 128) of frame f that no 4-connected path of
 * transparent pixels joins to the canvas border: enclosed background. */
static int enclosed_pixels(const pfi_anim *a, int f)
{
    const int W = a->width, H = a->height;
    const uint8_t *p = a->frames[f].rgba;
    uint8_t *seen = calloc((size_t)W * H, 1);
    int *q = malloc(sizeof *q * (size_t)W * H), head = 0, tail = 0, clear = 0;
    assert_true(seen && q);
    for (int i = 0; i < W * H; i++) {
        const int x = i % W, y = i / W;
        clear += p[i * 4 + 3] < 128;
        if (p[i * 4 + 3] < 128 && (x == 0 || y == 0 || x == W - 1 || y == H - 1)) seen[i] = 1, q[tail++] = i;
    }
    while (head < tail) {
        const int i = q[head++], x = i % W, y = i / W;
        const int nb[4] = {x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1, y > 0 ? i - W : -1, y < H - 1 ? i + W : -1};
        for (int d = 0; d < 4; d++)
            if (nb[d] >= 0 && !seen[nb[d]] && p[nb[d] * 4 + 3] < 128) seen[nb[d]] = 1, q[tail++] = nb[d];
    }
    free(seen);
    free(q);
    return clear - tail;
}

/* The clean-clip changes of enclosed and minority_hue: the ring keeps every
 * opaque pixel, paints only transparent ones, and encloses background; the
 * recolour moves 1-5% of the opaque pixels to a distant hue at about the
 * same lightness and leaves alpha alone. */
static void test_sample_ring_recolour(void **state)
{
    (void)state;
    int painted = 0, enclosing = 0, recoloured = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        pfi_anim a = {0}, b = {0};
        assert_int_equal(pfi_synth_clip(&a, 28, 26, 3, seed, NULL), PF_OK);
        assert_int_equal(pfi_synth_clip(&b, 28, 26, 3, seed, NULL), PF_OK);
        pfi_rng r;
        pfi_rng_seed(&r, seed * 77);
        pfi_sample_ring(&b, &r);
        int added = 0;
        for (int t = 0; t < a.count; t++)
            for (int i = 0; i < a.width * a.height; i++) {
                const uint8_t *p = a.frames[t].rgba + (size_t)i * 4, *o = b.frames[t].rgba + (size_t)i * 4;
                if (p[3] >= 128) assert_memory_equal(p, o, 4);
                else added += o[3] >= 128;
            }
        painted += added > 0;
        enclosing += enclosed_pixels(&b, 0) > enclosed_pixels(&a, 0);
        pfi_anim_free(&b);

        assert_int_equal(pfi_synth_clip(&b, 28, 26, 3, seed, NULL), PF_OK);
        pfi_sample_recolour(&b, &r);
        /* the hue of the commonest chromatic colour (10: none) */
        float main_hue = 10.0f;
        {
            int best = 0;
            const uint8_t *f0 = a.frames[0].rgba;
            for (int i = 0; i < a.width * a.height; i++) {
                int same = 0;
                float lab[3];
                if (f0[i * 4 + 3] < 128) continue;
                pfi_srgb8_to_oklab(f0 + (size_t)i * 4, lab);
                if (hypotf(lab[1], lab[2]) <= 0.03f) continue;
                for (int j = 0; j < a.width * a.height; j++)
                    same += f0[j * 4 + 3] >= 128 && memcmp(f0 + (size_t)j * 4, f0 + (size_t)i * 4, 3) == 0;
                if (same > best) best = same, main_hue = atan2f(lab[2], lab[1]);
            }
        }
        int opaque = 0, moved = 0;
        for (int t = 0; t < a.count; t++)
            for (int i = 0; i < a.width * a.height; i++) {
                const uint8_t *p = a.frames[t].rgba + (size_t)i * 4, *o = b.frames[t].rgba + (size_t)i * 4;
                assert_int_equal(p[3], o[3]);
                if (p[3] < 128) continue;
                opaque++;
                if (memcmp(p, o, 3) == 0) continue;
                moved++;
                float lp[3], lo[3];
                pfi_srgb8_to_oklab(p, lp);
                pfi_srgb8_to_oklab(o, lo);
                assert_true(fabsf(lp[0] - lo[0]) < 0.1f);
                if (hypotf(lo[1], lo[2]) > 0.1f) {   /* not crushed by the gamut: a hue */
                    float dh = fabsf(atan2f(lo[2], lo[1]) - main_hue);
                    if (dh > 3.14159265f) dh = 6.2831853f - dh;
                    assert_true(main_hue > 9.0f || dh > 0.5f);   /* 29 degrees off the main colour */
                }
            }
        if (moved) {
            recoloured++;
            assert_true(moved * 100 >= opaque && moved * 20 <= opaque);
        }
        pfi_anim_free(&a);
        pfi_anim_free(&b);
    }
    printf("  of 24 clips: the ring painted %d and enclosed background in %d; the recolour moved %d\n", painted,
           enclosing, recoloured);
    assert_true(painted >= 20 && enclosing >= 6 && recoloured >= 4);
}

/* Same seed, same bytes; another seed, another example. */
static void test_sample_deterministic(void **state)
{
    (void)state;
    pfi_dataset d = {0};
    pfi_sample_cfg c = small_cfg(-1);
    pfi_sample a, b;
    assert_int_equal(pfi_sample_alloc(&a, &c), PF_OK);
    assert_int_equal(pfi_sample_alloc(&b, &c), PF_OK);
    const size_t n = (size_t)c.T * 4 * c.crop * c.crop;
    assert_int_equal(pfi_sample_make(&a, &d, &c, 77, NULL, NULL), PF_OK);
    assert_int_equal(pfi_sample_make(&b, &d, &c, 77, NULL, NULL), PF_OK);
    assert_memory_equal(a.gt, b.gt, n * sizeof(float));
    assert_memory_equal(a.samples, b.samples, n * c.k * c.k * sizeof(float));
    assert_int_equal(pfi_sample_make(&b, &d, &c, 78, NULL, NULL), PF_OK);
    assert_true(memcmp(a.samples, b.samples, n * c.k * c.k * sizeof(float)) != 0);
    pfi_sample_free(&a);
    pfi_sample_free(&b);
}

/* --kinds: only the set kinds are drawn, each about equally often; the
 * full set draws exactly as no set; and v3's ten (gif_dither to
 * opaque_scene, then any) draw as v3's trainer did, pfi_rng_int(r, 10)
 * with rank 9 = any. */
static void test_sample_draw_kinds(void **state)
{
    (void)state;
    const uint32_t all = (1u << PF_SAMPLE_KINDS) - 1;
    uint32_t v3 = 0;
    for (int k = 0; k < PF_SAMPLE_KINDS; k++)
        if (pfi_sample_dkind(k) <= PF_DKIND_SCENE) v3 |= 1u << k;   /* any is PF_DKIND_ANY = 0 */
    int nv3 = 0;
    for (int k = 0; k < PF_SAMPLE_KINDS; k++) nv3 += (v3 >> k) & 1;
    assert_int_equal(nv3, 10);
    pfi_rng a, b, c, d;
    pfi_rng_seed(&a, 5);
    pfi_rng_seed(&b, 5);
    pfi_rng_seed(&c, 6);
    pfi_rng_seed(&d, 6);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(pfi_sample_draw_kind(all, &a), pfi_sample_draw_kind(0, &b));
        const int old = pfi_rng_int(&d, 10);
        assert_int_equal(pfi_sample_dkind(pfi_sample_draw_kind(v3, &c)), old < 9 ? PF_DKIND_GIF + old : PF_DKIND_ANY);
    }
    const uint32_t two = 1u << 2 | 1u << 7;
    int count[PF_SAMPLE_KINDS] = {0};
    for (int i = 0; i < 2000; i++) count[pfi_sample_draw_kind(two, &a)]++;
    for (int k = 0; k < PF_SAMPLE_KINDS; k++)
        if (k == 2 || k == 7) assert_true(count[k] > 900 && count[k] < 1100);
        else assert_int_equal(count[k], 0);
}

/* The validation packages never reach training, whatever the manifest
 * lists: a manifest with one animation from each of them and one from a
 * training package loads that one only; --exclude drops it too. */
static void test_dataset_refuses_val(void **state)
{
    (void)state;
    static const char *pkgs[] = {"xbill", "gnujump-data", "tecnoballz-data", "pekka-kana-2-data"};
    char dir[256], path[512];
    uint8_t px[4 * 4 * 4];
    tu_tmpdir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 37);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"animations\": [");
    for (int p = 0; p < 4; p++) {
        snprintf(path, sizeof path, "%s/a%d", dir, p);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/a%d/0000.png", dir, p);
        assert_int_equal(pfi_png_write(path, px, 4, 4, 1), PF_OK);
        fprintf(fp, "%s{\"package\": \"%s\", \"dir\": \"a%d\", \"frames\": 1, \"durations_ms\": [100]}",
                p ? ", " : "", pkgs[p], p);
    }
    fprintf(fp, "]}\n");
    fclose(fp);
    pfi_dataset d;
    assert_int_equal(pfi_dataset_load(&d, dir, NULL, NULL), PF_OK);
    assert_int_equal(d.n_anims, 1);
    assert_int_equal(d.n_packages, 1);
    pfi_dataset_free(&d);
    assert_int_equal(pfi_dataset_load(&d, dir, "pekka-kana-2-data", NULL), PF_ENOFRAMES);
    tu_rmtree(dir);
}

static nn_unet_cfg tiny_net(void)
{
    nn_unet_cfg n = nn_unet_default_cfg();
    n.levels = 2;
    n.ch[0] = 6;
    n.ch[1] = 8;
    n.in_ch = 67;
    n.out_ch = 4;
    return n;
}

/* The hand-written compose + loss backward (premultiplied temporal term
 * included) against central differences on the head's weights and biases,
 * with a random non-zero head so every path carries gradient. */
/* The trainer's network input is pf_stream's, bit for bit: a degraded
 * clip goes through pf_stream (its tap sees every frame's samples and
 * keyed cells) and through pfi_sample_from_clip with a crop covering the
 * whole native frame, for a straight and a bent (elastic) lattice. */
typedef struct tap_rec {
    float *samples, *cells;   /* (T, ...) as the tap saw them */
    int n, rows, cols, k;
    size_t slen, clen;
} tap_rec;

static void tap_keep(void *user, const float *samples, const float *cells, int rows, int cols, int k)
{
    tap_rec *r = user;
    r->rows = rows;
    r->cols = cols;
    r->k = k;
    r->slen = (size_t)rows * cols * 4 * k * k;
    r->clen = (size_t)rows * cols * 4;
    if (r->n >= 8) return;
    memcpy(r->samples + (size_t)r->n * r->slen, samples, r->slen * sizeof(float));
    memcpy(r->cells + (size_t)r->n * r->clen, cells, r->clen * sizeof(float));
    r->n++;
}

static void test_sample_matches_stream(void **state)
{
    (void)state;
    const int kinds[2] = {PF_DKIND_VIDEO_MODEL, PF_DKIND_BENT};
    /* clip and degradation seeds; the bent one is a draw its lattice fits
     * (on procedural sprites the trainer keeps about a third of bent draws) */
    const uint64_t clip_seed[2] = {77, 86}, deg_seed[2] = {900, 909};
    for (int q = 0; q < 2; q++) {
        pfi_anim clean = {0}, deg = {0};
        pfi_degrade dp;
        pfi_degrade_geom geom = {0};
        pfi_sample_cfg c = pfi_sample_default_cfg();
        pfi_sample s;
        pfi_rng r;
        c.T = 8;
        c.crop = 64;
        assert_int_equal(pfi_synth_clip(&clean, 60, 60, c.T, clip_seed[q], NULL), PF_OK);
        pfi_degrade_draw(&dp, kinds[q], deg_seed[q]);
        dp.hold = dp.hold_max = 1;
        dp.scale = 6.3;   /* up to 378 px: cells enough for a clear lattice, a native frame within the crop */
        assert_int_equal(pfi_degrade_clip(&dp, &clean, &deg, &geom, NULL), PF_OK);

        /* pf_stream, classical, with the tap */
        tap_rec rec = {0};
        rec.samples = malloc(sizeof(float) * 8 * 64 * 64 * 4 * 16);
        rec.cells = malloc(sizeof(float) * 8 * 64 * 64 * 4);
        assert_non_null(rec.samples);
        assert_non_null(rec.cells);
        pf_params p = pf_default_params();
        p.use_model = 0;
        pf_stream *st = NULL;
        pf_stream_frame f;
        assert_int_equal(pf_stream_open(&st, deg.width, deg.height, &p, NULL), PF_OK);
        pfi_stream_set_tap(st, tap_keep, &rec);
        for (int t = 0; t < c.T; t++) {
            assert_int_equal(pf_stream_push(st, deg.frames[t].rgba, deg.width * 4, t * 40, 40), PF_OK);
            while (pf_stream_pull(st, &f) == PF_OK) {}
        }
        assert_int_equal(pf_stream_finish(st), PF_OK);
        assert_int_equal(rec.n, c.T);
        assert_true(rec.rows <= c.crop && rec.cols <= c.crop);

        /* the trainer */
        assert_int_equal(pfi_sample_alloc(&s, &c), PF_OK);
        pfi_rng_seed(&r, 1);
        assert_int_equal(pfi_sample_from_clip(&s, &clean, &deg, &dp, &geom, &c, &r), PF_OK);
        const size_t cp = (size_t)s.H * s.W, sw = (size_t)s.W * s.k, sp = cp * s.k * s.k;
        for (int t = 0; t < c.T; t++)
            for (int ch = 0; ch < 4; ch++) {
                for (int y = 0; y < rec.rows * s.k; y++)
                    assert_memory_equal(s.samples + (size_t)t * 4 * sp + ch * sp + (size_t)y * sw,
                                        rec.samples + (size_t)t * rec.slen + (size_t)ch * rec.slen / 4 +
                                            (size_t)y * rec.cols * rec.k,
                                        sizeof(float) * (size_t)rec.cols * rec.k);
                for (int y = 0; y < rec.rows; y++)
                    assert_memory_equal(s.cells + (size_t)t * 4 * cp + ch * cp + (size_t)y * s.W,
                                        rec.cells + (size_t)t * rec.clen + (size_t)ch * rec.clen / 4 + (size_t)y * rec.cols,
                                        sizeof(float) * (size_t)rec.cols);
            }
        const int elastic = pf_stream_report(st)->grid_kind == PF_GRID_ELASTIC;
        fprintf(stderr, "train: %s clip: %dx%d cells, %s grid, trainer input = pf_stream's for %d frames\n",
                q ? "bent" : "video-model", rec.cols, rec.rows, elastic ? "elastic" : "regular", c.T);
        assert_int_equal(elastic, q);   /* both the regular and the elastic path are compared */
        pf_stream_close(st);
        pfi_sample_free(&s);
        free(rec.samples);
        free(rec.cells);
        pfi_degrade_geom_free(&geom);
        pfi_anim_free(&deg);
        pfi_anim_free(&clean);
    }
}

/* One 8x8-cell procedural example and a tiny random network with
 * gradients, for the loss tests. */
static void loss_setup(pfi_sample *s, nn_model *m)
{
    pfi_dataset d = {0};
    pfi_sample_cfg c = small_cfg(-1);
    c.crop = 8;
    assert_int_equal(pfi_sample_alloc(s, &c), PF_OK);
    assert_int_equal(pfi_sample_make(s, &d, &c, 5, NULL, NULL), PF_OK);
    nn_unet_cfg net = tiny_net();
    memset(m, 0, sizeof *m);
    assert_int_equal(nn_model_init_random(m, &net, 3), PF_OK);
    assert_int_equal(nn_params_alloc_grad(&m->p), PF_OK);
}

static void test_loss_gradient(void **state)
{
    (void)state;
    pfi_sample s;
    nn_model m;
    loss_setup(&s, &m);
    pfi_train_cfg tc = pfi_train_default_cfg();
    tc.batch = 1;
    tc.w_temporal = 2.0f;   /* make the temporal term count */
    tc.w_snap = 4.0f;       /* and the palette snap */
    double L;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &L), PF_OK);
    assert_true(L > 0 && isfinite(L));
    const nn_param *rows[2] = {&m.p.t[m.net.head.w], &m.p.t[m.net.head.b]};
    int checked = 0;
    for (int r = 0; r < 2; r++)
        for (size_t j = 0; j < rows[r]->numel; j += rows[r]->numel > 8 ? rows[r]->numel / 8 : 1) {
            float *v = m.p.data + rows[r]->offset + j;
            const double g = m.p.grad[rows[r]->offset + j], h = 1e-3, keep = *v;
            double lp, lm;
            float *saved = malloc(sizeof(float) * m.p.total);
            memcpy(saved, m.p.grad, sizeof(float) * m.p.total);
            *v = (float)(keep + h);
            assert_int_equal(pfi_train_example(&m, &s, &tc, &lp), PF_OK);
            *v = (float)(keep - h);
            assert_int_equal(pfi_train_example(&m, &s, &tc, &lm), PF_OK);
            *v = (float)keep;
            memcpy(m.p.grad, saved, sizeof(float) * m.p.total);
            free(saved);
            const double num = (lp - lm) / (2 * h);
            if (fabs(num - g) > 2e-3 + 0.05 * fabs(num))
                fail_msg("%s[%zu]: backward %.6g, numerical %.6g", rows[r]->name, j, g, num);
            checked++;
        }
    assert_true(checked >= 10);
    nn_model_free(&m);
    pfi_sample_free(&s);
}

/* --w-rgb-keyed: cells the key left opaque that the GT has transparent get
 * an RGB loss towards their own colour. With it off, making such cells
 * keyed (cell alpha 0) changes no RGB loss; with it on, the loss grows by
 * the correction the network gives them, and the gradient matches the
 * finite difference. */
static void test_rgb_keyed_loss(void **state)
{
    (void)state;
    pfi_sample s;
    nn_model m;
    loss_setup(&s, &m);
    const size_t plane = (size_t)s.H * s.W;
    /* the first 8 cells of every frame: GT transparent, the key left them opaque */
    for (int t = 0; t < s.T; t++)
        for (size_t i = 0; i < 8; i++) {
            s.gt[((size_t)t * 4 + 3) * plane + i] = 0.0f;
            s.cells[((size_t)t * 4 + 3) * plane + i] = 1.0f;
            s.valid[(size_t)t * plane + i] = 1.0f;
        }
    const nn_param *hb = &m.p.t[m.net.head.b];
    for (int ch = 0; ch < 3; ch++) m.p.data[hb->offset + ch] = 0.3f;   /* a clear correction */
    pfi_train_cfg tc = pfi_train_default_cfg();
    tc.batch = 1;
    tc.w_alpha = 0;   /* the alpha term sees the cell alpha: leave it out */
    tc.w_temporal = 0;
    double off_opaque, off_keyed, on_opaque;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &off_opaque), PF_OK);
    tc.w_rgb_keyed = 1.0f;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &on_opaque), PF_OK);
    for (int t = 0; t < s.T; t++)
        for (size_t i = 0; i < 8; i++) s.cells[((size_t)t * 4 + 3) * plane + i] = 0.0f;
    tc.w_rgb_keyed = 0;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &off_keyed), PF_OK);
    assert_true(fabs(off_opaque - off_keyed) < 1e-9);
    assert_true(fabs(on_opaque - off_opaque) > 1e-6);
    /* every cell such a blend: no RGB loss at all when off, the network's
     * correction when on */
    float *keep_gt = malloc(sizeof(float) * (size_t)s.T * 4 * plane);
    float *keep_cells = malloc(sizeof(float) * (size_t)s.T * 4 * plane);
    memcpy(keep_gt, s.gt, sizeof(float) * (size_t)s.T * 4 * plane);
    memcpy(keep_cells, s.cells, sizeof(float) * (size_t)s.T * 4 * plane);
    for (int t = 0; t < s.T; t++)
        for (size_t i = 0; i < plane; i++) {
            s.gt[((size_t)t * 4 + 3) * plane + i] = 0.0f;
            s.cells[((size_t)t * 4 + 3) * plane + i] = 1.0f;
        }
    double all_off, all_on;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &all_off), PF_OK);
    tc.w_rgb_keyed = 1.0f;
    nn_params_zero_grad(&m.p);
    assert_int_equal(pfi_train_example(&m, &s, &tc, &all_on), PF_OK);
    assert_true(all_off == 0);
    assert_true(all_on > 0.1);   /* a correction of about 0.3 on every cell */
    memcpy(s.gt, keep_gt, sizeof(float) * (size_t)s.T * 4 * plane);
    memcpy(s.cells, keep_cells, sizeof(float) * (size_t)s.T * 4 * plane);
    free(keep_gt);
    free(keep_cells);
    /* the gradient of the new term: head bias, central differences */
    for (int t = 0; t < s.T; t++)
        for (size_t i = 0; i < 8; i++) s.cells[((size_t)t * 4 + 3) * plane + i] = 1.0f;
    tc.w_rgb_keyed = 1.0f;
    nn_params_zero_grad(&m.p);
    double L, lp, lm;
    assert_int_equal(pfi_train_example(&m, &s, &tc, &L), PF_OK);
    double grad[3];   /* before the differences below add theirs */
    for (int ch = 0; ch < 3; ch++) grad[ch] = m.p.grad[hb->offset + ch];
    for (int ch = 0; ch < 3; ch++) {
        float *v = m.p.data + hb->offset + ch;
        const double g = grad[ch], h = 1e-3, keep = *v;
        *v = (float)(keep + h);
        assert_int_equal(pfi_train_example(&m, &s, &tc, &lp), PF_OK);
        *v = (float)(keep - h);
        assert_int_equal(pfi_train_example(&m, &s, &tc, &lm), PF_OK);
        *v = (float)keep;
        const double num = (lp - lm) / (2 * h);
        if (fabs(num - g) > 2e-3 + 0.05 * fabs(num)) fail_msg("head bias %d: backward %.6g, numerical %.6g", ch, g, num);
    }
    nn_model_free(&m);
    pfi_sample_free(&s);
}

static void log_stderr(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    fprintf(stderr, "  train: %s\n", msg);
}
static const pfi_logger tlog = {log_stderr, NULL, PF_LOG_WARN};

static int stop_at_2(void *user, const pfi_train_status *s)
{
    (void)user;
    return s->step == 2;
}

static void load_ckpt(nn_params *p, nn_adamw *o, const char *dir)
{
    char path[4200];
    nn_model m = {0};
    nn_unet_cfg net = tiny_net();
    assert_int_equal(nn_model_init(&m, &net), PF_OK);
    *p = m.p;   /* take the table; the network is not needed */
    memset(&m.p, 0, sizeof m.p);
    nn_model_free(&m);
    assert_int_equal(nn_params_alloc_opt(p), PF_OK);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    nn_werr why;
    nn_rng rng;
    assert_int_equal(nn_checkpoint_load(p, o, &rng, path, 0, &why, NULL), PF_OK);
}

/* 4 steps in one go equal 2 steps, a stop, and --resume for 2 more: the
 * weights and AdamW moments are bit-identical. */
static void test_resume_bit_for_bit(void **state)
{
    (void)state;
    char a[64], b[64];
    tu_tmpdir(a, sizeof a);
    tu_tmpdir(b, sizeof b);
    pfi_train_cfg c = pfi_train_default_cfg();
    c.net = tiny_net();
    c.sample = small_cfg(-1);
    c.sample.crop = 8;
    c.batch = 2;
    c.steps = 4;
    c.log_every = 1;
    c.ckpt_every = 0;
    c.val_every = 0;
    c.prefetch = 2;
    c.seed = 9;
    c.out_dir = a;
    assert_int_equal(pfi_train(&c, NULL, NULL, &tlog), PF_OK);
    c.out_dir = b;
    assert_int_equal(pfi_train(&c, stop_at_2, NULL, &tlog), PF_EABORTED);
    c.resume = 1;
    c.prefetch = 0;   /* the data thread does not change the data */
    assert_int_equal(pfi_train(&c, NULL, NULL, &tlog), PF_OK);
    nn_params pa = {0}, pb = {0};
    nn_adamw oa, ob;
    load_ckpt(&pa, &oa, a);
    load_ckpt(&pb, &ob, b);
    assert_int_equal(oa.step, 4);
    assert_int_equal(ob.step, 4);
    assert_memory_equal(pa.data, pb.data, sizeof(float) * pa.total);
    assert_memory_equal(pa.m, pb.m, sizeof(float) * pa.total);
    assert_memory_equal(pa.v, pb.v, sizeof(float) * pa.total);
    /* and it learned something: the head is no longer zero */
    int nz = 0;
    nn_model m = {0};
    nn_unet_cfg net = tiny_net();
    assert_int_equal(nn_model_init(&m, &net), PF_OK);
    const nn_param *hw = &m.p.t[m.net.head.w];
    for (size_t i = 0; i < hw->numel; i++) nz += pa.data[hw->offset + i] != 0;
    assert_true(nz > 0);
    nn_model_free(&m);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", b);
    assert_true(tu_exists(path));
    snprintf(path, sizeof path, "%s/train.csv", b);
    size_t len;
    char *csv = (char *)tu_read_file(path, &len);
    assert_non_null(csv);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += csv[i] == '\n';
    assert_int_equal(lines, 5);   /* the header and steps 1..4, none twice */
    free(csv);
    nn_params_free(&pa);
    nn_params_free(&pb);
    tu_rmtree(a);
    tu_rmtree(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_gt_aligned),
        cmocka_unit_test(test_sample_deterministic),
        cmocka_unit_test(test_sample_draw_kinds),
        cmocka_unit_test(test_sample_scene_opaque),
        cmocka_unit_test(test_sample_ring_recolour),
        cmocka_unit_test(test_dataset_refuses_val),
        cmocka_unit_test(test_sample_matches_stream),
        cmocka_unit_test(test_loss_gradient),
        cmocka_unit_test(test_rgb_keyed_loss),
        cmocka_unit_test(test_resume_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
