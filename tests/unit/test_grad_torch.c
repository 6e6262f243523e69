/* test_grad_torch.c: the whole distillation step (core/autograd/distill.h) against torch autograd.
 *
 * tests/fixtures/grad/<model>/ (tools/make_grad_fixtures.py) holds a tiny model (Llama; Qwen2 with GQA and
 * q/k/v bias; LLaVA with two image spans through ik/iv; MiniCPM-V's layout, one "whole" segment), a CCM
 * checkpoint, a sample (prompt with image rows, a two-turn continuation with an unsupervised user turn) and,
 * per case (kl and fastcache losses at tau 1 and 2; LLaVA also with the "compressed" position rule), torch's
 * loss and the gradient of every CCM weight, computed in float64 from the same f32 weights.
 *
 * Tolerances. Our step runs in f32 (double only in row sums and the loss). Per CCM tensor, max |ours - torch|
 * over max |torch| must be <= 1e-4 (the criterion; the fixtures are made at KL ~1 per token so f32
 * rounding is a small share of the gradients); the loss within 1e-5 relative; teacher logits within 1e-4 of
 * the largest |logit| (f32 forward of a 2-layer model: ~1e-6 expected). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/io/safetensors.h"
#include "core/model/llm.h"
#include "tests/test.h"

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

typedef struct {
    const char *name;
    fc_distill_loss loss;
    float tau;
    fc_ccm_pos_rule pos;
} grad_case;

static const grad_case CASES[] = {
    {"kl_t1", FC_DISTILL_LOSS_KL, 1.0f, FC_CCM_POS_ORIGINAL},
    {"kl_t2", FC_DISTILL_LOSS_KL, 2.0f, FC_CCM_POS_ORIGINAL},
    {"fc_t1", FC_DISTILL_LOSS_FASTCACHE, 1.0f, FC_CCM_POS_ORIGINAL},
    {"fc_t2", FC_DISTILL_LOSS_FASTCACHE, 2.0f, FC_CCM_POS_ORIGINAL},
    {"kl_t2_cpos", FC_DISTILL_LOSS_KL, 2.0f, FC_CCM_POS_COMPRESSED},
};

/* max |a - b| / max |b| */
static double rel_max(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (x > d || x != x) d = x;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return m > 0 ? d / m : d;
}

static void check_model(fc_test *t, const char *model) {
    char dir[256], ccm_path[300], case_path[300];
    snprintf(dir, sizeof dir, "tests/fixtures/grad/%s", model);
    snprintf(ccm_path, sizeof ccm_path, "%s/ccm.safetensors", dir);
    snprintf(case_path, sizeof case_path, "%s/case.safetensors", dir);
    fc_llm *m = NULL;
    fc_ccm_train *c = NULL;
    fc_distill *d = NULL;
    fc_distill_teacher te = {0};
    fc_st_file f;
    bool open = false;
    if (fc_llm_load(&m, dir) != FC_OK) {
        fc_test_fail(t, "%s: %s", dir, fc_errmsg());
        goto done;
    }
    if (fc_ccm_train_load(ccm_path, 0.4f, 1, &c) != FC_OK) {
        fc_test_fail(t, "%s", fc_errmsg());
        goto done;
    }
    if (fc_st_open(&f, case_path) != FC_OK) {
        fc_test_fail(t, "%s", fc_errmsg());
        goto done;
    }
    open = true;
    int64_t n_prompt, n_spans2, n_cont, n_sup, n_emb = 0, n_er, n_tl;
    const int32_t *prompt = tensor(t, &f, "prompt_ids", FC_ST_I32, &n_prompt);
    const int32_t *spans = tensor(t, &f, "spans", FC_ST_I32, &n_spans2);
    const int32_t *cont = tensor(t, &f, "cont_ids", FC_ST_I32, &n_cont);
    const int32_t *supi = tensor(t, &f, "supervised", FC_ST_I32, &n_sup);
    const float *tl = tensor(t, &f, "teacher_logits", FC_ST_F32, &n_tl);
    if (!prompt || !spans || !cont || !supi || !tl) goto done;
    const float *emb = NULL;
    const int32_t *er = NULL;
    if (fc_st_find(&f, "embeds")) {
        emb = tensor(t, &f, "embeds", FC_ST_F32, &n_emb);
        er = tensor(t, &f, "embeds_range", FC_ST_I32, &n_er);
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
    if (fc_distill_create(m, 0, &d) != FC_OK || fc_distill_teacher_run(d, &s, true, &te) != FC_OK) {
        fc_test_fail(t, "%s: %s", model, fc_errmsg());
        goto done;
    }
    if (n_tl != (int64_t)te.n_sup * te.V) {
        fc_test_fail(t, "%s: teacher logits %lld, want %d x %d", model, (long long)n_tl, te.n_sup, te.V);
        goto done;
    }
    double tr = rel_max(te.logits, tl, (size_t)n_tl);
    if (!(tr <= 1e-4)) fc_test_fail(t, "%s: teacher logits off by %.3g of their max", model, tr);
    t->checks++;
    for (size_t k = 0; k < sizeof CASES / sizeof *CASES; k++) {
        const grad_case *gc = &CASES[k];
        char nm[160];
        snprintf(nm, sizeof nm, "%s.loss", gc->name);
        if (!fc_st_find(&f, nm)) continue; /* kl_t2_cpos: LLaVA only */
        int64_t one;
        const float *want_loss = tensor(t, &f, nm, FC_ST_F32, &one);
        snprintf(nm, sizeof nm, "%s.kl", gc->name);
        const float *want_kl = tensor(t, &f, nm, FC_ST_F32, &one);
        if (!want_loss || !want_kl) goto done;
        fc_ccm_train_zero_grad(c);
        fc_distill_opts o = fc_distill_default_opts();
        o.loss = gc->loss, o.tau = gc->tau, o.position_rule = gc->pos;
        fc_distill_stats st;
        if (fc_distill_step(d, c, &te, &o, &st) != FC_OK) {
            fc_test_fail(t, "%s/%s: %s", model, gc->name, fc_errmsg());
            goto done;
        }
        t->checks++;
        if (!(fabs(st.loss - want_loss[0]) <= 1e-5 * fabs(want_loss[0])))
            fc_test_fail(t, "%s/%s: loss %.8g, torch %.8g", model, gc->name, st.loss, want_loss[0]);
        if (!(fabs(st.kl - want_kl[0]) <= 1e-5 * fabs(want_kl[0])))
            fc_test_fail(t, "%s/%s: KL %.8g, torch %.8g", model, gc->name, st.kl, want_kl[0]);
        double worst = 0;
        const char *worst_name = "";
        for (int i = 0; i < c->n_tensors; i++) {
            const fc_ccm_param *p = &c->tensors[i];
            snprintf(nm, sizeof nm, "%s.grad.%s", gc->name, p->name);
            int64_t n;
            const float *want = tensor(t, &f, nm, FC_ST_F32, &n);
            if (!want) goto done;
            if (n != (int64_t)p->numel) {
                fc_test_fail(t, "%s: %lld values, the compressor has %zu", nm, (long long)n, p->numel);
                goto done;
            }
            double r = rel_max(c->grads + p->offset, want, p->numel);
            if (r > worst || r != r) worst = r, worst_name = p->name;
        }
        t->checks++;
        if (!(worst <= 1e-4))
            fc_test_fail(t, "%s/%s: gradient of %s off by %.3g of its max |value| (limit 1e-4)", model, gc->name,
                         worst_name, worst);
        printf("    %s/%s: loss %.6f (torch %.6f), KL %.4f, top-1 %.2f, worst gradient %.2e (%s)\n", model, gc->name,
               st.loss, want_loss[0], st.kl, st.top1, worst, worst_name);
    }
done:
    if (open) fc_st_close(&f);
    fc_distill_teacher_free(&te);
    fc_distill_free(d);
    fc_ccm_train_free(c);
    fc_llm_free(m);
}

static void test_grad_torch_llama(fc_test *t) { check_model(t, "llama"); }
static void test_grad_torch_qwen2_gqa_bias(fc_test *t) { check_model(t, "qwen2"); }
static void test_grad_torch_llava_spans(fc_test *t) { check_model(t, "llava"); }
static void test_grad_torch_minicpmv_whole(fc_test *t) { check_model(t, "minicpmv"); }

static const fc_test_case cases[] = {FC_CASE(test_grad_torch_llama), FC_CASE(test_grad_torch_qwen2_gqa_bias),
                                     FC_CASE(test_grad_torch_llava_spans), FC_CASE(test_grad_torch_minicpmv_whole)};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
