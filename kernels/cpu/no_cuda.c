/* no_cuda.c: the backend API in a build without CUDA. Compiled only when the Makefile leaves CUDA out. */
#include "kernels/backend.h"

bool fc_cuda_built(void) { return false; }
int fc_cuda_device_count(void) { return 0; }
const char *fc_cuda_describe(void) { return "built without CUDA"; }

static fc_err no_cuda(void) { return fc_err_set(FC_EUNSUPPORTED, "CUDA: this binary was built without CUDA (make CUDA=1)"); }

fc_err fc_cuda_alloc(void **ptr, size_t bytes) {
    (void)bytes;
    *ptr = NULL;
    return no_cuda();
}
void fc_cuda_free(void *ptr) { (void)ptr; }
fc_err fc_cuda_memset0(void *ptr, size_t bytes) {
    (void)ptr, (void)bytes;
    return no_cuda();
}
fc_err fc_cuda_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes) {
    (void)dst, (void)dst_on_device, (void)src, (void)src_on_device, (void)bytes;
    return no_cuda();
}
fc_err fc_cuda_sync(void) { return no_cuda(); }
