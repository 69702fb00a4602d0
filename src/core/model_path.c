/*
 * model_path.c - pf_model_default_path(): the one search for the default
 * model. The CLI, pf_restore_file() and the FFmpeg filter all call it, so
 * the same input gives the same frames whichever of them runs it, built or
 * installed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"

#ifndef PF_DATADIR
#define PF_DATADIR "/usr/local/share/pixelfix/models"
#endif
#define PF_MODEL_FILE "pixelfix-v6.safetensors"

/* out = dir/rel, made absolute and free of "..", when it is a readable
 * regular file. */
static int found(char *out, const char *dir, const char *rel)
{
    char path[PATH_MAX];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (n <= 0 || (size_t)n >= sizeof path || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        access(path, R_OK) != 0)
        return 0;
    if (!realpath(path, out)) memcpy(out, path, (size_t)n + 1);
    return 1;
}

const char *pf_model_default_path(void)
{
    static _Thread_local char buf[PATH_MAX];
    char exe[PATH_MAX];
    const char *env = getenv("PIXELFIX_MODEL");
    if (env && *env) return env;

    /* Relative to the running program, not a prefix fixed at build time:
     * `make install PREFIX=/usr` after a /usr/local build, or DESTDIR,
     * must still find the model it installed. */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = 0;   /* the program's folder */
        if (found(buf, exe, "models/" PF_MODEL_FILE)) return buf;   /* ./pixelfix in the tree */
#ifdef PF_SRCDIR
        /* a program anywhere under the source tree (build/ffmpeg/ffmpeg) */
        char src[PATH_MAX];
        if (realpath(PF_SRCDIR, src)) {
            size_t len = strlen(src);
            if (strncmp(exe, src, len) == 0 && (exe[len] == '/' || exe[len] == 0) &&
                found(buf, src, "models/" PF_MODEL_FILE))
                return buf;
        }
#endif
        if (found(buf, exe, "../share/pixelfix/models/" PF_MODEL_FILE)) return buf;
    }
    if (found(buf, PF_DATADIR, PF_MODEL_FILE)) return buf;
    return NULL;
}
