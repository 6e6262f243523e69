/* kv_internal.h: what the pool's files share (kv_pool.c, kv_pool_layer.c, kv_pool_swap.c, kv_pool_check.c): handle and
 * owner checks, block reference counting, storage copies. Not for callers of the pool. */
#ifndef FC_KV_INTERNAL_H
#define FC_KV_INTERNAL_H

#include "core/kv/kv_pool.h"

/* The sequence a handle names when it is in `state`, else NULL (stale, out of range, other state). */
fc_kv_seq *fc_kv__get(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_slot_state state);
/* Owner check then state check, with a message naming `what` and why the handle is refused. */
fc_err fc_kv__check(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_slot_state state, fc_kv_seq **out,
                    const char *what);
fc_err fc_kv__own(const fc_kv_pool *pool, const char *what);

/* Block reference counts (the free list holds exactly the blocks with ref 0). */
int32_t fc_kv__take(fc_kv_pool *pool); /* caller checked n_free > 0; ref becomes 1 */
void fc_kv__hold(fc_kv_pool *pool, int32_t b);
void fc_kv__drop(fc_kv_pool *pool, int32_t b);
void fc_kv__note_peak(fc_kv_pool *pool);
/* Grows a table's array to hold `need` block ids (never shrinks). FC_ENOMEM leaves it as it was. */
fc_err fc_kv__table_cap(fc_kv_table *t, int64_t need);
/* Drops blocks [keep, n_blocks) of a table. */
void fc_kv__table_release_from(fc_kv_pool *pool, fc_kv_table *t, int keep);

/* Gives table t its own copy of its block at index i (ref > 1 there); copy = false when the caller will
 * overwrite every slot it reads. The caller checked that a block is free. */
fc_err fc_kv__cow(fc_kv_pool *pool, fc_kv_table *t, int i, bool copy);
/* Address of entry i's row of `layer` in the K or V storage; asserts a live handle and a reserved slot. */
void *fc_kv__slot(const fc_kv_pool *pool, void *store, fc_kv_handle h, int layer, int i);

/* Copies `rows` token rows (K or V, pool dtype) between storage and host or storage and storage. */
fc_err fc_kv__copy(const fc_kv_pool *pool, void *dst, bool dst_store, const void *src, bool src_store, size_t bytes);
/* Byte address of row `slot_row` (block * block_size + slot) in the K or V storage. */
static inline char *fc_kv__row(const fc_kv_pool *pool, void *store, size_t block, size_t slot) {
    return (char *)store + (block * (size_t)pool->p.block_size + slot) * pool->row_elems * fc_dtype_size(pool->p.dtype);
}

#endif
