/*
 * model.h - the restoration model of docs/architecture.md section 4 around the
 * temporal U-Net: what goes in (pixel-unshuffled canonical samples plus the
 * background colour), what comes out (an RGB correction added to the
 * classical cell colour, an alpha logit added to the classical key's
 * prior), its weight file, and one window's inference.
 *
 * Per frame the input is (4k^2 + 3, H, W): channel (c*k + i)*k + j holds
 * sample (i, j) of channel c (R, G, B, alpha) of every cell (PyTorch's
 * PixelUnshuffle order), the last 3 channels the background colour, all
 * 0..1 (sRGB). Alpha is an input because an input with real transparency
 * has black under it, which the RGB alone cannot tell from black paint. H and W are
 * padded up to a multiple of 2^(levels-1) by repeating the last row and
 * column, and the padding is cropped from the output.
 */
#ifndef PF_NN_MODEL_H
#define PF_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "nn/gemm.h"
#include "nn/unet.h"
#include "nn/weights.h"

/* The classical key enters as a logit of +-NN_ALPHA_PRIOR: the network
 * corrects the key rather than learning it from nothing. */
#define NN_ALPHA_PRIOR 4.0f

/* The model: what a file holds. After loading it is only read (the
 * trainer alone writes its parameters), so one nn_model serves any number
 * of nn_states at once, from any threads. */
typedef struct nn_model {
    nn_unet_cfg cfg;
    int k;                  /* canonical samples per cell side: in_ch = 4k^2 + 3 */
    nn_params p;            /* values allocated */
    nn_unet net;            /* the layers' rows in p; never planned (each state
                               plans its own copy) */
    int classical_alpha;    /* 1: alpha is the classical key's and the alpha logit is
                               not used ("pf.alpha": "classical" in __metadata__) */
} nn_model;

/* One run's mutable state, apart from the model as whisper.cpp keeps
 * whisper_state apart from whisper_context: the network planned for a
 * window shape, its packed input, the run's threads, and the encoder
 * features of the last window for the next one to reuse. */
typedef struct nn_state {
    nn_unet net;            /* the model's layers, planned per window shape */
    float *x;               /* (T, in_ch, Hp, Wp) packed input */
    size_t x_cap;           /* floats allocated in x */
    nn_pool *pool;          /* the run's threads (NULL: the calling thread alone) */
    int held;               /* frames of the last whole-frame window whose encoder
                               features net still holds (0: none) */
    int64_t encoded;        /* frames whose 2-D encoder ran, over the state's life */
} nn_state;

/* k from in_ch = 4k^2 + 3, or -1 when in_ch has no such form (k 1..8). */
int nn_model_k_from_in_ch(int in_ch);

/* Builds the parameter table of cfg and allocates its values, filled by
 * the caller (or nn_model_init_random). cfg->in_ch must be 4k^2 + 3 and
 * cfg->out_ch 4. Errors: PF_EINVAL, PF_ENOMEM. */
pf_status nn_model_init(nn_model *m, const nn_unet_cfg *cfg);

/* nn_model_init plus seeded initialisation (Kaiming, Dirac temporal
 * kernels, zero biases; see init.h). */
pf_status nn_model_init_random(nn_model *m, const nn_unet_cfg *cfg, uint64_t seed);

/* Loads a model file: the architecture from __metadata__ (unet.h), then
 * every tensor (weights.h). max_bytes: size limit (0 = none).
 * Errors, each logged with what is wrong: PF_EMODEL (missing, unreadable,
 * truncated, not a pixelfix model, or a tensor that is missing, unknown
 * or of the wrong shape: the message names it), PF_ELIMIT, PF_ENOMEM. */
pf_status nn_model_load(nn_model *m, const char *path, size_t max_bytes, const pfi_logger *lg);

/* Writes the model (values as dtype, F32 or F16) with its architecture in
 * __metadata__, atomically. Errors: PF_EOUTPUT, PF_ENOMEM. */
pf_status nn_model_save(const nn_model *m, const char *path, nn_dtype dtype, const pfi_logger *lg);

void nn_model_free(nn_model *m);

/* A state for running m with `threads` threads (1: the calling thread
 * alone, no pool; <= 0: one per online CPU). m must outlive the state.
 * Allocates nothing of the network's size: that happens at the first run.
 * Errors: PF_ENOMEM. */
pf_status nn_state_init(nn_state *s, const nn_model *m, int threads);

/* Frees the state's plan, input and threads; s may be zeroed. */
void nn_state_free(nn_state *s);

/* Packs T frames into s->x: samples[t] is (4, H*k, W*k),
 * bg the background colour (3, 0..1). Lays out s->x and s->net for
 * (T, Hp, Wp), with gradients when training (nn_unet_plan).
 * Errors: PF_EINVAL, PF_ENOMEM. */
pf_status nn_model_pack(const nn_model *m, nn_state *s, const float *const *samples,
                        const float bg[3], int T, int H, int W, int training);

/* Memory one inference window of T frames of H x W cells takes (the packed
 * input and the network's arena), in bytes, SIZE_MAX when beyond size_t;
 * allocates nothing and leaves the network unplanned. Errors: PF_EINVAL. */
pf_status nn_model_window_bytes(const nn_model *m, int T, int H, int W, size_t *bytes);

/* One window on state s: pack, forward, compose. cells[t] is the classical result
 * (4, H, W): RGB 0..1 and the classical key's alpha 0..1. out[t] gets
 * (4, H, W): RGB = cells RGB + correction (clamped to 0..1), alpha =
 * sigmoid(logit + NN_ALPHA_PRIOR * (2 alpha_cells - 1)), the logit taken as 0
 * when m->classical_alpha. A non-finite network output (weights that
 * overflow) is taken as no correction, so out is always finite.
 * reuse (0 .. T/2): the first reuse frames are the last reuse frames of the
 * previous run on s (same T, H, W, bg): their 2-D encoder features are
 * taken from it instead of recomputed (the encoder runs frame by frame
 * before any temporal mixing, unet.h), bit-identical to reuse = 0. When s
 * holds no such features (its first run, another shape, a tiled run in
 * between) they are computed. Trailing frames given as the same samples
 * and cells pointers as the frame before (a window padded at the end of a
 * clip, as nn_windower pads it) run through neither the encoder nor the
 * decoder: their output is that frame's, and the real frames' outputs are
 * bit for bit those of a window that computes the repeats.
 * Errors: PF_EINVAL, PF_ENOMEM. */
pf_status nn_model_run(const nn_model *m, nn_state *s, const float *const *samples,
                       const float *const *cells, const float bg[3], int T, int H, int W,
                       int reuse, float *const *out);

/* Tiled inference, for frames whose whole window would not fit a memory
 * budget. A tile of S x S cells is run with a halo of NN_TILE_HALO cells
 * of real neighbours on each side (clamped at the frame's edges, where the
 * whole-frame run has its own padding), and only its centre is kept. The
 * network's receptive field is wider (68 cells for the shipped model at
 * T = 8, through the ConvGRU), but a change 16 cells away moves its output
 * by under 5e-6 (an impulse on pixelfix-v2), and tiles of 32 on random
 * input differ from the whole-frame run by at most 5.4e-4 (test_model),
 * a seventh of one 8-bit level. Tile origins and the
 * halo are multiples of 2^(levels-1), so the pooling grid stays the
 * whole frame's. */
#define NN_TILE_HALO 16

/* The tile side S (cells, a multiple of 2^(levels-1)) that nn_model_run_tiled
 * uses for a window of T frames of H x W cells under max_bytes (0 = no
 * limit), and the bytes it takes then (network, packed input and the tile
 * buffers); S = 0 when the whole frame fits as one tile (no tiling), -1 when
 * not even the smallest tile (32 cells) fits. Allocates nothing.
 * Errors: PF_EINVAL. */
pf_status nn_model_tile_plan(const nn_model *m, int T, int H, int W, size_t max_bytes, int *S, size_t *bytes);

/* nn_model_run, in tiles of S x S cells (nn_model_tile_plan; S = 0 runs the
 * whole frame, with reuse as nn_model_run; tiles reuse nothing). Same
 * arguments and output as nn_model_run.
 * Errors: PF_EINVAL, PF_ENOMEM. */
pf_status nn_model_run_tiled(const nn_model *m, nn_state *s, const float *const *samples,
                             const float *const *cells, const float bg[3], int T, int H, int W,
                             int S, int reuse, float *const *out);

#endif /* PF_NN_MODEL_H */
