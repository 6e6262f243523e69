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

/* A device buffer of at least `bytes` in slot 0..FC_CUDA_SCRATCH_SLOTS-1, grow-only, kept for the process
 * (freed by fc_cuda_scratch_release). Not thread-safe: CUDA ops are issued from one thread. */
#define FC_CUDA_SCRATCH_SLOTS 2
fc_err fc_cuda_scratch(int slot, size_t bytes, void **out);
void fc_cuda_scratch_release(void);

#ifdef __cplusplus
}
#endif

#endif
