/* kv_pool_layer.c: what compression does to a sequence of the pool (kv_pool.h, "compression"): a layer
 * gathered to contiguous f32 [Hkv, S, D] and written back, and the all-or-nothing replacement of every
 * layer at once. Writes into shared blocks copy them first (copy on write). */
#include "core/kv/kv_internal.h"

static fc_err layer_check(const fc_kv_pool *pool, fc_kv_handle h, int layer, fc_kv_seq **s, const char *what) {
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, s, what));
    if (layer < 0 || layer >= pool->p.n_layers)
        return fc_err_set(FC_EINVAL, "kv pool: %s: layer %d outside [0, %d)", what, layer, pool->p.n_layers);
    if (pool->p.device != FC_DEVICE_CPU)
        return fc_err_set(FC_EUNSUPPORTED, "kv pool: %s: pool on %s (CPU only for now)", what,
                          fc_device_name(pool->p.device));
    return FC_OK;
}

/* Copies between one layer's paged rows and a contiguous [Hkv, S, D] f32 array, one (entry, head) row
 * of D at a time. */
static void copy_layer(const fc_kv_pool *pool, fc_kv_handle h, int layer, void *store, float *flat, int S, bool out) {
    int Hkv = pool->p.n_kv_heads, D = pool->p.head_dim;
    size_t esz = fc_dtype_size(pool->p.dtype);
    for (int i = 0; i < S; i++) {
        char *row = fc_kv__slot(pool, store, h, layer, i);
        for (int hh = 0; hh < Hkv; hh++) {
            float *f = flat + ((size_t)hh * S + i) * D;
            void *r = row + (size_t)hh * D * esz;
            if (out)
                fc_dtype_convert(f, FC_DTYPE_F32, r, pool->p.dtype, (size_t)D);
            else
                fc_dtype_convert(r, pool->p.dtype, f, FC_DTYPE_F32, (size_t)D);
        }
    }
}

fc_err fc_kv_gather_layer(const fc_kv_pool *pool, fc_kv_handle h, int layer, float *k, float *v) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, h, layer, &s, "gather"));
    int len = s->layers[layer].len;
    if (k) copy_layer(pool, h, layer, pool->k, k, len, true);
    if (v) copy_layer(pool, h, layer, pool->v, v, len, true);
    return FC_OK;
}

/* Shared blocks among the first nb of a table (those a write of [0, S) touches). */
static int shared_in(const fc_kv_pool *pool, const fc_kv_table *t, int64_t nb) {
    int c = 0;
    for (int64_t b = 0; b < nb && b < t->n_blocks; b++) c += pool->ref[t->blocks[b]] > 1;
    return c;
}

fc_err fc_kv_write_layer(fc_kv_pool *pool, fc_kv_handle h, int layer, const float *k, const float *v, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, h, layer, &s, "write"));
    fc_kv_table *t = &s->layers[layer];
    int64_t slots = (int64_t)t->n_blocks * pool->p.block_size;
    if (S < 0 || S > slots)
        return fc_err_set(FC_EINVAL, "kv pool: write of %d entries to layer %d of sequence %u#%u with %lld slots", S,
                          layer, h.slot, h.gen, (long long)slots);
    int64_t nb = fc_kv_blocks_for(pool, S);
    int copies = shared_in(pool, t, nb);
    if (copies > pool->n_free)
        return fc_err_set(FC_ENOMEM, "kv pool full: write to sequence %u#%u layer %d copies %d shared blocks, %d free",
                          h.slot, h.gen, layer, copies, pool->n_free);
    for (int64_t b = 0; b < nb; b++) /* entries of a shared block past S stay readable: copy, not just take */
        if (pool->ref[t->blocks[b]] > 1) FC_TRY(fc_kv__cow(pool, t, (int)b, true));
    fc_kv__note_peak(pool);
    if (k) copy_layer(pool, h, layer, pool->k, (float *)k, S, false);
    if (v) copy_layer(pool, h, layer, pool->v, (float *)v, S, false);
    return FC_OK;
}

fc_err fc_kv_seq_replace(fc_kv_pool *pool, fc_kv_handle h, const int *lens, const float *const *k,
                         const float *const *v) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, h, 0, &s, "replace"));
    int64_t copies = 0;
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        if (lens[l] < 0 || lens[l] > t->len || !k[l] || !v[l])
            return fc_err_set(FC_EINVAL, "kv pool: replace layer %d of sequence %u#%u (%d entries) by %d entries%s", l,
                              h.slot, h.gen, t->len, lens[l], !k[l] || !v[l] ? " without K or V" : "");
        copies += shared_in(pool, t, fc_kv_blocks_for(pool, lens[l]));
    }
    if (copies > pool->n_free)
        return fc_err_set(FC_ENOMEM, "kv pool full: replacing sequence %u#%u copies %lld shared blocks, %d free",
                          h.slot, h.gen, (long long)copies, pool->n_free);
    /* from here nothing can fail: shared blocks get fresh private ones (every slot of [0, lens) is
     * overwritten and the rest truncated away, so no copy), then the rows, then the surplus goes */
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        int nb = (int)fc_kv_blocks_for(pool, lens[l]);
        for (int b = 0; b < nb; b++)
            if (pool->ref[t->blocks[b]] > 1) FC_ASSERT(fc_kv__cow(pool, t, b, false) == FC_OK);
        fc_kv__note_peak(pool);
        copy_layer(pool, h, l, pool->k, (float *)k[l], lens[l], false);
        copy_layer(pool, h, l, pool->v, (float *)v[l], lens[l], false);
        t->len = lens[l];
        fc_kv__table_release_from(pool, t, nb);
    }
    return FC_OK;
}

