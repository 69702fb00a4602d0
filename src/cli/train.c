/*
 * train.c - `pixelfix train`: parses the training options (flags, or the
 * same names in a config file given with --config), runs pfi_train with a
 * progress line on stderr, and draws the curves with --plot.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/common.h"
#include "train/degrade.h"
#include "train/trainer.h"

static const char *const help =
"Usage: pixelfix train --out DIR [options]\n"
"       pixelfix train --plot --out DIR [--plot-png FILE]\n"
"Trains the restoration model on degraded clips made on the fly from the clean\n"
"material of tests/evalset/fetch.py and procedural sprites. Writes DIR/checkpoint.safetensors\n"
"(every --ckpt-every steps, atomically), DIR/train.csv, DIR/val.csv and, at the\n"
"end, DIR/model.safetensors (F16). Ctrl-C checkpoints and stops; --resume continues\n"
"bit for bit.\n"
"Data:\n"
"      --out DIR           training folder (required)\n"
"      --config FILE       read options from FILE: one 'name value' per line, # comments\n"
"      --data DIR          clean material with manifest.json (default\n"
"                          tests/data/cache/clean; 'none' = procedural sprites only)\n"
"      --exclude PKGS      also leave out these packages (comma-separated); xbill,\n"
"                          gnujump-data and tecnoballz-data (the validation split)\n"
"                          are always left out\n"
"      --p-anim P          share of real animations (default 0.5)\n"
"      --p-tile P          share of synthetically animated real tiles (default 0.25)\n"
"      --kind NAME         only this degradation (gif_dither, h264_nearest, h264_smooth,\n"
"                          video_model, webp_lossy, bg_busy, video_bent, bg_field,\n"
"                          opaque_scene, enclosed, minority_hue, or any = full ranges\n"
"                          with every kernel and codec; default: all twelve, uniformly)\n"
"      --kinds A,B,...     only these degradations, drawn uniformly (names as --kind;\n"
"                          v6, the default model, and v3 were trained on gif_dither\n"
"                          to opaque_scene, and any)\n"
"      --val DIR           evaluation split for validation (default\n"
"                          tests/data/evalset/val if present; 'none' = no validation)\n"
"      --val-every N       validate every N steps (default 1000)\n"
"      --val-stride N      validate on every N-th case (default 2)\n"
"Model:\n"
"      --widths A,B[,C]    channels per U-Net level (default 32,64,96); levels = count\n"
"      --res-blocks N      residual blocks per level, 1..4 (default 1)\n"
"      --mixer M           convgru, biconvgru or tconv (default convgru)\n"
"      --alpha A           model (default): the network corrects the classical alpha;\n"
"                          classical: alpha stays the classical key's\n"
"      --k N               canonical samples per cell side (default 4)\n"
"Schedule:\n"
"      --window T          frames per example (default 8)\n"
"      --crop N            example size in native cells, a multiple of 4 (default 32)\n"
"      --batch N           examples per step (default 4)\n"
"      --steps N           total steps (default 20000)\n"
"      --lr X              peak learning rate (default 1e-3)\n"
"      --lr-min X          learning rate at the end of the cosine (default 2e-5)\n"
"      --warmup N          warm-up steps (default 200)\n"
"      --w-rgb X, --w-alpha X, --w-temporal X\n"
"                          loss weights (default 1, 0.5, 0.5)\n"
"      --w-snap X          weight of the palette-snap loss: squared distance to the\n"
"                          nearest GT colour of the window (default 0, off)\n"
"      --w-rgb-keyed X     relative weight of the RGB loss on cells the key left opaque\n"
"                          that the GT has transparent, towards their own colour\n"
"                          (default 0, off; no shipped model uses it yet)\n"
"Run:\n"
"      --threads N         network threads (default 1; data is made on its own thread)\n"
"      --prefetch N        examples made ahead (default 8; 0 = inline)\n"
"      --seed N            seed of the weights and the data (default 1)\n"
"      --log-every N       progress and train.csv every N steps (default 10)\n"
"      --ckpt-every N      checkpoint every N steps (default 250)\n"
"      --max-minutes M     checkpoint and stop after M minutes (resume later)\n"
"      --resume            continue from DIR/checkpoint.safetensors\n"
"      --plot              draw DIR's curves to DIR/curves.png (or --plot-png) and exit\n"
"      --plot-png FILE     where --plot draws\n"
"      --export FILE       write DIR's checkpoint as a model file (F16, with --alpha) and exit\n"
"  -q, --quiet             no progress line\n"
"  -h, --help              this help\n";

enum { O_OUT = 256, O_CONFIG, O_DATA, O_EXCLUDE, O_PANIM, O_PTILE, O_KIND, O_KINDS, O_VAL, O_VALEVERY, O_VALSTRIDE,
       O_WIDTHS, O_RES, O_MIXER, O_K, O_WINDOW, O_CROP, O_BATCH, O_STEPS, O_LR, O_LRMIN, O_WARMUP, O_WRGB,
       O_WALPHA, O_WTEMP, O_WSNAP, O_WKEYED, O_THREADS, O_PREFETCH, O_SEED, O_LOGEVERY, O_CKPT, O_MAXMIN, O_RESUME, O_PLOT,
       O_PLOTPNG, O_ALPHA, O_EXPORT };

static const struct option opts[] = {
    {"out", required_argument, 0, O_OUT}, {"config", required_argument, 0, O_CONFIG},
    {"data", required_argument, 0, O_DATA}, {"exclude", required_argument, 0, O_EXCLUDE},
    {"p-anim", required_argument, 0, O_PANIM}, {"p-tile", required_argument, 0, O_PTILE},
    {"kind", required_argument, 0, O_KIND}, {"kinds", required_argument, 0, O_KINDS},
    {"val", required_argument, 0, O_VAL},
    {"val-every", required_argument, 0, O_VALEVERY}, {"val-stride", required_argument, 0, O_VALSTRIDE},
    {"widths", required_argument, 0, O_WIDTHS}, {"res-blocks", required_argument, 0, O_RES},
    {"mixer", required_argument, 0, O_MIXER}, {"k", required_argument, 0, O_K},
    {"window", required_argument, 0, O_WINDOW}, {"crop", required_argument, 0, O_CROP},
    {"batch", required_argument, 0, O_BATCH}, {"steps", required_argument, 0, O_STEPS},
    {"lr", required_argument, 0, O_LR}, {"lr-min", required_argument, 0, O_LRMIN},
    {"warmup", required_argument, 0, O_WARMUP}, {"w-rgb", required_argument, 0, O_WRGB},
    {"w-alpha", required_argument, 0, O_WALPHA}, {"w-temporal", required_argument, 0, O_WTEMP},
    {"w-snap", required_argument, 0, O_WSNAP},
    {"w-rgb-keyed", required_argument, 0, O_WKEYED},
    {"threads", required_argument, 0, O_THREADS}, {"prefetch", required_argument, 0, O_PREFETCH},
    {"seed", required_argument, 0, O_SEED}, {"log-every", required_argument, 0, O_LOGEVERY},
    {"ckpt-every", required_argument, 0, O_CKPT}, {"max-minutes", required_argument, 0, O_MAXMIN},
    {"resume", no_argument, 0, O_RESUME}, {"plot", no_argument, 0, O_PLOT},
    {"plot-png", required_argument, 0, O_PLOTPNG}, {"quiet", no_argument, 0, 'q'},
    {"alpha", required_argument, 0, O_ALPHA}, {"export", required_argument, 0, O_EXPORT},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};


typedef struct train_opts {
    pfi_train_cfg c;
    const char *plot_png, *export_path;
    int plot, quiet;
    char data_buf[64], val_buf[64];
    char *kept[128];        /* config-file values the settings point into */
    int n_kept;
} train_opts;

static int bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "pixelfix train: error: %s '%s': expected %s\n", opt, val, want);
    return EXIT_USAGE;
}

static int num(const char *s, double lo, double hi, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end == s || *end || !(*v >= lo && *v <= hi);
}

static int parse_widths(const char *s, nn_unet_cfg *net)
{
    int n = 0;
    const char *p = s;
    while (*p && n < NN_UNET_MAX_LEVELS) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 4 || v > 512) return -1;
        net->ch[n++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
    }
    if (*p || n < 2) return -1;
    net->levels = n;
    return 0;
}

static int parse_config(train_opts *o, const char *path);

/* The sample kind named by the len chars at a (pfi_degrade_kind_name's
 * names), or -1. */
static int kind_named(const char *a, size_t len)
{
    for (int k = 0; k < PF_SAMPLE_KINDS; k++) {
        const char *nm = pfi_degrade_kind_name(pfi_sample_dkind(k));
        if (len > 0 && strlen(nm) == len && strncmp(a, nm, len) == 0) return k;
    }
    return -1;
}

/* "a,b,c" of kind names into a mask of sample kinds; 1 on an unknown or
 * empty name. */
static int parse_kinds(const char *a, uint32_t *mask)
{
    uint32_t m = 0;
    for (;;) {
        const char *e = strchr(a, ',');
        const int k = kind_named(a, e ? (size_t)(e - a) : strlen(a));
        if (k < 0) return 1;
        m |= 1u << k;
        if (!e) break;
        a = e + 1;
    }
    *mask = m;
    return 0;
}

/* One option; returns 0 or an exit code. */
static int apply(train_opts *o, int c, const char *a, const char *name)
{
    double v;
    pfi_train_cfg *t = &o->c;
    switch (c) {
    case O_OUT: t->out_dir = a; break;
    case O_CONFIG: return parse_config(o, a);
    case O_DATA: t->data_dir = strcmp(a, "none") == 0 ? NULL : a; break;
    case O_EXCLUDE: t->exclude = a; break;
    case O_PANIM: if (num(a, 0, 1, &v)) return bad(name, a, "0..1"); t->sample.p_anim = v; break;
    case O_PTILE: if (num(a, 0, 1, &v)) return bad(name, a, "0..1"); t->sample.p_tile = v; break;
    case O_KIND:
        t->sample.kind = strcmp(a, "all") == 0 ? -1 : kind_named(a, strlen(a));
        if (t->sample.kind < 0 && strcmp(a, "all") != 0) return bad(name, a, "a degradation kind or all (see --help)");
        t->sample.kinds = 0;
        break;
    case O_KINDS:
        if (parse_kinds(a, &t->sample.kinds)) return bad(name, a, "degradation kinds separated by commas (see --help)");
        t->sample.kind = -1;
        break;
    case O_VAL: t->val_dir = strcmp(a, "none") == 0 ? NULL : a; break;
    case O_VALEVERY: if (num(a, 0, 1e9, &v)) return bad(name, a, "a step count"); t->val_every = (int)v; break;
    case O_VALSTRIDE: if (num(a, 1, 1000, &v)) return bad(name, a, "1..1000"); t->val_stride = (int)v; break;
    case O_WIDTHS: if (parse_widths(a, &t->net)) return bad(name, a, "2 to 4 widths of 4..512, e.g. 32,64,96"); break;
    case O_RES: if (num(a, 1, NN_UNET_MAX_RES, &v)) return bad(name, a, "1..4"); t->net.res_blocks = (int)v; break;
    case O_MIXER:
        if (strcmp(a, "convgru") == 0) t->net.mixer = NN_MIX_CONVGRU;
        else if (strcmp(a, "biconvgru") == 0) t->net.mixer = NN_MIX_BICONVGRU;
        else if (strcmp(a, "tconv") == 0) t->net.mixer = NN_MIX_TCONV;
        else return bad(name, a, "convgru, biconvgru or tconv");
        break;
    case O_K: if (num(a, 1, 8, &v)) return bad(name, a, "1..8"); t->sample.k = (int)v; break;
    case O_WINDOW: if (num(a, 2, 64, &v)) return bad(name, a, "2..64"); t->sample.T = (int)v; break;
    case O_CROP: if (num(a, 8, 128, &v) || (int)v % 4) return bad(name, a, "a multiple of 4 in 8..128"); t->sample.crop = (int)v; break;
    case O_BATCH: if (num(a, 1, 256, &v)) return bad(name, a, "1..256"); t->batch = (int)v; break;
    case O_STEPS: if (num(a, 1, 1e9, &v)) return bad(name, a, "a step count"); t->steps = (int64_t)v; break;
    case O_LR: if (num(a, 1e-7, 1, &v)) return bad(name, a, "a rate in 1e-7..1"); t->opt.lr = (float)v; break;
    case O_LRMIN: if (num(a, 0, 1, &v)) return bad(name, a, "a rate in 0..1"); t->opt.lr_min = (float)v; break;
    case O_WARMUP: if (num(a, 1, 1e9, &v)) return bad(name, a, "a step count >= 1"); t->opt.warmup = (int)v; break;
    case O_WRGB: if (num(a, 0, 100, &v)) return bad(name, a, "0..100"); t->w_rgb = (float)v; break;
    case O_WALPHA: if (num(a, 0, 100, &v)) return bad(name, a, "0..100"); t->w_alpha = (float)v; break;
    case O_WTEMP: if (num(a, 0, 100, &v)) return bad(name, a, "0..100"); t->w_temporal = (float)v; break;
    case O_WSNAP: if (num(a, 0, 100, &v)) return bad(name, a, "0..100"); t->w_snap = (float)v; break;
    case O_WKEYED: if (num(a, 0, 100, &v)) return bad(name, a, "0..100"); t->w_rgb_keyed = (float)v; break;
    case O_THREADS: if (num(a, 0, 256, &v)) return bad(name, a, "0..256"); t->threads = (int)v; break;
    case O_PREFETCH: if (num(a, 0, 256, &v)) return bad(name, a, "0..256"); t->prefetch = (int)v; break;
    case O_SEED: if (num(a, 0, 1.8e19, &v)) return bad(name, a, "a number"); t->seed = strtoull(a, NULL, 10); break;
    case O_LOGEVERY: if (num(a, 1, 1e9, &v)) return bad(name, a, "a step count"); t->log_every = (int)v; break;
    case O_CKPT: if (num(a, 0, 1e9, &v)) return bad(name, a, "a step count"); t->ckpt_every = (int)v; break;
    case O_MAXMIN: if (num(a, 0, 1e7, &v)) return bad(name, a, "minutes"); t->max_minutes = v; break;
    case O_RESUME: t->resume = 1; break;
    case O_PLOT: o->plot = 1; break;
    case O_PLOTPNG: o->plot_png = a; break;
    case O_ALPHA:
        if (strcmp(a, "model") == 0) t->classical_alpha = 0;
        else if (strcmp(a, "classical") == 0) t->classical_alpha = 1;
        else return bad(name, a, "model or classical");
        break;
    case O_EXPORT: o->export_path = a; break;
    case 'q': o->quiet = 1; break;
    default: return bad(name, a ? a : "", "a known option (see pixelfix train --help)");
    }
    return 0;
}

/* Config file: "name value" or "name = value" per line, names as the long
 * options without "--"; '#' starts a comment. Values are kept for the run. */
static int parse_config(train_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pixelfix train: error: cannot read the config file %s\n", path);
        return EXIT_INPUT;
    }
    char line[1024];
    int rc = 0, ln = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        ln++;
        char *h = strchr(line, '#');
        if (h) *h = 0;
        char *key = strtok(line, " \t\r\n="), *val = strtok(NULL, " \t\r\n=");
        if (!key) continue;
        const struct option *op = NULL;
        for (const struct option *q = opts; q->name; q++)
            if (strcmp(q->name, key) == 0) op = q;
        if (!op || op->val == O_CONFIG || op->val == O_PLOT || op->val == 'h') {
            fprintf(stderr, "pixelfix train: error: %s:%d: unknown setting '%s'\n", path, ln, key);
            rc = EXIT_USAGE;
        } else if (op->has_arg == required_argument && !val) {
            fprintf(stderr, "pixelfix train: error: %s:%d: '%s' needs a value\n", path, ln, key);
            rc = EXIT_USAGE;
        } else if (val && o->n_kept == (int)(sizeof o->kept / sizeof *o->kept)) {
            fprintf(stderr, "pixelfix train: error: %s:%d: more than %d settings\n", path, ln,
                    o->n_kept);
            rc = EXIT_USAGE;
        } else {
            char *keep = NULL;   /* lives as long as the run: cli_train frees it */
            if (val && !(keep = o->kept[o->n_kept++] = strdup(val))) {
                fprintf(stderr, "pixelfix train: error: out of memory\n");
                rc = EXIT_NOMEM;
                break;
            }
            rc = apply(o, op->val, keep, key);
        }
    }
    fclose(f);
    return rc;
}

static int on_progress(void *user, const pfi_train_status *s)
{
    train_opts *o = user;
    if (!o->quiet) {
        int64_t drawn = 0, missed = 0;
        for (int k = 0; k < PF_SAMPLE_KINDS; k++) {
            drawn += s->stats.drawn[k];
            missed += s->stats.no_grid[k] + s->stats.wrong_grid[k];
        }
        int eta = (int)s->eta_s;
        fprintf(stderr, "%sstep %lld/%lld  loss %.4f (rgb %.4f alpha %.4f temporal %.4f)  lr %.2g  "
                "%.2f ex/s  data wait %.0f%%  grid missed %.1f%%  ETA %dh%02dm%s",
                isatty(2) ? "\r\033[K" : "", (long long)s->step, (long long)s->steps, s->loss, s->l_rgb,
                s->l_alpha, s->l_temporal, s->lr, s->samples_per_s, 100 * s->data_wait,
                drawn ? 100.0 * missed / drawn : 0.0, eta / 3600, eta / 60 % 60,
                isatty(2) && !s->stopping ? "" : "\n");
    }
    return cli_interrupted();
}

static int train_main(train_opts *o, int argc, char **argv);

int cli_train(int argc, char **argv)
{
    train_opts o;
    memset(&o, 0, sizeof o);
    int rc = train_main(&o, argc, argv);
    for (int i = 0; i < o.n_kept; i++) free(o.kept[i]);
    return rc;
}

/* The train command on *o (zeroed by the caller, which frees o->kept). */
static int train_main(train_opts *o, int argc, char **argv)
{
    o->c = pfi_train_default_cfg();
    if (access("tests/data/cache/clean/manifest.json", R_OK) == 0) o->c.data_dir = "tests/data/cache/clean";
    if (access("tests/data/evalset/val", R_OK) == 0) o->c.val_dir = "tests/data/evalset/val";
    optind = 1;
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return 0;
        }
        if (c == ':' || c == '?') {
            fprintf(stderr, "pixelfix train: error: %s '%s' (see pixelfix train --help)\n",
                    c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
            return EXIT_USAGE;
        }
        if ((rc = apply(o, c, optarg, argv[optind - 1]))) return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "pixelfix train: error: unexpected argument '%s' (see pixelfix train --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->c.out_dir) {
        fprintf(stderr, "pixelfix train: error: give the training folder with --out DIR\n");
        return EXIT_USAGE;
    }
    cli_ui ui;
    pfi_logger lg;
    cli_ui_init(&ui, o->quiet ? 0 : 1);
    lg.fn = cli_log;
    lg.user = NULL;
    lg.level = o->quiet ? PF_LOG_WARN : PF_LOG_INFO;
    pf_status st;
    if (o->plot) {
        char png[4200];
        if (!o->plot_png) snprintf(png, sizeof png, "%s/curves.png", o->c.out_dir);
        rc = cli_train_plot(o->c.out_dir, o->plot_png ? o->plot_png : png);
        if (rc == 0 && !o->quiet) fprintf(stderr, "pixelfix train: wrote %s\n", o->plot_png ? o->plot_png : png);
        return rc;
    }
    if (o->export_path) {
        st = pfi_train_export(&o->c, o->export_path, &lg);
        if (st == PF_OK && !o->quiet) fprintf(stderr, "pixelfix train: wrote %s\n", o->export_path);
        return cli_exit_code(st);
    }
    st = pfi_train(&o->c, on_progress, o, &lg);
    return cli_exit_code(st);
}
