/* layernorm.c: fc_op_layernorm, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_layernorm(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, const fc_tensor *b, float eps) {
    FC_TRY(fc_opcheck_present("layernorm", "y", y));
    FC_TRY(fc_opcheck_present("layernorm", "x", x));
    if (w) FC_TRY(fc_opcheck_present("layernorm", "w", w));
    if (b) FC_TRY(fc_opcheck_present("layernorm", "b", b));
    const fc_tensor *all[] = {y, x, w, b};
    const char *names[] = {"y", "x", "w", "b"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("layernorm", 4, all, names, &dev));
    FC_TRY(fc_opcheck_acts("layernorm", dev, 2, all, names, &adt));
    if (w) FC_TRY(fc_opcheck_param("layernorm", "w", w));
    if (b) FC_TRY(fc_opcheck_param("layernorm", "b", b));
    int64_t C = fc_opcheck_last(x), N = fc_opcheck_rows(x);
    if (x->ndim < 1) return fc_err_set(FC_ESHAPE, "layernorm: x %s must have a channel dim", FC_SHAPE(x));
    if ((w && fc_tensor_numel(w) != C) || (b && fc_tensor_numel(b) != C))
        return fc_err_set(FC_ESHAPE, "layernorm: x %s has %lld channels but w %s, b %s", FC_SHAPE(x), (long long)C,
                          w ? FC_SHAPE(w) : "(none)", b ? FC_SHAPE(b) : "(none)");
    if (fc_tensor_numel(y) != fc_tensor_numel(x) || fc_opcheck_last(y) != C)
        return fc_err_set(FC_ESHAPE, "layernorm: y %s and x %s differ in shape", FC_SHAPE(y), FC_SHAPE(x));
    if (!(eps >= 0)) return fc_err_set(FC_EINVAL, "layernorm: eps %g must be >= 0", (double)eps);
    const void *wd = w ? w->data : NULL, *bd = b ? b->data : NULL;
    fc_dtype wdt = w ? w->dtype : FC_DTYPE_F32, bdt = b ? b->dtype : FC_DTYPE_F32;
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_layernorm(y->data, x->data, wd, wdt, bd, bdt, N, C, eps);
        return FC_OK;
    }
    FC_TRY(fc_opcheck_int_range("layernorm", "channels", C));
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("layernorm", &cu));
    return cu->layernorm(y->data, x->data, adt, wd, wdt, bd, bdt, N, C, eps);
}
