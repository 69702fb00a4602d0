/*
 * activation.h - elementwise activations: LeakyReLU, SiLU, sigmoid, tanh,
 * forward and backward, on any tensor shape (n elements).
 */
#ifndef PF_NN_ACTIVATION_H
#define PF_NN_ACTIVATION_H

#include <math.h>
#include <stddef.h>

typedef enum nn_act {
    NN_ACT_NONE = 0,   /* identity */
    NN_ACT_LEAKY,      /* x > 0 ? x : slope * x (slope NN_LEAKY_SLOPE) */
    NN_ACT_SILU,       /* x * sigmoid(x) (Elfwing et al. 2017, "swish") */
    NN_ACT_SIGMOID,    /* 1 / (1 + exp(-x)) */
    NN_ACT_TANH
} nn_act;

/* The LeakyReLU negative slope used everywhere. */
#define NN_LEAKY_SLOPE 0.1f

/* Numerically safe logistic function. */
static inline float nn_sigmoidf(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* y = act(x). y: (n), overwritten; y == x (in place) is allowed. */
void nn_act_forward(float *y, const float *x, size_t n, nn_act act);

/* dx += dy * act'(x). dx, dy, x, y: (n); x is the forward input and y the
 * forward output (each activation reads whichever is cheaper). dx == dy
 * is allowed (the gradient is then replaced, not accumulated). */
void nn_act_backward(float *dx, const float *dy, const float *x, const float *y,
                     size_t n, nn_act act);

/* Name of an activation ("leaky", "silu", ...), for model metadata; and
 * back (-1 if unknown). */
const char *nn_act_name(nn_act act);
int nn_act_parse(const char *name);

#endif /* PF_NN_ACTIVATION_H */
