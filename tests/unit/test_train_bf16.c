/* test_train_bf16.c: one training step's gradients with --precision bf16 (the frozen decoder's forward and
 * backward GEMMs on oneDNN with bf16 inputs and f32 accumulation, core/autograd/bwd_pack.c) against torch's
 * float64 reference of the same step (tests/fixtures/grad, tools/make_grad_fixtures.py), on the tiny Llama,
 * Qwen2 (GQA + bias), LLaVA (image spans) and MiniCPM-V layouts; the f32 path's distance is printed beside.
 *
 * Tolerance, derived. bf16 keeps 8 significant bits: rounding an input moves it by at most u = 2^-9 of
 * itself, so a product of two rounded inputs is off by at most (2u + u^2) of |x w|, and a GEMM output by
 * at most 2u sum_k |x_k w_k| (f32 accumulation adds K 2^-24, negligible). The gradient of a CCM weight is
 * the end of a chain of such GEMM stages: the teacher's forward (per layer q/k/v, o_proj, gate/up, down,
 * then lm_head: 4L + 1 stages) sets the targets, the student's forward (4L + 1) and backward (4L + 1) carry
 * it; to first order their relative errors add, so |dg| <= 3 (4L + 1) 2u max|g| where the sums are free of
 * cancellation. For these 2-layer models: 27 * 2^-8 = 0.105 of the largest gradient magnitude over the
 * whole compressor, and the same share of the loss.
 * Per tensor that bound does not hold, and this test does not claim it: a softmax turns an absolute error
 * of a score s into the same relative error of its probability, and bf16's error of a score is ~2u |s|,
 * so keys with large |s| and small probabilities (LLaVA's image keys in layer 1 here) get gradients that
 * are small and off by up to 35% of their own max (printed), while perturbing the compressor's input K/V
 * by 2^-9 moves them by 0.2% only (so the CCM's own path is not the cause). The check also fails if the
 * bf16 run gives the f32 run's bits (the bf16 path did not run). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "kernels/wpack.h"
#include "tests/test.h"

#define N_LAYERS 2
#define TOL (3.0 * (4 * N_LAYERS + 1) * 2.0 / 512.0)

static const void *tensor(fc_test *t, const fc_st_file *f, const char *name, fc_st_dtype dt, int64_t *numel) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e || e->st_dtype != dt) {
        fc_test_fail(t, "%s: tensor '%s' missing or of another dtype", f->path, name);
        return NULL;
    }
    *numel = 1;
    for (int i = 0; i < e->ndim; i++) *numel *= e->shape[i];
    return e->data;
}

static double rel_max(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (x > d || x != x) d = x;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return m > 0 ? d / m : d;
}

/* One kl (tau 1) step at precision p: loss into *loss, the gradients into the returned compressor. */
static fc_ccm_train *step(fc_test *t, const char *dir, const fc_st_file *f, fc_precision p, double *loss) {
    char ccm_path[300];
    snprintf(ccm_path, sizeof ccm_path, "%s/ccm.safetensors", dir);
    fc_llm *m = NULL;
    fc_ccm_train *c = NULL;
    fc_distill *d = NULL;
    fc_distill_teacher te = {0};
    bool ok = false;
    if (fc_precision_set(p) || fc_llm_load(&m, dir) || fc_ccm_train_load(ccm_path, 0.4f, 1, &c)) {
        fc_test_fail(t, "%s: %s", dir, fc_errmsg());
        goto done;
    }
    int64_t n_prompt, n_spans2, n_cont, n_sup, n_emb = 0, n_er;
    const int32_t *prompt = tensor(t, f, "prompt_ids", FC_ST_I32, &n_prompt);
    const int32_t *spans = tensor(t, f, "spans", FC_ST_I32, &n_spans2);
    const int32_t *cont = tensor(t, f, "cont_ids", FC_ST_I32, &n_cont);
    const int32_t *supi = tensor(t, f, "supervised", FC_ST_I32, &n_sup);
    if (!prompt || !spans || !cont || !supi) goto done;
    const float *emb = NULL;
    const int32_t *er = NULL;
    if (fc_st_find(f, "embeds")) {
        emb = tensor(t, f, "embeds", FC_ST_F32, &n_emb);
        er = tensor(t, f, "embeds_range", FC_ST_I32, &n_er);
        if (!emb || !er) goto done;
    }
    fc_compress_span sp[8];
    int ns = (int)(n_spans2 / 2);
    for (int i = 0; i < ns && i < 8; i++) sp[i] = (fc_compress_span){spans[2 * i], spans[2 * i + 1]};
    uint8_t sup[64];
    for (int i = 0; i < n_cont && i < 64; i++) sup[i] = (uint8_t)supi[i];
    fc_distill_sample s = {.prompt_ids = prompt, .n_prompt = (int)n_prompt, .embeds = emb,
                           .embeds_start = er ? er[0] : 0, .n_embeds = er ? er[1] : 0, .spans = sp, .n_spans = ns,
                           .cont_ids = cont, .supervised = sup, .n_cont = (int)n_cont};
    fc_distill_opts o = fc_distill_default_opts();
    fc_distill_stats st;
    fc_ccm_train_zero_grad(c);
    if (fc_distill_create(m, 0, &d) || fc_distill_teacher_run(d, &s, false, &te) ||
        fc_distill_step(d, c, &te, &o, &st)) {
        fc_test_fail(t, "%s (%s): %s", dir, fc_precision_name(p), fc_errmsg());
        goto done;
    }
    *loss = st.loss;
    ok = true;
done:
    fc_distill_teacher_free(&te);
    fc_distill_free(d);
    fc_llm_free(m);
    fc_precision_set(FC_PREC_F32);
    if (!ok) {
        fc_ccm_train_free(c);
        return NULL;
    }
    return c;
}

static void check_model(fc_test *t, const char *model) {
    if (!fc_precision_bf16_usable()) {
        fc_test_skip(t, "no bf16 GEMM here (a build without oneDNN, or a CPU without AVX-512 BF16 / AMX)");
        return;
    }
    char dir[256], case_path[300];
    snprintf(dir, sizeof dir, "tests/fixtures/grad/%s", model);
    snprintf(case_path, sizeof case_path, "%s/case.safetensors", dir);
    fc_st_file f;
    if (fc_st_open(&f, case_path) != FC_OK) {
        fc_test_fail(t, "%s", fc_errmsg());
        return;
    }
    double l32 = 0, l16 = 0;
    fc_ccm_train *c32 = step(t, dir, &f, FC_PREC_F32, &l32), *c16 = c32 ? step(t, dir, &f, FC_PREC_BF16, &l16) : NULL;
    if (!c32 || !c16) goto done;
    int64_t one;
    const float *want_loss = tensor(t, &f, "kl_t1.loss", FC_ST_F32, &one);
    if (!want_loss) goto done;
    t->checks++;
    double lr = fabs(l16 - want_loss[0]) / fabs(want_loss[0]);
    if (!(lr <= TOL)) fc_test_fail(t, "%s: bf16 loss %.8g, torch %.8g (%.3g relative, limit %.3g)", model, l16,
                                   want_loss[0], lr, TOL);
    double worst = 0, dmax = 0, gmax = 0, moved = 0, worst32 = 0;
    const char *worst_name = "";
    for (int i = 0; i < c16->n_tensors; i++) {
        const fc_ccm_param *p = &c16->tensors[i];
        char nm[200];
        snprintf(nm, sizeof nm, "kl_t1.grad.%s", p->name);
        int64_t n;
        const float *want = tensor(t, &f, nm, FC_ST_F32, &n);
        if (!want) goto done;
        if (n != (int64_t)p->numel) {
            fc_test_fail(t, "%s: %lld values, the compressor has %zu", nm, (long long)n, p->numel);
            goto done;
        }
        const float *g16 = c16->grads + p->offset, *g32 = c32->grads + p->offset;
        for (size_t j = 0; j < p->numel; j++) {
            double e = fabs((double)g16[j] - want[j]);
            if (e > dmax || e != e) dmax = e;
            if (fabs(want[j]) > gmax) gmax = fabs(want[j]);
            if (g16[j] != g32[j]) moved = 1;
        }
        double r = rel_max(g16, want, p->numel), r32 = rel_max(g32, want, p->numel);
        if (r > worst || r != r) worst = r, worst_name = p->name;
        if (r32 > worst32) worst32 = r32;
    }
    double whole = gmax > 0 ? dmax / gmax : dmax;
    t->checks += 2;
    if (!(whole <= TOL))
        fc_test_fail(t, "%s: bf16 gradient off by %.3g of the largest |gradient| (limit %.3g)", model, whole, TOL);
    if (!moved) fc_test_fail(t, "%s: the bf16 step gave the f32 step's gradients bit for bit", model);
    printf("    %s: loss bf16 %.6f f32 %.6f torch %.6f; bf16 gradient vs torch: %.2e of the largest (limit %.3g), "
           "worst tensor %.2e of its own max (%s); f32: worst tensor %.2e\n", model, l16, l32, want_loss[0], whole,
           TOL, worst, worst_name, worst32);
done:
    fc_ccm_train_free(c32);
    fc_ccm_train_free(c16);
    fc_st_close(&f);
}

static void test_train_bf16_llama(fc_test *t) { check_model(t, "llama"); }
static void test_train_bf16_qwen2_gqa_bias(fc_test *t) { check_model(t, "qwen2"); }
static void test_train_bf16_llava_spans(fc_test *t) { check_model(t, "llava"); }
static void test_train_bf16_minicpmv_whole(fc_test *t) { check_model(t, "minicpmv"); }

static const fc_test_case cases[] = {FC_CASE(test_train_bf16_llama), FC_CASE(test_train_bf16_qwen2_gqa_bias),
                                     FC_CASE(test_train_bf16_llava_spans), FC_CASE(test_train_bf16_minicpmv_whole)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
