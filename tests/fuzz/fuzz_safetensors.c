/* fuzz_safetensors.c - libFuzzer harness: the model loader (nn_model_load:
 * safetensors header JSON, dtypes, shapes, offsets, pf.* metadata and the
 * architecture checks), then one small window through the network when the
 * file loads, so a header the loader accepts but the network cannot run is
 * found too. */
#include "fuzz_util.h"
#include "nn/model.h"

enum { T = 2, H = 4, W = 6 };

/* One T-frame window of H x W cells with mid-grey samples and cells. */
static void run_window(nn_model *m)
{
    size_t ns = (size_t)4 * H * m->k * W * m->k, nc = (size_t)4 * H * W;
    float *samples[T], *cells[T], *out[T];
    const float bg[3] = {1, 0, 1};
    int ok = 1;

    for (int t = 0; t < T; t++) {
        samples[t] = malloc(ns * sizeof(float));
        cells[t] = malloc(nc * sizeof(float));
        out[t] = malloc(nc * sizeof(float));
        if (!samples[t] || !cells[t] || !out[t]) ok = 0;
        for (size_t i = 0; ok && i < ns; i++) samples[t][i] = (float)(i % 7) / 7.0f;
        for (size_t i = 0; ok && i < nc; i++) cells[t][i] = 0.5f;
    }
    nn_state st;
    if (ok && nn_state_init(&st, m, 1) != PF_OK) ok = 0;
    if (ok && nn_model_run(m, &st, (const float *const *)samples, (const float *const *)cells, bg,
                           T, H, W, 0, out) == PF_OK) {
        for (int t = 0; t < T; t++)
            for (size_t i = 0; i < nc; i++)
                if (!(out[t][i] >= 0.0f && out[t][i] <= 1.0f)) abort();   /* NaN too */
    }
    if (ok) nn_state_free(&st);
    for (int t = 0; t < T; t++) {
        free(samples[t]);
        free(cells[t]);
        free(out[t]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    nn_model m;
    pf_limits lim = fuzz_limits();
    int small = 1;

    fuzz_write(fuzz_path(path, sizeof path, "model.safetensors"), data, size);
    memset(&m, 0, sizeof m);
    if (nn_model_load(&m, path, (size_t)lim.max_model_bytes, NULL) != PF_OK) return 0;
    /* Keep one execution in milliseconds: widths are bounded by the file
     * size limit, but a tiny window still plans per level. */
    for (int l = 0; l < m.cfg.levels; l++) small &= m.cfg.ch[l] <= 64;
    if (small) run_window(&m);
    nn_model_free(&m);
    return 0;
}
