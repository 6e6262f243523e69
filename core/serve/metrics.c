/* metrics.c: summary figures of a load run. See metrics.h for the definitions. */
#include "core/serve/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/base/mem.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double fc_serve_percentile(const double *v, int n, double p) {
    if (n <= 0) return NAN;
    double pos = p / 100.0 * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    if (lo < 0) return v[0];
    return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

void fc_serve_dist_of(double *v, int n, fc_serve_dist *d) {
    memset(d, 0, sizeof *d);
    d->n = n;
    if (n == 0) {
        d->mean = d->min = d->max = d->p50 = d->p90 = d->p99 = NAN;
        return;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    d->mean = sum / n;
    d->min = v[0];
    d->max = v[n - 1];
    d->p50 = fc_serve_percentile(v, n, 50);
    d->p90 = fc_serve_percentile(v, n, 90);
    d->p99 = fc_serve_percentile(v, n, 99);
}

long fc_serve_peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    long kib = -1;
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6)) {
                kib = strtol(line + 6, NULL, 10);
                break;
            }
        fclose(f);
    }
    if (kib < 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) kib = ru.ru_maxrss; /* KiB on Linux */
    }
    return kib;
}

typedef double (*req_metric)(const fc_serve_req *q, int *ok);

static double m_ttft(const fc_serve_req *q, int *ok) { (void)ok; return q->t_first_token - q->t_arrival; }
static double m_tpot(const fc_serve_req *q, int *ok) {
    *ok = q->n_out >= 2;
    return *ok ? (q->t_finish - q->t_first_token) / (q->n_out - 1) : 0;
}
static double m_e2e(const fc_serve_req *q, int *ok) { (void)ok; return q->t_finish - q->t_arrival; }
static double m_queue(const fc_serve_req *q, int *ok) { (void)ok; return q->t_admit - q->t_arrival; }
static double m_prefill(const fc_serve_req *q, int *ok) { (void)ok; return q->t_prefill_end - q->t_admit; }
static double m_cwait(const fc_serve_req *q, int *ok) { (void)ok; return q->t_compress_start - q->t_prefill_end; }
static double m_compress(const fc_serve_req *q, int *ok) { (void)ok; return q->t_compress_end - q->t_compress_start; }
static double m_decode(const fc_serve_req *q, int *ok) { (void)ok; return q->t_finish - q->t_first_token; }

static void dist_over(const fc_serve_req *reqs, int n, double *buf, req_metric f, fc_serve_dist *d) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (reqs[i].t_finish < 0) continue;
        int ok = 1;
        double v = f(&reqs[i], &ok);
        if (ok) buf[k++] = v;
    }
    fc_serve_dist_of(buf, k, d);
}

fc_err fc_serve_summarize(const fc_serve_req *reqs, int n, const fc_serve_trace *tr, size_t kv_capacity,
                          fc_serve_summary *out) {
    memset(out, 0, sizeof *out);
    double *buf = fc_malloc((size_t)(n > 0 ? n : 1) * sizeof *buf, "load metrics");
    if (!buf) return FC_ENOMEM;
    out->n_requests = n;
    out->duration = tr->t_end;
    double cached = 0, kept = 0, b_before = 0, b_after = 0;
    for (int i = 0; i < n; i++) {
        const fc_serve_req *q = &reqs[i];
        if (q->t_finish < 0) continue;
        out->n_completed++;
        out->tokens_generated += q->n_out;
        out->tokens_prompt += q->n_prompt;
        cached += q->n_cached, kept += q->n_kept;
        b_before += (double)q->kv_bytes_prefill, b_after += (double)q->kv_bytes_kept;
    }
    out->tokens_per_s = out->duration > 0 ? out->tokens_generated / out->duration : 0;
    out->requests_per_s = out->duration > 0 ? out->n_completed / out->duration : 0;
    out->achieved_ratio = kept > 0 ? cached / kept : NAN;
    out->kv_bytes_ratio = b_after > 0 ? b_before / b_after : NAN;
    dist_over(reqs, n, buf, m_ttft, &out->ttft);
    dist_over(reqs, n, buf, m_tpot, &out->tpot);
    dist_over(reqs, n, buf, m_e2e, &out->e2e);
    dist_over(reqs, n, buf, m_queue, &out->queue_wait);
    dist_over(reqs, n, buf, m_prefill, &out->prefill);
    dist_over(reqs, n, buf, m_cwait, &out->compress_wait);
    dist_over(reqs, n, buf, m_compress, &out->compress);
    dist_over(reqs, n, buf, m_decode, &out->decode);
    free(buf);
    out->s_prefill = tr->s_prefill, out->s_compress = tr->s_compress, out->s_decode = tr->s_decode;
    out->s_idle = tr->s_idle;
    out->n_prefill_batches = tr->n_prefill_batches, out->n_compress_batches = tr->n_compress_batches;
    out->n_decode_steps = tr->n_decode_steps;
    out->max_decoding = tr->max_decoding;
    out->preemptions = tr->preemptions;
    out->kv_bytes_capacity = kv_capacity;
    /* time-weighted mean: each sample's value holds until the next one */
    double area = 0, span = 0;
    for (int k = 0; k < tr->n_samples; k++) {
        const fc_serve_sample *s = &tr->samples[k];
        if (s->kv_bytes > out->kv_bytes_peak) out->kv_bytes_peak = s->kv_bytes;
        if (k + 1 < tr->n_samples) {
            double dt = tr->samples[k + 1].t - s->t;
            area += dt * (double)s->kv_bytes;
            span += dt;
        }
    }
    out->kv_bytes_mean = span > 0 ? (size_t)(area / span) : out->kv_bytes_peak;
    out->peak_rss_kib = fc_serve_peak_rss_kib();
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        out->cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
                           ru.ru_stime.tv_usec * 1e-6;
    return FC_OK;
}
