/* kv_pool_check.c: the pool's accounting (fc_kv_pool_stats) and its from-scratch consistency check
 * (fc_kv_pool_check), which the randomized stress test runs after every operation. */
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/kv/kv_internal.h"

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st) {
    memset(st, 0, sizeof *st);
    int L = pool->p.n_layers;
    st->layer_blocks_total = pool->n_lblocks;
    st->layer_blocks_used = pool->n_lblocks - pool->n_free;
    st->layer_blocks_peak = pool->blocks_peak;
    st->layer_blocks_shared = pool->n_shared;
    st->bytes_per_layer_block = 2 * pool->block_bytes;
    st->blocks_total = pool->p.n_blocks;
    st->blocks_used = (st->layer_blocks_used + L - 1) / L;
    st->blocks_peak = (st->layer_blocks_peak + L - 1) / L;
    st->bytes_per_block = (size_t)L * st->bytes_per_layer_block;
    st->bytes_capacity = st->bytes_per_layer_block * (size_t)st->layer_blocks_total;
    st->bytes_used = st->bytes_per_layer_block * (size_t)st->layer_blocks_used;
    st->bytes_peak = st->bytes_per_layer_block * (size_t)st->layer_blocks_peak;
    st->n_seqs = pool->n_live;
    st->n_swapped = pool->n_swapped;
    st->bytes_swapped = pool->bytes_swapped;
    for (int s = 0; s < pool->p.max_seqs; s++) {
        const fc_kv_seq *q = &pool->seqs[s];
        if (q->state != FC_KV_SLOT_LIVE) continue;
        int len = 0;
        for (int l = 0; l < L; l++) {
            st->layer_entries += q->layers[l].len;
            if (q->layers[l].len > len) len = q->layers[l].len;
        }
        st->entries += len;
    }
}

#define BAD(...)                                  \
    do {                                          \
        e = fc_err_set(FC_EINVAL, __VA_ARGS__);   \
        goto done;                                \
    } while (0)

fc_err fc_kv_pool_check(const fc_kv_pool *pool) {
    const int NB = pool->n_lblocks, L = pool->p.n_layers;
    int32_t *count = fc_calloc((size_t)NB, sizeof(int32_t), "kv check");
    char *on_free = fc_calloc((size_t)NB, 1, "kv check"), *slot_free = fc_calloc((size_t)pool->p.max_seqs, 1, "kv check");
    if (!count || !on_free || !slot_free) {
        free(count), free(on_free), free(slot_free);
        return FC_ENOMEM;
    }
    fc_err e = FC_OK;
    if (pool->n_free < 0 || pool->n_free > NB) BAD("kv check: %d free blocks of %d", pool->n_free, NB);
    for (int i = 0; i < pool->n_free; i++) {
        int32_t b = pool->free_list[i];
        if (b < 0 || b >= NB) BAD("kv check: free list entry %d is block %d", i, b);
        if (on_free[b]) BAD("kv check: block %d is on the free list twice", b);
        if (pool->ref[b] != 0) BAD("kv check: free block %d has %d holders", b, pool->ref[b]);
        on_free[b] = 1;
    }
    for (int i = 0; i < pool->n_free_slots; i++) {
        int32_t s = pool->free_slots[i];
        if (s < 0 || s >= pool->p.max_seqs || slot_free[s] || pool->seqs[s].state != FC_KV_SLOT_FREE)
            BAD("kv check: free slot list entry %d (slot %d) is wrong", i, s);
        slot_free[s] = 1;
    }
    int live = 0, swapped = 0;
    size_t host = 0;
    for (int s = 0; s < pool->p.max_seqs; s++) {
        const fc_kv_seq *q = &pool->seqs[s];
        if (q->state == FC_KV_SLOT_FREE && !slot_free[s]) BAD("kv check: free slot %d is not on the free slot list", s);
        live += q->state == FC_KV_SLOT_LIVE;
        swapped += q->state == FC_KV_SLOT_SWAPPED;
        if (q->state == FC_KV_SLOT_SWAPPED) host += q->host_bytes;
        for (int l = 0; l < L; l++) {
            const fc_kv_table *t = &q->layers[l];
            int64_t need = fc_kv_blocks_for(pool, t->len);
            if (q->state != FC_KV_SLOT_LIVE && t->n_blocks != 0)
                BAD("kv check: slot %d (not in the pool) holds %d blocks in layer %d", s, t->n_blocks, l);
            if (q->state == FC_KV_SLOT_FREE && t->len != 0) BAD("kv check: free slot %d has length %d", s, t->len);
            if (q->state == FC_KV_SLOT_LIVE && (t->len < 0 || t->n_blocks < need || t->n_blocks > t->cap_blocks))
                BAD("kv check: slot %d layer %d: length %d in %d blocks (cap %d)", s, l, t->len, t->n_blocks,
                    t->cap_blocks);
            for (int b = 0; b < t->n_blocks; b++) {
                int32_t id = t->blocks[b];
                if (id < 0 || id >= NB) BAD("kv check: slot %d layer %d names block %d", s, l, id);
                if (on_free[id]) BAD("kv check: block %d is free and held by slot %d layer %d", id, s, l);
                count[id]++;
                /* a block past the entries (reserved) or the one being filled ahead belongs to this sequence
                 * alone: appends write there without a copy */
                if (b >= need && pool->ref[id] != 1)
                    BAD("kv check: reserved block %d of slot %d layer %d has %d holders", id, s, l, pool->ref[id]);
            }
        }
    }
    int shared = 0, held = 0;
    for (int b = 0; b < NB; b++) {
        if (count[b] != pool->ref[b])
            BAD("kv check: block %d has ref %d but %d table entries name it", b, pool->ref[b], count[b]);
        shared += count[b] > 1;
        held += count[b] > 0;
    }
    if (held + pool->n_free != NB) BAD("kv check: %d held + %d free blocks != %d (a block is lost)", held, pool->n_free, NB);
    if (shared != pool->n_shared) BAD("kv check: %d shared blocks counted, %d recorded", shared, pool->n_shared);
    if (live != pool->n_live || swapped != pool->n_swapped || host != pool->bytes_swapped ||
        live + swapped + pool->n_free_slots != pool->p.max_seqs)
        BAD("kv check: %d live / %d swapped / %zu host bytes counted, %d / %d / %zu recorded, %d free slots", live,
            swapped, host, pool->n_live, pool->n_swapped, pool->bytes_swapped, pool->n_free_slots);
    if (pool->blocks_peak < NB - pool->n_free) BAD("kv check: peak %d below use %d", pool->blocks_peak, NB - pool->n_free);
done:
    free(count), free(on_free), free(slot_free);
    return e;
}
