/*
 * writer_webp.c - animated lossless WebP through libwebp's WebPAnimEncoder
 * (libwebp 1.2, mux.h): timestamps are the running sum of the frame
 * durations, the loop count goes into the ANIM chunk. Not lossy: exact
 * RGBA, so that palette colours survive. Consecutive identical frames may
 * be merged by the encoder into one frame with the summed duration.
 */
#include "encode.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

/* libwebp's convention (non-zero = success), turned into a pf_status in
 * this one place. */
static pf_status webp_check(int ok, WebPAnimEncoder *enc, const char *what, const pf_logger *lg)
{
    const char *msg;
    if (ok) return PF_OK;
    msg = enc ? WebPAnimEncoderGetError(enc) : NULL;
    pf_error(lg, "WebP encoding failed (%s)%s%s", what, msg && *msg ? ": " : "",
             msg ? msg : "");
    return PF_EOUTPUT;
}

/* a (count, H, W, 4) RGBA8 -> lossless animated WebP at path, atomically;
 * frame i starts at the sum of the earlier durations (ms). Errors:
 * PF_EINVAL, PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. Source: libwebp mux.h. */
pf_status pf_write_webp(const char *path, const pf_anim *a,
                        const pf_write_opts *o, const pf_logger *lg)
{
    pf_outfile of = {.fd = -1};
    WebPAnimEncoderOptions eopt;
    WebPAnimEncoder *enc = NULL;
    WebPConfig cfg;
    WebPPicture pic;
    WebPData data;
    int pic_ready = 0;
    int64_t ts = 0;
    pf_status st;
    int force = o ? o->force : 0;

    WebPDataInit(&data);
    if (!path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pf_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    if (a->width > WEBP_MAX_DIMENSION || a->height > WEBP_MAX_DIMENSION) {
        pf_error(lg, "WebP frames are at most %d pixels wide and high (have %dx%d)",
                 WEBP_MAX_DIMENSION, a->width, a->height);
        return PF_EINVAL;
    }
    if ((st = pf_outfile_open(&of, path, force, lg)) < 0) return st;

    if (!WebPAnimEncoderOptionsInit(&eopt) || !WebPConfigInit(&cfg) || !WebPPictureInit(&pic)) {
        pf_error(lg, "libwebp version mismatch");
        st = PF_EOUTPUT;
        goto fail;
    }
    eopt.anim_params.loop_count = a->loop < 0 ? 0 : a->loop > 65535 ? 65535 : a->loop;
    eopt.anim_params.bgcolor = 0x00000000;   /* transparent (BGRA order) */
    eopt.allow_mixed = 0;                    /* every frame lossless */
    cfg.lossless = 1;
    cfg.exact = 1;                           /* keep RGB under alpha = 0 as well */
    cfg.quality = 75;                        /* lossless: effort, not fidelity */
    cfg.method = 4;
    if (!WebPValidateConfig(&cfg)) {
        pf_error(lg, "invalid WebP configuration");
        st = PF_EINTERNAL;
        goto fail;
    }
    if (!(enc = WebPAnimEncoderNew(a->width, a->height, &eopt))) {
        st = PF_ENOMEM;
        goto fail;
    }
    pic.use_argb = 1;
    pic.width = a->width;
    pic.height = a->height;
    pic_ready = 1;
    for (int f = 0; f < a->count; f++) {
        if (!a->frames[f].rgba || a->frames[f].duration_ms <= 0) {
            pf_error(lg, "frame %d has no pixels or a duration <= 0", f);
            st = PF_EINVAL;
            goto fail;
        }
        if (!WebPPictureImportRGBA(&pic, a->frames[f].rgba, a->width * 4)) {
            st = PF_ENOMEM;
            goto fail;
        }
        if ((st = webp_check(WebPAnimEncoderAdd(enc, &pic, (int)ts, &cfg), enc, "frame", lg)) < 0)
            goto fail;
        ts += a->frames[f].duration_ms;
        if (ts > INT_MAX) {
            pf_error(lg, "the animation is too long for WebP timestamps");
            st = PF_EINVAL;
            goto fail;
        }
    }
    /* A NULL frame ends the stream and gives the last frame its duration. */
    if ((st = webp_check(WebPAnimEncoderAdd(enc, NULL, (int)ts, NULL), enc, "flush", lg)) < 0 ||
        (st = webp_check(WebPAnimEncoderAssemble(enc, &data), enc, "assemble", lg)) < 0)
        goto fail;
    if (pf_write_all(of.fd, data.bytes, data.size) < 0) {
        pf_error(lg, "cannot write '%s': %s", path, strerror(errno));
        st = PF_EOUTPUT;
        goto fail;
    }
    if ((st = pf_outfile_close(&of, lg)) < 0) goto fail;
    st = PF_OK;
    goto done;
fail:
    pf_outfile_abort(&of);
done:
    WebPDataClear(&data);
    if (pic_ready) WebPPictureFree(&pic);
    WebPAnimEncoderDelete(enc);
    return st;
}
