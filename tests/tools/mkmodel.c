/*
 * mkmodel.c - writes a seeded random-initialised model with the project's
 * own writer, for tests that need a model before trained weights exist.
 *
 * Usage: mkmodel OUT.safetensors [--seed N] [--ch A,B,C] [--levels L]
 *                [--mixer convgru|biconvgru|tconv] [--k K] [--f16]
 *                [--head-scale S]
 * --head-scale multiplies the head's weights (0 makes the model return the
 * classical result exactly).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

int main(int argc, char **argv)
{
    nn_unet_cfg cfg = nn_unet_default_cfg();
    unsigned long long seed = 1;
    int k = 4, f16 = 0;
    double head_scale = 1.0;
    const char *out = NULL;

    cfg.ch[0] = 8;
    cfg.ch[1] = 12;
    cfg.ch[2] = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seed") && v) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--ch") && v) {
            memset(cfg.ch, 0, sizeof cfg.ch);
            sscanf(argv[++i], "%d,%d,%d,%d", &cfg.ch[0], &cfg.ch[1], &cfg.ch[2], &cfg.ch[3]);
        } else if (!strcmp(a, "--levels") && v) cfg.levels = atoi(argv[++i]);
        else if (!strcmp(a, "--k") && v) k = atoi(argv[++i]);
        else if (!strcmp(a, "--head-scale") && v) head_scale = atof(argv[++i]);
        else if (!strcmp(a, "--mixer") && v) {
            const char *m = argv[++i];
            cfg.mixer = !strcmp(m, "tconv") ? NN_MIX_TCONV : !strcmp(m, "biconvgru") ? NN_MIX_BICONVGRU
                                                                                       : NN_MIX_CONVGRU;
        } else if (!strcmp(a, "--f16")) f16 = 1;
        else if (a[0] != '-' && !out) out = a;
        else {
            fprintf(stderr, "mkmodel: bad argument '%s'\n", a);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: mkmodel OUT.safetensors [--seed N] [--ch A,B,C] [--levels L] "
                        "[--mixer convgru|biconvgru|tconv] [--k K] [--f16] [--head-scale S]\n");
        return 2;
    }
    cfg.in_ch = 4 * k * k + 3;
    nn_model m;
    if (nn_model_init_random(&m, &cfg, seed) < 0) {
        fprintf(stderr, "mkmodel: invalid configuration\n");
        return 2;
    }
    int hw = nn_params_find(&m.p, "head.weight");
    if (hw >= 0) {
        float *w = nn_param_data(&m.p, hw);
        for (size_t i = 0; i < m.p.t[hw].numel; i++) w[i] *= (float)head_scale;
    }
    pf_status st = nn_model_save(&m, out, f16 ? NN_DT_F16 : NN_DT_F32, NULL);
    nn_model_free(&m);
    if (st < 0) {
        fprintf(stderr, "mkmodel: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
