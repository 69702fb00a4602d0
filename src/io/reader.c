/*
 * reader.c - the generic streaming reader: sniffs the format from the first
 * bytes, dispatches to a back end through a small vtable, and enforces the
 * frame and byte limits in one place. Decodes nothing itself.
 */
#include "io/reader_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SNIFF_GIF, SNIFF_WEBP, SNIFF_AV, SNIFF_FRAMES };

/* Picks a back end from a file's first n bytes (GIF87a/GIF89a,
 * RIFF....WEBP, anything else). */
static int sniff_bytes(const unsigned char *b, size_t n)
{
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        return SNIFF_GIF;
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        return SNIFF_WEBP;
    return SNIFF_AV;
}

/* Reads up to 12 bytes of `path` to pick a back end. Errors: PF_EIO with
 * strerror, PF_EFORMAT for an empty file. */
static pf_status sniff(const char *path, int *kind, const pfi_logger *lg)
{
    unsigned char b[12];
    struct stat sb;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        pfi_error(lg, "cannot open '%s': %s", path, strerror(errno));
        return PF_EIO;
    }
    if (fstat(fd, &sb) != 0) {
        pfi_error(lg, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return PF_EIO;
    }
    if (S_ISDIR(sb.st_mode)) {
        pfi_error(lg, "cannot read '%s': %s", path, strerror(EISDIR));
        close(fd);
        return PF_EIO;
    }
    while ((size_t)n < sizeof b) {
        ssize_t k = read(fd, b + n, sizeof b - (size_t)n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            pfi_error(lg, "cannot read '%s': %s", path, strerror(errno));
            close(fd);
            return PF_EIO;
        }
        if (k == 0) break;
        n += k;
    }
    close(fd);
    if (n == 0) {
        pfi_error(lg, "'%s' is empty", path);
        return PF_EFORMAT;
    }
    *kind = sniff_bytes(b, (size_t)n);
    return PF_OK;
}

/* Standard input into r->owned: a pipe cannot be sniffed and rewound, and
 * libavformat reads memory through the same AVIOContext as pfi_reader_open_mem.
 * At most lim.max_decoded_bytes (a clip's file is smaller than its frames). */
static pf_status read_stdin(pfi_reader *r)
{
    size_t n = 0, cap = 0;
    const int64_t most = r->lim.max_decoded_bytes > 0 ? r->lim.max_decoded_bytes : INT64_MAX;
    for (;;) {
        if (n == cap) {
            size_t grow = cap ? cap : 1 << 16;
            uint8_t *t = cap <= SIZE_MAX / 2 ? realloc(r->owned, cap + grow) : NULL;
            if (!t) return PF_ENOMEM;
            r->owned = t;
            cap += grow;
        }
        ssize_t k = read(0, r->owned + n, cap - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            pfi_error(&r->lg, "cannot read standard input: %s", strerror(errno));
            return PF_EIO;
        }
        if (k == 0) break;
        n += (size_t)k;
        if ((uint64_t)n > (uint64_t)most) {
            pfi_error(&r->lg, "standard input holds more than %lld bytes (--max-decoded-bytes)", (long long)most);
            return PF_ELIMIT;
        }
    }
    if (n == 0) {
        pfi_error(&r->lg, "standard input is empty");
        return PF_EFORMAT;
    }
    r->mem = r->owned;
    r->mem_size = n;
    return PF_OK;
}

/* See reader_impl.h; the message names the option that raises the limit. */
pf_status pfi_reader_check_canvas(const pfi_reader *r, int64_t w, int64_t h)
{
    size_t bytes;

    if (w <= 0 || h <= 0) {
        pfi_error(&r->lg, "'%s': the canvas is empty (%lldx%lld)", r->path,
                 (long long)w, (long long)h);
        return PF_EFORMAT;
    }
    /* w * 4 is a row in bytes, kept in int by the back ends (libav linesizes). */
    if (w > INT32_MAX / 4 || h > INT32_MAX ||
        (r->lim.max_pixels > 0 && w * h > r->lim.max_pixels)) {
        pfi_error(&r->lg, "'%s': canvas %lldx%lld exceeds the limit of %lld pixels "
                 "(--max-pixels)", r->path, (long long)w, (long long)h,
                 (long long)r->lim.max_pixels);
        return PF_ELIMIT;
    }
    if (!pfi_mul4_size(&bytes, (size_t)w, (size_t)h, 4, 1)) {
        pfi_error(&r->lg, "'%s': canvas %lldx%lld is too large for this machine",
                 r->path, (long long)w, (long long)h);
        return PF_ELIMIT;
    }
    return PF_OK;
}

/* Sniffs (from `mem` when set, else from the file `name`), then opens the
 * matching back end. A NULL lim means no limits. */
static pf_status open_any(pfi_reader **out, const char *name, const void *mem,
                          size_t mem_size, const pf_limits *lim, int threads,
                          const pfi_logger *lg)
{
    pfi_reader *r = NULL;
    pf_status st;
    int kind = SNIFF_AV;

    PF_ASSERT(out && name);
    *out = NULL;
    if (threads < 0) {
        pfi_error(lg, "decoder threads must be >= 0 (got %d)", threads);
        return PF_EINVAL;
    }
    r = calloc(1, sizeof *r);
    if (!r) return PF_ENOMEM;
    if (lim) r->lim = *lim;
    if (lg) r->lg = *lg;
    r->threads = threads;
    r->frame_count = -1;
    r->path = strdup(name);
    if (!r->path) { st = PF_ENOMEM; goto fail; }

    if (mem) {
        r->mem = mem;
        r->mem_size = mem_size;
        if (mem_size == 0) {
            pfi_error(&r->lg, "'%s' is empty", name);
            st = PF_EFORMAT;
            goto fail;
        }
        kind = sniff_bytes(mem, mem_size);
    } else if (!strcmp(name, "-")) {
        if ((st = read_stdin(r)) != PF_OK) goto fail;
        kind = sniff_bytes(r->mem, r->mem_size);
    } else if (pfi_frames_input(name)) {
        kind = SNIFF_FRAMES;
    } else {
        st = sniff(name, &kind, &r->lg);
        if (st != PF_OK) goto fail;
    }
    switch (kind) {
    case SNIFF_GIF:  st = pfi_reader_open_gif(r); break;
    case SNIFF_WEBP: st = pfi_reader_open_webp(r); break;
    case SNIFF_FRAMES: st = pfi_reader_open_frames(r); break;
    default:         st = pfi_reader_open_av(r); break;
    }
    if (st != PF_OK) goto fail;
    PF_ASSERT(r->vt && r->width > 0 && r->height > 0);
    pfi_debug(&r->lg, "'%s': %s, %dx%d, %lld frames, loop %d", name, r->format,
             r->width, r->height, (long long)r->frame_count, r->loop);
    *out = r;
    return PF_OK;
fail:
    pfi_reader_close(r);
    return st;
}

pf_status pfi_reader_open(pfi_reader **out, const char *path,
                         const pf_limits *lim, int threads, const pfi_logger *lg)
{
    PF_ASSERT(path);
    return open_any(out, path, NULL, 0, lim, threads, lg);
}

pf_status pfi_reader_open_mem(pfi_reader **out, const void *data, size_t size,
                             const char *name, const pf_limits *lim, int threads,
                             const pfi_logger *lg)
{
    static const unsigned char empty[1];

    return open_any(out, name ? name : "<memory>", data ? data : empty,
                    data ? size : 0, lim, threads, lg);
}

/* Runs the back end, then applies max_frames and max_decoded_bytes to the
 * frame it produced, so a clip of exactly max_frames frames still passes.
 * PF_DONE and errors are sticky: later calls repeat them. */
pf_status pfi_reader_next(pfi_reader *r, pfi_frame *f)
{
    pf_status st;
    int64_t fb;

    PF_ASSERT(r && f);
    memset(f, 0, sizeof *f);
    if (r->sticky != PF_OK) return r->sticky;
    st = r->vt->next(r, f);
    if (st != PF_OK) {
        if (st == PF_DONE)
            pfi_debug(&r->lg, "'%s': %lld frames decoded", r->path, (long long)r->frames_out);
        r->sticky = st;
        return st;
    }
    fb = (int64_t)r->width * r->height * 4;
    if (r->lim.max_frames > 0 && r->frames_out + 1 > r->lim.max_frames) {
        pfi_error(&r->lg, "'%s' has more than %lld frames (--max-frames)", r->path,
                 (long long)r->lim.max_frames);
        st = PF_ELIMIT;
    } else if (r->lim.max_decoded_bytes > 0 &&
               r->bytes_out + fb > r->lim.max_decoded_bytes) {
        pfi_error(&r->lg, "'%s': decoding frame %lld would exceed the limit of %lld "
                 "decoded bytes (--max-decoded-bytes)", r->path,
                 (long long)r->frames_out + 1, (long long)r->lim.max_decoded_bytes);
        st = PF_ELIMIT;
    }
    if (st != PF_OK) {
        memset(f, 0, sizeof *f);
        r->sticky = st;
        return st;
    }
    if (f->duration_ms <= 0) f->duration_ms = 100;   /* back ends promise > 0 */
    r->frames_out++;
    r->bytes_out += fb;
    return PF_OK;
}

void pfi_reader_set_fps(pfi_reader *r, double fps)
{
    if (r && fps > 0) r->fps = fps;
}

/* Accessors (see io.h); r must be open. */
int pfi_reader_width(const pfi_reader *r) { return r->width; }
int pfi_reader_height(const pfi_reader *r) { return r->height; }
int64_t pfi_reader_frame_count(const pfi_reader *r) { return r->frame_count; }
const char *pfi_reader_format(const pfi_reader *r) { return r->format ? r->format : "unknown"; }
int pfi_reader_loop(const pfi_reader *r) { return r->loop; }

/* Closes the back end and frees the reader; NULL is fine. */
void pfi_reader_close(pfi_reader *r)
{
    if (!r) return;
    if (r->vt && r->vt->close) r->vt->close(r);
    free(r->owned);
    free(r->path);
    free(r);
}

/* Opens, decodes every frame into a copy, closes. Errors: those of
 * pfi_reader_open/next, PF_ENOFRAMES when the file holds no frame. */
pf_status pfi_read_anim(pfi_anim *a, const char *path, const pf_limits *lim,
                       int threads, const pfi_logger *lg)
{
    pfi_reader *r = NULL;
    pfi_frame f;
    pf_status st;

    PF_ASSERT(a);
    memset(a, 0, sizeof *a);
    st = pfi_reader_open(&r, path, lim, threads, lg);
    if (st != PF_OK) return st;
    st = pfi_anim_init(a, r->width, r->height);
    if (st != PF_OK) goto fail;
    while ((st = pfi_reader_next(r, &f)) == PF_OK) {
        st = pfi_anim_push(a, f.rgba, f.duration_ms);
        if (st != PF_OK) goto fail;
    }
    if (st != PF_DONE) goto fail;
    a->loop = r->loop;   /* after decoding: a GIF may name it late */
    if (a->count == 0) {
        pfi_error(lg, "'%s' holds no frame", path);
        st = PF_ENOFRAMES;
        goto fail;
    }
    pfi_reader_close(r);
    return PF_OK;
fail:
    pfi_reader_close(r);
    pfi_anim_free(a);
    return st;
}
