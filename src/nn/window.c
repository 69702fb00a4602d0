/*
 * window.c - windowed inference with linear cross-fades (see window.h).
 * It schedules and blends; the callback does the computing.
 */
#include "nn/window.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

float nn_window_weight(int O, int j)
{
    return (float)(j + 1) / (float)(O + 1);
}

static float **alloc_rows(int n, size_t len)
{
    float **r = calloc((size_t)(n > 0 ? n : 1), sizeof *r);
    if (!r) return NULL;
    for (int i = 0; i < n; i++)
        if (!(r[i] = pfi_malloc4(len ? len : 1, sizeof(float), 1, 1))) {
            for (int k = 0; k < i; k++) free(r[k]);
            free(r);
            return NULL;
        }
    return r;
}

static void free_rows(float **r, int n)
{
    if (!r) return;
    for (int i = 0; i < n; i++) free(r[i]);
    free(r);
}

size_t nn_window_bytes(int T, int O, size_t in_len, size_t out_len)
{
    size_t a, b, sum;
    if (T < 0 || O < 0 || !pfi_mul_size(&a, (size_t)T, in_len) ||
        !pfi_mul_size(&b, (size_t)(2 * T + O), out_len) || !pfi_add_size(&sum, a, b) ||
        !pfi_mul_size(&sum, sum, sizeof(float)))
        return SIZE_MAX;
    return sum;
}

pf_status nn_window_init(nn_windower *w, int T, int O, size_t in_len, size_t out_len,
                         nn_window_fn fn, void *ctx)
{
    memset(w, 0, sizeof *w);
    if (T < 1 || O < 0 || 2 * O > T || !fn || !in_len || !out_len) return PF_EINVAL;
    w->T = T;
    w->O = O;
    w->S = T - O;
    w->in_len = in_len;
    w->out_len = out_len;
    w->fn = fn;
    w->ctx = ctx;
    if (!(w->in = alloc_rows(T, in_len)) || !(w->y = alloc_rows(T, out_len)) ||
        !(w->stash = alloc_rows(O, out_len)) || !(w->ready = alloc_rows(T, out_len)) ||
        !(w->x = calloc((size_t)T, sizeof *w->x))) {
        nn_window_free(w);
        return PF_ENOMEM;
    }
    return PF_OK;
}

void nn_window_free(nn_windower *w)
{
    if (!w) return;
    free_rows(w->in, w->T);
    free_rows(w->y, w->T);
    free_rows(w->stash, w->O);
    free_rows(w->ready, w->T);
    free(w->x);
    memset(w, 0, sizeof *w);
}

static void emit(nn_windower *w, const float *a, const float *b, float wb)
{
    float *dst = w->ready[w->n_ready];
    if (!a) memcpy(dst, b, w->out_len * sizeof(float));
    else
        for (size_t i = 0; i < w->out_len; i++) dst[i] = (1.0f - wb) * a[i] + wb * b[i];
    w->n_ready++;
}

/* Runs the window over the n_in held frames (padded to T by repeating the
 * last) and makes its first `count` frames ready; the frames from `count`
 * on are stashed for the next window. */
static pf_status run(nn_windower *w, int count)
{
    const int T = w->T, n = w->n_in, overlap = w->ran ? w->O : 0;
    for (int t = 0; t < T; t++) w->x[t] = w->in[t < n ? t : n - 1];
    pf_status st = w->fn(w->ctx, w->x, T, overlap, w->y);
    if (st < 0) return st;
    w->n_ready = w->ready_head = 0;
    for (int j = 0; j < count; j++)
        emit(w, j < overlap ? w->stash[j] : NULL, w->y[j],
             j < overlap ? nn_window_weight(w->O, j) : 1.0f);
    for (int j = count; j < n; j++) /* the overlap with the next window */
        memcpy(w->stash[j - count], w->y[j], w->out_len * sizeof(float));
    w->ran++;
    return PF_OK;
}

/* Keeps the last n_in - S held frames as the head of the next window. */
static void shift(nn_windower *w)
{
    for (int j = 0; j < w->O; j++) {
        float *t = w->in[j];
        w->in[j] = w->in[j + w->S];
        w->in[j + w->S] = t;
    }
    w->n_in = w->O;
}

pf_status nn_window_push(nn_windower *w, const float *in)
{
    if (w->finished || w->ready_head < w->n_ready) return PF_EINVAL;
    memcpy(w->in[w->n_in], in, w->in_len * sizeof(float));
    if (++w->n_in < w->T) return PF_OK;
    pf_status st = run(w, w->S);
    if (st == PF_OK) shift(w);
    return st;
}

pf_status nn_window_finish(nn_windower *w)
{
    if (w->finished) return PF_OK;
    if (w->ready_head < w->n_ready) return PF_EINVAL;
    w->finished = 1;
    w->n_ready = w->ready_head = 0;
    if (w->n_in == 0) return PF_OK;
    if (w->ran && w->n_in == w->O) {
        /* no later window: the stashed outputs stand alone */
        for (int j = 0; j < w->O; j++) emit(w, NULL, w->stash[j], 1.0f);
        return PF_OK;
    }
    return run(w, w->n_in);
}

pf_status nn_window_pull(nn_windower *w, const float **out)
{
    if (w->ready_head >= w->n_ready) return PF_DONE;
    *out = w->ready[w->ready_head++];
    return PF_OK;
}
