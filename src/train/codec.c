/*
 * codec.c - the lossy round trips of the training degradations, in memory:
 * Y'CbCr 4:2:0, H.264 (libx264 + h264 decoder), MJPEG (libavcodec), lossy
 * WebP (libwebp) and GIF palette quantisation with dithering (own median
 * cut). What each keeps and loses is in codec.h. Not a file writer.
 */
#include "train/codec.h"
#include "io/io.h"

#include <math.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <webp/decode.h>
#include <webp/encode.h>

#define CODEC_MAX_SIDE 16384

/* Checks the (n, h, w, 4) shape and returns the bytes of one frame, 0 when
 * the arguments are bad or a product overflows. */
static size_t frame_bytes(const uint8_t *rgba, int n, int w, int h)
{
    size_t b, all;
    if (!rgba || n <= 0 || w <= 0 || h <= 0 || w > CODEC_MAX_SIDE || h > CODEC_MAX_SIDE)
        return 0;
    if (!pfi_mul4_size(&b, (size_t)w, (size_t)h, 4, 1) ||
        !pfi_mul_size(&all, b, (size_t)n))
        return 0;
    return b;
}

/* ---- Y'CbCr ------------------------------------------------------------ */

/* Coefficients of one matrix and range: Y8 = yo + ys * Y, C8 = 128 + cs * C
 * with Y = kr R + kg G + kb B and C in -127.5..127.5 (BT.601-7 sec. 2.5). */
typedef struct yuv_coef {
    float kr, kg, kb;
    float ys, yo, cs;
} yuv_coef;

static yuv_coef yuv_coef_make(pfi_yuv_matrix m, int full_range)
{
    yuv_coef c;
    c.kr = m == PF_YUV_BT709 ? 0.2126f : 0.299f;
    c.kb = m == PF_YUV_BT709 ? 0.0722f : 0.114f;
    c.kg = 1.0f - c.kr - c.kb;
    c.ys = full_range ? 1.0f : 219.0f / 255.0f;
    c.yo = full_range ? 0.0f : 16.0f;
    c.cs = full_range ? 1.0f : 224.0f / 255.0f;
    return c;
}

static inline uint8_t u8f(float v)
{
    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
    return (uint8_t)(v + 0.5f);
}

/* rgba (h, w, 4) -> planes Y (h, w), U and V ((h+1)/2, (w+1)/2), strides in
 * bytes; chroma = mean over the pixels of each 2x2 block that exist. */
static void rgb_to_yuv420(const uint8_t *rgba, int w, int h, uint8_t *py, int sy,
                          uint8_t *pu, int su, uint8_t *pv, int sv, const yuv_coef *c)
{
    const float cb_k = 0.5f / (1.0f - c->kb), cr_k = 0.5f / (1.0f - c->kr);
    for (int y = 0; y < h; y += 2) {
        int rows = y + 1 < h ? 2 : 1;
        for (int x = 0; x < w; x += 2) {
            int cols = x + 1 < w ? 2 : 1;
            float cb = 0.0f, cr = 0.0f;
            for (int dy = 0; dy < rows; dy++)
                for (int dx = 0; dx < cols; dx++) {
                    const uint8_t *p = rgba + ((size_t)(y + dy) * (size_t)w + (size_t)(x + dx)) * 4;
                    float r = p[0], g = p[1], b = p[2];
                    float yy = c->kr * r + c->kg * g + c->kb * b;
                    py[(size_t)(y + dy) * (size_t)sy + (size_t)(x + dx)] = u8f(c->yo + c->ys * yy);
                    cb += (b - yy) * cb_k;
                    cr += (r - yy) * cr_k;
                }
            cb /= (float)(rows * cols);
            cr /= (float)(rows * cols);
            pu[(size_t)(y / 2) * (size_t)su + (size_t)(x / 2)] = u8f(128.0f + c->cs * cb);
            pv[(size_t)(y / 2) * (size_t)sv + (size_t)(x / 2)] = u8f(128.0f + c->cs * cr);
        }
    }
}

/* Bilinear 2x upsampling tap of centre-sited chroma: output i reads
 * chroma at i/2 - 0.25 (indices clamped to 0..n-1). */
static inline void chroma_tap(int i, int n, int *i0, int *i1, float *f)
{
    float cpos = 0.5f * (float)i - 0.25f;
    int a = (int)floorf(cpos);
    *f = cpos - (float)a;
    *i0 = a < 0 ? 0 : a > n - 1 ? n - 1 : a;
    *i1 = a + 1 > n - 1 ? n - 1 : a + 1 < 0 ? 0 : a + 1;
}

/* Planes -> rgba (h, w, 4); alpha set to 255 when set_alpha, else kept. */
static void yuv420_to_rgb(const uint8_t *py, int sy, const uint8_t *pu, int su,
                          const uint8_t *pv, int sv, int w, int h, uint8_t *rgba,
                          int set_alpha, const yuv_coef *c)
{
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    const float cr_r = 2.0f * (1.0f - c->kr) / c->cs, cb_b = 2.0f * (1.0f - c->kb) / c->cs;
    for (int y = 0; y < h; y++) {
        int y0, y1;
        float fy;
        chroma_tap(y, ch, &y0, &y1, &fy);
        const uint8_t *u0 = pu + (size_t)y0 * (size_t)su, *u1 = pu + (size_t)y1 * (size_t)su;
        const uint8_t *v0 = pv + (size_t)y0 * (size_t)sv, *v1 = pv + (size_t)y1 * (size_t)sv;
        uint8_t *o = rgba + (size_t)y * (size_t)w * 4;
        for (int x = 0; x < w; x++, o += 4) {
            int x0, x1;
            float fx;
            chroma_tap(x, cw, &x0, &x1, &fx);
            float u = (1 - fy) * ((1 - fx) * u0[x0] + fx * u0[x1]) +
                      fy * ((1 - fx) * u1[x0] + fx * u1[x1]) - 128.0f;
            float v = (1 - fy) * ((1 - fx) * v0[x0] + fx * v0[x1]) +
                      fy * ((1 - fx) * v1[x0] + fx * v1[x1]) - 128.0f;
            float yy = ((float)py[(size_t)y * (size_t)sy + (size_t)x] - c->yo) / c->ys;
            float r = yy + cr_r * v, b = yy + cb_b * u;
            float g = (yy - c->kr * r - c->kb * b) / c->kg;
            o[0] = u8f(r);
            o[1] = u8f(g);
            o[2] = u8f(b);
            if (set_alpha) o[3] = 255;
        }
    }
}

pf_status pfi_codec_chroma420(uint8_t *rgba, int n, int w, int h, pfi_yuv_matrix m,
                             int full_range)
{
    size_t fb = frame_bytes(rgba, n, w, h);
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    uint8_t *py, *pu, *pv;
    yuv_coef c = yuv_coef_make(m, full_range);

    if (!fb) return PF_EINVAL;
    py = pfi_malloc4((size_t)w, (size_t)h, 1, 1);
    pu = pfi_malloc4((size_t)cw, (size_t)ch, 1, 1);
    pv = pfi_malloc4((size_t)cw, (size_t)ch, 1, 1);
    if (!py || !pu || !pv) {
        free(py);
        free(pu);
        free(pv);
        return PF_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        uint8_t *f = rgba + (size_t)i * fb;
        rgb_to_yuv420(f, w, h, py, w, pu, cw, pv, cw, &c);
        yuv420_to_rgb(py, w, pu, cw, pv, cw, w, h, f, 0, &c);
    }
    free(py);
    free(pu);
    free(pv);
    return PF_OK;
}

/* ---- libavcodec round trips -------------------------------------------- */

/* The round trips' libav calls: our own input is always well formed, so a
 * failure other than ENOMEM is internal. */
static pf_status av_status(int r, const char *step, const pfi_logger *lg)
{
    return pfi_av_status(r, PF_EINTERNAL, "degrade codec round trip", step, lg);
}

/* An encoder -> decoder pair working on one clip, frames decoded back
 * into the clip in order. */
typedef struct av_trip {
    AVCodecContext *enc, *dec;
    AVFrame *in, *out;
    AVPacket *pkt;
    uint8_t *rgba;     /* (n, h, w, 4) */
    size_t fb;         /* bytes per frame */
    int n, w, h, got;  /* got: frames decoded so far */
    yuv_coef coef;
    const pfi_logger *lg;
} av_trip;

/* Writes every frame the decoder has ready into the next clip slot. */
static pf_status trip_receive(av_trip *t)
{
    int r;
    while ((r = avcodec_receive_frame(t->dec, t->out)) >= 0) {
        AVFrame *f = t->out;
        if ((f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P) ||
            f->width != t->w || f->height != t->h || t->got >= t->n) {
            pfi_error(t->lg, "degrade codec round trip: unexpected decoded frame %d (%dx%d, "
                     "format %d)", t->got, f->width, f->height, f->format);
            av_frame_unref(f);
            return PF_EINTERNAL;
        }
        yuv420_to_rgb(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
                      f->linesize[2], t->w, t->h, t->rgba + (size_t)t->got * t->fb, 1, &t->coef);
        t->got++;
        av_frame_unref(f);
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) return av_status(r, "decode", t->lg);
    return PF_OK;
}

/* Moves every packet the encoder has ready through the decoder. */
static pf_status trip_pump(av_trip *t)
{
    pf_status st;
    int r;
    while ((r = avcodec_receive_packet(t->enc, t->pkt)) >= 0) {
        r = avcodec_send_packet(t->dec, t->pkt);
        av_packet_unref(t->pkt);
        if (r < 0) return av_status(r, "decode", t->lg);
        if ((st = trip_receive(t)) < 0) return st;
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF) return av_status(r, "encode", t->lg);
    return PF_OK;
}

/* Encodes every frame (converted to the encoder's 4:2:0 planes), then
 * flushes encoder and decoder; t->enc/dec must be open. */
static pf_status trip_run(av_trip *t, int qscale_lambda)
{
    pf_status st;
    t->in->format = t->enc->pix_fmt;
    t->in->width = t->w;
    t->in->height = t->h;
    if ((st = av_status(av_frame_get_buffer(t->in, 0), "frame", t->lg)) < 0) return st;
    for (int i = 0; i < t->n; i++) {
        /* The encoder may still reference the previous picture. */
        if ((st = av_status(av_frame_make_writable(t->in), "frame", t->lg)) < 0) return st;
        /* the planes' padding too (a fresh buffer's is uninitialised): the
         * encoder reads past the picture's width (measured: libx264
         * veryfast gave different bitstreams for the same frames) */
        for (int p = 0; p < 3; p++)
            memset(t->in->data[p], 0, (size_t)t->in->linesize[p] * (size_t)(p ? (t->h + 1) / 2 : t->h));
        rgb_to_yuv420(t->rgba + (size_t)i * t->fb, t->w, t->h, t->in->data[0],
                      t->in->linesize[0], t->in->data[1], t->in->linesize[1], t->in->data[2],
                      t->in->linesize[2], &t->coef);
        t->in->pts = i;
        if (qscale_lambda > 0) t->in->quality = qscale_lambda;
        if ((st = av_status(avcodec_send_frame(t->enc, t->in), "encode", t->lg)) < 0 ||
            (st = trip_pump(t)) < 0)
            return st;
    }
    if ((st = av_status(avcodec_send_frame(t->enc, NULL), "flush encoder", t->lg)) < 0 ||
        (st = trip_pump(t)) < 0 ||
        (st = av_status(avcodec_send_packet(t->dec, NULL), "flush decoder", t->lg)) < 0 ||
        (st = trip_receive(t)) < 0)
        return st;
    if (t->got != t->n) {
        pfi_error(t->lg, "degrade codec round trip: %d frames in, %d out", t->n, t->got);
        return PF_EINTERNAL;
    }
    return PF_OK;
}

static void trip_free(av_trip *t)
{
    avcodec_free_context(&t->enc);
    avcodec_free_context(&t->dec);
    av_frame_free(&t->in);
    av_frame_free(&t->out);
    av_packet_free(&t->pkt);
}

/* Finds the codecs and allocates the contexts, frames and packet. */
static pf_status trip_init(av_trip *t, const AVCodec *ec, const AVCodec *dc, uint8_t *rgba,
                           size_t fb, int n, int w, int h, yuv_coef coef, const pfi_logger *lg)
{
    memset(t, 0, sizeof *t);
    t->rgba = rgba;
    t->fb = fb;
    t->n = n;
    t->w = w;
    t->h = h;
    t->coef = coef;
    t->lg = lg;
    /* libx264 and the decoders log progress at INFO; keep stderr quiet
     * (the same rule as src/io/writer_video.c). */
    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    if (!ec || !dc) {
        pfi_error(lg, "degrade: this FFmpeg lacks the %s", !ec ? "encoder" : "decoder");
        return PF_EINTERNAL;
    }
    if (!(t->enc = avcodec_alloc_context3(ec)) || !(t->dec = avcodec_alloc_context3(dc)) ||
        !(t->in = av_frame_alloc()) || !(t->out = av_frame_alloc()) ||
        !(t->pkt = av_packet_alloc()))
        return PF_ENOMEM;
    t->enc->width = w;
    t->enc->height = h;
    t->enc->time_base = (AVRational){1, 24};
    t->enc->framerate = (AVRational){24, 1};
    t->enc->sample_aspect_ratio = (AVRational){1, 1};
    t->enc->thread_count = 1;
    t->dec->thread_count = 1;
    return PF_OK;
}

pf_status pfi_codec_h264(uint8_t *rgba, int n, int w, int h, int crf, int preset,
                        pfi_yuv_matrix m, const pfi_logger *lg)
{
    static const char *const presets[] = {"ultrafast", "superfast", "veryfast"};
    size_t fb = frame_bytes(rgba, n, w, h);
    AVDictionary *opts = NULL;
    av_trip t;
    char buf[16];
    pf_status st;

    if (!fb || (w & 1) || (h & 1) || crf < 0 || crf > 51 || preset < 0 || preset > 2)
        return PF_EINVAL;
    st = trip_init(&t, avcodec_find_encoder_by_name("libx264"),
                   avcodec_find_decoder(AV_CODEC_ID_H264), rgba, fb, n, w, h,
                   yuv_coef_make(m, 0), lg);
    if (st < 0) goto done;
    t.enc->pix_fmt = AV_PIX_FMT_YUV420P;
    t.enc->color_range = AVCOL_RANGE_MPEG;
    t.enc->colorspace = m == PF_YUV_BT709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    snprintf(buf, sizeof buf, "%d", crf);
    av_dict_set(&opts, "crf", buf, 0);
    av_dict_set(&opts, "preset", presets[preset], 0);
    /* x264's macroblock tree lookahead reads memory it did not set on
     * short clips: with it, veryfast gave different frames from run to run
     * for the same input (MALLOC_PERTURB_ shows it). Without, they repeat. */
    av_dict_set(&opts, "x264-params", "mbtree=0", 0);
    if ((st = av_status(avcodec_open2(t.enc, t.enc->codec, &opts), "open libx264", lg)) < 0 ||
        (st = av_status(avcodec_open2(t.dec, t.dec->codec, NULL), "open h264 decoder", lg)) < 0)
        goto done;
    st = trip_run(&t, 0);
done:
    av_dict_free(&opts);
    trip_free(&t);
    return st;
}

pf_status pfi_codec_mjpeg(uint8_t *rgba, int n, int w, int h, int qscale, const pfi_logger *lg)
{
    size_t fb = frame_bytes(rgba, n, w, h);
    av_trip t;
    pf_status st;

    if (!fb || (w & 1) || (h & 1) || qscale < 1 || qscale > 31) return PF_EINVAL;
    st = trip_init(&t, avcodec_find_encoder(AV_CODEC_ID_MJPEG),
                   avcodec_find_decoder(AV_CODEC_ID_MJPEG), rgba, fb, n, w, h,
                   yuv_coef_make(PF_YUV_BT601, 1), lg);
    if (st < 0) goto done;
    t.enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    t.enc->color_range = AVCOL_RANGE_JPEG;
    t.enc->flags |= AV_CODEC_FLAG_QSCALE;
    t.enc->global_quality = FF_QP2LAMBDA * qscale;
    if ((st = av_status(avcodec_open2(t.enc, t.enc->codec, NULL), "open mjpeg encoder", lg)) < 0 ||
        (st = av_status(avcodec_open2(t.dec, t.dec->codec, NULL), "open mjpeg decoder", lg)) < 0)
        goto done;
    st = trip_run(&t, FF_QP2LAMBDA * qscale);
done:
    trip_free(&t);
    return st;
}

/* ---- WebP ---------------------------------------------------------------- */

pf_status pfi_codec_webp(uint8_t *rgba, int n, int w, int h, int quality, int keep_alpha,
                        const pfi_logger *lg)
{
    size_t fb = frame_bytes(rgba, n, w, h);
    if (!fb || quality < 0 || quality > 100) return PF_EINVAL;
    for (int i = 0; i < n; i++) {
        uint8_t *f = rgba + (size_t)i * fb, *enc = NULL, *dec;
        size_t size;
        int dw = 0, dh = 0;
        if (!keep_alpha)
            for (size_t k = 3; k < fb; k += 4) f[k] = 255;
        /* libwebp returns 0 bytes on failure: its only error signal here. */
        size = WebPEncodeRGBA(f, w, h, w * 4, (float)quality, &enc);
        if (!size) {
            WebPFree(enc);
            pfi_error(lg, "degrade: WebP encode of frame %d failed", i);
            return PF_EINTERNAL;
        }
        dec = WebPDecodeRGBA(enc, size, &dw, &dh);
        WebPFree(enc);
        if (!dec || dw != w || dh != h) {
            WebPFree(dec);
            pfi_error(lg, "degrade: WebP decode of frame %d failed", i);
            return PF_EINTERNAL;
        }
        memcpy(f, dec, fb);
        WebPFree(dec);
        for (size_t k = 0; k < fb; k += 4)
            if (!f[k + 3]) f[k] = f[k + 1] = f[k + 2] = 0;
    }
    return PF_OK;
}

/* ---- GIF quantisation ------------------------------------------------------ */

#define HB 5                     /* histogram bits per channel */
#define HN (1 << (3 * HB))       /* histogram cells */

static inline int hcell(int r, int g, int b)
{
    return ((r >> (8 - HB)) << (2 * HB)) | ((g >> (8 - HB)) << HB) | (b >> (8 - HB));
}

/* One non-empty histogram cell: its pixel count, channel sums and mean. */
typedef struct hbin {
    uint64_t sum[3];
    uint32_t cnt;
    uint32_t key;      /* sort key: the split channel first, then the others */
    uint8_t mean[3];
} hbin;

/* A median-cut box: bins [lo, hi) of the bin array. */
typedef struct hbox {
    int lo, hi;
    int axis;      /* channel of the largest spread */
    double sse;    /* count-weighted squared error of the bin means, 0 = unsplittable */
} hbox;

/* The nearest-colour search: per histogram cell, the palette entries that
 * can be nearest to some colour of that cell, built on first use
 * (Heckbert's locally sorted search, exact). */
typedef struct gifq {
    uint32_t *cnt;           /* (HN) */
    uint64_t (*sum)[3];      /* (HN, 3) */
    hbin *bins;              /* (HN) */
    int32_t *off;            /* (HN) candidate list offset in pool, -1 = not built */
    uint16_t *len;           /* (HN) */
    uint8_t *pool;
    size_t npool, cap_pool;
    uint8_t pal[256][3];
    int npal;
} gifq;

/* Bin means are distinct (each lies inside its own cell), so the key
 * order is total and the sort result does not depend on qsort's method. */
static int bin_cmp(const void *pa, const void *pb)
{
    const hbin *a = pa, *b = pb;
    return a->key < b->key ? -1 : a->key > b->key;
}

static void box_measure(const hbin *bins, hbox *bx)
{
    uint64_t cnt = 0;
    double s[3] = {0, 0, 0}, sse = 0.0;
    int mn[3] = {255, 255, 255}, mx[3] = {0, 0, 0};
    for (int i = bx->lo; i < bx->hi; i++) {
        cnt += bins[i].cnt;
        for (int c = 0; c < 3; c++) {
            s[c] += (double)bins[i].sum[c];
            if (bins[i].mean[c] < mn[c]) mn[c] = bins[i].mean[c];
            if (bins[i].mean[c] > mx[c]) mx[c] = bins[i].mean[c];
        }
    }
    bx->axis = 0;
    for (int c = 1; c < 3; c++)
        if (mx[c] - mn[c] > mx[bx->axis] - mn[bx->axis]) bx->axis = c;
    if (bx->hi - bx->lo < 2 || cnt == 0) {
        bx->sse = 0.0;
        return;
    }
    for (int i = bx->lo; i < bx->hi; i++)
        for (int c = 0; c < 3; c++) {
            double d = bins[i].mean[c] - s[c] / (double)cnt;
            sse += (double)bins[i].cnt * d * d;
        }
    bx->sse = sse > 0.0 ? sse : 1e-9;
}

/* Median cut of the opaque pixels of frames [f0, f1) into at most ncol
 * entries of q->pal: split the box of largest squared error along its
 * widest channel at the pixel-weighted median. */
static void gif_palette(gifq *q, const uint8_t *rgba, size_t fb, int f0, int f1, int ncol)
{
    hbox boxes[256];
    int nb = 0, nbox;

    memset(q->cnt, 0, HN * sizeof *q->cnt);
    memset(q->sum, 0, HN * sizeof *q->sum);
    for (int f = f0; f < f1; f++) {
        const uint8_t *p = rgba + (size_t)f * fb, *end = p + fb;
        for (; p < end; p += 4) {
            int cell;
            if (p[3] < 128) continue;
            cell = hcell(p[0], p[1], p[2]);
            q->cnt[cell]++;
            q->sum[cell][0] += p[0];
            q->sum[cell][1] += p[1];
            q->sum[cell][2] += p[2];
        }
    }
    for (int i = 0; i < HN; i++) {
        if (!q->cnt[i]) continue;
        hbin *b = &q->bins[nb++];
        b->cnt = q->cnt[i];
        for (int c = 0; c < 3; c++) {
            b->sum[c] = q->sum[i][c];
            b->mean[c] = (uint8_t)((q->sum[i][c] + b->cnt / 2) / b->cnt);
        }
    }
    q->npal = 0;
    if (!nb) return;
    boxes[0] = (hbox){0, nb, 0, 0.0};
    box_measure(q->bins, &boxes[0]);
    for (nbox = 1; nbox < ncol;) {
        int best = -1, cut;
        uint64_t total = 0, acc = 0;
        for (int i = 0; i < nbox; i++)
            if (boxes[i].sse > 0.0 && (best < 0 || boxes[i].sse > boxes[best].sse)) best = i;
        if (best < 0) break;
        hbox *bx = &boxes[best];
        for (int i = bx->lo; i < bx->hi; i++) {
            const uint8_t *m = q->bins[i].mean;
            int a = bx->axis;
            q->bins[i].key = (uint32_t)m[a] << 16 | (uint32_t)m[(a + 1) % 3] << 8 | m[(a + 2) % 3];
        }
        qsort(q->bins + bx->lo, (size_t)(bx->hi - bx->lo), sizeof *q->bins, bin_cmp);
        for (int i = bx->lo; i < bx->hi; i++) total += q->bins[i].cnt;
        /* Weighted median: the first bin where half the pixels are behind. */
        for (cut = bx->lo; cut < bx->hi - 1; cut++) {
            acc += q->bins[cut].cnt;
            if (2 * acc >= total) break;
        }
        cut++;
        if (cut >= bx->hi) cut = bx->hi - 1;
        boxes[nbox] = (hbox){cut, bx->hi, 0, 0.0};
        bx->hi = cut;
        box_measure(q->bins, bx);
        box_measure(q->bins, &boxes[nbox]);
        nbox++;
    }
    for (int i = 0; i < nbox; i++) {
        uint64_t cnt = 0, s[3] = {0, 0, 0};
        for (int k = boxes[i].lo; k < boxes[i].hi; k++) {
            cnt += q->bins[k].cnt;
            for (int c = 0; c < 3; c++) s[c] += q->bins[k].sum[c];
        }
        for (int c = 0; c < 3; c++) q->pal[i][c] = (uint8_t)((s[c] + cnt / 2) / cnt);
    }
    q->npal = nbox;
    memset(q->off, 0xff, HN * sizeof *q->off);
    q->npool = 0;
}

/* Builds the candidate list of one histogram cell. Errors: PF_ENOMEM. */
static pf_status gif_cell(gifq *q, int cell)
{
    int lo[3] = {((cell >> (2 * HB)) & 31) << 3, ((cell >> HB) & 31) << 3, (cell & 31) << 3};
    int32_t best = INT32_MAX, dmin[256];
    for (int i = 0; i < q->npal; i++) {
        int32_t dn = 0, dx = 0;
        for (int c = 0; c < 3; c++) {
            int v = q->pal[i][c], l = lo[c], hgh = lo[c] + 7;
            int near = v < l ? l - v : v > hgh ? v - hgh : 0;
            int far = v - l > hgh - v ? v - l : hgh - v;
            dn += near * near;
            dx += far * far;
        }
        dmin[i] = dn;
        if (dx < best) best = dx;
    }
    if (q->npool + (size_t)q->npal > q->cap_pool) {
        size_t ncap = q->cap_pool ? q->cap_pool * 2 : 4096;
        uint8_t *np;
        while (ncap < q->npool + (size_t)q->npal) ncap *= 2;
        if (!(np = realloc(q->pool, ncap))) return PF_ENOMEM;
        q->pool = np;
        q->cap_pool = ncap;
    }
    q->off[cell] = (int32_t)q->npool;
    for (int i = 0; i < q->npal; i++)
        if (dmin[i] <= best) q->pool[q->npool++] = (uint8_t)i;
    q->len[cell] = (uint16_t)(q->npool - (size_t)q->off[cell]);
    return PF_OK;
}

/* Index of the nearest palette entry (squared RGB distance, ties to the
 * lower index); -1 on allocation failure. */
static int gif_nearest(gifq *q, int r, int g, int b)
{
    int cell = hcell(r, g, b), best = 0;
    int32_t bd = INT32_MAX;
    const uint8_t *cand;
    if (q->off[cell] < 0 && gif_cell(q, cell) < 0) return -1;
    cand = q->pool + q->off[cell];
    for (int k = 0; k < q->len[cell]; k++) {
        const uint8_t *p = q->pal[cand[k]];
        int32_t d = (p[0] - r) * (p[0] - r) + (p[1] - g) * (p[1] - g) + (p[2] - b) * (p[2] - b);
        if (d < bd) {
            bd = d;
            best = cand[k];
        }
    }
    return best;
}

/* Bayer threshold matrix of side n (2, 4, 8): values 0..n*n-1. */
static void bayer(int n, int m[8][8])
{
    m[0][0] = 0;
    for (int s = 1; s < n; s *= 2)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                int v = 4 * m[y][x];
                m[y][x] = v;
                m[y][x + s] = v + 2;
                m[y + s][x] = v + 3;
                m[y + s][x + s] = v + 1;
            }
}

static inline int clamp255(float v)
{
    return v < 0.0f ? 0 : v > 255.0f ? 255 : (int)(v + 0.5f);
}

/* Maps one frame onto q->pal with the dither; alpha already 0 or 255.
 * err: (2, w + 2, 3) floats of scratch for Floyd-Steinberg. */
static pf_status gif_map(gifq *q, uint8_t *f, int w, int h, pfi_gif_dither dither,
                         int bayer_shift, float *err)
{
    int bm[8][8], bn = dither == PF_GIF_DITHER_BAYER4 ? 4 : 8;
    float amp = (float)(64 >> bayer_shift);
    float *cur = err, *nxt = err + (size_t)(w + 2) * 3;

    if (dither == PF_GIF_DITHER_BAYER4 || dither == PF_GIF_DITHER_BAYER8) bayer(bn, bm);
    if (dither == PF_GIF_DITHER_FS) memset(err, 0, sizeof(float) * (size_t)(w + 2) * 6);
    for (int y = 0; y < h; y++) {
        if (dither == PF_GIF_DITHER_FS) {
            float *t = cur;
            cur = nxt;
            nxt = t;
            memset(nxt, 0, sizeof(float) * (size_t)(w + 2) * 3);
        }
        for (int x = 0; x < w; x++) {
            uint8_t *p = f + ((size_t)y * (size_t)w + (size_t)x) * 4;
            float v[3] = {p[0], p[1], p[2]};
            int k;
            if (!p[3] || !q->npal) {
                p[0] = p[1] = p[2] = p[3] = 0;
                continue;
            }
            if (dither == PF_GIF_DITHER_FS) {
                for (int c = 0; c < 3; c++) {
                    v[c] += cur[(x + 1) * 3 + c];
                    v[c] = v[c] < 0.0f ? 0.0f : v[c] > 255.0f ? 255.0f : v[c];
                }
            } else if (dither != PF_GIF_DITHER_NONE) {
                float d = ((float)bm[y % bn][x % bn] + 0.5f) / (float)(bn * bn) - 0.5f;
                for (int c = 0; c < 3; c++) v[c] += d * amp;
            }
            if ((k = gif_nearest(q, clamp255(v[0]), clamp255(v[1]), clamp255(v[2]))) < 0)
                return PF_ENOMEM;
            if (dither == PF_GIF_DITHER_FS) {
                for (int c = 0; c < 3; c++) {
                    float e = v[c] - (float)q->pal[k][c];
                    cur[(x + 2) * 3 + c] += e * (7.0f / 16.0f);
                    nxt[x * 3 + c] += e * (3.0f / 16.0f);
                    nxt[(x + 1) * 3 + c] += e * (5.0f / 16.0f);
                    nxt[(x + 2) * 3 + c] += e * (1.0f / 16.0f);
                }
            }
            p[0] = q->pal[k][0];
            p[1] = q->pal[k][1];
            p[2] = q->pal[k][2];
            p[3] = 255;
        }
    }
    return PF_OK;
}

/* 1 when any pixel of frames [f0, f1) is transparent (alpha already 1-bit). */
static int any_transparent(const uint8_t *rgba, size_t fb, int f0, int f1)
{
    for (int f = f0; f < f1; f++) {
        const uint8_t *p = rgba + (size_t)f * fb;
        for (size_t k = 3; k < fb; k += 4)
            if (!p[k]) return 1;
    }
    return 0;
}

pf_status pfi_codec_gif(uint8_t *rgba, int n, int w, int h, int colors, pfi_gif_dither dither,
                       int bayer_shift, int per_frame)
{
    size_t fb = frame_bytes(rgba, n, w, h);
    gifq q;
    float *err = NULL;
    pf_status st = PF_OK;

    if (!fb || colors < 2 || colors > 256 || (int)dither < 0 || dither > PF_GIF_DITHER_FS ||
        bayer_shift < 0 || bayer_shift > 5)
        return PF_EINVAL;
    memset(&q, 0, sizeof q);
    q.cnt = pfi_malloc4(HN, sizeof *q.cnt, 1, 1);
    q.sum = pfi_malloc4(HN, sizeof *q.sum, 1, 1);
    q.bins = pfi_malloc4(HN, sizeof *q.bins, 1, 1);
    q.off = pfi_malloc4(HN, sizeof *q.off, 1, 1);
    q.len = pfi_malloc4(HN, sizeof *q.len, 1, 1);
    err = pfi_malloc4((size_t)w + 2, 6, sizeof *err, 1);
    if (!q.cnt || !q.sum || !q.bins || !q.off || !q.len || !err) {
        st = PF_ENOMEM;
        goto done;
    }
    for (size_t k = 3; k < fb * (size_t)n; k += 4) rgba[k] = rgba[k] >= 128 ? 255 : 0;
    for (int f0 = 0; f0 < n; f0 = per_frame ? f0 + 1 : n) {
        int f1 = per_frame ? f0 + 1 : n;
        int ncol = colors - any_transparent(rgba, fb, f0, f1);
        gif_palette(&q, rgba, fb, f0, f1, ncol);
        for (int f = f0; f < f1; f++)
            if ((st = gif_map(&q, rgba + (size_t)f * fb, w, h, dither, bayer_shift, err)) < 0)
                goto done;
    }
done:
    free(q.cnt);
    free(q.sum);
    free(q.bins);
    free(q.off);
    free(q.len);
    free(q.pool);
    free(err);
    return st;
}
