/*
 * fuzz_util.h - what the libFuzzer harnesses share: small resource limits,
 * a private scratch folder, writing the input to a file, and draining a
 * reader. Header-only so each harness is one translation unit; the same
 * harness builds with clang -fsanitize=fuzzer (make fuzz) and with the
 * replay driver replay.c (make check, tests/regress.sh).
 */
#ifndef PF_FUZZ_UTIL_H
#define PF_FUZZ_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Limits that keep one execution small (a 1024x1024 canvas, 64 frames,
 * 256 MiB decoded, 8 MiB model) while still reaching every code path. */
static inline pf_limits fuzz_limits(void)
{
    pf_limits lim = pf_default_limits();
    lim.max_pixels = 1024 * 1024;
    lim.max_frames = 64;
    lim.max_decoded_bytes = 256 << 20;
    lim.max_model_bytes = 8 << 20;
    return lim;
}

static char fuzz_dir_path[64];

/* Removes path and, if it is a folder, what it holds (no symlinks followed). */
static inline void fuzz_rm_tree(const char *path)
{
    struct stat sb;
    DIR *d;
    struct dirent *e;
    char sub[4096];

    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode) && (d = opendir(path))) {
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                fuzz_rm_tree(sub);
            }
        closedir(d);
    }
    remove(path);
}

/* atexit: removes the scratch folder and what the harness left in it. */
static inline void fuzz_rm_dir(void)
{
    if (fuzz_dir_path[0]) fuzz_rm_tree(fuzz_dir_path);
}

/* A scratch folder of this process, made on first use (mkdtemp) and
 * removed at exit. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "/tmp/pf-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir_path)) { perror("mkdtemp"); abort(); }
        atexit(fuzz_rm_dir);
    }
    return fuzz_dir_path;
}

/* dir/name into buf. */
static inline const char *fuzz_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Writes size bytes to path, replacing it; aborts on failure (the harness's
 * own I/O failing is not a finding). */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || (size && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

/* Opens data as an in-memory file and decodes every frame the limits allow,
 * touching each pixel so the sanitizers see reads of the whole canvas. */
static inline void fuzz_read_mem(const uint8_t *data, size_t size)
{
    pf_limits lim = fuzz_limits();
    pfi_reader *r = NULL;
    pfi_frame f;
    unsigned sum = 0;

    if (pfi_reader_open_mem(&r, data, size, "fuzz", &lim, 1, NULL) != PF_OK) return;
    while (pfi_reader_next(r, &f) == PF_OK) {
        size_t n = (size_t)pfi_reader_width(r) * (size_t)pfi_reader_height(r) * 4;
        for (size_t i = 0; i < n; i += 61) sum += f.rgba[i];
        sum += f.rgba[n - 1];
        if (f.duration_ms <= 0) abort();   /* the reader's promise */
    }
    pfi_reader_close(r);
    if (sum == 0xdeadbeefu) fputc(' ', stderr);   /* keep the reads */
}

#endif /* PF_FUZZ_UTIL_H */
