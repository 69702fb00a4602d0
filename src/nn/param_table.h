/*
 * param_table.h - the parameter table: one (name, shape) row per tensor of a
 * model, all stored in one contiguous block (llm.c's pattern). The table
 * drives allocation, initialisation, loading, saving and the optimiser.
 * Gradients and AdamW moments are allocated only when training.
 */
#ifndef PF_NN_PARAM_TABLE_H
#define PF_NN_PARAM_TABLE_H

#include <stddef.h>

#include "pixelfix.h"

#define NN_NAME_MAX 96   /* longest tensor name + 1 */
#define NN_MAX_DIM 4

/* How nn_params_init fills a tensor. */
typedef enum nn_init {
    NN_INIT_ZERO = 0,    /* all 0 (biases) */
    NN_INIT_KAIMING,     /* normal, std = gain / sqrt(fan_in) (He et al. 2015) */
    NN_INIT_DIRAC        /* (C, k) temporal kernels: centre tap 1, rest 0 (identity) */
} nn_init;

typedef struct nn_param {
    char name[NN_NAME_MAX];
    int ndim;
    int shape[NN_MAX_DIM];
    size_t numel;        /* product of shape */
    size_t offset;       /* floats from the start of the block */
    nn_init init;
    float gain;          /* NN_INIT_KAIMING gain */
    int decay;           /* 1: AdamW weight decay applies (weights, not biases) */
} nn_param;

typedef struct nn_params {
    nn_param *t;         /* (n) rows in the order added */
    int n, cap;
    size_t total;        /* floats in all tensors */
    float *data;         /* (total) values; NULL until nn_params_alloc */
    float *grad;         /* (total) dL/dtheta; NULL until nn_params_alloc_grad */
    float *m, *v;        /* (total) AdamW moments; NULL until nn_params_alloc_opt */
} nn_params;

/* Adds a row; the table must not be allocated yet. shape: (ndim) positive
 * sizes, ndim 1..4. Returns the row index, or PF_EINVAL (bad name or
 * shape, duplicate name) / PF_ENOMEM. */
int nn_params_add(nn_params *p, const char *name, int ndim, const int *shape,
                  nn_init init, float gain, int decay);

/* Allocates the value block, zero-filled. PF_ENOMEM on failure. */
pf_status nn_params_alloc(nn_params *p);
/* Allocates the gradient block (zeroed), or the two AdamW moment blocks
 * (zeroed); no-ops when already there. PF_ENOMEM on failure. */
pf_status nn_params_alloc_grad(nn_params *p);
pf_status nn_params_alloc_opt(nn_params *p);

/* Sets every gradient to 0. */
void nn_params_zero_grad(nn_params *p);

/* Row index of a name, or -1. */
int nn_params_find(const nn_params *p, const char *name);

/* Pointers to row i's values / gradients (NULL when not allocated). */
static inline float *nn_param_data(const nn_params *p, int i)
{
    return p->data ? p->data + p->t[i].offset : NULL;
}
static inline float *nn_param_grad(const nn_params *p, int i)
{
    return p->grad ? p->grad + p->t[i].offset : NULL;
}

/* Frees the table and its blocks; p may be NULL or zeroed. */
void nn_params_free(nn_params *p);

#endif /* PF_NN_PARAM_TABLE_H */
