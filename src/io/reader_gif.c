/*
 * reader_gif.c - the GIF back end of the streaming reader: giflib's
 * record-by-record API (not DGifSlurp), so frames stream and a truncated
 * file keeps the frames read before the damage. Composites every frame into
 * a full RGBA canvas at decode (GIF89a spec section 23: disposal methods,
 * transparency index; browser rules for delays and background). Not an
 * encoder.
 */
#include "io/reader_impl.h"

#include <gif_lib.h>
#include <string.h>

/* giflib's success convention (GIF_OK == 1, GIF_ERROR == 0) in one place. */
static inline int gif_ok(int rc) { return rc == GIF_OK; }

enum { REC_NEED, REC_IMAGE, REC_END, REC_ERROR };

typedef struct gif_state {
    GifFileType *gif;
    uint8_t *canvas;       /* (H, W, 4) the composited frame handed out */
    uint8_t *saved;        /* (H, W, 4) canvas under a disposal-3 frame; lazy */
    GifPixelType *line;    /* one image row of colour indices, 65536 wide */
    int rec;               /* what the next record is (REC_*) */
    int have_gce;          /* a Graphic Control Extension waits for the next image */
    GraphicsControlBlock gce;
    int prev_disposal;     /* disposal of the last frame, applied before the next */
    int px0, py0, px1, py1;/* that frame's rectangle clipped to the canvas */
    int64_t pts_ms;        /* running total of the durations handed out */
    int frames;            /* frames handed out */
    size_t mem_pos;        /* read position in r->mem (in-memory input) */
    const pfi_reader *r;    /* for mem_read */
} gif_state;

/* giflib's message for the last error on gif. */
static const char *gif_err(const GifFileType *gif)
{
    const char *s = GifErrorString(gif->Error);
    return s ? s : "unknown giflib error";
}

/* Reads records up to the next image descriptor (REC_IMAGE) or the trailer
 * (REC_END), keeping the last GCE and the NETSCAPE2.0 / ANIMEXTS1.0 loop
 * count. REC_ERROR on a read error (truncation, bad record). */
static int advance(pfi_reader *r, gif_state *g)
{
    for (;;) {
        GifRecordType type;
        GifByteType *ext = NULL;
        int code = 0, looping_app = 0, first = 1;

        if (!gif_ok(DGifGetRecordType(g->gif, &type))) return REC_ERROR;
        if (type == IMAGE_DESC_RECORD_TYPE) return REC_IMAGE;
        if (type == TERMINATE_RECORD_TYPE) return REC_END;
        if (type != EXTENSION_RECORD_TYPE) return REC_ERROR;

        if (!gif_ok(DGifGetExtension(g->gif, &code, &ext))) return REC_ERROR;
        if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] == 4) {
            if (gif_ok(DGifExtensionToGCB(4, ext + 1, &g->gce))) g->have_gce = 1;
        } else if (code == APPLICATION_EXT_FUNC_CODE && ext && ext[0] == 11 &&
                   (!memcmp(ext + 1, "NETSCAPE2.0", 11) ||
                    !memcmp(ext + 1, "ANIMEXTS1.0", 11))) {
            looping_app = 1;
        }
        /* Sub-blocks until the terminator; ext stays NULL at the end. */
        while (ext) {
            if (!gif_ok(DGifGetExtensionNext(g->gif, &ext))) return REC_ERROR;
            /* NETSCAPE2.0 data sub-block: 3, 0x01, loop count (LE16). */
            if (ext && looping_app && first && ext[0] >= 3 && ext[1] == 1)
                r->loop = ext[2] | (ext[3] << 8);
            first = 0;
        }
    }
}

/* Restores the previous frame's rectangle per its disposal: 2 clears it to
 * transparent (what browsers do instead of the background colour), 3 puts
 * back the saved canvas; 0, 1 and the reserved 4..7 keep it. */
static void apply_disposal(pfi_reader *r, gif_state *g)
{
    size_t W = (size_t)r->width, n = (size_t)(g->px1 - g->px0) * 4;

    if (g->px1 <= g->px0 || g->py1 <= g->py0) return;
    for (int y = g->py0; y < g->py1; y++) {
        size_t off = ((size_t)y * W + (size_t)g->px0) * 4;
        if (g->prev_disposal == DISPOSE_BACKGROUND)
            memset(g->canvas + off, 0, n);
        else if (g->prev_disposal == DISPOSE_PREVIOUS && g->saved)
            memcpy(g->canvas + off, g->saved + off, n);
    }
}

/* Paints one row of indices at canvas row y, columns clipped to [x0, x1). */
static void paint_row(pfi_reader *r, gif_state *g, const ColorMapObject *cmap,
                      int trans, int left, int y, int x0, int x1)
{
    uint8_t *dst = g->canvas + ((size_t)y * (size_t)r->width) * 4;

    for (int x = x0; x < x1; x++) {
        int idx = g->line[x - left];
        /* Indices past the map are left see-through, like the transparent one. */
        if (idx == trans || idx >= cmap->ColorCount) continue;
        dst[4 * x + 0] = cmap->Colors[idx].Red;
        dst[4 * x + 1] = cmap->Colors[idx].Green;
        dst[4 * x + 2] = cmap->Colors[idx].Blue;
        dst[4 * x + 3] = 255;
    }
}

/* Decodes the image whose descriptor record is next, compositing it onto
 * the canvas. PF_OK, PF_EFORMAT (read error: the caller decides between
 * truncation and corruption) or PF_ELIMIT / PF_ENOMEM. */
static pf_status decode_image(pfi_reader *r, gif_state *g, pfi_frame *f)
{
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    const GifImageDesc *d = &g->gif->Image;
    const ColorMapObject *cmap;
    int disposal, trans, delay, x0, x1, y0, y1;

    if (!gif_ok(DGifGetImageDesc(g->gif))) return PF_EFORMAT;
    /* DGifGetImageDesc appends to SavedImages; drop them so memory stays O(1). */
    GifFreeSavedImages(g->gif);
    g->gif->SavedImages = NULL;
    g->gif->ImageCount = 0;

    cmap = d->ColorMap ? d->ColorMap : g->gif->SColorMap;
    if (!cmap || !cmap->Colors || cmap->ColorCount <= 0) {
        g->gif->Error = D_GIF_ERR_NO_COLOR_MAP;
        return PF_EFORMAT;
    }
    if (r->lim.max_pixels > 0 && (int64_t)d->Width * d->Height > r->lim.max_pixels) {
        pfi_error(&r->lg, "'%s': frame %d is %dx%d, over the limit of %lld pixels "
                 "(--max-pixels)", r->path, g->frames + 1, d->Width, d->Height,
                 (long long)r->lim.max_pixels);
        return PF_ELIMIT;
    }

    apply_disposal(r, g);

    disposal = g->have_gce ? g->gce.DisposalMode : DISPOSAL_UNSPECIFIED;
    trans = g->have_gce ? g->gce.TransparentColor : NO_TRANSPARENT_COLOR;
    delay = g->have_gce ? g->gce.DelayTime : 0;
    g->have_gce = 0;

    /* The frame rectangle clipped to the canvas (it may stick out). */
    x0 = pfi_clampi(d->Left, 0, r->width);
    x1 = pfi_clampi(d->Left + d->Width, 0, r->width);
    y0 = pfi_clampi(d->Top, 0, r->height);
    y1 = pfi_clampi(d->Top + d->Height, 0, r->height);

    if (disposal == DISPOSE_PREVIOUS) {
        if (!g->saved) {
            g->saved = pfi_malloc4((size_t)r->width, (size_t)r->height, 4, 1);
            if (!g->saved) return PF_ENOMEM;
        }
        for (int y = y0; y < y1 && x1 > x0; y++) {
            size_t off = ((size_t)y * (size_t)r->width + (size_t)x0) * 4;
            memcpy(g->saved + off, g->canvas + off, (size_t)(x1 - x0) * 4);
        }
    }

    if (d->Width <= 0 || d->Height <= 0) {
        /* No pixels, but the LZW data blocks still have to be skipped. */
        int cs;
        GifByteType *blk = NULL;
        if (!gif_ok(DGifGetCode(g->gif, &cs, &blk))) return PF_EFORMAT;
        while (blk)
            if (!gif_ok(DGifGetCodeNext(g->gif, &blk))) return PF_EFORMAT;
    } else {
        /* Interlaced images store rows in 4 passes (spec appendix E). */
        int passes = d->Interlace ? 4 : 1;
        for (int p = 0; p < passes; p++) {
            int s0 = d->Interlace ? start[p] : 0, ds = d->Interlace ? step[p] : 1;
            for (int row = s0; row < d->Height; row += ds) {
                int y = d->Top + row;
                if (!gif_ok(DGifGetLine(g->gif, g->line, d->Width))) return PF_EFORMAT;
                if (y < r->height) paint_row(r, g, cmap, trans, d->Left, y, x0, x1);
            }
        }
    }

    g->prev_disposal = disposal;
    g->px0 = x0; g->px1 = x1; g->py0 = y0; g->py1 = y1;

    f->rgba = g->canvas;
    /* Browsers show 0 and 1 centisecond delays as 100 ms. */
    f->duration_ms = delay <= 1 ? 100 : delay * 10;
    f->pts_ms = g->pts_ms;
    g->pts_ms += f->duration_ms;
    g->frames++;
    return PF_OK;
}

/* Ends the stream after a read error: before any frame it is corrupt
 * (PF_EFORMAT), after some frames it is a truncation (warning, PF_DONE). */
static pf_status read_error(pfi_reader *r, gif_state *g)
{
    if (g->frames == 0) {
        pfi_error(&r->lg, "'%s': no frame could be read from this GIF (%s)",
                 r->path, gif_err(g->gif));
        return PF_EFORMAT;
    }
    pfi_warn(&r->lg, "'%s': GIF is truncated or damaged after frame %d (%s); "
            "keeping the %d frames read", r->path, g->frames, gif_err(g->gif), g->frames);
    return PF_DONE;
}

/* vtable next: the next composited frame; f->rgba is the canvas itself,
 * valid until the next call (the next frame's disposal changes it). */
static pf_status gif_next(pfi_reader *r, pfi_frame *f)
{
    gif_state *g = r->impl;
    pf_status st;

    if (g->rec == REC_NEED) g->rec = advance(r, g);
    if (g->rec == REC_END) return PF_DONE;
    if (g->rec == REC_ERROR) return read_error(r, g);
    st = decode_image(r, g, f);
    if (st == PF_EFORMAT) {
        g->rec = REC_ERROR;
        return read_error(r, g);
    }
    if (st != PF_OK) return st;
    g->rec = REC_NEED;
    return PF_OK;
}

/* vtable close: closes giflib's handle and frees the canvases. */
static void gif_close(pfi_reader *r)
{
    gif_state *g = r->impl;
    int err;

    if (!g) return;
    if (g->gif) DGifCloseFile(g->gif, &err);
    free(g->canvas);
    free(g->saved);
    free(g->line);
    free(g);
    r->impl = NULL;
}

static const pfi_reader_vt gif_vt = { gif_next, gif_close };

/* giflib InputFunc over r->mem: copies up to n bytes, fewer at the end
 * (giflib reports the short read as a truncated file). */
static int mem_read(GifFileType *gif, GifByteType *buf, int n)
{
    gif_state *g = gif->UserData;
    size_t left = g->r->mem_size - g->mem_pos;
    size_t k = n > 0 ? (size_t)n : 0;

    if (k > left) k = left;
    memcpy(buf, g->r->mem + g->mem_pos, k);
    g->mem_pos += k;
    return (int)k;
}

/* Opens with DGifOpenFileName (reads the screen descriptor and global
 * colour map only), checks the logical screen against the limits before
 * allocating the canvas, then reads the records before the first image so
 * that the loop count is known. */
pf_status pfi_reader_open_gif(pfi_reader *r)
{
    gif_state *g;
    pf_status st;
    int err = 0;

    g = calloc(1, sizeof *g);
    if (!g) return PF_ENOMEM;
    r->impl = g;
    r->vt = &gif_vt;
    r->format = "gif";
    r->frame_count = -1;
    r->loop = 1;   /* no NETSCAPE2.0 block: the animation plays once */

    g->r = r;
    g->gif = r->mem ? DGifOpen(g, mem_read, &err) : DGifOpenFileName(r->path, &err);
    if (!g->gif) {
        const char *why = GifErrorString(err);
        if (err == D_GIF_ERR_NOT_ENOUGH_MEM) { st = PF_ENOMEM; goto fail; }
        if (err == D_GIF_ERR_OPEN_FAILED || err == D_GIF_ERR_NOT_READABLE) {
            pfi_error(&r->lg, "cannot open '%s' (%s)", r->path, why ? why : "?");
            st = PF_EIO;
            goto fail;
        }
        pfi_error(&r->lg, "'%s': not a readable GIF (%s)", r->path, why ? why : "?");
        st = PF_EFORMAT;
        goto fail;
    }
    st = pfi_reader_check_canvas(r, g->gif->SWidth, g->gif->SHeight);
    if (st != PF_OK) goto fail;
    r->width = g->gif->SWidth;
    r->height = g->gif->SHeight;
    g->canvas = pfi_calloc4((size_t)r->width, (size_t)r->height, 4, 1);
    g->line = malloc(65536 * sizeof *g->line);   /* GIF widths are 16-bit */
    if (!g->canvas || !g->line) { st = PF_ENOMEM; goto fail; }
    g->prev_disposal = DISPOSAL_UNSPECIFIED;
    g->rec = advance(r, g);
    return PF_OK;
fail:
    gif_close(r);
    r->vt = NULL;
    return st;
}
