// paged_prefill.cu: the prefill path of paged_attention.cu, for a sequence with many new tokens, on the
// tensor cores through cuBLAS (the per-(row, head) kernel does O(n_q * n_keys) dot products on the CUDA
// cores). For one sequence with n_q new tokens over S = n_keys entries:
//   1. its keys and values gathered from the pool into contiguous (Hkv, S, D) buffers (scratch 5, 6);
//   2. scores (H, n_q, S) f32 = scale * q_h . k_{h/G}^T, one cublasGemmBatchedEx over the H heads (pointer
//      arrays uploaded to scratch 4), A/B in the activation dtype, f32 accumulation (scratch 7);
//   3. causal softmax per row in f32 (query i sees entries [0, S - n_q + i]), probabilities stored in the
//      activation dtype (scratch 8), zeros past the limit;
//   4. out rows of head h = P_h . v_{h/G}, a second batched GEMM writing into out's (T, H*D) rows (ld H*D).
// Row-major A (r, c) is cuBLAS's column-major (c, r): scores^T (S, n_q) = K (S, D) . Q^T with K read
// transposed (OP_T, lda D) and Q's rows H*D apart (ldb H*D); out^T (D, n_q) = V^T (D, S) . P^T (S, n_q).
#include <math.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void gather_kernel(T *kc, T *vc, const T *k, const T *v, const int32_t *blocks, int64_t S, int64_t Hkv,
                              int64_t D, int64_t bs) {
    int64_t e = blockIdx.x, g = blockIdx.y;
    int64_t row = (int64_t)blocks[e / bs] * bs + e % bs;
    const T *ks = k + (row * Hkv + g) * D, *vs = v + (row * Hkv + g) * D;
    T *kd = kc + (g * S + e) * D, *vd = vc + (g * S + e) * D;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) kd[d] = ks[d], vd[d] = vs[d];
}

template <typename T>
__global__ void causal_softmax_kernel(T *p, const float *sc, int64_t n_q, int64_t S) {
    __shared__ float sh[32];
    int64_t i = blockIdx.x, h = blockIdx.y;
    const float *r = sc + (h * n_q + i) * S;
    T *pr = p + (h * n_q + i) * S;
    int64_t vis = S - n_q + i + 1;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) mx = fmaxf(mx, r[j]);
    // block max through the sum helper's shared buffer: negate-free max reduction
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = mx;
    __syncthreads();
    mx = lane < nw ? sh[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < vis; j += blockDim.x) s += expf(r[j] - mx);
    s = block_sum(s, sh);
    float inv = 1.0f / s;
    for (int64_t j = threadIdx.x; j < S; j += blockDim.x) pr[j] = from_f32<T>(j < vis ? expf(r[j] - mx) * inv : 0.0f);
}

// The host pointer arrays for the two batched GEMMs (6 H pointers), grow-only.
static const void **ptrs;
static int64_t ptrs_cap;

extern "C" fc_err fc_cuda_paged_prefill(void *out, const void *q, const void *k, const void *v, fc_dtype adt,
                                        const fc_paged_seq *s, int64_t H, int64_t Hkv, int64_t D, int64_t bs,
                                        float scale) {
    int64_t nq = s->n_q, S = s->n_keys, G = H / Hkv, nb = (S + bs - 1) / bs;
    if (nq == 0) return FC_OK;
    if (S > INT32_MAX / 2 || nq * S > ((int64_t)1 << 31) / (H > 0 ? H : 1))
        return fc_err_set(FC_EUNSUPPORTED, "paged prefill: %lld queries x %lld keys x %lld heads exceed cuda scratch",
                          (long long)nq, (long long)S, (long long)H);
    size_t es = fc_dtype_size(adt);
    void *dblocks, *kc, *vc, *sc, *p, *dptrs;
    FC_TRY(fc_cuda_upload(9, s->blocks, (size_t)nb * sizeof(int32_t), &dblocks));
    FC_TRY(fc_cuda_scratch(5, (size_t)(Hkv * S * D) * es, &kc));
    FC_TRY(fc_cuda_scratch(6, (size_t)(Hkv * S * D) * es, &vc));
    FC_TRY(fc_cuda_scratch(7, (size_t)(H * nq * S) * sizeof(float), &sc));
    FC_TRY(fc_cuda_scratch(8, (size_t)(H * nq * S) * es, &p));
    FC_CUDA_DISPATCH("paged_attention", adt, {
        gather_kernel<TA><<<dim3((unsigned)S, (unsigned)Hkv), 128>>>((TA *)kc, (TA *)vc, (const TA *)k, (const TA *)v,
                                                                    (const int32_t *)dblocks, S, Hkv, D, bs);
    });
    FC_CUDA_LAUNCH_TRY();
    if (ptrs_cap < 6 * H) {
        const void **np = (const void **)realloc(ptrs, (size_t)(6 * H) * sizeof *ptrs);
        if (!np) return fc_err_set(FC_ENOMEM, "paged prefill: out of memory for %lld pointers", (long long)(6 * H));
        ptrs = np, ptrs_cap = 6 * H;
    }
    const char *qs = (const char *)q + (size_t)((int64_t)s->q_start * H * D) * es;
    char *os = (char *)out + (size_t)((int64_t)s->q_start * H * D) * es;
    for (int64_t h = 0; h < H; h++) {
        int64_t g = h / G;
        ptrs[h] = (const char *)kc + (size_t)(g * S * D) * es;               // GEMM 1 A: K_g
        ptrs[H + h] = qs + (size_t)(h * D) * es;                             // GEMM 1 B: Q_h
        ptrs[2 * H + h] = (const char *)sc + (size_t)(h * nq * S) * sizeof(float); // GEMM 1 C: scores_h
        ptrs[3 * H + h] = (const char *)vc + (size_t)(g * S * D) * es;       // GEMM 2 A: V_g
        ptrs[4 * H + h] = (const char *)p + (size_t)(h * nq * S) * es;       // GEMM 2 B: P_h
        ptrs[5 * H + h] = os + (size_t)(h * D) * es;                         // GEMM 2 C: out rows of head h
    }
    FC_TRY(fc_cuda_upload(4, ptrs, (size_t)(6 * H) * sizeof *ptrs, &dptrs));
    void **dp = (void **)dptrs;
    cublasHandle_t hd = NULL;
    FC_TRY(fc_cuda_cublas(&hd));
    float zero = 0.0f, one = 1.0f;
    cudaDataType_t t = fc_cuda_type(adt);
    FC_CUBLAS_TRY(cublasGemmBatchedEx(hd, CUBLAS_OP_T, CUBLAS_OP_N, (int)S, (int)nq, (int)D, &scale,
                                      (const void *const *)dp, t, (int)D, (const void *const *)(dp + H), t,
                                      (int)(H * D), &zero, dp + 2 * H, CUDA_R_32F, (int)S, (int)H, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
    FC_CUDA_DISPATCH("paged_attention", adt, {
        causal_softmax_kernel<TA><<<dim3((unsigned)nq, (unsigned)H), 256>>>((TA *)p, (const float *)sc, nq, S);
    });
    FC_CUDA_LAUNCH_TRY();
    FC_CUBLAS_TRY(cublasGemmBatchedEx(hd, CUBLAS_OP_N, CUBLAS_OP_N, (int)D, (int)nq, (int)S, &one,
                                      (const void *const *)(dp + 3 * H), t, (int)D, (const void *const *)(dp + 4 * H), t,
                                      (int)S, &zero, dp + 5 * H, t, (int)(H * D), (int)H, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
    return FC_OK;
}
