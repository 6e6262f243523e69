/* test_cli.c: the option-table parser of core/base/cli.c (the rules listed atop cli.h). Expected values
 * follow from the argv given; the error lines it prints go to stderr. */
#include "core/base/cli.h"
#include "tests/test.h"

static int never_run(const fc_cli_args *a) {
    (void)a;
    return 99;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1, "a folder"},
    {"--image", "FILE", 3, "up to three images"},
    {"--json", NULL, 1, "a flag"},
    {"--steps", "N", 0, "max 0 means once"},
    {0}};
static const fc_cli_command cmd = {"demo", never_run, "a test command", "--model DIR", NULL, options, 1, NULL};

/* Parses the NULL-terminated words after the command name; returns whether it may run. */
static bool parse(const char *const *words, fc_cli_args *a, int *status) {
    char *argv[32] = {(char *)"demo"};
    int argc = 1;
    while (words[argc - 1]) argv[argc] = (char *)words[argc - 1], argc++;
    return fc_cli_parse(&cmd, argc, argv, a, status);
}

static void test_cli_values_in_order(fc_test *t) {
    const char *w[] = {"--image", "a.jpg", "PATH", "--model=m", "--image", "b.jpg", "--json", "--image=c.jpg", NULL};
    fc_cli_args a;
    int st;
    FC_CHECK(t, parse(w, &a, &st) && st == 0, "status %d", st);
    const char *const *v;
    FC_CHECK(t, fc_cli_values(&a, "--image", &v) == 3, "count");
    FC_CHECK(t, !strcmp(v[0], "a.jpg") && !strcmp(v[1], "b.jpg") && !strcmp(v[2], "c.jpg"), "%s %s %s", v[0], v[1], v[2]);
    FC_CHECK(t, !strcmp(fc_cli_value(&a, "--model"), "m"), "model");
    FC_CHECK(t, fc_cli_flag(&a, "--json") && !fc_cli_flag(&a, "--steps") && !fc_cli_value(&a, "--steps"), "flags");
    FC_CHECK(t, a.n_args == 1 && !strcmp(a.args[0], "PATH"), "positional");
    long steps = 7;
    FC_CHECK(t, fc_cli_long(&a, "--steps", 0, 10, &steps) == FC_OK && steps == 7, "absent keeps the default");
    fc_cli_args_free(&a);
}

static void test_cli_value_may_start_with_dash(fc_test *t) {
    const char *w[] = {"--model", "-x", "--steps", "-3", NULL};
    fc_cli_args a;
    int st;
    FC_CHECK(t, parse(w, &a, &st), "status %d", st);
    long steps = 0;
    FC_CHECK(t, !strcmp(fc_cli_value(&a, "--model"), "-x"), "model");
    FC_CHECK(t, fc_cli_long(&a, "--steps", 0, 10, &steps) == FC_EINVAL && strstr(fc_errmsg(), "--steps"), "%s",
             fc_errmsg());
    fc_cli_args_free(&a);
}

/* issue 15: a repeated single-value option was silently last-wins. */
static void test_cli_issue15_repeat_is_an_error(fc_test *t) {
    static const char *const bad[][10] = {
        {"--model", "a", "--model", "b", NULL},
        {"--model=a", "--model", "b", NULL},
        {"--json", "--json", NULL},
        {"--steps", "1", "--steps", "1", NULL}, /* max 0: once */
        {"--image", "1", "--image", "2", "--image", "3", "--image", "4", NULL},
        {"--nope", NULL},
        {"--json=1", NULL},
        {"--model", NULL},
        {"a", "b", NULL}, /* one positional only */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_cli_args a;
        int st = -1;
        FC_CHECK(t, !parse(bad[i], &a, &st) && st == 2, "case %zu: status %d", i, st);
    }
}

static void test_cli_help_stops(fc_test *t) {
    const char *w[] = {"--model", "a", "--list-options", "--model", "b", NULL};
    fc_cli_args a;
    int st = -1;
    FC_CHECK(t, !parse(w, &a, &st) && st == 0, "status %d", st);
}

static const fc_test_case cases[] = {FC_CASE(test_cli_values_in_order), FC_CASE(test_cli_value_may_start_with_dash),
                                     FC_CASE(test_cli_issue15_repeat_is_an_error), FC_CASE(test_cli_help_stops)};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
