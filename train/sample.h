/* sample.h: one training sample of fc-train, from a conversation record (data/dataset.h) to what a
 * distillation step takes (core/autograd/distill.h).
 *
 * Prompt: the model's request for the record's images and first question (core/model/vlm.h: the chat
 * template up to the assistant's turn, image rows at their real spans); the image spans become the
 * compressor's image segments.
 * Continuation, targets = answers: the rest of the conversation in the format each model was tuned on,
 *   LLaVA-1.5 (Vicuna v1):  A1 "</s>" "USER: " Q2 " ASSISTANT:" A2 "</s>" ...
 *   MiniCPM-V-2.6 (ChatML): A1 "<|im_end|>" "\n<|im_start|>user\n" Q2 "<|im_end|>\n<|im_start|>assistant\n" A2 ...
 * every answer with its end token is supervised; the user turns in between are plain new tokens (their
 * own image markers are dropped: every image sits in the first prompt, where both models' chat() put them).
 * Continuation, targets = teacher: the teacher's own sampled answer (core/model/generate.c), its end token
 * supervised too when it stopped on one (FastCache's self-distillation, spec §6.2).
 *
 * Ownership: a sample owns its request, spans and continuation; `id` is borrowed from the record. */
#ifndef FC_TRAIN_SAMPLE_H
#define FC_TRAIN_SAMPLE_H

#include <stdint.h>

#include "core/autograd/distill.h"
#include "core/kv/kv_pool.h"
#include "core/model/generate.h"
#include "core/model/vlm.h"
#include "data/dataset.h"

typedef struct {
    const char *id;
    fc_vlm_request req;
    fc_compress_span *spans;   /* (req.n_spans) */
    int32_t *cont;             /* (n_cont) */
    uint8_t *sup;              /* (n_cont) */
    int n_cont, n_sup;
} fc_train_sample;

/* Decodes the record's images and builds its prompt. `where` names the data file in messages
 * ("data.json: sample 'x': ..."). On failure *s is empty (fc_train_sample_free accepts it). */
fc_err fc_train_sample_prompt(fc_vlm *m, const fc_data_record *r, const char *where, fc_train_sample *s);

/* The continuation from the record's answers (and later turns), replacing any previous one. */
fc_err fc_train_sample_answers(const fc_vlm *m, const fc_data_record *r, const char *where, fc_train_sample *s);

/* The continuation from the teacher's generation under p (a pool with room for the prompt plus
 * p->max_new_tokens), replacing any previous one. */
fc_err fc_train_sample_teacher(fc_vlm *m, fc_kv_pool *kv, const fc_gen_params *p, const char *where,
                               fc_train_sample *s);

/* The distillation step's view of s (borrows its arrays). */
fc_distill_sample fc_train_sample_view(const fc_train_sample *s);

void fc_train_sample_free(fc_train_sample *s); /* accepts NULL and an empty one */

#endif
