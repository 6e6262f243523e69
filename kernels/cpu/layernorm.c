/* layernorm.c: LayerNorm over the last dim in f32, as torch.nn.LayerNorm (CLIP, SigLIP, the resampler):
 * y = (x - mean) * rstd * w + b with the biased variance and rstd = 1 / sqrt(var + eps).
 * Mean and variance are taken in double, two-pass (no cancellation when |mean| >> std), then rounded to
 * f32; torch's Welford moments in f32 agree with them to a few ulps. */
#include <math.h>

#include "kernels/cpu/cpu.h"

void fc_cpu_layernorm(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                      int64_t N, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double s = 0, ss = 0;
        for (int64_t c = 0; c < C; c++) s += xr[c];
        double mean_d = s / (double)C;
        for (int64_t c = 0; c < C; c++) ss += (xr[c] - mean_d) * (xr[c] - mean_d);
        float mean = (float)mean_d;
        float rstd = 1.0f / sqrtf((float)(ss / (double)C) + eps);
        for (int64_t c = 0; c < C; c++) {
            float v = (xr[c] - mean) * rstd;
            if (w) v *= fc_cpu_get_f32(w, wdt, c);
            if (b) v += fc_cpu_get_f32(b, bdt, c);
            yr[c] = v;
        }
    }
}
