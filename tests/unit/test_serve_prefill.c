/* test_serve_prefill.c: the one path from a prompt to a compressed cache (core/serve/prefill_compress.h) on
 * the tiny MiniCPM-V fixture (tools/make_vlm_fixtures.py):
 *  - with no method and the last token held back, the next-token logits equal those of one plain prefill
 *    of the whole prompt (fc_vlm_prefill, checked against the Python reference by test_vlm), within the
 *    summation-order tolerance of test_vlm (1e-4 abs + 1e-4 rel);
 *  - a method that keeps everything (knorm:ratio=1) gives the same logits as none, bit for bit (the cache
 *    is rewritten with the same values in the same order);
 *  - a mark taken after the prompt and a rewind after feeding tokens restore every layer's length, the next
 *    position and the pool's blocks, and the same token then gives the same logits as before. */
#include "core/serve/prefill_compress.h"
#include "tests/test.h"

#define FIX "tests/fixtures/vlm"

typedef struct {
    fc_vlm *m;
    fc_vlm_request req;
    fc_kv_pool *kv;
    float *a, *b; /* (V) each */
    int V;
} ctx;

static bool setup(fc_test *t, ctx *c) {
    memset(c, 0, sizeof *c);
    fc_image img = {0};
    fc_err e = fc_vlm_load(&c->m, FIX "/minicpmv-tiny", NULL);
    if (!e) e = fc_image_load(&img, FIX "/small.png");
    if (!e) e = fc_vlm_request_build(c->m, &img, 1, "What is in the picture?", &c->req);
    fc_image_free(&img);
    if (e) return fc_test_fail(t, "setup: %s", fc_errmsg());
    fc_kv_pool_params p = fc_llm_kv_params(c->m->llm, 16, 64, 4);
    if ((e = fc_kv_pool_create(&c->kv, &p))) return fc_test_fail(t, "pool: %s", fc_errmsg());
    c->V = c->m->llm->cfg.vocab_size;
    c->a = calloc((size_t)c->V, sizeof(float));
    c->b = calloc((size_t)c->V, sizeof(float));
    return c->a && c->b;
}

static void teardown(ctx *c) {
    free(c->a), free(c->b);
    fc_kv_pool_free(c->kv);
    fc_vlm_request_free(&c->req);
    fc_vlm_free(c->m);
}

static void test_hold_last_matches_plain_prefill(fc_test *t) {
    ctx c;
    if (!setup(t, &c)) return teardown(&c);
    fc_kv_handle s0 = FC_KV_NONE, s1 = FC_KV_NONE;
    fc_compress_seq_result r;
    fc_err e = fc_kv_seq_create(c.kv, &s0);
    if (!e) e = fc_vlm_prefill(c.m, c.kv, &c.req, s0, FC_LLM_ROWS_LAST, c.a);
    if (!e) e = fc_kv_seq_create(c.kv, &s1);
    if (!e) e = fc_serve_prompt_to_cache(c.m->llm, c.kv, &c.req, s1, NULL, true, c.b, &r);
    bool ok = !e;
    if (ok) {
        ok = fc_test_close(t, "next-token logits", c.b, c.a, (size_t)c.V, 1e-4, 1e-4);
        ok = ok && r.len_before == c.req.n_ids - 1 && r.len_after == r.len_before && r.ratio_achieved == 1.0;
        ok = ok && fc_kv_seq_len(c.kv, s1) == c.req.n_ids && fc_kv_seq_next_pos(c.kv, s1) == c.req.n_ids;
    }
    teardown(&c);
    FC_CHECK(t, ok, "%s", e ? fc_errmsg() : "sizes or logits differ");
}

static void test_keep_all_method_equals_none(fc_test *t) {
    ctx c;
    if (!setup(t, &c)) return teardown(&c);
    fc_compress_method *cm = NULL;
    fc_kv_handle s0 = FC_KV_NONE, s1 = FC_KV_NONE;
    fc_compress_seq_result r;
    fc_err e = fc_compress_create("knorm:ratio=1", &cm);
    if (!e) e = fc_kv_seq_create(c.kv, &s0);
    if (!e) e = fc_serve_prompt_to_cache(c.m->llm, c.kv, &c.req, s0, NULL, true, c.a, NULL);
    if (!e) e = fc_kv_seq_create(c.kv, &s1);
    if (!e) e = fc_serve_prompt_to_cache(c.m->llm, c.kv, &c.req, s1, cm, true, c.b, &r);
    bool ok = !e && !memcmp(c.a, c.b, (size_t)c.V * sizeof(float)) && r.len_after == c.req.n_ids - 1;
    fc_compress_free(cm);
    teardown(&c);
    FC_CHECK(t, ok, "%s", e ? fc_errmsg() : "knorm:ratio=1 changed the logits");
}

static void test_mark_rewind_restores(fc_test *t) {
    ctx c;
    if (!setup(t, &c)) return teardown(&c);
    fc_compress_method *cm = NULL;
    fc_serve_mark mk = {0};
    fc_kv_stats st0, st1;
    fc_kv_handle seq = FC_KV_NONE;
    int32_t tok[3] = {5, 6, 7};
    fc_err e = fc_compress_create("knorm:ratio=3", &cm);
    if (!e) e = fc_kv_seq_create(c.kv, &seq);
    if (!e) e = fc_serve_prompt_to_cache(c.m->llm, c.kv, &c.req, seq, cm, true, c.a, NULL);
    if (!e) e = fc_serve_mark_take(&mk, c.kv, seq);
    fc_kv_pool_stats(c.kv, &st0);
    int len0 = fc_kv_seq_len(c.kv, seq), pos0 = fc_kv_seq_next_pos(c.kv, seq);
    if (!e) e = fc_llm_decode(c.m->llm, c.kv, &seq, &tok[0], 1, c.a);
    for (int i = 1; i < 3 && !e; i++) e = fc_llm_decode(c.m->llm, c.kv, &seq, &tok[i], 1, c.b);
    if (!e) e = fc_serve_mark_rewind(&mk, c.kv, seq);
    fc_kv_pool_stats(c.kv, &st1);
    bool ok = !e && fc_kv_seq_len(c.kv, seq) == len0 && fc_kv_seq_next_pos(c.kv, seq) == pos0 &&
              st1.layer_blocks_used == st0.layer_blocks_used && len0 < c.req.n_ids;
    if (ok) e = fc_llm_decode(c.m->llm, c.kv, &seq, &tok[0], 1, c.b);
    ok = ok && !e && !memcmp(c.a, c.b, (size_t)c.V * sizeof(float));
    /* a rewind past entries that are no longer there is refused */
    if (ok) {
        fc_serve_mark big = mk;
        int lens[64];
        for (int l = 0; l < mk.n_layers && l < 64; l++) lens[l] = mk.layer_len[l] + 100;
        big.layer_len = lens;
        ok = fc_serve_mark_rewind(&big, c.kv, seq) == FC_EINVAL;
    }
    fc_serve_mark_free(&mk);
    fc_compress_free(cm);
    teardown(&c);
    FC_CHECK(t, ok, "%s", e ? fc_errmsg() : "rewind did not restore the sequence");
}

static void test_hold_last_one_token_prompt(fc_test *t) {
    ctx c;
    if (!setup(t, &c)) return teardown(&c);
    fc_vlm_request one = {.ids = c.req.ids, .n_ids = 1};
    fc_kv_handle seq = FC_KV_NONE;
    fc_err e = fc_kv_seq_create(c.kv, &seq);
    if (!e) e = fc_serve_prompt_to_cache(c.m->llm, c.kv, &one, seq, NULL, true, c.a, NULL);
    teardown(&c);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "cannot hold its last token back"), "%s", fc_errmsg());
}

static const fc_test_case cases[] = {
    FC_CASE(test_hold_last_matches_plain_prefill),
    FC_CASE(test_keep_all_method_equals_none),
    FC_CASE(test_mark_rewind_restores),
    FC_CASE(test_hold_last_one_token_prompt),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
