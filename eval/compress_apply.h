/* compress_apply.h: what `fc-eval logits --method` and `fc-eval run --method` share: prefill a prompt's
 * first n tokens into a sequence (recording during the prefill what the method needs: last-window queries,
 * query statistics, attention sums), compress that KV with the method, and report sizes.
 *
 * The prompt is split at n (--compress-at): tokens [0, n) are prefilled and compressed, tokens [n, T) are
 * fed afterwards on the compressed cache, at the positions they would have had without compression (kvpress's
 * context / question split; n = T - 1 is FastCache's convention of caching the prompt without its last
 * token, which is then the first decode input).
 */
#ifndef FC_EVAL_COMPRESS_APPLY_H
#define FC_EVAL_COMPRESS_APPLY_H

#include "core/compress/compress_seq.h"
#include "core/model/llm.h"
#include "core/model/vlm.h"

/* Compress spans from a VLM request's image spans that end at or before n (all of them when the split
 * comes after the last image). spans must hold req->n_spans entries; returns the count written. */
int fc_eval_image_spans(const fc_vlm_request *req, int n, fc_compress_span *spans);

/* Prefills in->ids[0, n) (and in's embedding rows, which must lie inside [0, n)) into the live, empty
 * sequence in->seq, then compresses its KV with m (NULL: no compression; res then reports the
 * uncompressed sizes). logits: NULL, or the prefill's rows (n, V) for FC_LLM_ROWS_ALL, its last row (1, V)
 * for FC_LLM_ROWS_LAST; computed before compression, as in kvpress, where the press rewrites the cache
 * after each layer's attention. Errors: an embedding range
 * cut by n, and those of the capture, the forward and fc_compress_sequence. res may be NULL. */
fc_err fc_eval_prefill_compress(fc_llm *llm, fc_kv_pool *kv, const fc_llm_seq_input *in, int n,
                                const fc_compress_method *m, const fc_compress_span *spans, int n_spans,
                                fc_llm_rows rows, float *logits, fc_compress_seq_result *res);

/* One line for people: "compress <spec>: <before> -> <after> tokens per layer (<x>x achieved, kvpress
 * compression_ratio <cr>), KV <bytes> -> <bytes> bytes, <ms> ms"; <after> is "min..max" when layers differ. */
void fc_eval_print_compress(FILE *f, const fc_compress_method *m, const fc_compress_seq_result *r);

#endif
