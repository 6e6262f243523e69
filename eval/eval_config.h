/* eval_config.h: the YAML experiment config of fc-eval (configs/eval-*.yaml), bound by the schema in
 * eval_config.c through core/io/yaml_config. `fc-eval config --check FILE.yaml` validates one.
 *
 *   kind: eval
 *   model: ../shared/data/models/llava-1.5-7b-hf
 *   checkpoint: ckpt/llava-5x.safetensors          # learned compressor for a "ccm" spec without weights=
 *   dataset: data/gqa_eval.json
 *   image_root: ../shared/data/gqa-demo/gqa
 *   methods: [none, ccm, "snapkv:ratio=5x,window=64"] # specs as core/compress/compress.h parses them
 *   arrival: {process: poisson, rate: 10, num_requests: 90, seed: 48}
 *   batching: {prefill: 15, compress: 45, decode: 90}
 *   max_new_tokens: 512
 *   output_dir: results/llava
 */
#ifndef FC_EVAL_CONFIG_H
#define FC_EVAL_CONFIG_H

#include <stdio.h>

#include "core/io/yaml_config.h"

typedef enum { FC_ARRIVAL_POISSON = 0, FC_ARRIVAL_CONSTANT, FC_ARRIVAL_COUNT } fc_arrival_process;

typedef struct {
    int process;        /* fc_arrival_process */
    double rate;        /* requests per second (the mean, for poisson) */
    long num_requests;
    long seed;          /* of the poisson arrivals and of the request order */
} fc_eval_arrival_config;

/* Stage batch sizes of the staged scheduler (P, C, D in reference/fastcache-eval-spec.md §1.2). */
typedef struct {
    long prefill, compress, decode;
} fc_eval_batching_config;

typedef struct {
    int kind;                 /* always "eval" (index 0) */
    char *model;              /* required */
    char *checkpoint;         /* learned compressor for a "ccm" spec that names no weights; NULL = none */
    char *dataset;            /* required */
    char *image_root;
    fc_yaml_strings methods;  /* "name" or "name:key=value,..." (fc_compress_create's specs; "none" = full
                                 cache), each checked here for that form only: weights files are opened later */
    fc_eval_arrival_config arrival;
    fc_eval_batching_config batching;
    long max_new_tokens;
    long max_input_tokens;    /* 0 = no limit */
    int device;               /* fc_run_device names (train_config.h): auto, cpu, cuda */
    long threads;
    int precision;            /* fc_precision (kernels/wpack.h): f32 (the reference) or bf16 GEMMs; whoever runs
                                 the config calls fc_precision_set with it before loading the model */
    char *output_dir;         /* required */
} fc_eval_config;

extern const fc_yaml_field fc_eval_config_schema[];
extern const char *const fc_arrival_process_names[]; /* "poisson", "constant", NULL */

/* Checks the "name" / "name:key=value,key=value" form of one method spec; false with a reason. */
bool fc_eval_method_spec_ok(const char *spec, char *why, size_t cap);

/* Defaults, then the file. On failure the message names file, line and key and nothing needs freeing;
 * on success release with fc_eval_config_free. */
fc_err fc_eval_config_load(fc_eval_config *cfg, const char *path);
void fc_eval_config_free(fc_eval_config *cfg);
void fc_eval_config_print(const fc_eval_config *cfg, FILE *f);

/* ---- kind: sweep (configs/sweep-*.yaml): a list of experiments run by `fc-eval sweep` ----
 *
 *   kind: sweep
 *   name: llava                 # the results folder: <output_dir>/<name>
 *   output_dir: results
 *   seed: 48                    # sampling, arrivals and request order of every run
 *   global:                     # what every experiment starts from (keys below)
 *     model: ../shared/data/models/llava-1.5-7b-hf
 *     data: ../shared/data/gqa-demo/questions.json
 *     methods: [none, knorm, snapkv]
 *     ratios: [2x, 5x, 10x]
 *     rates: [5, 10, 20]
 *     batching: [{prefill: 15, compress: 45, decode: 90}]
 *   experiments:
 *     - {name: serving, kind: load}
 *     - {name: answers, kind: quality, rates: [1]}
 *
 * Precedence, highest first: a flag of `fc-eval sweep` (--model, --data, --requests, ...), then the key in the
 * experiment, then the key in `global`, then the default. In an experiment a key left out (or an empty list)
 * inherits; seed, temperature, top_k, top_p and precision are sweep-wide (precision: f32 | bf16, default f32;
 * `fc-eval --precision X sweep` or FC_PRECISION wins over it).
 *
 * Expansion of a load experiment: methods x ratios x rates x batching, except that "none" runs once per rate
 * and batching (ratio 1), a spec that sets ratio= itself or names no ratio option (ccm: its checkpoint fixes
 * it) runs once, and "{ratio}" in a spec is replaced by each ratio (ccm:weights=ckpt/llava-{ratio}x.safetensors).
 * A quality experiment is one `fc-eval quality` run over every expanded method spec (rates and batching unused).
 */
typedef enum { FC_SWEEP_INHERIT = 0 } fc_sweep_inherit; /* index 0 of the enums below: not set here */

typedef struct {
    char *model, *tokenizer, *data, *images, *format, *checkpoint;
    fc_yaml_strings methods;  /* specs; "none" = the full cache */
    fc_yaml_strings ratios;   /* "5x" or "5" (>= 1) */
    fc_yaml_strings rates;    /* requests per second, > 0 */
    fc_yaml_sections batching; /* fc_eval_batching_config each */
    long requests, max_new_tokens, kv_blocks, block_size, samples;
    char *kv_budget;          /* bytes, "256M" */
    int arrival;              /* inherit | poisson | constant */
    int ignore_eos;           /* inherit | false | true */
    int first_turn_only;      /* inherit | false | true: quality scores only each record's first question */
} fc_sweep_settings;

typedef enum { FC_SWEEP_LOAD = 0, FC_SWEEP_QUALITY } fc_sweep_kind;

typedef struct {
    char *name;
    int kind;                 /* fc_sweep_kind */
    fc_sweep_settings s;
} fc_sweep_experiment;

typedef struct {
    int kind;                 /* always "sweep" */
    char *name;
    char *output_dir;
    long seed;
    double temperature, top_p;
    long top_k;
    int precision;            /* fc_precision of every run (passed as --precision); fc-eval's --precision or
                                 FC_PRECISION, when given, wins (fc_sweep_overrides.precision) */
    fc_sweep_settings global;
    fc_yaml_sections experiments; /* fc_sweep_experiment each */
} fc_sweep_config;

extern const fc_yaml_field fc_sweep_config_schema[];
extern const char *const fc_sweep_arrival_names[];   /* "inherit", "poisson", "constant", NULL */
extern const char *const fc_sweep_bool_names[];      /* "inherit", "false", "true", NULL */
extern const char *const fc_sweep_kind_names[];      /* "load", "quality", NULL */

/* Defaults, then the file, then the checks the schema cannot make (every spec a valid form, global settings
 * that experiments can inherit). Messages name file, line and key. Release with fc_sweep_config_free. */
fc_err fc_sweep_config_load(fc_sweep_config *cfg, const char *path);
void fc_sweep_config_free(fc_sweep_config *cfg);
void fc_sweep_config_print(const fc_sweep_config *cfg, FILE *f);

#endif
