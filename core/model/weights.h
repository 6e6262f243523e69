/* weights.h: named, shape-checked views of checkpoint tensors, and the name spellings of the decoder.
 *
 * The same decoder is stored under different prefixes: plain Llama/Qwen2 ("model."), LLaVA as on the hub
 * ("language_model.model."), LLaVA re-saved by transformers >= 4.52 ("model.language_model."), MiniCPM-V
 * ("llm.model."); lm_head likewise ("lm_head", "language_model.lm_head", "llm.lm_head"). The vision code
 * resolves its own prefixes with the same calls.
 */
#ifndef FC_MODEL_WEIGHTS_H
#define FC_MODEL_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/io/safetensors.h"
#include "core/tensor/tensor.h"

/* The first of `prefixes` (NULL-terminated) for which "<prefix><probe>" exists, or NULL. */
const char *fc_weights_find_prefix(const fc_st_model *st, const char *const *prefixes, const char *probe);

/* The decoder's prefix ("model.", "language_model.model.", ...) found by its embed_tokens.weight;
 * FC_ENOTFOUND naming the folder and the spellings tried. */
fc_err fc_weights_llm_prefix(const fc_st_model *st, const char **prefix);
/* The lm_head weight's name if the checkpoint has one under a known spelling, else NULL. */
const char *fc_weights_lm_head_name(const fc_st_model *st);

/* A non-owning view of tensor `name` (f32/f16/bf16, in the checkpoint's dtype) whose shape must be
 * exactly shape[0..ndim). Errors: FC_ENOTFOUND "<file>: tensor 'x' is missing", FC_ESHAPE
 * "<file>: tensor 'x': shape [a,b], config says [c,d]", FC_EUNSUPPORTED for other dtypes.
 * With optional = true a missing tensor is not an error: *out is zeroed (data NULL). */
fc_err fc_weights_get(const fc_st_model *st, const char *name, int ndim, const int64_t *shape, bool optional,
                      fc_tensor *out);

#endif
