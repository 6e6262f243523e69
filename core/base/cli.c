/* cli.c: the fc-eval / fc-train command lines: the dispatcher, the option-table parser and its --help, the
 * value converters (rules in cli.h). */
#include "core/base/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

/* A repeatable option may allow any count up to this; tables never need more. */
enum { FC_CLI_MAX_REPEAT = 1 << 20 };

const char *fc_cli_prog = "fc-eval";
const fc_cli_option *fc_cli_common_options;

int fc_cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", fc_cli_prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

int fc_cli_fail(fc_err e) {
    const char *m = fc_errmsg();
    return fc_cli_error("%s", m[0] ? m : fc_err_name(e));
}

fc_err fc_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return fc_err_set(FC_EINVAL, "%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi) return fc_err_set(FC_EINVAL, "%s: %ld is outside [%ld, %ld]", opt, v, lo, hi);
    *out = v;
    return FC_OK;
}

fc_err fc_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v != v) return fc_err_set(FC_EINVAL, "%s: '%s' is not a number", opt, s);
    if (v < lo || v > hi) return fc_err_set(FC_EINVAL, "%s: %g is outside [%g, %g]", opt, v, lo, hi);
    *out = v;
    return FC_OK;
}

fc_err fc_cli_parse_ids(const char *opt, const char *s, size_t len, int32_t **ids, int *n) {
    static const char sep[] = " \t\r\n,";
    *ids = NULL, *n = 0;
    int32_t *v = fc_malloc((len / 2 + 1) * sizeof(int32_t), opt);
    if (!v) return FC_ENOMEM;
    int k = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] && strchr(sep, s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s[j] >= '0' && s[j] <= '9' && j - i < 10) j++;
        if (j == i || (j < len && (!s[j] || !strchr(sep, s[j])))) {
            free(v);
            int shown = (int)(j + 1 - i > 20 ? 20 : j + 1 - i);
            return fc_err_set(FC_EINVAL, "%s: '%.*s' at offset %zu is not a token id", opt, shown, s + i, i);
        }
        long x = strtol(s + i, NULL, 10);
        if (x > INT32_MAX) {
            free(v);
            return fc_err_set(FC_EINVAL, "%s: id at offset %zu is too large", opt, i);
        }
        v[k++] = (int32_t)x;
        i = j;
    }
    *ids = v, *n = k;
    return FC_OK;
}

/* ---- the option table ---- */

static int n_rows(const fc_cli_command *c) {
    int n = 0;
    while (c->options && c->options[n].name) n++;
    return n;
}

static int max_of(const fc_cli_option *o) { return o->max > 1 ? o->max : 1; }

/* The row named by s[0..len), or -1. */
static int find_row(const fc_cli_command *c, const char *s, size_t len) {
    for (int r = 0; c->options && c->options[r].name; r++)
        if (strlen(c->options[r].name) == len && !strncmp(c->options[r].name, s, len)) return r;
    return -1;
}

/* The table is ours: a malformed one is a bug, caught by the first run of the command (the walking test
 * runs every command). */
static void check_table(const fc_cli_command *c) {
    for (int r = 0; c->options && c->options[r].name; r++) {
        const fc_cli_option *o = &c->options[r];
        FC_ASSERT(o->name[0] == '-' && o->name[1] == '-' && o->name[2] && !strchr(o->name, '='));
        FC_ASSERT(o->help && o->max >= 0 && o->max <= FC_CLI_MAX_REPEAT);
        FC_ASSERT(find_row(c, o->name, strlen(o->name)) == r); /* no name twice */
    }
}

static int row_for(const fc_cli_args *a, const char *name) {
    int r = find_row(a->cmd, name, strlen(name));
    FC_ASSERT(r >= 0); /* the command asked for an option its table lacks */
    return r;
}

/* One option row of --help, its name column `width` wide. */
static void print_option(const fc_cli_option *o, int width, FILE *f) {
    char left[128];
    snprintf(left, sizeof left, "%s%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "", max_of(o) > 1 ? " ..." : "");
    fprintf(f, "  %-*s  ", width, left);
    if ((int)strlen(left) > width) fprintf(f, "\n  %-*s  ", width, "");
    for (const char *h = o->help; *h;) { /* continuation lines indented under the first */
        const char *nl = strchr(h, '\n');
        int n = nl ? (int)(nl - h) : (int)strlen(h);
        fprintf(f, "%.*s\n", n, h);
        if (!nl) break;
        h = nl + 1;
        fprintf(f, "  %-*s  ", width, "");
    }
}

void fc_cli_print_help(const fc_cli_command *cmd, FILE *f) {
    fprintf(f, "usage: %s %s%s%s\n", fc_cli_prog, cmd->name, cmd->usage && cmd->usage[0] ? " " : "",
            cmd->usage ? cmd->usage : "");
    if (cmd->about) fprintf(f, "%s%s", cmd->about, cmd->about[strlen(cmd->about) - 1] == '\n' ? "" : "\n");
    int width = 10;
    for (int r = 0; cmd->options && cmd->options[r].name; r++) {
        const fc_cli_option *o = &cmd->options[r];
        int w = (int)strlen(o->name) + (o->arg ? 1 + (int)strlen(o->arg) : 0);
        if (w > width) width = w;
    }
    if (width > 22) width = 22;
    fprintf(f, "options:\n");
    for (int r = 0; cmd->options && cmd->options[r].name; r++) print_option(&cmd->options[r], width, f);
    for (int r = 0; fc_cli_common_options && fc_cli_common_options[r].name; r++)
        print_option(&fc_cli_common_options[r], width, f);
    fprintf(f, "  %-*s  this help\n", width, "-h, --help");
    if (cmd->notes) fprintf(f, "%s%s", cmd->notes, cmd->notes[strlen(cmd->notes) - 1] == '\n' ? "" : "\n");
}

/* The hidden --list-options: one line an option, for tests/cli/options.sh. */
static void list_table(const fc_cli_option *t) {
    for (int r = 0; t && t[r].name; r++) {
        const fc_cli_option *o = &t[r];
        if (max_of(o) > 1) printf("%s %s repeat %d\n", o->name, o->arg ? "value" : "flag", max_of(o));
        else printf("%s %s once\n", o->name, o->arg ? "value" : "flag");
    }
}

static void list_options(const fc_cli_command *cmd) {
    list_table(cmd->options);
    list_table(fc_cli_common_options);
}

bool fc_cli_parse(const fc_cli_command *cmd, int argc, char **argv, fc_cli_args *a, int *status) {
    *a = (fc_cli_args){.cmd = cmd};
    *status = 2;
    check_table(cmd);
    const int R = n_rows(cmd);
    /* per argv word: the row whose value it carries (-1: none, -2: positional) and that value */
    int *row = fc_malloc((size_t)(argc + 1) * sizeof(int), "command line");
    const char **val = fc_malloc((size_t)(argc + 1) * sizeof(char *), "command line");
    int *count = fc_calloc((size_t)R + 1, sizeof(int), "command line");
    bool ok = false;
    if (!row || !val || !count) {
        fc_cli_fail(FC_ENOMEM);
        *status = 1;
        goto done;
    }
    int n_vals = 0, n_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        row[i] = -1;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fc_cli_print_help(cmd, stdout);
            *status = 0;
            goto done;
        }
        if (!strcmp(s, "--list-options")) {
            list_options(cmd);
            *status = 0;
            goto done;
        }
        if (s[0] != '-' || !s[1]) { /* a positional argument */
            if (n_args == cmd->max_args) {
                if (cmd->max_args) fc_cli_error("%s: unexpected argument '%s'", cmd->name, s);
                else fc_cli_error("%s: unexpected argument '%s' (options start with --; see %s %s --help)", cmd->name,
                                  s, fc_cli_prog, cmd->name);
                goto done;
            }
            row[i] = -2, val[i] = s, n_args++;
            continue;
        }
        const char *eq = s[1] == '-' ? strchr(s, '=') : NULL;
        size_t len = eq ? (size_t)(eq - s) : strlen(s);
        int r = find_row(cmd, s, len);
        if (r < 0) {
            fc_cli_error("%s: unknown option '%.*s' (see %s %s --help)", cmd->name, (int)len, s, fc_cli_prog, cmd->name);
            goto done;
        }
        const fc_cli_option *o = &cmd->options[r];
        if (count[r] == max_of(o)) {
            if (max_of(o) == 1) fc_cli_error("option %s given twice", o->name);
            else fc_cli_error("option %s given more than %d times", o->name, max_of(o));
            goto done;
        }
        if (!o->arg) {
            if (eq) {
                fc_cli_error("option %s takes no value (got '%s')", o->name, s);
                goto done;
            }
            val[i] = "";
        } else if (eq) {
            val[i] = eq + 1;
        } else if (i + 1 < argc) {
            i++;
            val[i] = argv[i];
        } else {
            fc_cli_error("option %s needs a value (%s)", o->name, o->arg);
            goto done;
        }
        row[i] = r, count[r]++, n_vals++;
    }
    /* group the values by row, in argv order within a row */
    size_t bytes = (size_t)(n_vals + n_args + 1) * sizeof(char *) + (size_t)(2 * R + 1) * sizeof(int);
    char *block = fc_malloc(bytes, "command line");
    if (!block) {
        fc_cli_fail(FC_ENOMEM);
        *status = 1;
        goto done;
    }
    a->vals = (const char **)block;
    a->args = a->vals + n_vals;
    a->first = (int *)(a->args + n_args + 1);
    a->count = a->first + R;
    for (int r = 0, at = 0; r < R; r++) {
        a->first[r] = at, a->count[r] = 0;
        for (int i = 1; i < argc; i++)
            if (row[i] == r) a->vals[at + a->count[r]++] = val[i];
        at += a->count[r];
    }
    for (int i = 1; i < argc; i++)
        if (row[i] == -2) a->args[a->n_args++] = val[i];
    a->argc = argc, a->argv = argv;
    ok = true;
    *status = 0;
done:
    free(row), free(val), free(count);
    return ok;
}

void fc_cli_args_free(fc_cli_args *a) {
    if (!a) return;
    free(a->vals);
    *a = (fc_cli_args){0};
}

const char *fc_cli_value(const fc_cli_args *a, const char *name) {
    int r = row_for(a, name);
    FC_ASSERT(max_of(&a->cmd->options[r]) == 1 && a->cmd->options[r].arg); /* repeatable: fc_cli_values */
    return a->count[r] ? a->vals[a->first[r]] : NULL;
}

bool fc_cli_flag(const fc_cli_args *a, const char *name) { return a->count[row_for(a, name)] > 0; }

int fc_cli_values(const fc_cli_args *a, const char *name, const char *const **vals) {
    int r = row_for(a, name);
    if (vals) *vals = a->vals + a->first[r];
    return a->count[r];
}

fc_err fc_cli_long(const fc_cli_args *a, const char *name, long lo, long hi, long *out) {
    const char *s = fc_cli_value(a, name);
    return s ? fc_cli_parse_long(name, s, lo, hi, out) : FC_OK;
}

fc_err fc_cli_double(const fc_cli_args *a, const char *name, double lo, double hi, double *out) {
    const char *s = fc_cli_value(a, name);
    return s ? fc_cli_parse_double(name, s, lo, hi, out) : FC_OK;
}

/* ---- the program ---- */

static void print_commands(const char *prog, const char *intro, const fc_cli_command *const *cmds, int n, FILE *f) {
    fprintf(f, "usage: %s <command> [options]\n%s%s\ncommands:\n", prog, intro,
            intro[0] && intro[strlen(intro) - 1] != '\n' ? "\n" : "");
    for (int i = 0; i < n; i++) fprintf(f, "  %-15s %s\n", cmds[i]->name, cmds[i]->summary);
    fprintf(f, "\n'%s <command> --help' describes a command's options.\n", prog);
}

int fc_cli_main(const char *prog, const char *intro, const fc_cli_command *const *cmds, int n_cmds, int argc,
                char **argv) {
    fc_cli_prog = prog;
    if (argc < 2) {
        print_commands(prog, intro, cmds, n_cmds, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_commands(prog, intro, cmds, n_cmds, stdout);
        return 0;
    }
    for (int i = 0; i < n_cmds; i++) {
        if (strcmp(argv[1], cmds[i]->name)) continue;
        fc_cli_args a;
        int status;
        if (!fc_cli_parse(cmds[i], argc - 1, argv + 1, &a, &status)) return status;
        status = cmds[i]->run(&a);
        fc_cli_args_free(&a);
        return status;
    }
    fc_cli_error("unknown command '%s' (see %s --help)", argv[1], prog);
    return 2;
}
