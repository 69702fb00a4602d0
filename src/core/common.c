/* common.c - logging, checked allocation and the clock (see common.h). */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

void pf_log(const pf_logger *lg, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!lg || !lg->fn || level > lg->level) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lg->fn(lg->user, level, buf);
}

void *pf_malloc4(size_t a, size_t b, size_t c, size_t d)
{
    size_t n;
    if (!pf_mul4_size(&n, a, b, c, d)) return NULL;
    return malloc(n ? n : 1);
}

void *pf_calloc4(size_t a, size_t b, size_t c, size_t d)
{
    size_t n;
    if (!pf_mul4_size(&n, a, b, c, d)) return NULL;
    return calloc(n ? n : 1, 1);
}

double pf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
