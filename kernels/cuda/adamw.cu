// adamw.cu: one AdamW step on the GPU, element for element as train/optim.c (itself torch's single-tensor
// rounding): the scalars come from the host (fc_cuda_adamw_hyper), and every product, sum, quotient and
// square root is written with an explicitly rounded intrinsic so nvcc does not contract them into FMAs
// where the CPU does not (and fmaf where torch's lerp fuses).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

__global__ void adamw_kernel(float *p, const float *g, float *m, float *v, int64_t n, fc_cuda_adamw_hyper h) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i], pi = p[i], mi = m[i];
        if (h.use_decay) pi = __fmul_rn(pi, h.decay);
        float diff = __fsub_rn(gi, mi);
        mi = h.w1 < 0.5f ? __fmaf_rn(h.w1, diff, mi) : __fmaf_rn(-diff, __fsub_rn(1.0f, h.w1), gi);
        float vi = __fadd_rn(__fmul_rn(v[i], h.b2), __fmul_rn(__fmul_rn(h.w2, gi), gi));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), h.bc2_sqrt), h.eps);
        p[i] = __fadd_rn(pi, __fmul_rn(-h.step_size, __fdiv_rn(mi, denom)));
        m[i] = mi;
        v[i] = vi;
    }
}

extern "C" fc_err fc_cuda_adamw(float *p, const float *g, float *m, float *v, int64_t n, const fc_cuda_adamw_hyper *h) {
    if (n == 0) return FC_OK;
    adamw_kernel<<<fc_cuda_blocks(n, 256), 256>>>(p, g, m, v, n, *h);
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
