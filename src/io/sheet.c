/*
 * sheet.c - spritesheet PNG plus Aseprite-style JSON (the "array" export
 * format that Phaser, PixiJS, Godot and Unity importers read; see
 * Aseprite's docs, "Sprite Sheet" / --data), and reading such a pair back
 * (array or hash layout) into a pfi_anim. Not a general texture-atlas
 * reader: rotated frames are refused.
 */
#include "io/encode.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define SHEET_DEFAULT_DURATION_MS 100   /* Aseprite's default frame duration */

/* ---- paths ------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "dir/sheet.png" -> "dir/sheet.json" (any-case .png replaced, else appended). */
int pfi_sheet_json_path(const char *png_path, char *out, size_t n)
{
    size_t len = strlen(png_path);
    const char *base = base_name(png_path);
    if (strlen(base) > 4 && strcasecmp(png_path + len - 4, ".png") == 0) len -= 4;
    if (len + 6 > n) return -1;
    memcpy(out, png_path, len);
    memcpy(out + len, ".json", 6);
    return 0;
}

/* The stem of a file name: "dir/sheet.png" -> "sheet". */
static void stem_of(const char *path, char *out, size_t n)
{
    const char *base = base_name(path);
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len >= n) len = n - 1;
    memcpy(out, base, len);
    out[len] = '\0';
}

int pfi_sheet_frame_name(char *out, size_t n, const char *fmt, const char *title, int i, const char *tag)
{
    static const char *const keys[] = {"{title}", "{frame}", "{tag}", "{extension}"};
    char num[16];
    size_t len = 0;
    int has_frame = 0;

    if (!out || n == 0 || !fmt) return -1;
    snprintf(num, sizeof num, "%d", i);
    const char *vals[] = {title ? title : "", num, tag ? tag : "", "png"};
    while (*fmt) {
        const char *v = NULL;
        size_t vl = 1, kl = 1;
        for (int k = 0; k < 4 && !v; k++)
            if (!strncmp(fmt, keys[k], strlen(keys[k]))) {
                v = vals[k];
                vl = strlen(v);
                kl = strlen(keys[k]);
                has_frame |= k == 1;
            }
        if (!v) v = fmt;   /* plain text, one byte */
        if (len + vl >= n) return -1;
        memcpy(out + len, v, vl);
        len += vl;
        fmt += kl;
    }
    out[len] = '\0';
    return has_frame ? (int)len : -1;
}

/* ---- layout ------------------------------------------------------------ */

typedef struct sheet_layout {
    int cols, rows;   /* grid of frames */
    int w, h;         /* sheet size, pixels */
} sheet_layout;

static int isqrt_ceil(int n)
{
    int r = (int)ceil(sqrt((double)n));
    while (r > 1 && (r - 1) * (r - 1) >= n) r--;
    while (r * r < n) r++;
    return r;
}

/* Grid of a frames of fw x fh with `pad` pixels between neighbours and no
 * border. Returns PF_EINVAL when the sheet would not fit an int. */
static pf_status layout_sheet(sheet_layout *L, int n, int fw, int fh, int columns, int pad)
{
    int64_t w, h;
    /* pad <= INT_MAX / 4 keeps fw + pad, the frame stride, in int */
    if (n <= 0 || fw <= 0 || fh <= 0 || columns < 0 || pad < 0 || pad > INT_MAX / 4) return PF_EINVAL;
    L->cols = columns > 0 ? columns : isqrt_ceil(n);
    L->rows = (n + L->cols - 1) / L->cols;
    w = (int64_t)L->cols * fw + (int64_t)(L->cols - 1) * pad;
    h = (int64_t)L->rows * fh + (int64_t)(L->rows - 1) * pad;
    if (w > INT_MAX / 4 || h > INT_MAX / 4) return PF_EINVAL;
    L->w = (int)w;
    L->h = (int)h;
    return PF_OK;
}

/* ---- JSON -------------------------------------------------------------- */

static double round4(double v) { return isfinite(v) ? round(v * 1e4) / 1e4 : 0.0; }

static json_t *hex_colour(const uint8_t rgb[3])
{
    char s[8];
    snprintf(s, sizeof s, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    return json_string(s);
}

/* meta.pixelfix: what was detected, plus the loop count. */
static json_t *pixelfix_meta(const pfi_anim *a, const pfi_sheet_meta *m)
{
    json_t *pal, *bg;
    if (!m) return json_pack("{s:i}", "loop", a->loop);
    if (!(pal = json_array())) return NULL;
    for (int i = 0; i < m->palette_size && m->palette; i++) {
        if (json_array_append_new(pal, hex_colour(m->palette[i])) != 0) {
            json_decref(pal);
            return NULL;
        }
    }
    bg = m->has_bg ? hex_colour(m->bg_rgb) : json_null();
    /* "o" steals pal and bg, also when packing fails. */
    return json_pack("{s:i, s:{s:s, s:f, s:f, s:f, s:f, s:f, s:f}, s:{s:i, s:i, s:s?}, s:{s:i, s:i},"
                     " s:o, s:o}",
                     "loop", a->loop,
                     "grid", "kind", m->elastic ? "elastic" : "regular",
                     "cell_w", round4(m->cell_w), "cell_h", round4(m->cell_h),
                     "offset_x", round4(m->offset_x), "offset_y", round4(m->offset_y),
                     "confidence", round4(m->confidence), "bend_cells", round4(m->bend),
                     "input", "w", m->in_width, "h", m->in_height, "source", m->source,
                     "native", "w", m->native_w, "h", m->native_h,
                     "palette", pal,
                     "background", bg);
}

/* The whole JSON document for frames laid out by L in `image`: frames
 * named by fmt, as an array or (hash) an object by name; one frame tag
 * over the clip, also as PixiJS's "animations". */
static json_t *sheet_json(const pfi_anim *a, const sheet_layout *L, const char *image, const char *title,
                          const char *tag, const char *fmt, int hash, int pad, int upscale,
                          const pfi_sheet_meta *m)
{
    char scale[16];   /* Aseprite's meta.scale: the export's upscale, as a string */
    snprintf(scale, sizeof scale, "%d", upscale > 1 ? upscale : 1);
    json_t *root = NULL, *frames = hash ? json_object() : json_array(), *names = json_array(), *px;
    char name[4200];

    if (!frames || !names) goto fail;
    for (int i = 0; i < a->count; i++) {
        int x = (i % L->cols) * (a->width + pad);
        int y = (i / L->cols) * (a->height + pad);
        if (pfi_sheet_frame_name(name, sizeof name, fmt, title, i, tag) < 0) goto fail;
        /* json-array: the name first in each frame, as Aseprite writes it */
        json_t *f = hash ? json_object() : json_pack("{s:s}", "filename", name);
        json_t *rest = json_pack("{s:{s:i, s:i, s:i, s:i}, s:b, s:b, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i}, s:i}",
                                 "frame", "x", x, "y", y, "w", a->width, "h", a->height,
                                 "rotated", 0, "trimmed", 0,
                                 "spriteSourceSize", "x", 0, "y", 0, "w", a->width, "h", a->height,
                                 "sourceSize", "w", a->width, "h", a->height,
                                 "duration", a->frames[i].duration_ms);
        if (!f || !rest || json_object_update(f, rest) != 0) {
            json_decref(f);
            json_decref(rest);
            goto fail;
        }
        json_decref(rest);
        if (!f || json_array_append_new(names, json_string(name)) != 0) {
            json_decref(f);
            goto fail;
        }
        if (hash ? json_object_set_new(frames, name, f) != 0 : json_array_append_new(frames, f) != 0)
            goto fail;
    }
    if (!(px = pixelfix_meta(a, m))) goto fail;
    root = json_pack("{s:o, s:{s:o}, s:{s:s, s:s, s:s, s:s, s:{s:i, s:i}, s:s,"
                     " s:[{s:s, s:i, s:i, s:s, s:s}], s:[], s:[], s:o}}",
                     "frames", frames,
                     "animations", tag, names,
                     "meta", "app", "pixelfix", "version", PF_VERSION_STRING,
                     "image", image, "format", "RGBA8888",
                     "size", "w", L->w, "h", L->h, "scale", scale,
                     "frameTags", "name", tag, "from", 0, "to", a->count - 1, "direction", "forward",
                     "color", "#000000ff",
                     "layers", "slices", "pixelfix", px);
    return root;   /* NULL on failure; frames, names and px were stolen either way */
fail:
    json_decref(frames);
    json_decref(names);
    return NULL;
}

/* ---- writing ----------------------------------------------------------- */

static pf_status check_anim(const pfi_anim *a, const pfi_logger *lg)
{
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pfi_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    for (int i = 0; i < a->count; i++) {
        if (!a->frames[i].rgba || a->frames[i].duration_ms <= 0) {
            pfi_error(lg, "frame %d has no pixels or a duration <= 0", i);
            return PF_EINVAL;
        }
    }
    return PF_OK;
}

/* Hard-links the current `path` to a fresh name so that it can be put back
 * if a later step fails. Returns 1 with bak filled, or 0 (no backup). */
static int backup_link(const char *path, char *bak, size_t n)
{
    int fd;
    if (pfi_sibling_name(bak, n, path, ".old-XXXXXX") < 0) return 0;
    if ((fd = mkstemp(bak)) < 0) return 0;
    close(fd);
    unlink(bak);
    return link(path, bak) == 0;
}

/* a (count, H, W, 4) RGBA8 -> spritesheet PNG (o->columns, 0 = ceil(sqrt(n)),
 * o->padding pixels between frames, transparent elsewhere) plus <stem>.json.
 * Both go to temp files first; the PNG is moved into place, then the JSON,
 * and the old PNG is put back (or ours removed) when the JSON cannot
 * follow. Without force the PNG's move is the claim: of two writers only
 * one places it, and the other touches neither file. Errors: PF_EINVAL,
 * PF_EEXIST (either file exists, or appeared meanwhile, and !force),
 * PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_write_sheet(const char *png_path, const pfi_anim *a,
                         const pfi_write_opts *o, const pfi_logger *lg)
{
    static const pfi_write_opts defaults = {0};
    pfi_outfile png = {.fd = -1}, js = {.fd = -1};
    sheet_layout L;
    uint8_t *sheet = NULL;
    json_t *root = NULL;
    char *text = NULL;
    char json_path[4096], stem[4096], bak[4200];
    int have_bak = 0, png_existed = 0, png_done = 0;
    size_t row;
    pf_status st;
    struct stat sb;

    if (!o) o = &defaults;
    if (!png_path) return PF_EINVAL;
    if ((st = check_anim(a, lg)) < 0) return st;
    if (o->filename_format && !strstr(o->filename_format, "{frame}")) {
        pfi_error(lg, "the frame name format '%s' has no {frame}: every frame would get the same name",
                 o->filename_format);
        return PF_EINVAL;
    }
    if (layout_sheet(&L, a->count, a->width, a->height, o->columns, o->padding) < 0) {
        pfi_error(lg, "spritesheet too large: %d frames of %dx%d", a->count, a->width, a->height);
        return PF_EINVAL;
    }
    if (pfi_sheet_json_path(png_path, json_path, sizeof json_path) < 0) {
        pfi_error(lg, "output path too long: '%s'", png_path);
        return PF_EOUTPUT;
    }
    stem_of(png_path, stem, sizeof stem);

    /* Both temps exist before either is written: an existing JSON is
     * refused before anything is created. */
    if ((st = pfi_outfile_open(&png, png_path, o->force, lg)) < 0) goto fail;
    if ((st = pfi_outfile_open(&js, json_path, o->force, lg)) < 0) goto fail;

    /* Transparent background, frames row-major in the grid. */
    if (!(sheet = pfi_calloc4((size_t)L.w, (size_t)L.h, 4, 1))) {
        st = PF_ENOMEM;
        goto fail;
    }
    row = (size_t)a->width * 4;
    for (int i = 0; i < a->count; i++) {
        size_t x = (size_t)(i % L.cols) * (size_t)(a->width + o->padding);
        size_t y = (size_t)(i / L.cols) * (size_t)(a->height + o->padding);
        for (int r = 0; r < a->height; r++)
            memcpy(sheet + ((y + (size_t)r) * (size_t)L.w + x) * 4,
                   a->frames[i].rgba + (size_t)r * row, row);
    }
    if ((st = pfi_png_write_fd(png.fd, sheet, L.w, L.h, lg)) < 0) {
        if (st == PF_EOUTPUT) pfi_error(lg, "cannot write '%s': %s", png_path, strerror(errno));
        goto fail;
    }

    char tag[4096];
    if (o->tag) snprintf(tag, sizeof tag, "%s", o->tag);
    else stem_of(o->meta && o->meta->source ? o->meta->source : png_path, tag, sizeof tag);
    root = sheet_json(a, &L, base_name(png_path), stem, tag, o->filename_format ? o->filename_format : "{frame}",
                      o->hash, o->padding, o->upscale, o->meta);
    if (!root || !(text = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10)))) {
        pfi_error(lg, "cannot build the spritesheet JSON");
        st = PF_ENOMEM;
        goto fail;
    }
    if (pfi_write_all(js.fd, text, strlen(text)) < 0 || pfi_write_all(js.fd, "\n", 1) < 0) {
        pfi_error(lg, "cannot write '%s': %s", json_path, strerror(errno));
        st = PF_EOUTPUT;
        goto fail;
    }

    /* Rename both; put the old PNG back if the JSON cannot follow it. */
    png_existed = lstat(png_path, &sb) == 0;
    if (png_existed) have_bak = backup_link(png_path, bak, sizeof bak);
    if ((st = pfi_outfile_close(&png, lg)) < 0) goto fail;
    png_done = 1;
    if ((st = pfi_outfile_close(&js, lg)) < 0) goto fail;
    if (have_bak) unlink(bak);
    st = PF_OK;
    goto done;
fail:
    if (png_done) {
        if (have_bak ? rename(bak, png_path) != 0 : png_existed || pfi_outfile_unplace(&png) != 0)
            pfi_warn(lg, "'%s' was written but its JSON was not", png_path);
        have_bak = 0;
    }
    if (have_bak) unlink(bak);
    pfi_outfile_abort(&png);
    pfi_outfile_abort(&js);
done:
    free(text);
    json_decref(root);
    free(sheet);
    return st;
}

/* ---- reading ----------------------------------------------------------- */

/* An integer member in [lo, hi]; 0 on success. */
static int get_int(const json_t *obj, const char *key, int lo, int hi, int *out)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t x;
    if (!json_is_integer(v)) return -1;
    x = json_integer_value(v);
    if (x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

/* {x, y, w, h} (has_xy) or {w, h}; w, h >= 1. */
static int get_rect(const json_t *obj, const char *key, int has_xy, int r[4])
{
    const json_t *o = json_object_get(obj, key);
    r[0] = r[1] = 0;
    if (!json_is_object(o)) return -1;
    if (has_xy && (get_int(o, "x", 0, INT_MAX, &r[0]) || get_int(o, "y", 0, INT_MAX, &r[1])))
        return -1;
    return get_int(o, "w", 1, INT_MAX, &r[2]) || get_int(o, "h", 1, INT_MAX, &r[3]) ? -1 : 0;
}

typedef struct sheet_frame {
    int frame[4];    /* rect in the PNG */
    int dst[4];      /* where it goes in the canvas (spriteSourceSize) */
    int src_w, src_h;/* canvas (sourceSize) */
    int duration;    /* ms */
} sheet_frame;

/* Parses and validates one frame entry against the image size. */
static pf_status parse_frame(const json_t *f, int idx, int img_w, int img_h, sheet_frame *out,
                             const pfi_logger *lg)
{
    const json_t *rot, *dur;
    int ss[4];

    if (!json_is_object(f) || get_rect(f, "frame", 1, out->frame) < 0) {
        pfi_error(lg, "spritesheet JSON: frame %d has no valid \"frame\" {x,y,w,h}", idx);
        return PF_EFORMAT;
    }
    if ((int64_t)out->frame[0] + out->frame[2] > img_w ||
        (int64_t)out->frame[1] + out->frame[3] > img_h) {
        pfi_error(lg, "spritesheet JSON: frame %d (%d,%d %dx%d) lies outside the %dx%d image", idx,
                 out->frame[0], out->frame[1], out->frame[2], out->frame[3], img_w, img_h);
        return PF_EFORMAT;
    }
    rot = json_object_get(f, "rotated");
    if (rot && !json_is_false(rot)) {
        pfi_error(lg, "spritesheet JSON: frame %d is rotated, which is not supported", idx);
        return PF_EFORMAT;
    }
    /* Untrimmed by default: canvas = frame. */
    out->src_w = out->frame[2];
    out->src_h = out->frame[3];
    if (json_object_get(f, "sourceSize")) {
        int s[4];
        if (get_rect(f, "sourceSize", 0, s) < 0) goto bad_source;
        out->src_w = s[2];
        out->src_h = s[3];
    }
    out->dst[0] = out->dst[1] = 0;
    out->dst[2] = out->frame[2];
    out->dst[3] = out->frame[3];
    if (json_object_get(f, "spriteSourceSize")) {
        if (get_rect(f, "spriteSourceSize", 1, ss) < 0) goto bad_source;
        if (ss[2] != out->frame[2] || ss[3] != out->frame[3]) goto bad_source;
        memcpy(out->dst, ss, sizeof ss);
    }
    if ((int64_t)out->dst[0] + out->dst[2] > out->src_w ||
        (int64_t)out->dst[1] + out->dst[3] > out->src_h)
        goto bad_source;
    out->duration = SHEET_DEFAULT_DURATION_MS;
    dur = json_object_get(f, "duration");
    if (dur && get_int(f, "duration", 1, INT_MAX, &out->duration) < 0) {
        pfi_error(lg, "spritesheet JSON: frame %d has an invalid duration", idx);
        return PF_EFORMAT;
    }
    return PF_OK;
bad_source:
    pfi_error(lg, "spritesheet JSON: frame %d has an invalid sourceSize/spriteSourceSize", idx);
    return PF_EFORMAT;
}

/* Spritesheet JSON (Aseprite array or hash layout) + the PNG its
 * meta.image names (relative to the JSON's folder) -> a, frames in listed
 * order, each placed on a sourceSize canvas at spriteSourceSize, durations in
 * ms (100 when absent), loop from meta.pixelfix.loop. Errors: PF_EIO (JSON or
 * PNG unreadable), PF_EFORMAT (bad JSON, a rectangle outside the image or the
 * canvas, rotated frames, differing canvas sizes), PF_ENOFRAMES, PF_ELIMIT,
 * PF_ENOMEM. */
pf_status pfi_read_sheet(pfi_anim *a, const char *json_path, const pf_limits *lim,
                        const pfi_logger *lg)
{
    json_t *root = NULL;
    json_error_t jerr;
    const json_t *frames, *meta, *image, *px, *f;
    const char *key;
    char png_path[4096];
    uint8_t *img = NULL, *canvas = NULL;
    sheet_frame *sf = NULL;
    int img_w = 0, img_h = 0, n, i;
    size_t dirlen, canvas_bytes, nf;
    int64_t decoded = 0;
    pf_status st;

    PF_ASSERT(a);
    memset(a, 0, sizeof *a);
    if (!json_path) return PF_EINVAL;
    if (!(root = json_load_file(json_path, JSON_REJECT_DUPLICATES, &jerr))) {
        if (json_error_code(&jerr) == json_error_cannot_open_file) {
            pfi_error(lg, "cannot read '%s': %s", json_path, jerr.text);
            return PF_EIO;
        }
        pfi_error(lg, "'%s' is not valid JSON (line %d: %s)", json_path, jerr.line, jerr.text);
        return PF_EFORMAT;
    }
    frames = json_object_get(root, "frames");
    meta = json_object_get(root, "meta");
    image = json_object_get(meta, "image");
    if (!(json_is_array(frames) || json_is_object(frames)) || !json_is_string(image) ||
        !json_string_length(image)) {
        pfi_error(lg, "'%s' is not a spritesheet JSON (needs \"frames\" and \"meta\".\"image\")",
                 json_path);
        st = PF_EFORMAT;
        goto fail;
    }
    nf = json_is_array(frames) ? json_array_size(frames) : json_object_size(frames);
    if (nf == 0) {
        pfi_error(lg, "'%s' lists no frames", json_path);
        st = PF_ENOFRAMES;
        goto fail;
    }
    if (nf > INT_MAX || (lim && lim->max_frames > 0 && nf > (uint64_t)lim->max_frames)) {
        pfi_error(lg, "'%s' has %zu frames, more than the limit (--max-frames)", json_path, nf);
        st = PF_ELIMIT;
        goto fail;
    }
    n = (int)nf;

    /* The image is named relative to the JSON's folder. */
    if (json_string_value(image)[0] == '/') {
        dirlen = 0;
    } else {
        const char *slash = strrchr(json_path, '/');
        dirlen = slash ? (size_t)(slash - json_path) + 1 : 0;
    }
    if (dirlen + json_string_length(image) + 1 > sizeof png_path) {
        st = PF_EFORMAT;
        goto fail;
    }
    memcpy(png_path, json_path, dirlen);
    memcpy(png_path + dirlen, json_string_value(image), json_string_length(image) + 1);
    if ((st = pfi_png_read(png_path, &img, &img_w, &img_h, lim)) < 0) {
        pfi_error(lg, "cannot read the spritesheet image '%s': %s", png_path, pf_strerror(st));
        goto fail;
    }

    if (!(sf = calloc((size_t)n, sizeof *sf))) {
        st = PF_ENOMEM;
        goto fail;
    }
    i = 0;
    if (json_is_array(frames)) {
        size_t k;
        json_array_foreach(frames, k, f) {
            if ((st = parse_frame(f, i, img_w, img_h, &sf[i], lg)) < 0) goto fail;
            i++;
        }
    } else {
        /* jansson keeps insertion order, which is the frame order. */
        json_object_foreach((json_t *)frames, key, f) {
            if ((st = parse_frame(f, i, img_w, img_h, &sf[i], lg)) < 0) goto fail;
            i++;
        }
    }
    for (i = 1; i < n; i++) {
        if (sf[i].src_w != sf[0].src_w || sf[i].src_h != sf[0].src_h) {
            pfi_error(lg, "spritesheet JSON: frame %d is %dx%d but frame 0 is %dx%d", i,
                     sf[i].src_w, sf[i].src_h, sf[0].src_w, sf[0].src_h);
            st = PF_EFORMAT;
            goto fail;
        }
    }
    if (lim && lim->max_pixels > 0 && (int64_t)sf[0].src_w * sf[0].src_h > lim->max_pixels) {
        st = PF_ELIMIT;
        goto fail;
    }
    if (!pfi_mul4_size(&canvas_bytes, (size_t)sf[0].src_w, (size_t)sf[0].src_h, 4, 1) ||
        !(canvas = malloc(canvas_bytes))) {
        st = PF_ENOMEM;
        goto fail;
    }
    if ((st = pfi_anim_init(a, sf[0].src_w, sf[0].src_h)) < 0) goto fail;
    px = json_object_get(meta, "pixelfix");
    if (json_is_integer(json_object_get(px, "loop")) &&
        json_integer_value(json_object_get(px, "loop")) >= 0 &&
        json_integer_value(json_object_get(px, "loop")) <= 65535)
        a->loop = (int)json_integer_value(json_object_get(px, "loop"));

    for (i = 0; i < n; i++) {
        const sheet_frame *s = &sf[i];
        decoded += (int64_t)canvas_bytes;
        if (lim && lim->max_decoded_bytes > 0 && decoded > lim->max_decoded_bytes) {
            st = PF_ELIMIT;
            goto fail;
        }
        memset(canvas, 0, canvas_bytes);
        for (int r = 0; r < s->frame[3]; r++)
            memcpy(canvas + ((size_t)(s->dst[1] + r) * (size_t)s->src_w + (size_t)s->dst[0]) * 4,
                   img + ((size_t)(s->frame[1] + r) * (size_t)img_w + (size_t)s->frame[0]) * 4,
                   (size_t)s->frame[2] * 4);
        if ((st = pfi_anim_push(a, canvas, s->duration)) < 0) goto fail;
    }
    st = PF_OK;
    goto done;
fail:
    pfi_anim_free(a);
done:
    free(sf);
    free(canvas);
    free(img);
    json_decref(root);
    return st;
}
