/*
 * stream.c - pf_stream and pf_model (pixelfix.h): the restore engine fed
 * frame by frame. Grid lock on a lookahead, canonical resampling and the
 * classical cell colour, background keying, windowed model inference,
 * clip-wide palette with hysteresis. pf_restore_file() and the FFmpeg
 * filter both drive it, so they restore identically. It orchestrates; the
 * maths lives in grid/, nn/ and palette/.
 */
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "core/stream_tap.h"
#include "grid/grid.h"
#include "io/io.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "nn/window.h"
#include "palette/palette.h"

/* largest channel change of a still cell's area mean, 0..255: elastic
 * grids wobble by a fraction of a cell, regular ones only drift */
#define STILL_LEVELS_ELASTIC 32.0
#define STILL_LEVELS_REGULAR 12.0
/* a frame whose largest cell change stays under both of these is the same
 * drawing held (0..255, and a share of the clip's largest change so far):
 * on val video_model held frames move a cell by at most 54 levels, new
 * drawings by at least 139; the share keeps a clip whose every change is
 * subtle (a fade, a shimmer) from freezing */
#define HOLD_LEVELS 64.0
#define HOLD_SHARE 0.5
/* Still cells the key newly clears follow it when they form a 4-connected
 * region of at least this many cells: a pocket keyed once it has grown
 * (src/grid/background.c key_pockets), whose bright still cells would
 * otherwise stay opaque (a pale crescent between the arm and the head of
 * ../shared/wild/sprited_one_part00.webp). Single cells and short runs on
 * the silhouette are the wobble the lock exists for. Measured on val with
 * v3: at 6, acc +0.0004, alpha IoU +0.0012 (enclosed +0.013), flicker
 * 0.00423 -> 0.00426, no case loses more than 0.001; at 1, acc +0.0006
 * but video_model_01 -0.011. Only this direction: a cell given back
 * would flicker where a pocket's key toggles. */
#define KEY_FOLLOW_MIN 6

/* Only read once loaded: every stream runs it on its own nn_state. */
struct pf_model {
    nn_model nn;
    char *path;             /* as loaded, for the report */
};

typedef struct out_frame {
    uint8_t *rgba;
    int64_t pts;
    int duration_ms;
} out_frame;

/* A frame that repeats the previous drawing: it skips the network and
 * comes out as a copy of the output before it, right after the after-th
 * frame that went through. */
typedef struct held_frame {
    int64_t pts;
    int duration_ms;
    int after;
} held_frame;

/* When a frame shows and for how long: kept by the stream for the frames
 * in the windower, which hands them back in the order they went in. */
typedef struct frame_time {
    int64_t pts;
    int duration_ms;
} frame_time;

/* A FIFO of native RGBA8 frames. */
typedef struct frame_queue {
    out_frame *f;
    int head, count, cap;
} frame_queue;

struct pf_stream {
    pf_params p;
    pfi_logger lg;
    pf_model *model;             /* borrowed; NULL = classical */
    nn_state nn;                 /* this stream's run of the model: plan, threads */
    int w, h;                    /* input canvas */
    /* grid lookahead: input frames held until the grid is found */
    uint8_t **head;
    int64_t *head_pts;
    int *head_dur;
    int n_head;
    /* after the lock */
    int locked;
    int tile;                    /* model tile side in cells, 0 = whole frames (nn_model_tile_plan) */
    pfi_sampler smp;              /* the clip's grid, background, samples and cells */
    pfi_stream_tap_fn tap;        /* stream_tap.h */
    void *tap_user;
    pfi_stream_debug dbg;         /* stream_tap.h: the caller's --debug images */
    int debug_until, debug_step; /* dbg.grid: lookahead frames 0, step, ... before this */
    int k, rows, cols;
    size_t slen, clen;           /* floats: samples (4, rows k, cols k), cells (4, rows, cols) */
    float bg01[3];
    float *payload;              /* samples then cells of one frame: the windower's input */
    /* still cells keep their previous output exactly (mark_still) */
    float *ref_mean;             /* (rows, cols, 4) each cell's RGBA area mean at its last change */
    uint8_t *still;              /* FIFO of (rows, cols) masks, one per frame fed and not yet out */
    int still_head, still_count, still_cap;
    float still_level;           /* STILL_LEVELS_* of the locked lattice, 0..1 */
    float *cell_mean;            /* (rows, cols, 4) the frame's cell area means, mark_still's scratch */
    float change_max;            /* the largest cell change of a frame so far (from the lookahead's), 0..1 */
    float *last_out;             /* (4, rows, cols) the previous restored frame */
    uint8_t *key_mark;           /* (rows, cols) follow_key's scratch */
    int32_t *key_queue;          /* (rows, cols) follow_key's scratch */
    held_frame *held_in;         /* FIFO of held drawings waiting for the frame they repeat */
    int held_head, held_count, held_cap;
    int restored_in, restored_out; /* frames given to the windower, and out of it */
    frame_time *win_time;        /* (window + 1) ring: frame i's timing at i % (window + 1) */
    int have_ref, have_last;
    uint8_t *contig;             /* a contiguous input frame */
    nn_windower win;
    /* palette */
    pfi_palette pal;
    int pal_ready;
    frame_queue held;            /* pre-palette native frames waiting for the palette */
    pfi_palette_mapper mapper;    /* set up once the palette is built */
    /* out */
    frame_queue out;
    uint8_t *pulled;             /* the frame last handed out, freed on the next call */
    int pushed, finished;
    pf_status lock_err;          /* a failed lock, repeated: the lookahead is full */
    int drift_cap;
    size_t mem_fixed;            /* bytes of the working set planned at the lock (model included) */
    pf_report rep;
};

/* ---- the model ------------------------------------------------------------ */

pf_status pf_model_load(pf_model **model, const char *path, const pf_params *p)
{
    pf_limits lim = p ? p->limits : pf_default_limits();
    pfi_logger lg = {0};
    if (p) {
        lg.fn = p->log;
        lg.user = p->user;
        lg.level = p->log_level;
    }
    *model = NULL;
    if (!path) return PF_EINVAL;
    pf_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return PF_ENOMEM;
    }
    /* the inner module's error line is reported once, below, with the path */
    pfi_first_error fe = {.next = &lg};
    pfi_logger inner = {pfi_first_error_log, &fe, lg.level > PF_LOG_ERROR ? lg.level : PF_LOG_ERROR};
    pf_status st = nn_model_load(&m->nn, path, lim.max_model_bytes > 0 ? (size_t)lim.max_model_bytes : 0, &inner);
    if (st < 0) {
        /* the inner line without its module prefix, and the path once */
        const char *why = fe.msg[0] ? fe.msg : pf_strerror(st);
        char own[PATH_MAX + 16];
        snprintf(own, sizeof own, "model '%s': ", path);
        if (!strncmp(why, own, strlen(own))) why += strlen(own);
        else if (!strncmp(why, "safetensors: ", 13)) why += 13;
        else if (!strncmp(why, "weights: ", 9)) why += 9;
        if (st == PF_ELIMIT)
            pfi_error(&lg, "cannot use the model '%s': it is larger than the limit of %lld bytes "
                     "(--max-model-bytes raises it)", path, (long long)lim.max_model_bytes);
        else if (strstr(why, path))
            pfi_error(&lg, "cannot use the model: %s", why);
        else
            pfi_error(&lg, "cannot use the model '%s': %s", path, why);
        free(m->path);
        free(m);
        return st;
    }
    *model = m;
    return PF_OK;
}

void pf_model_free(pf_model *model)
{
    if (!model) return;
    nn_model_free(&model->nn);
    free(model->path);
    free(model);
}

/* ---- queues ---------------------------------------------------------------- */

static pf_status queue_push(frame_queue *q, uint8_t *rgba, int64_t pts, int dur)
{
    if (q->head > 0 && q->head == q->count) q->head = q->count = 0;
    if (q->count == q->cap) {
        if (q->head > 0) { /* compact before growing */
            memmove(q->f, q->f + q->head, sizeof *q->f * (size_t)(q->count - q->head));
            q->count -= q->head;
            q->head = 0;
        }
        if (q->count == q->cap) {
            int cap = q->cap ? q->cap * 2 : 16;
            if (q->cap > (1 << 29)) return PF_ENOMEM;
            out_frame *f = realloc(q->f, sizeof *f * (size_t)cap);
            if (!f) return PF_ENOMEM;
            q->f = f;
            q->cap = cap;
        }
    }
    q->f[q->count++] = (out_frame){rgba, pts, dur};
    return PF_OK;
}

static void queue_free(frame_queue *q)
{
    for (int i = q->head; i < q->count; i++) free(q->f[i].rgba);
    free(q->f);
    memset(q, 0, sizeof *q);
}

/* ---- opening ------------------------------------------------------------- */

static pf_status check_params(const pf_params *p, const pfi_logger *lg)
{
    if (p->scale < 0 || (p->scale > 0 && p->scale < 1) || p->scale > 256) {
        pfi_error(lg, "scale %.3f is out of range: give 0 (detect) or a cell size from 1 to 256 pixels", p->scale);
        return PF_EINVAL;
    }
    if (p->colors != 0 && (p->colors < 2 || p->colors > 256)) {
        pfi_error(lg, "colors %d is out of range: give 0 (auto) or 2..256", p->colors);
        return PF_EINVAL;
    }
    if (p->samples_k < 1 || p->samples_k > 8 || p->grid_frames < 1 || p->grid_frames > 256) {
        pfi_error(lg, "samples_k must be 1..8 and grid_frames 1..256");
        return PF_EINVAL;
    }
    if (p->window < 1 || p->window > 64 || p->overlap < 0 || 2 * p->overlap > p->window) {
        pfi_error(lg, "window %d / overlap %d: the window must be 1..64 frames and the overlap "
                 "0..window/2", p->window, p->overlap);
        return PF_EINVAL;
    }
    if (p->palette_frames < PF_PALETTE_AUTO || p->threads < 0 || p->threads > 256) {
        pfi_error(lg, "palette_frames must be PF_PALETTE_AUTO or >= 0, and threads 0..256");
        return PF_EINVAL;
    }
    return PF_OK;
}

#define GRID_WORK_CANVASES 12   /* grid detection's work, in RGBA canvases (measured 11, plus margin) */
/* input-sized memory for the whole run after the lock, in RGBA canvases:
 * the contiguous frame, the reader's canvas and the decoder's frames in
 * flight (a 4096x2160 H.264 clip: 4-5) */
#define STREAM_CANVASES 6.0

pf_status pf_stream_open(pf_stream **out, int width, int height, const pf_params *p, pf_model *model)
{
    pf_stream *s;
    pf_status st;

    *out = NULL;
    if (!p || width < 2 || height < 2) return PF_EINVAL;
    if (!(s = calloc(1, sizeof *s))) return PF_ENOMEM;
    s->p = *p;
    if (s->p.palette_frames == PF_PALETTE_AUTO) s->p.palette_frames = PF_PALETTE_AUTO_FRAMES;
    s->lg.fn = p->log;
    s->lg.user = p->user;
    s->lg.level = p->log_level;
    s->w = width;
    s->h = height;
    if ((st = check_params(p, &s->lg)) < 0) goto fail;
    if (p->limits.max_pixels > 0 && (int64_t)width * height > p->limits.max_pixels) {
        pfi_error(&s->lg, "a %dx%d frame is over the limit of %lld pixels (--max-pixels raises it)",
                 width, height, (long long)p->limits.max_pixels);
        st = PF_ELIMIT;
        goto fail;
    }
    if (width > PF_GRID_MAX_SIDE || height > PF_GRID_MAX_SIDE) {
        pfi_error(&s->lg, "a %dx%d frame is over %d pixels a side", width, height, PF_GRID_MAX_SIDE);
        st = PF_ELIMIT;
        goto fail;
    }
    if (p->limits.max_memory > 0) {
        /* Grid detection works on whole canvases: its work is about
         * GRID_WORK_CANVASES canvases, plus one per held frame (measured:
         * a 4096x4096 GIF peaked at 750 MB with one frame held, 1.2 GB
         * with 8). Hold fewer frames to fit; refuse what does not fit
         * with one, before holding anything. */
        const int64_t canvas = (int64_t)width * height * 4;
        const int64_t fit = p->limits.max_memory / canvas - GRID_WORK_CANVASES;
        if (fit < 1) {
            char a[32], b[32];
            pfi_error(&s->lg, "a %dx%d frame needs about %s to find its grid, over the limit of %s "
                     "(--max-memory raises it)", width, height,
                     pfi_fmt_bytes(a, (double)canvas * (GRID_WORK_CANVASES + 1)),
                     pfi_fmt_bytes(b, (double)p->limits.max_memory));
            st = PF_ELIMIT;
            goto fail;
        }
        if (fit < s->p.grid_frames) {
            pfi_info(&s->lg, "grid: %d of %d frames held for detection, to stay within --max-memory",
                    (int)fit, s->p.grid_frames);
            s->p.grid_frames = (int)fit;
        }
    }
    st = PF_ENOMEM;
    if (!(s->head = calloc((size_t)s->p.grid_frames, sizeof *s->head)) ||
        !(s->head_pts = calloc((size_t)s->p.grid_frames, sizeof *s->head_pts)) ||
        !(s->head_dur = calloc((size_t)s->p.grid_frames, sizeof *s->head_dur)) ||
        !(s->contig = pfi_malloc4((size_t)width, (size_t)height, 4, 1)))
        goto fail;
    if (p->palette_path) {
        if ((st = pfi_palette_load(&s->pal, p->palette_path, &s->lg)) < 0) {
            if (st == PF_EIO) st = PF_EPALETTE;   /* the palette file, not the input */
            goto fail;
        }
        s->pal_ready = 1;
        s->rep.palette_size = pfi_palette_colors(&s->pal, s->rep.palette);
    }
    if (model) {
        if ((st = nn_state_init(&s->nn, &model->nn, p->threads > 0 ? p->threads : 1)) < 0) goto fail;
        s->model = model;
        s->k = model->nn.k;
    } else {
        s->k = p->samples_k;
    }
    s->rep.in_width = width;
    s->rep.in_height = height;
    s->rep.used_model = model != NULL;
    if (model && !(s->rep.model_path = strdup(model->path))) {
        st = PF_ENOMEM;
        goto fail;
    }
    s->rep.window = model ? p->window : 1;
    s->rep.overlap = model ? p->overlap : 0;
    s->rep.scale_forced = p->scale > 0;
    *out = s;
    return PF_OK;
fail:
    pf_stream_close(s);
    return st;
}

void pf_stream_close(pf_stream *s)
{
    if (!s) return;
    if (s->head)
        for (int i = 0; i < s->n_head; i++) free(s->head[i]);
    free(s->head);
    free(s->head_pts);
    free(s->head_dur);
    free(s->payload);
    free(s->ref_mean);
    free(s->cell_mean);
    free(s->still);
    free(s->last_out);
    free(s->key_mark);
    free(s->key_queue);
    free(s->held_in);
    free(s->win_time);
    free(s->contig);
    pfi_palette_mapper_free(&s->mapper);
    free(s->pulled);
    free(s->rep.drift_x);
    free(s->rep.drift_y);
    free(s->rep.model_path);
    nn_window_free(&s->win);
    queue_free(&s->held);
    queue_free(&s->out);
    pfi_sampler_free(&s->smp);
    nn_state_free(&s->nn);
    free(s);
}

void pfi_stream_set_tap(pf_stream *s, pfi_stream_tap_fn fn, void *user)
{
    s->tap = fn;
    s->tap_user = user;
}

void pfi_stream_set_debug(pf_stream *s, const pfi_stream_debug *d)
{
    s->dbg = *d;
}

const pf_report *pf_stream_report(const pf_stream *s)
{
    return &s->rep;
}

/* ---- palette stage ---------------------------------------------------------- */

/* One palette from every opaque held pixel. */
static pf_status build_palette(pf_stream *s)
{
    const frame_queue *q = &s->held;
    const int n = q->count - q->head;
    const uint8_t **frames = calloc(n > 0 ? (size_t)n : 1, sizeof *frames);
    pf_status st;

    if (!frames) return PF_ENOMEM;
    for (int f = 0; f < n; f++) frames[f] = q->f[q->head + f].rgba;
    st = pfi_palette_from_rgba(&s->pal, frames, n, s->cols, s->rows, s->p.colors, s->model != NULL);
    int merged = 0;
    if (st == PF_OK &&
        (st = pfi_palette_defringe(&s->pal, frames, n, s->cols, s->rows,
                                  s->smp.bg.kind == PF_BGK_SOLID ? s->smp.bg.rgb : NULL,
                                  s->smp.bg.kind == PF_BGK_GRADIENT || s->smp.bg.kind == PF_BGK_FIELD, &merged)) == PF_OK &&
        merged > 0)
        pfi_debug(&s->lg, "palette: %d entries are blends across an edge", merged);
    free(frames);
    return st;
}

/* Maps one native frame in place onto the palette, with hysteresis
 * against the previous frame, and queues it for output. */
static pf_status map_frame(pf_stream *s, uint8_t *px, int64_t pts, int dur)
{
    pf_status st;

    /* First frame: the palette (built, or loaded at open) is final now. */
    if (!s->mapper.pal && (st = pfi_palette_mapper_init(&s->mapper, &s->pal, s->cols, s->rows)) < 0)
        return st;
    pfi_palette_mapper_apply(&s->mapper, px);
    return queue_push(&s->out, px, pts, dur);
}

/* Builds the palette from the held frames, then maps and releases them. */
static pf_status make_palette(pf_stream *s)
{
    double t = pfi_now_ms();
    pf_status st;
    if (s->dbg.cells && s->held.count > s->held.head) {
        pfi_anim a = {0};
        a.width = s->cols;
        a.height = s->rows;
        /* the hook takes a pfi_anim: borrow the held frames */
        pfi_frame *frames = calloc((size_t)(s->held.count - s->held.head), sizeof *frames);
        if (!frames) return PF_ENOMEM;
        for (int i = s->held.head; i < s->held.count; i++) {
            frames[a.count].rgba = s->held.f[i].rgba;
            frames[a.count++].duration_ms = s->held.f[i].duration_ms;
        }
        a.frames = frames;
        st = s->dbg.cells(s->dbg.user, &a);
        free(frames);
        if (st < 0) return st;
    }
    if ((st = build_palette(s)) < 0) return st;
    s->pal_ready = 1;
    s->rep.palette_size = pfi_palette_colors(&s->pal, s->rep.palette);
    while (s->held.head < s->held.count) {
        out_frame f = s->held.f[s->held.head++];
        if ((st = map_frame(s, f.rgba, f.pts, f.duration_ms)) < 0) {
            free(f.rgba);
            return st;
        }
    }
    s->rep.ms_palette += pfi_now_ms() - t;
    return PF_OK;
}

/* Still cells of last (4, rows, cols) that the key clears in o, in
 * 4-connected regions of KEY_FOLLOW_MIN cells or more, take o. */
static void follow_key(pf_stream *s, const float *o, float *last)
{
    const size_t plane = (size_t)s->rows * s->cols;
    uint8_t *mark = s->key_mark;
    int32_t *queue = s->key_queue;
    for (size_t i = 0; i < plane; i++) mark[i] = o[3 * plane + i] < 0.5f && last[3 * plane + i] >= 0.5f;
    for (size_t seed = 0; seed < plane; seed++) {
        if (mark[seed] != 1) continue;
        size_t head = 0, tail = 0;
        queue[tail++] = (int32_t)seed;
        mark[seed] = 2;
        while (head < tail) {
            int32_t nb[4];
            pfi_neighbours4(queue[head++], s->cols, s->rows, nb);
            for (int d = 0; d < 4; d++)
                if (nb[d] >= 0 && mark[nb[d]] == 1) mark[nb[d]] = 2, queue[tail++] = nb[d];
        }
        if (tail >= KEY_FOLLOW_MIN)
            for (size_t k = 0; k < tail; k++)
                for (int c = 0; c < 4; c++) last[(size_t)c * plane + queue[k]] = o[(size_t)c * plane + queue[k]];
    }
}

/* A restored float frame (4, rows, cols) -> RGBA8 with binary alpha ->
 * the palette stage. o NULL: a held drawing, the previous output again. */
static pf_status to_palette_stage(pf_stream *s, const float *o, int64_t pts, int dur)
{
    const size_t plane = (size_t)s->rows * s->cols;
    uint8_t *px = pfi_malloc4(plane, 4, 1, 1);
    pf_status st;
    if (!px) return PF_ENOMEM;
    if (!o) {
        o = s->last_out;
    } else if (s->still_count > 0) {
        /* still cells repeat the previous frame's output (the masks leave
         * in the order the frames went in) */
        const uint8_t *m = s->still + (size_t)s->still_head * plane;
        float *last = s->last_out;
        if (s->have_last) {
            for (size_t i = 0; i < plane; i++)
                if (!m[i])
                    for (int c = 0; c < 4; c++) last[(size_t)c * plane + i] = o[(size_t)c * plane + i];
            follow_key(s, o, last);
        }
        s->still_head++;
        s->still_count--;
        if (s->still_count == 0) s->still_head = 0;
        if (!s->have_last) memcpy(last, o, sizeof *last * 4 * plane);
        s->have_last = 1;
        o = last;
    }
    for (size_t i = 0; i < plane; i++) {
        for (int c = 0; c < 3; c++)
            px[i * 4 + c] = (uint8_t)(pfi_clampf(o[(size_t)c * plane + i], 0.f, 1.f) * 255.f + .5f);
        px[i * 4 + 3] = o[3 * plane + i] >= 0.5f ? 255 : 0;
    }
    if (s->pal_ready) {
        double t = pfi_now_ms();
        st = map_frame(s, px, pts, dur);
        s->rep.ms_palette += pfi_now_ms() - t;
        if (st < 0) free(px);
        return st;
    }
    const int n_held = s->held.count - s->held.head + 1;
    s->rep.mem_bytes = (int64_t)s->mem_fixed + (int64_t)n_held * (int64_t)plane * 4;
    if (s->p.limits.max_memory > 0 && s->rep.mem_bytes > s->p.limits.max_memory) {
        char a[32];
        free(px);
        pfi_error(&s->lg, "holding %d frames of %dx%d native pixels for the clip-wide palette takes more than %s "
                 "(--max-memory raises it; --palette-frames N builds the palette from the first N frames)",
                 n_held, s->cols, s->rows, pfi_fmt_bytes(a, (double)s->p.limits.max_memory));
        return PF_ELIMIT;
    }
    if ((st = queue_push(&s->held, px, pts, dur)) < 0) {
        free(px);
        return st;
    }
    if (s->p.palette_frames > 0 && s->held.count - s->held.head >= s->p.palette_frames)
        return make_palette(s);
    return PF_OK;
}

/* Held drawings whose frame before has come out follow it. */
static pf_status flush_held(pf_stream *s)
{
    pf_status st;
    while (s->held_count > 0 && s->held_in[s->held_head].after <= s->restored_out) {
        const held_frame f = s->held_in[s->held_head++];
        if (--s->held_count == 0) s->held_head = 0;
        if ((st = to_palette_stage(s, NULL, f.pts, f.duration_ms)) < 0) return st;
    }
    return PF_OK;
}

static pf_status push_held(pf_stream *s, int64_t pts, int dur)
{
    if (s->held_head + s->held_count == s->held_cap) {
        if (s->held_head > 0) {
            memmove(s->held_in, s->held_in + s->held_head, sizeof *s->held_in * (size_t)s->held_count);
            s->held_head = 0;
        } else {
            if (s->held_cap > (1 << 24)) return PF_ENOMEM;
            const int cap = s->held_cap ? 2 * s->held_cap : 16;
            held_frame *q = realloc(s->held_in, sizeof *q * (size_t)cap);
            if (!q) return PF_ENOMEM;
            s->held_in = q;
            s->held_cap = cap;
        }
    }
    s->held_in[s->held_head + s->held_count++] = (held_frame){pts, dur, s->restored_in};
    return PF_OK;
}

static pf_status drain_windows(pf_stream *s)
{
    const float *o;
    pf_status st;
    while (nn_window_pull(&s->win, &o) == PF_OK) {
        const frame_time ft = s->win_time[s->restored_out % (s->rep.window + 1)];
        if ((st = to_palette_stage(s, o, ft.pts, ft.duration_ms)) < 0) return st;
        s->restored_out++;
        if ((st = flush_held(s)) < 0) return st;
    }
    return PF_OK;
}

/* ---- grid, resampling, model ------------------------------------------------- */

/* The network is trained on the colour of GT-opaque cells only, so its
 * correction of a cell that is really background (a blend with the key that
 * the key left opaque) is arbitrary, and the palette clears such cells by
 * their distance to the background (pfi_palette_defringe).
 * So opaque cells within PFI_FRINGE_NEAR_BG of a solid background keep
 * their classical colour: cells and out are T frames of (4, rows, cols),
 * 0..1. Measured (run.py, v6): val acc 0.9630 -> 0.9638, flicker 0.00265
 * -> 0.00243 (minority_hue 0.968 -> 0.978: val minority_hue_01 kept a
 * magenta halo of 33 pixels a frame), dev 0.8342 -> 0.8343. */
static void keep_background_like(const pf_stream *s, const float *const *cells, int T, float *const *out)
{
    const size_t plane = (size_t)s->rows * s->cols;
    float bl[3];
    pfi_srgb_to_oklab(s->bg01, bl);
    for (int t = 0; t < T; t++)
        for (size_t i = 0; i < plane; i++) {
            const float *c = cells[t];
            if (c[3 * plane + i] < 0.5f) continue;
            float rgb[3] = {c[i], c[plane + i], c[2 * plane + i]}, lab[3];
            pfi_srgb_to_oklab(rgb, lab);
            if (pfi_oklab_dist(lab, bl) >= PFI_FRINGE_NEAR_BG) continue;
            for (int k = 0; k < 3; k++) out[t][k * plane + i] = rgb[k];
        }
}

/* The windower's callback: the model over one window, or (classical, T 1)
 * the cells as they are. */
static pf_status run_window(void *ctx, const float *const *in, int T, int reuse, float *const *out)
{
    pf_stream *s = ctx;
    if (!s->model) {
        for (int t = 0; t < T; t++) memcpy(out[t], in[t] + s->slen, s->clen * sizeof(float));
        return PF_OK;
    }
    const float *samples[64], *cells[64];
    for (int t = 0; t < T; t++) {
        samples[t] = in[t];
        cells[t] = in[t] + s->slen;
    }
    double t0 = pfi_now_ms();
    pf_status st = nn_model_run_tiled(&s->model->nn, &s->nn, samples, cells, s->bg01, T, s->rows, s->cols,
                                      s->tile, reuse, out);
    s->rep.ms_model += pfi_now_ms() - t0;
    if (st == PF_ENOMEM) pfi_error(&s->lg, "out of memory running the model on %dx%d cells", s->cols, s->rows);
    if (st == PF_OK && s->smp.bg.kind == PF_BGK_SOLID) keep_background_like(s, cells, T, out);
    return st;
}

static pf_status push_drift(pf_stream *s, double dx, double dy)
{
    int n = s->rep.frames_in;
    if (n >= s->drift_cap) {
        int cap = s->drift_cap ? s->drift_cap * 2 : 64;
        if (s->drift_cap > (1 << 29)) return PF_ENOMEM;
        double *x = realloc(s->rep.drift_x, sizeof *x * (size_t)cap);
        if (!x) return PF_ENOMEM;
        s->rep.drift_x = x;
        double *y = realloc(s->rep.drift_y, sizeof *y * (size_t)cap);
        if (!y) return PF_ENOMEM;
        s->rep.drift_y = y;
        s->drift_cap = cap;
    }
    s->rep.drift_x[n] = dx;
    s->rep.drift_y[n] = dy;
    s->rep.frames_in = n + 1;
    return PF_OK;
}

/* Which cells of the frame just sampled are still: the area mean of each
 * channel over the cell (the mean of its k x k samples, RGBA 0..1) moved by
 * less than still_level since the cell last changed, which is what a box
 * resize of the input to the native size would call unchanged
 * (docs/metrics.md, "steadiness"). Comparing with the last change, not the last
 * frame, lets a slow fade through. A video model's pixels wobble by a
 * fraction of a cell from frame to frame and its codec adds noise, which
 * flips the colour of cells an edge crosses while the drawing stands
 * still, so held drawings would differ. Elastic grids hold up to 32
 * levels, regular ones up to 12: at 32 the dev set's subtle texture
 * animations froze, and at 16 the shipped model lost acc on
 * samples/fire-flame.webp (evalset, --no-model, 0 -> 12 levels: val
 * flicker 0.0153 -> 0.0137, video_model held frames identical 69 -> 179 of
 * 210, acc 0.854 -> 0.853; dev flicker 0.0042 -> 0.0028, acc 0.750 ->
 * 0.749).
 * Per cell, the wobble still flipped 1-4 cells of many held drawings (val
 * video_bent: 80 of 189 held pairs differed), so a frame whose largest cell
 * change is small both in levels and against the clip's largest change so
 * far (HOLD_*; from the start, the lookahead's: grid/sampler.c) is the
 * drawing held: all its cells are still, and it comes out identical to
 * the frame before (val: 189 of 189 and 208 of 210).
 * Appends the mask to the FIFO, except for a held frame that may skip the
 * network (*skipped: it needs none). */
static pf_status mark_still(pf_stream *s, int may_skip, int *skipped)
{
    const size_t plane = (size_t)s->rows * s->cols;
    float change = 0;
    pfi_grid_cell_means(s->payload, s->rows, s->cols, s->k, s->cell_mean);
    for (size_t i = 0; i < plane * 4; i++) change = fmaxf(change, fabsf(s->cell_mean[i] - s->ref_mean[i]));
    /* the same drawing held: every cell still, refs kept; with may_skip it
     * skips the network and needs no mask */
    const int held = s->have_ref && change < (float)(HOLD_LEVELS / 255.0) && change < (float)HOLD_SHARE * s->change_max;
    if (s->have_ref) s->change_max = fmaxf(s->change_max, change);
    *skipped = held && may_skip;
    if (*skipped) return PF_OK;
    if (s->still_head + s->still_count == s->still_cap) {
        if (s->still_head > 0) {
            memmove(s->still, s->still + (size_t)s->still_head * plane, plane * (size_t)s->still_count);
            s->still_head = 0;
        } else {
            const int cap = s->still_cap ? 2 * s->still_cap : 16;
            if (s->still_cap > (1 << 20)) return PF_ENOMEM;
            uint8_t *m = pfi_malloc4(plane, (size_t)cap, 1, 1);
            if (!m) return PF_ENOMEM;
            if (s->still) memcpy(m, s->still, plane * (size_t)s->still_count);
            free(s->still);
            s->still = m;
            s->still_cap = cap;
        }
    }
    uint8_t *mask = s->still + (size_t)(s->still_head + s->still_count++) * plane;
    for (size_t i = 0; i < plane; i++) {
        const float *mean = s->cell_mean + i * 4;
        float *ref = s->ref_mean + i * 4;
        int still = s->have_ref;
        for (int ch = 0; ch < 4 && still && !held; ch++)
            if (fabsf(mean[ch] - ref[ch]) >= s->still_level) still = 0;
        mask[i] = (uint8_t)still;
        if (!still) memcpy(ref, mean, 4 * sizeof *ref);
    }
    s->have_ref = 1;
    return PF_OK;
}

/* Samples one frame (contiguous RGBA8 at input size, in clip order) onto
 * the lattice, keys the cells, and feeds the windower. */
static pf_status feed(pf_stream *s, const uint8_t *rgba, int64_t pts, int dur)
{
    double t = pfi_now_ms(), pal0 = s->rep.ms_palette, dx, dy;
    float *cells = s->payload + s->slen;
    pf_status st;
    if ((st = pfi_sampler_next(&s->smp, rgba, s->payload, cells, &dx, &dy)) < 0) return st;
    if (s->tap) s->tap(s->tap_user, s->payload, cells, s->rows, s->cols, s->k);
    if (s->dbg.grid && s->rep.frames_in < s->debug_until && s->rep.frames_in % s->debug_step == 0) {
        if ((st = s->dbg.grid(s->dbg.user, s->smp.lat, rgba, s->w, s->h, dx, dy, s->rep.frames_in)) < 0)
            return st;
    }
    /* at most a window of held drawings wait for the frame they repeat, so
     * the latency stays bounded: a long still stretch goes through the
     * network, every cell marked still */
    int skipped = 0;
    if ((st = mark_still(s, s->held_count < s->rep.window, &skipped)) < 0) return st;
    if ((st = push_drift(s, dx, dy)) < 0) return st;
    if (skipped) {
        /* the same drawing again: no network, the previous output */
        s->rep.frames_held++;
        st = push_held(s, pts, dur);
        if (st == PF_OK) st = flush_held(s);
    } else {
        /* at most a window's frames are in the windower: the ring holds them */
        s->win_time[s->restored_in % (s->rep.window + 1)] = (frame_time){pts, dur};
        if ((st = nn_window_push(&s->win, s->payload)) < 0) return st;
        s->restored_in++;
        st = drain_windows(s);
    }
    s->rep.ms_restore += pfi_now_ms() - t - (s->rep.ms_palette - pal0);
    return st;
}

static void fill_report_grid(pf_report *rep, const pfi_lattice *L)
{
    const pfi_grid *g = pfi_lattice_grid(L);
    const pfi_cell_candidate *c;
    rep->cell_w = g->cell_w;
    rep->cell_h = g->cell_h;
    rep->offset_x = g->offset_x;
    rep->offset_y = g->offset_y;
    rep->confidence = g->confidence;
    rep->grid_kind = pfi_lattice_elastic(L) ? PF_GRID_ELASTIC : PF_GRID_REGULAR;
    rep->bend = pfi_lattice_bend(L);
    rep->n_candidates = pfi_lattice_get_candidates(L, &c);
    if (rep->n_candidates > 8) rep->n_candidates = 8;
    for (int i = 0; i < rep->n_candidates; i++) {
        rep->candidate_cell[i] = c[i].cell;
        rep->candidate_confidence[i] = c[i].confidence;
    }
}

/* The clip needs about `need` bytes to `what`, over --max-memory. */
static pf_status over_memory(pf_stream *s, const char *what, double need)
{
    char a[32], b[32];
    pfi_error(&s->lg, "%dx%d native pixels (cells of %.2f px) need about %s to %s, over the limit of %s "
             "(--max-memory raises it)", s->smp.cols, s->smp.rows, pfi_lattice_grid(s->smp.lat)->cell_w, pfi_fmt_bytes(a, need),
             what, pfi_fmt_bytes(b, (double)s->p.limits.max_memory));
    return PF_ELIMIT;
}

/* Finds the lattice on the held frames, sets everything up, and feeds them. */
static pf_status lock(pf_stream *s)
{
    const pf_params *p = &s->p;
    double t = pfi_now_ms();
    pfi_lattice_params lp = {p->grid, p->scale, s->k};
    pf_status st;

    /* the lookahead and the contiguous frame stay while the native work is set up */
    const size_t canvas = (size_t)s->w * s->h * 4, inputs = canvas * (size_t)(s->n_head + 1);
    const size_t max_mem = p->limits.max_memory > 0 ? (size_t)p->limits.max_memory : 0;
    st = pfi_sampler_lock(&s->smp, (const uint8_t *const *)s->head, s->n_head, s->w, s->h, &lp, p->background,
                         p->bg_rgb, p->keep_pockets, max_mem ? (max_mem > inputs ? max_mem - inputs : 1) : 0, &s->lg);
    if (st == PF_ELIMIT)
        return over_memory(s, "set up", (double)inputs + (double)s->smp.lock_bytes);
    if (s->smp.lat && p->candidates && (st == PF_OK || st == PF_ENOGRID)) {
        pf_status cs = pfi_lattice_candidates(s->smp.lat, (const uint8_t *const *)s->head, s->n_head);
        if (cs < 0) return cs;
    }
    if (s->smp.lat) fill_report_grid(&s->rep, s->smp.lat);
    if (st == PF_ENOGRID) {
        const pfi_grid *g = pfi_lattice_grid(s->smp.lat);
        if (s->rep.n_candidates > 0)
            pfi_error(&s->lg, "no pixel grid found: the likeliest cell size, %.2f px, has confidence "
                     "%.2f; try --scale %.2f (check it with --debug DIR), see `pixelfix probe` "
                     "for other candidates, or --scale 1 if the input is already at native resolution",
                     s->rep.candidate_cell[0], s->rep.candidate_confidence[0], s->rep.candidate_cell[0]);
        else
            pfi_error(&s->lg, "no pixel grid found (the strongest period, %.2f px, has confidence %.2f): "
                     "give the pixel size in input pixels with --scale N (check it with --debug DIR), "
                     "or --scale 1 if the input is already at native resolution",
                     g->cell_w, g->confidence);
        return st;
    }
    if (st < 0) return st;
    s->rep.ms_grid = pfi_now_ms() - t;
    for (int c = 0; c < 3; c++) s->bg01[c] = s->smp.bg.rgb[c] / 255.f;
    s->rep.bg_kind = s->smp.bg.kind;
    memcpy(s->rep.bg_rgb, s->smp.bg.rgb, 3);
    {
        const pfi_grid *g = pfi_lattice_grid(s->smp.lat);
        s->rows = g->rows;
        s->cols = g->cols;
        s->rep.native_w = s->cols;
        s->rep.native_h = s->rows;
        s->still_level = (float)(pfi_lattice_elastic(s->smp.lat) ? STILL_LEVELS_ELASTIC : STILL_LEVELS_REGULAR) / 255.f;
        if (pfi_lattice_elastic(s->smp.lat))
            pfi_info(&s->lg, "grid: elastic, %dx%d cells of %.3fx%.3f px, bending %.2f cells, confidence %.2f",
                    s->cols, s->rows, g->cell_w, g->cell_h, s->rep.bend, g->confidence);
        else
            pfi_info(&s->lg, "grid: %dx%d cells of %.3fx%.3f px, offset (%.2f, %.2f), confidence %.2f",
                    s->cols, s->rows, g->cell_w, g->cell_h, g->offset_x, g->offset_y, g->confidence);
    }
    /* The working set from here on: the frame's samples and cells, the
     * per-cell state, the still masks of a window, and the windower's queue
     * (plus the network, below). --max-memory bounds it with the input
     * frames still held, before anything of its size is allocated. */
    const double base = (double)inputs + (double)pfi_background_scratch_size(s->smp.rows, s->smp.cols) +
                        4.0 * ((double)s->smp.slen + (double)s->smp.clen) +
                        (4.0 * 4.0 * 3.0 + 5.0) * (double)s->smp.rows * s->smp.cols +
                        (double)s->smp.rows * s->smp.cols * (s->model ? p->window + 16 : 16);
    const double queue_c = 4.0 * ((double)s->smp.slen + 3.0 * (double)s->smp.clen);
    if (max_mem && base + (s->model ? 0.0 : queue_c) > (double)max_mem)
        return over_memory(s, "restore", base + (s->model ? 0.0 : queue_c));
    /* once fed, the lookahead is freed; the canvases stay */
    const double stays = base - (double)inputs + STREAM_CANVASES * (double)canvas;
    s->mem_fixed = (size_t)(stays + queue_c);
    if (s->model) {
        /* A window of native frames waits in the windower (samples and
         * cells in, corrected cells out), and the network runs on it: in
         * tiles (nn_model_run_tiled) when the whole frame would not fit the
         * budget, which is --max-model-memory or 3/4 of what --max-memory
         * leaves. Refused before allocating when even that does not fit. */
        size_t limit = p->limits.max_model_memory > 0 ? (size_t)p->limits.max_model_memory : 0;
        size_t net = SIZE_MAX, queue = SIZE_MAX;
        char a[32], b[32];
        /* a quarter of what is left is kept for the frames held for the
         * palette and by the output */
        const double room = ((double)max_mem - stays) * 0.75;
        const int by_memory = max_mem && (limit == 0 || room < (double)limit);
        if (by_memory) limit = (size_t)fmax(1.0, room);
        if (s->smp.slen <= SIZE_MAX - s->smp.clen)
            queue = nn_window_bytes(p->window, p->overlap, s->smp.slen + s->smp.clen, s->smp.clen);
        s->tile = -1;
        if (limit == 0 || queue < limit) {
            if (nn_model_tile_plan(&s->model->nn, p->window, s->rows, s->cols, limit ? limit - queue : 0,
                                   &s->tile, &net) < 0)
                s->tile = -1;   /* beyond what the network takes at all */
        }
        if (s->tile < 0) {
            pfi_error(&s->lg, "the model needs more than %s for a window of %d frames of %dx%d native pixels "
                     "(%s of it the window's frames; %s raises it, --window lowers it, "
                     "--no-model restores without the model)", pfi_fmt_bytes(b, (double)limit), p->window,
                     s->cols, s->rows, queue == SIZE_MAX ? "more than can be addressed" : pfi_fmt_bytes(a, (double)queue),
                     by_memory ? "--max-memory" : "--max-model-memory");
            return PF_ELIMIT;
        }
        s->mem_fixed = (size_t)stays + net + queue;
        if (s->tile > 0)
            pfi_info(&s->lg, "model: %dx%d native pixels run in tiles of %d (%s a window with its frames, "
                    "limit %s)", s->cols, s->rows, s->tile, pfi_fmt_bytes(a, (double)(net + queue)),
                    pfi_fmt_bytes(b, (double)limit));
    }

    size_t plane = (size_t)s->rows * s->cols, plen;
    s->slen = s->smp.slen;
    s->clen = s->smp.clen;
    st = PF_ENOMEM;
    if (!pfi_add_size(&plen, s->slen, s->clen)) goto done;
    if (!(s->payload = pfi_malloc4(plen, sizeof(float), 1, 1)) ||
        !(s->ref_mean = pfi_calloc4(plane, 4, sizeof(float), 1)) ||
        !(s->cell_mean = pfi_malloc4(plane, 4, sizeof(float), 1)) ||
        !(s->last_out = pfi_malloc4(s->clen, sizeof(float), 1, 1)) ||
        !(s->key_mark = pfi_malloc4(plane, 1, 1, 1)) ||
        !(s->key_queue = pfi_malloc4(plane, sizeof(int32_t), 1, 1)) ||
        !(s->win_time = calloc((size_t)s->rep.window + 1, sizeof *s->win_time)))
        goto done;
    st = s->model ? nn_window_init(&s->win, p->window, p->overlap, plen, s->clen, run_window, s)
                  : nn_window_init(&s->win, 1, 0, plen, s->clen, run_window, s);
    if (st < 0) goto done;
    s->locked = 1;
    s->change_max = s->smp.change_max;   /* from the lookahead: the second frame may be a held one */
    s->rep.mem_bytes = (int64_t)s->mem_fixed;
    s->debug_until = s->n_head;
    s->debug_step = s->n_head <= 4 ? 1 : (s->n_head + 3) / 4;
    for (int i = 0; i < s->n_head; i++) {
        if ((st = feed(s, s->head[i], s->head_pts[i], s->head_dur[i])) < 0) goto done;
        free(s->head[i]);
        s->head[i] = NULL;
    }
    s->n_head = 0;
    st = PF_OK;
done:
    if (st == PF_ENOMEM) pfi_error(&s->lg, "out of memory setting up a %dx%d native grid", s->cols, s->rows);
    return st;
}

/* ---- the stream API ------------------------------------------------------------ */

pf_status pf_stream_push(pf_stream *s, const uint8_t *rgba, int stride, int64_t pts, int duration_ms)
{
    const size_t row = (size_t)s->w * 4;

    if (s->finished || !rgba || stride < (int)row || duration_ms <= 0) return PF_EINVAL;
    if (s->lock_err < 0) return s->lock_err;
    if (s->out.head < s->out.count) {
        pfi_error(&s->lg, "pf_stream_push: pull every ready frame first");
        return PF_EINVAL;
    }
    free(s->pulled);
    s->pulled = NULL;
    s->pushed++;
    if (!s->locked) {
        uint8_t *copy = pfi_malloc4(row, (size_t)s->h, 1, 1);
        if (!copy) return PF_ENOMEM;
        for (int y = 0; y < s->h; y++) memcpy(copy + (size_t)y * row, rgba + (size_t)y * stride, row);
        s->head[s->n_head] = copy;
        s->head_pts[s->n_head] = pts;
        s->head_dur[s->n_head++] = duration_ms;
        if (s->n_head < s->p.grid_frames) return PF_OK;
        return s->lock_err = lock(s);
    }
    const uint8_t *src = rgba;
    if (stride != (int)row) {
        for (int y = 0; y < s->h; y++) memcpy(s->contig + (size_t)y * row, rgba + (size_t)y * stride, row);
        src = s->contig;
    }
    return feed(s, src, pts, duration_ms);
}

pf_status pf_stream_finish(pf_stream *s)
{
    pf_status st;
    if (s->finished) return PF_OK;
    if (s->pushed == 0) {
        pfi_error(&s->lg, "the stream ended before any frame");
        return PF_ENOFRAMES;
    }
    if (s->lock_err < 0) return s->lock_err;
    if (!s->locked && (st = lock(s)) < 0) return s->lock_err = st;
    s->finished = 1;
    double t = pfi_now_ms();
    if ((st = nn_window_finish(&s->win)) < 0) return st;
    s->rep.ms_restore += pfi_now_ms() - t;
    if ((st = drain_windows(s)) < 0) return st;
    if (!s->pal_ready) return make_palette(s);
    return PF_OK;
}

pf_status pf_stream_pull(pf_stream *s, pf_stream_frame *f)
{
    free(s->pulled);
    s->pulled = NULL;
    if (s->out.head >= s->out.count) return PF_DONE;
    out_frame o = s->out.f[s->out.head++];
    s->pulled = o.rgba;
    f->rgba = o.rgba;
    f->width = s->cols;
    f->height = s->rows;
    f->pts = o.pts;
    f->duration_ms = o.duration_ms;
    return PF_OK;
}
