/* rope_backward.c: the backward of rope.c. The forward rotates each pair (x_i, x_{i+D/2}) by the angle a:
 * y1 = x1 c - x2 s, y2 = x2 c + x1 s. Its Jacobian is that rotation, so the gradient is rotated back:
 * d1 = g1 c + g2 s, d2 = g2 c - g1 s, with c, s computed exactly as the forward computes them. */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

void fc_cpu_rope_bwd(float *d, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta) {
    int64_t half = D / 2;
    float inv_freq[FC_ROPE_MAX_D / 2];
    for (int64_t i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)D;
        inv_freq[i] = 1.0f / (float)pow((double)theta, (double)e);
    }
#pragma omp parallel for schedule(static) if (T * nh * D > 16384)
    for (int64_t t = 0; t < T; t++) {
        float c[FC_ROPE_MAX_D / 2], s[FC_ROPE_MAX_D / 2];
        for (int64_t i = 0; i < half; i++) {
            float a = (float)pos[t] * inv_freq[i];
            c[i] = cosf(a);
            s[i] = sinf(a);
        }
        for (int64_t h = 0; h < nh; h++) {
            float *r = d + (t * nh + h) * D;
            for (int64_t i = 0; i < half; i++) {
                float g1 = r[i], g2 = r[i + half];
                r[i] = g1 * c[i] + g2 * s[i];
                r[i + half] = g2 * c[i] - g1 * s[i];
            }
        }
    }
}
