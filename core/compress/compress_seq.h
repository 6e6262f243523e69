/* compress_seq.h: applies a compression method to one sequence of the paged KV pool, layer by layer:
 * gather the layer's K, V as contiguous [Hkv, len, D] f32, compress, write the shorter result back, and
 * once every layer is done truncate the sequence so its surplus blocks return to the pool at once.
 *
 * One length per sequence: the pool keeps one block table for all layers, so every layer must come out
 * the same length. The per-head scorers and CCM do; PyramidKV gives each layer its own budget and is
 * refused here (FC_EUNSUPPORTED) rather than padded (DESIGN: no padding inside the cache).
 *
 * Positions: the sequence's next_pos is left as it was (new tokens continue from the original length),
 * except for a CCM checkpoint whose position_rule is "compressed" (trained with positions renumbered to
 * the compressed length, like FastCache's LLaVA weights): then next_pos = the compressed length.
 */
#ifndef FC_COMPRESS_SEQ_H
#define FC_COMPRESS_SEQ_H

#include "core/compress/compress.h"
#include "core/kv/kv_pool.h"

/* Fills what a method needs for one layer beyond K, V, sizes, layer and spans (which the glue sets):
 * q_window/n_window, qstats, inv_freq, rope_scaling, attn_sum, and H (query heads). Pointers must stay
 * valid until the next call. NULL when the method needs nothing more (knorm, streaming_llm, random, ccm). */
typedef fc_err (*fc_compress_extras_fn)(void *ctx, int layer, fc_compress_inputs *in);

typedef struct {
    int len_before, len_after;      /* entries per layer and head */
    int next_pos;                   /* RoPE position of the next token after compression */
    size_t bytes_before, bytes_after; /* KV bytes the sequence holds in the pool (whole blocks) */
    double ratio_achieved;          /* len_before / len_after */
    double seconds;                 /* wall time of the whole call */
} fc_compress_seq_result;

/* Compresses sequence `seq` (every layer) with `m`. n_q_heads: the model's query heads (H), used when
 * extras does not set it. On error the sequence keeps its length but layers before the failing one may
 * already be rewritten: the caller should free the sequence. res may be NULL. */
fc_err fc_compress_sequence(fc_kv_pool *pool, int seq, const fc_compress_method *m, int n_q_heads,
                            const fc_compress_span *spans, int n_spans, fc_compress_extras_fn extras, void *ctx,
                            fc_compress_seq_result *res);

#endif
