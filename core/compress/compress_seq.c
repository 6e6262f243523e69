/* compress_seq.c: a compression method applied to one sequence of the paged KV pool. See compress_seq.h. */
#include "core/compress/compress_seq.h"

#include <stdlib.h>

#include "core/base/mem.h"
#include "core/base/timer.h"

/* Exact bytes of `entries[l]` entries in each layer: the layer blocks they need x one block's bytes. */
static size_t layer_bytes(const fc_kv_pool *pool, const int *len) {
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    size_t b = 0;
    for (int l = 0; l < pool->p.n_layers; l++) b += (size_t)fc_kv_blocks_for(pool, len[l]) * st.bytes_per_layer_block;
    return b;
}

fc_err fc_compress_sequence(fc_kv_pool *pool, fc_kv_handle seq, const fc_compress_method *m, int n_q_heads,
                            const fc_compress_span *spans, int n_spans, fc_compress_extras_fn extras, void *ctx,
                            fc_compress_seq_result *res) {
    double t0 = fc_time_now();
    if (!fc_kv_seq_live(pool, seq))
        return fc_err_set(FC_EINVAL, "compress: sequence %u#%u is not live (stale or swapped out)", seq.slot, seq.gen);
    if (!fc_kv_pool_owned(pool))
        return fc_err_set(FC_EINVAL, "compress: called from a thread that does not own the kv pool");
    const int L = pool->p.n_layers, Hkv = pool->p.n_kv_heads, D = pool->p.head_dim, Smax = fc_kv_seq_len(pool, seq);
    if (Smax < 1) return fc_err_set(FC_EINVAL, "compress: sequence %u#%u is empty", seq.slot, seq.gen);
    FC_TRY(fc_compress_check_model(m, L, D)); /* a CCM for another model: no layer of it may run */
    size_t n;
    if (!fc_mul_size((size_t)Hkv * Smax, (size_t)D, &n)) return fc_err_set(FC_ENOMEM, "compress: KV size overflows");
    float *k = fc_malloc(n * sizeof(float), "compress K"), *v = fc_malloc(n * sizeof(float), "compress V");
    int32_t *kept = fc_malloc(sizeof(int32_t) * (size_t)Hkv * Smax, "compress kept");
    int *before = fc_calloc((size_t)L, sizeof(int), "compress lengths"), *after = fc_calloc((size_t)L, sizeof(int), "compress lengths");
    /* every layer's result is kept in scratch until all succeeded: only then does the pool change */
    float **ko = fc_calloc((size_t)L, sizeof(float *), "compress K out"), **vo = fc_calloc((size_t)L, sizeof(float *), "compress V out");
    fc_err e = k && v && kept && before && after && ko && vo ? FC_OK : FC_ENOMEM;
    for (int l = 0; l < L && !e; l++) {
        const int S = before[l] = fc_kv_seq_layer_len(pool, seq, l);
        if (S < 1) {
            e = fc_err_set(FC_EINVAL, "compress: sequence %u#%u: layer %d is empty", seq.slot, seq.gen, l);
            break;
        }
        size_t nl = (size_t)Hkv * S * D;
        ko[l] = fc_malloc(nl * sizeof(float), "compress K out");
        vo[l] = fc_malloc(nl * sizeof(float), "compress V out");
        if (!ko[l] || !vo[l]) {
            e = FC_ENOMEM;
            break;
        }
        e = fc_kv_gather_layer(pool, seq, l, k, v);
        fc_compress_inputs in = {.Hkv = Hkv, .H = n_q_heads, .S = S, .D = D, .k = k, .v = v, .layer = l,
                                 .n_layers = L, .spans = spans, .n_spans = n_spans};
        if (!e && extras) e = extras(ctx, l, &in);
        in.k = k, in.v = v, in.S = S, in.Hkv = Hkv, in.D = D, in.layer = l, in.n_layers = L; /* ours, not theirs */
        fc_compress_output o = {ko[l], vo[l], kept, 0, false};
        if (!e) e = fc_err_prefix(fc_compress_layer(m, &in, &o), "sequence %u#%u", seq.slot, seq.gen);
        if (!e && (o.n_out < 0 || o.n_out > S))
            e = fc_err_set(FC_EINVAL, "compress: layer %d: %d entries out of %d", l, o.n_out, S);
        after[l] = o.n_out;
        /* keep only what the layer kept: the scratch peak is the compressed cache, not L full layers */
        if (!e && o.n_out < S) {
            size_t keep = (size_t)Hkv * (o.n_out > 0 ? o.n_out : 1) * D * sizeof(float);
            float *a = fc_realloc(ko[l], keep, "compress K out"), *b = a ? fc_realloc(vo[l], keep, "compress V out") : NULL;
            if (a) ko[l] = a;
            if (b) vo[l] = b;
            if (!a || !b) e = FC_ENOMEM;
        }
    }
    free(k), free(v), free(kept);
    if (!e) e = fc_err_prefix(fc_kv_seq_replace(pool, seq, after, (const float *const *)ko, (const float *const *)vo),
                              "compress");
    for (int l = 0; ko && vo && l < L; l++) free(ko[l]), free(vo[l]);
    free(ko), free(vo);
    int next = fc_kv_seq_next_pos(pool, seq), longest = 0, shortest = e ? 0 : after[0];
    int64_t sum_before = 0, sum_after = 0;
    for (int l = 0; l < L && !e; l++) {
        longest = after[l] > longest ? after[l] : longest;
        shortest = after[l] < shortest ? after[l] : shortest;
        sum_before += before[l], sum_after += after[l];
    }
    if (!e && fc_compress_renumbers_positions(m)) { /* ccm trained on renumbered positions: one length */
        FC_ASSERT(fc_kv_seq_set_next_pos(pool, seq, longest) == FC_OK); /* live and owned: checked above */
        next = longest;
    }
    if (!e && res) {
        *res = (fc_compress_seq_result){Smax, longest, next, layer_bytes(pool, before), fc_kv_seq_bytes(pool, seq),
                                        (double)sum_before / (double)sum_after, fc_time_now() - t0, sum_before,
                                        sum_after, shortest};
    }
    free(before), free(after);
    return e;
}
