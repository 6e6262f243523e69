/* backend.h: what the CUDA backend offers the layers above: device discovery and raw memory.
 *
 * In a build without CUDA (no nvcc, or make CUDA=0) these are compiled from kernels/cpu/no_cuda.c:
 * fc_cuda_device_count() is 0 and every other call fails with FC_EUNSUPPORTED "built without CUDA".
 * In a CUDA build on a machine without a GPU, fc_cuda_device_count() is 0 as well; tests that need a GPU
 * check it and count themselves as skipped.
 */
#ifndef FC_BACKEND_H
#define FC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/err.h"

/* True when this binary was built with the CUDA backend. */
bool fc_cuda_built(void);
/* Number of usable CUDA devices (0 without a driver or GPU); never fails. */
int fc_cuda_device_count(void);
/* A one-line description of device 0 ("NVIDIA H100 80GB HBM3, 79 GiB, sm_90") or why there is none. */
const char *fc_cuda_describe(void);

fc_err fc_cuda_alloc(void **ptr, size_t bytes);
void fc_cuda_free(void *ptr); /* accepts NULL */
fc_err fc_cuda_memset0(void *ptr, size_t bytes);
/* Copies between host and device memory in any direction; the flags say where each pointer lives. */
fc_err fc_cuda_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes);
fc_err fc_cuda_sync(void);

#endif
