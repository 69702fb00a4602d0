/* test_params.c - option values of the public API: pf_default_params()
 * gives the documented defaults, and pf_parse_color() reads the colours
 * --background and the filter's background/matte take. */
#include "testutil.h"

#include "pixelfix.h"

static void test_defaults(void **state)
{
    (void)state;
    pf_params p = pf_default_params();
    assert_int_equal(p.window, 8);
    assert_int_equal(p.overlap, 2);
    assert_true(2 * p.overlap <= p.window);
    assert_int_equal(p.background, PF_BG_AUTO);
    assert_int_equal(p.limits.max_memory, (int64_t)1 << 30);
}

/* input_fps outside 0.1..1000 (0 = the default 24) is refused before any
 * file is opened. */
static void test_input_fps_range(void **state)
{
    (void)state;
    pf_params p = pf_default_params();
    assert_true(p.input_fps == 0);
    const double bad[] = {-1, 0.05, 1000.5, 1e9};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p.input_fps = bad[i];
        assert_int_equal(pf_restore_file("/nonexistent/frames", "/nonexistent/out.gif", &p, NULL), PF_EINVAL);
    }
    p.input_fps = 12;   /* in range: now the missing input is the error */
    assert_int_not_equal(pf_restore_file("/nonexistent/frames", "/nonexistent/out.gif", &p, NULL), PF_EINVAL);
}

static void test_parse_color(void **state)
{
    (void)state;
    uint8_t rgb[3] = {1, 2, 3};
    static const struct { const char *s; uint8_t rgb[3]; } ok[] = {
        {"#ff00ff", {255, 0, 255}}, {"00FF7f", {0, 255, 127}}, {"#abc", {0xaa, 0xbb, 0xcc}},
        {"123", {0x11, 0x22, 0x33}}, {"Magenta", {255, 0, 255}}, {"WHITE", {255, 255, 255}},
        {"black", {0, 0, 0}}, {"yellow", {255, 255, 0}},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(pf_parse_color(ok[i].s, rgb), PF_OK);
        assert_memory_equal(rgb, ok[i].rgb, 3);
    }
    static const char *bad[] = {"", "#", "#12", "#1234", "#12345g", "ff00ff00", "purplish", "# fff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(rgb, (uint8_t[3]){7, 8, 9}, 3);
        assert_int_equal(pf_parse_color(bad[i], rgb), PF_EINVAL);
        assert_memory_equal(rgb, ((uint8_t[3]){7, 8, 9}), 3);   /* untouched */
    }
    assert_int_equal(pf_parse_color(NULL, rgb), PF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_color),
        cmocka_unit_test(test_input_fps_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
