/* select.c: top-k per kv head with a stated tie rule, kept indices in causal order, and the K/V gather. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/compress/internal.h"

/* qsort_r comparator: score descending, then index ascending. Our tie rule: torch.topk leaves the order of
 * equal scores unspecified, so a fixed rule is the best we can promise (compress.h). */
static int cmp_desc(const void *a, const void *b, void *ctx) {
    const float *s = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (s[i] > s[j]) return -1;
    if (s[i] < s[j]) return 1;
    return (i > j) - (i < j);
}

int fc_compress_n_kept(int S, double compression_ratio) {
    if (compression_ratio >= 1.0) return 0;
    int n = (int)((double)S * (1.0 - compression_ratio)); /* int() truncates toward zero, as Python's */
    return n < 1 ? 1 : n;
}

fc_err fc_compress_select(const fc_compress_inputs *in, const float *scores, const uint8_t *cand, int n_sel,
                          fc_compress_output *out) {
    const int S = in->S, D = in->D;
    int n_cand = 0;
    for (int j = 0; j < S; j++) n_cand += cand ? cand[j] != 0 : 1;
    if (n_sel > n_cand) n_sel = n_cand;
    if (n_sel < 0) n_sel = 0;
    int32_t *order = fc_malloc(sizeof(int32_t) * (size_t)(S > 0 ? S : 1), "compress select");
    uint8_t *keep = fc_malloc((size_t)(S > 0 ? S : 1), "compress select");
    if (!order || !keep) {
        free(order), free(keep);
        return FC_ENOMEM;
    }
    fc_err e = FC_OK;
    int n_out = S - n_cand + n_sel;
    for (int h = 0; h < in->Hkv && e == FC_OK; h++) {
        const float *sc = scores + (size_t)h * S;
        int m = 0;
        for (int j = 0; j < S; j++) {
            if (isnan(sc[j])) {
                e = fc_err_set(FC_EINVAL, "layer %d: kv head %d: score of token %d is NaN (non-finite K, V or "
                               "queries?)", in->layer, h, j);
                break;
            }
            keep[j] = cand && !cand[j];
            if (!keep[j]) order[m++] = j;
        }
        if (e) break;
        qsort_r(order, (size_t)m, sizeof(int32_t), cmp_desc, (void *)sc);
        for (int r = 0; r < n_sel; r++) keep[order[r]] = 1;
        int32_t *kept = out->kept + (size_t)h * n_out;
        int c = 0;
        for (int j = 0; j < S; j++)
            if (keep[j]) kept[c++] = j;
        FC_ASSERT(c == n_out);
        const float *kh = in->k + (size_t)h * S * D, *vh = in->v + (size_t)h * S * D;
        float *ko = out->k_out + (size_t)h * n_out * D, *vo = out->v_out + (size_t)h * n_out * D;
        for (int r = 0; r < n_out; r++) {
            memcpy(ko + (size_t)r * D, kh + (size_t)kept[r] * D, sizeof(float) * (size_t)D);
            memcpy(vo + (size_t)r * D, vh + (size_t)kept[r] * D, sizeof(float) * (size_t)D);
        }
    }
    free(order);
    free(keep);
    if (e) return e;
    out->n_out = n_out;
    out->merged = false;
    return FC_OK;
}
