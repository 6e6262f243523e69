/* cpu_backward.h: the CPU backward kernels (and the one forward they pair with, attention over a
 * [prefix; new] cache), on raw pointers, for the distillation step (core/autograd/distill.h). The
 * dispatchers in kernels/backward.c check shapes and devices first (kernels/ops_backward.h).
 *
 * Rule (llm.c's): gradients of activations are overwritten unless a flag says accumulate; gradients of
 * parameters (dw, db) are always accumulated (+=), so micro-batches add up. A parameter gradient pointer
 * may be NULL: the frozen decoder gets none.
 */
#ifndef FC_KERNELS_CPU_BACKWARD_H
#define FC_KERNELS_CPU_BACKWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"

/* linear_backward.c. Forward y (M, N) = x (M, K) . w (N, K)^T + b.
 * dx (M, K) = dy . w (overwritten, or added to when accumulate); dw (N, K) += dy^T . x (f32 w only);
 * db (N) += column sums of dy. dx, dw, db may each be NULL. w may be f32, f16 or bf16 (converted in
 * slices into per-thread scratch). Fails only if scratch memory runs out. */
fc_err fc_cpu_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const void *w,
                         fc_dtype wdt, int64_t M, int64_t N, int64_t K, bool accumulate);

/* rmsnorm_backward.c. Forward y = w * x * r, r = 1 / sqrt(mean(x^2) + eps) per row of C.
 * dx (N, C) overwritten (or accumulated); dw (C) += sum over rows of dy * x * r (may be NULL). */
void fc_cpu_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const void *w, fc_dtype wdt,
                        int64_t N, int64_t C, float eps, bool accumulate);

/* rope.c, beside the forward. The transpose of fc_cpu_rope (a rotation by -angle), in place on d (T, nh, D), with the
 * same f32 angles as the forward. */
void fc_cpu_rope_bwd(float *d, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);

/* silu_mul_backward.c. Forward y = silu(gate) * up. dgate, dup (n) overwritten; may alias dy. */
void fc_cpu_silu_mul_bwd(float *dgate, float *dup, const float *dy, const float *gate, const float *up, int64_t n);

/* silu_mul_backward.c (with the elementwise ones below). dx (n) = dy where y > 0, else 0 (y: the forward output); dx may alias dy. */
void fc_cpu_relu_bwd(float *dx, const float *dy, const float *y, int64_t n);

/* dropout: forward y = x * keep / (1 - p) with keep[i] in {0, 1}; backward dx = dy * keep / (1 - p).
 * y may alias x, dx may alias dy. The masks are drawn by the caller (explicit RNG state). */
void fc_cpu_dropout_fwd(float *y, const float *x, const uint8_t *keep, float p, int64_t n);
void fc_cpu_dropout_bwd(float *dx, const float *dy, const uint8_t *keep, float p, int64_t n);

/* attention_prefix.c. Causal GQA attention of T new queries over a constant-layout prefix and their own keys:
 *   q (T, H, D) post-RoPE; prefix kp, vp (Hkv, P, D) (a compressed cache, head-major); new kn, vn (T, Hkv, D).
 *   Query t sees all P prefix entries and new keys 0..t; query head h reads kv head h / (H / Hkv).
 *   out (T, H, D) = softmax(q k^T * scale) v; lse (T, H) = log-sum-exp of each score row (saved for the
 *   backward, which recomputes the probabilities instead of storing (H, T, P + T) of them).
 * Softmax in f32 with a double-free max/exp/sum as attention.c. P may be 0. */
fc_err fc_cpu_attention_prefix_fwd(float *out, float *lse, const float *q, const float *kp, const float *vp,
                                   int64_t P, const float *kn, const float *vn, int64_t T, int64_t H, int64_t Hkv,
                                   int64_t D, float scale);
/* Backward: dq (T, H, D), dkn, dvn (T, Hkv, D) overwritten; dkp, dvp (Hkv, P, D) overwritten (the grads
 * that flow into the compressed cache; either may be NULL when P = 0). out and lse from the forward. */
fc_err fc_cpu_attention_prefix_bwd(float *dq, float *dkp, float *dvp, float *dkn, float *dvn, const float *dout,
                                   const float *q, const float *kp, const float *vp, int64_t P, const float *kn,
                                   const float *vn, const float *out, const float *lse, int64_t T, int64_t H,
                                   int64_t Hkv, int64_t D, float scale);

#endif
