/* compress_seq.h: applies a compression method to one sequence of the paged KV pool, layer by layer:
 * gather the layer's K, V as contiguous [Hkv, len, D] f32 and compress it into scratch; once every layer
 * succeeded, the shorter results replace the sequence's entries and each layer's surplus blocks return to
 * the pool at once.
 *
 * Per-layer lengths: every layer of a pool sequence has its own block table (kv_pool.h), so a method that
 * keeps a different count per layer (PyramidKV's pyramid budget) frees exactly the blocks of each layer,
 * with no padding (DESIGN §3). Within a layer every kv head keeps the same count (the pool stores a token's
 * heads together), as kvpress's per-head topk does.
 *
 * Positions: the sequence's next_pos is left as it was (new tokens continue from the original length),
 * except for a CCM checkpoint whose position_rule is "compressed" (trained with positions renumbered to
 * the compressed length, like FastCache's LLaVA weights): then next_pos = the compressed length.
 */
#ifndef FC_COMPRESS_SEQ_H
#define FC_COMPRESS_SEQ_H

#include "core/compress/compress.h"
#include "core/kv/kv_pool.h"

/* Fills what a method needs for one layer beyond K, V, sizes, layer and spans (which the glue sets); the
 * decoder's prefill capture provides one (fc_llm_capture_extras, core/model/llm_capture.h):
 * q_window/n_window, qstats, inv_freq, rope_scaling, attn_sum, and H (query heads). Pointers must stay
 * valid until the next call. NULL when the method needs nothing more (knorm, streaming_llm, random, ccm). */
typedef fc_err (*fc_compress_extras_fn)(void *ctx, int layer, fc_compress_inputs *in);

typedef struct {
    int len_before, len_after;      /* entries per head of the longest layer, before and after */
    int next_pos;                   /* RoPE position of the next token after compression */
    size_t bytes_before, bytes_after; /* KV bytes of the sequence's layer blocks (exact: blocks x block bytes;
                                         before: the blocks its entries need, after: what it still holds) */
    double ratio_achieved;          /* entries_before / entries_after (the "x" form, over all layers) */
    double seconds;                 /* wall time of the whole call */
    int64_t entries_before, entries_after; /* entries summed over layers (per head) */
    int len_min_after;              /* shortest layer after (== len_after unless the method varies by layer) */
} fc_compress_seq_result;

/* Compresses sequence `seq` (every layer, each at its own length) with `m`. n_q_heads: the model's query
 * heads (H), used when extras does not set it. res may be NULL.
 * All or nothing: every layer is compressed into scratch host memory first (peak: the compressed cache,
 * one full layer more while a layer is worked on), and only when all succeeded are the sequence's tables
 * replaced at once (fc_kv_seq_replace; shared prefix blocks are copied, never overwritten). On any error
 * (a method failing on layer 7, out of memory, a pool too full to copy shared blocks) the sequence is
 * exactly as it was: its request can go on uncompressed or be retried. Owner thread of the pool only
 * (kv_pool.h, THREADS). */
fc_err fc_compress_sequence(fc_kv_pool *pool, fc_kv_handle seq, const fc_compress_method *m, int n_q_heads,
                            const fc_compress_span *spans, int n_spans, fc_compress_extras_fn extras, void *ctx,
                            fc_compress_seq_result *res);

#endif
