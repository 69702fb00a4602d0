/* test_nn_loss.c - every training loss: its value where the answer is
 * known, and a finite-difference check of its gradient. */
#include "test_nn_util.h"

#include "nn/nn.h"

enum { L_CHARB, L_BCE, L_SOBEL, L_SNAP_RGB, L_SNAP_LAB, L_TEMPORAL };

typedef struct loss_ctx {
    int which, N, C, H, W, K;
    float *pred, *gt, *mask, *pal;
    float eps;
} loss_ctx;

static double loss_eval(loss_ctx *c, float *grad, float weight)
{
    size_t n = (size_t)c->N * c->C * c->H * c->W;
    switch (c->which) {
    case L_CHARB:
        return nn_loss_charbonnier(grad, weight, c->pred, c->gt, c->mask, c->N, c->C, c->H, c->W, c->eps);
    case L_BCE: return nn_loss_bce_logits(grad, weight, c->pred, c->gt, n);
    case L_SOBEL: return nn_loss_sobel(grad, weight, c->pred, c->gt, c->N, c->C, c->H, c->W, c->eps);
    case L_SNAP_RGB:
    case L_SNAP_LAB:
        return nn_loss_palette_snap(grad, weight, c->pred, c->pal, c->K, c->mask, c->N, c->H, c->W,
                                    c->which == L_SNAP_LAB ? NN_SPACE_OKLAB : NN_SPACE_RGB);
    default: return nn_loss_temporal(grad, weight, c->pred, c->gt, c->N, c->C, c->H, c->W, c->eps);
    }
}

static double loss_obj(void *p) { return loss_eval(p, NULL, 0.0f); }

static void test_loss_gradcheck(void **state)
{
    (void)state;
    static const char *names[] = {"charbonnier", "bce_logits", "sobel", "palette_snap_rgb",
                                  "palette_snap_oklab", "temporal"};
    uint64_t seed = 21;
    int fails = 0;
    for (int w = L_CHARB; w <= L_TEMPORAL; w++) {
        loss_ctx c = {.which = w, .N = 3, .C = 3, .H = 5, .W = 6, .K = 6, .eps = 1e-2f};
        if (w == L_BCE) c.C = 1;
        size_t n = (size_t)c.N * c.C * c.H * c.W, nm = (size_t)c.N * c.H * c.W;
        c.pred = nt_rand(n, w == L_BCE ? -4.0f : 0.0f, w == L_BCE ? 4.0f : 1.0f, &seed);
        c.gt = nt_rand(n, 0, 1, &seed);
        c.mask = nt_rand(nm, 0, 1, &seed);
        for (size_t i = 0; i < nm; i += 3) c.mask[i] = 0.0f;   /* transparent GT pixels */
        c.pal = nt_rand(3 * (size_t)c.K, 0, 1, &seed);
        float *g = nt_zeros(n);
        /* grad += weight * dL/dpred: check with weight 2 against 2 * numeric */
        loss_eval(&c, g, 2.0f);
        for (size_t i = 0; i < n; i++) g[i] *= 0.5f;
        int kinks = w == L_SNAP_RGB || w == L_SNAP_LAB;
        fails += nt_gradcheck(names[w], c.pred, g, n, loss_obj, &c, 1e-4, 2e-3, 1e-6, 270, kinks);
        free(c.pred); free(c.gt); free(c.mask); free(c.pal); free(g);
    }
    assert_int_equal(fails, 0);
}

static void test_loss_values(void **state)
{
    (void)state;
    uint64_t seed = 22;
    const int N = 2, C = 3, H = 4, W = 5;
    const size_t n = (size_t)N * C * H * W, nm = (size_t)N * H * W;
    float *a = nt_rand(n, 0, 1, &seed), *b = nt_zeros(n), *m = nt_zeros(nm), *g = nt_zeros(n);

    /* Charbonnier: 0 at equality; masked-out pixels count for nothing */
    memcpy(b, a, n * sizeof(float));
    assert_true(nn_loss_charbonnier(g, 1, a, b, NULL, N, C, H, W, 1e-3f) == 0.0);
    for (size_t i = 0; i < nm; i++) m[i] = (i % 2) ? 1.0f : 0.0f;
    for (int nn = 0; nn < N; nn++)
        for (int cc = 0; cc < C; cc++)
            for (int p = 0; p < H * W; p += 2) b[((size_t)nn * C + cc) * H * W + p] += 0.5f;  /* only masked-out */
    assert_true(nn_loss_charbonnier(g, 1, a, b, m, N, C, H, W, 1e-3f) == 0.0);
    for (size_t i = 0; i < n; i++) assert_true(g[i] == 0.0f);
    /* a constant error d gives psi(d) = sqrt(d^2 + eps^2) - eps */
    for (size_t i = 0; i < n; i++) b[i] = a[i] + 0.25f;
    double v = nn_loss_charbonnier(NULL, 1, a, b, NULL, N, C, H, W, 1e-3f);
    assert_true(fabs(v - (sqrt(0.0625 + 1e-6) - 1e-3)) < 1e-6);
    /* an all-zero mask gives 0, no NaN */
    memset(m, 0, nm * sizeof(float));
    assert_true(nn_loss_charbonnier(g, 1, a, b, m, N, C, H, W, 1e-3f) == 0.0);

    /* BCE: logit 0 costs log 2 whatever the target; a confident right answer ~0 */
    float z0[2] = {0, 0}, y0[2] = {0, 1}, z1[2] = {-30, 30};
    assert_true(fabs(nn_loss_bce_logits(NULL, 1, z0, y0, 2) - log(2.0)) < 1e-9);
    assert_true(nn_loss_bce_logits(NULL, 1, z1, y0, 2) < 1e-12);

    /* Sobel: blind to a constant offset, sees an edge */
    for (size_t i = 0; i < n; i++) b[i] = a[i] + 0.3f;
    assert_true(nn_loss_sobel(NULL, 1, a, b, N, C, H, W, 1e-4f) < 1e-6);
    memcpy(b, a, n * sizeof(float));
    b[2 * W + 2] += 1.0f;
    assert_true(nn_loss_sobel(NULL, 1, a, b, N, C, H, W, 1e-4f) > 1e-3);

    /* temporal: blind to an error constant over time, sees flicker */
    for (size_t i = 0; i < n; i++) b[i] = a[i] + 0.2f;   /* N plays T here */
    assert_true(nn_loss_temporal(NULL, 1, a, b, N, C, H, W, 1e-4f) < 1e-6);
    b[n - 1] += 0.5f;
    assert_true(nn_loss_temporal(NULL, 1, a, b, N, C, H, W, 1e-4f) > 1e-3);
    assert_true(nn_loss_temporal(NULL, 1, a, b, 1, C, H, W, 1e-4f) == 0.0);

    /* palette snap: 0 on palette colours, in both spaces */
    const float pal[3 * 3] = {0.1f, 0.2f, 0.3f, 0.9f, 0.5f, 0.0f, 1.0f, 1.0f, 1.0f};
    float img[3 * 4];
    for (int p = 0; p < 4; p++)
        for (int cc = 0; cc < 3; cc++) img[cc * 4 + p] = pal[3 * (p % 3) + cc];
    assert_true(nn_loss_palette_snap(NULL, 1, img, pal, 3, NULL, 1, 2, 2, NN_SPACE_RGB) < 1e-12);
    assert_true(nn_loss_palette_snap(NULL, 1, img, pal, 3, NULL, 1, 2, 2, NN_SPACE_OKLAB) < 1e-12);
    img[0] += 0.1f;   /* off-palette: squared RGB distance 0.01, averaged over 4 pixels */
    assert_true(fabs(nn_loss_palette_snap(NULL, 1, img, pal, 3, NULL, 1, 2, 2, NN_SPACE_RGB) - 0.0025) < 1e-6);

    /* OKLab reference values (Ottosson): white (1, 0, 0); sRGB red
     * (0.62796, 0.22486, 0.12585); black (0, 0, 0) */
    float lab[3];
    const float white[3] = {1, 1, 1}, red[3] = {1, 0, 0}, black[3] = {0, 0, 0};
    nn_srgb_to_oklab(lab, white);
    assert_true(fabsf(lab[0] - 1.0f) < 1e-4f && fabsf(lab[1]) < 1e-4f && fabsf(lab[2]) < 1e-4f);
    nn_srgb_to_oklab(lab, red);
    assert_true(fabsf(lab[0] - 0.62796f) < 1.5e-3f && fabsf(lab[1] - 0.22486f) < 1.5e-3f &&
                fabsf(lab[2] - 0.12585f) < 1.5e-3f);
    nn_srgb_to_oklab(lab, black);
    assert_true(lab[0] == 0.0f && lab[1] == 0.0f && lab[2] == 0.0f);
    free(a); free(b); free(m); free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_gradcheck),
        cmocka_unit_test(test_loss_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
