/*
 * convgru.h - the convolutional GRU (Ballas et al. 2016, "Delving Deeper
 * into Convolutional Networks for Learning Video Representations") run
 * across the T frames of a (T, C, H, W) window, with backpropagation
 * through time, and its bidirectional variant.
 *
 * One step, with * a KxK "same" convolution and h_{-1} = 0:
 *   z = sigmoid(Wxz * x_t + Whz * h + bz)        update gate
 *   r = sigmoid(Wxr * x_t + Whr * h + br)        reset gate
 *   n = tanh   (Wxn * x_t + Whn * (r . h) + bn)  candidate
 *   h_t = (1 - z) . h + z . n
 * The three input convolutions do not depend on h, so they run as one
 * batched convolution over all T frames before the recurrence.
 */
#ifndef PF_NN_CONVGRU_H
#define PF_NN_CONVGRU_H

#include <stddef.h>

#include "pixelfix.h"
#include "nn/tensor.h"

/* Parameters of one direction (or their gradients: same layout). */
typedef struct nn_convgru_w {
    float *wx;   /* (3*Ch, Cx, K, K): input to z, r, n, in that order */
    float *bx;   /* (3*Ch) */
    float *wh;   /* (2*Ch, Ch, K, K): hidden to z, r */
    float *wn;   /* (Ch, Ch, K, K): reset hidden to n */
} nn_convgru_w;

/* Geometry and per-step caches of one direction, carved from an arena by
 * nn_convgru_alloc. Forward fills the caches; backward reads them. */
typedef struct nn_convgru {
    int T, Cx, Ch, H, W, K;
    int reverse;     /* 1: runs from frame T-1 down to 0 */
    float *gx;       /* (T, 3*Ch, H, W) input-convolution pre-activations */
    float *zr;       /* (T, 2*Ch, H, W) gates z (channels 0..Ch-1) and r */
    float *n, *rh;   /* (T, Ch, H, W) candidate and r . h_prev */
    float *dg;       /* (T, 3*Ch, H, W) gradients of the pre-activations */
    float *dh, *drh; /* (Ch, H, W) scratch */
    float *ws;       /* conv workspace */
} nn_convgru;

/* Carves the caches of a T-frame window from the arena (a measuring
 * arena just counts). K is odd; padding keeps H x W. */
void nn_convgru_alloc(nn_convgru *g, nn_arena *a, int T, int Cx, int Ch,
                      int H, int W, int K, int reverse);

/* hs = ConvGRU(x): hs: (T, Ch, H, W), overwritten (the hidden state after
 * each frame, in frame order whatever the direction); x: (T, Cx, H, W). */
void nn_convgru_forward(nn_convgru *g, float *hs, const float *x, const nn_convgru_w *w);

/* Backpropagation through time. Accumulates dx: (T, Cx, H, W) (or NULL)
 * and the parameter gradients dw (members may be NULL only all together:
 * pass dw = NULL to skip them); dhs: (T, Ch, H, W) is dL/dhs; x and hs
 * are the forward input and output, and the caches must be those of the
 * forward pass on them. */
void nn_convgru_backward(nn_convgru *g, float *dx, const nn_convgru_w *dw,
                         const float *dhs, const float *x, const float *hs,
                         const nn_convgru_w *w);

/* How a bidirectional ConvGRU merges its two directions. */
typedef enum nn_bidir {
    NN_BIDIR_CONCAT = 0, /* y = [h_fwd, h_bwd]: (T, 2*Ch, H, W) */
    NN_BIDIR_SUM = 1     /* y = h_fwd + h_bwd: (T, Ch, H, W) */
} nn_bidir;

typedef struct nn_biconvgru {
    nn_convgru fwd, bwd;
    nn_bidir merge;
    float *hf, *hb;      /* (T, Ch, H, W) outputs of each direction */
    float *dhf, *dhb;    /* (T, Ch, H, W) their gradients (scratch) */
} nn_biconvgru;

void nn_biconvgru_alloc(nn_biconvgru *g, nn_arena *a, int T, int Cx, int Ch,
                        int H, int W, int K, nn_bidir merge);

/* y: (T, 2*Ch or Ch, H, W), overwritten; x: (T, Cx, H, W);
 * wf, wb: the weights of the forward and backward directions. */
void nn_biconvgru_forward(nn_biconvgru *g, float *y, const float *x,
                          const nn_convgru_w *wf, const nn_convgru_w *wb);

/* Accumulates dx (or NULL), dwf, dwb (or NULL) from dy (shaped like y). */
void nn_biconvgru_backward(nn_biconvgru *g, float *dx, const nn_convgru_w *dwf,
                           const nn_convgru_w *dwb, const float *dy, const float *x,
                           const nn_convgru_w *wf, const nn_convgru_w *wb);

#endif /* PF_NN_CONVGRU_H */
