/*
 * palette.h - colour science and the clip-wide palette: sRGB <-> OKLab
 * (Björn Ottosson, "A perceptual color space for image processing", 2020),
 * palette extraction, nearest-colour mapping without dithering, temporal
 * hysteresis, and palette files (.hex, .gpl, .png).
 */
#ifndef PF_PALETTE_H
#define PF_PALETTE_H

#include <stdint.h>

#include "base/common.h"

#define PF_PALETTE_MAX 256

/* sRGB (gamma-encoded, 0..1) -> OKLab (L 0..1, a and b about -0.4..0.4). */
void pfi_srgb_to_oklab(const float rgb[3], float lab[3]);
/* OKLab -> sRGB 0..1, clamped to the gamut cube. */
void pfi_oklab_to_srgb(const float lab[3], float rgb[3]);
/* OKLab -> sRGB8 (0..255): pfi_oklab_to_srgb rounded to nearest. */
void pfi_oklab_to_srgb8(const float lab[3], uint8_t rgb[3]);
/* sRGB8 -> OKLab through a 256-entry linearisation table. */
void pfi_srgb8_to_oklab(const uint8_t rgb[3], float lab[3]);
/* Euclidean OKLab distance. */
float pfi_oklab_dist(const float a[3], const float b[3]);
/* OKLab distance from colour x (OKLab xl, sRGB 0..1 xr) to the mixing path
 * of colours A and B (OKLab al/bl, sRGB ar/br) over mixes t in [t_min,
 * 1 - t_min]: the nearer of the straight line in OKLab and the straight
 * line in gamma-encoded sRGB (what resampling and blurring of 8-bit frames
 * produce). *t gets the share of A at the nearest point; INFINITY when A
 * and B are the same colour. */
float pfi_blend_dist(const float xl[3], const float xr[3], const float al[3], const float ar[3],
                     const float bl[3], const float br[3], float t_min, float *t);

/* OKLab: a cell or entry this close to a chromatic solid background is the
 * background (pfi_palette_defringe clears such silhouette entries; the
 * restore keeps such cells' classical colour through the network) */
#define PFI_FRINGE_NEAR_BG 0.10f

typedef struct pfi_palette {
    int n;                              /* colours, 0..256 */
    uint8_t rgb[PF_PALETTE_MAX][3];     /* sRGB 0..255 */
    float lab[PF_PALETTE_MAX][3];       /* OKLab centre that colours are matched to: rgb's,
                                           except where pfi_palette_black_point moved rgb */
    uint8_t clear[PF_PALETTE_MAX];      /* 1: the background left opaque at the silhouette,
                                           mapped to transparent (pfi_palette_defringe) */
} pfi_palette;

/* Fills lab[] from rgb[] for the first p->n entries. */
void pfi_palette_update_lab(pfi_palette *p);

/* Extracts one palette from m colours (OKLab, (m, 3)) with weights
 * (m; NULL = 1 each; read as pixel counts, weights averaging below 1 are
 * scaled up to a mean of 1). colors = 0 chooses the count: the
 * significant modes of a smoothed OKLab histogram, refined by k-means,
 * with blends of two colours dropped (unless a quarter of their weight is
 * `flat`: flat (m) or NULL, 1 where the colour lies inside a patch of its
 * own, which an edge blend one cell wide never does), wide clusters
 * (continuous shading) split, colours that no entry represents (farther than noise from every
 * entry and off the mixing paths of two) given their own, centres closer
 * than the merge distance joined and negligible clusters dropped, so noise
 * around one true colour gives one entry while a small colour far from
 * the rest stays, even when its edge blends bridge it to a big neighbour
 * (see extract.c). colors = 1..256 is a maximum: that automatic palette
 * when it has at most that many entries, else reduced to that many (Ward
 * merges, then k-means), never padded with near-duplicates. Entries are
 * sorted by OKLab L. Deterministic. Colours that
 * are not finite or far outside OKLab (L beyond -0.5..1.5, a or b beyond
 * -1..1), and weights that are not positive, are skipped.
 * Errors: PF_EINVAL, PF_ENOMEM. m == 0 gives an empty palette. */
pf_status pfi_palette_extract(pfi_palette *p, const float *lab, const float *weights,
                             const uint8_t *flat, size_t m, int colors);

/* Replaces each entry by the exact colour that dominates its members: of
 * the m input colours (sRGB8, (m, 3)), those nearest to an entry vote; the
 * most frequent one within `radius` (OKLab) replaces the entry when it has
 * at least min_share (0..1) of the entry's votes and is not already in the
 * palette. Channels within 3 codes of 0 or 255 then snap to the end,
 * since noise clipped at the gamut's ends biases estimates inwards.
 * clean_out (p->n, may be NULL) gets 1 for the clean entries:
 * those an exact colour dominates or whose members lie within 0.012 OKLab
 * of them on average (a blend or a lifted black spreads wider). Deterministic. Errors: PF_EINVAL, PF_ENOMEM. */
pf_status pfi_palette_snap(pfi_palette *p, const uint8_t *rgb, size_t m, float radius, float min_share,
                         uint8_t *clean_out);

/* The black point: every near-neutral entry (OKLab chroma below 0.05)
 * darker than L 0.32 (neutral sRGB ~47) is written as pure black
 * (0,0,0), while its lab stays where its members are, so the same pixels
 * map to it. Blur, bilinear upscales, chroma subsampling and clipped
 * noise lift a black outline to about (30,26,22), often as a second dark
 * entry beside an exact black, and OKLab is so steep near black that only
 * exact 0 is the same colour as black (docs/metrics.md: below 0.04). Two
 * entries may then share (0,0,0); pfi_palette_colors counts them once.
 * Beside the darkest entry, an entry is taken for a lifted black only
 * when it is tinted (chroma 0.01 or more: its blurred neighbours' tint)
 * and not marked in clean (p->n, from pfi_palette_snap; NULL = none): a
 * GIF's neutral or clean dark grey beside its black is the artist's. Measured on the
 * evaluation set (tests/evalset, 120 cases per split): acc_opaque +0.03
 * on val and dev (acc 0.886 -> 0.904 on val with the corner snap).
 * low_l (p->n, NULL = unknown): the 5th percentile of each entry's
 * members' OKLab L. Blur lifts a black only near lighter cells, so some of
 * a lifted black's members stay near 0; an entry whose darkest 5% lie at
 * L 0.115 (sRGB ~8) or above is dark everywhere, an artist's near-black
 * or dark navy, and keeps its colour (dev + val, frame 0: of the 93
 * entries the black point moved, the 46 at or above that floor held 2001
 * pixels whose true colour was the entry's and 173 whose was black). */
void pfi_palette_black_point(pfi_palette *p, const uint8_t *clean, const float *low_l);

/* The distinct written colours (rgb) of the p->n entries not cleared, in entry order:
 * their number, and the colours in out (room for p->n; may be NULL). */
int pfi_palette_colors(const pfi_palette *p, uint8_t (*out)[3]);

/* Index of the nearest entry to lab (OKLab); *dist gets the distance
 * (may be NULL). -1 for an empty palette. */
int pfi_palette_nearest(const pfi_palette *p, const float lab[3], float *dist);

/* Hysteresis settings for pfi_palette_map_frame. */
typedef struct pfi_hysteresis {
    float keep_margin;   /* keep the previous index if it is at most this much farther (OKLab) than the best; default 0.03 */
    float same_dist;     /* input colours closer than this to last frame's count as "the same thing"; default 0.03 */
} pfi_hysteresis;

pfi_hysteresis pfi_hysteresis_default(void);

/* Maps one native frame to palette indices without dithering: the
 * nearest entry in OKLab, or for a colour farther than 0.05 from every
 * entry that lies on the mixing path of two (a blend across an edge) the
 * end it holds more of; such a far colour whose choice is no entry of its
 * 8 neighbours takes the nearest of theirs instead when that is at most
 * 0.04 farther (map.c).
 * cells: (4, h, w) float RGBA 0..1; alpha < 0.5 gives index -1.
 * prev_cells/prev_idx: the previous frame's cells (4, h, w) and indices
 * (h*w), or NULL for the first frame; a pixel whose colour stayed the same
 * keeps its index, and one near its previous entry keeps it unless another
 * entry is clearly closer (the rules and their bounds are in map.c).
 * hy NULL = defaults. idx out: (h*w) int16, -1 = transparent. */
void pfi_palette_map_frame(const pfi_palette *p, const float *cells, int w, int h,
                          const float *prev_cells, const int16_t *prev_idx,
                          const pfi_hysteresis *hy, int16_t *idx);

/* Palette entries that are blends across an edge write the colour they
 * mostly are (fringe.c); lab (what colours are matched to) stays.
 *  - With a keyed background bg of OKLab chroma >= 0.06 (next to black,
 *    white or grey a blend and a shade are the same thing), for an entry i
 *    with at least half of its pixels on the silhouette (touching a
 *    transparent pixel or the frame's edge) that lies within 14 sRGB levels
 *    of the line from bg to an entry j: at 0.4..0.9 of the way to j it
 *    takes j's rgb; under 0.4 it is the background itself, left opaque by
 *    the key, and clear[i] is set (mapped to transparent). An entry within
 *    0.03 OKLab of such a background is cleared wherever its pixels are
 *    when its 4-connected blobs average under 32 pixels: specks and
 *    pockets smaller than the key's minimum (a sprite part of the key's
 *    colour is one large blob).
 *  - Across a high-contrast edge: entry i takes entry a's rgb when i lies
 *    within 10 sRGB levels of the line from a to another entry b, 0.05..0.15
 *    of the way to b, a and b are at least 0.37 OKLab apart, and b is not
 *    black (every channel under 60: towards black a colour darkens into its
 *    own shade).
 * In both, at least a quarter of i's pixels touch one of each entry it
 * blends, and the entry it takes has at least 0.3 as many pixels; an entry
 * that is itself a blend gives its colour to none. clear[] is reset first.
 * frames: n native frames, (h, w, 4) RGBA8 with binary alpha (>= 128
 * opaque), pixels matched to their nearest entry; bg: the keyed colour,
 * sRGB 0..255, or NULL (no keyed plain colour); local_bg (with bg NULL):
 * the keyed background varies (a gradient, a field of blobs), and each
 * entry's background is the mean colour of the transparent pixels beside
 * its silhouette pixels (keyed pixels keep their colour); *merged (may be
 * NULL): the entries changed or cleared.
 * Errors: PF_EINVAL (NULL p or frames, n < 0, w or h < 1), PF_ENOMEM; the
 * palette is unchanged then. After Smith & Blinn, "Blue Screen Matting"
 * (SIGGRAPH 1996): an edge pixel is a blend of the colours on its sides. */
pf_status pfi_palette_defringe(pfi_palette *p, const uint8_t *const *frames, int n, int w, int h, const uint8_t *bg,
                              int local_bg, int *merged);

/* ---- whole frames (frames.c) ------------------------------------------- */

/* The clip's palette from the opaque pixels (alpha >= 128) of n native
 * frames, each RGBA8 (h, w, 4), sampled evenly down to at most 4M pixels:
 * pfi_palette_extract in OKLab with `colors` as there (a pixel whose four
 * neighbours are opaque and within 0.04 OKLab of it is `flat`), then
 * pfi_palette_snap onto exact colours the clip repeats (within 0.03 OKLab, 20% of votes)
 * and pfi_palette_black_point, given each entry's low_l when `restored`
 * (the frames come from the network, which removes blur's lift from
 * black; classical cells keep it). No opaque pixel gives an empty
 * palette. Errors: PF_EINVAL, PF_ENOMEM. */
pf_status pfi_palette_from_rgba(pfi_palette *p, const uint8_t *const *frames, int n, int w, int h,
                               int colors, int restored);

/* Maps a sequence of native frames onto one palette in place, each frame
 * with hysteresis against the one before (pfi_palette_map_frame). */
typedef struct pfi_palette_mapper {
    const pfi_palette *pal;   /* borrowed; must outlive the mapper */
    int w, h;                /* frame size, cells */
    pfi_hysteresis hy;        /* defaults */
    float *cur, *prev;       /* (4, h, w) this and the previous frame, 0..1 */
    int16_t *idx, *pidx;     /* (h, w) their indices, -1 = transparent */
    int mapped;              /* frames mapped so far */
} pfi_palette_mapper;

/* Errors: PF_EINVAL (w, h < 1), PF_ENOMEM; on failure nothing is held. */
pf_status pfi_palette_mapper_init(pfi_palette_mapper *m, const pfi_palette *p, int w, int h);
/* rgba: (h, w, 4) RGBA8, replaced by palette colours (alpha 255) or
 * transparent black where alpha < 128. */
void pfi_palette_mapper_apply(pfi_palette_mapper *m, uint8_t *rgba);
/* Frees; a zeroed or freed mapper is fine. */
void pfi_palette_mapper_free(pfi_palette_mapper *m);

/* Loads a palette file, by extension: Lospec .hex (RRGGBB per line),
 * GIMP .gpl ("R G B name" lines after the header), or .png (its distinct
 * opaque pixel colours in scan order, at most 256); a file with another or
 * no extension is read as .gpl when it starts with "GIMP Palette", as .hex
 * when it has no extension. Text files are limited to 1 MiB.
 * Errors: PF_EPALETTE with a message naming the file (and line: malformed,
 * empty, over 256 colours, unknown format, missing, a folder, unreadable),
 * PF_EINVAL (NULL argument), PF_ENOMEM. */
pf_status pfi_palette_load(pfi_palette *p, const char *path, const pfi_logger *lg);

#endif /* PF_PALETTE_H */
