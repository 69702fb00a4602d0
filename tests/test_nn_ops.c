/* test_nn_ops.c - the layers of src/nn/: sgemm against the naive
 * reference, im2col/col2im adjointness, conv2d against direct loops, and
 * a finite-difference gradient check of every layer's backward. */
#include "test_nn_util.h"

#include "nn/nn.h"

/* ---- sgemm --------------------------------------------------------------- */

static void test_sgemm_vs_naive(void **state)
{
    (void)state;
    static const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 13, 29}, {64, 33, 1}, {7, 1, 40}, {33, 65, 17}};
    uint64_t seed = 1;
    int bad = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++) {
                    /* padded leading dimensions catch lda/ldb/ldc mix-ups */
                    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
                    float *A = nt_rand((size_t)(ta ? K : M) * lda, -1, 1, &seed);
                    float *B = nt_rand((size_t)(tb ? N : K) * ldb, -1, 1, &seed);
                    float *C1 = nt_rand((size_t)M * ldc, -1, 1, &seed);
                    float *C2 = malloc(sizeof(float) * M * ldc);
                    memcpy(C2, C1, sizeof(float) * M * ldc);
                    float beta = bi ? 0.5f : 0.0f;
                    if (!bi) C1[0] = C2[0] = NAN;   /* beta = 0 must ignore C */
                    nn_sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C1, ldc);
                    nn_sgemm_naive(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C2, ldc);
                    double maxd = 0;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < ldc; j++) {
                            double d = fabs((double)C1[i * ldc + j] - C2[i * ldc + j]);
                            if (!(d <= maxd)) maxd = d;   /* NaN propagates */
                        }
                    if (!(maxd <= 1e-5 * (1 + K))) {
                        fprintf(stderr, "sgemm M%d N%d K%d ta%d tb%d beta %g: max diff %g\n",
                                M, N, K, ta, tb, beta, maxd);
                        bad++;
                    }
                    free(A); free(B); free(C1); free(C2);
                }
    }
    assert_int_equal(bad, 0);
}

/* ---- im2col -------------------------------------------------------------- */

typedef struct geom { int C, H, W, K, stride, pad; } geom;

static const geom geoms[] = {
    {3, 7, 6, 3, 1, 1}, {2, 7, 9, 3, 2, 1}, {4, 5, 5, 1, 1, 0}, {2, 6, 7, 3, 1, 0},
    {3, 8, 8, 3, 2, 0}, {2, 9, 7, 5, 1, 2}, {1, 4, 3, 3, 2, 1}, {2, 5, 6, 1, 2, 0},
};

static void test_im2col_adjoint(void **state)
{
    (void)state;
    uint64_t seed = 2;
    for (size_t g = 0; g < sizeof geoms / sizeof geoms[0]; g++) {
        const geom q = geoms[g];
        const int Ho = nn_conv_out(q.H, q.K, q.stride, q.pad), Wo = nn_conv_out(q.W, q.K, q.stride, q.pad);
        const int ranges[3][2] = {{0, Ho}, {0, Ho / 2}, {Ho / 2, Ho}};
        for (int r = 0; r < 3; r++) {
            int y0 = ranges[r][0], y1 = ranges[r][1];
            size_t nx = (size_t)q.C * q.H * q.W, nc = (size_t)q.C * q.K * q.K * (y1 - y0) * Wo;
            if (nc == 0) continue;
            float *x = nt_rand(nx, -1, 1, &seed), *y = nt_rand(nc, -1, 1, &seed);
            float *col = nt_zeros(nc), *dx = nt_zeros(nx);
            nn_im2col(col, x, q.C, q.H, q.W, q.K, q.stride, q.pad, y0, y1);
            nn_col2im(dx, y, q.C, q.H, q.W, q.K, q.stride, q.pad, y0, y1);
            double lhs = nt_dot(col, y, nc), rhs = nt_dot(x, dx, nx);
            assert_true(fabs(lhs - rhs) <= 1e-5 * (1 + fabs(lhs)));
            /* and im2col matches its definition element by element */
            for (int c = 0; c < q.C; c++)
                for (int ky = 0; ky < q.K; ky++)
                    for (int kx = 0; kx < q.K; kx++)
                        for (int oy = y0; oy < y1; oy++)
                            for (int ox = 0; ox < Wo; ox++) {
                                int iy = oy * q.stride - q.pad + ky, ix = ox * q.stride - q.pad + kx;
                                float want = (iy < 0 || iy >= q.H || ix < 0 || ix >= q.W)
                                                 ? 0.0f : x[((size_t)c * q.H + iy) * q.W + ix];
                                size_t row = (size_t)(c * q.K + ky) * q.K + kx;
                                assert_true(col[row * (y1 - y0) * Wo + (size_t)(oy - y0) * Wo + ox] == want);
                            }
            free(x); free(y); free(col); free(dx);
        }
    }
}

/* ---- conv2d against direct loops --------------------------------------------- */

/* y = conv(x) + b in double, and the backward in double. */
static void conv_direct(double *y, double *dx, double *dw, double *db, const float *dy,
                        const float *x, const float *w, const float *b, int N, geom q, int OC)
{
    const int Ho = nn_conv_out(q.H, q.K, q.stride, q.pad), Wo = nn_conv_out(q.W, q.K, q.stride, q.pad);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    size_t yi = (((size_t)n * OC + o) * Ho + oy) * Wo + ox;
                    double s = b ? b[o] : 0.0, g = dy ? dy[yi] : 0.0;
                    if (db) db[o] += g;
                    for (int c = 0; c < q.C; c++)
                        for (int ky = 0; ky < q.K; ky++)
                            for (int kx = 0; kx < q.K; kx++) {
                                int iy = oy * q.stride - q.pad + ky, ix = ox * q.stride - q.pad + kx;
                                if (iy < 0 || iy >= q.H || ix < 0 || ix >= q.W) continue;
                                size_t xi = (((size_t)n * q.C + c) * q.H + iy) * q.W + ix;
                                size_t wi = (((size_t)o * q.C + c) * q.K + ky) * q.K + kx;
                                s += (double)w[wi] * x[xi];
                                if (dx) dx[xi] += g * w[wi];
                                if (dw) dw[wi] += g * x[xi];
                            }
                    if (y) y[yi] = s;
                }
}

static int close_to(const float *a, const double *b, size_t n, double tol, const char *what)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / (1.0 + fabs(b[i]));
        if (!(d <= worst)) { worst = d; at = i; }
    }
    if (!(worst <= tol)) {
        fprintf(stderr, "  %s[%zu]: %g vs %g\n", what, at, a[at], b[at]);
        return 0;
    }
    return 1;
}

static void test_conv_vs_direct(void **state)
{
    (void)state;
    /* the last one spans several bands of rows (NN_CONV_BAND_FLOATS) */
    const geom gs[] = {{3, 7, 6, 3, 1, 1}, {2, 7, 9, 3, 2, 1}, {4, 5, 5, 1, 1, 0},
                       {3, 8, 8, 3, 2, 0}, {2, 9, 7, 5, 1, 2}, {64, 16, 128, 3, 1, 1},
                       {48, 18, 70, 3, 2, 1}};
    uint64_t seed = 3;
    for (size_t g = 0; g < sizeof gs / sizeof gs[0]; g++) {
        const geom q = gs[g];
        const int N = 2, OC = 5;
        const int Ho = nn_conv_out(q.H, q.K, q.stride, q.pad), Wo = nn_conv_out(q.W, q.K, q.stride, q.pad);
        const size_t nx = (size_t)N * q.C * q.H * q.W, nw = (size_t)OC * q.C * q.K * q.K;
        const size_t ny = (size_t)N * OC * Ho * Wo;
        float *x = nt_rand(nx, -1, 1, &seed), *w = nt_rand(nw, -1, 1, &seed), *b = nt_rand(OC, -1, 1, &seed);
        float *dy = nt_rand(ny, -1, 1, &seed), *y = nt_zeros(ny);
        float *dx = nt_zeros(nx), *dw = nt_zeros(nw), *db = nt_zeros(OC);
        float *ws = nt_zeros(nn_conv2d_ws_floats(q.C, q.H, q.W, q.K, q.stride, q.pad));
        double *ry = calloc(ny, sizeof(double)), *rdx = calloc(nx, sizeof(double));
        double *rdw = calloc(nw, sizeof(double)), *rdb = calloc(OC, sizeof(double));
        conv_direct(ry, rdx, rdw, rdb, dy, x, w, b, N, q, OC);
        nn_conv2d_forward(y, x, w, b, ws, N, q.C, q.H, q.W, OC, q.K, q.stride, q.pad);
        assert_true(close_to(y, ry, ny, 1e-4, "y"));
        /* forward_acc adds the bias-free convolution */
        nn_conv2d_forward_acc(y, x, w, ws, N, q.C, q.H, q.W, OC, q.K, q.stride, q.pad);
        for (size_t i = 0; i < ny; i++) ry[i] += ry[i] - b[(i / ((size_t)Ho * Wo)) % OC];
        assert_true(close_to(y, ry, ny, 1e-4, "y acc"));
        /* backward twice: it accumulates */
        for (int rep = 0; rep < 2; rep++)
            nn_conv2d_backward(dx, dw, db, dy, x, w, ws, N, q.C, q.H, q.W, OC, q.K, q.stride, q.pad);
        for (size_t i = 0; i < nx; i++) rdx[i] *= 2;
        for (size_t i = 0; i < nw; i++) rdw[i] *= 2;
        for (int i = 0; i < OC; i++) rdb[i] *= 2;
        assert_true(close_to(dx, rdx, nx, 1e-4, "dx"));
        assert_true(close_to(dw, rdw, nw, 1e-4, "dw"));
        assert_true(close_to(db, rdb, OC, 1e-4, "db"));
        free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db); free(ws);
        free(ry); free(rdx); free(rdw); free(rdb);
    }
}

/* The direct kernel (conv_direct.h), 3x3 and 2x2, every instruction set
 * this CPU runs, against im2col + sgemm: a pixel, a row narrower than a
 * tile, OC not a multiple of 4, C = 67 (the U-Net's input), rows longer
 * than a tile; bias and LeakyReLU fused, and accumulation. Its output is
 * the same bit for bit with the smallest workspace (one row per band) and
 * on 2 and 3 threads. */
static void test_conv_direct(void **state)
{
    (void)state;
    const int best = nn_conv_direct_limit(NN_DIRECT_AVX512);
    if (best == NN_DIRECT_NONE) skip();
    static const int shapes[][4] = {{1, 1, 1, 1}, {3, 2, 50, 5}, {67, 13, 29, 32}, {32, 9, 181, 8}, {5, 30, 7, 6}};
    uint64_t seed = 11;
    nn_pool *pools[2];
    assert_int_equal(nn_pool_new(&pools[0], 2), PF_OK);
    assert_int_equal(nn_pool_new(&pools[1], 3), PF_OK);
    for (int isa = NN_DIRECT_AVX2; isa <= best; isa++)
        for (int K = 2; K <= 3; K++)
            for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
                const int C = shapes[k][0], H = shapes[k][1], W = shapes[k][2], OC = shapes[k][3];
                const size_t nx = (size_t)C * H * W, ny = (size_t)OC * (H + 3 - K) * (W + 3 - K);
                const size_t nws = nn_conv2d_ws_floats(C, H, W, K, 1, 1), small = nn_conv_direct_ws_floats(C, H, W);
                float *x = nt_rand(nx, -1, 1, &seed), *w = nt_rand((size_t)OC * C * K * K, -1, 1, &seed);
                float *b = nt_rand(OC, -1, 1, &seed), *ws = nt_zeros(nws);
                float *y0 = nt_zeros(ny), *y1 = nt_zeros(ny), *y2 = nt_zeros(ny), *acc = nt_rand(ny, -1, 1, &seed);
                double *ref = calloc(ny, sizeof *ref);
                nn_conv_direct_limit(NN_DIRECT_NONE);
                assert_false(nn_conv_direct_available());
                nn_conv2d_forward_act(y0, x, w, b, NN_ACT_LEAKY, ws, 1, C, H, W, OC, K, 1, 1);
                for (size_t i = 0; i < ny; i++) ref[i] = y0[i];
                nn_conv_direct_limit(isa);
                assert_true(nn_conv_direct_available());
                nn_conv2d_forward_act(y1, x, w, b, NN_ACT_LEAKY, ws, 1, C, H, W, OC, K, 1, 1);
                assert_true(close_to(y1, ref, ny, 1e-4, "direct"));   /* float sums of up to 603 terms */
                nn_conv_direct(y2, x, w, b, 0, 1, ws, small, C, H, W, OC, K);
                assert_memory_equal(y1, y2, ny * sizeof *y1);
                for (int p = 0; p < 2; p++) {
                    nn_pool *prev = nn_pool_bind(pools[p]);
                    memset(y2, 0, ny * sizeof *y2);
                    nn_conv2d_forward_act(y2, x, w, b, NN_ACT_LEAKY, ws, 1, C, H, W, OC, K, 1, 1);
                    nn_pool_bind(prev);
                    assert_memory_equal(y1, y2, ny * sizeof *y1);
                }
                /* y += conv(x, w): the bias-free sum on top of what y held */
                nn_conv_direct_limit(NN_DIRECT_NONE);
                nn_conv2d_forward(y0, x, w, NULL, ws, 1, C, H, W, OC, K, 1, 1);
                for (size_t i = 0; i < ny; i++) ref[i] = (double)acc[i] + y0[i];
                nn_conv_direct_limit(isa);
                nn_conv2d_forward_acc(acc, x, w, ws, 1, C, H, W, OC, K, 1, 1);
                assert_true(close_to(acc, ref, ny, 1e-4, "direct acc"));
                free(x); free(w); free(b); free(ws); free(y0); free(y1); free(y2); free(acc); free(ref);
            }
    nn_conv_direct_limit(NN_DIRECT_AVX512);
    nn_pool_free(pools[0]);
    nn_pool_free(pools[1]);
}

/* ---- gradient checks ------------------------------------------------------------ */

typedef struct conv_ctx {
    geom q;
    int N, OC;
    float *x, *w, *b, *y, *c, *ws;
    size_t ny;
} conv_ctx;

static double conv_obj(void *p)
{
    conv_ctx *k = p;
    nn_conv2d_forward(k->y, k->x, k->w, k->b, k->ws, k->N, k->q.C, k->q.H, k->q.W, k->OC, k->q.K,
                      k->q.stride, k->q.pad);
    return nt_dot(k->y, k->c, k->ny);
}

static void test_conv_gradcheck(void **state)
{
    (void)state;
    const geom gs[] = {{3, 6, 5, 3, 1, 1}, {2, 7, 6, 3, 2, 1}, {4, 4, 5, 1, 1, 0}, {2, 5, 6, 3, 1, 0}};
    uint64_t seed = 4;
    int fails = 0;
    for (size_t g = 0; g < sizeof gs / sizeof gs[0]; g++) {
        conv_ctx k = {.q = gs[g], .N = 2, .OC = 3};
        const geom q = k.q;
        const int Ho = nn_conv_out(q.H, q.K, q.stride, q.pad), Wo = nn_conv_out(q.W, q.K, q.stride, q.pad);
        size_t nx = (size_t)k.N * q.C * q.H * q.W, nw = (size_t)k.OC * q.C * q.K * q.K;
        k.ny = (size_t)k.N * k.OC * Ho * Wo;
        k.x = nt_rand(nx, -1, 1, &seed); k.w = nt_rand(nw, -1, 1, &seed); k.b = nt_rand(k.OC, -1, 1, &seed);
        k.c = nt_rand(k.ny, -1, 1, &seed); k.y = nt_zeros(k.ny);
        k.ws = nt_zeros(nn_conv2d_ws_floats(q.C, q.H, q.W, q.K, q.stride, q.pad));
        float *dx = nt_zeros(nx), *dw = nt_zeros(nw), *db = nt_zeros(k.OC);
        nn_conv2d_backward(dx, dw, db, k.c, k.x, k.w, k.ws, k.N, q.C, q.H, q.W, k.OC, q.K, q.stride, q.pad);
        fails += nt_gradcheck("conv2d.x", k.x, dx, nx, conv_obj, &k, 1e-2, 1e-3, 1e-4, 200, 0);
        fails += nt_gradcheck("conv2d.w", k.w, dw, nw, conv_obj, &k, 1e-2, 1e-3, 1e-4, 200, 0);
        fails += nt_gradcheck("conv2d.b", k.b, db, k.OC, conv_obj, &k, 1e-2, 1e-3, 1e-4, 200, 0);
        free(k.x); free(k.w); free(k.b); free(k.c); free(k.y); free(k.ws); free(dx); free(dw); free(db);
    }
    assert_int_equal(fails, 0);
}

/* One context for the layers with a single input tensor. */
typedef struct un_ctx {
    int op;            /* which layer */
    int N, C, H, W, k, C2;
    nn_act act;
    float *x, *x2, *y, *c;
    size_t ny;
} un_ctx;

enum { OP_UP, OP_UNSHUF, OP_SHUF, OP_CONCAT, OP_ACT };

static double un_obj(void *p)
{
    un_ctx *u = p;
    switch (u->op) {
    case OP_UP: nn_upsample2_forward(u->y, u->x, u->N, u->C, u->H, u->W); break;
    case OP_UNSHUF: nn_pixel_unshuffle_forward(u->y, u->x, u->N, u->C, u->H, u->W, u->k); break;
    case OP_SHUF: nn_pixel_shuffle_forward(u->y, u->x, u->N, u->C, u->H, u->W, u->k); break;
    case OP_CONCAT: nn_concat_forward(u->y, u->x, u->x2, u->N, u->C, u->C2, u->H, u->W); break;
    default: nn_act_forward(u->y, u->x, u->ny, u->act); break;
    }
    return nt_dot(u->y, u->c, u->ny);
}

static void test_resample_gradcheck(void **state)
{
    (void)state;
    uint64_t seed = 5;
    int fails = 0;
    const int N = 2, C = 3, H = 4, W = 6, k = 2, C2 = 2;
    size_t nx = (size_t)N * C * H * W, nx2 = (size_t)N * C2 * H * W;
    for (int op = OP_UP; op <= OP_CONCAT; op++) {
        un_ctx u = {.op = op, .N = N, .C = C, .H = H, .W = W, .k = k, .C2 = C2};
        u.ny = op == OP_UP ? 4 * nx : op == OP_CONCAT ? nx + nx2 : nx;
        u.x = nt_rand(nx, -1, 1, &seed); u.x2 = nt_rand(nx2, -1, 1, &seed);
        u.c = nt_rand(u.ny, -1, 1, &seed); u.y = nt_zeros(u.ny);
        /* pixel shuffle's input is (N, C*k*k, H/k, W/k): as many elements */
        const int sh = H / k, sw = W / k;
        float *dx = nt_zeros(nx), *dx2 = nt_zeros(nx2);
        switch (op) {
        case OP_UP: nn_upsample2_backward(dx, u.c, N, C, H, W); break;
        case OP_UNSHUF: nn_pixel_unshuffle_backward(dx, u.c, N, C, H, W, k); break;
        case OP_SHUF:
            u.H = sh;
            u.W = sw;
            nn_pixel_shuffle_backward(dx, u.c, N, C, sh, sw, k);
            break;
        default: nn_concat_backward(dx, dx2, u.c, N, C, C2, H, W); break;
        }
        static const char *names[] = {"upsample2.x", "pixel_unshuffle.x", "pixel_shuffle.x", "concat.a"};
        fails += nt_gradcheck(names[op], u.x, dx, nx, un_obj, &u, 1e-2, 1e-4, 1e-5, 400, 0);
        if (op == OP_CONCAT) fails += nt_gradcheck("concat.b", u.x2, dx2, nx2, un_obj, &u, 1e-2, 1e-4, 1e-5, 400, 0);
        free(u.x); free(u.x2); free(u.c); free(u.y); free(dx); free(dx2);
    }
    /* shuffle inverts unshuffle, and unshuffle follows its definition */
    float *x = nt_rand(nx, -1, 1, &seed), *lo = nt_zeros(nx), *back = nt_zeros(nx);
    nn_pixel_unshuffle_forward(lo, x, N, C, H, W, k);
    nn_pixel_shuffle_forward(back, lo, N, C, H / k, W / k, k);
    assert_memory_equal(x, back, nx * sizeof(float));
    /* y[n, (c*k+i)*k+j, yy, xx] = x[n, c, yy*k+i, xx*k+j] at n=1, c=2, i=1, j=0, yy=1, xx=2 */
    assert_true(lo[(((size_t)1 * C * k * k + (2 * k + 1) * k + 0) * (H / k) + 1) * (W / k) + 2] ==
                x[(((size_t)1 * C + 2) * H + 1 * k + 1) * W + 2 * k + 0]);
    free(x); free(lo); free(back);
    assert_int_equal(fails, 0);
}

static void test_act_gradcheck(void **state)
{
    (void)state;
    uint64_t seed = 6;
    int fails = 0;
    static const char *names[] = {"", "leaky_relu.x", "silu.x", "sigmoid.x", "tanh.x"};
    for (int a = NN_ACT_LEAKY; a <= NN_ACT_TANH; a++) {
        un_ctx u = {.op = OP_ACT, .act = (nn_act)a, .ny = 300};
        u.x = nt_rand(u.ny, -4, 4, &seed); u.c = nt_rand(u.ny, -1, 1, &seed); u.y = nt_zeros(u.ny);
        u.x[0] = 0.001f;   /* right at LeakyReLU's kink: must be skipped, not failed */
        nn_act_forward(u.y, u.x, u.ny, u.act);
        float *dx = nt_zeros(u.ny);
        nn_act_backward(dx, u.c, u.x, u.y, u.ny, u.act);
        fails += nt_gradcheck(names[a], u.x, dx, u.ny, un_obj, &u, 1e-2, 1e-3, 1e-5, 300, a == NN_ACT_LEAKY);
        /* in-place alias dx == dy replaces the gradient (after restoring
         * the forward output the gradient check left perturbed) */
        nn_act_forward(u.y, u.x, u.ny, u.act);
        float *g = malloc(u.ny * sizeof(float));
        memcpy(g, u.c, u.ny * sizeof(float));
        nn_act_backward(g, g, u.x, u.y, u.ny, u.act);
        for (size_t i = 0; i < u.ny; i++) assert_true(fabsf(g[i] - dx[i]) <= 1e-6f * (1 + fabsf(dx[i])));
        free(u.x); free(u.c); free(u.y); free(dx); free(g);
    }
    assert_int_equal(fails, 0);
}

/* ---- temporal Conv1D ------------------------------------------------------------ */

typedef struct tc_ctx {
    int T, C, H, W, k;
    nn_tpad pad;
    float *x, *w, *b, *y, *c;
    size_t n;
} tc_ctx;

static double tc_obj(void *p)
{
    tc_ctx *t = p;
    nn_tconv1d_forward(t->y, t->x, t->w, t->b, t->T, t->C, t->H, t->W, t->k, t->pad);
    return nt_dot(t->y, t->c, t->n);
}

static void test_tconv_gradcheck(void **state)
{
    (void)state;
    const int cases[][3] = {{4, 3, NN_TPAD_ZERO}, {5, 5, NN_TPAD_REPLICATE}, {2, 5, NN_TPAD_ZERO},
                            {3, 3, NN_TPAD_REPLICATE}};
    uint64_t seed = 7;
    int fails = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_ctx t = {.T = cases[i][0], .C = 3, .H = 3, .W = 4, .k = cases[i][1], .pad = (nn_tpad)cases[i][2]};
        t.n = (size_t)t.T * t.C * t.H * t.W;
        t.x = nt_rand(t.n, -1, 1, &seed); t.w = nt_rand((size_t)t.C * t.k, -1, 1, &seed);
        t.b = nt_rand(t.C, -1, 1, &seed); t.c = nt_rand(t.n, -1, 1, &seed); t.y = nt_zeros(t.n);
        float *dx = nt_zeros(t.n), *dw = nt_zeros((size_t)t.C * t.k), *db = nt_zeros(t.C);
        nn_tconv1d_backward(dx, dw, db, t.c, t.x, t.w, t.T, t.C, t.H, t.W, t.k, t.pad);
        fails += nt_gradcheck("tconv1d.x", t.x, dx, t.n, tc_obj, &t, 1e-2, 1e-4, 1e-5, 300, 0);
        fails += nt_gradcheck("tconv1d.w", t.w, dw, (size_t)t.C * t.k, tc_obj, &t, 1e-2, 1e-4, 1e-5, 300, 0);
        fails += nt_gradcheck("tconv1d.b", t.b, db, t.C, tc_obj, &t, 1e-2, 1e-4, 1e-5, 300, 0);
        /* replicate padding on a constant clip with a normalised kernel is the identity */
        if (t.pad == NN_TPAD_REPLICATE) {
            for (size_t j = 0; j < t.n; j++) t.x[j] = 0.25f;
            for (int j = 0; j < t.C * t.k; j++) t.w[j] = 1.0f / t.k;
            memset(t.b, 0, sizeof(float) * t.C);
            nn_tconv1d_forward(t.y, t.x, t.w, t.b, t.T, t.C, t.H, t.W, t.k, t.pad);
            for (size_t j = 0; j < t.n; j++) assert_true(fabsf(t.y[j] - 0.25f) < 1e-6f);
        }
        free(t.x); free(t.w); free(t.b); free(t.c); free(t.y); free(dx); free(dw); free(db);
    }
    assert_int_equal(fails, 0);
}

/* ---- ConvGRU --------------------------------------------------------------------- */

typedef struct gru_ctx {
    int T, Cx, Ch, H, W, K, bidir;
    nn_bidir merge;
    nn_arena a;
    nn_convgru g;
    nn_biconvgru bg;
    nn_convgru_w wf, wb;
    float *x, *y, *c;
    size_t ny;
} gru_ctx;

static double gru_obj(void *p)
{
    gru_ctx *k = p;
    if (k->bidir) nn_biconvgru_forward(&k->bg, k->y, k->x, &k->wf, &k->wb);
    else nn_convgru_forward(&k->g, k->y, k->x, &k->wf);
    return nt_dot(k->y, k->c, k->ny);
}

static void gru_weights(nn_convgru_w *w, int Cx, int Ch, int K, float scale, uint64_t *seed)
{
    w->wx = nt_rand((size_t)3 * Ch * Cx * K * K, -scale, scale, seed);
    w->bx = nt_rand((size_t)3 * Ch, -0.5f, 0.5f, seed);
    w->wh = nt_rand((size_t)2 * Ch * Ch * K * K, -scale, scale, seed);
    w->wn = nt_rand((size_t)Ch * Ch * K * K, -scale, scale, seed);
}

static void gru_zero(nn_convgru_w *d, int Cx, int Ch, int K)
{
    d->wx = nt_zeros((size_t)3 * Ch * Cx * K * K);
    d->bx = nt_zeros((size_t)3 * Ch);
    d->wh = nt_zeros((size_t)2 * Ch * Ch * K * K);
    d->wn = nt_zeros((size_t)Ch * Ch * K * K);
}

static void gru_free(nn_convgru_w *w)
{
    free(w->wx); free(w->bx); free(w->wh); free(w->wn);
}

static int gru_check_weights(const char *dir, nn_convgru_w *w, nn_convgru_w *d, gru_ctx *k)
{
    char nm[64];
    int f = 0;
    size_t K2 = (size_t)k->K * k->K;
    snprintf(nm, sizeof nm, "%s.wx", dir);
    f += nt_gradcheck(nm, w->wx, d->wx, 3 * k->Ch * k->Cx * K2, gru_obj, k, 1e-2, 2e-3, 1e-4, 120, 0);
    snprintf(nm, sizeof nm, "%s.bx", dir);
    f += nt_gradcheck(nm, w->bx, d->bx, 3 * (size_t)k->Ch, gru_obj, k, 1e-2, 2e-3, 1e-4, 120, 0);
    snprintf(nm, sizeof nm, "%s.wh", dir);
    f += nt_gradcheck(nm, w->wh, d->wh, 2 * k->Ch * k->Ch * K2, gru_obj, k, 1e-2, 2e-3, 1e-4, 120, 0);
    snprintf(nm, sizeof nm, "%s.wn", dir);
    f += nt_gradcheck(nm, w->wn, d->wn, k->Ch * k->Ch * K2, gru_obj, k, 1e-2, 2e-3, 1e-4, 120, 0);
    return f;
}

/* mode 0: forward ConvGRU, 1: reverse, 2: bidirectional concat, 3: sum */
static int gru_case(int mode, uint64_t *seed)
{
    gru_ctx k = {.T = 4, .Cx = 2, .Ch = 3, .H = 4, .W = 5, .K = 3};
    nn_convgru_w dwf, dwb;
    int f = 0;
    k.bidir = mode >= 2;
    k.merge = mode == 3 ? NN_BIDIR_SUM : NN_BIDIR_CONCAT;
    for (int pass = 0; pass < 2; pass++) {   /* measure, then allocate */
        if (pass) assert_int_equal(nn_arena_init(&k.a, k.a.used), PF_OK);
        else nn_arena_measure(&k.a);
        if (k.bidir) nn_biconvgru_alloc(&k.bg, &k.a, k.T, k.Cx, k.Ch, k.H, k.W, k.K, k.merge);
        else nn_convgru_alloc(&k.g, &k.a, k.T, k.Cx, k.Ch, k.H, k.W, k.K, mode == 1);
    }
    assert_false(k.a.overflow);
    size_t nx = (size_t)k.T * k.Cx * k.H * k.W;
    k.ny = (size_t)k.T * k.Ch * k.H * k.W * (mode == 2 ? 2 : 1);
    k.x = nt_rand(nx, -1, 1, seed); k.c = nt_rand(k.ny, -1, 1, seed); k.y = nt_zeros(k.ny);
    gru_weights(&k.wf, k.Cx, k.Ch, k.K, 0.4f, seed);
    gru_weights(&k.wb, k.Cx, k.Ch, k.K, 0.4f, seed);
    gru_zero(&dwf, k.Cx, k.Ch, k.K);
    gru_zero(&dwb, k.Cx, k.Ch, k.K);
    float *dx = nt_zeros(nx);
    gru_obj(&k);
    if (k.bidir) nn_biconvgru_backward(&k.bg, dx, &dwf, &dwb, k.c, k.x, &k.wf, &k.wb);
    else nn_convgru_backward(&k.g, dx, &dwf, k.c, k.x, k.y, &k.wf);
    static const char *names[] = {"convgru", "convgru_rev", "biconvgru_cat", "biconvgru_sum"};
    char nm[64];
    snprintf(nm, sizeof nm, "%s.x", names[mode]);
    f += nt_gradcheck(nm, k.x, dx, nx, gru_obj, &k, 1e-2, 2e-3, 1e-4, 150, 0);
    snprintf(nm, sizeof nm, "%s.fwd", names[mode]);
    f += gru_check_weights(mode == 1 ? "convgru_rev" : nm, &k.wf, &dwf, &k);
    if (k.bidir) {
        snprintf(nm, sizeof nm, "%s.bwd", names[mode]);
        f += gru_check_weights(nm, &k.wb, &dwb, &k);
    }
    free(k.x); free(k.c); free(k.y); free(dx);
    gru_free(&k.wf); gru_free(&k.wb); gru_free(&dwf); gru_free(&dwb);
    nn_arena_free(&k.a);
    return f;
}

static void test_convgru_gradcheck(void **state)
{
    (void)state;
    uint64_t seed = 8;
    int fails = 0;
    for (int mode = 0; mode < 4; mode++) fails += gru_case(mode, &seed);
    assert_int_equal(fails, 0);
}

/* A ConvGRU is causal: frame t's output does not depend on later frames,
 * and the reverse direction does not depend on earlier ones. */
static void test_convgru_causal(void **state)
{
    (void)state;
    uint64_t seed = 9;
    const int T = 5, Cx = 2, Ch = 3, H = 4, W = 4, K = 3;
    for (int rev = 0; rev < 2; rev++) {
        nn_arena a;
        nn_convgru g;
        nn_convgru_w w;
        nn_arena_measure(&a);
        nn_convgru_alloc(&g, &a, T, Cx, Ch, H, W, K, rev);
        assert_int_equal(nn_arena_init(&a, a.used), PF_OK);
        nn_convgru_alloc(&g, &a, T, Cx, Ch, H, W, K, rev);
        gru_weights(&w, Cx, Ch, K, 0.4f, &seed);
        size_t fx = (size_t)Cx * H * W, fh = (size_t)Ch * H * W;
        float *x = nt_rand(T * fx, -1, 1, &seed), *y1 = nt_zeros(T * fh), *y2 = nt_zeros(T * fh);
        nn_convgru_forward(&g, y1, x, &w);
        int t_changed = rev ? 1 : 3;
        for (size_t i = 0; i < fx; i++) x[t_changed * fx + i] += 0.5f;
        nn_convgru_forward(&g, y2, x, &w);
        for (int t = 0; t < T; t++) {
            int same = memcmp(y1 + t * fh, y2 + t * fh, fh * sizeof(float)) == 0;
            int should_same = rev ? t > t_changed : t < t_changed;
            assert_int_equal(same, should_same);
        }
        free(x); free(y1); free(y2); gru_free(&w);
        nn_arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_vs_naive),
        cmocka_unit_test(test_im2col_adjoint),
        cmocka_unit_test(test_conv_vs_direct),
        cmocka_unit_test(test_conv_direct),
        cmocka_unit_test(test_conv_gradcheck),
        cmocka_unit_test(test_resample_gradcheck),
        cmocka_unit_test(test_act_gradcheck),
        cmocka_unit_test(test_tconv_gradcheck),
        cmocka_unit_test(test_convgru_gradcheck),
        cmocka_unit_test(test_convgru_causal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
