/* test_compress_e2e.c: our LLM over the paged pool, a compression method applied to the prefilled sequence,
 * then 4 teacher-forced tokens one decode step at a time: their logits must match kvpress's pipeline on the
 * same tiny model within 1e-4 (the press compresses during prefill; the question tokens take positions
 * from the uncompressed context length, as kvpress's generate_answer does and as our pool's next_pos
 * rule gives), or FastCache's CCM in torch. Every kvpress baseline but random (torch's RNG) at 2x, 4x, 8x,
 * on a tiny Llama and a tiny Qwen2 (both GQA 4:2, D=16, 200-token context); the per-layer cache lengths
 * must equal kvpress's, which with tie-free scores (the generator checks the boundary gaps) means the
 * same number of entries kept per layer; the logits then check that the kept entries are the same ones.
 * Fixtures: tests/fixtures/compress/e2e_{llama,qwen2}/ + e2e_logits[_qwen2].safetensors
 * (tools/make_compress_fixtures.py, make_e2e_fixture). */
#include <stdlib.h>
#include <string.h>

#include "core/compress/compress_seq.h"
#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "core/model/llm_capture.h"
#include "tests/test.h"

typedef struct {
    const char *family, *dir, *logits;
} fixture;

static const fixture LLAMA = {"llama", "tests/fixtures/compress/e2e_llama", "tests/fixtures/compress/e2e_logits.safetensors"};
static const fixture QWEN2 = {"qwen2", "tests/fixtures/compress/e2e_qwen2",
                              "tests/fixtures/compress/e2e_logits_qwen2.safetensors"};

/* Prefills the context into seq in one call with the method's capture on (kvpress's press sees the whole
 * context in one forward), then compresses with what it recorded. cm NULL: prefill only. */
static fc_err prefill_and_compress(fc_llm *m, fc_kv_pool *pool, fc_kv_handle seq, const int32_t *ctx, int n_ctx,
                                   const fc_compress_method *cm, const fc_compress_span *spans, int n_spans) {
    fc_llm_seq_input in = {.seq = seq, .ids = ctx, .n = n_ctx};
    fc_llm_capture *cap = NULL;
    if (cm) FC_TRY(fc_llm_capture_create(&cap, m, cm));
    in.capture = cap;
    fc_err e = fc_llm_forward(m, pool, &in, 1, FC_LLM_ROWS_LAST, NULL, NULL);
    if (!e && cm)
        e = fc_compress_sequence(pool, seq, cm, m->cfg.num_heads, spans, n_spans, fc_llm_capture_extras, cap, NULL);
    fc_llm_capture_free(cap);
    return e;
}

/* Runs one fixture case. */
static void run_case(fc_test *t, const fixture *fx, const char *key, const char *spec, const fc_compress_span *spans,
                     int n_spans) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, fx->logits) == FC_OK, "%s", fc_errmsg());
    char nm[96];
    snprintf(nm, sizeof nm, "%s.logits", key);
    const fc_st_entry *ctx = fc_st_find(&f, "context"), *q = fc_st_find(&f, "question"), *want = fc_st_find(&f, nm);
    snprintf(nm, sizeof nm, "%s.cache_len", key);
    const fc_st_entry *clen = fc_st_find(&f, nm);
    if (!(ctx && q && want && want->ndim == 2 && (clen || !spec))) {
        fc_st_close(&f);
        fc_test_fail(t, "%s: fixture entries for %s missing", fx->logits, key);
        return;
    }
    fc_llm *m = NULL;
    fc_kv_pool *pool = NULL;
    fc_compress_method *cm = NULL;
    fc_kv_handle seq = FC_KV_NONE;
    const int V = (int)want->shape[1], n_ctx = (int)ctx->shape[0], n_q = (int)q->shape[0];
    float *logits = malloc(sizeof(float) * (size_t)V * n_q);
    fc_err e = fc_llm_load(&m, fx->dir);
    if (!e) {
        fc_kv_pool_params pp = fc_llm_kv_params(m, 16, 2 * ((n_ctx + n_q) / 16 + 2), 1);
        e = fc_kv_pool_create(&pool, &pp);
    }
    if (!e) e = fc_kv_seq_create(pool, &seq);
    if (!e && spec) e = fc_compress_create(spec, &cm);
    if (!e) e = prefill_and_compress(m, pool, seq, ctx->data, n_ctx, cm, spans, n_spans);
    for (int i = 0; i < n_q && !e; i++)
        e = fc_llm_decode(m, pool, &seq, (const int32_t *)q->data + i, 1, logits + (size_t)i * V);
    if (e) {
        fc_test_fail(t, "%s %s: %s", fx->family, key, fc_errmsg());
    } else {
        if (clen) { /* kvpress's cache length per layer, before the question */
            const int32_t *want_len = clen->data;
            for (int l = 0; l < (int)clen->shape[0]; l++) {
                int got = fc_kv_seq_layer_len(pool, seq, l) - n_q;
                FC_CHECK(t, got == want_len[l], "%s %s: layer %d keeps %d, kvpress %d", fx->family, key, l, got,
                         want_len[l]);
            }
        }
        /* logits of a 2-layer f32 model are O(1); both sides are f32 with different summation orders:
         * 1e-4 absolute + relative, the bound the issue sets */
        snprintf(nm, sizeof nm, "%s %s", fx->family, key);
        fc_test_close(t, nm, logits, want->data, (size_t)V * n_q, 1e-4, 1e-4);
    }
    free(logits);
    fc_compress_free(cm);
    fc_kv_pool_free(pool);
    fc_llm_free(m);
    fc_st_close(&f);
}

/* Every ratio of one press, with the spec the generator recorded for it (options it set, e.g. window=16). */
static void run_press(fc_test *t, const fixture *fx, const char *press) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, fx->logits) == FC_OK, "%s", fc_errmsg());
    const char *specs = fc_st_meta(&f, "specs");
    char key[64], spec[128] = "";
    for (int x = 2; x <= 8 && !t->failed; x *= 2) {
        snprintf(key, sizeof key, "%s.r%d", press, x);
        const char *at = specs ? strstr(specs, key) : NULL; /* "key": "spec" in a flat JSON object */
        const char *s0 = at ? strchr(at + strlen(key) + 1, '"') : NULL, *s1 = s0 ? strchr(s0 + 1, '"') : NULL;
        if (!s1 || s1 - s0 - 1 >= (long)sizeof spec) {
            fc_test_fail(t, "%s: metadata 'specs' has no entry %s", fx->logits, key);
            break;
        }
        memcpy(spec, s0 + 1, (size_t)(s1 - s0 - 1));
        spec[s1 - s0 - 1] = 0;
        run_case(t, fx, key, spec, NULL, 0);
    }
    fc_st_close(&f);
}

static void test_no_compression(fc_test *t) {
    run_case(t, &LLAMA, "none", NULL, NULL, 0);
    run_case(t, &QWEN2, "none", NULL, NULL, 0);
}

#define PRESS_CASES(press)                                                             \
    static void test_llama_##press(fc_test *t) { run_press(t, &LLAMA, #press); }       \
    static void test_qwen2_##press(fc_test *t) { run_press(t, &QWEN2, #press); }
PRESS_CASES(knorm)
PRESS_CASES(streaming_llm)
PRESS_CASES(snapkv)
PRESS_CASES(expected_attention)
PRESS_CASES(tova)
PRESS_CASES(observed_attention)
PRESS_CASES(pyramidkv)

/* FastCache's CCM in torch on the same prefill (image span [10, 70), prefix rule), then the question at
 * positions renumbered from the compressed length, as the checkpoint's position_rule says: this checks the
 * merge, the write-back into the pool and the position rule together. */
static void test_ccm_renumbered(fc_test *t) {
    fc_compress_span sp[1] = {{10, 70}};
    run_case(t, &LLAMA, "ccm", "ccm:weights=tests/fixtures/compress/ccm_e2e.safetensors", sp, 1);
}

#define BOTH(press) FC_CASE(test_llama_##press), FC_CASE(test_qwen2_##press)
static const fc_test_case cases[] = {
    FC_CASE(test_no_compression), BOTH(knorm), BOTH(streaming_llm), BOTH(snapkv), BOTH(expected_attention),
    BOTH(tova), BOTH(observed_attention), BOTH(pyramidkv), FC_CASE(test_ccm_renumbered),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
