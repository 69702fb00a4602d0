/*
 * writer_stream.c - pfi_writer, the streaming output: frames pushed one at a
 * time as the restore pipeline makes them, nearest-upscaled by o->upscale
 * for every kind but video (whose encoder upscales, with its own default).
 * Video and PNG frames are encoded
 * per push (writer_video.c, writer_frames.c); spritesheet, GIF and WebP need
 * the whole clip (layout, one palette, the mux), so their frames are held in
 * a pfi_anim and encoded at close. Not an encoder itself.
 */
#include "io/encode.h"

#include <string.h>

struct pfi_writer {
    pfi_out_kind kind;
    char *path;
    pfi_write_opts o;            /* copy; its pointers are read at push/close */
    pfi_logger lg;
    const pfi_logger *lgp;       /* &lg, or NULL when the caller gave none */
    pfi_video_stream *video;     /* PF_OUT_VIDEO */
    pfi_frames_stream *frames;   /* PF_OUT_FRAMES */
    pfi_anim held;               /* SHEET, GIF, WEBP: (count, H, W, 4) */
    pf_status err;              /* first push failure of a held kind; sticky */
    int up;                     /* nearest upscale of every kind but video (which
                                   upscales itself), 1 = none */
    int w, h;                   /* native frame size, pixels */
    uint8_t *big;               /* (h * up, w * up, 4) upscaled frame */
};

#define WRITER_MAX_SIDE 32768   /* an upscaled frame's largest side, pixels */

/* Nearest upscale by s: (h, w, 4) -> (h * s, w * s, 4). */
static void upscale_nearest(const uint8_t *src, int w, int h, int s, uint8_t *dst)
{
    const size_t W = (size_t)w * s;
    for (int y = 0; y < h; y++) {
        uint8_t *row = dst + (size_t)y * s * W * 4;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < s; k++) memcpy(row + ((size_t)x * s + k) * 4, src + ((size_t)y * w + x) * 4, 4);
        for (int k = 1; k < s; k++) memcpy(row + (size_t)k * W * 4, row, W * 4);
    }
}

/* Output kind from the path; then either opens the streaming back end
 * (which checks the target now) or, for held kinds, checks now that the
 * target(s) could be written, so a long restore is not wasted.
 * Errors: PF_EINVAL (unknown kind, size <= 0, loop < 0, bad pattern or
 * options), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM; all logged. */
pf_status pfi_writer_open(pfi_writer **out, const char *path, int width, int height, int loop,
                         const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_writer *w;
    char json[4096];
    pf_status st;

    PF_ASSERT(out);
    *out = NULL;
    if (!path) return pfi_out_kind_error(path, lg);
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path))) {
        free(w);
        return PF_ENOMEM;
    }
    if (o) w->o = *o;
    if (lg) {
        w->lg = *lg;
        w->lgp = &w->lg;
    }
    lg = w->lgp;
    w->kind = pfi_out_kind_from_path(path);
    if (w->kind == PF_OUT_NONE) {
        st = pfi_out_kind_error(path, lg);
        goto fail;
    }
    w->w = width;
    w->h = height;
    w->up = w->kind != PF_OUT_VIDEO && w->o.upscale > 1 ? w->o.upscale : 1;
    if (w->up > 1) {
        if (width <= 0 || height <= 0 || (int64_t)width * w->up > WRITER_MAX_SIDE ||
            (int64_t)height * w->up > WRITER_MAX_SIDE) {
            pfi_error(lg, "cannot write '%s': %dx%d frames upscaled %dx are over %d pixels a side; "
                     "lower --upscale", path, width, height, w->up, WRITER_MAX_SIDE);
            st = PF_EINVAL;
            goto fail;
        }
        if (!(w->big = pfi_malloc4((size_t)width * w->up, (size_t)height * w->up, 4, 1))) {
            st = PF_ENOMEM;
            goto fail;
        }
        width *= w->up;
        height *= w->up;
    }
    if (loop < 0 || (st = pfi_anim_init(&w->held, width, height)) < 0) {
        pfi_error(lg, "cannot write '%s': bad frame size %dx%d or loop count %d", path, width,
                 height, loop);
        st = PF_EINVAL;
        goto fail;
    }
    w->held.loop = loop;
    switch (w->kind) {
    case PF_OUT_VIDEO:
        st = pfi_video_stream_open(&w->video, path, width, height, 0, &w->o, lg);
        break;
    case PF_OUT_FRAMES:
        st = pfi_frames_stream_open(&w->frames, path, width, height, &w->o, lg);
        break;
    case PF_OUT_SHEET:
        if (pfi_sheet_json_path(path, json, sizeof json) < 0) {
            pfi_error(lg, "output path too long: '%s'", path);
            st = PF_EOUTPUT;
            break;
        }
        if ((st = pfi_outfile_probe(path, w->o.force, lg)) < 0) break;
        st = pfi_outfile_probe(json, w->o.force, lg);
        break;
    default:
        st = pfi_outfile_probe(path, w->o.force, lg);
        break;
    }
    if (st < 0) goto fail;
    *out = w;
    return PF_OK;
fail:
    pfi_writer_close(w, 0);
    return st;
}

/* Encodes (video, frames) or keeps a copy of (others) one RGBA8 (H, W, 4)
 * frame lasting duration_ms. Errors: PF_EINVAL (NULL rgba, duration <= 0),
 * PF_EEXIST (frames), PF_EOUTPUT, PF_ENOMEM; all but PF_EINVAL are sticky. */
pf_status pfi_writer_push(pfi_writer *w, const uint8_t *rgba, int duration_ms)
{
    pf_status st;

    PF_ASSERT(w);
    if (!rgba || duration_ms <= 0) return PF_EINVAL;
    if (w->up > 1) {
        upscale_nearest(rgba, w->w, w->h, w->up, w->big);
        rgba = w->big;
    }
    switch (w->kind) {
    case PF_OUT_VIDEO: return pfi_video_stream_push(w->video, rgba, duration_ms);
    case PF_OUT_FRAMES: return pfi_frames_stream_push(w->frames, rgba);
    default: break;
    }
    if (w->err < 0) return w->err;
    if ((st = pfi_anim_push(&w->held, rgba, duration_ms)) < 0) {
        pfi_error(w->lgp, "out of memory holding frame %d for '%s'", w->held.count, w->path);
        w->err = st;
    }
    return st;
}

/* commit: finishes the output (held kinds are encoded now, reading
 * o->meta then); otherwise discards it. Frees w; NULL is fine. Returns the
 * commit's status (PF_OK when discarding): a sticky push error, PF_EINVAL
 * (no frames; GIF over 255 colours), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_writer_close(pfi_writer *w, int commit)
{
    pf_status st = PF_OK;

    if (!w) return PF_OK;
    switch (w->kind) {
    case PF_OUT_VIDEO: st = pfi_video_stream_close(w->video, commit); break;
    case PF_OUT_FRAMES: st = pfi_frames_stream_close(w->frames, commit); break;
    case PF_OUT_SHEET:
    case PF_OUT_GIF:
    case PF_OUT_WEBP:
        if (!commit) break;
        if ((st = w->err) < 0) break;
        if (w->kind == PF_OUT_SHEET) st = pfi_write_sheet(w->path, &w->held, &w->o, w->lgp);
        else if (w->kind == PF_OUT_GIF) st = pfi_write_gif(w->path, &w->held, &w->o, w->lgp);
        else st = pfi_write_webp(w->path, &w->held, &w->o, w->lgp);
        break;
    case PF_OUT_NONE: break;
    }
    pfi_anim_free(&w->held);
    free(w->big);
    free(w->path);
    free(w);
    return commit ? st : PF_OK;
}
