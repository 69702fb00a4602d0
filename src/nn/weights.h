/*
 * weights.h - safetensors files (https://github.com/huggingface/safetensors,
 * README "Format"): an 8-byte little-endian u64 header length N, N bytes of
 * JSON header {"__metadata__": {string: string}, name: {"dtype", "shape",
 * "data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8,
 * then the little-endian, C-ordered data, every byte covered by exactly one
 * tensor. Our writer produces the same bytes as the reference
 * implementation: compact JSON, __metadata__ first, tensors sorted by
 * dtype (widest first) then name, data in that order.
 *
 * Model weights are F32 (F16 for shipping); checkpoints add the AdamW
 * moments as "opt.m.<name>" / "opt.v.<name>" (F32) and the step, learning
 * rate and RNG state in __metadata__. A checkpoint loads as a plain model.
 */
#ifndef PF_NN_WEIGHTS_H
#define PF_NN_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "nn/param_table.h"

/* The reference's dtypes, in its order (the writer sorts by it). Only F32
 * and F16 load into a model; the rest are parsed so any valid file is. */
typedef enum nn_dtype {
    NN_DT_BOOL, NN_DT_U8, NN_DT_I8, NN_DT_F8_E5M2, NN_DT_F8_E4M3, NN_DT_I16,
    NN_DT_U16, NN_DT_F16, NN_DT_BF16, NN_DT_I32, NN_DT_U32, NN_DT_F32,
    NN_DT_F64, NN_DT_I64, NN_DT_U64, NN_DT_COUNT
} nn_dtype;

/* Why a file was rejected: one code per case, each mapped to a pf_status
 * by nn_werr_status() (PF_EMODEL for every content error). */
typedef enum nn_werr {
    NN_WOK = 0,
    NN_WERR_IO,          /* cannot open or read the file (write: cannot write it) */
    NN_WERR_NOMEM,
    NN_WERR_TOOBIG,      /* file larger than the caller's limit */
    NN_WERR_TRUNCATED,   /* shorter than 8 bytes, or than its tensors' data */
    NN_WERR_HEADER_LEN,  /* header length beyond the file or over 100 MB */
    NN_WERR_HEADER,      /* header not a JSON object of valid entries */
    NN_WERR_DTYPE,       /* unknown dtype, or one a model cannot load */
    NN_WERR_OFFSETS,     /* offsets disagree with shape, leave holes or trailing bytes */
    NN_WERR_OVERLAP,     /* two tensors share bytes */
    NN_WERR_MISSING,     /* a tensor of the model is not in the file */
    NN_WERR_UNKNOWN,     /* the file has a tensor the model does not */
    NN_WERR_SHAPE,       /* a tensor's shape differs from the model's */
    NN_WERR_NONFINITE    /* NaN or infinity in float data */
} nn_werr;

const char *nn_werr_str(nn_werr e);
/* PF_EMODEL for content errors and unreadable files, PF_ENOMEM, PF_ELIMIT
 * for NN_WERR_TOOBIG; writing == 1 maps NN_WERR_IO to PF_EOUTPUT. */
pf_status nn_werr_status(nn_werr e, int writing);

/* IEEE 754 binary16 <-> binary32, round to nearest even, with subnormals,
 * infinities and NaN. */
float nn_half_to_float(uint16_t h);
uint16_t nn_float_to_half(float f);

/* ---- the file, as parsed ------------------------------------------- */

#define NN_ST_MAX_DIM 8

typedef struct nn_st_entry {
    char *name;
    nn_dtype dtype;
    int ndim;
    int64_t shape[NN_ST_MAX_DIM];
    size_t begin, end;   /* byte offsets into the data section */
} nn_st_entry;

typedef struct nn_kv {
    const char *key, *val;
} nn_kv;

typedef struct nn_st {
    uint8_t *buf;        /* the whole file (owned) */
    size_t size;
    size_t data_off;     /* 8 + header length */
    nn_st_entry *t;      /* (n) in file-header order */
    int n;
    char **meta_key, **meta_val; /* (n_meta) __metadata__ */
    int n_meta;
} nn_st;

/* Parses and validates a whole file held in buf (size bytes); st takes
 * ownership of buf (malloc'd). On failure everything, buf included, is
 * already freed and st is zeroed (nn_st_free on it is harmless). Checks everything that
 * does not need a model: header length, JSON, dtypes, offsets against
 * shapes, overlaps, holes, truncation. Messages name the tensor. */
nn_werr nn_st_parse(nn_st *st, uint8_t *buf, size_t size, const pfi_logger *lg);

/* Reads path (at most max_bytes; 0 = no limit) and parses it; on failure
 * st is left zeroed with nothing to free. */
nn_werr nn_st_read_file(nn_st *st, const char *path, size_t max_bytes, const pfi_logger *lg);

const nn_st_entry *nn_st_find(const nn_st *st, const char *name);
/* The entry's data bytes (little-endian, possibly unaligned). */
const uint8_t *nn_st_data(const nn_st *st, const nn_st_entry *e);
/* The __metadata__ value of key, or NULL. */
const char *nn_st_meta_get(const nn_st *st, const char *key);
void nn_st_free(nn_st *st);

/* ---- writing --------------------------------------------------------- */

typedef struct nn_st_src {
    const char *name;
    nn_dtype dtype;      /* NN_DT_F32 or NN_DT_F16: data is converted */
    int ndim;
    const int *shape;    /* (ndim) */
    const float *data;   /* (product of shape) */
} nn_st_src;

/* Serialises n tensors and n_meta metadata pairs (written sorted by key;
 * none = no __metadata__ entry) into a new malloc'd buffer *out of *size
 * bytes. */
nn_werr nn_st_serialize(uint8_t **out, size_t *size, const nn_st_src *src, int n,
                        const nn_kv *meta, int n_meta);

/* Writes bytes to path through a temporary file and rename(). */
nn_werr nn_write_file_atomic(const char *path, const uint8_t *bytes, size_t size,
                             const pfi_logger *lg);

/* ---- models and checkpoints ------------------------------------------ */

/* Copies the model's tensors out of a parsed file into p (values
 * allocated). Loads F32 or F16. Rejects a missing, unknown or
 * wrong-shaped tensor, a non-float dtype, or a non-finite value, naming
 * the tensor; nothing is changed unless everything passes. "opt.m.X" /
 * "opt.v.X" entries must match a tensor X; with_opt loads them into the
 * moments (allocated here) and requires them, otherwise they are skipped,
 * so a checkpoint loads as a plain model. */
nn_werr nn_weights_from_st(nn_params *p, const nn_st *st, int with_opt, const pfi_logger *lg);

/* nn_weights_from_st's checks alone, on p's table: p's values need not be
 * allocated, so a file whose metadata describes a network larger than
 * its tensors is refused before the network is allocated (NN_WERR_SHAPE,
 * NN_WERR_MISSING, ... as there; NN_WERR_NOMEM). */
nn_werr nn_weights_check_st(const nn_params *p, const nn_st *st, int with_opt, const pfi_logger *lg);

/* nn_st_read_file + nn_weights_from_st. *why (may be NULL) gets the case. */
pf_status nn_weights_load(nn_params *p, const char *path, int with_opt, size_t max_bytes,
                          nn_werr *why, const pfi_logger *lg);

/* Writes p's values as dtype (F32 or F16) with the metadata pairs; with_opt
 * also writes the AdamW moments (F32; they must be allocated). */
pf_status nn_weights_save(const nn_params *p, const char *path, const nn_kv *meta, int n_meta,
                          nn_dtype dtype, int with_opt, const pfi_logger *lg);

/* A training checkpoint: F32 values, moments, and in __metadata__
 * "pf.step", "pf.lr" and "pf.rng" (decimal / %.9g / 16 hex digits) plus
 * the caller's pairs. */
pf_status nn_checkpoint_save(const nn_params *p, const nn_adamw *opt, const nn_rng *rng,
                             const char *path, const nn_kv *meta, int n_meta,
                             const pfi_logger *lg);

/* Loads values and moments into p, and opt->step, opt->lr and *rng (either
 * may be NULL) from the metadata (PF_EMODEL if they are malformed). */
pf_status nn_checkpoint_load(nn_params *p, nn_adamw *opt, nn_rng *rng, const char *path,
                             size_t max_bytes, nn_werr *why, const pfi_logger *lg);

#endif /* PF_NN_WEIGHTS_H */
