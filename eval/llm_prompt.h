/* llm_prompt.h: what `fc-eval logits` and `fc-eval generate` share: the prompt as --ids or --text, and the
 * decoder with a pool sized for it. */
#ifndef FC_EVAL_LLM_PROMPT_H
#define FC_EVAL_LLM_PROMPT_H

#include <stdint.h>

#include "core/model/llm.h"
#include "core/text/tokenizer.h"

/* Token ids from "1,2,3" (commas or spaces) or from text encoded with the folder's tokenizer (special tokens
 * added as the tokenizer's post-processor does). *ids is malloc'd; *tok is the loaded tokenizer (NULL when
 * ids were given and the folder has none); both are the caller's to free. */
fc_err fc_eval_prompt(const char *model_dir, const char *ids_arg, const char *text, int32_t **ids, int *n,
                      fc_tokenizer **tok);

/* A pool that holds `tokens` entries for each of `seqs` sequences (block size 16). */
fc_err fc_eval_pool_for(const fc_llm *m, int seqs, int tokens, fc_kv_pool **out);

#endif
