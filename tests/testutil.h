/* testutil.h - shared by the cmocka tests: includes, a seeded RNG and
 * temporary folders. Every test binary's exit code is its verdict. */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* xorshift64*: deterministic across platforms. */
static inline uint64_t tu_rand(uint64_t *s)
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}
static inline double tu_uniform(uint64_t *s) { return (double)(tu_rand(s) >> 11) / 9007199254740992.0; }

/* A fresh temporary folder; path written to buf. */
static inline void tu_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/pftest-XXXXXX");
    if (!mkdtemp(buf)) { perror("mkdtemp"); abort(); }
}

/* Removes a folder tree made by tu_tmpdir. */
static inline void tu_rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

static inline int tu_exists(const char *path) { return access(path, F_OK) == 0; }

/* The whole file, malloc'd (one spare byte); *n gets its size. Fails the test if unreadable. */
static inline uint8_t *tu_read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *d;
    long size;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size >= 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    *n = (size_t)size;
    d = malloc(*n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, *n, fp), *n);
    fclose(fp);
    return d;
}

#endif
