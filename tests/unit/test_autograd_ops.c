/* test_autograd_ops.c: every backward kernel of kernels/cpu/cpu_backward.h and every loss gradient of
 * core/autograd against central finite differences.
 *
 * Objective: J = sum_i r_i y_i with fixed random r (so dy = r), accumulated in double.
 * - f32 ops (linear, rmsnorm, rope, silu_mul, relu, dropout, attention over [prefix; new]): the forwards are
 *   f32 only, so J carries f32 rounding of ~1e-7 |y| per element. Inputs ~U(-1, 1), step h = 1e-2: for the
 *   ops linear in the perturbed input (linear, rope, V of attention) the difference is exact up to that
 *   rounding (~1e-5 / h relative); for the smooth ones the truncation error is ~h^2 |f'''| ~ 1e-4. Bound:
 *   |fd - analytic| <= 2e-3 * max |analytic| + 1e-2 |analytic| per element.
 *   ReLU: inputs kept at |x| >= 0.1 > h, so no step crosses the kink.
 * - the losses (kl, fastcache's CE/JS/L1 and hidden-state terms) compute in double from f32 inputs: their
 *   twin is f64, so the differences are taken in double with h = 1e-4 on the logits, bound 1e-6 relative to
 *   the largest gradient plus 1e-4 of each (the L1 term's kinks at p = q are not hit by random logits).
 * Also: the prefix attention's forward against fc_cpu_attention on the concatenated cache (same function),
 * and every backward against torch autograd (tools/make_grad_fixtures.py, tests/fixtures/grad/ops.safetensors).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "core/io/safetensors.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/cpu_backward.h"
#include "kernels/ops_backward.h"
#include "tests/test.h"

static uint64_t rs = 12345;
static float urand(void) { return (float)(2 * fc_ag_rng_uniform(&rs) - 1); }
static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = urand();
}

typedef double (*objective)(void *ctx);

/* Central differences of J w.r.t. x[0..n) against analytic g; f32 bound (see above). */
static bool fd_check(fc_test *t, const char *what, float *x, size_t n, objective J, void *ctx, const float *g,
                     double h, double atol_rel, double rtol) {
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    t->checks++;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + (float)h;
        double hp = (double)x[i] - x0;
        double jp = J(ctx);
        x[i] = x0 - (float)h;
        double hm = (double)x0 - x[i];
        double jm = J(ctx);
        x[i] = x0;
        double fd = (jp - jm) / (hp + hm);
        double tol = atol_rel * gmax + rtol * fabs(g[i]);
        if (!(fabs(fd - g[i]) <= tol)) {
            if (bad++ < 5)
                fc_test_fail(t, "%s[%zu]: analytic %.8g, finite difference %.8g (tol %.3g)", what, i, g[i], fd, tol);
        }
    }
    if (gmax == 0) return fc_test_fail(t, "%s: the analytic gradient is all zeros", what);
    return bad == 0;
}

static double dotd(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- linear ---- */
enum { LM = 5, LN = 7, LK = 9 };
typedef struct {
    float x[LM * LK], w[LN * LK], b[LN], r[LM * LN], y[LM * LN];
} lin_ctx;
static double lin_J(void *p) {
    lin_ctx *c = p;
    fc_cpu_linear(c->y, c->x, c->w, FC_DTYPE_F32, c->b, FC_DTYPE_F32, LM, LN, LK);
    return dotd(c->y, c->r, LM * LN);
}

static void test_linear_bwd(fc_test *t) {
    lin_ctx c;
    fill(c.x, sizeof c.x / 4), fill(c.w, sizeof c.w / 4), fill(c.b, LN), fill(c.r, LM * LN);
    float dx[LM * LK], dw[LN * LK] = {0}, db[LN] = {0};
    FC_CHECK(t, fc_cpu_linear_bwd(dx, dw, db, c.r, c.x, c.w, FC_DTYPE_F32, LM, LN, LK, false) == FC_OK, "bwd");
    fd_check(t, "linear dx", c.x, LM * LK, lin_J, &c, dx, 1e-2, 2e-3, 1e-2);
    fd_check(t, "linear dw", c.w, LN * LK, lin_J, &c, dw, 1e-2, 2e-3, 1e-2);
    fd_check(t, "linear db", c.b, LN, lin_J, &c, db, 1e-2, 2e-3, 1e-2);
    /* dw, db accumulate; dx with accumulate adds */
    float dw2[LN * LK], db2[LN], dx2[LM * LK];
    memcpy(dw2, dw, sizeof dw), memcpy(db2, db, sizeof db), memcpy(dx2, dx, sizeof dx);
    FC_CHECK(t, fc_cpu_linear_bwd(dx2, dw2, db2, c.r, c.x, c.w, FC_DTYPE_F32, LM, LN, LK, true) == FC_OK, "bwd");
    for (int i = 0; i < LN * LK; i++) FC_CHECK(t, fabsf(dw2[i] - 2 * dw[i]) <= 1e-5f * (1 + fabsf(dw[i])), "dw +=");
    for (int i = 0; i < LN; i++) FC_CHECK(t, fabsf(db2[i] - 2 * db[i]) <= 1e-5f * (1 + fabsf(db[i])), "db +=");
    for (int i = 0; i < LM * LK; i++) FC_CHECK(t, fabsf(dx2[i] - 2 * dx[i]) <= 1e-5f * (1 + fabsf(dx[i])), "dx +=");
}

/* a bf16 weight: dx must equal the f32 computation on the bf16 values (conversion is exact) */
static void test_linear_bwd_bf16_weight(fc_test *t) {
    enum { M = 3, N = 300, K = 40 }; /* N * K > one slice for some thread counts; K not a multiple of 16 */
    float *w = malloc(sizeof(float) * N * K), *dy = malloc(sizeof(float) * M * N), *a = malloc(sizeof(float) * M * K),
          *b = malloc(sizeof(float) * M * K);
    uint16_t *wb = malloc(sizeof(uint16_t) * N * K);
    fill(w, N * K), fill(dy, M * N);
    for (int i = 0; i < N * K; i++) {
        uint32_t u;
        memcpy(&u, &w[i], 4);
        wb[i] = (uint16_t)(u >> 16); /* truncate: any bf16 value will do */
        u = (uint32_t)wb[i] << 16;
        memcpy(&w[i], &u, 4);
    }
    bool ok = fc_cpu_linear_bwd(a, NULL, NULL, dy, NULL, w, FC_DTYPE_F32, M, N, K, false) == FC_OK &&
              fc_cpu_linear_bwd(b, NULL, NULL, dy, NULL, wb, FC_DTYPE_BF16, M, N, K, false) == FC_OK;
    if (!ok) fc_test_fail(t, "bwd failed: %s", fc_errmsg());
    else fc_test_close(t, "bf16 dx", b, a, M * K, 1e-6, 1e-6);
    free(w), free(dy), free(a), free(b), free(wb);
}

/* ---- rmsnorm ---- */
enum { RN = 4, RC = 10 };
typedef struct {
    float x[RN * RC], w[RC], r[RN * RC], y[RN * RC];
} rms_ctx;
static double rms_J(void *p) {
    rms_ctx *c = p;
    fc_cpu_rmsnorm(c->y, c->x, c->w, FC_DTYPE_F32, RN, RC, 1e-5f);
    return dotd(c->y, c->r, RN * RC);
}
static void test_rmsnorm_bwd(fc_test *t) {
    rms_ctx c;
    fill(c.x, RN * RC), fill(c.w, RC), fill(c.r, RN * RC);
    float dx[RN * RC], dw[RC] = {0};
    fc_cpu_rmsnorm_bwd(dx, dw, c.r, c.x, c.w, FC_DTYPE_F32, RN, RC, 1e-5f, false);
    fd_check(t, "rmsnorm dx", c.x, RN * RC, rms_J, &c, dx, 1e-2, 2e-3, 1e-2);
    fd_check(t, "rmsnorm dw", c.w, RC, rms_J, &c, dw, 1e-2, 2e-3, 1e-2);
}

/* ---- rope ---- */
enum { PT = 3, PH = 2, PD = 8 };
typedef struct {
    float x[PT * PH * PD], r[PT * PH * PD], y[PT * PH * PD];
    int32_t pos[PT];
} rope_ctx;
static double rope_J(void *p) {
    rope_ctx *c = p;
    memcpy(c->y, c->x, sizeof c->x);
    fc_cpu_rope(c->y, c->pos, PT, PH, PD, 10000.0f);
    return dotd(c->y, c->r, PT * PH * PD);
}
static void test_rope_bwd(fc_test *t) {
    rope_ctx c = {.pos = {0, 7, 301}};
    fill(c.x, PT * PH * PD), fill(c.r, PT * PH * PD);
    float d[PT * PH * PD];
    memcpy(d, c.r, sizeof d);
    fc_cpu_rope_bwd(d, c.pos, PT, PH, PD, 10000.0f);
    fd_check(t, "rope dx", c.x, PT * PH * PD, rope_J, &c, d, 1e-2, 2e-3, 1e-2);
}

/* ---- silu_mul, relu, dropout ---- */
enum { SN = 24 };
typedef struct {
    float g[SN], u[SN], r[SN], y[SN];
    uint8_t keep[SN];
    int which; /* 0 silu_mul, 1 relu, 2 dropout */
} ew_ctx;
static double ew_J(void *p) {
    ew_ctx *c = p;
    if (c->which == 0) fc_cpu_silu_mul(c->y, c->g, c->u, SN);
    if (c->which == 1) fc_cpu_act(c->y, c->g, SN, FC_ACT_RELU);
    if (c->which == 2) fc_cpu_dropout_fwd(c->y, c->g, c->keep, 0.4f, SN);
    return dotd(c->y, c->r, SN);
}
static void test_elementwise_bwd(fc_test *t) {
    ew_ctx c = {0};
    fill(c.g, SN), fill(c.u, SN), fill(c.r, SN);
    for (int i = 0; i < SN; i++) {
        c.g[i] *= 3; /* silu's curvature region */
        if (fabsf(c.g[i]) < 0.1f) c.g[i] = c.g[i] < 0 ? -0.1f : 0.1f; /* no ReLU kink within a step */
        c.keep[i] = i % 3 != 0;
    }
    float dg[SN], du[SN], y[SN];
    fc_cpu_silu_mul_bwd(dg, du, c.r, c.g, c.u, SN);
    c.which = 0;
    fd_check(t, "silu_mul dgate", c.g, SN, ew_J, &c, dg, 1e-2, 2e-3, 1e-2);
    fd_check(t, "silu_mul dup", c.u, SN, ew_J, &c, du, 1e-2, 2e-3, 1e-2);
    c.which = 1;
    fc_cpu_act(y, c.g, SN, FC_ACT_RELU);
    fc_cpu_relu_bwd(dg, c.r, y, SN);
    fd_check(t, "relu dx", c.g, SN, ew_J, &c, dg, 1e-2, 2e-3, 1e-2);
    c.which = 2;
    fc_cpu_dropout_bwd(dg, c.r, c.keep, 0.4f, SN);
    fd_check(t, "dropout dx", c.g, SN, ew_J, &c, dg, 1e-2, 2e-3, 1e-2);
}

/* ---- attention over [prefix; new], GQA ---- */
enum { AT = 4, AP = 5, AH = 4, AHKV = 2, AD = 8 };
typedef struct {
    float q[AT * AH * AD], kp[AHKV * AP * AD], vp[AHKV * AP * AD], kn[AT * AHKV * AD], vn[AT * AHKV * AD];
    float r[AT * AH * AD], out[AT * AH * AD], lse[AT * AH];
    int P;
} att_ctx;
static double att_J(void *p) {
    att_ctx *c = p;
    FC_ASSERT(fc_cpu_attention_prefix_fwd(c->out, c->lse, c->q, c->kp, c->vp, c->P, c->kn, c->vn, AT, AH, AHKV, AD,
                                          0.5f) == FC_OK);
    return dotd(c->out, c->r, AT * AH * AD);
}
static void attention_case(fc_test *t, int P) {
    att_ctx c = {.P = P};
    fill(c.q, sizeof c.q / 4), fill(c.kp, sizeof c.kp / 4), fill(c.vp, sizeof c.vp / 4);
    fill(c.kn, sizeof c.kn / 4), fill(c.vn, sizeof c.vn / 4), fill(c.r, sizeof c.r / 4);
    att_J(&c);
    float dq[AT * AH * AD], dkp[AHKV * AP * AD], dvp[AHKV * AP * AD], dkn[AT * AHKV * AD], dvn[AT * AHKV * AD];
    if (fc_cpu_attention_prefix_bwd(dq, dkp, dvp, dkn, dvn, c.r, c.q, c.kp, c.vp, P, c.kn, c.vn, c.out, c.lse, AT, AH,
                                    AHKV, AD, 0.5f) != FC_OK) {
        fc_test_fail(t, "bwd: %s", fc_errmsg());
        return;
    }
    fd_check(t, "attention dq", c.q, AT * AH * AD, att_J, &c, dq, 1e-2, 2e-3, 1e-2);
    fd_check(t, "attention dk new", c.kn, AT * AHKV * AD, att_J, &c, dkn, 1e-2, 2e-3, 1e-2);
    fd_check(t, "attention dv new", c.vn, AT * AHKV * AD, att_J, &c, dvn, 1e-2, 2e-3, 1e-2);
    if (P > 0) {
        fd_check(t, "attention dk prefix", c.kp, AHKV * P * AD, att_J, &c, dkp, 1e-2, 2e-3, 1e-2);
        fd_check(t, "attention dv prefix", c.vp, AHKV * P * AD, att_J, &c, dvp, 1e-2, 2e-3, 1e-2);
    }
    /* the forward is fc_cpu_attention's causal attention over the concatenated cache (S = P + T) */
    float k[(AP + AT) * AHKV * AD], v[(AP + AT) * AHKV * AD], ref[AT * AH * AD];
    for (int s = 0; s < P + AT; s++)
        for (int g = 0; g < AHKV; g++) {
            const float *ks = s < P ? c.kp + (g * P + s) * AD : c.kn + ((s - P) * AHKV + g) * AD;
            const float *vs = s < P ? c.vp + (g * P + s) * AD : c.vn + ((s - P) * AHKV + g) * AD;
            memcpy(k + (s * AHKV + g) * AD, ks, sizeof(float) * AD);
            memcpy(v + (s * AHKV + g) * AD, vs, sizeof(float) * AD);
        }
    FC_CHECK(t, fc_cpu_attention(ref, c.q, k, v, AT, P + AT, AH, AHKV, AD, 0.5f, true) == FC_OK, "%s", fc_errmsg());
    att_J(&c);
    fc_test_close(t, "attention_prefix vs attention", c.out, ref, AT * AH * AD, 1e-6, 1e-5);
}
static void test_attention_prefix_bwd(fc_test *t) { attention_case(t, AP); }
static void test_attention_prefix_bwd_no_prefix(fc_test *t) { attention_case(t, 0); }

/* ---- losses (double inside: f64 differences) ---- */
enum { LN_ = 3, LV = 11, HC = 6, HL = 2 };
typedef struct {
    float zt[LN_ * LV], zs[LN_ * LV], hs[HL * LN_ * HC], ht[HL * LN_ * HC];
    fc_distill_loss kind;
    float tau;
    double scratch[4 * LV + 6 * LN_];
    int iscratch[LV];
} loss_ctx;
static double logit_J(void *p) {
    loss_ctx *c = p;
    fc_ag_loss_out o;
    fc_ag_logit_loss(c->kind, c->tau, c->zt, c->zs, LN_, LV, NULL, 1.0f, c->scratch, c->iscratch, 1, &o);
    return o.loss;
}
static double hidden_J(void *p) {
    loss_ctx *c = p;
    return fc_ag_hidden_loss(c->hs, c->ht, HL, LN_, HC, NULL, 1.0f, c->scratch);
}
static void loss_case(fc_test *t, fc_distill_loss kind, float tau) {
    loss_ctx c = {.kind = kind, .tau = tau};
    for (int i = 0; i < LN_ * LV; i++) c.zt[i] = 3 * urand(), c.zs[i] = 3 * urand();
    float dz[LN_ * LV];
    fc_ag_loss_out o;
    fc_ag_logit_loss(kind, tau, c.zt, c.zs, LN_, LV, dz, 1.0f, c.scratch, c.iscratch, 1, &o);
    char what[64];
    snprintf(what, sizeof what, "%s tau %g dz", kind == FC_DISTILL_LOSS_KL ? "kl" : "fastcache", tau);
    fd_check(t, what, c.zs, LN_ * LV, logit_J, &c, dz, 1e-4, 1e-6, 1e-4);
    FC_CHECK(t, o.kl > 0 && o.top1 >= 0 && o.top1 <= 1, "kl %g top1 %g", o.kl, o.top1);
    if (kind == FC_DISTILL_LOSS_KL && tau == 1.0f) FC_CHECK(t, fabs(o.loss - o.kl) < 1e-12, "kl at tau 1 is the loss");
}
static void test_loss_kl_grad(fc_test *t) {
    loss_case(t, FC_DISTILL_LOSS_KL, 1.0f);
    loss_case(t, FC_DISTILL_LOSS_KL, 2.5f);
}
static void test_loss_fastcache_grad(fc_test *t) {
    loss_case(t, FC_DISTILL_LOSS_FASTCACHE, 1.0f);
    loss_case(t, FC_DISTILL_LOSS_FASTCACHE, 0.7f);
}
/* rows on several threads give the same bits as on one (figures summed in row order) */
static void test_loss_thread_count_invariant(fc_test *t) {
    enum { N = 9, V = 50 };
    float zt[N * V], zs[N * V], d1[N * V], d3[N * V];
    for (int i = 0; i < N * V; i++) zt[i] = 4 * urand(), zs[i] = 4 * urand();
    static double sc[3 * 4 * V + 6 * N];
    static int isc[3 * V];
    for (int kind = 0; kind < FC_DISTILL_LOSS_COUNT; kind++) {
        fc_ag_loss_out a, b;
        fc_ag_logit_loss((fc_distill_loss)kind, 1.3f, zt, zs, N, V, d1, 1.0f, sc, isc, 1, &a);
        fc_ag_logit_loss((fc_distill_loss)kind, 1.3f, zt, zs, N, V, d3, 1.0f, sc, isc, 3, &b);
        FC_CHECK(t, a.loss == b.loss && a.kl == b.kl && a.top1 == b.top1 && !memcmp(d1, d3, sizeof d1),
                 "%s: 1 thread %.17g, 3 threads %.17g", fc_distill_loss_name((fc_distill_loss)kind), a.loss, b.loss);
    }
}

/* The quickselect top-p set equals the one of a full sort (descending, ties by index), with and without ties */
static const double *sort_p;
static int cmp_ref(const void *a, const void *b) {
    double x = sort_p[*(const int *)a], y = sort_p[*(const int *)b];
    return x > y ? -1 : x < y ? 1 : *(const int *)a - *(const int *)b;
}
static void test_top_p_matches_sort(fc_test *t) {
    enum { V = 300 };
    static double p[V], m1[V], m2[V];
    static int idx[V], ord[V];
    for (int trial = 0; trial < 200; trial++) {
        double sum = 0;
        int levels = trial % 3 == 0 ? 4 : 0; /* every third trial: few distinct values, many ties */
        for (int v = 0; v < V; v++) {
            double u = fc_ag_rng_uniform(&rs);
            p[v] = levels ? floor(u * levels) + 1 : exp(8 * u * u);
            sum += p[v];
        }
        double top_p = 0.05 + 0.9 * fc_ag_rng_uniform(&rs);
        for (int v = 0; v < V; v++) p[v] /= sum, m1[v] = m2[v] = 0, idx[v] = ord[v] = v;
        fc_ag_top_p_mask(p, idx, V, top_p, m1);
        sort_p = p;
        qsort(ord, V, sizeof *ord, cmp_ref);
        double before = 0;
        for (int i = 0; i < V; i++) {
            if (before <= top_p) m2[ord[i]] = 1;
            before += p[ord[i]];
        }
        int diff = 0;
        for (int v = 0; v < V; v++) diff += m1[v] != m2[v];
        /* top_p is drawn from a continuum, so no partial sum lands on it within the ulps by which sums in
         * another order may differ: the sets must be equal */
        FC_CHECK(t, diff == 0, "trial %d (top_p %.4f, ties %d): %d tokens differ", trial, top_p, levels, diff);
    }
}

static void test_loss_hidden_grad(fc_test *t) {
    loss_ctx c = {0};
    fill(c.hs, HL * LN_ * HC), fill(c.ht, HL * LN_ * HC);
    float dh[HL * LN_ * HC];
    fc_ag_hidden_loss(c.hs, c.ht, HL, LN_, HC, dh, 1.0f, c.scratch);
    fd_check(t, "hidden-state term dh", c.hs, HL * LN_ * HC, hidden_J, &c, dh, 1e-4, 1e-6, 1e-4);
    /* equal hidden states: HS = 0 (MSE 0, cosine 1) */
    FC_CHECK(t, fabs(fc_ag_hidden_loss(c.ht, c.ht, HL, LN_, HC, NULL, 1.0f, c.scratch)) < 1e-12, "HS(h, h) = 0");
}


/* ---- against torch autograd (tests/fixtures/grad/ops.safetensors, float64 references from the same f32
 * inputs): our f32 kernels within 1e-5 of each gradient's largest value plus 1e-5 relative; the losses,
 * computed in double, within 1e-6 ---- */
#define OPS "tests/fixtures/grad/ops.safetensors"

static const void *ref(fc_test *t, const fc_st_file *f, const char *name, size_t want) {
    const fc_st_entry *e = fc_st_find(f, name);
    size_t n = 1;
    for (int i = 0; e && i < e->ndim; i++) n *= (size_t)e->shape[i];
    if (!e || n != want) {
        fc_test_fail(t, "%s: tensor '%s' missing or not of %zu values", OPS, name, want);
        return NULL;
    }
    return e->data;
}
#define REF(name, n) ((const float *)ref(t, &f, name, n))

static bool close_to_max(fc_test *t, const char *what, const float *got, const float *want, size_t n, double k) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(want[i]));
    return fc_test_close(t, what, got, want, n, k * m, k);
}

static void test_ops_against_torch(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, OPS) == FC_OK, "%s", fc_errmsg());
    { /* linear */
        const float *x = REF("linear.x", 45), *w = REF("linear.w", 63), *dy = REF("linear.dy", 35);
        const float *dx = REF("linear.dx", 45), *dw = REF("linear.dw", 63), *db = REF("linear.db", 7);
        if (x && w && dy && dx && dw && db) {
            float gx[45], gw[63] = {0}, gb[7] = {0};
            fc_cpu_linear_bwd(gx, gw, gb, dy, x, w, FC_DTYPE_F32, 5, 7, 9, false);
            close_to_max(t, "linear dx", gx, dx, 45, 1e-5);
            close_to_max(t, "linear dw", gw, dw, 63, 1e-5);
            close_to_max(t, "linear db", gb, db, 7, 1e-5);
        }
    }
    { /* rmsnorm */
        const float *x = REF("rmsnorm.x", 40), *w = REF("rmsnorm.w", 10), *dy = REF("rmsnorm.dy", 40);
        const float *dx = REF("rmsnorm.dx", 40), *dw = REF("rmsnorm.dw", 10);
        if (x && w && dy && dx && dw) {
            float gx[40], gw[10] = {0};
            fc_cpu_rmsnorm_bwd(gx, gw, dy, x, w, FC_DTYPE_F32, 4, 10, 1e-5f, false);
            close_to_max(t, "rmsnorm dx", gx, dx, 40, 1e-5);
            close_to_max(t, "rmsnorm dw", gw, dw, 10, 1e-5);
        }
    }
    { /* rope */
        const float *dy = REF("rope.dy", 48), *dx = REF("rope.dx", 48);
        const int32_t *pos = ref(t, &f, "rope.pos", 3);
        if (dy && dx && pos) {
            float g[48];
            memcpy(g, dy, sizeof g);
            fc_cpu_rope_bwd(g, pos, 3, 2, 8, 10000.0f);
            close_to_max(t, "rope dx", g, dx, 48, 1e-5);
        }
    }
    { /* silu_mul */
        const float *gt = REF("silu_mul.gate", 24), *up = REF("silu_mul.up", 24), *dy = REF("silu_mul.dy", 24);
        const float *dg = REF("silu_mul.dgate", 24), *du = REF("silu_mul.dup", 24);
        if (gt && up && dy && dg && du) {
            float a[24], b[24];
            fc_cpu_silu_mul_bwd(a, b, dy, gt, up, 24);
            close_to_max(t, "silu_mul dgate", a, dg, 24, 1e-5);
            close_to_max(t, "silu_mul dup", b, du, 24, 1e-5);
        }
    }
    { /* attention over [prefix; new] */
        enum { T = 4, P = 5, H = 4, K = 2, D = 8 };
        const float *q = REF("attention.q", T * H * D), *kp = REF("attention.kp", K * P * D),
                    *vp = REF("attention.vp", K * P * D), *kn = REF("attention.kn", T * K * D),
                    *vn = REF("attention.vn", T * K * D), *dy = REF("attention.dy", T * H * D);
        const float *dq = REF("attention.dq", T * H * D), *dkp = REF("attention.dkp", K * P * D),
                    *dvp = REF("attention.dvp", K * P * D), *dkn = REF("attention.dkn", T * K * D),
                    *dvn = REF("attention.dvn", T * K * D);
        if (q && kp && vp && kn && vn && dy && dq && dkp && dvp && dkn && dvn) {
            float out[T * H * D], lse[T * H], gq[T * H * D], gkp[K * P * D], gvp[K * P * D], gkn[T * K * D],
                gvn[T * K * D];
            bool ok = fc_cpu_attention_prefix_fwd(out, lse, q, kp, vp, P, kn, vn, T, H, K, D, 0.5f) == FC_OK &&
                      fc_cpu_attention_prefix_bwd(gq, gkp, gvp, gkn, gvn, dy, q, kp, vp, P, kn, vn, out, lse, T, H, K,
                                                  D, 0.5f) == FC_OK;
            if (!ok) fc_test_fail(t, "attention: %s", fc_errmsg());
            close_to_max(t, "attention dq", gq, dq, T * H * D, 1e-5);
            close_to_max(t, "attention dk prefix", gkp, dkp, K * P * D, 1e-5);
            close_to_max(t, "attention dv prefix", gvp, dvp, K * P * D, 1e-5);
            close_to_max(t, "attention dk new", gkn, dkn, T * K * D, 1e-5);
            close_to_max(t, "attention dv new", gvn, dvn, T * K * D, 1e-5);
        }
    }
    { /* losses */
        const float *zt = REF("loss.zt", 33), *zs = REF("loss.zs", 33);
        struct {
            const char *name;
            fc_distill_loss kind;
            float tau;
        } lc[] = {{"kl_t2", FC_DISTILL_LOSS_KL, 2.0f}, {"fc_t1", FC_DISTILL_LOSS_FASTCACHE, 1.0f},
                  {"fc_t07", FC_DISTILL_LOSS_FASTCACHE, 0.7f}};
        double scratch[2 * 4 * 11 + 6 * 3];
        int iscratch[2 * 11];
        for (size_t i = 0; zt && zs && i < sizeof lc / sizeof *lc; i++) {
            char nv[64], nd[64];
            snprintf(nv, sizeof nv, "loss.%s.value", lc[i].name);
            snprintf(nd, sizeof nd, "loss.%s.dzs", lc[i].name);
            const float *v = REF(nv, 1), *d = REF(nd, 33);
            if (!v || !d) continue;
            float dz[33];
            fc_ag_loss_out o;
            fc_ag_logit_loss(lc[i].kind, lc[i].tau, zt, zs, 3, 11, dz, 1.0f, scratch, iscratch, 2, &o);
            t->checks++;
            if (!(fabs(o.loss - v[0]) <= 1e-6 * fabs(v[0])))
                fc_test_fail(t, "%s: loss %.9g, torch %.9g", lc[i].name, o.loss, v[0]);
            close_to_max(t, nd, dz, d, 33, 1e-6);
        }
        const float *hs = REF("hidden.hs", 36), *ht = REF("hidden.ht", 36), *hv = REF("hidden.value", 1),
                    *hd = REF("hidden.dhs", 36);
        if (hs && ht && hv && hd) {
            float dh[36];
            double sc[3 * 6];
            double v = fc_ag_hidden_loss(hs, ht, 2, 3, 6, dh, 1.0f, sc);
            t->checks++;
            if (!(fabs(v - hv[0]) <= 1e-6 * fabs(hv[0]))) fc_test_fail(t, "hidden term %.9g, torch %.9g", v, hv[0]);
            close_to_max(t, "hidden dhs", dh, hd, 36, 1e-6);
        }
    }
    fc_st_close(&f);
}

/* The dispatchers of kernels/ops_backward.h: wrong shapes, missing tensors and CUDA tensors are errors that
 * name the op, never a crash; right shapes reach the kernels. */
static fc_tensor tv(float *p, int nd, int64_t a, int64_t b, int64_t c) {
    int64_t sh[3] = {a, b, c};
    return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, nd, sh);
}
static void test_backward_dispatch_errors(fc_test *t) {
    static float buf[8][256];
    fc_tensor dx = tv(buf[0], 2, 5, 9, 0), dy = tv(buf[1], 2, 5, 7, 0), w = tv(buf[2], 2, 7, 9, 0),
              x = tv(buf[3], 2, 5, 9, 0), dw = tv(buf[4], 2, 7, 9, 0), bad = tv(buf[5], 2, 5, 8, 0);
    FC_CHECK(t, fc_op_linear_bwd(&dx, &dw, NULL, &dy, &x, &w, false) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_op_linear_bwd(&bad, NULL, NULL, &dy, NULL, &w, false) == FC_ESHAPE &&
                    strstr(fc_errmsg(), "linear_bwd"), "'%s'", fc_errmsg());
    FC_CHECK(t, fc_op_linear_bwd(&dx, &dw, NULL, &dy, NULL, &w, false) == FC_EINVAL, "dw without x");
    FC_CHECK(t, fc_op_linear_bwd(&dx, NULL, NULL, &bad, NULL, &w, false) == FC_ESHAPE, "dy of another width");
    fc_tensor on_cuda = dy;
    on_cuda.device = FC_DEVICE_CUDA;
    /* a CUDA tensor among CPU ones (the CUDA branch, kernels/backward_cuda.c, wants all on cuda) */
    FC_CHECK(t, fc_op_linear_bwd(&dx, NULL, NULL, &on_cuda, NULL, &w, false) == FC_EINVAL &&
                    strstr(fc_errmsg(), "linear_bwd: dx is on cpu"), "'%s'", fc_errmsg());
    fc_tensor nw = tv(buf[2], 1, 9, 0, 0), rx = tv(buf[0], 2, 4, 9, 0), rdy = tv(buf[1], 2, 4, 9, 0),
              rdx = tv(buf[3], 2, 4, 9, 0), rbad = tv(buf[4], 2, 3, 9, 0);
    FC_CHECK(t, fc_op_rmsnorm_bwd(&rdx, NULL, &rdy, &rx, &nw, 1e-5f, false) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_op_rmsnorm_bwd(&rbad, NULL, &rdy, &rx, &nw, 1e-5f, false) == FC_ESHAPE, "rmsnorm_bwd shape");
    fc_tensor odd = tv(buf[0], 3, 2, 2, 7);
    int32_t pos[2] = {0, 1};
    FC_CHECK(t, fc_op_rope_bwd(&odd, pos, 1e4f) == FC_ESHAPE, "rope_bwd odd D");
    FC_CHECK(t, fc_op_silu_mul_bwd(&rdx, &rbad, &rdy, &rx, &rx) == FC_ESHAPE, "silu_mul_bwd sizes");
    /* attention: q (T 2, H 4, D 8), prefix (Hkv 2, P 3, D 8), new (2, 2, 8); H % Hkv and shapes checked */
    fc_tensor q = tv(buf[0], 3, 2, 4, 8), kp = tv(buf[1], 3, 2, 3, 8), vp = tv(buf[2], 3, 2, 3, 8),
              kn = tv(buf[3], 3, 2, 2, 8), vn = tv(buf[4], 3, 2, 2, 8), out = tv(buf[5], 3, 2, 4, 8),
              lse = tv(buf[6], 2, 2, 4, 0), kn3 = tv(buf[3], 3, 2, 3, 8), kpw = tv(buf[1], 3, 2, 3, 4);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 256; j++) buf[i][j] = 0.01f * (float)((i * 31 + j * 7) % 13);
    FC_CHECK(t, fc_op_attention_prefix(&out, &lse, &q, &kp, &vp, &kn, &vn, 0.3f) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_op_attention_prefix(&out, &lse, &q, &kp, &vp, &kn3, &vn, 0.3f) == FC_ESHAPE, "H %% Hkv");
    FC_CHECK(t, fc_op_attention_prefix(&out, &lse, &q, &kpw, &vp, &kn, &vn, 0.3f) == FC_ESHAPE, "prefix D");
    FC_CHECK(t, fc_op_attention_prefix(&out, NULL, &q, &kp, &vp, &kn, &vn, 0.3f) == FC_EINVAL, "lse missing");
    static float g[6][256];
    fc_tensor dq = tv(g[0], 3, 2, 4, 8), dkp = tv(g[1], 3, 2, 3, 8), dvp = tv(g[2], 3, 2, 3, 8),
              dkn = tv(g[3], 3, 2, 2, 8), dvn = tv(g[4], 3, 2, 2, 8), dout = tv(g[5], 3, 2, 4, 8);
    FC_CHECK(t, fc_op_attention_prefix_bwd(&dq, &dkp, &dvp, &dkn, &dvn, &dout, &q, &kp, &vp, &kn, &vn, &out, &lse,
                                           0.3f) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_op_attention_prefix_bwd(&dq, &dkn, &dvp, &dkn, &dvn, &dout, &q, &kp, &vp, &kn, &vn, &out, &lse,
                                           0.3f) == FC_ESHAPE, "dkp of the wrong size");
}

static const fc_test_case cases[] = {
    FC_CASE(test_linear_bwd),           FC_CASE(test_linear_bwd_bf16_weight), FC_CASE(test_rmsnorm_bwd),
    FC_CASE(test_rope_bwd),             FC_CASE(test_elementwise_bwd),        FC_CASE(test_attention_prefix_bwd),
    FC_CASE(test_attention_prefix_bwd_no_prefix), FC_CASE(test_loss_kl_grad), FC_CASE(test_loss_fastcache_grad),
    FC_CASE(test_loss_hidden_grad), FC_CASE(test_loss_thread_count_invariant), FC_CASE(test_top_p_matches_sort), FC_CASE(test_backward_dispatch_errors), FC_CASE(test_ops_against_torch),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
