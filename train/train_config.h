/* train_config.h: the YAML run config of fc-train (configs/train-*.yaml), bound by the schema in
 * train_config.c through core/io/yaml_config. Every key, its bounds, default and help are in that one
 * table; `fc-eval config --check FILE.yaml` validates a file and prints the effective values.
 *
 *   kind: train
 *   model: ../shared/data/models/llava-1.5-7b-hf   # HF folder (config.json, safetensors)
 *   data: data/llava_train.json                     # LLaVA conversation JSON
 *   image_root: ../shared/data/gqa-demo/gqa         # prefix of each sample's "image"
 *   output: ckpt/llava-5x.safetensors               # compressor checkpoint written here
 *   compressor: {ratio: 5x, window: 5, hidden: 0, depth: 3, dropout: 0.4, min_segment: 10}
 *   training: {epochs: 40, lr: 5e-4, batch: 1, seed: 48, loss: kl, max_new_tokens: 512, temperature: 1.0}
 */
#ifndef FC_TRAIN_CONFIG_H
#define FC_TRAIN_CONFIG_H

#include <stdio.h>

#include "core/io/yaml_config.h"

typedef enum { FC_TRAIN_LOSS_KL = 0, FC_TRAIN_LOSS_FASTCACHE, FC_TRAIN_LOSS_COUNT } fc_train_loss;
typedef enum { FC_RUN_DEVICE_AUTO = 0, FC_RUN_DEVICE_CPU, FC_RUN_DEVICE_CUDA, FC_RUN_DEVICE_COUNT } fc_run_device;

/* The learned compressor (FastCache's WindowMLP, reference/fastcache-compressor-spec.md §1). */
typedef struct {
    double ratio;      /* "5x": a compressed segment keeps 1/5 of its entries */
    long window;       /* tokens one MLP window mixes into one entry (FastCache: cf = 5, equal to the ratio) */
    long hidden;       /* hidden width of the MLP; 0 = the head dim D, as FastCache */
    long depth;        /* Linear layers per MLP (FastCache: 3) */
    double dropout;    /* on the hidden layers, training only (FastCache: 0.4) */
    long min_segment;  /* segments shorter than this many tokens stay raw (FastCache: 2 windows = 10) */
} fc_train_compressor_config;

typedef struct {
    long epochs;
    double lr;              /* Adam learning rate (FastCache: 5e-4) */
    long batch;             /* samples per optimizer step */
    long seed;
    int loss;               /* fc_train_loss: kl (next-token KL to the teacher) or fastcache (its mixed loss) */
    long max_new_tokens;    /* teacher rollout length */
    double temperature;     /* teacher sampling temperature; 0 = greedy */
    long max_samples;       /* 0 = the whole data file */
} fc_train_training_config;

typedef struct {
    int kind;               /* always "train" (index 0): a file meant for fc-eval is refused */
    char *model;            /* required */
    char *data;             /* required */
    char *val_data;         /* optional held-out set; NULL = none */
    char *image_root;       /* NULL = paths in the data file are used as they are */
    char *output;           /* required */
    int device;             /* fc_run_device */
    long threads;           /* CPU threads; 0 = all cores */
    int precision;          /* fc_precision (kernels/wpack.h): f32 or bf16 GEMMs */
    fc_train_compressor_config compressor;
    fc_train_training_config training;
} fc_train_config;

extern const fc_yaml_field fc_train_config_schema[];
extern const char *const fc_train_loss_names[];  /* "kl", "fastcache", NULL */
extern const char *const fc_run_device_names[]; /* "auto", "cpu", "cuda", NULL */

/* Defaults, then the file; then checks that span keys (window vs ratio). On failure the message names
 * file, line and key and nothing needs freeing; on success release with fc_train_config_free. */
fc_err fc_train_config_load(fc_train_config *cfg, const char *path);
void fc_train_config_free(fc_train_config *cfg);
void fc_train_config_print(const fc_train_config *cfg, FILE *f);

#endif
