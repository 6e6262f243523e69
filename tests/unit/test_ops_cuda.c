/* test_ops_cuda.c: every CUDA op against its CPU twin (itself checked against torch in test_ops.c), on odd
 * shapes, for each activation dtype (f32, f16, bf16) and each parameter dtype.
 *
 * Inputs are drawn in the activation dtype and widened to f32 for the CPU, so both sides see the same
 * values; the GPU computes in f32 registers with f32 accumulation and rounds its output to the activation
 * dtype. Tolerances therefore follow the output dtype: f32 1e-5 (summation order), f16 2^-9 and bf16 2^-6
 * relative plus the same absolute (one or two roundings of an O(1) value: the output, and for linear
 * with f32 activations and half weights, x rounded to the weight's dtype as cuBLAS needs).
 * Counted as skipped without a GPU, and in builds without CUDA (the sanitizer build); `make test-gpu`
 * runs them (tests/run-gpu.sh).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/kv/kv_pool.h"
#include "core/tensor/tensor.h"
#include "kernels/backend.h"
#include "kernels/ops.h"
#include "tests/test.h"

/* The ops reach the GPU through the dlopen'd backend library (kernels/backend.h); without one (no GPU, a
 * build without CUDA such as the sanitizer build) the case is skipped with the loader's reason. */
static bool no_gpu(fc_test *t) {
    if (fc_cuda_device_count() == 0) {
        fc_test_skip(t, fc_cuda_describe());
        return true;
    }
    return false;
}

static const fc_dtype adts[3] = {FC_DTYPE_F32, FC_DTYPE_F16, FC_DTYPE_BF16};

/* Every tensor a case makes, freed together. */
typedef struct {
    fc_tensor t[24];
    int n;
} bag;

static fc_tensor *bag_new(bag *b) {
    FC_ASSERT(b->n < 24);
    return memset(&b->t[b->n++], 0, sizeof(fc_tensor));
}

static void bag_free(bag *b) {
    for (int i = 0; i < b->n; i++) fc_tensor_free(&b->t[i]);
    b->n = 0;
}

static uint32_t seed_state = 12345;
static float urand(void) {
    seed_state = seed_state * 1664525u + 1013904223u;
    return (float)(seed_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* A CPU tensor of dtype dt with uniform values in [-scale, scale) (rounded to dt). */
static fc_tensor *rand_cpu(fc_test *t, bag *b, fc_dtype dt, int ndim, const int64_t *shape, float scale) {
    fc_tensor f32, *out = bag_new(b);
    if (fc_tensor_create(&f32, FC_DTYPE_F32, FC_DEVICE_CPU, ndim, shape)) {
        fc_test_fail(t, "create: %s", fc_errmsg());
        return NULL;
    }
    for (int64_t i = 0; i < fc_tensor_numel(&f32); i++) ((float *)f32.data)[i] = urand() * scale;
    fc_err e = fc_tensor_to(out, &f32, FC_DEVICE_CPU, dt);
    fc_tensor_free(&f32);
    if (e) {
        fc_test_fail(t, "convert: %s", fc_errmsg());
        return NULL;
    }
    return out;
}

/* An activation: f32 on the CPU holding values exact in adt. */
static fc_tensor *rand_act(fc_test *t, bag *b, fc_dtype adt, int ndim, const int64_t *shape, float scale) {
    fc_tensor *r = rand_cpu(t, b, adt, ndim, shape, scale), *out = bag_new(b);
    if (!r) return NULL;
    if (fc_tensor_to(out, r, FC_DEVICE_CPU, FC_DTYPE_F32)) {
        fc_test_fail(t, "convert: %s", fc_errmsg());
        return NULL;
    }
    return out;
}

/* The device copy of a CPU tensor in dtype dt. */
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
    return z;
}

static void tol_for(fc_dtype adt, double *atol, double *rtol) {
    *atol = *rtol = adt == FC_DTYPE_F32 ? 1e-5 : adt == FC_DTYPE_F16 ? 1.0 / 512 : 1.0 / 64;
}

/* Downloads the device result and compares it with the CPU one under the dtype's tolerance. */
static bool same(fc_test *t, const char *what, fc_dtype adt, const fc_tensor *dout, const fc_tensor *ref, double scale) {
    fc_tensor back;
    if (fc_tensor_to(&back, dout, FC_DEVICE_CPU, FC_DTYPE_F32)) return fc_test_fail(t, "%s: download: %s", what, fc_errmsg());
    double atol, rtol;
    tol_for(adt, &atol, &rtol);
    char name[160];
    snprintf(name, sizeof name, "%s (%s)", what, fc_dtype_name(adt));
    bool ok = fc_test_close(t, name, back.data, ref->data, (size_t)fc_tensor_numel(ref), atol * scale, rtol);
    fc_tensor_free(&back);
    return ok;
}

#define OK(t, call)                                                                                          \
    do {                                                                                                     \
        fc_err e_ = (call);                                                                                  \
        FC_CHECK(t, e_ == FC_OK, "%s: %s", #call, fc_errmsg());                                              \
    } while (0)

static void test_cuda_linear(fc_test *t) {
    if (no_gpu(t)) return;
    static const fc_dtype combos[5][2] = {{FC_DTYPE_F32, FC_DTYPE_F32}, {FC_DTYPE_F32, FC_DTYPE_F16},
                                          {FC_DTYPE_F32, FC_DTYPE_BF16}, {FC_DTYPE_F16, FC_DTYPE_F16},
                                          {FC_DTYPE_BF16, FC_DTYPE_BF16}};
    static const int64_t Ms[] = {1, 37};
    enum { K = 203, N = 77 };
    for (int c = 0; c < 5; c++)
        for (int mi = 0; mi < 2; mi++) {
            bag b = {0};
            fc_dtype adt = combos[c][0], wdt = combos[c][1];
            int64_t M = Ms[mi];
            /* x is drawn in the weight's dtype when that is a half type: cuBLAS computes with x in it */
            fc_tensor *x = rand_act(t, &b, wdt, 2, (int64_t[]){M, K}, 1.0f);
            fc_tensor *w = rand_cpu(t, &b, wdt, 2, (int64_t[]){N, K}, 0.1f);
            fc_tensor *bias = rand_cpu(t, &b, wdt, 1, (int64_t[]){N}, 1.0f);
            fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N});
            fc_tensor *dx = dev(t, &b, x, adt), *dw = dev(t, &b, w, wdt), *db = dev(t, &b, bias, wdt);
            fc_tensor *dy = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){M, N});
            if (t->failed) {
                bag_free(&b);
                return;
            }
            OK(t, fc_op_linear(y, x, w, bias));
            OK(t, fc_op_linear(dy, dx, dw, db));
            char what[64];
            snprintf(what, sizeof what, "linear w %s M=%lld", fc_dtype_name(wdt), (long long)M);
            same(t, what, adt, dy, y, 2.0); /* outputs ~ sqrt(K) * 0.1 * 0.6 ~ 1: the absolute part doubles */
            OK(t, fc_op_linear(dy, dx, dw, NULL)); /* and without bias */
            OK(t, fc_op_linear(y, x, w, NULL));
            same(t, what, adt, dy, y, 2.0);
            bag_free(&b);
        }
}

static void test_cuda_norms(fc_test *t) {
    if (no_gpu(t)) return;
    enum { N = 37, C = 203 };
    for (int a = 0; a < 3; a++)
        for (int wd = 0; wd < 3; wd++) {
            bag b = {0};
            fc_dtype adt = adts[a], wdt = adts[wd];
            fc_tensor *x = rand_act(t, &b, adt, 2, (int64_t[]){N, C}, 3.0f);
            fc_tensor *w = rand_cpu(t, &b, wdt, 1, (int64_t[]){C}, 1.5f);
            fc_tensor *bias = rand_cpu(t, &b, wdt, 1, (int64_t[]){C}, 1.0f);
            fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, C});
            fc_tensor *dx = dev(t, &b, x, adt), *dw = dev(t, &b, w, wdt), *db = dev(t, &b, bias, wdt);
            fc_tensor *dy = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){N, C});
            if (t->failed) {
                bag_free(&b);
                return;
            }
            OK(t, fc_op_rmsnorm(y, x, w, 1e-6f));
            OK(t, fc_op_rmsnorm(dy, dx, dw, 1e-6f));
            same(t, "rmsnorm", adt, dy, y, 4.0); /* |y| up to ~1.5 * sqrt(3): scale the absolute part */
            OK(t, fc_op_layernorm(y, x, w, bias, 1e-5f));
            OK(t, fc_op_layernorm(dy, dx, dw, db, 1e-5f));
            same(t, "layernorm", adt, dy, y, 4.0);
            OK(t, fc_op_layernorm(y, x, NULL, NULL, 1e-5f));
            OK(t, fc_op_layernorm(dy, dx, NULL, NULL, 1e-5f));
            same(t, "layernorm without affine", adt, dy, y, 4.0);
            bag_free(&b);
        }
}

static void test_cuda_elementwise(fc_test *t) {
    if (no_gpu(t)) return;
    enum { R = 37, C = 203 };
    for (int a = 0; a < 3; a++) {
        bag b = {0};
        fc_dtype adt = adts[a];
        fc_tensor *x = rand_act(t, &b, adt, 2, (int64_t[]){R, C}, 6.0f);
        fc_tensor *u = rand_act(t, &b, adt, 2, (int64_t[]){R, C}, 2.0f);
        fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){R, C});
        fc_tensor *dx = dev(t, &b, x, adt), *du = dev(t, &b, u, adt);
        fc_tensor *dy = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){R, C});
        if (t->failed) {
            bag_free(&b);
            return;
        }
        for (int act = 0; act < FC_ACT_COUNT; act++) {
            OK(t, fc_op_act(y, x, (fc_act)act));
            OK(t, fc_op_act(dy, dx, (fc_act)act));
            char what[32];
            snprintf(what, sizeof what, "act %d", act);
            same(t, what, adt, dy, y, 1.0);
        }
        OK(t, fc_op_silu_mul(y, x, u));
        OK(t, fc_op_silu_mul(dy, dx, du));
        same(t, "silu_mul", adt, dy, y, 4.0);
        OK(t, fc_op_add(y, x, u));
        OK(t, fc_op_add(dy, dx, du));
        same(t, "add", adt, dy, y, 4.0);
        bag_free(&b);
    }
}

static void test_cuda_embedding(fc_test *t) {
    if (no_gpu(t)) return;
    enum { V = 301, C = 203, T = 37 };
    int32_t ids[T];
    for (int i = 0; i < T; i++) ids[i] = (int32_t)((i * 97 + 13) % V);
    ids[0] = 0, ids[1] = V - 1;
    for (int a = 0; a < 3; a++)
        for (int td = 0; td < 3; td++) {
            bag b = {0};
            fc_dtype adt = adts[a], tdt = adts[td];
            fc_tensor *tab = rand_cpu(t, &b, tdt, 2, (int64_t[]){V, C}, 1.0f);
            fc_tensor *y = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, C});
            fc_tensor *dtab = dev(t, &b, tab, tdt), *dy = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){T, C});
            if (t->failed) {
                bag_free(&b);
                return;
            }
            OK(t, fc_op_embedding(y, tab, ids, T));
            OK(t, fc_op_embedding(dy, dtab, ids, T));
            same(t, "embedding", adt, dy, y, 1.0);
            bag_free(&b);
        }
}

static void test_cuda_rope(fc_test *t) {
    if (no_gpu(t)) return;
    static const int64_t Ds[] = {24, 128};
    enum { T = 37, NH = 3 };
    int32_t pos[T];
    for (int i = 0; i < T; i++) pos[i] = 880 + i;
    pos[3] = 0, pos[10] = 1500;
    for (int a = 0; a < 3; a++)
        for (int di = 0; di < 2; di++) {
            bag b = {0};
            fc_dtype adt = adts[a];
            fc_tensor *x = rand_act(t, &b, adt, 3, (int64_t[]){T, NH, Ds[di]}, 3.0f);
            fc_tensor *dx = dev(t, &b, x, adt);
            if (t->failed) {
                bag_free(&b);
                return;
            }
            OK(t, fc_op_rope(x, pos, 1e6f));
            OK(t, fc_op_rope(dx, pos, 1e6f));
            same(t, "rope", adt, dx, x, 3.0);
            bag_free(&b);
        }
}

static void test_cuda_attention(fc_test *t) {
    if (no_gpu(t)) return;
    static const struct { int64_t H, Hkv, D, T, S; bool causal; } cs[] = {
        {14, 2, 24, 37, 37, true}, {7, 1, 128, 1, 300, true}, {4, 4, 72, 5, 37, false}, {28, 4, 128, 37, 37, true}};
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 4; c++) {
            bag b = {0};
            fc_dtype adt = adts[a];
            int64_t H = cs[c].H, Hkv = cs[c].Hkv, D = cs[c].D, T = cs[c].T, S = cs[c].S;
            fc_tensor *q = rand_act(t, &b, adt, 3, (int64_t[]){T, H, D}, 1.0f);
            fc_tensor *k = rand_act(t, &b, adt, 3, (int64_t[]){S, Hkv, D}, 1.0f);
            fc_tensor *v = rand_act(t, &b, adt, 3, (int64_t[]){S, Hkv, D}, 1.0f);
            fc_tensor *o = zeros(t, &b, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){T, H * D});
            fc_tensor *dq = dev(t, &b, q, adt), *dk = dev(t, &b, k, adt), *dv = dev(t, &b, v, adt);
            fc_tensor *dout = zeros(t, &b, adt, FC_DEVICE_CUDA, 2, (int64_t[]){T, H * D});
            if (t->failed) {
                bag_free(&b);
                return;
            }
            float scale = 1.0f / sqrtf((float)D);
            OK(t, fc_op_attention(o, q, k, v, scale, cs[c].causal));
            OK(t, fc_op_attention(dout, dq, dk, dv, scale, cs[c].causal));
            char what[64];
            snprintf(what, sizeof what, "attention H%lld/%lld D%lld T%lld S%lld", (long long)H, (long long)Hkv,
                     (long long)D, (long long)T, (long long)S);
            same(t, what, adt, dout, o, 1.0);
            bag_free(&b);
        }
}

/* Issue 14: the backend is loaded at the first CUDA request, and only where it can run. Without it every
 * CUDA request (memory, tensors, a KV pool, ops) is refused with FC_EUNSUPPORTED and the loader's reason,
 * and nothing is left half made; with it, the status names the device and the library. Listed first so
 * that its first query is the one that loads (or fails to load) the backend: the caller's error message
 * must survive that. */
static void test_no_backend_refused_with_reason(fc_test *t) {
    fc_err_set(FC_EINVAL, "the caller's message");
    int n = fc_cuda_device_count();
    FC_CHECK(t, !strcmp(fc_errmsg(), "the caller's message"), "loading the backend changed the message to '%s'",
             fc_errmsg());
    const char *why = fc_cuda_describe();
    fc_tensor d;
    fc_err e = fc_tensor_create(&d, FC_DTYPE_F32, FC_DEVICE_CUDA, 1, (int64_t[]){16});
    if (n > 0) {
        FC_CHECK(t, strstr(why, "; backend ") && strstr(why, "libfastcache-cuda"), "status '%s' names no library", why);
        FC_CHECK(t, e == FC_OK && d.data, "a device tensor with a backend loaded: %s", fc_errmsg());
        fc_tensor_free(&d);
        return;
    }
    FC_CHECK(t, !strncmp(why, "no backend loaded: ", 19) && strlen(why) > 19, "status '%s'", why);
    FC_CHECK(t, e == FC_EUNSUPPORTED && !d.data && d.ndim == 0, "device tensor: %d (%s)", e, fc_errmsg());
    FC_CHECK(t, strstr(fc_errmsg(), why), "message '%s' lacks the reason '%s'", fc_errmsg(), why);
    void *p = (void *)1;
    float host[4] = {0};
    FC_CHECK(t, fc_cuda_alloc(&p, 64) == FC_EUNSUPPORTED && p == NULL, "alloc: %s", fc_errmsg());
    FC_CHECK(t, fc_cuda_memset0(host, sizeof host) == FC_EUNSUPPORTED, "memset: %s", fc_errmsg());
    FC_CHECK(t, fc_cuda_memcpy(host, false, host, true, sizeof host) == FC_EUNSUPPORTED, "memcpy: %s", fc_errmsg());
    FC_CHECK(t, fc_cuda_sync() == FC_EUNSUPPORTED, "sync: %s", fc_errmsg());
    fc_cuda_free(NULL);
    fc_kv_pool_params kp = {.n_layers = 1, .n_kv_heads = 1, .head_dim = 8, .block_size = 4, .n_blocks = 2,
                            .max_seqs = 1, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CUDA};
    fc_kv_pool *pool = (fc_kv_pool *)1;
    FC_CHECK(t, fc_kv_pool_create(&pool, &kp) == FC_EUNSUPPORTED && pool == NULL && strstr(fc_errmsg(), why),
             "kv pool on cuda: %s", fc_errmsg());
    /* an op on tensors that claim the device (host memory: never touched, the refusal comes first) */
    fc_tensor x = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 2, (int64_t[]){2, 2});
    FC_CHECK(t, fc_op_add(&x, &x, &x) == FC_EUNSUPPORTED && strstr(fc_errmsg(), "add: tensors on cuda, but no backend"),
             "add: %s", fc_errmsg());
    int32_t pos[2] = {0, 1};
    fc_tensor r = fc_tensor_view(host, FC_DTYPE_F32, FC_DEVICE_CUDA, 3, (int64_t[]){2, 1, 2});
    FC_CHECK(t, fc_op_rope(&r, pos, 1e4f) == FC_EUNSUPPORTED && strstr(fc_errmsg(), why), "rope: %s", fc_errmsg());
}

static const fc_test_case cases[] = {
    FC_CASE(test_no_backend_refused_with_reason),
    FC_CASE(test_cuda_linear),    FC_CASE(test_cuda_norms), FC_CASE(test_cuda_elementwise),
    FC_CASE(test_cuda_embedding), FC_CASE(test_cuda_rope),  FC_CASE(test_cuda_attention),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
