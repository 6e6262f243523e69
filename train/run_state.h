/* run_state.h: what `fc-train --resume` needs to continue a run exactly, kept in one file beside the last
 * checkpoint (<last>.state.safetensors, written atomically after it).
 *
 * The state file holds everything, the compressor's parameters included, so it is consistent on its own: a
 * run killed between writing the last checkpoint and its state resumes from the state, which is never
 * older than the weights it describes. Contents:
 *   tensors   params (n), adam.m (n), adam.v (n): f32; rng.dropout: the dropout RNG's 64 bits as two I32
 *   metadata  format "fastcache-train-state", version "1", model_sig (which model and compressor layout the
 *             run trained: a resume on another is refused), data_sig (the training ids, hashed), seed,
 *             step, epoch, pos (samples of this epoch's order already consumed), adam_step, sched_* (the
 *             schedule's state), best_val, best_step, first_val, elapsed; doubles as C99 hex floats ("%a") so they
 *             read back bit for bit.
 * Ownership: fc_train_state owns params, m and v. */
#ifndef FC_TRAIN_RUN_STATE_H
#define FC_TRAIN_RUN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "train/optim.h"
#include "train/schedule.h"

#define FC_TRAIN_SIG_MAX 512

typedef struct {
    char model_sig[FC_TRAIN_SIG_MAX];
    char data_sig[40];
    uint64_t seed;
    long step;          /* optimizer steps done */
    long epoch;         /* 0-based epoch the next step belongs to */
    long pos;           /* samples of this epoch's order consumed */
    double best_val;    /* best validation KL (+inf before any) */
    double first_val;   /* validation KL of the untrained compressor (NaN when not measured) */
    long best_step;     /* -1 before any */
    double elapsed;     /* seconds of training before this state (the summary adds them up) */
    uint64_t rng_dropout; /* the compressor's dropout RNG (core/autograd/ccm_train.h) */
    size_t n;           /* parameters */
    float *params;      /* (n) */
    fc_adamw adam;      /* moments (n) and step */
    fc_sched sched;
} fc_train_state;

/* Writes the state to path atomically (a temporary file renamed over it). */
fc_err fc_train_state_save(const fc_train_state *s, const char *path);
/* Reads a state file into *s (allocating params and moments). The schedule's hyperparameters (kind, base
 * lr, ...) come from `sched` (the run's options), its progress (current lr, best, bad count) from the file;
 * the AdamW hyperparameters likewise from `adam_hyper` (betas, eps, decay; its moments are ignored).
 * Refuses a file of another format, a model_sig other than `want_model_sig` ("<path>: trained on <sig>,
 * this run is <sig>"), another data_sig, a parameter count other than `want_n`. On failure *s holds nothing
 * to free. */
fc_err fc_train_state_load(fc_train_state *s, const char *path, const char *want_model_sig,
                           const char *want_data_sig, size_t want_n, const fc_sched *sched,
                           const fc_adamw *adam_hyper);
void fc_train_state_free(fc_train_state *s); /* accepts NULL */

/* "<ckpt minus .safetensors>.state.safetensors" (malloc'd). */
char *fc_train_state_path(const char *ckpt);
/* A short hash (16 hex digits) of strings, for data_sig. */
void fc_train_hash_strings(char out[17], const char *const *s, size_t n);

#endif
