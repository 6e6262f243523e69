/* test_kv_serving.c: the pool as a serving scheduler uses it (issue 10): overflow-safe reserve/commit
 * (defect 2), generation-tagged handles where a stale handle is an error (defect 3), the owner-thread
 * contract (defect 5), admission queries, mark/rollback, shared blocks with copy on write, all-or-nothing
 * replacement and swapping out and in. Every case ends with fc_kv_pool_check. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/kv/kv_pool.h"
#include "tests/test.h"

enum { L = 3, HKV = 2, D = 5, BS = 4 };

static fc_kv_pool *make_pool(fc_test *t, int n_blocks, int max_seqs, int block_size) {
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = HKV, .head_dim = D, .block_size = block_size,
                           .n_blocks = n_blocks, .max_seqs = max_seqs, .dtype = FC_DTYPE_F32,
                           .device = FC_DEVICE_CPU};
    fc_kv_pool *pool = NULL;
    if (fc_kv_pool_create(&pool, &p)) fc_test_fail(t, "create: %s", fc_errmsg());
    return pool;
}

/* value of entry i, head h, dim d of layer l, K or V, tagged with the sequence's `tag` */
static float val(int tag, int l, int kv, int h, int i, int d) {
    return (float)(tag * 100000 + l * 10000 + kv * 5000 + h * 1000 + i * 10 + d);
}

/* Appends n entries valued val(tag, ...) at each layer's own length, as the model does. */
static fc_err append(fc_kv_pool *pool, fc_kv_handle h, int n, int tag) {
    FC_TRY(fc_kv_seq_reserve(pool, h, n));
    for (int l = 0; l < L; l++)
        for (int len = fc_kv_seq_layer_len(pool, h, l), i = len; i < len + n; i++) {
            float *k = fc_kv_slot_k(pool, h, l, i), *v = fc_kv_slot_v(pool, h, l, i);
            for (int hh = 0; hh < HKV; hh++)
                for (int d = 0; d < D; d++) k[hh * D + d] = val(tag, l, 0, hh, i, d), v[hh * D + d] = val(tag, l, 1, hh, i, d);
        }
    return fc_kv_seq_commit(pool, h, n);
}

/* The sequence's entries [0, n) of every layer read back equal val(tag, ...) (entries >= from use tag2). */
static bool holds(fc_test *t, fc_kv_pool *pool, fc_kv_handle h, int tag, int from, int tag2, const char *what) {
    float k[HKV * 64 * D], v[HKV * 64 * D];
    for (int l = 0; l < L; l++) {
        int S = fc_kv_seq_layer_len(pool, h, l);
        if (S > 64 || fc_kv_gather_layer(pool, h, l, k, v)) return fc_test_fail(t, "%s: gather: %s", what, fc_errmsg());
        for (int hh = 0; hh < HKV; hh++)
            for (int i = 0; i < S; i++)
                for (int d = 0; d < D; d++) {
                    int g = i < from ? tag : tag2;
                    if (k[(hh * S + i) * D + d] != val(g, l, 0, hh, i, d) || v[(hh * S + i) * D + d] != val(g, l, 1, hh, i, d))
                        return fc_test_fail(t, "%s: layer %d head %d entry %d dim %d: k %g want %g", what, l, hh, i, d,
                                            k[(hh * S + i) * D + d], val(g, l, 0, hh, i, d));
                }
    }
    return true;
}

static bool check_pool(fc_test *t, const fc_kv_pool *pool, const char *what) {
    fc_err e = fc_kv_pool_check(pool);
    return e == FC_OK || fc_test_fail(t, "%s: %s", what, fc_errmsg());
}

/* What a caller can observe of one sequence: per layer length and block table, and next_pos. */
typedef struct {
    int len[L], nb[L], next;
    int32_t blocks[L][64];
    int free_blocks;
} snap;

static snap take_snap(const fc_kv_pool *pool, fc_kv_handle h) {
    snap s;
    memset(&s, 0, sizeof s);
    for (int l = 0; l < L; l++) {
        s.len[l] = fc_kv_seq_layer_len(pool, h, l);
        s.nb[l] = (int)(fc_kv_seq_bytes(pool, h) / (2 * pool->block_bytes) / L); /* equal per layer in these tests */
        const int32_t *b = fc_kv_seq_layer_blocks(pool, h, l);
        for (int i = 0; b && i < pool->seqs[h.slot].layers[l].n_blocks && i < 64; i++) s.blocks[l][i] = b[i];
    }
    s.next = fc_kv_seq_next_pos(pool, h);
    s.free_blocks = fc_kv_free_layer_blocks(pool);
    return s;
}

static bool same_snap(const snap *a, const snap *b) { return memcmp(a, b, sizeof *a) == 0; }

/* Issue 10, defect 2: reserve/commit of INT32_MAX entries "succeeded" and left a sequence claiming 2^31 - 1
 * entries with no blocks; a large reserve on a small pool wrapped the per-layer sum negative and passed
 * the free-block check. Each must be refused and change nothing. */
static void test_issue10_defect2_reserve_commit_overflow(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 8, 4, 1); /* block size 1: blocks = entries, the worst case for the sums */
    if (!pool) return;
    fc_kv_handle a;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, append(pool, a, 5, 1) == FC_OK, "%s", fc_errmsg());
    snap s0 = take_snap(pool, a);
    /* 3 layers x (2^31 - 6) blocks: wraps a 32-bit sum; must be "pool full" */
    fc_err e = fc_kv_seq_reserve(pool, a, INT32_MAX - 5);
    FC_CHECK(t, e == FC_ENOMEM && strstr(fc_errmsg(), "pool full"), "e=%d: %s", e, fc_errmsg());
    /* past INT32_MAX in total: refused as invalid */
    e = fc_kv_seq_reserve(pool, a, INT32_MAX - 4);
    FC_CHECK(t, e == FC_EINVAL, "reserve past INT32_MAX: e=%d", e);
    e = fc_kv_seq_reserve(pool, a, INT32_MAX);
    FC_CHECK(t, e == FC_EINVAL, "reserve INT32_MAX on top of 5: e=%d", e);
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, -1) == FC_EINVAL, "negative reserve accepted");
    /* commits past the reservation or past INT32_MAX */
    FC_CHECK(t, fc_kv_seq_commit(pool, a, INT32_MAX) == FC_EINVAL, "commit INT32_MAX accepted");
    FC_CHECK(t, fc_kv_seq_commit(pool, a, INT32_MAX - 5) == FC_EINVAL, "commit without blocks accepted");
    FC_CHECK(t, fc_kv_seq_commit(pool, a, -3) == FC_EINVAL, "negative commit accepted");
    snap s1 = take_snap(pool, a);
    FC_CHECK(t, same_snap(&s0, &s1) && fc_kv_seq_len(pool, a) == 5, "a refused call changed the sequence");
    /* the same on a fresh sequence: INT32_MAX entries */
    fc_kv_handle b;
    FC_CHECK(t, fc_kv_seq_create(pool, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, b, INT32_MAX) == FC_ENOMEM, "reserve INT32_MAX on an empty sequence");
    FC_CHECK(t, fc_kv_seq_commit(pool, b, INT32_MAX) == FC_EINVAL && fc_kv_seq_len(pool, b) == 0,
             "commit INT32_MAX on an empty sequence: len %d", fc_kv_seq_len(pool, b));
    /* next_pos near INT32_MAX: a commit that would pass it is refused */
    FC_CHECK(t, fc_kv_seq_set_next_pos(pool, b, INT32_MAX - 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, b, 2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_commit(pool, b, 2) == FC_EINVAL && fc_kv_seq_next_pos(pool, b) == INT32_MAX - 1,
             "next_pos overflow accepted");
    /* block rounding is exact at the extremes (no len + bs - 1 wrap) */
    fc_kv_pool *p16 = make_pool(t, 1, 1, 16);
    if (p16) {
        FC_CHECK(t, fc_kv_blocks_for(p16, INT32_MAX) == (int64_t)INT32_MAX / 16 + 1, "blocks_for(INT32_MAX) %lld",
                 (long long)fc_kv_blocks_for(p16, INT32_MAX));
        FC_CHECK(t, fc_kv_blocks_for(p16, INT64_MAX) == INT64_MAX / 16 + 1, "blocks_for(INT64_MAX)");
        FC_CHECK(t, fc_kv_blocks_for(p16, 16) == 1 && fc_kv_blocks_for(p16, 17) == 2 && fc_kv_blocks_for(p16, 0) == 0 &&
                        fc_kv_blocks_for(p16, -5) == 0,
                 "small rounding");
        FC_CHECK(t, fc_kv_blocks_for_new(p16, INT32_MAX) == 3 * ((int64_t)INT32_MAX / 16 + 1), "blocks_for_new");
    }
    fc_kv_pool_free(p16);
    check_pool(t, pool, "after refusals");
    fc_kv_pool_free(pool);
}

/* Issue 10, defect 3: ids were slot indices reused at once, so a late second free of request A's id
 * destroyed request B, which got the same slot (a cancel racing a finish). Handles carry a generation. */
static void test_issue10_defect3_stale_handle(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 8, 2, BS);
    if (!pool) return;
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 6, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_free(pool, a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_create(pool, &b) == FC_OK && append(pool, b, 9, 2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, b.slot == a.slot && !fc_kv_handle_eq(a, b), "b reuses a's slot with a new generation (a %u#%u b %u#%u)",
             a.slot, a.gen, b.slot, b.gen);
    snap s0 = take_snap(pool, b);
    /* the late free of a: an error naming the stale handle; b untouched */
    fc_err e = fc_kv_seq_free(pool, a);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "stale"), "e=%d: %s", e, fc_errmsg());
    FC_CHECK(t, fc_kv_seq_live(pool, b) && !fc_kv_seq_live(pool, a), "liveness");
    /* every mutating call refuses the stale handle */
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 1) == FC_EINVAL, "reserve");
    FC_CHECK(t, fc_kv_seq_commit(pool, a, 0) == FC_EINVAL, "commit");
    FC_CHECK(t, fc_kv_truncate(pool, a, 0) == FC_EINVAL, "truncate");
    FC_CHECK(t, fc_kv_truncate_layer(pool, a, 0, 0) == FC_EINVAL, "truncate_layer");
    FC_CHECK(t, fc_kv_seq_set_next_pos(pool, a, 0) == FC_EINVAL, "set_next_pos");
    FC_CHECK(t, fc_kv_seq_swap_out(pool, a) == FC_EINVAL, "swap_out");
    fc_kv_handle c;
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &c) == FC_EINVAL && fc_kv_handle_is_none(c), "fork");
    float k[HKV * 16 * D];
    FC_CHECK(t, fc_kv_gather_layer(pool, a, 0, k, NULL) == FC_EINVAL, "gather");
    /* queries answer as for no sequence */
    FC_CHECK(t, fc_kv_seq_len(pool, a) == 0 && fc_kv_seq_layer_blocks(pool, a, 0) == NULL && fc_kv_seq_bytes(pool, a) == 0,
             "queries on a stale handle");
    snap s1 = take_snap(pool, b);
    FC_CHECK(t, same_snap(&s0, &s1) && holds(t, pool, b, 2, 99, 2, "b after stale calls"), "b changed");
    /* FC_KV_NONE is free(NULL); out-of-range slots and gen 0 are errors elsewhere */
    FC_CHECK(t, fc_kv_seq_free(pool, FC_KV_NONE) == FC_OK, "free(NONE)");
    FC_CHECK(t, fc_kv_seq_reserve(pool, FC_KV_NONE, 1) == FC_EINVAL, "reserve(NONE)");
    FC_CHECK(t, fc_kv_seq_free(pool, (fc_kv_handle){99, 1}) == FC_EINVAL, "slot 99");
    /* a double free of b: the second is an error, the first worked */
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_OK && fc_kv_seq_free(pool, b) == FC_EINVAL, "double free");
    FC_CHECK(t, fc_kv_free_layer_blocks(pool) == 8 * L, "all blocks back: %d", fc_kv_free_layer_blocks(pool));
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* Admission: O(1) free counts, blocks for a new request, blocks a planned append takes (reserved blocks
 * count as held), and reserve-ahead keeping blocks for the sequence. */
static void test_kv_admission_queries(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 10, 3, BS);
    if (!pool) return;
    FC_CHECK(t, fc_kv_free_layer_blocks(pool) == 30 && fc_kv_free_seq_slots(pool) == 3, "fresh pool");
    FC_CHECK(t, fc_kv_blocks_for_new(pool, 9) == 9 && fc_kv_blocks_for_new(pool, 0) == 0, "new of 9: %lld",
             (long long)fc_kv_blocks_for_new(pool, 9));
    fc_kv_handle a;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 6, 1) == FC_OK, "%s", fc_errmsg());
    int64_t need = -1;
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, a, 2, &need) == FC_OK && need == 0, "6 -> 8: %lld", (long long)need);
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, a, 3, &need) == FC_OK && need == 3, "6 -> 9: %lld", (long long)need);
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, a, -1, &need) == FC_EINVAL, "negative");
    /* reserve ahead 10 more (16: 4 blocks per layer), then a planned append of 10 needs nothing */
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 10) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_free_layer_blocks(pool) == 30 - 12, "free after reserve: %d", fc_kv_free_layer_blocks(pool));
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, a, 10, &need) == FC_OK && need == 0, "reserved: %lld", (long long)need);
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, a, 11, &need) == FC_OK && need == 3, "one past: %lld", (long long)need);
    /* the prediction is what reserve takes */
    int before = fc_kv_free_layer_blocks(pool);
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 11) == FC_OK && before - fc_kv_free_layer_blocks(pool) == 3, "reserve 11");
    fc_kv_handle x, y, z;
    FC_CHECK(t, fc_kv_seq_create(pool, &x) == FC_OK && fc_kv_seq_create(pool, &y) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_free_seq_slots(pool) == 0 && fc_kv_seq_create(pool, &z) == FC_ENOMEM && fc_kv_handle_is_none(z),
             "slots exhausted");
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

static const fc_test_case cases[] = {
    FC_CASE(test_issue10_defect2_reserve_commit_overflow),
    FC_CASE(test_issue10_defect3_stale_handle),
    FC_CASE(test_kv_admission_queries),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
