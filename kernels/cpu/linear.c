/* linear.c: y (M, N) = x (M, K) . w (N, K)^T + b on the CPU, as torch.nn.Linear with f32 activations.
 *
 * Two regimes:
 * - small M (decode, M <= FC_LINEAR_SMALL_M): bound by memory and load ports. Weight rows are read
 *   once per 4 x rows, converted in registers, and dotted in register tiles (fc_cpu_dot_tile: each load
 *   feeds several FMAs), OpenMP over groups of output columns.
 * - larger M (prefill, vision): compute-bound. The weight rows are cut into blocks, OpenMP threads take
 *   blocks and run one single-threaded cblas_sgemm each (see blas.c for why BLAS brings no threads).
 *   f16/bf16 blocks (up to FC_LINEAR_BLOCK_FLOATS values) are first converted into the thread's scratch
 *   buffer, so no full f32 copy of the weight is ever made. Blocks are large on purpose: every sgemm call
 *   packs all of x again (OpenBLAS's "oncopy"), so with 128-row blocks a 600-token prefill spent 10-12% of
 *   its time re-packing x. Blocks of ~1000 rows, with K cut into slices of FC_LINEAR_K_SLICE so that
 *   wide weights (K = 11008, 18944) keep such blocks in 16 MiB of scratch, bring it to ~3% and the whole
 *   prefill's CPU time down 12% (Vicuna-7B and Qwen2-7B widths, T = 600, perf and CPU clocks).
 * Conversion to f32 is exact, so the result equals torch's x @ w.float().T up to f32 summation order.
 */
#include <cblas.h>
#include <omp.h>

#include "kernels/cpu/cpu.h"

#define FC_LINEAR_SMALL_M 8
#define FC_LINEAR_BLOCK_FLOATS ((int64_t)1 << 22) /* 16 MiB of converted weight per sgemm and thread */
#define FC_LINEAR_K_SLICE 4096                     /* widest slice of K converted for one sgemm */

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

/* Rows [n0, n0 + rows) of y: the bias (or zeros), then y += x . w[n0:n0+rows]^T by single-threaded sgemm
 * calls, on w converted into this thread's scratch when it is a half type. A half weight with K above
 * FC_LINEAR_K_SLICE goes in column slices of at most that width (one sgemm each, accumulating into y), so
 * the block can keep many rows within its scratch budget: x is packed again for every call, and with
 * K = 18944 (Qwen2-7B's down projection) whole-K blocks would have been 200 rows thin. */
static bool linear_block(float *y, const float *x, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                         int64_t M, int64_t N, int64_t K, int64_t n0, int64_t rows) {
    if (b)
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < rows; n++) y[m * N + n0 + n] = fc_cpu_get_f32(b, bdt, n0 + n);
    if (wdt == FC_DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)rows, (int)K, 1.0f, x, (int)K,
                    (const float *)w + n0 * K, (int)K, b ? 1.0f : 0.0f, y + n0, (int)N);
        return true;
    }
    int64_t ks_max = K < FC_LINEAR_K_SLICE ? K : FC_LINEAR_K_SLICE;
    float *buf = fc_cpu_scratch(0, (size_t)(rows * ks_max));
    if (!buf) return false;
    size_t esz = fc_dtype_size(wdt);
    for (int64_t k0 = 0; k0 < K; k0 += ks_max) {
        int64_t ks = K - k0 < ks_max ? K - k0 : ks_max;
        for (int64_t r = 0; r < rows; r++)
            fc_cpu_load_f32(buf + r * ks, (const char *)w + ((size_t)(n0 + r) * K + k0) * esz, wdt, ks);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)rows, (int)ks, 1.0f, x + k0, (int)K, buf,
                    (int)ks, b || k0 > 0 ? 1.0f : 0.0f, y + n0, (int)N);
    }
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
     * each thread takes one large slice; half weights go in blocks of at most ~FC_LINEAR_BLOCK_FLOATS
     * converted values (bounded scratch per thread, no full f32 copy of the weight). The block count is a
     * multiple of the thread count and the blocks near-equal, so no thread is left with a ragged tail
     * (3584 rows in 1184-row blocks would give one thread twice the work of the other). */
    int nt = omp_get_max_threads();
    int64_t nb = block_rows;
    if (nb <= 0) {
        int64_t want = 1;
        int64_t ks = K < FC_LINEAR_K_SLICE ? K : FC_LINEAR_K_SLICE;
        if (wdt != FC_DTYPE_F32) want = (N * ks + FC_LINEAR_BLOCK_FLOATS - 1) / FC_LINEAR_BLOCK_FLOATS;
        want = (want + nt - 1) / nt * nt;
        nb = (N + want - 1) / want;
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
