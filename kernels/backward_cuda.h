/* backward_cuda.h: the CUDA branches of the backward ops of kernels/ops_backward.h. kernels/backward.c
 * hands a call over here when any of its tensors is on CUDA (fc_bwd_any_cuda); these check that every
 * tensor is on CUDA, the dtypes and the shapes, then call the backend library's kernels
 * (kernels/cuda/cuda.h) through the ops table. Same arguments and rules as the fc_op_*_bwd they serve.
 * Dtypes on CUDA: activations and activation gradients share one of f32, f16, bf16; parameter gradients
 * (dw, db) are f32; the attention over [prefix; new] is f32 throughout, as on the CPU. */
#ifndef FC_BACKWARD_CUDA_H
#define FC_BACKWARD_CUDA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

/* True when a non-NULL tensor of ts lives on CUDA. */
bool fc_bwd_any_cuda(int n, const fc_tensor *const *ts);

fc_err fc_cuda_op_linear_bwd(fc_tensor *dx, fc_tensor *dw, fc_tensor *db, const fc_tensor *dy, const fc_tensor *x,
                             const fc_tensor *w, bool accumulate);
fc_err fc_cuda_op_rmsnorm_bwd(fc_tensor *dx, fc_tensor *dw, const fc_tensor *dy, const fc_tensor *x,
                              const fc_tensor *w, float eps, bool accumulate);
fc_err fc_cuda_op_rope_bwd(fc_tensor *d, const int32_t *pos, float theta);
fc_err fc_cuda_op_silu_mul_bwd(fc_tensor *dgate, fc_tensor *dup, const fc_tensor *dy, const fc_tensor *gate,
                               const fc_tensor *up);
fc_err fc_cuda_op_attention_prefix(fc_tensor *out, fc_tensor *lse, const fc_tensor *q, const fc_tensor *kp,
                                   const fc_tensor *vp, const fc_tensor *kn, const fc_tensor *vn, float scale);
fc_err fc_cuda_op_attention_prefix_bwd(fc_tensor *dq, fc_tensor *dkp, fc_tensor *dvp, fc_tensor *dkn, fc_tensor *dvn,
                                       const fc_tensor *dout, const fc_tensor *q, const fc_tensor *kp,
                                       const fc_tensor *vp, const fc_tensor *kn, const fc_tensor *vn,
                                       const fc_tensor *out, const fc_tensor *lse, float scale);

#endif
