/* test_llm_resident.c: the decoder resident on one device (core/model/llm_resident.h) against the
 * transformers fixtures of test_llm.c (tests/fixtures/llm, tools/make_llm_fixtures.py): the four prompts of
 * each model prefilled in one batched call with logits at every position, then the reference's greedy
 * tokens decoded for all four at once (teacher-forced), logits and greedy tokens compared at every step.
 *   CPU, f32: llm.c's tolerance (1e-4 absolute on the logits) - the layer loop, the cache scatter, the
 *     block tables and positions checked where no GPU is;
 *   CUDA, f32 (weights widened): the same tolerance;
 *   CUDA, bf16 weights and activations: |diff| <= 0.05 max|logit| + 0.05 per step (bf16 rounds each
 *     layer's input and output, relative 2^-9) and the greedy token agreeing on at least 3 of 4 sequences.
 * The CUDA cases are skipped without a GPU (make test-gpu runs them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "core/model/llm_resident.h"
#include "kernels/backend.h"
#include "tests/test.h"

#define FIX "tests/fixtures/llm/"
#define N_SEQ 4

static const char *const models[] = {"llama_plain", "llama_gqa_tied", "qwen2_odd", "llama_f16", "qwen2_bf16"};
#define N_MODELS ((int)(sizeof models / sizeof models[0]))

static const void *ref(const fc_st_file *f, int s, const char *what, int64_t *n) {
    char name[64];
    snprintf(name, sizeof name, "seq%d.%s", s, what);
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return NULL;
    *n = 1;
    for (int i = 0; i < e->ndim; i++) *n *= e->shape[i];
    return e->data;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* |got - want| <= atol + rel * max|want| over n values (the bf16 bound); reports the worst. */
static bool close_rel_max(fc_test *t, const char *what, const float *got, const float *want, size_t n, double atol,
                          double rel) {
    double mx = 0, worst = 0;
    for (size_t i = 0; i < n; i++) mx = fabs(want[i]) > mx ? fabs(want[i]) : mx;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) worst = d;
    }
    t->checks++;
    if (!(worst <= atol + rel * mx)) return fc_test_fail(t, "%s: max |diff| %.4g > %.4g", what, worst, atol + rel * mx);
    return true;
}

/* One model on one device in one dtype. */
static void run_model(fc_test *t, const char *name, fc_device dev, fc_dtype adt) {
    char path[256];
    fc_llm *m = NULL;
    fc_st_file f;
    memset(&f, 0, sizeof f);
    snprintf(path, sizeof path, FIX "%s", name);
    if (fc_llm_load(&m, path)) {
        fc_test_fail(t, "load %s: %s", name, fc_errmsg());
        return;
    }
    snprintf(path, sizeof path, FIX "%s/ref.safetensors", name);
    if (fc_st_open(&f, path)) {
        fc_test_fail(t, "%s", fc_errmsg());
        fc_llm_free(m);
        return;
    }
    int V = m->cfg.vocab_size;
    const int32_t *ids[N_SEQ], *tokens[N_SEQ];
    const float *want[N_SEQ];
    int n[N_SEQ], slots[N_SEQ], total = 0, n_decode = 0;
    for (int s = 0; s < N_SEQ; s++) {
        int64_t ni, nl, nt;
        ids[s] = ref(&f, s, "ids", &ni), want[s] = ref(&f, s, "logits", &nl), tokens[s] = ref(&f, s, "tokens", &nt);
        FC_CHECK(t, ids[s] && want[s] && tokens[s], "%s: seq%d missing in ref.safetensors", name, s);
        n[s] = (int)ni, slots[s] = N_SEQ - 1 - s, total += n[s]; /* slots in another order than inputs */
        n_decode = (int)(nl / V - ni);
    }
    fc_llm_resident *r = NULL;
    bool exact = adt == FC_DTYPE_F32;
    fc_err e = fc_llm_resident_create(&r, m, dev, adt, N_SEQ, 64, total);
    float *lg = malloc((size_t)total * V * sizeof(float));
    char what[128];
    if (e || !lg) {
        fc_test_fail(t, "%s: create: %s", name, e ? fc_errmsg() : "out of memory");
        goto done;
    }
    if (fc_llm_resident_forward(r, slots, ids, n, N_SEQ, true, lg)) {
        fc_test_fail(t, "%s: prefill: %s", name, fc_errmsg());
        goto done;
    }
    int64_t row = 0;
    for (int s = 0; s < N_SEQ; s++) {
        snprintf(what, sizeof what, "%s %s %s prefill seq%d", name, fc_device_name(dev), fc_dtype_name(adt), s);
        bool ok = exact ? fc_test_close(t, what, lg + row * V, want[s], (size_t)n[s] * V, 1e-4, 0)
                        : close_rel_max(t, what, lg + row * V, want[s], (size_t)n[s] * V, 0.05, 0.05);
        if (!ok) goto done;
        row += n[s];
    }
    for (int step = 0; step < n_decode; step++) {
        const int32_t *tok[N_SEQ];
        int one[N_SEQ], agree = 0;
        for (int s = 0; s < N_SEQ; s++) tok[s] = &tokens[s][step], one[s] = 1;
        if (fc_llm_resident_forward(r, slots, tok, one, N_SEQ, false, lg)) {
            fc_test_fail(t, "%s: decode step %d: %s", name, step, fc_errmsg());
            goto done;
        }
        for (int s = 0; s < N_SEQ; s++) {
            snprintf(what, sizeof what, "%s %s %s decode step %d seq%d", name, fc_device_name(dev), fc_dtype_name(adt),
                     step, s);
            const float *w = want[s] + (int64_t)(n[s] + step) * V;
            bool ok = exact ? fc_test_close(t, what, lg + (int64_t)s * V, w, (size_t)V, 1e-4, 0)
                            : close_rel_max(t, what, lg + (int64_t)s * V, w, (size_t)V, 0.05, 0.05);
            if (!ok) goto done;
            int am = argmax(lg + (int64_t)s * V, V);
            agree += am == tokens[s][step + 1];
            if (exact && am != tokens[s][step + 1]) {
                fc_test_fail(t, "%s: greedy token %d, transformers %d", what, am, (int)tokens[s][step + 1]);
                goto done;
            }
        }
        if (!exact && agree * 4 < N_SEQ * 3) {
            fc_test_fail(t, "%s %s: greedy tokens agree on %d of %d at step %d", name, fc_dtype_name(adt), agree, N_SEQ, step);
            goto done;
        }
    }
    for (int s = 0; s < N_SEQ; s++)
        FC_CHECK(t, fc_llm_resident_len(r, slots[s]) == n[s] + n_decode, "%s: slot %d holds %d entries", name, slots[s],
                 fc_llm_resident_len(r, slots[s]));
done:
    free(lg);
    fc_llm_resident_free(r);
    fc_st_close(&f);
    fc_llm_free(m);
}

static void test_llm_resident_cpu_matches_transformers(fc_test *t) {
    for (int i = 0; i < N_MODELS && !t->failed; i++) run_model(t, models[i], FC_DEVICE_CPU, FC_DTYPE_F32);
}

/* A call that does not fit changes nothing: the slot's length stays and a later call still matches. */
static void test_llm_resident_refuses_without_change(fc_test *t) {
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_load(&m, FIX "qwen2_odd") == FC_OK, "%s", fc_errmsg());
    fc_llm_resident *r = NULL;
    FC_CHECK(t, fc_llm_resident_create(&r, m, FC_DEVICE_CPU, FC_DTYPE_F32, 2, 8, 8) == FC_OK, "%s", fc_errmsg());
    float *lg = malloc((size_t)8 * m->cfg.vocab_size * sizeof(float));
    int32_t ids[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, bad[1] = {m->cfg.vocab_size};
    const int32_t *p[2] = {ids, ids};
    int n[2] = {5, 4}, slots[2] = {0, 0}, slot1[1] = {1}, n9[1] = {9};
    FC_CHECK(t, lg && fc_llm_resident_forward(r, slots, p, n, 2, true, lg) == FC_EINVAL &&
                    strstr(fc_errmsg(), "slot 0 given twice"), "%s", fc_errmsg());
    FC_CHECK(t, fc_llm_resident_forward(r, slot1, p, n9, 1, true, lg) == FC_ENOMEM, "9 tokens in 8: %s", fc_errmsg());
    const int32_t *pb[1] = {bad};
    int n1[1] = {1};
    FC_CHECK(t, fc_llm_resident_forward(r, slot1, pb, n1, 1, true, lg) == FC_EINVAL && strstr(fc_errmsg(), "outside"),
             "%s", fc_errmsg());
    FC_CHECK(t, fc_llm_resident_len(r, 0) == 0 && fc_llm_resident_len(r, 1) == 0, "lengths changed");
    FC_CHECK(t, fc_llm_resident_forward(r, slot1, p, n, 1, false, lg) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_llm_resident_len(r, 1) == 5, "len %d", fc_llm_resident_len(r, 1));
    FC_CHECK(t, fc_llm_resident_create(&(fc_llm_resident *){NULL}, m, FC_DEVICE_CPU, FC_DTYPE_BF16, 1, 8, 8) ==
                    FC_EUNSUPPORTED, "bf16 on the CPU");
    free(lg);
    fc_llm_resident_free(r);
    fc_llm_free(m);
}

static bool no_gpu(fc_test *t) {
    if (fc_cuda_device_count() == 0) {
        fc_test_skip(t, fc_cuda_describe());
        return true;
    }
    return false;
}

static void test_cuda_llm_resident_f32(fc_test *t) {
    if (no_gpu(t)) return;
    for (int i = 0; i < N_MODELS && !t->failed; i++) run_model(t, models[i], FC_DEVICE_CUDA, FC_DTYPE_F32);
}

static void test_cuda_llm_resident_bf16(fc_test *t) {
    if (no_gpu(t)) return;
    for (int i = 0; i < N_MODELS && !t->failed; i++) run_model(t, models[i], FC_DEVICE_CUDA, FC_DTYPE_BF16);
}

static const fc_test_case cases[] = {
    FC_CASE(test_llm_resident_cpu_matches_transformers),
    FC_CASE(test_llm_resident_refuses_without_change),
    FC_CASE(test_cuda_llm_resident_f32),
    FC_CASE(test_cuda_llm_resident_bf16),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
