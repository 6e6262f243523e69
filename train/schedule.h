/* schedule.h: learning-rate schedules of fc-train.
 *
 *   constant  lr every step.
 *   plateau   FastCache's (reference/fastcache-compressor-spec.md §6.4): torch's ReduceLROnPlateau(mode
 *             'min', threshold 1e-4 'rel', cooldown 0, min_lr) stepped once per validation on the
 *             validation loss: after more than `patience` validations without a relative improvement of
 *             1e-4 over the best, lr *= factor (not below min_lr; changes smaller than 1e-8 are skipped).
 *   cosine    linear warmup from lr/warmup to lr over the first `warmup` steps (step s < warmup gives
 *             lr*(s+1)/warmup), then a half cosine from lr down to min_lr at total_steps:
 *             min_lr + (lr - min_lr) * (1 + cos(pi * (s - warmup) / (total_steps - warmup))) / 2.
 * Steps count optimizer steps from 0. The state is a few numbers, saved with the run (train/run_state.h) so
 * a resumed run continues the same schedule. */
#ifndef FC_TRAIN_SCHEDULE_H
#define FC_TRAIN_SCHEDULE_H

#include <stdbool.h>

typedef enum { FC_SCHED_PLATEAU = 0, FC_SCHED_COSINE, FC_SCHED_CONSTANT, FC_SCHED_COUNT } fc_sched_kind;
extern const char *const fc_sched_names[]; /* "plateau", "cosine", "constant", NULL */

typedef struct {
    fc_sched_kind kind;
    double base_lr, min_lr;
    double factor;      /* plateau */
    long patience;      /* plateau */
    long warmup;        /* cosine */
    long total_steps;   /* cosine */
    /* plateau state */
    double cur_lr;      /* the lr now in force */
    double best;        /* best validation loss so far (+inf before the first) */
    long num_bad;       /* validations since the last improvement */
} fc_sched;

void fc_sched_init(fc_sched *s, fc_sched_kind kind, double lr, double min_lr, double factor, long patience,
                   long warmup, long total_steps);
/* The lr for optimizer step `step` (0-based). */
double fc_sched_lr(const fc_sched *s, long step);
/* Reports a validation loss (plateau steps on it; the others ignore it). Returns true when the lr was cut. */
bool fc_sched_on_val(fc_sched *s, double val_loss);

#endif
