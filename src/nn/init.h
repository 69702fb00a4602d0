/*
 * init.h - deterministic, seeded initialisation of a parameter table, and
 * the RNG behind it (whose state a checkpoint stores).
 */
#ifndef PF_NN_INIT_H
#define PF_NN_INIT_H

#include <stdint.h>

#include "nn/param_table.h"

/* xorshift64* (Vigna 2016): tiny, fast, same stream on every platform. */
typedef struct nn_rng {
    uint64_t s;   /* never 0 */
} nn_rng;

/* Seeds through splitmix64, so nearby seeds give unrelated streams. */
void nn_rng_seed(nn_rng *r, uint64_t seed);
uint64_t nn_rng_u64(nn_rng *r);
/* Uniform in [0, 1). */
double nn_rng_uniform(nn_rng *r);
/* Standard normal (Box-Muller, one value per call). */
double nn_rng_normal(nn_rng *r);

/* Fills every tensor of p (values allocated) by its row's nn_init, rows in
 * table order, drawing from r. Kaiming fan_in = numel / shape[0]. */
void nn_params_init(nn_params *p, nn_rng *r);

#endif /* PF_NN_INIT_H */
