/*
 * tensor.h - a 4-D float tensor view and the arena that owns activations.
 * An arena is sized once per input shape (measure, then allocate) and
 * handed out by bump allocation, so forward and backward passes never call
 * malloc. Not a general-purpose allocator: there is no per-tensor free.
 */
#ifndef PF_NN_TENSOR_H
#define PF_NN_TENSOR_H

#include <stddef.h>

#include "pixelfix.h"

/* A view of (n, c, h, w) contiguous floats; d is not owned. */
typedef struct nn_tensor {
    float *d;
    int n, c, h, w;
} nn_tensor;

static inline size_t nn_numel(const nn_tensor *t)
{
    return (size_t)t->n * t->c * t->h * t->w;
}

/* Bump allocator over one block of floats. With base == NULL it only
 * measures: nn_arena_alloc() returns NULL and adds up what was asked. */
typedef struct nn_arena {
    float *base;     /* NULL while measuring */
    size_t cap;      /* floats in base */
    size_t used;     /* floats handed out (or asked for, while measuring) */
    int overflow;    /* set when an allocation did not fit */
} nn_arena;

/* Every allocation is rounded up to this many floats (64 bytes). */
#define NN_ARENA_ALIGN 16

/* A measuring arena: allocations are counted, nothing is stored. */
void nn_arena_measure(nn_arena *a);

/* Allocates cap floats (64-byte aligned). PF_ENOMEM on failure. */
pf_status nn_arena_init(nn_arena *a, size_t cap);

/* n floats, 64-byte aligned, uninitialised; NULL (and a->overflow set)
 * if the arena is full or measuring. */
float *nn_arena_alloc(nn_arena *a, size_t n);

/* Same, zero-filled. */
float *nn_arena_calloc(nn_arena *a, size_t n);

/* Forgets every allocation; the block is kept. */
void nn_arena_reset(nn_arena *a);

/* Frees the block; a may be NULL or zeroed. */
void nn_arena_free(nn_arena *a);

/* Fills a tensor view (n, c, h, w) from the arena; t->d is NULL on
 * overflow or while measuring. */
void nn_tensor_alloc(nn_tensor *t, nn_arena *a, int n, int c, int h, int w);

#endif /* PF_NN_TENSOR_H */
