/*
 * window.h - windowed inference over a stream of frames: windows of T
 * frames overlapping by O frames, run by a callback, their outputs
 * cross-faded linearly over the overlap. It knows nothing of the network
 * inside the callback; T = 1, O = 0 passes every frame through alone.
 *
 * Schedule: windows start at frames 0, S, 2S, ... (S = T - O); another
 * window starts only while the previous one ends before the last frame,
 * and the last one is padded by repeating the last frame. In the overlap
 * of windows a and b, the j-th shared frame (j = 0..O-1) takes
 * (1 - w_j) of a and w_j of b, w_j = (j + 1) / (O + 1), so the weights sum
 * to 1 at every frame; a frame in one window only takes weight 1.
 * Latency: a frame comes out at most T - 1 frames after it went in.
 */
#ifndef PF_NN_WINDOW_H
#define PF_NN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "pixelfix.h"

/* Runs one window: in[t] (in_len floats) for t < T -> out[t] (out_len
 * floats). Its first `reuse` frames are the last `reuse` frames of the
 * window run before (the overlap; 0 for the first window), so what the
 * callback computed for them frame by frame can be kept. Returns PF_OK or
 * an error, which the windower passes on. */
typedef pf_status (*nn_window_fn)(void *ctx, const float *const *in, int T, int reuse,
                                  float *const *out);

typedef struct nn_windower {
    int T, O, S;
    size_t in_len, out_len;     /* floats per frame */
    nn_window_fn fn;
    void *ctx;
    float **in;                 /* (T) inputs of the next window, n_in held */
    int n_in;
    int ran;                    /* windows run so far */
    float **y;                  /* (T) one window's outputs */
    const float **x;            /* (T) the window's inputs, padded */
    float **stash;              /* (O) previous window's outputs for the overlap */
    float **ready;              /* (T) blended frames waiting to be pulled */
    int n_ready, ready_head;
    int finished;
} nn_windower;

/* The cross-fade weight of the later window at overlap frame j (0..O-1). */
float nn_window_weight(int O, int j);

/* Sets up windows of T >= 1 frames overlapping by 0 <= O <= T/2.
 * Errors: PF_EINVAL, PF_ENOMEM. */
pf_status nn_window_init(nn_windower *w, int T, int O, size_t in_len, size_t out_len,
                         nn_window_fn fn, void *ctx);

/* Bytes the frame buffers of nn_window_init(T, O, in_len, out_len) take:
 * T inputs, and T + O + T outputs (window, stash, ready); SIZE_MAX when
 * beyond size_t. */
size_t nn_window_bytes(int T, int O, size_t in_len, size_t out_len);

/* Adds one frame's input (in_len floats, copied). Runs a window when T
 * frames are held. Frames come out in the order they went in, so a caller
 * keeps their timing itself. Every frame ready before must have been
 * pulled (PF_EINVAL otherwise). Errors: those of fn. */
pf_status nn_window_push(nn_windower *w, const float *in);

/* End of stream: runs the last, padded window. Errors: those of fn. */
pf_status nn_window_finish(nn_windower *w);

/* The next output frame in order: *out (out_len floats, owned by w, valid
 * until the next push/finish). PF_OK, or PF_DONE when none is ready now. */
pf_status nn_window_pull(nn_windower *w, const float **out);

void nn_window_free(nn_windower *w);

#endif /* PF_NN_WINDOW_H */
