/* gemv_bf16.c: the few-row (decode) product on a weight packed by oneDNN in its "BA16a64b2a" bf16 layout.
 *
 * Why not oneDNN itself: at M = 1..4 the product only streams the weight, and the library's fixed cost per
 * call (memory objects, the primitive's dispatch, its threading) dominated the small layers (measured: a
 * 2-layer hidden-168 decoder ran 6x slower than our f32 gemv). This loop reads the packed weight once,
 * front to back, with one AVX-512 BF16 dot-product instruction per 64 bytes, so it is bound by memory.
 *
 * Layout (wei = w^T, K x N, K padded to Kp (multiple of 32), N to Np (multiple of 64), padding zero): the
 * weight is Np / 64 column blocks of Kp * 64 values each, one after the other; inside a block, k-pair p
 * (rows 2p and 2p + 1) holds 128 values at p * 128: column c's two values at 2c and 2c + 1. So a block is
 * read as Kp / 2 steps of four 64-byte vectors, each multiplied by the broadcast pair (x[2p], x[2p + 1])
 * with vdpbf16ps, which accumulates both products into the column's f32 lane.
 */
#include "kernels/cpu/gemv_bf16.h"

#include <stdlib.h>
#include <sys/mman.h>

void *fc_cpu_weight_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    size_t n = (bytes + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, n);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, n, MADV_HUGEPAGE); /* advice only: without THP the pages stay 4 KiB */
#endif
    return p;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bf16")))

/* Rows m0 .. m0 + mr (mr <= 4) of y, columns [64 nb, 64 nb + cols) from block blk. */
TGT static void block_rows(float *y, int64_t ldy, const uint16_t *x, int64_t ldx, int mr, const uint16_t *blk,
                           int64_t Kp, int cols, const float *bias) {
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < Kp / 2; p++) {
        const uint16_t *wp = blk + p * 128;
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(wp), w1 = (__m512bh)_mm512_loadu_si512(wp + 32);
        __m512bh w2 = (__m512bh)_mm512_loadu_si512(wp + 64), w3 = (__m512bh)_mm512_loadu_si512(wp + 96);
        for (int r = 0; r < mr; r++) {
            uint32_t pair;
            memcpy(&pair, x + r * ldx + 2 * p, sizeof pair);
            __m512bh xb = (__m512bh)_mm512_set1_epi32((int)pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], w0, xb);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], w1, xb);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], w2, xb);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], w3, xb);
        }
    }
    for (int r = 0; r < mr; r++) {
        float out[64];
        for (int j = 0; j < 4; j++) _mm512_storeu_ps(out + 16 * j, acc[r][j]);
        for (int c = 0; c < cols; c++) y[r * ldy + c] = out[c] + (bias ? bias[c] : 0.0f);
    }
}

TGT void fc_cpu_gemv_bf16_packed(float *y, const uint16_t *x, int64_t M, int64_t Kp, const uint16_t *w, int64_t N,
                                 const float *bias) {
    int64_t nblk = (N + 63) / 64;
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t nb = 0; nb < nblk; nb++) {
        int cols = (int)(N - nb * 64 < 64 ? N - nb * 64 : 64);
        const uint16_t *blk = w + nb * Kp * 64;
        for (int64_t m0 = 0; m0 < M; m0 += 4) {
            int mr = (int)(M - m0 < 4 ? M - m0 : 4);
            block_rows(y + m0 * N + nb * 64, N, x + m0 * Kp, Kp, mr, blk, Kp, cols, bias ? bias + nb * 64 : NULL);
        }
    }
}

bool fc_cpu_gemv_bf16_built(void) { return true; }

#else

void fc_cpu_gemv_bf16_packed(float *y, const uint16_t *x, int64_t M, int64_t Kp, const uint16_t *w, int64_t N,
                             const float *bias) {
    (void)y, (void)x, (void)M, (void)Kp, (void)w, (void)N, (void)bias;
}

bool fc_cpu_gemv_bf16_built(void) { return false; }

#endif
