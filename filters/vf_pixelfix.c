/*
 * vf_pixelfix.c - the pixelfix video filter for FFmpeg 5.1 (libavfilter 8).
 *
 * This file is part of pixelfix. It is compiled inside an FFmpeg 5.1 source
 * tree by filters/build-ffmpeg.sh (libavfilter's internal headers are not
 * installed), and linked with libpixelfix.a.
 */

/**
 * @file
 * Restores pseudo pixel art (upscaled, blurred, compressed, jittered) to
 * clean pixel art: a thin activate() filter over pixelfix.h's pf_stream.
 * All restoration (grid lock, model windows, palette) is libpixelfix's; this
 * file only moves frames, timestamps and errors between the two APIs, so it
 * gives the same frames as `pixelfix IN -o DIR/` for the same options.
 *
 * The output size problem, and how it is solved
 * ---------------------------------------------
 * The output is RGBA at native size x upscale, and the native size is only
 * known once pf_stream has locked the grid on its first grid_frames (8)
 * frames. libavfilter 5.1 fixes every link's size in config_props while the
 * graph is configured, and fftools 5.1 configures the graph before it sends
 * the first frame (ffmpeg_filter.c, configure_filtergraph, called from
 * ifilter_send_frame before av_buffersrc_add_frame_flags), so no frame can
 * be seen then. libavfilter has no way to defer a link's configuration.
 * What fftools 5.1 does rely on: it opens the encoder when the first frame
 * leaves the buffersink, with the size of the sink's input link at that
 * moment (ffmpeg.c, init_output_stream_encode: av_buffersink_get_w/h), and
 * libavfilter's frame pools follow the requested size.
 *
 * So this filter configures its output twice:
 *  1. at graph configuration, config_output gives a provisional size (the
 *     input's) because nothing better is known;
 *  2. in activate(), when the grid has locked and before the first frame
 *     goes out, it re-runs the standard link configuration
 *     (avfilter_config_links) on every link downstream of it, with the
 *     native size now answered by the same config_output. Downstream
 *     filters recompute their sizes exactly as at graph configuration
 *     (vf_scale's own per-frame reconfiguration in scale_frame() is the
 *     5.1 precedent for re-running config_props mid-stream), and the sink's
 *     link holds the final size before the encoder is opened.
 * This is only safe while no frame has reached any downstream filter, so
 * the filter checks that and fails otherwise (pixelfix's output joined with
 * another stream that already flowed, e.g. by overlay, is refused with a
 * message). The same holds when the stream is shorter than grid_frames: the
 * grid locks at EOF, before anything was sent.
 *
 * Input: every format swscale reads is accepted and converted to RGBA here
 * by libpixelfix's own converter (pf_rgba_convert, as its reader), not by the graph,
 * whose auto-inserted scale would give other pixels.
 *
 * Scheduling (vf_dedot.c is the model): one input frame is pushed per
 * activation, and only once the stream has no ready frame (pf_stream wants
 * every ready frame pulled before the next push); one restored frame goes
 * out per activation, with ff_filter_set_ready() to come back for the next;
 * EOF from the input runs pf_stream_finish() and every held frame is
 * flushed before EOF is set on the output. Properties of each input frame
 * (pts, duration, metadata, side data) wait in a FIFO of data-less frames
 * until their restored frame comes out: pf_stream emits one frame per
 * input frame, in order.
 */

#include <string.h>
#include <unistd.h>

#include "libavutil/avstring.h"
#include "libavutil/fifo.h"
#include "libavutil/imgutils.h"
#include "libavutil/internal.h"
#include "libavutil/opt.h"
#include "libavutil/parseutils.h"
#include "libavutil/pixdesc.h"
#include "libswscale/swscale.h"
#include "avfilter.h"
#include "filters.h"
#include "formats.h"
#include "internal.h"
#include "video.h"

#include <pixelfix.h>

typedef struct PixelfixContext {
    const AVClass *class;

    /* options */
    char *model;            ///< model file, "none" (classical), or NULL = pf_model_default_path()
    double scale;           ///< native cell size in input pixels, 0 = detect
    int colors;             ///< at most this many colours, 2..256; 0 = automatic
    char *palette;          ///< palette file (.hex, .gpl, .png), NULL = extract
    char *background;       ///< "auto", "none" or a colour
    char *matte;            ///< "none" (keep alpha), "auto" (the keyed background) or a colour
    int window, overlap;    ///< model window T and overlap O, frames
    int upscale;            ///< integer nearest upscale of the output
    int threads;            ///< network threads, 0 = libpixelfix's default
    int keep_pockets;       ///< 1: key only background the border reaches
    int64_t max_memory;     ///< bytes a restore may take, 0 = no limit, -1 = libpixelfix's default

    /* state */
    pf_params params;
    pf_model *pm;           ///< NULL = classical path
    pf_stream *st;
    AVFifo *props;          ///< (AVFrame *) data-less copies of the pushed frames, in order
    uint8_t *rgba;          ///< one converted input frame, (in_h, in_w, 4), plus slack
    pf_rgba_converter *conv; ///< input format -> RGBA, as libpixelfix's reader does it
    int in_w, in_h;         ///< input size, pixels
    int native_w, native_h; ///< 0 until the grid is locked
    int matte_mode;         ///< 0 none, 1 auto, 2 matte_rgb
    uint8_t matte_rgb[3];   ///< the colour under transparent pixels (auto: set at the lock)
    uint8_t *matte_row;     ///< (native_w, 4) one composited row
    int final_config;       ///< downstream reconfigured for the native size
    int ready;              ///< pf_stream may hold restored frames: pull before pushing
    int eof;                ///< input EOF seen and pf_stream_finish() run
    int64_t eof_pts;        ///< the input's EOF timestamp, link time base
    int64_t pushed, sent;
} PixelfixContext;

#define OFFSET(x) offsetof(PixelfixContext, x)
#define FLAGS AV_OPT_FLAG_FILTERING_PARAM | AV_OPT_FLAG_VIDEO_PARAM

static const AVOption pixelfix_options[] = {
    { "model", "restoration model file; \"none\" for the classical path (default: as the pixelfix "
               "command finds it: $PIXELFIX_MODEL, the pixelfix tree's models/, the installed "
               "pixelfix-v6.safetensors; none found: the classical path)",
      OFFSET(model), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "m", "same as model", OFFSET(model), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "scale", "native pixel size in input pixels, 1..256, or auto to detect the grid",
      OFFSET(scale), AV_OPT_TYPE_DOUBLE, { .dbl = 0 }, 0, 256, FLAGS, "scale" },
    { "s", "same as scale", OFFSET(scale), AV_OPT_TYPE_DOUBLE, { .dbl = 0 }, 0, 256, FLAGS, "scale" },
        { "auto", "detect the grid on the first frames", 0, AV_OPT_TYPE_CONST, { .dbl = 0 }, 0, 0, FLAGS, "scale" },
    { "colors", "at most this many colours, 2..256, or auto", OFFSET(colors), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 256, FLAGS, "colors" },
    { "c", "same as colors", OFFSET(colors), AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 256, FLAGS, "colors" },
        { "auto", "choose the palette size", 0, AV_OPT_TYPE_CONST, { .i64 = 0 }, 0, 0, FLAGS, "colors" },
    { "palette", "use this palette file (.hex, .gpl or .png) instead of extracting one",
      OFFSET(palette), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "p", "same as palette", OFFSET(palette), AV_OPT_TYPE_STRING, { .str = NULL }, 0, 0, FLAGS },
    { "background", "key colour: auto (estimate from the borders), none (keep opaque), or #rrggbb / a name",
      OFFSET(background), AV_OPT_TYPE_STRING, { .str = "auto" }, 0, 0, FLAGS },
    { "b", "same as background", OFFSET(background), AV_OPT_TYPE_STRING, { .str = "auto" }, 0, 0, FLAGS },
    { "keep_pockets", "key only background the border reaches, not enclosed regions of its colour",
      OFFSET(keep_pockets), AV_OPT_TYPE_BOOL, { .i64 = 0 }, 0, 1, FLAGS },
    { "matte", "for opaque outputs (yuv420p video): none (keep alpha), auto (composite over the keyed "
               "background colour, as the CLI's video output), or #rrggbb / a name",
      OFFSET(matte), AV_OPT_TYPE_STRING, { .str = "none" }, 0, 0, FLAGS },
    { "window", "frames per model window, 1..64", OFFSET(window), AV_OPT_TYPE_INT, { .i64 = 8 }, 1, 64, FLAGS },
    { "overlap", "frames shared by neighbouring windows, 0..window/2",
      OFFSET(overlap), AV_OPT_TYPE_INT, { .i64 = 2 }, 0, 32, FLAGS },
    { "upscale", "integer nearest-neighbour upscale of the native output", OFFSET(upscale),
      AV_OPT_TYPE_INT, { .i64 = 1 }, 1, 64, FLAGS },
    { "threads", "threads for the network, 0 for libpixelfix's default", OFFSET(threads),
      AV_OPT_TYPE_INT, { .i64 = 0 }, 0, 256, FLAGS },
    { "max_memory", "most bytes a restore may take (e.g. 2Gi), 0 for no limit, -1 for libpixelfix's "
                    "default (1 GiB)", OFFSET(max_memory), AV_OPT_TYPE_INT64, { .i64 = -1 }, -1, INT64_MAX, FLAGS },
    { NULL }
};

AVFILTER_DEFINE_CLASS(pixelfix);

/* pf_status -> AVERROR. */
static int averror_from(pf_status st)
{
    switch (st) {
    case PF_OK:
    case PF_DONE:       return 0;
    case PF_EINVAL:     return AVERROR(EINVAL);
    case PF_ENOMEM:     return AVERROR(ENOMEM);
    case PF_EIO:        return AVERROR(EIO);
    case PF_EFORMAT:    return AVERROR_INVALIDDATA;
    case PF_ENOFRAMES:  return AVERROR_EOF;
    case PF_ELIMIT:     return AVERROR(E2BIG);
    case PF_ENOGRID:    return AVERROR_INVALIDDATA;
    case PF_EOUTPUT:    return AVERROR(EIO);
    case PF_EEXIST:     return AVERROR(EEXIST);
    case PF_EMODEL:     return AVERROR_INVALIDDATA;
    case PF_EPALETTE:   return AVERROR_INVALIDDATA;
    case PF_EABORTED:   return AVERROR_EXIT;
    case PF_EINTERNAL:  return AVERROR_BUG;
    }
    return AVERROR_UNKNOWN;
}

/* libpixelfix's log callback: its messages go to av_log on this filter. */
/* libpixelfix's hints name the pixelfix command's flags; here they are
 * the filter's options (or, where the filter has none, the CLI's flag). */
static const char *const option_names[][2] = {
    { "--max-memory", "the max_memory option" }, { "--scale", "the scale option" },
    { "--window", "the window option" }, { "--keep-pockets", "keep_pockets=1" },
    { "--no-model", "model=none" },
};

static void log_cb(void *user, int level, const char *msg)
{
    static const int av_level[] = { AV_LOG_ERROR, AV_LOG_WARNING, AV_LOG_VERBOSE, AV_LOG_DEBUG };
    char line[2048];
    size_t n = 0;
    while (*msg && n + 1 < sizeof line) {
        size_t i, k = sizeof option_names / sizeof option_names[0];
        for (i = 0; i < k; i++) {
            const size_t len = strlen(option_names[i][0]);
            if (!strncmp(msg, option_names[i][0], len) && (msg[len] < 'a' || msg[len] > 'z') && msg[len] != '-') {
                n += (size_t)snprintf(line + n, sizeof line - n, "%s", option_names[i][1]);
                if (n >= sizeof line) n = sizeof line - 1;
                msg += len;
                break;
            }
        }
        if (i == k) line[n++] = *msg++;
    }
    line[n] = 0;
    av_log(user, av_level[level < 0 ? 0 : level > 3 ? 3 : level], "%s\n", line);
}

/* Keeps the first error line in user (1024 bytes). */
static void keep_error(void *user, int level, const char *msg)
{
    char *buf = user;
    if (level == PF_LOG_ERROR && !buf[0])
        av_strlcpy(buf, msg, 1024);
}

/* A colour as the CLI reads it (pf_parse_color), else FFmpeg's names. */
static int parse_color(AVFilterContext *ctx, const char *s, uint8_t rgb[3])
{
    uint8_t rgba[4];

    if (pf_parse_color(s, rgb) == PF_OK)
        return 0;
    if (av_parse_color(rgba, s, -1, ctx) < 0)
        return AVERROR(EINVAL);
    memcpy(rgb, rgba, 3);
    return 0;
}

static int parse_background(AVFilterContext *ctx, const char *s, pf_params *p)
{
    if (!s || !strcmp(s, "auto")) {
        p->background = PF_BG_AUTO;
    } else if (!strcmp(s, "none")) {
        p->background = PF_BG_NONE;
    } else if (parse_color(ctx, s, p->bg_rgb) >= 0) {
        p->background = PF_BG_COLOR;
    } else {
        av_log(ctx, AV_LOG_ERROR, "invalid background '%s': give auto, none, #rrggbb or a colour name\n", s);
        return AVERROR(EINVAL);
    }
    return 0;
}

static av_cold int init(AVFilterContext *ctx)
{
    PixelfixContext *s = ctx->priv;
    pf_params *p = &s->params;
    const char *path;
    pf_status st;
    int ret;

    *p = pf_default_params();
    p->scale = s->scale;
    p->colors = s->colors;
    p->palette_path = s->palette;
    p->window = s->window;
    p->overlap = s->overlap;
    p->threads = s->threads;
    p->keep_pockets = s->keep_pockets;
    if (s->max_memory >= 0) p->limits.max_memory = s->max_memory;
    p->log = log_cb;
    p->user = ctx;
    p->log_level = av_log_get_level() >= AV_LOG_DEBUG ? PF_LOG_DEBUG : PF_LOG_INFO;
    if (s->colors == 1) {
        av_log(ctx, AV_LOG_ERROR, "colors must be auto (0) or 2..256\n");
        return AVERROR(EINVAL);
    }
    if (s->scale > 0 && s->scale < 1) {
        av_log(ctx, AV_LOG_ERROR, "scale %g is out of range: give auto or a cell size from 1 to 256 pixels\n", s->scale);
        return AVERROR(EINVAL);
    }
    if (2 * s->overlap > s->window) {
        av_log(ctx, AV_LOG_ERROR, "overlap %d is more than half of window %d\n", s->overlap, s->window);
        return AVERROR(EINVAL);
    }
    if ((ret = parse_background(ctx, s->background, p)) < 0)
        return ret;
    if (!s->matte || !strcmp(s->matte, "none")) {
        s->matte_mode = 0;
    } else if (!strcmp(s->matte, "auto")) {
        s->matte_mode = 1;
    } else if (parse_color(ctx, s->matte, s->matte_rgb) >= 0) {
        s->matte_mode = 2;
    } else {
        av_log(ctx, AV_LOG_ERROR, "invalid matte '%s': give none, auto, #rrggbb or a colour name\n", s->matte);
        return AVERROR(EINVAL);
    }
    if (!(s->props = av_fifo_alloc2(16, sizeof(AVFrame *), AV_FIFO_FLAG_AUTO_GROW)))
        return AVERROR(ENOMEM);

    /* The model: the CLI's own search (pf_model_default_path), so both
     * restore the same frames. */
    path = s->model ? s->model : pf_model_default_path();
    if (path && !strcmp(path, "none")) {
        p->use_model = 0;
        av_log(ctx, AV_LOG_INFO, "no model: using the classical path\n");
        return 0;
    }
    if (!path) {
        av_log(ctx, AV_LOG_WARNING, "no model found ($PIXELFIX_MODEL unset, none in the pixelfix tree "
               "or installed): using the classical path; give one with model=FILE, or model=none to "
               "choose the classical path\n");
        return 0;
    }
    p->model_path = path;
    {
        /* pf_model_load logs the cause in one line; say it once, with the hint */
        pf_params q = *p;
        char why[1024] = "";
        q.log = keep_error;
        q.user = why;
        q.log_level = PF_LOG_ERROR;
        st = pf_model_load(&s->pm, path, &q);
        if (st < 0) {
            int missing = access(path, R_OK) != 0;
            av_log(ctx, AV_LOG_ERROR, "%s; give another with model=FILE, or model=none for the "
                   "classical path\n", why[0] ? why : pf_strerror(st));
            return missing ? AVERROR(ENOENT) : averror_from(st);
        }
    }
    av_log(ctx, AV_LOG_INFO, "model: %s\n", path);
    return 0;
}

/* Input: every format swscale reads (the frame is converted here, see
 * to_rgba); output: RGBA. */
static int query_formats(AVFilterContext *ctx)
{
    AVFilterFormats *in = NULL;
    const AVPixFmtDescriptor *d = NULL;
    int ret;

    while ((d = av_pix_fmt_desc_next(d))) {
        enum AVPixelFormat f = av_pix_fmt_desc_get_id(d);
        if (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM) || !sws_isSupportedInput(f))
            continue;
        if ((ret = ff_add_format(&in, f)) < 0)
            return ret;
    }
    if ((ret = ff_formats_ref(in, &ctx->inputs[0]->outcfg.formats)) < 0)
        return ret;
    return ff_formats_ref(ff_make_format_list((const int[]){ AV_PIX_FMT_RGBA, AV_PIX_FMT_NONE }),
                          &ctx->outputs[0]->incfg.formats);
}

static int config_input(AVFilterLink *inlink)
{
    AVFilterContext *ctx = inlink->dst;
    PixelfixContext *s = ctx->priv;
    pf_status st;

    /* a reconfigured input starts a new stream */
    pf_stream_close(s->st);
    s->st = NULL;
    av_freep(&s->rgba);
    s->native_w = s->native_h = 0;
    s->final_config = 0;
    s->in_w = inlink->w;
    s->in_h = inlink->h;
    st = pf_stream_open(&s->st, inlink->w, inlink->h, &s->params, s->pm);
    if (st < 0) {
        av_log(ctx, AV_LOG_ERROR, "cannot start restoring %dx%d frames: %s\n",
               inlink->w, inlink->h, pf_strerror(st));
        return averror_from(st);
    }
    return 0;
}

/* Native x upscale once the grid is locked; the input size until then
 * (provisional, see the file comment). */
static int config_output(AVFilterLink *outlink)
{
    AVFilterContext *ctx = outlink->src;
    PixelfixContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];

    if (s->native_w > 0) {
        if ((int64_t)s->native_w * s->upscale > 16384 || (int64_t)s->native_h * s->upscale > 16384) {
            av_log(ctx, AV_LOG_ERROR, "%dx%d native pixels upscaled %d times is over 16384 pixels\n",
                   s->native_w, s->native_h, s->upscale);
            return AVERROR(EINVAL);
        }
        outlink->w = s->native_w * s->upscale;
        outlink->h = s->native_h * s->upscale;
    } else {
        outlink->w = inlink->w;
        outlink->h = inlink->h;
    }
    outlink->time_base = inlink->time_base;
    outlink->frame_rate = inlink->frame_rate;
    outlink->sample_aspect_ratio = inlink->sample_aspect_ratio;
    return 0;
}

/* Every filter downstream of ctx, breadth first. */
static int downstream(AVFilterContext *ctx, AVFilterContext ***list, int *n)
{
    AVFilterContext **l = NULL;
    int cnt = 0, cap = 0;

    for (int i = -1; i < cnt; i++) {
        AVFilterContext *f = i < 0 ? ctx : l[i];
        for (unsigned o = 0; o < f->nb_outputs; o++) {
            AVFilterContext *d = f->outputs[o] ? f->outputs[o]->dst : NULL;
            int seen = !d || d == ctx;
            for (int j = 0; j < cnt && !seen; j++)
                seen = l[j] == d;
            if (seen)
                continue;
            if (cnt == cap) {
                AVFilterContext **nl = av_realloc_array(l, cap ? 2 * cap : 8, sizeof(*l));
                if (!nl) {
                    av_free(l);
                    return AVERROR(ENOMEM);
                }
                l = nl;
                cap = cap ? 2 * cap : 8;
            }
            l[cnt++] = d;
        }
    }
    *list = l;
    *n = cnt;
    return 0;
}

/* Step 2 of the file comment: re-runs the link configuration downstream,
 * now that config_output knows the native size. */
static int configure_native(AVFilterContext *ctx)
{
    PixelfixContext *s = ctx->priv;
    const pf_report *rep = pf_stream_report(s->st);
    AVFilterContext **list = NULL;
    int n = 0, ret;

    s->native_w = rep->native_w;
    s->native_h = rep->native_h;
    if (s->matte_mode == 1)   /* the keyed colour; black when nothing was keyed */
        memcpy(s->matte_rgb, rep->bg_kind == PF_BGK_SOLID || rep->bg_kind == PF_BGK_GRADIENT ||
                             rep->bg_kind == PF_BGK_FIELD ? rep->bg_rgb : (const uint8_t[3]){ 0, 0, 0 }, 3);
    av_log(ctx, AV_LOG_INFO, "grid: %.3fx%.3f px cells at (%.2f, %.2f), confidence %.2f%s; "
           "%dx%d native -> %dx%d output\n", rep->cell_w, rep->cell_h, rep->offset_x, rep->offset_y,
           rep->confidence, rep->scale_forced ? " (scale given)" : "", s->native_w, s->native_h,
           s->native_w * s->upscale, s->native_h * s->upscale);
    if ((ret = downstream(ctx, &list, &n)) < 0)
        return ret;
    for (int i = 0; i < n; i++)
        for (unsigned j = 0; j < list[i]->nb_inputs; j++)
            if (list[i]->inputs[j] && list[i]->inputs[j]->frame_count_in > 0) {
                av_log(ctx, AV_LOG_ERROR, "cannot set the output size to %dx%d: '%s' downstream has "
                       "already received frames. pixelfix learns its output size from its first "
                       "frames, so it cannot feed a filter that another stream has already fed.\n",
                       s->native_w * s->upscale, s->native_h * s->upscale, list[i]->name);
                av_free(list);
                return AVERROR(EINVAL);
            }
    ctx->outputs[0]->init_state = AVLINK_UNINIT;
    ctx->outputs[0]->w = ctx->outputs[0]->h = 0;
    for (int i = 0; i < n; i++)
        for (unsigned o = 0; o < list[i]->nb_outputs; o++) {
            AVFilterLink *l = list[i]->outputs[o];
            if (l && l->type == AVMEDIA_TYPE_VIDEO) {
                l->init_state = AVLINK_UNINIT;
                l->w = l->h = 0;
            }
        }
    ret = 0;
    for (int i = 0; i < n && ret >= 0; i++)
        ret = avfilter_config_links(list[i]);
    av_free(list);
    if (ret < 0)
        av_log(ctx, AV_LOG_ERROR, "reconfiguring the filters after pixelfix for %dx%d failed\n",
               s->native_w * s->upscale, s->native_h * s->upscale);
    s->final_config = 1;
    return ret;
}

/* Nearest-neighbour upscale of one native RGBA frame into out; with a
 * matte (rgb, or NULL), each pixel alpha-composited over it and opaque.
 * row_buf: (width, 4) scratch. */
static void put_frame(AVFrame *out, const pf_stream_frame *f, int u, const uint8_t *matte,
                      uint8_t *row_buf)
{
    const size_t row = (size_t)f->width * u * 4;
    for (int y = 0; y < f->height; y++) {
        uint8_t *d0 = out->data[0] + (size_t)y * u * out->linesize[0];
        const uint8_t *src = f->rgba + (size_t)y * f->width * 4;
        if (matte) {
            for (int x = 0; x < f->width; x++) {
                const uint8_t *q = src + (size_t)x * 4;
                for (int k = 0; k < 3; k++)
                    row_buf[x * 4 + k] = (uint8_t)((q[k] * q[3] + matte[k] * (255 - q[3]) + 127) / 255);
                row_buf[x * 4 + 3] = 255;
            }
            src = row_buf;
        }
        if (u == 1) {
            memcpy(d0, src, row);
            continue;
        }
        for (int x = 0; x < f->width; x++)
            for (int i = 0; i < u; i++)
                memcpy(d0 + ((size_t)x * u + i) * 4, src + (size_t)x * 4, 4);
        for (int i = 1; i < u; i++)
            memcpy(d0 + (size_t)i * out->linesize[0], d0, row);
    }
}

/* Sends one restored frame if pf_stream has one. Returns 1 when a frame was
 * sent (or failed), 0 when none was ready. */
static int send_one(AVFilterContext *ctx, int *ret)
{
    PixelfixContext *s = ctx->priv;
    AVFilterLink *outlink = ctx->outputs[0];
    AVFrame *props = NULL, *out;
    pf_stream_frame f;

    *ret = 0;
    if (!s->ready)
        return 0;
    if (pf_stream_pull(s->st, &f) != PF_OK) {
        s->ready = 0;
        return 0;
    }
    if (!s->final_config && (*ret = configure_native(ctx)) < 0)
        return 1;
    if (f.width != s->native_w || f.height != s->native_h ||
        av_fifo_read(s->props, &props, 1) < 0 || props->pts != f.pts) {
        av_log(ctx, AV_LOG_ERROR, "restored frame %"PRId64" does not match its input\n", s->sent);
        av_frame_free(&props);
        *ret = AVERROR_BUG;
        return 1;
    }
    out = ff_get_video_buffer(outlink, outlink->w, outlink->h);
    if (!out) {
        av_frame_free(&props);
        *ret = AVERROR(ENOMEM);
        return 1;
    }
    *ret = av_frame_copy_props(out, props);
    av_frame_free(&props);
    if (*ret < 0) {
        av_frame_free(&out);
        return 1;
    }
    /* geometry-bound side data no longer applies to the new size */
    av_frame_remove_side_data(out, AV_FRAME_DATA_REGIONS_OF_INTEREST);
    av_frame_remove_side_data(out, AV_FRAME_DATA_MOTION_VECTORS);
    av_frame_remove_side_data(out, AV_FRAME_DATA_VIDEO_ENC_PARAMS);
    av_frame_remove_side_data(out, AV_FRAME_DATA_DETECTION_BBOXES);
    out->crop_top = out->crop_bottom = out->crop_left = out->crop_right = 0;
    /* the pixels are full-range RGB now, as vf_scale marks a YUV->RGB result */
    out->colorspace = AVCOL_SPC_RGB;
    out->color_range = AVCOL_RANGE_JPEG;
    if (s->matte_mode && !s->matte_row &&
        !(s->matte_row = av_malloc_array(f.width, 4))) {
        av_frame_free(&out);
        *ret = AVERROR(ENOMEM);
        return 1;
    }
    put_frame(out, &f, s->upscale, s->matte_mode ? s->matte_rgb : NULL, s->matte_row);
    s->sent++;
    *ret = ff_filter_frame(outlink, out);
    return 1;
}

/* A frame's duration in ms for pf_stream (it must be > 0; it does not
 * change the restoration): its own, else the link's frame rate, else 100. */
static int duration_ms(const AVFilterLink *inlink, const AVFrame *in)
{
    int64_t d = 0;
    if (in->pkt_duration > 0)
        d = av_rescale_q(in->pkt_duration, inlink->time_base, (AVRational){ 1, 1000 });
    else if (inlink->frame_rate.num > 0 && inlink->frame_rate.den > 0)
        d = av_rescale(1000, inlink->frame_rate.den, inlink->frame_rate.num);
    if (d <= 0)
        d = in->pkt_duration > 0 || inlink->frame_rate.num > 0 ? 1 : 100;
    return d > INT_MAX ? INT_MAX : (int)d;
}

/* Any input format -> RGBA through libpixelfix's own converter (the one its
 * video reader uses: pf_rgba_convert), so that the filter restores the same
 * pixels as `pixelfix clip.mp4 -o dir/`. The graph's own conversion would
 * differ: FFmpeg 5.1's auto-inserted scale converts with BT.601 whatever the
 * frame says (measured on samples/guy-walk-video.mp4, BT.709: up to 30
 * levels off). Returns the RGBA rows and their stride in *stride. */
static const uint8_t *to_rgba(AVFilterContext *ctx, const AVFrame *in, int *stride, int *ret)
{
    PixelfixContext *s = ctx->priv;
    pf_status st;

    *ret = 0;
    if (in->format == AV_PIX_FMT_RGBA && in->linesize[0] > 0) {
        *stride = in->linesize[0];
        return in->data[0];
    }
    if (!s->rgba && !(s->rgba = av_malloc((size_t)s->in_w * 4 * s->in_h + 256))) {  /* slack: SIMD stores */
        *ret = AVERROR(ENOMEM);
        return NULL;
    }
    *stride = s->in_w * 4;
    if (in->format == AV_PIX_FMT_RGBA) {   /* bottom-up rows (vflip) */
        av_image_copy_plane(s->rgba, s->in_w * 4, in->data[0], in->linesize[0], s->in_w * 4, s->in_h);
        return s->rgba;
    }
    if (!s->conv && (st = pf_rgba_converter_new(&s->conv)) < 0) {
        *ret = AVERROR(ENOMEM);
        return NULL;
    }
    st = pf_rgba_convert(s->conv, (const uint8_t *const *)in->data, in->linesize, in->format,
                         (int)in->colorspace, (int)in->color_range, s->in_w, s->in_h,
                         s->rgba, s->in_w * 4, s->in_w, s->in_h);
    if (st < 0) {
        av_log(ctx, AV_LOG_ERROR, "cannot convert %s to RGBA\n", av_get_pix_fmt_name(in->format));
        *ret = st == PF_ENOMEM ? AVERROR(ENOMEM) : AVERROR(EINVAL);
        return NULL;
    }
    return s->rgba;
}

static int push_one(AVFilterContext *ctx, AVFrame *in)
{
    PixelfixContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    const uint8_t *data;
    int stride;
    AVFrame *props;
    pf_status st;
    int ret = AVERROR(ENOMEM);

    if (in->width != s->in_w || in->height != s->in_h) {
        av_log(ctx, AV_LOG_ERROR, "the frame size changed from %dx%d to %dx%d; pixelfix keeps one grid "
               "per stream\n", s->in_w, s->in_h, in->width, in->height);
        av_frame_free(&in);
        return AVERROR(EINVAL);
    }
    if (!(data = to_rgba(ctx, in, &stride, &ret))) {
        av_frame_free(&in);
        return ret;
    }
    /* keep the properties, not the pixels, until the restored frame leaves */
    if (!(props = av_frame_alloc()) || (ret = av_frame_copy_props(props, in)) < 0 ||
        (ret = av_fifo_write(s->props, &props, 1)) < 0) {
        av_frame_free(&props);
        av_frame_free(&in);
        return ret;
    }
    st = pf_stream_push(s->st, data, stride, in->pts, duration_ms(inlink, in));
    av_frame_free(&in);
    s->pushed++;
    s->ready = 1;
    if (st < 0) {
        av_log(ctx, AV_LOG_ERROR, "frame %"PRId64": %s\n", s->pushed - 1, pf_strerror(st));
        return averror_from(st);
    }
    return 0;
}

static int finish(AVFilterContext *ctx)
{
    PixelfixContext *s = ctx->priv;
    pf_status st;

    s->eof = 1;
    s->ready = 1;
    if (s->pushed == 0)
        return 0;       /* an empty stream: EOF goes straight on */
    st = pf_stream_finish(s->st);
    if (st < 0) {
        av_log(ctx, AV_LOG_ERROR, "at the end of the stream (%"PRId64" frames): %s\n", s->pushed,
               pf_strerror(st));
        return averror_from(st);
    }
    return 0;
}

static int activate(AVFilterContext *ctx)
{
    PixelfixContext *s = ctx->priv;
    AVFilterLink *inlink = ctx->inputs[0];
    AVFilterLink *outlink = ctx->outputs[0];
    AVFrame *in = NULL;
    int64_t pts;
    int status, ret;

    FF_FILTER_FORWARD_STATUS_BACK(outlink, inlink);

    /* 1. a restored frame is waiting: send it, and come back */
    if (send_one(ctx, &ret)) {
        if (ret >= 0)
            ff_filter_set_ready(ctx, 100);
        return ret;
    }

    /* 2. the stream is drained: after EOF, we are done */
    if (s->eof) {
        ff_outlink_set_status(outlink, AVERROR_EOF, s->eof_pts);
        return 0;
    }

    /* 3. feed one input frame */
    ret = ff_inlink_consume_frame(inlink, &in);
    if (ret < 0)
        return ret;
    if (ret > 0) {
        if ((ret = push_one(ctx, in)) < 0)
            return ret;
        ff_filter_set_ready(ctx, 100);
        return 0;
    }

    /* 4. the input ended: run what is held, then flush it (step 1) */
    if (ff_inlink_acknowledge_status(inlink, &status, &pts)) {
        s->eof_pts = pts;
        if (status != AVERROR_EOF) {
            ff_outlink_set_status(outlink, status, pts);
            return 0;
        }
        if ((ret = finish(ctx)) < 0)
            return ret;
        ff_filter_set_ready(ctx, 100);
        return 0;
    }

    FF_FILTER_FORWARD_WANTED(outlink, inlink);
    return FFERROR_NOT_READY;
}

static av_cold void uninit(AVFilterContext *ctx)
{
    PixelfixContext *s = ctx->priv;
    AVFrame *f;

    if (s->props) {
        while (av_fifo_read(s->props, &f, 1) >= 0)
            av_frame_free(&f);
        av_fifo_freep2(&s->props);
    }
    pf_stream_close(s->st);
    s->st = NULL;
    pf_model_free(s->pm);
    s->pm = NULL;
    av_freep(&s->rgba);
    av_freep(&s->matte_row);
    pf_rgba_converter_free(s->conv);
    s->conv = NULL;
}

static const AVFilterPad pixelfix_inputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .config_props = config_input,
    },
};

static const AVFilterPad pixelfix_outputs[] = {
    {
        .name         = "default",
        .type         = AVMEDIA_TYPE_VIDEO,
        .config_props = config_output,
    },
};

const AVFilter ff_vf_pixelfix = {
    .name          = "pixelfix",
    .description   = NULL_IF_CONFIG_SMALL("Restore pseudo pixel art to clean pixel art (native grid, "
                                          "one palette, no flicker)."),
    .priv_size     = sizeof(PixelfixContext),
    .priv_class    = &pixelfix_class,
    .init          = init,
    .activate      = activate,
    .uninit        = uninit,
    FILTER_INPUTS(pixelfix_inputs),
    FILTER_OUTPUTS(pixelfix_outputs),
    FILTER_QUERY_FUNC(query_formats),
};
