/* test_llm_serving.c: the decoder forward as a serving scheduler drives it (issue 10): a failed batched
 * forward leaves the pool exactly as it was, reservations made ahead and shared blocks included (defect 4),
 * and the next forward gives the same logits bit for bit as a run that never failed. Model: the tiny
 * llama_plain fixture (tests/fixtures/llm), whose logits test_llm.c checks against transformers. */
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

static const fc_test_case cases[] = {
    FC_CASE(test_issue10_defect4_failed_forward_keeps_reservations),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
