/* test_nn_weights.c - safetensors: binary16 conversion, the reference
 * implementation's own test vectors (bytes we must write and read), a
 * bit-exact model and checkpoint round trip, and every corrupt case with
 * its own status and a message naming the tensor. */
#include "test_nn_util.h"

#include "nn/nn.h"

static char tmpdir[256];
static char last_msg[2048];

static void capture(void *user, int level, const char *msg)
{
    (void)user; (void)level;
    snprintf(last_msg, sizeof last_msg, "%s", msg);
    fprintf(stderr, "  log: %s\n", msg);
}

static pfi_logger lg = {capture, NULL, PF_LOG_DEBUG};

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(tmpdir, sizeof tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmpdir);
    return 0;
}

/* ---- binary16 ------------------------------------------------------------- */

static void test_half(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = nn_half_to_float((uint16_t)h);
        if (isnan(f)) {
            assert_true(((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff));
            assert_true(isnan(nn_half_to_float(nn_float_to_half(f))));
            continue;
        }
        assert_int_equal(nn_float_to_half(f), h);
    }
    assert_true(nn_half_to_float(0x3c00) == 1.0f);
    assert_true(nn_half_to_float(0x7bff) == 65504.0f);
    assert_true(nn_half_to_float(0x0001) == ldexpf(1.0f, -24));
    assert_int_equal(nn_float_to_half(1.0f + ldexpf(1.0f, -11)), 0x3c00);        /* tie: to even */
    assert_int_equal(nn_float_to_half(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);    /* tie: to even */
    assert_int_equal(nn_float_to_half(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);
    assert_int_equal(nn_float_to_half(65519.0f), 0x7bff);
    assert_int_equal(nn_float_to_half(65520.0f), 0x7c00);                       /* rounds to inf */
    assert_int_equal(nn_float_to_half(-INFINITY), 0xfc00);
    assert_int_equal(nn_float_to_half(ldexpf(1.0f, -25)), 0x0000);              /* tie below 2^-24: even */
    assert_int_equal(nn_float_to_half(3 * ldexpf(1.0f, -25)), 0x0002);
    assert_int_equal(nn_float_to_half(-ldexpf(1.0f, -14)), 0x8400);             /* smallest normal */
}

/* ---- the reference implementation's vectors --------------------------------- */

/* From huggingface/safetensors, safetensors/src/tensor.rs, tests
 * test_serialization_forced_alignement and test_empty: the exact bytes its
 * serialize() produces for these inputs. */
static const uint8_t ref_attn0[] = {
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
    121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
    91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
    115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
    32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
    160, 64};
static const uint8_t ref_empty_meta[] = {
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32};
static const uint8_t ref_empty[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};

static void test_reference_vectors(void **state)
{
    (void)state;
    const float vals[6] = {0, 1, 2, 3, 4, 5};
    const int shape[4] = {1, 1, 2, 3};
    nn_st_src src = {"attn0", NN_DT_F32, 4, shape, vals};
    uint8_t *out;
    size_t size;

    /* we write the reference's bytes */
    assert_int_equal(nn_st_serialize(&out, &size, &src, 1, NULL, 0), NN_WOK);
    assert_int_equal(size, sizeof ref_attn0);
    assert_memory_equal(out, ref_attn0, size);
    free(out);
    nn_kv fw = {"framework", "pt"};
    assert_int_equal(nn_st_serialize(&out, &size, NULL, 0, &fw, 1), NN_WOK);
    assert_int_equal(size, sizeof ref_empty_meta);
    assert_memory_equal(out, ref_empty_meta, size);
    free(out);
    assert_int_equal(nn_st_serialize(&out, &size, NULL, 0, NULL, 0), NN_WOK);
    assert_int_equal(size, sizeof ref_empty);
    assert_memory_equal(out, ref_empty, size);
    free(out);

    /* and read them back bit-exactly */
    nn_st st;
    uint8_t *buf = malloc(sizeof ref_attn0);
    memcpy(buf, ref_attn0, sizeof ref_attn0);
    assert_int_equal(nn_st_parse(&st, buf, sizeof ref_attn0, &lg), NN_WOK);
    const nn_st_entry *e = nn_st_find(&st, "attn0");
    assert_non_null(e);
    assert_int_equal(e->dtype, NN_DT_F32);
    assert_int_equal(e->ndim, 4);
    assert_true(e->shape[0] == 1 && e->shape[1] == 1 && e->shape[2] == 2 && e->shape[3] == 3);
    assert_int_equal(st.data_off % 8, 0);
    assert_memory_equal(nn_st_data(&st, e), vals, sizeof vals);   /* little-endian host */
    nn_st_free(&st);
    buf = malloc(sizeof ref_empty_meta);
    memcpy(buf, ref_empty_meta, sizeof ref_empty_meta);
    assert_int_equal(nn_st_parse(&st, buf, sizeof ref_empty_meta, &lg), NN_WOK);
    assert_string_equal(nn_st_meta_get(&st, "framework"), "pt");
    assert_int_equal(st.n, 0);
    nn_st_free(&st);
}

/* The format's rules for a mixed file, spelled out by hand: __metadata__
 * first (keys sorted: our choice, the format leaves it open), tensors by
 * dtype widest first then by name, compact JSON, spaces to a multiple of
 * 8, F16 data after F32 data. */
static void test_header_bytes(void **state)
{
    (void)state;
    const float a[2] = {1.5f, -2.0f}, b[3] = {0.5f, 1.0f, 65504.0f}, c[1] = {3.0f};
    const int sa[1] = {2}, sb[2] = {1, 3}, sc[1] = {1};
    nn_st_src src[3] = {{"zeta", NN_DT_F16, 2, sb, b}, {"beta", NN_DT_F32, 1, sa, a},
                        {"alpha", NN_DT_F32, 1, sc, c}};
    nn_kv meta[2] = {{"z", "last"}, {"format", "pt"}};
    const char *want = "{\"__metadata__\":{\"format\":\"pt\",\"z\":\"last\"},"
                       "\"alpha\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"beta\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                       "\"zeta\":{\"dtype\":\"F16\",\"shape\":[1,3],\"data_offsets\":[12,18]}}";
    uint8_t *out;
    size_t size, hl = strlen(want), padded = (hl + 7) / 8 * 8;
    assert_int_equal(nn_st_serialize(&out, &size, src, 3, meta, 2), NN_WOK);
    assert_int_equal(size, 8 + padded + 18);
    for (int i = 0; i < 8; i++) assert_int_equal(out[i], (uint8_t)(padded >> (8 * i)));
    assert_memory_equal(out + 8, want, hl);
    for (size_t i = hl; i < padded; i++) assert_int_equal(out[8 + i], ' ');
    const uint8_t *d = out + 8 + padded;
    assert_memory_equal(d, c, 4);
    assert_memory_equal(d + 4, a, 8);
    const uint8_t h16[6] = {0x00, 0x38, 0x00, 0x3c, 0xff, 0x7b};   /* 0.5, 1, 65504 */
    assert_memory_equal(d + 12, h16, 6);
    free(out);
}

/* ---- models ---------------------------------------------------------------- */

static void make_params(nn_params *p, int variant, uint64_t seed)
{
    const int w[4] = {4, 3, 3, 3}, b[1] = {4}, t[2] = {5, 3};
    const int w_bad[4] = {4, 3, 1, 1};
    memset(p, 0, sizeof *p);
    assert_true(nn_params_add(p, "enc.0.conv.weight", 4, variant == 2 ? w_bad : w, NN_INIT_KAIMING, 1.4f, 1) >= 0);
    if (variant != 1) assert_true(nn_params_add(p, "enc.0.conv.bias", 1, b, NN_INIT_ZERO, 0, 0) >= 0);
    assert_true(nn_params_add(p, "skip.0.tconv.weight", 2, t, NN_INIT_KAIMING, 1.0f, 1) >= 0);
    if (variant == 3) assert_true(nn_params_add(p, "extra.bias", 1, b, NN_INIT_ZERO, 0, 0) >= 0);
    assert_int_equal(nn_params_alloc(p), PF_OK);
    nn_rng r;
    nn_rng_seed(&r, seed);
    nn_params_init(p, &r);
    /* biases are zero-initialised: give them values worth round-tripping */
    for (int i = 0; i < p->n; i++)
        if (p->t[i].init == NN_INIT_ZERO)
            for (size_t k = 0; k < p->t[i].numel; k++) nn_param_data(p, i)[k] = 0.1f * (float)k - 0.17f;
}

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void test_model_roundtrip(void **state)
{
    (void)state;
    nn_params a, b;
    char path[512];
    nn_werr why;
    make_params(&a, 0, 1);
    make_params(&b, 0, 2);
    assert_true(memcmp(a.data, b.data, a.total * sizeof(float)) != 0);
    path_of(path, sizeof path, "m32.safetensors");
    nn_kv meta[1] = {{"pf.arch", "test"}};
    assert_int_equal(nn_weights_save(&a, path, meta, 1, NN_DT_F32, 0, &lg), PF_OK);
    assert_int_equal(nn_weights_load(&b, path, 0, 0, &why, &lg), PF_OK);
    assert_int_equal(why, NN_WOK);
    assert_memory_equal(a.data, b.data, a.total * sizeof(float));   /* bit-exact */
    /* saving again gives the same bytes */
    char path2[512];
    path_of(path2, sizeof path2, "m32b.safetensors");
    assert_int_equal(nn_weights_save(&b, path2, meta, 1, NN_DT_F32, 0, &lg), PF_OK);
    nn_st s1, s2;
    assert_int_equal(nn_st_read_file(&s1, path, 0, &lg), NN_WOK);
    assert_int_equal(nn_st_read_file(&s2, path2, 0, &lg), NN_WOK);
    assert_int_equal(s1.size, s2.size);
    assert_memory_equal(s1.buf, s2.buf, s1.size);
    assert_string_equal(nn_st_meta_get(&s1, "pf.arch"), "test");
    nn_st_free(&s1);
    nn_st_free(&s2);

    /* F16: what loads is exactly the binary16 rounding of each value */
    path_of(path, sizeof path, "m16.safetensors");
    assert_int_equal(nn_weights_save(&a, path, NULL, 0, NN_DT_F16, 0, &lg), PF_OK);
    assert_int_equal(nn_weights_load(&b, path, 0, 0, &why, &lg), PF_OK);
    for (int i = 0; i < a.n; i++)
        for (size_t k = 0; k < a.t[i].numel; k++) {
            float want = nn_half_to_float(nn_float_to_half(nn_param_data(&a, i)[k]));
            assert_true(nn_param_data(&b, i)[k] == want);
        }
    nn_params_free(&a);
    nn_params_free(&b);
}

static void test_checkpoint(void **state)
{
    (void)state;
    nn_params a, b;
    nn_adamw oa, ob;
    nn_adamw_cfg cfg = nn_adamw_default();
    nn_rng ra, rb;
    char path[512];
    nn_werr why;

    make_params(&a, 0, 3);
    make_params(&b, 0, 4);
    assert_int_equal(nn_params_alloc_grad(&a), PF_OK);
    nn_adamw_init(&oa, &cfg);
    nn_adamw_init(&ob, &cfg);
    for (int s = 0; s < 3; s++) {   /* some steps so the moments are not zero */
        for (size_t k = 0; k < a.total; k++) a.grad[k] = 0.01f * (float)((k * 7 + s) % 13) - 0.05f;
        assert_int_equal(nn_adamw_step(&oa, &a), PF_OK);
    }
    nn_rng_seed(&ra, 99);
    nn_rng_u64(&ra);
    path_of(path, sizeof path, "ckpt.safetensors");
    nn_kv extra[1] = {{"pf.note", "x"}};
    assert_int_equal(nn_checkpoint_save(&a, &oa, &ra, path, extra, 1, &lg), PF_OK);
    assert_int_equal(nn_checkpoint_load(&b, &ob, &rb, path, 0, &why, &lg), PF_OK);
    assert_memory_equal(a.data, b.data, a.total * sizeof(float));
    assert_memory_equal(a.m, b.m, a.total * sizeof(float));
    assert_memory_equal(a.v, b.v, a.total * sizeof(float));
    assert_int_equal(ob.step, 3);
    assert_true(ob.lr == oa.lr);
    assert_true(rb.s == ra.s);
    /* a checkpoint loads as a plain model */
    nn_params c;
    make_params(&c, 0, 5);
    assert_int_equal(nn_weights_load(&c, path, 0, 0, &why, &lg), PF_OK);
    assert_memory_equal(a.data, c.data, a.total * sizeof(float));
    assert_null(c.m);
    /* but a plain model is not a checkpoint */
    char p2[512];
    path_of(p2, sizeof p2, "plain.safetensors");
    assert_int_equal(nn_weights_save(&a, p2, NULL, 0, NN_DT_F32, 0, &lg), PF_OK);
    assert_int_equal(nn_checkpoint_load(&c, NULL, NULL, p2, 0, &why, &lg), PF_EMODEL);
    assert_int_equal(why, NN_WERR_HEADER);
    nn_params_free(&a);
    nn_params_free(&b);
    nn_params_free(&c);
}

/* ---- corrupt files ---------------------------------------------------------------- */

/* Writes an 8-byte length (hl, or the header's own length when hl < 0),
 * the header text and ndata bytes of data. */
static void write_raw(const char *path, const char *header, long long hl, const void *data, size_t ndata)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t n = hl < 0 ? strlen(header) : (uint64_t)hl;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(n >> (8 * i));
    assert_int_equal(fwrite(len, 1, 8, f), 8);
    assert_int_equal(fwrite(header, 1, strlen(header), f), strlen(header));
    if (ndata) assert_int_equal(fwrite(data, 1, ndata, f), ndata);
    fclose(f);
}

static void expect(nn_params *p, const char *path, int with_opt, nn_werr want, const char *name_in_msg)
{
    nn_werr why = NN_WOK;
    last_msg[0] = 0;
    pf_status st = nn_weights_load(p, path, with_opt, 0, &why, &lg);
    if (why != want) fprintf(stderr, "  %s: got '%s', want '%s'\n", path, nn_werr_str(why), nn_werr_str(want));
    assert_int_equal(why, want);
    assert_int_equal(st, PF_EMODEL);
    (void)name_in_msg;
}

/* The first error message names the tensor: check the captured log. */
static char first_msg[2048];
static int first_set;
static void capture_first(void *user, int level, const char *msg)
{
    (void)user; (void)level;
    if (!first_set) snprintf(first_msg, sizeof first_msg, "%s", msg);
    first_set = 1;
}

static void expect_named(nn_params *p, const char *path, int with_opt, nn_werr want, const char *name)
{
    pfi_logger l1 = {capture_first, NULL, PF_LOG_DEBUG};
    nn_werr why = NN_WOK;
    first_set = 0;
    first_msg[0] = 0;
    pf_status st = nn_weights_load(p, path, with_opt, 0, &why, &l1);
    fprintf(stderr, "  [%s] %s\n", nn_werr_str(why), first_msg);
    assert_int_equal(why, want);
    assert_int_equal(st, PF_EMODEL);
    if (name) assert_non_null(strstr(first_msg, name));
}

/* nn_write_file_atomic lists its temp file in the table that
 * pf_remove_temp_files() empties (a checkpoint cut short by a second
 * signal leaves nothing behind), gives the slot back when done, and still
 * writes when all 32 slots are taken. */
static void test_write_atomic_temp_table(void **state)
{
    (void)state;
    static const uint8_t bytes[5] = {1, 2, 3, 4, 5};
    char path[512], *held[32];
    int slots[32], n = 0, last;
    FILE *f;
    uint8_t back[8];

    snprintf(path, sizeof path, "%s/ck.safetensors", tmpdir);
    while (n < 31 && (held[n] = pfi_temp_claim(&slots[n])) != NULL) n++;
    assert_int_equal(n, 31);
    assert_int_equal(nn_write_file_atomic(path, bytes, sizeof bytes, &lg), NN_WOK);
    assert_non_null(pfi_temp_claim(&last));            /* the write gave its slot back */
    assert_int_equal(pfi_temp_claim(&slots[31]) == NULL && slots[31] == 0, 1);   /* full */
    assert_int_equal(nn_write_file_atomic(path, bytes, 3, &lg), NN_WOK);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(back, 1, sizeof back, f), 3);
    fclose(f);
    assert_memory_equal(back, bytes, 3);

    /* a listed name is what the handler removes */
    snprintf(held[0], PF_TEMP_PATH_MAX, "%s/stale.tmp-1", tmpdir);
    f = fopen(held[0], "wb");
    assert_non_null(f);
    fclose(f);
    pfi_temp_list(slots[0]);
    pf_remove_temp_files();
    assert_int_equal(access(held[0], F_OK), -1);
    assert_int_equal(access(path, F_OK), 0);          /* the finished file stays */
    for (int i = 0; i < n; i++) pfi_temp_release(slots[i]);
    pfi_temp_release(last);
}

static void test_corrupt(void **state)
{
    (void)state;
    nn_params p, other;
    char path[512];
    float before[64];

    make_params(&p, 0, 6);
    memcpy(before, p.data, sizeof(float) * (p.total < 64 ? p.total : 64));

    /* model-level cases, from files our writer makes for other tables */
    make_params(&other, 1, 7);   /* lacks the bias */
    path_of(path, sizeof path, "missing.safetensors");
    assert_int_equal(nn_weights_save(&other, path, NULL, 0, NN_DT_F32, 0, &lg), PF_OK);
    expect_named(&p, path, 0, NN_WERR_MISSING, "enc.0.conv.bias");
    nn_params_free(&other);

    make_params(&other, 3, 7);   /* has an extra tensor */
    path_of(path, sizeof path, "unknown.safetensors");
    assert_int_equal(nn_weights_save(&other, path, NULL, 0, NN_DT_F32, 0, &lg), PF_OK);
    expect_named(&p, path, 0, NN_WERR_UNKNOWN, "extra.bias");
    nn_params_free(&other);

    make_params(&other, 2, 7);   /* weight is (4, 3, 1, 1) */
    path_of(path, sizeof path, "shape.safetensors");
    assert_int_equal(nn_weights_save(&other, path, NULL, 0, NN_DT_F32, 0, &lg), PF_OK);
    expect_named(&p, path, 0, NN_WERR_SHAPE, "enc.0.conv.weight");
    nn_params_free(&other);

    /* a plain model file asked for as a checkpoint misses its moments */
    path_of(path, sizeof path, "good.safetensors");
    assert_int_equal(nn_weights_save(&p, path, NULL, 0, NN_DT_F32, 0, &lg), PF_OK);
    expect_named(&p, path, 1, NN_WERR_MISSING, "opt.m.");

    /* byte-level cases on a valid file */
    nn_st st;
    assert_int_equal(nn_st_read_file(&st, path, 0, &lg), NN_WOK);
    size_t size = st.size, data_off = st.data_off;
    uint8_t *good = malloc(size);
    memcpy(good, st.buf, size);
    const nn_st_entry *bias = nn_st_find(&st, "enc.0.conv.bias");
    size_t bias_at = data_off + bias->begin;
    nn_st_free(&st);

    FILE *f;
    path_of(path, sizeof path, "trunc.safetensors");
    f = fopen(path, "wb");
    fwrite(good, 1, size - 4, f);
    fclose(f);
    expect_named(&p, path, 0, NN_WERR_TRUNCATED, NULL);
    f = fopen(path, "wb");
    fwrite(good, 1, 5, f);
    fclose(f);
    expect(&p, path, 0, NN_WERR_TRUNCATED, NULL);

    path_of(path, sizeof path, "hlen.safetensors");
    uint8_t *bad = malloc(size);
    memcpy(bad, good, size);
    uint64_t big = size;   /* one byte more than fits */
    for (int i = 0; i < 8; i++) bad[i] = (uint8_t)(big >> (8 * i));
    f = fopen(path, "wb");
    fwrite(bad, 1, size, f);
    fclose(f);
    expect(&p, path, 0, NN_WERR_HEADER_LEN, NULL);

    path_of(path, sizeof path, "nan.safetensors");
    memcpy(bad, good, size);
    const float qnan = NAN;
    memcpy(bad + bias_at + 8, &qnan, 4);   /* element 2 of the bias */
    f = fopen(path, "wb");
    fwrite(bad, 1, size, f);
    fclose(f);
    expect_named(&p, path, 0, NN_WERR_NONFINITE, "enc.0.conv.bias");
    free(bad);
    free(good);

    /* hand-made headers: one tensor x of 2 F32 (8 bytes) and y of 1 F32 */
    const float d3[4] = {1, 2, 3, 4};
    nn_params q;
    const int sx[1] = {2}, sy[1] = {1};
    memset(&q, 0, sizeof q);
    assert_true(nn_params_add(&q, "x", 1, sx, NN_INIT_ZERO, 0, 0) >= 0);
    assert_true(nn_params_add(&q, "y", 1, sy, NN_INIT_ZERO, 0, 0) >= 0);
    assert_int_equal(nn_params_alloc(&q), PF_OK);
    struct { const char *hdr; long long hl; size_t nd; nn_werr want; const char *name; } cases[] = {
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WOK, NULL},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,6]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_OFFSETS, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_OVERLAP, "'z'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", -1, 16, NN_WERR_OFFSETS, "'y'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 8, NN_WERR_TRUNCATED, "'y'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_DTYPE, "'y'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_DTYPE, "'y'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}", -1, 12, NN_WERR_HEADER, NULL},
        {"[1,2]", -1, 0, NN_WERR_HEADER, NULL},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_HEADER, NULL},
        {"{\"__metadata__\":{\"a\":1},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_HEADER, NULL},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"opt.m.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, NN_WERR_UNKNOWN, "opt.m.w"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1000, 12, NN_WERR_HEADER_LEN, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "raw%zu.safetensors", i);
        path_of(path, sizeof path, nm);
        write_raw(path, cases[i].hdr, cases[i].hl, d3, cases[i].nd);
        if (cases[i].want == NN_WOK) {
            nn_werr why;
            assert_int_equal(nn_weights_load(&q, path, 0, 0, &why, &lg), PF_OK);
            assert_true(q.data[0] == 1 && q.data[1] == 2 && nn_param_data(&q, 1)[0] == 3);
        } else {
            expect_named(&q, path, 0, cases[i].want, cases[i].name);
        }
    }

    /* an F16 infinity is non-finite too */
    path_of(path, sizeof path, "inf16.safetensors");
    const uint16_t h[3] = {0x3c00, 0x7c00, 0x3c00};
    write_raw(path, "{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                    "\"y\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[4,6]}}", -1, h, 6);
    expect_named(&q, path, 0, NN_WERR_NONFINITE, "'x'");

    /* a missing file and the size limit */
    nn_werr why;
    path_of(path, sizeof path, "nope.safetensors");
    assert_int_equal(nn_weights_load(&q, path, 0, 0, &why, &lg), PF_EMODEL);
    assert_int_equal(why, NN_WERR_IO);
    path_of(path, sizeof path, "raw0.safetensors");
    assert_int_equal(nn_weights_load(&q, path, 0, 16, &why, &lg), PF_ELIMIT);
    assert_int_equal(why, NN_WERR_TOOBIG);

    /* none of the failures changed the model */
    assert_memory_equal(before, p.data, sizeof(float) * (p.total < 64 ? p.total : 64));
    nn_params_free(&p);
    nn_params_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_reference_vectors),
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_model_roundtrip),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_write_atomic_temp_table),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
