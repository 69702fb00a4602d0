/*
 * reader_av.c - the libavformat / libavcodec back end of the streaming
 * reader: MP4, MOV, WebM, MKV, AVI, APNG, PNG, JPEG and whatever else
 * FFmpeg demuxes. Decodes the best video stream with the
 * send_packet / receive_frame API, converts each frame to RGBA with one
 * pf_rgba_converter (convert.c), and derives pts and durations in ms from the stream time base
 * with a one-frame lookahead (a frame's duration is the next frame's pts
 * minus its own). Holds O(1) frames. Not an encoder.
 */
#include "io/reader_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

#define PTS_UNKNOWN INT64_MIN

/* Where libavformat reads from: our own AVIOContext over a file descriptor
 * or a memory buffer, so no protocol (file:, http:, ...) is ever opened. */
typedef struct av_source {
    int fd;                  /* the file, or -1 for memory */
    const uint8_t *mem;      /* the memory buffer when fd < 0 */
    int64_t size;            /* bytes */
    int64_t pos;             /* read position, bytes */
    AVIOContext *avio;
} av_source;

typedef struct av_state {
    av_source src;
    AVFormatContext *fmt;
    AVCodecContext *cc;
    AVStream *st;            /* the chosen video stream */
    AVPacket *pkt;
    AVFrame *frm;
    pf_rgba_converter *conv; /* decoded frame -> RGBA (convert.c) */
    uint8_t *buf[2];         /* (H, W, 4) each: the frame out and the lookahead */
    int la;                  /* slot of the lookahead frame */
    int have_la;             /* buf[la] holds a decoded frame not yet handed out */
    int64_t la_raw_ms;       /* its pts from the stream, ms from the first frame */
    int la_own_ms;           /* its duration from its own fields / the frame rate */
    int ended;               /* the decoder is drained */
    int eof_sent;            /* the flush packet was sent */
    int have_first;
    int64_t first_ts;        /* first best_effort_timestamp, stream time base */
    int64_t out_pts_ms;      /* pts of the next frame handed out (running total) */
    int decoded;             /* frames received from the decoder */
    int handed;              /* frames handed out */
    int bad_packets;         /* packets the decoder refused */
    int warned_resize, warned_read;
} av_state;

/* FFmpeg's success convention (>= 0, negative AVERROR) in one place. */
static inline int av_ok(int rc) { return rc >= 0; }

/* av_strerror into buf, never failing. */
static const char *av_err(int rc, char *buf, size_t n)
{
    if (av_strerror(rc, buf, n) < 0) snprintf(buf, n, "error %d", rc);
    return buf;
}

/* The logger of the reader call running on this thread, if any. */
static _Thread_local const pfi_logger *tl_lg;
/* The last libav error of the reader call running on this thread ("" if
 * none): quoted when libav gives up without a status that says why. */
static _Thread_local char tl_last_err[256];
/* Our decoders' AVCodecContext.opaque, copied into frame-thread contexts. */
static char our_decoder_tag;

/* libav's log callback: inside a reader call on this thread, libav's
 * messages go to that reader's logger (errors at PF_LOG_INFO, warnings at
 * PF_LOG_DEBUG: the reader reports the failure itself). Messages from our
 * decoders' worker threads are dropped, so the user's log callback is only
 * ever called on the caller's thread. Everything else (other modules) gets
 * libav's default: stderr, never stdout. */
static void av_log_route(void *avcl, int level, const char *fmt, va_list vl)
{
    static _Thread_local int print_prefix = 1;
    char line[1024];
    size_t n;

    if (!tl_lg) {
        /* av_log's contract: avcl is NULL or starts with an AVClass pointer. */
        if (avcl && *(const AVClass *const *)avcl == avcodec_get_class() &&
            ((const AVCodecContext *)avcl)->opaque == &our_decoder_tag)
            return;
        av_log_default_callback(avcl, level, fmt, vl);
        return;
    }
    if (level > av_log_get_level() || level > AV_LOG_WARNING) return;
    av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof line, &print_prefix);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n) pfi_log(tl_lg, level <= AV_LOG_ERROR ? PF_LOG_INFO : PF_LOG_DEBUG, "libav: %s", line);
    if (n && level <= AV_LOG_ERROR) snprintf(tl_last_err, sizeof tl_last_err, "%.255s", line);
}

/* Process-wide, so done once: libav quiet to errors unless the application
 * asked for less, and the routing callback. */
static void quiet_libav(void)
{
    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(av_log_route);
}

/* A frame's own duration in ms: the frame's duration field, else
 * 1 / avg_frame_rate, else 1 / r_frame_rate, else 100 ms. Always > 0. */
static int own_duration_ms(const av_state *a, const AVFrame *frm)
{
    const AVRational ms = {1, 1000};
    AVRational fr;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    int64_t d = frm->duration;
#else
    int64_t d = frm->pkt_duration;
#endif
    if (d > 0) {
        int64_t v = av_rescale_q(d, a->st->time_base, ms);
        if (v > 0 && v < INT32_MAX) return (int)v;
    }
    fr = a->st->avg_frame_rate;
    if (fr.num <= 0 || fr.den <= 0) fr = a->st->r_frame_rate;
    if (fr.num > 0 && fr.den > 0) {
        int64_t v = av_rescale(1000, fr.den, fr.num);
        if (v > 0 && v < INT32_MAX) return (int)v;
    }
    return 100;
}

/* a + b and a - b for timestamps, which come from the file: PTS_UNKNOWN
 * when either is unknown or the result does not fit in int64. */
static int64_t ts_add(int64_t a, int64_t b)
{
    if (a == PTS_UNKNOWN || b == PTS_UNKNOWN || (b > 0 && a > INT64_MAX - b) ||
        (b < 0 && a < INT64_MIN + 1 - b))
        return PTS_UNKNOWN;
    return a + b;
}

static int64_t ts_sub(int64_t a, int64_t b)
{
    return b == PTS_UNKNOWN ? PTS_UNKNOWN : ts_add(a, -b);
}

/* The end of the video stream in ms from the first frame, from the
 * container: the stream's own duration, else the file's when the video is
 * its only stream; -1 when unknown or only estimated from the bit rate.
 * MP4 with B-frames keeps no per-frame duration for the last frame shown
 * (its sample durations are dts steps), so this is the one exact source. */
static int64_t stream_end_ms(const av_state *a)
{
    const AVRational ms = {1, 1000};
    const AVStream *st = a->st;
    if (!a->have_first || a->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
        return -1;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
        int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : a->first_ts;
        int64_t end = ts_sub(ts_add(start, st->duration), a->first_ts);
        return end == PTS_UNKNOWN ? -1 : av_rescale_q(end, st->time_base, ms);
    }
    if (a->fmt->nb_streams == 1 && a->fmt->duration != AV_NOPTS_VALUE && a->fmt->duration > 0) {
        int64_t start = a->fmt->start_time != AV_NOPTS_VALUE ? a->fmt->start_time : 0;
        int64_t first = av_rescale_q(a->first_ts, st->time_base, AV_TIME_BASE_Q);
        int64_t end = ts_sub(ts_add(start, a->fmt->duration), first);
        return end == PTS_UNKNOWN ? -1 : av_rescale(end, 1, 1000);
    }
    return -1;
}

/* Converts a->frm to RGBA (H, W, 4) in dst through the reader's converter.
 * A frame whose size differs from the canvas is scaled to it (with one
 * warning). Errors: PF_EFORMAT (unsupported pixel format), PF_ENOMEM. */
static pf_status to_rgba(pfi_reader *r, av_state *a, uint8_t *dst)
{
    const AVFrame *frm = a->frm;
    pf_status st;

    if (frm->width <= 0 || frm->height <= 0 || !av_pix_fmt_desc_get(frm->format)) {
        pfi_error(&r->lg, "'%s': decoder returned an invalid frame", r->path);
        return PF_EFORMAT;
    }
    if ((frm->width != r->width || frm->height != r->height) && !a->warned_resize) {
        pfi_warn(&r->lg, "'%s': frame size changes from %dx%d to %dx%d; scaling to %dx%d",
                r->path, r->width, r->height, frm->width, frm->height, r->width, r->height);
        a->warned_resize = 1;
    }
    st = pf_rgba_convert(a->conv, (const uint8_t *const *)frm->data, frm->linesize, frm->format,
                         (int)frm->colorspace, (int)frm->color_range, frm->width, frm->height,
                         dst, r->width * 4, r->width, r->height);
    if (st != PF_OK) {
        pfi_error(&r->lg, "'%s': cannot convert pixel format %s to RGBA", r->path,
                 av_get_pix_fmt_name(frm->format));
        return st == PF_ENOMEM ? PF_ENOMEM : PF_EFORMAT;
    }
    return PF_OK;
}

/* Decodes the next frame of the chosen stream into buf[slot]: *raw_ms is
 * its pts in ms from the first frame (PTS_UNKNOWN when it has none),
 * *own_ms its own duration. PF_DONE once the decoder is drained (after a
 * read error too, with a warning). Corrupt packets are skipped, as ffmpeg
 * does. Errors: PF_EFORMAT, PF_ENOMEM. */
static pf_status decode_one(pfi_reader *r, av_state *a, int slot, int64_t *raw_ms, int *own_ms)
{
    char eb[128];

    for (;;) {
        int rc;
        if (a->ended) return PF_DONE;
        rc = avcodec_receive_frame(a->cc, a->frm);
        if (av_ok(rc)) {
            pf_status st = to_rgba(r, a, a->buf[slot]);
            int64_t ts = a->frm->best_effort_timestamp;
            if (st == PF_OK) {
                if (ts == AV_NOPTS_VALUE) {
                    *raw_ms = PTS_UNKNOWN;
                } else {
                    int64_t rel;
                    if (!a->have_first) { a->first_ts = ts; a->have_first = 1; }
                    rel = ts_sub(ts, a->first_ts);
                    *raw_ms = rel == PTS_UNKNOWN ? PTS_UNKNOWN
                              : av_rescale_q(rel, a->st->time_base, (AVRational){1, 1000});
                }
                *own_ms = own_duration_ms(a, a->frm);
                a->decoded++;
            }
            av_frame_unref(a->frm);
            return st;
        }
        if (rc == AVERROR_EOF) { a->ended = 1; return PF_DONE; }
        if (rc != AVERROR(EAGAIN)) {
            /* The decoder gave up: end the stream here. */
            pfi_warn(&r->lg, "'%s': decoding stopped after %d frames (%s)", r->path,
                    a->decoded, av_err(rc, eb, sizeof eb));
            a->ended = 1;
            return PF_DONE;
        }
        if (a->eof_sent) { a->ended = 1; return PF_DONE; }
        rc = av_read_frame(a->fmt, a->pkt);
        if (!av_ok(rc)) {
            if (rc != AVERROR_EOF && !a->warned_read) {
                pfi_warn(&r->lg, "'%s': read error after %d frames (%s); the file may be "
                        "truncated", r->path, a->decoded, av_err(rc, eb, sizeof eb));
                a->warned_read = 1;
            }
            avcodec_send_packet(a->cc, NULL);   /* flush: drain the delayed frames */
            a->eof_sent = 1;
            continue;
        }
        if (a->pkt->stream_index != a->st->index) { av_packet_unref(a->pkt); continue; }
        rc = avcodec_send_packet(a->cc, a->pkt);
        av_packet_unref(a->pkt);
        if (!av_ok(rc)) {
            if (a->bad_packets++ == 0)
                pfi_warn(&r->lg, "'%s': skipping corrupt data (%s)", r->path,
                        av_err(rc, eb, sizeof eb));
        }
    }
}

/* Hands out the lookahead frame and decodes the one after it, whose pts
 * gives the duration. pts_ms is the running total of durations, so it
 * equals the stream's pts whenever those increase. */
static pf_status av_next_inner(pfi_reader *r, pfi_frame *f)
{
    av_state *a = r->impl;
    pf_status st;
    int64_t nraw = 0;
    int nown = 0, out, dur;

    if (!a->have_la) {
        if (a->ended && a->handed > 0) return PF_DONE;
        st = decode_one(r, a, a->la, &a->la_raw_ms, &a->la_own_ms);
        if (st == PF_DONE) {
            if (a->handed > 0) return PF_DONE;
            pfi_error(&r->lg, "'%s': no frame could be decoded (%s stream)", r->path,
                     avcodec_get_name(a->st->codecpar->codec_id));
            return PF_EFORMAT;
        }
        if (st != PF_OK) return st;
        a->have_la = 1;
    }
    out = a->la;
    st = decode_one(r, a, 1 - out, &nraw, &nown);
    if (st == PF_OK) {
        int64_t d = ts_sub(nraw, a->out_pts_ms);
        dur = (d > 0 && d < INT32_MAX) ? (int)d : a->la_own_ms;
        a->la = 1 - out;
        a->la_raw_ms = nraw;
        a->la_own_ms = nown;
    } else if (st == PF_DONE) {
        /* The last frame: up to the container's end of the stream, else its
         * own duration; a lone still image shows 100 ms. */
        int64_t end = stream_end_ms(a), d = ts_sub(end, a->la_raw_ms);
        dur = a->handed == 0 ? 100 : a->la_own_ms;
        if (a->handed > 0 && end >= 0 && d != PTS_UNKNOWN && d > 0 && d < INT32_MAX)
            dur = (int)d;
        a->have_la = 0;
    } else {
        return st;
    }
    f->rgba = a->buf[out];
    f->pts_ms = a->out_pts_ms;
    f->duration_ms = dur > 0 ? dur : 100;
    a->out_pts_ms += f->duration_ms;
    a->handed++;
    return PF_OK;
}

/* vtable next: av_next_inner with libav's log routed to this reader. */
static pf_status av_next(pfi_reader *r, pfi_frame *f)
{
    const pfi_logger *outer = tl_lg;
    pf_status st;

    tl_lg = &r->lg;
    st = av_next_inner(r, f);
    tl_lg = outer;
    return st;
}

/* vtable close: frees the libav contexts and both RGBA buffers. */
static void av_close(pfi_reader *r)
{
    av_state *a = r->impl;

    if (!a) return;
    pf_rgba_converter_free(a->conv);
    av_frame_free(&a->frm);
    av_packet_free(&a->pkt);
    avcodec_free_context(&a->cc);
    avformat_close_input(&a->fmt);   /* leaves a custom pb alone */
    if (a->src.avio) av_freep(&a->src.avio->buffer);
    avio_context_free(&a->src.avio);
    if (a->src.fd >= 0) close(a->src.fd);
    av_free(a->buf[0]);
    av_free(a->buf[1]);
    free(a);
    r->impl = NULL;
}

static const pfi_reader_vt av_vt = { av_next, av_close };

/* AVIOContext read_packet: up to n bytes from the source; AVERROR_EOF at
 * the end. */
static int src_read(void *opaque, uint8_t *buf, int n)
{
    av_source *s = opaque;
    int64_t k = n;

    if (n <= 0) return 0;
    if (s->fd >= 0) {
        ssize_t got;
        do got = read(s->fd, buf, (size_t)n); while (got < 0 && errno == EINTR);
        if (got < 0) return AVERROR(errno);
        k = got;
    } else {
        if (k > s->size - s->pos) k = s->size - s->pos;
        if (k > 0) memcpy(buf, s->mem + s->pos, (size_t)k);
    }
    if (k == 0) return AVERROR_EOF;
    s->pos += k;
    return (int)k;
}

/* AVIOContext seek: SEEK_SET / SEEK_CUR / SEEK_END within [0, size], and
 * AVSEEK_SIZE. */
static int64_t src_seek(void *opaque, int64_t off, int whence)
{
    av_source *s = opaque;
    int64_t to;

    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return s->size;
    if (whence == SEEK_SET) to = off;
    else if (whence == SEEK_CUR && off <= INT64_MAX - s->pos) to = s->pos + off;
    else if (whence == SEEK_END && off <= INT64_MAX - s->size) to = s->size + off;
    else return AVERROR(EINVAL);
    if (to < 0 || to > s->size) return AVERROR(EINVAL);
    if (s->fd >= 0 && lseek(s->fd, (off_t)to, SEEK_SET) < 0) return AVERROR(errno);
    s->pos = to;
    return to;
}

/* AVFormatContext.io_open: demuxers that would open further files (HLS or
 * DASH playlists, concat lists, MOV external references) are refused, so
 * a downloaded file cannot make pixelfix read other local files. */
static int deny_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url,
                        int flags, AVDictionary **options)
{
    (void)s; (void)pb; (void)url; (void)flags; (void)options;
    return AVERROR(EPERM);
}

/* avformat_find_stream_info with every stream's probe decoder limited to
 * r->lim.max_pixels. Errors: PF_EFORMAT, PF_ENOMEM. */
static pf_status find_stream_info_capped(pfi_reader *r, av_state *a)
{
    AVDictionary **opts = NULL;
    unsigned n = a->fmt->nb_streams;
    char eb[128];
    int rc;

    if (r->lim.max_pixels > 0 && n > 0) {
        opts = av_calloc(n, sizeof *opts);
        if (!opts) return PF_ENOMEM;
        for (unsigned i = 0; i < n; i++)
            av_dict_set_int(&opts[i], "max_pixels", r->lim.max_pixels, 0);
    }
    rc = avformat_find_stream_info(a->fmt, opts);
    for (unsigned i = 0; opts && i < n; i++) av_dict_free(&opts[i]);
    av_free(opts);
    if (!av_ok(rc)) {
        pfi_error(&r->lg, "'%s': cannot read stream information (%s)", r->path,
                 av_err(rc, eb, sizeof eb));
        return rc == AVERROR(ENOMEM) ? PF_ENOMEM : PF_EFORMAT;
    }
    return PF_OK;
}

/* Sets up a->src and its AVIOContext over r->mem or the file r->path.
 * Errors: PF_EIO, PF_ENOMEM. */
static pf_status open_source(pfi_reader *r, av_state *a)
{
    enum { AVIO_BUF = 32768 };
    uint8_t *buf;

    a->src.fd = -1;
    if (r->mem) {
        a->src.mem = r->mem;
        a->src.size = (int64_t)r->mem_size;
    } else {
        struct stat sb;
        a->src.fd = open(r->path, O_RDONLY | O_CLOEXEC);
        if (a->src.fd < 0 || fstat(a->src.fd, &sb) != 0) {
            pfi_error(&r->lg, "cannot open '%s': %s", r->path, strerror(errno));
            return PF_EIO;
        }
        a->src.size = sb.st_size;
    }
    buf = av_malloc(AVIO_BUF);
    if (!buf) return PF_ENOMEM;
    a->src.avio = avio_alloc_context(buf, AVIO_BUF, 0, &a->src, src_read, NULL, src_seek);
    if (!a->src.avio) { av_free(buf); return PF_ENOMEM; }
    return PF_OK;
}

/* Opens with libavformat over our own AVIOContext (no protocols, no
 * nested files), picks the best video stream, checks its size against the
 * limits, then opens the decoder. */
static pf_status open_av(pfi_reader *r)
{
    const AVCodec *codec = NULL;
    AVDictionary *opts = NULL;
    av_state *a;
    pf_status st;
    char eb[128];
    size_t bytes;
    int rc;

    a = calloc(1, sizeof *a);
    if (!a) return PF_ENOMEM;
    r->impl = a;
    r->vt = &av_vt;
    r->format = "unknown";
    if ((st = pf_rgba_converter_new(&a->conv)) != PF_OK) goto fail;

    st = open_source(r, a);
    if (st != PF_OK) goto fail;
    a->fmt = avformat_alloc_context();
    if (!a->fmt) { st = PF_ENOMEM; goto fail; }
    a->fmt->pb = a->src.avio;
    a->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    a->fmt->io_open = deny_io_open;
    av_dict_set(&opts, "protocol_whitelist", "none", 0);
    /* The name only hints the probe (image2 by extension); pb is what is read. */
    rc = avformat_open_input(&a->fmt, r->mem ? "" : r->path, NULL, &opts);
    av_dict_free(&opts);
    if (!av_ok(rc)) {
        /* avformat_open_input freed a->fmt but not our pb. The file was
         * just opened, so libav's AVERROR(EIO) (a short read inside a
         * demuxer) means damage, not an I/O failure. */
        if (rc == AVERROR(ENOMEM)) {
            st = PF_ENOMEM;
        } else {
            pfi_error(&r->lg, "'%s' is not a recognised image or video file (%s)", r->path,
                     av_err(rc, eb, sizeof eb));
            st = PF_EFORMAT;
        }
        goto fail;
    }
    r->format = a->fmt->iformat->name;
    /* find_stream_info decodes a frame of each stream: cap its size there
     * too (AVCodecContext.max_pixels), or a header declaring 16000x16000
     * costs a 1 GiB frame before the canvas check below. */
    st = find_stream_info_capped(r, a);
    if (st != PF_OK) goto fail;
    rc = av_find_best_stream(a->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc == AVERROR_STREAM_NOT_FOUND) {
        pfi_error(&r->lg, "'%s' (%s) has no video stream", r->path, r->format);
        st = PF_EFORMAT;
        goto fail;
    }
    if (!av_ok(rc) || !codec) {
        pfi_error(&r->lg, "'%s': no decoder for its video stream (%s)", r->path,
                 av_err(rc, eb, sizeof eb));
        st = PF_EFORMAT;
        goto fail;
    }
    a->st = a->fmt->streams[rc];
    for (unsigned i = 0; i < a->fmt->nb_streams; i++)
        if ((int)i != rc) a->fmt->streams[i]->discard = AVDISCARD_ALL;

    if ((a->st->codecpar->width <= 0 || a->st->codecpar->height <= 0) &&
        r->lim.max_pixels > 0 && tl_last_err[0]) {
        /* The capped probe decoder refused the frame before its size was
         * recorded (libav: "Picture size WxH is invalid"). */
        pfi_error(&r->lg, "'%s': the first frame could not be opened (libav: %s); frames over "
                 "%lld pixels are refused (--max-pixels)", r->path, tl_last_err,
                 (long long)r->lim.max_pixels);
        st = PF_ELIMIT;
        goto fail;
    }
    st = pfi_reader_check_canvas(r, a->st->codecpar->width, a->st->codecpar->height);
    if (st != PF_OK) goto fail;
    r->width = a->st->codecpar->width;
    r->height = a->st->codecpar->height;
    r->frame_count = a->st->nb_frames > 0 ? a->st->nb_frames : -1;
    r->loop = 0;

    a->cc = avcodec_alloc_context3(codec);
    a->pkt = av_packet_alloc();
    a->frm = av_frame_alloc();
    if (!a->cc || !a->pkt || !a->frm) { st = PF_ENOMEM; goto fail; }
    rc = avcodec_parameters_to_context(a->cc, a->st->codecpar);
    if (av_ok(rc)) {
        a->cc->pkt_timebase = a->st->time_base;
        a->cc->thread_count = r->threads;   /* 0 = automatic */
        if (r->lim.max_pixels > 0) a->cc->max_pixels = r->lim.max_pixels;
        a->cc->opaque = &our_decoder_tag;
        rc = avcodec_open2(a->cc, codec, NULL);
    }
    if (!av_ok(rc)) {
        pfi_error(&r->lg, "'%s': cannot open the %s decoder (%s)", r->path, codec->name,
                 av_err(rc, eb, sizeof eb));
        st = rc == AVERROR(ENOMEM) ? PF_ENOMEM : PF_EFORMAT;
        goto fail;
    }
    /* Slack past the end: some swscale paths write whole SIMD vectors. */
    if (!pfi_mul4_size(&bytes, (size_t)r->width, (size_t)r->height, 4, 1) ||
        bytes > SIZE_MAX - 64) { st = PF_ELIMIT; goto fail; }
    a->buf[0] = av_malloc(bytes + 64);
    a->buf[1] = av_malloc(bytes + 64);
    if (!a->buf[0] || !a->buf[1]) { st = PF_ENOMEM; goto fail; }
    return PF_OK;
fail:
    av_close(r);
    r->vt = NULL;
    return st;
}

/* open_av with libav quietened once and its log routed to this reader. */
pf_status pfi_reader_open_av(pfi_reader *r)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const pfi_logger *outer = tl_lg;
    pf_status st;

    pthread_once(&once, quiet_libav);
    tl_lg = &r->lg;
    tl_last_err[0] = 0;
    st = open_av(r);
    tl_lg = outer;
    return st;
}
