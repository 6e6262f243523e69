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
 * HANDLES. A sequence is named by an fc_kv_handle {slot, gen}: the slot it occupies and the generation of
 * that slot when it was opened. Slots are reused at once, generations never (within 2^32 reuses of one
 * slot), so a handle kept after its sequence was freed is STALE: every call given a stale handle fails
 * with FC_EINVAL ("handle 3#7 is stale") or, for the queries that cannot fail, answers as for a sequence
 * that does not exist (len 0, NULL tables), and never touches the sequence that reuses the slot (a cancel
 * racing a finish frees nothing twice). FC_KV_NONE (all zero) is never issued; fc_kv_seq_free accepts it
 * as free(NULL) does. Handles are small values: copy them, compare them with fc_kv_handle_eq.
 *
 * SHARED BLOCKS. Blocks are reference-counted. fc_kv_seq_fork opens a sequence that shares every block of
 * its parent's entries (a prompt prefix for parallel sampling or a prefix cache); nothing is copied until
 * one of them writes into a shared block: fc_kv_seq_reserve (and fc_kv_write_layer, fc_kv_seq_replace)
 * first give the writer its own copy of any shared block in the range it will write (copy on write), so
 * the other holders never see a change. A block returns to the free list when its last holder lets it go.
 * Accounting counts physical blocks once, however many sequences hold them.
 *
 * THREADS. The pool is owned by one thread: the one that created it, or the last to call
 * fc_kv_pool_claim. Every call that changes the pool (create/free/fork of sequences, reserve, commit,
 * set_next_pos, write, truncate, replace, swap, mark/rollback) checks that it runs on the owner thread and
 * otherwise fails with FC_EINVAL and changes nothing, so two threads can never corrupt the free list.
 * Queries (lengths, tables, stats) must come from the owner too (they read what mutating calls write);
 * the only concurrent access allowed is the decoder's kernels reading block storage inside a call made by
 * the owner. fc_llm_forward and fc_compress_sequence mutate the pool, so they too run on the owner thread:
 * a serving loop runs its prefill, compression and decode steps from one scheduler thread (the kernels
 * inside parallelise). Hand a pool to another thread with fc_kv_pool_claim from that thread, after the
 * first has stopped using it (the hand-over itself must be ordered by the caller, e.g. a thread join).
 *
 * A SCHEDULER'S VIEW (everything it needs without touching the struct's fields):
 *   admission   fc_kv_free_layer_blocks (O(1)), fc_kv_blocks_for_new (O(1): a new request of n tokens),
 *               fc_kv_seq_blocks_needed (O(L): a planned append of n tokens to a live sequence, copies on
 *               write included); compare with what is free before calling reserve or forward;
 *   reserve     fc_kv_seq_reserve ahead of time keeps the blocks for the sequence; a later forward of up to
 *               that many tokens takes no more, and a failed forward gives back only what it took;
 *   lifetime    fc_kv_seq_create / fc_kv_seq_fork / fc_kv_seq_free with handles (stale = error);
 *   preemption  fc_kv_seq_swap_out copies a sequence (per-layer lengths, next_pos) to host memory and frees
 *               its blocks; fc_kv_seq_swap_in brings it back under the same handle (FC_ENOMEM, nothing
 *               changed, when the blocks are not free yet);
 *   steps       fc_llm_forward_each (llm.h) runs a batch and refuses, alone and untouched, the inputs that
 *               lack blocks (FC_ENOMEM) or are bad (FC_EINVAL), so the step defers them;
 *   compression fc_compress_sequence (compress_seq.h) is all or nothing, via fc_kv_seq_replace;
 *   checks      fc_kv_pool_check verifies that no block is lost or owned twice (tests, debug builds).
 */
#ifndef FC_KV_POOL_H
#define FC_KV_POOL_H

#include <pthread.h>
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
    int max_seqs;    /* how many sequences may exist at once (swapped-out ones included) */
    fc_dtype dtype;  /* storage: FC_DTYPE_F32 (CPU) or f16/bf16 */
    fc_device device;
} fc_kv_pool_params;

/* A sequence's name: see HANDLES above. gen 0 is never issued (FC_KV_NONE). */
typedef struct {
    uint32_t slot;
    uint32_t gen;
} fc_kv_handle;

#define FC_KV_NONE ((fc_kv_handle){0, 0})
static inline bool fc_kv_handle_is_none(fc_kv_handle h) { return h.gen == 0; }
static inline bool fc_kv_handle_eq(fc_kv_handle a, fc_kv_handle b) { return a.slot == b.slot && a.gen == b.gen; }

typedef struct {
    /* in blocks of all layers (layer blocks / L, rounded up): the unit of fc_kv_pool_params.n_blocks */
    int blocks_total, blocks_used, blocks_peak;
    size_t bytes_per_block;   /* all layers, K and V: L * bytes_per_layer_block */
    /* exact: layer blocks in use x bytes_per_layer_block (a shared block counts once) */
    size_t bytes_capacity, bytes_used, bytes_peak;
    int layer_blocks_total, layer_blocks_used, layer_blocks_peak;
    int layer_blocks_shared;  /* blocks held by more than one sequence */
    size_t bytes_per_layer_block; /* K and V of one layer block */
    int n_seqs;               /* live sequences (in the pool, not swapped out) */
    int n_swapped;            /* sequences swapped out to host memory */
    size_t bytes_swapped;     /* host bytes their copies hold */
    int64_t entries;          /* sum of live sequences' len (largest layer) */
    int64_t layer_entries;    /* sum over live sequences and layers of each layer's len */
} fc_kv_stats;

/* Internals below: read-only for callers, who should use the functions (the scheduler never needs them). */

/* One layer's share of a sequence. */
typedef struct {
    int len;          /* physical entries of this layer */
    int32_t *blocks;  /* [cap_blocks]; the first n_blocks are the block table */
    int n_blocks, cap_blocks;
} fc_kv_table;

typedef enum { FC_KV_SLOT_FREE = 0, FC_KV_SLOT_LIVE, FC_KV_SLOT_SWAPPED } fc_kv_slot_state;

typedef struct {
    fc_kv_slot_state state;
    uint32_t gen;        /* generation of the sequence in this slot (of the last one, when free) */
    int next_pos;        /* logical position of the next token */
    fc_kv_table *layers; /* [L] */
    void *host;          /* swapped out: K then V rows of every layer, [sum_l len_l, Hkv, D] each, pool dtype */
    size_t host_bytes;
} fc_kv_seq;

typedef struct {
    fc_kv_pool_params p;
    int n_lblocks;          /* layer blocks: p.n_blocks * L */
    size_t row_elems;       /* Hkv * D: one token's K (or V) in one layer */
    size_t block_bytes;     /* bytes of K (or V) of one layer block */
    void *k, *v;            /* [n_lblocks, block_size, Hkv, D] each */
    int32_t *free_list;     /* [n_lblocks] stack of free layer block ids */
    int n_free;
    int32_t *ref;           /* [n_lblocks] holders of each block; 0 exactly when it is on the free list */
    uint32_t *block_gen;    /* [n_lblocks] times each block was taken from the free list (a mark's tail check) */
    int n_shared;           /* blocks with ref > 1 */
    fc_kv_seq *seqs;        /* [max_seqs] */
    int32_t *free_slots;    /* [max_seqs] stack of free slots (O(1) create) */
    int n_free_slots;
    fc_kv_table *tables;    /* [max_seqs * L]: seqs[s].layers points at row s */
    int n_live, n_swapped;
    size_t bytes_swapped;
    int blocks_peak;        /* layer blocks */
    pthread_t owner;        /* the thread allowed to change the pool (THREADS above) */
} fc_kv_pool;

/* Creates a pool with all storage allocated up front (zeroed), owned by the calling thread. Errors:
 * FC_EINVAL on non-positive sizes, FC_ENOMEM naming the bytes asked for, FC_EUNSUPPORTED for a device this
 * build cannot use. On failure *out is NULL. Free with fc_kv_pool_free (accepts NULL; owner thread only,
 * like every mutation). */
fc_err fc_kv_pool_create(fc_kv_pool **out, const fc_kv_pool_params *p);
void fc_kv_pool_free(fc_kv_pool *pool);
/* Makes the calling thread the pool's owner (THREADS above). */
void fc_kv_pool_claim(fc_kv_pool *pool);
/* True when the calling thread owns the pool. */
bool fc_kv_pool_owned(const fc_kv_pool *pool);

/* The parameters the pool was created with (layers, heads, block size, ...), without reading its fields. */
const fc_kv_pool_params *fc_kv_pool_params_of(const fc_kv_pool *pool);

/* Blocks of one layer needed to hold `len` entries (0 for len <= 0); exact in 64 bits for any int64. */
int64_t fc_kv_blocks_for(const fc_kv_pool *pool, int64_t len);

/* ---- admission (no allocation, no scan of other sequences) ---- */

/* Free layer blocks now. O(1). */
int fc_kv_free_layer_blocks(const fc_kv_pool *pool);
/* Free sequence slots now (max_seqs minus live and swapped-out sequences). O(1). */
int fc_kv_free_seq_slots(const fc_kv_pool *pool);
/* Layer blocks a new sequence of n entries takes: L * ceil(n / block_size). O(1). */
int64_t fc_kv_blocks_for_new(const fc_kv_pool *pool, int64_t n);
/* Layer blocks fc_kv_seq_reserve(pool, h, n) would take from the free list now (blocks already reserved
 * count as held; copies of shared blocks it would write count as new). O(L). FC_EINVAL for a stale or
 * swapped-out handle or n < 0. */
fc_err fc_kv_seq_blocks_needed(const fc_kv_pool *pool, fc_kv_handle h, int64_t n, int64_t *layer_blocks);

/* ---- sequence lifetime ---- */

/* Opens an empty sequence (len 0, next_pos 0). FC_ENOMEM when max_seqs slots are taken. */
fc_err fc_kv_seq_create(fc_kv_pool *pool, fc_kv_handle *h);
/* Opens a sequence holding the same entries as `parent` (every layer's length, next_pos) by sharing its
 * blocks (SHARED BLOCKS above); the parent's reservations beyond its length stay the parent's. Takes no
 * block. FC_ENOMEM when no slot is free or the child's tables cannot be allocated; nothing changed. */
fc_err fc_kv_seq_fork(fc_kv_pool *pool, fc_kv_handle parent, fc_kv_handle *child);
/* Lets the sequence's blocks go (a shared block stays with its other holders) or drops its host copy
 * when swapped out, and retires the handle. FC_KV_NONE: nothing, FC_OK. A stale handle: FC_EINVAL and
 * nothing changed (the slot's new sequence is untouched). */
fc_err fc_kv_seq_free(fc_kv_pool *pool, fc_kv_handle h);
/* True for a handle of a sequence in the pool (not freed, not swapped out). */
bool fc_kv_seq_live(const fc_kv_pool *pool, fc_kv_handle h);
/* True for a handle of a swapped-out sequence. */
bool fc_kv_seq_swapped(const fc_kv_pool *pool, fc_kv_handle h);

/* ---- queries (answers for a stale handle: 0 / NULL) ---- */

/* The largest layer length (every layer's length unless layers were truncated apart); also for a
 * swapped-out sequence. */
int fc_kv_seq_len(const fc_kv_pool *pool, fc_kv_handle h);
/* Length of one layer (0 if the handle is stale or the layer out of range); also when swapped out. */
int fc_kv_seq_layer_len(const fc_kv_pool *pool, fc_kv_handle h, int layer);
int fc_kv_seq_next_pos(const fc_kv_pool *pool, fc_kv_handle h);
/* Layer 0's block table (n = fc_kv_blocks_for(len) in use, more if reserved); owned by the pool, valid
 * until the sequence's blocks change. Block ids index the storage of fc_kv_layer_k/v. NULL unless live. */
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, fc_kv_handle h);
/* The block table of one layer (NULL if not live or out of range); same lifetime. */
const int32_t *fc_kv_seq_layer_blocks(const fc_kv_pool *pool, fc_kv_handle h, int layer);
/* Exact KV bytes the sequence holds in the pool: its layer blocks (reserved and shared ones included)
 * x bytes of one. 0 when swapped out. */
size_t fc_kv_seq_bytes(const fc_kv_pool *pool, fc_kv_handle h);

/* ---- appending ---- */

/* Makes room for `n` more entries in every layer (len_l + n slots each), taking blocks from the free list,
 * and gives the sequence its own copy of any shared block in [len_l, len_l + n) (copy on write). Blocks
 * already reserved are kept and reused. On FC_ENOMEM ("pool full: need B more blocks, F free") or FC_EINVAL
 * (stale handle, n < 0, a length past INT32_MAX) nothing changed. Does not change len. */
fc_err fc_kv_seq_reserve(fc_kv_pool *pool, fc_kv_handle h, int n);
/* Records that entries [len_l, len_l+n) of every layer l have been written (by the model, through
 * fc_kv_slot_k/v): each len_l += n and next_pos += n. The slots must have been reserved (FC_EINVAL
 * otherwise, or when a length or next_pos would pass INT32_MAX; nothing changed). */
fc_err fc_kv_seq_commit(fc_kv_pool *pool, fc_kv_handle h, int n);
/* Sets the logical position of the sequence's next token (>= 0). */
fc_err fc_kv_seq_set_next_pos(fc_kv_pool *pool, fc_kv_handle h, int pos);

/* Undo of a call that reserves and may fail (fc_llm_forward): fc_kv_seq_mark records a live sequence's
 * block tables' extent and tail block in m[L]; fc_kv_seq_rollback then gives back exactly the blocks
 * reserved since (and undoes copies on write of the tail block), keeping what was reserved before the
 * mark. Valid while the sequence's lengths are those of the mark; FC_EINVAL (nothing changed) when they
 * are not, or when the tail block it would take back was freed since the mark (even if another sequence
 * took it again: the block's generation tells). */
typedef struct {
    int32_t n_blocks;   /* blocks held at the mark */
    int32_t tail;       /* id of the partly filled block at the mark's length, -1 if none */
    int32_t len;
    uint32_t tail_gen;  /* the tail block's generation at the mark */
} fc_kv_layer_mark;
fc_err fc_kv_seq_mark(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_layer_mark *m);
fc_err fc_kv_seq_rollback(fc_kv_pool *pool, fc_kv_handle h, const fc_kv_layer_mark *m);

/* Pointer to entry i's K (or V) row [Hkv, D] in `layer`, in the pool's dtype. i must be inside that
 * layer's reserved blocks and the handle live (an invariant, asserted). Write only into slots at or past
 * the layer's length that fc_kv_seq_reserve made room for, with no fork of the sequence in between (a
 * fork shares the partly filled tail block again; reserve once more before writing, as fc_llm_forward
 * does in every call): such slots are never shared. */
void *fc_kv_slot_k(const fc_kv_pool *pool, fc_kv_handle h, int layer, int i);
void *fc_kv_slot_v(const fc_kv_pool *pool, fc_kv_handle h, int layer, int i);
/* The storage as a 4-D view [n_blocks * L, block_size, Hkv, D] (for the paged attention op, with the
 * layer's block tables). All layers share it; `layer` is only range-checked by the caller's use. */
fc_tensor fc_kv_layer_k(const fc_kv_pool *pool, int layer);
fc_tensor fc_kv_layer_v(const fc_kv_pool *pool, int layer);

/* ---- compression ---- */

/* For compressors: copies the len_l entries of one layer out as contiguous f32 k, v [Hkv, len_l, D]
 * (caller-owned, at least len_l * Hkv * D floats each; either may be NULL to skip it). */
fc_err fc_kv_gather_layer(const fc_kv_pool *pool, fc_kv_handle h, int layer, float *k, float *v);
/* Writes k, v [Hkv, S, D] f32 into entries [0, S) of one layer (converting to the pool dtype), copying
 * shared blocks in that range first (FC_ENOMEM when no block is free for a copy; nothing changed). S may
 * be at most the layer's reserved capacity; it does not change len (call fc_kv_truncate once every layer
 * is written, or fc_kv_truncate_layer per layer). */
fc_err fc_kv_write_layer(fc_kv_pool *pool, fc_kv_handle h, int layer, const float *k, const float *v, int S);
/* All or nothing: replaces every layer l's entries by k[l], v[l] [Hkv, lens[l], D] f32, lens[l] <= len_l,
 * freeing each layer's surplus blocks; next_pos unchanged. The blocks it needs (copies of shared blocks it
 * overwrites) are counted first: FC_ENOMEM or FC_EINVAL leave the sequence exactly as it was. */
fc_err fc_kv_seq_replace(fc_kv_pool *pool, fc_kv_handle h, const int *lens, const float *const *k,
                         const float *const *v);
/* Shrinks the sequence to its first S entries (S <= fc_kv_seq_len): each layer to min(len_l, S),
 * returning surplus blocks (and any reservation beyond them) to the pool at once. next_pos is unchanged:
 * call fc_kv_seq_set_next_pos to change it. fc_kv_truncate(pool, h, fc_kv_seq_len(pool, h)) drops
 * reservations only. */
fc_err fc_kv_truncate(fc_kv_pool *pool, fc_kv_handle h, int S);
/* The same for one layer: len_l = S (S <= len_l), surplus blocks of that layer freed at once. */
fc_err fc_kv_truncate_layer(fc_kv_pool *pool, fc_kv_handle h, int layer, int S);

/* ---- preemption ---- */

/* Copies the sequence's entries (each layer at its own length, in the pool's dtype, bit for bit) to host
 * memory owned by the pool, then lets its blocks go (reservations too). The handle stays valid: the
 * sequence is swapped out (fc_kv_seq_live false, lengths and next_pos still answer) until
 * fc_kv_seq_swap_in or fc_kv_seq_free. FC_ENOMEM (host memory) or FC_EINVAL: nothing changed. */
fc_err fc_kv_seq_swap_out(fc_kv_pool *pool, fc_kv_handle h);
/* Brings a swapped-out sequence back into fresh blocks (same lengths, next_pos and contents) and frees
 * the host copy. FC_ENOMEM when the pool lacks the blocks: nothing changed, it stays swapped out. */
fc_err fc_kv_seq_swap_in(fc_kv_pool *pool, fc_kv_handle h);

/* ---- accounting and checks ---- */

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st);
/* Verifies the block bookkeeping from scratch: every block is either free (on the free list once, ref 0)
 * or held, and its ref equals the number of table entries naming it; tables hold at least the blocks
 * their lengths need; counters agree. FC_OK, or FC_EINVAL naming the first inconsistency. O(pool). */
fc_err fc_kv_pool_check(const fc_kv_pool *pool);

#endif
