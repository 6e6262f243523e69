/* cmd_logits.c: `fc-eval logits`: the decoder's logits at every prompt position and over N greedy decode
 * steps, written as safetensors for comparison with a reference (transformers, kvpress) run; with
 * --method, the prompt's KV is compressed after its prefill and the rest runs on the compressed cache.
 * With --prompts FILE, every prompt of the file, --batch at a time: one batched prefill of the batch
 * (per prompt with --method, whose compression is per sequence), then batched decode steps, one file per
 * prompt named by its id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/cli.h"
#include "core/base/file.h"
#include "core/base/mem.h"
#include "core/io/prompts.h"
#include "core/io/safetensors.h"
#include "core/serve/prefill_compress.h"
#include "eval/commands.h"
#include "eval/llm_prompt.h"
#include "eval/prompt_input.h"

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

typedef struct {
    const char *model, *tokenizer, *out, *method;
    const char *prompts; /* --prompts FILE: out is a folder */
    int steps, batch;
    int compress_at;     /* 0: all of the prompt; -1: T - 1 (--hold-last) */
} logits_opts;

/* One prompt of a batch. */
typedef struct {
    fc_eval_input in;
    int at;                      /* prompt tokens prefilled and compressed */
    size_t row0;                 /* its first row in the batch's prefill logits */
    fc_compress_seq_result cres;
} item;

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

/* The request's images as metadata: "images" (the count), then per image K "image.K" (its file) and
 * "image.K.spans" (each piece's token range "start:end", space-separated, as `run --show-prompt` prints:
 * LLaVA one span an image, MiniCPM-V the overview then each slice). */
static fc_err write_image_meta(fc_st_writer *w, const fc_prompt *p, const fc_vlm_request *req) {
    char key[48], num[32];
    snprintf(num, sizeof num, "%d", p->n_images);
    FC_TRY(fc_st_writer_meta(w, "images", num));
    for (int k = 0; k < p->n_images; k++) {
        char spans[1024] = "";
        size_t used = 0;
        for (int i = 0; i < req->n_spans; i++) {
            const fc_vlm_span *sp = &req->spans[i];
            if (sp->image != k || used >= sizeof spans) continue;
            used += (size_t)snprintf(spans + used, sizeof spans - used, "%s%d:%d", used ? " " : "", sp->start,
                                     sp->start + sp->len);
        }
        if (used >= sizeof spans) return fc_err_set(FC_EINVAL, "image %d: too many spans for the metadata", k);
        snprintf(key, sizeof key, "image.%d", k);
        FC_TRY(fc_st_writer_meta(w, key, p->images[k]));
        snprintf(key, sizeof key, "image.%d.spans", k);
        FC_TRY(fc_st_writer_meta(w, key, spans));
    }
    return FC_OK;
}

/* Writes one prompt's file: logits (R, V), tokens (R) and the metadata. */
static fc_err write_one(const logits_opts *o, const fc_llm *m, const fc_compress_method *cm, const item *it,
                        const float *logits, const int32_t *tokens, const char *path) {
    const int T = it->in.n, R = T + o->steps, V = m->cfg.vocab_size;
    size_t cap = (size_t)R * 12 + 1, used = 0; /* tokens as a comma list, like --ids takes them */
    char *tok_str = fc_malloc(cap, "logits metadata");
    if (!tok_str) return FC_ENOMEM;
    tok_str[0] = 0;
    for (int i = 0; i < R; i++) used += (size_t)snprintf(tok_str + used, cap - used, i ? ",%d" : "%d", (int)tokens[i]);
    char num[32];
    int64_t ls[2] = {R, V}, ts[1] = {R};
    fc_st_writer *w = NULL;
    fc_err e;
    if ((e = fc_st_writer_create(&w)) || (e = fc_st_writer_add(w, "logits", FC_DTYPE_F32, 2, ls, logits)) ||
        (e = fc_st_writer_add(w, "tokens", FC_DTYPE_I32, 1, ts, tokens)) || (e = fc_st_writer_meta(w, "model", o->model)) ||
        (e = fc_st_writer_meta(w, "arch", fc_arch_name(m->cfg.arch))) || (e = fc_st_writer_meta(w, "tokens", tok_str)))
        goto done;
    if (o->prompts && (e = fc_st_writer_meta(w, "id", it->in.p->id))) goto done;
    snprintf(num, sizeof num, "%d", T);
    if ((e = fc_st_writer_meta(w, "prompt_tokens", num))) goto done;
    snprintf(num, sizeof num, "%d", o->steps);
    if ((e = fc_st_writer_meta(w, "steps", num))) goto done;
    if (it->in.has_req && (e = write_image_meta(w, it->in.p, &it->in.req))) goto done;
    if (cm && (e = write_compress_meta(w, cm, it->at, &it->cres))) goto done;
    if ((e = fc_st_writer_meta(w, "decoding", "greedy; logits in f32 from the CPU reference path"))) goto done;
    e = fc_st_writer_write(w, path);
done:
    fc_st_writer_free(w);
    free(tok_str);
    return e;
}

/* The KV of prompt b: prefilled (and compressed with cm) from its input; its logits rows go to
 * pre + row0 * V. */
static fc_err prefill_compressed(fc_llm *m, fc_kv_pool *kv, const fc_compress_method *cm, item *it, fc_kv_handle seq,
                                 float *pre) {
    const int V = m->cfg.vocab_size, T = it->in.n;
    fc_llm_seq_input in = fc_eval_input_seq(&it->in, seq);
    fc_compress_span *spans = NULL;
    int n_spans = 0;
    if (it->in.has_req && it->in.req.n_spans) { /* the request's real image layout, for ccm and scope=image */
        if (!(spans = fc_malloc((size_t)it->in.req.n_spans * sizeof *spans, "logits spans"))) return FC_ENOMEM;
        n_spans = fc_serve_image_spans(&it->in.req, it->at, spans);
    }
    float *rows = pre + it->row0 * (size_t)V;
    fc_err e = fc_serve_prefill_compress(m, kv, &in, it->at, cm, spans, n_spans, FC_LLM_ROWS_ALL, rows, &it->cres);
    free(spans);
    if (!e && it->at < T) { /* the rest of the prompt on the compressed cache: text after the image rows */
        fc_llm_seq_input rest = {.seq = seq, .ids = in.ids + it->at, .n = T - it->at};
        e = fc_llm_forward(m, kv, &rest, 1, FC_LLM_ROWS_ALL, rows + (size_t)it->at * V, NULL);
    }
    return e;
}

/* Runs prompts ps[0..B) as one batch and writes their files. file: the prompts file (messages), or NULL. */
static fc_err run_batch(const logits_opts *o, const fc_eval_model *md, const fc_compress_method *cm,
                        const fc_prompt *ps, int B, const char *file) {
    fc_llm *m = md->llm;
    const int V = m->cfg.vocab_size, steps = o->steps;
    item *its = fc_calloc((size_t)B, sizeof *its, "logits batch");
    fc_kv_handle *seqs = fc_malloc((size_t)B * sizeof *seqs, "logits batch");
    fc_llm_seq_input *ins = fc_malloc((size_t)B * sizeof *ins, "logits batch");
    int32_t *tok = fc_malloc((size_t)B * sizeof(int32_t), "logits batch");
    float *pre = NULL, *step = NULL, *one = NULL;
    int32_t *tokens = NULL;
    char *path = NULL;
    fc_kv_pool *kv = NULL;
    fc_err e = its && seqs && ins && tok ? FC_OK : FC_ENOMEM;
    for (int b = 0; seqs && b < B; b++) seqs[b] = FC_KV_NONE;
    int Tmax = 0;
    size_t rows = 0;
    for (int b = 0; b < B && !e; b++) {
        item *it = &its[b];
        if ((e = fc_eval_input_build(md, &ps[b], file, &it->in))) break;
        const int T = it->in.n;
        it->at = o->compress_at == 0 ? T : o->compress_at < 0 ? T - 1 : o->compress_at;
        if (cm && (it->at < 1 || it->at > T)) {
            e = fc_err_set(FC_EINVAL, "%s: would compress the first %d tokens, but the prompt has %d (want 1..%d)",
                           o->compress_at < 0 ? "--hold-last" : "--compress-at", it->at, T, T);
            if (file) fc_err_prefix(e, "%s:%d", file, ps[b].line);
            break;
        }
        it->row0 = rows, rows += (size_t)T;
        if (T > Tmax) Tmax = T;
    }
    if (e) goto done;
    size_t n_pre, n_step, n_one;
    if (!fc_mul_size(rows, (size_t)V * sizeof(float), &n_pre) ||
        !fc_mul_size((size_t)steps * (size_t)B, (size_t)V * sizeof(float), &n_step) ||
        !fc_mul_size((size_t)(Tmax + steps), (size_t)V * sizeof(float), &n_one)) {
        e = fc_err_set(FC_EINVAL, "logits of %zu prompt tokens and %d steps are too large", rows, steps);
        goto done;
    }
    pre = fc_malloc(n_pre, "logits");
    step = fc_malloc(n_step ? n_step : 1, "logits steps");
    one = fc_malloc(n_one, "logits");
    tokens = fc_malloc((size_t)(Tmax + steps) * (size_t)B * sizeof(int32_t), "logits tokens");
    if (!pre || !step || !one || !tokens) {
        e = FC_ENOMEM;
        goto done;
    }
    if ((e = fc_eval_pool_for(m, B, Tmax + steps, &kv))) goto done;
    for (int b = 0; b < B; b++) {
        if ((e = fc_kv_seq_create(kv, &seqs[b]))) goto done;
        ins[b] = fc_eval_input_seq(&its[b].in, seqs[b]);
    }
    if (!cm) { /* every prompt of the batch in one prefill; rows in input order */
        if ((e = fc_llm_forward(m, kv, ins, B, FC_LLM_ROWS_ALL, pre, NULL))) goto done;
    } else {
        for (int b = 0; b < B; b++)
            if ((e = prefill_compressed(m, kv, cm, &its[b], seqs[b], pre))) goto done;
    }
    for (int s = 0; s < steps; s++) { /* greedy, all sequences in one decode call */
        for (int b = 0; b < B; b++) {
            const float *last = s ? step + ((size_t)(s - 1) * B + b) * V : pre + (its[b].row0 + its[b].in.n - 1) * V;
            tok[b] = argmax(last, V);
            tokens[(size_t)b * (Tmax + steps) + its[b].in.n + s] = tok[b];
        }
        if ((e = fc_llm_decode(m, kv, seqs, tok, B, step + (size_t)s * B * V))) goto done;
    }
    for (int b = 0; b < B; b++) {
        const int T = its[b].in.n;
        int32_t *tk = tokens + (size_t)b * (Tmax + steps);
        memcpy(tk, its[b].in.ids, (size_t)T * sizeof(int32_t));
        memcpy(one, pre + its[b].row0 * V, (size_t)T * V * sizeof(float));
        for (int s = 0; s < steps; s++)
            memcpy(one + (size_t)(T + s) * V, step + ((size_t)s * B + b) * V, (size_t)V * sizeof(float));
        const char *dst = o->out;
        if (o->prompts) {
            free(path);
            char name[FC_PROMPTS_MAX_ID + 16];
            snprintf(name, sizeof name, "%s.safetensors", ps[b].id);
            if (!(path = fc_path_join(o->out, name))) {
                e = FC_ENOMEM;
                goto done;
            }
            dst = path;
        }
        if ((e = write_one(o, m, cm, &its[b], one, tk, dst))) goto done;
    }
done:
    for (int b = 0; seqs && b < B; b++) fc_kv_seq_free(kv, seqs[b]); /* FC_KV_NONE: nothing */
    for (int b = 0; its && b < B; b++) fc_eval_input_free(&its[b].in);
    fc_kv_pool_free(kv);
    free(its), free(seqs), free(ins), free(tok), free(pre), free(step), free(one), free(tokens), free(path);
    return e;
}

static bool any_images(const fc_prompt *ps, int n) {
    for (int i = 0; i < n; i++)
        if (ps[i].n_images) return true;
    return false;
}

static bool any_plain_text(const fc_prompt *ps, int n) {
    for (int i = 0; i < n; i++)
        if (ps[i].text && !ps[i].n_images) return true;
    return false;
}

/* The --out folder of --prompts: made when missing (one level). */
static fc_err out_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? FC_OK : fc_err_set(FC_EINVAL, "--out %s: not a folder", dir);
    if (mkdir(dir, 0777) != 0) return fc_err_set(FC_EIO, "--out %s: cannot make the folder: %s", dir, strerror(errno));
    return FC_OK;
}

static fc_err run(const logits_opts *o, const fc_prompt *ps, int n) {
    fc_compress_method *cm = NULL;
    fc_eval_model md = {0};
    fc_err e = FC_OK;
    if (o->method && (e = fc_compress_create(o->method, &cm))) return e;
    if (o->prompts) e = out_dir(o->out);
    if (!e) e = fc_eval_model_open(&md, o->model, o->tokenizer, any_images(ps, n), any_plain_text(ps, n));
    for (int i = 0; !e && i < n; i += o->batch)
        e = run_batch(o, &md, cm, ps + i, n - i < o->batch ? n - i : o->batch, o->prompts);
    fc_eval_model_close(&md);
    fc_compress_free(cm);
    return e;
}

static fc_err run_prompts(void *o, const fc_prompt *ps, int n) { return run(o, ps, n); }

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder (Llama / Qwen2 decoder, LLaVA or MiniCPM-V)"},
    {"--ids", "LIST", 1, "prompt token ids, comma-separated"},
    {"--text", "STR", 1, "prompt text, encoded with the folder's tokenizer (BOS added for Llama)"},
    {"--image", "FILE", FC_VLM_MAX_IMAGES,
     "VLM folder only: --text is the question about the images (repeat for several,\n"
     "all placed before the text); the prompt is the chat template with each image\n"
     "expanded and its rows spliced in, as fc-eval run builds it (see run --show-prompt)"},
    {"--prompts", "FILE", 1,
     "a file of prompts instead: one a line, or JSON lines {\"id\", \"text\" or \"ids\",\n"
     "\"images\"}; each gets its own DIR/<id>.safetensors (id: the line number when\n"
     "absent)"},
    {"--batch", "B", 1, "with --prompts: prompts per batched forward (default 8)"},
    {"--tokenizer", "DIR", 1, "with --image or --prompts: the tokenizer files from DIR instead of --model (as run)"},
    {"--steps", "N", 1, "greedy decode steps after the prompt (default 0)"},
    {"--method", "SPEC", 1,
     "compress the prompt's KV after its prefill (see fc-eval methods), e.g.\n"
     "snapkv:ratio=4; the rows after the compressed part come from the compressed\n"
     "cache, at the positions they would have had without compression"},
    {"--compress-at", "N", 1,
     "prefill and compress the first N prompt tokens, then feed the rest\n"
     "(default: all of the prompt, as kvpress compresses a context)"},
    {"--hold-last", NULL, 1,
     "--compress-at T-1: FastCache's serving convention (the prompt's last token\n"
     "is the first decode input, so its logits come from the compressed cache);\n"
     "the default for ccm"},
    {"--no-hold-last", NULL, 1, "with --method ccm: compress all of the prompt (the default of the other methods)"},
    {"--out", "FILE", 1,
     "output .safetensors (written to a temporary name, then renamed); with --prompts\n"
     "a folder (made when missing)"},
    {0}};

static int cmd_logits(const fc_cli_args *a) {
    logits_opts o = {.batch = 8};
    const char *ids = fc_cli_value(a, "--ids"), *text = fc_cli_value(a, "--text");
    const char *const *images;
    int n_images = fc_cli_values(a, "--image", &images);
    o.model = fc_cli_value(a, "--model"), o.tokenizer = fc_cli_value(a, "--tokenizer");
    o.out = fc_cli_value(a, "--out"), o.method = fc_cli_value(a, "--method"), o.prompts = fc_cli_value(a, "--prompts");
    const char *at_s = fc_cli_value(a, "--compress-at");
    bool hold_last = fc_cli_flag(a, "--hold-last"), no_hold = fc_cli_flag(a, "--no-hold-last");
    if (!o.model || !o.out) return fc_cli_error("logits: --model DIR and --out FILE are required (with --prompts, --out DIR)"), 2;
    if (o.prompts && (ids || text || n_images))
        return fc_cli_error("logits: --prompts FILE replaces --ids, --text and --image"), 2;
    if (!o.prompts && !ids == !text) return fc_cli_error("logits: give exactly one of --ids, --text and --prompts"), 2;
    if (n_images && !text) return fc_cli_error("logits: --image needs --text (the question)"), 2;
    if (o.tokenizer && !n_images && !o.prompts)
        return fc_cli_error("logits: --tokenizer goes with --image or --prompts (a VLM's prompt)"), 2;
    if ((at_s || hold_last || no_hold) && !o.method)
        return fc_cli_error("logits: --compress-at, --hold-last and --no-hold-last need --method"), 2;
    if ((at_s != NULL) + hold_last + no_hold > 1)
        return fc_cli_error("logits: give at most one of --compress-at, --hold-last and --no-hold-last"), 2;
    if (o.method && !at_s && !no_hold) { /* ccm holds the last token by default, as fc-train and quality do */
        fc_compress_method *cm = NULL;
        fc_err ce = fc_compress_create(o.method, &cm);
        if (!ce) hold_last = hold_last || fc_serve_hold_last_default(cm);
        fc_compress_free(cm);
        if (ce) return fc_cli_fail(ce);
    }
    if (fc_cli_flag(a, "--batch") && !o.prompts) return fc_cli_error("logits: --batch goes with --prompts"), 2;
    long steps = 0, at = 0, batch = o.batch;
    fc_err e;
    if ((e = fc_cli_long(a, "--steps", 0, 100000, &steps)) || (e = fc_cli_long(a, "--compress-at", 1, 1 << 24, &at)) ||
        (e = fc_cli_long(a, "--batch", 1, 1024, &batch)))
        return fc_cli_fail(e);
    o.steps = (int)steps, o.batch = (int)batch;
    o.compress_at = hold_last ? -1 : (int)at;
    e = fc_eval_prompts_run(o.prompts, text, ids, (const char *const *)images, n_images, run_prompts, &o);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_logits = {
    "logits", cmd_logits, "decoder logits at every prompt position and N greedy steps, to safetensors",
    "--model DIR (--ids 1,2,3 | --text STR [--image FILE ...] | --prompts FILE [--batch B])\n"
    "                     [--tokenizer DIR] [--steps N]\n"
    "                     [--method SPEC [--compress-at N | --hold-last | --no-hold-last]] --out FILE.safetensors",
    "Runs the prompt through the decoder (one prefill), then N greedy decode steps, and writes\n"
    "  logits  f32 [T+N, V]  row i: the prediction after token i (T prompt rows, then N steps)\n"
    "  tokens  i32 [T+N]     the prompt, then the N greedy tokens fed back\n"
    "with the model folder, prompt length, steps and tokens in the metadata; with --image also\n"
    "images (the count), image.K (the file) and image.K.spans (\"start:end\" of each of its pieces).",
    options, 0,
    "With --method the metadata adds method, compress_at, kv_tokens_before/after (longest layer),\n"
    "kv_entries_before/after (summed over layers), ratio_achieved (of the entries),\n"
    "kvpress_compression_ratio and kv_bytes_before/after (the sequence's pool blocks)."};
