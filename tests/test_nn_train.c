/* test_nn_train.c - the whole tiny U-Net with both temporal mixers:
 * finite-difference gradients for its input and every parameter tensor;
 * AdamW and its schedule; the model file round trip; and a seeded,
 * deterministic training smoke test whose loss must fall. */
#include "test_nn_util.h"

#include "nn/nn.h"

typedef struct net_ctx {
    nn_params p;
    nn_unet u;
    float *x, *c;
    size_t nx, ny;
} net_ctx;

static double net_obj(void *v)
{
    net_ctx *k = v;
    const float *y = nn_unet_forward(&k->u, k->x);
    return nt_dot(y, k->c, k->ny);
}

static void net_make(net_ctx *k, const nn_unet_cfg *cfg, int T, int H, int W, uint64_t seed)
{
    nn_rng r;
    memset(k, 0, sizeof *k);
    assert_int_equal(nn_unet_build(&k->u, &k->p, cfg), PF_OK);
    assert_int_equal(nn_params_alloc(&k->p), PF_OK);
    assert_int_equal(nn_params_alloc_grad(&k->p), PF_OK);
    nn_rng_seed(&r, seed);
    nn_params_init(&k->p, &r);
    assert_int_equal(nn_unet_plan(&k->u, T, H, W, 1), PF_OK);
    k->nx = (size_t)T * cfg->in_ch * H * W;
    k->ny = (size_t)T * cfg->out_ch * H * W;
}

static void net_free(net_ctx *k)
{
    nn_unet_free(&k->u);
    nn_params_free(&k->p);
    free(k->x);
    free(k->c);
}

/* Gradient check of the whole network: the input, and (params) a sample
 * of every parameter tensor, so each layer's parameter gradient is
 * exercised. Parameters are checked with smooth activations: with
 * LeakyReLU a weight or bias step moves whole channels of units across the
 * kink, which no finite difference survives; LeakyReLU nets are checked
 * on the input (few units per step) with kink skipping, and the kink
 * itself in test_nn_ops. */
static int unet_gradcheck(const char *name, nn_unet_cfg cfg, int kinks, int params, uint64_t seed)
{
    net_ctx k;
    const int T = 3, H = 8, W = 8;
    int fails = 0;
    net_make(&k, &cfg, T, H, W, seed);
    /* non-zero biases and temporal taps so no path is trivially dead */
    uint64_t s = seed;
    for (size_t i = 0; i < k.p.total; i++) k.p.data[i] += 0.05f * (float)(tu_uniform(&s) - 0.5);
    k.x = nt_rand(k.nx, -1, 1, &s);
    k.c = nt_rand(k.ny, -1, 1, &s);
    float *dx = nt_zeros(k.nx);
    nn_params_zero_grad(&k.p);
    nn_unet_forward(&k.u, k.x);
    nn_unet_backward(&k.u, dx, k.c);
    /* the second backward accumulates: gradients double (up to rounding:
     * the sums run in another order) */
    float *g1 = malloc(k.p.total * sizeof(float));
    memcpy(g1, k.p.grad, k.p.total * sizeof(float));
    nn_unet_forward(&k.u, k.x);
    nn_unet_backward(&k.u, NULL, k.c);
    for (size_t i = 0; i < k.p.total; i++)
        if (!(fabsf(k.p.grad[i] - 2 * g1[i]) <= 1e-5f * (1 + fabsf(g1[i])))) fails++;
    memcpy(k.p.grad, g1, k.p.total * sizeof(float));
    free(g1);

    char nm[128];
    snprintf(nm, sizeof nm, "%s:input", name);
    /* with LeakyReLU every perturbation moves some unit across its kink:
     * a smaller step keeps those rare (and the kink test skips them) */
    const double h = kinks ? 2e-3 : 1e-2, rtol = kinks ? 2e-2 : 1e-2, atol = kinks ? 2e-3 : 1e-3;
    fails += nt_gradcheck(nm, k.x, dx, k.nx, net_obj, &k, h, rtol, atol, 150, kinks);
    for (int i = 0; params && i < k.p.n; i++) {
        snprintf(nm, sizeof nm, "%s:%s", name, k.p.t[i].name);
        fails += nt_gradcheck(nm, nn_param_data(&k.p, i), nn_param_grad(&k.p, i), k.p.t[i].numel,
                              net_obj, &k, h, rtol, atol, 8, kinks);
    }
    free(dx);
    net_free(&k);
    return fails;
}

static nn_unet_cfg tiny_cfg(nn_mixer mixer, nn_act act)
{
    nn_unet_cfg c = nn_unet_default_cfg();
    c.in_ch = 3;
    c.out_ch = 4;
    c.levels = 3;
    c.ch[0] = 3; c.ch[1] = 4; c.ch[2] = 5;
    c.mixer = mixer;
    c.act = act;
    return c;
}

static void test_unet_gradcheck(void **state)
{
    (void)state;
    int fails = 0;
    nn_unet_cfg c = tiny_cfg(NN_MIX_CONVGRU, NN_ACT_SILU);
    fails += unet_gradcheck("unet_gru_silu", c, 0, 1, 31);
    c = tiny_cfg(NN_MIX_TCONV, NN_ACT_SILU);
    c.tk = 5;
    c.tpad = NN_TPAD_ZERO;
    fails += unet_gradcheck("unet_tconv5_silu", c, 0, 1, 32);
    c = tiny_cfg(NN_MIX_BICONVGRU, NN_ACT_TANH);
    fails += unet_gradcheck("unet_bigru_tanh", c, 0, 1, 33);
    c = tiny_cfg(NN_MIX_CONVGRU, NN_ACT_LEAKY);
    fails += unet_gradcheck("unet_gru_leaky", c, 1, 0, 34);
    c = tiny_cfg(NN_MIX_TCONV, NN_ACT_SILU);
    c.levels = 2;
    c.skip_tconv = 0;
    fails += unet_gradcheck("unet_tconv_2lvl_noskip_silu", c, 0, 1, 35);
    c = tiny_cfg(NN_MIX_BICONVGRU, NN_ACT_SILU);
    c.res_blocks = 2;
    fails += unet_gradcheck("unet_bigru_2res_silu", c, 0, 1, 36);
    assert_int_equal(fails, 0);
}

/* ---- AdamW and the schedule -------------------------------------------------- */

static void test_adamw(void **state)
{
    (void)state;
    nn_adamw_cfg cfg = nn_adamw_default();
    cfg.lr = 1e-2f;
    cfg.lr_min = 1e-4f;
    cfg.warmup = 10;
    cfg.total = 110;
    /* warm-up is linear, the cosine runs from lr to lr_min */
    assert_true(fabsf(nn_lr_at(&cfg, 0) - 1e-3f) < 1e-9f);
    assert_true(fabsf(nn_lr_at(&cfg, 9) - 1e-2f) < 1e-9f);
    assert_true(fabsf(nn_lr_at(&cfg, 10) - 1e-2f) < 1e-9f);
    assert_true(fabsf(nn_lr_at(&cfg, 60) - (1e-2f + 1e-4f) / 2) < 1e-7f);
    assert_true(fabsf(nn_lr_at(&cfg, 110) - 1e-4f) < 1e-9f);
    assert_true(fabsf(nn_lr_at(&cfg, 5000) - 1e-4f) < 1e-9f);
    for (int s = 11; s < 110; s++) assert_true(nn_lr_at(&cfg, s) <= nn_lr_at(&cfg, s - 1));

    /* first step: bias-corrected Adam moves each weight by lr * sign(g),
     * plus decoupled decay on weights only; the update subtracts */
    nn_params p;
    const int sw[1] = {3}, sb[1] = {2};
    memset(&p, 0, sizeof p);
    int iw = nn_params_add(&p, "w", 1, sw, NN_INIT_ZERO, 0, 1);
    int ib = nn_params_add(&p, "b", 1, sb, NN_INIT_ZERO, 0, 0);
    assert_int_equal(nn_params_alloc(&p), PF_OK);
    assert_int_equal(nn_params_alloc_grad(&p), PF_OK);
    float *w = nn_param_data(&p, iw), *b = nn_param_data(&p, ib);
    float *gw = nn_param_grad(&p, iw), *gb = nn_param_grad(&p, ib);
    w[0] = 1; w[1] = -2; w[2] = 0.5f; b[0] = 1; b[1] = -1;
    gw[0] = 0.3f; gw[1] = -0.2f; gw[2] = 0.0f; gb[0] = 0.1f; gb[1] = -0.4f;
    cfg.weight_decay = 0.1f;
    cfg.clip_norm = 0;
    nn_adamw o;
    nn_adamw_init(&o, &cfg);
    assert_int_equal(nn_adamw_step(&o, &p), PF_OK);
    const float lr = 1e-3f, dec = 1 - lr * 0.1f;
    assert_true(fabsf(w[0] - (1 * dec - lr)) < 1e-6f);
    assert_true(fabsf(w[1] - (-2 * dec + lr)) < 1e-6f);
    assert_true(fabsf(w[2] - 0.5f * dec) < 1e-6f);
    assert_true(fabsf(b[0] - (1 - lr)) < 1e-6f);
    assert_true(fabsf(b[1] - (-1 + lr)) < 1e-6f);
    assert_int_equal(o.step, 1);
    assert_true(fabs(o.grad_norm - sqrt(0.09 + 0.04 + 0.01 + 0.16)) < 1e-6);

    /* clipping scales the gradient: with clip 0.1 the first moment is 1/norm as big */
    nn_adamw o2;
    cfg.clip_norm = 0.1f;
    nn_adamw_init(&o2, &cfg);
    memset(p.m, 0, p.total * sizeof(float));
    memset(p.v, 0, p.total * sizeof(float));
    assert_int_equal(nn_adamw_step(&o2, &p), PF_OK);
    double norm = sqrt(0.3);
    assert_true(fabsf(nn_param_data(&p, iw)[0] * 0 + p.m[p.t[iw].offset] - (float)(0.1 * 0.3 * 0.1 / norm)) < 1e-7f);
    /* a NaN gradient skips the step */
    gw[0] = NAN;
    float keep = w[1];
    assert_int_equal(nn_adamw_step(&o2, &p), PF_EINVAL);
    assert_true(w[1] == keep);
    assert_int_equal(o2.step, 1);
    nn_params_free(&p);
}

/* ---- model file ---------------------------------------------------------------- */

static void test_unet_file(void **state)
{
    (void)state;
    char dir[256], path[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/unet.safetensors", dir);
    nn_unet_cfg c = tiny_cfg(NN_MIX_BICONVGRU, NN_ACT_LEAKY);
    c.tk = 5;
    net_ctx a, b;
    net_make(&a, &c, 2, 8, 8, 41);
    uint64_t s = 42;
    a.x = nt_rand(a.nx, 0, 1, &s);
    nn_kv kv[NN_UNET_META_MAX];
    char store[NN_UNET_META_STORE];
    int n = nn_unet_cfg_to_meta(&c, kv, store);
    assert_int_equal(nn_weights_save(&a.p, path, kv, n, NN_DT_F32, 0, NULL), PF_OK);

    /* what a loader does: metadata -> configuration -> table -> values */
    nn_st st;
    nn_unet_cfg c2;
    assert_int_equal(nn_st_read_file(&st, path, 0, NULL), NN_WOK);
    assert_int_equal(nn_unet_cfg_from_st(&c2, &st, NULL), PF_OK);
    assert_memory_equal(&c, &c2, sizeof c);
    net_make(&b, &c2, 2, 8, 8, 43);
    assert_int_equal(nn_weights_from_st(&b.p, &st, 0, NULL), NN_WOK);
    nn_st_free(&st);
    const float *ya = nn_unet_forward(&a.u, a.x);
    const float *yb = nn_unet_forward(&b.u, a.x);
    assert_memory_equal(ya, yb, a.ny * sizeof(float));

    /* a model file from another configuration is rejected */
    nn_unet_cfg c3 = c;
    c3.ch[2] = 6;
    net_ctx d;
    net_make(&d, &c3, 2, 8, 8, 44);
    nn_werr why;
    assert_int_equal(nn_weights_load(&d.p, path, 0, 0, &why, NULL), PF_EMODEL);
    assert_int_equal(why, NN_WERR_SHAPE);
    net_free(&a);
    net_free(&b);
    net_free(&d);
    tu_rmtree(dir);
}

/* ---- training smoke test ------------------------------------------------------------ */

/* Toy task: from a (T, 3, H, W) clip of noisy frames around a still
 * image, predict the image (RGB, Charbonnier) and its "alpha" (the image's
 * mean brightness > 0.5, BCE) - a denoising job that needs the frames
 * mixed over time. Returns the mean loss of the first and last 10 steps
 * and leaves the final parameters in final (p.total floats). */
#define SMOKE_STEPS 200
static void smoke_run(double *first, double *last, float **final, size_t *nparams)
{
    const int T = 4, H = 16, W = 16, NCLIP = 4;
    nn_unet_cfg c = tiny_cfg(NN_MIX_CONVGRU, NN_ACT_LEAKY);
    c.ch[0] = 8; c.ch[1] = 12; c.ch[2] = 16;
    net_ctx k;
    net_make(&k, &c, T, H, W, 51);
    const size_t fr = (size_t)H * W, nx = (size_t)T * 3 * fr, ny = (size_t)T * 4 * fr;
    float *x[4], *gt[4], *alpha[4];
    uint64_t s = 52;
    for (int i = 0; i < NCLIP; i++) {
        x[i] = nt_zeros(nx); gt[i] = nt_zeros(nx); alpha[i] = nt_zeros((size_t)T * fr);
        float *img = nt_rand(3 * fr, 0, 1, &s);
        for (int t = 0; t < T; t++)
            for (size_t j = 0; j < 3 * fr; j++) {
                gt[i][t * 3 * fr + j] = img[j];
                x[i][t * 3 * fr + j] = img[j] + 0.3f * (float)(tu_uniform(&s) - 0.5);
            }
        for (int t = 0; t < T; t++)
            for (size_t j = 0; j < fr; j++)
                alpha[i][t * fr + j] = (img[j] + img[fr + j] + img[2 * fr + j]) > 1.5f ? 1.0f : 0.0f;
        free(img);
    }
    nn_adamw_cfg oc = nn_adamw_default();
    oc.lr = 1e-2f;
    oc.warmup = 10;
    oc.total = SMOKE_STEPS;
    oc.lr_min = 1e-4f;
    nn_adamw opt;
    nn_adamw_init(&opt, &oc);
    float *dy = nt_zeros(ny), *rgb = nt_zeros(nx), *drgb = nt_zeros(nx), *logit = nt_zeros((size_t)T * fr),
          *dlogit = nt_zeros((size_t)T * fr);
    *first = *last = 0;
    for (int step = 0; step < SMOKE_STEPS; step++) {
        int i = step % NCLIP;
        const float *y = nn_unet_forward(&k.u, x[i]);
        /* split (T, 4, H, W) into RGB (T, 3, H, W) and alpha logits (T, 1, H, W) */
        for (int t = 0; t < T; t++) {
            memcpy(rgb + t * 3 * fr, y + t * 4 * fr, 3 * fr * sizeof(float));
            memcpy(logit + t * fr, y + t * 4 * fr + 3 * fr, fr * sizeof(float));
        }
        memset(drgb, 0, nx * sizeof(float));
        memset(dlogit, 0, (size_t)T * fr * sizeof(float));
        double loss = nn_loss_charbonnier(drgb, 1.0f, rgb, gt[i], NULL, T, 3, H, W, 1e-3f) +
                      0.1 * nn_loss_bce_logits(dlogit, 0.1f, logit, alpha[i], (size_t)T * fr);
        for (int t = 0; t < T; t++) {
            memcpy(dy + t * 4 * fr, drgb + t * 3 * fr, 3 * fr * sizeof(float));
            memcpy(dy + t * 4 * fr + 3 * fr, dlogit + t * fr, fr * sizeof(float));
        }
        nn_params_zero_grad(&k.p);
        nn_unet_backward(&k.u, NULL, dy);
        assert_int_equal(nn_adamw_step(&opt, &k.p), PF_OK);
        if (step < 10) *first += loss / 10;
        if (step >= SMOKE_STEPS - 10) *last += loss / 10;
    }
    *nparams = k.p.total;
    *final = malloc(k.p.total * sizeof(float));
    memcpy(*final, k.p.data, k.p.total * sizeof(float));
    for (int i = 0; i < NCLIP; i++) { free(x[i]); free(gt[i]); free(alpha[i]); }
    free(dy); free(rgb); free(drgb); free(logit); free(dlogit);
    net_free(&k);
}

static void test_train_smoke(void **state)
{
    (void)state;
    double f1, l1, f2, l2;
    float *p1, *p2;
    size_t n1, n2;
    smoke_run(&f1, &l1, &p1, &n1);
    fprintf(stderr, "train smoke: mean loss of steps 1-10 %.5f, of steps %d-%d %.5f (%.1fx lower)\n",
            f1, SMOKE_STEPS - 9, SMOKE_STEPS, l1, f1 / l1);
    /* the stated target: the loss falls at least 4x in 200 AdamW steps */
    assert_true(l1 * 4 < f1);
    /* seeded and deterministic: a second run is bit-identical */
    smoke_run(&f2, &l2, &p2, &n2);
    assert_true(f1 == f2 && l1 == l2);
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1 * sizeof(float));
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a of the final parameters */
    for (size_t i = 0; i < n1 * sizeof(float); i++) h = (h ^ ((const uint8_t *)p1)[i]) * 1099511628211ULL;
    fprintf(stderr, "train smoke: final parameters hash %016llx\n", (unsigned long long)h);
    free(p1);
    free(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unet_gradcheck),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_unet_file),
        cmocka_unit_test(test_train_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
