/* load_report.c: requests.csv, kv_timeline.csv, summary.json and the table of `fc-eval load`. */
#include "eval/load_report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/base/file.h"
#include "eval/commands.h"
#include "eval/results_io.h"
#include "kernels/backend.h"
#include "kernels/wpack.h"

static double since(double t, double t0) { return t >= 0 && t0 >= 0 ? t - t0 : NAN; }

static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, ",%.6f", v);
    else fputs(",", f);
}

static fc_err write_requests(const char *dir, const fc_serve_req *reqs, int n, const char *const *record_ids) {
    char *path = fc_path_join(dir, "requests.csv");
    if (!path) return FC_ENOMEM;
    fc_out_file o;
    fc_err e = fc_out_open(&o, path);
    free(path);
    if (e) return e;
    fputs("id,record,record_id,arrival_s,admit_s,prefill_end_s,compress_start_s,compress_end_s,first_token_s,finish_s,"
          "ttft_s,tpot_s,e2e_s,queue_wait_s,prefill_s,compress_s,n_prompt,n_cached,n_kept,kv_bytes_prefill,"
          "kv_bytes_kept,kv_bytes_final,n_out,hit_eos,preemptions,output_ids\n",
          o.f);
    for (int i = 0; i < n; i++) {
        const fc_serve_req *q = &reqs[i];
        fprintf(o.f, "%d,%d,", q->id, q->record);
        if (record_ids) { /* ids are data; quote them as CSV does */
            fputc('"', o.f);
            for (const char *c = record_ids[q->record]; *c; c++) {
                if (*c == '"') fputc('"', o.f);
                fputc(*c, o.f);
            }
            fputc('"', o.f);
        } else {
            fprintf(o.f, "%d", q->record);
        }
        csv_num(o.f, q->t_arrival);
        csv_num(o.f, q->t_admit < 0 ? NAN : q->t_admit);
        csv_num(o.f, q->t_prefill_end < 0 ? NAN : q->t_prefill_end);
        csv_num(o.f, q->t_compress_start < 0 ? NAN : q->t_compress_start);
        csv_num(o.f, q->t_compress_end < 0 ? NAN : q->t_compress_end);
        csv_num(o.f, q->t_first_token < 0 ? NAN : q->t_first_token);
        csv_num(o.f, q->t_finish < 0 ? NAN : q->t_finish);
        csv_num(o.f, since(q->t_first_token, q->t_arrival));
        csv_num(o.f, q->n_out >= 2 ? since(q->t_finish, q->t_first_token) / (q->n_out - 1) : NAN);
        csv_num(o.f, since(q->t_finish, q->t_arrival));
        csv_num(o.f, since(q->t_admit, q->t_arrival));
        csv_num(o.f, since(q->t_prefill_end, q->t_admit));
        csv_num(o.f, since(q->t_compress_end, q->t_compress_start));
        fprintf(o.f, ",%d,%d,%d,%zu,%zu,%zu,%d,%d,%d,", q->n_prompt, q->n_cached, q->n_kept, q->kv_bytes_prefill,
                q->kv_bytes_kept, q->kv_bytes_final, q->n_out, q->hit_eos, q->preemptions);
        for (int k = 0; k < q->n_out; k++) fprintf(o.f, k ? " %d" : "%d", (int)q->out[k]);
        fputc('\n', o.f);
    }
    return fc_out_commit(&o);
}

static fc_err write_timeline(const char *dir, const fc_serve_trace *tr) {
    char *path = fc_path_join(dir, "kv_timeline.csv");
    if (!path) return FC_ENOMEM;
    fc_out_file o;
    fc_err e = fc_out_open(&o, path);
    free(path);
    if (e) return e;
    fputs("t_s,kv_bytes,decoding,in_flight,waiting\n", o.f);
    for (int k = 0; k < tr->n_samples; k++) {
        const fc_serve_sample *s = &tr->samples[k];
        fprintf(o.f, "%.6f,%zu,%d,%d,%d\n", s->t, s->kv_bytes, s->decoding, s->in_flight, s->waiting);
    }
    return fc_out_commit(&o);
}

static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static void add_str(cJSON *o, const char *k, const char *v) {
    if (v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static void add_dist(cJSON *o, const char *k, const fc_serve_dist *d) {
    cJSON *x = cJSON_AddObjectToObject(o, k);
    cJSON_AddNumberToObject(x, "n", d->n);
    add_num(x, "mean", d->mean);
    add_num(x, "p50", d->p50);
    add_num(x, "p90", d->p90);
    add_num(x, "p99", d->p99);
    add_num(x, "min", d->min);
    add_num(x, "max", d->max);
}

static cJSON *summary_json(const fc_load_config *c, const fc_serve_summary *s) {
    cJSON *root = cJSON_CreateObject();
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    add_str(cfg, "model", c->model);
    add_str(cfg, "arch", c->arch);
    add_str(cfg, "data", c->data);
    add_str(cfg, "data_description", c->data_description);
    add_str(cfg, "images", c->images);
    add_str(cfg, "method", c->method_name);
    add_str(cfg, "method_spec", c->method_spec);
    add_num(cfg, "ratio_x", c->ratio_x);
    add_num(cfg, "kvpress_compression_ratio", c->kvpress_ratio);
    add_str(cfg, "arrival", c->arrival);
    add_num(cfg, "req_per_sec", c->rate);
    add_num(cfg, "requests", c->requests);
    add_num(cfg, "prefill_batch", c->prefill_batch);
    add_num(cfg, "compress_batch", c->compress_batch);
    add_num(cfg, "decode_batch", c->decode_batch);
    add_num(cfg, "kv_budget_bytes", (double)c->kv_budget_bytes);
    add_num(cfg, "kv_blocks", c->kv_blocks);
    add_num(cfg, "block_size", c->block_size);
    add_num(cfg, "kv_block_bytes", (double)c->kv_block_bytes);
    add_num(cfg, "max_new_tokens", c->max_new_tokens);
    add_num(cfg, "temperature", c->temperature);
    add_num(cfg, "top_k", c->top_k);
    add_num(cfg, "top_p", c->top_p);
    add_num(cfg, "seed", (double)c->seed);
    cJSON_AddBoolToObject(cfg, "ignore_eos", c->ignore_eos);
    add_num(cfg, "threads", c->threads);
    add_str(cfg, "precision", fc_precision_name(fc_precision_get())); /* what ran: --precision, after fallbacks */
    add_str(cfg, "timing", "CLOCK_MONOTONIC wall time of each stage on the CPU path; arrivals in real time");
    cJSON *v = cJSON_AddObjectToObject(root, "versions");
    add_str(v, "fastcache", FC_VERSION);
    add_str(v, "compiler", __VERSION__);
    add_str(v, "cuda", fc_cuda_built() ? "built" : "not built");
    cJSON *m = cJSON_AddObjectToObject(root, "metrics");
    add_num(m, "requests", s->n_requests);
    add_num(m, "completed", s->n_completed);
    add_num(m, "duration_s", s->duration);
    add_num(m, "tokens_generated", (double)s->tokens_generated);
    add_num(m, "tokens_prompt", (double)s->tokens_prompt);
    add_num(m, "tokens_per_s", s->tokens_per_s);
    add_num(m, "requests_per_s", s->requests_per_s);
    add_dist(m, "ttft_s", &s->ttft);
    add_dist(m, "tpot_s", &s->tpot);
    add_dist(m, "e2e_s", &s->e2e);
    add_dist(m, "queue_wait_s", &s->queue_wait);
    add_dist(m, "prefill_s", &s->prefill);
    add_dist(m, "compress_wait_s", &s->compress_wait);
    add_dist(m, "compress_s", &s->compress);
    add_dist(m, "decode_s", &s->decode);
    cJSON *st = cJSON_AddObjectToObject(m, "stage_time_s");
    add_num(st, "prefill", s->s_prefill);
    add_num(st, "compress", s->s_compress);
    add_num(st, "decode", s->s_decode);
    add_num(st, "idle", s->s_idle);
    add_num(m, "prefill_batches", (double)s->n_prefill_batches);
    add_num(m, "compress_batches", (double)s->n_compress_batches);
    add_num(m, "decode_steps", (double)s->n_decode_steps);
    add_num(m, "kv_bytes_peak", (double)s->kv_bytes_peak);
    add_num(m, "kv_bytes_mean", (double)s->kv_bytes_mean);
    add_num(m, "kv_bytes_capacity", (double)s->kv_bytes_capacity);
    add_num(m, "achieved_ratio", s->achieved_ratio);
    add_num(m, "kv_bytes_ratio", s->kv_bytes_ratio);
    add_num(m, "max_decoding", s->max_decoding);
    add_num(m, "preemptions", s->preemptions);
    add_num(m, "peak_rss_bytes", (double)s->peak_rss_kib * 1024.0);
    add_num(m, "cpu_s", s->cpu_seconds);
    return root;
}

fc_err fc_load_report_write(const char *dir, const fc_load_config *cfg, const fc_serve_req *reqs, int n,
                            const char *const *record_ids, const fc_serve_trace *tr, const fc_serve_summary *s) {
    FC_TRY(write_requests(dir, reqs, n, record_ids));
    FC_TRY(write_timeline(dir, tr));
    cJSON *root = summary_json(cfg, s);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    char *path = fc_path_join(dir, "summary.json");
    fc_err e = !text || !path ? fc_err_set(FC_ENOMEM, "summary.json: out of memory") : FC_OK;
    if (!e) {
        size_t len = strlen(text);
        char *t2 = realloc(text, len + 2);
        if (t2) text = t2, text[len] = '\n', text[len + 1] = 0;
        e = fc_out_write_text(path, text);
    }
    free(path);
    cJSON_free(text);
    return e;
}

static double mib(double b) { return b / (1024.0 * 1024.0); }

static void dist_line(FILE *f, const char *name, const fc_serve_dist *d) {
    if (d->n == 0) {
        fprintf(f, "%-16s (none)\n", name);
        return;
    }
    fprintf(f, "%-16s p50 %8.3f  p90 %8.3f  p99 %8.3f  mean %8.3f  max %8.3f\n", name, d->p50, d->p90, d->p99, d->mean,
            d->max);
}

void fc_load_report_print(FILE *f, const fc_load_config *c, const fc_serve_summary *s) {
    fprintf(f, "load: %s at %g req/s (%s), %d requests, P/C/D %d/%d/%d, KV pool %.1f MiB (%d blocks of %d tokens)\n",
            c->method_spec, c->rate, c->arrival, c->requests, c->prefill_batch, c->compress_batch, c->decode_batch,
            mib((double)c->kv_budget_bytes), c->kv_blocks, c->block_size);
    fprintf(f, "%-16s %d/%d in %.2f s\n", "completed", s->n_completed, s->n_requests, s->duration);
    fprintf(f, "%-16s %.2f tokens/s generated (%ld tokens), %.3f requests/s\n", "throughput", s->tokens_per_s,
            s->tokens_generated, s->requests_per_s);
    dist_line(f, "TTFT s", &s->ttft);
    dist_line(f, "TPOT s", &s->tpot);
    dist_line(f, "e2e latency s", &s->e2e);
    dist_line(f, "queue wait s", &s->queue_wait);
    fprintf(f, "%-16s prefill %.2f (%ld batches)  compress %.2f (%ld)  decode %.2f (%ld steps)  idle %.2f\n",
            "stage time s", s->s_prefill, s->n_prefill_batches, s->s_compress, s->n_compress_batches, s->s_decode,
            s->n_decode_steps, s->s_idle);
    fprintf(f, "%-16s peak %.1f MiB  mean %.1f MiB  of %.1f MiB\n", "KV memory", mib((double)s->kv_bytes_peak),
            mib((double)s->kv_bytes_mean), mib((double)s->kv_bytes_capacity));
    fprintf(f, "%-16s %.3gx achieved (kvpress compression_ratio %.4f), KV bytes %.3gx\n", "compression",
            s->achieved_ratio, isfinite(s->achieved_ratio) ? 1.0 - 1.0 / s->achieved_ratio : NAN, s->kv_bytes_ratio);
    fprintf(f, "%-16s %d sequences decoding at most; %d preemption(s) (swapped out to host memory and back)\n",
            "concurrency", s->max_decoding, s->preemptions);
    fprintf(f, "%-16s peak resident %.1f MiB; %.1f s of CPU time (the process, start included)\n", "process",
            (double)s->peak_rss_kib / 1024.0, s->cpu_seconds);
}
