/* main.c: fc-train, the distillation trainer of the learned KV compressors (CCM). One subcommand per model
 * family, each with its option table (core/base/cli.h). */
#include <stdio.h>

#include "core/base/cli.h"
#include "kernels/wpack.h"

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "Hugging Face folder of the frozen model (teacher and student)"},
    {"--data", "FILE", 1, "training requests (images and questions)"},
    {0}};

static int not_yet(const fc_cli_args *a) {
    (void)a;
    return fc_cli_error("training is not available yet in this version (see the open issues)");
}

static const fc_cli_command llava = {
    "llava", not_yet, "LLaVA-1.5 (separate image/text, K/V compressors per layer)", "--model DIR --data FILE [options]",
    "Trains LLaVA-1.5's per-layer K/V window compressors, image and text parts separately.", options, 0, NULL};
static const fc_cli_command minicpm = {
    "minicpm", not_yet, "MiniCPM-V-2.6 (K/V compressors per layer over the whole prefix)",
    "--model DIR --data FILE [options]", "Trains MiniCPM-V-2.6's per-layer K/V compressors over the whole prefix.",
    options, 0, NULL};

static const fc_cli_command *const commands[] = {&llava, &minicpm};

int main(int argc, char **argv) {
    /* --precision f32|bf16 applies to every command (kernels/wpack.h), taken out of argv first */
    fc_cli_prog = "fc-train";
    fc_err pe = fc_precision_take_option(&argc, argv);
    if (pe) {
        fc_cli_fail(pe);
        return 2;
    }
    return fc_cli_main("fc-train",
                       "Trains FastCache's learned KV compressors (per-layer window MLPs) by distillation: the frozen\n"
                       "model with the full KV cache is the teacher, the same model reading the compressed cache is\n"
                       "the student. Usually: fc-train <llava|minicpm> --model DIR --data FILE [options].\n"
                       "--precision f32|bf16 (default f32, or $FC_PRECISION): the GEMMs' input precision.\n",
                       commands, (int)(sizeof commands / sizeof commands[0]), argc, argv);
}
