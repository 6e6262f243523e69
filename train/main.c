/* main.c: fc-train, the distillation trainer of the learned KV compressors (CCM). One subcommand per model
 * family (their option table is made from the YAML schema: every key is an option) and `grad`, all parsed by
 * core/base/cli.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/log.h"
#include "kernels/wpack.h"
#include "train/commands.h"
#include "train/train_options.h"
#include "train/trainer.h"

static fc_cli_option table[FC_TRAIN_OPTIONS_MAX + 2];
static char table_help[FC_TRAIN_OPTIONS_MAX][256];

/* Whether --precision or FC_PRECISION chose the precision; then it wins over the YAML key. */
static bool precision_from_cli;

static int run_family(const fc_cli_args *a, const char *family) {
    fc_train_config cfg;
    fc_err e = fc_train_options_merge(a, &cfg);
    if (e) return fc_cli_fail(e);
    if (!precision_from_cli && cfg.precision != (int)fc_precision_get() &&
        fc_precision_set((fc_precision)cfg.precision) != FC_OK) { /* as --precision does: say why, run f32 */
        fc_log_warn("precision (config): %s; running with f32", fc_errmsg());
        fc_err_clear();
    }
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
    /* --precision f32|bf16 applies to every command (kernels/wpack.h), taken out of argv first */
    fc_cli_prog = "fc-train";
    const char *env = getenv("FC_PRECISION");
    precision_from_cli = env && *env;
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--precision", 11) && (argv[i][11] == 0 || argv[i][11] == '=')) precision_from_cli = true;
    fc_err pe = fc_precision_take_option(&argc, argv);
    if (pe) {
        fc_cli_fail(pe);
        return 2;
    }
    return fc_cli_main("fc-train",
                       "Trains FastCache's learned KV compressors (per-layer window MLPs) by distillation: the frozen\n"
                       "model with the full KV cache is the teacher, the same model reading the compressed cache is\n"
                       "the student, the loss is KL(teacher || student) over the answer tokens, and the gradient\n"
                       "reaches every compressor weight. Usually:\n"
                       "  fc-train <llava|minicpm> --model DIR --data FILE.json --images DIR --out X.safetensors\n"
                       "--precision f32|bf16 (default f32, or $FC_PRECISION): the GEMMs' input precision.\n",
                       commands, (int)(sizeof commands / sizeof commands[0]), argc, argv);
}
