/*
 * metrics.h - quality metrics of a restored animation against ground truth,
 * exactly as defined in docs/metrics.md (opaque: alpha >= 128; same
 * colour: OKLab distance < 0.04; one clip-wide integer alignment shift in
 * [-1, 1]^2 chosen to maximise acc).
 */
#ifndef PF_METRICS_H
#define PF_METRICS_H

#include "io/io.h"

typedef struct pfi_metrics {
    int size_ok;          /* 1 when W, H and N match */
    int dx, dy;           /* chosen alignment: output pixel (x+dx, y+dy) vs GT (x, y) */
    double acc;           /* share of GT pixels right (class, and colour if opaque) */
    double acc_opaque;    /* share of GT-opaque pixels with the same colour, output
                           * alpha ignored; 1 when the GT has no opaque pixel */
    double alpha_iou;     /* IoU of opaque masks summed over frames; 1 when both empty */
    double psnr;          /* RGB PSNR over GT-opaque pixels, dB, 8-bit peak 255, output
                           * alpha ignored; an uncovered pixel has error 255 per
                           * channel; 99 for zero error (and the cap) */
    double edge_f1;       /* F1 of 4-neighbour pixel-boundary edges; 1 when neither
                           * clip has an edge */
    double flicker;       /* share of GT-static pixels whose output changes; 0 when
                           * none is static */
    double perfect_frames;/* share of frames with acc >= 0.995 */
    int colors_out;       /* distinct opaque output colours (exact RGB) */
    int colors_gt;        /* distinct opaque GT colours (exact RGB) */
    double palette_de;    /* symmetric mean nearest-colour OKLab distance; 0 when both
                           * sets are empty, 1 when exactly one is */
    int frames_gt, frames_out;
} pfi_metrics;

/* Scores out against gt (docs/metrics.md). Frames are compared index by
 * index over n = min(N_gt, N_out) frames (size_ok records a mismatch);
 * pixels are compared over the GT area (W, H) only, and a GT pixel that the
 * shifted output does not cover counts as wrong.
 * The shift (dx, dy) in [-1, 1]^2 maximises the count of right pixels; ties
 * go to (0, 0), then the 4-neighbour shifts, then the diagonals.
 * Edges: between GT pixel p and its right / lower neighbour q; the output
 * edge is between O(p + d) and O(q + d), absent when either is uncovered.
 * Flicker: a GT pixel is static from frame t-1 to t when both are
 * transparent (any RGB) or both opaque with exactly equal RGB; its output
 * changes unless the two output pixels are equal under that same rule.
 * Uncovered pixels are left out of flicker (the shift is clip-wide, so
 * they never change).
 * colors and palette_de use the opaque pixels of the n compared frames of
 * each clip, over each clip's whole frame; palette_de is the mean of
 * (mean over output colours of the distance to the nearest GT colour) and
 * (mean over GT colours of the distance to the nearest output colour).
 * Errors: PF_EINVAL (NULL, no frames, a size <= 0, a compared frame with
 * no pixel buffer), PF_ENOMEM. m is zeroed first. */
pf_status pfi_metrics_compute(pfi_metrics *m, const pfi_anim *gt, const pfi_anim *out);

#endif /* PF_METRICS_H */
