/* distill.c: the distillation context, sample checks, loss names (see distill.h). */
#include "core/autograd/distill.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

static const char *const loss_names[] = {"kl", "fastcache"};
_Static_assert(sizeof loss_names / sizeof *loss_names == FC_DISTILL_LOSS_COUNT, "loss_names out of sync");

const char *fc_distill_loss_name(fc_distill_loss l) {
    return (unsigned)l < FC_DISTILL_LOSS_COUNT ? loss_names[l] : "?";
}

fc_err fc_distill_loss_from_name(const char *name, fc_distill_loss *out) {
    for (int i = 0; i < FC_DISTILL_LOSS_COUNT; i++)
        if (!strcmp(name, loss_names[i])) {
            *out = (fc_distill_loss)i;
            return FC_OK;
        }
    return fc_err_set(FC_EINVAL, "loss '%s' is not one of kl, fastcache", name);
}

fc_distill_opts fc_distill_default_opts(void) {
    return (fc_distill_opts){.loss = FC_DISTILL_LOSS_KL, .tau = 1.0f, .dropout = false, .position_rule = -1,
                             .grad_scale = 1.0f, .backward = true};
}
