/*
 * optim.c - AdamW with clipping and the warm-up + cosine schedule.
 */
#include "nn/optim.h"

#include <math.h>

#include "base/common.h"

nn_adamw_cfg nn_adamw_default(void)
{
    nn_adamw_cfg c = {
        .lr = 1e-3f, .lr_min = 1e-5f, .warmup = 100, .total = 10000,
        .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0.01f, .clip_norm = 1.0f,
    };
    return c;
}

float nn_lr_at(const nn_adamw_cfg *c, int64_t s)
{
    if (s < c->warmup) return c->lr * (float)(s + 1) / (float)c->warmup;
    int64_t span = c->total - c->warmup;
    double prog = span > 0 ? (double)(s - c->warmup) / (double)span : 1.0;
    if (prog > 1.0) prog = 1.0;
    return (float)(c->lr_min + (c->lr - c->lr_min) * 0.5 * (1.0 + cos(3.141592653589793 * prog)));
}

void nn_adamw_init(nn_adamw *o, const nn_adamw_cfg *cfg)
{
    o->cfg = *cfg;
    o->step = 0;
    o->lr = 0.0f;
    o->grad_norm = 0.0;
}

pf_status nn_adamw_step(nn_adamw *o, nn_params *p)
{
    const nn_adamw_cfg *c = &o->cfg;
    double ss = 0.0;
    pf_status st = nn_params_alloc_opt(p);
    if (st < 0) return st;
    PF_ASSERT(p->grad && p->data);

    for (int i = 0; i < p->n; i++) {
        const float *g = p->grad + p->t[i].offset;
        for (size_t k = 0; k < p->t[i].numel; k++) ss += (double)g[k] * g[k];
    }
    o->grad_norm = sqrt(ss);
    if (!isfinite(o->grad_norm)) return PF_EINVAL;
    const float scale = (c->clip_norm > 0.0f && o->grad_norm > c->clip_norm)
                            ? (float)(c->clip_norm / o->grad_norm) : 1.0f;
    const float lr = nn_lr_at(c, o->step);
    const int64_t t = o->step + 1;
    const float bc1 = (float)(1.0 - pow(c->beta1, (double)t));
    const float bc2 = (float)(1.0 - pow(c->beta2, (double)t));
    for (int i = 0; i < p->n; i++) {
        const nn_param *r = &p->t[i];
        float *w = p->data + r->offset, *m = p->m + r->offset, *v = p->v + r->offset;
        const float *g = p->grad + r->offset;
        const float decay = r->decay ? 1.0f - lr * c->weight_decay : 1.0f;
        for (size_t k = 0; k < r->numel; k++) {
            float gk = g[k] * scale;
            m[k] = c->beta1 * m[k] + (1.0f - c->beta1) * gk;
            v[k] = c->beta2 * v[k] + (1.0f - c->beta2) * gk * gk;
            float mh = m[k] / bc1, vh = v[k] / bc2;
            w[k] = w[k] * decay - lr * mh / (sqrtf(vh) + c->eps);
        }
    }
    o->lr = lr;
    o->step++;
    return PF_OK;
}
