/* tensor.h: a typed n-d array on the CPU or a CUDA device.
 *
 * Shapes are row-major with shape[0] outermost, as in PyTorch and safetensors; unused trailing dims
 * are 1. A tensor either owns its memory (created here, freed by fc_tensor_free) or is a view into
 * memory someone else owns (an mmap'd checkpoint, an arena): the `owns` flag says which.
 */
#ifndef FC_TENSOR_H
#define FC_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/dtype.h"

#define FC_MAX_DIMS 4

typedef enum { FC_DEVICE_CPU = 0, FC_DEVICE_CUDA, FC_DEVICE_COUNT } fc_device;

typedef struct {
    fc_dtype dtype;
    fc_device device;
    int ndim;                      /* 0..FC_MAX_DIMS; 0 is a scalar */
    int64_t shape[FC_MAX_DIMS];    /* shape[0] outermost */
    void *data;                    /* CPU pointer or CUDA device pointer */
    bool owns;                     /* true: fc_tensor_free releases data */
    struct fc_wpack *pack;         /* NULL, or a kernel-ready copy of this weight (kernels/wpack.h), owned by
                                    * the model that made it; never freed by fc_tensor_free */
} fc_tensor;

const char *fc_device_name(fc_device d);

/* Elements and bytes (0 for an empty tensor). */
int64_t fc_tensor_numel(const fc_tensor *t);
size_t fc_tensor_nbytes(const fc_tensor *t);

/* Allocates a zero-filled tensor. Fails with FC_EINVAL on bad ndim or negative dims, FC_ENOMEM if the
 * size overflows or memory runs out, FC_EUNSUPPORTED for CUDA in a build without it or without a GPU.
 * On failure *t is left as an empty tensor that fc_tensor_free accepts. */
fc_err fc_tensor_create(fc_tensor *t, fc_dtype dtype, fc_device device, int ndim, const int64_t *shape);
/* A non-owning view of memory at `data`. */
fc_tensor fc_tensor_view(void *data, fc_dtype dtype, fc_device device, int ndim, const int64_t *shape);
/* Frees owned memory and resets *t to empty; accepts NULL and empty tensors. */
void fc_tensor_free(fc_tensor *t);

/* Copies src into dst, which must have the same number of elements (shapes may differ, as in a reshape).
 * Across dtypes the conversion rounds to nearest even; across devices the dtype must match. */
fc_err fc_tensor_copy(fc_tensor *dst, const fc_tensor *src);
/* Creates *out on `device` with `dtype` and the shape of src, and copies src into it. */
fc_err fc_tensor_to(fc_tensor *out, const fc_tensor *src, fc_device device, fc_dtype dtype);

/* "[2,3,4]" into buf, for messages. */
const char *fc_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

#endif
