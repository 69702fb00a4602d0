/* fuzz_palette.c - libFuzzer harness: the palette-file parsers
 * (palette_file.c: Lospec .hex, GIMP .gpl, PNG through libpng). The first
 * byte picks the file name's extension, the rest is the file. */
#include "fuzz_util.h"
#include "palette/palette.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"p.hex", "p.gpl", "p.png"};
    char path[256];
    pfi_palette p;

    if (size < 1) return 0;
    fuzz_path(path, sizeof path, names[data[0] % 3]);
    fuzz_write(path, data + 1, size - 1);
    memset(&p, 0, sizeof p);
    if (pfi_palette_load(&p, path, NULL) == PF_OK) {
        if (p.n < 1 || p.n > PF_PALETTE_MAX) abort();   /* the parser's promise */
    }
    return 0;
}
