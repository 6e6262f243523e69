/* ops_linear.c: times fc_op_linear for one shape and weight dtype; bench/ops_linear.sh runs it beside
 * torch.nn.functional.linear and prints the ratios.
 *
 *   ops_linear M N K dtype iters [f32|bf16]
 *       prints "ms <median> <min>" for y (M, N) = x (M, K) . w (N, K)^T; with bf16 the weight is packed
 *       first (kernels/wpack.h, as a model does at load) and the oneDNN bf16 GEMM runs; also prints
 *       "impl <name>" on stderr for that case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tensor/tensor.h"
#include "kernels/cpu/gemm_dnnl.h"
#include "kernels/ops.h"
#include "kernels/wpack.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: ops_linear M N K f32|f16|bf16 iters [f32|bf16]\n");
        return 2;
    }
    int64_t M = atoll(argv[1]), N = atoll(argv[2]), K = atoll(argv[3]);
    int iters = atoi(argv[5]);
    fc_dtype dt;
    if (fc_dtype_from_name(argv[4], &dt) || M <= 0 || N <= 0 || K <= 0 || iters <= 0 || iters > 1000) {
        fprintf(stderr, "ops_linear: bad arguments\n");
        return 2;
    }
    fc_tensor x, w, y, wf;
    if (fc_tensor_create(&x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, K}) ||
        fc_tensor_create(&wf, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){N, K}) ||
        fc_tensor_create(&y, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){M, N})) {
        fprintf(stderr, "ops_linear: %s\n", fc_errmsg());
        return 1;
    }
    uint32_t s = 1;
    for (int64_t i = 0; i < M * K; i++) ((float *)x.data)[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int64_t i = 0; i < N * K; i++) ((float *)wf.data)[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    if (fc_tensor_to(&w, &wf, FC_DEVICE_CPU, dt)) {
        fprintf(stderr, "ops_linear: %s\n", fc_errmsg());
        return 1;
    }
    fc_tensor_free(&wf);
    fc_precision prec = FC_PREC_F32;
    if (argc == 7 && (fc_precision_from_name(argv[6], &prec) || fc_precision_set(prec) || fc_wpack_tensor(&w))) {
        fprintf(stderr, "ops_linear: %s\n", fc_errmsg());
        return 1;
    }
    if (w.pack) {
        char impl[128];
        if (fc_dnnl_w_impl(w.pack, M, impl, sizeof impl) == FC_OK) fprintf(stderr, "impl %s\n", impl);
    }
    double *t = calloc((size_t)iters, sizeof *t);
    if (!t) return 1;
    if (fc_op_linear(&y, &x, &w, NULL)) { /* warm-up: scratch buffers, thread pools, page faults */
        fprintf(stderr, "ops_linear: %s\n", fc_errmsg());
        return 1;
    }
    for (int i = 0; i < iters; i++) {
        double t0 = now_ms();
        fc_op_linear(&y, &x, &w, NULL);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    printf("ms %.4f %.4f\n", t[iters / 2], t[0]);
    free(t);
    fc_tensor_free(&x);
    fc_wpack_release(&w);
    fc_tensor_free(&w);
    fc_tensor_free(&y);
    return 0;
}
