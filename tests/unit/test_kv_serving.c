/* test_kv_serving.c: the pool as a serving scheduler uses it (issue 10): overflow-safe reserve/commit
 * (defect 2), generation-tagged handles where a stale handle is an error (defect 3), the owner-thread
 * contract (defect 5), admission queries, mark/rollback, shared blocks with copy on write, all-or-nothing
 * replacement and swapping out and in. Every case ends with fc_kv_pool_check. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/kv/kv_pool.h"
#include "kernels/backend.h"
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
    FC_CHECK(t, fc_kv_pool_params_of(pool)->n_layers == L && fc_kv_pool_params_of(pool)->block_size == BS, "params");
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

/* Issue 10, defect 5: a forward reserves, commits and rolls back inside the call and compression writes
 * too, so two threads working on different sequences corrupted the free list. The contract the code keeps:
 * one owner thread changes the pool; any other thread's mutating call fails and changes nothing. */
typedef struct {
    fc_kv_pool *pool;
    fc_kv_handle a;
    fc_err reserve, create, free_, commit, truncate, fork, swap;
    char msg[256];
    bool claim;       /* claim the pool first, then work on it */
    fc_err after_claim;
} intruder;

static void *intrude(void *arg) {
    intruder *x = arg;
    if (x->claim) {
        fc_kv_pool_claim(x->pool);
        x->after_claim = fc_kv_seq_reserve(x->pool, x->a, 4);
        if (!x->after_claim) x->after_claim = fc_kv_seq_commit(x->pool, x->a, 4);
        return NULL;
    }
    fc_kv_handle h;
    x->reserve = fc_kv_seq_reserve(x->pool, x->a, 4);
    snprintf(x->msg, sizeof x->msg, "%s", fc_errmsg());
    x->create = fc_kv_seq_create(x->pool, &h);
    x->free_ = fc_kv_seq_free(x->pool, x->a);
    x->commit = fc_kv_seq_commit(x->pool, x->a, 0);
    x->truncate = fc_kv_truncate(x->pool, x->a, 0);
    x->fork = fc_kv_seq_fork(x->pool, x->a, &h);
    x->swap = fc_kv_seq_swap_out(x->pool, x->a);
    return NULL;
}

static void test_issue10_defect5_owner_thread(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 8, 3, BS);
    if (!pool) return;
    fc_kv_handle a;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 6, 1) == FC_OK, "%s", fc_errmsg());
    snap s0 = take_snap(pool, a);
    intruder x = {.pool = pool, .a = a};
    pthread_t th;
    FC_CHECK(t, pthread_create(&th, NULL, intrude, &x) == 0, "pthread_create");
    pthread_join(th, NULL);
    FC_CHECK(t, x.reserve == FC_EINVAL && strstr(x.msg, "does not own"), "reserve from another thread: %d '%s'", x.reserve,
             x.msg);
    FC_CHECK(t, x.create == FC_EINVAL && x.free_ == FC_EINVAL && x.commit == FC_EINVAL && x.truncate == FC_EINVAL &&
                    x.fork == FC_EINVAL && x.swap == FC_EINVAL,
             "another thread's calls: create %d free %d commit %d truncate %d fork %d swap %d", x.create, x.free_,
             x.commit, x.truncate, x.fork, x.swap);
    snap s1 = take_snap(pool, a);
    FC_CHECK(t, same_snap(&s0, &s1) && fc_kv_free_seq_slots(pool) == 2, "the refused calls changed the pool");
    /* handing the pool over: the new owner works, the old one is refused */
    x.claim = true;
    FC_CHECK(t, pthread_create(&th, NULL, intrude, &x) == 0, "pthread_create");
    pthread_join(th, NULL);
    FC_CHECK(t, x.after_claim == FC_OK && fc_kv_seq_len(pool, a) == 10, "after claim: %d, len %d", x.after_claim,
             fc_kv_seq_len(pool, a));
    FC_CHECK(t, !fc_kv_pool_owned(pool) && fc_kv_seq_reserve(pool, a, 1) == FC_EINVAL, "the old owner still mutates");
    fc_kv_pool_claim(pool);
    FC_CHECK(t, fc_kv_pool_owned(pool) && fc_kv_seq_reserve(pool, a, 1) == FC_OK, "%s", fc_errmsg());
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* Fork shares blocks; a write into a shared block copies it first, so neither side sees the other's
 * appends; frees release a shared block only with its last holder. */
static void test_kv_fork_copy_on_write(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 12, 4, BS);
    if (!pool) return;
    fc_kv_handle a, b, c;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 6, 1) == FC_OK, "%s", fc_errmsg());
    int free0 = fc_kv_free_layer_blocks(pool); /* a holds 2 blocks per layer, the 2nd partly filled */
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &b) == FC_OK && fc_kv_seq_fork(pool, a, &c) == FC_OK, "%s", fc_errmsg());
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, fc_kv_free_layer_blocks(pool) == free0 && st.layer_blocks_shared == 2 * L && st.n_seqs == 3,
             "forks took blocks: free %d -> %d, shared %d", free0, fc_kv_free_layer_blocks(pool), st.layer_blocks_shared);
    FC_CHECK(t, fc_kv_seq_len(pool, b) == 6 && fc_kv_seq_next_pos(pool, b) == 6 && holds(t, pool, b, 1, 99, 1, "fork"),
             "fork contents");
    /* b appends 3 (entries 6..8, tag 2): per layer its tail block is copied and a 3rd block taken */
    int64_t need = 0;
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, b, 1, &need) == FC_OK && need == L, "copy only: %lld", (long long)need);
    FC_CHECK(t, fc_kv_seq_blocks_needed(pool, b, 3, &need) == FC_OK && need == 2 * L, "copy + block: %lld",
             (long long)need);
    FC_CHECK(t, append(pool, b, 3, 2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_free_layer_blocks(pool) == free0 - 2 * L, "b's copy on write: free %d",
             fc_kv_free_layer_blocks(pool));
    FC_CHECK(t, holds(t, pool, b, 1, 6, 2, "b after append") && holds(t, pool, a, 1, 99, 1, "a after b's append") &&
                    holds(t, pool, c, 1, 99, 1, "c after b's append"),
             "contents");
    /* a appends 1 (tag 3): its tail is still shared with c, so a copies too; c keeps the original */
    FC_CHECK(t, append(pool, a, 1, 3) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, holds(t, pool, a, 1, 6, 3, "a") && holds(t, pool, c, 1, 99, 1, "c"), "contents after a's append");
    /* c is the last holder of the original tail: its append writes in place (no block taken) */
    int f = fc_kv_free_layer_blocks(pool);
    FC_CHECK(t, append(pool, c, 2, 4) == FC_OK && fc_kv_free_layer_blocks(pool) == f, "c took %d blocks",
             f - fc_kv_free_layer_blocks(pool));
    FC_CHECK(t, holds(t, pool, c, 1, 6, 4, "c") && holds(t, pool, a, 1, 6, 3, "a") && holds(t, pool, b, 1, 6, 2, "b"),
             "contents after c's append");
    /* truncating a shared prefix away in one sequence leaves the others whole */
    FC_CHECK(t, fc_kv_truncate(pool, b, 2) == FC_OK && holds(t, pool, c, 1, 6, 4, "c after b's truncate"), "%s",
             fc_errmsg());
    /* write_layer into a shared block copies it (FC_ENOMEM would change nothing) */
    float k[HKV * 4 * D], v[HKV * 4 * D];
    FC_CHECK(t, fc_kv_gather_layer(pool, b, 0, k, v) == FC_OK && fc_kv_write_layer(pool, b, 0, k, v, 2) == FC_OK, "%s",
             fc_errmsg());
    FC_CHECK(t, holds(t, pool, a, 1, 6, 3, "a after b's write"), "write_layer wrote into a shared block");
    check_pool(t, pool, "before frees");
    FC_CHECK(t, fc_kv_seq_free(pool, a) == FC_OK && fc_kv_seq_free(pool, b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, holds(t, pool, c, 1, 6, 4, "c alone"), "c lost entries when its sharers went");
    FC_CHECK(t, fc_kv_seq_free(pool, c) == FC_OK && fc_kv_free_layer_blocks(pool) == 12 * L, "all back: %d",
             fc_kv_free_layer_blocks(pool));
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_shared == 0, "shared %d", st.layer_blocks_shared);
    /* a fork when every slot is taken, and of a stale handle, is refused */
    fc_kv_handle h[4];
    for (int i = 0; i < 4; i++) FC_CHECK(t, fc_kv_seq_create(pool, &h[i]) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_fork(pool, h[0], &b) == FC_ENOMEM && fc_kv_handle_is_none(b), "fork without a slot");
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* Mark / rollback at the pool level: reservations since the mark and a copy on write are undone, earlier
 * reservations kept; a rollback after the length changed is refused. */
static void test_kv_mark_rollback(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 12, 4, BS);
    if (!pool) return;
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 5, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 4) == FC_OK && fc_kv_seq_fork(pool, a, &b) == FC_OK, "%s", fc_errmsg());
    fc_kv_layer_mark ma[L], mb[L];
    snap sa = take_snap(pool, a), sb = take_snap(pool, b);
    FC_CHECK(t, fc_kv_seq_mark(pool, a, ma) == FC_OK && fc_kv_seq_mark(pool, b, mb) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 12) == FC_OK && fc_kv_seq_reserve(pool, b, 3) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_rollback(pool, b, mb) == FC_OK && fc_kv_seq_rollback(pool, a, ma) == FC_OK, "%s", fc_errmsg());
    snap sa1 = take_snap(pool, a), sb1 = take_snap(pool, b);
    FC_CHECK(t, same_snap(&sa, &sa1) && same_snap(&sb, &sb1), "rollback did not restore the tables");
    check_pool(t, pool, "after rollback");
    FC_CHECK(t, append(pool, a, 1, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_rollback(pool, a, ma) == FC_EINVAL, "rollback across a commit accepted");
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* Preemption: swap out frees the blocks and keeps lengths / next_pos; swap in restores the same entries
 * (per-layer lengths) under the same handle; a swap in that does not fit changes nothing. */
static void test_kv_swap_out_in(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 8, 4, BS);
    if (!pool) return;
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 11, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_truncate_layer(pool, a, 1, 5) == FC_OK && fc_kv_seq_set_next_pos(pool, a, 40) == FC_OK, "%s",
             fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 3) == FC_OK, "%s", fc_errmsg()); /* reservations go with the swap */
    FC_CHECK(t, fc_kv_seq_swap_out(pool, a) == FC_OK, "%s", fc_errmsg());
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    size_t row = HKV * D * sizeof(float);
    FC_CHECK(t, st.layer_blocks_used == 0 && st.n_swapped == 1 && st.n_seqs == 0 &&
                    st.bytes_swapped == 2 * (11 + 5 + 11) * row,
             "after swap out: %d blocks, %zu host bytes", st.layer_blocks_used, st.bytes_swapped);
    FC_CHECK(t, !fc_kv_seq_live(pool, a) && fc_kv_seq_swapped(pool, a) && fc_kv_seq_layer_len(pool, a, 1) == 5 &&
                    fc_kv_seq_next_pos(pool, a) == 40,
             "swapped state");
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 1) == FC_EINVAL && strstr(fc_errmsg(), "swapped out"), "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_swap_out(pool, a) == FC_EINVAL, "swapped out twice");
    /* another request fills the pool: a cannot come back yet, and nothing changes */
    FC_CHECK(t, fc_kv_seq_create(pool, &b) == FC_OK && append(pool, b, 28, 2) == FC_OK, "%s", fc_errmsg());
    fc_err e = fc_kv_seq_swap_in(pool, a);
    FC_CHECK(t, e == FC_ENOMEM && fc_kv_seq_swapped(pool, a), "swap in of a full pool: %d", e);
    check_pool(t, pool, "full");
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_OK && fc_kv_seq_swap_in(pool, a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_live(pool, a) && fc_kv_seq_layer_len(pool, a, 0) == 11 && fc_kv_seq_layer_len(pool, a, 1) == 5 &&
                    fc_kv_seq_layer_len(pool, a, 2) == 11 && fc_kv_seq_next_pos(pool, a) == 40,
             "lengths after swap in");
    FC_CHECK(t, holds(t, pool, a, 1, 99, 1, "after swap in"), "contents");
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 3 + 2 + 3 && st.n_swapped == 0 && st.bytes_swapped == 0, "blocks %d",
             st.layer_blocks_used);
    /* a swapped-out fork's shared blocks stay with the other holder; freeing while swapped drops the copy */
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &b) == FC_OK && fc_kv_seq_swap_out(pool, b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, holds(t, pool, a, 1, 99, 1, "a after its fork left"), "contents");
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_OK && fc_kv_seq_swap_in(pool, b) == FC_EINVAL, "freed while swapped");
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* All-or-nothing replacement (compression's commit): shrinks every layer at once; shared blocks are
 * copied, never overwritten; too few free blocks for the copies or a bad length changes nothing. */
static void test_kv_replace_all_or_nothing(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 7, 4, BS);
    if (!pool) return;
    fc_kv_handle a, b, f;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && append(pool, a, 12, 1) == FC_OK, "%s", fc_errmsg());
    /* new contents: entries i of layer l = val(5, l, ...) for i < lens[l] */
    int lens[L] = {5, 2, 0};
    float kb[L][HKV * 12 * D], vb[L][HKV * 12 * D];
    const float *ks[L], *vs[L];
    for (int l = 0; l < L; l++) {
        for (int hh = 0; hh < HKV; hh++)
            for (int i = 0; i < lens[l]; i++)
                for (int d = 0; d < D; d++)
                    kb[l][(hh * lens[l] + i) * D + d] = val(5, l, 0, hh, i, d), vb[l][(hh * lens[l] + i) * D + d] = val(5, l, 1, hh, i, d);
        ks[l] = kb[l], vs[l] = vb[l];
    }
    /* a fork shares all 3 blocks of every layer; only 21 - 9 = 12 free, the copies need 2 + 1 + 0 = 3 */
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &f) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_create(pool, &b) == FC_OK && append(pool, b, 16, 2) == FC_OK, "%s", fc_errmsg()); /* 12: full */
    snap s0 = take_snap(pool, a);
    fc_err e = fc_kv_seq_replace(pool, a, lens, ks, vs);
    snap s1 = take_snap(pool, a);
    FC_CHECK(t, e == FC_ENOMEM && same_snap(&s0, &s1) && holds(t, pool, a, 1, 99, 1, "a after refused replace"),
             "replace without room for copies: e=%d", e);
    int bad[L] = {5, 13, 0};
    FC_CHECK(t, fc_kv_seq_replace(pool, a, bad, ks, vs) == FC_EINVAL, "growing a layer accepted");
    s1 = take_snap(pool, a);
    FC_CHECK(t, same_snap(&s0, &s1), "a refused replace changed a");
    /* with room: a gets private copies, the fork keeps the originals */
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_OK && fc_kv_seq_replace(pool, a, lens, ks, vs) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_len(pool, a, 0) == 5 && fc_kv_seq_layer_len(pool, a, 1) == 2 &&
                    fc_kv_seq_layer_len(pool, a, 2) == 0 && fc_kv_seq_next_pos(pool, a) == 12,
             "lengths after replace");
    FC_CHECK(t, holds(t, pool, a, 5, 99, 5, "a replaced") && holds(t, pool, f, 1, 99, 1, "the fork"), "contents");
    /* unshared: in place, surplus blocks freed at once */
    FC_CHECK(t, fc_kv_seq_free(pool, f) == FC_OK, "%s", fc_errmsg());
    int lens2[L] = {3, 1, 0};
    FC_CHECK(t, fc_kv_seq_replace(pool, a, lens2, ks, vs) == FC_OK && fc_kv_free_layer_blocks(pool) == 21 - 2,
             "free after in-place replace: %d", fc_kv_free_layer_blocks(pool));
    check_pool(t, pool, "end");
    fc_kv_pool_free(pool);
}

/* A pool in GPU memory: copies on write (device to device) and swapping (device to host and back) move
 * the same bytes as on the CPU. Entries are written and read with fc_cuda_memcpy through the slot
 * pointers. Skipped without a GPU. */
static bool cuda_rows(fc_kv_pool *pool, fc_kv_handle h, int n, float base, bool write, float *out) {
    for (int l = 0; l < L; l++)
        for (int i = 0; i < n; i++) {
            float row[HKV * D];
            for (int j = 0; j < HKV * D; j++) row[j] = base + (float)(l * 1000 + i * 10 + j);
            void *dk = fc_kv_slot_k(pool, h, l, i);
            if (write) {
                if (fc_cuda_memcpy(dk, true, row, false, sizeof row)) return false;
            } else {
                if (fc_cuda_memcpy(out, false, dk, true, sizeof row)) return false;
                if (memcmp(out, row, sizeof row)) return false;
            }
        }
    return true;
}

static void test_kv_cuda_pool_fork_swap(fc_test *t) {
    if (fc_cuda_device_count() == 0) {
        fc_test_skip(t, fc_cuda_describe());
        return;
    }
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = HKV, .head_dim = D, .block_size = BS, .n_blocks = 8,
                           .max_seqs = 4, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CUDA};
    fc_kv_pool *pool = NULL;
    FC_CHECK(t, fc_kv_pool_create(&pool, &p) == FC_OK, "%s", fc_errmsg());
    fc_kv_handle a, b;
    float buf[HKV * D];
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && fc_kv_seq_reserve(pool, a, 6) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, cuda_rows(pool, a, 6, 1.0f, true, buf) && fc_kv_seq_commit(pool, a, 6) == FC_OK, "write: %s", fc_errmsg());
    /* the fork's first append copies the shared tail on the device; both still read the prefix */
    FC_CHECK(t, fc_kv_seq_fork(pool, a, &b) == FC_OK && fc_kv_seq_reserve(pool, b, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_blocks(pool, b, 0)[1] != fc_kv_seq_layer_blocks(pool, a, 0)[1], "no copy on write");
    FC_CHECK(t, cuda_rows(pool, b, 6, 1.0f, false, buf) && cuda_rows(pool, a, 6, 1.0f, false, buf), "prefix after copy");
    /* swap a out and back: the same bytes */
    FC_CHECK(t, fc_kv_seq_swap_out(pool, a) == FC_OK && fc_kv_seq_swap_in(pool, a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, cuda_rows(pool, a, 6, 1.0f, false, buf), "contents after swap in");
    check_pool(t, pool, "cuda");
    fc_kv_pool_free(pool);
}

static const fc_test_case cases[] = {
    FC_CASE(test_kv_cuda_pool_fork_swap),
    FC_CASE(test_issue10_defect5_owner_thread),
    FC_CASE(test_kv_fork_copy_on_write),
    FC_CASE(test_kv_mark_rollback),
    FC_CASE(test_kv_swap_out_in),
    FC_CASE(test_kv_replace_all_or_nothing),
    FC_CASE(test_issue10_defect2_reserve_commit_overflow),
    FC_CASE(test_issue10_defect3_stale_handle),
    FC_CASE(test_kv_admission_queries),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
