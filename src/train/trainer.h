/*
 * trainer.h - `pixelfix train`: trains the restoration model (model.h) on
 * examples made on the fly (sample.h) with AdamW (optim.h), checkpoints
 * atomically and resumes bit for bit, logs losses and periodic validation
 * (validate.h) as CSV, and writes the final model.
 *
 * Files in cfg->out_dir: checkpoint.safetensors (F32 values, AdamW
 * moments, step), train.csv, val.csv, model.safetensors (F16, at the end).
 *
 * Loss per example (colours 0..1, T frames of H x W cells):
 *   rgb = cells + correction (unclamped while training), z = alpha logit
 *   + NN_ALPHA_PRIOR (2 alpha_cells - 1), alpha = sigmoid(z);
 *   L = w_rgb Charbonnier(rgb, GT rgb | GT opaque)
 *     + w_rgb w_rgb_keyed Charbonnier(rgb, the cell's own rgb | GT transparent
 *       but the key left it opaque): a blend with the background that the
 *       palette clears by its colour (fringe.c), so the network should leave
 *       it as it is; 0 (the default, and every shipped model so far) leaves
 *       the network's correction there untrained
 *     + w_alpha BCE(z, GT alpha)
 *     + w_temporal temporal-difference(premultiplied RGBA, GT's)
 *     + w_snap palette snap(rgb, the window's GT colours | GT opaque): the
 *       squared sRGB distance to the nearest colour of the clip's own
 *       palette, aimed at exact palette colours (skipped for a window of
 *       more than 256 GT colours). In sRGB, not OKLab: loss.c's OKLab has
 *       a cube root whose slope near black is ~1e5, and black outlines
 *       then own the gradient
 * (loss.h), over the cells on the grid (not the padding of small grids).
 * Every example of step s has the seed hash(seed, s * batch + b), so a
 * resumed run sees the same data as an uninterrupted one.
 */
#ifndef PF_TRAIN_TRAINER_H
#define PF_TRAIN_TRAINER_H

#include <stdint.h>

#include "base/common.h"
#include "nn/optim.h"
#include "nn/unet.h"
#include "train/sample.h"

typedef struct pfi_train_cfg {
    const char *out_dir;      /* created if missing */
    const char *data_dir;     /* clean material (manifest.json); NULL = procedural sprites only */
    const char *exclude;      /* packages not to train on besides the validation ones, or NULL */
    const char *val_dir;      /* evaluation split for periodic validation, or NULL */
    int val_stride;           /* validate on every n-th case (1 = all) */
    nn_unet_cfg net;          /* architecture; in_ch follows sample.k */
    pfi_sample_cfg sample;     /* T, crop, k, data mix */
    int batch;                /* examples per step */
    int64_t steps;            /* total steps (the schedule's length) */
    nn_adamw_cfg opt;         /* opt.total is set to steps */
    float w_rgb, w_alpha, w_temporal, w_snap;   /* w_snap: 0 = off (the default) */
    float w_rgb_keyed;        /* relative weight of the RGB loss on key-opaque GT-transparent
                                 cells (see above); 0 = off (the default) */
    int threads;              /* network threads (gemm.h); the data thread is extra */
    int prefetch;             /* examples made ahead on a second thread; 0 = inline */
    uint64_t seed;
    int log_every, ckpt_every, val_every;  /* steps; 0 = never (the end still checkpoints) */
    double max_minutes;       /* checkpoint and stop after this much wall time; 0 = none */
    int resume;               /* continue from out_dir/checkpoint.safetensors */
    int classical_alpha;      /* 1: alpha stays the classical key's (the alpha logit is not
                                 used or trained; the model file says pf.alpha classical) */
} pfi_train_cfg;

/* Defaults: the default U-Net (unet.h), pfi_sample_default_cfg, batch 4,
 * 20000 steps, AdamW lr 1e-3 warm-up 200 cosine to 2e-5, weights 1 / 0.5
 * / 0.5, 1 thread, prefetch 8, seed 1, log 10, checkpoint 250, validate
 * every 1000 steps on every 2nd case. */
pfi_train_cfg pfi_train_default_cfg(void);

/* What one progress report carries. */
typedef struct pfi_train_status {
    int64_t step, steps;
    double loss, l_rgb, l_alpha, l_temporal, l_snap;  /* means over the last log_every steps */
    double lr, grad_norm;
    double samples_per_s;     /* examples per second since the start (or resume) */
    double data_wait;         /* share of the time the network waited for data */
    double eta_s;             /* seconds to the end at the current pace */
    pfi_sample_stats stats;    /* draws and missed grids per kind */
    int stopping;             /* 1 on the last report */
} pfi_train_status;

/* Called every log_every steps; a non-zero return stops the run after a
 * checkpoint. */
typedef int (*pfi_train_progress_fn)(void *user, const pfi_train_status *s);

/* One example's forward and backward (the loss above), for tests: adds
 * dL/dtheta / cfg->batch to m->p.grad (allocated by the caller) and
 * returns the weighted loss in *loss. s->T, H, W must suit m (H, W
 * multiples of 2^(levels-1)). Errors: PF_EINVAL, PF_ENOMEM. */
struct nn_model;
pf_status pfi_train_example(struct nn_model *m, const pfi_sample *s, const pfi_train_cfg *cfg, double *loss);

/* Writes the weights of out_dir/checkpoint.safetensors as a model file at
 * path (F16), with pf.alpha from cfg->classical_alpha: how a model is cut
 * from a run. Errors: PF_EMODEL (no or bad checkpoint), PF_EOUTPUT,
 * PF_ENOMEM. */
pf_status pfi_train_export(const pfi_train_cfg *cfg, const char *path, const pfi_logger *lg);

/* Trains. Errors: PF_EINVAL (a bad configuration, named in the log),
 * PF_EIO / PF_EFORMAT / PF_ENOFRAMES (training data: dataset.h),
 * PF_EMODEL (a checkpoint that does not fit cfg->net), PF_EOUTPUT,
 * PF_ENOMEM, PF_EABORTED (stopped by the callback or max_minutes: a
 * checkpoint was written and --resume continues). */
pf_status pfi_train(const pfi_train_cfg *cfg, pfi_train_progress_fn progress, void *user,
                   const pfi_logger *lg);

#endif /* PF_TRAIN_TRAINER_H */
