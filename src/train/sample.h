/*
 * sample.h - one training example as inference sees it: a clean clip
 * (a real animation, a synthetically animated tile, or a procedural
 * sprite) is degraded (degrade.h), the real grid detector runs on the
 * result, every frame is resampled onto the DETECTED grid exactly as
 * pf_stream does (drift, k x k canonical samples, per-cell colour,
 * background key), and the ground truth is aligned to that grid, not to
 * the true one. Draws whose grid is not found, or is found wrong, are
 * counted per degradation kind and replaced by the next draw.
 */
#ifndef PF_TRAIN_SAMPLE_H
#define PF_TRAIN_SAMPLE_H

#include <stdint.h>

#include "base/common.h"
#include "train/dataset.h"
#include "train/degrade.h"
#include "train/rng.h"

/* Degradation kinds: eleven of the evaluation set's (degrade.h PF_DKIND_GIF
 * .. PF_DKIND_MINORITY; opaque_scene, enclosed and minority_hue change the
 * clean clip first) and a twelfth, "any", over the full ranges (every
 * kernel, MJPEG, ...). */
#define PF_SAMPLE_KINDS 12

/* The degrade.h kind (PF_DKIND_*) of sample kind k. */
int pfi_sample_dkind(int k);

/* One sample kind 0..PF_SAMPLE_KINDS-1, uniformly among the set bits of
 * kinds (bit k = kind k; 0 = every kind): one pfi_rng_int over their
 * count, then the set bit of that rank. So the full set draws the same
 * kinds as 0, and a set without the kinds added since a trainer draws
 * the kinds that trainer drew (v3's: gif_dither to opaque_scene, any). */
int pfi_sample_draw_kind(uint32_t kinds, pfi_rng *r);

/* Clean-clip changes of two evaluation kinds (tests/evalset/compose.py),
 * in place on RGBA8 frames, opaque pixels meaning alpha >= 128:
 * - pfi_sample_ring (enclosed): a 1-2 px line behind the sprite (a ground
 *   line, an ellipse or the box around the opaque pixels of all frames),
 *   painted opaque on transparent pixels only, so that it encloses pockets
 *   of background; opaque pixels are left as they are;
 * - pfi_sample_recolour (minority_hue): the opaque colours within 0.1 OKLab
 *   of one of them (OKLab L 0.25..0.9) that hold 1-5% of the opaque pixels,
 *   or else the top rows of the sprite holding 2-4% of them, take a hue far
 *   from every chromatic colour holding 3% of the pixels, at chroma
 *   0.15..0.25 with their lightness kept; alpha is left as it is.
 * Either leaves the clip as it is when it finds nothing to work on. */
void pfi_sample_ring(pfi_anim *clip, pfi_rng *r);
void pfi_sample_recolour(pfi_anim *clip, pfi_rng *r);

typedef struct pfi_sample_cfg {
    int T;              /* frames per window, 2..64 */
    int crop;           /* H = W of the crop in native cells, a multiple of 4, 8..128 */
    int k;              /* canonical samples per cell side (4) */
    int grid_frames;    /* frames the detector sees, as pf_params.grid_frames (8) */
    double p_anim;      /* share of real animations (0..1) */
    double p_tile;      /* share of synthetically animated real tiles; the rest procedural */
    int kind;           /* degradation kind 0..PF_SAMPLE_KINDS-1, or -1 = uniform */
    uint32_t kinds;     /* with kind -1: the kinds drawn, bit k = kind k (pfi_sample_draw_kind); 0 = all */
    int max_native;     /* largest native canvas side before degrading, px (48) */
} pfi_sample_cfg;

pfi_sample_cfg pfi_sample_default_cfg(void);

/* Per-kind counts of draws and of draws whose grid was missed. */
typedef struct pfi_sample_stats {
    int64_t drawn[PF_SAMPLE_KINDS];
    int64_t no_grid[PF_SAMPLE_KINDS];     /* PF_ENOGRID */
    int64_t wrong_grid[PF_SAMPLE_KINDS];  /* a grid whose centres miss the true ones (pfi_sample_from_clip) */
} pfi_sample_stats;

typedef struct pfi_sample {
    int T, H, W, k;
    float *samples;     /* (T, 4, H*k, W*k) canonical samples, 0..1 */
    float *cells;       /* (T, 4, H, W) classical colour + keyed alpha, 0..1 */
    float *gt;          /* (T, 4, H, W) ground truth RGBA on the detected grid, 0..1 */
    float *valid;       /* (T, H, W) 1 on grid cells, 0 on the replicate padding of small
                           grids (the same for every frame) */
    float bg[3];        /* estimated background, 0..1 (0 when none) */
    int kind;           /* degradation kind */
    int source;         /* 0 animation, 1 tile, 2 procedural */
    int wrong_grid;     /* set by pfi_sample_from_clip: PF_ENOGRID meant a grid off the true one */
} pfi_sample;

/* Allocates the buffers for cfg's shapes. Errors: PF_EINVAL, PF_ENOMEM. */
pf_status pfi_sample_alloc(pfi_sample *s, const pfi_sample_cfg *cfg);
void pfi_sample_free(pfi_sample *s);

/* Makes the example of seed (deterministic: the same seed and data give
 * the same bytes). d may hold no animations or tiles (procedural only).
 * stats (may be NULL) is updated. Errors: PF_ENOGRID after 32 draws
 * without a usable grid, PF_ENOMEM, or the degradation's error. */
pf_status pfi_sample_make(pfi_sample *s, const pfi_dataset *d, const pfi_sample_cfg *cfg,
                         uint64_t seed, pfi_sample_stats *stats, const pfi_logger *lg);

/* One example from a clip already degraded: `deg` is `clean` through dp
 * with geometry geom (pfi_degrade_clip). The lattice, background, samples
 * and keyed cells come from pfi_sampler on deg's first cfg->grid_frames
 * frames, exactly as pf_stream makes them; a random crop of cfg->crop
 * cells (r draws it); the GT of each cell is the clean pixel at the true
 * native coordinate of the cell's centre in that frame
 * (pfi_degrade_native_at), straight or bent. s's buffers come from
 * pfi_sample_alloc(cfg). Errors: PF_EINVAL, PF_ENOMEM, PF_ENOGRID (no grid,
 * or one off the true one: the detected centres of the first frame sit on
 * average more than 0.3 cell (|dx| + |dy|) from the true ones, where a
 * wrong grid gives 0.5: s->wrong_grid). */
pf_status pfi_sample_from_clip(pfi_sample *s, const pfi_anim *clean, const pfi_anim *deg, const pfi_degrade *dp,
                              const pfi_degrade_geom *geom, const pfi_sample_cfg *cfg, pfi_rng *r);

#endif /* PF_TRAIN_SAMPLE_H */
