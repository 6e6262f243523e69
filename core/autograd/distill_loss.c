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
 * the mass before them is <= top_p (the crossing token included, as the original and HF's top-p do).
 */
#include <math.h>
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

void fc_ag_logit_loss(fc_distill_loss kind, float tau_f, const float *zt, const float *zs, int n, int V, float *dzs,
                      float scale, double *scratch, int *iscratch, fc_ag_loss_out *out) {
    double tau = tau_f;
    double *lp = scratch, *lq = scratch + V, *p = scratch + 2 * (size_t)V, *g = scratch + 3 * (size_t)V;
    memset(out, 0, sizeof *out);
    double eps = FC_FASTCACHE_EPS;
    for (int r = 0; r < n; r++) {
        const float *t = zt + (size_t)r * V, *s = zs + (size_t)r * V;
        float *dz = dzs ? dzs + (size_t)r * V : NULL;
        /* figures at tau = 1 first */
        int at = log_softmax(t, V, 1.0, lp), as = log_softmax(s, V, 1.0, lq);
        double kl1 = 0;
        for (int v = 0; v < V; v++) kl1 += exp(lp[v]) * (lp[v] - lq[v]);
        out->kl += kl1;
        out->top1 += at == as;
        if (tau != 1.0) {
            log_softmax(t, V, tau, lp);
            log_softmax(s, V, tau, lq);
        }
        if (kind == FC_DISTILL_LOSS_KL) {
            double kl = 0;
            for (int v = 0; v < V; v++) kl += exp(lp[v]) * (lp[v] - lq[v]);
            out->loss += tau * tau * kl;
            if (dz) {
                double k = tau * scale / n;
                for (int v = 0; v < V; v++) dz[v] = (float)(k * (exp(lq[v]) - exp(lp[v])));
            }
            continue;
        }
        /* fastcache: p teacher, q student (q kept in lq's place as probabilities) */
        for (int v = 0; v < V; v++) p[v] = exp(lp[v]), iscratch[v] = v;
        qsort_r(iscratch, (size_t)V, sizeof *iscratch, cmp_desc, p);
        double before = 0, kept = 0;
        for (int i = 0; i < V; i++) { /* lp[v] becomes the top-p mask (1 or 0) */
            int v = iscratch[i];
            bool keep = before <= FC_FASTCACHE_TOP_P;
            before += p[v];
            lp[v] = keep;
            kept += keep ? p[v] : 0.0;
        }
        double ce = 0, js = 0, l1 = 0, qg = 0;
        for (int v = 0; v < V; v++) {
            double q = exp(lq[v]), pv = p[v], pt = pv * lp[v] / (kept + eps), m = 0.5 * (pv + q), me = m + eps;
            double rp = pv / me + eps, rq = q / me + eps;
            ce -= pt * log(q + eps);
            js += 0.5 * (pv * log(rp) + q * log(rq));
            l1 += fabs(pv - q);
            double g_ce = -pt / (q + eps);
            double g_js = 0.5 * (pv / rp * (-pv / (me * me)) * 0.5 + log(rq) + q / rq * (1.0 / me - q * 0.5 / (me * me)));
            double g_l1 = q > pv ? 1.0 : q < pv ? -1.0 : 0.0;
            g[v] = 0.5 * (0.5 * g_ce + 0.3 * g_js + 0.2 * g_l1);
            qg += q * g[v];
        }
        out->ce += ce, out->js += js, out->l1 += l1;
        out->loss += 0.5 * (0.5 * ce + 0.3 * js + 0.2 * l1);
        if (dz) {
            double k = scale / (tau * n);
            for (int v = 0; v < V; v++) dz[v] = (float)(k * exp(lq[v]) * (g[v] - qg));
        }
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
