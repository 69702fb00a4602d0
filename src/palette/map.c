/*
 * map.c - native frames to palette indices: nearest colour in OKLab, no
 * dithering, with temporal hysteresis so a pixel keeps its index unless its
 * colour really changed. Not the extractor (extract.c).
 */
#include "palette.h"

#include <math.h>
#include <string.h>

/* Linear scan, O(n) with n <= 256; ties go to the lower index. */
int pf_palette_nearest(const pf_palette *p, const float lab[3], float *dist)
{
    int n = p ? pf_clampi(p->n, 0, PF_PALETTE_MAX) : 0, bi = -1;
    float bd = INFINITY;

    for (int i = 0; i < n; i++) {
        const float *c = p->lab[i];
        float x = lab[0] - c[0], y = lab[1] - c[1], z = lab[2] - c[2];
        float d = x * x + y * y + z * z;
        if (d < bd) { bd = d; bi = i; }
    }
    if (dist) *dist = bi >= 0 ? sqrtf(bd) : INFINITY;
    return bi;
}

pf_hysteresis pf_hysteresis_default(void)
{
    pf_hysteresis h = { 0.03f, 0.03f };
    return h;
}

/* The colour of cell i of planar RGBA (4, h, w) in OKLab; 1 if opaque. */
static int cell_lab(const float *cells, size_t plane, size_t i, float lab[3])
{
    float rgb[3] = { cells[i], cells[plane + i], cells[2 * plane + i] };
    float a = cells[3 * plane + i];
    if (!(a >= 0.5f)) return 0;   /* NaN alpha counts as transparent */
    for (int c = 0; c < 3; c++) rgb[c] = isfinite(rgb[c]) ? pf_clampf(rgb[c], 0.0f, 1.0f) : 0.0f;
    pf_srgb_to_oklab(rgb, lab);
    return 1;
}

/* Per pixel: alpha < 0.5 -> -1. Otherwise the nearest entry, except that
 * with a previous frame whose pixel was opaque (same alpha class) and had a
 * valid index q:
 *   - if the input colour moved less than same_dist since then, q stays
 *     while it is at most keep_margin + 2 same_dist farther than the best
 *     (that bound only bites on slow drifts, never on a still pixel whose
 *     earlier choice obeyed the margin rule);
 *   - otherwise q stays while it is at most keep_margin farther than the
 *     best entry.
 * Cost: O(w h n) colour distances plus one sRGB -> OKLab conversion per
 * pixel (two with a previous frame); no allocation. */
void pf_palette_map_frame(const pf_palette *p, const float *cells, int w, int h,
                          const float *prev_cells, const int16_t *prev_idx,
                          const pf_hysteresis *hy, int16_t *idx)
{
    pf_hysteresis def = pf_hysteresis_default();
    size_t plane = (size_t)(w > 0 ? w : 0) * (size_t)(h > 0 ? h : 0);
    int n = p ? pf_clampi(p->n, 0, PF_PALETTE_MAX) : 0;

    if (!hy) hy = &def;
    for (size_t i = 0; i < plane; i++) {
        float lab[3], plab[3], best_d;
        if (n == 0 || !cell_lab(cells, plane, i, lab)) {
            idx[i] = -1;
            continue;
        }
        int best = pf_palette_nearest(p, lab, &best_d);
        int q = prev_idx && prev_cells ? prev_idx[i] : -1;
        if (q >= 0 && q < n && q != best && cell_lab(prev_cells, plane, i, plab)) {
            float dq = pf_oklab_dist(lab, p->lab[q]);
            float margin = pf_oklab_dist(lab, plab) < hy->same_dist
                               ? hy->keep_margin + 2.0f * hy->same_dist
                               : hy->keep_margin;
            if (dq <= best_d + margin) best = q;
        }
        idx[i] = (int16_t)best;
    }
}
