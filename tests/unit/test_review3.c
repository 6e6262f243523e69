/* test_review3.c: regression tests for defects the third review (evaluation and serving) found, each named
 * after its defect. Expected values come from torch (tests/fixtures/compress/ccm_ref.safetensors, made by
 * tools/make_compress_fixtures.py) or from arithmetic on the inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compress/ccm.h"
#include "core/compress/compress.h"
#include "core/compress/internal.h"
#include "core/io/safetensors.h"
#include "core/serve/quality.h"
#include "data/dataset.h"
#include "tests/test.h"

#define WEIGHTS "tests/fixtures/compress/ccm_weights.safetensors"
#define REF "tests/fixtures/compress/ccm_ref.safetensors"

static const float *ref_f32(fc_test *t, const fc_st_file *f, const char *name, int64_t *numel) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e || e->st_dtype != FC_ST_F32) {
        fc_test_fail(t, "%s: tensor '%s' missing or not F32", f->path, name);
        return NULL;
    }
    *numel = 1;
    for (int i = 0; i < e->ndim; i++) *numel *= e->shape[i];
    return e->data;
}

/* Defect: CCM compression ran one small GEMM per kv head, segment and Linear (768 calls per request of a
 * 2-layer 7B-width model, each a parallel region: 10.2 s of a 23 s `fc-eval load` run). ccm.c now gathers
 * the windows of every head and segment of a layer into one batched MLP call per kind, cut into chunks of
 * bounded scratch. Every chunking (one window per call, 7 windows: chunks that split a head's run and span
 * two heads and segments, and the default: all in one) must give torch's output, on every segment rule
 * (one and two image spans, prefix, whole). Tolerance as test_compress_ccm: 1e-5 + 1e-5 relative. */
static void test_review3_ccm_one_gemm_per_head_batched(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, REF) == FC_OK, "%s", fc_errmsg());
    const char *names[] = {"spans", "two", "prefix", "whole"};
    const int Hkv = 3, S = 97, D = 32, L = 2, caps[] = {1, 7, 0};
    float *ko = malloc(sizeof(float) * Hkv * S * D), *vo = malloc(sizeof(float) * Hkv * S * D);
    for (int ci = 0; ci < 3 && !t->failed; ci++) {
        fc_ccm_set_batch_rows(caps[ci]);
        for (int c = 0; c < 4 && !t->failed; c++) {
            char spec[256], nm[96];
            snprintf(spec, sizeof spec, "ccm:weights=%s,segments=%s", WEIGHTS, names[c][0] == 't' ? "spans" : names[c]);
            fc_compress_method *m;
            FC_CHECK(t, fc_compress_create(spec, &m) == FC_OK, "%s", fc_errmsg());
            snprintf(nm, sizeof nm, "%s.spans", names[c]);
            const fc_st_entry *se = fc_st_find(&f, nm);
            FC_CHECK(t, se && se->st_dtype == FC_ST_I32 && se->ndim == 2 && se->shape[0] <= 4, "%s", nm);
            const int32_t *sp = se->data;
            fc_compress_span spans[4];
            for (int i = 0; i < se->shape[0]; i++) spans[i] = (fc_compress_span){sp[2 * i], sp[2 * i + 1]};
            for (int l = 0; l < L && !t->failed; l++) {
                int64_t n;
                snprintf(nm, sizeof nm, "L%d.k", l);
                const float *k = ref_f32(t, &f, nm, &n);
                snprintf(nm, sizeof nm, "L%d.v", l);
                const float *v = ref_f32(t, &f, nm, &n);
                snprintf(nm, sizeof nm, "%s.L%d.k_out", names[c], l);
                const float *kw = ref_f32(t, &f, nm, &n);
                snprintf(nm, sizeof nm, "%s.L%d.v_out", names[c], l);
                const float *vw = ref_f32(t, &f, nm, &n);
                if (!k || !v || !kw || !vw) break;
                fc_compress_inputs in = {.Hkv = Hkv, .H = Hkv, .S = S, .D = D, .k = k, .v = v, .layer = l,
                                         .n_layers = L, .spans = spans, .n_spans = (int)se->shape[0]};
                fc_compress_output o = {ko, vo, NULL, 0, false};
                FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_OK, "%s layer %d: %s", names[c], l, fc_errmsg());
                FC_CHECK(t, (int64_t)Hkv * o.n_out * D == n, "%s layer %d: n_out %d", names[c], l, o.n_out);
                snprintf(nm, sizeof nm, "rows per call %d, %s layer %d K", caps[ci], names[c], l);
                fc_test_close(t, nm, ko, kw, (size_t)n, 1e-5, 1e-5);
                snprintf(nm, sizeof nm, "rows per call %d, %s layer %d V", caps[ci], names[c], l);
                fc_test_close(t, nm, vo, vw, (size_t)n, 1e-5, 1e-5);
            }
            fc_compress_free(m);
        }
    }
    fc_ccm_set_batch_rows(0);
    free(ko), free(vo);
    fc_st_close(&f);
}

/* Appends the tokens of text (no BOS) to ids[*n]. */
static bool push_text(const fc_vlm *m, const char *text, int32_t *ids, int *n, int cap) {
    int32_t *t = NULL;
    int k = 0;
    if (fc_tokenizer_encode(m->tok, text, strlen(text), false, &t, &k) || *n + k > cap) {
        free(t);
        return false;
    }
    memcpy(ids + *n, t, (size_t)k * sizeof *t);
    *n += k;
    free(t);
    return true;
}

/* Defect: fc-eval quality evaluated only the first question of a multi-turn record (the later turns were
 * read, never asked). Now every question is an item, asked after the earlier reference answers and questions
 * in fc-train's layout. Checked on tests/fixtures/data/llava.json's 'multi-turn-2' (two questions) with the
 * trained testbed LLaVA (data/testbed/llava-tiny: its answers depend on the context, a random model's
 * do not): two items; the full cache's second greedy answer equals one computed here independently
 * (plain prefill of the first prompt, then "Two" </s> "USER: Are they sleeping? ASSISTANT:", then greedy
 * decoding); its teacher-forced length is the second answer's tokens + the stop token; a
 * keep-all method is exact on both; --first-turn-only gives one item equal to the first. */
static void test_review3_quality_only_first_turn_evaluated(fc_test *t) {
    fc_dataset d = {0};
    fc_vlm *vlm = NULL;
    fc_quality_method m[2] = {{"none", NULL}, {"knorm:ratio=1", NULL}};
    fc_quality_result r = {0}, r1 = {0};
    fc_quality_opts o = {.max_new_tokens = 8, .max_answer_tokens = 16, .hold_last = true, .prompt_suffix = ""};
    fc_data_opts dopt = {.lenient = true, .max_images = 4, .images_dir = "tests/fixtures/data/images"};
    fc_err e = fc_dataset_read("tests/fixtures/data/llava.json", &dopt, &d);
    const fc_data_record *rec = NULL;
    for (int i = 0; !e && i < d.n; i++)
        if (!strcmp(d.recs[i].id, "multi-turn-2")) rec = &d.recs[i];
    if (!e && !rec) e = fc_err_set(FC_ENOTFOUND, "no record multi-turn-2");
    if (!e) e = fc_vlm_load(&vlm, "data/testbed/llava-tiny", NULL);
    if (!e) e = fc_compress_create(m[1].spec, &m[1].m);
    if (!e) e = fc_quality_run(vlm, rec, 1, m, 2, &o, NULL, &r);
    fc_quality_opts o1 = o;
    o1.first_turn_only = true;
    if (!e) e = fc_quality_run(vlm, rec, 1, m, 1, &o1, NULL, &r1);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    FC_CHECK(t, r.n_items == 2 && r.item_turn[0] == 1 && r.item_turn[1] == 2 && r.item_record[1] == 0 &&
                    r1.n_items == 1, "items %d (turns %d, %d), first-turn-only %d", r.n_items, r.item_turn[0],
             r.item_turn[1], r1.n_items);
    const fc_quality_cell *full2 = &r.cells[2], *keep2 = &r.cells[3];
    /* the independent second turn */
    fc_image img = {0};
    fc_vlm_request req = {0};
    fc_kv_pool *kv = NULL;
    fc_kv_handle seq = FC_KV_NONE;
    const int V = vlm->llm->cfg.vocab_size;
    float *logits = malloc(sizeof(float) * V);
    int32_t ids[256], ans[64];
    int n = 0, na = 0, got[16], ng = 0;
    e = fc_image_load(&img, rec->images[0]);
    if (!e) e = fc_vlm_request_build(vlm, &img, 1, "How many cats are there?", &req);
    fc_kv_pool_params pp = fc_llm_kv_params(vlm->llm, 16, 64, 1);
    if (!e) e = fc_kv_pool_create(&kv, &pp);
    if (!e) e = fc_kv_seq_create(kv, &seq);
    if (!e) e = fc_vlm_prefill(vlm, kv, &req, seq, FC_LLM_ROWS_LAST, logits);
    bool built = !e && push_text(vlm, "Two", ids, &n, 256);
    if (built) ids[n++] = vlm->eos[0];
    built = built && push_text(vlm, "USER: Are they sleeping? ASSISTANT:", ids, &n, 256);
    built = built && push_text(vlm, "Yes, both are.", ans, &na, 64);
    FC_CHECK(t, built, "setup: %s", fc_errmsg());
    fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = n};
    e = fc_llm_forward(vlm->llm, kv, &in, 1, FC_LLM_ROWS_LAST, logits, NULL);
    for (int i = 0; !e && i < o.max_new_tokens; i++) {
        int32_t tok = fc_quality_argmax(logits, V);
        if (tok == vlm->eos[0] || (vlm->n_eos > 1 && tok == vlm->eos[1])) break;
        got[ng++] = tok;
        if (ng < o.max_new_tokens) e = fc_llm_decode(vlm->llm, kv, &seq, &tok, 1, logits);
    }
    FC_CHECK(t, !e, "independent run: %s", fc_errmsg());
    bool same = ng == full2->n_greedy;
    for (int i = 0; same && i < ng; i++) same = got[i] == full2->greedy[i];
    FC_CHECK(t, same, "second turn's full-cache greedy answer: %d tokens (first %d), independent %d (first %d)",
             full2->n_greedy, full2->n_greedy ? full2->greedy[0] : -1, ng, ng ? got[0] : -1);
    FC_CHECK(t, full2->n_tf == na + 1 && full2->kl == 0 && keep2->kl == 0 && keep2->top1 == 1 &&
                    keep2->greedy_identical && r.cells[1].kl == 0,
             "n_tf %d (want %d), kl %g / keep-all %g top1 %g identical %d", full2->n_tf, na + 1, full2->kl, keep2->kl,
             keep2->top1, keep2->greedy_identical);
    FC_CHECK(t, r1.n_methods == 1 && r1.cells[0].n_greedy == r.cells[0].n_greedy && r1.cells[0].n_tf == r.cells[0].n_tf &&
                    !strcmp(r1.cells[0].prediction, r.cells[0].prediction),
             "first-turn-only item differs from the first item");
    free(logits);
    fc_kv_pool_free(kv);
    fc_vlm_request_free(&req);
    fc_image_free(&img);
    fc_quality_result_free(&r), fc_quality_result_free(&r1);
    fc_compress_free(m[1].m);
    fc_vlm_free(vlm);
    fc_dataset_free(&d);
}

/* Defect: quality averaged KL and top-1 only per record (a 1-token answer weighed as much as a 30-token
 * one). The summary now also pools every teacher-forced token: kl_per_token = sum(kl_i * n_i) / sum(n_i),
 * top1_per_token = sum(agreeing positions) / sum(n_i), computed here from the cells by arithmetic, on
 * records of different answer lengths (MileBench fixtures with knorm 2x, where KL > 0). */
static void test_review3_quality_kl_only_per_record(fc_test *t) {
    fc_dataset d = {0};
    fc_vlm *vlm = NULL;
    fc_quality_method m[2] = {{"none", NULL}, {"knorm:ratio=2", NULL}};
    fc_quality_result r = {0};
    fc_quality_opts o = {.max_new_tokens = 3, .max_answer_tokens = 8, .hold_last = true, .prompt_suffix = ""};
    fc_err e = fc_dataset_read("tests/fixtures/data/milebench", NULL, &d);
    if (!e) e = fc_vlm_load(&vlm, "tests/fixtures/vlm/minicpmv-tiny", NULL);
    if (!e) e = fc_compress_create(m[1].spec, &m[1].m);
    if (!e) e = fc_quality_run(vlm, d.recs, d.n, m, 2, &o, NULL, &r);
    FC_CHECK(t, !e && r.n_items >= 2, "%s", fc_errmsg());
    double kl = 0, kl_q = 0, top = 0;
    long tok = 0;
    bool lengths_differ = false;
    for (int i = 0; i < r.n_items; i++) {
        const fc_quality_cell *c = &r.cells[(size_t)i * 2 + 1];
        kl += c->kl * c->n_tf, kl_q += c->kl, top += c->top1 * c->n_tf, tok += c->n_tf;
        lengths_differ |= c->n_tf != r.cells[1].n_tf;
    }
    fc_quality_summary s;
    fc_quality_summarize(&r, 1, &s);
    FC_CHECK(t, lengths_differ && s.n_tokens == tok, "answer lengths all equal or n_tokens %lld != %ld",
             (long long)s.n_tokens, tok);
    FC_CHECK(t, kl > 0 && fabs(s.kl_per_token - kl / tok) <= 1e-12 * (kl / tok) &&
                    fabs(s.top1_per_token - top / tok) <= 1e-12 && fabs(s.kl_mean - kl_q / r.n_items) <= 1e-12 * kl_q,
             "kl/token %.17g want %.17g; top1/token %.17g want %.17g; kl mean %.17g want %.17g", s.kl_per_token,
             kl / tok, s.top1_per_token, top / tok, s.kl_mean, kl_q / r.n_items);
    fc_quality_result_free(&r);
    fc_compress_free(m[1].m);
    fc_vlm_free(vlm);
    fc_dataset_free(&d);
}

static const fc_test_case cases[] = {
    FC_CASE(test_review3_quality_only_first_turn_evaluated),
    FC_CASE(test_review3_quality_kl_only_per_record),
    FC_CASE(test_review3_ccm_one_gemm_per_head_batched),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
