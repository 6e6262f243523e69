/* commands.h: the subcommands of fc-train beside training itself (train/main.c dispatches). */
#ifndef FC_TRAIN_COMMANDS_H
#define FC_TRAIN_COMMANDS_H

/* fc-train grad: one step's loss and CCM gradients to safetensors (train/cmd_grad.c). argv[0] is "grad". */
int fc_train_cmd_grad(int argc, char **argv);

#endif
