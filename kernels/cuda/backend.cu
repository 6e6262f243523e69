// backend.cu: device discovery and raw memory for the CUDA build (see kernels/backend.h).
#include <stdio.h>

#include "kernels/cuda/common.cuh"

extern "C" {
#include "kernels/backend.h"
}

extern "C" bool fc_cuda_built(void) { return true; }

extern "C" int fc_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no driver" error so later queries stay clean
        return 0;
    }
    return n;
}

extern "C" const char *fc_cuda_describe(void) {
    static char buf[256];
    int n = fc_cuda_device_count();
    if (n == 0) {
        snprintf(buf, sizeof buf, "no CUDA device");
        return buf;
    }
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        snprintf(buf, sizeof buf, "CUDA device 0 (properties unavailable)");
        return buf;
    }
    snprintf(buf, sizeof buf, "%.200s, %.0f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30), p.major, p.minor);
    return buf;
}

extern "C" fc_err fc_cuda_alloc(void **ptr, size_t bytes) {
    *ptr = NULL;
    if (fc_cuda_device_count() == 0) return fc_err_set(FC_EUNSUPPORTED, "CUDA: no device available");
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *ptr = NULL;
        return fc_err_set(FC_ENOMEM, "CUDA: cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(e));
    }
    return FC_OK;
}

extern "C" void fc_cuda_free(void *ptr) {
    if (ptr) cudaFree(ptr);
}

extern "C" fc_err fc_cuda_memset0(void *ptr, size_t bytes) {
    FC_CUDA_TRY(cudaMemset(ptr, 0, bytes));
    return FC_OK;
}

extern "C" fc_err fc_cuda_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes) {
    cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                        : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    FC_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind));
    return FC_OK;
}

extern "C" fc_err fc_cuda_sync(void) {
    FC_CUDA_TRY(cudaDeviceSynchronize());
    return FC_OK;
}
