/* rope.c: fc_op_rope, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_rope(fc_tensor *x, const int32_t *pos, float theta) {
    FC_TRY(fc_opcheck_present("rope", "x", x));
    const fc_tensor *all[] = {x};
    const char *names[] = {"x"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("rope", 1, all, names, &dev));
    FC_TRY(fc_opcheck_acts("rope", dev, 1, all, names, &adt));
    if (x->ndim != 3) return fc_err_set(FC_ESHAPE, "rope: x %s must be 3-D (T, heads, D)", FC_SHAPE(x));
    int64_t T = x->shape[0], nh = x->shape[1], D = x->shape[2];
    if (D % 2 != 0 || D > FC_ROPE_MAX_D)
        return fc_err_set(FC_EUNSUPPORTED, "rope: x %s: head dim %lld must be even and <= %d", FC_SHAPE(x),
                          (long long)D, FC_ROPE_MAX_D);
    if (T > 0 && !pos) return fc_err_set(FC_EINVAL, "rope: x %s has %lld rows but pos is NULL", FC_SHAPE(x), (long long)T);
    if (!(theta > 0) || theta > 1e30f) return fc_err_set(FC_EINVAL, "rope: theta %g must be positive and finite", (double)theta);
    FC_TRY(fc_opcheck_int_range("rope", "rows", T));
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_rope(x->data, pos, T, nh, D, theta);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("rope", &cu));
    return cu->rope(x->data, adt, pos, T, nh, D, theta);
}
