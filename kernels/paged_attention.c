/* paged_attention.c: fc_op_paged_attention, the checks and the dispatch (see kernels/ops.h). */
#include <inttypes.h>

#include "kernels/cpu/paged_attention.h"
#include "kernels/cuda/ops_table.h"
#include "kernels/ops.h"

fc_err fc_op_paged_attention(fc_tensor *out, const fc_tensor *q, const fc_tensor *k_cache, const fc_tensor *v_cache,
                             const fc_paged_seq *seqs, int n_seqs, float scale) {
    char a[64], b[64], c[64];
    if (q->ndim != 3 || out->ndim != 2 || k_cache->ndim != 4 || v_cache->ndim != 4)
        return fc_err_set(FC_ESHAPE, "paged_attention: want q (T,H,D), out (T,H*D), caches (blocks,bs,Hkv,D); got q %s, "
                                     "out %s, k cache %s",
                          fc_shape_str(a, sizeof a, q->ndim, q->shape), fc_shape_str(b, sizeof b, out->ndim, out->shape),
                          fc_shape_str(c, sizeof c, k_cache->ndim, k_cache->shape));
    int64_t T = q->shape[0], H = q->shape[1], D = q->shape[2];
    int64_t NB = k_cache->shape[0], BS = k_cache->shape[1], Hkv = k_cache->shape[2];
    for (int i = 0; i < 4; i++)
        if (k_cache->shape[i] != v_cache->shape[i])
            return fc_err_set(FC_ESHAPE, "paged_attention: k cache %s and v cache %s differ",
                              fc_shape_str(a, sizeof a, 4, k_cache->shape), fc_shape_str(b, sizeof b, 4, v_cache->shape));
    if (out->shape[0] != T || out->shape[1] != H * D || k_cache->shape[3] != D || Hkv <= 0 || H % Hkv != 0)
        return fc_err_set(FC_ESHAPE, "paged_attention: q %s, out %s, caches %s do not fit (H %% Hkv == 0, same D)",
                          fc_shape_str(a, sizeof a, 3, q->shape), fc_shape_str(b, sizeof b, 2, out->shape),
                          fc_shape_str(c, sizeof c, 4, k_cache->shape));
    if (q->device != out->device || q->device != k_cache->device || q->device != v_cache->device)
        return fc_err_set(FC_EINVAL, "paged_attention: tensors on different devices");
    int64_t prev_end = 0;
    for (int si = 0; si < n_seqs; si++) {
        const fc_paged_seq *s = &seqs[si];
        if (s->q_start < prev_end || s->n_q < 0 || s->q_start + (int64_t)s->n_q > T || s->n_keys < s->n_q ||
            (s->n_keys > 0 && !s->blocks))
            return fc_err_set(FC_EINVAL,
                              "paged_attention: sequence %d: rows [%d, %d) of %" PRId64 " (after row %" PRId64
                              "), %d keys: rows must be in order inside q and keys >= new tokens",
                              si, s->q_start, s->q_start + s->n_q, T, prev_end, s->n_keys);
        prev_end = s->q_start + s->n_q;
        for (int64_t bi = 0; bi < (s->n_keys + BS - 1) / BS; bi++)
            if (s->blocks[bi] < 0 || s->blocks[bi] >= NB)
                return fc_err_set(FC_EINVAL, "paged_attention: sequence %d: block table entry %" PRId64
                                             " is %d, outside [0, %" PRId64 ")",
                                  si, bi, (int)s->blocks[bi], NB);
    }
    if (q->device != FC_DEVICE_CPU) { /* CUDA: q, out and the caches in one of f32, f16, bf16 */
        if (out->dtype != q->dtype || k_cache->dtype != q->dtype || v_cache->dtype != q->dtype ||
            (q->dtype != FC_DTYPE_F32 && q->dtype != FC_DTYPE_F16 && q->dtype != FC_DTYPE_BF16))
            return fc_err_set(FC_EUNSUPPORTED, "paged_attention: cuda wants q, out and caches of one dtype, f32, f16 "
                                               "or bf16 (got %s, %s, %s)",
                              fc_dtype_name(q->dtype), fc_dtype_name(out->dtype), fc_dtype_name(k_cache->dtype));
        const fc_cuda_ops *cu;
        FC_TRY(fc_cuda_ops_get("paged_attention", &cu));
        return cu->paged_attention(out->data, q->data, k_cache->data, v_cache->data, q->dtype, seqs,
                                   n_seqs, T, H, Hkv, D, BS, scale);
    }
    if (q->dtype != FC_DTYPE_F32 || out->dtype != FC_DTYPE_F32 || k_cache->dtype != FC_DTYPE_F32 ||
        v_cache->dtype != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "paged_attention: CPU wants f32 q, out and caches (got %s, %s, %s)",
                          fc_dtype_name(q->dtype), fc_dtype_name(out->dtype), fc_dtype_name(k_cache->dtype));
    return fc_cpu_paged_attention(out->data, q->data, k_cache->data, v_cache->data, seqs, n_seqs, H, Hkv, D, BS,
                                  scale);
}
