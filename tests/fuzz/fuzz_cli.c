/* fuzz_cli.c - libFuzzer harness: the whole CLI path on a small input. The
 * first byte picks the run: bit 0 the tiny model made at start-up (else
 * --no-model), bits 1-2 the output (spritesheet PNG + JSON, GIF, WebP, PNG
 * frames), bit 3 --crop --dedupe, bit 4 --colors 4, bits 5-6 the grid
 * (detected, --scale 1, --scale 2, --scale 3.7); the rest is the input
 * file. Runs the CLI's own main (src/cli/main.c built with
 * -Dmain=pfi_cli_main) with small --max-* limits. */
#include "fuzz_util.h"
#include "nn/model.h"

int pfi_cli_main(int argc, char **argv);

static char model_path[256];

/* A seeded random model of small widths (as tests/tools/mkmodel makes). */
static void make_model(void)
{
    nn_unet_cfg cfg = nn_unet_default_cfg();
    nn_model m;

    cfg.ch[0] = 4;
    cfg.ch[1] = 6;
    cfg.ch[2] = 8;
    fuzz_path(model_path, sizeof model_path, "tiny.safetensors");
    memset(&m, 0, sizeof m);
    if (nn_model_init_random(&m, &cfg, 7) != PF_OK ||
        nn_model_save(&m, model_path, NN_DT_F32, NULL) != PF_OK)
        abort();
    nn_model_free(&m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    make_model();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const outs[] = {"out.png", "out.gif", "out.webp", "frames/"};
    char in[256], out[256];
    char *argv[32];
    int argc = 0;

    if (size < 2) return 0;
    if (!model_path[0]) make_model();
    fuzz_write(fuzz_path(in, sizeof in, "input.bin"), data + 1, size - 1);
    fuzz_path(out, sizeof out, outs[(data[0] >> 1) & 3]);
    argv[argc++] = "pixelfix";
    argv[argc++] = in;
    argv[argc++] = "-o";
    argv[argc++] = out;
    argv[argc++] = "--force";
    argv[argc++] = "-q";
    argv[argc++] = "--threads";
    argv[argc++] = "1";
    argv[argc++] = "--max-pixels";
    argv[argc++] = "262144";
    argv[argc++] = "--max-frames";
    argv[argc++] = "48";
    if (data[0] & 1) {
        argv[argc++] = "--model";
        argv[argc++] = model_path;
    } else {
        argv[argc++] = "--no-model";
    }
    if (data[0] & 8) {
        argv[argc++] = "--crop";
        argv[argc++] = "--dedupe";
    }
    if (data[0] & 96) {
        static const char *const scales[] = {"1", "2", "3.7"};
        argv[argc++] = "--scale";
        argv[argc++] = (char *)scales[((data[0] >> 5) & 3) - 1];
    }
    if (data[0] & 16) {
        argv[argc++] = "--colors";
        argv[argc++] = "4";
    }
    argv[argc] = NULL;
    pfi_cli_main(argc, argv);
    return 0;
}
