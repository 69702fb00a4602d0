/*
 * resample.h - layers that only move values: nearest x2 upsampling, pixel
 * unshuffle / shuffle by a factor k (PyTorch's PixelUnshuffle/PixelShuffle
 * channel order), and channel concatenation for U-Net skips.
 */
#ifndef PF_NN_RESAMPLE_H
#define PF_NN_RESAMPLE_H

/* y = nearest-neighbour x2 upsampling of x.
 * y: (N, C, 2H, 2W), overwritten; x: (N, C, H, W). */
void nn_upsample2_forward(float *y, const float *x, int N, int C, int H, int W);
/* dx += sum of dy over each 2x2 block. dx: (N, C, H, W); dy: (N, C, 2H, 2W). */
void nn_upsample2_backward(float *dx, const float *dy, int N, int C, int H, int W);

/* Pixel unshuffle by k: y[n, (c*k + i)*k + j, y, x] = x[n, c, y*k + i, x*k + j].
 * y: (N, C*k*k, H/k, W/k), overwritten; x: (N, C, H, W), H and W multiples of k. */
void nn_pixel_unshuffle_forward(float *y, const float *x, int N, int C, int H, int W, int k);
/* dx += the inverse permutation of dy. dx: (N, C, H, W); dy: (N, C*k*k, H/k, W/k). */
void nn_pixel_unshuffle_backward(float *dx, const float *dy, int N, int C, int H, int W, int k);

/* Pixel shuffle by k, the inverse of unshuffle.
 * y: (N, C, H*k, W*k), overwritten; x: (N, C*k*k, H, W). */
void nn_pixel_shuffle_forward(float *y, const float *x, int N, int C, int H, int W, int k);
/* dx: (N, C*k*k, H, W), accumulated; dy: (N, C, H*k, W*k). */
void nn_pixel_shuffle_backward(float *dx, const float *dy, int N, int C, int H, int W, int k);

/* y = concat(a, b) along channels.
 * y: (N, Ca + Cb, H, W), overwritten; a: (N, Ca, H, W); b: (N, Cb, H, W). */
void nn_concat_forward(float *y, const float *a, const float *b, int N, int Ca, int Cb, int H, int W);
/* da, db (either may be NULL) += the two channel slices of dy. */
void nn_concat_backward(float *da, float *db, const float *dy, int N, int Ca, int Cb, int H, int W);

#endif /* PF_NN_RESAMPLE_H */
