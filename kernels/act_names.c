/* act_names.c: the activation enum's names and the Hugging Face spellings that map onto it.
 *
 * HF picks an activation by name through transformers/activations.py (ACT2CLS). We accept a name only
 * when HF's function for it is the same formula as ours, so that a config never silently runs a
 * different curve:
 *   silu, swish                        -> x * sigmoid(x)                        (SiLUActivation, nn.SiLU)
 *   gelu, gelu_python                  -> 0.5 x (1 + erf(x / sqrt 2))           (GELUActivation)
 *   gelu_pytorch_tanh, gelu_new,
 *   gelu_python_tanh                   -> 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
 *                                         (GELUTanh, NewGELUActivation: the same formula)
 *   quick_gelu                         -> x * sigmoid(1.702 x)                  (QuickGELUActivation)
 *   relu                               -> max(x, 0)                             (nn.ReLU)
 * Not accepted: gelu_fast (truncated constant 0.7978845608), gelu_10 (clipped), gelu_accurate and the
 * rest, which are different functions.
 */
#include <assert.h>
#include <string.h>

#include "kernels/ops.h"

static const char *const act_names[] = {
    [FC_ACT_SILU] = "silu",
    [FC_ACT_GELU] = "gelu",
    [FC_ACT_GELU_TANH] = "gelu_pytorch_tanh",
    [FC_ACT_QUICK_GELU] = "quick_gelu",
    [FC_ACT_RELU] = "relu",
};
static_assert(sizeof(act_names) / sizeof(act_names[0]) == FC_ACT_COUNT, "act_names out of sync with fc_act");

static const struct {
    const char *name;
    fc_act act;
} act_aliases[] = {
    {"swish", FC_ACT_SILU},
    {"gelu_python", FC_ACT_GELU},
    {"gelu_new", FC_ACT_GELU_TANH},
    {"gelu_python_tanh", FC_ACT_GELU_TANH},
};

/* The canonical (HF) name; "?" for a value outside the enum. */
const char *fc_act_name(fc_act a) {
    if ((unsigned)a >= FC_ACT_COUNT) return "?";
    return act_names[a];
}

/* Maps an HF activation name onto fc_act. Unknown names (or NULL) are FC_EUNSUPPORTED with a message
 * naming the name; *out is untouched then. */
fc_err fc_act_from_name(const char *name, fc_act *out) {
    if (!name) return fc_err_set(FC_EINVAL, "activation name is missing");
    for (int i = 0; i < FC_ACT_COUNT; i++)
        if (!strcmp(name, act_names[i])) {
            *out = (fc_act)i;
            return FC_OK;
        }
    for (size_t i = 0; i < sizeof act_aliases / sizeof act_aliases[0]; i++)
        if (!strcmp(name, act_aliases[i].name)) {
            *out = act_aliases[i].act;
            return FC_OK;
        }
    return fc_err_set(FC_EUNSUPPORTED,
                      "unknown activation '%.64s' (supported: silu, swish, gelu, gelu_python, gelu_pytorch_tanh, "
                      "gelu_new, gelu_python_tanh, quick_gelu, relu)",
                      name);
}
