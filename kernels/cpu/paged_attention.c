/* paged_attention.c: decoder attention over the paged KV pool, for prefill chunks and decode steps alike.
 *
 * As HF's eager attention: scores = (q . k^T) * scale, causal mask, softmax in f32 (max, exp(x - max),
 * sum, times 1/sum), weighted sum of v. Query i of a sequence with n_q new tokens and n_keys entries sees
 * entries [0, n_keys - n_q + i]: the new tokens are the last n_q entries, so the mask is by cache index,
 * which stays right after compression has removed entries in front of them.
 *
 * One work item is up to 4 rows scored together with fc_cpu_dot_rows, so each cached K and V row is read
 * once for all of them: with GQA the query heads that share a kv head (7 per kv head in Qwen2), with MHA
 * (Llama-7B) 4 consecutive queries of one head, each under its own causal limit. Items of all sequences are
 * spread over the OpenMP threads. Sequences with many new tokens take the sgemm path (paged_prefill.c).
 */
#include "kernels/cpu/paged_attention.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/paged_prefill.h"

enum { CHUNK = 4 };

/* Row of entry i of a sequence in a cache laid out (n_blocks, block_size, Hkv, D), at kv head kh. */
static inline const float *entry(const float *cache, const int32_t *blocks, int64_t i, int64_t bs, int64_t Hkv,
                                 int64_t D, int64_t kh) {
    int64_t row = (int64_t)blocks[i / bs] * bs + i % bs;
    return cache + (row * Hkv + kh) * D;
}

/* Up to CHUNK rows sharing kv head kh: row j is query i0 + j*di of head h0 + j*(ld == D) (consecutive
 * queries of one head when di is 1, consecutive heads of one query when di is 0); its q and out rows are at
 * q / out + j * ld. Each cached K and V row is read once for all of them. */
typedef struct {
    int64_t i0, di, h0, ld;
    int m;
} rows;

static void one_item(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *s,
                     const rows *r, int64_t kh, int64_t H, int64_t Hkv, int64_t D, int64_t bs, float scale,
                     float *p /* [CHUNK][n_keys] */) {
    int64_t S = s->n_keys, send[CHUNK], smax = 0;
    int m = r->m;
    for (int j = 0; j < m; j++) {
        send[j] = S - s->n_q + r->i0 + j * r->di + 1; /* entries [0, send) are visible to row j */
        if (send[j] > smax) smax = send[j];
    }
    int64_t t0 = s->q_start + r->i0;
    const float *qr = q + (t0 * H + r->h0) * D;
    float mx[CHUNK], sum[CHUNK], d[CHUNK];
    for (int j = 0; j < m; j++) mx[j] = -INFINITY, sum[j] = 0;
    for (int64_t e = 0; e < smax; e++) {
        fc_cpu_dot_rows(d, qr, r->ld, m, entry(k, s->blocks, e, bs, Hkv, D, kh), FC_DTYPE_F32, D);
        for (int j = 0; j < m; j++) {
            float x = e < send[j] ? d[j] * scale : -INFINITY;
            p[j * S + e] = x;
            if (x > mx[j]) mx[j] = x;
        }
    }
    for (int j = 0; j < m; j++) {
        float *pj = p + j * S;
        for (int64_t e = 0; e < smax; e++) {
            pj[e] = e < send[j] ? expf(pj[e] - mx[j]) : 0.0f;
            sum[j] += pj[e];
        }
        sum[j] = 1.0f / sum[j];
        memset(out + (t0 * H + r->h0) * D + j * r->ld, 0, (size_t)D * sizeof(float));
    }
    for (int64_t e = 0; e < smax; e++) {
        const float *vr = entry(v, s->blocks, e, bs, Hkv, D, kh);
        for (int j = 0; j < m; j++) {
            float w = p[j * S + e] * sum[j];
            float *oj = out + (t0 * H + r->h0) * D + j * r->ld;
#pragma omp simd
            for (int64_t c = 0; c < D; c++) oj[c] += w * vr[c];
        }
    }
}

fc_err fc_cpu_paged_attention(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *seqs,
                              int n_seqs, int64_t H, int64_t Hkv, int64_t D, int64_t block_size, float scale) {
    int64_t group = H / Hkv;
    bool mha = group == 1;
    int64_t chunks = mha ? 1 : (group + CHUNK - 1) / CHUNK;
    int64_t max_keys = 1;
    for (int si = 0; si < n_seqs; si++)
        if (seqs[si].n_keys > max_keys) max_keys = seqs[si].n_keys;
    /* sequences with many new tokens (prefill) go to the sgemm path of paged_prefill.c, the rest below */
    for (int si = 0; si < n_seqs; si++)
        if (seqs[si].n_q >= FC_PAGED_PREFILL_MIN_Q)
            FC_TRY(fc_cpu_paged_prefill(out, q, k, v, &seqs[si], H, Hkv, D, block_size, scale));
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
            /* MHA: rows are CHUNK consecutive queries of one head; GQA: the heads of one kv head, per query */
            int64_t qtiles = mha ? (s->n_q + CHUNK - 1) / CHUNK : s->n_q;
            int64_t items = s->n_q >= FC_PAGED_PREFILL_MIN_Q ? 0 : qtiles * Hkv * chunks;
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t it = 0; it < items; it++) {
                if (!p) continue;
                int64_t qt = it / (Hkv * chunks), kh = (it / chunks) % Hkv, c = it % chunks;
                rows r;
                if (mha) {
                    r = (rows){.i0 = qt * CHUNK, .di = 1, .h0 = kh, .ld = H * D};
                    r.m = (int)(s->n_q - r.i0 < CHUNK ? s->n_q - r.i0 : CHUNK);
                } else {
                    r = (rows){.i0 = qt, .di = 0, .h0 = kh * group + c * CHUNK, .ld = D};
                    r.m = (int)(group - c * CHUNK < CHUNK ? group - c * CHUNK : CHUNK);
                }
                one_item(out, q, k, v, s, &r, kh, H, Hkv, D, block_size, scale, p);
            }
        }
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "paged attention: out of memory for the scores of %lld keys", (long long)max_keys);
    return FC_OK;
}
