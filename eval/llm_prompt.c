/* llm_prompt.c: prompt ids for the decoder CLIs (see llm_prompt.h). */
#include "eval/llm_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"

static fc_err parse_ids(const char *s, int32_t **ids, int *n) {
    FC_TRY(fc_cli_parse_ids("--ids", s, strlen(s), ids, n));
    if (*n == 0) {
        free(*ids);
        *ids = NULL;
        return fc_err_set(FC_EINVAL, "--ids: no token ids in '%s'", s);
    }
    return FC_OK;
}

fc_err fc_eval_prompt(const char *model_dir, const char *ids_arg, const char *text, int32_t **ids, int *n,
                      fc_tokenizer **tok) {
    *ids = NULL, *n = 0, *tok = NULL;
    if (ids_arg) {
        FC_TRY(parse_ids(ids_arg, ids, n));
        /* a tokenizer is optional with --ids: it only turns the output back into text */
        if (fc_tokenizer_load(tok, model_dir) != FC_OK) *tok = NULL;
        fc_err_clear();
        return FC_OK;
    }
    FC_TRY(fc_tokenizer_load(tok, model_dir));
    fc_err e = fc_tokenizer_encode(*tok, text, strlen(text), true, ids, n);
    if (!e && *n == 0) e = fc_err_set(FC_EINVAL, "--text: the text encodes to no tokens");
    if (e) {
        free(*ids), *ids = NULL;
        fc_tokenizer_free(*tok), *tok = NULL;
    }
    return e;
}

fc_err fc_eval_pool_for(const fc_llm *m, int seqs, int tokens, fc_kv_pool **out) {
    int bs = 16;
    long blocks = (long)seqs * ((tokens + bs - 1) / bs);
    if (blocks > INT32_MAX / 2) return fc_err_set(FC_EINVAL, "%d sequences of %d tokens are too many", seqs, tokens);
    fc_kv_pool_params p = fc_llm_kv_params(m, bs, (int)(blocks > 0 ? blocks : 1), seqs);
    return fc_kv_pool_create(out, &p);
}
