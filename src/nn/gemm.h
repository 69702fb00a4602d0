/*
 * gemm.h - the one wrapper over cblas_sgemm that every layer goes through,
 * and a naive reference kept for the tests. Row-major only.
 */
#ifndef PF_NN_GEMM_H
#define PF_NN_GEMM_H

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

/* Sets the threads that share every sgemm (n <= 0: one per online CPU).
 * Workers start on first need and stay; results do not depend on n.
 * Default before any call: 1. */
void nn_set_threads(int n);

#endif /* PF_NN_GEMM_H */
