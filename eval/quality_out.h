/* quality_out.h: the files and the table of `fc-eval quality` (quality.csv, quality_samples.csv,
 * quality.json, the one-screen table). Files are written to a temporary name in the same folder and renamed,
 * so a killed run never leaves half a file. */
#ifndef FC_EVAL_QUALITY_OUT_H
#define FC_EVAL_QUALITY_OUT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/serve/heldout.h"
#include "core/serve/quality.h"
#include "data/dataset.h"

/* The header of quality.csv, exactly. */
#define FC_QUALITY_CSV_HEADER                                                                                   \
    "method,spec,ratio_x,kvpress_compression_ratio,n_samples,accuracy_exact,accuracy_contains,kl_mean,"         \
    "top1_agreement,greedy_identical,first_divergence_mean,kv_bytes_mean,kv_bytes_full_mean,achieved_ratio,"    \
    "n_records,n_tokens,kl_per_token,top1_per_token"

/* The header of quality_samples.csv. */
#define FC_QUALITY_SAMPLES_HEADER                                                                               \
    "id,method,spec,answer,prediction,correct_exact,correct_contains,choice,kl,top1_agreement,n_tokens,"        \
    "greedy_identical,first_divergence,prompt_tokens,kv_bytes,kv_bytes_full,achieved_ratio,turn"

/* Everything the writers need. */
typedef struct {
    const fc_dataset *data;
    const fc_quality_method *methods;
    int n_methods;
    const fc_quality_result *res;
    cJSON *config;       /* the effective configuration, copied into quality.json (borrowed) */
    int n_layers;        /* the decoder's, for the per-layer budgets */
} fc_quality_report;

/* The reference answer of a record's turn-th question (1-based, as fc_quality_result.item_turn). */
const char *fc_quality_item_answer(const fc_data_record *rec, int turn);

/* Method i's short name ("none" for the full cache) and full spec. */
const char *fc_quality_method_name(const fc_quality_method *m);
const char *fc_quality_method_spec(const fc_quality_method *m);
double fc_quality_method_ratio(const fc_quality_method *m);

/* Writes quality.csv, quality_samples.csv and quality.json into dir (created if missing). Errors name the
 * file. */
fc_err fc_quality_write(const fc_quality_report *r, const char *dir);
/* Before a run: creates dir if needed and checks that it is a folder this process can write into, so an
 * unwritable --out fails at once, not after the whole evaluation. FC_EIO naming dir and the reason. */
fc_err fc_quality_out_check(const char *dir);

/* The one-screen table, then a line per method whose budgets need a word (pyramidkv's fallback, the window
 * cut by ties: those go to warn, the rest to f). */
void fc_quality_print_table(const fc_quality_report *r, FILE *f, FILE *warn);

#endif
