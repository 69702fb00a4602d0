/*
 * grid.h - classical pixel-art analysis: native grid detection (non-integer
 * and slightly irregular), per-frame sub-pixel drift, canonical resampling
 * of every cell, per-cell colour, background estimation and keying.
 * Pure C on pixels; no BLAS, no files.
 */
#ifndef PF_GRID_H
#define PF_GRID_H

#include <stdint.h>

#include "base/common.h"

/* A detected grid, in input pixel coordinates (x to the right, y down;
 * pixel i covers [i, i+1)). */
typedef struct pfi_grid {
    int in_w, in_h;          /* input canvas, pixels */
    int cols, rows;          /* native size: cells covering at least half a cell */
    double *xb;              /* (cols + 1) column boundaries, increasing, input px */
    double *yb;              /* (rows + 1) row boundaries */
    double cell_w, cell_h;   /* mean period, input px */
    double offset_x, offset_y; /* phase: where boundary 0 would be for a regular grid, in [0, cell) */
    double confidence;       /* 0..1: periodicity strength of the edge profile */
} pfi_grid;

/* Detection settings. */
typedef struct pfi_grid_params {
    double scale;            /* forced cell size (both axes), 0 = detect */
    double min_cell;         /* smallest cell to consider, px; default 1.5 */
    double max_cell;         /* largest, px; default 48 */
    double min_confidence;   /* below this, PF_ENOGRID; default 0.25 */
    int irregular;           /* refine each boundary locally; default 1 */
} pfi_grid_params;

pfi_grid_params pfi_grid_default_params(void);

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
 * On success g owns xb/yb (free with pfi_grid_free). On PF_ENOGRID the
 * figures found (cell size, confidence) are still filled in, xb/yb NULL.
 * Errors: PF_EINVAL (no frames, w or h < 2, scale < 1, bad cell range),
 * PF_ELIMIT (w or h over PF_GRID_MAX_SIDE), PF_ENOMEM, PF_ENOGRID. */
pf_status pfi_grid_detect(pfi_grid *g, const uint8_t *const *frames, int n,
                         int w, int h, const pfi_grid_params *p, const pfi_logger *lg);

/* Buffers for one frame's edge profiles, sized once for frames up to
 * w x h (n = max(w, h)) and reused, so that pfi_grid_drift allocates
 * nothing per frame. The fields belong to the detector:
 *   px      (h, w, 4) premultiplied luma, two chroma differences and
 *           alpha, 0..255 scale;
 *   fx, fy  (w + 1), (h + 1) edge profiles at pixel-boundary coordinates;
 *   cx, cy  (5, w + 1), (5, h + 1) edge-location combs at steps 1, 2, 4,
 *           8 and 16 px;
 *   tmp     (n + 1) floats; cs (n + 1, 4) a line's prefix sums; v (n + 1).
 * About 8 w h bytes (7 MiB for 720p). One per stream: not for two
 * threads at once. */
typedef struct pfi_grid_scratch {
    int w, h;                /* the largest frame it serves, px; 0 when none */
    int16_t *px;
    float *fx, *fy, *cx, *cy, *tmp;
    double *cs, *v;
    int chroma;              /* pfi_grid_chroma_subsampled of the first frame
                                pfi_grid_drift saw (a clip's codec is one), -1 before */
} pfi_grid_scratch;

/* Errors: PF_EINVAL (s NULL, w or h < 2), PF_ELIMIT (a side over
 * PF_GRID_MAX_SIDE), PF_ENOMEM; on failure nothing is held. */
pf_status pfi_grid_scratch_init(pfi_grid_scratch *s, int w, int h);
/* Frees; a zeroed or freed scratch is fine. */
void pfi_grid_scratch_free(pfi_grid_scratch *s);

/* The sub-pixel drift of one frame rgba (h, w, 4) RGBA8 against g, in
 * input pixels, each in (-cell/2, cell/2]: the frame's grid is g shifted
 * by (dx, dy) (the least-squares offset of the frame's edges from g's
 * lines). An axis whose edges show no comb at g's period (coherence 0.05
 * or less: a flat frame, too few edges) gets 0 with PF_OK: no evidence of
 * a shift reads as no shift, which is what every caller wants. scratch:
 * from pfi_grid_scratch_init with sizes of at least w and h, one per clip:
 * it keeps whether the first frame's chroma is subsampled. About 6 ms
 * for a 720p frame. Errors (dx and dy then 0): PF_EINVAL (a NULL
 * argument, w or h < 2 or over the scratch's size, g without a cell
 * size). */
pf_status pfi_grid_drift(const pfi_grid *g, const uint8_t *rgba, int w, int h,
                        pfi_grid_scratch *scratch, double *dx, double *dy);

/* Canonical resampling: every cell (shifted by the drift) is area-sampled
 * into k x k samples. out is (4, rows*k, cols*k) planar float RGBA in
 * 0..1, NCHW-style with N = 1. Samples outside the canvas clamp to the
 * edge pixel. */
void pfi_grid_sample(const pfi_grid *g, double dx, double dy,
                    const uint8_t *rgba, int w, int h, int k, float *out);

/* The area mean of the box [x0, x1) x [y0, y1) (input px, exact
 * fractional coverage; pixels outside the canvas clamp to its edge), RGBA
 * in 0..1. A degenerate interval samples the pixel at its point. */
void pfi_grid_sample_box(const uint8_t *rgba, int w, int h, double x0, double x1, double y0,
                        double y1, float out[4]);

/* Per-cell colour from canonical samples: per-channel median of the
 * cell's central samples (the inner half in each direction), a robust
 * estimate that ignores samples blurred across cell edges.
 * samples (4, rows*k, cols*k) -> cells (4, rows, cols), 0..1. */
void pfi_grid_cells(const float *samples, int rows, int cols, int k, float *cells);

/* Per-cell area mean from canonical samples: the mean of each channel
 * over the cell's k x k samples, what a box resize to the native size
 * gives. samples (4, rows*k, cols*k) -> means (rows, cols, 4), 0..1. */
void pfi_grid_cell_means(const float *samples, int rows, int cols, int k, float *means);

void pfi_grid_free(pfi_grid *g);

/* The extent (px) that whole upscaled native pixels cover along a frame
 * side of n px, for counting cells of per px: an upscale of W pixels by s
 * is round(W s) px, and encoders and scalers that need even sides (4:2:0)
 * add one px to an odd one. Taking half a pixel off even sides, round(extent
 * / s) is W either way for s > 2; at 2 px and under, where one pixel is
 * half a cell, n itself. */
static inline double pfi_grid_extent(int n, double per)
{
    return (n % 2 == 0 && per > 2) ? n - 0.5 : n;
}

/* The k (1..8) for which per (px) lies within tol * per of 16 / k px: the
 * periods of a comb locked to a codec's 16-pixel macroblocks (H.264, VP8;
 * JPEG's 8 px blocks at k = 2); 0 for none (detect.c). */
int pfi_codec_harmonic(double per, double tol);

/* 1 when one RGBA8 frame (h, w, 4) carries subsampled chroma (JPEG, H.264,
 * lossy WebP 4:2:0): its chroma changes mostly at every other pixel, a comb
 * the luma does not have. Detectors then use luma and alpha only. */
int pfi_grid_chroma_subsampled(const uint8_t *rgba, int w, int h);

/* ---- cell-size candidates ------------------------------------------------ */

/* One nominal cell size and how much the edges back it. */
typedef struct pfi_cell_candidate {
    double cell;         /* nominal cell size, input px (square cells) */
    double confidence;   /* 0..1, from contrast and score */
    double score;        /* mean local coherence of the edges at this size, 0..1 */
    double contrast;     /* score over the median score at sizes around it, >= 0 */
} pfi_cell_candidate;

/* Ranks nominal cell sizes from min_cell to max_cell input px (at least
 * 2.5, at most a sixth of the smaller side) by the local coherence of the
 * edges of up to 3 of the n frames (h, w, 4) RGBA8: every band of 2 p lines
 * demodulated at 1 / p under a 1.5-cell window, so a lattice that bends
 * (cell size drifting 10-20 % across the frame, as video models draw it)
 * scores as well as a straight one. Fills out[0 .. *n_out - 1], at most
 * max_out, best first. *n_out = 0 when nothing stands out.
 * About 0.2 s for three 640x640 frames.
 * Errors: PF_EINVAL, PF_ELIMIT (a side over PF_GRID_MAX_SIDE), PF_ENOMEM. */
pf_status pfi_grid_candidates(const uint8_t *const *frames, int n, int w, int h, double min_cell,
                             double max_cell, pfi_cell_candidate *out, int max_out, int *n_out,
                             const pfi_logger *lg);

/* The "fine pair" (fine_pair.c): a cell of 2-3.2 input px that both axes
 * show as a local maximum of their whitened first-difference spectra
 * (within 1 % of each other), for small bilinear or bicubic upscales whose
 * comb the detector's edge-location profiles lose. Reads up to 8 of the n
 * frames (h, w, 4) RGBA8, opaque pixels only. Returns the period in px (0
 * when no pair) and sets *score, the smaller of the two peaks over their
 * running median (>= 1; art at its native size: 1.6 at the 99th
 * percentile, 2.1 at most over the evaluation set's 193 GT clips where
 * it ran). Frames under 16 px or over PF_GRID_MAX_SIDE a side,
 * or no memory: 0. Cost O(w^2 + h^2) per frame's profile pass. */
double pfi_grid_fine_pair(const uint8_t *const *frames, int n, int w, int h, double *score);

/* The "fit pair" (fine_fit.c): a cell of 2-3.4 input px at which a
 * least-squares fit of each line of frames[0] (h, w, 4) RGBA8 by linearly
 * interpolated native values (the triangle kernel of a bilinear upscale;
 * luma over black, at most 128 lines per axis, each at most its central
 * 512 px) leaves a sharp dip in its
 * residual on both axes (within 1.2 % of each other). Returns the cell in
 * px (0 when no pair) and sets *score, the smaller of the two dips (the
 * residual 0.03-0.05 px either side over the dip's; art at its native
 * size: at most 1.11 over 337 ground-truth clips of the evaluation set,
 * small upscales 1.3-9.5). Harmonics of larger cells dip too. Frames under
 * 16 px or over PF_GRID_MAX_SIDE a side, or no memory: 0. Cost about
 * 2 x 141 x 8 x 128 lines x min(side, 512), multiply-adds: 0.1 s at 300 px,
 * 0.5 s from 512 px up. */
double pfi_grid_fine_fit(const uint8_t *const *frames, int n, int w, int h, double *score);

/* ---- background ---------------------------------------------------------- */

/* A background model over the native frame: per channel
 * c(u, v) = a + b*u + c*v in 0..1 sRGB, u = x/cols, v = y/rows. */
typedef struct pfi_background {
    pf_bg_kind kind;
    float coef[3][3];       /* [channel][a, b, c] */
    uint8_t rgb[3];         /* the colour at the centre, 0..255 */
    float tol;              /* OKLab distance under which a cell is background */
    int keep_pockets;       /* 1: enclosed regions are never keyed (pf_params.keep_pockets) */
} pfi_background;

/* Estimates the key colour from the border cells of n native frames
 * (cells: n x (4, rows, cols), 0..1): a robust plane fit with outlier
 * rejection; solid when the slope is negligible. FIELD when no plane fits
 * at least 92% of the border but 90% of it lies in smooth runs (a busy
 * field of colour blobs; tol is then the field's step between cells).
 * NONE when the border is neither, or is a drawn texture or crosses a
 * scene's shapes again and again (an opaque scene: nothing to key); ALPHA
 * when the input already has transparent borders. */
void pfi_background_estimate(pfi_background *bg, const float *const *cells, int n,
                            int rows, int cols);

/* A solid background of the given colour (for --background COLOR). */
void pfi_background_solid(pfi_background *bg, const uint8_t rgb[3]);

/* Keys one native frame in place: cells connected (4-neighbour) to the
 * border whose colour is within bg->tol of the model get alpha 0, and so
 * do enclosed regions of that colour, up to the noise, covering at least
 * 2% of the frame (pockets) unless bg->keep_pockets, or on a plain
 * background 32 cells, or a strip of 12 at most 2 wide, between parts of
 * more than one colour; smaller ones (an eye) stay opaque. A FIELD grows instead from the
 * border's smooth runs through cells within bg->tol of the mean of their
 * keyed neighbours. Then the halo: an opaque cell
 * beside a keyed one that is a blend of mostly background and the colour
 * of an opaque cell up to two away (an edge cell only when far from the
 * background, as an outline is) is keyed too (one cell deep). Input alpha < 0.5 is
 * kept transparent. cells (4, rows, cols), sRGB 0..1; scratch holds
 * pfi_background_scratch_size(rows, cols) bytes. */
void pfi_background_key(const pfi_background *bg, float *cells, int rows, int cols,
                       uint8_t *scratch);
/* Bytes of scratch pfi_background_key needs for a rows x cols frame. */
size_t pfi_background_scratch_size(int rows, int cols);

/* ---- elastic grid (mesh) -------------------------------------------------- */

/* A lattice whose column and row boundaries are smooth curves, with one
 * cell count for the clip, tracked from frame to frame (mesh.c). */
typedef struct pfi_mesh pfi_mesh;

/* Fits a mesh to one RGBA8 frame (h, w, 4) around the nominal cell size
 * `cell` (input px, >= 2.5): per axis, the edges of every band of 2 cells
 * are demodulated at 1 / cell under a 1.5-cell window, the local phase is
 * unwrapped by weighted least squares on its increments (with a curvature
 * penalty, so gaps without edges continue the local cell size) and refined
 * three times; then the nominal cell is re-estimated as the sprite's mean
 * cell and the fit repeated until it settles (at most 4 fits; quick: one,
 * to compare candidates). The count (cells whose centre lies in the
 * frame) is fixed from then on. k: canonical samples per cell side, 1..8.
 * Errors: PF_EINVAL (bad sizes, cell < 2.5 or over a third of a side, k),
 * PF_ELIMIT (a side over PF_GRID_MAX_SIDE), PF_ENOMEM, PF_ENOGRID (no
 * edges at all). */
pf_status pfi_mesh_fit(pfi_mesh **out, const uint8_t *rgba, int w, int h, double cell, int k,
                      int quick, const pfi_logger *lg);

/* Moves the mesh onto the next frame (same size): the residual phase of
 * its edges against the current mesh, smoothed with the edges as weights,
 * at most 0.35 cell per frame, nothing where the frame shows no edges; a
 * whole-cell re-index (the sprite then moves one native pixel) when the
 * mean move passes 0.7 cell. Errors: PF_EINVAL, PF_ENOMEM (the mesh is
 * then unchanged). */
pf_status pfi_mesh_track(pfi_mesh *m, const uint8_t *rgba);

/* Canonical samples of the current frame along the mesh: every cell split
 * into k x k sub-cells, each the area mean of its box in the input.
 * out (4, rows k, cols k) planar float RGBA in 0..1, as pfi_grid_sample.
 * Errors: PF_ENOMEM (out untouched). */
pf_status pfi_mesh_sample(pfi_mesh *m, const uint8_t *rgba, float *out);

/* Back to the state right after pfi_mesh_fit (a second pass over the same
 * frames then gives the same meshes). */
void pfi_mesh_rewind(pfi_mesh *m);

/* Sets the count from the sprite's mean cell averaged over n frames (the
 * fitted one first, then frames[1..n-1] tracked in order; each frame's
 * wobble measures it anew; one mean for both axes where theirs differ by
 * under 8%: square pixels), then rewinds. Errors: PF_ENOMEM. */
pf_status pfi_mesh_recount(pfi_mesh *m, const uint8_t *const *frames, int n);

/* Sets the count to round(side / cell) on both axes, centred on the fitted
 * lattice: the cell size a caller forces (--scale, input px), so the
 * native size is the canvas over it whatever the bend (the ground truth of
 * a bent clip is sized so too). Errors: PF_EINVAL (cell <= 0), PF_ENOMEM. */
pf_status pfi_mesh_fix_cell(pfi_mesh *m, double cell);

/* The native coordinates (u, v) of input position (x, y) px in the current
 * frame: native cell (i, j) holds u in [i, i + 1), v in [j, j + 1). */
void pfi_mesh_coord(const pfi_mesh *m, double x, double y, double *u, double *v);

/* The centre of native cell (col i, row j), input px, in the frame last
 * sampled by pfi_mesh_sample. */
void pfi_mesh_centre(const pfi_mesh *m, int i, int j, double *x, double *y);

/* Native size, nominal cell (input px, per axis), how far the lattice
 * bends from a straight even one over the content (cells, 95th
 * percentile), the fit's confidence 0..1, and the mean move since the fit
 * (cells, per axis, after re-indexing). */
void pfi_mesh_size(const pfi_mesh *m, int *cols, int *rows);
void pfi_mesh_cell(const pfi_mesh *m, double *cell_w, double *cell_h);
double pfi_mesh_bend(const pfi_mesh *m);
double pfi_mesh_confidence(const pfi_mesh *m);
void pfi_mesh_shift(const pfi_mesh *m, double *sx, double *sy);

void pfi_mesh_free(pfi_mesh *m);

/* ---- the lattice of a clip: regular, elastic or none ------------------------- */

typedef struct pfi_lattice pfi_lattice;

typedef struct pfi_lattice_params {
    pf_grid_mode mode;   /* PF_GRID_AUTO, _REGULAR or _ELASTIC */
    double scale;        /* forced cell size, input px; 0 = detect */
    int k;               /* canonical samples per cell side, 1..8 */
} pfi_lattice_params;

/* Chooses the clip's lattice from n frames (h, w, 4) RGBA8 (lattice.c):
 * regular when pfi_grid_detect finds one whose mesh does not bend; else the
 * best mesh over the cell-size candidates (fitted on frames[0]); else no
 * grid. *out is set also on PF_ENOGRID (its figures say what was found;
 * sampling is then refused). Free with pfi_lattice_free.
 * Errors: PF_EINVAL, PF_ELIMIT, PF_ENOMEM, PF_ENOGRID. */
pf_status pfi_lattice_find(pfi_lattice **out, const uint8_t *const *frames, int n, int w, int h,
                          const pfi_lattice_params *p, const pfi_logger *lg);

/* Canonical samples of the next frame, in clip order from frames[0]
 * (as pfi_grid_sample: (4, rows k, cols k), 0..1), and its drift in input
 * px (regular: the frame's offset, within 0.65 cell: the wrap at half a
 * cell has a hysteresis of 0.15 cell around the last frame's drift;
 * elastic: the mesh's mean move).
 * Errors: PF_EINVAL (no grid), PF_ENOMEM. */
pf_status pfi_lattice_sample(pfi_lattice *L, const uint8_t *rgba, float *samples, double *dx, double *dy);

/* Back to frames[0]: the next pfi_lattice_sample is the first frame again. */
void pfi_lattice_rewind(pfi_lattice *L);

/* Which of n meshes fitted at candidate cells (px) to keep, from their
 * coherence (0..1, edges on the mesh's lines; < 0: no mesh): the most
 * coherent, or a larger cell within 10 % of a whole multiple (2, 3, ...)
 * of its cell and at least 0.9 times as coherent, the largest such (a
 * lattice at p also fits p / 2). Returns the index, -1 when no mesh. */
int pfi_lattice_pick(const double *cells, const double *coh, int n);

/* Fills the candidates if pfi_lattice_find did not need them (probe). */
pf_status pfi_lattice_candidates(pfi_lattice *L, const uint8_t *const *frames, int n);

int pfi_lattice_elastic(const pfi_lattice *L);
/* The figures: cols, rows, cell_w/h, offset, confidence (xb/yb only for
 * regular grids). */
const pfi_grid *pfi_lattice_grid(const pfi_lattice *L);
/* How far the lattice bends from a straight even one, cells (0 when not
 * measured). */
double pfi_lattice_bend(const pfi_lattice *L);
int pfi_lattice_get_candidates(const pfi_lattice *L, const pfi_cell_candidate **cand);
/* The period the regular detector measured in g (input px), as the mesh
 * candidates' tie-breaker: the mean of cell_w and cell_h where they agree
 * within LATTICE_AGREE (6%), else 0 (two unrelated axis periods are no
 * cell size). */
double pfi_lattice_regular_period(const pfi_grid *g);

/* Native coordinates (u, v) of input position (x, y) px in the frame last
 * sampled (regular: with its drift dx, dy): cell (i, j) holds u in
 * [i, i + 1), v in [j, j + 1). */
void pfi_lattice_coord(const pfi_lattice *L, double dx, double dy, double x, double y, double *u, double *v);

/* The centre of native cell (col i, row j) in input px in the frame last
 * sampled (regular: with its drift dx, dy). */
void pfi_lattice_centre(const pfi_lattice *L, double dx, double dy, int i, int j, double *x, double *y);

void pfi_lattice_free(pfi_lattice *L);

/* ---- the network's input: lattice, background, samples and cells ------------- */

/* What pf_stream and the trainer make from every frame (sampler.c): one
 * routine, so the model trains on what it later sees. */
/* deblur.c: the leak of a blurred upscale between neighbouring cells. The
 * model obs = c + beta sum_n (c_n - c) over the 4-neighbours is the
 * discrete Laplacian form of a small Gaussian blur at native resolution;
 * beta is measured on the clip's own step edges (deblur.c says how). */
typedef struct pfi_deblur {
    float *leak;            /* measured leaks, accumulating until pfi_deblur_finish */
    size_t n, cap;
    double beta;            /* the clip's leak per neighbour, 0..0.2 (0: nothing removed) */
    size_t edges;           /* edges beta was measured on */
} pfi_deblur;

/* Adds the leaks seen on one frame: samples (4, rows k, cols k) and its
 * unkeyed cells (4, rows, cols) from pfi_grid_cells, RGBA 0..1; d zeroed
 * before the first call. Only edges between runs of three opaque cells
 * count. Errors: PF_EINVAL (NULL, k < 2), PF_ENOMEM. */
pf_status pfi_deblur_measure(pfi_deblur *d, const float *samples, const float *cells, int rows, int cols, int k);

/* Sets and returns d->beta: the median measured leak, clamped to 0..0.2
 * (0 with fewer than 32 edges), and frees the measurements. d NULL: 0. */
double pfi_deblur_finish(pfi_deblur *d);

/* Removes d->beta's leak from cells (4, rows, cols), 0..1, in place, to
 * first order: c = obs - beta sum_n (obs_n - obs) over the opaque
 * (alpha >= 0.99) 4-neighbours of opaque cells, clamped to 0..1; alpha
 * and see-through cells are left alone. scratch: rows x cols floats.
 * Errors: PF_EINVAL. */
pf_status pfi_deblur_apply(const pfi_deblur *d, float *cells, int rows, int cols, float *scratch);

/* Frees the measurements and zeroes d. */
void pfi_deblur_free(pfi_deblur *d);

typedef struct pfi_sampler {
    pfi_lattice *lat;
    pfi_background bg;
    int w, h, k;            /* input canvas px; samples per cell side */
    int rows, cols;         /* native size */
    size_t slen, clen;      /* floats: samples (4, rows k, cols k), cells (4, rows, cols) */
    uint8_t *scratch;       /* (rows, cols) keying */
    pfi_deblur deblur;
    float *dscratch;        /* (rows, cols) deblurring */
    size_t lock_bytes;      /* what pfi_sampler_lock's native work takes, bytes */
    float change_max;       /* the largest change of a cell's RGBA area mean between
                               consecutive lookahead frames, 0..1 (0 for one frame) */
} pfi_sampler;

/* Finds the lattice on the n lookahead frames (h, w, 4) RGBA8 and the
 * background (PF_BG_AUTO: estimated from the classical cells of up to 32
 * of them; PF_BG_COLOR: bg_rgb; PF_BG_NONE: no keying; keep_pockets 1
 * keys only what the border reaches), then rewinds so
 * that pfi_sampler_next starts at head[0]. On PF_ENOGRID s->lat still
 * holds the figures found (free with pfi_sampler_free). max_bytes (0: no
 * limit) bounds the native work once the lattice is found (a frame of
 * samples, the background's cells): over it, PF_ELIMIT with s->lat, rows,
 * cols and lock_bytes set, before that work is allocated.
 * Errors: those of pfi_lattice_find, PF_ELIMIT, PF_ENOMEM. */
pf_status pfi_sampler_lock(pfi_sampler *s, const uint8_t *const *head, int n, int w, int h,
                          const pfi_lattice_params *lp, pf_bg_mode bg_mode, const uint8_t bg_rgb[3],
                          int keep_pockets, size_t max_bytes, const pfi_logger *lg);

/* The next frame in clip order: samples (4, rows k, cols k) and the
 * classical cells (4, rows, cols) keyed against the background, 0..1, and
 * the frame's drift (input px). Errors: PF_ENOMEM. */
pf_status pfi_sampler_next(pfi_sampler *s, const uint8_t *rgba, float *samples, float *cells, double *dx,
                          double *dy);

void pfi_sampler_free(pfi_sampler *s);

#endif /* PF_GRID_H */
