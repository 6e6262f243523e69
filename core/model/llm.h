/* llm.h: the Llama / Qwen2 decoder over the paged KV pool: load from a Hugging Face folder, batched
 * prefill and batched decode in one forward call, logits and final hidden states out.
 *
 * Math as HF LlamaForCausalLM / Qwen2ForCausalLM (reference/model-architectures.md §1, §2.7, §3.7):
 * pre-norm layers of RMSNorm -> q/k/v (Qwen2: with bias) -> RoPE (rotate-half) -> causal GQA attention ->
 * o_proj, residual; RMSNorm -> SwiGLU MLP, residual; final norm; lm_head (or the embedding when tied).
 * Weights stay in the checkpoint's dtype (mmap'd, converted as used); activations are f32.
 *
 * One forward call takes any number of sequences, each appending n >= 1 tokens to its own cache: a prefill
 * is a sequence with its whole prompt, a decode step a sequence with one token, and both may be mixed.
 * Tokens are concatenated without padding; attention runs per sequence and per layer over that layer's own
 * blocks and length (layers of one sequence may hold different numbers of entries after PyramidKV; each
 * appends its new entries at its own length). A token's RoPE position is the sequence's next_pos
 * (kv_pool.h) plus its index in the call, so a compressed cache continues at the positions the
 * uncompressed one would have had. A sequence input may carry a capture (llm_capture.h) that records what
 * the query-aware compression methods need during this call.
 *
 * Ownership: fc_llm owns its weights' mapping (or borrows the caller's fc_st_model, see fc_llm_create),
 * and one activation buffer sized for the largest call seen, up to act_keep bytes (so a decode loop of a
 * fixed batch does not allocate after its first step, while a long prefill's buffer is released at the end
 * of its call instead of staying for the life of the process). act_limit caps what one call may use: a call
 * needing more fails with FC_ENOMEM and changes nothing (split a long prefill into chunks: consecutive
 * forward calls of one sequence continue its positions). fc_llm_act_bytes says what a call needs.
 *
 * Threads: one forward at a time per model, and the forward changes the kv pool (it reserves, commits and
 * rolls back blocks), so it runs on the pool's owner thread (kv_pool.h, THREADS); from another thread it
 * fails with FC_EINVAL before touching anything. Kernels inside a call use their own worker threads.
 */
#ifndef FC_MODEL_LLM_H
#define FC_MODEL_LLM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/kv/kv_pool.h"
#include "core/tensor/tensor.h"

typedef struct {
    fc_tensor attn_norm;              /* (C) */
    fc_tensor wq, wk, wv, wo;         /* (H*D, C), (Hkv*D, C), (Hkv*D, C), (C, H*D) */
    fc_tensor bq, bk, bv, bo;         /* (H*D), (Hkv*D), (Hkv*D), (C); data NULL when absent */
    fc_tensor mlp_norm;               /* (C) */
    fc_tensor w_gate, w_up, w_down;   /* (F, C), (F, C), (C, F) */
    fc_tensor b_gate, b_up, b_down;   /* mlp_bias only; data NULL when absent */
} fc_llm_layer;

typedef struct {
    fc_llm_config cfg;
    fc_st_model *owned_st;       /* the mapping, when this model opened it (fc_llm_load); else NULL */
    const fc_st_model *weights;  /* the mapping in use (owned_st, or the caller's) */
    const char *prefix;          /* "model.", "language_model.model.", ... */
    fc_tensor embed;             /* (V, C) */
    fc_tensor norm;              /* (C) */
    fc_tensor lm_head;           /* (V, C); the embedding's view when tied */
    bool tied;
    fc_llm_layer *layers;        /* [L] */
    void *act;                   /* activation buffer, act_cap bytes, 64-byte aligned */
    size_t act_cap;
    size_t act_keep;             /* a buffer above this is released after its call (FC_LLM_ACT_KEEP_DEFAULT) */
    size_t act_limit;            /* 0: none; else the most activation bytes one call may use */
    /* per-call scratch that grows with the number of inputs only: */
    fc_kv_layer_mark *marks;     /* [n_in * L] the pool's state before the call, for a rollback */
    int marks_cap;
    struct fc_llm_seq_input *sel; /* [n_in] the inputs that run */
    int *sel_idx;                /* [n_in] their index in the caller's list */
    int sel_cap;
} fc_llm;

/* Prefill records for the query-aware compression methods (llm_capture.h); NULL = off. */
typedef struct fc_llm_capture fc_llm_capture;

/* One sequence's share of a forward call. */
typedef struct fc_llm_seq_input {
    fc_kv_handle seq;       /* kv pool sequence; its cached entries are the past, the n tokens are appended */
    const int32_t *ids;     /* [n] token ids; ids of rows replaced by `embeds` are not looked up */
    int n;                  /* >= 1 */
    const float *embeds;    /* optional (n_embeds, C) f32 rows replacing the embeddings of tokens
                               [embeds_start, embeds_start + n_embeds), e.g. image features */
    int embeds_start, n_embeds;
    fc_llm_capture *capture; /* optional: records this call's queries / attention per layer (llm_capture.h) */
} fc_llm_seq_input;

typedef enum {
    FC_LLM_ROWS_LAST = 0, /* one output row per sequence: its last token */
    FC_LLM_ROWS_ALL       /* every token of every sequence, in input order */
} fc_llm_rows;

/* Activation buffers above this many bytes are released after their call (fc_llm.act_keep). */
#define FC_LLM_ACT_KEEP_DEFAULT ((size_t)256 << 20)

/* Loads the decoder of the Hugging Face folder `dir` (config.json / llm_config.json and safetensors,
 * single file or sharded; plain Llama/Qwen2, LLaVA or MiniCPM-V names). Errors name the file and the
 * tensor: missing tensors, shapes that disagree with the config ("shape [a,b], config says [c,d]"),
 * unsupported dtypes or activations. On failure *out is NULL. */
fc_err fc_llm_load(fc_llm **out, const char *dir);
/* The same from a parsed decoder config and a checkpoint the caller keeps open (the VLM loaders share one
 * mapping between the vision tower and the decoder); `st` must outlive the model. */
fc_err fc_llm_create(fc_llm **out, const fc_llm_config *cfg, const fc_st_model *st);
void fc_llm_free(fc_llm *m); /* accepts NULL */

/* Pool parameters that fit this model (f32 storage on the CPU). */
fc_kv_pool_params fc_llm_kv_params(const fc_llm *m, int block_size, int n_blocks, int max_seqs);

/* Runs the tokens of n_in sequences through the decoder, appending their K/V to the pool, and writes
 * logits (R, V) and/or final-normed hidden states (R, C) (either may be NULL), R = n_in for
 * FC_LLM_ROWS_LAST or the total token count for FC_LLM_ROWS_ALL, rows in input order.
 * All or nothing: any error (a sequence that is stale, swapped out or listed twice, n < 1, an id outside
 * the vocabulary, an embeds span outside [0, n), a full pool, the activation cap, a failure inside a layer)
 * leaves the pool exactly as it was, blocks the caller reserved ahead and shared blocks included. */
fc_err fc_llm_forward(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows,
                      float *logits, float *hidden);

/* The same for a scheduler's step: an input that cannot run is refused alone and the rest run as one
 * batch. status[i] (n_in, caller-owned) is FC_OK for an input that ran, FC_ENOMEM for one refused for lack
 * of blocks (the pool full after the inputs before it took theirs, so order inputs by priority), or
 * FC_EINVAL for a bad input (stale or swapped-out handle, listed twice, bad ids or embeds span, position
 * overflow); fc_errmsg() holds the last refusal's message. A refused input's sequence is left exactly as
 * it was and its output rows are set to NaN; rows keep the full call's layout. *n_run (may be NULL): how
 * many inputs ran. Returns FC_OK when the call ran, even with refusals (or with none run); an error of
 * the call itself (pool geometry or owner thread, n_in < 1, activation memory or cap, a failure inside a
 * layer) leaves the pool exactly as it was, sets every status to it, and is returned. */
fc_err fc_llm_forward_each(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows,
                           float *logits, float *hidden, fc_err *status, int *n_run);

/* Bytes of activations a forward of N tokens over n_in sequences producing R output rows needs (hidden:
 * whether the caller passes its own hidden buffer); compare with act_limit to size prefill chunks. */
size_t fc_llm_act_bytes(const fc_llm *m, int64_t N, int64_t R, bool caller_hidden, int n_in);
/* Caps one call's activation bytes (0: no cap) and sets the size above which the buffer is released after
 * its call (0: always released; SIZE_MAX: kept for the life of the model, the old behaviour). */
void fc_llm_set_act_limits(fc_llm *m, size_t limit, size_t keep);
/* Releases the activation buffer now (the next call allocates what it needs). */
void fc_llm_trim(fc_llm *m);

/* One decode step for B sequences: token tokens[b] appended to sequence seqs[b]; logits (B, V). */
fc_err fc_llm_decode(fc_llm *m, fc_kv_pool *kv, const fc_kv_handle *seqs, const int32_t *tokens, int B,
                     float *logits);

#endif
