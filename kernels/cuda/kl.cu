// kl.cu: the KL distillation loss and its gradient on the GPU, one block per row of logits, as
// core/autograd/distill_loss.c computes the kl loss: log-softmax of z / tau in double (max, then
// z / tau - max, then minus the log of the sum of exps), KL(p || q) = sum p (lp - lq) in double;
// the figures at tau = 1 (KL and argmax agreement, first max wins) beside the loss at tau; the gradient of
// k_grad * tau^2 KL is dz = tau * k_grad * (q - p), rounded to f32.
// Per-row figures go to device scratch slot 3 and are downloaded into the caller's host array.
#include <math.h>

#include "kernels/cuda/common.cuh"

extern "C" {
#include "kernels/cuda/cuda.h"
}

#define KL_THREADS 256

__device__ double block_sum_d(double v, double *sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Index of the first maximum of z (V): the largest value, ties to the smaller index.
__device__ int64_t block_argmax(const float *z, int64_t V, float *shv, int64_t *shi) {
    float best = -INFINITY;
    int64_t bi = V; // "none yet": any index beats it on a tie of -inf
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
        if (z[v] > best || (z[v] == best && v < bi)) best = z[v], bi = v;
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ob > best || (ob == best && oi < bi)) best = ob, bi = oi;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) shv[warp] = best, shi[warp] = bi;
    __syncthreads();
    best = lane < nw ? shv[lane] : -INFINITY;
    bi = lane < nw ? shi[lane] : V;
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ob > best || (ob == best && oi < bi)) best = ob, bi = oi;
    }
    return bi < V ? bi : 0;
}

// log of the sum of exp(z / tau - mx) over the row
__device__ double block_lse(const float *z, int64_t V, double tau, double mx, double *sh) {
    double s = 0.0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) s += exp((double)z[v] / tau - mx);
    return log(block_sum_d(s, sh));
}

// sum p (lp - lq), lp = zt / tau - mt - Lt, lq = zs / tau - ms - Ls
__device__ double block_kl(const float *zt, const float *zs, int64_t V, double tau, double mt, double Lt, double ms,
                           double Ls, double *sh) {
    double s = 0.0;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
        double lp = (double)zt[v] / tau - mt - Lt, lq = (double)zs[v] / tau - ms - Ls;
        s += exp(lp) * (lp - lq);
    }
    return block_sum_d(s, sh);
}

__global__ void kl_kernel(double *rows, float *dz, const float *zt_all, const float *zs_all, int64_t V, double tau,
                          double k_grad) {
    __shared__ double sh[32];
    __shared__ float shv[32];
    __shared__ int64_t shi[32];
    const float *zt = zt_all + blockIdx.x * V, *zs = zs_all + blockIdx.x * V;
    int64_t at = block_argmax(zt, V, shv, shi), as = block_argmax(zs, V, shv, shi);
    double mt = zt[at], ms = zs[as];
    double Lt = block_lse(zt, V, 1.0, mt, sh), Ls = block_lse(zs, V, 1.0, ms, sh);
    double kl1 = block_kl(zt, zs, V, 1.0, mt, Lt, ms, Ls, sh);
    double kl = kl1;
    if (tau != 1.0) {
        mt = (double)zt[at] / tau, ms = (double)zs[as] / tau;
        Lt = block_lse(zt, V, tau, mt, sh), Ls = block_lse(zs, V, tau, ms, sh);
        kl = block_kl(zt, zs, V, tau, mt, Lt, ms, Ls, sh);
    }
    if (threadIdx.x == 0) {
        double *r = rows + 3 * blockIdx.x;
        r[0] = tau * tau * kl, r[1] = kl1, r[2] = at == as ? 1.0 : 0.0;
    }
    if (!dz) return;
    float *dzr = dz + blockIdx.x * V;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
        double lp = (double)zt[v] / tau - mt - Lt, lq = (double)zs[v] / tau - ms - Ls;
        dzr[v] = (float)(tau * k_grad * (exp(lq) - exp(lp)));
    }
}

extern "C" fc_err fc_cuda_kl_loss(double *rows, float *dz, const float *zt, const float *zs, int64_t n, int64_t V,
                                  float tau, float k_grad) {
    if (n == 0) return FC_OK;
    if (V < 1) return fc_err_set(FC_EINVAL, "kl_loss: a vocabulary of %lld", (long long)V);
    if (n > INT32_MAX) return fc_err_set(FC_EUNSUPPORTED, "kl_loss: %lld rows exceed the cuda grid", (long long)n);
    void *drows;
    FC_TRY(fc_cuda_scratch(3, (size_t)n * 3 * sizeof(double), &drows));
    kl_kernel<<<(unsigned)n, KL_THREADS>>>((double *)drows, dz, zt, zs, V, (double)tau, (double)k_grad);
    FC_CUDA_LAUNCH_TRY();
    FC_CUDA_TRY(cudaMemcpy(rows, drows, (size_t)n * 3 * sizeof(double), cudaMemcpyDeviceToHost));
    return FC_OK;
}
