/* stream_tap.h - an internal hook into pf_stream (stream.c) for tests: it
 * sees every frame's network input as the windower receives it, so a test
 * can check that the trainer (train/sample.c) builds the same. Not part of
 * the public API. */
#ifndef PF_STREAM_TAP_H
#define PF_STREAM_TAP_H

#include "pixelfix.h"

/* Called once per frame fed, in clip order, with the frame's canonical
 * samples (4, rows k, cols k) and keyed classical cells (4, rows, cols),
 * 0..1; the arrays are valid only during the call. */
typedef void (*pf_stream_tap_fn)(void *user, const float *samples, const float *cells, int rows, int cols,
                                 int k);

void pf_stream_set_tap(pf_stream *s, pf_stream_tap_fn fn, void *user);

#endif
