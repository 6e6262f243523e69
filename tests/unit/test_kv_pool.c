/* test_kv_pool.c: the paged KV pool: block accounting (bytes freed at once on shrink and end), the
 * gather / write / truncate calls the compressors use, positions kept apart from lengths, refusals. */
#include <string.h>

#include "core/kv/kv_pool.h"
#include "tests/test.h"

static fc_kv_pool *make_pool(fc_test *t, int n_blocks, fc_dtype dt) {
    fc_kv_pool_params p = {.n_layers = 3, .n_kv_heads = 2, .head_dim = 5, .block_size = 4, .n_blocks = n_blocks,
                           .max_seqs = 4, .dtype = dt, .device = FC_DEVICE_CPU};
    fc_kv_pool *pool = NULL;
    fc_err e = fc_kv_pool_create(&pool, &p);
    if (e) fc_test_fail(t, "create: %s", fc_errmsg());
    return pool;
}

/* value of entry i, head h, dim d, layer l, K (kv=0) or V (kv=1): distinct everywhere */
static float val(int l, int kv, int h, int i, int d) { return (float)(l * 10000 + kv * 5000 + h * 1000 + i * 10 + d); }

/* Writes n entries through the slot pointers, as the model does, and commits them. */
static fc_err append(fc_kv_pool *pool, fc_kv_handle seq, int n) {
    FC_TRY(fc_kv_seq_reserve(pool, seq, n));
    for (int l = 0; l < pool->p.n_layers; l++)
        for (int len = fc_kv_seq_layer_len(pool, seq, l), i = len; i < len + n; i++) { /* each at its own length */
            float k[64], v[64]; /* one row [Hkv, D], converted to the pool's dtype as the model does */
            for (int h = 0; h < pool->p.n_kv_heads; h++)
                for (int d = 0; d < pool->p.head_dim; d++) {
                    k[h * pool->p.head_dim + d] = val(l, 0, h, i, d);
                    v[h * pool->p.head_dim + d] = val(l, 1, h, i, d);
                }
            fc_dtype_convert(fc_kv_slot_k(pool, seq, l, i), pool->p.dtype, k, FC_DTYPE_F32, pool->row_elems);
            fc_dtype_convert(fc_kv_slot_v(pool, seq, l, i), pool->p.dtype, v, FC_DTYPE_F32, pool->row_elems);
        }
    return fc_kv_seq_commit(pool, seq, n);
}

static void test_kv_accounting_frees_bytes(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 10, FC_DTYPE_F32);
    if (!pool) return;
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    /* per block: 3 layers x (K and V) x 4 slots x 2 heads x 5 dims x 4 bytes, by definition */
    size_t per_block = 3 * 2 * 4 * 2 * 5 * 4;
    FC_CHECK(t, st.bytes_per_block == per_block, "bytes per block %zu want %zu", st.bytes_per_block, per_block);
    FC_CHECK(t, st.bytes_capacity == 10 * per_block && st.bytes_used == 0, "capacity %zu used %zu", st.bytes_capacity,
             st.bytes_used);
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && fc_kv_seq_create(pool, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, append(pool, a, 13) == FC_OK, "%s", fc_errmsg()); /* 4 blocks */
    FC_CHECK(t, append(pool, b, 4) == FC_OK, "%s", fc_errmsg());  /* 1 block */
    FC_CHECK(t, append(pool, b, 1) == FC_OK, "%s", fc_errmsg());  /* 2 blocks */
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 6 && st.bytes_used == 6 * per_block, "used %d blocks", st.blocks_used);
    FC_CHECK(t, st.entries == 18 && st.n_seqs == 2, "entries %lld seqs %d", (long long)st.entries, st.n_seqs);
    /* compress a: 13 entries -> 5 keeps 2 blocks, frees 2 at once */
    FC_CHECK(t, fc_kv_truncate(pool, a, 5) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 4 && st.bytes_used == 4 * per_block, "after truncate: %d blocks", st.blocks_used);
    FC_CHECK(t, st.blocks_peak == 6 && st.bytes_peak == 6 * per_block, "peak %d", st.blocks_peak);
    FC_CHECK(t, fc_kv_seq_len(pool, a) == 5 && fc_kv_seq_next_pos(pool, a) == 13, "len %d next_pos %d",
             fc_kv_seq_len(pool, a), fc_kv_seq_next_pos(pool, a));
    /* truncating to the same length or 0 */
    FC_CHECK(t, fc_kv_truncate(pool, a, 5) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_truncate(pool, a, 0) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 2, "after truncate to 0: %d blocks", st.blocks_used);
    /* ending b frees its blocks */
    fc_kv_seq_free(pool, b);
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 0 && st.bytes_used == 0 && st.n_seqs == 1, "after free: %d blocks", st.blocks_used);
    /* freeing twice is an error that changes nothing (the handle is stale) */
    FC_CHECK(t, fc_kv_seq_free(pool, b) == FC_EINVAL && strstr(fc_errmsg(), "stale"), "%s", fc_errmsg());
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.n_seqs == 1 && fc_kv_seq_len(pool, a) == 0 && fc_kv_seq_live(pool, a), "a second free changed a");
    fc_kv_pool_free(pool);
}

static void test_kv_full_pool_changes_nothing(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 3, FC_DTYPE_F32);
    if (!pool) return;
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && fc_kv_seq_create(pool, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, append(pool, a, 9) == FC_OK, "%s", fc_errmsg()); /* 3 blocks: full */
    fc_err e = fc_kv_seq_reserve(pool, b, 1);
    FC_CHECK(t, e == FC_ENOMEM && strstr(fc_errmsg(), "pool full"), "e=%d msg '%s'", e, fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 3) == FC_OK, "room left in a's last block: %s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 4) == FC_ENOMEM, "a needs a 4th block");
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 3 && fc_kv_seq_len(pool, a) == 9 && fc_kv_seq_len(pool, b) == 0, "changed");
    /* commit past the reservation is refused */
    FC_CHECK(t, fc_kv_seq_commit(pool, b, 1) == FC_EINVAL, "commit without reserve");
    FC_CHECK(t, fc_kv_truncate(pool, a, 10) == FC_EINVAL, "truncate beyond length");
    FC_CHECK(t, fc_kv_seq_set_next_pos(pool, a, -1) == FC_EINVAL, "negative position");
    FC_CHECK(t, fc_kv_seq_reserve(pool, (fc_kv_handle){7, 1}, 1) == FC_EINVAL, "dead sequence id");
    /* sequence slots run out */
    fc_kv_handle c, d, x;
    FC_CHECK(t, fc_kv_seq_create(pool, &c) == FC_OK && fc_kv_seq_create(pool, &d) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_create(pool, &x) == FC_ENOMEM, "a 5th sequence in a 4-slot pool");
    fc_kv_pool_free(pool);
    /* bad parameters */
    fc_kv_pool_params p = {.n_layers = 1, .n_kv_heads = 1, .head_dim = 0, .block_size = 4, .n_blocks = 1,
                           .max_seqs = 1, .dtype = FC_DTYPE_F32};
    fc_kv_pool *bad = (fc_kv_pool *)1;
    FC_CHECK(t, fc_kv_pool_create(&bad, &p) == FC_EINVAL && bad == NULL, "head_dim 0 accepted");
    p.head_dim = 8, p.dtype = FC_DTYPE_I32;
    FC_CHECK(t, fc_kv_pool_create(&bad, &p) == FC_EUNSUPPORTED, "i32 storage accepted");
}

/* gather returns [Hkv, S, D]; write + truncate keeps chosen entries; next_pos is untouched unless set */
static void check_gather_write(fc_test *t, fc_dtype dt) {
    fc_kv_pool *pool = make_pool(t, 16, dt);
    if (!pool) return;
    fc_kv_handle a;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, append(pool, a, 11) == FC_OK, "%s", fc_errmsg());
    int S = 11, H = 2, D = 5;
    float k[2 * 11 * 5], v[2 * 11 * 5];
    for (int l = 0; l < 3; l++) {
        FC_CHECK(t, fc_kv_gather_layer(pool, a, l, k, v) == FC_OK, "%s", fc_errmsg());
        for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++)
                for (int d = 0; d < D; d++) {
                    /* values up to ~25000 are not exact in 16 bits: compare after the same rounding */
                    float wk = val(l, 0, h, i, d), wv = val(l, 1, h, i, d);
                    if (dt == FC_DTYPE_BF16) wk = fc_bf16_to_f32(fc_f32_to_bf16(wk)), wv = fc_bf16_to_f32(fc_f32_to_bf16(wv));
                    if (dt == FC_DTYPE_F16) wk = fc_f16_to_f32(fc_f32_to_f16(wk)), wv = fc_f16_to_f32(fc_f32_to_f16(wv));
                    FC_CHECK(t, k[(h * S + i) * D + d] == wk && v[(h * S + i) * D + d] == wv,
                             "layer %d head %d entry %d dim %d: k %g v %g", l, h, i, d, k[(h * S + i) * D + d],
                             v[(h * S + i) * D + d]);
                }
    }
    /* keep entries 0, 3, 10 in every layer (a compressor's selection) */
    int keep[3] = {0, 3, 10};
    for (int l = 0; l < 3; l++) {
        float kk[2 * 3 * 5], vv[2 * 3 * 5];
        FC_CHECK(t, fc_kv_gather_layer(pool, a, l, k, v) == FC_OK, "%s", fc_errmsg());
        for (int h = 0; h < H; h++)
            for (int j = 0; j < 3; j++)
                for (int d = 0; d < D; d++) {
                    kk[(h * 3 + j) * D + d] = k[(h * S + keep[j]) * D + d];
                    vv[(h * 3 + j) * D + d] = v[(h * S + keep[j]) * D + d];
                }
        FC_CHECK(t, fc_kv_write_layer(pool, a, l, kk, vv, 3) == FC_OK, "%s", fc_errmsg());
    }
    FC_CHECK(t, fc_kv_truncate(pool, a, 3) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_len(pool, a) == 3 && fc_kv_seq_next_pos(pool, a) == 11, "len %d next %d",
             fc_kv_seq_len(pool, a), fc_kv_seq_next_pos(pool, a));
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 1, "3 entries in %d blocks", st.blocks_used);
    float k2[2 * 3 * 5];
    FC_CHECK(t, fc_kv_gather_layer(pool, a, 2, k2, NULL) == FC_OK, "%s", fc_errmsg());
    for (int h = 0; h < H; h++)
        for (int j = 0; j < 3; j++) {
            float w = val(2, 0, h, keep[j], 1);
            if (dt == FC_DTYPE_BF16) w = fc_bf16_to_f32(fc_f32_to_bf16(w));
            if (dt == FC_DTYPE_F16) w = fc_f16_to_f32(fc_f32_to_f16(w));
            FC_CHECK(t, k2[(h * 3 + j) * D + 1] == w, "kept entry %d head %d: %g want %g", j, h, k2[(h * 3 + j) * D + 1],
                     w);
        }
    /* new tokens continue at the original position; an explicit position is honoured */
    FC_CHECK(t, append(pool, a, 2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_len(pool, a) == 5 && fc_kv_seq_next_pos(pool, a) == 13, "len %d next %d",
             fc_kv_seq_len(pool, a), fc_kv_seq_next_pos(pool, a));
    FC_CHECK(t, fc_kv_seq_set_next_pos(pool, a, 5) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_next_pos(pool, a) == 5, "next %d", fc_kv_seq_next_pos(pool, a));
    FC_CHECK(t, fc_kv_gather_layer(pool, a, 3, k2, NULL) == FC_EINVAL, "layer 3 of 3 accepted");
    FC_CHECK(t, fc_kv_write_layer(pool, a, 0, k2, NULL, 9) == FC_EINVAL, "write past reserved slots accepted");
    fc_kv_pool_free(pool);
}

static void test_kv_gather_write_truncate_f32(fc_test *t) { check_gather_write(t, FC_DTYPE_F32); }
static void test_kv_gather_write_truncate_bf16(fc_test *t) { check_gather_write(t, FC_DTYPE_BF16); }

/* blocks come back to the free list and are reused by the next sequence */
static void test_kv_blocks_reused(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 4, FC_DTYPE_F32);
    if (!pool) return;
    for (int round = 0; round < 20; round++) {
        fc_kv_handle a;
        FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK, "round %d: %s", round, fc_errmsg());
        FC_CHECK(t, append(pool, a, 16) == FC_OK, "round %d: %s", round, fc_errmsg());
        fc_kv_seq_free(pool, a);
    }
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 0 && st.blocks_peak == 4, "used %d peak %d", st.blocks_used, st.blocks_peak);
    fc_kv_pool_free(pool);
    fc_kv_pool_free(NULL);
}

/* Per-layer lengths (PyramidKV): each layer truncated on its own frees exactly its surplus blocks; appends
 * go to every layer at its own length; a reservation that does not fit changes nothing; entries stay put. */
static void test_kv_layer_lengths(fc_test *t) {
    fc_kv_pool *pool = make_pool(t, 6, FC_DTYPE_F32); /* 6 blocks x 3 layers = 18 layer blocks of 4 slots */
    if (!pool) return;
    size_t lb = 2 * (size_t)4 * 2 * 5 * sizeof(float); /* K+V of one layer block: 4 slots x 2 heads x 5 dims */
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(pool, &a) == FC_OK && fc_kv_seq_create(pool, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, append(pool, a, 13) == FC_OK, "%s", fc_errmsg()); /* 4 blocks in each of 3 layers */
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 12 && st.bytes_used == 12 * lb && st.bytes_per_layer_block == lb &&
                    st.blocks_used == 4 && st.layer_blocks_total == 18,
             "13 entries: %d layer blocks", st.layer_blocks_used);
    /* layer 0 keeps 13, layer 1 keeps 5 (2 blocks), layer 2 keeps 0 */
    FC_CHECK(t, fc_kv_truncate_layer(pool, a, 1, 5) == FC_OK && fc_kv_truncate_layer(pool, a, 2, 0) == FC_OK, "%s",
             fc_errmsg());
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 6 && st.bytes_used == 6 * lb && fc_kv_seq_bytes(pool, a) == 6 * lb &&
                    st.blocks_used == 2 && st.entries == 13 && st.layer_entries == 18,
             "after per-layer truncation: %d layer blocks, %lld entries", st.layer_blocks_used,
             (long long)st.layer_entries);
    FC_CHECK(t, fc_kv_seq_len(pool, a) == 13 && fc_kv_seq_layer_len(pool, a, 1) == 5 &&
                    fc_kv_seq_layer_len(pool, a, 2) == 0 && fc_kv_seq_next_pos(pool, a) == 13, "lengths");
    FC_CHECK(t, fc_kv_truncate_layer(pool, a, 1, 6) == FC_EINVAL, "growing a layer by truncation accepted");
    FC_CHECK(t, fc_kv_truncate_layer(pool, a, 3, 0) == FC_EINVAL, "layer 3 of 3 accepted");
    /* entries of the shortened layer are the first ones, unchanged */
    float k[2 * 13 * 5];
    FC_CHECK(t, fc_kv_gather_layer(pool, a, 1, k, NULL) == FC_OK, "%s", fc_errmsg());
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 5; i++) FC_CHECK(t, k[(h * 5 + i) * 5 + 2] == val(1, 0, h, i, 2), "layer 1 entry %d", i);
    /* b takes 12 layer blocks: 0 free. a appending 3 needs layer 0: 1 block, layer 1: 0, layer 2: 1 -> refused */
    FC_CHECK(t, append(pool, b, 13) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_reserve(pool, a, 3) == FC_ENOMEM, "a reservation past the pool accepted");
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 18 && fc_kv_seq_bytes(pool, a) == 6 * lb, "a refusal changed the pool");
    /* after b is gone, a appends 3 to every layer at its own length */
    fc_kv_seq_free(pool, b);
    FC_CHECK(t, append(pool, a, 3) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_len(pool, a, 0) == 16 && fc_kv_seq_layer_len(pool, a, 1) == 8 &&
                    fc_kv_seq_layer_len(pool, a, 2) == 3 && fc_kv_seq_next_pos(pool, a) == 16, "lengths after append");
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 4 + 2 + 1 && st.bytes_used == 7 * lb && st.layer_blocks_peak == 18,
             "after append: %d layer blocks", st.layer_blocks_used);
    /* fc_kv_truncate cuts every layer to at most S; shorter layers keep their length */
    FC_CHECK(t, fc_kv_truncate(pool, a, 6) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_layer_len(pool, a, 0) == 6 && fc_kv_seq_layer_len(pool, a, 1) == 6 &&
                    fc_kv_seq_layer_len(pool, a, 2) == 3, "lengths after truncate");
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 2 + 2 + 1, "after truncate: %d layer blocks", st.layer_blocks_used);
    fc_kv_seq_free(pool, a);
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.layer_blocks_used == 0 && st.bytes_used == 0, "after free: %d", st.layer_blocks_used);
    fc_kv_pool_free(pool);
}

static const fc_test_case cases[] = {
    FC_CASE(test_kv_accounting_frees_bytes),
    FC_CASE(test_kv_full_pool_changes_nothing),
    FC_CASE(test_kv_gather_write_truncate_f32),
    FC_CASE(test_kv_gather_write_truncate_bf16),
    FC_CASE(test_kv_blocks_reused),
    FC_CASE(test_kv_layer_lengths),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
