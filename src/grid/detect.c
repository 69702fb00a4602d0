/*
 * detect.c - native pixel-grid detection: period (non-integer), phase,
 * per-frame sub-pixel drift and locally refined (irregular) boundaries.
 * Not the resampling (sample.c) nor the background (background.c).
 *
 * Method. Each frame gives two edge-strength profiles per axis: the first
 * difference |I(x) - I(x-1)| (sharp for nearest upscales, blurred edges) and
 * the second difference |I(x+1) - 2 I(x) + I(x-1)| (the only one periodic for
 * bilinear upscales, whose first difference is flat between pixel centres),
 * summed over premultiplied RGBA with rows capped so that one strong row does
 * not dominate. The period is where the normalised Fourier coefficient
 * |sum P(x) e^{-2 pi i x / p}| / sum P (phase coherence of a comb) is largest,
 * from a zero-padded FFT then refined by golden-section search to 0.001 px;
 * harmonics p/m score high too, so the largest p whose score is close to the
 * best is kept, after checking that the lines it would drop carry no edges.
 * The phase maximises the energy of the cell box sums (the least-squares
 * piecewise-constant fit of every line), which puts boundaries between pixel
 * centres for every resampling kernel. Boundaries are then moved towards the
 * local centroid of the drift-compensated edge profile when the evidence is
 * strong (irregular grids).
 */
#include "grid.h"

#include <math.h>
#include <string.h>

#define GRID_MAX_LINES 256   /* rows (columns) used for the phase fit */
#define GRID_PHASE_Q 4       /* phase bins per input pixel */
#define GRID_BANDS 5         /* edge-comb scales 1, 2, 4, 8, 16 px */
#define GRID_MAX_FRAMES 8    /* frames used for the period */
#define GRID_MIN_EDGE 6.0    /* weakest edge counted, summed 0..255 channel steps */

pf_grid_params pf_grid_default_params(void)
{
    pf_grid_params p;
    p.scale = 0;
    p.min_cell = 1.5;
    p.max_cell = 48;
    p.min_confidence = 0.25;
    p.irregular = 1;
    return p;
}

void pf_grid_free(pf_grid *g)
{
    if (!g) return;
    free(g->xb);
    free(g->yb);
    g->xb = g->yb = NULL;
}

static double pf_clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- features ------------------------------------------------------------- */

/* Premultiplied RGBA, 0..255: transparent pixels' colours do not count. */
/* Premultiplied luma, two chroma differences (times cw / 256) and alpha,
 * 0..255 scale: transparent pixels' colours do not count. */
static void premultiply(const uint8_t *rgba, size_t npx, int cw, int16_t *px)
{
    size_t i;
    for (i = 0; i < npx; i++) {
        const uint8_t *s = rgba + i * 4;
        int a = s[3];
        int r = (s[0] * a + 127) / 255, g = (s[1] * a + 127) / 255, b = (s[2] * a + 127) / 255;
        int y = (77 * r + 150 * g + 29 * b) >> 8;
        px[i * 4 + 0] = (int16_t)y;
        px[i * 4 + 1] = (int16_t)(((b - y) * cw) >> 8);
        px[i * 4 + 2] = (int16_t)(((r - y) * cw) >> 8);
        px[i * 4 + 3] = (int16_t)a;
    }
}

/* Does the frame carry subsampled chroma (JPEG, H.264, lossy WebP 4:2:0):
 * chroma nearly constant over pixel pairs at even offsets along x or y,
 * while luma is not? Such chroma is a 2-pixel grid of the codec's, not
 * the art's, so the detector then works on luma and alpha only. */
static int chroma_subsampled(const uint8_t *rgba, int w, int h)
{
    double in[2][2] = {{0, 0}, {0, 0}}, ac[2][2] = {{0, 0}, {0, 0}};  /* [axis][luma, chroma] */
    const int ystep = h > 512 ? h / 256 : 1;
    int x, y, axis;
    for (y = 0; y + 2 < h; y += ystep)
        for (x = 0; x + 2 < w; x++) {
            const uint8_t *p0 = rgba + ((size_t)y * w + x) * 4;
            for (axis = 0; axis < 2; axis++) {
                const size_t st = axis == 0 ? 4 : (size_t)w * 4;
                const uint8_t *p1 = p0 + st, *p2 = p1 + st;
                const int par = axis == 0 ? x & 1 : y & 1;
                int l0 = 77 * p0[0] + 150 * p0[1] + 29 * p0[2], l1 = 77 * p1[0] + 150 * p1[1] + 29 * p1[2];
                int l2 = 77 * p2[0] + 150 * p2[1] + 29 * p2[2];
                double dl = abs(l1 - l0) / 256.0, dc, dl2 = abs(l2 - l1) / 256.0, dc2;
                dc = abs((p1[2] * 256 - l1) - (p0[2] * 256 - l0)) / 256.0 + abs((p1[0] * 256 - l1) - (p0[0] * 256 - l0)) / 256.0;
                dc2 = abs((p2[2] * 256 - l2) - (p1[2] * 256 - l1)) / 256.0 + abs((p2[0] * 256 - l2) - (p1[0] * 256 - l1)) / 256.0;
                if (par) continue;
                in[axis][0] += dl; in[axis][1] += dc;
                ac[axis][0] += dl2; ac[axis][1] += dc2;
            }
        }
    for (axis = 0; axis < 2; axis++) {
        double rl = in[axis][0] / (ac[axis][0] + 1e-9), rc = in[axis][1] / (ac[axis][1] + 1e-9);
        if (ac[axis][1] > 0 && rc < 0.6 && rc < 0.6 * rl) return 1;
    }
    return 0;
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
        if (i0 >= 0 && i0 <= n) prof[i0] += wgt * (float)(v[x] * (1 - fr));
        if (i0 + 1 >= 0 && i0 + 1 <= n) prof[i0 + 1] += wgt * (float)(v[x] * fr);
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
 * so one strong line does not dominate. nbands = 0 skips x2 and y2 (may be
 * NULL). cs and v are scratch ((max(w, h) + 1) * 4 and max(w, h) + 1
 * doubles), lw GRID_MAX_LINES doubles. Returns the first-difference mass. */
static double frame_profiles(const int16_t *px, int w, int h, float *x1, float *x2,
                             float *y1, float *y2, int nbands, double *cs, double *v, double *lw)
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
        if (nbands) memset(p2, 0, sizeof(float) * (size_t)(n + 1) * nbands);
        for (l = 0; l < nl; l++) {
            const int li = (2 * l + 1) * nl0 / (2 * nl);
            const int16_t *base = px + (axis == 0 ? (size_t)li * w * 4 : (size_t)li * 4);
            double s = 0;
            for (x = 1; x < n; x++) s += absd4(base + x * step, base + (x - 1) * step);
            lw[l] = s;
            mean += s;
        }
        tot += mean;
        mean = mean / nl + 1e-9;
        for (l = 0; l < nl; l++) {
            const int li = (2 * l + 1) * nl0 / (2 * nl);
            const int16_t *base = px + (axis == 0 ? (size_t)li * w * 4 : (size_t)li * 4);
            const float wr = (float)(1.0 / (lw[l] > mean ? lw[l] : mean));
            if (lw[l] <= 0) continue;
            for (x = 1; x < n; x++) {
                const int e = absd4(base + x * step, base + (x - 1) * step);
                if (e > GRID_MIN_EDGE) p1[x] += wr * (float)e;
            }
            if (!nbands) continue;
            for (c = 0; c < 4; c++) cs[c] = 0;
            for (x = 0; x < n; x++)
                for (c = 0; c < 4; c++) cs[(x + 1) * 4 + c] = cs[x * 4 + c] + base[x * step + c];
            for (b = 0; b < nbands; b++)
                line_edges(cs, n, 1 << b, 0.1, wr, p2 + (size_t)b * (n + 1), v);
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
        int bad = 0, x0;
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
            bad++;
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
 * d <= per / 1.5, so that the box differences span most of a cell (a
 * bilinear or blurred edge then has one clear maximum) without merging
 * neighbouring edges. */
static double band_div(void)
{
#ifdef GRID_DEBUG_SPEC
    static double v = -1;
    if (v < 0) v = getenv("GRID_BD") ? atof(getenv("GRID_BD")) : 1.25;
    return v;
#else
    return 1.25;
#endif
}

static int band_of(double per)
{
    int b = 0;
    while (b + 1 < GRID_BANDS && (1 << (b + 1)) <= per / band_div()) b++;
    return b;
}

/* The coherence of frame t at frequency f: the larger of the first- and
 * (band-matched) second-difference ones; *which gets 0 or 1 + band. */
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
    double anchors_j[80], anchors_v[80];
    int na = 0, k, j;
    double lj;
    for (lj = log(1.0); na < 80; lj += log(1.1)) {
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
    const int nb = pf_clampi(8 * m, 16, 96);
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

/* Is per one of the periods of a comb locked to 16-pixel codec blocks? */
static int codec_period(double per)
{
    int k;
    for (k = 1; k <= 8; k++)
        if (fabs(per - 16.0 / k) < 0.005 * per) return 1;
    return 0;
}

/* Is per within the main lobe of a codec period's peak in the spectrum of
 * a profile of n samples? */
static int near_codec_period(double per, double n)
{
    int k;
    for (k = 1; k <= 8; k++) {
        const double c = 16.0 / k;
        if (fabs(per - c) < 0.01 * c + c * c / n) return 1;
    }
    return 0;
}

/* Chooses the period of one axis from its combined spectrum s (a->nfft
 * bins) between frequencies flo and fhi. Returns the period in pixels, or
 * 0 if none; *score gets the raw coherence there, *nscore the normalised. */
static double choose_period(const axis_data *a, const double *s, double flo, double fhi,
                            int no_codec, double *score, double *nscore, double *hbuf,
                            const pf_logger *lg)
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
#ifdef GRID_DEBUG_SPEC
    if (getenv("GRID_SPEC")) {
        for (j = jlo + 1; j < jhi; j++) {
            double v = s[j] / (a->floor_[j] + GRID_FLOOR_EPS);
            if (v > s[j - 1] / (a->floor_[j - 1] + GRID_FLOOR_EPS) && v >= s[j + 1] / (a->floor_[j + 1] + GRID_FLOOR_EPS) && v > 0.5 * best)
                fprintf(stderr, "      peak p=%.3f raw %.3f floor %.3f norm %.2f\n", (double)nfft / j, s[j], a->floor_[j], v);
        }
    }
#endif
#ifdef GRID_DEBUG_SPEC
    if (getenv("GRID_TRUE")) {
        double st = atof(getenv("GRID_TRUE")), ft = 1.0 / st, bnc = 0, bncp = 0;
        double sr = axis_score(a, ft), nr = sr / (axis_floor(a, ft) + GRID_FLOOR_EPS);
        for (j = jlo + 1; j < jhi; j++) {
            double v = s[j] / (a->floor_[j] + GRID_FLOOR_EPS), pj = (double)nfft / j;
            int k, cod = 0;
            for (k = 1; k <= 8; k++) if (fabs(pj - 16.0 / k) < 0.01 * pj + 1.5 * pj * pj / nfft) cod = 1;
            if (!cod && v > bnc) { bnc = v; bncp = pj; }
        }
        fprintf(stderr, "      TRUE p=%.3f raw %.3f norm %.2f | best %.3f raw %.3f norm %.2f | best non-codec %.3f norm %.2f\n", st, sr, nr, (double)nfft / jb, s[jb], best, bncp, bnc);
    }
#endif
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
        pf_debug(lg, "grid: is %.3f (%.3f, %.2f) the fundamental of %.3f (%.3f, %.2f)? extra lines %.3f",
                 1.0 / fm, sm, nm, 1.0 / fb, sb, nb_, r);
        if (r < 0.25) { fc = fm; sc = sm; nc = nm; }
    }
    if (fc != fb) {
        fc = refine_freq(a, NULL, fc - 0.5 * df, fc + 0.5 * df, &sc);
        nc = sc / (axis_floor(a, fc) + GRID_FLOOR_EPS);
    }
    *score = sc;
    *nscore = nc;
    return 1.0 / fc;
}

/* ---- phase: box-sum energy ------------------------------------------------- */

/* The phase in [0, per) of the grid lines along one axis of frame px
 * (h, w, 4): the offset that minimises the squared error of the best
 * piecewise-constant fit of sampled lines (cells [phase + k per, ...), the
 * fit of a cell being its mean), i.e. that maximises the summed squared box
 * sums. axis 0 = x (lines are rows), 1 = y. *gain gets the fit's relative
 * improvement over the worst phase, (SSE_max - SSE_min) / SSE_max: near 1
 * for a real grid of flat cells, near 0 without one. chmask selects the
 * channels (bit c for channel c of px: luma, two chroma, alpha). cum is scratch of
 * (n + 1) * 8 doubles, hist of 2 * nbins doubles (nbins <= 256). */
static double box_phase(const int16_t *px, int w, int h, int axis, double per, int chmask,
                        double *cum, double *hist, int nbins, double *gain)
{
    const int n = axis == 0 ? w : h, nl = axis == 0 ? h : w;
    const size_t step = axis == 0 ? 4 : (size_t)w * 4;
    const int lstep = nl > GRID_MAX_LINES ? (nl + GRID_MAX_LINES - 1) / GRID_MAX_LINES : 1;
    const double dt = per / nbins, inv = 1.0 / per;
    const int ncell = (int)ceil((n + per) / per) + 1;
    double *cq = cum + (size_t)(n + 1) * 4;
    int l, b, j, c, bm, bx;
    double d, e0, e1, e2;

    for (b = 0; b < nbins; b++) hist[b] = 0;
    for (l = lstep / 2; l < nl; l += lstep) {
        const int16_t *base = px + (axis == 0 ? (size_t)l * w * 4 : (size_t)l * 4);
        for (c = 0; c < 4; c++) cum[c] = cq[c] = 0;
        for (j = 0; j < n; j++)
            for (c = 0; c < 4; c++) {
                const double v = base[j * step + c];
                cum[(j + 1) * 4 + c] = cum[j * 4 + c] + v;
                cq[(j + 1) * 4 + c] = cq[j * 4 + c] + v * v;
            }
        for (j = 0; j < ncell * nbins; j++) {
            const double t0 = -per + j * dt, t1 = t0 + per;
            double e = 0;
            for (c = 0; c < 4; c++) {
                double s0, s1, q0, q1, v;
                int i;
                if (!(chmask >> c & 1)) continue;
                /* cumulative sums at t0, t1, extending the edge pixels */
#define CUMAT(t, s, q)                                                         \
                if ((t) <= 0) {                                                \
                    v = base[c];                                               \
                    s = (t) * v; q = (t) * v * v;                              \
                } else if ((t) >= n) {                                         \
                    v = base[(size_t)(n - 1) * step + c];                      \
                    s = cum[(size_t)n * 4 + c] + ((t) - n) * v;                \
                    q = cq[(size_t)n * 4 + c] + ((t) - n) * v * v;             \
                } else {                                                       \
                    i = (int)(t);                                              \
                    v = base[(size_t)i * step + c];                            \
                    s = cum[(size_t)i * 4 + c] + ((t) - i) * v;                \
                    q = cq[(size_t)i * 4 + c] + ((t) - i) * v * v;             \
                }
                CUMAT(t0, s0, q0)
                CUMAT(t1, s1, q1)
#undef CUMAT
                e += (q1 - q0) - (s1 - s0) * (s1 - s0) * inv;
            }
            hist[j % nbins] += e;
        }
    }
    bm = bx = 0;
    for (b = 1; b < nbins; b++) {
        if (hist[b] < hist[bm]) bm = b;
        if (hist[b] > hist[bx]) bx = b;
    }
    *gain = hist[bx] > 0 ? (hist[bx] - hist[bm]) / hist[bx] : 0;
    e0 = hist[(bm + nbins - 1) % nbins];
    e1 = hist[bm];
    e2 = hist[(bm + 1) % nbins];
    d = e0 - 2 * e1 + e2;
    d = d > 0 ? 0.5 * (e0 - e2) / d : 0;
    if (d > 0.5) d = 0.5;
    if (d < -0.5) d = -0.5;
    d = fmod((bm + d) * dt, per);
    if (d < 0) d += per;
    return d;
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

/* Cells [off + k per, off + (k+1) per) overlapping [0, n) by at least half a
 * cell: the first k in *k0, the count returned. */
static int half_cells(double per, double off, int n, int *k0)
{
    int k, cnt = 0, first = 0;
    for (k = (int)floor(-off / per) - 2; off + k * per < n + per; k++) {
        double a = off + k * per, b = a + per;
        if (a < 0) a = 0;
        if (b > n) b = n;
        if (b - a >= per / 2) {
            if (!cnt) first = k;
            cnt++;
        }
    }
    *k0 = first;
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
    a->p1 = pf_malloc4((size_t)tp, (size_t)n, 1, sizeof(float));
    a->p2 = pf_malloc4((size_t)tp, (size_t)n, GRID_BANDS, sizeof(float));
    a->wt = pf_malloc4((size_t)tp, 1, 1, sizeof(double));
    a->floor_ = pf_malloc4((size_t)a->nfft / 2 + 1, 1, 1, sizeof(double));
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

pf_status pf_grid_detect(pf_grid *g, const uint8_t *const *frames, int n, int w, int h,
                         const pf_grid_params *pp, const pf_logger *lg)
{
    pf_grid_params p = pp ? *pp : pf_grid_default_params();
    pf_status st = PF_OK;
    axis_data ad[4];            /* x, y, then the same without 16-pixel combs */
    axis_data *ax = &ad[0], *ay = &ad[1];
    spec_work sw;
    int16_t *px = NULL;
    double *lw = NULL, *spec = NULL, *cum = NULL, *hist = NULL, *phx = NULL, *phy = NULL;
    double *q = NULL, *ev = NULL, *cs = NULL, *vbuf = NULL;
    float *d1x = NULL, *d1y = NULL, *ftmp = NULL;
    int t, j, i, b, tp, nmax, nfft_max, k0x = 0, k0y = 0, nbx, nby, ok, cw;
    double perx = 0, pery = 0, scx = 0, scy = 0, nsx = 0, nsy = 0, offx = 0, offy = 0;
    double per4[4] = {0}, sc4[4] = {0}, ns4[4] = {0};
    double t0 = pf_now_ms();

    if (!g) return PF_EINVAL;
    memset(g, 0, sizeof *g);
    memset(ad, 0, sizeof ad);
    memset(&sw, 0, sizeof sw);
    if (!frames || n < 1 || w < 2 || h < 2 || !(p.min_cell >= 1) || !(p.max_cell >= p.min_cell) ||
        (p.scale != 0 && !(p.scale >= 1)))
        return PF_EINVAL;
    for (t = 0; t < n; t++)
        if (!frames[t]) return PF_EINVAL;
    g->in_w = w;
    g->in_h = h;
    tp = n < GRID_MAX_FRAMES ? n : GRID_MAX_FRAMES;   /* frames for the period */
    nmax = w > h ? w : h;
    ok = 1;
    for (j = 0; j < 4; j++) ok &= axis_alloc(&ad[j], (j % 2 == 0 ? w : h) + 1, tp);
    nfft_max = ax->nfft > ay->nfft ? ax->nfft : ay->nfft;

    px = pf_malloc4((size_t)w, (size_t)h, 4, sizeof *px);
    lw = pf_malloc4(GRID_MAX_LINES, 1, 1, sizeof *lw);
    sw.re = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.im = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.cosv = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.sinv = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.mag = pf_malloc4((size_t)nfft_max / 2 + 1, 1 + GRID_BANDS, 1, sizeof(double));
    spec = pf_malloc4((size_t)nfft_max / 2 + 1, 1, 1, sizeof(double));
    cum = pf_malloc4((size_t)nmax + 1, 8, 1, sizeof(double));
    phx = pf_malloc4((size_t)n, 2, 1, sizeof(double));
    phy = pf_malloc4((size_t)n, 2, 1, sizeof(double));
    q = pf_calloc4((size_t)nmax + 1, 1, 1, sizeof(double));
    hist = pf_malloc4(256, 1, 1, sizeof(double));
    d1x = pf_malloc4((size_t)n, (size_t)w + 1, 1, sizeof(float));
    d1y = pf_malloc4((size_t)n, (size_t)h + 1, 1, sizeof(float));
    ftmp = pf_malloc4((size_t)nmax + 1, 3, 1, sizeof(float));
    cs = pf_malloc4((size_t)nmax + 1, 4, 1, sizeof(double));
    vbuf = pf_malloc4((size_t)nmax + 1, 1, 1, sizeof(double));
    if (!ok || !px || !lw || !sw.re || !sw.im || !sw.cosv || !sw.sinv || !sw.mag || !spec || !cum ||
        !phx || !phy || !q || !hist || !d1x || !d1y || !ftmp || !cs || !vbuf) {
        st = PF_ENOMEM;
        goto fail;
    }

    cw = chroma_subsampled(frames[n / 2], w, h) ? 0 : 256;
    if (!cw) pf_debug(lg, "grid: chroma is subsampled (lossy codec); using luma and alpha");

    /* 1. profiles of up to GRID_MAX_FRAMES evenly spread frames, with their
     * floor removed, and a copy without codec-block combs */
    for (t = 0; t < tp; t++) {
        const int src = tp > 1 ? (int)((long)t * (n - 1) / (tp - 1)) : 0;
        double tot;
        premultiply(frames[src], (size_t)w * h, cw, px);
        tot = frame_profiles(px, w, h, ax->p1 + (size_t)t * ax->n, ax->p2 + (size_t)t * ax->n * GRID_BANDS,
                             ay->p1 + (size_t)t * ay->n, ay->p2 + (size_t)t * ay->n * GRID_BANDS,
                             GRID_BANDS, cs, vbuf, lw);
        for (j = 0; j < 2; j++) {
            axis_data *a = &ad[j], *d = &ad[j + 2];
            const size_t nn = (size_t)a->n;
            memcpy(d->p1 + t * nn, a->p1 + t * nn, sizeof(float) * nn);
            memcpy(d->p2 + t * nn * GRID_BANDS, a->p2 + t * nn * GRID_BANDS, sizeof(float) * nn * GRID_BANDS);
            remove_floor(a->p1 + t * nn, a->n, 0, ftmp);
            remove_floor(d->p1 + t * nn, a->n, 16, ftmp);
            for (b = 0; b < GRID_BANDS; b++) {
                remove_floor(a->p2 + (t * GRID_BANDS + b) * nn, a->n, 0, ftmp);
                remove_floor(d->p2 + (t * GRID_BANDS + b) * nn, a->n, 16, ftmp);
            }
            a->wt[t] = d->wt[t] = tot > 0 ? 1 : 0;
        }
    }

    /* 2. period of each axis, with and without codec combs */
    for (j = 0; j < 4; j++) {
        axis_spectrum(&ad[j], &sw, spec);
        if (p.scale > 0) continue;
        per4[j] = choose_period(&ad[j], spec, fmax(1.0 / p.max_cell, 3.0 / ad[j].n),
                                fmin(0.5, 1.0 / p.min_cell), 0, &sc4[j], &ns4[j], hist, lg);
        if (j < 2 && !cw && codec_period(per4[j])) {
            /* JPEG / H.264 blocks and 4:2:0 chroma leave combs of periods
             * 16/k locked to the frame origin, in chroma mostly. A real
             * grid there must show in the full-resolution luma too. */
            double lc, ph;
            const int mid = tp > 1 ? (int)((long)(tp / 2) * (n - 1) / (tp - 1)) : 0;
            const int nn = ad[j].n;
            ph = axis_phase(&ad[j], 1.0 / per4[j]);
            ph = fmin(ph, per4[j] - ph);
            luma_profiles(frames[mid], w, h, j, 1 << band_of(per4[j]), ftmp, ftmp + nn, cum,
                          cum + nn, vbuf);
            remove_floor(ftmp, nn, 0, ftmp + 2 * nn);
            remove_floor(ftmp + nn, nn, 0, ftmp + 2 * nn);
            /* below 3 px the luma edge comb takes the codec's parity; the
             * plain differences do not */
            lc = coherence_at(ftmp, nn, 1.0 / per4[j], 0, NULL);
            if (per4[j] >= 3) lc = fmax(lc, coherence_at(ftmp + nn, nn, 1.0 / per4[j], 0, NULL));
            pf_debug(lg, "grid: %s period %.3f is a codec period; phase %.2f, luma coherence %.3f",
                     j ? "y" : "x", per4[j], ph, lc);
            if (ph > 0.15 * per4[j]) lc = 1;   /* codec combs sit at phase 0 */
            {
                double s2, n2, p2 = choose_period(&ad[j], spec, fmax(1.0 / p.max_cell, 3.0 / ad[j].n),
                                                  fmin(0.5, 1.0 / p.min_cell), 1, &s2, &n2, hist, lg);
                /* weak luma support: take the best other period; moderate:
                 * only when that one is about as strong */
                if (p2 > 0 && (lc < 0.5 || (lc < 0.9 && n2 >= 0.6 * ns4[j] && s2 >= 0.5))) {
                    pf_debug(lg, "grid: %s period %.3f rejected for %.3f (%.3f, %.2f)", j ? "y" : "x",
                             per4[j], p2, s2, n2);
                    per4[j] = p2;
                    sc4[j] = s2;
                    ns4[j] = n2;
                }
            }
        }
        pf_debug(lg, "grid: %s%s period %.3f (coherence %.3f, %.2f over background)",
                 j % 2 ? "y" : "x", j >= 2 ? " without codec combs" : "", per4[j], sc4[j], ns4[j]);
    }
    if (p.scale == 0) {
        perx = per4[0]; scx = sc4[0]; nsx = ns4[0];
        pery = per4[1]; scy = sc4[1]; nsy = ns4[1];
    }
    if (p.scale > 0) {
        perx = pery = p.scale;
        scx = axis_score(ax, 1.0 / perx);
        scy = axis_score(ay, 1.0 / pery);
        nsx = scx / (axis_floor(ax, 1.0 / perx) + GRID_FLOOR_EPS);
        nsy = scy / (axis_floor(ay, 1.0 / pery) + GRID_FLOOR_EPS);
    } else if (perx > 0 && pery > 0) {
        /* square cells unless the axes clearly disagree */
        double cand[2], bestq = -1, bestp = 0;
        int c;
        cand[0] = perx;
        cand[1] = pery;
        for (c = 0; c < 2; c++) {
            double rx = axis_nscore(ax, 1.0 / cand[c]) / (nsx + 1e-12);
            double ry = axis_nscore(ay, 1.0 / cand[c]) / (nsy + 1e-12);
            double qq = rx < ry ? rx : ry;
            if (qq > bestq + 1e-9 || (fabs(qq - bestq) <= 1e-9 && cand[c] > bestp)) {
                bestq = qq;
                bestp = cand[c];
            }
        }
        if (fabs(perx - pery) < 0.03 * fmax(perx, pery) || bestq >= 0.5) {
            const double f0 = 1.0 / bestp;
            const double df = 1.0 / (ax->nfft < ay->nfft ? ax->nfft : ay->nfft);
            double f = refine_freq(ax, ay, f0 - df, f0 + df, NULL);
            perx = pery = 1.0 / f;
            scx = axis_score(ax, f);
            scy = axis_score(ay, f);
            nsx = scx / (axis_floor(ax, f) + GRID_FLOOR_EPS);
            nsy = scy / (axis_floor(ay, f) + GRID_FLOOR_EPS);
        }
    }
    g->cell_w = perx;
    g->cell_h = pery;
    {
        /* confidence: the weaker axis must show a coherent comb (raw) that
         * stands out of its spectrum (normalised), and both axes must
         * have found the same period on their own */
        const double c1 = pf_clampd((fmin(nsx, nsy) - 1.6) / (2.5 - 1.6), 0, 1);
        const double c2 = pf_clampd((fmin(scx, scy) - 0.3) / (0.7 - 0.3), 0, 1);
        const int agree = p.scale > 0 ||
                          (per4[0] > 0 && per4[1] > 0 && fabs(per4[0] - per4[1]) < 0.03 * fmax(per4[0], per4[1]));
        g->confidence = sqrt(c1 * c2) * (agree ? 1.0 : 0.3);
    }
    pf_debug(lg, "grid: cell %.3f x %.3f, raw %.3f %.3f, normalised %.2f %.2f", perx, pery, scx,
             scy, nsx, nsy);
    if (!(perx > 0) || !(pery > 0)) {
        g->confidence = 0;
        st = PF_ENOGRID;
        goto fail;
    }

    /* 3. phase of every frame, its drift against the mean phase */
    nbx = pf_clampi((int)lrint(perx * GRID_PHASE_Q), 16, 256);
    nby = pf_clampi((int)lrint(pery * GRID_PHASE_Q), 16, 256);
    {
        double cxr = 0, cxi = 0, cyr = 0, cyi = 0;
        for (t = 0; t < n; t++) {
            double sxs, sys;
            premultiply(frames[t], (size_t)w * h, cw, px);
            phx[t] = box_phase(px, w, h, 0, perx, 15, cum, hist, nbx, &sxs);
            phy[t] = box_phase(px, w, h, 1, pery, 15, cum, hist, nby, &sys);
            phx[n + t] = sxs;
            phy[n + t] = sys;
            cxr += sxs * cos(2 * M_PI * phx[t] / perx);
            cxi += sxs * sin(2 * M_PI * phx[t] / perx);
            cyr += sys * cos(2 * M_PI * phy[t] / pery);
            cyi += sys * sin(2 * M_PI * phy[t] / pery);
            if (p.irregular)
                frame_profiles(px, w, h, d1x + (size_t)t * (w + 1), NULL, d1y + (size_t)t * (h + 1), NULL, 0, cs, vbuf, lw);
        }
        offx = fmod(atan2(cxi, cxr) / (2 * M_PI) * perx + perx, perx);
        offy = fmod(atan2(cyi, cyr) / (2 * M_PI) * pery + pery, pery);
        for (t = 0; t < n; t++) {
            phx[t] = wrap_half(phx[t] - offx, perx);
            phy[t] = wrap_half(phy[t] - offy, pery);
        }
    }
    g->offset_x = offx;
    g->offset_y = offy;
    {
        double gx = 0, gy = 0;
        for (t = 0; t < n; t++) { gx += phx[n + t]; gy += phy[n + t]; }
        pf_debug(lg, "grid: final ns %.3f %.3f raw %.3f %.3f gain %.3f %.3f indep %.3f %.3f", nsx, nsy, scx, scy, gx / n, gy / n, per4[0], per4[1]);
    }

    if (!p.scale && g->confidence < p.min_confidence) {
        pf_info(lg, "grid: no periodic structure (cell %.3f x %.3f px, confidence %.3f)", perx,
                pery, g->confidence);
        st = PF_ENOGRID;
        goto fail;
    }

    /* 4. boundaries */
    g->cols = half_cells(perx, offx, w, &k0x);
    g->rows = half_cells(pery, offy, h, &k0y);
    if (g->cols < 1 || g->rows < 1) {
        st = PF_ENOGRID;
        goto fail;
    }
    g->xb = pf_malloc4((size_t)g->cols + 1, 1, 1, sizeof(double));
    g->yb = pf_malloc4((size_t)g->rows + 1, 1, 1, sizeof(double));
    ev = pf_malloc4((size_t)(g->cols > g->rows ? g->cols : g->rows) + 1, 3, 1, sizeof(double));
    if (!g->xb || !g->yb || !ev) {
        st = PF_ENOMEM;
        goto fail;
    }
    for (i = 0; i <= g->cols; i++) g->xb[i] = offx + (k0x + i) * perx;
    for (i = 0; i <= g->rows; i++) g->yb[i] = offy + (k0y + i) * pery;
    if (p.irregular) {
        for (j = 0; j < 2; j++) {
            const int nn = j == 0 ? w : h;
            const float *d1 = j == 0 ? d1x : d1y;
            const double *dr = j == 0 ? phx : phy;
            int x;
            for (x = 0; x <= nn; x++) q[x] = 0;
            for (t = 0; t < n; t++) {
                const float *p1 = d1 + (size_t)t * (nn + 1);
                for (x = 0; x <= nn; x++) {
                    double c = x + dr[t], fr;
                    int i0 = (int)floor(c);
                    fr = c - i0;
                    if (i0 >= 1 && i0 < nn) q[x] += (1 - fr) * p1[i0];
                    if (i0 + 1 >= 1 && i0 + 1 < nn) q[x] += fr * p1[i0 + 1];
                }
            }
            if (j == 0) refine_bounds(g->xb, g->cols, perx, q, w, ev);
            else refine_bounds(g->yb, g->rows, pery, q, h, ev);
        }
    }
    pf_debug(lg, "grid: %dx%d cells of %.3f x %.3f px, offset %.2f,%.2f, confidence %.3f, %.1f ms",
             g->cols, g->rows, perx, pery, offx, offy, g->confidence, pf_now_ms() - t0);
    goto done;

fail:
    free(g->xb);
    free(g->yb);
    g->xb = g->yb = NULL;
    g->cols = g->rows = 0;
done:
    for (j = 0; j < 4; j++) axis_release(&ad[j]);
    free(px); free(lw); free(sw.re); free(sw.im); free(sw.cosv); free(sw.sinv); free(sw.mag);
    free(spec); free(cum); free(phx); free(phy); free(q); free(hist); free(ev);
    free(d1x); free(d1y); free(ftmp); free(cs); free(vbuf);
    return st;
}

/* ---- drift ------------------------------------------------------------------- */

void pf_grid_drift(const pf_grid *g, const uint8_t *rgba, int w, int h, double *dx, double *dy)
{
    int16_t *px = NULL;
    double *cum = NULL, hist[256], sx = 0, sy = 0, ph;
    int nb;

    *dx = *dy = 0;
    if (!g || !rgba || w < 2 || h < 2 || !(g->cell_w > 0) || !(g->cell_h > 0)) return;
    px = pf_malloc4((size_t)w, (size_t)h, 4, sizeof *px);
    cum = pf_malloc4((size_t)(w > h ? w : h) + 1, 8, 1, sizeof(double));
    if (!px || !cum) goto done;
    premultiply(rgba, (size_t)w * h, chroma_subsampled(rgba, w, h) ? 0 : 256, px);
    nb = pf_clampi((int)lrint(g->cell_w * GRID_PHASE_Q), 16, 256);
    ph = box_phase(px, w, h, 0, g->cell_w, 15, cum, hist, nb, &sx);
    if (sx > 1e-4) *dx = wrap_half(ph - g->offset_x, g->cell_w);
    nb = pf_clampi((int)lrint(g->cell_h * GRID_PHASE_Q), 16, 256);
    ph = box_phase(px, w, h, 1, g->cell_h, 15, cum, hist, nb, &sy);
    if (sy > 1e-4) *dy = wrap_half(ph - g->offset_y, g->cell_h);
done:
    free(px);
    free(cum);
}
