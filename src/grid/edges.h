/*
 * edges.h - the edge evidence that lattice fitting reads (period.c,
 * mesh.c): sub-pixel edge locations gathered into band profiles, and their
 * local demodulation against a lattice coordinate. Internal to grid/.
 */
#ifndef PF_GRID_EDGES_H
#define PF_GRID_EDGES_H

#include <stdint.h>

#include "base/common.h"

/* Edge locations across one axis of a frame, summed over bands of lines.
 * axis 0: column boundaries, located along x, bands of `band` rows;
 * axis 1: row boundaries, located along y, bands of `band` columns.
 * Position i is the boundary between pixels i-1 and i (0..len). */
typedef struct pfi_edge_bands {
    int axis;
    int len;          /* frame side along the axis, pixels */
    int n;            /* positions: len + 1 */
    int lines;        /* frame side across the axis, pixels */
    int nb;           /* bands: max(1, lines / band); band b holds lines
                         [b lines / nb, (b + 1) lines / nb) */
    float *p;         /* (nb, n) edge weight at each position */
    double total;     /* sum of p */
} pfi_edge_bands;

/* Finds the edges of one RGBA8 frame (h, w, 4) across `axis`: the colour
 * step between the box means of `step` pixels on either side of every
 * boundary (premultiplied RGB and alpha, 0..255 summed over channels),
 * its local maxima within step/2, each put at its parabolic sub-pixel
 * position with weight log(1 + (D - floor) / 10), floor = 3 * median + 4
 * (noise and codec ripple). luma_only: luma (premultiplied) and alpha
 * instead of RGB and alpha, for subsampled chroma, whose 2-px comb and
 * smear are the codec's. The box difference puts one maximum midway
 * between the centres of two different cells whatever the upscaling
 * kernel (nearest, bilinear, bicubic, blur), which plain differences do
 * not. eb->p is allocated (free with pfi_edge_bands_free).
 * Errors: PF_EINVAL (bad sizes, step < 1, band < 1), PF_ENOMEM. */
pf_status pfi_edge_bands_make(pfi_edge_bands *eb, const uint8_t *rgba, int w, int h, int axis,
                             int step, int band, int luma_only);

void pfi_edge_bands_free(pfi_edge_bands *eb);

/* The per-line prefix sums that edge bands of any step are cut from, so a
 * frame's features are summed once however many steps are tried: (lines,
 * len + 1, 4) floats, premultiplied RGB and alpha (or 3 x luma and alpha),
 * 0..255 units. Same axis convention as pfi_edge_bands.
 * Errors: PF_EINVAL, PF_ENOMEM. */
typedef struct pfi_edge_prefix {
    int axis, len, lines;
    float *cs;
} pfi_edge_prefix;

pf_status pfi_edge_prefix_make(pfi_edge_prefix *pp, const uint8_t *rgba, int w, int h, int axis, int luma_only);
void pfi_edge_prefix_free(pfi_edge_prefix *pp);

/* pfi_edge_bands_make from a frame's prefix sums. */
pf_status pfi_edge_bands_cut(pfi_edge_bands *eb, const pfi_edge_prefix *pp, int step, int band);

/* Local demodulation: for every band and position x,
 *   z(x) = sum_x' g(x - x') P(x') exp(-2 pi i u(x')),  m(x) = sum_x' g(x - x') P(x')
 * with g a Gaussian of `sigma` pixels (three box passes), zero outside.
 * u (nb, n) is the lattice coordinate in cells (lines at integers), or
 * NULL for the regular lattice u = x / period. z's phase is then minus
 * 2 pi times how far the edges lie from whole u; |z| / m is their local
 * coherence (1 = every edge on a line). zr, zi, m are (nb, n); scratch
 * holds 2 n floats. */
void pfi_edge_demod(const pfi_edge_bands *eb, const float *u, double period, double sigma,
                   float *zr, float *zi, float *m, float *scratch);

/* Three running-box passes approximating a Gaussian of `sigma` samples
 * over v (n), zero outside; tmp holds n floats. */
void pfi_gauss_1d(float *v, int n, double sigma, float *tmp);

#endif /* PF_GRID_EDGES_H */
