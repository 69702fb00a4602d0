/*
 * gemm.c - sgemm through OpenBLAS's CBLAS interface (row-major), the
 * thread pools that share it, and the naive reference the tests compare it
 * with. No other file calls BLAS.
 *
 * Determinism: OpenBLAS's own threading picks different kernels and
 * blockings by thread count, so results changed in the last bits between
 * 1 and 2 threads. OpenBLAS therefore always runs single-threaded, and we
 * parallelise ourselves over fixed column chunks of C: every chunk is the
 * same sgemm call whatever the thread count, so the output is identical.
 *
 * The pool also runs the direct convolution's tiles (nn_pool_for).
 *
 * A pool belongs to its owner (a stream, the trainer) and is bound to the
 * calling thread only while the owner computes, so two streams on two
 * threads never share a worker or a lock.
 */
#include "nn/gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/common.h"

/* Columns of C per sgemm call: wide enough to keep sgemm efficient. */
#define NN_GEMM_CHUNK 1024

/* One nn_pool_for: tasks 0 .. n-1 of fn, handed out in order. */
typedef struct pool_job {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int n, next, done;
} pool_job;

typedef struct gemm_args {
    int trans_a, trans_b, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_args;

struct nn_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, finished;
    pthread_t tid[NN_MAX_THREADS];
    int threads;          /* callers included */
    int started;          /* workers running */
    int quit;
    pool_job *job;
    unsigned gen;
};

/* The pool the calling thread computes with (NULL: one thread). */
static _Thread_local nn_pool *tl_pool;

static void gemm_chunk(void *ctx, int c)
{
    const gemm_args *j = ctx;
    int j0 = c * NN_GEMM_CHUNK, n = j->N - j0 < NN_GEMM_CHUNK ? j->N - j0 : NN_GEMM_CHUNK;
    const float *B = j->trans_b ? j->B + (size_t)j0 * j->ldb : j->B + j0;
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                j->trans_b ? CblasTrans : CblasNoTrans, j->M, n, j->K, j->alpha,
                j->A, j->lda, B, j->ldb, j->beta, j->C + j0, j->ldc);
}

/* Takes tasks of the current job until none is left; mu held on entry
 * and exit. */
static void work_on(nn_pool *p, pool_job *j)
{
    while (j->next < j->n) {
        int c = j->next++;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->ctx, c);
        pthread_mutex_lock(&p->mu);
        if (++j->done == j->n) pthread_cond_broadcast(&p->finished);
    }
}

static void *worker(void *arg)
{
    nn_pool *p = arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->work, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        if (p->job) work_on(p, p->job);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

static void blas_single(void)
{
    openblas_set_num_threads(1);
}

pf_status nn_pool_new(nn_pool **pool, int threads)
{
    *pool = NULL;
    if (threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (int)c : 1;
    }
    if (threads > NN_MAX_THREADS) threads = NN_MAX_THREADS;
    pthread_once(&g_blas_once, blas_single);
    nn_pool *p = calloc(1, sizeof *p);
    if (!p) return PF_ENOMEM;
    p->threads = threads;
    if (pthread_mutex_init(&p->mu, NULL)) goto fail_mu;
    if (pthread_cond_init(&p->work, NULL)) goto fail_work;
    if (pthread_cond_init(&p->finished, NULL)) goto fail_finished;
    *pool = p;
    return PF_OK;
fail_finished:
    pthread_cond_destroy(&p->work);
fail_work:
    pthread_mutex_destroy(&p->mu);
fail_mu:
    free(p);
    return PF_ENOMEM;
}

int nn_pool_threads(const nn_pool *pool)
{
    return pool ? pool->threads : 1;
}

void nn_pool_free(nn_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->started; i++) pthread_join(pool->tid[i], NULL);
    pthread_cond_destroy(&pool->finished);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    if (tl_pool == pool) tl_pool = NULL;
    free(pool);
}

nn_pool *nn_pool_bind(nn_pool *pool)
{
    nn_pool *prev = tl_pool;
    tl_pool = pool;
    return prev;
}

void nn_pool_for(int n, void (*fn)(void *ctx, int i), void *ctx)
{
    pool_job j = {fn, ctx, n, 0, 0};
    nn_pool *p = tl_pool;
    if (n <= 0) return;
    if (n == 1 || !p || p->threads <= 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    while (p->started < p->threads - 1) {   /* workers start on first need and stay */
        if (pthread_create(&p->tid[p->started], NULL, worker, p) != 0) break;
        p->started++;
    }
    p->job = &j;
    p->gen++;
    pthread_cond_broadcast(&p->work);
    work_on(p, &j);
    while (j.done < j.n) pthread_cond_wait(&p->finished, &p->mu);
    p->job = NULL;
    pthread_mutex_unlock(&p->mu);
}

void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    PF_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    pthread_once(&g_blas_once, blas_single);
    gemm_args a = {trans_a, trans_b, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    nn_pool_for((N + NN_GEMM_CHUNK - 1) / NN_GEMM_CHUNK, gemm_chunk, &a);
}

void nn_sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    }
}
