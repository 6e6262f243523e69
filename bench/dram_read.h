/* dram_read.h: the DRAM read rate the CPU benchmarks hold their figures to (bench/cpu_limits.c for the
 * machine's limit, bench/llm_decode_split.c for a read of the same moment as a decode step).
 * The buffer is read in chunks of 4096 floats, each summed with a vector reduction (omp simd allows the
 * reassociation), the chunks spread over the OpenMP threads. With passes > 1 the first pass is a warm-up;
 * the best of the others counts. n is a multiple of 4096. Returns GB/s. */
#ifndef FC_BENCH_DRAM_READ_H
#define FC_BENCH_DRAM_READ_H

#include <stddef.h>
#include <stdio.h>

#include "core/base/timer.h"

static double bench_dram_read_gbs(const float *buf, size_t n, int passes) {
    double best = 1e30, sink = 0;
    for (int r = 0; r < passes; r++) {
        double t0 = fc_time_now(), total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
        for (size_t c = 0; c < n; c += 4096) {
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t j = 0; j < 4096; j++) s += buf[c + j];
            total += s;
        }
        double t = fc_time_now() - t0;
        sink += total;
        if ((passes == 1 || r > 0) && t < best) best = t;
    }
    if (sink == 12345.678) printf("#\n"); /* keeps the sums alive */
    return (double)n * sizeof(float) / best / 1e9;
}

#endif
