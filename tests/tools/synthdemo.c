/*
 * synthdemo.c - writes synthetic training clips (src/train/synth.h) as PNG
 * frame folders, plus a contact sheet of still sprites, so a person can look
 * at what the generator makes. A viewing aid, not part of training.
 *
 * Usage: synthdemo OUTDIR [--clips N] [--sprites N] [--seed S] [--max WxH]
 *                  [--scale K] [--size WxH] [--tile FILE.png]
 * OUTDIR/clip_NNN/frame_NNNN.png  each clip's frames, nearest-upscaled by K
 * OUTDIR/sprites.png              N sprites (8..48 px) on grey, upscaled by K
 * OUTDIR/clips.txt                one line per clip: motion, variant, frames,
 *                                 size, holds, durations
 * --size fixes the contact sheet's sprite size (4..48 a side).
 * --tile animates FILE.png (a static tile) instead of random sprites.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "train/synth.h"

/* Nearest upscale by k of (h, w, 4) into a new buffer; transparent pixels
 * over bg (NULL = keep alpha). */
static uint8_t *upscale(const uint8_t *src, int w, int h, int k, const uint8_t *bg)
{
    uint8_t *dst = malloc((size_t)w * k * h * k * 4);
    if (!dst) return NULL;
    for (int y = 0; y < h * k; y++)
        for (int x = 0; x < w * k; x++) {
            const uint8_t *p = src + 4 * ((size_t)(y / k) * w + x / k);
            uint8_t *o = dst + 4 * ((size_t)y * w * k + x);
            if (bg && !p[3]) {
                memcpy(o, bg, 3);
                o[3] = 255;
            } else {
                memcpy(o, p, 4);
            }
        }
    return dst;
}

static int write_scaled(const char *path, const uint8_t *rgba, int w, int h, int k, const uint8_t *bg)
{
    uint8_t *up = upscale(rgba, w, h, k, bg);
    pf_status st;
    if (!up) return -1;
    st = pfi_png_write(path, up, w * k, h * k, 1);
    free(up);
    if (st != PF_OK) fprintf(stderr, "synthdemo: %s: %s\n", path, pf_strerror(st));
    return st == PF_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *tile = NULL;
    int nclips = 8, nsprites = 48, max_w = 64, max_h = 64, scale = 4, fix_w = 0, fix_h = 0;
    unsigned long long seed = 1;
    uint8_t *tile_px = NULL;
    int tw = 0, th = 0, rc = 0;
    char path[4096];
    FILE *log;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--clips") && v) nclips = atoi(argv[++i]);
        else if (!strcmp(a, "--sprites") && v) nsprites = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && v) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--max") && v) {
            if (sscanf(argv[++i], "%dx%d", &max_w, &max_h) != 2) max_w = max_h = 0;
        } else if (!strcmp(a, "--size") && v) {
            if (sscanf(argv[++i], "%dx%d", &fix_w, &fix_h) != 2 || fix_w < 4 || fix_h < 4 ||
                fix_w > 48 || fix_h > 48) fix_w = fix_h = -1;
        } else if (!strcmp(a, "--scale") && v) scale = atoi(argv[++i]);
        else if (!strcmp(a, "--tile") && v) tile = argv[++i];
        else if (a[0] != '-' && !dir) dir = a;
        else {
            fprintf(stderr, "synthdemo: unknown option %s\n", a);
            return 2;
        }
    }
    if (!dir || nclips < 0 || nsprites < 0 || scale < 1 || scale > 32 || max_w < 4 || max_h < 4 ||
        fix_w < 0) {
        fprintf(stderr, "usage: synthdemo OUTDIR [--clips N] [--sprites N] [--seed S] [--max WxH] "
                        "[--scale K] [--size WxH] [--tile FILE.png]\n");
        return 2;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    if (tile && pfi_png_read(tile, &tile_px, &tw, &th, NULL) != PF_OK) {
        fprintf(stderr, "synthdemo: cannot read %s\n", tile);
        return 1;
    }

    /* contact sheet of stills */
    if (nsprites > 0) {
        int cols = 8, rows = (nsprites + cols - 1) / cols, cell = 52, sw = cols * cell, sh = rows * cell;
        uint8_t *sheet = calloc((size_t)sw * sh, 4), grey[3] = { 150, 160, 170 };
        uint8_t spr[48 * 48 * 4];
        if (!sheet) return 1;
        for (int i = 0; i < nsprites; i++) {
            uint64_t s = seed * 1000003ull + (uint64_t)i;
            int w = 8 + (int)(s % 41), h = w + (int)(s / 41 % 9) - 4;
            if (i % 3 == 0) h = 8 + (int)(s / 369 % 41);
            h = h < 8 ? 8 : h > 48 ? 48 : h;
            if (fix_w > 0) w = fix_w, h = fix_h;
            if (pfi_synth_sprite(spr, w, h, s) != PF_OK) return 1;
            for (int y = 0; y < h; y++)
                memcpy(sheet + 4 * ((size_t)((i / cols) * cell + 2 + y) * sw + (i % cols) * cell + 2),
                       spr + 4 * (size_t)y * w, 4 * (size_t)w);
        }
        snprintf(path, sizeof path, "%s/sprites.png", dir);
        if (write_scaled(path, sheet, sw, sh, scale, grey)) rc = 1;
        free(sheet);
    }

    snprintf(path, sizeof path, "%s/clips.txt", dir);
    log = fopen(path, "w");
    if (!log) {
        perror(path);
        free(tile_px);
        return 1;
    }
    for (int c = 0; c < nclips && rc == 0; c++) {
        pfi_anim a = { 0 };
        pfi_synth_info info;
        uint64_t s = seed * 7919ull + (uint64_t)c;
        pf_status st;
        if (tile_px) {
            int cw = tw + (int)(s % 3) * 8 > 128 ? tw : tw + (int)(s % 3) * 8;
            st = pfi_synth_animate(&a, tile_px, tw, th, cw, th + (cw > tw ? 4 : 0), 16, PF_SYNTH_ANY, s, &info);
        } else {
            st = pfi_synth_clip(&a, max_w, max_h, 0, s, &info);
        }
        if (st != PF_OK) {
            fprintf(stderr, "synthdemo: clip %d: %s\n", c, pf_strerror(st));
            rc = 1;
            break;
        }
        snprintf(path, sizeof path, "%s/clip_%03d", dir, c);
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            perror(path);
            rc = 1;
        }
        for (int t = 0; t < a.count && rc == 0; t++) {
            snprintf(path, sizeof path, "%s/clip_%03d/frame_%04d.png", dir, c, t);
            if (write_scaled(path, a.frames[t].rgba, a.width, a.height, scale, NULL)) rc = 1;
        }
        fprintf(log, "clip_%03d %s variant=%d frames=%d size=%dx%d still=%dx%d holds=%d durations=",
                c, pfi_synth_motion_name(info.motion), (int)info.variant, a.count, a.width, a.height,
                info.img_w, info.img_h, info.held);
        for (int t = 0; t < a.count; t++) fprintf(log, "%s%d", t ? "," : "", a.frames[t].duration_ms);
        fprintf(log, "\n");
        pfi_anim_free(&a);
    }
    fclose(log);
    free(tile_px);
    return rc;
}
