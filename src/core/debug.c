/* debug.c - images for --debug DIR (see debug.h). People would rather look
 * than read: the grid over the input shows at a glance whether detection
 * locked on. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "debug.h"

static pf_status make_dir(const char *dir, const pf_logger *lg)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return PF_OK;
    pf_error(lg, "cannot create debug folder '%s': %s", dir, strerror(errno));
    return PF_EOUTPUT;
}

static int frame_step(int n) { return n <= 4 ? 1 : (n + 3) / 4; }

static void blend(uint8_t *px, const uint8_t c[3])
{
    for (int i = 0; i < 3; i++) px[i] = (uint8_t)((px[i] + 3 * c[i]) / 4);
    px[3] = 255;
}

pf_status pf_debug_grid(const char *dir, const pf_grid *g, uint8_t *const *frames, int n,
                        int w, int h, const pf_logger *lg)
{
    static const uint8_t col[2][3] = {{255, 40, 40}, {40, 220, 255}};
    size_t bytes = (size_t)w * (size_t)h * 4;
    uint8_t *img = malloc(bytes);
    pf_grid_scratch scratch;
    pf_status st = pf_grid_scratch_init(&scratch, w, h);
    char path[4200];

    if (st == PF_OK) st = img ? make_dir(dir, lg) : PF_ENOMEM;
    for (int f = 0; st == PF_OK && f < n; f += frame_step(n)) {
        double dx, dy;
        memcpy(img, frames[f], bytes);
        if ((st = pf_grid_drift(g, frames[f], w, h, &scratch, &dx, &dy)) < 0) break;
        for (int i = 0; i <= g->cols; i++) {
            int x = (int)(g->xb[i] + dx + 0.5);
            if (x < 0 || x >= w) continue;
            for (int y = 0; y < h; y++) blend(img + ((size_t)y * w + x) * 4, col[i & 1]);
        }
        for (int j = 0; j <= g->rows; j++) {
            int y = (int)(g->yb[j] + dy + 0.5);
            if (y < 0 || y >= h) continue;
            for (int x = 0; x < w; x++) blend(img + ((size_t)y * w + x) * 4, col[j & 1]);
        }
        snprintf(path, sizeof path, "%s/grid_%03d.png", dir, f);
        st = pf_png_write(path, img, w, h, 1);
    }
    pf_grid_scratch_free(&scratch);
    free(img);
    return st;
}

pf_status pf_debug_native(const char *dir, const char *name, const pf_anim *a, const pf_logger *lg)
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
    if (!(img = pf_malloc4((size_t)w, (size_t)h, 4, 1))) return PF_ENOMEM;
    for (int f = 0; st == PF_OK && f < a->count; f += frame_step(a->count)) {
        const uint8_t *src = a->frames[f].rgba;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                memcpy(img + ((size_t)y * w + x) * 4, src + ((size_t)(y / s) * a->width + x / s) * 4, 4);
        snprintf(path, sizeof path, "%s/%s_%03d.png", dir, name, f);
        st = pf_png_write(path, img, w, h, 1);
    }
    free(img);
    return st;
}
