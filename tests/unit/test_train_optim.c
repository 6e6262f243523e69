/* test_train_optim.c: fc-train's AdamW, gradient clipping and plateau schedule against torch
 * (tests/fixtures/train/optim.safetensors, made by tools/make_train_fixtures.py), and the warmup + cosine
 * schedule against its formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/safetensors.h"
#include "tests/test.h"
#include "train/optim.h"
#include "train/schedule.h"

#define FIX "tests/fixtures/train/optim.safetensors"

static const void *fix(fc_test *t, const fc_st_file *f, const char *name, fc_st_dtype dt, int64_t *numel) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e || e->st_dtype != dt) {
        fc_test_fail(t, "%s: tensor '%s' missing or of another dtype", FIX, name);
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= e->shape[i];
    if (numel) *numel = n;
    return e->data;
}

static void adamw_case(fc_test *t, const char *c) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX) == FC_OK, "%s", fc_errmsg());
    char nm[64];
    int64_t n, ng, nl, nh;
#define GET(field, cnt) (snprintf(nm, sizeof nm, "%s.%s", c, field), (const float *)fix(t, &f, nm, FC_ST_F32, cnt))
    const float *p0 = GET("p0", &n), *grads = GET("grads", &ng), *lrs = GET("lrs", &nl), *hyper = GET("hyper", &nh);
    const float *after = GET("after", NULL), *wm = GET("m", NULL), *wv = GET("v", NULL);
#undef GET
    if (!p0 || !grads || !lrs || !hyper || !after || !wm || !wv) {
        fc_st_close(&f);
        return;
    }
    float *p = malloc(n * sizeof *p);
    memcpy(p, p0, n * sizeof *p);
    fc_adamw o;
    /* the hyperparameters are stored as f32; torch used the double literals they round from */
    double b1 = hyper[0] == 0.9f ? 0.9 : 0.8, b2 = hyper[1] == 0.999f ? 0.999 : 0.99;
    double eps = hyper[2] == 1e-8f ? 1e-8 : 1e-6, wd = hyper[3] == 0.1f ? 0.1 : 0.0;
    bool ok = fc_adamw_init(&o, n, b1, b2, eps, wd) == FC_OK;
    for (int s = 0; ok && s < nl; s++) {
        double lr = s == 0 ? 5e-4 : s == 1 ? 1e-3 : s == 2 ? 2e-3 : s == 3 ? 7.5e-4 : 1e-4;
        FC_CHECK(t, (float)lr == lrs[s], "lr schedule of the fixture changed");
        fc_adamw_step(&o, p, grads + (size_t)s * n, lr);
        char what[64];
        snprintf(what, sizeof what, "%s params after step %d", c, s + 1);
        /* the same f32 operations in the same order as torch's kernels: only sqrt/div rounding of the
         * vectorised path may differ, by an ulp or two of the update */
        ok = fc_test_close(t, what, p, after + (size_t)s * n, n, 1e-7, 1e-6);
    }
    if (ok) ok = fc_test_close(t, "exp_avg", o.m, wm, n, 1e-12, 1e-6);
    if (ok) ok = fc_test_close(t, "exp_avg_sq", o.v, wv, n, 1e-20, 1e-6);
    FC_CHECK(t, o.step == nl, "step count %ld", o.step);
    fc_adamw_free(&o);
    fc_adamw_free(&o);
    fc_adamw_free(NULL);
    free(p);
    fc_st_close(&f);
}

static void test_adamw_no_decay(fc_test *t) { adamw_case(t, "adamw_wd0"); }
static void test_adamw_decay_betas(fc_test *t) { adamw_case(t, "adamw_wd1"); }

static void test_adamw_bad_hyper(fc_test *t) {
    fc_adamw o;
    FC_CHECK(t, fc_adamw_init(&o, 4, 1.0, 0.999, 1e-8, 0) == FC_EINVAL && strstr(fc_errmsg(), "betas"), "beta1 1");
    FC_CHECK(t, fc_adamw_init(&o, 4, 0.9, 0.999, 0, 0) == FC_EINVAL, "eps 0");
    FC_CHECK(t, fc_adamw_init(&o, 4, 0.9, 0.999, 1e-8, -1) == FC_EINVAL, "negative decay");
    FC_CHECK(t, o.m == NULL && o.v == NULL, "failed init leaves it zeroed");
}

static void clip_case(fc_test *t, const char *c) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX) == FC_OK, "%s", fc_errmsg());
    char a[64], b[64], d[64], e[64];
    snprintf(a, sizeof a, "%s.g", c), snprintf(b, sizeof b, "%s.max_norm", c), snprintf(d, sizeof d, "%s.norm", c),
        snprintf(e, sizeof e, "%s.want", c);
    int64_t n;
    const float *g = fix(t, &f, a, FC_ST_F32, &n), *mx = fix(t, &f, b, FC_ST_F32, NULL);
    const float *norm = fix(t, &f, d, FC_ST_F32, NULL), *want = fix(t, &f, e, FC_ST_F32, NULL);
    if (g && mx && norm && want) {
        float *x = malloc(n * sizeof *x);
        memcpy(x, g, n * sizeof *x);
        double got = fc_grad_clip_norm(x, n, mx[0]);
        /* torch sums squares in f32; we sum in double: a few ulps apart */
        FC_CHECK(t, fabs(got - norm[0]) <= 1e-5 * norm[0], "%s: norm %.9g want %.9g", c, got, norm[0]);
        fc_test_close(t, c, x, want, n, 1e-7, 2e-6);
        free(x);
    }
    fc_st_close(&f);
}

static void test_clip_grad_norm(fc_test *t) { clip_case(t, "clip"); }
static void test_clip_grad_norm_below_max(fc_test *t) { clip_case(t, "noclip"); }

static void test_plateau_like_torch(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX) == FC_OK, "%s", fc_errmsg());
    int64_t n;
    const double *losses = fix(t, &f, "plateau.losses", FC_ST_F64, &n), *lrs = fix(t, &f, "plateau.lrs", FC_ST_F64, NULL);
    if (losses && lrs) {
        fc_sched s;
        fc_sched_init(&s, FC_SCHED_PLATEAU, 5e-4, 1e-5, 0.5, 2, 0, 0);
        int cuts = 0;
        for (int i = 0; i < n; i++) {
            cuts += fc_sched_on_val(&s, losses[i]);
            FC_CHECK(t, fabs(fc_sched_lr(&s, 1000 + i) - lrs[i]) <= 1e-15, "after val %d (loss %g): lr %.10g want %.10g",
                     i, losses[i], fc_sched_lr(&s, i), lrs[i]);
        }
        FC_CHECK(t, cuts >= 3 && fc_sched_lr(&s, 0) == 1e-5, "the sequence reaches min_lr (%d cuts)", cuts);
    }
    fc_st_close(&f);
}

static void test_cosine_formula(fc_test *t) {
    fc_sched s;
    const double lr = 1e-3, mn = 1e-5;
    const long warm = 10, total = 110;
    fc_sched_init(&s, FC_SCHED_COSINE, lr, mn, 0, 0, warm, total);
    for (long k = 0; k < 130; k++) {
        double want;
        if (k < warm) want = lr * (k + 1) / warm;
        else if (k >= total) want = mn;
        else want = mn + (lr - mn) * 0.5 * (1 + cos(M_PI * (double)(k - warm) / (double)(total - warm)));
        FC_CHECK(t, fabs(fc_sched_lr(&s, k) - want) <= 1e-15, "step %ld: %.12g want %.12g", k, fc_sched_lr(&s, k), want);
    }
    /* landmarks that do not depend on the formula above being right */
    FC_CHECK(t, fc_sched_lr(&s, warm - 1) == lr && fc_sched_lr(&s, warm) == lr, "peak at the end of warmup");
    FC_CHECK(t, fabs(fc_sched_lr(&s, warm + 50) - (lr + mn) / 2) < 1e-15, "midpoint is the mean of lr and min_lr");
    FC_CHECK(t, !fc_sched_on_val(&s, 0.1) && fc_sched_lr(&s, 3) == lr * 4 / warm, "validation does not move cosine");
    fc_sched_init(&s, FC_SCHED_CONSTANT, lr, 0, 0, 0, 0, 0);
    FC_CHECK(t, fc_sched_lr(&s, 0) == lr && fc_sched_lr(&s, 99999) == lr, "constant");
}

static const fc_test_case cases[] = {
    FC_CASE(test_adamw_no_decay),    FC_CASE(test_adamw_decay_betas),        FC_CASE(test_adamw_bad_hyper),
    FC_CASE(test_clip_grad_norm),    FC_CASE(test_clip_grad_norm_below_max), FC_CASE(test_plateau_like_torch),
    FC_CASE(test_cosine_formula),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
