// embedding.cu: y (T, C) = table (V, C)[ids], one block per token. The ids come from the host (already
// range-checked by the dispatcher) and are uploaded to device scratch slot 1.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/dtype.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

template <typename T>
__global__ void embedding_kernel(T *y, const void *table, fc_dtype tdt, const int32_t *ids, int64_t C) {
    int64_t row = ids[blockIdx.x];
    T *yr = y + blockIdx.x * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) yr[c] = from_f32<T>(load_param(table, tdt, row * C + c));
}

extern "C" fc_err fc_cuda_embedding(void *y, fc_dtype adt, const void *table, fc_dtype tdt, const int32_t *ids,
                                   int64_t T, int64_t C) {
    if (T == 0) return FC_OK;
    if (T > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "embedding: %lld ids exceed the cuda grid", (long long)T);
    void *dids;
    FC_TRY(fc_cuda_upload(1, ids, (size_t)T * sizeof(int32_t), &dids));
    FC_CUDA_DISPATCH("embedding", adt, {
        embedding_kernel<TA><<<(unsigned)T, 256>>>((TA *)y, table, tdt, (const int32_t *)dids, C);
    });
    FC_CUDA_LAUNCH_TRY();
    return FC_OK;
}
