/* trainer_internal.h: the run's state shared by trainer.c (setup and loop) and trainer_io.c (samples,
 * validation, checkpoints). Not for use outside train/. */
#ifndef FC_TRAIN_TRAINER_INTERNAL_H
#define FC_TRAIN_TRAINER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/model/vlm.h"
#include "data/dataset.h"
#include "train/csv_log.h"
#include "train/optim.h"
#include "train/run_state.h"
#include "train/sample.h"
#include "train/schedule.h"
#include "train/train_config.h"

/* image rows kept between uses up to this many bytes; beyond, a sample's rows are re-encoded when used */
#define FC_TRAIN_EMBED_CACHE_BYTES ((size_t)2 << 30)

/* token-weighted sums over samples */
typedef struct {
    double loss, kl, top1; /* sums of figure x supervised tokens */
    long sup, tokens;      /* supervised tokens, student input tokens */
    int samples;
} fc_train_acc;

typedef struct {
    const fc_train_config *cfg;
    const char *family;         /* "llava" | "minicpm" */
    fc_vlm *vlm;
    fc_distill *d;
    fc_ccm_train *ccm;
    fc_distill_teacher teacher;
    fc_kv_pool *gen_pool;       /* teacher generations (targets = teacher) */
    int gen_pool_tokens;
    fc_dataset data, val_data;
    /* every sample, training and validation */
    int n;
    const fc_data_record **recs;/* (n) */
    const char **where;         /* (n) the file each came from, for messages */
    fc_train_sample *samples;   /* (n) prompt ids and spans always; image rows while cached */
    bool *has_embeds;           /* (n) rows present */
    bool *is_val;               /* (n) */
    bool *val_generated;        /* (n) targets = teacher: the validation answer is generated (once, fixed seed) */
    size_t cached_bytes;
    int *train_idx, n_train;    /* sample indices */
    int *val_idx, n_val;
    int *order;                 /* (n_train) this epoch's order of train_idx positions */
    long order_epoch;           /* the epoch `order` belongs to (-1: none yet) */
    /* optimisation */
    fc_adamw adam;
    fc_sched sched;
    long step, epoch, pos, total_steps;
    double best_val, first_val, elapsed0;
    long best_step;
    /* outputs */
    char *best_path, *last_path, *state_path, *steps_path, *val_path;
    fc_csv_log steps_log, val_log;
    char model_sig[FC_TRAIN_SIG_MAX], data_sig[40];
    char *train_ids_json, *val_ids_json;
    fc_train_acc last_val;      /* the most recent validation */
    bool have_val;
} fc_trainer;

/* trainer_io.c */
fc_err fc_trainer_load_samples(fc_trainer *t);          /* read the data and split it (before the model loads) */
fc_err fc_trainer_build_samples(fc_trainer *t);         /* build and check every sample's prompt and answer */
fc_err fc_trainer_embeds(fc_trainer *t, int i);         /* make sure sample i has its image rows */
void fc_trainer_release_embeds(fc_trainer *t, int i);   /* drop them again when over the cache budget */
fc_err fc_trainer_teacher_targets(fc_trainer *t, int i, uint64_t seed); /* sample i's answer = a generation */
fc_err fc_trainer_validate(fc_trainer *t, fc_train_acc *acc);
fc_err fc_trainer_save_ckpt(fc_trainer *t, const char *path);
fc_err fc_trainer_save_state(fc_trainer *t, double elapsed);
uint64_t fc_trainer_seed_mix(uint64_t seed, uint64_t a, uint64_t b);

#endif
