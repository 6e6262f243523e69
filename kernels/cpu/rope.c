/* rope.c: rotary position embedding in place, rotate-half (NeoX) layout, as HF LlamaRotaryEmbedding +
 * apply_rotary_pos_emb with the "default" rope type.
 *
 * The order of f32 operations follows transformers 4.57 (_compute_default_rope_parameters and the
 * rotary forward) so that angles at positions of several hundred agree bit for bit:
 *   inv_freq[i] = 1 / theta^((float)(2i) / D)        (the exponent is an f32 division)
 *   a = (float)pos * inv_freq[i]                      (one f32 product, the K=1 matmul)
 *   x'[i] = x[i]*cos a - x[i+D/2]*sin a,  x'[i+D/2] = x[i+D/2]*cos a + x[i]*sin a   (no FMA: -std=c11
 *   keeps GCC from contracting, matching torch's separate mul and add)
 * torch takes the power with Sleef's powf (within 1 ulp); we take it in double and round once, which
 * agrees with torch except in rare near-tie cases, all at small inv_freq where one ulp moves the angle
 * at position 1000 by < 1e-7 rad.
 */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

/* Rotates every pair (x_i, x_{i+D/2}) of x (T, nh, D) in place by sign * a, a = pos * inv_freq[i].
 * sign is +1 or -1: negating sin a is exact, so the forward's operations are unchanged bit for bit. */
static void rope_rotate(float *x, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta, float sign) {
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
            s[i] = sign * sinf(a);
        }
        for (int64_t h = 0; h < nh; h++) {
            float *r = x + (t * nh + h) * D;
            for (int64_t i = 0; i < half; i++) {
                float x1 = r[i], x2 = r[i + half];
                float p1 = x1 * c[i], q1 = x2 * s[i];
                float p2 = x2 * c[i], q2 = x1 * s[i];
                r[i] = p1 - q1;
                r[i + half] = p2 + q2;
            }
        }
    }
}

void fc_cpu_rope(float *x, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta) {
    rope_rotate(x, pos, T, nh, D, theta, 1.0f);
}

/* The backward: the forward's Jacobian is the rotation by a, so the gradient d (T, nh, D) is rotated back by
 * -a in place: d1 = g1 c + g2 s, d2 = g2 c - g1 s, with c, s computed exactly as the forward computes them. */
void fc_cpu_rope_bwd(float *d, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta) {
    rope_rotate(d, pos, T, nh, D, theta, -1.0f);
}
