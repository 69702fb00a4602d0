/*
 * writer_video.c - H.264 video through libavformat/libavcodec (FFmpeg 5.1,
 * libx264) and swscale: frames alpha-composited over a background colour,
 * nearest-upscaled so that pixel edges survive chroma subsampling, padded
 * to even sizes for yuv420p, pts in ms (time base 1/1000, so durations stay
 * exact). The container (mp4/mov/mkv/m4v) comes from the final name; the
 * bytes go to the pf_outfile temp path. Not a general transcoder.
 */
#include "encode.h"

#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#define VIDEO_AUTO_MIN_H 256     /* auto upscale: smallest integer making h >= this */
#define VIDEO_AUTO_MAX_W 4096    /* ... but not wider than this */
#define VIDEO_MAX_SIDE 16384     /* larger frames are refused */
#define VIDEO_CRF "18"
#define VIDEO_PRESET "medium"

/* libav's convention (negative AVERROR = failure), turned into a pf_status
 * in this one place. */
static pf_status av_check(int r, const char *what, const pf_logger *lg)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    if (r >= 0) return PF_OK;
    av_make_error_string(msg, sizeof msg, r);
    pf_error(lg, "video encoding failed (%s): %s", what, msg);
    return r == AVERROR(ENOMEM) ? PF_ENOMEM : PF_EOUTPUT;
}

/* The nearest-upscale factor: o->upscale, or the smallest integer making
 * the height >= VIDEO_AUTO_MIN_H while the width stays <= VIDEO_AUTO_MAX_W. */
static int pick_scale(int w, int h, int upscale)
{
    int s;
    if (upscale > 0) return upscale;
    s = (VIDEO_AUTO_MIN_H + h - 1) / h;
    if ((int64_t)w * s > VIDEO_AUTO_MAX_W) s = VIDEO_AUTO_MAX_W / w;
    return s < 1 ? 1 : s;
}

/* One frame (h, w, 4) -> rgb (H, W, 3): composite over bg, upscale by s
 * (nearest), pad the right/bottom edge with bg up to W x H. */
static void compose_rgb(uint8_t *rgb, int W, int H, const uint8_t *rgba, int w, int h, int s,
                        const uint8_t bg[3])
{
    size_t row = (size_t)W * 3;
    for (int y = 0; y < h; y++) {
        uint8_t *dst = rgb + (size_t)y * (size_t)s * row;
        const uint8_t *p = rgba + (size_t)y * (size_t)w * 4;
        int x = 0;
        for (int sx = 0; sx < w; sx++, p += 4) {
            uint8_t c[3];
            for (int k = 0; k < 3; k++)
                c[k] = (uint8_t)((p[k] * p[3] + bg[k] * (255 - p[3]) + 127) / 255);
            for (int r = 0; r < s; r++, x++) memcpy(dst + (size_t)x * 3, c, 3);
        }
        for (; x < W; x++) memcpy(dst + (size_t)x * 3, bg, 3);
        for (int r = 1; r < s; r++) memcpy(dst + (size_t)r * row, dst, row);
    }
    for (int y = h * s; y < H; y++)
        for (int x = 0; x < W; x++) memcpy(rgb + (size_t)y * row + (size_t)x * 3, bg, 3);
}

typedef struct video_enc {
    AVFormatContext *oc;
    AVCodecContext *cc;
    AVStream *st;
    AVPacket *pkt;
    const int64_t *pts;      /* (n) frame start times, ms, ascending */
    const pf_anim *a;
} video_enc;

/* Duration of the frame that started at pts, ms (0 if unknown). */
static int64_t duration_at(const video_enc *v, int64_t pts)
{
    int lo = 0, hi = v->a->count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (v->pts[mid] == pts) return v->a->frames[mid].duration_ms;
        if (v->pts[mid] < pts) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

/* Moves every packet the encoder has ready into the muxer. */
static pf_status drain(video_enc *v, const pf_logger *lg)
{
    int r;
    while ((r = avcodec_receive_packet(v->cc, v->pkt)) >= 0) {
        v->pkt->duration = duration_at(v, v->pkt->pts);
        av_packet_rescale_ts(v->pkt, v->cc->time_base, v->st->time_base);
        v->pkt->stream_index = v->st->index;
        r = av_interleaved_write_frame(v->oc, v->pkt);   /* unrefs pkt */
        if (r < 0) return av_check(r, "write", lg);
    }
    return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? PF_OK : av_check(r, "encode", lg);
}

/* a (count, H, W, 4) RGBA8 -> H.264 yuv420p video at path, atomically:
 * frames upscaled by o->upscale (0 = auto), padded to even sizes, composited
 * over o->bg_rgb (NULL = black), pts = running sum of durations (ms, time
 * base 1/1000), crf 18, preset medium. Errors: PF_EINVAL (unknown container,
 * frames > 16384 pixels a side), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM.
 * Source: FFmpeg 5.1 doc/examples/mux.c and the libavcodec send/receive API. */
pf_status pf_write_video(const char *path, const pf_anim *a,
                         const pf_write_opts *o, const pf_logger *lg)
{
    static const uint8_t black[3] = {0, 0, 0};
    pf_outfile of = {.fd = -1};
    video_enc v = {0};
    const AVOutputFormat *fmt;
    const AVCodec *codec;
    AVDictionary *copts = NULL, *mopts = NULL;
    struct SwsContext *sws = NULL;
    AVFrame *frame = NULL;
    uint8_t *rgb = NULL;
    int64_t *pts = NULL, total = 0;
    int s, W, H;
    const uint8_t *bg = o && o->bg_rgb ? o->bg_rgb : black;
    pf_status st;

    if (!path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pf_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    if (o && o->upscale < 0) return PF_EINVAL;
    s = pick_scale(a->width, a->height, o ? o->upscale : 0);
    if ((int64_t)a->width * s > VIDEO_MAX_SIDE || (int64_t)a->height * s > VIDEO_MAX_SIDE) {
        pf_error(lg, "video frames would be %lldx%lld, more than %d pixels a side; lower --upscale",
                 (long long)a->width * s, (long long)a->height * s, VIDEO_MAX_SIDE);
        return PF_EINVAL;
    }
    W = a->width * s;
    H = a->height * s;
    W += W & 1;   /* yuv420p needs even sizes */
    H += H & 1;

    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    if (!(fmt = av_guess_format(NULL, path, NULL)) ||
        avformat_query_codec(fmt, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) != 1) {
        pf_error(lg, "no H.264 container for '%s': use .mp4, .mov, .mkv or .m4v", path);
        return PF_EINVAL;
    }
    if (!(codec = avcodec_find_encoder_by_name("libx264"))) {
        pf_error(lg, "this FFmpeg has no libx264 encoder");
        return PF_EOUTPUT;
    }

    /* Frame start times; checks durations on the way. */
    if (!(pts = pf_malloc4((size_t)a->count, sizeof *pts, 1, 1)) ||
        !(rgb = pf_malloc4((size_t)W, (size_t)H, 3, 1))) {
        st = PF_ENOMEM;
        goto fail;
    }
    for (int f = 0; f < a->count; f++) {
        if (!a->frames[f].rgba || a->frames[f].duration_ms <= 0) {
            pf_error(lg, "frame %d has no pixels or a duration <= 0", f);
            st = PF_EINVAL;
            goto fail;
        }
        pts[f] = total;
        total += a->frames[f].duration_ms;
    }
    v.pts = pts;
    v.a = a;

    if ((st = pf_outfile_open(&of, path, o ? o->force : 0, lg)) < 0) goto fail;
    /* Format from the final name, bytes to the temp path (also the url that
     * mov's +faststart pass reads back). */
    if ((st = av_check(avformat_alloc_output_context2(&v.oc, fmt, NULL, of.tmp_path),
                       "container", lg)) < 0)
        goto fail;
    if (!(v.st = avformat_new_stream(v.oc, NULL)) || !(v.cc = avcodec_alloc_context3(codec)) ||
        !(v.pkt = av_packet_alloc()) || !(frame = av_frame_alloc())) {
        st = PF_ENOMEM;
        goto fail;
    }
    v.cc->width = W;
    v.cc->height = H;
    v.cc->pix_fmt = AV_PIX_FMT_YUV420P;
    v.cc->time_base = (AVRational){1, 1000};
    v.cc->framerate = av_d2q(1000.0 * a->count / (double)total, 100000);
    v.cc->sample_aspect_ratio = (AVRational){1, 1};
    v.cc->color_range = AVCOL_RANGE_MPEG;
    v.cc->colorspace = AVCOL_SPC_BT709;
    v.cc->color_primaries = AVCOL_PRI_BT709;
    v.cc->color_trc = AVCOL_TRC_BT709;
    if (v.oc->oformat->flags & AVFMT_GLOBALHEADER) v.cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_dict_set(&copts, "crf", VIDEO_CRF, 0);
    av_dict_set(&copts, "preset", VIDEO_PRESET, 0);
    if ((st = av_check(avcodec_open2(v.cc, codec, &copts), "open libx264", lg)) < 0) goto fail;
    if ((st = av_check(avcodec_parameters_from_context(v.st->codecpar, v.cc), "stream", lg)) < 0)
        goto fail;
    v.st->time_base = v.cc->time_base;
    v.st->avg_frame_rate = v.cc->framerate;
    v.st->sample_aspect_ratio = v.cc->sample_aspect_ratio;

    if (!(fmt->flags & AVFMT_NOFILE) &&
        (st = av_check(avio_open(&v.oc->pb, of.tmp_path, AVIO_FLAG_WRITE), "open", lg)) < 0)
        goto fail;
    if (!strcmp(fmt->name, "mp4") || !strcmp(fmt->name, "mov") || !strcmp(fmt->name, "ipod"))
        av_dict_set(&mopts, "movflags", "+faststart", 0);
    if ((st = av_check(avformat_write_header(v.oc, &mopts), "header", lg)) < 0) goto fail;

    if (!(sws = sws_getContext(W, H, AV_PIX_FMT_RGB24, W, H, AV_PIX_FMT_YUV420P,
                               SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL))) {
        st = PF_ENOMEM;
        goto fail;
    }
    /* Full-range RGB in, limited-range BT.709 YUV out, as tagged above. */
    sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_ITU709), 1,
                             sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = W;
    frame->height = H;
    if ((st = av_check(av_frame_get_buffer(frame, 0), "frame", lg)) < 0) goto fail;

    for (int f = 0; f < a->count; f++) {
        const uint8_t *src[1] = {rgb};
        int stride[1] = {W * 3};
        compose_rgb(rgb, W, H, a->frames[f].rgba, a->width, a->height, s, bg);
        if ((st = av_check(av_frame_make_writable(frame), "frame", lg)) < 0) goto fail;
        sws_scale(sws, src, stride, 0, H, frame->data, frame->linesize);
        frame->pts = pts[f];
        if ((st = av_check(avcodec_send_frame(v.cc, frame), "encode", lg)) < 0 ||
            (st = drain(&v, lg)) < 0)
            goto fail;
    }
    if ((st = av_check(avcodec_send_frame(v.cc, NULL), "flush", lg)) < 0 ||
        (st = drain(&v, lg)) < 0)
        goto fail;
    if ((st = av_check(av_write_trailer(v.oc), "trailer", lg)) < 0) goto fail;
    /* avio_close does not report earlier buffered write errors; pb->error does. */
    if (v.oc->pb) {
        avio_flush(v.oc->pb);
        if ((st = av_check(v.oc->pb->error, "write", lg)) < 0) goto fail;
    }
    if (!(fmt->flags & AVFMT_NOFILE) &&
        (st = av_check(avio_closep(&v.oc->pb), "close", lg)) < 0)
        goto fail;
    if ((st = pf_outfile_close(&of, lg)) < 0) goto fail;
    st = PF_OK;
    goto done;
fail:
    pf_outfile_abort(&of);
done:
    if (v.oc && !(v.oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&v.oc->pb);
    avformat_free_context(v.oc);
    avcodec_free_context(&v.cc);
    av_packet_free(&v.pkt);
    av_frame_free(&frame);
    sws_freeContext(sws);
    av_dict_free(&copts);
    av_dict_free(&mopts);
    free(rgb);
    free(pts);
    return st;
}
