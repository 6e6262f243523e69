/* test_attention_bf16.c: the attention matmuls of --precision bf16 (kernels/cpu/attention_bf16.c) against
 * the f32 path, with tolerances derived from rounding analysis (u = 2^-8: bf16 keeps 8 significant bits
 * and rounds to nearest; u32 = 2^-24; gamma_n = n u32 / (1 - n u32)):
 *
 * 1. The packed GEMM alone, odd M/N/K (K = 1, odd, above a tile; N ragged in a 16-column block and a 64-
 *    column tile; a K prefix of a longer pack, as paged prefill's tiles read V), against f64 sums of the
 *    same bf16-rounded inputs: only f32 accumulation and the final multiply by alpha differ, so
 *    |err| <= gamma_{Kp + 1} sum_k |a_k b_k|.
 * 2. Attention (dense: vision towers; paged prefill: the decoder), bf16 against the f32 path, per output:
 *    a score s = scale q.k moves by at most D_t = scale ((2u + u^2) + 2 gamma_{D+1} (1 + u)^2) max_j
 *    sum_k |q_k k_jk| (inputs rounded, f32 sums on both sides); the softmax then moves each probability by
 *    a factor within exp(+-2 D_t), plus both sides' f32 softmax rounding, c = 2 (S + 4 + R) u32 relative
 *    (R the row's score range, from exp's argument); so |p' - p| <= e p, e = exp(2 D_t) - 1 + c;
 *    rounding p' and v to bf16 and summing in f32 on both sides gives
 *      |out - out32| <= (E (1 + u) + u + 2 gamma_S (1 + E)(1 + u)) sum_s p_s |v_s|,  E = (1 + e)(1 + u) - 1,
 *    with p the exact probabilities (computed here in f64). With inputs that are bf16 values already the
 *    rounding of q, k, v drops out (the (2u + u^2) and the v terms are 0), leaving the probabilities'
 *    rounding: a bound ~40x tighter, which a key or column lost in the packing would exceed.
 *    Each case also checks that the bf16 path ran (the outputs differ from f32) and that f32 is unchanged
 *    by a bf16 run before it (the same bits as a first f32 run).
 * Cases skip where the bf16 path is not usable (no oneDNN / no AVX-512 BF16). */
#include <math.h>
#include <string.h>

#include "kernels/cpu/attention_bf16.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/paged_prefill.h"
#include "kernels/wpack.h"
#include "tests/test.h"

#define U16 (1.0 / 256.0)
#define U32 (1.0 / 16777216.0)

static double gam(double n) { return n * U32 / (1 - n * U32); }

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float rb(float v) { return fc_bf16_to_f32(fc_f32_to_bf16(v)); }

static bool ready(fc_test *t) {
    if (!fc_precision_bf16_usable()) {
        fc_test_skip(t, "bf16 kernels not usable here (no oneDNN or no AVX-512 BF16 / AMX)");
        return false;
    }
    return true;
}

static void gemm_case(fc_test *t, int M, int N, int K, int Kfull) {
    unsigned seed = (unsigned)(M * 131 + N * 7 + K);
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * Kfull * N);
    float *c = malloc(sizeof(float) * M * (N + 3));
    int64_t Kp = fc_cpu_bf16_even(K), Kfp = fc_cpu_bf16_even(Kfull);
    uint16_t *ar = malloc(sizeof(uint16_t) * M * Kp), *bp = malloc(sizeof(uint16_t) * fc_cpu_bf16_packed_size(Kfull, N));
    for (int i = 0; i < M * K; i++) a[i] = frand(&seed) * 3;
    for (int i = 0; i < Kfull * N; i++) b[i] = frand(&seed);
    fc_cpu_bf16_round_rows(ar, a, M, K, K);
    fc_cpu_bf16_pack_b(bp, b, Kfull, N, N, 1); /* B (k, n) = b[k * N + n] */
    int ldc = N + 3;
    for (int i = 0; i < M * ldc; i++) c[i] = 12345.0f;
    float alpha = 0.37f;
    fc_cpu_bf16_gemm_packed(c, ldc, ar, Kp, M, Kp, bp, Kfp * 16, N, alpha);
    double worst = 0;
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double want = 0, S = 0;
            for (int k = 0; k < K; k++) {
                double pr = (double)rb(a[m * K + k]) * rb(b[k * N + n]);
                want += pr, S += fabs(pr);
            }
            want *= alpha, S *= alpha;
            double err = fabs(c[m * ldc + n] - want), tol = gam((double)Kp + 1) * S;
            if (err > tol) {
                fc_test_fail(t, "gemm %dx%dx%d (pack K %d): c[%d][%d] = %.9g, want %.9g (tol %.3g)", M, N, K, Kfull, m, n,
                             c[m * ldc + n], want, tol);
                goto done;
            }
            if (tol > 0 && err / tol > worst) worst = err / tol;
        }
        for (int n = N; n < ldc; n++)
            if (c[m * ldc + n] != 12345.0f) {
                fc_test_fail(t, "gemm %dx%dx%d: wrote past column %d (row %d)", M, N, K, N, m);
                goto done;
            }
    }
    t->checks++;
done:
    free(a), free(b), free(c), free(ar), free(bp);
}

static void test_attention_bf16_gemm_shapes(fc_test *t) {
    if (!ready(t)) return;
    static const int shapes[][4] = {{1, 1, 1, 1},     {3, 15, 3, 3},     {4, 16, 64, 64},  {5, 17, 31, 31},
                                    {9, 64, 127, 127}, {4, 65, 128, 128}, {7, 130, 37, 37}, {2, 33, 2, 2},
                                    {6, 40, 21, 60},  {13, 70, 100, 101}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        gemm_case(t, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
}

/* Checks o (T, H, D) from bf16 against o32 from f32 for q (T, H, D), k, v (S, Hkv, D); query i sees keys
 * [0, S - T + i] when causal, all S otherwise. */
static void check_bound(fc_test *t, const char *what, const float *o, const float *o32, const float *q, const float *k,
                        const float *v, int T, int S, int H, int Hkv, int D, float scale, bool causal, bool exact_in) {
    /* rounding q, k (each product) and v: none when the inputs are bf16 values already */
    double r_qk = exact_in ? 0 : 2 * U16 + U16 * U16, r_v = exact_in ? 0 : U16;
    double *sc = malloc(sizeof(double) * S), *ab = malloc(sizeof(double) * S);
    double worst = 0, maxdiff = 0;
    for (int i = 0; i < T; i++)
        for (int h = 0; h < H; h++) {
            int kh = h / (H / Hkv), send = causal ? S - T + i + 1 : S;
            double mx = -1e300, mn = 1e300, amax = 0, sum = 0;
            for (int s = 0; s < send; s++) {
                double d = 0, a = 0;
                for (int c = 0; c < D; c++) {
                    double pr = (double)q[(i * H + h) * D + c] * k[(s * Hkv + kh) * D + c];
                    d += pr, a += fabs(pr);
                }
                sc[s] = d * scale, ab[s] = a;
                mx = sc[s] > mx ? sc[s] : mx, mn = sc[s] < mn ? sc[s] : mn, amax = a > amax ? a : amax;
            }
            double Dt = scale * (r_qk + 2 * gam(D + 1) * (1 + r_qk)) * amax;
            double e = expm1(2 * Dt) + 2 * (send + 4 + (mx - mn)) * U32;
            double E = (1 + e) * (1 + U16) - 1; /* U16: rounding the probabilities */
            double f = E * (1 + r_v) + r_v + 2 * gam(send) * (1 + E) * (1 + r_v);
            for (int s = 0; s < send; s++) sum += (sc[s] = exp(sc[s] - mx));
            for (int c = 0; c < D; c++) {
                double pv = 0;
                for (int s = 0; s < send; s++) pv += sc[s] / sum * fabs(v[(s * Hkv + kh) * D + c]);
                size_t at = ((size_t)i * H + h) * D + c;
                double err = fabs((double)o[at] - o32[at]), tol = f * pv;
                maxdiff = err > maxdiff ? err : maxdiff;
                if (!(err <= tol)) {
                    fc_test_fail(t, "%s: out[%d][%d][%d] bf16 %.7g vs f32 %.7g (diff %.3g > bound %.3g)", what, i, h, c,
                                 o[at], o32[at], err, tol);
                    goto done;
                }
                if (tol > 0 && err / tol > worst) worst = err / tol;
            }
        }
    if (maxdiff == 0) {
        fc_test_fail(t, "%s: bf16 output identical to f32 (the bf16 path did not run)", what);
        goto done;
    }
    printf("       %s: max |bf16 - f32| %.3g, at most %.2f of its bound\n", what, maxdiff, worst);
    t->checks++;
done:
    free(sc), free(ab);
}

static void dense_case(fc_test *t, int T, int S, int H, int Hkv, int D, bool causal, bool exact_in) {
    unsigned seed = (unsigned)(T * 31 + S * 3 + D);
    size_t nq = (size_t)T * H * D, nk = (size_t)S * Hkv * D;
    float *q = malloc(sizeof(float) * nq), *k = malloc(sizeof(float) * nk), *v = malloc(sizeof(float) * nk);
    float *o32 = malloc(sizeof(float) * nq), *o = malloc(sizeof(float) * nq), *o32b = malloc(sizeof(float) * nq);
    for (size_t i = 0; i < nq; i++) q[i] = 2 * frand(&seed);
    for (size_t i = 0; i < nk; i++) k[i] = 2 * frand(&seed), v[i] = frand(&seed);
    for (size_t i = 0; exact_in && i < nq; i++) q[i] = rb(q[i]);
    for (size_t i = 0; exact_in && i < nk; i++) k[i] = rb(k[i]), v[i] = rb(v[i]);
    float scale = 1.0f / sqrtf((float)D);
    char what[96];
    snprintf(what, sizeof what, "dense T %d S %d H %d/%d D %d%s%s", T, S, H, Hkv, D, causal ? " causal" : "",
             exact_in ? " bf16 inputs" : "");
    fc_precision_set(FC_PREC_F32);
    FC_CHECK(t, fc_cpu_attention(o32, q, k, v, T, S, H, Hkv, D, scale, causal) == FC_OK, "%s", fc_errmsg());
    fc_precision_set(FC_PREC_BF16);
    FC_CHECK(t, fc_cpu_attention(o, q, k, v, T, S, H, Hkv, D, scale, causal) == FC_OK, "%s", fc_errmsg());
    fc_precision_set(FC_PREC_F32);
    FC_CHECK(t, fc_cpu_attention(o32b, q, k, v, T, S, H, Hkv, D, scale, causal) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, memcmp(o32, o32b, sizeof(float) * nq) == 0, "f32 output changed after a bf16 run");
    check_bound(t, what, o, o32, q, k, v, T, S, H, Hkv, D, scale, causal, exact_in);
    free(q), free(k), free(v), free(o32), free(o), free(o32b);
}

static void test_attention_bf16_dense_vs_f32(fc_test *t) {
    if (!ready(t)) return;
    dense_case(t, 70, 70, 4, 4, 64, false, false);  /* a vision tower's shape, smaller */
    dense_case(t, 65, 90, 6, 2, 37, true, false);   /* GQA, odd D, causal with a past */
    dense_case(t, 129, 129, 2, 1, 128, true, false);
    dense_case(t, 100, 47, 3, 3, 16, false, false); /* S odd: a half-empty last key pair */
    /* inputs that are bf16 values already: only the probabilities are rounded, so the bound is ~40x
     * tighter and catches a key or a column lost in the packing */
    dense_case(t, 70, 70, 4, 4, 64, false, true);
    dense_case(t, 65, 91, 6, 2, 37, true, true);
}

/* Paged prefill of one sequence (contiguous blocks in a scrambled order) with nq new tokens over nk keys. */
static void paged_case(fc_test *t, int H, int Hkv, int D, int bs, int nq, int nk, bool exact_in) {
    unsigned seed = (unsigned)(H * 7 + nq + nk);
    int NB = (nk + bs - 1) / bs + 1;
    size_t row = (size_t)Hkv * D, nqv = (size_t)nq * H * D;
    float *kc = malloc(sizeof(float) * NB * bs * row), *vc = malloc(sizeof(float) * NB * bs * row);
    float *k = malloc(sizeof(float) * nk * row), *v = malloc(sizeof(float) * nk * row);
    float *q = malloc(sizeof(float) * nqv), *o = malloc(sizeof(float) * nqv), *o32 = malloc(sizeof(float) * nqv);
    float *o32b = malloc(sizeof(float) * nqv);
    int32_t *blocks = malloc(sizeof(int32_t) * NB);
    for (int i = 0; i < NB; i++) blocks[i] = (int32_t)((i * 5 + 3) % NB);
    for (size_t i = 0; i < (size_t)NB * bs * row; i++) kc[i] = 2 * frand(&seed), vc[i] = frand(&seed);
    for (size_t i = 0; i < nqv; i++) q[i] = 2 * frand(&seed);
    for (size_t i = 0; exact_in && i < nqv; i++) q[i] = rb(q[i]);
    for (size_t i = 0; exact_in && i < (size_t)NB * bs * row; i++) kc[i] = rb(kc[i]), vc[i] = rb(vc[i]);
    for (int e = 0; e < nk; e++) { /* the keys in order, for the bound */
        size_t at = ((size_t)blocks[e / bs] * bs + e % bs) * row;
        memcpy(k + e * row, kc + at, sizeof(float) * row), memcpy(v + e * row, vc + at, sizeof(float) * row);
    }
    fc_paged_seq s = {.q_start = 0, .n_q = nq, .n_keys = nk, .blocks = blocks};
    float scale = 1.0f / sqrtf((float)D);
    char what[96];
    snprintf(what, sizeof what, "paged nq %d keys %d H %d/%d D %d%s", nq, nk, H, Hkv, D, exact_in ? " bf16 inputs" : "");
    fc_precision_set(FC_PREC_F32);
    FC_CHECK(t, fc_cpu_paged_prefill(o32, q, kc, vc, &s, H, Hkv, D, bs, scale) == FC_OK, "%s", fc_errmsg());
    fc_precision_set(FC_PREC_BF16);
    FC_CHECK(t, fc_cpu_paged_prefill(o, q, kc, vc, &s, H, Hkv, D, bs, scale) == FC_OK, "%s", fc_errmsg());
    fc_precision_set(FC_PREC_F32);
    FC_CHECK(t, fc_cpu_paged_prefill(o32b, q, kc, vc, &s, H, Hkv, D, bs, scale) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, memcmp(o32, o32b, sizeof(float) * nqv) == 0, "f32 output changed after a bf16 run");
    check_bound(t, what, o, o32, q, k, v, nq, nk, H, Hkv, D, scale, true, exact_in);
    free(kc), free(vc), free(k), free(v), free(q), free(o), free(o32), free(o32b), free(blocks);
}

static void test_attention_bf16_paged_prefill_vs_f32(fc_test *t) {
    if (!ready(t)) return;
    paged_case(t, 4, 2, 30, 16, 150, 170, false); /* a past of 20, three tiles, the last ragged */
    paged_case(t, 2, 2, 64, 16, 129, 131, false); /* odd key count */
    paged_case(t, 4, 1, 17, 8, 130, 130, false);
    paged_case(t, 4, 2, 30, 16, 150, 171, true);  /* bf16 inputs: the tight bound (see dense) */
}

static const fc_test_case cases[] = {
    FC_CASE(test_attention_bf16_gemm_shapes),
    FC_CASE(test_attention_bf16_dense_vs_f32),
    FC_CASE(test_attention_bf16_paged_prefill_vs_f32),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
