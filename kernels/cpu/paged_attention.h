/* paged_attention.h: the CPU kernel behind fc_op_paged_attention (kernels/ops.h), on raw pointers.
 * Kept beside cpu.h rather than in it so the decoder's kernel can land without editing the op library's
 * shared header; the dispatcher in kernels/paged_attention.c has checked every argument. */
#ifndef FC_KERNELS_CPU_PAGED_ATTENTION_H
#define FC_KERNELS_CPU_PAGED_ATTENTION_H

#include "kernels/ops.h"

/* out (T, H, D) from q (T, H, D) and f32 caches k, v (n_blocks, block_size, Hkv, D); see ops.h. */
fc_err fc_cpu_paged_attention(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *seqs,
                              int n_seqs, int64_t H, int64_t Hkv, int64_t D, int64_t block_size, float scale);

#endif
