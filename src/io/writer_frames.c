/*
 * writer_frames.c - one PNG per frame, either through a "%d"-style name
 * pattern (frame i, 0-based) or into a folder as frame_0000.png, ...
 * The pattern is parsed here and never handed to printf as a format.
 * Streaming: each pushed frame is written (atomically) at once; a discarded
 * stream removes the files it created, and a forced one that completes
 * removes the stale frames an earlier, longer run left under the same
 * names. Not a spritesheet (sheet.c).
 */
#include "io/encode.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATTERN_MAX_WIDTH 16

/* Appends c to buf (n bytes, *len used); -1 when full. */
static int put_char(char *buf, size_t n, size_t *len, char c)
{
    if (*len + 1 >= n) return -1;
    buf[(*len)++] = c;
    buf[*len] = '\0';
    return 0;
}

int pfi_frame_pattern_parse(pfi_frame_pattern *pat, const char *path)
{
    pfi_frame_pattern tmp;
    size_t len = 0;
    int convs = 0;
    char *cur;

    if (!pat) pat = &tmp;
    memset(pat, 0, sizeof *pat);
    cur = pat->prefix;
    for (const char *p = path; *p; p++) {
        int zero = 0, width = 0;
        if (*p != '%') {
            if (put_char(cur, sizeof pat->prefix, &len, *p) < 0) return -1;
            continue;
        }
        p++;
        if (*p == '%') {   /* literal percent */
            if (put_char(cur, sizeof pat->prefix, &len, '%') < 0) return -1;
            continue;
        }
        /* Only [0][width](d|i): no '-', '+', ' ', '#', '*', '.', length
         * modifiers, positional arguments or other conversions. */
        if (*p == '0') {
            zero = 1;
            p++;
        }
        while (*p >= '0' && *p <= '9') {
            width = width * 10 + (*p - '0');
            if (width > PATTERN_MAX_WIDTH) return -1;
            p++;
        }
        if (*p != 'd' && *p != 'i') return -1;
        if (++convs > 1) return -1;
        pat->zero = zero;
        pat->width = width;
        cur = pat->suffix;
        len = 0;
    }
    return convs;
}

int pfi_frame_pattern_format(const pfi_frame_pattern *pat, int i, char *out, size_t n)
{
    char num[32];
    int r;
    /* Our own fixed format strings only; the user's text is copied. */
    if (pat->zero) r = snprintf(num, sizeof num, "%0*d", pat->width, i);
    else r = snprintf(num, sizeof num, "%*d", pat->width, i);
    if (r < 0 || (size_t)r >= sizeof num) return -1;
    r = snprintf(out, n, "%s%s%s", pat->prefix, num, pat->suffix);
    return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* Frame i's file name: the pattern, or dir/frame_%04d.png. */
static int frame_name(const pfi_frame_pattern *pat, const char *dir, int i, char *out, size_t n)
{
    int r;
    if (pat) return pfi_frame_pattern_format(pat, i, out, n);
    r = snprintf(out, n, "%s%sframe_%04d.png", dir,
                 dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", i);
    return r < 0 || (size_t)r >= n ? -1 : 0;
}

struct pfi_frames_stream {
    pfi_frame_pattern pat;    /* used when has_pat */
    int has_pat;
    char *dir;               /* the folder otherwise */
    int made_dir;            /* this stream created the folder */
    int w, h, force;         /* frame size, pixels */
    pfi_file_id input;        /* never written over nor removed */
    pfi_logger lg;
    const pfi_logger *lgp;    /* &lg, or NULL when the caller gave none */
    int count, cap;          /* frames written, fresh[] allocated */
    uint8_t *fresh;          /* (count) 1 = file did not exist before */
    pf_status err;           /* first failure; sticky */
};

/* Frame i's name into out; PF_EOUTPUT (logged) when it does not fit. */
static pf_status stream_name(const pfi_frames_stream *f, int i, char *out, size_t n)
{
    if (frame_name(f->has_pat ? &f->pat : NULL, f->dir, i, out, n) == 0) return PF_OK;
    pfi_error(f->lgp, "output path too long: '%s'", f->dir);
    return PF_EOUTPUT;
}

/* PF_EOUTPUT (logged) when name is the input file. */
static pf_status not_input(const pfi_frames_stream *f, const char *name)
{
    if (!pfi_same_file(name, &f->input)) return PF_OK;
    pfi_error(f->lgp, "'%s' is the input file; pixelfix never writes over its input, "
             "not even with --force", name);
    return PF_EOUTPUT;
}

/* Parses the pattern or creates the folder (one level), then checks that
 * frame 0 could be written now. Errors: PF_EINVAL (bad pattern or size),
 * PF_EEXIST, PF_EOUTPUT, PF_ENOMEM; all logged. */
pf_status pfi_frames_stream_open(pfi_frames_stream **out, const char *path, int width, int height,
                                const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_frames_stream *f;
    char name[4096];
    size_t bytes;
    struct stat sb;
    pf_status st;
    int kind;

    PF_ASSERT(out);
    *out = NULL;
    if (!path || !*path || width <= 0 || height <= 0 ||
        !pfi_mul4_size(&bytes, (size_t)width, (size_t)height, 4, 1))
        return PF_EINVAL;
    if (!(f = calloc(1, sizeof *f)) || !(f->dir = strdup(path))) {
        free(f);
        return PF_ENOMEM;
    }
    if (lg) {
        f->lg = *lg;
        f->lgp = &f->lg;
    }
    lg = f->lgp;
    f->w = width;
    f->h = height;
    f->force = o ? o->force : 0;
    if (o) f->input = o->input;
    kind = pfi_frame_pattern_parse(&f->pat, path);
    if (kind < 0) {
        pfi_error(lg, "bad frame name pattern '%s': use exactly one %%d (or %%04d), and %%%% "
                 "for a literal percent sign", path);
        st = PF_EINVAL;
        goto fail;
    }
    f->has_pat = kind == 1;
    if (!f->has_pat) {
        if (stat(path, &sb) != 0) {
            if (errno != ENOENT || mkdir(path, 0777) != 0) {
                pfi_error(lg, "cannot create the folder '%s': %s", path, strerror(errno));
                st = PF_EOUTPUT;
                goto fail;
            }
            f->made_dir = 1;
        } else if (!S_ISDIR(sb.st_mode)) {
            pfi_error(lg, "'%s' is not a folder", path);
            st = PF_EOUTPUT;
            goto fail;
        }
    }
    /* Refuse now rather than after the caller's work. */
    if ((st = stream_name(f, 0, name, sizeof name)) < 0 || (st = not_input(f, name)) < 0 ||
        (st = pfi_outfile_probe(name, f->force, lg)) < 0)
        goto fail;
    *out = f;
    return PF_OK;
fail:
    pfi_frames_stream_close(f, 0);
    return st;
}

/* Frames count .. count + n - 1: PF_EEXIST (logged) if one exists and
 * !force, PF_EOUTPUT if a name does not fit or is the input. Touches
 * nothing. */
pf_status pfi_frames_stream_check(pfi_frames_stream *f, int n)
{
    char name[4096];
    struct stat sb;
    pf_status st;

    PF_ASSERT(f && n >= 0 && n <= INT_MAX - f->count);
    for (int i = f->count; i < f->count + n; i++) {
        if ((st = stream_name(f, i, name, sizeof name)) < 0) return st;
        if ((st = not_input(f, name)) < 0) return st;
        if (!f->force && lstat(name, &sb) == 0) {
            pfi_error(f->lgp, "'%s' exists; use --force to overwrite it", name);
            return PF_EEXIST;
        }
    }
    return PF_OK;
}

/* Writes frame `count` (RGBA8 (h, w, 4)) as its own PNG, atomically.
 * Errors: PF_EINVAL (NULL rgba; not sticky), PF_EEXIST, PF_EOUTPUT,
 * PF_ENOMEM (sticky). */
pf_status pfi_frames_stream_push(pfi_frames_stream *f, const uint8_t *rgba)
{
    char name[4096];
    struct stat sb;
    pf_status st;
    int fresh;

    PF_ASSERT(f);
    if (f->err < 0) return f->err;
    if (!rgba) return PF_EINVAL;
    if (f->count == INT_MAX) {
        st = PF_ENOMEM;
        goto fail;
    }
    if (f->count == f->cap) {
        int ncap = f->cap > INT_MAX / 2 ? INT_MAX : f->cap ? f->cap * 2 : 64;
        uint8_t *nf = realloc(f->fresh, (size_t)ncap);
        if (!nf) {
            st = PF_ENOMEM;
            goto fail;
        }
        f->fresh = nf;
        f->cap = ncap;
    }
    if ((st = stream_name(f, f->count, name, sizeof name)) < 0) goto fail;
    if ((st = not_input(f, name)) < 0) goto fail;
    fresh = lstat(name, &sb) != 0;
    if ((st = pfi_png_write(name, rgba, f->w, f->h, f->force)) < 0) {
        if (st == PF_EEXIST) pfi_error(f->lgp, "'%s' exists (or was just created by someone else); "
                                      "use --force to overwrite it", name);
        else pfi_error(f->lgp, "cannot write '%s': %s", name, strerror(errno));
        goto fail;
    }
    f->fresh[f->count++] = (uint8_t)fresh;
    return PF_OK;
fail:
    f->err = st;
    return st;
}

/* After a forced run: removes the regular files in the frames' folder that
 * the pattern names for frames count and on (an earlier run's, which would
 * otherwise pass for this clip's), never another name nor the input. */
static void remove_stale(pfi_frames_stream *f)
{
    pfi_frame_pattern pat;
    char dir[4096], name[4096], path[8200];
    const char *slash;
    size_t plen, slen;
    struct dirent *de;
    struct stat sb;
    DIR *d;

    if (f->has_pat) {
        pat = f->pat;
    } else {
        memset(&pat, 0, sizeof pat);
        if (stream_name(f, 0, name, sizeof name) < 0) return;
        snprintf(pat.prefix, sizeof pat.prefix, "%.*s", (int)(strlen(name) - strlen("0000.png")), name);
        strcpy(pat.suffix, ".png");
        pat.width = 4;
        pat.zero = 1;
    }
    if (strchr(pat.suffix, '/')) return;   /* a folder per frame: not ours to sweep */
    slash = strrchr(pat.prefix, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - pat.prefix + 1), pat.prefix);
    else strcpy(dir, "./");
    memmove(pat.prefix, slash ? slash + 1 : pat.prefix, strlen(slash ? slash + 1 : pat.prefix) + 1);
    plen = strlen(pat.prefix);
    slen = strlen(pat.suffix);
    if (!(d = opendir(dir))) return;
    while ((de = readdir(d))) {
        const char *num = de->d_name + plen;
        size_t n = strlen(de->d_name);
        char *end;
        long i;
        if (n <= plen + slen || strncmp(de->d_name, pat.prefix, plen) != 0 ||
            strcmp(de->d_name + n - slen, pat.suffix) != 0)
            continue;
        while (*num == ' ') num++;
        if (*num < '0' || *num > '9') continue;
        errno = 0;
        i = strtol(num, &end, 10);
        if (errno || i < f->count || i > INT_MAX || end != de->d_name + n - slen) continue;
        /* exactly the name frame i gets, so "f_012.png" is not "f_%d.png"'s */
        if (pfi_frame_pattern_format(&pat, (int)i, name, sizeof name) < 0 || strcmp(name, de->d_name) != 0)
            continue;
        snprintf(path, sizeof path, "%s%s", dir, de->d_name);
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || pfi_same_file(path, &f->input)) continue;
        if (unlink(path) == 0) pfi_debug(f->lgp, "removed the stale frame '%s'", path);
        else pfi_warn(f->lgp, "cannot remove the stale frame '%s': %s", path, strerror(errno));
    }
    closedir(d);
}

/* commit: keeps the files (each already in place), and with force removes
 * stale frames (remove_stale). Otherwise, or after a
 * failed push, removes the files this stream created and its folder if it
 * made it and it is empty; overwritten files cannot come back. Frees f
 * (NULL is fine). Errors (commit only): the sticky push error, PF_EINVAL
 * when no frame was written. */
pf_status pfi_frames_stream_close(pfi_frames_stream *f, int commit)
{
    char name[4096];
    pf_status st;

    if (!f) return PF_OK;
    st = commit ? f->err : PF_OK;
    if (commit && st == PF_OK && f->count == 0) {
        pfi_error(f->lgp, "nothing to write: the animation has no frames");
        st = PF_EINVAL;
    }
    if (commit && st == PF_OK && f->force) remove_stale(f);
    if (!commit || st < 0) {
        for (int i = 0; i < f->count; i++)
            if (f->fresh[i] && stream_name(f, i, name, sizeof name) == 0) unlink(name);
        if (f->made_dir) rmdir(f->dir);
    }
    free(f->fresh);
    free(f->dir);
    free(f);
    return st;
}

/* a (count, H, W, 4) RGBA8 -> one RGBA PNG per frame (frame i, 0-based),
 * each atomic, through the stream above; every target is checked before
 * the first is written, and on failure the files (and folder) this call
 * created are removed again. Errors: PF_EINVAL (no frames, bad pattern),
 * PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_write_frames(const char *path, const pfi_anim *a,
                          const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_frames_stream *f = NULL;
    pf_status st, c;

    if (!path || !*path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pfi_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    for (int i = 0; i < a->count; i++)
        if (!a->frames[i].rgba) return PF_EINVAL;
    if ((st = pfi_frames_stream_open(&f, path, a->width, a->height, o, lg)) < 0) return st;
    st = pfi_frames_stream_check(f, a->count);
    for (int i = 0; st == PF_OK && i < a->count; i++)
        st = pfi_frames_stream_push(f, a->frames[i].rgba);
    c = pfi_frames_stream_close(f, st == PF_OK);
    return st < 0 ? st : c;
}
