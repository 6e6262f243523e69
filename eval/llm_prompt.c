/* llm_prompt.c: the KV pool of the decoder CLIs (see llm_prompt.h). */
#include "eval/llm_prompt.h"

#include <stdint.h>

fc_err fc_eval_pool_for(const fc_llm *m, int seqs, int tokens, fc_kv_pool **out) {
    int bs = 16;
    long blocks = (long)seqs * ((tokens + bs - 1) / bs);
    if (blocks > INT32_MAX / 2) return fc_err_set(FC_EINVAL, "%d sequences of %d tokens are too many", seqs, tokens);
    fc_kv_pool_params p = fc_llm_kv_params(m, bs, (int)(blocks > 0 ? blocks : 1), seqs);
    return fc_kv_pool_create(out, &p);
}
