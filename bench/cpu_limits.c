/* cpu_limits.c: what this machine can do at most, measured, so that every CPU benchmark can print its
 * figures as a share of a limit (bench/llm.sh, bench/run.sh).
 *
 *   cpu_limits [M N K] [dram_mib]
 *
 * - GEMM peaks on one large shape (default 600 x 11008 x 4096: a 600-token prefill through a 7B MLP
 *   projection, the reference shape), y = x . w^T, each the best of 4 warm calls:
 *     bf16: oneDNN matmul on a weight packed once (kernels/cpu/gemm_dnnl.c), bf16 inputs, f32 accumulation;
 *     f32:  the better of our f32 linear (OpenBLAS sgemm blocks, kernels/cpu/linear.c) and oneDNN f32
 *           on a packed weight; both are printed.
 * - DRAM read bandwidth: OpenMP threads summing a buffer of dram_mib MiB (default 2048, far above any L3
 *   here: a buffer that fits the LLC measures the cache, not DRAM), best of 4 passes after one that
 *   faults the pages in. The buffer sits on 2 MiB pages (fc_cpu_weight_alloc, as the packed weights do):
 *   on 4 KiB pages this VM read ~25% slower (TLB misses under nested paging), which understated the
 *   limit; the 4 KiB figure is printed beside it (dram_read_4k_gbs) for reference.
 * Prints one key=value line per limit; threads = OMP_NUM_THREADS.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tensor/tensor.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm_dnnl.h"
#include "bench/dram_read.h"
#include "kernels/cpu/gemv_bf16.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double best_of(int reps, fc_err (*fn)(void *), void *arg) {
    double best = 1e30;
    if (fn(arg)) return -1; /* warm-up: primitives, scratch, page faults */
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        if (fn(arg)) return -1;
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef struct {
    int64_t M, N, K;
    float *x, *y, *w;
    fc_wpack *pack;
} gemm_arg;

static fc_err run_ours_f32(void *p) {
    gemm_arg *a = p;
    return fc_cpu_linear(a->y, a->x, a->w, FC_DTYPE_F32, NULL, FC_DTYPE_F32, a->M, a->N, a->K);
}

static fc_err run_dnnl(void *p) {
    gemm_arg *a = p;
    return fc_dnnl_linear(a->y, a->x, a->M, a->pack, NULL, FC_DTYPE_F32);
}

int main(int argc, char **argv) {
    int64_t M = 600, N = 11008, K = 4096;
    long mib = 2048;
    if (argc >= 4) M = atoll(argv[1]), N = atoll(argv[2]), K = atoll(argv[3]);
    if (argc == 2 || argc == 5) mib = atol(argv[argc - 1]);
    if (M <= 0 || N <= 0 || K <= 0 || mib <= 0) {
        fprintf(stderr, "usage: cpu_limits [M N K] [dram_mib]\n");
        return 2;
    }
    gemm_arg a = {.M = M, .N = N, .K = K};
    a.x = malloc(sizeof(float) * M * K), a.y = malloc(sizeof(float) * M * N), a.w = malloc(sizeof(float) * N * K);
    if (!a.x || !a.y || !a.w) return 1;
    unsigned s = 1;
    for (int64_t i = 0; i < M * K; i++) a.x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int64_t i = 0; i < N * K; i++) a.w[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    double flop = 2.0 * M * N * K;
    printf("limits: threads=%d shape=%lldx%lldx%lld\n", omp_get_max_threads(), (long long)M, (long long)N,
           (long long)K);
    double t = best_of(4, run_ours_f32, &a);
    double f32_ours = t > 0 ? flop / t / 1e9 : 0, f32_dnnl = 0, bf16 = 0;
    char impl16[128] = "none", impl32[128] = "none";
    if (fc_dnnl_built()) {
        if (fc_dnnl_w_create(&a.pack, a.w, FC_DTYPE_F32, N, K, FC_DTYPE_F32) == FC_OK) {
            fc_dnnl_w_impl(a.pack, M, impl32, sizeof impl32);
            t = best_of(4, run_dnnl, &a);
            f32_dnnl = t > 0 ? flop / t / 1e9 : 0;
            fc_dnnl_w_free(a.pack);
        }
        if (fc_dnnl_w_create(&a.pack, a.w, FC_DTYPE_F32, N, K, FC_DTYPE_BF16) == FC_OK) {
            fc_dnnl_w_impl(a.pack, M, impl16, sizeof impl16);
            t = best_of(4, run_dnnl, &a);
            bf16 = t > 0 ? flop / t / 1e9 : 0;
            fc_dnnl_w_free(a.pack);
        }
    }
    printf("limit bf16_gemm_gflops=%.1f impl=%s\n", bf16, impl16);
    printf("limit f32_gemm_gflops=%.1f openblas_gflops=%.1f onednn_gflops=%.1f onednn_impl=%s\n",
           f32_ours > f32_dnnl ? f32_ours : f32_dnnl, f32_ours, f32_dnnl, impl32);
    free(a.x), free(a.y), free(a.w);
    size_t n = (size_t)mib << 18; /* floats, a multiple of 4096 */
    double gbs[2];
    for (int huge = 1; huge >= 0; huge--) {
        float *buf = huge ? fc_cpu_weight_alloc(n * sizeof(float)) : malloc(n * sizeof(float));
        if (!buf) return 1;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 7);
        gbs[huge] = bench_dram_read_gbs(buf, n, 5);
        free(buf);
    }
    printf("limit dram_read_gbs=%.2f buffer_mib=%ld pages=2MiB dram_read_4k_gbs=%.2f\n", gbs[1], mib, gbs[0]);
    return 0;
}
