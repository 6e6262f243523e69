/* threadpool.h: a fixed set of worker threads running parallel-for loops.
 *
 * fc_pool_run(pool, n, fn, ctx) calls fn(ctx, begin, end, worker) over disjoint ranges covering [0, n)
 * and returns when all are done; the calling thread works too. One loop runs at a time per pool.
 * Kernels use OpenMP; the pool is for coarse work the runtime schedules itself (requests, files).
 */
#ifndef FC_THREADPOOL_H
#define FC_THREADPOOL_H

#include <stddef.h>

#include "core/base/err.h"

typedef struct fc_pool fc_pool;
typedef void (*fc_pool_fn)(void *ctx, size_t begin, size_t end, int worker);

/* n_threads <= 0 picks the number of online CPUs. */
fc_err fc_pool_create(fc_pool **out, int n_threads);
void fc_pool_free(fc_pool *pool);
int fc_pool_size(const fc_pool *pool);
void fc_pool_run(fc_pool *pool, size_t n, fc_pool_fn fn, void *ctx);

#endif
