/*
 * dataset.h - the clean training material in memory: the animations and
 * static tiles that tests/evalset/fetch.py sliced from Debian packages
 * (tests/data/cache/clean/manifest.json), minus the validation packages.
 * Clean means native resolution, binary alpha, transparent = (0, 0, 0, 0).
 * It does not degrade or animate anything (degrade.h, synth.h do).
 */
#ifndef PF_TRAIN_DATASET_H
#define PF_TRAIN_DATASET_H

#include <stdint.h>

#include "base/common.h"
#include "io/io.h"

/* Packages held out for validation (docs/data.md, "Splits"): never
 * loaded for training whatever the manifest says. NULL-terminated. */
extern const char *const pfi_val_packages[];

typedef struct pfi_tile {
    uint8_t *rgba;          /* (h, w, 4) */
    int w, h;
    double texture;         /* mean OKLab distance of its pixels to their mean colour;
                               -1 unless fully opaque with at least 4 pixels */
} pfi_tile;

typedef struct pfi_dataset {
    pfi_anim *anims;         /* clean animations, native px */
    int n_anims;
    pfi_tile *tiles;         /* static images, animated synthetically */
    int n_tiles;
    int n_packages;         /* distinct packages loaded */
    int64_t frames;         /* animation frames in total */
} pfi_dataset;

/* Loads every animation and tile of the manifest at clean_dir/manifest.json
 * whose package is not a validation package (nor listed in exclude, a
 * comma-separated list or NULL). Animations and tiles over 256x256 px are
 * skipped. Errors: PF_EIO (no or unreadable manifest: the message says to
 * run tests/evalset/fetch.py), PF_EFORMAT (malformed manifest or PNG),
 * PF_ENOFRAMES (nothing left to train on), PF_ENOMEM. */
pf_status pfi_dataset_load(pfi_dataset *d, const char *clean_dir, const char *exclude,
                          const pfi_logger *lg);

void pfi_dataset_free(pfi_dataset *d);

#endif /* PF_TRAIN_DATASET_H */
