/* sampling_cli.c: the shared generation options of generate and run. */
#include "eval/sampling_cli.h"

#include <stdint.h>

#include "core/base/cli.h"
#include "core/model/generate.h"

fc_sampling_cli fc_sampling_cli_defaults(long max_new) {
    return (fc_sampling_cli){.max_new = max_new, .top_p = 1.0};
}

void fc_sampling_cli_take(fc_sampling_cli *s, const fc_cli_args *a) {
    s->s_max_new = fc_cli_value(a, "--max-new-tokens");
    s->s_temperature = fc_cli_value(a, "--temperature");
    s->s_top_k = fc_cli_value(a, "--top-k");
    s->s_top_p = fc_cli_value(a, "--top-p");
    s->s_seed = fc_cli_value(a, "--seed");
}

fc_err fc_sampling_cli_parse(fc_sampling_cli *s) {
    if (s->s_max_new) FC_TRY(fc_cli_parse_long("--max-new-tokens", s->s_max_new, 1, 1 << 20, &s->max_new));
    if (s->s_top_k) FC_TRY(fc_cli_parse_long("--top-k", s->s_top_k, 0, 1 << 24, &s->top_k));
    if (s->s_seed) FC_TRY(fc_cli_parse_long("--seed", s->s_seed, 0, INT64_MAX, &s->seed));
    if (s->s_temperature) FC_TRY(fc_cli_parse_double("--temperature", s->s_temperature, 0, 100, &s->temperature));
    if (s->temperature > 0 && s->temperature < FC_SAMPLE_MIN_TEMPERATURE) /* issue 10, defect 1 */
        return fc_err_set(FC_EINVAL,
                          "--temperature %s: a positive temperature below %g makes logit / temperature overflow "
                          "float (use 0 for greedy decoding)",
                          s->s_temperature, FC_SAMPLE_MIN_TEMPERATURE);
    if (s->s_top_p) FC_TRY(fc_cli_parse_double("--top-p", s->s_top_p, 1e-6, 1, &s->top_p));
    return FC_OK;
}
