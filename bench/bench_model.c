/* bench_model.c - speed of the restoration network (issues 4 and 7).
 * Prints "name value unit" and "info" lines on stdout (bench.h), progress
 * on stderr.
 *
 * The shipped model (models/pixelfix-v6.safetensors): nn_model_run over
 * one T = 8 window at 180x101 native (what the grid finds on the 720p
 * bench clip; padded to 180x104 inside) and at 128x128, one thread as the
 * CLI runs it; its FLOPs counted analytically over the nn_unet layers at
 * the padded size, against the best nn_sgemm of conv-shaped products
 * measured in the same run.
 *
 * Per size: nn_model_run at native 32..256 square with the default
 * 32/64/96 U-Net and random weights (fixed seed), per mixer. One thread
 * unless the name ends in _t2.
 *
 * Inputs are random (fixed seed): the time of a convolution does not
 * depend on the values. BENCH_QUICK=1: 32 and 64 only, fewer repetitions.
 * Not a test: nothing is checked.
 */
#include <cblas.h>   /* openblas_get_config() only; products go through nn_sgemm */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "base/common.h"
#include "nn/gemm.h"
#include "nn/model.h"

#define T_WIN 8
#define SEED 20240501u

static const char *mixer_tag[] = {"convgru", "biconvgru", "tconv"};

/* ---- FLOP count -------------------------------------------------------- */

/* 2 * OC * IC * K * K * Ho * Wo: multiply-adds of one conv on one frame at
 * output size (Ho, Wo). Bias, activations and element-wise ops left out. */
static double conv_flops(const nn_unet_conv *c, int Ho, int Wo)
{
    return 2.0 * c->cout * c->cin * c->k * c->k * (double)Ho * Wo;
}

/* FLOPs of one nn_unet_forward over a (T, in_ch, H, W) window, following
 * the layers of unet.c: per level encoder conv (stride 2 below level 0) and
 * res_blocks residual blocks, depthwise temporal skip conv, the bottleneck mixer
 * (ConvGRU: input conv on every frame, hidden-state convs on all frames
 * but the first, whose h is 0 and skipped; per direction), the decoder and
 * the 1x1 head, as the inference forward computes them. */
static double unet_flops(const nn_unet *u, int T, int H, int W)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels;
    double f = 0.0;
    for (int l = 0; l < L; l++) {
        const nn_unet_level *v = &u->lev[l];
        const int Hl = H >> l, Wl = W >> l;
        f += T * conv_flops(&v->enc, Hl, Wl);
        for (int b = 0; b < c->res_blocks; b++)
            f += T * (conv_flops(&v->res1[b], Hl, Wl) + conv_flops(&v->res2[b], Hl, Wl));
        if (l < L - 1 && c->skip_tconv) f += T * 2.0 * c->ch[l] * c->tk * (double)Hl * Wl;
        if (l == L - 1) continue;
        /* the up conv as inference runs it: four 2x2 phase kernels at the
         * low resolution, over (Hl/2 + 1) x (Wl/2 + 1) (unet.c up_phases) */
        f += T * (2.0 * 4 * v->up.cout * v->up.cin * 4 * (double)(Hl / 2 + 1) * (Wl / 2 + 1) +
                  conv_flops(&v->fuse, Hl, Wl));
        for (int b = 0; b < c->res_blocks; b++)
            f += T * (conv_flops(&v->dres1[b], Hl, Wl) + conv_flops(&v->dres2[b], Hl, Wl));
    }
    const int Hb = H >> (L - 1), Wb = W >> (L - 1), cb = c->ch[L - 1], k = c->gru_k;
    const double hw = (double)Hb * Wb, kk = (double)cb * cb * k * k;
    if (c->mixer == NN_MIX_TCONV) {
        f += T * (2.0 * cb * c->tk * hw + conv_flops(&u->mid_pw, Hb, Wb));
    } else {
        double dir = T * 2.0 * 3 * kk * hw + (T - 1) * 2.0 * (2 + 1) * kk * hw;
        f += c->mixer == NN_MIX_BICONVGRU ? 2 * dir : dir;
    }
    f += T * conv_flops(&u->head, H, W);
    return f;
}

/* ---- network timing ----------------------------------------------------- */

typedef struct net_result {
    double ms_per_frame, gflops, gflop_per_window;
} net_result;

/* Threads of the states bench_net runs on. */
static int g_threads = 1;

/* Best time of nn_model_run over one T_WIN window at native W x H (after
 * one warm-up run, which plans the arenas). */
static net_result bench_net(nn_model *m, int W, int H, int reps, const char *what)
{
    nn_state st;
    if (nn_state_init(&st, m, g_threads) < 0) {
        fprintf(stderr, "bench_model: out of memory\n");
        exit(1);
    }
    const int k = m->k;
    const size_t ns = (size_t)4 * H * k * W * k, nc = (size_t)4 * H * W;
    uint64_t seed = 99;
    float *samples[T_WIN], *cells[T_WIN], *out[T_WIN];
    for (int t = 0; t < T_WIN; t++) {
        samples[t] = bench_rnd(ns, &seed, 0.0f, 1.0f);
        cells[t] = bench_rnd(nc, &seed, 0.0f, 1.0f);
        out[t] = bench_xmalloc(nc * sizeof(float));
    }
    const float bg[3] = {0.92f, 0.92f, 0.91f};
    double best = 1e30;
    for (int r = -1; r < reps; r++) {
        double t0 = pfi_now_ms();
        if (nn_model_run(m, &st, (const float *const *)samples, (const float *const *)cells, bg, T_WIN, H, W,
                         0, out) < 0) {
            fprintf(stderr, "bench_model: nn_model_run failed at %dx%d\n", W, H);
            exit(1);
        }
        double dt = pfi_now_ms() - t0;
        if (r >= 0 && dt < best) best = dt;
    }
    /* st.net is planned at the padded size the network really ran at */
    const double flop = unet_flops(&st.net, T_WIN, st.net.H, st.net.W);
    nn_state_free(&st);
    net_result res = {best / T_WIN, flop / best * 1e-6, flop * 1e-9};
    fprintf(stderr, "bench_model: %s %dx%d: %.1f ms per window, %.2f GFLOP per window, %.1f GFLOP/s\n",
            what, W, H, best, res.gflop_per_window, res.gflops);
    for (int t = 0; t < T_WIN; t++) { free(samples[t]); free(cells[t]); free(out[t]); }
    return res;
}

/* bench_net on a default-size model of the given mixer, random weights. */
static net_result bench_random(nn_mixer mixer, int S, int reps)
{
    nn_unet_cfg cfg = nn_unet_default_cfg();
    cfg.mixer = mixer;
    nn_model m;
    if (nn_model_init_random(&m, &cfg, SEED) < 0) {
        fprintf(stderr, "bench_model: cannot build the model\n");
        exit(1);
    }
    net_result r = bench_net(&m, S, S, reps, mixer_tag[mixer]);
    nn_model_free(&m);
    return r;
}

/* Best nn_sgemm GFLOP/s over conv-shaped products (forward of a 3x3 conv:
 * M = out channels, N = pixels, K = 9 in channels) and a square one. */
static double bench_sgemm_peak(int reps)
{
    static const int shapes[][3] = {{64, 4096, 576}, {96, 1024, 864}, {32, 16384, 288},
                                    {1024, 1024, 1024}};
    double peak = 0.0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
        uint64_t seed = 5;
        float *a = bench_rnd((size_t)M * K, &seed, -0.5f, 0.5f), *b = bench_rnd((size_t)K * N, &seed, -0.5f, 0.5f);
        float *c = bench_xmalloc((size_t)M * N * sizeof(float));
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = pfi_now_ms();
            nn_sgemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
            double dt = pfi_now_ms() - t0;
            if (dt < best) best = dt;
        }
        double g = 2.0 * M * N * K / best * 1e-6;
        fprintf(stderr, "bench_model: sgemm %dx%dx%d: %.1f GFLOP/s\n", M, N, K, g);
        if (g > peak) peak = g;
        free(a); free(b); free(c);
    }
    return peak;
}

/* The shipped model at the 720p clip's native size and at 128x128,
 * against the sgemm peak, one thread. */
static int bench_shipped(int quick)
{
    static const int sizes[2][2] = {{180, 101}, {128, 128}};
    nn_model m;
    net_result r[2];
    if (nn_model_load(&m, BENCH_MODEL, 0, NULL) < 0) {
        fprintf(stderr, "bench_model: cannot load %s (run from the repository root)\n", BENCH_MODEL);
        return -1;
    }
    bench_info("net_model", BENCH_MODEL);
    for (int i = 0; i < 2; i++) r[i] = bench_net(&m, sizes[i][0], sizes[i][1], quick ? 1 : 3, "shipped");
    nn_model_free(&m);
    /* measured after the network, so that both see the same warm caches and clocks */
    const double peak = bench_sgemm_peak(quick ? 3 : 7);
    for (int i = 0; i < 2; i++) {
        const int W = sizes[i][0], H = sizes[i][1];
        bench_figure(r[i].ms_per_frame, "ms", "net_shipped_%dx%d_ms_per_frame", W, H);
        bench_figure(r[i].gflop_per_window / T_WIN, "GFLOP", "net_shipped_%dx%d_gflop_per_frame", W, H);
        bench_figure(r[i].gflops, "GFLOP/s", "net_shipped_%dx%d_gflops", W, H);
        bench_figure(100.0 * r[i].gflops / peak, "%", "net_shipped_%dx%d_vs_sgemm", W, H);
    }
    bench_figure(peak, "GFLOP/s", "sgemm_peak_gflops");
    return 0;
}

int main(void)
{
    const int quick = bench_quick();
    double t_start = pfi_now_ms();
    int rc = 0;

    bench_info("openblas_config", openblas_get_config());
    if (bench_shipped(quick) < 0) rc = 1;

    static const int sizes[4] = {32, 64, 128, 256};
    static const nn_mixer mixers[2] = {NN_MIX_CONVGRU, NN_MIX_TCONV};
    for (int i = 0; i < (quick ? 2 : 4); i++)
        for (int j = 0; j < 2; j++) {
            int S = sizes[i];
            net_result r = bench_random(mixers[j], S, quick ? 1 : S >= 256 ? 1 : S >= 128 ? 3 : 5);
            bench_figure(r.ms_per_frame, "ms", "net_ms_per_frame_%d_%s", S, mixer_tag[mixers[j]]);
        }
    if (!quick) {
        net_result rb = bench_random(NN_MIX_BICONVGRU, 128, 3);
        bench_figure(rb.ms_per_frame, "ms", "net_ms_per_frame_128_biconvgru");
        g_threads = 2;
        net_result r2 = bench_random(NN_MIX_CONVGRU, 128, 3);
        bench_figure(r2.ms_per_frame, "ms", "net_ms_per_frame_128_convgru_t2");
    }
    fprintf(stderr, "bench_model: done in %.0f s\n", (pfi_now_ms() - t_start) / 1000.0);
    return rc;
}
