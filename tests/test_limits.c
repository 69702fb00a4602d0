/*
 * test_limits.c - hostile headers fail fast and small: the pixelfix CLI
 * (PIXELFIX, default ./pixelfix) runs as a child on files whose headers
 * declare a huge canvas or billions of frames, and on inputs over the
 * --max-* limits. Each run must exit with the documented code, name the
 * flag that raises the limit where one applies, leave no output, and peak
 * under 100 MiB of resident memory (the child's ru_maxrss from wait4, so
 * memory is measured, not time).
 */
#include "testutil.h"

#include <gif_lib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define RSS_CAP_KIB (100 * 1024)

static char g_dir[256];

/* ---- byte builders ------------------------------------------------------ */

typedef struct buf { uint8_t d[4096]; size_t n; } buf;

static void put(buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void put8(buf *b, unsigned v) { uint8_t c = (uint8_t)v; put(b, &c, 1); }
static void put16le(buf *b, unsigned v) { put8(b, v & 255); put8(b, (v >> 8) & 255); }
static void put24le(buf *b, unsigned v) { put16le(b, v & 0xffff); put8(b, (v >> 16) & 255); }
static void put32le(buf *b, uint32_t v) { put16le(b, v & 0xffff); put16le(b, v >> 16); }
static void put32be(buf *b, uint32_t v)
{
    put8(b, v >> 24); put8(b, (v >> 16) & 255); put8(b, (v >> 8) & 255); put8(b, v & 255);
}

/* CRC-32 of PNG chunks (ISO 3309, as the PNG spec section 5.5 gives it). */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

/* One PNG chunk: length, type, data, CRC over type + data. */
static void png_chunk(buf *b, const char *type, const uint8_t *data, size_t n)
{
    size_t at;
    put32be(b, (uint32_t)n);
    at = b->n;
    put(b, type, 4);
    if (n) put(b, data, n);
    put32be(b, crc32_png(b->d + at, n + 4));
}

/* A PNG (APNG when num_frames > 0) of a declared w x h. Its image data is
 * complete when w x h is small, else one scanline: enough for the headers
 * to parse. */
static void make_png(buf *b, uint32_t w, uint32_t h, uint32_t num_frames)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    buf c = {0}, z = {0};
    uint32_t rows = (uint64_t)w * h <= 64 ? h : 1, a = 1, s2 = 0;
    size_t raw = (size_t)rows * (1 + 4 * (size_t)(w <= 64 ? w : 1));

    put(b, sig, sizeof sig);
    put32be(&c, w); put32be(&c, h);
    put8(&c, 8); put8(&c, 6); put8(&c, 0); put8(&c, 0); put8(&c, 0);   /* RGBA8 */
    png_chunk(b, "IHDR", c.d, c.n);
    if (num_frames) {
        c.n = 0;
        put32be(&c, num_frames); put32be(&c, 0);
        png_chunk(b, "acTL", c.d, c.n);
        c.n = 0;
        put32be(&c, 0); put32be(&c, w); put32be(&c, h); put32be(&c, 0); put32be(&c, 0);
        put16le(&c, 1 << 8); put16le(&c, 10 << 8);   /* delay 1/10 s, big-endian */
        put8(&c, 0); put8(&c, 0);
        png_chunk(b, "fcTL", c.d, c.n);
    }
    /* zlib (RFC 1950/1951): one stored block of the scanlines (filter byte
     * 0, then RGBA), then their Adler-32. */
    put8(&z, 0x78); put8(&z, 0x01); put8(&z, 0x01);
    put16le(&z, (unsigned)raw); put16le(&z, (unsigned)~raw & 0xffff);
    for (size_t i = 0; i < raw; i++) {
        uint8_t v = (uint8_t)(i % (1 + 4 * (w <= 64 ? w : 1)) == 0 ? 0 : i * 7);
        put8(&z, v);
        a = (a + v) % 65521;
        s2 = (s2 + a) % 65521;
    }
    put32be(&z, s2 << 16 | a);
    png_chunk(b, "IDAT", z.d, z.n);
    png_chunk(b, "IEND", NULL, 0);
}

/* A GIF89a logical screen of w x h with one 1x1 image in it. */
static void make_gif(buf *b, unsigned w, unsigned h)
{
    static const uint8_t pal[6] = {0, 0, 0, 255, 255, 255};
    static const uint8_t img[] = {0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0,    /* descriptor */
                                  0x02, 0x02, 0x44, 0x01, 0x00};      /* LZW: 0 */
    put(b, "GIF89a", 6);
    put16le(b, w); put16le(b, h);
    put8(b, 0x80); put8(b, 0); put8(b, 0);
    put(b, pal, sizeof pal);
    put(b, img, sizeof img);
    put8(b, 0x3b);
}

/* An animated WebP (VP8X + ANIM, RFC 9649 section 2.7) declaring a canvas
 * of w x h, each at most 2^24. */
static void make_webp(buf *b, uint32_t w, uint32_t h)
{
    put(b, "RIFF", 4); put32le(b, 0); put(b, "WEBP", 4);
    put(b, "VP8X", 4); put32le(b, 10);
    put8(b, 0x02); put24le(b, 0);          /* animation flag */
    put24le(b, w - 1); put24le(b, h - 1);
    put(b, "ANIM", 4); put32le(b, 6);
    put32le(b, 0); put16le(b, 0);          /* background, loop forever */
    b->d[4] = (uint8_t)((b->n - 8) & 255);
    b->d[5] = (uint8_t)((b->n - 8) >> 8);
}

/* A w x h GIF of `frames` 1x1 frames, 10 ms each. */
static void make_long_gif(const char *path, unsigned w, unsigned h, int frames)
{
    static const uint8_t pal[6] = {0, 0, 0, 255, 255, 255};
    FILE *fp = fopen(path, "wb");
    buf b = {0};

    assert_non_null(fp);
    put(&b, "GIF89a", 6);
    put16le(&b, w); put16le(&b, h);
    put8(&b, 0x80); put8(&b, 0); put8(&b, 0);
    put(&b, pal, sizeof pal);
    assert_int_equal(fwrite(b.d, 1, b.n, fp), b.n);
    for (int i = 0; i < frames; i++) {
        const uint8_t fr[] = {0x21, 0xf9, 0x04, 0x04, 0x01, 0x00, 0x00, 0x00,
                              0x2c, (uint8_t)(i & 1), 0, 0, 0, 1, 0, 1, 0, 0,
                              0x02, 0x02, 0x44, 0x01, 0x00};
        assert_int_equal(fwrite(fr, 1, sizeof fr, fp), sizeof fr);
    }
    assert_int_equal(fputc(0x3b, fp), 0x3b);
    assert_int_equal(fclose(fp), 0);
}

/* ---- running the CLI ------------------------------------------------------ */

static void write_buf(const char *path, const buf *b)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b->d, 1, b->n, fp), b->n);
    assert_int_equal(fclose(fp), 0);
}

/* Runs the CLI with argv (NULL-terminated, without argv[0]), stderr to
 * dir/stderr; returns the exit code and *rss_kib the child's peak RSS. */
static int run_cli(char *const *args, long *rss_kib)
{
    const char *bin = getenv("PIXELFIX");
    char *argv[32], err[300];
    struct rusage ru;
    int status = 0, n = 0;
    pid_t pid;

    bin = bin ? bin : "./pixelfix";
    argv[n++] = (char *)bin;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(err, sizeof err, "%s/stderr", g_dir);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(err, "w", stderr)) _exit(126);
        execv(bin, argv);
        _exit(127);
    }
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status));
    *rss_kib = ru.ru_maxrss;
    return WEXITSTATUS(status);
}

/* stderr of the last run contains s. */
static int stderr_has(const char *s)
{
    char path[300], text[4096];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/stderr", g_dir);
    fp = fopen(path, "r");
    if (!fp) return 0;
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = 0;
    return strstr(text, s) != NULL;
}

/* Runs `pixelfix in -o dir/out.png --no-model` (plus extra), expects exit
 * code `code`, stderr naming `flag` (NULL: no check), an output file only
 * when code is 0, and a peak RSS under cap_kib. */
static void expect_run_cap(const char *in, const char *extra1, const char *extra2, int code,
                           const char *flag, long cap_kib)
{
    char out[300];
    char *args[8];
    long rss = 0;
    int n = 0, rc;

    snprintf(out, sizeof out, "%s/out.png", g_dir);
    args[n++] = (char *)in;
    args[n++] = "-o";
    args[n++] = out;
    args[n++] = "--no-model";
    if (extra1) args[n++] = (char *)extra1;
    if (extra2) args[n++] = (char *)extra2;
    args[n] = NULL;
    rc = run_cli(args, &rss);
    fprintf(stderr, "  %s: exit %d, peak RSS %ld KiB\n", strrchr(in, '/') + 1, rc, rss);
    if (rc != code) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "cat '%s/stderr' >&2", g_dir);
        if (system(cmd) != 0) fprintf(stderr, "  (no stderr)\n");
    }
    assert_int_equal(rc, code);
    if (flag) assert_true(stderr_has(flag));
    assert_int_equal(tu_exists(out), code == 0);
    if (code == 0) {
        char json[300];
        snprintf(json, sizeof json, "%s/out.json", g_dir);
        remove(out);
        remove(json);
    }
    assert_true(rss > 0);
    assert_true(rss < cap_kib);
}

static void expect_run(const char *in, const char *extra1, const char *extra2, int code,
                       const char *flag)
{
    expect_run_cap(in, extra1, extra2, code, flag, RSS_CAP_KIB);
}

static void path_in(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", g_dir, name);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_huge_gif_canvas(void **state)
{
    char p[300];
    buf b = {0};
    (void)state;
    make_gif(&b, 65535, 65535);
    path_in(p, sizeof p, "huge.gif");
    write_buf(p, &b);
    expect_run(p, NULL, NULL, 7, "--max-pixels");
}

/* 16383 x 16383 is within libwebp's own area limit, so ours refuses it;
 * 2^24 x 2^24 is refused by libwebp's header parser as corrupt. */
static void test_huge_webp_canvas(void **state)
{
    char p[300];
    buf b = {0}, b2 = {0};
    (void)state;
    make_webp(&b, 16383, 16383);
    path_in(p, sizeof p, "huge.webp");
    write_buf(p, &b);
    expect_run(p, NULL, NULL, 7, "--max-pixels");
    make_webp(&b2, 1u << 24, 1u << 24);
    path_in(p, sizeof p, "huger.webp");
    write_buf(p, &b2);
    expect_run(p, NULL, NULL, 3, NULL);
}

/* 16000 x 16000 passes libavcodec's own size check (av_image_check_size)
 * and is stopped by ours before any canvas-sized buffer. */
static void test_huge_png_canvas(void **state)
{
    char p[300];
    buf b = {0};
    (void)state;
    make_png(&b, 16000, 16000, 0);
    path_in(p, sizeof p, "huge.png");
    write_buf(p, &b);
    expect_run(p, NULL, NULL, 7, "--max-pixels");
}

/* An APNG declaring 2^32 - 1 frames holds one: nothing may be sized from
 * the declared count. At 1x1 it is refused as too small (exit 3); at 4x4
 * with --scale 1 it restores its one frame. */
static void test_apng_billions_of_frames(void **state)
{
    char p[300];
    buf b = {0};
    (void)state;
    make_png(&b, 1, 1, 0xffffffffu);
    path_in(p, sizeof p, "billions.apng");
    write_buf(p, &b);
    expect_run(p, NULL, NULL, 3, "at least 2x2");
    b.n = 0;
    make_png(&b, 4, 4, 0xffffffffu);
    path_in(p, sizeof p, "billions4.apng");
    write_buf(p, &b);
    expect_run(p, "--scale", "1", 0, NULL);
}

/* Frames over --max-frames, and decoded bytes over --max-decoded-bytes. */
static void test_frame_and_byte_limits(void **state)
{
    char p[300];
    (void)state;
    path_in(p, sizeof p, "long.gif");
    make_long_gif(p, 2, 2, 3000);
    expect_run(p, "--max-frames=1000", "--scale=1", 7, "--max-frames");
    expect_run(p, "--max-decoded-bytes=4000", "--scale=1", 7, "--max-decoded-bytes");
}

/* A 40 KB GIF whose 8191x8191 screen holds 3000 frames of 1x1 (issue 16:
 * it once took 2.85 GB): within --max-pixels, but finding its grid needs
 * about 3.2 GiB of canvases, so the default --max-memory refuses it at
 * once, and with the model too. */
static void test_big_screen_tiny_frames(void **state)
{
    char p[300], out[300];
    char *args[] = {p, "-o", out, "--model", "models/pixelfix-v6.safetensors", NULL};
    long rss = 0;
    (void)state;
    path_in(p, sizeof p, "screen.gif");
    make_long_gif(p, 8191, 8191, 3000);
    expect_run(p, NULL, NULL, 7, "--max-memory");
    snprintf(out, sizeof out, "%s/out.webp", g_dir);
    assert_int_equal(run_cli(args, &rss), 7);
    assert_true(stderr_has("--max-memory"));
    assert_false(tu_exists(out));
    assert_true(rss < RSS_CAP_KIB);
}

/* A GIF (giflib writes the LZW) whose first frame is side x side pixel
 * art of 8-pixel cells in four colours, then `tiny` frames of 1x1 that
 * flip its corner pixel. */
static void make_art_then_tiny_gif(const char *path, int side, int tiny)
{
    GifColorType cols[4] = {{20, 20, 30}, {220, 60, 40}, {60, 200, 90}, {240, 230, 200}};
    ColorMapObject *map = GifMakeMapObject(4, cols);
    int err = 0;
    GifFileType *g = EGifOpenFileName(path, false, &err);
    GifPixelType *row = malloc((size_t)side);

    assert_non_null(map);
    assert_non_null(g);
    assert_non_null(row);
    EGifSetGifVersion(g, true);
    assert_int_equal(EGifPutScreenDesc(g, side, side, 2, 0, map), GIF_OK);
    assert_int_equal(EGifPutImageDesc(g, 0, 0, side, side, false, NULL), GIF_OK);
    for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) row[x] = (GifPixelType)(((x / 8) * 7 + (y / 8) * 13 + (x / 8) * (y / 8)) % 4);
        assert_int_equal(EGifPutLine(g, row, side), GIF_OK);
    }
    for (int i = 0; i < tiny; i++) {
        GifPixelType px = (GifPixelType)(i & 1 ? 3 : 0);
        const GifByteType gce[4] = {0x04, 4, 0, 0};   /* keep, 40 ms */
        assert_int_equal(EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, gce), GIF_OK);
        assert_int_equal(EGifPutImageDesc(g, 0, 0, 1, 1, false, NULL), GIF_OK);
        assert_int_equal(EGifPutLine(g, &px, 1), GIF_OK);
    }
    assert_int_equal(EGifCloseFile(g, &err), GIF_OK);
    GifFreeMapObject(map);
    free(row);
}

/* Pixel art and then 600 frames of 1x1 (issue 16: at 1024x1024 it once
 * took 2.86 GB with the model and grew past 6.6 GB without): the canvas is
 * composited frame by frame and nothing canvas-sized is held per input
 * frame (that would be 600 MiB here), so it restores in a small peak
 * (83 MiB measured, 193 MiB under ASan, whose quarantine keeps freed
 * canvases a while). */
static void test_art_then_tiny_frames(void **state)
{
    char p[300];
    (void)state;
    path_in(p, sizeof p, "art600.gif");
    make_art_then_tiny_gif(p, 512, 600);
    expect_run_cap(p, NULL, NULL, 0, NULL, 256 * 1024);
}

/* samples/guy-exit.gif with the shipped model and `flag value`: refused
 * with exit 7 naming the flag, no output, a small peak. */
static void expect_model_refused(const char *flag, const char *value)
{
    char out[300];
    char *args[] = {"samples/guy-exit.gif", "-o", out, "--model", "models/pixelfix-v6.safetensors",
                    (char *)flag, (char *)value, NULL};
    long rss = 0;
    snprintf(out, sizeof out, "%s/out.gif", g_dir);
    assert_int_equal(run_cli(args, &rss), 7);
    assert_true(stderr_has(flag));
    assert_false(tu_exists(out));
    assert_true(rss < RSS_CAP_KIB);
}

/* A model file over --max-model-bytes is refused before it is read. */
static void test_model_limit(void **state)
{
    (void)state;
    expect_model_refused("--max-model-bytes", "100000");
}

/* A window the model could not hold within --max-model-memory is refused
 * before the network allocates it. */
static void test_model_memory_limit(void **state)
{
    (void)state;
    expect_model_refused("--max-model-memory", "1000000");
}

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(g_dir, sizeof g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_gif_canvas),
        cmocka_unit_test(test_huge_webp_canvas),
        cmocka_unit_test(test_huge_png_canvas),
        cmocka_unit_test(test_apng_billions_of_frames),
        cmocka_unit_test(test_frame_and_byte_limits),
        cmocka_unit_test(test_big_screen_tiny_frames),
        cmocka_unit_test(test_art_then_tiny_frames),
        cmocka_unit_test(test_model_limit),
        cmocka_unit_test(test_model_memory_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
