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

#endif
