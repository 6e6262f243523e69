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
    char *out_runs = fc_path_join(out, "runs");
    fc_err e = out_runs ? fc_out_mkdirs(out_runs) : FC_ENOMEM;
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
