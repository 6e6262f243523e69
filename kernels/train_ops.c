/* train_ops.c: the dispatchers of kernels/train_ops.h. */
#include "kernels/train_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cuda/ops_table.h"
#include "kernels/opcheck.h"

/* Every tensor given is present, f32 and on CUDA. */
static fc_err cuda_f32(const char *op, int n, const fc_tensor *const *ts, const char *const *names) {
    for (int i = 0; i < n; i++) {
        if (!ts[i]) continue;
        FC_TRY(fc_opcheck_present(op, names[i], ts[i]));
        if (ts[i]->device != FC_DEVICE_CUDA)
            return fc_err_set(FC_EUNSUPPORTED, "%s: %s is on %s; this op runs on cuda only (the CPU path is %s)", op,
                              names[i], fc_device_name(ts[i]->device),
                              !strcmp(op, "kl_loss") ? "core/autograd's fc_ag_logit_loss" : "train/optim.c");
        if (ts[i]->dtype != FC_DTYPE_F32)
            return fc_err_set(FC_EUNSUPPORTED, "%s: %s is %s, want f32", op, names[i], fc_dtype_name(ts[i]->dtype));
    }
    return FC_OK;
}

/* The host array of per-row figures, grow-only (ops are issued from one thread). */
static double *kl_rows;
static size_t kl_cap;

fc_err fc_op_kl_loss(fc_kl_figures *out, fc_tensor *dzs, const fc_tensor *zt, const fc_tensor *zs, float tau,
                     float scale) {
    const char *op = "kl_loss";
    *out = (fc_kl_figures){0};
    if (!zt || !zs) return fc_err_set(FC_EINVAL, "%s: zt and zs are required", op);
    FC_TRY(cuda_f32(op, 3, (const fc_tensor *const[]){zt, zs, dzs}, (const char *const[]){"zt", "zs", "dzs"}));
    int64_t V = fc_opcheck_last(zt), n = fc_opcheck_rows(zt);
    if (fc_opcheck_last(zs) != V || fc_opcheck_rows(zs) != n || (dzs && fc_tensor_numel(dzs) != n * V))
        return fc_err_set(FC_ESHAPE, "%s: zt %s, zs %s, dzs %s differ in shape", op, FC_SHAPE(zt), FC_SHAPE(zs),
                          dzs ? FC_SHAPE(dzs) : "(none)");
    if (!(tau > 0)) return fc_err_set(FC_EINVAL, "%s: tau %g must be > 0", op, (double)tau);
    FC_TRY(fc_opcheck_int_range(op, "vocabulary", V));
    if (n == 0) return FC_OK;
    if (kl_cap < (size_t)n * 3) {
        double *p = realloc(kl_rows, (size_t)n * 3 * sizeof *p);
        if (!p) return fc_err_set(FC_ENOMEM, "%s: out of memory for %lld rows of figures", op, (long long)n);
        kl_rows = p, kl_cap = (size_t)n * 3;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get(op, &cu));
    FC_TRY(cu->kl_loss(kl_rows, dzs ? dzs->data : NULL, zt->data, zs->data, n, V, tau, scale / (float)n));
    for (int64_t r = 0; r < n; r++) /* row order, as fc_ag_logit_loss */
        out->loss += kl_rows[3 * r], out->kl += kl_rows[3 * r + 1], out->top1 += kl_rows[3 * r + 2];
    out->loss /= (double)n, out->kl /= (double)n, out->top1 /= (double)n;
    return FC_OK;
}

fc_err fc_op_adamw(fc_tensor *params, const fc_tensor *grads, fc_tensor *m, fc_tensor *v, long step, double lr,
                   double beta1, double beta2, double eps, double weight_decay) {
    const char *op = "adamw";
    if (!params || !grads || !m || !v) return fc_err_set(FC_EINVAL, "%s: params, grads, m and v are required", op);
    FC_TRY(cuda_f32(op, 4, (const fc_tensor *const[]){params, grads, m, v},
                    (const char *const[]){"params", "grads", "m", "v"}));
    int64_t n = fc_tensor_numel(params);
    if (fc_tensor_numel(grads) != n || fc_tensor_numel(m) != n || fc_tensor_numel(v) != n)
        return fc_err_set(FC_ESHAPE, "%s: params %s, grads %s, m %s, v %s differ in size", op, FC_SHAPE(params),
                          FC_SHAPE(grads), FC_SHAPE(m), FC_SHAPE(v));
    if (step < 1) return fc_err_set(FC_EINVAL, "%s: step %ld must be >= 1", op, step);
    /* the scalars exactly as train/optim.c computes them */
    double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
    fc_cuda_adamw_hyper h = {.step_size = (float)(lr / bc1), .bc2_sqrt = (float)sqrt(bc2),
                             .decay = (float)(1.0 - lr * weight_decay), .w1 = (float)(1.0 - beta1),
                             .b2 = (float)beta2, .w2 = (float)(1.0 - beta2), .eps = (float)eps,
                             .use_decay = weight_decay != 0};
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get(op, &cu));
    return cu->adamw(params->data, grads->data, m->data, v->data, n, &h);
}

fc_err fc_op_linear_batched(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b) {
    const char *op = "linear_batched";
    FC_TRY(fc_opcheck_present(op, "y", y));
    FC_TRY(fc_opcheck_present(op, "x", x));
    FC_TRY(fc_opcheck_present(op, "w", w));
    if (b) FC_TRY(fc_opcheck_present(op, "b", b));
    const fc_tensor *all[] = {y, x, w, b};
    const char *names[] = {"y", "x", "w", "b"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device(op, 4, all, names, &dev));
    FC_TRY(fc_opcheck_acts(op, dev, 2, all, names, &adt));
    FC_TRY(fc_opcheck_param(op, "w", w));
    if (b) FC_TRY(fc_opcheck_param(op, "b", b));
    if (w->ndim != 3 || x->ndim != 3 || y->ndim != 3)
        return fc_err_set(FC_ESHAPE, "%s: want x (B, M, K), w (B, N, K), y (B, M, N); got x %s, w %s, y %s", op,
                          FC_SHAPE(x), FC_SHAPE(w), FC_SHAPE(y));
    int64_t B = w->shape[0], N = w->shape[1], K = w->shape[2], M = x->shape[1];
    if (x->shape[0] != B || x->shape[2] != K || y->shape[0] != B || y->shape[1] != M || y->shape[2] != N ||
        (b && fc_tensor_numel(b) != B * N))
        return fc_err_set(FC_ESHAPE, "%s: x %s, w %s, b %s, y %s do not fit (B, M, K), (B, N, K), (B, N), (B, M, N)",
                          op, FC_SHAPE(x), FC_SHAPE(w), b ? FC_SHAPE(b) : "(none)", FC_SHAPE(y));
    FC_TRY(fc_opcheck_int_range(op, "rows", M));
    FC_TRY(fc_opcheck_int_range(op, "out_features", N));
    FC_TRY(fc_opcheck_int_range(op, "in_features", K));
    fc_dtype bdt = b ? b->dtype : FC_DTYPE_F32;
    size_t wsz = fc_dtype_size(w->dtype), bsz = fc_dtype_size(bdt);
    if (dev == FC_DEVICE_CPU) {
        for (int64_t i = 0; i < B; i++)
            FC_TRY(fc_cpu_linear((float *)y->data + i * M * N, (const float *)x->data + i * M * K,
                                 (const char *)w->data + (size_t)(i * N * K) * wsz, w->dtype,
                                 b ? (const char *)b->data + (size_t)(i * N) * bsz : NULL, bdt, M, N, K));
        return FC_OK;
    }
    if (w->dtype == FC_DTYPE_F32 && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "%s: f32 weight %s needs f32 activations on cuda, got %s", op, FC_SHAPE(w),
                          fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != w->dtype)
        return fc_err_set(FC_EUNSUPPORTED, "%s: %s activations with %s weight %s on cuda", op, fc_dtype_name(adt),
                          fc_dtype_name(w->dtype), FC_SHAPE(w));
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get(op, &cu));
    return cu->linear_batched(y->data, x->data, adt, w->data, w->dtype, b ? b->data : NULL, bdt, B, M, N, K);
}

fc_err fc_op_kv_scatter(fc_tensor *cache, const fc_tensor *src, const int32_t *rows) {
    const char *op = "kv_scatter";
    FC_TRY(fc_opcheck_present(op, "cache", cache));
    FC_TRY(fc_opcheck_present(op, "src", src));
    fc_device dev;
    FC_TRY(fc_opcheck_device(op, 2, (const fc_tensor *const[]){cache, src}, (const char *const[]){"cache", "src"},
                             &dev));
    if (cache->dtype != src->dtype || cache->ndim < 1 || src->ndim < 1 ||
        fc_tensor_numel(cache) / (cache->shape[0] ? cache->shape[0] : 1) !=
            fc_tensor_numel(src) / (src->shape[0] ? src->shape[0] : 1))
        return fc_err_set(FC_ESHAPE, "%s: cache %s (%s) and src %s (%s) differ in row size or dtype", op,
                          FC_SHAPE(cache), fc_dtype_name(cache->dtype), FC_SHAPE(src), fc_dtype_name(src->dtype));
    int64_t T = src->shape[0], n_rows = cache->shape[0];
    if (T > 0 && !rows) return fc_err_set(FC_EINVAL, "%s: rows is NULL", op);
    for (int64_t t = 0; t < T; t++)
        if (rows[t] < 0 || rows[t] >= n_rows)
            return fc_err_set(FC_EINVAL, "%s: row %lld of src goes to cache row %d, outside [0, %lld)", op, (long long)t,
                              (int)rows[t], (long long)n_rows);
    size_t rb = (size_t)(fc_tensor_numel(src) / (T ? T : 1)) * fc_dtype_size(src->dtype);
    if (dev == FC_DEVICE_CPU) {
        for (int64_t t = 0; t < T; t++)
            memcpy((char *)cache->data + (size_t)rows[t] * rb, (const char *)src->data + (size_t)t * rb, rb);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get(op, &cu));
    return cu->kv_scatter(cache->data, src->data, rb, rows, T);
}
