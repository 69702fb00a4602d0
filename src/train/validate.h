/*
 * validate.h - scores a model (or the classical path) on an evaluation
 * split in-process, with pixelfix eval's metrics (docs/metrics.md): each
 * case's input goes through pf_stream exactly as `pixelfix INPUT -o
 * FRAMES/` restores it, and the frames are compared with the case's GT.
 * Used for the periodic validation of training.
 */
#ifndef PF_TRAIN_VALIDATE_H
#define PF_TRAIN_VALIDATE_H

#include "base/common.h"

#define PF_VAL_MAX_KINDS 16   /* the evaluation set has 12 */

typedef struct pfi_val_kind {
    char name[32];          /* degradation kind, e.g. "h264_smooth" */
    int cases, failed;      /* cases scored; of which restores failed (scored 0) */
    double acc, acc_opaque, alpha_iou, flicker;   /* means; flicker over restored cases */
} pfi_val_kind;

typedef struct pfi_val_result {
    pfi_val_kind kind[PF_VAL_MAX_KINDS];
    int n_kinds;
    pfi_val_kind all;        /* every case */
    double ms;              /* wall time */
} pfi_val_result;

/* Restores every stride-th case (1 = all) of split_dir (its <case>/case.json
 * with input, gt and kind) with the model file at model_path (NULL = the
 * classical path) and default pf_params otherwise, and averages the
 * metrics per kind. Errors: PF_EIO (no cases under split_dir), PF_EMODEL,
 * PF_ENOMEM. A case whose restore fails counts with acc 0 (as run.py). */
pf_status pfi_validate(pfi_val_result *res, const char *split_dir, const char *model_path, int stride,
                      const pfi_logger *lg);

#endif /* PF_TRAIN_VALIDATE_H */
