/*
 * init.c - seeded RNG and Kaiming / Dirac initialisation.
 */
#include "nn/init.h"

#include <math.h>
#include <string.h>

void nn_rng_seed(nn_rng *r, uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1DULL;
}

uint64_t nn_rng_u64(nn_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

double nn_rng_uniform(nn_rng *r)
{
    return (double)(nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double nn_rng_normal(nn_rng *r)
{
    double u1 = 1.0 - nn_rng_uniform(r), u2 = nn_rng_uniform(r);   /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void nn_params_init(nn_params *p, nn_rng *r)
{
    for (int i = 0; i < p->n; i++) {
        const nn_param *t = &p->t[i];
        float *d = p->data + t->offset;
        memset(d, 0, sizeof(float) * t->numel);
        if (t->init == NN_INIT_KAIMING) {
            size_t fan_in = t->numel / (size_t)t->shape[0];
            double std = t->gain / sqrt((double)(fan_in ? fan_in : 1));
            for (size_t k = 0; k < t->numel; k++) d[k] = (float)(std * nn_rng_normal(r));
        } else if (t->init == NN_INIT_DIRAC) {
            int k = t->ndim >= 2 ? t->shape[t->ndim - 1] : 1;
            for (size_t row = 0; row < t->numel / (size_t)k; row++) d[row * k + k / 2] = 1.0f;
        }
    }
}
