/* cli.h: what the fc-eval and fc-train subcommands share: the command table entry, error reporting in the
 * "fc-eval: error: <what>" form, and small option-parsing helpers. Each subcommand lives in its own
 * eval/cmd_<name>.c and is listed once in the table in eval/main.c. */
#ifndef FC_EVAL_CLI_H
#define FC_EVAL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; returns the exit status */
    const char *summary;               /* one line for `fc-eval --help` */
} fc_cli_command;

/* Prints "<prog>: error: <message>" to stderr and returns 1 (the exit status for failures). */
int fc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "<prog>: error: " + fc_errmsg() and returns 1. */
int fc_cli_fail(fc_err e);
/* The program name used in messages ("fc-eval" or "fc-train"). */
extern const char *fc_cli_prog;

/* True if argv[i] is `name` and a value follows; then *value points at it and *i advances past it.
 * If argv[i] is `name` with no value, reports an error, sets *missing and returns false. */
bool fc_cli_opt(int argc, char **argv, int *i, const char *name, const char **value, bool *missing);
/* Parses a whole decimal integer within [lo, hi]; errors name the option. */
fc_err fc_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
fc_err fc_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* Parses a list of token ids ("1 2 3", "1,2,3"; spaces, tabs, newlines or commas between) from s[0..len)
 * into a malloc'd array (*n may be 0 for an empty list; the caller frees *ids). Errors name `opt`, the
 * offending text and its byte offset. */
fc_err fc_cli_parse_ids(const char *opt, const char *s, size_t len, int32_t **ids, int *n);

#endif
