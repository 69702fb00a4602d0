/* test_stream.c - pf_stream over time: a drawing that a video-model clip
 * holds for several frames (noise, codec and a sub-pixel drift changing
 * underneath) comes out as identical frames, so --dedupe can merge them.
 * Procedural sprites through the trainer's degradation, classical path. */
#include "testutil.h"

#include "train/degrade.h"
#include "train/synth.h"

/* Restores one held video-model clip; counts the output pairs whose input
 * frames show the same clean frame (held) and how many of them are
 * identical, and the changed pixels of the worst held pair. */
static void held_pairs(uint64_t clip_seed, uint64_t deg_seed, int *held, int *same, double *worst)
{
    pf_anim clean = {0}, deg = {0};
    pf_degrade dp;
    pf_degrade_geom geom = {0};
    assert_int_equal(pf_synth_clip(&clean, 40, 40, 6, clip_seed, NULL), PF_OK);
    pf_degrade_draw(&dp, PF_DKIND_VIDEO_MODEL, deg_seed);
    dp.hold = 2;
    dp.hold_max = 3;
    assert_int_equal(pf_degrade_clip(&dp, &clean, &deg, &geom, NULL), PF_OK);

    pf_params p = pf_default_params();
    p.use_model = 0;
    pf_stream *st = NULL;
    pf_stream_frame f;
    uint8_t *prev = NULL;
    int n = 0;
    size_t len = 0;
    assert_int_equal(pf_stream_open(&st, deg.width, deg.height, &p, NULL), PF_OK);
    for (int t = 0; t <= deg.count; t++) {
        if (t < deg.count)
            assert_int_equal(pf_stream_push(st, deg.frames[t].rgba, deg.width * 4, t * 42, 42), PF_OK);
        else
            assert_int_equal(pf_stream_finish(st), PF_OK);
        while (pf_stream_pull(st, &f) == PF_OK) {
            len = (size_t)f.width * f.height * 4;
            if (prev && geom.src[n] == geom.src[n - 1]) {
                size_t diff = 0;
                for (size_t i = 0; i < len; i += 4) diff += memcmp(prev + i, f.rgba + i, 4) != 0;
                (*held)++;
                *same += diff == 0;
                if ((double)diff / (double)(len / 4) > *worst) *worst = (double)diff / (double)(len / 4);
            }
            if (!prev) prev = malloc(len);
            assert_non_null(prev);
            memcpy(prev, f.rgba, len);
            n++;
        }
    }
    assert_int_equal(n, deg.count);
    free(prev);
    pf_stream_close(st);
    pf_degrade_geom_free(&geom);
    pf_anim_free(&deg);
    pf_anim_free(&clean);
}

static void test_held_frames_identical(void **state)
{
    (void)state;
    int held = 0, same = 0;
    double worst = 0;
    for (uint64_t q = 0; q < 4; q++) held_pairs(310 + q, 4100 + q, &held, &same, &worst);
    fprintf(stderr, "stream: video-model clips: %d of %d held pairs identical, worst %.2f%% of pixels changed\n",
            same, held, worst * 100);
    assert_true(held >= 12);
    assert_true(same * 10 >= held * 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_frames_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
