/*
 * convgru.c - ConvGRU forward, backpropagation through time, and the
 * bidirectional wrapper. Each step is sliced out of (T, C, H, W) buffers
 * (darknet's recurrent-layer pattern); the caches of every step are kept
 * for backward.
 */
#include "nn/convgru.h"

#include <string.h>

#include "base/common.h"
#include "nn/activation.h"
#include "nn/conv2d.h"
#include "nn/resample.h"

void nn_convgru_alloc(nn_convgru *g, nn_arena *a, int T, int Cx, int Ch,
                      int H, int W, int K, int reverse)
{
    const size_t hw = (size_t)H * W, th = (size_t)T * Ch * hw;
    const int pad = K / 2;
    size_t ws = nn_conv2d_ws_floats(Cx, H, W, K, 1, pad);
    size_t ws2 = nn_conv2d_ws_floats(Ch, H, W, K, 1, pad);

    PF_ASSERT(K >= 1 && (K & 1));
    memset(g, 0, sizeof *g);
    g->T = T; g->Cx = Cx; g->Ch = Ch; g->H = H; g->W = W; g->K = K;
    g->reverse = reverse;
    g->gx = nn_arena_alloc(a, 3 * th);
    g->zr = nn_arena_alloc(a, 2 * th);
    g->n = nn_arena_alloc(a, th);
    g->rh = nn_arena_alloc(a, th);
    g->dg = nn_arena_alloc(a, 3 * th);
    g->dh = nn_arena_alloc(a, (size_t)Ch * hw);
    g->drh = nn_arena_alloc(a, (size_t)Ch * hw);
    g->ws = nn_arena_alloc(a, ws > ws2 ? ws : ws2);
}

/* Frame processed at step s, and the frame before it (-1 at the start). */
static int frame_at(const nn_convgru *g, int s) { return g->reverse ? g->T - 1 - s : s; }
static int prev_of(const nn_convgru *g, int s) { return s == 0 ? -1 : frame_at(g, s - 1); }

void nn_convgru_forward(nn_convgru *g, float *hs, const float *x, const nn_convgru_w *w)
{
    const int Ch = g->Ch, H = g->H, W = g->W, K = g->K, pad = K / 2;
    const size_t hw = (size_t)H * W, ch = (size_t)Ch * hw;

    nn_conv2d_forward(g->gx, x, w->wx, w->bx, g->ws, g->T, g->Cx, H, W, 3 * Ch, K, 1, pad);
    for (int s = 0; s < g->T; s++) {
        const int t = frame_at(g, s), tp = prev_of(g, s);
        const float *gxt = g->gx + 3 * ch * t;
        const float *hp = tp < 0 ? NULL : hs + ch * tp;
        float *zr = g->zr + 2 * ch * t, *z = zr, *r = zr + ch;
        float *n = g->n + ch * t, *rh = g->rh + ch * t, *h = hs + ch * t;

        memcpy(zr, gxt, 2 * ch * sizeof(float));
        if (hp) nn_conv2d_forward_acc(zr, hp, w->wh, g->ws, 1, Ch, H, W, 2 * Ch, K, 1, pad);
        nn_act_forward(zr, zr, 2 * ch, NN_ACT_SIGMOID);
        memcpy(n, gxt + 2 * ch, ch * sizeof(float));
        if (hp) {
            for (size_t p = 0; p < ch; p++) rh[p] = r[p] * hp[p];
            nn_conv2d_forward_acc(n, rh, w->wn, g->ws, 1, Ch, H, W, Ch, K, 1, pad);
        } else {
            memset(rh, 0, ch * sizeof(float));
        }
        nn_act_forward(n, n, ch, NN_ACT_TANH);
        if (hp) {
            for (size_t p = 0; p < ch; p++) h[p] = hp[p] + z[p] * (n[p] - hp[p]);
        } else {
            for (size_t p = 0; p < ch; p++) h[p] = z[p] * n[p];
        }
    }
}

void nn_convgru_backward(nn_convgru *g, float *dx, const nn_convgru_w *dw,
                         const float *dhs, const float *x, const float *hs,
                         const nn_convgru_w *w)
{
    const int Ch = g->Ch, H = g->H, W = g->W, K = g->K, pad = K / 2;
    const size_t hw = (size_t)H * W, ch = (size_t)Ch * hw;
    float *dh = g->dh, *drh = g->drh;

    memset(dh, 0, ch * sizeof(float));   /* dL/dh carried from the next step */
    for (int s = g->T - 1; s >= 0; s--) {
        const int t = frame_at(g, s), tp = prev_of(g, s);
        const float *hp = tp < 0 ? NULL : hs + ch * tp;
        const float *z = g->zr + 2 * ch * t, *r = z + ch, *n = g->n + ch * t;
        const float *dht = dhs + ch * t;
        float *dgt = g->dg + 3 * ch * t, *daz = dgt, *dar = dgt + ch, *dan = dgt + 2 * ch;

        /* h = hp + z (n - hp): through z, n, and the direct path to hp */
        for (size_t p = 0; p < ch; p++) {
            float d = dh[p] + dht[p], zz = z[p], nn = n[p], hpv = hp ? hp[p] : 0.0f;
            dan[p] = d * zz * (1.0f - nn * nn);
            daz[p] = d * (nn - hpv) * zz * (1.0f - zz);
            dh[p] = d * (1.0f - zz);
        }
        if (!hp) {
            memset(dar, 0, ch * sizeof(float));   /* r multiplies h = 0 */
            continue;
        }
        /* n's pre-activation = ... + Wn * (r . hp) */
        memset(drh, 0, ch * sizeof(float));
        nn_conv2d_backward(drh, dw ? dw->wn : NULL, NULL, dan, g->rh + ch * t, w->wn,
                           g->ws, 1, Ch, H, W, Ch, K, 1, pad);
        for (size_t p = 0; p < ch; p++) {
            dar[p] = drh[p] * hp[p] * r[p] * (1.0f - r[p]);
            dh[p] += drh[p] * r[p];
        }
        /* z, r pre-activations = ... + Wh * hp */
        nn_conv2d_backward(dh, dw ? dw->wh : NULL, NULL, dgt, hp, w->wh, g->ws,
                           1, Ch, H, W, 2 * Ch, K, 1, pad);
    }
    /* the batched input convolution, all frames at once */
    nn_conv2d_backward(dx, dw ? dw->wx : NULL, dw ? dw->bx : NULL, g->dg, x, w->wx,
                       g->ws, g->T, g->Cx, H, W, 3 * Ch, K, 1, pad);
}

void nn_biconvgru_alloc(nn_biconvgru *g, nn_arena *a, int T, int Cx, int Ch,
                        int H, int W, int K, nn_bidir merge)
{
    const size_t th = (size_t)T * Ch * H * W;
    nn_convgru_alloc(&g->fwd, a, T, Cx, Ch, H, W, K, 0);
    nn_convgru_alloc(&g->bwd, a, T, Cx, Ch, H, W, K, 1);
    g->merge = merge;
    g->hf = nn_arena_alloc(a, th);
    g->hb = nn_arena_alloc(a, th);
    g->dhf = nn_arena_alloc(a, th);
    g->dhb = nn_arena_alloc(a, th);
}

void nn_biconvgru_forward(nn_biconvgru *g, float *y, const float *x,
                          const nn_convgru_w *wf, const nn_convgru_w *wb)
{
    const int T = g->fwd.T, Ch = g->fwd.Ch, H = g->fwd.H, W = g->fwd.W;
    const size_t th = (size_t)T * Ch * H * W;

    nn_convgru_forward(&g->fwd, g->hf, x, wf);
    nn_convgru_forward(&g->bwd, g->hb, x, wb);
    if (g->merge == NN_BIDIR_CONCAT) {
        nn_concat_forward(y, g->hf, g->hb, T, Ch, Ch, H, W);
    } else {
        for (size_t i = 0; i < th; i++) y[i] = g->hf[i] + g->hb[i];
    }
}

void nn_biconvgru_backward(nn_biconvgru *g, float *dx, const nn_convgru_w *dwf,
                           const nn_convgru_w *dwb, const float *dy, const float *x,
                           const nn_convgru_w *wf, const nn_convgru_w *wb)
{
    const int T = g->fwd.T, Ch = g->fwd.Ch, H = g->fwd.H, W = g->fwd.W;
    const size_t th = (size_t)T * Ch * H * W;
    const float *df = dy, *db = dy;

    if (g->merge == NN_BIDIR_CONCAT) {
        memset(g->dhf, 0, th * sizeof(float));
        memset(g->dhb, 0, th * sizeof(float));
        nn_concat_backward(g->dhf, g->dhb, dy, T, Ch, Ch, H, W);
        df = g->dhf;
        db = g->dhb;
    }
    nn_convgru_backward(&g->fwd, dx, dwf, df, x, g->hf, wf);
    nn_convgru_backward(&g->bwd, dx, dwb, db, x, g->hb, wb);
}
