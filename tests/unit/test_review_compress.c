/* test_review_compress.c: regression tests for defects a review of the compression path and the quality
 * loop found (core/compress/compress.h, compress_seq.h, core/serve/quality.h), each named after its defect.
 * The CCM checkpoint is tools/make_compress_fixtures.py's random one for llava-tiny (2 layers, head dim 8,
 * cf 4, position_rule "compressed"). */
#include <string.h>

#include "core/compress/compress.h"
#include "core/compress/compress_seq.h"
#include "core/kv/kv_pool.h"
#include "core/serve/quality.h"
#include "tests/test.h"

#define CCM "tests/fixtures/compress/ccm_llava_tiny_random.safetensors"

/* A pool of L layers, 2 kv heads of head_dim, holding one sequence of S entries of smooth values. */
static fc_kv_pool *filled_pool(fc_test *t, int L, int head_dim, int S, fc_kv_handle *h) {
    fc_kv_pool_params p = {.n_layers = L, .n_kv_heads = 2, .head_dim = head_dim, .block_size = 4, .n_blocks = 16,
                           .max_seqs = 2, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CPU};
    fc_kv_pool *pool = NULL;
    if (fc_kv_pool_create(&pool, &p) || fc_kv_seq_create(pool, h) || fc_kv_seq_reserve(pool, *h, S)) {
        fc_test_fail(t, "pool: %s", fc_errmsg());
        fc_kv_pool_free(pool);
        return NULL;
    }
    for (int l = 0; l < L; l++)
        for (int i = 0; i < S; i++) {
            float *k = fc_kv_slot_k(pool, *h, l, i), *v = fc_kv_slot_v(pool, *h, l, i);
            for (int d = 0; d < 2 * head_dim; d++) k[d] = 0.01f * (float)(i + d + l), v[d] = -0.02f * (float)(i - d);
        }
    if (fc_kv_seq_commit(pool, *h, S)) {
        fc_test_fail(t, "commit: %s", fc_errmsg());
        fc_kv_pool_free(pool);
        return NULL;
    }
    return pool;
}

/* Compresses a 20-entry sequence with spec; *next_pos and *len_after report the result. */
static fc_err compress_with(fc_test *t, const char *spec, int *next_pos, int *len_after) {
    fc_kv_handle h;
    fc_kv_pool *pool = filled_pool(t, 2, 8, 20, &h);
    if (!pool) return FC_EINVAL;
    fc_compress_method *m = NULL;
    fc_compress_seq_result r;
    fc_err e = fc_compress_create(spec, &m);
    if (!e) e = fc_compress_sequence(pool, h, m, 2, NULL, 0, NULL, NULL, &r);
    if (!e) *next_pos = fc_kv_seq_next_pos(pool, h), *len_after = r.len_after;
    fc_compress_free(m);
    fc_kv_pool_free(pool);
    return e;
}

/* Issue 12 asks for an option of the ccm method that overrides a checkpoint's position rule at evaluation;
 * there was none, so a checkpoint converted with the wrong rule (tools/convert_fastcache_pth.py writes
 * "compressed" for LLaVA) could not be evaluated with the rule it was trained with. positions=auto keeps
 * the checkpoint's rule. */
static void test_review_ccm_positions_override(fc_test *t) {
    int pos = -1, len = -1;
    FC_CHECK(t, compress_with(t, "ccm:weights=" CCM, &pos, &len) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, len < 20 && pos == len, "auto (checkpoint: compressed): next_pos %d, compressed length %d", pos, len);
    FC_CHECK(t, compress_with(t, "ccm:weights=" CCM ",positions=original", &pos, &len) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, len < 20 && pos == 20, "original: next_pos %d, want 20 (compressed length %d)", pos, len);
    FC_CHECK(t, compress_with(t, "ccm:weights=" CCM ",positions=compressed", &pos, &len) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, pos == len, "compressed: next_pos %d, compressed length %d", pos, len);
    fc_compress_method *m = NULL;
    FC_CHECK(t, fc_compress_create("ccm:weights=" CCM ",positions=sideways", &m) == FC_EINVAL &&
                    strstr(fc_errmsg(), "auto|compressed|original"),
             "a bad value: %s", fc_errmsg());
    FC_CHECK(t, fc_compress_create("knorm:positions=original", &m) == FC_EINVAL, "positions is a ccm option only");
}

/* A CCM checkpoint made for a model with more layers than the one it runs on was accepted (its first
 * layers were used and the rest ignored), and one with another head dim failed only inside the first
 * record, after the full cache had run, with a message about a sequence. Both are now refused up front,
 * naming the checkpoint and both layouts, and the sequence is left as it was. */
static void test_review_ccm_layout_must_fit_the_model(fc_test *t) {
    fc_kv_handle h;
    fc_kv_pool *pool = filled_pool(t, 1, 8, 20, &h); /* one layer: the checkpoint has two */
    if (!pool) return;
    fc_compress_method *m = NULL;
    FC_CHECK(t, fc_compress_create("ccm:weights=" CCM, &m) == FC_OK, "%s", fc_errmsg());
    fc_err e = fc_compress_sequence(pool, h, m, 2, NULL, 0, NULL, NULL, NULL);
    bool ok = e == FC_EINVAL && strstr(fc_errmsg(), CCM ": a CCM checkpoint for 2 layers of head dim 8; the model has "
                                                        "1 layers of head dim 8") &&
              fc_kv_seq_len(pool, h) == 20 && fc_kv_pool_check(pool) == FC_OK;
    fc_kv_pool_free(pool);
    if (!ok) {
        fc_compress_free(m);
        FC_CHECK(t, ok, "fewer layers: error %d: %s", (int)e, fc_errmsg());
    }
    /* the quality loop refuses it before any record: tiny MiniCPM-V has head dim 64 */
    fc_dataset d;
    fc_vlm *vlm = NULL;
    fc_quality_method qm[2] = {{"none", NULL}, {"ccm", m}};
    fc_quality_result r = {0};
    fc_quality_opts o = {.max_new_tokens = 2, .max_answer_tokens = 4, .hold_last = true, .prompt_suffix = ""};
    e = fc_dataset_read("tests/fixtures/data/milebench", NULL, &d);
    if (!e) e = fc_vlm_load(&vlm, "tests/fixtures/vlm/minicpmv-tiny", NULL);
    fc_err q = e ? e : fc_quality_run(vlm, d.recs, d.n, qm, 2, &o, NULL, &r);
    fc_vlm_free(vlm);
    fc_dataset_free(&d);
    fc_compress_free(m);
    FC_CHECK(t, !e, "setup: %s", fc_errmsg());
    FC_CHECK(t, q == FC_EINVAL && !strncmp(fc_errmsg(), CCM ": a CCM checkpoint for 2 layers of head dim 8; the model "
                                                          "has 2 layers of head dim 64", strlen(CCM) + 60),
             "quality: error %d: %s", (int)q, fc_errmsg());
}

static const fc_test_case cases[] = {
    FC_CASE(test_review_ccm_positions_override),
    FC_CASE(test_review_ccm_layout_must_fit_the_model),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
