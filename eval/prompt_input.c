/* prompt_input.c: prompts to decoder inputs for the eval CLIs (see prompt_input.h). */
#include "eval/prompt_input.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "eval/vlm_input.h"

fc_err fc_eval_model_open(fc_eval_model *m, const char *dir, const char *tok_dir, bool vlm, bool need_tok) {
    memset(m, 0, sizeof *m);
    fc_err e;
    if (vlm) {
        if ((e = fc_vlm_load(&m->vlm, dir, tok_dir))) return e;
        m->llm = m->vlm->llm, m->tok = m->vlm->tok;
        return FC_OK;
    }
    if ((e = fc_llm_load(&m->llm, dir))) return e;
    e = fc_tokenizer_load(&m->tok, tok_dir ? tok_dir : dir);
    if (e && need_tok) {
        fc_llm_free(m->llm), m->llm = NULL;
        return e;
    }
    if (e) m->tok = NULL, fc_err_clear(); /* ids only: the tokenizer just turns output back into text */
    return FC_OK;
}

void fc_eval_model_close(fc_eval_model *m) {
    if (m->vlm) {
        fc_vlm_free(m->vlm);
    } else {
        fc_llm_free(m->llm);
        fc_tokenizer_free(m->tok);
    }
    memset(m, 0, sizeof *m);
}

static fc_err build(const fc_eval_model *m, const fc_prompt *p, fc_eval_input *in) {
    if (p->n_images) {
        if (!m->vlm) return fc_err_set(FC_EINVAL, "images need a VLM folder opened for them");
        if (!p->text) return fc_err_set(FC_EINVAL, "images need text (the question), not ids");
        FC_TRY(fc_eval_vlm_request(m->vlm, (const char *const *)p->images, p->n_images, p->text, &in->req));
        in->has_req = true;
        in->ids = in->req.ids, in->n = in->req.n_ids;
        return FC_OK;
    }
    if (p->ids) {
        in->ids = p->ids, in->n = p->n_ids;
        return FC_OK;
    }
    if (!m->tok) return fc_err_set(FC_EINVAL, "text needs a tokenizer, and the model folder has none");
    FC_TRY(fc_tokenizer_encode(m->tok, p->text, strlen(p->text), true, &in->own_ids, &in->n));
    in->ids = in->own_ids;
    if (in->n == 0) return fc_err_set(FC_EINVAL, "the text encodes to no tokens");
    return FC_OK;
}

fc_err fc_eval_input_build(const fc_eval_model *m, const fc_prompt *p, const char *file, fc_eval_input *in) {
    memset(in, 0, sizeof *in);
    in->p = p;
    fc_err e = build(m, p, in);
    if (e) {
        fc_eval_input_free(in);
        if (file) fc_err_prefix(e, "%s:%d", file, p->line);
    }
    return e;
}

void fc_eval_input_free(fc_eval_input *in) {
    if (in->has_req) fc_vlm_request_free(&in->req);
    free(in->own_ids);
    memset(in, 0, sizeof *in);
}

fc_llm_seq_input fc_eval_input_seq(const fc_eval_input *in, fc_kv_handle seq) {
    if (in->has_req) return fc_vlm_seq_input(&in->req, seq);
    return (fc_llm_seq_input){.seq = seq, .ids = in->ids, .n = in->n};
}

fc_err fc_eval_prompts_run(const char *prompts_file, const char *text, const char *ids, const char *const *images,
                           int n_images, fc_eval_prompts_fn fn, void *ctx) {
    if (prompts_file) {
        fc_prompt_list l;
        FC_TRY(fc_prompts_load(&l, prompts_file));
        fc_err e = fn(ctx, l.items, l.n);
        fc_prompts_free(&l);
        return e;
    }
    fc_prompt p = {.id = (char *)"", .text = (char *)text, .images = (char **)images, .n_images = n_images};
    if (ids) {
        FC_TRY(fc_cli_parse_ids("--ids", ids, strlen(ids), &p.ids, &p.n_ids));
        if (p.n_ids == 0) {
            free(p.ids);
            return fc_err_set(FC_EINVAL, "--ids: no token ids in '%s'", ids);
        }
    }
    fc_err e = fn(ctx, &p, 1);
    free(p.ids);
    return e;
}
