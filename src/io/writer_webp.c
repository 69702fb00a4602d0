/*
 * writer_webp.c - animated lossless WebP, one ANMF frame per input frame:
 * each frame is encoded as a full-canvas lossless still (WebPEncode, exact
 * RGBA) and the stills are assembled with the WebPMux API (libwebp 1.2,
 * mux.h). Not WebPAnimEncoder: that one merges identical consecutive frames
 * into one with the summed duration, and pixelfix keeps held frames apart
 * (count out == count in). A single frame comes out as a still (the mux
 * drops the ANMF/ANIM chunks then), so its duration is not stored.
 */
#include "io/encode.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

/* ANMF durations are 24-bit (WebP container spec, "ANMF" chunk). */
#define WEBP_MAX_FRAME_MS 0xFFFFFF

/* libwebp's success conventions, turned into a pf_status in this one place:
 * the encoder returns non-zero on success and leaves the reason in
 * WebPPicture.error_code (pic may be NULL when there is none); the mux
 * returns WEBP_MUX_OK. Failures are logged with `what`. */
static pf_status webp_enc_status(int ok, const WebPPicture *pic, const char *what,
                                 const pfi_logger *lg)
{
    if (ok) return PF_OK;
    if (!pic || pic->error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ||
        pic->error_code == VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY)
        return PF_ENOMEM;   /* the picture import fails only for memory */
    pfi_error(lg, "WebP encoding failed (%s): libwebp error %d", what, (int)pic->error_code);
    return PF_EOUTPUT;
}

static pf_status webp_mux_status(WebPMuxError e, const char *what, const pfi_logger *lg)
{
    if (e == WEBP_MUX_OK) return PF_OK;
    if (e == WEBP_MUX_MEMORY_ERROR) return PF_ENOMEM;
    pfi_error(lg, "WebP muxing failed (%s): libwebp mux error %d", what, (int)e);
    return PF_EOUTPUT;
}

/* Checks what WebP can hold before anything is written: a canvas within
 * WEBP_MAX_DIMENSION, frames with pixels and 1..2^24-1 ms durations, and a
 * total that fits the int timestamps of libwebp's decoders. Errors: PF_EINVAL. */
static pf_status check_anim(const pfi_anim *a, const pfi_logger *lg)
{
    int64_t total = 0;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pfi_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    if (a->width > WEBP_MAX_DIMENSION || a->height > WEBP_MAX_DIMENSION) {
        pfi_error(lg, "WebP frames are at most %d pixels wide and high (have %dx%d)",
                 WEBP_MAX_DIMENSION, a->width, a->height);
        return PF_EINVAL;
    }
    for (int f = 0; f < a->count; f++) {
        int d = a->frames[f].duration_ms;
        if (!a->frames[f].rgba || d <= 0 || d > WEBP_MAX_FRAME_MS) {
            pfi_error(lg, "frame %d has no pixels or a duration outside 1..%d ms", f,
                     WEBP_MAX_FRAME_MS);
            return PF_EINVAL;
        }
        total += d;
    }
    if (total > INT_MAX) {
        pfi_error(lg, "the animation is too long for WebP timestamps");
        return PF_EINVAL;
    }
    return PF_OK;
}

/* a (count, H, W, 4) RGBA8 -> lossless animated WebP at path, atomically:
 * exactly one full-canvas ANMF frame per input frame (no blending, no
 * merging of identical frames) with its own duration (ms), loop count from
 * a->loop (0 = forever, clamped to 65535), transparent background.
 * Errors: PF_EINVAL, PF_EEXIST, PF_EOUTPUT, PF_ENOMEM.
 * Source: libwebp encode.h / mux.h, WebP container spec (ANIM, ANMF). */
pf_status pfi_write_webp(const char *path, const pfi_anim *a,
                        const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_outfile of = {.fd = -1};
    WebPConfig cfg;
    WebPPicture pic;
    WebPMemoryWriter wr;
    WebPMux *mux = NULL;
    WebPMuxAnimParams anim;
    WebPData data;
    int pic_ready = 0;
    pf_status st;
    int force = o ? o->force : 0;

    WebPDataInit(&data);
    WebPMemoryWriterInit(&wr);
    if (!path) return PF_EINVAL;
    if ((st = check_anim(a, lg)) < 0) return st;
    if ((st = pfi_outfile_open(&of, path, force, lg)) < 0) return st;

    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic)) {
        pfi_error(lg, "libwebp version mismatch");
        st = PF_EINTERNAL;
        goto fail;
    }
    pic_ready = 1;
    cfg.lossless = 1;
    cfg.exact = 1;        /* keep RGB under alpha = 0 as well */
    cfg.quality = 75;     /* lossless: effort, not fidelity */
    cfg.method = 4;
    if (!WebPValidateConfig(&cfg)) {
        pfi_error(lg, "invalid WebP configuration");
        st = PF_EINTERNAL;
        goto fail;
    }
    pic.use_argb = 1;
    pic.width = a->width;
    pic.height = a->height;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &wr;
    if (!(mux = WebPMuxNew())) {
        st = PF_ENOMEM;
        goto fail;
    }
    if ((st = webp_mux_status(WebPMuxSetCanvasSize(mux, a->width, a->height), "canvas",
                              lg)) < 0)
        goto fail;

    for (int f = 0; f < a->count; f++) {
        WebPMuxFrameInfo fi;
        if ((st = webp_enc_status(WebPPictureImportRGBA(&pic, a->frames[f].rgba,
                                                        a->width * 4), NULL, "import", lg)) < 0 ||
            (st = webp_enc_status(WebPEncode(&cfg, &pic), &pic, "frame", lg)) < 0)
            goto fail;
        memset(&fi, 0, sizeof fi);
        fi.bitstream.bytes = wr.mem;
        fi.bitstream.size = wr.size;
        fi.x_offset = 0;
        fi.y_offset = 0;
        fi.duration = a->frames[f].duration_ms;
        fi.id = WEBP_CHUNK_ANMF;
        /* Full canvas, no blending: every frame replaces every pixel, alpha
         * included, so disposal never shows. */
        fi.dispose_method = WEBP_MUX_DISPOSE_NONE;
        fi.blend_method = WEBP_MUX_NO_BLEND;
        /* copy_data = 1: the mux keeps its own copy, so the writer's buffer
         * is reused for the next frame. */
        if ((st = webp_mux_status(WebPMuxPushFrame(mux, &fi, 1), "frame", lg)) < 0) goto fail;
        WebPMemoryWriterClear(&wr);
    }

    anim.bgcolor = 0x00000000;   /* transparent (the alpha byte is 0) */
    anim.loop_count = a->loop < 0 ? 0 : a->loop > 65535 ? 65535 : a->loop;
    if ((st = webp_mux_status(WebPMuxSetAnimationParams(mux, &anim), "loop", lg)) < 0 ||
        (st = webp_mux_status(WebPMuxAssemble(mux, &data), "assemble", lg)) < 0)
        goto fail;
    if (pfi_write_all(of.fd, data.bytes, data.size) < 0) {
        pfi_error(lg, "cannot write '%s': %s", path, strerror(errno));
        st = PF_EOUTPUT;
        goto fail;
    }
    if ((st = pfi_outfile_close(&of, lg)) < 0) goto fail;
    st = PF_OK;
    goto done;
fail:
    pfi_outfile_abort(&of);
done:
    WebPDataClear(&data);
    WebPMuxDelete(mux);
    WebPMemoryWriterClear(&wr);
    if (pic_ready) WebPPictureFree(&pic);
    return st;
}
