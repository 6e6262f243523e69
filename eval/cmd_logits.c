/* cmd_logits.c: `fc-eval logits`: the decoder's logits at every prompt position and over N greedy decode
 * steps, written as safetensors for comparison with a reference (transformers) run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/io/safetensors.h"
#include "eval/commands.h"
#include "eval/llm_prompt.h"
#include "eval/vlm_input.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fc-eval logits --model DIR (--ids 1,2,3 | --text STR [--image FILE]) [--steps N]\n"
               "                     --out FILE.safetensors\n"
               "Runs the prompt through the decoder (one prefill), then N greedy decode steps, and writes\n"
               "  logits  f32 [T+N, V]  row i: the prediction after token i (T prompt rows, then N steps)\n"
               "  tokens  i32 [T+N]     the prompt, then the N greedy tokens fed back\n"
               "with the model folder, prompt length, steps and tokens in the metadata.\n"
               "  --model DIR   Hugging Face folder (Llama / Qwen2 decoder, LLaVA or MiniCPM-V)\n"
               "  --ids LIST    prompt token ids, comma-separated\n"
               "  --text STR    prompt text, encoded with the folder's tokenizer (BOS added for Llama)\n"
               "  --image FILE  VLM folder only: --text is the question about FILE; the prompt is the chat\n"
               "                template with the image expanded and its rows spliced in (as fc-eval run)\n"
               "  --steps N     greedy decode steps after the prompt (default 0)\n"
               "  --out FILE    output .safetensors (written to a temporary name, then renamed)\n");
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static fc_err run(const char *model, const char *ids_arg, const char *text, const char *image, int steps,
                  const char *out) {
    int32_t *prompt = NULL, *tokens = NULL;
    int T = 0;
    fc_tokenizer *tok = NULL;
    fc_llm *m = NULL;
    fc_kv_pool *kv = NULL;
    float *logits = NULL;
    fc_st_writer *w = NULL;
    char *tok_str = NULL;
    fc_eval_vlm vlm = {0};
    fc_err e;
    if (image) { /* the VLM's request; its decoder and ids are borrowed, released with it */
        if ((e = fc_eval_vlm_open(&vlm, model, NULL, &image, 1, text))) goto done;
        m = vlm.vlm->llm, T = vlm.req.n_ids;
        if (!(prompt = fc_malloc((size_t)T * sizeof(int32_t), "logits prompt"))) {
            e = FC_ENOMEM;
            goto done;
        }
        memcpy(prompt, vlm.req.ids, (size_t)T * sizeof(int32_t));
    } else {
        if ((e = fc_eval_prompt(model, ids_arg, text, &prompt, &T, &tok))) goto done;
        if ((e = fc_llm_load(&m, model))) goto done;
    }
    int V = m->cfg.vocab_size, R = T + steps, seq;
    size_t n_logits;
    if (!fc_mul_size((size_t)R, (size_t)V * sizeof(float), &n_logits)) {
        e = fc_err_set(FC_EINVAL, "--steps %d: logits too large", steps);
        goto done;
    }
    logits = fc_malloc(n_logits, "logits");
    tokens = fc_malloc((size_t)R * sizeof(int32_t), "logits tokens");
    if (!logits || !tokens) {
        e = FC_ENOMEM;
        goto done;
    }
    memcpy(tokens, prompt, (size_t)T * sizeof(int32_t));
    if ((e = fc_eval_pool_for(m, 1, R, &kv)) || (e = fc_kv_seq_create(kv, &seq))) goto done;
    fc_llm_seq_input in = image ? fc_vlm_seq_input(&vlm.req, seq) : (fc_llm_seq_input){.seq = seq, .ids = prompt, .n = T};
    if ((e = fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_ALL, logits, NULL))) goto done;
    for (int s = 0; s < steps; s++) {
        tokens[T + s] = argmax(logits + (size_t)(T - 1 + s) * V, V);
        if ((e = fc_llm_decode(m, kv, &seq, &tokens[T + s], 1, logits + (size_t)(T + s) * V))) goto done;
    }
    /* metadata: tokens as a comma list, like --ids takes them */
    size_t cap = (size_t)R * 12 + 1, used = 0;
    if (!(tok_str = fc_malloc(cap, "logits metadata"))) {
        e = FC_ENOMEM;
        goto done;
    }
    tok_str[0] = 0;
    for (int i = 0; i < R; i++) used += (size_t)snprintf(tok_str + used, cap - used, i ? ",%d" : "%d", (int)tokens[i]);
    char num[32];
    int64_t ls[2] = {R, V}, ts[1] = {R};
    if ((e = fc_st_writer_create(&w)) || (e = fc_st_writer_add(w, "logits", FC_DTYPE_F32, 2, ls, logits)) ||
        (e = fc_st_writer_add(w, "tokens", FC_DTYPE_I32, 1, ts, tokens)) || (e = fc_st_writer_meta(w, "model", model)) ||
        (e = fc_st_writer_meta(w, "arch", fc_arch_name(m->cfg.arch))) || (e = fc_st_writer_meta(w, "tokens", tok_str)))
        goto done;
    snprintf(num, sizeof num, "%d", T);
    if ((e = fc_st_writer_meta(w, "prompt_tokens", num))) goto done;
    snprintf(num, sizeof num, "%d", steps);
    if ((e = fc_st_writer_meta(w, "steps", num))) goto done;
    if (image && (e = fc_st_writer_meta(w, "image", image))) goto done;
    if ((e = fc_st_writer_meta(w, "decoding", "greedy; logits in f32 from the CPU reference path"))) goto done;
    e = fc_st_writer_write(w, out);
done:
    fc_st_writer_free(w);
    free(tok_str), free(logits), free(tokens), free(prompt);
    fc_kv_pool_free(kv);
    if (!image) fc_llm_free(m);
    fc_eval_vlm_close(&vlm);
    fc_tokenizer_free(tok);
    return e;
}

int fc_cmd_logits(int argc, char **argv) {
    const char *model = NULL, *ids = NULL, *text = NULL, *steps_s = NULL, *out = NULL, *image = NULL;
    bool missing = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--model", &model, &missing) || fc_cli_opt(argc, argv, &i, "--ids", &ids, &missing) ||
            fc_cli_opt(argc, argv, &i, "--text", &text, &missing) || fc_cli_opt(argc, argv, &i, "--image", &image, &missing) ||
            fc_cli_opt(argc, argv, &i, "--steps", &steps_s, &missing) || fc_cli_opt(argc, argv, &i, "--out", &out, &missing))
            continue;
        if (missing) return 2;
        return fc_cli_error("logits: unknown option '%s' (see fc-eval logits --help)", argv[i]), 2;
    }
    if (!model || !out) return fc_cli_error("logits: --model DIR and --out FILE are required"), 2;
    if (!ids == !text) return fc_cli_error("logits: give exactly one of --ids and --text"), 2;
    if (image && !text) return fc_cli_error("logits: --image needs --text (the question)"), 2;
    long steps = 0;
    fc_err e;
    if (steps_s && (e = fc_cli_parse_long("--steps", steps_s, 0, 100000, &steps))) return fc_cli_fail(e);
    e = run(model, ids, text, image, (int)steps, out);
    return e ? fc_cli_fail(e) : 0;
}
