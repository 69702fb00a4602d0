/*
 * test_model.c - the model in the restore pipeline (issue 4): the
 * frame-by-frame inference path against the training forward, windowed
 * inference against windows run alone and blended by hand, blend weights,
 * determinism over thread counts, model-file errors, and pf_stream's
 * ordering and counts. Models are seeded random initialisations written
 * with our own writer.
 */
#include "testutil.h"
#include "test_nn_util.h"

#include <math.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/gemm.h"
#include "nn/model.h"
#include "nn/window.h"
#include "pixelfix.h"
#include "train/degrade.h"
#include "train/synth.h"

static char g_dir[256];

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(g_dir, sizeof g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    return 0;
}

static nn_unet_cfg small_cfg(nn_mixer mix)
{
    nn_unet_cfg c = nn_unet_default_cfg();
    c.ch[0] = 6;
    c.ch[1] = 8;
    c.ch[2] = 10;
    c.mixer = mix;
    return c;
}

/* ---- inference path ---------------------------------------------------------- */

static void test_infer_equals_training_forward(void **state)
{
    (void)state;
    const nn_mixer mixers[] = {NN_MIX_CONVGRU, NN_MIX_BICONVGRU, NN_MIX_TCONV, NN_MIX_CONVGRU, NN_MIX_CONVGRU};
    for (int mi = 0; mi < 5; mi++) {
        nn_unet_cfg c = mi == 4 ? nn_unet_default_cfg() : small_cfg(mixers[mi]);
        if (mi == 3) c.res_blocks = 3;   /* deeper residual stacks */
        /* mi 4: the default widths on 36x32 cells, where the im2col band
         * of a ch-channel conv holds more floats than that of the 2*ch or
         * the input conv (more whole rows fit): the workspace must fit
         * the largest of every conv (an overflow here crashed training's
         * validation; ASan sees it) */
        nn_model a;
        nn_state b, d;   /* two states of one model: one trains, one infers */
        assert_int_equal(nn_model_init_random(&a, &c, 7), PF_OK);
        assert_int_equal(nn_state_init(&b, &a, 1), PF_OK);
        assert_int_equal(nn_state_init(&d, &a, 1), PF_OK);
        const int T = mi == 4 ? 2 : 5, H = mi == 4 ? 32 : 12, W = mi == 4 ? 36 : 8;
        size_t nx = (size_t)T * c.in_ch * H * W, ny = (size_t)T * 4 * H * W;
        uint64_t s = 99;
        float *x = nt_rand(nx, 0, 1, &s);
        assert_int_equal(nn_unet_plan(&d.net, T, H, W, 1), PF_OK);   /* training layout */
        assert_int_equal(nn_unet_plan(&b.net, T, H, W, 0), PF_OK);   /* inference layout */
        float *ya = nt_zeros(ny);
        memcpy(ya, nn_unet_forward(&d.net, x), ny * sizeof(float));
        const float *yb = nn_unet_forward(&b.net, x);
        double worst = 0;
        double big = 0;
        for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(ya[i] - yb[i])), big = fmax(big, fabs(ya[i]));
        fprintf(stderr, "  mixer %d: largest difference %.2e, largest output %.2e\n", mi, worst, big);
        /* inference runs the decoder's upsample and conv as phase kernels
         * (unet.c up_phases): the same sums up to float rounding */
        assert_true(worst <= 1e-5 * fmax(1.0, big));
        /* and the output is not trivially zero */
        double mag = 0;
        for (size_t i = 0; i < ny; i++) mag += fabs(ya[i]);
        assert_true(mag > 1e-3 * (double)ny);
        free(x);
        free(ya);
        nn_state_free(&b);
        nn_state_free(&d);
        nn_model_free(&a);
    }
}

/* ---- windowing ---------------------------------------------------------------- */

typedef struct win_ctx {
    nn_model m;
    nn_state st;
    int H, W, k;
    size_t slen, clen;
    int calls, reused;
} win_ctx;

static pf_status run_model(void *ctx, const float *const *in, int T, int reuse, float *const *out)
{
    win_ctx *c = ctx;
    const float *samples[64], *cells[64];
    const float bg[3] = {0.2f, 0.5f, 0.9f};
    for (int t = 0; t < T; t++) {
        samples[t] = in[t];
        cells[t] = in[t] + c->slen;
    }
    c->calls++;
    c->reused += reuse;
    return nn_model_run(&c->m, &c->st, samples, cells, bg, T, c->H, c->W, reuse, out);
}

static float **rand_frames(int n, size_t len, uint64_t *s)
{
    float **f = calloc((size_t)n, sizeof *f);
    for (int i = 0; i < n; i++) f[i] = nt_rand(len, 0, 1, s);
    return f;
}

static void free_frames(float **f, int n)
{
    for (int i = 0; i < n; i++) free(f[i]);
    free(f);
}

/* Runs a clip of N frames through the windower and by hand. */
static void check_clip(win_ctx *c, int N, int T, int O)
{
    uint64_t s = 1000 + (uint64_t)N * 7 + (uint64_t)T;
    size_t in_len = c->slen + c->clen;
    float **in = rand_frames(N, in_len, &s);
    float **got = calloc((size_t)N, sizeof *got);
    int n_out = 0;
    nn_windower w;

    assert_true(N <= 256);
    assert_int_equal(nn_window_init(&w, T, O, in_len, c->clen, run_model, c), PF_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(nn_window_push(&w, in[i]), PF_OK);
        const float *o;
        while (nn_window_pull(&w, &o) == PF_OK) {
            assert_true(n_out < N);
            /* latency: at most T - 1 frames */
            assert_true(i - n_out <= T - 1);
            got[n_out] = nt_zeros(c->clen);
            memcpy(got[n_out++], o, c->clen * sizeof(float));
        }
    }
    assert_int_equal(nn_window_finish(&w), PF_OK);
    const float *o;
    while (nn_window_pull(&w, &o) == PF_OK) {
        assert_true(n_out < N);
        got[n_out] = nt_zeros(c->clen);
        memcpy(got[n_out++], o, c->clen * sizeof(float));
    }
    assert_int_equal(n_out, N);
    nn_window_free(&w);

    /* by hand: windows at 0, S, 2S, ... while the previous ends before N */
    const int S = T - O;
    float **acc = calloc((size_t)N, sizeof *acc);
    float *wsum = calloc((size_t)N, sizeof *wsum);
    for (int i = 0; i < N; i++) acc[i] = nt_zeros(c->clen);
    float **y = rand_frames(T, c->clen, &s);
    int prev_end = -1;
    for (int start = 0; start == 0 || prev_end < N; start += S) {
        const float *x[64];
        for (int t = 0; t < T; t++) {
            int f = start + t < N ? start + t : N - 1;
            x[t] = in[f];
        }
        assert_int_equal(run_model(c, x, T, 0, y), PF_OK);
        int has_next = start + T < N;
        for (int t = 0; t < T && start + t < N; t++) {
            int f = start + t;
            float wt = 1.0f;
            if (start > 0 && t < O) wt = (float)(t + 1) / (O + 1);              /* fading in */
            else if (has_next && t >= S) wt = 1.0f - (float)(t - S + 1) / (O + 1); /* fading out */
            for (size_t i = 0; i < c->clen; i++) acc[f][i] += wt * y[t][i];
            wsum[f] += wt;
        }
        prev_end = start + T;
    }
    for (int f = 0; f < N; f++) {
        assert_true(fabsf(wsum[f] - 1.0f) < 1e-6f);   /* the weights sum to 1 */
        for (size_t i = 0; i < c->clen; i++) assert_true(fabsf(acc[f][i] - got[f][i]) < 1e-5f);
    }
    free_frames(y, T);
    free_frames(acc, N);
    free(wsum);
    free_frames(got, N);
    free_frames(in, N);
}

static void test_windowed_equals_by_hand(void **state)
{
    (void)state;
    win_ctx c = {0};
    nn_unet_cfg cfg = small_cfg(NN_MIX_BICONVGRU);
    assert_int_equal(nn_model_init_random(&c.m, &cfg, 11), PF_OK);
    assert_int_equal(nn_state_init(&c.st, &c.m, 1), PF_OK);
    c.H = 5;
    c.W = 7;   /* not multiples of 4: exercises the padding */
    c.k = c.m.k;
    c.clen = (size_t)4 * c.H * c.W;
    c.slen = c.clen * (size_t)c.k * c.k;
    const int T = 8;
    const int lens[] = {1, T - 1, T, T + 1, 3 * T + 2};
    for (int O = 2; O <= 4; O++)
        for (int i = 0; i < 5; i++) check_clip(&c, lens[i], T, O);
    check_clip(&c, 2 * 16 + 3, 16, 4);
    assert_true(c.reused > 0);   /* the windower said which frames repeat */
    nn_state_free(&c.st);
    nn_model_free(&c.m);
}

static pf_status run_ones(void *ctx, const float *const *in, int T, int reuse, float *const *out)
{
    size_t len = *(size_t *)ctx;
    (void)in, (void)reuse;
    for (int t = 0; t < T; t++)
        for (size_t i = 0; i < len; i++) out[t][i] = 1.0f;
    return PF_OK;
}

static void test_blend_weights_sum_to_one(void **state)
{
    (void)state;
    size_t len = 3;
    float in[3] = {0};
    for (int T = 1; T <= 16; T++)
        for (int O = 0; 2 * O <= T; O++)
            for (int N = 1; N <= 40; N += 3) {
                nn_windower w;
                int n = 0;
                const float *o;
                assert_int_equal(nn_window_init(&w, T, O, 3, len, run_ones, &len), PF_OK);
                for (int i = 0; i <= N; i++) {
                    if (i < N) assert_int_equal(nn_window_push(&w, in), PF_OK);
                    else assert_int_equal(nn_window_finish(&w), PF_OK);
                    while (nn_window_pull(&w, &o) == PF_OK) {
                        for (size_t k = 0; k < len; k++) assert_true(fabsf(o[k] - 1.0f) < 1e-6f);
                        n++;
                    }
                }
                assert_int_equal(n, N);
                nn_window_free(&w);
            }
    for (int O = 1; O <= 4; O++) {
        /* the two windows' weights at each overlap frame add to 1, rising */
        for (int j = 0; j < O; j++) {
            float wb = nn_window_weight(O, j);
            assert_true(wb > 0 && wb < 1);
            if (j) assert_true(wb > nn_window_weight(O, j - 1));
        }
    }
    nn_windower w;
    assert_int_equal(nn_window_init(&w, 8, 5, 3, 3, run_ones, &len), PF_EINVAL);
    assert_int_equal(nn_window_init(&w, 0, 0, 3, 3, run_ones, &len), PF_EINVAL);
}

/* ---- determinism over thread counts ------------------------------------------ */

static void test_threads_deterministic(void **state)
{
    (void)state;
    nn_unet_cfg cfg = nn_unet_default_cfg();   /* the full-size widths: sgemm splits matter */
    nn_model m;
    assert_int_equal(nn_model_init_random(&m, &cfg, 5), PF_OK);
    const int T = 8, H = 24, W = 20, k = m.k;
    size_t clen = (size_t)4 * H * W, slen = clen * k * k;
    uint64_t s = 3;
    float **smp = rand_frames(T, slen, &s), **cel = rand_frames(T, clen, &s);
    float **o1 = rand_frames(T, clen, &s), **o2 = rand_frames(T, clen, &s);
    const float bg[3] = {1, 0, 1};
    nn_state s1, s2;
    assert_int_equal(nn_state_init(&s1, &m, 1), PF_OK);
    assert_int_equal(nn_state_init(&s2, &m, 2), PF_OK);
    assert_int_equal(nn_pool_threads(s2.pool), 2);
    assert_int_equal(nn_model_run(&m, &s1, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 0, o1), PF_OK);
    assert_int_equal(nn_model_run(&m, &s2, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 0, o2), PF_OK);
    for (int t = 0; t < T; t++) assert_memory_equal(o1[t], o2[t], clen * sizeof(float));
    nn_state_free(&s1);
    nn_state_free(&s2);
    free_frames(smp, T);
    free_frames(cel, T);
    free_frames(o1, T);
    free_frames(o2, T);
    nn_model_free(&m);
}

/* ---- encoder features reused across overlapping windows ------------------------- */

/* A window whose first frames are the previous window's last ones takes
 * their encoder features instead of recomputing them, and its output is
 * bit for bit that of a state that computes everything; a tiled run or
 * another shape in between makes the state compute them again. */
static void test_reuse_bit_identical(void **state)
{
    (void)state;
    nn_unet_cfg cfg = nn_unet_default_cfg();
    nn_model m;
    assert_int_equal(nn_model_init_random(&m, &cfg, 21), PF_OK);
    const int T = 8, O = 3, N = T + (T - O), H = 20, W = 28, k = m.k;
    size_t clen = (size_t)4 * H * W, slen = clen * k * k;
    uint64_t s = 8;
    float **smp = rand_frames(N, slen, &s), **cel = rand_frames(N, clen, &s);
    float **oa = rand_frames(T, clen, &s), **ob = rand_frames(T, clen, &s);
    const float bg[3] = {0.3f, 0.6f, 0.1f};
    const float *const *sp = (const float *const *)smp, *const *cp = (const float *const *)cel;
    nn_state a, b;
    assert_int_equal(nn_state_init(&a, &m, 1), PF_OK);
    assert_int_equal(nn_state_init(&b, &m, 1), PF_OK);
    /* the first window, frames 0..T-1: nothing to reuse yet */
    assert_int_equal(nn_model_run(&m, &a, sp, cp, bg, T, H, W, O, oa), PF_OK);
    assert_int_equal(a.encoded, T);
    /* the second, frames T-O..: its first O frames are the first's last */
    const int f0 = T - O;
    assert_int_equal(nn_model_run(&m, &a, sp + f0, cp + f0, bg, T, H, W, O, oa), PF_OK);
    assert_int_equal(a.encoded, 2 * T - O);
    assert_int_equal(nn_model_run(&m, &b, sp + f0, cp + f0, bg, T, H, W, 0, ob), PF_OK);
    for (int t = 0; t < T; t++) assert_memory_equal(oa[t], ob[t], clen * sizeof(float));
    /* the reused frames' samples are not read: poisoned after the first
     * window, the second's output holds */
    assert_int_equal(nn_model_run(&m, &a, sp, cp, bg, T, H, W, 0, oa), PF_OK);
    float *keep = smp[f0];
    smp[f0] = nt_zeros(slen);
    for (size_t i = 0; i < slen; i++) smp[f0][i] = NAN;
    assert_int_equal(nn_model_run(&m, &a, sp + f0, cp + f0, bg, T, H, W, O, oa), PF_OK);
    for (int t = 0; t < T; t++) assert_memory_equal(oa[t], ob[t], clen * sizeof(float));
    free(smp[f0]);
    smp[f0] = keep;
    /* a tiled run in between: the features are not the frame's any more */
    assert_int_equal(nn_model_run_tiled(&m, &a, sp, cp, bg, T, H, W, 4, 0, oa), PF_OK);
    const int64_t before = a.encoded;
    assert_int_equal(nn_model_run(&m, &a, sp + f0, cp + f0, bg, T, H, W, O, oa), PF_OK);
    assert_int_equal(a.encoded - before, T);
    for (int t = 0; t < T; t++) assert_memory_equal(oa[t], ob[t], clen * sizeof(float));
    assert_int_equal(nn_model_run(&m, &a, sp, cp, bg, T, H, W, T / 2 + 1, oa), PF_EINVAL);
    nn_state_free(&a);
    nn_state_free(&b);
    free_frames(smp, N);
    free_frames(cel, N);
    free_frames(oa, T);
    free_frames(ob, T);
    nn_model_free(&m);
}

/* A window padded at the end of a clip by repeating its last frame (the
 * same pointers, as nn_windower pads) skips the encoder and the decoder on
 * the repeats: the real frames' outputs are bit for bit those of a window
 * whose repeats are separate copies (which it computes), the repeats get
 * the last real frame's output, and with reuse too. */
static void test_padded_window(void **state)
{
    (void)state;
    nn_unet_cfg cfg = nn_unet_default_cfg();
    nn_model m;
    assert_int_equal(nn_model_init_random(&m, &cfg, 23), PF_OK);
    const int T = 8, O = 3, n = 5, H = 12, W = 16, k = m.k;
    size_t clen = (size_t)4 * H * W, slen = clen * k * k;
    uint64_t s = 9;
    float **smp = rand_frames(T + n, slen, &s), **cel = rand_frames(T + n, clen, &s);
    float **oa = rand_frames(T, clen, &s), **ob = rand_frames(T, clen, &s);
    float **cs = rand_frames(T, slen, &s), **cc = rand_frames(T, clen, &s);   /* copies */
    const float bg[3] = {0.5f, 0.5f, 0.5f};
    for (int round = 0; round < 2; round++) {
        /* round 0: a window alone; round 1: the clip's last window after a
         * full one, its first O frames reused */
        const int f0 = round ? T - O : 0, reuse = round ? O : 0;
        const float *pa[8], *ca[8], *pb[8], *cb[8];
        for (int t = 0; t < T; t++) {
            const int f = f0 + (t < n ? t : n - 1);
            pa[t] = smp[f], ca[t] = cel[f];
            memcpy(cs[t], smp[f], slen * sizeof(float));
            memcpy(cc[t], cel[f], clen * sizeof(float));
            pb[t] = cs[t], cb[t] = cc[t];
        }
        nn_state a, b;
        assert_int_equal(nn_state_init(&a, &m, 1), PF_OK);
        assert_int_equal(nn_state_init(&b, &m, 1), PF_OK);
        if (round) {
            assert_int_equal(nn_model_run(&m, &a, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 0, oa),
                             PF_OK);
            a.encoded = 0;
        }
        assert_int_equal(nn_model_run(&m, &a, pa, ca, bg, T, H, W, reuse, oa), PF_OK);
        assert_int_equal(a.encoded, n - reuse);
        assert_int_equal(nn_model_run(&m, &b, pb, cb, bg, T, H, W, 0, ob), PF_OK);
        assert_int_equal(b.encoded, T);
        for (int t = 0; t < n; t++) assert_memory_equal(oa[t], ob[t], clen * sizeof(float));
        for (int t = n; t < T; t++) assert_memory_equal(oa[t], oa[n - 1], clen * sizeof(float));
        nn_state_free(&a);
        nn_state_free(&b);
    }
    free_frames(smp, T + n);
    free_frames(cel, T + n);
    free_frames(oa, T);
    free_frames(ob, T);
    free_frames(cs, T);
    free_frames(cc, T);
    nn_model_free(&m);
}

/* ---- memory of one window ------------------------------------------------------- */

/* nn_model_window_bytes is exactly what a run then allocates (the packed
 * input and the arena), grows with the window, and leaves the model able
 * to run. */
static void test_window_bytes(void **state)
{
    (void)state;
    nn_unet_cfg cfg = nn_unet_default_cfg();
    nn_model m;
    assert_int_equal(nn_model_init_random(&m, &cfg, 9), PF_OK);
    const int T = 4, H = 18, W = 13, k = m.k;
    size_t clen = (size_t)4 * H * W, slen = clen * k * k, need = 0, big = 0, huge = 0;
    uint64_t s = 5;
    float **smp = rand_frames(T, slen, &s), **cel = rand_frames(T, clen, &s), **o = rand_frames(T, clen, &s);
    const float bg[3] = {0, 0, 0};

    assert_int_equal(nn_model_window_bytes(&m, T, H, W, &need), PF_OK);
    assert_int_equal(nn_model_window_bytes(&m, T, 4 * H, 4 * W, &big), PF_OK);
    assert_int_equal(nn_model_window_bytes(&m, T, 32000, 32000, &huge), PF_OK);
    /* 16x the cells (18x13 padded to 20x16, 72x52 needs no padding: 11.7x the
     * padded area; the up convs' phase kernels, 0.5 MB, do not grow) */
    assert_true(big > 6 * need && big < 20 * need);
    assert_true(huge > ((size_t)1 << 36));
    assert_int_equal(nn_model_window_bytes(&m, T, 1 << 16, W, &big), PF_EINVAL);
    nn_state st;
    assert_int_equal(nn_state_init(&st, &m, 1), PF_OK);
    assert_int_equal(nn_model_run(&m, &st, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 0, o), PF_OK);
    assert_int_equal((st.net.av.cap + st.x_cap) * sizeof(float), need);
    nn_state_free(&st);
    free_frames(smp, T);
    free_frames(cel, T);
    free_frames(o, T);
    nn_model_free(&m);
}

/* ---- tiles ---------------------------------------------------------------------- */

/* nn_model_run_tiled with the shipped weights agrees with the whole-frame
 * run to far below one 8-bit level (the halo of NN_TILE_HALO cells), writes
 * every cell, and nn_model_tile_plan picks tiles only when the whole window
 * is over the budget, and none when not even the smallest tile fits. */
static void test_tiled_equals_whole(void **state)
{
    (void)state;
    nn_model m;
    assert_int_equal(nn_model_load(&m, "models/pixelfix-v6.safetensors", 0, NULL), PF_OK);
    const int T = 8, H = 100, W = 76, k = m.k;
    size_t clen = (size_t)4 * H * W, slen = clen * k * k, whole = 0, bytes = 0;
    uint64_t s = 17;
    float **smp = rand_frames(T, slen, &s), **cel = rand_frames(T, clen, &s);
    float **o1 = rand_frames(T, clen, &s), **o2 = rand_frames(T, clen, &s);
    const float bg[3] = {0.9f, 0.1f, 0.9f};
    int S = -2;

    assert_int_equal(nn_model_tile_plan(&m, T, H, W, 0, &S, &whole), PF_OK);
    assert_int_equal(S, 0);
    assert_int_equal(nn_model_tile_plan(&m, T, H, W, whole, &S, &bytes), PF_OK);
    assert_int_equal(S, 0);
    assert_int_equal(nn_model_tile_plan(&m, T, H, W, whole * 3 / 4, &S, &bytes), PF_OK);
    assert_true(S == 32 && bytes <= whole * 3 / 4);   /* 64x64 with the halo: the only tile under it */
    assert_int_equal(nn_model_tile_plan(&m, T, H, W, 1000, &S, &bytes), PF_OK);
    assert_int_equal(S, -1);

    nn_state st;
    assert_int_equal(nn_state_init(&st, &m, 1), PF_OK);
    assert_int_equal(nn_model_run(&m, &st, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 0, o1), PF_OK);
    for (int t = 0; t < T; t++)
        for (size_t i = 0; i < clen; i++) o2[t][i] = NAN;
    assert_int_equal(nn_model_run_tiled(&m, &st, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 32, 0,
                                        o2), PF_OK);
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (size_t i = 0; i < clen; i++) {
            assert_true(isfinite(o2[t][i]));
            double d = fabs((double)o1[t][i] - o2[t][i]);
            if (d > worst) worst = d;
        }
    fprintf(stderr, "  tiles of 32 against the whole frame: largest difference %.2e\n", worst);
    assert_true(worst < 1e-3);   /* one 8-bit level is 3.9e-3 */
    assert_int_equal(nn_model_run_tiled(&m, &st, (const float *const *)smp, (const float *const *)cel, bg, T, H, W, 30, 0,
                                        o2), PF_EINVAL);   /* not a multiple of 4 */
    nn_state_free(&st);
    free_frames(smp, T);
    free_frames(cel, T);
    free_frames(o1, T);
    free_frames(o2, T);
    nn_model_free(&m);
}

/* ---- model files -------------------------------------------------------------- */

typedef struct log_buf {
    char text[4096];
} log_buf;

static void log_to_buf(void *user, int level, const char *msg)
{
    log_buf *b = user;
    (void)level;
    size_t n = strlen(b->text);
    snprintf(b->text + n, sizeof b->text - n, "%s\n", msg);
}

static void test_model_file_errors(void **state)
{
    (void)state;
    char good[512], bad[512], cut[512];
    nn_unet_cfg cfg = small_cfg(NN_MIX_CONVGRU);
    nn_model m;
    log_buf lb = {{0}};
    pf_params p = pf_default_params();
    pf_model *pm = NULL;

    p.log = log_to_buf;
    p.user = &lb;
    p.log_level = PF_LOG_DEBUG;
    snprintf(good, sizeof good, "%s/good.safetensors", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", g_dir);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", g_dir);
    assert_int_equal(nn_model_init_random(&m, &cfg, 1), PF_OK);
    assert_int_equal(nn_model_save(&m, good, NN_DT_F16, NULL), PF_OK);
    assert_int_equal(pf_model_load(&pm, good, &p), PF_OK);
    pf_model_free(pm);

    /* missing */
    assert_int_equal(pf_model_load(&pm, "/nonexistent/m.safetensors", &p), PF_EMODEL);
    assert_null(pm);

    /* truncated */
    size_t n;
    uint8_t *bytes = tu_read_file(good, &n);
    FILE *f = fopen(cut, "wb");
    fwrite(bytes, 1, n - 100, f);
    fclose(f);
    lb.text[0] = 0;
    assert_int_equal(pf_model_load(&pm, cut, &p), PF_EMODEL);
    assert_non_null(strstr(lb.text, "cut.safetensors"));

    /* metadata that does not match the tensors: the message names the tensor */
    nn_unet_cfg other = cfg;
    other.ch[1] = 9;
    nn_kv kv[NN_UNET_META_MAX];
    char store[NN_UNET_META_STORE];
    int nk = nn_unet_cfg_to_meta(&other, kv, store);
    assert_int_equal(nn_weights_save(&m.p, bad, kv, nk, NN_DT_F32, 0, NULL), PF_OK);
    lb.text[0] = 0;
    assert_int_equal(pf_model_load(&pm, bad, &p), PF_EMODEL);
    assert_non_null(strstr(lb.text, "has shape"));   /* names the tensor and both shapes */
    assert_non_null(strstr(lb.text, ".weight'"));

    /* a file that is not a pixelfix model at all */
    nk = nn_unet_cfg_to_meta(&cfg, kv, store);
    kv[0].val = "resnet";
    assert_int_equal(nn_weights_save(&m.p, bad, kv, nk, NN_DT_F32, 0, NULL), PF_OK);
    lb.text[0] = 0;
    assert_int_equal(pf_model_load(&pm, bad, &p), PF_EMODEL);
    assert_non_null(strstr(lb.text, "unet-v1"));

    /* metadata that describes a network far larger than its tensors (4096
     * channels at every level: several GB of weights) is refused by the
     * tensors' shapes before the network is allocated. In a child whose
     * address space is held to what it has plus 512 MiB, allocating first
     * would fail with PF_ENOMEM. (Not under ASan: its shadow memory needs
     * the address space.) */
    nn_unet_cfg huge = cfg;
    for (int l = 0; l < huge.levels; l++) huge.ch[l] = 4096;
    nk = nn_unet_cfg_to_meta(&huge, kv, store);
    assert_int_equal(nn_weights_save(&m.p, bad, kv, nk, NN_DT_F32, 0, NULL), PF_OK);
#if !defined(__SANITIZE_ADDRESS__)
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *sf = fopen("/proc/self/statm", "r");
        if (!sf || fscanf(sf, "%ld", &pages) != 1) _exit(3);
        fclose(sf);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        log_buf cl = {{0}};
        p.user = &cl;
        pf_status cst = pf_model_load(&pm, bad, &p);
        _exit(cst == PF_EMODEL && strstr(cl.text, "has shape") ? 0 : cst == PF_ENOMEM ? 1 : 2);
    }
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFEXITED(wst));
    assert_int_equal(WEXITSTATUS(wst), 0);
#endif
    lb.text[0] = 0;
    assert_int_equal(pf_model_load(&pm, bad, &p), PF_EMODEL);
    assert_non_null(strstr(lb.text, "has shape"));

    /* over the size limit */
    p.limits.max_model_bytes = 1000;
    assert_int_equal(pf_model_load(&pm, good, &p), PF_ELIMIT);
    free(bytes);
    nn_model_free(&m);
}

/* ---- streaming ----------------------------------------------------------------- */

/* A clip: a 20x14 native sprite of 5 colours on magenta, nearest-upscaled
 * by 5, moving one native pixel every 3 frames. */
static uint8_t *make_frame(int t, int *w, int *h)
{
    const int NW = 20, NH = 14, S = 5;
    static const uint8_t pal[5][3] = {{20, 20, 30}, {240, 200, 40}, {40, 160, 60}, {250, 250, 250}, {200, 40, 40}};
    *w = NW * S;
    *h = NH * S;
    uint8_t *px = malloc((size_t)*w * *h * 4);
    for (int y = 0; y < *h; y++)
        for (int x = 0; x < *w; x++) {
            int cx = x / S - t / 3, cy = y / S;
            uint8_t *p = px + ((size_t)y * *w + x) * 4;
            int in = cx >= 4 && cx < 12 && cy >= 3 && cy < 11;
            if (in) memcpy(p, pal[(cx * 3 + cy * 5) % 5], 3);
            else { p[0] = 255; p[1] = 0; p[2] = 255; }
            p[3] = 255;
        }
    return px;
}

/* Consecutive outputs whose input frames are the same (make_frame's block
 * moves every third frame, until it has left the frame) must be copies,
 * whether they skipped the network or went through it; the others should
 * differ. hc: held pairs, identical ones, changes, changes shown. */
static void held_pair(uint8_t *prev, const pf_stream_frame *f, int out, int hc[4])
{
    const size_t len = (size_t)f->width * f->height * 4;
    if (out > 0) {
        int w, h;
        uint8_t *a = make_frame(out - 1, &w, &h), *b = make_frame(out, &w, &h);
        const int same_in = memcmp(a, b, (size_t)w * h * 4) == 0, diff = memcmp(prev, f->rgba, len) != 0;
        free(a);
        free(b);
        hc[same_in ? 0 : 2]++;
        hc[same_in ? 1 : 3] += same_in ? !diff : diff;
    }
    memcpy(prev, f->rgba, len);
}

static void stream_clip(pf_model *model, int N, int palette_frames, int window)
{
    pf_params p = pf_default_params();
    pf_stream *s;
    pf_stream_frame f;
    int w, h, out = 0, hc[4] = {0};
    uint8_t *px = make_frame(0, &w, &h), *prev = malloc(20 * 14 * 4);
    free(px);
    assert_non_null(prev);
    p.palette_frames = palette_frames;
    p.window = window;
    p.overlap = window >= 8 ? 4 : 0;
    assert_int_equal(pf_stream_open(&s, w, h, &p, model), PF_OK);
    for (int i = 0; i < N; i++) {
        px = make_frame(i, &w, &h);
        assert_int_equal(pf_stream_push(s, px, w * 4, 5000 + 100 * i, 30 + i % 7), PF_OK);
        free(px);
        while (pf_stream_pull(s, &f) == PF_OK) {
            assert_int_equal(f.pts, 5000 + 100 * out);
            assert_int_equal(f.duration_ms, 30 + out % 7);
            assert_int_equal(f.width, 20);
            assert_int_equal(f.height, 14);
            held_pair(prev, &f, out, hc);
            out++;
        }
        /* bounded latency: the palette's lookahead, a window in the network
         * and at most a window of held drawings (no pixels kept) waiting for
         * the frame they repeat */
        if (palette_frames > 0 && i >= p.grid_frames + palette_frames + 2 * window)
            assert_true(i + 1 - out <= palette_frames + 2 * window);
        if (palette_frames == 0) assert_int_equal(out, 0);          /* whole-clip palette */
    }
    assert_int_equal(pf_stream_finish(s), PF_OK);
    while (pf_stream_pull(s, &f) == PF_OK) {
        assert_int_equal(f.pts, 5000 + 100 * out);
        assert_int_equal(f.duration_ms, 30 + out % 7);
        /* paletted with binary alpha; the magenta border keyed out */
        assert_int_equal(f.rgba[3], 0);
        held_pair(prev, &f, out, hc);
        out++;
    }
    assert_int_equal(out, N);
    assert_int_equal(hc[1], hc[0]);   /* every held pair identical */
    assert_true(hc[3] * 10 >= hc[2] * 9);   /* the moves shown (a random model's palette may
                                               merge the last sliver of the block) */
    free(prev);
    const pf_report *rep = pf_stream_report(s);
    assert_int_equal(rep->frames_in, N);
    assert_int_equal(rep->used_model, model != NULL);
    assert_true(fabs(rep->cell_w - 5.0) < 0.05);
    pf_stream_close(s);
}

/* A seeded random model written to g_dir/name and loaded for pf_stream;
 * rgb_bias (3 values, or NULL) sets the head's RGB biases, classical_alpha
 * its alpha mode. */
static pf_model *random_model(nn_mixer mix, uint64_t seed, const char *name, const float *rgb_bias,
                              int classical_alpha)
{
    char path[512];
    nn_unet_cfg cfg = small_cfg(mix);
    nn_model m;
    pf_model *pm;
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(nn_model_init_random(&m, &cfg, seed), PF_OK);
    if (rgb_bias)
        for (int c = 0; c < 3; c++) m.p.data[m.p.t[m.net.head.b].offset + c] = rgb_bias[c];
    m.classical_alpha = classical_alpha;
    assert_int_equal(nn_model_save(&m, path, NN_DT_F32, NULL), PF_OK);
    nn_model_free(&m);
    assert_int_equal(pf_model_load(&pm, path, NULL), PF_OK);
    return pm;
}

static void test_stream_order_and_count(void **state)
{
    (void)state;
    pf_model *pm = random_model(NN_MIX_TCONV, 2, "stream.safetensors", NULL, 0);
    const int lens[] = {1, 7, 8, 9, 26, 61};
    for (int i = 0; i < 6; i++) {
        stream_clip(pm, lens[i], 0, 8);
        stream_clip(pm, lens[i], 6, 8);
        stream_clip(NULL, lens[i], 0, 8);
        stream_clip(NULL, lens[i], 5, 8);
    }
    stream_clip(pm, 40, 4, 16);
    pf_model_free(pm);
}

/* ---- one model, several streams at once --------------------------------------- */

/* make_frame with noise that differs every frame (+-12 levels), so every
 * frame goes through the network */
static uint8_t *noisy_frame(int t, int *w, int *h)
{
    uint8_t *px = make_frame(t, w, h);
    uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    for (size_t i = 0; i < (size_t)*w * *h * 4; i++) {
        if (i % 4 == 3) continue;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        int v = px[i] + (int)(r % 25) - 12;
        px[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return px;
}

typedef struct stream_job {
    pf_model *model;
    int threads, N;
    uint8_t *out;        /* (N, 14, 20, 4) restored frames */
    int count;           /* frames that came out */
    pf_status st;
} stream_job;

/* One stream over N noisy frames; no cmocka asserts (it runs on its own
 * thread): the status and the frames are checked by the caller. */
static void *run_stream_job(void *arg)
{
    stream_job *j = arg;
    pf_params p = pf_default_params();
    pf_stream *s = NULL;
    pf_stream_frame f;
    const size_t len = 20 * 14 * 4;
    p.threads = j->threads;
    j->count = 0;
    j->st = pf_stream_open(&s, 100, 70, &p, j->model);
    for (int i = 0; i <= j->N && j->st == PF_OK; i++) {
        if (i < j->N) {
            int w, h;
            uint8_t *px = noisy_frame(i, &w, &h);
            j->st = pf_stream_push(s, px, w * 4, 100 * i, 40);
            free(px);
        } else {
            j->st = pf_stream_finish(s);
        }
        while (j->st == PF_OK && pf_stream_pull(s, &f) == PF_OK) {
            if (j->count >= j->N || (size_t)f.width * f.height * 4 != len) {
                j->st = PF_EINVAL;
                break;
            }
            memcpy(j->out + (size_t)j->count++ * len, f.rgba, len);
        }
    }
    pf_stream_close(s);
    return NULL;
}

/* One loaded pf_model serves streams on several threads at once (issue
 * 17): each stream's output equals that of the stream alone, whatever
 * its thread count. */
static void test_two_streams_one_model(void **state)
{
    (void)state;
    pf_model *pm;
    assert_int_equal(pf_model_load(&pm, "models/pixelfix-v6.safetensors", NULL), PF_OK);
    const int N = 60;
    const size_t bytes = (size_t)N * 20 * 14 * 4;
    stream_job ref = {pm, 1, N, malloc(bytes), 0, PF_OK};
    assert_non_null(ref.out);
    run_stream_job(&ref);
    assert_int_equal(ref.st, PF_OK);
    assert_int_equal(ref.count, N);
    for (int round = 0; round < 2; round++) {
        stream_job jobs[3] = {{pm, 1, N, malloc(bytes), 0, PF_OK},
                              {pm, 2, N, malloc(bytes), 0, PF_OK},
                              {pm, 1, N, malloc(bytes), 0, PF_OK}};
        pthread_t tid[3];
        for (int i = 0; i < 3; i++) {
            assert_non_null(jobs[i].out);
            assert_int_equal(pthread_create(&tid[i], NULL, run_stream_job, &jobs[i]), 0);
        }
        for (int i = 0; i < 3; i++) assert_int_equal(pthread_join(tid[i], NULL), 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(jobs[i].st, PF_OK);
            assert_int_equal(jobs[i].count, N);
            assert_memory_equal(jobs[i].out, ref.out, bytes);
            free(jobs[i].out);
        }
    }
    free(ref.out);
    pf_model_free(pm);
}

static void test_stream_errors(void **state)
{
    (void)state;
    pf_params p = pf_default_params();
    pf_stream *s;
    assert_int_equal(pf_stream_open(&s, 1, 64, &p, NULL), PF_EINVAL);
    /* 10 Mpx is under max_pixels, but a 5-million-pixel side is over what
     * the grid detector takes (PF_GRID_MAX_SIDE) */
    assert_int_equal(pf_stream_open(&s, 2, 5000000, &p, NULL), PF_ELIMIT);
    assert_null(s);
    p.window = 8;
    p.overlap = 5;
    assert_int_equal(pf_stream_open(&s, 64, 64, &p, NULL), PF_EINVAL);
    p = pf_default_params();
    assert_int_equal(pf_stream_open(&s, 64, 64, &p, NULL), PF_OK);
    assert_int_equal(pf_stream_finish(s), PF_ENOFRAMES);
    pf_stream_close(s);
    /* a flat frame has no grid */
    uint8_t *flat = calloc(64 * 64 * 4, 1);
    assert_int_equal(pf_stream_open(&s, 64, 64, &p, NULL), PF_OK);
    assert_int_equal(pf_stream_push(s, flat, 64 * 4, 0, 100), PF_OK);
    assert_int_equal(pf_stream_finish(s), PF_ENOGRID);
    pf_stream_close(s);
    /* a failed grid lock is final: pushes after it (ffmpeg goes on decoding
     * after a filter error) repeat it instead of overrunning the
     * grid_frames lookahead */
    p.grid_frames = 2;
    assert_int_equal(pf_stream_open(&s, 64, 64, &p, NULL), PF_OK);
    assert_int_equal(pf_stream_push(s, flat, 64 * 4, 0, 100), PF_OK);
    assert_int_equal(pf_stream_push(s, flat, 64 * 4, 100, 100), PF_ENOGRID);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pf_stream_push(s, flat, 64 * 4, 200 + 100 * i, 100), PF_ENOGRID);
    assert_int_equal(pf_stream_finish(s), PF_ENOGRID);
    pf_stream_close(s);
    free(flat);
}

/* pf.alpha classical: the output alpha is the classical key's whatever the
 * head says, and the flag survives save and load. */
static void test_classical_alpha(void **state)
{
    (void)state;
    nn_unet_cfg c = small_cfg(NN_MIX_CONVGRU);
    nn_model m, l;
    assert_int_equal(nn_model_init_random(&m, &c, 5), PF_OK);
    const nn_param *hb = &m.p.t[m.net.head.b];
    m.p.data[hb->offset + 3] = 50.0f;   /* an alpha logit that would flip everything */
    m.classical_alpha = 1;
    char path[512];
    snprintf(path, sizeof path, "%s/ca.safetensors", g_dir);
    assert_int_equal(nn_model_save(&m, path, NN_DT_F32, NULL), PF_OK);
    assert_int_equal(nn_model_load(&l, path, 0, NULL), PF_OK);
    assert_int_equal(l.classical_alpha, 1);
    const int T = 2, H = 4, W = 4, k = l.k;
    const size_t sn = (size_t)4 * H * k * W * k, cn = (size_t)4 * H * W;
    uint64_t s = 3;
    float *smp = nt_rand(sn * T, 0, 1, &s), *cel = nt_rand(cn * T, 0, 1, &s), *out = nt_zeros(cn * T);
    for (size_t i = 0; i < (size_t)H * W; i++) cel[3 * H * W + i] = i % 2 ? 1.0f : 0.0f;
    const float *sp[2] = {smp, smp + sn}, *cp[2] = {cel, cel + cn};
    float *op[2] = {out, out + cn};
    const float bg[3] = {0, 0, 0};
    nn_state st;
    assert_int_equal(nn_state_init(&st, &l, 1), PF_OK);
    assert_int_equal(nn_model_run(&l, &st, sp, cp, bg, T, H, W, 0, op), PF_OK);
    for (size_t i = 0; i < (size_t)H * W; i++) {
        const float want = 1.0f / (1.0f + expf(-NN_ALPHA_PRIOR * (2.0f * cel[3 * H * W + i] - 1.0f)));
        assert_float_equal(out[3 * H * W + i], want, 1e-6);
    }
    l.classical_alpha = 0;   /* the same weights with the model's alpha: everything opaque */
    assert_int_equal(nn_model_run(&l, &st, sp, cp, bg, T, H, W, 0, op), PF_OK);
    for (size_t i = 0; i < (size_t)H * W; i++) assert_true(out[3 * H * W + i] > 0.99f);
    nn_state_free(&st);
    nn_model_free(&l);
    nn_model_free(&m);
    free(smp), free(cel), free(out);
}

/* ---- cells like the background ------------------------------------------------- */

/* Restores a (count, h, w, 4) clip; out gets the frames, (count, rows,
 * cols, 4). Returns the native width * height. */
static size_t restore_clip(const pfi_anim *a, pf_model *model, uint8_t **out)
{
    pf_params p = pf_default_params();
    pf_stream *s = NULL;
    pf_stream_frame f;
    size_t len = 0, n = 0;
    *out = NULL;
    assert_int_equal(pf_stream_open(&s, a->width, a->height, &p, model), PF_OK);
    for (int t = 0; t <= a->count; t++) {
        if (t < a->count) assert_int_equal(pf_stream_push(s, a->frames[t].rgba, a->width * 4, t * 40, 40), PF_OK);
        else assert_int_equal(pf_stream_finish(s), PF_OK);
        while (pf_stream_pull(s, &f) == PF_OK) {
            len = (size_t)f.width * f.height * 4;
            if (!*out) *out = malloc(len * (size_t)a->count);
            assert_non_null(*out);
            assert_true(n < (size_t)a->count);
            memcpy(*out + n++ * len, f.rgba, len);
        }
    }
    assert_int_equal(n, a->count);
    pf_stream_close(s);
    return len / 4;
}

/* The network is trained on the colour of opaque GT pixels only, so its
 * correction of a cell that is really background (a blend with the key the
 * key left opaque) is arbitrary; the palette then clears such a cell by its
 * distance to the background (fringe.c), which an arbitrary correction
 * defeats (val minority_hue_01: a magenta halo of 33 pixels a frame left
 * opaque, acc 1.0 -> 0.978). Cells within 0.1 OKLab of a solid background
 * keep their classical colour. A network that darkens every colour by 0.25
 * must then leave the silhouette as the classical path does: without the
 * rule it keeps 22 of these 9864 pixels opaque that the classical path
 * clears, with it none. */
static void test_background_like_cells_keep_colour(void **state)
{
    (void)state;
    const float dark[3] = {-0.25f, -0.25f, -0.25f};
    pf_model *pm = random_model(NN_MIX_CONVGRU, 7, "dark.safetensors", dark, 1);
    size_t extra = 0, total = 0, darker = 0;
    for (uint64_t q = 0; q < 3; q++) {
        pfi_anim clean = {0}, deg = {0};
        pfi_degrade dp;
        pfi_degrade_geom geom = {0};
        assert_int_equal(pfi_synth_clip(&clean, 40, 40, 6, 900 + q, NULL), PF_OK);
        pfi_degrade_draw(&dp, PF_DKIND_WEBP, 70 + q);
        dp.scale = 3.0;
        dp.kernel = PF_RS_BILINEAR;
        dp.bg = PF_DBG_SOLID;
        dp.bg_rgb[0][0] = 255, dp.bg_rgb[0][1] = 0, dp.bg_rgb[0][2] = 255;
        dp.hold = dp.hold_max = 1;
        assert_int_equal(pfi_degrade_clip(&dp, &clean, &deg, &geom, NULL), PF_OK);
        uint8_t *a = NULL, *b = NULL;
        const size_t plane = restore_clip(&deg, NULL, &a), plane_m = restore_clip(&deg, pm, &b);
        assert_int_equal(plane, plane_m);
        for (size_t i = 0; i < plane * deg.count; i++) {
            const uint8_t *pa = a + i * 4, *pb = b + i * 4;
            total++;
            extra += pb[3] >= 128 && pa[3] < 128;
            darker += pb[3] >= 128 && pa[3] >= 128 && pb[0] + pb[1] + pb[2] + 30 < pa[0] + pa[1] + pa[2];
        }
        free(a);
        free(b);
        pfi_degrade_geom_free(&geom);
        pfi_anim_free(&deg);
        pfi_anim_free(&clean);
    }
    fprintf(stderr, "model: background-like cells: %zu of %zu pixels opaque only with the network, "
            "%zu darker with it\n", extra, total, darker);
    assert_true(darker * 10 > total);      /* the network did act */
    assert_true(extra * 2000 <= total);    /* ... but not on the silhouette's blends */
    pf_model_free(pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infer_equals_training_forward),
        cmocka_unit_test(test_windowed_equals_by_hand),
        cmocka_unit_test(test_blend_weights_sum_to_one),
        cmocka_unit_test(test_threads_deterministic),
        cmocka_unit_test(test_reuse_bit_identical),
        cmocka_unit_test(test_padded_window),
        cmocka_unit_test(test_window_bytes),
        cmocka_unit_test(test_tiled_equals_whole),
        cmocka_unit_test(test_model_file_errors),
        cmocka_unit_test(test_stream_order_and_count),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_two_streams_one_model),
        cmocka_unit_test(test_classical_alpha),
        cmocka_unit_test(test_background_like_cells_keep_colour),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
