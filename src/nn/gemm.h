/*
 * gemm.h - the one wrapper over cblas_sgemm that every layer goes through,
 * the thread pool that splits it (and the direct convolution's tiles), and
 * a naive reference kept for the tests. Row-major only.
 */
#ifndef PF_NN_GEMM_H
#define PF_NN_GEMM_H

#include "pixelfix.h"

/* C = alpha * op(A) @ op(B) + beta * C, all row-major (BLAS sgemm semantics).
 * op(A) is (M, K): A is (M, K) with lda >= K, or (K, M) with lda >= M when
 * trans_a. op(B) is (K, N): B is (K, N) with ldb >= N, or (N, K) with
 * ldb >= K when trans_b. C is (M, N) with ldc >= N. beta = 0 ignores the
 * old contents of C (NaN included), as BLAS does. */
void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

/* The same product by the textbook triple loop with double accumulation.
 * Slow; for tests only. */
void nn_sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);

/* Most threads a pool runs, callers included. */
#define NN_MAX_THREADS 64

/* A pool of threads that share each nn_sgemm over fixed column chunks of C
 * (so results do not depend on the thread count), and the tasks of
 * nn_pool_for. One per owner (a
 * stream, the trainer): it is not for two threads at once. */
typedef struct nn_pool nn_pool;

/* A pool of `threads` threads, the caller included (<= 0: one per online
 * CPU; at most NN_MAX_THREADS). Workers start on the first nn_sgemm that
 * needs them and stay until nn_pool_free. Errors: PF_ENOMEM. */
pf_status nn_pool_new(nn_pool **pool, int threads);

/* Threads of the pool, callers included (1 for NULL). */
int nn_pool_threads(const nn_pool *pool);

/* Stops and joins the workers, then frees; NULL is fine. */
void nn_pool_free(nn_pool *pool);

/* Makes pool the one that nn_sgemm calls on the calling thread use (NULL:
 * the calling thread alone, the default) and returns the one bound before,
 * for the caller to restore. The binding is the thread's own. */
nn_pool *nn_pool_bind(nn_pool *pool);

/* Runs fn(ctx, i) once for every i in 0 .. n-1, in any order, on the
 * threads of the pool bound to the calling thread (the caller alone when
 * none is bound), and returns when all are done. Tasks must write
 * disjoint outputs; a result then does not depend on the thread count. */
void nn_pool_for(int n, void (*fn)(void *ctx, int i), void *ctx);

#endif /* PF_NN_GEMM_H */
