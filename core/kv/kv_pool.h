/* kv_pool.h: the paged KV cache shared by every sequence of a run.
 *
 * Storage is fixed-size blocks of `block_size` token slots. For every layer the pool holds K and V as
 * [n_blocks, block_size, Hkv, D] (one block id addresses the same slots in every layer, so a sequence has
 * one block table for all layers). A sequence owns an ordered list of blocks (its block table); its entry i
 * lives in block table[i / block_size], slot i % block_size.
 *
 * A sequence has two counters kept apart on purpose (DESIGN §2, §3):
 *   len       physical entries in the cache (what attention reads);
 *   next_pos  the logical RoPE position of its next token.
 * Appending n tokens advances both by n. Compression rewrites a shorter cache and truncates `len` while
 * `next_pos` stays put, so new tokens keep the positions they would have had without compression; a
 * method trained otherwise sets next_pos explicitly.
 *
 * Blocks return to the free list as soon as a sequence shrinks or ends. The pool never grows: when it is
 * full, a reservation fails with FC_ENOMEM and changes nothing. Storage dtype is a pool parameter (the
 * CUDA path will keep 16-bit caches); the CPU attention kernel reads f32 pools, and the gather/write calls
 * convert.
 *
 * Not thread-safe: one thread changes block tables; kernels may read the storage concurrently.
 */
#ifndef FC_KV_POOL_H
#define FC_KV_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

typedef struct {
    int n_layers;    /* L */
    int n_kv_heads;  /* Hkv */
    int head_dim;    /* D */
    int block_size;  /* token slots per block (16 is a good default) */
    int n_blocks;    /* capacity of the pool in blocks */
    int max_seqs;    /* how many sequences may exist at once */
    fc_dtype dtype;  /* storage: FC_DTYPE_F32 (CPU) or f16/bf16 */
    fc_device device;
} fc_kv_pool_params;

typedef struct {
    int blocks_total, blocks_used, blocks_peak;
    size_t bytes_per_block;   /* all layers, K and V */
    size_t bytes_capacity, bytes_used, bytes_peak;
    int n_seqs;               /* live sequences */
    int64_t entries;          /* sum of live sequences' len */
} fc_kv_stats;

typedef struct {
    bool live;
    int len;          /* physical entries */
    int next_pos;     /* logical position of the next token */
    int32_t *blocks;  /* [cap_blocks]; the first n_blocks are the block table */
    int n_blocks, cap_blocks;
} fc_kv_seq;

typedef struct {
    fc_kv_pool_params p;
    size_t row_elems;       /* Hkv * D: one token's K (or V) in one layer */
    size_t layer_bytes;     /* bytes of K (or V) storage per layer */
    void **k, **v;          /* [L] each -> [n_blocks, block_size, Hkv, D] */
    int32_t *free_list;     /* [n_blocks] stack of free block ids */
    int n_free;
    fc_kv_seq *seqs;        /* [max_seqs] */
    int n_live;
    int blocks_peak;
} fc_kv_pool;

/* Creates a pool with all storage allocated up front (zeroed). Errors: FC_EINVAL on non-positive sizes,
 * FC_ENOMEM naming the bytes asked for, FC_EUNSUPPORTED for a device this build cannot use. On failure
 * *out is NULL. Free with fc_kv_pool_free (accepts NULL). */
fc_err fc_kv_pool_create(fc_kv_pool **out, const fc_kv_pool_params *p);
void fc_kv_pool_free(fc_kv_pool *pool);

/* Blocks needed to hold `len` entries. */
int fc_kv_blocks_for(const fc_kv_pool *pool, int len);

/* Opens an empty sequence (len 0, next_pos 0) and returns its id in *seq. FC_ENOMEM when max_seqs are live. */
fc_err fc_kv_seq_create(fc_kv_pool *pool, int *seq);
/* Returns all of the sequence's blocks to the pool and forgets it; ignores ids that are not live. */
void fc_kv_seq_free(fc_kv_pool *pool, int seq);
bool fc_kv_seq_live(const fc_kv_pool *pool, int seq);
int fc_kv_seq_len(const fc_kv_pool *pool, int seq);
int fc_kv_seq_next_pos(const fc_kv_pool *pool, int seq);
/* The block table (n = fc_kv_blocks_for(len) in use, more if reserved); owned by the pool, valid until the
 * sequence's blocks change. */
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, int seq);

/* Makes room for `n` more entries (len + n slots), taking blocks from the free list. On FC_ENOMEM ("pool
 * full: need B more blocks, F free") nothing changed. Does not change len. */
fc_err fc_kv_seq_reserve(fc_kv_pool *pool, int seq, int n);
/* Records that entries [len, len+n) have been written (by the model, through fc_kv_slot_k/v): len += n and
 * next_pos += n. The slots must have been reserved (FC_EINVAL otherwise, nothing changed). */
fc_err fc_kv_seq_commit(fc_kv_pool *pool, int seq, int n);
/* Sets the logical position of the sequence's next token (>= 0). */
fc_err fc_kv_seq_set_next_pos(fc_kv_pool *pool, int seq, int pos);

/* Pointer to entry i's K (or V) row [Hkv, D] in `layer`, in the pool's dtype. i must be inside reserved
 * blocks (an invariant, asserted). */
void *fc_kv_slot_k(const fc_kv_pool *pool, int seq, int layer, int i);
void *fc_kv_slot_v(const fc_kv_pool *pool, int seq, int layer, int i);
/* Whole-layer storage as a 4-D view [n_blocks, block_size, Hkv, D] (for the paged attention op). */
fc_tensor fc_kv_layer_k(const fc_kv_pool *pool, int layer);
fc_tensor fc_kv_layer_v(const fc_kv_pool *pool, int layer);

/* For compressors: copies the sequence's `len` entries of one layer out as contiguous f32
 * k, v [Hkv, len, D] (caller-owned, len * Hkv * D floats each; either may be NULL to skip it). */
fc_err fc_kv_gather_layer(const fc_kv_pool *pool, int seq, int layer, float *k, float *v);
/* Writes k, v [Hkv, S, D] f32 into entries [0, S) of one layer (converting to the pool dtype). S may be
 * at most the reserved capacity; it does not change len (call fc_kv_truncate once every layer is written). */
fc_err fc_kv_write_layer(fc_kv_pool *pool, int seq, int layer, const float *k, const float *v, int S);
/* Shrinks the sequence to its first S entries (S <= len), returning surplus blocks (and any reservation
 * beyond them) to the pool at once. next_pos is unchanged: call fc_kv_seq_set_next_pos to change it. */
fc_err fc_kv_truncate(fc_kv_pool *pool, int seq, int S);

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st);

#endif
