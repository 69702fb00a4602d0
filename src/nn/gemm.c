/*
 * gemm.c - sgemm through OpenBLAS's CBLAS interface (row-major), and the
 * naive reference the tests compare it with. No other file calls BLAS.
 *
 * Determinism: OpenBLAS's own threading picks different kernels and
 * blockings by thread count, so results changed in the last bits between
 * 1 and 2 threads. OpenBLAS therefore always runs single-threaded, and we
 * parallelise ourselves over fixed column chunks of C: every chunk is the
 * same sgemm call whatever the thread count, so the output is identical.
 */
#include "nn/gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <unistd.h>

#include "base/common.h"

/* Columns of C per sgemm call: wide enough to keep sgemm efficient. */
#define NN_GEMM_CHUNK 1024
#define NN_MAX_THREADS 64

typedef struct gemm_job {
    int trans_a, trans_b, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int chunks, next, done;
} gemm_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, finished;
    pthread_t tid[NN_MAX_THREADS];
    int started, wanted;      /* workers running; threads asked for (callers included) */
    gemm_job *job;
    unsigned gen;
} g_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
            {0}, 0, 1, NULL, 0};

static void run_chunk(const gemm_job *j, int c)
{
    int j0 = c * NN_GEMM_CHUNK, n = j->N - j0 < NN_GEMM_CHUNK ? j->N - j0 : NN_GEMM_CHUNK;
    const float *B = j->trans_b ? j->B + (size_t)j0 * j->ldb : j->B + j0;
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                j->trans_b ? CblasTrans : CblasNoTrans, j->M, n, j->K, j->alpha,
                j->A, j->lda, B, j->ldb, j->beta, j->C + j0, j->ldc);
}

/* Takes chunks of the current job until none is left; mu held on entry
 * and exit. */
static void work_on(gemm_job *j)
{
    while (j->next < j->chunks) {
        int c = j->next++;
        pthread_mutex_unlock(&g_pool.mu);
        run_chunk(j, c);
        pthread_mutex_lock(&g_pool.mu);
        if (++j->done == j->chunks) pthread_cond_broadcast(&g_pool.finished);
    }
}

static void *worker(void *arg)
{
    unsigned seen = 0;
    (void)arg;
    pthread_mutex_lock(&g_pool.mu);
    for (;;) {
        while (g_pool.gen == seen) pthread_cond_wait(&g_pool.work, &g_pool.mu);
        seen = g_pool.gen;
        if (g_pool.job) work_on(g_pool.job);
    }
    return NULL;
}

static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

static void blas_single(void)
{
    openblas_set_num_threads(1);
}

void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    PF_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    pthread_once(&g_blas_once, blas_single);
    gemm_job j = {trans_a, trans_b, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C,
                  (N + NN_GEMM_CHUNK - 1) / NN_GEMM_CHUNK, 0, 0};
    pthread_mutex_lock(&g_pool.mu);
    if (j.chunks == 1 || g_pool.wanted <= 1 || g_pool.job) {
        /* one chunk, one thread, or the pool is busy with another caller */
        pthread_mutex_unlock(&g_pool.mu);
        for (int c = 0; c < j.chunks; c++) run_chunk(&j, c);
        return;
    }
    while (g_pool.started < g_pool.wanted - 1) {
        if (pthread_create(&g_pool.tid[g_pool.started], NULL, worker, NULL) != 0) break;
        pthread_detach(g_pool.tid[g_pool.started]);
        g_pool.started++;
    }
    g_pool.job = &j;
    g_pool.gen++;
    pthread_cond_broadcast(&g_pool.work);
    work_on(&j);
    while (j.done < j.chunks) pthread_cond_wait(&g_pool.finished, &g_pool.mu);
    g_pool.job = NULL;
    pthread_mutex_unlock(&g_pool.mu);
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

void nn_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n > NN_MAX_THREADS) n = NN_MAX_THREADS;
    pthread_once(&g_blas_once, blas_single);
    pthread_mutex_lock(&g_pool.mu);
    g_pool.wanted = n;
    pthread_mutex_unlock(&g_pool.mu);
}
