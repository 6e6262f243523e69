// common.cuh: error plumbing shared by the CUDA files: a failed CUDA or cuBLAS call becomes an fc_err
// whose message names the call, the file and the line.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "core/base/err.h"
#include "core/tensor/dtype.h"
}

// linear.cu: the library's one cuBLAS handle (created at first use), the cuBLAS type of a dtype, and x (adt)
// converted to dtype `to` (a half type) in device scratch slot `slot`.
fc_err fc_cuda_cublas(cublasHandle_t *h);
cudaDataType_t fc_cuda_type(fc_dtype dt);
fc_err fc_cuda_convert(const void *x, fc_dtype adt, fc_dtype to, int64_t n, int slot, const void **out);

#define FC_CUDA_TRY(call)                                                                                   \
    do {                                                                                                    \
        cudaError_t fc_cu_e_ = (call);                                                                      \
        if (fc_cu_e_ != cudaSuccess)                                                                        \
            return fc_err_set(FC_ECUDA, "%s failed at %s:%d: %s", #call, __FILE__, __LINE__,                \
                              cudaGetErrorString(fc_cu_e_));                                                \
    } while (0)

#define FC_CUBLAS_TRY(call)                                                                                 \
    do {                                                                                                    \
        cublasStatus_t fc_cb_e_ = (call);                                                                   \
        if (fc_cb_e_ != CUBLAS_STATUS_SUCCESS)                                                              \
            return fc_err_set(FC_ECUDA, "%s failed at %s:%d: %s", #call, __FILE__, __LINE__,                \
                              cublasGetStatusString(fc_cb_e_));                                             \
    } while (0)

// Checks the last kernel launch.
#define FC_CUDA_LAUNCH_TRY() FC_CUDA_TRY(cudaGetLastError())
