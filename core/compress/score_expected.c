/* score_expected.c: ExpectedAttention (kvpress/presses/expected_attention_press.py, 0.5.5): the attention
 * that future queries are expected to pay each key, from the mean and covariance of the prompt's pre-RoPE
 * queries rotated by the RoPE matrix averaged over the next n_future positions:
 *   E[A_j] ~ softmax_j( mu'.k_j / sqrt(D) + k_j^T cov' k_j / (2 D) ),  mu' = R mu,  cov' = R cov R^T,
 * averaged over the query heads of a kv group, times ||v_j|| (plus epsilon first), the n_sink first tokens
 * padded with max + 1 so they always survive. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/compress/internal.h"

fc_err fc_compress_qstats_compute(fc_compress_qstats *st, const float *q, int H, int S, int D, int skip) {
    memset(st, 0, sizeof *st);
    if (H < 1 || D < 1 || skip < 0 || S - skip < 1)
        return fc_err_set(FC_EINVAL, "query statistics: need at least one query after skipping %d of %d tokens "
                          "(H=%d, D=%d)", skip, S, H, D);
    const int N = S - skip;
    st->H = H, st->D = D;
    st->mean = fc_malloc(sizeof(float) * (size_t)H * D, "query mean");
    st->cov = fc_malloc(sizeof(float) * (size_t)H * D * D, "query covariance");
    double *mu = fc_malloc(sizeof(double) * (size_t)D, "query mean");
    float *xc = fc_malloc(sizeof(float) * (size_t)N * D, "query covariance");
    if (!st->mean || !st->cov || !mu || !xc) {
        free(mu), free(xc);
        fc_compress_qstats_free(st);
        return FC_ENOMEM;
    }
    for (int h = 0; h < H; h++) {
        const float *qh = q + ((size_t)h * S + skip) * D;
        memset(mu, 0, sizeof(double) * D);
        for (int t = 0; t < N; t++)
            for (int d = 0; d < D; d++) mu[d] += qh[(size_t)t * D + d];
        for (int d = 0; d < D; d++) st->mean[(size_t)h * D + d] = (float)(mu[d] /= N);
        for (int t = 0; t < N; t++)
            for (int d = 0; d < D; d++) xc[(size_t)t * D + d] = (float)(qh[(size_t)t * D + d] - mu[d]);
        /* population covariance X^T X / N in f32 (kvpress: an f32 einsum), upper triangle, then mirrored */
        float *c = st->cov + (size_t)h * D * D;
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, D, N, 1.0f / (float)N, xc, D, 0.0f, c, D);
        for (int a = 0; a < D; a++)
            for (int b = a + 1; b < D; b++) c[(size_t)b * D + a] = c[(size_t)a * D + b];
    }
    free(mu);
    free(xc);
    return FC_OK;
}

void fc_compress_qstats_free(fc_compress_qstats *st) {
    if (!st) return;
    free(st->mean);
    free(st->cov);
    st->mean = st->cov = NULL;
}

/* cbar, sbar (D/2): the mean over positions S .. S+n_future-1 of cos and sin of pos * inv_freq[i], as HF's
 * rotary embedding computes them (angle rounded to f32, then cos/sin, times attention_scaling). The averaged
 * rotation is R[i][i] = cbar, R[i+D/2][i] = sbar, R[i][i+D/2] = -sbar (kvpress apply_avg_rope). */
static void avg_rope(const fc_compress_inputs *in, int n_future, double *cbar, double *sbar) {
    const int half = in->D / 2;
    const float scaling = in->rope_scaling > 0 ? in->rope_scaling : 1.0f;
    for (int i = 0; i < half; i++) {
        double c = 0, s = 0;
        for (int t = 0; t < n_future; t++) {
            float ang = (float)(in->S + t) * in->inv_freq[i];
            c += (float)cos((double)ang) * scaling;
            s += (float)sin((double)ang) * scaling;
        }
        cbar[i] = (float)(c / n_future);
        sbar[i] = (float)(s / n_future);
    }
}

/* y = R x for the averaged rotation (i < D/2: c x_i - s x_{i+h}; i >= D/2: c x_i + s x_{i-h}). */
static void rot(const double *cbar, const double *sbar, int D, const double *x, int stride, double *y) {
    const int half = D / 2;
    for (int i = 0; i < D; i++) {
        int f = i % half;
        double other = i < half ? -x[(size_t)(i + half) * stride] : x[(size_t)(i - half) * stride];
        y[i] = cbar[f] * x[(size_t)i * stride] + sbar[f] * other;
    }
}

fc_err fc_score_expected(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    const int S = in->S, D = in->D, H = in->H, g = H / in->Hkv, ns = o->n_sink, N = S - ns;
    if (S <= ns)
        return fc_err_set(FC_EINVAL, "expected_attention: layer %d: prefix of %d tokens is not longer than "
                          "n_sink=%d (kvpress asserts this too)", in->layer, S, ns);
    if (in->qstats->H != H || in->qstats->D != D)
        return fc_err_set(FC_ESHAPE, "expected_attention: layer %d: query statistics are for H=%d, D=%d; the layer "
                          "has H=%d, D=%d", in->layer, in->qstats->H, in->qstats->D, H, D);
    if (D % 2) return fc_err_set(FC_EINVAL, "expected_attention: head dim %d is odd (RoPE needs pairs)", D);
    double *cbar = fc_malloc(sizeof(double) * (size_t)D, "expected attention");
    double *sbar = cbar ? cbar + D / 2 : NULL;
    double *tmp = fc_malloc(sizeof(double) * ((size_t)D * D * 2 + 2 * (size_t)D), "expected attention");
    float *covr = fc_malloc(sizeof(float) * (size_t)D * D, "expected attention");
    float *kc = fc_malloc(sizeof(float) * (size_t)N * D, "expected attention");
    float *logit = fc_malloc(sizeof(float) * (size_t)H * N, "expected attention");
    fc_err e = FC_OK;
    if (!cbar || !tmp || !covr || !kc || !logit) {
        e = FC_ENOMEM;
        goto done;
    }
    avg_rope(in, o->n_future, cbar, sbar);
    double *t1 = tmp, *t2 = tmp + (size_t)D * D, *mu = t2 + (size_t)D * D, *x = mu + D;
    for (int hq = 0; hq < H; hq++) {
        const float *m = in->qstats->mean + (size_t)hq * D, *cv = in->qstats->cov + (size_t)hq * D * D;
        for (int d = 0; d < D; d++) x[d] = m[d];
        rot(cbar, sbar, D, x, 1, mu);
        /* cov' = R cov R^T: t1 = R cov (column by column), then cov' rows = R applied to t1's columns^T */
        for (int c = 0; c < D; c++) {
            for (int r = 0; r < D; r++) x[r] = cv[(size_t)r * D + c];
            rot(cbar, sbar, D, x, 1, t2);
            for (int r = 0; r < D; r++) t1[(size_t)r * D + c] = t2[r];
        }
        for (int r = 0; r < D; r++) { /* (R cov) R^T = (R (R cov)^T)^T */
            rot(cbar, sbar, D, t1 + (size_t)r * D, 1, x);
            for (int c = 0; c < D; c++) covr[(size_t)r * D + c] = (float)x[c];
        }
        const float *k = in->k + ((size_t)(hq / g) * S + ns) * D;
        if (o->cov) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, D, 1.0f, k, D, covr, D, 0.0f, kc, D);
        float *lg = logit + (size_t)hq * N;
        for (int j = 0; j < N; j++) {
            const float *kj = k + (size_t)j * D;
            double a = 0, b = 0;
            for (int d = 0; d < D; d++) a += mu[d] * kj[d];
            if (o->cov)
                for (int d = 0; d < D; d++) b += (double)kc[(size_t)j * D + d] * kj[d];
            lg[j] = (float)(a / sqrt((double)D) + b / D / 2);
        }
        float mx = -INFINITY;
        for (int j = 0; j < N; j++) mx = lg[j] > mx ? lg[j] : mx;
        double sum = 0;
        for (int j = 0; j < N; j++) sum += exp((double)lg[j] - mx);
        for (int j = 0; j < N; j++) lg[j] = (float)(exp((double)lg[j] - mx) / sum);
    }
    float top = -INFINITY;
    for (int hk = 0; hk < in->Hkv; hk++) {
        float *sc = scores + (size_t)hk * S;
        for (int j = 0; j < N; j++) {
            float a = 0;
            for (int q = 0; q < g; q++) a += logit[(size_t)(hk * g + q) * N + j];
            a /= (float)g;
            if (o->vnorm) {
                const float *vj = in->v + ((size_t)hk * S + ns + j) * D;
                double vn = 0;
                for (int d = 0; d < D; d++) vn += (double)vj[d] * vj[d];
                a = (a + (float)o->epsilon) * (float)sqrt(vn);
            }
            sc[ns + j] = a;
            top = a > top ? a : top;
        }
    }
    for (int hk = 0; hk < in->Hkv; hk++)
        for (int j = 0; j < ns; j++) scores[(size_t)hk * S + j] = top + 1.0f;
done:
    free(cbar);
    free(tmp);
    free(covr);
    free(kc);
    free(logit);
    return e;
}
