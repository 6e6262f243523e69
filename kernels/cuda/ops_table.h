/* ops_table.h: the boundary between the core and the CUDA backend library (libfastcache-cuda.so).
 *
 * The core never links CUDA. kernels/backend.c looks for a GPU at the first CUDA request and, when there
 * is one, dlopens the backend library (which brings libcudart and cuBLAS with it) and calls its one
 * exported function, fc_cuda_backend_register, which fills this table. Without a GPU, without the
 * library, or in a build without CUDA, the table stays empty and every CUDA request is refused with
 * FC_EUNSUPPORTED saying why (see fc_cuda_status in kernels/backend.h).
 *
 * The op entries have the signatures of kernels/cuda/cuda.h (raw device pointers, checked by the
 * dispatchers in kernels/<op>.c before the call). Adding an entry: append it at the end, bump
 * FC_CUDA_ABI, fill it in kernels/cuda/backend.cu; a library of another ABI is refused at load.
 * The library resolves the few core functions it calls (fc_err_set, fc_dtype_name, fc_dtype_size) from
 * the executable, which exports them (kernels/cuda/host-symbols.list), so error messages set inside the
 * library are the ones fc_errmsg() returns.
 */
#ifndef FC_CUDA_OPS_TABLE_H
#define FC_CUDA_OPS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"
#include "kernels/ops.h"

#define FC_CUDA_ABI 2
#define FC_CUDA_LIBRARY "libfastcache-cuda.so"
#define FC_CUDA_REGISTER "fc_cuda_backend_register"

/* One AdamW step's scalars, computed on the host as train/optim.c computes them (torch's rounding). */
typedef struct {
    float step_size, bc2_sqrt, decay, w1, b2, w2, eps;
    int use_decay;
} fc_cuda_adamw_hyper;

typedef struct fc_cuda_ops {
    uint32_t abi;  /* FC_CUDA_ABI of the library that filled the table */
    uint32_t size; /* sizeof(fc_cuda_ops) as the library saw it */

    /* device and memory (kernels/backend.h describes them) */
    int (*device_count)(void);
    const char *(*describe)(void);
    fc_err (*alloc)(void **ptr, size_t bytes);
    void (*free)(void *ptr);
    fc_err (*memset0)(void *ptr, size_t bytes);
    fc_err (*memcpy)(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes);
    fc_err (*sync)(void);

    /* the ops behind kernels/ops.h (kernels/cuda/cuda.h documents each) */
    fc_err (*linear)(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b, fc_dtype bdt,
                     int64_t M, int64_t N, int64_t K);
    fc_err (*rmsnorm)(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, int64_t N, int64_t C,
                      float eps);
    fc_err (*layernorm)(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                        fc_dtype bdt, int64_t N, int64_t C, float eps);
    fc_err (*act)(void *y, const void *x, fc_dtype adt, int64_t n, fc_act act);
    fc_err (*silu_mul)(void *y, const void *gate, const void *up, fc_dtype adt, int64_t n);
    fc_err (*add)(void *y, const void *a, const void *b, fc_dtype adt, int64_t n);
    fc_err (*embedding)(void *y, fc_dtype adt, const void *table, fc_dtype tdt, const int32_t *ids, int64_t T,
                        int64_t C);
    fc_err (*rope)(void *x, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);
    fc_err (*attention)(void *out, const void *q, const void *k, const void *v, fc_dtype adt, int64_t T, int64_t S,
                        int64_t H, int64_t Hkv, int64_t D, float scale, bool causal);

    /* ABI 2: paged attention, the training ops (backward ops, KL, AdamW), batched linear */
    fc_err (*paged_attention)(void *out, const void *q, const void *k, const void *v, fc_dtype adt,
                              const fc_paged_seq *seqs, int n_seqs, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                              int64_t block_size, float scale);
    fc_err (*linear_bwd)(void *dx, float *dw, float *db, const void *dy, const void *x, fc_dtype adt, const void *w,
                         fc_dtype wdt, int64_t M, int64_t N, int64_t K, bool accumulate);
    fc_err (*rmsnorm_bwd)(void *dx, float *dw, const void *dy, const void *x, fc_dtype adt, const void *w,
                          fc_dtype wdt, int64_t N, int64_t C, float eps, bool accumulate);
    fc_err (*rope_bwd)(void *d, fc_dtype adt, const int32_t *pos, int64_t T, int64_t nh, int64_t D, float theta);
    fc_err (*silu_mul_bwd)(void *dgate, void *dup, const void *dy, const void *gate, const void *up, fc_dtype adt,
                           int64_t n);
    fc_err (*attention_prefix)(float *out, float *lse, const float *q, const float *kp, const float *vp, int64_t P,
                               const float *kn, const float *vn, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                               float scale);
    fc_err (*attention_prefix_bwd)(float *dq, float *dkp, float *dvp, float *dkn, float *dvn, const float *dout,
                                   const float *q, const float *kp, const float *vp, int64_t P, const float *kn,
                                   const float *vn, const float *out, const float *lse, int64_t T, int64_t H,
                                   int64_t Hkv, int64_t D, float scale);
    fc_err (*kl_loss)(double *rows, float *dz, const float *zt, const float *zs, int64_t n, int64_t V, float tau,
                      float k_grad);
    fc_err (*adamw)(float *p, const float *g, float *m, float *v, int64_t n, const fc_cuda_adamw_hyper *h);
    fc_err (*linear_batched)(void *y, const void *x, fc_dtype adt, const void *w, fc_dtype wdt, const void *b,
                             fc_dtype bdt, int64_t batch, int64_t M, int64_t N, int64_t K);
    fc_err (*kv_scatter)(void *cache, const void *src, size_t row_bytes, const int32_t *rows, int64_t T);
} fc_cuda_ops;

/* The library's entry point: checks `abi` and `size` against its own, finds a device, fills *ops.
 * On failure (no device, no driver, another ABI) it returns an error with the reason and *ops is unused. */
typedef fc_err (*fc_cuda_register_fn)(fc_cuda_ops *ops, uint32_t abi, uint32_t size);

/* The loaded table (loading it on the first call), or FC_EUNSUPPORTED "<op>: tensors on cuda, but no
 * CUDA backend is loaded: <why>". For the dispatchers' CUDA branches:
 *     const fc_cuda_ops *cu;
 *     FC_TRY(fc_cuda_ops_get("linear", &cu));
 *     return cu->linear(...);
 */
fc_err fc_cuda_ops_get(const char *op, const fc_cuda_ops **out);

#endif
