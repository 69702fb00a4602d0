/*
 * png.c - PNG still images through libpng 1.6: read any PNG (palette, gray,
 * 16-bit, tRNS, interlaced) as RGBA8, write RGBA8 atomically. libpng
 * reports errors by longjmp; every setjmp here guards one function whose
 * locals are either set before setjmp or volatile. Not a spritesheet
 * writer (sheet.c) and no gamma/colour management: samples are kept as
 * stored (sRGB assumed).
 */
#include "io/encode.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>

/* ---- shared error handling --------------------------------------------- */

typedef struct png_ctx {
    char msg[256];       /* libpng's last error message */
    int fd;              /* write target */
    int write_errno;     /* errno of a failed write, 0 if none */
} png_ctx;

/* Replaces libpng's default handlers, which print to stderr. */
static void png_err_fn(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    if (c) snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void png_warn_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* ---- reading ----------------------------------------------------------- */

/* Any PNG -> *rgba (H, W, 4) RGBA8, malloc'd: palette, gray and tRNS
 * expanded, 16-bit scaled to 8 with rounding, Adam7 deinterlaced. The size
 * is checked against lim (max_pixels, max_decoded_bytes) before allocating.
 * Errors: PF_EIO, PF_EFORMAT, PF_ELIMIT, PF_ENOMEM. Source: libpng manual,
 * "Transformations". */
pf_status pfi_png_read(const char *path, uint8_t **rgba, int *w, int *h,
                      const pf_limits *lim)
{
    FILE *fp = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    png_ctx ctx = {{0}, -1, 0};
    uint8_t sig[8];
    /* volatile: written after setjmp and read after a longjmp. */
    uint8_t *volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    volatile pf_status st = PF_EFORMAT;
    png_uint_32 pw, ph;
    int depth, color, interlace;
    size_t stride, total;

    PF_ASSERT(rgba && w && h);
    *rgba = NULL;
    *w = *h = 0;
    if (!path) return PF_EINVAL;
    fp = fopen(path, "rb");
    if (!fp) return PF_EIO;
    if (fread(sig, 1, sizeof sig, fp) != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        fclose(fp);
        return PF_EFORMAT;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_err_fn, png_warn_fn);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_read_struct(&png, NULL, NULL);
        fclose(fp);
        return PF_ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) goto done;   /* st says what failed */

    png_init_io(png, fp);
    png_set_sig_bytes(png, sizeof sig);
    /* Beyond libpng's own 1e6 x 1e6 limit; ours is checked below. */
    png_set_user_limits(png, 0x7fffffffL, 0x7fffffffL);
    png_read_info(png, info);
    png_get_IHDR(png, info, &pw, &ph, &depth, &color, &interlace, NULL, NULL);
    if (pw == 0 || ph == 0 || pw > 0x7fffffffU || ph > 0x7fffffffU) goto done;
    if (lim && lim->max_pixels > 0 && (int64_t)pw * (int64_t)ph > lim->max_pixels) {
        st = PF_ELIMIT;
        goto done;
    }
    if (lim && lim->max_decoded_bytes > 0 &&
        (int64_t)pw * (int64_t)ph > lim->max_decoded_bytes / 4) {
        st = PF_ELIMIT;
        goto done;
    }

    /* Any colour type and depth -> 8-bit RGBA. */
    png_set_expand(png);                       /* palette, gray < 8, tRNS -> alpha */
    png_set_scale_16(png);                     /* 16 -> 8 with rounding */
    png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)pw * 4) goto done;

    if (!pfi_mul_size(&stride, pw, 4) || !pfi_mul_size(&total, stride, ph)) {
        st = PF_ELIMIT;
        goto done;
    }
    buf = malloc(total);
    rows = pfi_malloc4(ph, sizeof *rows, 1, 1);
    if (!buf || !rows) {
        st = PF_ENOMEM;
        goto done;
    }
    for (png_uint_32 y = 0; y < ph; y++) rows[y] = buf + (size_t)y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    *rgba = buf;
    buf = NULL;
    *w = (int)pw;
    *h = (int)ph;
    st = PF_OK;
done:
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    free(buf);
    free(rows);
    return st;
}

/* ---- writing ----------------------------------------------------------- */

static void png_write_fn(png_structp png, png_bytep data, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (pfi_write_all(c->fd, data, n) < 0) {
        c->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void png_flush_fn(png_structp png) { (void)png; }

pf_status pfi_png_write_fd(int fd, const uint8_t *rgba, int w, int h, const pfi_logger *lg)
{
    png_structp png = NULL;
    png_infop info = NULL;
    png_ctx ctx = {{0}, fd, 0};
    png_bytep *volatile rows = NULL;
    volatile pf_status st = PF_EOUTPUT;
    size_t stride;

    if (!rgba || w <= 0 || h <= 0) return PF_EINVAL;
    if (!pfi_mul_size(&stride, (size_t)w, 4)) return PF_EINVAL;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_err_fn, png_warn_fn);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_write_struct(&png, NULL);
        return PF_ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (ctx.write_errno) errno = ctx.write_errno;
        if (st == PF_EOUTPUT) pfi_error(lg, "PNG encoding failed: %s", ctx.msg);
        goto done;
    }
    png_set_write_fn(png, &ctx, png_write_fn, png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGBA,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    rows = pfi_malloc4((size_t)h, sizeof *rows, 1, 1);
    if (!rows) {
        st = PF_ENOMEM;
        goto done;
    }
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rgba + (size_t)y * stride);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    st = PF_OK;
done:
    png_destroy_write_struct(&png, &info);
    free(rows);
    return st;
}

/* RGBA8 (h, w, 4) -> PNG at path through a temp file and rename.
 * Errors: PF_EINVAL, PF_EEXIST, PF_EOUTPUT (errno), PF_ENOMEM. */
pf_status pfi_png_write(const char *path, const uint8_t *rgba, int w, int h, int force)
{
    pfi_outfile of;
    pf_status st;
    int e;

    if (!path || !rgba || w <= 0 || h <= 0) return PF_EINVAL;
    if ((st = pfi_outfile_begin(&of, path, force)) < 0) return st;
    if ((st = pfi_png_write_fd(of.fd, rgba, w, h, NULL)) < 0) {
        e = errno;
        pfi_outfile_abort(&of);
        errno = e;
        return st;
    }
    return pfi_outfile_commit(&of);
}
