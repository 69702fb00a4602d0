/*
 * param_table.c - the parameter table (see param_table.h). Blocks are 64-byte
 * aligned and each tensor starts on a 16-float boundary.
 */
#include "nn/param_table.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

int nn_params_add(nn_params *p, const char *name, int ndim, const int *shape,
                  nn_init init, float gain, int decay)
{
    size_t numel = 1, off;
    if (p->data || !name || !*name || strlen(name) >= NN_NAME_MAX || ndim < 1 || ndim > NN_MAX_DIM)
        return PF_EINVAL;
    if (nn_params_find(p, name) >= 0) return PF_EINVAL;
    for (int d = 0; d < ndim; d++)
        if (shape[d] <= 0 || !pfi_mul_size(&numel, numel, (size_t)shape[d])) return PF_EINVAL;
    off = (p->total + 15) / 16 * 16;
    if (off < p->total || off > SIZE_MAX - numel - 16) return PF_EINVAL;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        nn_param *t = realloc(p->t, sizeof *t * (size_t)cap);
        if (!t) return PF_ENOMEM;
        p->t = t;
        p->cap = cap;
    }
    nn_param *r = &p->t[p->n];
    memset(r, 0, sizeof *r);
    memcpy(r->name, name, strlen(name) + 1);
    r->ndim = ndim;
    for (int d = 0; d < ndim; d++) r->shape[d] = shape[d];
    r->numel = numel;
    r->offset = off;
    r->init = init;
    r->gain = gain;
    r->decay = decay;
    p->total = off + numel;
    return p->n++;
}

static float *alloc_block(size_t total)
{
    size_t bytes, n = (total + 15) / 16 * 16;
    if (!pfi_mul_size(&bytes, n ? n : 16, sizeof(float))) return NULL;
    float *b = aligned_alloc(64, bytes);
    if (b) memset(b, 0, bytes);
    return b;
}

pf_status nn_params_alloc(nn_params *p)
{
    if (p->data) return PF_OK;
    p->data = alloc_block(p->total);
    return p->data ? PF_OK : PF_ENOMEM;
}

pf_status nn_params_alloc_grad(nn_params *p)
{
    if (p->grad) return PF_OK;
    p->grad = alloc_block(p->total);
    return p->grad ? PF_OK : PF_ENOMEM;
}

pf_status nn_params_alloc_opt(nn_params *p)
{
    if (!p->m) p->m = alloc_block(p->total);
    if (!p->v) p->v = alloc_block(p->total);
    return p->m && p->v ? PF_OK : PF_ENOMEM;
}

void nn_params_zero_grad(nn_params *p)
{
    if (p->grad) memset(p->grad, 0, sizeof(float) * p->total);
}

int nn_params_find(const nn_params *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0) return i;
    return -1;
}

void nn_params_free(nn_params *p)
{
    if (!p) return;
    free(p->t);
    free(p->data);
    free(p->grad);
    free(p->m);
    free(p->v);
    memset(p, 0, sizeof *p);
}
