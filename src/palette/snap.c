/*
 * snap.c - snaps extracted palette entries onto the exact colours the clip
 * repeats. A cluster mean is biased wherever noise is one-sided (near black
 * and white the codec's noise is clipped), and OKLab is so steep near black
 * that sRGB (0,1,1) is already "another colour" than (0,0,0). When one exact
 * 8-bit colour dominates an entry's members, it is the artist's colour.
 * The black point goes further for the darkest entry (palette.h).
 */
#include <string.h>

#include "palette/palette.h"

#include <math.h>

#define BLACK_L 0.32f   /* OKLab L under which a neutral entry is black */
#define BLACK_C 0.05f   /* OKLab chroma under which it counts as neutral */
#define BLACK_FLOOR 0.115f /* OKLab L: an entry whose darkest 5% of members lie this high is no
                              lifted black (pfi_palette_black_point) */
#define BLACK_TINT 0.01f  /* a dark entry other than the darkest is a lifted black only when this
                             tinted (OKLab chroma): blur and chroma subsampling tint it with its
                             neighbours, where an artist's dark grey is neutral */
#define CLEAN_SPREAD 0.012 /* members this close to their entry on average (OKLab): a clean colour */

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

/* r = q with every channel within lim codes of 0 or 255 moved there;
 * returns how many channels are at 0 or 255 in r (3: q is near a corner
 * of the RGB cube, i.e. black, white, a primary or a secondary). */
static int end_snap(const uint8_t q[3], int lim, uint8_t r[3])
{
    int n = 0;
    for (int c = 0; c < 3; c++) {
        r[c] = q[c] <= lim ? 0 : q[c] >= 255 - lim ? 255 : q[c];
        n += r[c] == 0 || r[c] == 255;
    }
    return n;
}

pf_status pfi_palette_snap(pfi_palette *p, const uint8_t *rgb, size_t m, float radius, float min_share,
                         uint8_t *clean_out)
{
    ctab t = {0};
    uint32_t best[PF_PALETTE_MAX] = {0}, total[PF_PALETTE_MAX] = {0}, bestc[PF_PALETTE_MAX] = {0};
    double spread[PF_PALETTE_MAX] = {0};

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
        pfi_srgb8_to_oklab(q, lab);
        int e = pfi_palette_nearest(p, lab, &d);
        total[e] += t.count[i];
        spread[e] += t.count[i] * d;
        if (d <= radius && t.count[i] > best[e]) {
            best[e] = t.count[i];
            bestc[e] = c;
        }
    }
    for (int e = 0; e < p->n; e++) {
        uint8_t q[3];
        const int exact = best[e] && (float)best[e] >= min_share * (float)total[e];
        if (clean_out) clean_out[e] = exact || (total[e] && spread[e] / total[e] < CLEAN_SPREAD);
        if (exact) {
            q[0] = (uint8_t)(bestc[e] >> 16);
            q[1] = (uint8_t)(bestc[e] >> 8);
            q[2] = (uint8_t)bestc[e];
        } else {
            memcpy(q, p->rgb[e], 3);
        }
        /* noise is clipped at the ends of the sRGB range, so means and
         * medians sit inside it: 0..3 is 0, 252..255 is 255. No further:
         * a mean entry 10-24 codes from a corner of the RGB cube is as
         * often a shade of its own as a white or primary pulled inwards
         * (gnujump's greens (0,220..247,0) all became (0,255,0)); moving
         * such entries onto the corner lost acc_opaque 0.0025 on val,
         * 0.0018 on dev and 0.0058 on a second val draw of 240 clips. */
        uint8_t r[3];
        end_snap(q, 3, r);
        if (memcmp(r, p->rgb[e], 3) == 0) continue;
        int dup = 0;
        for (int o = 0; o < p->n; o++) dup |= o != e && memcmp(p->rgb[o], r, 3) == 0;
        if (dup) continue;
        memcpy(p->rgb[e], r, 3);
        pfi_srgb8_to_oklab(r, p->lab[e]);
    }
    free(t.key);
    free(t.count);
    return PF_OK;
}

void pfi_palette_black_point(pfi_palette *p, const uint8_t *clean, const float *low_l)
{
    int d = -1;
    if (!p) return;
    for (int e = 0; e < p->n; e++)
        if (d < 0 || p->lab[e][0] < p->lab[d][0]) d = e;
    for (int e = 0; e < p->n; e++) {
        if (clean && clean[e] && e != d) continue;   /* a clean dark grey beside black is the artist's */
        if (low_l && low_l[e] >= BLACK_FLOOR) continue;   /* dark everywhere: not lifted */
        uint8_t *c = p->rgb[e];
        float lab[3];
        pfi_srgb8_to_oklab(c, lab);     /* the written colour, not the centre */
        const float chroma = hypotf(lab[1], lab[2]);
        if (e != d && chroma < BLACK_TINT) continue;
        if (lab[0] < BLACK_L && chroma < BLACK_C) c[0] = c[1] = c[2] = 0;
    }
}

int pfi_palette_colors(const pfi_palette *p, uint8_t (*out)[3])
{
    int n = 0;
    if (!p) return 0;
    for (int e = 0; e < p->n; e++) {
        int seen = p->clear[e];
        for (int o = 0; o < e && !seen; o++) seen = !p->clear[o] && memcmp(p->rgb[o], p->rgb[e], 3) == 0;
        if (seen) continue;
        if (out) memcpy(out[n], p->rgb[e], 3);
        n++;
    }
    return n;
}
