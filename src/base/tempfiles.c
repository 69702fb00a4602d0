/*
 * tempfiles.c - the process-wide table of temporary files that a signal
 * handler may delete (pf_remove_temp_files, pixelfix.h). Outputs
 * (io/outfile.c) and model checkpoints (nn/weights.c) list theirs here.
 * A slot is 0 free, 1 being filled, 2 listed. The owner writes the name
 * into the slot's own buffer and lists it before the file is created, so
 * there is no moment when the file exists but is not listed; a handler
 * that runs before the file exists unlinks a name nobody has.
 */
#include "base/common.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#define TMP_SLOTS 32
static struct {
    atomic_int state;
    char path[PF_TEMP_PATH_MAX];
} g_tmp[TMP_SLOTS];

char *pfi_temp_claim(int *slot)
{
    for (int i = 0; i < TMP_SLOTS; i++) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&g_tmp[i].state, &free_, 1)) {
            *slot = i + 1;
            return g_tmp[i].path;
        }
    }
    *slot = 0;
    return NULL;   /* all taken: the caller's file goes unlisted (best effort) */
}

void pfi_temp_list(int slot)
{
    if (slot > 0 && slot <= TMP_SLOTS) atomic_store(&g_tmp[slot - 1].state, 2);
}

void pfi_temp_release(int slot)
{
    if (slot > 0 && slot <= TMP_SLOTS) atomic_store(&g_tmp[slot - 1].state, 0);
}

void pf_remove_temp_files(void)
{
    int e = errno;
    for (int i = 0; i < TMP_SLOTS; i++)
        if (atomic_load(&g_tmp[i].state) == 2) unlink(g_tmp[i].path);
    errno = e;
}
