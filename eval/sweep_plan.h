/* sweep_plan.h: a sweep config (eval_config.h, kind: sweep) expanded into the list of runs `fc-eval sweep`
 * executes, each one `fc-eval load` or `fc-eval quality` command line with its own results folder
 * (<sweep>/runs/<id>/). The expansion rules and the precedence (flags > experiment > global) are in
 * eval_config.h. The plan is the same on every machine for the same config and flags, so `--shard i/n`
 * runs number k of it when k mod n == i, and the shards' folders merge by run id. */
#ifndef FC_EVAL_SWEEP_PLAN_H
#define FC_EVAL_SWEEP_PLAN_H

#include <stdbool.h>

#include "eval/eval_config.h"

/* Values given on the sweep's command line; NULL / 0 = not given. */
typedef struct {
    const char *model, *tokenizer, *data, *images, *checkpoint, *kv_budget, *out;
    const char *precision; /* "f32" / "bf16" from fc-eval's --precision or FC_PRECISION; NULL: the config's */
    long requests, max_new_tokens, kv_blocks, seed;
    bool has_seed;
} fc_sweep_overrides;

typedef struct {
    char id[200];          /* folder name under runs/: "<k>-<experiment>-<method>-<ratio>x-r<rate>-p<P>c<C>d<D>" */
    int index;             /* position in the plan */
    int kind;              /* fc_sweep_kind */
    char *experiment;      /* (borrowed from the config) */
    char *label;           /* series name in tables and plots: "none", "snapkv 5x" (+ " P/C/D" if batching varies) */
    char **argv;           /* the fc-eval command line (argv[0] = "fc-eval"), NULL-terminated, owned */
    int argc;
} fc_sweep_run;

typedef struct {
    fc_sweep_run *runs;
    int n;
    char *dir;             /* <output_dir>/<name>, or the --out flag */
} fc_sweep_plan;

/* Expands cfg with the overrides into *plan. Every method spec is created once (fc_compress_create) to
 * check it before anything runs: an unknown method or option, or a missing ccm checkpoint, fails here
 * naming the experiment. Free with fc_sweep_plan_free. */
fc_err fc_sweep_plan_make(const fc_sweep_config *cfg, const fc_sweep_overrides *o, fc_sweep_plan *plan);
void fc_sweep_plan_free(fc_sweep_plan *plan);

#endif
