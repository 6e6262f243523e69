// linear_backward.cu: the backward of linear.cu (rules of kernels/cpu/cpu_backward.h). Both products go
// through cublasGemmEx with f32 accumulation (CUBLAS_COMPUTE_32F):
//   dx (M, K) = dy (M, N) . w (N, K)        A = w, B = dy, in w's dtype (dy converted when it differs);
//   dw (N, K) += dy^T . x, f32               A = x, B = dy, in the activation dtype, C f32;
//   db (N) += column sums of dy              one thread per column, rows summed in f32.
// Row-major matrices are cuBLAS's column-major transposes: dx^T = w^T . dy^T is (OP_N, OP_N) with w read as
// (K, N) and dy as (N, M); dw^T = x^T . dy is (OP_N, OP_T).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void colsum_add_kernel(float *db, const T *dy, int64_t M, int64_t N) {
    for (int64_t n = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; n < N; n += (int64_t)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int64_t m = 0; m < M; m++) s += to_f32(dy[m * N + n]);
        db[n] += s;
    }
}

extern "C" fc_err fc_cuda_linear_bwd(void *dx, float *dw, float *db, const void *dy, const void *x, fc_dtype adt,
                                     const void *w, fc_dtype wdt, int64_t M, int64_t N, int64_t K, bool accumulate) {
    if (M == 0) return FC_OK;
    if (wdt == FC_DTYPE_F32 && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "linear_bwd: f32 weights need f32 activations on cuda, got %s",
                          fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != wdt)
        return fc_err_set(FC_EUNSUPPORTED, "linear_bwd: %s activations with %s weights on cuda (cuBLAS needs one half type)",
                          fc_dtype_name(adt), fc_dtype_name(wdt));
    cublasHandle_t h = NULL;
    FC_TRY(fc_cuda_cublas(&h));
    float one = 1.0f;
    if (dx && K > 0) {
        if (N == 0) {
            if (!accumulate) FC_CUDA_TRY(cudaMemset(dx, 0, (size_t)(M * K) * fc_dtype_size(adt)));
        } else {
            const void *dyin = dy;
            if (adt != wdt) FC_TRY(fc_cuda_convert(dy, adt, wdt, M * N, 0, &dyin));
            float beta = accumulate ? 1.0f : 0.0f;
            FC_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)K, (int)M, (int)N, &one, w, fc_cuda_type(wdt),
                                       (int)K, dyin, fc_cuda_type(wdt), (int)N, &beta, dx, fc_cuda_type(adt), (int)K,
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        }
    }
    if (dw && N > 0 && K > 0)
        FC_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, (int)K, (int)N, (int)M, &one, x, fc_cuda_type(adt),
                                   (int)K, dy, fc_cuda_type(adt), (int)N, &one, dw, CUDA_R_32F, (int)K,
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (db && N > 0) {
        FC_CUDA_DISPATCH("linear_bwd", adt,
                         { colsum_add_kernel<TA><<<fc_cuda_blocks(N, 256), 256>>>(db, (const TA *)dy, M, N); });
        FC_CUDA_LAUNCH_TRY();
    }
    return FC_OK;
}
