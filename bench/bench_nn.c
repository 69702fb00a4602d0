/* bench_nn.c - speed of the nn engine. Prints "name value unit" lines on
 * stdout (bench.h; bench/report.py lists them under "Raw figures"), notes
 * on stderr.
 *
 * conv3x3 (stride 1, pad 1, C in = C out) at (C=32, 64x64), (64, 32x32)
 * and (96, 16x16), 8 frames per call, against raw cblas_sgemm of the same
 * M, N, K in the same run: forward M = C, N = H*W, K = 9C; backward the
 * two products dW (C x 9C, K = H*W) and dcol (9C x H*W, K = C). Each
 * figure is the best of several repetitions. OpenBLAS runs on 1 thread
 * (the _t2 lines: 2), our own loops always on 1. The forward conv runs
 * the direct kernel (conv_direct.h) where the CPU has one; the _im2col,
 * _avx2 and _avx512 lines time each path alone. BENCH_QUICK=1: 3
 * repetitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "base/common.h"
#include "nn/nn.h"

/* Repetitions per figure (the best is kept); BENCH_QUICK=1: 3. */
static int reps = 11;

/* Uniform in [-0.5, 0.5): the inputs of every product here. */
static float *rnd(size_t n, uint64_t *s)
{
    return bench_rnd(n, s, -0.5f, 0.5f);
}

static double best(double a, double b) { return a < b ? a : b; }

static void bench_conv(int C, int S, const char *suffix)
{
    const int N = 8, H = S, W = S, OC = C, K9 = 9 * C, HW = H * W;
    uint64_t seed = 7;
    float *x = rnd((size_t)N * C * HW, &seed), *w = rnd((size_t)OC * K9, &seed), *b = rnd(OC, &seed);
    float *y = rnd((size_t)N * OC * HW, &seed), *dx = rnd((size_t)N * C * HW, &seed);
    float *dw = rnd((size_t)OC * K9, &seed), *db = rnd(OC, &seed), *col = rnd((size_t)K9 * HW, &seed);
    float *ws = rnd(nn_conv2d_ws_floats(C, H, W, 3, 1, 1) + 1, &seed);
    double t_sf = 1e30, t_cf = 1e30, t_sb = 1e30, t_cb = 1e30;
    const double flops = 2.0 * OC * HW * K9 * N;

    for (int r = 0; r < reps; r++) {
        double t0 = pfi_now_ms();
        for (int n = 0; n < N; n++)
            nn_sgemm(0, 0, OC, HW, K9, 1.0f, w, K9, col, HW, 0.0f, y + (size_t)n * OC * HW, HW);
        double t1 = pfi_now_ms();
        nn_conv2d_forward(y, x, w, b, ws, N, C, H, W, OC, 3, 1, 1);
        double t2 = pfi_now_ms();
        for (int n = 0; n < N; n++) {
            nn_sgemm(0, 1, OC, K9, HW, 1.0f, y + (size_t)n * OC * HW, HW, col, HW, 1.0f, dw, K9);
            nn_sgemm(1, 0, K9, HW, OC, 1.0f, w, K9, y + (size_t)n * OC * HW, HW, 0.0f, col, HW);
        }
        double t3 = pfi_now_ms();
        nn_conv2d_backward(dx, dw, db, y, x, w, ws, N, C, H, W, OC, 3, 1, 1);
        double t4 = pfi_now_ms();
        t_sf = best(t_sf, t1 - t0);
        t_cf = best(t_cf, t2 - t1);
        t_sb = best(t_sb, t3 - t2);
        t_cb = best(t_cb, t4 - t3);
    }
    printf("sgemm_fwd_gflops_c%d_%dx%d%s %.1f GFLOP/s\n", C, S, S, suffix, flops / t_sf * 1e-6);
    printf("conv3x3_fwd_gflops_c%d_%dx%d%s %.1f GFLOP/s\n", C, S, S, suffix, flops / t_cf * 1e-6);
    printf("conv3x3_fwd_vs_sgemm_c%d_%dx%d%s %.1f %%\n", C, S, S, suffix, 100.0 * t_sf / t_cf);
    printf("sgemm_bwd_gflops_c%d_%dx%d%s %.1f GFLOP/s\n", C, S, S, suffix, 2 * flops / t_sb * 1e-6);
    printf("conv3x3_bwd_gflops_c%d_%dx%d%s %.1f GFLOP/s\n", C, S, S, suffix, 2 * flops / t_cb * 1e-6);
    printf("conv3x3_bwd_vs_sgemm_c%d_%dx%d%s %.1f %%\n", C, S, S, suffix, 100.0 * t_sb / t_cb);
    free(x); free(w); free(b); free(y); free(dx); free(dw); free(db); free(col); free(ws);
}

/* The forward conv3x3 by each path this CPU runs: im2col + sgemm, and the
 * direct kernel per instruction set. */
static void bench_conv_paths(int C, int S)
{
    static const char *const names[] = {"im2col", "avx2", "avx512"};
    const int N = 8, H = S, W = S, OC = C, HW = H * W;
    const double flops = 2.0 * OC * HW * 9 * C * N;
    uint64_t seed = 9;
    float *x = rnd((size_t)N * C * HW, &seed), *w = rnd((size_t)OC * 9 * C, &seed), *b = rnd(OC, &seed);
    float *y = rnd((size_t)N * OC * HW, &seed), *ws = rnd(nn_conv2d_ws_floats(C, H, W, 3, 1, 1) + 1, &seed);
    const int widest = nn_conv_direct_limit(NN_DIRECT_AVX512);
    for (int isa = NN_DIRECT_NONE; isa <= widest; isa++) {
        double t = 1e30;
        nn_conv_direct_limit(isa);
        for (int r = 0; r < reps; r++) {
            double t0 = pfi_now_ms();
            nn_conv2d_forward(y, x, w, b, ws, N, C, H, W, OC, 3, 1, 1);
            t = best(t, pfi_now_ms() - t0);
        }
        printf("conv3x3_fwd_gflops_c%d_%dx%d_%s %.1f GFLOP/s\n", C, S, S, names[isa], flops / t * 1e-6);
    }
    nn_conv_direct_limit(NN_DIRECT_AVX512);
    free(x); free(w); free(b); free(y); free(ws);
}

static void bench_convgru(void)
{
    const int T = 8, C = 64, H = 32, W = 32, K = 3;
    uint64_t seed = 11;
    nn_arena a;
    nn_convgru g;
    nn_convgru_w w, dw;
    nn_arena_measure(&a);
    nn_convgru_alloc(&g, &a, T, C, C, H, W, K, 0);
    if (nn_arena_init(&a, a.used) < 0) exit(1);
    nn_convgru_alloc(&g, &a, T, C, C, H, W, K, 0);
    const size_t n = (size_t)T * C * H * W, kk = (size_t)C * C * K * K;
    float *x = rnd(n, &seed), *hs = rnd(n, &seed), *dhs = rnd(n, &seed), *dx = rnd(n, &seed);
    float *bufs[8];
    for (int i = 0; i < 8; i++) bufs[i] = rnd(i % 4 == 1 ? 3 * (size_t)C : 3 * kk, &seed);
    for (size_t i = 0; i < 3 * kk; i++) bufs[0][i] *= 0.05f, bufs[2][i] *= 0.05f, bufs[3][i] *= 0.05f;
    w = (nn_convgru_w){bufs[0], bufs[1], bufs[2], bufs[3]};
    dw = (nn_convgru_w){bufs[4], bufs[5], bufs[6], bufs[7]};
    double tf = 1e30, tb = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = pfi_now_ms();
        nn_convgru_forward(&g, hs, x, &w);
        double t1 = pfi_now_ms();
        nn_convgru_backward(&g, dx, &dw, dhs, x, hs, &w);
        double t2 = pfi_now_ms();
        tf = best(tf, t1 - t0);
        tb = best(tb, t2 - t1);
    }
    printf("convgru_step_ms_c64_32x32 %.3f ms\n", tf / T);
    printf("convgru_step_fwd_bwd_ms_c64_32x32 %.3f ms\n", (tf + tb) / T);
    for (int i = 0; i < 8; i++) free(bufs[i]);
    free(x); free(hs); free(dhs); free(dx);
    nn_arena_free(&a);
}

static void bench_unet(void)
{
    const int T = 8, H = 32, W = 32;
    nn_unet_cfg cfg = nn_unet_default_cfg();
    nn_params p;
    nn_unet u;
    nn_rng rng;
    memset(&p, 0, sizeof p);
    if (nn_unet_build(&u, &p, &cfg) < 0 || nn_params_alloc(&p) < 0 || nn_params_alloc_grad(&p) < 0 ||
        nn_unet_plan(&u, T, H, W, 1) < 0) {
        fprintf(stderr, "bench_nn: cannot set up the U-Net\n");
        exit(1);
    }
    nn_rng_seed(&rng, 1);
    nn_params_init(&p, &rng);
    uint64_t seed = 13;
    const size_t nx = (size_t)T * cfg.in_ch * H * W, ny = (size_t)T * cfg.out_ch * H * W;
    float *x = rnd(nx, &seed), *dy = rnd(ny, &seed);
    double tf = 1e30, tfb = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = pfi_now_ms();
        nn_unet_forward(&u, x);
        double t1 = pfi_now_ms();
        nn_params_zero_grad(&p);
        nn_unet_backward(&u, NULL, dy);
        double t2 = pfi_now_ms();
        tf = best(tf, t1 - t0);
        tfb = best(tfb, t2 - t0);
    }
    fprintf(stderr, "bench_nn: U-Net %d parameters, %.1f MiB of activations and gradients\n",
            (int)p.total, (double)(u.av.cap + u.ag.cap) * 4 / 1048576.0);
    printf("unet_t8_32x32_fwd_ms %.2f ms\n", tf);
    printf("unet_t8_32x32_fwd_bwd_ms %.2f ms\n", tfb);
    free(x); free(dy);
    nn_unet_free(&u);
    nn_params_free(&p);
}

int main(void)
{
    static const int cfgs[3][2] = {{32, 64}, {64, 32}, {96, 16}};
    if (bench_quick()) reps = 3;
    nn_pool *two;
    for (int i = 0; i < 3; i++) bench_conv(cfgs[i][0], cfgs[i][1], "");
    for (int i = 0; i < 3; i++) bench_conv_paths(cfgs[i][0], cfgs[i][1]);
    bench_convgru();
    bench_unet();
    if (nn_pool_new(&two, 2) < 0) return 1;
    nn_pool_bind(two);
    for (int i = 0; i < 3; i++) bench_conv(cfgs[i][0], cfgs[i][1], "_t2");
    nn_pool_bind(NULL);
    nn_pool_free(two);
    return 0;
}
