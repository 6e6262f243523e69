/* score_window.c: scorers from the attention of the last prompt queries: SnapKV (and PyramidKV, which
 * scores as SnapKV with a per-layer budget) and TOVA. kvpress 0.5.5 semantics
 * (kvpress/presses/{snapkv,pyramidkv,tova}_press.py, compute_window_attention). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "core/base/mem.h"
#include "core/compress/internal.h"

/* attn [H, W, S]: softmax over keys of the last W queries (q_window's last W rows), with the causal mask of
 * the prompt (query i sits at position S-W+i and sees keys j <= S-W+i), scale 1/sqrt(D); softmax in double
 * accumulation, stored f32 as kvpress's float32 softmax. */
static fc_err window_attention(const fc_compress_inputs *in, int W, float *attn) {
    const int H = in->H, S = in->S, D = in->D, g = in->H / in->Hkv;
    const float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < H; h++) {
        const float *q = in->q_window + ((size_t)h * in->n_window + (size_t)(in->n_window - W)) * D;
        const float *k = in->k + (size_t)(h / g) * S * D;
        float *a = attn + (size_t)h * W * S;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, W, S, D, scale, q, D, k, D, 0.0f, a, S);
        for (int i = 0; i < W; i++) {
            float *row = a + (size_t)i * S;
            int last = S - W + i; /* keys after it are masked */
            float mx = -INFINITY;
            for (int j = 0; j <= last; j++) mx = row[j] > mx ? row[j] : mx;
            double sum = 0;
            for (int j = 0; j <= last; j++) sum += exp((double)row[j] - mx);
            for (int j = 0; j < S; j++) row[j] = j <= last ? (float)(exp((double)row[j] - mx) / sum) : 0.0f;
        }
    }
    return FC_OK;
}

static fc_err need_window(const fc_compress_inputs *in, int W, const char *who) {
    if (in->S <= W)
        return fc_err_set(FC_EINVAL, "%s: layer %d: prefix of %d tokens must be longer than the window of %d "
                          "(kvpress asserts this too)", who, in->layer, in->S, W);
    if (in->n_window < W)
        return fc_err_set(FC_EINVAL, "%s: layer %d: needs the last %d queries, got %d", who, in->layer, W,
                          in->n_window);
    return FC_OK;
}

/* Pads scores [.., n] rows to S with `value` at the end: kvpress's F.pad(scores, (0, W), max + 1). */
static float max_of(const float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

fc_err fc_score_snapkv(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    const int W = o->window, S = in->S, H = in->H, g = in->H / in->Hkv, n = S - W, kk = o->kernel;
    FC_TRY(need_window(in, W, o->beta ? "pyramidkv" : "snapkv")); /* beta: only pyramidkv's table has it */
    size_t na, nm;
    if (!fc_mul_size((size_t)H * W, (size_t)S, &na) || !fc_mul_size((size_t)H, (size_t)n, &nm))
        return fc_err_set(FC_ENOMEM, "snapkv: attention size overflows");
    float *attn = fc_malloc(na * sizeof(float), "snapkv attention");
    float *mean = fc_malloc(nm * sizeof(float), "snapkv scores");
    if (!attn || !mean) {
        free(attn), free(mean);
        return FC_ENOMEM;
    }
    window_attention(in, W, attn);
    for (int h = 0; h < H; h++) /* mean over the window's queries, keys before the window only */
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int i = 0; i < W; i++) s += attn[((size_t)h * W + i) * S + j];
            mean[(size_t)h * n + j] = s / (float)W;
        }
    /* avg_pool1d(kernel, stride 1, padding kernel/2, count_include_pad): zeros beyond the ends count */
    for (int hk = 0; hk < in->Hkv; hk++)
        for (int j = 0; j < n; j++) {
            float acc = 0;
            for (int q = 0; q < g; q++) {
                const float *m = mean + (size_t)(hk * g + q) * n;
                float p = 0;
                for (int t = j - kk / 2; t <= j + kk / 2; t++)
                    if (t >= 0 && t < n) p += m[t];
                acc += p / (float)kk;
            }
            scores[(size_t)hk * S + j] = acc / (float)g;
        }
    float top = -INFINITY;
    for (int hk = 0; hk < in->Hkv; hk++) {
        float m = max_of(scores + (size_t)hk * S, (size_t)n);
        top = m > top ? m : top;
    }
    for (int hk = 0; hk < in->Hkv; hk++) /* the window itself always survives */
        for (int j = n; j < S; j++) scores[(size_t)hk * S + j] = top + 1.0f;
    free(attn);
    free(mean);
    return FC_OK;
}

/* TOVA: attention of the last query, averaged over all query heads, the same for every kv head; the last
 * token itself is padded with max + 1 (kvpress's small departure from TOVA). */
fc_err fc_score_tova(const fc_compress_opts *o, const fc_compress_inputs *in, float *scores) {
    (void)o;
    const int S = in->S, H = in->H;
    FC_TRY(need_window(in, 1, "tova"));
    float *attn = fc_malloc(sizeof(float) * (size_t)H * S, "tova attention");
    if (!attn) return FC_ENOMEM;
    window_attention(in, 1, attn);
    for (int j = 0; j < S - 1; j++) {
        float s = 0;
        for (int h = 0; h < H; h++) s += attn[(size_t)h * S + j];
        scores[j] = s / (float)H;
    }
    float top = max_of(scores, (size_t)S - 1) + 1.0f;
    scores[S - 1] = top;
    for (int hk = 1; hk < in->Hkv; hk++)
        for (int j = 0; j < S; j++) scores[(size_t)hk * S + j] = scores[j];
    free(attn);
    return FC_OK;
}

/* PyramidKVPress.get_layer_budget: more entries in lower layers, the same total as SnapKV at this ratio.
 * Python's round() rounds half to even: rint() in the default rounding mode does the same. */
int fc_budget_pyramid(const fc_compress_opts *o, const fc_compress_inputs *in, int q_len) {
    const double cr = fc_compress_cr(o->ratio), W = o->window;
    if (cr == 0) return q_len; /* kvpress returns the cache untouched at ratio 0 */
    double max_cap = W + q_len * (1 - cr);
    double min_num = (max_cap - W) / o->beta;
    double max_num = (max_cap - W) * 2 - min_num;
    if (max_num >= q_len - W) {
        max_num = q_len - W;
        min_num = (max_cap - W) * 2 - max_num;
    }
    if (!(q_len >= max_num && max_num >= min_num && min_num >= W)) {
        int n = (int)rint(q_len * (1 - cr));
        return n < 1 ? 1 : n;
    }
    double steps = in->n_layers > 1 ? (max_num - min_num) / (in->n_layers - 1) : 0.0;
    return (int)rint(max_num - in->layer * steps);
}
