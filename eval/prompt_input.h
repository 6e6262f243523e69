/* prompt_input.h: what `fc-eval logits` and `fc-eval generate` share to run one prompt or a file of them
 * (--prompts, core/io/prompts.h): the model loaded once (the VLM when a prompt has images, else the
 * decoder) and each prompt turned into decoder input. A prompt with images is asked through the model's
 * chat template with the image rows spliced in (as fc-eval run builds it); one without is encoded as
 * written, with the tokenizer's special tokens (Llama's BOS), as --text; ids are taken as they are. */
#ifndef FC_EVAL_PROMPT_INPUT_H
#define FC_EVAL_PROMPT_INPUT_H

#include <stdbool.h>

#include "core/io/prompts.h"
#include "core/model/llm.h"
#include "core/model/vlm.h"
#include "core/text/tokenizer.h"

typedef struct {
    fc_vlm *vlm;       /* loaded when a prompt has images; llm and tok are then the VLM's */
    fc_llm *llm;
    fc_tokenizer *tok; /* NULL when the folder has none and no prompt needs one */
} fc_eval_model;

/* Loads the folder: the VLM (tokenizer from tok_dir, NULL: dir) when vlm, else the decoder and, when the
 * folder (or tok_dir) has one, its tokenizer; need_tok makes a missing tokenizer an error. On failure *m is
 * empty. */
fc_err fc_eval_model_open(fc_eval_model *m, const char *dir, const char *tok_dir, bool vlm, bool need_tok);
void fc_eval_model_close(fc_eval_model *m);

typedef struct {
    const fc_prompt *p;
    const int32_t *ids; /* (n) the prompt's tokens (owned by this input, p or req) */
    int n;
    int32_t *own_ids;
    fc_vlm_request req; /* with images: the VLM's request (ids, image rows, spans); else empty */
    bool has_req;
} fc_eval_input;

/* Builds p's input on m. file: the prompts file, to prefix errors with "file:line: " (NULL: no prefix).
 * Errors: images on a folder opened without the VLM, images with ids, no tokenizer for text, a text that
 * encodes to nothing, and those of the image readers and the prompt builder. On failure *in is empty. */
fc_err fc_eval_input_build(const fc_eval_model *m, const fc_prompt *p, const char *file, fc_eval_input *in);
void fc_eval_input_free(fc_eval_input *in); /* accepts an empty one */
/* The decoder input on sequence seq (borrows in's arrays). */
fc_llm_seq_input fc_eval_input_seq(const fc_eval_input *in, fc_kv_handle seq);

/* The prompts a command runs: those of --prompts FILE (when prompts_file is set), else the one prompt of
 * the command line: text, or ids as --ids writes them ("1,2,3"; empty is an error), with its images. fn
 * gets them all at once (ctx passed through). */
typedef fc_err (*fc_eval_prompts_fn)(void *ctx, const fc_prompt *ps, int n);
fc_err fc_eval_prompts_run(const char *prompts_file, const char *text, const char *ids, const char *const *images,
                           int n_images, fc_eval_prompts_fn fn, void *ctx);

#endif
