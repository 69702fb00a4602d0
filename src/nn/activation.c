/*
 * activation.c - elementwise activations and their derivatives.
 */
#include "nn/activation.h"

#include <math.h>
#include <string.h>

void nn_act_forward(float *y, const float *x, size_t n, nn_act act)
{
    switch (act) {
    case NN_ACT_NONE:
        if (y != x) memmove(y, x, n * sizeof(float));
        break;
    case NN_ACT_LEAKY:
        /* max(x, slope x) is the same function (slope < 1), and compiles
         * to a branchless maxss: the sign of activations is a coin toss
         * that a branch mispredicts half the time */
        for (size_t i = 0; i < n; i++) {
            const float v = x[i], s = NN_LEAKY_SLOPE * v;
            y[i] = v > s ? v : s;
        }
        break;
    case NN_ACT_SILU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] * nn_sigmoidf(x[i]);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = nn_sigmoidf(x[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    }
}

void nn_act_backward(float *dx, const float *dy, const float *x, const float *y,
                     size_t n, nn_act act)
{
    /* dx may alias dy: each element reads dy[i] before writing dx[i]. The
     * "replace" semantics for the alias case come from computing
     * g = dy * f' and storing dx = (dx == dy ? 0 : dx) + g. */
    const int alias = dx == dy;
    for (size_t i = 0; i < n; i++) {
        float d;
        switch (act) {
        case NN_ACT_LEAKY: d = x[i] > 0.0f ? 1.0f : NN_LEAKY_SLOPE; break;
        case NN_ACT_SILU: {
            float s = nn_sigmoidf(x[i]);
            d = s * (1.0f + x[i] * (1.0f - s));
            break;
        }
        case NN_ACT_SIGMOID: d = y[i] * (1.0f - y[i]); break;
        case NN_ACT_TANH: d = 1.0f - y[i] * y[i]; break;
        default: d = 1.0f; break;
        }
        float g = dy[i] * d;
        dx[i] = alias ? g : dx[i] + g;
    }
}

static const char *const act_names[] = {"none", "leaky", "silu", "sigmoid", "tanh"};

const char *nn_act_name(nn_act act)
{
    return (unsigned)act < sizeof act_names / sizeof act_names[0] ? act_names[act] : "?";
}

int nn_act_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (name && strcmp(name, act_names[i]) == 0) return (int)i;
    return -1;
}
