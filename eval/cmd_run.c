/* cmd_run.c: `fc-eval run`: ask a VLM (LLaVA-1.5 or MiniCPM-V-2.6) a question about images and print the
 * answer; the CPU reference path end to end (preprocess, vision tower, prompt, prefill, decode), with
 * --method the prompt's KV compressed between prefill and decode. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "eval/commands.h"
#include "core/serve/prefill_compress.h"
#include "eval/llm_prompt.h"
#include "eval/vlm_input.h"
#include "eval/sampling_cli.h"

typedef struct {
    const char *model, *tokenizer, *prompt;
    const char *images[FC_VLM_MAX_IMAGES];
    int n_images;
    fc_sampling_cli gen;
    bool show_prompt, print_ids, hold_last;
    const char *method;
} run_opts;

/* Prefill, compression with o->method, then decoding as fc_generate does for one request (same sampler,
 * same RNG stream, same stop rule), so --method none-like specs answer as the plain path. */
static fc_err generate_compressed(const run_opts *o, fc_eval_vlm *v, fc_kv_pool *kv, const fc_gen_params *gp,
                                  int32_t *out, int *n_out) {
    fc_llm *llm = v->vlm->llm;
    const int V = llm->cfg.vocab_size;
    fc_compress_method *cm = NULL;
    float *logits = fc_malloc((size_t)V * sizeof(float), "run logits");
    fc_sampler smp = {0};
    fc_compress_seq_result r;
    fc_rng rng;
    fc_kv_handle seq = FC_KV_NONE;
    *n_out = 0;
    fc_err e = logits ? FC_OK : FC_ENOMEM;
    if (!e) e = fc_compress_create(o->method, &cm);
    if (!e) e = fc_sampler_init(&smp, V);
    if (!e) e = fc_kv_seq_create(kv, &seq);
    if (e) goto done;
    /* the one path from prompt to compressed cache (core/serve), as fc-eval quality and load take it */
    if ((e = fc_serve_prompt_to_cache(llm, kv, &v->req, seq, cm, o->hold_last, logits, &r))) {
        if (o->hold_last && v->req.n_ids < 2) e = fc_err_prefix(e, "--hold-last");
        goto done;
    }
    fc_serve_print_compress(stdout, cm, &r);
    fc_compress_note note;
    char text[1024];
    fc_serve_method_note(cm, &v->req, o->hold_last ? v->req.n_ids - 1 : v->req.n_ids, llm->cfg.num_layers, NULL, &note);
    fc_compress_note_text(cm, &note, NULL, 0, text, sizeof text);
    if (note.below_window) fprintf(stderr, "fc-eval: warning: %s\n", text);
    else if (text[0]) printf("note: %s\n", text);
    fc_rng_seed(&rng, gp->seed, 0);
    for (;;) {
        int32_t t = fc_sample(logits, V, gp, &rng, &smp);
        bool eos = false;
        for (int i = 0; i < gp->n_eos; i++) eos |= t == gp->eos_ids[i];
        if (eos) break;
        out[(*n_out)++] = t;
        if (*n_out >= gp->max_new_tokens) break;
        if ((e = fc_llm_decode(llm, kv, &seq, &t, 1, logits))) goto done;
    }
done:
    fc_kv_seq_free(kv, seq); /* FC_KV_NONE: nothing */
    fc_sampler_free(&smp);
    fc_compress_free(cm);
    free(logits);
    return e;
}

static fc_err run(const run_opts *o) {
    fc_eval_vlm v;
    fc_kv_pool *kv = NULL;
    int32_t *out = NULL;
    char *text = NULL;
    int n_out = 0;
    fc_err e = fc_eval_vlm_open(&v, o->model, o->tokenizer, o->images, o->n_images, o->prompt);
    if (e) return e;
    if (o->show_prompt) fc_eval_vlm_print_layout(&v, stdout);
    if ((e = fc_eval_pool_for(v.vlm->llm, 1, v.req.n_ids + (int)o->gen.max_new, &kv))) goto done;
    if (!(out = malloc((size_t)o->gen.max_new * sizeof(int32_t)))) {
        e = fc_err_set(FC_ENOMEM, "run: out of memory");
        goto done;
    }
    fc_gen_params gp = fc_vlm_gen_params(v.vlm, (int)o->gen.max_new, (float)o->gen.temperature, (int)o->gen.top_k,
                                         (float)o->gen.top_p, (uint64_t)o->gen.seed);
    if (o->method) e = generate_compressed(o, &v, kv, &gp, out, &n_out);
    else e = fc_vlm_generate(v.vlm, kv, &v.req, 1, &gp, &out, &n_out);
    if (e) goto done;
    if (o->print_ids) {
        for (int i = 0; i < n_out; i++) printf(i ? " %" PRId32 : "%" PRId32, out[i]);
        fputc('\n', stdout);
    } else {
        if ((e = fc_tokenizer_decode(v.vlm->tok, out, n_out, true, &text))) goto done;
        printf("%s\n", text);
    }
done:
    free(text), free(out);
    fc_kv_pool_free(kv);
    fc_eval_vlm_close(&v);
    return e;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder, config.json model_type llava or minicpmv"},
    {"--image", "FILE", FC_VLM_MAX_IMAGES, "JPEG or PNG; repeat for several images (all placed before the text)"},
    {"--prompt", "TEXT", 1, "the question (the chat template and image placeholders are added)"},
    {"--max-new-tokens", "N", 1,
     "stop after N tokens (default 64); also stops on the model's stop tokens\n"
     "(LLaVA </s>; MiniCPM-V <|im_end|>, <|endoftext|>)"},
    FC_SAMPLING_CLI_OPTIONS,
    {"--tokenizer", "DIR", 1, "take the tokenizer files from DIR instead of --model"},
    {"--show-prompt", NULL, 1, "first print the prompt's token count and each image's span of tokens"},
    {"--print-ids", NULL, 1, "print the answer's token ids instead of its text"},
    {"--method", "SPEC", 1,
     "compress the prompt's KV after the prefill (see fc-eval methods; image spans\n"
     "from the request's layout, so ccm and scope=image work) and first print\n"
     "\"compress SPEC: A -> B tokens per layer (Rx achieved, ...), KV X -> Y bytes\""},
    {"--hold-last", NULL, 1,
     "with --method: cache the prompt without its last token, which is then the\n"
     "first decode input (FastCache's serving convention)"},
    {0}};

static int cmd_run(const fc_cli_args *a) {
    run_opts o = {.gen = fc_sampling_cli_defaults(64)};
    const char *const *images;
    o.n_images = fc_cli_values(a, "--image", &images);
    for (int i = 0; i < o.n_images; i++) o.images[i] = images[i];
    o.model = fc_cli_value(a, "--model"), o.tokenizer = fc_cli_value(a, "--tokenizer");
    o.prompt = fc_cli_value(a, "--prompt"), o.method = fc_cli_value(a, "--method");
    o.show_prompt = fc_cli_flag(a, "--show-prompt"), o.print_ids = fc_cli_flag(a, "--print-ids");
    o.hold_last = fc_cli_flag(a, "--hold-last");
    fc_sampling_cli_take(&o.gen, a);
    if (!o.model || !o.prompt) return fc_cli_error("run: --model DIR and --prompt TEXT are required"), 2;
    if (o.n_images == 0) return fc_cli_error("run: give at least one --image FILE"), 2;
    if (o.hold_last && !o.method) return fc_cli_error("run: --hold-last needs --method"), 2;
    if (o.method) { /* a bad spec fails before the model loads */
        fc_compress_method *cm = NULL;
        fc_err ce = fc_compress_create(o.method, &cm);
        fc_compress_free(cm);
        if (ce) return fc_cli_fail(ce);
    }
    fc_err e = fc_sampling_cli_parse(&o.gen);
    if (e) return fc_cli_fail(e);
    e = run(&o);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_run = {
    "run", cmd_run, "ask a VLM (LLaVA / MiniCPM-V) about images and print the answer",
    "--model DIR --image FILE [--image FILE ...] --prompt TEXT [--max-new-tokens N]\n"
    "                   [--temperature T] [--top-k K] [--top-p P] [--seed S] [--tokenizer DIR]\n"
    "                   [--show-prompt] [--print-ids] [--method SPEC [--hold-last]]",
    "Asks the model about the images with its chat template and prints the answer.", options, 0, NULL};
