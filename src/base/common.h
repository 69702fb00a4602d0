/*
 * common.h - internal helpers shared by every module: logging through the
 * user's callback, checked size arithmetic, timing. Not a public header.
 */
#ifndef PF_COMMON_H
#define PF_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pixelfix.h"

/* Where a module sends diagnostics. A zeroed logger is silent. */
typedef struct pfi_logger {
    pf_log_fn fn;
    void *user;
    int level;   /* highest level delivered */
} pfi_logger;

#if defined(__GNUC__)
#define PF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PF_PRINTF(a, b)
#endif

/* Formats and delivers one message (no trailing newline needed). lg may be NULL. */
void pfi_log(const pfi_logger *lg, int level, const char *fmt, ...) PF_PRINTF(3, 4);

/* A logger that keeps the first error line, for a caller that reports a
 * failure once in its own words (with the path, with a hint), and passes
 * the other levels on to next (NULL: dropped). Use pfi_first_error_log as
 * the pf_log_fn with the pfi_first_error as its user. */
typedef struct pfi_first_error {
    const pfi_logger *next;
    char msg[1024];
} pfi_first_error;

void pfi_first_error_log(void *user, int level, const char *msg);

#define pfi_error(lg, ...) pfi_log((lg), PF_LOG_ERROR, __VA_ARGS__)
#define pfi_warn(lg, ...)  pfi_log((lg), PF_LOG_WARN, __VA_ARGS__)
#define pfi_info(lg, ...)  pfi_log((lg), PF_LOG_INFO, __VA_ARGS__)
#define pfi_debug(lg, ...) pfi_log((lg), PF_LOG_DEBUG, __VA_ARGS__)

/* Programmer errors only (never for bad input): prints and aborts. */
#define PF_ASSERT(x)                                                        \
    do {                                                                    \
        if (!(x)) {                                                         \
            fprintf(stderr, "pixelfix: %s:%d: assertion failed: %s\n",      \
                    __FILE__, __LINE__, #x);                                \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* Checked size arithmetic: return 0 and leave *out untouched on overflow. */
static inline int pfi_mul_size(size_t *out, size_t a, size_t b)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* a+b with overflow check, as pfi_mul_size. */
static inline int pfi_add_size(size_t *out, size_t a, size_t b)
{
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

/* a*b*c*d with overflow check; pass 1 for unused factors. */
static inline int pfi_mul4_size(size_t *out, size_t a, size_t b, size_t c, size_t d)
{
    size_t t;
    return pfi_mul_size(&t, a, b) && pfi_mul_size(&t, t, c) && pfi_mul_size(out, t, d);
}

/* malloc of a*b*c*d bytes with overflow check; NULL on overflow or OOM. */
void *pfi_malloc4(size_t a, size_t b, size_t c, size_t d);
/* Same, zero-filled. */
void *pfi_calloc4(size_t a, size_t b, size_t c, size_t d);

/* The q-quantile (0..1, nearest rank below) of v (n); sorts v in place.
 * 0 for n = 0. */
double pfi_quantile_f(float *v, size_t n, double q);

/* Monotonic clock, milliseconds. */
double pfi_now_ms(void);

/* bytes as "512 bytes", "12.3 MiB", "4.0 GiB": the largest unit under which
 * the figure is at least 1, so small figures do not read as 0.0 GiB. */
const char *pfi_fmt_bytes(char buf[32], double bytes);

/* The signal-safe table of temporary files (tempfiles.c) that
 * pf_remove_temp_files() deletes. pfi_temp_claim returns a free slot's name
 * buffer (PF_TEMP_PATH_MAX bytes) and its number in *slot, or NULL and 0
 * when all 32 are taken; write the temp name there, pfi_temp_list(slot),
 * then create the file under that name; pfi_temp_release(slot) once it is
 * renamed or removed. Thread-safe; pf_remove_temp_files is also
 * async-signal-safe. */
#define PF_TEMP_PATH_MAX 4096
char *pfi_temp_claim(int *slot);
void pfi_temp_list(int slot);
void pfi_temp_release(int slot);

static inline int pfi_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline float pfi_clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The 4-neighbours of pixel i of a w x h plane (row-major): left, right,
 * up, down, -1 where one falls outside. */
static inline void pfi_neighbours4(int32_t i, int w, int h, int32_t nb[4])
{
    const int x = i % w, y = i / w;
    nb[0] = x > 0 ? i - 1 : -1;
    nb[1] = x < w - 1 ? i + 1 : -1;
    nb[2] = y > 0 ? i - w : -1;
    nb[3] = y < h - 1 ? i + w : -1;
}

#endif /* PF_COMMON_H */
