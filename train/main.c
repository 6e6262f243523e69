/* main.c: fc-train, the distillation trainer of the learned KV compressors (CCM). */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "train/commands.h"
#include "train/train_options.h"
#include "train/trainer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fc-train <llava|minicpm> --model DIR --data FILE.json --images DIR --out X.safetensors\n"
            "                [--config run.yaml] [options]\n"
            "       fc-train grad --model DIR --ccm CKPT --data FILE.json --images DIR --ids ID[,ID...] --out F.safetensors\n"
            "Trains FastCache's learned KV compressors (per-layer window MLPs) by distillation: the frozen model\n"
            "with the full KV cache is the teacher, the same model reading the compressed cache is the student,\n"
            "the loss is KL(teacher || student) over the answer tokens; the gradient reaches every compressor weight.\n\n"
            "commands:\n"
            "  llava      train LLaVA-1.5's compressors (separate image/text K/V compressors per layer)\n"
            "  minicpm    train MiniCPM-V-2.6's (K/V compressors per layer over the whole prefix by default)\n"
            "  grad       one step's loss and compressor gradients to safetensors (fc-train grad --help)\n\n"
            "outputs: X.safetensors (best by validation KL), X.last.safetensors + X.last.state.safetensors (for\n"
            "--resume), X.steps.csv and X.val.csv; a summary on stdout.\n\n"
            "options (each is also a key of the YAML run config, given in parentheses; the command line wins):\n");
    fc_train_options_help(f);
}

int main(int argc, char **argv) {
    fc_cli_prog = "fc-train";
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "grad")) return fc_train_cmd_grad(argc - 1, argv + 1);
    if (strcmp(argv[1], "llava") && strcmp(argv[1], "minicpm")) {
        fc_cli_error("unknown model '%s' (expected llava, minicpm or grad; see fc-train --help)", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--list-options")) { /* hidden: the option table, one line an option */
            fc_train_options_list(stdout);
            return 0;
        }
    }
    fc_train_config cfg;
    fc_err e = fc_train_options_parse(argc, argv, 2, &cfg);
    if (e) return fc_cli_fail(e);
    e = fc_trainer_run(&cfg, argv[1]);
    fc_train_config_free(&cfg);
    return e ? fc_cli_fail(e) : 0;
}
