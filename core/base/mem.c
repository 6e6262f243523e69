/* mem.c: checked malloc wrappers and the bump-pointer arena. */
#include "core/base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

struct fc_arena_block {
    fc_arena_block *next;
    size_t cap; /* usable bytes after the header */
    size_t off; /* next free offset */
    unsigned char *data;
};

bool fc_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

void *fc_malloc(size_t n, const char *owner) {
    void *p = malloc(n ? n : 1);
    if (!p) fc_err_set(FC_ENOMEM, "%s: out of memory allocating %zu bytes", owner ? owner : "alloc", n);
    return p;
}

void *fc_calloc(size_t count, size_t size, const char *owner) {
    size_t n;
    if (!fc_mul_size(count, size, &n)) {
        fc_err_set(FC_ENOMEM, "%s: allocation of %zu x %zu bytes overflows", owner ? owner : "alloc", count, size);
        return NULL;
    }
    void *p = calloc(n ? count : 1, n ? size : 1);
    if (!p) fc_err_set(FC_ENOMEM, "%s: out of memory allocating %zu bytes", owner ? owner : "alloc", n);
    return p;
}

void *fc_realloc(void *p, size_t n, const char *owner) {
    void *q = realloc(p, n ? n : 1);
    if (!q) fc_err_set(FC_ENOMEM, "%s: out of memory reallocating to %zu bytes", owner ? owner : "alloc", n);
    return q;
}

char *fc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = fc_malloc(n, "strdup");
    if (d) memcpy(d, s, n);
    return d;
}

void fc_arena_init(fc_arena *a, const char *owner, size_t block_size) {
    memset(a, 0, sizeof *a);
    a->owner = owner ? owner : "arena";
    a->block_size = block_size ? block_size : (size_t)1 << 20;
}

static fc_arena_block *arena_new_block(fc_arena *a, size_t need) {
    size_t cap = need > a->block_size ? need : a->block_size;
    if (cap > SIZE_MAX - sizeof(fc_arena_block) - ARENA_ALIGN) {
        fc_err_set(FC_ENOMEM, "%s: arena block of %zu bytes is too large", a->owner, need);
        return NULL;
    }
    fc_arena_block *b = malloc(sizeof *b + cap + ARENA_ALIGN);
    if (!b) {
        fc_err_set(FC_ENOMEM, "%s: out of memory allocating an arena block of %zu bytes", a->owner, cap);
        return NULL;
    }
    b->cap = cap;
    b->off = 0;
    b->data = (unsigned char *)(((uintptr_t)(b + 1) + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1));
    b->next = a->blocks;
    a->blocks = b;
    return b;
}

void *fc_arena_alloc(fc_arena *a, size_t n) {
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < n) {
        fc_err_set(FC_ENOMEM, "%s: arena allocation of %zu bytes overflows", a->owner, n);
        return NULL;
    }
    fc_arena_block *b = a->blocks;
    if (!b || b->cap - b->off < need) {
        b = arena_new_block(a, need);
        if (!b) return NULL;
    }
    void *p = b->data + b->off;
    b->off += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    memset(p, 0, n);
    return p;
}

void fc_arena_reset(fc_arena *a) {
    fc_arena_block *keep = NULL;
    for (fc_arena_block *b = a->blocks, *next; b; b = next) {
        next = b->next;
        if (!keep || b->cap > keep->cap) {
            if (keep) free(keep);
            keep = b;
        } else {
            free(b);
        }
    }
    if (keep) {
        keep->off = 0;
        keep->next = NULL;
    }
    a->blocks = keep;
    a->used = 0;
}

void fc_arena_free(fc_arena *a) {
    if (!a) return;
    for (fc_arena_block *b = a->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->blocks = NULL;
    a->used = 0;
}
