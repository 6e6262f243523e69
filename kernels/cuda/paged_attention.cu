// paged_attention.cu: decoder attention over the paged KV pool (kernels/ops.h fc_op_paged_attention), for
// prefill chunks and decode steps alike, as the CPU twin (kernels/cpu/paged_attention.c): query i of a
// sequence with n_q new tokens and n_keys entries sees entries [0, n_keys - n_q + i]; entry e lives in row
// blocks[e / block_size] * block_size + e % block_size of the caches (n_blocks, block_size, Hkv, D).
// Sequences with FC_CUDA_PREFILL_MIN_Q or more new tokens go to paged_prefill.cu (cuBLAS); the rest:
// one block per (row of q, head), online softmax in f32 as attention.cu: each warp walks every
// FC_PA_WARPS-th visible entry, the lanes split the head dim; the warps' partials merge in shared memory.
// The sequences' tables (host memory) are packed into one array and uploaded to scratch slot 2 per call:
//   row_seq (T): the sequence owning each row of q, or -1 (that row is left untouched);
//   seq (n_seqs, 4): q_start, n_q, n_keys, offset of its block table in the packed array;
//   the block tables, one after another.
#include <math.h>
#include <stdlib.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

#define FC_PA_WARPS 4
#define FC_PA_MAX_D 256

template <typename T>
__global__ void paged_attention_kernel(T *out, const T *q, const T *k, const T *v, const int32_t *packed, int64_t T_,
                                       int64_t H, int64_t Hkv, int64_t D, int64_t bs, float scale) {
    __shared__ float sq[FC_PA_MAX_D];
    __shared__ float sacc[FC_PA_WARPS][FC_PA_MAX_D];
    __shared__ float sm[FC_PA_WARPS], sl[FC_PA_WARPS];
    int64_t t = blockIdx.x, h = blockIdx.y, kh = h / (H / Hkv);
    int si = packed[t];
    if (si < 0) return;
    const int32_t *sinfo = packed + T_ + 4 * (int64_t)si;
    int64_t i = t - sinfo[0], n_q = sinfo[1], n_keys = sinfo[2];
    const int32_t *blocks = packed + sinfo[3];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) sq[d] = to_f32(q[(t * H + h) * D + d]);
    __syncthreads();
    int64_t send = n_keys - n_q + i + 1;
    float m = -INFINITY, l = 0.0f, acc[FC_PA_MAX_D / 32];
#pragma unroll
    for (int j = 0; j < FC_PA_MAX_D / 32; j++) acc[j] = 0.0f;
    for (int64_t e = warp; e < send; e += FC_PA_WARPS) {
        int64_t row = (int64_t)blocks[e / bs] * bs + e % bs;
        const T *kr = k + (row * Hkv + kh) * D, *vr = v + (row * Hkv + kh) * D;
        float dot = 0.0f;
        for (int64_t d = lane; d < D; d += 32) dot += sq[d] * to_f32(kr[d]);
        float score = warp_sum(dot) * scale;
        float mn = fmaxf(m, score);
        float corr = expf(m - mn), p = expf(score - mn);
        l = l * corr + p;
#pragma unroll
        for (int j = 0; j < FC_PA_MAX_D / 32; j++) {
            int64_t d = lane + 32 * j;
            if (d < D) acc[j] = acc[j] * corr + p * to_f32(vr[d]);
        }
        m = mn;
    }
#pragma unroll
    for (int j = 0; j < FC_PA_MAX_D / 32; j++) {
        int64_t d = lane + 32 * j;
        if (d < D) sacc[warp][d] = acc[j];
    }
    if (lane == 0) sm[warp] = m, sl[warp] = l;
    __syncthreads();
    float mx = -INFINITY;
    for (int w = 0; w < FC_PA_WARPS; w++) mx = fmaxf(mx, sm[w]);
    float sum = 0.0f, f[FC_PA_WARPS];
    for (int w = 0; w < FC_PA_WARPS; w++) {
        f[w] = sm[w] == -INFINITY ? 0.0f : expf(sm[w] - mx);
        sum += sl[w] * f[w];
    }
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.0f;
        for (int w = 0; w < FC_PA_WARPS; w++) o += sacc[w][d] * f[w];
        out[(t * H + h) * D + d] = from_f32<T>(o / sum);
    }
}

// The host staging array for the packed tables, grow-only (CUDA ops are issued from one thread).
static int32_t *pack_buf;
static size_t pack_cap;

extern "C" fc_err fc_cuda_paged_attention(void *out, const void *q, const void *k, const void *v, fc_dtype adt,
                                          const fc_paged_seq *seqs, int n_seqs, int64_t T, int64_t H, int64_t Hkv,
                                          int64_t D, int64_t block_size, float scale) {
    if (T == 0 || H == 0 || n_seqs == 0) return FC_OK;
    if (D > FC_PA_MAX_D)
        return fc_err_set(FC_EUNSUPPORTED, "paged_attention: head dim %lld > %d is not supported on cuda", (long long)D,
                          FC_PA_MAX_D);
    if (T > INT32_MAX || H > 65535)
        return fc_err_set(FC_EUNSUPPORTED, "paged_attention: %lld rows x %lld heads exceed the cuda grid", (long long)T,
                          (long long)H);
    size_t n = (size_t)T + 4 * (size_t)n_seqs;
    for (int s = 0; s < n_seqs; s++) n += (size_t)((seqs[s].n_keys + block_size - 1) / block_size);
    if (n > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "paged_attention: block tables too large for cuda");
    if (pack_cap < n) {
        int32_t *p = (int32_t *)realloc(pack_buf, n * sizeof *p);
        if (!p) return fc_err_set(FC_ENOMEM, "paged_attention: out of memory for %zu table entries", n);
        pack_buf = p, pack_cap = n;
    }
    for (int64_t t = 0; t < T; t++) pack_buf[t] = -1;
    size_t off = (size_t)T + 4 * (size_t)n_seqs;
    for (int s = 0; s < n_seqs; s++) {
        const fc_paged_seq *sq = &seqs[s];
        int64_t nb = (sq->n_keys + block_size - 1) / block_size;
        int32_t *info = pack_buf + T + 4 * (int64_t)s;
        info[0] = sq->q_start, info[1] = sq->n_q, info[2] = sq->n_keys, info[3] = (int32_t)off;
        for (int64_t b = 0; b < nb; b++) pack_buf[off + b] = sq->blocks[b];
        off += (size_t)nb;
        if (sq->n_q < FC_CUDA_PREFILL_MIN_Q) // long prefills take the cuBLAS path below; their rows stay -1 here
            for (int i = 0; i < sq->n_q; i++) pack_buf[sq->q_start + i] = s;
    }
    void *dpack;
    FC_TRY(fc_cuda_upload(2, pack_buf, n * sizeof(int32_t), &dpack));
    dim3 grid((unsigned)T, (unsigned)H);
    FC_CUDA_DISPATCH("paged_attention", adt, {
        paged_attention_kernel<TA><<<grid, 32 * FC_PA_WARPS>>>((TA *)out, (const TA *)q, (const TA *)k, (const TA *)v,
                                                              (const int32_t *)dpack, T, H, Hkv, D, block_size, scale);
    });
    FC_CUDA_LAUNCH_TRY();
    for (int s = 0; s < n_seqs; s++)
        if (seqs[s].n_q >= FC_CUDA_PREFILL_MIN_Q)
            FC_TRY(fc_cuda_paged_prefill(out, q, k, v, adt, &seqs[s], H, Hkv, D, block_size, scale));
    return FC_OK;
}
