// silu_mul.cu: y = silu(gate) * up elementwise (the SwiGLU middle), f32 in registers.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void silu_mul_kernel(T *y, const T *gate, const T *up, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float g = to_f32(gate[i]);
        y[i] = from_f32<T>(g / (1.0f + expf(-g)) * to_f32(up[i]));
    }
}

extern "C" fc_err fc_cuda_silu_mul(void *y, const void *gate, const void *up, fc_dtype adt, int64_t n) {
    if (n == 0) return FC_OK;
    FC_CUDA_DISPATCH("silu_mul", adt, {
        silu_mul_kernel<TA><<<fc_cuda_blocks(n, 256), 256>>>((TA *)y, (const TA *)gate, (const TA *)up, n);
    });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
