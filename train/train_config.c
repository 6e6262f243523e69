/* train_config.c: the schema of fc-train's YAML run config. Defaults follow the FastCache training
 * recipe (reference/fastcache-compressor-spec.md §6.4): Adam 5e-4, 40 epochs, batch 1, seed 48,
 * dropout 0.4, 5x with windows of 5 tokens, teacher rollouts of 512 tokens at temperature 1. */
#include "train/train_config.h"

#include <math.h>

#include "kernels/wpack.h"

const char *const fc_train_loss_names[] = {"kl", "fastcache", NULL};
const char *const fc_run_device_names[] = {"auto", "cpu", "cuda", NULL};
static const char *const train_kind_names[] = {"train", NULL};
_Static_assert(sizeof fc_train_loss_names / sizeof fc_train_loss_names[0] == FC_TRAIN_LOSS_COUNT + 1,
               "fc_train_loss_names out of sync with fc_train_loss");
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
    FC_YAML_END,
};
#undef C

#define T fc_train_training_config
static const fc_yaml_field training_schema[] = {
    FC_YAML_INT(T, epochs, "epochs", 1, 100000, "40", "passes over the training data"),
    FC_YAML_DOUBLE(T, lr, "lr", 1e-12, 10, "5e-4", "Adam learning rate"),
    FC_YAML_INT(T, batch, "batch", 1, 4096, "1", "samples per optimizer step"),
    FC_YAML_INT(T, seed, "seed", 0, 4294967295.0, "48", "seed of shuffling, dropout and sampling"),
    FC_YAML_ENUM(T, loss, "loss", fc_train_loss_names, "kl", "kl: next-token KL to the teacher; fastcache: its mixed loss"),
    FC_YAML_INT(T, max_new_tokens, "max_new_tokens", 1, 1 << 16, "512", "teacher rollout length"),
    FC_YAML_DOUBLE(T, temperature, "temperature", 0, 100, "1.0", "teacher sampling temperature (0 = greedy)"),
    FC_YAML_INT(T, max_samples, "max_samples", 0, 1L << 40, "0", "use at most this many samples (0 = all)"),
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
    FC_YAML_STRING_REQ(R, output, "output", "compressor checkpoint to write (.safetensors)"),
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
