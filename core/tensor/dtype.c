/* dtype.c: name table and the f16 conversions (bf16 is inline in the header). */
#include "core/tensor/dtype.h"

#include <assert.h>
#include <string.h>

static const struct {
    const char *name, *st_name;
    size_t size;
} dtype_info[] = {
    [FC_DTYPE_F32] = {"f32", "F32", 4},
    [FC_DTYPE_F16] = {"f16", "F16", 2},
    [FC_DTYPE_BF16] = {"bf16", "BF16", 2},
    [FC_DTYPE_I32] = {"i32", "I32", 4},
};
static_assert(sizeof(dtype_info) / sizeof(dtype_info[0]) == FC_DTYPE_COUNT, "dtype_info out of sync");

size_t fc_dtype_size(fc_dtype t) { return (unsigned)t < FC_DTYPE_COUNT ? dtype_info[t].size : 0; }

const char *fc_dtype_name(fc_dtype t) { return (unsigned)t < FC_DTYPE_COUNT ? dtype_info[t].name : "?"; }

fc_err fc_dtype_from_name(const char *name, fc_dtype *out) {
    for (int t = 0; t < FC_DTYPE_COUNT; t++) {
        if (!strcmp(name, dtype_info[t].name) || !strcmp(name, dtype_info[t].st_name)) {
            *out = (fc_dtype)t;
            return FC_OK;
        }
    }
    return fc_err_set(FC_ENOTFOUND, "unknown dtype '%s'", name);
}

float fc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    union { uint32_t u; float f; } v = {.u = u};
    return v.f;
}

uint16_t fc_f32_to_f16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    uint32_t u = v.u;
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return sign | 0x7e00u;   /* NaN */
    if (abs >= 0x477ff000u) return sign | 0x7c00u;  /* rounds to >= 65520: inf */
    if (abs < 0x38800000u) {                        /* below the smallest normal f16 (2^-14) */
        if (abs < 0x33000000u) return sign;         /* < 2^-25: rounds to zero (2^-25 itself ties to 0) */
        uint32_t exp = abs >> 23;
        uint32_t man = (abs & 0x7fffffu) | 0x800000u;
        /* value = man * 2^(exp-150); in units of 2^-24 (the f16 subnormal step) that is man >> (126-exp) */
        uint32_t shift = 126 - exp;
        uint32_t q = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return sign | (uint16_t)q;
    }
    /* normal: rebias exponent, round mantissa from 23 to 10 bits (carry may bump the exponent) */
    uint32_t r = abs - ((127u - 15u) << 23);
    uint32_t lsb = (r >> 13) & 1u;
    r += 0xfffu + lsb;
    return sign | (uint16_t)(r >> 13);
}

static float load_f32(const void *src, fc_dtype st, size_t i) {
    switch (st) {
    case FC_DTYPE_F32: return ((const float *)src)[i];
    case FC_DTYPE_F16: return fc_f16_to_f32(((const uint16_t *)src)[i]);
    case FC_DTYPE_BF16: return fc_bf16_to_f32(((const uint16_t *)src)[i]);
    case FC_DTYPE_I32: return (float)((const int32_t *)src)[i];
    default: FC_ASSERT(0 && "bad dtype");
    }
    return 0;
}

void fc_dtype_convert(void *dst, fc_dtype dt, const void *src, fc_dtype st, size_t n) {
    if (dt == st) {
        memcpy(dst, src, n * fc_dtype_size(dt));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float x = load_f32(src, st, i);
        switch (dt) {
        case FC_DTYPE_F32: ((float *)dst)[i] = x; break;
        case FC_DTYPE_F16: ((uint16_t *)dst)[i] = fc_f32_to_f16(x); break;
        case FC_DTYPE_BF16: ((uint16_t *)dst)[i] = fc_f32_to_bf16(x); break;
        case FC_DTYPE_I32: /* saturate: an out-of-range or NaN float -> int cast is undefined in C */
            ((int32_t *)dst)[i] = x != x ? 0 : x >= 2147483647.0f ? INT32_MAX : x <= -2147483648.0f ? INT32_MIN : (int32_t)x;
            break;
        default: FC_ASSERT(0 && "bad dtype");
        }
    }
}
