/* schedule.c: constant, plateau (torch's ReduceLROnPlateau) and warmup + cosine learning rates. */
#include "train/schedule.h"

#include <math.h>
#include <stddef.h>

const char *const fc_sched_names[] = {"plateau", "cosine", "constant", NULL};
_Static_assert(sizeof fc_sched_names / sizeof fc_sched_names[0] == FC_SCHED_COUNT + 1,
               "fc_sched_names out of sync with fc_sched_kind");

void fc_sched_init(fc_sched *s, fc_sched_kind kind, double lr, double min_lr, double factor, long patience,
                   long warmup, long total_steps) {
    *s = (fc_sched){.kind = kind, .base_lr = lr, .min_lr = min_lr, .factor = factor, .patience = patience,
                    .warmup = warmup, .total_steps = total_steps, .cur_lr = lr, .best = INFINITY, .num_bad = 0};
}

double fc_sched_lr(const fc_sched *s, long step) {
    switch (s->kind) {
    case FC_SCHED_PLATEAU: return s->cur_lr;
    case FC_SCHED_CONSTANT: return s->base_lr;
    case FC_SCHED_COSINE: {
        if (step < s->warmup) return s->base_lr * (double)(step + 1) / (double)s->warmup;
        long span = s->total_steps - s->warmup;
        if (span <= 0 || step >= s->total_steps) return s->min_lr;
        double frac = (double)(step - s->warmup) / (double)span;
        return s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * frac));
    }
    default: return s->base_lr;
    }
}

bool fc_sched_on_val(fc_sched *s, double val_loss) {
    if (s->kind != FC_SCHED_PLATEAU) return false;
    /* torch: is_better = a < best * (1 - threshold) in 'min' / 'rel' mode */
    if (val_loss < s->best * (1.0 - 1e-4)) {
        s->best = val_loss;
        s->num_bad = 0;
    } else {
        s->num_bad++;
    }
    if (s->num_bad > s->patience) {
        s->num_bad = 0;
        double new_lr = fmax(s->cur_lr * s->factor, s->min_lr);
        if (s->cur_lr - new_lr > 1e-8) {
            s->cur_lr = new_lr;
            return true;
        }
    }
    return false;
}
