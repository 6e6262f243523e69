/* compress_seq.c: a compression method applied to one sequence of the paged KV pool. See compress_seq.h. */
#include "core/compress/compress_seq.h"

#include <stdlib.h>

#include "core/base/mem.h"
#include "core/base/timer.h"

static size_t seq_bytes(const fc_kv_pool *pool, int len) {
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    return (size_t)fc_kv_blocks_for(pool, len) * st.bytes_per_block;
}

fc_err fc_compress_sequence(fc_kv_pool *pool, int seq, const fc_compress_method *m, int n_q_heads,
                            const fc_compress_span *spans, int n_spans, fc_compress_extras_fn extras, void *ctx,
                            fc_compress_seq_result *res) {
    double t0 = fc_time_now();
    if (!fc_kv_seq_live(pool, seq)) return fc_err_set(FC_EINVAL, "compress: sequence %d is not live", seq);
    const int L = pool->p.n_layers, Hkv = pool->p.n_kv_heads, D = pool->p.head_dim, S = fc_kv_seq_len(pool, seq);
    if (S < 1) return fc_err_set(FC_EINVAL, "compress: sequence %d is empty", seq);
    if (!fc_compress_uniform_length(m)) /* refused before any layer is rewritten */
        return fc_err_set(FC_EUNSUPPORTED, "compress: %s gives each layer its own length; the paged pool keeps one "
                          "length per sequence", fc_compress_name(m));
    size_t n;
    if (!fc_mul_size((size_t)Hkv * S, (size_t)D, &n)) return fc_err_set(FC_ENOMEM, "compress: KV size overflows");
    float *k = fc_malloc(n * sizeof(float), "compress K"), *v = fc_malloc(n * sizeof(float), "compress V");
    float *ko = fc_malloc(n * sizeof(float), "compress K out"), *vo = fc_malloc(n * sizeof(float), "compress V out");
    int32_t *kept = fc_malloc(sizeof(int32_t) * (size_t)Hkv * S, "compress kept");
    fc_err e = k && v && ko && vo && kept ? FC_OK : FC_ENOMEM;
    int n_out = -1;
    for (int l = 0; l < L && !e; l++) {
        e = fc_kv_gather_layer(pool, seq, l, k, v);
        fc_compress_inputs in = {.Hkv = Hkv, .H = n_q_heads, .S = S, .D = D, .k = k, .v = v, .layer = l,
                                 .n_layers = L, .spans = spans, .n_spans = n_spans};
        if (!e && extras) e = extras(ctx, l, &in);
        in.k = k, in.v = v, in.S = S, in.Hkv = Hkv, in.D = D, in.layer = l, in.n_layers = L; /* ours, not theirs */
        fc_compress_output o = {ko, vo, kept, 0, false};
        if (!e) e = fc_err_prefix(fc_compress_layer(m, &in, &o), "sequence %d", seq);
        if (!e && n_out >= 0 && o.n_out != n_out)
            e = fc_err_set(FC_EUNSUPPORTED, "compress: %s keeps %d entries in layer %d but %d in layer 0; the paged "
                           "pool keeps one length per sequence", fc_compress_name(m), o.n_out, l, n_out);
        n_out = o.n_out;
        if (!e) e = fc_kv_write_layer(pool, seq, l, ko, vo, n_out);
    }
    free(k), free(v), free(ko), free(vo), free(kept);
    if (e) return e;
    int next = fc_kv_seq_next_pos(pool, seq);
    FC_TRY(fc_kv_truncate(pool, seq, n_out));
    if (fc_compress_renumbers_positions(m)) {
        FC_TRY(fc_kv_seq_set_next_pos(pool, seq, n_out));
        next = n_out;
    }
    if (res) {
        *res = (fc_compress_seq_result){S, n_out, next, seq_bytes(pool, S), seq_bytes(pool, n_out),
                                        (double)S / n_out, fc_time_now() - t0};
    }
    return FC_OK;
}
