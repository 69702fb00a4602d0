/* debug.h - the --debug DIR images: the detected grid drawn over the input,
 * and native frames before and after the palette, enlarged for viewing. */
#ifndef PF_DEBUG_H
#define PF_DEBUG_H

#include "grid/grid.h"
#include "io/io.h"

/* Writes DIR/grid_NNN.png for input frame NNN (h, w, 4) RGBA8, the frame
 * the lattice L sampled last (drift dx, dy px): a crop of the frame around
 * the sprite, enlarged 2-4x (nearest), with every other native cell
 * shaded like a chequerboard and the cell boundaries drawn, so a person
 * can judge the alignment. Creates DIR. Errors: PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_debug_grid(const char *dir, const pfi_lattice *L, const uint8_t *rgba, int w, int h,
                        double dx, double dy, int index, const pfi_logger *lg);

/* Writes DIR/<name>_NNN.png for up to 4 frames of a, nearest-enlarged so
 * the height is at least 256 pixels. Errors: PF_EOUTPUT, PF_ENOMEM. */
pf_status pfi_debug_native(const char *dir, const char *name, const pfi_anim *a, const pfi_logger *lg);

#endif
