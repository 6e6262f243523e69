/* eval_config.c: the schema of fc-eval's YAML experiment config. Defaults follow the FastCache LLaVA
 * evaluation (reference/fastcache-eval-spec.md §1.1): 90 requests at 10/s, batches P=15, C=45, D=90,
 * 512 new tokens, seed 48; the arrival process defaults to poisson (the original's fixed interval is
 * "constant"). */
#include "eval/eval_config.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/wpack.h"

const char *const fc_arrival_process_names[] = {"poisson", "constant", NULL};
static const char *const eval_device_names[] = {"auto", "cpu", "cuda", NULL};
static const char *const eval_kind_names[] = {"eval", NULL};
_Static_assert(sizeof fc_arrival_process_names / sizeof fc_arrival_process_names[0] == FC_ARRIVAL_COUNT + 1,
               "fc_arrival_process_names out of sync with fc_arrival_process");

static bool is_word_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

bool fc_eval_method_spec_ok(const char *spec, char *why, size_t cap) {
    const char *p = spec;
    while (is_word_char(*p)) p++;
    if (p == spec || (*p && *p != ':')) goto bad;
    if (!*p) return true;
    p++; /* after "name:": key=value pairs separated by commas */
    for (;;) {
        const char *k = p;
        while (is_word_char(*p)) p++;
        if (p == k || *p != '=') goto bad;
        const char *v = ++p;
        while (*p && *p != ',' && *p != '=' && *p != ':') p++;
        if (p == v) goto bad;
        if (!*p) return true;
        if (*p != ',') goto bad;
        p++;
    }
bad:
    snprintf(why, cap, "expected a method as 'name' or 'name:key=value,...', got '%.60s' (problem at character %zu)",
             spec, (size_t)(p - spec) + 1);
    return false;
}

#define A fc_eval_arrival_config
static const fc_yaml_field arrival_schema[] = {
    FC_YAML_ENUM(A, process, "process", fc_arrival_process_names, "poisson", "poisson or constant inter-arrival times"),
    FC_YAML_DOUBLE(A, rate, "rate", 1e-6, 1e6, "10", "requests per second"),
    FC_YAML_INT(A, num_requests, "num_requests", 1, 10000000, "90", "requests sent in one run"),
    FC_YAML_INT(A, seed, "seed", 0, 4294967295.0, "48", "seed of the arrivals and the request order"),
    FC_YAML_END,
};
#undef A

#define B fc_eval_batching_config
static const fc_yaml_field batching_schema[] = {
    FC_YAML_INT(B, prefill, "prefill", 1, 4096, "15", "requests prefilled together (P)"),
    FC_YAML_INT(B, compress, "compress", 1, 4096, "45", "sequences compressed together (C)"),
    FC_YAML_INT(B, decode, "decode", 1, 4096, "90", "sequences decoded together at most (D)"),
    FC_YAML_END,
};
#undef B

#define R fc_eval_config
const fc_yaml_field fc_eval_config_schema[] = {
    FC_YAML_ENUM(R, kind, "kind", eval_kind_names, "eval", "what this file configures"),
    FC_YAML_STRING_REQ(R, model, "model", "model folder in the Hugging Face layout"),
    FC_YAML_STRING(R, checkpoint, "checkpoint", NULL, "learned compressor for a ccm spec without weights="),
    FC_YAML_STRING_REQ(R, dataset, "dataset", "held-out questions (LLaVA / GQA JSON)"),
    FC_YAML_STRING(R, image_root, "image_root", NULL, "folder the dataset's image paths are relative to"),
    {.key = "methods", .type = FC_YAML_STRINGS, .offset = offsetof(R, methods), .min = 1, .max = 64,
     .help = "methods compared, each 'name' or 'name:key=value,...'", .check = fc_eval_method_spec_ok, .required = true},
    FC_YAML_SECTION(R, arrival, "arrival", arrival_schema, "how requests arrive"),
    FC_YAML_SECTION(R, batching, "batching", batching_schema, "stage batch sizes of the scheduler"),
    FC_YAML_INT(R, max_new_tokens, "max_new_tokens", 1, 1 << 16, "512", "tokens generated per request"),
    FC_YAML_INT(R, max_input_tokens, "max_input_tokens", 0, 1 << 20, "0", "truncate prompts' text (0 = no limit)"),
    FC_YAML_ENUM(R, device, "device", eval_device_names, "auto", "where to run: auto picks CUDA when present"),
    FC_YAML_INT(R, threads, "threads", 0, 4096, "0", "CPU threads (0 = all cores)"),
    FC_YAML_ENUM(R, precision, "precision", fc_precision_names, "f32",
                 "CPU GEMM inputs: f32 (exact reference) or bf16 (oneDNN, f32 accumulation)"),
    FC_YAML_STRING_REQ(R, output_dir, "output_dir", "results are written under this folder"),
    FC_YAML_END,
};
#undef R

fc_err fc_eval_config_load(fc_eval_config *cfg, const char *path) {
    fc_err e = fc_yaml_load(fc_eval_config_schema, cfg, path);
    if (e) return e;
    if (cfg->methods.n == 0) { /* "methods:" left empty: min 1 applies only to a list that is written */
        fc_eval_config_free(cfg);
        return fc_err_set(FC_EINVAL, "%s: methods: at least one method is needed", path);
    }
    return FC_OK;
}

void fc_eval_config_free(fc_eval_config *cfg) {
    if (cfg) fc_yaml_free(fc_eval_config_schema, cfg);
}

void fc_eval_config_print(const fc_eval_config *cfg, FILE *f) { fc_yaml_print(fc_eval_config_schema, cfg, f); }

/* ---- kind: sweep ---- */

const char *const fc_sweep_arrival_names[] = {"inherit", "poisson", "constant", NULL};
const char *const fc_sweep_bool_names[] = {"inherit", "false", "true", NULL};
const char *const fc_sweep_kind_names[] = {"load", "quality", NULL};
static const char *const sweep_kind_names[] = {"sweep", NULL};

static bool ratio_ok(const char *text, char *why, size_t cap) {
    char *end;
    double v = strtod(text, &end);
    if (end != text && (*end == 'x' || *end == 'X')) end++;
    if (end == text || *end || !(v >= 1 && v <= 1e6)) {
        snprintf(why, cap, "expected a ratio like 5x (keep 1/5) or 5, at least 1, got '%.60s'", text);
        return false;
    }
    return true;
}

static bool rate_ok(const char *text, char *why, size_t cap) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !(v > 0 && v <= 1e6)) {
        snprintf(why, cap, "expected requests per second > 0, got '%.60s'%s", text,
                 end != text && !*end && v == 0 ? " (a rate of 0 never sends a request)" : "");
        return false;
    }
    return true;
}

static bool bytes_ok(const char *text, char *why, size_t cap) {
    char *end;
    double v = strtod(text, &end);
    if (end != text && *end && strchr("kKmMgGtT", *end)) {
        end++;
        if (*end == 'i' || *end == 'I') end++;
        if (*end == 'b' || *end == 'B') end++;
    }
    if (end == text || *end || !(v > 0)) {
        snprintf(why, cap, "expected a size in bytes like 268435456 or 256M, got '%.60s'", text);
        return false;
    }
    return true;
}

/* Rows shared by `global` and each experiment. In an experiment nothing has a default, so what the file
 * leaves out stays 0 / NULL / empty / "inherit" and is taken from `global`. */
#define SETTINGS_ROWS(S, P, REQ_D, MAXNEW_D, BLOCK_D, ARR_D)                                                               \
    FC_YAML_STRING(S, P model, "model", NULL, "model folder in the Hugging Face layout"),                               \
    FC_YAML_STRING(S, P tokenizer, "tokenizer", NULL, "tokenizer folder when the model has none (llava-tiny)"),         \
    FC_YAML_STRING(S, P data, "data", NULL, "data set file or folder, or synthetic:prompt=N,... (fc-eval load --help)"), \
    FC_YAML_STRING(S, P images, "images", NULL, "folder the data set's image paths are relative to"),                  \
    FC_YAML_STRING(S, P format, "format", NULL, "data set format: auto, llava, gqa, milebench"),                        \
    FC_YAML_STRING(S, P checkpoint, "checkpoint", NULL, "CCM checkpoint for a ccm spec that names no weights="),        \
    FC_YAML_STRINGS_CHECKED(S, P methods, "methods", 0, 256, fc_eval_method_spec_ok,                                    \
                            "method specs ('none' = full cache); {ratio} is replaced by each ratio"),                 \
    FC_YAML_STRINGS_CHECKED(S, P ratios, "ratios", 0, 256, ratio_ok, "compression ratios, x form (5x keeps 1/5)"),       \
    FC_YAML_STRINGS_CHECKED(S, P rates, "rates", 0, 256, rate_ok, "request rates, requests per second"),                \
    FC_YAML_SECTIONS(S, P batching, "batching", fc_eval_batching_config, batching_schema, 0, 64,                       \
                     "stage batch limits to try, each {prefill: P, compress: C, decode: D}"),                         \
    FC_YAML_INT(S, P requests, "requests", 1, 1 << 24, REQ_D, "requests per load run"),                                \
    FC_YAML_INT(S, P max_new_tokens, "max_new_tokens", 1, 1 << 20, MAXNEW_D, "tokens generated per request at most"),   \
    FC_YAML_INT(S, P kv_blocks, "kv_blocks", 1, 1 << 26, NULL, "KV pool in blocks (instead of kv_budget)"),            \
    FC_YAML_INT(S, P block_size, "block_size", 1, 4096, BLOCK_D, "tokens per KV block"),                               \
    FC_YAML_INT(S, P samples, "samples", 1, 1 << 24, NULL, "quality: records evaluated (default all)"),                \
    {.key = "kv_budget", .type = FC_YAML_STRING, .offset = offsetof(S, P kv_budget), .check = bytes_ok,                 \
     .help = "KV pool in bytes (256M, 1G); default: room for every request in flight"},                              \
    FC_YAML_ENUM(S, P arrival, "arrival", fc_sweep_arrival_names, ARR_D, "poisson or constant inter-arrival times"),    \
    FC_YAML_ENUM(S, P ignore_eos, "ignore_eos", fc_sweep_bool_names, NULL, "true: always generate max_new_tokens"),     \
    FC_YAML_ENUM(S, P first_turn_only, "first_turn_only", fc_sweep_bool_names, NULL,                                    \
                 "quality: true scores only each record's first question (fc-eval quality --first-turn-only)"),       \
    FC_YAML_END

static const fc_yaml_field sweep_global_schema[] = {SETTINGS_ROWS(fc_sweep_settings, , "90", "512", "16", "poisson")};

/* An experiment: its name and kind, then the settings rows at their place inside it. */
static const fc_yaml_field sweep_exp_schema[] = {
    FC_YAML_STRING_REQ(fc_sweep_experiment, name, "name", "names the experiment's runs"),
    FC_YAML_ENUM(fc_sweep_experiment, kind, "kind", fc_sweep_kind_names, "load", "load (serving runs) or quality (answers)"),
    SETTINGS_ROWS(fc_sweep_experiment, s., NULL, NULL, NULL, NULL)};
#undef SETTINGS_ROWS

#define W fc_sweep_config
const fc_yaml_field fc_sweep_config_schema[] = {
    FC_YAML_ENUM(W, kind, "kind", sweep_kind_names, "sweep", "what this file configures"),
    FC_YAML_STRING_REQ(W, name, "name", "the sweep's results folder under output_dir"),
    FC_YAML_STRING(W, output_dir, "output_dir", "results", "where results folders go"),
    FC_YAML_INT(W, seed, "seed", 0, 4294967295.0, "48", "seed of sampling, arrivals and request order"),
    FC_YAML_DOUBLE(W, temperature, "temperature", 0, 100, "0", "0: greedy"),
    FC_YAML_INT(W, top_k, "top_k", 0, 1 << 24, "0", "0: off"),
    FC_YAML_DOUBLE(W, top_p, "top_p", 1e-6, 1, "1", "1: off"),
    FC_YAML_ENUM(W, precision, "precision", fc_precision_names, "f32",
                 "every run's --precision: f32 (exact reference) or bf16 (fc-eval --precision / FC_PRECISION win)"),
    FC_YAML_SECTION(W, global, "global", sweep_global_schema, "settings every experiment starts from"),
    FC_YAML_SECTIONS(W, experiments, "experiments", fc_sweep_experiment, sweep_exp_schema, 1, 1024,
                     "the experiments, run in order"),
    FC_YAML_END,
};
#undef W

fc_err fc_sweep_config_load(fc_sweep_config *cfg, const char *path) {
    FC_TRY(fc_yaml_load(fc_sweep_config_schema, cfg, path));
    if (cfg->global.arrival == FC_SWEEP_INHERIT) cfg->global.arrival = 1; /* written "inherit" at the top: poisson */
    const fc_sweep_experiment *ex = cfg->experiments.items;
    for (size_t i = 0; i < cfg->experiments.n; i++) {
        const fc_sweep_settings *s = &ex[i].s, *g = &cfg->global;
        const char *what = !(s->model || g->model) ? "model" : !(s->data || g->data) ? "data"
                           : !(s->methods.n || g->methods.n)                  ? "methods"
                           : ex[i].kind == FC_SWEEP_LOAD && !(s->rates.n || g->rates.n) ? "rates" : NULL;
        if (what) {
            fc_err e = fc_err_set(FC_EINVAL, "%s: experiment '%s': no %s (set it in the experiment or in global)", path,
                                  ex[i].name, what);
            fc_sweep_config_free(cfg);
            return e;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ex[j].name, ex[i].name)) {
                fc_err e = fc_err_set(FC_EINVAL, "%s: two experiments are named '%s'", path, ex[i].name);
                fc_sweep_config_free(cfg);
                return e;
            }
    }
    return FC_OK;
}

void fc_sweep_config_free(fc_sweep_config *cfg) {
    if (cfg) fc_yaml_free(fc_sweep_config_schema, cfg);
}

void fc_sweep_config_print(const fc_sweep_config *cfg, FILE *f) {
    fc_yaml_print(fc_sweep_config_schema, cfg, f);
}
