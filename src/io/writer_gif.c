/*
 * writer_gif.c - GIF89a through giflib 5 (EGif*): one exact global palette
 * made of the animation's distinct opaque colours, one transparent index,
 * full-canvas frames with disposal 2, NETSCAPE2.0 looping (GIF89a spec and
 * the NETSCAPE2.0 application extension). Not a quantiser: more than 255
 * colours is the caller's error (pixelfix palettises before encoding).
 */
#include "io/encode.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gif_lib.h>

#define GIF_ALPHA_CUT 128       /* alpha below this is transparent */
#define GIF_MAX_OPAQUE 255      /* 256 indices, one kept for transparency */
#define GIF_MIN_DELAY_CS 2      /* browsers turn 0-1 cs into 100 ms */
#define HASH_SLOTS 1024         /* > 2 * 256, power of two */

/* giflib's convention (GIF_OK = 1, GIF_ERROR = 0, detail in ->Error),
 * turned into a pf_status in this one place. */
static pf_status gif_status(int ret, int code, const char *what, const pfi_logger *lg)
{
    const char *msg;
    if (ret == GIF_OK) return PF_OK;
    msg = GifErrorString(code);
    pfi_error(lg, "GIF encoding failed (%s): %s", what, msg ? msg : "unknown error");
    return PF_EOUTPUT;
}

/* For calls on an open encoder, whose error code is in g->Error. */
static pf_status gif_check(GifFileType *g, int ret, const char *what, const pfi_logger *lg)
{
    return gif_status(ret, g->Error, what, lg);
}

/* An open-addressing map from 0xRRGGBB to a palette index. */
typedef struct colour_map {
    uint32_t key[HASH_SLOTS];   /* rgb + 1; 0 = empty */
    uint8_t idx[HASH_SLOTS];
    GifColorType pal[256];
    int n;
} colour_map;

static uint32_t slot_of(uint32_t rgb) { return (rgb * 2654435761u) >> 22; }   /* 10 bits */

/* Index of rgb, adding it when new. -1 when the palette is full. */
static int map_colour(colour_map *m, uint32_t rgb)
{
    uint32_t s = slot_of(rgb);
    while (m->key[s]) {
        if (m->key[s] == rgb + 1) return m->idx[s];
        s = (s + 1) & (HASH_SLOTS - 1);
    }
    if (m->n >= GIF_MAX_OPAQUE) return -1;
    m->key[s] = rgb + 1;
    m->idx[s] = (uint8_t)m->n;
    m->pal[m->n].Red = (GifByteType)(rgb >> 16);
    m->pal[m->n].Green = (GifByteType)(rgb >> 8);
    m->pal[m->n].Blue = (GifByteType)rgb;
    return m->n++;
}

static int delay_cs(int ms)
{
    int cs = (ms + 5) / 10;
    return cs < GIF_MIN_DELAY_CS ? GIF_MIN_DELAY_CS : cs > 65535 ? 65535 : cs;
}

/* a (count, H, W, 4) RGBA8 -> GIF89a at path, atomically. Alpha < 128 is
 * transparent; delays round(ms / 10) cs, at least 2. Errors: PF_EINVAL (no
 * frames, > 255 opaque colours, > 65535 pixels a side), PF_EEXIST,
 * PF_EOUTPUT, PF_ENOMEM. Source: GIF89a specification, giflib 5.2 docs. */
pf_status pfi_write_gif(const char *path, const pfi_anim *a,
                       const pfi_write_opts *o, const pfi_logger *lg)
{
    pfi_outfile of = {.fd = -1};
    colour_map *cm = NULL;
    GifByteType *idx = NULL;
    ColorMapObject *cmap = NULL;
    GifFileType *g = NULL;
    size_t npix;
    int has_transparent = 0, trans = -1, err = 0, fd2, size;
    pf_status st;
    int force = o ? o->force : 0;

    if (!path) return PF_EINVAL;
    if (!a || a->count <= 0 || a->width <= 0 || a->height <= 0 || !a->frames) {
        pfi_error(lg, "nothing to write: the animation has no frames");
        return PF_EINVAL;
    }
    if (a->width > 65535 || a->height > 65535) {
        pfi_error(lg, "GIF frames are at most 65535 pixels wide and high (have %dx%d)",
                 a->width, a->height);
        return PF_EINVAL;
    }
    if (!pfi_mul_size(&npix, (size_t)a->width, (size_t)a->height) ||
        !(idx = pfi_malloc4(npix, 1, 1, 1)) || !(cm = calloc(1, sizeof *cm))) {
        st = PF_ENOMEM;
        goto fail;
    }

    /* Pass 1: the exact palette, in order of first appearance. */
    for (int f = 0; f < a->count; f++) {
        const uint8_t *p = a->frames[f].rgba;
        if (!p || a->frames[f].duration_ms <= 0) {
            pfi_error(lg, "frame %d has no pixels or a duration <= 0", f);
            st = PF_EINVAL;
            goto fail;
        }
        for (size_t i = 0; i < npix; i++, p += 4) {
            if (p[3] < GIF_ALPHA_CUT) {
                has_transparent = 1;
            } else if (map_colour(cm, (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) < 0) {
                pfi_error(lg, "GIF needs an exact palette of at most %d opaque colours, but frame %d "
                         "has more; reduce the colours first (--colors)", GIF_MAX_OPAQUE, f);
                st = PF_EINVAL;
                goto fail;
            }
        }
    }
    if (has_transparent) {
        trans = cm->n;
        cm->pal[cm->n].Red = cm->pal[cm->n].Green = cm->pal[cm->n].Blue = 0;
        cm->n++;
    }
    /* giflib wants a power-of-two table of at least 2 entries; the padding
     * is black (calloc) and never referenced. */
    size = 1 << GifBitSize(cm->n < 2 ? 2 : cm->n);
    if (!(cmap = GifMakeMapObject(size, cm->pal))) {
        st = PF_ENOMEM;
        goto fail;
    }

    if ((st = pfi_outfile_open(&of, path, force, lg)) < 0) goto fail;
    /* EGifCloseFile closes the descriptor it was given: hand it a dup so
     * that pfi_outfile_commit can still fsync and rename ours. */
    if ((fd2 = dup(of.fd)) < 0) {
        pfi_error(lg, "cannot write '%s': %s", path, strerror(errno));
        st = PF_EOUTPUT;
        goto fail;
    }
    if (!(g = EGifOpenFileHandle(fd2, &err))) {
        close(fd2);
        st = gif_status(GIF_ERROR, err, "open", lg);
        goto fail;
    }
    EGifSetGifVersion(g, true);
    if ((st = gif_check(g, EGifPutScreenDesc(g, a->width, a->height, 8,
                                             trans >= 0 ? trans : 0, cmap),
                        "screen descriptor", lg)) < 0)
        goto fail;

    /* NETSCAPE2.0: sub-block 1 carries the little-endian loop count, the
     * value being stored as given (as gifsicle and the reader do); loop 1
     * leaves the block out, which every viewer plays once. */
    if (a->loop != 1) {
        int loop = a->loop < 0 ? 0 : a->loop > 65535 ? 65535 : a->loop;
        GifByteType ext[3] = {1, (GifByteType)(loop & 0xff), (GifByteType)(loop >> 8)};
        if ((st = gif_check(g, EGifPutExtensionLeader(g, APPLICATION_EXT_FUNC_CODE),
                            "loop", lg)) < 0 ||
            (st = gif_check(g, EGifPutExtensionBlock(g, 11, "NETSCAPE2.0"), "loop", lg)) < 0 ||
            (st = gif_check(g, EGifPutExtensionBlock(g, 3, ext), "loop", lg)) < 0 ||
            (st = gif_check(g, EGifPutExtensionTrailer(g), "loop", lg)) < 0)
            goto fail;
    }

    /* Pass 2: one full-canvas image per frame. */
    for (int f = 0; f < a->count; f++) {
        const uint8_t *p = a->frames[f].rgba;
        GraphicsControlBlock gcb = {0};
        GifByteType ext[4];
        size_t len;

        for (size_t i = 0; i < npix; i++, p += 4)
            idx[i] = p[3] < GIF_ALPHA_CUT
                ? (GifByteType)trans
                : (GifByteType)map_colour(cm, (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]);
        gcb.DisposalMode = DISPOSE_BACKGROUND;
        gcb.UserInputFlag = false;
        gcb.DelayTime = delay_cs(a->frames[f].duration_ms);
        gcb.TransparentColor = trans >= 0 ? trans : NO_TRANSPARENT_COLOR;
        len = EGifGCBToExtension(&gcb, ext);
        if ((st = gif_check(g, EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, (int)len, ext),
                            "graphics control", lg)) < 0 ||
            (st = gif_check(g, EGifPutImageDesc(g, 0, 0, a->width, a->height, false, NULL),
                            "image descriptor", lg)) < 0)
            goto fail;
        for (int y = 0; y < a->height; y++)
            if ((st = gif_check(g, EGifPutLine(g, idx + (size_t)y * (size_t)a->width, a->width),
                                "pixels", lg)) < 0)
                goto fail;
    }
    /* EGifCloseFile frees g whatever it returns. */
    {
        int ret = EGifCloseFile(g, &err);
        g = NULL;
        st = gif_status(ret, err, "close", lg);
    }
    if (st < 0) goto fail;
    if ((st = pfi_outfile_close(&of, lg)) < 0) goto fail;
    st = PF_OK;
    goto done;
fail:
    if (g) EGifCloseFile(g, &err);
    pfi_outfile_abort(&of);
done:
    GifFreeMapObject(cmap);
    free(cm);
    free(idx);
    return st;
}
