// act.cu: elementwise activations in f32 registers, in the same cancellation-free forms as the CPU twin
// (kernels/cpu/act.c): gelu via erfc, gelu_tanh via exp. Precise libdevice functions (no fast-math).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

__device__ __forceinline__ float act_apply(float v, fc_act act) {
    switch (act) {
    case FC_ACT_SILU: return v / (1.0f + expf(-v));
    case FC_ACT_GELU: return 0.5f * v * erfcf(-v * 0.70710678118654752f);
    case FC_ACT_GELU_TANH: return v / (1.0f + expf(-2.0f * 0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case FC_ACT_QUICK_GELU: return v * (1.0f / (1.0f + expf(-1.702f * v)));
    default: return (v > 0.0f || v != v) ? v : 0.0f;
    }
}

template <typename T>
__global__ void act_kernel(T *y, const T *x, int64_t n, fc_act act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = from_f32<T>(act_apply(to_f32(x[i]), act));
}

extern "C" fc_err fc_cuda_act(void *y, const void *x, fc_dtype adt, int64_t n, fc_act act) {
    if (n == 0) return FC_OK;
    FC_CUDA_DISPATCH("act", adt, { act_kernel<TA><<<fc_cuda_blocks(n, 256), 256>>>((TA *)y, (const TA *)x, n, act); });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
