/* tensor.c: allocation, views and copies of fc_tensor across dtypes and devices. */
#include "core/tensor/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "kernels/backend.h"

static const char *const device_names[] = {[FC_DEVICE_CPU] = "cpu", [FC_DEVICE_CUDA] = "cuda"};
_Static_assert(sizeof(device_names) / sizeof(device_names[0]) == FC_DEVICE_COUNT, "device_names out of sync");

const char *fc_device_name(fc_device d) { return (unsigned)d < FC_DEVICE_COUNT ? device_names[d] : "?"; }

int64_t fc_tensor_numel(const fc_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t fc_tensor_nbytes(const fc_tensor *t) { return (size_t)fc_tensor_numel(t) * fc_dtype_size(t->dtype); }

const char *fc_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "[");
    for (int i = 0; i < ndim && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
    return buf;
}

static fc_err set_shape(fc_tensor *t, fc_dtype dtype, fc_device device, int ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > FC_MAX_DIMS) return fc_err_set(FC_EINVAL, "tensor: ndim %d outside 0..%d", ndim, FC_MAX_DIMS);
    if ((unsigned)dtype >= FC_DTYPE_COUNT) return fc_err_set(FC_EINVAL, "tensor: bad dtype %d", (int)dtype);
    t->dtype = dtype;
    t->device = device;
    t->ndim = ndim;
    for (int i = 0; i < FC_MAX_DIMS; i++) t->shape[i] = 1;
    size_t bytes = fc_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return fc_err_set(FC_EINVAL, "tensor: negative dim %lld", (long long)shape[i]);
        t->shape[i] = shape[i];
        if (!fc_mul_size(bytes, (size_t)shape[i], &bytes))
            return fc_err_set(FC_ENOMEM, "tensor: size of shape overflows");
    }
    return FC_OK;
}

fc_tensor fc_tensor_view(void *data, fc_dtype dtype, fc_device device, int ndim, const int64_t *shape) {
    fc_tensor t;
    fc_err e = set_shape(&t, dtype, device, ndim, shape);
    FC_ASSERT(e == FC_OK); /* views are made by our own code from already-validated shapes */
    t.data = data;
    t.owns = false;
    return t;
}

fc_err fc_tensor_create(fc_tensor *t, fc_dtype dtype, fc_device device, int ndim, const int64_t *shape) {
    fc_err e = set_shape(t, dtype, device, ndim, shape);
    if (e) {
        memset(t, 0, sizeof *t);
        return e;
    }
    size_t n = fc_tensor_nbytes(t);
    if (device == FC_DEVICE_CPU) {
        /* 64-byte alignment for SIMD loads; aligned_alloc wants a multiple of the alignment */
        size_t rounded = (n + 63) & ~(size_t)63;
        t->data = aligned_alloc(64, rounded ? rounded : 64);
        if (!t->data) {
            memset(t, 0, sizeof *t);
            return fc_err_set(FC_ENOMEM, "tensor: out of memory allocating %zu bytes", n);
        }
        memset(t->data, 0, n);
    } else if (device == FC_DEVICE_CUDA) {
        e = fc_cuda_alloc(&t->data, n);
        if (!e) e = fc_cuda_memset0(t->data, n);
        if (e) {
            fc_cuda_free(t->data);
            memset(t, 0, sizeof *t);
            return e;
        }
    } else {
        memset(t, 0, sizeof *t);
        return fc_err_set(FC_EINVAL, "tensor: bad device %d", (int)device);
    }
    t->owns = true;
    return FC_OK;
}

void fc_tensor_free(fc_tensor *t) {
    if (!t) return;
    if (t->owns && t->data) {
        if (t->device == FC_DEVICE_CUDA)
            fc_cuda_free(t->data);
        else
            free(t->data);
    }
    memset(t, 0, sizeof *t);
}

fc_err fc_tensor_copy(fc_tensor *dst, const fc_tensor *src) {
    int64_t n = fc_tensor_numel(src);
    if (fc_tensor_numel(dst) != n) {
        char a[64], b[64];
        return fc_err_set(FC_ESHAPE, "tensor copy: %s into %s: element counts differ",
                          fc_shape_str(a, sizeof a, src->ndim, src->shape), fc_shape_str(b, sizeof b, dst->ndim, dst->shape));
    }
    if (src->device == FC_DEVICE_CPU && dst->device == FC_DEVICE_CPU) {
        fc_dtype_convert(dst->data, dst->dtype, src->data, src->dtype, (size_t)n);
        return FC_OK;
    }
    if (src->dtype != dst->dtype)
        return fc_err_set(FC_EUNSUPPORTED, "tensor copy %s -> %s across devices needs one dtype (got %s -> %s)",
                          fc_device_name(src->device), fc_device_name(dst->device), fc_dtype_name(src->dtype),
                          fc_dtype_name(dst->dtype));
    return fc_cuda_memcpy(dst->data, dst->device == FC_DEVICE_CUDA, src->data, src->device == FC_DEVICE_CUDA,
                          fc_tensor_nbytes(src));
}

fc_err fc_tensor_to(fc_tensor *out, const fc_tensor *src, fc_device device, fc_dtype dtype) {
    FC_TRY(fc_tensor_create(out, dtype, device, src->ndim, src->shape));
    fc_err e;
    if (src->device != device && src->dtype != dtype) {
        /* convert on the CPU side, then move */
        fc_tensor tmp;
        if (src->device == FC_DEVICE_CPU) {
            e = fc_tensor_create(&tmp, dtype, FC_DEVICE_CPU, src->ndim, src->shape);
            if (!e) e = fc_tensor_copy(&tmp, src);
            if (!e) e = fc_tensor_copy(out, &tmp);
        } else {
            e = fc_tensor_create(&tmp, src->dtype, FC_DEVICE_CPU, src->ndim, src->shape);
            if (!e) e = fc_tensor_copy(&tmp, src);
            if (!e) e = fc_tensor_copy(out, &tmp);
        }
        fc_tensor_free(&tmp);
    } else {
        e = fc_tensor_copy(out, src);
    }
    if (e) fc_tensor_free(out);
    return e;
}
