/* backward.c: the dispatchers of kernels/ops_backward.h (checks, then the CPU kernels of cpu_backward.h). */
#include "kernels/backward_cuda.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"
#include "kernels/opcheck.h"
#include "kernels/ops_backward.h"

/* Every tensor given is on the CPU, f32 unless it is a frozen parameter. */
static fc_err cpu_only(const char *op, int n, const fc_tensor *const *ts, const char *const *names) {
    for (int i = 0; i < n; i++) {
        if (!ts[i]) continue;
        FC_TRY(fc_opcheck_present(op, names[i], ts[i]));
        if (ts[i]->device != FC_DEVICE_CPU)
            return fc_err_set(FC_EUNSUPPORTED, "%s: %s is on %s; the backward ops run on the CPU only", op, names[i],
                              fc_device_name(ts[i]->device));
    }
    return FC_OK;
}

fc_err fc_op_linear_bwd(fc_tensor *dx, fc_tensor *dw, fc_tensor *db, const fc_tensor *dy, const fc_tensor *x,
                        const fc_tensor *w, bool accumulate) {
    const char *op = "linear_bwd";
    const fc_tensor *all[] = {dx, dw, db, dy, x, w};
    const char *names[] = {"dx", "dw", "db", "dy", "x", "w"};
    if (fc_bwd_any_cuda(6, all)) return fc_cuda_op_linear_bwd(dx, dw, db, dy, x, w, accumulate);
    FC_TRY(cpu_only(op, 6, all, names));
    if (!dy || !w) return fc_err_set(FC_EINVAL, "%s: dy and w are required", op);
    if (dw && !x) return fc_err_set(FC_EINVAL, "%s: dw needs x", op);
    for (int i = 0; i < 5; i++) FC_TRY(fc_opcheck_f32(op, names[i], all[i]));
    FC_TRY(fc_opcheck_param(op, "w", w));
    if (w->ndim != 2) return fc_err_set(FC_ESHAPE, "%s: w %s must be 2-D (N, K)", op, FC_SHAPE(w));
    int64_t N = w->shape[0], K = w->shape[1], M = fc_opcheck_rows(dy);
    if (fc_opcheck_last(dy) != N) return fc_err_set(FC_ESHAPE, "%s: dy %s does not end in N = %lld", op, FC_SHAPE(dy), (long long)N);
    if (dx && (fc_opcheck_last(dx) != K || fc_opcheck_rows(dx) != M))
        return fc_err_set(FC_ESHAPE, "%s: dx %s, want %lld rows of %lld", op, FC_SHAPE(dx), (long long)M, (long long)K);
    if (x && (fc_opcheck_last(x) != K || fc_opcheck_rows(x) != M))
        return fc_err_set(FC_ESHAPE, "%s: x %s, want %lld rows of %lld", op, FC_SHAPE(x), (long long)M, (long long)K);
    FC_TRY(fc_opcheck_same_numel(op, "dw", dw, "w", w));
    if (db && fc_tensor_numel(db) != N) return fc_err_set(FC_ESHAPE, "%s: db %s, want %lld", op, FC_SHAPE(db), (long long)N);
    FC_TRY(fc_opcheck_int_range(op, "rows", M));
    return fc_cpu_linear_bwd(dx ? dx->data : NULL, dw ? dw->data : NULL, db ? db->data : NULL, dy->data,
                             x ? x->data : NULL, w->data, w->dtype, M, N, K, accumulate);
}

fc_err fc_op_rmsnorm_bwd(fc_tensor *dx, fc_tensor *dw, const fc_tensor *dy, const fc_tensor *x, const fc_tensor *w,
                         float eps, bool accumulate) {
    const char *op = "rmsnorm_bwd";
    const fc_tensor *all[] = {dx, dw, dy, x, w};
    const char *names[] = {"dx", "dw", "dy", "x", "w"};
    if (fc_bwd_any_cuda(5, all)) return fc_cuda_op_rmsnorm_bwd(dx, dw, dy, x, w, eps, accumulate);
    FC_TRY(cpu_only(op, 5, all, names));
    if (!dx || !dy || !x || !w) return fc_err_set(FC_EINVAL, "%s: dx, dy, x and w are required", op);
    for (int i = 0; i < 4; i++) FC_TRY(fc_opcheck_f32(op, names[i], all[i]));
    FC_TRY(fc_opcheck_param(op, "w", w));
    int64_t C = fc_tensor_numel(w);
    if (fc_opcheck_last(x) != C) return fc_err_set(FC_ESHAPE, "%s: x %s does not end in %lld channels", op, FC_SHAPE(x), (long long)C);
    FC_TRY(fc_opcheck_same_numel(op, "dx", dx, "x", x));
    FC_TRY(fc_opcheck_same_numel(op, "dy", dy, "x", x));
    FC_TRY(fc_opcheck_same_numel(op, "dw", dw, "w", w));
    fc_cpu_rmsnorm_bwd(dx->data, dw ? dw->data : NULL, dy->data, x->data, w->data, w->dtype, fc_opcheck_rows(x), C,
                       eps, accumulate);
    return FC_OK;
}

fc_err fc_op_rope_bwd(fc_tensor *d, const int32_t *pos, float theta) {
    const char *op = "rope_bwd";
    const fc_tensor *all[] = {d};
    const char *names[] = {"d"};
    if (fc_bwd_any_cuda(1, all)) return fc_cuda_op_rope_bwd(d, pos, theta);
    FC_TRY(cpu_only(op, 1, all, names));
    FC_TRY(fc_opcheck_f32(op, "d", d));
    if (d->ndim != 3 || d->shape[2] % 2 || d->shape[2] > FC_ROPE_MAX_D)
        return fc_err_set(FC_ESHAPE, "%s: d %s must be (T, heads, D), D even and <= %d", op, FC_SHAPE(d), FC_ROPE_MAX_D);
    if (d->shape[0] > 0 && !pos) return fc_err_set(FC_EINVAL, "%s: pos is NULL", op);
    fc_cpu_rope_bwd(d->data, pos, d->shape[0], d->shape[1], d->shape[2], theta);
    return FC_OK;
}

fc_err fc_op_silu_mul_bwd(fc_tensor *dgate, fc_tensor *dup, const fc_tensor *dy, const fc_tensor *gate,
                          const fc_tensor *up) {
    const char *op = "silu_mul_bwd";
    const fc_tensor *all[] = {dgate, dup, dy, gate, up};
    const char *names[] = {"dgate", "dup", "dy", "gate", "up"};
    if (fc_bwd_any_cuda(5, all)) return fc_cuda_op_silu_mul_bwd(dgate, dup, dy, gate, up);
    FC_TRY(cpu_only(op, 5, all, names));
    for (int i = 0; i < 5; i++) {
        if (!all[i]) return fc_err_set(FC_EINVAL, "%s: %s is required", op, names[i]);
        FC_TRY(fc_opcheck_f32(op, names[i], all[i]));
        FC_TRY(fc_opcheck_same_numel(op, names[i], all[i], "dy", dy));
    }
    fc_cpu_silu_mul_bwd(dgate->data, dup->data, dy->data, gate->data, up->data, fc_tensor_numel(dy));
    return FC_OK;
}

static bool same_shape(const fc_tensor *a, const fc_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

/* Shapes of the prefix attention; fills T, P, H, Hkv, D. */
static fc_err prefix_shapes(const char *op, const fc_tensor *q, const fc_tensor *kp, const fc_tensor *vp,
                            const fc_tensor *kn, const fc_tensor *vn, int64_t *T, int64_t *P, int64_t *H, int64_t *Hkv,
                            int64_t *D) {
    if (!q || !kn || !vn || !kp || !vp) return fc_err_set(FC_EINVAL, "%s: q, kp, vp, kn and vn are required", op);
    if (q->ndim != 3 || kn->ndim != 3 || kp->ndim != 3)
        return fc_err_set(FC_ESHAPE, "%s: q %s, kp %s, kn %s must be 3-D", op, FC_SHAPE(q), FC_SHAPE(kp), FC_SHAPE(kn));
    *T = q->shape[0], *H = q->shape[1], *D = q->shape[2], *Hkv = kn->shape[1], *P = kp->shape[1];
    if (kn->shape[0] != *T || kn->shape[2] != *D || *Hkv < 1 || *H % *Hkv || kp->shape[0] != *Hkv ||
        kp->shape[2] != *D || !same_shape(kn, vn) || !same_shape(kp, vp))
        return fc_err_set(FC_ESHAPE, "%s: q %s, kp %s, vp %s, kn %s, vn %s do not fit (T, H, D), (Hkv, P, D), (T, Hkv, D)",
                          op, FC_SHAPE(q), FC_SHAPE(kp), FC_SHAPE(vp), FC_SHAPE(kn), FC_SHAPE(vn));
    FC_TRY(fc_opcheck_int_range(op, "keys", *P + *T));
    return FC_OK;
}

fc_err fc_op_attention_prefix(fc_tensor *out, fc_tensor *lse, const fc_tensor *q, const fc_tensor *kp,
                              const fc_tensor *vp, const fc_tensor *kn, const fc_tensor *vn, float scale) {
    const char *op = "attention_prefix";
    const fc_tensor *all[] = {out, lse, q, kp, vp, kn, vn};
    const char *names[] = {"out", "lse", "q", "kp", "vp", "kn", "vn"};
    if (fc_bwd_any_cuda(7, all)) return fc_cuda_op_attention_prefix(out, lse, q, kp, vp, kn, vn, scale);
    FC_TRY(cpu_only(op, 7, all, names));
    for (int i = 0; i < 7; i++) FC_TRY(fc_opcheck_f32(op, names[i], all[i]));
    int64_t T, P, H, Hkv, D;
    FC_TRY(prefix_shapes(op, q, kp, vp, kn, vn, &T, &P, &H, &Hkv, &D));
    if (!out || !lse) return fc_err_set(FC_EINVAL, "%s: out and lse are required", op);
    FC_TRY(fc_opcheck_same_numel(op, "out", out, "q", q));
    if (fc_tensor_numel(lse) != T * H) return fc_err_set(FC_ESHAPE, "%s: lse %s, want (%lld, %lld)", op, FC_SHAPE(lse), (long long)T, (long long)H);
    return fc_cpu_attention_prefix_fwd(out->data, lse->data, q->data, kp->data, vp->data, P, kn->data, vn->data, T, H,
                                       Hkv, D, scale);
}

fc_err fc_op_attention_prefix_bwd(fc_tensor *dq, fc_tensor *dkp, fc_tensor *dvp, fc_tensor *dkn, fc_tensor *dvn,
                                  const fc_tensor *dout, const fc_tensor *q, const fc_tensor *kp, const fc_tensor *vp,
                                  const fc_tensor *kn, const fc_tensor *vn, const fc_tensor *out,
                                  const fc_tensor *lse, float scale) {
    const char *op = "attention_prefix_bwd";
    const fc_tensor *all[] = {dq, dkp, dvp, dkn, dvn, dout, q, kp, vp, kn, vn, out, lse};
    const char *names[] = {"dq", "dkp", "dvp", "dkn", "dvn", "dout", "q", "kp", "vp", "kn", "vn", "out", "lse"};
    if (fc_bwd_any_cuda(13, all))
        return fc_cuda_op_attention_prefix_bwd(dq, dkp, dvp, dkn, dvn, dout, q, kp, vp, kn, vn, out, lse, scale);
    FC_TRY(cpu_only(op, 13, all, names));
    for (int i = 0; i < 13; i++) {
        if (!all[i]) return fc_err_set(FC_EINVAL, "%s: %s is required", op, names[i]);
        FC_TRY(fc_opcheck_f32(op, names[i], all[i]));
    }
    int64_t T, P, H, Hkv, D;
    FC_TRY(prefix_shapes(op, q, kp, vp, kn, vn, &T, &P, &H, &Hkv, &D));
    FC_TRY(fc_opcheck_same_numel(op, "dq", dq, "q", q));
    FC_TRY(fc_opcheck_same_numel(op, "dout", dout, "q", q));
    FC_TRY(fc_opcheck_same_numel(op, "out", out, "q", q));
    FC_TRY(fc_opcheck_same_numel(op, "dkp", dkp, "kp", kp));
    FC_TRY(fc_opcheck_same_numel(op, "dvp", dvp, "vp", vp));
    FC_TRY(fc_opcheck_same_numel(op, "dkn", dkn, "kn", kn));
    FC_TRY(fc_opcheck_same_numel(op, "dvn", dvn, "vn", vn));
    if (fc_tensor_numel(lse) != T * H) return fc_err_set(FC_ESHAPE, "%s: lse %s, want (%lld, %lld)", op, FC_SHAPE(lse), (long long)T, (long long)H);
    return fc_cpu_attention_prefix_bwd(dq->data, dkp->data, dvp->data, dkn->data, dvn->data, dout->data, q->data,
                                       kp->data, vp->data, P, kn->data, vn->data, out->data, lse->data, T, H, Hkv, D,
                                       scale);
}
