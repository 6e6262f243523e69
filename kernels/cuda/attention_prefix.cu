// attention_prefix.cu: attention of T new queries over [prefix; own keys] and its backward, f32, for the
// distillation step (kernels/cpu/attention_prefix.c is the CPU twin; layouts in kernels/cpu/cpu_backward.h):
// q (T, H, D); prefix kp, vp (Hkv, P, D) head-major; new kn, vn (T, Hkv, D); query t sees the P prefix
// entries and new keys 0..t, i.e. keys e in [0, P + t]; query head h reads kv head h / (H / Hkv).
//
// Forward: one block per (query, head), online softmax as attention.cu; lse (T, H) saved.
// Backward, with p = exp(s - lse) recomputed and Dt = dout . out per (query, head):
//   kernel 1, one block per (query, head), warps over keys:   dq = scale * sum_e p (dout.v_e - Dt) k_e;
//   kernel 2, one block per (key, kv head), warps over the (query, head) pairs that see the key:
//     dk_e = scale * sum p (dout.v_e - Dt) q,   dv_e = sum p dout.
// Each gradient is summed by one block in a fixed order: no atomics, the same bits run to run.
#include <math.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

#define AP_WARPS 4
#define AP_MAX_D 256
#define AP_J (AP_MAX_D / 32)

// Row of key e at kv head kh.
__device__ __forceinline__ const float *key_row(const float *kp, const float *kn, int64_t e, int64_t P, int64_t Hkv,
                                                int64_t kh, int64_t D) {
    return e < P ? kp + (kh * P + e) * D : kn + ((e - P) * Hkv + kh) * D;
}

__global__ void ap_fwd_kernel(float *out, float *lse, const float *q, const float *kp, const float *vp, int64_t P,
                              const float *kn, const float *vn, int64_t H, int64_t Hkv, int64_t D, float scale) {
    __shared__ float sq[AP_MAX_D];
    __shared__ float sacc[AP_WARPS][AP_MAX_D];
    __shared__ float sm[AP_WARPS], sl[AP_WARPS];
    int64_t t = blockIdx.x, h = blockIdx.y, kh = h / (H / Hkv);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) sq[d] = q[(t * H + h) * D + d];
    __syncthreads();
    float m = -INFINITY, l = 0.0f, acc[AP_J];
#pragma unroll
    for (int j = 0; j < AP_J; j++) acc[j] = 0.0f;
    for (int64_t e = warp; e <= P + t; e += AP_WARPS) {
        const float *kr = key_row(kp, kn, e, P, Hkv, kh, D), *vr = key_row(vp, vn, e, P, Hkv, kh, D);
        float dot = 0.0f;
        for (int64_t d = lane; d < D; d += 32) dot += sq[d] * kr[d];
        float s = warp_sum(dot) * scale;
        float mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
        l = l * corr + p;
#pragma unroll
        for (int j = 0; j < AP_J; j++) {
            int64_t d = lane + 32 * j;
            if (d < D) acc[j] = acc[j] * corr + p * vr[d];
        }
        m = mn;
    }
#pragma unroll
    for (int j = 0; j < AP_J; j++) {
        int64_t d = lane + 32 * j;
        if (d < D) sacc[warp][d] = acc[j];
    }
    if (lane == 0) sm[warp] = m, sl[warp] = l;
    __syncthreads();
    float mx = -INFINITY;
    for (int w = 0; w < AP_WARPS; w++) mx = fmaxf(mx, sm[w]);
    float sum = 0.0f, f[AP_WARPS];
    for (int w = 0; w < AP_WARPS; w++) {
        f[w] = sm[w] == -INFINITY ? 0.0f : expf(sm[w] - mx);
        sum += sl[w] * f[w];
    }
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.0f;
        for (int w = 0; w < AP_WARPS; w++) o += sacc[w][d] * f[w];
        out[(t * H + h) * D + d] = o / sum;
    }
    if (threadIdx.x == 0) lse[t * H + h] = mx + logf(sum);
}

// Kernel 1: Dt and dq for one (query, head).
__global__ void ap_bwd_q_kernel(float *dq, float *Dt_out, const float *dout, const float *out, const float *lse,
                                const float *q, const float *kp, const float *vp, int64_t P, const float *kn,
                                const float *vn, int64_t H, int64_t Hkv, int64_t D, float scale) {
    __shared__ float sq[AP_MAX_D], sdo[AP_MAX_D];
    __shared__ float sacc[AP_WARPS][AP_MAX_D];
    __shared__ float sh[32];
    int64_t t = blockIdx.x, h = blockIdx.y, kh = h / (H / Hkv), row = (t * H + h) * D;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float part = 0.0f;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        sq[d] = q[row + d];
        sdo[d] = dout[row + d];
        part += sdo[d] * out[row + d];
    }
    float Dt = block_sum(part, sh); // block_sum synchronises, so sq and sdo are complete
    if (threadIdx.x == 0) Dt_out[t * H + h] = Dt;
    float L = lse[t * H + h], acc[AP_J];
#pragma unroll
    for (int j = 0; j < AP_J; j++) acc[j] = 0.0f;
    for (int64_t e = warp; e <= P + t; e += AP_WARPS) {
        const float *kr = key_row(kp, kn, e, P, Hkv, kh, D), *vr = key_row(vp, vn, e, P, Hkv, kh, D);
        float dot = 0.0f, dpv = 0.0f;
        for (int64_t d = lane; d < D; d += 32) dot += sq[d] * kr[d], dpv += sdo[d] * vr[d];
        float p = expf(warp_sum(dot) * scale - L);
        float ds = p * (warp_sum(dpv) - Dt);
#pragma unroll
        for (int j = 0; j < AP_J; j++) {
            int64_t d = lane + 32 * j;
            if (d < D) acc[j] += ds * kr[d];
        }
    }
#pragma unroll
    for (int j = 0; j < AP_J; j++) {
        int64_t d = lane + 32 * j;
        if (d < D) sacc[warp][d] = acc[j];
    }
    __syncthreads();
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float s = 0.0f;
        for (int w = 0; w < AP_WARPS; w++) s += sacc[w][d];
        dq[row + d] = s * scale;
    }
}

// Kernel 2: dk, dv of key e at kv head kh, over every (query, head) pair that sees it.
__global__ void ap_bwd_kv_kernel(float *dkp, float *dvp, float *dkn, float *dvn, const float *Dt, const float *dout,
                                 const float *lse, const float *q, const float *kp, const float *vp, int64_t P,
                                 const float *kn, const float *vn, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                                 float scale) {
    __shared__ float sk[AP_MAX_D], sv[AP_MAX_D];
    __shared__ float sacck[AP_WARPS][AP_MAX_D], saccv[AP_WARPS][AP_MAX_D];
    int64_t e = blockIdx.x, kh = blockIdx.y, G = H / Hkv;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float *kr = key_row(kp, kn, e, P, Hkv, kh, D), *vr = key_row(vp, vn, e, P, Hkv, kh, D);
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) sk[d] = kr[d], sv[d] = vr[d];
    __syncthreads();
    int64_t t0 = e < P ? 0 : e - P, pairs = (T - t0) * G;
    float ak[AP_J], av[AP_J];
#pragma unroll
    for (int j = 0; j < AP_J; j++) ak[j] = av[j] = 0.0f;
    for (int64_t i = warp; i < pairs; i += AP_WARPS) {
        int64_t t = t0 + i / G, h = kh * G + i % G, row = (t * H + h) * D;
        float dot = 0.0f, dpv = 0.0f;
        for (int64_t d = lane; d < D; d += 32) dot += q[row + d] * sk[d], dpv += dout[row + d] * sv[d];
        float p = expf(warp_sum(dot) * scale - lse[t * H + h]);
        float ds = p * (warp_sum(dpv) - Dt[t * H + h]);
#pragma unroll
        for (int j = 0; j < AP_J; j++) {
            int64_t d = lane + 32 * j;
            if (d < D) ak[j] += ds * q[row + d], av[j] += p * dout[row + d];
        }
    }
#pragma unroll
    for (int j = 0; j < AP_J; j++) {
        int64_t d = lane + 32 * j;
        if (d < D) sacck[warp][d] = ak[j], saccv[warp][d] = av[j];
    }
    __syncthreads();
    float *dk = e < P ? dkp + (kh * P + e) * D : dkn + ((e - P) * Hkv + kh) * D;
    float *dv = e < P ? dvp + (kh * P + e) * D : dvn + ((e - P) * Hkv + kh) * D;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float sk_ = 0.0f, sv_ = 0.0f;
        for (int w = 0; w < AP_WARPS; w++) sk_ += sacck[w][d], sv_ += saccv[w][d];
        dk[d] = sk_ * scale;
        dv[d] = sv_;
    }
}

static fc_err ap_check(const char *op, int64_t T, int64_t P, int64_t H, int64_t Hkv, int64_t D) {
    if (D > AP_MAX_D)
        return fc_err_set(FC_EUNSUPPORTED, "%s: head dim %lld > %d is not supported on cuda", op, (long long)D, AP_MAX_D);
    if (T + P > INT32_MAX || H > 65535 || Hkv < 1 || H % Hkv)
        return fc_err_set(FC_EUNSUPPORTED, "%s: %lld keys x %lld heads (%lld kv) do not fit the cuda grid", op,
                          (long long)(T + P), (long long)H, (long long)Hkv);
    return FC_OK;
}

extern "C" fc_err fc_cuda_attention_prefix(float *out, float *lse, const float *q, const float *kp, const float *vp,
                                           int64_t P, const float *kn, const float *vn, int64_t T, int64_t H,
                                           int64_t Hkv, int64_t D, float scale) {
    if (T == 0 || H == 0) return FC_OK;
    FC_TRY(ap_check("attention_prefix", T, P, H, Hkv, D));
    ap_fwd_kernel<<<dim3((unsigned)T, (unsigned)H), 32 * AP_WARPS>>>(out, lse, q, kp, vp, P, kn, vn, H, Hkv, D, scale);
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}

extern "C" fc_err fc_cuda_attention_prefix_bwd(float *dq, float *dkp, float *dvp, float *dkn, float *dvn,
                                               const float *dout, const float *q, const float *kp, const float *vp,
                                               int64_t P, const float *kn, const float *vn, const float *out,
                                               const float *lse, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                                               float scale) {
    if (H == 0) return FC_OK;
    if (T == 0) { // no query sees the prefix: its gradient is zero
        if (P > 0) {
            FC_CUDA_TRY(cudaMemset(dkp, 0, (size_t)(Hkv * P * D) * sizeof(float)));
            FC_CUDA_TRY(cudaMemset(dvp, 0, (size_t)(Hkv * P * D) * sizeof(float)));
        }
        return FC_OK;
    }
    FC_TRY(ap_check("attention_prefix_bwd", T, P, H, Hkv, D));
    void *Dt;
    FC_TRY(fc_cuda_scratch(3, (size_t)(T * H) * sizeof(float), &Dt));
    ap_bwd_q_kernel<<<dim3((unsigned)T, (unsigned)H), 32 * AP_WARPS>>>(dq, (float *)Dt, dout, out, lse, q, kp, vp, P,
                                                                        kn, vn, H, Hkv, D, scale);
    FC_CUDA_LAUNCH_TRY();
    ap_bwd_kv_kernel<<<dim3((unsigned)(P + T), (unsigned)Hkv), 32 * AP_WARPS>>>(
        dkp, dvp, dkn, dvn, (const float *)Dt, dout, lse, q, kp, vp, P, kn, vn, T, H, Hkv, D, scale);
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
