/* eval_config.c: the schema of fc-eval's YAML experiment config. Defaults follow the FastCache LLaVA
 * evaluation (reference/fastcache-eval-spec.md §1.1): 90 requests at 10/s, batches P=15, C=45, D=90,
 * 512 new tokens, seed 48; the arrival process defaults to poisson (the original's fixed interval is
 * "constant"). */
#include "eval/eval_config.h"

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
