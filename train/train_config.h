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
 * fc-train takes every key on its command line too (--lr is training.lr, --min-segment is
 * compressor.min_segment, ...; see train/train_options.c), the command line winning over the file.
 */
#ifndef FC_TRAIN_CONFIG_H
#define FC_TRAIN_CONFIG_H

#include <stdio.h>

#include "core/io/yaml_config.h"

typedef enum { FC_TRAIN_LOSS_KL = 0, FC_TRAIN_LOSS_FASTCACHE, FC_TRAIN_LOSS_COUNT } fc_train_loss;
typedef enum { FC_TRAIN_TARGETS_ANSWERS = 0, FC_TRAIN_TARGETS_TEACHER, FC_TRAIN_TARGETS_COUNT } fc_train_targets;
/* auto: the family's own (LLaVA prefix, MiniCPM-V whole); the others as core/compress/ccm.h */
typedef enum { FC_TRAIN_SEG_AUTO = 0, FC_TRAIN_SEG_SPANS, FC_TRAIN_SEG_PREFIX, FC_TRAIN_SEG_WHOLE, FC_TRAIN_SEG_COUNT } fc_train_seg;
typedef enum { FC_TRAIN_POS_ORIGINAL = 0, FC_TRAIN_POS_COMPRESSED, FC_TRAIN_POS_COUNT } fc_train_pos;
typedef enum { FC_RUN_DEVICE_AUTO = 0, FC_RUN_DEVICE_CPU, FC_RUN_DEVICE_CUDA, FC_RUN_DEVICE_COUNT } fc_run_device;

/* The learned compressor (FastCache's WindowMLP, reference/fastcache-compressor-spec.md §1). */
typedef struct {
    double ratio;      /* "5x": a compressed segment keeps 1/5 of its entries */
    long window;       /* tokens one MLP window mixes into one entry (FastCache: cf = 5, equal to the ratio) */
    long hidden;       /* hidden width of the MLP; 0 = the head dim D, as FastCache */
    long depth;        /* Linear layers per MLP (FastCache: 3) */
    double dropout;    /* on the hidden layers, training only (FastCache: 0.4) */
    long min_segment;  /* segments shorter than this many tokens stay raw (FastCache: 2 windows = 10) */
    int segment_rule;  /* fc_train_seg */
    int position_rule; /* fc_train_pos: where the answer's RoPE positions start after compression */
} fc_train_compressor_config;

typedef struct {
    long epochs;
    long max_steps;         /* stop after this many optimizer steps; 0 = epochs decide */
    double lr;              /* AdamW learning rate (FastCache: 5e-4) */
    long batch;             /* samples per micro-batch */
    long accum;             /* micro-batches per optimizer step (gradient accumulation) */
    long seed;
    int loss;               /* fc_train_loss: kl (next-token KL to the teacher) or fastcache (its mixed loss) */
    double tau;             /* KL temperature (soft targets at tau, scaled by tau^2) */
    int targets;            /* fc_train_targets: the data's answers or the teacher's own generations */
    long max_new_tokens;    /* teacher rollout length */
    double temperature;     /* teacher sampling temperature; 0 = greedy */
    long top_k;             /* teacher sampling top-k; 0 = off (transformers' default is 50) */
    double top_p;           /* teacher sampling top-p; 1 = off */
    long max_samples;       /* 0 = the whole data file */
    double weight_decay;    /* AdamW decoupled decay (FastCache: 0) */
    double beta1, beta2, eps;
    int schedule;           /* fc_sched_kind (train/schedule.h): plateau, cosine, constant */
    long warmup;            /* cosine: warmup steps */
    double min_lr;          /* floor of plateau and cosine */
    double plateau_factor;  /* lr *= factor on a plateau (FastCache: 0.5) */
    long plateau_patience;  /* validations without improvement before a cut (FastCache: 2) */
    double clip;            /* max global gradient norm; 0 = no clipping (FastCache: none) */
    long val_every;         /* validate every N steps; 0 = at the end of every epoch */
    long save_every;        /* write the last checkpoint and resume state every N steps; 0 = at validations */
} fc_train_training_config;

typedef struct {
    int kind;               /* always "train" (index 0): a file meant for fc-eval is refused */
    char *model;            /* required */
    char *data;             /* required */
    char *val_data;         /* optional held-out set; NULL = none */
    char *image_root;       /* NULL = paths in the data file are used as they are */
    char *tokenizer;        /* tokenizer folder; NULL = the model folder */
    char *output;           /* required: the best checkpoint; the rest goes beside it (see train/trainer.h) */
    char *init;             /* "torch" (seeded torch-like init) or a compressor checkpoint */
    char *resume;           /* a last checkpoint (or its .state.safetensors) to continue from; NULL = none */
    double val_frac;        /* share of the samples held out for validation (by id) */
    fc_yaml_strings val_ids;/* explicit validation ids; when given, val_frac is not used */
    int device;             /* fc_run_device */
    long threads;           /* CPU threads; 0 = all cores */
    int precision;          /* fc_precision (kernels/wpack.h): f32 or bf16 GEMMs */
    fc_train_compressor_config compressor;
    fc_train_training_config training;
} fc_train_config;

extern const fc_yaml_field fc_train_config_schema[];
extern const char *const fc_train_loss_names[];  /* "kl", "fastcache", NULL */
extern const char *const fc_run_device_names[]; /* "auto", "cpu", "cuda", NULL */
extern const char *const fc_train_targets_names[]; /* "answers", "teacher", NULL */
extern const char *const fc_train_seg_names[];     /* "auto", "spans", "prefix", "whole", NULL */
extern const char *const fc_train_pos_names[];     /* "original", "compressed", NULL */

/* Defaults, then the file; then checks that span keys (window vs ratio). On failure the message names
 * file, line and key and nothing needs freeing; on success release with fc_train_config_free. */
fc_err fc_train_config_load(fc_train_config *cfg, const char *path);
void fc_train_config_free(fc_train_config *cfg);
void fc_train_config_print(const fc_train_config *cfg, FILE *f);

#endif
