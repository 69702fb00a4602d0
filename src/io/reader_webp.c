/*
 * reader_webp.c - the WebP back end of the streaming reader (still and
 * animated) through libwebp's WebPAnimDecoder, which composites (blend,
 * dispose) into full non-premultiplied RGBA canvases. The whole file is held
 * in memory, as the decoder requires; frames are decoded one at a time. Not
 * an encoder.
 */
#include "io/reader_impl.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <webp/decode.h>
#include <webp/demux.h>

typedef struct webp_state {
    const uint8_t *data;    /* the whole file; must outlive dec */
    uint8_t *owned;         /* data when this reader read it from disk */
    size_t size;
    WebPAnimDecoder *dec;
    int prev_ts;            /* end time of the last frame, ms */
    int64_t pts_ms;         /* running total of the durations handed out */
    int frames;
} webp_state;

/* libwebp's success convention (non-zero int / VP8_STATUS_OK) in one place. */
static inline int webp_ok(int rc) { return rc != 0; }

/* Reads the whole of path. Errors: PF_EIO, PF_ENOMEM. */
static pf_status slurp(pfi_reader *r, webp_state *w)
{
    struct stat sb;
    FILE *fp = fopen(r->path, "rb");
    pf_status st = PF_OK;

    if (!fp) {
        pfi_error(&r->lg, "cannot open '%s': %s", r->path, strerror(errno));
        return PF_EIO;
    }
    if (fstat(fileno(fp), &sb) != 0 || sb.st_size < 0) {
        pfi_error(&r->lg, "cannot read '%s': %s", r->path, strerror(errno));
        st = PF_EIO;
        goto done;
    }
    if ((uint64_t)sb.st_size > (uint64_t)UINT32_MAX + 8) {   /* RIFF sizes are 32-bit */
        pfi_error(&r->lg, "'%s': %lld bytes is too large for a WebP file", r->path,
                 (long long)sb.st_size);
        st = PF_EFORMAT;
        goto done;
    }
    w->size = (size_t)sb.st_size;
    w->owned = malloc(w->size ? w->size : 1);
    if (!w->owned) { st = PF_ENOMEM; goto done; }
    w->data = w->owned;
    if (fread(w->owned, 1, w->size, fp) != w->size) {
        pfi_error(&r->lg, "cannot read '%s': %s", r->path,
                 ferror(fp) ? strerror(errno) : "file shrank while reading");
        st = PF_EIO;
    }
done:
    fclose(fp);
    return st;
}

/* vtable next: the decoder's canvas for the next frame (valid until the
 * next call). A decode failure after some frames ends the stream. */
static pf_status webp_next(pfi_reader *r, pfi_frame *f)
{
    webp_state *w = r->impl;
    uint8_t *buf = NULL;
    int ts = 0, dur;

    if (!WebPAnimDecoderHasMoreFrames(w->dec)) return PF_DONE;
    if (!webp_ok(WebPAnimDecoderGetNext(w->dec, &buf, &ts)) || !buf) {
        if (w->frames == 0) {
            pfi_error(&r->lg, "'%s': no frame could be decoded from this WebP", r->path);
            return PF_EFORMAT;
        }
        pfi_warn(&r->lg, "'%s': WebP frame %d is damaged; keeping the %d frames read",
                r->path, w->frames + 1, w->frames);
        return PF_DONE;
    }
    /* The decoder's timestamp is the frame's end time; durations are the
     * differences. Like browsers, <= 10 ms (including 0, as in stills) shows
     * as 100 ms. */
    dur = ts - w->prev_ts;
    w->prev_ts = ts;
    if (dur <= 10) dur = 100;
    f->rgba = buf;
    f->duration_ms = dur;
    f->pts_ms = w->pts_ms;
    w->pts_ms += dur;
    w->frames++;
    return PF_OK;
}

/* vtable close: deletes the decoder, then the file bytes it read from. */
static void webp_close(pfi_reader *r)
{
    webp_state *w = r->impl;

    if (!w) return;
    if (w->dec) WebPAnimDecoderDelete(w->dec);
    free(w->owned);
    free(w);
    r->impl = NULL;
}

static const pfi_reader_vt webp_vt = { webp_next, webp_close };

/* Reads the file, checks the canvas from the headers (WebPGetFeatures, no
 * pixel allocation) against the limits, then creates the animation decoder
 * in MODE_RGBA. */
pf_status pfi_reader_open_webp(pfi_reader *r)
{
    WebPBitstreamFeatures feat;
    WebPAnimDecoderOptions opt;
    WebPAnimInfo info;
    WebPData wd;
    webp_state *w;
    pf_status st;

    w = calloc(1, sizeof *w);
    if (!w) return PF_ENOMEM;
    r->impl = w;
    r->vt = &webp_vt;
    r->format = "webp";

    if (r->mem) {
        w->data = r->mem;
        w->size = r->mem_size;
    } else {
        st = slurp(r, w);
        if (st != PF_OK) goto fail;
    }
    if (WebPGetFeatures(w->data, w->size, &feat) != VP8_STATUS_OK) {
        pfi_error(&r->lg, "'%s': not a readable WebP (bad or truncated header)", r->path);
        st = PF_EFORMAT;
        goto fail;
    }
    st = pfi_reader_check_canvas(r, feat.width, feat.height);
    if (st != PF_OK) goto fail;

    if (!webp_ok(WebPAnimDecoderOptionsInit(&opt))) {
        pfi_error(&r->lg, "libwebp demux version mismatch");
        st = PF_EINTERNAL;
        goto fail;
    }
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    wd.bytes = w->data;
    wd.size = w->size;
    w->dec = WebPAnimDecoderNew(&wd, &opt);
    if (!w->dec) {
        pfi_error(&r->lg, "'%s': corrupt or truncated WebP", r->path);
        st = PF_EFORMAT;
        goto fail;
    }
    if (!webp_ok(WebPAnimDecoderGetInfo(w->dec, &info))) {
        pfi_error(&r->lg, "'%s': corrupt WebP (no animation info)", r->path);
        st = PF_EFORMAT;
        goto fail;
    }
    /* The canvas the decoder uses must be the one that was checked. */
    if ((int64_t)info.canvas_width != feat.width || (int64_t)info.canvas_height != feat.height) {
        st = pfi_reader_check_canvas(r, info.canvas_width, info.canvas_height);
        if (st != PF_OK) goto fail;
    }
    r->width = (int)info.canvas_width;
    r->height = (int)info.canvas_height;
    r->frame_count = info.frame_count;
    r->loop = (int)(info.loop_count > INT32_MAX ? 0 : info.loop_count);
    return PF_OK;
fail:
    webp_close(r);
    r->vt = NULL;
    return st;
}
