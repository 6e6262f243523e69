/* siglip.h: MiniCPM-V-2.6's SigLIP vision encoder in its NaViT form ("vpm", modeling_navit_siglip.py; the
 * same weights and math as transformers' Idefics2VisionTransformer apart from the position ids).
 *
 *   x   = conv2d(pixels (3, h*P, w*P), patch_embedding (C, 3, P, P), stride P) + bias     (h*w, C), row-major
 *   x  += position_embedding[bucket(r; h) * nps + bucket(c; w)]      nps = image_size / P (70 for 980/14)
 *   x   = layers 0..L-1 (0..L-2 when drop_vision_last_layer), then post_layernorm          (h*w, C)
 *
 * Each slice is encoded on its own (HF pads a batch and masks the keys, which computes the same thing).
 * The model borrows the checkpoint: keep the fc_st_model open until fc_navit_free.
 */
#ifndef FC_MODEL_SIGLIP_H
#define FC_MODEL_SIGLIP_H

#include <stdint.h>

#include "core/base/err.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/model/vit.h"
#include "core/tensor/tensor.h"

/* Largest patch grid side fc_navit_bucket accepts; far above any MiniCPM-V slice (<= ~100 patches). */
#define FC_NAVIT_MAX_SIDE 4096

typedef struct {
    fc_vit_dims dims;
    int patch_size;               /* P */
    int nps;                      /* position buckets per side, image_size / P */
    int n_layers_used;
    fc_tensor patch_w, patch_b;   /* (C, 3*P*P) view of (C, 3, P, P); (C) */
    fc_tensor pos_emb;            /* (nps^2, C) */
    fc_tensor post_ln_w, post_ln_b;
    fc_vit_layer *layers;         /* n_layers_used, owned array of views */
} fc_navit;

/* Position buckets of a side of n patches against nps buckets: out[i] for i < n, each in [0, nps).
 * Reproduces MiniCPM-V-2.6's float32 torch computation bit for bit,
 *     bucketize(arange(0, 1 - 1e-6, 1/n), arange(1/nps, 1.0, 1/nps), right=True)
 * with 1/n a float32 (n is an int tensor there) and torch's CPU arange (double accumulate, float store,
 * 8-lane vector blocks); it differs from floor(nps*i/n) for some n (25, 49, 50, 55, 58, 77, ... for nps 70),
 * and from transformers >= 4.5x's Idefics2VisionEmbeddings, which now computes arange(n)/n*(1-1e-6) (that
 * differs even at n = 2). tests/fixtures/vision/buckets.safetensors holds torch's table for the check.
 * FC_EINVAL unless 1 <= n <= FC_NAVIT_MAX_SIDE and 1 <= nps <= FC_NAVIT_MAX_SIDE. */
fc_err fc_navit_bucket(int n, int nps, int32_t *out);

/* Builds the encoder from the vpm.* tensors of `st` described by cfg->vision (and drop_vision_last_layer).
 * *out is owned by the caller (fc_navit_free). Errors name the checkpoint and tensor or config field. */
fc_err fc_navit_load(fc_navit **out, const fc_st_model *st, const fc_model_config *cfg);
void fc_navit_free(fc_navit *m); /* accepts NULL */

/* pixels (3, h*P, w*P) f32 CPU -> out (h*w, C) f32 CPU, caller-allocated. h, w: the slice's patch grid
 * (tgt_size), each 1..FC_NAVIT_MAX_SIDE. */
fc_err fc_navit_encode(const fc_navit *m, const fc_tensor *pixels, int h, int w, fc_tensor *out);

#endif
