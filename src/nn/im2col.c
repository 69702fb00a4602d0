/*
 * im2col.c - im2col / col2im for any square kernel, stride and zero
 * padding. Stride 1 copies whole runs with memcpy (the common case); other
 * strides gather element by element. Not a convolution by itself.
 */
#include "nn/im2col.h"

#include <stddef.h>
#include <string.h>

#include "base/common.h"

/* The valid output range [lo, hi) along one axis for kernel offset kk:
 * those o with 0 <= o*stride - pad + kk < n. */
static void valid_range(int *lo, int *hi, int n, int nout, int kk, int stride, int pad)
{
    int a = pad - kk;                               /* need o*stride >= a */
    int l = a <= 0 ? 0 : (a + stride - 1) / stride;
    int b = n + pad - kk;                           /* need o*stride < b */
    int h = b <= 0 ? 0 : (b + stride - 1) / stride;
    if (h > nout) h = nout;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

void nn_im2col(float *col, const float *x, int C, int H, int W, int K,
               int stride, int pad, int y0, int y1)
{
    const int Wo = nn_conv_out(W, K, stride, pad);
    const size_t ncols = (size_t)(y1 - y0) * Wo;

    PF_ASSERT(y0 >= 0 && y1 >= y0 && stride >= 1 && K >= 1);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * ncols;
                int xlo, xhi;
                valid_range(&xlo, &xhi, W, Wo, kx, stride, pad);
                for (int oy = y0; oy < y1; oy++) {
                    float *dst = row + (size_t)(oy - y0) * Wo;
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= H || xlo >= xhi) {
                        memset(dst, 0, sizeof(float) * Wo);
                        continue;
                    }
                    /* x index of output column ox is off + ox * stride */
                    const ptrdiff_t off = (ptrdiff_t)iy * W - pad + kx;
                    for (int ox = 0; ox < xlo; ox++) dst[ox] = 0.0f;
                    if (stride == 1) {
                        memcpy(dst + xlo, xc + off + xlo, sizeof(float) * (xhi - xlo));
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) dst[ox] = xc[off + (ptrdiff_t)ox * stride];
                    }
                    for (int ox = xhi; ox < Wo; ox++) dst[ox] = 0.0f;
                }
            }
        }
    }
}

void nn_col2im(float *dx, const float *dcol, int C, int H, int W, int K,
               int stride, int pad, int y0, int y1)
{
    const int Wo = nn_conv_out(W, K, stride, pad);
    const size_t ncols = (size_t)(y1 - y0) * Wo;

    PF_ASSERT(y0 >= 0 && y1 >= y0 && stride >= 1 && K >= 1);
    for (int c = 0; c < C; c++) {
        float *dxc = dx + (size_t)c * H * W;
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = dcol + ((size_t)(c * K + ky) * K + kx) * ncols;
                int xlo, xhi;
                valid_range(&xlo, &xhi, W, Wo, kx, stride, pad);
                for (int oy = y0; oy < y1; oy++) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= H) continue;
                    const float *src = row + (size_t)(oy - y0) * Wo;
                    const ptrdiff_t off = (ptrdiff_t)iy * W - pad + kx;
                    if (stride == 1) {
                        for (int ox = xlo; ox < xhi; ox++) dxc[off + ox] += src[ox];
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) dxc[off + (ptrdiff_t)ox * stride] += src[ox];
                    }
                }
            }
        }
    }
}
