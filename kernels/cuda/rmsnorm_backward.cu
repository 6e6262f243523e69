// rmsnorm_backward.cu: the backward of rmsnorm.cu. With r = 1/sqrt(mean(x^2) + eps) per row and g = dy * w:
//   dx = r * g - x * r^3 * sum(g * x) / C      (one block per row; r kept in scratch slot 3)
//   dw += sum over rows of dy * x * r          (one thread per channel, rows in order: no atomics)
// Row sums in f32 (the CPU twin, kernels/cpu/rmsnorm_backward.c, sums in double).
#include <math.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void rmsnorm_bwd_kernel(T *dx, float *rstd_out, const T *dy, const T *x, const void *w, fc_dtype wdt,
                                   int64_t C, float eps, bool accumulate) {
    __shared__ float sh[32];
    const T *xr = x + blockIdx.x * C, *dyr = dy + blockIdx.x * C;
    T *dxr = dx + blockIdx.x * C;
    float ss = 0.0f, gx = 0.0f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float v = to_f32(xr[c]);
        ss += v * v;
        gx += to_f32(dyr[c]) * load_param(w, wdt, c) * v;
    }
    ss = block_sum(ss, sh);
    gx = block_sum(gx, sh);
    float r = 1.0f / sqrtf(ss / (float)C + eps);
    float k = gx * r * r * r / (float)C;
    if (threadIdx.x == 0) rstd_out[blockIdx.x] = r;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float v = r * to_f32(dyr[c]) * load_param(w, wdt, c) - k * to_f32(xr[c]);
        dxr[c] = from_f32<T>(accumulate ? to_f32(dxr[c]) + v : v);
    }
}

template <typename T>
__global__ void rmsnorm_dw_kernel(float *dw, const float *rstd, const T *dy, const T *x, int64_t N, int64_t C) {
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int64_t r = 0; r < N; r++) s += to_f32(dy[r * C + c]) * (to_f32(x[r * C + c]) * rstd[r]);
        dw[c] += s;
    }
}

extern "C" fc_err fc_cuda_rmsnorm_bwd(void *dx, float *dw, const void *dy, const void *x, fc_dtype adt, const void *w,
                                      fc_dtype wdt, int64_t N, int64_t C, float eps, bool accumulate) {
    if (N == 0 || C == 0) return FC_OK;
    if (N > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "rmsnorm_bwd: %lld rows exceed the cuda grid", (long long)N);
    void *rstd;
    FC_TRY(fc_cuda_scratch(3, (size_t)N * sizeof(float), &rstd));
    FC_CUDA_DISPATCH("rmsnorm_bwd", adt, {
        rmsnorm_bwd_kernel<TA><<<(unsigned)N, 256>>>((TA *)dx, (float *)rstd, (const TA *)dy, (const TA *)x, w, wdt, C,
                                                      eps, accumulate);
    });
    FC_CUDA_LAUNCH_TRY();
    if (dw) {
        FC_CUDA_DISPATCH("rmsnorm_bwd", adt, {
            rmsnorm_dw_kernel<TA><<<fc_cuda_blocks(C, 128), 128>>>(dw, (const float *)rstd, (const TA *)dy,
                                                                   (const TA *)x, N, C);
        });
        FC_CUDA_LAUNCH_TRY();
    }
    return FC_OK;
}
