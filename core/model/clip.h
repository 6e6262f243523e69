/* clip.h: the CLIP vision tower as LLaVA uses it (HF CLIPVisionTransformer + LlavaMultiModalProjector).
 *
 *   patches = conv2d(pixels (3, S, S), patch_embedding (C, 3, P, P), stride P, no bias)   (n = (S/P)^2 rows)
 *   x       = [class_embedding; patches] + position_embedding[0..n]                        (n+1, C)
 *   x       = pre_layrnorm(x); then layers 0..k-1, k = number of layers up to vision_feature_layer
 *             (-2 of 24: 23 layers; layer 23 and post_layernorm are not used)
 *   feats   = x[1:] for the "default" strategy (CLS dropped), x for "full"
 *   out     = projector(feats)                                                            (n or n+1, Ct)
 *
 * Weight names: vision_tower.vision_model.* and multi_modal_projector.* (the hub layout), or the
 * model.vision_tower.* / model.multi_modal_projector.* names newer transformers write.
 * The model borrows the checkpoint: keep the fc_st_model open until fc_clip_free.
 */
#ifndef FC_MODEL_CLIP_H
#define FC_MODEL_CLIP_H

#include <stdbool.h>

#include "core/base/err.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/model/projector.h"
#include "core/model/vit.h"
#include "core/tensor/tensor.h"

typedef struct {
    fc_vit_dims dims;
    int image_size, patch_size;   /* S, P */
    int grid;                     /* S / P */
    int n_layers_used;            /* layers applied (vision_feature_layer resolved) */
    bool drop_cls;                /* "default" strategy */
    fc_tensor patch_w;            /* (C, 3*P*P) view of the conv weight (C, 3, P, P) */
    fc_tensor class_emb;          /* (1, C) */
    fc_tensor pos_emb;            /* (grid^2 + 1, C) */
    fc_tensor pre_ln_w, pre_ln_b; /* (C) */
    fc_vit_layer *layers;         /* n_layers_used, owned array of views */
    fc_projector proj;
} fc_clip;

/* Builds the tower + projector of a LLaVA checkpoint `st` described by cfg (cfg->vision is the CLIP config;
 * vision_feature_layer must be an index into the L+1 hidden states, the strategy "default" or "full").
 * On success *out is owned by the caller (fc_clip_free). Errors name the checkpoint and the tensor or the
 * config field. */
fc_err fc_clip_load(fc_clip **out, const fc_st_model *st, const fc_model_config *cfg);
void fc_clip_free(fc_clip *m); /* accepts NULL */

/* Tokens per image (grid^2, +1 with the "full" strategy) and their width after the projector. */
int fc_clip_n_tokens(const fc_clip *m);
int fc_clip_out_dim(const fc_clip *m);

/* The selected hidden state, before the projector: pixels (3, S, S) f32 CPU -> feats (n_tokens, C).
 * feats is caller-allocated (may be a view into a larger buffer). */
fc_err fc_clip_encode_tower(const fc_clip *m, const fc_tensor *pixels, fc_tensor *feats);

/* The image embeddings LLaVA splices into the prompt: pixels (3, S, S) -> out (n_tokens, Ct), both f32 CPU;
 * out is caller-allocated. */
fc_err fc_clip_encode(const fc_clip *m, const fc_tensor *pixels, fc_tensor *out);

#endif
