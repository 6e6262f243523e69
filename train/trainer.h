/* trainer.h: `fc-train llava|minicpm`: the distillation run of the CCM compressors.
 *
 * A run: read the conversations (data/dataset.h), hold out the validation samples by id (train/split.h),
 * load the frozen VLM, make the compressor (a seeded torch-like init or --init CKPT), then repeat optimizer
 * steps: batch x accum samples, each through the teacher (full cache) and the student (compressed cache)
 * with the loss's gradient accumulated into the compressor (core/autograd/distill.h), weighted so the step
 * minimises the mean over all its supervised tokens; gradient clipping by global norm, the schedule's lr,
 * AdamW. Validation (dropout off) runs before the first step (the untrained compressor's figures), every
 * val_every steps or at each epoch's end, and after the last step.
 *
 * Outputs, next to --out X.safetensors (the best checkpoint, by validation KL):
 *   X.last.safetensors         the compressor after the most recent save (every save_every steps, at each
 *                              validation, at the end)
 *   X.last.state.safetensors   everything --resume needs (train/run_state.h)
 *   X.steps.csv, X.val.csv     one row per optimizer step / per validation
 * Checkpoints carry the CCM format's metadata (core/compress/ccm.h) plus family, ratio, loss, tau, targets,
 * data, model, seed, step, epoch, val_loss, val_kl, val_top1, train_ids and val_ids (JSON arrays of the
 * sample ids, so fc-eval can refuse to evaluate on training samples).
 *
 * Determinism: with the same options and thread count a run is reproducible, and a resumed run repeats the
 * per-step losses of an uninterrupted one: the epoch orders and the teacher's sampling seeds derive from
 * (seed, epoch, sample), the dropout RNG and the optimizer and schedule state are saved. */
#ifndef FC_TRAIN_TRAINER_H
#define FC_TRAIN_TRAINER_H

#include "core/base/err.h"
#include "train/train_config.h"

/* family: "llava" or "minicpm" (the model folder must be that kind). Prints progress on stderr and the
 * summary on stdout. */
fc_err fc_trainer_run(const fc_train_config *cfg, const char *family);

#endif
