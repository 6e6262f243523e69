/* add.c: fc_op_add, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_add(fc_tensor *y, const fc_tensor *a, const fc_tensor *b) {
    FC_TRY(fc_opcheck_present("add", "y", y));
    FC_TRY(fc_opcheck_present("add", "a", a));
    FC_TRY(fc_opcheck_present("add", "b", b));
    const fc_tensor *all[] = {y, a, b};
    const char *names[] = {"y", "a", "b"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("add", 3, all, names, &dev));
    FC_TRY(fc_opcheck_acts("add", dev, 3, all, names, &adt));
    int64_t n = fc_tensor_numel(a), C = fc_opcheck_last(a);
    if (fc_tensor_numel(b) != n || fc_opcheck_last(b) != C || fc_tensor_numel(y) != n || fc_opcheck_last(y) != C)
        return fc_err_set(FC_ESHAPE, "add: a %s, b %s and y %s must have one shape", FC_SHAPE(a), FC_SHAPE(b),
                          FC_SHAPE(y));
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_add(y->data, a->data, b->data, n);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("add", &cu));
    return cu->add(y->data, a->data, b->data, adt, n);
}
