/* fuzz_webp.c - libFuzzer harness: the WebP back end of the streaming
 * reader (reader_webp.c, WebPAnimDecoder), fed from memory. Inputs without
 * a RIFF....WEBP header would go to another back end, so they are skipped. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12 || memcmp(data, "RIFF", 4) || memcmp(data + 8, "WEBP", 4)) return 0;
    fuzz_read_mem(data, size);
    return 0;
}
