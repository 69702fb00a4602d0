/*
 * tensor.c - the activation arena (see tensor.h). Not thread-safe.
 */
#include "nn/tensor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/common.h"

/* Arenas of at least this many bytes go in transparent huge pages. */
#define NN_ARENA_HUGE ((size_t)2 << 20)

void nn_arena_measure(nn_arena *a)
{
    memset(a, 0, sizeof *a);
}

pf_status nn_arena_init(nn_arena *a, size_t cap)
{
    size_t bytes;
    memset(a, 0, sizeof *a);
    cap = (cap + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN;
    if (!pfi_mul_size(&bytes, cap ? cap : NN_ARENA_ALIGN, sizeof(float))) return PF_ENOMEM;
#ifdef MADV_HUGEPAGE
    if (bytes >= NN_ARENA_HUGE) {
        /* an arena of hundreds of MiB in 4 KiB pages costs a page fault per
         * page on first touch and TLB misses in every conv; in 2 MiB pages
         * (where the kernel has them) neither shows */
        bytes = (bytes + NN_ARENA_HUGE - 1) / NN_ARENA_HUGE * NN_ARENA_HUGE;
        a->base = aligned_alloc(NN_ARENA_HUGE, bytes);
        if (a->base) madvise(a->base, bytes, MADV_HUGEPAGE);   /* a hint: failure is harmless */
    } else
#endif
        a->base = aligned_alloc(64, bytes);
    if (!a->base) return PF_ENOMEM;
    a->cap = cap;
    return PF_OK;
}

float *nn_arena_alloc(nn_arena *a, size_t n)
{
    size_t r = (n + NN_ARENA_ALIGN - 1) / NN_ARENA_ALIGN * NN_ARENA_ALIGN;
    if (r < n || a->used > SIZE_MAX - r) {
        a->overflow = 1;
        return NULL;
    }
    if (!a->base || a->used + r > a->cap) {
        if (a->base) a->overflow = 1;
        a->used += r;
        return NULL;
    }
    float *p = a->base + a->used;
    a->used += r;
    return p;
}

float *nn_arena_calloc(nn_arena *a, size_t n)
{
    float *p = nn_arena_alloc(a, n);
    if (p) memset(p, 0, n * sizeof(float));
    return p;
}

void nn_arena_reset(nn_arena *a)
{
    a->used = 0;
    a->overflow = 0;
}

void nn_arena_free(nn_arena *a)
{
    if (!a) return;
    free(a->base);
    memset(a, 0, sizeof *a);
}

void nn_tensor_alloc(nn_tensor *t, nn_arena *a, int n, int c, int h, int w)
{
    size_t cnt;
    t->n = n; t->c = c; t->h = h; t->w = w;
    t->d = NULL;
    if (!pfi_mul4_size(&cnt, (size_t)n, (size_t)c, (size_t)h, (size_t)w)) {
        a->overflow = 1;
        return;
    }
    t->d = nn_arena_alloc(a, cnt);
}
