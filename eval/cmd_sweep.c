/* cmd_sweep.c: `fc-eval sweep`: runs a sweep config's experiments (eval_config.h, sweep_plan.h), each run a
 * child `fc-eval load` / `fc-eval quality` process with its own results folder (so that its peak memory is
 * its own and a failed run does not stop the others), then rebuilds load.csv / quality.csv and the plots. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/base/cli.h"
#include "core/base/file.h"
#include "core/base/timer.h"
#include "eval/commands.h"
#include "eval/plot_render.h"
#include "eval/results_io.h"
#include "eval/sweep_plan.h"
#include "eval/sweep_results.h"
#include "kernels/wpack.h"

extern char **environ;

static const fc_cli_option options[] = {
    {"--config", "FILE", 1, "the sweep config (configs/sweep-*.yaml; keys: fc-eval config --keys sweep)"},
    {"--shard", "I/N", 1,
     "run only runs k with k mod N == I (0 <= I < N), for several machines; merge the\n"
     "folders with fc-eval merge (tables and plots are made by merge then)"},
    {"--out", "DIR", 1, "results folder (default: the config's output_dir/name)"},
    {"--dry-run", NULL, 1, "print the runs and their command lines, run nothing"},
    {"--force", NULL, 1,
     "run again the runs that already finished (default: they are kept, so an\n"
     "interrupted sweep resumes where it stopped)"},
    {"--no-plots", NULL, 1, "skip the plots"},
    {"--model", "DIR", 1, "override the config's model for every experiment"},
    {"--tokenizer", "DIR", 1, "override the tokenizer folder"},
    {"--data", "SPEC", 1, "override the data set"},
    {"--images", "DIR", 1, "override the image folder"},
    {"--checkpoint", "FILE", 1, "override the CCM checkpoint"},
    {"--requests", "N", 1, "override the requests per load run"},
    {"--max-new-tokens", "T", 1, "override the tokens generated per request"},
    {"--kv-budget", "BYTES", 1, "override the KV pool size (bytes)"},
    {"--kv-blocks", "N", 1, "override the KV pool size (blocks)"},
    {"--seed", "S", 1, "override the seed"},
    {0}};

static fc_err write_run_json(const char *path, const fc_sweep_run *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", r->id);
    cJSON_AddStringToObject(j, "experiment", r->experiment);
    cJSON_AddStringToObject(j, "label", r->label);
    cJSON_AddStringToObject(j, "kind", r->kind == FC_SWEEP_LOAD ? "load" : "quality");
    cJSON *a = cJSON_AddArrayToObject(j, "argv");
    for (int i = 0; i < r->argc; i++) cJSON_AddItemToArray(a, cJSON_CreateString(r->argv[i]));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return fc_err_set(FC_ENOMEM, "%s: out of memory", path);
    fc_err e = fc_out_write_text(path, text);
    cJSON_free(text);
    return e;
}

static fc_err write_plan(const char *dir, const char *config, const fc_sweep_plan *p) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "config", config);
    cJSON_AddStringToObject(j, "fastcache", FC_VERSION);
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int k = 0; k < p->n; k++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "id", p->runs[k].id);
        cJSON_AddStringToObject(r, "experiment", p->runs[k].experiment);
        cJSON_AddStringToObject(r, "label", p->runs[k].label);
        cJSON *a = cJSON_AddArrayToObject(r, "argv");
        for (int i = 0; i < p->runs[k].argc; i++) cJSON_AddItemToArray(a, cJSON_CreateString(p->runs[k].argv[i]));
        cJSON_AddItemToArray(runs, r);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    char *path = fc_path_join(dir, "sweep.json");
    fc_err e = text && path ? fc_out_write_text(path, text) : fc_err_set(FC_ENOMEM, "sweep.json: out of memory");
    free(path);
    cJSON_free(text);
    return e;
}

/* Runs argv as a child fc-eval (this very binary) with stdout and stderr into log; *status: its exit code. */
static fc_err spawn_run(const fc_sweep_run *r, const char *out_dir, const char *log, int *status) {
    char **argv = calloc((size_t)r->argc + 3, sizeof *argv);
    if (!argv) return fc_err_set(FC_ENOMEM, "sweep: out of memory");
    for (int i = 0; i < r->argc; i++) argv[i] = r->argv[i];
    argv[r->argc] = "--out";
    argv[r->argc + 1] = (char *)out_dir;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    if (rc) return fc_err_set(FC_EIO, "sweep: cannot start fc-eval for run %s: %s", r->id, strerror(rc));
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return FC_OK;
}

/* The last line of a log, for the failure report. */
static void last_line(const char *path, char *buf, size_t cap) {
    char *text = NULL;
    size_t len = 0;
    buf[0] = 0;
    if (fc_file_read(path, (size_t)16 << 20, "a log", &text, &len)) return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    char *nl = strrchr(text, '\n');
    snprintf(buf, cap, "%s", nl ? nl + 1 : text);
    free(text);
}

typedef struct {
    const char *config, *shard;
    fc_sweep_overrides o;
    bool dry_run, force, no_plots;
} sweep_args;

static int run_sweep(const sweep_args *a, int shard_i, int shard_n) {
    fc_sweep_config cfg;
    fc_sweep_plan plan;
    fc_err e = fc_sweep_config_load(&cfg, a->config);
    if (e) return fc_cli_fail(e);
    e = fc_sweep_plan_make(&cfg, &a->o, &plan);
    if (e) {
        fc_sweep_config_free(&cfg);
        return fc_cli_fail(e);
    }
    int mine = 0;
    for (int k = 0; k < plan.n; k++) mine += k % shard_n == shard_i;
    if (a->dry_run) {
        printf("sweep %s: %d runs%s into %s/runs/\n", a->config, mine, shard_n > 1 ? " of this shard" : "", plan.dir);
        for (int k = 0; k < plan.n; k++) {
            if (k % shard_n != shard_i) continue;
            printf("%s [%s]:", plan.runs[k].id, plan.runs[k].label);
            for (int i = 0; i < plan.runs[k].argc; i++) printf(" %s", plan.runs[k].argv[i]);
            printf(" --out %s/runs/%s\n", plan.dir, plan.runs[k].id);
        }
        fc_sweep_plan_free(&plan);
        fc_sweep_config_free(&cfg);
        return 0;
    }
    char *runs_dir = fc_path_join(plan.dir, "runs");
    if (!runs_dir) e = FC_ENOMEM;
    if (!e) e = fc_out_mkdirs(runs_dir);
    if (!e) e = write_plan(plan.dir, a->config, &plan);
    int failed = 0, done = 0, skipped = 0;
    char first_fail[512] = "";
    double t_start = fc_time_now();
    for (int k = 0; k < plan.n && !e; k++) {
        if (k % shard_n != shard_i) continue;
        const fc_sweep_run *r = &plan.runs[k];
        char *rd = fc_path_join(runs_dir, r->id);
        char *marker = rd ? fc_path_join(rd, r->kind == FC_SWEEP_LOAD ? "summary.json" : "quality.csv") : NULL;
        char *rj = rd ? fc_path_join(rd, "run.json") : NULL;
        char *log = rd ? fc_path_join(rd, "log.txt") : NULL;
        if (!rd || !marker || !rj || !log) e = FC_ENOMEM;
        done++;
        if (!e && !a->force && fc_file_exists(marker)) {
            printf("[%d/%d] %s: finished earlier, kept (--force runs it again)\n", done, mine, r->id);
            skipped++;
        } else if (!e && !(e = fc_out_mkdirs(rd)) && !(e = write_run_json(rj, r))) {
            double t0 = fc_time_now();
            printf("[%d/%d] %s (%s) ...", done, mine, r->id, r->label);
            fflush(stdout);
            int status = 0;
            if (!(e = spawn_run(r, rd, log, &status))) {
                if (status) {
                    char line[400];
                    last_line(log, line, sizeof line);
                    printf(" FAILED (exit %d): %s\n", status, line);
                    if (!failed++) snprintf(first_fail, sizeof first_fail, "%s: %s", log, line);
                } else if (r->kind == FC_SWEEP_LOAD) {
                    fc_sweep_results one = {0};
                    char *sp = fc_path_join(rd, "summary.json");
                    char *text = NULL;
                    size_t len = 0;
                    cJSON *j = NULL;
                    if (sp && !fc_file_read(sp, (size_t)64 << 20, "a summary", &text, &len)) j = cJSON_Parse(text);
                    printf(" %.1f s: %.1f tokens/s, TTFT p50 %.3f s p99 %.3f s, %g sequences decoding at most\n",
                           fc_time_now() - t0, fc_sweep_num(j, "metrics.tokens_per_s"), fc_sweep_num(j, "metrics.ttft_s.p50"),
                           fc_sweep_num(j, "metrics.ttft_s.p99"), fc_sweep_num(j, "metrics.max_decoding"));
                    cJSON_Delete(j);
                    free(text), free(sp);
                    (void)one;
                } else {
                    printf(" %.1f s\n", fc_time_now() - t0);
                }
                fflush(stdout);
            }
        }
        free(rd), free(marker), free(rj), free(log);
    }
    if (!e) {
        fc_sweep_results res;
        int n_load = 0, n_qual = 0;
        if (!(e = fc_sweep_results_read(plan.dir, &res))) {
            e = fc_sweep_write_tables(plan.dir, &res, &n_load, &n_qual);
            fc_sweep_results_free(&res);
        }
        if (!e) {
            printf("sweep: %d run(s) in %.1f s (%d kept from before, %d failed); %s/load.csv: %d rows, %s/quality.csv: %d rows\n",
                   mine - skipped, fc_time_now() - t_start, skipped, failed, plan.dir, n_load, plan.dir, n_qual);
            if (shard_n == 1 && !a->no_plots) {
                char *pd = fc_path_join(plan.dir, "plots");
                int n_plots = 0;
                e = pd ? fc_plot_render(plan.dir, pd, &n_plots) : FC_ENOMEM;
                if (!e) printf("plots: %d files in %s/\n", n_plots, pd);
                free(pd);
            } else if (shard_n > 1) {
                printf("shard %d/%d done: combine the shards' folders with fc-eval merge --out DIR FOLDER...\n", shard_i,
                       shard_n);
            }
        }
    }
    free(runs_dir);
    fc_sweep_plan_free(&plan);
    fc_sweep_config_free(&cfg);
    if (e) return fc_cli_fail(e);
    if (failed) return fc_cli_error("sweep: %d run(s) failed; first: %s", failed, first_fail);
    return 0;
}

static int cmd_sweep(const fc_cli_args *cl) {
    sweep_args a = {0};
    a.config = fc_cli_value(cl, "--config"), a.shard = fc_cli_value(cl, "--shard");
    a.o.out = fc_cli_value(cl, "--out"), a.o.model = fc_cli_value(cl, "--model");
    a.o.tokenizer = fc_cli_value(cl, "--tokenizer"), a.o.data = fc_cli_value(cl, "--data");
    a.o.images = fc_cli_value(cl, "--images"), a.o.checkpoint = fc_cli_value(cl, "--checkpoint");
    a.o.kv_budget = fc_cli_value(cl, "--kv-budget");
    /* main() took --precision out of argv; given (or FC_PRECISION), it wins over the config's key */
    if (fc_precision_chosen()) a.o.precision = fc_precision_name(fc_precision_get());
    const char *s_req = fc_cli_value(cl, "--requests"), *s_max = fc_cli_value(cl, "--max-new-tokens");
    const char *s_blocks = fc_cli_value(cl, "--kv-blocks"), *s_seed = fc_cli_value(cl, "--seed");
    a.dry_run = fc_cli_flag(cl, "--dry-run"), a.force = fc_cli_flag(cl, "--force");
    a.no_plots = fc_cli_flag(cl, "--no-plots");
    if (!a.config) return fc_cli_error("sweep: --config FILE.yaml is required"), 2;
    int si = 0, sn = 1;
    fc_err e = FC_OK;
    if (a.shard) {
        char tail;
        if (sscanf(a.shard, "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 0 || si >= sn)
            e = fc_err_set(FC_EINVAL, "--shard '%s': expected I/N with 0 <= I < N (e.g. 0/4)", a.shard);
    }
    if (!e && a.o.kv_budget && s_blocks) e = fc_err_set(FC_EINVAL, "give --kv-budget or --kv-blocks, not both");
    if (!e && s_req) e = fc_cli_parse_long("--requests", s_req, 1, 1 << 24, &a.o.requests);
    if (!e && s_max) e = fc_cli_parse_long("--max-new-tokens", s_max, 1, 1 << 20, &a.o.max_new_tokens);
    if (!e && s_blocks) e = fc_cli_parse_long("--kv-blocks", s_blocks, 1, 1L << 26, &a.o.kv_blocks);
    if (!e && s_seed) e = fc_cli_parse_long("--seed", s_seed, 0, 4294967295L, &a.o.seed), a.o.has_seed = true;
    if (e) return fc_cli_fail(e);
    return run_sweep(&a, si, sn);
}

const fc_cli_command fc_cmd_sweep = {
    "sweep", cmd_sweep, "run a sweep config: methods x ratios x rates x batch limits, load and quality",
    "--config FILE.yaml [--shard I/N] [--out DIR] [--dry-run] [--force] [--no-plots]\n"
    "                     [--model DIR] [--tokenizer DIR] [--data SPEC] [--images DIR] [--checkpoint FILE]\n"
    "                     [--requests N] [--max-new-tokens T] [--kv-budget BYTES | --kv-blocks N] [--seed S]",
    "Runs every experiment of a sweep config (kind: sweep): methods x ratios x rates x batch limits of\n"
    "`fc-eval load`, and `fc-eval quality` runs, one folder per run under DIR/runs/, then DIR/load.csv,\n"
    "DIR/quality.csv and the plots in DIR/plots/ (fc-eval plot).",
    options, 0, "Settings: a flag here beats the experiment's key, which beats the key in global, which beats the default."};
