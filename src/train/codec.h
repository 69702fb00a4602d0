/*
 * codec.h - in-memory lossy round trips of whole RGBA8 clips for the
 * training degradations (degrade.h): RGB <-> Y'CbCr 4:2:0, H.264 through
 * libavcodec's libx264 encoder + h264 decoder, MJPEG through libavcodec,
 * lossy WebP through libwebp, and GIF-style palette quantisation with
 * dithering (our own median cut). No files, no containers; every function
 * rewrites the frames in place. Not a media writer (src/io does that).
 *
 * Frames: `rgba` is (n, h, w, 4) uint8, non-premultiplied, rows top to
 * bottom, frame after frame with no padding.
 */
#ifndef PF_TRAIN_CODEC_H
#define PF_TRAIN_CODEC_H

#include <stdint.h>

#include "base/common.h"

/* Y'CbCr matrices (ITU-R BT.601 / BT.709 luma coefficients). */
typedef enum pfi_yuv_matrix { PF_YUV_BT601 = 0, PF_YUV_BT709 = 1 } pfi_yuv_matrix;

/* GIF dithering (see pfi_codec_gif). */
typedef enum pfi_gif_dither {
    PF_GIF_DITHER_NONE = 0,   /* nearest palette colour */
    PF_GIF_DITHER_BAYER4 = 1, /* ordered, 4x4 Bayer threshold matrix */
    PF_GIF_DITHER_BAYER8 = 2, /* ordered, 8x8 Bayer threshold matrix */
    PF_GIF_DITHER_FS = 3      /* Floyd-Steinberg error diffusion, raster order */
} pfi_gif_dither;

/* RGB -> Y'CbCr 4:2:0 -> RGB in place (alpha untouched): chroma is the
 * 2x2 box mean (centre sited, as JPEG/JFIF), stored as 8-bit, and comes
 * back by bilinear interpolation; luma is quantised to 8 bits too.
 * full_range: 1 = JFIF 0..255, 0 = "TV" range (Y' 16..235, C 16..240).
 * Any w, h >= 1 (odd edges use the pixels that exist). Errors: PF_EINVAL,
 * PF_ENOMEM. Source: ITU-R BT.601-7 / BT.709-6, JFIF 1.02. */
pf_status pfi_codec_chroma420(uint8_t *rgba, int n, int w, int h, pfi_yuv_matrix m,
                             int full_range);

/* H.264 round trip: every frame to yuv420p ("TV" range, matrix m), encoded
 * by libx264 (CRF crf 0..51, preset 0 ultrafast / 1 superfast /
 * 2 veryfast, one thread, 24 fps), every packet decoded again by the h264
 * decoder (one thread); both are flushed so all n frames come back, in
 * order, and are written back as RGB with alpha 255. w and h must be even.
 * Errors: PF_EINVAL (bad sizes or options), PF_ENOMEM, PF_EINTERNAL (no
 * libx264 / h264 decoder in this FFmpeg, an encode or decode failure, a
 * frame count or size mismatch). Deterministic for a given libx264 build.
 * Source: FFmpeg 5.1 doc/examples/encode_video.c and decode_video.c. */
pf_status pfi_codec_h264(uint8_t *rgba, int n, int w, int h, int crf, int preset,
                        pfi_yuv_matrix m, const pfi_logger *lg);

/* MJPEG round trip: yuvj420p (full-range BT.601, JFIF) at fixed quantiser
 * qscale 1..31 (lower = better), one JPEG per frame through libavcodec's
 * mjpeg encoder and decoder; alpha set to 255. w and h must be even.
 * Errors: PF_EINVAL, PF_ENOMEM, PF_EINTERNAL (codec missing or failing). */
pf_status pfi_codec_mjpeg(uint8_t *rgba, int n, int w, int h, int qscale, const pfi_logger *lg);

/* Lossy WebP round trip per frame through libwebp (VP8 4:2:0 at quality
 * 0..100, method 4 as WebPEncodeRGBA; alpha, when a frame has any
 * alpha < 255, stored losslessly). keep_alpha = 0 forces alpha 255
 * first (opaque clips). Pixels that come back with alpha 0 get RGB 0.
 * Errors: PF_EINVAL, PF_ENOMEM, PF_EINTERNAL (encode/decode failure).
 * Source: libwebp 1.2 encode.h / decode.h. */
pf_status pfi_codec_webp(uint8_t *rgba, int n, int w, int h, int quality, int keep_alpha,
                        const pfi_logger *lg);

/* GIF-style quantisation, what a GIF stores: alpha made 1-bit (>= 128
 * opaque), then at most `colors` (2..256) palette entries per frame,
 * counting the one transparent index that is reserved when any pixel
 * under the palette is transparent. Palette by median cut over a 5-5-5
 * histogram (Heckbert 1982), entry = mean colour of its box; one palette
 * for the whole clip (per_frame = 0, like ffmpeg palettegen stats_mode
 * full) or one per frame (per_frame = 1). Mapping is the exact nearest
 * entry in RGB (locally sorted search), after the dither: ordered Bayer
 * with amplitude +-(32 >> bayer_shift) levels (bayer_shift 0..5, as
 * ffmpeg paletteuse bayer_scale) or Floyd-Steinberg (1975) errors in
 * raster order. Transparent pixels become (0, 0, 0, 0), opaque ones the
 * palette RGB with alpha 255. Errors: PF_EINVAL, PF_ENOMEM. */
pf_status pfi_codec_gif(uint8_t *rgba, int n, int w, int h, int colors, pfi_gif_dither dither,
                       int bayer_shift, int per_frame);

#endif /* PF_TRAIN_CODEC_H */
