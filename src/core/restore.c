/*
 * restore.c - the restore pipeline behind pf_restore_file(): decode, grid
 * detection, canonical resampling and per-cell colour, background keying,
 * clip-wide palette with hysteresis, dedupe/crop, encode. It only
 * orchestrates; the maths lives in grid/, palette/ and (later) nn/.
 *
 * Memory: the first grid_frames input frames are buffered for detection,
 * every other input frame is dropped as soon as its cells are sampled, so
 * only native-resolution frames are held for the whole clip.
 */
#include <string.h>

#include "common.h"
#include "debug.h"
#include "../grid/grid.h"
#include "../io/io.h"
#include "../palette/palette.h"

typedef struct restore {
    const pf_params *p;
    pf_logger lg;
    pf_report *rep;
    pf_reader *rd;
    int w, h;                 /* input canvas */
    pf_grid grid;
    int k;                    /* canonical samples per cell side */
    float *samples;           /* (4, rows*k, cols*k) */
    float *cells;             /* (4, rows, cols) */
    pf_anim native;           /* pre-palette native frames, RGBA8 */
    double *drift_x, *drift_y;
    int drift_cap;
    int64_t total_ms;
} restore;

static int progress(const restore *r, const char *stage, int64_t done, int64_t total)
{
    return r->p->progress && r->p->progress(r->p->user, stage, done, total);
}

static pf_status check_params(const pf_params *p, const pf_logger *lg)
{
    if (p->scale < 0 || (p->scale > 0 && p->scale < 1) || p->scale > 256) {
        pf_error(lg, "scale %.3f is out of range: give 0 (detect) or a cell size from 1 to 256 pixels", p->scale);
        return PF_EINVAL;
    }
    if (p->colors != 0 && (p->colors < 2 || p->colors > 256)) {
        pf_error(lg, "colors %d is out of range: give 0 (auto) or 2..256", p->colors);
        return PF_EINVAL;
    }
    if (p->samples_k < 1 || p->samples_k > 8 || p->grid_frames < 1 || p->grid_frames > 256) {
        pf_error(lg, "samples_k must be 1..8 and grid_frames 1..256");
        return PF_EINVAL;
    }
    if (p->columns < 0 || p->padding < 0 || p->padding > 1024 || p->upscale < 0 || p->upscale > 64 ||
        p->loop < -1 || p->loop > 65535) {
        pf_error(lg, "columns, padding (0..1024), upscale (0..64) and loop (0..65535) must be in range");
        return PF_EINVAL;
    }
    return PF_OK;
}

/* Every file the output will create must be absent unless force. */
static pf_status check_outputs(const char *out, pf_out_kind kind, int force, const pf_logger *lg)
{
    pf_status st;
    if (kind == PF_OUT_NONE) {
        pf_error(lg, "cannot tell the output kind of '%s': use .png (spritesheet), .gif, .webp, "
                 ".mp4/.mov/.mkv, a folder or a %%d pattern", out);
        return PF_EINVAL;
    }
    if (kind == PF_OUT_FRAMES) return PF_OK; /* checked per frame by the writer */
    if ((st = pf_output_check(out, force)) < 0) {
        pf_error(lg, "'%s' exists; use --force to overwrite it", out);
        return st;
    }
    if (kind == PF_OUT_SHEET) {
        char json[4096];
        size_t n = strlen(out);
        if (n < 4 || n + 2 > sizeof json) return PF_EINVAL;
        memcpy(json, out, n - 4);
        strcpy(json + n - 4, ".json");
        if ((st = pf_output_check(json, force)) < 0) {
            pf_error(lg, "'%s' exists; use --force to overwrite it", json);
            return st;
        }
    }
    return PF_OK;
}

static pf_status push_drift(restore *r, double dx, double dy)
{
    int n = r->native.count;
    if (n >= r->drift_cap) {
        int cap = r->drift_cap ? r->drift_cap * 2 : 64;
        double *x = realloc(r->drift_x, sizeof *x * (size_t)cap);
        if (!x) return PF_ENOMEM;
        r->drift_x = x;
        double *y = realloc(r->drift_y, sizeof *y * (size_t)cap);
        if (!y) return PF_ENOMEM;
        r->drift_y = y;
        r->drift_cap = cap;
    }
    r->drift_x[n] = dx;
    r->drift_y[n] = dy;
    return PF_OK;
}

/* Input frame -> native cells (float) -> native RGBA8 frame appended. */
static pf_status process_frame(restore *r, const uint8_t *rgba, int duration_ms, uint8_t *tmp8)
{
    const pf_grid *g = &r->grid;
    double dx, dy;
    size_t plane = (size_t)g->rows * (size_t)g->cols;
    pf_status st;

    pf_grid_drift(g, rgba, r->w, r->h, &dx, &dy);
    pf_grid_sample(g, dx, dy, rgba, r->w, r->h, r->k, r->samples);
    pf_grid_cells(r->samples, g->rows, g->cols, r->k, r->cells);
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 4; c++)
            tmp8[i * 4 + c] = (uint8_t)(pf_clampf(r->cells[(size_t)c * plane + i], 0.f, 1.f) * 255.f + .5f);
    if ((st = push_drift(r, dx, dy)) < 0) return st;
    r->total_ms += duration_ms;
    return pf_anim_push(&r->native, tmp8, duration_ms);
}

static void frame_to_cells(const uint8_t *rgba, int w, int h, float *cells)
{
    size_t plane = (size_t)w * (size_t)h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 4; c++) cells[(size_t)c * plane + i] = rgba[i * 4 + c] / 255.f;
}

/* Background: estimate (auto) or take the given colour, then key every
 * native frame in place. */
static pf_status key_background(restore *r, pf_background *bg)
{
    const pf_params *p = r->p;
    int w = r->native.width, h = r->native.height, n = r->native.count;
    size_t plane = (size_t)w * (size_t)h;
    float **est = NULL, *cells = NULL;
    uint8_t *scratch = NULL;
    pf_status st = PF_ENOMEM;

    memset(bg, 0, sizeof *bg);
    if (p->background == PF_BG_NONE) {
        bg->kind = PF_BGK_NONE;
    } else if (p->background == PF_BG_COLOR) {
        pf_background_solid(bg, p->bg_rgb);
    } else {
        int m = n < 32 ? n : 32;
        est = calloc((size_t)m, sizeof *est);
        if (!est) goto fail;
        for (int i = 0; i < m; i++) {
            /* spread the estimate over the clip */
            int fi = m > 1 ? (int)((int64_t)i * (n - 1) / (m - 1)) : 0;
            if (!(est[i] = pf_malloc4(4, plane, sizeof(float), 1))) goto fail;
            frame_to_cells(r->native.frames[fi].rgba, w, h, est[i]);
        }
        pf_background_estimate(bg, (const float *const *)est, m, h, w);
        for (int i = 0; i < m; i++) free(est[i]);
        free(est);
        est = NULL;
    }
    if (!(cells = pf_malloc4(4, plane, sizeof(float), 1)) || !(scratch = malloc(plane))) goto fail;
    for (int f = 0; f < n; f++) {
        uint8_t *px = r->native.frames[f].rgba;
        if (bg->kind == PF_BGK_SOLID || bg->kind == PF_BGK_GRADIENT) {
            frame_to_cells(px, w, h, cells);
            pf_background_key(bg, cells, h, w, scratch);
            for (size_t i = 0; i < plane; i++)
                if (cells[3 * plane + i] < 0.5f) px[i * 4 + 3] = 0;
        }
        for (size_t i = 0; i < plane; i++) /* binary alpha from here on */
            px[i * 4 + 3] = px[i * 4 + 3] >= 128 ? 255 : 0;
    }
    st = PF_OK;
fail:
    if (est) {
        for (int i = 0; i < (n < 32 ? n : 32); i++) free(est[i]);
        free(est);
    }
    free(cells);
    free(scratch);
    if (st < 0) pf_error(&r->lg, "out of memory while keying the background");
    return st;
}

/* One clip-wide palette from every opaque native pixel (subsampled to at
 * most 4M colours), unless a palette file was given. */
static pf_status build_palette(restore *r, pf_palette *pal)
{
    const pf_anim *a = &r->native;
    size_t plane = (size_t)a->width * (size_t)a->height, total = 0, m = 0;
    const size_t cap = (size_t)4 << 20;
    float *lab;
    pf_status st;

    for (int f = 0; f < a->count; f++)
        for (size_t i = 0; i < plane; i++) total += a->frames[f].rgba[i * 4 + 3] >= 128;
    if (total == 0) {
        pal->n = 0;
        return PF_OK;
    }
    size_t stride = total > cap ? (total + cap - 1) / cap : 1, seen = 0;
    uint8_t *rgb = pf_malloc4(total / stride + 1, 3, 1, 1);
    if (!rgb || !(lab = pf_malloc4(total / stride + 1, 3, sizeof(float), 1))) {
        free(rgb);
        return PF_ENOMEM;
    }
    for (int f = 0; f < a->count; f++)
        for (size_t i = 0; i < plane; i++) {
            const uint8_t *px = a->frames[f].rgba + i * 4;
            if (px[3] < 128 || seen++ % stride) continue;
            memcpy(rgb + 3 * m, px, 3);
            pf_srgb8_to_oklab(px, lab + 3 * m++);
        }
    st = pf_palette_extract(pal, lab, NULL, m, r->p->colors);
    /* snap onto exact colours the clip repeats (within 0.03 OKLab, 20% of votes) */
    if (st == PF_OK) st = pf_palette_snap(pal, rgb, m, 0.03f, 0.2f);
    free(lab);
    free(rgb);
    return st;
}

/* Native frames -> palette indices with hysteresis -> RGBA8, in place. */
static pf_status apply_palette(restore *r, const pf_palette *pal)
{
    pf_anim *a = &r->native;
    int w = a->width, h = a->height;
    size_t plane = (size_t)w * (size_t)h;
    float *cur = pf_malloc4(4, plane, sizeof(float), 1), *prev = pf_malloc4(4, plane, sizeof(float), 1);
    int16_t *idx = pf_malloc4(plane, sizeof(int16_t), 1, 1), *pidx = pf_malloc4(plane, sizeof(int16_t), 1, 1);
    pf_hysteresis hy = pf_hysteresis_default();
    pf_status st = PF_ENOMEM;

    if (!cur || !prev || !idx || !pidx) goto fail;
    for (int f = 0; f < a->count; f++) {
        uint8_t *px = a->frames[f].rgba;
        frame_to_cells(px, w, h, cur);
        pf_palette_map_frame(pal, cur, w, h, f ? prev : NULL, f ? pidx : NULL, &hy, idx);
        for (size_t i = 0; i < plane; i++) {
            if (idx[i] < 0) {
                memset(px + i * 4, 0, 4);
            } else {
                memcpy(px + i * 4, pal->rgb[idx[i]], 3);
                px[i * 4 + 3] = 255;
            }
        }
        float *t = prev; prev = cur; cur = t;
        int16_t *ti = pidx; pidx = idx; idx = ti;
        if (progress(r, "palette", f + 1, a->count)) { st = PF_EABORTED; goto fail; }
    }
    st = PF_OK;
fail:
    free(cur); free(prev); free(idx); free(pidx);
    return st;
}

/* --dedupe: merges identical consecutive frames, adding their durations. */
static void dedupe(pf_anim *a)
{
    size_t bytes = (size_t)a->width * (size_t)a->height * 4;
    int out = 0;
    for (int f = 0; f < a->count; f++) {
        if (out > 0 && memcmp(a->frames[out - 1].rgba, a->frames[f].rgba, bytes) == 0) {
            a->frames[out - 1].duration_ms += a->frames[f].duration_ms;
            free(a->frames[f].rgba);
        } else {
            a->frames[out++] = a->frames[f];
        }
    }
    a->count = out;
}

/* --crop: trims every frame to the union bounding box of opaque pixels. */
static pf_status crop(pf_anim *a, int *ox, int *oy)
{
    int x0 = a->width, y0 = a->height, x1 = -1, y1 = -1;
    for (int f = 0; f < a->count; f++)
        for (int y = 0; y < a->height; y++)
            for (int x = 0; x < a->width; x++)
                if (a->frames[f].rgba[((size_t)y * a->width + x) * 4 + 3]) {
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
    *ox = *oy = 0;
    if (x1 < 0) return PF_OK; /* nothing opaque: keep the canvas */
    int cw = x1 - x0 + 1, ch = y1 - y0 + 1;
    for (int f = 0; f < a->count; f++) {
        uint8_t *src = a->frames[f].rgba, *dst = pf_malloc4((size_t)cw, (size_t)ch, 4, 1);
        if (!dst) return PF_ENOMEM;
        for (int y = 0; y < ch; y++)
            memcpy(dst + (size_t)y * cw * 4, src + ((size_t)(y + y0) * a->width + x0) * 4, (size_t)cw * 4);
        free(src);
        a->frames[f].rgba = dst;
    }
    a->width = cw;
    a->height = ch;
    *ox = x0;
    *oy = y0;
    return PF_OK;
}

static void fill_report_grid(pf_report *rep, const pf_grid *g)
{
    rep->cell_w = g->cell_w;
    rep->cell_h = g->cell_h;
    rep->offset_x = g->offset_x;
    rep->offset_y = g->offset_y;
    rep->confidence = g->confidence;
}

/* Reads the first grid_frames frames (kept for detection) into buf. */
static pf_status buffer_head(restore *r, uint8_t ***buf, int **dur, int *n)
{
    size_t bytes = (size_t)r->w * (size_t)r->h * 4;
    int cap = r->p->grid_frames;
    pf_frame fr;
    pf_status st;

    *n = 0;
    if (!(*buf = calloc((size_t)cap, sizeof **buf)) || !(*dur = calloc((size_t)cap, sizeof **dur)))
        return PF_ENOMEM;
    while (*n < cap) {
        st = pf_reader_next(r->rd, &fr);
        if (st == PF_DONE) break;
        if (st < 0) return st;
        if (!((*buf)[*n] = malloc(bytes))) return PF_ENOMEM;
        memcpy((*buf)[*n], fr.rgba, bytes);
        (*dur)[(*n)++] = fr.duration_ms;
        if (progress(r, "decode", *n, pf_reader_frame_count(r->rd))) return PF_EABORTED;
    }
    return PF_OK;
}

pf_status pf_restore_file(const char *input, const char *output,
                          const pf_params *params, pf_report **report)
{
    restore r;
    pf_palette pal;
    pf_background bg;
    pf_out_kind kind = PF_OUT_NONE;
    uint8_t **head = NULL, *tmp8 = NULL;
    int *head_dur = NULL, nhead = 0, have_palette_file = 0;
    pf_status st;
    double t0 = pf_now_ms(), t;

    memset(&r, 0, sizeof r);
    memset(&pal, 0, sizeof pal);
    if (report) *report = NULL;
    if (!input || !params) return PF_EINVAL;
    r.p = params;
    r.lg.fn = params->log;
    r.lg.user = params->user;
    r.lg.level = params->log_level;
    r.k = params->samples_k;
    if (!(r.rep = calloc(1, sizeof *r.rep))) return PF_ENOMEM;

    if ((st = check_params(params, &r.lg)) < 0) goto fail;
    if (output) {
        kind = pf_out_kind_from_path(output);
        if ((st = check_outputs(output, kind, params->force, &r.lg)) < 0) goto fail;
    }
    if (params->palette_path) {
        if ((st = pf_palette_load(&pal, params->palette_path, &r.lg)) < 0) goto fail;
        have_palette_file = 1;
    }

    /* decode the head of the clip */
    if ((st = pf_reader_open(&r.rd, input, &params->limits, &r.lg)) < 0) goto fail;
    r.w = pf_reader_width(r.rd);
    r.h = pf_reader_height(r.rd);
    r.rep->in_width = r.w;
    r.rep->in_height = r.h;
    snprintf(r.rep->input_format, sizeof r.rep->input_format, "%s", pf_reader_format(r.rd));
    t = pf_now_ms();
    if ((st = buffer_head(&r, &head, &head_dur, &nhead)) < 0) goto fail;
    r.rep->ms_decode += pf_now_ms() - t;
    if (nhead == 0) {
        pf_error(&r.lg, "'%s' has no frames", input);
        st = PF_ENOFRAMES;
        goto fail;
    }

    /* grid */
    t = pf_now_ms();
    {
        pf_grid_params gp = pf_grid_default_params();
        gp.scale = params->scale;
        st = pf_grid_detect(&r.grid, (const uint8_t *const *)head, nhead, r.w, r.h, &gp, &r.lg);
        fill_report_grid(r.rep, &r.grid);
        r.rep->scale_forced = params->scale > 0;
        if (st == PF_ENOGRID) {
            pf_error(&r.lg, "no pixel grid found in '%s' (the strongest period, %.2f px, has confidence "
                     "%.2f, under %.2f): give the pixel size in input pixels with --scale N (check it "
                     "with --debug DIR), or --scale 1 if the input is already at native resolution",
                     input, r.grid.cell_w, r.grid.confidence, pf_grid_default_params().min_confidence);
            goto fail;
        }
        if (st < 0) goto fail;
    }
    r.rep->ms_grid = pf_now_ms() - t;
    pf_info(&r.lg, "grid: %dx%d cells of %.3fx%.3f px, offset (%.2f, %.2f), confidence %.2f",
            r.grid.cols, r.grid.rows, r.grid.cell_w, r.grid.cell_h, r.grid.offset_x, r.grid.offset_y,
            r.grid.confidence);
    if (params->debug_dir && (st = pf_debug_grid(params->debug_dir, &r.grid, head, nhead, r.w, r.h, &r.lg)) < 0)
        goto fail;

    /* resample every frame onto the grid */
    t = pf_now_ms();
    double decode_before = r.rep->ms_decode;
    {
        size_t cells_plane = (size_t)r.grid.rows * (size_t)r.grid.cols;
        size_t kk = (size_t)r.k * (size_t)r.k;
        if ((st = pf_anim_init(&r.native, r.grid.cols, r.grid.rows)) < 0) goto fail;
        r.native.loop = params->loop >= 0 ? params->loop : pf_reader_loop(r.rd);
        st = PF_ENOMEM;
        if (!(r.samples = pf_malloc4(4, cells_plane, kk, sizeof(float))) ||
            !(r.cells = pf_malloc4(4, cells_plane, sizeof(float), 1)) ||
            !(tmp8 = pf_malloc4(4, cells_plane, 1, 1)))
            goto fail;
    }
    for (int i = 0; i < nhead; i++) {
        if ((st = process_frame(&r, head[i], head_dur[i], tmp8)) < 0) goto fail;
        free(head[i]);
        head[i] = NULL;
    }
    for (;;) {
        pf_frame fr;
        double td = pf_now_ms();
        st = pf_reader_next(r.rd, &fr);
        r.rep->ms_decode += pf_now_ms() - td;
        if (st == PF_DONE) break;
        if (st < 0) goto fail;
        if ((st = process_frame(&r, fr.rgba, fr.duration_ms, tmp8)) < 0) goto fail;
        if (progress(&r, "restore", r.native.count, pf_reader_frame_count(r.rd))) { st = PF_EABORTED; goto fail; }
    }
    r.rep->frames_in = r.native.count;
    pf_reader_close(r.rd);
    r.rd = NULL;
    if ((st = key_background(&r, &bg)) < 0) goto fail;
    r.rep->bg_kind = bg.kind;
    memcpy(r.rep->bg_rgb, bg.rgb, 3);
    r.rep->ms_restore = pf_now_ms() - t - (r.rep->ms_decode - decode_before);
    if (params->debug_dir && (st = pf_debug_native(params->debug_dir, "cells", &r.native, &r.lg)) < 0) goto fail;

    /* palette */
    t = pf_now_ms();
    if (!have_palette_file && (st = build_palette(&r, &pal)) < 0) goto fail;
    if ((st = apply_palette(&r, &pal)) < 0) goto fail;
    r.rep->palette_size = pal.n;
    memcpy(r.rep->palette, pal.rgb, sizeof pal.rgb);
    if (params->dedupe) dedupe(&r.native);
    if (params->crop && (st = crop(&r.native, &r.rep->crop_x, &r.rep->crop_y)) < 0) goto fail;
    r.rep->ms_palette = pf_now_ms() - t;
    if (params->debug_dir && (st = pf_debug_native(params->debug_dir, "result", &r.native, &r.lg)) < 0) goto fail;

    r.rep->native_w = r.native.width;
    r.rep->native_h = r.native.height;
    r.rep->frames_out = r.native.count;
    if (!(r.rep->durations_ms = malloc(sizeof(int) * (size_t)r.native.count))) { st = PF_ENOMEM; goto fail; }
    r.rep->total_ms = 0;
    for (int f = 0; f < r.native.count; f++) {
        r.rep->durations_ms[f] = r.native.frames[f].duration_ms;
        r.rep->total_ms += r.native.frames[f].duration_ms;
    }
    r.rep->drift_x = r.drift_x;
    r.rep->drift_y = r.drift_y;
    r.drift_x = r.drift_y = NULL;

    /* encode */
    if (output) {
        pf_sheet_meta meta = {0};
        pf_write_opts wo = {0};
        t = pf_now_ms();
        meta.cell_w = r.grid.cell_w;
        meta.cell_h = r.grid.cell_h;
        meta.offset_x = r.grid.offset_x;
        meta.offset_y = r.grid.offset_y;
        meta.confidence = r.grid.confidence;
        meta.in_width = r.w;
        meta.in_height = r.h;
        meta.native_w = r.native.width;
        meta.native_h = r.native.height;
        meta.palette_size = pal.n;
        meta.palette = (const uint8_t (*)[3])pal.rgb;
        meta.has_bg = bg.kind == PF_BGK_SOLID || bg.kind == PF_BGK_GRADIENT;
        memcpy(meta.bg_rgb, bg.rgb, 3);
        meta.source = input;
        wo.force = params->force;
        wo.columns = params->columns;
        wo.padding = params->padding;
        wo.upscale = params->upscale;
        wo.bg_rgb = meta.has_bg ? bg.rgb : NULL;
        wo.meta = &meta;
        if ((st = progress(&r, "encode", 0, 1) ? PF_EABORTED : PF_OK) < 0) goto fail;
        if ((st = pf_write_anim(output, &r.native, &wo, &r.lg)) < 0) goto fail;
        r.rep->ms_encode = pf_now_ms() - t;
    }
    st = PF_OK;
fail:
    if (head) for (int i = 0; i < params->grid_frames; i++) free(head[i]);
    free(head);
    free(head_dur);
    free(tmp8);
    free(r.samples);
    free(r.cells);
    free(r.drift_x);
    free(r.drift_y);
    pf_reader_close(r.rd);
    pf_grid_free(&r.grid);
    pf_anim_free(&r.native);
    if (r.rep) r.rep->ms_total = pf_now_ms() - t0;
    if (report && r.rep && (st >= 0 || st == PF_ENOGRID)) *report = r.rep;
    else pf_report_free(r.rep);
    return st;
}
