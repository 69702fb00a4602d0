/*
 * lattice.c - the choice of grid for a clip (regular, elastic mesh, or
 * none) and its per-frame sampling. pf_stream and the trainer both go
 * through it, so they see the same cells. The detectors themselves are
 * detect.c (regular), period.c (cell sizes) and mesh.c (elastic).
 *
 * Choice (auto). The regular detector runs first: pixel art upscaled by
 * a program sits on a straight lattice, and its fit is exact there. A mesh
 * is then fitted at the regular period; when it bends by more than
 * LATTICE_BEND_MIN cells over the sprite the lattice is a video model's
 * and the mesh is kept. When no regular grid is found, the cell-size
 * candidates are tried as meshes; the best explains the edges (coherence
 * against the mesh), unless a larger cell within LATTICE_NEAR of it is a
 * whole multiple of its cell (a lattice at p also fits p / 2: the larger
 * wins; a larger cell 1.3-1.5 times the best is no such pair, and letting it
 * win sized shaded art at 1.3-1.5 times its cell), unless one of them has the
 * period the regular detector measured on both axes (too weakly to trust alone): two
 * independent measurements agreeing beat coherence, which blur biases
 * towards large cells (measured: dev/video_model_04, 10.9 px chosen over
 * the true 5.8). A mesh that confirms the regular detector's square
 * period and bends by less than LATTICE_STRAIGHT cells hands the clip back
 * to the regular grid at that period (dev: acc 0.8296 -> 0.8304,
 * acc_opaque +0.008, gif_dither_06 +0.045). Regular mode takes the same
 * path where the regular detector finds nothing, and puts the regular grid
 * at the mesh's cell. No grid is reported only
 * when no candidate stands out of its neighbours (contrast) or the best
 * mesh's coherence stays at the level a mesh reaches on edges that follow
 * no lattice (textures, photos, flat images).
 */
#include "grid/grid.h"

#include <math.h>
#include <string.h>

#define LATTICE_MAX_CAND 8
#define LATTICE_TRY 3             /* candidates fitted as meshes */
#define LATTICE_MIN_CELL 2.5      /* smallest mesh cell, input px */
#define LATTICE_STRAIGHT 0.2      /* cells: a mesh found without a confident regular grid bends
                                     less than this where the lattice is straight */
#define LATTICE_BEND_MIN 0.4      /* cells: a regular grid's mesh bends less (0.04-0.16 measured) */
#define LATTICE_BEND_CHECK 0.995  /* regular grids of this confidence skip the mesh check
                                     (exact upscales give 1) */
#define LATTICE_MAX_CELL 16.0     /* largest mesh cell in auto, input px: video models draw
                                     cells of 3-12 px; larger lattices are regular upscales */
#define LATTICE_MIN_CONTRAST 1.10 /* a candidate's score over its neighbours' ... (1.15
                                     refused 1 val and 4 dev clips whose best candidate,
                                     near the true cell, scored 1.10-1.15; the mesh's
                                     coherence then confirms or rejects it) ... */
#define LATTICE_STILL_CONTRAST 1.5 /* ... and for a still image, which has no second frame
                                     to show the same lattice again */
#define LATTICE_MIN_COHERENCE 0.30 /* mesh coherence (edges on its lines, 0..1) */
#define LATTICE_NEAR 0.90         /* share of the best coherence that counts as as good */
#define LATTICE_NEAR_HARMONIC 0.10 /* ... for a larger cell within this (relative) of a whole
                                     multiple of the best's */
#define LATTICE_FINE_PAIR 3.0    /* fine-pair score (fine_pair.c) that gives a small cell; native
                                    art reaches 2.1 at most over the eval set's GT clips */
#define LATTICE_FINE_PAIR_SPAN 2.0 /* score above that for confidence 1 */
#define LATTICE_FINE_FIT 1.5     /* fit-pair score (fine_fit.c) that gives a small cell; native art
                                    at most 1.11 over the evaluation set's GT clips (337) */
#define LATTICE_FINE_FIT_SPAN 3.0 /* score above that for confidence 1 */
#define LATTICE_FIT_MESH 0.35     /* a mesh this unsure (confidence) gives way to a fit pair ... */
#define LATTICE_FIT_OVER 2.0      /* ... any other grid or mesh to one of this score (the highest
                                     against a right grid over 688 clips: 1.80) ... */
#define LATTICE_FIT_HARMONIC 0.04 /* ... whose cell it is no whole multiple of (relative) */
#define LATTICE_DRIFT_HOLD 0.15  /* cells a regular grid's drift may pass half a cell by before it
                                    wraps to the other side: sub-pixel jitter around the wrap
                                    point would otherwise shift whole drawings by a cell and back */
#define LATTICE_AGREE 0.06        /* a mesh cell this close (relative) to the regular
                                     detector's period is confirmed by it */

struct pfi_lattice {
    pfi_grid grid;           /* regular: the grid; elastic: its figures (xb/yb NULL) */
    pfi_mesh *mesh;          /* elastic only */
    pfi_grid_scratch drift;  /* regular only: pfi_grid_drift's buffers */
    int w, h, k;
    int fed;                /* frames sampled since find or rewind */
    double last_drift[2];   /* regular: the last frame's drift, input px */
    double bend;            /* cells */
    pfi_cell_candidate cand[LATTICE_MAX_CAND];
    int ncand;
};

void pfi_lattice_free(pfi_lattice *L)
{
    if (!L) return;
    pfi_grid_free(&L->grid);
    pfi_mesh_free(L->mesh);
    pfi_grid_scratch_free(&L->drift);
    free(L);
}

/* The grid's figures from a mesh (cell, count, confidence). */
static void figures_from_mesh(pfi_lattice *L)
{
    pfi_mesh_size(L->mesh, &L->grid.cols, &L->grid.rows);
    pfi_mesh_cell(L->mesh, &L->grid.cell_w, &L->grid.cell_h);
    L->grid.confidence = pfi_clampf((float)((pfi_mesh_confidence(L->mesh) - LATTICE_MIN_COHERENCE) /
                                           (0.8 - LATTICE_MIN_COHERENCE)), 0.f, 1.f);
    /* where native (0, 0) sits, px */
    double u, v;
    pfi_mesh_coord(L->mesh, 0, 0, &u, &v);
    L->grid.offset_x = fmod(-u * L->grid.cell_w + 1e3 * L->grid.cell_w, L->grid.cell_w);
    L->grid.offset_y = fmod(-v * L->grid.cell_h + 1e3 * L->grid.cell_h, L->grid.cell_h);
    L->bend = pfi_mesh_bend(L->mesh);
}

double pfi_lattice_regular_period(const pfi_grid *g)
{
    /* the mean of 22 x 2 px is no period: it once "confirmed" an 11.4 px
     * mesh over the true 7.1 (a video_bent clip of tecnoballz's head) */
    if (!(g->cell_w > 0) || !(g->cell_h > 0) || !(fabs(g->cell_w / g->cell_h - 1) < LATTICE_AGREE)) return 0;
    return 0.5 * (g->cell_w + g->cell_h);
}

int pfi_lattice_pick(const double *cells, const double *coh, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (coh[i] >= 0 && (best < 0 || coh[i] > coh[best])) best = i;
    int pick = best;
    for (int i = 0; i < n && best >= 0; i++) {
        const double ratio = cells[i] / cells[best];
        if (coh[i] >= LATTICE_NEAR * coh[best] && cells[i] > cells[pick] && ratio >= 1.5 &&
            fabs(ratio / lrint(ratio) - 1) < LATTICE_NEAR_HARMONIC)
            pick = i;
    }
    return pick;
}

/* Fits meshes at the candidates (or at `scale`) and keeps the best. still:
 * the clip shows one picture (a still, or frames all alike); reg_cell: the
 * period the regular detector found without trusting it, px (0: none). */
static pf_status fit_elastic(pfi_lattice *L, const uint8_t *const *frames, int n, double scale, int still,
                             double reg_cell, const pfi_logger *lg)
{
    const double min_contrast = still ? LATTICE_STILL_CONTRAST : LATTICE_MIN_CONTRAST;
    const uint8_t *rgba = frames[0];
    double cells[LATTICE_TRY];
    int nc = 0;
    pfi_mesh *keep = NULL;
    if (scale > 0) {
        cells[nc++] = scale;
    } else {
        for (int i = 0; i < L->ncand && nc < LATTICE_TRY; i++)
            if (L->cand[i].cell >= LATTICE_MIN_CELL && L->cand[i].cell <= LATTICE_MAX_CELL &&
                L->cand[i].contrast >= min_contrast)
                cells[nc++] = L->cand[i].cell;
    }
    double coh[LATTICE_TRY];
    pfi_mesh *meshes[LATTICE_TRY] = {NULL};
    for (int i = 0; i < LATTICE_TRY; i++) coh[i] = -1;   /* no mesh */
    for (int i = 0; i < nc; i++) {
        if (!(cells[i] >= LATTICE_MIN_CELL) || cells[i] > fmin(L->w, L->h) / 3.0) continue;
        pf_status st = pfi_mesh_fit(&meshes[i], rgba, L->w, L->h, cells[i], L->k, nc > 1, lg);
        if (st == PF_ENOMEM) {
            for (int j = 0; j < i; j++) pfi_mesh_free(meshes[j]);
            return st;
        }
        if (st < 0) continue;
        coh[i] = pfi_mesh_confidence(meshes[i]);
        pfi_debug(lg, "grid: mesh at %.3f px: coherence %.3f, bend %.2f cells", cells[i], coh[i],
                 pfi_mesh_bend(meshes[i]));
    }
    int pick = pfi_lattice_pick(cells, coh, nc);
    /* ... unless one agrees with the regular detector: the closest such */
    int agree = -1;
    for (int i = 0; i < nc && reg_cell > 0; i++) {
        const double d = fabs(cells[i] / reg_cell - 1);
        if (meshes[i] && coh[i] >= LATTICE_MIN_COHERENCE && d < LATTICE_AGREE &&
            (agree < 0 || d < fabs(cells[agree] / reg_cell - 1)))
            agree = i;
    }
    if (agree >= 0 && agree != pick) {
        pfi_debug(lg, "grid: %.3f px agrees with the regular detector's %.3f px", cells[agree], reg_cell);
        pick = agree;
    }
    for (int i = 0; i < nc; i++)
        if (i != pick) pfi_mesh_free(meshes[i]);
    if (pick < 0) return PF_ENOGRID;
    keep = meshes[pick];
    if (nc > 1) {   /* the quick fit chose; now the full one */
        pfi_mesh *full = NULL;
        pf_status st = pfi_mesh_fit(&full, rgba, L->w, L->h, cells[pick], L->k, 0, lg);
        if (st == PF_ENOMEM) {
            pfi_mesh_free(keep);
            return st;
        }
        if (st == PF_OK) {
            pfi_mesh_free(keep);
            keep = full;
            coh[pick] = pfi_mesh_confidence(full);
        }
    }
    if (scale == 0 && coh[pick] < LATTICE_MIN_COHERENCE) {
        pfi_info(lg, "grid: the best mesh (%.3f px) puts only %.2f of the edges on its lines", cells[pick], coh[pick]);
        L->grid.cell_w = L->grid.cell_h = cells[pick];
        L->grid.confidence = 0;
        pfi_mesh_free(keep);
        return PF_ENOGRID;
    }
    pf_status st = scale > 0 ? pfi_mesh_fix_cell(keep, scale) : still ? PF_OK : pfi_mesh_recount(keep, frames, n);
    if (st < 0) {
        pfi_mesh_free(keep);
        return st;
    }
    pfi_grid_free(&L->grid);
    L->mesh = keep;
    figures_from_mesh(L);
    return PF_OK;
}

/* The regular detector forced at `cell` px (for the phase and
 * boundaries) into g. Errors: the detector's (PF_ENOGRID, PF_ENOMEM). */
static pf_status detect_at(const pfi_lattice *L, const uint8_t *const *frames, int n, const pfi_grid_params *gp,
                           double cell, const pfi_logger *lg, pfi_grid *g)
{
    pfi_grid_params fp = *gp;
    fp.scale = cell;
    return pfi_grid_detect(g, frames, n, L->w, L->h, &fp, lg);
}

/* g (owned from now on) becomes L's grid, in place of its grid or mesh. */
static void install_grid(pfi_lattice *L, pfi_grid *g)
{
    pfi_mesh_free(L->mesh);
    L->mesh = NULL;
    pfi_grid_free(&L->grid);
    L->grid = *g;
}

/* Replaces L's mesh with the regular grid at `cell` px, keeping the
 * mesh's bend and, where higher, its confidence. Where no grid fits at
 * that cell, L is left as it was and the detector's status returned
 * (PF_ENOGRID, PF_ENOMEM). */
static pf_status regular_at(pfi_lattice *L, const uint8_t *const *frames, int n, const pfi_grid_params *gp,
                            double cell, const pfi_logger *lg)
{
    pfi_grid g;
    pf_status st = detect_at(L, frames, n, gp, cell, lg, &g);
    if (st != PF_OK) return st;
    pfi_info(lg, "grid: the mesh's cell %.3f px, bending %.2f cells: the regular grid at %.3f px",
             0.5 * (L->grid.cell_w + L->grid.cell_h), pfi_mesh_bend(L->mesh), cell);
    if (L->grid.confidence > g.confidence) g.confidence = L->grid.confidence;   /* the mesh's evidence */
    L->bend = pfi_mesh_bend(L->mesh);
    install_grid(L, &g);
    return PF_OK;
}

/* The regular grid at a small cell that fine_pair.c or fine_fit.c found,
 * with a confidence of (score - lo) / span, in place of L's grid or mesh.
 * Where no grid fits at that cell, L is left as it was and the detector's
 * status returned (PF_ENOGRID, PF_ENOMEM). */
static pf_status small_cell(pfi_lattice *L, const uint8_t *const *frames, int n, const pfi_grid_params *gp,
                            double cell, double score, double lo, double span, const char *what,
                            const pfi_logger *lg)
{
    pfi_grid g;
    pf_status st = detect_at(L, frames, n, gp, cell, lg, &g);
    if (st != PF_OK) return st;
    pfi_info(lg, "grid: both axes show cells of %.3f px (%s, score %.2f)", cell, what, score);
    g.confidence = pfi_clampf((float)((score - lo) / span), (float)gp->min_confidence, 1.f);
    L->bend = 0;
    install_grid(L, &g);
    return PF_OK;
}

/* A small upscale (2-2.7x, a smooth kernel) that the detectors took for
 * another cell (a larger, bent one; a codec's 2 px comb; a harmonic of
 * the art's own texture): the fit pair (fine_fit.c) replaces L's grid or
 * mesh when its cell is no whole multiple or fraction of theirs (the
 * harmonics of a larger cell dip too) and it scores LATTICE_FIT_OVER, or
 * LATTICE_FINE_FIT against an unsure mesh. Measured on the evaluation
 * set and its draws at 2.1-2.7x: README.md "The fit pair". Returns
 * PF_OK (L changed or not) or PF_ENOMEM. */
static pf_status prefer_fit_pair(pfi_lattice *L, const uint8_t *const *frames, int n, const pfi_grid_params *gp,
                                 const pfi_logger *lg)
{
    const double bar = L->mesh && L->grid.confidence < LATTICE_FIT_MESH ? LATTICE_FINE_FIT : LATTICE_FIT_OVER;
    double score, cell = pfi_grid_fine_fit(frames, n, L->w, L->h, &score);
    const double mc = 0.5 * (L->grid.cell_w + L->grid.cell_h);
    const double r = cell > 0 && mc > 0 ? fmax(mc / cell, cell / mc) : 0;
    pfi_debug(lg, "grid: fit pair %.3f px, score %.2f, the grid's cell %.3f px", cell, score, mc);
    if (!(cell > 0 && score >= bar && fabs(r / round(r) - 1) > LATTICE_FIT_HARMONIC)) return PF_OK;
    pf_status st = small_cell(L, frames, n, gp, cell, score, LATTICE_FINE_FIT, LATTICE_FINE_FIT_SPAN, "fit pair", lg);
    return st == PF_ENOMEM ? st : PF_OK;
}

pf_status pfi_lattice_find(pfi_lattice **out, const uint8_t *const *frames, int n, int w, int h,
                          const pfi_lattice_params *p, const pfi_logger *lg)
{
    pfi_lattice *L;
    pf_status st;
    pfi_grid_params gp = pfi_grid_default_params();

    *out = NULL;
    if (!frames || n < 1 || !p || p->k < 1 || p->k > 8 || (p->scale != 0 && !(p->scale >= 1)) ||
        (int)p->mode < PF_GRID_AUTO || p->mode > PF_GRID_ELASTIC)
        return PF_EINVAL;
    if (!(L = calloc(1, sizeof *L))) return PF_ENOMEM;
    L->w = w;
    L->h = h;
    L->k = p->k;
    gp.scale = p->scale;

    if (p->mode != PF_GRID_ELASTIC) {
        st = pfi_grid_detect(&L->grid, frames, n, w, h, &gp, lg);
        if (st != PF_OK && st != PF_ENOGRID) goto fail;
        if (p->mode == PF_GRID_REGULAR && (st == PF_OK || p->scale > 0)) goto done;
        if (st == PF_OK) {
            /* a straight lattice, or a bent one found by its mean period? */
            const double cell = fmin(L->grid.cell_w, L->grid.cell_h);
            if (cell >= LATTICE_MIN_CELL && cell <= fmin(w, h) / 3.0 && L->grid.confidence < LATTICE_BEND_CHECK) {
                pfi_mesh *m = NULL;
                pf_status ms = pfi_mesh_fit(&m, frames[0], w, h, 0.5 * (L->grid.cell_w + L->grid.cell_h), p->k, 0, lg);
                if (ms == PF_ENOMEM) {
                    st = ms;
                    goto fail;
                }
                if (ms == PF_OK && pfi_mesh_bend(m) >= LATTICE_BEND_MIN &&
                    pfi_mesh_confidence(m) >= LATTICE_MIN_COHERENCE) {
                    pfi_info(lg, "grid: the lattice bends by %.2f cells: using an elastic grid", pfi_mesh_bend(m));
                    st = p->scale > 0 ? pfi_mesh_fix_cell(m, p->scale) : pfi_mesh_recount(m, frames, n);
                    if (st < 0) {
                        pfi_mesh_free(m);
                        goto fail;
                    }
                    pfi_grid_free(&L->grid);
                    L->mesh = m;
                    figures_from_mesh(L);
                } else {
                    if (ms == PF_OK) L->bend = pfi_mesh_bend(m);
                    pfi_mesh_free(m);
                }
            }
            st = p->mode == PF_GRID_AUTO && p->scale == 0 ? prefer_fit_pair(L, frames, n, &gp, lg) : PF_OK;
            if (st < 0) goto fail;
            goto done;
        }
    }
    /* no regular grid (or elastic asked for): candidates, then meshes */
    if (p->scale == 0) {
        st = pfi_grid_candidates(frames, n, w, h, 1.5, 48, L->cand, LATTICE_MAX_CAND, &L->ncand, lg);
        if (st < 0) goto fail;
    }
    int still = 1;
    for (int i = 1; i < n && still; i++) still = memcmp(frames[i], frames[0], (size_t)w * h * 4) == 0;
    const double reg_cell = p->mode != PF_GRID_ELASTIC ? pfi_lattice_regular_period(&L->grid) : 0;
    const int reg_square = reg_cell > 0 && L->grid.cell_w == L->grid.cell_h;
    st = fit_elastic(L, frames, n, p->scale, still, reg_cell, lg);
    if (st != PF_OK && st != PF_ENOGRID) goto fail;
    /* A mesh that confirms the regular detector's square period and hardly
     * bends says the lattice is straight after all: the regular grid at that
     * period. And `--grid regular` takes the mesh's cell for its grid where
     * the regular detector found none (a busy background's blobs outweigh
     * the cells in its spectrum: val bg_busy_06 29 px for 5 px), rather than
     * refusing a cell size the candidates found. */
    if (st == PF_OK && p->scale == 0 && L->mesh) {
        const double mesh_cell = 0.5 * (L->grid.cell_w + L->grid.cell_h);
        double cell = 0;
        if (p->mode == PF_GRID_REGULAR)
            cell = mesh_cell;
        else if (reg_square && pfi_mesh_bend(L->mesh) < LATTICE_STRAIGHT &&
                 fabs(mesh_cell / reg_cell - 1) < LATTICE_AGREE)
            cell = reg_cell;
        pf_status rs = cell > 0 ? regular_at(L, frames, n, &gp, cell, lg) : PF_OK;
        if (rs == PF_ENOMEM) {
            st = rs;
            goto fail;
        }
        if (p->mode == PF_GRID_REGULAR && rs != PF_OK) {   /* no regular grid at that cell either */
            pfi_mesh_free(L->mesh);
            L->mesh = NULL;
            L->grid.confidence = 0;
            st = PF_ENOGRID;
        }
    }
    if (st == PF_OK && p->scale == 0 && p->mode == PF_GRID_AUTO && (st = prefer_fit_pair(L, frames, n, &gp, lg)) < 0)
        goto fail;
    /* the last chance of a small upscale: a cell of 2-3.2 px that both axes'
     * fine spectra show (fine_pair.c), else one a line-by-line fit finds
     * (fine_fit.c), the detector forced there */
    if (st == PF_ENOGRID && p->scale == 0 && p->mode != PF_GRID_ELASTIC) {
        double score, cell = pfi_grid_fine_pair(frames, n, w, h, &score);
        pfi_debug(lg, "grid: fine pair %.3f px, score %.2f", cell, score);
        pf_status rs = PF_ENOGRID;
        if (cell > 0 && score >= LATTICE_FINE_PAIR)
            rs = small_cell(L, frames, n, &gp, cell, score, LATTICE_FINE_PAIR, LATTICE_FINE_PAIR_SPAN, "fine pair", lg);
        if (rs == PF_ENOGRID) {
            cell = pfi_grid_fine_fit(frames, n, w, h, &score);
            pfi_debug(lg, "grid: fit pair %.3f px, score %.2f", cell, score);
            if (cell > 0 && score >= LATTICE_FINE_FIT)
                rs = small_cell(L, frames, n, &gp, cell, score, LATTICE_FINE_FIT, LATTICE_FINE_FIT_SPAN, "fit pair", lg);
        }
        if (rs == PF_ENOMEM) {
            st = rs;
            goto fail;
        }
        if (rs == PF_OK) st = PF_OK;
    }
    if (st == PF_ENOGRID && L->ncand > 0 && !(L->grid.cell_w > 0)) {
        L->grid.cell_w = L->grid.cell_h = L->cand[0].cell;
        L->grid.confidence = 0;
    }
done:
    L->grid.in_w = w;
    L->grid.in_h = h;
    *out = L;
    return st;
fail:
    pfi_lattice_free(L);
    return st;
}

pf_status pfi_lattice_candidates(pfi_lattice *L, const uint8_t *const *frames, int n)
{
    if (L->ncand > 0) return PF_OK;
    return pfi_grid_candidates(frames, n, L->w, L->h, 1.5, 48, L->cand, LATTICE_MAX_CAND, &L->ncand, NULL);
}

int pfi_lattice_elastic(const pfi_lattice *L) { return L->mesh != NULL; }
const pfi_grid *pfi_lattice_grid(const pfi_lattice *L) { return &L->grid; }
double pfi_lattice_bend(const pfi_lattice *L) { return L->bend; }

/* The drift d (in (-cell/2, cell/2], as pfi_grid_drift measures it) as
 * the whole-cell shift of it nearest the last frame's drift prev, while
 * that stays within half a cell plus LATTICE_DRIFT_HOLD: hysteresis on
 * the wrap, so a drawing held through jitter keeps its cells. */
static double follow_drift(double prev, double d, double cell)
{
    const double u = d + cell * round((prev - d) / cell);
    return fabs(u) <= (0.5 + LATTICE_DRIFT_HOLD) * cell ? u : d;
}

int pfi_lattice_get_candidates(const pfi_lattice *L, const pfi_cell_candidate **cand)
{
    *cand = L->cand;
    return L->ncand;
}

pf_status pfi_lattice_sample(pfi_lattice *L, const uint8_t *rgba, float *samples, double *dx, double *dy)
{
    pf_status st = PF_OK;
    *dx = *dy = 0;
    if (L->mesh) {
        if (L->fed > 0 && (st = pfi_mesh_track(L->mesh, rgba)) < 0) return st;
        if ((st = pfi_mesh_sample(L->mesh, rgba, samples)) < 0) return st;
        double sx, sy;
        pfi_mesh_shift(L->mesh, &sx, &sy);
        *dx = -sx * L->grid.cell_w;
        *dy = -sy * L->grid.cell_h;
    } else {
        if (!L->grid.xb) return PF_EINVAL;
        if (!L->drift.px && (st = pfi_grid_scratch_init(&L->drift, L->w, L->h)) < 0) return st;
        if ((st = pfi_grid_drift(&L->grid, rgba, L->w, L->h, &L->drift, dx, dy)) < 0) return st;
        if (L->fed > 0) {
            *dx = follow_drift(L->last_drift[0], *dx, L->grid.cell_w);
            *dy = follow_drift(L->last_drift[1], *dy, L->grid.cell_h);
        }
        L->last_drift[0] = *dx;
        L->last_drift[1] = *dy;
        pfi_grid_sample(&L->grid, *dx, *dy, rgba, L->w, L->h, L->k, samples);
    }
    L->fed++;
    return st;
}

void pfi_lattice_rewind(pfi_lattice *L)
{
    if (L->mesh) pfi_mesh_rewind(L->mesh);
    L->fed = 0;
}

void pfi_lattice_centre(const pfi_lattice *L, double dx, double dy, int i, int j, double *x, double *y)
{
    if (L->mesh) {
        pfi_mesh_centre(L->mesh, i, j, x, y);
        return;
    }
    *x = 0.5 * (L->grid.xb[i] + L->grid.xb[i + 1]) + dx;
    *y = 0.5 * (L->grid.yb[j] + L->grid.yb[j + 1]) + dy;
}

void pfi_lattice_coord(const pfi_lattice *L, double dx, double dy, double x, double y, double *u, double *v)
{
    if (L->mesh) {
        pfi_mesh_coord(L->mesh, x, y, u, v);
        return;
    }
    /* regular: the boundaries shifted by the drift, linear inside a cell */
    const double *b[2] = {L->grid.xb, L->grid.yb};
    const int n[2] = {L->grid.cols, L->grid.rows};
    const double q[2] = {x - dx, y - dy};
    double r[2];
    for (int a = 0; a < 2; a++) {
        int lo = 0, hi = n[a];
        if (q[a] < b[a][0]) {
            r[a] = (q[a] - b[a][0]) / (b[a][1] - b[a][0]);
            continue;
        }
        if (q[a] >= b[a][n[a]]) {
            r[a] = n[a] + (q[a] - b[a][n[a]]) / (b[a][n[a]] - b[a][n[a] - 1]);
            continue;
        }
        while (hi - lo > 1) {
            const int mid = (lo + hi) / 2;
            if (b[a][mid] <= q[a]) lo = mid;
            else hi = mid;
        }
        r[a] = lo + (q[a] - b[a][lo]) / (b[a][lo + 1] - b[a][lo]);
    }
    *u = r[0];
    *v = r[1];
}
