/* test_generate.c: greedy generation against transformers' greedy tokens (tests/fixtures/llm), batched
 * requests finishing on their own and freeing their blocks, EOS, and the sampler against its definition
 * (temperature / top-k / top-p as transformers' warpers) with a reproducible seeded RNG. */
#include <string.h>

#include "core/io/safetensors.h"
#include "core/model/generate.h"
#include "tests/test.h"

#define FIX "tests/fixtures/llm/"

static const int32_t *ref_i32(const fc_st_file *f, const char *name, int *n) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return NULL;
    *n = (int)e->shape[0];
    return e->data;
}

/* Four prompts of lengths 7, 13, 1, 20 generated together, greedy: each request's tokens are
 * transformers' greedy tokens; a request whose 4th token is declared EOS stops there and frees its blocks. */
static void test_generate_greedy_batched_eos(fc_test *t) {
    fc_llm *m;
    FC_CHECK(t, fc_llm_load(&m, FIX "qwen2_bf16") == FC_OK, "%s", fc_errmsg());
    fc_st_file ref;
    FC_CHECK(t, fc_st_open(&ref, FIX "qwen2_bf16/ref.safetensors") == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_params pp = fc_llm_kv_params(m, 4, 32, 8);
    fc_kv_pool *kv;
    FC_CHECK(t, fc_kv_pool_create(&kv, &pp) == FC_OK, "%s", fc_errmsg());
    fc_gen_request rq[4];
    int32_t out[4][16];
    const int32_t *want[4];
    int n_want[4];
    for (int b = 0; b < 4; b++) {
        char name[32];
        snprintf(name, sizeof name, "seq%d.ids", b);
        int n = 0;
        const int32_t *ids = ref_i32(&ref, name, &n);
        snprintf(name, sizeof name, "seq%d.tokens", b);
        want[b] = ref_i32(&ref, name, &n_want[b]);
        FC_CHECK(t, ids && want[b], "fixture lacks %s", name);
        rq[b] = (fc_gen_request){.prompt = ids, .n_prompt = n, .out = out[b]};
    }
    int32_t eos = want[1][3];
    bool eos_earlier = false; /* the EOS id must not appear earlier in any request for the counts below */
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < (b == 1 ? 3 : n_want[b]); i++) eos_earlier |= want[b][i] == eos;
    fc_gen_params gp = {.max_new_tokens = n_want[0], .temperature = 0, .top_p = 1, .eos_ids = &eos, .n_eos = 1};
    FC_CHECK(t, !eos_earlier, "fixture: token %d appears before request 1's 4th token", eos);
    FC_CHECK(t, fc_generate(m, kv, rq, 4, &gp) == FC_OK, "%s", fc_errmsg());
    for (int b = 0; b < 4; b++) {
        int expect = b == 1 ? 3 : n_want[b];
        FC_CHECK(t, rq[b].n_out == expect, "request %d: %d tokens, want %d", b, rq[b].n_out, expect);
        FC_CHECK(t, rq[b].hit_eos == (b == 1), "request %d: hit_eos %d", b, rq[b].hit_eos);
        for (int i = 0; i < rq[b].n_out; i++)
            FC_CHECK(t, out[b][i] == want[b][i], "request %d token %d: %d, transformers %d", b, i, out[b][i],
                     want[b][i]);
    }
    fc_kv_stats st;
    fc_kv_pool_stats(kv, &st);
    FC_CHECK(t, st.blocks_used == 0 && st.n_seqs == 0, "blocks left %d, seqs %d", st.blocks_used, st.n_seqs);
    /* a pool too small for the batch: an error, and nothing left behind */
    fc_kv_pool_free(kv);
    pp.n_blocks = 3;
    FC_CHECK(t, fc_kv_pool_create(&kv, &pp) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_generate(m, kv, rq, 4, &gp) == FC_ENOMEM, "small pool accepted");
    fc_kv_pool_stats(kv, &st);
    FC_CHECK(t, st.blocks_used == 0 && st.n_seqs == 0, "after failure: blocks %d, seqs %d", st.blocks_used, st.n_seqs);
    fc_kv_pool_free(kv);
    fc_st_close(&ref);
    fc_llm_free(m);
}

/* Same seed, same tokens; a request's tokens do not depend on what else is in the batch. */
static void test_generate_sampling_reproducible(fc_test *t) {
    fc_llm *m;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_params pp = fc_llm_kv_params(m, 16, 16, 4);
    fc_kv_pool *kv;
    FC_CHECK(t, fc_kv_pool_create(&kv, &pp) == FC_OK, "%s", fc_errmsg());
    int32_t p0[3] = {5, 17, 42}, p1[5] = {9, 8, 7, 6, 5};
    int32_t a[2][12], b[12], c[12];
    fc_gen_params gp = {.max_new_tokens = 12, .temperature = 1.5f, .top_k = 50, .top_p = 0.95f, .seed = 7};
    fc_gen_request rq[2] = {{.prompt = p0, .n_prompt = 3, .out = a[0]}, {.prompt = p1, .n_prompt = 5, .out = a[1]}};
    FC_CHECK(t, fc_generate(m, kv, rq, 2, &gp) == FC_OK, "%s", fc_errmsg());
    fc_gen_request one = {.prompt = p0, .n_prompt = 3, .out = b};
    FC_CHECK(t, fc_generate(m, kv, &one, 1, &gp) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, one.n_out == 12 && !memcmp(a[0], b, sizeof b), "request 0 alone differs from request 0 in a batch");
    gp.seed = 8;
    one.out = c;
    FC_CHECK(t, fc_generate(m, kv, &one, 1, &gp) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, memcmp(b, c, sizeof b) != 0, "seeds 7 and 8 gave the same 12 sampled tokens");
    fc_kv_pool_free(kv);
    fc_llm_free(m);
}

/* Frequencies of n draws against the probabilities the warpers define. */
static void check_freq(fc_test *t, const char *what, const float *logits, int V, fc_gen_params *gp,
                       const double *want) {
    fc_sampler s;
    FC_CHECK(t, fc_sampler_init(&s, V) == FC_OK, "%s", fc_errmsg());
    fc_rng r;
    fc_rng_seed(&r, 1234, 0);
    int count[8] = {0};
    const int n = 40000;
    for (int i = 0; i < n; i++) count[fc_sample(logits, V, gp, &r, &s)]++;
    fc_sampler_free(&s);
    for (int v = 0; v < V; v++) {
        double f = (double)count[v] / n, sd = sqrt(want[v] * (1 - want[v]) / n);
        /* 5 standard deviations: a correct sampler fails this about once in 2 million runs */
        FC_CHECK(t, fabs(f - want[v]) <= 5 * sd + 1e-12, "%s: token %d drawn %.4f, want %.4f", what, v, f, want[v]);
    }
}

static void test_sampler_definitions(fc_test *t) {
    /* probabilities 0.1, 0.2, 0.3, 0.4 at temperature 1 */
    float lg[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    fc_gen_params gp = {.temperature = 1, .top_p = 1};
    check_freq(t, "plain", lg, 4, &gp, (double[]){0.1, 0.2, 0.3, 0.4});
    /* temperature 0.5 squares the odds: 1, 4, 9, 16 over 30 */
    gp.temperature = 0.5f;
    check_freq(t, "temperature", lg, 4, &gp, (double[]){1 / 30., 4 / 30., 9 / 30., 16 / 30.});
    /* top-k 2 keeps 0.3, 0.4 */
    gp = (fc_gen_params){.temperature = 1, .top_k = 2, .top_p = 1};
    check_freq(t, "top-k", lg, 4, &gp, (double[]){0, 0, 3 / 7., 4 / 7.});
    /* top-p 0.6: ascending cumsum 0.1 0.3 0.6 1.0, transformers removes cum <= 0.4: keeps 0.3 and 0.4 */
    gp = (fc_gen_params){.temperature = 1, .top_p = 0.6f};
    check_freq(t, "top-p", lg, 4, &gp, (double[]){0, 0, 3 / 7., 4 / 7.});
    /* top-p 0.75: removes cum <= 0.25 (only 0.1): keeps 0.2, 0.3, 0.4 */
    gp.top_p = 0.75f;
    check_freq(t, "top-p 0.75", lg, 4, &gp, (double[]){0, 2 / 9., 3 / 9., 4 / 9.});
    /* top-k ties: the 2nd and 3rd largest are equal, both stay */
    float tie[4] = {0, 1, 1, 2};
    gp = (fc_gen_params){.temperature = 1, .top_k = 2, .top_p = 1};
    double e1 = exp(1), e2 = exp(2), z = 2 * e1 + e2;
    check_freq(t, "top-k ties", tie, 4, &gp, (double[]){0, e1 / z, e1 / z, e2 / z});
    /* greedy: argmax, lowest id on ties; NaN never wins */
    fc_sampler s;
    FC_CHECK(t, fc_sampler_init(&s, 4) == FC_OK, "%s", fc_errmsg());
    fc_rng r;
    fc_rng_seed(&r, 1, 0);
    gp = (fc_gen_params){.temperature = 0, .top_p = 1};
    float g[4] = {NAN, 3, 5, 5};
    FC_CHECK(t, fc_sample(g, 4, &gp, &r, &s) == 2, "greedy picked %d", fc_sample(g, 4, &gp, &r, &s));
    gp.temperature = 1;
    for (int i = 0; i < 100; i++) FC_CHECK(t, fc_sample(g, 4, &gp, &r, &s) != 0, "NaN logit sampled");
    fc_sampler_free(&s);
}

/* Issue 10, defect 1: with logit / temperature infinite (a +inf logit, or a temperature so small the
 * quotient overflows) the candidate filter used to keep nothing and fc_sample returned idx[-1]. The limit of
 * softmax(x / T) as T -> 0 is the argmax (uniform over exact ties), which is what must come out, always
 * in range (ASan checks the reads). */
static void test_issue10_defect1_sample_infinite_scores(fc_test *t) {
    enum { V = 6 };
    fc_sampler s;
    FC_CHECK(t, fc_sampler_init(&s, V) == FC_OK, "%s", fc_errmsg());
    fc_rng r;
    fc_rng_seed(&r, 7, 0);
    fc_gen_params gp = {.temperature = 1e-44f, .top_p = 1};
    /* every positive logit / 1e-44 overflows to +inf: the largest raw logit (id 4) is the limit */
    float pos[V] = {0.5f, 3.0f, -2.0f, 1.0f, 3.5f, 2.0f};
    for (int i = 0; i < 50; i++) FC_CHECK(t, fc_sample(pos, V, &gp, &r, &s) == 4, "tiny T: picked %d", fc_sample(pos, V, &gp, &r, &s));
    /* all logits negative: every scaled score is -inf; still the argmax (id 2) */
    float neg[V] = {-5.0f, -3.0f, -0.25f, -1.0f, -7.0f, -2.0f};
    for (int i = 0; i < 50; i++) FC_CHECK(t, fc_sample(neg, V, &gp, &r, &s) == 2, "all -inf: picked %d", fc_sample(neg, V, &gp, &r, &s));
    /* a +inf logit at an ordinary temperature wins; two +inf logits share the draws; top-k/top-p do not matter */
    float inf1[V] = {1, INFINITY, 2, NAN, -INFINITY, 0};
    gp = (fc_gen_params){.temperature = 0.7f, .top_k = 3, .top_p = 0.5f};
    for (int i = 0; i < 50; i++) FC_CHECK(t, fc_sample(inf1, V, &gp, &r, &s) == 1, "+inf logit: picked %d", fc_sample(inf1, V, &gp, &r, &s));
    float inf2[V] = {INFINITY, 1, 2, 3, INFINITY, 0};
    int hits[V] = {0};
    for (int i = 0; i < 2000; i++) hits[fc_sample(inf2, V, &gp, &r, &s)]++;
    /* binomial(2000, 1/2): sd ~ 22; 5 sd either side */
    FC_CHECK(t, hits[0] + hits[4] == 2000 && hits[0] > 890 && hits[0] < 1110, "ties drawn %d / %d", hits[0], hits[4]);
    /* finite scores keep the ordinary path: temperature 1e-6 on well-separated logits is greedy */
    gp = (fc_gen_params){.temperature = 1e-6f, .top_p = 1};
    FC_CHECK(t, fc_sample(pos, V, &gp, &r, &s) == 4, "T=1e-6 picked %d", fc_sample(pos, V, &gp, &r, &s));
    fc_sampler_free(&s);
}

static const fc_test_case cases[] = {
    FC_CASE(test_issue10_defect1_sample_infinite_scores),
    FC_CASE(test_generate_greedy_batched_eos),
    FC_CASE(test_generate_sampling_reproducible),
    FC_CASE(test_sampler_definitions),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
