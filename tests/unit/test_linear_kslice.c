/* test_linear_kslice.c: the prefill path of the CPU linear (kernels/cpu/linear.c) with f16/bf16 weights
 * wider than FC_LINEAR_K_SLICE, which it converts and multiplies in column slices accumulated into y,
 * against y = x . w^T + b from its definition in f64 on the same half-rounded weights (the conversion to
 * f32 is exact): default blocks and 16-row blocks, with and without bias, output pre-filled with NaN. */
#include "core/tensor/dtype.h"
#include "kernels/cpu/cpu.h"
#include "tests/test.h"

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void check(fc_test *t, fc_dtype dt, bool bias, int64_t block_rows) {
    enum { M = 12, N = 37, K = 2 * 4096 + 133 }; /* M above the small-M path; K: two full slices and a tail */
    unsigned seed = 7u + (unsigned)dt;
    float *x = malloc(sizeof(float) * M * K), *wf = malloc(sizeof(float) * N * K), *y = malloc(sizeof(float) * M * N);
    uint16_t *w = malloc(sizeof(uint16_t) * N * K), *b = malloc(sizeof(uint16_t) * N);
    for (int64_t i = 0; i < (int64_t)M * K; i++) x[i] = frand(&seed);
    for (int64_t i = 0; i < (int64_t)N * K; i++) {
        float v = frand(&seed);
        w[i] = dt == FC_DTYPE_F16 ? fc_f32_to_f16(v) : fc_f32_to_bf16(v);
        wf[i] = dt == FC_DTYPE_F16 ? fc_f16_to_f32(w[i]) : fc_bf16_to_f32(w[i]);
    }
    for (int64_t n = 0; n < N; n++) b[n] = dt == FC_DTYPE_F16 ? fc_f32_to_f16(frand(&seed)) : fc_f32_to_bf16(frand(&seed));
    for (int64_t i = 0; i < (int64_t)M * N; i++) y[i] = NAN;
    fc_err e = fc_cpu_linear_blocked(y, x, w, dt, bias ? b : NULL, dt, M, N, K, block_rows);
    FC_CHECK(t, !e, "%s: %s", fc_dtype_name(dt), e ? fc_errmsg() : "");
    int bad = 0;
    for (int64_t m = 0; !e && m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double want = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                want += (double)x[m * K + k] * wf[n * K + k];
                mag += fabs((double)x[m * K + k] * wf[n * K + k]);
            }
            if (bias) want += dt == FC_DTYPE_F16 ? fc_f16_to_f32(b[n]) : fc_bf16_to_f32(b[n]);
            /* f32 sums of 8325 products: rounding stays far below 1e-6 of the sum of |products| (~2000
             * here, so ~2e-3), while a lost, doubled or shifted slice moves y by ~10 */
            double got = y[m * N + n];
            if (!(fabs(got - want) <= 1e-6 * mag + 1e-6) && bad++ < 3)
                fc_test_fail(t, "%s bias %d block_rows %lld: y[%lld][%lld] = %.6f, want %.6f", fc_dtype_name(dt), bias,
                             (long long)block_rows, (long long)m, (long long)n, got, want);
        }
    FC_CHECK(t, bad == 0, "%d values off", bad);
    free(x), free(wf), free(y), free(w), free(b);
}

static void test_linear_kslice_matches_definition(fc_test *t) {
    for (int d = 0; d < 2; d++)
        for (int bias = 0; bias < 2; bias++)
            for (int64_t br = 0; br <= 16; br += 16) check(t, d ? FC_DTYPE_BF16 : FC_DTYPE_F16, bias, br);
}

static const fc_test_case cases[] = {FC_CASE(test_linear_kslice_matches_definition)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
