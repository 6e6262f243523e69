// backend.cu: the CUDA backend library's entry point (kernels/cuda/ops_table.h) with its device discovery
// and raw memory. The library exports only fc_cuda_backend_register (kernels/cuda/backend.map); the
// core reaches everything else through the table it fills.
#include <stdio.h>

#include "kernels/cuda/common.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
#include "kernels/cuda/ops_table.h"
}

static int dev_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); // clear the sticky "no driver" error so later queries stay clean
        return 0;
    }
    return n;
}

static const char *dev_describe(void) {
    static char buf[256];
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
        cudaGetLastError();
        snprintf(buf, sizeof buf, "CUDA device 0 (properties unavailable)");
        return buf;
    }
    snprintf(buf, sizeof buf, "%.200s, %.0f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30), p.major, p.minor);
    return buf;
}

static fc_err dev_alloc(void **ptr, size_t bytes) {
    *ptr = NULL;
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *ptr = NULL;
        return fc_err_set(FC_ENOMEM, "CUDA: cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(e));
    }
    return FC_OK;
}

static void dev_free(void *ptr) {
    if (ptr) cudaFree(ptr);
}

static fc_err dev_memset0(void *ptr, size_t bytes) {
    FC_CUDA_TRY(cudaMemset(ptr, 0, bytes));
    return FC_OK;
}

static fc_err dev_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes) {
    cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                        : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    FC_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind));
    return FC_OK;
}

static fc_err dev_sync(void) {
    FC_CUDA_TRY(cudaDeviceSynchronize());
    return FC_OK;
}

extern "C" __attribute__((visibility("default"))) fc_err fc_cuda_backend_register(fc_cuda_ops *ops, uint32_t abi,
                                                                                  uint32_t size) {
    if (abi != FC_CUDA_ABI || size != sizeof(fc_cuda_ops))
        return fc_err_set(FC_EUNSUPPORTED, "backend ABI %u (table of %u bytes), the program wants ABI %u (%u bytes): "
                                           "rebuild both with make",
                          (unsigned)FC_CUDA_ABI, (unsigned)sizeof(fc_cuda_ops), (unsigned)abi, (unsigned)size);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fc_err_set(FC_EUNSUPPORTED, "no usable CUDA device: cudaGetDeviceCount: %s", cudaGetErrorString(e));
    }
    if (n == 0) return fc_err_set(FC_EUNSUPPORTED, "no usable CUDA device: the driver lists none");
    *ops = fc_cuda_ops{};
    ops->abi = FC_CUDA_ABI;
    ops->size = sizeof(fc_cuda_ops);
    ops->device_count = dev_count;
    ops->describe = dev_describe;
    ops->alloc = dev_alloc;
    ops->free = dev_free;
    ops->memset0 = dev_memset0;
    ops->memcpy = dev_memcpy;
    ops->sync = dev_sync;
    ops->linear = fc_cuda_linear;
    ops->rmsnorm = fc_cuda_rmsnorm;
    ops->layernorm = fc_cuda_layernorm;
    ops->act = fc_cuda_act;
    ops->silu_mul = fc_cuda_silu_mul;
    ops->add = fc_cuda_add;
    ops->embedding = fc_cuda_embedding;
    ops->rope = fc_cuda_rope;
    ops->attention = fc_cuda_attention;
    ops->paged_attention = fc_cuda_paged_attention;
    ops->linear_bwd = fc_cuda_linear_bwd;
    ops->rmsnorm_bwd = fc_cuda_rmsnorm_bwd;
    ops->rope_bwd = fc_cuda_rope_bwd;
    ops->silu_mul_bwd = fc_cuda_silu_mul_bwd;
    ops->attention_prefix = fc_cuda_attention_prefix;
    ops->attention_prefix_bwd = fc_cuda_attention_prefix_bwd;
    ops->kl_loss = fc_cuda_kl_loss;
    ops->adamw = fc_cuda_adamw;
    ops->linear_batched = fc_cuda_linear_batched;
    ops->kv_scatter = fc_cuda_kv_scatter;
    return FC_OK;
}
