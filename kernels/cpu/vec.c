/* vec.c: the inner loops every CPU op shares: f16/bf16 -> f32 conversion and weight-row dot products.
 *
 * With AVX2 + FMA + F16C (the release build uses -march=native) the loops are intrinsics, 16 lanes per
 * iteration; otherwise (the sanitizer build, other CPUs) portable C that the compiler may vectorise.
 * Both give the same results up to the order of the f32 sums, which the tests' tolerances allow for.
 */
#include "kernels/cpu/cpu.h"

#include <math.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define FC_VEC_AVX2 1
#endif

#define FC_INLINE static inline __attribute__((always_inline))

float fc_cpu_get_f32(const void *src, fc_dtype dt, int64_t i) {
    switch (dt) {
    case FC_DTYPE_F16: return fc_f16_to_f32(((const uint16_t *)src)[i]);
    case FC_DTYPE_BF16: return fc_bf16_to_f32(((const uint16_t *)src)[i]);
    default: return ((const float *)src)[i];
    }
}

#ifdef FC_VEC_AVX2
/* 8 elements of w (dtype dt, a compile-time constant at every call site) from index i, as f32. */
FC_INLINE __m256 load8(const void *w, fc_dtype dt, int64_t i) {
    if (dt == FC_DTYPE_F32) return _mm256_loadu_ps((const float *)w + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    if (dt == FC_DTYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); /* bf16: high half of f32 */
}

FC_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
#endif

FC_INLINE void load_impl(float *dst, const void *src, fc_dtype dt, int64_t n) {
    int64_t i = 0;
#ifdef FC_VEC_AVX2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src, dt, i));
#endif
    for (; i < n; i++) dst[i] = fc_cpu_get_f32(src, dt, i);
}

void fc_cpu_load_f32(float *dst, const void *src, fc_dtype dt, int64_t n) {
    switch (dt) {
    case FC_DTYPE_F16: load_impl(dst, src, FC_DTYPE_F16, n); break;
    case FC_DTYPE_BF16: load_impl(dst, src, FC_DTYPE_BF16, n); break;
    default: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    }
}

/* m dot products against one weight row; m and dt are constants after inlining, so each (m, dt) pair
 * becomes its own loop. FMA latency (4 cycles) and throughput (2 per cycle) want ~8 independent chains:
 * 4 accumulators per row for m <= 2, 2 per row for m = 3, 4 (which also keeps the 16 ymm registers enough). */
FC_INLINE void dot_rows_impl(float *out, const float *x, int64_t ldx, int m, const void *w, fc_dtype dt,
                             int64_t K) {
    int64_t i = 0;
    float acc[4] = {0, 0, 0, 0};
#ifdef FC_VEC_AVX2
    /* the unroll pragmas make the small loops over u and j disappear, so the accumulator array is
     * scalarised into registers (without them GCC -O2 keeps it on the stack, at half the speed) */
    const int U = m <= 2 ? 4 : 2; /* 8-lane vectors per row per iteration */
    __m256 a[4][4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) a[j][u] = _mm256_setzero_ps();
    for (; i + 8 * U <= K; i += 8 * U) {
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) {
            __m256 wv = load8(w, dt, i + 8 * u);
#pragma GCC unroll 4
            for (int j = 0; j < m; j++) a[j][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + j * ldx + i + 8 * u), a[j][u]);
        }
    }
    for (; i + 8 <= K; i += 8) {
        __m256 wv = load8(w, dt, i);
#pragma GCC unroll 4
        for (int j = 0; j < m; j++) a[j][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + j * ldx + i), a[j][0]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < m; j++) {
        __m256 sum = a[j][0];
#pragma GCC unroll 4
        for (int u = 1; u < U; u++) sum = _mm256_add_ps(sum, a[j][u]);
        acc[j] = hsum8(sum);
    }
#else
    /* 8 partial sums per row keep the f32 rounding error of long rows (K = 11008) as small as the AVX path */
    float p[4][8] = {{0}};
    for (; i + 8 <= K; i += 8)
        for (int l = 0; l < 8; l++) {
            float wv = fc_cpu_get_f32(w, dt, i + l);
            for (int j = 0; j < m; j++) p[j][l] += wv * x[j * ldx + i + l];
        }
    for (int j = 0; j < m; j++)
        for (int l = 0; l < 8; l++) acc[j] += p[j][l];
#endif
    for (; i < K; i++) {
        float wv = fc_cpu_get_f32(w, dt, i);
        for (int j = 0; j < m; j++) acc[j] += wv * x[j * ldx + i];
    }
    for (int j = 0; j < m; j++) out[j] = acc[j];
}

#define DOT_CASE(M)                                                                                        \
    case M:                                                                                                \
        if (wdt == FC_DTYPE_BF16) dot_rows_impl(out, x, ldx, M, w, FC_DTYPE_BF16, K);                     \
        else if (wdt == FC_DTYPE_F16) dot_rows_impl(out, x, ldx, M, w, FC_DTYPE_F16, K);                  \
        else dot_rows_impl(out, x, ldx, M, w, FC_DTYPE_F32, K);                                           \
        break;

void fc_cpu_dot_rows(float *out, const float *x, int64_t ldx, int m, const void *w, fc_dtype wdt, int64_t K) {
    switch (m) {
        DOT_CASE(1)
        DOT_CASE(2)
        DOT_CASE(3)
        DOT_CASE(4)
    default: FC_ASSERT(m >= 1 && m <= 4);
    }
}

void fc_cpu_axpy(float *y, float a, const float *x, int64_t n) {
    int64_t i = 0;
#ifdef FC_VEC_AVX2
    __m256 av = _mm256_set1_ps(a);
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

float fc_cpu_exp_sub_sum(float *p, float mx, int64_t n) {
    /* libm's expf (< 1 ulp): a 2-ulp vector polynomial was tried and moved MiniCPM-V logits by 1.2e-4
     * against transformers, past the model test's bound, so accuracy wins over the 1.7x it gave */
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        p[i] = expf(p[i] - mx);
        sum += p[i];
    }
    return sum;
}

/* out[j * nr + r] = dot(x row j, w row r) for j < m, r < nr: an m x nr register tile, so each x load
 * feeds nr FMAs and each weight load m FMAs (the M <= 8 linear is bound by loads, not FMAs). m, nr and
 * dt are constants after inlining; m * nr <= 8 accumulators. */
FC_INLINE void dot_tile_impl(float *out, const float *x, int64_t ldx, int m, const void *w, size_t wstride, int nr,
                             fc_dtype dt, int64_t K) {
    int64_t i = 0;
    float acc[4][4] = {{0}};
    const char *wb = w;
#ifdef FC_VEC_AVX2
    __m256 a[4][4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) a[j][r] = _mm256_setzero_ps();
    for (; i + 8 <= K; i += 8) {
        __m256 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) wv[r] = load8(wb + r * wstride, dt, i);
#pragma GCC unroll 4
        for (int j = 0; j < m; j++) {
            __m256 xv = _mm256_loadu_ps(x + j * ldx + i);
#pragma GCC unroll 4
            for (int r = 0; r < nr; r++) a[j][r] = _mm256_fmadd_ps(wv[r], xv, a[j][r]);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < m; j++)
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) acc[j][r] = hsum8(a[j][r]);
#else
    float p[4][4][8] = {{{0}}};
    for (; i + 8 <= K; i += 8)
        for (int r = 0; r < nr; r++)
            for (int l = 0; l < 8; l++) {
                float wv = fc_cpu_get_f32(wb + r * wstride, dt, i + l);
                for (int j = 0; j < m; j++) p[j][r][l] += wv * x[j * ldx + i + l];
            }
    for (int j = 0; j < m; j++)
        for (int r = 0; r < nr; r++)
            for (int l = 0; l < 8; l++) acc[j][r] += p[j][r][l];
#endif
    for (; i < K; i++)
        for (int r = 0; r < nr; r++) {
            float wv = fc_cpu_get_f32(wb + r * wstride, dt, i);
            for (int j = 0; j < m; j++) acc[j][r] += wv * x[j * ldx + i];
        }
    for (int j = 0; j < m; j++)
        for (int r = 0; r < nr; r++) out[j * nr + r] = acc[j][r];
}

#define TILE_DT(M, NR)                                                                                     \
    if (wdt == FC_DTYPE_BF16) dot_tile_impl(out, x, ldx, M, w, wstride, NR, FC_DTYPE_BF16, K);            \
    else if (wdt == FC_DTYPE_F16) dot_tile_impl(out, x, ldx, M, w, wstride, NR, FC_DTYPE_F16, K);         \
    else dot_tile_impl(out, x, ldx, M, w, wstride, NR, FC_DTYPE_F32, K);

void fc_cpu_dot_tile(float *out, const float *x, int64_t ldx, int m, const void *w, size_t wstride, int nr,
                     fc_dtype wdt, int64_t K) {
    switch (m * 8 + nr) {
    case 1 * 8 + 4: TILE_DT(1, 4) break;
    case 2 * 8 + 4: TILE_DT(2, 4) break;
    case 3 * 8 + 2: TILE_DT(3, 2) break;
    case 4 * 8 + 2: TILE_DT(4, 2) break;
    default: FC_ASSERT(!"fc_cpu_dot_tile: (m, nr) must be (1|2, 4) or (3|4, 2)");
    }
}
