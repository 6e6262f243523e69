/* test_bf16.c: the bf16 GEMM path (kernels/cpu/gemm_dnnl.c, --precision bf16) against the f32 reference.
 *
 * 1. The oneDNN linear on shapes that cross its blockings (M = 1, odd M, N, K, K not a multiple of 32, K
 *    above a 4096 k-block; M <= 4 runs our loop over the packed layout, kernels/cpu/gemv_bf16.c) with f32, f16 and bf16 weights, with and without bias. Two bounds per output,
 *    both from rounding analysis, with S = sum_k |x_k w_k| (exact products in f64):
 *    - against f64 sums of the bf16-ROUNDED inputs: only the f32 accumulation differs, |err| <= K u32 S
 *      with u32 = 2^-24 (the classic gamma_K bound). A path that skipped the rounding (the f32 kernel) is
 *      off by up to 2^-8 S and fails this;
 *    - against f64 sums of the f32 inputs (the reference): rounding x and w to bf16 moves each product by
 *      at most (2 u16 + u16^2) |x_k w_k|, u16 = 2^-8 (round to nearest, 8 significant bits: half a unit
 *      in the last place relative to the leading bit, 2^-7 / 2), so
 *      |err| <= (2 u16 + u16^2 + K u32) S.
 * 2. The tiny decoders of tests/fixtures/llm loaded with --precision bf16 against the same loaded with f32
 *    (the f32 path is what tests/unit/test_llm.c holds to transformers): one teacher-forced pass over the
 *    prompt and 200 greedy f32 tokens, reporting max |logit diff|, mean KL(p_f32 || p_bf16) per token and
 *    the share of positions whose argmax agrees, plus the free-running greedy agreement. Bounds: these
 *    2-layer models have logits of size ~1-5; bf16 inputs give relative GEMM errors of up to ~2^-8 per layer
 *    (random-signed, so well under the worst case), so logit errors of a few 1e-2 and KL of ~1e-5 are
 *    expected. Measured (oneDNN 2.6.3, AVX-512 BF16): max diff 0.024-0.058, KL 1.2e-5-4.7e-5, argmax
 *    agreement 98.1-100%. The bounds (0.25, 5e-4, 95%) sit 4-10x above that and far below what a wrong
 *    kernel gives (a transposed or unpacked weight: diffs ~1, KL ~0.1-1, agreement near chance). Free-
 *    running greedy agreement is printed, not asserted: one near-tie flips a token and the runs part.
 * Cases skip (not fail) where the bf16 path is not usable: a build without oneDNN, a CPU without
 * AVX-512 BF16 / AMX.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/compress/ccm.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/model/clip.h"
#include "core/kv/kv_pool.h"
#include "core/model/llm.h"
#include "core/tensor/dtype.h"
#include "kernels/cpu/gemm_dnnl.h"
#include "kernels/ops.h"
#include "kernels/wpack.h"
#include "tests/test.h"

#define U16 (1.0 / 256.0)        /* bf16 unit roundoff, 2^-8 (was written 2^-9: half the true worst case) */
#define U32 (1.0 / 16777216.0)   /* f32 unit roundoff, 2^-24 */

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static bool bf16_ready(fc_test *t) {
    if (!fc_precision_bf16_usable()) {
        fc_test_skip(t, fc_dnnl_built() ? "no AVX-512 BF16 / AMX on this CPU" : "built without oneDNN");
        return false;
    }
    return true;
}

static float round_bf16(float v) { return fc_bf16_to_f32(fc_f32_to_bf16(v)); }

/* One shape: y through fc_op_linear on a packed weight, checked against both bounds of the header. */
static void check_shape(fc_test *t, int64_t M, int64_t N, int64_t K, fc_dtype wdt, bool bias) {
    unsigned seed = (unsigned)(M * 131 + N * 17 + K + wdt);
    size_t es = fc_dtype_size(wdt);
    float *x = malloc(sizeof(float) * M * K), *wf = malloc(sizeof(float) * N * K), *y = malloc(sizeof(float) * M * N);
    float *b = malloc(sizeof(float) * N);
    void *wraw = malloc(es * N * K);
    FC_CHECK(t, x && wf && y && b && wraw, "out of memory");
    for (int64_t i = 0; i < M * K; i++) x[i] = frand(&seed);
    for (int64_t i = 0; i < N * K; i++) wf[i] = frand(&seed);
    for (int64_t n = 0; n < N; n++) b[n] = frand(&seed);
    /* the weight as stored (f16/bf16 checkpoints are rounded already; the reference uses those values) */
    fc_dtype_convert(wraw, wdt, wf, FC_DTYPE_F32, (size_t)(N * K));
    fc_dtype_convert(wf, FC_DTYPE_F32, wraw, wdt, (size_t)(N * K));
    for (int64_t i = 0; i < M * N; i++) y[i] = NAN;
    fc_tensor w = fc_tensor_view(wraw, wdt, FC_DEVICE_CPU, 2, (int64_t[]){N, K});
    fc_tensor xt = fc_tensor_view(x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K});
    fc_tensor yt = fc_tensor_view(y, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N});
    fc_tensor bt = fc_tensor_view(b, FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){N});
    fc_err e = fc_wpack_tensor(&w);
    if (!e) e = w.pack ? fc_op_linear(&yt, &xt, &w, bias ? &bt : NULL) : fc_err_set(FC_EINVAL, "weight not packed");
    fc_wpack_release(&w);
    int bad = 0;
    double worst_rounded = 0, worst_ref = 0;
    for (int64_t m = 0; !e && m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double want_r = 0, want = 0, S = 0;
            for (int64_t k = 0; k < K; k++) {
                double xv = x[m * K + k], wv = wf[n * K + k];
                want += xv * wv;
                want_r += (double)round_bf16(x[m * K + k]) * round_bf16(wf[n * K + k]);
                S += fabs(xv * wv);
            }
            if (bias) want += b[n], want_r += b[n];
            double got = y[m * N + n];
            /* the f32 bias add and output rounding add at most one more u32 of |y| */
            double tol_r = (double)K * U32 * S + 2 * U32 * (fabs(want_r) + 1);
            double tol = (2 * U16 + U16 * U16 + (double)K * U32) * S + 2 * U32 * (fabs(want) + 1);
            worst_rounded = fmax(worst_rounded, fabs(got - want_r) / tol_r);
            worst_ref = fmax(worst_ref, fabs(got - want) / tol);
            if ((!(fabs(got - want_r) <= tol_r) || !(fabs(got - want) <= tol)) && bad++ < 3)
                fc_test_fail(t, "%lldx%lldx%lld %s bias %d: y[%lld][%lld] = %.7g, want %.7g (bf16 inputs %.7g), S %.3g",
                             (long long)M, (long long)N, (long long)K, fc_dtype_name(wdt), bias, (long long)m,
                             (long long)n, got, want, want_r, S);
        }
    free(x), free(wf), free(y), free(b), free(wraw);
    FC_CHECK(t, !e, "%lldx%lldx%lld %s: %s", (long long)M, (long long)N, (long long)K, fc_dtype_name(wdt), fc_errmsg());
    FC_CHECK(t, bad == 0, "%d outputs outside the bounds", bad);
    (void)worst_rounded, (void)worst_ref;
}

static void test_bf16_linear_shape_sweep(fc_test *t) {
    if (!bf16_ready(t)) return;
    FC_CHECK(t, fc_precision_set(FC_PREC_BF16) == FC_OK, "%s", fc_errmsg());
    static const int64_t shapes[][3] = {
        {1, 1, 1},    {1, 37, 45},   {1, 64, 4096 + 77}, {2, 33, 31},  {3, 17, 200}, {5, 130, 96},
        {7, 96, 33},  {9, 40, 1000}, {16, 64, 64},       {31, 129, 47}, {64, 48, 160}, {97, 75, 303},
        {4, 200, 130}, /* M <= 4: the streaming loop of gemv_bf16.c, four rows at once, a ragged column block */
    };
    static const fc_dtype dts[] = {FC_DTYPE_BF16, FC_DTYPE_F16, FC_DTYPE_F32};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int d = 0; d < 3; d++) {
            check_shape(t, shapes[s][0], shapes[s][1], shapes[s][2], dts[d], (s + (size_t)d) % 2 == 0);
            if (t->failed) break;
        }
    fc_precision_set(FC_PREC_F32);
}

/* The f32 kernel must fail the tight bound: guards against a test that would pass without bf16 running. */
static void test_bf16_bound_rejects_f32_kernel(fc_test *t) {
    enum { M = 4, N = 8, K = 500 };
    unsigned seed = 5;
    float x[M * K], w[N * K], y[M * N];
    for (int i = 0; i < M * K; i++) x[i] = frand(&seed);
    for (int i = 0; i < N * K; i++) w[i] = frand(&seed);
    fc_tensor xt = fc_tensor_view(x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K});
    fc_tensor wt = fc_tensor_view(w, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, K});
    fc_tensor yt = fc_tensor_view(y, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N});
    FC_CHECK(t, fc_op_linear(&yt, &xt, &wt, NULL) == FC_OK, "%s", fc_errmsg());
    int outside = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double want_r = 0, S = 0;
            for (int k = 0; k < K; k++) {
                want_r += (double)round_bf16(x[m * K + k]) * round_bf16(w[n * K + k]);
                S += fabs((double)x[m * K + k] * w[n * K + k]);
            }
            outside += !(fabs(y[m * N + n] - want_r) <= K * U32 * S + 2 * U32 * (fabs(want_r) + 1));
        }
    FC_CHECK(t, outside > M * N / 2, "only %d of %d f32 outputs outside the bf16-input bound", outside, M * N);
}

static void test_bf16_precision_option(fc_test *t) {
    char a0[] = "fc-eval", a1[] = "--precision", a2[] = "f32", a3[] = "logits", a4[] = "--precision=bf16";
    char *argv[] = {a0, a1, a2, a3, NULL};
    int argc = 4;
    FC_CHECK(t, fc_precision_take_option(&argc, argv) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, argc == 2 && !strcmp(argv[1], "logits") && !argv[2], "argc %d", argc);
    FC_CHECK(t, fc_precision_get() == FC_PREC_F32, "precision %s", fc_precision_name(fc_precision_get()));
    char *twice[] = {a0, a1, a2, a4, NULL};
    argc = 4;
    FC_CHECK(t, fc_precision_take_option(&argc, twice) == FC_EINVAL && strstr(fc_errmsg(), "twice"), "%s",
             fc_errmsg());
    char bad[] = "--precision=fp8";
    char *badv[] = {a0, bad, NULL};
    argc = 2;
    FC_CHECK(t, fc_precision_take_option(&argc, badv) == FC_EINVAL && strstr(fc_errmsg(), "f32 or bf16"), "%s",
             fc_errmsg());
    char *last[] = {a0, a1, NULL};
    argc = 2;
    FC_CHECK(t, fc_precision_take_option(&argc, last) == FC_EINVAL, "a trailing --precision must need a value");
    fc_precision_set(FC_PREC_F32);
}

/* ---- tiny decoders ---- */

#define STEPS 200

static fc_kv_pool *pool_for(const fc_llm *m, int tokens) {
    fc_kv_pool_params p = fc_llm_kv_params(m, 16, (tokens + 15) / 16 + 1, 1);
    fc_kv_pool *pool = NULL;
    return fc_kv_pool_create(&pool, &p) ? NULL : pool;
}

/* logits (n, V) of one teacher-forced pass over ids. */
static fc_err forward_all(fc_llm *m, const int32_t *ids, int n, float *logits) {
    fc_kv_pool *pool = pool_for(m, n);
    if (!pool) return FC_ENOMEM;
    fc_kv_handle seq;
    fc_err e = fc_kv_seq_create(pool, &seq);
    fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = n};
    if (!e) e = fc_llm_forward(m, pool, &in, 1, FC_LLM_ROWS_ALL, logits, NULL);
    fc_kv_pool_free(pool);
    return e;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Greedy continuation of ids[0..T) to T + STEPS tokens in ids (one prefill, then decode steps). */
static fc_err greedy(fc_llm *m, int32_t *ids, int T, float *lg) {
    fc_kv_pool *pool = pool_for(m, T + STEPS);
    if (!pool) return FC_ENOMEM;
    fc_kv_handle seq;
    fc_err e = fc_kv_seq_create(pool, &seq);
    fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = T};
    if (!e) e = fc_llm_forward(m, pool, &in, 1, FC_LLM_ROWS_LAST, lg, NULL);
    for (int s = 0; !e && s < STEPS; s++) {
        ids[T + s] = argmax(lg, m->cfg.vocab_size);
        if (s + 1 < STEPS) e = fc_llm_decode(m, pool, &seq, &ids[T + s], 1, lg);
    }
    fc_kv_pool_free(pool);
    return e;
}

static void check_model(fc_test *t, const char *name) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/llm/%s", name);
    fc_llm *m32 = NULL, *m16 = NULL;
    fc_st_file ref;
    memset(&ref, 0, sizeof ref);
    char path[300];
    snprintf(path, sizeof path, "%s/ref.safetensors", dir);
    FC_CHECK(t, fc_st_open(&ref, path) == FC_OK, "%s", fc_errmsg());
    const fc_st_entry *pe = fc_st_find(&ref, "seq0.ids");
    fc_tensor pt;
    FC_CHECK(t, pe && fc_st_tensor(pe, &pt) == FC_OK && pt.dtype == FC_DTYPE_I32, "%s: seq0.ids", name);
    int T = (int)pe->shape[0], n = T + STEPS;
    fc_precision_set(FC_PREC_F32);
    fc_err e = fc_llm_load(&m32, dir);
    if (!e) e = fc_precision_set(FC_PREC_BF16);
    if (!e) e = fc_llm_load(&m16, dir);
    fc_precision_set(FC_PREC_F32);
    int V = m32 ? m32->cfg.vocab_size : 1;
    int32_t *ids = malloc(sizeof(int32_t) * n), *ids16 = malloc(sizeof(int32_t) * n);
    float *l32 = malloc(sizeof(float) * (size_t)n * V), *l16 = malloc(sizeof(float) * (size_t)n * V);
    if (!e && (!ids || !ids16 || !l32 || !l16)) e = FC_ENOMEM;
    if (!e) {
        memcpy(ids, pt.data, sizeof(int32_t) * T);
        memcpy(ids16, pt.data, sizeof(int32_t) * T);
        e = greedy(m32, ids, T, l32);
    }
    if (!e) e = greedy(m16, ids16, T, l16);
    if (!e) e = forward_all(m32, ids, n, l32);
    if (!e) e = forward_all(m16, ids, n, l16);
    double maxdiff = 0, kl = 0;
    int agree = 0, free_run = 0;
    for (int i = 0; !e && i < n; i++) {
        const float *a = l32 + (size_t)i * V, *b = l16 + (size_t)i * V;
        double ma = a[argmax(a, V)], mb = b[argmax(b, V)], za = 0, zb = 0;
        for (int v = 0; v < V; v++) {
            maxdiff = fmax(maxdiff, fabs((double)a[v] - b[v]));
            za += exp(a[v] - ma), zb += exp(b[v] - mb);
        }
        for (int v = 0; v < V; v++) {
            double pa = exp(a[v] - ma) / za;
            kl += pa * ((a[v] - ma - log(za)) - (b[v] - mb - log(zb)));
        }
        agree += argmax(a, V) == argmax(b, V);
    }
    while (!e && free_run < STEPS && ids[T + free_run] == ids16[T + free_run]) free_run++;
    kl /= n;
    if (!e)
        printf("  %-15s bf16 vs f32 over %d positions: max |logit diff| %.4f, mean KL %.2e, argmax agreement "
               "%.1f%%, free-running greedy identical for %d of %d steps\n",
               name, n, maxdiff, kl, 100.0 * agree / n, free_run, STEPS);
    free(ids), free(ids16), free(l32), free(l16);
    fc_llm_free(m32);
    fc_llm_free(m16);
    fc_st_close(&ref);
    FC_CHECK(t, !e, "%s: %s", name, fc_errmsg());
    FC_CHECK(t, maxdiff <= 0.25, "%s: max |logit diff| %.4f > 0.25", name, maxdiff);
    FC_CHECK(t, kl <= 5e-4, "%s: mean KL %.3g > 5e-4", name, kl);
    FC_CHECK(t, agree >= 0.95 * n, "%s: argmax agrees at %d of %d positions", name, agree, n);
}

static void test_bf16_tiny_decoders_match_f32(fc_test *t) {
    if (!bf16_ready(t)) return;
    static const char *const models[] = {"llama_plain", "llama_gqa_tied", "qwen2_odd", "llama_f16", "qwen2_bf16"};
    for (size_t i = 0; i < sizeof models / sizeof models[0] && !t->failed; i++) check_model(t, models[i]);
}

/* The CCM window MLPs (core/compress/ccm.c) through the packed bf16 GEMM against their f32 path, on the
 * MiniCPM-layout fixture (D 16, cf 5: Linear 80 -> hidden -> hidden -> 16 with ReLUs). Each of the three
 * GEMMs moves its outputs by at most ~2^-8 of sum |x w| (see the header); relative to the output's scale
 * that compounds to a few 1e-3, so 2% of max |y| is a loose bound that a wrong or missing weight (errors of
 * order |y|) still fails; and some output must differ, or the bf16 path did not run. */
static void test_bf16_ccm_mlp_matches_f32(fc_test *t) {
    if (!bf16_ready(t)) return;
    const char *path = "tests/fixtures/compress/ccm_minicpm.safetensors";
    enum { Hkv = 2, S = 60, D = 16 };
    fc_ccm *c32 = NULL, *c16 = NULL;
    fc_precision_set(FC_PREC_F32);
    fc_err e = fc_ccm_load(path, &c32);
    if (!e) e = fc_precision_set(FC_PREC_BF16);
    if (!e) e = fc_ccm_load(path, &c16);
    fc_precision_set(FC_PREC_F32);
    static float k[Hkv * S * D], v[Hkv * S * D], k32[Hkv * S * D], v32[Hkv * S * D], k16[Hkv * S * D],
        v16[Hkv * S * D];
    unsigned seed = 11;
    for (int i = 0; i < Hkv * S * D; i++) k[i] = frand(&seed), v[i] = frand(&seed);
    int n32 = 0, n16 = 0;
    fc_ccm_run_opts rule = {-1, -1, false};
    if (!e) e = fc_ccm_apply_layer(c32, 0, k, v, Hkv, S, NULL, 0, &rule, k32, v32, &n32);
    if (!e) e = fc_ccm_apply_layer(c16, 0, k, v, Hkv, S, NULL, 0, &rule, k16, v16, &n16);
    fc_ccm_free(c32);
    fc_ccm_free(c16);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    FC_CHECK(t, n32 == n16 && n32 == 12, "lengths %d, %d", n32, n16);
    double ymax = 0, dmax = 0;
    for (int h = 0; h < Hkv; h++)
        for (int i = 0; i < n32 * D; i++) {
            size_t at = (size_t)h * S * D + i;
            ymax = fmax(ymax, fmax(fabs(k32[at]), fabs(v32[at])));
            dmax = fmax(dmax, fmax(fabs(k32[at] - k16[at]), fabs(v32[at] - v16[at])));
        }
    printf("  ccm bf16 vs f32: max |diff| %.3g, max |y| %.3g\n", dmax, ymax);
    FC_CHECK(t, dmax <= 0.02 * ymax, "max |diff| %.4g > 2%% of max |y| %.4g", dmax, ymax);
    FC_CHECK(t, dmax > 0, "bf16 output identical to f32: the packed path did not run");
}

/* CLIP tower + LLaVA projector (tests/fixtures/vision/llava-tiny) with every Linear packed for bf16,
 * against transformers' f32 output for the first fixture image (the f32 path matches it to 1e-4 in
 * test_vision.c). 2 encoder layers + projector = 14 chained bf16 GEMMs (plus the patch conv as a GEMM);
 * their ~2^-9 relative input rounding leaves errors of a few 1e-3 of the output's scale (measured: 0.6%
 * of max |feat|, 0.0625 of 10.8), so the bound is 2% of max |feat| (a wrong or missing weight: errors of
 * order |feat|); some error must remain (bf16 ran). */
static void test_bf16_clip_projector_vs_transformers(fc_test *t) {
    if (!bf16_ready(t)) return;
    fc_model_config cfg;
    fc_st_model st;
    fc_st_file f;
    fc_clip *m = NULL;
    memset(&st, 0, sizeof st);
    FC_CHECK(t, fc_hfconfig_load(&cfg, "tests/fixtures/vision/llava-tiny") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_st_model_open(&st, "tests/fixtures/vision/llava-tiny") == FC_OK, "%s", fc_errmsg());
    fc_err e = fc_precision_set(FC_PREC_BF16);
    if (!e) e = fc_clip_load(&m, &st, &cfg);
    fc_precision_set(FC_PREC_F32);
    if (!e) e = fc_st_open(&f, "tests/fixtures/vision/llava-cases.safetensors");
    if (e) {
        fc_clip_free(m);
        fc_st_model_close(&st);
        FC_CHECK(t, false, "%s", fc_errmsg());
    }
    const fc_st_entry *pe = fc_st_find(&f, "pixels_0"), *fe = fc_st_find(&f, "feat_0");
    fc_tensor px, want, feat = {0};
    const int64_t fs[2] = {fc_clip_n_tokens(m), fc_clip_out_dim(m)};
    if (!pe || !fe || fc_st_tensor(pe, &px) || fc_st_tensor(fe, &want) || fc_tensor_numel(&want) != fs[0] * fs[1])
        e = fc_err_set(FC_EFORMAT, "llava-cases: pixels_0 / feat_0 missing or of another size");
    if (!e) e = fc_tensor_create(&feat, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs);
    if (!e) e = fc_clip_encode(m, &px, &feat);
    double ymax = 0, dmax = 0;
    for (int64_t i = 0; !e && i < fs[0] * fs[1]; i++) {
        float a = ((float *)feat.data)[i], b = ((float *)want.data)[i];
        ymax = fmax(ymax, fabs(b));
        dmax = fmax(dmax, fabs((double)a - b));
    }
    fc_tensor_free(&feat);
    fc_st_close(&f);
    fc_clip_free(m);
    fc_st_model_close(&st);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    printf("  clip+projector bf16 vs transformers f32: max |diff| %.3g, max |feat| %.3g\n", dmax, ymax);
    FC_CHECK(t, dmax <= 0.02 * ymax, "max |diff| %.4g > 2%% of max |feat| %.4g", dmax, ymax);
    FC_CHECK(t, dmax > 1e-4 * ymax, "bf16 output matches f32 to 1e-4: the packed path did not run");
}

static void test_bf16_refused_without_kernels(fc_test *t) {
    if (fc_precision_bf16_usable()) {
        fc_test_skip(t, "this machine has the bf16 kernels");
        return;
    }
    FC_CHECK(t, fc_precision_set(FC_PREC_BF16) == FC_EUNSUPPORTED && strstr(fc_errmsg(), "precision bf16: "), "%s",
             fc_errmsg());
    FC_CHECK(t, fc_precision_get() == FC_PREC_F32, "precision changed after a refusal");
}

static const fc_test_case cases[] = {
    FC_CASE(test_bf16_precision_option),        FC_CASE(test_bf16_bound_rejects_f32_kernel),
    FC_CASE(test_bf16_linear_shape_sweep),      FC_CASE(test_bf16_tiny_decoders_match_f32),
    FC_CASE(test_bf16_ccm_mlp_matches_f32),     FC_CASE(test_bf16_clip_projector_vs_transformers),
    FC_CASE(test_bf16_refused_without_kernels),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
