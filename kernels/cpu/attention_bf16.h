/* attention_bf16.h: bf16-input, f32-accumulation matmuls for the attention of --precision bf16
 * (kernels/cpu/attention_bf16.c); used by attention.c and paged_prefill.c. */
#ifndef FC_KERNELS_CPU_ATTENTION_BF16_H
#define FC_KERNELS_CPU_ATTENTION_BF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when attention should take these matmuls: precision bf16 and a build with the AVX-512 BF16 code
 * (fc_precision_set already refused bf16 on a CPU without the instructions). */
bool fc_cpu_attention_bf16_on(void);

/* k rounded up to even: the row length (in bf16 values) of a rounded A and the K of a packed B. */
int64_t fc_cpu_bf16_even(int64_t k);
/* bf16 values of a packed B of K x N (see below). */
size_t fc_cpu_bf16_packed_size(int64_t K, int64_t N);
/* dst <- B (K x N; element (k, n) at src[k * sk + n * sn]) rounded to bf16 (nearest even) and packed:
 * ceil(N / 16) blocks of fc_cpu_bf16_even(K) * 16 values (the block stride), each k-pair p holding column
 * c's values k = 2p, 2p + 1 at 32 p + 2 c + {0, 1}; padding (k >= K, n >= N) zero. */
void fc_cpu_bf16_pack_b(uint16_t *dst, const float *src, int64_t K, int64_t N, int64_t sk, int64_t sn);
/* dst (M, fc_cpu_bf16_even(K)) <- src (M, K; row stride ld) rounded to bf16, a zero in the padding. */
void fc_cpu_bf16_round_rows(uint16_t *dst, const float *src, int64_t M, int64_t K, int64_t ld);
/* Softmax of a row of scores p (n) over its first vis entries, in f32 (max, exp(x - max) by a vector
 * polynomial within a few ulp of expf, sum, times 1 / sum), rounded to bf16 into pb (even(n) values: zeros
 * from vis on); p is overwritten with the unnormalised exponentials. */
void fc_cpu_bf16_softmax_round(uint16_t *pb, float *p, int64_t vis, int64_t n);
/* C (M, N; row stride ldc) = alpha * (A (M, Kp; row stride lda) . B), f32 accumulation; B packed by
 * fc_cpu_bf16_pack_b with block stride bstride and K >= Kp (only its first Kp / 2 pairs are read, so a
 * prefix of the keys of a packed V serves a shorter tile); Kp even. Single-threaded. */
void fc_cpu_bf16_gemm_packed(float *C, int64_t ldc, const uint16_t *A, int64_t lda, int64_t M, int64_t Kp,
                             const uint16_t *Bp, int64_t bstride, int64_t N, float alpha);

#endif
