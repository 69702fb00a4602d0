/*
 * snap.c - snaps extracted palette entries onto the exact colours the clip
 * repeats. A cluster mean is biased wherever noise is one-sided (near black
 * and white the codec's noise is clipped), and OKLab is so steep near black
 * that sRGB (0,1,1) is already "another colour" than (0,0,0). When one exact
 * 8-bit colour dominates an entry's members, it is the artist's colour.
 * The black point goes further for the darkest entry (palette.h).
 */
#include <string.h>

#include "palette.h"

#include <math.h>

#define BLACK_L 0.32f   /* OKLab L under which a neutral darkest entry is black */
#define BLACK_C 0.05f   /* OKLab chroma under which it counts as neutral */

/* Open-addressing table of 24-bit colours and their counts. */
typedef struct ctab {
    uint32_t *key;      /* colour + 1, 0 = empty */
    uint32_t *count;
    size_t cap;         /* power of two */
} ctab;

static void ctab_add(ctab *t, uint32_t c)
{
    size_t i = (c * 2654435761u) & (t->cap - 1);
    while (t->key[i] && t->key[i] != c + 1) i = (i + 1) & (t->cap - 1);
    t->key[i] = c + 1;
    t->count[i]++;
}

pf_status pf_palette_snap(pf_palette *p, const uint8_t *rgb, size_t m, float radius, float min_share)
{
    ctab t = {0};
    uint32_t best[PF_PALETTE_MAX] = {0}, total[PF_PALETTE_MAX] = {0}, bestc[PF_PALETTE_MAX] = {0};

    if (!p || (m && !rgb)) return PF_EINVAL;
    if (p->n == 0 || m == 0) return PF_OK;
    t.cap = 1024;
    while (t.cap < 2 * m && t.cap < ((size_t)1 << 25)) t.cap *= 2;
    t.key = calloc(t.cap, sizeof *t.key);
    t.count = calloc(t.cap, sizeof *t.count);
    if (!t.key || !t.count) {
        free(t.key);
        free(t.count);
        return PF_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        const uint8_t *c = rgb + 3 * i;
        ctab_add(&t, (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2]);
    }
    for (size_t i = 0; i < t.cap; i++) {
        if (!t.key[i]) continue;
        uint32_t c = t.key[i] - 1;
        uint8_t q[3] = {(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
        float lab[3], d;
        pf_srgb8_to_oklab(q, lab);
        int e = pf_palette_nearest(p, lab, &d);
        total[e] += t.count[i];
        if (d <= radius && t.count[i] > best[e]) {
            best[e] = t.count[i];
            bestc[e] = c;
        }
    }
    for (int e = 0; e < p->n; e++) {
        uint8_t q[3];
        if (best[e] && (float)best[e] >= min_share * (float)total[e]) {
            q[0] = (uint8_t)(bestc[e] >> 16);
            q[1] = (uint8_t)(bestc[e] >> 8);
            q[2] = (uint8_t)bestc[e];
        } else {
            memcpy(q, p->rgb[e], 3);
        }
        /* noise is clipped at the ends of the sRGB range, so means and
         * medians sit a few codes inside it: 0..3 is 0, 252..255 is 255 */
        for (int c = 0; c < 3; c++) q[c] = q[c] <= 3 ? 0 : q[c] >= 252 ? 255 : q[c];
        if (memcmp(q, p->rgb[e], 3) == 0) continue;
        int dup = 0;
        for (int o = 0; o < p->n; o++) dup |= o != e && memcmp(p->rgb[o], q, 3) == 0;
        if (dup) continue;
        memcpy(p->rgb[e], q, 3);
        pf_srgb8_to_oklab(q, p->lab[e]);
    }
    free(t.key);
    free(t.count);
    return PF_OK;
}

void pf_palette_black_point(pf_palette *p)
{
    int d = -1;
    if (!p) return;
    for (int e = 0; e < p->n; e++) {
        if (p->rgb[e][0] == 0 && p->rgb[e][1] == 0 && p->rgb[e][2] == 0) return;
        if (d < 0 || p->lab[e][0] < p->lab[d][0]) d = e;
    }
    if (d < 0) return;
    uint8_t *c = p->rgb[d];
    float lab[3];
    pf_srgb8_to_oklab(c, lab);     /* the written colour, not the centre */
    if (lab[0] < BLACK_L && hypotf(lab[1], lab[2]) < BLACK_C) c[0] = c[1] = c[2] = 0;
}
