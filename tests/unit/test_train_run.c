/* test_train_run.c: fc-train's run plumbing: the command line over the YAML config, the validation split
 * by id, the resume state file and the CSV logs a resumed run trims. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/file.h"
#include "tests/test.h"
#include "train/csv_log.h"
#include "train/run_state.h"
#include "train/split.h"
#include "train/train_options.h"

static char *write_tmp(const char *text) {
    char *path = strdup("/tmp/fc_test_train_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* every key of the schema has exactly one command-line option, so "every option in YAML and on the CLI"
 * cannot silently stop holding when a key is added */
static void walk(fc_test *t, const fc_yaml_field *s, const char *prefix, int *n) {
    for (const fc_yaml_field *f = s; f->key; f++) {
        char key[128];
        snprintf(key, sizeof key, "%s%s", prefix, f->key);
        if (f->type == FC_YAML_SECTION) {
            char p[160];
            snprintf(p, sizeof p, "%s.", key);
            walk(t, f->fields, p, n);
            continue;
        }
        if (!strcmp(key, "kind")) continue; /* fixed: a run config is kind train */
        int hits = 0;
        for (const fc_train_option *o = fc_train_options; o->opt; o++) hits += !strcmp(o->key, key);
        if (hits != 1) fc_test_fail(t, "schema key '%s' has %d command-line options (want 1)", key, hits);
        (*n)++;
    }
}

static void test_every_key_has_an_option(fc_test *t) {
    int n = 0;
    walk(t, fc_train_config_schema, "", &n);
    int opts = 0;
    for (const fc_train_option *o = fc_train_options; o->opt; o++) {
        FC_CHECK(t, fc_yaml_find(fc_train_config_schema, o->key, NULL) != NULL, "%s names no key %s", o->opt, o->key);
        opts++;
    }
    FC_CHECK(t, n == opts && n > 40, "%d keys, %d options", n, opts);
}

/* fc-train llava's command line as fc_cli_main hands it over: parsed by core/base/cli.h against the table
 * made from the schema (argv[0] "fc-train" skipped: the parser starts at the command name), then merged over
 * the YAML. Returns false (with *status) when the parser refused the line. */
static bool merge(int argc, char **argv, fc_train_config *c, fc_err *e, int *status) {
    static fc_cli_option table[FC_TRAIN_OPTIONS_MAX + 2];
    static char help[FC_TRAIN_OPTIONS_MAX][256];
    fc_train_options_table(table, help);
    const fc_cli_command cmd = {"llava", NULL, "", "", NULL, table, 0, NULL};
    fc_cli_args a;
    *status = 0;
    if (!fc_cli_parse(&cmd, argc - 1, argv + 1, &a, status)) return false;
    *e = fc_train_options_merge(&a, c);
    fc_cli_args_free(&a);
    return true;
}

static void test_cli_wins_over_yaml(fc_test *t) {
    char *y = write_tmp("kind: train\nmodel: from-yaml\ndata: d.json\noutput: o.safetensors\n"
                        "training: {lr: 1.0e-3, epochs: 7, schedule: cosine}\ncompressor: {dropout: 0.1}\n");
    FC_CHECK(t, y, "tmp");
    char *argv[] = {"fc-train", "llava", "--config", y, "--lr", "2e-4", "--model", "cli-model", "--val-ids", "a,b",
                    "--ratio", "4x"};
    fc_train_config c;
    fc_err e = FC_OK;
    int st;
    FC_CHECK(t, merge(12, argv, &c, &e, &st), "parser refused the line (status %d)", st);
    remove(y);
    free(y);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.training.lr == 2e-4 && c.training.epochs == 7 && c.training.schedule == 1, "training %g %ld %d",
             c.training.lr, c.training.epochs, c.training.schedule);
    FC_CHECK(t, !strcmp(c.model, "cli-model") && !strcmp(c.data, "d.json") && c.compressor.dropout == 0.1, "merge");
    FC_CHECK(t, c.val_ids.n == 2 && !strcmp(c.val_ids.items[1], "b"), "val ids");
    FC_CHECK(t, c.compressor.ratio == 4 && c.compressor.window == 4, "--ratio sets the window too");
    fc_train_config_free(&c);
}

static void test_cli_errors(fc_test *t) {
    fc_train_config c;
    fc_err e = FC_OK;
    int st = 0;
    char *a1[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--lr", "fast"};
    FC_CHECK(t, merge(10, a1, &c, &e, &st) && e == FC_EFORMAT && strstr(fc_errmsg(), "--lr: expected a number"),
             "%s", fc_errmsg());
    char *a2[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--dropout", "1.5"};
    FC_CHECK(t, merge(10, a2, &c, &e, &st) && e == FC_EINVAL && strstr(fc_errmsg(), "--dropout: 1.5 is out of range"),
             "%s", fc_errmsg());
    char *a3[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--learning-rate", "1"};
    /* the rules of core/base/cli.h (their messages: tests/cli/options.sh, which walks fc-train too): a usage
     * error, exit status 2, before anything is merged */
    FC_CHECK(t, !merge(10, a3, &c, &e, &st) && st == 2, "unknown option --learning-rate: status %d", st);
    char *a4[] = {"fc-train", "llava", "--model", "m", "--out", "o"};
    FC_CHECK(t, merge(6, a4, &c, &e, &st) && e == FC_EINVAL && strstr(fc_errmsg(), "no training data"), "%s",
             fc_errmsg());
    char *a5[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--ratio", "5x", "--window", "4"};
    FC_CHECK(t, merge(12, a5, &c, &e, &st) && e == FC_EINVAL && strstr(fc_errmsg(), "does not match"), "%s",
             fc_errmsg());
    char *a6[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--schedule", "step"};
    FC_CHECK(t, merge(10, a6, &c, &e, &st) && e == FC_EINVAL &&
                    strstr(fc_errmsg(), "--schedule: expected one of plateau, cosine, constant"), "%s", fc_errmsg());
    char *a8[] = {"fc-train", "llava", "--model", "m", "--data", "d", "--out", "o", "--lr", "1e-3", "--lr", "2e-3"};
    FC_CHECK(t, !merge(12, a8, &c, &e, &st) && st == 2, "--lr given twice: status %d", st);
    char *a7[] = {"fc-train", "llava", "--model"};
    FC_CHECK(t, !merge(3, a7, &c, &e, &st) && st == 2, "--model without a value: status %d", st);
}

static void test_split_by_id(fc_test *t) {
    const char *ids[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    const char *rev[10];
    for (int i = 0; i < 10; i++) rev[i] = ids[9 - i];
    bool v1[10], v2[10];
    FC_CHECK(t, fc_train_split(ids, 10, 0.3, NULL, 0, 48, "x", v1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_train_split(rev, 10, 0.3, NULL, 0, 48, "x", v2) == FC_OK, "%s", fc_errmsg());
    int n = 0;
    for (int i = 0; i < 10; i++) {
        n += v1[i];
        FC_CHECK(t, v1[i] == v2[9 - i], "id %s: held out in one order and not the other", ids[i]);
    }
    FC_CHECK(t, n == 3, "%d held out, want 3", n);
    /* another seed gives another split (of the same size) */
    bool v3[10];
    FC_CHECK(t, fc_train_split(ids, 10, 0.3, NULL, 0, 49, "x", v3) == FC_OK, "seed 49");
    FC_CHECK(t, memcmp(v1, v3, sizeof v1) != 0, "seed does not matter");
    const char *want[] = {"c", "j"};
    FC_CHECK(t, fc_train_split(ids, 10, 0.3, want, 2, 48, "x", v1) == FC_OK, "%s", fc_errmsg());
    for (int i = 0; i < 10; i++) FC_CHECK(t, v1[i] == (i == 2 || i == 9), "explicit ids: %s", ids[i]);
    const char *bad[] = {"zz"};
    FC_CHECK(t, fc_train_split(ids, 10, 0, bad, 1, 48, "x", v1) == FC_EINVAL && strstr(fc_errmsg(), "'zz' is not a sample"),
             "%s", fc_errmsg());
    const char *dup[] = {"a", "b", "a"};
    FC_CHECK(t, fc_train_split(dup, 3, 0.3, NULL, 0, 48, "x", v1) == FC_EINVAL && strstr(fc_errmsg(), "'a' appears more"),
             "%s", fc_errmsg());
    FC_CHECK(t, fc_train_split(ids, 2, 0.9, NULL, 0, 48, "x", v1) == FC_OK && v1[0] + v1[1] == 1, "never all held out");
    char *j = fc_train_json_strings((const char *[]){"a\"b", "c\\d", "e"}, 3);
    FC_CHECK(t, j && !strcmp(j, "[\"a\\\"b\",\"c\\\\d\",\"e\"]"), "json %s", j);
    free(j);
}

static void test_state_roundtrip(fc_test *t) {
    char path[] = "/tmp/fc_test_state_XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(t, fd >= 0, "mkstemp");
    close(fd);
    fc_train_state s = {0};
    snprintf(s.model_sig, sizeof s.model_sig, "llava L=2");
    snprintf(s.data_sig, sizeof s.data_sig, "abc-def");
    s.seed = 48, s.step = 17, s.epoch = 3, s.pos = 2, s.best_val = 0.1 / 3, s.best_step = 12, s.first_val = NAN;
    s.elapsed = 1.5, s.rng_dropout = 0x0123456789abcdefULL, s.n = 5;
    float p[5] = {1, 2, 3, 4, 5};
    s.params = p;
    FC_CHECK(t, fc_adamw_init(&s.adam, 5, 0.9, 0.999, 1e-8, 0) == FC_OK, "adam");
    for (int i = 0; i < 5; i++) s.adam.m[i] = 0.1f * i, s.adam.v[i] = 0.01f * i;
    s.adam.step = 17;
    fc_sched_init(&s.sched, FC_SCHED_PLATEAU, 5e-4, 0, 0.5, 2, 0, 0);
    s.sched.cur_lr = 2.5e-4 / 3, s.sched.best = 0.7 / 3, s.sched.num_bad = 1;
    FC_CHECK(t, fc_train_state_save(&s, path) == FC_OK, "%s", fc_errmsg());
    fc_sched hyper;
    fc_sched_init(&hyper, FC_SCHED_PLATEAU, 5e-4, 0, 0.5, 2, 0, 0);
    fc_train_state r;
    fc_err e = fc_train_state_load(&r, path, "llava L=2", "abc-def", 5, &hyper, &s.adam);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, r.step == 17 && r.epoch == 3 && r.pos == 2 && r.best_step == 12 && r.adam.step == 17, "counters");
    FC_CHECK(t, r.best_val == 0.1 / 3 && r.sched.cur_lr == 2.5e-4 / 3 && r.sched.best == 0.7 / 3 && r.sched.num_bad == 1 &&
                    isnan(r.first_val) && r.elapsed == 1.5, "doubles read back bit for bit");
    FC_CHECK(t, r.rng_dropout == 0x0123456789abcdefULL, "rng %llx", (unsigned long long)r.rng_dropout);
    FC_CHECK(t, !memcmp(r.params, p, sizeof p) && !memcmp(r.adam.m, s.adam.m, 5 * sizeof(float)) &&
                    !memcmp(r.adam.v, s.adam.v, 5 * sizeof(float)), "vectors");
    fc_train_state_free(&r);
    /* a resume on another model, other data or another compressor size is refused */
    FC_CHECK(t, fc_train_state_load(&r, path, "minicpm L=2", "abc-def", 5, &hyper, &s.adam) == FC_EINVAL &&
                    strstr(fc_errmsg(), "another model"), "%s", fc_errmsg());
    FC_CHECK(t, fc_train_state_load(&r, path, "llava L=2", "xyz", 5, &hyper, &s.adam) == FC_EINVAL &&
                    strstr(fc_errmsg(), "other samples"), "%s", fc_errmsg());
    FC_CHECK(t, fc_train_state_load(&r, path, "llava L=2", "abc-def", 6, &hyper, &s.adam) == FC_ESHAPE, "%s", fc_errmsg());
    FC_CHECK(t, r.params == NULL, "failed load leaves nothing");
    fc_adamw_free(&s.adam);
    remove(path);
    char *sp = fc_train_state_path("run/x.last.safetensors");
    FC_CHECK(t, sp && !strcmp(sp, "run/x.last.state.safetensors"), "%s", sp);
    free(sp);
}

static void test_csv_resume_trims(fc_test *t) {
    char path[] = "/tmp/fc_test_csv_XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(t, fd >= 0, "mkstemp");
    close(fd);
    fc_csv_log l;
    FC_CHECK(t, fc_csv_open(&l, path, "step,loss", -1) == FC_OK, "%s", fc_errmsg());
    for (int s = 1; s <= 6; s++) fc_csv_row(&l, "%d,%g", s, 1.0 / s);
    fc_csv_close(&l);
    /* a row cut by a kill */
    FILE *f = fopen(path, "a");
    fputs("7,0.14", f);
    fclose(f);
    FC_CHECK(t, fc_csv_open(&l, path, "step,loss", 4) == FC_OK, "%s", fc_errmsg());
    fc_csv_row(&l, "5,%g", 0.2);
    fc_csv_close(&l);
    char *buf;
    size_t n;
    FC_CHECK(t, fc_file_read(path, 0, "log", &buf, &n) == FC_OK, "read");
    FC_CHECK(t, !strcmp(buf, "step,loss\n1,1\n2,0.5\n3,0.333333\n4,0.25\n5,0.2\n"), "log:\n%s", buf);
    free(buf);
    FC_CHECK(t, fc_csv_open(&l, path, "step,other", 4) == FC_EFORMAT && strstr(fc_errmsg(), "header"), "%s", fc_errmsg());
    remove(path);
}

static const fc_test_case cases[] = {
    FC_CASE(test_every_key_has_an_option), FC_CASE(test_cli_wins_over_yaml), FC_CASE(test_cli_errors),
    FC_CASE(test_split_by_id),             FC_CASE(test_state_roundtrip),    FC_CASE(test_csv_resume_trims),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
