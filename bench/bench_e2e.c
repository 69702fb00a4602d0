/* bench_e2e.c - end-to-end speed and peak memory of ./pixelfix (issue 7):
 * the CLI run as a child on fixed inputs, with the shipped model and with
 * --no-model. Prints "name value unit" and "info" lines (bench.h).
 *
 * Inputs, made once by bench/make-clip.py and bench/make-gif.py and cached
 * beside this binary (build/bench/):
 *   clip720  1280x720 H.264, 120 frames at 24 fps   -> MP4 out
 *   gif64    64x64 GIF, 48 frames (16x16 native x4)  -> spritesheet PNG out
 *   clip1080 1920x1080 H.264, 60 frames at 24 fps   -> MP4 out
 *   gif16    16x16 GIF, 10000 frames (8x8 native x2) -> spritesheet PNG out
 *   long64   64x64 GIF, 14400 frames (10 min at 24 fps) -> spritesheet PNG out:
 *            these two show the per-frame cost that no pixel count hides
 *   wild640  ../shared/wild/sprited_one_part00.webp, a real 640x640 video-model
 *            clip, as it is (skipped where ../shared is not beside the tree)
 * Video goes to MP4 (the streaming path: frames are encoded as they come
 * out, the palette is fixed after 64 frames); the GIF goes to a
 * spritesheet, its usual target.
 *
 * Per run: wall time from fork to exit -> ms per input frame and fps (the
 * median of 3 runs for the inputs of at most 200 frames, with and without
 * the model alternating: the machine's speed drifts by 10-15%); the
 * child's peak RSS from wait4() ru_maxrss; the per-stage times from its
 * --json report (timing.*_ms / frames): decode, grid, resample (restore_ms
 * less model_ms: drift, canonical sampling, cell colour, keying), network
 * (model_ms), palette, encode, other (total_ms less those: model load,
 * background estimate, opening and closing files).
 *
 * Threads: the 720p clip with the model at --threads 1, 2, 4 .. the CPUs
 * online (at most 16).
 *
 * Memory over clip length: the 720p clip at 1000 frames with the model,
 * with the default palette lookahead and with --palette-frames 0 (the
 * whole clip), side by side, one per core.
 *
 * RSS: at exec Linux folds the old address space's high-water mark into
 * the child's ru_maxrss. After fork() that is the parent's resident
 * anonymous memory at the fork, so this process keeps itself small (a
 * few MiB: it only parses JSON reports) and forks every child from there.
 *
 * BENCH_QUICK=1: 24 and 12 frame clips, no 1000-frame runs.
 * Not a test: nothing is checked beyond the runs succeeding.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "base/common.h"

#define PATH_CAP 4096

/* One fixed input. */
typedef struct e2e_input {
    const char *tag;        /* figure names: e2e_<tag>_... */
    const char *what;       /* for the report */
    const char *maker;      /* generator script, run with /usr/bin/python3; NULL: source as is */
    const char *source;     /* the sample it is made from */
    int w, h, frames, quick_frames;
    int native;             /* GIF: native side, make-gif.py's SIZE (the scale is w / native) */
    const char *ext;        /* input file type */
    const char *out_ext;    /* output: "mp4" or "png" (spritesheet) */
} e2e_input;

static const e2e_input inputs[] = {
    {"clip720", "1280x720 H.264 MP4", "bench/make-clip.py", BENCH_CLIP_SOURCE, 1280, 720, 120, 24, 0,
     "mp4", "mp4"},
    {"gif64", "64x64 GIF, 16x16 native art x4", "bench/make-gif.py", "samples/fire-flame.gt.webp",
     64, 64, 48, 48, 16, "gif", "png"},
    {"clip1080", "1920x1080 H.264 MP4", "bench/make-clip.py", BENCH_CLIP_SOURCE, 1920, 1080, 60, 12, 0,
     "mp4", "mp4"},
    {"gif16", "16x16 GIF, 8x8 native art x2", "bench/make-gif.py", "samples/fire-flame.gt.webp",
     16, 16, 10000, 500, 8, "gif", "png"},
    {"long64", "64x64 GIF, 16x16 native art x4, 10 min at 24 fps", "bench/make-gif.py", "samples/fire-flame.gt.webp",
     64, 64, 14400, 500, 16, "gif", "png"},
    {"wild640", "640x640 animated WebP, a real video-model clip", NULL, "../shared/wild/sprited_one_part00.webp",
     640, 640, 0, 0, 0, "webp", "png"},
};

typedef struct run_result {
    int ok;
    double ms, rss_mib;
} run_result;

/* ---- children ------------------------------------------------------------- */

/* Starts argv with its stdout on our stderr, so it cannot mix into the
 * figures. Returns the pid, or -1. */
static pid_t spawn(char *const argv[])
{
    fprintf(stderr, "bench_e2e: $");
    for (int i = 0; argv[i]; i++) fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) perror("bench_e2e: fork");
    if (pid == 0) {
        dup2(2, 1);
        execv(argv[0], argv);
        fprintf(stderr, "bench_e2e: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for pid with wait4, for its peak RSS; t0: when it was started. */
static run_result reap(pid_t pid, double t0, const char *what)
{
    run_result res = {0, 0, 0};
    int status;
    struct rusage ru;
    if (pid < 0) return res;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("bench_e2e: wait4");
            return res;
        }
    res.ms = pfi_now_ms() - t0;
    res.rss_mib = ru.ru_maxrss / 1024.0;   /* Linux: KiB */
    res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!res.ok) fprintf(stderr, "bench_e2e: %s failed (status %d)\n", what, status);
    else fprintf(stderr, "bench_e2e:   %s: %.2f s, peak RSS %.0f MiB\n", what, res.ms / 1000.0, res.rss_mib);
    return res;
}

static run_result run_child(char *const argv[])
{
    double t0 = pfi_now_ms();
    return reap(spawn(argv), t0, argv[0]);
}

/* argv joined by spaces, for the report. */
static void join_argv(char *out, size_t cap, char *const argv[])
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; argv[i] && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " " : "", argv[i]);
}

/* Removes an output and, for a spritesheet, the JSON beside it. */
static void remove_output(const char *out)
{
    char json[PATH_CAP + 64];
    size_t n = strlen(out);
    unlink(out);
    if (n > 4 && n < sizeof json && strcmp(out + n - 4, ".png") == 0) {
        snprintf(json, sizeof json, "%.*s.json", (int)(n - 4), out);
        unlink(json);
    }
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* Makes in's file of n frames into dir once (written under a temporary
 * name, so an interrupted run leaves no half file behind); path gets it.
 * An input without a maker is its source as it is: 1 when that is absent. */
static int make_input(char *path, size_t cap, const char *dir, const e2e_input *in, int n)
{
    char tmp[PATH_CAP + 64], a[16], b[16], c[16];
    if (!in->maker) {
        snprintf(path, cap, "%s", in->source);
        return exists(path) ? 0 : 1;
    }
    snprintf(path, cap, "%s/%s_%d.%s", dir, in->tag, n, in->ext);
    if (exists(path)) return 0;
    snprintf(tmp, sizeof tmp, "%s/%s_%d.part.%s", dir, in->tag, n, in->ext);
    snprintf(c, sizeof c, "%d", n);
    char *argv_clip[] = {"/usr/bin/python3", (char *)in->maker, (char *)in->source, tmp, a, b, c, NULL};
    if (strcmp(in->ext, "gif") == 0) {   /* make-gif.py GT OUT SIZE SCALE FRAMES */
        snprintf(a, sizeof a, "%d", in->native);
        snprintf(b, sizeof b, "%d", in->w / in->native);
    } else {                             /* make-clip.py GT OUT W H FRAMES */
        snprintf(a, sizeof a, "%d", in->w);
        snprintf(b, sizeof b, "%d", in->h);
    }
    run_result r = run_child(argv_clip);
    if (!r.ok || rename(tmp, path) < 0) {
        fprintf(stderr, "bench_e2e: cannot make %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- one run --------------------------------------------------------------- */

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : -1.0;
}

/* Prints the figures of one run from its wall time, RSS and --json
 * report; first: also the input's (frames, native size, cell). Returns
 * 0, or -1 when the report is unreadable. */
static int report_run(const char *tag, const char *mode, const run_result *r, const char *json_path,
                      int first)
{
    json_error_t err;
    json_t *j = json_load_file(json_path, 0, &err);
    if (!j) {
        fprintf(stderr, "bench_e2e: %s: %s\n", json_path, err.text);
        return -1;
    }
    json_t *t = json_object_get(j, "timing");
    const double frames = num(j, "frames_in");
    if (frames <= 0 || !json_is_object(t)) {
        fprintf(stderr, "bench_e2e: %s: no frames_in or timing\n", json_path);
        json_decref(j);
        return -1;
    }
    const double decode = num(t, "decode_ms"), grid = num(t, "grid_ms"), restore = num(t, "restore_ms"),
                 model = num(t, "model_ms"), palette = num(t, "palette_ms"), encode = num(t, "encode_ms"),
                 total = num(t, "total_ms");
    if (first) {
        json_t *ns = json_object_get(j, "native_size"), *g = json_object_get(j, "grid");
        bench_figure(frames, "frames", "e2e_%s_frames", tag);
        bench_figure(num(ns, "w"), "px", "e2e_%s_native_w", tag);
        bench_figure(num(ns, "h"), "px", "e2e_%s_native_h", tag);
        bench_figure(num(g, "cell_w"), "px", "e2e_%s_cell", tag);
    }
    bench_figure(r->ms / frames, "ms", "e2e_%s_%s_ms_per_frame", tag, mode);
    bench_figure(frames / (r->ms / 1000.0), "frames/s", "e2e_%s_%s_fps", tag, mode);
    bench_figure(r->rss_mib, "MiB", "e2e_%s_%s_rss", tag, mode);
    bench_figure(decode / frames, "ms", "e2e_%s_%s_decode_ms_per_frame", tag, mode);
    bench_figure(grid / frames, "ms", "e2e_%s_%s_grid_ms_per_frame", tag, mode);
    bench_figure((restore - model) / frames, "ms", "e2e_%s_%s_resample_ms_per_frame", tag, mode);
    bench_figure(model / frames, "ms", "e2e_%s_%s_network_ms_per_frame", tag, mode);
    bench_figure(palette / frames, "ms", "e2e_%s_%s_palette_ms_per_frame", tag, mode);
    bench_figure(encode / frames, "ms", "e2e_%s_%s_encode_ms_per_frame", tag, mode);
    bench_figure((total - decode - grid - restore - palette - encode) / frames, "ms",
                 "e2e_%s_%s_other_ms_per_frame", tag, mode);
    bench_figure(total / frames, "ms", "e2e_%s_%s_total_ms_per_frame", tag, mode);
    json_decref(j);
    return 0;
}

/* Runs of each short input per mode: the machine's speed drifts by 10-15%
 * between runs, so the median of 3, with and without the model
 * alternating, is what the figures give. */
#define SHORT_REPS 3
#define SHORT_FRAMES 200

static int cmp_ms(const void *a, const void *b)
{
    double x = ((const run_result *)a)->ms, y = ((const run_result *)b)->ms;
    return x < y ? -1 : x > y;
}

/* ./pixelfix on one input, with and without the model: the median wall
 * time of the runs, the largest RSS, the stage times of the last run.
 * Returns 0 when every run ran and reported. */
static int bench_input(const char *dir, const e2e_input *in, int frames)
{
    char path[PATH_CAP], out[PATH_CAP + 64], json[2][PATH_CAP + 128], jopt[2][PATH_CAP + 160];
    char cmd[4 * PATH_CAP], key[64];
    int fails = 0, described = 0;
    run_result runs[2][SHORT_REPS];

    int made = make_input(path, sizeof path, dir, in, frames);
    if (made < 0) return -1;
    if (made > 0) {
        fprintf(stderr, "bench_e2e: %s: %s is not there, skipped\n", in->tag, path);
        return 0;
    }
    const int reps = frames <= SHORT_FRAMES && !bench_quick() ? SHORT_REPS : 1;
    snprintf(key, sizeof key, "e2e_%s_input", in->tag);
    bench_info(key, in->what);
    snprintf(key, sizeof key, "e2e_%s_file", in->tag);
    bench_info(key, path);
    snprintf(out, sizeof out, "%s/e2e_out_%s.%s", dir, in->tag, in->out_ext);
    for (int model = 0; model < 2; model++) {
        if (snprintf(json[model], sizeof json[model], "%s/e2e_report_%s%s.json", dir, in->tag,
                     model ? "" : "_nomodel") >= (int)sizeof json[model] ||
            snprintf(jopt[model], sizeof jopt[model], "--json=%s", json[model]) >= (int)sizeof jopt[model])
            return -1;
    }
    char *argv_m[] = {"./pixelfix", path, "-o", out, "-m", BENCH_MODEL, "--force", "-q", jopt[1], NULL};
    char *argv_n[] = {"./pixelfix", path, "-o", out, "--no-model", "--force", "-q", jopt[0], NULL};
    for (int r = 0; r < reps; r++)
        for (int model = 1; model >= 0; model--) {
            unlink(json[model]);
            runs[model][r] = run_child(model ? argv_m : argv_n);
        }
    for (int model = 1; model >= 0; model--) {
        const char *mode = model ? "model" : "nomodel";
        run_result med = runs[model][0];
        int ok = 1;
        double rss = 0;
        for (int r = 0; r < reps; r++) {
            ok &= runs[model][r].ok;
            if (runs[model][r].rss_mib > rss) rss = runs[model][r].rss_mib;
        }
        if (ok && reps > 1) {
            qsort(runs[model], (size_t)reps, sizeof runs[model][0], cmp_ms);
            med = runs[model][reps / 2];
            med.rss_mib = rss;
        }
        if (!ok || report_run(in->tag, mode, &med, json[model], !described) < 0) {
            fails++;
            continue;
        }
        described = 1;
        join_argv(cmd, sizeof cmd, model ? argv_m : argv_n);
        snprintf(key, sizeof key, "e2e_%s_%s_cmd", in->tag, mode);
        bench_info(key, cmd);
        snprintf(key, sizeof key, "e2e_%s_%s_runs", in->tag, mode);
        char nr[16];
        snprintf(nr, sizeof nr, "%d", reps);
        bench_info(key, nr);
    }
    remove_output(out);
    return fails ? -1 : 0;
}

/* The 720p clip with the model at --threads 1..max_threads (the stream's
 * pool splits every sgemm): ms per frame per thread count. */
static int bench_threads(const char *dir, int frames, int max_threads)
{
    char path[PATH_CAP], out[PATH_CAP + 64], nt[16];
    int fails = 0;
    if (make_input(path, sizeof path, dir, &inputs[0], frames) < 0) return -1;
    snprintf(out, sizeof out, "%s/e2e_out_threads.mp4", dir);
    for (int n = 1; n <= max_threads; n *= 2) {
        snprintf(nt, sizeof nt, "%d", n);
        char *argv_t[] = {"./pixelfix", path, "-o", out, "-m", BENCH_MODEL, "--threads", nt, "--force", "-q", NULL};
        run_result r = run_child(argv_t);
        if (!r.ok) {
            fails++;
            continue;
        }
        bench_figure(r.ms / frames, "ms", "e2e_clip720_threads_%d_ms_per_frame", n);
    }
    remove_output(out);
    return fails ? -1 : 0;
}

/* Peak RSS over clip length: the 720p clip at n frames with the model,
 * default palette lookahead and whole-clip palette side by side. */
static int bench_long(const char *dir, int n)
{
    char path[PATH_CAP], out1[PATH_CAP + 64], out2[PATH_CAP + 64];
    int fails = 0;
    if (make_input(path, sizeof path, dir, &inputs[0], n) < 0) return -1;
    snprintf(out1, sizeof out1, "%s/e2e_out_long.mp4", dir);
    snprintf(out2, sizeof out2, "%s/e2e_out_long_whole.mp4", dir);
    char *argv1[] = {"./pixelfix", path, "-o", out1, "-m", BENCH_MODEL, "--force", "-q", NULL};
    char *argv2[] = {"./pixelfix", path, "-o", out2, "-m", BENCH_MODEL, "--palette-frames", "0",
                     "--force", "-q", NULL};
    double t0 = pfi_now_ms();
    pid_t p1 = spawn(argv1), p2 = spawn(argv2);
    run_result r1 = reap(p1, t0, "default (64-frame palette lookahead)");
    run_result r2 = reap(p2, t0, "--palette-frames 0 (whole clip)");
    if (r1.ok) bench_figure(r1.rss_mib, "MiB", "rss_720p_%df", n);
    else fails++;
    if (r2.ok) bench_figure(r2.rss_mib, "MiB", "rss_720p_%df_palette_whole", n);
    else fails++;
    remove_output(out1);
    remove_output(out2);
    return fails ? -1 : 0;
}

int main(int argc, char **argv)
{
    char dir[PATH_CAP];
    const int quick = bench_quick();
    int rc = 0;
    double t_start = pfi_now_ms();

    bench_dir(dir, sizeof dir, argc > 0 ? argv[0] : NULL);
    if (access("./pixelfix", X_OK) < 0 || access(BENCH_MODEL, R_OK) < 0 ||
        access(BENCH_CLIP_SOURCE, R_OK) < 0) {
        fprintf(stderr, "bench_e2e: run from the repository root after make (needs ./pixelfix, "
                        BENCH_MODEL " and samples/)\n");
        return 1;
    }
    bench_info("e2e_model", BENCH_MODEL);
    /* an untimed first run, so that no figure pays for cold libraries */
    {
        char path[PATH_CAP], out[PATH_CAP + 64];
        if (make_input(path, sizeof path, dir, &inputs[1], inputs[1].frames) < 0) return 1;
        snprintf(out, sizeof out, "%s/e2e_out_warmup.png", dir);
        char *argv_w[] = {"./pixelfix", path, "-o", out, "-m", BENCH_MODEL, "--force", "-q", NULL};
        run_child(argv_w);
        remove_output(out);
    }
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        if (bench_input(dir, &inputs[i], quick ? inputs[i].quick_frames : inputs[i].frames) < 0) rc = 1;
    {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (bench_threads(dir, quick ? inputs[0].quick_frames : inputs[0].frames,
                          cpus > 16 ? 16 : cpus > 1 ? (int)cpus : 2) < 0)
            rc = 1;
    }
    if (!quick && bench_long(dir, 1000) < 0) rc = 1;
    fprintf(stderr, "bench_e2e: done in %.0f s\n", (pfi_now_ms() - t_start) / 1000.0);
    return rc;
}
