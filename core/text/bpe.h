/* bpe.h: the byte-pair-encoding model both tokenizers share: a vocabulary (token string <-> id), a merge
 * table keyed by the id pair, and the merge loop of the `tokenizers` library's BPE (models/bpe/word.rs):
 * a priority queue of candidate merges ordered by (rank, position), applied lowest first, stale entries
 * skipped. O(n log n) per word, so a whole 1 MB Llama segment (no pre-tokenizer) is fine.
 * Not thread-safe to build; the lookups are read-only and may run concurrently. */
#ifndef FC_TEXT_BPE_H
#define FC_TEXT_BPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

typedef struct {
    uint64_t *keys;   /* (a << 32 | b) + 1; 0 = empty */
    uint32_t *rank;   /* merge rank (lower merges first) */
    int32_t *new_id;  /* id of the merged token */
    size_t cap;       /* power of two */
    size_t count;
} fc_bpe_pairmap;

typedef struct {
    /* token strings: text[off[i] .. off[i]+len[i]) is token i, for i < n_tokens (-1 gaps allowed) */
    char *text;
    size_t text_len, text_cap;
    uint32_t *off, *len;
    int32_t n_tokens;   /* ids are 0 .. n_tokens-1; ids without a string have len UINT32_MAX */
    int32_t id_cap;     /* allocated entries of off/len */
    int32_t *slots;     /* hash slots: id or -1 */
    size_t slot_cap;    /* power of two */
    fc_bpe_pairmap merges;
} fc_bpe;

/* Words already encoded in this call (short words only): word bytes -> ids. */
typedef struct {
    uint64_t *hash; /* 0 = empty slot */
    uint32_t *key_off, *key_len, *val_off, *val_len;
    char *keys;
    int32_t *vals;
    size_t keys_n, keys_cap, vals_n, vals_cap, cap, count;
} fc_bpe_cache;

/* Scratch for one encode call: merge buffers reused across words, and the word cache. Zero-init, then
 * fc_bpe_work_free. Not shared between threads. */
typedef struct {
    int32_t *prev, *next;
    struct fc_bpe_cand *heap;
    size_t cap, heap_cap;
    fc_bpe_cache cache;
} fc_bpe_work;

#define FC_BPE_CACHE_MAX_WORD 64 /* longer words are not cached */

/* Cached ids of word s[0..n), or false. *ids points into the cache (valid until the next put). */
bool fc_bpe_cache_get(const fc_bpe_work *w, const char *s, size_t n, const int32_t **ids, int *n_ids);
/* Remembers word -> ids; does nothing for long words or a full cache. Fails only on allocation. */
fc_err fc_bpe_cache_put(fc_bpe_work *w, const char *s, size_t n, const int32_t *ids, int n_ids);

void fc_bpe_init(fc_bpe *b);
void fc_bpe_free(fc_bpe *b);
void fc_bpe_work_free(fc_bpe_work *w);

/* Adds token s[0..n) with id (0 <= id < 2^30). A string already present keeps its first id (the error
 * says so) unless allow_dup; an id already used fails. The vocabulary is keyed by bytes. */
fc_err fc_bpe_add_token(fc_bpe *b, const char *s, size_t n, int32_t id, bool allow_dup);
/* Id of s[0..n), or -1. */
int32_t fc_bpe_lookup(const fc_bpe *b, const char *s, size_t n);
/* Token string of id (not NUL-terminated) and its length, or NULL for an unknown id. */
const char *fc_bpe_token(const fc_bpe *b, int32_t id, size_t *len);

/* Registers merge (a, b) -> new_id with rank; a pair seen again is overwritten, as the library's
 * HashMap collect does for tokenizer.json. */
fc_err fc_bpe_add_merge(fc_bpe *b, int32_t a, int32_t c, uint32_t rank, int32_t new_id);
/* Looks up a pair; false if it is not a merge. */
bool fc_bpe_find_merge(const fc_bpe *b, int32_t a, int32_t c, uint32_t *rank, int32_t *new_id);

/* Merges ids[0..n) in place by rank; returns the new count through *n. Fails only on allocation. */
fc_err fc_bpe_merge(const fc_bpe *b, fc_bpe_work *w, int32_t *ids, int *n);

#endif
