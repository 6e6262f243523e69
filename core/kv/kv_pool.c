/* kv_pool.c: the paged KV pool (see kv_pool.h): layer-block storage, one free list of reference-counted
 * blocks, a block table and a length per layer of each sequence, generation-tagged handles, exact
 * accounting. Compression's layer calls are in kv_pool_layer.c, swapping in kv_pool_swap.c, the
 * consistency check and stats in kv_pool_check.c.
 *
 * Lengths and block counts are int (the API's unit) but every sum or rounding is done in int64 first and
 * checked, so no request, however large, wraps around a check (issue 10, defect 2). */
#include "core/kv/kv_pool.h"

#include <string.h>

#include "core/base/mem.h"
#include "core/kv/kv_internal.h"
#include "kernels/backend.h"

/* ---- handles, owner ---- */

fc_kv_seq *fc_kv__get(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_slot_state state) {
    if (!pool || h.gen == 0 || h.slot >= (uint32_t)pool->p.max_seqs) return NULL;
    fc_kv_seq *s = &pool->seqs[h.slot];
    return s->state == state && s->gen == h.gen ? s : NULL;
}

fc_err fc_kv__own(const fc_kv_pool *pool, const char *what) {
    if (!pthread_equal(pthread_self(), pool->owner))
        return fc_err_set(FC_EINVAL, "kv pool: %s: called from a thread that does not own the pool (one thread "
                          "changes a pool; see fc_kv_pool_claim)", what);
    return FC_OK;
}

fc_err fc_kv__check(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_slot_state state, fc_kv_seq **out,
                    const char *what) {
    FC_TRY(fc_kv__own(pool, what));
    fc_kv_seq *s = fc_kv__get(pool, h, state);
    if (s) {
        *out = s;
        return FC_OK;
    }
    if (h.gen == 0) return fc_err_set(FC_EINVAL, "kv pool: %s: no sequence (FC_KV_NONE)", what);
    if (h.slot >= (uint32_t)pool->p.max_seqs)
        return fc_err_set(FC_EINVAL, "kv pool: %s: handle %u#%u names no slot (%d slots)", what, h.slot, h.gen,
                          pool->p.max_seqs);
    const fc_kv_seq *q = &pool->seqs[h.slot];
    if (q->gen != h.gen || q->state == FC_KV_SLOT_FREE)
        return fc_err_set(FC_EINVAL, "kv pool: %s: handle %u#%u is stale (its sequence was freed)", what, h.slot,
                          h.gen);
    return fc_err_set(FC_EINVAL, "kv pool: %s: sequence %u#%u is %s", what, h.slot, h.gen,
                      q->state == FC_KV_SLOT_SWAPPED ? "swapped out (swap it in first)" : "in the pool, not swapped out");
}

const fc_kv_pool_params *fc_kv_pool_params_of(const fc_kv_pool *pool) { return &pool->p; }

void fc_kv_pool_claim(fc_kv_pool *pool) { pool->owner = pthread_self(); }
bool fc_kv_pool_owned(const fc_kv_pool *pool) { return pthread_equal(pthread_self(), pool->owner); }

/* ---- blocks ---- */

int32_t fc_kv__take(fc_kv_pool *pool) {
    FC_ASSERT(pool->n_free > 0);
    int32_t b = pool->free_list[--pool->n_free];
    FC_ASSERT(pool->ref[b] == 0);
    pool->ref[b] = 1;
    pool->block_gen[b]++; /* a new life: a mark taken before it no longer names this block's contents */
    return b;
}

void fc_kv__hold(fc_kv_pool *pool, int32_t b) {
    FC_ASSERT(pool->ref[b] > 0 && pool->ref[b] < INT32_MAX);
    if (pool->ref[b]++ == 1) pool->n_shared++;
}

void fc_kv__drop(fc_kv_pool *pool, int32_t b) {
    FC_ASSERT(pool->ref[b] > 0);
    if (--pool->ref[b] == 1) pool->n_shared--;
    if (pool->ref[b] == 0) pool->free_list[pool->n_free++] = b;
}

void fc_kv__note_peak(fc_kv_pool *pool) {
    int used = pool->n_lblocks - pool->n_free;
    if (used > pool->blocks_peak) pool->blocks_peak = used;
}

fc_err fc_kv__table_cap(fc_kv_table *t, int64_t need) {
    if (need <= t->cap_blocks) return FC_OK;
    if (need > INT32_MAX) return fc_err_set(FC_ENOMEM, "kv pool: block table of %lld blocks", (long long)need);
    int64_t cap = t->cap_blocks ? t->cap_blocks : 8;
    while (cap < need) cap *= 2; /* int64: cannot wrap below 2^62 */
    if (cap > INT32_MAX) cap = need;
    int32_t *nb = fc_realloc(t->blocks, (size_t)cap * sizeof(int32_t), "kv block table");
    if (!nb) return FC_ENOMEM;
    t->blocks = nb;
    t->cap_blocks = (int)cap;
    return FC_OK;
}

void fc_kv__table_release_from(fc_kv_pool *pool, fc_kv_table *t, int keep) {
    for (int b = t->n_blocks - 1; b >= keep; b--) fc_kv__drop(pool, t->blocks[b]);
    if (keep < t->n_blocks) t->n_blocks = keep;
}

fc_err fc_kv__copy(const fc_kv_pool *pool, void *dst, bool dst_store, const void *src, bool src_store, size_t bytes) {
    bool dev = pool->p.device != FC_DEVICE_CPU;
    if (!dev || (!dst_store && !src_store)) {
        memcpy(dst, src, bytes);
        return FC_OK;
    }
    return fc_cuda_memcpy(dst, dst_store, src, src_store, bytes);
}

/* Copies block src's K and V into block dst. */
static fc_err block_copy(fc_kv_pool *pool, int32_t dst, int32_t src) {
    FC_TRY(fc_kv__copy(pool, fc_kv__row(pool, pool->k, (size_t)dst, 0), true, fc_kv__row(pool, pool->k, (size_t)src, 0),
                       true, pool->block_bytes));
    return fc_kv__copy(pool, fc_kv__row(pool, pool->v, (size_t)dst, 0), true, fc_kv__row(pool, pool->v, (size_t)src, 0),
                       true, pool->block_bytes);
}

fc_err fc_kv__cow(fc_kv_pool *pool, fc_kv_table *t, int i, bool copy) {
    int32_t old = t->blocks[i], nb = fc_kv__take(pool);
    fc_err e = copy ? block_copy(pool, nb, old) : FC_OK;
    if (e) {
        fc_kv__drop(pool, nb);
        return e;
    }
    t->blocks[i] = nb;
    fc_kv__drop(pool, old);
    return FC_OK;
}

/* ---- create, free ---- */

static void *storage_alloc(const fc_kv_pool_params *p, size_t bytes, fc_err *e) {
    void *ptr = NULL;
    if (p->device == FC_DEVICE_CPU) {
        if (!(ptr = fc_calloc(1, bytes, "kv pool storage"))) *e = FC_ENOMEM;
    } else if (!(*e = fc_cuda_alloc(&ptr, bytes)) && (*e = fc_cuda_memset0(ptr, bytes))) {
        fc_cuda_free(ptr);
        ptr = NULL;
    }
    return ptr;
}

static void storage_free(const fc_kv_pool_params *p, void *ptr) {
    if (p->device == FC_DEVICE_CPU)
        free(ptr);
    else if (ptr)
        fc_cuda_free(ptr);
}

fc_err fc_kv_pool_create(fc_kv_pool **out, const fc_kv_pool_params *p) {
    *out = NULL;
    if (p->n_layers <= 0 || p->n_kv_heads <= 0 || p->head_dim <= 0 || p->block_size <= 0 || p->n_blocks <= 0 ||
        p->max_seqs <= 0)
        return fc_err_set(FC_EINVAL,
                          "kv pool: sizes must be positive (layers %d, kv heads %d, head dim %d, block size %d, "
                          "blocks %d, max seqs %d)",
                          p->n_layers, p->n_kv_heads, p->head_dim, p->block_size, p->n_blocks, p->max_seqs);
    if (p->dtype != FC_DTYPE_F32 && p->dtype != FC_DTYPE_F16 && p->dtype != FC_DTYPE_BF16)
        return fc_err_set(FC_EUNSUPPORTED, "kv pool: storage dtype %s (want f32, f16 or bf16)", fc_dtype_name(p->dtype));
    if (p->device != FC_DEVICE_CPU && fc_cuda_device_count() == 0)
        return fc_err_set(FC_EUNSUPPORTED, "kv pool: device %s is not available: %s", fc_device_name(p->device),
                          fc_cuda_describe());
    size_t row, block_bytes, total, tables;
    if ((int64_t)p->n_blocks * p->n_layers > INT32_MAX ||
        !fc_mul_size((size_t)p->n_kv_heads, (size_t)p->head_dim, &row) ||
        !fc_mul_size(row, (size_t)p->block_size * fc_dtype_size(p->dtype), &block_bytes) ||
        !fc_mul_size(block_bytes, (size_t)p->n_blocks * (size_t)p->n_layers, &total) ||
        !fc_mul_size((size_t)p->max_seqs, (size_t)p->n_layers, &tables))
        return fc_err_set(FC_ENOMEM, "kv pool: size overflows (%d blocks x %d layers of %d x %d x %d)", p->n_blocks,
                          p->n_layers, p->block_size, p->n_kv_heads, p->head_dim);

    fc_kv_pool *pool = fc_calloc(1, sizeof *pool, "kv pool");
    if (!pool) return FC_ENOMEM;
    pool->p = *p;
    pool->owner = pthread_self();
    pool->n_lblocks = p->n_blocks * p->n_layers;
    pool->row_elems = row;
    pool->block_bytes = block_bytes;
    pool->free_list = fc_malloc((size_t)pool->n_lblocks * sizeof(int32_t), "kv pool");
    pool->ref = fc_calloc((size_t)pool->n_lblocks, sizeof(int32_t), "kv pool");
    pool->block_gen = fc_calloc((size_t)pool->n_lblocks, sizeof(uint32_t), "kv pool");
    pool->seqs = fc_calloc((size_t)p->max_seqs, sizeof(fc_kv_seq), "kv pool");
    pool->free_slots = fc_malloc((size_t)p->max_seqs * sizeof(int32_t), "kv pool");
    pool->tables = fc_calloc(tables, sizeof(fc_kv_table), "kv pool");
    fc_err e = FC_OK;
    if (!pool->free_list || !pool->ref || !pool->block_gen || !pool->seqs || !pool->free_slots || !pool->tables) {
        e = FC_ENOMEM;
        goto fail;
    }
    pool->k = storage_alloc(p, total, &e);
    if (!e) pool->v = storage_alloc(p, total, &e);
    if (e) {
        e = fc_err_prefix(e, "kv pool: 2 x %zu bytes (%d layers x %d blocks)", total, p->n_layers, p->n_blocks);
        goto fail;
    }
    for (int s = 0; s < p->max_seqs; s++) pool->seqs[s].layers = pool->tables + (size_t)s * p->n_layers;
    /* stacks popped from the end: hand out low ids first, which keeps small runs compact */
    for (int i = 0; i < pool->n_lblocks; i++) pool->free_list[i] = pool->n_lblocks - 1 - i;
    pool->n_free = pool->n_lblocks;
    for (int s = 0; s < p->max_seqs; s++) pool->free_slots[s] = p->max_seqs - 1 - s;
    pool->n_free_slots = p->max_seqs;
    *out = pool;
    return FC_OK;
fail:
    fc_kv_pool_free(pool);
    return e;
}

void fc_kv_pool_free(fc_kv_pool *pool) {
    if (!pool) return;
    storage_free(&pool->p, pool->k);
    storage_free(&pool->p, pool->v);
    if (pool->tables)
        for (size_t i = 0; i < (size_t)pool->p.max_seqs * pool->p.n_layers; i++) free(pool->tables[i].blocks);
    if (pool->seqs)
        for (int s = 0; s < pool->p.max_seqs; s++) free(pool->seqs[s].host);
    free(pool->free_list);
    free(pool->ref);
    free(pool->block_gen);
    free(pool->seqs);
    free(pool->free_slots);
    free(pool->tables);
    free(pool);
}

int64_t fc_kv_blocks_for(const fc_kv_pool *pool, int64_t len) {
    return len <= 0 ? 0 : (len - 1) / pool->p.block_size + 1; /* no len + bs - 1: it could wrap */
}

int fc_kv_free_layer_blocks(const fc_kv_pool *pool) { return pool->n_free; }
int fc_kv_free_seq_slots(const fc_kv_pool *pool) { return pool->n_free_slots; }
int64_t fc_kv_blocks_for_new(const fc_kv_pool *pool, int64_t n) {
    return (int64_t)pool->p.n_layers * fc_kv_blocks_for(pool, n);
}

/* Opens slot state for a new sequence; the caller fills its tables. */
static fc_err slot_open(fc_kv_pool *pool, fc_kv_handle *h, fc_kv_seq **out) {
    if (pool->n_free_slots == 0)
        return fc_err_set(FC_ENOMEM, "kv pool: all %d sequence slots are in use", pool->p.max_seqs);
    int32_t slot = pool->free_slots[pool->n_free_slots - 1];
    fc_kv_seq *s = &pool->seqs[slot];
    /* lengths and tables are already empty (fc_kv_seq_free released every block); the tables' memory is
     * reused by the sequence that takes the slot */
    pool->n_free_slots--;
    if (++s->gen == 0) s->gen = 1; /* gen 0 is FC_KV_NONE */
    s->state = FC_KV_SLOT_LIVE;
    s->next_pos = 0;
    pool->n_live++;
    *h = (fc_kv_handle){(uint32_t)slot, s->gen};
    *out = s;
    return FC_OK;
}

static void slot_close(fc_kv_pool *pool, fc_kv_seq *s) {
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv__table_release_from(pool, &s->layers[l], 0);
        s->layers[l].len = 0;
    }
    if (s->state == FC_KV_SLOT_SWAPPED) {
        pool->n_swapped--;
        pool->bytes_swapped -= s->host_bytes;
    } else {
        pool->n_live--;
    }
    free(s->host);
    s->host = NULL;
    s->host_bytes = 0;
    s->state = FC_KV_SLOT_FREE;
    s->next_pos = 0;
    pool->free_slots[pool->n_free_slots++] = (int32_t)(s - pool->seqs);
}

fc_err fc_kv_seq_create(fc_kv_pool *pool, fc_kv_handle *h) {
    *h = FC_KV_NONE;
    FC_TRY(fc_kv__own(pool, "create"));
    fc_kv_seq *s;
    return slot_open(pool, h, &s);
}

fc_err fc_kv_seq_fork(fc_kv_pool *pool, fc_kv_handle parent, fc_kv_handle *child) {
    *child = FC_KV_NONE;
    fc_kv_seq *ps = NULL, *cs = NULL;
    FC_TRY(fc_kv__check(pool, parent, FC_KV_SLOT_LIVE, &ps, "fork"));
    if (pool->n_free_slots == 0)
        return fc_err_set(FC_ENOMEM, "kv pool: fork: all %d sequence slots are in use", pool->p.max_seqs);
    /* the child's tables' memory first: a failure there leaves the pool as it was */
    fc_kv_seq *next = &pool->seqs[pool->free_slots[pool->n_free_slots - 1]];
    for (int l = 0; l < pool->p.n_layers; l++)
        FC_TRY(fc_err_prefix(fc_kv__table_cap(&next->layers[l], fc_kv_blocks_for(pool, ps->layers[l].len)),
                             "kv pool: fork"));
    fc_kv_handle h;
    FC_TRY(slot_open(pool, &h, &cs));
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *pt = &ps->layers[l];
        fc_kv_table *ct = &cs->layers[l];
        int nb = (int)fc_kv_blocks_for(pool, pt->len); /* reservations beyond the entries stay the parent's */
        for (int b = 0; b < nb; b++) fc_kv__hold(pool, ct->blocks[b] = pt->blocks[b]);
        ct->n_blocks = nb;
        ct->len = pt->len;
    }
    cs->next_pos = ps->next_pos;
    *child = h;
    return FC_OK;
}

fc_err fc_kv_seq_free(fc_kv_pool *pool, fc_kv_handle h) {
    if (fc_kv_handle_is_none(h)) return FC_OK;
    fc_kv_seq *s = fc_kv__get(pool, h, FC_KV_SLOT_SWAPPED);
    if (!s) FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "free"));
    else FC_TRY(fc_kv__own(pool, "free"));
    slot_close(pool, s);
    return FC_OK;
}

bool fc_kv_seq_live(const fc_kv_pool *pool, fc_kv_handle h) { return fc_kv__get(pool, h, FC_KV_SLOT_LIVE) != NULL; }
bool fc_kv_seq_swapped(const fc_kv_pool *pool, fc_kv_handle h) {
    return fc_kv__get(pool, h, FC_KV_SLOT_SWAPPED) != NULL;
}

/* ---- queries ---- */

/* Live or swapped out: the states that have lengths. */
static const fc_kv_seq *seq_any(const fc_kv_pool *pool, fc_kv_handle h) {
    const fc_kv_seq *s = fc_kv__get(pool, h, FC_KV_SLOT_LIVE);
    return s ? s : fc_kv__get(pool, h, FC_KV_SLOT_SWAPPED);
}

static int seq_max_len(const fc_kv_pool *pool, const fc_kv_seq *s) {
    int len = 0;
    for (int l = 0; l < pool->p.n_layers; l++)
        if (s->layers[l].len > len) len = s->layers[l].len;
    return len;
}

int fc_kv_seq_len(const fc_kv_pool *pool, fc_kv_handle h) {
    const fc_kv_seq *s = seq_any(pool, h);
    return s ? seq_max_len(pool, s) : 0;
}
int fc_kv_seq_layer_len(const fc_kv_pool *pool, fc_kv_handle h, int layer) {
    const fc_kv_seq *s = seq_any(pool, h);
    return s && layer >= 0 && layer < pool->p.n_layers ? s->layers[layer].len : 0;
}
int fc_kv_seq_next_pos(const fc_kv_pool *pool, fc_kv_handle h) {
    const fc_kv_seq *s = seq_any(pool, h);
    return s ? s->next_pos : 0;
}
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, fc_kv_handle h) { return fc_kv_seq_layer_blocks(pool, h, 0); }
const int32_t *fc_kv_seq_layer_blocks(const fc_kv_pool *pool, fc_kv_handle h, int layer) {
    const fc_kv_seq *s = fc_kv__get(pool, h, FC_KV_SLOT_LIVE);
    return s && layer >= 0 && layer < pool->p.n_layers ? s->layers[layer].blocks : NULL;
}
size_t fc_kv_seq_bytes(const fc_kv_pool *pool, fc_kv_handle h) {
    const fc_kv_seq *s = fc_kv__get(pool, h, FC_KV_SLOT_LIVE);
    size_t n = 0;
    for (int l = 0; s && l < pool->p.n_layers; l++) n += (size_t)s->layers[l].n_blocks;
    return n * 2 * pool->block_bytes;
}

/* ---- appending ---- */

/* Whether appending n > 0 entries to t writes into a shared block: only the partly filled block at len
 * can be (blocks past the entries are reserved by this sequence alone, which fc_kv_pool_check verifies). */
static bool tail_shared(const fc_kv_pool *pool, const fc_kv_table *t, int64_t n) {
    int bs = pool->p.block_size, i = t->len / bs;
    return n > 0 && t->len % bs != 0 && i < t->n_blocks && pool->ref[t->blocks[i]] > 1;
}

/* Layer blocks a reserve of n takes, and the check that every length stays an int. */
static fc_err reserve_count(const fc_kv_pool *pool, const fc_kv_seq *s, int64_t n, int64_t *more, const char *what) {
    *more = 0;
    if (n < 0) return fc_err_set(FC_EINVAL, "kv pool: %s: %lld entries", what, (long long)n);
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        if (t->len + n > INT32_MAX)
            return fc_err_set(FC_EINVAL, "kv pool: %s: %lld entries after layer %d's %d would pass %d", what,
                              (long long)n, l, t->len, INT32_MAX);
        int64_t need = fc_kv_blocks_for(pool, t->len + n);
        if (need > t->n_blocks) *more += need - t->n_blocks;
        *more += tail_shared(pool, t, n);
    }
    return FC_OK;
}

fc_err fc_kv_seq_blocks_needed(const fc_kv_pool *pool, fc_kv_handle h, int64_t n, int64_t *layer_blocks) {
    *layer_blocks = 0;
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "blocks_needed"));
    return reserve_count(pool, s, n, layer_blocks, "blocks_needed");
}

fc_err fc_kv_seq_reserve(fc_kv_pool *pool, fc_kv_handle h, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "reserve"));
    int64_t more = 0;
    FC_TRY(reserve_count(pool, s, n, &more, "reserve"));
    if (more == 0) return FC_OK;
    if (more > pool->n_free)
        return fc_err_set(FC_ENOMEM,
                          "kv pool full: sequence %u#%u needs %lld more layer blocks for %d more entries, %d of %d free",
                          h.slot, h.gen, (long long)more, n, pool->n_free, pool->n_lblocks);
    /* grow the tables' memory first, so that a refusal changes nothing the caller can see */
    for (int l = 0; l < pool->p.n_layers; l++)
        FC_TRY(fc_err_prefix(fc_kv__table_cap(&s->layers[l], fc_kv_blocks_for(pool, s->layers[l].len + (int64_t)n)),
                             "kv pool: reserve"));
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        if (tail_shared(pool, t, n)) FC_TRY(fc_kv__cow(pool, t, t->len / pool->p.block_size, true));
        int need = (int)fc_kv_blocks_for(pool, t->len + (int64_t)n);
        while (t->n_blocks < need) t->blocks[t->n_blocks++] = fc_kv__take(pool);
    }
    fc_kv__note_peak(pool);
    return FC_OK;
}

fc_err fc_kv_seq_commit(fc_kv_pool *pool, fc_kv_handle h, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "commit"));
    if (n < 0 || (int64_t)s->next_pos + n > INT32_MAX)
        return fc_err_set(FC_EINVAL, "kv pool: commit of %d entries to sequence %u#%u at position %d", n, h.slot,
                          h.gen, s->next_pos);
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        int64_t end = (int64_t)t->len + n;
        if (end > INT32_MAX || fc_kv_blocks_for(pool, end) > t->n_blocks)
            return fc_err_set(FC_EINVAL,
                              "kv pool: commit of %d entries to sequence %u#%u (layer %d: length %d, %lld slots "
                              "reserved)",
                              n, h.slot, h.gen, l, t->len, (long long)t->n_blocks * pool->p.block_size);
    }
    for (int l = 0; l < pool->p.n_layers; l++) s->layers[l].len += n;
    s->next_pos += n;
    return FC_OK;
}

fc_err fc_kv_seq_set_next_pos(fc_kv_pool *pool, fc_kv_handle h, int pos) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "set_next_pos"));
    if (pos < 0)
        return fc_err_set(FC_EINVAL, "kv pool: sequence %u#%u: next position %d is negative", h.slot, h.gen, pos);
    s->next_pos = pos;
    return FC_OK;
}

fc_err fc_kv_seq_mark(const fc_kv_pool *pool, fc_kv_handle h, fc_kv_layer_mark *m) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "mark"));
    int bs = pool->p.block_size;
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        bool partial = t->len % bs != 0 && t->len / bs < t->n_blocks;
        int32_t tail = partial ? t->blocks[t->len / bs] : -1;
        m[l] = (fc_kv_layer_mark){t->n_blocks, tail, t->len, tail >= 0 ? pool->block_gen[tail] : 0};
    }
    return FC_OK;
}

fc_err fc_kv_seq_rollback(fc_kv_pool *pool, fc_kv_handle h, const fc_kv_layer_mark *m) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "rollback"));
    int bs = pool->p.block_size;
    for (int l = 0; l < pool->p.n_layers; l++) { /* all checks before any change */
        const fc_kv_table *t = &s->layers[l];
        if (t->len != m[l].len || t->n_blocks < m[l].n_blocks ||
            (m[l].tail >= 0 && t->blocks[t->len / bs] != m[l].tail &&
             (m[l].tail >= pool->n_lblocks || pool->ref[m[l].tail] == 0 || pool->block_gen[m[l].tail] != m[l].tail_gen)))
            return fc_err_set(FC_EINVAL, "kv pool: rollback of sequence %u#%u: layer %d changed since the mark",
                              h.slot, h.gen, l);
    }
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        fc_kv__table_release_from(pool, t, m[l].n_blocks);
        int i = t->len / bs;
        if (m[l].tail >= 0 && t->blocks[i] != m[l].tail) { /* undo the copy on write */
            fc_kv__hold(pool, m[l].tail);
            fc_kv__drop(pool, t->blocks[i]);
            t->blocks[i] = m[l].tail;
        }
    }
    return FC_OK;
}

/* ---- storage access ---- */

void *fc_kv__slot(const fc_kv_pool *pool, void *store, fc_kv_handle h, int layer, int i) {
    const fc_kv_seq *s = fc_kv__get(pool, h, FC_KV_SLOT_LIVE);
    FC_ASSERT(s && layer >= 0 && layer < pool->p.n_layers);
    const fc_kv_table *t = &s->layers[layer];
    FC_ASSERT(i >= 0 && i < (int64_t)t->n_blocks * pool->p.block_size);
    return fc_kv__row(pool, store, (size_t)t->blocks[i / pool->p.block_size], (size_t)(i % pool->p.block_size));
}

void *fc_kv_slot_k(const fc_kv_pool *pool, fc_kv_handle h, int layer, int i) { return fc_kv__slot(pool, pool->k, h, layer, i); }
void *fc_kv_slot_v(const fc_kv_pool *pool, fc_kv_handle h, int layer, int i) { return fc_kv__slot(pool, pool->v, h, layer, i); }

static fc_tensor storage_view(const fc_kv_pool *pool, void *data) {
    int64_t shape[4] = {pool->n_lblocks, pool->p.block_size, pool->p.n_kv_heads, pool->p.head_dim};
    return fc_tensor_view(data, pool->p.dtype, pool->p.device, 4, shape);
}
fc_tensor fc_kv_layer_k(const fc_kv_pool *pool, int layer) {
    (void)layer;
    return storage_view(pool, pool->k);
}
fc_tensor fc_kv_layer_v(const fc_kv_pool *pool, int layer) {
    (void)layer;
    return storage_view(pool, pool->v);
}

/* ---- truncation (compression's gather / write / replace are in kv_pool_layer.c) ---- */

fc_err fc_kv_truncate(fc_kv_pool *pool, fc_kv_handle h, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "truncate"));
    int len = seq_max_len(pool, s);
    if (S < 0 || S > len)
        return fc_err_set(FC_EINVAL, "kv pool: truncate sequence %u#%u of length %d to %d entries", h.slot, h.gen, len,
                          S);
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        if (t->len > S) t->len = S;
        fc_kv__table_release_from(pool, t, (int)fc_kv_blocks_for(pool, t->len));
    }
    return FC_OK;
}

fc_err fc_kv_truncate_layer(fc_kv_pool *pool, fc_kv_handle h, int layer, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(fc_kv__check(pool, h, FC_KV_SLOT_LIVE, &s, "truncate_layer"));
    if (layer < 0 || layer >= pool->p.n_layers)
        return fc_err_set(FC_EINVAL, "kv pool: truncate_layer: layer %d outside [0, %d)", layer, pool->p.n_layers);
    fc_kv_table *t = &s->layers[layer];
    if (S < 0 || S > t->len)
        return fc_err_set(FC_EINVAL, "kv pool: truncate layer %d of sequence %u#%u from %d to %d entries", layer,
                          h.slot, h.gen, t->len, S);
    t->len = S;
    fc_kv__table_release_from(pool, t, (int)fc_kv_blocks_for(pool, S));
    return FC_OK;
}
