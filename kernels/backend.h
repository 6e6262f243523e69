/* backend.h: what the CUDA backend offers the layers above: device discovery and raw memory.
 *
 * The CUDA code lives in a separate library (libfastcache-cuda.so, kernels/cuda/) that is loaded at run
 * time, at the first CUDA request, and only when a GPU is present (kernels/backend.c; the boundary is the
 * table in kernels/cuda/ops_table.h). So fc-eval and fc-train link neither cudart nor cuBLAS, and a CPU
 * run pays nothing for CUDA. Without a backend (a build without CUDA, no GPU, no library, FC_CUDA=0 in
 * the environment), fc_cuda_device_count() is 0, fc_cuda_describe() says why, and every other call fails
 * with FC_EUNSUPPORTED giving that reason; tests that need a GPU check fc_cuda_device_count() and count
 * themselves as skipped.
 *
 * Environment: FC_CUDA=0 never loads the backend; FC_CUDA_BACKEND=<path> loads that library instead of
 * the one found beside the executable and skips the GPU probe (the library's own device query decides).
 */
#ifndef FC_BACKEND_H
#define FC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/err.h"

/* True when this binary looks for a CUDA backend at run time (built with nvcc present and CUDA != 0). */
bool fc_cuda_built(void);
/* Number of usable CUDA devices: 0 without a loaded backend. Loads the backend on first use; never fails. */
int fc_cuda_device_count(void);
/* One line: the device and the library when a backend is loaded ("NVIDIA H100 80GB HBM3, 79 GiB, sm_90;
 * backend bin/libfastcache-cuda.so"), else "no backend loaded: <why>". Loads the backend on first use. */
const char *fc_cuda_describe(void);

fc_err fc_cuda_alloc(void **ptr, size_t bytes);
void fc_cuda_free(void *ptr); /* accepts NULL */
fc_err fc_cuda_memset0(void *ptr, size_t bytes);
/* Copies between host and device memory in any direction; the flags say where each pointer lives. */
fc_err fc_cuda_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes);
fc_err fc_cuda_sync(void);

#endif
