/* silu_mul.c: y = silu(gate) * up, the middle of the Llama/Qwen2 SwiGLU MLP (act_fn(gate_proj(x)) *
 * up_proj(x) in HF), f32, silu as in act.c. */
#include <math.h>

#include "kernels/cpu/cpu.h"

void fc_cpu_silu_mul(float *y, const float *gate, const float *up, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
