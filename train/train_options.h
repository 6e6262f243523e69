/* train_options.h: fc-train's command line over its YAML run config. Every key of the schema
 * (train/train_config.c) has a command-line option (--lr is training.lr, --min-segment is
 * compressor.min_segment, --images is image_root, --out is output, ...). The options are read in this
 * order: the schema's defaults, then the --config file when given, then every other option, so the
 * command line wins. Values go through the schema's own parser (fc_yaml_set): the same types, bounds and
 * messages as in a file. */
#ifndef FC_TRAIN_OPTIONS_H
#define FC_TRAIN_OPTIONS_H

#include <stdio.h>

#include "core/base/cli.h"
#include "train/train_config.h"

typedef struct {
    const char *opt;  /* "--lr" */
    const char *key;  /* "training.lr" */
} fc_train_option;

extern const fc_train_option fc_train_options[]; /* ended by {NULL, NULL} */

/* Fills *cfg from a command line parsed by core/base/cli.h against fc_train_options_table's table (which
 * applied the rules: unknown options, stray arguments, a missing value, an option given twice): the schema's
 * defaults, then the --config file, then every other option given. After the merge: model, data and output
 * must be set (from either source), and ratio and window agree (setting one of them alone on the command
 * line sets the other). On failure *cfg holds nothing to free; on success release with
 * fc_train_config_free. */
fc_err fc_train_options_merge(const fc_cli_args *a, fc_train_config *cfg);

/* The command's option table for core/base/cli.h: --config, then one row per fc_train_options entry with
 * the schema's help ("AdamW learning rate (training.lr, default 5e-4)"). rows needs FC_TRAIN_OPTIONS_MAX + 2
 * entries, help FC_TRAIN_OPTIONS_MAX strings of 256 bytes (they back the rows' help). Ends with {0}. */
#define FC_TRAIN_OPTIONS_MAX 64
void fc_train_options_table(fc_cli_option *rows, char (*help)[256]);

#endif
