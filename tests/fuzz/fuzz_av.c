/* fuzz_av.c - libFuzzer harness: the libav* back end of the streaming
 * reader (reader_av.c), fed from memory through its custom AVIOContext:
 * probing, demuxing, decoding, pixel format conversion, pts to ms. GIF and
 * WebP signatures go to the other back ends, so they are skipped. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 6 && (!memcmp(data, "GIF87a", 6) || !memcmp(data, "GIF89a", 6))) return 0;
    if (size >= 12 && !memcmp(data, "RIFF", 4) && !memcmp(data + 8, "WEBP", 4)) return 0;
    fuzz_read_mem(data, size);
    return 0;
}
