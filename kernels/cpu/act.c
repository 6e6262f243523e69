/* act.c: elementwise activations under their HF ACT2FN names, in f32, written as torch evaluates them:
 *   silu        x / (1 + exp(-x))                          (torch's vectorised silu)
 *   gelu        0.5 x (1 + erf(x / sqrt 2))                 (GELUActivation -> F.gelu)
 *   gelu_tanh   0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (F.gelu(approximate="tanh"))
 *   quick_gelu  x * sigmoid(1.702 x)                        (QuickGELUActivation)
 *   relu        max(x, 0), NaN kept
 * The two gelus are evaluated in forms without the cancellation of 1 + erf(z) or 1 + tanh(u) near -1:
 * 1 + erf(z) = erfc(-z) and 1 + tanh(u) = 2 / (1 + exp(-2u)). That keeps negative inputs accurate to a
 * few ulps of the exact function, where the textbook f32 form (and torch's CPU kernel, whose own
 * approximations stray by up to ~1e-6 absolute) lose up to 1e-6 absolute.
 * libm's expf/erff/tanhf are within an ulp or two of torch's Sleef versions, far inside the f32 tolerance. */
#include <math.h>

#include "kernels/cpu/cpu.h"

void fc_cpu_act(float *y, const float *x, int64_t n, fc_act act) {
    switch (act) {
    case FC_ACT_SILU:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    case FC_ACT_GELU:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * erfcf(-x[i] * (float)M_SQRT1_2);
        break;
    case FC_ACT_GELU_TANH: {
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v / (1.0f + expf(-2.0f * k * (v + 0.044715f * v * v * v)));
        }
        break;
    }
    case FC_ACT_QUICK_GELU:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * (1.0f / (1.0f + expf(-1.702f * x[i])));
        break;
    case FC_ACT_RELU:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] > 0.0f || x[i] != x[i]) ? x[i] : 0.0f;
        break;
    default: FC_ASSERT(!"act: unknown activation (the dispatcher rejects it)");
    }
}
