/* commands.h: the fc-eval subcommands, one per eval/cmd_<name>.c (version lives in main.c). */
#ifndef FC_EVAL_COMMANDS_H
#define FC_EVAL_COMMANDS_H

#define FC_VERSION "0.1.0"

int fc_cmd_version(int argc, char **argv);
int fc_cmd_preprocess(int argc, char **argv);
int fc_cmd_logits(int argc, char **argv);
int fc_cmd_generate(int argc, char **argv);
int fc_cmd_bench_llm(int argc, char **argv);
int fc_cmd_bench_compress(int argc, char **argv);
int fc_cmd_tokenize(int argc, char **argv);
int fc_cmd_inspect(int argc, char **argv);
int fc_cmd_config(int argc, char **argv);
int fc_cmd_vision(int argc, char **argv);
int fc_cmd_methods(int argc, char **argv);
int fc_cmd_run(int argc, char **argv);
int fc_cmd_synth(int argc, char **argv);

#endif
