/*
 * restore.c - pf_restore_file(): a file in, a file out. It decodes with the
 * streaming reader, restores through pf_stream (stream.c), applies
 * --dedupe and --crop, and encodes with the streaming writer. It only
 * orchestrates.
 *
 * Memory: the stream holds the grid lookahead and one model window; video
 * and frame outputs are written as frames come out. Whole-clip palettes
 * (the default) and --crop hold the native frames of the clip, which are
 * usually small; the spritesheet, GIF and WebP need them all anyway.
 * --max-memory bounds the lot (check_memory).
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "base/common.h"
#include "core/debug.h"
#include "core/stream_tap.h"
#include "io/io.h"

typedef struct restore {
    const pf_params *p;
    pfi_logger lg;
    pf_report *rep;
    const char *input, *output;
    pfi_file_id in_id;         /* the input, which no output may be */
    pfi_out_kind kind;
    pf_stream *st;
    pfi_writer *wr;
    pfi_sheet_meta meta;
    pfi_anim held;             /* --crop: every frame; else unused */
    pfi_anim dbg;              /* --debug: the frames written */
    uint8_t *last;            /* --dedupe: the frame not yet written */
    int last_dur, w, h, loop;
    int *dur;                 /* (frames_out) */
    int n_out, dur_cap;
    int64_t mem_out;          /* bytes the output side holds (writer, --crop) */
} restore;

static int progress(const restore *r, const char *stage, int64_t done, int64_t total)
{
    return r->p->progress && r->p->progress(r->p->user, stage, done, total);
}

/* PF_EOUTPUT (logged) when out is the input file, whatever force says. */
static pf_status not_input(const char *out, const char *input, const pfi_file_id *id,
                           const pfi_logger *lg)
{
    if (!pfi_same_file(out, id)) return PF_OK;
    if (strcmp(out, input) == 0)
        pfi_error(lg, "'%s' is the input; pixelfix never writes over its input, not even with "
                 "--force: choose another output", out);
    else
        pfi_error(lg, "'%s' is the input '%s' under another name (a link); pixelfix never writes "
                 "over its input, not even with --force: choose another output", out, input);
    return PF_EOUTPUT;
}

/* Every file the output will create must be absent unless force, and
 * none may be the input. */
static pf_status check_outputs(const char *out, const char *input, const pfi_file_id *id,
                               pfi_out_kind kind, int force, const pfi_logger *lg)
{
    pf_status st;
    if (kind == PF_OUT_NONE) {
        pfi_error(lg, "cannot tell the output kind of '%s': use .png (spritesheet), .gif, .webp, "
                 ".mp4/.mov/.mkv, a folder or a %%d pattern", out);
        return PF_EINVAL;
    }
    if (kind == PF_OUT_FRAMES) return PF_OK; /* checked per frame by the writer */
    if ((st = not_input(out, input, id, lg)) < 0) return st;
    if ((st = pfi_output_check(out, force)) < 0) {
        pfi_error(lg, "'%s' exists; use --force to overwrite it", out);
        return st;
    }
    if (kind == PF_OUT_SHEET) {
        char json[4096];
        size_t n = strlen(out);
        if (n < 4 || n + 2 > sizeof json) return PF_EINVAL;
        memcpy(json, out, n - 4);
        strcpy(json + n - 4, ".json");
        if ((st = not_input(json, input, id, lg)) < 0) return st;
        if ((st = pfi_output_check(json, force)) < 0) {
            pfi_error(lg, "'%s' exists; use --force to overwrite it", json);
            return st;
        }
    }
    return PF_OK;
}

static void fill_meta(restore *r)
{
    const pf_report *s = pf_stream_report(r->st);
    pfi_sheet_meta *m = &r->meta;
    m->cell_w = s->cell_w;
    m->cell_h = s->cell_h;
    m->offset_x = s->offset_x;
    m->offset_y = s->offset_y;
    m->confidence = s->confidence;
    m->elastic = s->grid_kind == PF_GRID_ELASTIC;
    m->bend = s->bend;
    m->in_width = s->in_width;
    m->in_height = s->in_height;
    m->native_w = r->w;
    m->native_h = r->h;
    m->palette_size = s->palette_size;
    m->palette = (const uint8_t (*)[3])s->palette;
    m->has_bg = s->bg_kind == PF_BGK_SOLID || s->bg_kind == PF_BGK_GRADIENT || s->bg_kind == PF_BGK_FIELD;
    memcpy(m->bg_rgb, s->bg_rgb, 3);
    m->source = r->input;
}

/* Copies of each native frame the output side keeps until the end: the
 * spritesheet, GIF and WebP writers hold every frame (the sheet's layout
 * one more), and --crop holds them all before the writer sees one. */
static int held_copies(const restore *r)
{
    int n = r->kind == PF_OUT_SHEET ? 2 : r->kind == PF_OUT_GIF || r->kind == PF_OUT_WEBP ? 1 : 0;
    return n + (r->p->crop != 0);
}

/* After `pushed` input frames: what the stream holds plus what the output
 * will hold of them, checked against --max-memory while the stream holds
 * them, so the run stops before the output would copy them. */
static pf_status check_memory(restore *r, int64_t pushed)
{
    const pf_report *s = pf_stream_report(r->st);
    const int64_t max = r->p->limits.max_memory;
    if (!s->native_w || !r->output || held_copies(r) == 0) return PF_OK;
    const int up = r->kind != PF_OUT_VIDEO && r->p->upscale > 1 ? r->p->upscale : 1;
    const double frame = (double)s->native_w * up * s->native_h * up * 4;
    r->mem_out = (int64_t)fmin(9e18, frame * (double)held_copies(r) * (double)pushed);
    if (max <= 0 || (double)s->mem_bytes + (double)r->mem_out <= (double)max) return PF_OK;
    char a[32];
    pfi_error(&r->lg, "holding %lld frames of %dx%d native pixels for '%s' takes more than %s (--max-memory "
             "raises it; an MP4 or a folder of PNG frames is written as the frames come)", (long long)pushed,
             s->native_w * up, s->native_h * up, r->output, pfi_fmt_bytes(a, (double)max));
    return PF_ELIMIT;
}

/* Appends one frame's duration to the report's list. */
static pf_status add_duration(restore *r, int dur)
{
    if (r->n_out == r->dur_cap) {
        int cap = r->dur_cap ? r->dur_cap * 2 : 64;
        if (r->dur_cap > (1 << 29)) return PF_ENOMEM;
        int *d = realloc(r->dur, sizeof *d * (size_t)cap);
        if (!d) return PF_ENOMEM;
        r->dur = d;
        r->dur_cap = cap;
    }
    r->dur[r->n_out++] = dur;
    return PF_OK;
}

/* Writes one finished frame (after dedupe and crop). A probe has listed
 * the input's durations already. */
static pf_status emit(restore *r, const uint8_t *rgba, int dur)
{
    pf_status st;
    if (r->output && (st = add_duration(r, dur)) < 0) return st;
    if (r->p->debug_dir) {
        if (!r->dbg.width && (st = pfi_anim_init(&r->dbg, r->w, r->h)) < 0) return st;
        if ((st = pfi_anim_push(&r->dbg, rgba, dur)) < 0) return st;
    }
    if (!r->output) return PF_OK;
    double t = pfi_now_ms();
    if (!r->wr) {
        pfi_write_opts wo = {0};
        int loop = r->p->loop >= 0 ? r->p->loop : r->loop;
        wo.force = r->p->force;
        wo.columns = r->p->columns;
        wo.padding = r->p->padding;
        wo.tag = r->p->sheet_tag;
        wo.filename_format = r->p->sheet_filename;
        wo.hash = r->p->sheet_hash;
        wo.upscale = r->p->upscale;
        wo.threads = r->p->threads;
        wo.bg_rgb = r->meta.has_bg ? r->meta.bg_rgb : NULL;
        wo.meta = &r->meta;
        wo.input = r->in_id;
        if ((st = pfi_writer_open(&r->wr, r->output, r->w, r->h, loop, &wo, &r->lg)) < 0) return st;
    }
    st = pfi_writer_push(r->wr, rgba, dur);
    r->rep->ms_encode += pfi_now_ms() - t;
    return st;
}

/* --dedupe: a frame waits until the next one differs. */
static pf_status sink_dedupe(restore *r, const uint8_t *rgba, int dur)
{
    size_t bytes = (size_t)r->w * r->h * 4;
    if (r->last && memcmp(r->last, rgba, bytes) == 0) {
        r->last_dur += dur;
        return PF_OK;
    }
    if (r->last) {
        pf_status st = emit(r, r->last, r->last_dur);
        if (st < 0) return st;
    } else if (!(r->last = malloc(bytes))) {
        return PF_ENOMEM;
    }
    memcpy(r->last, rgba, bytes);
    r->last_dur = dur;
    return PF_OK;
}

static pf_status sink(restore *r, const uint8_t *rgba, int dur)
{
    return r->p->dedupe ? sink_dedupe(r, rgba, dur) : emit(r, rgba, dur);
}

/* A restored frame leaves the stream. */
static pf_status take(restore *r, const pf_stream_frame *f)
{
    pf_status st;
    if (!r->w) {
        r->w = f->width;
        r->h = f->height;
        fill_meta(r);
        if (r->p->crop && (st = pfi_anim_init(&r->held, r->w, r->h)) < 0) return st;
    }
    if (r->p->crop) return pfi_anim_push(&r->held, f->rgba, f->duration_ms);
    return sink(r, f->rgba, f->duration_ms);
}

static pf_status pull_all(restore *r)
{
    pf_stream_frame f;
    pf_status st;
    while (pf_stream_pull(r->st, &f) == PF_OK)
        if ((st = take(r, &f)) < 0) return st;
    return PF_OK;
}

/* --crop: the union bounding box of opaque pixels over every frame. */
static void crop_box(const pfi_anim *a, int *x0, int *y0, int *cw, int *ch)
{
    int ax = a->width, ay = a->height, bx = -1, by = -1;
    for (int f = 0; f < a->count; f++)
        for (int y = 0; y < a->height; y++)
            for (int x = 0; x < a->width; x++)
                if (a->frames[f].rgba[((size_t)y * a->width + x) * 4 + 3]) {
                    if (x < ax) ax = x;
                    if (x > bx) bx = x;
                    if (y < ay) ay = y;
                    if (y > by) by = y;
                }
    if (bx < 0) { /* nothing opaque: keep the canvas */
        *x0 = *y0 = 0;
        *cw = a->width;
        *ch = a->height;
        return;
    }
    *x0 = ax;
    *y0 = ay;
    *cw = bx - ax + 1;
    *ch = by - ay + 1;
}

static pf_status flush_crop(restore *r)
{
    pfi_anim *a = &r->held;
    int x0, y0, cw, ch;
    pf_status st = PF_OK;
    if (a->count == 0) return PF_OK;
    crop_box(a, &x0, &y0, &cw, &ch);
    uint8_t *buf = pfi_malloc4((size_t)cw, (size_t)ch, 4, 1);
    if (!buf) return PF_ENOMEM;
    r->rep->crop_x = x0;
    r->rep->crop_y = y0;
    r->w = cw;
    r->h = ch;
    r->meta.native_w = cw;
    r->meta.native_h = ch;
    for (int f = 0; f < a->count; f++) {
        for (int y = 0; y < ch; y++)
            memcpy(buf + (size_t)y * cw * 4, a->frames[f].rgba + ((size_t)(y + y0) * a->width + x0) * 4,
                   (size_t)cw * 4);
        if ((st = sink(r, buf, a->frames[f].duration_ms)) < 0) break;
    }
    free(buf);
    return st;
}

/* --debug: the stream's hooks (stream_tap.h) draw into params->debug_dir. */
static pf_status debug_grid(void *user, const pfi_lattice *lat, const uint8_t *rgba, int w, int h, double dx,
                            double dy, int index)
{
    const restore *r = user;
    return pfi_debug_grid(r->p->debug_dir, lat, rgba, w, h, dx, dy, index, &r->lg);
}

static pf_status debug_cells(void *user, const pfi_anim *frames)
{
    const restore *r = user;
    return pfi_debug_native(r->p->debug_dir, "cells", frames, &r->lg);
}

/* The model the parameters ask for, or NULL for the classical path. */
static pf_status open_model(const pf_params *p, pf_model **m, const pfi_logger *lg)
{
    *m = NULL;
    if (!p->use_model) return PF_OK;
    const char *path = p->model_path ? p->model_path : pf_model_default_path();
    if (!path) {
        /* a program copied away from its tree finds none: say so, since the
         * result then differs from the same program in place */
        pfi_warn(lg, "no model found ($PIXELFIX_MODEL unset, no models/pixelfix-v6.safetensors beside "
                    "the program or in its tree, none installed): using the classical path; give one "
                    "with -m FILE or PIXELFIX_MODEL, or --no-model to choose the classical path");
        return PF_OK;
    }
    /* pf_model_load's one error line, logged once with a hint */
    pfi_first_error e = {.next = lg};
    pf_params q = *p;
    q.log = pfi_first_error_log;
    q.user = &e;
    q.log_level = lg->level > PF_LOG_ERROR ? lg->level : PF_LOG_ERROR;
    pf_status st = pf_model_load(m, path, &q);
    if (st == PF_EMODEL)
        pfi_error(lg, "%s; give another with --model FILE, or --no-model for the classical path",
                 e.msg[0] ? e.msg : pf_strerror(st));
    else if (st < 0 && e.msg[0])
        pfi_error(lg, "%s", e.msg);
    else if (st >= 0)
        pfi_info(lg, "model: %s", path);
    return st;
}

/* Copies what the stream found into the caller's report. */
static pf_status finish_report(restore *r)
{
    pf_report *rep = r->rep;
    const pf_report *s = pf_stream_report(r->st);
    rep->cell_w = s->cell_w;
    rep->cell_h = s->cell_h;
    rep->offset_x = s->offset_x;
    rep->offset_y = s->offset_y;
    rep->confidence = s->confidence;
    rep->scale_forced = s->scale_forced;
    rep->grid_kind = s->grid_kind;
    rep->bend = s->bend;
    rep->n_candidates = s->n_candidates;
    memcpy(rep->candidate_cell, s->candidate_cell, sizeof rep->candidate_cell);
    memcpy(rep->candidate_confidence, s->candidate_confidence, sizeof rep->candidate_confidence);
    rep->frames_in = r->output ? s->frames_in : r->n_out;   /* a probe counts its input */
    rep->frames_held = s->frames_held;
    rep->native_w = r->w ? r->w : s->native_w;
    rep->native_h = r->h ? r->h : s->native_h;
    rep->bg_kind = s->bg_kind;
    memcpy(rep->bg_rgb, s->bg_rgb, 3);
    rep->palette_size = s->palette_size;
    memcpy(rep->palette, s->palette, sizeof rep->palette);
    rep->ms_grid = s->ms_grid;
    rep->ms_restore = s->ms_restore;
    rep->ms_palette = s->ms_palette;
    rep->ms_model = s->ms_model;
    rep->mem_bytes = s->mem_bytes + r->mem_out;
    rep->used_model = s->used_model;
    if (s->model_path && !rep->model_path && !(rep->model_path = strdup(s->model_path))) return PF_ENOMEM;
    rep->window = s->window;
    rep->overlap = s->overlap;
    rep->frames_out = r->n_out;
    rep->durations_ms = r->dur;
    r->dur = NULL;
    rep->total_ms = 0;
    for (int f = 0; f < r->n_out; f++) rep->total_ms += rep->durations_ms[f];
    if (s->frames_in > 0 && s->drift_x) {
        size_t n = (size_t)s->frames_in;
        if (!(rep->drift_x = malloc(n * sizeof(double))) || !(rep->drift_y = malloc(n * sizeof(double))))
            return PF_ENOMEM;
        memcpy(rep->drift_x, s->drift_x, n * sizeof(double));
        memcpy(rep->drift_y, s->drift_y, n * sizeof(double));
    }
    return PF_OK;
}

pf_status pf_restore_file(const char *input, const char *output,
                          const pf_params *params, pf_report **report)
{
    restore r;
    pfi_reader *rd = NULL;
    pf_model *model = NULL;
    pf_status st;
    double t0 = pfi_now_ms();

    memset(&r, 0, sizeof r);
    if (report) *report = NULL;
    if (!input || !params) return PF_EINVAL;
    if (params->input_fps != 0 && !(params->input_fps >= 0.1 && params->input_fps <= 1000)) {
        pfi_logger lg = {params->log, params->user, params->log_level};
        pfi_error(&lg, "input_fps must be 0 (24) or 0.1..1000 frames per second (got %g)", params->input_fps);
        return PF_EINVAL;
    }
    r.p = params;
    r.input = input;
    r.output = output;
    r.lg.fn = params->log;
    r.lg.user = params->user;
    r.lg.level = params->log_level;
    if (!(r.rep = calloc(1, sizeof *r.rep))) return PF_ENOMEM;

    if (output) {
        struct stat sb;
        if (stat(input, &sb) == 0) r.in_id = (pfi_file_id){1, sb.st_dev, sb.st_ino};
        r.kind = pfi_out_kind_from_path(output);
        if ((st = check_outputs(output, input, &r.in_id, r.kind, params->force, &r.lg)) < 0) goto fail;
    }
    /* a probe (no output) analyses: no model, and every frame is counted */
    if (output && (st = open_model(params, &model, &r.lg)) < 0) goto fail;
    if ((st = pfi_reader_open(&rd, input, &params->limits, params->threads, &r.lg)) < 0) goto fail;
    pfi_reader_set_fps(rd, params->input_fps);
    snprintf(r.rep->input_format, sizeof r.rep->input_format, "%s", pfi_reader_format(rd));
    r.rep->in_width = pfi_reader_width(rd);
    r.rep->in_height = pfi_reader_height(rd);
    r.loop = pfi_reader_loop(rd);
    if (r.rep->in_width < 2 || r.rep->in_height < 2) {
        /* pf_stream_open's minimum: a grid needs two input pixels a side. */
        pfi_error(&r.lg, "'%s' is %dx%d pixels; pixelfix needs at least 2x2", input,
                 r.rep->in_width, r.rep->in_height);
        st = PF_EFORMAT;
        goto fail;
    }
    pf_params sp = *params;
    if (sp.palette_frames == PF_PALETTE_AUTO && r.kind != PF_OUT_VIDEO && r.kind != PF_OUT_FRAMES)
        sp.palette_frames = 0;   /* the writer holds every frame anyway */
    if (!output) sp.candidates = 1;
    if ((st = pf_stream_open(&r.st, r.rep->in_width, r.rep->in_height, &sp, model)) < 0) goto fail;
    if (params->debug_dir) pfi_stream_set_debug(r.st, &(pfi_stream_debug){debug_grid, debug_cells, &r});

    int nogrid = 0;
    for (int64_t n = 0;;) {
        pfi_frame fr;
        double t = pfi_now_ms();
        st = pfi_reader_next(rd, &fr);
        r.rep->ms_decode += pfi_now_ms() - t;
        if (st == PF_DONE) break;
        if (st < 0) goto fail;
        n++;
        /* a probe lists every input frame, and goes on counting after no grid */
        if (!output && (st = add_duration(&r, fr.duration_ms)) < 0) goto fail;
        if (nogrid) continue;
        /* in_width * 4 fits: pf_stream_open took in_width <= PF_GRID_MAX_SIDE */
        st = pf_stream_push(r.st, fr.rgba, r.rep->in_width * 4, fr.pts_ms, fr.duration_ms);
        if (st == PF_ENOGRID && !output) {
            nogrid = 1;
            continue;
        }
        if (st < 0 || (st = check_memory(&r, n)) < 0 || (st = pull_all(&r)) < 0) goto fail;
        if (progress(&r, n <= params->grid_frames ? "decode" : "restore", n, pfi_reader_frame_count(rd))) {
            st = PF_EABORTED;
            goto fail;
        }
    }
    pfi_reader_close(rd);
    rd = NULL;
    if (nogrid) {
        st = PF_ENOGRID;
        goto fail;
    }
    st = pf_stream_finish(r.st);
    if (st == PF_ENOFRAMES) pfi_error(&r.lg, "'%s' has no frames", input);
    if (st < 0 || (st = pull_all(&r)) < 0) goto fail;
    fill_meta(&r);   /* the palette is final now */
    if (params->crop && (st = flush_crop(&r)) < 0) goto fail;
    if (r.last && (st = emit(&r, r.last, r.last_dur)) < 0) goto fail;
    if (params->debug_dir && r.dbg.count && (st = pfi_debug_native(params->debug_dir, "result", &r.dbg, &r.lg)) < 0)
        goto fail;
    if (r.wr) {
        double t = pfi_now_ms();
        if (progress(&r, "encode", 0, 1)) {
            st = PF_EABORTED;
            goto fail;
        }
        st = pfi_writer_close(r.wr, 1);
        r.wr = NULL;
        r.rep->ms_encode += pfi_now_ms() - t;
        if (st < 0) goto fail;
    }
    st = finish_report(&r);
fail:
    if (st == PF_ENOGRID) finish_report(&r);
    pfi_writer_close(r.wr, 0);
    pfi_reader_close(rd);
    pf_stream_close(r.st);
    pf_model_free(model);
    pfi_anim_free(&r.held);
    pfi_anim_free(&r.dbg);
    free(r.last);
    free(r.dur);
    r.rep->ms_total = pfi_now_ms() - t0;
    if (report && (st >= 0 || st == PF_ENOGRID)) *report = r.rep;
    else pf_report_free(r.rep);
    return st;
}
