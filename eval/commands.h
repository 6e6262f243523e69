/* commands.h: the fc-eval subcommands, one per eval/cmd_<name>.c (version lives in main.c). */
#ifndef FC_EVAL_COMMANDS_H
#define FC_EVAL_COMMANDS_H

#define FC_VERSION "0.1.0"

int fc_cmd_version(int argc, char **argv);

#endif
