// attention.cu: dense attention out (T, H, D) = softmax(q k^T * scale [+ causal]) v, one block per
// (query, head), online softmax in f32. Each of the block's warps walks every FC_ATT_WARPS-th visible key:
// the lanes split the head dim for the q.k dot (warp reduction), then each warp keeps its own running max,
// sum and D-vector accumulator; the warps' partial results are merged through shared memory at the end.
// GQA: query head h reads kv head h / (H / Hkv). Causal: query t sees keys s <= t + (S - T).
// Head dims up to FC_ATT_MAX_D (256) are supported: each lane holds FC_ATT_MAX_D / 32 accumulators.
#include <math.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

#define FC_ATT_WARPS 4
#define FC_ATT_MAX_D 256

template <typename T>
__global__ void attention_kernel(T *out, const T *q, const T *k, const T *v, int64_t T_, int64_t S, int64_t H,
                                 int64_t Hkv, int64_t D, float scale, bool causal) {
    __shared__ float sq[FC_ATT_MAX_D];
    __shared__ float sacc[FC_ATT_WARPS][FC_ATT_MAX_D];
    __shared__ float sm[FC_ATT_WARPS], sl[FC_ATT_WARPS];
    int64_t t = blockIdx.x / H, h = blockIdx.x % H, kh = h / (H / Hkv);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) sq[d] = to_f32(q[(t * H + h) * D + d]);
    __syncthreads();
    int64_t send = causal ? t + (S - T_) + 1 : S;
    float m = -INFINITY, l = 0.0f, acc[FC_ATT_MAX_D / 32];
#pragma unroll
    for (int j = 0; j < FC_ATT_MAX_D / 32; j++) acc[j] = 0.0f;
    for (int64_t s = warp; s < send; s += FC_ATT_WARPS) {
        const T *kr = k + (s * Hkv + kh) * D, *vr = v + (s * Hkv + kh) * D;
        float dot = 0.0f;
        for (int64_t d = lane; d < D; d += 32) dot += sq[d] * to_f32(kr[d]);
        float score = warp_sum(dot) * scale;
        float mn = fmaxf(m, score);
        float corr = expf(m - mn), p = expf(score - mn);
        l = l * corr + p;
#pragma unroll
        for (int j = 0; j < FC_ATT_MAX_D / 32; j++) {
            int64_t d = lane + 32 * j;
            if (d < D) acc[j] = acc[j] * corr + p * to_f32(vr[d]);
        }
        m = mn;
    }
#pragma unroll
    for (int j = 0; j < FC_ATT_MAX_D / 32; j++) {
        int64_t d = lane + 32 * j;
        if (d < D) sacc[warp][d] = acc[j];
    }
    if (lane == 0) sm[warp] = m, sl[warp] = l;
    __syncthreads();
    float mx = -INFINITY;
    for (int w = 0; w < FC_ATT_WARPS; w++) mx = fmaxf(mx, sm[w]);
    float sum = 0.0f, f[FC_ATT_WARPS];
    for (int w = 0; w < FC_ATT_WARPS; w++) {
        f[w] = sm[w] == -INFINITY ? 0.0f : expf(sm[w] - mx); // a warp that saw no key adds nothing
        sum += sl[w] * f[w];
    }
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.0f;
        for (int w = 0; w < FC_ATT_WARPS; w++) o += sacc[w][d] * f[w];
        out[(t * H + h) * D + d] = from_f32<T>(o / sum);
    }
}

extern "C" fc_err fc_cuda_attention(void *out, const void *q, const void *k, const void *v, fc_dtype adt, int64_t T,
                                    int64_t S, int64_t H, int64_t Hkv, int64_t D, float scale, bool causal) {
    if (T == 0 || H == 0) return FC_OK;
    if (D > FC_ATT_MAX_D)
        return fc_err_set(FC_EUNSUPPORTED, "attention: head dim %lld > %d is not supported on cuda", (long long)D,
                          FC_ATT_MAX_D);
    if (T * H > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "attention: %lld (query, head) pairs exceed the cuda grid",
                                             (long long)(T * H));
    FC_CUDA_DISPATCH("attention", adt, {
        attention_kernel<TA><<<(unsigned)(T * H), 32 * FC_ATT_WARPS>>>((TA *)out, (const TA *)q, (const TA *)k,
                                                                      (const TA *)v, T, S, H, Hkv, D, scale, causal);
    });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
