/*
 * temporal.c - depthwise temporal Conv1D over (T, C, H, W), forward and
 * backward. Each tap is an axpy over the H*W plane of one channel.
 */
#include "nn/temporal.h"

#include <stddef.h>

#include "base/common.h"

/* Source frame of tap j at frame t, or -1 for a zero-padded frame. */
static int src_frame(int t, int j, int k, int T, nn_tpad pad)
{
    int s = t + j - k / 2;
    if (s >= 0 && s < T) return s;
    return pad == NN_TPAD_REPLICATE ? pfi_clampi(s, 0, T - 1) : -1;
}

void nn_tconv1d_forward(float *y, const float *x, const float *w, const float *b,
                        int T, int C, int H, int W, int k, nn_tpad pad)
{
    const size_t hw = (size_t)H * W, fr = (size_t)C * hw;
    PF_ASSERT(k >= 1 && (k & 1));
    for (int t = 0; t < T; t++) {
        for (int c = 0; c < C; c++) {
            float *yc = y + t * fr + c * hw;
            const float bias = b ? b[c] : 0.0f;
            for (size_t p = 0; p < hw; p++) yc[p] = bias;
            for (int j = 0; j < k; j++) {
                int s = src_frame(t, j, k, T, pad);
                if (s < 0) continue;
                const float wj = w[c * k + j];
                const float *xc = x + s * fr + c * hw;
                for (size_t p = 0; p < hw; p++) yc[p] += wj * xc[p];
            }
        }
    }
}

void nn_tconv1d_backward(float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int T, int C, int H, int W,
                         int k, nn_tpad pad)
{
    const size_t hw = (size_t)H * W, fr = (size_t)C * hw;
    for (int t = 0; t < T; t++) {
        for (int c = 0; c < C; c++) {
            const float *dyc = dy + t * fr + c * hw;
            if (db) {
                float s = 0.0f;
                for (size_t p = 0; p < hw; p++) s += dyc[p];
                db[c] += s;
            }
            for (int j = 0; j < k; j++) {
                int s = src_frame(t, j, k, T, pad);
                if (s < 0) continue;
                if (dw) {
                    const float *xc = x + s * fr + c * hw;
                    float acc = 0.0f;
                    for (size_t p = 0; p < hw; p++) acc += dyc[p] * xc[p];
                    dw[c * k + j] += acc;
                }
                if (dx) {
                    const float wj = w[c * k + j];
                    float *dxc = dx + s * fr + c * hw;
                    for (size_t p = 0; p < hw; p++) dxc[p] += wj * dyc[p];
                }
            }
        }
    }
}
