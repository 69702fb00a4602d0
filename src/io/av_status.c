/*
 * av_status.c - libav's return convention (>= 0 success, a negative AVERROR
 * failure) turned into a pf_status with libav's own message, for every
 * caller that drives libavcodec/libavformat directly (the video writer,
 * the trainer's codec round trips). Not the reader's error capture
 * (reader_av.c), which also quotes libav's log.
 */
#include "io/io.h"

#include <errno.h>
#include <libavutil/error.h>

pf_status pfi_av_status(int r, pf_status fail, const char *what, const char *step, const pfi_logger *lg)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    if (r >= 0) return PF_OK;
    av_make_error_string(msg, sizeof msg, r);
    pfi_error(lg, "%s failed (%s): %s", what, step, msg);
    return r == AVERROR(ENOMEM) ? PF_ENOMEM : fail;
}
