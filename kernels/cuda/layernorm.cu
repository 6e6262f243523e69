// layernorm.cu: y = (x - mean) * rstd * w + b over the last dim (torch LayerNorm, biased variance), one block
// per row, two passes in f32 (mean, then centred squares) as the CPU twin (kernels/cpu/layernorm.c).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void layernorm_kernel(T *y, const T *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                                 int64_t C, float eps) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * C;
    T *yr = y + blockIdx.x * C;
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += to_f32(xr[c]);
    float mean = block_sum(s, sh) / (float)C;
    float ss = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float d = to_f32(xr[c]) - mean;
        ss += d * d;
    }
    float rstd = 1.0f / sqrtf(block_sum(ss, sh) / (float)C + eps);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float v = (to_f32(xr[c]) - mean) * rstd;
        if (w) v *= load_param(w, wdt, c);
        if (b) v += load_param(b, bdt, c);
        yr[c] = from_f32<T>(v);
    }
}

extern "C" fc_err fc_cuda_layernorm(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                                    fc_dtype bdt, int64_t N, int64_t C, float eps) {
    if (N == 0) return FC_OK;
    if (N > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "layernorm: %lld rows exceed the cuda grid", (long long)N);
    FC_CUDA_DISPATCH("layernorm", adt, {
        layernorm_kernel<TA><<<(unsigned)N, 256>>>((TA *)y, (const TA *)x, w, wdt, b, bdt, C, eps);
    });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
