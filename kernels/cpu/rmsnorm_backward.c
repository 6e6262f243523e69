/* rmsnorm_backward.c: the backward of rmsnorm.c. With r = 1/sqrt(mean(x^2) + eps) computed as the forward
 * does (double sum of squares, rounded once), g = dy * w:
 *   dx = r * g - x * r^3 * sum(g * x) / C,   dw += dy * x * r.
 * The row sums run in double. */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

void fc_cpu_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const void *w, fc_dtype wdt,
                        int64_t N, int64_t C, float eps, bool accumulate) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        float *dxr = dx + r * C;
        double ss = 0, gx = 0;
        for (int64_t c = 0; c < C; c++) {
            ss += (double)xr[c] * xr[c];
            gx += (double)dyr[c] * fc_cpu_get_f32(w, wdt, c) * xr[c];
        }
        float var = (float)(ss / (double)C);
        double rstd = 1.0 / sqrt((double)(var + eps));
        double k = gx * rstd * rstd * rstd / (double)C;
        for (int64_t c = 0; c < C; c++) {
            float v = (float)(rstd * dyr[c] * fc_cpu_get_f32(w, wdt, c) - k * xr[c]);
            dxr[c] = accumulate ? dxr[c] + v : v;
        }
    }
    if (dw)
        for (int64_t r = 0; r < N; r++) {
            const float *xr = x + r * C;
            double ss = 0;
            for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
            float rstd = 1.0f / sqrtf((float)(ss / (double)C) + eps);
            for (int64_t c = 0; c < C; c++) dw[c] += dy[r * C + c] * (xr[c] * rstd);
        }
}
