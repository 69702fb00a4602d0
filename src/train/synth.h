/*
 * synth.h - generated training data with exact ground truth (docs/data.md,
 * "Generated data"): procedural pixel-art sprites at native resolution, and
 * synthetic animations of a sprite or a static tile (whole-pixel
 * translation, a region moving by one pixel, blinking, palette cycling,
 * flips). Frames are clean native RGBA: binary alpha, every transparent
 * pixel exactly (0, 0, 0, 0). Not the degradation pipeline (that turns these
 * clips into the network's inputs).
 *
 * Every function is a pure function of its arguments and seed (the project's
 * xoshiro256** in rng.h); no global state, no output.
 *
 *     pfi_anim clip = {0};
 *     pfi_synth_info info;
 *     if (pfi_synth_clip(&clip, 64, 64, 0, seed, &info) == PF_OK) { ...; pfi_anim_free(&clip); }
 */
#ifndef PF_TRAIN_SYNTH_H
#define PF_TRAIN_SYNTH_H

#include <stdint.h>

#include "io/io.h"

#define PF_SYNTH_MIN_SIZE 4       /* px, smallest image or canvas side */
#define PF_SYNTH_MAX_SIZE 128     /* px, largest image or canvas side */
#define PF_SYNTH_MAX_FRAMES 64    /* frames per clip */
#define PF_SYNTH_MAX_COLORS 32    /* opaque colours of a sprite, at most */
#define PF_SYNTH_CYCLE_MAX 6      /* colours in a palette cycle, at most */

/* Sprite colour guarantees (OKLab, pfi_srgb8_to_oklab): any two different
 * colours of a sprite are at least PF_SYNTH_MIN_DE apart; the outline
 * colours have L < PF_SYNTH_OUTLINE_L_MAX, every other colour L >=
 * PF_SYNTH_FILL_L_MIN; there are never more outline colours than others. */
#define PF_SYNTH_MIN_DE 0.06f
#define PF_SYNTH_OUTLINE_L_MAX 0.30f
#define PF_SYNTH_FILL_L_MIN 0.35f

typedef enum pfi_synth_motion {
    PF_SYNTH_TRANSLATE = 0,   /* whole-pixel motion on a larger canvas */
    PF_SYNTH_REGION_SHIFT,    /* a head bob (the top part 1 px down and back)
                               * or a small region toggling colour (an eye) */
    PF_SYNTH_BLINK,           /* all or part hidden / recoloured on some frames */
    PF_SYNTH_PALETTE_CYCLE,   /* a subset of colours rotates through itself */
    PF_SYNTH_FLIP,            /* horizontal mirror every K frames */
    PF_SYNTH_ANY              /* drawn from the seed among those that apply */
} pfi_synth_motion;

/* The sub-kinds recorded in pfi_synth_info.variant. */
typedef enum pfi_synth_variant {
    PF_SYNTH_V_LINEAR = 0,    /* TRANSLATE: constant velocity (dx, dy) px per step */
    PF_SYNTH_V_PINGPONG,      /* TRANSLATE: 1 px per step back and forth */
    PF_SYNTH_V_HOP,           /* TRANSLATE: parabolic hops, maybe drifting sideways */
    PF_SYNTH_V_HEAD_BOB,      /* REGION_SHIFT: region rows move 1 px down when active */
    PF_SYNTH_V_TOGGLE,        /* REGION_SHIFT: region pixels take alt_rgb when active */
    PF_SYNTH_V_HIDE_ALL,      /* BLINK: the whole image transparent when active */
    PF_SYNTH_V_FLASH_ALL,     /* BLINK: every opaque pixel alt_rgb when active */
    PF_SYNTH_V_HIDE_PART,     /* BLINK: the region transparent when active */
    PF_SYNTH_V_SWAP,          /* BLINK: colour from_rgb becomes alt_rgb when active */
    PF_SYNTH_V_CYCLE,         /* PALETTE_CYCLE */
    PF_SYNTH_V_FLIP           /* FLIP */
} pfi_synth_variant;

/* What pfi_synth_animate made, for tests and logs. Coordinates are canvas
 * pixels; per-frame arrays hold `frames` entries. */
typedef struct pfi_synth_info {
    pfi_synth_motion motion;   /* the motion used, never PF_SYNTH_ANY */
    pfi_synth_variant variant;
    int frames;               /* frames pushed */
    int held;                 /* frames that repeat the previous one (holds) */
    int img_x, img_y;         /* top-left of the still at offset (0, 0), px */
    int img_w, img_h;         /* the still's size, px */
    /* REGION_SHIFT, BLINK HIDE_PART: the declared region; otherwise the
     * still's rectangle. Pixels outside this box grown by 1 px never change
     * (except under TRANSLATE and FLIP, and the whole-image BLINKs). */
    int region_x, region_y, region_w, region_h;
    uint8_t alt_rgb[3];       /* TOGGLE, FLASH_ALL, SWAP: the colour shown when active */
    uint8_t from_rgb[3];      /* SWAP: the colour replaced */
    int cycle_n;              /* PALETTE_CYCLE: colours in the cycle, 0..PF_SYNTH_CYCLE_MAX */
    uint8_t cycle_rgb[PF_SYNTH_CYCLE_MAX][3]; /* in cycle order: at phase p, a pixel
                               * of colour cycle_rgb[i] in the still shows
                               * cycle_rgb[(i + p) % cycle_n] */
    int step[PF_SYNTH_MAX_FRAMES];   /* motion step rendered (+1 per frame, +0 on a hold) */
    int dx[PF_SYNTH_MAX_FRAMES];     /* TRANSLATE: offset of the still from (img_x, img_y), px */
    int dy[PF_SYNTH_MAX_FRAMES];
    int state[PF_SYNTH_MAX_FRAMES];  /* FLIP: 1 = mirrored; REGION_SHIFT, BLINK: 1 = active;
                                      * PALETTE_CYCLE: the phase 0..cycle_n-1; else 0 */
    int duration_ms[PF_SYNTH_MAX_FRAMES];
} pfi_synth_info;

/* A new random sprite into rgba (h, w, 4), RGBA8 0..255: a character
 * (mirrored about a vertical axis), a creature (a mirrored random mask, as
 * in classic sprite generators), a blob (union of ellipses and rectangles)
 * or an item (potion, gem, sword, chest, orb, shield); 2..32 opaque colours
 * drawn as hue-shifted shading ramps (2..4 shades, light from the top left),
 * sometimes ordered dithering (checker or 4x4 Bayer) between two shades of a
 * ramp, and a 1-px dark outline. Guarantees: binary alpha; transparent
 * pixels are (0, 0, 0, 0); at least one opaque pixel; every opaque pixel
 * 4-adjacent to a transparent one has an outline colour (see the colour
 * guarantees above); a transparent margin of 2..5 px on each side (at
 * most max(2, side / 6)), shrunk to (side - 3) / 2 px on sides under 7 px;
 * silhouettes of characters, creatures and most items are mirror-symmetric
 * (the shading is not: it is lit from the top left).
 * w, h: native px, 4..128 (8..48 is the intended range).
 * Errors: PF_EINVAL (NULL rgba, size out of range), PF_ENOMEM. */
pf_status pfi_synth_sprite(uint8_t *rgba, int w, int h, uint64_t seed);

/* Animates a still (a sprite or a tile, rgba (h, w, 4) RGBA8) into out,
 * which it initialises (pass a zeroed or freed pfi_anim; freed again on
 * error): `frames` frames of out_w x out_h px, the still placed so that the
 * motion stays inside the canvas. The still's alpha is first made binary
 * (alpha >= 128 -> 255, else the pixel becomes (0, 0, 0, 0)); its colours
 * are kept, so a tile keeps its own palette (only FLASH_ALL may add one
 * colour). Durations are 40..200 ms, one for the clip or one per frame;
 * some frames may be holds (a copy of the previous frame). motion:
 * PF_SYNTH_ANY draws one among those that apply. A PALETTE_CYCLE on a still
 * with fewer than 2 opaque colours, or a REGION_SHIFT on one without opaque
 * pixels, gives static frames. info (NULL = not wanted) records what was made.
 * Sizes: w, h, out_w, out_h 4..128 with out_w >= w, out_h >= h; frames 1..64.
 * Errors: PF_EINVAL (NULL pointers, sizes or motion out of range,
 * PF_SYNTH_TRANSLATE on a canvas no larger than the still), PF_ENOMEM. */
pf_status pfi_synth_animate(pfi_anim *out, const uint8_t *rgba, int w, int h,
                           int out_w, int out_h, int frames, pfi_synth_motion motion,
                           uint64_t seed, pfi_synth_info *info);

/* Convenience: a random sprite (8..48 px a side, within the canvas) and a
 * random motion on a canvas of at most max_w x max_h px (4..128).
 * frames: 1..64, or 0 to draw 8..32 from the seed. info as above.
 * Errors: PF_EINVAL, PF_ENOMEM. */
pf_status pfi_synth_clip(pfi_anim *out, int max_w, int max_h, int frames, uint64_t seed,
                        pfi_synth_info *info);

/* The motion's name ("translate", "region_shift", "blink", "palette_cycle",
 * "flip", "any"), or "?" */
const char *pfi_synth_motion_name(pfi_synth_motion m);

#endif /* PF_TRAIN_SYNTH_H */
