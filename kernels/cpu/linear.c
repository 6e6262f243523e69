/* linear.c: y (M, N) = x (M, K) . w (N, K)^T + b on the CPU, as torch.nn.Linear with f32 activations.
 *
 * Two regimes:
 * - small M (decode, M <= FC_LINEAR_SMALL_M): bound by memory and load ports. Weight rows are read
 *   once per 4 x rows, converted in registers, and dotted in register tiles (fc_cpu_dot_tile: each load
 *   feeds several FMAs), OpenMP over groups of output columns.
 * - larger M (prefill, vision): compute-bound. The weight rows are cut into blocks, OpenMP threads take
 *   blocks and run one single-threaded cblas_sgemm each (see blas.c for why BLAS brings no threads).
 *   f16/bf16 blocks (FC_LINEAR_BLOCK_FLOATS values) are first converted into the thread's scratch
 *   buffer, so no full f32 copy of the weight is ever made.
 * Conversion to f32 is exact, so the result equals torch's x @ w.float().T up to f32 summation order.
 */
#include <cblas.h>
#include <omp.h>

#include "kernels/cpu/cpu.h"

#define FC_LINEAR_SMALL_M 8
#define FC_LINEAR_BLOCK_FLOATS ((int64_t)1 << 19) /* 2 MiB of converted weight per sgemm and thread */

static void linear_small_m(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                           int64_t M, int64_t N, int64_t K) {
    size_t row_bytes = (size_t)K * fc_dtype_size(wdt);
    /* Groups of 4 weight rows; inside a group, register tiles of (x rows) x (w rows) = 1-2 x 4 or 3-4 x 2
     * (fc_cpu_dot_tile), single rows for a ragged end. Dynamic chunks: on a shared machine a descheduled
     * thread would otherwise hold up the whole op. */
    int64_t ngroups = (N + 3) / 4;
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t g = 0; g < ngroups; g++) {
        int64_t n_hi = g * 4 + 4 < N ? g * 4 + 4 : N;
        for (int64_t m0 = 0; m0 < M; m0 += 4) {
            int m = (int)(M - m0 < 4 ? M - m0 : 4);
            int nr = m <= 2 ? 4 : 2;
            if (m == 1 && wdt != FC_DTYPE_F32) nr = 1; /* measured: the 4-wide row loop streams halves faster */
            for (int64_t n = g * 4; n < n_hi;) {
                int cnt = n + nr <= n_hi ? nr : 1;
                const char *wr = (const char *)w + (size_t)n * row_bytes;
                float out[8]; /* out[j * cnt + r]: x row m0 + j against weight row n + r */
                if (cnt == 1) fc_cpu_dot_rows(out, x + m0 * K, K, m, wr, wdt, K);
                else fc_cpu_dot_tile(out, x + m0 * K, K, m, wr, row_bytes, nr, wdt, K);
                for (int j = 0; j < m; j++)
                    for (int r = 0; r < cnt; r++)
                        y[(m0 + j) * N + n + r] = out[j * cnt + r] + (b ? fc_cpu_get_f32(b, bdt, n + r) : 0.0f);
                n += cnt;
            }
        }
    }
}

/* Rows [n0, n0 + rows) of y: the bias (or zeros), then y += x . w[n0:n0+rows]^T by one single-threaded
 * sgemm, on w converted into this thread's scratch when it is a half type. */
static bool linear_block(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                         int64_t M, int64_t N, int64_t K, int64_t n0, int64_t rows) {
    const float *wf = (const float *)w + n0 * K;
    if (wdt != FC_DTYPE_F32) {
        float *buf = fc_cpu_scratch(0, (size_t)(rows * K));
        if (!buf) return false;
        size_t esz = fc_dtype_size(wdt);
        for (int64_t r = 0; r < rows; r++) fc_cpu_load_f32(buf + r * K, (const char *)w + (size_t)(n0 + r) * K * esz, wdt, K);
        wf = buf;
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < rows; n++) y[m * N + n0 + n] = b ? fc_cpu_get_f32(b, bdt, n0 + n) : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)rows, (int)K, 1.0f, x, (int)K, wf, (int)K, 1.0f,
                y + n0, (int)N);
    return true;
}

fc_err fc_cpu_linear(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                     int64_t M, int64_t N, int64_t K) {
    return fc_cpu_linear_blocked(y, x, w, wdt, b, bdt, M, N, K, 0);
}

fc_err fc_cpu_linear_blocked(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                             int64_t M, int64_t N, int64_t K, int64_t block_rows) {
    if (M == 0 || N == 0) return FC_OK;
    if (M <= FC_LINEAR_SMALL_M || K == 0) {
        linear_small_m(y, x, w, wdt, b, bdt, M, N, K);
        return FC_OK;
    }
    fc_cpu_blas_init();
    /* Blocks of weight rows, one sgemm each, spread over the threads. f32 weights need no conversion, so
     * each thread takes one large slice; half weights go in blocks of ~FC_LINEAR_BLOCK_FLOATS converted
     * values (a few MiB of scratch per thread, no full f32 copy of the weight). */
    int nt = omp_get_max_threads();
    int64_t nb = block_rows;
    if (nb <= 0) {
        nb = wdt == FC_DTYPE_F32 ? (N + nt - 1) / nt : FC_LINEAR_BLOCK_FLOATS / K;
        if (wdt != FC_DTYPE_F32 && nb > (N + nt - 1) / nt) nb = (N + nt - 1) / nt;
        nb = (nb + 15) / 16 * 16;
    }
    if (nb > N) nb = N;
    int64_t nblocks = (N + nb - 1) / nb;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t blk = 0; blk < nblocks; blk++) {
        int64_t n0 = blk * nb, rows = N - n0 < nb ? N - n0 : nb;
        if (!linear_block(y, x, w, wdt, b, bdt, M, N, K, n0, rows)) {
#pragma omp atomic write
            failed = 1;
        }
    }
    if (failed)
        return fc_err_set(FC_ENOMEM, "linear: out of memory converting %lld rows of the %lld x %lld weight",
                          (long long)nb, (long long)N, (long long)K);
    return FC_OK;
}
