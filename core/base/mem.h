/* mem.h: checked allocation and the arena allocator.
 *
 * fc_malloc/fc_calloc return NULL and set an error naming the size and the owner when memory runs out
 * or a size computation overflows; they never abort. fc_mul_size() multiplies sizes with overflow
 * detection, for readers that compute byte counts from untrusted shapes.
 *
 * An arena is one growing list of large blocks with a named owner ("weights", "activations", "tape").
 * Allocations are bump-pointer, 64-byte aligned, freed all at once by fc_arena_reset or fc_arena_free.
 */
#ifndef FC_MEM_H
#define FC_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/base/err.h"

void *fc_malloc(size_t n, const char *owner);
void *fc_calloc(size_t count, size_t size, const char *owner);
/* Like realloc; on failure the old block stays valid and NULL is returned with an error set. */
void *fc_realloc(void *p, size_t n, const char *owner);
char *fc_strdup(const char *s);

/* *out = a * b; returns false (and leaves *out untouched) on overflow. */
bool fc_mul_size(size_t a, size_t b, size_t *out);

typedef struct fc_arena_block fc_arena_block;
typedef struct {
    const char *owner;      /* named in out-of-memory messages */
    size_t block_size;      /* default size of a new block */
    fc_arena_block *blocks; /* newest first */
    size_t used;            /* bytes handed out since the last reset */
    size_t peak;            /* high-water mark of used */
} fc_arena;

/* block_size 0 picks 1 MiB. The arena owns nothing until the first alloc. */
void fc_arena_init(fc_arena *a, const char *owner, size_t block_size);
/* 64-byte aligned, zero-filled memory valid until reset/free; NULL with an error on failure. */
void *fc_arena_alloc(fc_arena *a, size_t n);
/* Forget all allocations but keep the largest block for reuse. */
void fc_arena_reset(fc_arena *a);
/* Release everything; accepts an arena never allocated from. */
void fc_arena_free(fc_arena *a);

#endif
