/*
 * rng.h - the seeded random numbers of training data: nn_rng (init.h,
 * xorshift64* seeded through SplitMix64) plus the ranges the data
 * generators need. The whole state is the struct, so a checkpoint can store
 * it and a resumed run draws the same numbers. Not for cryptography.
 */
#ifndef PF_TRAIN_RNG_H
#define PF_TRAIN_RNG_H

#include <stdint.h>

#include "nn/init.h"

typedef nn_rng pfi_rng;

/* Seeds the state from one 64-bit seed (any value, 0 included). */
static inline void pfi_rng_seed(pfi_rng *r, uint64_t seed) { nn_rng_seed(r, seed); }

static inline uint64_t pfi_rng_u64(pfi_rng *r) { return nn_rng_u64(r); }

/* Uniform in [0, 1). */
static inline double pfi_rng_unit(pfi_rng *r) { return nn_rng_uniform(r); }

/* Uniform in [lo, hi). */
static inline double pfi_rng_range(pfi_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * nn_rng_uniform(r);
}

/* Uniform integer in [0, n), n >= 1 (multiply-shift; the bias for n far
 * below 2^64 is negligible for training data). */
static inline int pfi_rng_int(pfi_rng *r, int n)
{
    return (int)(((unsigned __int128)nn_rng_u64(r) * (uint64_t)n) >> 64);
}

/* Standard normal. */
static inline double pfi_rng_normal(pfi_rng *r) { return nn_rng_normal(r); }

/* Uniform integer in lo..hi inclusive (lo when hi <= lo). */
static inline int pfi_rng_between(pfi_rng *r, int lo, int hi)
{
    return hi <= lo ? lo : lo + pfi_rng_int(r, hi - lo + 1);
}

/* Uniform float in [lo, hi). */
static inline float pfi_rng_betweenf(pfi_rng *r, float lo, float hi) { return (float)pfi_rng_range(r, lo, hi); }

/* 1 with probability p. */
static inline int pfi_rng_chance(pfi_rng *r, double p) { return pfi_rng_unit(r) < p; }

#endif /* PF_TRAIN_RNG_H */
