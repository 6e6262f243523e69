/* quality_out.c: result files and table of `fc-eval quality` (quality_out.h). */
#include "eval/quality_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "eval/results_io.h"

const char *fc_quality_method_name(const fc_quality_method *m) { return m->m ? fc_compress_name(m->m) : "none"; }
const char *fc_quality_method_spec(const fc_quality_method *m) { return m->m ? fc_compress_spec(m->m) : "none"; }
double fc_quality_method_ratio(const fc_quality_method *m) { return m->m ? fc_compress_ratio(m->m) : 1.0; }

/* Writes one file's content; false when it could not be formed (out of memory). */
typedef bool (*write_fn)(FILE *f, const fc_quality_report *r);

/* Writes dir/name through a temporary file beside it (results_io.h), renamed over the target when complete. */
static fc_err write_atomic(const char *dir, const char *name, write_fn fn, const fc_quality_report *r) {
    char *path = fc_path_join(dir, name);
    if (!path) return FC_ENOMEM;
    fc_out_file o;
    fc_err e = fc_out_open(&o, path);
    if (!e && !fn(o.f, r)) {
        fc_out_abort(&o);
        e = fc_err_set(FC_ENOMEM, "%s: out of memory while forming it", path);
    } else if (!e) {
        e = fc_out_commit(&o);
    }
    free(path);
    return e;
}

/* The reference answer of a record's turn-th question (1-based; quality.h's items). */
const char *fc_quality_item_answer(const fc_data_record *rec, int turn) {
    if (turn <= 1) return rec->answer;
    int k = 1;
    for (int i = 3; i < rec->n_turns; i += 2)
        if (rec->turns[i].role == FC_DATA_GPT && rec->turns[i - 1].role == FC_DATA_HUMAN && ++k == turn)
            return rec->turns[i].text;
    return "";
}

static bool write_summary_csv(FILE *f, const fc_quality_report *r) {
    fprintf(f, "%s\n", FC_QUALITY_CSV_HEADER);
    for (int j = 0; j < r->n_methods; j++) {
        fc_quality_summary s;
        fc_quality_summarize(r->res, j, &s);
        const fc_quality_method *m = &r->methods[j];
        double x = fc_quality_method_ratio(m);
        fc_csv_str(f, fc_quality_method_name(m));
        fputc(',', f);
        fc_csv_str(f, fc_quality_method_spec(m));
        fprintf(f, ",%.6g,%.6g,%d,%.6f,%.6f,%.6g,%.6f,%.6f,%.4f,%.1f,%.1f,%.6g,%d,%lld,%.6g,%.6f\n", x, 1.0 - 1.0 / x,
                s.n, s.accuracy_exact, s.accuracy_contains, s.kl_mean, s.top1_agreement, s.greedy_identical,
                s.first_divergence_mean, s.kv_bytes_mean, s.kv_bytes_full_mean, s.achieved_ratio, s.n_records,
                (long long)s.n_tokens, s.kl_per_token, s.top1_per_token);
    }
    return true;
}

static bool write_samples_csv(FILE *f, const fc_quality_report *r) {
    fprintf(f, "%s\n", FC_QUALITY_SAMPLES_HEADER);
    for (int i = 0; i < r->res->n_items; i++) {
        const fc_data_record *rec = &r->data->recs[r->res->item_record[i]];
        const int turn = r->res->item_turn[i];
        for (int j = 0; j < r->n_methods; j++) {
            const fc_quality_cell *c = &r->res->cells[(size_t)i * r->n_methods + j];
            fc_csv_str(f, rec->id);
            fputc(',', f);
            fc_csv_str(f, fc_quality_method_name(&r->methods[j]));
            fputc(',', f);
            fc_csv_str(f, fc_quality_method_spec(&r->methods[j]));
            fputc(',', f);
            fc_csv_str(f, fc_quality_item_answer(rec, turn));
            fputc(',', f);
            fc_csv_str(f, c->prediction ? c->prediction : "");
            char choice[4] = "";
            if (c->score.choice >= 0) choice[0] = (char)('A' + c->score.choice);
            fprintf(f, ",%d,%d,%s,%.6g,%.6f,%d,%d,%d,%d,%zu,%zu,%.6g,%d\n", c->score.exact, c->score.contains, choice,
                    c->kl, c->top1, c->n_tf, c->greedy_identical, c->first_divergence, c->prompt_tokens, c->kv_bytes,
                    c->kv_bytes_full,
                    c->entries_after ? (double)c->entries_before / (double)c->entries_after : 1.0, turn);
        }
    }
    return true;
}

static cJSON *summary_json(const fc_quality_report *r, int j) {
    fc_quality_summary s;
    fc_quality_summarize(r->res, j, &s);
    const fc_quality_method *m = &r->methods[j];
    double x = fc_quality_method_ratio(m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", fc_quality_method_name(m));
    cJSON_AddStringToObject(o, "spec", fc_quality_method_spec(m));
    cJSON_AddStringToObject(o, "spec_given", m->spec);
    cJSON_AddNumberToObject(o, "ratio_x", x);
    cJSON_AddNumberToObject(o, "kvpress_compression_ratio", 1.0 - 1.0 / x);
    cJSON_AddNumberToObject(o, "n_samples", s.n);
    cJSON_AddNumberToObject(o, "n_records", s.n_records);
    cJSON_AddNumberToObject(o, "n_tokens", (double)s.n_tokens);
    cJSON_AddNumberToObject(o, "accuracy_exact", s.accuracy_exact);
    cJSON_AddNumberToObject(o, "accuracy_contains", s.accuracy_contains);
    cJSON_AddNumberToObject(o, "kl_mean", s.kl_mean);
    cJSON_AddNumberToObject(o, "top1_agreement", s.top1_agreement);
    cJSON_AddNumberToObject(o, "kl_per_token", s.kl_per_token);
    cJSON_AddNumberToObject(o, "top1_per_token", s.top1_per_token);
    cJSON_AddNumberToObject(o, "greedy_identical", s.greedy_identical);
    cJSON_AddNumberToObject(o, "first_divergence_mean", s.first_divergence_mean);
    cJSON_AddNumberToObject(o, "kv_bytes_mean", s.kv_bytes_mean);
    cJSON_AddNumberToObject(o, "kv_bytes_full_mean", s.kv_bytes_full_mean);
    cJSON_AddNumberToObject(o, "achieved_ratio", s.achieved_ratio);
    if (m->m && s.budget_min >= 0 && r->res->n_items > 0) { /* what a scorer kept per kv head and layer */
        cJSON *b = cJSON_AddObjectToObject(o, "budgets");
        cJSON_AddNumberToObject(b, "entries_per_layer_min", s.budget_min);
        cJSON_AddNumberToObject(b, "entries_per_layer_max", s.budget_max);
        cJSON_AddNumberToObject(b, "records_budget_below_window", s.below_window);
        cJSON_AddNumberToObject(b, "records_uniform_fallback", s.uniform_fallback);
        int budgets[1024], L = r->n_layers < 1024 ? r->n_layers : 1024;
        fc_compress_note n;
        const fc_quality_cell *c0 = &r->res->cells[j];
        fc_compress_note_make(m->m, c0->note.S, L, budgets, &n);
        cJSON_AddNumberToObject(b, "first_record_candidates", c0->note.S);
        cJSON_AddItemToObject(b, "first_record_layer_budgets", cJSON_CreateIntArray(budgets, L));
    }
    return o;
}

static bool write_json(FILE *f, const fc_quality_report *r) {
    cJSON *root = r->config ? cJSON_Duplicate(r->config, true) : cJSON_CreateObject();
    cJSON *ms = root ? cJSON_AddArrayToObject(root, "results") : NULL;
    for (int j = 0; ms && j < r->n_methods; j++) cJSON_AddItemToArray(ms, summary_json(r, j));
    if (root) cJSON_AddNumberToObject(root, "answers_cut", r->res->answers_cut);
    char *s = root && ms ? cJSON_Print(root) : NULL;
    bool ok = s != NULL;
    if (ok) fprintf(f, "%s\n", s);
    free(s);
    cJSON_Delete(root);
    return ok;
}

fc_err fc_quality_out_check(const char *dir) {
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return fc_err_set(FC_EIO, "%s: cannot create: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return fc_err_set(FC_EIO, "%s: not a folder (--out names one)", dir);
    if (access(dir, W_OK | X_OK) != 0) return fc_err_set(FC_EIO, "%s: cannot write into it: %s", dir, strerror(errno));
    return FC_OK;
}

fc_err fc_quality_write(const fc_quality_report *r, const char *dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return fc_err_set(FC_EIO, "%s: cannot create: %s", dir, strerror(errno));
    FC_TRY(write_atomic(dir, "quality.csv", write_summary_csv, r));
    FC_TRY(write_atomic(dir, "quality_samples.csv", write_samples_csv, r));
    return write_atomic(dir, "quality.json", write_json, r);
}

void fc_quality_print_table(const fc_quality_report *r, FILE *f, FILE *warn) {
    fprintf(f, "%-28s %7s %7s %8s %10s %7s %10s %7s %7s %6s %12s %8s\n", "method", "ratio", "exact", "contains",
            "KL/q", "top-1/q", "KL/tok", "top-1/tok", "greedy=", "div@", "KV bytes", "achieved");
    for (int j = 0; j < r->n_methods; j++) {
        fc_quality_summary s;
        fc_quality_summarize(r->res, j, &s);
        char spec[40];
        if (strlen(r->methods[j].spec) > 28) snprintf(spec, sizeof spec, "%.25s...", r->methods[j].spec);
        else snprintf(spec, sizeof spec, "%s", r->methods[j].spec);
        fprintf(f, "%-28s %6.3gx %6.1f%% %7.1f%% %10.4g %6.1f%% %10.4g %8.1f%% %6.1f%% %6.1f %12.0f %7.3gx\n", spec,
                fc_quality_method_ratio(&r->methods[j]), 100 * s.accuracy_exact, 100 * s.accuracy_contains, s.kl_mean,
                100 * s.top1_agreement, s.kl_per_token, 100 * s.top1_per_token, 100 * s.greedy_identical,
                s.first_divergence_mean, s.kv_bytes_mean, s.achieved_ratio);
    }
    if (r->n_methods > 0) {
        fc_quality_summary s;
        fc_quality_summarize(r->res, 0, &s);
        fprintf(f, "%d question%s of %d record%s; exact, contains, KL/q, top-1/q, greedy= and div@: means over "
                   "questions; KL/tok, top-1/tok: over all %lld teacher-forced tokens; KV bytes: mean over records\n",
                s.n, s.n == 1 ? "" : "s", s.n_records, s.n_records == 1 ? "" : "s", (long long)s.n_tokens);
    }
    for (int j = 1; j < r->n_methods; j++) {
        fc_quality_summary s;
        fc_quality_summarize(r->res, j, &s);
        const fc_quality_method *m = &r->methods[j];
        if (s.uniform_fallback)
            fprintf(f, "note: %s: uniform budget on %d of %d records (S*(1-cr)/beta < window: no pyramid), %d..%d "
                       "entries per layer\n", m->spec, s.uniform_fallback, s.n, s.budget_min, s.budget_max);
        else if (!strcmp(fc_quality_method_name(m), "pyramidkv"))
            fprintf(f, "note: %s: per-layer budgets %d..%d entries (quality.json lists them)\n", m->spec, s.budget_min,
                    s.budget_max);
        if (s.below_window)
            fprintf(warn, "fc-eval: warning: %s: on %d of %d records the budget (%d entries) was below the window of "
                          "%d: ties among window positions decided which were kept\n", m->spec, s.below_window, s.n,
                    s.budget_min, fc_compress_window(m->m));
    }
}
