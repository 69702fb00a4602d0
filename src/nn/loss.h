/*
 * loss.h - the training losses of the restoration model (docs/architecture.md
 * section 4), each returning its value and accumulating its gradient.
 *
 * Every function returns the loss L (a mean, documented per loss) and, when
 * grad is not NULL, does grad += weight * dL/dpred, so a weighted sum of
 * losses accumulates into one gradient buffer. Colours are 0..1.
 */
#ifndef PF_NN_LOSS_H
#define PF_NN_LOSS_H

#include <stddef.h>

/* Charbonnier penalty psi(d) = sqrt(d^2 + eps^2) - eps: smooth L1 (Barron,
 * "A General and Adaptive Robust Loss Function", 2019, alpha = 1). */

/* Masked Charbonnier on colour: L = sum m * psi(pred - gt) / (C * sum m),
 * the mean over channels and GT-opaque pixels, weighted by GT alpha m.
 * pred, gt, grad: (N, C, H, W); mask: (N, 1, H, W) in 0..1 or NULL (all
 * ones). L = 0 and no gradient when the mask is all zero. */
double nn_loss_charbonnier(float *grad, float weight, const float *pred, const float *gt,
                           const float *mask, int N, int C, int H, int W, float eps);

/* Binary cross-entropy with logits, mean over the n elements:
 * L = mean(max(z, 0) - z y + log(1 + exp(-|z|))), the stable form.
 * grad, logits: (n); target: (n) in 0..1 (GT alpha). */
double nn_loss_bce_logits(float *grad, float weight, const float *logits,
                          const float *target, size_t n);

/* Sobel edge loss: L = mean over (N, C, H, W) of
 * (psi(Sx*(pred-gt)) + psi(Sy*(pred-gt))) / 2, Sx, Sy the 3x3 Sobel
 * kernels with replicate padding. pred, gt, grad: (N, C, H, W). */
double nn_loss_sobel(float *grad, float weight, const float *pred, const float *gt,
                     int N, int C, int H, int W, float eps);

/* Colour space of the palette-snap distance. */
typedef enum nn_space {
    NN_SPACE_RGB = 0,   /* sRGB values as given */
    NN_SPACE_OKLAB = 1  /* OKLab (Ottosson 2020) with a soft cube root */
} nn_space;

/* Palette snap: L = sum m * min_k |f(pred) - f(palette_k)|^2 / sum m, the
 * squared distance from each output colour to the nearest palette colour,
 * f the chosen space. pred, grad: (N, 3, H, W) sRGB; palette: (K, 3) sRGB;
 * mask: (N, 1, H, W) or NULL. K <= 256. The nearest colour is a kink
 * where two are equally near (the gradient follows the lower index). */
double nn_loss_palette_snap(float *grad, float weight, const float *pred,
                            const float *palette, int K, const float *mask,
                            int N, int H, int W, nn_space space);

/* Temporal-difference loss: L = mean over t >= 1 and (C, H, W) of
 * psi((pred_t - pred_{t-1}) - (gt_t - gt_{t-1})); eps -> 0 gives the L1
 * form |d out - d GT|. pred, gt, grad: (T, C, H, W); L = 0 when T < 2. */
double nn_loss_temporal(float *grad, float weight, const float *pred, const float *gt,
                        int T, int C, int H, int W, float eps);

/* sRGB 0..1 -> OKLab with the soft cube root the loss uses (a helper for
 * callers that want the same distances). lab, rgb: (3). */
void nn_srgb_to_oklab(float lab[3], const float rgb[3]);

#endif /* PF_NN_LOSS_H */
