/* attention_bf16.c: the two matmuls of attention (scores = q . k^T, out = p . v) with bf16 inputs and f32
 * accumulation, for --precision bf16 (kernels/wpack.h); used by attention.c (the vision towers, the
 * resampler) and paged_prefill.c (decoder prefill). The softmax between them stays f32, as the f32 path.
 *
 * Why our own kernel and not oneDNN: the shapes change with every prompt length (a primitive per (tile,
 * keys) shape would be made per call), and each head's products are small (T x S x D with D 64..128), so
 * they run single-threaded inside the callers' OpenMP loop over heads, as the f32 path's sgemm calls do.
 *
 * The right operand B (K x N) is rounded to bf16 and packed once per head: ceil(N / 16) blocks of 16
 * columns, each Kp / 2 k-pairs of 32 values (column c's values k = 2p, 2p + 1 at 2c, 2c + 1; Kp = K
 * rounded up to even, zero padded), so that one vdpbf16ps multiplies a broadcast pair of a row of A by a
 * pair of 16 columns and adds both products into 16 f32 lanes. The left operand A is rows of Kp bf16.
 * The tile is 4 rows x 64 columns: 16 accumulators; the B panel (64 columns x Kp) stays in L1/L2 while
 * all rows of A pass over it.
 */
#include "kernels/cpu/attention_bf16.h"

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemv_bf16.h"
#include "kernels/wpack.h"

bool fc_cpu_attention_bf16_on(void) { return fc_precision_get() == FC_PREC_BF16 && fc_cpu_gemv_bf16_built(); }

int64_t fc_cpu_bf16_even(int64_t k) { return (k + 1) & ~(int64_t)1; }

size_t fc_cpu_bf16_packed_size(int64_t K, int64_t N) { return (size_t)((N + 15) / 16 * 16 * fc_cpu_bf16_even(K)); }

void fc_cpu_bf16_pack_b(uint16_t *dst, const float *src, int64_t K, int64_t N, int64_t sk, int64_t sn) {
    int64_t Kp = fc_cpu_bf16_even(K), nblk = (N + 15) / 16;
    for (int64_t b = 0; b < nblk; b++) {
        uint16_t *blk = dst + b * Kp * 16;
        for (int64_t c = 0; c < 16; c++) {
            int64_t n = b * 16 + c;
            for (int64_t k = 0; k < Kp; k++) {
                float v = n < N && k < K ? src[k * sk + n * sn] : 0.0f;
                blk[(k / 2) * 32 + 2 * c + (k & 1)] = fc_f32_to_bf16(v);
            }
        }
    }
}

void fc_cpu_bf16_round_rows(uint16_t *dst, const float *src, int64_t M, int64_t K, int64_t ld) {
    int64_t Kp = fc_cpu_bf16_even(K);
    for (int64_t m = 0; m < M; m++) {
        for (int64_t k = 0; k < K; k++) dst[m * Kp + k] = fc_f32_to_bf16(src[m * ld + k]);
        if (Kp > K) dst[m * Kp + K] = 0;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* Rows [0, MR) x column blocks [0, NV) of one tile; cols: valid columns of the tile (<= 16 NV). */
TGT static inline __attribute__((always_inline)) void tile(float *C, int64_t ldc, const uint16_t *A, int64_t lda,
                                                          int64_t Kp, const uint16_t *B, int64_t bstride,
                                                          int64_t cols, float alpha, const int MR, const int NV) {
    /* every loop over r and j fully unrolled (constant MR, NV), so acc lives in 16 zmm registers */
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < Kp / 2; p++) {
        __m512bh b[4];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) b[j] = (__m512bh)_mm512_loadu_si512(B + j * bstride + p * 32);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            uint32_t pair;
            memcpy(&pair, A + r * lda + 2 * p, sizeof pair);
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair);
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], b[j], a);
        }
    }
    __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
        int64_t left = cols - 16 * j;
        __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) _mm512_mask_storeu_ps(C + r * ldc + 16 * j, mk, _mm512_mul_ps(acc[r][j], va));
    }
}

/* exp(x) for x <= 0 (scores minus their row max): x = n ln2 + r, |r| <= ln2 / 2, exp(r) by its Taylor
 * polynomial to degree 7 (truncation < 2e-9 relative, below f32's 6e-8), times 2^n by vscalefps (which
 * underflows to 0 for very negative x). Within a few ulp of expf: the probabilities are rounded to bf16
 * (2^-8) right after, so libm's scalar expf (40% of a bf16 prefill's attention time) buys nothing. */
TGT static inline __m512 exp_neg(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x); /* ln2 split: hi exact in f32 */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 q = _mm512_set1_ps(1.0f / 5040);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 720));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 120));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 24));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 6));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(q, n);
}

TGT void fc_cpu_bf16_softmax_round(uint16_t *pb, float *p, int64_t vis, int64_t n) {
    int64_t i;
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (i = 0; i + 16 <= vis; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(p + i));
    float mx = _mm512_reduce_max_ps(vm);
    for (; i < vis; i++) mx = p[i] > mx ? p[i] : mx;
    __m512 vmx = _mm512_set1_ps(mx), vs = _mm512_setzero_ps();
    for (i = 0; i < vis; i += 16) {
        __mmask16 mk = vis - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (vis - i)) - 1);
        __m512 e = exp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, p + i), vmx));
        e = _mm512_maskz_mov_ps(mk, e);
        vs = _mm512_add_ps(vs, e);
        _mm512_mask_storeu_ps(p + i, mk, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
    int64_t np = fc_cpu_bf16_even(n);
    for (i = 0; i < np; i += 16) {
        __mmask16 mk = np - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (np - i)) - 1);
        __mmask16 mv = i >= vis ? 0 : vis - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (vis - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mv, p + i), inv);
        __m256bh b = _mm512_cvtneps_pbh(v); /* round to nearest even */
        _mm256_mask_storeu_epi16(pb + i, mk, (__m256i)b);
    }
}

#define TILE(mr, nv) tile(C + m0 * ldc + n0, ldc, A + m0 * lda, lda, Kp, B, bstride, cols, alpha, mr, nv)

TGT void fc_cpu_bf16_gemm_packed(float *C, int64_t ldc, const uint16_t *A, int64_t lda, int64_t M, int64_t Kp,
                                 const uint16_t *Bp, int64_t bstride, int64_t N, float alpha) {
    for (int64_t n0 = 0; n0 < N; n0 += 64) {
        int64_t cols = N - n0 < 64 ? N - n0 : 64;
        int nv = (int)((cols + 15) / 16);
        const uint16_t *B = Bp + (n0 / 16) * bstride;
        for (int64_t m0 = 0; m0 < M; m0 += 4) {
            int mr = (int)(M - m0 < 4 ? M - m0 : 4);
            switch (mr * 4 + nv) { /* constant MR, NV: the accumulators stay in registers */
            case 4 * 4 + 4: TILE(4, 4); break;
            case 4 * 4 + 3: TILE(4, 3); break;
            case 4 * 4 + 2: TILE(4, 2); break;
            case 4 * 4 + 1: TILE(4, 1); break;
            case 3 * 4 + 4: TILE(3, 4); break;
            case 3 * 4 + 3: TILE(3, 3); break;
            case 3 * 4 + 2: TILE(3, 2); break;
            case 3 * 4 + 1: TILE(3, 1); break;
            case 2 * 4 + 4: TILE(2, 4); break;
            case 2 * 4 + 3: TILE(2, 3); break;
            case 2 * 4 + 2: TILE(2, 2); break;
            case 2 * 4 + 1: TILE(2, 1); break;
            case 1 * 4 + 4: TILE(1, 4); break;
            case 1 * 4 + 3: TILE(1, 3); break;
            case 1 * 4 + 2: TILE(1, 2); break;
            default: TILE(1, 1); break;
            }
        }
    }
}

#else

void fc_cpu_bf16_softmax_round(uint16_t *pb, float *p, int64_t vis, int64_t n) {
    (void)pb, (void)p, (void)vis, (void)n;
}

void fc_cpu_bf16_gemm_packed(float *C, int64_t ldc, const uint16_t *A, int64_t lda, int64_t M, int64_t Kp,
                             const uint16_t *Bp, int64_t bstride, int64_t N, float alpha) {
    (void)C, (void)ldc, (void)A, (void)lda, (void)M, (void)Kp, (void)Bp, (void)bstride, (void)N, (void)alpha;
}

#endif
