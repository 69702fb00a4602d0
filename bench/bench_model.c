/* bench_model.c - speed and memory of the restoration model (issue 4).
 * Prints "name value unit" lines on stdout (bench/run.sh collects them into
 * bench/results.json), progress on stderr.
 *
 * Network: nn_model_run over one T = 8 window at native 32..256 square,
 * default 32/64/96 U-Net, random weights (fixed seed), per mixer; its
 * FLOPs counted analytically over the nn_unet layers against the best
 * nn_sgemm of conv-shaped products measured in the same run. One thread
 * unless the name ends in _t2.
 *
 * End to end: ./pixelfix (run from the repository root) on 720p H.264
 * clips made once by bench/make-clip.py and cached beside this binary,
 * with a random model saved there too: frames/s (120 frames, run alone),
 * and the child's peak resident memory from wait4() (the two 2000-frame
 * runs side by side, one per core). The e2e runs go first, while this
 * process is small: Linux folds the parent's RSS high-water mark at exec
 * into the child's ru_maxrss.
 *
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

#include "core/common.h"
#include "nn/gemm.h"
#include "nn/model.h"

#define T_WIN 8
#define SEED 20240501u

static const char *mixer_tag[] = {"convgru", "biconvgru", "tconv"};

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "bench_model: out of memory\n"); exit(1); }
    return p;
}

static float *rnd(size_t n, uint64_t *s, float lo, float hi)
{
    float *p = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
        p[i] = lo + (hi - lo) * (float)((*s * 2685821657736338717ULL) >> 40) / 16777216.0f;
    }
    return p;
}

/* ---- FLOP count -------------------------------------------------------- */

/* 2 * OC * IC * K * K * Ho * Wo: multiply-adds of one conv on one frame at
 * output size (Ho, Wo). Bias, activations and element-wise ops left out. */
static double conv_flops(const nn_unet_conv *c, int Ho, int Wo)
{
    return 2.0 * c->cout * c->cin * c->k * c->k * (double)Ho * Wo;
}

/* FLOPs of one nn_unet_forward over a (T, in_ch, H, W) window, following
 * the layers of unet.c: per level encoder conv (stride 2 below level 0) and
 * res_blocks residual blocks, depthwise temporal skip conv, the bottleneck mixer
 * (ConvGRU: input conv on every frame, hidden-state convs on all frames
 * but the first, whose h is 0 and skipped; per direction), the decoder and
 * the 1x1 head. */
static double unet_flops(const nn_unet *u, int T, int H, int W)
{
    const nn_unet_cfg *c = &u->cfg;
    const int L = c->levels;
    double f = 0.0;
    for (int l = 0; l < L; l++) {
        const nn_unet_level *v = &u->lev[l];
        const int Hl = H >> l, Wl = W >> l;
        f += T * conv_flops(&v->enc, Hl, Wl);
        for (int b = 0; b < c->res_blocks; b++)
            f += T * (conv_flops(&v->res1[b], Hl, Wl) + conv_flops(&v->res2[b], Hl, Wl));
        if (l < L - 1 && c->skip_tconv) f += T * 2.0 * c->ch[l] * c->tk * (double)Hl * Wl;
        if (l == L - 1) continue;
        f += T * (conv_flops(&v->up, Hl, Wl) + conv_flops(&v->fuse, Hl, Wl));
        for (int b = 0; b < c->res_blocks; b++)
            f += T * (conv_flops(&v->dres1[b], Hl, Wl) + conv_flops(&v->dres2[b], Hl, Wl));
    }
    const int Hb = H >> (L - 1), Wb = W >> (L - 1), cb = c->ch[L - 1], k = c->gru_k;
    const double hw = (double)Hb * Wb, kk = (double)cb * cb * k * k;
    if (c->mixer == NN_MIX_TCONV) {
        f += T * (2.0 * cb * c->tk * hw + conv_flops(&u->mid_pw, Hb, Wb));
    } else {
        double dir = T * 2.0 * 3 * kk * hw + (T - 1) * 2.0 * (2 + 1) * kk * hw;
        f += c->mixer == NN_MIX_BICONVGRU ? 2 * dir : dir;
    }
    f += T * conv_flops(&u->head, H, W);
    return f;
}

/* ---- network timing ----------------------------------------------------- */

typedef struct net_result {
    double ms_per_frame, gflops;
} net_result;

/* Best time of nn_model_run over one T_WIN window at native S x S. */
static net_result bench_net(nn_mixer mixer, int S, int reps)
{
    nn_unet_cfg cfg = nn_unet_default_cfg();
    cfg.mixer = mixer;
    nn_model m;
    if (nn_model_init_random(&m, &cfg, SEED) < 0) {
        fprintf(stderr, "bench_model: cannot build the model\n");
        exit(1);
    }
    const int k = m.k;
    const size_t ns = (size_t)4 * S * k * S * k, nc = (size_t)4 * S * S;
    uint64_t seed = 99;
    float *samples[T_WIN], *cells[T_WIN], *out[T_WIN];
    for (int t = 0; t < T_WIN; t++) {
        samples[t] = rnd(ns, &seed, 0.0f, 1.0f);
        cells[t] = rnd(nc, &seed, 0.0f, 1.0f);
        out[t] = xmalloc(nc * sizeof(float));
    }
    const float bg[3] = {0.92f, 0.92f, 0.91f};
    double best = 1e30;
    for (int r = -1; r < reps; r++) {   /* r = -1: warm-up (plans the arenas) */
        double t0 = pf_now_ms();
        if (nn_model_run(&m, (const float *const *)samples, (const float *const *)cells, bg,
                         T_WIN, S, S, out) < 0) {
            fprintf(stderr, "bench_model: nn_model_run failed at %dx%d\n", S, S);
            exit(1);
        }
        double dt = pf_now_ms() - t0;
        if (r >= 0 && dt < best) best = dt;
    }
    net_result res = {best / T_WIN, unet_flops(&m.net, T_WIN, S, S) / best * 1e-6};
    fprintf(stderr, "bench_model: %s %dx%d: %.1f ms per window, %.2f GFLOP per window\n",
            mixer_tag[mixer], S, S, best, unet_flops(&m.net, T_WIN, S, S) * 1e-9);
    for (int t = 0; t < T_WIN; t++) { free(samples[t]); free(cells[t]); free(out[t]); }
    nn_model_free(&m);
    return res;
}

/* Best nn_sgemm GFLOP/s over conv-shaped products (forward of a 3x3 conv:
 * M = out channels, N = pixels, K = 9 in channels) and a square one. */
static double bench_sgemm_peak(void)
{
    static const int shapes[][3] = {{64, 4096, 576}, {96, 1024, 864}, {32, 16384, 288},
                                    {1024, 1024, 1024}};
    double peak = 0.0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
        uint64_t seed = 5;
        float *a = rnd((size_t)M * K, &seed, -0.5f, 0.5f), *b = rnd((size_t)K * N, &seed, -0.5f, 0.5f);
        float *c = xmalloc((size_t)M * N * sizeof(float));
        double best = 1e30;
        for (int r = 0; r < 7; r++) {
            double t0 = pf_now_ms();
            nn_sgemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
            double dt = pf_now_ms() - t0;
            if (dt < best) best = dt;
        }
        double g = 2.0 * M * N * K / best * 1e-6;
        fprintf(stderr, "bench_model: sgemm %dx%dx%d: %.1f GFLOP/s\n", M, N, K, g);
        if (g > peak) peak = g;
        free(a); free(b); free(c);
    }
    return peak;
}

/* ---- end to end ---------------------------------------------------------- */

typedef struct run_result {
    int ok;
    double ms, rss_mb;
} run_result;

/* Starts argv with its stdout on our stderr, so it cannot mix into the
 * figures. Returns the pid, or -1. */
static pid_t spawn(char *const argv[])
{
    fprintf(stderr, "bench_model: $");
    for (int i = 0; argv[i]; i++) fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) perror("bench_model: fork");
    if (pid == 0) {
        dup2(2, 1);
        execv(argv[0], argv);
        fprintf(stderr, "bench_model: cannot run %s: %s\n", argv[0], strerror(errno));
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
        if (errno != EINTR) { perror("bench_model: wait4"); return res; }
    res.ms = pf_now_ms() - t0;
    res.rss_mb = ru.ru_maxrss / 1024.0;   /* Linux: KiB */
    res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!res.ok) fprintf(stderr, "bench_model: %s failed (status %d)\n", what, status);
    else fprintf(stderr, "bench_model:   %s: %.1f s, peak RSS %.0f MiB\n", what, res.ms / 1000.0, res.rss_mb);
    return res;
}

static run_result run_child(char *const argv[])
{
    double t0 = pf_now_ms();
    return reap(spawn(argv), t0, argv[0]);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* The 720p clip of n frames, made once into dir (written under a
 * temporary name, so an interrupted run leaves no half clip behind). */
static int make_clip(char *path, size_t cap, const char *dir, int n)
{
    char tmp[4200], frames[16];
    snprintf(path, cap, "%s/clip720_%d.mp4", dir, n);
    if (exists(path)) return 0;
    snprintf(tmp, sizeof tmp, "%s/clip720_%d.part.mp4", dir, n);
    snprintf(frames, sizeof frames, "%d", n);
    char *argv[] = {"/usr/bin/python3", "bench/make-clip.py", "samples/guy-walk-video.gt.webp",
                    tmp, "1280", "720", frames, NULL};
    run_result r = run_child(argv);
    if (!r.ok || rename(tmp, path) < 0) {
        fprintf(stderr, "bench_model: cannot make %s\n", path);
        return -1;
    }
    return 0;
}

/* timing.model_ms / frames_out of a --json report, or -1. */
static double model_ms_per_frame(const char *json_path)
{
    json_error_t err;
    json_t *j = json_load_file(json_path, 0, &err);
    double v = -1.0;
    if (!j) {
        fprintf(stderr, "bench_model: %s: %s\n", json_path, err.text);
        return v;
    }
    json_t *ms = json_object_get(json_object_get(j, "timing"), "model_ms");
    json_t *fr = json_object_get(j, "frames_out");
    if (json_is_number(ms) && json_is_integer(fr) && json_integer_value(fr) > 0)
        v = json_number_value(ms) / (double)json_integer_value(fr);
    json_decref(j);
    return v;
}

/* Returns 0 when every run succeeded. */
static int bench_e2e(const char *dir)
{
    char c120[4200], c200[4200], c2000[4200], model[4200], out[4200], json[4200], jopt[4300];
    int fails = 0;

    if (access("./pixelfix", X_OK) < 0 || !exists("samples/guy-walk-video.gt.webp")) {
        fprintf(stderr, "bench_model: run from the repository root after make (needs ./pixelfix "
                        "and samples/); end-to-end figures skipped\n");
        return -1;
    }
    if (make_clip(c120, sizeof c120, dir, 120) < 0 || make_clip(c200, sizeof c200, dir, 200) < 0 ||
        make_clip(c2000, sizeof c2000, dir, 2000) < 0)
        return -1;

    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    {
        nn_unet_cfg cfg = nn_unet_default_cfg();
        nn_model m;
        if (nn_model_init_random(&m, &cfg, SEED) < 0 || nn_model_save(&m, model, NN_DT_F32, NULL) < 0) {
            fprintf(stderr, "bench_model: cannot write %s\n", model);
            return -1;
        }
        nn_model_free(&m);
    }
    snprintf(out, sizeof out, "%s/e2e_out.mp4", dir);
    snprintf(json, sizeof json, "%s/e2e_report.json", dir);
    snprintf(jopt, sizeof jopt, "--json=%s", json);

    char *pf = "./pixelfix";
    {
        char *argv[] = {pf, c120, "-o", out, "-m", model, "--force", "-q", jopt, NULL};
        run_result r = run_child(argv);
        if (r.ok) {
            printf("e2e_fps_720p_model %.2f frames/s\n", 120.0 / (r.ms / 1000.0));
            double mf = model_ms_per_frame(json);
            if (mf >= 0) printf("e2e_model_ms_per_frame %.1f ms\n", mf);
            else fails++;
        } else fails++;
    }
    {
        char *argv[] = {pf, c120, "-o", out, "--no-model", "--force", "-q", NULL};
        run_result r = run_child(argv);
        if (r.ok) printf("e2e_fps_720p_nomodel %.2f frames/s\n", 120.0 / (r.ms / 1000.0));
        else fails++;
    }
    fflush(stdout);
    {
        char *argv[] = {pf, c200, "-o", out, "-m", model, "--force", "-q", NULL};
        run_result r = run_child(argv);
        if (r.ok) printf("rss_mb_720p_200f %.0f MiB\n", r.rss_mb);
        else fails++;
    }
    fflush(stdout);
    {
        /* The two long runs only give memory figures (the model runs on one
         * thread by default), so they share the two cores. */
        char out2[4300];
        snprintf(out2, sizeof out2, "%s/e2e_out_whole.mp4", dir);
        char *argv1[] = {pf, c2000, "-o", out, "-m", model, "--force", "-q", NULL};
        char *argv2[] = {pf, c2000, "-o", out2, "-m", model, "--palette-frames", "0", "--force",
                         "-q", NULL};
        double t0 = pf_now_ms();
        pid_t p1 = spawn(argv1), p2 = spawn(argv2);
        run_result r1 = reap(p1, t0, "2000 frames, default (64-frame palette lookahead)");
        run_result r2 = reap(p2, t0, "2000 frames, --palette-frames 0 (whole clip)");
        if (r1.ok) printf("rss_mb_720p_2000f %.0f MiB\n", r1.rss_mb);
        else fails++;
        if (r2.ok) printf("rss_mb_720p_2000f_palette_whole %.0f MiB\n", r2.rss_mb);
        else fails++;
        unlink(out2);
    }
    fflush(stdout);
    unlink(out);
    return fails ? -1 : 0;
}

int main(int argc, char **argv)
{
    /* Clips and the model live beside this binary (build/bench/). */
    char dir[4096];
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - argv[0]), argv[0]);
    else snprintf(dir, sizeof dir, ".");
    int rc = 0;
    double t_start = pf_now_ms();

    int e2e = 1, net = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-e2e") == 0) e2e = 0;
        else if (strcmp(argv[i], "--no-net") == 0) net = 0;
        else {
            fprintf(stderr, "usage: bench_model [--no-e2e] [--no-net]\n");
            return 2;
        }
    }
    if (e2e && bench_e2e(dir) < 0) rc = 1;
    fprintf(stderr, "bench_model: end to end done after %.0f s\n", (pf_now_ms() - t_start) / 1000.0);
    if (!net) return rc;

    nn_set_threads(1);
    static const int sizes[4] = {32, 64, 128, 256};
    static const nn_mixer mixers[2] = {NN_MIX_CONVGRU, NN_MIX_TCONV};
    net_result r128 = {0, 0};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            int S = sizes[i];
            net_result r = bench_net(mixers[j], S, S >= 256 ? 1 : S >= 128 ? 3 : 5);
            printf("net_ms_per_frame_%d_%s %.2f ms\n", S, mixer_tag[mixers[j]], r.ms_per_frame);
            fflush(stdout);
            if (S == 128 && mixers[j] == NN_MIX_CONVGRU) r128 = r;
        }
    net_result rb = bench_net(NN_MIX_BICONVGRU, 128, 3);
    printf("net_ms_per_frame_128_biconvgru %.2f ms\n", rb.ms_per_frame);
    double peak = bench_sgemm_peak();
    printf("net_gflops_128_convgru %.1f GFLOP/s\n", r128.gflops);
    printf("sgemm_peak_gflops %.1f GFLOP/s\n", peak);
    printf("net_vs_sgemm_128 %.1f %%\n", 100.0 * r128.gflops / peak);
    fflush(stdout);

    nn_set_threads(2);
    net_result r2 = bench_net(NN_MIX_CONVGRU, 128, 3);
    printf("net_ms_per_frame_128_convgru_t2 %.2f ms\n", r2.ms_per_frame);
    fprintf(stderr, "bench_model: done in %.0f s\n", (pf_now_ms() - t_start) / 1000.0);
    return rc;
}
