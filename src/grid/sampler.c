/*
 * sampler.c - the network's input, made once for inference and training:
 * the clip's lattice and background from the lookahead, then for every
 * frame in order its canonical samples and classical keyed cells.
 * pf_stream (core/stream.c) and the trainer (train/sample.c) both call it,
 * so the model trains on exactly what it later sees. Not the detectors
 * (lattice.c) nor the keying itself (background.c).
 */
#include "grid/grid.h"

#include <math.h>
#include <string.h>

#define SAMPLER_BG_FRAMES 32   /* lookahead frames the background is estimated from */

void pfi_sampler_free(pfi_sampler *s)
{
    if (!s) return;
    pfi_lattice_free(s->lat);
    free(s->scratch);
    free(s->dscratch);
    pfi_deblur_free(&s->deblur);
    memset(s, 0, sizeof *s);
}

/* One pass over the lookahead: every frame's cells give the leak between
 * neighbouring cells (deblur.c), and the cells of up to SAMPLER_BG_FRAMES
 * of them, evenly spread, the background (PF_BG_AUTO); consecutive
 * frames' cell area means give change_max, so that the stream can tell a
 * held drawing from a new one from the second frame on.
 * The lattice samples frames in order, so it runs over the lookahead and
 * is rewound for the real pass. */
static pf_status lookahead_pass(pfi_sampler *s, const uint8_t *const *head, int n, pf_bg_mode mode,
                                const uint8_t bg_rgb[3], float *samples, const pfi_logger *lg)
{
    memset(&s->bg, 0, sizeof s->bg);
    if (mode == PF_BG_NONE) s->bg.kind = PF_BGK_NONE;
    if (mode == PF_BG_COLOR) pfi_background_solid(&s->bg, bg_rgb);
    const int m = mode != PF_BG_AUTO ? 0 : n < SAMPLER_BG_FRAMES ? n : SAMPLER_BG_FRAMES;
    float **est = calloc((size_t)m + 1, sizeof *est);
    float *cells = pfi_malloc4(s->clen, sizeof(float), 1, 1);
    float *last = pfi_malloc4(s->clen, sizeof(float), 1, 1);   /* the last frame's cell means */
    pf_status st = est && cells && last ? PF_OK : PF_ENOMEM;
    s->change_max = 0;
    for (int i = 0, next = 0; i < n && st == PF_OK; i++) {
        const int want = m > 1 ? (int)((int64_t)next * (n - 1) / (m - 1)) : 0;
        double dx, dy;
        float *c = cells;
        if ((st = pfi_lattice_sample(s->lat, head[i], samples, &dx, &dy)) < 0) break;
        pfi_grid_cell_means(samples, s->rows, s->cols, s->k, cells);   /* cells: scratch until below */
        for (size_t q = 0; i > 0 && q < s->clen; q++) s->change_max = fmaxf(s->change_max, fabsf(cells[q] - last[q]));
        memcpy(last, cells, s->clen * sizeof *last);
        if (next < m && i == want) {
            if (!(est[next] = pfi_malloc4(s->clen, sizeof(float), 1, 1))) {
                st = PF_ENOMEM;
                break;
            }
            c = est[next++];
        }
        pfi_grid_cells(samples, s->rows, s->cols, s->k, c);
        st = pfi_deblur_measure(&s->deblur, samples, c, s->rows, s->cols, s->k);
    }
    pfi_deblur_finish(&s->deblur);
    pfi_debug(lg, "cells: leak %.3f per neighbour, from %zu edges", s->deblur.beta, s->deblur.edges);
    pfi_lattice_rewind(s->lat);
    /* from the cells as sampled: deblurred, a busy background's blobs
     * split (val bg_busy_06 keyed nothing) */
    if (st == PF_OK && m > 0) pfi_background_estimate(&s->bg, (const float *const *)est, m, s->rows, s->cols);
    for (int i = 0; i < m && est; i++) free(est[i]);
    free(est);
    free(cells);
    free(last);
    return st;
}

pf_status pfi_sampler_lock(pfi_sampler *s, const uint8_t *const *head, int n, int w, int h,
                          const pfi_lattice_params *lp, pf_bg_mode bg_mode, const uint8_t bg_rgb[3],
                          int keep_pockets, size_t max_bytes, const pfi_logger *lg)
{
    float *samples = NULL;
    size_t plane, est_bytes, sample_bytes;
    pf_status st;

    memset(s, 0, sizeof *s);
    st = pfi_lattice_find(&s->lat, head, n, w, h, lp, lg);
    if (st < 0) return st;   /* the lattice (with its figures) stays on PF_ENOGRID */
    const pfi_grid *g = pfi_lattice_grid(s->lat);
    s->w = w;
    s->h = h;
    s->k = lp->k;
    s->rows = g->rows;
    s->cols = g->cols;
    if (!pfi_mul_size(&plane, (size_t)s->rows, (size_t)s->cols) || !pfi_mul_size(&s->clen, plane, 4) ||
        !pfi_mul4_size(&s->slen, s->clen, (size_t)s->k, (size_t)s->k, 1))
        return PF_ENOMEM;
    /* the native work below: scratch (keying, deblurring), one frame of
     * samples and cells, one of cell means, and the cells of the frames
     * the background is estimated from */
    const int m = bg_mode == PF_BG_AUTO ? (n < SAMPLER_BG_FRAMES ? n : SAMPLER_BG_FRAMES) : 0;
    if (!pfi_mul4_size(&est_bytes, s->clen, (size_t)m + 3, sizeof(float), 1) ||
        !pfi_add_size(&est_bytes, est_bytes, pfi_background_scratch_size(s->rows, s->cols)) ||
        !pfi_mul_size(&sample_bytes, s->slen, sizeof(float)) ||
        !pfi_add_size(&s->lock_bytes, sample_bytes, est_bytes))
        s->lock_bytes = SIZE_MAX;
    if (max_bytes && s->lock_bytes > max_bytes) return PF_ELIMIT;
    if (!(s->scratch = malloc(pfi_background_scratch_size(s->rows, s->cols))) ||
        !(s->dscratch = pfi_malloc4(plane, sizeof(float), 1, 1)) ||
        !(samples = pfi_malloc4(s->slen, sizeof(float), 1, 1))) {
        free(samples);
        return PF_ENOMEM;
    }
    st = lookahead_pass(s, head, n, bg_mode, bg_rgb, samples, lg);
    s->bg.keep_pockets = keep_pockets != 0;
    free(samples);
    return st;
}

pf_status pfi_sampler_next(pfi_sampler *s, const uint8_t *rgba, float *samples, float *cells, double *dx,
                          double *dy)
{
    pf_status st = pfi_lattice_sample(s->lat, rgba, samples, dx, dy);
    if (st < 0) return st;
    pfi_grid_cells(samples, s->rows, s->cols, s->k, cells);
    pfi_deblur_apply(&s->deblur, cells, s->rows, s->cols, s->dscratch);
    if (s->bg.kind == PF_BGK_SOLID || s->bg.kind == PF_BGK_GRADIENT || s->bg.kind == PF_BGK_FIELD)
        pfi_background_key(&s->bg, cells, s->rows, s->cols, s->scratch);
    return PF_OK;
}
