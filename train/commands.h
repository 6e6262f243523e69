/* commands.h: the subcommands of fc-train beside training itself (train/main.c dispatches). */
#ifndef FC_TRAIN_COMMANDS_H
#define FC_TRAIN_COMMANDS_H

#include "core/base/cli.h"

/* fc-train grad: one step's loss and CCM gradients to safetensors (train/cmd_grad.c). */
extern const fc_cli_command fc_train_cmd_grad;

#endif
