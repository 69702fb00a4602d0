/*
 * temporal.h - the temporal Conv1D: a depthwise convolution over the T axis
 * of a (T, C, H, W) clip window, one kernel per channel, applied at every
 * (C, H, W) position. Edges of the window are zero- or replicate-padded.
 */
#ifndef PF_NN_TEMPORAL_H
#define PF_NN_TEMPORAL_H

typedef enum nn_tpad {
    NN_TPAD_ZERO = 0,      /* frames outside the window are 0 */
    NN_TPAD_REPLICATE = 1  /* frames outside repeat the first / last frame */
} nn_tpad;

/* y[t, c] = b[c] + sum_j w[c, j] * x[t + j - k/2, c] (per pixel).
 * y: (T, C, H, W), overwritten; x: (T, C, H, W); w: (C, k), k odd
 * (3 or 5); b: (C) or NULL. */
void nn_tconv1d_forward(float *y, const float *x, const float *w, const float *b,
                        int T, int C, int H, int W, int k, nn_tpad pad);

/* Accumulates dx: (T, C, H, W), dw: (C, k), db: (C) (any may be NULL)
 * from dy: (T, C, H, W); x, w are the forward inputs. */
void nn_tconv1d_backward(float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int T, int C, int H, int W,
                         int k, nn_tpad pad);

#endif /* PF_NN_TEMPORAL_H */
