/* optim.h: the optimizer of fc-train: AdamW over one flat parameter vector, and gradient clipping by global
 * norm. Both follow torch exactly (torch.optim.AdamW, single-tensor path; torch.nn.utils.clip_grad_norm_),
 * operation for operation in f32, so a run can be checked against torch on the same gradients
 * (tests/unit/test_train_optim.c against tests/fixtures/train/optim.safetensors).
 *
 * The compressor's parameters live in one allocation (core/autograd's flat params/grads), so the optimizer
 * needs no per-tensor bookkeeping: its moments are two vectors of the same length. With weight_decay 0,
 * AdamW is Adam, FastCache's optimizer (reference/fastcache-compressor-spec.md §6.4).
 *
 * Ownership: fc_adamw owns m and v; params and grads are the caller's. */
#ifndef FC_TRAIN_OPTIM_H
#define FC_TRAIN_OPTIM_H

#include <stddef.h>

#include "core/base/err.h"

typedef struct {
    double beta1, beta2, eps, weight_decay;
    size_t n;      /* parameters */
    long step;     /* optimizer steps taken (torch's state['step']) */
    float *m, *v;  /* (n) first and second moments (torch's exp_avg, exp_avg_sq) */
} fc_adamw;

/* Zeroed moments for n parameters. Fails with FC_ENOMEM or FC_EINVAL (betas outside [0, 1), eps <= 0,
 * negative decay); on failure *o is zeroed. Release with fc_adamw_free. */
fc_err fc_adamw_init(fc_adamw *o, size_t n, double beta1, double beta2, double eps, double weight_decay);
void fc_adamw_free(fc_adamw *o); /* accepts NULL and a zeroed one */

/* One step at learning rate lr: p *= 1 - lr*wd; m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g^2;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), t = the step after this one. */
void fc_adamw_step(fc_adamw *o, float *params, const float *grads, double lr);

/* The global L2 norm of grads (n) (computed in double), and, when max_norm > 0 and the norm exceeds it,
 * grads scaled by max_norm / (norm + 1e-6) as torch does. Returns the norm before clipping. */
double fc_grad_clip_norm(float *grads, size_t n, double max_norm);

#endif
