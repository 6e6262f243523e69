/* embedding.c: y (T, C) = table (V, C)[ids] as f32 (nn.Embedding), the table in its checkpoint dtype. */
#include "kernels/cpu/cpu.h"

void fc_cpu_embedding(float *y, const void *table, fc_dtype tdt, const int32_t *ids, int64_t T, int64_t C) {
    size_t row_bytes = (size_t)C * fc_dtype_size(tdt);
#pragma omp parallel for schedule(static) if (T * C > 65536)
    for (int64_t t = 0; t < T; t++) fc_cpu_load_f32(y + t * C, (const char *)table + (size_t)ids[t] * row_bytes, tdt, C);
}
