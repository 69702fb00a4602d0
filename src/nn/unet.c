/*
 * unet.c - the temporal U-Net (see unet.h): building its parameter table,
 * laying out its activations once per shape, forward and backward. It
 * composes the layers of src/nn/ and computes nothing itself beyond
 * residual sums.
 */
#include "nn/unet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "nn/conv2d.h"
#include "nn/resample.h"

nn_unet_cfg nn_unet_default_cfg(void)
{
    nn_unet_cfg c = {
        .in_ch = 67, .out_ch = 4, .levels = 3, .ch = {32, 64, 96, 0},
        .mixer = NN_MIX_CONVGRU, .gru_k = 3, .tk = 3, .tpad = NN_TPAD_REPLICATE,
        .skip_tconv = 1, .act = NN_ACT_LEAKY, .res_blocks = 1,
    };
    return c;
}

/* ---- building ------------------------------------------------------------ */

static float act_gain(nn_act a)
{
    if (a == NN_ACT_LEAKY) return sqrtf(2.0f / (1.0f + NN_LEAKY_SLOPE * NN_LEAKY_SLOPE));
    if (a == NN_ACT_SILU) return sqrtf(2.0f);
    return 1.0f;
}

static int add_conv(nn_unet_conv *c, nn_params *p, const char *name, int cin, int cout,
                    int k, int stride, float gain)
{
    char nm[NN_NAME_MAX];
    int ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    c->cin = cin; c->cout = cout; c->k = k; c->stride = stride;
    snprintf(nm, sizeof nm, "%s.weight", name);
    c->w = nn_params_add(p, nm, 4, ws, NN_INIT_KAIMING, gain, 1);
    if (c->w < 0) return c->w;
    snprintf(nm, sizeof nm, "%s.bias", name);
    c->b = nn_params_add(p, nm, 1, bs, NN_INIT_ZERO, 0.0f, 0);
    return c->b;
}

/* Residual block b of a level: <side>.<l>.res.conv1/2, res<b> for b > 0. */
static int add_res(nn_unet_conv *c1, nn_unet_conv *c2, nn_params *p, const char *side, int l, int b,
                   int c, float g)
{
    char nm[64], blk[16] = "res";
    if (b) snprintf(blk, sizeof blk, "res%d", b);
    snprintf(nm, sizeof nm, "%s.%d.%s.conv1", side, l, blk);
    int rc = add_conv(c1, p, nm, c, c, 3, 1, g);
    snprintf(nm, sizeof nm, "%s.%d.%s.conv2", side, l, blk);
    return rc >= 0 ? add_conv(c2, p, nm, c, c, 3, 1, g) : rc;
}

static int add_tconv(int *w, int *b, nn_params *p, const char *name, int C, int k)
{
    char nm[NN_NAME_MAX];
    int ws[2] = {C, k}, bs[1] = {C};
    snprintf(nm, sizeof nm, "%s.weight", name);
    *w = nn_params_add(p, nm, 2, ws, NN_INIT_DIRAC, 0.0f, 1);
    if (*w < 0) return *w;
    snprintf(nm, sizeof nm, "%s.bias", name);
    *b = nn_params_add(p, nm, 1, bs, NN_INIT_ZERO, 0.0f, 0);
    return *b;
}

static int add_gru(int idx[4], nn_params *p, const char *name, int C, int k)
{
    static const char *const part[4] = {"wx", "bx", "wh", "wn"};
    int shapes[4][4] = {{3 * C, C, k, k}, {3 * C}, {2 * C, C, k, k}, {C, C, k, k}};
    int ndim[4] = {4, 1, 4, 4};
    for (int i = 0; i < 4; i++) {
        char nm[NN_NAME_MAX];
        snprintf(nm, sizeof nm, "%s.%s", name, part[i]);
        idx[i] = nn_params_add(p, nm, ndim[i], shapes[i], i == 1 ? NN_INIT_ZERO : NN_INIT_KAIMING,
                               1.0f, i != 1);
        if (idx[i] < 0) return idx[i];
    }
    return 0;
}

/* Largest kernel side accepted (far above any useful one): with widths <=
 * 4096 it keeps the layers' C k k and C k products in int whatever a model
 * file claims. */
#define UNET_MAX_KERNEL 63

static int cfg_ok(const nn_unet_cfg *c)
{
    if (c->in_ch < 1 || c->out_ch < 1 || c->levels < 1 || c->levels > NN_UNET_MAX_LEVELS) return 0;
    for (int l = 0; l < c->levels; l++)
        if (c->ch[l] < 1 || c->ch[l] > 4096) return 0;
    if (c->gru_k < 1 || !(c->gru_k & 1) || c->tk < 1 || !(c->tk & 1) || c->gru_k > UNET_MAX_KERNEL ||
        c->tk > UNET_MAX_KERNEL)
        return 0;
    if (c->mixer < NN_MIX_CONVGRU || c->mixer > NN_MIX_TCONV) return 0;
    if (c->tpad != NN_TPAD_ZERO && c->tpad != NN_TPAD_REPLICATE) return 0;
    if ((int)c->act < NN_ACT_NONE || c->act > NN_ACT_TANH) return 0;
    if (c->res_blocks < 1 || c->res_blocks > NN_UNET_MAX_RES) return 0;
    return 1;
}

pf_status nn_unet_build(nn_unet *u, nn_params *p, const nn_unet_cfg *cfg)
{
    const int L = cfg->levels;
    const float g = act_gain(cfg->act);
    char nm[64];
    int rc = 0;

    memset(u, 0, sizeof *u);
    if (!cfg_ok(cfg)) return PF_EINVAL;
    u->cfg = *cfg;
    u->p = p;
    for (int l = 0; l < L && rc >= 0; l++) {
        nn_unet_level *v = &u->lev[l];
        int cin = l ? cfg->ch[l - 1] : cfg->in_ch, c = cfg->ch[l];
        snprintf(nm, sizeof nm, "enc.%d.conv", l);
        rc = add_conv(&v->enc, p, nm, cin, c, 3, l ? 2 : 1, g);
        for (int b = 0; b < cfg->res_blocks && rc >= 0; b++)
            rc = add_res(&v->res1[b], &v->res2[b], p, "enc", l, b, c, g);
        if (rc >= 0 && l < L - 1 && cfg->skip_tconv) {
            snprintf(nm, sizeof nm, "skip.%d.tconv", l);
            rc = add_tconv(&v->skip_w, &v->skip_b, p, nm, c, cfg->tk);
        }
    }
    const int cb = cfg->ch[L - 1];
    if (rc >= 0 && cfg->mixer != NN_MIX_TCONV) rc = add_gru(u->gru, p, "mid.gru", cb, cfg->gru_k);
    if (rc >= 0 && cfg->mixer == NN_MIX_BICONVGRU) rc = add_gru(u->gru_b, p, "mid.gru_b", cb, cfg->gru_k);
    if (rc >= 0 && cfg->mixer == NN_MIX_TCONV) {
        rc = add_tconv(&u->mid_tw, &u->mid_tb, p, "mid.tconv", cb, cfg->tk);
        if (rc >= 0) rc = add_conv(&u->mid_pw, p, "mid.pw", cb, cb, 1, 1, 1.0f);
    }
    for (int l = L - 2; l >= 0 && rc >= 0; l--) {
        nn_unet_level *v = &u->lev[l];
        int c = cfg->ch[l];
        snprintf(nm, sizeof nm, "dec.%d.up", l);
        rc = add_conv(&v->up, p, nm, cfg->ch[l + 1], c, 3, 1, g);
        snprintf(nm, sizeof nm, "dec.%d.fuse", l);
        if (rc >= 0) rc = add_conv(&v->fuse, p, nm, 2 * c, c, 3, 1, g);
        for (int b = 0; b < cfg->res_blocks && rc >= 0; b++)
            rc = add_res(&v->dres1[b], &v->dres2[b], p, "dec", l, b, c, g);
    }
    if (rc >= 0) rc = add_conv(&u->head, p, "head", cfg->ch[0], cfg->out_ch, 1, 1, 1.0f);
    return rc < 0 ? (pf_status)rc : PF_OK;
}

/* ---- layout ---------------------------------------------------------------- */

static void buf_alloc(nn_unet_buf *b, nn_unet *u, size_t n)
{
    b->v = nn_arena_alloc(&u->av, n);
    b->g = u->training ? nn_arena_alloc(&u->ag, n) : NULL;
}

/* Workspace floats the convolutions of level l need: the largest im2col
 * band of every conv, since a band holds whole output rows and so a
 * narrower conv can need more than a wider one (more rows fit). */
static size_t level_ws(const nn_unet *u, int l)
{
    const nn_unet_cfg *c = &u->cfg;
    const nn_unet_level *v = &u->lev[l];
    const int Hl = u->H >> l, Wl = u->W >> l;
    size_t w = nn_conv2d_ws_floats(v->enc.cin, l ? Hl * 2 : Hl, l ? Wl * 2 : Wl, 3, v->enc.stride, 1);
    const int cins[3] = {c->ch[l], 2 * c->ch[l], l < c->levels - 1 ? c->ch[l + 1] : c->ch[l]};
    for (int i = 0; i < 3; i++) {   /* residual convs; fuse; up */
        size_t wi = nn_conv2d_ws_floats(cins[i], Hl, Wl, 3, 1, 1);
        if (wi > w) w = wi;
    }
    if (l < c->levels - 1 && !u->training) {   /* the up conv's phases (up_phases) */
        size_t wi = nn_conv2d_ws_floats(c->ch[l + 1], Hl / 2, Wl / 2, 2, 1, 1);
        if (wi > w) w = wi;
    }
    return w;
}

/* Inference keeps only what crosses time at full T: each level's encoder
 * output r and skip s, and the bottleneck. Everything else is one frame,
 * since the 2-D layers run frame by frame. */
static void layout_infer(nn_unet *u)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;
    size_t ws = 0;

    for (int l = 0; l < L; l++) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l, ch = c->ch[l];
        const size_t a1 = (size_t)ch * Hl * Wl;
        size_t wl = level_ws(u, l);
        if (wl > ws) ws = wl;
        v->e.v = nn_arena_alloc(&u->av, a1);
        v->h[0].v = nn_arena_alloc(&u->av, a1);
        for (int b = 0; b + 1 < c->res_blocks; b++) v->rb[b].v = nn_arena_alloc(&u->av, a1);
        v->r.v = nn_arena_alloc(&u->av, (size_t)T * a1);
        v->s.v = l < L - 1 && c->skip_tconv ? nn_arena_alloc(&u->av, (size_t)T * a1) : v->r.v;
        if (l < L - 1) {
            v->up_w = nn_arena_alloc(&u->av, (size_t)16 * ch * c->ch[l + 1]);
            v->up_p = nn_arena_alloc(&u->av, (size_t)4 * ch * (Hl / 2 + 1) * (Wl / 2 + 1));
            v->u.v = nn_arena_alloc(&u->av, a1);
            v->cat.v = nn_arena_alloc(&u->av, 2 * a1);
            v->f.v = nn_arena_alloc(&u->av, a1);
            v->hd[0].v = nn_arena_alloc(&u->av, a1);
            for (int b = 0; b + 1 < c->res_blocks; b++) v->ob[b].v = nn_arena_alloc(&u->av, a1);
            v->o.v = nn_arena_alloc(&u->av, a1);
        }
    }
    const int Hb = u->H >> (L - 1), Wb = u->W >> (L - 1), cb = c->ch[L - 1];
    const size_t ab = (size_t)T * cb * Hb * Wb;
    u->y.v = nn_arena_alloc(&u->av, (size_t)T * c->out_ch * u->H * u->W);
    u->mix.v = nn_arena_alloc(&u->av, ab);
    u->m.v = nn_arena_alloc(&u->av, ab);
    if (c->mixer == NN_MIX_TCONV) u->tq.v = nn_arena_alloc(&u->av, ab);
    else if (c->mixer == NN_MIX_CONVGRU) nn_convgru_alloc(&u->g1, &u->av, T, cb, cb, Hb, Wb, c->gru_k, 0);
    else nn_biconvgru_alloc(&u->g2, &u->av, T, cb, cb, Hb, Wb, c->gru_k, NN_BIDIR_SUM);
    u->ws = nn_arena_alloc(&u->av, ws ? ws : 1);
}

/* Assigns every activation from the two arenas (or measures them). */
static size_t layout(nn_unet *u)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;
    size_t ws = 0;

    if (!u->training) {
        layout_infer(u);
        return 0;
    }

    buf_alloc(&u->x, u, (size_t)T * c->in_ch * u->H * u->W);
    buf_alloc(&u->y, u, (size_t)T * c->out_ch * u->H * u->W);
    for (int l = 0; l < L; l++) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l, ch = c->ch[l];
        const size_t a = (size_t)T * ch * Hl * Wl;
        size_t wl = level_ws(u, l);
        if (wl > ws) ws = wl;
        buf_alloc(&v->e_pre, u, a);
        buf_alloc(&v->e, u, a);
        for (int b = 0; b < c->res_blocks; b++) {
            buf_alloc(&v->h_pre[b], u, a);
            buf_alloc(&v->h[b], u, a);
            buf_alloc(&v->rb[b], u, a);
        }
        v->r = v->rb[c->res_blocks - 1];
        if (l < L - 1 && c->skip_tconv) buf_alloc(&v->s, u, a);
        else v->s = v->r;   /* the skip is r itself: gradients add up in r.g */
        if (l < L - 1) {
            buf_alloc(&v->upx, u, (size_t)T * c->ch[l + 1] * Hl * Wl);
            buf_alloc(&v->u_pre, u, a);
            buf_alloc(&v->u, u, a);
            buf_alloc(&v->cat, u, 2 * a);
            buf_alloc(&v->f_pre, u, a);
            buf_alloc(&v->f, u, a);
            for (int b = 0; b < c->res_blocks; b++) {
                buf_alloc(&v->hd_pre[b], u, a);
                buf_alloc(&v->hd[b], u, a);
                buf_alloc(&v->ob[b], u, a);
            }
            v->o = v->ob[c->res_blocks - 1];
        }
    }
    const int Hb = u->H >> (L - 1), Wb = u->W >> (L - 1), cb = c->ch[L - 1];
    const size_t ab = (size_t)T * cb * Hb * Wb;
    buf_alloc(&u->mix, u, ab);
    buf_alloc(&u->m, u, ab);
    if (c->mixer == NN_MIX_TCONV) buf_alloc(&u->tq, u, ab);
    else if (c->mixer == NN_MIX_CONVGRU) nn_convgru_alloc(&u->g1, &u->av, T, cb, cb, Hb, Wb, c->gru_k, 0);
    else nn_biconvgru_alloc(&u->g2, &u->av, T, cb, cb, Hb, Wb, c->gru_k, NN_BIDIR_SUM);
    u->ws = nn_arena_alloc(&u->av, ws ? ws : 1);
    return ws;
}

/* Frees both arenas and lays out (T, H, W) in measuring mode: afterwards
 * av.used / ag.used are the floats a plan needs. */
static void measure(nn_unet *u, int T, int H, int W, int training)
{
    nn_arena_free(&u->av);
    nn_arena_free(&u->ag);
    u->T = T; u->H = H; u->W = W; u->training = training;
    nn_arena_measure(&u->av);
    nn_arena_measure(&u->ag);
    layout(u);
}

pf_status nn_unet_plan(nn_unet *u, int T, int H, int W, int training)
{
    const int L = u->cfg.levels, q = 1 << (L - 1);
    if (T < 1 || H < q || W < q || H % q || W % q) return PF_EINVAL;
    if (u->av.base && u->T == T && u->H == H && u->W == W && u->training >= training) return PF_OK;
    measure(u, T, H, W, training);
    if (u->av.overflow || u->ag.overflow) goto nomem;
    size_t nv = u->av.used, ng = u->ag.used;
    if (nn_arena_init(&u->av, nv) < 0) goto nomem;
    if (training && nn_arena_init(&u->ag, ng) < 0) goto nomem;
    layout(u);
    if (u->av.overflow || u->ag.overflow) goto nomem;
    return PF_OK;
nomem:
    nn_arena_free(&u->av);
    nn_arena_free(&u->ag);
    u->T = 0;
    return PF_ENOMEM;
}

pf_status nn_unet_plan_bytes(nn_unet *u, int T, int H, int W, int training, size_t *bytes)
{
    const int L = u->cfg.levels, q = 1 << (L - 1);
    size_t floats;
    if (T < 1 || H < q || W < q || H % q || W % q) return PF_EINVAL;
    measure(u, T, H, W, training);
    floats = u->av.used;
    if (u->av.overflow || u->ag.overflow || (training && floats > SIZE_MAX / 2 - u->ag.used))
        floats = SIZE_MAX / sizeof(float);
    else if (training)
        floats += u->ag.used;
    u->T = 0;   /* nothing planned: the next nn_unet_plan lays out afresh */
    *bytes = floats > SIZE_MAX / sizeof(float) ? SIZE_MAX : floats * sizeof(float);
    return PF_OK;
}

void nn_unet_free(nn_unet *u)
{
    if (!u) return;
    nn_arena_free(&u->av);
    nn_arena_free(&u->ag);
    u->T = 0;
}

/* ---- forward / backward helpers ------------------------------------------- */

#define P(i) nn_param_data(u->p, (i))
#define G(i) nn_param_grad(u->p, (i))

/* y = conv(x); x at (H, W) */
static void conv_fwd(nn_unet *u, const nn_unet_conv *c, float *y, const float *x, int H, int W)
{
    nn_conv2d_forward(y, x, P(c->w), P(c->b), u->ws, u->T, c->cin, H, W, c->cout, c->k,
                      c->stride, c->k / 2);
}

static void conv_bwd(nn_unet *u, const nn_unet_conv *c, float *dx, const float *dy,
                     const float *x, int H, int W)
{
    nn_conv2d_backward(dx, G(c->w), G(c->b), dy, x, P(c->w), u->ws, u->T, c->cin, H, W,
                       c->cout, c->k, c->stride, c->k / 2);
}

static void act_fwd(nn_unet *u, nn_unet_buf *y, const nn_unet_buf *x, size_t n)
{
    nn_act_forward(y->v, x->v, n, u->cfg.act);
}

static void act_bwd(nn_unet *u, nn_unet_buf *x, const nn_unet_buf *y, size_t n)
{
    nn_act_backward(x->g, y->g, x->v, y->v, n, u->cfg.act);
}

static void add_into(float *y, const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += a[i];
}

static void gru_w(const nn_unet *u, const int idx[4], nn_convgru_w *w, int grad)
{
    float *(*f)(const nn_params *, int) = grad ? nn_param_grad : nn_param_data;
    w->wx = f(u->p, idx[0]);
    w->bx = f(u->p, idx[1]);
    w->wh = f(u->p, idx[2]);
    w->wn = f(u->p, idx[3]);
}

/* y = conv(x) on n frames */
static void conv_fwd_n(nn_unet *u, const nn_unet_conv *c, float *y, const float *x, int H, int W, int n)
{
    nn_conv2d_forward(y, x, P(c->w), P(c->b), u->ws, n, c->cin, H, W, c->cout, c->k,
                      c->stride, c->k / 2);
}

/* y = act(conv(x)) on one frame, for inference */
static void conv_act_fwd1(nn_unet *u, const nn_unet_conv *c, float *y, const float *x, int H, int W)
{
    nn_conv2d_forward_act(y, x, P(c->w), P(c->b), u->cfg.act, u->ws, 1, c->cin, H, W, c->cout, c->k,
                          c->stride, c->k / 2);
}

static void act_inplace(const nn_unet *u, float *x, size_t n)
{
    nn_act_forward(x, x, n, u->cfg.act);
}

/* The decoder's nearest x2 upsample and 3x3 conv (pad 1) as one 2x2 conv
 * at the low resolution with four phase kernels: output pixel (2y + py,
 * 2x + px) reads low rows y - 1 + py, y + py and columns x - 1 + px, x + px,
 * each tap the sum of the 3x3 taps that land on it (taps 0 | 1, 2 for phase
 * 0; 0, 1 | 2 for phase 1). 2.25x fewer multiply-adds and a ninth of the
 * im2col traffic; the same sums up to rounding. The phase kernels are
 * remade from the weights at every forward (16 OC C floats: nothing next to
 * the conv), so a state never holds stale ones. */
static void up_phase_weights(float *pw, const float *w, int OC, int C)
{
    static const int first[2][2] = {{0, 1}, {0, 2}}, last[2][2] = {{0, 2}, {1, 2}};
    for (int ph = 0; ph < 4; ph++) {
        const int py = ph >> 1, px = ph & 1;
        for (int o = 0; o < OC; o++)
            for (int ci = 0; ci < C; ci++) {
                const float *k = w + ((size_t)o * C + ci) * 9;
                float *d = pw + (((size_t)ph * OC + o) * C + ci) * 4;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) {
                        float sum = 0.0f;
                        for (int ky = first[py][a]; ky <= last[py][a]; ky++)
                            for (int kx = first[px][b]; kx <= last[px][b]; kx++) sum += k[ky * 3 + kx];
                        d[a * 2 + b] = sum;
                    }
            }
    }
}

/* y = act(up(x)): x (C, h, w) -> y (OC, 2h, 2w), one frame; v->up_w holds
 * up_phase_weights of the level's up conv. */
static void up_phases(nn_unet *u, nn_unet_level *v, float *y, const float *x, int h, int w)
{
    const nn_unet_conv *c = &v->up;
    const int OC = c->cout, wp = w + 1;
    const size_t pplane = (size_t)(h + 1) * wp;
    const float *b = P(c->b);
    nn_conv2d_forward(v->up_p, x, v->up_w, NULL, u->ws, 1, c->cin, h, w, 4 * OC, 2, 1, 1);
    for (int o = 0; o < OC; o++) {
        float *yo = y + (size_t)o * 4 * h * w;
        for (int ph = 0; ph < 4; ph++) {
            const int py = ph >> 1, px = ph & 1;
            const float *p = v->up_p + ((size_t)ph * OC + o) * pplane;
            for (int yy = 0; yy < h; yy++) {
                const float *src = p + (size_t)(yy + py) * wp + px;
                float *dst = yo + (size_t)(2 * yy + py) * 2 * w + px;
                for (int xx = 0; xx < w; xx++) dst[2 * xx] = src[xx] + b[o];
            }
        }
    }
    act_inplace(u, y, (size_t)OC * 4 * h * w);
}

/* The temporal mixing at the bottleneck: m = r + mix(r), (T, cb, Hb, Wb). */
static void mid_forward(nn_unet *u)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;
    const int Hb = u->H >> (L - 1), Wb = u->W >> (L - 1), cb = c->ch[L - 1];
    const size_t ab = (size_t)T * cb * Hb * Wb;
    const float *r = u->lev[L - 1].r.v;
    nn_convgru_w wf, wb;
    if (c->mixer == NN_MIX_CONVGRU) {
        gru_w(u, u->gru, &wf, 0);
        nn_convgru_forward(&u->g1, u->mix.v, r, &wf);
    } else if (c->mixer == NN_MIX_BICONVGRU) {
        gru_w(u, u->gru, &wf, 0);
        gru_w(u, u->gru_b, &wb, 0);
        nn_biconvgru_forward(&u->g2, u->mix.v, r, &wf, &wb);
    } else {
        nn_tconv1d_forward(u->tq.v, r, P(u->mid_tw), P(u->mid_tb), T, cb, Hb, Wb, c->tk, c->tpad);
        conv_fwd_n(u, &u->mid_pw, u->mix.v, u->tq.v, Hb, Wb, T);
    }
    for (size_t i = 0; i < ab; i++) u->m.v[i] = r[i] + u->mix.v[i];
}

/* Inference: the same arithmetic as the training forward, but the 2-D
 * layers run one frame at a time through one-frame buffers. The encoder
 * starts at frame t0: the frames before hold their features already.
 * Frames n.. repeat frame n - 1: they take its encoder features, and their
 * outputs are its output (the decoder is per frame, so no other frame's
 * output depends on theirs). */
static const float *forward_infer(nn_unet *u, const float *x, int t0, int n)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;

    for (int l = 0; l < L; l++) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l, Hi = l ? 2 * Hl : Hl, Wi = l ? 2 * Wl : Wl;
        const int cin = l ? c->ch[l - 1] : c->in_ch;
        const size_t a1 = (size_t)c->ch[l] * Hl * Wl, in1 = (size_t)cin * Hi * Wi;
        for (int t = t0; t < n; t++) {
            const float *in = (l ? u->lev[l - 1].r.v : x) + (size_t)t * in1;
            float *r = v->r.v + (size_t)t * a1;
            conv_act_fwd1(u, &v->enc, v->e.v, in, Hi, Wi);
            const float *xin = v->e.v;
            for (int b = 0; b < c->res_blocks; b++) {
                float *y = b + 1 < c->res_blocks ? v->rb[b].v : r;
                conv_act_fwd1(u, &v->res1[b], v->h[0].v, xin, Hl, Wl);
                conv_fwd_n(u, &v->res2[b], y, v->h[0].v, Hl, Wl, 1);
                add_into(y, xin, a1);
                xin = y;
            }
        }
        for (int t = n; t < T; t++)   /* the repeats of frame n - 1 */
            memcpy(v->r.v + (size_t)t * a1, v->r.v + (size_t)(n - 1) * a1, a1 * sizeof(float));
        if (l < L - 1 && c->skip_tconv)
            nn_tconv1d_forward(v->s.v, v->r.v, P(v->skip_w), P(v->skip_b), T, c->ch[l], Hl, Wl,
                               c->tk, c->tpad);
    }
    mid_forward(u);
    for (int l = 0; l + 1 < L; l++)
        up_phase_weights(u->lev[l].up_w, P(u->lev[l].up.w), c->ch[l], c->ch[l + 1]);
    const int Hb = u->H >> (L - 1), Wb = u->W >> (L - 1);
    const size_t ab1 = (size_t)c->ch[L - 1] * Hb * Wb, y1 = (size_t)c->out_ch * u->H * u->W;
    for (int t = 0; t < n; t++) {
        const float *din = u->m.v + (size_t)t * ab1;
        for (int l = L - 2; l >= 0; l--) {
            nn_unet_level *v = &u->lev[l];
            const int Hl = u->H >> l, Wl = u->W >> l, ch = c->ch[l];
            const size_t a1 = (size_t)ch * Hl * Wl;
            up_phases(u, v, v->u.v, din, Hl / 2, Wl / 2);
            nn_concat_forward(v->cat.v, v->u.v, v->s.v + (size_t)t * a1, 1, ch, ch, Hl, Wl);
            conv_act_fwd1(u, &v->fuse, v->f.v, v->cat.v, Hl, Wl);
            const float *xin = v->f.v;
            for (int b = 0; b < c->res_blocks; b++) {
                float *y = b + 1 < c->res_blocks ? v->ob[b].v : v->o.v;
                conv_act_fwd1(u, &v->dres1[b], v->hd[0].v, xin, Hl, Wl);
                conv_fwd_n(u, &v->dres2[b], y, v->hd[0].v, Hl, Wl, 1);
                add_into(y, xin, a1);
                xin = y;
            }
            din = v->o.v;
        }
        conv_fwd_n(u, &u->head, u->y.v + (size_t)t * y1, din, u->H, u->W, 1);
    }
    for (int t = n; t < T; t++) memcpy(u->y.v + (size_t)t * y1, u->y.v + (size_t)(n - 1) * y1, y1 * sizeof(float));
    return u->y.v;
}

const float *nn_unet_forward(nn_unet *u, const float *x)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;

    PF_ASSERT(u->av.base && u->p->data);
    if (!u->training) return forward_infer(u, x, 0, u->T);
    memcpy(u->x.v, x, sizeof(float) * (size_t)T * c->in_ch * u->H * u->W);
    for (int l = 0; l < L; l++) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l;
        const size_t a = (size_t)T * c->ch[l] * Hl * Wl;
        const float *in = l ? u->lev[l - 1].r.v : u->x.v;
        conv_fwd(u, &v->enc, v->e_pre.v, in, l ? 2 * Hl : Hl, l ? 2 * Wl : Wl);
        act_fwd(u, &v->e, &v->e_pre, a);
        const nn_unet_buf *xin = &v->e;
        for (int b = 0; b < c->res_blocks; b++) {
            conv_fwd(u, &v->res1[b], v->h_pre[b].v, xin->v, Hl, Wl);
            act_fwd(u, &v->h[b], &v->h_pre[b], a);
            conv_fwd(u, &v->res2[b], v->rb[b].v, v->h[b].v, Hl, Wl);
            add_into(v->rb[b].v, xin->v, a);
            xin = &v->rb[b];
        }
        if (l < L - 1 && c->skip_tconv)
            nn_tconv1d_forward(v->s.v, v->r.v, P(v->skip_w), P(v->skip_b), T, c->ch[l], Hl, Wl,
                               c->tk, c->tpad);
    }
    mid_forward(u);
    for (int l = L - 2; l >= 0; l--) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l, ch = c->ch[l];
        const size_t a = (size_t)T * ch * Hl * Wl;
        const float *din = l == L - 2 ? u->m.v : u->lev[l + 1].o.v;
        nn_upsample2_forward(v->upx.v, din, T, c->ch[l + 1], Hl / 2, Wl / 2);
        conv_fwd(u, &v->up, v->u_pre.v, v->upx.v, Hl, Wl);
        act_fwd(u, &v->u, &v->u_pre, a);
        nn_concat_forward(v->cat.v, v->u.v, v->s.v, T, ch, ch, Hl, Wl);
        conv_fwd(u, &v->fuse, v->f_pre.v, v->cat.v, Hl, Wl);
        act_fwd(u, &v->f, &v->f_pre, a);
        const nn_unet_buf *xin = &v->f;
        for (int b = 0; b < c->res_blocks; b++) {
            conv_fwd(u, &v->dres1[b], v->hd_pre[b].v, xin->v, Hl, Wl);
            act_fwd(u, &v->hd[b], &v->hd_pre[b], a);
            conv_fwd(u, &v->dres2[b], v->ob[b].v, v->hd[b].v, Hl, Wl);
            add_into(v->ob[b].v, xin->v, a);
            xin = &v->ob[b];
        }
    }
    conv_fwd(u, &u->head, u->y.v, L > 1 ? u->lev[0].o.v : u->m.v, u->H, u->W);
    return u->y.v;
}

const float *nn_unet_forward_window(nn_unet *u, const float *x, int reuse, int frames)
{
    const nn_unet_cfg *c = &u->cfg;
    PF_ASSERT(u->av.base && u->p->data && !u->training && reuse >= 0 && reuse < frames && frames <= u->T);
    for (int l = 0; l < c->levels; l++) {   /* frames T-reuse.. become 0.. */
        const size_t a1 = (size_t)c->ch[l] * (u->H >> l) * (u->W >> l);
        memmove(u->lev[l].r.v, u->lev[l].r.v + (size_t)(u->T - reuse) * a1, (size_t)reuse * a1 * sizeof(float));
    }
    return forward_infer(u, x, reuse, frames);
}

void nn_unet_backward(nn_unet *u, float *dx, const float *dy)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels, T = u->T;

    PF_ASSERT(u->training && u->ag.base && u->p->grad);
    memset(u->ag.base, 0, sizeof(float) * u->ag.used);
    nn_unet_buf *top = L > 1 ? &u->lev[0].o : &u->m;
    conv_bwd(u, &u->head, top->g, dy, top->v, u->H, u->W);
    for (int l = 0; l <= L - 2; l++) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l, ch = c->ch[l];
        const size_t a = (size_t)T * ch * Hl * Wl;
        nn_unet_buf *din = l == L - 2 ? &u->m : &u->lev[l + 1].o;
        for (int b = c->res_blocks - 1; b >= 0; b--) {
            nn_unet_buf *xin = b ? &v->ob[b - 1] : &v->f;
            add_into(xin->g, v->ob[b].g, a);
            conv_bwd(u, &v->dres2[b], v->hd[b].g, v->ob[b].g, v->hd[b].v, Hl, Wl);
            act_bwd(u, &v->hd_pre[b], &v->hd[b], a);
            conv_bwd(u, &v->dres1[b], xin->g, v->hd_pre[b].g, xin->v, Hl, Wl);
        }
        act_bwd(u, &v->f_pre, &v->f, a);
        conv_bwd(u, &v->fuse, v->cat.g, v->f_pre.g, v->cat.v, Hl, Wl);
        nn_concat_backward(v->u.g, v->s.g, v->cat.g, T, ch, ch, Hl, Wl);
        act_bwd(u, &v->u_pre, &v->u, a);
        conv_bwd(u, &v->up, v->upx.g, v->u_pre.g, v->upx.v, Hl, Wl);
        nn_upsample2_backward(din->g, v->upx.g, T, c->ch[l + 1], Hl / 2, Wl / 2);
    }
    {
        const int Hb = u->H >> (L - 1), Wb = u->W >> (L - 1), cb = c->ch[L - 1];
        const size_t ab = (size_t)T * cb * Hb * Wb;
        nn_unet_buf *r = &u->lev[L - 1].r;
        nn_convgru_w wf, wb, gf, gb;
        add_into(r->g, u->m.g, ab);   /* the residual path; mix.g is m.g */
        if (c->mixer == NN_MIX_CONVGRU) {
            gru_w(u, u->gru, &wf, 0);
            gru_w(u, u->gru, &gf, 1);
            nn_convgru_backward(&u->g1, r->g, &gf, u->m.g, r->v, u->mix.v, &wf);
        } else if (c->mixer == NN_MIX_BICONVGRU) {
            gru_w(u, u->gru, &wf, 0);
            gru_w(u, u->gru, &gf, 1);
            gru_w(u, u->gru_b, &wb, 0);
            gru_w(u, u->gru_b, &gb, 1);
            nn_biconvgru_backward(&u->g2, r->g, &gf, &gb, u->m.g, r->v, &wf, &wb);
        } else {
            conv_bwd(u, &u->mid_pw, u->tq.g, u->m.g, u->tq.v, Hb, Wb);
            nn_tconv1d_backward(r->g, G(u->mid_tw), G(u->mid_tb), u->tq.g, r->v, P(u->mid_tw),
                                T, cb, Hb, Wb, c->tk, c->tpad);
        }
    }
    for (int l = L - 1; l >= 0; l--) {
        nn_unet_level *v = &u->lev[l];
        const int Hl = u->H >> l, Wl = u->W >> l;
        const size_t a = (size_t)T * c->ch[l] * Hl * Wl;
        nn_unet_buf *in = l ? &u->lev[l - 1].r : &u->x;
        if (l < L - 1 && c->skip_tconv)
            nn_tconv1d_backward(v->r.g, G(v->skip_w), G(v->skip_b), v->s.g, v->r.v, P(v->skip_w),
                                T, c->ch[l], Hl, Wl, c->tk, c->tpad);
        for (int b = c->res_blocks - 1; b >= 0; b--) {
            nn_unet_buf *xin = b ? &v->rb[b - 1] : &v->e;
            add_into(xin->g, v->rb[b].g, a);
            conv_bwd(u, &v->res2[b], v->h[b].g, v->rb[b].g, v->h[b].v, Hl, Wl);
            act_bwd(u, &v->h_pre[b], &v->h[b], a);
            conv_bwd(u, &v->res1[b], xin->g, v->h_pre[b].g, xin->v, Hl, Wl);
        }
        act_bwd(u, &v->e_pre, &v->e, a);
        conv_bwd(u, &v->enc, in->g, v->e_pre.g, in->v, l ? 2 * Hl : Hl, l ? 2 * Wl : Wl);
    }
    if (dx) add_into(dx, u->x.g, (size_t)T * c->in_ch * u->H * u->W);
}

/* ---- metadata ---------------------------------------------------------------- */

static const char *const mixer_names[] = {"convgru", "biconvgru", "tconv"};
static const char *const tpad_names[] = {"zero", "replicate"};

int nn_unet_cfg_to_meta(const nn_unet_cfg *c, nn_kv *kv, char *store)
{
    int n = 0;
    size_t k = 0;
#define PUT(K, ...)                                                          \
    do {                                                                     \
        kv[n].key = K;                                                       \
        kv[n].val = store + k;                                               \
        k += (size_t)snprintf(store + k, NN_UNET_META_STORE - k, __VA_ARGS__) + 1; \
        n++;                                                                 \
    } while (0)
    PUT("pf.arch", "unet-v1");
    PUT("pf.in_ch", "%d", c->in_ch);
    PUT("pf.out_ch", "%d", c->out_ch);
    PUT("pf.levels", "%d", c->levels);
    PUT("pf.ch", "%d,%d,%d,%d", c->ch[0], c->ch[1], c->ch[2], c->ch[3]);
    PUT("pf.mixer", "%s", mixer_names[c->mixer]);
    PUT("pf.gru_k", "%d", c->gru_k);
    PUT("pf.tk", "%d", c->tk);
    PUT("pf.tpad", "%s", tpad_names[c->tpad]);
    PUT("pf.skip_tconv", "%d", c->skip_tconv);
    PUT("pf.act", "%s", nn_act_name(c->act));
    PUT("pf.res_blocks", "%d", c->res_blocks);
#undef PUT
    return n;
}

static int meta_int(const nn_st *st, const char *key, int *out)
{
    const char *s = nn_st_meta_get(st, key);
    char *end;
    if (!s || !*s) return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 20) return -1;
    *out = (int)v;
    return 0;
}

static int meta_enum(const nn_st *st, const char *key, const char *const *names, int n, int *out)
{
    const char *s = nn_st_meta_get(st, key);
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) { *out = i; return 0; }
    return -1;
}

pf_status nn_unet_cfg_from_st(nn_unet_cfg *c, const nn_st *st, const pfi_logger *lg)
{
    const char *arch = nn_st_meta_get(st, "pf.arch"), *chs = nn_st_meta_get(st, "pf.ch");
    const char *act = nn_st_meta_get(st, "pf.act");
    int mixer = 0, tpad = 0, a;

    memset(c, 0, sizeof *c);
    if (!arch || strcmp(arch, "unet-v1") != 0) {
        pfi_error(lg, "model: pf.arch is %s%s%s, not unet-v1", arch ? "'" : "", arch ? arch : "missing",
                 arch ? "'" : "");
        return PF_EMODEL;
    }
    if (meta_int(st, "pf.in_ch", &c->in_ch) || meta_int(st, "pf.out_ch", &c->out_ch) ||
        meta_int(st, "pf.levels", &c->levels) || meta_int(st, "pf.gru_k", &c->gru_k) ||
        meta_int(st, "pf.tk", &c->tk) || meta_int(st, "pf.skip_tconv", &c->skip_tconv) ||
        meta_enum(st, "pf.mixer", mixer_names, 3, &mixer) ||
        meta_enum(st, "pf.tpad", tpad_names, 2, &tpad) || !chs ||
        sscanf(chs, "%d,%d,%d,%d", &c->ch[0], &c->ch[1], &c->ch[2], &c->ch[3]) != 4 ||
        (a = nn_act_parse(act)) < 0) {
        pfi_error(lg, "model: the U-Net metadata is missing a value or has a bad one");
        return PF_EMODEL;
    }
    c->res_blocks = 1;   /* absent in files from before it was configurable */
    if (nn_st_meta_get(st, "pf.res_blocks") && meta_int(st, "pf.res_blocks", &c->res_blocks)) {
        pfi_error(lg, "model: pf.res_blocks is not a number");
        return PF_EMODEL;
    }
    c->mixer = (nn_mixer)mixer;
    c->tpad = (nn_tpad)tpad;
    c->act = (nn_act)a;
    if (!cfg_ok(c)) {
        pfi_error(lg, "model: the U-Net metadata describes an invalid network");
        return PF_EMODEL;
    }
    return PF_OK;
}
