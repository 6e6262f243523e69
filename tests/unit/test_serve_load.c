/* test_serve_load.c: the serving layer of `fc-eval load` (core/serve: arrival, scheduler, metrics) on the tiny
 * Llama fixture (tests/fixtures/llm/llama_plain) with synthetic prompts. Expected values come from math (the
 * exponential distribution, numpy's linear-interpolation percentiles) or from an independent path
 * (fc_generate, the batch generator, for the answers), never from a previous run of the scheduler:
 *  - arrivals: the same seed gives the same times; constant gaps are exactly 1/rate; Poisson gaps have mean
 *    1/rate within 4 standard errors over 20000 draws; a rate of 0 is refused;
 *  - percentiles: numpy.percentile values (p50 of {1, 2} = 1.5, p90 of 1..10 = 9.1, p99 of 1..100 = 99.01);
 *  - a run: every request finishes; arrival <= admit <= prefill_end <= compress_start <= compress_end <=
 *    first_token <= finish; the tokens counted (summary) equal the tokens generated (decode-step rows and
 *    every request's ids); p50 <= p90 <= p99; the pool is empty afterwards;
 *  - an overloaded run (a pool of a few requests, every request at once) completes every request through
 *    swap-out preemptions, and answers exactly as an unconstrained run and as fc_generate does;
 *  - the same seed gives the same arrival times and the same answers;
 *  - compression frees blocks: every compressed request holds fewer KV bytes after compression;
 *  - a KV budget too small for one request is refused before anything runs. */
#include "core/serve/arrival.h"
#include "core/serve/metrics.h"
#include "core/serve/scheduler.h"
#include "tests/test.h"

#define LLM "tests/fixtures/llm/llama_plain"

static void test_arrival_seeded(fc_test *t) {
    double a[64], b[64], c[64];
    FC_CHECK(t, !fc_serve_arrival_times(FC_SERVE_POISSON, 5, 64, 7, a), "%s", fc_errmsg());
    FC_CHECK(t, !fc_serve_arrival_times(FC_SERVE_POISSON, 5, 64, 7, b), "%s", fc_errmsg());
    FC_CHECK(t, !fc_serve_arrival_times(FC_SERVE_POISSON, 5, 64, 8, c), "%s", fc_errmsg());
    FC_CHECK(t, !memcmp(a, b, sizeof a), "same seed, different times");
    FC_CHECK(t, memcmp(a, c, sizeof a), "different seeds, same times");
    for (int i = 1; i < 64; i++) FC_CHECK(t, a[i] >= a[i - 1], "times decrease at %d", i);
    FC_CHECK(t, !fc_serve_arrival_times(FC_SERVE_CONSTANT, 4, 64, 7, c), "%s", fc_errmsg());
    for (int i = 0; i < 64; i++) FC_CHECK(t, fabs(c[i] - (i + 1) * 0.25) < 1e-12, "constant[%d] = %g", i, c[i]);
}

static void test_arrival_poisson_mean(fc_test *t) {
    enum { N = 20000 };
    static double v[N];
    const double rate = 8;
    FC_CHECK(t, !fc_serve_arrival_times(FC_SERVE_POISSON, rate, N, 123, v), "%s", fc_errmsg());
    double mean = v[N - 1] / N, se = (1 / rate) / sqrt((double)N); /* Exp(rate): sd of a gap = its mean */
    FC_CHECK(t, fabs(mean - 1 / rate) < 4 * se, "mean gap %g, want %g +- %g", mean, 1 / rate, 4 * se);
    /* the share of gaps above the mean is e^-1 for an exponential */
    int above = 0;
    for (int i = 0; i < N; i++) above += (v[i] - (i ? v[i - 1] : 0)) > 1 / rate;
    double p = exp(-1.0), sp = sqrt(p * (1 - p) / N);
    FC_CHECK(t, fabs((double)above / N - p) < 4 * sp, "share above the mean %g, want %g", (double)above / N, p);
}

static void test_arrival_rate_zero_refused(fc_test *t) {
    double v[4];
    FC_CHECK(t, fc_serve_arrival_times(FC_SERVE_POISSON, 0, 4, 1, v) == FC_EINVAL, "rate 0 accepted");
    FC_CHECK(t, strstr(fc_errmsg(), "rate of 0"), "message: %s", fc_errmsg());
    FC_CHECK(t, fc_serve_arrival_times(FC_SERVE_CONSTANT, -1, 4, 1, v) == FC_EINVAL, "rate -1 accepted");
    FC_CHECK(t, fc_serve_arrival_times(FC_SERVE_CONSTANT, NAN, 4, 1, v) == FC_EINVAL, "rate NaN accepted");
}

static void test_percentiles_numpy(fc_test *t) {
    double two[] = {1, 2}, ten[10], hundred[100];
    for (int i = 0; i < 10; i++) ten[i] = i + 1;
    for (int i = 0; i < 100; i++) hundred[i] = i + 1;
    FC_CHECK(t, fabs(fc_serve_percentile(two, 2, 50) - 1.5) < 1e-12, "p50 {1,2}");
    FC_CHECK(t, fabs(fc_serve_percentile(ten, 10, 90) - 9.1) < 1e-12, "p90 1..10 = %g", fc_serve_percentile(ten, 10, 90));
    FC_CHECK(t, fabs(fc_serve_percentile(hundred, 100, 99) - 99.01) < 1e-9, "p99 1..100");
    FC_CHECK(t, fc_serve_percentile(ten, 10, 100) == 10 && fc_serve_percentile(ten, 10, 0) == 1, "ends");
    FC_CHECK(t, isnan(fc_serve_percentile(ten, 0, 50)), "empty");
    double v[] = {3, 1, 2, 5, 4};
    fc_serve_dist d;
    fc_serve_dist_of(v, 5, &d);
    FC_CHECK(t, d.n == 5 && d.min == 1 && d.max == 5 && d.mean == 3 && d.p50 == 3, "dist of 1..5");
}

/* ---- runs on the tiny decoder ---- */

typedef struct {
    fc_llm *llm;
    fc_kv_pool *kv;
    fc_serve_synthetic syn;
    fc_serve_workload w;
    fc_serve_req *reqs;
    fc_serve_trace tr;
    int n;
} run_ctx;

static void run_free(run_ctx *c) {
    fc_serve_trace_free(&c->tr);
    fc_serve_reqs_free(c->reqs, c->n);
    fc_kv_pool_free(c->kv);
    fc_llm_free(c->llm);
    memset(c, 0, sizeof *c);
}

/* n requests of a 40-token synthetic prompt (image span [5, 29)), arrivals at `rate` (seed), a pool of
 * `blocks` blocks of 16 tokens. */
static fc_err run_setup(run_ctx *c, int n, double rate, fc_serve_arrival arr, uint64_t seed, int blocks, int D) {
    memset(c, 0, sizeof *c);
    FC_TRY(fc_llm_load(&c->llm, LLM));
    c->syn = (fc_serve_synthetic){.prompt = 40, .image_start = 5, .image_len = 24, .vocab = c->llm->cfg.vocab_size,
                                  .seed = 3, .n_records = 5};
    FC_TRY(fc_serve_synthetic_workload(&c->syn, &c->w));
    fc_kv_pool_params p = fc_llm_kv_params(c->llm, 16, blocks, D);
    FC_TRY(fc_kv_pool_create(&c->kv, &p));
    c->reqs = calloc((size_t)n, sizeof *c->reqs);
    double *t = calloc((size_t)n, sizeof *t);
    if (!c->reqs || !t) return FC_ENOMEM;
    c->n = n;
    fc_err e = fc_serve_arrival_times(arr, rate, n, seed, t);
    for (int i = 0; i < n && !e; i++) c->reqs[i] = (fc_serve_req){.id = i, .record = i % 5, .t_arrival = t[i], .n_prompt = 40};
    free(t);
    return e;
}

static fc_serve_config cfg_of(const fc_compress_method *m, int max_new, int D) {
    return (fc_serve_config){.prefill_batch = 3, .compress_batch = 2, .decode_batch = D, .method = m,
                             .gen = {.max_new_tokens = max_new, .temperature = 0, .top_p = 1, .seed = 5}};
}

/* The invariants every finished run must hold. */
static bool check_run(fc_test *t, const run_ctx *c, const fc_serve_config *cfg) {
    long sum = 0;
    for (int i = 0; i < c->n; i++) {
        const fc_serve_req *q = &c->reqs[i];
        if (!(q->t_finish >= 0)) return fc_test_fail(t, "request %d did not finish", i);
        const double ts[] = {q->t_arrival, q->t_admit, q->t_prefill_end, q->t_compress_start, q->t_compress_end,
                             q->t_first_token, q->t_finish};
        for (int k = 1; k < 7; k++)
            if (!(ts[k] >= ts[k - 1]))
                return fc_test_fail(t, "request %d: timestamp %d (%g) before timestamp %d (%g)", i, k, ts[k], k - 1, ts[k - 1]);
        if (q->n_out != cfg->gen.max_new_tokens) return fc_test_fail(t, "request %d: %d tokens", i, q->n_out);
        for (int k = 0; k < q->n_out; k++)
            if (q->out[k] < 0 || q->out[k] >= c->llm->cfg.vocab_size) return fc_test_fail(t, "request %d: bad id", i);
        sum += q->n_out;
    }
    fc_serve_summary s;
    if (fc_serve_summarize(c->reqs, c->n, &c->tr, 0, &s)) return fc_test_fail(t, "summarize: %s", fc_errmsg());
    if (s.n_completed != c->n) return fc_test_fail(t, "completed %d of %d", s.n_completed, c->n);
    /* no stop tokens: every decode-step row is one generated token */
    if (s.tokens_generated != sum || c->tr.tokens_decoded != sum)
        return fc_test_fail(t, "tokens: summary %ld, decode rows %ld, generated %ld", s.tokens_generated,
                            c->tr.tokens_decoded, sum);
    const fc_serve_dist *d[] = {&s.ttft, &s.tpot, &s.e2e, &s.queue_wait};
    for (int k = 0; k < 4; k++)
        if (!(d[k]->min <= d[k]->p50 && d[k]->p50 <= d[k]->p90 && d[k]->p90 <= d[k]->p99 && d[k]->p99 <= d[k]->max))
            return fc_test_fail(t, "percentiles out of order in distribution %d", k);
    if (s.max_decoding < 1 || s.max_decoding > cfg->decode_batch) return fc_test_fail(t, "max decoding %d", s.max_decoding);
    fc_kv_stats st;
    fc_kv_pool_stats(c->kv, &st);
    if (st.n_seqs || st.n_swapped || st.layer_blocks_used) return fc_test_fail(t, "pool not empty after the run");
    return true;
}

/* Answers of fc_generate (prefill of the whole prompt, then batched greedy decode) for record r. */
static bool reference_answer(fc_test *t, run_ctx *c, int r, int max_new, int32_t *out) {
    fc_vlm_request p;
    fc_kv_pool *kv = NULL;
    fc_kv_pool_params pp = fc_llm_kv_params(c->llm, 16, 16, 1);
    if (c->w.build(c->w.ctx, r, &p) || fc_kv_pool_create(&kv, &pp)) return fc_test_fail(t, "ref: %s", fc_errmsg());
    fc_gen_request g = {.prompt = p.ids, .n_prompt = p.n_ids, .out = out};
    fc_gen_params gp = {.max_new_tokens = max_new, .temperature = 0, .top_p = 1};
    fc_err e = fc_generate(c->llm, kv, &g, 1, &gp);
    fc_kv_pool_free(kv);
    fc_vlm_request_free(&p);
    if (e || g.n_out != max_new) return fc_test_fail(t, "fc_generate: %s (%d tokens)", fc_errmsg(), g.n_out);
    return true;
}

static void test_load_run_invariants(fc_test *t) {
    run_ctx c;
    fc_compress_method *m = NULL;
    FC_CHECK(t, !fc_compress_create("snapkv:ratio=4,window=4", &m), "%s", fc_errmsg());
    fc_err e = run_setup(&c, 12, 400, FC_SERVE_POISSON, 11, 64, 8);
    fc_serve_config cfg = cfg_of(m, 6, 8);
    if (!e) e = fc_serve_run(c.llm, c.kv, &c.w, &cfg, c.reqs, c.n, &c.tr);
    if (e) fc_test_fail(t, "run: %s", fc_errmsg());
    else if (check_run(t, &c, &cfg))
        for (int i = 0; i < c.n; i++) {
            const fc_serve_req *q = &c.reqs[i];
            /* 39 cached entries, snapkv 4x keeps int(39 * 0.25) = 9 (kvpress n_kept) */
            FC_CHECK(t, q->n_cached == 39 && q->n_kept == 9, "request %d: %d -> %d entries", i, q->n_cached, q->n_kept);
            FC_CHECK(t, q->kv_bytes_kept < q->kv_bytes_prefill, "request %d: compression freed no block", i);
        }
    fc_compress_free(m);
    run_free(&c);
}

static void test_load_overloaded_completes(fc_test *t) {
    enum { N = 10, NEW = 40 };
    run_ctx big, small;
    /* 39 + 40 entries = 5 blocks a request alone; 9 blocks admit two prompts (3 blocks each, one spare block
     * per sequence) that cannot both grow to 5, so the run must preempt */
    fc_err e = run_setup(&small, N, 1e6, FC_SERVE_CONSTANT, 1, 9, N);
    fc_serve_config cfg = cfg_of(NULL, NEW, N);
    if (!e) e = fc_serve_run(small.llm, small.kv, &small.w, &cfg, small.reqs, N, &small.tr);
    FC_CHECK(t, !e, "overloaded run: %s", fc_errmsg());
    if (!check_run(t, &small, &cfg)) return run_free(&small);
    FC_CHECK(t, small.tr.preemptions > 0, "no preemption in a run that needs them");
    e = run_setup(&big, N, 1e6, FC_SERVE_CONSTANT, 1, 64, N);
    if (!e) e = fc_serve_run(big.llm, big.kv, &big.w, &cfg, big.reqs, N, &big.tr);
    FC_CHECK(t, !e, "unconstrained run: %s", fc_errmsg());
    FC_CHECK(t, big.tr.preemptions == 0, "preemptions in a pool that holds everything");
    for (int i = 0; i < N; i++)
        FC_CHECK(t, !memcmp(small.reqs[i].out, big.reqs[i].out, NEW * sizeof(int32_t)), "request %d answers differ", i);
    int32_t ref[NEW];
    for (int r = 0; r < 5; r++) {
        if (!reference_answer(t, &big, r, NEW, ref)) break;
        FC_CHECK(t, !memcmp(big.reqs[r].out, ref, sizeof ref), "record %d: load answers differ from fc_generate", r);
    }
    run_free(&small), run_free(&big);
}

static void test_load_same_seed_same_answers(fc_test *t) {
    run_ctx a, b;
    fc_compress_method *m = NULL;
    FC_CHECK(t, !fc_compress_create("knorm:ratio=2", &m), "%s", fc_errmsg());
    fc_serve_config cfg = cfg_of(m, 5, 6);
    cfg.gen.temperature = 0.8f, cfg.gen.top_k = 20; /* sampled: the per-request generators must line up */
    fc_err e = run_setup(&a, 8, 300, FC_SERVE_POISSON, 99, 64, 6);
    if (!e) e = fc_serve_run(a.llm, a.kv, &a.w, &cfg, a.reqs, 8, &a.tr);
    if (!e) e = run_setup(&b, 8, 300, FC_SERVE_POISSON, 99, 64, 6);
    if (!e) e = fc_serve_run(b.llm, b.kv, &b.w, &cfg, b.reqs, 8, &b.tr);
    FC_CHECK(t, !e, "%s", fc_errmsg());
    for (int i = 0; i < 8; i++) {
        FC_CHECK(t, a.reqs[i].t_arrival == b.reqs[i].t_arrival, "request %d arrives at %g and %g", i, a.reqs[i].t_arrival,
                 b.reqs[i].t_arrival);
        FC_CHECK(t, a.reqs[i].n_out == b.reqs[i].n_out && !memcmp(a.reqs[i].out, b.reqs[i].out, 5 * sizeof(int32_t)),
                 "request %d answers differ", i);
    }
    fc_compress_free(m);
    run_free(&a), run_free(&b);
}

static void test_load_budget_too_small_refused(fc_test *t) {
    run_ctx c;
    fc_serve_config cfg = cfg_of(NULL, 30, 4);
    fc_err e = run_setup(&c, 3, 10, FC_SERVE_POISSON, 1, 3, 4); /* 39 + 30 entries need 5 blocks; the pool has 3 */
    FC_CHECK(t, !e, "%s", fc_errmsg());
    e = fc_serve_run(c.llm, c.kv, &c.w, &cfg, c.reqs, 3, &c.tr);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "could never run") && strstr(fc_errmsg(), "need 5 KV blocks"),
             "got %d: %s", e, fc_errmsg());
    FC_CHECK(t, c.tr.n_decode_steps == 0 && c.tr.n_prefill_batches == 0, "it ran before refusing");
    run_free(&c);
}

static const fc_test_case cases[] = {
    FC_CASE(test_arrival_seeded),           FC_CASE(test_arrival_poisson_mean),
    FC_CASE(test_arrival_rate_zero_refused), FC_CASE(test_percentiles_numpy),
    FC_CASE(test_load_run_invariants),      FC_CASE(test_load_overloaded_completes),
    FC_CASE(test_load_same_seed_same_answers), FC_CASE(test_load_budget_too_small_refused),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
