/* test_ops_cuda_train.c: the CUDA ops added for serving and training against their CPU twins: paged
 * attention (decode and prefill rows in one call), the backward ops of kernels/ops_backward.h (linear
 * through cuBLAS, rmsnorm, rope, silu_mul, the attention over [prefix; new] with its backward), the KL
 * loss and its gradient (core/autograd's fc_ag_logit_loss), AdamW (train/optim.c) and the batched linear.
 *
 * Inputs are drawn exact in the activation dtype, so both sides see the same values. Tolerances, per dtype
 * of the compared output (|got - want| <= atol * scale + rtol * |want|):
 *   f32 outputs of elementwise ops and norms: 1e-5 (summation order, expf/sqrtf last bits);
 *   f16 outputs 2^-9, bf16 outputs 2^-6 (the output's own rounding, plus for linear with f32 activations
 *     and half weights, dy rounded to the weight's dtype as cuBLAS needs, which the test avoids by drawing
 *     dy in that dtype);
 *   f32 parameter gradients (dw, db): 1e-5 relative, absolute scaled by the number of rows summed;
 *   attention over [prefix; new], f32: out and lse 1e-5, gradients 1e-4 (sums of up to T*H/Hkv terms, each
 *     with a recomputed exp);
 *   KL figures 1e-12 relative (double on both sides, another order), dz 1e-6 relative + 1e-9;
 *   AdamW 1e-7 + 1e-6 |x| (the bound train/optim.c is held to against torch; expected bit-identical).
 * Skipped without a GPU (and in the sanitizer build, which has no CUDA); `make test-gpu` runs them.
 * GPU-free cases: the batched linear's CPU path, and the refusals of these ops without a backend.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "core/tensor/tensor.h"
#include "kernels/backend.h"
#include "kernels/ops.h"
#include "kernels/ops_backward.h"
#include "kernels/train_ops.h"
#include "tests/test.h"
#include "train/optim.h"

static bool no_gpu(fc_test *t) {
    if (fc_cuda_device_count() == 0) {
        fc_test_skip(t, fc_cuda_describe());
        return true;
    }
    return false;
}

static const fc_dtype adts[3] = {FC_DTYPE_F32, FC_DTYPE_F16, FC_DTYPE_BF16};

typedef struct {
    fc_tensor t[96];
    int n;
} bag;

static fc_tensor *bag_new(bag *b) {
    if (b->n >= 96) abort(); /* a test bug, not a result */
    return memset(&b->t[b->n++], 0, sizeof(fc_tensor));
}

static void bag_free(bag *b) {
    for (int i = 0; i < b->n; i++) fc_tensor_free(&b->t[i]);
    b->n = 0;
}

static uint32_t seed_state = 4242;
static float urand(void) {
    seed_state = seed_state * 1664525u + 1013904223u;
    return (float)(seed_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* A CPU f32 tensor with uniform values in [-scale, scale) that are exact in dt. */
static fc_tensor *rand_act(fc_test *t, bag *b, fc_dtype dt, int ndim, const int64_t *shape, float scale) {
    fc_tensor f32, rounded, *out = bag_new(b);
    if (fc_tensor_create(&f32, FC_DTYPE_F32, FC_DEVICE_CPU, ndim, shape)) {
        fc_test_fail(t, "create: %s", fc_errmsg());
        return NULL;
    }
    for (int64_t i = 0; i < fc_tensor_numel(&f32); i++) ((float *)f32.data)[i] = urand() * scale;
    fc_err e = fc_tensor_to(&rounded, &f32, FC_DEVICE_CPU, dt);
    if (!e) e = fc_tensor_to(out, &rounded, FC_DEVICE_CPU, FC_DTYPE_F32);
    fc_tensor_free(&f32);
    if (!e) fc_tensor_free(&rounded);
    if (e) {
        fc_test_fail(t, "convert: %s", fc_errmsg());
        return NULL;
    }
    return out;
}

static fc_tensor *dev(fc_test *t, bag *b, const fc_tensor *h, fc_dtype dt) {
    if (!h) return NULL;
    fc_tensor *d = bag_new(b);
    if (fc_tensor_to(d, h, FC_DEVICE_CUDA, dt)) {
        fc_test_fail(t, "upload: %s", fc_errmsg());
        return NULL;
    }
    return d;
}

static fc_tensor *zeros(fc_test *t, bag *b, fc_dtype dt, fc_device device, int ndim, const int64_t *shape) {
    fc_tensor *z = bag_new(b);
    if (fc_tensor_create(z, dt, device, ndim, shape)) {
        fc_test_fail(t, "create: %s", fc_errmsg());
        return NULL;
    }
    if (device == FC_DEVICE_CUDA && fc_cuda_memset0(z->data, (size_t)fc_tensor_numel(z) * fc_dtype_size(dt))) {
        fc_test_fail(t, "memset: %s", fc_errmsg());
        return NULL;
    }
    return z;
}

static double tol_of(fc_dtype dt) { return dt == FC_DTYPE_F32 ? 1e-5 : dt == FC_DTYPE_F16 ? 1.0 / 512 : 1.0 / 64; }

/* Downloads d and compares it with the CPU f32 ref: atol * scale + rtol * |want|. */
static bool close_to(fc_test *t, const char *what, const fc_tensor *d, const fc_tensor *ref, double atol, double rtol) {
    fc_tensor back;
    if (fc_tensor_to(&back, d, FC_DEVICE_CPU, FC_DTYPE_F32)) return fc_test_fail(t, "%s: download: %s", what, fc_errmsg());
    bool ok = fc_test_close(t, what, back.data, ref->data, (size_t)fc_tensor_numel(ref), atol, rtol);
    fc_tensor_free(&back);
    return ok;
}

#define OK(t, call)                                                                                          \
    do {                                                                                                     \
        fc_err e_ = (call);                                                                                  \
        FC_CHECK(t, e_ == FC_OK, "%s: %s", #call, fc_errmsg());                                              \
    } while (0)

#define BAIL(t, b)                                                                                           \
    do {                                                                                                     \
        if ((t)->failed) {                                                                                   \
            bag_free(b);                                                                                     \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

/* Paged attention: a prefill sequence (5 new of 13 entries), a decode sequence, a row no sequence owns
 * (left as it was: zero on both sides), a sequence with 2 new tokens; block tables out of order. */
static void test_cuda_paged_attention(fc_test *t) {
    if (no_gpu(t)) return;
    static const struct { int64_t H, Hkv, D; } cs[] = {{4, 2, 64}, {28, 4, 128}, {3, 3, 24}};
    enum { BS = 4, NB = 16, T = 9 };
    static const int32_t b0[] = {3, 7, 1, 12}, b1[] = {0, 5, 2}, b2[] = {15, 4, 9, 6};
    const fc_paged_seq seqs[3] = {{.q_start = 0, .n_q = 5, .n_keys = 13, .blocks = b0},
                                  {.q_start = 5, .n_q = 1, .n_keys = 9, .blocks = b1},
                                  {.q_start = 7, .n_q = 2, .n_keys = 16, .blocks = b2}};
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) {
            bag b = {0};
            fc_dtype adt = adts[a];
            int64_t H = cs[c].H, Hkv = cs[c].Hkv, D = cs[c].D;
            fc_tensor *q = rand_act(t, &b, adt, 3, (int64_t[]){T, H, D}, 1.0f);
            fc_tensor *k = rand_act(t, &b, adt, 4, (int64_t[]){NB, BS, Hkv, D}, 1.0f);
            fc_tensor *v = rand_act(t, &b, adt, 4, (int64_t[]){NB, BS, Hkv, D}, 1.0f);
            fc_tensor *o = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, H * D});
            fc_tensor *dq = dev(t, &b, q, adt), *dk = dev(t, &b, k, adt), *dv = dev(t, &b, v, adt);
            fc_tensor *dout = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){T, H * D});
            BAIL(t, &b);
            memset(o->data, 0, (size_t)(T * H * D) * sizeof(float));
            float scale = 1.0f / sqrtf((float)D);
            OK(t, fc_op_paged_attention(o, q, k, v, seqs, 3, scale));
            OK(t, fc_op_paged_attention(dout, dq, dk, dv, seqs, 3, scale));
            char what[80];
            snprintf(what, sizeof what, "paged_attention H%lld/%lld D%lld (%s)", (long long)H, (long long)Hkv,
                     (long long)D, fc_dtype_name(adt));
            close_to(t, what, dout, o, tol_of(adt), tol_of(adt));
            bag_free(&b);
        }
}

/* Paged attention with long prefills (the cuBLAS path, n_q >= FC_CUDA_PREFILL_MIN_Q = 64) beside a decode
 * row: a prefill of 70 new tokens after 10 cached entries, a decode step, a prompt of 66 tokens alone;
 * block tables scattered over the pool. */
static void test_cuda_paged_attention_long_prefill(fc_test *t) {
    if (no_gpu(t)) return;
    static const struct { int64_t H, Hkv, D; } cs[] = {{8, 2, 64}, {4, 4, 128}};
    enum { BS = 4, NB = 64, T = 137 };
    int32_t b0[20], b1[3] = {60, 61, 62}, b2[17];
    for (int i = 0; i < 20; i++) b0[i] = (int32_t)((i * 7 + 3) % 40);     /* 20 distinct blocks of [0, 40) */
    for (int i = 0; i < 17; i++) b2[i] = (int32_t)(40 + (i * 5) % 17);    /* 17 distinct blocks of [40, 57) */
    const fc_paged_seq seqs[3] = {{.q_start = 0, .n_q = 70, .n_keys = 80, .blocks = b0},
                                  {.q_start = 70, .n_q = 1, .n_keys = 9, .blocks = b1},
                                  {.q_start = 71, .n_q = 66, .n_keys = 66, .blocks = b2}};
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 2; c++) {
            bag b = {0};
            fc_dtype adt = adts[a];
            int64_t H = cs[c].H, Hkv = cs[c].Hkv, D = cs[c].D;
            fc_tensor *q = rand_act(t, &b, adt, 3, (int64_t[]){T, H, D}, 1.0f);
            fc_tensor *k = rand_act(t, &b, adt, 4, (int64_t[]){NB, BS, Hkv, D}, 1.0f);
            fc_tensor *v = rand_act(t, &b, adt, 4, (int64_t[]){NB, BS, Hkv, D}, 1.0f);
            fc_tensor *o = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, H * D});
            fc_tensor *dq = dev(t, &b, q, adt), *dk = dev(t, &b, k, adt), *dv = dev(t, &b, v, adt);
            fc_tensor *dout = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){T, H * D});
            BAIL(t, &b);
            float scale = 1.0f / sqrtf((float)D);
            OK(t, fc_op_paged_attention(o, q, k, v, seqs, 3, scale));
            OK(t, fc_op_paged_attention(dout, dq, dk, dv, seqs, 3, scale));
            char what[96];
            snprintf(what, sizeof what, "paged_attention long prefill H%lld/%lld D%lld (%s)", (long long)H,
                     (long long)Hkv, (long long)D, fc_dtype_name(adt));
            close_to(t, what, dout, o, tol_of(adt), tol_of(adt));
            bag_free(&b);
        }
}

/* linear_bwd: dx overwritten then accumulated, dw and db accumulated onto non-zero starts. */
static void test_cuda_linear_bwd(fc_test *t) {
    if (no_gpu(t)) return;
    static const fc_dtype combos[4][2] = {{FC_DTYPE_F32, FC_DTYPE_F32}, {FC_DTYPE_F32, FC_DTYPE_BF16},
                                          {FC_DTYPE_BF16, FC_DTYPE_BF16}, {FC_DTYPE_F16, FC_DTYPE_F16}};
    enum { M = 37, N = 77, K = 203 };
    for (int c = 0; c < 4; c++) {
        bag b = {0};
        fc_dtype adt = combos[c][0], wdt = combos[c][1];
        /* dy in the weight's dtype: cuBLAS multiplies it in that dtype */
        fc_tensor *dy = rand_act(t, &b, wdt, 2, (int64_t[]){M, N}, 1.0f);
        fc_tensor *x = rand_act(t, &b, adt, 2, (int64_t[]){M, K}, 1.0f);
        fc_tensor *w = rand_act(t, &b, wdt, 2, (int64_t[]){N, K}, 0.1f);
        fc_tensor *wq = bag_new(&b);
        fc_tensor *dx = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K});
        fc_tensor *dw = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){N, K}, 0.5f);
        fc_tensor *db = rand_act(t, &b, FC_DTYPE_F32, 1, (int64_t[]){N}, 0.5f);
        BAIL(t, &b);
        OK(t, fc_tensor_to(wq, w, FC_DEVICE_CPU, wdt));
        fc_tensor *gdy = dev(t, &b, dy, adt), *gx = dev(t, &b, x, adt), *gw = dev(t, &b, w, wdt);
        fc_tensor *gdx = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){M, K});
        fc_tensor *gdw = dev(t, &b, dw, FC_DTYPE_F32), *gdb = dev(t, &b, db, FC_DTYPE_F32);
        BAIL(t, &b);
        char what[80];
        snprintf(what, sizeof what, "linear_bwd %s/%s", fc_dtype_name(adt), fc_dtype_name(wdt));
        OK(t, fc_op_linear_bwd(dx, dw, db, dy, x, wq, false));
        OK(t, fc_op_linear_bwd(gdx, gdw, gdb, gdy, gx, gw, false));
        double at = tol_of(adt);
        close_to(t, what, gdx, dx, at * 2, at); /* |dx| ~ sqrt(N) * 0.1 * 0.6 ~ 0.5 */
        close_to(t, "linear_bwd dw", gdw, dw, 1e-5 * sqrt((double)M), 1e-5);
        close_to(t, "linear_bwd db", gdb, db, 1e-5 * sqrt((double)M), 1e-5);
        OK(t, fc_op_linear_bwd(dx, NULL, NULL, dy, NULL, wq, true)); /* dx accumulated */
        OK(t, fc_op_linear_bwd(gdx, NULL, NULL, gdy, NULL, gw, true));
        close_to(t, "linear_bwd dx accumulated", gdx, dx, at * 4, at);
        bag_free(&b);
    }
}

static void test_cuda_rmsnorm_silu_rope_bwd(fc_test *t) {
    if (no_gpu(t)) return;
    enum { N = 37, C = 203, NH = 3, D = 128 };
    int32_t pos[N];
    for (int i = 0; i < N; i++) pos[i] = 500 + 13 * i;
    pos[2] = 0;
    for (int a = 0; a < 3; a++)
        for (int wd = 0; wd < 3; wd++) {
            bag b = {0};
            fc_dtype adt = adts[a], wdt = adts[wd];
            double at = tol_of(adt);
            fc_tensor *x = rand_act(t, &b, adt, 2, (int64_t[]){N, C}, 3.0f);
            fc_tensor *dy = rand_act(t, &b, adt, 2, (int64_t[]){N, C}, 1.0f);
            fc_tensor *w = rand_act(t, &b, wdt, 1, (int64_t[]){C}, 1.5f);
            fc_tensor *wq = bag_new(&b);
            fc_tensor *dx = rand_act(t, &b, adt, 2, (int64_t[]){N, C}, 1.0f);
            fc_tensor *dw = rand_act(t, &b, FC_DTYPE_F32, 1, (int64_t[]){C}, 1.0f);
            BAIL(t, &b);
            OK(t, fc_tensor_to(wq, w, FC_DEVICE_CPU, wdt));
            fc_tensor *gx = dev(t, &b, x, adt), *gdy = dev(t, &b, dy, adt), *gw = dev(t, &b, w, wdt);
            fc_tensor *gdx = dev(t, &b, dx, adt), *gdw = dev(t, &b, dw, FC_DTYPE_F32);
            BAIL(t, &b);
            char what[80];
            snprintf(what, sizeof what, "rmsnorm_bwd dx (%s, w %s)", fc_dtype_name(adt), fc_dtype_name(wdt));
            OK(t, fc_op_rmsnorm_bwd(dx, dw, dy, x, wq, 1e-6f, true)); /* accumulate onto the drawn dx */
            OK(t, fc_op_rmsnorm_bwd(gdx, gdw, gdy, gx, gw, 1e-6f, true));
            close_to(t, what, gdx, dx, at * 4, at); /* |dx| up to ~1.5 * 1 / rms(x) * ... ~ 2 */
            close_to(t, "rmsnorm_bwd dw", gdw, dw, 1e-5 * sqrt((double)N) * 2, 1e-5);
            if (wd != 0) {
                bag_free(&b);
                continue;
            }
            /* silu_mul_bwd: gate, up in adt; outputs in adt */
            fc_tensor *dg = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, C});
            fc_tensor *du = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, C});
            fc_tensor *gdg = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){N, C});
            fc_tensor *gdu = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){N, C});
            BAIL(t, &b);
            OK(t, fc_op_silu_mul_bwd(dg, du, dy, x, dx));
            OK(t, fc_op_silu_mul_bwd(gdg, gdu, gdy, gx, gdx));
            /* gdx holds the GPU's dx, within tolerance of dx: compare against a CPU run on the GPU's values */
            fc_tensor *hdx = bag_new(&b);
            OK(t, fc_tensor_to(hdx, gdx, FC_DEVICE_CPU, FC_DTYPE_F32));
            OK(t, fc_op_silu_mul_bwd(dg, du, dy, x, hdx));
            close_to(t, "silu_mul_bwd dgate", gdg, dg, at * 8, at); /* |dgate| up to ~ 1.1 * 3 * 2 */
            close_to(t, "silu_mul_bwd dup", gdu, du, at * 4, at);
            /* rope_bwd: the gradient rotated back; and forward then backward is the identity */
            fc_tensor *r = rand_act(t, &b, adt, 3, (int64_t[]){N, NH, D}, 2.0f);
            fc_tensor *gr = dev(t, &b, r, adt);
            BAIL(t, &b);
            OK(t, fc_op_rope_bwd(r, pos, 1e4f));
            OK(t, fc_op_rope_bwd(gr, pos, 1e4f));
            close_to(t, "rope_bwd", gr, r, at * 3, at);
            bag_free(&b);
        }
}

/* Attention over [prefix; new], forward and backward, f32: with a prefix and without one. */
static void test_cuda_attention_prefix(fc_test *t) {
    if (no_gpu(t)) return;
    static const struct { int64_t T, P, H, Hkv, D; } cs[] = {{6, 5, 4, 2, 24}, {9, 0, 3, 3, 16}, {17, 33, 28, 4, 128}};
    for (int c = 0; c < 3; c++) {
        bag b = {0};
        int64_t T = cs[c].T, P = cs[c].P, H = cs[c].H, Hkv = cs[c].Hkv, D = cs[c].D;
        fc_dtype f = FC_DTYPE_F32;
        fc_tensor *q = rand_act(t, &b, f, 3, (int64_t[]){T, H, D}, 1.0f);
        fc_tensor *kp = rand_act(t, &b, f, 3, (int64_t[]){Hkv, P, D}, 1.0f);
        fc_tensor *vp = rand_act(t, &b, f, 3, (int64_t[]){Hkv, P, D}, 1.0f);
        fc_tensor *kn = rand_act(t, &b, f, 3, (int64_t[]){T, Hkv, D}, 1.0f);
        fc_tensor *vn = rand_act(t, &b, f, 3, (int64_t[]){T, Hkv, D}, 1.0f);
        fc_tensor *dout = rand_act(t, &b, f, 3, (int64_t[]){T, H, D}, 1.0f);
        fc_tensor *o = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){T, H, D});
        fc_tensor *lse = zeros(t, &b, f, FC_DEVICE_CPU, 2, (int64_t[]){T, H});
        fc_tensor *dq = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){T, H, D});
        fc_tensor *dkp = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){Hkv, P, D});
        fc_tensor *dvp = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){Hkv, P, D});
        fc_tensor *dkn = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){T, Hkv, D});
        fc_tensor *dvn = zeros(t, &b, f, FC_DEVICE_CPU, 3, (int64_t[]){T, Hkv, D});
        BAIL(t, &b);
        fc_tensor *gq = dev(t, &b, q, f), *gkp = dev(t, &b, kp, f), *gvp = dev(t, &b, vp, f);
        fc_tensor *gkn = dev(t, &b, kn, f), *gvn = dev(t, &b, vn, f), *gdout = dev(t, &b, dout, f);
        fc_tensor *go = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){T, H, D});
        fc_tensor *glse = zeros(t, &b, f, FC_DEVICE_CUDA, 2, (int64_t[]){T, H});
        fc_tensor *gdq = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){T, H, D});
        fc_tensor *gdkp = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){Hkv, P, D});
        fc_tensor *gdvp = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){Hkv, P, D});
        fc_tensor *gdkn = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){T, Hkv, D});
        fc_tensor *gdvn = zeros(t, &b, f, FC_DEVICE_CUDA, 3, (int64_t[]){T, Hkv, D});
        BAIL(t, &b);
        float scale = 1.0f / sqrtf((float)D);
        OK(t, fc_op_attention_prefix(o, lse, q, kp, vp, kn, vn, scale));
        OK(t, fc_op_attention_prefix(go, glse, gq, gkp, gvp, gkn, gvn, scale));
        close_to(t, "attention_prefix out", go, o, 1e-5, 1e-5);
        close_to(t, "attention_prefix lse", glse, lse, 1e-5, 1e-5);
        OK(t, fc_op_attention_prefix_bwd(dq, dkp, dvp, dkn, dvn, dout, q, kp, vp, kn, vn, o, lse, scale));
        /* the GPU's backward from the CPU's forward results, so only the backward is compared */
        fc_tensor *go2 = dev(t, &b, o, f), *glse2 = dev(t, &b, lse, f);
        BAIL(t, &b);
        OK(t, fc_op_attention_prefix_bwd(gdq, gdkp, gdvp, gdkn, gdvn, gdout, gq, gkp, gvp, gkn, gvn, go2, glse2, scale));
        close_to(t, "attention_prefix_bwd dq", gdq, dq, 1e-4, 1e-4);
        close_to(t, "attention_prefix_bwd dkn", gdkn, dkn, 1e-4, 1e-4);
        close_to(t, "attention_prefix_bwd dvn", gdvn, dvn, 1e-4, 1e-4);
        if (P > 0) {
            close_to(t, "attention_prefix_bwd dkp", gdkp, dkp, 1e-4, 1e-4);
            close_to(t, "attention_prefix_bwd dvp", gdvp, dvp, 1e-4, 1e-4);
        }
        bag_free(&b);
    }
}

/* KL at tau 1 and 2 against fc_ag_logit_loss; one row has a tied maximum (the first one counts). */
static void test_cuda_kl_loss(fc_test *t) {
    if (no_gpu(t)) return;
    enum { n = 7, V = 1001 };
    static const float taus[] = {1.0f, 2.0f};
    for (int ti = 0; ti < 2; ti++) {
        bag b = {0};
        fc_tensor *zt = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){n, V}, 6.0f);
        fc_tensor *zs = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){n, V}, 6.0f);
        fc_tensor *dz = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){n, V});
        BAIL(t, &b);
        float *a = zt->data, *s = zs->data;
        a[3 * V + 10] = a[3 * V + 500] = 9.0f; /* tie in the teacher's row 3: argmax 10 */
        s[3 * V + 10] = 7.0f, s[3 * V + 500] = 8.0f; /* the student's argmax is 500: disagree */
        s[4 * V + 20] = a[4 * V + 20] = 9.5f;       /* row 4 agrees */
        double *scratch = calloc((size_t)4 * V + 6 * n, sizeof(double));
        int *iscratch = calloc(V, sizeof(int));
        FC_CHECK(t, scratch && iscratch, "out of memory");
        fc_ag_loss_out ref;
        float scale = 0.75f;
        fc_ag_logit_loss(FC_DISTILL_LOSS_KL, taus[ti], a, s, n, V, dz->data, scale, scratch, iscratch, 1, &ref);
        free(scratch);
        free(iscratch);
        fc_tensor *gzt = dev(t, &b, zt, FC_DTYPE_F32), *gzs = dev(t, &b, zs, FC_DTYPE_F32);
        fc_tensor *gdz = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CUDA, 2, (int64_t[]){n, V});
        BAIL(t, &b);
        fc_kl_figures got;
        OK(t, fc_op_kl_loss(&got, gdz, gzt, gzs, taus[ti], scale));
        FC_CHECK(t, fabs(got.loss - ref.loss) <= 1e-12 * fabs(ref.loss) + 1e-15, "loss %.17g want %.17g", got.loss, ref.loss);
        FC_CHECK(t, fabs(got.kl - ref.kl) <= 1e-12 * fabs(ref.kl) + 1e-15, "kl %.17g want %.17g", got.kl, ref.kl);
        FC_CHECK(t, got.top1 == ref.top1, "top1 %g want %g", got.top1, ref.top1);
        close_to(t, "kl_loss dz", gdz, dz, 1e-9, 1e-6);
        bag_free(&b);
    }
}

/* Three AdamW steps with weight decay and three without, against train/optim.c. */
static void test_cuda_adamw(fc_test *t) {
    if (no_gpu(t)) return;
    enum { n = 1000 };
    static const double wds[] = {0.01, 0.0};
    for (int wi = 0; wi < 2; wi++) {
        bag b = {0};
        fc_tensor *p = rand_act(t, &b, FC_DTYPE_F32, 1, (int64_t[]){n}, 1.0f);
        fc_tensor *m = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){n});
        fc_tensor *v = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){n});
        BAIL(t, &b);
        fc_tensor *gp = dev(t, &b, p, FC_DTYPE_F32);
        fc_tensor *gm = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CUDA, 1, (int64_t[]){n});
        fc_tensor *gv = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CUDA, 1, (int64_t[]){n});
        fc_adamw o;
        OK(t, fc_adamw_init(&o, n, 0.9, 0.999, 1e-8, wds[wi]));
        for (int step = 1; step <= 3 && !t->failed; step++) {
            fc_tensor *g = rand_act(t, &b, FC_DTYPE_F32, 1, (int64_t[]){n}, step == 2 ? 1e-3f : 1.0f);
            fc_tensor *gg = dev(t, &b, g, FC_DTYPE_F32);
            if (t->failed) break;
            double lr = 1e-3 * step;
            fc_adamw_step(&o, p->data, g->data, lr);
            OK(t, fc_op_adamw(gp, gg, gm, gv, step, lr, 0.9, 0.999, 1e-8, wds[wi]));
        }
        memcpy(m->data, o.m, n * sizeof(float));
        memcpy(v->data, o.v, n * sizeof(float));
        fc_adamw_free(&o);
        close_to(t, "adamw params", gp, p, 1e-7, 1e-6);
        close_to(t, "adamw m", gm, m, 1e-7, 1e-6);
        close_to(t, "adamw v", gv, v, 1e-12, 1e-6);
        bag_free(&b);
    }
}

/* The batched linear against its own CPU path (itself checked below against fc_op_linear per entry). */
static void test_cuda_linear_batched(fc_test *t) {
    if (no_gpu(t)) return;
    static const fc_dtype combos[3][2] = {{FC_DTYPE_F32, FC_DTYPE_F32}, {FC_DTYPE_F32, FC_DTYPE_BF16},
                                          {FC_DTYPE_BF16, FC_DTYPE_BF16}};
    enum { B = 3, M = 19, N = 45, K = 70 };
    for (int c = 0; c < 3; c++) {
        bag b = {0};
        fc_dtype adt = combos[c][0], wdt = combos[c][1];
        fc_tensor *x = rand_act(t, &b, wdt, 3, (int64_t[]){B, M, K}, 1.0f);
        fc_tensor *w = rand_act(t, &b, wdt, 3, (int64_t[]){B, N, K}, 0.1f);
        fc_tensor *bias = rand_act(t, &b, wdt, 2, (int64_t[]){B, N}, 1.0f);
        fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){B, M, N});
        BAIL(t, &b);
        fc_tensor *gx = dev(t, &b, x, adt), *gw = dev(t, &b, w, wdt), *gb = dev(t, &b, bias, wdt);
        fc_tensor *gy = zeros(t, &b, adt, FC_DEVICE_CUDA, 3, (int64_t[]){B, M, N});
        BAIL(t, &b);
        OK(t, fc_op_linear_batched(y, x, w, bias));
        OK(t, fc_op_linear_batched(gy, gx, gw, gb));
        close_to(t, "linear_batched", gy, y, tol_of(adt) * 2, tol_of(adt));
        OK(t, fc_op_linear_batched(y, x, w, NULL));
        OK(t, fc_op_linear_batched(gy, gx, gw, NULL));
        close_to(t, "linear_batched without bias", gy, y, tol_of(adt) * 2, tol_of(adt));
        bag_free(&b);
    }
}

/* GPU-free: the CPU path of the batched linear is fc_op_linear entry by entry. */
static void test_linear_batched_cpu_is_per_entry(fc_test *t) {
    enum { B = 3, M = 5, N = 7, K = 9 };
    bag b = {0};
    fc_tensor *x = rand_act(t, &b, FC_DTYPE_F32, 3, (int64_t[]){B, M, K}, 1.0f);
    fc_tensor *w = rand_act(t, &b, FC_DTYPE_F32, 3, (int64_t[]){B, N, K}, 1.0f);
    fc_tensor *bias = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){B, N}, 1.0f);
    fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){B, M, N});
    BAIL(t, &b);
    OK(t, fc_op_linear_batched(y, x, w, bias));
    float want[M * N];
    for (int i = 0; i < B; i++) {
        fc_tensor xi = fc_tensor_view((float *)x->data + i * M * K, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K});
        fc_tensor wi = fc_tensor_view((float *)w->data + i * N * K, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, K});
        fc_tensor bi = fc_tensor_view((float *)bias->data + i * N, FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){N});
        fc_tensor yi = fc_tensor_view(want, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N});
        OK(t, fc_op_linear(&yi, &xi, &wi, &bi));
        for (int j = 0; j < M * N; j++) /* and by hand: one entry's dot product */
            FC_CHECK(t, ((float *)y->data)[i * M * N + j] == want[j], "entry %d [%d]: %g vs %g", i, j,
                     ((float *)y->data)[i * M * N + j], want[j]);
    }
    double dot = ((float *)bias->data)[N + 2];
    for (int k = 0; k < K; k++) dot += (double)((float *)x->data)[M * K + 3 * K + k] * ((float *)w->data)[N * K + 2 * K + k];
    FC_CHECK(t, fabs(((float *)y->data)[M * N + 3 * N + 2] - dot) < 1e-5, "y[1][3][2] %g, by hand %g",
             ((float *)y->data)[M * N + 3 * N + 2], dot);
    fc_tensor bad = fc_tensor_view(want, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){B, M, N + 1});
    FC_CHECK(t, fc_op_linear_batched(&bad, x, w, bias) == FC_ESHAPE && strstr(fc_errmsg(), "linear_batched"),
             "wrong y shape: %s", fc_errmsg());
    bag_free(&b);
}

/* GPU-free: the GPU-only training ops refuse CPU tensors by name; the backward ops on tensors that claim
 * CUDA, without a backend, are refused with the loader's reason (never touching the host memory behind). */
static void test_cuda_train_ops_refusals(fc_test *t) {
    float host[16] = {0};
    fc_tensor c = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){2, 8});
    fc_kl_figures f;
    FC_CHECK(t, fc_op_kl_loss(&f, NULL, &c, &c, 1.0f, 1.0f) == FC_EUNSUPPORTED && strstr(fc_errmsg(), "cuda only"),
             "kl on the CPU: %s", fc_errmsg());
    FC_CHECK(t, fc_op_adamw(&c, &c, &c, &c, 1, 1e-3, 0.9, 0.999, 1e-8, 0) == FC_EUNSUPPORTED &&
                    strstr(fc_errmsg(), "train/optim.c"),
             "adamw on the CPU: %s", fc_errmsg());
    if (fc_cuda_device_count() > 0) return;
    const char *why = fc_cuda_describe();
    fc_tensor g = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 2, (int64_t[]){2, 8});
    fc_tensor w = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 2, (int64_t[]){8, 8});
    FC_CHECK(t, fc_op_linear_bwd(&g, NULL, NULL, &g, NULL, &w, false) == FC_EUNSUPPORTED && strstr(fc_errmsg(), why),
             "linear_bwd: %s", fc_errmsg());
    fc_tensor wc = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){8, 8});
    FC_CHECK(t, fc_op_linear_bwd(&g, NULL, NULL, &g, NULL, &wc, false) == FC_EINVAL && strstr(fc_errmsg(), "w is on cpu"),
             "mixed devices: %s", fc_errmsg());
    fc_tensor r = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 3, (int64_t[]){2, 1, 8});
    int32_t pos[2] = {0, 1};
    FC_CHECK(t, fc_op_rope_bwd(&r, pos, 1e4f) == FC_EUNSUPPORTED && strstr(fc_errmsg(), why), "rope_bwd: %s",
             fc_errmsg());
    FC_CHECK(t, fc_op_kl_loss(&f, NULL, &g, &g, 1.0f, 1.0f) == FC_EUNSUPPORTED && strstr(fc_errmsg(), why),
             "kl without a backend: %s", fc_errmsg());
    static const int32_t blocks[1] = {0};
    fc_paged_seq s = {.q_start = 0, .n_q = 1, .n_keys = 1, .blocks = blocks};
    fc_tensor q = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 3, (int64_t[]){1, 1, 8});
    fc_tensor o = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 2, (int64_t[]){1, 8});
    fc_tensor kc = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 4, (int64_t[]){1, 1, 1, 8});
    FC_CHECK(t, fc_op_paged_attention(&o, &q, &kc, &kc, &s, 1, 1.0f) == FC_EUNSUPPORTED && strstr(fc_errmsg(), why),
             "paged attention: %s", fc_errmsg());
}

/* kv_scatter: the CPU path puts each row where asked and nothing else moves (GPU-free); the GPU path does
 * the same for every dtype, on a row size that takes the 16-byte path and one that does not. */
static void test_kv_scatter_cpu_rows(fc_test *t) {
    enum { R = 10, W = 6, T = 3 };
    float cache[R * W], src[T * W];
    for (int i = 0; i < R * W; i++) cache[i] = -1.0f;
    for (int i = 0; i < T * W; i++) src[i] = (float)i;
    fc_tensor c = fc_tensor_view(cache, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){R, 2, 3});
    fc_tensor s = fc_tensor_view(src, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){T, 2, 3});
    const int32_t rows[T] = {7, 0, 4};
    OK(t, fc_op_kv_scatter(&c, &s, rows));
    for (int r = 0; r < R; r++)
        for (int j = 0; j < W; j++) {
            int from = r == 7 ? 0 : r == 0 ? 1 : r == 4 ? 2 : -1;
            float want = from < 0 ? -1.0f : (float)(from * W + j);
            FC_CHECK(t, cache[r * W + j] == want, "cache[%d][%d] = %g, want %g", r, j, cache[r * W + j], want);
        }
    const int32_t bad[T] = {7, 10, 4};
    FC_CHECK(t, fc_op_kv_scatter(&c, &s, bad) == FC_EINVAL && strstr(fc_errmsg(), "outside [0, 10)"), "row 10: %s",
             fc_errmsg());
    fc_tensor s2 = fc_tensor_view(src, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, 5});
    FC_CHECK(t, fc_op_kv_scatter(&c, &s2, rows) == FC_ESHAPE, "row size 5 vs 6: %s", fc_errmsg());
}

static void test_cuda_kv_scatter(fc_test *t) {
    if (no_gpu(t)) return;
    static const int64_t widths[] = {128, 5};
    enum { R = 40, T = 7 };
    const int32_t rows[T] = {39, 0, 17, 18, 3, 25, 11};
    for (int a = 0; a < 3; a++)
        for (int wi = 0; wi < 2; wi++) {
            bag b = {0};
            fc_dtype adt = adts[a];
            int64_t W = widths[wi];
            fc_tensor *cache = rand_act(t, &b, adt, 2, (int64_t[]){R, W}, 1.0f);
            fc_tensor *src = rand_act(t, &b, adt, 2, (int64_t[]){T, W}, 1.0f);
            BAIL(t, &b);
            fc_tensor *gc = dev(t, &b, cache, adt), *gs = dev(t, &b, src, adt);
            BAIL(t, &b);
            OK(t, fc_op_kv_scatter(cache, src, rows));
            OK(t, fc_op_kv_scatter(gc, gs, rows));
            close_to(t, "kv_scatter", gc, cache, 0.0, 0.0); /* a copy: exact */
            bag_free(&b);
        }
}

/* A few training steps through the ops, GPU against CPU: a small SwiGLU head (rmsnorm, gate/up linears,
 * silu_mul, output linear with bias) distilled onto fixed teacher logits with the KL loss at tau 2, the
 * backward through every op, AdamW on every parameter; three steps, f32 on both sides. The loss of each
 * step and the parameters after the last must agree: f32 GEMMs in another order move them by ~1e-6, so
 * 1e-5 relative for the losses and 1e-4 for the parameters (Adam's first steps move each parameter by
 * about lr whatever the gradient's size, so a sign flip of a gradient near zero would show as 2 lr = 0.02). */
enum { TS_N = 6, TS_C = 32, TS_F = 24, TS_V = 50, TS_P = 5 };
typedef struct {
    fc_tensor *x, *zt, *w[TS_P], *g[TS_P], *m[TS_P], *v[TS_P]; /* params: norm, W1, W2, W3, b3 */
    fc_tensor *h, *a, *b, *s, *z, *dz, *ds, *da, *db, *dh, *dx;
} ts_net;

static void ts_alloc(fc_test *t, bag *bg, ts_net *n, fc_device d, const ts_net *init) {
    static const int64_t shp[TS_P][2] = {{TS_C, 0}, {TS_F, TS_C}, {TS_F, TS_C}, {TS_V, TS_F}, {TS_V, 0}};
    for (int i = 0; i < TS_P; i++) {
        int nd = shp[i][1] ? 2 : 1;
        n->w[i] = d == FC_DEVICE_CPU ? init->w[i] : dev(t, bg, init->w[i], FC_DTYPE_F32);
        n->g[i] = zeros(t, bg, FC_DTYPE_F32, d, nd, shp[i]);
        n->m[i] = zeros(t, bg, FC_DTYPE_F32, d, nd, shp[i]);
        n->v[i] = zeros(t, bg, FC_DTYPE_F32, d, nd, shp[i]);
    }
    n->x = d == FC_DEVICE_CPU ? init->x : dev(t, bg, init->x, FC_DTYPE_F32);
    n->zt = d == FC_DEVICE_CPU ? init->zt : dev(t, bg, init->zt, FC_DTYPE_F32);
    n->h = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_C});
    n->dh = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_C});
    n->dx = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_C});
    n->a = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->b = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->s = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->ds = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->da = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->db = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_F});
    n->z = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_V});
    n->dz = zeros(t, bg, FC_DTYPE_F32, d, 2, (int64_t[]){TS_N, TS_V});
}

/* One step; the loss into *loss. The CPU side takes the KL from core/autograd and AdamW from train/optim.c
 * (moments kept in n->m, n->v through an fc_adamw whose vectors point there). */
static fc_err ts_step(ts_net *n, bool gpu, long step, double *loss) {
    const float tau = 2.0f, eps = 1e-6f;
    const double lr = 1e-2;
    FC_TRY(fc_op_rmsnorm(n->h, n->x, n->w[0], eps));
    FC_TRY(fc_op_linear(n->a, n->h, n->w[1], NULL));
    FC_TRY(fc_op_linear(n->b, n->h, n->w[2], NULL));
    FC_TRY(fc_op_silu_mul(n->s, n->a, n->b));
    FC_TRY(fc_op_linear(n->z, n->s, n->w[3], n->w[4]));
    if (gpu) {
        fc_kl_figures f;
        FC_TRY(fc_op_kl_loss(&f, n->dz, n->zt, n->z, tau, 1.0f));
        *loss = f.loss;
        for (int i = 0; i < TS_P; i++)
            FC_TRY(fc_cuda_memset0(n->g[i]->data, (size_t)fc_tensor_numel(n->g[i]) * sizeof(float)));
    } else {
        double *scratch = calloc((size_t)4 * TS_V + 6 * TS_N, sizeof(double));
        int *iscratch = calloc(TS_V, sizeof(int));
        if (!scratch || !iscratch) {
            free(scratch), free(iscratch);
            return fc_err_set(FC_ENOMEM, "train steps: scratch");
        }
        fc_ag_loss_out o;
        fc_ag_logit_loss(FC_DISTILL_LOSS_KL, tau, n->zt->data, n->z->data, TS_N, TS_V, n->dz->data, 1.0f, scratch,
                         iscratch, 1, &o);
        free(scratch), free(iscratch);
        *loss = o.loss;
        for (int i = 0; i < TS_P; i++) memset(n->g[i]->data, 0, (size_t)fc_tensor_numel(n->g[i]) * sizeof(float));
    }
    FC_TRY(fc_op_linear_bwd(n->ds, n->g[3], n->g[4], n->dz, n->s, n->w[3], false));
    FC_TRY(fc_op_silu_mul_bwd(n->da, n->db, n->ds, n->a, n->b));
    FC_TRY(fc_op_linear_bwd(n->dh, n->g[1], NULL, n->da, n->h, n->w[1], false));
    FC_TRY(fc_op_linear_bwd(n->dh, n->g[2], NULL, n->db, n->h, n->w[2], true));
    FC_TRY(fc_op_rmsnorm_bwd(n->dx, n->g[0], n->dh, n->x, n->w[0], eps, false));
    for (int i = 0; i < TS_P; i++) {
        if (gpu) {
            FC_TRY(fc_op_adamw(n->w[i], n->g[i], n->m[i], n->v[i], step, lr, 0.9, 0.999, 1e-8, 0.01));
        } else {
            fc_adamw o = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01,
                          .n = (size_t)fc_tensor_numel(n->w[i]), .step = step - 1, .m = n->m[i]->data,
                          .v = n->v[i]->data};
            fc_adamw_step(&o, n->w[i]->data, n->g[i]->data, lr);
        }
    }
    return FC_OK;
}

static void test_cuda_train_steps_match_cpu(fc_test *t) {
    if (no_gpu(t)) return;
    bag b = {0};
    ts_net init = {0}, cpu = {0}, gpu = {0};
    static const int64_t shp[TS_P][2] = {{TS_C, 0}, {TS_F, TS_C}, {TS_F, TS_C}, {TS_V, TS_F}, {TS_V, 0}};
    static const float scl[TS_P] = {1.0f, 0.3f, 0.3f, 0.3f, 0.5f};
    for (int i = 0; i < TS_P; i++) init.w[i] = rand_act(t, &b, FC_DTYPE_F32, shp[i][1] ? 2 : 1, shp[i], scl[i]);
    init.x = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){TS_N, TS_C}, 2.0f);
    init.zt = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){TS_N, TS_V}, 3.0f);
    BAIL(t, &b);
    ts_alloc(t, &b, &gpu, FC_DEVICE_CUDA, &init); /* uploads the initial values first */
    ts_alloc(t, &b, &cpu, FC_DEVICE_CPU, &init);
    BAIL(t, &b);
    for (long step = 1; step <= 3; step++) {
        double lc = 0, lg = 0;
        OK(t, ts_step(&cpu, false, step, &lc));
        OK(t, ts_step(&gpu, true, step, &lg));
        FC_CHECK(t, fabs(lg - lc) <= 1e-5 * fabs(lc), "step %ld: loss gpu %.9g cpu %.9g", step, lg, lc);
    }
    static const char *names[TS_P] = {"norm weight", "W1", "W2", "W3", "b3"};
    for (int i = 0; i < TS_P; i++) close_to(t, names[i], gpu.w[i], cpu.w[i], 1e-4, 1e-4);
    bag_free(&b);
}

/* GPU-free: the CPU side of the test above trains (its loss falls over 30 steps), so the GPU comparison
 * compares a working chain of ops. */
static void test_train_steps_cpu_loss_falls(fc_test *t) {
    bag b = {0};
    ts_net init = {0}, cpu = {0};
    static const int64_t shp[TS_P][2] = {{TS_C, 0}, {TS_F, TS_C}, {TS_F, TS_C}, {TS_V, TS_F}, {TS_V, 0}};
    static const float scl[TS_P] = {1.0f, 0.3f, 0.3f, 0.3f, 0.5f};
    for (int i = 0; i < TS_P; i++) init.w[i] = rand_act(t, &b, FC_DTYPE_F32, shp[i][1] ? 2 : 1, shp[i], scl[i]);
    init.x = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){TS_N, TS_C}, 2.0f);
    init.zt = rand_act(t, &b, FC_DTYPE_F32, 2, (int64_t[]){TS_N, TS_V}, 3.0f);
    BAIL(t, &b);
    ts_alloc(t, &b, &cpu, FC_DEVICE_CPU, &init);
    BAIL(t, &b);
    double first = 0, last = 0;
    for (long step = 1; step <= 30; step++) {
        OK(t, ts_step(&cpu, false, step, &last));
        if (step == 1) first = last;
    }
    FC_CHECK(t, first > 0 && last < 0.5 * first, "loss %g -> %g over 30 steps", first, last);
    bag_free(&b);
}

static const fc_test_case cases[] = {
    FC_CASE(test_train_steps_cpu_loss_falls), FC_CASE(test_cuda_train_steps_match_cpu),
    FC_CASE(test_kv_scatter_cpu_rows),     FC_CASE(test_cuda_kv_scatter),
    FC_CASE(test_cuda_train_ops_refusals), FC_CASE(test_linear_batched_cpu_is_per_entry),
    FC_CASE(test_cuda_paged_attention),    FC_CASE(test_cuda_paged_attention_long_prefill),    FC_CASE(test_cuda_linear_bwd),
    FC_CASE(test_cuda_rmsnorm_silu_rope_bwd), FC_CASE(test_cuda_attention_prefix),
    FC_CASE(test_cuda_kl_loss),            FC_CASE(test_cuda_adamw),
    FC_CASE(test_cuda_linear_batched),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
