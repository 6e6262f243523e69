/* load_report.h: the outputs of `fc-eval load` in its --out folder, and its one-screen table:
 *   requests.csv     one row per request: its timestamps (s since the start), derived latencies, tokens,
 *                    KV bytes, preemptions and the generated ids
 *   kv_timeline.csv  t_s, kv_bytes, decoding, in_flight, waiting: the pool and the queues after every stage
 *   summary.json     {"config": the full effective configuration, "versions": {...}, "metrics": {...}}
 * Each file is written through a temporary name and renamed (results_io.h). */
#ifndef FC_EVAL_LOAD_REPORT_H
#define FC_EVAL_LOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/serve/metrics.h"

/* The effective configuration, as the run used it. */
typedef struct {
    const char *model, *arch, *data, *data_description, *images, *method_spec, *method_name;
    double ratio_x, kvpress_ratio;     /* 1 and 0 without a method */
    const char *arrival;
    double rate;
    int requests, prefill_batch, compress_batch, decode_batch;
    long long kv_budget_bytes;         /* the pool: blocks x bytes per block */
    int kv_blocks, block_size;
    long long kv_block_bytes;          /* one block of all layers, K and V */
    int max_new_tokens;
    double temperature, top_p;
    int top_k;
    long long seed;
    bool ignore_eos;
    int threads;
} fc_load_config;

/* Writes the three files into dir (which must exist). record_ids: (n_records) the data set's ids for the
 * record_id column (NULL: the record index). */
fc_err fc_load_report_write(const char *dir, const fc_load_config *cfg, const fc_serve_req *reqs, int n,
                            const char *const *record_ids, const fc_serve_trace *tr, const fc_serve_summary *s);

/* The one-screen table. */
void fc_load_report_print(FILE *f, const fc_load_config *cfg, const fc_serve_summary *s);

#endif
