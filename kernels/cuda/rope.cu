// rope.cu: rotate-half RoPE in place on x (T, nh, D), one block per (token, head), one thread per pair
// (i, i + D/2). The angle follows the CPU twin (kernels/cpu/rope.c) operation for operation:
// inv_freq = 1 / (float)theta^((float)(2i) / D) with the power in double, a = (float)pos * inv_freq in f32,
// precise cosf/sinf, separate products (nvcc -fmad=false is not set, so the rotation is written with
// __fmul_rn/__fadd_rn to keep it from contracting into FMAs).
// Positions come from the host and are uploaded to device scratch slot 1.
// The backward (fc_cuda_rope_bwd) is the same rotation with the sign of sin negated (exact), as on the CPU.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void rope_kernel(T *x, const int32_t *pos, int64_t nh, int64_t D, float theta, float sign) {
    int64_t half = D / 2;
    T *r = x + ((int64_t)blockIdx.x * nh + blockIdx.y) * D;
    float p = (float)pos[blockIdx.x];
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
        float e = __fdiv_rn((float)(2 * i), (float)D);
        float inv_freq = __fdiv_rn(1.0f, (float)pow((double)theta, (double)e));
        float a = __fmul_rn(p, inv_freq);
        float c = cosf(a), s = sign * sinf(a);
        float x1 = to_f32(r[i]), x2 = to_f32(r[i + half]);
        r[i] = from_f32<T>(__fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s)));
        r[i + half] = from_f32<T>(__fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s)));
    }
}

static fc_err rope_rotate(void *x, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta,
                          float sign) {
    if (T == 0 || nh == 0 || D == 0) return FC_OK;
    if (nh > 65535) return fc_err_set(FC_EUNSUPPORTED, "rope: %lld heads exceed the cuda grid", (long long)nh);
    void *dpos;
    FC_TRY(fc_cuda_upload(1, pos, (size_t)T * sizeof(int32_t), &dpos));
    dim3 grid((unsigned)T, (unsigned)nh);
    int threads = D / 2 < 128 ? (int)((D / 2 + 31) / 32 * 32) : 128;
    FC_CUDA_DISPATCH("rope", adt, { rope_kernel<TA><<<grid, threads>>>((TA *)x, (const int32_t *)dpos, nh, D, theta, sign); });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}

extern "C" fc_err fc_cuda_rope(void *x, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta) {
    return rope_rotate(x, adt, pos, T, nh, D, theta, 1.0f);
}

extern "C" fc_err fc_cuda_rope_bwd(void *d, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D,
                                   float theta) {
    return rope_rotate(d, adt, pos, T, nh, D, theta, -1.0f);
}
