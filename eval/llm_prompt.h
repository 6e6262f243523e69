/* llm_prompt.h: a KV pool sized for the eval CLIs' prompts (the prompts themselves: prompt_input.h). */
#ifndef FC_EVAL_LLM_PROMPT_H
#define FC_EVAL_LLM_PROMPT_H

#include "core/model/llm.h"

/* A pool that holds `tokens` entries for each of `seqs` sequences (block size 16). */
fc_err fc_eval_pool_for(const fc_llm *m, int seqs, int tokens, fc_kv_pool **out);

#endif
