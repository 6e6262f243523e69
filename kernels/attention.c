/* attention.c: fc_op_attention, the checks and the dispatch (see kernels/ops.h). */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/opcheck.h"
#include "kernels/cuda/ops_table.h"

fc_err fc_op_attention(fc_tensor *out, const fc_tensor *q, const fc_tensor *k, const fc_tensor *v, float scale,
                       bool causal) {
    FC_TRY(fc_opcheck_present("attention", "out", out));
    FC_TRY(fc_opcheck_present("attention", "q", q));
    FC_TRY(fc_opcheck_present("attention", "k", k));
    FC_TRY(fc_opcheck_present("attention", "v", v));
    const fc_tensor *all[] = {out, q, k, v};
    const char *names[] = {"out", "q", "k", "v"};
    fc_device dev;
    fc_dtype adt;
    FC_TRY(fc_opcheck_device("attention", 4, all, names, &dev));
    FC_TRY(fc_opcheck_acts("attention", dev, 4, all, names, &adt));
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3)
        return fc_err_set(FC_ESHAPE, "attention: q %s, k %s, v %s must be 3-D (tokens, heads, D)", FC_SHAPE(q),
                          FC_SHAPE(k), FC_SHAPE(v));
    int64_t T = q->shape[0], H = q->shape[1], D = q->shape[2];
    int64_t S = k->shape[0], Hkv = k->shape[1];
    if (k->shape[2] != D || v->shape[0] != S || v->shape[1] != Hkv || v->shape[2] != D)
        return fc_err_set(FC_ESHAPE, "attention: q %s, k %s, v %s: k and v must be (S, Hkv, %lld)", FC_SHAPE(q),
                          FC_SHAPE(k), FC_SHAPE(v), (long long)D);
    if (Hkv == 0 || H % Hkv != 0)
        return fc_err_set(FC_ESHAPE, "attention: q %s has %lld heads, not a multiple of the %lld kv heads of k %s",
                          FC_SHAPE(q), (long long)H, (long long)Hkv, FC_SHAPE(k));
    if (out->ndim < 2 || out->shape[0] != T || fc_tensor_numel(out) != T * H * D)
        return fc_err_set(FC_ESHAPE, "attention: out %s must be (%lld, %lld) or shaped like q %s", FC_SHAPE(out), (long long)T,
                          (long long)(H * D), FC_SHAPE(q));
    if (T > 0 && S == 0)
        return fc_err_set(FC_ESHAPE, "attention: q %s attends over no keys (k %s)", FC_SHAPE(q), FC_SHAPE(k));
    if (causal && T > S)
        return fc_err_set(FC_ESHAPE, "attention: causal with more queries (%lld) than keys (%lld): q %s, k %s",
                          (long long)T, (long long)S, FC_SHAPE(q), FC_SHAPE(k));
    if (!isfinite(scale)) return fc_err_set(FC_EINVAL, "attention: scale %g is not finite", (double)scale);
    FC_TRY(fc_opcheck_int_range("attention", "rows", T * H));
    FC_TRY(fc_opcheck_int_range("attention", "keys", S));
    if (dev == FC_DEVICE_CPU) return fc_cpu_attention(out->data, q->data, k->data, v->data, T, S, H, Hkv, D, scale, causal);
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("attention", &cu));
    return cu->attention(out->data, q->data, k->data, v->data, adt, T, S, H, Hkv, D, scale, causal);
}
