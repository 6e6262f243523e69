// dtype.cuh: element access for the CUDA kernels: activations are a template type T (float, __half,
// __nv_bfloat16) picked once per call by FC_CUDA_DISPATCH; parameters keep a run-time dtype (uniform
// across the grid, so the branch in load_param costs nothing) and are read as f32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

extern "C" {
#include "core/tensor/dtype.h"
}

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Element i of a parameter of dtype dt (F32, F16 or BF16) as f32.
__device__ __forceinline__ float load_param(const void *p, fc_dtype dt, int64_t i) {
    if (dt == FC_DTYPE_F16) return __half2float(((const __half *)p)[i]);
    if (dt == FC_DTYPE_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return ((const float *)p)[i];
}

// Runs `body` with TA bound to the C++ type of activation dtype `dt`; any other dtype is FC_EUNSUPPORTED.
#define FC_CUDA_DISPATCH(op, dt, ...)                                                                      \
    do {                                                                                                   \
        switch (dt) {                                                                                      \
        case FC_DTYPE_F32: { typedef float TA; __VA_ARGS__; } break;                                        \
        case FC_DTYPE_F16: { typedef __half TA; __VA_ARGS__; } break;                                       \
        case FC_DTYPE_BF16: { typedef __nv_bfloat16 TA; __VA_ARGS__; } break;                               \
        default:                                                                                           \
            return fc_err_set(FC_EUNSUPPORTED, "%s: cuda activations must be f32, f16 or bf16, got %s", op, \
                              fc_dtype_name(dt));                                                          \
        }                                                                                                  \
    } while (0)

// Grid size for n elements at `threads` per block, capped (kernels loop with a grid stride).
static inline unsigned fc_cuda_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 65535 * 8) b = 65535 * 8;
    return (unsigned)b;
}

// Sum of v over a warp, every lane receives it.
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread receives it. `sh` holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float *sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads(); // sh may still be read by a previous call
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(v);
}
