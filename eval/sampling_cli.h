/* sampling_cli.h: the generation options `fc-eval generate` and `fc-eval run` share
 * (--max-new-tokens, --temperature, --top-k, --top-p, --seed), parsed in one place so both commands
 * accept the same spellings and ranges. */
#ifndef FC_EVAL_SAMPLING_CLI_H
#define FC_EVAL_SAMPLING_CLI_H

#include <stdbool.h>

#include "core/base/cli.h"
#include "core/base/err.h"

/* The rows of the shared options for a command's option table (--max-new-tokens is the command's own row:
 * its default and stop rule differ between generate and run). */
#define FC_SAMPLING_CLI_OPTIONS                                                                               \
    {"--temperature", "T", 1, "0 (default) is greedy; > 0 samples from softmax(logits / T)"},                \
        {"--top-k", "K", 1, "sample among the K most likely tokens (0: off)"},                                \
        {"--top-p", "P", 1, "sample from the smallest set with probability >= P (1: off)"},                   \
        {"--seed", "S", 1, "RNG seed (default 0): the same seed gives the same tokens"}

typedef struct {
    long max_new;        /* >= 1 */
    double temperature;  /* 0: greedy */
    long top_k;          /* 0: off */
    double top_p;        /* 1: off */
    long seed;
    /* the raw option values, until fc_sampling_cli_parse */
    const char *s_max_new, *s_temperature, *s_top_k, *s_top_p, *s_seed;
} fc_sampling_cli;

/* Defaults: greedy, max_new as given. */
fc_sampling_cli fc_sampling_cli_defaults(long max_new);
/* Takes the raw values of the shared options (and --max-new-tokens) from a parsed command line whose table
 * has FC_SAMPLING_CLI_OPTIONS and a --max-new-tokens row. */
void fc_sampling_cli_take(fc_sampling_cli *s, const fc_cli_args *a);
/* Converts the values given, with range checks whose messages name the option. */
fc_err fc_sampling_cli_parse(fc_sampling_cli *s);

#endif
