/* validate.c - in-process scoring of a model on an evaluation split. */
#include "train/validate.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "pixelfix.h"
#include "eval/metrics.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends every frame the stream has ready to out. */
static pf_status drain(pf_stream *s, pfi_anim *out)
{
    pf_stream_frame f;
    pf_status st = PF_OK;
    while (st >= 0 && pf_stream_pull(s, &f) == PF_OK) {
        if (out->width == 0 && (st = pfi_anim_init(out, f.width, f.height)) < 0) break;
        st = pfi_anim_push(out, f.rgba, f.duration_ms);
    }
    return st;
}

/* Restores input into out (native frames, never merged). */
static pf_status restore(pfi_anim *out, const char *input, pf_model *model, const pfi_logger *lg)
{
    pf_params p = pf_default_params();
    pf_limits lim = pf_default_limits();
    pfi_anim in = {0};
    pf_stream *s = NULL;
    p.use_model = model != NULL;
    p.palette_frames = 0;   /* the whole clip, as the sheet/GIF/WebP outputs do */
    pf_status st = pfi_read_anim(&in, input, &lim, 1, lg);
    if (st < 0) return st;
    if ((st = pf_stream_open(&s, in.width, in.height, &p, model)) < 0) goto done;
    for (int i = 0; i < in.count && st >= 0; i++) {
        st = pf_stream_push(s, in.frames[i].rgba, in.width * 4, in.frames[i].pts_ms, in.frames[i].duration_ms);
        if (st >= 0) st = drain(s, out);
    }
    if (st >= 0) st = pf_stream_finish(s);
    if (st >= 0) st = drain(s, out);
done:
    pf_stream_close(s);
    pfi_anim_free(&in);
    return st;
}

static pfi_val_kind *kind_slot(pfi_val_result *res, const char *name)
{
    for (int i = 0; i < res->n_kinds; i++)
        if (strcmp(res->kind[i].name, name) == 0) return &res->kind[i];
    if (res->n_kinds == PF_VAL_MAX_KINDS) return NULL;
    pfi_val_kind *k = &res->kind[res->n_kinds++];
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

static void add(pfi_val_kind *k, const pfi_metrics *m, int ok)
{
    k->cases++;
    if (!ok) {
        k->failed++;
        return;
    }
    k->acc += m->acc;
    k->acc_opaque += m->acc_opaque;
    k->alpha_iou += m->alpha_iou;
    k->flicker += m->flicker;
}

static void finish(pfi_val_kind *k)
{
    if (k->cases) {
        k->acc /= k->cases;
        k->acc_opaque /= k->cases;
        k->alpha_iou /= k->cases;
    }
    if (k->cases > k->failed) k->flicker /= k->cases - k->failed;
}

pf_status pfi_validate(pfi_val_result *res, const char *split_dir, const char *model_path, int stride,
                      const pfi_logger *lg)
{
    memset(res, 0, sizeof *res);
    snprintf(res->all.name, sizeof res->all.name, "all");
    double t0 = pfi_now_ms();
    DIR *dir = opendir(split_dir);
    if (!dir) {
        pfi_error(lg, "no evaluation split at %s: build it with /usr/bin/python3 tests/evalset/build.py", split_dir);
        return PF_EIO;
    }
    char **names = NULL;
    int n = 0;
    pf_status st = PF_OK;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        char **g = realloc(names, sizeof *g * (size_t)(n + 1));
        if (!g || !(g[n] = strdup(e->d_name))) {
            names = g ? g : names;
            st = PF_ENOMEM;
            break;
        }
        names = g;
        n++;
    }
    closedir(dir);
    pf_model *model = NULL;
    if (st == PF_OK && model_path) {
        pf_params p = pf_default_params();
        st = pf_model_load(&model, model_path, &p);
    }
    if (names) qsort(names, (size_t)n, sizeof *names, cmp_str);
    int scored = 0;
    for (int i = 0; i < n && st == PF_OK; i += stride > 0 ? stride : 1) {
        char path[4096], in[4096], gtp[4096];
        snprintf(path, sizeof path, "%s/%s/case.json", split_dir, names[i]);
        json_t *c = json_load_file(path, 0, NULL);
        if (!c) continue;   /* not a case folder */
        const char *kind = json_string_value(json_object_get(c, "kind"));
        const char *input = json_string_value(json_object_get(c, "input"));
        const char *gt = json_string_value(json_object_get(c, "gt"));
        pfi_val_kind *k = kind && input && gt ? kind_slot(res, kind) : NULL;
        if (k) {
            snprintf(in, sizeof in, "%s/%s/%s", split_dir, names[i], input);
            snprintf(gtp, sizeof gtp, "%s/%s/%s", split_dir, names[i], gt);
            pfi_anim ga = {0}, oa = {0};
            pf_limits lim = pf_default_limits();
            pfi_metrics m;
            int ok = pfi_read_anim(&ga, gtp, &lim, 1, NULL) == PF_OK && restore(&oa, in, model, NULL) == PF_OK &&
                     pfi_metrics_compute(&m, &ga, &oa) == PF_OK;
            add(k, &m, ok);
            add(&res->all, &m, ok);
            scored++;
            pfi_anim_free(&ga);
            pfi_anim_free(&oa);
        }
        json_decref(c);
    }
    for (int i = 0; i < res->n_kinds; i++) finish(&res->kind[i]);
    finish(&res->all);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    pf_model_free(model);
    if (st == PF_OK && !scored) {
        pfi_error(lg, "no evaluation cases (<case>/case.json) under %s", split_dir);
        st = PF_EIO;
    }
    res->ms = pfi_now_ms() - t0;
    return st;
}
