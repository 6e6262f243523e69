/* distill.h: one distillation step of the CCM compressor against the frozen decoder (issue 12,
 * reference/fastcache-compressor-spec.md §6 as it should have been).
 *
 * A sample (fc_distill_sample) is a prompt (token ids, image rows at its real image spans: everything
 * before the first assistant answer) and a continuation (ids with a per-token "supervised" mask: every
 * assistant turn is a target; later user turns are plain, unsupervised new tokens).
 *
 * Layout of one step, with P = n_prompt and T = n_cont:
 *   prefix   = prompt[0 .. P-1)            its per-layer KV (post-RoPE K, as HF caches it) is what the CCM
 *                                          compresses; S = P - 1 entries, image spans must lie inside it
 *   inputs   = [prompt[P-1], cont[0 .. T-1)]  T tokens the decoder runs over [prefix KV; their own KV]
 *   targets  = cont[0 .. T)                input t predicts cont[t]; loss only where supervised[t]
 * The last prompt token is re-fed over the (compressed) prefix, as FastCache's LLaVA training and every
 * inference path here do (spec §4.1), so the first answer token is supervised too.
 *
 * Teacher (fc_distill_teacher_run): the frozen decoder prefills the prefix with the full cache (ids plus
 * the image rows, as core/model/vlm does), the per-layer prefix KV is kept, and the T inputs run teacher-
 * forced over the full prefix: logits at the supervised inputs (and, for the fastcache loss, the hidden
 * states of every layer there). Exact f32, no lossy caching; a caller may keep a teacher per sample.
 *
 * Student (fc_distill_step): per layer, the teacher's prefix K and V (constants) go through the CCM MLPs in
 * the segment layout of the checkpoint (fc_ccm_segments: spans / prefix / whole; image segments through
 * ik/iv, text through tk/tv; windows of cf tokens, raw remainders), then the T inputs run through the frozen
 * decoder over [compressed KV; their own KV], causal among themselves, with RoPE positions by the position
 * rule: "original" (default, DESIGN.md) input t at S + t; "compressed" at C + t (C = compressed length).
 * The loss over supervised inputs, then an explicit layer-by-layer backward (llm.c style) through lm_head,
 * the final norm, every layer's SwiGLU MLP, RMSNorms, residuals, o_proj, attention (into the compressed K/V),
 * q/k/v projections and RoPE, down to each layer's CCM, accumulating into ccm->grads. The frozen model gets
 * no gradient buffers; activations are kept only for the T inputs.
 *
 * Losses (per supervised input t; p = softmax(teacher / tau), q = softmax(student / tau)):
 *   kl         tau^2 * KL(p || q), averaged over supervised inputs (soft targets at tau, Hinton's scaling).
 *   fastcache  spec §6.3 exactly at tau = 1 (p, q at temperature tau otherwise; no tau^2):
 *              0.5 * (0.5 * CE(top-p(0.9) renormalised p, q) + 0.3 * JS(p, q) + 0.2 * L1(p, q)) + 0.5 * HS,
 *              HS = sum over l = 1..L of [MSE(h_s^l, h_t^l) + 1 - mean_t cos(softmax(h_s^l), softmax(h_t^l))] / 2
 *              (h^l = output of layer l for l < L, the final-normed output for l = L, as HF hidden_states
 *              [1..L]), eps 1e-8 as the original; means over supervised inputs (MSE also over channels).
 * Reported beside the loss, whatever the loss: the mean KL(p1 || q1) at tau = 1 and the top-1 agreement
 * (argmax teacher == argmax student) over supervised inputs.
 *
 * Buffers: fc_distill owns the activation, gradient and CCM scratch buffers and one KV pool; they grow to
 * the largest sample seen and are reused, so steps after the first do not allocate for samples no larger.
 * Not thread-safe (one step at a time per fc_distill; the kernels use OpenMP inside).
 */
#ifndef FC_AUTOGRAD_DISTILL_H
#define FC_AUTOGRAD_DISTILL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/autograd/ccm_train.h"
#include "core/base/err.h"
#include "core/compress/compress.h"
#include "core/model/llm.h"

typedef enum { FC_DISTILL_LOSS_KL = 0, FC_DISTILL_LOSS_FASTCACHE, FC_DISTILL_LOSS_COUNT } fc_distill_loss;
const char *fc_distill_loss_name(fc_distill_loss l); /* "kl", "fastcache" */
fc_err fc_distill_loss_from_name(const char *name, fc_distill_loss *out);

typedef struct {
    const int32_t *prompt_ids;      /* (n_prompt) the expanded prompt (image runs hold image token ids) */
    int n_prompt;                   /* >= 2 */
    const float *embeds;            /* optional (n_embeds, C) f32 rows replacing the embeddings of prompt
                                       tokens [embeds_start, embeds_start + n_embeds) (fc_vlm_request's) */
    int embeds_start, n_embeds;     /* must end before n_prompt - 1 (inside the prefix) */
    const fc_compress_span *spans;  /* (n_spans) image spans, sorted, disjoint, inside [0, n_prompt - 1) */
    int n_spans;
    const int32_t *cont_ids;        /* (n_cont) continuation: answers and later turns */
    const uint8_t *supervised;      /* (n_cont) 1: cont[t] is a target; at least one must be */
    int n_cont;                     /* >= 1 */
} fc_distill_sample;

/* What the teacher computes for one sample; owned by the caller (fc_distill_teacher_free), reusable:
 * fc_distill_teacher_run grows its arrays and overwrites them. */
typedef struct {
    int n_layers, Hkv, D, C, V;
    int S;                  /* prefix entries = n_prompt - 1 */
    int T;                  /* student inputs = n_cont */
    float *k, *v;           /* (n_layers, Hkv, S, D) prefix KV, K post-RoPE */
    int32_t *inputs;        /* (T) [prompt[P-1], cont[0..T-1)] */
    int32_t *targets;       /* (T) cont */
    int n_sup;              /* supervised inputs */
    int32_t *sup;           /* (n_sup) their indices in 0..T-1, ascending */
    float *logits;          /* (n_sup, V) teacher logits at the supervised inputs */
    float *hidden;          /* (n_layers, n_sup, C) HF hidden_states[1..L] there; only when asked for */
    bool has_hidden;
    fc_compress_span *spans;/* (n_spans) copied from the sample */
    int n_spans;
    size_t cap[8];          /* allocated element counts of the arrays above (internal) */
} fc_distill_teacher;

typedef struct {
    fc_distill_loss loss;   /* default kl */
    float tau;              /* temperature > 0, default 1 */
    bool dropout;           /* CCM dropout on (training) or off (validation, gradient probes) */
    int position_rule;      /* fc_ccm_pos_rule, or -1: the compressor's cfg.position_rule */
    float grad_scale;       /* the loss is multiplied by this for the backward (e.g. 1 / samples per step);
                               0 is taken as 1. Reported figures are unscaled. */
    bool backward;          /* false: forward and loss only (validation) */
} fc_distill_opts;

/* kl, tau 1, no dropout, the checkpoint's position rule, scale 1, backward on. */
fc_distill_opts fc_distill_default_opts(void);

typedef struct {
    double loss;            /* the chosen loss, mean over supervised inputs */
    double kl;              /* mean KL(teacher || student) at tau = 1 (nats per supervised token) */
    double top1;            /* fraction of supervised inputs where the argmaxes agree */
    double ce, js, l1, hs;  /* fastcache terms (0 for kl) */
    int n_sup;              /* supervised inputs (tokens the loss averages over) */
    int n_tokens;           /* student inputs T */
    int n_prefix;           /* S, entries before compression (per layer, per kv head) */
    int n_compressed;       /* C, entries after */
} fc_distill_stats;

typedef struct fc_distill fc_distill;

/* A distillation context for decoder `m` (borrowed; must outlive it): KV pool, buffers. max_tokens bounds
 * n_prompt + n_cont (0: the model's max_position_embeddings); larger samples are refused with FC_EINVAL. */
fc_err fc_distill_create(fc_llm *m, int max_tokens, fc_distill **out);
void fc_distill_free(fc_distill *d); /* accepts NULL */

/* Checks a sample against the model: lengths, ids in the vocabulary, spans and embedding rows inside the
 * prefix, at least one supervised token, total length within max_tokens. Errors say which field. */
fc_err fc_distill_check_sample(const fc_distill *d, const fc_distill_sample *s);

/* Runs the teacher on s into t (see above). with_hidden: also keep per-layer hidden states (needed by the
 * fastcache loss). */
fc_err fc_distill_teacher_run(fc_distill *d, const fc_distill_sample *s, bool with_hidden, fc_distill_teacher *t);
void fc_distill_teacher_free(fc_distill_teacher *t); /* frees the arrays, leaves t zeroed; accepts NULL */

/* One student step: compress t's prefix with c, run the T inputs, compute the loss, and (opts->backward)
 * accumulate d(loss * grad_scale)/d(params) into c->grads (not zeroed here: call fc_ccm_train_zero_grad
 * per optimizer step). With opts->dropout, masks come from c's RNG, which advances. st may be NULL.
 * Errors: a compressor whose shape does not fit the model (n_layers, head_dim), segment rule needing image
 * MLPs the compressor lacks, fastcache loss without teacher hidden states. */
fc_err fc_distill_step(fc_distill *d, fc_ccm_train *c, const fc_distill_teacher *t, const fc_distill_opts *opts,
                       fc_distill_stats *st);

#endif
