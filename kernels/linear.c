/* linear.c: fc_op_linear, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm_dnnl.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_linear(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b) {
    FC_TRY(fc_opcheck_present("linear", "y", y));
    FC_TRY(fc_opcheck_present("linear", "x", x));
    FC_TRY(fc_opcheck_present("linear", "w", w));
    if (b) FC_TRY(fc_opcheck_present("linear", "b", b));
    const fc_tensor *all[] = {y, x, w, b};
    const char *names[] = {"y", "x", "w", "b"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("linear", 4, all, names, &dev));
    FC_TRY(fc_opcheck_acts("linear", dev, 2, all, names, &adt));
    FC_TRY(fc_opcheck_param("linear", "w", w));
    if (b) FC_TRY(fc_opcheck_param("linear", "b", b));
    if (w->ndim != 2)
        return fc_err_set(FC_ESHAPE, "linear: w %s must be 2-D (out_features, in_features)", FC_SHAPE(w));
    int64_t N = w->shape[0], K = w->shape[1];
    if (x->ndim < 1 || fc_opcheck_last(x) != K)
        return fc_err_set(FC_ESHAPE, "linear: x %s does not end in in_features %lld of w %s", FC_SHAPE(x),
                          (long long)K, FC_SHAPE(w));
    int64_t M = fc_opcheck_rows(x);
    if (y->ndim < 1 || fc_opcheck_last(y) != N || fc_opcheck_rows(y) != M)
        return fc_err_set(FC_ESHAPE, "linear: y %s must hold %lld rows of out_features %lld (x %s, w %s)", FC_SHAPE(y),
                          (long long)M, (long long)N, FC_SHAPE(x), FC_SHAPE(w));
    if (b && fc_tensor_numel(b) != N)
        return fc_err_set(FC_ESHAPE, "linear: b %s must have out_features %lld elements (w %s)", FC_SHAPE(b),
                          (long long)N, FC_SHAPE(w));
    FC_TRY(fc_opcheck_int_range("linear", "rows", M));
    FC_TRY(fc_opcheck_int_range("linear", "out_features", N));
    FC_TRY(fc_opcheck_int_range("linear", "in_features", K));
    fc_dtype bdt = b ? b->dtype : FC_DTYPE_F32;
    const void *bd = b ? b->data : NULL;
    /* a weight packed at load (kernels/wpack.h) runs the bf16 oneDNN GEMM; otherwise the f32 reference */
    if (dev == FC_DEVICE_CPU && w->pack && fc_dnnl_w_rows(w->pack) == N && fc_dnnl_w_cols(w->pack) == K)
        return fc_dnnl_linear(y->data, x->data, M, w->pack, bd, bdt);
    if (dev == FC_DEVICE_CPU) return fc_cpu_linear(y->data, x->data, w->data, w->dtype, bd, bdt, M, N, K);
    if (w->dtype == FC_DTYPE_F32 && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "linear: f32 weight %s needs f32 activations on cuda, got %s", FC_SHAPE(w),
                          fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != w->dtype)
        return fc_err_set(FC_EUNSUPPORTED, "linear: %s activations with %s weight %s on cuda: use f32 or %s activations",
                          fc_dtype_name(adt), fc_dtype_name(w->dtype), FC_SHAPE(w), fc_dtype_name(w->dtype));
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("linear", &cu));
    return cu->linear(y->data, x->data, adt, w->data, w->dtype, bd, bdt, M, N, K);
}
