/*
 * main.c - the pixelfix command: `pixelfix INPUT -o OUTPUT [options]` and the
 * dispatch to the `probe` and `eval` subcommands. Parses options, calls the
 * library, maps its status to an exit code. No restoration logic here.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/io.h"

static void usage(FILE *f)
{
    fputs(
"Usage: pixelfix INPUT... -o OUTPUT [options]\n"
"       pixelfix probe INPUT [--json [FILE]] [options]\n"
"       pixelfix eval GROUND_TRUTH RESTORED [--json FILE]\n"
"       pixelfix train --out DIR [options]   (see pixelfix train --help)\n"
"\n"
"Restores pixel-art animation: finds the true pixel grid, gives every native\n"
"pixel one colour from one clip-wide palette, recovers transparency and keeps\n"
"still things still.\n"
"\n"
"INPUT: GIF, WebP, MP4, MOV, WebM, MKV, AVI, APNG, PNG, JPEG; a folder of PNG\n"
"frames or a pattern like f_%04d.png (played at 24 fps); - for standard input.\n"
"OUTPUT kind from its name: sheet.png (spritesheet + sheet.json), .gif, .webp,\n"
".mp4/.mov/.mkv, a folder (dir/ or existing) or a pattern like f_%04d.png.\n"
"Several inputs: {name} in -o (and --json) stands for each input's file name\n"
"without extension, as -o out/{name}.png; a clip that fails does not stop the\n"
"others, and the exit status is the first failure's.\n"
"\n"
"Input:\n"
"      --fps N             frame rate of PNG-frame input (a folder or a pattern),\n"
"                          which has no timing of its own: 0.1..1000 (default 24)\n"
"Grid:\n"
"  -s, --scale N|auto      native pixel size in input pixels, 1..256, fractional\n"
"                          allowed (default auto: detect it)\n"
"      --grid auto|regular|elastic\n"
"                          grid shape: regular (straight, even), elastic (a mesh\n"
"                          of smooth curves, for video-model clips whose cell size\n"
"                          drifts across the frame), auto: regular when it fits\n"
"                          (default auto)\n"
"      --grid-frames N     frames held for grid detection, 1..256 (default 8)\n"
"Model:\n"
"  -m, --model FILE        restoration model (default: $PIXELFIX_MODEL, else\n"
"                          models/pixelfix-v6.safetensors beside the binary, else\n"
"                          the installed one; none found: the classical path)\n"
"      --no-model          classical path only (grid, cell colour, palette)\n"
"      --window N          frames per model window, 1..64 (default 8)\n"
"      --overlap N         frames shared by neighbouring windows, 0..window/2\n"
"                          (default 2, or window/2 when that is less)\n"
"      --threads N         threads for the network and codecs, 0..256 (default 0:\n"
"                          one for the network, the codecs' automatic count)\n"
"Colour:\n"
"  -c, --colors N|auto     at most N colours, 2..256 (fewer when the clip has\n"
"                          fewer); default auto: as many as the clip has\n"
"  -p, --palette FILE      use this palette (.hex, .gpl or .png); --colors is then\n"
"                          ignored\n"
"  -b, --background C      key colour: auto (default), none, or #rrggbb / a name\n"
"      --keep-pockets      key only background the border reaches; by default\n"
"                          enclosed regions of its colour (a ring's inside, the\n"
"                          gap between legs) too: 2% of the frame, or 32 native\n"
"                          pixels or a strip of 12 between parts of two colours\n"
"      --palette-frames N  build the palette from the first N frames, then keep\n"
"                          it; 0 = the whole clip (default: the whole clip for\n"
"                          sheets, GIF and WebP; 64 for video and PNG frames)\n"
"Frames:\n"
"      --dedupe            merge identical consecutive frames (durations add up)\n"
"      --crop              trim to the union bounding box of the content\n"
"Output:\n"
"  -o, --output FILE       where to write (required unless probe)\n"
"  -f, --force             overwrite existing outputs (never the input); PNG\n"
"                          frames: also remove stale frames of the same names\n"
"      --columns N         spritesheet columns, 1..100000 (default: square-ish)\n"
"      --padding N         spritesheet padding in pixels, 0..1024 (default 0)\n"
"      --tag NAME          spritesheet: the frame tag over the clip (default: the\n"
"                          input's name)\n"
"      --filename-format F spritesheet frame names: {title} {frame} {tag}\n"
"                          {extension} (default {frame}, as Phaser looks them up)\n"
"      --sheet-format F    spritesheet JSON: array or hash (Aseprite's json-array,\n"
"                          json-hash; default array)\n"
"      --format F          the kind of -o - (standard output): gif, webp, mp4, mov\n"
"                          or mkv; a spritesheet or PNG frames cannot be piped\n"
"      --upscale N         nearest upscale of the output, 1..64 (default 1; video:\n"
"                          the least making the height >= 256)\n"
"      --loop N            GIF/WebP loop count, 0..65535, 0 = forever (default: as\n"
"                          the input)\n"
"      --json FILE         write a machine-readable report; - (or, with probe, a\n"
"                          bare --json) prints it to standard output\n"
"      --debug DIR         write grid overlays and pre-palette images to DIR\n"
"Limits (0 = no limit; byte counts take K, M, G or T, as 512M or 2G):\n"
"      --max-pixels N      largest input width*height (default 67108864)\n"
"      --max-frames N      most input frames (default 100000)\n"
"      --max-decoded-bytes N  most decoded RGBA bytes in total (default 64 GiB)\n"
"      --max-model-bytes N largest model file (default 512 MiB)\n"
"      --max-model-memory N  most bytes the model's window may take; bigger frames\n"
"                          run in tiles (default 768 MiB)\n"
"      --max-memory N      most bytes a restore may take: the grid search, the\n"
"                          working set and held frames (default 1 GiB)\n"
"General:\n"
"  -q, --quiet             only errors\n"
"  -v, --verbose           more detail (repeat for debug)\n"
"  -h, --help              this help\n"
"  -V, --version           print the version\n"
"\n"
"An option that does not apply (--columns for a GIF, --colors with --palette,\n"
"--window with --no-model) is ignored with a warning.\n"
"\n"
"Exit status: 0 ok, 1 internal error, 2 usage, 3 input unreadable/unsupported,\n"
"4 no grid found, 5 output not writable, exists or is the input, 6 out of\n"
"memory, 7 limit exceeded, 8 model error, 9 palette file missing or invalid,\n"
"130 interrupted.\n"
"See pixelfix(1).\n", f);
}

#define CLI_GRACE_MS 800   /* after a signal, the time the library gets to stop by itself */

enum { OPT_GRID_FRAMES = 256, OPT_DEDUPE, OPT_CROP, OPT_COLUMNS, OPT_PADDING, OPT_UPSCALE,
       OPT_LOOP, OPT_JSON, OPT_DEBUG, OPT_MAX_PIXELS, OPT_MAX_FRAMES, OPT_MAX_DECODED,
       OPT_NO_MODEL, OPT_WINDOW, OPT_OVERLAP, OPT_THREADS, OPT_PALETTE_FRAMES, OPT_MAX_MODEL,
       OPT_MAX_MODEL_MEM, OPT_MAX_MEMORY, OPT_TAG, OPT_FILENAME_FORMAT, OPT_SHEET_FORMAT, OPT_FORMAT, OPT_FPS, OPT_GRID,
       OPT_KEEP_POCKETS };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},   {"scale", required_argument, 0, 's'},
    {"colors", required_argument, 0, 'c'},   {"colours", required_argument, 0, 'c'},
    {"palette", required_argument, 0, 'p'},  {"background", required_argument, 0, 'b'},
    {"force", no_argument, 0, 'f'},          {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},        {"grid-frames", required_argument, 0, OPT_GRID_FRAMES},
    {"grid", required_argument, 0, OPT_GRID},
    {"dedupe", no_argument, 0, OPT_DEDUPE},  {"crop", no_argument, 0, OPT_CROP},
    {"keep-pockets", no_argument, 0, OPT_KEEP_POCKETS},
    {"columns", required_argument, 0, OPT_COLUMNS}, {"padding", required_argument, 0, OPT_PADDING},
    {"tag", required_argument, 0, OPT_TAG}, {"filename-format", required_argument, 0, OPT_FILENAME_FORMAT},
    {"sheet-format", required_argument, 0, OPT_SHEET_FORMAT},
    {"format", required_argument, 0, OPT_FORMAT},
    {"fps", required_argument, 0, OPT_FPS},
    {"upscale", required_argument, 0, OPT_UPSCALE}, {"loop", required_argument, 0, OPT_LOOP},
    {"json", optional_argument, 0, OPT_JSON}, {"debug", required_argument, 0, OPT_DEBUG},
    {"max-pixels", required_argument, 0, OPT_MAX_PIXELS},
    {"max-frames", required_argument, 0, OPT_MAX_FRAMES},
    {"max-decoded-bytes", required_argument, 0, OPT_MAX_DECODED},
    {"model", required_argument, 0, 'm'},    {"no-model", no_argument, 0, OPT_NO_MODEL},
    {"window", required_argument, 0, OPT_WINDOW}, {"overlap", required_argument, 0, OPT_OVERLAP},
    {"threads", required_argument, 0, OPT_THREADS},
    {"palette-frames", required_argument, 0, OPT_PALETTE_FRAMES},
    {"max-model-bytes", required_argument, 0, OPT_MAX_MODEL},
    {"max-model-memory", required_argument, 0, OPT_MAX_MODEL_MEM},
    {"max-memory", required_argument, 0, OPT_MAX_MEMORY},
    {0, 0, 0, 0}};

static int bad_value(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "pixelfix: error: invalid value '%s' for %s: expected %s\n", val, opt, want);
    return EXIT_USAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* --format's kinds: what can go to standard output (one file, no sheet JSON
 * beside it); PF_OUT_NONE for anything else or NULL. */
static pfi_out_kind format_kind(const char *f)
{
    static const struct { const char *name; pfi_out_kind kind; } fmts[] = {
        {"gif", PF_OUT_GIF}, {"webp", PF_OUT_WEBP}, {"mp4", PF_OUT_VIDEO}, {"mov", PF_OUT_VIDEO}, {"mkv", PF_OUT_VIDEO}};
    for (size_t i = 0; f && i < sizeof fmts / sizeof *fmts; i++)
        if (!strcmp(f, fmts[i].name)) return fmts[i].kind;
    return PF_OUT_NONE;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

/* A byte count: digits, optionally followed by K, M, G or T (binary
 * multiples, with or without "iB"/"B": 2G = 2GiB = 2147483648). */
static int parse_bytes(const char *s, int64_t *out)
{
    static const char units[] = "KMGT";
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0) return -1;
    if (*end) {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (!u) return -1;
        end++;
        if (!strcasecmp(end, "iB") || !strcasecmp(end, "B")) end += strlen(end);
        if (*end) return -1;
        for (long i = 0; i <= u - units; i++) {
            if (v > INT64_MAX / 1024) return -1;
            v *= 1024;
        }
    }
    *out = v;
    return 0;
}

/* Options shared by restore and probe. Returns -1 when handled and OK,
 * an exit code on error, or 0 when the option is not a shared one. */
typedef struct cli_opts {
    pf_params p;
    const char *output, *json;
    const char *format;  /* --format: the kind of `-o -` (standard output) */
    int json_flag, verbosity;
    int probe;          /* probe: a bare --json prints the report on stdout */
    unsigned char seen[OPT_GRID + 1];   /* options given, by getopt code */
} cli_opts;

/* getopt cannot give an optional argument as a separate word, so the word
 * after a bare --json (or an abbreviation) is remembered here; it is the
 * report's file when it is left over beside the input. */
static const char *word_after_json(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        size_t n = strlen(argv[i]);
        if (!strcmp(argv[i], "--")) break;
        if (n >= 3 && !strncmp(argv[i], "--json", n))
            return argv[i + 1][0] != '-' || !strcmp(argv[i + 1], "-") ? argv[i + 1] : NULL;
    }
    return NULL;
}

/* "--json FILE": FILE is the word after --json, when an input remains
 * (getopt has moved the operands to argv[optind..]). Returns 1 when that
 * settles the inputs (one input and the word), 0 otherwise. */
static int take_json_word(int *argc, char **argv, cli_opts *o, const char *json_word, char ***inputs,
                          int *n_inputs)
{
    int nargs = *argc - optind;
    if (nargs == 2 && (argv[optind] == json_word || argv[optind + 1] == json_word)) {
        o->json = json_word;
        *inputs = argv + (argv[optind] == json_word ? optind + 1 : optind);
        *n_inputs = 1;
        return 1;
    }
    if (nargs == 1 && argv[optind] == json_word && !o->probe) {
        o->json = json_word;
        optind++;
    }
    if (nargs > 2 && !o->probe)   /* several inputs: the word is the report's, wherever getopt put it */
        for (int j = optind; j < *argc; j++)
            if (argv[j] == json_word) {
                o->json = json_word;
                memmove(argv + j, argv + j + 1, (size_t)(*argc - j - 1) * sizeof *argv);
                (*argc)--;
                break;
            }
    return 0;
}

static int parse_opts(int argc, char **argv, cli_opts *o, char ***inputs, int *n_inputs)
{
    int c;
    long v;
    o->p = pf_default_params();
    o->verbosity = 1;
    optind = 1;
    opterr = 0;
    const char *json_word = word_after_json(argc, argv);
    while ((c = getopt_long(argc, argv, ":o:s:c:p:b:m:fqvhV", long_opts, NULL)) != -1) {
        if (c > 0 && c <= OPT_GRID) o->seen[c] = 1;
        switch (c) {
        case 'o': o->output = optarg; break;
        case 's':
            if (strcmp(optarg, "auto") == 0) { o->p.scale = 0; break; }
            if (parse_double(optarg, 1, 256, &o->p.scale))
                return bad_value("--scale", optarg, "auto or a cell size of 1..256 input pixels");
            break;
        case OPT_FPS:
            if (parse_double(optarg, 0.1, 1000, &o->p.input_fps))
                return bad_value("--fps", optarg, "0.1..1000 frames per second");
            break;
        case 'c':
            if (strcmp(optarg, "auto") == 0) { o->p.colors = 0; break; }
            if (parse_int(optarg, 2, 256, &v)) return bad_value("--colors", optarg, "auto or 2..256");
            o->p.colors = (int)v;
            break;
        case 'p': o->p.palette_path = optarg; break;
        case 'b':
            if (strcmp(optarg, "auto") == 0) o->p.background = PF_BG_AUTO;
            else if (strcmp(optarg, "none") == 0) o->p.background = PF_BG_NONE;
            else if (pf_parse_color(optarg, o->p.bg_rgb) == PF_OK) o->p.background = PF_BG_COLOR;
            else return bad_value("--background", optarg, "auto, none, #rrggbb or a colour name");
            break;
        case 'f': o->p.force = 1; break;
        case 'q': o->verbosity = 0; break;
        case 'v': o->verbosity++; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("pixelfix %s\n", pf_version()); exit(0);
        case OPT_GRID:
            if (strcmp(optarg, "auto") == 0) o->p.grid = PF_GRID_AUTO;
            else if (strcmp(optarg, "regular") == 0) o->p.grid = PF_GRID_REGULAR;
            else if (strcmp(optarg, "elastic") == 0) o->p.grid = PF_GRID_ELASTIC;
            else return bad_value("--grid", optarg, "auto, regular or elastic");
            break;
        case OPT_GRID_FRAMES:
            if (parse_int(optarg, 1, 256, &v)) return bad_value("--grid-frames", optarg, "1..256");
            o->p.grid_frames = (int)v;
            break;
        case OPT_DEDUPE: o->p.dedupe = 1; break;
        case OPT_KEEP_POCKETS: o->p.keep_pockets = 1; break;
        case OPT_CROP: o->p.crop = 1; break;
        case OPT_COLUMNS:
            if (parse_int(optarg, 1, 100000, &v)) return bad_value("--columns", optarg, "1..100000");
            o->p.columns = (int)v;
            break;
        case OPT_PADDING:
            if (parse_int(optarg, 0, 1024, &v)) return bad_value("--padding", optarg, "0..1024");
            o->p.padding = (int)v;
            break;
        case OPT_TAG:
            if (!*optarg) return bad_value("--tag", optarg, "a non-empty name");
            o->p.sheet_tag = optarg;
            break;
        case OPT_FILENAME_FORMAT:   /* pfi_write_sheet's rule, checked before the restore */
            if (!strstr(optarg, "{frame}"))
                return bad_value("--filename-format", optarg, "a pattern holding {frame}, e.g. {tag} {frame}.{extension}");
            o->p.sheet_filename = optarg;
            break;
        case OPT_FORMAT:
            if (format_kind(optarg) == PF_OUT_NONE)
                return bad_value("--format", optarg, "gif, webp, mp4, mov or mkv");
            o->format = optarg;
            break;
        case OPT_SHEET_FORMAT:
            if (strcmp(optarg, "array") == 0) o->p.sheet_hash = 0;
            else if (strcmp(optarg, "hash") == 0) o->p.sheet_hash = 1;
            else return bad_value("--sheet-format", optarg, "array or hash");
            break;
        case OPT_UPSCALE:
            if (parse_int(optarg, 1, 64, &v)) return bad_value("--upscale", optarg, "1..64");
            o->p.upscale = (int)v;
            break;
        case OPT_LOOP:
            if (parse_int(optarg, 0, 65535, &v)) return bad_value("--loop", optarg, "0..65535");
            o->p.loop = (int)v;
            break;
        case OPT_JSON:
            o->json_flag = 1;
            o->json = optarg;
            break;
        case OPT_DEBUG: o->p.debug_dir = optarg; break;
        case OPT_MAX_PIXELS:
            if (parse_i64(optarg, &o->p.limits.max_pixels)) return bad_value("--max-pixels", optarg, "a count (0: no limit)");
            break;
        case OPT_MAX_FRAMES:
            if (parse_i64(optarg, &o->p.limits.max_frames)) return bad_value("--max-frames", optarg, "a count (0: no limit)");
            break;
        case OPT_MAX_DECODED:
            if (parse_bytes(optarg, &o->p.limits.max_decoded_bytes)) return bad_value("--max-decoded-bytes", optarg, "a byte count such as 2G or 512M (0: no limit)");
            break;
        case OPT_MAX_MODEL:
            if (parse_bytes(optarg, &o->p.limits.max_model_bytes)) return bad_value("--max-model-bytes", optarg, "a byte count such as 2G or 512M (0: no limit)");
            break;
        case OPT_MAX_MEMORY:
            if (parse_bytes(optarg, &o->p.limits.max_memory)) return bad_value("--max-memory", optarg, "a byte count such as 2G or 512M (0: no limit)");
            break;
        case OPT_MAX_MODEL_MEM:
            if (parse_bytes(optarg, &o->p.limits.max_model_memory)) return bad_value("--max-model-memory", optarg, "a byte count such as 2G or 512M (0: no limit)");
            break;
        case 'm': o->p.model_path = optarg; o->p.use_model = 1; break;
        case OPT_NO_MODEL: o->p.use_model = 0; break;
        case OPT_WINDOW:
            if (parse_int(optarg, 1, 64, &v)) return bad_value("--window", optarg, "1..64 frames");
            o->p.window = (int)v;
            break;
        case OPT_OVERLAP:
            if (parse_int(optarg, 0, 32, &v)) return bad_value("--overlap", optarg, "0..window/2 frames");
            o->p.overlap = (int)v;
            break;
        case OPT_THREADS:
            if (parse_int(optarg, 0, 256, &v)) return bad_value("--threads", optarg, "0..256");
            o->p.threads = (int)v;
            break;
        case OPT_PALETTE_FRAMES:
            if (parse_int(optarg, 0, 1 << 30, &v)) return bad_value("--palette-frames", optarg, "0 (the whole clip) or a frame count");
            o->p.palette_frames = (int)v;
            break;
        case ':':
            fprintf(stderr, "pixelfix: error: option '%s' needs a value (see pixelfix --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "pixelfix: error: unknown option '%s' (see pixelfix --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (o->json_flag && !o->json && json_word && take_json_word(&argc, argv, o, json_word, inputs, n_inputs))
        return 0;
    if (optind >= argc) {
        fprintf(stderr, "pixelfix: error: no input file given (see pixelfix --help)\n");
        return EXIT_USAGE;
    }
    if (optind + 1 < argc && o->probe) {
        fprintf(stderr, "pixelfix: error: unexpected argument '%s': probe takes one input\n", argv[optind + 1]);
        return EXIT_USAGE;
    }
    *inputs = argv + optind;
    *n_inputs = argc - optind;
    return 0;
}

/* tmpl with every "{name}" replaced by the input's file name without its
 * folder and extension ("clips/walk.mp4" -> "walk"), into out.
 * Returns 0, or -1 when it does not fit n bytes. */
static int expand_name(char *out, size_t n, const char *tmpl, const char *input)
{
    /* the last path component without its extension; a folder's own name
     * (trailing slashes dropped); for a frame pattern (walk/f_%04d.png)
     * the folder holding it */
    size_t len = strlen(input), used = 0, stem;
    while (len > 1 && input[len - 1] == '/') len--;
    const char *base = input + len;
    while (base > input && base[-1] != '/') base--;
    if (memchr(base, '%', (size_t)(input + len - base)) && pfi_frames_is_pattern(input) && base > input + 1) {
        len = (size_t)(base - 1 - input);
        base = input + len;
        while (base > input && base[-1] != '/') base--;
    }
    const char *dot = NULL;
    for (const char *c = base; c < input + len; c++)
        if (*c == '.') dot = c;
    stem = dot && dot != base ? (size_t)(dot - base) : (size_t)(input + len - base);
    for (const char *t = tmpl; *t;) {
        if (!strncmp(t, "{name}", 6)) {
            if (used + stem >= n) return -1;
            memcpy(out + used, base, stem);
            used += stem;
            t += 6;
        } else {
            if (used + 1 >= n) return -1;
            out[used++] = *t++;
        }
    }
    out[used] = 0;
    return 0;
}

/* The --json report to path, or to standard output for "-". */
static int write_report(const char *path, const char *input, const char *output, const pf_report *rep, int force)
{
    char *text = cli_report_json(input, output, rep);
    int rc = !text ? EXIT_NOMEM : strcmp(path, "-") ? cli_write_text(path, text, force) : 0;
    if (text && !strcmp(path, "-") && (puts(text) == EOF || fflush(stdout) != 0)) {
        fprintf(stderr, "pixelfix: error: cannot write the report to standard output\n");
        rc = EXIT_OUTPUT;
    }
    free(text);
    return rc;
}

static const char *kind_name(pfi_out_kind k)
{
    switch (k) {
    case PF_OUT_SHEET: return "a spritesheet";
    case PF_OUT_GIF: return "GIF output";
    case PF_OUT_WEBP: return "WebP output";
    case PF_OUT_VIDEO: return "video output";
    case PF_OUT_FRAMES: return "PNG frames";
    default: return "this output";
    }
}

/* The output kind: from the name, or for -o - (standard output) from --format. */
static pfi_out_kind out_kind(const cli_opts *o)
{
    if (!o->output || strcmp(o->output, "-")) return pfi_out_kind_from_path(o->output);
    return format_kind(o->format);
}

/* Standard output cannot be renamed into place, and MP4 needs to seek: the
 * clip is written to a listed temporary file first (removed on a signal),
 * then copied to stdout. out receives its name (PF_TEMP_PATH_MAX bytes). */
static int stdout_begin(const cli_opts *o, char *out, int *slot)
{
    const char *dir = getenv("TMPDIR");
    char *name = pfi_temp_claim(slot);
    char *path = name ? name : out;
    int n = snprintf(path, PF_TEMP_PATH_MAX, "%s/pixelfix-stdout-XXXXXX.%s", dir && *dir ? dir : "/tmp", o->format);
    if (n < 0 || n >= PF_TEMP_PATH_MAX) {
        pfi_temp_release(*slot);
        fprintf(stderr, "pixelfix: error: TMPDIR is too long a path\n");
        return EXIT_OUTPUT;
    }
    pfi_temp_list(*slot);
    int fd = mkstemps(path, (int)strlen(o->format) + 1);
    if (fd < 0) {
        fprintf(stderr, "pixelfix: error: cannot create a temporary file in %s for standard output: %s\n",
                dir && *dir ? dir : "/tmp", strerror(errno));
        pfi_temp_release(*slot);
        return EXIT_OUTPUT;
    }
    close(fd);
    if (path != out) memcpy(out, path, (size_t)n + 1);
    return 0;
}

/* Copies the finished clip to standard output. */
static int stdout_copy(const char *path)
{
    char buf[1 << 16];
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);   /* a closed pipe is an error to report, not death */
    if (fd < 0) {
        fprintf(stderr, "pixelfix: error: cannot read back '%s': %s\n", path, strerror(errno));
        rc = EXIT_OUTPUT;
    }
    for (ssize_t k; !rc && (k = read(fd, buf, sizeof buf)) != 0;) {
        if (k < 0) {
            if (errno == EINTR) continue;
            rc = EXIT_OUTPUT;
            break;
        }
        for (ssize_t off = 0; off < k;) {
            ssize_t w = write(1, buf + off, (size_t)(k - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                fprintf(stderr, "pixelfix: error: cannot write to standard output: %s\n", strerror(errno));
                rc = EXIT_OUTPUT;
                break;
            }
            off += w;
        }
    }
    if (fd >= 0) close(fd);
    signal(SIGPIPE, old);
    return rc;
}

/* Options the chosen output or mode does not use: said once each, so that
 * nothing is silently ignored. */
static void warn_ignored(const cli_opts *o)
{
    static const struct { int opt; const char *name; } model_opts[] = {
        {'m', "--model"}, {OPT_WINDOW, "--window"}, {OPT_OVERLAP, "--overlap"}};
    static const struct { int opt; const char *name; } out_opts[] = {
        {'o', "--output"}, {'f', "--force"}, {OPT_COLUMNS, "--columns"}, {OPT_PADDING, "--padding"},
        {OPT_TAG, "--tag"}, {OPT_FILENAME_FORMAT, "--filename-format"}, {OPT_SHEET_FORMAT, "--sheet-format"},
        {OPT_UPSCALE, "--upscale"}, {OPT_LOOP, "--loop"}};
    if (o->verbosity == 0) return;
    if (o->probe) {
        for (size_t i = 0; i < sizeof out_opts / sizeof *out_opts; i++)
            if (o->seen[out_opts[i].opt])
                fprintf(stderr, "pixelfix: warning: %s is ignored: probe writes no output\n", out_opts[i].name);
        for (size_t i = 0; i < sizeof model_opts / sizeof *model_opts; i++)
            if (o->seen[model_opts[i].opt])
                fprintf(stderr, "pixelfix: warning: %s is ignored: probe runs no model\n", model_opts[i].name);
    } else {
        pfi_out_kind k = out_kind(o);
        if (o->seen[OPT_COLUMNS] && k != PF_OUT_SHEET)
            fprintf(stderr, "pixelfix: warning: --columns is ignored for %s: it applies to a spritesheet\n",
                    kind_name(k));
        static const struct { int opt; const char *name; } sheet_opts[] = {
            {OPT_PADDING, "--padding"}, {OPT_TAG, "--tag"}, {OPT_FILENAME_FORMAT, "--filename-format"},
            {OPT_SHEET_FORMAT, "--sheet-format"}};
        for (size_t i = 0; i < sizeof sheet_opts / sizeof *sheet_opts; i++)
            if (o->seen[sheet_opts[i].opt] && k != PF_OUT_SHEET)
                fprintf(stderr, "pixelfix: warning: %s is ignored for %s: it applies to a spritesheet\n",
                        sheet_opts[i].name, kind_name(k));
        if (o->seen[OPT_FORMAT] && strcmp(o->output, "-"))
            fprintf(stderr, "pixelfix: warning: --format is ignored: the name of -o %s gives the kind\n", o->output);
        if (o->seen[OPT_LOOP] && k != PF_OUT_GIF && k != PF_OUT_WEBP)
            fprintf(stderr, "pixelfix: warning: --loop is ignored for %s: it applies to GIF and WebP\n",
                    kind_name(k));
        if (!o->p.use_model)
            for (size_t i = 0; i < sizeof model_opts / sizeof *model_opts; i++)
                if (o->seen[model_opts[i].opt])
                    fprintf(stderr, "pixelfix: warning: %s is ignored with --no-model\n", model_opts[i].name);
    }
    if (o->seen['c'] && o->p.palette_path)
        fprintf(stderr, "pixelfix: warning: --colors is ignored with --palette: the palette file sets the "
                "colours\n");
}

/* One input: restore (o->output given) or probe (summary on stdout).
 * Returns the exit code. */
static int restore_one(cli_opts *op, const char *input)
{
    cli_opts o = *op;
    const int probe = o.probe;
    const int json_stdout = o.json && !strcmp(o.json, "-");
    pf_report *rep = NULL;
    cli_ui ui;
    int rc;
    pf_status st;

    if (!probe && o.json && !json_stdout && pfi_out_kind_from_path(o.output) == PF_OUT_SHEET) {
        char own[4200];
        if (pfi_sheet_json_path(o.output, own, sizeof own) == 0 && strcmp(own, o.json) == 0) {
            fprintf(stderr, "pixelfix: error: --json %s is the spritesheet's own JSON; name the report "
                    "differently\n", o.json);
            return EXIT_USAGE;
        }
    }
    if (!probe && o.json && !json_stdout) {
        struct stat a, b;
        if (stat(input, &a) == 0 && stat(o.json, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            fprintf(stderr, "pixelfix: error: report '%s' is the input itself; pixelfix never writes "
                    "over its input, not even with --force\n", o.json);
            return EXIT_OUTPUT;
        }
    }
    if (!probe && o.json && !json_stdout && pfi_output_check(o.json, o.p.force) < 0) {
        fprintf(stderr, "pixelfix: error: report '%s' exists; use --force to overwrite it\n", o.json);
        return EXIT_OUTPUT;
    }
    cli_ui_init(&ui, o.verbosity);
    ui.one_error = 1;
    o.p.log = cli_log;
    o.p.user = &ui;
    o.p.log_level = o.verbosity == 0 ? PF_LOG_ERROR : o.verbosity == 1 ? PF_LOG_WARN
                    : o.verbosity == 2 ? PF_LOG_INFO : PF_LOG_DEBUG;
    o.p.progress = cli_progress;
    if (o.seen[OPT_FPS] && o.verbosity > 0) {
        if (!pfi_frames_input(input))
            fprintf(stderr, "pixelfix: warning: --fps is ignored for %s: it applies to PNG frames (a folder "
                    "or a %%d pattern); other inputs keep their own timing\n", input);
    }
    char piped[PF_TEMP_PATH_MAX];
    int slot = 0;
    const int to_stdout = !probe && !strcmp(o.output, "-");
    if (to_stdout) {
        if ((rc = stdout_begin(&o, piped, &slot)) != 0) return rc;
        o.p.force = 1;   /* our own empty temporary file */
    }
    cli_set_grace(CLI_GRACE_MS);
    st = pf_restore_file(input, probe ? NULL : to_stdout ? piped : o.output, &o.p, &rep);
    cli_set_grace(0);
    if (to_stdout) {
        rc = st >= 0 && !cli_interrupted() ? stdout_copy(piped) : 0;
        unlink(piped);
        pfi_temp_release(slot);
        if (rc) {   /* stdout_copy said why */
            pf_report_free(rep);
            return rc;
        }
    }
    cli_progress_end(&ui);
    if (st < 0 && cli_interrupted()) st = PF_EABORTED;   /* whatever failed, a signal asked for it */
    rc = cli_exit_code(st);
    if (st < 0 && (st != PF_ENOGRID || !probe)) {
        /* one line per error: the library's own, which names the cause,
         * else the status, naming what failed: the palette or the output
         * is not the input's fault */
        if (!ui.errors) {
            const char *what = st == PF_EPALETTE && o.p.palette_path ? o.p.palette_path
                             : (st == PF_EOUTPUT || st == PF_EEXIST) && o.output ? o.output
                             : rc == EXIT_INPUT ? input : NULL;
            if (what) fprintf(stderr, "pixelfix: error: %s: %s\n", what, pf_strerror(st));
            else fprintf(stderr, "pixelfix: error: %s\n", pf_strerror(st));
        }
        pf_report_free(rep);
        return rc;
    }
    if (probe) {
        if (o.json_flag && (!o.json || json_stdout)) {
            char *text = cli_report_json(input, NULL, rep);
            if (text) printf("%s\n", text);
            free(text);
        } else {
            printf("input:       %s (%s, %dx%d)\n", input, rep->input_format, rep->in_width, rep->in_height);
            printf("frames:      %d, %lld ms in total\n", rep->frames_in, (long long)rep->total_ms);
            printf("durations:   ");
            for (int i = 0; i < rep->frames_out && i < 32; i++) printf("%s%d", i ? " " : "", rep->durations_ms[i]);
            printf("%s ms\n", rep->frames_out > 32 ? " ..." : "");
            if (st == PF_ENOGRID)
                printf("grid:        NOT FOUND\n");
            else if (rep->grid_kind == PF_GRID_ELASTIC)
                printf("grid:        elastic, cells of %.3f x %.3f px (nominal), bending %.2f cells, "
                       "confidence %.2f%s\n", rep->cell_w, rep->cell_h, rep->bend, rep->confidence,
                       rep->scale_forced ? " (scale forced)" : "");
            else
                printf("grid:        regular, %.3f x %.3f px, offset (%.2f, %.2f), confidence %.2f%s\n",
                       rep->cell_w, rep->cell_h, rep->offset_x, rep->offset_y, rep->confidence,
                       rep->scale_forced ? " (forced)" : "");
            if (rep->n_candidates > 0) {
                printf("candidates: ");
                /* with the native size each would give: a user knows their sprite's size
                 * better than its cell's */
                for (int i = 0; i < rep->n_candidates && i < 5; i++)
                    printf(" --scale %.2f (%.2f, %dx%d)%s", rep->candidate_cell[i], rep->candidate_confidence[i],
                           cli_cells(rep->in_width, rep->candidate_cell[i]),
                           cli_cells(rep->in_height, rep->candidate_cell[i]),
                           i + 1 < rep->n_candidates && i < 4 ? "," : "");
                printf("\n");
            }
            if (st == 0) {
                static const char *kinds[] = {"none", "solid", "gradient", "input alpha", "field"};
                printf("native size: %dx%d\n", rep->native_w, rep->native_h);
                printf("background:  %s", kinds[rep->bg_kind >= PF_BGK_NONE && rep->bg_kind <= PF_BGK_FIELD ? rep->bg_kind : PF_BGK_NONE]);
                if (rep->bg_kind == PF_BGK_SOLID || rep->bg_kind == PF_BGK_GRADIENT)
                    printf(" #%02x%02x%02x", rep->bg_rgb[0], rep->bg_rgb[1], rep->bg_rgb[2]);
                printf("\npalette:     %d colours\n", rep->palette_size);
            }
        }
        if (o.json && !json_stdout && (rc = write_report(o.json, input, NULL, rep, 1)) != 0) {
            pf_report_free(rep);
            return rc;
        }
        pf_report_free(rep);
        return st < 0 ? cli_exit_code(st) : 0;
    }
    if (o.json && (rc = write_report(o.json, input, o.output, rep, o.p.force)) != 0) {
        pf_report_free(rep);
        return rc;
    }
    if (o.verbosity > 0)
        fprintf(stderr, "pixelfix: %s -> %s: %dx%d native (%s grid, cell %.2f px), %d frames, %d colours, "
                "%s%s\n", input, o.output, rep->native_w, rep->native_h,
                rep->grid_kind == PF_GRID_ELASTIC ? "elastic" : "regular", rep->cell_w, rep->frames_out,
                rep->palette_size, rep->model_path ? "model " : "no model (classical path",
                rep->model_path ? rep->model_path : o.p.use_model ? ": none found)" : ": --no-model)");
    pf_report_free(rep);
    return 0;
}

/* restore (-o given) or probe: checks what holds for every input, then
 * restores each in turn. Several inputs need "{name}" in -o (and in --json):
 * a clip that fails is reported and the others still run; the exit code
 * is the first failure's. A signal stops the batch. */
static int run(int argc, char **argv, int probe)
{
    cli_opts o = {.probe = probe};
    char **inputs = NULL;
    int n = 0, rc = parse_opts(argc, argv, &o, &inputs, &n);

    if (rc) return rc;
    if (!probe && !o.output) {
        fprintf(stderr, "pixelfix: error: no output given; use -o OUTPUT (see pixelfix --help)\n");
        return EXIT_USAGE;
    }
    if (!probe && !strcmp(o.output, "-")) {
        if (!o.format) {
            fprintf(stderr, "pixelfix: error: -o - (standard output) needs --format gif, webp, mp4, mov or mkv\n");
            return EXIT_USAGE;
        }
        if (isatty(1)) {
            fprintf(stderr, "pixelfix: error: standard output is a terminal; redirect it (> clip.%s) or pipe it\n",
                    o.format);
            return EXIT_USAGE;
        }
    }
    if (!probe && o.json_flag && !o.json) {
        fprintf(stderr, "pixelfix: error: --json needs a file name: --json FILE\n");
        return EXIT_USAGE;
    }
    if (!probe && o.json && !strcmp(o.json, "-") && !strcmp(o.output, "-")) {
        fprintf(stderr, "pixelfix: error: -o - and --json - cannot both use standard output; write the "
                "report to a file (--json FILE)\n");
        return EXIT_USAGE;
    }
    const int json_named = !o.json || !strcmp(o.json, "-") || strstr(o.json, "{name}");
    if (n > 1 && (!strstr(o.output, "{name}") || !json_named)) {
        fprintf(stderr, "pixelfix: error: %d inputs need {name} in -o%s, e.g. -o out/{name}.png, so that "
                "each gets its own output\n", n, !json_named ? " and --json" : "");
        return EXIT_USAGE;
    }
    /* the default overlap follows a short window; a given one must fit */
    if (!o.seen[OPT_OVERLAP] && 2 * o.p.overlap > o.p.window) o.p.overlap = o.p.window / 2;
    if (2 * o.p.overlap > o.p.window) {
        fprintf(stderr, "pixelfix: error: invalid value '%d' for --overlap: expected 0..%d, at most half "
                "of --window %d\n", o.p.overlap, o.p.window / 2, o.p.window);
        return EXIT_USAGE;
    }
    warn_ignored(&o);
    if (probe) return restore_one(&o, inputs[0]);

    int failed = 0, first_rc = 0;
    for (int i = 0; i < n && !cli_interrupted(); i++) {
        char out[4096], json[4096];
        cli_opts one = o;
        if (expand_name(out, sizeof out, o.output, inputs[i]) < 0 ||
            (o.json && expand_name(json, sizeof json, o.json, inputs[i]) < 0)) {
            fprintf(stderr, "pixelfix: error: %s: the output name is too long\n", inputs[i]);
            rc = EXIT_USAGE;
        } else {
            one.output = out;
            one.json = o.json ? json : NULL;
            rc = restore_one(&one, inputs[i]);
        }
        if (rc != 0) {
            if (n > 1 && rc != EXIT_ABORTED)
                fprintf(stderr, "pixelfix: %s failed (exit %d)%s\n", inputs[i], rc,
                        i + 1 < n ? "; going on with the next input" : "");
            if (!failed++) first_rc = rc;
        }
    }
    if (cli_interrupted()) return EXIT_ABORTED;
    if (n > 1 && o.verbosity > 0)
        fprintf(stderr, "pixelfix: %d of %d inputs restored%s\n", n - failed, n, failed ? "" : ", none failed");
    return first_rc;
}

/* OpenBLAS's pthread build starts a worker per core when it is loaded,
 * before main(), unless OPENBLAS_NUM_THREADS says otherwise. pixelfix calls
 * it single-threaded and runs its own --threads workers, so those would be
 * idle threads nobody asked for: set the variable and start again. Only
 * when we really are the pixelfix binary (not under valgrind, say). */
static void reexec_without_blas_threads(char **argv)
{
    char self[4096];
    if (getenv("OPENBLAS_NUM_THREADS")) return;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    const char *base = strrchr(self, '/');
    if (!base || strncmp(base + 1, "pixelfix", 8) != 0) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
    execv(self, argv);   /* returns only on failure: carry on as we are */
}

int main(int argc, char **argv)
{
    reexec_without_blas_threads(argv);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0) return run(argc - 1, argv + 1, 1);
    if (argc >= 2 && strcmp(argv[1], "eval") == 0) return cli_eval(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return cli_train(argc - 1, argv + 1);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return run(argc, argv, 0);
}
