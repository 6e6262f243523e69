/* cmd_merge.c: `fc-eval merge --out DIR SHARD...`: combines the folders of a sweep run as shards on several
 * machines (fc-eval sweep --shard I/N) into one: every finished run folder is copied under DIR/runs/ (a run
 * present in two shards must be the same run: the first copy is kept), then load.csv, quality.csv and the
 * plots are rebuilt from all of them (sweep_results.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/cli.h"
#include "core/base/file.h"
#include "core/base/mem.h"
#include "eval/commands.h"
#include "eval/plot_render.h"
#include "eval/results_io.h"
#include "eval/sweep_results.h"

static const fc_cli_option options[] = {
    {"--out", "DIR", 1, "the merged sweep folder (may be one of the shards)"},
    {"--no-plots", NULL, 1, "skip the plots"},
    {0}};

/* Copies the regular file src to dst through a temporary name. */
static fc_err copy_file(const char *src, const char *dst) {
    char *text = NULL;
    size_t len = 0;
    FC_TRY(fc_file_read(src, (size_t)1 << 32, "a result file", &text, &len));
    fc_out_file o;
    fc_err e = fc_out_open(&o, dst);
    if (!e) {
        fwrite(text, 1, len, o.f);
        e = fc_out_commit(&o);
    }
    free(text);
    return e;
}

static bool finished(const char *run_dir) {
    char *a = fc_path_join(run_dir, "summary.json"), *b = fc_path_join(run_dir, "quality.csv");
    bool ok = (a && fc_file_exists(a)) || (b && fc_file_exists(b));
    free(a), free(b);
    return ok;
}

/* Copies every finished run of shard/runs into out/runs; *copied, *kept count them. */
static fc_err merge_shard(const char *shard, const char *out_runs, int *copied, int *kept) {
    char *runs = fc_path_join(shard, "runs");
    if (!runs) return FC_ENOMEM;
    DIR *d = opendir(runs);
    if (!d) {
        fc_err e = fc_err_set(FC_ENOTFOUND, "%s: not a sweep folder (no runs/ inside)", shard);
        free(runs);
        return e;
    }
    fc_err e = FC_OK;
    struct dirent *ent;
    while (!e && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char *src = fc_path_join(runs, ent->d_name), *dst = fc_path_join(out_runs, ent->d_name);
        if (!src || !dst) e = FC_ENOMEM;
        else if (!finished(src)) {
        } else if (finished(dst)) {
            (*kept)++;
        } else if (!(e = fc_out_mkdirs(dst))) {
            DIR *rd = opendir(src);
            struct dirent *f;
            while (!e && rd && (f = readdir(rd))) {
                char *sp = fc_path_join(src, f->d_name), *dp = fc_path_join(dst, f->d_name);
                struct stat st;
                if (!sp || !dp) e = FC_ENOMEM;
                else if (stat(sp, &st) == 0 && S_ISREG(st.st_mode) && !strstr(f->d_name, ".tmp.")) e = copy_file(sp, dp);
                free(sp), free(dp);
            }
            if (rd) closedir(rd);
            if (!e) (*copied)++;
        }
        free(src), free(dst);
    }
    closedir(d);
    free(runs);
    return e;
}

/* The run ids of a sweep folder's plan (sweep.json), one per line, in *ids (NULL when the folder has no
 * sweep.json: an older layout, nothing to compare). */
static fc_err plan_ids(const char *dir, char **ids) {
    *ids = NULL;
    char *path = fc_path_join(dir, "sweep.json");
    if (!path) return FC_ENOMEM;
    if (!fc_file_exists(path)) return free(path), FC_OK;
    char *text = NULL;
    size_t len = 0;
    fc_err e = fc_file_read(path, (size_t)64 << 20, "a sweep plan", &text, &len);
    cJSON *j = e ? NULL : cJSON_ParseWithLength(text, len);
    const cJSON *runs = j ? cJSON_GetObjectItemCaseSensitive(j, "runs") : NULL;
    if (!e && !cJSON_IsArray(runs)) e = fc_err_set(FC_EFORMAT, "%s: not a sweep plan (no \"runs\" list)", path);
    size_t n = 1;
    const cJSON *r, *list = e ? NULL : runs;
    cJSON_ArrayForEach(r, list) {
        const char *id = fc_sweep_str(r, "id");
        if (!id) e = fc_err_set(FC_EFORMAT, "%s: a run without an \"id\"", path);
        else n += strlen(id) + 1;
    }
    if (!e && !(*ids = fc_malloc(n, "run ids"))) e = FC_ENOMEM;
    if (!e) {
        char *at = *ids;
        cJSON_ArrayForEach(r, runs) at += sprintf(at, "%s\n", fc_sweep_str(r, "id"));
        *at = 0;
    }
    cJSON_Delete(j);
    free(text), free(path);
    return e;
}

/* Every shard must be a sweep folder, and all plans (the shards' and an existing --out's) the same sweep:
 * shards of two different sweeps would merge into one folder whose tables mix them. Checked before
 * anything is written. */
static fc_err check_shards(const char *out, const char *const *shards, int n) {
    char *ref = NULL;
    const char *ref_dir = NULL;
    fc_err e = plan_ids(out, &ref); /* none when --out is new */
    if (ref) ref_dir = out;
    for (int s = 0; s < n && !e; s++) {
        char *runs = fc_path_join(shards[s], "runs");
        if (!runs) return free(ref), FC_ENOMEM;
        DIR *d = opendir(runs);
        free(runs);
        if (!d) e = fc_err_set(FC_ENOTFOUND, "%s: not a sweep folder (no runs/ inside)", shards[s]);
        else closedir(d);
        char *ids = NULL;
        if (!e) e = plan_ids(shards[s], &ids);
        if (!e && ids && ref && strcmp(ids, ref))
            e = fc_err_set(FC_EINVAL, "%s/sweep.json: another sweep's plan than %s/sweep.json (other runs): not shards of one sweep",
                           shards[s], ref_dir);
        if (!e && ids && !ref) ref = ids, ref_dir = shards[s], ids = NULL;
        free(ids);
    }
    free(ref);
    return e;
}

static bool same_dir(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int cmd_merge(const fc_cli_args *cl) {
    const char *out = fc_cli_value(cl, "--out");
    const char *const *shards = cl->args;
    int n = cl->n_args;
    bool no_plots = fc_cli_flag(cl, "--no-plots");
    if (!out || n == 0) return fc_cli_error("merge: give --out DIR and at least one SHARD_DIR"), 2;
    fc_err e = check_shards(out, shards, n);
    if (e) return fc_cli_fail(e);
    char *out_runs = fc_path_join(out, "runs");
    e = out_runs ? fc_out_mkdirs(out_runs) : FC_ENOMEM;
    int copied = 0, kept = 0;
    for (int s = 0; s < n && !e; s++) {
        if (same_dir(shards[s], out)) continue;
        e = merge_shard(shards[s], out_runs, &copied, &kept);
        char *sj = fc_path_join(shards[s], "sweep.json"), *dj = fc_path_join(out, "sweep.json");
        if (!e && sj && dj && fc_file_exists(sj) && !fc_file_exists(dj)) e = copy_file(sj, dj);
        free(sj), free(dj);
    }
    fc_sweep_results res = {0};
    int n_load = 0, n_qual = 0, n_plots = 0;
    if (!e) e = fc_sweep_results_read(out, &res);
    if (!e) e = fc_sweep_write_tables(out, &res, &n_load, &n_qual);
    fc_sweep_results_free(&res);
    if (!e) printf("merge: %d run(s) copied, %d already there; %s/load.csv: %d rows, %s/quality.csv: %d rows\n", copied,
                   kept, out, n_load, out, n_qual);
    if (!e && !no_plots && (n_load || n_qual)) {
        char *pd = fc_path_join(out, "plots");
        e = pd ? fc_plot_render(out, pd, &n_plots) : FC_ENOMEM;
        if (!e) printf("plots: %d files in %s/\n", n_plots, pd);
        free(pd);
    }
    free(out_runs);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_merge = {
    "merge", cmd_merge, "combine the folders of a sweep run in shards (sweep --shard I/N)",
    "--out DIR SHARD_DIR [SHARD_DIR ...] [--no-plots]",
    "Copies the finished runs of each shard folder of one sweep into DIR/runs/ (a run already in DIR is\n"
    "kept), copies the first shard's sweep.json, then rebuilds DIR/load.csv, DIR/quality.csv and\n"
    "DIR/plots/.",
    options, 256, NULL};
