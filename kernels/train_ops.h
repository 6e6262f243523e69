/* train_ops.h: the training ops that have a CUDA twin but no op of their own on the CPU (there they are
 * plain loops inside the trainer), and the batched linear of the CCM's per-layer MLPs.
 *
 *   fc_op_kl_loss      the GPU twin of the kl loss of core/autograd/distill_loss.c (fc_ag_logit_loss with
 *                      FC_DISTILL_LOSS_KL), on logits in device memory; CUDA tensors only.
 *   fc_op_adamw        the GPU twin of train/optim.c's fc_adamw_step on device vectors; CUDA tensors only.
 *   fc_op_linear_batched  B independent linears in one call: the CPU runs them one after another, CUDA as
 *                      one cublasGemmStridedBatchedEx.
 *   fc_op_kv_scatter   new K/V rows into a paged cache (what a device-resident decode step needs).
 * Conventions of kernels/ops.h (checks name the op and the shapes; no allocation beyond grow-only scratch).
 */
#ifndef FC_TRAIN_OPS_H
#define FC_TRAIN_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

/* The figures of fc_op_kl_loss, means over the rows (as fc_ag_loss_out's loss, kl, top1). */
typedef struct {
    double loss; /* tau^2 KL(p || q) at tau */
    double kl;   /* KL(p || q) at tau = 1 */
    double top1; /* share of rows whose argmaxes agree */
} fc_kl_figures;

/* zt (teacher), zs (student): (n, V) f32 logits on CUDA. dzs (n, V) f32 or NULL: scale * d(mean loss)/d(zs)
 * = scale / n * tau (q - p) per row. Rows summed in row order on the host. */
fc_err fc_op_kl_loss(fc_kl_figures *out, fc_tensor *dzs, const fc_tensor *zt, const fc_tensor *zs, float tau,
                     float scale);

/* One AdamW step on f32 device vectors of one length: params, grads, and the moments m, v. step is the
 * step after this one (1 for the first), hyperparameters as fc_adamw_init (train/optim.h). */
fc_err fc_op_adamw(fc_tensor *params, const fc_tensor *grads, fc_tensor *m, fc_tensor *v, long step, double lr,
                   double beta1, double beta2, double eps, double weight_decay);

/* y (B, M, N) = x (B, M, K) . w (B, N, K)^T + b (B, N) per entry; b may be NULL. Dtypes as fc_op_linear. */
fc_err fc_op_linear_batched(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b);

/* Row t of src (T, ...) into row rows[t] of cache (n_rows, ...), the trailing dims and dtype equal: the new
 * tokens' K or V into a paged pool laid out (n_blocks * block_size, Hkv, D). rows: host memory, each in
 * [0, n_rows) (checked). CPU: memcpy per row; CUDA: one launch. */
fc_err fc_op_kv_scatter(fc_tensor *cache, const fc_tensor *src, const int32_t *rows);

#endif
