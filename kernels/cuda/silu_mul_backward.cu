// silu_mul_backward.cu: the backward of silu_mul.cu. With s = sigmoid(g): dup = dy * g s,
// dgate = dy * up * s (1 + g (1 - s)) (kernels/cpu/silu_mul_backward.c). dgate, dup may alias dy.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void silu_mul_bwd_kernel(T *dgate, T *dup, const T *dy, const T *gate, const T *up, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float g = to_f32(gate[i]), u = to_f32(up[i]), d = to_f32(dy[i]);
        float s = 1.0f / (1.0f + expf(-g));
        float dg = d * u * (s * (1.0f + g * (1.0f - s)));
        float du = d * (g * s);
        dgate[i] = from_f32<T>(dg);
        dup[i] = from_f32<T>(du);
    }
}

extern "C" fc_err fc_cuda_silu_mul_bwd(void *dgate, void *dup, const void *dy, const void *gate, const void *up,
                                       fc_dtype adt, int64_t n) {
    if (n == 0) return FC_OK;
    FC_CUDA_DISPATCH("silu_mul_bwd", adt, {
        silu_mul_bwd_kernel<TA><<<fc_cuda_blocks(n, 256), 256>>>((TA *)dgate, (TA *)dup, (const TA *)dy,
                                                                 (const TA *)gate, (const TA *)up, n);
    });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
