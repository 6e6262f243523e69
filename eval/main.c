/* main.c: fc-eval, the evaluation and inspection tool. Dispatches to the subcommands in the table. */
#include <stdio.h>
#include <string.h>

#include "core/base/cli.h"
#include "eval/commands.h"
#include "kernels/backend.h"
#include "kernels/wpack.h"

static const fc_cli_command commands[] = {
    /* one row per subcommand, in the order `--help` lists them */
    {"version", fc_cmd_version, "print the version and the backends this binary has"},
    {"logits", fc_cmd_logits, "decoder logits at every prompt position and N greedy steps, to safetensors"},
    {"generate", fc_cmd_generate, "continue a prompt with the decoder (greedy or sampled)"},
    {"run", fc_cmd_run, "ask a VLM (LLaVA / MiniCPM-V) about images and print the answer"},
    {"bench-llm", fc_cmd_bench_llm, "decoder prefill and decode tokens/s on random prompts (bench/llm.sh)"},
    {"bench-compress", fc_cmd_bench_compress, "KV compression time per method as a share of the request's prefill time"},
    {"preprocess", fc_cmd_preprocess, "an image -> the encoder's pixel tensors (LLaVA CLIP / MiniCPM-V slices), to safetensors"},
    {"tokenize", fc_cmd_tokenize, "encode a text to token ids, or decode ids, with a model's tokenizer"},
    {"inspect", fc_cmd_inspect, "list a checkpoint: config, tensors, metadata, totals"},
    {"config", fc_cmd_config, "validate a YAML run config or a config.json and print its effective values"},
    {"vision", fc_cmd_vision, "time a model's vision encoder (CLIP+projector, SigLIP+resampler) on one image"},
    {"methods", fc_cmd_methods, "list the KV compression methods with their options and defaults"},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: fc-eval <command> [options]\n"
            "Measures what KV-cache compression costs in answer quality and buys in speed and memory,\n"
            "and inspects the models, tokenizers and checkpoints it runs on.\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'fc-eval <command> --help' describes a command's options.\n"
               "Every command that runs a model also takes --precision f32|bf16 (default f32, or $FC_PRECISION):\n"
               "f32 is the exact reference; bf16 runs the GEMMs with bf16 inputs and f32 accumulation (oneDNN,\n"
               "AMX or AVX-512 BF16), several times faster on CPUs that have them (see 'fc-eval version').\n");
}

int fc_cmd_version(int argc, char **argv) {
    (void)argc, (void)argv;
    printf("fastcache %s\ncuda: %s\n", FC_VERSION, fc_cuda_built() ? fc_cuda_describe() : "not built");
    printf("%s\n", fc_precision_describe());
    return 0;
}

int main(int argc, char **argv) {
    fc_cli_prog = "fc-eval";
    fc_err pe = fc_precision_take_option(&argc, argv); /* applies to every command (kernels/wpack.h) */
    if (pe) {
        fc_cli_fail(pe);
        return 2;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fc_cli_error("unknown command '%s' (see fc-eval --help)", argv[1]);
    return 2;
}
