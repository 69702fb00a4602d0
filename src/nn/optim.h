/*
 * optim.h - AdamW (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", 2019) over a parameter table, with global gradient-norm
 * clipping and a linear warm-up + cosine learning-rate schedule.
 * The gradients are true dL/dtheta and the update SUBTRACTS.
 */
#ifndef PF_NN_OPTIM_H
#define PF_NN_OPTIM_H

#include <stdint.h>

#include "pixelfix.h"
#include "nn/param_table.h"

typedef struct nn_adamw_cfg {
    float lr;            /* peak learning rate, e.g. 1e-3 */
    float lr_min;        /* floor of the cosine, e.g. 1e-5 */
    int warmup;          /* steps of linear warm-up from lr/warmup to lr */
    int total;           /* steps at which the cosine reaches lr_min */
    float beta1, beta2;  /* moment decays, 0.9 and 0.999 */
    float eps;           /* 1e-8 */
    float weight_decay;  /* decoupled, per step multiplied by lr; 0.01 */
    float clip_norm;     /* global L2 gradient-norm limit; 0 = none */
} nn_adamw_cfg;

/* The values in the comments above; total = 10000, warmup = 100. */
nn_adamw_cfg nn_adamw_default(void);

/* Learning rate for step s (0-based): lr * (s + 1) / warmup during warm-up,
 * then lr_min + (lr - lr_min) (1 + cos(pi * progress)) / 2, constant at
 * lr_min after total steps. */
float nn_lr_at(const nn_adamw_cfg *c, int64_t s);

typedef struct nn_adamw {
    nn_adamw_cfg cfg;
    int64_t step;        /* steps taken so far */
    float lr;            /* learning rate of the last step */
    double grad_norm;    /* global gradient norm before clipping, last step */
} nn_adamw;

void nn_adamw_init(nn_adamw *o, const nn_adamw_cfg *cfg);

/* One update of every tensor of p from p->grad (moments allocated on first
 * use). Gradients are not cleared. A non-finite gradient norm skips the
 * update (step and moments unchanged) and returns PF_EINVAL; PF_ENOMEM if
 * the moments cannot be allocated. */
pf_status nn_adamw_step(nn_adamw *o, nn_params *p);

#endif /* PF_NN_OPTIM_H */
