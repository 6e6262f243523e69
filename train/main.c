/* main.c: fc-train, the distillation trainer of the learned KV compressors (CCM). One subcommand per model
 * family (their option table is made from the YAML schema: every key is an option) and `grad`, all parsed by
 * core/base/cli.h. */
#include <stdio.h>

#include "core/base/cli.h"
#include "train/commands.h"
#include "train/train_options.h"
#include "train/trainer.h"

static fc_cli_option table[FC_TRAIN_OPTIONS_MAX + 2];
static char table_help[FC_TRAIN_OPTIONS_MAX][256];

static int run_family(const fc_cli_args *a, const char *family) {
    fc_train_config cfg;
    fc_err e = fc_train_options_merge(a, &cfg);
    if (e) return fc_cli_fail(e);
    e = fc_trainer_run(&cfg, family);
    fc_train_config_free(&cfg);
    return e ? fc_cli_fail(e) : 0;
}

static int run_llava(const fc_cli_args *a) { return run_family(a, "llava"); }
static int run_minicpm(const fc_cli_args *a) { return run_family(a, "minicpm"); }

#define USAGE "--model DIR --data FILE.json --images DIR --out X.safetensors [--config run.yaml] [options]"
#define NOTES                                                                                                  \
    "Every option is also a key of the YAML run config (in parentheses); the command line wins over --config.\n" \
    "Outputs: X.safetensors (the best compressor by validation KL), X.last.safetensors and\n"                    \
    "X.last.state.safetensors (for --resume), X.steps.csv and X.val.csv; a summary on stdout.\n"
static const fc_cli_command llava = {
    "llava", run_llava, "train LLaVA-1.5's compressors (image and text K/V window MLPs per layer)", USAGE,
    "Trains LLaVA-1.5's per-layer K/V window compressors by distillation (KL to the full-cache model).", table, 0,
    NOTES};
static const fc_cli_command minicpm = {
    "minicpm", run_minicpm, "train MiniCPM-V-2.6's compressors (K/V window MLPs per layer, whole prefix by default)",
    USAGE, "Trains MiniCPM-V-2.6's per-layer K/V window compressors by distillation (KL to the full-cache model).",
    table, 0, NOTES};

static const fc_cli_command *const commands[] = {&llava, &minicpm, &fc_train_cmd_grad};

int main(int argc, char **argv) {
    fc_train_options_table(table, table_help);
    return fc_cli_main("fc-train",
                       "Trains FastCache's learned KV compressors (per-layer window MLPs) by distillation: the frozen\n"
                       "model with the full KV cache is the teacher, the same model reading the compressed cache is\n"
                       "the student, the loss is KL(teacher || student) over the answer tokens, and the gradient\n"
                       "reaches every compressor weight. Usually:\n"
                       "  fc-train <llava|minicpm> --model DIR --data FILE.json --images DIR --out X.safetensors\n",
                       commands, (int)(sizeof commands / sizeof commands[0]), argc, argv);
}
