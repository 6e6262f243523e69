/* test_compress_seq.c: a compression method applied to a sequence of the paged KV pool: the cache becomes
 * the method's output in every layer, surplus blocks return to the pool at once (per layer for PyramidKV),
 * positions follow the rule. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/compress/compress_seq.h"
#include "tests/test.h"

enum { L = 2, HKV = 2, D = 32, S = 100, BLOCK = 16, NW = 8 };

/* Queries for the window methods: [HKV, NW, D] per layer, fixed pseudo-random (H = HKV here). */
static float QW[L][HKV * NW * D];

static fc_err window_extras(void *ctx, int layer, fc_compress_inputs *in) {
    (void)ctx;
    in->q_window = QW[layer];
    in->n_window = NW;
    return FC_OK;
}

typedef struct {
    fc_kv_pool *pool;
    fc_kv_handle seq;
    float *k[L], *v[L]; /* the originals [HKV, S, D] */
} fixture;

static bool setup(fc_test *t, fixture *fx, unsigned seed) {
    memset(fx, 0, sizeof *fx);
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = HKV, .head_dim = D, .block_size = BLOCK, .n_blocks = 32,
                           .max_seqs = 4, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CPU};
    if (fc_kv_pool_create(&fx->pool, &p) || fc_kv_seq_create(fx->pool, &fx->seq) ||
        fc_kv_seq_reserve(fx->pool, fx->seq, S))
        return fc_test_fail(t, "pool: %s", fc_errmsg());
    srand(seed);
    for (int l = 0; l < L; l++) {
        fx->k[l] = malloc(sizeof(float) * HKV * S * D), fx->v[l] = malloc(sizeof(float) * HKV * S * D);
        for (int i = 0; i < HKV * S * D; i++)
            fx->k[l][i] = (float)rand() / RAND_MAX - 0.5f, fx->v[l][i] = (float)rand() / RAND_MAX - 0.5f;
        if (fc_kv_write_layer(fx->pool, fx->seq, l, fx->k[l], fx->v[l], S))
            return fc_test_fail(t, "write: %s", fc_errmsg());
    }
    if (fc_kv_seq_commit(fx->pool, fx->seq, S)) return fc_test_fail(t, "commit: %s", fc_errmsg());
    return true;
}

static void teardown(fixture *fx) {
    for (int l = 0; l < L; l++) free(fx->k[l]), free(fx->v[l]);
    fc_kv_pool_free(fx->pool);
}

/* The pool's layers after compression must equal fc_compress_layer's output on the originals. */
static bool check_layers(fc_test *t, fixture *fx, const fc_compress_method *m, const fc_compress_span *spans,
                         int n_spans, const int *want) {
    float *ko = malloc(sizeof(float) * HKV * S * D), *vo = malloc(sizeof(float) * HKV * S * D);
    float *gk = malloc(sizeof(float) * HKV * S * D), *gv = malloc(sizeof(float) * HKV * S * D);
    int32_t *kept = malloc(sizeof(int32_t) * HKV * S);
    bool ok = true;
    for (int l = 0; l < L && ok; l++) {
        fc_compress_inputs in = {.Hkv = HKV, .H = HKV, .S = S, .D = D, .k = fx->k[l], .v = fx->v[l], .layer = l,
                                 .n_layers = L, .spans = spans, .n_spans = n_spans};
        window_extras(NULL, l, &in);
        fc_compress_output o = {ko, vo, kept, 0, false};
        const int want_len = want[l];
        t->checks++;
        if (fc_compress_layer(m, &in, &o) || o.n_out != want_len || fc_kv_seq_layer_len(fx->pool, fx->seq, l) != want_len) {
            ok = fc_test_fail(t, "layer %d: %s (n_out %d)", l, fc_errmsg(), o.n_out);
            break;
        }
        fc_kv_gather_layer(fx->pool, fx->seq, l, gk, gv);
        t->checks++;
        if (memcmp(gk, ko, sizeof(float) * HKV * want_len * D) || memcmp(gv, vo, sizeof(float) * HKV * want_len * D))
            ok = fc_test_fail(t, "layer %d: the pool does not hold the method's output", l);
    }
    free(ko), free(vo), free(gk), free(gv), free(kept);
    return ok;
}

static void test_knorm_frees_blocks(fc_test *t) {
    fixture fx;
    if (!setup(t, &fx, 1)) return;
    fc_kv_stats st;
    fc_kv_pool_stats(fx.pool, &st);
    FC_CHECK(t, st.blocks_used == 7, "blocks before %d", st.blocks_used);
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("knorm:ratio=4", &m) == FC_OK, "%s", fc_errmsg());
    fc_compress_seq_result r;
    FC_CHECK(t, fc_compress_sequence(fx.pool, fx.seq, m, HKV, NULL, 0, NULL, NULL, &r) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, r.len_before == 100 && r.len_after == 25 && r.next_pos == 100 && r.ratio_achieved == 4.0,
             "result %d %d %d", r.len_before, r.len_after, r.next_pos);
    fc_kv_pool_stats(fx.pool, &st);
    FC_CHECK(t, st.blocks_used == 2 && fc_kv_seq_len(fx.pool, fx.seq) == 25 && fc_kv_seq_next_pos(fx.pool, fx.seq) == 100,
             "blocks after %d, len %d", st.blocks_used, fc_kv_seq_len(fx.pool, fx.seq));
    FC_CHECK(t, r.bytes_after * 7 == r.bytes_before * 2, "bytes %zu -> %zu", r.bytes_before, r.bytes_after);
    check_layers(t, &fx, m, NULL, 0, (const int[L]){25, 25});
    fc_compress_free(m);
    teardown(&fx);
}

static void test_ccm_renumbers_positions(fc_test *t) {
    fixture fx;
    if (!setup(t, &fx, 2)) return;
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("ccm:weights=tests/fixtures/compress/ccm_weights.safetensors", &m) == FC_OK, "%s",
             fc_errmsg());
    fc_compress_span sp[1] = {{10, 70}}; /* prefix rule: [0, 70) -> 14 | [70, 100) -> 6 */
    fc_compress_seq_result r;
    FC_CHECK(t, fc_compress_sequence(fx.pool, fx.seq, m, HKV, sp, 1, NULL, NULL, &r) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, r.len_after == 20 && r.next_pos == 20 && fc_kv_seq_next_pos(fx.pool, fx.seq) == 20,
             "len %d next_pos %d (the llava checkpoint says positions are renumbered)", r.len_after, r.next_pos);
    check_layers(t, &fx, m, sp, 1, (const int[L]){20, 20});
    fc_compress_free(m);
    teardown(&fx);
}

/* PyramidKV keeps a different count per layer; each layer is truncated to its own budget and frees its
 * own blocks. kvpress get_layer_budget with window 8, beta 2, 2x (cr 0.5) of q_len 100:
 * max_capacity = 8 + 50 = 58, min_num = (58 - 8) / 2 = 25, max_num = 2 * 50 - 25 = 75 (< 100 - 8, and
 * 100 >= 75 >= 25 >= 8, so no SnapKV fallback); layer l keeps round(75 - l * (75 - 25) / (L - 1)):
 * 75 and 25. Blocks of 16: 7 + 7 layer blocks before, 5 + 2 after. */
static void test_pyramidkv_per_layer_lengths(fc_test *t) {
    fixture fx;
    if (!setup(t, &fx, 4)) return;
    for (int l = 0; l < L; l++)
        for (int i = 0; i < HKV * NW * D; i++) QW[l][i] = (float)rand() / RAND_MAX - 0.5f;
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("pyramidkv:ratio=2,window=8,beta=2", &m) == FC_OK, "%s", fc_errmsg());
    fc_kv_stats st0, st;
    fc_kv_pool_stats(fx.pool, &st0);
    fc_compress_seq_result r;
    FC_CHECK(t, fc_compress_sequence(fx.pool, fx.seq, m, HKV, NULL, 0, window_extras, NULL, &r) == FC_OK, "%s",
             fc_errmsg());
    fc_kv_pool_stats(fx.pool, &st);
    FC_CHECK(t, r.len_before == 100 && r.len_after == 75 && r.len_min_after == 25 && r.entries_before == 200 &&
                    r.entries_after == 100 && r.ratio_achieved == 2.0 && r.next_pos == 100,
             "result len %d -> %d..%d, entries %lld -> %lld, ratio %g", r.len_before, r.len_min_after, r.len_after,
             (long long)r.entries_before, (long long)r.entries_after, r.ratio_achieved);
    FC_CHECK(t, st0.layer_blocks_used == 14 && st.layer_blocks_used == 7, "layer blocks %d -> %d (want 14 -> 7)",
             st0.layer_blocks_used, st.layer_blocks_used);
    FC_CHECK(t, r.bytes_before == 14 * st.bytes_per_layer_block && r.bytes_after == 7 * st.bytes_per_layer_block &&
                    st0.bytes_used - st.bytes_used == 7 * st.bytes_per_layer_block,
             "bytes %zu -> %zu, pool %zu -> %zu", r.bytes_before, r.bytes_after, st0.bytes_used, st.bytes_used);
    check_layers(t, &fx, m, NULL, 0, (const int[L]){75, 25});
    fc_compress_free(m);
    teardown(&fx);
}

static void test_refusals(fc_test *t) {
    fixture fx;
    if (!setup(t, &fx, 3)) return;
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("snapkv:window=8", &m) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_compress_sequence(fx.pool, fx.seq, m, HKV, NULL, 0, NULL, NULL, NULL) == FC_EINVAL &&
                    strstr(fc_errmsg(), "sequence 0#1: snapkv: layer 0: needs the last 8 queries"), "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_len(fx.pool, fx.seq) == S, "a refused call changed the length");
    FC_CHECK(t, fc_compress_sequence(fx.pool, (fc_kv_handle){3, 1}, m, HKV, NULL, 0, NULL, NULL, NULL) == FC_EINVAL, "dead sequence");
    fc_compress_free(m);
    teardown(&fx);
}

typedef struct {
    fixture *fx;
    const fc_compress_method *m;
    fc_err e;
} compress_job;

static void *compress_thread(void *arg) {
    compress_job *j = arg;
    j->e = fc_compress_sequence(j->fx->pool, j->fx->seq, j->m, HKV, NULL, 0, window_extras, NULL, NULL);
    return NULL;
}

/* extras that fail on layer 1, after layer 0 was compressed (a method's error midway) */
static fc_err failing_extras(void *ctx, int layer, fc_compress_inputs *in) {
    (void)ctx;
    if (layer == 1) return fc_err_set(FC_EINVAL, "extras: layer 1 refused");
    return window_extras(NULL, layer, in);
}

/* All or nothing (issue 10): a compression that fails on layer 1 leaves layer 0 (and everything else) as
 * it was, so the request can go on; a forked sequence sharing the blocks keeps its entries when the other
 * is compressed; the next compression succeeds as if nothing had happened. */
static void test_compress_all_or_nothing(fc_test *t) {
    fixture fx;
    if (!setup(t, &fx, 5)) return;
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("snapkv:window=8,ratio=4", &m) == FC_OK, "%s", fc_errmsg());
    fc_kv_handle f;
    FC_CHECK(t, fc_kv_seq_fork(fx.pool, fx.seq, &f) == FC_OK, "%s", fc_errmsg());
    fc_kv_stats st0, st;
    fc_kv_pool_stats(fx.pool, &st0);
    fc_err e = fc_compress_sequence(fx.pool, fx.seq, m, HKV, NULL, 0, failing_extras, NULL, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "layer 1 refused"), "e=%d: %s", e, fc_errmsg());
    fc_kv_pool_stats(fx.pool, &st);
    FC_CHECK(t, st.layer_blocks_used == st0.layer_blocks_used && st.layer_blocks_shared == st0.layer_blocks_shared,
             "a failed compression changed the pool: %d -> %d blocks", st0.layer_blocks_used, st.layer_blocks_used);
    float *gk = malloc(sizeof(float) * HKV * S * D), *gv = malloc(sizeof(float) * HKV * S * D);
    for (int l = 0; l < L; l++) {
        FC_CHECK(t, fc_kv_seq_layer_len(fx.pool, fx.seq, l) == S, "layer %d length %d", l,
                 fc_kv_seq_layer_len(fx.pool, fx.seq, l));
        FC_CHECK(t, fc_kv_gather_layer(fx.pool, fx.seq, l, gk, gv) == FC_OK &&
                        !memcmp(gk, fx.k[l], sizeof(float) * HKV * S * D) && !memcmp(gv, fx.v[l], sizeof(float) * HKV * S * D),
                 "layer %d lost entries after a failed compression", l);
    }
    /* now it succeeds: the sequence holds the method's output, the fork still the originals */
    FC_CHECK(t, fc_compress_sequence(fx.pool, fx.seq, m, HKV, NULL, 0, window_extras, NULL, NULL) == FC_OK, "%s",
             fc_errmsg());
    check_layers(t, &fx, m, NULL, 0, (const int[L]){25, 25});
    for (int l = 0; l < L; l++)
        FC_CHECK(t, fc_kv_gather_layer(fx.pool, f, l, gk, gv) == FC_OK && !memcmp(gk, fx.k[l], sizeof(float) * HKV * S * D),
                 "the fork's layer %d changed", l);
    FC_CHECK(t, fc_kv_pool_check(fx.pool) == FC_OK, "%s", fc_errmsg());
    /* a stale handle and a compression from a thread that does not own the pool are refused (kv_pool.h) */
    compress_job j = {&fx, m, FC_OK};
    pthread_t th;
    FC_CHECK(t, pthread_create(&th, NULL, compress_thread, &j) == 0, "pthread_create");
    pthread_join(th, NULL);
    FC_CHECK(t, j.e == FC_EINVAL && fc_kv_seq_layer_len(fx.pool, fx.seq, 0) == 25, "compression from another thread: %d",
             j.e);
    FC_CHECK(t, fc_kv_seq_free(fx.pool, f) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_compress_sequence(fx.pool, f, m, HKV, NULL, 0, NULL, NULL, NULL) == FC_EINVAL &&
                    strstr(fc_errmsg(), "not live"), "%s", fc_errmsg());
    free(gk), free(gv);
    fc_compress_free(m);
    teardown(&fx);
}

static const fc_test_case cases[] = {
    FC_CASE(test_compress_all_or_nothing),
    FC_CASE(test_knorm_frees_blocks),
    FC_CASE(test_ccm_renumbers_positions),
    FC_CASE(test_pyramidkv_per_layer_lengths),
    FC_CASE(test_refusals),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
