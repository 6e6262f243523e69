/* sweep_results.c: reading a sweep folder back and writing its tables. See sweep_results.h. */
#include "eval/sweep_results.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "eval/results_io.h"

static fc_err read_json(const char *path, cJSON **out) {
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    FC_TRY(fc_file_read(path, (size_t)64 << 20, "a result file", &text, &len));
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out) return fc_err_set(FC_EFORMAT, "%s: not valid JSON", path);
    return FC_OK;
}

const char *fc_sweep_str(const cJSON *j, const char *path) {
    char key[64];
    const cJSON *at = j;
    while (at && *path) {
        size_t k = strcspn(path, ".");
        if (k >= sizeof key) return NULL;
        memcpy(key, path, k);
        key[k] = 0;
        at = cJSON_GetObjectItemCaseSensitive(at, key);
        path += k + (path[k] == '.');
    }
    return cJSON_IsString(at) ? at->valuestring : NULL;
}

double fc_sweep_num(const cJSON *j, const char *path) {
    char key[64];
    const cJSON *at = j;
    while (at && *path) {
        size_t k = strcspn(path, ".");
        if (k >= sizeof key) return NAN;
        memcpy(key, path, k);
        key[k] = 0;
        at = cJSON_GetObjectItemCaseSensitive(at, key);
        path += k + (path[k] == '.');
    }
    return cJSON_IsNumber(at) ? at->valuedouble : NAN;
}

static int cmp_result(const void *a, const void *b) {
    const fc_sweep_result *x = a, *y = b;
    int c = strcmp(x->experiment, y->experiment);
    if (!c) c = strcmp(x->label, y->label);
    if (!c) c = (x->rate > y->rate) - (x->rate < y->rate);
    if (!c) c = strcmp(x->id, y->id);
    return c;
}

static char *dup_or(const char *s, const char *fallback) { return fc_strdup(s ? s : fallback); }


fc_err fc_sweep_results_read(const char *dir, fc_sweep_results *out) {
    memset(out, 0, sizeof *out);
    char *runs = fc_path_join(dir, "runs");
    if (!runs) return FC_ENOMEM;
    DIR *d = opendir(runs);
    if (!d) {
        free(runs);
        return FC_OK; /* no runs yet */
    }
    fc_err e = FC_OK;
    struct dirent *ent;
    while (!e && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char *rd = fc_path_join(runs, ent->d_name);
        char *sp = rd ? fc_path_join(rd, "summary.json") : NULL;
        char *qp = rd ? fc_path_join(rd, "quality.csv") : NULL;
        char *jp = rd ? fc_path_join(rd, "run.json") : NULL;
        if (!rd || !sp || !qp || !jp) e = FC_ENOMEM;
        bool load = !e && fc_file_exists(sp), qual = !e && !load && fc_file_exists(qp);
        if (load || qual) {
            fc_sweep_result r = {0};
            cJSON *run = NULL;
            if (fc_file_exists(jp)) e = read_json(jp, &run);
            if (!e && load) e = read_json(sp, &r.summary);
            if (!e) {
                char fallback[96];
                const char *meth = load ? fc_sweep_str(r.summary, "config.method") : NULL;
                if (!load) snprintf(fallback, sizeof fallback, "quality");
                else if (meth && !strcmp(meth, "none")) snprintf(fallback, sizeof fallback, "none");
                else snprintf(fallback, sizeof fallback, "%s %gx", meth ? meth : "?", fc_sweep_num(r.summary, "config.ratio_x"));
                r.id = fc_strdup(ent->d_name);
                r.experiment = dup_or(fc_sweep_str(run, "experiment"), "-");
                r.label = dup_or(fc_sweep_str(run, "label"), fallback);
                r.quality_csv = qual ? fc_strdup(qp) : NULL;
                r.rate = load ? fc_sweep_num(r.summary, "config.req_per_sec") : 0;
                fc_sweep_result *v = realloc(out->r, (size_t)(out->n + 1) * sizeof *v);
                if (!v || !r.id || !r.experiment || !r.label) {
                    e = fc_err_set(FC_ENOMEM, "sweep results: out of memory");
                    cJSON_Delete(r.summary);
                    free(r.id), free(r.experiment), free(r.label), free(r.quality_csv);
                    if (v) out->r = v;
                } else {
                    out->r = v;
                    out->r[out->n++] = r;
                }
            } else {
                cJSON_Delete(r.summary);
            }
            cJSON_Delete(run);
        }
        free(rd), free(sp), free(qp), free(jp);
    }
    closedir(d);
    free(runs);
    if (e) {
        fc_sweep_results_free(out);
        return e;
    }
    if (out->n > 1) qsort(out->r, (size_t)out->n, sizeof *out->r, cmp_result);
    return FC_OK;
}

void fc_sweep_results_free(fc_sweep_results *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        cJSON_Delete(r->r[i].summary);
        free(r->r[i].id), free(r->r[i].experiment), free(r->r[i].label), free(r->r[i].quality_csv);
    }
    free(r->r);
    memset(r, 0, sizeof *r);
}

/* load.csv's columns: header and where each comes from ("@id", "@experiment", "@label": the run itself). */
static const struct {
    const char *name, *path;
    bool str;
} load_cols[] = {
    {"experiment", "@experiment", true},
    {"run", "@id", true},
    {"label", "@label", true},
    {"method", "config.method", true},
    {"spec", "config.method_spec", true},
    {"ratio_x", "config.ratio_x", false},
    {"kvpress_compression_ratio", "config.kvpress_compression_ratio", false},
    {"req_per_sec", "config.req_per_sec", false},
    {"arrival", "config.arrival", true},
    {"prefill_batch", "config.prefill_batch", false},
    {"compress_batch", "config.compress_batch", false},
    {"decode_batch", "config.decode_batch", false},
    {"kv_budget_bytes", "config.kv_budget_bytes", false},
    {"max_new_tokens", "config.max_new_tokens", false},
    {"requests", "metrics.requests", false},
    {"completed", "metrics.completed", false},
    {"duration_s", "metrics.duration_s", false},
    {"tokens_generated", "metrics.tokens_generated", false},
    {"tokens_per_s", "metrics.tokens_per_s", false},
    {"requests_per_s", "metrics.requests_per_s", false},
    {"ttft_p50_s", "metrics.ttft_s.p50", false},
    {"ttft_p90_s", "metrics.ttft_s.p90", false},
    {"ttft_p99_s", "metrics.ttft_s.p99", false},
    {"tpot_p50_s", "metrics.tpot_s.p50", false},
    {"tpot_p90_s", "metrics.tpot_s.p90", false},
    {"tpot_p99_s", "metrics.tpot_s.p99", false},
    {"e2e_p50_s", "metrics.e2e_s.p50", false},
    {"e2e_p90_s", "metrics.e2e_s.p90", false},
    {"e2e_p99_s", "metrics.e2e_s.p99", false},
    {"queue_wait_p50_s", "metrics.queue_wait_s.p50", false},
    {"queue_wait_p99_s", "metrics.queue_wait_s.p99", false},
    {"prefill_time_s", "metrics.stage_time_s.prefill", false},
    {"compress_time_s", "metrics.stage_time_s.compress", false},
    {"decode_time_s", "metrics.stage_time_s.decode", false},
    {"idle_time_s", "metrics.stage_time_s.idle", false},
    {"kv_bytes_peak", "metrics.kv_bytes_peak", false},
    {"kv_bytes_mean", "metrics.kv_bytes_mean", false},
    {"achieved_ratio", "metrics.achieved_ratio", false},
    {"max_decoding", "metrics.max_decoding", false},
    {"preemptions", "metrics.preemptions", false},
    {"peak_rss_bytes", "metrics.peak_rss_bytes", false},
    {"cpu_s", "metrics.cpu_s", false},
};

int fc_csv_split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') { /* quoted: "" is a quote */
            char *w = ++p;
            fields[n++] = w;
            while (*p) {
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') break;
                else *w++ = *p++;
            }
            if (*p == '"') p++;
            char *end = p;
            *w = 0;
            p = end;
        } else {
            fields[n++] = p;
            p += strcspn(p, ",\r\n");
        }
        if (*p != ',') {
            *p = 0;
            break;
        }
        *p++ = 0;
    }
    return n;
}

static fc_err write_load(const char *dir, const fc_sweep_results *res, int *rows) {
    *rows = 0;
    for (int i = 0; i < res->n; i++) *rows += res->r[i].summary != NULL;
    if (*rows == 0) return FC_OK;
    char *path = fc_path_join(dir, "load.csv");
    if (!path) return FC_ENOMEM;
    fc_out_file o;
    fc_err e = fc_out_open(&o, path);
    free(path);
    if (e) return e;
    size_t nc = sizeof load_cols / sizeof load_cols[0];
    for (size_t c = 0; c < nc; c++) fprintf(o.f, c ? ",%s" : "%s", load_cols[c].name);
    fputc('\n', o.f);
    for (int i = 0; i < res->n; i++) {
        const fc_sweep_result *r = &res->r[i];
        if (!r->summary) continue;
        for (size_t c = 0; c < nc; c++) {
            if (c) fputc(',', o.f);
            const char *p = load_cols[c].path;
            if (!strcmp(p, "@experiment")) fc_csv_str(o.f, r->experiment);
            else if (!strcmp(p, "@id")) fc_csv_str(o.f, r->id);
            else if (!strcmp(p, "@label")) fc_csv_str(o.f, r->label);
            else if (load_cols[c].str) fc_csv_str(o.f, fc_sweep_str(r->summary, p));
            else {
                double v = fc_sweep_num(r->summary, p);
                if (isfinite(v)) fprintf(o.f, "%.9g", v);
            }
        }
        fputc('\n', o.f);
    }
    return fc_out_commit(&o);
}

static fc_err write_quality(const char *dir, const fc_sweep_results *res, int *rows) {
    *rows = 0;
    fc_out_file o = {0};
    bool open = false, header = false;
    fc_err e = FC_OK;
    for (int i = 0; i < res->n && !e; i++) {
        const fc_sweep_result *r = &res->r[i];
        if (!r->quality_csv) continue;
        char *text = NULL;
        size_t len = 0;
        if ((e = fc_file_read(r->quality_csv, (size_t)256 << 20, "a quality table", &text, &len))) break;
        if (!open) {
            char *path = fc_path_join(dir, "quality.csv");
            e = path ? fc_out_open(&o, path) : FC_ENOMEM;
            free(path);
            if (e) {
                free(text);
                break;
            }
            open = true;
        }
        char *save = NULL;
        bool first = true;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (first) { /* the header, once */
                first = false;
                if (!header) fprintf(o.f, "experiment,run,%s\n", line), header = true;
                continue;
            }
            if (!*line) continue;
            fc_csv_str(o.f, r->experiment);
            fputc(',', o.f);
            fc_csv_str(o.f, r->id);
            fprintf(o.f, ",%s\n", line);
            (*rows)++;
        }
        free(text);
    }
    if (e) {
        if (open) fc_out_abort(&o);
        return e;
    }
    return open ? fc_out_commit(&o) : FC_OK;
}

fc_err fc_sweep_write_tables(const char *dir, const fc_sweep_results *res, int *n_load, int *n_quality) {
    int a = 0, b = 0;
    FC_TRY(write_load(dir, res, &a));
    FC_TRY(write_quality(dir, res, &b));
    if (n_load) *n_load = a;
    if (n_quality) *n_quality = b;
    return FC_OK;
}
