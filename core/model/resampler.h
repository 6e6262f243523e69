/* resampler.h: MiniCPM-V-2.6's perceiver resampler (resampler.py), one slice at a time: Q learned queries
 * attend once to the slice's n = h*w SigLIP features and come out as Q rows of LLM width.
 *
 *   kv  = LN_kv(x (n, Cv) . kv_proj^T)                      (n, D)       no bias
 *   K   = (kv + sincos2d(h, w)) . Wk^T + bk;  V = kv . Wv^T + bv          only the keys get positions
 *   Q   = LN_q(query (Q, D)) . Wq^T + bq                                  in_proj rows [0,D) [D,2D) [2D,3D)
 *   out = LN_post(MHA(Q, K, V) . out_proj^T + b) . proj     (Q, D)       heads = D / 128, proj right-multiplied
 *
 * sincos2d: for the patch at (r, c), with D4 = D/4 and omega_k = 1 / 10000^(k / D4) in float32:
 *   [sin(c*omega), cos(c*omega), sin(r*omega), cos(r*omega)]   (the column half first, as numpy's meshgrid
 *   puts grid_w first in get_2d_sincos_pos_embed).
 * The resampler borrows the checkpoint except for proj, which it keeps transposed in an owned copy.
 */
#ifndef FC_MODEL_RESAMPLER_H
#define FC_MODEL_RESAMPLER_H

#include <stdint.h>

#include "core/base/err.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/tensor/tensor.h"

#define FC_RESAMPLER_HEAD_DIM 128 /* MiniCPM-V: num_heads = embed_dim // 128 */

typedef struct {
    int D;                        /* embed_dim = LLM hidden size */
    int kv_dim;                   /* Cv, the vision width */
    int n_queries;                /* Q = query_num */
    int n_heads;                  /* D / 128 */
    float eps;                    /* 1e-6 */
    fc_tensor query;              /* (Q, D) */
    fc_tensor kv_proj;            /* (D, Cv) */
    fc_tensor wq, wk, wv;         /* (D, D) views of in_proj_weight's row blocks */
    fc_tensor bq, bk, bv;         /* (D) views of in_proj_bias */
    fc_tensor out_w, out_b;       /* (D, D), (D) */
    fc_tensor ln_q_w, ln_q_b, ln_kv_w, ln_kv_b, ln_post_w, ln_post_b; /* (D) */
    fc_tensor proj_t;             /* (D, D) owned: resampler.proj transposed, so x @ proj = linear(x, proj_t) */
} fc_resampler;

/* Reads resampler.* from `st` with D = cfg->text.hidden_size, Cv = cfg->vision.hidden_size, Q = cfg->query_num.
 * *out is owned by the caller (fc_resampler_free). Errors name the checkpoint and the tensor. */
fc_err fc_resampler_load(fc_resampler **out, const fc_st_model *st, const fc_model_config *cfg);
void fc_resampler_free(fc_resampler *r); /* accepts NULL */

/* pos (h*w, D) f32 = the 2-D sin-cos table above, row r*w + c. D must be a multiple of 4. Fails only
 * with FC_ENOMEM. */
fc_err fc_resampler_sincos(float *pos, int h, int w, int D);

/* x (h*w, Cv) f32 CPU (a slice's fc_navit_encode output) -> out (Q, D) f32 CPU, caller-allocated. */
fc_err fc_resampler_encode(const fc_resampler *r, const fc_tensor *x, int h, int w, fc_tensor *out);

#endif
