/* paged_attention.c: decoder attention over the paged KV pool, for prefill chunks and decode steps alike.
 *
 * As HF's eager attention: scores = (q . k^T) * scale, causal mask, softmax in f32 (max, exp(x - max),
 * sum, times 1/sum), weighted sum of v. Query i of a sequence with n_q new tokens and n_keys entries sees
 * entries [0, n_keys - n_q + i]: the new tokens are the last n_q entries, so the mask is by cache index,
 * which stays right after compression has removed entries in front of them.
 *
 * One work item is (query, kv head, group chunk): up to 4 query heads that share a kv head are scored
 * together with fc_cpu_dot_rows, so each cached K row is read once for all of them (GQA: 7 query heads per
 * kv head in Qwen2). Items of all sequences are spread over the OpenMP threads.
 */
#include "kernels/cpu/paged_attention.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu.h"

enum { CHUNK = 4 };

/* Row of entry i of a sequence in a cache laid out (n_blocks, block_size, Hkv, D), at kv head kh. */
static inline const float *entry(const float *cache, const int32_t *blocks, int64_t i, int64_t bs, int64_t Hkv,
                                 int64_t D, int64_t kh) {
    int64_t row = (int64_t)blocks[i / bs] * bs + i % bs;
    return cache + (row * Hkv + kh) * D;
}

static void one_item(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *s, int64_t i,
                     int64_t kh, int64_t h0, int m, int64_t H, int64_t Hkv, int64_t D, int64_t bs, float scale,
                     float *p /* [CHUNK][n_keys] */) {
    int64_t S = s->n_keys, send = S - s->n_q + i + 1; /* entries [0, send) are visible */
    int64_t t = s->q_start + i;
    const float *qr = q + (t * H + h0) * D;
    float mx[CHUNK], sum[CHUNK], d[CHUNK];
    for (int j = 0; j < m; j++) mx[j] = -INFINITY, sum[j] = 0;
    for (int64_t e = 0; e < send; e++) {
        fc_cpu_dot_rows(d, qr, D, m, entry(k, s->blocks, e, bs, Hkv, D, kh), FC_DTYPE_F32, D);
        for (int j = 0; j < m; j++) {
            float x = d[j] * scale;
            p[j * S + e] = x;
            if (x > mx[j]) mx[j] = x;
        }
    }
    for (int j = 0; j < m; j++) {
        float *pj = p + j * S;
        for (int64_t e = 0; e < send; e++) {
            pj[e] = expf(pj[e] - mx[j]);
            sum[j] += pj[e];
        }
    }
    float *o = out + (t * H + h0) * D;
    memset(o, 0, (size_t)(m * D) * sizeof(float));
    for (int j = 0; j < m; j++) sum[j] = 1.0f / sum[j];
    for (int64_t e = 0; e < send; e++) {
        const float *vr = entry(v, s->blocks, e, bs, Hkv, D, kh);
        for (int j = 0; j < m; j++) {
            float w = p[j * S + e] * sum[j];
            float *oj = o + j * D;
#pragma omp simd
            for (int64_t c = 0; c < D; c++) oj[c] += w * vr[c];
        }
    }
}

fc_err fc_cpu_paged_attention(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *seqs,
                              int n_seqs, int64_t H, int64_t Hkv, int64_t D, int64_t block_size, float scale) {
    int64_t group = H / Hkv, chunks = (group + CHUNK - 1) / CHUNK;
    int64_t max_keys = 1;
    for (int si = 0; si < n_seqs; si++)
        if (seqs[si].n_keys > max_keys) max_keys = seqs[si].n_keys;
    int failed = 0;
    /* small calls (tiny models, one decode token over a short cache) run on the calling thread: waking the
     * team costs more than the work */
    double work = 0;
    for (int si = 0; si < n_seqs; si++) work += (double)seqs[si].n_q * seqs[si].n_keys;
    work *= (double)H * D;
#pragma omp parallel if (work > 262144.0)
    {
        float *p = fc_cpu_scratch(1, (size_t)(CHUNK * max_keys));
        if (!p) {
#pragma omp atomic write
            failed = 1;
        }
        for (int si = 0; si < n_seqs; si++) {
            const fc_paged_seq *s = &seqs[si];
            int64_t items = (int64_t)s->n_q * Hkv * chunks;
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t it = 0; it < items; it++) {
                if (!p) continue;
                int64_t i = it / (Hkv * chunks), kh = (it / chunks) % Hkv, c = it % chunks;
                int64_t h0 = kh * group + c * CHUNK;
                int m = (int)(group - c * CHUNK < CHUNK ? group - c * CHUNK : CHUNK);
                one_item(out, q, k, v, s, i, kh, h0, m, H, Hkv, D, block_size, scale, p);
            }
        }
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "paged attention: out of memory for the scores of %lld keys", (long long)max_keys);
    return FC_OK;
}
