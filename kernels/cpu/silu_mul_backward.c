/* silu_mul_backward.c: the backward of silu_mul.c. With s = sigmoid(g): silu(g) = g s and
 * silu'(g) = s (1 + g (1 - s)); dup = dy silu(g), dgate = dy up silu'(g).
 * Also ReLU's and dropout's backward (the CCM's window MLP), elementwise like this one. */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

void fc_cpu_silu_mul_bwd(float *dgate, float *dup, const float *dy, const float *gate, const float *up, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i], u = up[i], d = dy[i];
        float s = 1.0f / (1.0f + expf(-g));
        float dg = d * u * (s * (1.0f + g * (1.0f - s)));
        float du = d * (g * s);
        dgate[i] = dg;
        dup[i] = du;
    }
}

void fc_cpu_relu_bwd(float *dx, const float *dy, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void fc_cpu_dropout_fwd(float *y, const float *x, const uint8_t *keep, float p, int64_t n) {
    float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) y[i] = keep[i] ? x[i] * scale : 0.0f;
}

void fc_cpu_dropout_bwd(float *dx, const float *dy, const uint8_t *keep, float p, int64_t n) {
    float scale = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++) dx[i] = keep[i] ? dy[i] * scale : 0.0f;
}
