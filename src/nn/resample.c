/*
 * resample.c - upsampling, pixel (un)shuffle and concatenation, forward
 * and backward. Pure index permutations and copies; no arithmetic but the
 * gradient sums.
 */
#include "nn/resample.h"

#include <stddef.h>
#include <string.h>

void nn_upsample2_forward(float *y, const float *x, int N, int C, int H, int W)
{
    const int W2 = 2 * W;
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *xp = x + p * H * W;
        float *yp = y + p * 4 * H * W;
        for (int i = 0; i < H; i++) {
            float *r0 = yp + (size_t)(2 * i) * W2;
            for (int j = 0; j < W; j++) r0[2 * j] = r0[2 * j + 1] = xp[(size_t)i * W + j];
            memcpy(r0 + W2, r0, sizeof(float) * W2);
        }
    }
}

void nn_upsample2_backward(float *dx, const float *dy, int N, int C, int H, int W)
{
    const int W2 = 2 * W;
    for (size_t p = 0; p < (size_t)N * C; p++) {
        float *dxp = dx + p * H * W;
        const float *dyp = dy + p * 4 * H * W;
        for (int i = 0; i < H; i++) {
            const float *r0 = dyp + (size_t)(2 * i) * W2, *r1 = r0 + W2;
            for (int j = 0; j < W; j++)
                dxp[(size_t)i * W + j] += (r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1]);
        }
    }
}

/* Visits every (high-res index, low-res index) pair of a pixel shuffle
 * between hi (N, C, Hh, Wh) and lo (N, C*k*k, Hh/k, Wh/k). */
#define SHUFFLE_LOOP(STMT)                                                      \
    do {                                                                        \
        const int Hl = Hh / k, Wl = Wh / k;                                     \
        for (int n = 0; n < N; n++)                                             \
            for (int c = 0; c < C; c++)                                         \
                for (int i = 0; i < k; i++)                                     \
                    for (int j = 0; j < k; j++) {                               \
                        size_t lo_base = (((size_t)n * C + c) * k * k + (size_t)i * k + j) * Hl * Wl; \
                        size_t hi_base = ((size_t)n * C + c) * Hh * Wh;         \
                        for (int yy = 0; yy < Hl; yy++)                         \
                            for (int xx = 0; xx < Wl; xx++) {                   \
                                size_t lo = lo_base + (size_t)yy * Wl + xx;     \
                                size_t hi = hi_base + (size_t)(yy * k + i) * Wh + (size_t)xx * k + j; \
                                STMT;                                           \
                            }                                                   \
                    }                                                           \
    } while (0)

void nn_pixel_unshuffle_forward(float *y, const float *x, int N, int C, int H, int W, int k)
{
    const int Hh = H, Wh = W;
    SHUFFLE_LOOP(y[lo] = x[hi]);
}

void nn_pixel_unshuffle_backward(float *dx, const float *dy, int N, int C, int H, int W, int k)
{
    const int Hh = H, Wh = W;
    SHUFFLE_LOOP(dx[hi] += dy[lo]);
}

void nn_pixel_shuffle_forward(float *y, const float *x, int N, int C, int H, int W, int k)
{
    const int Hh = H * k, Wh = W * k;
    SHUFFLE_LOOP(y[hi] = x[lo]);
}

void nn_pixel_shuffle_backward(float *dx, const float *dy, int N, int C, int H, int W, int k)
{
    const int Hh = H * k, Wh = W * k;
    SHUFFLE_LOOP(dx[lo] += dy[hi]);
}

void nn_concat_forward(float *y, const float *a, const float *b, int N, int Ca, int Cb, int H, int W)
{
    const size_t hw = (size_t)H * W, sa = Ca * hw, sb = Cb * hw;
    for (int n = 0; n < N; n++) {
        memcpy(y + n * (sa + sb), a + n * sa, sizeof(float) * sa);
        memcpy(y + n * (sa + sb) + sa, b + n * sb, sizeof(float) * sb);
    }
}

void nn_concat_backward(float *da, float *db, const float *dy, int N, int Ca, int Cb, int H, int W)
{
    const size_t hw = (size_t)H * W, sa = Ca * hw, sb = Cb * hw;
    for (int n = 0; n < N; n++) {
        const float *d = dy + n * (sa + sb);
        if (da) for (size_t i = 0; i < sa; i++) da[n * sa + i] += d[i];
        if (db) for (size_t i = 0; i < sb; i++) db[n * sb + i] += d[sa + i];
    }
}
