/*
 * im2col.h - unrolls the receptive fields of a convolution into columns so
 * that the convolution becomes one GEMM (the darknet/Caffe layout), and the
 * adjoint col2im that scatters column gradients back to the image.
 *
 * Column layout: row r = (c * K + ky) * K + kx, column j = output pixel
 * (oy - y0) * Wo + ox, so col is (C*K*K, (y1-y0)*Wo) row-major. Only output
 * rows y0..y1-1 are unrolled, which lets a convolution work on cache-sized
 * bands of rows. Padding is zero padding.
 */
#ifndef PF_NN_IM2COL_H
#define PF_NN_IM2COL_H

/* Output size of a convolution along one axis: (n + 2 pad - k) / stride + 1. */
static inline int nn_conv_out(int n, int k, int stride, int pad)
{
    return (n + 2 * pad - k) / stride + 1;
}

/* col = im2col(x) for output rows [y0, y1).
 * col: (C*K*K, (y1-y0)*Wo), overwritten; x: (C, H, W). */
void nn_im2col(float *col, const float *x, int C, int H, int W, int K,
               int stride, int pad, int y0, int y1);

/* dx += col2im(dcol), the adjoint of nn_im2col over the same rows.
 * dx: (C, H, W), accumulated; dcol: (C*K*K, (y1-y0)*Wo). */
void nn_col2im(float *dx, const float *dcol, int C, int H, int W, int K,
               int stride, int pad, int y0, int y1);

#endif /* PF_NN_IM2COL_H */
