/*
 * palette_file.c - reads a palette from a file: Lospec .hex (one RRGGBB
 * per line, https://lospec.com/palette-list), GIMP .gpl (the format GIMP's
 * gimppalette-load.c reads: "GIMP Palette", optional Name:/Columns:/
 * Channels: lines, '#' comments, "R G B [name]" rows), or a PNG whose
 * distinct opaque pixels are the palette. Writes no files and never
 * clusters (extract.c does).
 */
#include "palette/palette.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/io.h"

#define MAX_TEXT_BYTES (1 << 20)    /* a text palette larger than 1 MiB is not one */
#define MAX_LINE       4096         /* bytes per line */
#define MAX_PNG_PIXELS (2048 * 2048)

/* Reads a whole text file (at most MAX_TEXT_BYTES) NUL-terminated into
 * *buf. Errors: PF_EPALETTE (cannot open or read, too big, NUL byte). */
static pf_status read_text(const char *path, char **buf, size_t *len, const pfi_logger *lg)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n = 0;
    pf_status st = PF_EPALETTE;

    if (!f) {
        pfi_error(lg, "%s: cannot open palette: %s", path, strerror(errno));
        return PF_EPALETTE;
    }
    b = malloc(MAX_TEXT_BYTES + 2);
    if (!b) { st = PF_ENOMEM; goto fail; }
    n = fread(b, 1, MAX_TEXT_BYTES + 1, f);
    if (ferror(f)) {
        pfi_error(lg, "%s: cannot read palette: %s", path, strerror(errno));
        goto fail;
    }
    if (n > MAX_TEXT_BYTES) {
        pfi_error(lg, "%s: palette file larger than %d bytes", path, MAX_TEXT_BYTES);
        st = PF_EPALETTE;
        goto fail;
    }
    if (memchr(b, 0, n)) {
        pfi_error(lg, "%s: not a text palette (NUL byte)", path);
        st = PF_EPALETTE;
        goto fail;
    }
    b[n] = 0;
    fclose(f);
    *buf = b;
    *len = n;
    return PF_OK;
fail:
    free(b);
    fclose(f);
    return st;
}

/* Cuts the next line out of *cur (LF, CRLF or CR endings), trims
 * surrounding whitespace, and returns it; NULL at the end. *too_long is
 * set for a line over MAX_LINE bytes. */
static char *next_line(char **cur, int *too_long)
{
    char *s = *cur, *e;
    if (!*s) return NULL;
    e = s + strcspn(s, "\r\n");
    *too_long = e - s > MAX_LINE;
    if (*e == '\r' && e[1] == '\n') { *e = 0; *cur = e + 2; }
    else if (*e) { *e = 0; *cur = e + 1; }
    else *cur = e;
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Adds one colour; PF_EPALETTE past PF_PALETTE_MAX. */
static pf_status add_colour(pfi_palette *p, int r, int g, int b, const char *path, int line,
                            const pfi_logger *lg)
{
    if (p->n >= PF_PALETTE_MAX) {
        pfi_error(lg, "%s:%d: more than %d colours", path, line, PF_PALETTE_MAX);
        return PF_EPALETTE;
    }
    p->rgb[p->n][0] = (uint8_t)r;
    p->rgb[p->n][1] = (uint8_t)g;
    p->rgb[p->n][2] = (uint8_t)b;
    p->n++;
    return PF_OK;
}

/* Lospec .hex: "RRGGBB" or "#RRGGBB" per line, blank lines allowed. */
static pf_status parse_hex(pfi_palette *p, char *text, const char *path, const pfi_logger *lg)
{
    char *cur = text, *s;
    int line = 0, too_long;
    pf_status st;

    if (!strncmp(cur, "\xEF\xBB\xBF", 3)) cur += 3;   /* UTF-8 BOM */
    while ((s = next_line(&cur, &too_long))) {
        int v[6], ok;
        line++;
        if (too_long) {
            pfi_error(lg, "%s:%d: line too long", path, line);
            return PF_EPALETTE;
        }
        if (!*s) continue;
        if (*s == '#') s++;
        ok = strlen(s) == 6;
        for (int i = 0; ok && i < 6; i++) ok = (v[i] = hexval((unsigned char)s[i])) >= 0;
        if (!ok) {
            pfi_error(lg, "%s:%d: expected RRGGBB (6 hex digits), got \"%.40s\"", path, line, s);
            return PF_EPALETTE;
        }
        st = add_colour(p, v[0] * 16 + v[1], v[2] * 16 + v[3], v[4] * 16 + v[5], path, line, lg);
        if (st < 0) return st;
    }
    return PF_OK;
}

/* Parses a decimal 0..255 at *s, advancing it; -1 if there is none. */
static int parse_channel(char **s)
{
    char *q = *s;
    int v = 0, digits = 0;
    while (*q == ' ' || *q == '\t') q++;
    while (isdigit((unsigned char)*q) && digits < 4) { v = v * 10 + (*q++ - '0'); digits++; }
    if (!digits || isdigit((unsigned char)*q) || v > 255) return -1;
    if (*q && *q != ' ' && *q != '\t') return -1;
    *s = q;
    return v;
}

/* GIMP .gpl. Channels: RGBA rows carry a fourth value, which is read and
 * ignored (a palette entry has no alpha here). */
static pf_status parse_gpl(pfi_palette *p, char *text, const char *path, const pfi_logger *lg)
{
    char *cur = text, *s;
    int line = 0, too_long, header = 0, nch = 3;
    pf_status st;

    if (!strncmp(cur, "\xEF\xBB\xBF", 3)) cur += 3;
    while ((s = next_line(&cur, &too_long))) {
        line++;
        if (too_long) {
            pfi_error(lg, "%s:%d: line too long", path, line);
            return PF_EPALETTE;
        }
        if (!header) {
            if (strcmp(s, "GIMP Palette") != 0) {
                pfi_error(lg, "%s:%d: missing \"GIMP Palette\" header", path, line);
                return PF_EPALETTE;
            }
            header = 1;
            continue;
        }
        if (!*s || *s == '#') continue;
        if (!strncmp(s, "Name:", 5) || !strncmp(s, "Columns:", 8)) continue;
        if (!strncmp(s, "Channels:", 9)) {
            char *v = s + 9;
            while (*v == ' ' || *v == '\t') v++;
            if (!strcmp(v, "RGB")) nch = 3;
            else if (!strcmp(v, "RGBA")) nch = 4;
            else {
                pfi_error(lg, "%s:%d: unsupported channels \"%.20s\"", path, line, v);
                return PF_EPALETTE;
            }
            continue;
        }
        int c[4];
        char *q = s;
        for (int i = 0; i < nch; i++) {
            if ((c[i] = parse_channel(&q)) < 0) {
                pfi_error(lg, "%s:%d: expected \"R G B [name]\" with values 0..255, got \"%.40s\"",
                         path, line, s);
                return PF_EPALETTE;
            }
        }
        if ((st = add_colour(p, c[0], c[1], c[2], path, line, lg)) < 0) return st;
    }
    if (!header) {
        pfi_error(lg, "%s: empty file, missing \"GIMP Palette\" header", path);
        return PF_EPALETTE;
    }
    return PF_OK;
}

/* PNG: distinct pixels with alpha >= 128, in scan order. */
static pf_status parse_png(pfi_palette *p, const char *path, const pfi_logger *lg)
{
    pf_limits lim = { .max_pixels = MAX_PNG_PIXELS, .max_frames = 1,
                      .max_decoded_bytes = (int64_t)MAX_PNG_PIXELS * 4 };
    uint8_t *rgba = NULL;
    int w = 0, h = 0;
    pf_status st = pfi_png_read(path, &rgba, &w, &h, &lim);

    if (st == PF_EIO) {
        pfi_error(lg, "%s: cannot open palette image: %s", path, strerror(errno));
        return PF_EPALETTE;
    }
    if (st < 0) {
        pfi_error(lg, "%s: %s", path,
                 st == PF_ELIMIT ? "palette image too large"
                 : st == PF_ENOMEM ? "out of memory reading the palette image"
                                   : "not a PNG, or a corrupt one");
        return st == PF_ENOMEM ? st : PF_EPALETTE;
    }
    /* a 2^24-bit set of seen colours would be 2 MiB; a linear scan of at
     * most 256 entries per pixel is cheaper for palette-sized images */
    size_t np = (size_t)w * (size_t)h;
    for (size_t i = 0; i < np; i++) {
        const uint8_t *px = rgba + 4 * i;
        int j = 0;
        if (px[3] < 128) continue;
        while (j < p->n && memcmp(p->rgb[j], px, 3) != 0) j++;
        if (j < p->n) continue;
        if (p->n >= PF_PALETTE_MAX) {
            pfi_error(lg, "%s: more than %d distinct opaque colours (pixel %zu, %zu)",
                     path, PF_PALETTE_MAX, i % (size_t)w, i / (size_t)w);
            st = PF_EPALETTE;
            goto done;
        }
        memcpy(p->rgb[p->n++], px, 3);
    }
    st = PF_OK;
done:
    free(rgba);
    return st;
}

/* Lower-case extension of path ("" if none) into ext[8]. */
static void path_ext(const char *path, char ext[8])
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    ext[0] = 0;
    if (!dot || (slash && dot < slash) || strlen(dot + 1) >= 8) return;
    for (int i = 0; dot[i + 1]; i++) ext[i] = (char)tolower((unsigned char)dot[i + 1]), ext[i + 1] = 0;
}

pf_status pfi_palette_load(pfi_palette *p, const char *path, const pfi_logger *lg)
{
    char ext[8], *text = NULL;
    size_t len = 0;
    struct stat sb;
    pf_status st;

    if (!p || !path) return PF_EINVAL;
    memset(p, 0, sizeof *p);
    /* fopen opens a folder, and libpng would call it corrupt */
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        pfi_error(lg, "%s: is a folder, not a palette file", path);
        return PF_EPALETTE;
    }
    path_ext(path, ext);
    if (!strcmp(ext, "png")) {
        st = parse_png(p, path, lg);
    } else {
        if ((st = read_text(path, &text, &len, lg)) < 0) goto done;
        if (!strcmp(ext, "gpl") || (strcmp(ext, "hex") && !strncmp(text, "GIMP Palette", 12)))
            st = parse_gpl(p, text, path, lg);
        else if (!strcmp(ext, "hex") || !ext[0])
            st = parse_hex(p, text, path, lg);
        else {
            pfi_error(lg, "%s: unknown palette format (use .hex, .gpl or .png)", path);
            st = PF_EPALETTE;
        }
    }
    if (st == PF_OK && p->n == 0) {
        pfi_error(lg, "%s: the palette holds no colour", path);
        st = PF_EPALETTE;
    }
done:
    free(text);
    if (st < 0) p->n = 0;
    else pfi_palette_update_lab(p);
    return st;
}
