/* trainer.c - the training loop of `pixelfix train`: data thread, losses,
 * AdamW, checkpoints, CSV logs and periodic validation. */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/gemm.h"
#include "nn/init.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/weights.h"
#include "train/dataset.h"
#include "train/validate.h"

pfi_train_cfg pfi_train_default_cfg(void)
{
    pfi_train_cfg c;
    memset(&c, 0, sizeof c);
    c.net = nn_unet_default_cfg();
    c.sample = pfi_sample_default_cfg();
    c.batch = 4;
    c.steps = 20000;
    c.opt = nn_adamw_default();
    c.opt.lr = 1e-3f;
    c.opt.lr_min = 2e-5f;
    c.opt.warmup = 200;
    c.opt.clip_norm = 1.0f;
    c.w_rgb = 1.0f;
    c.w_alpha = 0.5f;
    c.w_temporal = 0.5f;
    c.w_rgb_keyed = 0.0f;
    c.threads = 1;
    c.prefetch = 8;
    c.seed = 1;
    c.log_every = 10;
    c.ckpt_every = 250;
    c.val_every = 1000;
    c.val_stride = 2;
    return c;
}

/* ---- the data thread: examples in order of their index ------------------------------ */

typedef struct slot {
    pfi_sample s;
    int64_t index;          /* example index held, -1 = free */
    pf_status st;
} slot;

typedef struct feeder {
    const pfi_dataset *d;
    const pfi_sample_cfg *sc;
    uint64_t seed;
    const pfi_logger *lg;
    slot *slots;
    int n;                  /* slots; 0 = make examples inline */
    int64_t next_make, next_take;
    pfi_sample_stats stats;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    pthread_t th;
} feeder;

static void stats_add(pfi_sample_stats *a, const pfi_sample_stats *b)
{
    for (int k = 0; k < PF_SAMPLE_KINDS; k++) {
        a->drawn[k] += b->drawn[k];
        a->no_grid[k] += b->no_grid[k];
        a->wrong_grid[k] += b->wrong_grid[k];
    }
}

static uint64_t example_seed(uint64_t seed, int64_t index)
{
    nn_rng r;
    nn_rng_seed(&r, seed ^ ((uint64_t)index * 0x9e3779b97f4a7c15ull));
    return nn_rng_u64(&r);
}

static void *feeder_main(void *arg)
{
    feeder *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stop && f->next_make - f->next_take >= f->n) pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop) break;
        int64_t idx = f->next_make;
        slot *sl = &f->slots[idx % f->n];
        pthread_mutex_unlock(&f->mu);
        pfi_sample_stats st = {0};
        pf_status r = pfi_sample_make(&sl->s, f->d, f->sc, example_seed(f->seed, idx), &st, f->lg);
        pthread_mutex_lock(&f->mu);
        stats_add(&f->stats, &st);
        sl->st = r;
        sl->index = idx;
        f->next_make++;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static pf_status feeder_init(feeder *f, const pfi_dataset *d, const pfi_sample_cfg *sc, uint64_t seed, int n,
                             int64_t first, const pfi_logger *lg)
{
    memset(f, 0, sizeof *f);
    f->d = d;
    f->sc = sc;
    f->seed = seed;
    f->lg = lg;
    f->n = n > 0 ? n : 1;
    f->next_make = f->next_take = first;
    if (!(f->slots = calloc((size_t)f->n, sizeof *f->slots))) return PF_ENOMEM;
    for (int i = 0; i < f->n; i++) {
        f->slots[i].index = -1;
        pf_status st = pfi_sample_alloc(&f->slots[i].s, sc);
        if (st < 0) return st;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (n > 0) {
        if (pthread_create(&f->th, NULL, feeder_main, f) != 0) return PF_ENOMEM;
        f->started = 1;
    }
    return PF_OK;
}

/* The next example in index order; *wait_ms gets the time spent waiting. */
static slot *feeder_take(feeder *f, double *wait_ms)
{
    double t0 = pfi_now_ms();
    slot *sl;
    if (!f->started) {   /* inline */
        sl = &f->slots[0];
        pfi_sample_stats st = {0};
        sl->st = pfi_sample_make(&sl->s, f->d, f->sc, example_seed(f->seed, f->next_take), &st, f->lg);
        stats_add(&f->stats, &st);
        sl->index = f->next_take;
        f->next_make = ++f->next_take;
        *wait_ms = pfi_now_ms() - t0;
        return sl;
    }
    pthread_mutex_lock(&f->mu);
    while (f->next_make <= f->next_take) pthread_cond_wait(&f->cv, &f->mu);
    sl = &f->slots[f->next_take % f->n];
    pthread_mutex_unlock(&f->mu);
    *wait_ms = pfi_now_ms() - t0;
    return sl;
}

/* Hands the slot back once its example has been used. */
static void feeder_release(feeder *f)
{
    if (!f->started) return;
    pthread_mutex_lock(&f->mu);
    f->next_take++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void feeder_stats(feeder *f, pfi_sample_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    pthread_mutex_unlock(&f->mu);
}

static void feeder_free(feeder *f)
{
    if (f->started) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->th, NULL);
    }
    if (f->slots) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        for (int i = 0; i < f->n; i++) pfi_sample_free(&f->slots[i].s);
    }
    free(f->slots);
    memset(f, 0, sizeof *f);
}

/* ---- one example: forward, losses, backward ---------------------------------------- */

typedef struct work {
    float *rgb, *gtrgb, *mask, *grgb;     /* (T, 3, H, W), mask (T, 1, H, W) */
    float *z, *ga, *gz;                   /* (T, H, W) */
    float *p4, *g4, *gp4;                 /* (T, 4, H, W) premultiplied */
    float *dy;                            /* (T, 4, H, W) */
    float pal[256 * 3];                   /* the window's GT colours, sRGB 0..1 */
    nn_state net;                         /* the network planned for training, its threads */
} work;

static void work_free(work *w)
{
    free(w->rgb), free(w->gtrgb), free(w->mask), free(w->grgb);
    free(w->z), free(w->ga), free(w->gz);
    free(w->p4), free(w->g4), free(w->gp4), free(w->dy);
    nn_state_free(&w->net);
    memset(w, 0, sizeof *w);
}

static pf_status work_alloc(work *w, const nn_model *m, int threads, int T, int H, int W)
{
    size_t n = (size_t)T * H * W;
    memset(w, 0, sizeof *w);
    if (nn_state_init(&w->net, m, threads) < 0 ||!(w->rgb = malloc(sizeof(float) * 3 * n)) || !(w->gtrgb = malloc(sizeof(float) * 3 * n)) ||
        !(w->mask = malloc(sizeof(float) * n)) || !(w->grgb = malloc(sizeof(float) * 3 * n)) ||
        !(w->z = malloc(sizeof(float) * n)) || !(w->ga = malloc(sizeof(float) * n)) ||
        !(w->gz = malloc(sizeof(float) * n)) || !(w->p4 = malloc(sizeof(float) * 4 * n)) ||
        !(w->g4 = malloc(sizeof(float) * 4 * n)) || !(w->gp4 = malloc(sizeof(float) * 4 * n)) ||
        !(w->dy = malloc(sizeof(float) * 4 * n))) {
        work_free(w);
        return PF_ENOMEM;
    }
    return PF_OK;
}

typedef struct losses {
    double rgb, alpha, temporal, snap;
} losses;

/* The weighted sum of the terms, as the gradient sees them. */
static double loss_total(const pfi_train_cfg *c, const losses *l)
{
    return c->w_rgb * l->rgb + c->w_alpha * l->alpha + c->w_temporal * l->temporal + c->w_snap * l->snap;
}

/* The distinct GT-opaque colours of the example's cells on the grid, (K, 3)
 * sRGB 0..1 in pal; 0 when there are more than 256 (no palette to snap to). */
static int gt_palette(const pfi_sample *s, float *pal)
{
    const size_t plane = (size_t)s->H * s->W;
    uint32_t key[256];
    int K = 0;
    for (int t = 0; t < s->T; t++) {
        const float *gt = s->gt + (size_t)t * 4 * plane;
        for (size_t i = 0; i < plane; i++) {
            if (gt[3 * plane + i] < 0.5f || s->valid[(size_t)t * plane + i] <= 0) continue;
            uint32_t k = 0;
            for (int ch = 0; ch < 3; ch++) k = k << 8 | (uint32_t)lrintf(pfi_clampf(gt[ch * plane + i], 0, 1) * 255);
            int j = 0;
            while (j < K && key[j] != k) j++;
            if (j < K) continue;
            if (K == 256) return 0;
            key[K] = k;
            for (int ch = 0; ch < 3; ch++) pal[3 * K + ch] = gt[ch * plane + i];
            K++;
        }
    }
    return K;
}

/* Forward and backward of one example; gradients accumulate into the
 * model's parameter table, scaled by 1/batch through the weights. */
static pf_status run_example(nn_model *m, const pfi_sample *s, work *w, const pfi_train_cfg *c, losses *out)
{
    const int T = s->T, H = s->H, W = s->W, k = s->k;
    const size_t plane = (size_t)H * W, n = (size_t)T * plane;
    const float inv_b = 1.0f / (float)c->batch;
    const float *samples[64] = {0};
    if (T > 64) return PF_EINVAL;
    for (int t = 0; t < T; t++) samples[t] = s->samples + (size_t)t * 4 * plane * k * k;
    pf_status st = nn_model_pack(m, &w->net, samples, s->bg, T, H, W, 1);
    if (st < 0) return st;
    nn_pool *prev = nn_pool_bind(w->net.pool);
    const float *y = nn_unet_forward(&w->net.net, w->net.x);   /* (T, 4, H, W): H, W are multiples of 4 */

    for (int t = 0; t < T; t++) {
        const float *yt = y + (size_t)t * 4 * plane, *ct = s->cells + (size_t)t * 4 * plane,
                    *gt = s->gt + (size_t)t * 4 * plane;
        for (size_t i = 0; i < plane; i++) {
            const float v = s->valid[(size_t)t * plane + i];
            for (int ch = 0; ch < 3; ch++) {
                w->rgb[((size_t)t * 3 + ch) * plane + i] = ct[ch * plane + i] + yt[ch * plane + i];
                w->gtrgb[((size_t)t * 3 + ch) * plane + i] = gt[ch * plane + i];
            }
            w->mask[(size_t)t * plane + i] = gt[3 * plane + i] * v;
            if (c->w_rgb_keyed > 0 && gt[3 * plane + i] < 0.5f && ct[3 * plane + i] >= 0.5f) {
                /* a blend with the key left opaque: keep its colour */
                for (int ch = 0; ch < 3; ch++) w->gtrgb[((size_t)t * 3 + ch) * plane + i] = ct[ch * plane + i];
                w->mask[(size_t)t * plane + i] = c->w_rgb_keyed * v;
            }
            w->z[(size_t)t * plane + i] = (m->classical_alpha ? 0.0f : yt[3 * plane + i]) +
                                          NN_ALPHA_PRIOR * (2.0f * ct[3 * plane + i] - 1.0f);
            w->ga[(size_t)t * plane + i] = gt[3 * plane + i];
        }
    }
    memset(w->grgb, 0, sizeof(float) * 3 * n);
    memset(w->gz, 0, sizeof(float) * n);
    memset(w->gp4, 0, sizeof(float) * 4 * n);
    out->rgb = nn_loss_charbonnier(w->grgb, c->w_rgb * inv_b, w->rgb, w->gtrgb, w->mask, T, 3, H, W, 1e-3f);
    out->alpha = nn_loss_bce_logits(w->gz, c->w_alpha * inv_b, w->z, w->ga, n);
    out->snap = 0;
    if (c->w_snap > 0) {
        const int K = gt_palette(s, w->pal);
        if (K > 0)
            out->snap = nn_loss_palette_snap(w->grgb, c->w_snap * inv_b, w->rgb, w->pal, K, w->mask, T, H, W,
                                             NN_SPACE_RGB);
    }
    out->temporal = 0;
    if (c->w_temporal > 0 && T > 1) {
        for (int t = 0; t < T; t++)
            for (size_t i = 0; i < plane; i++) {
                const size_t a = (size_t)t * plane + i;
                const float al = 1.0f / (1.0f + expf(-w->z[a])), g = w->ga[a];
                for (int ch = 0; ch < 3; ch++) {
                    w->p4[((size_t)t * 4 + ch) * plane + i] = w->rgb[((size_t)t * 3 + ch) * plane + i] * al;
                    w->g4[((size_t)t * 4 + ch) * plane + i] = w->gtrgb[((size_t)t * 3 + ch) * plane + i] * g;
                }
                w->p4[((size_t)t * 4 + 3) * plane + i] = al;
                w->g4[((size_t)t * 4 + 3) * plane + i] = g;
            }
        out->temporal = nn_loss_temporal(w->gp4, c->w_temporal * inv_b, w->p4, w->g4, T, 4, H, W, 1e-3f);
        /* through the premultiplication: p = rgb * alpha, alpha = sigmoid(z) */
        for (int t = 0; t < T; t++)
            for (size_t i = 0; i < plane; i++) {
                const size_t a = (size_t)t * plane + i;
                const float al = w->p4[((size_t)t * 4 + 3) * plane + i], dal = al * (1.0f - al);
                float gal = w->gp4[((size_t)t * 4 + 3) * plane + i];
                for (int ch = 0; ch < 3; ch++) {
                    const float gp = w->gp4[((size_t)t * 4 + ch) * plane + i];
                    w->grgb[((size_t)t * 3 + ch) * plane + i] += gp * al;
                    gal += gp * w->rgb[((size_t)t * 3 + ch) * plane + i];
                }
                w->gz[a] += gal * dal;
            }
    }
    /* nothing learns from the replicate padding of small grids */
    for (int t = 0; t < T; t++) {
        float *d = w->dy + (size_t)t * 4 * plane;
        for (size_t i = 0; i < plane; i++) {
            const float v = s->valid[(size_t)t * plane + i];
            for (int ch = 0; ch < 3; ch++) d[ch * plane + i] = v * w->grgb[((size_t)t * 3 + ch) * plane + i];
            d[3 * plane + i] = m->classical_alpha ? 0.0f : v * w->gz[(size_t)t * plane + i];
        }
    }
    nn_unet_backward(&w->net.net, NULL, w->dy);
    nn_pool_bind(prev);
    return PF_OK;
}

pf_status pfi_train_example(nn_model *m, const pfi_sample *s, const pfi_train_cfg *c, double *loss)
{
    work w;
    losses l = {0};
    pf_status st = work_alloc(&w, m, 1, s->T, s->H, s->W);
    if (st == PF_OK) st = run_example(m, s, &w, c, &l);
    work_free(&w);
    *loss = loss_total(c, &l) / c->batch;
    return st;
}

/* ---- files ------------------------------------------------------------------------- */

static pf_status ensure_dir(const char *dir, const pfi_logger *lg)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return PF_OK;
    pfi_error(lg, "cannot create the training folder %s: %s", dir, strerror(errno));
    return PF_EOUTPUT;
}

/* Keeps the header and the rows whose first field (the step) is <= step,
 * so a resumed run's CSV has no rows from the steps it redoes. */
static void csv_truncate(const char *path, int64_t step)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char tmp[4200], line[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fclose(f);
        return;
    }
    for (int i = 0; fgets(line, sizeof line, f); i++)
        if (i == 0 || strtoll(line, NULL, 10) <= step) fputs(line, o);
    fclose(f);
    if (fclose(o) == 0) rename(tmp, path);
}

static FILE *csv_open(const char *dir, const char *name, const char *header, const pfi_logger *lg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "a+");
    if (!f) {
        pfi_error(lg, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0) fprintf(f, "%s\n", header);
    return f;
}

static int meta_stats(const pfi_sample_stats *s, char *buf, size_t cap)
{
    size_t o = 0;
    for (int k = 0; k < PF_SAMPLE_KINDS && o < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld/%lld/%lld", k ? "," : "", (long long)s->drawn[k],
                              (long long)s->no_grid[k], (long long)s->wrong_grid[k]);
    return (int)o;
}

static void parse_stats(pfi_sample_stats *s, const char *txt)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; k < PF_SAMPLE_KINDS && txt && *txt; k++) {
        long long a = 0, b = 0, c = 0;
        if (sscanf(txt, "%lld/%lld/%lld", &a, &b, &c) != 3) break;
        s->drawn[k] = a, s->no_grid[k] = b, s->wrong_grid[k] = c;
        txt = strchr(txt, ',');
        if (txt) txt++;
    }
}

static pf_status save_checkpoint(const pfi_train_cfg *c, nn_model *m, const nn_adamw *opt,
                                 const pfi_sample_stats *stats, const pfi_logger *lg)
{
    char path[4200], store[NN_UNET_META_STORE], sbuf[512];
    nn_kv kv[NN_UNET_META_MAX + 1];
    int n = nn_unet_cfg_to_meta(&m->cfg, kv, store);
    meta_stats(stats, sbuf, sizeof sbuf);
    kv[n].key = "pf.train_stats";
    kv[n++].val = sbuf;
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", c->out_dir);
    nn_rng rng;   /* the data needs no RNG state (seeds come from the step), the format wants one */
    nn_rng_seed(&rng, c->seed);
    return nn_checkpoint_save(&m->p, opt, &rng, path, kv, n, lg);
}

static void write_val(FILE *f, int64_t step, const pfi_val_result *r)
{
    for (int i = 0; i <= r->n_kinds; i++) {
        const pfi_val_kind *k = i < r->n_kinds ? &r->kind[i] : &r->all;
        fprintf(f, "%lld,%s,%d,%d,%.5f,%.5f,%.5f,%.5f\n", (long long)step, k->name, k->cases, k->failed, k->acc,
                k->acc_opaque, k->alpha_iou, k->flicker);
    }
    fflush(f);
}

static pf_status validate(const pfi_train_cfg *c, nn_model *m, FILE *vf, int64_t step, const pfi_logger *lg)
{
    char path[4200];
    pfi_val_result r;
    snprintf(path, sizeof path, "%s/val-model.safetensors", c->out_dir);
    pf_status st = nn_model_save(m, path, NN_DT_F32, lg);
    if (st < 0) return st;
    st = pfi_validate(&r, c->val_dir, path, c->val_stride, lg);
    remove(path);
    if (st < 0) return st;
    write_val(vf, step, &r);
    pfi_info(lg, "validation at step %lld: acc %.4f, flicker %.4f over %d cases (%.0f s)", (long long)step,
            r.all.acc, r.all.flicker, r.all.cases, r.ms / 1000);
    return PF_OK;
}

pf_status pfi_train_export(const pfi_train_cfg *c, const char *path, const pfi_logger *lg)
{
    char ck[4200];
    nn_model m;
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", c->out_dir);
    pf_status st = nn_model_load(&m, ck, 0, lg);   /* the AdamW moments are skipped */
    if (st < 0) return st;
    m.classical_alpha = c->classical_alpha;
    st = nn_model_save(&m, path, NN_DT_F16, lg);
    nn_model_free(&m);
    return st;
}

/* ---- the loop ---------------------------------------------------------------------- */

static pf_status check_cfg(const pfi_train_cfg *c, const pfi_logger *lg)
{
    const char *why = NULL;
    if (!c->out_dir) why = "no output folder";
    else if (c->batch < 1 || c->batch > 256) why = "batch must be 1..256";
    else if (c->steps < 1) why = "steps must be >= 1";
    else if (c->sample.T < 2 || c->sample.T > 64) why = "T must be 2..64";
    else if (c->sample.crop < 8 || c->sample.crop > 128 || c->sample.crop % 4) why = "crop must be a multiple of 4 in 8..128";
    else if (c->sample.crop % (1 << (c->net.levels - 1))) why = "crop must be a multiple of 2^(levels-1)";
    else if (c->prefetch < 0 || c->prefetch > 256) why = "prefetch must be 0..256";
    else if (c->w_rgb < 0 || c->w_alpha < 0 || c->w_temporal < 0 || c->w_snap < 0 || c->w_rgb_keyed < 0) why = "loss weights must be >= 0";
    if (why) {
        pfi_error(lg, "training configuration: %s", why);
        return PF_EINVAL;
    }
    return PF_OK;
}

pf_status pfi_train(const pfi_train_cfg *cfg, pfi_train_progress_fn progress, void *user, const pfi_logger *lg)
{
    pfi_train_cfg c = *cfg;
    pfi_dataset d = {0};
    nn_model m = {0};
    nn_adamw opt;
    feeder fd = {0};
    work w = {0};
    FILE *tf = NULL, *vf = NULL;
    pf_status st = check_cfg(&c, lg);
    if (st < 0) return st;
    c.net.in_ch = 4 * c.sample.k * c.sample.k + 3;
    c.net.out_ch = 4;
    c.opt.total = (int)(c.steps < INT32_MAX ? c.steps : INT32_MAX);
    if ((st = ensure_dir(c.out_dir, lg)) < 0) return st;
    if (c.data_dir && (st = pfi_dataset_load(&d, c.data_dir, c.exclude, lg)) < 0) return st;
    pfi_info(lg, "training data: %d animations (%lld frames) and %d tiles from %d packages", d.n_anims,
            (long long)d.frames, d.n_tiles, d.n_packages);

    if ((st = nn_model_init_random(&m, &c.net, c.seed)) < 0) goto done;
    m.classical_alpha = c.classical_alpha;
    /* a zero head: training starts from the classical result exactly */
    int hw = m.net.head.w, hb = m.net.head.b;
    memset(m.p.data + m.p.t[hw].offset, 0, sizeof(float) * m.p.t[hw].numel);
    memset(m.p.data + m.p.t[hb].offset, 0, sizeof(float) * m.p.t[hb].numel);
    if ((st = nn_params_alloc_grad(&m.p)) < 0 || (st = nn_params_alloc_opt(&m.p)) < 0) goto done;
    nn_adamw_init(&opt, &c.opt);

    pfi_sample_stats base = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", c.out_dir);
    if (c.resume) {
        nn_werr why;
        nn_rng rng;
        if ((st = nn_checkpoint_load(&m.p, &opt, &rng, path, 0, &why, lg)) < 0) {
            pfi_error(lg, "cannot resume from %s: %s", path, nn_werr_str(why));
            goto done;
        }
        nn_st stf;
        if (nn_st_read_file(&stf, path, 0, NULL) == NN_WOK) {
            parse_stats(&base, nn_st_meta_get(&stf, "pf.train_stats"));
            nn_st_free(&stf);
        }
        pfi_info(lg, "resuming at step %lld", (long long)opt.step);
    }
    const int64_t first = opt.step;
    char tp[4200];
    snprintf(tp, sizeof tp, "%s/train.csv", c.out_dir);
    csv_truncate(tp, first);
    snprintf(tp, sizeof tp, "%s/val.csv", c.out_dir);
    csv_truncate(tp, first);
    if (!(tf = csv_open(c.out_dir, "train.csv", "step,elapsed_s,lr,loss,rgb,alpha,temporal,grad_norm,samples_per_s,data_wait,snap", lg)) ||
        (c.val_dir && !(vf = csv_open(c.out_dir, "val.csv", "step,kind,cases,failed,acc,acc_opaque,alpha_iou,flicker", lg)))) {
        st = PF_EOUTPUT;
        goto done;
    }
    if ((st = work_alloc(&w, &m, c.threads, c.sample.T, c.sample.crop, c.sample.crop)) < 0) goto done;
    if ((st = feeder_init(&fd, &d, &c.sample, c.seed, c.prefetch, first * c.batch, lg)) < 0) goto done;

    double t0 = pfi_now_ms(), waited = 0, acc_l[5] = {0};
    int acc_n = 0;
    for (int64_t step = first; step < c.steps;) {
        nn_params_zero_grad(&m.p);
        losses sum = {0};
        for (int b = 0; b < c.batch; b++) {
            double wt;
            slot *sl = feeder_take(&fd, &wt);
            waited += wt;
            st = sl->st;
            losses l = {0};
            if (st == PF_OK) st = run_example(&m, &sl->s, &w, &c, &l);
            feeder_release(&fd);
            if (st == PF_ENOGRID) continue;   /* counted in the stats; the step uses fewer examples */
            if (st < 0) {
                pfi_error(lg, "training example %lld failed: %s", (long long)(step * c.batch + b), pf_strerror(st));
                goto done;
            }
            sum.rgb += l.rgb / c.batch, sum.alpha += l.alpha / c.batch, sum.temporal += l.temporal / c.batch;
            sum.snap += l.snap / c.batch;
        }
        st = nn_adamw_step(&opt, &m.p);
        if (st == PF_EINVAL) pfi_warn(lg, "step %lld: non-finite gradient, update skipped", (long long)step);
        else if (st < 0) goto done;
        step++;
        const double loss = loss_total(&c, &sum);
        acc_l[0] += loss, acc_l[1] += sum.rgb, acc_l[2] += sum.alpha, acc_l[3] += sum.temporal, acc_l[4] += sum.snap;
        acc_n++;
        const double el = (pfi_now_ms() - t0) / 1000;
        const int over = c.max_minutes > 0 && el > c.max_minutes * 60;
        const int last = step == c.steps;
        if ((c.log_every > 0 && step % c.log_every == 0) || last || over) {
            pfi_train_status s = {0};
            s.step = step, s.steps = c.steps;
            s.loss = acc_l[0] / acc_n, s.l_rgb = acc_l[1] / acc_n, s.l_alpha = acc_l[2] / acc_n,
            s.l_temporal = acc_l[3] / acc_n, s.l_snap = acc_l[4] / acc_n;
            s.lr = opt.lr, s.grad_norm = opt.grad_norm;
            s.samples_per_s = (double)(step - first) * c.batch / (el > 0 ? el : 1e-9);
            s.data_wait = waited / 1000 / (el > 0 ? el : 1e-9);
            s.eta_s = (double)(c.steps - step) * el / (double)(step - first);
            feeder_stats(&fd, &s.stats);
            stats_add(&s.stats, &base);
            s.stopping = last || over;
            fprintf(tf, "%lld,%.1f,%.6g,%.6g,%.6g,%.6g,%.6g,%.4g,%.3f,%.3f,%.6g\n", (long long)step, el, s.lr, s.loss,
                    s.l_rgb, s.l_alpha, s.l_temporal, s.grad_norm, s.samples_per_s, s.data_wait, s.l_snap);
            fflush(tf);
            memset(acc_l, 0, sizeof acc_l);
            acc_n = 0;
            if (progress && progress(user, &s)) st = PF_EABORTED;
        }
        if (st == PF_EABORTED || over || last || (c.ckpt_every > 0 && step % c.ckpt_every == 0)) {
            pfi_sample_stats tot;
            feeder_stats(&fd, &tot);
            stats_add(&tot, &base);
            pf_status cs = save_checkpoint(&c, &m, &opt, &tot, lg);
            if (cs < 0) {
                st = cs;
                goto done;
            }
        }
        if (vf && c.val_every > 0 && (step % c.val_every == 0 || last)) {
            pf_status vs = validate(&c, &m, vf, step, lg);
            if (vs < 0) {
                st = vs;
                goto done;
            }
        }
        if (st == PF_EABORTED) goto done;
        if (over) {
            pfi_info(lg, "stopped after %.0f minutes at step %lld; --resume continues", el / 60, (long long)step);
            st = PF_EABORTED;
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/model.safetensors", c.out_dir);
    st = nn_model_save(&m, path, NN_DT_F16, lg);
    if (st == PF_OK) pfi_info(lg, "wrote %s", path);
done:
    feeder_free(&fd);
    work_free(&w);
    if (tf) fclose(tf);
    if (vf) fclose(vf);
    nn_model_free(&m);
    pfi_dataset_free(&d);
    return st;
}
