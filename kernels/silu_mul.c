/* silu_mul.c: fc_op_silu_mul, the checks and the dispatch (see kernels/ops.h). */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_silu_mul(fc_tensor *y, const fc_tensor *gate, const fc_tensor *up) {
    FC_TRY(fc_opcheck_present("silu_mul", "y", y));
    FC_TRY(fc_opcheck_present("silu_mul", "gate", gate));
    FC_TRY(fc_opcheck_present("silu_mul", "up", up));
    const fc_tensor *all[] = {y, gate, up};
    const char *names[] = {"y", "gate", "up"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("silu_mul", 3, all, names, &dev));
    FC_TRY(fc_opcheck_acts("silu_mul", dev, 3, all, names, &adt));
    int64_t n = fc_tensor_numel(gate), F = fc_opcheck_last(gate);
    if (fc_tensor_numel(up) != n || fc_opcheck_last(up) != F || fc_tensor_numel(y) != n || fc_opcheck_last(y) != F)
        return fc_err_set(FC_ESHAPE, "silu_mul: gate %s, up %s and y %s must have one shape", FC_SHAPE(gate),
                          FC_SHAPE(up), FC_SHAPE(y));
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_silu_mul(y->data, gate->data, up->data, n);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("silu_mul", &cu));
    return cu->silu_mul(y->data, gate->data, up->data, adt, n);
}
