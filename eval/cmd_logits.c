/* cmd_logits.c: `fc-eval logits`: the decoder's logits at every prompt position and over N greedy decode
 * steps, written as safetensors for comparison with a reference (transformers, kvpress) run; with
 * --method, the prompt's KV is compressed after its prefill and the rest runs on the compressed cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/io/safetensors.h"
#include "eval/commands.h"
#include "core/serve/prefill_compress.h"
#include "eval/llm_prompt.h"
#include "eval/vlm_input.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fc-eval logits --model DIR (--ids 1,2,3 | --text STR [--image FILE]) [--steps N]\n"
               "                     [--method SPEC [--compress-at N | --hold-last]] --out FILE.safetensors\n"
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
               "  --method SPEC compress the prompt's KV after its prefill (see fc-eval methods), e.g.\n"
               "                snapkv:ratio=4; the rows after the compressed part come from the compressed\n"
               "                cache, at the positions they would have had without compression\n"
               "  --compress-at N  prefill and compress the first N prompt tokens, then feed the rest\n"
               "                (default: all of the prompt, as kvpress compresses a context)\n"
               "  --hold-last   --compress-at T-1: FastCache's serving convention (the prompt's last token\n"
               "                is the first decode input, so its logits come from the compressed cache)\n"
               "  With --method the metadata adds method, compress_at, kv_tokens_before/after (longest layer),\n"
               "  kv_entries_before/after (summed over layers), ratio_achieved (of the entries),\n"
               "  kvpress_compression_ratio and kv_bytes_before/after (the sequence's pool blocks).\n"
               "  --out FILE    output .safetensors (written to a temporary name, then renamed)\n");
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

typedef struct {
    const char *model, *ids, *text, *image, *out, *method;
    int steps;
    int compress_at; /* 0: all of the prompt; -1: T - 1 (--hold-last) */
} logits_opts;

/* The compression's figures as metadata. */
static fc_err write_compress_meta(fc_st_writer *w, const fc_compress_method *cm, int at,
                                  const fc_compress_seq_result *r) {
    char num[64];
    FC_TRY(fc_st_writer_meta(w, "method", fc_compress_spec(cm)));
    snprintf(num, sizeof num, "%d", at);
    FC_TRY(fc_st_writer_meta(w, "compress_at", num));
    snprintf(num, sizeof num, "%d", r->len_before);
    FC_TRY(fc_st_writer_meta(w, "kv_tokens_before", num));
    snprintf(num, sizeof num, "%d", r->len_after);
    FC_TRY(fc_st_writer_meta(w, "kv_tokens_after", num));
    snprintf(num, sizeof num, "%lld", (long long)r->entries_before);
    FC_TRY(fc_st_writer_meta(w, "kv_entries_before", num));
    snprintf(num, sizeof num, "%lld", (long long)r->entries_after);
    FC_TRY(fc_st_writer_meta(w, "kv_entries_after", num));
    snprintf(num, sizeof num, "%.6g", r->ratio_achieved);
    FC_TRY(fc_st_writer_meta(w, "ratio_achieved", num));
    snprintf(num, sizeof num, "%.6g", 1.0 - 1.0 / r->ratio_achieved);
    FC_TRY(fc_st_writer_meta(w, "kvpress_compression_ratio", num));
    snprintf(num, sizeof num, "%zu", r->bytes_before);
    FC_TRY(fc_st_writer_meta(w, "kv_bytes_before", num));
    snprintf(num, sizeof num, "%zu", r->bytes_after);
    return fc_st_writer_meta(w, "kv_bytes_after", num);
}

static fc_err run(const logits_opts *o) {
    const char *model = o->model, *image = o->image, *out = o->out;
    const int steps = o->steps;
    int32_t *prompt = NULL, *tokens = NULL;
    int T = 0;
    fc_tokenizer *tok = NULL;
    fc_llm *m = NULL;
    fc_kv_pool *kv = NULL;
    float *logits = NULL;
    fc_st_writer *w = NULL;
    char *tok_str = NULL;
    fc_eval_vlm vlm = {0};
    fc_compress_method *cm = NULL;
    fc_compress_span *spans = NULL;
    fc_compress_seq_result cres = {0};
    int n_spans = 0;
    fc_err e;
    if (o->method && (e = fc_compress_create(o->method, &cm))) return e;
    if (image) { /* the VLM's request; its decoder and ids are borrowed, released with it */
        if ((e = fc_eval_vlm_open(&vlm, model, NULL, &image, 1, o->text))) goto done;
        m = vlm.vlm->llm, T = vlm.req.n_ids;
        if (!(prompt = fc_malloc((size_t)T * sizeof(int32_t), "logits prompt"))) {
            e = FC_ENOMEM;
            goto done;
        }
        memcpy(prompt, vlm.req.ids, (size_t)T * sizeof(int32_t));
    } else {
        if ((e = fc_eval_prompt(model, o->ids, o->text, &prompt, &T, &tok))) goto done;
        if ((e = fc_llm_load(&m, model))) goto done;
    }
    int V = m->cfg.vocab_size, R = T + steps;
    fc_kv_handle seq = FC_KV_NONE;
    int at = o->compress_at == 0 ? T : o->compress_at < 0 ? T - 1 : o->compress_at; /* tokens compressed */
    if (at < 1 || at > T) {
        e = fc_err_set(FC_EINVAL, "%s: would compress the first %d tokens, but the prompt has %d (want 1..%d)",
                       o->compress_at < 0 ? "--hold-last" : "--compress-at", at, T, T);
        goto done;
    }
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
    if (image && vlm.req.n_spans) { /* the request's real image layout, for ccm and scope=image */
        if (!(spans = fc_malloc((size_t)vlm.req.n_spans * sizeof *spans, "logits spans"))) {
            e = FC_ENOMEM;
            goto done;
        }
        n_spans = fc_serve_image_spans(&vlm.req, at, spans);
    }
    if ((e = fc_serve_prefill_compress(m, kv, &in, at, cm, spans, n_spans, FC_LLM_ROWS_ALL, logits, &cres))) goto done;
    if (at < T) { /* the rest of the prompt on the compressed cache: text after the image rows */
        fc_llm_seq_input rest = {.seq = seq, .ids = prompt + at, .n = T - at};
        if ((e = fc_llm_forward(m, kv, &rest, 1, FC_LLM_ROWS_ALL, logits + (size_t)at * V, NULL))) goto done;
    }
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
    if (cm && (e = write_compress_meta(w, cm, at, &cres))) goto done;
    if ((e = fc_st_writer_meta(w, "decoding", "greedy; logits in f32 from the CPU reference path"))) goto done;
    e = fc_st_writer_write(w, out);
done:
    fc_st_writer_free(w);
    free(tok_str), free(logits), free(tokens), free(prompt), free(spans);
    fc_compress_free(cm);
    fc_kv_pool_free(kv);
    if (!image) fc_llm_free(m);
    fc_eval_vlm_close(&vlm);
    fc_tokenizer_free(tok);
    return e;
}

int fc_cmd_logits(int argc, char **argv) {
    logits_opts o = {0};
    const char *steps_s = NULL, *at_s = NULL;
    bool missing = false, hold_last = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (fc_cli_opt(argc, argv, &i, "--model", &o.model, &missing) || fc_cli_opt(argc, argv, &i, "--ids", &o.ids, &missing) ||
            fc_cli_opt(argc, argv, &i, "--text", &o.text, &missing) || fc_cli_opt(argc, argv, &i, "--image", &o.image, &missing) ||
            fc_cli_opt(argc, argv, &i, "--steps", &steps_s, &missing) || fc_cli_opt(argc, argv, &i, "--out", &o.out, &missing) ||
            fc_cli_opt(argc, argv, &i, "--method", &o.method, &missing) ||
            fc_cli_opt(argc, argv, &i, "--compress-at", &at_s, &missing))
            continue;
        if (missing) return 2;
        if (!strcmp(argv[i], "--hold-last")) {
            hold_last = true;
            continue;
        }
        return fc_cli_error("logits: unknown option '%s' (see fc-eval logits --help)", argv[i]), 2;
    }
    if (!o.model || !o.out) return fc_cli_error("logits: --model DIR and --out FILE are required"), 2;
    if (!o.ids == !o.text) return fc_cli_error("logits: give exactly one of --ids and --text"), 2;
    if (o.image && !o.text) return fc_cli_error("logits: --image needs --text (the question)"), 2;
    if ((at_s || hold_last) && !o.method) return fc_cli_error("logits: --compress-at and --hold-last need --method"), 2;
    if (at_s && hold_last) return fc_cli_error("logits: give at most one of --compress-at and --hold-last"), 2;
    long steps = 0, at = 0;
    fc_err e;
    if (steps_s && (e = fc_cli_parse_long("--steps", steps_s, 0, 100000, &steps))) return fc_cli_fail(e);
    if (at_s && (e = fc_cli_parse_long("--compress-at", at_s, 1, 1 << 24, &at))) return fc_cli_fail(e);
    o.steps = (int)steps;
    o.compress_at = hold_last ? -1 : (int)at;
    e = run(&o);
    return e ? fc_cli_fail(e) : 0;
}
