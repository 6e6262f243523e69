/* cpu.h: the CPU kernels behind kernels/ops.h, on raw pointers. The dispatchers in kernels/<op>.c have
 * already checked shapes, dtypes and devices, so these trust their arguments.
 *
 * Activations are f32, row-major and contiguous. Parameters (weights, biases, norm scales, embedding
 * tables) may be f32, f16 or bf16 and are converted to f32 as they are read: the checkpoint's dtype is
 * never copied wholesale. All parallelism is OpenMP; OpenBLAS runs single-threaded inside OpenMP
 * regions (fc_cpu_blas_init), so two thread pools never compete for the cores.
 */
#ifndef FC_KERNELS_CPU_H
#define FC_KERNELS_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"
#include "kernels/ops.h"

/* ---- vec.c: conversion and dot products, AVX2/F16C/FMA when compiled for it, portable C otherwise ---- */

/* dst (n) = src (n, dtype dt) as f32; exact (f16/bf16 -> f32 loses nothing). dt: F32, F16 or BF16. */
void fc_cpu_load_f32(float *dst, const void *src, fc_dtype dt, int64_t n);
/* The element i of src (dtype dt) as f32, for the odd scalar read (a bias, a norm weight). */
float fc_cpu_get_f32(const void *src, fc_dtype dt, int64_t i);
/* out[j] = dot(x + j*ldx, w) over K elements for j < m (1 <= m <= 4), reading the weight row w (dtype
 * wdt) once for all m inputs (the decode linear with half weights, attention scores, ragged tile ends). */
void fc_cpu_dot_rows(float *out, const float *x, int64_t ldx, int m, const void *w, fc_dtype wdt, int64_t K);

/* out[j * nr + r] = dot(x + j*ldx, weight row r) over K, the weight rows `wstride` bytes apart (dtype wdt):
 * an m x nr tile with (m, nr) = (1, 4), (2, 4), (3, 2) or (4, 2), so loads of x and of w are shared. */
void fc_cpu_dot_tile(float *out, const float *x, int64_t ldx, int m, const void *w, size_t wstride, int nr,
                     fc_dtype wdt, int64_t K);
/* p[i] = exp(p[i] - mx) for i < n (libm expf), returning their f32 sum: the softmax's numerators. */
float fc_cpu_exp_sub_sum(float *p, float mx, int64_t n);
/* y (n) += a * x (n). */
void fc_cpu_axpy(float *y, float a, const float *x, int64_t n);

/* ---- scratch.c: per-thread reusable buffers (no allocation per call once warm) ---- */

/* A buffer of at least n floats owned by the calling thread, in one of FC_CPU_SCRATCH_SLOTS slots; its
 * contents are undefined. It stays valid until the same thread asks for the same slot again and is
 * freed when the thread exits. NULL (with an error set) if memory runs out.
 * Slot 0: linear's converted weight blocks, paged_prefill's gathered K/V, the bf16 copy of x in
 * gemm_dnnl.c; slot 1: attention scores (attention, paged_attention, paged_prefill), gemm_dnnl's f32 bias;
 * slot 2: oneDNN's scratchpad (gemm_dnnl.c); slot 3: bf16 operands of attention (attention_bf16.h). */
#define FC_CPU_SCRATCH_SLOTS 4
float *fc_cpu_scratch(int slot, size_t n);

/* ---- blas.c ---- */

/* Pins OpenBLAS to one thread (once per process; see blas.c for why). Every kernel that calls cblas calls
 * this first and parallelises around single-threaded BLAS calls with OpenMP. */
void fc_cpu_blas_init(void);

/* ---- one file per op ---- */

/* y (M, N) = x (M, K) . w (N, K)^T + b (N); b may be NULL. Fails only if scratch memory runs out. */
fc_err fc_cpu_linear(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                     int64_t M, int64_t N, int64_t K);
/* The same with the number of weight rows converted per sgemm block chosen by the caller (0: the default,
 * see linear.c); tests use it to cross block boundaries with small weights. */
fc_err fc_cpu_linear_blocked(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                             int64_t M, int64_t N, int64_t K, int64_t block_rows);
/* y (N, C) = x * rsqrt(mean(x^2) + eps) * w; y may alias x. */
void fc_cpu_rmsnorm(float *y, const float *x, const void *w, fc_dtype wdt, int64_t N, int64_t C, float eps);
/* y (N, C) = (x - mean) * rsqrt(var + eps) * w + b (biased var); w, b may be NULL (1 and 0); y may alias x. */
void fc_cpu_layernorm(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                      int64_t N, int64_t C, float eps);
/* y (n) = act(x); y may alias x. */
void fc_cpu_act(float *y, const float *x, int64_t n, fc_act act);
/* y (n) = silu(gate) * up; y may alias gate or up. */
void fc_cpu_silu_mul(float *y, const float *gate, const float *up, int64_t n);
/* y (n) = a + b; y may alias either. */
void fc_cpu_add(float *y, const float *a, const float *b, int64_t n);
/* y (T, C) = table (V, C)[ids]; ids already checked to lie in [0, V). */
void fc_cpu_embedding(float *y, const void *table, fc_dtype tdt, const int32_t *ids, int64_t T, int64_t C);
/* Rotate-half RoPE in place on x (T, nh, D), D even and <= FC_ROPE_MAX_D, row t at position pos[t]. */
#define FC_ROPE_MAX_D 1024
void fc_cpu_rope(float *x, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);
/* out (T, H, D) = softmax(q k^T * scale [+ causal]) v; q (T, H, D), k, v (S, Hkv, D); H % Hkv == 0.
 * Causal: query t sees keys s <= t + (S - T) (the queries are the last T positions of the S keys). */
fc_err fc_cpu_attention(float *out, const float *q, const float *k, const float *v, int64_t T, int64_t S,
                        int64_t H, int64_t Hkv, int64_t D, float scale, bool causal);

#endif
