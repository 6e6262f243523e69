/* kv_pool.c: the paged KV pool (see kv_pool.h): block storage, free list, block tables, accounting. */
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
    size_t row, layer_bytes;
    if (!fc_mul_size((size_t)p->n_kv_heads, (size_t)p->head_dim, &row) ||
        !fc_mul_size(row, (size_t)p->block_size * fc_dtype_size(p->dtype), &layer_bytes) ||
        !fc_mul_size(layer_bytes, (size_t)p->n_blocks, &layer_bytes))
        return fc_err_set(FC_ENOMEM, "kv pool: size overflows (%d blocks of %d x %d x %d)", p->n_blocks, p->block_size,
                          p->n_kv_heads, p->head_dim);

    fc_kv_pool *pool = fc_calloc(1, sizeof *pool, "kv pool");
    if (!pool) return FC_ENOMEM;
    pool->p = *p;
    pool->row_elems = row;
    pool->layer_bytes = layer_bytes;
    pool->k = fc_calloc((size_t)p->n_layers, sizeof(void *), "kv pool");
    pool->v = fc_calloc((size_t)p->n_layers, sizeof(void *), "kv pool");
    pool->free_list = fc_malloc((size_t)p->n_blocks * sizeof(int32_t), "kv pool");
    pool->seqs = fc_calloc((size_t)p->max_seqs, sizeof(fc_kv_seq), "kv pool");
    fc_err e = FC_OK;
    if (!pool->k || !pool->v || !pool->free_list || !pool->seqs) {
        e = FC_ENOMEM;
        goto fail;
    }
    for (int l = 0; l < p->n_layers; l++) {
        if (p->device == FC_DEVICE_CPU) {
            pool->k[l] = fc_calloc(1, layer_bytes, "kv pool storage");
            pool->v[l] = fc_calloc(1, layer_bytes, "kv pool storage");
            if (!pool->k[l] || !pool->v[l]) {
                e = fc_err_prefix(FC_ENOMEM, "kv pool: %d layers x 2 x %zu bytes", p->n_layers, layer_bytes);
                goto fail;
            }
        } else {
            if ((e = fc_cuda_alloc(&pool->k[l], layer_bytes)) != FC_OK) goto fail;
            if ((e = fc_cuda_alloc(&pool->v[l], layer_bytes)) != FC_OK) goto fail;
            if ((e = fc_cuda_memset0(pool->k[l], layer_bytes)) != FC_OK) goto fail;
            if ((e = fc_cuda_memset0(pool->v[l], layer_bytes)) != FC_OK) goto fail;
        }
    }
    /* a stack popped from the end: hand out low block ids first, which keeps small runs compact */
    for (int i = 0; i < p->n_blocks; i++) pool->free_list[i] = p->n_blocks - 1 - i;
    pool->n_free = p->n_blocks;
    *out = pool;
    return FC_OK;
fail:
    fc_kv_pool_free(pool);
    return e;
}

void fc_kv_pool_free(fc_kv_pool *pool) {
    if (!pool) return;
    for (int l = 0; pool->k && pool->v && l < pool->p.n_layers; l++) {
        if (pool->p.device == FC_DEVICE_CPU) {
            free(pool->k[l]);
            free(pool->v[l]);
        } else {
            fc_cuda_free(pool->k[l]);
            fc_cuda_free(pool->v[l]);
        }
    }
    for (int s = 0; pool->seqs && s < pool->p.max_seqs; s++) free(pool->seqs[s].blocks);
    free(pool->k);
    free(pool->v);
    free(pool->free_list);
    free(pool->seqs);
    free(pool);
}

int fc_kv_blocks_for(const fc_kv_pool *pool, int len) {
    return len <= 0 ? 0 : (len + pool->p.block_size - 1) / pool->p.block_size;
}

fc_err fc_kv_seq_create(fc_kv_pool *pool, int *seq) {
    for (int s = 0; s < pool->p.max_seqs; s++) {
        fc_kv_seq *q = &pool->seqs[s];
        if (q->live) continue;
        int32_t *keep = q->blocks;
        int cap = q->cap_blocks;
        memset(q, 0, sizeof *q);
        q->blocks = keep; /* the table's memory is reused by the next sequence in this slot */
        q->cap_blocks = cap;
        q->live = true;
        pool->n_live++;
        *seq = s;
        return FC_OK;
    }
    return fc_err_set(FC_ENOMEM, "kv pool: all %d sequence slots are in use", pool->p.max_seqs);
}

/* Returns blocks [keep, n_blocks) of the table to the free list. */
static void seq_release_from(fc_kv_pool *pool, fc_kv_seq *s, int keep) {
    for (int b = s->n_blocks - 1; b >= keep; b--) pool->free_list[pool->n_free++] = s->blocks[b];
    if (keep < s->n_blocks) s->n_blocks = keep;
}

void fc_kv_seq_free(fc_kv_pool *pool, int seq) {
    fc_kv_seq *s = seq_get(pool, seq);
    if (!s) return;
    seq_release_from(pool, s, 0);
    s->live = false;
    s->len = s->next_pos = 0;
    pool->n_live--;
}

bool fc_kv_seq_live(const fc_kv_pool *pool, int seq) { return seq_get(pool, seq) != NULL; }
int fc_kv_seq_len(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s ? s->len : 0;
}
int fc_kv_seq_next_pos(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s ? s->next_pos : 0;
}
const int32_t *fc_kv_seq_blocks(const fc_kv_pool *pool, int seq) {
    const fc_kv_seq *s = seq_get(pool, seq);
    return s ? s->blocks : NULL;
}

fc_err fc_kv_seq_reserve(fc_kv_pool *pool, int seq, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "reserve"));
    if (n < 0 || n > INT32_MAX - s->len)
        return fc_err_set(FC_EINVAL, "kv pool: reserve %d entries for sequence %d of length %d", n, seq, s->len);
    int need = fc_kv_blocks_for(pool, s->len + n);
    if (need <= s->n_blocks) return FC_OK;
    int more = need - s->n_blocks;
    if (more > pool->n_free)
        return fc_err_set(FC_ENOMEM, "kv pool full: sequence %d needs %d more blocks for %d entries, %d of %d free",
                          seq, more, s->len + n, pool->n_free, pool->p.n_blocks);
    if (need > s->cap_blocks) {
        int cap = s->cap_blocks ? s->cap_blocks : 8;
        while (cap < need) cap *= 2;
        int32_t *nb = fc_realloc(s->blocks, (size_t)cap * sizeof(int32_t), "kv block table");
        if (!nb) return FC_ENOMEM;
        s->blocks = nb;
        s->cap_blocks = cap;
    }
    for (int i = 0; i < more; i++) s->blocks[s->n_blocks++] = pool->free_list[--pool->n_free];
    int used = pool->p.n_blocks - pool->n_free;
    if (used > pool->blocks_peak) pool->blocks_peak = used;
    return FC_OK;
}

fc_err fc_kv_seq_commit(fc_kv_pool *pool, int seq, int n) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "commit"));
    if (n < 0 || fc_kv_blocks_for(pool, s->len + n) > s->n_blocks)
        return fc_err_set(FC_EINVAL, "kv pool: commit of %d entries to sequence %d (length %d, %d slots reserved)", n,
                          seq, s->len, s->n_blocks * pool->p.block_size);
    s->len += n;
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

static void *slot(const fc_kv_pool *pool, void *const *store, int seq, int layer, int i) {
    const fc_kv_seq *s = seq_get(pool, seq);
    FC_ASSERT(s && layer >= 0 && layer < pool->p.n_layers && i >= 0 && i < s->n_blocks * pool->p.block_size);
    size_t b = (size_t)s->blocks[i / pool->p.block_size];
    size_t row = b * (size_t)pool->p.block_size + (size_t)(i % pool->p.block_size);
    return (char *)store[layer] + row * pool->row_elems * fc_dtype_size(pool->p.dtype);
}

void *fc_kv_slot_k(const fc_kv_pool *pool, int seq, int layer, int i) { return slot(pool, pool->k, seq, layer, i); }
void *fc_kv_slot_v(const fc_kv_pool *pool, int seq, int layer, int i) { return slot(pool, pool->v, seq, layer, i); }

static fc_tensor layer_view(const fc_kv_pool *pool, void *data) {
    int64_t shape[4] = {pool->p.n_blocks, pool->p.block_size, pool->p.n_kv_heads, pool->p.head_dim};
    return fc_tensor_view(data, pool->p.dtype, pool->p.device, 4, shape);
}
fc_tensor fc_kv_layer_k(const fc_kv_pool *pool, int layer) { return layer_view(pool, pool->k[layer]); }
fc_tensor fc_kv_layer_v(const fc_kv_pool *pool, int layer) { return layer_view(pool, pool->v[layer]); }

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
static void copy_layer(const fc_kv_pool *pool, int seq, int layer, void *const *store, float *flat, int S, bool out) {
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
    if (k) copy_layer(pool, seq, layer, pool->k, k, s->len, true);
    if (v) copy_layer(pool, seq, layer, pool->v, v, s->len, true);
    return FC_OK;
}

fc_err fc_kv_write_layer(fc_kv_pool *pool, int seq, int layer, const float *k, const float *v, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(layer_check(pool, seq, layer, &s, "write"));
    if (S < 0 || S > s->n_blocks * pool->p.block_size)
        return fc_err_set(FC_EINVAL, "kv pool: write of %d entries to sequence %d with %d slots", S, seq,
                          s->n_blocks * pool->p.block_size);
    if (k) copy_layer(pool, seq, layer, pool->k, (float *)k, S, false);
    if (v) copy_layer(pool, seq, layer, pool->v, (float *)v, S, false);
    return FC_OK;
}

fc_err fc_kv_truncate(fc_kv_pool *pool, int seq, int S) {
    fc_kv_seq *s = NULL;
    FC_TRY(seq_check(pool, seq, &s, "truncate"));
    if (S < 0 || S > s->len)
        return fc_err_set(FC_EINVAL, "kv pool: truncate sequence %d of length %d to %d entries", seq, s->len, S);
    s->len = S;
    seq_release_from(pool, s, fc_kv_blocks_for(pool, S));
    return FC_OK;
}

void fc_kv_pool_stats(const fc_kv_pool *pool, fc_kv_stats *st) {
    memset(st, 0, sizeof *st);
    st->blocks_total = pool->p.n_blocks;
    st->blocks_used = pool->p.n_blocks - pool->n_free;
    st->blocks_peak = pool->blocks_peak;
    st->bytes_per_block = 2 * (size_t)pool->p.n_layers * (pool->layer_bytes / (size_t)pool->p.n_blocks);
    st->bytes_capacity = st->bytes_per_block * (size_t)st->blocks_total;
    st->bytes_used = st->bytes_per_block * (size_t)st->blocks_used;
    st->bytes_peak = st->bytes_per_block * (size_t)st->blocks_peak;
    st->n_seqs = pool->n_live;
    for (int s = 0; s < pool->p.max_seqs; s++)
        if (pool->seqs[s].live) st->entries += pool->seqs[s].len;
}
