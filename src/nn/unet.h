/*
 * unet.h - the temporal U-Net of docs/architecture.md section 4, built from a
 * configuration into a parameter table, forward and backward over a
 * (T, C, H, W) clip window. The real model (issue 4) grows from this.
 *
 * Per level l (H / 2^l, width ch[l]):
 *   encoder:  conv3x3 (stride 2 below level 0) + act, residual block
 *   skip:     depthwise temporal Conv1D (kernel tk) on levels < L-1
 *   bottleneck (level L-1): m = r + mix(r), mix = ConvGRU, bidirectional
 *             ConvGRU (summed), or depthwise temporal Conv1D + 1x1 conv
 *   decoder:  nearest x2 up + conv3x3 + act, concat skip, conv3x3 + act,
 *             residual block
 *   head:     1x1 conv to out_ch (RGB correction + alpha logit)
 * Residual block: y = x + conv3x3(act(conv3x3(x))); res_blocks of them
 * after the encoder conv and after the decoder fuse (block b > 0 is named
 * res<b>, e.g. enc.0.res1.conv1).
 *
 * Tensor names: enc.<l>.conv, enc.<l>.res.conv1/conv2, skip.<l>.tconv,
 * mid.gru.{wx,bx,wh,wn} (mid.gru_b.* for the reverse direction),
 * mid.tconv, mid.pw, dec.<l>.up, dec.<l>.fuse, dec.<l>.res.conv1/conv2,
 * head; each conv has .weight (OC, IC, K, K) and .bias (OC).
 */
#ifndef PF_NN_UNET_H
#define PF_NN_UNET_H

#include "pixelfix.h"
#include "nn/activation.h"
#include "nn/convgru.h"
#include "nn/param_table.h"
#include "nn/temporal.h"
#include "nn/tensor.h"
#include "nn/weights.h"

#define NN_UNET_MAX_LEVELS 4
#define NN_UNET_MAX_RES 4

typedef enum nn_mixer {
    NN_MIX_CONVGRU = 0,    /* forward ConvGRU */
    NN_MIX_BICONVGRU = 1,  /* bidirectional ConvGRU, directions summed */
    NN_MIX_TCONV = 2       /* depthwise temporal Conv1D + pointwise 1x1 */
} nn_mixer;

typedef struct nn_unet_cfg {
    int in_ch;                    /* input channels (67: 4x4 samples of RGBA + 3 background) */
    int out_ch;                   /* output channels (4: RGB correction + alpha logit) */
    int levels;                   /* 1..NN_UNET_MAX_LEVELS */
    int ch[NN_UNET_MAX_LEVELS];   /* widths per level, e.g. 32, 64, 96 */
    nn_mixer mixer;               /* bottleneck temporal mixer */
    int gru_k;                    /* ConvGRU kernel, odd (3) */
    int tk;                       /* temporal Conv1D kernel, 3 or 5 */
    nn_tpad tpad;                 /* temporal padding at the window edges */
    int skip_tconv;               /* 1: temporal Conv1D on every skip */
    nn_act act;                   /* hidden activation */
    int res_blocks;               /* residual blocks per level, encoder and decoder, 1..4 */
} nn_unet_cfg;

/* 67 in, 4 out, 3 levels of 32/64/96, ConvGRU, tk 3 replicate, skip
 * Conv1Ds on, LeakyReLU. */
nn_unet_cfg nn_unet_default_cfg(void);

/* Conv layer: parameter rows and geometry. */
typedef struct nn_unet_conv {
    int w, b;                     /* rows in the parameter table */
    int cin, cout, k, stride;
} nn_unet_conv;

/* An activation and its gradient (same shape). */
typedef struct nn_unet_buf {
    float *v, *g;
} nn_unet_buf;

typedef struct nn_unet_level {
    nn_unet_conv enc, res1[NN_UNET_MAX_RES], res2[NN_UNET_MAX_RES];
    int skip_w, skip_b;
    nn_unet_conv up, fuse, dres1[NN_UNET_MAX_RES], dres2[NN_UNET_MAX_RES];
    /* activations, (T, ch[l], H_l, W_l) unless noted; rb/ob are the
     * residual blocks' outputs, r and o the last of them */
    nn_unet_buf e_pre, e, h_pre[NN_UNET_MAX_RES], h[NN_UNET_MAX_RES], rb[NN_UNET_MAX_RES], r, s;
    nn_unet_buf upx;              /* (T, ch[l+1], H_l, W_l); training only */
    float *up_w, *up_p;           /* inference: the up conv's phase kernels (4 ch[l],
                                     ch[l+1], 2, 2) and their output (4 ch[l],
                                     H_l/2 + 1, W_l/2 + 1) */
    nn_unet_buf u_pre, u, cat;    /* cat: (T, 2 ch[l], H_l, W_l) */
    nn_unet_buf f_pre, f, hd_pre[NN_UNET_MAX_RES], hd[NN_UNET_MAX_RES], ob[NN_UNET_MAX_RES], o;
} nn_unet_level;

typedef struct nn_unet {
    nn_unet_cfg cfg;
    nn_params *p;                 /* borrowed; rows added by nn_unet_build */
    nn_unet_level lev[NN_UNET_MAX_LEVELS];
    int gru[4], gru_b[4];         /* rows of wx, bx, wh, wn per direction */
    int mid_tw, mid_tb;
    nn_unet_conv mid_pw, head;
    /* plan: the shape the arenas were laid out for */
    int T, H, W, training;
    nn_arena av, ag;              /* activations; their gradients */
    float *ws;                    /* conv workspace */
    nn_unet_buf x, y;             /* (T, in_ch, H, W), (T, out_ch, H, W) */
    nn_unet_buf mix, tq, m;       /* bottleneck, (T, ch[L-1], H_L, W_L) */
    nn_convgru g1;
    nn_biconvgru g2;
} nn_unet;

/* Checks cfg and adds every tensor of the model to p (not yet allocated).
 * PF_EINVAL for a bad configuration, PF_ENOMEM. */
pf_status nn_unet_build(nn_unet *u, nn_params *p, const nn_unet_cfg *cfg);

/* Lays out the activations for a (T, in_ch, H, W) window, (re)allocating
 * only when the shape changes; training also lays out the gradients.
 * H and W must be multiples of 2^(levels-1). PF_EINVAL, PF_ENOMEM. */
pf_status nn_unet_plan(nn_unet *u, int T, int H, int W, int training);

/* What nn_unet_plan(u, T, H, W, training) would allocate, in bytes (SIZE_MAX
 * when it does not fit in size_t), without allocating; u is left with
 * nothing planned. Errors: PF_EINVAL as nn_unet_plan. */
pf_status nn_unet_plan_bytes(nn_unet *u, int T, int H, int W, int training, size_t *bytes);

/* y = U-Net(x). x: (T, in_ch, H, W) as planned; returns the output
 * (T, out_ch, H, W), owned by u and valid until the next call. */
const float *nn_unet_forward(nn_unet *u, const float *x);

/* Inference forward of a window whose first `reuse` frames are the last
 * `reuse` frames of the previous forward on this plan, and whose frames
 * from `frames` on repeat frame frames - 1 (a window padded at the end of
 * a clip); 0 <= reuse < frames <= T. The reused frames' encoder features
 * (every level's r, computed frame by frame before any temporal mixing)
 * are moved, not recomputed; the repeats take frame frames - 1's features,
 * skip the decoder, and get its output. x's first reuse frames and its
 * repeats are not read. For the real frames, bit-identical to
 * nn_unet_forward on the whole x when that holds; the caller keeps track
 * of it. Needs an inference plan unchanged since that forward. Returns as
 * nn_unet_forward. */
const float *nn_unet_forward_window(nn_unet *u, const float *x, int reuse, int frames);

/* Backward of the last forward: accumulates dL/dtheta into u->p->grad
 * and, if dx is not NULL, dL/dx into dx: (T, in_ch, H, W).
 * dy: (T, out_ch, H, W). Needs a training plan and allocated gradients. */
void nn_unet_backward(nn_unet *u, float *dx, const float *dy);

/* Frees the arenas (not the parameter table); u may be zeroed. */
void nn_unet_free(nn_unet *u);

/* The configuration as __metadata__ pairs: kv receives up to
 * NN_UNET_META_MAX pairs pointing into store (NN_UNET_META_STORE bytes).
 * Returns the pair count. */
#define NN_UNET_META_MAX 14
#define NN_UNET_META_STORE 512
int nn_unet_cfg_to_meta(const nn_unet_cfg *cfg, nn_kv *kv, char *store);

/* Reads a configuration from a file's metadata. PF_EMODEL (logged) when
 * it is not a pixelfix U-Net or a value is missing or out of range. */
pf_status nn_unet_cfg_from_st(nn_unet_cfg *cfg, const nn_st *st, const pfi_logger *lg);

#endif /* PF_NN_UNET_H */
