/* plot_render.c: preparing plot data from results and running the gnuplot scripts. See plot_render.h. */
#include "eval/plot_render.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "eval/results_io.h"
#include "eval/sweep_results.h"

extern char **environ;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* gnuplot string literal: single quotes, '' for a quote. */
static void gp_str(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* Reads a CSV file with a header into rows of fields; column(name) by header. */
typedef struct {
    char *text;
    char **hdr;
    int n_hdr;
    char ***rows;
    int *n_fields;
    int n_rows;
} csv_table;

static void csv_free(csv_table *t) {
    for (int r = 0; r < t->n_rows; r++) free(t->rows[r]);
    free(t->rows), free(t->n_fields), free(t->hdr), free(t->text);
    memset(t, 0, sizeof *t);
}

static fc_err csv_read(const char *path, csv_table *t) {
    memset(t, 0, sizeof *t);
    size_t len;
    FC_TRY(fc_file_read(path, (size_t)1 << 30, "a result table", &t->text, &len));
    char *save = NULL;
    for (char *line = strtok_r(t->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char **f = malloc(256 * sizeof *f);
        if (!f) {
            csv_free(t);
            return fc_err_set(FC_ENOMEM, "%s: out of memory", path);
        }
        int n = fc_csv_split(line, f, 256);
        if (!t->hdr) {
            t->hdr = f, t->n_hdr = n;
            continue;
        }
        char ***rows = realloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *rows);
        int *nf = realloc(t->n_fields, (size_t)(t->n_rows + 1) * sizeof *nf);
        if (rows) t->rows = rows;
        if (nf) t->n_fields = nf;
        if (!rows || !nf) {
            free(f);
            csv_free(t);
            return fc_err_set(FC_ENOMEM, "%s: out of memory", path);
        }
        t->rows[t->n_rows] = f;
        t->n_fields[t->n_rows++] = n;
    }
    if (!t->hdr) {
        csv_free(t);
        return fc_err_set(FC_EFORMAT, "%s: empty table", path);
    }
    return FC_OK;
}

static int csv_col(const csv_table *t, const char *name) {
    for (int c = 0; c < t->n_hdr; c++)
        if (!strcmp(t->hdr[c], name)) return c;
    return -1;
}

static double csv_num(const csv_table *t, int r, int c) {
    if (c < 0 || c >= t->n_fields[r] || !*t->rows[r][c]) return NAN;
    char *end;
    double v = strtod(t->rows[r][c], &end);
    return *end ? NAN : v;
}

static FILE *open_data(const char *data_dir, const char *name, int k, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s_%d.dat", data_dir, name, k);
    return fopen(path, "w");
}

/* TTFT CDF (sorted ttft, cumulative share) and the KV timeline of one load run folder, as series k. */
static fc_err run_series(const char *run_dir, const char *data_dir, int k, FILE *gp, const char *title) {
    char path[PATH_MAX];
    char *rq = fc_path_join(run_dir, "requests.csv"), *tl = fc_path_join(run_dir, "kv_timeline.csv");
    csv_table t = {0};
    fc_err e = rq && tl ? FC_OK : FC_ENOMEM;
    if (!e) e = csv_read(rq, &t);
    if (!e) {
        int c = csv_col(&t, "ttft_s");
        double *v = malloc((size_t)(t.n_rows + 1) * sizeof *v);
        int n = 0;
        for (int r = 0; v && r < t.n_rows; r++) {
            double x = csv_num(&t, r, c);
            if (isfinite(x)) v[n++] = x;
        }
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        FILE *f = v ? open_data(data_dir, "ttft", k, path, sizeof path) : NULL;
        if (!f) e = fc_err_set(FC_EIO, "%s: cannot write", path);
        else {
            fprintf(f, "# ttft_s share_of_requests\n");
            for (int i = 0; i < n; i++) fprintf(f, "%.6f %.6f\n", v[i], (i + 1.0) / n);
            fclose(f);
            fprintf(gp, "ttft_file_%d = ", k), gp_str(gp, path), fprintf(gp, "\n");
        }
        free(v);
        csv_free(&t);
    }
    if (!e) e = csv_read(tl, &t);
    if (!e) {
        int ct = csv_col(&t, "t_s"), cb = csv_col(&t, "kv_bytes"), cd = csv_col(&t, "decoding");
        FILE *f = open_data(data_dir, "kv", k, path, sizeof path);
        if (!f) e = fc_err_set(FC_EIO, "%s: cannot write", path);
        else {
            fprintf(f, "# t_s kv_MiB decoding\n");
            for (int r = 0; r < t.n_rows; r++)
                fprintf(f, "%.6f %.6f %g\n", csv_num(&t, r, ct), csv_num(&t, r, cb) / 1048576.0, csv_num(&t, r, cd));
            fclose(f);
            fprintf(gp, "kv_file_%d = ", k), gp_str(gp, path), fprintf(gp, "\n");
        }
        csv_free(&t);
    }
    if (!e) fprintf(gp, "run_title_%d = ", k), gp_str(gp, title), fprintf(gp, "\n");
    free(rq), free(tl);
    return e;
}

static const char *load_fields[] = {"config.req_per_sec",   "metrics.tokens_per_s", "metrics.requests_per_s",
                                    "metrics.ttft_s.p50",   "metrics.ttft_s.p90",   "metrics.ttft_s.p99",
                                    "metrics.e2e_s.p50",    "metrics.e2e_s.p90",    "metrics.e2e_s.p99",
                                    "metrics.tpot_s.p50",   "metrics.max_decoding", "metrics.kv_bytes_peak"};

/* Load series: one per (experiment, label), rows sorted by rate (the results are sorted so). */
static fc_err load_series(const char *dir, const fc_sweep_results *res, const char *data_dir, FILE *gp, int *n_series) {
    int k = 0;
    fc_err e = FC_OK;
    for (int i = 0; i < res->n && !e;) {
        if (!res->r[i].summary) {
            i++;
            continue;
        }
        int j = i;
        while (j < res->n && res->r[j].summary && !strcmp(res->r[j].experiment, res->r[i].experiment) &&
               !strcmp(res->r[j].label, res->r[i].label))
            j++;
        char path[PATH_MAX];
        FILE *f = open_data(data_dir, "load", ++k, path, sizeof path);
        if (!f) return fc_err_set(FC_EIO, "%s: cannot write", path);
        fprintf(f, "# rate tokens_per_s requests_per_s ttft_p50 ttft_p90 ttft_p99 e2e_p50 e2e_p90 e2e_p99 tpot_p50 "
                   "max_decoding kv_peak_bytes\n");
        for (int r = i; r < j; r++) {
            for (size_t c = 0; c < sizeof load_fields / sizeof *load_fields; c++)
                fprintf(f, c ? " %.9g" : "%.9g", fc_sweep_num(res->r[r].summary, load_fields[c]));
            fputc('\n', f);
        }
        fclose(f);
        char title[256];
        bool many_exp = false;
        for (int r = 0; r < res->n; r++) many_exp |= res->r[r].summary && strcmp(res->r[r].experiment, res->r[i].experiment);
        if (many_exp) snprintf(title, sizeof title, "%s: %s", res->r[i].experiment, res->r[i].label);
        else snprintf(title, sizeof title, "%s", res->r[i].label);
        fprintf(gp, "load_file_%d = ", k), gp_str(gp, path), fprintf(gp, "\nload_title_%d = ", k), gp_str(gp, title);
        fputc('\n', gp);
        /* the distribution and timeline of the series' highest rate */
        char *runs = fc_path_join(dir, "runs"), *rd = runs ? fc_path_join(runs, res->r[j - 1].id) : NULL;
        char t2[300];
        snprintf(t2, sizeof t2, "%s at %g req/s", title, res->r[j - 1].rate);
        e = rd ? run_series(rd, data_dir, k, gp, t2) : FC_ENOMEM;
        free(runs), free(rd);
        i = j;
    }
    *n_series = k;
    return e;
}

/* Quality series: one per (experiment, method) of quality.csv, sorted by ratio. */
typedef struct {
    double ratio_x, achieved, exact, contains, top1;
} qpoint;

static int cmp_qpoint(const void *a, const void *b) {
    const qpoint *x = a, *y = b;
    return (x->ratio_x > y->ratio_x) - (x->ratio_x < y->ratio_x);
}

static fc_err quality_series(const char *dir, const char *data_dir, FILE *gp, int *n_series) {
    *n_series = 0;
    char *qp = fc_path_join(dir, "quality.csv");
    if (!qp) return FC_ENOMEM;
    if (!fc_file_exists(qp)) {
        free(qp);
        return FC_OK;
    }
    csv_table t;
    fc_err e = csv_read(qp, &t);
    free(qp);
    if (e) return e;
    int cx = csv_col(&t, "experiment"), cm = csv_col(&t, "method"), cr = csv_col(&t, "ratio_x"),
        ca = csv_col(&t, "achieved_ratio"), ce = csv_col(&t, "accuracy_exact"), cc = csv_col(&t, "accuracy_contains"),
        ct = csv_col(&t, "top1_agreement");
    if (cm < 0 || cr < 0 || ce < 0) {
        csv_free(&t);
        return fc_err_set(FC_EFORMAT, "%s/quality.csv: no method, ratio_x or accuracy_exact column", dir);
    }
    bool *used = calloc((size_t)t.n_rows + 1, 1);
    qpoint *pts = malloc(((size_t)t.n_rows + 1) * sizeof *pts);
    if (!used || !pts) e = fc_err_set(FC_ENOMEM, "quality plot: out of memory");
    /* Several experiments (several models, or one model's runs split up): series are named "experiment: method",
     * as the load series are, and the full cache's dashed line is drawn only where every "none" row agrees
     * (one model); otherwise each experiment's full cache stays a labelled point at 1x. */
    bool many_exp = false, refs_agree = true;
    double ref[3] = {NAN, NAN, NAN};
    for (int r = 0; r < t.n_rows; r++) {
        if (cx >= 0 && cx < t.n_fields[r] && cx < t.n_fields[0] && strcmp(t.rows[r][cx], t.rows[0][cx])) many_exp = true;
        if (cm >= t.n_fields[r] || strcmp(t.rows[r][cm], "none")) continue;
        double v[3] = {csv_num(&t, r, ce), csv_num(&t, r, cc), csv_num(&t, r, ct)};
        if (isnan(ref[0])) memcpy(ref, v, sizeof ref);
        else
            for (int k = 0; k < 3; k++) refs_agree &= v[k] == ref[k] || (isnan(v[k]) && isnan(ref[k])); /* a column absent: NaN */
    }
    for (int r = 0; r < t.n_rows && !e; r++) {
        if (used[r] || cm >= t.n_fields[r]) continue;
        const char *x = cx >= 0 && cx < t.n_fields[r] ? t.rows[r][cx] : "", *m = t.rows[r][cm];
        int n = 0;
        for (int s = r; s < t.n_rows; s++) {
            if (used[s] || cm >= t.n_fields[s] || strcmp(t.rows[s][cm], m)) continue;
            if (cx >= 0 && (cx >= t.n_fields[s] || strcmp(t.rows[s][cx], x))) continue;
            used[s] = true;
            pts[n++] = (qpoint){csv_num(&t, s, cr), csv_num(&t, s, ca), csv_num(&t, s, ce), csv_num(&t, s, cc),
                                csv_num(&t, s, ct)};
        }
        qsort(pts, (size_t)n, sizeof *pts, cmp_qpoint);
        char path[PATH_MAX];
        FILE *f = open_data(data_dir, "quality", ++*n_series, path, sizeof path);
        if (!f) {
            e = fc_err_set(FC_EIO, "%s: cannot write", path);
            break;
        }
        fprintf(f, "# ratio_x achieved_ratio accuracy_exact accuracy_contains top1_agreement\n");
        for (int i = 0; i < n; i++)
            fprintf(f, "%.9g %.9g %.9g %.9g %.9g\n", pts[i].ratio_x, isfinite(pts[i].achieved) ? pts[i].achieved : pts[i].ratio_x,
                    pts[i].exact, pts[i].contains, pts[i].top1);
        fclose(f);
        fprintf(gp, "quality_file_%d = ", *n_series), gp_str(gp, path), fprintf(gp, "\nquality_title_%d = ", *n_series);
        char title[256];
        if (many_exp) snprintf(title, sizeof title, "%s: %s", x, m);
        else snprintf(title, sizeof title, "%s", m);
        gp_str(gp, title);
        fputc('\n', gp);
    }
    if (!e && !isnan(ref[0]) && refs_agree) /* the full cache: a reference line across the chart */
        fprintf(gp, "ref_exact = %.9g\nref_contains = %.9g\nref_top1 = %.9g\n", ref[0], ref[1], ref[2]);
    free(used), free(pts);
    csv_free(&t);
    return e;
}

static char *scripts_dir(void) {
    const char *env = getenv("FC_PLOTS_DIR");
    if (env && *env) return fc_strdup(env);
    if (fc_file_exists("plots/throughput_vs_rate.gp")) return fc_strdup("plots");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            char *d = NULL;
            if (asprintf(&d, "%s/../plots", exe) >= 0) return d;
        }
    }
    return fc_strdup("plots");
}

/* gnuplot -e "plotsdir='...'; series='...'; outdir='...'" SCRIPT, its output into a log; a failure reports the log's text. */
static fc_err gnuplot(const char *sdir, const char *script, const char *series, const char *out_dir) {
    char *e_arg = NULL, *log = NULL;
    if (asprintf(&e_arg, "plotsdir='%s'; series='%s'; outdir='%s'", sdir, series, out_dir) < 0) e_arg = NULL;
    if (asprintf(&log, "%s/data/gnuplot.log", out_dir) < 0) log = NULL;
    if (!e_arg || !log) {
        free(e_arg), free(log);
        return fc_err_set(FC_ENOMEM, "plot: out of memory");
    }
    char *argv[] = {"gnuplot", "-e", e_arg, (char *)script, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    fc_err e = FC_OK;
    if (rc) {
        e = fc_err_set(FC_EUNSUPPORTED, "plot: cannot run gnuplot (%s): install the Debian package gnuplot-nox", strerror(rc));
    } else {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st)) {
            char *text = NULL;
            size_t len = 0;
            fc_file_read(log, (size_t)1 << 20, "a log", &text, &len);
            for (char *p = text; p && *p; p++)
                if (*p == '\n') *p = ' ';
            e = fc_err_set(FC_EIO, "plot: gnuplot failed on %s: %.300s", script, text ? text : "");
            free(text);
        }
    }
    free(e_arg), free(log);
    return e;
}

fc_err fc_plot_render(const char *results_dir, const char *out_dir, int *n_files) {
    *n_files = 0;
    char *data_dir = fc_path_join(out_dir, "data"), *series = data_dir ? fc_path_join(data_dir, "series.gp") : NULL;
    char *sdir = scripts_dir();
    char *summary = fc_path_join(results_dir, "summary.json"), *runs = fc_path_join(results_dir, "runs");
    fc_err e = data_dir && series && sdir && summary && runs ? FC_OK : FC_ENOMEM;
    int n_load = 0, n_qual = 0, n_runs = 0;
    bool single = !e && fc_file_exists(summary);
    struct stat st;
    bool sweep = !e && stat(runs, &st) == 0 && S_ISDIR(st.st_mode);
    if (!e && !single && !sweep) /* before anything is written */
        e = fc_err_set(FC_ENOTFOUND, "%s: no results: neither a sweep folder (runs/) nor a load run (summary.json)",
                       results_dir);
    if (!e) e = fc_out_mkdirs(data_dir);
    FILE *gp = e ? NULL : fopen(series, "w");
    if (!e && !gp) e = fc_err_set(FC_EIO, "%s: cannot write", series);
    if (!e && single) {
        e = run_series(results_dir, data_dir, 1, gp, "this run");
        n_runs = 1;
    } else if (!e) {
        fc_sweep_results res;
        if (!(e = fc_sweep_results_read(results_dir, &res))) {
            e = load_series(results_dir, &res, data_dir, gp, &n_load);
            n_runs = n_load;
            fc_sweep_results_free(&res);
        }
        if (!e) e = quality_series(results_dir, data_dir, gp, &n_qual);
    }
    if (gp) {
        fprintf(gp, "n_load = %d\nn_runs = %d\nn_quality = %d\n", n_load, n_runs, n_qual);
        if (fclose(gp) && !e) e = fc_err_set(FC_EIO, "%s: cannot write", series);
    }
    static const struct {
        const char *script;
        int need; /* 0: load series, 1: run series, 2: quality series */
        int files;
    } charts[] = {{"throughput_vs_rate.gp", 0, 2}, {"latency_vs_rate.gp", 0, 2}, {"ttft_vs_rate.gp", 0, 2},
                  {"ttft_distribution.gp", 1, 2},  {"kv_memory.gp", 1, 2},      {"accuracy_vs_ratio.gp", 2, 4}};
    for (size_t c = 0; c < sizeof charts / sizeof *charts && !e; c++) {
        int have = charts[c].need == 0 ? n_load : charts[c].need == 1 ? n_runs : n_qual;
        if (!have) continue;
        char *script = fc_path_join(sdir, charts[c].script);
        if (!script) e = FC_ENOMEM;
        else if (!fc_file_exists(script)) e = fc_err_set(FC_ENOTFOUND, "plot: script %s not found (set FC_PLOTS_DIR)", script);
        else if (!(e = gnuplot(sdir, script, series, out_dir))) *n_files += charts[c].files;
        free(script);
    }
    free(data_dir), free(series), free(sdir), free(summary), free(runs);
    return e;
}
