/* stream_tap.h - internal hooks into pf_stream (stream.c), not part of
 * the public API: the tap, for tests, sees every frame's network input as
 * the windower receives it, so a test can check that the trainer
 * (train/sample.c) builds the same; the debug hooks let the caller draw
 * the --debug images (pf_restore_file does, with core/debug.c), so the
 * engine itself writes no files. */
#ifndef PF_STREAM_TAP_H
#define PF_STREAM_TAP_H

#include "pixelfix.h"
#include "grid/grid.h"
#include "io/io.h"

/* Called once per frame fed, in clip order, with the frame's canonical
 * samples (4, rows k, cols k) and keyed classical cells (4, rows, cols),
 * 0..1; the arrays are valid only during the call. */
typedef void (*pfi_stream_tap_fn)(void *user, const float *samples, const float *cells, int rows, int cols,
                                 int k);

void pfi_stream_set_tap(pf_stream *s, pfi_stream_tap_fn fn, void *user);

/* The --debug images' hooks, both optional. grid: lookahead frame `index`
 * (h, w, 4) RGBA8 just sampled by lat with drift (dx, dy) input px, for at
 * most four evenly spread lookahead frames; cells: the native frames
 * (rows, cols, 4) RGBA8 before the palette, once, when it is built. Their
 * arguments are valid only during the call; a negative return fails the
 * stream with that status. */
typedef struct pfi_stream_debug {
    pf_status (*grid)(void *user, const pfi_lattice *lat, const uint8_t *rgba, int w, int h, double dx,
                      double dy, int index);
    pf_status (*cells)(void *user, const pfi_anim *frames);
    void *user;
} pfi_stream_debug;

void pfi_stream_set_debug(pf_stream *s, const pfi_stream_debug *d);

#endif
