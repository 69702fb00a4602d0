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
#define GRID_BANDS 4         /* second-difference steps 1, 2, 4, 8 px */
#define GRID_MAX_FRAMES 8    /* frames used for the period */

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

/* ---- features ------------------------------------------------------------- */

/* Premultiplied RGBA, 0..255: transparent pixels' colours do not count. */
static void premultiply(const uint8_t *rgba, size_t npx, int16_t *px)
{
    size_t i;
#ifdef GRID_DEBUG_SPEC
    static int cw = -1;
    if (cw < 0) cw = getenv("GRID_CW") ? atoi(getenv("GRID_CW")) : 256;
#else
    const int cw = 256;
#endif
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

static inline int absd4(const int16_t *a, const int16_t *b)
{
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]) + abs(a[3] - b[3]);
}

static inline int absdd4(const int16_t *a, const int16_t *b, const int16_t *c)
{
    return abs(a[0] - 2 * b[0] + c[0]) + abs(a[1] - 2 * b[1] + c[1]) +
           abs(a[2] - 2 * b[2] + c[2]) + abs(a[3] - 2 * b[3] + c[3]);
}

/* Edge profiles of one frame px (h, w, 4), each a sum over at most
 * GRID_MAX_LINES evenly spread rows (for x) or columns (for y):
 *   p1 (n): p1[i] = |first difference| between pixels i-1 and i (at i),
 *   p2 (GRID_BANDS, n): |I(i+d) - 2 I(i) + I(i-d)| with step d = 2^band,
 *           centred on pixel i (at i + 0.5).
 * A line's contributions are divided by max(its first-difference sum, the
 * mean over lines), so one strong line does not dominate. x1/x2 get the
 * x-axis profiles (n = w), y1/y2 the y-axis ones (n = h); lw is scratch of
 * GRID_MAX_LINES doubles. nbands = 0 skips p2 (x2, y2 may be NULL).
 * Returns the first-difference mass. */
/* Median of the values counted in hist (nbin bins of width 1). */
static double hist_median(const uint32_t *hist, int nbin)
{
    uint64_t tot = 0, acc = 0;
    int i;
    for (i = 0; i < nbin; i++) tot += hist[i];
    if (!tot) return 0;
    for (i = 0; i < nbin; i++) {
        acc += hist[i];
        if (2 * acc >= tot) return i + 0.5;
    }
    return nbin;
}

#define GRID_HBINS 2048
static double frame_profiles(const int16_t *px, int w, int h, float *x1, float *x2,
                             float *y1, float *y2, double *lw, int nbands)
{
    const int nr = h < GRID_MAX_LINES ? h : GRID_MAX_LINES;
    const int nc = w < GRID_MAX_LINES ? w : GRID_MAX_LINES;
    const size_t rs = (size_t)w * 4;
    int x, y, l, b;
    double mean = 0, tot = 0, thr[2][1 + GRID_BANDS];
    static uint32_t hist[1 + GRID_BANDS][GRID_HBINS];
#ifdef GRID_DEBUG_SPEC
    double dz = getenv("GRID_DZ") ? atof(getenv("GRID_DZ")) : 0;
#else
    const double dz = 0;
#endif
#define DZ(v, t) ((v) > (t) ? (float)((v) - (t)) : 0.0f)

    memset(x1, 0, sizeof(float) * (size_t)w);
    if (nbands) memset(x2, 0, sizeof(float) * (size_t)w * nbands);
    memset(y1, 0, sizeof(float) * (size_t)h);
    if (nbands) memset(y2, 0, sizeof(float) * (size_t)h * nbands);

    /* noise level of every feature: the median over sampled pixels */
    memset(thr, 0, sizeof thr);
    if (dz > 0) {
        memset(hist, 0, sizeof hist);
        for (l = 0; l < nr; l++) {
            const int16_t *row = px + (size_t)((2 * l + 1) * h / (2 * nr)) * rs;
            for (x = 8; x < w - 8; x += 2) {
                hist[0][pf_clampi(absd4(row + x * 4, row + (x - 1) * 4), 0, GRID_HBINS - 1)]++;
                for (b = 0; b < nbands; b++) {
                    const int d = 1 << b;
                    hist[1 + b][pf_clampi(absdd4(row + (x + d) * 4, row + x * 4, row + (x - d) * 4), 0, GRID_HBINS - 1)]++;
                }
            }
        }
        for (b = 0; b <= nbands; b++) thr[0][b] = dz * hist_median(hist[b], GRID_HBINS);
        memset(hist, 0, sizeof hist);
        for (y = 8; y < h - 8; y += 2) {
            const int16_t *row = px + (size_t)y * rs;
            for (l = 0; l < nc; l++) {
                const int16_t *c = row + (size_t)((2 * l + 1) * w / (2 * nc)) * 4;
                hist[0][pf_clampi(absd4(c, c - rs), 0, GRID_HBINS - 1)]++;
                for (b = 0; b < nbands; b++) {
                    const int d = 1 << b;
                    hist[1 + b][pf_clampi(absdd4(c + (size_t)d * rs, c, c - (size_t)d * rs), 0, GRID_HBINS - 1)]++;
                }
            }
        }
        for (b = 0; b <= nbands; b++) thr[1][b] = dz * hist_median(hist[b], GRID_HBINS);
    }

    /* x: rows */
    for (l = 0; l < nr; l++) {
        const int16_t *row = px + (size_t)((2 * l + 1) * h / (2 * nr)) * rs;
        double s = 0;
        for (x = 1; x < w; x++) s += DZ(absd4(row + x * 4, row + (x - 1) * 4), thr[0][0]);
        lw[l] = s;
        mean += s;
    }
    tot += mean;
    mean = mean / nr + 1e-9;
    for (l = 0; l < nr; l++) {
        const int16_t *row = px + (size_t)((2 * l + 1) * h / (2 * nr)) * rs;
        const float wr = (float)(1.0 / (lw[l] > mean ? lw[l] : mean));
        for (x = 1; x < w; x++) x1[x] += wr * DZ(absd4(row + x * 4, row + (x - 1) * 4), thr[0][0]);
        for (b = 0; b < nbands; b++) {
            const int d = 1 << b;
            float *o = x2 + (size_t)b * w;
            for (x = d; x < w - d; x++)
                o[x] += wr * DZ(absdd4(row + (x + d) * 4, row + x * 4, row + (x - d) * 4), thr[0][1 + b]);
        }
    }

    /* y: columns, walked row by row */
    for (l = 0; l < nc; l++) lw[l] = 0;
    for (y = 1; y < h; y++) {
        const int16_t *row = px + (size_t)y * rs;
        for (l = 0; l < nc; l++) {
            const int xx = (2 * l + 1) * w / (2 * nc);
            lw[l] += DZ(absd4(row + xx * 4, row - rs + xx * 4), thr[1][0]);
        }
    }
    mean = 0;
    for (l = 0; l < nc; l++) mean += lw[l];
    tot += mean;
    mean = mean / nc + 1e-9;
    for (l = 0; l < nc; l++) lw[l] = 1.0 / (lw[l] > mean ? lw[l] : mean);
    for (y = 0; y < h; y++) {
        const int16_t *row = px + (size_t)y * rs;
        double s1 = 0, s2[GRID_BANDS] = {0};
        for (l = 0; l < nc; l++) {
            const int16_t *c = row + (size_t)((2 * l + 1) * w / (2 * nc)) * 4;
            if (y > 0) s1 += lw[l] * DZ(absd4(c, c - rs), thr[1][0]);
            for (b = 0; b < nbands; b++) {
                const int d = 1 << b;
                if (y >= d && y < h - d)
                    s2[b] += lw[l] * DZ(absdd4(c + (size_t)d * rs, c, c - (size_t)d * rs), thr[1][1 + b]);
            }
        }
        y1[y] = (float)s1;
        for (b = 0; b < nbands; b++) y2[(size_t)b * h + y] = (float)s2[b];
    }
#undef DZ
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
    int n;          /* pixels along the axis */
    int t;          /* frames */
    float *p1;      /* (t, n) first-difference profiles, coordinate i */
    float *p2;      /* (t, GRID_BANDS, n) second-difference profiles, coordinate i + 0.5 */
    double *wt;     /* (t) frame weights: 1, or 0 for a frame without edges */
    double *floor_; /* (nfft/2 + 1) background level of the combined spectrum */
    int nfft;
} axis_data;

/* The second-difference band for period per: step about per/3 to per/6. */
static int band_of(double per)
{
    int b = 0;
#ifdef GRID_DEBUG_SPEC
    static double bt = -1;
    if (bt < 0) bt = getenv("GRID_BT") ? atof(getenv("GRID_BT")) : 6.0;
#else
    const double bt = 6.0;
#endif
    while (b + 1 < GRID_BANDS && per >= bt * (1 << b)) b++;
    return b;
}

/* The coherence of frame t at frequency f: the larger of the first- and
 * (band-matched) second-difference ones; *which gets 0 or 1 + band. */
static double frame_score(const axis_data *a, int t, double f, int *which)
{
    const int b = band_of(1.0 / f);
    double c1 = coherence_at(a->p1 + (size_t)t * a->n, a->n, f, 0, NULL);
    double c2 = coherence_at(a->p2 + ((size_t)t * GRID_BANDS + b) * a->n, a->n, f, 0.5, NULL);
    if (which) *which = c1 >= c2 ? 0 : 1 + b;
    return c1 >= c2 ? c1 : c2;
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
    c0 = which == 0 ? 0 : 0.5;
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

/* Chooses the period of one axis from its combined spectrum s (a->nfft
 * bins) between frequencies flo and fhi. Returns the period in pixels, or
 * 0 if none; *score gets the raw coherence there, *nscore the normalised. */
static double choose_period(const axis_data *a, const double *s, double flo, double fhi,
                            double *score, double *nscore, double *hbuf, const pf_logger *lg)
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
        if (v > best) { best = v; jb = j; }
    }
#ifdef GRID_DEBUG_SPEC
    if (getenv("GRID_SPEC")) {
        for (j = jlo + 1; j < jhi; j++) {
            double v = s[j] / (a->floor_[j] + GRID_FLOOR_EPS);
            if (v > s[j - 1] / (a->floor_[j - 1] + GRID_FLOOR_EPS) && v >= s[j + 1] / (a->floor_[j + 1] + GRID_FLOOR_EPS) && v > 0.5 * best)
                fprintf(stderr, "      peak p=%.3f raw %.3f floor %.3f norm %.2f\n", (double)nfft / j, s[j], a->floor_[j], v);
        }
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
        double fm = fb / m, sm = axis_score(a, fm), nm = sm / (axis_floor(a, fm) + GRID_FLOOR_EPS), r;
        if (nm < 0.5 * nb_ && sm < 0.6 * sb) continue;
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
 * (h, w, 4): the offset that maximises the summed squared box sums of all
 * cells along sampled lines (the least-squares piecewise-constant fit).
 * axis 0 = x (lines are rows), 1 = y. *strength gets the peak's contrast
 * (0 = no structure). cum is scratch of (n + 1) * 4 doubles, hist of
 * 2 * GRID_PHASE_Q * (per + 2) + 64 doubles. */
static double box_phase(const int16_t *px, int w, int h, int axis, double per,
                        double *cum, double *hist, int nbins, double *strength)
{
    const int n = axis == 0 ? w : h, nl = axis == 0 ? h : w;
    const size_t step = axis == 0 ? 4 : (size_t)w * 4;
    const int lstep = nl > GRID_MAX_LINES ? (nl + GRID_MAX_LINES - 1) / GRID_MAX_LINES : 1;
    const double dt = per / nbins;
    const int ncell = (int)ceil((n + per) / per) + 1;
    int l, b, j, c, bm;
    double emax, emin, emean = 0, d, e0, e1, e2;

    for (b = 0; b < nbins; b++) hist[b] = 0;
    for (l = lstep / 2; l < nl; l += lstep) {
        const int16_t *base = px + (axis == 0 ? (size_t)l * w * 4 : (size_t)l * 4);
        for (c = 0; c < 4; c++) cum[c] = 0;
        for (j = 0; j < n; j++)
            for (c = 0; c < 4; c++) cum[(j + 1) * 4 + c] = cum[j * 4 + c] + base[j * step + c];
        for (j = 0; j < ncell * nbins; j++) {
            double t0 = -per + j * dt, t1 = t0 + per, e = 0;
            double s0[4], s1[4];
            int i;
            /* cumulative sums at t0, t1 with edge-pixel extension */
#define CUMAT(t, out)                                                                   \
            do {                                                                        \
                if ((t) <= 0) {                                                         \
                    for (c = 0; c < 4; c++) out[c] = (t) * base[c];                     \
                } else if ((t) >= n) {                                                  \
                    for (c = 0; c < 4; c++)                                             \
                        out[c] = cum[(size_t)n * 4 + c] + ((t) - n) * base[(size_t)(n - 1) * step + c]; \
                } else {                                                                \
                    i = (int)(t);                                                       \
                    for (c = 0; c < 4; c++)                                             \
                        out[c] = cum[(size_t)i * 4 + c] + ((t) - i) * base[(size_t)i * step + c]; \
                }                                                                       \
            } while (0)
            CUMAT(t0, s0);
            CUMAT(t1, s1);
#undef CUMAT
            for (c = 0; c < 4; c++) {
                double bsum = s1[c] - s0[c];
                e += bsum * bsum;
            }
            hist[j % nbins] += e;
        }
    }
    bm = 0;
    emax = emin = hist[0];
    for (b = 0; b < nbins; b++) {
        emean += hist[b];
        if (hist[b] > emax) { emax = hist[b]; bm = b; }
        if (hist[b] < emin) emin = hist[b];
    }
    emean /= nbins;
    *strength = emax > 0 ? (emax - emin) / emax : 0;
    e0 = hist[(bm + nbins - 1) % nbins];
    e1 = hist[bm];
    e2 = hist[(bm + 1) % nbins];
    d = e0 - 2 * e1 + e2;
    d = d < 0 ? 0.5 * (e0 - e2) / d : 0;
    if (d > 0.5) d = 0.5;
    if (d < -0.5) d = -0.5;
    d = fmod((bm + d) * dt, per);
    if (d < 0) d += per;
    (void)emean;
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
static void axis_spectrum(axis_data *a, spec_work *sw, double *spec)
{
    const int nf = a->nfft, half = nf / 2;
    double ws = 0;
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
        for (b = 0; b < GRID_BANDS; b++)
            coherence_spectrum(a->p2 + ((size_t)t * GRID_BANDS + b) * a->n, a->n, nf, sw->re, sw->im,
                               sw->cosv, sw->sinv, sw->mag + (size_t)(b + 1) * (half + 1));
        for (i = 1; i <= half; i++) {
            double m1 = sw->mag[i], m2 = sw->mag[(size_t)(band_of((double)nf / i) + 1) * (half + 1) + i];
            spec[i] += a->wt[t] * (m1 > m2 ? m1 : m2);
        }
    }
    if (ws > 0)
        for (i = 0; i <= half; i++) spec[i] /= ws;
    spectrum_floor(spec, nf, a->n, a->floor_, sw->mag);
}

/* Is per one of the periods of a comb locked to 16-pixel codec blocks? */
static int codec_period(double per)
{
    int k;
    for (k = 1; k <= 8; k++)
        if (fabs(per - 16.0 / k) < 0.005 * per) return 1;
    return 0;
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
    double *q = NULL, *ev = NULL;
    float *d1x = NULL, *d1y = NULL, *ftmp = NULL;
    int t, j, i, b, tp, nmax, nfft_max, k0x = 0, k0y = 0, nbx, nby, ok;
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
    for (j = 0; j < 4; j++) ok &= axis_alloc(&ad[j], j % 2 == 0 ? w : h, tp);
    nfft_max = ax->nfft > ay->nfft ? ax->nfft : ay->nfft;

    px = pf_malloc4((size_t)w, (size_t)h, 4, sizeof *px);
    lw = pf_malloc4(GRID_MAX_LINES, 1, 1, sizeof *lw);
    sw.re = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.im = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.cosv = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.sinv = pf_malloc4((size_t)nfft_max, 1, 1, sizeof(double));
    sw.mag = pf_malloc4((size_t)nfft_max / 2 + 1, 1 + GRID_BANDS, 1, sizeof(double));
    spec = pf_malloc4((size_t)nfft_max / 2 + 1, 1, 1, sizeof(double));
    cum = pf_malloc4((size_t)nmax + 1, 4, 1, sizeof(double));
    phx = pf_malloc4((size_t)n, 2, 1, sizeof(double));
    phy = pf_malloc4((size_t)n, 2, 1, sizeof(double));
    q = pf_calloc4((size_t)nmax + 1, 1, 1, sizeof(double));
    hist = pf_malloc4(256, 1, 1, sizeof(double));
    d1x = pf_malloc4((size_t)n, (size_t)w, 1, sizeof(float));
    d1y = pf_malloc4((size_t)n, (size_t)h, 1, sizeof(float));
    ftmp = pf_malloc4((size_t)nmax, 1, 1, sizeof(float));
    if (!ok || !px || !lw || !sw.re || !sw.im || !sw.cosv || !sw.sinv || !sw.mag || !spec || !cum ||
        !phx || !phy || !q || !hist || !d1x || !d1y || !ftmp) {
        st = PF_ENOMEM;
        goto fail;
    }

    /* 1. profiles of up to GRID_MAX_FRAMES evenly spread frames, with their
     * floor removed, and a copy without codec-block combs */
    for (t = 0; t < tp; t++) {
        const int src = tp > 1 ? (int)((long)t * (n - 1) / (tp - 1)) : 0;
        double tot;
        premultiply(frames[src], (size_t)w * h, px);
        tot = frame_profiles(px, w, h, ax->p1 + (size_t)t * w, ax->p2 + (size_t)t * w * GRID_BANDS,
                             ay->p1 + (size_t)t * h, ay->p2 + (size_t)t * h * GRID_BANDS, lw, GRID_BANDS);
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
                                fmin(0.5, 1.0 / p.min_cell), &sc4[j], &ns4[j], hist, lg);
        pf_debug(lg, "grid: %s%s period %.3f (coherence %.3f, %.2f over background)",
                 j % 2 ? "y" : "x", j >= 2 ? " without codec combs" : "", per4[j], sc4[j], ns4[j]);
    }
    if (p.scale == 0) {
        /* a codec comb may hide the real period: when the plain estimate is
         * a codec period and the comb-free one is not, trust the latter */
        for (j = 0; j < 2; j++)
            if (per4[j] > 0 && codec_period(per4[j]) && per4[j + 2] > 0 &&
                !codec_period(per4[j + 2]) && ns4[j + 2] >= 2.5) {
                axis_data tmpa = ad[j];
                ad[j] = ad[j + 2];
                ad[j + 2] = tmpa;
                per4[j] = per4[j + 2];
                sc4[j] = sc4[j + 2];
                ns4[j] = ns4[j + 2];
            }
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
    g->confidence = 0.5 * (scx + scy);
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
            premultiply(frames[t], (size_t)w * h, px);
            phx[t] = box_phase(px, w, h, 0, perx, cum, hist, nbx, &sxs);
            phy[t] = box_phase(px, w, h, 1, pery, cum, hist, nby, &sys);
            phx[n + t] = sxs;
            phy[n + t] = sys;
            cxr += sxs * cos(2 * M_PI * phx[t] / perx);
            cxi += sxs * sin(2 * M_PI * phx[t] / perx);
            cyr += sys * cos(2 * M_PI * phy[t] / pery);
            cyi += sys * sin(2 * M_PI * phy[t] / pery);
            if (p.irregular)
                frame_profiles(px, w, h, d1x + (size_t)t * w, NULL, d1y + (size_t)t * h, NULL, lw, 0);
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
                const float *p1 = d1 + (size_t)t * nn;
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
    free(d1x); free(d1y); free(ftmp);
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
    cum = pf_malloc4((size_t)(w > h ? w : h) + 1, 4, 1, sizeof(double));
    if (!px || !cum) goto done;
    premultiply(rgba, (size_t)w * h, px);
    nb = pf_clampi((int)lrint(g->cell_w * GRID_PHASE_Q), 16, 256);
    ph = box_phase(px, w, h, 0, g->cell_w, cum, hist, nb, &sx);
    if (sx > 1e-4) *dx = wrap_half(ph - g->offset_x, g->cell_w);
    nb = pf_clampi((int)lrint(g->cell_h * GRID_PHASE_Q), 16, 256);
    ph = box_phase(px, w, h, 1, g->cell_h, cum, hist, nb, &sy);
    if (sy > 1e-4) *dy = wrap_half(ph - g->offset_y, g->cell_h);
done:
    free(px);
    free(cum);
}
