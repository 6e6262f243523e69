/* embedding.c: fc_op_embedding, the checks and the dispatch (see kernels/ops.h). The ids are host memory
 * on every device, so they are range-checked here once for both backends. */
#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_embedding(fc_tensor *y, const fc_tensor *table, const int32_t *ids, int T) {
    FC_TRY(fc_opcheck_present("embedding", "y", y));
    FC_TRY(fc_opcheck_present("embedding", "table", table));
    const fc_tensor *all[] = {y, table};
    const char *names[] = {"y", "table"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("embedding", 2, all, names, &dev));
    FC_TRY(fc_opcheck_acts("embedding", dev, 1, all, names, &adt));
    FC_TRY(fc_opcheck_param("embedding", "table", table));
    if (table->ndim != 2) return fc_err_set(FC_ESHAPE, "embedding: table %s must be 2-D (V, C)", FC_SHAPE(table));
    int64_t V = table->shape[0], C = table->shape[1];
    if (T < 0) return fc_err_set(FC_EINVAL, "embedding: negative token count %d", T);
    if (T > 0 && !ids) return fc_err_set(FC_EINVAL, "embedding: %d ids requested but ids is NULL", T);
    if (fc_opcheck_rows(y) != T || fc_opcheck_last(y) != C || y->ndim < 1)
        return fc_err_set(FC_ESHAPE, "embedding: y %s must be (%d, %lld) for %d ids into table %s", FC_SHAPE(y), T,
                          (long long)C, T, FC_SHAPE(table));
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= V)
            return fc_err_set(FC_EINVAL, "embedding: id %d at position %d is outside [0, %lld) of table %s", (int)ids[t],
                              t, (long long)V, FC_SHAPE(table));
    if (dev == FC_DEVICE_CPU) {
        fc_cpu_embedding(y->data, table->data, table->dtype, ids, T, C);
        return FC_OK;
    }
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("embedding", &cu));
    return cu->embedding(y->data, adt, table->data, table->dtype, ids, T, C);
}
