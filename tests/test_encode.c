/* test_encode.c - the encoders of src/io (spritesheet PNG + JSON, GIF, WebP,
 * video, PNG frames, atomic outputs, PNG reading). Every output is decoded
 * back with the libraries directly (libpng's simplified API, giflib,
 * libwebp's WebPAnimDecoder, libavformat/libavcodec), so the checks do not
 * lean on the code under test. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <gif_lib.h>
#include <jansson.h>
#include <png.h>
#include <webp/demux.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "io/io.h"

/* ---- helpers ------------------------------------------------------------ */

/* Log capture: every message, newline-separated. */
typedef struct log_buf { char text[8192]; } log_buf;

static void log_to_buf(void *user, int level, const char *msg)
{
    log_buf *b = user;
    size_t n = strlen(b->text);
    (void)level;
    snprintf(b->text + n, sizeof b->text - n, "%s\n", msg);
}

static pfi_logger capture(log_buf *b)
{
    pfi_logger lg = {log_to_buf, b, PF_LOG_DEBUG};
    b->text[0] = '\0';
    return lg;
}

/* n frames of w x h; pixels drawn from `ncol` random colours; roughly
 * `transp` of them fully transparent; durations 40 + 30 i ms. */
static void make_anim(pfi_anim *a, int w, int h, int n, int ncol, double transp, uint64_t seed)
{
    uint8_t pal[256][3], *buf = malloc((size_t)w * h * 4);
    assert_non_null(buf);
    assert_true(ncol >= 1 && ncol <= 256);
    for (int c = 0; c < ncol; c++)
        for (int k = 0; k < 3; k++) pal[c][k] = (uint8_t)(tu_rand(&seed) >> 56);
    assert_int_equal(pfi_anim_init(a, w, h), PF_OK);
    for (int f = 0; f < n; f++) {
        for (int i = 0; i < w * h; i++) {
            int c = (int)(tu_rand(&seed) % (uint64_t)ncol);
            memcpy(buf + i * 4, pal[c], 3);
            buf[i * 4 + 3] = tu_uniform(&seed) < transp ? 0 : 255;
        }
        assert_int_equal(pfi_anim_push(a, buf, 40 + 30 * f), PF_OK);
    }
    free(buf);
}

/* Independent PNG decode (libpng simplified API) to RGBA8. */
static uint8_t *load_png(const char *path, int *w, int *h)
{
    png_image img;
    uint8_t *buf;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return NULL;
    img.format = PNG_FORMAT_RGBA;
    buf = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(buf);
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return buf;
}

/* Entries of a folder other than . and ..; names joined into `names`. */
static int list_dir(const char *dir, char *names, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    if (names) names[0] = '\0';
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        count++;
        if (names) {
            strncat(names, e->d_name, n - strlen(names) - 1);
            strncat(names, " ", n - strlen(names) - 1);
        }
    }
    closedir(d);
    return count;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int file_equals(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* ---- pfi_out_kind_from_path ------------------------------------------------ */

static void test_kind_from_path(void **state)
{
    char dir[256], sub[300];
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/existing", dir);
    assert_int_equal(mkdir(sub, 0755), 0);

    assert_int_equal(pfi_out_kind_from_path("out/sheet.png"), PF_OUT_SHEET);
    assert_int_equal(pfi_out_kind_from_path("SHEET.PNG"), PF_OUT_SHEET);
    assert_int_equal(pfi_out_kind_from_path("a.gif"), PF_OUT_GIF);
    assert_int_equal(pfi_out_kind_from_path("a.GiF"), PF_OUT_GIF);
    assert_int_equal(pfi_out_kind_from_path("a.webp"), PF_OUT_WEBP);
    assert_int_equal(pfi_out_kind_from_path("a.mp4"), PF_OUT_VIDEO);
    assert_int_equal(pfi_out_kind_from_path("a.MOV"), PF_OUT_VIDEO);
    assert_int_equal(pfi_out_kind_from_path("a.mkv"), PF_OUT_VIDEO);
    assert_int_equal(pfi_out_kind_from_path("a.m4v"), PF_OUT_VIDEO);
    assert_int_equal(pfi_out_kind_from_path("f_%d.png"), PF_OUT_FRAMES);
    assert_int_equal(pfi_out_kind_from_path("f_%04d.png"), PF_OUT_FRAMES);
    assert_int_equal(pfi_out_kind_from_path("f_%s.png"), PF_OUT_FRAMES);   /* refused later */
    assert_int_equal(pfi_out_kind_from_path("frames/"), PF_OUT_FRAMES);
    assert_int_equal(pfi_out_kind_from_path(sub), PF_OUT_FRAMES);
    assert_int_equal(pfi_out_kind_from_path("100%.png"), PF_OUT_SHEET);
    assert_int_equal(pfi_out_kind_from_path("a.txt"), PF_OUT_NONE);
    assert_int_equal(pfi_out_kind_from_path("noext"), PF_OUT_NONE);
    assert_int_equal(pfi_out_kind_from_path(".png"), PF_OUT_NONE);
    assert_int_equal(pfi_out_kind_from_path(""), PF_OUT_NONE);
    assert_int_equal(pfi_out_kind_from_path(NULL), PF_OUT_NONE);
    tu_rmtree(dir);
}

/* ---- atomic output -------------------------------------------------------- */

static void test_outfile(void **state)
{
    char dir[256], path[300], names[1024];
    pfi_outfile of;
    struct stat sb;
    mode_t um;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.bin", dir);

    /* begin: a temp beside the final name; abort removes it, twice is fine */
    assert_int_equal(pfi_outfile_begin(&of, path, 0), PF_OK);
    assert_true(of.fd >= 0);
    assert_true(strncmp(of.tmp_path, path, strlen(path)) == 0);
    assert_non_null(strstr(of.tmp_path, ".tmp-"));
    assert_int_equal(list_dir(dir, NULL, 0), 1);
    pfi_outfile_abort(&of);
    pfi_outfile_abort(&of);
    assert_int_equal(list_dir(dir, NULL, 0), 0);

    /* commit: renamed onto the final name with ordinary permissions */
    assert_int_equal(pfi_outfile_begin(&of, path, 0), PF_OK);
    assert_int_equal(write(of.fd, "new", 3), 3);
    assert_int_equal(pfi_outfile_commit(&of), PF_OK);
    assert_true(file_equals(path, "new"));
    assert_int_equal(list_dir(dir, names, sizeof names), 1);
    um = umask(022);
    umask(um);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0666 & ~um);

    /* exists: refused without force, replaced with force */
    assert_int_equal(pfi_output_check(path, 0), PF_EEXIST);
    assert_int_equal(pfi_output_check(path, 1), PF_OK);
    assert_int_equal(pfi_outfile_begin(&of, path, 0), PF_EEXIST);
    pfi_outfile_abort(&of);   /* harmless after a failed begin */
    assert_int_equal(pfi_outfile_begin(&of, path, 1), PF_OK);
    assert_int_equal(write(of.fd, "newer", 5), 5);
    assert_int_equal(pfi_outfile_commit(&of), PF_OK);
    assert_true(file_equals(path, "newer"));
    assert_int_equal(list_dir(dir, NULL, 0), 1);

    /* a missing folder */
    snprintf(path, sizeof path, "%s/missing/out.bin", dir);
    assert_int_equal(pfi_outfile_begin(&of, path, 0), PF_EOUTPUT);
    assert_int_equal(errno, ENOENT);
    tu_rmtree(dir);
}

/* Two writers of one path without force: the final move never replaces a
 * file that appeared meanwhile (PF_EEXIST, the other's file kept, no temp
 * left); with force it does. A sheet's PNG and JSON stay a pair when
 * either appears meanwhile. */
static void test_outfile_no_replace(void **state)
{
    char dir[256], path[300], json[300], names[1024];
    pfi_outfile a, b;
    pfi_write_opts wo = {0};
    pfi_writer *w;
    pfi_anim an;
    log_buf lb;
    pfi_logger lg;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.bin", dir);

    /* both pass the check; the first to commit wins */
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_OK);
    assert_int_equal(pfi_outfile_begin(&b, path, 0), PF_OK);
    assert_int_equal(write(a.fd, "A", 1), 1);
    assert_int_equal(write(b.fd, "B", 1), 1);
    assert_int_equal(pfi_outfile_commit(&b), PF_OK);
    assert_int_equal(pfi_outfile_commit(&a), PF_EEXIST);
    assert_true(file_equals(path, "B"));
    assert_int_equal(list_dir(dir, names, sizeof names), 1);

    /* a file (even a dangling link) made by someone else meanwhile */
    unlink(path);
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_OK);
    assert_int_equal(symlink("nowhere", path), 0);
    assert_int_equal(pfi_outfile_commit(&a), PF_EEXIST);
    assert_int_equal(list_dir(dir, NULL, 0), 1);
    unlink(path);

    /* force: rename over, as before */
    write_text(path, "old");
    assert_int_equal(pfi_outfile_begin(&a, path, 1), PF_OK);
    assert_int_equal(write(a.fd, "new", 3), 3);
    assert_int_equal(pfi_outfile_commit(&a), PF_OK);
    assert_true(file_equals(path, "new"));
    unlink(path);

    /* sheet: the JSON appears while the clip is held -> no PNG either */
    make_anim(&an, 6, 4, 3, 5, 0.2, 7);
    snprintf(path, sizeof path, "%s/s.png", dir);
    snprintf(json, sizeof json, "%s/s.json", dir);
    for (int which = 0; which < 2; which++) {
        const char *other = which ? path : json, *ours = which ? json : path;
        lg = capture(&lb);
        assert_int_equal(pfi_writer_open(&w, path, 6, 4, 0, &wo, &lg), PF_OK);
        for (int f = 0; f < an.count; f++)
            assert_int_equal(pfi_writer_push(w, an.frames[f].rgba, 40), PF_OK);
        write_text(other, "theirs");
        assert_int_equal(pfi_writer_close(w, 1), PF_EEXIST);
        assert_non_null(strstr(lb.text, other));
        assert_true(file_equals(other, "theirs"));
        assert_false(tu_exists(ours));
        assert_int_equal(list_dir(dir, names, sizeof names), 1);
        unlink(other);
    }
    pfi_anim_free(&an);
    tu_rmtree(dir);
}

/* pf_remove_temp_files (a signal handler's last call) removes every open
 * temp file; the writers' own cleanup after it is harmless. A final name
 * of 254 bytes gets a temp name within NAME_MAX, cut at a UTF-8 boundary. */
static void test_outfile_temp_names(void **state)
{
    char dir[256], path[600], base[300];
    pfi_outfile a, b;
    const char *tb;
    (void)state;
    tu_tmpdir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/one.mp4", dir);
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_OK);
    snprintf(path, sizeof path, "%s/two.gif", dir);
    assert_int_equal(pfi_outfile_begin(&b, path, 0), PF_OK);
    assert_int_equal(list_dir(dir, NULL, 0), 2);
    pf_remove_temp_files();
    assert_int_equal(list_dir(dir, NULL, 0), 0);
    pfi_outfile_abort(&a);
    pfi_outfile_abort(&b);
    pf_remove_temp_files();
    assert_int_equal(list_dir(dir, NULL, 0), 0);

    /* 250 bytes of 'n' + ".gif" */
    memset(base, 'n', 250);
    strcpy(base + 250, ".gif");
    snprintf(path, sizeof path, "%s/%s", dir, base);
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_OK);
    tb = strrchr(a.tmp_path, '/') + 1;
    assert_true(strlen(tb) <= 255);
    assert_non_null(strstr(tb, ".tmp-"));
    assert_int_equal(pfi_outfile_commit(&a), PF_OK);
    assert_true(tu_exists(path));
    assert_int_equal(list_dir(dir, NULL, 0), 1);
    unlink(path);

    /* 126 two-byte characters (252 bytes) + ".gif" = 256 bytes: too long */
    for (int i = 0; i < 126; i++) memcpy(base + 2 * i, "\xc3\xa9", 2);
    strcpy(base + 252, ".gif");
    snprintf(path, sizeof path, "%s/%s", dir, base);
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_EOUTPUT);
    assert_int_equal(errno, ENAMETOOLONG);
    /* "x" + 124 of them + ".gif" = 253 bytes: cut to 244 bytes, the temp
     * name would end inside a character, so it keeps 243 */
    base[0] = 'x';
    for (int i = 0; i < 124; i++) memcpy(base + 1 + 2 * i, "\xc3\xa9", 2);
    strcpy(base + 249, ".gif");
    snprintf(path, sizeof path, "%s/%s", dir, base);
    assert_int_equal(pfi_outfile_begin(&a, path, 0), PF_OK);
    tb = strrchr(a.tmp_path, '/') + 1;
    assert_true(strlen(tb) <= 255);
    assert_int_equal((int)(strstr(tb, ".tmp-") - tb), 243);
    assert_int_equal(pfi_outfile_commit(&a), PF_OK);
    assert_true(tu_exists(path));
    tu_rmtree(dir);
}

/* Every writer: an existing output is refused (and left as it was) without
 * force, replaced with force, and a missing folder gives PF_EOUTPUT with a
 * message naming the path and the system error. */
static void test_exists_and_force(void **state)
{
    static const char *names[] = {"o.gif", "o.webp", "o.png", "o.mp4"};
    char dir[256], path[300], json[300], listing[1024];
    pfi_write_opts wo = {0};
    pfi_anim a;
    log_buf lb;
    pfi_logger lg = capture(&lb);
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_anim(&a, 6, 4, 3, 5, 0.2, 11);

    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        write_text(path, "old");
        wo.force = 0;
        lg = capture(&lb);
        assert_int_equal(pfi_write_anim(path, &a, &wo, &lg), PF_EEXIST);
        assert_true(file_equals(path, "old"));
        assert_non_null(strstr(lb.text, path));
        assert_non_null(strstr(lb.text, "--force"));
        assert_int_equal(list_dir(dir, listing, sizeof listing), 1);
        wo.force = 1;
        assert_int_equal(pfi_write_anim(path, &a, &wo, &lg), PF_OK);
        assert_false(file_equals(path, "old"));
        assert_true(file_size(path) > 3);
        /* the sheet brings its JSON */
        assert_int_equal(list_dir(dir, listing, sizeof listing), k == 2 ? 2 : 1);
        tu_rmtree(dir);
        assert_int_equal(mkdir(dir, 0700), 0);
    }

    /* sheet: an existing JSON alone blocks the pair, and nothing is made */
    snprintf(path, sizeof path, "%s/s.png", dir);
    snprintf(json, sizeof json, "%s/s.json", dir);
    write_text(json, "{}");
    wo.force = 0;
    lg = capture(&lb);
    assert_int_equal(pfi_write_sheet(path, &a, &wo, &lg), PF_EEXIST);
    assert_non_null(strstr(lb.text, json));
    assert_false(tu_exists(path));
    assert_true(file_equals(json, "{}"));
    assert_int_equal(list_dir(dir, NULL, 0), 1);

    /* a folder that does not exist */
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/nowhere/%s", dir, names[k]);
        lg = capture(&lb);
        assert_int_equal(pfi_write_anim(path, &a, &wo, &lg), PF_EOUTPUT);
        assert_non_null(strstr(lb.text, path));
        assert_non_null(strstr(lb.text, strerror(ENOENT)));
    }
    assert_int_equal(list_dir(dir, NULL, 0), 1);

    /* a read-only folder (root writes anyway, so only as another user) */
    if (geteuid() != 0) {
        char ro[280];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(path, sizeof path, "%s/x.gif", ro);
        lg = capture(&lb);
        assert_int_equal(pfi_write_gif(path, &a, &wo, &lg), PF_EOUTPUT);
        assert_non_null(strstr(lb.text, strerror(EACCES)));
        assert_int_equal(list_dir(ro, NULL, 0), 0);
        chmod(ro, 0755);
    }
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* A write failing half-way (file size limit, EFBIG) leaves nothing behind. */
static void test_failed_write_leaves_nothing(void **state)
{
    static const char *names[] = {"o.gif", "o.webp", "o.png", "o.mp4", "frames/"};
    char dir[256], path[300], listing[1024];
    pfi_write_opts wo = {0};
    struct rlimit old, lim;
    pfi_anim a;
    pf_status st;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    /* noise: none of these compresses below the limit */
    make_anim(&a, 64, 64, 6, 200, 0.0, 12);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);

    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        lim = old;
        lim.rlim_cur = 2000;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        st = pfi_write_anim(path, &a, &wo, NULL);   /* nothing printed while limited */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_int_equal(st, PF_EOUTPUT);
        /* (the frames folder the writer made is removed again too) */
        assert_int_equal(list_dir(dir, listing, sizeof listing), 0);
    }
    signal(SIGXFSZ, SIG_DFL);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* ---- spritesheet ------------------------------------------------------------ */

static const json_t *jget(const json_t *o, const char *path)
{
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    return json_object_get(o, path);
}

static int jint(const json_t *o, const char *path)
{
    const json_t *v = jget(o, path);
    assert_true(json_is_integer(v));
    return (int)json_integer_value(v);
}

static void test_sheet_layout_and_json(void **state)
{
    char dir[256], png[300], json[300], name[64];
    const uint8_t pal[3][3] = {{1, 2, 3}, {250, 128, 0}, {9, 9, 9}};
    const uint8_t bg[3] = {10, 20, 30};
    pfi_sheet_meta meta = {0};
    pfi_write_opts wo = {0};
    pfi_anim a, b;
    json_t *root;
    json_error_t jerr;
    uint8_t *img;
    int W, H, w = 5, h = 3, n = 5;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(png, sizeof png, "%s/sheet.png", dir);
    snprintf(json, sizeof json, "%s/sheet.json", dir);
    make_anim(&a, w, h, n, 40, 0.3, 21);
    a.loop = 3;
    meta.cell_w = 4.25;
    meta.cell_h = 4.5;
    meta.offset_x = 1.125;
    meta.offset_y = 0.5;
    meta.confidence = 0.875;
    meta.in_width = 40;
    meta.in_height = 30;
    meta.native_w = w;
    meta.native_h = h;
    meta.palette_size = 3;
    meta.palette = pal;
    meta.has_bg = 1;
    memcpy(meta.bg_rgb, bg, 3);
    meta.source = "clip.gif";
    wo.columns = 2;
    wo.padding = 1;
    wo.meta = &meta;
    assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_OK);

    /* PNG: 2 columns x 3 rows, 1 pixel between frames, no border */
    img = load_png(png, &W, &H);
    assert_non_null(img);
    assert_int_equal(W, 2 * w + 1);
    assert_int_equal(H, 3 * h + 2);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int col = x / (w + 1), row = y / (h + 1), fx = x % (w + 1), fy = y % (h + 1);
            int f = row * 2 + col;
            const uint8_t *p = img + ((size_t)y * W + x) * 4;
            if (fx < w && fy < h && f < n) {
                const uint8_t *q = a.frames[f].rgba + ((size_t)fy * w + fx) * 4;
                assert_memory_equal(p, q, 4);
            } else {
                /* padding and the unused cell are transparent */
                assert_int_equal(p[3], 0);
            }
        }
    }
    free(img);

    /* JSON: Aseprite array format, plus what was detected */
    root = json_load_file(json, 0, &jerr);
    assert_non_null(root);
    assert_true(json_is_array(jget(root, "frames")));
    assert_int_equal(json_array_size(jget(root, "frames")), n);
    for (int f = 0; f < n; f++) {
        const json_t *fr = json_array_get(jget(root, "frames"), (size_t)f);
        snprintf(name, sizeof name, "%d", f);   /* the default {frame}: what Phaser looks up */
        assert_string_equal(json_string_value(jget(fr, "filename")), name);
        assert_string_equal(json_string_value(json_array_get(jget(root, "animations.clip"), (size_t)f)), name);
        assert_int_equal(jint(fr, "frame.x"), (f % 2) * (w + 1));
        assert_int_equal(jint(fr, "frame.y"), (f / 2) * (h + 1));
        assert_int_equal(jint(fr, "frame.w"), w);
        assert_int_equal(jint(fr, "frame.h"), h);
        assert_true(json_is_false(jget(fr, "rotated")));
        assert_true(json_is_false(jget(fr, "trimmed")));
        assert_int_equal(jint(fr, "spriteSourceSize.x"), 0);
        assert_int_equal(jint(fr, "spriteSourceSize.w"), w);
        assert_int_equal(jint(fr, "sourceSize.w"), w);
        assert_int_equal(jint(fr, "sourceSize.h"), h);
        assert_int_equal(jint(fr, "duration"), a.frames[f].duration_ms);
    }
    assert_string_equal(json_string_value(jget(root, "meta.app")), "pixelfix");
    assert_string_equal(json_string_value(jget(root, "meta.version")), PF_VERSION_STRING);
    assert_string_equal(json_string_value(jget(root, "meta.image")), "sheet.png");
    assert_string_equal(json_string_value(jget(root, "meta.format")), "RGBA8888");
    assert_string_equal(json_string_value(jget(root, "meta.scale")), "1");
    assert_int_equal(jint(root, "meta.size.w"), W);
    assert_int_equal(jint(root, "meta.size.h"), H);
    /* one tag over the clip, named after the input (Aseprite's fields) */
    assert_int_equal(json_array_size(jget(root, "meta.frameTags")), 1);
    const json_t *tg = json_array_get(jget(root, "meta.frameTags"), 0);
    assert_string_equal(json_string_value(jget(tg, "name")), "clip");
    assert_int_equal(jint(tg, "from"), 0);
    assert_int_equal(jint(tg, "to"), n - 1);
    assert_string_equal(json_string_value(jget(tg, "direction")), "forward");
    assert_int_equal(json_array_size(jget(root, "animations.clip")), n);
    assert_true(json_is_array(jget(root, "meta.layers")));
    assert_true(json_is_array(jget(root, "meta.slices")));
    assert_true(json_real_value(jget(root, "meta.pixelfix.grid.cell_w")) == 4.25);
    assert_true(json_real_value(jget(root, "meta.pixelfix.grid.offset_x")) == 1.125);
    assert_true(json_real_value(jget(root, "meta.pixelfix.grid.confidence")) == 0.875);
    assert_int_equal(jint(root, "meta.pixelfix.input.w"), 40);
    assert_string_equal(json_string_value(jget(root, "meta.pixelfix.input.source")), "clip.gif");
    assert_int_equal(jint(root, "meta.pixelfix.native.h"), h);
    assert_int_equal(json_array_size(jget(root, "meta.pixelfix.palette")), 3);
    assert_string_equal(json_string_value(json_array_get(jget(root, "meta.pixelfix.palette"), 1)),
                        "#fa8000");
    assert_string_equal(json_string_value(jget(root, "meta.pixelfix.background")), "#0a141e");
    json_decref(root);

    /* read back: the same frames, durations and loop */
    assert_int_equal(pfi_read_sheet(&b, json, NULL, NULL), PF_OK);
    assert_int_equal(b.count, n);
    assert_int_equal(b.width, w);
    assert_int_equal(b.height, h);
    assert_int_equal(b.loop, 3);
    for (int f = 0; f < n; f++) {
        assert_memory_equal(b.frames[f].rgba, a.frames[f].rgba, (size_t)w * h * 4);
        assert_int_equal(b.frames[f].duration_ms, a.frames[f].duration_ms);
    }
    pfi_anim_free(&b);

    /* json-hash, a named tag and Aseprite's placeholders; reads back the same */
    wo.hash = 1;
    wo.tag = "run";
    wo.filename_format = "{title}-{tag} {frame}.{extension}";
    wo.force = 1;
    assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_OK);
    root = json_load_file(json, 0, &jerr);
    assert_non_null(root);
    assert_true(json_is_object(jget(root, "frames")));
    assert_int_equal(json_object_size(jget(root, "frames")), n);
    for (int f = 0; f < n; f++) {
        snprintf(name, sizeof name, "sheet-run %d.png", f);
        const json_t *fr = json_object_get(jget(root, "frames"), name);
        assert_non_null(fr);
        assert_null(json_object_get(fr, "filename"));
        assert_int_equal(jint(fr, "frame.x"), (f % 2) * (w + 1));
        assert_string_equal(json_string_value(json_array_get(jget(root, "animations.run"), (size_t)f)), name);
    }
    assert_string_equal(json_string_value(jget(json_array_get(jget(root, "meta.frameTags"), 0), "name")), "run");
    json_decref(root);
    assert_int_equal(pfi_read_sheet(&b, json, NULL, NULL), PF_OK);
    assert_int_equal(b.count, n);
    for (int f = 0; f < n; f++) assert_memory_equal(b.frames[f].rgba, a.frames[f].rgba, (size_t)w * h * 4);
    pfi_anim_free(&b);
    /* a format without {frame} would repeat names: refused */
    wo.filename_format = "{tag}.png";
    assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_EINVAL);
    char nm[32];
    assert_int_equal(pfi_sheet_frame_name(nm, sizeof nm, "{frame}", "t", 12, "x"), 2);
    assert_string_equal(nm, "12");
    assert_int_equal(pfi_sheet_frame_name(nm, 4, "{tag}{frame}", "t", 12, "long"), -1);   /* too small */
    wo.hash = 0;
    wo.tag = NULL;
    wo.filename_format = NULL;

    /* no meta: background null-free JSON still parses, loop still recorded */
    wo.meta = NULL;
    wo.force = 1;
    assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_OK);
    root = json_load_file(json, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(jint(root, "meta.pixelfix.loop"), 3);
    json_decref(root);
    assert_int_equal(list_dir(dir, NULL, 0), 2);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

static void test_sheet_default_columns(void **state)
{
    static const int counts[] = {1, 2, 4, 5, 9, 10, 17};
    char dir[256], png[300];
    pfi_write_opts wo = {0};
    pfi_anim a;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        int n = counts[k], cols = 1, W, H;
        uint8_t *img;
        while (cols * cols < n) cols++;   /* ceil(sqrt(n)) */
        make_anim(&a, 3, 2, n, 4, 0.0, 30 + k);
        snprintf(png, sizeof png, "%s/s%d.png", dir, n);
        wo.padding = 2;
        assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_OK);
        img = load_png(png, &W, &H);
        assert_non_null(img);
        assert_int_equal(W, cols * 3 + (cols - 1) * 2);
        assert_int_equal(H, ((n + cols - 1) / cols) * 2 + ((n + cols - 1) / cols - 1) * 2);
        free(img);
        pfi_anim_free(&a);
    }
    /* empty animation */
    memset(&a, 0, sizeof a);
    snprintf(png, sizeof png, "%s/empty.png", dir);
    assert_int_equal(pfi_write_sheet(png, &a, &wo, NULL), PF_EINVAL);
    assert_false(tu_exists(png));
    tu_rmtree(dir);
}

/* Hash layout, trimmed frames, and rejected rectangles. */
static void test_sheet_read_hash_and_errors(void **state)
{
    char dir[256], png[300], json[300], doc[2048];
    uint8_t img[10 * 4 * 4];
    pfi_anim b;
    log_buf lb;
    pfi_logger lg = capture(&lb);
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(png, sizeof png, "%s/atlas.png", dir);
    snprintf(json, sizeof json, "%s/atlas.json", dir);
    for (int i = 0; i < 40; i++) {
        img[i * 4] = (uint8_t)i;
        img[i * 4 + 1] = (uint8_t)(100 + i);
        img[i * 4 + 2] = 7;
        img[i * 4 + 3] = 255;
    }
    assert_int_equal(pfi_png_write(png, img, 10, 4, 0), PF_OK);

    /* "b" placed at (1,1) of a 6x5 canvas; "a" untrimmed 6x4 at (4,0) */
    write_text(json, "{\"frames\": {"
               " \"b\": {\"frame\": {\"x\":0,\"y\":0,\"w\":4,\"h\":4}, \"rotated\": false,"
               "  \"trimmed\": true, \"spriteSourceSize\": {\"x\":1,\"y\":1,\"w\":4,\"h\":4},"
               "  \"sourceSize\": {\"w\":6,\"h\":5}, \"duration\": 50},"
               " \"a\": {\"frame\": {\"x\":4,\"y\":0,\"w\":6,\"h\":4},"
               "  \"sourceSize\": {\"w\":6,\"h\":5}, \"duration\": 70}},"
               " \"meta\": {\"image\": \"atlas.png\", \"size\": {\"w\":10,\"h\":4}}}");
    assert_int_equal(pfi_read_sheet(&b, json, NULL, &lg), PF_OK);
    assert_int_equal(b.count, 2);
    assert_int_equal(b.width, 6);
    assert_int_equal(b.height, 5);
    assert_int_equal(b.frames[0].duration_ms, 50);
    assert_int_equal(b.frames[1].duration_ms, 70);
    for (int y = 0; y < 5; y++) {
        for (int x = 0; x < 6; x++) {
            const uint8_t *p = b.frames[0].rgba + (y * 6 + x) * 4;
            const uint8_t *q = b.frames[1].rgba + (y * 6 + x) * 4;
            if (x >= 1 && x < 5 && y >= 1 && y < 5)
                assert_memory_equal(p, img + ((y - 1) * 10 + (x - 1)) * 4, 4);
            else
                assert_int_equal(p[3], 0);
            if (y < 4) assert_memory_equal(q, img + (y * 10 + 4 + x) * 4, 4);
            else assert_int_equal(q[3], 0);
        }
    }
    pfi_anim_free(&b);

    /* each of these is refused with PF_EFORMAT */
    static const char *bad[] = {
        "{\"x\":0,\"y\":0,\"w\":11,\"h\":4}, \"duration\": 10",   /* past the right edge */
        "{\"x\":0,\"y\":1,\"w\":4,\"h\":4}, \"duration\": 10",    /* past the bottom */
        "{\"x\":-1,\"y\":0,\"w\":4,\"h\":4}, \"duration\": 10",   /* negative */
        "{\"x\":0,\"y\":0,\"w\":0,\"h\":4}, \"duration\": 10",    /* empty */
        "{\"x\":0,\"y\":0,\"w\":4,\"h\":4}, \"duration\": 0",     /* zero duration */
        "{\"x\":0,\"y\":0,\"w\":4,\"h\":4}, \"rotated\": true",
        "{\"x\":0,\"y\":0,\"w\":4,\"h\":4}, \"sourceSize\": {\"w\":3,\"h\":4}",
        "{\"x\":0,\"y\":0,\"w\":\"4\",\"h\":4}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(doc, sizeof doc, "{\"frames\": [{\"frame\": %s}], \"meta\": {\"image\": "
                 "\"atlas.png\"}}", bad[k]);
        write_text(json, doc);
        assert_int_equal(pfi_read_sheet(&b, json, NULL, &lg), PF_EFORMAT);
        assert_int_equal(b.count, 0);
    }
    write_text(json, "{\"frames\": [ not json");
    assert_int_equal(pfi_read_sheet(&b, json, NULL, &lg), PF_EFORMAT);
    write_text(json, "{\"frames\": [], \"meta\": {\"image\": \"atlas.png\"}}");
    assert_true(pfi_read_sheet(&b, json, NULL, &lg) < 0);
    write_text(json, "{\"frames\": [{\"frame\": {\"x\":0,\"y\":0,\"w\":4,\"h\":4}}],"
               " \"meta\": {\"image\": \"missing.png\"}}");
    assert_int_equal(pfi_read_sheet(&b, json, NULL, &lg), PF_EIO);
    snprintf(json, sizeof json, "%s/none.json", dir);
    assert_int_equal(pfi_read_sheet(&b, json, NULL, &lg), PF_EIO);
    tu_rmtree(dir);
}

/* ---- GIF ------------------------------------------------------------------ */

static void test_gif_exact(void **state)
{
    char dir[256], path[300];
    pfi_write_opts wo = {0};
    pfi_anim a, r;
    GifFileType *g;
    GraphicsControlBlock gcb;
    int err, found_loop = 0, loop = -1;
    static const int durations[] = {100, 15, 5, 1234};
    static const int expect_cs[] = {10, 2, 2, 123};
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.gif", dir);

    make_anim(&a, 7, 5, 4, 20, 0.25, 41);
    for (int f = 0; f < 4; f++) a.frames[f].duration_ms = durations[f];
    /* alpha 100 counts as transparent, 200 as opaque */
    a.frames[1].rgba[3] = 100;
    a.frames[1].rgba[7] = 200;
    a.loop = 0;
    assert_int_equal(pfi_write_gif(path, &a, &wo, NULL), PF_OK);

    g = DGifOpenFileName(path, &err);
    assert_non_null(g);
    assert_int_equal(DGifSlurp(g), GIF_OK);
    assert_int_equal(g->SWidth, 7);
    assert_int_equal(g->SHeight, 5);
    assert_int_equal(g->ImageCount, 4);
    assert_non_null(g->SColorMap);
    for (int f = 0; f < 4; f++) {
        const SavedImage *im = &g->SavedImages[f];
        assert_int_equal(im->ImageDesc.Left, 0);
        assert_int_equal(im->ImageDesc.Top, 0);
        assert_int_equal(im->ImageDesc.Width, 7);
        assert_int_equal(im->ImageDesc.Height, 5);
        assert_int_equal(DGifSavedExtensionToGCB(g, f, &gcb), GIF_OK);
        assert_int_equal(gcb.DelayTime, expect_cs[f]);
        assert_int_equal(gcb.DisposalMode, DISPOSE_BACKGROUND);
        assert_true(gcb.TransparentColor >= 0);
        for (int i = 0; i < 35; i++) {
            const uint8_t *p = a.frames[f].rgba + i * 4;
            int idx = im->RasterBits[i];
            if (p[3] < 128) {
                assert_int_equal(idx, gcb.TransparentColor);
            } else {
                const GifColorType *c;
                assert_int_not_equal(idx, gcb.TransparentColor);
                assert_true(idx < g->SColorMap->ColorCount);
                c = &g->SColorMap->Colors[idx];
                assert_int_equal(c->Red, p[0]);
                assert_int_equal(c->Green, p[1]);
                assert_int_equal(c->Blue, p[2]);
            }
        }
        for (int e = 0; e + 1 < im->ExtensionBlockCount; e++) {
            const ExtensionBlock *x = &im->ExtensionBlocks[e];
            if (x->Function == APPLICATION_EXT_FUNC_CODE && x->ByteCount == 11 &&
                !memcmp(x->Bytes, "NETSCAPE2.0", 11)) {
                const ExtensionBlock *d = &im->ExtensionBlocks[e + 1];
                assert_true(d->ByteCount >= 3);
                assert_int_equal(d->Bytes[0], 1);
                loop = d->Bytes[1] | d->Bytes[2] << 8;
                found_loop++;
            }
        }
    }
    assert_int_equal(found_loop, 1);
    assert_int_equal(loop, 0);
    /* 20 colours (+ transparent) -> a 32-entry table */
    assert_int_equal(g->SColorMap->ColorCount, 32);
    DGifCloseFile(g, &err);

    /* the project's reader sees the same frames */
    assert_int_equal(pfi_read_anim(&r, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(r.count, 4);
    for (int f = 0; f < 4; f++) {
        assert_int_equal(r.frames[f].duration_ms, expect_cs[f] * 10);
        for (int i = 0; i < 35; i++) {
            const uint8_t *p = a.frames[f].rgba + i * 4, *q = r.frames[f].rgba + i * 4;
            if (p[3] < 128) {
                assert_int_equal(q[3], 0);
            } else {
                assert_memory_equal(q, p, 3);
                assert_int_equal(q[3], 255);
            }
        }
    }
    pfi_anim_free(&r);

    /* loop count 5 is stored as given */
    a.loop = 5;
    wo.force = 1;
    assert_int_equal(pfi_write_gif(path, &a, &wo, NULL), PF_OK);
    g = DGifOpenFileName(path, &err);
    assert_non_null(g);
    assert_int_equal(DGifSlurp(g), GIF_OK);
    loop = -1;
    for (int e = 0; e + 1 < g->SavedImages[0].ExtensionBlockCount; e++) {
        const ExtensionBlock *x = &g->SavedImages[0].ExtensionBlocks[e];
        if (x->Function == APPLICATION_EXT_FUNC_CODE && x->ByteCount == 11)
            loop = x[1].Bytes[1] | x[1].Bytes[2] << 8;
    }
    assert_int_equal(loop, 5);
    DGifCloseFile(g, &err);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

static void test_gif_colour_limit(void **state)
{
    char dir[256], path[300];
    pfi_write_opts wo = {0};
    pfi_anim a;
    uint8_t buf[16 * 16 * 4];
    log_buf lb;
    pfi_logger lg = capture(&lb);
    GifFileType *g;
    int err;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.gif", dir);

    /* 256 distinct opaque colours: refused, nothing written */
    for (int i = 0; i < 256; i++) {
        buf[i * 4] = (uint8_t)i;
        buf[i * 4 + 1] = (uint8_t)(255 - i);
        buf[i * 4 + 2] = 3;
        buf[i * 4 + 3] = 255;
    }
    assert_int_equal(pfi_anim_init(&a, 16, 16), PF_OK);
    assert_int_equal(pfi_anim_push(&a, buf, 100), PF_OK);
    assert_int_equal(pfi_write_gif(path, &a, &wo, &lg), PF_EINVAL);
    assert_non_null(strstr(lb.text, "255"));
    assert_int_equal(list_dir(dir, NULL, 0), 0);
    pfi_anim_free(&a);

    /* 255 opaque colours spread over two frames plus transparency: exactly fits */
    buf[255 * 4 + 3] = 0;
    assert_int_equal(pfi_anim_init(&a, 16, 16), PF_OK);
    assert_int_equal(pfi_anim_push(&a, buf, 100), PF_OK);
    buf[3] = 0;                        /* colour 0 only in frame 0 */
    assert_int_equal(pfi_anim_push(&a, buf, 100), PF_OK);
    assert_int_equal(pfi_write_gif(path, &a, &wo, &lg), PF_OK);
    g = DGifOpenFileName(path, &err);
    assert_non_null(g);
    assert_int_equal(DGifSlurp(g), GIF_OK);
    assert_int_equal(g->SColorMap->ColorCount, 256);
    for (int i = 0; i < 255; i++) {
        const GifColorType *c = &g->SColorMap->Colors[g->SavedImages[0].RasterBits[i]];
        assert_int_equal(c->Red, i);
        assert_int_equal(c->Green, 255 - i);
    }
    DGifCloseFile(g, &err);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* ---- WebP ----------------------------------------------------------------- */

static void test_webp_lossless(void **state)
{
    char dir[256], path[300];
    pfi_write_opts wo = {0};
    pfi_anim a;
    WebPData data;
    WebPAnimDecoderOptions dopt;
    WebPAnimDecoder *dec;
    WebPAnimInfo info;
    int64_t end = 0;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.webp", dir);
    make_anim(&a, 13, 9, 4, 256, 0.1, 51);
    a.loop = 7;
    assert_int_equal(pfi_write_webp(path, &a, &wo, NULL), PF_OK);

    data.bytes = tu_read_file(path, &data.size);
    assert_true(WebPAnimDecoderOptionsInit(&dopt));
    dopt.color_mode = MODE_RGBA;
    dec = WebPAnimDecoderNew(&data, &dopt);
    assert_non_null(dec);
    assert_true(WebPAnimDecoderGetInfo(dec, &info));
    assert_int_equal(info.canvas_width, 13);
    assert_int_equal(info.canvas_height, 9);
    assert_int_equal(info.frame_count, 4);
    assert_int_equal(info.loop_count, 7);
    for (int fr = 0; fr < 4; fr++) {
        uint8_t *buf;
        int ts;
        assert_true(WebPAnimDecoderGetNext(dec, &buf, &ts));
        end += a.frames[fr].duration_ms;
        assert_int_equal(ts, end);   /* WebPAnimDecoder gives end times */
        for (int i = 0; i < 13 * 9; i++) {
            const uint8_t *p = a.frames[fr].rgba + i * 4;
            if (p[3] == 255) assert_memory_equal(buf + i * 4, p, 4);
            else assert_int_equal(buf[i * 4 + 3], 0);
        }
    }
    assert_false(WebPAnimDecoderHasMoreFrames(dec));
    WebPAnimDecoderDelete(dec);
    free((void *)data.bytes);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* Held frames stay frames: identical consecutive frames are not merged (the
 * contract is one output frame per input frame), checked both in the
 * container (WebPDemux: ANMF count, durations) and through pfi_read_anim. */
static void test_webp_held_frames(void **state)
{
    /* which of 3 distinct frames each output frame shows */
    static const int seq_a[] = {0, 0, 1, 1, 1, 2, 0, 0};
    static const int seq_b[] = {2, 2, 2};
    static const int seq_c[] = {1};   /* one frame: may come out as a still */
    static const struct { const int *seq; int n; } cases[] = {
        {seq_a, 8}, {seq_b, 3}, {seq_c, 1}};
    char dir[256], path[300];
    pfi_write_opts wo = {0};
    pfi_anim src, a, back;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_anim(&src, 11, 7, 3, 6, 0.2, 61);

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *seq = cases[k].seq, n = cases[k].n;
        WebPData data;
        WebPDemuxer *dmx;
        WebPIterator it;

        assert_int_equal(pfi_anim_init(&a, 11, 7), PF_OK);
        for (int i = 0; i < n; i++)   /* > 10 ms each: readers keep them as they are */
            assert_int_equal(pfi_anim_push(&a, src.frames[seq[i]].rgba, 20 + 10 * i), PF_OK);
        a.loop = (int)k;   /* 0 = forever first */
        snprintf(path, sizeof path, "%s/held%d.webp", dir, (int)k);
        wo.force = 0;
        assert_int_equal(pfi_write_webp(path, &a, &wo, NULL), PF_OK);

        /* the container: one ANMF per input frame with its own duration */
        data.bytes = tu_read_file(path, &data.size);
        dmx = WebPDemux(&data);
        assert_non_null(dmx);
        assert_int_equal(WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT), n);
        if (n > 1) {
            assert_int_equal(WebPDemuxGetI(dmx, WEBP_FF_LOOP_COUNT), a.loop);
            assert_true(WebPDemuxGetFrame(dmx, 1, &it));
            for (int i = 0; i < n; i++) {
                assert_int_equal(it.frame_num, i + 1);
                assert_int_equal(it.duration, a.frames[i].duration_ms);
                assert_int_equal(it.width, 11);
                assert_int_equal(it.height, 7);
                assert_int_equal(it.has_alpha, 1);
                assert_int_equal(WebPDemuxNextFrame(&it), i + 1 < n);
            }
            WebPDemuxReleaseIterator(&it);
        }
        WebPDemuxDelete(dmx);
        free((void *)data.bytes);

        /* the project's reader: same count, durations, pixels, loop */
        assert_int_equal(pfi_read_anim(&back, path, NULL, 0, NULL), PF_OK);
        assert_int_equal(back.width, 11);
        assert_int_equal(back.height, 7);
        assert_int_equal(back.count, n);
        if (n > 1) assert_int_equal(back.loop, a.loop);
        for (int i = 0; i < n; i++) {
            if (n > 1) assert_int_equal(back.frames[i].duration_ms, a.frames[i].duration_ms);
            for (int p = 0; p < 11 * 7; p++) {
                const uint8_t *q = a.frames[i].rgba + p * 4;
                if (q[3] == 255) assert_memory_equal(back.frames[i].rgba + p * 4, q, 4);
                else assert_int_equal(back.frames[i].rgba[p * 4 + 3], 0);
            }
        }
        pfi_anim_free(&back);
        pfi_anim_free(&a);
    }
    pfi_anim_free(&src);
    tu_rmtree(dir);
}

/* ---- video ---------------------------------------------------------------- */

typedef struct probe {
    int w, h, frames;
    int64_t pts_ms[16];
    uint8_t centre[16][3];   /* decoded RGB at the centre of each frame */
    char format[64];
} probe;

static void probe_video(const char *path, probe *p)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *cc;
    const AVCodec *codec;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    AVStream *st;
    int si;

    memset(p, 0, sizeof *p);
    assert_int_equal(avformat_open_input(&fc, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fc, NULL) >= 0);
    snprintf(p->format, sizeof p->format, "%s", fc->iformat->name);
    si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    assert_true(si >= 0);
    st = fc->streams[si];
    assert_int_equal(st->codecpar->codec_id, AV_CODEC_ID_H264);
    assert_int_equal(st->codecpar->format, AV_PIX_FMT_YUV420P);
    p->w = st->codecpar->width;
    p->h = st->codecpar->height;
    cc = avcodec_alloc_context3(codec);
    assert_non_null(cc);
    assert_int_equal(avcodec_parameters_to_context(cc, st->codecpar), 0);
    assert_int_equal(avcodec_open2(cc, codec, NULL), 0);
    for (;;) {
        int eof = av_read_frame(fc, pkt) < 0;
        if (!eof && pkt->stream_index != si) {
            av_packet_unref(pkt);
            continue;
        }
        assert_int_equal(avcodec_send_packet(cc, eof ? NULL : pkt), 0);
        av_packet_unref(pkt);
        while (avcodec_receive_frame(cc, fr) == 0) {
            uint8_t rgb[3];
            uint8_t *dst[1] = {rgb};
            int stride[1] = {3};
            struct SwsContext *sws;
            const uint8_t *src[4];
            int cx = fr->width / 2, cy = fr->height / 2 & ~1;
            /* convert the 2x2 block at the centre */
            int ls[4] = {fr->linesize[0], fr->linesize[1], fr->linesize[2], 0};
            src[0] = fr->data[0] + (size_t)cy * fr->linesize[0] + (cx & ~1);
            src[1] = fr->data[1] + (size_t)(cy / 2) * fr->linesize[1] + cx / 2;
            src[2] = fr->data[2] + (size_t)(cy / 2) * fr->linesize[2] + cx / 2;
            src[3] = NULL;
            sws = sws_getContext(2, 2, fr->format, 1, 1, AV_PIX_FMT_RGB24, SWS_POINT,
                                 NULL, NULL, NULL);
            assert_non_null(sws);
            sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_ITU709), 0,
                                     sws_getCoefficients(SWS_CS_ITU709), 1, 0, 1 << 16, 1 << 16);
            sws_scale(sws, src, ls, 0, 2, dst, stride);
            sws_freeContext(sws);
            assert_true(p->frames < 16);
            memcpy(p->centre[p->frames], rgb, 3);
            p->pts_ms[p->frames] = av_rescale_q(fr->best_effort_timestamp, st->time_base,
                                                (AVRational){1, 1000});
            p->frames++;
        }
        if (eof) break;
    }
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    avformat_close_input(&fc);
}

static void test_video(void **state)
{
    char dir[256], path[300];
    const uint8_t green[3] = {0, 200, 0};
    pfi_write_opts wo = {0};
    pfi_anim a;
    uint8_t buf[4 * 3 * 4];
    probe p;
    static const uint8_t colours[3][4] = {{220, 30, 30, 255}, {0, 0, 0, 0}, {0, 0, 255, 128}};
    static const int durations[3] = {100, 250, 50};
    (void)state;
    tu_tmpdir(dir, sizeof dir);

    /* 4x3 frames, solid colours; auto upscale -> 86x (height >= 256) */
    assert_int_equal(pfi_anim_init(&a, 4, 3), PF_OK);
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < 12; i++) memcpy(buf + i * 4, colours[f], 4);
        assert_int_equal(pfi_anim_push(&a, buf, durations[f]), PF_OK);
    }
    snprintf(path, sizeof path, "%s/v.mp4", dir);
    wo.bg_rgb = green;
    assert_int_equal(pfi_write_video(path, &a, &wo, NULL), PF_OK);
    probe_video(path, &p);
    assert_non_null(strstr(p.format, "mp4"));
    assert_int_equal(p.w, 4 * 86);
    assert_int_equal(p.h, 3 * 86);
    assert_int_equal(p.frames, 3);
    assert_int_equal(p.pts_ms[0], 0);
    assert_int_equal(p.pts_ms[1], 100);
    assert_int_equal(p.pts_ms[2], 350);
    /* opaque red, then the background, then blue at alpha 128 over green */
    for (int k = 0; k < 3; k++) {
        int expect = colours[0][k];
        assert_true(abs(p.centre[0][k] - expect) <= 12);
        assert_true(abs(p.centre[1][k] - green[k]) <= 12);
        expect = (colours[2][k] * 128 + green[k] * 127 + 127) / 255;
        assert_true(abs(p.centre[2][k] - expect) <= 12);
    }

    /* explicit upscale with odd sizes: 5x5 * 3 = 15 -> padded to 16; mkv */
    pfi_anim_free(&a);
    make_anim(&a, 5, 5, 3, 8, 0.0, 61);
    wo.upscale = 3;
    wo.bg_rgb = NULL;
    snprintf(path, sizeof path, "%s/v.mkv", dir);
    assert_int_equal(pfi_write_video(path, &a, &wo, NULL), PF_OK);
    probe_video(path, &p);
    assert_non_null(strstr(p.format, "matroska"));
    assert_int_equal(p.w, 16);
    assert_int_equal(p.h, 16);
    assert_int_equal(p.frames, 3);
    assert_int_equal(list_dir(dir, NULL, 0), 2);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* ---- PNG frames ----------------------------------------------------------- */

static void check_png_frame(const char *path, const pfi_anim *a, int f)
{
    int w, h;
    uint8_t *img = load_png(path, &w, &h);
    assert_non_null(img);
    assert_int_equal(w, a->width);
    assert_int_equal(h, a->height);
    assert_memory_equal(img, a->frames[f].rgba, (size_t)w * h * 4);
    free(img);
}

static void test_frames(void **state)
{
    char dir[256], path[300], name[400];
    pfi_write_opts wo = {0};
    pfi_anim a;
    log_buf lb;
    pfi_logger lg = capture(&lb);
    static const char *bad[] = {"%s.png", "f%d%d.png", "%n.png", "%ld.png", "a%", "%-3d.png",
                                "%*d.png", "%.3d.png", "%x.png", "%1$d.png", "%99d.png"};
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_anim(&a, 6, 5, 3, 30, 0.3, 71);

    /* a folder, created when missing */
    snprintf(path, sizeof path, "%s/frames/", dir);
    assert_int_equal(pfi_write_frames(path, &a, &wo, &lg), PF_OK);
    for (int f = 0; f < 3; f++) {
        snprintf(name, sizeof name, "%s/frames/frame_%04d.png", dir, f);
        check_png_frame(name, &a, f);
    }
    snprintf(name, sizeof name, "%s/frames", dir);
    assert_int_equal(list_dir(name, NULL, 0), 3);
    /* again: refused (nothing touched), then forced */
    assert_int_equal(pfi_write_frames(path, &a, &wo, &lg), PF_EEXIST);
    assert_non_null(strstr(lb.text, "frame_0000.png"));
    wo.force = 1;
    assert_int_equal(pfi_write_anim(name, &a, &wo, &lg), PF_OK);   /* existing folder */
    assert_int_equal(list_dir(name, NULL, 0), 3);
    wo.force = 0;

    /* a pattern, zero padded, with a literal percent sign */
    snprintf(path, sizeof path, "%s/p_%%%%_%%03d.png", dir);   /* "p_%%_%03d.png" */
    assert_int_equal(pfi_out_kind_from_path(path), PF_OUT_FRAMES);
    assert_int_equal(pfi_write_anim(path, &a, &wo, &lg), PF_OK);
    for (int f = 0; f < 3; f++) {
        snprintf(name, sizeof name, "%s/p_%%_%03d.png", dir, f);
        check_png_frame(name, &a, f);
    }
    snprintf(path, sizeof path, "%s/q%%d.png", dir);
    assert_int_equal(pfi_write_frames(path, &a, &wo, &lg), PF_OK);
    snprintf(name, sizeof name, "%s/q2.png", dir);
    check_png_frame(name, &a, 2);
    /* one of the files exists: nothing written */
    snprintf(path, sizeof path, "%s/r%%d.png", dir);
    snprintf(name, sizeof name, "%s/r1.png", dir);
    write_text(name, "old");
    assert_int_equal(pfi_write_frames(path, &a, &wo, &lg), PF_EEXIST);
    assert_true(file_equals(name, "old"));
    snprintf(name, sizeof name, "%s/r0.png", dir);
    assert_false(tu_exists(name));

    /* bad patterns: refused before anything is written */
    int before = list_dir(dir, NULL, 0);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, bad[k]);
        assert_int_equal(pfi_write_frames(path, &a, &wo, &lg), PF_EINVAL);
    }
    assert_int_equal(list_dir(dir, NULL, 0), before);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* ---- streaming writer ------------------------------------------------------ */

/* Whether the file holds the bytes of `needle` (x264's option string is
 * stored in an SEI of the first frame). */
static int file_contains(const char *path, const char *needle)
{
    size_t n, k = strlen(needle);
    uint8_t *d = tu_read_file(path, &n);
    int found = 0;
    for (size_t i = 0; !found && i + k <= n; i++) found = memcmp(d + i, needle, k) == 0;
    free(d);
    return found;
}

/* A clip of flat 2x2-pixel blocks (so chroma subsampling has no edge to
 * blur after the upscale), opaque, with varied durations 40..80 ms. */
static void make_block_anim(pfi_anim *a, int w, int h, int n, uint64_t seed)
{
    uint8_t *buf = malloc((size_t)w * h * 4);
    assert_non_null(buf);
    assert_int_equal(pfi_anim_init(a, w, h), PF_OK);
    for (int f = 0; f < n; f++) {
        for (int by = 0; by < h; by += 2)
            for (int bx = 0; bx < w; bx += 2) {
                uint8_t c[4] = {(uint8_t)(tu_rand(&seed) >> 56), (uint8_t)(tu_rand(&seed) >> 56),
                                (uint8_t)(tu_rand(&seed) >> 56), 255};
                for (int y = by; y < by + 2 && y < h; y++)
                    for (int x = bx; x < bx + 2 && x < w; x++) memcpy(buf + (y * w + x) * 4, c, 4);
            }
        assert_int_equal(pfi_anim_push(a, buf, 40 + 10 * (f % 5)), PF_OK);
    }
    free(buf);
}

/* Decoded video frame `f` (native pixels upscaled by s) against the source:
 * the mean absolute error over the centres of the native pixels, 0..255. */
static double video_error(const pfi_anim *back, const pfi_anim *src, int f, int s)
{
    double sum = 0;
    for (int y = 0; y < src->height; y++)
        for (int x = 0; x < src->width; x++) {
            const uint8_t *q = src->frames[f].rgba + (y * src->width + x) * 4;
            const uint8_t *p = back->frames[f].rgba +
                               ((size_t)(y * s + s / 2) * back->width + (size_t)(x * s + s / 2)) * 4;
            for (int k = 0; k < 3; k++) sum += abs(p[k] - q[k]);
        }
    return sum / (3.0 * src->width * src->height);
}

/* The streaming video writer gives the whole-anim writer's frames, pts and
 * colours; with threads = 1 libx264 runs single-threaded, with 0 on its own
 * default. Both decode back through pfi_reader (threaded and not). */
static void test_stream_video(void **state)
{
    char dir[256], whole[300], streamed[300], one[300];
    pfi_write_opts wo = {0};
    pfi_writer *w;
    pfi_anim a, bw, bs, b1;
    const int n = 30, s = 8;   /* 128x96: tall enough for libx264 to use several threads */
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_block_anim(&a, 16, 12, n, 81);
    snprintf(whole, sizeof whole, "%s/whole.mp4", dir);
    snprintf(streamed, sizeof streamed, "%s/stream.mp4", dir);
    snprintf(one, sizeof one, "%s/one.mkv", dir);
    wo.upscale = s;

    assert_int_equal(pfi_write_video(whole, &a, &wo, NULL), PF_OK);
    assert_int_equal(pfi_writer_open(&w, streamed, 16, 12, 0, &wo, NULL), PF_OK);
    for (int f = 0; f < n; f++) {
        assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms), PF_OK);
        assert_false(tu_exists(streamed));   /* renamed into place only at commit */
    }
    assert_int_equal(pfi_writer_push(w, a.frames[0].rgba, 0), PF_EINVAL);   /* not sticky */
    assert_int_equal(pfi_writer_push(w, NULL, 40), PF_EINVAL);
    assert_int_equal(pfi_writer_close(w, 1), PF_OK);

    wo.threads = 1;
    assert_int_equal(pfi_writer_open(&w, one, 16, 12, 0, &wo, NULL), PF_OK);
    for (int f = 0; f < n; f++)
        assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms), PF_OK);
    assert_int_equal(pfi_writer_close(w, 1), PF_OK);
    assert_int_equal(list_dir(dir, NULL, 0), 3);   /* no temp file left */
    /* x264 records its options: the thread count was applied */
    assert_true(file_contains(one, " threads=1 "));
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) assert_false(file_contains(streamed, " threads=1 "));

    assert_int_equal(pfi_read_anim(&bw, whole, NULL, 0, NULL), PF_OK);
    assert_int_equal(pfi_read_anim(&bs, streamed, NULL, 1, NULL), PF_OK);
    assert_int_equal(pfi_read_anim(&b1, one, NULL, 2, NULL), PF_OK);
    assert_int_equal(bw.count, n);
    assert_int_equal(bs.count, n);
    assert_int_equal(b1.count, n);
    assert_int_equal(bs.width, 16 * s);
    assert_int_equal(bs.height, 12 * s);
    for (int f = 0; f < n; f++) {
        double ew = video_error(&bw, &a, f, s), es = video_error(&bs, &a, f, s);
        assert_int_equal(bw.frames[f].pts_ms, a.frames[f].pts_ms);
        assert_int_equal(bs.frames[f].pts_ms, a.frames[f].pts_ms);
        assert_int_equal(b1.frames[f].pts_ms, a.frames[f].pts_ms);
        assert_int_equal(bs.frames[f].duration_ms, a.frames[f].duration_ms);
        assert_int_equal(bw.frames[f].duration_ms, a.frames[f].duration_ms);
        assert_int_equal(b1.frames[f].duration_ms, a.frames[f].duration_ms);
        /* crf 18 on flat blocks: a few levels off at most, on average */
        assert_true(ew < 6.0);
        assert_true(es < 6.0);
        assert_true(video_error(&b1, &a, f, s) < 6.0);
        assert_true(fabs(ew - es) < 3.0);
    }
    /* H.264 decoding is exact whatever the decoder's thread count */
    pfi_anim_free(&bw);
    assert_int_equal(pfi_read_anim(&bw, streamed, NULL, 0, NULL), PF_OK);
    assert_int_equal(bw.count, n);
    for (int f = 0; f < n; f++)
        assert_memory_equal(bw.frames[f].rgba, bs.frames[f].rgba, (size_t)bs.width * bs.height * 4);
    {
        pfi_reader *r = NULL;
        assert_int_equal(pfi_reader_open(&r, streamed, NULL, -1, NULL), PF_EINVAL);
        assert_null(r);
    }
    pfi_anim_free(&bw);
    pfi_anim_free(&bs);
    pfi_anim_free(&b1);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* PNG frames: each push writes its file at once, identical to the input. */
static void test_stream_frames(void **state)
{
    char dir[256], path[300], name[400];
    pfi_write_opts wo = {0};
    pfi_writer *w;
    pfi_anim a;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_anim(&a, 7, 5, 4, 50, 0.3, 91);

    snprintf(path, sizeof path, "%s/out/", dir);
    assert_int_equal(pfi_writer_open(&w, path, 7, 5, 0, &wo, NULL), PF_OK);
    for (int f = 0; f < 4; f++) {
        assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms), PF_OK);
        snprintf(name, sizeof name, "%s/out/frame_%04d.png", dir, f);
        check_png_frame(name, &a, f);   /* before the next push or the close */
        snprintf(name, sizeof name, "%s/out", dir);
        assert_int_equal(list_dir(name, NULL, 0), f + 1);
    }
    assert_int_equal(pfi_writer_close(w, 1), PF_OK);
    assert_int_equal(list_dir(name, NULL, 0), 4);

    /* a pattern */
    snprintf(path, sizeof path, "%s/f%%02d.png", dir);
    assert_int_equal(pfi_writer_open(&w, path, 7, 5, 0, &wo, NULL), PF_OK);
    for (int f = 0; f < 4; f++)
        assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms), PF_OK);
    assert_int_equal(pfi_writer_close(w, 1), PF_OK);
    for (int f = 0; f < 4; f++) {
        snprintf(name, sizeof name, "%s/f%02d.png", dir, f);
        check_png_frame(name, &a, f);
    }
    /* a frame file that appears later: refused at that push, the stream
     * stops (sticky) and the failed commit removes what it wrote */
    snprintf(path, sizeof path, "%s/g%%d.png", dir);
    snprintf(name, sizeof name, "%s/g2.png", dir);
    write_text(name, "old");
    assert_int_equal(pfi_writer_open(&w, path, 7, 5, 0, &wo, NULL), PF_OK);
    assert_int_equal(pfi_writer_push(w, a.frames[0].rgba, 40), PF_OK);
    assert_int_equal(pfi_writer_push(w, a.frames[1].rgba, 40), PF_OK);
    assert_int_equal(pfi_writer_push(w, a.frames[2].rgba, 40), PF_EEXIST);
    assert_int_equal(pfi_writer_push(w, a.frames[3].rgba, 40), PF_EEXIST);
    assert_int_equal(pfi_writer_close(w, 1), PF_EEXIST);
    assert_true(file_equals(name, "old"));
    snprintf(name, sizeof name, "%s/g0.png", dir);
    assert_false(tu_exists(name));
    snprintf(name, sizeof name, "%s/g1.png", dir);
    assert_false(tu_exists(name));
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* close(commit = 0) leaves nothing behind, whatever the kind. */
static void test_stream_discard(void **state)
{
    static const char *names[] = {"d.mp4", "d.mkv", "frames/", "f%03d.png", "d.png", "d.gif",
                                  "d.webp"};
    char dir[256], path[300], listing[1024];
    pfi_write_opts wo = {0};
    pfi_writer *w;
    pfi_anim a;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    make_anim(&a, 6, 4, 5, 8, 0.2, 101);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        for (int pushes = 0; pushes <= 5; pushes += 5) {
            assert_int_equal(pfi_writer_open(&w, path, 6, 4, 0, &wo, NULL), PF_OK);
            for (int f = 0; f < pushes; f++)
                assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms),
                                 PF_OK);
            assert_int_equal(pfi_writer_close(w, 0), PF_OK);
            assert_int_equal(list_dir(dir, listing, sizeof listing), 0);
        }
        /* committing nothing is refused, and leaves nothing either */
        assert_int_equal(pfi_writer_open(&w, path, 6, 4, 0, &wo, NULL), PF_OK);
        assert_int_equal(pfi_writer_close(w, 1), PF_EINVAL);
        assert_int_equal(list_dir(dir, listing, sizeof listing), 0);
    }
    /* discarding over an existing folder keeps it and its other files */
    snprintf(path, sizeof path, "%s/keep", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(listing, sizeof listing, "%s/keep/other.txt", dir);
    write_text(listing, "x");
    assert_int_equal(pfi_writer_open(&w, path, 6, 4, 0, &wo, NULL), PF_OK);
    assert_int_equal(pfi_writer_push(w, a.frames[0].rgba, 40), PF_OK);
    assert_int_equal(list_dir(path, NULL, 0), 2);
    assert_int_equal(pfi_writer_close(w, 0), PF_OK);
    assert_int_equal(list_dir(path, NULL, 0), 1);
    assert_true(file_equals(listing, "x"));
    assert_int_equal(pfi_writer_close(NULL, 1), PF_OK);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* Held kinds: the streaming writer's sheet (+ JSON), GIF and WebP are byte
 * for byte those of the whole-anim writers; meta is read at close. */
static void test_stream_held_equal(void **state)
{
    static const char *names[] = {"s.png", "s.json", "s.gif", "s.webp"};
    char dir[256], d1[300], d2[300], p1[400], p2[400];
    const uint8_t pal[2][3] = {{1, 2, 3}, {200, 100, 0}};
    pfi_sheet_meta meta = {0};
    pfi_write_opts wo = {0};
    pfi_writer *w;
    pfi_anim a;
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(d1, sizeof d1, "%s/whole", dir);
    snprintf(d2, sizeof d2, "%s/stream", dir);
    assert_int_equal(mkdir(d1, 0700), 0);
    assert_int_equal(mkdir(d2, 0700), 0);
    make_anim(&a, 9, 6, 7, 20, 0.25, 111);
    a.loop = 2;
    wo.columns = 3;
    wo.padding = 2;
    wo.meta = &meta;
    meta.cell_w = 3.5;
    meta.palette_size = 2;
    meta.palette = pal;
    meta.source = "in.webp";

    snprintf(p1, sizeof p1, "%s/s.png", d1);
    assert_int_equal(pfi_write_sheet(p1, &a, &wo, NULL), PF_OK);
    snprintf(p1, sizeof p1, "%s/s.gif", d1);
    assert_int_equal(pfi_write_gif(p1, &a, &wo, NULL), PF_OK);
    snprintf(p1, sizeof p1, "%s/s.webp", d1);
    assert_int_equal(pfi_write_webp(p1, &a, &wo, NULL), PF_OK);

    for (int k = 0; k < 3; k++) {
        static const char *ext[] = {"png", "gif", "webp"};
        snprintf(p2, sizeof p2, "%s/s.%s", d2, ext[k]);
        memset(&meta, 0, sizeof meta);   /* filled in only before the close */
        assert_int_equal(pfi_writer_open(&w, p2, 9, 6, 2, &wo, NULL), PF_OK);
        for (int f = 0; f < a.count; f++)
            assert_int_equal(pfi_writer_push(w, a.frames[f].rgba, a.frames[f].duration_ms),
                             PF_OK);
        meta.cell_w = 3.5;
        meta.palette_size = 2;
        meta.palette = pal;
        meta.source = "in.webp";
        assert_false(tu_exists(p2));
        assert_int_equal(pfi_writer_close(w, 1), PF_OK);
    }
    for (int k = 0; k < 4; k++) {
        size_t n1, n2;
        uint8_t *b1, *b2;
        snprintf(p1, sizeof p1, "%s/%s", d1, names[k]);
        snprintf(p2, sizeof p2, "%s/%s", d2, names[k]);
        b1 = tu_read_file(p1, &n1);
        b2 = tu_read_file(p2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
    }
    assert_int_equal(list_dir(d2, NULL, 0), 4);
    pfi_anim_free(&a);
    tu_rmtree(dir);
}

/* Refusals at open, before any work: unknown kind, bad size, an existing
 * target of every kind (the sheet's JSON included), a missing folder. */
static void test_stream_open_errors(void **state)
{
    static const char *names[] = {"e.mp4", "e.png", "e.json", "e.gif", "e.webp",
                                  "fr/frame_0000.png", "p7.png"};
    static const char *targets[] = {"e.mp4", "e.png", "e.png", "e.gif", "e.webp", "fr/", "p%d.png"};
    char dir[256], path[300], target[300];
    pfi_write_opts wo = {0};
    pfi_writer *w = NULL;
    log_buf lb;
    pfi_logger lg = capture(&lb);
    (void)state;
    tu_tmpdir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/x.txt", dir);
    assert_int_equal(pfi_writer_open(&w, path, 4, 4, 0, &wo, &lg), PF_EINVAL);
    assert_non_null(strstr(lb.text, "output kind"));
    assert_null(w);
    snprintf(path, sizeof path, "%s/x.gif", dir);
    assert_int_equal(pfi_writer_open(&w, path, 0, 4, 0, &wo, NULL), PF_EINVAL);
    assert_int_equal(pfi_writer_open(&w, path, 4, 4, -1, &wo, NULL), PF_EINVAL);
    snprintf(path, sizeof path, "%s/x.mp4", dir);
    wo.threads = -1;
    assert_int_equal(pfi_writer_open(&w, path, 4, 4, 0, &wo, NULL), PF_EINVAL);
    wo.threads = 0;
    snprintf(path, sizeof path, "%s/%%s.png", dir);
    assert_int_equal(pfi_writer_open(&w, path, 4, 4, 0, &wo, NULL), PF_EINVAL);
    assert_int_equal(list_dir(dir, NULL, 0), 0);

    snprintf(path, sizeof path, "%s/fr", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    for (int k = 0; k < 7; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        snprintf(target, sizeof target, "%s/%s", dir, targets[k]);
        write_text(path, "old");
        lg = capture(&lb);
        wo.force = 0;
        assert_int_equal(pfi_writer_open(&w, target, 4, 4, 0, &wo, &lg), k == 6 ? PF_OK : PF_EEXIST);
        if (k == 6) {
            /* the pattern checks frame 0 only at open; frame 7 at its push */
            for (int f = 0; f < 7; f++) {
                uint8_t px[64] = {0};
                assert_int_equal(pfi_writer_push(w, px, 10), PF_OK);
            }
            assert_int_equal(pfi_writer_close(w, 0), PF_OK);
        } else {
            assert_non_null(strstr(lb.text, path));
            assert_non_null(strstr(lb.text, "--force"));
            wo.force = 1;
            assert_int_equal(pfi_writer_open(&w, target, 4, 4, 0, &wo, &lg), PF_OK);
            assert_int_equal(pfi_writer_close(w, 0), PF_OK);
        }
        assert_true(file_equals(path, "old"));
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/fr", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(list_dir(dir, NULL, 0), 0);

    for (int k = 0; k < 7; k++) {
        if (k == 2) continue;
        snprintf(target, sizeof target, "%s/nowhere/%s", dir, targets[k]);
        lg = capture(&lb);
        assert_int_equal(pfi_writer_open(&w, target, 4, 4, 0, &wo, &lg), PF_EOUTPUT);
        assert_non_null(strstr(lb.text, strerror(ENOENT)));
    }
    assert_int_equal(list_dir(dir, NULL, 0), 0);
    tu_rmtree(dir);
}

/* ---- PNG reading ---------------------------------------------------------- */

/* A PNG of any colour type written with libpng's low-level API. */
static void write_png_raw(const char *path, int w, int h, int depth, int ctype, int interlace,
                          const uint8_t *data, size_t stride, const png_color *pal, int npal,
                          const uint8_t *trans, int ntrans, const png_color_16 *key)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(f);
    assert_false(setjmp(png_jmpbuf(png)));
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trans || key) png_set_tRNS(png, info, trans, ntrans, key);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png);   /* our samples are little-endian */
    {
        int passes = png_set_interlace_handling(png);
        for (int p = 0; p < passes; p++)
            for (int y = 0; y < h; y++) png_write_row(png, data + (size_t)y * stride);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_png_read(void **state)
{
    char dir[256], path[300];
    uint8_t *out;
    int w, h;
    pf_limits lim = {0};
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.png", dir);

    /* palette + tRNS (shorter than the palette) */
    {
        const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
        const uint8_t trans[3] = {255, 0, 128};
        const uint8_t idx[2][2] = {{0, 1}, {2, 3}};
        const uint8_t expect[16] = {255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128,
                                    255, 255, 255, 255};
        write_png_raw(path, 2, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &idx[0][0], 2,
                      pal, 4, trans, 3, NULL);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_int_equal(w, 2);
        assert_int_equal(h, 2);
        assert_memory_equal(out, expect, 16);
        free(out);
    }
    /* 1-bit gray */
    {
        const uint8_t row[1] = {0xA0};   /* 1 0 1 0 */
        const uint8_t expect[16] = {255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255,
                                    0, 0, 0, 255};
        write_png_raw(path, 4, 1, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, row, 1,
                      NULL, 0, NULL, 0, NULL);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_int_equal(w, 4);
        assert_memory_equal(out, expect, 16);
        free(out);
    }
    /* 8-bit gray + alpha */
    {
        const uint8_t row[4] = {77, 10, 200, 255};
        const uint8_t expect[8] = {77, 77, 77, 10, 200, 200, 200, 255};
        write_png_raw(path, 2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, row, 4,
                      NULL, 0, NULL, 0, NULL);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_memory_equal(out, expect, 8);
        free(out);
    }
    /* RGB with a tRNS colour key */
    {
        const uint8_t row[6] = {1, 2, 3, 9, 8, 7};
        const png_color_16 key = {0, 9, 8, 7, 0};
        const uint8_t expect[8] = {1, 2, 3, 255, 9, 8, 7, 0};
        write_png_raw(path, 2, 1, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, row, 6,
                      NULL, 0, NULL, 0, &key);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_memory_equal(out, expect, 8);
        free(out);
    }
    /* 16-bit RGBA, interlaced (Adam7): v * 257 reads back as v */
    {
        uint16_t px16[9 * 7 * 4];
        uint8_t expect[9 * 7 * 4];
        uint64_t s = 5;
        for (int i = 0; i < 9 * 7 * 4; i++) {
            expect[i] = (uint8_t)(tu_rand(&s) >> 56);
            px16[i] = (uint16_t)(expect[i] * 257);
        }
        write_png_raw(path, 9, 7, 16, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7,
                      (const uint8_t *)px16, 9 * 8, NULL, 0, NULL, 0, NULL);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_int_equal(w, 9);
        assert_int_equal(h, 7);
        assert_memory_equal(out, expect, sizeof expect);
        free(out);

        /* limits are checked before the pixels are allocated */
        lim.max_pixels = 62;
        assert_int_equal(pfi_png_read(path, &out, &w, &h, &lim), PF_ELIMIT);
        assert_null(out);
        lim.max_pixels = 63;
        assert_int_equal(pfi_png_read(path, &out, &w, &h, &lim), PF_OK);
        free(out);
    }
    /* our writer round-trips */
    {
        uint8_t px[3 * 2 * 4];
        uint64_t s = 9;
        for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(tu_rand(&s) >> 56);
        snprintf(path, sizeof path, "%s/w.png", dir);
        assert_int_equal(pfi_png_write(path, px, 3, 2, 0), PF_OK);
        assert_int_equal(pfi_png_write(path, px, 3, 2, 0), PF_EEXIST);
        assert_int_equal(pfi_png_read(path, &out, &w, &h, NULL), PF_OK);
        assert_memory_equal(out, px, sizeof px);
        free(out);
    }
    /* broken inputs */
    {
        FILE *f;
        char cut[300];
        uint8_t head[60];
        size_t n;
        snprintf(path, sizeof path, "%s/w.png", dir);
        f = fopen(path, "rb");
        n = fread(head, 1, sizeof head, f);
        fclose(f);
        snprintf(cut, sizeof cut, "%s/cut.png", dir);
        f = fopen(cut, "wb");
        fwrite(head, 1, n / 2 + 10, f);   /* signature + part of the chunks */
        fclose(f);
        assert_int_equal(pfi_png_read(cut, &out, &w, &h, NULL), PF_EFORMAT);
        assert_null(out);
        write_text(cut, "GIF89a not a png");
        assert_int_equal(pfi_png_read(cut, &out, &w, &h, NULL), PF_EFORMAT);
        snprintf(cut, sizeof cut, "%s/none.png", dir);
        assert_int_equal(pfi_png_read(cut, &out, &w, &h, NULL), PF_EIO);
    }
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_from_path),
        cmocka_unit_test(test_outfile),
        cmocka_unit_test(test_outfile_no_replace),
        cmocka_unit_test(test_outfile_temp_names),
        cmocka_unit_test(test_exists_and_force),
        cmocka_unit_test(test_failed_write_leaves_nothing),
        cmocka_unit_test(test_sheet_layout_and_json),
        cmocka_unit_test(test_sheet_default_columns),
        cmocka_unit_test(test_sheet_read_hash_and_errors),
        cmocka_unit_test(test_gif_exact),
        cmocka_unit_test(test_gif_colour_limit),
        cmocka_unit_test(test_webp_lossless),
        cmocka_unit_test(test_webp_held_frames),
        cmocka_unit_test(test_video),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_stream_video),
        cmocka_unit_test(test_stream_frames),
        cmocka_unit_test(test_stream_discard),
        cmocka_unit_test(test_stream_held_equal),
        cmocka_unit_test(test_stream_open_errors),
        cmocka_unit_test(test_png_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
