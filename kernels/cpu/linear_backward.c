/* linear_backward.c: the backward of linear.c (see cpu_backward.h).
 * dx = dy . w is one sgemm per slice of K columns of w: an f32 w is read in place (leading dim K), a half
 * w has its slice converted into the thread's scratch first (exact), so no f32 copy of a whole 7B-sized
 * matrix is made. OpenMP over slices; each slice writes its own columns of dx, so no reduction is needed.
 * dw = dy^T . x runs over blocks of output rows (disjoint rows of dw). */
#include <cblas.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"

#define LB_SCRATCH_FLOATS ((int64_t)1 << 21) /* 8 MiB of converted weight per thread and slice */

fc_err fc_cpu_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const void *w,
                         fc_dtype wdt, int64_t M, int64_t N, int64_t K, bool accumulate) {
    fc_cpu_blas_init();
    fc_err err = FC_OK;
    if (dx && M > 0) {
        int64_t kb = LB_SCRATCH_FLOATS / (N > 0 ? N : 1);
        if (kb > 256) kb = kb / 64 * 64;
        if (kb < 16) kb = 16;
        if (kb > K) kb = K;
        int64_t n_sl = (K + kb - 1) / kb;
        if (n_sl < 8 && K >= 128) { /* enough slices for the threads */
            kb = (K + 7) / 8;
            n_sl = (K + kb - 1) / kb;
        }
        size_t esz = fc_dtype_size(wdt);
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t s = 0; s < n_sl; s++) {
            int64_t k0 = s * kb, k1 = k0 + kb < K ? k0 + kb : K, n = k1 - k0;
            const float *B = (const float *)w + k0;
            int ldb = (int)K;
            if (wdt != FC_DTYPE_F32) {
                float *buf = fc_cpu_scratch(0, (size_t)(N * n));
                if (!buf) {
#pragma omp critical
                    err = FC_ENOMEM;
                    continue;
                }
                for (int64_t r = 0; r < N; r++)
                    fc_cpu_load_f32(buf + r * n, (const char *)w + ((size_t)r * K + k0) * esz, wdt, n);
                B = buf;
                ldb = (int)n;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)n, (int)N, 1.0f, dy, (int)N, B, ldb,
                        accumulate ? 1.0f : 0.0f, dx + k0, (int)K);
        }
        if (err) return err;
    }
    if (dw && M > 0) {
        int64_t nb = 32, n_bl = (N + nb - 1) / nb;
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t bl = 0; bl < n_bl; bl++) {
            int64_t n0 = bl * nb, n = n0 + nb < N ? nb : N - n0;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)K, (int)M, 1.0f, dy + n0, (int)N, x,
                        (int)K, 1.0f, dw + n0 * K, (int)K);
        }
    }
    if (db)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) db[n] += dy[m * N + n];
    return FC_OK;
}
