/*
 * writer.c - picks the encoder from the output name and dispatches to it.
 * Not an encoder itself (see writer_*.c and sheet.c), nor the streaming
 * writer (writer_stream.c).
 */
#include "io/encode.h"

#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Whether path has a '%' that printf would take as a conversion, such as
 * "%s" or "%-5lld" ("%%" and a '%' before '.' or a space do not count). */
static int has_printf_conversion(const char *path)
{
    for (const char *p = strchr(path, '%'); p; p = strchr(p, '%')) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        p += strspn(p, "-+#0123456789*$'hlLqjzt");
        if (*p && strchr("diouxXeEfFgGaAcspnmC", *p)) return 1;
    }
    return 0;
}

/* "%d" pattern or folder (existing, or ending in '/') -> FRAMES; then the
 * extension, case-insensitive: .png SHEET, .gif, .webp, .mp4/.mov/.mkv/.m4v
 * VIDEO; PF_OUT_NONE otherwise. */
pfi_out_kind pfi_out_kind_from_path(const char *path)
{
    static const struct { const char *ext; pfi_out_kind kind; } exts[] = {
        {".png", PF_OUT_SHEET}, {".gif", PF_OUT_GIF}, {".webp", PF_OUT_WEBP},
        {".mp4", PF_OUT_VIDEO}, {".mov", PF_OUT_VIDEO}, {".mkv", PF_OUT_VIDEO},
        {".m4v", PF_OUT_VIDEO},
    };
    struct stat sb;
    const char *base, *dot;
    size_t n;

    if (!path || !*path) return PF_OUT_NONE;
    /* A frame pattern; an attempted but bad one ("%s", "%d%d", "%n") is
     * sent to pfi_write_frames too, which refuses it with a clear message. */
    switch (pfi_frame_pattern_parse(NULL, path)) {
    case 1: return PF_OUT_FRAMES;
    case -1: if (has_printf_conversion(path)) return PF_OUT_FRAMES; break;
    default: break;
    }
    n = strlen(path);
    if (path[n - 1] == '/') return PF_OUT_FRAMES;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return PF_OUT_FRAMES;
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    if (!dot || dot == base) return PF_OUT_NONE;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i].ext) == 0) return exts[i].kind;
    return PF_OUT_NONE;
}

/* Errors: those of the chosen writer; PF_EINVAL for an unknown kind. */
pf_status pfi_write_anim(const char *path, const pfi_anim *a,
                        const pfi_write_opts *o, const pfi_logger *lg)
{
    switch (pfi_out_kind_from_path(path)) {
    case PF_OUT_SHEET: return pfi_write_sheet(path, a, o, lg);
    case PF_OUT_GIF: return pfi_write_gif(path, a, o, lg);
    case PF_OUT_WEBP: return pfi_write_webp(path, a, o, lg);
    case PF_OUT_VIDEO: return pfi_write_video(path, a, o, lg);
    case PF_OUT_FRAMES: return pfi_write_frames(path, a, o, lg);
    case PF_OUT_NONE: break;
    }
    return pfi_out_kind_error(path, lg);
}

pf_status pfi_out_kind_error(const char *path, const pfi_logger *lg)
{
    pfi_error(lg, "cannot tell the output kind of '%s': use .png (spritesheet), .gif, .webp, "
             ".mp4/.mov/.mkv/.m4v, a folder or a %%d pattern", path ? path : "(null)");
    return PF_EINVAL;
}
