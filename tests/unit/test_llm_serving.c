/* test_llm_serving.c: the decoder forward as a serving scheduler drives it (issue 10): a failed batched
 * forward leaves the pool exactly as it was, reservations made ahead and shared blocks included (defect 4),
 * and the next forward gives the same logits bit for bit as a run that never failed. Model: the tiny
 * llama_plain fixture (tests/fixtures/llm), whose logits test_llm.c checks against transformers. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/kv/kv_pool.h"
#include "core/model/llm.h"
#include "core/model/llm_capture.h"
#include "tests/test.h"

#define FIX "tests/fixtures/llm/"

/* Per layer: length and block table of a sequence, and the pool's free count: what must survive a
 * failed call unchanged. */
typedef struct {
    int len[8], nb[8], free_blocks, next;
    int32_t blocks[8][32];
} snap;

static snap take(const fc_kv_pool *kv, fc_kv_handle h) {
    snap s;
    memset(&s, 0, sizeof s);
    for (int l = 0; l < kv->p.n_layers && l < 8; l++) {
        const fc_kv_table *t = &kv->seqs[h.slot].layers[l];
        s.len[l] = fc_kv_seq_layer_len(kv, h, l);
        s.nb[l] = t->n_blocks;
        for (int i = 0; i < t->n_blocks && i < 32; i++) s.blocks[l][i] = t->blocks[i];
    }
    s.free_blocks = fc_kv_free_layer_blocks(kv);
    s.next = fc_kv_seq_next_pos(kv, h);
    return s;
}

static bool same(const snap *a, const snap *b) { return !memcmp(a, b, sizeof *a); }

static const int32_t PROMPT[5] = {1, 5, 9, 17, 33};
static const int32_t LONG[20] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};

/* Issue 10, defect 4: a failed batched forward rolled back with a truncate to the old length, which also
 * released blocks the caller had reserved before the call (reserve-ahead admission could not work). */
static void test_issue10_defect4_failed_forward_keeps_reservations(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    const int V = m->cfg.vocab_size;
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 6, 4);
    fc_kv_pool *kv = NULL, *ref = NULL;
    float *lg = malloc(sizeof(float) * 2 * V), *want = malloc(sizeof(float) * V);
    FC_CHECK(t, lg && want && fc_kv_pool_create(&kv, &p) == FC_OK && fc_kv_pool_create(&ref, &p) == FC_OK, "%s",
             fc_errmsg());
    /* the reference: prompt, then one decode step, in a pool that never saw a failure */
    fc_kv_handle r;
    fc_llm_seq_input in = {.ids = PROMPT, .n = 5};
    FC_CHECK(t, fc_kv_seq_create(ref, &r) == FC_OK, "%s", fc_errmsg());
    in.seq = r;
    FC_CHECK(t, fc_llm_forward(m, ref, &in, 1, FC_LLM_ROWS_LAST, lg, NULL) == FC_OK, "%s", fc_errmsg());
    int32_t next = 7;
    FC_CHECK(t, fc_llm_decode(m, ref, &r, &next, 1, want) == FC_OK, "%s", fc_errmsg());

    fc_kv_handle a, b, c;
    FC_CHECK(t, fc_kv_seq_create(kv, &a) == FC_OK && fc_kv_seq_create(kv, &b) == FC_OK, "%s", fc_errmsg());
    in.seq = a;
    FC_CHECK(t, fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_LAST, lg, NULL) == FC_OK, "%s", fc_errmsg());
    /* a reserves ahead room for 8 more (13 entries: 4 blocks per layer), as a scheduler admitting it would */
    FC_CHECK(t, fc_kv_seq_reserve(kv, a, 8) == FC_OK, "%s", fc_errmsg());
    snap s0 = take(kv, a);
    /* b's 20 tokens need 5 blocks per layer, only 2 are free: the call fails after a's reservation step */
    fc_llm_seq_input two[2] = {{.seq = a, .ids = &next, .n = 1}, {.seq = b, .ids = LONG, .n = 20}};
    fc_err e = fc_llm_forward(m, kv, two, 2, FC_LLM_ROWS_LAST, lg, NULL);
    snap s1 = take(kv, a);
    FC_CHECK(t, e == FC_ENOMEM && same(&s0, &s1), "e=%d; a's blocks %d -> %d, free %d -> %d", e, s0.nb[0], s1.nb[0],
             s0.free_blocks, s1.free_blocks);
    /* a failure inside the layers (a capture refusing its input) after every reservation was made */
    fc_llm_capture *cap = NULL;
    FC_CHECK(t, fc_llm_capture_create_ext(&cap, m, FC_NEED_QSTATS, 0, 4) == FC_OK, "%s", fc_errmsg());
    fc_llm_seq_input one = {.seq = a, .ids = &next, .n = 1, .capture = cap};
    e = fc_llm_forward(m, kv, &one, 1, FC_LLM_ROWS_LAST, lg, NULL);
    s1 = take(kv, a);
    FC_CHECK(t, e != FC_OK && same(&s0, &s1), "in-layer failure: e=%d, a's blocks %d -> %d", e, s0.nb[0], s1.nb[0]);
    fc_llm_capture_free(cap);
    /* a fork shares a's partly filled tail block; a failed call that copied it on write undoes the copy */
    FC_CHECK(t, fc_kv_seq_fork(kv, a, &c) == FC_OK, "%s", fc_errmsg());
    snap c0 = take(kv, c);
    two[0].seq = c;
    e = fc_llm_forward(m, kv, two, 2, FC_LLM_ROWS_LAST, lg, NULL);
    snap c1 = take(kv, c);
    FC_CHECK(t, e == FC_ENOMEM && same(&c0, &c1) && c1.blocks[0][1] == s0.blocks[0][1], "fork: e=%d", e);
    FC_CHECK(t, fc_kv_pool_check(kv) == FC_OK, "%s", fc_errmsg());
    /* the retried step gives the reference's logits bit for bit, and uses the reserved blocks */
    FC_CHECK(t, fc_llm_decode(m, kv, &a, &next, 1, lg) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, !memcmp(lg, want, sizeof(float) * V), "logits after failed calls differ from the reference");
    /* its only new blocks are the copies of the tail block it shares with the fork (one per layer) */
    FC_CHECK(t, fc_kv_free_layer_blocks(kv) == s0.free_blocks - kv->p.n_layers, "free %d, want %d",
             fc_kv_free_layer_blocks(kv), s0.free_blocks - kv->p.n_layers);
    /* the fork decodes the same token: the same logits, with no block taken (a took the copy) */
    int free_before = fc_kv_free_layer_blocks(kv);
    FC_CHECK(t, fc_llm_decode(m, kv, &c, &next, 1, lg) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, !memcmp(lg, want, sizeof(float) * V) && fc_kv_free_layer_blocks(kv) == free_before,
             "the fork's logits differ from the reference, or it took blocks");
    FC_CHECK(t, fc_kv_pool_check(kv) == FC_OK, "%s", fc_errmsg());
    free(lg), free(want);
    fc_kv_pool_free(kv);
    fc_kv_pool_free(ref);
    fc_llm_free(m);
}

/* Per-input results: refused inputs (bad ids, stale handle, listed twice, no blocks) are left alone and
 * reported; the rest run as a batch and their logits equal those of running them on their own. */
static void test_llm_forward_each_refuses_alone(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    const int V = m->cfg.vocab_size;
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 8, 6);
    fc_kv_pool *kv = NULL, *ref = NULL;
    FC_CHECK(t, fc_kv_pool_create(&kv, &p) == FC_OK && fc_kv_pool_create(&ref, &p) == FC_OK, "%s", fc_errmsg());
    /* the reference: the two good inputs alone, ROWS_ALL */
    fc_kv_handle r1, r2;
    float *want = malloc(sizeof(float) * 30 * V), *lg = malloc(sizeof(float) * 60 * V);
    FC_CHECK(t, want && lg && fc_kv_seq_create(ref, &r1) == FC_OK && fc_kv_seq_create(ref, &r2) == FC_OK, "%s", fc_errmsg());
    fc_llm_seq_input rin[2] = {{.seq = r1, .ids = PROMPT, .n = 5}, {.seq = r2, .ids = LONG, .n = 3}};
    FC_CHECK(t, fc_llm_forward(m, ref, rin, 2, FC_LLM_ROWS_ALL, want, NULL) == FC_OK, "%s", fc_errmsg());

    fc_kv_handle a, b, c, d, gone;
    FC_CHECK(t, fc_kv_seq_create(kv, &gone) == FC_OK && fc_kv_seq_free(kv, gone) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_kv_seq_create(kv, &a) == FC_OK && fc_kv_seq_create(kv, &b) == FC_OK &&
                    fc_kv_seq_create(kv, &c) == FC_OK && fc_kv_seq_create(kv, &d) == FC_OK, "%s", fc_errmsg());
    int32_t bad[2] = {1, 9999};
    /* inputs: a (good, 5) | bad id | stale | b (good, 3) | a again | d: 40 tokens, more than the pool holds */
    int32_t many[40];
    for (int i = 0; i < 40; i++) many[i] = 3 + i % 50;
    fc_llm_seq_input in[6] = {{.seq = a, .ids = PROMPT, .n = 5}, {.seq = c, .ids = bad, .n = 2},
                              {.seq = gone, .ids = PROMPT, .n = 5}, {.seq = b, .ids = LONG, .n = 3},
                              {.seq = a, .ids = PROMPT, .n = 1}, {.seq = d, .ids = many, .n = 40}};
    fc_err st[6];
    int n_run = -1, free0 = fc_kv_free_layer_blocks(kv);
    fc_err e = fc_llm_forward_each(m, kv, in, 6, FC_LLM_ROWS_ALL, lg, NULL, st, &n_run);
    FC_CHECK(t, e == FC_OK && n_run == 2, "e=%d n_run %d: %s", e, n_run, fc_errmsg());
    FC_CHECK(t, st[0] == FC_OK && st[1] == FC_EINVAL && st[2] == FC_EINVAL && st[3] == FC_OK && st[4] == FC_EINVAL &&
                    st[5] == FC_ENOMEM,
             "status %d %d %d %d %d %d", st[0], st[1], st[2], st[3], st[4], st[5]);
    /* rows in the full layout: a's 5, c's 2 (NaN), gone's 5 (NaN), b's 3, a's 1 (NaN), d's 40 (NaN) */
    FC_CHECK(t, !memcmp(lg, want, sizeof(float) * 5 * V) && !memcmp(lg + (size_t)12 * V, want + (size_t)5 * V, sizeof(float) * 3 * V),
             "logits of the inputs that ran differ from running them alone");
    FC_CHECK(t, isnan(lg[(size_t)5 * V]) && isnan(lg[(size_t)11 * V + V - 1]) && isnan(lg[(size_t)15 * V]) &&
                    isnan(lg[(size_t)56 * V - 1]),
             "refused rows are not NaN");
    FC_CHECK(t, fc_kv_seq_len(kv, a) == 5 && fc_kv_seq_len(kv, b) == 3 && fc_kv_seq_len(kv, c) == 0 &&
                    fc_kv_seq_len(kv, d) == 0 && fc_kv_free_layer_blocks(kv) == free0 - 3 * m->cfg.num_layers,
             "lengths / blocks after the step (a: 2 blocks a layer, b: 1)");
    FC_CHECK(t, fc_kv_pool_check(kv) == FC_OK, "%s", fc_errmsg());
    /* ROWS_LAST, everything refused: FC_OK, nothing ran, all rows NaN */
    fc_llm_seq_input none[2] = {{.seq = gone, .ids = PROMPT, .n = 1}, {.seq = c, .ids = bad, .n = 2}};
    e = fc_llm_forward_each(m, kv, none, 2, FC_LLM_ROWS_LAST, lg, NULL, st, &n_run);
    FC_CHECK(t, e == FC_OK && n_run == 0 && isnan(lg[0]) && isnan(lg[2 * V - 1]), "all refused: e=%d n_run %d", e, n_run);
    /* an error of the call itself: every status set, nothing changed */
    fc_llm_set_act_limits(m, 1024, FC_LLM_ACT_KEEP_DEFAULT);
    fc_llm_seq_input one[1] = {{.seq = c, .ids = PROMPT, .n = 5}};
    e = fc_llm_forward_each(m, kv, one, 1, FC_LLM_ROWS_LAST, lg, NULL, st, &n_run);
    FC_CHECK(t, e == FC_ENOMEM && st[0] == FC_ENOMEM && strstr(fc_errmsg(), "over the cap") && fc_kv_seq_len(kv, c) == 0,
             "act cap: e=%d: %s", e, fc_errmsg());
    FC_CHECK(t, fc_kv_pool_check(kv) == FC_OK, "%s", fc_errmsg());
    free(want), free(lg);
    fc_kv_pool_free(kv);
    fc_kv_pool_free(ref);
    fc_llm_free(m);
}

/* The activation cap refuses a call that needs more (nothing changed) and the same prompt in chunks under
 * the cap gives the same last logits as one call within 1e-5 (GEMMs of other shapes sum in another order);
 * a buffer above act_keep is released after its call. */
static void test_llm_act_cap_and_release(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    const int V = m->cfg.vocab_size;
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 16, 2);
    fc_kv_pool *kv = NULL;
    FC_CHECK(t, fc_kv_pool_create(&kv, &p) == FC_OK, "%s", fc_errmsg());
    float *whole = malloc(sizeof(float) * V), *chunked = malloc(sizeof(float) * V);
    fc_kv_handle a, b;
    FC_CHECK(t, whole && chunked && fc_kv_seq_create(kv, &a) == FC_OK && fc_kv_seq_create(kv, &b) == FC_OK, "%s",
             fc_errmsg());
    size_t need20 = fc_llm_act_bytes(m, 20, 1, false, 1), need5 = fc_llm_act_bytes(m, 5, 1, false, 1);
    FC_CHECK(t, need5 < need20, "act bytes grow with tokens: %zu %zu", need5, need20);
    fc_llm_seq_input in = {.seq = a, .ids = LONG, .n = 20};
    FC_CHECK(t, fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_LAST, whole, NULL) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, m->act_cap >= need20, "buffer kept under act_keep: %zu", m->act_cap);
    fc_llm_set_act_limits(m, need5, 0); /* at most 5 tokens a call; release every buffer after its call */
    in.seq = b;
    fc_err e = fc_llm_forward(m, kv, &in, 1, FC_LLM_ROWS_LAST, chunked, NULL);
    FC_CHECK(t, e == FC_ENOMEM && strstr(fc_errmsg(), "over the cap") && fc_kv_seq_len(kv, b) == 0 &&
                    fc_kv_free_layer_blocks(kv) == (16 - 5) * m->cfg.num_layers,
             "e=%d: %s", e, fc_errmsg());
    for (int at = 0; at < 20; at += 5) {
        fc_llm_seq_input part = {.seq = b, .ids = LONG + at, .n = 5};
        FC_CHECK(t, fc_llm_forward(m, kv, &part, 1, FC_LLM_ROWS_LAST, chunked, NULL) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, m->act == NULL && m->act_cap == 0, "buffer kept above act_keep 0");
    }
    fc_test_close(t, "chunked prefill", chunked, whole, (size_t)V, 1e-5, 1e-5);
    free(whole), free(chunked);
    fc_kv_pool_free(kv);
    fc_llm_free(m);
}

/* A forward from a thread that does not own the pool fails before touching it (issue 10, defect 5). */
typedef struct {
    fc_llm *m;
    fc_kv_pool *kv;
    fc_kv_handle a;
    fc_err e;
    char msg[256];
} fwd_job;

static void *fwd_thread(void *arg) {
    fwd_job *j = arg;
    fc_llm_seq_input in = {.seq = j->a, .ids = PROMPT, .n = 5};
    j->e = fc_llm_forward(j->m, j->kv, &in, 1, FC_LLM_ROWS_LAST, NULL, NULL);
    snprintf(j->msg, sizeof j->msg, "%s", fc_errmsg());
    return NULL;
}

static void test_issue10_defect5_forward_other_thread(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 8, 2);
    fc_kv_pool *kv = NULL;
    fwd_job j = {.m = m};
    FC_CHECK(t, fc_kv_pool_create(&kv, &p) == FC_OK && fc_kv_seq_create(kv, &j.a) == FC_OK, "%s", fc_errmsg());
    j.kv = kv;
    pthread_t th;
    FC_CHECK(t, pthread_create(&th, NULL, fwd_thread, &j) == 0, "pthread_create");
    pthread_join(th, NULL);
    FC_CHECK(t, j.e == FC_EINVAL && strstr(j.msg, "does not own") && fc_kv_free_layer_blocks(kv) == 8 * m->cfg.num_layers,
             "e=%d '%s'", j.e, j.msg);
    fc_kv_pool_free(kv);
    fc_llm_free(m);
}

/* The observed-attention capture scores queries in chunks within scratch_bytes: the sums are the same bit
 * for bit as all queries at once. */
static void test_llm_capture_chunked_scores(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 16, 2);
    fc_kv_pool *kv = NULL;
    fc_llm_capture *c1 = NULL, *c2 = NULL;
    fc_kv_handle a, b;
    FC_CHECK(t, fc_kv_pool_create(&kv, &p) == FC_OK && fc_kv_seq_create(kv, &a) == FC_OK &&
                    fc_kv_seq_create(kv, &b) == FC_OK && fc_llm_capture_create_ext(&c1, m, FC_NEED_ATTN_SUM, 0, 0) == FC_OK &&
                    fc_llm_capture_create_ext(&c2, m, FC_NEED_ATTN_SUM, 0, 0) == FC_OK,
             "%s", fc_errmsg());
    c2->scratch_bytes = 3 * 20 * sizeof(float); /* 3 query rows of 20 keys at a time */
    fc_llm_seq_input in[2] = {{.seq = a, .ids = LONG, .n = 20, .capture = c1}, {.seq = b, .ids = LONG, .n = 20, .capture = c2}};
    FC_CHECK(t, fc_llm_forward(m, kv, in, 2, FC_LLM_ROWS_LAST, NULL, NULL) == FC_OK, "%s", fc_errmsg());
    for (int l = 0; l < m->cfg.num_layers; l++)
        FC_CHECK(t, c1->n_keys[l] == 20 && !memcmp(c1->attn_sum[l], c2->attn_sum[l], sizeof(float) * c1->H * 20),
                 "layer %d: chunked attention sums differ", l);
    fc_llm_capture_free(c1);
    fc_llm_capture_free(c2);
    fc_kv_pool_free(kv);
    fc_llm_free(m);
}

static const fc_test_case cases[] = {
    FC_CASE(test_llm_forward_each_refuses_alone),
    FC_CASE(test_llm_act_cap_and_release),
    FC_CASE(test_issue10_defect5_forward_other_thread),
    FC_CASE(test_llm_capture_chunked_scores),
    FC_CASE(test_issue10_defect4_failed_forward_keeps_reservations),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
