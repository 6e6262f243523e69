/* split.h: the validation split of fc-train, by sample id. Either an explicit list of validation ids
 * (every one must be in the data) or a share of the samples: each id is hashed with the seed and the
 * n_val = round(val_frac * n) ids of lowest hash are held out (at least one when val_frac > 0 and n >= 2,
 * never all). The split depends only on the set of ids and the seed, not on their order in the file, so
 * reordering or appending samples moves no sample from validation into training by accident; and since
 * checkpoints record both lists, fc-eval can refuse to evaluate on the training ids. */
#ifndef FC_TRAIN_SPLIT_H
#define FC_TRAIN_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* ids: (n) the samples' ids, which must be unique (a duplicate is an error naming it and both positions).
 * is_val: (n) output. `where` names the data in messages. */
fc_err fc_train_split(const char *const *ids, size_t n, double val_frac, const char *const *val_ids, size_t n_val_ids,
                      uint64_t seed, const char *where, bool *is_val);

/* A JSON array of the strings, e.g. ["a","b\"c"] (malloc'd; NULL when out of memory). */
char *fc_train_json_strings(const char *const *s, size_t n);

#endif
