/* heldout.h: is an evaluation held out from a compressor's training? A CCM checkpoint written by fc-train
 * records the sample ids it trained on and validated on, as safetensors metadata keys `train_ids` and
 * `val_ids`, each a JSON array of id strings (the ids of the data/ readers: LLaVA "id", GQA question id,
 * MileBench "<task>/<sample_id>"). fc-eval compares them with the ids it evaluates and refuses an overlap
 * unless told otherwise. */
#ifndef FC_SERVE_HELDOUT_H
#define FC_SERVE_HELDOUT_H

#include <stdbool.h>

#include "core/base/err.h"

typedef struct {
    bool has_ids;          /* the checkpoint records train_ids and val_ids */
    int n_train, n_val;    /* ids it records */
    int train_overlap;     /* evaluated ids among train_ids */
    int val_overlap;       /* evaluated ids among val_ids */
    char example[128];     /* one overlapping id ("" when none) */
} fc_heldout_report;

/* Compares the n evaluated ids with the checkpoint's train_ids and val_ids and fills *rep. Errors name the
 * checkpoint: an unreadable file, a key that is not a JSON array of strings; then, unless allow_overlap:
 *   "<ckpt>: 2 of the 5 evaluated ids are in its train_ids (e.g. 'x'): not held out; pass --allow-overlap
 *    to evaluate anyway" (the same for val_ids), and
 *   "<ckpt>: no train_ids/val_ids metadata: cannot tell whether the evaluated ids are held out; pass
 *    --allow-overlap to evaluate anyway".
 * With allow_overlap those two are not errors (rep says what was found). */
fc_err fc_heldout_check(const char *ckpt, const char *const *ids, int n, bool allow_overlap, fc_heldout_report *rep);

#endif
