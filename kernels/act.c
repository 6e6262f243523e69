/* act.c: fc_op_act, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_act(fc_tensor *y, const fc_tensor *x, fc_act act) {
    FC_TRY(fc_opcheck_present("act", "y", y));
    FC_TRY(fc_opcheck_present("act", "x", x));
    const fc_tensor *all[] = {y, x};
    const char *names[] = {"y", "x"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("act", 2, all, names, &dev));
    FC_TRY(fc_opcheck_acts("act", dev, 2, all, names, &adt));
    if ((unsigned)act >= FC_ACT_COUNT) return fc_err_set(FC_EINVAL, "act: unknown activation %d", (int)act);
    int64_t n = fc_tensor_numel(x);
    if (fc_tensor_numel(y) != n || fc_opcheck_last(y) != fc_opcheck_last(x))
        return fc_err_set(FC_ESHAPE, "act: y %s and x %s differ in shape", FC_SHAPE(y), FC_SHAPE(x));
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_act(y->data, x->data, n, act);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("act", &cu));
    return cu->act(y->data, x->data, adt, n, act);
}
