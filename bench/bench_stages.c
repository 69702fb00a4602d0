/* bench_stages.c - time and peak memory of each engine stage on its own
 * (issue 7), on the 720p bench clip with the shipped model, through the
 * library's internal APIs in the order pf_stream runs them. Prints
 * "name value unit" and "info" lines (bench.h).
 *
 * The CLI streams, so its stages interleave and its peak RSS is one
 * figure for all of them (bench_e2e). Here each stage runs alone over the
 * whole clip; just before it, the process's RSS high-water mark is reset
 * to the current RSS (malloc_trim, then "5" into /proc/self/clear_refs),
 * and after it VmHWM is read from /proc/self/status. Per stage:
 *   ms_per_frame  the stage's time over the clip / frames;
 *   rss_start     resident memory as the stage starts: the library, the
 *                 stage's inputs as the engine holds them, and whatever
 *                 feeds it (an open reader);
 *   rss_peak      the high-water mark during the stage; peak - start is
 *                 what the stage itself adds.
 * Without a writable clear_refs the peaks are the process's ru_maxrss so
 * far (cumulative), and info stage_rss_method says so.
 *
 * Stages, each with what it holds and what its time counts:
 *   decode    pfi_reader over the clip, streamed: each frame is decoded into
 *             the reader's buffer and dropped (open, probe and every
 *             frame);
 *   grid      pfi_grid_detect on the 8-frame lookahead (pf_params
 *             grid_frames), held as the stream holds it; once per clip,
 *             spread over the clip's frames;
 *   resample  per frame: pfi_grid_drift, pfi_grid_sample, pfi_grid_cells and
 *             the background key, plus the background estimate once; the
 *             frames come from a reader that is not timed;
 *   network   the windowed model, T = 8 overlapping by 2 as in the CLI
 *             (nn_window + nn_model_run, one thread): only nn_model_run is
 *             timed; its inputs are resampled from a reader, untimed, and
 *             its outputs kept as native RGBA8 for the next stage;
 *   palette   the clip-wide palette from the first 64 frames (the video
 *             output's lookahead) and every frame mapped with hysteresis;
 *   encode    pfi_writer to H.264 MP4 (the CLI's output for video).
 *
 * BENCH_QUICK=1: the 24-frame clip. The clip is made by bench_e2e (make
 * bench runs it first). Not a test: nothing is checked.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "base/common.h"
#include "grid/grid.h"
#include "io/io.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "nn/window.h"
#include "palette/palette.h"

#define MAX_HEAD 256   /* pf_params.grid_frames is 1..256 */

/* Everything the stages hand on to each other. */
typedef struct stages {
    const char *clip;
    char out[4200];               /* the encode stage's MP4 */
    pf_params p;                  /* pf_default_params(): grid_frames, window, overlap */
    pf_limits lim;
    int w, h, n;                  /* input canvas; frames in the clip */
    /* grid */
    uint8_t *head[MAX_HEAD];      /* the lookahead, (h, w, 4) each */
    int n_head;
    double hdx[MAX_HEAD], hdy[MAX_HEAD];
    pfi_grid grid;
    int k, rows, cols;
    size_t slen, clen, plane;     /* floats of samples (4, rows k, cols k) and cells (4, rows, cols); cells */
    pfi_background bg;
    float bg01[3];
    float *payload;               /* samples then cells of one frame */
    uint8_t *scratch;             /* keying, (rows * cols) */
    pfi_grid_scratch drift;        /* pfi_grid_drift's buffers */
    /* network */
    nn_model model;
    nn_state state;              /* one thread */
    double ms_network;
    uint8_t **native;             /* (n) native RGBA8 frames, (rows, cols, 4) each */
    int *dur;                     /* (n) ms */
    int n_native;
    /* memory */
    int clear_refs_ok;
    double rss_start;
} stages;

static void die(const char *what)
{
    fprintf(stderr, "bench_stages: %s\n", what);
    exit(1);
}

/* ---- memory ----------------------------------------------------------------- */

/* A field of /proc/self/status in MiB ("VmRSS", "VmHWM"), or -1. */
static double status_mib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(key);
    double v = -1.0;
    if (!f) return v;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtod(line + n + 1, NULL) / 1024.0;   /* kB */
            break;
        }
    fclose(f);
    return v;
}

/* Returns freed heap to the kernel and resets the RSS high-water mark to
 * the current RSS (proc(5), /proc/pid/clear_refs, value 5; Linux 4.0).
 * Returns 0, or -1 when clear_refs cannot be written. */
static int hwm_reset(void)
{
    malloc_trim(0);
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static void stage_begin(stages *s)
{
    s->clear_refs_ok = hwm_reset() == 0;
    s->rss_start = status_mib("VmRSS");
}

/* Prints the stage's figures: ms over the clip's frames, RSS at its start
 * and its peak. */
static void stage_end(stages *s, const char *name, double ms)
{
    double peak = s->clear_refs_ok ? status_mib("VmHWM") : -1.0;
    if (peak < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        peak = ru.ru_maxrss / 1024.0;   /* KiB; cumulative */
    }
    fprintf(stderr, "bench_stages: %-8s %8.2f ms per frame, RSS %6.1f -> %6.1f MiB\n", name, ms / s->n,
            s->rss_start, peak);
    bench_figure(ms / s->n, "ms", "stage_%s_ms_per_frame", name);
    bench_figure(s->rss_start, "MiB", "stage_%s_rss_start", name);
    bench_figure(peak, "MiB", "stage_%s_rss_peak", name);
}

/* ---- shared steps ------------------------------------------------------------ */

static pfi_reader *open_reader(const stages *s)
{
    pfi_reader *r;
    if (pfi_reader_open(&r, s->clip, &s->lim, 0, NULL) < 0) die("cannot open the clip");
    return r;
}

/* The next frame's RGBA, or NULL at the end. */
static const uint8_t *next_frame(pfi_reader *r, int *dur)
{
    pfi_frame f;
    pf_status st = pfi_reader_next(r, &f);
    if (st == PF_DONE) return NULL;
    if (st < 0) die("cannot decode the clip");
    *dur = f.duration_ms;
    return f.rgba;
}

/* One frame onto the grid, as stream.c's feed(): canonical samples into
 * s->payload, cell colours after them, keyed. */
static void resample(stages *s, const uint8_t *rgba, double dx, double dy)
{
    float *cells = s->payload + s->slen;
    pfi_grid_sample(&s->grid, dx, dy, rgba, s->w, s->h, s->k, s->payload);
    pfi_grid_cells(s->payload, s->rows, s->cols, s->k, cells);
    if (s->bg.kind == PF_BGK_SOLID || s->bg.kind == PF_BGK_GRADIENT)
        pfi_background_key(&s->bg, cells, s->rows, s->cols, s->scratch);
}

/* ---- the stages ----------------------------------------------------------------- */

static void stage_decode(stages *s)
{
    int dur;
    stage_begin(s);
    double t0 = pfi_now_ms();
    pfi_reader *r = open_reader(s);
    s->w = pfi_reader_width(r);
    s->h = pfi_reader_height(r);
    for (s->n = 0; next_frame(r, &dur); s->n++) {}
    double ms = pfi_now_ms() - t0;
    if (s->n == 0) die("the clip has no frames");
    stage_end(s, "decode", ms);
    pfi_reader_close(r);
}

static void stage_grid(stages *s, pfi_reader *r)
{
    const size_t bytes = (size_t)s->w * s->h * 4;
    const uint8_t *px;
    int dur;
    while (s->n_head < s->p.grid_frames && (px = next_frame(r, &dur))) {
        s->head[s->n_head] = bench_xmalloc(bytes);
        memcpy(s->head[s->n_head++], px, bytes);
    }
    pfi_grid_params gp = pfi_grid_default_params();
    stage_begin(s);
    double t0 = pfi_now_ms();
    if (pfi_grid_detect(&s->grid, (const uint8_t *const *)s->head, s->n_head, s->w, s->h, &gp, NULL) < 0)
        die("no grid in the clip");
    stage_end(s, "grid", pfi_now_ms() - t0);
    s->rows = s->grid.rows;
    s->cols = s->grid.cols;
    s->plane = (size_t)s->rows * s->cols;
    s->slen = s->plane * 4 * (size_t)s->k * s->k;
    s->clen = s->plane * 4;
    bench_figure(s->cols, "px", "stage_native_w");
    bench_figure(s->rows, "px", "stage_native_h");
}

/* The background from the lookahead's cells, as stream.c's
 * estimate_background() with the default (automatic) mode. */
static void estimate_background(stages *s)
{
    float *est[MAX_HEAD];
    for (int i = 0; i < s->n_head; i++) {
        resample(s, s->head[i], s->hdx[i], s->hdy[i]);   /* bg still NONE: no keying */
        est[i] = bench_xmalloc(s->clen * sizeof(float));
        memcpy(est[i], s->payload + s->slen, s->clen * sizeof(float));
    }
    pfi_background_estimate(&s->bg, (const float *const *)est, s->n_head, s->rows, s->cols);
    for (int i = 0; i < s->n_head; i++) free(est[i]);
    for (int c = 0; c < 3; c++) s->bg01[c] = s->bg.rgb[c] / 255.f;
}

/* Continues r after the lookahead, which it frees; leaves s->payload and
 * s->scratch for the network stage. */
static void stage_resample(stages *s, pfi_reader *r)
{
    double ms = 0.0, dx, dy;
    int dur;
    const uint8_t *px;
    stage_begin(s);
    double t0 = pfi_now_ms();
    s->payload = bench_xmalloc((s->slen + s->clen) * sizeof(float));
    s->scratch = bench_xmalloc(s->plane);
    if (pfi_grid_scratch_init(&s->drift, s->w, s->h) < 0) die("out of memory");
    for (int i = 0; i < s->n_head; i++)
        if (pfi_grid_drift(&s->grid, s->head[i], s->w, s->h, &s->drift, &s->hdx[i], &s->hdy[i]) < 0) die("drift failed");
    estimate_background(s);
    for (int i = 0; i < s->n_head; i++) resample(s, s->head[i], s->hdx[i], s->hdy[i]);
    ms += pfi_now_ms() - t0;
    while ((px = next_frame(r, &dur))) {   /* decoding is not counted */
        t0 = pfi_now_ms();
        if (pfi_grid_drift(&s->grid, px, s->w, s->h, &s->drift, &dx, &dy) < 0) die("drift failed");
        resample(s, px, dx, dy);
        ms += pfi_now_ms() - t0;
    }
    stage_end(s, "resample", ms);
    for (int i = 0; i < s->n_head; i++) free(s->head[i]);
    s->n_head = 0;
}

/* The windower's callback: the model over one window (stream.c's
 * run_window()), timed. */
static pf_status run_window(void *ctx, const float *const *in, int T, int reuse, float *const *out)
{
    stages *s = ctx;
    const float *samples[64], *cells[64];
    for (int t = 0; t < T; t++) {
        samples[t] = in[t];
        cells[t] = in[t] + s->slen;
    }
    double t0 = pfi_now_ms();
    pf_status st = nn_model_run(&s->model, &s->state, samples, cells, s->bg01, T, s->rows, s->cols, reuse, out);
    s->ms_network += pfi_now_ms() - t0;
    return st;
}

/* The windows' restored frames (4, rows, cols) -> native RGBA8 with
 * binary alpha, as stream.c's to_palette_stage(). */
static void take_outputs(stages *s, nn_windower *win)
{
    const float *o;
    while (nn_window_pull(win, &o) == PF_OK) {
        if (s->n_native >= s->n) die("more frames out than in");
        uint8_t *px = s->native[s->n_native++];
        for (size_t i = 0; i < s->plane; i++) {
            for (int c = 0; c < 3; c++)
                px[i * 4 + c] = (uint8_t)(pfi_clampf(o[(size_t)c * s->plane + i], 0.f, 1.f) * 255.f + .5f);
            px[i * 4 + 3] = o[3 * s->plane + i] >= 0.5f ? 255 : 0;
        }
    }
}

static void stage_network(stages *s)
{
    nn_windower win;
    double dx, dy;
    int dur, i = 0;
    const uint8_t *px;
    /* the next stage's input, touched now so that it counts before the reset */
    s->native = bench_xmalloc((size_t)s->n * sizeof *s->native);
    s->dur = bench_xmalloc((size_t)s->n * sizeof *s->dur);
    for (int f = 0; f < s->n; f++) {
        s->native[f] = bench_xmalloc(s->plane * 4);
        memset(s->native[f], 0, s->plane * 4);
    }
    pfi_reader *r = open_reader(s);
    stage_begin(s);
    if (nn_window_init(&win, s->p.window, s->p.overlap, s->slen + s->clen, s->clen, run_window, s) < 0)
        die("cannot set up the windows");
    while ((px = next_frame(r, &dur))) {
        if (i < s->n_head) { dx = s->hdx[i]; dy = s->hdy[i]; }
        else if (pfi_grid_drift(&s->grid, px, s->w, s->h, &s->drift, &dx, &dy) < 0) die("drift failed");
        resample(s, px, dx, dy);
        s->dur[i++] = dur;   /* frames come out in the order they go in */
        if (nn_window_push(&win, s->payload) < 0) die("the model failed");
        take_outputs(s, &win);
    }
    if (nn_window_finish(&win) < 0) die("the model failed");
    take_outputs(s, &win);
    stage_end(s, "network", s->ms_network);
    nn_window_free(&win);
    pfi_reader_close(r);
    free(s->payload);
    free(s->scratch);
    pfi_grid_scratch_free(&s->drift);
    s->payload = NULL;
    s->scratch = NULL;
    if (s->n_native != s->n) die("frames lost in the windows");
}

/* The palette from the first PF_PALETTE_AUTO_FRAMES frames, as pf_stream
 * builds it for video output (pfi_palette_from_rgba), then every frame
 * mapped in place with hysteresis (pfi_palette_mapper). */
static void stage_palette(stages *s)
{
    pfi_palette pal;
    pfi_palette_mapper mp;
    const int nf = s->n < PF_PALETTE_AUTO_FRAMES ? s->n : PF_PALETTE_AUTO_FRAMES;
    stage_begin(s);
    double t0 = pfi_now_ms();
    if (pfi_palette_from_rgba(&pal, (const uint8_t *const *)s->native, nf, s->cols, s->rows, s->p.colors, 1) < 0 ||
        pfi_palette_mapper_init(&mp, &pal, s->cols, s->rows) < 0)
        die("cannot build the palette");
    for (int f = 0; f < s->n; f++) pfi_palette_mapper_apply(&mp, s->native[f]);
    stage_end(s, "palette", pfi_now_ms() - t0);
    bench_figure(pal.n, "colours", "stage_palette_size");
    pfi_palette_mapper_free(&mp);
}

static void stage_encode(stages *s)
{
    pfi_writer *w;
    pfi_write_opts wo = {0};
    int has_bg = s->bg.kind == PF_BGK_SOLID || s->bg.kind == PF_BGK_GRADIENT;
    wo.force = 1;
    wo.bg_rgb = has_bg ? s->bg.rgb : NULL;
    stage_begin(s);
    double t0 = pfi_now_ms();
    if (pfi_writer_open(&w, s->out, s->cols, s->rows, 0, &wo, NULL) < 0) die("cannot open the output");
    for (int f = 0; f < s->n; f++)
        if (pfi_writer_push(w, s->native[f], s->dur[f]) < 0) die("cannot encode");
    if (pfi_writer_close(w, 1) < 0) die("cannot finish the output");
    stage_end(s, "encode", pfi_now_ms() - t0);
    unlink(s->out);
}

int main(int argc, char **argv)
{
    static stages s;
    char dir[4096], clip[4200];
    double t_start = pfi_now_ms();

    bench_dir(dir, sizeof dir, argc > 0 ? argv[0] : NULL);
    snprintf(clip, sizeof clip, "%s/clip720_%d.mp4", dir, bench_quick() ? 24 : 120);
    snprintf(s.out, sizeof s.out, "%s/stages_out.mp4", dir);
    if (access(clip, R_OK) < 0) {
        fprintf(stderr, "bench_stages: %s is missing: bench_e2e makes it (make bench runs it first)\n", clip);
        return 1;
    }
    s.clip = clip;
    s.p = pf_default_params();
    s.lim = pf_default_limits();
    if (nn_model_load(&s.model, BENCH_MODEL, 0, NULL) < 0) die("cannot load " BENCH_MODEL);
    s.k = s.model.k;
    if (nn_state_init(&s.state, &s.model, 1) < 0) die("out of memory");
    bench_info("stage_input", clip);
    bench_info("stage_model", BENCH_MODEL);

    stage_decode(&s);
    pfi_reader *r = open_reader(&s);
    stage_grid(&s, r);
    stage_resample(&s, r);
    pfi_reader_close(r);
    stage_network(&s);
    nn_state_free(&s.state);
    nn_model_free(&s.model);
    stage_palette(&s);
    stage_encode(&s);
    bench_figure(s.n, "frames", "stage_frames");
    bench_info("stage_rss_method", s.clear_refs_ok ? "clear_refs" : "ru_maxrss (cumulative: /proc/self/clear_refs not writable)");

    for (int f = 0; f < s.n; f++) free(s.native[f]);
    free(s.native);
    free(s.dur);
    pfi_grid_free(&s.grid);
    fprintf(stderr, "bench_stages: done in %.0f s\n", (pfi_now_ms() - t_start) / 1000.0);
    return 0;
}
