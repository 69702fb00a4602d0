/*
 * weights.c - safetensors reading and writing (format: see weights.h),
 * model weights and training checkpoints on top of it. JSON through
 * jansson. Not a general tensor library: values load into a parameter
 * table as float32.
 */
#include "nn/weights.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation's limit on the JSON header. */
#define ST_MAX_HEADER 100000000u

static const struct {
    const char *name;
    size_t size;
} dtypes[NN_DT_COUNT] = {
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
    {"U16", 2}, {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},
    {"F64", 8}, {"I64", 8}, {"U64", 8},
};

static const char *const werr_str[] = {
    "ok",
    "cannot read or write the file",
    "out of memory",
    "file larger than the limit",
    "file truncated",
    "header length beyond the file",
    "malformed header",
    "unsupported dtype",
    "bad data offsets",
    "overlapping tensors",
    "missing tensor",
    "unknown tensor",
    "wrong tensor shape",
    "non-finite value",
};

const char *nn_werr_str(nn_werr e)
{
    return (unsigned)e < sizeof werr_str / sizeof werr_str[0] ? werr_str[e] : "?";
}

pf_status nn_werr_status(nn_werr e, int writing)
{
    switch (e) {
    case NN_WOK: return PF_OK;
    case NN_WERR_NOMEM: return PF_ENOMEM;
    case NN_WERR_TOOBIG: return PF_ELIMIT;
    case NN_WERR_IO: return writing ? PF_EOUTPUT : PF_EMODEL;
    default: return PF_EMODEL;
    }
}

/* ---- binary16 ---------------------------------------------------------- */

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float nn_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
    if (exp == 0) {
        float v = (float)mant * (1.0f / 16777216.0f);   /* mant * 2^-24, exact */
        return sign ? -v : v;
    }
    if (exp == 31) return u2f(sign | 0x7f800000u | (mant << 13));
    return u2f(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t nn_float_to_half(float f)
{
    uint32_t u = f2u(f), a = u & 0x7fffffffu;
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if (a >= 0x7f800000u)   /* infinity, or NaN kept quiet with its top bits */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);   /* >= 65520 rounds to inf */
    if (a < 0x38800000u) {
        /* below the smallest normal: a multiple of 2^-24, rounded to even
         * (the scaling by 2^24 is exact) */
        float m = nearbyintf(u2f(a) * 16777216.0f);
        return (uint16_t)(sign | (uint16_t)m);
    }
    uint32_t h = (a >> 13) - (112u << 10), rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

/* ---- little-endian access ---------------------------------------------- */

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static float rd_f32(const uint8_t *p)
{
    return u2f((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void wr_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr_f32(uint8_t *p, float f)
{
    uint32_t u = f2u(f);
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(u >> (8 * i));
}

/* ---- parsing ----------------------------------------------------------- */

static int dtype_parse(const char *s)
{
    for (int i = 0; i < NN_DT_COUNT; i++)
        if (strcmp(s, dtypes[i].name) == 0) return i;
    return -1;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ",%" PRId64 : "%" PRId64, shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* A non-negative JSON integer that fits size_t, or -1. */
static int json_size(const json_t *j, size_t *out)
{
    if (!json_is_integer(j)) return -1;
    json_int_t v = json_integer_value(j);
    if (v < 0 || (uint64_t)v > (uint64_t)SIZE_MAX) return -1;
    *out = (size_t)v;
    return 0;
}

static nn_werr parse_entry(nn_st_entry *e, const char *name, json_t *obj, const pfi_logger *lg)
{
    json_t *jd = json_object_get(obj, "dtype"), *js = json_object_get(obj, "shape");
    json_t *jo = json_object_get(obj, "data_offsets");
    size_t b, en;

    e->name = strdup(name);
    if (!e->name) return NN_WERR_NOMEM;
    if (!json_is_object(obj) || !json_is_string(jd) || !json_is_array(js) ||
        !json_is_array(jo) || json_array_size(jo) != 2 || json_object_size(obj) != 3) {
        pfi_error(lg, "safetensors: tensor '%s': entry needs exactly dtype, shape and data_offsets", name);
        return NN_WERR_HEADER;
    }
    int dt = dtype_parse(json_string_value(jd));
    if (dt < 0) {
        pfi_error(lg, "safetensors: tensor '%s': unknown dtype '%s'", name, json_string_value(jd));
        return NN_WERR_DTYPE;
    }
    e->dtype = (nn_dtype)dt;
    if (json_array_size(js) > NN_ST_MAX_DIM) {
        pfi_error(lg, "safetensors: tensor '%s': more than %d dimensions", name, NN_ST_MAX_DIM);
        return NN_WERR_HEADER;
    }
    e->ndim = (int)json_array_size(js);
    for (int d = 0; d < e->ndim; d++) {
        size_t v;
        if (json_size(json_array_get(js, (size_t)d), &v) < 0 || v > (size_t)INT64_MAX) {
            pfi_error(lg, "safetensors: tensor '%s': shape entry %d is not a size", name, d);
            return NN_WERR_HEADER;
        }
        e->shape[d] = (int64_t)v;
    }
    if (json_size(json_array_get(jo, 0), &b) < 0 || json_size(json_array_get(jo, 1), &en) < 0) {
        pfi_error(lg, "safetensors: tensor '%s': data_offsets are not two sizes", name);
        return NN_WERR_OFFSETS;
    }
    e->begin = b;
    e->end = en;
    size_t nbytes = dtypes[dt].size;
    for (int d = 0; d < e->ndim; d++) {
        if (!pfi_mul_size(&nbytes, nbytes, (size_t)e->shape[d])) {
            pfi_error(lg, "safetensors: tensor '%s': shape overflows", name);
            return NN_WERR_OFFSETS;
        }
    }
    if (en < b || en - b != nbytes) {
        char sh[160];
        shape_str(sh, sizeof sh, e->ndim, e->shape);
        pfi_error(lg, "safetensors: tensor '%s': data_offsets [%zu, %zu] do not hold %s %s (%zu bytes)",
                 name, b, en, dtypes[dt].name, sh, nbytes);
        return NN_WERR_OFFSETS;
    }
    return NN_WOK;
}

static int cmp_range(const void *a, const void *b)
{
    const nn_st_entry *x = *(const nn_st_entry *const *)a, *y = *(const nn_st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Overlaps, holes and the data-section length: every byte must belong to
 * exactly one tensor (reference: Metadata::validate). */
static nn_werr check_layout(nn_st *st, const pfi_logger *lg)
{
    const size_t data_len = st->size - st->data_off;
    nn_werr err = NN_WOK;
    nn_st_entry **ord = malloc(sizeof *ord * (size_t)(st->n ? st->n : 1));
    if (!ord) return NN_WERR_NOMEM;
    for (int i = 0; i < st->n; i++) ord[i] = &st->t[i];
    qsort(ord, (size_t)st->n, sizeof *ord, cmp_range);

    size_t pos = 0;
    const char *prev = NULL;
    for (int i = 0; i < st->n && !err; i++) {
        const nn_st_entry *e = ord[i];
        if (e->begin < pos) {
            pfi_error(lg, "safetensors: tensor '%s' [%zu, %zu] overlaps tensor '%s' (ends at %zu)",
                     e->name, e->begin, e->end, prev, pos);
            err = NN_WERR_OVERLAP;
        } else if (e->begin > pos) {
            pfi_error(lg, "safetensors: tensor '%s' starts at %zu: bytes %zu..%zu belong to no tensor",
                     e->name, e->begin, pos, e->begin);
            err = NN_WERR_OFFSETS;
        }
        pos = e->end;
        prev = e->name;
    }
    if (!err && pos > data_len) {
        pfi_error(lg, "safetensors: file truncated: tensor '%s' ends at data byte %zu, the file has %zu",
                 prev, pos, data_len);
        err = NN_WERR_TRUNCATED;
    } else if (!err && pos < data_len) {
        pfi_error(lg, "safetensors: %zu trailing bytes after the last tensor%s%s%s",
                 data_len - pos, prev ? " '" : "", prev ? prev : "", prev ? "'" : "");
        err = NN_WERR_OFFSETS;
    }
    free(ord);
    return err;
}

static nn_werr parse(nn_st *st, uint8_t *buf, size_t size, const pfi_logger *lg)
{
    json_t *root = NULL;
    json_error_t jerr;
    nn_werr err = NN_WOK;

    memset(st, 0, sizeof *st);
    st->buf = buf;
    st->size = size;
    if (size < 8) {
        pfi_error(lg, "safetensors: file truncated: %zu bytes, not even the 8-byte header length", size);
        return NN_WERR_TRUNCATED;
    }
    uint64_t n = rd_u64(buf);
    if (n > size - 8 || n > ST_MAX_HEADER) {
        pfi_error(lg, "safetensors: header length %" PRIu64 " is beyond the file (%zu bytes) or over %u",
                 n, size, ST_MAX_HEADER);
        return NN_WERR_HEADER_LEN;
    }
    st->data_off = 8 + (size_t)n;
    if (n < 2 || buf[8] != '{') {
        pfi_error(lg, "safetensors: the header does not start with '{'");
        return NN_WERR_HEADER;
    }
    root = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        pfi_error(lg, "safetensors: header is not a JSON object: %s (column %d)", jerr.text, jerr.column);
        err = NN_WERR_HEADER;
        goto fail;
    }
    size_t cnt = json_object_size(root);
    st->t = calloc(cnt ? cnt : 1, sizeof *st->t);
    if (!st->t) { err = NN_WERR_NOMEM; goto fail; }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                pfi_error(lg, "safetensors: __metadata__ is not an object");
                err = NN_WERR_HEADER;
                goto fail;
            }
            size_t m = json_object_size(val);
            st->meta_key = calloc(m ? m : 1, sizeof(char *));
            st->meta_val = calloc(m ? m : 1, sizeof(char *));
            if (!st->meta_key || !st->meta_val) { err = NN_WERR_NOMEM; goto fail; }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    pfi_error(lg, "safetensors: __metadata__ value of '%s' is not a string", mk);
                    err = NN_WERR_HEADER;
                    goto fail;
                }
                st->meta_key[st->n_meta] = strdup(mk);
                st->meta_val[st->n_meta] = strdup(json_string_value(mv));
                st->n_meta++;
                if (!st->meta_key[st->n_meta - 1] || !st->meta_val[st->n_meta - 1]) {
                    err = NN_WERR_NOMEM;
                    goto fail;
                }
            }
            continue;
        }
        err = parse_entry(&st->t[st->n++], key, val, lg);
        if (err) goto fail;
    }
    err = check_layout(st, lg);
fail:
    json_decref(root);
    return err;
}

nn_werr nn_st_parse(nn_st *st, uint8_t *buf, size_t size, const pfi_logger *lg)
{
    nn_werr err = parse(st, buf, size, lg);
    if (err != NN_WOK) nn_st_free(st);   /* frees buf too: st owned it */
    return err;
}

nn_werr nn_st_read_file(nn_st *st, const char *path, size_t max_bytes, const pfi_logger *lg)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    memset(st, 0, sizeof *st);
    if (!f) {
        pfi_error(lg, "safetensors: cannot open %s: %s", path, strerror(errno));
        return NN_WERR_IO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {   /* a folder "opens" but has no size */
        pfi_error(lg, "safetensors: %s is not a regular file (give the path of a .safetensors model)", path);
        fclose(f);
        return NN_WERR_IO;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        pfi_error(lg, "safetensors: cannot read %s: %s", path, strerror(errno));
        fclose(f);
        return NN_WERR_IO;
    }
    if (max_bytes && (unsigned long)len > max_bytes) {
        pfi_error(lg, "safetensors: %s is %ld bytes, over the limit of %zu", path, len, max_bytes);
        fclose(f);
        return NN_WERR_TOOBIG;
    }
    buf = malloc((size_t)len ? (size_t)len : 1);
    if (!buf) {
        fclose(f);
        return NN_WERR_NOMEM;
    }
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        pfi_error(lg, "safetensors: cannot read %s", path);
        free(buf);
        fclose(f);
        return NN_WERR_IO;
    }
    fclose(f);
    return nn_st_parse(st, buf, (size_t)len, lg);
}

const nn_st_entry *nn_st_find(const nn_st *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (st->t[i].name && strcmp(st->t[i].name, name) == 0) return &st->t[i];
    return NULL;
}

const uint8_t *nn_st_data(const nn_st *st, const nn_st_entry *e)
{
    return st->buf + st->data_off + e->begin;
}

const char *nn_st_meta_get(const nn_st *st, const char *key)
{
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_key[i], key) == 0) return st->meta_val[i];
    return NULL;
}

void nn_st_free(nn_st *st)
{
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_key[i]);
        free(st->meta_val[i]);
    }
    free(st->t);
    free(st->meta_key);
    free(st->meta_val);
    free(st->buf);
    memset(st, 0, sizeof *st);
}

/* ---- writing ----------------------------------------------------------- */

/* The reference's order: dtype descending, then name (bytewise). */
static int cmp_src(const void *a, const void *b)
{
    const nn_st_src *x = *(const nn_st_src *const *)a, *y = *(const nn_st_src *const *)b;
    if (x->dtype != y->dtype) return x->dtype > y->dtype ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const nn_kv *)a)->key, ((const nn_kv *)b)->key);
}

static size_t src_numel(const nn_st_src *s)
{
    size_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        if (s->shape[d] < 0 || !pfi_mul_size(&n, n, (size_t)s->shape[d])) return SIZE_MAX;
    return n;
}

nn_werr nn_st_serialize(uint8_t **out, size_t *size, const nn_st_src *src, int n,
                        const nn_kv *meta, int n_meta)
{
    nn_werr err = NN_WERR_NOMEM;
    const nn_st_src **ord = malloc(sizeof *ord * (size_t)(n > 0 ? n : 1));
    nn_kv *kv = malloc(sizeof *kv * (size_t)(n_meta > 0 ? n_meta : 1));
    json_t *root = json_object();
    char *hdr = NULL;
    uint8_t *buf = NULL;

    *out = NULL;
    *size = 0;
    if (!ord || !kv || !root) goto fail;
    for (int i = 0; i < n; i++) {
        if (src[i].dtype != NN_DT_F32 && src[i].dtype != NN_DT_F16) { err = NN_WERR_DTYPE; goto fail; }
        if (src[i].ndim < 0 || src[i].ndim > NN_ST_MAX_DIM || src_numel(&src[i]) == SIZE_MAX) {
            err = NN_WERR_HEADER;
            goto fail;
        }
        ord[i] = &src[i];
    }
    qsort(ord, (size_t)n, sizeof *ord, cmp_src);
    if (n_meta > 0) {
        json_t *m = json_object();
        if (!m || json_object_set_new(root, "__metadata__", m) < 0) goto fail;
        memcpy(kv, meta, sizeof *kv * (size_t)n_meta);
        qsort(kv, (size_t)n_meta, sizeof *kv, cmp_kv);
        for (int i = 0; i < n_meta; i++)
            if (json_object_set_new(m, kv[i].key, json_string(kv[i].val)) < 0) goto fail;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        const nn_st_src *s = ord[i];
        size_t nb;
        if (!pfi_mul_size(&nb, src_numel(s), dtypes[s->dtype].size) || nb > (size_t)INT64_MAX - off) {
            err = NN_WERR_HEADER;
            goto fail;
        }
        json_t *e = json_object(), *sh = json_array(), *of = json_array();
        if (!e || !sh || !of || json_object_set_new(root, s->name, e) < 0) {
            json_decref(sh);
            json_decref(of);
            goto fail;
        }
        json_object_set_new(e, "dtype", json_string(dtypes[s->dtype].name));
        for (int d = 0; d < s->ndim; d++) json_array_append_new(sh, json_integer(s->shape[d]));
        json_object_set_new(e, "shape", sh);
        json_array_append_new(of, json_integer((json_int_t)off));
        json_array_append_new(of, json_integer((json_int_t)(off + nb)));
        json_object_set_new(e, "data_offsets", of);
        off += nb;
    }
    hdr = json_dumps(root, JSON_COMPACT);
    if (!hdr) goto fail;
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8, total;
    if (!pfi_add_size(&total, 8 + padded, off)) goto fail;
    buf = malloc(total);
    if (!buf) goto fail;
    *size = total;
    wr_u64(buf, padded);
    memcpy(buf + 8, hdr, hl);
    memset(buf + 8 + hl, ' ', padded - hl);
    uint8_t *p = buf + 8 + padded;
    for (int i = 0; i < n; i++) {
        const nn_st_src *s = ord[i];
        size_t cnt = src_numel(s);
        for (size_t k = 0; k < cnt; k++) {
            if (s->dtype == NN_DT_F32) {
                wr_f32(p, s->data[k]);
                p += 4;
            } else {
                uint16_t h = nn_float_to_half(s->data[k]);
                p[0] = (uint8_t)h;
                p[1] = (uint8_t)(h >> 8);
                p += 2;
            }
        }
    }
    *out = buf;
    buf = NULL;
    err = NN_WOK;
fail:
    if (err) *size = 0;
    free(buf);
    free(hdr);
    json_decref(root);
    free(ord);
    free(kv);
    return err;
}

nn_werr nn_write_file_atomic(const char *path, const uint8_t *bytes, size_t size,
                             const pfi_logger *lg)
{
    static atomic_uint counter;
    size_t len = strlen(path);
    int fd = -1, slot = 0;
    if (len + 48 > PF_TEMP_PATH_MAX) {
        pfi_error(lg, "safetensors: the path %s is too long", path);
        return NN_WERR_IO;
    }
    /* listed before it exists, so a signal handler can remove it (pf_remove_temp_files) */
    char own[PF_TEMP_PATH_MAX], *tmp = pfi_temp_claim(&slot);
    if (!tmp) tmp = own;
    /* O_EXCL with mode 0666 honours the umask, unlike mkstemp's 0600 */
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        snprintf(tmp, PF_TEMP_PATH_MAX, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        pfi_temp_list(slot);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        pfi_error(lg, "safetensors: cannot create a file beside %s: %s", path, strerror(errno));
        pfi_temp_release(slot);
        return NN_WERR_IO;
    }
    FILE *f = fdopen(fd, "wb");
    int ok = f && fwrite(bytes, 1, size, f) == size;
    if (f) ok = (fclose(f) == 0) && ok;
    else close(fd);
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        pfi_error(lg, "safetensors: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    pfi_temp_release(slot);
    return ok ? NN_WOK : NN_WERR_IO;
}

/* ---- models -------------------------------------------------------------- */

static int is_opt_name(const char *name, const char **base, int *which)
{
    if (strncmp(name, "opt.m.", 6) == 0) { *base = name + 6; *which = 0; return 1; }
    if (strncmp(name, "opt.v.", 6) == 0) { *base = name + 6; *which = 1; return 1; }
    return 0;
}

/* Reads element k of a float entry. */
static float entry_value(const nn_st *st, const nn_st_entry *e, size_t k)
{
    const uint8_t *d = nn_st_data(st, e);
    return e->dtype == NN_DT_F32 ? rd_f32(d + 4 * k) : nn_half_to_float(rd_u16(d + 2 * k));
}

static nn_werr check_entry(const nn_st *st, const nn_st_entry *e, const nn_param *r,
                           const pfi_logger *lg)
{
    int same = e->ndim == r->ndim;
    for (int d = 0; same && d < r->ndim; d++) same = e->shape[d] == r->shape[d];
    if (!same) {
        char a[160], b[160];
        int64_t want[NN_MAX_DIM];
        for (int d = 0; d < r->ndim; d++) want[d] = r->shape[d];
        shape_str(a, sizeof a, e->ndim, e->shape);
        shape_str(b, sizeof b, r->ndim, want);
        pfi_error(lg, "weights: tensor '%s' has shape %s, the model needs %s", e->name, a, b);
        return NN_WERR_SHAPE;
    }
    if (e->dtype != NN_DT_F32 && e->dtype != NN_DT_F16) {
        pfi_error(lg, "weights: tensor '%s' is %s; only F32 and F16 load", e->name, dtypes[e->dtype].name);
        return NN_WERR_DTYPE;
    }
    for (size_t k = 0; k < r->numel; k++) {
        if (!isfinite(entry_value(st, e, k))) {
            pfi_error(lg, "weights: tensor '%s' element %zu is not finite", e->name, k);
            return NN_WERR_NONFINITE;
        }
    }
    return NN_WOK;
}

/* Pass 1 of loading: every entry of st is a tensor (or, with opt.m. /
 * opt.v., a moment) of p with its shape, a float dtype and finite
 * values, and every tensor p needs is there. found (3 * p->n) gets the
 * entry index of each value (slot 0) and moment (1, 2), -1 when absent.
 * Reads only the table and the file: p's values need not be allocated. */
static nn_werr match_entries(const nn_params *p, const nn_st *st, int with_opt, int *found,
                             const pfi_logger *lg)
{
    nn_werr err = NN_WOK;
    for (int i = 0; i < 3 * p->n; i++) found[i] = -1;
    for (int k = 0; k < st->n && !err; k++) {
        const nn_st_entry *e = &st->t[k];
        const char *base = e->name;
        int which = -1, slot = 0;
        if (is_opt_name(e->name, &base, &which)) slot = 1 + which;
        int i = nn_params_find(p, base);
        if (i < 0) {
            pfi_error(lg, "weights: tensor '%s' is not part of this model", e->name);
            return NN_WERR_UNKNOWN;
        }
        found[3 * i + slot] = k;
        err = check_entry(st, e, &p->t[i], lg);
    }
    for (int i = 0; i < p->n && !err; i++) {
        for (int s = 0; s < (with_opt ? 3 : 1); s++) {
            if (found[3 * i + s] < 0) {
                pfi_error(lg, "weights: tensor '%s%s' is missing from the file",
                         s == 0 ? "" : s == 1 ? "opt.m." : "opt.v.", p->t[i].name);
                return NN_WERR_MISSING;
            }
        }
    }
    return err;
}

nn_werr nn_weights_check_st(const nn_params *p, const nn_st *st, int with_opt, const pfi_logger *lg)
{
    int *found = malloc(sizeof(int) * 3 * (size_t)(p->n ? p->n : 1));
    if (!found) return NN_WERR_NOMEM;
    nn_werr err = match_entries(p, st, with_opt, found, lg);
    free(found);
    return err;
}

nn_werr nn_weights_from_st(nn_params *p, const nn_st *st, int with_opt, const pfi_logger *lg)
{
    /* found[i * 3 + w]: entry index of value (w = 0), opt.m (1), opt.v (2) */
    int *found = malloc(sizeof(int) * 3 * (size_t)(p->n ? p->n : 1));
    if (!found) return NN_WERR_NOMEM;
    PF_ASSERT(p->data);
    /* pass 1: validate everything, change nothing */
    nn_werr err = match_entries(p, st, with_opt, found, lg);
    if (!err && with_opt && nn_params_alloc_opt(p) < 0) err = NN_WERR_NOMEM;
    /* pass 2: copy */
    for (int i = 0; i < p->n && !err; i++) {
        for (int s = 0; s < (with_opt ? 3 : 1); s++) {
            const nn_st_entry *e = &st->t[found[3 * i + s]];
            float *dst = (s == 0 ? p->data : s == 1 ? p->m : p->v) + p->t[i].offset;
            for (size_t k = 0; k < p->t[i].numel; k++) dst[k] = entry_value(st, e, k);
        }
    }
    free(found);
    return err;
}

pf_status nn_weights_load(nn_params *p, const char *path, int with_opt, size_t max_bytes,
                          nn_werr *why, const pfi_logger *lg)
{
    nn_st st;
    nn_werr err = nn_st_read_file(&st, path, max_bytes, lg);
    if (!err) err = nn_weights_from_st(p, &st, with_opt, lg);
    if (err) pfi_error(lg, "weights: %s: %s", path, nn_werr_str(err));
    nn_st_free(&st);
    if (why) *why = err;
    return nn_werr_status(err, 0);
}

pf_status nn_weights_save(const nn_params *p, const char *path, const nn_kv *meta, int n_meta,
                          nn_dtype dtype, int with_opt, const pfi_logger *lg)
{
    const int per = with_opt ? 3 : 1;
    nn_st_src *src = calloc((size_t)(p->n ? p->n : 1) * per, sizeof *src);
    char *names = malloc((size_t)(p->n ? p->n : 1) * per * (NN_NAME_MAX + 8));
    uint8_t *bytes = NULL;
    size_t size = 0;
    nn_werr err = NN_WERR_NOMEM;

    PF_ASSERT(p->data && (!with_opt || (p->m && p->v)));
    if (!src || !names) goto fail;
    for (int i = 0; i < p->n; i++) {
        for (int s = 0; s < per; s++) {
            nn_st_src *o = &src[i * per + s];
            char *nm = names + (size_t)(i * per + s) * (NN_NAME_MAX + 8);
            snprintf(nm, NN_NAME_MAX + 8, "%s%s", s == 0 ? "" : s == 1 ? "opt.m." : "opt.v.", p->t[i].name);
            o->name = nm;
            o->dtype = s == 0 ? dtype : NN_DT_F32;
            o->ndim = p->t[i].ndim;
            o->shape = p->t[i].shape;
            o->data = (s == 0 ? p->data : s == 1 ? p->m : p->v) + p->t[i].offset;
        }
    }
    err = nn_st_serialize(&bytes, &size, src, p->n * per, meta, n_meta);
    if (!err) err = nn_write_file_atomic(path, bytes, size, lg);
fail:
    if (err) pfi_error(lg, "weights: cannot save %s: %s", path, nn_werr_str(err));
    free(bytes);
    free(names);
    free(src);
    return nn_werr_status(err, 1);
}

/* ---- checkpoints --------------------------------------------------------- */

#define CKPT_KEYS 3

pf_status nn_checkpoint_save(const nn_params *p, const nn_adamw *opt, const nn_rng *rng,
                             const char *path, const nn_kv *meta, int n_meta,
                             const pfi_logger *lg)
{
    char step[32], lr[32], rs[32];
    nn_kv *kv = malloc(sizeof *kv * (size_t)(n_meta + CKPT_KEYS));
    pf_status st;

    if (!kv) return PF_ENOMEM;
    snprintf(step, sizeof step, "%" PRId64, opt ? opt->step : 0);
    snprintf(lr, sizeof lr, "%.9g", opt ? (double)opt->lr : 0.0);
    snprintf(rs, sizeof rs, "%016" PRIx64, rng ? rng->s : 0);
    int k = 0;
    for (int i = 0; i < n_meta; i++) {
        if (strcmp(meta[i].key, "pf.step") && strcmp(meta[i].key, "pf.lr") && strcmp(meta[i].key, "pf.rng"))
            kv[k++] = meta[i];
    }
    kv[k++] = (nn_kv){"pf.step", step};
    kv[k++] = (nn_kv){"pf.lr", lr};
    kv[k++] = (nn_kv){"pf.rng", rs};
    st = nn_weights_save(p, path, kv, k, NN_DT_F32, 1, lg);
    free(kv);
    return st;
}

pf_status nn_checkpoint_load(nn_params *p, nn_adamw *opt, nn_rng *rng, const char *path,
                             size_t max_bytes, nn_werr *why, const pfi_logger *lg)
{
    nn_st st;
    nn_werr err = nn_st_read_file(&st, path, max_bytes, lg);
    const char *s_step = NULL, *s_lr = NULL, *s_rng = NULL;
    char *end1 = NULL, *end2 = NULL, *end3 = NULL;
    long long step = 0;
    float lr = 0;
    unsigned long long rs = 0;

    if (!err) {
        s_step = nn_st_meta_get(&st, "pf.step");
        s_lr = nn_st_meta_get(&st, "pf.lr");
        s_rng = nn_st_meta_get(&st, "pf.rng");
        if (s_step) step = strtoll(s_step, &end1, 10);
        if (s_lr) lr = strtof(s_lr, &end2);
        if (s_rng) rs = strtoull(s_rng, &end3, 16);
        if (!s_step || !s_lr || !s_rng || *end1 || *end2 || *end3 || step < 0 || !*s_step ||
            !*s_lr || !*s_rng || rs == 0) {
            pfi_error(lg, "weights: %s: checkpoint metadata pf.step / pf.lr / pf.rng missing or malformed", path);
            err = NN_WERR_HEADER;
        }
    }
    if (!err) err = nn_weights_from_st(p, &st, 1, lg);
    if (!err) {
        if (opt) {
            opt->step = step;
            opt->lr = lr;
        }
        if (rng) rng->s = rs;
    } else {
        pfi_error(lg, "weights: %s: %s", path, nn_werr_str(err));
    }
    nn_st_free(&st);
    if (why) *why = err;
    return nn_werr_status(err, 0);
}
