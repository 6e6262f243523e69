// linear.cu: y (M, N) = x (M, K) . w (N, K)^T + b on the GPU with cublasGemmEx, f32 accumulation
// (CUBLAS_COMPUTE_32F). cuBLAS wants A and B of one type, so x is converted to w's dtype (device scratch)
// when they differ; y may be f32 or the weight's half type. The bias is broadcast into y first and the
// GEMM adds onto it (beta = 1); with a half y the bias is therefore rounded to that type once.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

static cublasHandle_t linear_handle;

fc_err fc_cuda_cublas(cublasHandle_t *h) {
    if (!linear_handle) FC_CUBLAS_TRY(cublasCreate(&linear_handle));
    *h = linear_handle;
    return FC_OK;
}

cudaDataType_t fc_cuda_type(fc_dtype dt) {
    return dt == FC_DTYPE_F16 ? CUDA_R_16F : dt == FC_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

template <typename Tin, typename Tout>
__global__ void convert_kernel(Tout *dst, const Tin *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = from_f32<Tout>(to_f32(src[i]));
}

template <typename T>
__global__ void bias_fill_kernel(T *y, const void *b, fc_dtype bdt, int64_t M, int64_t N) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < M * N; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = from_f32<T>(load_param(b, bdt, i % N));
}

// x (adt) into scratch `slot` as wdt (a half type).
fc_err fc_cuda_convert(const void *x, fc_dtype adt, fc_dtype wdt, int64_t n, int slot, const void **out) {
    void *buf;
    FC_TRY(fc_cuda_scratch(slot, (size_t)n * fc_dtype_size(wdt), &buf));
    unsigned blocks = fc_cuda_blocks(n, 256);
    FC_CUDA_DISPATCH("linear", adt, {
        if (wdt == FC_DTYPE_F16) convert_kernel<TA, __half><<<blocks, 256>>>((__half *)buf, (const TA *)x, n);
        else convert_kernel<TA, __nv_bfloat16><<<blocks, 256>>>((__nv_bfloat16 *)buf, (const TA *)x, n);
    });
    FC_CUDA_LAUNCH_TRY();
    *out = buf;
    return FC_OK;
}

extern "C" fc_err fc_cuda_linear(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                                 fc_dtype bdt, int64_t M, int64_t N, int64_t K) {
    if (M == 0 || N == 0) return FC_OK;
    if (wdt == FC_DTYPE_F32 && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "linear: f32 weights need f32 activations on cuda, got %s", fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != wdt)
        return fc_err_set(FC_EUNSUPPORTED, "linear: %s activations with %s weights on cuda (cuBLAS needs one half type)",
                          fc_dtype_name(adt), fc_dtype_name(wdt));
    if (K == 0) { // an empty sum: y is the bias (or zeros); cuBLAS refuses lda = 0
        if (!b) FC_CUDA_TRY(cudaMemset(y, 0, (size_t)(M * N) * fc_dtype_size(adt)));
        else FC_CUDA_DISPATCH("linear", adt, { bias_fill_kernel<TA><<<fc_cuda_blocks(M * N, 256), 256>>>((TA *)y, b, bdt, M, N); });
        FC_CUDA_LAUNCH_TRY();
        return FC_OK;
    }
    cublasHandle_t h = NULL;
    FC_TRY(fc_cuda_cublas(&h));
    const void *xin = x;
    if (adt != wdt) FC_TRY(fc_cuda_convert(x, adt, wdt, M * K, 0, &xin));
    float alpha = 1.0f, beta = 0.0f;
    if (b) {
        FC_CUDA_DISPATCH("linear", adt, { bias_fill_kernel<TA><<<fc_cuda_blocks(M * N, 256), 256>>>((TA *)y, b, bdt, M, N); });
        FC_CUDA_LAUNCH_TRY();
        beta = 1.0f;
    }
    // Row-major y = x w^T is column-major y^T (N, M) = w^T' . x^T with w read transposed (lda = K).
    FC_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &alpha, w, fc_cuda_type(wdt), (int)K,
                               xin, fc_cuda_type(wdt), (int)K, &beta, y, fc_cuda_type(adt), (int)N, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
    return FC_OK;
}

// Batched: the same GEMM per batch entry with strides between entries; the bias of entry i is b + i*N.
extern "C" fc_err fc_cuda_linear_batched(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt,
                                         const void *b, fc_dtype bdt, int64_t batch, int64_t M, int64_t N, int64_t K) {
    if (batch == 0 || M == 0 || N == 0) return FC_OK;
    if (wdt == FC_DTYPE_F32 && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "linear_batched: f32 weights need f32 activations on cuda, got %s",
                          fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != wdt)
        return fc_err_set(FC_EUNSUPPORTED, "linear_batched: %s activations with %s weights on cuda", fc_dtype_name(adt),
                          fc_dtype_name(wdt));
    if (b) {
        // the bias of each entry, broadcast over its M rows: entry i's rows are rows i*M .. i*M+M-1 of y
        FC_CUDA_DISPATCH("linear_batched", adt, {
            for (int64_t i = 0; i < batch; i++)
                bias_fill_kernel<TA><<<fc_cuda_blocks(M * N, 256), 256>>>((TA *)y + i * M * N,
                                                                         (const char *)b + i * N * fc_dtype_size(bdt),
                                                                         bdt, M, N);
        });
        FC_CUDA_LAUNCH_TRY();
    } else if (K == 0) {
        FC_CUDA_TRY(cudaMemset(y, 0, (size_t)(batch * M * N) * fc_dtype_size(adt)));
    }
    if (K == 0) return FC_OK;
    cublasHandle_t h = NULL;
    FC_TRY(fc_cuda_cublas(&h));
    const void *xin = x;
    if (adt != wdt) FC_TRY(fc_cuda_convert(x, adt, wdt, batch * M * K, 0, &xin));
    float alpha = 1.0f, beta = b ? 1.0f : 0.0f;
    FC_CUBLAS_TRY(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &alpha, w,
                                             fc_cuda_type(wdt), (int)K, N * K, xin, fc_cuda_type(wdt), (int)K, M * K,
                                             &beta, y, fc_cuda_type(adt), (int)N, M * N, (int)batch,
                                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return FC_OK;
}
