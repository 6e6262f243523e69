/* opcheck.h: argument checks shared by the op dispatchers (kernels/<op>.c), so every op reports a wrong
 * shape, dtype or device the same way: "<op>: <tensor> <shape> <problem>". Internal to kernels/. */
#ifndef FC_OPCHECK_H
#define FC_OPCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

/* A shape string for messages; `buf` must hold FC_OPCHECK_SHAPE_CAP bytes. */
#define FC_OPCHECK_SHAPE_CAP 96
const char *fc_opcheck_shape(char *buf, const fc_tensor *t);
#define FC_SHAPE(t) fc_opcheck_shape((char[FC_OPCHECK_SHAPE_CAP]){0}, (t))

/* FC_EINVAL unless t is non-NULL and, when it has elements, its data pointer is set. */
fc_err fc_opcheck_present(const char *op, const char *name, const fc_tensor *t);
/* FC_EINVAL unless every non-NULL tensor of ts lives on one device; *dev gets it. */
fc_err fc_opcheck_device(const char *op, int n, const fc_tensor *const *ts, const char *const *names,
                         fc_device *dev);
/* The activation tensors (non-NULL entries of ts) must share one dtype that `dev` computes in: f32 on the
 * CPU; f32, f16 or bf16 on CUDA. *dt gets it. FC_EUNSUPPORTED otherwise. */
fc_err fc_opcheck_acts(const char *op, fc_device dev, int n, const fc_tensor *const *ts,
                       const char *const *names, fc_dtype *dt);
/* A parameter (weight, bias, table): f32, f16 or bf16. FC_EUNSUPPORTED otherwise. */
fc_err fc_opcheck_param(const char *op, const char *name, const fc_tensor *t);
/* t (when not NULL) is f32: the training ops' activations and gradients. */
fc_err fc_opcheck_f32(const char *op, const char *name, const fc_tensor *t);
/* ta and tb (when both are given) hold as many elements. */
fc_err fc_opcheck_same_numel(const char *op, const char *a, const fc_tensor *ta, const char *b, const fc_tensor *tb);
/* Size of the last dim (1 for a scalar) and the number of rows (numel / last dim). */
int64_t fc_opcheck_last(const fc_tensor *t);
int64_t fc_opcheck_rows(const fc_tensor *t);
/* FC_EUNSUPPORTED naming the op when a size exceeds what BLAS/CUDA index with int (2^31 - 1). */
fc_err fc_opcheck_int_range(const char *op, const char *what, int64_t v);

#endif
