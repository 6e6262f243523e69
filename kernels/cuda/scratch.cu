// scratch.cu: grow-only device buffers for the CUDA ops (converted activations, uploaded ids/positions),
// so steady-state calls do not cudaMalloc. CUDA ops are issued from one thread (see cuda.h).
#include <string.h>

#include "kernels/cuda/common.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

static void *scratch_buf[FC_CUDA_SCRATCH_SLOTS];
static size_t scratch_cap[FC_CUDA_SCRATCH_SLOTS];

extern "C" fc_err fc_cuda_scratch(int slot, size_t bytes, void **out) {
    *out = NULL;
    if (slot < 0 || slot >= FC_CUDA_SCRATCH_SLOTS) return fc_err_set(FC_EINVAL, "cuda scratch: bad slot %d", slot);
    if (scratch_cap[slot] < bytes) {
        size_t want = bytes + bytes / 2; // grow by 1.5x so a slowly rising T does not realloc every call
        void *p = NULL;
        // the old buffer may still be read by queued kernels: wait for them before freeing it
        FC_CUDA_TRY(cudaDeviceSynchronize());
        cudaError_t e = cudaMalloc(&p, want);
        if (e != cudaSuccess)
            return fc_err_set(FC_ENOMEM, "cuda scratch: cudaMalloc of %zu bytes failed: %s", want, cudaGetErrorString(e));
        cudaFree(scratch_buf[slot]);
        scratch_buf[slot] = p;
        scratch_cap[slot] = want;
    }
    *out = scratch_buf[slot];
    return FC_OK;
}

// Uploads go through a pinned host ring so cudaMemcpyAsync neither blocks the host nor waits for the GPU
// (a pageable cudaMemcpy synchronises, leaving the GPU idle while the next kernels are launched). The
// stream orders each copy after the kernels that read the slot's previous contents. A region of the ring
// is written again only after a cudaStreamSynchronize at the wrap, so a pending copy never reads bytes
// that changed.
#define FC_CUDA_RING_BYTES ((size_t)8 << 20)
static char *ring;
static size_t ring_off;
static bool ring_failed;

extern "C" fc_err fc_cuda_upload(int slot, const void *host, size_t bytes, void **out) {
    FC_TRY(fc_cuda_scratch(slot, bytes, out));
    if (bytes == 0) return FC_OK;
    if (!ring && !ring_failed && cudaHostAlloc((void **)&ring, FC_CUDA_RING_BYTES, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError(); // no pinned memory: plain synchronous copies
        ring = NULL;
        ring_failed = true;
    }
    if (!ring || bytes > FC_CUDA_RING_BYTES / 4) {
        FC_CUDA_TRY(cudaMemcpy(*out, host, bytes, cudaMemcpyHostToDevice));
        return FC_OK;
    }
    size_t need = (bytes + 255) & ~(size_t)255;
    if (ring_off + need > FC_CUDA_RING_BYTES) {
        FC_CUDA_TRY(cudaStreamSynchronize(0));
        ring_off = 0;
    }
    memcpy(ring + ring_off, host, bytes);
    FC_CUDA_TRY(cudaMemcpyAsync(*out, ring + ring_off, bytes, cudaMemcpyHostToDevice, 0));
    ring_off += need;
    return FC_OK;
}

extern "C" void fc_cuda_scratch_release(void) {
    if (ring) {
        cudaDeviceSynchronize();
        cudaFreeHost(ring);
        ring = NULL;
        ring_off = 0;
    }
    for (int i = 0; i < FC_CUDA_SCRATCH_SLOTS; i++) {
        if (scratch_buf[i]) cudaFree(scratch_buf[i]);
        scratch_buf[i] = NULL;
        scratch_cap[i] = 0;
    }
}
