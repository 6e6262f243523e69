/* kv_pool_swap.c: preemption of a sequence: its entries copied to host memory and its blocks let go, then
 * brought back under the same handle (kv_pool.h, "preemption"). The host copy holds, in the pool's dtype
 * and bit for bit, the K rows of layer 0..L-1 (each layer's own length) followed by the V rows likewise;
 * lengths and next_pos stay in the slot, so queries keep answering while it is out. */
#include <string.h>

#include "core/base/mem.h"
#include "core/kv/kv_internal.h"

/* Copies rows [0, len) of one layer table between the storage `store` and host rows `host`, one
 * contiguous run per block. */
static fc_err copy_rows(const fc_kv_pool *pool, const fc_kv_table *t, void *store, char *host, bool to_host) {
    size_t row = pool->row_elems * fc_dtype_size(pool->p.dtype);
    int bs = pool->p.block_size;
    for (int i = 0; i < t->len; i += bs) {
        int n = t->len - i < bs ? t->len - i : bs;
        char *r = fc_kv__row(pool, store, (size_t)t->blocks[i / bs], 0);
        char *hh = host + (size_t)i * row;
        FC_TRY(to_host ? fc_kv__copy(pool, hh, false, r, true, (size_t)n * row)
                       : fc_kv__copy(pool, r, true, hh, false, (size_t)n * row));
    }
    return FC_OK;
}

/* Bytes of K (or V) rows of every layer: sum_l len_l x one row. */
static size_t half_bytes(const fc_kv_pool *pool, const fc_kv_seq *s) {
    size_t rows = 0;
    for (int l = 0; l < pool->p.n_layers; l++) rows += (size_t)s->layers[l].len;
    return rows * pool->row_elems * fc_dtype_size(pool->p.dtype);
}

fc_err fc_kv_seq_swap_out(fc_kv_pool *pool, fc_kv_handle h) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "swap_out"));
    size_t half = half_bytes(pool, s), row = pool->row_elems * fc_dtype_size(pool->p.dtype);
    char *host = fc_malloc(half ? 2 * half : 1, "kv swap-out copy");
    if (!host) return fc_err_prefix(FC_ENOMEM, "kv pool: swap out sequence %u#%u", h.slot, h.gen);
    size_t at = 0;
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        fc_err e = copy_rows(pool, t, pool->k, host + at, true);
        if (!e) e = copy_rows(pool, t, pool->v, host + half + at, true);
        if (e) {
            free(host);
            return fc_err_prefix(e, "kv pool: swap out sequence %u#%u", h.slot, h.gen);
        }
        at += (size_t)t->len * row;
    }
    for (int l = 0; l < pool->p.n_layers; l++) fc_kv__table_release_from(pool, &s->layers[l], 0);
    s->host = host;
    s->host_bytes = 2 * half;
    s->state = FC_KV_SLOT_SWAPPED;
    pool->n_live--;
    pool->n_swapped++;
    pool->bytes_swapped += s->host_bytes;
    return FC_OK;
}

fc_err fc_kv_seq_swap_in(fc_kv_pool *pool, fc_kv_handle h) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_SWAPPED, &s, "swap_in"));
    int64_t need = 0;
    for (int l = 0; l < pool->p.n_layers; l++) need += fc_kv_blocks_for(pool, s->layers[l].len);
    if (need > pool->n_free)
        return fc_err_set(FC_ENOMEM, "kv pool full: swapping in sequence %u#%u needs %lld layer blocks, %d free",
                          h.slot, h.gen, (long long)need, pool->n_free);
    for (int l = 0; l < pool->p.n_layers; l++)
        FC_TRY(fc_err_prefix(fc_kv__table_cap(&s->layers[l], fc_kv_blocks_for(pool, s->layers[l].len)),
                             "kv pool: swap in"));
    size_t half = s->host_bytes / 2, row = pool->row_elems * fc_dtype_size(pool->p.dtype), at = 0;
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        int nb = (int)fc_kv_blocks_for(pool, t->len);
        while (t->n_blocks < nb) t->blocks[t->n_blocks++] = fc_kv__take(pool);
    }
    fc_kv__note_peak(pool);
    fc_err e = FC_OK;
    for (int l = 0; l < pool->p.n_layers && !e; l++) {
        const fc_kv_table *t = &s->layers[l];
        e = copy_rows(pool, t, pool->k, (char *)s->host + at, false);
        if (!e) e = copy_rows(pool, t, pool->v, (char *)s->host + half + at, false);
        at += (size_t)t->len * row;
    }
    if (e) { /* a device copy failed: give the blocks back, stay swapped out */
        for (int l = 0; l < pool->p.n_layers; l++) fc_kv__table_release_from(pool, &s->layers[l], 0);
        return fc_err_prefix(e, "kv pool: swap in sequence %u#%u", h.slot, h.gen);
    }
    pool->bytes_swapped -= s->host_bytes;
    free(s->host);
    s->host = NULL;
    s->host_bytes = 0;
    s->state = FC_KV_SLOT_LIVE;
    pool->n_swapped--;
    pool->n_live++;
    return FC_OK;
}
