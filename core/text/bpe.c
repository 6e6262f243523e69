/* bpe.c: vocabulary and merge hash tables, and the merge loop (see bpe.h). */
#include "core/text/bpe.h"

#include <string.h>

#include "core/base/mem.h"

struct fc_bpe_cand {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
};

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        h = (h ^ x) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t x = 0;
    memcpy(&x, s + i, n - i);
    h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return h;
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

void fc_bpe_init(fc_bpe *b) { memset(b, 0, sizeof *b); }

void fc_bpe_free(fc_bpe *b) {
    if (!b) return;
    free(b->text), free(b->off), free(b->len), free(b->slots);
    free(b->merges.keys), free(b->merges.rank), free(b->merges.new_id);
    memset(b, 0, sizeof *b);
}

void fc_bpe_work_free(fc_bpe_work *w) {
    if (!w) return;
    free(w->prev), free(w->next), free(w->heap);
    fc_bpe_cache *c = &w->cache;
    free(c->hash), free(c->key_off), free(c->key_len), free(c->val_off), free(c->val_len), free(c->keys), free(c->vals);
    memset(w, 0, sizeof *w);
}

#define CACHE_SLOTS 65536 /* fixed: at most half filled, so a probe always ends */

bool fc_bpe_cache_get(const fc_bpe_work *w, const char *s, size_t n, const int32_t **ids, int *n_ids) {
    const fc_bpe_cache *c = &w->cache;
    if (!c->hash || n > FC_BPE_CACHE_MAX_WORD) return false;
    uint64_t h = hash_bytes(s, n) | 1;
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        if (!c->hash[i]) return false;
        if (c->hash[i] == h && c->key_len[i] == n && !memcmp(c->keys + c->key_off[i], s, n)) {
            *ids = c->vals + c->val_off[i], *n_ids = (int)c->val_len[i];
            return true;
        }
    }
}

static bool grow_buf(void **buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need) nc *= 2;
    void *p = fc_realloc(*buf, nc * elem, "bpe cache");
    if (!p) return false;
    *buf = p, *cap = nc;
    return true;
}

fc_err fc_bpe_cache_put(fc_bpe_work *w, const char *s, size_t n, const int32_t *ids, int n_ids) {
    fc_bpe_cache *c = &w->cache;
    if (n > FC_BPE_CACHE_MAX_WORD || c->count >= CACHE_SLOTS / 2) return FC_OK;
    if (!c->hash) {
        c->hash = fc_calloc(CACHE_SLOTS, sizeof(uint64_t), "bpe cache");
        c->key_off = fc_malloc(CACHE_SLOTS * sizeof(uint32_t), "bpe cache");
        c->key_len = fc_malloc(CACHE_SLOTS * sizeof(uint32_t), "bpe cache");
        c->val_off = fc_malloc(CACHE_SLOTS * sizeof(uint32_t), "bpe cache");
        c->val_len = fc_malloc(CACHE_SLOTS * sizeof(uint32_t), "bpe cache");
        if (!c->hash || !c->key_off || !c->key_len || !c->val_off || !c->val_len) return FC_ENOMEM;
    }
    if (!grow_buf((void **)&c->keys, &c->keys_cap, c->keys_n + n, 1) ||
        !grow_buf((void **)&c->vals, &c->vals_cap, c->vals_n + (size_t)n_ids, sizeof(int32_t)))
        return FC_ENOMEM;
    uint64_t h = hash_bytes(s, n) | 1;
    size_t i = h & (CACHE_SLOTS - 1);
    while (c->hash[i]) i = (i + 1) & (CACHE_SLOTS - 1);
    c->hash[i] = h;
    c->key_off[i] = (uint32_t)c->keys_n, c->key_len[i] = (uint32_t)n;
    c->val_off[i] = (uint32_t)c->vals_n, c->val_len[i] = (uint32_t)n_ids;
    memcpy(c->keys + c->keys_n, s, n);
    memcpy(c->vals + c->vals_n, ids, (size_t)n_ids * sizeof(int32_t));
    c->keys_n += n, c->vals_n += (size_t)n_ids;
    c->count++;
    return FC_OK;
}

int32_t fc_bpe_lookup(const fc_bpe *b, const char *s, size_t n) {
    if (!b->slot_cap) return -1;
    size_t mask = b->slot_cap - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = b->slots[i];
        if (id < 0) return -1;
        if (b->len[id] == n && !memcmp(b->text + b->off[id], s, n)) return id;
    }
}

const char *fc_bpe_token(const fc_bpe *b, int32_t id, size_t *len) {
    if (id < 0 || id >= b->n_tokens || b->len[id] == UINT32_MAX) return NULL;
    *len = b->len[id];
    return b->text + b->off[id];
}

static fc_err grow_slots(fc_bpe *b, size_t want) {
    size_t cap = b->slot_cap ? b->slot_cap : 1024;
    while (cap < want * 2) cap *= 2;
    if (cap == b->slot_cap) return FC_OK;
    int32_t *slots = fc_malloc(cap * sizeof(int32_t), "bpe vocab");
    if (!slots) return FC_ENOMEM;
    memset(slots, 0xFF, cap * sizeof(int32_t));
    for (int32_t id = 0; id < b->n_tokens; id++) {
        if (b->len[id] == UINT32_MAX) continue;
        size_t i = hash_bytes(b->text + b->off[id], b->len[id]) & (cap - 1);
        while (slots[i] >= 0) {
            /* a duplicate string is not re-inserted (lookups return the first id) */
            if (b->len[slots[i]] == b->len[id] && !memcmp(b->text + b->off[slots[i]], b->text + b->off[id], b->len[id]))
                goto next;
            i = (i + 1) & (cap - 1);
        }
        slots[i] = id;
    next:;
    }
    free(b->slots);
    b->slots = slots, b->slot_cap = cap;
    return FC_OK;
}

fc_err fc_bpe_add_token(fc_bpe *b, const char *s, size_t n, int32_t id, bool allow_dup) {
    if (id < 0 || id >= (1 << 30)) return fc_err_set(FC_EFORMAT, "token id %d out of range", (int)id);
    if (n >= UINT32_MAX) return fc_err_set(FC_EFORMAT, "token %d: %zu bytes is too long", (int)id, n);
    int32_t old = fc_bpe_lookup(b, s, n);
    if (old >= 0 && !allow_dup)
        return fc_err_set(FC_EFORMAT, "token '%.*s' has two ids, %d and %d", (int)(n > 64 ? 64 : n), s, (int)old, (int)id);
    if (id < b->n_tokens && b->len[id] != UINT32_MAX)
        return fc_err_set(FC_EFORMAT, "token id %d used twice ('%.*s')", (int)id, (int)(n > 64 ? 64 : n), s);
    if (id >= b->n_tokens) {
        if (id >= b->id_cap) { /* grow geometrically: ids mostly arrive in order */
            int32_t cap = b->id_cap ? b->id_cap : 1024;
            while (cap <= id) cap *= 2;
            uint32_t *off = fc_realloc(b->off, (size_t)cap * sizeof(uint32_t), "bpe vocab");
            if (!off) return FC_ENOMEM;
            b->off = off;
            uint32_t *len = fc_realloc(b->len, (size_t)cap * sizeof(uint32_t), "bpe vocab");
            if (!len) return FC_ENOMEM;
            b->len = len;
            b->id_cap = cap;
        }
        for (int32_t i = b->n_tokens; i <= id; i++) b->off[i] = 0, b->len[i] = UINT32_MAX;
        b->n_tokens = id + 1;
    }
    if (b->text_len + n > b->text_cap) {
        size_t cap = b->text_cap ? b->text_cap : 65536;
        while (cap < b->text_len + n) cap *= 2;
        char *t = fc_realloc(b->text, cap, "bpe vocab");
        if (!t) return FC_ENOMEM;
        b->text = t, b->text_cap = cap;
    }
    if (b->text_len + n >= UINT32_MAX) return fc_err_set(FC_EFORMAT, "vocabulary text exceeds 4 GiB");
    memcpy(b->text + b->text_len, s, n);
    b->off[id] = (uint32_t)b->text_len, b->len[id] = (uint32_t)n;
    b->text_len += n;
    if (old >= 0) return FC_OK; /* lookups keep returning the first id */
    if ((size_t)b->n_tokens * 2 > b->slot_cap) FC_TRY(grow_slots(b, (size_t)b->n_tokens));
    size_t mask = b->slot_cap - 1;
    size_t i = hash_bytes(s, n) & mask;
    while (b->slots[i] >= 0) i = (i + 1) & mask;
    b->slots[i] = id;
    return FC_OK;
}

static fc_err grow_pairs(fc_bpe_pairmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 1 << 16;
    uint64_t *keys = fc_calloc(cap, sizeof(uint64_t), "bpe merges");
    uint32_t *rank = fc_malloc(cap * sizeof(uint32_t), "bpe merges");
    int32_t *nid = fc_malloc(cap * sizeof(int32_t), "bpe merges");
    if (!keys || !rank || !nid) {
        free(keys), free(rank), free(nid);
        return FC_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = hash_u64(m->keys[i]) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i], rank[j] = m->rank[i], nid[j] = m->new_id[i];
    }
    free(m->keys), free(m->rank), free(m->new_id);
    m->keys = keys, m->rank = rank, m->new_id = nid, m->cap = cap;
    return FC_OK;
}

fc_err fc_bpe_add_merge(fc_bpe *b, int32_t a, int32_t c, uint32_t rank, int32_t new_id) {
    fc_bpe_pairmap *m = &b->merges;
    if ((m->count + 1) * 2 > m->cap) FC_TRY(grow_pairs(m));
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)c) + 1;
    size_t mask = m->cap - 1;
    size_t i = hash_u64(key) & mask;
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & mask;
    if (!m->keys[i]) m->count++;
    m->keys[i] = key, m->rank[i] = rank, m->new_id[i] = new_id;
    return FC_OK;
}

bool fc_bpe_find_merge(const fc_bpe *b, int32_t a, int32_t c, uint32_t *rank, int32_t *new_id) {
    const fc_bpe_pairmap *m = &b->merges;
    if (!m->cap) return false;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)c) + 1;
    size_t mask = m->cap - 1;
    for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
        if (!m->keys[i]) return false;
        if (m->keys[i] == key) {
            *rank = m->rank[i], *new_id = m->new_id[i];
            return true;
        }
    }
}

/* min-heap on (rank, pos), as the library's BinaryHeap with reversed Ord */
static bool cand_less(const struct fc_bpe_cand *x, const struct fc_bpe_cand *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static void heap_push(struct fc_bpe_cand *h, size_t *n, struct fc_bpe_cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static struct fc_bpe_cand heap_pop(struct fc_bpe_cand *h, size_t *n) {
    struct fc_bpe_cand top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct fc_bpe_cand *best = &last;
        if (l < *n && cand_less(&h[l], best)) m = l, best = &h[l];
        if (r < *n && cand_less(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

fc_err fc_bpe_merge(const fc_bpe *b, fc_bpe_work *w, int32_t *ids, int *n_io) {
    int n = *n_io;
    if (n < 2) return FC_OK;
    if ((size_t)n > w->cap) {
        free(w->prev), free(w->next), free(w->heap);
        w->prev = fc_malloc((size_t)n * sizeof(int32_t), "bpe work");
        w->next = fc_malloc((size_t)n * sizeof(int32_t), "bpe work");
        /* each merge pushes at most 2 candidates and there are at most n-1 merges */
        w->heap = fc_malloc((size_t)n * 3 * sizeof(struct fc_bpe_cand), "bpe work");
        w->cap = w->prev && w->next && w->heap ? (size_t)n : 0;
        if (!w->cap) return FC_ENOMEM;
    }
    int32_t *prev = w->prev, *next = w->next;
    struct fc_bpe_cand *heap = w->heap;
    size_t hn = 0;
    for (int i = 0; i < n; i++) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
    for (int i = 0; i + 1 < n; i++) {
        struct fc_bpe_cand c = {.pos = i};
        if (fc_bpe_find_merge(b, ids[i], ids[i + 1], &c.rank, &c.new_id)) heap_push(heap, &hn, c);
    }
    while (hn) {
        struct fc_bpe_cand top = heap_pop(heap, &hn);
        int p = top.pos;
        if (ids[p] < 0 || next[p] < 0) continue; /* removed, or now the last symbol */
        int q = next[p];
        uint32_t rank;
        int32_t nid;
        if (!fc_bpe_find_merge(b, ids[p], ids[q], &rank, &nid) || nid != top.new_id) continue; /* stale */
        ids[p] = nid;
        ids[q] = -1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        struct fc_bpe_cand c;
        if (prev[p] >= 0 && fc_bpe_find_merge(b, ids[prev[p]], ids[p], &c.rank, &c.new_id)) {
            c.pos = prev[p];
            heap_push(heap, &hn, c);
        }
        if (next[p] >= 0 && fc_bpe_find_merge(b, ids[p], ids[next[p]], &c.rank, &c.new_id)) {
            c.pos = p;
            heap_push(heap, &hn, c);
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0) ids[k++] = ids[i];
    *n_io = k;
    return FC_OK;
}
