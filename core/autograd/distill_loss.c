/* distill_loss.c: the distillation losses on logits and hidden states, with their gradients (distill.h).
 *
 * Everything per row is computed in double from the f32 logits: log-softmax as z/tau - lse, p and q as
 * its exp. Gradients w.r.t. the student's logits:
 *   kl:        tau^2 KL(p || q)  ->  dz = tau (q - p)
 *   fastcache: g = dL/dq for the CE, JS and L1 terms of spec §6.3, then through the softmax at tau:
 *              dz = q (g - sum(q g)) / tau.
 *   JS's terms a log(a / (m + eps) + eps) (a = p or q, m = (p + q) / 2) differentiate with m's share 1/2;
 *   |p - q| has derivative sign(q - p), 0 at equality (as torch's abs).
 * The top-p set of the CE term is taken on the teacher (a constant): sort p descending, keep tokens while
 * the mass before them is <= top_p (the crossing token included, as the original and HF's top-p do),
 * found by a quickselect rather than a full sort (fc_ag_top_p_mask).
 */
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"

#define FC_FASTCACHE_EPS 1e-8
#define FC_FASTCACHE_TOP_P 0.9

/* lp (V) = z / tau - logsumexp(z / tau); returns the index of the first max of z */
static int log_softmax(const float *z, int V, double tau, double *lp) {
    double mx = -INFINITY;
    int am = 0;
    for (int v = 0; v < V; v++)
        if (z[v] > z[am]) am = v;
    mx = (double)z[am] / tau;
    double sum = 0;
    for (int v = 0; v < V; v++) {
        lp[v] = (double)z[v] / tau - mx;
        sum += exp(lp[v]);
    }
    double l = log(sum);
    for (int v = 0; v < V; v++) lp[v] -= l;
    return am;
}

static int cmp_desc(const void *a, const void *b, void *ctx) {
    const double *p = ctx;
    double x = p[*(const int *)a], y = p[*(const int *)b];
    return x > y ? -1 : x < y ? 1 : (*(const int *)a - *(const int *)b);
}

/* The top-p set without a full sort: mask[v] = 1 for the tokens that sorting p descending (ties by index)
 * and keeping while the mass before a token is <= top_p would keep. Quickselect on the candidates idx
 * (n of them, holding every token that can be kept): a 3-way partition around a pivot value; if the mass
 * above the pivot already passes top_p the crossing lies above it, else everything above is kept and the
 * search goes on below. Expected O(n); returns the kept mass. */
double fc_ag_top_p_mask(const double *p, int *idx, int n, double top_p, double *mask) {
    int lo = 0, hi = n;
    double acc = 0, kept = 0; /* mass kept so far (every token above the current range) */
    while (lo < hi) {
        double a = p[idx[lo]], b = p[idx[(lo + hi) / 2]], c = p[idx[hi - 1]];
        double pv = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b)); /* median of 3 */
        int gt = lo, i = lo, lt = hi; /* [lo, gt) > pv, [gt, i) == pv, [lt, hi) < pv */
        while (i < lt) {
            double x = p[idx[i]];
            int t = idx[i];
            if (x > pv) idx[i++] = idx[gt], idx[gt++] = t;
            else if (x < pv) idx[i] = idx[--lt], idx[lt] = t;
            else i++;
        }
        double G = 0;
        for (int j = lo; j < gt; j++) G += p[idx[j]];
        if (acc + G > top_p && gt > lo) { /* the crossing token is above the pivot (its ties below stay out) */
            hi = gt;
            continue;
        }
        for (int j = lo; j < gt; j++) mask[idx[j]] = 1.0, kept += p[idx[j]];
        acc += G;
        /* the ties, in index order: keep while the mass before is <= top_p */
        if (lt - gt > 1) qsort_r(idx + gt, (size_t)(lt - gt), sizeof *idx, cmp_desc, (void *)p);
        for (int j = gt; j < lt; j++) {
            if (acc > top_p) return kept;
            mask[idx[j]] = 1.0, kept += p[idx[j]], acc += p[idx[j]];
        }
        if (acc > top_p) return kept;
        lo = lt;
    }
    return kept;
}

/* One row: writes its figures to r[0..5] = loss, kl, top1, ce, js, l1 and (dz not NULL) its gradient. */
static void logit_row(fc_distill_loss kind, double tau, const float *t, const float *s, int V, float *dz, double k_grad,
                      double *scratch, int *iscratch, double *r) {
    double *lp = scratch, *lq = scratch + V, *p = scratch + 2 * (size_t)V, *g = scratch + 3 * (size_t)V;
    double eps = FC_FASTCACHE_EPS;
    /* figures at tau = 1 first */
    int at = log_softmax(t, V, 1.0, lp), as = log_softmax(s, V, 1.0, lq);
    double kl1 = 0;
    for (int v = 0; v < V; v++) kl1 += exp(lp[v]) * (lp[v] - lq[v]);
    r[1] = kl1, r[2] = at == as;
    if (tau != 1.0) {
        log_softmax(t, V, tau, lp);
        log_softmax(s, V, tau, lq);
    }
    if (kind == FC_DISTILL_LOSS_KL) {
        double kl = 0;
        for (int v = 0; v < V; v++) kl += exp(lp[v]) * (lp[v] - lq[v]);
        r[0] = tau * tau * kl;
        if (dz)
            for (int v = 0; v < V; v++) dz[v] = (float)(tau * k_grad * (exp(lq[v]) - exp(lp[v])));
        return;
    }
    /* fastcache. Top-p: only tokens with p >= (1 - top_p) / (2 V) can be kept (the mass of all tokens below
     * that is < 1 - top_p, so the mass before any of them exceeds top_p): select among those. */
    double cut = (1.0 - FC_FASTCACHE_TOP_P) / (2.0 * V);
    int nc = 0;
    for (int v = 0; v < V; v++) {
        p[v] = exp(lp[v]);
        lp[v] = 0.0; /* lp becomes the top-p mask */
        if (p[v] >= cut) iscratch[nc++] = v;
    }
    double kept = fc_ag_top_p_mask(p, iscratch, nc, FC_FASTCACHE_TOP_P, lp);
    double ce = 0, js = 0, l1 = 0, qg = 0;
    for (int v = 0; v < V; v++) {
        double q = exp(lq[v]), pv = p[v], pt = pv * lp[v] / (kept + eps), m = 0.5 * (pv + q), me = m + eps;
        double rp = pv / me + eps, rq = q / me + eps;
        ce -= pt * log(q + eps);
        js += 0.5 * (pv * log(rp) + q * log(rq));
        l1 += fabs(pv - q);
        if (!dz) continue;
        double g_ce = -pt / (q + eps);
        double g_js = 0.5 * (pv / rp * (-pv / (me * me)) * 0.5 + log(rq) + q / rq * (1.0 / me - q * 0.5 / (me * me)));
        double g_l1 = q > pv ? 1.0 : q < pv ? -1.0 : 0.0;
        g[v] = 0.5 * (0.5 * g_ce + 0.3 * g_js + 0.2 * g_l1);
        qg += q * g[v];
    }
    r[3] = ce, r[4] = js, r[5] = l1;
    r[0] = 0.5 * (0.5 * ce + 0.3 * js + 0.2 * l1);
    if (dz)
        for (int v = 0; v < V; v++) dz[v] = (float)(k_grad / tau * exp(lq[v]) * (g[v] - qg));
}

void fc_ag_logit_loss(fc_distill_loss kind, float tau, const float *zt, const float *zs, int n, int V, float *dzs,
                      float scale, double *scratch, int *iscratch, int n_slots, fc_ag_loss_out *out) {
    double *rows = scratch + (size_t)(n_slots < 1 ? 1 : n_slots) * 4 * V; /* (n, 6) per-row figures */
    int threads = n_slots < omp_get_max_threads() ? n_slots : omp_get_max_threads(); /* never above the caller's */
    if (threads < 1) threads = 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n > 1)
    for (int r = 0; r < n; r++) {
        int slot = omp_get_thread_num();
        double *r6 = rows + (size_t)r * 6;
        memset(r6, 0, 6 * sizeof(double));
        logit_row(kind, tau, zt + (size_t)r * V, zs + (size_t)r * V, V, dzs ? dzs + (size_t)r * V : NULL,
                  (double)scale / n, scratch + (size_t)slot * 4 * V, iscratch + (size_t)slot * V, r6);
    }
    memset(out, 0, sizeof *out);
    for (int r = 0; r < n; r++) { /* a fixed order, so the figures do not depend on the thread count */
        const double *r6 = rows + (size_t)r * 6;
        out->loss += r6[0], out->kl += r6[1], out->top1 += r6[2], out->ce += r6[3], out->js += r6[4],
            out->l1 += r6[5];
    }
    if (n > 0) {
        out->loss /= n, out->kl /= n, out->top1 /= n, out->ce /= n, out->js /= n, out->l1 /= n;
    }
}

/* softmax of one row of C in double */
static void softmax_d(const float *h, int C, double *a) {
    double mx = h[0];
    for (int c = 1; c < C; c++) mx = h[c] > mx ? h[c] : mx;
    double sum = 0;
    for (int c = 0; c < C; c++) sum += a[c] = exp((double)h[c] - mx);
    for (int c = 0; c < C; c++) a[c] /= sum;
}

/* HS = sum_l [MSE_l + 1 - mean_t cos(softmax(hs), softmax(ht))] / 2. torch's cosine_similarity divides by
 * max(|a|, eps) * max(|b|, eps) (eps 1e-8); softmax rows have norms >= 1/sqrt(C), far above it. */
double fc_ag_hidden_loss(const float *hs, const float *ht, int L, int n, int C, float *dhs, float scale,
                         double *scratch) {
    double *a = scratch, *b = scratch + C, *ga = scratch + 2 * (size_t)C;
    double total = 0, eps = FC_FASTCACHE_EPS;
    for (int l = 0; l < L; l++) {
        double mse = 0, cos_sum = 0;
        for (int r = 0; r < n; r++) {
            size_t o = ((size_t)l * n + r) * C;
            softmax_d(hs + o, C, a);
            softmax_d(ht + o, C, b);
            double ab = 0, aa = 0, bb = 0;
            for (int c = 0; c < C; c++) {
                double d = (double)hs[o + c] - ht[o + c];
                mse += d * d;
                ab += a[c] * b[c], aa += a[c] * a[c], bb += b[c] * b[c];
            }
            double na = fmax(sqrt(aa), eps), nb = fmax(sqrt(bb), eps), cs = ab / (na * nb);
            cos_sum += cs;
            if (dhs) {
                /* d(1 - mean cos)/da = -(b / (na nb) - cs a / na^2) / n, then the softmax backward */
                double ag = 0;
                for (int c = 0; c < C; c++) {
                    ga[c] = -(b[c] / (na * nb) - cs * a[c] / (na * na)) / n;
                    ag += a[c] * ga[c];
                }
                for (int c = 0; c < C; c++) {
                    double d_mse = 2.0 * ((double)hs[o + c] - ht[o + c]) / ((double)n * C);
                    double d_cos = a[c] * (ga[c] - ag);
                    dhs[o + c] = (float)(scale * 0.5 * (d_mse + d_cos));
                }
            }
        }
        total += 0.5 * (mse / ((double)n * C) + 1.0 - cos_sum / n);
    }
    return total;
}
