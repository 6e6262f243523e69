/* llm_capture.h: what the query-aware compression methods read from a prefill, recorded by the decoder
 * forward on request, and the fc_compress_extras_fn that hands it to fc_compress_sequence layer by layer.
 *
 * HOW TO COMPRESS A SEQUENCE WITH CAPTURES (for the compression glue, eval/cmd_run.c, cmd_logits.c):
 *
 *     fc_llm_capture *cap = NULL;
 *     FC_TRY(fc_llm_capture_create(&cap, llm, method));          // what/window/skip from the method
 *     fc_llm_seq_input in = fc_vlm_seq_input(&req, seq);         // or {.seq, .ids, .n} for text
 *     in.capture = cap;                                           // record during THIS forward call
 *     e = fc_llm_forward(llm, kv, &in, 1, FC_LLM_ROWS_LAST, logits, NULL);   // the whole prompt, one call
 *     e = fc_compress_sequence(kv, seq, method, llm->cfg.num_heads, spans, n_spans,
 *                              fc_llm_capture_extras, cap, &res);
 *     fc_llm_capture_free(cap);                                   // after compressing (extras point into it)
 *
 * fc_llm_capture_create returns a capture that records nothing (and costs nothing) for methods that need
 * none of FC_NEED_QWINDOW / FC_NEED_QSTATS / FC_NEED_ATTN_SUM, so the glue may always use it; passing
 * extras = NULL, ctx = NULL is equally fine for them. With capture NULL (the default of every
 * fc_llm_seq_input) the forward does no extra work beyond one pointer test per sequence and layer.
 *
 * What is recorded, per layer, over the tokens of the forward call (kvpress 0.5.5 semantics; kvpress sees
 * the whole prompt in one forward, so prefill it in one call: a later call with the same capture
 * overwrites the records, and a capture whose call did not start at an empty cache covers only its tokens
 * for q_window/qstats while attn_sum still spans all the layer's keys):
 *   q_window  [H, n_window, D]  post-RoPE queries of the last n_window = min(window, n) tokens
 *                               (SnapKVPress.compute_window_attention; TOVA uses window 1)
 *   qstats    mean [H, D], cov [H, D, D] of the PRE-RoPE queries q_proj(rmsnorm(x)) (+ bias) of tokens
 *             [skip, n), cov with divisor n - skip (ExpectedAttentionPress.get_query_statistics before its
 *             apply_avg_rope, which the method does itself from inv_freq); skip = the method's n_sink
 *   attn_sum  [H, S]  eager causal softmax(q k^T / sqrt(D)) of the call's queries summed over queries, S
 *             the layer's keys after the call (ObservedAttentionPress's attentions.sum(2); the method
 *             divides by the per-key query count and averages heads)
 *   inv_freq  [D/2]   HF rotary inv_freq of the default RoPE (rope_scaling 1)
 * Accumulation is in double, softmax in f32 as HF's eager attention; tests/unit/test_llm_capture.c checks
 * every record against transformers + kvpress within 1e-5.
 *
 * Memory: q_window, qstats and attn_sum (L x H x S floats) are kept until fc_llm_capture_free; while a
 * layer is recorded, attn_sum also needs the layer's keys (S x Hkv x D floats) and a score scratch capped
 * at scratch_bytes (chunks of queries), so a long prefill no longer needs n x S floats per layer.
 *
 * Ownership: the capture owns all its buffers; fc_llm_capture_extras hands out pointers into them, valid
 * until fc_llm_capture_free. Not thread-safe; one capture per sequence of a forward call.
 */
#ifndef FC_MODEL_LLM_CAPTURE_H
#define FC_MODEL_LLM_CAPTURE_H

#include <stdbool.h>

#include "core/compress/compress.h"
#include "core/kv/kv_pool.h"
#include "core/model/llm.h"

struct fc_llm_capture {
    unsigned what;         /* FC_NEED_QWINDOW | FC_NEED_QSTATS | FC_NEED_ATTN_SUM subset */
    int window, skip;      /* queries kept for q_window; leading tokens left out of qstats */
    int L, H, Hkv, D;
    bool done;             /* a forward call has recorded every layer */
    int n_window;          /* min(window, n) of the recorded call */
    int *n_keys;           /* [L] keys of each layer when it was recorded (attn_sum's S) */
    float *q_window;       /* [L, H, window, D] (rows past n_window unused) */
    float *mean, *cov;     /* [L, H, D], [L, H, D, D] */
    fc_compress_qstats *qstats; /* [L] views of mean / cov */
    float **attn_sum;      /* [L] -> [H, n_keys[l]] */
    int *attn_cap;         /* [L] floats allocated in attn_sum[l] */
    float *inv_freq;       /* [D/2] */
    size_t scratch_bytes;  /* cap on attn_sum's score scratch (queries x keys floats), default below */
};

/* attn_sum scores a chunk of queries at a time within this many bytes (at least one query row), instead
 * of all n x S at once (4 GiB for a 32k-token prefill); the sums are the same bit for bit. */
#define FC_LLM_CAPTURE_SCRATCH_DEFAULT ((size_t)64 << 20)

/* Creates a capture of what `method` needs (fc_compress_needs, _window, _qstats_skip) for model m. A
 * method needing none of the captured inputs gives a capture that records nothing. Errors: FC_ENOMEM
 * naming the bytes; FC_EINVAL for a window < 0. On failure *out is NULL. Free with fc_llm_capture_free. */
fc_err fc_llm_capture_create(fc_llm_capture **out, const fc_llm *m, const fc_compress_method *method);
/* The same with the inputs spelled out (what: FC_NEED_* bits; the others are ignored). */
fc_err fc_llm_capture_create_ext(fc_llm_capture **out, const fc_llm *m, unsigned what, int window, int skip);
void fc_llm_capture_free(fc_llm_capture *c); /* accepts NULL */

/* fc_compress_extras_fn (compress_seq.h) over a capture (ctx): sets in->H, q_window/n_window, qstats,
 * inv_freq, rope_scaling and attn_sum of `layer` for what the capture recorded. Fails (FC_EINVAL) when
 * nothing was captured yet, or when the layer's length in `in->S` is not the one attn_sum was recorded
 * over (the cache changed since the prefill). ctx NULL: sets nothing. */
fc_err fc_llm_capture_extras(void *ctx, int layer, fc_compress_inputs *in);

/* Hooks of the decoder forward (llm.c), one call each per layer and captured sequence:
 * pre_rope: q (n, H, D) the call's pre-RoPE query rows of this sequence -> qstats;
 * post_rope: q (n, H, D) the same rows after RoPE -> q_window, and attn_sum over the layer's keys, read
 * from the pool (f32, already holding the call's new entries). Errors: FC_EINVAL (n <= skip for qstats),
 * FC_ENOMEM. */
fc_err fc_llm_capture_pre_rope(fc_llm_capture *c, int layer, const float *q, int n);
fc_err fc_llm_capture_post_rope(fc_llm_capture *c, int layer, const float *q, int n, const fc_kv_pool *kv,
                                fc_kv_handle seq);

#endif
