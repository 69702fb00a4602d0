/*
 * fringe.c - palette entries that are blends across an edge. Blur,
 * bilinear upscaling and 4:2:0 chroma mix the cells on each side of an
 * edge; where the edge is the silhouette against a keyed background, or a
 * dark outline against a light fill, a thin shape has so many mixed cells
 * that the extractor gives the mix an entry of its own (the outline comes
 * out as two purples, the lighter one tinted by the fill). Such an entry
 * lies on the line between the colours it mixes, its pixels sit between
 * theirs, and it is written in the colour it mostly is.
 *
 * Two rules, on the same statistics:
 *  - the background: an entry on the silhouette, between another entry and
 *    a chromatic keyed background, 0.4-0.95 of the way to that entry, or
 *    under 0.4 of the way: the background the key left opaque, cleared;
 *    so is one closer to the background than 0.1 OKLab and than a third of
 *    the background's chroma, off every blend line by the codec's noise
 *    (a dull dark key sits that close to dark outlines, a vivid one not).
 *    Where the keyed background varies (a gradient, a field of blobs),
 *    each entry's background is the mean colour of the keyed pixels beside
 *    its silhouette pixels (they keep their colour), and no entry blends
 *    towards black (that mean averages hues away, so dark shades beside a
 *    black outline look like blends: dev bg_busy_04's greys);
 *  - two entries across a high-contrast edge (at least 0.37 OKLab apart,
 *    and not two chromatic colours within 60 degrees of hue: an outline
 *    and its fill, not two steps of a ramp): an entry between them,
 *    0.85-0.95 of the way to one, touching both.
 * Measured (run.py, default flags, v2, val / dev; prototypes over the
 * outputs first): the background rule: val acc 0.934 -> 0.936, acc_opaque
 * 0.865 -> 0.873 (val video_bent_04 split pure red into (255,0,0) and a
 * 40% blend with its brown background), dev 0.815 -> 0.815, 12 cases up,
 * none down. Without the chroma floor a black background made a darker
 * shade "a blend with black" (val video_model_05's outline, 0.70 -> 0.52);
 * without the touch test a bluish ring beside a black outline went (val
 * enclosed_01, 0.91 -> 0.84). The near-background clear and 0.95 (was
 * 0.9), with the widened webp_lossy kind: val acc 0.934 -> 0.936, flicker
 * 0.0059 -> 0.0052, dev 0.801 -> 0.802, 19 cases up, none down (magenta
 * specks left on val webp_lossy_02's outline); a plain 0.1 took val
 * video_model_01's purple outline on a dark wine key (0.96 -> 0.86), and
 * 0.9 left a 92% purple on a green key a colour of its own once the green
 * blend it paired with was cleared (val video_model_04 0.98 -> 0.90). The
 * pair rule: steps of a fire ramp (yellow, orange, red: 0.29-0.35 OKLab
 * apart) merged below the contrast floor (dev
 * minority_hue_04 -0.025) and, above it, dark reds between (62,0,0) and
 * (233,68,4) (dev bg_busy_02 -0.013), hence the hue test; shades towards
 * a black outline (dev: 22 cases down, up to -0.07), hence "not towards
 * black"; up to 0.25 of the way, val enclosed_09 lost a pale grey. The
 * varying background (v6, run.py): val 0.9648 -> 0.9649, dev 0.8504 ->
 * 0.8507, the wide val draw 0.9610 -> 0.9613, the busy-background draws
 * 0.7799 -> 0.7804 and 0.9328 -> 0.9336 (flicker 0.0017 -> 0.0013); no
 * clip down by 0.005 or more (dev bg_busy_04 -0.009 before the guard).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "palette/palette.h"

#define FRINGE_BG_CHROMA 0.06f  /* OKLab chroma under which the background is neutral: no blends */
#define FRINGE_EDGE 0.5         /* share of an entry's pixels on the silhouette, at least */
#define FRINGE_SHARE_MIN 0.4    /* the entry's share in a background blend (1 - the background's) ... */
#define FRINGE_SHARE_MAX 0.95   /* ... between these */
#define FRINGE_OFF_LINE 14.0    /* sRGB 0..255: largest distance from a background blend's line */
#define FRINGE_NEAR_CHROMA 0.35f /* a silhouette entry within PFI_FRINGE_NEAR_BG of the background
                                    and closer than this share of its chroma is it */
/* An entry this close to a chromatic background is it wherever its pixels
 * are, if its 4-connected blobs average under FRINGE_BLOB_MAX pixels.
 * Measured (mean blob, pixels): specks at a 2.4x H.264 silhouette (val
 * h264_nearest_06) 2.4, pockets inside rings (val enclosed_05) 21, in a
 * dithered GIF (dev gif_bilinear_dither_00) 29; trousers of the
 * green-screen colour (val video_model_04, 0.026 OKLab away) 87. */
#define FRINGE_SAME_BG 0.03f
#define FRINGE_BLOB_MAX 32.0
#define FRINGE_PARENT 0.3       /* the entry blended from has at least this share of its pixels */
#define FRINGE_TOUCH 0.25       /* share of the entry's pixels beside one of each entry it blends */
#define PAIR_CONTRAST 0.37f     /* OKLab: the two sides of an edge are at least this far apart */
#define PAIR_SHARE_MIN 0.85     /* the entry's share of the side it is written as ... */
#define PAIR_SHARE_MAX 0.95     /* ... between these */
#define PAIR_OFF_LINE 10.0      /* sRGB 0..255: largest distance from the line between the sides */
#define PAIR_HUE 1.05          /* radians (60 degrees): two chromatic sides closer in OKLab hue
                                   are steps of one ramp (dark red, red, orange), not an edge */
#define PAIR_NEUTRAL 0.05f      /* OKLab chroma under which a side has no hue */
#define PAIR_DARK 60            /* sRGB: a side with every channel under this is black: towards it
                                   a colour darkens into its own shade, not a blend */

/* 1 when pixel (x, y) of an (h, w) RGBA8 frame is opaque and touches a
 * transparent 4-neighbour or the frame's edge. */
static int on_silhouette(const uint8_t *rgba, int w, int h, int x, int y)
{
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1) return 1;
    const size_t i = (size_t)y * w + x;
    return rgba[(i - 1) * 4 + 3] < 128 || rgba[(i + 1) * 4 + 3] < 128 ||
           rgba[(i - (size_t)w) * 4 + 3] < 128 || rgba[(i + (size_t)w) * 4 + 3] < 128;
}

/* t such that q ~ a + t (b - a) in sRGB, and the distance of q from that
 * line (sRGB levels) in *off; -1 when a and b are the same colour. */
static double on_line(const uint8_t q[3], const uint8_t a[3], const uint8_t b[3], double *off)
{
    double d[3], v[3], dd = 0, dv = 0;
    for (int c = 0; c < 3; c++) {
        d[c] = (double)b[c] - a[c];
        v[c] = (double)q[c] - a[c];
        dd += d[c] * d[c];
        dv += d[c] * v[c];
    }
    if (dd < 1) return -1;
    const double t = dv / dd;
    double o = 0;
    for (int c = 0; c < 3; c++) o += (v[c] - t * d[c]) * (v[c] - t * d[c]);
    *off = sqrt(o);
    return t;
}

/* 1 when two OKLab colours both have a hue and it is within PAIR_HUE. */
static int same_hue(const float a[3], const float b[3])
{
    if (hypotf(a[1], a[2]) < PAIR_NEUTRAL || hypotf(b[1], b[2]) < PAIR_NEUTRAL) return 0;
    double d = fabs(atan2(a[2], a[1]) - atan2(b[2], b[1]));
    if (d > 3.141592653589793) d = 6.283185307179586 - d;
    return d < PAIR_HUE;
}

/* 1 when every channel of an sRGB colour is under PAIR_DARK: black, towards
 * which a colour darkens into its own shade rather than blends. */
static int is_black(const uint8_t rgb[3])
{
    return rgb[0] < PAIR_DARK && rgb[1] < PAIR_DARK && rgb[2] < PAIR_DARK;
}

/* Writes entry i in entry parent[i]'s colour, unless that entry is itself
 * a blend; returns the entries changed. */
static int apply(pfi_palette *p, const int *parent)
{
    int changed = 0;
    for (int i = 0; i < p->n; i++) {
        const int j = parent[i];
        if (j < 0 || parent[j] >= 0 || p->clear[j]) continue;
        memcpy(p->rgb[i], p->rgb[j], 3);
        changed++;
    }
    return changed;
}

/* Adds the mean RGB of the transparent 4-neighbours of opaque pixel i to
 * sum (3) and counts it in *cnt; nothing when it has none. */
static void add_local_bg(const uint8_t *rgba, int w, int h, size_t i, double *sum, double *cnt)
{
    int32_t nb[4];
    double acc[3] = {0, 0, 0};
    int k = 0;
    pfi_neighbours4((int32_t)i, w, h, nb);
    for (int d = 0; d < 4; d++)
        if (nb[d] >= 0 && rgba[(size_t)nb[d] * 4 + 3] < 128) {
            for (int c = 0; c < 3; c++) acc[c] += rgba[(size_t)nb[d] * 4 + c];
            k++;
        }
    if (!k) return;
    for (int c = 0; c < 3; c++) sum[c] += acc[c] / k;
    *cnt += 1;
}

pf_status pfi_palette_defringe(pfi_palette *p, const uint8_t *const *frames, int n, int w, int h, const uint8_t *bg,
                              int local_bg, int *merged)
{
    double count[PF_PALETTE_MAX] = {0}, edge[PF_PALETTE_MAX] = {0}, blob[PF_PALETTE_MAX] = {0};
    double lsum[PF_PALETTE_MAX][3] = {{0}}, lcnt[PF_PALETTE_MAX] = {0};
    uint8_t lbg[PF_PALETTE_MAX][3];
    uint8_t same_bg[PF_PALETTE_MAX] = {0};
    int parent[PF_PALETTE_MAX], root[PF_PALETTE_MAX];
    float lab[3];

    if (merged) *merged = 0;
    if (!p || !frames || n < 0 || w < 1 || h < 1) return PF_EINVAL;
    if (p->n < 2 || n == 0) {
        memset(p->clear, 0, sizeof p->clear);
        return PF_OK;
    }
    const int m = p->n;

    /* each opaque pixel to its nearest entry (consecutive equal colours
     * share the lookup: most pixels repeat their left neighbour), then
     * per entry: pixels, those on the silhouette, those touching entry j */
    int16_t *idx = pfi_malloc4((size_t)w, (size_t)h, sizeof *idx, 1);
    double *touch = calloc((size_t)m * m, sizeof *touch);
    int32_t *queue = pfi_malloc4((size_t)w, (size_t)h, sizeof *queue, 1);
    uint8_t *seen = pfi_malloc4((size_t)w, (size_t)h, 1, 1);
    if (!idx || !touch || !queue || !seen) {
        free(idx);
        free(touch);
        free(queue);
        free(seen);
        return PF_ENOMEM;
    }
    memset(p->clear, 0, sizeof p->clear);
    if (bg) {
        pfi_srgb8_to_oklab(bg, lab);
        for (int i = 0; i < m && hypotf(lab[1], lab[2]) >= FRINGE_BG_CHROMA; i++) {
            float li[3];
            pfi_srgb8_to_oklab(p->rgb[i], li);
            same_bg[i] = pfi_oklab_dist(li, lab) < FRINGE_SAME_BG;
        }
    }
    for (int f = 0; f < n; f++) {
        uint32_t last = 0xffffffffu;
        int e = -1;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            const uint8_t *px = frames[f] + i * 4;
            idx[i] = -1;
            if (px[3] < 128) continue;
            const uint32_t c = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
            if (c != last) {
                pfi_srgb8_to_oklab(px, lab);
                e = pfi_palette_nearest(p, lab, NULL);
                last = c;
            }
            idx[i] = (int16_t)e;
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t i = (size_t)y * w + x;
                const int e0 = idx[i];
                if (e0 < 0) continue;
                count[e0] += 1;
                if (on_silhouette(frames[f], w, h, x, y)) {
                    edge[e0] += 1;
                    if (local_bg && !bg) add_local_bg(frames[f], w, h, i, lsum[e0], &lcnt[e0]);
                }
                /* each other entry among the 4-neighbours, once */
                int nb[4], k = 0;
                if (x > 0) nb[k++] = idx[i - 1];
                if (x < w - 1) nb[k++] = idx[i + 1];
                if (y > 0) nb[k++] = idx[i - (size_t)w];
                if (y < h - 1) nb[k++] = idx[i + (size_t)w];
                for (int a = 0; a < k; a++) {
                    int dup = nb[a] < 0 || nb[a] == e0;
                    for (int b = 0; b < a && !dup; b++) dup = nb[b] == nb[a];
                    if (!dup) touch[(size_t)e0 * m + nb[a]] += 1;
                }
            }
        /* the background's own colour: how big its 4-connected blobs are,
         * as blob[e] = sum over its pixels of their blob's size */
        memset(seen, 0, (size_t)w * h);
        for (size_t s0 = 0; s0 < (size_t)w * h; s0++) {
            if (seen[s0] || idx[s0] < 0 || !same_bg[idx[s0]]) continue;
            size_t head = 0, tail = 0;
            queue[tail++] = (int32_t)s0;
            seen[s0] = 1;
            while (head < tail) {
                int32_t nb[4];
                pfi_neighbours4(queue[head++], w, h, nb);
                for (int d = 0; d < 4; d++)
                    if (nb[d] >= 0 && !seen[nb[d]] && idx[nb[d]] >= 0 && same_bg[idx[nb[d]]]) {
                        seen[nb[d]] = 1;
                        queue[tail++] = nb[d];
                    }
            }
            for (size_t k = 0; k < tail; k++) blob[idx[queue[k]]] += (double)tail;
        }
    }
    free(idx);
    free(queue);
    free(seen);

    /* the background: entry i = bg + t (entry j - bg), j the closest such;
     * mostly j: j's colour, mostly the background: transparent */
    int changed = 0;
    for (int i = 0; i < m; i++) {
        parent[i] = -1;
        for (int c = 0; c < 3; c++)
            lbg[i][c] = bg ? bg[c] : lcnt[i] > 0 ? (uint8_t)lrint(lsum[i][c] / lcnt[i]) : 0;
    }
    for (int i = 0; i < m; i++) {
        double best = FRINGE_OFF_LINE, off, best_t = 1;
        int j_best = -1;
        if (count[i] <= 0 || (!bg && !(lcnt[i] > 0))) continue;
        pfi_srgb8_to_oklab(lbg[i], lab);
        const float bg_chroma = hypotf(lab[1], lab[2]);
        if (bg_chroma < FRINGE_BG_CHROMA) continue;
        if (same_bg[i] && blob[i] < FRINGE_BLOB_MAX * count[i]) {
            /* the background's own colour in specks and slivers: pockets
             * under the key's minimum, codec noise at the silhouette. A
             * sprite part of that colour is a large blob and stays. */
            p->clear[i] = 1;
            changed++;
            continue;
        }
        if (edge[i] < FRINGE_EDGE * count[i]) continue;
        float li[3];
        pfi_srgb8_to_oklab(p->rgb[i], li);
        if (pfi_oklab_dist(li, lab) < fminf(PFI_FRINGE_NEAR_BG, FRINGE_NEAR_CHROMA * bg_chroma)) {
            /* the background itself, off every blend line by its codec noise */
            p->clear[i] = 1;
            changed++;
            continue;
        }
        for (int j = 0; j < m; j++) {
            if (j == i || count[j] < FRINGE_PARENT * count[i] || touch[(size_t)i * m + j] < FRINGE_TOUCH * count[i])
                continue;
            if (!bg && is_black(p->rgb[j]))
                continue;   /* a mean background averages hues away: dark greys beside black look like blends */
            const double t = on_line(p->rgb[i], lbg[i], p->rgb[j], &off);
            if (t >= 0 && t <= FRINGE_SHARE_MAX && off < best) {
                best = off;
                best_t = t;
                j_best = j;
            }
        }
        if (j_best >= 0 && best_t >= FRINGE_SHARE_MIN) parent[i] = j_best;
        else if (j_best >= 0) p->clear[i] = 1;
        changed += p->clear[i];
    }
    changed += apply(p, parent);

    /* what is left: the merged entries fold into the ones they took */
    for (int i = 0; i < m; i++)
        root[i] = parent[i] >= 0 && parent[parent[i]] < 0 && !p->clear[parent[i]] ? parent[i] : i;
    for (int i = 0; i < m; i++) {
        if (root[i] == i) continue;
        count[root[i]] += count[i];
        for (int j = 0; j < m; j++) {
            touch[(size_t)root[i] * m + j] += touch[(size_t)i * m + j];
            touch[(size_t)j * m + root[i]] += touch[(size_t)j * m + i];
        }
    }

    /* two entries across a high-contrast edge: entry i = a + t (b - a) */
    float lb[PF_PALETTE_MAX][3];
    for (int i = 0; i < m; i++) pfi_srgb8_to_oklab(p->rgb[i], lb[i]);
    for (int i = 0; i < m; i++) parent[i] = -1;
    for (int i = 0; i < m; i++) {
        double best = PAIR_OFF_LINE, off;
        if (root[i] != i || count[i] <= 0 || p->clear[i]) continue;
        for (int a = 0; a < m; a++) {
            if (a == i || root[a] != a || p->clear[a] || count[a] < FRINGE_PARENT * count[i] ||
                touch[(size_t)i * m + a] < FRINGE_TOUCH * count[i])
                continue;
            for (int b = 0; b < m; b++) {
                if (b == i || b == a || root[b] != b || p->clear[b] ||
                    touch[(size_t)i * m + b] < FRINGE_TOUCH * count[i] ||
                    is_black(p->rgb[b]) ||
                    pfi_oklab_dist(lb[a], lb[b]) < PAIR_CONTRAST || same_hue(lb[a], lb[b]))
                    continue;
                const double t = on_line(p->rgb[i], p->rgb[b], p->rgb[a], &off);
                if (t >= PAIR_SHARE_MIN && t <= PAIR_SHARE_MAX && off < best) {
                    best = off;
                    parent[i] = a;
                }
            }
        }
    }
    free(touch);
    /* entries that took a colour in the first rule follow their root */
    for (int i = 0; i < m; i++) {
        if (parent[i] < 0 || parent[parent[i]] >= 0) continue;
        for (int e = 0; e < m; e++)
            if (e != i && root[e] == i) memcpy(p->rgb[e], p->rgb[parent[i]], 3);
    }
    changed += apply(p, parent);
    if (merged) *merged = changed;
    return PF_OK;
}
