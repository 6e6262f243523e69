/* test_ops.c: every CPU op of kernels/ops.h against torch / transformers outputs
 * (tests/fixtures/ops/ops.safetensors, made by tools/make_ops_fixtures.py), the linear paths against a
 * double-precision definition on larger shapes, aliasing, and the errors for bad arguments.
 *
 * Tolerances are atol + rtol*|want| per op, with the reason beside each. f16/bf16 parameters are converted
 * exactly by both sides, so they get the same tolerance as f32 ones: only f32 rounding order differs.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/io/safetensors.h"
#include "core/tensor/tensor.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu.h"
#include "kernels/ops.h"
#include "tests/test.h"

#define FIXTURE "tests/fixtures/ops/ops.safetensors"

static const char *const dts[] = {"f32", "f16", "bf16"};

static bool open_fixture(fc_test *t, fc_st_file *f) {
    fc_err e = fc_st_open(f, FIXTURE);
    if (e) return fc_test_fail(t, "%s: %s", FIXTURE, fc_errmsg());
    return true;
}

/* A view of fixture tensor "<case>.<field>"; fails the test when absent. */
static bool get(fc_test *t, const fc_st_file *f, const char *cs, const char *field, fc_tensor *out) {
    char name[160];
    snprintf(name, sizeof name, "%s.%s", cs, field);
    const fc_st_entry *e = fc_st_find(f, name);
    t->checks++;
    if (!e) return fc_test_fail(t, "%s: tensor '%s' missing", FIXTURE, name);
    if (fc_st_tensor(e, out)) return fc_test_fail(t, "%s: %s", FIXTURE, fc_errmsg());
    return true;
}

static bool has(const fc_st_file *f, const char *cs, const char *field) {
    char name[160];
    snprintf(name, sizeof name, "%s.%s", cs, field);
    return fc_st_find(f, name) != NULL;
}

/* An f32 CPU tensor shaped like `like`, zero-filled. */
static bool out_like(fc_test *t, fc_tensor *y, const fc_tensor *like) {
    if (fc_tensor_create(y, FC_DTYPE_F32, FC_DEVICE_CPU, like->ndim, like->shape))
        return fc_test_fail(t, "create: %s", fc_errmsg());
    return true;
}

static bool op_ok(fc_test *t, fc_err e, const char *what) {
    t->checks++;
    if (e) return fc_test_fail(t, "%s: %s", what, fc_errmsg());
    return true;
}

static bool close_to(fc_test *t, const char *what, const fc_tensor *got, const fc_tensor *want, double atol,
                     double rtol) {
    if (fc_tensor_numel(got) != fc_tensor_numel(want))
        return fc_test_fail(t, "%s: %lld values, want %lld", what, (long long)fc_tensor_numel(got),
                            (long long)fc_tensor_numel(want));
    return fc_test_close(t, what, got->data, want->data, (size_t)fc_tensor_numel(want), atol, rtol);
}

/* ---- fixtures ---- */

static void test_linear_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const int Ts[] = {1, 5, 37}, Ks[] = {40, 24};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) {
                char cs[64];
                snprintf(cs, sizeof cs, "linear.%s.T%d.K%d", dts[d], Ts[i], Ks[j]);
                fc_tensor x, w, b, want, y;
                if (!get(t, &f, cs, "x", &x) || !get(t, &f, cs, "w", &w) || !get(t, &f, cs, "want", &want)) break;
                bool hb = has(&f, cs, "b");
                if (hb && !get(t, &f, cs, "b", &b)) break;
                if (!out_like(t, &y, &want)) break;
                /* f32 sums of <= 40 products of size ~1: rounding differences stay below 1e-6 */
                if (op_ok(t, fc_op_linear(&y, &x, &w, hb ? &b : NULL), cs)) close_to(t, cs, &y, &want, 2e-6, 1e-5);
                /* the same through several sgemm blocks (16 and 7 weight rows at a time) */
                for (int nb = 7; nb <= 16; nb += 9) {
                    for (int64_t q = 0; q < fc_tensor_numel(&y); q++) ((float *)y.data)[q] = NAN; /* must be overwritten */
                    fc_err e = fc_cpu_linear_blocked(y.data, x.data, w.data, w.dtype, hb ? b.data : NULL,
                                                     hb ? b.dtype : FC_DTYPE_F32, x.shape[0], w.shape[0], w.shape[1], nb);
                    if (op_ok(t, e, cs)) close_to(t, cs, &y, &want, 2e-6, 1e-5);
                }
                fc_tensor_free(&y);
            }
    fc_st_close(&f);
}

static void test_rmsnorm_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const int Ts[] = {1, 37};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 2; i++) {
            char cs[64];
            snprintf(cs, sizeof cs, "rmsnorm.%s.T%d", dts[d], Ts[i]);
            fc_tensor x, w, eps, want, y;
            if (!get(t, &f, cs, "x", &x) || !get(t, &f, cs, "w", &w) || !get(t, &f, cs, "eps", &eps) ||
                !get(t, &f, cs, "want", &want) || !out_like(t, &y, &want))
                break;
            /* one rsqrt and two products per value: a few ulps of f32 */
            if (op_ok(t, fc_op_rmsnorm(&y, &x, &w, *(float *)eps.data), cs)) close_to(t, cs, &y, &want, 1e-6, 2e-6);
            /* in place (y aliases x), as the decoder uses it */
            fc_tensor_copy(&y, &x);
            if (op_ok(t, fc_op_rmsnorm(&y, &y, &w, *(float *)eps.data), cs)) close_to(t, cs, &y, &want, 1e-6, 2e-6);
            fc_tensor_free(&y);
        }
    fc_st_close(&f);
}

static void test_layernorm_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const int Ts[] = {1, 37, 5};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 3; i++) {
            char cs[64];
            snprintf(cs, sizeof cs, "layernorm.%s.T%d", dts[d], Ts[i]);
            fc_tensor x, w, b, eps, want, y;
            if (!get(t, &f, cs, "x", &x) || !get(t, &f, cs, "w", &w) || !get(t, &f, cs, "b", &b) ||
                !get(t, &f, cs, "eps", &eps) || !get(t, &f, cs, "want", &want) || !out_like(t, &y, &want))
                break;
            /* torch's f32 Welford moments vs our double ones: a few ulps, amplified by |w| ~ 2 and by the
             * mean-50 case (x - mean loses ~6 bits there in torch's x*rstd - mean*rstd form) */
            if (op_ok(t, fc_op_layernorm(&y, &x, &w, &b, *(float *)eps.data), cs)) close_to(t, cs, &y, &want, 1e-5, 1e-5);
            fc_tensor_copy(&y, &x);
            if (op_ok(t, fc_op_layernorm(&y, &y, &w, &b, *(float *)eps.data), cs)) close_to(t, cs, &y, &want, 1e-5, 1e-5);
            fc_tensor_free(&y);
        }
    fc_st_close(&f);
}

/* The activations in double, from their definitions. */
static double act_def(fc_act a, double x) {
    switch (a) {
    case FC_ACT_SILU: return x / (1 + exp(-x));
    case FC_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case FC_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case FC_ACT_QUICK_GELU: return x / (1 + exp(-1.702 * x));
    default: return x > 0 ? x : 0;
    }
}

static void test_act_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const char *const names[FC_ACT_COUNT] = {"silu", "gelu", "gelu_pytorch_tanh", "quick_gelu", "relu"};
    fc_tensor x, want, y;
    float *def = NULL;
    if (!get(t, &f, "act", "x", &x) || !out_like(t, &y, &x)) goto done;
    int64_t n = fc_tensor_numel(&x);
    def = fc_malloc((size_t)n * sizeof(float), "test");
    for (int a = 0; a < FC_ACT_COUNT && def; a++) {
        char cs[64];
        snprintf(cs, sizeof cs, "act.%s", names[a]);
        if (!get(t, &f, cs, "want", &want)) break;
        for (int64_t i = 0; i < n; i++) def[i] = (float)act_def((fc_act)a, ((const float *)x.data)[i]);
        /* torch's CPU gelu kernels carry their own erf/tanh approximations: over [-6, 6] they stray from the
         * exact function by up to 1.2e-6 (gelu) and 4.8e-7 (gelu tanh) absolute (measured against math.erf in
         * double). We compute the exact function to a few ulps (checked against the double definition below),
         * so the torch comparison allows that absolute error; silu, quick_gelu and relu agree to ulps. */
        double atol = (a == FC_ACT_GELU || a == FC_ACT_GELU_TANH) ? 1.5e-6 : 1e-7;
        if (op_ok(t, fc_op_act(&y, &x, (fc_act)a), cs)) {
            close_to(t, cs, &y, &want, atol, 4e-6);
            /* libm's expf/erff/tanhf: a few ulps of the exact value (absolute part for results near 0) */
            fc_test_close(t, cs, y.data, def, (size_t)n, 1e-9, 1e-6);
        }
        fc_tensor_copy(&y, &x);
        if (op_ok(t, fc_op_act(&y, &y, (fc_act)a), cs)) close_to(t, cs, &y, &want, atol, 4e-6);
    }
    fc_tensor_free(&y);
done:
    free(def);
    fc_st_close(&f);
}

static void test_silu_mul_add_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    fc_tensor g, u, a, b, want, y;
    if (get(t, &f, "silu_mul", "gate", &g) && get(t, &f, "silu_mul", "up", &u) &&
        get(t, &f, "silu_mul", "want", &want) && out_like(t, &y, &want)) {
        if (op_ok(t, fc_op_silu_mul(&y, &g, &u), "silu_mul")) close_to(t, "silu_mul", &y, &want, 1e-7, 4e-6);
        fc_tensor_copy(&y, &g); /* y aliases gate */
        if (op_ok(t, fc_op_silu_mul(&y, &y, &u), "silu_mul")) close_to(t, "silu_mul in place", &y, &want, 1e-7, 4e-6);
        fc_tensor_free(&y);
    }
    if (get(t, &f, "add", "a", &a) && get(t, &f, "add", "b", &b) && get(t, &f, "add", "want", &want) &&
        out_like(t, &y, &want)) {
        /* one f32 addition: exact agreement */
        if (op_ok(t, fc_op_add(&y, &a, &b), "add")) close_to(t, "add", &y, &want, 0, 0);
        fc_tensor_copy(&y, &a);
        if (op_ok(t, fc_op_add(&y, &y, &b), "add")) close_to(t, "add in place", &y, &want, 0, 0);
        fc_tensor_free(&y);
    }
    fc_st_close(&f);
}

static void test_embedding_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    for (int d = 0; d < 3; d++) {
        char cs[64];
        snprintf(cs, sizeof cs, "embedding.%s", dts[d]);
        fc_tensor tab, ids, want, y;
        if (!get(t, &f, cs, "table", &tab) || !get(t, &f, cs, "ids", &ids) || !get(t, &f, cs, "want", &want) ||
            !out_like(t, &y, &want))
            break;
        /* a row copy with an exact conversion: bit-identical */
        if (op_ok(t, fc_op_embedding(&y, &tab, ids.data, (int)ids.shape[0]), cs)) close_to(t, cs, &y, &want, 0, 0);
        fc_tensor_free(&y);
    }
    fc_st_close(&f);
}

static void test_rope_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const char *const cases[] = {"rope.D24.p0", "rope.D128.p450", "rope.D128.p880"};
    for (int i = 0; i < 3; i++) {
        fc_tensor x, pos, theta, want, y;
        if (!get(t, &f, cases[i], "x", &x) || !get(t, &f, cases[i], "pos", &pos) ||
            !get(t, &f, cases[i], "theta", &theta) || !get(t, &f, cases[i], "want", &want) || !out_like(t, &y, &x))
            break;
        fc_tensor_copy(&y, &x);
        /* same f32 operation order as HF: angles agree bit for bit, cos/sin within an ulp (libm vs Sleef),
         * so outputs (|x| < 5) agree to ~1e-6 even at positions near 1000 */
        if (op_ok(t, fc_op_rope(&y, pos.data, *(float *)theta.data), cases[i]))
            close_to(t, cases[i], &y, &want, 2e-6, 1e-6);
        fc_tensor_free(&y);
    }
    fc_st_close(&f);
}

static void test_attention_fixtures(fc_test *t) {
    fc_st_file f;
    if (!open_fixture(t, &f)) return;
    static const char *const cases[] = {"attention.H14.Hkv2.D24.T37.S37.c1", "attention.H7.Hkv1.D128.T1.S37.c1",
                                        "attention.H4.Hkv4.D24.T5.S37.c0", "attention.H7.Hkv1.D128.T37.S37.c0",
                                        "attention.H14.Hkv2.D24.T5.S37.c1", "attention.H14.Hkv2.D24.T70.S70.c1",
                                        "attention.H4.Hkv2.D72.T64.S80.c0"};
    for (int i = 0; i < 7; i++) {
        fc_tensor q, k, v, scale, want, y;
        if (!get(t, &f, cases[i], "q", &q) || !get(t, &f, cases[i], "k", &k) || !get(t, &f, cases[i], "v", &v) ||
            !get(t, &f, cases[i], "scale", &scale) || !get(t, &f, cases[i], "want", &want) || !out_like(t, &y, &want))
            break;
        bool causal = strstr(cases[i], ".c1") != NULL;
        /* f32 dots of D <= 128 terms (scores up to ~30 before scaling), exp, sums over 37 keys: ~1e-6 */
        if (op_ok(t, fc_op_attention(&y, &q, &k, &v, *(float *)scale.data, causal), cases[i]))
            close_to(t, cases[i], &y, &want, 3e-6, 1e-5);
        /* out shaped like q (T, H, D) is the same memory layout */
        fc_tensor y3 = fc_tensor_view(y.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, q.shape);
        memset(y.data, 0, fc_tensor_nbytes(&y));
        if (op_ok(t, fc_op_attention(&y3, &q, &k, &v, *(float *)scale.data, causal), cases[i]))
            close_to(t, cases[i], &y, &want, 3e-6, 1e-5);
        fc_tensor_free(&y);
    }
    fc_st_close(&f);
}

/* ---- linear on larger shapes against the definition in double ---- */

static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }
static float urand(uint32_t *s) { return (float)(lcg(s) >> 8) / 16777216.0f * 2.0f - 1.0f; }

static void test_linear_large_vs_double(fc_test *t) {
    enum { K = 1037, N = 67, MMAX = 37 };
    static const int Ms[] = {1, 3, 4, 9, 37};
    uint32_t seed = 7;
    float *x = fc_malloc(sizeof(float) * MMAX * K, "test"), *wf = fc_malloc(sizeof(float) * N * K, "test");
    uint16_t *wh = fc_malloc(sizeof(uint16_t) * N * K, "test");
    float *b = fc_malloc(sizeof(float) * N, "test");
    FC_CHECK(t, x && wf && wh && b, "alloc");
    for (int i = 0; i < MMAX * K; i++) x[i] = urand(&seed);
    for (int i = 0; i < N; i++) b[i] = urand(&seed);
    for (int d = 0; d < 3 && !t->failed; d++) {
        fc_dtype dt = d == 0 ? FC_DTYPE_F32 : d == 1 ? FC_DTYPE_F16 : FC_DTYPE_BF16;
        for (int i = 0; i < N * K; i++) {
            float v = urand(&seed);
            if (dt == FC_DTYPE_F16) wh[i] = fc_f32_to_f16(v), v = fc_f16_to_f32(wh[i]);
            if (dt == FC_DTYPE_BF16) wh[i] = fc_f32_to_bf16(v), v = fc_bf16_to_f32(wh[i]);
            wf[i] = v;
        }
        fc_tensor w = fc_tensor_view(dt == FC_DTYPE_F32 ? (void *)wf : (void *)wh, dt, FC_DEVICE_CPU, 2,
                                     (int64_t[]){N, K});
        fc_tensor bt = fc_tensor_view(b, FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){N});
        for (int mi = 0; mi < 5; mi++) {
            int M = Ms[mi];
            fc_tensor xt = fc_tensor_view(x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K}), y;
            FC_CHECK(t, !fc_tensor_create(&y, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N}), "%s", fc_errmsg());
            fc_err e = fc_op_linear(&y, &xt, &w, &bt);
            const float *yv = y.data;
            for (int m = 0; m < M && !e; m++)
                for (int n = 0; n < N; n++) {
                    double ref = b[n], mag = fabs(b[n]);
                    for (int k = 0; k < K; k++) {
                        ref += (double)x[m * K + k] * wf[n * K + k];
                        mag += fabs((double)x[m * K + k] * wf[n * K + k]);
                    }
                    /* f32 accumulation of 1037 terms: error ~ sqrt(K) * 2^-24 * sum|terms| << 1e-5 * sum|terms| */
                    if (!(fabs(yv[m * N + n] - ref) <= 1e-5 * mag)) {
                        fc_test_fail(t, "%s M=%d y[%d,%d] = %.7g, want %.7g (sum|terms| %.3g)", fc_dtype_name(dt), M, m,
                                     n, yv[m * N + n], ref, mag);
                        m = M;
                        break;
                    }
                }
            t->checks++;
            fc_tensor_free(&y);
            FC_CHECK(t, e == FC_OK, "linear %s M=%d: %s", fc_dtype_name(dt), M, fc_errmsg());
        }
    }
    free(x), free(wf), free(wh), free(b);
}

/* The softmax's exp against exp in double over its whole domain (x - max in [-100, 0]), every lane and tail. */
static void test_exp_sub_sum(fc_test *t) {
    enum { N = 20011 };
    float *p = fc_malloc(sizeof(float) * N, "test"), *want = fc_malloc(sizeof(float) * N, "test");
    FC_CHECK(t, p && want, "alloc");
    double sum = 0;
    for (int i = 0; i < N; i++) {
        p[i] = 3.0f - 103.0f * (float)i / (N - 1); /* x - 3 from 0 down to -103, past the underflow at -87.3 */
        want[i] = (float)exp((double)p[i] - 3.0);
        sum += exp((double)p[i] - 3.0);
    }
    float got_sum = fc_cpu_exp_sub_sum(p, 3.0f, N);
    /* libm expf is within an ulp (1.2e-7 relative); the absolute part covers subnormal results */
    fc_test_close(t, "exp", p, want, N, 1.5e-45, 1.2e-7);
    free(p), free(want);
    /* an f32 running sum of 20011 terms (as torch's softmax takes it): ~sqrt(N) * 2^-24 ~ 1e-5 relative */
    FC_CHECK(t, fabs(got_sum - sum) <= 3e-5 * sum, "sum %.9g want %.9g", got_sum, sum);
}

/* ---- errors ---- */

#define EXPECT_ERR(t, call, code, ...)                                                                       \
    do {                                                                                                     \
        fc_err_clear();                                                                                      \
        fc_err e_ = (call);                                                                                  \
        FC_CHECK(t, e_ == (code), "%s: got %d (%s), want %d", #call, e_, fc_errmsg(), code);                 \
        const char *want_[] = {__VA_ARGS__};                                                                 \
        for (size_t i_ = 0; i_ < sizeof want_ / sizeof want_[0]; i_++)                                       \
            FC_CHECK(t, strstr(fc_errmsg(), want_[i_]), "%s: message '%s' lacks '%s'", #call, fc_errmsg(),   \
                     want_[i_]);                                                                             \
    } while (0)

static float buf_a[4096], buf_b[4096], buf_c[4096], buf_d[4096];
static fc_tensor tv(float *p, int ndim, const int64_t *shape) { return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, ndim, shape); }

static void test_errors_shapes(fc_test *t) {
    fc_tensor x = tv(buf_a, 2, (int64_t[]){3, 25}), w = tv(buf_b, 2, (int64_t[]){10, 24});
    fc_tensor y = tv(buf_c, 2, (int64_t[]){3, 10}), b = tv(buf_d, 1, (int64_t[]){9});
    EXPECT_ERR(t, fc_op_linear(&y, &x, &w, NULL), FC_ESHAPE, "linear", "[3,25]", "[10,24]");
    x.shape[1] = 24;
    EXPECT_ERR(t, fc_op_linear(&y, &x, &w, &b), FC_ESHAPE, "linear", "b [9]");
    y.shape[0] = 4;
    EXPECT_ERR(t, fc_op_linear(&y, &x, &w, NULL), FC_ESHAPE, "linear", "y [4,10]");
    fc_tensor w3 = tv(buf_b, 3, (int64_t[]){2, 5, 24});
    EXPECT_ERR(t, fc_op_linear(&y, &x, &w3, NULL), FC_ESHAPE, "linear", "[2,5,24]");
    EXPECT_ERR(t, fc_op_linear(&y, NULL, &w, NULL), FC_EINVAL, "linear", "x");

    fc_tensor nx = tv(buf_a, 2, (int64_t[]){3, 24}), nw = tv(buf_b, 1, (int64_t[]){23}), ny = tv(buf_c, 2, (int64_t[]){3, 24});
    EXPECT_ERR(t, fc_op_rmsnorm(&ny, &nx, &nw, 1e-5f), FC_ESHAPE, "rmsnorm", "[3,24]", "[23]");
    EXPECT_ERR(t, fc_op_layernorm(&ny, &nx, &nw, NULL, 1e-5f), FC_ESHAPE, "layernorm", "[23]");
    nw.shape[0] = 24;
    EXPECT_ERR(t, fc_op_rmsnorm(&ny, &nx, &nw, -1.0f), FC_EINVAL, "rmsnorm", "eps");
    ny.shape[0] = 2;
    EXPECT_ERR(t, fc_op_rmsnorm(&ny, &nx, &nw, 1e-5f), FC_ESHAPE, "rmsnorm", "[2,24]");
    EXPECT_ERR(t, fc_op_act(&ny, &nx, FC_ACT_SILU), FC_ESHAPE, "act", "[2,24]", "[3,24]");
    EXPECT_ERR(t, fc_op_act(&nx, &nx, (fc_act)99), FC_EINVAL, "act", "99");
    EXPECT_ERR(t, fc_op_silu_mul(&nx, &nx, &ny), FC_ESHAPE, "silu_mul", "[2,24]");
    EXPECT_ERR(t, fc_op_add(&nx, &ny, &nx), FC_ESHAPE, "add", "[2,24]");

    int32_t ids[3] = {0, 5, 50};
    fc_tensor tab = tv(buf_a, 2, (int64_t[]){50, 24}), ey = tv(buf_c, 2, (int64_t[]){3, 24});
    EXPECT_ERR(t, fc_op_embedding(&ey, &tab, ids, 3), FC_EINVAL, "embedding", "id 50", "position 2", "[50,24]");
    ids[2] = -1;
    EXPECT_ERR(t, fc_op_embedding(&ey, &tab, ids, 3), FC_EINVAL, "embedding", "id -1");
    ids[2] = 1;
    EXPECT_ERR(t, fc_op_embedding(&ey, &tab, ids, 2), FC_ESHAPE, "embedding", "[3,24]");
    EXPECT_ERR(t, fc_op_embedding(&ey, &tab, NULL, 3), FC_EINVAL, "embedding", "NULL");

    int32_t pos[4] = {0, 1, 2, 3};
    fc_tensor rx = tv(buf_a, 3, (int64_t[]){4, 2, 23});
    EXPECT_ERR(t, fc_op_rope(&rx, pos, 1e4f), FC_EUNSUPPORTED, "rope", "[4,2,23]", "even");
    fc_tensor rx2 = tv(buf_a, 2, (int64_t[]){4, 48});
    EXPECT_ERR(t, fc_op_rope(&rx2, pos, 1e4f), FC_ESHAPE, "rope", "[4,48]");
    rx.shape[2] = 24;
    EXPECT_ERR(t, fc_op_rope(&rx, pos, 0.0f), FC_EINVAL, "rope", "theta");
    EXPECT_ERR(t, fc_op_rope(&rx, NULL, 1e4f), FC_EINVAL, "rope", "pos");

    fc_tensor q = tv(buf_a, 3, (int64_t[]){5, 6, 8}), k = tv(buf_b, 3, (int64_t[]){4, 4, 8});
    fc_tensor v = tv(buf_c, 3, (int64_t[]){4, 4, 8}), o = tv(buf_d, 2, (int64_t[]){5, 48});
    EXPECT_ERR(t, fc_op_attention(&o, &q, &k, &v, 0.3f, false), FC_ESHAPE, "attention", "[5,6,8]", "[4,4,8]");
    k.shape[1] = v.shape[1] = 3;
    EXPECT_ERR(t, fc_op_attention(&o, &q, &k, &v, 0.3f, true), FC_ESHAPE, "attention", "causal", "(5)", "(4)");
    v.shape[2] = 7;
    EXPECT_ERR(t, fc_op_attention(&o, &q, &k, &v, 0.3f, false), FC_ESHAPE, "attention", "[4,3,7]");
    v.shape[2] = 8;
    o.shape[1] = 47;
    EXPECT_ERR(t, fc_op_attention(&o, &q, &k, &v, 0.3f, false), FC_ESHAPE, "attention", "out [5,47]");
    o.shape[1] = 48;
    EXPECT_ERR(t, fc_op_attention(&o, &q, &k, &v, NAN, false), FC_EINVAL, "attention", "scale");
}

static void test_errors_dtypes_devices(fc_test *t) {
    fc_tensor x = tv(buf_a, 2, (int64_t[]){3, 24}), w = tv(buf_b, 2, (int64_t[]){10, 24});
    fc_tensor y = tv(buf_c, 2, (int64_t[]){3, 10});
    fc_tensor xi = x;
    xi.dtype = FC_DTYPE_I32;
    EXPECT_ERR(t, fc_op_linear(&y, &xi, &w, NULL), FC_EUNSUPPORTED, "linear", "x [3,24]", "i32");
    fc_tensor xh = x;
    xh.dtype = FC_DTYPE_BF16; /* activations on the CPU are f32 only */
    EXPECT_ERR(t, fc_op_linear(&y, &xh, &w, NULL), FC_EUNSUPPORTED, "linear", "bf16", "f32");
    fc_tensor wi = w;
    wi.dtype = FC_DTYPE_I32;
    EXPECT_ERR(t, fc_op_linear(&y, &x, &wi, NULL), FC_EUNSUPPORTED, "linear", "w [10,24]", "i32");
    fc_tensor wbad = w;
    wbad.dtype = (fc_dtype)42;
    EXPECT_ERR(t, fc_op_linear(&y, &x, &wbad, NULL), FC_EUNSUPPORTED, "linear", "42");
    fc_tensor tab = tv(buf_a, 2, (int64_t[]){50, 24}), ey = tv(buf_c, 2, (int64_t[]){1, 24});
    tab.dtype = FC_DTYPE_I32;
    int32_t id = 0;
    EXPECT_ERR(t, fc_op_embedding(&ey, &tab, &id, 1), FC_EUNSUPPORTED, "embedding", "table", "i32");

    /* a CUDA tensor among CPU ones: refused before any data is touched (the pointer is a host one) */
    fc_tensor wc = w;
    wc.device = FC_DEVICE_CUDA;
    EXPECT_ERR(t, fc_op_linear(&y, &x, &wc, NULL), FC_EINVAL, "linear", "different devices", "cpu", "cuda");
    fc_tensor nw = tv(buf_b, 1, (int64_t[]){24});
    fc_tensor nyc = tv(buf_c, 2, (int64_t[]){3, 24});
    nyc.device = FC_DEVICE_CUDA;
    EXPECT_ERR(t, fc_op_rmsnorm(&nyc, &x, &nw, 1e-5f), FC_EINVAL, "rmsnorm", "different devices");
    EXPECT_ERR(t, fc_op_add(&nyc, &x, &x), FC_EINVAL, "add", "different devices");
    if (fc_cuda_device_count() == 0) {
        /* all on CUDA with no backend loaded (no GPU, or a build without CUDA): a clean refusal, with the reason */
        fc_tensor xc = x, yc = y;
        xc.device = yc.device = FC_DEVICE_CUDA;
        EXPECT_ERR(t, fc_op_linear(&yc, &xc, &wc, NULL), FC_EUNSUPPORTED, "linear", "no backend loaded", fc_cuda_describe());
        fc_tensor ac = tv(buf_a, 1, (int64_t[]){8});
        ac.device = FC_DEVICE_CUDA;
        EXPECT_ERR(t, fc_op_act(&ac, &ac, FC_ACT_RELU), FC_EUNSUPPORTED, "act", "no backend loaded");
    }
}

/* Empty inputs (T = 0) are valid and touch nothing. */
static void test_empty(fc_test *t) {
    fc_tensor x = tv(NULL, 2, (int64_t[]){0, 24}), w = tv(buf_b, 2, (int64_t[]){10, 24});
    fc_tensor y = tv(NULL, 2, (int64_t[]){0, 10});
    FC_CHECK(t, fc_op_linear(&y, &x, &w, NULL) == FC_OK, "%s", fc_errmsg());
    fc_tensor tab = tv(buf_a, 2, (int64_t[]){50, 24}), ey = tv(NULL, 2, (int64_t[]){0, 24});
    FC_CHECK(t, fc_op_embedding(&ey, &tab, NULL, 0) == FC_OK, "%s", fc_errmsg());
    fc_tensor rx = tv(NULL, 3, (int64_t[]){0, 2, 24});
    FC_CHECK(t, fc_op_rope(&rx, NULL, 1e4f) == FC_OK, "%s", fc_errmsg());
}

static const fc_test_case cases[] = {
    FC_CASE(test_linear_fixtures),      FC_CASE(test_rmsnorm_fixtures),     FC_CASE(test_layernorm_fixtures),
    FC_CASE(test_act_fixtures),         FC_CASE(test_silu_mul_add_fixtures), FC_CASE(test_embedding_fixtures),
    FC_CASE(test_rope_fixtures),        FC_CASE(test_attention_fixtures),   FC_CASE(test_linear_large_vs_double), FC_CASE(test_exp_sub_sum),
    FC_CASE(test_errors_shapes),        FC_CASE(test_errors_dtypes_devices), FC_CASE(test_empty),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
