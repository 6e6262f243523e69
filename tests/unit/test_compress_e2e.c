/* test_compress_e2e.c: our LLM over the paged pool, a compression method applied to the prefilled sequence,
 * then 4 more tokens: their logits must match kvpress's pipeline on the same tiny Llama (the press
 * compresses during prefill, the question is fed at the original positions), or FastCache's CCM in torch.
 * Fixture:
 * tests/fixtures/compress/e2e_llama + e2e_logits.safetensors (tools/make_compress_fixtures.py). */
#include <stdlib.h>
#include <string.h>

#include "core/compress/compress_seq.h"
#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "tests/test.h"

#define DIR "tests/fixtures/compress/e2e_llama"

static void run_case(fc_test *t, const char *spec, const char *name, const fc_compress_span *spans, int n_spans) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, "tests/fixtures/compress/e2e_logits.safetensors") == FC_OK, "%s", fc_errmsg());
    const fc_st_entry *ctx = fc_st_find(&f, "context"), *q = fc_st_find(&f, "question");
    char nm[64];
    snprintf(nm, sizeof nm, "%s.logits", name);
    const fc_st_entry *want = fc_st_find(&f, nm);
    snprintf(nm, sizeof nm, "%s.cache_len", name);
    const fc_st_entry *clen = fc_st_find(&f, nm);
    FC_CHECK(t, ctx && q && want && clen && want->ndim == 2, "fixture entries for %s", name);
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, DIR) == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_params pp = fc_llm_kv_params(m, 16, 32, 2);
    fc_kv_pool *pool = NULL;
    int seq = -1;
    FC_CHECK(t, fc_kv_pool_create(&pool, &pp) == FC_OK && fc_kv_seq_create(pool, &seq) == FC_OK, "%s", fc_errmsg());
    const int V = (int)want->shape[1], n_ctx = (int)ctx->shape[0], n_q = (int)q->shape[0];
    float *logits = malloc(sizeof(float) * (size_t)V * n_q);
    fc_llm_seq_input in = {.seq = seq, .ids = ctx->data, .n = n_ctx};
    fc_err e = fc_llm_forward(m, pool, &in, 1, FC_LLM_ROWS_LAST, logits, NULL);
    if (!e && spec) {
        fc_compress_method *cm;
        e = fc_compress_create(spec, &cm);
        fc_compress_seq_result r;
        if (!e) e = fc_compress_sequence(pool, seq, cm, m->cfg.num_heads, spans, n_spans, NULL, NULL, &r);
        fc_compress_free(cm);
    }
    if (!e) {
        in = (fc_llm_seq_input){.seq = seq, .ids = q->data, .n = n_q};
        e = fc_llm_forward(m, pool, &in, 1, FC_LLM_ROWS_ALL, logits, NULL);
    }
    if (e) {
        fc_test_fail(t, "%s: %s", name, fc_errmsg());
    } else {
        FC_CHECK(t, fc_kv_seq_len(pool, seq) - n_q == *(const int32_t *)clen->data, "%s: cache %d, kvpress %d", name,
                 fc_kv_seq_len(pool, seq) - n_q, *(const int32_t *)clen->data);
        /* logits of a 2-layer f32 model are O(1); both sides are f32 with different summation orders:
         * 1e-4 absolute + relative, the bound the issue sets */
        fc_test_close(t, name, logits, want->data, (size_t)V * n_q, 1e-4, 1e-4);
    }
    free(logits);
    fc_kv_pool_free(pool);
    fc_llm_free(m);
    fc_st_close(&f);
}

static void test_no_compression(fc_test *t) { run_case(t, NULL, "none", NULL, 0); }
static void test_knorm_2x(fc_test *t) { run_case(t, "knorm:ratio=2", "knorm_r2", NULL, 0); }
static void test_knorm_4x(fc_test *t) { run_case(t, "knorm:ratio=4", "knorm_r4", NULL, 0); }
static void test_streaming_llm_4x(fc_test *t) { run_case(t, "streaming_llm:ratio=4", "streaming_llm_r4", NULL, 0); }

/* FastCache's CCM in torch on the same prefill (image span [10, 70), prefix rule), then the question at
 * positions renumbered from the compressed length, as the checkpoint's position_rule says: this checks the
 * merge, the write-back into the pool and the position rule together. */
static void test_ccm_renumbered(fc_test *t) {
    fc_compress_span sp[1] = {{10, 70}};
    run_case(t, "ccm:weights=tests/fixtures/compress/ccm_e2e.safetensors", "ccm", sp, 1);
}

static const fc_test_case cases[] = {
    FC_CASE(test_no_compression),
    FC_CASE(test_knorm_2x),
    FC_CASE(test_knorm_4x),
    FC_CASE(test_streaming_llm_4x),
    FC_CASE(test_ccm_renumbered),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
