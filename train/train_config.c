/* train_config.c: the schema of fc-train's YAML run config. Defaults follow the FastCache training
 * recipe (reference/fastcache-compressor-spec.md §6.4): Adam 5e-4, 40 epochs, batch 1, seed 48,
 * dropout 0.4, 5x with windows of 5 tokens, teacher rollouts of 512 tokens at temperature 1. */
#include "train/train_config.h"

#include <math.h>

#include "kernels/wpack.h"
#include "train/schedule.h"

const char *const fc_train_loss_names[] = {"kl", "fastcache", NULL};
const char *const fc_run_device_names[] = {"auto", "cpu", "cuda", NULL};
const char *const fc_train_targets_names[] = {"answers", "teacher", NULL};
const char *const fc_train_seg_names[] = {"auto", "spans", "prefix", "whole", NULL};
const char *const fc_train_pos_names[] = {"original", "compressed", NULL};
/* fc_sched_names' order (train/schedule.c); a copy so this file stands alone in the fuzz target */
static const char *const sched_names[] = {"plateau", "cosine", "constant", NULL};
_Static_assert(sizeof sched_names / sizeof sched_names[0] == FC_SCHED_COUNT + 1, "sched_names out of sync");
static const char *const train_kind_names[] = {"train", NULL};
_Static_assert(sizeof fc_train_loss_names / sizeof fc_train_loss_names[0] == FC_TRAIN_LOSS_COUNT + 1,
               "fc_train_loss_names out of sync with fc_train_loss");
_Static_assert(sizeof fc_train_targets_names / sizeof fc_train_targets_names[0] == FC_TRAIN_TARGETS_COUNT + 1,
               "fc_train_targets_names out of sync");
_Static_assert(sizeof fc_train_seg_names / sizeof fc_train_seg_names[0] == FC_TRAIN_SEG_COUNT + 1,
               "fc_train_seg_names out of sync");
_Static_assert(sizeof fc_train_pos_names / sizeof fc_train_pos_names[0] == FC_TRAIN_POS_COUNT + 1,
               "fc_train_pos_names out of sync");
_Static_assert(sizeof fc_run_device_names / sizeof fc_run_device_names[0] == FC_RUN_DEVICE_COUNT + 1,
               "fc_run_device_names out of sync with fc_run_device");

#define C fc_train_compressor_config
static const fc_yaml_field compressor_schema[] = {
    FC_YAML_RATIO(C, ratio, "ratio", 1, 1000, "5x", "keep 1/N of each compressed segment, written Nx"),
    FC_YAML_INT(C, window, "window", 1, 1024, "5", "tokens one MLP window mixes into one entry"),
    FC_YAML_INT(C, hidden, "hidden", 0, 65536, "0", "MLP hidden width; 0 = the model's head dim"),
    FC_YAML_INT(C, depth, "depth", 1, 16, "3", "Linear layers per MLP"),
    FC_YAML_DOUBLE(C, dropout, "dropout", 0, 0.99, "0.4", "dropout on hidden layers while training"),
    FC_YAML_INT(C, min_segment, "min_segment", 0, 1 << 20, "10", "segments shorter than this stay uncompressed"),
    FC_YAML_ENUM(C, segment_rule, "segment_rule", fc_train_seg_names, "auto",
                 "image/text segments: auto (LLaVA prefix, MiniCPM-V whole), spans, prefix, whole"),
    FC_YAML_ENUM(C, position_rule, "position_rule", fc_train_pos_names, "original",
                 "answer positions after compression: original (as uncompressed) or compressed (renumbered)"),
    FC_YAML_END,
};
#undef C

#define T fc_train_training_config
static const fc_yaml_field training_schema[] = {
    FC_YAML_INT(T, epochs, "epochs", 1, 100000, "40", "passes over the training data"),
    FC_YAML_INT(T, max_steps, "max_steps", 0, 1L << 40, "0", "stop after this many optimizer steps (0 = epochs decide)"),
    FC_YAML_DOUBLE(T, lr, "lr", 1e-12, 10, "5e-4", "AdamW learning rate"),
    FC_YAML_INT(T, batch, "batch", 1, 4096, "1", "samples per micro-batch"),
    FC_YAML_INT(T, accum, "accum", 1, 4096, "1", "micro-batches per optimizer step (gradient accumulation)"),
    FC_YAML_INT(T, seed, "seed", 0, 4294967295.0, "48", "seed of init, shuffling, dropout and sampling"),
    FC_YAML_ENUM(T, loss, "loss", fc_train_loss_names, "kl", "kl: next-token KL to the teacher; fastcache: its mixed loss"),
    FC_YAML_DOUBLE(T, tau, "tau", 0.01, 100, "1.0", "KL temperature (soft targets at tau, loss scaled by tau^2)"),
    FC_YAML_ENUM(T, targets, "targets", fc_train_targets_names, "answers",
                 "answer tokens: the data's answers, or the teacher's own sampled generations"),
    FC_YAML_INT(T, max_new_tokens, "max_new_tokens", 1, 1 << 16, "512", "teacher rollout length"),
    FC_YAML_DOUBLE(T, temperature, "temperature", 0, 100, "1.0", "teacher sampling temperature (0 = greedy)"),
    FC_YAML_INT(T, top_k, "top_k", 0, 1 << 24, "50", "teacher sampling top-k (0 = off; transformers' default 50)"),
    FC_YAML_DOUBLE(T, top_p, "top_p", 1e-6, 1, "1.0", "teacher sampling top-p (1 = off)"),
    FC_YAML_INT(T, max_samples, "max_samples", 0, 1L << 40, "0", "use at most this many samples (0 = all)"),
    FC_YAML_DOUBLE(T, weight_decay, "weight_decay", 0, 10, "0", "AdamW decoupled weight decay"),
    FC_YAML_DOUBLE(T, beta1, "beta1", 0, 0.999999, "0.9", "AdamW beta1"),
    FC_YAML_DOUBLE(T, beta2, "beta2", 0, 0.999999999, "0.999", "AdamW beta2"),
    FC_YAML_DOUBLE(T, eps, "eps", 1e-30, 1, "1e-8", "AdamW epsilon"),
    FC_YAML_ENUM(T, schedule, "schedule", sched_names, "plateau",
                 "lr schedule: plateau (halve after patience validations without gain), cosine (warmup + cosine), constant"),
    FC_YAML_INT(T, warmup, "warmup", 0, 1L << 40, "0", "cosine: linear warmup steps"),
    FC_YAML_DOUBLE(T, min_lr, "min_lr", 0, 10, "0", "lowest lr of plateau and cosine"),
    FC_YAML_DOUBLE(T, plateau_factor, "plateau_factor", 1e-6, 0.999999, "0.5", "plateau: lr factor on a cut"),
    FC_YAML_INT(T, plateau_patience, "plateau_patience", 0, 1L << 30, "2", "plateau: validations without gain before a cut"),
    FC_YAML_DOUBLE(T, clip, "clip", 0, 1e12, "0", "max global gradient norm (0 = no clipping)"),
    FC_YAML_INT(T, val_every, "val_every", 0, 1L << 40, "0", "validate every N steps (0 = after each epoch)"),
    FC_YAML_INT(T, save_every, "save_every", 0, 1L << 40, "0",
                "write the last checkpoint and resume state every N steps (0 = at each validation)"),
    FC_YAML_END,
};
#undef T

#define R fc_train_config
const fc_yaml_field fc_train_config_schema[] = {
    FC_YAML_ENUM(R, kind, "kind", train_kind_names, "train", "what this file configures"),
    FC_YAML_STRING_REQ(R, model, "model", "model folder in the Hugging Face layout"),
    FC_YAML_STRING_REQ(R, data, "data", "training conversations (LLaVA JSON)"),
    FC_YAML_STRING(R, val_data, "val_data", NULL, "held-out conversations for validation"),
    FC_YAML_STRING(R, image_root, "image_root", NULL, "folder the data's image paths are relative to"),
    FC_YAML_STRING(R, tokenizer, "tokenizer", NULL, "tokenizer folder (unset: the model folder)"),
    FC_YAML_STRING_REQ(R, output, "output", "best compressor checkpoint to write (.safetensors); logs and last beside it"),
    FC_YAML_STRING(R, init, "init", "torch", "initial weights: torch (seeded nn.Linear init) or a checkpoint"),
    FC_YAML_STRING(R, resume, "resume", NULL, "continue the run of this last checkpoint (or its .state.safetensors)"),
    FC_YAML_DOUBLE(R, val_frac, "val_frac", 0, 0.9, "0.2", "share of the samples held out for validation, by id"),
    FC_YAML_STRINGS(R, val_ids, "val_ids", 0, 0, "validation sample ids (instead of val_frac)"),
    FC_YAML_ENUM(R, device, "device", fc_run_device_names, "auto", "where to run: auto picks CUDA when present"),
    FC_YAML_INT(R, threads, "threads", 0, 4096, "0", "CPU threads (0 = all cores)"),
    FC_YAML_ENUM(R, precision, "precision", fc_precision_names, "f32",
                 "CPU GEMM inputs: f32 (exact reference) or bf16 (oneDNN, f32 accumulation)"),
    FC_YAML_SECTION(R, compressor, "compressor", compressor_schema, "the learned compressor"),
    FC_YAML_SECTION(R, training, "training", training_schema, "the distillation run"),
    FC_YAML_END,
};
#undef R

fc_err fc_train_config_load(fc_train_config *cfg, const char *path) {
    FC_TRY(fc_yaml_load(fc_train_config_schema, cfg, path));
    /* FastCache's WindowMLP turns each window of `window` tokens into one entry, so the ratio it
     * achieves is the window: a different ratio would be a different compressor. */
    if (fabs(cfg->compressor.ratio - (double)cfg->compressor.window) > 1e-9) {
        fc_err e = fc_err_set(FC_EINVAL, "%s: compressor.ratio %gx does not match compressor.window %ld (a window of N "
                              "tokens becomes one entry, so the ratio is Nx)", path, cfg->compressor.ratio,
                              cfg->compressor.window);
        fc_train_config_free(cfg);
        return e;
    }
    return FC_OK;
}

void fc_train_config_free(fc_train_config *cfg) {
    if (cfg) fc_yaml_free(fc_train_config_schema, cfg);
}

void fc_train_config_print(const fc_train_config *cfg, FILE *f) { fc_yaml_print(fc_train_config_schema, cfg, f); }
