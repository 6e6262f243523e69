/* test_llm_layers.c: a sequence whose layers hold different numbers of entries (PyramidKV's layout in the
 * per-layer paged pool) decodes as transformers does over a DynamicCache cut per layer
 * (tests/fixtures/capture/<model>.safetensors: lens, dec, dec_logits, from tools/make_capture_fixtures.py):
 * prefill T tokens, truncate layer l to its first lens[l] entries, decode two tokens at positions T, T+1.
 * A second sequence built directly (reserve, write the same per-layer K/V, truncate per layer) decodes in
 * the same batch to the same logits; the bytes freed by the per-layer truncation are exact.
 *
 * Tolerance: 1e-4 abs on logits, as test_llm.c (same reference: eager attention in f32).
 */
#include <stdio.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "tests/test.h"

#define ATOL 1e-4
#define MAXV 512

static const fc_st_entry *need(fc_test *t, const fc_st_file *f, const char *name) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) fc_test_fail(t, "capture fixture lacks '%s'", name);
    return e;
}

/* Builds seq `dst` directly from seq `src`: every layer's entries copied through gather / write, then each
 * layer truncated to its own length and next_pos copied. */
static fc_err copy_seq(fc_kv_pool *kv, fc_kv_handle src, fc_kv_handle dst, float *k, float *v) {
    int L = kv->p.n_layers, S = fc_kv_seq_len(kv, src);
    FC_TRY(fc_kv_seq_reserve(kv, dst, S));
    for (int l = 0; l < L; l++) {
        FC_TRY(fc_kv_gather_layer(kv, src, l, k, v));
        FC_TRY(fc_kv_write_layer(kv, dst, l, k, v, fc_kv_seq_layer_len(kv, src, l)));
    }
    FC_TRY(fc_kv_seq_commit(kv, dst, S));
    for (int l = 0; l < L; l++) FC_TRY(fc_kv_truncate_layer(kv, dst, l, fc_kv_seq_layer_len(kv, src, l)));
    return fc_kv_seq_set_next_pos(kv, dst, fc_kv_seq_next_pos(kv, src));
}

static void check_model(fc_test *t, const char *name) {
    char path[256];
    fc_llm *m = NULL;
    fc_st_file ref = {.fd = -1}; /* closable before it is opened */
    fc_kv_pool *kv = NULL;
    float *k = NULL, *v = NULL;
    snprintf(path, sizeof path, "tests/fixtures/llm/%s", name);
    if (fc_llm_load(&m, path)) {
        fc_test_fail(t, "load %s: %s", name, fc_errmsg());
        goto done;
    }
    snprintf(path, sizeof path, "tests/fixtures/capture/%s.safetensors", name);
    if (fc_st_open(&ref, path)) {
        fc_test_fail(t, "%s", fc_errmsg());
        goto done;
    }
    const fc_st_entry *ids = need(t, &ref, "ids"), *lens = need(t, &ref, "lens"), *dec = need(t, &ref, "dec"),
                      *want = need(t, &ref, "dec_logits");
    if (!ids || !lens || !dec || !want) goto done;
    const int L = m->cfg.num_layers, V = m->cfg.vocab_size, T = (int)ids->shape[0];
    const int32_t *len = lens->data;
    FC_CHECK(t, lens->shape[0] == L && V <= MAXV && want->shape[0] == 2 && want->shape[1] == V, "fixture shapes");
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 32, 4);
    FC_CHECK(t, fc_kv_pool_create(&kv, &p) == FC_OK, "%s", fc_errmsg());
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(kv, &a) == FC_OK && fc_kv_seq_create(kv, &b) == FC_OK, "%s", fc_errmsg());
    fc_llm_seq_input in = {.seq = a, .ids = ids->data, .n = T};
    FC_CHECK(t, fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_LAST, NULL, NULL) == FC_OK, "%s", fc_errmsg());

    fc_kv_stats st;
    fc_kv_pool_stats(kv, &st);
    size_t blk = 2 * (size_t)p.block_size * p.n_kv_heads * p.head_dim * sizeof(float); /* K+V of one layer block */
    size_t before = (size_t)L * fc_kv_blocks_for(kv, T) * blk, after = 0;
    for (int l = 0; l < L; l++) after += (size_t)fc_kv_blocks_for(kv, len[l]) * blk;
    FC_CHECK(t, st.bytes_per_layer_block == blk && st.bytes_used == before && fc_kv_seq_bytes(kv, a) == before,
             "before: %zu bytes used, want %zu", st.bytes_used, before);
    for (int l = 0; l < L; l++) FC_CHECK(t, fc_kv_truncate_layer(kv, a, l, len[l]) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_stats(kv, &st);
    FC_CHECK(t, after < before && st.bytes_used == after && fc_kv_seq_bytes(kv, a) == after,
             "after per-layer truncation: %zu bytes used, want %zu", st.bytes_used, after);
    FC_CHECK(t, fc_kv_seq_len(kv, a) == len[0] && fc_kv_seq_next_pos(kv, a) == T, "len %d next %d",
             fc_kv_seq_len(kv, a), fc_kv_seq_next_pos(kv, a));

    size_t n = (size_t)T * p.n_kv_heads * p.head_dim;
    k = malloc(n * sizeof(float)), v = malloc(n * sizeof(float));
    FC_CHECK(t, k && v, "oom");
    FC_CHECK(t, copy_seq(kv, a, b, k, v) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_stats(kv, &st);
    FC_CHECK(t, st.bytes_used == 2 * after, "two sequences hold %zu bytes, want %zu", st.bytes_used, 2 * after);

    static float lg[2 * MAXV];
    const float *wl = want->data;
    fc_kv_handle seqs[2] = {a, b};
    for (int step = 0; step < 2; step++) {
        int32_t tok[2] = {((const int32_t *)dec->data)[step], ((const int32_t *)dec->data)[step]};
        FC_CHECK(t, fc_llm_decode(m, kv, seqs, tok, 2, lg) == FC_OK, "step %d: %s", step, fc_errmsg());
        char what[96];
        snprintf(what, sizeof what, "%s step %d, prefilled then truncated", name, step);
        if (!fc_test_close(t, what, lg, wl + (size_t)step * V, (size_t)V, ATOL, 0)) goto done;
        snprintf(what, sizeof what, "%s step %d, built directly", name, step);
        if (!fc_test_close(t, what, lg + V, wl + (size_t)step * V, (size_t)V, ATOL, 0)) goto done;
    }
    for (int l = 0; l < L; l++)
        FC_CHECK(t, fc_kv_seq_layer_len(kv, a, l) == len[l] + 2 && fc_kv_seq_layer_len(kv, b, l) == len[l] + 2,
                 "layer %d: lengths %d, %d after 2 steps, want %d", l, fc_kv_seq_layer_len(kv, a, l),
                 fc_kv_seq_layer_len(kv, b, l), len[l] + 2);
    FC_CHECK(t, fc_kv_seq_next_pos(kv, a) == T + 2, "next_pos %d", fc_kv_seq_next_pos(kv, a));
done:
    free(k), free(v);
    fc_kv_pool_free(kv);
    fc_st_close(&ref);
    fc_llm_free(m);
}

static void test_layer_lengths_llama_gqa_tied(fc_test *t) { check_model(t, "llama_gqa_tied"); }
static void test_layer_lengths_qwen2_odd(fc_test *t) { check_model(t, "qwen2_odd"); }

static const fc_test_case cases[] = {FC_CASE(test_layer_lengths_llama_gqa_tied), FC_CASE(test_layer_lengths_qwen2_odd)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
