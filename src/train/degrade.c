/*
 * degrade.c - the training degradation pipeline (degrade.h): parameter
 * draws per degradation kind, separable premultiplied resampling with the
 * blur folded into the weights, backgrounds, tone, noise, and the codec
 * round trips of codec.c. Mirrors tests/evalset/degrade.py and build.py.
 * Not a data loader: the caller crops and picks clean clips.
 */
#include "train/degrade.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "palette/palette.h"
#include "train/codec.h"
#include "train/rng.h"

#define TWO_PI 6.283185307179586
#define TONE_LUT 1024       /* tone curve samples over 0..1 */

/* ---- kinds and draws ------------------------------------------------------ */

static const char *const kind_names[PF_DKIND_COUNT] = {
    "any", "gif_dither", "h264_nearest", "h264_smooth", "video_model", "webp_lossy", "bg_busy",
    "video_bent", "bg_field", "opaque_scene", "enclosed", "minority_hue"};

const char *pfi_degrade_kind_name(int kind)
{
    return kind >= 0 && kind < PF_DKIND_COUNT ? kind_names[kind] : "unknown";
}

/* Index drawn with the given probabilities (summing to about 1). */
static int pick(pfi_rng *r, const double *p, int n)
{
    double u = pfi_rng_unit(r);
    for (int i = 0; i < n - 1; i++) {
        if (u < p[i]) return i;
        u -= p[i];
    }
    return n - 1;
}

/* An integer scale in [ceil(lo), floor(hi)], or a non-integer one at least
 * 0.1 from an integer (build.py's sample_scale). */
static double draw_scale(pfi_rng *r, int integer, double lo, double hi)
{
    int ilo = (int)ceil(lo), ihi = (int)floor(hi);
    if (integer && ihi >= ilo) return (double)(ilo + pfi_rng_int(r, ihi - ilo + 1));
    for (int i = 0; i < 100; i++) {
        double s = pfi_rng_range(r, lo, hi), f = s - floor(s);
        if (f >= 0.1 && f <= 0.9) return s;
    }
    return lo + 0.5 * (hi - lo);
}

static void draw_solid(pfi_degrade *d, pfi_rng *r, double p_magenta)
{
    static const uint8_t named[4][3] = {{0, 255, 0}, {255, 255, 255}, {0, 0, 0}, {128, 128, 128}};
    d->bg = PF_DBG_SOLID;
    if (pfi_rng_unit(r) < p_magenta) {
        d->bg_rgb[0][0] = 255;
        d->bg_rgb[0][1] = 0;
        d->bg_rgb[0][2] = 255;
        return;
    }
    int k = pfi_rng_int(r, 5);
    for (int c = 0; c < 3; c++)
        d->bg_rgb[0][c] = k < 4 ? named[k][c] : (uint8_t)pfi_rng_int(r, 256);
}

/* A solid background, mostly white or pale (video models put sprites on
 * white or a light plain colour), as build.py's sample_solid_pale. */
static void draw_solid_pale(pfi_degrade *d, pfi_rng *r)
{
    static const double kp[6] = {0.35, 0.3, 0.1, 0.05, 0.05, 0.15};   /* white pale grey green black random */
    static const uint8_t named[6][3] = {{255, 255, 255}, {0, 0, 0}, {128, 128, 128}, {0, 255, 0}, {0, 0, 0}, {0, 0, 0}};
    d->bg = PF_DBG_SOLID;
    if (pfi_rng_unit(r) < 0.15) {
        d->bg_rgb[0][0] = 255;
        d->bg_rgb[0][1] = 0;
        d->bg_rgb[0][2] = 255;
        return;
    }
    const int k = pick(r, kp, 6);
    for (int c = 0; c < 3; c++)
        d->bg_rgb[0][c] = k == 1 ? (uint8_t)(200 + pfi_rng_int(r, 56)) : k == 5 ? (uint8_t)pfi_rng_int(r, 256) : named[k][c];
}

static void draw_gradient(pfi_degrade *d, pfi_rng *r)
{
    d->bg = PF_DBG_GRADIENT;
    d->bg_stops = 2 + pfi_rng_int(r, 2);
    d->bg_angle = pfi_rng_range(r, 0.0, 360.0);
    for (int i = 0; i < d->bg_stops; i++)
        for (int c = 0; c < 3; c++) d->bg_rgb[i][c] = (uint8_t)pfi_rng_int(r, 256);
}

static void draw_noise_bg(pfi_degrade *d, pfi_rng *r)
{
    d->bg = PF_DBG_NOISE;
    for (int c = 0; c < 3; c++) d->bg_rgb[0][c] = (uint8_t)(40 + pfi_rng_int(r, 176));
    d->bg_blotch = pfi_rng_range(r, 0.05, 0.2);
    d->bg_grain = pfi_rng_range(r, 0.01, 0.06);
    d->bg_cells = 3 + pfi_rng_int(r, 9);
}

/* A field of 4..8 blobs (build.py kind_bg_field): 1..2 get a colour near the
 * sprite's at clip time, the others hues spread around the circle at OKLab
 * lightness 0.3..0.9 and chroma 0.05..0.2. Static (build.py drifts 60%). */
static void draw_field(pfi_degrade *d, pfi_rng *r)
{
    d->bg = PF_DBG_FIELD;
    d->field_blobs = 4 + pfi_rng_int(r, 5);
    d->field_near = 1 + pfi_rng_int(r, 2);
    const double h0 = pfi_rng_range(r, 0.0, TWO_PI);
    for (int i = 0; i < d->field_blobs; i++) {
        d->field_xy[i][0] = pfi_rng_range(r, -0.1, 1.1);
        d->field_xy[i][1] = pfi_rng_range(r, -0.1, 1.1);
        d->field_radius[i] = pfi_rng_range(r, 0.08, 0.3);
        const double h = h0 + TWO_PI * i / d->field_blobs + pfi_rng_range(r, -0.3, 0.3),
                     ch = pfi_rng_range(r, 0.05, 0.2);
        const float lab[3] = {(float)pfi_rng_range(r, 0.3, 0.9), (float)(ch * cos(h)), (float)(ch * sin(h))};
        pfi_oklab_to_srgb8(lab, d->field_rgb[i]);
    }
}

static void draw_h264(pfi_degrade *d, pfi_rng *r, int crf_lo, int crf_hi)
{
    d->codec = PF_CODEC_H264;
    d->quality = crf_lo + pfi_rng_int(r, crf_hi - crf_lo + 1);
    d->h264_preset = pfi_rng_int(r, 3);
}

static void draw_webp(pfi_degrade *d, pfi_rng *r, int q_lo, int q_hi)
{
    d->codec = PF_CODEC_WEBP;
    d->quality = q_lo + pfi_rng_int(r, q_hi - q_lo + 1);
}

/* GIF palette and dither (build.py kind_gif_dither: 32..256 colours,
 * ordered or error-diffusion dither, a palette per clip or per frame). */
static void draw_gif(pfi_degrade *d, pfi_rng *r, int allow_16)
{
    static const double dp[4] = {0.15, 0.15, 0.3, 0.4};
    d->codec = PF_CODEC_GIF;
    d->gif_colors = 1 << (allow_16 ? 4 + pfi_rng_int(r, 5) : 5 + pfi_rng_int(r, 4));
    d->gif_dither = pick(r, dp, 4);
    d->gif_bayer_shift = 1 + pfi_rng_int(r, 3);
    d->gif_per_frame = pfi_rng_unit(r) < 1.0 / 3.0;
}

static void draw_transparent_or_solid(pfi_degrade *d, pfi_rng *r)
{
    if (pfi_rng_unit(r) < 0.5) d->bg = PF_DBG_TRANSPARENT;
    else draw_solid(d, r, 0.35);
}

static void draw_any(pfi_degrade *d, pfi_rng *r)
{
    static const double kp[4] = {0.25, 0.25, 0.3, 0.2};
    static const double cp[5] = {0.15, 0.35, 0.15, 0.2, 0.15};   /* none h264 mjpeg webp gif */
    d->scale = draw_scale(r, pfi_rng_unit(r) < 0.25, 2.0, 12.0);
    d->kernel = (pfi_resample_kind)pick(r, kp, 4);
    if (pfi_rng_unit(r) < 0.4) {
        d->jitter_x = pfi_rng_range(r, 0.0, 0.35);
        d->jitter_y = pfi_rng_range(r, 0.0, 0.35);
    }
    if (pfi_rng_unit(r) < 0.35) {
        d->hold = 2 + pfi_rng_int(r, 2);
        d->hold_max = d->hold == 2 && pfi_rng_unit(r) < 0.6 ? 3 : d->hold;
    }
    if (pfi_rng_unit(r) < 0.5) d->blur = pfi_rng_range(r, 0.0, 0.3);
    if (pfi_rng_unit(r) < 0.6) d->noise = pfi_rng_range(r, 0.0, 6.0);
    if (pfi_rng_unit(r) < 0.5) d->gamma = pfi_rng_range(r, 0.9, 1.1);
    if (pfi_rng_unit(r) < 0.4) d->exposure = pfi_rng_range(r, 0.85, 1.15);
    switch (pick(r, cp, 5)) {
    case 1: draw_h264(d, r, 18, 32); break;
    case 2:
        d->codec = PF_CODEC_MJPEG;
        d->quality = 2 + pfi_rng_int(r, 11);
        break;
    case 3: draw_webp(d, r, 50, 90); break;
    case 4: draw_gif(d, r, 1); break;
    default: d->codec = PF_CODEC_NONE; break;
    }
    if (d->codec == PF_CODEC_H264) d->yuv709 = pfi_rng_unit(r) < 0.5;
    {
        static const double opaque[3] = {0.5, 0.25, 0.25};       /* solid gradient noise */
        static const double any[4] = {0.35, 0.35, 0.15, 0.15};   /* + transparent first */
        int video = d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_MJPEG;
        int b = video ? 1 + pick(r, opaque, 3) : pick(r, any, 4);
        if (b == PF_DBG_SOLID) draw_solid(d, r, 1.0 / 3.0);
        else if (b == PF_DBG_GRADIENT) draw_gradient(d, r);
        else if (b == PF_DBG_NOISE) draw_noise_bg(d, r);
        else d->bg = PF_DBG_TRANSPARENT;
        if (!video && pfi_rng_unit(r) < 0.25) d->chroma420 = 1 + pfi_rng_int(r, 2);
    }
}

/* The evaluation set's kinds, build.py's ranges (with Lanczos added to the
 * smooth kernels and the x264 presets limited to veryfast and faster). */
static void draw_kind(pfi_degrade *d, pfi_rng *r, int kind)
{
    switch (kind) {
    case PF_DKIND_GIF:
        /* half nearest (gif_dither), half bilinear 2.5..6x (gif_bilinear_dither,
         * whose palette spends colours on blended edges and dithers them) */
        if (pfi_rng_unit(r) < 0.5) {
            d->scale = draw_scale(r, pfi_rng_unit(r) < 0.5, 2.0, 12.0);
        } else {
            d->kernel = PF_RS_BILINEAR;
            d->scale = draw_scale(r, pfi_rng_unit(r) < 0.25, 2.5, 6.0);
        }
        draw_transparent_or_solid(d, r);
        if (pfi_rng_unit(r) < 0.6) d->noise = pfi_rng_range(r, 0.5, 3.0);
        if (pfi_rng_unit(r) < 0.5) d->gamma = pfi_rng_range(r, 0.95, 1.05);
        draw_gif(d, r, 0);
        if (d->kernel == PF_RS_BILINEAR && d->gif_colors > 128) d->gif_colors = 128;
        break;
    case PF_DKIND_H264_NEAREST:
        d->scale = draw_scale(r, 0, 2.0, 12.0);
        draw_solid(d, r, 0.35);
        draw_h264(d, r, 18, 30);
        break;
    case PF_DKIND_H264_SMOOTH: {
        static const double kp[3] = {0.4, 0.4, 0.2};
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.3, 2.5, 12.0);
        d->kernel = (pfi_resample_kind)(PF_RS_BILINEAR + pick(r, kp, 3));
        d->blur = pfi_rng_range(r, 0.0, 0.2);
        d->noise = pfi_rng_range(r, 0.0, 4.0);
        d->gamma = pfi_rng_range(r, 0.9, 1.1);
        if (pfi_rng_unit(r) < 0.3) {
            d->hold = 2;
            d->hold_max = 3;
        }
        draw_solid(d, r, 0.35);
        draw_h264(d, r, 18, 30);
        break;
    }
    case PF_DKIND_VIDEO_MODEL: {
        static const double kp[3] = {0.15, 0.25, 0.6};   /* nearest bilinear bicubic */
        d->scale = draw_scale(r, 0, 4.5, 7.5);
        d->kernel = (pfi_resample_kind)pick(r, kp, 3);
        d->blur = pfi_rng_range(r, 0.05, 0.2);
        d->noise = pfi_rng_range(r, 0.5, 3.0);
        d->gamma = pfi_rng_range(r, 0.9, 1.1);
        d->jitter_x = pfi_rng_range(r, 0.15, 0.35);
        d->jitter_y = pfi_rng_range(r, 0.15, 0.35);
        d->hold = 2;
        d->hold_max = 3;
        if (pfi_rng_unit(r) < 0.8) draw_solid(d, r, 0.25);
        else draw_gradient(d, r);
        draw_h264(d, r, 20, 28);
        d->yuv709 = pfi_rng_unit(r) < 0.5;
        break;
    }
    case PF_DKIND_WEBP:   /* build.py since 2026-12-05: the hidden set's 2..4x, q45..75 */
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.4, 2.0, 4.0);
        d->kernel = pfi_rng_unit(r) < 0.8 ? PF_RS_NEAREST : PF_RS_BILINEAR;
        draw_transparent_or_solid(d, r);
        if (pfi_rng_unit(r) < 0.5) d->noise = pfi_rng_range(r, 0.5, 2.0);
        draw_webp(d, r, 45, 75);
        break;
    case PF_DKIND_BG_FIELD:
        d->kernel = PF_RS_BILINEAR;
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.2, 2.5, 8.0);
        d->blur = pfi_rng_range(r, 0.0, 0.15);
        d->noise = pfi_rng_range(r, 0.5, 2.5);
        if (pfi_rng_unit(r) < 0.5) d->gamma = pfi_rng_range(r, 0.95, 1.05);
        d->hold = 2;
        d->hold_max = 3;
        draw_field(d, r);
        draw_h264(d, r, 18, 28);
        d->yuv709 = pfi_rng_unit(r) < 0.5;
        break;
    case PF_DKIND_ENCLOSED:   /* build.py kind_enclosed */
        d->kernel = (pfi_resample_kind)pfi_rng_int(r, 3);
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.2, 2.5, 8.0);
        if (d->kernel != PF_RS_NEAREST) d->blur = pfi_rng_range(r, 0.0, 0.15);
        d->noise = pfi_rng_range(r, 0.0, 2.0);
        draw_solid(d, r, 0.3);
        if (pfi_rng_unit(r) < 0.5) {
            d->hold = 2;
            d->hold_max = 3;
        }
        if (pfi_rng_unit(r) < 0.6) draw_h264(d, r, 18, 28);
        else draw_webp(d, r, 55, 80);
        break;
    case PF_DKIND_MINORITY: {   /* build.py kind_minority_hue */
        const double u = pfi_rng_unit(r);
        d->kernel = (pfi_resample_kind)pfi_rng_int(r, 3);
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.3, 2.0, 7.0);
        d->noise = pfi_rng_range(r, 0.0, 2.0);
        if (u < 0.5) {
            draw_solid(d, r, 0.3);
            draw_h264(d, r, 20, 30);
        } else {
            draw_transparent_or_solid(d, r);
            if (u < 0.8) {
                draw_webp(d, r, 45, 75);
            } else {
                draw_gif(d, r, 0);
                if (d->gif_colors > 128) d->gif_colors = 128;
            }
        }
        break;
    }
    case PF_DKIND_SCENE: {
        /* the clean clip is opaque, so the background is never seen */
        const double u = pfi_rng_unit(r);
        d->kernel = (pfi_resample_kind)pfi_rng_int(r, 3);
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.3, 2.0, 8.0);
        if (d->kernel != PF_RS_NEAREST) d->blur = pfi_rng_range(r, 0.0, 0.15);
        d->noise = pfi_rng_range(r, 0.0, 2.0);
        if (pfi_rng_unit(r) < 0.5) d->gamma = pfi_rng_range(r, 0.95, 1.05);
        draw_solid(d, r, 0.0);
        if (u < 0.45) {
            draw_h264(d, r, 18, 28);
            if (pfi_rng_unit(r) < 0.6) {
                d->hold = 2;
                d->hold_max = 3;
            }
        } else if (u < 0.7) {
            draw_gif(d, r, 0);
            if (d->gif_colors < 64) d->gif_colors = 64;
        } else {
            draw_webp(d, r, 55, 85);
        }
        break;
    }
    case PF_DKIND_BG_BUSY:
        d->kernel = pfi_rng_unit(r) < 0.6 ? PF_RS_NEAREST : PF_RS_BICUBIC;
        d->scale = draw_scale(r, pfi_rng_unit(r) < 0.4, 2.0, 12.0);
        if (d->kernel == PF_RS_BICUBIC) d->blur = pfi_rng_range(r, 0.0, 0.15);
        d->noise = pfi_rng_range(r, 0.0, 2.0);
        if (pfi_rng_unit(r) < 0.5) draw_gradient(d, r);
        else draw_noise_bg(d, r);
        if (pfi_rng_unit(r) < 0.6) draw_h264(d, r, 18, 28);
        else draw_webp(d, r, 65, 85);
        break;
    case PF_DKIND_BENT: {
        /* a video model's pseudo pixel art (../shared/wild/sprited_one_part00.webp):
         * no lattice, only the look of one, bending and wobbling */
        static const double kp[2] = {0.3, 0.7};   /* bilinear bicubic */
        d->scale = draw_scale(r, 0, 4.5, 8.0);
        d->kernel = (pfi_resample_kind)(PF_RS_BILINEAR + pick(r, kp, 2));
        d->blur = pfi_rng_range(r, 0.1, 0.3);
        d->noise = pfi_rng_range(r, 0.5, 3.0);
        d->gamma = pfi_rng_range(r, 0.9, 1.1);
        d->jitter_x = pfi_rng_range(r, 0.1, 0.35);
        d->jitter_y = pfi_rng_range(r, 0.1, 0.35);
        d->hold = 2;
        d->hold_max = 3;
        d->bend = pfi_rng_range(r, 0.10, 0.20);
        for (int a = 0; a < 2; a++)
            for (int m = 0; m < 2; m++) {
                d->bend_lambda[a][m] = pfi_rng_range(r, 0.2, 0.6);   /* x the larger side, at clip time */
                d->bend_dir[a][m] = pfi_rng_range(r, 0.0, TWO_PI);
                d->bend_phase[a][m] = pfi_rng_range(r, 0.0, TWO_PI);
                d->bend_speed[a][m] = pfi_rng_range(r, -0.15, 0.15);
                d->bend_wobble[a][m] = pfi_rng_range(r, 0.0, 0.15);
            }
        if (pfi_rng_unit(r) < 0.8) draw_solid_pale(d, r);
        else draw_gradient(d, r);
        if (pfi_rng_unit(r) < 0.6) {
            draw_h264(d, r, 20, 28);
            d->yuv709 = pfi_rng_unit(r) < 0.5;
        } else {
            draw_webp(d, r, 60, 85);
        }
        break;
    }
    default:
        draw_any(d, r);
        break;
    }
}

void pfi_degrade_draw(pfi_degrade *d, int kind, uint64_t seed)
{
    pfi_rng r;

    PF_ASSERT(d);
    if (kind < 0 || kind >= PF_DKIND_COUNT) kind = PF_DKIND_ANY;
    /* Distinct streams per kind for the same seed. */
    pfi_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(kind + 1)));
    memset(d, 0, sizeof *d);
    d->kernel = PF_RS_NEAREST;
    d->hold = d->hold_max = 1;
    d->gamma = d->exposure = 1.0;
    d->bg = PF_DBG_TRANSPARENT;
    d->bg_stops = 2;
    d->codec = PF_CODEC_NONE;
    d->gif_colors = 256;
    d->gif_bayer_shift = 2;
    d->phase_x = pfi_rng_range(&r, -0.5, 0.5);
    d->phase_y = pfi_rng_range(&r, -0.5, 0.5);
    for (int a = 0; a < 2; a++) {   /* degrade.py's jitter_track */
        d->jit_period[a][0] = pfi_rng_range(&r, 24.0, 64.0);
        d->jit_period[a][1] = pfi_rng_range(&r, 9.0, 20.0);
        d->jit_theta[a][0] = pfi_rng_range(&r, 0.0, TWO_PI);
        d->jit_theta[a][1] = pfi_rng_range(&r, 0.0, TWO_PI);
    }
    d->seed = pfi_rng_u64(&r);
    draw_kind(d, &r, kind);
}

/* ---- validation and geometry ------------------------------------------------ */

static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

/* PF_OK when every field is in its valid range (degrade.h). */
static pf_status check_params(const pfi_degrade *d, const pfi_logger *lg)
{
    const char *bad = NULL;
    int video = d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_MJPEG;

    if (!in_range(d->scale, 1.0, 64.0)) bad = "scale";
    else if (!in_range(d->phase_x, -1.0, 1.0) || !in_range(d->phase_y, -1.0, 1.0)) bad = "phase";
    else if ((int)d->kernel < 0 || d->kernel > PF_RS_LANCZOS3) bad = "kernel";
    else if (!in_range(d->jitter_x, 0.0, 1.0) || !in_range(d->jitter_y, 0.0, 1.0)) bad = "jitter";
    else if (d->hold < 1 || d->hold > 8 || d->hold_max > 8) bad = "hold";
    else if (!in_range(d->bend, 0.0, 0.4)) bad = "bend";
    else if (!in_range(d->blur, 0.0, 2.0)) bad = "blur";
    else if (!in_range(d->noise, 0.0, 64.0)) bad = "noise";
    else if (!in_range(d->gamma, 0.2, 5.0)) bad = "gamma";
    else if (!in_range(d->exposure, 0.2, 5.0)) bad = "exposure";
    else if ((int)d->bg < 0 || d->bg > PF_DBG_FIELD) bad = "background";
    else if (d->bg == PF_DBG_FIELD && (d->field_blobs < 1 || d->field_blobs > PF_DEGRADE_MAX_BLOBS ||
                                       d->field_near < 0 || d->field_near > d->field_blobs))
        bad = "field background";
    else if (d->bg == PF_DBG_GRADIENT && (d->bg_stops < 2 || d->bg_stops > 3)) bad = "bg_stops";
    else if (d->bg == PF_DBG_NOISE && (d->bg_cells < 1 || d->bg_cells > 64 ||
                                       !in_range(d->bg_blotch, 0.0, 1.0) ||
                                       !in_range(d->bg_grain, 0.0, 1.0)))
        bad = "noise background";
    else if (d->bg == PF_DBG_GRADIENT && !isfinite(d->bg_angle)) bad = "bg_angle";
    else if (d->chroma420 < 0 || d->chroma420 > 2) bad = "chroma420";
    else if ((int)d->codec < 0 || d->codec > PF_CODEC_GIF) bad = "codec";
    else if (video && d->bg == PF_DBG_TRANSPARENT) bad = "background (video codecs need an opaque one)";
    else if (d->codec == PF_CODEC_H264 &&
             (d->quality < 0 || d->quality > 51 || d->h264_preset < 0 || d->h264_preset > 2))
        bad = "H.264 quality/preset";
    else if (d->codec == PF_CODEC_MJPEG && (d->quality < 1 || d->quality > 31)) bad = "MJPEG quality";
    else if (d->codec == PF_CODEC_WEBP && (d->quality < 0 || d->quality > 100)) bad = "WebP quality";
    else if (d->codec == PF_CODEC_GIF &&
             (d->gif_colors < 2 || d->gif_colors > 256 || d->gif_dither < 0 ||
              d->gif_dither > PF_GIF_DITHER_FS || d->gif_bayer_shift < 0 || d->gif_bayer_shift > 5))
        bad = "GIF options";
    if (!bad && d->bend > 0.0)
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 2; k++)
                if (!in_range(d->bend_lambda[a][k], 0.05, 100.0) || !isfinite(d->bend_dir[a][k]) ||
                    !isfinite(d->bend_phase[a][k]) || !in_range(d->bend_speed[a][k], -10.0, 10.0) ||
                    !in_range(d->bend_wobble[a][k], 0.0, 0.9))
                    bad = "bend modes";
    if (!bad && d->bg == PF_DBG_FIELD)
        for (int i = 0; i < d->field_blobs; i++)
            if (!in_range(d->field_xy[i][0], -2.0, 3.0) || !in_range(d->field_xy[i][1], -2.0, 3.0) ||
                !in_range(d->field_radius[i], 0.01, 2.0))
                bad = "field blobs";
    if (!bad && (d->jitter_x > 0.0 || d->jitter_y > 0.0))
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 2; k++)
                if (!in_range(d->jit_period[a][k], 1.0, 1e6) || !isfinite(d->jit_theta[a][k]))
                    bad = "jitter period/phase";
    if (bad) {
        pfi_error(lg, "degrade: invalid %s", bad);
        return PF_EINVAL;
    }
    return PF_OK;
}

/* degrade.py's jitter_track at output frame t, native px, |.| <= amp. */
static double jitter_at(const pfi_degrade *d, int axis, int t)
{
    double amp = axis ? d->jitter_y : d->jitter_x;
    if (amp <= 0.0) return 0.0;
    return amp * (0.7 * sin(TWO_PI * t / d->jit_period[axis][0] + d->jit_theta[axis][0]) +
                  0.3 * sin(TWO_PI * t / d->jit_period[axis][1] + d->jit_theta[axis][1]));
}

void pfi_degrade_geom_free(pfi_degrade_geom *g)
{
    if (!g) return;
    free(g->src);
    free(g->ox);
    free(g->oy);
    memset(g, 0, sizeof *g);
}

/* The bend's displacement along `axis` at native-scaled input position
 * (X, Y) in frame t, native px (degrade.h, pfi_degrade.bend). */
static double bend_at(const pfi_degrade *d, int axis, double X, double Y, int t, int side)
{
    double s = 0.0;
    for (int m = 0; m < 2; m++) {
        const double L = d->bend_lambda[axis][m] * side, A = d->bend * L / (2.0 * TWO_PI);
        const double th = d->bend_dir[axis][m], ph = d->bend_phase[axis][m];
        s += A * (1.0 + d->bend_wobble[axis][m] * sin(0.5 * t + ph)) *
             sin(TWO_PI * (X * cos(th) + Y * sin(th)) / L + ph + d->bend_speed[axis][m] * t);
    }
    return s;
}

void pfi_degrade_native_at(const pfi_degrade *d, const pfi_degrade_geom *g, int t, double x,
                          double y, double *u, double *v)
{
    const double X = x / d->scale, Y = y / d->scale;
    const int side = g->native_w > g->native_h ? g->native_w : g->native_h;
    *u = X - g->ox[t];
    *v = Y - g->oy[t];
    if (d->bend > 0.0) {
        *u -= bend_at(d, 0, X, Y, t, side);
        *v -= bend_at(d, 1, X, Y, t, side);
    }
}

/* ---- resampling --------------------------------------------------------------- */

/* Keys (1981) cubic convolution kernel, a = -0.5. */
static double keys_cubic(double t)
{
    const double a = -0.5;
    t = fabs(t);
    if (t <= 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    if (t < 2.0) return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
    return 0.0;
}

static double sinc(double t)
{
    if (fabs(t) < 1e-9) return 1.0;
    t *= 3.141592653589793;
    return sin(t) / t;
}

/* Taps of one kernel at native coordinate u (pixel centres at i + 0.5):
 * weights w[0..n) of native indices *i0 + k. Returns n. */
static int kernel_taps(pfi_resample_kind k, double u, int *i0, double w[6])
{
    double c, f;
    int b;
    if (k == PF_RS_NEAREST) {
        *i0 = (int)floor(u);
        w[0] = 1.0;
        return 1;
    }
    c = u - 0.5;
    b = (int)floor(c);
    f = c - b;
    if (k == PF_RS_BILINEAR) {
        *i0 = b;
        w[0] = 1.0 - f;
        w[1] = f;
        return 2;
    }
    if (k == PF_RS_BICUBIC) {
        *i0 = b - 1;
        for (int j = 0; j < 4; j++) w[j] = keys_cubic(f - (j - 1));
        return 4;
    }
    double s = 0.0;
    *i0 = b - 2;
    for (int j = 0; j < 6; j++) {
        double t = f - (j - 2);
        w[j] = fabs(t) < 3.0 ? sinc(t) * sinc(t / 3.0) : 0.0;
        s += w[j];
    }
    for (int j = 0; j < 6; j++) w[j] /= s;
    return 6;
}

static int kernel_width(pfi_resample_kind k)
{
    return k == PF_RS_NEAREST ? 1 : k == PF_RS_BILINEAR ? 2 : k == PF_RS_BICUBIC ? 4 : 6;
}

/* One axis's weights: output x = sum_k w[x][k] * native[start[x] + k],
 * k < cnt[x]; the Gaussian g (2r+1 taps, output px) folded in, so that
 * out = G * (M * native) with the canvas taken as unbounded. Native
 * indices outside [0, n_in) are dropped (transparent). */
typedef struct axis_taps {
    int stride;      /* weights per output pixel */
    int *start, *cnt;/* (n_out) */
    float *w;        /* (n_out, stride) */
    double *acc;     /* (stride) scratch */
} axis_taps;

static pf_status axis_alloc(axis_taps *t, int n_out, pfi_resample_kind k, double s, int r)
{
    t->stride = kernel_width(k) + (int)ceil(2.0 * r / s) + 2;
    t->start = pfi_malloc4((size_t)n_out, sizeof *t->start, 1, 1);
    t->cnt = pfi_malloc4((size_t)n_out, sizeof *t->cnt, 1, 1);
    t->w = pfi_malloc4((size_t)n_out, (size_t)t->stride, sizeof *t->w, 1);
    t->acc = pfi_malloc4((size_t)t->stride, sizeof *t->acc, 1, 1);
    return t->start && t->cnt && t->w && t->acc ? PF_OK : PF_ENOMEM;
}

static void axis_free(axis_taps *t)
{
    free(t->start);
    free(t->cnt);
    free(t->w);
    free(t->acc);
    memset(t, 0, sizeof *t);
}

static void axis_build(axis_taps *t, int n_out, int n_in, double s, double o,
                       pfi_resample_kind k, const double *g, int r)
{
    for (int x = 0; x < n_out; x++) {
        double tw[6];
        int base, i0, nt, lo, hi;
        kernel_taps(k, (x - r + 0.5) / s - o, &base, tw);
        memset(t->acc, 0, (size_t)t->stride * sizeof *t->acc);
        for (int d = -r; d <= r; d++) {
            nt = kernel_taps(k, (x + d + 0.5) / s - o, &i0, tw);
            PF_ASSERT(i0 >= base && i0 - base + nt <= t->stride);
            for (int j = 0; j < nt; j++) t->acc[i0 - base + j] += g[d + r] * tw[j];
        }
        lo = base < 0 ? 0 : base;
        hi = base + t->stride > n_in ? n_in : base + t->stride;   /* exclusive */
        while (lo < hi && t->acc[lo - base] == 0.0) lo++;
        while (hi > lo && t->acc[hi - 1 - base] == 0.0) hi--;
        t->start[x] = lo;
        t->cnt[x] = hi - lo;
        for (int j = lo; j < hi; j++) t->w[(size_t)x * (size_t)t->stride + (size_t)(j - lo)] =
            (float)t->acc[j - base];
    }
}

/* Discrete Gaussian of sigma output px, normalised: g (2r+1); r = 0 (a unit
 * impulse) below sigma 0.05 as degrade.py's gaussian_blur. */
static int gauss_taps(double sigma, double *g, int rmax)
{
    int r;
    double s = 0.0;
    if (sigma < 0.05) {
        g[0] = 1.0;
        return 0;
    }
    r = (int)ceil(3.0 * sigma);
    if (r < 1) r = 1;
    if (r > rmax) r = rmax;
    for (int i = -r; i <= r; i++) s += g[i + r] = exp(-0.5 * (i / sigma) * (i / sigma));
    for (int i = 0; i < 2 * r + 1; i++) g[i] /= s;
    return r;
}

/* pm (h, w, 4) premultiplied native -> out (H, W, 4): horizontal pass into
 * tmp (h, W, 4), then vertical. Float, 0..255 units. */
static void resample(const float *pm, int w, int h, const axis_taps *tx, const axis_taps *ty,
                     float *tmp, float *out, int W, int H)
{
    for (int y = 0; y < h; y++) {
        const float *src = pm + (size_t)y * (size_t)w * 4;
        float *dst = tmp + (size_t)y * (size_t)W * 4;
        for (int x = 0; x < W; x++) {
            const float *wt = tx->w + (size_t)x * (size_t)tx->stride;
            const float *p = src + (size_t)tx->start[x] * 4;
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int k = 0; k < tx->cnt[x]; k++, p += 4) {
                a0 += wt[k] * p[0];
                a1 += wt[k] * p[1];
                a2 += wt[k] * p[2];
                a3 += wt[k] * p[3];
            }
            dst[(size_t)x * 4 + 0] = a0;
            dst[(size_t)x * 4 + 1] = a1;
            dst[(size_t)x * 4 + 2] = a2;
            dst[(size_t)x * 4 + 3] = a3;
        }
    }
    for (int y = 0; y < H; y++) {
        float *dst = out + (size_t)y * (size_t)W * 4;
        const float *wt = ty->w + (size_t)y * (size_t)ty->stride;
        size_t n = (size_t)W * 4;
        memset(dst, 0, n * sizeof *dst);
        for (int k = 0; k < ty->cnt[y]; k++) {
            const float *src = tmp + (size_t)(ty->start[y] + k) * n;
            float wk = wt[k];
            for (size_t i = 0; i < n; i++) dst[i] += wk * src[i];
        }
    }
}

/* pm (h, w, 4) premultiplied native -> out (H, W, 4) along frame t's bent
 * lattice: every output pixel takes the kernel's taps around its own
 * native coordinate (not separable). Native pixels outside the clip are
 * transparent. */
static void resample_bent(const float *pm, int w, int h, const pfi_degrade *d,
                          const pfi_degrade_geom *g, int t, float *out, int W, int H)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double u, v, wu[6], wv[6];
            int iu, iv;
            float acc[4] = {0, 0, 0, 0};
            pfi_degrade_native_at(d, g, t, x + 0.5, y + 0.5, &u, &v);
            const int nu = kernel_taps(d->kernel, u, &iu, wu), nv = kernel_taps(d->kernel, v, &iv, wv);
            for (int j = 0; j < nv; j++) {
                if (iv + j < 0 || iv + j >= h) continue;
                const float *row = pm + (size_t)(iv + j) * (size_t)w * 4;
                for (int i = 0; i < nu; i++) {
                    if (iu + i < 0 || iu + i >= w) continue;
                    const float wt = (float)(wu[i] * wv[j]);
                    const float *p = row + (size_t)(iu + i) * 4;
                    for (int c = 0; c < 4; c++) acc[c] += wt * p[c];
                }
            }
            memcpy(out + ((size_t)y * W + x) * 4, acc, sizeof acc);
        }
}

/* Clips the resampled premultiplied image (bicubic and Lanczos overshoot):
 * alpha to 0..255, colour to 0..alpha, as degrade.py's render_sprite. */
static void clip_premul(float *img, size_t npx)
{
    for (size_t i = 0; i < npx; i++) {
        float *p = img + i * 4;
        p[3] = pfi_clampf(p[3], 0.0f, 255.0f);
        for (int c = 0; c < 3; c++) p[c] = pfi_clampf(p[c], 0.0f, p[3]);
    }
}

/* Separable Gaussian (2r+1 taps) of (H, W, 4) floats with replicated
 * edges (degrade.py's gaussian_blur); tmp holds (H, W, 4). */
static void blur_rgba(float *img, int W, int H, const double *g, int r, float *tmp)
{
    const size_t row = (size_t)W * 4;
    float gf[2 * 64 + 1];
    for (int k = 0; k <= 2 * r; k++) gf[k] = (float)g[k];
    for (int y = 0; y < H; y++) {
        const float *src = img + (size_t)y * row;
        float *dst = tmp + (size_t)y * row;
        for (int x = 0; x < W; x++) {
            float a[4] = {0, 0, 0, 0};
            for (int k = -r; k <= r; k++) {
                const float *p = src + (size_t)pfi_clampi(x + k, 0, W - 1) * 4;
                for (int c = 0; c < 4; c++) a[c] += gf[k + r] * p[c];
            }
            memcpy(dst + (size_t)x * 4, a, sizeof a);
        }
    }
    for (int y = 0; y < H; y++) {
        float *dst = img + (size_t)y * row;
        memset(dst, 0, row * sizeof *dst);
        for (int k = -r; k <= r; k++) {
            const float *src = tmp + (size_t)pfi_clampi(y + k, 0, H - 1) * row;
            for (size_t i = 0; i < row; i++) dst[i] += gf[k + r] * src[i];
        }
    }
}

/* ---- backgrounds ------------------------------------------------------------- */

/* A standard normal from one 64-bit draw: four 16-bit uniforms summed
 * (Irwin-Hall, unit variance, |z| < 3.47). Cheap enough for per-pixel
 * noise; close enough to Gaussian for training data. */
static inline float fast_normal(pfi_rng *r)
{
    uint64_t v = pfi_rng_u64(r);
    uint32_t s = (uint32_t)(v & 0xffff) + (uint32_t)((v >> 16) & 0xffff) +
                 (uint32_t)((v >> 32) & 0xffff) + (uint32_t)(v >> 48);
    return ((float)s + 2.0f) * (1.0f / 65536.0f) * 1.7320508f - 2.0f * 1.7320508f;
}

/* Separable Gaussian of (h, w, 3) floats with replicated edges, in place
 * (degrade.py's gaussian_blur); scratch holds max(w, h) * 3 floats. */
static void blur_rgb(float *img, int w, int h, const double *g, int r, float *scratch)
{
    for (int y = 0; y < h; y++) {
        float *row = img + (size_t)y * (size_t)w * 3;
        memcpy(scratch, row, (size_t)w * 3 * sizeof *row);
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double a = 0.0;
                for (int k = -r; k <= r; k++)
                    a += g[k + r] * scratch[(size_t)pfi_clampi(x + k, 0, w - 1) * 3 + (size_t)c];
                row[(size_t)x * 3 + (size_t)c] = (float)a;
            }
    }
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++)
            memcpy(scratch + (size_t)y * 3, img + ((size_t)y * (size_t)w + (size_t)x) * 3,
                   3 * sizeof *scratch);
        for (int y = 0; y < h; y++)
            for (int c = 0; c < 3; c++) {
                double a = 0.0;
                for (int k = -r; k <= r; k++)
                    a += g[k + r] * scratch[(size_t)pfi_clampi(y + k, 0, h - 1) * 3 + (size_t)c];
                img[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = (float)a;
            }
    }
}

/* The background (H, W, 3), 0..255 floats (degrade.py bg_solid /
 * bg_gradient / bg_noise). degrade.py blurs after compositing; here the
 * static layer is blurred once instead, which gives the same picture away
 * from sprite edges: only the noise background needs it (a blur leaves a
 * solid colour, and a linear ramp away from its stops, as they are).
 * Errors: PF_ENOMEM. */
static pf_status make_background(const pfi_degrade *d, int W, int H, const double *g, int r,
                                 float *bg)
{
    size_t n = (size_t)W * (size_t)H;
    if (d->bg == PF_DBG_SOLID) {
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) bg[i * 3 + (size_t)c] = d->bg_rgb[0][c];
        return PF_OK;   /* a blur leaves a constant image as it is */
    }
    if (d->bg == PF_DBG_GRADIENT) {
        double ca = cos(d->bg_angle * TWO_PI / 360.0), sa = sin(d->bg_angle * TWO_PI / 360.0);
        double tmin = 1e300, tmax = -1e300;
        int ns = d->bg_stops;
        for (int cy = 0; cy < 2; cy++)     /* t is linear: extremes at the corners */
            for (int cx = 0; cx < 2; cx++) {
                double t = cx * (W - 1) * ca + cy * (H - 1) * sa;
                if (t < tmin) tmin = t;
                if (t > tmax) tmax = t;
            }
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double t = (x * ca + y * sa - tmin) / fmax(tmax - tmin, 1e-9);
                double pos = t * (ns - 1);
                int k = (int)floor(pos);
                if (k > ns - 2) k = ns - 2;
                if (k < 0) k = 0;
                double f = pos - k;
                float *p = bg + ((size_t)y * (size_t)W + (size_t)x) * 3;
                for (int c = 0; c < 3; c++)
                    p[c] = (float)(d->bg_rgb[k][c] * (1.0 - f) + d->bg_rgb[k + 1][c] * f);
            }
        return PF_OK;   /* a symmetric blur leaves a linear ramp as it is (but at stops) */
    } else if (d->bg == PF_DBG_FIELD) {
        /* each pixel mixes the blob colours with weights exp(-d_i^2 / (2 r_i^2)),
         * normalised (in log space: far from every blob the nearest still wins) */
        const double diag = hypot(W, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double lw[PF_DEGRADE_MAX_BLOBS], mx = -1e300, sw = 0.0, acc[3] = {0, 0, 0};
                for (int i = 0; i < d->field_blobs; i++) {
                    const double dx = x + 0.5 - d->field_xy[i][0] * W, dy = y + 0.5 - d->field_xy[i][1] * H,
                                 rr = d->field_radius[i] * diag;
                    lw[i] = -(dx * dx + dy * dy) / (2.0 * rr * rr);
                    if (lw[i] > mx) mx = lw[i];
                }
                for (int i = 0; i < d->field_blobs; i++) {
                    const double wgt = exp(lw[i] - mx);
                    sw += wgt;
                    for (int c = 0; c < 3; c++) acc[c] += wgt * d->field_rgb[i][c];
                }
                float *p = bg + ((size_t)y * (size_t)W + (size_t)x) * 3;
                for (int c = 0; c < 3; c++) p[c] = (float)(acc[c] / sw);
            }
    } else {
        int cells = d->bg_cells;
        double *grid = pfi_malloc4((size_t)cells + 1, (size_t)cells + 1, 3, sizeof(double));
        pfi_rng rr;
        if (!grid) return PF_ENOMEM;
        pfi_rng_seed(&rr, d->seed ^ 0x5eedull);
        for (int i = 0; i < (cells + 1) * (cells + 1) * 3; i++)
            grid[i] = pfi_rng_normal(&rr) * d->bg_blotch;
        for (int y = 0; y < H; y++) {
            double gy = H > 1 ? (double)y * cells / (H - 1) : 0.0;
            int y0 = pfi_clampi((int)floor(gy), 0, cells - 1);
            double fy = gy - y0;
            for (int x = 0; x < W; x++) {
                double gx = W > 1 ? (double)x * cells / (W - 1) : 0.0;
                int x0 = pfi_clampi((int)floor(gx), 0, cells - 1);
                double fx = gx - x0;
                float *p = bg + ((size_t)y * (size_t)W + (size_t)x) * 3;
                for (int c = 0; c < 3; c++) {
                    const double *g00 = grid + ((size_t)y0 * (size_t)(cells + 1) + (size_t)x0) * 3;
                    const double *g10 = g00 + (size_t)(cells + 1) * 3;
                    double sm = (1 - fy) * ((1 - fx) * g00[c] + fx * g00[3 + c]) +
                                fy * ((1 - fx) * g10[c] + fx * g10[3 + c]);
                    double v = d->bg_rgb[0][c] / 255.0 + sm + d->bg_grain * fast_normal(&rr);
                    p[c] = (float)(255.0 * (v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v));
                }
            }
        }
        free(grid);
    }
    if (r > 0) {
        float *scratch = pfi_malloc4((size_t)(W > H ? W : H), 3, sizeof(float), 1);
        if (!scratch) return PF_ENOMEM;
        blur_rgb(bg, W, H, g, r, scratch);
        free(scratch);
    }
    return PF_OK;
}

/* Replaces the colours of blobs 0..field_near-1 by that of a random opaque
 * pixel of `f` (w x h RGBA8) moved 0.03..0.1 OKLab in a random direction,
 * so the field matches the sprite somewhere. No opaque pixel: unchanged. */
static void field_near_colours(pfi_degrade *d, const pfi_frame *f, int w, int h)
{
    pfi_rng r;
    pfi_rng_seed(&r, d->seed ^ 0xf1e1dull);
    const size_t npx = (size_t)w * (size_t)h;
    for (int i = 0; i < d->field_near; i++) {
        size_t at = npx;
        for (int tries = 0; tries < 64 && at == npx; tries++) {
            const size_t k = (size_t)pfi_rng_int(&r, (int)(npx < INT_MAX ? npx : INT_MAX));
            if (f->rgba[k * 4 + 3] >= 128) at = k;
        }
        if (at == npx) return;
        float lab[3];
        pfi_srgb8_to_oklab(f->rgba + at * 4, lab);
        const double dist = pfi_rng_range(&r, 0.03, 0.1), th = pfi_rng_range(&r, 0.0, TWO_PI),
                     ph = pfi_rng_range(&r, -1.0, 1.0);   /* a direction: lightness share ph */
        lab[0] += (float)(dist * ph);
        lab[1] += (float)(dist * sqrt(1.0 - ph * ph) * cos(th));
        lab[2] += (float)(dist * sqrt(1.0 - ph * ph) * sin(th));
        pfi_oklab_to_srgb8(lab, d->field_rgb[i]);
    }
}

/* ---- one frame ------------------------------------------------------------------ */

/* Clean RGBA8 (h, w, 4) -> premultiplied floats, colour * alpha / 255. */
static void premultiply(const uint8_t *rgba, size_t npx, float *pm)
{
    for (size_t i = 0; i < npx; i++) {
        float a = rgba[i * 4 + 3];
        for (int c = 0; c < 3; c++) pm[i * 4 + (size_t)c] = (float)rgba[i * 4 + (size_t)c] * a / 255.0f;
        pm[i * 4 + 3] = a;
    }
}

/* Tone curve v -> min(1, v * exposure)^gamma sampled at TONE_LUT + 1
 * points of 0..1, in 0..255 units. */
static void tone_lut(float *lut, double gamma, double exposure)
{
    for (int i = 0; i <= TONE_LUT; i++) {
        double v = (double)i / TONE_LUT * exposure;
        lut[i] = (float)(255.0 * pow(v > 1.0 ? 1.0 : v, gamma));
    }
}

static inline float tone(const float *lut, float v)
{
    float p = v * ((float)TONE_LUT / 255.0f);
    int i;
    if (p <= 0.0f) return lut[0];
    if (p >= (float)TONE_LUT) return lut[TONE_LUT];
    i = (int)p;
    return lut[i] + (p - (float)i) * (lut[i + 1] - lut[i]);
}

/* Resampled premultiplied (H, W, 4) -> RGBA8: clip (bicubic and Lanczos
 * overshoot), composite over bg (NULL = keep alpha), tone, noise. */
static void finish_frame(const float *img, const float *bg, int W, int H, const float *lut,
                         float noise, pfi_rng *rn, uint8_t *out)
{
    size_t n = (size_t)W * (size_t)H;
    for (size_t i = 0; i < n; i++) {
        const float *p = img + i * 4;
        uint8_t *o = out + i * 4;
        float a = pfi_clampf(p[3], 0.0f, 255.0f), rgb[3];
        int a8 = (int)(a + 0.5f);
        if (bg) {
            float keep = 1.0f - a / 255.0f;
            for (int c = 0; c < 3; c++) rgb[c] = pfi_clampf(p[c], 0.0f, a) + keep * bg[i * 3 + (size_t)c];
            a8 = 255;
        } else {
            if (!a8) {
                o[0] = o[1] = o[2] = o[3] = 0;
                continue;
            }
            for (int c = 0; c < 3; c++) rgb[c] = pfi_clampf(p[c], 0.0f, a) * 255.0f / a;
        }
        for (int c = 0; c < 3; c++) {
            float v = lut ? tone(lut, rgb[c]) : rgb[c];
            if (noise > 0.0f) v += noise * fast_normal(rn);
            o[c] = (uint8_t)(pfi_clampf(v, 0.0f, 255.0f) + 0.5f);
        }
        o[3] = (uint8_t)a8;
    }
}

/* ---- the clip ------------------------------------------------------------------- */

/* 24 fps frame i's duration, rounded on the pts (build.py mp4_durations). */
static int video_ms(int i)
{
    return (int)(lround(1000.0 * (i + 1) / 24.0) - lround(1000.0 * i / 24.0));
}

/* The timeline: each clean frame held hold..hold_max output frames (g->src),
 * and each output frame's sub-pixel offset (g->ox, g->oy). */
static pf_status make_timeline(const pfi_degrade *d, const pfi_anim *clean, pfi_degrade_geom *g)
{
    const int hmax = d->hold_max > d->hold ? d->hold_max : d->hold;
    const size_t cap = (size_t)clean->count * (size_t)hmax;
    pfi_rng rn;
    int n = 0;
    pfi_rng_seed(&rn, d->seed ^ 0x401dull);
    g->src = pfi_malloc4(cap, sizeof *g->src, 1, 1);
    g->ox = pfi_malloc4(cap, sizeof *g->ox, 1, 1);
    g->oy = pfi_malloc4(cap, sizeof *g->oy, 1, 1);
    if (!g->src || !g->ox || !g->oy) return PF_ENOMEM;
    for (int k = 0; k < clean->count; k++) {
        int reps = d->hold + (hmax > d->hold ? pfi_rng_int(&rn, hmax - d->hold + 1) : 0);
        for (int j = 0; j < reps; j++) g->src[n++] = k;
    }
    g->n = n;
    g->native_w = clean->width;
    g->native_h = clean->height;
    for (int t = 0; t < n; t++) {
        g->ox[t] = d->phase_x + jitter_at(d, 0, t);
        g->oy[t] = d->phase_y + jitter_at(d, 1, t);
    }
    return PF_OK;
}

/* The 4:2:0 chroma and the codec of d, in place on n RGBA8 frames of W x H. */
static pf_status codec_round_trip(const pfi_degrade *d, uint8_t *frames, int n, int W, int H,
                                  const pfi_logger *lg)
{
    pf_status st;
    if (d->chroma420 &&
        (st = pfi_codec_chroma420(frames, n, W, H, PF_YUV_BT601, d->chroma420 == 1)) < 0)
        return st;
    switch (d->codec) {
    case PF_CODEC_H264:
        return pfi_codec_h264(frames, n, W, H, d->quality, d->h264_preset,
                              d->yuv709 ? PF_YUV_BT709 : PF_YUV_BT601, lg);
    case PF_CODEC_MJPEG: return pfi_codec_mjpeg(frames, n, W, H, d->quality, lg);
    case PF_CODEC_WEBP: return pfi_codec_webp(frames, n, W, H, d->quality, d->bg == PF_DBG_TRANSPARENT, lg);
    case PF_CODEC_GIF:
        return pfi_codec_gif(frames, n, W, H, d->gif_colors, (pfi_gif_dither)d->gif_dither,
                             d->gif_bayer_shift, d->gif_per_frame);
    default: return PF_OK;
    }
}

pf_status pfi_degrade_clip(const pfi_degrade *d, const pfi_anim *clean, pfi_anim *out,
                          pfi_degrade_geom *geom, const pfi_logger *lg)
{
    pfi_degrade_geom g = {0};
    axis_taps tx = {0}, ty = {0};
    float *pm = NULL, *tmp = NULL, *img = NULL, *bg = NULL, *lut = NULL, *bbuf = NULL;
    uint8_t *frames = NULL;
    double gk[2 * 64 + 1];
    const double unit = 1.0;
    int w, h, W, H, n = 0, r, rf, rp, held, last_src = -1;
    size_t fb;
    pfi_rng rn;
    pf_status st;

    PF_ASSERT(out);
    memset(out, 0, sizeof *out);
    if (geom) memset(geom, 0, sizeof *geom);
    /* up to 8 output frames per clean one, counted in int */
    if (!d || !clean || !clean->frames || clean->count <= 0 || clean->count > INT_MAX / 8)
        return PF_EINVAL;
    if ((st = check_params(d, lg)) < 0) return st;
    w = clean->width;
    h = clean->height;
    if (w <= 0 || h <= 0 || w > PF_DEGRADE_MAX_NATIVE || h > PF_DEGRADE_MAX_NATIVE) {
        pfi_error(lg, "degrade: clean clip %dx%d, limit %d a side", w, h, PF_DEGRADE_MAX_NATIVE);
        return PF_EINVAL;
    }
    for (int i = 0; i < clean->count; i++)
        if (!clean->frames[i].rgba) return PF_EINVAL;
    W = (int)nearbyint(w * d->scale);   /* halves to even, as Python's round() in build.py */
    H = (int)nearbyint(h * d->scale);
    if (d->codec == PF_CODEC_H264 || d->codec == PF_CODEC_MJPEG) {   /* 4:2:0 video */
        W += W & 1;
        H += H & 1;
    }
    if (W < 1 || H < 1 || W > PF_DEGRADE_MAX_CANVAS || H > PF_DEGRADE_MAX_CANVAS) {
        pfi_error(lg, "degrade: canvas %dx%d, limit %d a side", W, H, PF_DEGRADE_MAX_CANVAS);
        return PF_EINVAL;
    }
    held = d->hold > 1 || d->hold_max > 1;

    if ((st = make_timeline(d, clean, &g)) < 0) goto fail;
    n = g.n;
    g.in_w = W;
    g.in_h = H;

    /* The blur: for nearest and bilinear (weights >= 0, nothing to clip)
     * folded into the resampling weights (rf), which costs next to
     * nothing; after resampling and clipping for bicubic and Lanczos (rp),
     * as degrade.py does it. */
    r = gauss_taps(d->blur * d->scale, gk, 64);
    rf = (d->kernel == PF_RS_NEAREST || d->kernel == PF_RS_BILINEAR) && d->bend == 0.0 ? r : 0;
    rp = r - rf;
    if (!pfi_mul4_size(&fb, (size_t)W, (size_t)H, 4, 1) ||
        (st = axis_alloc(&tx, W, d->kernel, d->scale, rf)) < 0 ||
        (st = axis_alloc(&ty, H, d->kernel, d->scale, rf)) < 0) {
        st = st < 0 ? st : PF_EINVAL;
        goto fail;
    }
    pm = pfi_malloc4((size_t)w, (size_t)h, 4, sizeof *pm);
    tmp = pfi_malloc4((size_t)W, (size_t)h, 4, sizeof *tmp);
    img = pfi_malloc4((size_t)W, (size_t)H, 4, sizeof *img);
    frames = pfi_malloc4(fb, (size_t)n, 1, 1);
    if (rp) bbuf = pfi_malloc4((size_t)W, (size_t)H, 4, sizeof *bbuf);
    if (!pm || !tmp || !img || !frames || (rp && !bbuf)) {
        st = PF_ENOMEM;
        goto fail;
    }
    if (d->bg != PF_DBG_TRANSPARENT) {
        if (!(bg = pfi_malloc4((size_t)W, (size_t)H, 3, sizeof *bg))) {
            st = PF_ENOMEM;
            goto fail;
        }
        pfi_degrade dd = *d;
        if (d->bg == PF_DBG_FIELD) field_near_colours(&dd, &clean->frames[0], w, h);
        if ((st = make_background(&dd, W, H, gk, r, bg)) < 0) goto fail;
    }
    if (d->gamma != 1.0 || d->exposure != 1.0) {
        if (!(lut = malloc((TONE_LUT + 1) * sizeof *lut))) {
            st = PF_ENOMEM;
            goto fail;
        }
        tone_lut(lut, d->gamma, d->exposure);
    }

    pfi_rng_seed(&rn, d->seed ^ 0x7015eull);
    for (int t = 0; t < n; t++) {
        if (g.src[t] != last_src) {
            last_src = g.src[t];
            premultiply(clean->frames[last_src].rgba, (size_t)w * (size_t)h, pm);
        }
        if (d->bend > 0.0) {
            resample_bent(pm, w, h, d, &g, t, img, W, H);
        } else {
            axis_build(&tx, W, w, d->scale, g.ox[t], d->kernel, rf ? gk : &unit, rf);
            axis_build(&ty, H, h, d->scale, g.oy[t], d->kernel, rf ? gk : &unit, rf);
            resample(pm, w, h, &tx, &ty, tmp, img, W, H);
        }
        if (rp) {
            clip_premul(img, (size_t)W * (size_t)H);
            blur_rgba(img, W, H, gk, rp, bbuf);
        }
        finish_frame(img, bg, W, H, lut, (float)d->noise, &rn, frames + (size_t)t * fb);
    }

    if ((st = codec_round_trip(d, frames, n, W, H, lg)) < 0) goto fail;

    if ((st = pfi_anim_init(out, W, H)) < 0) goto fail;
    out->loop = clean->loop;
    for (int t = 0; t < n; t++) {
        int ms = held ? video_ms(t) : clean->frames[g.src[t]].duration_ms;
        if ((st = pfi_anim_push(out, frames + (size_t)t * fb, ms > 0 ? ms : 1)) < 0) goto fail;
    }
    if (geom) *geom = g;
    else pfi_degrade_geom_free(&g);
    g = (pfi_degrade_geom){0};
    st = PF_OK;
    goto done;
fail:
    pfi_anim_free(out);
    pfi_degrade_geom_free(&g);
done:
    axis_free(&tx);
    axis_free(&ty);
    free(pm);
    free(tmp);
    free(img);
    free(bg);
    free(lut);
    free(bbuf);
    free(frames);
    return st;
}
