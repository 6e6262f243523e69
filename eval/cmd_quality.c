/* cmd_quality.c: `fc-eval quality`: answer accuracy and fidelity to the full cache, per compression method,
 * on dataset records (core/serve/quality.h), with a held-out check of CCM checkpoints
 * (core/serve/heldout.h); results as a table and as files (eval/quality_out.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/base/timer.h"
#include "core/serve/heldout.h"
#include "eval/commands.h"
#include "eval/quality_out.h"
#include "kernels/backend.h"

/* LLaVA-1.5's GQA evaluation prompt (llava/eval: "Answer the question using a single word or phrase.") */
#define GQA_SUFFIX "\nAnswer the question using a single word or phrase."
#define MAX_METHODS 64

typedef struct {
    const char *model, *tokenizer, *data, *out, *ccm, *suffix;
    const char *specs[MAX_METHODS];
    int n_specs;
    fc_data_opts dopts;
    long limit, max_new, max_answer;
    double kv_budget;
    bool allow_overlap, first_turn_only;
} quality_opts;

/* The weights path of a "ccm:...weights=PATH,..." spec, copied into buf; false for other methods. */
static bool ccm_weights(const char *spec, char *buf, size_t cap) {
    if (strncmp(spec, "ccm", 3) || (spec[3] && spec[3] != ':')) return false;
    const char *w = strstr(spec, "weights=");
    if (!w) return false;
    w += 8;
    size_t n = strcspn(w, ",");
    snprintf(buf, cap, "%.*s", (int)n, w);
    return true;
}

static cJSON *config_json(const quality_opts *o, const fc_vlm *vlm, const fc_dataset *d, const fc_quality_opts *qo,
                          int argc, char *const *argv) {
    cJSON *c = cJSON_CreateObject();
    char cmd[8192] = "";
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(cmd);
        snprintf(cmd + n, sizeof cmd - n, "%s%s", i ? " " : "fc-eval ", argv[i]);
    }
    cJSON_AddStringToObject(c, "command", cmd);
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(c, "finished_utc", when);
    cJSON *v = cJSON_AddObjectToObject(c, "versions");
    cJSON_AddStringToObject(v, "fastcache", FC_VERSION);
    cJSON_AddStringToObject(v, "cjson", cJSON_Version());
    cJSON_AddStringToObject(v, "cuda", fc_cuda_built() ? fc_cuda_describe() : "not built");
    cJSON_AddStringToObject(v, "compute", "CPU f32 reference path");
    cJSON *m = cJSON_AddObjectToObject(c, "model");
    cJSON_AddStringToObject(m, "dir", o->model);
    cJSON_AddStringToObject(m, "tokenizer", o->tokenizer ? o->tokenizer : o->model);
    cJSON_AddStringToObject(m, "arch", fc_arch_name(vlm->cfg.arch));
    cJSON_AddNumberToObject(m, "layers", vlm->llm->cfg.num_layers);
    cJSON_AddNumberToObject(m, "kv_heads", vlm->llm->cfg.num_kv_heads);
    cJSON_AddNumberToObject(m, "head_dim", vlm->llm->cfg.head_dim);
    cJSON_AddNumberToObject(m, "vocab_size", vlm->llm->cfg.vocab_size);
    cJSON *dd = cJSON_AddObjectToObject(c, "data");
    cJSON_AddStringToObject(dd, "path", d->path);
    cJSON_AddStringToObject(dd, "format", fc_data_format_names[d->format]);
    cJSON_AddStringToObject(dd, "images", o->dopts.images_dir ? o->dopts.images_dir : "(the data file's folder)");
    cJSON_AddNumberToObject(dd, "records_evaluated", d->n);
    cJSON_AddNumberToObject(dd, "records_seen", d->n_seen);
    cJSON *sk = cJSON_AddObjectToObject(dd, "skipped");
    for (int i = 0; i < FC_DATA_SKIP_COUNT; i++) cJSON_AddNumberToObject(sk, fc_data_skip_names[i], d->skipped[i]);
    if (d->first_skip) cJSON_AddStringToObject(dd, "first_skip", d->first_skip);
    cJSON_AddBoolToObject(dd, "lenient", o->dopts.lenient);
    if (o->dopts.image_prefix) cJSON_AddStringToObject(dd, "image_prefix", o->dopts.image_prefix);
    cJSON_AddNumberToObject(dd, "limit", (double)o->limit);
    cJSON *q = cJSON_AddObjectToObject(c, "options");
    cJSON_AddNumberToObject(q, "max_new_tokens", qo->max_new_tokens);
    cJSON_AddNumberToObject(q, "max_answer_tokens", qo->max_answer_tokens);
    cJSON_AddBoolToObject(q, "hold_last", qo->hold_last);
    cJSON_AddStringToObject(q, "prompt_suffix", qo->prompt_suffix);
    cJSON_AddNumberToObject(q, "kv_budget_bytes", (double)qo->kv_budget_bytes);
    cJSON_AddStringToObject(q, "decoding", "greedy (argmax, lowest id on ties)");
    cJSON_AddBoolToObject(q, "first_turn_only", qo->first_turn_only);
    cJSON_AddStringToObject(q, "questions", qo->first_turn_only ? "the first question of each record"
                            : "every question of each record; later ones after the earlier reference answers, "
                              "the record's first prompt compressed, the rest of the chat appended uncompressed");
    cJSON_AddStringToObject(q, "kl", "kl_mean, top1_agreement: KL(full || method) in nats and top-1 agreement, mean "
                            "over each question's teacher-forced tokens, then over questions; kl_per_token, "
                            "top1_per_token: over all teacher-forced tokens at once");
    cJSON_AddBoolToObject(q, "allow_overlap", o->allow_overlap);
    return c;
}

static fc_err run(const quality_opts *o, int argc, char *const *argv) {
    fc_quality_method methods[MAX_METHODS + 2] = {{"none", NULL}};
    int n_methods = 1;
    fc_dataset d = {0};
    fc_vlm *vlm = NULL;
    fc_quality_result res = {0};
    cJSON *cfg = NULL, *held = cJSON_CreateArray();
    const char **ids = NULL;
    char ccm_spec[4200];
    fc_err e = FC_OK;
    /* every method first: an unknown one fails before anything loads */
    for (int i = 0; i < o->n_specs + (o->ccm != NULL) && !e; i++) {
        const char *spec = i < o->n_specs ? o->specs[i] : (snprintf(ccm_spec, sizeof ccm_spec, "ccm:weights=%s", o->ccm), ccm_spec);
        if (!strcmp(spec, "none")) continue; /* the full cache is always method 0 */
        methods[n_methods].spec = spec;
        if (!(e = fc_compress_create(spec, &methods[n_methods].m))) n_methods++;
    }
    if (!e && o->out) e = fc_quality_out_check(o->out); /* an unwritable --out fails now, not after the run */
    if (!e) e = fc_dataset_read(o->data, &o->dopts, &d);
    if (!e && d.n == 0) e = fc_err_set(FC_EINVAL, "%s: no record to evaluate (%d seen, all skipped)", o->data, d.n_seen);
    if (e) goto done;
    if (!(ids = fc_malloc((size_t)d.n * sizeof *ids, "record ids"))) {
        e = FC_ENOMEM;
        goto done;
    }
    for (int i = 0; i < d.n; i++) ids[i] = d.recs[i].id;
    for (int j = 1; j < n_methods && !e; j++) { /* held out: every CCM checkpoint against the evaluated ids */
        char w[4096];
        if (!ccm_weights(methods[j].spec, w, sizeof w)) continue;
        fc_heldout_report rep;
        if ((e = fc_heldout_check(w, ids, d.n, o->allow_overlap, &rep))) break;
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "checkpoint", w);
        cJSON_AddBoolToObject(h, "records_ids", rep.has_ids);
        cJSON_AddNumberToObject(h, "train_ids", rep.n_train);
        cJSON_AddNumberToObject(h, "val_ids", rep.n_val);
        cJSON_AddNumberToObject(h, "evaluated_in_train", rep.train_overlap);
        cJSON_AddNumberToObject(h, "evaluated_in_val", rep.val_overlap);
        cJSON_AddItemToArray(held, h);
        if (rep.train_overlap || rep.val_overlap || !rep.has_ids)
            fprintf(stderr, "fc-eval: warning: %s: %s (--allow-overlap)\n", w,
                    rep.has_ids ? "evaluated ids overlap its training or validation ids" : "records no train/val ids");
    }
    if (e) goto done;
    if ((e = fc_vlm_load(&vlm, o->model, o->tokenizer))) goto done;
    const char *suffix = o->suffix ? o->suffix : d.format == FC_DATA_GQA ? GQA_SUFFIX : "";
    fc_quality_opts qo = {.max_new_tokens = (int)o->max_new, .max_answer_tokens = (int)o->max_answer, .hold_last = true,
                          .prompt_suffix = suffix, .kv_budget_bytes = (size_t)o->kv_budget,
                          .first_turn_only = o->first_turn_only};
    long n_items = 0;
    for (int i = 0; i < d.n; i++) n_items += fc_quality_record_items(&d.recs[i], o->first_turn_only);
    fflush(stdout); /* the progress lines go to stderr */
    fc_progress prog;
    fc_progress_begin(&prog, "quality", n_items * n_methods);
    double t0 = fc_time_now();
    e = fc_quality_run(vlm, d.recs, d.n, methods, n_methods, &qo, &prog, &res);
    if (e) goto done;
    fc_progress_end(&prog);
    cfg = config_json(o, vlm, &d, &qo, argc, argv);
    cJSON *ms = cJSON_AddArrayToObject(cfg, "methods");
    for (int j = 0; j < n_methods; j++) cJSON_AddItemToArray(ms, cJSON_CreateString(methods[j].spec));
    cJSON_AddItemToObject(cfg, "heldout", held);
    held = NULL;
    cJSON_AddNumberToObject(cfg, "seconds", fc_time_now() - t0);
    fc_quality_report rep = {.data = &d, .methods = methods, .n_methods = n_methods, .res = &res, .config = cfg,
                             .n_layers = vlm->llm->cfg.num_layers};
    printf("quality: %d record%s (%d question%s) of %s (%s), model %s (%s)%s\n", d.n, d.n == 1 ? "" : "s",
           res.n_items, res.n_items == 1 ? "" : "s", d.path, fc_data_format_names[d.format], o->model,
           fc_arch_name(vlm->cfg.arch), res.answers_cut ? ", some reference answers cut to --max-answer-tokens" : "");
    fc_quality_print_table(&rep, stdout, stderr);
    if (o->out) {
        if ((e = fc_quality_write(&rep, o->out))) goto done;
        printf("wrote %s/quality.csv, quality_samples.csv, quality.json\n", o->out);
    }
done:
    cJSON_Delete(cfg), cJSON_Delete(held);
    fc_quality_result_free(&res);
    fc_vlm_free(vlm);
    free(ids);
    fc_dataset_free(&d);
    for (int j = 1; j < n_methods; j++) fc_compress_free(methods[j].m);
    return e;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "LLaVA-1.5 or MiniCPM-V-2.6 Hugging Face folder"},
    {"--data", "PATH", 1, "LLaVA conversation JSON, GQA questions or a MileBench folder (fc-eval data)"},
    {"--images", "DIR", 1, "image paths are relative to DIR (default: the data file's folder)"},
    {"--method", "SPEC", MAX_METHODS,
     "methods as `fc-eval methods` lists them, e.g. knorm:ratio=5; repeat the\n"
     "option or give several specs after it; \"none\" is the full cache (always run)"},
    {"--ccm", "CKPT", 1,
     "also evaluate ccm:weights=CKPT; every CCM checkpoint's train_ids/val_ids\n"
     "metadata must not hold an evaluated id"},
    {"--allow-overlap", NULL, 1,
     "evaluate even when a checkpoint trained or validated on evaluated ids\n"
     "(or records none); the overlap is reported in quality.json"},
    {"--out", "DIR", 1, "write quality.csv, quality_samples.csv, quality.json there"},
    {"--limit", "N", 1, "the first N records (after skips)"},
    {"--format", "F", 1, "auto|llava|gqa|milebench (default auto, see fc-eval data)"},
    {"--lenient", NULL, 1, "skip bad records (counted) instead of stopping at the first"},
    {"--image-prefix", "D", 1, "only records whose first image lies under D/ (the original's 'gqa')"},
    {"--tokenizer", "DIR", 1, "tokenizer files from DIR instead of --model"},
    {"--max-new-tokens", "N", 1, "greedy answer cap (default 32)"},
    {"--max-answer-tokens", "N", 1, "teacher-forced reference tokens, stop token included (default 128)"},
    {"--prompt-suffix", "TEXT", 1,
     "appended to each question (default for GQA files: \"\\nAnswer the question\n"
     "using a single word or phrase.\", LLaVA-1.5's GQA prompt; else none)"},
    {"--kv-budget", "BYTES", 1, "KV pool size; a record that does not fit is an error (default: as needed)"},
    {"--first-turn-only", NULL, 1, "evaluate only each record's first question (default: every question)"},
    {0}};

/* The method specs in command-line order: each --method's value and the words after it up to the next
 * option (`--method a b --method c`). The parser has checked the line; this walk only needs to know which
 * words are option values (a value option without '=' takes the next word). A word after anything but a
 * --method spec is an error. */
static int method_specs(const fc_cli_args *a, quality_opts *o) {
    bool in_method = false;
    for (int i = 1; i < a->argc; i++) {
        const char *w = a->argv[i], *spec = NULL;
        if (w[0] == '-' && w[1]) { /* an option: find its row to see whether it takes the next word */
            const char *eq = strchr(w, '=');
            size_t len = eq ? (size_t)(eq - w) : strlen(w);
            const fc_cli_option *row = NULL;
            for (const fc_cli_option *r = options; r->name && !row; r++)
                if (strlen(r->name) == len && !strncmp(r->name, w, len)) row = r;
            in_method = row && !strcmp(row->name, "--method");
            if (row && row->arg && !eq) i++;
            if (!in_method) continue;
            spec = eq ? eq + 1 : a->argv[i];
        } else if (in_method) {
            spec = w;
        } else {
            return fc_cli_error("quality: unexpected argument '%s' (see fc-eval quality --help)", w), 2;
        }
        if (o->n_specs == MAX_METHODS) return fc_cli_error("quality: more than %d methods", MAX_METHODS), 2;
        o->specs[o->n_specs++] = spec;
    }
    return 0;
}

static int cmd_quality(const fc_cli_args *a) {
    quality_opts o = {.max_new = 32, .max_answer = 128};
    const char *fmt = fc_cli_value(a, "--format");
    o.model = fc_cli_value(a, "--model");
    o.tokenizer = fc_cli_value(a, "--tokenizer");
    o.data = fc_cli_value(a, "--data");
    o.dopts.images_dir = fc_cli_value(a, "--images");
    o.ccm = fc_cli_value(a, "--ccm");
    o.out = fc_cli_value(a, "--out");
    o.dopts.image_prefix = fc_cli_value(a, "--image-prefix");
    o.suffix = fc_cli_value(a, "--prompt-suffix");
    o.allow_overlap = fc_cli_flag(a, "--allow-overlap");
    o.dopts.lenient = fc_cli_flag(a, "--lenient");
    o.first_turn_only = fc_cli_flag(a, "--first-turn-only");
    int st = method_specs(a, &o);
    if (st) return st;
    if (!o.model || !o.data) return fc_cli_error("quality: --model DIR and --data PATH are required"), 2;
    if (o.n_specs == 0 && !o.ccm)
        return fc_cli_error("quality: give at least one --method SPEC or --ccm CKPT (see fc-eval methods)"), 2;
    fc_err e = fmt ? fc_data_format_parse(fmt, &o.dopts.format) : FC_OK;
    if (!e) e = fc_cli_long(a, "--limit", 1, 1L << 30, &o.limit);
    if (!e) e = fc_cli_long(a, "--max-new-tokens", 1, 1 << 16, &o.max_new);
    if (!e) e = fc_cli_long(a, "--max-answer-tokens", 1, 1 << 16, &o.max_answer);
    if (!e) e = fc_cli_double(a, "--kv-budget", 1, 1e15, &o.kv_budget);
    if (e) return fc_cli_fail(e), 2;
    o.dopts.limit = (int)o.limit;
    o.dopts.max_images = FC_VLM_MAX_IMAGES;
    e = run(&o, a->argc, a->argv);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_quality = {
    "quality", cmd_quality, "answer accuracy and fidelity to the full cache per compression method, on a dataset",
    "--model DIR --data PATH [--images DIR] --method SPEC [SPEC ...] [--ccm CKPT]\n"
    "                       [--allow-overlap] [--out DIR] [--limit N] [--format F] [--lenient]\n"
    "                       [--image-prefix D] [--tokenizer DIR] [--max-new-tokens N]\n"
    "                       [--max-answer-tokens N] [--prompt-suffix TEXT] [--kv-budget BYTES]\n"
    "                       [--first-turn-only]",
    "What each KV compression method costs in answers, against the same model with its full cache.\n"
    "For every record, the full cache (\"none\", always first) and each method take the one path from\n"
    "prompt to cache (the prompt without its last token prefilled and compressed, the last token then\n"
    "decoded on the compressed cache, as FastCache serves), then:\n"
    "  accuracy  the greedy answer (stop token or --max-new-tokens) against the reference: normalised\n"
    "            exact match and contains-match (GQA/VQA normalisation: case, punctuation, articles,\n"
    "            number words); for multiple choice (MileBench) the option letter read from the answer\n"
    "  fidelity  on the reference answer teacher-forced (its tokens and the model's stop token): mean\n"
    "            KL(full || method) per token in nats, top-1 agreement; share of greedy answers\n"
    "            token-identical to the full cache's; mean first divergence (first differing token;\n"
    "            an identical answer counts its length)\n"
    "  size      KV bytes kept (exact: blocks held after compression), before, and the achieved ratio\n"
    "Every question of a multi-turn record counts: its first prompt (images + first question) is\n"
    "compressed once, as a server would; each later question is asked after the reference answers and\n"
    "questions before it, appended to that cache uncompressed (fc-train's layout), for the full cache and\n"
    "every method alike. KL/q and top-1/q are means over questions of each question's per-token mean;\n"
    "KL/tok and top-1/tok pool every teacher-forced token (long answers weigh more). quality.csv has both\n"
    "(kl_mean, top1_agreement; kl_per_token, top1_per_token); quality_samples.csv has one row per\n"
    "question and method (column turn: 1 for a record's first question).",
    options, MAX_METHODS, NULL};
