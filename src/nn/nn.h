/*
 * nn.h - the neural-network engine of pixelfix: every layer of the temporal
 * U-Net (docs/architecture.md section 4), forward and backward, on OpenBLAS and
 * a direct 3x3 / 2x2 kernel of its own (conv_direct.h), plus its
 * losses, AdamW and safetensors weights. Pure maths on floats and shapes: it
 * knows no media and reads no file but weight files. Include this header to
 * get all of src/nn/; each concern also has its own header.
 *
 * Conventions, stated once for the whole module:
 *
 *  - Tensors are float32, row-major, contiguous. Activations are laid out
 *    (N, C, H, W), or (T, C, H, W) for a clip window of T frames, which is
 *    the same thing with N = T. Conv weights are (OC, IC, KH, KW) as in
 *    PyTorch, biases (OC).
 *  - Signatures read like the maths (llm.c): outputs first, then inputs,
 *    then workspaces, then dimensions as int; element counts are size_t.
 *    Every pointer argument carries a shape comment.
 *  - Forward functions OVERWRITE their outputs.
 *  - Backward functions ACCUMULATE (+=) the TRUE gradients dL/dx and
 *    dL/dtheta into the buffers given. Nothing clears them but
 *    nn_params_zero_grad() (and memset for activation gradients), so the
 *    gradients of a tensor used twice simply add up. A NULL gradient
 *    pointer means "not needed" and skips that work.
 *  - The optimiser SUBTRACTS: theta -= lr * update(dL/dtheta). This is NOT
 *    darknet's convention, whose "delta" is the negative gradient.
 *  - No hot-path function allocates: activations live in an nn_arena sized
 *    once per shape, and workspaces are passed in. Sizes come from the
 *    *_ws_floats() helpers.
 *  - Every output is summed in a fixed order by one task whatever the
 *    thread count (OpenBLAS single-threaded on fixed chunks, the direct
 *    kernel's tiles), so results do not depend on --threads.
 */
#ifndef PF_NN_H
#define PF_NN_H

#include "nn/tensor.h"
#include "nn/gemm.h"
#include "nn/im2col.h"
#include "nn/conv2d.h"
#include "nn/conv_direct.h"
#include "nn/resample.h"
#include "nn/activation.h"
#include "nn/temporal.h"
#include "nn/convgru.h"
#include "nn/loss.h"
#include "nn/param_table.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "nn/weights.h"
#include "nn/unet.h"

#endif /* PF_NN_H */
