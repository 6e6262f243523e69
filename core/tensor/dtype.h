/* dtype.h: element types and exact conversions between them.
 *
 * f32 <-> f16 and f32 <-> bf16 round to nearest, ties to even, as torch's .to() does; NaN stays NaN
 * (quiet), overflow becomes inf, f16 subnormals are exact. f16/bf16 -> f32 is exact.
 */
#ifndef FC_DTYPE_H
#define FC_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

typedef enum {
    FC_DTYPE_F32 = 0,
    FC_DTYPE_F16,
    FC_DTYPE_BF16,
    FC_DTYPE_I32,
    FC_DTYPE_COUNT
} fc_dtype;

/* Bytes per element. */
size_t fc_dtype_size(fc_dtype t);
/* "f32", "f16", "bf16", "i32". */
const char *fc_dtype_name(fc_dtype t);
/* Parses our names and the safetensors spellings ("F32", "F16", "BF16", "I32"); FC_ENOTFOUND otherwise. */
fc_err fc_dtype_from_name(const char *name, fc_dtype *out);

static inline float fc_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}

static inline uint16_t fc_f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u); /* NaN: keep it quiet */
    uint32_t rounding = 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)((v.u + rounding) >> 16);
}

float fc_f16_to_f32(uint16_t h);
uint16_t fc_f32_to_f16(float f);

/* Converts n elements from src (type st) to dst (type dt). Same-type is a memcpy. Float -> i32 truncates toward
 * zero and saturates (NaN -> 0). */
void fc_dtype_convert(void *dst, fc_dtype dt, const void *src, fc_dtype st, size_t n);

#endif
