/* generate.h: token generation on the decoder: greedy, or temperature / top-k / top-p sampling with a
 * seeded RNG per sequence; batched, each sequence stopping on its own (EOS or max new tokens) and giving
 * its KV blocks back at once.
 *
 * Sampling follows transformers' logits warpers in their order: temperature, then top-k (keeps every token
 * scoring at least the k-th largest, ties included), then top-p (keeps the most probable tokens until the
 * probability before the next one reaches p; at least one), then a draw from the softmax of what is kept.
 * The RNG is xoshiro256** seeded through splitmix64 with (seed, sequence index), so a request's output
 * depends only on its seed and position in the batch, not on the thread count or the other requests.
 */
#ifndef FC_MODEL_GENERATE_H
#define FC_MODEL_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model/llm.h"

typedef struct {
    uint64_t s[4];
} fc_rng;

void fc_rng_seed(fc_rng *r, uint64_t seed, uint64_t stream);
uint64_t fc_rng_next(fc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double fc_rng_uniform(fc_rng *r);

typedef struct {
    int max_new_tokens;       /* >= 1 */
    float temperature;        /* <= 0: greedy (argmax, lowest id on ties) */
    int top_k;                /* 0: off */
    float top_p;              /* >= 1: off; in (0, 1] */
    uint64_t seed;
    const int32_t *eos_ids;   /* generation stops after emitting one of these (not copied to out) */
    int n_eos;
    const uint64_t *streams;  /* (B) RNG stream of each request; NULL: its index in the batch. A file of
                                 prompts run in batches gives each stream 0, so that every prompt draws as
                                 it would alone */
} fc_gen_params;

/* The smallest positive temperature the CLIs accept: below it, logit / temperature overflows float for
 * logits of magnitude FLT_MAX * 1e-6 ~ 3e32 and less, so sampling would no longer follow the softmax. Real
 * models' logits are many orders smaller, so 1e-6 is already greedy in effect; use 0 for greedy. */
#define FC_SAMPLE_MIN_TEMPERATURE 1e-6

/* Scratch for fc_sample: 2 * V floats' worth, owned by the caller so a decode loop does not allocate. */
typedef struct {
    float *val;   /* (V) */
    int32_t *idx; /* (V) */
    int cap;
} fc_sampler;

fc_err fc_sampler_init(fc_sampler *s, int V);
void fc_sampler_free(fc_sampler *s);

/* Picks the next token from logits (V) under p (its sampling fields); s may be NULL when p is greedy
 * (temperature <= 0). Never fails for V >= 1 and a sampler of at least V, for any positive temperature:
 * when logit / temperature is infinite (a +inf logit, or a temperature so small that the quotient
 * overflows float) it draws from the limit distribution, the best raw logit among the best scaled ones
 * (ties uniformly), never reading outside its buffers (issue 10, defect 1). NaN logits are never picked
 * unless all are NaN (then token 0). */
int32_t fc_sample(const float *logits, int V, const fc_gen_params *p, fc_rng *rng, fc_sampler *s);

/* One request of a batch. */
typedef struct {
    const int32_t *prompt;    /* (n_prompt) */
    int n_prompt;
    const float *embeds;      /* optional rows replacing prompt embeddings, as fc_llm_seq_input */
    int embeds_start, n_embeds;
    int32_t *out;             /* caller buffer of max_new_tokens ids */
    int n_out;                /* set: tokens generated (EOS excluded) */
    bool hit_eos;             /* set: stopped on an EOS id */
} fc_gen_request;

/* Prefills all B prompts in one batched call, then decodes the unfinished ones together step by step.
 * Each request's sequence is created in kv and freed as soon as it finishes, so blocks return to the pool
 * mid-batch. On error every sequence this call created is freed. */
fc_err fc_generate(fc_llm *m, fc_kv_pool *kv, fc_gen_request *reqs, int B, const fc_gen_params *p);

#endif
