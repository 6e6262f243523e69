/* cmd_generate.c: `fc-eval generate`: continue a prompt with the decoder, greedy or sampled, and print the
 * continuation. With --prompts FILE, every prompt of the file, --batch at a time through fc_generate (one
 * batched prefill, then batched decode steps), one JSON line per prompt; each prompt draws from RNG stream
 * 0 of --seed, as it would alone, so its output does not depend on the batch it ran in. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/io/prompts.h"
#include "core/model/generate.h"
#include "eval/commands.h"
#include "eval/llm_prompt.h"
#include "eval/prompt_input.h"
#include "eval/sampling_cli.h"

typedef struct {
    const char *model, *tokenizer, *prompts;
    fc_sampling_cli gen;
    bool print_ids;
    int batch;
} gen_opts;

/* One result: plain text (or ids) for the single prompt; a JSON line {"id", "text", "ids"} for --prompts. */
static fc_err print_one(const gen_opts *o, const fc_eval_model *md, const fc_prompt *p, const int32_t *out, int n) {
    char *text = NULL;
    if (md->tok && (!o->print_ids || o->prompts)) FC_TRY(fc_tokenizer_decode(md->tok, out, n, true, &text));
    fc_err e = FC_OK;
    if (!o->prompts) {
        if (text && !o->print_ids) {
            printf("%s\n", text);
        } else {
            for (int i = 0; i < n; i++) printf(i ? " %" PRId32 : "%" PRId32, out[i]);
            fputc('\n', stdout);
        }
    } else {
        cJSON *j = cJSON_CreateObject(), *ids = NULL;
        bool ok = j && cJSON_AddStringToObject(j, "id", p->id) &&
                  (o->print_ids || !text || cJSON_AddStringToObject(j, "text", text)) &&
                  (ids = cJSON_AddArrayToObject(j, "ids"));
        for (int i = 0; ok && i < n; i++) ok = cJSON_AddItemToArray(ids, cJSON_CreateNumber(out[i]));
        char *line = ok ? cJSON_PrintUnformatted(j) : NULL;
        if (line) printf("%s\n", line);
        else e = fc_err_set(FC_ENOMEM, "generate: out of memory for the output line");
        cJSON_free(line);
        cJSON_Delete(j);
    }
    free(text);
    return e;
}

/* Generates for ps[0..B) as one batch and prints the results in order. */
static fc_err run_batch(const gen_opts *o, const fc_eval_model *md, const fc_gen_params *gp, const fc_prompt *ps,
                        int B, const char *file) {
    const int max_new = (int)o->gen.max_new;
    fc_eval_input *ins = fc_calloc((size_t)B, sizeof *ins, "generate batch");
    fc_gen_request *rq = fc_calloc((size_t)B, sizeof *rq, "generate batch");
    int32_t *out = fc_malloc((size_t)B * (size_t)max_new * sizeof(int32_t), "generate output");
    uint64_t *streams = fc_calloc((size_t)B, sizeof *streams, "generate batch"); /* all 0: as alone */
    fc_kv_pool *kv = NULL;
    fc_err e = ins && rq && out && streams ? FC_OK : FC_ENOMEM;
    int Tmax = 0;
    for (int b = 0; b < B && !e; b++) {
        if ((e = fc_eval_input_build(md, &ps[b], file, &ins[b]))) break;
        const fc_eval_input *in = &ins[b];
        rq[b] = (fc_gen_request){.prompt = in->ids, .n_prompt = in->n, .out = out + (size_t)b * max_new};
        if (in->has_req)
            rq[b].embeds = in->req.embeds, rq[b].embeds_start = in->req.embeds_start, rq[b].n_embeds = in->req.n_embeds;
        if (in->n > Tmax) Tmax = in->n;
    }
    fc_gen_params p = *gp;
    p.streams = streams;
    if (!e) e = fc_eval_pool_for(md->llm, B, Tmax + max_new, &kv);
    if (!e) e = fc_generate(md->llm, kv, rq, B, &p);
    for (int b = 0; b < B && !e; b++) e = print_one(o, md, &ps[b], rq[b].out, rq[b].n_out);
    for (int b = 0; ins && b < B; b++) fc_eval_input_free(&ins[b]);
    fc_kv_pool_free(kv);
    free(ins), free(rq), free(out), free(streams);
    return e;
}

static fc_err run(const gen_opts *o, const fc_prompt *ps, int n) {
    bool vlm = false, text = false;
    for (int i = 0; i < n; i++) vlm |= ps[i].n_images > 0, text |= ps[i].text && !ps[i].n_images;
    fc_eval_model md;
    FC_TRY(fc_eval_model_open(&md, o->model, o->tokenizer, vlm, text));
    int32_t eos[2];
    int n_eos = 0;
    fc_gen_params gp;
    if (md.vlm) { /* the VLM's stop tokens (LLaVA </s>; MiniCPM-V <|im_end|>, <|endoftext|>) */
        gp = fc_vlm_gen_params(md.vlm, (int)o->gen.max_new, (float)o->gen.temperature, (int)o->gen.top_k,
                               (float)o->gen.top_p, (uint64_t)o->gen.seed);
    } else {
        const fc_llm *m = md.llm;
        if (m->cfg.eos_token_id >= 0) eos[n_eos++] = m->cfg.eos_token_id;
        if (md.tok && fc_tokenizer_eos(md.tok) >= 0 && fc_tokenizer_eos(md.tok) != m->cfg.eos_token_id)
            eos[n_eos++] = fc_tokenizer_eos(md.tok);
        gp = (fc_gen_params){.max_new_tokens = (int)o->gen.max_new, .temperature = (float)o->gen.temperature,
                             .top_k = (int)o->gen.top_k, .top_p = (float)o->gen.top_p, .seed = (uint64_t)o->gen.seed,
                             .eos_ids = eos, .n_eos = n_eos};
    }
    fc_err e = FC_OK;
    for (int i = 0; !e && i < n; i += o->batch) {
        e = run_batch(o, &md, &gp, ps + i, n - i < o->batch ? n - i : o->batch, o->prompts);
        fflush(stdout);
    }
    fc_eval_model_close(&md);
    return e;
}

static fc_err run_prompts(void *o, const fc_prompt *ps, int n) { return run(o, ps, n); }

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder (Llama / Qwen2 decoder, LLaVA or MiniCPM-V)"},
    {"--text", "STR", 1, "prompt text (BOS added for Llama)"},
    {"--ids", "LIST", 1, "prompt token ids instead, comma-separated"},
    {"--prompts", "FILE", 1,
     "a file of prompts instead: one a line, or JSON lines {\"id\", \"text\" or \"ids\",\n"
     "\"images\"}; prints one JSON line {\"id\", \"text\", \"ids\"} per prompt, in order\n"
     "(a prompt with images needs a VLM folder and is asked as fc-eval run asks)"},
    {"--batch", "B", 1, "with --prompts: prompts generated together (default 8)"},
    {"--tokenizer", "DIR", 1, "the tokenizer files from DIR instead of --model"},
    {"--max-new-tokens", "N", 1, "stop after N tokens (default 32); also stops on the EOS token"},
    FC_SAMPLING_CLI_OPTIONS,
    {"--print-ids", NULL, 1, "print the generated ids instead of text"},
    {0}};

static int cmd_generate(const fc_cli_args *a) {
    gen_opts o = {.gen = fc_sampling_cli_defaults(32), .batch = 8};
    const char *text = fc_cli_value(a, "--text"), *ids = fc_cli_value(a, "--ids");
    o.model = fc_cli_value(a, "--model"), o.tokenizer = fc_cli_value(a, "--tokenizer");
    o.prompts = fc_cli_value(a, "--prompts");
    o.print_ids = fc_cli_flag(a, "--print-ids");
    fc_sampling_cli_take(&o.gen, a);
    if (!o.model) return fc_cli_error("generate: --model DIR is required"), 2;
    if (o.prompts && (text || ids)) return fc_cli_error("generate: --prompts FILE replaces --text and --ids"), 2;
    if (!o.prompts && !text == !ids) return fc_cli_error("generate: give exactly one of --text, --ids and --prompts"), 2;
    if (fc_cli_flag(a, "--batch") && !o.prompts) return fc_cli_error("generate: --batch goes with --prompts"), 2;
    long batch = o.batch;
    fc_err e = fc_cli_long(a, "--batch", 1, 1024, &batch);
    if (!e) e = fc_sampling_cli_parse(&o.gen);
    if (e) return fc_cli_fail(e);
    o.batch = (int)batch;
    e = fc_eval_prompts_run(o.prompts, text, ids, NULL, 0, run_prompts, &o);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_generate = {
    "generate", cmd_generate, "continue a prompt with the decoder (greedy or sampled)",
    "--model DIR (--text STR | --ids 1,2,3 | --prompts FILE [--batch B]) [--max-new-tokens N]\n"
    "                        [--temperature T] [--top-k K] [--top-p P] [--seed S] [--print-ids]",
    "Prints the continuation of the prompt (text when the folder has a tokenizer, else ids).", options, 0, NULL};
