/* test_autograd_distill.c: the distillation step's contract beyond the torch comparison
 * (test_grad_torch.c): every CCM weight gets a gradient, the whole step against central differences with
 * dropout on, the teacher against the engine's forward, the training CCM against the inference CCM,
 * checkpoints, dropout RNG, gradient scaling and accumulation, and bad input.
 *
 * Model: tests/fixtures/grad/llava (tiny LLaVA decoder, CCM with ik/iv/tk/tv, two image spans). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/autograd/autograd_internal.h"
#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/compress/ccm.h"
#include "core/io/safetensors.h"
#include "core/kv/kv_pool.h"
#include "core/model/llm.h"
#include "tests/test.h"

#define DIR "tests/fixtures/grad/llava"

typedef struct {
    fc_llm *m;
    fc_ccm_train *c;
    fc_distill *d;
    fc_distill_teacher te;
    fc_st_file f;
    bool open;
    fc_distill_sample s;
    fc_compress_span spans[4];
    uint8_t sup[32];
} fx;

static const void *get(const fc_st_file *f, const char *name, int64_t *n) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return NULL;
    *n = 1;
    for (int i = 0; i < e->ndim; i++) *n *= e->shape[i];
    return e->data;
}

static void fx_free(fx *x) {
    if (x->open) fc_st_close(&x->f);
    fc_distill_teacher_free(&x->te);
    fc_distill_free(x->d);
    fc_ccm_train_free(x->c);
    fc_llm_free(x->m);
}

static bool fx_load(fc_test *t, fx *x, bool with_hidden) {
    memset(x, 0, sizeof *x);
    if (fc_llm_load(&x->m, DIR) || fc_ccm_train_load(DIR "/ccm.safetensors", 0.4f, 7, &x->c) ||
        fc_st_open(&x->f, DIR "/case.safetensors"))
        return fc_test_fail(t, "%s", fc_errmsg());
    x->open = true;
    int64_t np = 0, ns = 0, nc = 0, nm = 0, ne = 0, nr = 0;
    const int32_t *p = get(&x->f, "prompt_ids", &np), *sp = get(&x->f, "spans", &ns), *c = get(&x->f, "cont_ids", &nc),
                  *m = get(&x->f, "supervised", &nm), *er = get(&x->f, "embeds_range", &nr);
    const float *e = get(&x->f, "embeds", &ne);
    if (!p || !sp || !c || !m || !er || !e || ns / 2 > 4 || nc > 32) return fc_test_fail(t, "case file incomplete");
    for (int i = 0; i < ns / 2; i++) x->spans[i] = (fc_compress_span){sp[2 * i], sp[2 * i + 1]};
    for (int i = 0; i < nc; i++) x->sup[i] = (uint8_t)m[i];
    x->s = (fc_distill_sample){.prompt_ids = p, .n_prompt = (int)np, .embeds = e, .embeds_start = er[0],
                               .n_embeds = er[1], .spans = x->spans, .n_spans = (int)(ns / 2), .cont_ids = c,
                               .supervised = x->sup, .n_cont = (int)nc};
    if (fc_distill_create(x->m, 0, &x->d) || fc_distill_teacher_run(x->d, &x->s, with_hidden, &x->te))
        return fc_test_fail(t, "%s", fc_errmsg());
    return true;
}

static bool all_nonzero(fc_test *t, const fc_ccm_train *c, const char *when) {
    t->checks++;
    for (int i = 0; i < c->n_tensors; i++) {
        const fc_ccm_param *p = &c->tensors[i];
        double m = 0;
        for (size_t e = 0; e < p->numel; e++) m = fmax(m, fabs(c->grads[p->offset + e]));
        if (!(m > 0) || !isfinite(m)) return fc_test_fail(t, "%s: %s has gradient max |g| = %g", when, p->name, m);
    }
    return true;
}

static void test_every_ccm_weight_gets_a_gradient(fc_test *t) {
    fx x;
    if (fx_load(t, &x, true)) {
        fc_distill_opts o = fc_distill_default_opts();
        for (int loss = 0; loss < FC_DISTILL_LOSS_COUNT; loss++)
            for (int drop = 0; drop < 2; drop++) {
                o.loss = (fc_distill_loss)loss, o.dropout = drop;
                fc_ccm_train_zero_grad(x.c);
                fc_distill_stats st;
                if (fc_distill_step(x.d, x.c, &x.te, &o, &st)) {
                    fc_test_fail(t, "%s", fc_errmsg());
                    break;
                }
                char when[64];
                snprintf(when, sizeof when, "%s, dropout %s", fc_distill_loss_name(o.loss), drop ? "on" : "off");
                if (!all_nonzero(t, x.c, when)) break;
                FC_CHECK(t, st.n_sup == 7 && st.n_tokens == 10 && st.n_prefix == 29 && st.n_compressed == 11,
                         "counts %d %d %d %d", st.n_sup, st.n_tokens, st.n_prefix, st.n_compressed);
            }
    }
    fx_free(&x);
}

/* Central differences of the whole step (loss w.r.t. CCM parameters) with dropout ON: the RNG state is set
 * before every evaluation so each sees the same masks. f32 forward: the loss carries ~1e-7 of rounding,
 * so with h = 1e-3 the differences are noisy at ~1e-4 absolute (measured: h and h/2 estimates differ by up
 * to ~2e-4). A ReLU kink within the steps shows as disagreeing one-sided slopes (a kink right at the point
 * makes the h and h/2 central estimates agree on the mean of both slopes, so that test alone misses it) or
 * as disagreeing step sizes; such parameters are skipped (counted; most must be checked).
 * Bound: |fd - g| <= 3e-4 + 2e-2 |g|. */
static void test_step_finite_differences_dropout_on(fc_test *t) {
    fx x;
    if (!fx_load(t, &x, true)) goto done;
    uint64_t state = 0xfeedbeef;
    fc_distill_opts o = fc_distill_default_opts();
    o.dropout = true, o.tau = 1.5f;
    for (int loss = 0; loss < FC_DISTILL_LOSS_COUNT; loss++) {
        o.loss = (fc_distill_loss)loss;
        fc_ccm_train_zero_grad(x.c);
        fc_ccm_train_set_rng(x.c, state);
        FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, NULL) == FC_OK, "%s", fc_errmsg());
        fc_distill_opts of = o;
        of.backward = false;
        int checked = 0, skipped = 0, bad = 0;
        for (int i = 0; i < x.c->n_tensors; i += 3) { /* a third of the tensors, 2 entries each */
            const fc_ccm_param *p = &x.c->tensors[i];
            for (int k = 0; k < 2; k++) {
                size_t at = p->offset + (size_t)(k * 7919) % p->numel;
                float p0 = x.c->params[at];
                /* loss at p0 + k h / 2 for k = -2..2 */
                double f[5], dp[5];
                for (int k2 = 0; k2 < 5; k2++) {
                    fc_distill_stats st;
                    x.c->params[at] = p0 + (float)(k2 - 2) * 5e-4f;
                    dp[k2] = (double)x.c->params[at] - p0;
                    fc_ccm_train_set_rng(x.c, state);
                    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &of, &st) == FC_OK, "%s", fc_errmsg());
                    f[k2] = st.loss;
                }
                x.c->params[at] = p0;
                double c1 = (f[4] - f[0]) / (dp[4] - dp[0]), c2 = (f[3] - f[1]) / (dp[3] - dp[1]);
                double fwd = (f[4] - f[2]) / dp[4], bwd = (f[2] - f[0]) / -dp[0];
                double est[2] = {c1, c2};
                double g = x.c->grads[at];
                if (getenv("FC_FD_DEBUG"))
                    printf("%s[%zu] g %.6g h %.6g h/2 %.6g fwd %.6g bwd %.6g\n", p->name, at - p->offset, g, c1, c2,
                           fwd, bwd);
                /* a ReLU kink within the steps: one-sided slopes or the two step sizes disagree */
                if (fabs(fwd - bwd) > 5e-4 + 0.1 * fabs(c1) || fabs(est[0] - est[1]) > 3e-4 + 0.05 * fabs(c1)) {
                    skipped++;
                    continue;
                }
                checked++;
                if (!(fabs(est[0] - g) <= 3e-4 + 2e-2 * fabs(g)) && bad++ < 5)
                    fc_test_fail(t, "%s: %s[%zu]: analytic %.6g, finite difference %.6g", fc_distill_loss_name(o.loss),
                                 p->name, at - p->offset, g, est[0]);
            }
        }
        t->checks++;
        printf("    %s: %d checked, %d skipped at a ReLU kink\n", fc_distill_loss_name(o.loss), checked, skipped);
        FC_CHECK(t, bad == 0 && checked >= 3 * skipped && checked > 15, "%s: %d checked, %d at a ReLU kink, %d bad",
                 fc_distill_loss_name(o.loss), checked, skipped, bad);
    }
done:
    fx_free(&x);
}

/* The teacher's own decoder pass (student.c over the uncompressed prefix) gives the logits the engine's
 * paged forward gives for the whole sequence prompt + cont[:-1] at the same rows. */
static void test_teacher_matches_engine_forward(fc_test *t) {
    fx x;
    fc_kv_pool *pool = NULL;
    float *logits = NULL;
    int32_t *ids = NULL;
    if (!fx_load(t, &x, false)) goto done;
    int S = x.te.S, T = x.te.T, N = S + T, V = x.te.V;
    fc_kv_pool_params pp = fc_llm_kv_params(x.m, 16, (N + 15) / 16 + 1, 1);
    logits = malloc(sizeof(float) * (size_t)N * V);
    ids = malloc(sizeof(int32_t) * N);
    fc_kv_handle seq = FC_KV_NONE;
    FC_CHECK(t, logits && ids && fc_kv_pool_create(&pool, &pp) == FC_OK && fc_kv_seq_create(pool, &seq) == FC_OK,
             "setup");
    memcpy(ids, x.s.prompt_ids, sizeof(int32_t) * (S + 1));
    memcpy(ids + S + 1, x.s.cont_ids, sizeof(int32_t) * (T - 1));
    fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = N, .embeds = x.s.embeds, .embeds_start = x.s.embeds_start,
                           .n_embeds = x.s.n_embeds};
    FC_CHECK(t, fc_llm_forward(x.m, pool, &in, 1, FC_LLM_ROWS_ALL, logits, NULL) == FC_OK, "%s", fc_errmsg());
    for (int i = 0; i < x.te.n_sup; i++) {
        char what[32];
        snprintf(what, sizeof what, "row %d", x.te.sup[i]);
        if (!fc_test_close(t, what, x.te.logits + (size_t)i * V, logits + (size_t)(S + x.te.sup[i]) * V, V, 2e-5, 2e-5))
            break;
    }
done:
    fc_kv_pool_free(pool);
    free(logits);
    free(ids);
    fx_free(&x);
}

/* Training forward (dropout off) == inference forward of ccm.c on the saved checkpoint; the checkpoint
 * round-trips with the caller's metadata. */
static void test_checkpoint_roundtrip_and_inference_forward(fc_test *t) {
    fx x;
    fc_ccm *inf = NULL;
    fc_ccm_train *back = NULL;
    fc_ag_ccm plan = {0};
    float *kc = NULL, *vc = NULL, *ki = NULL, *vi = NULL;
    char path[64];
    snprintf(path, sizeof path, "/tmp/fc_ccm_rt_%d.safetensors", (int)getpid());
    if (!fx_load(t, &x, false)) goto done;
    const char *meta[] = {"step", "12", "position_rule", "compressed", "train_ids", "a,b"};
    FC_CHECK(t, fc_ccm_train_save(x.c, path, meta, 3) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_ccm_load(path, &inf) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_ccm_get_config(inf)->position_rule == FC_CCM_POS_COMPRESSED, "extra metadata overrides");
    FC_CHECK(t, fc_ccm_train_load(path, 0.1f, 1, &back) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, back->n_params == x.c->n_params && !memcmp(back->params, x.c->params, x.c->n_params * 4),
             "params differ after the round trip");
    FC_CHECK(t, fabsf(back->dropout - 0.4f) < 1e-7f, "dropout %g from the metadata", back->dropout);
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK, "%s", fc_errmsg());
    const char *st = fc_st_meta(&f, "step"), *ids = fc_st_meta(&f, "train_ids");
    bool ok = st && !strcmp(st, "12") && ids && !strcmp(ids, "a,b");
    fc_st_close(&f);
    FC_CHECK(t, ok, "caller metadata kept");
    /* the gradient file: same names and shapes, the grads' values */
    for (size_t i = 0; i < x.c->n_params; i++) x.c->grads[i] = (float)i * 0.5f;
    FC_CHECK(t, fc_ccm_train_save_grads(x.c, path, meta, 1) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK, "%s", fc_errmsg());
    const fc_st_entry *ge = fc_st_find(&f, x.c->tensors[5].name);
    ok = ge && ge->st_dtype == FC_ST_F32 && ge->shape[0] == x.c->tensors[5].shape[0] &&
         ((const float *)ge->data)[3] == (float)(x.c->tensors[5].offset + 3) * 0.5f;
    fc_st_close(&f);
    fc_ccm_train_zero_grad(x.c);
    FC_CHECK(t, ok, "gradient file");
    /* layer 1 through both forwards */
    int S = x.te.S, Hkv = x.te.Hkv, D = x.te.D;
    FC_CHECK(t, fc_ag_ccm_plan(&plan, x.c, x.c->cfg.segment_rule, S, Hkv, x.te.spans, x.te.n_spans, 2) == FC_OK,
             "%s", fc_errmsg());
    size_t n = (size_t)Hkv * S * D;
    kc = malloc(n * 4), vc = malloc(n * 4), ki = malloc(n * 4), vi = malloc(n * 4);
    FC_CHECK(t, kc && vc && ki && vi, "oom");
    const float *k1 = x.te.k + n, *v1 = x.te.v + n;
    FC_CHECK(t, fc_ag_ccm_forward(&plan, x.c, 1, k1, v1, kc, vc, false) == FC_OK, "%s", fc_errmsg());
    int n_out = 0;
    fc_ccm_run_opts ro = {.segment_rule = -1, .min_windows = -1};
    FC_CHECK(t, fc_ccm_apply_layer(inf, 1, k1, v1, Hkv, S, x.te.spans, x.te.n_spans, &ro, ki, vi, &n_out) == FC_OK,
             "%s", fc_errmsg());
    FC_CHECK(t, n_out == plan.C, "compressed lengths %d vs %d", n_out, plan.C);
    fc_test_close(t, "K training vs inference", kc, ki, (size_t)Hkv * n_out * D, 1e-6, 1e-6);
    fc_test_close(t, "V training vs inference", vc, vi, (size_t)Hkv * n_out * D, 1e-6, 1e-6);
done:
    unlink(path);
    fc_ag_ccm_free(&plan);
    free(kc), free(vc), free(ki), free(vi);
    fc_ccm_free(inf);
    fc_ccm_train_free(back);
    fx_free(&x);
}

static void test_dropout_rng_scale_and_accumulation(fc_test *t) {
    fx x;
    float *g1 = NULL;
    if (!fx_load(t, &x, false)) goto done;
    fc_distill_opts o = fc_distill_default_opts();
    o.dropout = true;
    fc_distill_stats a, b, c;
    fc_ccm_train_set_rng(x.c, 99);
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &a) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_ccm_train_get_rng(x.c) != 99, "the RNG advances");
    fc_ccm_train_set_rng(x.c, 99);
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, a.loss == b.loss, "same RNG state, same masks: %.9g vs %.9g", a.loss, b.loss);
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &c) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.loss != b.loss, "another state, other masks");
    /* dropout off: grad_scale 2 doubles the gradient; two steps accumulate */
    o.dropout = false;
    fc_ccm_train_zero_grad(x.c);
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &a) == FC_OK, "%s", fc_errmsg());
    g1 = malloc(x.c->n_params * 4);
    FC_CHECK(t, g1 != NULL, "oom");
    memcpy(g1, x.c->grads, x.c->n_params * 4);
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, a.loss == b.loss, "dropout off is deterministic");
    for (size_t i = 0; i < x.c->n_params; i++) g1[i] *= 2;
    fc_test_close(t, "two steps accumulate", x.c->grads, g1, x.c->n_params, 1e-7, 1e-6);
    fc_ccm_train_zero_grad(x.c);
    o.grad_scale = 2.0f;
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &c) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.loss == a.loss, "the reported loss is unscaled");
    fc_test_close(t, "grad_scale 2", x.c->grads, g1, x.c->n_params, 1e-7, 1e-6);
    /* backward off leaves the gradient alone */
    o.backward = false;
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &c) == FC_OK, "%s", fc_errmsg());
    fc_test_close(t, "backward off", x.c->grads, g1, x.c->n_params, 0, 0);
done:
    free(g1);
    fx_free(&x);
}

/* Steps after the first allocate nothing: malloc, calloc and realloc are interposed (release build only; ASan
 * brings its own allocator) and counted around two more steps of each loss, dropout on. */
#if !defined(__SANITIZE_ADDRESS__)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile long n_allocs;
void *malloc(size_t n) {
    n_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    n_allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    n_allocs++;
    return __libc_realloc(p, n);
}
#endif

static void test_no_allocation_after_first_step(fc_test *t) {
#if defined(__SANITIZE_ADDRESS__)
    fc_test_skip(t, "ASan replaces malloc");
#else
    fx x;
    if (!fx_load(t, &x, true)) goto done;
    fc_distill_opts o = fc_distill_default_opts();
    o.dropout = true;
    for (int loss = 0; loss < FC_DISTILL_LOSS_COUNT; loss++) {
        o.loss = (fc_distill_loss)loss;
        FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, NULL) == FC_OK, "%s", fc_errmsg());
    }
    long before = n_allocs;
    for (int loss = 0; loss < FC_DISTILL_LOSS_COUNT; loss++) {
        o.loss = (fc_distill_loss)loss;
        FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, NULL) == FC_OK, "%s", fc_errmsg());
    }
    FC_CHECK(t, n_allocs == before, "%ld allocations in two steps after the first", n_allocs - before);
    FC_CHECK(t, before > 0, "the interposed malloc is not called at all");
done:
    fx_free(&x);
#endif
}

/* The step gives the same bits on 1 and 3 threads (every output element is summed by one thread in a fixed
 * order), so a resumed run repeats its losses whatever the machine. At this tiny size several kernels stay
 * below their threading thresholds; the attention backward (threads over kv heads) and the loss rows do not. */
static void test_step_same_bits_any_thread_count(fc_test *t) {
    fx x;
    float *g1 = NULL;
    int saved = omp_get_max_threads();
    if (!fx_load(t, &x, true)) goto done;
    g1 = malloc(x.c->n_params * sizeof(float));
    FC_CHECK(t, g1 != NULL, "oom");
    for (int loss = 0; loss < FC_DISTILL_LOSS_COUNT; loss++) {
        fc_distill_opts o = fc_distill_default_opts();
        o.loss = (fc_distill_loss)loss, o.dropout = true, o.tau = 1.5f;
        fc_distill_stats a, b;
        omp_set_num_threads(1);
        fc_ccm_train_zero_grad(x.c);
        fc_ccm_train_set_rng(x.c, 5);
        FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &a) == FC_OK, "%s", fc_errmsg());
        memcpy(g1, x.c->grads, x.c->n_params * sizeof(float));
        omp_set_num_threads(3);
        fc_ccm_train_zero_grad(x.c);
        fc_ccm_train_set_rng(x.c, 5);
        FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, &b) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, a.loss == b.loss && !memcmp(g1, x.c->grads, x.c->n_params * sizeof(float)),
                 "%s: 1 thread loss %.17g, 3 threads %.17g", fc_distill_loss_name(o.loss), a.loss, b.loss);
    }
done:
    omp_set_num_threads(saved);
    free(g1);
    fx_free(&x);
}

static void expect_sample_error(fc_test *t, fx *x, fc_distill_sample s, const char *needle) {
    t->checks++;
    fc_err e = fc_distill_check_sample(x->d, &s);
    if (e == FC_OK || !strstr(fc_errmsg(), needle))
        fc_test_fail(t, "want an error containing '%s', got %d '%s'", needle, e, fc_errmsg());
}

static void test_bad_input(fc_test *t) {
    fx x;
    if (!fx_load(t, &x, false)) goto done;
    fc_distill_sample s = x.s;
    uint8_t none[32] = {0};
    s.supervised = none;
    expect_sample_error(t, &x, s, "no supervised token");
    s = x.s, s.n_cont = 0;
    expect_sample_error(t, &x, s, "no continuation");
    s = x.s, s.n_prompt = 1;
    expect_sample_error(t, &x, s, "prompt of 1 tokens");
    fc_compress_span bad[2] = {{3, 12}, {10, 40}};
    s = x.s, s.spans = bad;
    expect_sample_error(t, &x, s, "image span 1");
    s = x.s, s.spans = NULL;
    expect_sample_error(t, &x, s, "no span array");
    int32_t ids[40];
    memcpy(ids, x.s.cont_ids, sizeof(int32_t) * x.s.n_cont);
    ids[2] = 100000;
    s = x.s, s.cont_ids = ids;
    expect_sample_error(t, &x, s, "outside the vocabulary");
    fc_distill *small = NULL;
    FC_CHECK(t, fc_distill_create(x.m, 20, &small) == FC_OK, "%s", fc_errmsg());
    t->checks++;
    if (fc_distill_check_sample(small, &x.s) == FC_OK || !strstr(fc_errmsg(), "exceed the model's context"))
        fc_test_fail(t, "a too long sample: '%s'", fc_errmsg());
    fc_distill_free(small);
    /* the fastcache loss needs the teacher's hidden states (this teacher ran without) */
    fc_distill_opts o = fc_distill_default_opts();
    o.loss = FC_DISTILL_LOSS_FASTCACHE;
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, NULL) == FC_EINVAL && strstr(fc_errmsg(), "hidden states"),
             "'%s'", fc_errmsg());
    o = fc_distill_default_opts();
    o.tau = 0;
    FC_CHECK(t, fc_distill_step(x.d, x.c, &x.te, &o, NULL) == FC_EINVAL, "tau 0 accepted");
    /* a compressor for another model */
    fc_ccm_config cfg = x.c->cfg;
    cfg.n_layers = 3;
    fc_ccm_train *other = NULL;
    FC_CHECK(t, fc_ccm_train_create(&cfg, 0.4f, 1, &other) == FC_OK, "%s", fc_errmsg());
    o = fc_distill_default_opts();
    fc_err e = fc_distill_step(x.d, other, &x.te, &o, NULL);
    fc_ccm_train_free(other);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "does not fit"), "'%s'", fc_errmsg());
    /* spans rule without image MLPs is refused at creation */
    cfg = x.c->cfg;
    cfg.has_image = false;
    FC_CHECK(t, fc_ccm_train_create(&cfg, 0.4f, 1, &other) == FC_EINVAL && other == NULL, "spans without ik/iv");
done:
    fx_free(&x);
}

/* The seeded init: bounds of nn.Linear (1/sqrt(fan_in)), spread over them, the same seed the same weights. */
static void test_create_init(fc_test *t) {
    fc_ccm_config cfg = {.family = "llava", .n_layers = 2, .head_dim = 16, .cf = 5, .hidden = 16, .depth = 3,
                         .min_windows = 2, .has_image = true, .segment_rule = FC_CCM_SEG_SPANS,
                         .position_rule = FC_CCM_POS_ORIGINAL};
    fc_ccm_train *a = NULL, *b = NULL;
    FC_CHECK(t, fc_ccm_train_create(&cfg, 0.4f, 48, &a) == FC_OK, "%s", fc_errmsg());
    fc_err e = fc_ccm_train_create(&cfg, 0.4f, 48, &b);
    bool ok = e == FC_OK && a->n_params == b->n_params && !memcmp(a->params, b->params, a->n_params * 4);
    fc_ccm_train_free(b);
    if (!ok) fc_test_fail(t, "same seed, different weights");
    t->checks++;
    FC_CHECK(t, a->n_tensors == 2 * 4 * 3 * 2, "%d tensors", a->n_tensors);
    FC_CHECK(t, a->n_params == 2 * 4 * (16 * 80 + 16 + 2 * (16 * 16 + 16)), "%zu params", a->n_params);
    for (int i = 0; i < a->n_tensors; i++) {
        const fc_ccm_param *p = &a->tensors[i];
        double fan_in = p->ndim == 2 ? (double)p->shape[1] : (double)a->tensors[i - 1].shape[1];
        double bound = 1 / sqrt(fan_in), mx = 0;
        for (size_t k = 0; k < p->numel; k++) mx = fmax(mx, fabs(a->params[p->offset + k]));
        FC_CHECK(t, mx <= bound && mx > (p->numel >= 64 ? 0.9 : 0.4) * bound, "%s: max |w| %g, bound %g", p->name, mx, bound);
        FC_CHECK(t, fc_ccm_train_find(a, p->name) == p, "find %s", p->name);
    }
    FC_CHECK(t, !strcmp(a->tensors[0].name, "ccm.layers.0.ik.0.weight") && a->tensors[0].shape[0] == 16 &&
                    a->tensors[0].shape[1] == 80,
             "first view %s", a->tensors[0].name);
    FC_CHECK(t, fc_ccm_train_weight(a, 1, FC_CCM_TV, 2, 1) == a->grads + fc_ccm_train_find(a, "ccm.layers.1.tv.2.weight")->offset,
             "weight pointer");
    fc_ccm_train_free(a);
}

static const fc_test_case cases[] = {
    FC_CASE(test_every_ccm_weight_gets_a_gradient), FC_CASE(test_step_finite_differences_dropout_on),
    FC_CASE(test_teacher_matches_engine_forward),   FC_CASE(test_checkpoint_roundtrip_and_inference_forward),
    FC_CASE(test_dropout_rng_scale_and_accumulation), FC_CASE(test_no_allocation_after_first_step),
    FC_CASE(test_step_same_bits_any_thread_count), FC_CASE(test_bad_input),
    FC_CASE(test_create_init),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
