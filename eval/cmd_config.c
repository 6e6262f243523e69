/* cmd_config.c: `fc-eval config --check FILE`: validates a run config and prints its effective values.
 *
 * FILE is a YAML run config, dispatched on its `kind:` key (train -> train/train_config, eval ->
 * eval/eval_config), or a Hugging Face config.json / model folder (core/io/hfconfig). `--keys KIND`
 * lists every key a YAML kind accepts, with bounds, default and help, from the same schema tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/cli.h"
#include "core/io/hfconfig.h"
#include "eval/commands.h"
#include "eval/eval_config.h"
#include "train/train_config.h"

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static fc_err check_yaml(const char *path) {
    char *kind = NULL;
    size_t line = 0;
    FC_TRY(fc_yaml_peek_scalar(path, "kind", &kind, &line));
    fc_err e = FC_OK;
    if (!kind) {
        e = fc_err_set(FC_EINVAL, "%s: no top-level 'kind:' key (write kind: train or kind: eval)", path);
    } else if (!strcmp(kind, "train")) {
        fc_train_config c;
        e = fc_train_config_load(&c, path);
        if (!e) {
            printf("# %s: valid train config; effective values:\n", path);
            fc_train_config_print(&c, stdout);
            fc_train_config_free(&c);
        }
    } else if (!strcmp(kind, "eval")) {
        fc_eval_config c;
        e = fc_eval_config_load(&c, path);
        if (!e) {
            printf("# %s: valid eval config; effective values:\n", path);
            fc_eval_config_print(&c, stdout);
            fc_eval_config_free(&c);
        }
    } else {
        e = fc_err_set(FC_EINVAL, "%s:%zu: kind: expected train or eval, got '%.60s'", path, line, kind);
    }
    free(kind);
    return e;
}

static fc_err check_hf(const char *path) {
    fc_model_config c;
    FC_TRY(fc_hfconfig_load(&c, path));
    printf("# %s: valid model config; effective values:\n", path);
    fc_hfconfig_print(&c, stdout);
    return FC_OK;
}

static const fc_cli_option options[] = {
    {"--check", "FILE", 1,
     "a YAML run config (its 'kind:' says train or eval), or a Hugging Face\n"
     "config.json / model folder"},
    {"--keys", "KIND", 1, "every key a YAML config of that kind (train, eval) accepts: type, bounds, default, help"},
    {0}};

static int cmd_config(const fc_cli_args *a) {
    const char *check = fc_cli_value(a, "--check"), *keys = fc_cli_value(a, "--keys");
    if (!check == !keys) return fc_cli_error("config: give one of --check FILE or --keys KIND (see fc-eval config --help)");
    if (keys) {
        if (!strcmp(keys, "train")) fc_yaml_print_help(fc_train_config_schema, stdout);
        else if (!strcmp(keys, "eval")) fc_yaml_print_help(fc_eval_config_schema, stdout);
        else return fc_cli_error("config: --keys: expected train or eval, got '%s'", keys);
        return 0;
    }
    fc_err e = (is_dir(check) || ends_with(check, ".json")) ? check_hf(check) : check_yaml(check);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_config = {
    "config", cmd_config, "validate a YAML run config or a config.json and print its effective values",
    "--check FILE\n       fc-eval config --keys train|eval",
    "Validates a config and prints the effective values (defaults filled in).", options, 0, NULL};
