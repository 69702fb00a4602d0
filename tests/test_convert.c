/*
 * test_convert.c - pf_rgba_convert (src/io/convert.c): decoded frames to
 * RGBA8 as the reader and the FFmpeg filter both do it. Checks the YUV
 * matrix and range against the BT.601 / BT.709 equations, that every
 * column is written at widths that are not a multiple of 8, RGB pass-through,
 * and the errors.
 */
#include "testutil.h"

#include <libavutil/pixfmt.h>
#include <math.h>

#include "pixelfix.h"

enum { W = 13, H = 6 };

/* One yuv444p frame of constant (y, u, v) codes. */
typedef struct yuv_frame {
    uint8_t p[3][W * H];
    const uint8_t *planes[4];
    int lines[4];
} yuv_frame;

static void fill(yuv_frame *f, int y, int u, int v)
{
    memset(f->p[0], y, sizeof f->p[0]);
    memset(f->p[1], u, sizeof f->p[1]);
    memset(f->p[2], v, sizeof f->p[2]);
    for (int i = 0; i < 3; i++) {
        f->planes[i] = f->p[i];
        f->lines[i] = W;
    }
    f->planes[3] = NULL;
    f->lines[3] = 0;
}

/* The expected R, G, B (0..255) of limited- or full-range YCbCr codes with
 * luma weights kr, kb (ITU-R BT.601: 0.299, 0.114; BT.709: 0.2126, 0.0722). */
static void expect_rgb(int y, int u, int v, int full, double kr, double kb, double rgb[3])
{
    const double kg = 1 - kr - kb;
    const double yy = full ? y / 255.0 : (y - 16) / 219.0;
    const double cb = full ? (u - 128) / 255.0 : (u - 128) / 224.0;
    const double cr = full ? (v - 128) / 255.0 : (v - 128) / 224.0;
    const double r = yy + 2 * (1 - kr) * cr, b = yy + 2 * (1 - kb) * cb;
    const double g = (yy - kr * r - kb * b) / kg;
    rgb[0] = 255 * r;
    rgb[1] = 255 * g;
    rgb[2] = 255 * b;
}

/* Converts a constant frame and checks every pixel within tol codes of
 * the equation, alpha 255, and the 64 spare bytes untouched. */
static void check(pf_rgba_converter *c, int y, int u, int v, int cs, int range, int full, double kr,
                  double kb, double tol)
{
    yuv_frame f;
    uint8_t dst[W * H * 4 + 64];
    double want[3];

    fill(&f, y, u, v);
    memset(dst, 0x5a, sizeof dst);
    assert_int_equal(pf_rgba_convert(c, f.planes, f.lines, AV_PIX_FMT_YUV444P, cs, range, W, H, dst,
                                     W * 4, W, H), PF_OK);
    expect_rgb(y, u, v, full, kr, kb, want);
    for (int i = 0; i < W * H; i++) {
        for (int k = 0; k < 3; k++) {
            double e = want[k] < 0 ? 0 : want[k] > 255 ? 255 : want[k];
            if (fabs(dst[i * 4 + k] - e) > tol) {
                fprintf(stderr, "pixel %d channel %d: %d, expected %.1f (yuv %d %d %d, cs %d, range %d)\n",
                        i, k, dst[i * 4 + k], e, y, u, v, cs, range);
                fail();
            }
        }
        assert_int_equal(dst[i * 4 + 3], 255);
    }
}

static void test_yuv_matrix_and_range(void **state)
{
    pf_rgba_converter *c = NULL;
    static const int codes[][3] = {{81, 90, 240}, {145, 54, 34}, {41, 240, 110}, {180, 128, 128},
                                   {16, 128, 128}, {235, 128, 128}};
    (void)state;
    assert_int_equal(pf_rgba_converter_new(&c), PF_OK);
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        const int *q = codes[i];
        /* unspecified matrix: BT.601, limited range */
        check(c, q[0], q[1], q[2], AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_UNSPECIFIED, 0, 0.299, 0.114, 3);
        check(c, q[0], q[1], q[2], AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, 0, 0.2126, 0.0722, 3);
        check(c, q[0], q[1], q[2], AVCOL_SPC_BT709, AVCOL_RANGE_JPEG, 1, 0.2126, 0.0722, 3);
        check(c, q[0], q[1], q[2], AVCOL_SPC_SMPTE170M, AVCOL_RANGE_JPEG, 1, 0.299, 0.114, 3);
    }
    pf_rgba_converter_free(c);
}

/* yuv420p at a width that is not a multiple of 8: every column written
 * (swscale's fast x86 path leaves the last width % 8 unwritten). */
static void test_odd_width_all_columns(void **state)
{
    enum { w = 228 + 3, h = 8 };
    static uint8_t yp[w * h], up[(w + 1) / 2 * h / 2], vp[(w + 1) / 2 * h / 2];
    static uint8_t dst[w * h * 4 + 64];
    const uint8_t *planes[4] = {yp, up, vp, NULL};
    const int lines[4] = {w, (w + 1) / 2, (w + 1) / 2, 0};
    pf_rgba_converter *c = NULL;
    (void)state;
    memset(yp, 200, sizeof yp);
    memset(up, 128, sizeof up);
    memset(vp, 128, sizeof vp);
    memset(dst, 0, sizeof dst);
    assert_int_equal(pf_rgba_converter_new(&c), PF_OK);
    assert_int_equal(pf_rgba_convert(c, planes, lines, AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709,
                                     AVCOL_RANGE_MPEG, w, h, dst, w * 4, w, h), PF_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *px = dst + ((size_t)y * w + x) * 4;
            assert_true(abs(px[0] - 214) <= 2 && abs(px[1] - 214) <= 2 && abs(px[2] - 214) <= 2);
            assert_int_equal(px[3], 255);
        }
    pf_rgba_converter_free(c);
}

/* RGBA in, RGBA out: the same bytes, also after a format change. */
static void test_rgba_passthrough_and_errors(void **state)
{
    uint8_t src[W * H * 4], dst[W * H * 4 + 64];
    const uint8_t *planes[4] = {src, NULL, NULL, NULL};
    const int lines[4] = {W * 4, 0, 0, 0};
    pf_rgba_converter *c = NULL;
    yuv_frame f;
    uint64_t s = 11;
    (void)state;
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)tu_rand(&s);
    assert_int_equal(pf_rgba_converter_new(&c), PF_OK);
    fill(&f, 100, 128, 128);
    assert_int_equal(pf_rgba_convert(c, f.planes, f.lines, AV_PIX_FMT_YUV444P, AVCOL_SPC_BT709,
                                     AVCOL_RANGE_MPEG, W, H, dst, W * 4, W, H), PF_OK);
    assert_int_equal(pf_rgba_convert(c, planes, lines, AV_PIX_FMT_RGBA, AVCOL_SPC_UNSPECIFIED,
                                     AVCOL_RANGE_UNSPECIFIED, W, H, dst, W * 4, W, H), PF_OK);
    assert_memory_equal(dst, src, sizeof src);

    assert_int_equal(pf_rgba_convert(c, planes, lines, -5, 0, 0, W, H, dst, W * 4, W, H), PF_EINVAL);
    assert_int_equal(pf_rgba_convert(c, planes, lines, AV_PIX_FMT_RGBA, 0, 0, W, H, dst, W * 4 - 1,
                                     W, H), PF_EINVAL);
    assert_int_equal(pf_rgba_convert(c, planes, lines, AV_PIX_FMT_RGBA, 0, 0, 0, H, dst, W * 4, W, H),
                     PF_EINVAL);
    assert_int_equal(pf_rgba_convert(NULL, planes, lines, AV_PIX_FMT_RGBA, 0, 0, W, H, dst, W * 4, W,
                                     H), PF_EINVAL);
    /* a bitstream format swscale cannot read */
    assert_int_equal(pf_rgba_convert(c, planes, lines, AV_PIX_FMT_VAAPI, 0, 0, W, H, dst, W * 4, W, H),
                     PF_EFORMAT);
    assert_int_equal(pf_rgba_converter_new(NULL), PF_EINVAL);
    pf_rgba_converter_free(c);
    pf_rgba_converter_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuv_matrix_and_range),
        cmocka_unit_test(test_odd_width_all_columns),
        cmocka_unit_test(test_rgba_passthrough_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
