/* test_llm_capture.c: the prefill captures of the query-aware methods (core/model/llm_capture.h) against
 * transformers + kvpress 0.5.5 (tests/fixtures/capture, made by tools/make_capture_fixtures.py): post-RoPE
 * window queries, pre-RoPE query mean / covariance, eager attention summed over queries, inv_freq, per
 * layer of two tiny models (Llama GQA tied, Qwen2 with bias and 7 heads per kv head); that a capture does
 * not change the forward's logits; and the capture's refusals.
 *
 * Tolerance 1e-5 abs + 1e-5 rel: the captured tensors are a couple of f32 layers deep (values O(1)); we
 * differ from torch only in summation order (blocked GEMM, double accumulation of means and sums).
 */
#include <stdio.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "core/model/llm_capture.h"
#include "tests/test.h"

#define TOL 1e-5

static const char *const models[] = {"llama_gqa_tied", "qwen2_odd"};

typedef struct {
    fc_llm *m;
    fc_st_file ref;
    fc_kv_pool *kv;
    const int32_t *ids;
    int T, W, n_sink;
} fixture;

static const fc_st_entry *find(fc_test *t, const fixture *f, const char *name, int64_t want_elems) {
    const fc_st_entry *e = fc_st_find(&f->ref, name);
    if (!e) {
        fc_test_fail(t, "capture fixture lacks '%s'", name);
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= e->shape[i];
    if (want_elems >= 0 && n != want_elems) {
        fc_test_fail(t, "'%s': %lld values, want %lld", name, (long long)n, (long long)want_elems);
        return NULL;
    }
    return e;
}

static bool fixture_open(fc_test *t, fixture *f, const char *name) {
    memset(f, 0, sizeof *f);
    f->ref.fd = -1; /* closable before it is opened */
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/llm/%s", name);
    if (fc_llm_load(&f->m, path)) return fc_test_fail(t, "load %s: %s", name, fc_errmsg());
    snprintf(path, sizeof path, "tests/fixtures/capture/%s.safetensors", name);
    if (fc_st_open(&f->ref, path)) return fc_test_fail(t, "%s", fc_errmsg());
    const fc_st_entry *ids = find(t, f, "ids", -1), *meta = find(t, f, "meta", 2);
    if (!ids || !meta) return false;
    f->ids = ids->data;
    f->T = (int)ids->shape[0];
    f->W = ((const int32_t *)meta->data)[0];
    f->n_sink = ((const int32_t *)meta->data)[1];
    fc_kv_pool_params p = fc_llm_kv_params(f->m, 4, 64, 4); /* block 4: the prompt spans several blocks */
    if (fc_kv_pool_create(&f->kv, &p)) return fc_test_fail(t, "pool: %s", fc_errmsg());
    return true;
}

static void fixture_close(fixture *f) {
    fc_kv_pool_free(f->kv);
    fc_llm_free(f->m);
    fc_st_close(&f->ref);
}

static bool close_to(fc_test *t, const fixture *f, const char *name, const float *got, int64_t n) {
    const fc_st_entry *e = find(t, f, name, n);
    return e && fc_test_close(t, name, got, e->data, (size_t)n, TOL, TOL);
}

static void check_model(fc_test *t, const char *name) {
    fixture f;
    fc_llm_capture *cap = NULL;
    if (!fixture_open(t, &f, name)) goto done;
    const int L = f.m->cfg.num_layers, H = f.m->cfg.num_heads, D = f.m->cfg.head_dim, V = f.m->cfg.vocab_size;
    FC_CHECK(t, fc_llm_capture_create_ext(&cap, f.m, FC_NEED_QWINDOW | FC_NEED_QSTATS | FC_NEED_ATTN_SUM, f.W,
                                          f.n_sink) == FC_OK, "%s", fc_errmsg());
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_seq_create(f.kv, &a) == FC_OK && fc_kv_seq_create(f.kv, &b) == FC_OK, "%s", fc_errmsg());
    /* two sequences in one call, only the second captured: the hooks must pick its own rows */
    fc_llm_seq_input in[2] = {{.seq = a, .ids = f.ids, .n = f.T}, {.seq = b, .ids = f.ids, .n = f.T, .capture = cap}};
    float lg2[2 * 512];
    FC_CHECK(t, V <= 512, "vocab %d", V);
    FC_CHECK(t, fc_llm_forward(f.m, f.kv, in, 2, FC_LLM_ROWS_LAST, lg2, NULL) == FC_OK, "%s: %s", name, fc_errmsg());
    FC_CHECK(t, memcmp(lg2, lg2 + V, sizeof(float) * V) == 0, "%s: the captured sequence's logits differ", name);
    for (int l = 0; l < L; l++) {
        fc_compress_inputs ci = {.S = f.T};
        FC_CHECK(t, fc_llm_capture_extras(cap, l, &ci) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, ci.H == H && ci.n_window == f.W && ci.q_window && ci.qstats && ci.attn_sum && ci.inv_freq &&
                        ci.rope_scaling == 1.0f, "layer %d: extras incomplete", l);
        char key[64];
        snprintf(key, sizeof key, "l%d.q_window", l);
        if (!close_to(t, &f, key, ci.q_window, (int64_t)H * f.W * D)) goto done;
        snprintf(key, sizeof key, "l%d.q_mean", l);
        if (!close_to(t, &f, key, ci.qstats->mean, (int64_t)H * D)) goto done;
        snprintf(key, sizeof key, "l%d.q_cov", l);
        if (!close_to(t, &f, key, ci.qstats->cov, (int64_t)H * D * D)) goto done;
        snprintf(key, sizeof key, "l%d.attn_sum", l);
        if (!close_to(t, &f, key, ci.attn_sum, (int64_t)H * f.T)) goto done;
        if (!close_to(t, &f, "inv_freq", ci.inv_freq, D / 2)) goto done;
    }
    /* decoding after a captured prefill is the same as after a plain one */
    int32_t tok[2] = {5, 5};
    fc_kv_handle seqs[2] = {a, b};
    FC_CHECK(t, fc_llm_decode(f.m, f.kv, seqs, tok, 2, lg2) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, memcmp(lg2, lg2 + V, sizeof(float) * V) == 0, "%s: decode after capture differs", name);
    /* a later one-token call with the capture would record n_keys T+2; the compress glue then sees a
     * cache that no longer matches the prefill capture */
    fc_compress_inputs ci = {.S = f.T + 1};
    FC_CHECK(t, fc_llm_capture_extras(cap, 0, &ci) == FC_EINVAL, "a changed cache accepted");
done:
    fc_llm_capture_free(cap);
    fixture_close(&f);
}

static void test_capture_llama_gqa_tied(fc_test *t) { check_model(t, models[0]); }
static void test_capture_qwen2_odd(fc_test *t) { check_model(t, models[1]); }

static void test_capture_refusals(fc_test *t) {
    fixture f;
    fc_llm_capture *cap = NULL, *none = NULL;
    if (!fixture_open(t, &f, models[0])) goto done;
    fc_llm_capture *bad = (fc_llm_capture *)1;
    FC_CHECK(t, fc_llm_capture_create_ext(&bad, f.m, FC_NEED_QWINDOW, 0, 0) == FC_EINVAL && bad == NULL,
             "window 0 accepted for q_window");
    FC_CHECK(t, fc_llm_capture_create_ext(&cap, f.m, FC_NEED_QSTATS | FC_NEED_ATTN_SUM, 0, 4) == FC_OK, "%s",
             fc_errmsg());
    fc_compress_inputs ci = {.S = 3};
    FC_CHECK(t, fc_llm_capture_extras(cap, 0, &ci) == FC_EINVAL, "extras before any capture accepted");
    FC_CHECK(t, fc_llm_capture_extras(cap, 99, &ci) == FC_EINVAL, "layer 99 accepted");
    fc_kv_handle s;
    FC_CHECK(t, fc_kv_seq_create(f.kv, &s) == FC_OK, "%s", fc_errmsg());
    /* 3 tokens cannot give statistics after 4 sink tokens: the forward fails and leaves the pool as it was */
    fc_llm_seq_input in = {.seq = s, .ids = f.ids, .n = 3, .capture = cap};
    FC_CHECK(t, fc_llm_forward(f.m, f.kv, &in, 1, FC_LLM_ROWS_LAST, NULL, NULL) == FC_EINVAL, "n <= skip accepted");
    fc_kv_stats st;
    fc_kv_pool_stats(f.kv, &st);
    FC_CHECK(t, st.layer_blocks_used == 0 && fc_kv_seq_len(f.kv, s) == 0, "failed capture left %d blocks",
             st.layer_blocks_used);
    /* a method needing none of it: a capture that records nothing and hands out only H */
    FC_CHECK(t, fc_llm_capture_create_ext(&none, f.m, FC_NEED_SPANS, 0, 0) == FC_OK, "%s", fc_errmsg());
    in.capture = none;
    FC_CHECK(t, fc_llm_forward(f.m, f.kv, &in, 1, FC_LLM_ROWS_LAST, NULL, NULL) == FC_OK, "%s", fc_errmsg());
    fc_compress_inputs c2 = {.S = 3};
    FC_CHECK(t, fc_llm_capture_extras(none, 1, &c2) == FC_OK && c2.H == f.m->cfg.num_heads && !c2.q_window &&
                    !c2.qstats && !c2.attn_sum, "empty capture set more than H");
    FC_CHECK(t, fc_llm_capture_extras(NULL, 0, &c2) == FC_OK, "NULL ctx refused");
done:
    fc_llm_capture_free(cap);
    fc_llm_capture_free(none);
    fc_llm_capture_free(NULL);
    fixture_close(&f);
}

static const fc_test_case cases[] = {FC_CASE(test_capture_llama_gqa_tied), FC_CASE(test_capture_qwen2_odd),
                                     FC_CASE(test_capture_refusals)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
