/* test_base.c: errors, arena, thread pool, dtype conversions and tensors. */
#include <stdint.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/mem.h"
#include "core/base/threadpool.h"
#include "core/tensor/dtype.h"
#include "core/tensor/tensor.h"
#include "kernels/backend.h"
#include "tests/test.h"

static void test_err_message_and_prefix(fc_test *t) {
    fc_err e = fc_err_set(FC_EFORMAT, "header length %d > file size %d", 100, 8);
    FC_CHECK(t, e == FC_EFORMAT, "code %d", e);
    e = fc_err_prefix(e, "%s", "model.safetensors");
    FC_CHECK(t, e == FC_EFORMAT, "prefix changed the code");
    FC_CHECK(t, !strcmp(fc_errmsg(), "model.safetensors: header length 100 > file size 8"), "msg '%s'", fc_errmsg());
    FC_CHECK(t, !strcmp(fc_err_name(FC_ENOTFOUND), "not found"), "name");
}

static void test_arena_alignment_reset_peak(fc_test *t) {
    fc_arena a;
    fc_arena_init(&a, "test", 1024);
    char *p = fc_arena_alloc(&a, 10);
    char *q = fc_arena_alloc(&a, 5000); /* bigger than a block: gets its own */
    FC_CHECK(t, p && q, "alloc failed: %s", fc_errmsg());
    FC_CHECK(t, ((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0, "alignment");
    memset(q, 7, 5000);
    FC_CHECK(t, a.used == 64 + 5056 && a.peak == a.used, "used %zu peak %zu", a.used, a.peak);
    fc_arena_reset(&a);
    FC_CHECK(t, a.used == 0 && a.peak == 64 + 5056, "after reset used %zu peak %zu", a.used, a.peak);
    char *r = fc_arena_alloc(&a, 100);
    FC_CHECK(t, r && r[0] == 0 && r[99] == 0, "reset memory is zeroed");
    fc_arena_free(&a);
    fc_arena_free(&a); /* twice is harmless */
}

static void test_mul_size_overflow(fc_test *t) {
    size_t out = 7;
    FC_CHECK(t, !fc_mul_size(SIZE_MAX / 2 + 1, 2, &out) && out == 7, "overflow not detected");
    FC_CHECK(t, fc_mul_size(1000, 1000, &out) && out == 1000000, "product");
    void *p = fc_calloc(SIZE_MAX / 8, 16, "huge");
    FC_CHECK(t, p == NULL && strstr(fc_errmsg(), "huge"), "calloc overflow message '%s'", fc_errmsg());
}

typedef struct {
    int64_t sums[64];
} pool_ctx;

static void pool_sum(void *ctx, size_t begin, size_t end, int worker) {
    pool_ctx *c = ctx;
    for (size_t i = begin; i < end; i++) c->sums[worker] += (int64_t)i;
}

static void test_pool_covers_range_once(fc_test *t) {
    fc_pool *pool;
    FC_CHECK(t, fc_pool_create(&pool, 3) == FC_OK, "%s", fc_errmsg());
    for (int rep = 0; rep < 50; rep++) {
        pool_ctx c = {0};
        size_t n = (size_t)rep * 37 + 1;
        fc_pool_run(pool, n, pool_sum, &c);
        int64_t total = 0;
        for (int i = 0; i < 64; i++) total += c.sums[i];
        FC_CHECK(t, total == (int64_t)(n * (n - 1) / 2), "rep %d: sum %lld", rep, (long long)total);
    }
    fc_pool_free(pool);
    fc_pool_free(NULL);
}

/* Expected bit patterns are the IEEE definitions (and what torch's .to(float16/bfloat16) gives):
 * 1.0 = 0x3c00 / 0x3f80, 65504 = f16 max, 2^-24 = smallest f16 subnormal. */
static void test_f16_known_values(fc_test *t) {
    struct { float f; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {65504.0f, 0x7bff},
        {65520.0f, 0x7c00},            /* halfway to the next binade: ties to even = inf */
        {65519.0f, 0x7bff},            /* just below the tie */
        {5.9604644775390625e-08f, 0x0001}, /* 2^-24 */
        {2.98023223876953125e-08f, 0x0000}, /* 2^-25: tie between 0 and 2^-24 -> even (0) */
        {4.4703483581542969e-08f, 0x0001},  /* 1.5 * 2^-25 rounds up to 2^-24 */
        {6.103515625e-05f, 0x0400},    /* smallest normal 2^-14 */
        {1.0009765625f, 0x3c01},       /* 1 + 2^-10 */
        {1.00048828125f, 0x3c00},      /* 1 + 2^-11: tie -> even (down) */
        {1.00146484375f, 0x3c02},      /* 1 + 3*2^-11: tie -> even (up) */
        {0.333333343f, 0x3555},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = fc_f32_to_f16(cases[i].f);
        FC_CHECK(t, h == cases[i].h, "f32 %.10g -> f16 0x%04x, want 0x%04x", cases[i].f, h, cases[i].h);
    }
    FC_CHECK(t, (fc_f32_to_f16(NAN) & 0x7fff) > 0x7c00, "NaN stays NaN");
    FC_CHECK(t, fc_f32_to_f16(INFINITY) == 0x7c00, "inf");
}

static void test_f16_roundtrip_all(fc_test *t) {
    /* every finite f16 converts to f32 and back unchanged */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        float f = fc_f16_to_f32((uint16_t)h);
        FC_CHECK(t, fc_f32_to_f16(f) == h, "0x%04x -> %g -> 0x%04x", h, f, fc_f32_to_f16(f));
    }
    FC_CHECK(t, fc_f16_to_f32(0x0001) == 5.9604644775390625e-08f, "subnormal value");
}

static void test_bf16_rounding(fc_test *t) {
    FC_CHECK(t, fc_f32_to_bf16(1.0f) == 0x3f80, "1.0");
    /* 1 + 2^-8 is exactly halfway between bf16 1.0 and 1+2^-7: ties to even -> 1.0 */
    FC_CHECK(t, fc_f32_to_bf16(1.00390625f) == 0x3f80, "tie down");
    FC_CHECK(t, fc_f32_to_bf16(1.01171875f) == 0x3f82, "tie up (1+3*2^-8)");
    union { uint32_t u; float f; } above = {.u = 0x3f808001u}; /* one ulp above the tie */
    FC_CHECK(t, fc_f32_to_bf16(above.f) == 0x3f81, "just above tie");
    FC_CHECK(t, (fc_f32_to_bf16(NAN) & 0x7fff) > 0x7f80, "NaN");
    FC_CHECK(t, fc_f32_to_bf16(3.4028235e38f) == 0x7f80, "max float rounds to inf");
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80) continue;
        FC_CHECK(t, fc_f32_to_bf16(fc_bf16_to_f32((uint16_t)h)) == h, "roundtrip 0x%04x", h);
    }
}

static void test_tensor_create_copy_convert(fc_test *t) {
    int64_t shape[2] = {3, 5};
    fc_tensor a, b, c;
    FC_CHECK(t, fc_tensor_create(&a, FC_DTYPE_F32, FC_DEVICE_CPU, 2, shape) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_tensor_numel(&a) == 15 && fc_tensor_nbytes(&a) == 60, "sizes");
    float *x = a.data;
    for (int i = 0; i < 15; i++) x[i] = (float)i * 0.5f - 3.0f;
    FC_CHECK(t, fc_tensor_to(&b, &a, FC_DEVICE_CPU, FC_DTYPE_BF16) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_tensor_to(&c, &b, FC_DEVICE_CPU, FC_DTYPE_F32) == FC_OK, "%s", fc_errmsg());
    /* multiples of 0.5 in [-3, 4] are exact in bf16 */
    FC_CHECK(t, !memcmp(a.data, c.data, 60), "bf16 roundtrip of exact values");
    int64_t bad_shape[1] = {14};
    fc_tensor d;
    FC_CHECK(t, fc_tensor_create(&d, FC_DTYPE_F32, FC_DEVICE_CPU, 1, bad_shape) == FC_OK, "create");
    FC_CHECK(t, fc_tensor_copy(&d, &a) == FC_ESHAPE, "count mismatch must fail");
    int64_t neg[1] = {-1};
    fc_tensor e;
    FC_CHECK(t, fc_tensor_create(&e, FC_DTYPE_F32, FC_DEVICE_CPU, 1, neg) == FC_EINVAL, "negative dim");
    int64_t huge[4] = {INT64_MAX / 2, 4, 4, 4};
    FC_CHECK(t, fc_tensor_create(&e, FC_DTYPE_F32, FC_DEVICE_CPU, 4, huge) == FC_ENOMEM, "overflow");
    fc_tensor_free(&e);
    fc_tensor_free(&a);
    fc_tensor_free(&b);
    fc_tensor_free(&c);
    fc_tensor_free(&d);
    fc_tensor_free(NULL);
}

static void test_tensor_cuda_roundtrip(fc_test *t) {
    if (fc_cuda_device_count() == 0) {
        fc_test_skip(t, fc_cuda_describe());
        return;
    }
    int64_t shape[1] = {1000};
    fc_tensor a, g, back;
    FC_CHECK(t, fc_tensor_create(&a, FC_DTYPE_F32, FC_DEVICE_CPU, 1, shape) == FC_OK, "%s", fc_errmsg());
    for (int i = 0; i < 1000; i++) ((float *)a.data)[i] = (float)i / 7.0f;
    FC_CHECK(t, fc_tensor_to(&g, &a, FC_DEVICE_CUDA, FC_DTYPE_BF16) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_tensor_to(&back, &g, FC_DEVICE_CPU, FC_DTYPE_F32) == FC_OK, "%s", fc_errmsg());
    for (int i = 0; i < 1000; i++) {
        float want = fc_bf16_to_f32(fc_f32_to_bf16((float)i / 7.0f));
        FC_CHECK(t, ((float *)back.data)[i] == want, "[%d] %g vs %g", i, ((float *)back.data)[i], want);
    }
    fc_tensor_free(&a);
    fc_tensor_free(&g);
    fc_tensor_free(&back);
}

static const fc_test_case cases[] = {
    FC_CASE(test_err_message_and_prefix), FC_CASE(test_arena_alignment_reset_peak),
    FC_CASE(test_mul_size_overflow),      FC_CASE(test_pool_covers_range_once),
    FC_CASE(test_f16_known_values),       FC_CASE(test_f16_roundtrip_all),
    FC_CASE(test_bf16_rounding),          FC_CASE(test_tensor_create_copy_convert),
    FC_CASE(test_tensor_cuda_roundtrip),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
