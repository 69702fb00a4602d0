/*
 * eval.c - `pixelfix eval GROUND_TRUTH RESTORED [--json FILE]`: scores a
 * restoration with the metrics of docs/metrics.md (src/eval/metrics.c)
 * and prints them as a table, or as JSON.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "io/io.h"
#include "eval/metrics.h"

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* GT or restored clip: a spritesheet (.json, or .png with a .json beside
 * it), a folder of PNG frames, or any animation pixelfix decodes. */
static pf_status load(pfi_anim *a, const char *path, const pf_limits *lim, const pfi_logger *lg)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return pfi_read_anim(a, path, lim, 0, lg);   /* PNG frames */
    if (has_suffix(path, ".json")) return pfi_read_sheet(a, path, lim, lg);
    if (has_suffix(path, ".png")) {
        char json[4200];
        if (pfi_sheet_json_path(path, json, sizeof json) == 0 && stat(json, &sb) == 0)
            return pfi_read_sheet(a, json, lim, lg);
    }
    return pfi_read_anim(a, path, lim, 0, lg);
}

static json_t *metrics_json(const pfi_metrics *m)
{
    return json_pack("{s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:f,s:i,s:i,s:i,s:i}",
                     "size_ok", m->size_ok, "acc", m->acc, "acc_opaque", m->acc_opaque,
                     "alpha_iou", m->alpha_iou, "psnr", m->psnr, "edge_f1", m->edge_f1,
                     "flicker", m->flicker, "perfect_frames", m->perfect_frames,
                     "colors_out", m->colors_out, "colors_gt", m->colors_gt,
                     "palette_de", m->palette_de, "dx", m->dx, "dy", m->dy,
                     "frames_gt", m->frames_gt, "frames_out", m->frames_out);
}

int cli_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", required_argument, 0, 'j'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *json_path = NULL;
    int c, quiet = 0, rc;
    pfi_anim gt = {0}, out = {0};
    pfi_metrics m;
    pf_limits lim = pf_default_limits();
    cli_ui ui;
    pfi_logger lg;
    pf_status st;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            printf("Usage: pixelfix eval GROUND_TRUTH RESTORED [--json FILE|-] [-q]\n"
                   "Scores RESTORED against the native-resolution GROUND_TRUTH with the metrics of\n"
                   "pixelfix(1) METRICS. Each may be an animation (GIF, WebP, ...), a spritesheet\n"
                   "(.json, or .png with its .json) or a folder of PNG frames.\n"
                   "  --json FILE   also write the figures as JSON (- = stdout, table omitted)\n"
                   "  -q, --quiet   no table\n");
            return 0;
        default:
            fprintf(stderr, "pixelfix eval: error: bad option '%s' (see pixelfix eval --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "pixelfix eval: error: give GROUND_TRUTH and RESTORED (see pixelfix eval --help)\n");
        return EXIT_USAGE;
    }
    cli_ui_init(&ui, 1);
    lg.fn = cli_log;
    lg.user = &ui;
    lg.level = PF_LOG_WARN;
    for (int i = 0; i < 2; i++) {
        const char *path = argv[optind + i];
        if ((st = load(i ? &out : &gt, path, &lim, &lg)) < 0) {
            fprintf(stderr, "pixelfix eval: %s: %s\n", path, pf_strerror(st));
            pfi_anim_free(&gt);
            pfi_anim_free(&out);
            return cli_exit_code(st);
        }
    }
    st = pfi_metrics_compute(&m, &gt, &out);
    pfi_anim_free(&gt);
    pfi_anim_free(&out);
    if (st < 0) {
        fprintf(stderr, "pixelfix eval: %s\n", pf_strerror(st));
        return cli_exit_code(st);
    }
    rc = 0;
    if (json_path) {
        json_t *j = metrics_json(&m);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(j);
        if (!text) return EXIT_NOMEM;
        if (strcmp(json_path, "-") == 0) printf("%s\n", text);
        else rc = cli_write_text(json_path, text, 1);
        free(text);
        if (strcmp(json_path, "-") == 0) return rc;
    }
    if (!quiet) {
        printf("| metric         | value    |\n|----------------|----------|\n");
        printf("| size_ok        | %d        |\n", m.size_ok);
        printf("| acc            | %.4f   |\n", m.acc);
        printf("| acc_opaque     | %.4f   |\n", m.acc_opaque);
        printf("| alpha_iou      | %.4f   |\n", m.alpha_iou);
        printf("| psnr           | %.2f dB |\n", m.psnr);
        printf("| edge_f1        | %.4f   |\n", m.edge_f1);
        printf("| flicker        | %.4f   |\n", m.flicker);
        printf("| perfect_frames | %.4f   |\n", m.perfect_frames);
        printf("| colors         | %d / %d  |\n", m.colors_out, m.colors_gt);
        printf("| palette_de     | %.4f   |\n", m.palette_de);
        printf("alignment (dx, dy) = (%d, %d); frames %d GT, %d restored\n", m.dx, m.dy, m.frames_gt,
               m.frames_out);
    }
    return rc;
}
