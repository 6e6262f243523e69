/* commands.h: the fc-eval subcommands, one per eval/cmd_<name>.c (version lives in main.c). Each is an
 * fc_cli_command (core/base/cli.h) with its option table, listed once in the table in eval/main.c. */
#ifndef FC_EVAL_COMMANDS_H
#define FC_EVAL_COMMANDS_H

#include "core/base/cli.h"

#define FC_VERSION "0.1.0"

extern const fc_cli_command fc_cmd_version;
extern const fc_cli_command fc_cmd_preprocess;
extern const fc_cli_command fc_cmd_logits;
extern const fc_cli_command fc_cmd_generate;
extern const fc_cli_command fc_cmd_bench_llm;
extern const fc_cli_command fc_cmd_bench_compress;
extern const fc_cli_command fc_cmd_tokenize;
extern const fc_cli_command fc_cmd_inspect;
extern const fc_cli_command fc_cmd_config;
extern const fc_cli_command fc_cmd_vision;
extern const fc_cli_command fc_cmd_methods;
extern const fc_cli_command fc_cmd_run;
extern const fc_cli_command fc_cmd_compare;
extern const fc_cli_command fc_cmd_data;
extern const fc_cli_command fc_cmd_quality;

#endif
