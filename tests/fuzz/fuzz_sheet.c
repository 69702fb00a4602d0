/* fuzz_sheet.c - libFuzzer harness: the spritesheet JSON reader
 * (pfi_read_sheet in sheet.c: Aseprite array and hash layouts, frame
 * rectangles, durations) against a fixed 32x16 PNG named "sheet.png" beside
 * it; the input is the JSON. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int png_done;
    char json[256], png[256];
    pf_limits lim = fuzz_limits();
    pfi_anim a;

    if (!png_done) {
        uint8_t rgba[32 * 16 * 4];
        for (size_t i = 0; i < sizeof rgba; i++) rgba[i] = (uint8_t)(i * 37 + i / 128);
        if (pfi_png_write(fuzz_path(png, sizeof png, "sheet.png"), rgba, 32, 16, 1) != PF_OK)
            abort();
        png_done = 1;
    }
    fuzz_write(fuzz_path(json, sizeof json, "sheet.json"), data, size);
    if (pfi_read_sheet(&a, json, &lim, NULL) == PF_OK) {
        for (int i = 0; i < a.count; i++)
            if (a.frames[i].duration_ms <= 0 || !a.frames[i].rgba) abort();
        pfi_anim_free(&a);
    }
    return 0;
}
