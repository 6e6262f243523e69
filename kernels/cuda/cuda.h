/* cuda.h: the CUDA kernels behind kernels/ops.h, on raw device pointers, inside the backend library
 * (compiled only with nvcc; kernels/cuda/backend.cu puts them in the table of kernels/cuda/ops_table.h,
 * through which the dispatchers call them after checking shapes, dtypes and devices).
 *
 * Activations (adt) are f32, f16 or bf16, one dtype per call; every kernel computes in f32 registers and
 * accumulates in f32, storing in adt. Parameters (weights, biases, norm scales, tables) are f32, f16 or
 * bf16. Index arrays (ids, pos) are host memory: they are copied to a device scratch buffer per call.
 * Calls run on the default stream and do not synchronise; errors of a launch are reported by the call
 * (FC_ECUDA naming the call, file and line), asynchronous faults by the next synchronising call.
 */
#ifndef FC_KERNELS_CUDA_H
#define FC_KERNELS_CUDA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"
#include "kernels/ops.h"
#include "kernels/cuda/ops_table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y (M, N) = x (M, K) . w (N, K)^T + b via cublasGemmEx with f32 accumulation. x and y share adt.
 * w f16/bf16: x is used as is when adt == wdt, else converted to wdt in a device scratch buffer.
 * w f32: adt must be f32 (the dispatcher checks). */
fc_err fc_cuda_linear(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                      fc_dtype bdt, int64_t M, int64_t N, int64_t K);
fc_err fc_cuda_rmsnorm(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, int64_t N, int64_t C,
                       float eps);
/* w, b may be NULL (1 and 0). */
fc_err fc_cuda_layernorm(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                         fc_dtype bdt, int64_t N, int64_t C, float eps);
fc_err fc_cuda_act(void *y, const void *x, fc_dtype adt, int64_t n, fc_act act);
fc_err fc_cuda_silu_mul(void *y, const void *gate, const void *up, fc_dtype adt, int64_t n);
fc_err fc_cuda_add(void *y, const void *a, const void *b, fc_dtype adt, int64_t n);
/* ids: host array of T ids, already checked to lie in [0, V). */
fc_err fc_cuda_embedding(void *y, fc_dtype adt, const void *table, fc_dtype tdt, const int32_t *ids, int64_t T,
                         int64_t C);
/* pos: host array of T positions. */
fc_err fc_cuda_rope(void *x, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);
/* out (T, H, D); q (T, H, D); k, v (S, Hkv, D); causal as fc_cpu_attention. */
fc_err fc_cuda_attention(void *out, const void *q, const void *k, const void *v, fc_dtype adt, int64_t T,
                         int64_t S, int64_t H, int64_t Hkv, int64_t D, float scale, bool causal);

/* Paged decoder attention (kernels/ops.h fc_op_paged_attention) with q, out and both caches in adt. The
 * sequences' block tables are host memory: they are packed and uploaded to scratch slot 2 per call.
 * One block per (row, head); rows of q that no sequence owns are left untouched, as on the CPU. */
fc_err fc_cuda_paged_attention(void *out, const void *q, const void *k, const void *v, fc_dtype adt,
                               const fc_paged_seq *seqs, int n_seqs, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                               int64_t block_size, float scale);

/* paged_prefill.cu: one sequence of fc_cuda_paged_attention with at least FC_CUDA_PREFILL_MIN_Q new tokens,
 * through cuBLAS batched GEMMs (scratch slots 4-9). */
#define FC_CUDA_PREFILL_MIN_Q 64
fc_err fc_cuda_paged_prefill(void *out, const void *q, const void *k, const void *v, fc_dtype adt,
                             const fc_paged_seq *s, int64_t H, int64_t Hkv, int64_t D, int64_t bs, float scale);

/* The backward ops of kernels/ops_backward.h (rules of kernels/cpu/cpu_backward.h: activation gradients
 * overwritten or accumulated, parameter gradients dw, db f32 and always accumulated, each may be NULL).
 * Activations (dx, dy, x, gate, up) in adt. linear_bwd: both GEMMs through cublasGemmEx with f32
 * accumulation; half weights take dy converted to their dtype, as the forward takes x. */
fc_err fc_cuda_linear_bwd(void *dx, float *dw, float *db, const void *dy, const void *x, fc_dtype adt, const void *w,
                          fc_dtype wdt, int64_t M, int64_t N, int64_t K, bool accumulate);
fc_err fc_cuda_rmsnorm_bwd(void *dx, float *dw, const void *dy, const void *x, fc_dtype adt, const void *w,
                           fc_dtype wdt, int64_t N, int64_t C, float eps, bool accumulate);
fc_err fc_cuda_rope_bwd(void *d, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);
fc_err fc_cuda_silu_mul_bwd(void *dgate, void *dup, const void *dy, const void *gate, const void *up, fc_dtype adt,
                            int64_t n);
/* Attention over [prefix; new] and its backward, f32 (kernels/cpu/cpu_backward.h documents the layouts).
 * The backward recomputes the probabilities from lse; dk, dv of keys shared by several queries are summed
 * with atomicAdd (their order, hence the last bits, vary from run to run). */
fc_err fc_cuda_attention_prefix(float *out, float *lse, const float *q, const float *kp, const float *vp, int64_t P,
                                const float *kn, const float *vn, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                                float scale);
fc_err fc_cuda_attention_prefix_bwd(float *dq, float *dkp, float *dvp, float *dkn, float *dvn, const float *dout,
                                    const float *q, const float *kp, const float *vp, int64_t P, const float *kn,
                                    const float *vn, const float *out, const float *lse, int64_t T, int64_t H,
                                    int64_t Hkv, int64_t D, float scale);
/* KL distillation loss on f32 logits zt (teacher), zs (student), n rows of V: per row into host rows (n, 3)
 * = tau^2 KL(p || q) at tau, KL at tau 1, 1 when the argmaxes agree; dz (n, V, may be NULL) =
 * k_grad * tau * (q - p), the gradient of k_grad * the first figure. Row sums in double, as
 * core/autograd/distill_loss.c. */
fc_err fc_cuda_kl_loss(double *rows, float *dz, const float *zt, const float *zs, int64_t n, int64_t V, float tau,
                       float k_grad);
/* One AdamW step over n f32 parameters, element for element as train/optim.c (torch's rounding). */
fc_err fc_cuda_adamw(float *p, const float *g, float *m, float *v, int64_t n, const fc_cuda_adamw_hyper *h);
/* batch independent linears: y[b] (M, N) = x[b] (M, K) . w[b] (N, K)^T + bias[b] (N), through
 * cublasGemmStridedBatchedEx (the CCM's per-layer MLPs in one call). Dtype rules of fc_cuda_linear. */
fc_err fc_cuda_linear_batched(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                              fc_dtype bdt, int64_t batch, int64_t M, int64_t N, int64_t K);

/* Row t of src (T rows of row_bytes) to row rows[t] of cache (rows: host memory, uploaded to scratch slot
 * 1): the new tokens' K or V rows into their places in a paged pool. */
fc_err fc_cuda_kv_scatter(void *cache, const void *src, size_t row_bytes, const int32_t *rows, int64_t T);

/* A device buffer of at least `bytes` in slot 0..FC_CUDA_SCRATCH_SLOTS-1, grow-only, kept for the process
 * (freed by fc_cuda_scratch_release). Not thread-safe: CUDA ops are issued from one thread. */
#define FC_CUDA_SCRATCH_SLOTS 10
fc_err fc_cuda_scratch(int slot, size_t bytes, void **out);
void fc_cuda_scratch_release(void);
/* Host data (read before the call returns) into scratch `slot`, copied asynchronously in stream order:
 * the kernels queued before still see the slot's old contents, those queued after see the new ones. */
fc_err fc_cuda_upload(int slot, const void *host, size_t bytes, void **out);

#ifdef __cplusplus
}
#endif

#endif
