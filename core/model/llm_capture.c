/* llm_capture.c: prefill captures for the query-aware compression methods (see llm_capture.h): the
 * forward's hooks that record q_window, query statistics and attention sums, and the extras function. */
#include "core/model/llm_capture.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

enum { CAPTURED = FC_NEED_QWINDOW | FC_NEED_QSTATS | FC_NEED_ATTN_SUM };

fc_err fc_llm_capture_create_ext(fc_llm_capture **out, const fc_llm *m, unsigned what, int window, int skip) {
    *out = NULL;
    what &= CAPTURED;
    if (window < 0 || skip < 0 || ((what & FC_NEED_QWINDOW) && window < 1))
        return fc_err_set(FC_EINVAL, "capture: window %d, skip %d (want window >= 1 for q_window, skip >= 0)", window,
                          skip);
    const fc_llm_config *cfg = &m->cfg;
    fc_llm_capture *c = fc_calloc(1, sizeof *c, "capture");
    if (!c) return FC_ENOMEM;
    *c = (fc_llm_capture){.what = what, .window = (what & FC_NEED_QWINDOW) ? window : 0, .skip = skip,
                          .L = cfg->num_layers, .H = cfg->num_heads, .Hkv = cfg->num_kv_heads, .D = cfg->head_dim,
                          .scratch_bytes = FC_LLM_CAPTURE_SCRATCH_DEFAULT};
    size_t L = (size_t)c->L, H = (size_t)c->H, D = (size_t)c->D;
    bool ok = (c->n_keys = fc_calloc(L, sizeof(int), "capture")) &&
              (c->inv_freq = fc_malloc(D / 2 * sizeof(float) + 1, "capture inv_freq"));
    if (ok && (what & FC_NEED_QWINDOW))
        ok = (c->q_window = fc_calloc(L * H * (size_t)c->window * D, sizeof(float), "capture q_window")) != NULL;
    if (ok && (what & FC_NEED_QSTATS))
        ok = (c->mean = fc_calloc(L * H * D, sizeof(float), "capture query mean")) &&
             (c->cov = fc_calloc(L * H * D * D, sizeof(float), "capture query covariance")) &&
             (c->qstats = fc_calloc(L, sizeof(fc_compress_qstats), "capture"));
    if (ok && (what & FC_NEED_ATTN_SUM))
        ok = (c->attn_sum = fc_calloc(L, sizeof(float *), "capture")) &&
             (c->attn_cap = fc_calloc(L, sizeof(int), "capture"));
    if (!ok) {
        fc_llm_capture_free(c);
        return FC_ENOMEM;
    }
    for (size_t l = 0; c->qstats && l < L; l++)
        c->qstats[l] = (fc_compress_qstats){c->H, c->D, c->mean + l * H * D, c->cov + l * H * D * D};
    /* HF _compute_default_rope_parameters, in the f32 order kernels/cpu/rope.c follows */
    for (int i = 0; i < c->D / 2; i++)
        c->inv_freq[i] = 1.0f / (float)pow(cfg->rope_theta, (double)((float)(2 * i) / (float)c->D));
    *out = c;
    return FC_OK;
}

fc_err fc_llm_capture_create(fc_llm_capture **out, const fc_llm *m, const fc_compress_method *method) {
    return fc_llm_capture_create_ext(out, m, fc_compress_needs(method), fc_compress_window(method),
                                     fc_compress_qstats_skip(method));
}

void fc_llm_capture_free(fc_llm_capture *c) {
    if (!c) return;
    for (int l = 0; c->attn_sum && l < c->L; l++) free(c->attn_sum[l]);
    free(c->attn_sum);
    free(c->attn_cap);
    free(c->n_keys);
    free(c->q_window);
    free(c->mean);
    free(c->cov);
    free(c->qstats);
    free(c->inv_freq);
    free(c);
}

fc_err fc_llm_capture_pre_rope(fc_llm_capture *c, int layer, const float *q, int n) {
    if (!(c->what & FC_NEED_QSTATS)) return FC_OK;
    const int H = c->H, D = c->D, N = n - c->skip;
    if (N < 1)
        return fc_err_set(FC_EINVAL, "capture: layer %d: query statistics need more than %d tokens (n_sink), got %d",
                          layer, c->skip, n);
    float *xc = fc_malloc(sizeof(float) * (size_t)N * D, "capture centred queries");
    double *mu = fc_malloc(sizeof(double) * (size_t)D, "capture query mean");
    if (!xc || !mu) {
        free(xc), free(mu);
        return FC_ENOMEM;
    }
    for (int h = 0; h < H; h++) {
        const float *qh = q + ((size_t)c->skip * H + h) * D; /* row t at qh + t * H * D */
        float *mean = c->qstats[layer].mean + (size_t)h * D, *cov = c->qstats[layer].cov + (size_t)h * D * D;
        memset(mu, 0, sizeof(double) * D);
        for (int t = 0; t < N; t++)
            for (int d = 0; d < D; d++) mu[d] += qh[(size_t)t * H * D + d];
        for (int d = 0; d < D; d++) mean[d] = (float)(mu[d] /= N);
        for (int t = 0; t < N; t++)
            for (int d = 0; d < D; d++) xc[(size_t)t * D + d] = (float)(qh[(size_t)t * H * D + d] - mu[d]);
        /* population covariance X^T X / N in f32, as kvpress's f32 einsum; upper triangle, then mirrored */
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, D, N, 1.0f / (float)N, xc, D, 0.0f, cov, D);
        for (int i = 0; i < D; i++)
            for (int j = 0; j < i; j++) cov[(size_t)i * D + j] = cov[(size_t)j * D + i];
    }
    free(xc), free(mu);
    return FC_OK;
}

/* attn_sum[h, j] = sum over the call's queries t of softmax_j(q_t . k_j * scale) under the causal mask by
 * cache index (query t of n sees keys [0, S - n + t]), as HF's eager attention: f32 scores, f32 softmax;
 * the sum over queries in double. k: the layer's keys [S, Hkv, D]. */
static fc_err attn_sums(fc_llm_capture *c, int layer, const float *q, int n, const float *k, int S) {
    const int H = c->H, Hkv = c->Hkv, D = c->D, group = H / Hkv;
    const float scale = 1.0f / sqrtf((float)D);
    /* the scores of `rows` queries at a time (rows x S floats within c->scratch_bytes, at least one row): the
     * same per-query arithmetic in the same order as all n at once, so chunking changes no bit of the sums */
    size_t fit = c->scratch_bytes / (sizeof(float) * (size_t)S);
    int rows = fit < 1 ? 1 : fit < (size_t)n ? (int)fit : n;
    float *p = fc_malloc(sizeof(float) * (size_t)rows * S, "capture attention scores");
    double *acc = fc_malloc(sizeof(double) * (size_t)S, "capture attention sums");
    if (!p || !acc) {
        free(p), free(acc);
        return FC_ENOMEM;
    }
    for (int h = 0; h < H; h++) {
        memset(acc, 0, sizeof(double) * S);
        for (int t0 = 0; t0 < n; t0 += rows) {
            int nr = n - t0 < rows ? n - t0 : rows;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, S, D, 1.0f, q + (size_t)t0 * H * D + (size_t)h * D,
                        H * D, k + (size_t)(h / group) * D, Hkv * D, 0.0f, p, S);
            for (int t = t0; t < t0 + nr; t++) {
                float *r = p + (size_t)(t - t0) * S, mx = -INFINITY, sum = 0.0f;
                int vis = S - n + t + 1;
                for (int j = 0; j < vis; j++) {
                    r[j] *= scale;
                    if (r[j] > mx) mx = r[j];
                }
                for (int j = 0; j < vis; j++) sum += (r[j] = expf(r[j] - mx));
                for (int j = 0; j < vis; j++) acc[j] += r[j] / sum;
            }
        }
        float *dst = c->attn_sum[layer] + (size_t)h * S;
        for (int j = 0; j < S; j++) dst[j] = (float)acc[j];
    }
    free(p), free(acc);
    return FC_OK;
}

fc_err fc_llm_capture_post_rope(fc_llm_capture *c, int layer, const float *q, int n, const fc_kv_pool *kv,
                                fc_kv_handle seq) {
    const int H = c->H, D = c->D;
    int S = fc_kv_seq_layer_len(kv, seq, layer) + n; /* the call's entries are written, not yet committed */
    c->n_keys[layer] = S;
    if (c->what & FC_NEED_QWINDOW) {
        int w = n < c->window ? n : c->window;
        c->n_window = w;
        float *dst = c->q_window + (size_t)layer * H * c->window * D;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < w; i++)
                memcpy(dst + ((size_t)h * w + i) * D, q + ((size_t)(n - w + i) * H + h) * D, sizeof(float) * D);
    }
    if (c->what & FC_NEED_ATTN_SUM) {
        size_t need = (size_t)H * S;
        if (need > INT32_MAX)
            return fc_err_set(FC_ENOMEM, "capture: layer %d: attention sums of %d heads x %d keys", layer, H, S);
        if (need > (size_t)c->attn_cap[layer]) {
            float *a = fc_realloc(c->attn_sum[layer], need * sizeof(float), "capture attn_sum");
            if (!a) return FC_ENOMEM;
            c->attn_sum[layer] = a;
            c->attn_cap[layer] = (int)need;
        }
        size_t row = (size_t)c->Hkv * D;
        float *k = fc_malloc(sizeof(float) * (size_t)S * row, "capture keys");
        if (!k) return FC_ENOMEM;
        for (int j = 0; j < S; j++) memcpy(k + j * row, fc_kv_slot_k(kv, seq, layer, j), row * sizeof(float));
        fc_err e = attn_sums(c, layer, q, n, k, S);
        free(k);
        FC_TRY(e);
    }
    if (layer == c->L - 1) c->done = true;
    return FC_OK;
}

fc_err fc_llm_capture_extras(void *ctx, int layer, fc_compress_inputs *in) {
    fc_llm_capture *c = ctx;
    if (!c) return FC_OK;
    if (layer < 0 || layer >= c->L) return fc_err_set(FC_EINVAL, "capture: layer %d outside [0, %d)", layer, c->L);
    in->H = c->H;
    if (!c->what) return FC_OK;
    if (!c->done)
        return fc_err_set(FC_EINVAL, "capture: layer %d: nothing captured (set fc_llm_seq_input.capture during the "
                          "prefill)", layer);
    if (in->S != c->n_keys[layer])
        return fc_err_set(FC_EINVAL, "capture: layer %d holds %d entries but was captured at %d (the cache changed "
                          "since the prefill)", layer, in->S, c->n_keys[layer]);
    if (c->what & FC_NEED_QWINDOW) {
        in->q_window = c->q_window + (size_t)layer * c->H * c->window * c->D;
        in->n_window = c->n_window;
    }
    if (c->what & FC_NEED_QSTATS) {
        in->qstats = &c->qstats[layer];
        in->inv_freq = c->inv_freq;
        in->rope_scaling = 1.0f;
    }
    if (c->what & FC_NEED_ATTN_SUM) in->attn_sum = c->attn_sum[layer];
    return FC_OK;
}
