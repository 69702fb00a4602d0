/* test_decode.c - the decode side of src/io: pfi_anim, the streaming reader
 * and its GIF (giflib), WebP (WebPAnimDecoder) and libav back ends. Inputs
 * are made here: GIFs with giflib's EGif*, WebPs with libwebp, MP4 / PNG /
 * APNG with the ffmpeg CLI. Expected canvases follow the GIF89a spec and
 * browser rules, written out by hand. */
#include "testutil.h"

#include <gif_lib.h>
#include <sys/stat.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "io/io.h"

static char g_dir[256];

/* ---- helpers --------------------------------------------------------- */

typedef struct logcap {
    int warns, errors;
    char last[512];
} logcap;

static void cap_fn(void *user, int level, const char *msg)
{
    logcap *c = user;
    if (level == PF_LOG_WARN) c->warns++;
    if (level == PF_LOG_ERROR) c->errors++;
    if (level <= PF_LOG_WARN) snprintf(c->last, sizeof c->last, "%s", msg);
}

static pfi_logger cap_logger(logcap *c)
{
    pfi_logger lg = { cap_fn, c, PF_LOG_WARN };
    memset(c, 0, sizeof *c);
    return lg;
}

static void tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static int have_ffmpeg(void)
{
    static int have = -1;
    if (have < 0) have = system("ffmpeg -version >/dev/null 2>&1") == 0;
    return have;
}

static void run_ffmpeg(const char *args)
{
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -hide_banner -loglevel error -y %s", args);
    assert_int_equal(system(cmd), 0);
}

/* ---- GIF writer (EGif*) ---------------------------------------------- */

typedef struct gframe {
    int left, top, w, h;
    int disposal;              /* DISPOSE_* */
    int trans;                 /* index or -1 */
    int delay_cs;              /* centiseconds */
    int interlace;             /* rows of idx are given in image order; written in pass order */
    const GifColorType *local; /* NULL = global map */
    int local_n;               /* power of two */
    const uint8_t *idx;        /* (h, w) colour indices */
    int no_gce;                /* write no Graphic Control Extension */
} gframe;

/* Writes a GIF89a; loop < 0 writes no NETSCAPE2.0 block. */
static void write_gif(const char *path, int W, int H, const GifColorType *pal, int pal_n,
                      int loop, const gframe *fr, int nfr)
{
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    int err = 0;
    GifFileType *gif = EGifOpenFileName(path, false, &err);
    ColorMapObject *gmap = NULL;

    assert_non_null(gif);
    EGifSetGifVersion(gif, true);
    if (pal) { gmap = GifMakeMapObject(pal_n, pal); assert_non_null(gmap); }
    assert_int_equal(EGifPutScreenDesc(gif, W, H, 8, 0, gmap), GIF_OK);
    if (loop >= 0) {
        unsigned char sub[3] = {1, (unsigned char)(loop & 255), (unsigned char)(loop >> 8)};
        assert_int_equal(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), GIF_OK);
        assert_int_equal(EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0"), GIF_OK);
        assert_int_equal(EGifPutExtensionBlock(gif, 3, sub), GIF_OK);
        assert_int_equal(EGifPutExtensionTrailer(gif), GIF_OK);
    }
    for (int i = 0; i < nfr; i++) {
        const gframe *f = &fr[i];
        ColorMapObject *lmap = NULL;
        if (!f->no_gce) {
            GraphicsControlBlock gcb = { f->disposal, false, f->delay_cs, f->trans };
            GifByteType ext[4];
            size_t n = EGifGCBToExtension(&gcb, ext);
            assert_int_equal(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, (int)n, ext), GIF_OK);
        }
        if (f->local) { lmap = GifMakeMapObject(f->local_n, f->local); assert_non_null(lmap); }
        else if (gif->Image.ColorMap) {
            /* giflib 5.2 drops the previous local map without freeing it. */
            GifFreeMapObject(gif->Image.ColorMap);
            gif->Image.ColorMap = NULL;
        }
        assert_int_equal(EGifPutImageDesc(gif, f->left, f->top, f->w, f->h, f->interlace, lmap),
                         GIF_OK);
        for (int p = 0; p < (f->interlace ? 4 : 1); p++)
            for (int y = f->interlace ? start[p] : 0; y < f->h; y += f->interlace ? step[p] : 1) {
                GifPixelType row[256];   /* EGifPutLine masks the row in place */
                memcpy(row, f->idx + (size_t)y * f->w, (size_t)f->w);
                assert_int_equal(EGifPutLine(gif, row, f->w), GIF_OK);
            }
        GifFreeMapObject(lmap);
    }
    assert_int_equal(EGifCloseFile(gif, &err), GIF_OK);
    GifFreeMapObject(gmap);
}

/* Canvas from a picture of letters; '.' is transparent (0,0,0,0). */
typedef struct lc { char c; uint8_t r, g, b; } lc;

static void expect_canvas(const uint8_t *rgba, int W, int H, const char *pic,
                          const lc *key, int nkey, int frame)
{
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            char c = pic[y * W + x];
            const uint8_t *p = rgba + ((size_t)y * W + x) * 4;
            uint8_t want[4] = {0, 0, 0, 0};
            if (c != '.') {
                int k = 0;
                while (k < nkey && key[k].c != c) k++;
                assert_true(k < nkey);
                want[0] = key[k].r; want[1] = key[k].g; want[2] = key[k].b; want[3] = 255;
            }
            if (memcmp(p, want, 4) != 0) {
                fprintf(stderr, "frame %d pixel (%d,%d): got %d,%d,%d,%d want '%c'\n", frame,
                        x, y, p[0], p[1], p[2], p[3], c);
                fail();
            }
        }
    }
}

/* ---- pfi_anim ---------------------------------------------------------- */

static void test_anim_basics(void **state)
{
    pfi_anim a;
    uint8_t px[2 * 3 * 4];
    (void)state;
    assert_int_equal(pfi_anim_init(&a, 0, 3), PF_EINVAL);
    assert_int_equal(pfi_anim_init(&a, 2, 3), PF_OK);
    memset(px, 7, sizeof px);
    assert_int_equal(pfi_anim_push(&a, px, 0), PF_EINVAL);
    for (int i = 0; i < 40; i++) {
        px[0] = (uint8_t)i;
        assert_int_equal(pfi_anim_push(&a, px, 10 + i), PF_OK);
    }
    assert_int_equal(a.count, 40);
    int64_t t = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(a.frames[i].pts_ms, t);
        assert_int_equal(a.frames[i].duration_ms, 10 + i);
        assert_int_equal(a.frames[i].rgba[0], i);    /* a copy, not the caller's buffer */
        assert_int_equal(a.frames[i].rgba[5], 7);
        t += 10 + i;
    }
    pfi_anim_free(&a);
    assert_int_equal(a.count, 0);
    assert_null(a.frames);
    pfi_anim_free(&a);   /* twice is fine */
}

/* ---- GIF ------------------------------------------------------------- */

static void test_gif_roundtrip(void **state)
{
    enum { W = 6, H = 5, N = 4 };
    static const int delays[N] = {0, 1, 2, 7}, want_ms[N] = {100, 100, 20, 70};
    GifColorType pal[8];
    uint8_t idx[N][W * H];
    gframe fr[N];
    uint64_t seed = 12345;
    char path[512];
    pfi_reader *r = NULL;
    pfi_frame f;
    pfi_anim a;
    logcap lc_;
    pfi_logger lg = cap_logger(&lc_);
    (void)state;

    for (int i = 0; i < 8; i++) {
        pal[i].Red = (GifByteType)(tu_rand(&seed) & 255);
        pal[i].Green = (GifByteType)(tu_rand(&seed) & 255);
        pal[i].Blue = (GifByteType)(tu_rand(&seed) & 255);
    }
    memset(fr, 0, sizeof fr);
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < W * H; i++) idx[k][i] = (uint8_t)(tu_rand(&seed) % 8);
        idx[k][k] = 7;   /* at least one transparent pixel per frame */
        fr[k] = (gframe){ .w = W, .h = H, .disposal = DISPOSE_BACKGROUND, .trans = 7,
                          .delay_cs = delays[k], .idx = idx[k] };
    }
    tpath(path, sizeof path, "rt.gif");
    write_gif(path, W, H, pal, 8, 3, fr, N);

    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, &lg), PF_OK);
    assert_string_equal(pfi_reader_format(r), "gif");
    assert_int_equal(pfi_reader_width(r), W);
    assert_int_equal(pfi_reader_height(r), H);
    assert_int_equal(pfi_reader_loop(r), 3);
    int64_t t = 0;
    for (int k = 0; k < N; k++) {
        assert_int_equal(pfi_reader_next(r, &f), PF_OK);
        assert_int_equal(f.duration_ms, want_ms[k]);
        assert_int_equal(f.pts_ms, t);
        t += want_ms[k];
        for (int i = 0; i < W * H; i++) {
            const uint8_t *p = f.rgba + 4 * i;
            if (idx[k][i] == 7) {
                assert_int_equal(p[3], 0);
            } else {
                assert_int_equal(p[0], pal[idx[k][i]].Red);
                assert_int_equal(p[1], pal[idx[k][i]].Green);
                assert_int_equal(p[2], pal[idx[k][i]].Blue);
                assert_int_equal(p[3], 255);
            }
        }
    }
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);
    assert_int_equal(lc_.warns + lc_.errors, 0);

    /* pfi_read_anim gives the same frames and timing. */
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, N);
    assert_int_equal(a.loop, 3);
    assert_int_equal(a.frames[2].pts_ms, 200);
    assert_int_equal(a.frames[3].duration_ms, 70);
    pfi_anim_free(&a);

    /* No NETSCAPE2.0 block and no GCE: plays once, 100 ms, opaque. */
    fr[0].no_gce = 1;
    write_gif(path, W, H, pal, 8, -1, fr, 1);
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.loop, 1);
    assert_int_equal(a.frames[0].duration_ms, 100);
    assert_int_equal(a.frames[0].rgba[4 * 0 + 3], 255);   /* index 7 is not transparent here */
    pfi_anim_free(&a);
}

static void test_gif_disposal(void **state)
{
    enum { W = 4, H = 4 };
    /* Global map: R G B C M K W, 7 = X (used as the transparent index). */
    static const GifColorType pal[8] = {
        {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {0, 255, 255},
        {255, 0, 255}, {0, 0, 0}, {255, 255, 255}, {9, 9, 9}};
    /* Local map: Y O P, 3 = transparent. */
    static const GifColorType loc[4] = {{255, 255, 0}, {255, 128, 0}, {128, 0, 255}, {8, 8, 8}};
    static const lc key[] = {
        {'R', 255, 0, 0}, {'G', 0, 255, 0}, {'B', 0, 0, 255}, {'M', 255, 0, 255},
        {'W', 255, 255, 255}, {'Y', 255, 255, 0}, {'O', 255, 128, 0}};
    static const uint8_t i1[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t i2[4] = {7, 1, 1, 1};
    static const uint8_t i3[2] = {2, 2};
    static const uint8_t i4[4] = {0, 3, 1, 0};
    static const uint8_t i5[9] = {6, 6, 6, 6, 6, 6, 6, 6, 6};
    static const uint8_t i6[1] = {4};
    const gframe fr[6] = {
        /* 1: fill red, keep */
        { 0, 0, 4, 4, DISPOSE_DO_NOT, -1, 5, 0, NULL, 0, i1, 0 },
        /* 2: 2x2 at (1,1), one transparent pixel, restore to background after */
        { 1, 1, 2, 2, DISPOSE_BACKGROUND, 7, 5, 0, NULL, 0, i2, 0 },
        /* 3: 2x1 blue at (0,0), restore to previous after */
        { 0, 0, 2, 1, DISPOSE_PREVIOUS, -1, 5, 0, NULL, 0, i3, 0 },
        /* 4: local map, 2x2 at (2,2) with a transparent pixel, no disposal */
        { 2, 2, 2, 2, DISPOSAL_UNSPECIFIED, 3, 5, 0, loc, 4, i4, 0 },
        /* 5: 3x3 white at (3,3): only (3,3) is on the canvas; background after */
        { 3, 3, 3, 3, DISPOSE_BACKGROUND, -1, 5, 0, NULL, 0, i5, 0 },
        /* 6: global map again, magenta at (0,0) */
        { 0, 0, 1, 1, DISPOSE_DO_NOT, -1, 5, 0, NULL, 0, i6, 0 },
    };
    static const char *want[6] = {
        "RRRR" "RRRR" "RRRR" "RRRR",
        "RRRR" "RRGR" "RGGR" "RRRR",
        "BBRR" "R..R" "R..R" "RRRR",
        "RRRR" "R..R" "R.YR" "RROY",
        "RRRR" "R..R" "R.YR" "RROW",
        "MRRR" "R..R" "R.YR" "RRO.",
    };
    char path[512];
    pfi_reader *r = NULL;
    pfi_frame f;
    (void)state;

    tpath(path, sizeof path, "disposal.gif");
    write_gif(path, W, H, pal, 8, 0, fr, 6);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(pfi_reader_loop(r), 0);
    for (int k = 0; k < 6; k++) {
        assert_int_equal(pfi_reader_next(r, &f), PF_OK);
        assert_int_equal(f.duration_ms, 50);
        expect_canvas(f.rgba, W, H, want[k], key, (int)(sizeof key / sizeof key[0]), k + 1);
    }
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);
}

static void test_gif_interlaced(void **state)
{
    enum { W = 3, H = 10 };
    GifColorType pal[16];
    uint8_t idx[W * H];
    char path[512];
    pfi_anim a;
    (void)state;

    for (int i = 0; i < 16; i++)
        pal[i] = (GifColorType){(GifByteType)(i * 16), (GifByteType)(255 - i * 9), (GifByteType)(i * 5)};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) idx[y * W + x] = (uint8_t)((y + 5 * x) % 16);
    /* A 6x12 canvas larger than the frame, which sits at (2, 1). */
    gframe fr = { 2, 1, W, H, DISPOSE_DO_NOT, -1, 4, 1, NULL, 0, idx, 0 };
    tpath(path, sizeof path, "interlaced.gif");
    write_gif(path, 6, 12, pal, 16, 0, &fr, 1);
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.width, 6);
    assert_int_equal(a.height, 12);
    for (int y = 0; y < 12; y++) {
        for (int x = 0; x < 6; x++) {
            const uint8_t *p = a.frames[0].rgba + ((size_t)y * 6 + x) * 4;
            int fx = x - 2, fy = y - 1;
            if (fx < 0 || fx >= W || fy < 0 || fy >= H) {
                assert_int_equal(p[3], 0);   /* outside the frame: the initial transparent canvas */
                continue;
            }
            const GifColorType *c = &pal[idx[fy * W + fx]];
            assert_int_equal(p[0], c->Red);
            assert_int_equal(p[1], c->Green);
            assert_int_equal(p[2], c->Blue);
            assert_int_equal(p[3], 255);
        }
    }
    pfi_anim_free(&a);
}

/* Writes a random 5-frame 16x16 GIF (256 colours, hard to compress) and
 * the byte offset where each frame's data ends. */
static void make_multi_gif(const char *path, size_t end_of[5])
{
    enum { W = 16, H = 16, N = 5 };
    static GifColorType pal[256];
    static uint8_t idx[N][W * H];
    gframe fr[N];
    uint64_t seed = 777;
    char tmp[512];

    for (int i = 0; i < 256; i++)
        pal[i] = (GifColorType){(GifByteType)i, (GifByteType)(i * 7), (GifByteType)(i * 13)};
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < W * H; i++) idx[k][i] = (uint8_t)(tu_rand(&seed) & 255);
        fr[k] = (gframe){ 0, 0, W, H, DISPOSE_DO_NOT, -1, 10, 0, NULL, 0, idx[k], 0 };
    }
    write_gif(path, W, H, pal, 256, 0, fr, N);
    /* The GIF of the first n frames is the same bytes plus the trailer. */
    tpath(tmp, sizeof tmp, "prefix.gif");
    for (int n = 1; n <= N; n++) {
        struct stat sb;
        write_gif(tmp, W, H, pal, 256, 0, fr, n);
        assert_int_equal(stat(tmp, &sb), 0);
        end_of[n - 1] = (size_t)sb.st_size - 1;
    }
}

static void test_gif_truncated(void **state)
{
    char full[512], cut[512];
    size_t end_of[5], n;
    uint8_t *bytes;
    pfi_anim whole, part;
    logcap lc_;
    pfi_logger lg;
    (void)state;

    tpath(full, sizeof full, "multi.gif");
    tpath(cut, sizeof cut, "cut.gif");
    make_multi_gif(full, end_of);
    bytes = tu_read_file(full, &n);
    assert_int_equal(end_of[4] + 1, n);
    assert_int_equal(pfi_read_anim(&whole, full, NULL, 0, NULL), PF_OK);
    assert_int_equal(whole.count, 5);

    /* Cut in the middle of frame 4: frames 1-3, a warning, PF_DONE. */
    write_bytes(cut, bytes, end_of[2] + (end_of[3] - end_of[2]) / 2);
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_read_anim(&part, cut, NULL, 0, &lg), PF_OK);
    assert_int_equal(part.count, 3);
    assert_true(lc_.warns >= 1);
    assert_int_equal(lc_.errors, 0);
    for (int k = 0; k < 3; k++)
        assert_memory_equal(part.frames[k].rgba, whole.frames[k].rgba, 16 * 16 * 4);
    pfi_anim_free(&part);

    /* Cut right after frame 2's data (no trailer): 2 frames. */
    write_bytes(cut, bytes, end_of[1]);
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_read_anim(&part, cut, NULL, 0, &lg), PF_OK);
    assert_int_equal(part.count, 2);
    assert_true(lc_.warns >= 1);
    pfi_anim_free(&part);

    /* Cut inside frame 1: no frame at all -> PF_EFORMAT. */
    {
        pfi_reader *r = NULL;
        pfi_frame f;
        write_bytes(cut, bytes, end_of[0] - 40);   /* inside its pixel data */
        lg = cap_logger(&lc_);
        assert_int_equal(pfi_reader_open(&r, cut, NULL, 0, &lg), PF_OK);
        assert_int_equal(pfi_reader_next(r, &f), PF_EFORMAT);
        assert_true(lc_.errors >= 1);
        assert_int_equal(pfi_reader_next(r, &f), PF_EFORMAT);   /* sticky */
        pfi_reader_close(r);
    }

    /* Header and global colour map only. */
    write_bytes(cut, bytes, 13 + 3 * 256);
    assert_int_equal(pfi_read_anim(&part, cut, NULL, 0, NULL), PF_EFORMAT);
    assert_int_equal(part.count, 0);
    /* Cut inside the screen descriptor. */
    write_bytes(cut, bytes, 9);
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_read_anim(&part, cut, NULL, 0, &lg), PF_EFORMAT);
    assert_true(strstr(lc_.last, cut) != NULL);

    /* Every cut length: never a crash; frames read never decrease. */
    {
        int prev = 0;
        for (size_t len = 1;; len += 7) {
            pf_status st;
            if (len > n) len = n;
            write_bytes(cut, bytes, len);
            st = pfi_read_anim(&part, cut, NULL, 0, NULL);
            assert_true(st == PF_OK || st == PF_EFORMAT);
            if (st == PF_OK) {
                assert_true(part.count >= prev);
                prev = part.count;
                assert_memory_equal(part.frames[part.count - 1].rgba,
                                    whole.frames[part.count - 1].rgba, 16 * 16 * 4);
            }
            pfi_anim_free(&part);
            if (len == n) break;
        }
        assert_int_equal(prev, 5);
    }

    free(bytes);
    pfi_anim_free(&whole);
}

static void test_gif_huge_and_empty(void **state)
{
    /* 65535 x 65535 (the largest a GIF can declare), no colour map, trailer. */
    static const uint8_t huge[14] = {'G', 'I', 'F', '8', '9', 'a', 0xff, 0xff, 0xff, 0xff,
                                     0, 0, 0, ';'};
    static const uint8_t none[14] = {'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0, 0, 0, ';'};
    pf_limits lim = { .max_pixels = 8192LL * 8192, .max_frames = 100000, .max_decoded_bytes = 64LL << 30 };
    char path[512];
    pfi_reader *r = NULL;
    pfi_frame f;
    pfi_anim a;
    logcap lc_;
    pfi_logger lg = cap_logger(&lc_);
    (void)state;

    tpath(path, sizeof path, "huge.gif");
    write_bytes(path, huge, sizeof huge);
    assert_int_equal(pfi_reader_open(&r, path, &lim, 0, &lg), PF_ELIMIT);
    assert_null(r);
    assert_non_null(strstr(lc_.last, "65535x65535"));
    assert_non_null(strstr(lc_.last, "67108864"));
    assert_non_null(strstr(lc_.last, "--max-pixels"));

    /* A valid GIF with no image: the stream ends at once; as a whole, no frames. */
    tpath(path, sizeof path, "noframes.gif");
    write_bytes(path, none, sizeof none);
    assert_int_equal(pfi_reader_open(&r, path, &lim, 0, NULL), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);
    assert_int_equal(pfi_read_anim(&a, path, &lim, 0, NULL), PF_ENOFRAMES);
}

/* ---- WebP ------------------------------------------------------------ */

static void random_rgba(uint8_t *p, int n, uint64_t *seed)
{
    for (int i = 0; i < n; i++) {
        uint64_t v = tu_rand(seed);
        p[4 * i + 0] = (uint8_t)v;
        p[4 * i + 1] = (uint8_t)(v >> 8);
        p[4 * i + 2] = (uint8_t)(v >> 16);
        p[4 * i + 3] = (v >> 24) % 5 == 0 ? 0 : 255;
    }
}

static void expect_rgba_visible(const uint8_t *got, const uint8_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(got[4 * i + 3], want[4 * i + 3]);
        if (want[4 * i + 3] != 0) assert_memory_equal(got + 4 * i, want + 4 * i, 3);
    }
}

static void test_webp_anim(void **state)
{
    enum { W = 8, H = 6, N = 3 };
    static const int ts[N + 1] = {0, 80, 200, 250};
    uint8_t px[N][W * H * 4];
    uint64_t seed = 99;
    WebPAnimEncoderOptions eo;
    WebPAnimEncoder *enc;
    WebPConfig cfg;
    WebPData out;
    char path[512];
    pfi_reader *r = NULL;
    pfi_frame f;
    pf_limits small = { .max_pixels = 20 };
    (void)state;

    assert_true(WebPAnimEncoderOptionsInit(&eo));
    eo.anim_params.loop_count = 2;
    enc = WebPAnimEncoderNew(W, H, &eo);
    assert_non_null(enc);
    assert_true(WebPConfigInit(&cfg));
    cfg.lossless = 1;
    cfg.exact = 1;
    for (int k = 0; k < N; k++) {
        WebPPicture pic;
        random_rgba(px[k], W * H, &seed);
        assert_true(WebPPictureInit(&pic));
        pic.use_argb = 1;
        pic.width = W;
        pic.height = H;
        assert_true(WebPPictureImportRGBA(&pic, px[k], W * 4));
        assert_true(WebPAnimEncoderAdd(enc, &pic, ts[k], &cfg));
        WebPPictureFree(&pic);
    }
    assert_true(WebPAnimEncoderAdd(enc, NULL, ts[N], NULL));
    WebPDataInit(&out);
    assert_true(WebPAnimEncoderAssemble(enc, &out));
    tpath(path, sizeof path, "anim.webp");
    write_bytes(path, out.bytes, out.size);
    WebPDataClear(&out);
    WebPAnimEncoderDelete(enc);

    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    assert_string_equal(pfi_reader_format(r), "webp");
    assert_int_equal(pfi_reader_width(r), W);
    assert_int_equal(pfi_reader_height(r), H);
    assert_int_equal(pfi_reader_frame_count(r), N);
    assert_int_equal(pfi_reader_loop(r), 2);
    for (int k = 0; k < N; k++) {
        assert_int_equal(pfi_reader_next(r, &f), PF_OK);
        assert_int_equal(f.pts_ms, ts[k]);
        assert_int_equal(f.duration_ms, ts[k + 1] - ts[k]);
        expect_rgba_visible(f.rgba, px[k], W * H);
    }
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);

    /* The canvas is checked before decoding. */
    assert_int_equal(pfi_reader_open(&r, path, &small, 0, NULL), PF_ELIMIT);
    assert_null(r);
}

static void test_webp_still(void **state)
{
    enum { W = 7, H = 9 };
    uint8_t px[W * H * 4], *enc = NULL;
    uint64_t seed = 5;
    size_t n;
    char path[512];
    pfi_anim a;
    (void)state;

    random_rgba(px, W * H, &seed);
    n = WebPEncodeLosslessRGBA(px, W, H, W * 4, &enc);
    assert_true(n > 0);
    tpath(path, sizeof path, "still.webp");
    write_bytes(path, enc, n);
    WebPFree(enc);
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.width, W);
    assert_true(a.frames[0].duration_ms > 0);
    expect_rgba_visible(a.frames[0].rgba, px, W * H);
    pfi_anim_free(&a);

    /* Truncated still WebP: corrupt, not a crash. */
    {
        uint8_t *b = tu_read_file(path, &n);
        write_bytes(path, b, n / 2);
        free(b);
        assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_EFORMAT);
    }
}

/* ---- libav: MP4, PNG, APNG ------------------------------------------- */

static void test_mp4_timing(void **state)
{
    char path[512], args[1024];
    pfi_reader *r = NULL;
    pfi_frame f;
    pf_limits lim = { .max_frames = 6 };
    int n = 0;
    int64_t t = 0;
    (void)state;

    if (!have_ffmpeg()) { fprintf(stderr, "ffmpeg not found: skipped\n"); skip(); }
    tpath(path, sizeof path, "clip.mp4");
    snprintf(args, sizeof args, "-f lavfi -i testsrc=size=64x48:rate=25 -frames:v 10 "
             "-c:v libx264 -pix_fmt yuv420p '%s'", path);
    run_ffmpeg(args);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    assert_non_null(strstr(pfi_reader_format(r), "mp4"));
    assert_int_equal(pfi_reader_width(r), 64);
    assert_int_equal(pfi_reader_height(r), 48);
    assert_int_equal(pfi_reader_frame_count(r), 10);
    while (pfi_reader_next(r, &f) == PF_OK) {
        assert_int_equal(f.pts_ms, t);
        assert_int_equal(f.duration_ms, 40);   /* 1/25 s from the time base, last one too */
        for (int i = 0; i < 64 * 48; i++) assert_int_equal(f.rgba[4 * i + 3], 255);
        t += f.duration_ms;
        n++;
    }
    assert_int_equal(n, 10);
    pfi_reader_close(r);

    /* NTSC rate: pts from the time base, rounded to ms; durations 33/34. */
    tpath(path, sizeof path, "ntsc.mp4");
    snprintf(args, sizeof args, "-f lavfi -i testsrc=size=32x32:rate=30000/1001 -frames:v 9 "
             "-c:v libx264 -pix_fmt yuv420p '%s'", path);
    run_ffmpeg(args);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    n = 0;
    while (pfi_reader_next(r, &f) == PF_OK) {
        int64_t want = (n * 1001 + 15) / 30;   /* n frames of 1001/30 ms, rounded */
        assert_true(f.pts_ms == want || f.pts_ms == want - 1 || f.pts_ms == want + 1);
        assert_true(f.duration_ms == 33 || f.duration_ms == 34);
        n++;
    }
    assert_int_equal(n, 9);
    pfi_reader_close(r);

    /* max_frames = 6 on 10 frames. */
    tpath(path, sizeof path, "clip.mp4");
    assert_int_equal(pfi_reader_open(&r, path, &lim, 0, NULL), PF_OK);
    for (int k = 0; k < 6; k++) assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_ELIMIT);
    pfi_reader_close(r);
}

/* Widths that are not a multiple of 8: every column is converted (swscale's
 * fast x86 YUV->RGB path leaves the last width % 8 columns unwritten). */
static void test_mp4_odd_width(void **state)
{
    char path[512], args[1024];
    pfi_reader *r = NULL;
    pfi_frame f;
    int n = 0;
    (void)state;

    if (!have_ffmpeg()) { fprintf(stderr, "ffmpeg not found: skipped\n"); skip(); }
    tpath(path, sizeof path, "odd.mp4");
    snprintf(args, sizeof args, "-f lavfi -i color=c=0xC83214:size=100x62:rate=10 -frames:v 3 "
             "-c:v libx264 -pix_fmt yuv420p '%s'", path);
    run_ffmpeg(args);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(pfi_reader_width(r), 100);
    while (pfi_reader_next(r, &f) == PF_OK) {
        for (int y = 0; y < 62; y++)
            for (int x = 92; x < 100; x++) {
                const uint8_t *p = f.rgba + 4 * (y * 100 + x);
                assert_in_range(p[0], 0xC8 - 12, 0xC8 + 12);
                assert_in_range(p[1], 0x32 - 12, 0x32 + 12);
                assert_in_range(p[2], 0x14 - 12, 0x14 + 12);
                assert_int_equal(p[3], 255);
            }
        n++;
    }
    assert_int_equal(n, 3);
    pfi_reader_close(r);
}

static void test_png_apng_exact(void **state)
{
    enum { W = 7, H = 5, N = 3 };
    uint8_t px[N][W * H * 4];
    uint64_t seed = 4242;
    char raw[512], png[512], apng[512], args[2048];
    pfi_anim a;
    (void)state;

    if (!have_ffmpeg()) { fprintf(stderr, "ffmpeg not found: skipped\n"); skip(); }
    for (int k = 0; k < N; k++)
        for (int i = 0; i < W * H * 4; i++) px[k][i] = (uint8_t)tu_rand(&seed);
    tpath(raw, sizeof raw, "frames.rgba");
    write_bytes(raw, px, sizeof px);

    tpath(png, sizeof png, "one.png");
    snprintf(args, sizeof args, "-f rawvideo -pix_fmt rgba -s %dx%d -i '%s' -frames:v 1 "
             "-pix_fmt rgba '%s'", W, H, raw, png);
    run_ffmpeg(args);
    assert_int_equal(pfi_read_anim(&a, png, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.width, W);
    assert_int_equal(a.height, H);
    assert_int_equal(a.frames[0].duration_ms, 100);   /* a lone still image */
    assert_memory_equal(a.frames[0].rgba, px[0], W * H * 4);
    pfi_anim_free(&a);

    tpath(apng, sizeof apng, "anim.apng");
    snprintf(args, sizeof args, "-f rawvideo -pix_fmt rgba -s %dx%d -framerate 10 -i '%s' "
             "-plays 0 -pix_fmt rgba -f apng '%s'", W, H, raw, apng);
    run_ffmpeg(args);
    assert_int_equal(pfi_read_anim(&a, apng, NULL, 0, NULL), PF_OK);
    assert_int_equal(a.count, N);
    for (int k = 0; k < N; k++) {
        assert_int_equal(a.frames[k].duration_ms, 100);
        assert_int_equal(a.frames[k].pts_ms, 100 * k);
        assert_memory_equal(a.frames[k].rgba, px[k], W * H * 4);
    }
    pfi_anim_free(&a);
}

/* ---- errors and limits ------------------------------------------------ */

static void test_bad_files(void **state)
{
    static const char text[] = "this is a text file, not a video\nsecond line\n";
    char path[512];
    pfi_reader *r = NULL;
    pfi_anim a;
    logcap lc_;
    pfi_logger lg = cap_logger(&lc_);
    (void)state;

    tpath(path, sizeof path, "empty.mp4");
    write_bytes(path, "", 0);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, &lg), PF_EFORMAT);
    assert_null(r);
    assert_non_null(strstr(lc_.last, "is empty"));
    assert_non_null(strstr(lc_.last, path));

    tpath(path, sizeof path, "text.mp4");
    write_bytes(path, text, sizeof text - 1);
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, &lg), PF_EFORMAT);
    assert_null(r);
    assert_true(lc_.errors >= 1);
    assert_non_null(strstr(lc_.last, path));

    /* A GIF signature followed by garbage, and a RIFF/WEBP one. */
    tpath(path, sizeof path, "bad.gif");
    write_bytes(path, "GIF89a\x01", 7);
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_EFORMAT);
    tpath(path, sizeof path, "bad.webp");
    write_bytes(path, "RIFF\x10\0\0\0WEBPVP8L\x04\0\0\0junk", 24);
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_EFORMAT);

    tpath(path, sizeof path, "missing.mp4");
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, &lg), PF_EIO);
    assert_non_null(strstr(lc_.last, path));
    assert_non_null(strstr(lc_.last, "No such file"));
    assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_EIO);
    tpath(path, sizeof path, "no-frames");
    assert_int_equal(mkdir(path, 0700), 0);
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, &lg), PF_EFORMAT);   /* a folder without PNGs */
    assert_non_null(strstr(lc_.last, "no .png frames"));
    pfi_reader_close(NULL);
}

/* A folder of PNG frames in natural name order (f2 before f10), at 24 fps,
 * and the same frames through a %d pattern; a frame of another size stops
 * the clip. */
static void test_png_frames(void **state)
{
    (void)state;
    char dir[512], path[600];
    uint8_t px[3 * 2 * 4];
    const int order[4] = {1, 2, 10, 11};
    pfi_reader *r = NULL;
    pfi_frame f;

    tpath(dir, sizeof dir, "frames");
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 3; i >= 0; i--) {   /* written out of order */
        memset(px, order[i] * 10, sizeof px);
        snprintf(path, sizeof path, "%s/f%d.png", dir, order[i]);
        assert_int_equal(pfi_png_write(path, px, 3, 2, 0), PF_OK);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_bytes(path, "x", 1);
    assert_int_equal(pfi_reader_open(&r, dir, NULL, 0, NULL), PF_OK);
    assert_string_equal(pfi_reader_format(r), "png frames");
    assert_int_equal(pfi_reader_width(r), 3);
    assert_int_equal(pfi_reader_height(r), 2);
    assert_int_equal(pfi_reader_frame_count(r), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pfi_reader_next(r, &f), PF_OK);
        assert_int_equal(f.rgba[0], order[i] * 10);
        assert_int_equal(f.pts_ms, i * 1000 / PF_FRAMES_FPS);
        assert_int_equal(f.duration_ms, (i + 1) * 1000 / PF_FRAMES_FPS - i * 1000 / PF_FRAMES_FPS);
    }
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);

    /* the pattern starts at the first of 0..4 that exists and stops at a gap (f10) */
    snprintf(path, sizeof path, "%s/f%%d.png", dir);
    assert_true(pfi_frames_is_pattern(path));
    assert_int_equal(pfi_reader_open(&r, path, NULL, 0, NULL), PF_OK);
    assert_int_equal(pfi_reader_frame_count(r), -1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pfi_reader_next(r, &f), PF_OK);
        assert_int_equal(f.rgba[0], order[i] * 10);
    }
    assert_int_equal(pfi_reader_next(r, &f), PF_DONE);
    pfi_reader_close(r);
    assert_false(pfi_frames_is_pattern("a%%d.png"));
    assert_false(pfi_frames_is_pattern("a%d_%d.png"));
    assert_true(pfi_frames_is_pattern("100%%/f_%04d.png"));

    /* one frame of another size */
    uint8_t big[4 * 2 * 4] = {0};
    snprintf(path, sizeof path, "%s/f3.png", dir);
    assert_int_equal(pfi_png_write(path, big, 4, 2, 0), PF_OK);
    assert_int_equal(pfi_reader_open(&r, dir, NULL, 0, NULL), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_EFORMAT);
    pfi_reader_close(r);
}

static void test_limits(void **state)
{
    char path[512];
    size_t end_of[5];
    pfi_reader *r = NULL;
    pfi_frame f;
    pfi_anim a;
    pf_limits lim = { .max_frames = 2 };
    logcap lc_;
    pfi_logger lg = cap_logger(&lc_);
    (void)state;

    tpath(path, sizeof path, "limits.gif");
    make_multi_gif(path, end_of);

    assert_int_equal(pfi_reader_open(&r, path, &lim, 0, &lg), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_ELIMIT);
    assert_null(f.rgba);
    assert_non_null(strstr(lc_.last, "--max-frames"));
    assert_int_equal(pfi_reader_next(r, &f), PF_ELIMIT);
    pfi_reader_close(r);

    /* Exactly at the limit passes. */
    lim.max_frames = 5;
    assert_int_equal(pfi_read_anim(&a, path, &lim, 0, NULL), PF_OK);
    assert_int_equal(a.count, 5);
    pfi_anim_free(&a);
    lim.max_frames = 4;
    assert_int_equal(pfi_read_anim(&a, path, &lim, 0, NULL), PF_ELIMIT);
    assert_int_equal(a.count, 0);

    /* Room for two and a half 16x16 RGBA frames. */
    lim.max_frames = 0;
    lim.max_decoded_bytes = 16 * 16 * 4 * 5 / 2;
    lg = cap_logger(&lc_);
    assert_int_equal(pfi_reader_open(&r, path, &lim, 0, &lg), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_OK);
    assert_int_equal(pfi_reader_next(r, &f), PF_ELIMIT);
    assert_non_null(strstr(lc_.last, "--max-decoded-bytes"));
    pfi_reader_close(r);

    /* max_pixels one short of the canvas. */
    lim.max_decoded_bytes = 0;
    lim.max_pixels = 16 * 16 - 1;
    assert_int_equal(pfi_read_anim(&a, path, &lim, 0, NULL), PF_ELIMIT);
    lim.max_pixels = 16 * 16;
    assert_int_equal(pfi_read_anim(&a, path, &lim, 0, NULL), PF_OK);
    pfi_anim_free(&a);
}

/* ---- in-memory input and nested files ----------------------------------- */

/* pfi_reader_open_mem decodes each sample exactly as pfi_reader_open does:
 * same format, size, frame count, durations and pixels. */
static void test_memory_reader(void **state)
{
    static const char *const files[] = {"samples/guy-exit.gif", "samples/fire-flame.webp",
                                        "samples/guy-walk-video.mp4"};
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        pfi_reader *rf = NULL, *rm = NULL;
        pfi_frame ff, fm;
        pf_status sf, sm;
        size_t n;
        int frames = 0;
        uint8_t *d = tu_read_file(files[i], &n);

        assert_int_equal(pfi_reader_open(&rf, files[i], NULL, 1, NULL), PF_OK);
        assert_int_equal(pfi_reader_open_mem(&rm, d, n, "mem", NULL, 1, NULL), PF_OK);
        assert_string_equal(pfi_reader_format(rf), pfi_reader_format(rm));
        assert_int_equal(pfi_reader_width(rf), pfi_reader_width(rm));
        assert_int_equal(pfi_reader_height(rf), pfi_reader_height(rm));
        for (;;) {
            sf = pfi_reader_next(rf, &ff);
            sm = pfi_reader_next(rm, &fm);
            assert_int_equal(sf, sm);
            if (sf != PF_OK) break;
            assert_int_equal(ff.duration_ms, fm.duration_ms);
            assert_int_equal(ff.pts_ms, fm.pts_ms);
            assert_memory_equal(ff.rgba, fm.rgba,
                                (size_t)pfi_reader_width(rf) * pfi_reader_height(rf) * 4);
            frames++;
        }
        assert_int_equal(sf, PF_DONE);
        assert_true(frames >= 2);
        pfi_reader_close(rf);
        pfi_reader_close(rm);
        free(d);
    }
    /* Empty memory is an empty file. */
    {
        pfi_reader *r = NULL;
        assert_int_equal(pfi_reader_open_mem(&r, "", 0, "mem", NULL, 1, NULL), PF_EFORMAT);
        assert_null(r);
    }
}

/* A playlist naming another local file is refused: a downloaded file must
 * not make pixelfix read other files (libavformat's HLS demuxer would). */
static void test_nested_open_refused(void **state)
{
    char path[512], seg[512];
    size_t n;
    uint8_t *d = tu_read_file("samples/guy-walk-video.mp4", &n);
    pfi_reader *r = NULL;
    (void)state;

    tpath(seg, sizeof seg, "segment.mp4");
    write_bytes(seg, d, n);
    free(d);
    tpath(path, sizeof path, "list.m3u8");
    {
        char text[1024];
        int k = snprintf(text, sizeof text,
                         "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n%s\n#EXT-X-ENDLIST\n",
                         seg);
        write_bytes(path, text, (size_t)k);
    }
    assert_int_equal(pfi_reader_open(&r, path, NULL, 1, NULL), PF_EFORMAT);
    assert_null(r);
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
        cmocka_unit_test(test_anim_basics),
        cmocka_unit_test(test_gif_roundtrip),
        cmocka_unit_test(test_gif_disposal),
        cmocka_unit_test(test_gif_interlaced),
        cmocka_unit_test(test_gif_truncated),
        cmocka_unit_test(test_gif_huge_and_empty),
        cmocka_unit_test(test_webp_anim),
        cmocka_unit_test(test_webp_still),
        cmocka_unit_test(test_mp4_timing),
        cmocka_unit_test(test_mp4_odd_width),
        cmocka_unit_test(test_png_apng_exact),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_png_frames),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_memory_reader),
        cmocka_unit_test(test_nested_open_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
