/* ccm_train.h: a trainable CCM compressor (FastCache's window MLPs, core/compress/ccm.h): parameters and
 * gradients, each in ONE flat f32 allocation, with a table of named tensor views into them, llm.c style.
 *
 * Tensor names, shapes and order are those of the CCM checkpoint format (ccm.h):
 *   ccm.layers.{l}.{ik,iv,tk,tv}.{j}.weight  [out, in]  (PyTorch Linear layout, y = x W^T + b)
 *   ccm.layers.{l}.{ik,iv,tk,tv}.{j}.bias    [out]
 * for l = 0..n_layers-1, kinds ik, iv, tk, tv (ik/iv only when has_image), j = 0..depth-1; Linear j maps
 * cf*D -> hidden (j = 0), hidden -> hidden, hidden -> D (j = depth-1). The views list them in that order
 * (layer, kind, j, weight then bias), and param i of grads sits at the same offset as in params.
 *
 * Dropout: probability `dropout` after every hidden ReLU (FastCache: 0.4), used only when a step asks for
 * it. Its masks come from an explicit RNG state (splitmix64: 64 bits of state, get/set
 * for resume): the same state gives the same masks, whatever the thread count.
 *
 * Init (fc_ccm_train_create): torch.nn.Linear's default, weight ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform
 * with a = sqrt(5) reduces to that bound) and bias ~ U(-1/sqrt(in), 1/sqrt(in)), drawn from our own seeded
 * generator (not torch's Mersenne Twister stream: the same seed gives the same weights here, not in torch).
 *
 * Ownership: the struct owns params, grads and views. Not thread-safe.
 */
#ifndef FC_AUTOGRAD_CCM_TRAIN_H
#define FC_AUTOGRAD_CCM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/compress/ccm.h"

/* One named tensor inside params / grads. */
typedef struct {
    char name[64];     /* "ccm.layers.3.tk.0.weight" */
    int ndim;          /* 2 (weight) or 1 (bias) */
    int64_t shape[2];  /* [out, in] or [out] */
    size_t offset;     /* in floats, from params (and from grads) */
    size_t numel;
} fc_ccm_param;

typedef struct {
    fc_ccm_config cfg;
    float dropout;          /* p of the hidden dropouts in training steps, [0, 1) */
    float *params;          /* (n_params) every weight and bias, f32 */
    float *grads;           /* (n_params) d loss / d params, accumulated by fc_distill_step */
    size_t n_params;
    fc_ccm_param *tensors;  /* (n_tensors) in checkpoint order */
    int n_tensors;
    /* index into tensors of Linear j of MLP (layer, kind): w_idx[(layer * FC_CCM_KIND_COUNT + kind) * depth + j],
     * bias at w_idx + 1; -1 for the absent ik/iv of a has_image = 0 compressor */
    int *w_idx;
    uint64_t rng;           /* dropout RNG state */
} fc_ccm_train;

/* A fresh compressor for cfg (validated: sizes > 0, segment_rule "whole" when has_image is 0), weights
 * from the torch-like init above drawn with `seed`; grads zero; dropout RNG seeded from `seed` too.
 * Errors: FC_EINVAL naming the bad field; FC_ENOMEM. */
fc_err fc_ccm_train_create(const fc_ccm_config *cfg, float dropout, uint64_t seed, fc_ccm_train **out);

/* Loads a CCM checkpoint (the format of ccm.h, any of F32/F16/BF16, as fc_ccm_load validates it) for
 * further training. dropout: the file's "dropout" metadata when present, else `default_dropout`.
 * The RNG is seeded with `seed` (a resume sets the saved state with fc_ccm_train_set_rng). */
fc_err fc_ccm_train_load(const char *path, float default_dropout, uint64_t seed, fc_ccm_train **out);

void fc_ccm_train_free(fc_ccm_train *c); /* accepts NULL */

/* Writes the checkpoint (F32 tensors, ccm.h metadata: format, format_version, family, n_layers, head_dim,
 * cf, hidden, depth, min_windows, has_image, segment_rule, position_rule, dropout) plus the caller's
 * extra metadata pairs meta[2*i] = key, meta[2*i+1] = value (i < n_meta; a key given here overrides the
 * built-in one, e.g. position_rule). Atomic: a temporary file, fsync, rename (core/io/safetensors_write.c);
 * on failure `path` is untouched. */
fc_err fc_ccm_train_save(const fc_ccm_train *c, const char *path, const char *const *meta, int n_meta);

/* Writes the gradients (grads, F32) under the parameters' names, with the same metadata as a checkpoint
 * plus the caller's pairs (fc-train grad's output, compared with torch by the tests). Atomic as above. */
fc_err fc_ccm_train_save_grads(const fc_ccm_train *c, const char *path, const char *const *meta, int n_meta);

void fc_ccm_train_zero_grad(fc_ccm_train *c);

/* The view named `name`, or NULL. */
const fc_ccm_param *fc_ccm_train_find(const fc_ccm_train *c, const char *name);

/* Dropout RNG state, for checkpoints that resume exactly. */
uint64_t fc_ccm_train_get_rng(const fc_ccm_train *c);
void fc_ccm_train_set_rng(fc_ccm_train *c, uint64_t state);

/* Pointers to the weight (out, in) and bias (out) of Linear j of MLP (layer, kind) in params (grad = 0)
 * or grads (grad = 1); NULL when that MLP is absent. */
float *fc_ccm_train_weight(const fc_ccm_train *c, int layer, fc_ccm_kind kind, int j, int grad);
float *fc_ccm_train_bias(const fc_ccm_train *c, int layer, fc_ccm_kind kind, int j, int grad);

#endif
