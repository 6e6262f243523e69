/* rmsnorm.c: fc_op_rmsnorm, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_rmsnorm(fc_tensor *y, const fc_tensor *x, const fc_tensor *w, float eps) {
    FC_TRY(fc_opcheck_present("rmsnorm", "y", y));
    FC_TRY(fc_opcheck_present("rmsnorm", "x", x));
    FC_TRY(fc_opcheck_present("rmsnorm", "w", w));
    const fc_tensor *all[] = {y, x, w};
    const char *names[] = {"y", "x", "w"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("rmsnorm", 3, all, names, &dev));
    FC_TRY(fc_opcheck_acts("rmsnorm", dev, 2, all, names, &adt));
    FC_TRY(fc_opcheck_param("rmsnorm", "w", w));
    int64_t C = fc_opcheck_last(x), N = fc_opcheck_rows(x);
    if (x->ndim < 1 || fc_tensor_numel(w) != C)
        return fc_err_set(FC_ESHAPE, "rmsnorm: x %s does not end in the %lld channels of w %s", FC_SHAPE(x),
                          (long long)fc_tensor_numel(w), FC_SHAPE(w));
    if (fc_tensor_numel(y) != fc_tensor_numel(x) || fc_opcheck_last(y) != C)
        return fc_err_set(FC_ESHAPE, "rmsnorm: y %s and x %s differ in shape", FC_SHAPE(y), FC_SHAPE(x));
    if (!(eps >= 0)) return fc_err_set(FC_EINVAL, "rmsnorm: eps %g must be >= 0", (double)eps);
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_rmsnorm(y->data, x->data, w->data, w->dtype, N, C, eps);
        return FC_OK;
    }
    FC_TRY(fc_opcheck_int_range("rmsnorm", "channels", C));
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("rmsnorm", &cu));
    return cu->rmsnorm(y->data, x->data, adt, w->data, w->dtype, N, C, eps);
}
