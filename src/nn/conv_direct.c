/*
 * conv_direct.c - the direct K x K convolution, K = 2 or 3 (conv_direct.h).
 *
 * A band of input rows is copied once into a zero-padded plane per channel
 * with rows of Wp = W + 2. Read as one flat array, output pixel f = r Wp + x
 * of the band then takes tap (ky, kx) from flat input f + ky Wp + kx: every
 * tap of a run of consecutive outputs is one contiguous load, across row
 * ends too. The positions per row that fall on the padding (x >= Wo, 2
 * for K = 3, 1 for K = 2) are computed and dropped.
 *
 * The micro-kernel holds MR output channels x NR flat positions in 12
 * vector accumulators (3 vectors of positions) and, per (c, ky, kx), loads
 * 3 vectors of input and broadcasts MR weights straight from w (OC, C, K,
 * K): no packing. Its tile of input (C x K rows x NR + K - 1 floats)
 * streams from L1 or L2 at well under the FMA rate.
 */
#include "nn/conv_direct.h"

#include <pthread.h>
#include <string.h>

#include "base/common.h"
#include "nn/activation.h"
#include "nn/gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DIRECT_X86 1
#include <immintrin.h>
#endif

#define MR 4           /* output channels per micro-tile */
#define NR_MAX 48      /* flat positions per micro-tile, widest kernel */
#define SLACK 64       /* floats past a band's rows that the last tile may read (>= NR_MAX) */
#define TILES_PER_TASK 4

/* out (MR, NR) = act(bias + the K x K taps of channels 0..C-1 at flat
 * positions 0..NR-1); act is LeakyReLU when leaky, else none. */
typedef void (*direct_kernel)(const float *xp, size_t plane, int Wp, const float *const wr[MR], int C,
                              const float bias[MR], int leaky, float *out);

#ifdef DIRECT_X86
/* One kernel for both instruction sets: V vectors of VL floats, NR = 3 VL.
 * The accumulators are named, not an array, so that they stay in
 * registers at -O2. */
#define DIRECT_KERNEL(NAME, K, TARGET, V, VL, LOAD, STORE, SET1, FMADD, ADD, MAX, MUL)             \
    __attribute__((target(TARGET))) static void NAME(const float *xp, size_t plane, int Wp,      \
                                                     const float *const wr[MR], int C,           \
                                                     const float bias[MR], int leaky, float *out) \
    {                                                                                            \
        V a0 = SET1(0.0f), a1 = a0, a2 = a0, b0 = a0, b1 = a0, b2 = a0;                          \
        V c0 = a0, c1 = a0, c2 = a0, d0 = a0, d1 = a0, d2 = a0;                                  \
        for (int c = 0; c < C; c++) {                                                            \
            const float *xc = xp + (size_t)c * plane;                                            \
            const float *w0 = wr[0] + K * K * c, *w1 = wr[1] + K * K * c;                        \
            const float *w2 = wr[2] + K * K * c, *w3 = wr[3] + K * K * c;                        \
            for (int ky = 0; ky < K; ky++)                                                       \
                for (int kx = 0; kx < K; kx++) {                                                 \
                    const float *r = xc + (size_t)ky * Wp + kx;                                  \
                    const int t = ky * K + kx;                                                   \
                    const V x0 = LOAD(r), x1 = LOAD(r + VL), x2 = LOAD(r + 2 * VL);              \
                    V v = SET1(w0[t]);                                                           \
                    a0 = FMADD(v, x0, a0), a1 = FMADD(v, x1, a1), a2 = FMADD(v, x2, a2);         \
                    v = SET1(w1[t]);                                                             \
                    b0 = FMADD(v, x0, b0), b1 = FMADD(v, x1, b1), b2 = FMADD(v, x2, b2);         \
                    v = SET1(w2[t]);                                                             \
                    c0 = FMADD(v, x0, c0), c1 = FMADD(v, x1, c1), c2 = FMADD(v, x2, c2);         \
                    v = SET1(w3[t]);                                                             \
                    d0 = FMADD(v, x0, d0), d1 = FMADD(v, x1, d1), d2 = FMADD(v, x2, d2);         \
                }                                                                                \
        }                                                                                        \
        STORE(out, a0), STORE(out + VL, a1), STORE(out + 2 * VL, a2);                            \
        STORE(out + 3 * VL, b0), STORE(out + 4 * VL, b1), STORE(out + 5 * VL, b2);               \
        STORE(out + 6 * VL, c0), STORE(out + 7 * VL, c1), STORE(out + 8 * VL, c2);               \
        STORE(out + 9 * VL, d0), STORE(out + 10 * VL, d1), STORE(out + 11 * VL, d2);             \
        const V slope = SET1(NN_LEAKY_SLOPE);                                                    \
        for (int i = 0; i < MR; i++) {                                                           \
            const V bi = SET1(bias[i]);                                                          \
            for (int q = 0; q < 3; q++) {                                                        \
                float *o = out + (i * 3 + q) * VL;                                               \
                V v = ADD(LOAD(o), bi);                                                          \
                if (leaky) v = MAX(v, MUL(slope, v));                                            \
                STORE(o, v);                                                                     \
            }                                                                                    \
        }                                                                                        \
    }

#define AVX2_OPS "avx2,fma", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, \
                 _mm256_fmadd_ps, _mm256_add_ps, _mm256_max_ps, _mm256_mul_ps
#define AVX512_OPS "avx512f", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, \
                   _mm512_fmadd_ps, _mm512_add_ps, _mm512_max_ps, _mm512_mul_ps
#define DIRECT_KERNEL_OPS(...) DIRECT_KERNEL(__VA_ARGS__)   /* expands the _OPS lists first */
DIRECT_KERNEL_OPS(kernel_avx2_k2, 2, AVX2_OPS)
DIRECT_KERNEL_OPS(kernel_avx2_k3, 3, AVX2_OPS)
DIRECT_KERNEL_OPS(kernel_avx512_k2, 2, AVX512_OPS)
DIRECT_KERNEL_OPS(kernel_avx512_k3, 3, AVX512_OPS)
#endif

static direct_kernel g_kern[3][2]; /* by nn_direct_isa (none, AVX2, AVX-512), then K - 2 */
static int g_best;                 /* the widest this CPU runs */
static int g_limit = NN_DIRECT_AVX512;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void detect(void)
{
#ifdef DIRECT_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_kern[NN_DIRECT_AVX2][0] = kernel_avx2_k2;
        g_kern[NN_DIRECT_AVX2][1] = kernel_avx2_k3;
        g_best = NN_DIRECT_AVX2;
    }
    if (__builtin_cpu_supports("avx512f")) {
        g_kern[NN_DIRECT_AVX512][0] = kernel_avx512_k2;
        g_kern[NN_DIRECT_AVX512][1] = kernel_avx512_k3;
        g_best = NN_DIRECT_AVX512;
    }
#endif
}

/* The kernel to run for K (2 or 3) and its NR (NULL: none). */
static direct_kernel pick_kernel(int K, int *nr)
{
    pthread_once(&g_once, detect);
    for (int isa = g_limit < g_best ? g_limit : g_best; isa > NN_DIRECT_NONE; isa--)
        if (g_kern[isa][K - 2]) {
            *nr = isa == NN_DIRECT_AVX512 ? 48 : 24;
            return g_kern[isa][K - 2];
        }
    *nr = 0;
    return NULL;
}

int nn_conv_direct_limit(int isa)
{
    pthread_once(&g_once, detect);
    g_limit = isa;
    return g_best;
}

int nn_conv_direct_available(void)
{
    int nr;
    return pick_kernel(3, &nr) != NULL;
}

size_t nn_conv_direct_ws_floats(int C, int H, int W)
{
    (void)H;
    return (size_t)C * (3 * (size_t)(W + 2) + SLACK);   /* one output row of K = 3 */
}

/* One band: the padded input and where its outputs go. */
typedef struct band_job {
    direct_kernel kern;
    int nr;
    const float *xp;   /* (C, plane) padded rows y0 - 1 .. y0 + rows + K - 3 */
    size_t plane;
    int K, Wp, C, OC, Wo, HWo, y0, rows, tiles;
    const float *w, *b;
    int acc, leaky;
    float *y;          /* (OC, Ho, Wo) */
} band_job;

/* Output channel o's values of flat positions [p0, p0 + n) into y. */
static void scatter(const band_job *j, int o, int p0, int n, const float *v)
{
    float *yo = j->y + (size_t)o * j->HWo;
    const int end = p0 + n;
    int f = p0, r = p0 / j->Wp, x = p0 - r * j->Wp;
    while (f < end && r < j->rows) {
        int run = j->Wp - x < end - f ? j->Wp - x : end - f;
        if (x < j->Wo) {
            const int m = j->Wo - x < run ? j->Wo - x : run;
            float *d = yo + (size_t)(j->y0 + r) * j->Wo + x;
            const float *s = v + (f - p0);
            if (j->acc)
                for (int i = 0; i < m; i++) d[i] += s[i];
            else
                memcpy(d, s, sizeof *d * (size_t)m);
        }
        f += run;
        r++;
        x = 0;
    }
}

static void band_task(void *ctx, int task)
{
    const band_job *j = ctx;
    float out[MR * NR_MAX];
    const size_t wstride = (size_t)j->C * j->K * j->K;
    const int t1 = (task + 1) * TILES_PER_TASK < j->tiles ? (task + 1) * TILES_PER_TASK : j->tiles;
    for (int t = task * TILES_PER_TASK; t < t1; t++) {
        const int p0 = t * j->nr;
        for (int o = 0; o < j->OC; o += MR) {
            const int mr = j->OC - o < MR ? j->OC - o : MR;
            const float *wr[MR];
            float bias[MR];
            for (int i = 0; i < MR; i++) {
                wr[i] = j->w + (size_t)(o + (i < mr ? i : 0)) * wstride;
                bias[i] = !j->acc && j->b && i < mr ? j->b[o + i] : 0.0f;
            }
            j->kern(j->xp + p0, j->plane, j->Wp, wr, j->C, bias, j->leaky, out);
            for (int i = 0; i < mr; i++) scatter(j, o + i, p0, j->nr, out + i * j->nr);
        }
    }
}

void nn_conv_direct(float *y, const float *x, const float *w, const float *b, int acc, int leaky,
                    float *ws, size_t ws_floats, int C, int H, int W, int OC, int K)
{
    int nr;
    const direct_kernel kern = K == 2 || K == 3 ? pick_kernel(K, &nr) : NULL;
    const int Wp = W + 2, Ho = H + 3 - K, Wo = W + 3 - K;
    PF_ASSERT(kern && ws_floats >= nn_conv_direct_ws_floats(C, H, W) && !(acc && leaky));
    /* the tallest band whose padded copy fits the workspace */
    long R = (long)((ws_floats / (size_t)C - SLACK) / (size_t)Wp) - (K - 1);
    if (R < 1) R = 1;
    if (R > Ho) R = Ho;
    for (int y0 = 0; y0 < Ho; y0 += (int)R) {
        const int rows = y0 + R < Ho ? (int)R : Ho - y0, prow = rows + K - 1;
        const size_t plane = (size_t)prow * Wp + SLACK;
        for (int c = 0; c < C; c++) {
            float *d = ws + (size_t)c * plane;
            for (int r = 0; r < prow; r++) {
                const int yy = y0 - 1 + r;
                float *row = d + (size_t)r * Wp;
                if (yy < 0 || yy >= H) {
                    memset(row, 0, sizeof *row * (size_t)Wp);
                    continue;
                }
                row[0] = row[W + 1] = 0.0f;
                memcpy(row + 1, x + ((size_t)c * H + yy) * W, sizeof *row * (size_t)W);
            }
            memset(d + (size_t)prow * Wp, 0, sizeof *d * SLACK);
        }
        const int flat = (rows - 1) * Wp + Wo;
        band_job j = {kern, nr, ws, plane, K, Wp, C, OC, Wo, Ho * Wo, y0, rows, (flat + nr - 1) / nr,
                      w, b, acc, leaky, y};
        nn_pool_for((j.tiles + TILES_PER_TASK - 1) / TILES_PER_TASK, band_task, &j);
    }
}
