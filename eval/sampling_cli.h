/* sampling_cli.h: the generation options `fc-eval generate` and `fc-eval run` share
 * (--max-new-tokens, --temperature, --top-k, --top-p, --seed), parsed in one place so both commands
 * accept the same spellings and ranges. */
#ifndef FC_EVAL_SAMPLING_CLI_H
#define FC_EVAL_SAMPLING_CLI_H

#include <stdbool.h>

#include "core/base/err.h"

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
/* True if argv[*i] is one of the shared options (its value taken, *i advanced); see fc_cli_opt for `missing`. */
bool fc_sampling_cli_opt(int argc, char **argv, int *i, fc_sampling_cli *s, bool *missing);
/* Converts the values given, with range checks whose messages name the option. */
fc_err fc_sampling_cli_parse(fc_sampling_cli *s);

#endif
