/* cmd_bench_llm.c: `fc-eval bench-llm`: prefill and decode throughput of the decoder on random prompts,
 * the C side of bench/llm.sh (which runs transformers on the same folder and prints ratios). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/base/timer.h"
#include "core/model/generate.h"
#include "eval/commands.h"
#include "eval/llm_prompt.h"
#include "kernels/wpack.h"

static fc_err run(const char *model, int T, int B, int N, long seed) {
    fc_llm *m = NULL;
    fc_kv_pool *kv = NULL;
    int32_t *ids = NULL, *tok = NULL;
    float *logits = NULL;
    fc_kv_handle *seqs = NULL;
    fc_llm_seq_input *in = NULL;
    fc_err e;
    if ((e = fc_llm_load(&m, model))) goto done;
    int V = m->cfg.vocab_size;
    ids = fc_malloc((size_t)B * T * sizeof(int32_t), "bench");
    tok = fc_malloc((size_t)B * sizeof(int32_t), "bench");
    seqs = fc_malloc((size_t)B * sizeof *seqs, "bench");
    in = fc_malloc((size_t)B * sizeof *in, "bench");
    logits = fc_malloc((size_t)B * V * sizeof(float), "bench");
    if (!ids || !tok || !seqs || !in || !logits) {
        e = FC_ENOMEM;
        goto done;
    }
    fc_rng rng;
    fc_rng_seed(&rng, (uint64_t)seed, 0);
    for (long i = 0; i < (long)B * T; i++) ids[i] = (int32_t)(3 + fc_rng_next(&rng) % (uint64_t)(V - 3));
    if ((e = fc_eval_pool_for(m, B, T + N, &kv))) goto done;
    /* one untimed pass of the same shape first (a prefill and a decode step), then the sequences are
     * dropped: the weights' page faults, oneDNN's primitives and the scratch buffers are not timed */
    for (int pass = 0; pass < 2; pass++) {
        for (int b = 0; b < B; b++) {
            if ((e = fc_kv_seq_create(kv, &seqs[b]))) goto done;
            in[b] = (fc_llm_seq_input){.seq = seqs[b], .ids = ids + (size_t)b * T, .n = T};
        }
        if (pass == 1) break;
        if ((e = fc_llm_forward(m, kv, in, B, FC_LLM_ROWS_LAST, logits, NULL))) goto done;
        for (int b = 0; b < B; b++) tok[b] = 3;
        if (N && (e = fc_llm_decode(m, kv, seqs, tok, B, logits))) goto done;
        for (int b = 0; b < B; b++) fc_kv_seq_free(kv, seqs[b]);
    }
    double t0 = fc_time_now();
    if ((e = fc_llm_forward(m, kv, in, B, FC_LLM_ROWS_LAST, logits, NULL))) goto done;
    double t1 = fc_time_now();
    fc_gen_params greedy = {.temperature = 0, .top_p = 1};
    for (int s = 0; s < N; s++) {
        for (int b = 0; b < B; b++) tok[b] = fc_sample(logits + (size_t)b * V, V, &greedy, &rng, NULL);
        if ((e = fc_llm_decode(m, kv, seqs, tok, B, logits))) goto done;
    }
    double t2 = fc_time_now();
    fc_kv_stats st;
    fc_kv_pool_stats(kv, &st);
    /* sizes for bench/llm.sh's shares of the machine's limits: multiply-adds per token in the layers' linears
     * and in lm_head, and the bytes of weight read per decode step (packed bf16 = 2 bytes a weight) */
    const fc_llm_config *c = &m->cfg;
    int64_t QD = (int64_t)c->num_heads * c->head_dim, KD = (int64_t)c->num_kv_heads * c->head_dim;
    int64_t layer = (int64_t)c->hidden_size * (2 * QD + 2 * KD) + 3 * (int64_t)c->hidden_size * c->intermediate_size;
    int64_t head = (int64_t)c->vocab_size * c->hidden_size;
    int64_t wbytes = 0;
    for (int l = 0; l < c->num_layers; l++) {
        const fc_llm_layer *L = &m->layers[l];
        const fc_tensor *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++) wbytes += ws[i]->pack ? (int64_t)fc_wpack_bytes(ws[i]) : (int64_t)fc_tensor_nbytes(ws[i]);
    }
    wbytes += m->lm_head.pack ? (int64_t)fc_wpack_bytes(&m->lm_head) : (int64_t)fc_tensor_nbytes(&m->lm_head);
    printf("prefill_tok_s=%.2f decode_tok_s=%.2f prefill_s=%.4f decode_s=%.4f kv_bytes=%zu batch=%d prompt_len=%d "
           "steps=%d precision=%s linear_macs=%lld head_macs=%lld weight_bytes=%lld layers=%d attn_dim=%lld\n",
           (double)B * T / (t1 - t0), N ? (double)B * N / (t2 - t1) : 0.0, t1 - t0, t2 - t1, st.bytes_used, B, T, N,
           fc_precision_name(fc_precision_get()), (long long)(layer * c->num_layers), (long long)head,
           (long long)wbytes, c->num_layers, (long long)QD);
done:
    free(ids), free(tok), free(seqs), free(in), free(logits);
    fc_kv_pool_free(kv);
    fc_llm_free(m);
    return e;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder (Llama / Qwen2 decoder, LLaVA or MiniCPM-V)"},
    {"--prompt-len", "T", 1, "prompt tokens per sequence (default 128)"},
    {"--batch", "B", 1, "sequences prefilled and decoded together (default 1)"},
    {"--steps", "N", 1, "decode steps (default 16)"},
    {"--seed", "S", 1, "seed of the random prompts (default 0)"},
    {0}};

static int cmd_bench_llm(const fc_cli_args *a) {
    const char *model = fc_cli_value(a, "--model");
    if (!model) return fc_cli_error("bench-llm: --model DIR is required"), 2;
    long T = 128, B = 1, N = 16, seed = 0;
    fc_err e = FC_OK;
    if ((e = fc_cli_long(a, "--prompt-len", 1, 1 << 20, &T)) || (e = fc_cli_long(a, "--batch", 1, 4096, &B)) ||
        (e = fc_cli_long(a, "--steps", 0, 1 << 20, &N)) || (e = fc_cli_long(a, "--seed", 0, INT32_MAX, &seed)))
        return fc_cli_fail(e);
    e = run(model, (int)T, (int)B, (int)N, seed);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_bench_llm = {
    "bench-llm", cmd_bench_llm, "decoder prefill and decode tokens/s on random prompts (bench/llm.sh)",
    "--model DIR [--prompt-len T] [--batch B] [--steps N] [--seed S]",
    "Times one batched prefill of B random prompts of T tokens, then N decode steps of the B\n"
    "sequences, and prints one line:\n"
    "  prefill_tok_s=X decode_tok_s=Y prefill_s=.. decode_s=.. kv_bytes=.. batch=B prompt_len=T steps=N\n"
    "(decode_tok_s counts B tokens per step).",
    options, 0, NULL};
