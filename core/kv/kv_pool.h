/* kv_pool.h: the paged KV cache shared by every sequence of a run.
 *
 * Storage is fixed-size blocks of `block_size` token slots of ONE layer: a block holds K and V
 * [block_size, Hkv, D] of one layer. The pool keeps all blocks in one K and one V array
 * [n_blocks * L, block_size, Hkv, D] with one free list, and every layer of a sequence has its own block
 * table and its own length, so a method that keeps a different number of entries per layer (PyramidKV)
 * frees exactly the blocks it no longer needs, without padding (DESIGN §3). Entry i of layer l of a
 * sequence lives in block table_l[i / block_size], slot i % block_size.
 *
 * Capacity: fc_kv_pool_params.n_blocks counts blocks of all layers at once (n_blocks * block_size tokens
 * of every layer), so callers size pools in tokens as before; internally that is n_blocks * L layer blocks.
 * A sequence whose layers all have the same length behaves exactly as with one shared table.
 *
 * A sequence has two counters kept apart on purpose (DESIGN §2, §3):
 *   len       physical entries in the cache (what attention reads), per layer; fc_kv_seq_len is the
 *             largest of them (equal to every layer's unless a layer was truncated on its own);
 *   next_pos  the logical RoPE position of its next token (one per sequence).
 * Appending n tokens advances every layer's len and next_pos by n (each layer at its own length).
 * Compression rewrites a shorter cache and truncates `len` while `next_pos` stays put, so new tokens keep
 * the positions they would have had without compression; a method trained otherwise sets next_pos.
 *
 * Blocks return to the free list as soon as a sequence (or one of its layers) shrinks or ends. The pool
 * never grows: when it is full, a reservation fails with FC_ENOMEM and changes nothing. Accounting is in
 * layer blocks: bytes in use = layer blocks in use x bytes of one layer block (K and V). Storage dtype is
 * a pool parameter (the CUDA path will keep 16-bit caches); the CPU attention kernel reads f32 pools, and
 * the gather/write calls convert.
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
    int n_blocks;    /* capacity in blocks of all L layers (n_blocks * L layer blocks) */
    int max_seqs;    /* how many sequences may exist at once */
    fc_dtype dtype;  /* storage: FC_DTYPE_F32 (CPU) or f16/bf16 */
    fc_device device;
} fc_kv_pool_params;

typedef struct {
    /* in blocks of all layers (layer blocks / L, rounded up): the unit of fc_kv_pool_params.n_blocks */
    int blocks_total, blocks_used, blocks_peak;
    size_t bytes_per_block;   /* all layers, K and V: L * bytes_per_layer_block */
    /* exact: layer blocks in use x bytes_per_layer_block */
    size_t bytes_capacity, bytes_used, bytes_peak;
    int layer_blocks_total, layer_blocks_used, layer_blocks_peak;
    size_t bytes_per_layer_block; /* K and V of one layer block */
    int n_seqs;               /* live sequences */
    int64_t entries;          /* sum of live sequences' len (largest layer) */
    int64_t layer_entries;    /* sum over live sequences and layers of each layer's len */
} fc_kv_stats;

/* One layer's share of a sequence. */
typedef struct {
    int len;          /* physical entries of this layer */
    int32_t *blocks;  /* [cap_blocks]; the first n_blocks are the block table */
    int n_blocks, cap_blocks;
} fc_kv_table;

typedef struct {
    bool live;
    int next_pos;        /* logical position of the next token */
    fc_kv_table *layers; /* [L] */
} fc_kv_seq;

typedef struct {
    fc_kv_pool_params p;
    int n_lblocks;          /* layer blocks: p.n_blocks * L */
    size_t row_elems;       /* Hkv * D: one token's K (or V) in one layer */
    size_t block_bytes;     /* bytes of K (or V) of one layer block */
    void *k, *v;            /* [n_lblocks, block_size, Hkv, D] each */
    int32_t *free_list;     /* [n_lblocks] stack of free layer block ids */
    int n_free;
    fc_kv_seq *seqs;        /* [max_seqs] */
    fc_kv_table *tables;    /* [max_seqs * L]: seqs[s].layers points at row s */
    int n_live;
    int blocks_peak;        /* layer blocks */
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
/* The largest layer length (every layer's length unless layers were truncated apart); 0 if not live. */
int fc_kv_seq_len(const fc_kv_pool *pool, int seq);
/* Length of one layer (0 if the sequence is not live or the layer is out of range). */
int fc_kv_seq_layer_len(const fc_kv_pool *pool, int seq, int layer);
int fc_kv_seq_next_pos(const fc_kv_pool *pool, int seq);
/* Layer 0's block table (n = fc_kv_blocks_for(len) in use, more if reserved); owned by the pool, valid
 * until the sequence's blocks change. Block ids index the storage of fc_kv_layer_k/v. */
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, int seq);
/* The block table of one layer (NULL if not live or out of range); same lifetime. */
const int32_t *fc_kv_seq_layer_blocks(const fc_kv_pool *pool, int seq, int layer);
/* Exact KV bytes the sequence holds: its layer blocks (reserved ones included) x bytes of one. */
size_t fc_kv_seq_bytes(const fc_kv_pool *pool, int seq);

/* Makes room for `n` more entries in every layer (len_l + n slots each), taking blocks from the free list.
 * On FC_ENOMEM ("pool full: need B more blocks, F free") nothing changed. Does not change len. */
fc_err fc_kv_seq_reserve(fc_kv_pool *pool, int seq, int n);
/* Records that entries [len_l, len_l+n) of every layer l have been written (by the model, through
 * fc_kv_slot_k/v): each len_l += n and next_pos += n. The slots must have been reserved (FC_EINVAL
 * otherwise, nothing changed). */
fc_err fc_kv_seq_commit(fc_kv_pool *pool, int seq, int n);
/* Sets the logical position of the sequence's next token (>= 0). */
fc_err fc_kv_seq_set_next_pos(fc_kv_pool *pool, int seq, int pos);

/* Pointer to entry i's K (or V) row [Hkv, D] in `layer`, in the pool's dtype. i must be inside that
 * layer's reserved blocks (an invariant, asserted). */
void *fc_kv_slot_k(const fc_kv_pool *pool, int seq, int layer, int i);
void *fc_kv_slot_v(const fc_kv_pool *pool, int seq, int layer, int i);
/* The storage as a 4-D view [n_blocks * L, block_size, Hkv, D] (for the paged attention op, with the
 * layer's block tables). All layers share it; `layer` is only range-checked by the caller's use. */
fc_tensor fc_kv_layer_k(const fc_kv_pool *pool, int layer);
fc_tensor fc_kv_layer_v(const fc_kv_pool *pool, int layer);

/* For compressors: copies the len_l entries of one layer out as contiguous f32 k, v [Hkv, len_l, D]
 * (caller-owned, at least len_l * Hkv * D floats each; either may be NULL to skip it). */
fc_err fc_kv_gather_layer(const fc_kv_pool *pool, int seq, int layer, float *k, float *v);
/* Writes k, v [Hkv, S, D] f32 into entries [0, S) of one layer (converting to the pool dtype). S may be
 * at most the layer's reserved capacity; it does not change len (call fc_kv_truncate once every layer is
 * written, or fc_kv_truncate_layer per layer). */
fc_err fc_kv_write_layer(fc_kv_pool *pool, int seq, int layer, const float *k, const float *v, int S);
/* Shrinks the sequence to its first S entries (S <= fc_kv_seq_len): each layer to min(len_l, S),
 * returning surplus blocks (and any reservation beyond them) to the pool at once. next_pos is unchanged:
 * call fc_kv_seq_set_next_pos to change it. fc_kv_truncate(pool, seq, fc_kv_seq_len(pool, seq)) drops
 * reservations only. */
fc_err fc_kv_truncate(fc_kv_pool *pool, int seq, int S);
/* The same for one layer: len_l = S (S <= len_l), surplus blocks of that layer freed at once. */
fc_err fc_kv_truncate_layer(fc_kv_pool *pool, int seq, int layer, int S);

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st);

#endif
