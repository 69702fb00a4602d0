/*
 * encode.h - private to the encoders in src/io: pfi_outfile wrappers that
 * log why they failed, PNG and plain bytes onto an open temp file, and the
 * "%d" frame-pattern parser. Not installed; callers outside src/io use io.h.
 */
#ifndef PF_IO_ENCODE_H
#define PF_IO_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

/* pfi_outfile_open() then pfi_outfile_abort(): PF_OK when final_path could be
 * written now (absent or force, folder writable), else the logged
 * PF_EEXIST / PF_EOUTPUT. Lets a streaming writer refuse early. */
pf_status pfi_outfile_probe(const char *final_path, int force, const pfi_logger *lg);

/* pfi_outfile_begin() that logs the reason: "exists; use --force" naming
 * the path (PF_EEXIST) or the path and strerror (PF_EOUTPUT). */
pf_status pfi_outfile_open(pfi_outfile *o, const char *final_path, int force,
                          const pfi_logger *lg);
/* pfi_outfile_commit() that logs the path and strerror on failure, and
 * removes the temp file then. */
pf_status pfi_outfile_close(pfi_outfile *o, const pfi_logger *lg);

/* Writes all n bytes to fd, retrying short writes and EINTR.
 * Errors: PF_EOUTPUT (errno kept). */
pf_status pfi_write_all(int fd, const void *buf, size_t n);

/* Encodes RGBA8 (h, w, 4) as an 8-bit RGBA PNG onto fd (not closed).
 * Errors: PF_EOUTPUT (write failure or libpng error), PF_EINVAL, PF_ENOMEM. */
pf_status pfi_png_write_fd(int fd, const uint8_t *rgba, int w, int h, const pfi_logger *lg);

/* A parsed frame-file pattern: prefix, one integer conversion, suffix.
 * "%%" is a literal percent. width/zero from "%04d" style flags. */
typedef struct pfi_frame_pattern {
    char prefix[4096], suffix[4096];
    int width;      /* minimum digits, 0..16 */
    int zero;       /* pad with zeros */
} pfi_frame_pattern;

/* Parses `path`: returns 1 when it holds exactly one "%d"/"%0Nd"/"%i"
 * conversion and otherwise only literal text and "%%"; 0 when it holds no
 * '%' conversion at all; -1 when it holds anything else ("%s", "%n",
 * "%d%d", "%ld", a lone '%', ...). pat may be NULL. */
int pfi_frame_pattern_parse(pfi_frame_pattern *pat, const char *path);
/* Formats frame i into out (n bytes). Returns 0, or -1 when it does not fit. */
int pfi_frame_pattern_format(const pfi_frame_pattern *pat, int i, char *out, size_t n);

/* Logs that the output kind of path is unknown, naming the accepted ones;
 * returns PF_EINVAL. */
pf_status pfi_out_kind_error(const char *path, const pfi_logger *lg);

/* ---- streaming back ends behind pfi_writer (writer_stream.c) -------------- */

/* H.264 video, one frame encoded per push (writer_video.c). fps_hint: the
 * frame rate given to libx264 (frames per second); <= 0 = from the first
 * frame's duration. The encoder opens at the first push. Errors as
 * pfi_writer_open / push / close. */
typedef struct pfi_video_stream pfi_video_stream;
pf_status pfi_video_stream_open(pfi_video_stream **v, const char *path, int width, int height,
                               double fps_hint, const pfi_write_opts *o, const pfi_logger *lg);
pf_status pfi_video_stream_push(pfi_video_stream *v, const uint8_t *rgba, int duration_ms);
pf_status pfi_video_stream_close(pfi_video_stream *v, int commit);

/* PNG frames, one file written per push (writer_frames.c).
 * pfi_frames_stream_check: PF_EEXIST (logged) when any of the next n frame
 * files exists and !force, so a whole-anim write touches nothing then. */
typedef struct pfi_frames_stream pfi_frames_stream;
pf_status pfi_frames_stream_open(pfi_frames_stream **f, const char *path, int width, int height,
                                const pfi_write_opts *o, const pfi_logger *lg);
pf_status pfi_frames_stream_check(pfi_frames_stream *f, int n);
pf_status pfi_frames_stream_push(pfi_frames_stream *f, const uint8_t *rgba);
pf_status pfi_frames_stream_close(pfi_frames_stream *f, int commit);

#endif /* PF_IO_ENCODE_H */
