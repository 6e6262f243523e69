/* kv_pool.c: the paged KV pool (see kv_pool.h): layer-block storage, one free list, a block table and a
 * length per layer of each sequence, exact accounting. */
#include "core/kv/kv_pool.h"

#include <string.h>

#include "core/base/mem.h"
#include "kernels/backend.h"

static fc_kv_seq *seq_get(const fc_kv_pool *pool, int seq) {
    if (!pool || seq < 0 || seq >= pool->p.max_seqs || !pool->seqs[seq].live) return NULL;
    return &pool->seqs[seq];
}

static fc_err seq_check(const fc_kv_pool *pool, int seq, fc_kv_seq **out, const char *what) {
    fc_kv_seq *s = seq_get(pool, seq);
    if (!s) return fc_err_set(FC_EINVAL, "kv pool: %s: sequence %d is not live", what, seq);
    *out = s;
    return FC_OK;
}

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
        return fc_err_set(FC_EUNSUPPORTED, "kv pool: device %s is not available", fc_device_name(p->device));
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
    pool->n_lblocks = p->n_blocks * p->n_layers;
    pool->row_elems = row;
    pool->block_bytes = block_bytes;
    pool->free_list = fc_malloc((size_t)pool->n_lblocks * sizeof(int32_t), "kv pool");
    pool->seqs = fc_calloc((size_t)p->max_seqs, sizeof(fc_kv_seq), "kv pool");
    pool->tables = fc_calloc(tables, sizeof(fc_kv_table), "kv pool");
    fc_err e = FC_OK;
    if (!pool->free_list || !pool->seqs || !pool->tables) {
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
    /* a stack popped from the end: hand out low block ids first, which keeps small runs compact */
    for (int i = 0; i < pool->n_lblocks; i++) pool->free_list[i] = pool->n_lblocks - 1 - i;
    pool->n_free = pool->n_lblocks;
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
    free(pool->free_list);
    free(pool->seqs);
    free(pool->tables);
    free(pool);
}

int fc_kv_blocks_for(const fc_kv_pool *pool, int len) {
    return len <= 0 ? 0 : (len + pool->p.block_size - 1) / pool->p.block_size;
}

fc_err fc_kv_seq_create(fc_kv_pool *pool, int *seq) {
    for (int s = 0; s < pool->p.max_seqs; s++) {
        fc_kv_seq *q = &pool->seqs[s];
        if (q->live) continue;
        /* the tables' memory is reused by the next sequence in this slot; lengths and tables are already
         * empty (fc_kv_seq_free released every block) */
        q->live = true;
        q->next_pos = 0;
        pool->n_live++;
        *seq = s;
        return FC_OK;
    }
    return fc_err_set(FC_ENOMEM, "kv pool: all %d sequence slots are in use", pool->p.max_seqs);
}

/* Returns blocks [keep, n_blocks) of one layer's table to the free list. */
static void table_release_from(fc_kv_pool *pool, fc_kv_table *t, int keep) {
    for (int b = t->n_blocks - 1; b >= keep; b--) pool->free_list[pool->n_free++] = t->blocks[b];
    if (keep < t->n_blocks) t->n_blocks = keep;
}

void fc_kv_seq_free(fc_kv_pool *pool, int seq) {
    fc_kv_seq *s = seq_get(pool, seq);
    if (!s) return;
    for (int l = 0; l < pool->p.n_layers; l++) {
        table_release_from(pool, &s->layers[l], 0);
        s->layers[l].len = 0;
    }
    s->live = false;
    s->next_pos = 0;
    pool->n_live--;
}

bool fc_kv_seq_live(const fc_kv_pool *pool, int seq) { return seq_get(pool, seq) != NULL; }

static int seq_max_len(const fc_kv_pool *pool, const fc_kv_seq *s) {
    int len = 0;
    for (int l = 0; l < pool->p.n_layers; l++)
        if (s->layers[l].len > len) len = s->layers[l].len;
    return len;
}

int fc_kv_seq_len(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s ? seq_max_len(pool, s) : 0;
}
int fc_kv_seq_layer_len(const fc_kv_pool *pool, int seq, int layer) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s && layer >= 0 && layer < pool->p.n_layers ? s->layers[layer].len : 0;
}
int fc_kv_seq_next_pos(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s ? s->next_pos : 0;
}
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, int seq) { return fc_kv_seq_layer_blocks(pool, seq, 0); }
const int32_t *fc_kv_seq_layer_blocks(const fc_kv_pool *pool, int seq, int layer) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s && layer >= 0 && layer < pool->p.n_layers ? s->layers[layer].blocks : NULL;
}
size_t fc_kv_seq_bytes(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    size_t n = 0;
    for (int l = 0; s && l < pool->p.n_layers; l++) n += (size_t)s->layers[l].n_blocks;
    return n * 2 * pool->block_bytes;
}

fc_err fc_kv_seq_reserve(fc_kv_pool *pool, int seq, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "reserve"));
    int len = seq_max_len(pool, s);
    if (n < 0 || n > INT32_MAX - len)
        return fc_err_set(FC_EINVAL, "kv pool: reserve %d entries for sequence %d of length %d", n, seq, len);
    /* count first and grow the tables' memory, so that a refusal changes nothing the caller can see */
    int more = 0;
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        int need = fc_kv_blocks_for(pool, t->len + n);
        if (need > t->n_blocks) more += need - t->n_blocks;
    }
    if (more == 0) return FC_OK;
    if (more > pool->n_free)
        return fc_err_set(FC_ENOMEM,
                          "kv pool full: sequence %d needs %d more layer blocks for %d more entries, %d of %d free",
                          seq, more, n, pool->n_free, pool->n_lblocks);
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        int need = fc_kv_blocks_for(pool, t->len + n);
        if (need <= t->cap_blocks) continue;
        int cap = t->cap_blocks ? t->cap_blocks : 8;
        while (cap < need) cap *= 2;
        int32_t *nb = fc_realloc(t->blocks, (size_t)cap * sizeof(int32_t), "kv block table");
        if (!nb) return FC_ENOMEM;
        t->blocks = nb;
        t->cap_blocks = cap;
    }
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        int need = fc_kv_blocks_for(pool, t->len + n);
        while (t->n_blocks < need) t->blocks[t->n_blocks++] = pool->free_list[--pool->n_free];
    }
    int used = pool->n_lblocks - pool->n_free;
    if (used > pool->blocks_peak) pool->blocks_peak = used;
    return FC_OK;
}

fc_err fc_kv_seq_commit(fc_kv_pool *pool, int seq, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "commit"));
    for (int l = 0; l < pool->p.n_layers; l++) {
        const fc_kv_table *t = &s->layers[l];
        if (n < 0 || t->len > INT32_MAX - n || fc_kv_blocks_for(pool, t->len + n) > t->n_blocks)
            return fc_err_set(FC_EINVAL,
                              "kv pool: commit of %d entries to sequence %d (layer %d: length %d, %d slots reserved)",
                              n, seq, l, t->len, t->n_blocks * pool->p.block_size);
    }
    for (int l = 0; l < pool->p.n_layers; l++) s->layers[l].len += n;
    s->next_pos += n;
    return FC_OK;
}

fc_err fc_kv_seq_set_next_pos(fc_kv_pool *pool, int seq, int pos) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "set_next_pos"));
    if (pos < 0) return fc_err_set(FC_EINVAL, "kv pool: sequence %d: next position %d is negative", seq, pos);
    s->next_pos = pos;
    return FC_OK;
}

static void *slot(const fc_kv_pool *pool, void *store, int seq, int layer, int i) {
    const fc_kv_seq *s = seq_get(pool, seq);
    FC_ASSERT(s && layer >= 0 && layer < pool->p.n_layers);
    const fc_kv_table *t = &s->layers[layer];
    FC_ASSERT(i >= 0 && i < t->n_blocks * pool->p.block_size);
    size_t b = (size_t)t->blocks[i / pool->p.block_size];
    size_t row = b * (size_t)pool->p.block_size + (size_t)(i % pool->p.block_size);
    return (char *)store + row * pool->row_elems * fc_dtype_size(pool->p.dtype);
}

void *fc_kv_slot_k(const fc_kv_pool *pool, int seq, int layer, int i) { return slot(pool, pool->k, seq, layer, i); }
void *fc_kv_slot_v(const fc_kv_pool *pool, int seq, int layer, int i) { return slot(pool, pool->v, seq, layer, i); }

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

static fc_err layer_check(const fc_kv_pool *pool, int seq, int layer, fc_kv_seq **s, const char *what) {
    FC_TRY(seq_check(pool, seq, s, what));
    if (layer < 0 || layer >= pool->p.n_layers)
        return fc_err_set(FC_EINVAL, "kv pool: %s: layer %d outside [0, %d)", what, layer, pool->p.n_layers);
    if (pool->p.device != FC_DEVICE_CPU)
        return fc_err_set(FC_EUNSUPPORTED, "kv pool: %s: pool on %s (CPU only for now)", what,
                          fc_device_name(pool->p.device));
    return FC_OK;
}

/* Copies between one layer's paged rows and a contiguous [Hkv, S, D] f32 array, one (entry, head) row
 * of D at a time. */
static void copy_layer(const fc_kv_pool *pool, int seq, int layer, void *store, float *flat, int S, bool out) {
    int Hkv = pool->p.n_kv_heads, D = pool->p.head_dim;
    size_t esz = fc_dtype_size(pool->p.dtype);
    for (int i = 0; i < S; i++) {
        char *row = slot(pool, store, seq, layer, i);
        for (int h = 0; h < Hkv; h++) {
            float *f = flat + ((size_t)h * S + i) * D;
            void *r = row + (size_t)h * D * esz;
            if (out)
                fc_dtype_convert(f, FC_DTYPE_F32, r, pool->p.dtype, (size_t)D);
            else
                fc_dtype_convert(r, pool->p.dtype, f, FC_DTYPE_F32, (size_t)D);
        }
    }
}

fc_err fc_kv_gather_layer(const fc_kv_pool *pool, int seq, int layer, float *k, float *v) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, seq, layer, &s, "gather"));
    int len = s->layers[layer].len;
    if (k) copy_layer(pool, seq, layer, pool->k, k, len, true);
    if (v) copy_layer(pool, seq, layer, pool->v, v, len, true);
    return FC_OK;
}

fc_err fc_kv_write_layer(fc_kv_pool *pool, int seq, int layer, const float *k, const float *v, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, seq, layer, &s, "write"));
    int slots = s->layers[layer].n_blocks * pool->p.block_size;
    if (S < 0 || S > slots)
        return fc_err_set(FC_EINVAL, "kv pool: write of %d entries to layer %d of sequence %d with %d slots", S,
                          layer, seq, slots);
    if (k) copy_layer(pool, seq, layer, pool->k, (float *)k, S, false);
    if (v) copy_layer(pool, seq, layer, pool->v, (float *)v, S, false);
    return FC_OK;
}

fc_err fc_kv_truncate(fc_kv_pool *pool, int seq, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "truncate"));
    int len = seq_max_len(pool, s);
    if (S < 0 || S > len)
        return fc_err_set(FC_EINVAL, "kv pool: truncate sequence %d of length %d to %d entries", seq, len, S);
    for (int l = 0; l < pool->p.n_layers; l++) {
        fc_kv_table *t = &s->layers[l];
        if (t->len > S) t->len = S;
        table_release_from(pool, t, fc_kv_blocks_for(pool, t->len));
    }
    return FC_OK;
}

fc_err fc_kv_truncate_layer(fc_kv_pool *pool, int seq, int layer, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "truncate_layer"));
    if (layer < 0 || layer >= pool->p.n_layers)
        return fc_err_set(FC_EINVAL, "kv pool: truncate_layer: layer %d outside [0, %d)", layer, pool->p.n_layers);
    fc_kv_table *t = &s->layers[layer];
    if (S < 0 || S > t->len)
        return fc_err_set(FC_EINVAL, "kv pool: truncate layer %d of sequence %d from %d to %d entries", layer, seq,
                          t->len, S);
    t->len = S;
    table_release_from(pool, t, fc_kv_blocks_for(pool, S));
    return FC_OK;
}

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st) {
    memset(st, 0, sizeof *st);
    int L = pool->p.n_layers;
    st->layer_blocks_total = pool->n_lblocks;
    st->layer_blocks_used = pool->n_lblocks - pool->n_free;
    st->layer_blocks_peak = pool->blocks_peak;
    st->bytes_per_layer_block = 2 * pool->block_bytes;
    st->blocks_total = pool->p.n_blocks;
    st->blocks_used = (st->layer_blocks_used + L - 1) / L;
    st->blocks_peak = (st->layer_blocks_peak + L - 1) / L;
    st->bytes_per_block = (size_t)L * st->bytes_per_layer_block;
    st->bytes_capacity = st->bytes_per_layer_block * (size_t)st->layer_blocks_total;
    st->bytes_used = st->bytes_per_layer_block * (size_t)st->layer_blocks_used;
    st->bytes_peak = st->bytes_per_layer_block * (size_t)st->layer_blocks_peak;
    st->n_seqs = pool->n_live;
    for (int s = 0; s < pool->p.max_seqs; s++) {
        const fc_kv_seq *q = &pool->seqs[s];
        if (!q->live) continue;
        st->entries += seq_max_len(pool, q);
        for (int l = 0; l < L; l++) st->layer_entries += q->layers[l].len;
    }
}
