/*
 * conv_direct.h - forward stride-1 pad-1 convolutions with 3x3 kernels, and
 * the 2x2 ones of the decoder's upsampling phases, as a direct (implicit
 * GEMM) kernel: no im2col, no packing. The U-Net spends most of its time
 * in these layers, whose 32..96 output channels are too few for sgemm to
 * reach its peak (bench/report.md). x86-64 with AVX2 and FMA, or AVX-512F;
 * elsewhere nn_conv_direct_available() is 0 and conv2d.c uses im2col +
 * sgemm.
 *
 * Every output is one accumulator summed over (c, ky, kx) in that order
 * and written by exactly one task, so the result does not depend on the
 * thread count; it differs from the im2col + sgemm sum by rounding only.
 */
#ifndef PF_NN_CONV_DIRECT_H
#define PF_NN_CONV_DIRECT_H

#include <stddef.h>

/* 1 when this CPU runs the direct kernel (AVX2 + FMA or AVX-512F) and the
 * limit below allows it, else 0. */
int nn_conv_direct_available(void);

/* Instruction sets of the kernel, narrowest first. */
enum nn_direct_isa { NN_DIRECT_NONE, NN_DIRECT_AVX2, NN_DIRECT_AVX512 };

/* Lets the direct kernel use at most `isa` (NN_DIRECT_NONE: im2col +
 * sgemm for every convolution) and returns the widest this CPU has. For
 * tests and benchmarks that compare the paths: process-wide, so call it
 * while no convolution runs. The default is the widest. */
int nn_conv_direct_limit(int isa);

/* Floats of workspace nn_conv_direct needs at least for input (C, H, W):
 * a zero-padded copy of 1 row band (more workspace makes taller bands). */
size_t nn_conv_direct_ws_floats(int C, int H, int W);

/* y = act(conv(x, w) + b) (acc = 0; b may be NULL; act LeakyReLU with
 * NN_LEAKY_SLOPE when leaky, else none), or y += conv(x, w) (acc = 1, b
 * ignored, leaky 0); K x K kernel, K = 2 or 3, stride 1, zero padding 1, so
 * y is (OC, H + 3 - K, W + 3 - K) (as PyTorch's Conv2d).
 * x: (C, H, W) one frame, NCHW; w: (OC, C, K, K);
 * ws: ws_floats >= nn_conv_direct_ws_floats(C, H, W) floats of scratch.
 * Splits the work over the pool bound to the calling thread (gemm.h).
 * Call only when nn_conv_direct_available(). */
void nn_conv_direct(float *y, const float *x, const float *w, const float *b, int acc, int leaky,
                    float *ws, size_t ws_floats, int C, int H, int W, int OC, int K);

#endif /* PF_NN_CONV_DIRECT_H */
