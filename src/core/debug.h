/* debug.h - the --debug DIR images: the detected grid drawn over the input,
 * and native frames before and after the palette, enlarged for viewing. */
#ifndef PF_DEBUG_H
#define PF_DEBUG_H

#include "../grid/grid.h"
#include "../io/io.h"

/* Writes DIR/grid_NNN.png for up to 4 of the n input frames (each (h, w, 4)
 * RGBA8): the frame with g's boundaries, shifted by the frame's drift,
 * drawn in alternating colours. Creates DIR. Errors: PF_EOUTPUT. */
pf_status pf_debug_grid(const char *dir, const pf_grid *g, uint8_t *const *frames, int n,
                        int w, int h, const pf_logger *lg);

/* Writes DIR/<name>_NNN.png for up to 4 frames of a, nearest-enlarged so
 * the height is at least 256 pixels. Errors: PF_EOUTPUT, PF_ENOMEM. */
pf_status pf_debug_native(const char *dir, const char *name, const pf_anim *a, const pf_logger *lg);

#endif
