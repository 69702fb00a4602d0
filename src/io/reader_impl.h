/*
 * reader_impl.h - private contract between the generic streaming reader
 * (reader.c) and its three back ends (reader_gif.c, reader_webp.c,
 * reader_av.c). Not part of io.h; nothing outside src/io includes it.
 */
#ifndef PF_READER_IMPL_H
#define PF_READER_IMPL_H

#include "io/io.h"

/* What a back end provides. `next` writes one fully composited frame
 * (rgba, pts_ms, duration_ms > 0) or returns PF_DONE / an error; the
 * generic wrapper enforces the limits and makes errors sticky. `close`
 * frees r->impl (may be NULL). */
typedef struct pfi_reader_vt {
    pf_status (*next)(pfi_reader *r, pfi_frame *f);
    void (*close)(pfi_reader *r);
} pfi_reader_vt;

struct pfi_reader {
    const pfi_reader_vt *vt;  /* set by the back end's open */
    void *impl;              /* back-end state */
    char *path;              /* the file, or the name used in messages */
    const uint8_t *mem;      /* in-memory file (pfi_reader_open_mem, or stdin), else NULL */
    uint8_t *owned;          /* stdin's bytes, read at open; freed at close */
    size_t mem_size;         /* its bytes */
    const char *format;      /* "gif", "webp" or libav's demuxer name (static) */
    int width, height;       /* canvas, pixels */
    int64_t frame_count;     /* -1 when unknown */
    int loop;                /* 0 = forever */
    double fps;              /* PNG frames: frames per second (0 = PF_FRAMES_FPS) */
    pf_limits lim;           /* 0 fields = no limit */
    int threads;             /* libavcodec decoder thread_count, 0 = auto */
    pfi_logger lg;            /* a copy; zeroed = silent */
    int64_t frames_out;      /* frames handed out so far */
    int64_t bytes_out;       /* RGBA bytes handed out so far */
    pf_status sticky;        /* PF_OK, or the PF_DONE / error to repeat */
};

/* Back-end constructors (the frames one reads r->path only): fill r->vt, r->impl, width, height, frame_count,
 * loop and format from r->mem when set, else from the file r->path,
 * honouring r->lim. On failure they free what
 * they made and leave r->impl NULL. Errors: PF_EIO, PF_EFORMAT, PF_ELIMIT,
 * PF_ENOMEM, with a message through r->lg. */
pf_status pfi_reader_open_gif(pfi_reader *r);
pf_status pfi_reader_open_webp(pfi_reader *r);
pf_status pfi_reader_open_av(pfi_reader *r);
/* A folder of PNG files or a %d pattern, from r->path (reader_frames.c). */
pf_status pfi_reader_open_frames(pfi_reader *r);

/* PF_OK when a w x h canvas is non-empty and within r->lim.max_pixels and
 * its RGBA bytes fit in size_t; else PF_EFORMAT (empty) or PF_ELIMIT, with
 * a message naming the limit. Call before allocating anything canvas-sized. */
pf_status pfi_reader_check_canvas(const pfi_reader *r, int64_t w, int64_t h);

#endif /* PF_READER_IMPL_H */
