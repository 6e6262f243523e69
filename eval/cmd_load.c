/* cmd_load.c: `fc-eval load`: a serving run under concurrent load with real model compute (the staged
 * scheduler of core/serve/scheduler.h), its metrics (core/serve/metrics.h) and its result files
 * (eval/load_report.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/compress/compress.h"
#include "core/io/hfconfig.h"
#include "core/serve/arrival.h"
#include "core/serve/metrics.h"
#include "core/serve/scheduler.h"
#include "data/dataset.h"
#include "eval/commands.h"
#include "eval/load_report.h"
#include "eval/load_workload.h"
#include "eval/results_io.h"
#include "eval/sampling_cli.h"

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder: a VLM (llava, minicpmv) or a bare decoder (llama, qwen2)"},
    {"--data", "SPEC", 1,
     "a data set (LLaVA conversation JSON, GQA questions, MileBench folder; see fc-eval\n"
     "data) asked of a VLM, or synthetic:prompt=N[,image=K,image_start=S,records=R,seed=X]\n"
     "(seeded random prompts with an image span, for any model)"},
    {"--images", "DIR", 1, "folder the data set's image paths are relative to (default: the file's folder)"},
    {"--format", "F", 1, "auto (default), llava, gqa or milebench"},
    {"--method", "SPEC", 1, "none (the full cache) or a compression method (see fc-eval methods)"},
    {"--req-per-sec", "R", 1, "mean arrival rate (> 0)"},
    {"--arrival", "A", 1, "poisson (default: seeded exponential gaps) or constant (gap 1/R, the original's)"},
    {"--requests", "N", 1, "requests sent (default 90); request i asks record perm[i mod records], perm a\nseeded shuffle"},
    {"--prefill-batch", "P", 1, "requests prefilled in one forward (default 15)"},
    {"--compress-batch", "C", 1, "sequences compressed per compression stage (default 45)"},
    {"--decode-batch", "D", 1, "requests in flight at most, so at most D decode in one step (default 90)"},
    {"--kv-budget", "BYTES", 1, "KV pool size in bytes (suffix k, M, G for KiB, MiB, GiB), rounded down to blocks"},
    {"--kv-blocks", "N", 1,
     "KV pool size in blocks of --block-size tokens of every layer\n"
     "(default: room for D requests of the longest prompt + T tokens)"},
    {"--block-size", "B", 1, "tokens per KV block (default 16)"},
    {"--max-new-tokens", "T", 1, "tokens generated per request at most (default 512)"},
    FC_SAMPLING_CLI_OPTIONS,
    {"--ignore-eos", NULL, 1, "always generate T tokens (fixed output lengths, for throughput runs)"},
    {"--tokenizer", "DIR", 1, "take the tokenizer files from DIR instead of --model"},
    {"--out", "DIR", 1, "results folder (default results/load)"},
    {"--no-progress", NULL, 1, "no progress bar on stderr"},
    {0}};

typedef struct {
    const char *model, *tokenizer, *data, *images, *format, *method, *arrival, *out;
    const char *s_rate, *s_requests, *s_p, *s_c, *s_d, *s_budget, *s_blocks, *s_block_size;
    fc_sampling_cli gen;
    bool ignore_eos, no_progress;
} load_args;

/* "64M", "1.5G", "1048576": bytes (k, M, G = powers of 1024). */
static fc_err parse_bytes(const char *opt, const char *s, long long *out) {
    char *end;
    double v = strtod(s, &end);
    double mul = 1;
    if (end != s && *end) {
        char u = (char)toupper((unsigned char)*end);
        mul = u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : u == 'T' ? 1099511627776.0 : 0;
        end++;
        if (mul && (*end == 'i' || *end == 'I')) end++;
        if (mul && (*end == 'b' || *end == 'B')) end++;
    }
    if (end == s || *end || !mul || !isfinite(v) || v < 0 || v * mul > 9e18)
        return fc_err_set(FC_EINVAL, "%s '%s': expected a size in bytes (e.g. 268435456, 256M, 1.5G)", opt, s);
    *out = (long long)(v * mul);
    return FC_OK;
}

typedef struct {
    fc_vlm *vlm;
    fc_llm *llm_owned;
    fc_llm *llm;
    fc_dataset data;
    fc_serve_synthetic synth;
    fc_load_vlm_data vctx;
    fc_serve_workload w;
    fc_compress_method *method;
    fc_kv_pool *kv;
    fc_serve_req *reqs;
    fc_serve_trace trace;
    char **rec_ids;
    int32_t eos[4];
    int n_eos;
    char arch[16];
} load_state;

static void state_free(load_state *st) {
    fc_serve_trace_free(&st->trace);
    fc_serve_reqs_free(st->reqs, 0);
    fc_kv_pool_free(st->kv);
    fc_compress_free(st->method);
    fc_dataset_free(&st->data);
    fc_vlm_free(st->vlm);
    fc_llm_free(st->llm_owned);
    free(st->rec_ids);
}

static fc_err open_model(load_state *st, const load_args *a) {
    fc_model_config mc;
    FC_TRY(fc_hfconfig_load(&mc, a->model));
    snprintf(st->arch, sizeof st->arch, "%s", fc_arch_name(mc.arch));
    if (mc.arch == FC_ARCH_LLAVA || mc.arch == FC_ARCH_MINICPMV) {
        FC_TRY(fc_vlm_load(&st->vlm, a->model, a->tokenizer));
        st->llm = st->vlm->llm;
        for (int k = 0; k < st->vlm->n_eos; k++) st->eos[st->n_eos++] = st->vlm->eos[k];
    } else {
        FC_TRY(fc_llm_load(&st->llm_owned, a->model));
        st->llm = st->llm_owned;
        if (st->llm->cfg.eos_token_id >= 0) st->eos[st->n_eos++] = st->llm->cfg.eos_token_id;
    }
    return FC_OK;
}

static fc_err open_data(load_state *st, const load_args *a) {
    if (!strncmp(a->data, "synthetic:", 10)) {
        FC_TRY(fc_serve_synthetic_parse(a->data, st->llm->cfg.vocab_size, &st->synth));
        return fc_serve_synthetic_workload(&st->synth, &st->w);
    }
    if (!st->vlm)
        return fc_err_set(FC_EINVAL, "--data %s: a data set needs a VLM (%s is a bare %s decoder); use "
                                     "--data synthetic:prompt=N for it", a->data, a->model, st->arch);
    fc_data_opts o = {.images_dir = a->images};
    if (a->format) FC_TRY(fc_data_format_parse(a->format, &o.format));
    FC_TRY(fc_dataset_read(a->data, &o, &st->data));
    if (st->data.n == 0) return fc_err_set(FC_EINVAL, "%s: no usable records", a->data);
    st->vctx = (fc_load_vlm_data){.vlm = st->vlm, .data = &st->data};
    fc_load_vlm_workload(&st->vctx, &st->w);
    st->rec_ids = fc_malloc((size_t)st->data.n * sizeof *st->rec_ids, "record ids");
    if (!st->rec_ids) return FC_ENOMEM;
    for (int r = 0; r < st->data.n; r++) st->rec_ids[r] = st->data.recs[r].id;
    return FC_OK;
}

static int run_load(const load_args *a, const fc_serve_config *base, fc_serve_arrival arrival, double rate,
                    long n_req, long kv_blocks_arg, long long kv_budget, long block_size) {
    load_state st;
    memset(&st, 0, sizeof st);
    fc_serve_config cfg = *base;
    fc_err e = FC_OK;
    char *out_made = NULL; /* the first folder of --out this run makes: a rejected run leaves nothing */
    if (strcmp(a->method, "none") && (e = fc_compress_create(a->method, &st.method))) goto fail;
    if ((e = fc_out_check(a->out, &out_made))) goto fail;
    if ((e = open_model(&st, a))) goto fail;
    if ((e = open_data(&st, a))) goto fail;
    cfg.method = st.method;
    cfg.gen.eos_ids = st.eos;
    cfg.gen.n_eos = a->ignore_eos ? 0 : st.n_eos;
    int n = (int)n_req;
    double *t = fc_malloc((size_t)n * sizeof *t, "arrivals");
    int *perm = fc_malloc((size_t)st.w.n_records * sizeof *perm, "request order");
    int *lens = fc_malloc((size_t)st.w.n_records * sizeof *lens, "prompt lengths");
    st.reqs = fc_calloc((size_t)n, sizeof *st.reqs, "requests");
    if (!t || !perm || !lens || !st.reqs) e = FC_ENOMEM;
    if (!e) e = fc_serve_arrival_times(arrival, rate, n, (uint64_t)cfg.gen.seed, t);
    /* the request order: a seeded Fisher-Yates shuffle of the records, cycled when there are fewer */
    fc_rng rng;
    fc_rng_seed(&rng, (uint64_t)cfg.gen.seed, 0x6f7264ULL);
    for (int r = 0; r < st.w.n_records && !e; r++) perm[r] = r;
    for (int r = st.w.n_records - 1; r > 0 && !e; r--) {
        int j = (int)(fc_rng_next(&rng) % (uint64_t)(r + 1));
        int x = perm[r];
        perm[r] = perm[j], perm[j] = x;
    }
    int longest = 0, longest_r = 0;
    for (int r = 0; r < st.w.n_records && !e; r++) {
        lens[r] = -1;
        if (r < n) { /* only records that are asked */
            e = st.w.length(st.w.ctx, perm[r], &lens[r]);
            if (lens[r] > longest) longest = lens[r], longest_r = perm[r];
        }
    }
    for (int i = 0; i < n && !e; i++) {
        int r = i % st.w.n_records;
        st.reqs[i] = (fc_serve_req){.id = i, .record = perm[r], .t_arrival = t[i], .n_prompt = lens[r]};
    }
    free(t), free(perm), free(lens);
    if (e) goto fail;
    /* the pool */
    fc_kv_pool_params pp = fc_llm_kv_params(st.llm, (int)block_size, 1, cfg.decode_batch);
    long long block_bytes = (long long)pp.n_layers * 2 * block_size * pp.n_kv_heads * pp.head_dim *
                            (long long)fc_dtype_size(pp.dtype);
    long blocks;
    if (kv_budget >= 0) {
        if (kv_budget < block_bytes) {
            e = fc_err_set(FC_EINVAL,
                           "--kv-budget %lld bytes is less than one KV block (%lld bytes: %ld tokens x %d layers x K,V x "
                           "%d heads x %d dims x %zu bytes)",
                           kv_budget, block_bytes, block_size, pp.n_layers, pp.n_kv_heads, pp.head_dim,
                           fc_dtype_size(pp.dtype));
            goto fail;
        }
        blocks = (long)(kv_budget / block_bytes);
    } else if (kv_blocks_arg > 0) {
        blocks = kv_blocks_arg;
    } else {
        long per = (longest + cfg.gen.max_new_tokens + block_size - 1) / block_size + 1;
        blocks = per * cfg.decode_batch;
    }
    /* The pool is allocated up front: a size past the machine's memory (say a huge --max-new-tokens in
     * the default budget) is refused here with the knobs to turn, not left to the allocator. */
    long long phys = (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
    if (blocks > (1L << 26) || (phys > 0 && (double)blocks * (double)block_bytes > (double)phys)) {
        e = fc_err_set(FC_EINVAL,
                       "KV pool of %ld blocks x %lld bytes = %.4g GiB is more than this machine's memory (%.4g GiB): "
                       "lower --max-new-tokens or --decode-batch, or give a smaller --kv-budget / --kv-blocks",
                       blocks, block_bytes, (double)blocks * (double)block_bytes / 1073741824.0,
                       (double)phys / 1073741824.0);
        goto fail;
    }
    /* positions: the prompt's, then one per generated token but the last (never fed back) */
    const int ctx = st.llm->cfg.max_position_embeddings;
    if (ctx > 0 && (long)longest + cfg.gen.max_new_tokens - 1 > ctx) {
        char shown[200] = "", id[160];
        if (st.rec_ids)
            snprintf(shown, sizeof shown, " (id '%s')", fc_data_id_for_message(st.rec_ids[longest_r], id, sizeof id));
        e = fc_err_set(FC_EINVAL, "record %d%s: %d prompt tokens + --max-new-tokens %d need %ld positions, past the "
                                  "model's context of %d (max_position_embeddings in %s/config.json): lower "
                                  "--max-new-tokens or use shorter prompts", longest_r, shown, longest,
                       cfg.gen.max_new_tokens, (long)longest + cfg.gen.max_new_tokens - 1, ctx, a->model);
        goto fail;
    }
    pp.n_blocks = (int)blocks;
    if ((e = fc_kv_pool_create(&st.kv, &pp))) goto fail;
    fc_kv_stats ks;
    fc_kv_pool_stats(st.kv, &ks);
    fc_load_config lc = {
        .model = a->model, .arch = st.arch, .data = a->data, .data_description = st.w.description, .images = a->images,
        .method_spec = st.method ? fc_compress_spec(st.method) : "none",
        .method_name = st.method ? fc_compress_name(st.method) : "none",
        .ratio_x = st.method ? fc_compress_ratio(st.method) : 1.0,
        .kvpress_ratio = st.method ? fc_compress_kvpress_ratio(st.method) : 0.0, .arrival = fc_serve_arrival_names[arrival],
        .rate = rate, .requests = n, .prefill_batch = cfg.prefill_batch, .compress_batch = cfg.compress_batch,
        .decode_batch = cfg.decode_batch, .kv_budget_bytes = (long long)ks.bytes_capacity, .kv_blocks = pp.n_blocks,
        .block_size = (int)block_size, .kv_block_bytes = (long long)ks.bytes_per_block,
        .max_new_tokens = cfg.gen.max_new_tokens, .temperature = cfg.gen.temperature, .top_k = cfg.gen.top_k,
        .top_p = cfg.gen.top_p, .seed = (long long)cfg.gen.seed, .ignore_eos = a->ignore_eos};
    if ((e = fc_out_mkdirs(a->out))) goto fail; /* every check passed: the results folder now */
    if ((e = fc_serve_run(st.llm, st.kv, &st.w, &cfg, st.reqs, n, &st.trace))) goto fail;
    fc_serve_summary sum;
    if ((e = fc_serve_summarize(st.reqs, n, &st.trace, ks.bytes_capacity, &sum))) goto fail;
    if ((e = fc_load_report_write(a->out, &lc, st.reqs, n, (const char *const *)st.rec_ids, &st.trace, &sum))) goto fail;
    fc_load_report_print(stdout, &lc, &sum);
    printf("results in %s/ (requests.csv, kv_timeline.csv, summary.json)\n", a->out);
    fc_serve_reqs_free(st.reqs, n);
    st.reqs = NULL;
    state_free(&st);
    free(out_made);
    return 0;
fail:
    fc_serve_reqs_free(st.reqs, st.reqs ? n_req : 0);
    st.reqs = NULL;
    state_free(&st);
    fc_out_unmake(a->out, out_made);
    free(out_made);
    return fc_cli_fail(e);
}

static int cmd_load(const fc_cli_args *cl) {
    load_args a = {.gen = fc_sampling_cli_defaults(512), .arrival = "poisson", .out = "results/load"};
    a.model = fc_cli_value(cl, "--model"), a.tokenizer = fc_cli_value(cl, "--tokenizer");
    a.data = fc_cli_value(cl, "--data"), a.images = fc_cli_value(cl, "--images");
    a.format = fc_cli_value(cl, "--format"), a.method = fc_cli_value(cl, "--method");
    a.s_rate = fc_cli_value(cl, "--req-per-sec"), a.s_requests = fc_cli_value(cl, "--requests");
    a.s_p = fc_cli_value(cl, "--prefill-batch"), a.s_c = fc_cli_value(cl, "--compress-batch");
    a.s_d = fc_cli_value(cl, "--decode-batch"), a.s_budget = fc_cli_value(cl, "--kv-budget");
    a.s_blocks = fc_cli_value(cl, "--kv-blocks"), a.s_block_size = fc_cli_value(cl, "--block-size");
    if (fc_cli_value(cl, "--arrival")) a.arrival = fc_cli_value(cl, "--arrival");
    if (fc_cli_value(cl, "--out")) a.out = fc_cli_value(cl, "--out");
    a.ignore_eos = fc_cli_flag(cl, "--ignore-eos"), a.no_progress = fc_cli_flag(cl, "--no-progress");
    fc_sampling_cli_take(&a.gen, cl);
    if (!a.model || !a.data || !a.method || !a.s_rate)
        return fc_cli_error("load: --model DIR, --data SPEC, --method SPEC and --req-per-sec R are required"), 2;
    fc_serve_arrival arrival;
    double rate;
    long n_req = 90, P = 15, C = 45, D = 90, kv_blocks = 0, block_size = 16;
    long long kv_budget = -1;
    fc_err e = fc_serve_arrival_parse(a.arrival, &arrival);
    if (!e) e = fc_cli_parse_double("--req-per-sec", a.s_rate, 0, 1e9, &rate);
    if (!e && !(rate > 0))
        e = fc_err_set(FC_EINVAL, "--req-per-sec %s: the rate must be > 0 (a rate of 0 never sends a request)", a.s_rate);
    if (!e && a.s_requests) e = fc_cli_parse_long("--requests", a.s_requests, 1, 1 << 24, &n_req);
    /* a run whose requests arrive over more than a day would look like a hang: 2 requests at 1e-9/s wait
     * 31 years for the second */
    if (!e && (double)(n_req - 1) / rate > 86400.0)
        e = fc_err_set(FC_EINVAL, "--req-per-sec %s with %ld requests: the last would arrive after %.3g s (more than a day)",
                       a.s_rate, n_req, (double)(n_req - 1) / rate);
    if (!e && a.s_p) e = fc_cli_parse_long("--prefill-batch", a.s_p, 1, 1 << 16, &P);
    if (!e && a.s_c) e = fc_cli_parse_long("--compress-batch", a.s_c, 1, 1 << 16, &C);
    if (!e && a.s_d) e = fc_cli_parse_long("--decode-batch", a.s_d, 1, 1 << 16, &D);
    if (!e && a.s_block_size) e = fc_cli_parse_long("--block-size", a.s_block_size, 1, 4096, &block_size);
    if (!e && a.s_budget && a.s_blocks) e = fc_err_set(FC_EINVAL, "give --kv-budget or --kv-blocks, not both");
    if (!e && a.s_budget) e = parse_bytes("--kv-budget", a.s_budget, &kv_budget);
    if (!e && a.s_blocks) e = fc_cli_parse_long("--kv-blocks", a.s_blocks, 1, 1L << 26, &kv_blocks);
    if (!e) e = fc_sampling_cli_parse(&a.gen);
    if (!e && strcmp(a.method, "none")) { /* a bad spec fails before the model loads */
        fc_compress_method *cm = NULL;
        e = fc_compress_create(a.method, &cm);
        fc_compress_free(cm);
    }
    if (e) return fc_cli_fail(e);
    fc_serve_config cfg = {.prefill_batch = (int)P, .compress_batch = (int)C, .decode_batch = (int)D,
                           .progress = !a.no_progress,
                           .gen = {.max_new_tokens = (int)a.gen.max_new, .temperature = (float)a.gen.temperature,
                                   .top_k = (int)a.gen.top_k, .top_p = (float)a.gen.top_p, .seed = (uint64_t)a.gen.seed}};
    return run_load(&a, &cfg, arrival, rate, n_req, kv_blocks, kv_budget, block_size);
}

const fc_cli_command fc_cmd_load = {
    "load", cmd_load, "serve requests arriving in real time (FCFS, KV-block admission, continuous batching); metrics",
    "--model DIR --data SPEC [--images DIR] --method SPEC --req-per-sec R\n"
    "                    [--arrival poisson|constant] [--requests N] [--prefill-batch P] [--compress-batch C]\n"
    "                    [--decode-batch D] [--kv-budget BYTES | --kv-blocks N] [--block-size B]\n"
    "                    [--max-new-tokens T] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
    "                    [--ignore-eos] [--tokenizer DIR] [--format F] [--out DIR] [--no-progress]",
    "Serves requests arriving in real time with real model compute: one FCFS queue, admission by free KV\n"
    "blocks, batched prefill, batched compression, continuous batching at decode. Writes requests.csv,\n"
    "kv_timeline.csv and summary.json into --out and prints a table.",
    options, 0, "The seed (--seed) also draws the arrivals and the request order."};
