/*
 * loss.c - losses with their gradients. Sums are accumulated in double so
 * the value does not depend on the size of the image beyond rounding.
 */
#include "nn/loss.h"

#include <math.h>
#include <string.h>

#include "base/common.h"

static inline double charb(double d, double eps) { return sqrt(d * d + eps * eps) - eps; }
static inline double charb_d(double d, double eps)
{
    double s = sqrt(d * d + eps * eps);
    return s > 0.0 ? d / s : 0.0;
}

double nn_loss_charbonnier(float *grad, float weight, const float *pred, const float *gt,
                           const float *mask, int N, int C, int H, int W, float eps)
{
    const size_t hw = (size_t)H * W;
    double msum = 0.0, acc = 0.0;

    for (int n = 0; n < N; n++)
        for (size_t p = 0; p < hw; p++) msum += mask ? mask[n * hw + p] : 1.0;
    if (msum <= 0.0) return 0.0;
    const double norm = 1.0 / (msum * C);
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            size_t base = ((size_t)n * C + c) * hw;
            for (size_t p = 0; p < hw; p++) {
                double m = mask ? mask[n * hw + p] : 1.0;
                if (m == 0.0) continue;
                double d = (double)pred[base + p] - gt[base + p];
                acc += m * charb(d, eps);
                if (grad) grad[base + p] += (float)(weight * m * charb_d(d, eps) * norm);
            }
        }
    }
    return acc * norm;
}

double nn_loss_bce_logits(float *grad, float weight, const float *logits,
                          const float *target, size_t n)
{
    double acc = 0.0;
    if (n == 0) return 0.0;
    for (size_t i = 0; i < n; i++) {
        double z = logits[i], y = target[i];
        acc += (z > 0.0 ? z : 0.0) - z * y + log1p(exp(-fabs(z)));
        if (grad) {
            double s = z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
            grad[i] += (float)(weight * (s - y) / (double)n);
        }
    }
    return acc / (double)n;
}

/* ---- Sobel ---------------------------------------------------------- */

static const int sobel_x[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
static const int sobel_y[3][3] = {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}};

double nn_loss_sobel(float *grad, float weight, const float *pred, const float *gt,
                     int N, int C, int H, int W, float eps)
{
    const size_t hw = (size_t)H * W;
    const double norm = 1.0 / (2.0 * N * C * (double)hw);
    double acc = 0.0;

    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float *o = pred + plane * hw, *g = gt + plane * hw;
        float *gr = grad ? grad + plane * hw : NULL;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                size_t idx[3][3];
                double gx = 0.0, gy = 0.0;
                for (int dy = 0; dy < 3; dy++)
                    for (int dx = 0; dx < 3; dx++) {
                        int yy = pfi_clampi(y + dy - 1, 0, H - 1), xx = pfi_clampi(x + dx - 1, 0, W - 1);
                        size_t i = (size_t)yy * W + xx;
                        double e = (double)o[i] - g[i];
                        idx[dy][dx] = i;
                        gx += sobel_x[dy][dx] * e;
                        gy += sobel_y[dy][dx] * e;
                    }
                acc += charb(gx, eps) + charb(gy, eps);
                if (!gr) continue;
                /* adjoint of the clamped 3x3 gather: scatter to the same taps */
                double ax = weight * norm * charb_d(gx, eps), ay = weight * norm * charb_d(gy, eps);
                for (int dy = 0; dy < 3; dy++)
                    for (int dx = 0; dx < 3; dx++)
                        gr[idx[dy][dx]] += (float)(ax * sobel_x[dy][dx] + ay * sobel_y[dy][dx]);
            }
        }
    }
    return acc * norm;
}

/* ---- OKLab ----------------------------------------------------------- */

/* linear sRGB -> LMS and cbrt(LMS) -> Lab (Ottosson, "A perceptual colour
 * space for image processing", 2020) */
static const double M1[3][3] = {{0.4122214708, 0.5363325363, 0.0514459929},
                                {0.2119034982, 0.6806995451, 0.1073969566},
                                {0.0883024619, 0.2817188376, 0.6299787005}};
static const double M2[3][3] = {{0.2104542553, 0.7936177850, -0.0040720468},
                                {1.9779984951, -2.4285922050, 0.4505937099},
                                {0.0259040371, 0.7827717662, -0.8086757660}};

/* The soft cube root sign(u) (cbrt(|u| + d) - cbrt(d)) / (cbrt(1 + d) - cbrt(d)):
 * within 0.001 of cbrt on 0..1, exact at 0 and 1 (so white stays L = 1),
 * but with a finite slope at 0, so gradients near black stay bounded. */
#define SOFT_CBRT_D 1e-9

static double soft_cbrt(double u, double *deriv)
{
    const double c0 = cbrt(SOFT_CBRT_D), scale = 1.0 / (cbrt(1.0 + SOFT_CBRT_D) - c0);
    double a = fabs(u) + SOFT_CBRT_D, c = cbrt(a);
    if (deriv) *deriv = scale / (3.0 * c * c);
    if (u == 0.0) return 0.0;   /* exact, whatever the rounding of c0 */
    return (u < 0.0 ? -1.0 : 1.0) * (c - c0) * scale;
}

/* sRGB transfer (IEC 61966-2-1), odd-extended below 0. */
static double srgb_lin(double v, double *deriv)
{
    double a = fabs(v), s = v < 0.0 ? -1.0 : 1.0, r, d;
    if (a <= 0.04045) {
        r = a / 12.92;
        d = 1.0 / 12.92;
    } else {
        r = pow((a + 0.055) / 1.055, 2.4);
        d = 2.4 / 1.055 * pow((a + 0.055) / 1.055, 1.4);
    }
    if (deriv) *deriv = d;
    return s * r;
}

/* lab = f(rgb); with jac != NULL also the 3x3 Jacobian d lab / d rgb. */
static void oklab_jac(double lab[3], double jac[3][3], const double rgb[3])
{
    double lin[3], dlin[3], lms[3], cl[3], dcl[3];
    for (int i = 0; i < 3; i++) lin[i] = srgb_lin(rgb[i], &dlin[i]);
    for (int i = 0; i < 3; i++) {
        lms[i] = M1[i][0] * lin[0] + M1[i][1] * lin[1] + M1[i][2] * lin[2];
        cl[i] = soft_cbrt(lms[i], &dcl[i]);
    }
    for (int i = 0; i < 3; i++) lab[i] = M2[i][0] * cl[0] + M2[i][1] * cl[1] + M2[i][2] * cl[2];
    if (!jac) return;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0.0;
            for (int k = 0; k < 3; k++) s += M2[i][k] * dcl[k] * M1[k][j];
            jac[i][j] = s * dlin[j];
        }
}

void nn_srgb_to_oklab(float lab[3], const float rgb[3])
{
    double in[3] = {rgb[0], rgb[1], rgb[2]}, out[3];
    oklab_jac(out, NULL, in);
    for (int i = 0; i < 3; i++) lab[i] = (float)out[i];
}

double nn_loss_palette_snap(float *grad, float weight, const float *pred,
                            const float *palette, int K, const float *mask,
                            int N, int H, int W, nn_space space)
{
    const size_t hw = (size_t)H * W;
    double pal[256][3], msum = 0.0, acc = 0.0;

    PF_ASSERT(K >= 1 && K <= 256);
    for (int k = 0; k < K; k++) {
        double c[3] = {palette[3 * k], palette[3 * k + 1], palette[3 * k + 2]};
        if (space == NN_SPACE_OKLAB) oklab_jac(pal[k], NULL, c);
        else memcpy(pal[k], c, sizeof c);
    }
    for (int n = 0; n < N; n++)
        for (size_t p = 0; p < hw; p++) msum += mask ? mask[n * hw + p] : 1.0;
    if (msum <= 0.0) return 0.0;
    for (int n = 0; n < N; n++) {
        const float *o = pred + (size_t)n * 3 * hw;
        for (size_t p = 0; p < hw; p++) {
            double m = mask ? mask[n * hw + p] : 1.0;
            if (m == 0.0) continue;
            double rgb[3] = {o[p], o[hw + p], o[2 * hw + p]}, v[3], jac[3][3];
            if (space == NN_SPACE_OKLAB) oklab_jac(v, grad ? jac : NULL, rgb);
            else memcpy(v, rgb, sizeof v);
            int best = 0;
            double bd = INFINITY;
            for (int k = 0; k < K; k++) {
                double d0 = v[0] - pal[k][0], d1 = v[1] - pal[k][1], d2 = v[2] - pal[k][2];
                double d = d0 * d0 + d1 * d1 + d2 * d2;
                if (d < bd) { bd = d; best = k; }
            }
            acc += m * bd;
            if (!grad) continue;
            double gv[3], s = weight * m * 2.0 / msum;
            for (int i = 0; i < 3; i++) gv[i] = s * (v[i] - pal[best][i]);
            float *gp = grad + (size_t)n * 3 * hw + p;
            for (int j = 0; j < 3; j++) {
                double gj = gv[j];
                if (space == NN_SPACE_OKLAB)
                    gj = gv[0] * jac[0][j] + gv[1] * jac[1][j] + gv[2] * jac[2][j];
                gp[j * hw] += (float)gj;
            }
        }
    }
    return acc / msum;
}

double nn_loss_temporal(float *grad, float weight, const float *pred, const float *gt,
                        int T, int C, int H, int W, float eps)
{
    const size_t fr = (size_t)C * H * W;
    double acc = 0.0;
    if (T < 2) return 0.0;
    const double norm = 1.0 / ((double)(T - 1) * fr);
    for (int t = 1; t < T; t++) {
        const float *o1 = pred + t * fr, *o0 = o1 - fr, *g1 = gt + t * fr, *g0 = g1 - fr;
        for (size_t i = 0; i < fr; i++) {
            double d = ((double)o1[i] - o0[i]) - ((double)g1[i] - g0[i]);
            acc += charb(d, eps);
            if (grad) {
                float gd = (float)(weight * norm * charb_d(d, eps));
                grad[t * fr + i] += gd;
                grad[(t - 1) * fr + i] -= gd;
            }
        }
    }
    return acc * norm;
}
