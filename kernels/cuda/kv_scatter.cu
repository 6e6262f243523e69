// kv_scatter.cu: the new tokens' K (or V) rows into their rows of a paged cache in one launch (instead of
// one cudaMemcpy per token): one block per token, copying 16-byte words when the row allows, else bytes.
#include "kernels/cuda/common.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

__global__ void kv_scatter16_kernel(uint4 *cache, const uint4 *src, int64_t words, const int32_t *rows) {
    const uint4 *s = src + blockIdx.x * words;
    uint4 *d = cache + (int64_t)rows[blockIdx.x] * words;
    for (int64_t i = threadIdx.x; i < words; i += blockDim.x) d[i] = s[i];
}

__global__ void kv_scatter1_kernel(char *cache, const char *src, int64_t bytes, const int32_t *rows) {
    const char *s = src + blockIdx.x * bytes;
    char *d = cache + (int64_t)rows[blockIdx.x] * bytes;
    for (int64_t i = threadIdx.x; i < bytes; i += blockDim.x) d[i] = s[i];
}

extern "C" fc_err fc_cuda_kv_scatter(void *cache, const void *src, size_t row_bytes, const int32_t *rows, int64_t T) {
    if (T == 0 || row_bytes == 0) return FC_OK;
    if (T > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "kv_scatter: %lld rows exceed the cuda grid", (long long)T);
    void *drows;
    FC_TRY(fc_cuda_upload(1, rows, (size_t)T * sizeof(int32_t), &drows));
    bool aligned = row_bytes % 16 == 0 && (uintptr_t)cache % 16 == 0 && (uintptr_t)src % 16 == 0;
    if (aligned)
        kv_scatter16_kernel<<<(unsigned)T, 128>>>((uint4 *)cache, (const uint4 *)src, (int64_t)(row_bytes / 16),
                                                  (const int32_t *)drows);
    else
        kv_scatter1_kernel<<<(unsigned)T, 256>>>((char *)cache, (const char *)src, (int64_t)row_bytes,
                                                 (const int32_t *)drows);
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
