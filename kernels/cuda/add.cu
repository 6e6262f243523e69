// add.cu: y = a + b elementwise (the residual stream), the sum taken in f32.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void add_kernel(T *y, const T *a, const T *b, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = from_f32<T>(to_f32(a[i]) + to_f32(b[i]));
}

extern "C" fc_err fc_cuda_add(void *y, const void *a, const void *b, fc_dtype adt, int64_t n) {
    if (n == 0) return FC_OK;
    FC_CUDA_DISPATCH("add", adt, { add_kernel<TA><<<fc_cuda_blocks(n, 256), 256>>>((TA *)y, (const TA *)a, (const TA *)b, n); });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
