/* dataset.c - loads the clean training animations and tiles named by the
 * fetch script's manifest into memory. */
#include "train/dataset.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palette/palette.h"

const char *const pfi_val_packages[] = {"xbill", "gnujump-data", "tecnoballz-data", NULL};

static int listed(const char *pkg, const char *list)
{
    size_t n = strlen(pkg);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, pkg, n) == 0) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int excluded(const char *pkg, const char *exclude)
{
    for (int i = 0; pfi_val_packages[i]; i++)
        if (strcmp(pkg, pfi_val_packages[i]) == 0) return 1;
    return listed(pkg, exclude);
}

static pf_status read_png(const char *dir, const char *rel, uint8_t **rgba, int *w, int *h,
                          const pfi_logger *lg)
{
    char path[4096];
    pf_limits lim = pf_default_limits();
    lim.max_pixels = 256 * 256;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    pf_status st = pfi_png_read(path, rgba, w, h, &lim);
    if (st < 0 && st != PF_ELIMIT) pfi_error(lg, "cannot read training frame %s", path);
    return st;
}

/* One animation: dir/<anim dir>/NNNN.png for each frame. */
static pf_status load_anim(pfi_dataset *d, const char *clean_dir, json_t *a, const pfi_logger *lg)
{
    const char *sub = json_string_value(json_object_get(a, "dir"));
    json_t *durs = json_object_get(a, "durations_ms");
    int n = (int)json_integer_value(json_object_get(a, "frames"));
    if (!sub || n < 1 || !json_is_array(durs) || json_array_size(durs) != (size_t)n) return PF_EFORMAT;
    pfi_anim an = {0};
    pf_status st = PF_OK;
    for (int i = 0; i < n && st == PF_OK; i++) {
        char rel[4096];
        uint8_t *px = NULL;
        int w, h, dur = (int)json_integer_value(json_array_get(durs, (size_t)i));
        snprintf(rel, sizeof rel, "%s/%04d.png", sub, i);
        if ((st = read_png(clean_dir, rel, &px, &w, &h, lg)) < 0) break;
        if (i == 0) st = pfi_anim_init(&an, w, h);
        else if (w != an.width || h != an.height) st = PF_EFORMAT;
        if (st == PF_OK) st = pfi_anim_push(&an, px, dur > 0 ? dur : 100);
        free(px);
    }
    if (st == PF_ELIMIT) {   /* too big to be a sprite: skip it */
        pfi_anim_free(&an);
        return PF_OK;
    }
    if (st == PF_OK) {
        pfi_anim *g = realloc(d->anims, sizeof *g * (size_t)(d->n_anims + 1));
        if (!g) st = PF_ENOMEM;
        else {
            d->anims = g;
            d->anims[d->n_anims++] = an;
            d->frames += n;
            return PF_OK;
        }
    }
    pfi_anim_free(&an);
    return st;
}

/* pfi_tile.texture of t, once at load (scenes pick their walls by it). */
static double tile_texture(const pfi_tile *t)
{
    const size_t n = (size_t)t->w * t->h;
    double mean[3] = {0, 0, 0}, dist = 0;
    for (size_t k = 0; k < n; k++)
        if (t->rgba[k * 4 + 3] != 255) return -1.0;
    if (n < 4) return -1.0;
    for (size_t k = 0; k < n; k++) {
        float lab[3];
        pfi_srgb8_to_oklab(t->rgba + k * 4, lab);
        for (int c = 0; c < 3; c++) mean[c] += lab[c] / (double)n;
    }
    for (size_t k = 0; k < n; k++) {
        float lab[3];
        pfi_srgb8_to_oklab(t->rgba + k * 4, lab);
        dist += sqrt(pow(lab[0] - mean[0], 2) + pow(lab[1] - mean[1], 2) + pow(lab[2] - mean[2], 2));
    }
    return dist / (double)n;
}

static pf_status load_tile(pfi_dataset *d, const char *clean_dir, const char *rel, const pfi_logger *lg)
{
    pfi_tile t = {0};
    pf_status st = read_png(clean_dir, rel, &t.rgba, &t.w, &t.h, lg);
    if (st == PF_ELIMIT) return PF_OK;
    if (st < 0) return st;
    t.texture = tile_texture(&t);
    pfi_tile *g = realloc(d->tiles, sizeof *g * (size_t)(d->n_tiles + 1));
    if (!g) {
        free(t.rgba);
        return PF_ENOMEM;
    }
    d->tiles = g;
    d->tiles[d->n_tiles++] = t;
    return PF_OK;
}

/* A "tiles" entry: {"package", "dir", "files": ["0000.png", ...]} or
 * {"package", "path"} for one tile. */
static pf_status load_tiles(pfi_dataset *d, const char *clean_dir, json_t *e, const pfi_logger *lg)
{
    const char *path = json_string_value(json_object_get(e, "path"));
    if (path) return load_tile(d, clean_dir, path, lg);
    const char *dir = json_string_value(json_object_get(e, "dir"));
    json_t *files = json_object_get(e, "files");
    if (!dir || !json_is_array(files)) return PF_EFORMAT;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        char rel[4096];
        if (!json_is_string(f)) return PF_EFORMAT;
        snprintf(rel, sizeof rel, "%s/%s", dir, json_string_value(f));
        pf_status st = load_tile(d, clean_dir, rel, lg);
        if (st < 0) return st;
    }
    return PF_OK;
}

pf_status pfi_dataset_load(pfi_dataset *d, const char *clean_dir, const char *exclude,
                          const pfi_logger *lg)
{
    char path[4096], pkgs[8192] = ",";
    json_error_t jerr;
    memset(d, 0, sizeof *d);
    snprintf(path, sizeof path, "%s/manifest.json", clean_dir);
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        pfi_error(lg, "cannot read the training manifest %s (%s): build the data with "
                 "/usr/bin/python3 tests/evalset/fetch.py", path, jerr.text);
        return PF_EIO;
    }
    pf_status st = PF_OK;
    const char *keys[2] = {"animations", "tiles"};
    for (int k = 0; k < 2 && st == PF_OK; k++) {
        json_t *arr = json_object_get(root, keys[k]), *e;
        size_t i;
        if (!arr) continue;
        if (!json_is_array(arr)) {
            st = PF_EFORMAT;
            break;
        }
        json_array_foreach(arr, i, e) {
            const char *pkg = json_string_value(json_object_get(e, "package"));
            if (!pkg || json_object_get(e, "duplicate_of")) continue;
            if (excluded(pkg, exclude)) continue;
            st = k == 0 ? load_anim(d, clean_dir, e, lg) : load_tiles(d, clean_dir, e, lg);
            if (st < 0) {
                if (st == PF_EFORMAT) pfi_error(lg, "malformed %s entry %zu in %s", keys[k], i, path);
                break;
            }
            if (!listed(pkg, pkgs + 1) && strlen(pkgs) + strlen(pkg) + 2 < sizeof pkgs) {
                strcat(pkgs, pkg);
                strcat(pkgs, ",");
                d->n_packages++;
            }
        }
    }
    json_decref(root);
    if (st == PF_OK && d->n_anims + d->n_tiles == 0) {
        pfi_error(lg, "the manifest %s lists no training material outside the validation packages", path);
        st = PF_ENOFRAMES;
    }
    if (st < 0) pfi_dataset_free(d);
    return st;
}

void pfi_dataset_free(pfi_dataset *d)
{
    for (int i = 0; i < d->n_anims; i++) pfi_anim_free(&d->anims[i]);
    for (int i = 0; i < d->n_tiles; i++) free(d->tiles[i].rgba);
    free(d->anims);
    free(d->tiles);
    memset(d, 0, sizeof *d);
}
