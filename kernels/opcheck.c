/* opcheck.c: see opcheck.h. */
#include "kernels/opcheck.h"

#include <limits.h>

const char *fc_opcheck_shape(char *buf, const fc_tensor *t) {
    return fc_shape_str(buf, FC_OPCHECK_SHAPE_CAP, t->ndim, t->shape);
}

fc_err fc_opcheck_present(const char *op, const char *name, const fc_tensor *t) {
    if (!t) return fc_err_set(FC_EINVAL, "%s: tensor %s is missing (NULL)", op, name);
    if (t->ndim < 0 || t->ndim > FC_MAX_DIMS)
        return fc_err_set(FC_EINVAL, "%s: tensor %s has ndim %d (0..%d allowed)", op, name, t->ndim, FC_MAX_DIMS);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0) return fc_err_set(FC_ESHAPE, "%s: tensor %s has a negative dim %s", op, name, FC_SHAPE(t));
    if (!t->data && fc_tensor_numel(t) > 0)
        return fc_err_set(FC_EINVAL, "%s: tensor %s %s has no data", op, name, FC_SHAPE(t));
    if ((unsigned)t->dtype >= FC_DTYPE_COUNT)
        return fc_err_set(FC_EUNSUPPORTED, "%s: tensor %s has an unknown dtype %d", op, name, (int)t->dtype);
    return FC_OK;
}

fc_err fc_opcheck_device(const char *op, int n, const fc_tensor *const *ts, const char *const *names,
                         fc_device *dev) {
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (!ts[i]) continue;
        if ((unsigned)ts[i]->device >= FC_DEVICE_COUNT)
            return fc_err_set(FC_EINVAL, "%s: tensor %s has an unknown device %d", op, names[i], (int)ts[i]->device);
        if (first < 0) {
            first = i;
        } else if (ts[i]->device != ts[first]->device) {
            return fc_err_set(FC_EINVAL, "%s: tensors on different devices: %s on %s, %s on %s", op, names[first],
                              fc_device_name(ts[first]->device), names[i], fc_device_name(ts[i]->device));
        }
    }
    *dev = first < 0 ? FC_DEVICE_CPU : ts[first]->device;
    return FC_OK;
}

fc_err fc_opcheck_acts(const char *op, fc_device dev, int n, const fc_tensor *const *ts,
                       const char *const *names, fc_dtype *dt) {
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (!ts[i]) continue;
        fc_dtype d = ts[i]->dtype;
        bool ok = dev == FC_DEVICE_CPU ? d == FC_DTYPE_F32
                                       : (d == FC_DTYPE_F32 || d == FC_DTYPE_F16 || d == FC_DTYPE_BF16);
        if (!ok)
            return fc_err_set(FC_EUNSUPPORTED, "%s: activation %s %s is %s; on %s activations must be %s", op,
                              names[i], FC_SHAPE(ts[i]), fc_dtype_name(d), fc_device_name(dev),
                              dev == FC_DEVICE_CPU ? "f32" : "f32, f16 or bf16");
        if (first < 0) {
            first = i;
        } else if (d != ts[first]->dtype) {
            return fc_err_set(FC_EUNSUPPORTED, "%s: activations differ in dtype: %s is %s, %s is %s", op,
                              names[first], fc_dtype_name(ts[first]->dtype), names[i], fc_dtype_name(d));
        }
    }
    *dt = first < 0 ? FC_DTYPE_F32 : ts[first]->dtype;
    return FC_OK;
}

fc_err fc_opcheck_param(const char *op, const char *name, const fc_tensor *t) {
    if (t->dtype != FC_DTYPE_F32 && t->dtype != FC_DTYPE_F16 && t->dtype != FC_DTYPE_BF16)
        return fc_err_set(FC_EUNSUPPORTED, "%s: %s %s has dtype %s; parameters must be f32, f16 or bf16", op, name,
                          FC_SHAPE(t), fc_dtype_name(t->dtype));
    return FC_OK;
}

int64_t fc_opcheck_last(const fc_tensor *t) { return t->ndim == 0 ? 1 : t->shape[t->ndim - 1]; }

int64_t fc_opcheck_rows(const fc_tensor *t) {
    int64_t rows = 1;
    for (int i = 0; i + 1 < t->ndim; i++) rows *= t->shape[i];
    return rows;
}

fc_err fc_opcheck_int_range(const char *op, const char *what, int64_t v) {
    if (v > INT_MAX)
        return fc_err_set(FC_EUNSUPPORTED, "%s: %s = %lld exceeds %d, the largest size the kernels index", op, what,
                          (long long)v, INT_MAX);
    return FC_OK;
}

fc_err fc_opcheck_f32(const char *op, const char *name, const fc_tensor *t) {
    if (t && t->dtype != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "%s: %s is %s, want f32", op, name, fc_dtype_name(t->dtype));
    return FC_OK;
}

fc_err fc_opcheck_same_numel(const char *op, const char *a, const fc_tensor *ta, const char *b, const fc_tensor *tb) {
    if (ta && tb && fc_tensor_numel(ta) != fc_tensor_numel(tb))
        return fc_err_set(FC_ESHAPE, "%s: %s %s and %s %s differ in size", op, a, FC_SHAPE(ta), b, FC_SHAPE(tb));
    return FC_OK;
}
