/* ccm_grad.c: the CCM window MLPs in training: forward over one sample's prefix with the activations the
 * backward needs, and the backward into the compressor's flat gradient (ccm_train.h).
 *
 * Same function as ccm.c's inference forward (reference/fastcache-compressor-spec.md §1.1): per segment,
 * n = len / cf windows (raw whole when n < min_windows or n == 0), window w of kv head hd = the cf*D
 * consecutive floats of rows w*cf.. of that head, so the first Linear reads the [Hkv, S, D] cache in place,
 * one sgemm per head; the hidden layers then run over all Hkv * n rows at once. Hidden layer j keeps
 * A_j = dropout(relu(Z_j)) (the next Linear's input) and a gate byte per element (Z_j > 0 and kept), which
 * is all its backward needs: dZ_j = dA_j * gate * 1/(1-p). The raw remainder rows carry no parameters.
 *
 * Saved bytes per (layer, K/V): Hkv * windows * hidden * (depth - 1) floats and as many gate bytes.
 * Dropout masks are drawn in a fixed order (layer, K then V, segment, hidden layer, row, column) from the
 * compressor's RNG, so a step is reproducible from the RNG state alone.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "core/base/mem.h"
#include "kernels/cpu/cpu.h"

fc_err fc_ag_grow(void *pp, size_t *cap, size_t n, size_t size, const char *what) {
    void **p = pp;
    if (n <= *cap && *p) return FC_OK;
    size_t bytes;
    if (!fc_mul_size(n ? n : 1, size, &bytes))
        return fc_err_set(FC_ENOMEM, "%s: %zu elements of %zu bytes overflow", what, n, size);
    free(*p);
    *p = NULL;
    *cap = 0;
    *p = fc_malloc(bytes, what);
    if (!*p) return FC_ENOMEM;
    *cap = n ? n : 1;
    return FC_OK;
}

/* The window MLP's matrices are narrow (out = hidden or D, ~128) and tall (rows = Hkv x windows, thousands):
 * the generic linear kernels split work over weight rows and would run them on one or a few threads, so
 * the GEMMs here split over rows (forward, dA) or over input columns (dW) instead, each piece one
 * single-threaded sgemm. Every output element is computed by one thread in a fixed order: the results do
 * not depend on the thread count. "Groups" are the kv heads for the first Linear, whose input rows are
 * read in place from each head's [S, D] cache (group g's rows start at x + g * gstride). */

/* y (G * M, N) = x_g (M, K, row stride K) W^T + b for each group g */
static void fwd_linear(float *y, const float *x, size_t gstride, int G, int M, const float *w, const float *b, int N,
                       int K) {
    int chunk = M > 64 ? 64 : M, per = (M + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if ((int64_t)G * M * N * K > 65536)
    for (int it = 0; it < G * per; it++) {
        int g = it / per, r0 = (it % per) * chunk, m = M - r0 < chunk ? M - r0 : chunk;
        float *yo = y + ((size_t)g * M + r0) * N;
        for (int r = 0; r < m; r++) memcpy(yo + (size_t)r * N, b, sizeof(float) * N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, N, K, 1.0f, x + g * gstride + (size_t)r0 * K, K, w,
                    K, 1.0f, yo, N);
    }
}

/* dw (N, K) += sum over groups of dz_g^T (N x M) x_g (M x K); db (N) += column sums of dz (G * M rows) */
static void bwd_weight(float *dw, float *db, const float *dz, const float *x, size_t gstride, int G, int M, int N,
                       int K) {
    int kb = K > 64 ? 64 : K, n_sl = (K + kb - 1) / kb;
#pragma omp parallel for schedule(static) if ((int64_t)G * M * N * K > 65536)
    for (int sl = 0; sl < n_sl; sl++) {
        int k0 = sl * kb, k = K - k0 < kb ? K - k0 : kb;
        for (int g = 0; g < G; g++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, k, M, 1.0f, dz + (size_t)g * M * N, N,
                        x + g * gstride + k0, K, 1.0f, dw + k0, K);
    }
    for (size_t r = 0; r < (size_t)G * M; r++)
        for (int c = 0; c < N; c++) db[c] += dz[r * N + c];
}

/* da (M, K) = dz (M, N) W (N, K) */
static void bwd_input(float *da, const float *dz, const float *w, int M, int N, int K) {
    int chunk = M > 64 ? 64 : M, per = (M + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if ((int64_t)M * N * K > 65536)
    for (int it = 0; it < per; it++) {
        int r0 = it * chunk, m = M - r0 < chunk ? M - r0 : chunk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, K, N, 1.0f, dz + (size_t)r0 * N, N, w, K, 0.0f,
                    da + (size_t)r0 * K, K);
    }
}

void fc_ag_ccm_free(fc_ag_ccm *s) {
    if (!s) return;
    free(s->segs);
    free(s->out_pos);
    free(s->n_win);
    free(s->act_off);
    free(s->acts);
    free(s->gates);
    free(s->y);
    free(s->da);
    free(s->db_);
    memset(s, 0, sizeof *s);
}

fc_err fc_ag_ccm_plan(fc_ag_ccm *s, const fc_ccm_train *c, fc_ccm_seg_rule rule, int S, int Hkv,
                      const fc_compress_span *spans, int n_spans, int n_layers) {
    const fc_ccm_config *g = &c->cfg;
    if (rule != FC_CCM_SEG_WHOLE && n_spans > 0 && !g->has_image)
        return fc_err_set(FC_EINVAL, "ccm: segment rule '%s' needs image MLPs; this compressor (%s) has none",
                          fc_ccm_seg_rule_name(rule), g->family);
    size_t ns_max = 2 * (size_t)n_spans + 1;
    if (ns_max > s->cap_segs) {
        size_t cap = 0;
        FC_TRY(fc_ag_grow(&s->segs, &cap, ns_max, sizeof *s->segs, "ccm segments"));
        cap = 0;
        FC_TRY(fc_ag_grow(&s->out_pos, &cap, ns_max, sizeof *s->out_pos, "ccm segments"));
        cap = 0;
        FC_TRY(fc_ag_grow(&s->n_win, &cap, ns_max, sizeof *s->n_win, "ccm segments"));
        cap = 0;
        FC_TRY(fc_ag_grow(&s->act_off, &cap, ns_max, sizeof *s->act_off, "ccm segments"));
        s->cap_segs = ns_max;
    }
    int ns = fc_ccm_segments(rule, S, spans, n_spans, s->segs);
    if (ns < 0) return fc_err_prefix(FC_EINVAL, "ccm");
    s->S = S, s->Hkv = Hkv, s->n_segs = ns;
    int pos = 0, max_rows = 0;
    size_t off = 0;
    for (int i = 0; i < ns; i++) {
        int len = s->segs[i].len, n = len / g->cf;
        if (n < g->min_windows || n == 0) n = 0;
        s->n_win[i] = n;
        s->out_pos[i] = pos;
        s->act_off[i] = off;
        pos += n ? n + len % g->cf : len;
        off += (size_t)Hkv * n * g->hidden * (g->depth - 1);
        if (Hkv * n > max_rows) max_rows = Hkv * n;
    }
    s->C = pos;
    s->per_lkv = off;
    s->max_rows = max_rows;
    size_t total = off * 2 * (size_t)n_layers;
    FC_TRY(fc_ag_grow(&s->acts, &s->cap_acts, total, sizeof(float), "ccm activations"));
    FC_TRY(fc_ag_grow(&s->gates, &s->cap_gates, total, 1, "ccm activations"));
    FC_TRY(fc_ag_grow(&s->y, &s->cap_y, (size_t)max_rows * g->head_dim, sizeof(float), "ccm scratch"));
    size_t cap_db = s->cap_da;
    FC_TRY(fc_ag_grow(&s->da, &s->cap_da, (size_t)max_rows * g->hidden, sizeof(float), "ccm scratch"));
    FC_TRY(fc_ag_grow(&s->db_, &cap_db, (size_t)max_rows * g->hidden, sizeof(float), "ccm scratch"));
    return FC_OK;
}

/* One segment's MLP for one of K/V: x (Hkv, S, D) -> out (Hkv, C, D). */
static fc_err mlp_forward(fc_ag_ccm *s, fc_ccm_train *c, int l, fc_ccm_kind kind, int seg, int kv, const float *x,
                          float *out, bool dropout) {
    const fc_ccm_config *g = &c->cfg;
    const int D = g->head_dim, cf = g->cf, H = g->hidden, Hkv = s->Hkv, S = s->S, C = s->C;
    const fc_ccm_segment *sg = &s->segs[seg];
    int n = s->n_win[seg], op = s->out_pos[seg];
    int done = n * cf;
    for (int hd = 0; hd < Hkv; hd++) /* the raw rows: remainder, or the whole segment */
        memcpy(out + ((size_t)hd * C + op + n) * D, x + ((size_t)hd * S + sg->start + done) * D,
               sizeof(float) * (size_t)(sg->len - done) * D);
    if (n == 0) return FC_OK;
    if (!fc_ccm_train_weight(c, l, kind, 0, 0))
        return fc_err_set(FC_EINVAL, "ccm: layer %d has no '%s' MLP", l, fc_ccm_kind_name(kind));
    int rows = Hkv * n;
    float *acts = s->acts + ((size_t)l * 2 + kv) * s->per_lkv + s->act_off[seg];
    uint8_t *gates = s->gates + ((size_t)l * 2 + kv) * s->per_lkv + s->act_off[seg];
    float p = dropout ? c->dropout : 0.0f, scale = 1.0f / (1.0f - p);
    for (int j = 0; j < g->depth; j++) {
        bool last = j == g->depth - 1;
        int dout = last ? D : H;
        float *w = fc_ccm_train_weight(c, l, kind, j, 0), *b = fc_ccm_train_bias(c, l, kind, j, 0);
        float *z = last ? s->y : acts + (size_t)j * rows * H;
        if (j == 0) /* window rows of head hd: n x cf*D consecutive floats of its cache */
            fwd_linear(z, x + (size_t)sg->start * D, (size_t)S * D, Hkv, n, w, b, dout, cf * D);
        else
            fwd_linear(z, acts + (size_t)(j - 1) * rows * H, 0, 1, rows, w, b, dout, H);
        if (!last) {
            uint8_t *gt = gates + (size_t)j * rows * H;
            for (size_t i = 0; i < (size_t)rows * H; i++) {
                bool keep = !dropout || p == 0.0f || fc_ag_rng_uniform(&c->rng) >= p;
                bool on = z[i] > 0.0f && keep;
                gt[i] = on;
                z[i] = on ? z[i] * scale : 0.0f;
            }
        }
    }
    for (int hd = 0; hd < Hkv; hd++)
        memcpy(out + ((size_t)hd * C + op) * D, s->y + (size_t)hd * n * D, sizeof(float) * (size_t)n * D);
    return FC_OK;
}

fc_err fc_ag_ccm_forward(fc_ag_ccm *s, fc_ccm_train *c, int l, const float *k, const float *v, float *kc, float *vc,
                         bool dropout) {
    fc_cpu_blas_init();
    for (int kv = 0; kv < 2; kv++)
        for (int i = 0; i < s->n_segs; i++) {
            fc_ccm_kind kind = s->segs[i].image ? (kv ? FC_CCM_IV : FC_CCM_IK) : (kv ? FC_CCM_TV : FC_CCM_TK);
            FC_TRY(mlp_forward(s, c, l, kind, i, kv, kv ? v : k, kv ? vc : kc, dropout));
        }
    return FC_OK;
}

static fc_err mlp_backward(fc_ag_ccm *s, fc_ccm_train *c, int l, fc_ccm_kind kind, int seg, int kv, const float *x,
                           const float *dout_full, bool dropout) {
    const fc_ccm_config *g = &c->cfg;
    const int D = g->head_dim, cf = g->cf, H = g->hidden, Hkv = s->Hkv, S = s->S, C = s->C;
    int n = s->n_win[seg], op = s->out_pos[seg];
    if (n == 0) return FC_OK;
    int rows = Hkv * n;
    const float *acts = s->acts + ((size_t)l * 2 + kv) * s->per_lkv + s->act_off[seg];
    const uint8_t *gates = s->gates + ((size_t)l * 2 + kv) * s->per_lkv + s->act_off[seg];
    float p = dropout ? c->dropout : 0.0f, scale = 1.0f / (1.0f - p);
    for (int hd = 0; hd < Hkv; hd++) /* dY rows, head-major like Y */
        memcpy(s->y + (size_t)hd * n * D, dout_full + ((size_t)hd * C + op) * D, sizeof(float) * (size_t)n * D);
    float *dz = s->y, *other = s->da;
    for (int j = g->depth - 1; j >= 0; j--) {
        int dz_cols = j == g->depth - 1 ? D : H;
        float *w = fc_ccm_train_weight(c, l, kind, j, 0);
        float *dw = fc_ccm_train_weight(c, l, kind, j, 1), *db = fc_ccm_train_bias(c, l, kind, j, 1);
        if (j == 0) {
            bwd_weight(dw, db, dz, x + (size_t)s->segs[seg].start * D, (size_t)S * D, Hkv, n, dz_cols, cf * D);
        } else {
            /* dA_{j-1} = dZ_j W_j into `other`, then through dropout and ReLU in place */
            bwd_weight(dw, db, dz, acts + (size_t)(j - 1) * rows * H, 0, 1, rows, dz_cols, H);
            bwd_input(other, dz, w, rows, dz_cols, H);
            const uint8_t *gt = gates + (size_t)(j - 1) * rows * H;
            for (size_t i = 0; i < (size_t)rows * H; i++) other[i] = gt[i] ? other[i] * scale : 0.0f;
            float *t = dz == s->y ? s->db_ : dz; /* next dZ buffer must not be the one just read */
            dz = other;
            other = t;
        }
    }
    return FC_OK;
}

fc_err fc_ag_ccm_backward(fc_ag_ccm *s, fc_ccm_train *c, int l, const float *k, const float *v, const float *dkc,
                          const float *dvc, bool dropout) {
    fc_cpu_blas_init();
    for (int kv = 0; kv < 2; kv++)
        for (int i = 0; i < s->n_segs; i++) {
            fc_ccm_kind kind = s->segs[i].image ? (kv ? FC_CCM_IV : FC_CCM_IK) : (kv ? FC_CCM_TV : FC_CCM_TK);
            FC_TRY(mlp_backward(s, c, l, kind, i, kv, kv ? v : k, kv ? dvc : dkc, dropout));
        }
    return FC_OK;
}
