/*
 * degrade.h - the training degradation pipeline: turns a clean native-
 * resolution RGBA clip into what users feed pixelfix (upscaled at a
 * non-integer scale and random phase, resampled, jittered, held, blurred,
 * noisy, gamma-shifted, over a background, chroma-subsampled and through a
 * real codec), on the fly, in memory and deterministically from a seed.
 * It mirrors the evaluation set's renderer (tests/evalset/degrade.py,
 * build.py, README.md "Geometry" and "Degradation kinds").
 * Not a data loader or a cropper, and not linked into the filter.
 *
 * Geometry (as tests/evalset/README.md): native pixel j covers input
 * pixels [(j + o) * s, (j + 1 + o) * s), s = scale (input px per native
 * px), o = phase + that frame's jitter (native px). Input pixel x samples
 * the native image at u = (x + 0.5) / s - o; outside the native image
 * everything is transparent.
 *
 * Order of operations per output frame (degrade.py's compose_frame):
 * premultiplied separable resampling (float) -> clip the overshoot ->
 * Gaussian blur at output resolution (sigma = blur * scale input px; for
 * nearest and bilinear, whose weights need no clipping, folded into the
 * resampling weights instead) -> composite over the background -> exposure,
 * gamma -> noise -> 8-bit; then for the whole clip: the 4:2:0 chroma round
 * trip, then the codec round trip. With a transparent or solid background
 * and no noise this matches degrade.py's compose_frame within 1 level
 * (checked for nearest / bilinear / bicubic, blur 0..0.3). The static
 * background is blurred once on its own, which equals blurring the
 * composite except, for gradient and noise backgrounds, right at sprite
 * edges.
 */
#ifndef PF_TRAIN_DEGRADE_H
#define PF_TRAIN_DEGRADE_H

#include <stdint.h>

#include "io/io.h"

#define PF_DEGRADE_MAX_NATIVE 128   /* clean clip side limit, native px */
#define PF_DEGRADE_MAX_CANVAS 1024  /* input canvas side limit, px */

typedef enum pfi_resample_kind {
    PF_RS_NEAREST = 0,
    PF_RS_BILINEAR = 1,
    PF_RS_BICUBIC = 2,   /* Keys (1981) cubic convolution, a = -0.5 */
    PF_RS_LANCZOS3 = 3   /* sinc(t) sinc(t/3), |t| < 3, taps normalised to sum 1 */
} pfi_resample_kind;

typedef enum pfi_dbg_kind {
    PF_DBG_TRANSPARENT = 0, /* no background: the output keeps (soft) alpha */
    PF_DBG_SOLID = 1,       /* bg_rgb[0] */
    PF_DBG_GRADIENT = 2,    /* linear through bg_stops colours bg_rgb[0..], along bg_angle */
    PF_DBG_NOISE = 3,       /* bg_rgb[0] + smooth colour blotches + grain */
    PF_DBG_FIELD = 4        /* no plane: field_blobs colour blobs mixed with normalised
                               Gaussian weights (tests/evalset/degrade.py bg_field), static */
} pfi_dbg_kind;

#define PF_DEGRADE_MAX_BLOBS 8

typedef enum pfi_codec_kind {
    PF_CODEC_NONE = 0,
    PF_CODEC_H264 = 1,   /* libx264 yuv420p CRF `quality`, then the h264 decoder */
    PF_CODEC_MJPEG = 2,  /* libavcodec mjpeg yuvj420p, qscale `quality` */
    PF_CODEC_WEBP = 3,   /* libwebp lossy per frame at quality `quality` */
    PF_CODEC_GIF = 4     /* palette quantisation + dither (what a GIF stores) */
} pfi_codec_kind;

/* Families of parameters for pfi_degrade_draw. 1..11 are evaluation-set
 * kinds (tests/evalset/README.md) with build.py's ranges, so training can
 * report per kind (GIF also covers gif_bilinear_dither); ANY draws over
 * the full ranges below. */
enum {
    PF_DKIND_ANY = 0,
    PF_DKIND_GIF = 1,           /* "gif_dither" */
    PF_DKIND_H264_NEAREST = 2,  /* "h264_nearest" */
    PF_DKIND_H264_SMOOTH = 3,   /* "h264_smooth" */
    PF_DKIND_VIDEO_MODEL = 4,   /* "video_model" */
    PF_DKIND_WEBP = 5,          /* "webp_lossy" */
    PF_DKIND_BG_BUSY = 6,       /* "bg_busy" */
    PF_DKIND_BENT = 7,          /* "video_bent": a bent, wobbling lattice (issue 13) */
    PF_DKIND_BG_FIELD = 8,      /* "bg_field": a busy background that is no plane */
    PF_DKIND_SCENE = 9,         /* "opaque_scene": parameters for a fully opaque clean clip
                                   (the caller composes the scene: train/sample.c) */
    PF_DKIND_ENCLOSED = 10,     /* "enclosed": background pockets (the caller draws a line
                                   behind the sprite that encloses them: train/sample.c) */
    PF_DKIND_MINORITY = 11,     /* "minority_hue": a small distinct hue (the caller recolours
                                   a few per cent of the sprite: train/sample.c) */
    PF_DKIND_COUNT = 12
};

/* One clip's degradation. pfi_degrade_draw fills every field within the
 * ranges given here; a caller may also set fields by hand (pfi_degrade_clip
 * validates them against the "valid" ranges). */
typedef struct pfi_degrade {
    /* geometry */
    double scale;            /* input px per native px; drawn 2..12, valid 1..64 */
    double phase_x, phase_y; /* grid origin offset, native px; drawn [-0.5, 0.5), valid |.| <= 1 */
    pfi_resample_kind kernel;
    double jitter_x, jitter_y;  /* jitter amplitude per axis, native px, 0..0.35 (valid 0..1):
                                   output frame t is offset by (x axis; y likewise with [1])
                                   jitter_x * (0.7 sin(2 pi t / jit_period[0][0] + jit_theta[0][0])
                                             + 0.3 sin(2 pi t / jit_period[0][1] + jit_theta[0][1])),
                                   a smooth drift, |.| <= jitter_x (degrade.py jitter_track) */
    double jit_period[2][2]; /* [axis x/y][sine]: periods in output frames, 24..64 and 9..20 */
    double jit_theta[2][2];  /* [axis][sine]: phases, radians 0..2 pi */
    double bend;             /* bent lattice: the largest local cell-size deviation,
                                drawn 0.10..0.20 for video_bent, else 0; valid 0..0.4.
                                The native coordinate of input px (x, y) is then
                                u = (x + 0.5) / s - o_x(t) - D_x(X, Y, t) with X = (x + 0.5) / s,
                                Y = (y + 0.5) / s (v likewise with D_y), and
                                D_a = sum over the 2 modes m of A_m (1 + bend_wobble[a][m]
                                sin(0.5 t + bend_phase[a][m])) sin(2 pi (X cos th + Y sin th) /
                                L_m + bend_phase[a][m] + bend_speed[a][m] t),
                                th = bend_dir[a][m], L_m = bend_lambda[a][m] times the larger
                                native side, A_m = bend L_m / (4 pi): each mode stretches
                                cells by at most bend / 2 */
    double bend_lambda[2][2];/* [axis][mode] wavelength over the larger native side, 0.2..0.6
                                (the wild clip's cell size changes within 100-200 px) */
    double bend_dir[2][2];   /* direction of the mode's wave, radians */
    double bend_phase[2][2]; /* radians */
    double bend_speed[2][2]; /* radians per output frame, -0.15..0.15 */
    double bend_wobble[2][2];/* relative amplitude wobble, 0..0.15 */
    int hold, hold_max;      /* each clean frame is shown k output frames, k uniform in
                                [hold, max(hold, hold_max)]; drawn 1..3, valid 1..8 */
    /* image */
    double blur;             /* Gaussian sigma, native px; drawn 0..0.3, valid 0..2;
                                applied as sigma * scale input px (radius 3 sigma, at most
                                64 px), off below 0.05 input px */
    double noise;            /* additive Gaussian sigma, 0..255 units; drawn 0..6, valid 0..64 */
    double gamma;            /* v -> v^gamma on 0..1; drawn 0.9..1.1, valid 0.2..5 */
    double exposure;         /* gain before gamma, v -> min(1, v * exposure); drawn
                                0.85..1.15, valid 0.2..5 */
    /* background */
    pfi_dbg_kind bg;
    int bg_stops;            /* gradient colours, 2 or 3 */
    uint8_t bg_rgb[3][3];    /* solid: [0]; gradient: [0..bg_stops-1]; noise: [0] is the base */
    double bg_angle;         /* gradient direction, degrees 0..360 (0 = left to right) */
    double bg_blotch;        /* noise bg: blotch sigma, 0..1 units, 0.05..0.2 */
    double bg_grain;         /* noise bg: grain sigma, 0..1 units, 0.01..0.06 */
    int bg_cells;            /* noise bg: blotch grid cells per side, 3..11 */
    int field_blobs;         /* field bg: blobs, drawn 4..8, valid 1..PF_DEGRADE_MAX_BLOBS */
    double field_xy[PF_DEGRADE_MAX_BLOBS][2];  /* blob centres, share of the canvas side,
                                                  drawn -0.1..1.1 (past the edges too) */
    double field_radius[PF_DEGRADE_MAX_BLOBS]; /* Gaussian radius, share of the canvas
                                                  diagonal, drawn 0.08..0.3 */
    uint8_t field_rgb[PF_DEGRADE_MAX_BLOBS][3];
    int field_near;          /* field bg: blobs 0..field_near-1 take, at clip time, a colour
                                0.03..0.1 OKLab from an opaque pixel of the first clean frame
                                (a field that matches the sprite somewhere); drawn 1..2 */
    /* chroma and codec */
    int chroma420;           /* 4:2:0 round trip before the codec: 0 off, 1 BT.601 full
                                range, 2 BT.601 limited range */
    pfi_codec_kind codec;     /* H264 and MJPEG need an opaque background */
    int quality;             /* H264: CRF 18..32; MJPEG: qscale 2..12; WebP: 50..90 */
    int h264_preset;         /* 0 ultrafast, 1 superfast, 2 veryfast */
    int yuv709;              /* H264: BT.709 matrix instead of BT.601 (both TV range) */
    int gif_colors;          /* GIF: palette entries incl. the transparent one, 2..256
                                (drawn 16, 32, 64, 128 or 256) */
    int gif_dither;          /* GIF: pfi_gif_dither (codec.h): 0 none, 1 Bayer 4x4,
                                2 Bayer 8x8, 3 Floyd-Steinberg */
    int gif_bayer_shift;     /* GIF ordered dither amplitude +-(32 >> shift) levels, 1..3 */
    int gif_per_frame;       /* GIF: 1 = a palette per frame, 0 = one for the clip */
    uint64_t seed;           /* noise, noise background, hold counts */
} pfi_degrade;

/* Per output frame geometry. in_w x in_h is the input canvas (px). */
typedef struct pfi_degrade_geom {
    int n;             /* output frames */
    int native_w, native_h; /* the clean clip's W x H */
    int in_w, in_h;    /* round(W * s) x round(H * s) (halves to even, as build.py's
                          Python round), +1 to even for H264/MJPEG */
    int *src;          /* (n) index of the clean frame shown */
    double *ox, *oy;   /* (n) origin o = phase + jitter, native px: native pixel j
                          covers input px [(j + ox) * s, (j + 1 + ox) * s) */
} pfi_degrade_geom;

/* Fills *d from seed for the family `kind` (PF_DKIND_*; an unknown kind is
 * taken as PF_DKIND_ANY). Deterministic: the same (kind, seed) gives the
 * same parameters on every platform. Backgrounds are paired with codecs:
 * H264 / MJPEG always get an opaque one; WebP / GIF / none any.
 * Full ranges (ANY): scale 2..12 (non-integer, at least 0.1 from an
 * integer, or an integer), every kernel, jitter 0..0.35, hold 1..3, blur
 * 0..0.3, noise 0..6, gamma 0.9..1.1, exposure 0.85..1.15, every
 * background (magenta in about a third of solids), chroma420 on about a
 * quarter of codec-free / GIF / WebP clips, codec H264 CRF 18..32 /
 * MJPEG q 2..12 / WebP 50..90 / GIF / none. The evaluation kinds use
 * tests/evalset/build.py's ranges (see draw_kind in degrade.c); bg_field's
 * blobs are static (build.py drifts them in 60%), and opaque_scene, enclosed
 * and minority_hue draw only the degradation: the caller composes the clean
 * clip. */
void pfi_degrade_draw(pfi_degrade *d, int kind, uint64_t seed);

/* Degrades `clean` (native W x H <= PF_DEGRADE_MAX_NATIVE a side, RGBA8,
 * binary alpha expected but any alpha works: resampling is premultiplied)
 * into *out: RGBA8 (n, in_h, in_w, 4), n = the sum of the hold counts.
 * Opaque backgrounds give alpha 255 everywhere; a transparent one keeps
 * the resampled alpha (RGB 0 where alpha is 0; GIF makes it 1-bit).
 * Durations: without holds (hold = hold_max = 1) each output frame keeps
 * its clean frame's duration; with holds the clip is 24 fps video, frame i
 * lasting round(1000 (i+1) / 24) - round(1000 i / 24) ms (42/41/42...),
 * as the evaluation set's held clips. out->loop = clean->loop.
 * *out is overwritten (free with pfi_anim_free); geom (may be NULL) gets
 * the per-frame geometry (free with pfi_degrade_geom_free). Both are left
 * empty on failure. lg may be NULL.
 * Errors: PF_EINVAL (a parameter outside its valid range, a transparent
 * background with H264 / MJPEG, an empty clip or missing frame, a clean
 * side over PF_DEGRADE_MAX_NATIVE, a canvas side over
 * PF_DEGRADE_MAX_CANVAS), PF_ENOMEM, PF_EINTERNAL (a codec failed, see
 * codec.h). Not thread-hostile: no global state besides lowering
 * libav's log level (as src/io does). */
pf_status pfi_degrade_clip(const pfi_degrade *d, const pfi_anim *clean, pfi_anim *out,
                          pfi_degrade_geom *geom, const pfi_logger *lg);

/* Frees the arrays and zeroes *g; NULL and zeroed are fine. */
void pfi_degrade_geom_free(pfi_degrade_geom *g);

/* The native coordinate (u, v) of input position (x, y) (px, pixel centres
 * at i + 0.5) in output frame t of a clip made by pfi_degrade_clip with d
 * and geometry g: native pixel j covers u in [j, j + 1). Straight lattices
 * (bend 0) give u = x / s - ox[t]; bent ones subtract the displacement
 * described at pfi_degrade.bend. */
void pfi_degrade_native_at(const pfi_degrade *d, const pfi_degrade_geom *g, int t, double x,
                          double y, double *u, double *v);

/* "any", "gif_dither", "h264_nearest", "h264_smooth", "video_model",
 * "webp_lossy", "bg_busy", "video_bent"; "unknown" for other values. */
const char *pfi_degrade_kind_name(int kind);

#endif /* PF_TRAIN_DEGRADE_H */
