/* fuzz_gif.c - libFuzzer harness: the GIF back end of the streaming reader
 * (reader_gif.c, giflib), fed from memory. Inputs without a GIF signature
 * would go to another back end, so they are skipped. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6 || (memcmp(data, "GIF87a", 6) && memcmp(data, "GIF89a", 6))) return 0;
    fuzz_read_mem(data, size);
    return 0;
}
