/* llm_resident.h: the decoder of an fc_llm copied whole onto one device, weights and KV cache resident
 * there, and its forward as a chain of kernels/ops.h calls on that device (issue 14: the model-resident
 * path). On CUDA every op runs in the backend library and only token ids, positions, block tables and the
 * output rows cross the bus; on the CPU the same code runs with the CPU ops (how it is tested where no GPU
 * is, against the same transformers fixtures as llm.c).
 *
 * Precision: `adt` is the dtype of the activations and of the cache. F32 widens every weight to f32 on the
 * device, so the result is the f32 reference's up to summation order (the tests hold it to llm.c's
 * tolerance); BF16 / F16 (CUDA only) keep weights and activations in that half type, f32 accumulation.
 *
 * The cache is the simplest paged one: max_seqs slots of max_len entries, slot s owning a fixed run of
 * blocks; no sharing, compression or swapping (core/kv/kv_pool.h does those on the CPU). fc_llm.h's
 * fc_llm_forward remains the serving path; this one is for running a model on a GPU at all.
 *
 * Ownership: the resident copy owns its device memory; the fc_llm it was made from may be freed after. */
#ifndef FC_MODEL_LLM_RESIDENT_H
#define FC_MODEL_LLM_RESIDENT_H

#include <stdint.h>

#include "core/base/err.h"
#include "core/model/llm.h"
#include "core/tensor/tensor.h"

typedef struct fc_llm_resident fc_llm_resident;

/* A copy of m on `device` with activations and cache in adt (CPU: f32 only), room for max_seqs sequences
 * of max_len entries each and calls of up to max_tokens tokens in all. On failure *out is NULL. */
fc_err fc_llm_resident_create(fc_llm_resident **out, const fc_llm *m, fc_device device, fc_dtype adt, int max_seqs,
                              int max_len, int max_tokens);
void fc_llm_resident_free(fc_llm_resident *r); /* accepts NULL */

/* Empties sequence slot s (its length back to 0). */
void fc_llm_resident_reset(fc_llm_resident *r, int s);
/* Entries cached for slot s. */
int fc_llm_resident_len(const fc_llm_resident *r, int s);

/* One forward: for i < n_in, n[i] tokens ids[i] appended to slot slots[i] (each slot at most once).
 * logits: host f32 (R, V) with R the total tokens (all_rows) or n_in (each input's last token). Positions
 * continue each slot's length. A call that does not fit (a slot past max_len, more than max_tokens tokens,
 * an id outside the vocabulary) fails before any work and changes nothing. */
fc_err fc_llm_resident_forward(fc_llm_resident *r, const int *slots, const int32_t *const *ids, const int *n, int n_in,
                               bool all_rows, float *logits);

#endif
