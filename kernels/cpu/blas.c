/* blas.c: one thread pool for the CPU kernels.
 *
 * OpenBLAS (Debian's pthread build) keeps its own worker threads, and so does OpenMP. When an op alternates
 * between the two (an OpenMP loop, then a threaded sgemm, then OpenMP again), each pool's idle workers spin
 * while the other pool needs the cores: measured on 2 shared cores, a vision-tower attention went from 0.12 s
 * to 1.06 s and a bf16 M=128 linear ran 4x slower. So OpenBLAS is pinned to one thread and every kernel
 * brings its parallelism through OpenMP, calling single-threaded sgemm on its share of the work.
 * That is process-wide: code elsewhere that calls cblas directly gets single-threaded BLAS too. So that
 * this does not depend on which op ran first, it also happens at program start in any binary that links
 * the CPU kernels (the constructor below); the explicit calls stay for binaries that load us otherwise.
 */
#include <cblas.h>
#include <pthread.h>

#include "kernels/cpu/cpu.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void) { openblas_set_num_threads(1); }

void fc_cpu_blas_init(void) { pthread_once(&blas_once, blas_single_thread); }

__attribute__((constructor)) static void blas_init_at_start(void) { fc_cpu_blas_init(); }
