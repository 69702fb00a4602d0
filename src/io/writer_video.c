/*
 * writer_video.c - H.264 video through libavformat/libavcodec (FFmpeg 5.1,
 * libx264) and swscale: frames alpha-composited over a background colour,
 * nearest-upscaled so that pixel edges survive chroma subsampling, padded
 * to even sizes for yuv420p, pts in ms (time base 1/1000, so durations stay
 * exact). Streaming: each pushed frame is encoded at once, so only one
 * composed frame is held here (libx264 keeps its own lookahead). The
 * container (mp4/mov/mkv/m4v) comes from the final name; the bytes go to the
 * pfi_outfile temp path. Not a general transcoder.
 */
#include "io/encode.h"

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

/* Video encoding's libav calls: a failure is the output's. */
static pf_status av_check(int r, const char *step, const pfi_logger *lg)
{
    return pfi_av_status(r, PF_EOUTPUT, "video encoding", step, lg);
}

/* The nearest-upscale factor: o->upscale, or the smallest integer making
 * the height >= VIDEO_AUTO_MIN_H while the width stays <= VIDEO_AUTO_MAX_W. */
static int pick_scale(int w, int h, int upscale)
{
    int s;
    if (upscale > 0) return upscale;
    if (h >= VIDEO_AUTO_MIN_H) return 1;
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

/* A frame sent to the encoder and not yet out as a packet: packets come in
 * decode order, so their durations are looked up by pts. */
typedef struct pending_frame {
    int64_t pts;   /* ms */
    int duration;  /* ms */
} pending_frame;

struct pfi_video_stream {
    pfi_outfile of;
    pfi_logger lg;
    const pfi_logger *lgp;      /* &lg, or NULL when the caller gave none */
    const AVOutputFormat *fmt;
    const AVCodec *codec;
    AVFormatContext *oc;
    AVCodecContext *cc;
    AVStream *st;
    AVPacket *pkt;
    AVPacket *held;            /* the latest packet, written when the next comes */
    int have_held;
    int mov;                   /* mp4/mov muxer: see drain() */
    int64_t first_dts;         /* of the first packet, ms (negative with B-frames) */
    int have_first_dts;
    AVFrame *frame;            /* yuv420p (H, W) */
    struct SwsContext *sws;
    uint8_t *rgb;              /* (H, W, 3) composed frame */
    const uint8_t *bg;         /* o->bg_rgb, read at each push; NULL = black */
    int w, h, s, W, H;         /* native size, scale, coded (even) size, pixels */
    double fps_hint;           /* <= 0: from the first frame */
    int started;               /* encoder opened and header written */
    int64_t next_pts;          /* ms, running sum of pushed durations */
    pending_frame *pending;    /* (npending) frames inside the encoder */
    int npending, cap_pending;
    pf_status err;             /* first failure; sticky */
};

/* Remembers a frame's duration until its packet comes out. Errors: PF_ENOMEM. */
static pf_status pending_add(pfi_video_stream *v, int64_t pts, int duration)
{
    if (v->npending == v->cap_pending) {
        int ncap = v->cap_pending ? v->cap_pending * 2 : 64;
        pending_frame *np;
        if (v->cap_pending > (1 << 24)) return PF_ENOMEM;
        np = pfi_malloc4((size_t)ncap, sizeof *np, 1, 1);
        if (!np) return PF_ENOMEM;
        if (v->npending) memcpy(np, v->pending, (size_t)v->npending * sizeof *np);
        free(v->pending);
        v->pending = np;
        v->cap_pending = ncap;
    }
    v->pending[v->npending++] = (pending_frame){pts, duration};
    return PF_OK;
}

/* Duration of the frame that started at pts, ms (0 if unknown), forgotten
 * then. The list is as long as the encoder's delay, so a scan is cheap. */
static int64_t pending_take(pfi_video_stream *v, int64_t pts)
{
    for (int i = 0; i < v->npending; i++) {
        if (v->pending[i].pts == pts) {
            int d = v->pending[i].duration;
            v->pending[i] = v->pending[--v->npending];
            return d;
        }
    }
    return 0;
}

/* Muxes the held packet (its times in ms). */
static pf_status write_held(pfi_video_stream *v)
{
    int r;
    v->have_held = 0;
    av_packet_rescale_ts(v->held, v->cc->time_base, v->st->time_base);
    v->held->stream_index = v->st->index;
    r = av_interleaved_write_frame(v->oc, v->held);   /* unrefs held */
    return r < 0 ? av_check(r, "write", v->lgp) : PF_OK;
}

/* Moves every packet the encoder has ready into the muxer, one packet
 * behind, so that the last one can be amended once the encoder is flushed
 * (last = 1): FFmpeg 5.1's mov muxer makes the track (and its edit) last
 * from the first packet's dts to the last packet's dts plus its duration,
 * and with B-frames that packet is not the last frame shown, so its
 * duration is set for the track to end at the clip's end (next_pts).
 * Matroska takes the maximum of pts + duration, which is right as is. */
static pf_status drain(pfi_video_stream *v, int last)
{
    pf_status st;
    int r;
    while ((r = avcodec_receive_packet(v->cc, v->pkt)) >= 0) {
        v->pkt->duration = pending_take(v, v->pkt->pts);
        if (!v->have_first_dts) {
            v->first_dts = v->pkt->dts;
            v->have_first_dts = 1;
        }
        if (v->have_held && (st = write_held(v)) < 0) return st;
        av_packet_move_ref(v->held, v->pkt);
        v->have_held = 1;
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) return av_check(r, "encode", v->lgp);
    if (!last || !v->have_held) return PF_OK;
    if (v->mov && v->held->dts != AV_NOPTS_VALUE && v->first_dts != AV_NOPTS_VALUE &&
        v->next_pts + v->first_dts > v->held->dts)
        v->held->duration = v->next_pts + v->first_dts - v->held->dts;
    return write_held(v);
}

/* Checks the size and the container, finds libx264, creates the temp file
 * and allocates everything frame-sized; the encoder itself opens at the
 * first push (its frame rate may come from that frame). o->threads becomes
 * libx264's thread count (0 = its automatic choice, 1 = no worker threads).
 * Errors: PF_EINVAL (size, upscale, threads, no H.264 container),
 * PF_EEXIST, PF_EOUTPUT (no libx264, folder not writable), PF_ENOMEM.
 * Source: FFmpeg 5.1 doc/examples/mux.c. */
pf_status pfi_video_stream_open(pfi_video_stream **out, const char *path, int width, int height,
                               double fps_hint, const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_video_stream *v;
    pf_status st;
    size_t rgb_bytes;

    PF_ASSERT(out);
    *out = NULL;
    if (!(v = calloc(1, sizeof *v))) return PF_ENOMEM;
    v->of.fd = -1;
    if (lg) {
        v->lg = *lg;
        v->lgp = &v->lg;
    }
    lg = v->lgp;
    v->bg = o ? o->bg_rgb : NULL;
    v->fps_hint = fps_hint;
    v->w = width;
    v->h = height;
    if (!path || width <= 0 || height <= 0 || (o && (o->upscale < 0 || o->threads < 0))) {
        st = PF_EINVAL;
        goto fail;
    }
    v->s = pick_scale(width, height, o ? o->upscale : 0);
    if ((int64_t)width * v->s > VIDEO_MAX_SIDE || (int64_t)height * v->s > VIDEO_MAX_SIDE) {
        pfi_error(lg, "video frames would be %lldx%lld, more than %d pixels a side; lower --upscale",
                 (long long)width * v->s, (long long)height * v->s, VIDEO_MAX_SIDE);
        st = PF_EINVAL;
        goto fail;
    }
    v->W = width * v->s;
    v->H = height * v->s;
    v->W += v->W & 1;   /* yuv420p needs even sizes */
    v->H += v->H & 1;

    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    if (!(v->fmt = av_guess_format(NULL, path, NULL)) ||
        avformat_query_codec(v->fmt, AV_CODEC_ID_H264, FF_COMPLIANCE_NORMAL) != 1) {
        pfi_error(lg, "no H.264 container for '%s': use .mp4, .mov, .mkv or .m4v", path);
        st = PF_EINVAL;
        goto fail;
    }
    if (!(v->codec = avcodec_find_encoder_by_name("libx264"))) {
        pfi_error(lg, "this FFmpeg has no libx264 encoder");
        st = PF_EOUTPUT;
        goto fail;
    }
    /* Slack past the end: swscale's SIMD input reads whole vectors beyond
     * the last pixel (valgrind: 16-byte reads 0 bytes after the block). */
    if (!pfi_mul4_size(&rgb_bytes, (size_t)v->W, (size_t)v->H, 3, 1) ||
        !pfi_add_size(&rgb_bytes, rgb_bytes, 64) || !(v->rgb = malloc(rgb_bytes))) {
        st = PF_ENOMEM;
        goto fail;
    }

    if ((st = pfi_outfile_open(&v->of, path, o ? o->force : 0, lg)) < 0) goto fail;
    /* Format from the final name, bytes to the temp path (also the url that
     * mov's +faststart pass reads back). */
    if ((st = av_check(avformat_alloc_output_context2(&v->oc, v->fmt, NULL, v->of.tmp_path),
                       "container", lg)) < 0)
        goto fail;
    if (!(v->st = avformat_new_stream(v->oc, NULL)) ||
        !(v->cc = avcodec_alloc_context3(v->codec)) || !(v->pkt = av_packet_alloc()) ||
        !(v->held = av_packet_alloc()) ||
        !(v->frame = av_frame_alloc())) {
        st = PF_ENOMEM;
        goto fail;
    }
    v->cc->width = v->W;
    v->cc->height = v->H;
    v->cc->pix_fmt = AV_PIX_FMT_YUV420P;
    v->cc->time_base = (AVRational){1, 1000};
    v->cc->sample_aspect_ratio = (AVRational){1, 1};
    v->cc->color_range = AVCOL_RANGE_MPEG;
    v->cc->colorspace = AVCOL_SPC_BT709;
    v->cc->color_primaries = AVCOL_PRI_BT709;
    v->cc->color_trc = AVCOL_TRC_BT709;
    v->cc->thread_count = o ? o->threads : 0;   /* libx264: 0 = auto */
    if (v->oc->oformat->flags & AVFMT_GLOBALHEADER) v->cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!(v->fmt->flags & AVFMT_NOFILE) &&
        (st = av_check(avio_open(&v->oc->pb, v->of.tmp_path, AVIO_FLAG_WRITE), "open", lg)) < 0)
        goto fail;

    if (!(v->sws = sws_getContext(v->W, v->H, AV_PIX_FMT_RGB24, v->W, v->H, AV_PIX_FMT_YUV420P,
                                  SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL))) {
        st = PF_ENOMEM;
        goto fail;
    }
    /* Full-range RGB in, limited-range BT.709 YUV out, as tagged above. */
    sws_setColorspaceDetails(v->sws, sws_getCoefficients(SWS_CS_ITU709), 1,
                             sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
    v->frame->format = AV_PIX_FMT_YUV420P;
    v->frame->width = v->W;
    v->frame->height = v->H;
    if ((st = av_check(av_frame_get_buffer(v->frame, 0), "frame", lg)) < 0) goto fail;
    *out = v;
    return PF_OK;
fail:
    pfi_video_stream_close(v, 0);
    return st;
}

/* Opens libx264 (crf 18, preset medium) with the frame rate from the hint
 * or the first frame's duration, and writes the container header. */
static pf_status start(pfi_video_stream *v, int first_ms)
{
    AVDictionary *copts = NULL, *mopts = NULL;
    const char *name = v->fmt->name;
    double fps = v->fps_hint > 0 ? v->fps_hint : 1000.0 / first_ms;
    pf_status st;

    v->cc->framerate = av_d2q(fps, 100000);
    av_dict_set(&copts, "crf", VIDEO_CRF, 0);
    av_dict_set(&copts, "preset", VIDEO_PRESET, 0);
    if ((st = av_check(avcodec_open2(v->cc, v->codec, &copts), "open libx264", v->lgp)) < 0 ||
        (st = av_check(avcodec_parameters_from_context(v->st->codecpar, v->cc), "stream",
                       v->lgp)) < 0)
        goto done;
    v->st->time_base = v->cc->time_base;
    v->st->avg_frame_rate = v->cc->framerate;
    v->st->sample_aspect_ratio = v->cc->sample_aspect_ratio;
    v->mov = !strcmp(name, "mp4") || !strcmp(name, "mov") || !strcmp(name, "ipod");
    if (v->mov) av_dict_set(&mopts, "movflags", "+faststart", 0);
    if ((st = av_check(avformat_write_header(v->oc, &mopts), "header", v->lgp)) < 0) goto done;
    v->started = 1;
done:
    av_dict_free(&copts);
    av_dict_free(&mopts);
    return st;
}

/* One RGBA8 (h, w, 4) frame: composited over bg, upscaled, converted to
 * yuv420p and sent to the encoder at pts = sum of earlier durations (ms).
 * Errors: PF_EINVAL (NULL rgba, duration <= 0; not sticky), PF_EOUTPUT,
 * PF_ENOMEM (sticky: later pushes and the commit repeat them). */
pf_status pfi_video_stream_push(pfi_video_stream *v, const uint8_t *rgba, int duration_ms)
{
    static const uint8_t black[3] = {0, 0, 0};
    const uint8_t *src[1];
    int stride[1];
    pf_status st;

    PF_ASSERT(v);
    if (v->err < 0) return v->err;
    if (!rgba || duration_ms <= 0) return PF_EINVAL;
    if (!v->started && (st = start(v, duration_ms)) < 0) goto fail;
    compose_rgb(v->rgb, v->W, v->H, rgba, v->w, v->h, v->s, v->bg ? v->bg : black);
    /* libx264 copies the picture, but a frame still referenced elsewhere
     * must not be overwritten. */
    if ((st = av_check(av_frame_make_writable(v->frame), "frame", v->lgp)) < 0) goto fail;
    src[0] = v->rgb;
    stride[0] = v->W * 3;
    sws_scale(v->sws, src, stride, 0, v->H, v->frame->data, v->frame->linesize);
    v->frame->pts = v->next_pts;
    if ((st = pending_add(v, v->next_pts, duration_ms)) < 0 ||
        (st = av_check(avcodec_send_frame(v->cc, v->frame), "encode", v->lgp)) < 0 ||
        (st = drain(v, 0)) < 0)
        goto fail;
    v->next_pts += duration_ms;
    return PF_OK;
fail:
    v->err = st;
    return st;
}

/* commit: flushes the encoder, writes the trailer and renames the temp file
 * into place; otherwise (or on any failure) removes it. Frees v (NULL is
 * fine). Errors (commit only): the sticky push error, PF_EINVAL (no frame
 * pushed), PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_video_stream_close(pfi_video_stream *v, int commit)
{
    pf_status st;

    if (!v) return PF_OK;
    st = commit ? v->err : PF_OK;
    if (commit && st == PF_OK && !v->started) {
        pfi_error(v->lgp, "nothing to write: the animation has no frames");
        st = PF_EINVAL;
    }
    if (commit && st == PF_OK) {
        if ((st = av_check(avcodec_send_frame(v->cc, NULL), "flush", v->lgp)) < 0 ||
            (st = drain(v, 1)) < 0 ||
            (st = av_check(av_write_trailer(v->oc), "trailer", v->lgp)) < 0)
            goto out;
        /* avio_close does not report earlier buffered write errors; pb->error does. */
        if (v->oc->pb) {
            avio_flush(v->oc->pb);
            if ((st = av_check(v->oc->pb->error, "write", v->lgp)) < 0) goto out;
        }
        if (!(v->fmt->flags & AVFMT_NOFILE) &&
            (st = av_check(avio_closep(&v->oc->pb), "close", v->lgp)) < 0)
            goto out;
        st = pfi_outfile_close(&v->of, v->lgp);
    }
out:
    if (!commit || st < 0) pfi_outfile_abort(&v->of);
    if (v->oc && !(v->oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&v->oc->pb);
    avformat_free_context(v->oc);
    avcodec_free_context(&v->cc);
    av_packet_free(&v->pkt);
    av_packet_free(&v->held);
    av_frame_free(&v->frame);
    sws_freeContext(v->sws);
    free(v->rgb);
    free(v->pending);
    free(v);
    return st;
}

/* a (count, H, W, 4) RGBA8 -> H.264 yuv420p video at path, atomically,
 * through the streaming encoder above with the clip's mean frame rate.
 * Errors: PF_EINVAL (no frames, a bad frame, unknown container, frames
 * > 16384 pixels a side), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_write_video(const char *path, const pfi_anim *a,
                         const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_video_stream *v = NULL;
    int64_t total = 0;
    pf_status st, c;

    if (!path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pfi_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    for (int f = 0; f < a->count; f++) {
        if (!a->frames[f].rgba || a->frames[f].duration_ms <= 0) {
            pfi_error(lg, "frame %d has no pixels or a duration <= 0", f);
            return PF_EINVAL;
        }
        total += a->frames[f].duration_ms;
    }
    st = pfi_video_stream_open(&v, path, a->width, a->height, 1000.0 * a->count / (double)total,
                              o, lg);
    for (int f = 0; st == PF_OK && f < a->count; f++)
        st = pfi_video_stream_push(v, a->frames[f].rgba, a->frames[f].duration_ms);
    c = pfi_video_stream_close(v, st == PF_OK);
    return st < 0 ? st : c;
}
