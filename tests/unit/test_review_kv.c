/* test_review_kv.c: regression tests for defects a review of the pool found (core/kv/kv_pool.h), each named
 * after its defect. Every case ends with fc_kv_pool_check. */
#include <string.h>

#include "core/kv/kv_pool.h"
#include "tests/test.h"

enum { L = 2, HKV = 1, D = 2, BS = 4 };

static fc_kv_pool *make_pool(fc_test *t, int n_blocks, int max_seqs) {
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = HKV, .head_dim = D, .block_size = BS, .n_blocks = n_blocks,
                           .max_seqs = max_seqs, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CPU};
    fc_kv_pool *pool = NULL;
    if (fc_kv_pool_create(&pool, &p)) fc_test_fail(t, "create: %s", fc_errmsg());
    return pool;
}

/* Appends n entries whose K and V are tag + position, as the model writes them. */
static fc_err append(fc_kv_pool *pool, fc_kv_handle h, int n, float tag) {
    FC_TRY(fc_kv_seq_reserve(pool, h, n));
    for (int l = 0; l < L; l++)
        for (int len = fc_kv_seq_layer_len(pool, h, l), i = len; i < len + n; i++) {
            float *k = fc_kv_slot_k(pool, h, l, i), *v = fc_kv_slot_v(pool, h, l, i);
            for (int d = 0; d < HKV * D; d++) k[d] = v[d] = tag + (float)i;
        }
    return fc_kv_seq_commit(pool, h, n);
}

/* Every entry of every layer of h holds tag + its position. */
static bool holds(fc_test *t, const fc_kv_pool *pool, fc_kv_handle h, float tag, const char *what) {
    float k[64 * HKV * D], v[64 * HKV * D];
    for (int l = 0; l < L; l++) {
        int S = fc_kv_seq_layer_len(pool, h, l);
        if (S > 64 || fc_kv_gather_layer(pool, h, l, k, v)) return fc_test_fail(t, "%s: gather: %s", what, fc_errmsg());
        for (int i = 0; i < S * HKV * D; i++)
            if (k[i] != tag + (float)(i / D % S) || v[i] != tag + (float)(i / D % S))
                return fc_test_fail(t, "%s: layer %d entry %d: k %g v %g, want %g", what, l, i / D % S, k[i], v[i],
                                    tag + (float)(i / D % S));
    }
    return true;
}

/* A mark records the partly filled tail block a copy on write replaces; a rollback takes that block back.
 * When the block was freed in between (its other holder, a fork, ended) and another sequence took it from
 * the free list, the rollback accepted it because its reference count was not zero again: the rolled-back
 * sequence then read the other sequence's entries. kv_pool.h promises FC_EINVAL, nothing changed. */
static void test_review_rollback_tail_freed_and_reused(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 8, 4);
    if (!pool) return;
    fc_kv_handle a, b, c;
    fc_kv_layer_mark m[L];
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 5, 100) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_mark(pool, a, m) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 2) == FC_OK, "%s", fc_errmsg()); /* copies the shared tail */
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_OK, "%s", fc_errmsg());      /* the old tail goes free */
    FC_CHECK(t, fc_kv_seq_create(pool, &c) == FC_OK && append(pool, c, 3, 900) == FC_OK, "%s", fc_errmsg());
    bool reused = false; /* the free list is a stack: c's blocks are a's old tails */
    for (int l = 0; l < L; l++) reused |= fc_kv_seq_layer_blocks(pool, c, l)[0] == m[0].tail;
    FC_CHECK(t, reused, "the free list should hand a's old tail block to c");
    fc_err e = fc_kv_seq_rollback(pool, a, m);
    FC_CHECK(t, e == FC_EINVAL, "rollback onto a block another sequence took again: %d (%s)", (int)e,
             e ? fc_errmsg() : "accepted");
    FC_CHECK(t, holds(t, pool, a, 100, "a after the refused rollback"), "a changed");
    FC_CHECK(t, holds(t, pool, c, 900, "c"), "c changed");
    FC_CHECK(t, fc_kv_pool_check(pool) == FC_OK, "%s", fc_errmsg());
    /* the ordinary case still undoes the copy on write: the tail is still held by the fork */
    fc_kv_handle f;
    FC_CHECK(t, fc_kv_truncate(pool, a, 5) == FC_OK && fc_kv_seq_fork(pool, a, &f) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_mark(pool, a, m) == FC_OK && fc_kv_seq_reserve(pool, a, 2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_blocks(pool, a, 0)[1] != m[0].tail, "no copy on write");
    FC_CHECK(t, fc_kv_seq_rollback(pool, a, m) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_blocks(pool, a, 0)[1] == m[0].tail, "the copy on write was not undone");
    FC_CHECK(t, holds(t, pool, a, 100, "a after rollback") && holds(t, pool, f, 100, "fork"), "contents");
    FC_CHECK(t, fc_kv_pool_check(pool) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_free(pool);
}

static const fc_test_case cases[] = {
    FC_CASE(test_review_rollback_tail_freed_and_reused),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
