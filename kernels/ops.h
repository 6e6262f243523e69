/* ops.h: every compute op the models, compressors and trainer use, as one call each on fc_tensors.
 *
 * The device of the tensors picks the implementation: kernels/cpu/<op>.c (the reference, f32 compute,
 * OpenMP + OpenBLAS) or kernels/cuda/<op>.cu (bf16/f16 storage, f32 accumulation) with the same stem.
 * All tensors of one call must live on one device; a mismatch, a wrong shape or a dtype an op does not
 * support is an error (FC_ESHAPE / FC_EUNSUPPORTED) that names the op and the shapes, never a crash.
 * Outputs are preallocated by the caller (no allocation inside ops, so decode loops do not malloc).
 *
 * Files: kernels/<op>.c holds fc_op_<op> (checks shapes, dtypes and devices, then dispatches);
 * kernels/cpu/<op>.c holds fc_cpu_<op> on raw pointers (declared in kernels/cpu/cpu.h); kernels/cuda/<op>.cu
 * holds fc_cuda_<op> (declared in kernels/cuda/cuda.h, compiled with nvcc into the backend library
 * libfastcache-cuda.so; the dispatcher's CUDA branch calls it through the table of kernels/cuda/ops_table.h;
 * where no backend is loaded the table is empty and the call is refused with the reason).
 *
 * Conventions: shapes row-major, shape[0] outermost, contiguous. Activations on the CPU are f32; on CUDA
 * they are f32, f16 or bf16, one dtype per call (computed in f32 registers, f32 accumulation). Parameters
 * (weights, biases, norm scales, tables) may be f32, f16 or bf16 (kept in the checkpoint's dtype and
 * converted as used). Index arrays (ids, pos) are host memory on every device. An activation of shape
 * (..., C) is read as rows = numel / C rows of C: leading dims may be split or merged freely.
 * Threads: the CPU ops use OpenMP; OpenBLAS is pinned to one thread (kernels/cpu/blas.c explains why).
 * Names of dims: T tokens, S keys, C channels, H query heads, Hkv kv heads, D head dim, V vocab.
 */
#ifndef FC_OPS_H
#define FC_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

typedef enum { FC_ACT_SILU = 0, FC_ACT_GELU, FC_ACT_GELU_TANH, FC_ACT_QUICK_GELU, FC_ACT_RELU, FC_ACT_COUNT } fc_act;
/* "silu", "gelu", "gelu_pytorch_tanh", "quick_gelu", "relu" (the HF spellings). */
const char *fc_act_name(fc_act a);
fc_err fc_act_from_name(const char *name, fc_act *out);

/* y (M, N) = x (M, K) . w (N, K)^T + b (N); b may be NULL. w in the PyTorch Linear layout.
 * CUDA: cublasGemmEx with f32 accumulation; f32 weights need f32 activations, half weights take f32
 * activations (converted to the weight's dtype first) or activations of their own dtype. */
fc_err fc_op_linear(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b);

/* y (N, C) = x / sqrt(mean(x^2) + eps) * w (C), as HF LlamaRMSNorm / Qwen2RMSNorm. y may alias x. */
fc_err fc_op_rmsnorm(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, float eps);

/* y (N, C) = (x - mean) / sqrt(var + eps) * w + b (biased variance), as torch LayerNorm. y may alias x. */
fc_err fc_op_layernorm(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b, float eps);

/* Elementwise activation; y may alias x. */
fc_err fc_op_act(fc_tensor *y, const fc_tensor *x, fc_act act);

/* y (N, F) = silu(gate) * up, the SwiGLU middle. y may alias gate. */
fc_err fc_op_silu_mul(fc_tensor *y, const fc_tensor *gate, const fc_tensor *up);

/* y = a + b, same shapes (the residual add); y may alias a. */
fc_err fc_op_add(fc_tensor *y, const fc_tensor *a, const fc_tensor *b);

/* y (T, C) = table (V, C)[ids (T)]; an id outside [0, V) is FC_EINVAL naming the id and its position. */
fc_err fc_op_embedding(fc_tensor *y, const fc_tensor *table, const int32_t *ids, int T);

/* Rotary embedding in place on x (T, nh, D), rotate-half (NeoX) layout as HF, position pos[t] for row t,
 * inv_freq[i] = theta^(-2i/D) in HF's f32 order of operations (kernels/cpu/rope.c). D even, <= 1024. */
fc_err fc_op_rope(fc_tensor *x, const int32_t *pos, float theta);

/* Dense multi-head attention without a KV cache (vision towers, the resampler):
 * out (T, H*D) = softmax(q k^T * scale [+ causal mask]) v, with q (T, H, D), k and v (S, Hkv, D);
 * query head h uses kv head h / (H / Hkv). Softmax in f32. out may also be shaped (T, H, D).
 * Causal: the queries are the last T of the S positions, so query t sees keys 0 .. t + S - T (T <= S). */
fc_err fc_op_attention(fc_tensor *out, const fc_tensor *q, const fc_tensor *k, const fc_tensor *v, float scale,
                       bool causal);

/* Decoder attention over a paged KV cache (core/kv/kv_pool.h), for a batch of sequences at once. Each
 * sequence owns rows [q_start, q_start + n_q) of q and out and attends over its first n_keys cache entries,
 * found through its block table; its n_q new tokens are the last n_q of those entries (already written), and
 * query i sees entries [0, n_keys - n_q + i] (causal by cache index, so it holds after compression).
 * q (T, H, D), out (T, H*D) f32; k_cache, v_cache (n_blocks, block_size, Hkv, D). Softmax in f32. */
typedef struct {
    int q_start, n_q;      /* this sequence's rows of q / out */
    int n_keys;            /* cache entries it attends over, new ones included (n_keys >= n_q) */
    const int32_t *blocks; /* its block table: entry e is in block blocks[e / block_size] */
} fc_paged_seq;
fc_err fc_op_paged_attention(fc_tensor *out, const fc_tensor *q, const fc_tensor *k_cache, const fc_tensor *v_cache,
                             const fc_paged_seq *seqs, int n_seqs, float scale);

#endif
