/* projector.h: LLaVA's multi-modal projector, linear_2(act(linear_1(x))) with act = gelu (erf) for
 * llava-1.5 (HF LlavaMultiModalProjector). Maps vision features (N, Cv) to text embeddings (N, Ct).
 *
 * Weights are views into the checkpoint, which must outlive the projector.
 */
#ifndef FC_MODEL_PROJECTOR_H
#define FC_MODEL_PROJECTOR_H

#include <stdbool.h>

#include "core/base/err.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/tensor/tensor.h"

typedef struct {
    int in_dim;                  /* Cv */
    int out_dim;                 /* Ct */
    fc_act act;
    fc_tensor w1, b1;            /* (Ct, Cv), (Ct) or empty without bias */
    fc_tensor w2, b2;            /* (Ct, Ct), (Ct) or empty */
    bool has_bias;
} fc_projector;

/* Reads `prefix`linear_1.{weight,bias} and linear_2.*, checked against cfg (vision.hidden_size,
 * text.hidden_size, projector_bias, projector_act). The prefix is "multi_modal_projector." or
 * "model.multi_modal_projector.". Errors name the checkpoint and the tensor. */
fc_err fc_projector_load(fc_projector *p, const fc_st_model *st, const char *prefix, const fc_model_config *cfg);

/* --precision bf16: packs w1 and w2 (kernels/wpack.h); release frees the packs (accepts a zeroed one). */
fc_err fc_projector_pack(fc_projector *p);
void fc_projector_release(fc_projector *p);

/* out (N, Ct) = projector(x (N, Cv)); both f32 CPU. FC_ESHAPE names the mismatch. */
fc_err fc_projector_fwd(const fc_projector *p, const fc_tensor *x, fc_tensor *out);

#endif
