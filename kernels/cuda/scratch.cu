// scratch.cu: grow-only device buffers for the CUDA ops (converted activations, uploaded ids/positions),
// so steady-state calls do not cudaMalloc. CUDA ops are issued from one thread (see cuda.h).
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

extern "C" void fc_cuda_scratch_release(void) {
    for (int i = 0; i < FC_CUDA_SCRATCH_SLOTS; i++) {
        if (scratch_buf[i]) cudaFree(scratch_buf[i]);
        scratch_buf[i] = NULL;
        scratch_cap[i] = 0;
    }
}
