/* cli.h: what the fc-eval and fc-train subcommands share: the command table entry, each command's option
 * table, the one parser that walks argv against that table, error reporting in the "fc-eval: error: <what>"
 * form, and the value converters.
 *
 * A subcommand lives in its own eval/cmd_<name>.c (or train/) and defines one fc_cli_command, listed once in
 * the table of its program's main.c, which calls fc_cli_main. The command declares its options as a table,
 * like redis's config table: one row per option, so the rules are written once, here:
 *   - an option not in the table is an error ("logits: unknown option '--frob' (see fc-eval logits --help)");
 *   - an option with a value needs one ("option --model needs a value"); `--name=value` is the same as
 *     `--name value`; a flag takes none;
 *   - a single-value option (or flag) given twice is an error naming it ("option --image given twice"):
 *     nothing on the command line is silently last-wins. A repeatable option (max > 1) keeps every value, in
 *     order, up to max of them;
 *   - `--help` / `-h` prints the usage, the about text and the options from the table; the hidden
 *     `--list-options` prints the table one option a line, "NAME value|flag once|repeat N", so a test can
 *     walk every option of every command (tests/cli/options.sh does);
 *   - words that do not start with '-' (and "-" itself) are positional arguments, at most max_args of them.
 * Conversion of values (ranges, numbers) stays with the command: fc_cli_long / fc_cli_double below, whose
 * messages name the option.
 *
 * Example (eval/cmd_tokenize.c):
 *   static const fc_cli_option options[] = {
 *       {"--model", "DIR", 1, "folder with tokenizer.json"},
 *       {"--file", "PATH", 1, "read the text from a file"},
 *       {"--decode", NULL, 1, "decode ids to text"},           // a flag: arg is NULL
 *       {0}};
 *   static int run(const fc_cli_args *a) {
 *       const char *model = fc_cli_value(a, "--model");       // NULL when not given
 *       bool decode = fc_cli_flag(a, "--decode");
 *       ...
 *   }
 *   const fc_cli_command fc_cmd_tokenize = {"tokenize", run, "encode a text to ids", "--model DIR ...", NULL,
 *                                           options};
 */
#ifndef FC_EVAL_CLI_H
#define FC_EVAL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/base/err.h"

/* One row of an option table; a table ends with a row whose name is NULL ({0}). */
typedef struct {
    const char *name; /* "--image": starts with "--" */
    const char *arg;  /* the value's placeholder in --help ("FILE"); NULL: a flag, which takes no value */
    int max;          /* how many times it may be given: 0 or 1: once (a second time is an error naming the
                         option); N > 1: repeatable, up to N values kept in command-line order */
    const char *help; /* one line for --help; '\n' starts a continuation line */
} fc_cli_option;

typedef struct fc_cli_args fc_cli_args;

typedef struct {
    const char *name;                 /* "logits" */
    int (*run)(const fc_cli_args *a); /* runs on the parsed command line; returns the exit status */
    const char *summary;              /* one line for `fc-eval --help` */
    const char *usage;                /* synopsis after "usage: fc-eval <name> " */
    const char *about;                /* what it does, printed after the usage line; NULL: none */
    const fc_cli_option *options;     /* the option table; NULL: the command takes no options */
    int max_args;                     /* positional arguments accepted (inspect PATH: 1) */
    const char *notes;                /* printed after the options in --help; NULL: none */
} fc_cli_command;

/* The parsed command line of one command (owned by fc_cli_main / fc_cli_parse; read it with the accessors). */
struct fc_cli_args {
    const fc_cli_command *cmd;
    const char **vals;   /* every value, grouped by option row in table order, each group in argv order */
    int *first, *count;  /* per option row: its values are vals[first[r] .. first[r] + count[r]) */
    const char **args;   /* the positional arguments, in order */
    int n_args;
    int argc;            /* the command line as given (argv[0] is the command name): to record it, or for a */
    char *const *argv;   /* command whose positional words belong to the option before them (quality --method) */
};

/* The program name used in messages ("fc-eval" or "fc-train"). */
extern const char *fc_cli_prog;
/* Options every command of the program takes but that main() handles before the command's table parses
 * (fc-eval's --precision): NULL or a {0}-terminated table, listed after each command's own options in its
 * --help and --list-options. */
extern const fc_cli_option *fc_cli_common_options;

/* A program's main(): sets fc_cli_prog; `prog --help` prints "usage: <prog> <command> [options]", intro and
 * the commands with their summaries; `prog CMD ...` parses CMD's arguments (fc_cli_parse) and runs it.
 * Returns the exit status: 0, 1 for a failed run, 2 for a usage error (unknown command or option). */
int fc_cli_main(const char *prog, const char *intro, const fc_cli_command *const *cmds, int n_cmds, int argc,
                char **argv);

/* Walks argv[1..argc) (argv[0] is the command name) against cmd's option table by the rules at the top of
 * this file. Returns true with *a filled (free it with fc_cli_args_free) when the command should run.
 * Returns false when it should not: *status is then 0 after --help / --list-options (printed on stdout) or 2
 * after a usage error (one line on stderr), and *a holds nothing to free. */
bool fc_cli_parse(const fc_cli_command *cmd, int argc, char **argv, fc_cli_args *a, int *status);
void fc_cli_args_free(fc_cli_args *a);
/* Prints cmd's --help text (usage, about, the option table, notes). */
void fc_cli_print_help(const fc_cli_command *cmd, FILE *f);

/* Accessors. `name` must be a row of the command's table (a typo is a bug: it asserts). */
/* The value of a single-value option, or NULL when it was not given (repeatable ones: fc_cli_values). */
const char *fc_cli_value(const fc_cli_args *a, const char *name);
/* Whether the option (flag or value) was given. */
bool fc_cli_flag(const fc_cli_args *a, const char *name);
/* How many times the option was given; *vals (may be NULL) points at the values, in command-line order,
 * owned by a. */
int fc_cli_values(const fc_cli_args *a, const char *name, const char *const **vals);
/* The option's value as a whole decimal integer in [lo, hi] (fc_cli_parse_long); when the option was not
 * given, *out keeps what it holds (the default) and this returns FC_OK. */
fc_err fc_cli_long(const fc_cli_args *a, const char *name, long lo, long hi, long *out);
fc_err fc_cli_double(const fc_cli_args *a, const char *name, double lo, double hi, double *out);

/* Prints "<prog>: error: <message>" to stderr and returns 1 (the exit status for failures). */
int fc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "<prog>: error: " + fc_errmsg() and returns 1. */
int fc_cli_fail(fc_err e);

/* Parses a whole decimal integer within [lo, hi]; errors name the option. */
fc_err fc_cli_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
fc_err fc_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* Parses a list of token ids ("1 2 3", "1,2,3"; spaces, tabs, newlines or commas between) from s[0..len)
 * into a malloc'd array (*n may be 0 for an empty list; the caller frees *ids). Errors name `opt`, the
 * offending text and its byte offset. */
fc_err fc_cli_parse_ids(const char *opt, const char *s, size_t len, int32_t **ids, int *n);

#endif
