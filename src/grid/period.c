/*
 * period.c - nominal cell-size candidates from the local coherence of the
 * edges, for regular and bent lattices alike. Not the fit of a grid
 * (detect.c) or a mesh (mesh.c).
 *
 * Method. For a trial cell size p, bands about 2 p lines tall are demodulated
 * at 1/p under a Gaussian window of 1.5 p (edges.h): |z| / m is how well
 * the edges near each place sit on some lattice of period about p, with a
 * phase free to wander from place to place. A video model's lattice bends
 * (its local cell size drifts by 10-20 % across the frame), so one global
 * comb smears out, but within 1.5 cells the local phase holds. The
 * energy-weighted mean of |z| / m over both axes and a few frames is the
 * score s(p). Real lattices give a narrow peak: the candidate's contrast is
 * s(p) over the median of s at non-harmonic sizes around it (p / 1.7 ..
 * p * 1.7, outside p / 1.2 .. p * 1.2). Textures and photos give broad
 * plateaus (contrast near 1), few large shapes give coherence at every p.
 */
#include "grid/grid.h"
#include "grid/edges.h"

#include <math.h>
#include <string.h>

#define PERIOD_STEP 1.06          /* ratio between trial cell sizes ... */
#define PERIOD_FINE_TRIALS 6      /* ... and trials spanning one such step around each peak */
#define PERIOD_MIN 2.5            /* smallest trial, px: under it the box step is 1 px */
#define PERIOD_FRAMES 3           /* frames sampled */
#define PERIOD_FINE_BAND 4        /* lines per band of the edge finder ... */
#define PERIOD_BAND_CELLS 1.0     /* ... summed under a Gaussian of this many cells */
#define PERIOD_WINDOW_CELLS 1.5   /* demodulation window sigma, cells */
#define PERIOD_STEP_CELLS 0.35    /* box step of the edge finder, cells */
#define PERIOD_CONTEXT 1.7        /* contrast against sizes within this ratio ... */
#define PERIOD_EXCLUDE 1.2        /* ... but outside this one */
#define PERIOD_CONTRAST_LO 1.10   /* contrast giving confidence 0 ... */
#define PERIOD_CONTRAST_HI 1.60   /* ... and 1 */
#define PERIOD_SCORE_LO 0.25      /* coherence giving confidence 0 ... */
#define PERIOD_SCORE_HI 0.50      /* ... and 1 */
#define PERIOD_CODEC_COHERENCE 0.08 /* a frame-locked comb at 4 or 8 px this coherent ... */
#define PERIOD_CODEC_PHASE 0.5    /* ... within this many px of the origin is the codec's */
#define PERIOD_CODEC_NEAR 0.10    /* candidates within this share of a codec period are dropped */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The coherence score of one axis of one frame at trial p, from the fine
 * band profiles `fine` (edge step already matched to p). The profiles
 * are summed across the axis under a Gaussian of PERIOD_BAND_CELLS p
 * lines, centred every 2 p lines: a window that grows with p (more edges
 * per window, so random coherence stays low) and grows continuously (a
 * height that jumped with p would make false peaks). */
static double axis_score(const pfi_edge_bands *fine, double p, float *work)
{
    const int n = fine->n;
    pfi_edge_bands eb = *fine;
    float *zr = work, *zi = work + n, *m = work + 2 * (size_t)n, *sc = work + 3 * (size_t)n;
    float *row = work + 5 * (size_t)n;
    const double sig = PERIOD_BAND_CELLS * p / PERIOD_FINE_BAND;   /* in fine bands */
    const int reach = (int)ceil(2.5 * sig);
    const int stepb = (int)lrint(2 * p / PERIOD_FINE_BAND) < 1 ? 1 : (int)lrint(2 * p / PERIOD_FINE_BAND);
    double sz = 0, sm = 0;
    eb.nb = 1;
    eb.p = row;
    for (int c = stepb / 2; c < fine->nb; c += stepb) {
        memset(row, 0, sizeof *row * (size_t)n);
        for (int b = c - reach; b <= c + reach; b++) {
            if (b < 0 || b >= fine->nb) continue;
            const float w = (float)exp(-0.5 * (b - c) * (b - c) / (sig * sig));
            const float *src = fine->p + (size_t)b * n;
            for (int x = 0; x < n; x++) row[x] += w * src[x];
        }
        pfi_edge_demod(&eb, NULL, p, PERIOD_WINDOW_CELLS * p, zr, zi, m, sc);
        for (int x = 0; x < n; x++) {
            sz += hypot(zr[x], zi[x]);
            sm += m[x];
        }
    }
    return sm > 0 ? sz / sm : 0;
}

/* Which codec block lattices (4 and 8 px, bit 0 and 1) the edges of one
 * frame sit on: lossy WebP and H.264 leave a comb locked to the frame's
 * origin at their transform sizes, and a candidate near them would be the
 * codec's grid, not the art's. */
static int codec_lattices(const uint8_t *rgba, int w, int h, int luma_only)
{
    int found = 3;
    for (int a = 0; a < 2; a++) {
        pfi_edge_bands eb;
        if (pfi_edge_bands_make(&eb, rgba, w, h, a, 1, a ? w : h, luma_only) < 0) return 0;
        for (int k = 0; k < 2; k++) {
            const double per = k ? 8.0 : 4.0;
            double re = 0, im = 0, sum = 0;
            for (int b = 0; b < eb.nb; b++)
                for (int x = 0; x < eb.n; x++) {
                    const double v = eb.p[(size_t)b * eb.n + x];
                    re += v * cos(2 * M_PI * x / per);
                    im += v * sin(2 * M_PI * x / per);
                    sum += v;
                }
            const double coh = sum > 0 ? hypot(re, im) / sum : 0;
            const double phase = fabs(atan2(im, re)) / (2 * M_PI) * per;   /* px from the origin */
            if (!(coh >= PERIOD_CODEC_COHERENCE && phase <= PERIOD_CODEC_PHASE)) found &= ~(1 << k);
        }
        pfi_edge_bands_free(&eb);
    }
    return found;
}

/* Adds the frame-averaged score of every trial size per[0..np-1]
 * (ascending) to score[]. The box step follows p continuously: the score
 * blends the two whole steps around PERIOD_STEP_CELLS p, so that a change
 * of step does not make a step (a false peak) in the score. */
static pf_status spectrum(const uint8_t *const *frames, int n, int nf, int w, int h, const double *per,
                          int np, double *score, float *work)
{
    pfi_edge_bands eb[4] = {{0}, {0}, {0}, {0}};
    pfi_edge_prefix pp[2] = {{0}, {0}};
    pf_status st = PF_OK;
    for (int f = 0; f < nf && st == PF_OK; f++) {
        const uint8_t *rgba = frames[nf > 1 ? (int)((int64_t)f * (n - 1) / (nf - 1)) : 0];
        const int luma = pfi_grid_chroma_subsampled(rgba, w, h);
        int have = 0;   /* eb[0..1] hold step `have`, eb[2..3] step have + 1 */
        for (int a = 0; a < 2; a++) {
            pfi_edge_prefix_free(&pp[a]);
            if ((st = pfi_edge_prefix_make(&pp[a], rgba, w, h, a, luma)) < 0) goto done;
        }
        for (int i = 0; i < np; i++) {
            const double sf = fmax(1.0, PERIOD_STEP_CELLS * per[i]);
            const int s0 = (int)floor(sf);
            const double fr = sf - s0;
            if (s0 != have) {
                for (int a = 0; a < 4; a++) {
                    pfi_edge_bands_free(&eb[a]);
                    if ((st = pfi_edge_bands_cut(&eb[a], &pp[a & 1], s0 + a / 2, PERIOD_FINE_BAND)) < 0) goto done;
                }
                have = s0;
            }
            const double lo = 0.5 * (axis_score(&eb[0], per[i], work) + axis_score(&eb[1], per[i], work));
            const double hi = fr > 0 ? 0.5 * (axis_score(&eb[2], per[i], work) + axis_score(&eb[3], per[i], work)) : 0;
            score[i] += ((1 - fr) * lo + fr * hi) / nf;
        }
    }
done:
    for (int a = 0; a < 4; a++) pfi_edge_bands_free(&eb[a]);
    pfi_edge_prefix_free(&pp[0]);
    pfi_edge_prefix_free(&pp[1]);
    return st;
}

pf_status pfi_grid_candidates(const uint8_t *const *frames, int n, int w, int h, double min_cell,
                             double max_cell, pfi_cell_candidate *out, int max_out, int *n_out,
                             const pfi_logger *lg)
{
    double *per = NULL, *score = NULL, *tmp = NULL, *fper = NULL, *fscore = NULL;
    float *work = NULL;
    int np = 0, nf, found = 0, nfine = 0;
    pf_status st = PF_ENOMEM;

    if (n_out) *n_out = 0;
    if (!frames || n < 1 || w < 2 || h < 2 || !out || max_out < 1 || !n_out || !(min_cell >= 1) ||
        !(max_cell >= min_cell))
        return PF_EINVAL;
    if (w > PF_GRID_MAX_SIDE || h > PF_GRID_MAX_SIDE) return PF_ELIMIT;
    {
        const double lo = fmax(min_cell, PERIOD_MIN), hi = fmin(max_cell, fmin(w, h) / 6.0);
        for (double p = lo; p <= hi; p *= PERIOD_STEP) np++;
        if (np < 3) return PF_OK;   /* too small a frame for any lattice */
        per = malloc(sizeof *per * (size_t)np);
        score = calloc((size_t)np, sizeof *score);
        tmp = malloc(sizeof *tmp * (size_t)np);
        fper = malloc(sizeof *fper * (size_t)np * PERIOD_FINE_TRIALS);
        fscore = calloc((size_t)np * PERIOD_FINE_TRIALS, sizeof *fscore);
        work = pfi_malloc4((size_t)(w > h ? w : h) + 1, 6, 1, sizeof *work);
        if (!per || !score || !tmp || !fper || !fscore || !work) goto done;
        np = 0;
        for (double p = lo; p <= hi; p *= PERIOD_STEP) per[np++] = p;
    }
    nf = n < PERIOD_FRAMES ? n : PERIOD_FRAMES;
    if ((st = spectrum(frames, n, nf, w, h, per, np, score, work)) < 0) goto done;
    /* each peak of the coarse spectrum, resolved on a finer one around it */
    for (int i = 1; i + 1 < np; i++) {
        if (!(score[i] >= score[i - 1] && score[i] > score[i + 1])) continue;
        for (int k = 0; k < PERIOD_FINE_TRIALS; k++)
            fper[nfine++] = per[i] * pow(PERIOD_STEP, (k + 0.5) / PERIOD_FINE_TRIALS - 0.5) * 1.0;
    }
    if ((st = spectrum(frames, n, nf, w, h, fper, nfine, fscore, work)) < 0) goto done;
    const int codec = codec_lattices(frames[0], w, h, pfi_grid_chroma_subsampled(frames[0], w, h));
    if (codec) pfi_debug(lg, "grid: edges on a %s px lattice at the frame origin (codec blocks)",
                        codec == 3 ? "4 and 8" : codec == 1 ? "4" : "8");
    /* peaks ranked by contrast x score */
    for (int i = 1, pk = 0; i + 1 < np; i++) {
        if (!(score[i] >= score[i - 1] && score[i] > score[i + 1])) continue;
        const double *fp = fper + (size_t)pk * PERIOD_FINE_TRIALS, *fs = fscore + (size_t)pk * PERIOD_FINE_TRIALS;
        pk++;
        if (((codec & 1) && fabs(per[i] / 4.0 - 1) < PERIOD_CODEC_NEAR) ||
            ((codec & 2) && fabs(per[i] / 8.0 - 1) < PERIOD_CODEC_NEAR))
            continue;
        int k = 0;
        for (int j = 0; j < np; j++) {
            const double r = per[j] / per[i];
            if (r >= 1 / PERIOD_CONTEXT && r <= PERIOD_CONTEXT && (r < 1 / PERIOD_EXCLUDE || r > PERIOD_EXCLUDE))
                tmp[k++] = score[j];
        }
        if (k < 3) continue;
        qsort(tmp, (size_t)k, sizeof *tmp, cmp_double);
        const double med = tmp[k / 2], contrast = med > 0 ? score[i] / med : 0;
        int best = 0;
        for (int j = 1; j < PERIOD_FINE_TRIALS; j++)
            if (fs[j] > fs[best]) best = j;
        pfi_cell_candidate cand;
        cand.cell = fp[best];
        cand.score = fs[best];
        cand.contrast = contrast;
        cand.confidence = fmax(0, fmin(1, (contrast - PERIOD_CONTRAST_LO) / (PERIOD_CONTRAST_HI - PERIOD_CONTRAST_LO))) *
                          fmax(0, fmin(1, (cand.score - PERIOD_SCORE_LO) / (PERIOD_SCORE_HI - PERIOD_SCORE_LO)));
        /* insert by confidence (then contrast) */
        int pos = found;
        while (pos > 0 && (out[pos - 1].confidence < cand.confidence ||
                           (out[pos - 1].confidence == cand.confidence && out[pos - 1].contrast < cand.contrast)))
            pos--;
        if (pos >= max_out) continue;
        if (found < max_out) found++;
        memmove(out + pos + 1, out + pos, sizeof *out * (size_t)(found - 1 - pos));
        out[pos] = cand;
    }
    for (int i = 0; i < found; i++)
        pfi_debug(lg, "grid: cell candidate %.3f px: coherence %.3f, contrast %.2f, confidence %.2f",
                 out[i].cell, out[i].score, out[i].contrast, out[i].confidence);
    *n_out = found;
    st = PF_OK;
done:
    free(per);
    free(score);
    free(tmp);
    free(fper);
    free(fscore);
    free(work);
    return st;
}
