/* rmsnorm.c: RMSNorm over the last dim in f32, as HF LlamaRMSNorm / Qwen2RMSNorm:
 * y = w * (x * rsqrt(mean(x^2) + eps)), with rsqrt written as 1 / sqrt as torch's CPU kernel does.
 * The sum of squares is accumulated in double and rounded once, so the variance is within an ulp of the
 * exact value; torch's f32 cascade sum is within a few ulps of it, so the two agree to ~1e-6 relative. */
#include <math.h>

#include "kernels/cpu/cpu.h"

void fc_cpu_rmsnorm(float *y, const float *x, const void *w, fc_dtype wdt, int64_t N, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float var = (float)(ss / (double)C);
        float rstd = 1.0f / sqrtf(var + eps);
        for (int64_t c = 0; c < C; c++) yr[c] = fc_cpu_get_f32(w, wdt, c) * (xr[c] * rstd);
    }
}
