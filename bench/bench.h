/* bench.h - helpers shared by the bench binaries (bench/bench_*.c): the
 * line protocol on stdout, quick mode, seeded random buffers, where the
 * cached inputs live, and the shipped model's path. Header-only (static
 * inline), since the Makefile builds every bench binary from one file.
 *
 * Line protocol (bench/run.sh collects stdout, bench/report.py reads it):
 *   "NAME VALUE UNIT"   one figure, VALUE a number;
 *   "info KEY TEXT..."  one line of text about the run (config, commands).
 * Progress and anything else goes to stderr.
 */
#ifndef PF_BENCH_H
#define PF_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

/* The model every end-to-end and per-stage figure uses, relative to the
 * repository root (bench binaries run from there). */
#define BENCH_MODEL "models/pixelfix-v6.safetensors"
/* The sample the clips are made from (bench/make-clip.py). */
#define BENCH_CLIP_SOURCE "samples/guy-walk-video.gt.webp"

/* BENCH_QUICK=1 in the environment: fewer frames and repetitions, for
 * checking that the bench works; the figures are not for the README. */
static inline int bench_quick(void)
{
    const char *q = getenv("BENCH_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static inline void *bench_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* n floats uniform in [lo, hi) from a xorshift64* stream seeded by *s
 * (updated): reproducible inputs. */
static inline float *bench_rnd(size_t n, uint64_t *s, float lo, float hi)
{
    float *p = bench_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
        p[i] = lo + (hi - lo) * (float)((*s * 2685821657736338717ULL) >> 40) / 16777216.0f;
    }
    return p;
}

/* The folder holding the binary argv0 (cached inputs live beside the
 * bench binaries, in build/bench/), or "." when argv0 has no slash. */
static inline void bench_dir(char *dir, size_t cap, const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    if (slash) snprintf(dir, cap, "%.*s", (int)(slash - argv0), argv0);
    else snprintf(dir, cap, ".");
}

/* One figure: "name value unit", flushed at once so that a bench cut short
 * still leaves what it measured. name is printf-formatted. */
static inline void bench_figure(double value, const char *unit, const char *fmt, ...) PF_PRINTF(3, 4);
static inline void bench_figure(double value, const char *unit, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" %.6g %s\n", value, unit);
    fflush(stdout);
}

/* One line of text: "info key text". text must not hold a newline. */
static inline void bench_info(const char *key, const char *text)
{
    printf("info %s %s\n", key, text);
    fflush(stdout);
}

#endif /* PF_BENCH_H */
