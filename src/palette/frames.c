/*
 * frames.c - the palette's two jobs on whole native RGBA8 frames, as the
 * engine runs them: one clip palette from the opaque pixels of many frames
 * (extract.c, then snap.c: exact colours and the black point), and
 * mapping a sequence of frames onto it in place with temporal hysteresis
 * (map.c). Glue, plus the one spatial fact the extractor cannot see in a
 * list of colours: which pixels lie inside a flat patch of their own
 * colour (an edge blend never does).
 */
#include <stdint.h>
#include <string.h>

#include "palette/palette.h"

#define SAMPLE_CAP ((size_t)4 << 20)   /* pixels given to the extractor at most */
#define LOW_L_BINS 200   /* histogram bins over OKLab L 0..1 for members_low_l */
#define LOW_L_MAX 0.5f   /* members lighter than this are not counted: no entry near black has them */
#define FLAT_DIST 0.04f   /* OKLab: a neighbour this close is the same colour (docs/metrics.md) */

/* Is native pixel i of an RGBA8 frame (w, h) inside a flat patch: opaque,
 * and its four neighbours in the frame, opaque and within FLAT_DIST of
 * its colour (lab)? */
static int inside_flat(const uint8_t *rgba, int w, int h, int32_t i, const float lab[3])
{
    int32_t nb[4];
    pfi_neighbours4(i, w, h, nb);
    for (int k = 0; k < 4; k++) {
        if (nb[k] < 0) return 0;
        const uint8_t *q = rgba + (size_t)nb[k] * 4;
        float ql[3];
        if (q[3] < 128) return 0;
        if (memcmp(q, rgba + (size_t)i * 4, 3) == 0) continue;   /* the same colour: no conversion */
        pfi_srgb8_to_oklab(q, ql);
        if (pfi_oklab_dist(ql, lab) >= FLAT_DIST) return 0;
    }
    return 1;
}

/* Per entry of p, the 5th percentile of its members' OKLab L (the m
 * colours lab, (m, 3), each a member of its nearest entry), from
 * histograms of LOW_L_BINS over L 0..1; an entry with no member darker
 * than LOW_L_MAX gets 1. Errors: PF_ENOMEM. */
static pf_status members_low_l(const pfi_palette *p, const float *lab, size_t m, float *low_l)
{
    uint32_t *hist = pfi_calloc4((size_t)(p->n > 0 ? p->n : 1), LOW_L_BINS, sizeof *hist, 1);
    if (!hist) return PF_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        const float *x = lab + 3 * i;
        if (x[0] >= LOW_L_MAX) continue;   /* only dark colours can be near a dark entry */
        const int e = pfi_palette_nearest(p, x, NULL);
        if (e < 0) continue;
        hist[(size_t)e * LOW_L_BINS + pfi_clampi((int)(x[0] * LOW_L_BINS), 0, LOW_L_BINS - 1)]++;
    }
    for (int e = 0; e < p->n; e++) {
        const uint32_t *h = hist + (size_t)e * LOW_L_BINS;
        uint64_t tot = 0, acc = 0;
        for (int b = 0; b < LOW_L_BINS; b++) tot += h[b];
        low_l[e] = 1.0f;
        for (int b = 0; b < LOW_L_BINS && tot > 0; b++)
            if ((acc += h[b]) * 20 >= tot) {   /* the 5th percentile */
                low_l[e] = (float)b / LOW_L_BINS;
                break;
            }
    }
    free(hist);
    return PF_OK;
}

pf_status pfi_palette_from_rgba(pfi_palette *p, const uint8_t *const *frames, int n, int w, int h,
                               int colors, int restored)
{
    size_t total = 0, m = 0, seen = 0, stride, plane;
    uint8_t *rgb, *flat;
    float *lab;
    pf_status st;

    if (!p || n < 0 || (n > 0 && !frames) || w < 1 || h < 1) return PF_EINVAL;
    plane = (size_t)w * (size_t)h;
    for (int f = 0; f < n; f++)
        for (size_t i = 0; i < plane; i++) total += frames[f][i * 4 + 3] >= 128;
    if (total == 0) {
        p->n = 0;
        return PF_OK;
    }
    stride = total > SAMPLE_CAP ? (total + SAMPLE_CAP - 1) / SAMPLE_CAP : 1;
    rgb = pfi_malloc4(total / stride + 1, 3, 1, 1);
    flat = pfi_malloc4(total / stride + 1, 1, 1, 1);
    lab = pfi_malloc4(total / stride + 1, 3, sizeof(float), 1);
    if (!rgb || !flat || !lab) {
        free(rgb);
        free(flat);
        free(lab);
        return PF_ENOMEM;
    }
    const int indexable = plane <= INT32_MAX;   /* pfi_neighbours4 takes int32 indices */
    for (int f = 0; f < n; f++)
        for (size_t i = 0; i < plane; i++) {
            const uint8_t *px = frames[f] + i * 4;
            if (px[3] < 128 || seen++ % stride) continue;
            memcpy(rgb + 3 * m, px, 3);
            pfi_srgb8_to_oklab(px, lab + 3 * m);
            flat[m] = indexable && inside_flat(frames[f], w, h, (int32_t)i, lab + 3 * m);
            m++;
        }
    st = pfi_palette_extract(p, lab, NULL, flat, m, colors);
    /* snap onto exact colours the clip repeats (within 0.03 OKLab, 20% of votes) */
    uint8_t clean[PF_PALETTE_MAX];
    if (st == PF_OK) st = pfi_palette_snap(p, rgb, m, 0.03f, 0.2f, clean);
    /* the network takes blur's lift off black, so after it an entry dark
     * everywhere is drawn so; classical cells keep the lift (measured on
     * val: the floor costs --no-model 0.005 acc and gains the model 0.003) */
    float low_l[PF_PALETTE_MAX];
    if (st == PF_OK && restored) st = members_low_l(p, lab, m, low_l);
    if (st == PF_OK) pfi_palette_black_point(p, clean, restored ? low_l : NULL);
    free(lab);
    free(flat);
    free(rgb);
    return st;
}

pf_status pfi_palette_mapper_init(pfi_palette_mapper *m, const pfi_palette *p, int w, int h)
{
    size_t plane, clen;

    if (!m) return PF_EINVAL;
    memset(m, 0, sizeof *m);
    if (!p || w < 1 || h < 1) return PF_EINVAL;
    if (!pfi_mul_size(&plane, (size_t)w, (size_t)h) || !pfi_mul_size(&clen, plane, 4))
        return PF_ENOMEM;
    m->pal = p;
    m->w = w;
    m->h = h;
    m->hy = pfi_hysteresis_default();
    m->cur = pfi_malloc4(clen, sizeof(float), 1, 1);
    m->prev = pfi_malloc4(clen, sizeof(float), 1, 1);
    m->idx = pfi_malloc4(plane, sizeof(int16_t), 1, 1);
    m->pidx = pfi_malloc4(plane, sizeof(int16_t), 1, 1);
    if (!m->cur || !m->prev || !m->idx || !m->pidx) {
        pfi_palette_mapper_free(m);
        return PF_ENOMEM;
    }
    return PF_OK;
}

void pfi_palette_mapper_apply(pfi_palette_mapper *m, uint8_t *rgba)
{
    const size_t plane = (size_t)m->w * m->h;
    float *t;
    int16_t *ti;

    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 4; c++) m->cur[(size_t)c * plane + i] = rgba[i * 4 + c] / 255.f;
    pfi_palette_map_frame(m->pal, m->cur, m->w, m->h, m->mapped ? m->prev : NULL,
                         m->mapped ? m->pidx : NULL, &m->hy, m->idx);
    for (size_t i = 0; i < plane; i++) {
        if (m->idx[i] < 0 || m->pal->clear[m->idx[i]]) {
            memset(rgba + i * 4, 0, 4);
        } else {
            memcpy(rgba + i * 4, m->pal->rgb[m->idx[i]], 3);
            rgba[i * 4 + 3] = 255;
        }
    }
    t = m->prev; m->prev = m->cur; m->cur = t;
    ti = m->pidx; m->pidx = m->idx; m->idx = ti;
    m->mapped++;
}

void pfi_palette_mapper_free(pfi_palette_mapper *m)
{
    if (!m) return;
    free(m->cur);
    free(m->prev);
    free(m->idx);
    free(m->pidx);
    memset(m, 0, sizeof *m);
}
