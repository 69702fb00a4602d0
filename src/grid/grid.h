/*
 * grid.h - classical pixel-art analysis: native grid detection (non-integer
 * and slightly irregular), per-frame sub-pixel drift, canonical resampling
 * of every cell, per-cell colour, background estimation and keying.
 * Pure C on pixels; no BLAS, no files.
 */
#ifndef PF_GRID_H
#define PF_GRID_H

#include <stdint.h>

#include "../core/common.h"

/* A detected grid, in input pixel coordinates (x to the right, y down;
 * pixel i covers [i, i+1)). */
typedef struct pf_grid {
    int in_w, in_h;          /* input canvas, pixels */
    int cols, rows;          /* native size: cells covering at least half a cell */
    double *xb;              /* (cols + 1) column boundaries, increasing, input px */
    double *yb;              /* (rows + 1) row boundaries */
    double cell_w, cell_h;   /* mean period, input px */
    double offset_x, offset_y; /* phase: where boundary 0 would be for a regular grid, in [0, cell) */
    double confidence;       /* 0..1: periodicity strength of the edge profile */
} pf_grid;

/* Detection settings. */
typedef struct pf_grid_params {
    double scale;            /* forced cell size (both axes), 0 = detect */
    double min_cell;         /* smallest cell to consider, px; default 1.5 */
    double max_cell;         /* largest, px; default 48 */
    double min_confidence;   /* below this, PF_ENOGRID; default 0.25 */
    int irregular;           /* refine each boundary locally; default 1 */
} pf_grid_params;

pf_grid_params pf_grid_default_params(void);

/* The longest frame side the detector takes, pixels: its FFT lengths
 * (4 (side + 1) rounded up to a power of two) and sampled-line indices
 * (up to 511 side) then stay in int. */
#define PF_GRID_MAX_SIDE (1 << 22)

/* Detects the grid from n sample frames (each (h, w, 4) RGBA8), using the
 * edge profiles of every frame: the period is the frequency of maximum
 * phase coherence of the edge locations (a comb / Fourier estimate, then a
 * least-squares fit of the edges, to about 0.1 %), the phase comes from
 * the edges of each frame, each frame's drift is compensated, and
 * boundaries are then refined locally (irregular grids). Lossy-codec
 * artefacts (4:2:0 chroma, 8x8 blocks) are recognised and not taken for
 * a grid. confidence is 0 for no periodic structure and reaches 1 when
 * both axes show the same clear comb over a dozen cells or more.
 * On success g owns xb/yb (free with pf_grid_free). On PF_ENOGRID the
 * figures found (cell size, confidence) are still filled in, xb/yb NULL.
 * Errors: PF_EINVAL (no frames, w or h < 2, scale < 1, bad cell range),
 * PF_ELIMIT (w or h over PF_GRID_MAX_SIDE), PF_ENOMEM, PF_ENOGRID. */
pf_status pf_grid_detect(pf_grid *g, const uint8_t *const *frames, int n,
                         int w, int h, const pf_grid_params *p, const pf_logger *lg);

/* The sub-pixel drift of one frame against g, in input pixels, each in
 * (-cell/2, cell/2]: the frame's grid is g shifted by (dx, dy) (the
 * least-squares offset of the frame's edges from g's lines). Frames with
 * too few edges, or a side over PF_GRID_MAX_SIDE, give 0. About 10 ms for
 * a 720p frame. */
void pf_grid_drift(const pf_grid *g, const uint8_t *rgba, int w, int h,
                   double *dx, double *dy);

/* Canonical resampling: every cell (shifted by the drift) is area-sampled
 * into k x k samples. out is (4, rows*k, cols*k) planar float RGBA in
 * 0..1, NCHW-style with N = 1. Samples outside the canvas clamp to the
 * edge pixel. */
void pf_grid_sample(const pf_grid *g, double dx, double dy,
                    const uint8_t *rgba, int w, int h, int k, float *out);

/* Per-cell colour from canonical samples: per-channel median of the
 * cell's central samples (the inner half in each direction), a robust
 * estimate that ignores samples blurred across cell edges.
 * samples (4, rows*k, cols*k) -> cells (4, rows, cols), 0..1. */
void pf_grid_cells(const float *samples, int rows, int cols, int k, float *cells);

void pf_grid_free(pf_grid *g);

/* ---- background ---------------------------------------------------------- */

typedef enum { PF_BGK_NONE = 0, PF_BGK_SOLID = 1, PF_BGK_GRADIENT = 2, PF_BGK_ALPHA = 3 } pf_bg_kind;

/* A background model over the native frame: per channel
 * c(u, v) = a + b*u + c*v in 0..1 sRGB, u = x/cols, v = y/rows. */
typedef struct pf_background {
    pf_bg_kind kind;
    float coef[3][3];       /* [channel][a, b, c] */
    uint8_t rgb[3];         /* the colour at the centre, 0..255 */
    float tol;              /* OKLab distance under which a cell is background */
} pf_background;

/* Estimates the key colour from the border cells of n native frames
 * (cells: n x (4, rows, cols), 0..1): a robust plane fit with outlier
 * rejection; solid when the slope is negligible. kind NONE when the
 * border is not dominated by one colour/gradient, ALPHA when the input
 * already has transparent borders. */
void pf_background_estimate(pf_background *bg, const float *const *cells, int n,
                            int rows, int cols);

/* A solid background of the given colour (for --background COLOR). */
void pf_background_solid(pf_background *bg, const uint8_t rgb[3]);

/* Keys one native frame in place: cells connected (4-neighbour) to the
 * border whose colour is within bg->tol of the model get alpha 0; interior
 * cells of the same colour stay opaque. Input alpha < 0.5 is kept
 * transparent. cells (4, rows, cols); scratch holds rows*cols bytes. */
void pf_background_key(const pf_background *bg, float *cells, int rows, int cols,
                       uint8_t *scratch);

#endif /* PF_GRID_H */
