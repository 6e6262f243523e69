/* add.c: y = a + b elementwise in f32 (the residual stream). */
#include "kernels/cpu/cpu.h"

void fc_cpu_add(float *y, const float *a, const float *b, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
