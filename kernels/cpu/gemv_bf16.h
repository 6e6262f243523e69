/* gemv_bf16.h: y = x . w^T for a few rows (decode) on a bf16 weight in oneDNN's packed "BA16a64b2a" layout
 * (see gemv_bf16.c), used by kernels/cpu/gemm_dnnl.c for M <= FC_GEMV_BF16_MAX_M. */
#ifndef FC_KERNELS_GEMV_BF16_H
#define FC_KERNELS_GEMV_BF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Up to 4 rows the loop streams the weight once at memory speed; at 8 rows (two passes of 4 over each
 * L2-resident block) it measured no faster than oneDNN's brgemm (18944 x 3584, M = 8, medians of 20
 * calls, 4 alternations on the shared 2-core Zen 4: 32-44 ms ours vs 26-34 ms brgemm), so 5..8 go there. */
#define FC_GEMV_BF16_MAX_M 4

/* True when this build has the AVX-512 BF16 loop (x86-64 with GCC/Clang); the caller also checks that the
 * CPU has the instructions (oneDNN's ISA is avx512_core_bf16 or better). */
bool fc_cpu_gemv_bf16_built(void);
/* y (M, N) f32 = x (M, Kp) bf16, zero beyond K . w^T + bias (N; NULL for none); w is Np / 64 blocks of
 * Kp * 64 values (Kp a multiple of 32). OpenMP over the column blocks. */
void fc_cpu_gemv_bf16_packed(float *y, const uint16_t *x, int64_t M, int64_t Kp, const uint16_t *w, int64_t N,
                             const float *bias);

/* Memory for a packed weight of `bytes`, 64-byte aligned, free()d by the caller. From 4 MiB up it is
 * 2 MiB aligned, a multiple of 2 MiB and advised as transparent huge pages (madvise mode, the default
 * here): streaming ~1 GB of weights per decode step over 4 KiB pages ran at ~80% of the rate the same
 * loop reaches on 2 MiB pages in this VM (TLB misses under nested paging). NULL if out of memory. */
void *fc_cpu_weight_alloc(size_t bytes);

#endif
