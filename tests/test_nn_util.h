/* test_nn_util.h - shared by the tests/test_nn_*.c binaries: random
 * tensors and the finite-difference gradient check (central differences,
 * objective accumulated in double, optional kink skipping). */
#ifndef PF_TEST_NN_UTIL_H
#define PF_TEST_NN_UTIL_H

#include <math.h>

#include "testutil.h"

/* n floats uniform in [lo, hi), deterministic from *seed. */
static inline float *nt_rand(size_t n, float lo, float hi, uint64_t *seed)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)tu_uniform(seed);
    return p;
}

static inline float *nt_zeros(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

/* sum c_i y_i in double: the scalar objective whose gradient wrt y is c. */
static inline double nt_dot(const float *y, const float *c, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * c[i];
    return s;
}

typedef double (*nt_objective)(void *ctx);

/* Compares the analytic gradient g (n) of obj wrt x (n) with central
 * differences of step h at up to max_checks elements (all if n is small,
 * else a seeded sample). A check passes when |a - d| <= atol + rtol *
 * max(|a|, |d|). With kinks set, elements whose one-sided differences
 * disagree (a kink inside [x - h, x + h], e.g. LeakyReLU at 0 or a
 * nearest-colour switch) are skipped, and at most a quarter may be.
 * Prints the worst error; returns the number of failures. */
static inline int nt_gradcheck(const char *name, float *x, const float *g, size_t n,
                               nt_objective obj, void *ctx, double h, double rtol,
                               double atol, int max_checks, int kinks)
{
    uint64_t seed = 0x5eed0123u + n;
    int fails = 0, skipped = 0, checked = 0;
    double worst = 0.0;
    const double f0 = obj(ctx);
    int count = (size_t)max_checks < n ? max_checks : (int)n;
    for (int c = 0; c < count; c++) {
        size_t i = (size_t)count == n ? (size_t)c : (size_t)(tu_rand(&seed) % n);
        float keep = x[i];
        x[i] = (float)(keep + h);
        double hp = (double)x[i] - keep;           /* the step actually taken */
        double fp = obj(ctx);
        x[i] = (float)(keep - h);
        double hm = keep - (double)x[i];
        double fm = obj(ctx);
        x[i] = keep;
        double d = (fp - fm) / (hp + hm);
        if (kinks) {
            double df = (fp - f0) / hp, db = (f0 - fm) / hm;
            /* a smooth function's one-sided slopes differ by h f'', far
             * below the tolerance; across a kink they differ by O(1) */
            if (fabs(df - db) > atol + rtol * fmax(fabs(df), fabs(db))) {
                skipped++;
                continue;
            }
        }
        checked++;
        double a = g[i], err = fabs(a - d), tol = atol + rtol * fmax(fabs(a), fabs(d));
        if (err / tol > worst) worst = err / tol;
        if (err > tol) {
            if (fails < 5)
                fprintf(stderr, "  %s[%zu]: analytic %.7g numeric %.7g (err %.3g, tol %.3g)\n",
                        name, i, a, d, err, tol);
            fails++;
        }
    }
    fprintf(stderr, "gradcheck %-28s %4d checked, %3d kinks skipped, %d failed, worst err/tol %.3f\n",
            name, checked, skipped, fails, worst);
    if (skipped * 4 > count) {
        fprintf(stderr, "  %s: too many kinks skipped\n", name);
        fails++;
    }
    if (checked == 0) fails++;
    return fails;
}

#endif /* PF_TEST_NN_UTIL_H */
