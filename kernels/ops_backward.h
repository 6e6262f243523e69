/* ops_backward.h: the backward ops of kernels/ops.h that the distillation step needs, as one call each on
 * fc_tensors, plus the attention over a [prefix; new] cache whose backward reaches the prefix. Same
 * conventions as ops.h (shapes checked, errors name the op and the shapes, no allocation beyond per-thread
 * scratch). Tensors on CUDA go to kernels/backward_cuda.c (the backend library's kernels: activations in
 * f32, f16 or bf16, parameter gradients f32; the prefix attention f32).
 *
 * Rule: activation gradients are overwritten (or added to with `accumulate`); parameter gradients (dw, db)
 * are accumulated and may be NULL (the frozen decoder has none). Kernels: kernels/cpu/<op>_backward.c and
 * kernels/cpu/attention_prefix.c (declared in kernels/cpu/cpu_backward.h).
 */
#ifndef FC_OPS_BACKWARD_H
#define FC_OPS_BACKWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

/* Of fc_op_linear: dx (M, K) = dy (M, N) . w (N, K); dw (N, K, f32) += dy^T x; db (N, f32) += sum dy.
 * dx, dw, db may be NULL; x is needed only with dw. */
fc_err fc_op_linear_bwd(fc_tensor *dx, fc_tensor *dw, fc_tensor *db, const fc_tensor *dy, const fc_tensor *x,
                        const fc_tensor *w, bool accumulate);

/* Of fc_op_rmsnorm: dx (N, C) from dy, x and w; dw (C, f32) += ... (may be NULL). */
fc_err fc_op_rmsnorm_bwd(fc_tensor *dx, fc_tensor *dw, const fc_tensor *dy, const fc_tensor *x, const fc_tensor *w,
                         float eps, bool accumulate);

/* Of fc_op_rope, in place on d (T, nh, D): the gradient rotated back by each row's angles. */
fc_err fc_op_rope_bwd(fc_tensor *d, const int32_t *pos, float theta);

/* Of fc_op_silu_mul: dgate, dup (N, F) from dy and the forward inputs gate, up. */
fc_err fc_op_silu_mul_bwd(fc_tensor *dgate, fc_tensor *dup, const fc_tensor *dy, const fc_tensor *gate,
                          const fc_tensor *up);

/* Attention of T new queries over [prefix; own keys] (kernels/cpu/attention_prefix.c):
 * q (T, H, D); kp, vp (Hkv, P, D) head-major prefix (P may be 0: then kp, vp may have no data);
 * kn, vn (T, Hkv, D); out (T, H, D) or (T, H*D); lse (T, H) saved for the backward. Query t sees the whole
 * prefix and new keys 0..t. */
fc_err fc_op_attention_prefix(fc_tensor *out, fc_tensor *lse, const fc_tensor *q, const fc_tensor *kp,
                              const fc_tensor *vp, const fc_tensor *kn, const fc_tensor *vn, float scale);
/* Its backward: dq, dkn, dvn, dkp, dvp overwritten (shapes of q, kn, vn, kp, vp). */
fc_err fc_op_attention_prefix_bwd(fc_tensor *dq, fc_tensor *dkp, fc_tensor *dvp, fc_tensor *dkn, fc_tensor *dvn,
                                  const fc_tensor *dout, const fc_tensor *q, const fc_tensor *kp, const fc_tensor *vp,
                                  const fc_tensor *kn, const fc_tensor *vn, const fc_tensor *out,
                                  const fc_tensor *lse, float scale);

#endif
