/* main.c: fc-train, the distillation trainer of the learned KV compressors (CCM). */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "kernels/wpack.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fc-train <llava|minicpm> --model DIR --data FILE [options]\n"
            "Trains FastCache's learned KV compressors (per-layer window MLPs) by distillation: the frozen model\n"
            "with the full KV cache is the teacher, the same model reading the compressed cache is the student.\n\n"
            "models:\n"
            "  llava      LLaVA-1.5 (separate image/text, K/V compressors per layer)\n"
            "  minicpm    MiniCPM-V-2.6 (K/V compressors per layer over the whole prefix)\n\n"
            "--precision f32|bf16 (default f32, or $FC_PRECISION): the GEMMs' input precision (see fc-eval --help).\n");
}

int main(int argc, char **argv) {
    fc_cli_prog = "fc-train";
    fc_err pe = fc_precision_take_option(&argc, argv); /* --precision f32|bf16 (kernels/wpack.h) */
    if (pe) {
        fc_cli_fail(pe);
        return 2;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "llava") || !strcmp(argv[1], "minicpm"))
        return fc_cli_error("training is not available yet in this version (see the open issues)");
    fc_cli_error("unknown model '%s' (expected llava or minicpm; see fc-train --help)", argv[1]);
    return 2;
}
