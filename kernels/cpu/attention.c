/* attention.c: dense softmax attention without a KV cache (vision towers, the resampler, tests of the
 * decoder), as HF's eager_attention_forward: scores = (q . k^T) * scale, masked, softmax in f32, times v.
 * GQA: query head h reads kv head h / (H / Hkv), as repeat_kv lays the heads out.
 *
 * Two paths with the same arithmetic per score (an f32 dot, then one multiply by scale):
 * - many queries (T * S >= FC_ATT_GEMM_MIN, the vision towers): heads spread over OpenMP threads; per
 *   head, scores = one single-threaded cblas_sgemm over strided views of q and k (alpha = scale, applied
 *   to the finished dot as torch's `* scaling`), the softmax row by row into the thread's scratch, then
 *   out = P . v as a second sgemm; masked entries are exact zeros in P, as exp(finfo.min - max) is in torch.
 *   With --precision bf16 the two products take bf16 inputs and f32 accumulation (attention_bf16.c): q, k,
 *   v and the probabilities are rounded to bf16; scale, masking and softmax are unchanged.
 * - few queries (decode-like): one (query, head) pair per OpenMP iteration, scores in per-thread scratch.
 * The softmax is torch's: max, exp(x - max), sum, times 1/sum.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu/attention_bf16.h"
#include "kernels/cpu/cpu.h"

#define FC_ATT_GEMM_MIN 4096

/* p (n) <- softmax(p) over its first `vis` entries, zeros after them. */
static void softmax_row(float *p, int64_t vis, int64_t n) {
    float mx = -INFINITY;
    for (int64_t s = 0; s < vis; s++) mx = p[s] > mx ? p[s] : mx;
    float sum = fc_cpu_exp_sub_sum(p, mx, vis);
    float inv = 1.0f / sum;
    for (int64_t s = 0; s < vis; s++) p[s] *= inv;
    for (int64_t s = vis; s < n; s++) p[s] = 0.0f;
}

/* One head in bf16 (attention_bf16.h): q_h (T, D) and k (S, D) -> scores, softmax, p (T, S) and v (S, D)
 * -> out_h; bf16 operands in this thread's slot 3. False if scratch memory runs out. */
static bool head_bf16(float *out, const float *q, const float *k, const float *v, float *p, int64_t T, int64_t S,
                      int64_t H, int64_t Hkv, int64_t D, int64_t h, int64_t kh, float scale, bool causal) {
    int64_t Dp = fc_cpu_bf16_even(D), Sp = fc_cpu_bf16_even(S);
    size_t nk = fc_cpu_bf16_packed_size(D, S), nv = fc_cpu_bf16_packed_size(S, D);
    size_t total = (size_t)(T * Dp) + nk + (size_t)(T * Sp) + nv;
    uint16_t *qa = (uint16_t *)fc_cpu_scratch(3, total / 2 + 1);
    if (!qa) return false;
    uint16_t *kb = qa + T * Dp, *pa = kb + nk, *vb = pa + T * Sp;
    fc_cpu_bf16_round_rows(qa, q + h * D, T, D, H * D);
    fc_cpu_bf16_pack_b(kb, k + kh * D, D, S, 1, Hkv * D); /* B (d, s) = k[s][kh][d] */
    fc_cpu_bf16_gemm_packed(p, S, qa, Dp, T, Dp, kb, Dp * 16, S, scale);
    for (int64_t t = 0; t < T; t++) fc_cpu_bf16_softmax_round(pa + t * Sp, p + t * S, causal ? t + (S - T) + 1 : S, S);
    fc_cpu_bf16_pack_b(vb, v + kh * D, S, D, Hkv * D, 1); /* B (s, d) = v[s][kh][d] */
    fc_cpu_bf16_gemm_packed(out + h * D, H * D, pa, Sp, T, Sp, vb, Sp * 16, D, 1.0f);
    return true;
}

static fc_err attention_gemm(float *out, const float *q, const float *k, const float *v, int64_t T, int64_t S,
                             int64_t H, int64_t Hkv, int64_t D, float scale, bool causal) {
    fc_cpu_blas_init();
    int64_t group = H / Hkv;
    int failed = 0;
    bool bf16 = fc_cpu_attention_bf16_on();
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t h = 0; h < H; h++) {
        float *p = fc_cpu_scratch(1, (size_t)(T * S));
        int64_t kh = h / group;
        if (!p || (bf16 && !head_bf16(out, q, k, v, p, T, S, H, Hkv, D, h, kh, scale, causal))) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        if (bf16) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)S, (int)D, scale, q + h * D, (int)(H * D),
                    k + kh * D, (int)(Hkv * D), 0.0f, p, (int)S);
        for (int64_t t = 0; t < T; t++) softmax_row(p + t * S, causal ? t + (S - T) + 1 : S, S);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)S, 1.0f, p, (int)S, v + kh * D,
                    (int)(Hkv * D), 0.0f, out + h * D, (int)(H * D));
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "attention: out of memory for %lld x %lld scores", (long long)T, (long long)S);
    return FC_OK;
}

static fc_err attention_rows(float *out, const float *q, const float *k, const float *v, int64_t T, int64_t S,
                             int64_t H, int64_t Hkv, int64_t D, float scale, bool causal) {
    int64_t group = H / Hkv;
    int failed = 0;
#pragma omp parallel
    {
        float *p = fc_cpu_scratch(1, (size_t)(S > 0 ? S : 1));
        if (!p) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 4) collapse(2)
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++) {
                if (!p) continue;
                float *o = out + (t * H + h) * D;
                const float *qr = q + (t * H + h) * D;
                int64_t kh = h / group;
                int64_t vis = causal ? t + (S - T) + 1 : S;
                for (int64_t s = 0; s < vis; s++) {
                    float d;
                    fc_cpu_dot_rows(&d, qr, D, 1, k + (s * Hkv + kh) * D, FC_DTYPE_F32, D);
                    p[s] = d * scale;
                }
                softmax_row(p, vis, vis);
                memset(o, 0, (size_t)D * sizeof(float));
                for (int64_t s = 0; s < vis; s++) fc_cpu_axpy(o, p[s], v + (s * Hkv + kh) * D, D);
            }
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "attention: out of memory for the scores of %lld keys", (long long)S);
    return FC_OK;
}

fc_err fc_cpu_attention(float *out, const float *q, const float *k, const float *v, int64_t T, int64_t S,
                        int64_t H, int64_t Hkv, int64_t D, float scale, bool causal) {
    if (T == 0 || H == 0) return FC_OK;
    if (T * S >= FC_ATT_GEMM_MIN) return attention_gemm(out, q, k, v, T, S, H, Hkv, D, scale, causal);
    return attention_rows(out, q, k, v, T, S, H, Hkv, D, scale, causal);
}
