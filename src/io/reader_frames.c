/*
 * reader_frames.c - the PNG-frame back end of the streaming reader: a
 * folder of PNG files (in natural name order, so frame2 comes before
 * frame10) or a printf pattern such as f_%04d.png (numbered from the first
 * of 0..4 that exists, as FFmpeg's image2 demuxer starts, until a number is
 * missing). Tools that render frame by frame (ComfyUI, Blender) write
 * these. PNG has no frame timing: frames run at r->fps (pfi_reader_set_fps,
 * default PF_FRAMES_FPS), each pts rounded down to a whole ms. One frame
 * is decoded at a time.
 */
#include "io/reader_impl.h"

#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define FRAMES_FIRST_MAX 4   /* a pattern's first number is one of 0..4 */

typedef struct frames_impl {
    char **names;     /* folder: sorted file names; NULL for a pattern */
    int64_t count;    /* folder: files; pattern: -1 until the end is met */
    int64_t first;    /* pattern: the first number */
    int64_t next;     /* index of the next frame */
    uint8_t *buf;     /* (H, W, 4): the last frame handed out */
    int first_ready;  /* buf holds frame 0, decoded at open for its size */
} frames_impl;

/* The position just past a printf integer conversion ("%d", "%04d") in s,
 * or NULL. "%%" is a literal percent sign. */
static const char *int_conversion(const char *s)
{
    for (const char *p = strchr(s, '%'); p; p = strchr(p, '%')) {
        if (p[1] == '%') {
            p += 2;
            continue;
        }
        const char *q = p + 1;
        if (*q == '0') q++;
        while (*q >= '0' && *q <= '9') q++;
        if (*q == 'd') return q + 1;
        p = q;
    }
    return NULL;
}

int pfi_frames_is_pattern(const char *path)
{
    const char *end = int_conversion(path);
    return end && !int_conversion(end);   /* exactly one number */
}

int pfi_frames_input(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0) return S_ISDIR(sb.st_mode);
    return pfi_frames_is_pattern(path);
}

/* Natural order: runs of digits compare by value, the rest bytewise. */
static int cmp_natural(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa, *b = *(const unsigned char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t na = 0, nb = 0;
            while (a[na] >= '0' && a[na] <= '9') na++;
            while (b[nb] >= '0' && b[nb] <= '9') nb++;
            if (na != nb) return na < nb ? -1 : 1;
            int c = memcmp(a, b, na);
            if (c) return c;
            a += na;
            b += nb;
            continue;
        }
        if (*a != *b) return *a < *b ? -1 : 1;
        a++;
        b++;
    }
    if (*a || *b) return *a ? 1 : -1;
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int is_png_name(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && strcasecmp(s + n - 4, ".png") == 0 && s[0] != '.';
}

/* Frame i's path into out (n bytes). 0, or -1 when it does not fit. */
static int frame_path(const pfi_reader *r, const frames_impl *f, int64_t i, char *out, size_t n)
{
    int k;
    if (f->names) {
        const size_t len = strlen(r->path);
        k = snprintf(out, n, "%s%s%s", r->path, len && r->path[len - 1] == '/' ? "" : "/", f->names[i]);
    } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        k = snprintf(out, n, r->path, (int)(f->first + i));   /* checked: one %d conversion */
#pragma GCC diagnostic pop
    }
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

static void frames_close(pfi_reader *r)
{
    frames_impl *f = r->impl;
    if (!f) return;
    if (f->names)
        for (int64_t i = 0; i < f->count; i++) free(f->names[i]);
    free(f->names);
    free(f->buf);
    free(f);
    r->impl = NULL;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static pf_status frames_next(pfi_reader *r, pfi_frame *fr)
{
    frames_impl *f = r->impl;
    char path[4096];
    uint8_t *px = NULL;
    int w, h;
    pf_status st;

    if (f->count >= 0 && f->next >= f->count) return PF_DONE;
    if (f->first_ready) {
        f->first_ready = 0;
        goto hand_out;
    }
    if (frame_path(r, f, f->next, path, sizeof path) < 0) {
        pfi_error(&r->lg, "'%s': frame %lld's file name is too long", r->path, (long long)f->next + 1);
        return PF_EIO;
    }
    if (!f->names && !exists(path)) {
        f->count = f->next;
        return PF_DONE;
    }
    if ((st = pfi_png_read(path, &px, &w, &h, &r->lim)) < 0) {
        pfi_error(&r->lg, "'%s': cannot read frame %lld, '%s'", r->path, (long long)f->next + 1, path);
        return st;
    }
    if (w != r->width || h != r->height) {
        pfi_error(&r->lg, "'%s' is %dx%d, the first frame %dx%d: every frame must have one size", path, w, h,
                 r->width, r->height);
        free(px);
        return PF_EFORMAT;
    }
    memcpy(f->buf, px, (size_t)w * h * 4);
    free(px);
hand_out:
    fr->rgba = f->buf;
    const double fps = r->fps > 0 ? r->fps : PF_FRAMES_FPS;
    fr->pts_ms = (int64_t)floor(f->next * 1000.0 / fps);
    fr->duration_ms = (int)((int64_t)floor((f->next + 1) * 1000.0 / fps) - fr->pts_ms);
    if (fr->duration_ms < 1) fr->duration_ms = 1;
    f->next++;
    return PF_OK;
}

static const pfi_reader_vt frames_vt = {frames_next, frames_close};

/* Lists a folder's PNG files in natural order. */
static pf_status list_folder(pfi_reader *r, frames_impl *f)
{
    DIR *d = opendir(r->path);
    struct dirent *e;
    int64_t cap = 0;
    pf_status st = PF_OK;

    if (!d) {
        pfi_error(&r->lg, "cannot open folder '%s': %s", r->path, strerror(errno));
        return PF_EIO;
    }
    f->count = 0;
    while ((e = readdir(d))) {
        if (!is_png_name(e->d_name)) continue;
        if (r->lim.max_frames > 0 && f->count >= r->lim.max_frames) {
            pfi_error(&r->lg, "folder '%s' has more than %lld frames (--max-frames)", r->path,
                     (long long)r->lim.max_frames);
            st = PF_ELIMIT;
            break;
        }
        if (f->count == cap) {
            char **t = cap < INT32_MAX / 2 ? realloc(f->names, sizeof *t * (size_t)(cap ? cap * 2 : 64)) : NULL;
            if (!t) {
                st = PF_ENOMEM;
                break;
            }
            f->names = t;
            cap = cap ? cap * 2 : 64;
        }
        if (!(f->names[f->count] = strdup(e->d_name))) {
            st = PF_ENOMEM;
            break;
        }
        f->count++;
    }
    closedir(d);
    if (st == PF_OK && f->count == 0) {
        pfi_error(&r->lg, "folder '%s' holds no .png frames", r->path);
        st = PF_EFORMAT;
    }
    if (st == PF_OK) qsort(f->names, (size_t)f->count, sizeof *f->names, cmp_natural);
    return st;
}

pf_status pfi_reader_open_frames(pfi_reader *r)
{
    frames_impl *f = calloc(1, sizeof *f);
    char path[4096];
    uint8_t *px = NULL;
    int w = 0, h = 0;
    pf_status st;
    struct stat sb;

    if (!f) return PF_ENOMEM;
    r->impl = f;
    f->count = -1;
    if (stat(r->path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if ((st = list_folder(r, f)) < 0) goto fail;
    } else {
        for (f->first = 0; f->first <= FRAMES_FIRST_MAX; f->first++)
            if (frame_path(r, f, 0, path, sizeof path) == 0 && exists(path)) break;
        if (f->first > FRAMES_FIRST_MAX) {
            pfi_error(&r->lg, "no frame matches '%s' (numbers 0 to %d tried for the first)", r->path,
                     FRAMES_FIRST_MAX);
            st = PF_EIO;
            goto fail;
        }
    }
    if (frame_path(r, f, 0, path, sizeof path) < 0) {
        pfi_error(&r->lg, "'%s': the first frame's file name is too long", r->path);
        st = PF_EIO;
        goto fail;
    }
    if ((st = pfi_png_read(path, &px, &w, &h, &r->lim)) < 0) {
        pfi_error(&r->lg, "'%s': cannot read its first frame, '%s'", r->path, path);
        goto fail;
    }
    if ((st = pfi_reader_check_canvas(r, w, h)) < 0 || !(f->buf = pfi_malloc4((size_t)w, (size_t)h, 4, 1))) {
        free(px);
        if (st >= 0) st = PF_ENOMEM;
        goto fail;
    }
    memcpy(f->buf, px, (size_t)w * h * 4);   /* the first frame, handed out by the first next */
    free(px);
    f->first_ready = 1;
    r->width = w;
    r->height = h;
    r->frame_count = f->names ? f->count : -1;
    r->loop = 0;
    r->format = "png frames";
    r->vt = &frames_vt;
    return PF_OK;
fail:
    frames_close(r);
    return st;
}
