/* sweep_results.h: what a sweep folder holds, read back for the tables and the plots.
 *
 *   <dir>/sweep.json            the plan: config file, flags, every run's id, experiment, label, command line
 *   <dir>/runs/<id>/run.json    one run's id, experiment, label and command line (written before it starts)
 *   <dir>/runs/<id>/...         its outputs (load: summary.json, requests.csv, kv_timeline.csv; quality:
 *                               quality.csv, quality_samples.csv, quality.json) and log.txt
 *   <dir>/load.csv              one row per finished load run (the columns of fc_sweep_load_columns)
 *   <dir>/quality.csv           every quality run's quality.csv rows, with experiment and run first
 *   <dir>/plots/                fc-eval plot's PNG and SVG files
 * A run counts as finished when its summary.json (load) or quality.csv (quality) exists, so shards of one
 * sweep merge by copying run folders together (fc-eval merge) and tables are rebuilt from what is there. */
#ifndef FC_EVAL_SWEEP_RESULTS_H
#define FC_EVAL_SWEEP_RESULTS_H

#include <cjson/cJSON.h>

#include "core/base/err.h"

typedef struct {
    char *id;           /* folder name under runs/ */
    char *experiment, *label; /* from run.json (label falls back to "<method> <ratio>x") */
    cJSON *summary;     /* summary.json of a load run, else NULL */
    char *quality_csv;  /* path of a quality run's quality.csv, else NULL */
    double rate;        /* config.req_per_sec (load) */
} fc_sweep_result;

typedef struct {
    fc_sweep_result *r;
    int n;
} fc_sweep_results;

/* Reads every finished run under dir/runs/, sorted by experiment, label, then rate. A summary.json that is
 * not valid JSON is an error naming it. Free with fc_sweep_results_free. */
fc_err fc_sweep_results_read(const char *dir, fc_sweep_results *out);
void fc_sweep_results_free(fc_sweep_results *r);

/* A number at a dotted path of a summary ("metrics.ttft_s.p50"); NaN when absent or null. */
double fc_sweep_num(const cJSON *summary, const char *path);
const char *fc_sweep_str(const cJSON *summary, const char *path);

/* Rebuilds dir/load.csv and dir/quality.csv from the runs (each written through a temporary name; a file is
 * left out when no run of its kind finished). *n_load, *n_quality: rows written (may be NULL). */
fc_err fc_sweep_write_tables(const char *dir, const fc_sweep_results *res, int *n_load, int *n_quality);

/* Splits one CSV line (RFC 4180 quotes) into at most max fields, in place; returns the count. */
int fc_csv_split(char *line, char **fields, int max);

#endif
