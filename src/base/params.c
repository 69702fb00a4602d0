/* params.c - status strings, version, default parameters and the report's
 * destructor: the small public API surface that is not the pipeline. */
#include "base/common.h"

const char *pf_strerror(pf_status st)
{
    switch (st) {
    case PF_DONE: return "end of stream";
    case PF_OK: return "success";
    case PF_EINVAL: return "invalid argument";
    case PF_ENOMEM: return "out of memory";
    case PF_EIO: return "input cannot be read";
    case PF_EFORMAT: return "input is corrupt or of an unsupported format";
    case PF_ENOFRAMES: return "input has no frames";
    case PF_ELIMIT: return "input exceeds a configured limit";
    case PF_ENOGRID: return "no pixel grid found";
    case PF_EOUTPUT: return "output cannot be written";
    case PF_EEXIST: return "output already exists";
    case PF_EMODEL: return "model file is missing, corrupt or does not match";
    case PF_EPALETTE: return "palette file is invalid";
    case PF_EABORTED: return "aborted";
    case PF_EINTERNAL: return "internal error";
    }
    return "unknown error";
}

const char *pf_version(void) { return PF_VERSION_STRING; }

pf_limits pf_default_limits(void)
{
    pf_limits l;
    l.max_pixels = (int64_t)8192 * 8192;
    l.max_frames = 100000;
    l.max_decoded_bytes = (int64_t)64 << 30;
    l.max_model_bytes = (int64_t)512 << 20;
    l.max_model_memory = (int64_t)768 << 20;
    l.max_memory = (int64_t)1 << 30;
    return l;
}

pf_params pf_default_params(void)
{
    pf_params p = {0};
    p.scale = 0;
    p.grid = PF_GRID_AUTO;
    p.grid_frames = 8;
    p.samples_k = 4;
    p.colors = 0;
    p.background = PF_BG_AUTO;
    p.loop = -1;
    p.use_model = 1;
    p.window = 8;
    p.overlap = 2;   /* 4 gave the same val figures at 1.4x the model time (models/README.md) */
    p.palette_frames = PF_PALETTE_AUTO;
    p.log_level = PF_LOG_WARN;
    p.limits = pf_default_limits();
    return p;
}

void pf_report_free(pf_report *rep)
{
    if (!rep) return;
    free(rep->durations_ms);
    free(rep->drift_x);
    free(rep->drift_y);
    free(rep->model_path);
    free(rep);
}
