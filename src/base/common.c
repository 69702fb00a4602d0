/* common.c - logging, checked allocation and the clock (see common.h). */
#define _POSIX_C_SOURCE 200809L
#include "base/common.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

void pfi_log(const pfi_logger *lg, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!lg || !lg->fn || level > lg->level) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lg->fn(lg->user, level, buf);
}

void pfi_first_error_log(void *user, int level, const char *msg)
{
    pfi_first_error *fe = user;
    if (level != PF_LOG_ERROR) pfi_log(fe->next, level, "%s", msg);
    else if (!fe->msg[0]) snprintf(fe->msg, sizeof fe->msg, "%s", msg);
}

const char *pfi_fmt_bytes(char buf[32], double bytes)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = -1;
    if (bytes < 1024) {
        snprintf(buf, 32, "%.0f bytes", bytes);
        return buf;
    }
    while (bytes >= 1024 && u < 5) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, 32, "%.1f %s", bytes, units[u]);
    return buf;
}

void *pfi_malloc4(size_t a, size_t b, size_t c, size_t d)
{
    size_t n;
    if (!pfi_mul4_size(&n, a, b, c, d)) return NULL;
    return malloc(n ? n : 1);
}

void *pfi_calloc4(size_t a, size_t b, size_t c, size_t d)
{
    size_t n;
    if (!pfi_mul4_size(&n, a, b, c, d)) return NULL;
    return calloc(n ? n : 1, 1);
}

double pfi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_float_asc(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

double pfi_quantile_f(float *v, size_t n, double q)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_float_asc);
    const double pos = (q < 0 ? 0 : q > 1 ? 1 : q) * (double)(n - 1);
    return v[(size_t)pos];
}
