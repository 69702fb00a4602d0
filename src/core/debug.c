/* debug.c - images for --debug DIR (see debug.h). People would rather look
 * than read: the grid over the input shows at a glance whether detection
 * locked on. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/debug.h"

static pf_status make_dir(const char *dir, const pfi_logger *lg)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return PF_OK;
    pfi_error(lg, "cannot create debug folder '%s': %s", dir, strerror(errno));
    return PF_EOUTPUT;
}

static int frame_step(int n) { return n <= 4 ? 1 : (n + 3) / 4; }

#define DEBUG_VIEW 768   /* side of the enlarged crop, px */

/* The centre of what differs from the top-left pixel (the sprite), px. */
static void content_centre(const uint8_t *rgba, int w, int h, double *cx, double *cy)
{
    double sx = 0, sy = 0, n = 0;
    const uint8_t *c0 = rgba;
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2) {
            const uint8_t *p = rgba + ((size_t)y * w + x) * 4;
            if (abs(p[0] - c0[0]) + abs(p[1] - c0[1]) + abs(p[2] - c0[2]) + abs(p[3] - c0[3]) < 48) continue;
            sx += x;
            sy += y;
            n++;
        }
    *cx = n > 0 ? sx / n : w / 2.0;
    *cy = n > 0 ? sy / n : h / 2.0;
}

pf_status pfi_debug_grid(const char *dir, const pfi_lattice *L, const uint8_t *rgba, int w, int h,
                        double dx, double dy, int index, const pfi_logger *lg)
{
    static const uint8_t line[3] = {255, 40, 40};
    const pfi_grid *g = pfi_lattice_grid(L);
    const double cell = fmax(1.0, fmin(g->cell_w, g->cell_h));
    /* 2-4x, and at least 12 px a cell when the crop allows it */
    const int zoom = pfi_clampi((int)ceil(12.0 / cell), 2, 4);
    const int cw = DEBUG_VIEW / zoom < w ? DEBUG_VIEW / zoom : w, ch = DEBUG_VIEW / zoom < h ? DEBUG_VIEW / zoom : h;
    const int ow = cw * zoom, oh = ch * zoom;
    double cx, cy;
    char path[4200];
    pf_status st = make_dir(dir, lg);
    if (st < 0) return st;
    content_centre(rgba, w, h, &cx, &cy);
    const int x0 = pfi_clampi((int)(cx - cw / 2), 0, w - cw), y0 = pfi_clampi((int)(cy - ch / 2), 0, h - ch);
    uint8_t *img = pfi_malloc4((size_t)ow, (size_t)oh, 4, 1);
    int *ci = pfi_malloc4((size_t)ow, (size_t)oh, 2, sizeof(int));
    if (!img || !ci) {
        free(img);
        free(ci);
        return PF_ENOMEM;
    }
    for (int Y = 0; Y < oh; Y++)
        for (int X = 0; X < ow; X++) {
            const double x = x0 + (X + 0.5) / zoom, y = y0 + (Y + 0.5) / zoom;
            double u, v;
            pfi_lattice_coord(L, dx, dy, x, y, &u, &v);
            const int iu = (int)floor(u), iv = (int)floor(v);
            const uint8_t *src = rgba + ((size_t)(y0 + Y / zoom) * w + (size_t)(x0 + X / zoom)) * 4;
            uint8_t *dst = img + ((size_t)Y * ow + X) * 4;
            /* composite over grey so transparency shows, then shade odd cells */
            const int a = src[3], shade = (iu + iv) & 1 ? 64 : 0;
            for (int c = 0; c < 3; c++) {
                const int v0 = (src[c] * a + 128 * (255 - a)) / 255;
                dst[c] = (uint8_t)(shade ? v0 - v0 * shade / 255 : v0);
            }
            dst[3] = 255;
            ci[((size_t)Y * ow + X) * 2] = iu;
            ci[((size_t)Y * ow + X) * 2 + 1] = iv;
        }
    for (int Y = 1; Y < oh; Y++)
        for (int X = 1; X < ow; X++) {
            const int *c = ci + ((size_t)Y * ow + X) * 2, *l = c - 2, *up = c - 2 * (size_t)ow;
            if (c[0] != l[0] || c[1] != up[1]) memcpy(img + ((size_t)Y * ow + X) * 4, line, 3);
        }
    snprintf(path, sizeof path, "%s/grid_%03d.png", dir, index);
    st = pfi_png_write(path, img, ow, oh, 1);
    free(img);
    free(ci);
    return st;
}

pf_status pfi_debug_native(const char *dir, const char *name, const pfi_anim *a, const pfi_logger *lg)
{
    int s = a->height >= 256 ? 1 : (256 + a->height - 1) / a->height;
    int w, h;
    uint8_t *img;
    pf_status st = make_dir(dir, lg);
    char path[4200];

    if (st < 0) return st;
    if (s > 64 || a->width > INT_MAX / 4 / s || a->height > INT_MAX / 4 / s) return PF_ENOMEM;
    w = a->width * s;
    h = a->height * s;
    if (!(img = pfi_malloc4((size_t)w, (size_t)h, 4, 1))) return PF_ENOMEM;
    for (int f = 0; st == PF_OK && f < a->count; f += frame_step(a->count)) {
        const uint8_t *src = a->frames[f].rgba;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                memcpy(img + ((size_t)y * w + x) * 4, src + ((size_t)(y / s) * a->width + x / s) * 4, 4);
        snprintf(path, sizeof path, "%s/%s_%03d.png", dir, name, f);
        st = pfi_png_write(path, img, w, h, 1);
    }
    free(img);
    return st;
}
