/* main.c: fc-eval, the evaluation and inspection tool. Dispatches to the subcommands in the table; each
 * parses its options from its own table (core/base/cli.h). */
#include <stdio.h>

#include "core/base/cli.h"
#include "eval/commands.h"
#include "kernels/backend.h"
#include "kernels/wpack.h"

static const fc_cli_command *const commands[] = {
    /* one row per subcommand, in the order `--help` lists them */
    &fc_cmd_version, &fc_cmd_logits,  &fc_cmd_generate, &fc_cmd_run,     &fc_cmd_bench_llm, &fc_cmd_bench_compress,
    &fc_cmd_preprocess, &fc_cmd_tokenize, &fc_cmd_inspect, &fc_cmd_config, &fc_cmd_vision, &fc_cmd_quality,
    &fc_cmd_data, &fc_cmd_load, &fc_cmd_sweep, &fc_cmd_merge, &fc_cmd_plot, &fc_cmd_synth, &fc_cmd_methods,
    &fc_cmd_compare,
};

static int version(const fc_cli_args *a) {
    (void)a;
    printf("fastcache %s\ncuda: %s\n", FC_VERSION, fc_cuda_built() ? fc_cuda_describe() : "not built");
    printf("%s\n", fc_precision_describe());
    return 0;
}

const fc_cli_command fc_cmd_version = {"version", version, "print the version and the backends this binary has", "",
                                       NULL, NULL, 0, NULL};

/* --precision applies to every command, so it is taken out of argv before the command's table sees it;
 * listed here so that each command's --help shows it */
static const fc_cli_option common_options[] = {
    {"--precision", "f32|bf16", 1,
     "GEMM and attention-matmul inputs (default f32, or $FC_PRECISION; a config's precision:\n"
     "key applies when neither is given): f32 = the exact reference; bf16 = bf16 inputs, f32\n"
     "accumulation (oneDNN + own AVX-512 BF16 kernels), see 'fc-eval version'"},
    {0}};

int main(int argc, char **argv) {
    fc_cli_prog = "fc-eval";
    fc_cli_common_options = common_options;
    fc_err pe = fc_precision_take_option(&argc, argv);
    if (pe) {
        fc_cli_fail(pe);
        return 2;
    }
    return fc_cli_main("fc-eval",
                       "Measures what KV-cache compression costs in answer quality and buys in speed and memory,\n"
                       "and inspects the models, tokenizers and checkpoints it runs on.\n"
                       "Every command that runs a model also takes --precision f32|bf16 (default f32, or\n"
                       "$FC_PRECISION): f32 is the exact reference; bf16 runs the GEMMs with bf16 inputs and f32\n"
                       "accumulation (oneDNN: AMX or AVX-512 BF16), see 'fc-eval version'.\n",
                       commands, (int)(sizeof commands / sizeof commands[0]), argc, argv);
}
