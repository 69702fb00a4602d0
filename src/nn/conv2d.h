/*
 * conv2d.h - 2-D convolution (cross-correlation, as in PyTorch's Conv2d)
 * with square kernels, any stride, zero padding and an optional bias,
 * forward and backward, as im2col + one GEMM per band of output rows.
 * 1x1 stride-1 unpadded convolutions skip im2col and are a single GEMM.
 */
#ifndef PF_NN_CONV2D_H
#define PF_NN_CONV2D_H

#include <stddef.h>

#include "nn/activation.h"
#include "nn/im2col.h"

/* Floats of workspace nn_conv2d_forward/backward need for this geometry
 * (0 for a 1x1 stride-1 unpadded convolution). Independent of N and OC. */
size_t nn_conv2d_ws_floats(int C, int H, int W, int K, int stride, int pad);

/* y = conv(x, w) + b.
 * y: (N, OC, Ho, Wo), overwritten, Ho = nn_conv_out(H, K, stride, pad);
 * x: (N, C, H, W); w: (OC, C, K, K); b: (OC) or NULL for no bias;
 * ws: nn_conv2d_ws_floats(C, H, W, K, stride, pad) floats, scratch. */
void nn_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                       float *ws, int N, int C, int H, int W, int OC, int K,
                       int stride, int pad);

/* y = act(conv(x, w) + b): nn_conv2d_forward and nn_act_forward in one
 * call, the activation fused into the direct kernel's epilogue (no
 * extra pass over y) for LeakyReLU. For inference, which keeps no
 * pre-activation. */
void nn_conv2d_forward_act(float *y, const float *x, const float *w, const float *b, nn_act act,
                           float *ws, int N, int C, int H, int W, int OC, int K, int stride, int pad);

/* y += conv(x, w), no bias: for sums of convolutions (the ConvGRU gates).
 * y: (N, OC, Ho, Wo), accumulated; the rest as for nn_conv2d_forward.
 * Its backward is nn_conv2d_backward with db = NULL. */
void nn_conv2d_forward_acc(float *y, const float *x, const float *w, float *ws,
                           int N, int C, int H, int W, int OC, int K, int stride, int pad);

/* Backward of nn_conv2d_forward: accumulates dL/dx, dL/dw and dL/db.
 * dx: (N, C, H, W) or NULL; dw: (OC, C, K, K) or NULL; db: (OC) or NULL;
 * dy: (N, OC, Ho, Wo); x, w: the forward inputs; ws as for forward. */
void nn_conv2d_backward(float *dx, float *dw, float *db, const float *dy,
                        const float *x, const float *w, float *ws, int N, int C,
                        int H, int W, int OC, int K, int stride, int pad);

#endif /* PF_NN_CONV2D_H */
