/* paged_prefill.c: paged attention for a long run of new tokens (prefill), on single-threaded sgemm.
 *
 * The row-dot kernel of paged_attention.c reads each cached row once per 4 queries and runs at a fraction
 * of the FMA peak; for a 600-token Llama-7B prefill it took ~7% of the whole prefill, about three times
 * what torch's eager attention (two batched matmuls) spends. Here each query head gathers its kv head's
 * K and V entries contiguously once (they are strided through the block table), then for each tile of up
 * to TQ queries: scores = q k^T * scale (sgemm), causal mask and softmax per row in f32 exactly as the
 * reference (max, exp(x - max), sum, times 1/sum), out = p v (sgemm). A tile computes scores only up to the
 * last key its last row sees; the masked tail of the earlier rows gets probability 0.
 * Not for small n_q (decode, short chunks): see FC_PAGED_PREFILL_MIN_Q.
 * With --precision bf16 both products take bf16 inputs and f32 accumulation (attention_bf16.c): the
 * gathered K and V are rounded and packed once per kv head, each tile's q rows and probabilities rounded;
 * the mask and the softmax are unchanged.
 */
#include "kernels/cpu/paged_prefill.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu/attention_bf16.h"
#include "kernels/cpu/cpu.h"

enum { TQ = 64 };

/* K and V entries [0, S) of kv head kh, contiguous (S, D) each. */
static void gather_head(float *kg, float *vg, const float *k, const float *v, const fc_paged_seq *s, int64_t kh,
                        int64_t Hkv, int64_t D, int64_t bs) {
    for (int64_t e = 0; e < s->n_keys; e++) {
        int64_t row = (int64_t)s->blocks[e / bs] * bs + e % bs;
        memcpy(kg + e * D, k + (row * Hkv + kh) * D, (size_t)D * sizeof(float));
        memcpy(vg + e * D, v + (row * Hkv + kh) * D, (size_t)D * sizeof(float));
    }
}

/* Softmax of row j of a tile in place: entries [0, send) visible, [send, smax) masked to 0. */
static void softmax_row(float *p, int64_t send, int64_t smax) {
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t e = 0; e < send; e++)
        if (p[e] > mx) mx = p[e];
    for (int64_t e = 0; e < send; e++) sum += (p[e] = expf(p[e] - mx));
    float inv = 1.0f / sum;
    for (int64_t e = 0; e < send; e++) p[e] *= inv;
    for (int64_t e = send; e < smax; e++) p[e] = 0.0f;
}

/* All query tiles of query head h, with its kv head's K/V already gathered in kg, vg. */
static void head_tiles(float *out, const float *q, const float *kg, const float *vg, const fc_paged_seq *s, int64_t h,
                       int64_t H, int64_t D, float scale, float *p /* (TQ, n_keys) */) {
    int64_t S = s->n_keys, nq = s->n_q, ld = H * D;
    for (int64_t i0 = 0; i0 < nq; i0 += TQ) {
        int64_t m = nq - i0 < TQ ? nq - i0 : TQ;
        int64_t past = S - nq + i0; /* row j of the tile sees entries [0, past + j + 1) */
        int64_t smax = past + m;
        const float *qt = q + ((s->q_start + i0) * H + h) * D;
        float *ot = out + ((s->q_start + i0) * H + h) * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)smax, (int)D, scale, qt, (int)ld, kg, (int)D,
                    0.0f, p, (int)smax);
        for (int64_t j = 0; j < m; j++) softmax_row(p + j * smax, past + j + 1, smax);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)D, (int)smax, 1.0f, p, (int)smax, vg, (int)D,
                    0.0f, ot, (int)ld);
    }
}

/* The same in bf16: kb, vb are the kv head's K (as B (d, s)) and V (as B (s, d)) packed by
 * fc_cpu_bf16_pack_b; ab: room for a tile's rounded rows, TQ * max(even(D), even(S)) values. */
static void head_tiles_bf16(float *out, const float *q, const uint16_t *kb, const uint16_t *vb, uint16_t *ab,
                            const fc_paged_seq *s, int64_t h, int64_t H, int64_t D, float scale, float *p) {
    int64_t S = s->n_keys, nq = s->n_q, ld = H * D, Dp = fc_cpu_bf16_even(D), Sp = fc_cpu_bf16_even(S);
    for (int64_t i0 = 0; i0 < nq; i0 += TQ) {
        int64_t m = nq - i0 < TQ ? nq - i0 : TQ;
        int64_t past = S - nq + i0;
        int64_t smax = past + m, smp = fc_cpu_bf16_even(smax);
        fc_cpu_bf16_round_rows(ab, q + ((s->q_start + i0) * H + h) * D, m, D, ld);
        fc_cpu_bf16_gemm_packed(p, smax, ab, Dp, m, Dp, kb, Dp * 16, smax, scale);
        /* keys [smax, smp) of the last pair meet a zero in the rounded probabilities */
        for (int64_t j = 0; j < m; j++) fc_cpu_bf16_softmax_round(ab + j * smp, p + j * smax, past + j + 1, smax);
        fc_cpu_bf16_gemm_packed(out + ((s->q_start + i0) * H + h) * D, ld, ab, smp, m, smp, vb, Sp * 16, D, 1.0f);
    }
}

fc_err fc_cpu_paged_prefill(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *s,
                            int64_t H, int64_t Hkv, int64_t D, int64_t block_size, float scale) {
    if (s->n_q == 0) return FC_OK;
    fc_cpu_blas_init();
    int64_t S = s->n_keys, group = H / Hkv;
    int failed = 0;
#pragma omp parallel
    {
        /* slot 0 is linear's weight-conversion buffer, idle while attention runs */
        float *kv = fc_cpu_scratch(0, (size_t)(2 * S * D)), *p = fc_cpu_scratch(1, (size_t)(TQ * S));
        int64_t have = -1; /* kv head now gathered in this thread's kv: heads of a group come in order */
        bool bf16 = fc_cpu_attention_bf16_on();
        size_t nk = fc_cpu_bf16_packed_size(D, S), nv = fc_cpu_bf16_packed_size(S, D);
        int64_t arow = fc_cpu_bf16_even(D) > fc_cpu_bf16_even(S) ? fc_cpu_bf16_even(D) : fc_cpu_bf16_even(S);
        uint16_t *kb = bf16 ? (uint16_t *)fc_cpu_scratch(3, (nk + nv + (size_t)(TQ * arow)) / 2 + 1) : NULL;
        if (!kv || !p || (bf16 && !kb)) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t h = 0; h < H; h++) {
            if (!kv || !p || (bf16 && !kb)) continue;
            if (h / group != have) {
                gather_head(kv, kv + S * D, k, v, s, have = h / group, Hkv, D, block_size);
                if (bf16) {
                    fc_cpu_bf16_pack_b(kb, kv, D, S, 1, D);              /* B (d, s) = K[s][d] */
                    fc_cpu_bf16_pack_b(kb + nk, kv + S * D, S, D, D, 1); /* B (s, d) = V[s][d] */
                }
            }
            if (bf16)
                head_tiles_bf16(out, q, kb, kb + nk, kb + nk + nv, s, h, H, D, scale, p);
            else
                head_tiles(out, q, kv, kv + S * D, s, h, H, D, scale, p);
        }
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "paged attention: out of memory for the K/V and scores of %lld keys", (long long)S);
    return FC_OK;
}
