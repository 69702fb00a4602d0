/*
 * pixelfix.h - the one public header of libpixelfix.
 *
 * libpixelfix restores "pseudo pixel art" (upscaled, blurred, compressed,
 * sub-pixel-jittered animation) to real pixel art: it finds the native pixel
 * grid, gives every native pixel one colour from one clip-wide palette,
 * recovers transparency and keeps still things still.
 *
 * Usage:
 *
 *     pf_params p = pf_default_params();
 *     p.colors = 16;                       // or 0 for automatic
 *     pf_report *rep = NULL;
 *     pf_status st = pf_restore_file("clip.mp4", "sheet.png", &p, &rep);
 *     if (st < 0) fprintf(stderr, "pixelfix: %s\n", pf_strerror(st));
 *     else printf("%dx%d native, %d colours\n",
 *                 rep->native_w, rep->native_h, rep->palette_size);
 *     pf_report_free(rep);
 *
 * Conventions: every function returns a pf_status (negative = error) unless
 * it says otherwise; the library never calls exit() and never writes to
 * stdout; diagnostics go to the log callback in pf_params. Colours are sRGB
 * 0..255 unless stated; durations are milliseconds; sizes are pixels.
 * Every pf_ name is declared here; the library's internal names are pfi_
 * and nn_ (docs/architecture.md).
 */
#ifndef PIXELFIX_H
#define PIXELFIX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PF_VERSION_MAJOR 0
#define PF_VERSION_MINOR 1
#define PF_VERSION_PATCH 0
#define PF_VERSION_STRING "0.1.0"

/* Status codes. PF_OK and PF_DONE are successes; every negative value is an
 * error that pf_strerror() explains. The CLI maps them to exit codes (see
 * pixelfix(1), EXIT STATUS). */
typedef enum pf_status {
    PF_DONE = 1,         /* a stream has no more frames (not an error) */
    PF_OK = 0,
    PF_EINVAL = -1,      /* an argument or option value is invalid */
    PF_ENOMEM = -2,      /* out of memory */
    PF_EIO = -3,         /* the input cannot be opened or read */
    PF_EFORMAT = -4,     /* the input is corrupt, truncated or of an unsupported format */
    PF_ENOFRAMES = -5,   /* the input holds no frame */
    PF_ELIMIT = -6,      /* the input exceeds a configured limit (pf_limits) */
    PF_ENOGRID = -7,     /* no pixel grid was found; --scale overrides */
    PF_EOUTPUT = -8,     /* the output cannot be written or encoded */
    PF_EEXIST = -9,      /* the output exists and overwriting was not allowed */
    PF_EMODEL = -10,     /* the model file is missing, corrupt or does not match */
    PF_EPALETTE = -11,   /* the palette file is unreadable or invalid */
    PF_EABORTED = -12,   /* the progress callback asked to stop */
    PF_EINTERNAL = -13   /* a bug in pixelfix; please report it */
} pf_status;

/* A short English explanation of a status ("no pixel grid found", ...).
 * Never NULL; unknown codes give "unknown error". */
const char *pf_strerror(pf_status st);

/* The library version, "MAJOR.MINOR.PATCH". */
const char *pf_version(void);

/* Log levels for pf_log_fn. */
enum { PF_LOG_ERROR = 0, PF_LOG_WARN = 1, PF_LOG_INFO = 2, PF_LOG_DEBUG = 3 };

/* Receives every diagnostic. msg has no trailing newline. */
typedef void (*pf_log_fn)(void *user, int level, const char *msg);

/* Called during long work. stage is a short name ("decode", "grid",
 * "restore", "palette", "encode"); done/total count frames (total may be 0
 * when unknown). Return non-zero to abort with PF_EABORTED. */
typedef int (*pf_progress_fn)(void *user, const char *stage, int64_t done, int64_t total);

/* Resource limits, checked before any large allocation. 0 means no limit. */
typedef struct pf_limits {
    int64_t max_pixels;        /* input width*height; default 8192*8192 */
    int64_t max_frames;        /* input frames; default 100000 */
    int64_t max_decoded_bytes; /* RGBA bytes decoded in total; default 64 GiB */
    int64_t max_model_bytes;   /* model file size; default 512 MiB */
    int64_t max_model_memory;  /* bytes the model's window may take (its frames and the
                                  network's activations; bigger frames run in tiles);
                                  default 768 MiB */
    int64_t max_memory;        /* bytes a restore may take: finding the grid (the frames
                                  held for detection and its work on whole canvases;
                                  fewer frames are held to fit, and a canvas that does
                                  not fit with one is refused), then the native working
                                  set (the network's window is planned within what is
                                  left, in tiles if need be) and the frames held for the
                                  palette and by the output; refused with PF_ELIMIT
                                  before the allocation that would cross it; default 1 GiB */
} pf_limits;

/* The background a restore found (pf_report.bg_kind). */
typedef enum pf_bg_kind {
    PF_BGK_NONE = 0,       /* none: everything stays opaque */
    PF_BGK_SOLID = 1,      /* one colour, keyed (pf_report.bg_rgb) */
    PF_BGK_GRADIENT = 2,   /* a linear ramp, keyed (bg_rgb: its mean) */
    PF_BGK_ALPHA = 3,      /* the input's own alpha */
    PF_BGK_FIELD = 4       /* a smooth field no plane fits (busy blobs), keyed by continuity (bg_rgb: its mean) */
} pf_bg_kind;

/* Background handling. */
typedef enum pf_bg_mode {
    PF_BG_AUTO = 0,   /* estimate from the clip's borders (solid or gradient) */
    PF_BG_NONE = 1,   /* keep everything opaque (input alpha still counts) */
    PF_BG_COLOR = 2   /* key the given colour (pf_params.bg_rgb) */
} pf_bg_mode;

/* Everything a restore needs. Make with pf_default_params() and change
 * fields; strings are borrowed, not copied. */
/* pf_params.palette_frames: chosen by the output (see there). */
#define PF_PALETTE_AUTO (-1)
/* The bounded palette lookahead of PF_PALETTE_AUTO when streaming, frames:
 * 64 frames of native cells are small, and clips that show a new colour
 * after 64 frames are rare. */
#define PF_PALETTE_AUTO_FRAMES 64

/* The shapes of pixel grid a restore may use (pf_params.grid). */
typedef enum pf_grid_mode {
    PF_GRID_AUTO = 0,      /* regular when it fits, elastic when the lattice bends, else none */
    PF_GRID_REGULAR = 1,   /* straight boundaries, evenly spaced up to local refinement */
    PF_GRID_ELASTIC = 2    /* boundaries are smooth curves tracked from frame to frame
                              (video-model clips: the cell size drifts across the frame) */
} pf_grid_mode;

typedef struct pf_params {
    /* grid */
    double scale;          /* native cell size in input pixels; 0 = detect */
    pf_grid_mode grid;     /* default PF_GRID_AUTO */
    int grid_frames;       /* frames held for detection, 1..256; default 8 (one window) */
    int candidates;        /* 1: also rank cell-size candidates into the report even when
                              the grid needs none (probe; about 0.2-1.5 s at 640x640) */
    int samples_k;         /* canonical samples per cell side, 1..8; default 4 */
    /* colour */
    int colors;            /* palette size: 0 = automatic (as many as the clip has);
                              2..256 = at most that many, fewer when the automatic
                              palette has fewer (never padded with near-duplicates) */
    const char *palette_path; /* .hex, .gpl or .png palette file; NULL = extract */
    pf_bg_mode background; /* default PF_BG_AUTO */
    uint8_t bg_rgb[3];     /* key colour for PF_BG_COLOR, sRGB 0..255 */
    int keep_pockets;      /* 1: key only background the border reaches; 0 (default): also
                              enclosed regions of its colour covering >= 2% of the frame
                              (the gap between legs, the inside of a ring) */
    /* post-processing */
    int dedupe;            /* merge identical consecutive frames (durations add up) */
    int crop;              /* trim to the union bounding box of opaque content */
    /* output */
    int force;             /* overwrite existing outputs */
    int columns;           /* spritesheet columns; 0 = ceil(sqrt(frames)) */
    int padding;           /* spritesheet padding between frames, pixels */
    const char *sheet_tag; /* spritesheet: the frame tag over the whole clip (meta.frameTags,
                              animations); NULL = the input's file name stem */
    const char *sheet_filename; /* spritesheet: frame names with Aseprite's placeholders
                              {title} {frame} {tag} {extension}; must hold {frame};
                              NULL = "{frame}", the names Phaser's createFromAseprite
                              looks up */
    int sheet_hash;        /* spritesheet JSON: 0 = Aseprite's json-array, 1 = json-hash */
    int upscale;           /* nearest upscale of the output, any kind; 0 = none, except video:
                              the smallest making height >= 256 */
    int loop;              /* GIF/WebP loop count; 0 = forever, -1 = as the input (default) */
    const char *debug_dir; /* pf_restore_file writes grid overlays and pre-palette images
                              here (pf_stream itself writes no files); NULL = none */
    /* model */
    int use_model;         /* 1 (default): restore with the model (model_path, or the
                              installed default when there is one); 0: classical path */
    const char *model_path; /* model file; NULL = pf_model_default_path() */
    int window;            /* frames per model window, T: 1..64 (default 8, as the
                              shipped model was trained) */
    int overlap;           /* frames shared by neighbouring windows, 0..window/2
                              (default 2) */
    int palette_frames;    /* frames the palette is built from: N = the first N, then
                              it is fixed; 0 = the whole clip (pf_stream then holds
                              every frame until pf_stream_finish); PF_PALETTE_AUTO
                              (default) = PF_PALETTE_AUTO_FRAMES in pf_stream, and in
                              pf_restore_file the whole clip for outputs that hold
                              every frame anyway (sheet, GIF, WebP) */
    int threads;           /* threads of this stream's network (its own pool; sgemm split
                              over fixed column chunks, so the output does not depend
                              on it) and of the libav* codecs; 0 = 1 for the network,
                              the codecs' own default */
    double input_fps;      /* frame rate of PNG-frame input (a folder or a %d pattern),
                              which has no timing of its own: 0.1..1000; 0 = 24 */
    pf_limits limits;
    /* callbacks */
    pf_log_fn log;         /* NULL = silent */
    int log_level;         /* highest level passed to log; default PF_LOG_WARN */
    pf_progress_fn progress; /* NULL = none */
    void *user;            /* passed to log and progress */
} pf_params;

/* The defaults described field by field above. */
pf_params pf_default_params(void);
pf_limits pf_default_limits(void);

/* A colour as --background and the filter's background/matte read it: one
 * of eight names (magenta, white, black, green, blue, red, cyan, yellow; any
 * case) or hex #rgb / #rrggbb (CSS Color 4 hex notation; the '#' may be
 * left out). rgb: sRGB 0..255. Errors: PF_EINVAL (rgb untouched). */
pf_status pf_parse_color(const char *s, uint8_t rgb[3]);

/* What a restore found and made. Arrays are owned by the report. */
typedef struct pf_report {
    char input_format[16];     /* "gif", "webp", "mov,mp4,...", ... */
    int in_width, in_height;   /* input canvas, pixels */
    int frames_in;             /* frames decoded */
    int frames_out;            /* frames written (after --dedupe) */
    int frames_held;           /* frames that showed the drawing before them again and
                                  skipped the network (at most a window of them waiting at
                                  a time); they repeat the output before them exactly */
    int *durations_ms;         /* (frames_out) */
    int64_t total_ms;          /* sum of durations_ms */
    /* grid */
    double cell_w, cell_h;     /* mean native pixel size, input pixels */
    double offset_x, offset_y; /* position of the first boundary, input pixels */
    double confidence;         /* 0..1; below ~0.3 the grid was not trusted */
    int scale_forced;          /* 1 when --scale was given */
    pf_grid_mode grid_kind;    /* PF_GRID_REGULAR or PF_GRID_ELASTIC: the grid used */
    double bend;               /* how far the lattice bends from a straight, even one over
                                  the sprite, native cells (95th percentile; 0 = not measured) */
    int n_candidates;          /* cell-size candidates, best first (probe; after no grid) */
    double candidate_cell[8];  /* input px */
    double candidate_confidence[8]; /* 0..1 */
    double *drift_x, *drift_y; /* (frames_in) per-frame sub-pixel drift, input pixels */
    int native_w, native_h;    /* output frame size, pixels (after --crop) */
    int crop_x, crop_y;        /* crop origin in the native grid, pixels */
    /* background */
    pf_bg_kind bg_kind;        /* what was keyed */
    uint8_t bg_rgb[3];         /* key colour (mean for gradients) */
    /* palette */
    int palette_size;
    uint8_t palette[256][3];
    /* timing, ms */
    double ms_decode, ms_grid, ms_restore, ms_palette, ms_encode, ms_total;
    /* model */
    int used_model;            /* 1 when the network ran */
    char *model_path;          /* the model file that ran (owned); NULL on the classical path */
    int window, overlap;       /* T and O used */
    double ms_model;           /* network time, ms (part of ms_restore) */
    /* memory */
    int64_t mem_bytes;         /* the restore's planned working set after the grid lock
                                  (network included) plus the frames it holds, bytes;
                                  what pf_limits.max_memory bounds */
} pf_report;

void pf_report_free(pf_report *rep);

/* Restores the animation in `input` and writes `output`.
 *
 * input:  GIF, WebP (still or animated), or anything libavformat reads
 *         (MP4, MOV, WebM, MKV, AVI, APNG, PNG, JPEG).
 * output: the kind comes from the name: *.png = spritesheet PNG plus
 *         Aseprite JSON beside it (same stem, .json); *.gif; *.webp
 *         (lossless); *.mp4 / *.mov / *.mkv (H.264 yuv420p, nearest
 *         upscaled); a name with "%d" or an existing folder or one ending
 *         in "/" = one PNG per frame. NULL = analyse only (probe).
 * report: if not NULL, receives a report to free with pf_report_free(),
 *         also on some errors (for example PF_ENOGRID, with the figures
 *         that were found).
 *
 * Outputs are written to temporary files and renamed, so a failure leaves
 * no partial file. Without params->force an existing output is refused
 * (PF_EEXIST), also one that another process creates while this one
 * writes. The input is never modified: an output that is the input file
 * (also through a link) is refused even with force (PF_EOUTPUT). With
 * force, PNG frames that an earlier, longer run left under the same names
 * (numbered past the last frame written) are removed.
 *
 * Errors: PF_EINVAL, PF_EIO, PF_EFORMAT, PF_ENOFRAMES, PF_ELIMIT,
 * PF_ENOGRID, PF_EPALETTE, PF_EEXIST, PF_EOUTPUT, PF_ENOMEM, PF_EABORTED.
 */
pf_status pf_restore_file(const char *input, const char *output,
                          const pf_params *params, pf_report **report);

/* Removes every temporary output file the library has open, in any
 * thread. Async-signal-safe: for a signal handler that is about to end the
 * process (_exit), so that no "NAME.tmp-XXXXXX" is left behind. The
 * writers that owned them fail cleanly if they run on. */
void pf_remove_temp_files(void);

/* ---- decoded video frames to RGBA ------------------------------------------ */

/* Converts decoded video frames to RGBA8 exactly as pixelfix's own video
 * reader does, so that a caller holding decoded frames (the FFmpeg filter)
 * restores the same pixels as the CLI: libswscale, bilinear (for a size
 * change), SWS_ACCURATE_RND when dst_w % 8 != 0 (swscale's fast x86 path
 * leaves those last columns unwritten), and for YUV the frame's matrix
 * (BT.601 when unspecified) and range (full for AVCOL_RANGE_JPEG and the
 * yuvj formats). One converter per stream; it keeps its SwsContext. */
typedef struct pf_rgba_converter pf_rgba_converter;

/* Errors: PF_EINVAL (out NULL), PF_ENOMEM. */
pf_status pf_rgba_converter_new(pf_rgba_converter **out);

/* planes/linesizes: the frame as libavutil lays it out (AVFrame data and
 * linesize), src_w x src_h pixels; pix_fmt, colorspace and color_range are
 * libavutil's enum AVPixelFormat, AVColorSpace and AVColorRange values as
 * ints (this header needs no libav include). dst: dst_h rows of dst_w RGBA8
 * pixels (0..255, alpha 255 unless the format has alpha), dst_stride bytes
 * apart, with 64 bytes to spare after the last row (swscale's SIMD stores).
 * Errors: PF_EINVAL (bad sizes or pointers, unknown pix_fmt), PF_EFORMAT
 * (a format swscale cannot convert, or the conversion failed). */
pf_status pf_rgba_convert(pf_rgba_converter *c, const uint8_t *const planes[4],
                          const int linesizes[4], int pix_fmt, int colorspace, int color_range,
                          int src_w, int src_h, uint8_t *dst, int dst_stride, int dst_w, int dst_h);

/* Frees; NULL is fine. */
void pf_rgba_converter_free(pf_rgba_converter *c);

/* ---- the model ------------------------------------------------------------ */

/* A loaded restoration network (docs/architecture.md section 4; weights in
 * safetensors, https://github.com/huggingface/safetensors). Only read once
 * loaded: one pf_model serves any number of streams at once, from any
 * threads (each stream keeps its own plan, buffers and threads). */
typedef struct pf_model pf_model;

/* Loads a model file, checking its size against p->limits.max_model_bytes
 * (p may be NULL: defaults) and its architecture against its metadata.
 * Errors (logged through p->log with what differs or is missing):
 * PF_EMODEL (missing, unreadable, truncated, not a pixelfix model, wrong
 * architecture), PF_ELIMIT, PF_ENOMEM. */
pf_status pf_model_load(pf_model **model, const char *path, const pf_params *p);

/* Frees; NULL is fine. */
void pf_model_free(pf_model *model);

/* The default model file, the first of: $PIXELFIX_MODEL when set (even if
 * it does not exist, so that a wrong setting is an error, not a silent
 * classical run); models/pixelfix-v6.safetensors beside the running
 * program; the source tree's models/ when the program lies inside the tree
 * libpixelfix was built in (the filter's build/ffmpeg/ffmpeg); the
 * program's ../share/pixelfix/models/ (installed under any prefix); the
 * configured $(PREFIX)/share/pixelfix/models/. NULL when none exists (the
 * classical path is used). The string is valid until the calling thread's
 * next call. pf_restore_file() and the FFmpeg filter use it when no model
 * is named. */
const char *pf_model_default_path(void);

/* ---- streaming ------------------------------------------------------------ */

/* A restore fed frame by frame, for video pipelines (the FFmpeg filter)
 * and long clips. The first p->grid_frames frames are held for grid
 * detection; then every frame is resampled onto the grid, the model runs
 * over windows of p->window frames overlapping by p->overlap (linear
 * cross-fade), and frames come out paletted at native resolution, in
 * order, each with its pts and duration. Latency after the grid is found:
 * at most one window, plus p->palette_frames while the palette is built
 * (p->palette_frames = 0 holds every frame until pf_stream_finish).
 * Memory is bounded by the window and the grid lookahead, not the clip. */
typedef struct pf_stream pf_stream;

/* One restored frame, owned by the stream and valid until its next call. */
typedef struct pf_stream_frame {
    const uint8_t *rgba;   /* (height, width, 4) RGBA8, alpha 0 or 255 */
    int width, height;     /* native pixels */
    int64_t pts;           /* as pushed (any time base) */
    int duration_ms;       /* as pushed */
} pf_stream_frame;

/* Opens a stream for input frames of width x height pixels. model is
 * borrowed (NULL = classical path) and must outlive the stream; p is
 * copied (its strings must outlive the stream).
 * Errors: PF_EINVAL (bad size or parameters), PF_ELIMIT, PF_EPALETTE,
 * PF_ENOMEM. */
pf_status pf_stream_open(pf_stream **s, int width, int height, const pf_params *p,
                         pf_model *model);

/* Adds one input frame: rgba is (height, width, 4) RGBA8 with rows
 * `stride` bytes apart; pts is passed through; duration in ms (> 0). May
 * run grid detection and model windows. Restored frames may then be
 * ready: pull them all before the next push.
 * Errors: PF_EINVAL (order of calls), PF_ENOGRID (no grid in the first
 * frames; set p->scale), PF_ENOMEM, PF_EABORTED. */
pf_status pf_stream_push(pf_stream *s, const uint8_t *rgba, int stride, int64_t pts,
                         int duration_ms);

/* Ends the input: runs what is held. Then pull the rest.
 * Errors: PF_ENOFRAMES (nothing was pushed) and those of push. */
pf_status pf_stream_finish(pf_stream *s);

/* The next restored frame: PF_OK, or PF_DONE when none is ready now (after
 * pf_stream_finish: none is left). */
pf_status pf_stream_pull(pf_stream *s, pf_stream_frame *f);

/* What the stream found so far (grid, background, palette, timings; the
 * per-frame arrays are not filled). Owned by the stream. native_w is 0
 * until the grid is found. */
const pf_report *pf_stream_report(const pf_stream *s);

/* Frees everything; NULL is fine. */
void pf_stream_close(pf_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* PIXELFIX_H */
