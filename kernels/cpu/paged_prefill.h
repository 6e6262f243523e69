/* paged_prefill.h: the prefill path of the CPU paged attention (kernels/cpu/paged_prefill.c), used by
 * fc_cpu_paged_attention for sequences with many new tokens. */
#ifndef FC_KERNELS_CPU_PAGED_PREFILL_H
#define FC_KERNELS_CPU_PAGED_PREFILL_H

#include <stdbool.h>

#include "kernels/ops.h"

/* New tokens from which a sequence takes the sgemm path. Measured (H 32 or 28/4, D 128, 2 threads) it
 * overtakes the row-dot kernel of paged_attention.c from ~48 new tokens, by 2x at 128 and 2.3-3.7x at
 * 600. The threshold is set conservatively higher: below it the saving is a few ms per layer, and short
 * prompts keep the summation order the VLM fixtures were checked with (on the tiny MiniCPM-V fixture a
 * change of attention summation order alone moves logits by up to 2.5e-4, the size of its tolerance). */
#define FC_PAGED_PREFILL_MIN_Q 128

/* out rows of sequence s, from q (T, H, D) and f32 caches k, v (n_blocks, block_size, Hkv, D): the same
 * result as fc_cpu_paged_attention (see ops.h for the mask), computed with single-threaded sgemm calls
 * spread over the OpenMP threads. Fails (FC_ENOMEM) only if scratch memory runs out. */
fc_err fc_cpu_paged_prefill(float *out, const float *q, const float *k, const float *v, const fc_paged_seq *s,
                            int64_t H, int64_t Hkv, int64_t D, int64_t block_size, float scale);

#endif
