/* vlm_input.h: what `fc-eval run` and `fc-eval logits --image` share: a VLM folder loaded and one request
 * (image files + question) built on it. */
#ifndef FC_EVAL_VLM_INPUT_H
#define FC_EVAL_VLM_INPUT_H

#include <stdio.h>

#include "core/model/vlm.h"

typedef struct {
    fc_vlm *vlm;
    fc_vlm_request req;
} fc_eval_vlm;

/* Loads the VLM in model_dir (tokenizer from tok_dir, NULL: model_dir), decodes the n_images image files
 * and builds the request asking `question` about them. Errors name the folder or the image file. On
 * failure *v is empty; release with fc_eval_vlm_close (accepts an empty one). */
fc_err fc_eval_vlm_open(fc_eval_vlm *v, const char *model_dir, const char *tok_dir, const char *const *images,
                        int n_images, const char *question);
void fc_eval_vlm_close(fc_eval_vlm *v);
/* The request asking `question` about the n_images image files, on a loaded VLM. Errors name the image
 * file. On failure *req is empty. */
fc_err fc_eval_vlm_request(fc_vlm *vlm, const char *const *images, int n_images, const char *question,
                           fc_vlm_request *req);

/* Prints the request's layout: token count, then one line per image piece with its span. */
void fc_eval_vlm_print_layout(const fc_eval_vlm *v, FILE *f);

#endif
