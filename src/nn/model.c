/*
 * model.c - the restoration model around the U-Net (see model.h): input
 * packing, output composition, weight files. The layers live in unet.c.
 */
#include "nn/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"

int nn_model_k_from_in_ch(int in_ch)
{
    for (int k = 1; k <= 8; k++)
        if (4 * k * k + 3 == in_ch) return k;
    return -1;
}

/* The network and its parameter table, values not yet allocated. */
static pf_status build_table(nn_model *m, const nn_unet_cfg *cfg)
{
    memset(m, 0, sizeof *m);
    m->k = nn_model_k_from_in_ch(cfg->in_ch);
    if (m->k < 0 || cfg->out_ch != 4) return PF_EINVAL;
    m->cfg = *cfg;
    return nn_unet_build(&m->net, &m->p, cfg);
}

static pf_status build(nn_model *m, const nn_unet_cfg *cfg)
{
    pf_status st = build_table(m, cfg);
    return st < 0 ? st : nn_params_alloc(&m->p);
}

pf_status nn_model_init(nn_model *m, const nn_unet_cfg *cfg)
{
    pf_status st = build(m, cfg);
    if (st < 0) nn_model_free(m);
    return st;
}

pf_status nn_model_init_random(nn_model *m, const nn_unet_cfg *cfg, uint64_t seed)
{
    pf_status st = nn_model_init(m, cfg);
    if (st < 0) return st;
    nn_rng r;
    nn_rng_seed(&r, seed);
    nn_params_init(&m->p, &r);
    return PF_OK;
}

pf_status nn_model_load(nn_model *m, const char *path, size_t max_bytes, const pfi_logger *lg)
{
    nn_st st;
    nn_unet_cfg cfg;
    pf_status rc;

    memset(m, 0, sizeof *m);
    nn_werr e = nn_st_read_file(&st, path, max_bytes, lg);
    if (e != NN_WOK) {
        pfi_error(lg, "model '%s': %s", path, nn_werr_str(e));
        return nn_werr_status(e, 0);
    }
    if ((rc = nn_unet_cfg_from_st(&cfg, &st, lg)) < 0) goto fail;
    if (nn_model_k_from_in_ch(cfg.in_ch) < 0 || cfg.out_ch != 4) {
        pfi_error(lg, "model '%s': %d input and %d output channels; pixelfix needs 4k^2+3 in "
                 "(k = samples per cell side) and 4 out", path, cfg.in_ch, cfg.out_ch);
        rc = PF_EMODEL;
        goto fail;
    }
    /* every tensor's presence, shape and dtype against the metadata before
     * anything of the network's size is allocated */
    if ((rc = build_table(m, &cfg)) < 0) goto fail;
    e = nn_weights_check_st(&m->p, &st, 0, lg);
    if (e != NN_WOK) {
        pfi_error(lg, "model '%s': %s", path, nn_werr_str(e));
        rc = nn_werr_status(e, 0);
        goto fail;
    }
    if ((rc = nn_params_alloc(&m->p)) < 0) goto fail;
    const char *alpha = nn_st_meta_get(&st, "pf.alpha");
    if (alpha && strcmp(alpha, "classical") && strcmp(alpha, "model")) {
        pfi_error(lg, "model '%s': pf.alpha is '%s'; expected 'model' or 'classical'", path, alpha);
        rc = PF_EMODEL;
        goto fail;
    }
    m->classical_alpha = alpha && strcmp(alpha, "classical") == 0;
    e = nn_weights_from_st(&m->p, &st, 0, lg);
    if (e != NN_WOK) {
        pfi_error(lg, "model '%s': %s", path, nn_werr_str(e));
        rc = nn_werr_status(e, 0);
        goto fail;
    }
    nn_st_free(&st);
    return PF_OK;
fail:
    nn_st_free(&st);
    nn_model_free(m);
    return rc;
}

pf_status nn_model_save(const nn_model *m, const char *path, nn_dtype dtype, const pfi_logger *lg)
{
    nn_kv kv[NN_UNET_META_MAX + 1];
    char store[NN_UNET_META_STORE];
    int n = nn_unet_cfg_to_meta(&m->cfg, kv, store);
    kv[n].key = "pf.alpha";
    kv[n++].val = m->classical_alpha ? "classical" : "model";
    return nn_weights_save(&m->p, path, kv, n, dtype, 0, lg);
}

void nn_model_free(nn_model *m)
{
    if (!m) return;
    nn_params_free(&m->p);
    memset(m, 0, sizeof *m);
}

pf_status nn_state_init(nn_state *s, const nn_model *m, int threads)
{
    memset(s, 0, sizeof *s);
    s->net = m->net;   /* the rows; the copy plans its own arenas */
    memset(&s->net.av, 0, sizeof s->net.av);
    memset(&s->net.ag, 0, sizeof s->net.ag);
    s->net.T = 0;
    if (threads != 1 && nn_pool_new(&s->pool, threads) < 0) return PF_ENOMEM;
    return PF_OK;
}

void nn_state_free(nn_state *s)
{
    if (!s) return;
    nn_unet_free(&s->net);
    nn_pool_free(s->pool);
    free(s->x);
    memset(s, 0, sizeof *s);
}

static int round_up(int v, int q)
{
    return (v + q - 1) / q * q;
}

/* nn_model_pack of frames t0..t1-1 only (the others are not needed). */
static pf_status pack(const nn_model *m, nn_state *s, const float *const *samples, const float bg[3],
                      int T, int H, int W, int training, int t0, int t1)
{
    const int k = m->k, q = 1 << (m->cfg.levels - 1), C = m->cfg.in_ch;
    if (T < 1 || H < 1 || W < 1 || H > 1 << 15 || W > 1 << 15) return PF_EINVAL;
    const int Hp = round_up(H, q), Wp = round_up(W, q);
    const size_t plane = (size_t)Hp * Wp;   /* under 2^31: H, W <= 2^15 */
    size_t frame, need;
    if (!pfi_mul_size(&frame, (size_t)C, plane) || !pfi_mul_size(&need, frame, (size_t)T))
        return PF_ENOMEM;
    if (need > s->x_cap) {
        float *x = pfi_malloc4(need, sizeof(float), 1, 1);
        if (!x) return PF_ENOMEM;
        free(s->x);
        s->x = x;
        s->x_cap = need;
    }
    pf_status st = nn_unet_plan(&s->net, T, Hp, Wp, training);
    if (st < 0) return st;
    const size_t sw = (size_t)W * k, splane = (size_t)H * k * sw;
    for (int t = t0; t < t1; t++) {
        float *x = s->x + (size_t)t * frame;
        for (int c = 0; c < 4; c++)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    float *dst = x + (size_t)((c * k + i) * k + j) * plane;
                    const float *src = samples[t] + (size_t)c * splane + (size_t)i * sw + j;
                    for (int y = 0; y < Hp; y++) {
                        const float *row = src + (size_t)(y < H ? y : H - 1) * k * sw;
                        float *d = dst + (size_t)y * Wp;
                        for (int xx = 0; xx < W; xx++) d[xx] = row[(size_t)xx * k];
                        for (int xx = W; xx < Wp; xx++) d[xx] = d[W - 1];
                    }
                }
        for (int c = 0; c < 3; c++) {
            float *dst = x + (size_t)(4 * k * k + c) * plane;
            for (size_t i = 0; i < plane; i++) dst[i] = bg[c];
        }
    }
    return PF_OK;
}

pf_status nn_model_pack(const nn_model *m, nn_state *s, const float *const *samples,
                        const float bg[3], int T, int H, int W, int training)
{
    s->held = 0;
    return pack(m, s, samples, bg, T, H, W, training, 0, T);
}

pf_status nn_model_window_bytes(const nn_model *m, int T, int H, int W, size_t *bytes)
{
    const int q = 1 << (m->cfg.levels - 1);
    size_t net = 0, x = 0;
    pf_status st;
    if (T < 1 || H < 1 || W < 1 || H > 1 << 15 || W > 1 << 15) return PF_EINVAL;
    const int Hp = round_up(H, q), Wp = round_up(W, q);
    nn_unet u = m->net;   /* measured on a copy: m is only read */
    if ((st = nn_unet_plan_bytes(&u, T, Hp, Wp, 0, &net)) < 0) return st;
    if (!pfi_mul4_size(&x, (size_t)m->cfg.in_ch, (size_t)Hp, (size_t)Wp, (size_t)T) ||
        !pfi_mul_size(&x, x, sizeof(float)) || !pfi_add_size(bytes, net, x))
        *bytes = SIZE_MAX;
    return PF_OK;
}

pf_status nn_model_run(const nn_model *m, nn_state *s, const float *const *samples,
                       const float *const *cells, const float bg[3], int T, int H, int W,
                       int reuse, float *const *out)
{
    const int q = 1 << (m->cfg.levels - 1);
    if (reuse < 0 || 2 * reuse > T || H < 1 || W < 1) return PF_EINVAL;
    const nn_unet *u = &s->net;
    if (!(s->held == T && u->av.base && !u->training && u->T == T && u->H == round_up(H, q) &&
          u->W == round_up(W, q)))
        reuse = 0;   /* nothing to take the features from */
    s->held = 0;
    /* a window padded by repeating its last frame (the same pointers, as
     * nn_windower pads the last one): the repeats run neither encoder nor
     * decoder */
    int n = T;
    while (n > reuse + 1 && samples[n - 1] == samples[n - 2] && cells[n - 1] == cells[n - 2]) n--;
    pf_status st = pack(m, s, samples, bg, T, H, W, 0, reuse, n);
    if (st < 0) return st;
    nn_pool *prev = nn_pool_bind(s->pool);
    const float *y = nn_unet_forward_window(&s->net, s->x, reuse, n);
    nn_pool_bind(prev);
    s->held = T;
    s->encoded += n - reuse;
    const int Hp = s->net.H, Wp = s->net.W;
    const size_t pp = (size_t)Hp * Wp, plane = (size_t)H * W;
    for (int t = 0; t < T; t++) {
        const float *yt = y + (size_t)t * 4 * pp, *ct = cells[t];
        float *o = out[t];
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) {
                size_t i = (size_t)yy * W + xx, ip = (size_t)yy * Wp + xx;
                /* A non-finite output (weights that overflow) counts as no
                 * correction: the clamps below would let NaN through. */
                for (int c = 0; c < 3; c++) {
                    float d = yt[c * pp + ip];
                    float v = ct[c * plane + i] + (isfinite(d) ? d : 0.0f);
                    o[c * plane + i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
                }
                float dl = m->classical_alpha ? 0.0f : yt[3 * pp + ip];
                float logit = (isfinite(dl) ? dl : 0.0f) + NN_ALPHA_PRIOR * (2.0f * ct[3 * plane + i] - 1.0f);
                o[3 * plane + i] = 1.0f / (1.0f + expf(-logit));
            }
    }
    return PF_OK;
}

/* ---- tiles ------------------------------------------------------------------ */

/* One tile's span along an axis of n cells: the kept part [a, b) and the
 * part run [lo, hi), the halo clamped to the frame. */
static void tile_span(int a, int S, int n, int *b, int *lo, int *hi)
{
    *b = a + S < n ? a + S : n;
    *lo = a - NN_TILE_HALO > 0 ? a - NN_TILE_HALO : 0;
    *hi = *b + NN_TILE_HALO < n ? *b + NN_TILE_HALO : n;
}

/* Bytes of the tile buffers for T frames of h x w cells: samples (4k^2),
 * cells (4) and output (4) per cell. */
static int tile_buffer_bytes(const nn_model *m, int T, int h, int w, size_t *bytes)
{
    const size_t per_cell = (size_t)4 * m->k * m->k + 8;
    return pfi_mul4_size(bytes, per_cell, (size_t)h, (size_t)w, (size_t)T) &&
           pfi_mul_size(bytes, *bytes, sizeof(float));
}

pf_status nn_model_tile_plan(const nn_model *m, int T, int H, int W, size_t max_bytes, int *S, size_t *bytes)
{
    static const int sides[] = {1024, 768, 512, 384, 256, 192, 128, 96, 64, 32};
    const int q = 1 << (m->cfg.levels - 1);
    size_t need;
    pf_status st;

    if (!S || !bytes || T < 1 || H < 1 || W < 1) return PF_EINVAL;
    if ((st = nn_model_window_bytes(m, T, H, W, &need)) < 0) return st;
    *S = 0;
    *bytes = need;
    if (max_bytes == 0 || need <= max_bytes) return PF_OK;
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        int side = sides[i] / q * q, h = side + 2 * NN_TILE_HALO, w = h;
        size_t net, buf;
        if (side >= H && side >= W) continue;   /* no smaller than the frame: one tile */
        if (h > H) h = H;
        if (w > W) w = W;
        if ((st = nn_model_window_bytes(m, T, h, w, &net)) < 0) return st;
        if (!tile_buffer_bytes(m, T, h, w, &buf) || !pfi_add_size(&need, net, buf)) continue;
        if (need <= max_bytes) {
            *S = side;
            *bytes = need;
            return PF_OK;
        }
    }
    *S = -1;
    return PF_OK;
}

pf_status nn_model_run_tiled(const nn_model *m, nn_state *s, const float *const *samples,
                             const float *const *cells, const float bg[3], int T, int H, int W,
                             int S, int reuse, float *const *out)
{
    const int k = m->k, q = 1 << (m->cfg.levels - 1);
    if (S <= 0 || (S >= H && S >= W)) return nn_model_run(m, s, samples, cells, bg, T, H, W, reuse, out);
    if (S % q || T < 1 || T > 64 || H < 1 || W < 1) return PF_EINVAL;
    const int side = S + 2 * NN_TILE_HALO;
    const int th = side < H ? side : H, tw = side < W ? side : W;
    size_t sl, cl;
    if (!pfi_mul4_size(&sl, 4, (size_t)th * k, (size_t)tw * k, 1) || !pfi_mul4_size(&cl, 4, (size_t)th, (size_t)tw, 1))
        return PF_ENOMEM;
    float *buf = pfi_malloc4((size_t)T, sl + 2 * cl, sizeof(float), 1);
    if (!buf) return PF_ENOMEM;
    const float *ts[64], *tc[64];
    float *to[64];
    for (int t = 0; t < T; t++) {
        float *b = buf + (size_t)t * (sl + 2 * cl);
        ts[t] = b;
        tc[t] = b + sl;
        to[t] = b + sl + cl;
    }
    const size_t fsw = (size_t)W * k, fsplane = (size_t)H * k * fsw, fplane = (size_t)H * W;
    pf_status st = PF_OK;
    for (int y0 = 0; y0 < H && st == PF_OK; y0 += S)
        for (int x0 = 0; x0 < W && st == PF_OK; x0 += S) {
            int y1, ylo, yhi, x1, xlo, xhi;
            tile_span(y0, S, H, &y1, &ylo, &yhi);
            tile_span(x0, S, W, &x1, &xlo, &xhi);
            const int h = yhi - ylo, w = xhi - xlo;
            const size_t sw = (size_t)w * k, splane = (size_t)h * k * sw, plane = (size_t)h * w;
            for (int t = 0; t < T; t++) {   /* crop samples (4, h*k, w*k) and cells (4, h, w) */
                float *ds = (float *)ts[t], *dc = (float *)tc[t];
                for (int c = 0; c < 4; c++) {
                    for (int r = 0; r < h * k; r++)
                        memcpy(ds + c * splane + (size_t)r * sw,
                               samples[t] + c * fsplane + (size_t)(ylo * k + r) * fsw + (size_t)xlo * k,
                               sw * sizeof(float));
                    for (int r = 0; r < h; r++)
                        memcpy(dc + c * plane + (size_t)r * w, cells[t] + c * fplane + (size_t)(ylo + r) * W + xlo,
                               (size_t)w * sizeof(float));
                }
            }
            st = nn_model_run(m, s, ts, tc, bg, T, h, w, 0, to);
            for (int t = 0; t < T && st == PF_OK; t++)   /* keep the centre */
                for (int c = 0; c < 4; c++)
                    for (int r = y0; r < y1; r++)
                        memcpy(out[t] + c * fplane + (size_t)r * W + x0,
                               to[t] + c * plane + (size_t)(r - ylo) * w + (x0 - xlo),
                               (size_t)(x1 - x0) * sizeof(float));
        }
    free(buf);
    s->held = 0;   /* the last tile's features are not the frame's */
    return st;
}
