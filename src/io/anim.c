/*
 * anim.c - pfi_anim, the whole-animation-in-memory type (RGBA frames with
 * pts and durations). Not a decoder or an encoder.
 */
#include "io/io.h"

#include <string.h>

/* Sets an empty width x height animation. Errors: PF_EINVAL (size <= 0 or
 * a frame's byte count overflowing size_t). */
pf_status pfi_anim_init(pfi_anim *a, int width, int height)
{
    size_t n;

    PF_ASSERT(a);
    memset(a, 0, sizeof *a);
    if (width <= 0 || height <= 0 ||
        !pfi_mul4_size(&n, (size_t)width, (size_t)height, 4, 1))
        return PF_EINVAL;
    a->width = width;
    a->height = height;
    return PF_OK;
}

/* Appends a copy of rgba (H, W, 4); pts_ms = sum of earlier durations.
 * Capacity doubles, so n pushes cost O(n) copies of the frame table.
 * Errors: PF_EINVAL (duration_ms <= 0, NULL rgba), PF_ENOMEM. */
pf_status pfi_anim_push(pfi_anim *a, const uint8_t *rgba, int duration_ms)
{
    pfi_frame *fr;
    uint8_t *copy;
    size_t bytes;

    PF_ASSERT(a);
    if (!rgba || duration_ms <= 0 || a->width <= 0 || a->height <= 0)
        return PF_EINVAL;
    if (a->count == a->cap) {
        int ncap = a->cap ? a->cap * 2 : 16;
        pfi_frame *nf;
        if (a->cap > (1 << 29)) return PF_ENOMEM;
        nf = pfi_malloc4((size_t)ncap, sizeof *nf, 1, 1);
        if (!nf) return PF_ENOMEM;
        if (a->count) memcpy(nf, a->frames, (size_t)a->count * sizeof *nf);
        free(a->frames);
        a->frames = nf;
        a->cap = ncap;
    }
    if (!pfi_mul4_size(&bytes, (size_t)a->width, (size_t)a->height, 4, 1))
        return PF_EINVAL;
    copy = malloc(bytes);
    if (!copy) return PF_ENOMEM;
    memcpy(copy, rgba, bytes);
    fr = &a->frames[a->count];
    fr->rgba = copy;
    fr->duration_ms = duration_ms;
    fr->pts_ms = a->count ? a->frames[a->count - 1].pts_ms +
                            a->frames[a->count - 1].duration_ms : 0;
    a->count++;
    return PF_OK;
}

/* Frees every frame and zeroes *a (size and loop included); NULL-safe. */
void pfi_anim_free(pfi_anim *a)
{
    if (!a) return;
    for (int i = 0; i < a->count; i++) free(a->frames[i].rgba);
    free(a->frames);
    memset(a, 0, sizeof *a);
}
