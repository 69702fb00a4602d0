/*
 * io.h - media input and output: one in-memory animation type, a streaming
 * reader over GIF / WebP / libav*, the encoders (spritesheet PNG + JSON,
 * GIF, WebP, MP4, PNG frames) and a streaming writer over them. Knows
 * nothing about grids or networks.
 */
#ifndef PF_IO_H
#define PF_IO_H

#include <stdint.h>
#include <sys/types.h>

#include "base/common.h"

/* ---- the animation type ---------------------------------------------- */

/* One frame: RGBA8, non-premultiplied, rows top to bottom. */
typedef struct pfi_frame {
    uint8_t *rgba;      /* (H, W, 4), 0..255 */
    int64_t pts_ms;     /* presentation time from the clip start, ms */
    int duration_ms;    /* display time, ms, > 0 */
} pfi_frame;

/* A whole animation held in memory; used for native-resolution frames. */
typedef struct pfi_anim {
    int width, height;  /* pixels, every frame the same */
    int count, cap;     /* frames held, frames allocated */
    pfi_frame *frames;   /* (count) each owning its rgba */
    int loop;           /* loop count, 0 = forever */
} pfi_anim;

/* Sets an empty animation of the given size. Errors: PF_EINVAL. */
pf_status pfi_anim_init(pfi_anim *a, int width, int height);
/* Appends a copy of rgba (H, W, 4). pts_ms is taken as the running total
 * of earlier durations. Errors: PF_ENOMEM, PF_EINVAL (duration <= 0). */
pf_status pfi_anim_push(pfi_anim *a, const uint8_t *rgba, int duration_ms);
/* Frees the frames; a zeroed or freed pfi_anim is fine. */
void pfi_anim_free(pfi_anim *a);

/* ---- streaming reader ------------------------------------------------ */

typedef struct pfi_reader pfi_reader;

/* Opens `path`, sniffing the format from its first bytes: GIF (giflib),
 * RIFF/WEBP (libwebp WebPAnimDecoder), anything else through libavformat.
 * A folder, or a pattern with one %d that names no file itself, is read
 * as PNG frames (reader_frames.c); "-" is standard input, read into memory
 * first (at most lim->max_decoded_bytes bytes, PF_ELIMIT past it). Checks the canvas against lim->max_pixels before allocating.
 * threads: libavcodec decoder thread_count (0 = automatic, 1 = decode on
 * the caller's thread only); GIF and WebP ignore it.
 * Errors: PF_EIO (cannot open/read), PF_EFORMAT (empty, corrupt or
 * unsupported), PF_ELIMIT, PF_ENOMEM, PF_EINVAL (threads < 0). lg may be NULL. */
pf_status pfi_reader_open(pfi_reader **out, const char *path,
                         const pf_limits *lim, int threads, const pfi_logger *lg);

/* PNG frames carry no timing: a folder or pattern plays at this rate
 * unless pfi_reader_set_fps says otherwise. */
#define PF_FRAMES_FPS 24

/* The frame rate of PNG-frame input, frames per second (> 0); call before
 * the first pfi_reader_next. Other formats keep their own timing: a no-op. */
void pfi_reader_set_fps(pfi_reader *r, double fps);

/* 1 when path is a PNG-frame pattern: exactly one printf integer
 * conversion ("%d", "%04d"); "%%" is a literal percent sign. */
int pfi_frames_is_pattern(const char *path);

/* 1 when pfi_reader_open reads path as PNG frames: an existing folder, or a
 * pattern (pfi_frames_is_pattern) that is not itself a file's name. */
int pfi_frames_input(const char *path);

/* As pfi_reader_open, for a file already in memory: `size` bytes at `data`,
 * which must stay valid and unchanged until pfi_reader_close. `name` is
 * only used in messages. libav* reads it through a custom AVIOContext.
 * Errors: as pfi_reader_open (PF_EFORMAT when size is 0). */
pf_status pfi_reader_open_mem(pfi_reader **out, const void *data, size_t size,
                             const char *name, const pf_limits *lim, int threads,
                             const pfi_logger *lg);

/* Decodes the next frame, fully composited (GIF disposal, WebP blending).
 * f->rgba points into a reader-owned (H, W, 4) buffer that stays valid
 * until the next call. Returns PF_OK, PF_DONE at the end, or an error
 * (PF_EFORMAT for corrupt data met before any frame; a truncated file
 * after at least one frame ends with PF_DONE and a warning). Enforces
 * lim->max_frames and max_decoded_bytes (PF_ELIMIT). */
pf_status pfi_reader_next(pfi_reader *r, pfi_frame *f);

int pfi_reader_width(const pfi_reader *r);
int pfi_reader_height(const pfi_reader *r);
/* Frame count if the container knows it, else -1. */
int64_t pfi_reader_frame_count(const pfi_reader *r);
/* "gif", "webp", or libavformat's demuxer name. */
const char *pfi_reader_format(const pfi_reader *r);
/* Loop count from the file (GIF NETSCAPE2.0, WebP ANIM), 0 = forever. */
int pfi_reader_loop(const pfi_reader *r);
/* Closes; NULL is fine. */
void pfi_reader_close(pfi_reader *r);

/* Reads a whole file into a pfi_anim (for small inputs and tests);
 * threads as pfi_reader_open. */
pf_status pfi_read_anim(pfi_anim *a, const char *path, const pf_limits *lim,
                       int threads, const pfi_logger *lg);

/* ---- PNG (libpng) ----------------------------------------------------- */

/* Reads any PNG as RGBA8 into *rgba (malloc'd, (H, W, 4)).
 * Errors: PF_EIO, PF_EFORMAT, PF_ELIMIT (lim may be NULL), PF_ENOMEM. */
pf_status pfi_png_read(const char *path, uint8_t **rgba, int *w, int *h,
                      const pf_limits *lim);
/* Writes RGBA8 (H, W, 4) to path atomically (temp file + rename).
 * Errors: PF_EOUTPUT, PF_EEXIST (exists and !force). */
pf_status pfi_png_write(const char *path, const uint8_t *rgba, int w, int h, int force);

/* ---- atomic output ----------------------------------------------------- */

/* A file's identity, to recognise it under another name (a link). */
typedef struct pfi_file_id {
    int valid;           /* 0: no file */
    dev_t dev;
    ino_t ino;
} pfi_file_id;

/* An output file being written: a temporary file beside the final path. */
typedef struct pfi_outfile {
    char final_path[4096];
    char tmp_path[4096];
    int fd;              /* open on tmp_path, -1 once closed */
    int force;           /* commit may replace an existing final path */
    int slot;            /* 1 + its entry in the signal-safe temp table, 0 none */
    int placed;          /* committed: final_path is this file */
    dev_t dev;           /* the temp file's identity, for pfi_outfile_unplace */
    ino_t ino;
} pfi_outfile;

/* Creates `final.tmp-XXXXXX` in the same folder (the final base name cut
 * so that the temp name fits NAME_MAX). Errors: PF_EEXIST when final
 * exists and !force; PF_EOUTPUT when the folder is not writable or the
 * final name is too long (ENAMETOOLONG). */
pf_status pfi_outfile_begin(pfi_outfile *o, const char *final_path, int force);
/* fsyncs, closes and moves onto the final path. Without force this never
 * replaces a file: PF_EEXIST when the final path appeared meanwhile.
 * Errors: PF_EEXIST, PF_EOUTPUT; the temp file is removed on failure. */
pf_status pfi_outfile_commit(pfi_outfile *o);
/* Closes and removes the temporary file; safe to call twice. */
void pfi_outfile_abort(pfi_outfile *o);
/* Undoes a commit that created its final path (the first file of a pair
 * whose second failed): unlinks it if it is still this file. 0 when
 * removed, -1 otherwise. */
int pfi_outfile_unplace(pfi_outfile *o);
/* PF_EEXIST when path exists and !force, else PF_OK. */
pf_status pfi_output_check(const char *path, int force);
/* path + suffix into out (n bytes), the base name shortened (at a UTF-8
 * character boundary) so that base + suffix fit NAME_MAX; the folder is
 * kept. Returns 0, or -1 when it does not fit n. */
int pfi_sibling_name(char *out, size_t n, const char *path, const char *suffix);
/* 1 when path names the same file as id (stat follows links), else 0. */
int pfi_same_file(const char *path, const pfi_file_id *id);

/* ---- encoders ---------------------------------------------------------- */

/* What pixelfix detected, recorded in the spritesheet JSON "meta". */
typedef struct pfi_sheet_meta {
    double cell_w, cell_h, offset_x, offset_y, confidence;
    int elastic;                   /* 1: the grid is a mesh (a video model's bent lattice) */
    double bend;                   /* how far it bends, native cells */
    int in_width, in_height;
    int native_w, native_h;
    int palette_size;
    const uint8_t (*palette)[3];   /* (palette_size, 3) */
    int has_bg;
    uint8_t bg_rgb[3];
    const char *source;            /* input file name */
} pfi_sheet_meta;

/* Output options shared by the encoders. */
typedef struct pfi_write_opts {
    int force;          /* overwrite existing files (frames: and remove stale ones) */
    int columns;        /* spritesheet columns, 0 = ceil(sqrt(n)) */
    int padding;        /* spritesheet padding, pixels */
    int upscale;        /* nearest upscale; video: 0 = auto (height >= 256); pfi_writer:
                           every other kind too (0 or 1 = none) */
    int threads;        /* video: libx264 threads, 0 = libx264's automatic, 1 = none extra */
    const uint8_t *bg_rgb;  /* video: colour behind transparent pixels; NULL = black */
    const pfi_sheet_meta *meta; /* spritesheet JSON meta; may be NULL */
    const char *tag;    /* spritesheet: the one frame tag; NULL = meta's source stem, else the PNG's */
    const char *filename_format; /* spritesheet: frame names (pfi_sheet_frame_name); NULL = "{frame}" */
    int hash;           /* spritesheet: frames as Aseprite's json-hash (an object by name) */
    pfi_file_id input;   /* frames: never overwrite (nor remove) this file */
} pfi_write_opts;

typedef enum pfi_out_kind {
    PF_OUT_NONE = 0, PF_OUT_SHEET, PF_OUT_GIF, PF_OUT_WEBP, PF_OUT_VIDEO, PF_OUT_FRAMES
} pfi_out_kind;

/* The output kind from a path: "%d" or a folder -> frames; .png sheet;
 * .gif; .webp; .mp4/.mov/.mkv video. PF_OUT_NONE when unknown. */
pfi_out_kind pfi_out_kind_from_path(const char *path);

/* Spritesheet PNG (grid layout) plus `<stem>.json` in Aseprite's
 * json-array format (o->hash: json-hash): frames[].filename/frame/
 * sourceSize/duration, meta.app/version/image/format/size/scale,
 * meta.frameTags with one tag over the clip (name, from, to, direction
 * "forward"; Aseprite's fields, read by Phaser's createFromAseprite),
 * "animations" {tag: [frame names]} (PixiJS's Spritesheet), and
 * meta.pixelfix = what was detected. Spec: Aseprite's CLI docs
 * (--format json-array|json-hash, --filename-format). Errors: PF_EINVAL
 * (no frames, or a filename_format without {frame}), PF_EEXIST,
 * PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_write_sheet(const char *png_path, const pfi_anim *a,
                         const pfi_write_opts *o, const pfi_logger *lg);

/* Frame i's name from an Aseprite --filename-format: {title} (title),
 * {frame} (i), {tag} (tag), {extension} ("png"); other text as it is.
 * Returns the length, or -1 when fmt lacks {frame} (names would repeat)
 * or out (n bytes) is too small. */
int pfi_sheet_frame_name(char *out, size_t n, const char *fmt, const char *title, int i, const char *tag);
/* GIF89a via giflib: exact palette (<= 255 colours + 1 transparent index,
 * else PF_EINVAL), no dithering, per-frame delays in centiseconds,
 * NETSCAPE2.0 looping, disposal "restore to background". */
pf_status pfi_write_gif(const char *path, const pfi_anim *a,
                       const pfi_write_opts *o, const pfi_logger *lg);
/* Animated lossless exact-RGBA WebP (WebPEncode stills + WebPMux): one
 * ANMF frame per input frame, held frames never merged; ANIM loop count. */
pf_status pfi_write_webp(const char *path, const pfi_anim *a,
                        const pfi_write_opts *o, const pfi_logger *lg);
/* H.264 (libx264) yuv420p in the container named by the extension, frames
 * nearest-upscaled, alpha composited over o->bg_rgb; pts in ms. */
pf_status pfi_write_video(const char *path, const pfi_anim *a,
                         const pfi_write_opts *o, const pfi_logger *lg);
/* One PNG per frame: `dir/frame_0000.png`, or the `%d` pattern. With
 * o->force, the files the pattern names for frames past the last one
 * written (an earlier, longer run's) are removed; never o->input. */
pf_status pfi_write_frames(const char *path, const pfi_anim *a,
                          const pfi_write_opts *o, const pfi_logger *lg);
/* Dispatches on pfi_out_kind_from_path(). */
pf_status pfi_write_anim(const char *path, const pfi_anim *a,
                        const pfi_write_opts *o, const pfi_logger *lg);

/* ---- streaming writer ---------------------------------------------------- */

typedef struct pfi_writer pfi_writer;

/* Opens an output of pfi_out_kind_from_path(path) for frames of width x
 * height (native pixels), written nearest-upscaled by o->upscale (every
 * kind; a side over 32768 pixels is PF_EINVAL). VIDEO and FRAMES outputs encode each pushed frame
 * immediately (memory O(1) frames; libx264 keeps its own lookahead); SHEET,
 * GIF and WEBP need every frame, so they are held in a pfi_anim and encoded
 * at close. Every kind checks its target(s) now (exists without force,
 * folder not writable). loop: GIF/WebP loop count (0 = forever). o is
 * copied, but o->meta and o->bg_rgb pointers are read at close/push time
 * (so the caller may fill *meta, e.g. the palette, before close); NULL o =
 * defaults. The video frame rate tag comes from the first frame's duration.
 * Errors: PF_EINVAL (unknown kind, bad size, loop < 0, bad frame pattern,
 * bad options), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. lg (copied) may be NULL. */
pf_status pfi_writer_open(pfi_writer **w, const char *path, int width, int height, int loop,
                         const pfi_write_opts *o, const pfi_logger *lg);
/* Adds one frame, RGBA8 (H, W, 4), duration in ms (> 0). Errors:
 * PF_EINVAL (NULL rgba, duration <= 0), PF_EOUTPUT, PF_EEXIST (a frame file
 * appeared), PF_ENOMEM; all but PF_EINVAL are sticky (later pushes and the
 * commit repeat them). */
pf_status pfi_writer_push(pfi_writer *w, const uint8_t *rgba, int duration_ms);
/* commit=1: finishes the encode (video: flushes libx264, writes the
 * trailer) and renames every file into place (atomic; each FRAMES file
 * already is; with force, FRAMES then removes stale frames as
 * pfi_write_frames does). commit=0, or a failed commit: discards (temp files removed;
 * for FRAMES the frame files this writer created, and its folder if it made
 * it). Always frees w; NULL is fine. Returns the commit's status (PF_OK for
 * commit=0): a sticky push error, PF_EINVAL (no frame pushed; GIF over 255
 * colours), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_writer_close(pfi_writer *w, int commit);

/* libav's convention (>= 0 success, a negative AVERROR failure) as a
 * pf_status, in one place (av_status.c): PF_OK for r >= 0, PF_ENOMEM for
 * AVERROR(ENOMEM), else `fail`; a failure is logged as
 * "WHAT failed (STEP): libav's message". Source: libavutil/error.h. */
pf_status pfi_av_status(int r, pf_status fail, const char *what, const char *step, const pfi_logger *lg);

/* A spritesheet's JSON beside its PNG: "dir/sheet.png" -> "dir/sheet.json"
 * (a trailing any-case ".png" replaced, else ".json" appended). The one
 * rule for the writer, the CLI and pixelfix eval. Returns 0, or -1 when it
 * does not fit n bytes. */
int pfi_sheet_json_path(const char *png_path, char *out, size_t n);

/* Reads frames back from a spritesheet JSON (Aseprite array or hash
 * format) and the PNG it names. Errors: PF_EIO, PF_EFORMAT. */
pf_status pfi_read_sheet(pfi_anim *a, const char *json_path, const pf_limits *lim,
                        const pfi_logger *lg);

#endif /* PF_IO_H */
