/* score_basic.c: the scorers that need no queries: Knorm, StreamingLLM, Random, and ObservedAttention
 * (which reads the attention the prefill already computed). Semantics of kvpress 0.5.5
 * (kvpress/presses/{knorm,streaming_llm,random,observed_attention}_press.py). */
#include <math.h>

#include "core/compress/internal.h"

/* KnormPress: -||k||_2 per token, so the lowest-norm keys are kept. Accumulated in double (kvpress: f32). */
fc_err fc_score_knorm(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    (void)o;
    for (size_t r = 0; r < (size_t)in->Hkv * in->S; r++) {
        const float *k = in->k + r * in->D;
        double s = 0;
        for (int d = 0; d < in->D; d++) s += (double)k[d] * k[d];
        scores[r] = (float)-sqrt(s);
    }
    return FC_OK;
}

/* StreamingLLMPress keeps the n_sink first tokens and the most recent ones. kvpress scores 1 for kept and
 * 0 for the n_pruned tokens after the sinks; we score sinks 2*S and others their position, whose top-n_kept
 * is the same set when n_kept >= n_sink and, unlike 1/0 scores, also says which image tokens are most
 * recent under scope=image. */
fc_err fc_score_streaming(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    if (in->S <= o->n_sink)
        return fc_err_set(FC_EINVAL, "streaming_llm: layer %d: prefix of %d tokens is not longer than n_sink=%d "
                          "(kvpress asserts this too)", in->layer, in->S, o->n_sink);
    for (int h = 0; h < in->Hkv; h++)
        for (int j = 0; j < in->S; j++) scores[(size_t)h * in->S + j] = j < o->n_sink ? 2.0f * in->S : (float)j;
    return FC_OK;
}

/* splitmix64: a small, well-mixed generator; one stream per (seed, layer, kv head). */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* RandomPress: uniform scores. kvpress draws torch.rand from one generator seeded with `seed` on every call
 * (so every layer gets the same draws); we draw from our own generator, one stream per (seed, layer, head),
 * so the kept sets differ from torch's: tests check the invariants (count, order, spread) instead. */
fc_err fc_score_random(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    for (int h = 0; h < in->Hkv; h++) {
        uint64_t st = (uint64_t)o->seed * 0x100000001B3ull ^ ((uint64_t)in->layer << 32) ^ (uint64_t)h;
        splitmix64(&st);
        for (int j = 0; j < in->S; j++)
            scores[(size_t)h * in->S + j] = (float)(splitmix64(&st) >> 40) * (1.0f / 16777216.0f);
    }
    return FC_OK;
}

/* ObservedAttentionPress: the mean attention each key received during prefill, attn_sum[h, j] / (S - j)
 * (the number of queries that can see key j), averaged over the query heads of each kv group. */
fc_err fc_score_observed(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    (void)o;
    const int g = in->H / in->Hkv;
    for (int h = 0; h < in->Hkv; h++)
        for (int j = 0; j < in->S; j++) {
            float acc = 0;
            for (int q = 0; q < g; q++) acc += in->attn_sum[(size_t)(h * g + q) * in->S + j] / (float)(in->S - j);
            scores[(size_t)h * in->S + j] = acc / (float)g;
        }
    return FC_OK;
}
