/* metrics.h: the figures of a load run, from the per-request records and the scheduler's trace.
 *
 * Definitions (seconds unless said):
 *   TTFT        first_token - arrival (queueing, prefill with the vision tower, compression, first decode step)
 *   TPOT        (finish - first_token) / (n_out - 1): time per output token after the first (vLLM's);
 *               requests with fewer than 2 tokens have none
 *   e2e         finish - arrival;  queue wait: admit - arrival
 *   prefill     prefill_end - admit (its batch's forward and prompt building)
 *   compress    compress_end - compress_start;  compress wait: compress_start - prefill_end
 *   duration    start of the run (before the first arrival) to the last finish
 *   tokens/s    generated tokens of the completed requests / duration (generated only: prompt tokens are
 *               not counted, unlike the original's bench matrix, §4.8)
 *   requests/s  completed requests / duration (requests, not decode batches as in the original, §3.2)
 *   KV bytes    blocks in use x block bytes; mean is time-weighted over the run
 *   achieved ratio  sum of cached entries before compression / sum after (the "x" form), over requests
 * Percentiles interpolate linearly between order statistics (numpy's default): p50 of {1, 2} is 1.5.
 */
#ifndef FC_SERVE_METRICS_H
#define FC_SERVE_METRICS_H

#include <stddef.h>

#include "core/base/err.h"
#include "core/serve/request.h"
#include "core/serve/scheduler.h"

typedef struct {
    int n;
    double mean, min, max, p50, p90, p99;
} fc_serve_dist;

typedef struct {
    int n_requests, n_completed;
    double duration;
    long tokens_generated, tokens_prompt;
    double tokens_per_s, requests_per_s;
    fc_serve_dist ttft, tpot, e2e, queue_wait, prefill, compress_wait, compress, decode;
    double s_prefill, s_compress, s_decode, s_idle;
    long n_prefill_batches, n_compress_batches, n_decode_steps;
    size_t kv_bytes_peak, kv_bytes_mean, kv_bytes_capacity;
    double achieved_ratio, kv_bytes_ratio;
    int max_decoding, preemptions;
    long peak_rss_kib;        /* the process's peak resident memory (VmHWM, else getrusage) */
    double cpu_seconds;       /* user + system CPU time of the process so far (getrusage): with the wall
                                 times, says how much of the machine the run had */
} fc_serve_summary;

/* The p-th percentile (p in [0, 100]) of v[0..n) sorted ascending, linear interpolation; NaN when n = 0. */
double fc_serve_percentile(const double *sorted, int n, double p);

/* Distribution of v[0..n) (sorted in place). */
void fc_serve_dist_of(double *v, int n, fc_serve_dist *d);

/* Peak resident memory of this process in KiB: /proc/self/status VmHWM, else getrusage's ru_maxrss. */
long fc_serve_peak_rss_kib(void);

/* Fills *out from n records and the trace. kv_capacity: the pool's bytes. FC_ENOMEM only. */
fc_err fc_serve_summarize(const fc_serve_req *reqs, int n, const fc_serve_trace *tr, size_t kv_capacity,
                          fc_serve_summary *out);

#endif
