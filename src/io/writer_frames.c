/*
 * writer_frames.c - one PNG per frame, either through a "%d"-style name
 * pattern (frame i, 0-based) or into a folder as frame_0000.png, ...
 * The pattern is parsed here and never handed to printf as a format.
 * Not a spritesheet (sheet.c).
 */
#include "encode.h"

#include <errno.h>
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

int pf_frame_pattern_parse(pf_frame_pattern *pat, const char *path)
{
    pf_frame_pattern tmp;
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

int pf_frame_pattern_format(const pf_frame_pattern *pat, int i, char *out, size_t n)
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
static int frame_name(const pf_frame_pattern *pat, const char *dir, int i, char *out, size_t n)
{
    int r;
    if (pat) return pf_frame_pattern_format(pat, i, out, n);
    r = snprintf(out, n, "%s%sframe_%04d.png", dir,
                 dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", i);
    return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* a (count, H, W, 4) RGBA8 -> one RGBA PNG per frame (frame i, 0-based),
 * each atomic; every target is checked before the first is written, and
 * files this call created are removed again on failure. Errors: PF_EINVAL
 * (bad pattern), PF_EEXIST, PF_EOUTPUT, PF_ENOMEM. */
pf_status pf_write_frames(const char *path, const pf_anim *a,
                          const pf_write_opts *o, const pf_logger *lg)
{
    pf_frame_pattern *pat = NULL;
    char name[4096];
    uint8_t *fresh = NULL;   /* (count) 1 = file did not exist before */
    int force = o ? o->force : 0, written = 0, kind;
    pf_status st;
    struct stat sb;

    if (!path || !*path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pf_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    if (!(pat = malloc(sizeof *pat)) || !(fresh = calloc((size_t)a->count, 1))) {
        st = PF_ENOMEM;
        goto fail;
    }
    kind = pf_frame_pattern_parse(pat, path);
    if (kind < 0) {
        pf_error(lg, "bad frame name pattern '%s': use exactly one %%d (or %%04d), and %%%% "
                 "for a literal percent sign", path);
        st = PF_EINVAL;
        goto fail;
    }
    if (kind == 0) {
        /* A folder, created if missing (one level). */
        free(pat);
        pat = NULL;
        if (stat(path, &sb) != 0) {
            if (errno != ENOENT || mkdir(path, 0777) != 0) {
                pf_error(lg, "cannot create the folder '%s': %s", path, strerror(errno));
                st = PF_EOUTPUT;
                goto fail;
            }
        } else if (!S_ISDIR(sb.st_mode)) {
            pf_error(lg, "'%s' is not a folder", path);
            st = PF_EOUTPUT;
            goto fail;
        }
    }

    /* Refuse before writing anything, so that no partial set is left. */
    for (int i = 0; i < a->count; i++) {
        if (!a->frames[i].rgba) {
            st = PF_EINVAL;
            goto fail;
        }
        if (frame_name(pat, path, i, name, sizeof name) < 0) {
            pf_error(lg, "output path too long: '%s'", path);
            st = PF_EOUTPUT;
            goto fail;
        }
        fresh[i] = lstat(name, &sb) != 0;
        if (!fresh[i] && !force) {
            pf_error(lg, "'%s' exists; use --force to overwrite it", name);
            st = PF_EEXIST;
            goto fail;
        }
    }
    for (int i = 0; i < a->count; i++) {
        frame_name(pat, path, i, name, sizeof name);
        if ((st = pf_png_write(name, a->frames[i].rgba, a->width, a->height, force)) < 0) {
            if (st == PF_EEXIST) pf_error(lg, "'%s' exists; use --force to overwrite it", name);
            else pf_error(lg, "cannot write '%s': %s", name, strerror(errno));
            goto fail;
        }
        written = i + 1;
    }
    st = PF_OK;
    goto done;
fail:
    /* Remove the frames this call created; overwritten ones cannot come back. */
    for (int i = 0; i < written; i++)
        if (fresh[i] && frame_name(pat, path, i, name, sizeof name) == 0) unlink(name);
done:
    free(pat);
    free(fresh);
    return st;
}
