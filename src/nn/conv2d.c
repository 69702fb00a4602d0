/*
 * conv2d.c - convolution as im2col + sgemm (darknet's layout: columns are
 * [C*K*K][pixels]); the forward 3x3 and 2x2 stride-1 pad-1 cases go to the
 * direct kernel (conv_direct.h) where the CPU runs it. The output rows are
 * processed in bands so that each band's columns (about
 * NN_CONV_BAND_FLOATS floats, 1 MiB) are still in the L2 cache when sgemm
 * packs them: im2col then costs little next to the GEMM.
 * Backward recomputes the columns rather than keeping them from forward.
 */
#include "nn/conv2d.h"

#include <string.h>

#include "base/common.h"
#include "nn/conv_direct.h"
#include "nn/gemm.h"

/* Target size of one band of columns, in floats (1 MiB: measured best of
 * 64 KiB..2 MiB for C=32..96 at 16x16..64x64 on a 2 MiB-L2 Xeon). */
#ifndef NN_CONV_BAND_FLOATS
#define NN_CONV_BAND_FLOATS (256 * 1024)
#endif

static int is_pointwise(int K, int stride, int pad)
{
    return K == 1 && stride == 1 && pad == 0;
}

/* What the direct kernel takes: 3x3 and 2x2 (the decoder's phase
 * kernels), stride 1, pad 1. */
static int is_direct(int K, int stride, int pad)
{
    return (K == 2 || K == 3) && stride == 1 && pad == 1;
}

/* Output rows per band for this geometry: at least 1, at most Ho. */
static int band_rows(int C, int K, int Ho, int Wo)
{
    size_t per_row = (size_t)C * K * K * Wo;
    size_t r = per_row ? NN_CONV_BAND_FLOATS / per_row : (size_t)Ho;
    if (r < 1) r = 1;
    if (r > (size_t)Ho) r = (size_t)Ho;
    return (int)r;
}

size_t nn_conv2d_ws_floats(int C, int H, int W, int K, int stride, int pad)
{
    if (is_pointwise(K, stride, pad)) return 0;
    int Ho = nn_conv_out(H, K, stride, pad), Wo = nn_conv_out(W, K, stride, pad);
    size_t n = (size_t)C * K * K * band_rows(C, K, Ho, Wo) * Wo;
    if (is_direct(K, stride, pad)) {
        size_t d = nn_conv_direct_ws_floats(C, H, W);
        if (d > n) n = d;
    }
    return n;
}

/* y = act(conv(x, w) + (b ? b : 0)), or y += conv(x, w) when acc (act
 * none). */
static void conv_forward(float *y, const float *x, const float *w, const float *b,
                         int acc, nn_act act, float *ws, int N, int C, int H, int W, int OC,
                         int K, int stride, int pad)
{
    const int Ho = nn_conv_out(H, K, stride, pad), Wo = nn_conv_out(W, K, stride, pad);
    const int CKK = C * K * K;
    const size_t in_sz = (size_t)C * H * W, out_sz = (size_t)OC * Ho * Wo;
    const int HWo = Ho * Wo;
    const float beta = (b || acc) ? 1.0f : 0.0f;

    PF_ASSERT(Ho > 0 && Wo > 0);
    if (is_direct(K, stride, pad) && nn_conv_direct_available()) {
        const size_t ws_floats = nn_conv2d_ws_floats(C, H, W, K, stride, pad);
        const int leaky = act == NN_ACT_LEAKY;
        for (int n = 0; n < N; n++) {
            nn_conv_direct(y + n * out_sz, x + n * in_sz, w, b, acc, leaky, ws, ws_floats, C, H, W, OC, K);
            if (act != NN_ACT_NONE && !leaky) nn_act_forward(y + n * out_sz, y + n * out_sz, out_sz, act);
        }
        return;
    }
    for (int n = 0; n < N; n++) {
        const float *xn = x + n * in_sz;
        float *yn = y + n * out_sz;
        if (b && !acc) {
            /* bias first, then sgemm accumulates: BLAS makes a pass over
             * C for beta = 0 anyway, so this costs nothing extra */
            for (int o = 0; o < OC; o++) {
                float *yo = yn + (size_t)o * HWo;
                for (int p = 0; p < HWo; p++) yo[p] = b[o];
            }
        }
        if (is_pointwise(K, stride, pad)) {
            nn_sgemm(0, 0, OC, HWo, C, 1.0f, w, C, xn, HWo, beta, yn, HWo);
            if (act != NN_ACT_NONE) nn_act_forward(yn, yn, out_sz, act);
            continue;
        }
        const int R = band_rows(C, K, Ho, Wo);
        for (int y0 = 0; y0 < Ho; y0 += R) {
            int y1 = y0 + R < Ho ? y0 + R : Ho;
            int nb = (y1 - y0) * Wo;
            nn_im2col(ws, xn, C, H, W, K, stride, pad, y0, y1);
            nn_sgemm(0, 0, OC, nb, CKK, 1.0f, w, CKK, ws, nb, beta,
                     yn + (size_t)y0 * Wo, HWo);
        }
        if (act != NN_ACT_NONE) nn_act_forward(yn, yn, out_sz, act);
    }
}

void nn_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                       float *ws, int N, int C, int H, int W, int OC, int K,
                       int stride, int pad)
{
    conv_forward(y, x, w, b, 0, NN_ACT_NONE, ws, N, C, H, W, OC, K, stride, pad);
}

void nn_conv2d_forward_act(float *y, const float *x, const float *w, const float *b, nn_act act,
                           float *ws, int N, int C, int H, int W, int OC, int K, int stride, int pad)
{
    conv_forward(y, x, w, b, 0, act, ws, N, C, H, W, OC, K, stride, pad);
}

void nn_conv2d_forward_acc(float *y, const float *x, const float *w, float *ws,
                           int N, int C, int H, int W, int OC, int K, int stride, int pad)
{
    conv_forward(y, x, w, NULL, 1, NN_ACT_NONE, ws, N, C, H, W, OC, K, stride, pad);
}

void nn_conv2d_backward(float *dx, float *dw, float *db, const float *dy,
                        const float *x, const float *w, float *ws, int N, int C,
                        int H, int W, int OC, int K, int stride, int pad)
{
    const int Ho = nn_conv_out(H, K, stride, pad), Wo = nn_conv_out(W, K, stride, pad);
    const int CKK = C * K * K;
    const size_t in_sz = (size_t)C * H * W, out_sz = (size_t)OC * Ho * Wo;
    const int HWo = Ho * Wo;

    for (int n = 0; n < N; n++) {
        const float *dyn = dy + n * out_sz;
        const float *xn = x + n * in_sz;
        if (db) {
            for (int o = 0; o < OC; o++) {
                const float *d = dyn + (size_t)o * HWo;
                float s = 0.0f;
                for (int p = 0; p < HWo; p++) s += d[p];
                db[o] += s;
            }
        }
        if (is_pointwise(K, stride, pad)) {
            /* dw (OC, C) += dy (OC, HW) @ x^T; dx (C, HW) += w^T @ dy */
            if (dw) nn_sgemm(0, 1, OC, C, HWo, 1.0f, dyn, HWo, xn, HWo, 1.0f, dw, C);
            if (dx) nn_sgemm(1, 0, C, HWo, OC, 1.0f, w, C, dyn, HWo, 1.0f, dx + n * in_sz, HWo);
            continue;
        }
        const int R = band_rows(C, K, Ho, Wo);
        for (int y0 = 0; y0 < Ho; y0 += R) {
            int y1 = y0 + R < Ho ? y0 + R : Ho;
            int nb = (y1 - y0) * Wo;
            const float *dyb = dyn + (size_t)y0 * Wo;
            if (dw) {
                /* dw (OC, CKK) += dy_band (OC, nb) @ col^T (nb, CKK) */
                nn_im2col(ws, xn, C, H, W, K, stride, pad, y0, y1);
                nn_sgemm(0, 1, OC, CKK, nb, 1.0f, dyb, HWo, ws, nb, 1.0f, dw, CKK);
            }
            if (dx) {
                /* dcol (CKK, nb) = w^T (CKK, OC) @ dy_band (OC, nb) */
                nn_sgemm(1, 0, CKK, nb, OC, 1.0f, w, CKK, dyb, HWo, 0.0f, ws, nb);
                nn_col2im(dx + n * in_sz, ws, C, H, W, K, stride, pad, y0, y1);
            }
        }
    }
}
