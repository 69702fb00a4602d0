/*
 * detect.c - native pixel-grid detection: period (non-integer), phase,
 * per-frame sub-pixel drift and locally refined (irregular) boundaries.
 * Not the resampling (sample.c) nor the background (background.c).
 *
 * Method (measured on synthetic sprites, see tests/test_grid.c).
 * - Profiles. Per axis and frame, over up to 256 sampled lines of luma,
 *   chroma and alpha (premultiplied): the first difference at every pixel
 *   boundary, and "edge-location combs": the local maxima of box
 *   differences at steps 1..16 px, each put at its sub-pixel position.
 *   A nearest, bilinear, bicubic or blurred upscale all put one maximum
 *   per edge midway between the pixel centres it joins, so the comb is
 *   periodic whatever the kernel (the plain first difference of a bilinear
 *   upscale is flat, and the linear spectrum of any interpolated image has
 *   zeros at the cell frequency). Edge strengths are compressed (square
 *   root) so that a sprite's outline against its background does not
 *   drown the weak edges between the cells inside it.
 * - Period. The phase coherence |sum P(x) e^{-2 pi i x/p}| / sum P of the
 *   profile matched to p, from a zero-padded FFT, divided by the median
 *   of the spectrum around it (a CFAR detector, floored at the coherence
 *   of randomly placed events): a sprite's few large shapes give broad
 *   bumps, a grid a narrow peak. Harmonics p/m score high too: the
 *   largest period is kept whose score is close to the best and whose
 *   left-out finer lines carry no edges. Refined by golden section, then
 *   by a least-squares fit of the edge positions (precise to ~0.1 %),
 *   unless that fit lands off the spectral peak (cells of 2-3 px).
 * - Codecs. 4:2:0 chroma and 8x8 / 4x4 blocks leave combs of periods 16/k
 *   locked to the frame; subsampled chroma is detected and dropped, and a
 *   codec period at the codec's phase must be backed by the luma; one
 *   well off that phase, with luma edges and flat cells, is the art's.
 *   Lossy WebP decoded with smooth chroma upsampling passes for full
 *   chroma, but its 2 px comb (and 4 px, when the edges show the 4 / 8 px
 *   block lattice) at the frame's phase is checked the same way.
 * - Not found: AI video clips whose soft cells of 5-7 px wander between
 *   and within frames (../shared/wild/sprited_one_part00.webp: coherence
 *   0.04-0.10 at 5.4-6 px, under its spectrum's background; 0.15-0.3 per
 *   100-row band, at periods from 5.3 to 7). No regular grid fits them;
 *   the user gives --scale.
 * - Confidence: from the weaker axis's score; or, for square cells, from
 *   the stronger one when both axes found the period on their own, or
 *   when most of the weaker axis's edges lie on its grid lines (jitter,
 *   few columns).
 * - Phase per frame: least-squares offset of the edges from the grid
 *   lines; drift = that minus the clip's circular mean.
 * - Boundaries: round(size / period) cells, as an upscale of W native
 *   pixels is round(W s) pixels; each boundary moves towards the centroid
 *   of the drift-compensated edges within +-0.3 cell, in proportion to the
 *   local evidence.
 *
 * pfi_grid_detect runs these as stages over one detect_state: detect_profiles,
 * detect_period, detect_confidence, detect_phase, detect_boundaries (their
 * thresholds under "tuning" below). pfi_grid_drift measures one frame's
 * phase the way detect_phase does, in buffers the caller keeps
 * (pfi_grid_scratch).
 */
#include "grid/grid.h"

#include <math.h>
#include <string.h>

#define GRID_MAX_LINES 256   /* rows (columns) sampled for the profiles */
#define GRID_PHASE_Q 4       /* phase bins per input pixel (cell fit) */
#define GRID_BANDS 5         /* edge-comb scales 1, 2, 4, 8, 16 px */
#define GRID_MAX_FRAMES 8    /* frames used for the period */
#define GRID_MIN_EDGE 6.0    /* weakest edge counted, summed 0..255 channel steps */
#define GRID_MIN_STEP 6      /* weakest single-pixel step counted */

/* ---- tuning of pfi_grid_detect's stages --------------------------------------
 * "Raw" scores are coherences, 0..1 (a comb's normalised Fourier
 * coefficient, axis_score); "normalised" ones are raw over the spectrum's
 * local background (axis_nscore), about 1 where there is no comb. */

/* profiles */
#define GRID_CHROMA_FULL   256    /* chroma weight (x / 256) for full chroma; 0 drops it */
#define GRID_CODEC_BLOCK   16     /* px: codec blocks leave combs of periods 16 / k */
/* period of each axis */
#define GRID_MIN_CYCLES    3.0    /* periods: the longest period searched fits this often */
#define GRID_MAX_FREQ      0.5    /* cycles per px: the finest comb searched (2 px) */
#define GRID_FIT_BINS_MIN  16     /* phase bins of the luma cell fit, at least */
#define GRID_FIT_BINS_MAX  256    /* ... and at most (also extra_line_ratio's 2 x 96) */
/* a codec period locked to the frame origin (codec_locked) */
#define GRID_CODEC_PHASE   0.15   /* cells: a comb farther from the origin is not the codec's */
#define GRID_CODEC_NEAR    0.005  /* relative: a period this close to 16 / k px is the codec's */
#define GRID_CODEC_SMALL   3.0    /* px: under this the luma edge comb takes the codec's parity */
#define GRID_LUMA_COH_SMALL  0.6  /* raw luma coherence of real cells under GRID_CODEC_SMALL ... */
#define GRID_LUMA_GAIN_SMALL 0.60 /* ... and their luma fit gain (cell_fit_gain, 0..1); a 2x
                                     bilinear upscale gives 0.6-0.65 (test_webp_2x_bilinear) */
#define GRID_LUMA_COH      0.5    /* the same for larger cells: raw luma coherence ... */
#define GRID_LUMA_GAIN     0.35   /* ... and luma fit gain */
#define GRID_LUMA_SURE     0.9    /* raw luma coherence that keeps a codec period against any other */
#define GRID_ALT_NS_SHARE  0.6    /* another period replaces it with this share of its normalised score ... */
#define GRID_ALT_RAW       0.5    /* ... and this raw score */
#define GRID_CODEC_REFINE  2.0    /* FFT bins either side: refinement on the comb-free profiles */
/* harmonics: a coarser period p m replaces the best p unless the finer grid's extra lines carry edges */
#define GRID_EXTRA_LINES   0.25   /* extra lines' share of the main lines' edge peak: the finer grid is real */
#define GRID_EXTRA_LINES_LO 0.10  /* ... also from this share when the finer period scores ... */
#define GRID_FINER_NS      1.2    /* ... this many times the coarser's normalised score */
/* reconciling the axes */
#define GRID_SAME_PERIOD   0.01   /* relative: periods this close are one period */
#define GRID_SQUARE_TOL    0.03   /* relative: square cells unless the axes disagree by more */
#define GRID_SQUARE_SHARE  0.5    /* ... or one period keeps this share of both axes' normalised scores */
#define GRID_TIE           1e-9   /* shares of normalised score this close tie (the larger period wins) */
#define GRID_HARMONIC_MAX  4      /* one axis at p / m of the other's p: m = 2 .. this */
#define GRID_HARMONIC_TOL  0.02   /* relative tolerance on m */
#define GRID_ONE_AXIS_NS   2.0    /* normalised score an empty axis needs at the other's period */
#define GRID_SQUARE_REFINE 1.0    /* FFT bins either side: joint refinement of square cells */
#define GRID_LSQ_KEEP      0.75   /* the edge fit must keep this share of the spectral peak's raw score */
/* confidence: ramps from 0 at LO to 1 at HI */
#define GRID_NS_LO         1.4    /* normalised score of the weaker axis (or the stronger, below) */
#define GRID_NS_HI         2.5
#define GRID_RAW_LO        0.35   /* raw score over pixel_attenuation, the same (compressed edges add about 0.03) */
#define GRID_RAW_HI        0.75
#define GRID_WEAK_NS_LO    1.05   /* normalised score of the weaker axis when both found the period */
#define GRID_WEAK_NS_HI    1.3
#define GRID_WEAK_RAW_LO   0.2    /* raw score, the same */
#define GRID_WEAK_RAW_HI   0.3
#define GRID_AGREE_SHARE   0.85   /* agreeing axes keep this share of their own normalised scores */
#define GRID_DISAGREE      0.3    /* confidence factor when they do not */
#define GRID_CYC_LO        6.0    /* cells per axis: under a dozen, any few edges look periodic */
#define GRID_CYC_HI        12.0
#define GRID_ONGRID_CELL   3.0    /* px: smallest cell for the on-grid test (smaller: lines by chance) */
#define GRID_ONGRID_RAW    0.2    /* raw score the weaker axis needs for the on-grid test */
#define GRID_CLEAR_RAW_LO  0.3    /* raw score of the clear axis in the on-grid test */
#define GRID_CLEAR_RAW_HI  0.7
#define GRID_ONGRID_LO     0.55   /* share of the weaker axis's edges on the grid lines (on_grid_fraction) */
#define GRID_ONGRID_HI     0.75
/* drift */
#define GRID_DRIFT_MIN_COH 0.05   /* raw coherence of a frame's comb under which an axis has no drift */

pfi_grid_params pfi_grid_default_params(void)
{
    pfi_grid_params p;
    p.scale = 0;
    p.min_cell = 1.5;
    p.max_cell = 48;
    p.min_confidence = 0.25;
    p.irregular = 1;
    return p;
}

void pfi_grid_free(pfi_grid *g)
{
    if (!g) return;
    free(g->xb);
    free(g->yb);
    g->xb = g->yb = NULL;
}

static double pfi_clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- features ------------------------------------------------------------- */

/* Premultiplied luma, two chroma differences (times cw / 256) and alpha,
 * 0..255 scale: transparent pixels' colours do not count. */
static inline void premultiply_px(const uint8_t *s, int cw, int16_t *d)
{
    int a = s[3];
    int r = (s[0] * a + 127) / 255, g = (s[1] * a + 127) / 255, b = (s[2] * a + 127) / 255;
    int y = (77 * r + 150 * g + 29 * b) >> 8;
    d[0] = (int16_t)y;
    d[1] = (int16_t)(((b - y) * cw) >> 8);
    d[2] = (int16_t)(((r - y) * cw) >> 8);
    d[3] = (int16_t)a;
}

static void premultiply(const uint8_t *rgba, size_t npx, int cw, int16_t *px)
{
    for (size_t i = 0; i < npx; i++) premultiply_px(rgba + i * 4, cw, px + i * 4);
}

/* The line of frame_profiles' l-th of nl lines across nl0 (rows or columns). */
static inline int profile_line(int l, int nl, int nl0)
{
    return (2 * l + 1) * nl0 / (2 * nl);
}

/* premultiply of only the pixels frame_profiles reads: its rows whole, and
 * its columns in the other rows (a 720p frame: 48% of the pixels). */
static void premultiply_profiled(const uint8_t *rgba, int w, int h, int cw, int16_t *px)
{
    const int nr = h < GRID_MAX_LINES ? h : GRID_MAX_LINES, nc = w < GRID_MAX_LINES ? w : GRID_MAX_LINES;
    if (nr == h || nc == w) {   /* every row or every column is read */
        premultiply(rgba, (size_t)w * h, cw, px);
        return;
    }
    for (int y = 0, l = 0; y < h; y++) {
        const size_t row = (size_t)y * w;
        if (l < nr && profile_line(l, nr, h) == y) {
            premultiply(rgba + row * 4, (size_t)w, cw, px + row * 4);
            l++;
            continue;
        }
        for (int c = 0; c < nc; c++) {
            const size_t i = row + (size_t)profile_line(c, nc, w);
            premultiply_px(rgba + i * 4, cw, px + i * 4);
        }
    }
}

/* Does the frame carry subsampled chroma (JPEG, H.264, lossy WebP 4:2:0)?
 * Upsampled half-resolution chroma, whether replicated or interpolated,
 * changes (first or second differences) mostly at every other pixel: a
 * 2-pixel comb locked to the frame that the luma does not have. Such
 * chroma is the codec's grid, not the art's, so the detector then works
 * on luma and alpha only. Opaque, unclipped pixels only (clipping moves
 * chroma into luma). */
int pfi_grid_chroma_subsampled(const uint8_t *rgba, int w, int h)
{
    /* [axis][luma, chroma][difference order][parity] */
    double acc[2][2][2][2];
    int axis, o;
    memset(acc, 0, sizeof acc);
    for (axis = 0; axis < 2; axis++) {
        const size_t st = axis == 0 ? 4 : (size_t)w * 4;
        const int nl = axis == 0 ? h : w, n = axis == 0 ? w : h;
        const int ls = nl > 128 ? nl / 128 : 1;
        int l, x;
        for (l = ls / 2; l < nl; l += ls) {
            const uint8_t *p = rgba + (axis == 0 ? (size_t)l * w * 4 : (size_t)l * 4);
            /* a rolling window of three pixels: luma, chroma, usable */
            double lu0 = 0, lu1 = 0, cb0 = 0, cb1 = 0, cr0 = 0, cr1 = 0;
            int ok0 = 0, ok1 = 0;
            for (x = 0; x < n; x++, p += st) {
                const int ok = p[3] == 255 && p[0] >= 4 && p[0] <= 251 && p[1] >= 4 && p[1] <= 251 &&
                               p[2] >= 4 && p[2] <= 251;
                const double lu = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                const double cb = p[2] - lu, cr = p[0] - lu;
                if (x >= 2 && ok && ok0 && ok1) {
                    /* first difference between x-1 and x, second centred on x-1 */
                    const int par = (x - 1) & 1;
                    acc[axis][0][0][par] += fabs(lu - lu1);
                    acc[axis][1][0][par] += fabs(cb - cb1) + fabs(cr - cr1);
                    acc[axis][0][1][par] += fabs(lu - 2 * lu1 + lu0);
                    acc[axis][1][1][par] += fabs(cb - 2 * cb1 + cb0) + fabs(cr - 2 * cr1 + cr0);
                }
                lu0 = lu1; lu1 = lu;
                cb0 = cb1; cb1 = cb;
                cr0 = cr1; cr1 = cr;
                ok0 = ok1; ok1 = ok;
            }
        }
    }
    for (axis = 0; axis < 2; axis++)
        for (o = 0; o < 2; o++) {
            const double *l2 = acc[axis][0][o], *c2 = acc[axis][1][o];
            /* parity contrast: 0 for no comb, 1 for changes at one parity only */
            const double cl = fabs(l2[0] - l2[1]) / (l2[0] + l2[1] + 1e-9);
            const double cc = fabs(c2[0] - c2[1]) / (c2[0] + c2[1] + 1e-9);
            if (c2[0] + c2[1] > 0 && cc > 0.3 && cc > 2 * cl) return 1;
        }
    return 0;
}

/* The weight of an edge of strength e (summed 0..255 channel steps) in the
 * profiles: compressed, so that the few strong edges of a sprite's outline
 * against its background (or of one high-contrast shape) do not outweigh
 * the many weak edges between the cells inside it, which carry the comb. */
static inline double edge_weight(double e)
{
    return e > 0 ? sqrt(e) : 0;
}

static inline int absd4(const int16_t *a, const int16_t *b)
{
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]) + abs(a[3] - b[3]);
}

/* Box-difference edge strength along one line and its edge locations.
 * For step d, v(x) = sum_c |mean(I[x, x+d)) - mean(I[x-d, x))|, the edge
 * strength at the boundary x between pixels x-1 and x, smoothed at scale d.
 * Every local maximum of v (the centre of a plateau, else refined by a
 * parabola) above thr * max(v) adds v at its sub-pixel position to prof
 * (n + 1 entries, coordinates 0..n), times wgt; maxima weaker than
 * GRID_MIN_EDGE never count. This edge-location comb is
 * sharp for every resampling kernel: a nearest, bilinear or bicubic edge
 * gives one maximum midway between the pixel centres it joins. cs holds
 * the line's prefix sums ((n + 1) * 4), v scratch of n + 1 doubles. */
static void line_edges(const double *cs, int n, int d, double thr, float wgt, float *prof, double *v)
{
    int x, c;
    double vmax = 0;
    const double inv = 1.0 / d;
    if (2 * d > n) return;
    for (x = 0; x <= n; x++) {
        double s = 0;
        if (x < d || x > n - d) { v[x] = 0; continue; }
        for (c = 0; c < 4; c++) s += fabs(cs[(x + d) * 4 + c] - 2 * cs[x * 4 + c] + cs[(x - d) * 4 + c]);
        v[x] = s * inv;
        if (v[x] > vmax) vmax = v[x];
    }
    thr *= vmax;
    if (thr < GRID_MIN_EDGE) thr = GRID_MIN_EDGE;   /* 8-bit banding, codec noise */
    for (x = 1; x < n; x++) {
        int e = x, i0;
        double pos, fr;
        if (!(v[x] > v[x - 1])) continue;
        while (e < n && v[e + 1] == v[x]) e++;
        if (e < n && v[e + 1] > v[x]) { x = e; continue; }
        if (v[x] <= thr) { x = e; continue; }
        if (e > x) {
            pos = 0.5 * (x + e);
        } else {
            double a = v[x - 1], b = v[x], cc = v[x + 1], den = a - 2 * b + cc;
            pos = x + (den < 0 ? 0.5 * (a - cc) / den : 0);
        }
        i0 = (int)floor(pos);
        fr = pos - i0;
        if (i0 >= 0 && i0 <= n) prof[i0] += wgt * (float)(edge_weight(v[x]) * (1 - fr));
        if (i0 + 1 >= 0 && i0 + 1 <= n) prof[i0 + 1] += wgt * (float)(edge_weight(v[x]) * fr);
        x = e;
    }
}

/* Profiles of one frame px (h, w, 4) along both axes, each a weighted sum
 * over at most GRID_MAX_LINES evenly spread rows (for x) or columns (y):
 *   x1 (w + 1): |first difference| at each boundary coordinate 0..w,
 *   x2 (GRID_BANDS, w + 1): edge-location combs (line_edges) at steps
 *       d = 2^band,
 *   y1, y2: the same along y (h + 1 entries each).
 * A line is divided by max(its first-difference sum, the mean over lines),
 * so one strong line does not dominate. bands selects the combs computed
 * (bit b: step 2^b; the others stay 0); 0 skips x2 and y2 (may be NULL).
 * cs and v are scratch ((max(w, h) + 1) * 4 and max(w, h) + 1 doubles), lw
 * GRID_MAX_LINES doubles. Returns the first-difference mass. */
static double frame_profiles(const int16_t *px, int w, int h, float *x1, float *x2,
                             float *y1, float *y2, unsigned bands, double *cs, double *v, double *lw)
{
    int axis, l, x, c, b;
    double tot = 0;
    for (axis = 0; axis < 2; axis++) {
        const int n = axis == 0 ? w : h, nl0 = axis == 0 ? h : w;
        const int nl = nl0 < GRID_MAX_LINES ? nl0 : GRID_MAX_LINES;
        const size_t step = axis == 0 ? 4 : (size_t)w * 4;
        float *p1 = axis == 0 ? x1 : y1, *p2 = axis == 0 ? x2 : y2;
        double mean = 0;
        memset(p1, 0, sizeof(float) * (size_t)(n + 1));
        if (bands) memset(p2, 0, sizeof(float) * (size_t)(n + 1) * GRID_BANDS);
        for (l = 0; l < nl; l++) {
            const int li = profile_line(l, nl, nl0);
            const int16_t *base = px + (axis == 0 ? (size_t)li * w * 4 : (size_t)li * 4);
            double s = 0;
            for (x = 1; x < n; x++) {
                const int e = absd4(base + x * step, base + (x - 1) * step);
                if (e > GRID_MIN_STEP) s += edge_weight(e);
            }
            lw[l] = s;
            mean += s;
        }
        tot += mean;
        mean = mean / nl + 1e-9;
        for (l = 0; l < nl; l++) {
            const int li = profile_line(l, nl, nl0);
            const int16_t *base = px + (axis == 0 ? (size_t)li * w * 4 : (size_t)li * 4);
            const float wr = (float)(1.0 / (lw[l] > mean ? lw[l] : mean));
            if (lw[l] <= 0) continue;
            for (x = 1; x < n; x++) {
                const int e = absd4(base + x * step, base + (x - 1) * step);
                if (e > GRID_MIN_STEP) p1[x] += wr * (float)edge_weight(e);
            }
            if (!bands) continue;
            for (c = 0; c < 4; c++) cs[c] = 0;
            for (x = 0; x < n; x++)
                for (c = 0; c < 4; c++) cs[(x + 1) * 4 + c] = cs[x * 4 + c] + base[x * step + c];
            for (b = 0; b < GRID_BANDS; b++)
                if (bands >> b & 1) line_edges(cs, n, 1 << b, 0.1, wr, p2 + (size_t)b * (n + 1), v);
        }
    }
    return tot;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Removes the background level of a profile p (n), clamping at 0: with
 * period 0 its median; otherwise the median of every residue modulo period,
 * which also removes any comb of that period phase-locked to the frame (the
 * 4x4 / 8x8 / 16x16 blocks of JPEG and H.264, the 2-pixel comb of 4:2:0
 * chroma) while a comb of another period, spread over all residues, stays.
 * tmp holds n floats. */
static void remove_floor(float *p, int n, int period, float *tmp)
{
    float base[16];
    int r, i, cnt;
    if (period <= 0 || n < 4 * period) {
        memcpy(tmp, p, sizeof(float) * (size_t)n);
        qsort(tmp, (size_t)n, sizeof *tmp, cmp_float);
        base[0] = tmp[n / 2];
        for (i = 0; i < n; i++) p[i] = p[i] > base[0] ? p[i] - base[0] : 0;
        return;
    }
    for (r = 0; r < period; r++) {
        for (cnt = 0, i = r; i < n; i += period) tmp[cnt++] = p[i];
        qsort(tmp, (size_t)cnt, sizeof *tmp, cmp_float);
        base[r] = tmp[cnt / 2];
    }
    for (i = 0; i < n; i++) {
        const float b = base[i % period];
        p[i] = p[i] > b ? p[i] - b : 0;
    }
}

/* Profiles (n + 1 entries each) of BT.601 luma along one axis of an RGBA
 * frame, using only opaque unclipped pixels (every channel in 4..251):
 * decoded 4:2:0 video keeps full-resolution luma, but chroma that clips
 * leaks into the luma computed from RGB. d1 gets the first differences,
 * comb the edge-location comb at step d (line_edges). lum, cs and v are
 * scratch of n + 1, 4 (n + 1) and n + 1 doubles. */
static void luma_profiles(const uint8_t *rgba, int w, int h, int axis, int d, float *d1,
                          float *comb, double *lum, double *cs, double *v)
{
    const int n = axis == 0 ? w : h, nl0 = axis == 0 ? h : w;
    const int nl = nl0 < GRID_MAX_LINES ? nl0 : GRID_MAX_LINES;
    const size_t step = axis == 0 ? 4 : (size_t)w * 4;
    int l, x, c;
    memset(d1, 0, sizeof(float) * (size_t)(n + 1));
    memset(comb, 0, sizeof(float) * (size_t)(n + 1));
    for (l = 0; l < nl; l++) {
        const int li = (2 * l + 1) * nl0 / (2 * nl);
        const uint8_t *base = rgba + (axis == 0 ? (size_t)li * w * 4 : (size_t)li * 4);
        int x0;
        for (x = 0; x < n; x++) {
            const uint8_t *a = base + x * step;
            int ok = a[3] == 255;
            for (c = 0; c < 3 && ok; c++) ok = a[c] >= 4 && a[c] <= 251;
            lum[x] = ok ? 0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2] : -1;
            if (x > 0 && lum[x] >= 0 && lum[x - 1] >= 0) d1[x] += (float)fabs(lum[x] - lum[x - 1]);
        }
        /* edge combs on the runs of valid pixels */
        for (x0 = 0; x0 < n; x0 = x + 1) {
            int len;
            for (x = x0; x < n && lum[x] >= 0; x++) {}
            len = x - x0;
            if (len >= 2 * d + 2) {
                int i;
                for (c = 0; c < 4; c++) cs[c] = 0;
                for (i = 0; i < len; i++) {
                    cs[(i + 1) * 4] = cs[i * 4] + lum[x0 + i];
                    cs[(i + 1) * 4 + 1] = cs[(i + 1) * 4 + 2] = cs[(i + 1) * 4 + 3] = 0;
                }
                line_edges(cs, len, d, 0.1, 1.0f, comb + x0, v);
            }
        }
    }
}

/* ---- spectra --------------------------------------------------------------- */

/* In-place radix-2 complex FFT of size n (a power of two); cs holds
 * cos/sin of 2 pi k / n for k < n/2. */
static void fft(double *re, double *im, int n, const double *cosv, const double *sinv)
{
    int i, j, len;
    for (i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (len = 2; len <= n; len <<= 1) {
        int half = len >> 1, step = n / len, k;
        for (i = 0; i < n; i += len)
            for (k = 0; k < half; k++) {
                double wr = cosv[k * step], wi = -sinv[k * step];
                double ur = re[i + k], ui = im[i + k];
                double vr = re[i + k + half] * wr - im[i + k + half] * wi;
                double vi = re[i + k + half] * wi + im[i + k + half] * wr;
                re[i + k] = ur + vr; im[i + k] = ui + vi;
                re[i + k + half] = ur - vr; im[i + k + half] = ui - vi;
            }
    }
}

/* mag[j] = |sum_i p[i] e^{-2 pi i j i / nfft}| / sum p, j <= nfft/2. */
static void coherence_spectrum(const float *p, int n, int nfft, double *re, double *im,
                               const double *cosv, const double *sinv, double *mag)
{
    int i;
    double sum = 0;
    for (i = 0; i < nfft; i++) {
        re[i] = i < n ? p[i] : 0;
        im[i] = 0;
        if (i < n) sum += p[i];
    }
    if (sum <= 0) {
        for (i = 0; i <= nfft / 2; i++) mag[i] = 0;
        return;
    }
    fft(re, im, nfft, cosv, sinv);
    for (i = 0; i <= nfft / 2; i++) mag[i] = sqrt(re[i] * re[i] + im[i] * im[i]) / sum;
}

/* The normalised coefficient of p at frequency f (cycles per pixel), for
 * samples at coordinates c0 + i; phase (radians) in *arg if not NULL. */
static double coherence_at(const float *p, int n, double f, double c0, double *arg)
{
    double cr = 1, ci = 0, sr = 0, si = 0, sum = 0;
    double dr = cos(-2 * M_PI * f), di = sin(-2 * M_PI * f);
    int i;
    for (i = 0; i < n; i++) {
        double t;
        sr += p[i] * cr;
        si += p[i] * ci;
        sum += p[i];
        t = cr * dr - ci * di;
        ci = cr * di + ci * dr;
        cr = t;
        if ((i & 255) == 255) { /* renormalise the rotating phasor */
            double m = 1.0 / sqrt(cr * cr + ci * ci);
            cr *= m; ci *= m;
        }
    }
    if (arg) {
        /* rotate by the coordinate origin */
        double a = atan2(si, sr) - 2 * M_PI * f * c0;
        *arg = a;
    }
    return sum > 0 ? sqrt(sr * sr + si * si) / sum : 0;
}

/* ---- per-axis analysis ------------------------------------------------------ */

typedef struct axis_data {
    int n;          /* profile length: pixels along the axis + 1 */
    int t;          /* frames */
    float *p1;      /* (t, n) first-difference profiles, at boundary coordinates 0..n-1 */
    float *p2;      /* (t, GRID_BANDS, n) edge-location combs */
    double *wt;     /* (t) frame weights: 1, or 0 for a frame without edges */
    double *floor_; /* (nfft/2 + 1) background level of the combined spectrum */
    int nfft;
} axis_data;

/* The edge-comb band for period per: the largest step d = 2^band with
 * d <= per / 1.25, so that the box differences span most of a cell (a
 * bilinear or blurred edge then has one clear maximum) without merging
 * neighbouring edges. */
static int band_of(double per)
{
    int b = 0;
    while (b + 1 < GRID_BANDS && (1 << (b + 1)) <= per / 1.25) b++;
    return b;
}

/* The coherence of frame t at frequency f: the larger of the first-
 * difference and the band-matched edge-comb ones; *which gets 0 or
 * 1 + band. */
static double frame_score(const axis_data *a, int t, double f, int *which)
{
    const int b = band_of(1.0 / f);
    double c1 = coherence_at(a->p1 + (size_t)t * a->n, a->n, f, 0, NULL);
    double c2 = coherence_at(a->p2 + ((size_t)t * GRID_BANDS + b) * a->n, a->n, f, 0, NULL);
    if (which) *which = c1 >= c2 ? 0 : 1 + b;
    return c1 >= c2 ? c1 : c2;
}

/* The phase (in [0, 1/f), pixels) of the grid lines that the comb of
 * frequency f puts at boundary coordinates: the circular mean over frames
 * of the argument of the stronger feature's coefficient. */
static double axis_phase(const axis_data *a, double f)
{
    double cr = 0, ci = 0, ph;
    int t;
    for (t = 0; t < a->t; t++) {
        int which;
        double arg, c;
        if (a->wt[t] <= 0) continue;
        frame_score(a, t, f, &which);
        c = coherence_at(which == 0 ? a->p1 + (size_t)t * a->n
                                    : a->p2 + ((size_t)t * GRID_BANDS + which - 1) * a->n,
                         a->n, f, 0, &arg);
        cr += c * cos(arg);
        ci += c * sin(arg);
    }
    /* sum p(x) e^{-2 pi i f x} has argument -2 pi f x0 for lines at x0 */
    ph = -atan2(ci, cr) / (2 * M_PI * f);
    ph = fmod(ph, 1.0 / f);
    return ph < 0 ? ph + 1.0 / f : ph;
}

/* Combined raw score at frequency f: the mean of the frames' scores. */
static double axis_score(const axis_data *a, double f)
{
    double s = 0, ws = 0;
    int t;
    for (t = 0; t < a->t; t++) {
        if (a->wt[t] <= 0) continue;
        s += a->wt[t] * frame_score(a, t, f, NULL);
        ws += a->wt[t];
    }
    return ws > 0 ? s / ws : 0;
}

/* The spectrum's background level at f (linear interpolation of floor_). */
static double axis_floor(const axis_data *a, double f)
{
    double j = f * a->nfft;
    int j0 = (int)j;
    if (!a->floor_) return 0;
    if (j0 < 0) return a->floor_[0];
    if (j0 >= a->nfft / 2) return a->floor_[a->nfft / 2];
    return a->floor_[j0] + (j - j0) * (a->floor_[j0 + 1] - a->floor_[j0]);
}

/* Normalised score: the raw score over the local background of the
 * spectrum (a CFAR detector): periodic structure gives a narrow peak far
 * above its surroundings, the shape of a sprite only broad bumps. */
#define GRID_FLOOR_EPS 0.02
static double axis_nscore(const axis_data *a, double f)
{
    return axis_score(a, f) / (axis_floor(a, f) + GRID_FLOOR_EPS);
}

/* Golden-section search for the maximum of the raw score of a (plus b) on
 * [lo, hi]. */
static double refine_freq(const axis_data *a, const axis_data *b, double lo, double hi, double *best)
{
    const double gr = 0.6180339887498949;
    double x1 = hi - gr * (hi - lo), x2 = lo + gr * (hi - lo);
    double f1 = axis_score(a, x1) + (b ? axis_score(b, x1) : 0);
    double f2 = axis_score(a, x2) + (b ? axis_score(b, x2) : 0);
    int it;
    for (it = 0; it < 40 && hi - lo > 1e-7; it++) {
        if (f1 < f2) {
            lo = x1; x1 = x2; f1 = f2;
            x2 = lo + gr * (hi - lo);
            f2 = axis_score(a, x2) + (b ? axis_score(b, x2) : 0);
        } else {
            hi = x2; x2 = x1; f2 = f1;
            x1 = hi - gr * (hi - lo);
            f1 = axis_score(a, x1) + (b ? axis_score(b, x1) : 0);
        }
    }
    if (best) *best = f1 > f2 ? f1 : f2;
    return f1 > f2 ? x1 : x2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* floor_[j]: the median of s over bins [j / 1.35, j * 1.35] without the
 * main lobe around j (+-2 bins of the profile's resolution), computed at
 * log-spaced anchors and interpolated. tmp holds 256 doubles. */
static void spectrum_floor(const double *s, int nfft, int n, double *floor_, double *tmp)
{
    const int half = nfft / 2, lobe = 2 * nfft / n + 1;
    const double growth = fmax(log(half) / 70, log(1.02));
    double anchors_j[80], anchors_v[80];
    int na = 0, k, j;
    double lj;
    for (lj = 0; na < 80; lj += growth) {
        int jc = (int)lrint(exp(lj)), lo, hi, step, cnt = 0;
        if (jc > half) jc = half;
        lo = (int)floor(jc / 1.35);
        hi = (int)ceil(jc * 1.35);
        if (hi > half) hi = half;
        step = (hi - lo) / 240 + 1;
        for (j = lo; j <= hi; j += step)
            if (abs(j - jc) > lobe) tmp[cnt++] = s[j];
        if (cnt == 0) tmp[cnt++] = s[jc];
        qsort(tmp, (size_t)cnt, sizeof *tmp, cmp_double);
        anchors_j[na] = jc;
        anchors_v[na] = tmp[cnt / 2];
        na++;
        if (jc >= half) break;
    }
    k = 0;
    for (j = 0; j <= half; j++) {
        while (k + 1 < na && anchors_j[k + 1] < j) k++;
        if (j <= anchors_j[0] || k + 1 >= na) floor_[j] = anchors_v[k];
        else {
            double u = (j - anchors_j[k]) / (anchors_j[k + 1] - anchors_j[k]);
            floor_[j] = anchors_v[k] + u * (anchors_v[k + 1] - anchors_v[k]);
        }
    }
}

/* Least-squares period from the edge positions themselves: every edge
 * (profile mass at x) within 0.3 cell of a grid line k gives x = phi + k per
 * (one phi per frame and axis, a common per), fitted in windows of 4, 8,
 * 16, ... cells around the edges' centre so that a start 2-3 % off still
 * numbers the lines right. More precise than the spectral peak when the
 * edges cover few cells or a codec comb sits close by. a and b (may be
 * NULL) are the axes sharing the period. */
static double refine_period_lsq(const axis_data *a, const axis_data *b, double per)
{
    int stage, ax_i, t, x;
    for (stage = 4; stage <= 1 << 20; stage *= 2) {
        double num = 0, den = 0;
        for (ax_i = 0; ax_i < 2; ax_i++) {
            const axis_data *d = ax_i == 0 ? a : b;
            if (!d) continue;
            for (t = 0; t < d->t; t++) {
                int which;
                const float *p;
                double arg, phi, c, m, sw = 0, sk = 0, sx = 0, skk = 0, skx = 0, k0;
                if (d->wt[t] <= 0) continue;
                frame_score(d, t, 1.0 / per, &which);
                p = which == 0 ? d->p1 + (size_t)t * d->n
                               : d->p2 + ((size_t)t * GRID_BANDS + which - 1) * d->n;
                coherence_at(p, d->n, 1.0 / per, 0, &arg);
                phi = -arg * per / (2 * M_PI);
                for (c = 0, m = 0, x = 0; x < d->n; x++) {
                    c += p[x] * x;
                    m += p[x];
                }
                if (m <= 0) continue;
                c /= m;
                k0 = floor((c - phi) / per + 0.5);
                for (x = 0; x < d->n; x++) {
                    double k, r, wgt = p[x];
                    if (wgt <= 0) continue;
                    k = floor((x - phi) / per + 0.5);
                    r = x - phi - k * per;
                    if (fabs(k - k0) > stage || fabs(r) > 0.3 * per) continue;
                    sw += wgt;
                    sk += wgt * k;
                    sx += wgt * x;
                    skk += wgt * k * k;
                    skx += wgt * k * x;
                }
                if (sw <= 0) continue;
                num += skx - sk * sx / sw;
                den += skk - sk * sk / sw;
            }
        }
        if (den > 1e-9 && num / den > 0.5 * per && num / den < 2 * per) per = num / den;
        if (stage > (a->n > (b ? b->n : 0) ? a->n : b->n)) break;
    }
    return per;
}

/* Folds one frame's best profile for the period per/m at period per into
 * nb phase bins (means). */
static void fold_frame(const axis_data *a, int t, double per, int m, double *h, int nb)
{
    double *cnt = h + nb;
    int which, i, b;
    const float *p;
    double c0;
    frame_score(a, t, m / per, &which);
    p = which == 0 ? a->p1 + (size_t)t * a->n : a->p2 + ((size_t)t * GRID_BANDS + which - 1) * a->n;
    c0 = 0;
    for (b = 0; b < 2 * nb; b++) h[b] = 0;
    for (i = 1; i < a->n - 1; i++) {
        b = (int)(fmod(i + c0, per) / per * nb);
        if (b >= nb) b = nb - 1;
        h[b] += p[i];
        cnt[b] += 1;
    }
    for (b = 0; b < nb; b++) h[b] = cnt[b] > 0 ? h[b] / cnt[b] : 0;
}

/* Is per a true fundamental, or do the m-1 lines of the finer grid per/m
 * that it leaves out carry edges of their own? Per frame, the folded
 * profile's largest value at an extra line (above the floor midway between
 * lines) is compared with the main line's; returns the mean ratio over the
 * frames. */
static double extra_line_ratio(const axis_data *a, double per, int m, double *hbuf)
{
    const int nb = pfi_clampi(8 * m, 16, 96);
    const double bin = per / nb;
    const int hw = (int)ceil(0.5 / bin);     /* +-0.5 px: jitter of rounded edges */
    double rsum = 0, wsum = 0;
    int t, b, k, bmax, d;
#define HV(i) (hbuf[(((i) % nb) + nb) % nb])
    for (t = 0; t < a->t; t++) {
        double main_v, floor_v = 0, extra = 0, acc;
        if (a->wt[t] <= 0) continue;
        fold_frame(a, t, per, m, hbuf, nb);
        /* main line: the bin with the most mass in its window */
        bmax = 0;
        main_v = -1;
        for (b = 0; b < nb; b++) {
            for (acc = 0, d = -hw; d <= hw; d++) acc = fmax(acc, HV(b + d));
            if (acc > main_v) { main_v = acc; bmax = b; }
        }
        for (k = 0; k < m; k++) {
            int fl = bmax + (int)lrint((k + 0.5) * nb / m);
            floor_v += HV(fl);
            if (k == 0) continue;
            for (acc = 0, d = -hw; d <= hw; d++) acc = fmax(acc, HV(bmax + (int)lrint((double)k * nb / m) + d));
            extra = fmax(extra, acc);
        }
        floor_v /= m;
        if (main_v - floor_v <= 1e-12) continue;
        rsum += fmax(0, extra - floor_v) / (main_v - floor_v);
        wsum += 1;
    }
#undef HV
    return wsum > 0 ? rsum / wsum : 1;
}

int pfi_codec_harmonic(double per, double tol)
{
    for (int k = 1; k <= 8; k++)
        if (fabs(per - 16.0 / k) < tol * per) return k;
    return 0;
}

/* Is per one of the periods of a comb locked to 16-pixel codec blocks? */
static int codec_period(double per)
{
    return pfi_codec_harmonic(per, GRID_CODEC_NEAR) > 0;
}

/* Is per one of the block periods themselves: 16 (macroblocks), 8 (JPEG
 * blocks), 4 (H.264 and VP8 transforms) or 2 px (4:2:0 chroma)? An axis's
 * own period there must pass the luma test (codec_check). The other
 * harmonics of the 16 px comb (16/3, 16/5, 16/6, 16/7 px) still pull an
 * edge fit (refine_lsq), but on dev, val and the wide and small-cell
 * draws (about 600 clips) 22 of the 24 axes whose own period fell on one
 * were upscales by that factor (5.33x, 3.2x, 2.67x, 2.29x; the other two:
 * 2.657 px on a 2.60x clip, 5.33 px on a 2.62x one), which the luma test
 * turned down (bilinear cells are not flat). */
static int block_period(double per)
{
    const int k = pfi_codec_harmonic(per, GRID_CODEC_NEAR);
    return k > 0 && (k & (k - 1)) == 0;
}

/* Is per within the main lobe of a codec period's peak in the spectrum of
 * a profile of n samples? */
static int near_codec_period(double per, double n)
{
    int k;
    for (k = 1; k <= 8; k++) {
        const double c = 16.0 / k;
        if (fabs(per - c) < 0.05 * c + c * c / n) return 1;
    }
    return 0;
}

/* Do the edges of axis a show the block lattice of a lossy codec: a comb
 * of period 4 (VP8 / H.264 transforms) or 8 (JPEG) with coherence 0.1
 * or more, its lines within 15 % (4 px) or 5 % (8 px) of a period of the
 * frame origin? */
static int block_lattice(const axis_data *a)
{
    int k;
    for (k = 0; k < 2; k++) {
        const double per = k ? 8 : 4;
        double ph;
        if (axis_score(a, 1.0 / per) < 0.1) continue;
        ph = axis_phase(a, 1.0 / per);
        if (fmin(ph, per - ph) < (k ? 0.05 : 0.15) * per) return 1;
    }
    return 0;
}

/* Must a comb of codec period per be backed by the luma (codec_check)?
 * With subsampled chroma (cw 0), at every codec period. Otherwise only
 * where a codec would put it, locked to the frame origin: 8 and 16 px
 * within 5 % of a period; 2 px within 15 % (lossy WebP leaves that comb
 * even when its smooth chroma upsampling hides the subsampling from
 * chroma_subsampled); 4 px within 15 % when the edges show a block
 * lattice (block_lattice). Other fractions 16/k are left to the art:
 * smooth upscales by 2.29 or 2.67 fail the luma test. */
static int codec_locked(const axis_data *a, double per, int cw, int lattice)
{
    double ph;
    if (!cw) return 1;
    if (per < 7.9 && fabs(per - 2) > 0.01 && (!lattice || fabs(per - 4) > 0.02)) return 0;
    ph = axis_phase(a, 1.0 / per);
    ph = fmin(ph, per - ph);
    return ph < (per > 7.9 ? 0.05 : 0.15) * per;
}

/* Chooses the period of one axis from its combined spectrum s (a->nfft
 * bins) between frequencies flo and fhi. Returns the period in pixels, or
 * 0 if none; *score gets the raw coherence there, *nscore the normalised. */
static double choose_period(const axis_data *a, const double *s, double flo, double fhi,
                            int no_codec, double *score, double *nscore, double *hbuf,
                            const pfi_logger *lg)
{
    const int nfft = a->nfft;
    int jlo = (int)ceil(flo * nfft), jhi = (int)floor(fhi * nfft), jb = -1, m, j;
    double fb, sb, nb_, fc, sc, nc, df = 1.0 / nfft, best = -1;
    if (jhi > nfft / 2) jhi = nfft / 2;
    if (jlo < 1) jlo = 1;
    *score = *nscore = 0;
    if (jhi < jlo) return 0;
    for (j = jlo; j <= jhi; j++) {
        double v = s[j] / (a->floor_[j] + GRID_FLOOR_EPS);
        if (no_codec && near_codec_period((double)nfft / j, a->n)) continue;
        if (v > best) { best = v; jb = j; }
    }
    if (jb < 0) return 0;
    fb = refine_freq(a, NULL, (jb - 1.5) * df, (jb + 1.5) * df, &sb);
    nb_ = sb / (axis_floor(a, fb) + GRID_FLOOR_EPS);
    fc = fb;
    sc = sb;
    nc = nb_;
    /* harmonics p/m score as high as p: keep the largest period whose score
     * is close to the best, unless the lines of the finer grid that it
     * leaves out carry edges of their own */
    for (m = 2; fb / m >= flo; m++) {
        double fm = fb / m, sm, nm, r;
        if (no_codec && codec_period(1.0 / fm)) continue;
        sm = axis_score(a, fm);
        nm = sm / (axis_floor(a, fm) + GRID_FLOOR_EPS);
        if (!((nm >= 0.5 * nb_ && nm >= 2.0) || (sm >= 0.8 * sb && nm >= 1.5))) continue;
        r = extra_line_ratio(a, 1.0 / fm, m, hbuf);
        pfi_debug(lg, "grid: is %.3f (%.3f, %.2f) the fundamental of %.3f (%.3f, %.2f)? extra lines %.3f",
                 1.0 / fm, sm, nm, 1.0 / fb, sb, nb_, r);
        /* a comb of period p m has no more coherence at p than at p m (as
         * much with sharp edges, less with blurred ones), so a finer period
         * that outscores it has edges of its own on the extra lines; not at
         * a codec's block periods, whose own comb adds to the finer one, nor
         * on an axis of under a dozen coarser cells, whose scores are noise
         * (an 8-cell scene's x axis took half its cell) */
        if (r < (nb_ >= GRID_FINER_NS * nm && !codec_period(1.0 / fb) && a->n * fm >= GRID_CYC_HI
                     ? GRID_EXTRA_LINES_LO
                     : GRID_EXTRA_LINES)) {
            fc = fm;
            sc = sm;
            nc = nm;
        }
    }
    if (fc != fb) {
        fc = refine_freq(a, NULL, fc - 0.5 * df, fc + 0.5 * df, &sc);
        nc = sc / (axis_floor(a, fc) + GRID_FLOOR_EPS);
    }
    *score = sc;
    *nscore = nc;
    return 1.0 / fc;
}

/* ---- phase ------------------------------------------------------------------ */

/* Where the grid lines of period per sit in an edge profile p (n entries
 * at boundary coordinates): starting from the phase of the profile's
 * Fourier coefficient, the weighted mean offset of the edges within 0.3
 * cell of a line (least squares with a fixed period), iterated. Returns
 * the phase in [0, per); *strength gets the coefficient's coherence. */
static double edge_phase(const float *p, int n, double per, double *strength)
{
    double arg, phi;
    int it, x;
    *strength = coherence_at(p, n, 1.0 / per, 0, &arg);
    phi = -arg * per / (2 * M_PI);
    for (it = 0; it < 3; it++) {
        double sw = 0, sr = 0;
        for (x = 0; x < n; x++) {
            double k, r;
            if (p[x] <= 0) continue;
            k = floor((x - phi) / per + 0.5);
            r = x - phi - k * per;
            if (fabs(r) > 0.3 * per) continue;
            sw += p[x];
            sr += p[x] * r;
        }
        if (sw <= 0) break;
        phi += sr / sw;
    }
    phi = fmod(phi, per);
    return phi < 0 ? phi + per : phi;
}
static double wrap_half(double v, double per);

/* The share of an axis's edge mass that lies within 0.2 cell of the grid
 * lines of period per (each frame's own phase, edge_phase): about 0.4 for
 * edges at random places, near 1 when the axis has the grid's edges even
 * if too few or too irregular to give a sharp spectral peak. Mean over
 * the frames, weighted by their mass; 0..1. */
static double on_grid_fraction(const axis_data *a, double per)
{
    double on = 0, all = 0;
    int t, x;
    for (t = 0; t < a->t; t++) {
        int which;
        const float *p;
        double phi, s;
        if (a->wt[t] <= 0) continue;
        frame_score(a, t, 1.0 / per, &which);
        p = which == 0 ? a->p1 + (size_t)t * a->n : a->p2 + ((size_t)t * GRID_BANDS + which - 1) * a->n;
        phi = edge_phase(p, a->n, per, &s);
        for (x = 0; x < a->n; x++) {
            double r;
            if (p[x] <= 0) continue;
            r = wrap_half(x - phi, per);
            all += p[x];
            if (fabs(r) < 0.2 * per) on += p[x];
        }
    }
    return all > 0 ? on / all : 0;
}

/* Of a frame's first-difference profile d1 and its edge comb at the band
 * of per (both n entries), the one more coherent at period per. */
static const float *best_feature(const float *d1, const float *comb, int n, double per)
{
    return coherence_at(d1, n, 1.0 / per, 0, NULL) >= coherence_at(comb, n, 1.0 / per, 0, NULL) ? d1 : comb;
}

/* How much better cells of period per explain the luma along one axis at
 * their best phase than at their worst: (SSE_max - SSE_min) / SSE_max of
 * the least-squares piecewise-constant fit of sampled lines of px
 * (h, w, 4; channel 0 luma, 3 alpha), each cell fitted by its mean. Near 1
 * for flat cells (real pixels), small for codec blocks over smooth
 * content. cum is scratch of (n + 1) * 4 doubles, hist of nbins. */
static double cell_fit_gain(const int16_t *px, int w, int h, int axis, double per, double *cum,
                            double *hist, int nbins)
{
    const int n = axis == 0 ? w : h, nl = axis == 0 ? h : w;
    const size_t step = axis == 0 ? 4 : (size_t)w * 4;
    const int lstep = nl > GRID_MAX_LINES ? (nl + GRID_MAX_LINES - 1) / GRID_MAX_LINES : 1;
    const double dt = per / nbins, inv = 1.0 / per;
    const int ncell = (int)ceil((n + per) / per) + 1;
    int l, b, j, c;
    double lo, hi;
    for (b = 0; b < nbins; b++) hist[b] = 0;
    for (l = lstep / 2; l < nl; l += lstep) {
        const int16_t *base = px + (axis == 0 ? (size_t)l * w * 4 : (size_t)l * 4);
        for (j = 0; j < 4; j++) cum[j] = 0;
        for (j = 0; j < n; j++)
            for (c = 0; c < 2; c++) {
                const double v = base[j * step + (c ? 3 : 0)];
                cum[(j + 1) * 4 + c] = cum[j * 4 + c] + v;          /* sums */
                cum[(j + 1) * 4 + 2 + c] = cum[j * 4 + 2 + c] + v * v; /* squares */
            }
        for (j = 0; j < ncell * nbins; j++) {
            const double t0 = -per + j * dt, t1 = t0 + per;
            double e = 0;
            for (c = 0; c < 2; c++) {
                double s0, s1, q0, q1, v;
                int i;
#define CUMAT(t, s, q)                                                          \
                if ((t) <= 0) {                                                 \
                    v = base[c ? 3 : 0];                                        \
                    s = (t) * v; q = (t) * v * v;                               \
                } else if ((t) >= n) {                                          \
                    v = base[(size_t)(n - 1) * step + (c ? 3 : 0)];             \
                    s = cum[(size_t)n * 4 + c] + ((t) - n) * v;                 \
                    q = cum[(size_t)n * 4 + 2 + c] + ((t) - n) * v * v;         \
                } else {                                                        \
                    i = (int)(t);                                               \
                    v = base[(size_t)i * step + (c ? 3 : 0)];                   \
                    s = cum[(size_t)i * 4 + c] + ((t) - i) * v;                 \
                    q = cum[(size_t)i * 4 + 2 + c] + ((t) - i) * v * v;         \
                }
                CUMAT(t0, s0, q0)
                CUMAT(t1, s1, q1)
#undef CUMAT
                e += (q1 - q0) - (s1 - s0) * (s1 - s0) * inv;
            }
            hist[j % nbins] += e;
        }
    }
    lo = hi = hist[0];
    for (b = 1; b < nbins; b++) {
        if (hist[b] < lo) lo = hist[b];
        if (hist[b] > hi) hi = hist[b];
    }
    return hi > 0 ? (hi - lo) / hi : 0;
}

/* Wraps v into (-per/2, per/2]. */
static double wrap_half(double v, double per)
{
    v = fmod(v, per);
    if (v > per / 2) v -= per;
    if (v <= -per / 2) v += per;
    return v;
}

/* ---- boundaries ------------------------------------------------------------ */

/* The cells of the grid off + k per over [0, n): round(extent / per) of
 * them (an upscale of W native pixels by s is round(W s) pixels, one more
 * where an encoder evened an odd side: pfi_grid_extent), starting at the
 * boundary nearest the frame's top-left corner, where upscalers start and
 * encoders do not pad. Counting the cells at least half inside instead
 * depends on the offset, which is off by a few tenths of a pixel on lossy
 * input; centring the cells on the frame put the padding's half pixel on
 * both ends (wide val draw: 8 clips a cell off that were right, 21 right
 * that were off). The first k goes in *k0; returns the count. */
static int half_cells(double per, double off, int n, int *k0)
{
    const double ext = pfi_grid_extent(n, per);
    const int cnt = (int)lrint(ext / per);
    if (cnt < 1) {
        *k0 = 0;
        return 0;
    }
    *k0 = (int)floor(-off / per + 0.5);
    return cnt;
}

/* Moves each boundary xb[0..cnt] towards the centroid of the edge profile
 * q (n + 1 entries at coordinates 0..n) within +-0.3 cell, weighted by the
 * local evidence against the median evidence; keeps them increasing. */
static void refine_bounds(double *xb, int cnt, double per, const double *q, int n, double *ev)
{
    int i, it, j;
    double med;
    const double win = 0.3 * per;

    for (i = 0; i <= cnt; i++) ev[i] = 0;
    for (it = 0; it < 2; it++) {
        for (i = 0; i <= cnt; i++) {
            double e = xb[i], lo, hi, base, m = 0, cx = 0, vals[512];
            int j0, j1, nv = 0, k;
            if (e - 0.5 * per < 0.5 || e + 0.5 * per > n - 0.5) { ev[i] = -1; continue; }
            j0 = (int)ceil(e - 0.5 * per);
            j1 = (int)floor(e + 0.5 * per);
            for (j = j0; j <= j1 && nv < 512; j++) vals[nv++] = q[j];
            /* baseline: the median over one cell around the boundary */
            for (j = 1; j < nv; j++) {
                double v = vals[j];
                for (k = j - 1; k >= 0 && vals[k] > v; k--) vals[k + 1] = vals[k];
                vals[k + 1] = v;
            }
            base = nv ? vals[nv / 2] : 0;
            lo = e - win;
            hi = e + win;
            for (j = (int)ceil(lo); j <= (int)floor(hi); j++) {
                double v = q[j] - base;
                if (v > 0) { m += v; cx += v * j; }
            }
            ev[i] = m;
            if (m > 0) ev[cnt + 1 + i] = cx / m; else ev[cnt + 1 + i] = e;
        }
        /* median evidence over the interior boundaries */
        {
            int nm = 0;
            double *tmp = ev + 2 * (cnt + 1);
            for (i = 0; i <= cnt; i++)
                if (ev[i] >= 0) tmp[nm++] = ev[i];
            for (j = 1; j < nm; j++) {
                double v = tmp[j];
                int k;
                for (k = j - 1; k >= 0 && tmp[k] > v; k--) tmp[k + 1] = tmp[k];
                tmp[k + 1] = v;
            }
            med = nm ? tmp[nm / 2] : 0;
        }
        if (med <= 0) return;
        for (i = 0; i <= cnt; i++) {
            double lam;
            if (ev[i] < 0) continue;
            lam = ev[i] / (ev[i] + 0.5 * med);
            xb[i] = xb[i] + lam * (ev[cnt + 1 + i] - xb[i]);
        }
    }
    /* keep them increasing with at least 0.3 cell between */
    for (i = 1; i <= cnt; i++)
        if (xb[i] < xb[i - 1] + 0.3 * per) {
            double mid = 0.5 * (xb[i] + xb[i - 1]);
            xb[i - 1] = mid - 0.15 * per;
            xb[i] = mid + 0.15 * per;
        }
    for (i = 1; i <= cnt; i++)
        if (xb[i] <= xb[i - 1]) xb[i] = xb[i - 1] + 0.3 * per;
}

/* ---- detection -------------------------------------------------------------- */

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

/* Allocates the period data of one axis for tp frames of n pixels. */
static int axis_alloc(axis_data *a, int n, int tp)
{
    memset(a, 0, sizeof *a);
    a->n = n;
    a->t = tp;
    a->nfft = pow2_at_least(4 * n);
    a->p1 = pfi_malloc4((size_t)tp, (size_t)n, 1, sizeof(float));
    a->p2 = pfi_malloc4((size_t)tp, (size_t)n, GRID_BANDS, sizeof(float));
    a->wt = pfi_malloc4((size_t)tp, 1, 1, sizeof(double));
    a->floor_ = pfi_malloc4((size_t)a->nfft / 2 + 1, 1, 1, sizeof(double));
    return a->p1 && a->p2 && a->wt && a->floor_;
}

static void axis_release(axis_data *a)
{
    free(a->p1);
    free(a->p2);
    free(a->wt);
    free(a->floor_);
    memset(a, 0, sizeof *a);
}

/* Scratch for the spectra. */
typedef struct spec_work {
    double *re, *im, *cosv, *sinv, *mag;   /* nfft, nfft, nfft/2, nfft/2, (1 + bands)(nfft/2 + 1) */
    int cos_n;                             /* size the twiddles are for */
} spec_work;

/* The combined spectrum of a (spec, nfft/2 + 1 bins): per frame, the larger
 * of the first-difference and the band-matched second-difference coherence,
 * averaged over frames; then its background level (a->floor_). */
static double neff_floor(const float *p, int n)
{
    double s = 0, s2 = 0;
    int i;
    for (i = 0; i < n; i++) {
        s += p[i];
        s2 += (double)p[i] * p[i];
    }
    return s > 0 ? sqrt(s2) / s : 1;   /* 1 / sqrt(effective number of events) */
}

static void axis_spectrum(axis_data *a, spec_work *sw, double *spec)
{
    const int nf = a->nfft, half = nf / 2;
    double ws = 0, nfl[1 + GRID_BANDS] = {0};
    int i, t, b;
    if (sw->cos_n != nf) {
        for (i = 0; i < half; i++) {
            sw->cosv[i] = cos(2 * M_PI * i / nf);
            sw->sinv[i] = sin(2 * M_PI * i / nf);
        }
        sw->cos_n = nf;
    }
    for (i = 0; i <= half; i++) spec[i] = 0;
    for (t = 0; t < a->t; t++) {
        if (a->wt[t] <= 0) continue;
        ws += a->wt[t];
        coherence_spectrum(a->p1 + (size_t)t * a->n, a->n, nf, sw->re, sw->im, sw->cosv, sw->sinv, sw->mag);
        nfl[0] += a->wt[t] * neff_floor(a->p1 + (size_t)t * a->n, a->n);
        for (b = 0; b < GRID_BANDS; b++) {
            coherence_spectrum(a->p2 + ((size_t)t * GRID_BANDS + b) * a->n, a->n, nf, sw->re, sw->im,
                               sw->cosv, sw->sinv, sw->mag + (size_t)(b + 1) * (half + 1));
            nfl[1 + b] += a->wt[t] * neff_floor(a->p2 + ((size_t)t * GRID_BANDS + b) * a->n, a->n);
        }
        for (i = 1; i <= half; i++) {
            double m1 = sw->mag[i], m2 = sw->mag[(size_t)(band_of((double)nf / i) + 1) * (half + 1) + i];
            spec[i] += a->wt[t] * (m1 > m2 ? m1 : m2);
        }
    }
    if (ws > 0) {
        for (i = 0; i <= half; i++) spec[i] /= ws;
        for (b = 0; b <= GRID_BANDS; b++) nfl[b] /= ws;
    }
    spectrum_floor(spec, nf, a->n, a->floor_, sw->mag);
    /* the coherence of events at random places is about 1 / sqrt(their
     * effective number): a few large-scale edges must not look periodic */
    for (i = 1; i <= half; i++) {
        const double m = fmax(nfl[0], nfl[1 + band_of((double)nf / i)]);
        if (a->floor_[i] < m) a->floor_[i] = m;
    }
}

/* ---- the detector's stages ------------------------------------------------- */

/* What pfi_grid_detect's stages share. Axis 0 is x (columns), 1 is y. */
typedef struct detect_state {
    const uint8_t *const *frames;
    int n, w, h;                 /* frames; canvas, px */
    pfi_grid_params p;
    const pfi_logger *lg;
    double t0;                   /* when detection began, ms */
    int tp;                      /* frames used for the period, evenly spread */
    int cw;                      /* chroma weight: GRID_CHROMA_FULL, or 0 (subsampled chroma) */
    int lattice;                 /* full chroma, but the edges show codec blocks */
    /* profiles */
    axis_data ad[4];             /* x, y, then (cw 0) the same without 16-pixel combs */
    spec_work sw;
    double *spec;                /* (nfft/2 + 1) one axis's combined spectrum */
    pfi_grid_scratch fs;          /* one frame's profiles */
    float *ftmp;                 /* (3, max(w, h) + 1) the codec check's luma profiles */
    double *cum;                 /* (max(w, h) + 1, 8) luma sums */
    double *hist;                /* (GRID_FIT_BINS_MAX) phase bins */
    /* period */
    double own[2], own_sc[2], own_ns[2];   /* each axis on its own: period px, raw, normalised */
    double rejected[2];          /* a codec period the axis turned down, px; 0 for none */
    double alt[2], alt_sc[2], alt_ns[2]; /* a kept codec period's best other period, px (0: none) */
    double per[2], sc[2], ns[2]; /* the period chosen, px, and its raw and normalised scores */
    int harmonic;                /* square cells from one axis at a whole fraction of the other */
    /* phase */
    float *d1[2];                /* (n, w + 1) and (n, h + 1): every frame's best profile */
    double *drift[2];            /* (n) every frame's phase, then its drift, px */
    double off[2];               /* the clip's phase, px in [0, per) */
} detect_state;

/* 0 up to lo, rising linearly to 1 at hi. */
static double ramp(double v, double lo, double hi) { return pfi_clampd((v - lo) / (hi - lo), 0, 1); }

/* The edge profiles of one frame rgba at the grid's periods perx, pery
 * into fx (w + 1) and fy (h + 1): per axis, the first difference or the
 * edge comb at the period's band, whichever is more coherent there
 * (best_feature), floors removed. cw: chroma weight (premultiply). What
 * the phase is measured on, in pfi_grid_detect and pfi_grid_drift alike. */
static void frame_phase_profiles(pfi_grid_scratch *fs, const uint8_t *rgba, int w, int h, int cw,
                                 double perx, double pery, float *fx, float *fy)
{
    const int bx = band_of(perx), by = band_of(pery);
    float *combx = fs->cx + (size_t)bx * (w + 1), *comby = fs->cy + (size_t)by * (h + 1);
    double lw[GRID_MAX_LINES];
    premultiply_profiled(rgba, w, h, cw, fs->px);
    frame_profiles(fs->px, w, h, fx, fs->cx, fy, fs->cy, (1u << bx) | (1u << by), fs->cs, fs->v, lw);
    remove_floor(fx, w + 1, 0, fs->tmp);
    remove_floor(fy, h + 1, 0, fs->tmp);
    remove_floor(combx, w + 1, 0, fs->tmp);
    remove_floor(comby, h + 1, 0, fs->tmp);
    if (best_feature(fx, combx, w + 1, perx) != fx) memcpy(fx, combx, sizeof(float) * (size_t)(w + 1));
    if (best_feature(fy, comby, h + 1, pery) != fy) memcpy(fy, comby, sizeof(float) * (size_t)(h + 1));
}

/* Checks the arguments, sets g's canvas, tells lossy chroma (the profiles
 * then use luma and alpha, and keep a copy without the codec's combs) and
 * allocates what the stages use. s is zeroed first, so detect_close is
 * always safe. */
static pf_status detect_open(detect_state *s, pfi_grid *g, const uint8_t *const *frames, int n,
                             int w, int h, const pfi_grid_params *pp, const pfi_logger *lg)
{
    size_t nmax, nfft_max;
    int t, j, ok = 1;

    memset(s, 0, sizeof *s);
    s->t0 = pfi_now_ms();
    s->p = pp ? *pp : pfi_grid_default_params();
    s->lg = lg;
    if (!g) return PF_EINVAL;
    memset(g, 0, sizeof *g);
    if (!frames || n < 1 || w < 2 || h < 2 || !(s->p.min_cell >= 1) ||
        !(s->p.max_cell >= s->p.min_cell) || (s->p.scale != 0 && !(s->p.scale >= 1)))
        return PF_EINVAL;
    for (t = 0; t < n; t++)
        if (!frames[t]) return PF_EINVAL;
    if (w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE) {
        pfi_error(lg, "grid: a %dx%d frame is over %d pixels a side", w, h, PF_GRID_MAX_SIDE);
        return PF_ELIMIT;
    }
    g->in_w = w;
    g->in_h = h;
    s->frames = frames;
    s->n = n;
    s->w = w;
    s->h = h;
    s->tp = n < GRID_MAX_FRAMES ? n : GRID_MAX_FRAMES;
    s->cw = pfi_grid_chroma_subsampled(frames[n / 2], w, h) ? 0 : GRID_CHROMA_FULL;
    if (!s->cw) pfi_debug(lg, "grid: chroma is subsampled (lossy codec); using luma and alpha");
    for (j = 0; j < (s->cw ? 2 : 4); j++) ok &= axis_alloc(&s->ad[j], (j % 2 == 0 ? w : h) + 1, s->tp);
    nmax = (size_t)(w > h ? w : h);
    nfft_max = (size_t)(s->ad[0].nfft > s->ad[1].nfft ? s->ad[0].nfft : s->ad[1].nfft);
    s->sw.re = pfi_malloc4(nfft_max, 1, 1, sizeof(double));
    s->sw.im = pfi_malloc4(nfft_max, 1, 1, sizeof(double));
    s->sw.cosv = pfi_malloc4(nfft_max, 1, 1, sizeof(double));
    s->sw.sinv = pfi_malloc4(nfft_max, 1, 1, sizeof(double));
    s->sw.mag = pfi_malloc4(nfft_max / 2 + 1, 1 + GRID_BANDS, 1, sizeof(double));
    s->spec = pfi_malloc4(nfft_max / 2 + 1, 1, 1, sizeof(double));
    s->ftmp = pfi_malloc4(nmax + 1, 3, 1, sizeof(float));
    s->cum = pfi_malloc4(nmax + 1, 8, 1, sizeof(double));
    s->hist = pfi_malloc4(GRID_FIT_BINS_MAX, 1, 1, sizeof(double));
    s->d1[0] = pfi_malloc4((size_t)n, (size_t)w + 1, 1, sizeof(float));
    s->d1[1] = pfi_malloc4((size_t)n, (size_t)h + 1, 1, sizeof(float));
    s->drift[0] = pfi_malloc4((size_t)n, 1, 1, sizeof(double));
    s->drift[1] = pfi_malloc4((size_t)n, 1, 1, sizeof(double));
    if (!ok || !s->sw.re || !s->sw.im || !s->sw.cosv || !s->sw.sinv || !s->sw.mag || !s->spec ||
        !s->ftmp || !s->cum || !s->hist || !s->d1[0] || !s->d1[1] || !s->drift[0] || !s->drift[1] ||
        pfi_grid_scratch_init(&s->fs, w, h) < 0)
        return PF_ENOMEM;
    return PF_OK;
}

static void detect_close(detect_state *s)
{
    int j;
    for (j = 0; j < 4; j++) axis_release(&s->ad[j]);
    free(s->sw.re); free(s->sw.im); free(s->sw.cosv); free(s->sw.sinv); free(s->sw.mag);
    free(s->spec); free(s->ftmp); free(s->cum); free(s->hist);
    for (j = 0; j < 2; j++) {
        free(s->d1[j]);
        free(s->drift[j]);
    }
    pfi_grid_scratch_free(&s->fs);
}

/* 1. Profiles: the edge profiles (frame_profiles, every band) of up to
 * GRID_MAX_FRAMES frames spread evenly over the clip, with their floor
 * removed, one period of evidence per frame. For lossy input (cw 0) also
 * a copy with the floor of every residue modulo 16 px removed: that
 * strips the combs of codec blocks phase-locked to the frame, and the
 * period stage refines on it once the period is known to be another. */
static void detect_profiles(detect_state *s)
{
    axis_data *ax = &s->ad[0], *ay = &s->ad[1];
    double lw[GRID_MAX_LINES];
    int t, j, b;
    for (t = 0; t < s->tp; t++) {
        const int src = s->tp > 1 ? (int)((long)t * (s->n - 1) / (s->tp - 1)) : 0;
        double tot;
        premultiply(s->frames[src], (size_t)s->w * s->h, s->cw, s->fs.px);
        tot = frame_profiles(s->fs.px, s->w, s->h, ax->p1 + (size_t)t * ax->n,
                             ax->p2 + (size_t)t * ax->n * GRID_BANDS, ay->p1 + (size_t)t * ay->n,
                             ay->p2 + (size_t)t * ay->n * GRID_BANDS, (1u << GRID_BANDS) - 1, s->fs.cs,
                             s->fs.v, lw);
        for (j = 0; j < 2; j++) {
            axis_data *a = &s->ad[j], *d = &s->ad[j + 2];
            const size_t nn = (size_t)a->n;
            if (!s->cw) {
                memcpy(d->p1 + t * nn, a->p1 + t * nn, sizeof(float) * nn);
                memcpy(d->p2 + t * nn * GRID_BANDS, a->p2 + t * nn * GRID_BANDS,
                       sizeof(float) * nn * GRID_BANDS);
                remove_floor(d->p1 + t * nn, a->n, GRID_CODEC_BLOCK, s->fs.tmp);
                for (b = 0; b < GRID_BANDS; b++)
                    remove_floor(d->p2 + (t * GRID_BANDS + b) * nn, a->n, GRID_CODEC_BLOCK, s->fs.tmp);
                d->wt[t] = tot > 0 ? 1 : 0;
            }
            remove_floor(a->p1 + t * nn, a->n, 0, s->fs.tmp);
            for (b = 0; b < GRID_BANDS; b++)
                remove_floor(a->p2 + (t * GRID_BANDS + b) * nn, a->n, 0, s->fs.tmp);
            a->wt[t] = tot > 0 ? 1 : 0;
        }
    }
}

/* The raw score *sc and normalised score *ns of axis a at frequency f. */
static void axis_scores(const axis_data *a, double f, double *sc, double *ns)
{
    *sc = axis_score(a, f);
    *ns = *sc / (axis_floor(a, f) + GRID_FLOOR_EPS);
}

/* The scores of the chosen periods, at frequencies fx and fy. */
static void score_axes(detect_state *s, double fx, double fy)
{
    axis_scores(&s->ad[0], fx, &s->sc[0], &s->ns[0]);
    axis_scores(&s->ad[1], fy, &s->sc[1], &s->ns[1]);
}

/* Is per (px) within GRID_SAME_PERIOD of a codec period an axis turned down? */
static int was_rejected(const detect_state *s, double per)
{
    int j;
    for (j = 0; j < 2; j++)
        if (s->rejected[j] > 0 && fabs(per - s->rejected[j]) < GRID_SAME_PERIOD * per) return 1;
    return 0;
}

/* Axis j's own period s->own[j] is a codec period (16 / k) where a codec
 * would put it (codec_locked): JPEG / H.264 / VP8 blocks and 4:2:0 chroma
 * leave such combs. A real grid there must show in the full-resolution
 * luma of the middle frame too, as edges (coherence) and as flat cells
 * (cell fit gain); one well off the codec's phase with both is the art's
 * (the blocks' comb would pull the phase to 0) and stays even when
 * another period also stands out. Otherwise the axis's best period away
 * from the codec ones replaces it: always when the luma turns it down
 * (which s->rejected[j] remembers), else when that one stands out nearly
 * as well and the luma is not sure. flo, fhi: the search band, cycles/px. */
static void codec_check(detect_state *s, int j, double flo, double fhi)
{
    const axis_data *a = &s->ad[j];
    const double per = s->own[j];
    const int mid = s->tp > 1 ? (int)((long)(s->tp / 2) * (s->n - 1) / (s->tp - 1)) : 0;
    const int nn = a->n;
    float *d1 = s->ftmp, *comb = s->ftmp + nn, *tmp = s->ftmp + 2 * nn;
    double ph, lc, gain, s2, n2, p2;
    int accept, real;

    ph = axis_phase(a, 1.0 / per);
    ph = fmin(ph, per - ph);
    luma_profiles(s->frames[mid], s->w, s->h, j, 1 << band_of(per), d1, comb, s->cum, s->cum + nn,
                  s->fs.v);
    remove_floor(d1, nn, 0, tmp);
    remove_floor(comb, nn, 0, tmp);
    /* below GRID_CODEC_SMALL px the luma edge comb takes the codec's
     * parity; the plain differences do not */
    lc = coherence_at(d1, nn, 1.0 / per, 0, NULL);
    if (per >= GRID_CODEC_SMALL) lc = fmax(lc, coherence_at(comb, nn, 1.0 / per, 0, NULL));
    /* with full chroma, the comb of the features the period came from
     * (luma, chroma, alpha) counts too: sprites with transparent or
     * clipped pixels have no usable luma */
    if (s->cw) lc = fmax(lc, s->own_sc[j]);
    premultiply(s->frames[mid], (size_t)s->w * s->h, 0, s->fs.px);
    gain = cell_fit_gain(s->fs.px, s->w, s->h, j, per, s->cum, s->hist,
                         pfi_clampi((int)lrint(per * GRID_PHASE_Q), GRID_FIT_BINS_MIN, GRID_FIT_BINS_MAX));
    /* real pixels there: edges in the luma and flat cells */
    real = per < GRID_CODEC_SMALL ? lc >= GRID_LUMA_COH_SMALL && gain >= GRID_LUMA_GAIN_SMALL
                                  : lc >= GRID_LUMA_COH && gain >= GRID_LUMA_GAIN;
    accept = ph > GRID_CODEC_PHASE * per || real;
    if (!accept) s->rejected[j] = per;
    p2 = choose_period(a, s->spec, flo, fhi, 1, &s2, &n2, s->hist, s->lg);
    pfi_debug(s->lg, "grid: %s period %.3f is a codec period; phase %.2f, luma coherence "
             "%.3f, luma fit gain %.3f; else %.3f (%.3f, %.2f)", j ? "y" : "x", per, ph, lc, gain,
             p2, s2, n2);
    if (!accept || (lc < GRID_LUMA_SURE && !(ph > GRID_CODEC_PHASE * per && real) && p2 > 0 &&
                    n2 >= GRID_ALT_NS_SHARE * s->own_ns[j] && s2 >= GRID_ALT_RAW)) {
        s->own[j] = p2;
        s->own_sc[j] = p2 > 0 ? s2 : 0;
        s->own_ns[j] = p2 > 0 ? n2 : 0;
    } else if (!(ph > GRID_CODEC_PHASE * per)) {
        s->alt[j] = p2;
        s->alt_sc[j] = s2;
        s->alt_ns[j] = n2;
    }
}

/* An axis kept a codec period at the codec's phase on the luma test alone,
 * and its best period away from the codec's is the one the other axis
 * found too (that axis's own, or the same runner-up behind its own codec
 * period): the two axes agree on the art's cells, and the fine comb at
 * the frame origin is the codec's or the background's (a gradient's
 * 4:2:0 chroma steps every 2 px leak into the luma computed from RGB; a
 * sprite at 7.35x on one came out as 2 px cells). Not when that period is
 * a whole multiple of the codec one, which 2x art with a repeating
 * pattern shows. */
static void codec_agree(detect_state *s)
{
    int j, take[2] = {0, 0};
    for (j = 0; j < 2; j++) {
        const double alt = s->alt[j], other = codec_period(s->own[1 - j]) ? s->alt[1 - j] : s->own[1 - j];
        const double r = alt / (s->own[j] > 0 ? s->own[j] : 1), m = floor(r + 0.5);
        take[j] = alt > 0 && other > 0 && codec_period(s->own[j]) && !codec_period(alt) &&
                  fabs(alt - other) < GRID_SAME_PERIOD * other && s->alt_ns[j] >= GRID_ONE_AXIS_NS &&
                  fabs(r - m) >= GRID_HARMONIC_TOL * m;
    }
    for (j = 0; j < 2; j++)
        if (take[j]) {
            pfi_debug(s->lg, "grid: %s period %.3f: its best other, %.3f, is the other axis's too", j ? "y" : "x",
                     s->own[j], s->alt[j]);
            s->rejected[j] = s->own[j];
            s->own[j] = s->alt[j];
            s->own_sc[j] = s->alt_sc[j];
            s->own_ns[j] = s->alt_ns[j];
        }
}

/* With codec blocks (cw 0), each axis's period away from the codec ones
 * is refined again on the profiles without 16-periodic combs (a comb of 8
 * close to the true period would bias it), which then stand for the axis. */
static void refine_off_codec(detect_state *s)
{
    int j;
    for (j = 0; j < 2; j++)
        if (s->own[j] > 0 && !near_codec_period(s->own[j], s->ad[j].n)) {
            const double keep = s->own[j];
            const axis_data tmpa = s->ad[j];
            const double df = 1.0 / s->ad[j].nfft, f0 = 1.0 / s->own[j];
            double f = refine_freq(&s->ad[j + 2], NULL, f0 - GRID_CODEC_REFINE * df,
                                   f0 + GRID_CODEC_REFINE * df, &s->own_sc[j]);
            s->ad[j] = s->ad[j + 2];
            s->ad[j + 2] = tmpa;
            s->own[j] = 1.0 / f;
            if (near_codec_period(s->own[j], s->ad[j].n)) s->own[j] = keep, f = 1.0 / keep;
            axis_scores(&s->ad[j], f, &s->own_sc[j], &s->own_ns[j]);
        }
}

/* One axis found nothing (or only codec blocks): square cells if that
 * axis shows the other's period too. */
static void reconcile_one_axis(detect_state *s)
{
    const int found = s->per[0] > 0 ? 0 : 1;
    const double per = s->per[found];
    if (axis_nscore(&s->ad[1 - found], 1.0 / per) >= GRID_ONE_AXIS_NS && !was_rejected(s, per)) {
        s->per[0] = s->per[1] = per;
        score_axes(s, 1.0 / per, 1.0 / per);
    }
}

/* Axis j's period is a codec period kept at the codec's phase on the luma
 * test alone (codec_check): a comb whose strength is the codec's or a
 * gradient's as much as the art's. */
static int luma_kept(const detect_state *s, int j)
{
    return s->alt[j] > 0 && codec_period(s->per[j]);
}

/* Both axes found a period: square cells unless the axes clearly
 * disagree. Of the two periods, the one keeping the larger share of both
 * axes' normalised scores; or, with one axis at a whole fraction p / m of
 * the other's p, p: the axis that found p has no edges on the finer lines
 * (else its own harmonic check would have kept p / m), so the finer comb
 * is the codec's or the texture's; only when p stands out at least as
 * well as p / m does, or p / m is a codec period the luma test alone kept
 * (luma_kept). Refined on both axes together. */
static void reconcile_square(detect_state *s)
{
    const double perx = s->per[0], pery = s->per[1], nsx = s->ns[0], nsy = s->ns[1];
    const double lo = fmin(perx, pery), hi = fmax(perx, pery), r = hi / lo, m = floor(r + 0.5);
    double bestq = -1, bestp = 0;
    int c;
    for (c = 0; c < 2; c++) {
        const double cand = s->per[c];
        double rx, ry, qq;
        if (was_rejected(s, cand)) continue;   /* a codec period one axis turned down */
        rx = axis_nscore(&s->ad[0], 1.0 / cand) / (nsx + 1e-12);
        ry = axis_nscore(&s->ad[1], 1.0 / cand) / (nsy + 1e-12);
        qq = rx < ry ? rx : ry;
        if (qq > bestq + GRID_TIE || (fabs(qq - bestq) <= GRID_TIE && cand > bestp)) {
            bestq = qq;
            bestp = cand;
        }
    }
    if (m >= 2 && m <= GRID_HARMONIC_MAX && fabs(r - m) < GRID_HARMONIC_TOL * m &&
        (perx > pery ? nsx >= nsy || luma_kept(s, 1) : nsy >= nsx || luma_kept(s, 0)) && !was_rejected(s, hi)) {
        bestp = hi;
        bestq = 1;
        s->harmonic = 1;
    }
    if (bestp > 0 &&
        (fabs(perx - pery) < GRID_SQUARE_TOL * fmax(perx, pery) || bestq >= GRID_SQUARE_SHARE)) {
        const double f0 = 1.0 / bestp;
        const double df = 1.0 / (s->ad[0].nfft < s->ad[1].nfft ? s->ad[0].nfft : s->ad[1].nfft);
        const double f = refine_freq(&s->ad[0], &s->ad[1], f0 - GRID_SQUARE_REFINE * df,
                                     f0 + GRID_SQUARE_REFINE * df, NULL);
        s->per[0] = s->per[1] = 1.0 / f;
        score_axes(s, f, f);
    }
}

/* The least-squares fit of the edges (refine_period_lsq), unless it slides
 * off the spectral peak (with cells of 2-3 px the edges at whole pixels
 * fit a period a lobe away about as well) or onto a codec period the
 * checks above turned down. */
static void refine_lsq(detect_state *s)
{
    const axis_data *ax = &s->ad[0], *ay = &s->ad[1];
    const double perx = s->per[0], pery = s->per[1];
    double rx, ry;
    if (perx == pery) {
        rx = ry = refine_period_lsq(ax, ay, perx);
    } else {
        rx = refine_period_lsq(ax, NULL, perx);
        ry = refine_period_lsq(ay, NULL, pery);
    }
    pfi_debug(s->lg, "grid: edge fit %.3f x %.3f from %.3f x %.3f", rx, ry, perx, pery);
    if (axis_score(ax, 1.0 / rx) < GRID_LSQ_KEEP * axis_score(ax, 1.0 / perx) ||
        axis_score(ay, 1.0 / ry) < GRID_LSQ_KEEP * axis_score(ay, 1.0 / pery))
        rx = perx, ry = pery;
    if (!(codec_period(rx) && !codec_period(perx))) s->per[0] = rx;
    if (!(codec_period(ry) && !codec_period(pery))) s->per[1] = ry;
    score_axes(s, 1.0 / s->per[0], 1.0 / s->per[1]);
}

/* 2. Period: each axis's own period from its combined spectrum, between
 * the largest cell (and GRID_MIN_CYCLES periods over the axis) and the
 * smallest, with codec periods checked against the luma (codec_check)
 * and against the other axis (codec_agree);
 * then the axes reconciled (square cells unless they disagree, one axis
 * at a whole fraction of the other, one axis empty) and the period fitted
 * to the edges by least squares. A forced scale only gets its scores. */
static void detect_period(detect_state *s)
{
    int j;
    /* lossy blocks that the chroma test cannot see (lossy WebP decoded
     * with fancy upsampling) still leave their lattice in the edges */
    s->lattice = s->cw && (block_lattice(&s->ad[0]) || block_lattice(&s->ad[1]));
    if (s->lattice) pfi_debug(s->lg, "grid: edges on a 4 / 8 px lattice at the frame origin (lossy blocks?)");
    /* the comb-free copies need their spectrum's background only */
    for (j = (s->cw ? 1 : 3); j >= 0; j--) {
        const double flo = fmax(1.0 / s->p.max_cell, GRID_MIN_CYCLES / s->ad[j].n);
        const double fhi = fmin(GRID_MAX_FREQ, 1.0 / s->p.min_cell);
        axis_spectrum(&s->ad[j], &s->sw, s->spec);
        /* (also for a forced scale: where both axes find it on their own,
         * its confidence is the one the search would give it) */
        if (j >= 2) continue;
        s->own[j] = choose_period(&s->ad[j], s->spec, flo, fhi, 0, &s->own_sc[j], &s->own_ns[j], s->hist,
                                  s->lg);
        if (block_period(s->own[j]) && codec_locked(&s->ad[j], s->own[j], s->cw, s->lattice))
            codec_check(s, j, flo, fhi);
        pfi_debug(s->lg, "grid: %s period %.3f (coherence %.3f, %.2f over background)", j ? "y" : "x",
                 s->own[j], s->own_sc[j], s->own_ns[j]);
    }
    if (s->p.scale > 0) {
        s->per[0] = s->per[1] = s->p.scale;
        score_axes(s, 1.0 / s->per[0], 1.0 / s->per[1]);
        return;
    }
    codec_agree(s);
    if (!s->cw) refine_off_codec(s);
    for (j = 0; j < 2; j++) {
        s->per[j] = s->own[j];
        s->sc[j] = s->own_sc[j];
        s->ns[j] = s->own_ns[j];
    }
    if ((s->per[0] > 0) != (s->per[1] > 0)) reconcile_one_axis(s);
    else if (s->per[0] > 0 && s->per[1] > 0) reconcile_square(s);
    if (s->per[0] > 0 && s->per[1] > 0) refine_lsq(s);
}

/* Square cells from one clear axis: the confidence when the other axis
 * puts most of its edges on that axis's grid lines (jitter smears its
 * comb, or it has few cells). Not for cells under GRID_ONGRID_CELL px,
 * where edges at whole pixels are near a line by chance, nor at the
 * codec's periods; 0 where it does not apply. cyc: cells per axis. */
static double one_clear_axis(const detect_state *s, double cyc)
{
    const double per = s->per[0], scx = s->sc[0], scy = s->sc[1], nsx = s->ns[0], nsy = s->ns[1];
    int xs;
    double fr;
    if (!(s->p.scale == 0 && s->per[0] == s->per[1] && per >= GRID_ONGRID_CELL && !codec_period(per) &&
          fmax(nsx, nsy) >= GRID_NS_HI && fmin(scx, scy) >= GRID_ONGRID_RAW))
        return 0;
    xs = nsx >= nsy;
    fr = on_grid_fraction(xs ? &s->ad[1] : &s->ad[0], per);
    pfi_debug(s->lg, "grid: %s axis weak; %.3f of its edges on the grid lines", xs ? "y" : "x", fr);
    return ramp(xs ? nsx : nsy, GRID_NS_LO, GRID_NS_HI) *
           ramp(xs ? scx : scy, GRID_CLEAR_RAW_LO, GRID_CLEAR_RAW_HI) *
           ramp(fr, GRID_ONGRID_LO, GRID_ONGRID_HI) * ramp(cyc, GRID_CYC_LO, GRID_CYC_HI);
}

/* The share of a comb's coherence at period per (px) that whole pixels
 * leave: an edge between two cells falls on a pixel boundary (nearest) or
 * is split across one pixel (bilinear), a box of 1 px whose transform at
 * 1 / per is sinc(pi / per): 0.64 at 2 px, 0.83 at 3 px, 0.94 at 5 px. */
static double pixel_attenuation(double per)
{
    const double x = M_PI / per;
    return sin(x) / x;
}

/* 3. Confidence, into g with the cell size: the weaker axis must show a
 * coherent comb (raw) that stands out of its spectrum (normalised), both
 * axes must have found the same period on their own, and a comb needs a
 * dozen teeth. One axis may be weak (jitter smears it, or a few strong
 * outline edges raise its background): when both axes found the same
 * period on their own, the stronger axis drives the confidence and the
 * weaker one only has to stand somewhat out of its spectrum; and square
 * cells may rest on one clear axis (one_clear_axis).
 * PF_ENOGRID (confidence 0) when an axis has no period at all. */
static pf_status detect_confidence(detect_state *s, pfi_grid *g)
{
    const double perx = s->per[0], pery = s->per[1];
    const double scx = perx > 0 ? s->sc[0] / pixel_attenuation(perx) : 0;
    const double scy = pery > 0 ? s->sc[1] / pixel_attenuation(pery) : 0;
    const double nsx = s->ns[0], nsy = s->ns[1], *own = s->own;
    /* (the compressed edge weights raise raw scores by about 0.03) */
    double c1 = ramp(fmin(nsx, nsy), GRID_NS_LO, GRID_NS_HI);
    double c2 = ramp(fmin(scx, scy), GRID_RAW_LO, GRID_RAW_HI);
    const int agree =
        s->p.scale > 0 ||
        (perx == pery &&
         (s->harmonic ||
          (own[0] > 0 && own[1] > 0 && fabs(own[0] - own[1]) < GRID_SQUARE_TOL * fmax(own[0], own[1])) ||
          (nsx >= GRID_AGREE_SHARE * s->own_ns[0] && nsy >= GRID_AGREE_SHARE * s->own_ns[1])));
    double cyc, c;

    g->cell_w = perx;
    g->cell_h = pery;
    if (own[0] > 0 && own[1] > 0 &&
        fabs(own[0] - own[1]) < GRID_SAME_PERIOD * fmax(own[0], own[1]) && perx == pery &&
        fabs(perx - own[0]) < GRID_SAME_PERIOD * perx && fabs(perx - own[1]) < GRID_SAME_PERIOD * perx) {
        const double cs1 = ramp(fmax(nsx, nsy), GRID_NS_LO, GRID_NS_HI) *
                           ramp(fmin(nsx, nsy), GRID_WEAK_NS_LO, GRID_WEAK_NS_HI);
        /* the raw coherence likewise (small cells under a lossy codec
         * leave a weak luma comb on one axis), but not at the codec's
         * own periods (lossy WebP with alpha shows a 2 px comb on both
         * axes that the chroma test cannot see) */
        const double cs2 = codec_period(perx) ? 0 :
                           ramp(fmax(scx, scy), GRID_RAW_LO, GRID_RAW_HI) *
                           ramp(fmin(scx, scy), GRID_WEAK_RAW_LO, GRID_WEAK_RAW_HI);
        if (cs1 > c1) c1 = cs1;
        if (cs2 > c2) c2 = cs2;
    }
    cyc = fmin(s->w / perx, s->h / pery);
    g->confidence = sqrt(c1 * c2) * (agree ? 1.0 : GRID_DISAGREE) * ramp(cyc, GRID_CYC_LO, GRID_CYC_HI);
    c = one_clear_axis(s, cyc);
    if (c > g->confidence) g->confidence = c;
    pfi_debug(s->lg, "grid: cell %.3f x %.3f, raw over the pixels' share %.3f %.3f, normalised %.2f %.2f", perx, pery, scx,
             scy, nsx, nsy);
    if (!(perx > 0) || !(pery > 0)) {
        g->confidence = 0;
        return PF_ENOGRID;
    }
    return PF_OK;
}

/* 4. Phase: every frame's phase from its edges (frame_phase_profiles,
 * edge_phase), each frame's best profile kept for the boundaries; the
 * clip's phase is their circular mean weighted by comb strength (into g),
 * and each frame's drift is its phase against it. */
static void detect_phase(detect_state *s, pfi_grid *g)
{
    const int len[2] = {s->w + 1, s->h + 1};
    double cr[2] = {0, 0}, ci[2] = {0, 0};
    int t, a;
    for (t = 0; t < s->n; t++) {
        float *f[2] = {s->d1[0] + (size_t)t * len[0], s->d1[1] + (size_t)t * len[1]};
        frame_phase_profiles(&s->fs, s->frames[t], s->w, s->h, s->cw, s->per[0], s->per[1], f[0], f[1]);
        for (a = 0; a < 2; a++) {
            const double per = s->per[a];
            double str;
            s->drift[a][t] = edge_phase(f[a], len[a], per, &str);
            cr[a] += str * cos(2 * M_PI * s->drift[a][t] / per);
            ci[a] += str * sin(2 * M_PI * s->drift[a][t] / per);
        }
    }
    for (a = 0; a < 2; a++) {
        const double per = s->per[a];
        s->off[a] = fmod(atan2(ci[a], cr[a]) / (2 * M_PI) * per + per, per);
        for (t = 0; t < s->n; t++) s->drift[a][t] = wrap_half(s->drift[a][t] - s->off[a], per);
    }
    g->offset_x = s->off[0];
    g->offset_y = s->off[1];
    pfi_debug(s->lg, "grid: chosen cell: coherence x %.3f y %.3f, %.2f x %.2f over background; each axis "
             "alone: %.3f x %.3f px, %.2f x %.2f over background",
             s->sc[0], s->sc[1], s->ns[0], s->ns[1], s->own[0], s->own[1], s->own_ns[0], s->own_ns[1]);
}

/* 5. Boundaries: round(size / period) cells per axis (half_cells), then,
 * for irregular grids, each boundary moved towards the centroid of the
 * clip's drift-compensated edges near it (refine_bounds). Errors:
 * PF_ENOGRID (no whole cell), PF_ENOMEM. */
static pf_status detect_boundaries(detect_state *s, pfi_grid *g)
{
    const int nmax = s->w > s->h ? s->w : s->h;
    double *q = NULL, *ev = NULL;
    pf_status st = PF_ENOMEM;
    int k0x = 0, k0y = 0, i, a, t, x;

    g->cols = half_cells(s->per[0], s->off[0], s->w, &k0x);
    g->rows = half_cells(s->per[1], s->off[1], s->h, &k0y);
    if (g->cols < 1 || g->rows < 1) return PF_ENOGRID;
    g->xb = pfi_malloc4((size_t)g->cols + 1, 1, 1, sizeof(double));
    g->yb = pfi_malloc4((size_t)g->rows + 1, 1, 1, sizeof(double));
    q = pfi_malloc4((size_t)nmax + 1, 1, 1, sizeof(double));
    ev = pfi_malloc4((size_t)(g->cols > g->rows ? g->cols : g->rows) + 1, 3, 1, sizeof(double));
    if (!g->xb || !g->yb || !q || !ev) goto done;
    for (i = 0; i <= g->cols; i++) g->xb[i] = s->off[0] + (k0x + i) * s->per[0];
    for (i = 0; i <= g->rows; i++) g->yb[i] = s->off[1] + (k0y + i) * s->per[1];
    for (a = 0; s->p.irregular && a < 2; a++) {
        const int nn = a == 0 ? s->w : s->h;
        for (x = 0; x <= nn; x++) q[x] = 0;
        for (t = 0; t < s->n; t++) {
            const float *p1 = s->d1[a] + (size_t)t * (nn + 1);
            for (x = 0; x <= nn; x++) {
                double c = x + s->drift[a][t], fr;
                int i0 = (int)floor(c);
                fr = c - i0;
                if (i0 >= 1 && i0 < nn) q[x] += (1 - fr) * p1[i0];
                if (i0 + 1 >= 1 && i0 + 1 < nn) q[x] += fr * p1[i0 + 1];
            }
        }
        if (a == 0) refine_bounds(g->xb, g->cols, s->per[0], q, s->w, ev);
        else refine_bounds(g->yb, g->rows, s->per[1], q, s->h, ev);
    }
    st = PF_OK;
done:
    free(q);
    free(ev);
    return st;
}

pf_status pfi_grid_detect(pfi_grid *g, const uint8_t *const *frames, int n, int w, int h,
                         const pfi_grid_params *pp, const pfi_logger *lg)
{
    detect_state s;
    pf_status st = detect_open(&s, g, frames, n, w, h, pp, lg);

    if (st == PF_OK) {
        detect_profiles(&s);
        detect_period(&s);
        st = detect_confidence(&s, g);
    }
    if (st == PF_OK) {
        detect_phase(&s, g);
        if (!s.p.scale && g->confidence < s.p.min_confidence) {
            pfi_info(lg, "grid: no periodic structure (cell %.3f x %.3f px, confidence %.3f)",
                    g->cell_w, g->cell_h, g->confidence);
            st = PF_ENOGRID;
        }
    }
    if (st == PF_OK) st = detect_boundaries(&s, g);
    if (st == PF_OK) {
        pfi_debug(lg, "grid: %dx%d cells of %.3f x %.3f px, offset %.2f,%.2f, confidence %.3f, %.1f ms",
                 g->cols, g->rows, g->cell_w, g->cell_h, g->offset_x, g->offset_y, g->confidence,
                 pfi_now_ms() - s.t0);
    } else if (g) {
        pfi_grid_free(g);   /* the figures found stay */
        g->cols = g->rows = 0;
    }
    detect_close(&s);
    return st;
}

/* ---- drift ------------------------------------------------------------------- */

pf_status pfi_grid_scratch_init(pfi_grid_scratch *s, int w, int h)
{
    const size_t nmax = (size_t)(w > h ? w : h);
    if (!s) return PF_EINVAL;
    memset(s, 0, sizeof *s);
    if (w < 2 || h < 2) return PF_EINVAL;
    if (w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE) return PF_ELIMIT;
    s->px = pfi_malloc4((size_t)w, (size_t)h, 4, sizeof *s->px);
    s->fx = pfi_malloc4((size_t)w + 1, 1, 1, sizeof *s->fx);
    s->fy = pfi_malloc4((size_t)h + 1, 1, 1, sizeof *s->fy);
    s->cx = pfi_malloc4((size_t)w + 1, GRID_BANDS, 1, sizeof *s->cx);
    s->cy = pfi_malloc4((size_t)h + 1, GRID_BANDS, 1, sizeof *s->cy);
    s->tmp = pfi_malloc4(nmax + 1, 1, 1, sizeof *s->tmp);
    s->cs = pfi_malloc4(nmax + 1, 4, 1, sizeof *s->cs);
    s->v = pfi_malloc4(nmax + 1, 1, 1, sizeof *s->v);
    if (!s->px || !s->fx || !s->fy || !s->cx || !s->cy || !s->tmp || !s->cs || !s->v) {
        pfi_grid_scratch_free(s);
        return PF_ENOMEM;
    }
    s->w = w;
    s->h = h;
    s->chroma = -1;
    return PF_OK;
}

void pfi_grid_scratch_free(pfi_grid_scratch *s)
{
    if (!s) return;
    free(s->px); free(s->fx); free(s->fy); free(s->cx); free(s->cy); free(s->tmp); free(s->cs); free(s->v);
    memset(s, 0, sizeof *s);
}

pf_status pfi_grid_drift(const pfi_grid *g, const uint8_t *rgba, int w, int h, pfi_grid_scratch *scratch,
                        double *dx, double *dy)
{
    double str, ph;

    if (dx) *dx = 0;
    if (dy) *dy = 0;
    if (!g || !rgba || !scratch || !dx || !dy || w < 2 || h < 2 || w > scratch->w || h > scratch->h ||
        !(g->cell_w > 0) || !(g->cell_h > 0))
        return PF_EINVAL;
    if (scratch->chroma < 0) scratch->chroma = pfi_grid_chroma_subsampled(rgba, w, h);
    frame_phase_profiles(scratch, rgba, w, h, scratch->chroma ? 0 : GRID_CHROMA_FULL,
                         g->cell_w, g->cell_h, scratch->fx, scratch->fy);
    ph = edge_phase(scratch->fx, w + 1, g->cell_w, &str);
    if (str > GRID_DRIFT_MIN_COH) *dx = wrap_half(ph - g->offset_x, g->cell_w);
    ph = edge_phase(scratch->fy, h + 1, g->cell_h, &str);
    if (str > GRID_DRIFT_MIN_COH) *dy = wrap_half(ph - g->offset_y, g->cell_h);
    return PF_OK;
}
