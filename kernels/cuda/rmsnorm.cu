// rmsnorm.cu: y = w * (x * rsqrt(mean(x^2) + eps)) over the last dim (HF LlamaRMSNorm), one block per row,
// statistics in f32. Same order of products as the CPU twin (kernels/cpu/rmsnorm.c).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void rmsnorm_kernel(T *y, const T *x, const void *w, fc_dtype wdt, int64_t C, float eps) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * C;
    T *yr = y + blockIdx.x * C;
    float ss = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float v = to_f32(xr[c]);
        ss += v * v;
    }
    ss = block_sum(ss, sh);
    float rstd = 1.0f / sqrtf(ss / (float)C + eps);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
        yr[c] = from_f32<T>(load_param(w, wdt, c) * (to_f32(xr[c]) * rstd));
}

extern "C" fc_err fc_cuda_rmsnorm(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, int64_t N,
                                  int64_t C, float eps) {
    if (N == 0) return FC_OK;
    if (N > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "rmsnorm: %lld rows exceed the cuda grid", (long long)N);
    FC_CUDA_DISPATCH("rmsnorm", adt, { rmsnorm_kernel<TA><<<(unsigned)N, 256>>>((TA *)y, (const TA *)x, w, wdt, C, eps); });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
