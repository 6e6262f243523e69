/* prefill_compress.h: the one path from a request's prompt to a compressed cache, shared by fc-eval
 * (run, logits, quality, load) and fc-train: prefill a prompt's first n tokens into a sequence of the paged
 * pool (recording during the prefill what the method needs: last-window queries, query statistics,
 * attention sums), compress that KV with the method, and report sizes.
 *
 * The prompt is split at n: tokens [0, n) are prefilled and compressed, tokens [n, T) are fed afterwards on
 * the compressed cache, at the positions they would have had without compression (kvpress's context /
 * question split). n = T - 1 is FastCache's serving convention ("hold the last token"): the prompt without
 * its last token is cached and compressed, and the last token is then the first decode input, so the first
 * answer token already reads the compressed cache.
 *
 * Image spans come from the request's real layout (fc_vlm_request.spans), never from a fixed offset
 * (DESIGN §3): ccm and scope=image compress exactly the image rows.
 */
#ifndef FC_SERVE_PREFILL_COMPRESS_H
#define FC_SERVE_PREFILL_COMPRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "core/compress/compress_notes.h"
#include "core/compress/compress_seq.h"
#include "core/model/llm.h"
#include "core/model/vlm.h"

/* Compress spans from a VLM request's image spans that end at or before n (all of them when the split
 * comes after the last image). spans must hold req->n_spans entries; returns the count written. */
int fc_serve_image_spans(const fc_vlm_request *req, int n, fc_compress_span *spans);

/* Prefills in->ids[0, n) (and in's embedding rows, which must lie inside [0, n)) into the live, empty
 * sequence in->seq, then compresses its KV with m (NULL: no compression; res then reports the
 * uncompressed sizes). logits: NULL, or the prefill's rows (n, V) for FC_LLM_ROWS_ALL, its last row (1, V)
 * for FC_LLM_ROWS_LAST; computed before compression, as in kvpress, where the press rewrites the cache
 * after each layer's attention. Errors: n outside [1, in->n], an embedding range cut by n, and those of the
 * capture, the forward and fc_compress_sequence (on error the caller should free the sequence). res may
 * be NULL. */
fc_err fc_serve_prefill_compress(fc_llm *llm, fc_kv_pool *kv, const fc_llm_seq_input *in, int n,
                                 const fc_compress_method *m, const fc_compress_span *spans, int n_spans,
                                 fc_llm_rows rows, float *logits, fc_compress_seq_result *res);

/* A whole VLM request into the live, empty sequence seq: with hold_last, its first T-1 tokens are prefilled
 * and compressed with m (NULL: kept whole) and token T-1 is decoded on the compressed cache; without, all T
 * tokens are prefilled and compressed. Either way `logits` (V) receives the next-token logits after the
 * whole prompt (hold_last: read from the compressed cache; otherwise from the prefill, before
 * compression) and the sequence then holds the (compressed) prompt, ready to decode. Errors: a prompt of
 * one token with hold_last, and those of fc_serve_prefill_compress and the decode (the caller frees the
 * sequence). res may be NULL; its sizes are those right after compression (hold_last: before the last
 * token is added). */
fc_err fc_serve_prompt_to_cache(fc_llm *llm, fc_kv_pool *kv, const fc_vlm_request *req, fc_kv_handle seq,
                                const fc_compress_method *m, bool hold_last, float *logits,
                                fc_compress_seq_result *res);

/* Where a sequence stands (each layer's length and the next position), to go back there after feeding
 * tokens that should not stay (teacher forcing before a greedy run on the same compressed cache). */
typedef struct {
    int *layer_len; /* (L) */
    int n_layers;
    int next_pos;
} fc_serve_mark;

/* Records seq's state into *mk (allocates layer_len; free with fc_serve_mark_free). */
fc_err fc_serve_mark_take(fc_serve_mark *mk, const fc_kv_pool *kv, fc_kv_handle seq);
/* Truncates every layer back to its marked length and restores next_pos; the blocks of the dropped
 * entries return to the pool. FC_EINVAL if a layer is now shorter than marked (not a rewind). */
fc_err fc_serve_mark_rewind(const fc_serve_mark *mk, fc_kv_pool *kv, fc_kv_handle seq);
void fc_serve_mark_free(fc_serve_mark *mk);

/* What m will keep of a request whose first n tokens are compressed (compress_notes.h): the candidates are
 * those n tokens, or the image tokens among them under scope=image. budgets: NULL or (n_layers). */
void fc_serve_method_note(const fc_compress_method *m, const fc_vlm_request *req, int n, int n_layers, int *budgets,
                          fc_compress_note *note);

/* One line for people: "compress <spec>: <before> -> <after> tokens per layer (<x>x achieved, kvpress
 * compression_ratio <cr>), KV <bytes> -> <bytes> bytes, <ms> ms"; <after> is "min..max" when layers differ. */
void fc_serve_print_compress(FILE *f, const fc_compress_method *m, const fc_compress_seq_result *r);

#endif
