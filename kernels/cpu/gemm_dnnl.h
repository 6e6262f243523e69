/* gemm_dnnl.h: GEMMs through oneDNN's matmul primitive (bf16 or f32 inputs, f32 accumulation and output).
 *
 * A weight (N, K) in the PyTorch Linear layout is packed once (fc_dnnl_w_create) into the blocked layout
 * the chosen kernel reads, rounded to the compute dtype; fc_dnnl_linear then runs y = x . w^T + b with
 * x f32 (rounded to bf16 on the way in for a bf16 pack) and y f32. Primitives are made per row count M on
 * first use and kept on the pack (a handful of M values: prefill chunks, decode batch sizes), so a call
 * costs one execute once warm.
 *
 * Built without oneDNN (no libdnnl-dev at build time), every call fails with FC_EUNSUPPORTED and
 * fc_dnnl_built() is false.
 */
#ifndef FC_KERNELS_GEMM_DNNL_H
#define FC_KERNELS_GEMM_DNNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"

typedef struct fc_wpack fc_wpack;

/* True when this binary was built against oneDNN. */
bool fc_dnnl_built(void);
/* "2.6.3" or "none". */
const char *fc_dnnl_version(void);
/* The ISA oneDNN's JIT kernels will use on this CPU: "avx512_core_amx", "avx512_core_bf16", ... */
const char *fc_dnnl_isa(void);

/* Packs w (N, K, dtype wdt: f32, f16 or bf16) for compute dtype cdt (FC_DTYPE_BF16 or FC_DTYPE_F32). */
fc_err fc_dnnl_w_create(fc_wpack **out, const void *w, fc_dtype wdt, int64_t N, int64_t K, fc_dtype cdt);
void fc_dnnl_w_free(fc_wpack *p); /* accepts NULL */
size_t fc_dnnl_w_bytes(const fc_wpack *p);
int64_t fc_dnnl_w_rows(const fc_wpack *p); /* N */
int64_t fc_dnnl_w_cols(const fc_wpack *p); /* K */
fc_dtype fc_dnnl_w_dtype(const fc_wpack *p);

/* y (M, N) f32 = x (M, K) f32 . w^T + b (N, dtype bdt; NULL for none). Thread-safe. */
fc_err fc_dnnl_linear(float *y, const float *x, int64_t M, fc_wpack *w, const void *b, fc_dtype bdt);
/* The implementation that runs this pack at M rows, into buf: oneDNN's choice ("brg:avx512_core_bf16",
 * "brg:avx512_core_amx", ...) or, for M <= FC_GEMV_BF16_MAX_M (4) on the layout it reads, "fc:gemv_avx512_bf16" (gemv_bf16.c). */
fc_err fc_dnnl_w_impl(fc_wpack *w, int64_t M, char *buf, size_t cap);

/* The backward of frozen linears, dx (M, K) = dy (M, N) . W (N, K): packs W for that product, where W is the
 * rows of n_parts weights stacked (part i: w[i] (rows[i], K), dtype wdt[i]), so that one GEMM serves
 * layers whose outputs share an input (q/k/v, gate/up: dx = [dq dk dv] . [Wq; Wk; Wv]). The pack's rows
 * are K and its columns sum(rows): fc_dnnl_linear(dx, dy, M, pack, NULL, 0) runs the product. Made once
 * (training packs its frozen weights when it starts); a second copy of the weights, in the blocked layout
 * the kernel reads with the reduction over N. */
fc_err fc_dnnl_wt_create(fc_wpack **out, int n_parts, const void *const *w, const fc_dtype *wdt, const int64_t *rows,
                         int64_t K, fc_dtype cdt);

#endif
