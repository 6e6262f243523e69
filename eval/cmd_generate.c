/* cmd_generate.c: `fc-eval generate`: continue a prompt with the decoder, greedy or sampled, and print the
 * continuation. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/model/generate.h"
#include "eval/commands.h"
#include "eval/llm_prompt.h"
#include "eval/sampling_cli.h"

typedef struct {
    const char *model, *text, *ids;
    fc_sampling_cli gen;
    bool print_ids;
} gen_opts;

static fc_err run(const gen_opts *o) {
    int32_t *prompt = NULL, *out = NULL;
    int T = 0;
    fc_tokenizer *tok = NULL;
    fc_llm *m = NULL;
    fc_kv_pool *kv = NULL;
    char *text = NULL;
    fc_err e;
    if ((e = fc_eval_prompt(o->model, o->ids, o->text, &prompt, &T, &tok))) goto done;
    if ((e = fc_llm_load(&m, o->model))) goto done;
    if ((e = fc_eval_pool_for(m, 1, T + (int)o->gen.max_new, &kv))) goto done;
    if (!(out = malloc((size_t)o->gen.max_new * sizeof(int32_t)))) {
        e = fc_err_set(FC_ENOMEM, "generate: out of memory");
        goto done;
    }
    int32_t eos[2];
    int n_eos = 0;
    if (m->cfg.eos_token_id >= 0) eos[n_eos++] = m->cfg.eos_token_id;
    if (tok && fc_tokenizer_eos(tok) >= 0 && fc_tokenizer_eos(tok) != m->cfg.eos_token_id)
        eos[n_eos++] = fc_tokenizer_eos(tok);
    fc_gen_params gp = {.max_new_tokens = (int)o->gen.max_new, .temperature = (float)o->gen.temperature,
                        .top_k = (int)o->gen.top_k, .top_p = (float)o->gen.top_p, .seed = (uint64_t)o->gen.seed,
                        .eos_ids = eos, .n_eos = n_eos};
    fc_gen_request rq = {.prompt = prompt, .n_prompt = T, .out = out};
    if ((e = fc_generate(m, kv, &rq, 1, &gp))) goto done;
    if (o->print_ids || !tok) {
        for (int i = 0; i < rq.n_out; i++) printf(i ? " %" PRId32 : "%" PRId32, out[i]);
        fputc('\n', stdout);
    } else {
        if ((e = fc_tokenizer_decode(tok, out, rq.n_out, true, &text))) goto done;
        printf("%s\n", text);
    }
done:
    free(text), free(out), free(prompt);
    fc_kv_pool_free(kv);
    fc_llm_free(m);
    fc_tokenizer_free(tok);
    return e;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder (Llama / Qwen2 decoder, LLaVA or MiniCPM-V)"},
    {"--text", "STR", 1, "prompt text (BOS added for Llama)"},
    {"--ids", "LIST", 1, "prompt token ids instead, comma-separated"},
    {"--max-new-tokens", "N", 1, "stop after N tokens (default 32); also stops on the EOS token"},
    FC_SAMPLING_CLI_OPTIONS,
    {"--print-ids", NULL, 1, "print the generated ids instead of text"},
    {0}};

static int cmd_generate(const fc_cli_args *a) {
    gen_opts o = {.gen = fc_sampling_cli_defaults(32)};
    o.model = fc_cli_value(a, "--model");
    o.text = fc_cli_value(a, "--text");
    o.ids = fc_cli_value(a, "--ids");
    o.print_ids = fc_cli_flag(a, "--print-ids");
    fc_sampling_cli_take(&o.gen, a);
    if (!o.model) return fc_cli_error("generate: --model DIR is required"), 2;
    if (!o.text == !o.ids) return fc_cli_error("generate: give exactly one of --text and --ids"), 2;
    fc_err e = fc_sampling_cli_parse(&o.gen);
    if (e) return fc_cli_fail(e);
    e = run(&o);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_generate = {
    "generate", cmd_generate, "continue a prompt with the decoder (greedy or sampled)",
    "--model DIR (--text STR | --ids 1,2,3) [--max-new-tokens N]\n"
    "                        [--temperature T] [--top-k K] [--top-p P] [--seed S] [--print-ids]",
    "Prints the continuation of the prompt (text when the folder has a tokenizer, else ids).", options, 0, NULL};
