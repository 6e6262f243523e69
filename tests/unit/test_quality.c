/* test_quality.c: the quality metrics (core/serve/quality.h, data/answer_score.h, core/serve/heldout.h).
 *  - answer normalisation and matching on cases whose outcome the VQA/GQA rules fix (answer_score.h);
 *  - option letters read from predictions, as MileBench's match_choice reads them;
 *  - KL against a value worked out by hand, exactly 0 for equal logits; argmax ties;
 *  - the held-out check on the checkpoints of tools/make_data_fixtures.py (ids written there);
 *  - the full cache against itself is exact: on the tiny MiniCPM-V, a method that keeps everything
 *    (knorm:ratio=1) gives KL 0, top-1 agreement 1 and the same greedy answers as the full cache, while a
 *    method that drops half the cache does not (so the comparison can fail). */
#include <math.h>

#include "core/serve/heldout.h"
#include "core/serve/quality.h"
#include "tests/test.h"

static void test_normalize(fc_test *t) {
    static const char *const cases[][2] = {
        {"Yes.", "yes"},
        {"  The  Red car ", "red car"},
        {"two", "2"},
        {"Ten apples!", "10 apples"},
        {"1,000", "1000"},
        {"3.5 m", "3.5 m"},
        {"left-side", "left side"},
        {"'blue'", "blue"},
        {"A cat; a dog", "cat dog"},
        {"Line\nbreak\tand:colon", "line break and colon"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = fc_answer_normalize(cases[i][0]);
        bool ok = n && !strcmp(n, cases[i][1]);
        FC_CHECK(t, ok, "normalize('%s') = '%s', want '%s'", cases[i][0], n ? n : "(null)", cases[i][1]);
        free(n);
    }
}

static void test_exact_and_contains(fc_test *t) {
    fc_answer_score s;
    FC_CHECK(t, !fc_answer_score_text("Yes.", "yes", NULL, 0, -1, &s) && s.exact && s.contains && s.choice == -1, "yes");
    FC_CHECK(t, !fc_answer_score_text("Yes, it is.", "yes", NULL, 0, -1, &s) && !s.exact && s.contains, "yes, it is");
    /* whole words only: "no" is not in "nothing" */
    FC_CHECK(t, !fc_answer_score_text("nothing", "no", NULL, 0, -1, &s) && !s.exact && !s.contains, "nothing");
    FC_CHECK(t, !fc_answer_score_text("There are two cats", "2", NULL, 0, -1, &s) && s.contains, "number words");
    FC_CHECK(t, !fc_answer_score_text("", "left", NULL, 0, -1, &s) && !s.exact && !s.contains, "empty prediction");
}

static void test_choice_letters(fc_test *t) {
    const char *ch[] = {"open the door", "close", "wait"};
    static const struct {
        const char *pred;
        int want;
    } cases[] = {
        {"B", 1}, {"B.", 1}, {"(C) wait", 2}, {"A: open the door", 0}, {" C, because", 2},
        {"I would close it", 1},           /* the option's text */
        {"The answer is C", 2},            /* a cue */
        {"D", -1},                         /* not among three options */
        {"Because I think so", -1},        /* nothing to read ("Because" is not a letter) */
        {"wait, then open the door", 2},   /* the earliest option text */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = fc_answer_choice(cases[i].pred, ch, 3);
        FC_CHECK(t, got == cases[i].want, "choice('%s') = %d, want %d", cases[i].pred, got, cases[i].want);
    }
    fc_answer_score s;
    FC_CHECK(t, !fc_answer_score_text("B", "close", ch, 3, 1, &s) && s.exact && s.contains && s.choice == 1, "mc right");
    FC_CHECK(t, !fc_answer_score_text("A", "close", ch, 3, 1, &s) && !s.exact && !s.contains && s.choice == 0, "mc wrong");
}

static void test_kl_and_argmax(fc_test *t) {
    /* p = softmax(0, ln 3) = (1/4, 3/4), q = softmax(0, 0) = (1/2, 1/2):
     * KL = 1/4 ln(1/2) + 3/4 ln(3/2) */
    const float ref[2] = {0.0f, (float)log(3.0)}, x[2] = {5.0f, 5.0f};
    double want = 0.25 * log(0.5) + 0.75 * log(1.5), got = fc_quality_kl(ref, x, 2);
    FC_CHECK(t, fabs(got - want) < 1e-7, "KL %.9f want %.9f", got, want);
    FC_CHECK(t, fc_quality_kl(ref, ref, 2) == 0.0, "KL of equal logits %g", fc_quality_kl(ref, ref, 2));
    const float big[4] = {-1e4f, 30.0f, 29.0f, -3.0f}, big2[4] = {-1e4f, 29.0f, 30.0f, -3.0f};
    double k2 = fc_quality_kl(big, big2, 4);
    double a = exp(1.0), want2 = (a * 1.0 + 1.0 * -1.0) / (a + 1.0); /* two-token swap, the rest negligible */
    FC_CHECK(t, fabs(k2 - want2) < 1e-6 && isfinite(k2), "KL %.9f want %.9f", k2, want2);
    const float ties[4] = {1, 3, 3, 2};
    FC_CHECK(t, fc_quality_argmax(ties, 4) == 1, "lowest id on ties");
}

#define FIX "tests/fixtures/data"

static void test_heldout_check(fc_test *t) {
    const char *ids[] = {"single-1", "multi-turn-2", "assistant-3"};
    fc_heldout_report r;
    FC_CHECK(t, !fc_heldout_check(FIX "/ccm_heldout.safetensors", ids, 3, false, &r), "%s", fc_errmsg());
    FC_CHECK(t, r.has_ids && r.n_train == 2 && r.n_val == 1 && !r.train_overlap && !r.val_overlap, "clean");
    fc_err e = fc_heldout_check(FIX "/ccm_trained_on_single1.safetensors", ids, 3, false, &r);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "1 of the 3 evaluated ids are in its train_ids (e.g. 'single-1')"),
             "%s", fc_errmsg());
    FC_CHECK(t, !fc_heldout_check(FIX "/ccm_trained_on_single1.safetensors", ids, 3, true, &r) && r.train_overlap == 1,
             "allowed");
    e = fc_heldout_check(FIX "/ccm_validated_on_assistant3.safetensors", ids, 3, false, &r);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "in its val_ids (e.g. 'assistant-3')"), "%s", fc_errmsg());
    /* ids it does not record: refused unless allowed */
    e = fc_heldout_check("tests/fixtures/compress/ccm_llava_tiny_random.safetensors", ids, 3, false, &r);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "no train_ids/val_ids metadata"), "%s", fc_errmsg());
    FC_CHECK(t, !fc_heldout_check("tests/fixtures/compress/ccm_llava_tiny_random.safetensors", ids, 3, true, &r) &&
                    !r.has_ids, "allowed without ids");
}

static void test_full_cache_against_itself_is_exact(fc_test *t) {
    fc_dataset d;
    fc_vlm *vlm = NULL;
    fc_quality_method m[3] = {{"none", NULL}, {"knorm:ratio=1", NULL}, {"knorm:ratio=2", NULL}};
    fc_quality_result r = {0};
    fc_quality_opts o = {.max_new_tokens = 6, .max_answer_tokens = 8, .hold_last = true, .prompt_suffix = ""};
    fc_err e = fc_dataset_read(FIX "/milebench", NULL, &d);
    if (!e) e = fc_vlm_load(&vlm, "tests/fixtures/vlm/minicpmv-tiny", NULL);
    if (!e) e = fc_compress_create(m[1].spec, &m[1].m);
    if (!e) e = fc_compress_create(m[2].spec, &m[2].m);
    if (!e) e = fc_quality_run(vlm, d.recs, d.n, m, 3, &o, NULL, &r);
    bool ok = !e && r.n_records == 3 && r.n_methods == 3;
    for (int i = 0; ok && i < r.n_records; i++) {
        const fc_quality_cell *full = &r.cells[i * 3], *same = full + 1, *half = full + 2;
        ok = full->kl == 0 && full->top1 == 1 && full->greedy_identical && same->kl == 0 && same->top1 == 1 &&
             same->greedy_identical && same->first_divergence == full->n_greedy && same->n_greedy == full->n_greedy &&
             !strcmp(same->prediction, full->prediction) && same->kv_bytes == full->kv_bytes && full->n_tf >= 2 &&
             full->kv_bytes == full->kv_bytes_full && half->kl > 0 && half->kv_bytes < full->kv_bytes;
        if (!ok)
            fc_test_fail(t, "record %d: full kl %g top1 %g; keep-all kl %g top1 %g identical %d div %d/%d; half kl %g", i,
                         full->kl, full->top1, same->kl, same->top1, same->greedy_identical, same->first_divergence,
                         full->n_greedy, half->kl);
    }
    fc_quality_summary s;
    if (ok) {
        fc_quality_summarize(&r, 1, &s);
        ok = s.kl_mean == 0 && s.top1_agreement == 1 && s.greedy_identical == 1 && s.achieved_ratio == 1 && s.n == 3;
        fc_quality_summarize(&r, 2, &s);
        ok = ok && s.achieved_ratio > 1.9 && s.achieved_ratio < 2.1;
    }
    fc_quality_result_free(&r);
    fc_compress_free(m[1].m), fc_compress_free(m[2].m);
    fc_vlm_free(vlm);
    fc_dataset_free(&d);
    FC_CHECK(t, ok, "%s", e ? fc_errmsg() : "not exact");
}

static void test_budget_too_small(fc_test *t) {
    fc_dataset d;
    fc_vlm *vlm = NULL;
    fc_quality_method m[1] = {{"none", NULL}};
    fc_quality_result r = {0};
    fc_quality_opts o = {.max_new_tokens = 4, .max_answer_tokens = 4, .hold_last = true, .kv_budget_bytes = 1000};
    fc_err e = fc_dataset_read(FIX "/milebench/CaptionQA", NULL, &d);
    if (!e) e = fc_vlm_load(&vlm, "tests/fixtures/vlm/minicpmv-tiny", NULL);
    if (!e) e = fc_quality_run(vlm, d.recs, d.n, m, 1, &o, NULL, &r);
    bool ok = e == FC_EINVAL && strstr(fc_errmsg(), "record 0 (id 'CaptionQA/s0'): needs ") &&
              strstr(fc_errmsg(), "more than the KV budget of 1000 bytes holds (0 tokens") && !r.cells;
    fc_vlm_free(vlm);
    fc_dataset_free(&d);
    FC_CHECK(t, ok, "%s", fc_errmsg());
}

static const fc_test_case cases[] = {
    FC_CASE(test_normalize),        FC_CASE(test_exact_and_contains), FC_CASE(test_choice_letters),
    FC_CASE(test_kl_and_argmax),    FC_CASE(test_heldout_check),      FC_CASE(test_full_cache_against_itself_is_exact),
    FC_CASE(test_budget_too_small),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
