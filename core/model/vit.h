/* vit.h: what the two vision towers (CLIP for LLaVA, SigLIP/NaViT for MiniCPM-V) share: weight lookup with
 * shape checks, stride-P patchification, and the pre-LN encoder layer
 *     h = x + out_proj(MHA(LN1(x))),  out = h + fc2(act(fc1(LN2(h))))
 * with biases on q/k/v/out/fc1/fc2 and no mask (one image or slice at a time), as HF's CLIPEncoderLayer and
 * Idefics2EncoderLayer / MiniCPM-V's SiglipEncoderLayer compute it.
 *
 * Weights are non-owning views into a checkpoint (fc_st_model): the checkpoint must stay open as long as
 * any model built from it. Activations are f32 on the CPU; weights keep the checkpoint's dtype (f32, f16,
 * bf16) and the ops convert them as they read them.
 */
#ifndef FC_MODEL_VIT_H
#define FC_MODEL_VIT_H

#include <stdint.h>

#include "core/base/err.h"
#include "core/io/safetensors.h"
#include "core/tensor/tensor.h"
#include "kernels/ops.h"

/* Sizes of one encoder layer. */
typedef struct {
    int C;        /* hidden size */
    int H;        /* heads */
    int D;        /* head dim, C / H */
    int F;        /* MLP width */
    float eps;    /* LayerNorm eps */
    fc_act act;   /* MLP activation */
} fc_vit_dims;

/* One layer's weights, views into the checkpoint. Linear weights [out, in], the rest vectors. */
typedef struct {
    fc_tensor ln1_w, ln1_b;            /* (C) */
    fc_tensor q_w, k_w, v_w, o_w;      /* (C, C) */
    fc_tensor q_b, k_b, v_b, o_b;      /* (C) */
    fc_tensor ln2_w, ln2_b;            /* (C) */
    fc_tensor fc1_w, fc1_b;            /* (F, C), (F) */
    fc_tensor fc2_w, fc2_b;            /* (C, F), (C) */
} fc_vit_layer;

/* Activation buffers of a T-token forward, owned; create/free pair. */
typedef struct {
    int64_t T;
    fc_tensor h, q, k, v, attn;        /* (T, C) */
    fc_tensor mlp;                     /* (T, F) */
} fc_vit_scratch;

/* *out = a view of the tensor `prefix``name` whose shape must be exactly shape[0..ndim) (fc_weights_get):
 * FC_ENOTFOUND if absent, FC_ESHAPE on a shape mismatch, FC_EUNSUPPORTED for a non-float dtype; the
 * message names the checkpoint and the tensor. */
fc_err fc_vit_get_weight(fc_tensor *out, const fc_st_model *st, const char *prefix, const char *name, int ndim,
                         const int64_t *shape);

/* Finds which of the candidate prefixes (NULL-terminated list) holds `probe` (e.g.
 * "embeddings.patch_embedding.weight") and returns it, or NULL with FC_ENOTFOUND set naming them all. */
const char *fc_vit_find_prefix(const fc_st_model *st, const char *const *prefixes, const char *probe);

/* Loads layer weights named `prefix`layer_norm1.weight, self_attn.q_proj.weight, mlp.fc1.weight, ... with
 * the shapes of d. On failure *l is unspecified (it holds only views, nothing to free). */
fc_err fc_vit_layer_load(fc_vit_layer *l, const fc_st_model *st, const char *prefix, const fc_vit_dims *d);

/* --precision bf16: packs the layer's four attention and two MLP weights for the GEMM kernels
 * (kernels/wpack.h; nothing with f32). fc_vit_layer_release frees the packs (accepts a zeroed layer). */
fc_err fc_vit_layer_pack(fc_vit_layer *l);
void fc_vit_layer_release(fc_vit_layer *l);

/* Allocates the buffers of a T-token forward (f32, CPU). FC_ENOMEM names the token count; on failure
 * nothing stays allocated and fc_vit_scratch_free accepts *s. */
fc_err fc_vit_scratch_create(fc_vit_scratch *s, int64_t T, const fc_vit_dims *d);
void fc_vit_scratch_free(fc_vit_scratch *s); /* accepts NULL and a zeroed or failed scratch */

/* x (T, C) f32 is replaced by the layer's output; s must have been created for the same T. */
fc_err fc_vit_layer_fwd(const fc_vit_layer *l, const fc_vit_dims *d, fc_tensor *x, fc_vit_scratch *s);

/* Stride-P patches of pixels (3, Hpx, Wpx) f32 CPU into out (h*w, 3*P*P) f32, patch r*w + c, each vector in
 * the (channel, ky, kx) order of a Conv2d weight [C, 3, P, P], so that conv2d(stride P) == out . W^T.
 * FC_ESHAPE unless pixels is (3, h*P, w*P) and out is (h*w, 3*P*P). */
fc_err fc_vit_patchify(fc_tensor *out, const fc_tensor *pixels, int P, int h, int w);

/* Checks that t is a CPU f32 tensor with the given dims (entries < 0 accept any); `what` names it. */
fc_err fc_vit_check_act(const fc_tensor *t, const char *what, int ndim, const int64_t *shape);

#endif
