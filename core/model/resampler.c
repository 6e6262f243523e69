/* resampler.c: MiniCPM-V-2.6's resampler (see resampler.h). */
#include "core/model/resampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/vit.h"
#include "kernels/ops.h"
#include "kernels/wpack.h"

static const char *const k_res_prefixes[] = {"resampler.", NULL};

/* A (rows, D) view of `rows` consecutive rows of a 2-D or 1-D weight starting at row `first`. */
static fc_tensor row_block(const fc_tensor *t, int64_t first, int64_t rows, int64_t D, int ndim) {
    size_t es = fc_dtype_size(t->dtype);
    size_t row_elems = ndim == 2 ? (size_t)D : 1;
    const int64_t shape[2] = {rows, D};
    const int64_t vshape[1] = {rows};
    return fc_tensor_view((char *)t->data + (size_t)first * row_elems * es, t->dtype, t->device, ndim,
                          ndim == 2 ? shape : vshape);
}

/* proj_t = proj^T in proj's own dtype (the checkpoint keeps `x @ proj`; our linear wants [out, in]). */
static fc_err transpose_proj(fc_tensor *dst, const fc_tensor *src) {
    const int64_t D = src->shape[0];
    FC_TRY(fc_tensor_create(dst, src->dtype, FC_DEVICE_CPU, 2, src->shape));
    const size_t es = fc_dtype_size(src->dtype);
    const char *s = src->data;
    char *d = dst->data;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < D; j++)
        for (int64_t i = 0; i < D; i++) memcpy(d + ((size_t)j * D + i) * es, s + ((size_t)i * D + j) * es, es);
    return FC_OK;
}

static fc_err resampler_load_weights(fc_resampler *r, const fc_st_model *st) {
    const char *pre = fc_vit_find_prefix(st, k_res_prefixes, "kv_proj.weight");
    if (!pre) return FC_ENOTFOUND;
    const int64_t D = r->D;
    const int64_t qd[2] = {r->n_queries, D}, kv[2] = {D, r->kv_dim}, in_w[2] = {3 * D, D}, in_b[1] = {3 * D},
                  dd[2] = {D, D}, vd[1] = {D};
    fc_tensor in_proj_w, in_proj_b, proj;
    FC_TRY(fc_vit_get_weight(&r->query, st, pre, "query", 2, qd));
    FC_TRY(fc_vit_get_weight(&r->kv_proj, st, pre, "kv_proj.weight", 2, kv));
    FC_TRY(fc_vit_get_weight(&in_proj_w, st, pre, "attn.in_proj_weight", 2, in_w));
    FC_TRY(fc_vit_get_weight(&in_proj_b, st, pre, "attn.in_proj_bias", 1, in_b));
    FC_TRY(fc_vit_get_weight(&r->out_w, st, pre, "attn.out_proj.weight", 2, dd));
    FC_TRY(fc_vit_get_weight(&r->out_b, st, pre, "attn.out_proj.bias", 1, vd));
    struct {
        fc_tensor *t;
        const char *name;
    } ln[] = {{&r->ln_q_w, "ln_q.weight"},   {&r->ln_q_b, "ln_q.bias"},       {&r->ln_kv_w, "ln_kv.weight"},
              {&r->ln_kv_b, "ln_kv.bias"},   {&r->ln_post_w, "ln_post.weight"}, {&r->ln_post_b, "ln_post.bias"}};
    for (size_t i = 0; i < sizeof ln / sizeof ln[0]; i++) FC_TRY(fc_vit_get_weight(ln[i].t, st, pre, ln[i].name, 1, vd));
    FC_TRY(fc_vit_get_weight(&proj, st, pre, "proj", 2, dd));
    /* nn.MultiheadAttention packs q, k, v projections as row blocks of in_proj_weight / in_proj_bias */
    r->wq = row_block(&in_proj_w, 0, D, D, 2);
    r->wk = row_block(&in_proj_w, D, D, D, 2);
    r->wv = row_block(&in_proj_w, 2 * D, D, D, 2);
    r->bq = row_block(&in_proj_b, 0, D, D, 1);
    r->bk = row_block(&in_proj_b, D, D, D, 1);
    r->bv = row_block(&in_proj_b, 2 * D, D, D, 1);
    FC_TRY(transpose_proj(&r->proj_t, &proj));
    /* --precision bf16: the six linears packed once (kernels/wpack.h); nothing with f32 */
    fc_tensor *ws[] = {&r->kv_proj, &r->wq, &r->wk, &r->wv, &r->out_w, &r->proj_t};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) FC_TRY(fc_wpack_tensor(ws[i]));
    return FC_OK;
}

fc_err fc_resampler_load(fc_resampler **out, const fc_st_model *st, const fc_model_config *cfg) {
    *out = NULL;
    const int D = cfg->text.hidden_size;
    if (D <= 0 || D % FC_RESAMPLER_HEAD_DIM)
        return fc_err_set(FC_EINVAL, "config: hidden_size %d: the resampler needs a multiple of %d (heads = D / %d)",
                          D, FC_RESAMPLER_HEAD_DIM, FC_RESAMPLER_HEAD_DIM);
    if (cfg->query_num <= 0) return fc_err_set(FC_EINVAL, "config: query_num %d must be positive", cfg->query_num);
    if (!cfg->vision.present || cfg->vision.hidden_size <= 0)
        return fc_err_set(FC_EINVAL, "config: the resampler needs vision_config.hidden_size");
    fc_resampler *r = fc_calloc(1, sizeof *r, "resampler");
    if (!r) return FC_ENOMEM;
    r->D = D;
    r->kv_dim = cfg->vision.hidden_size;
    r->n_queries = cfg->query_num;
    r->n_heads = D / FC_RESAMPLER_HEAD_DIM;
    r->eps = 1e-6f; /* resampler.py: norm_layer = partial(nn.LayerNorm, eps=1e-6) */
    fc_err e = resampler_load_weights(r, st);
    if (e) {
        fc_resampler_free(r);
        return e;
    }
    *out = r;
    return FC_OK;
}

void fc_resampler_free(fc_resampler *r) {
    if (!r) return;
    fc_tensor *ws[] = {&r->kv_proj, &r->wq, &r->wk, &r->wv, &r->out_w, &r->proj_t};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) fc_wpack_release(ws[i]);
    fc_tensor_free(&r->proj_t);
    free(r);
}

fc_err fc_resampler_sincos(float *pos, int h, int w, int D) {
    const int D4 = D / 4;
    float *omega = fc_malloc((size_t)(D4 > 0 ? D4 : 1) * sizeof *omega, "resampler sincos");
    if (!omega) return FC_ENOMEM;
    /* numpy float32: omega = arange(D4) / D4; omega = 1 / 10000**omega */
    for (int k = 0; k < D4; k++) omega[k] = 1.0f / powf(10000.0f, (float)k / (float)D4);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)h * w; p++) {
        const float r = (float)(p / w), c = (float)(p % w);
        float *row = pos + p * D;
        for (int k = 0; k < D4; k++) {
            const float ac = c * omega[k], ar = r * omega[k];
            row[k] = sinf(ac);
            row[D4 + k] = cosf(ac);
            row[2 * D4 + k] = sinf(ar);
            row[3 * D4 + k] = cosf(ar);
        }
    }
    free(omega);
    return FC_OK;
}

fc_err fc_resampler_encode(const fc_resampler *r, const fc_tensor *x, int h, int w, fc_tensor *out) {
    if (h < 1 || w < 1 || (int64_t)h * w > (int64_t)1 << 24)
        return fc_err_set(FC_EINVAL, "resampler: patch grid %dx%d", h, w);
    const int64_t n = (int64_t)h * w, D = r->D, Q = r->n_queries, H = r->n_heads, HD = FC_RESAMPLER_HEAD_DIM;
    const int64_t xs[2] = {n, r->kv_dim}, os[2] = {Q, D}, nd[2] = {n, D}, qd[2] = {Q, D};
    FC_TRY(fc_vit_check_act(x, "resampler: input", 2, xs));
    FC_TRY(fc_vit_check_act(out, "resampler: output", 2, os));
    /* one block: kv, kp, K, V (n, D) then q, Qp, attn, o (Q, D) */
    fc_tensor buf = {0};
    const int64_t total[1] = {(4 * n + 4 * Q) * D};
    FC_TRY(fc_tensor_create(&buf, FC_DTYPE_F32, FC_DEVICE_CPU, 1, total));
    float *p = buf.data;
    fc_tensor kv = fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 2, nd);
    fc_tensor kp = fc_tensor_view(p + n * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, nd);
    fc_tensor K = fc_tensor_view(p + 2 * n * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, nd);
    fc_tensor V = fc_tensor_view(p + 3 * n * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, nd);
    float *pq = p + 4 * n * D;
    fc_tensor q = fc_tensor_view(pq, FC_DTYPE_F32, FC_DEVICE_CPU, 2, qd);
    fc_tensor Qp = fc_tensor_view(pq + Q * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, qd);
    fc_tensor attn = fc_tensor_view(pq + 2 * Q * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, qd);
    fc_tensor o = fc_tensor_view(pq + 3 * Q * D, FC_DTYPE_F32, FC_DEVICE_CPU, 2, qd);
    const int64_t q3[3] = {Q, H, HD}, k3[3] = {n, H, HD};
    fc_tensor Q3 = fc_tensor_view(Qp.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, q3);
    fc_tensor K3 = fc_tensor_view(K.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, k3);
    fc_tensor V3 = fc_tensor_view(V.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, k3);

    fc_err e = fc_op_linear(&kv, x, &r->kv_proj, NULL);
    if (!e) e = fc_op_layernorm(&kv, &kv, &r->ln_kv_w, &r->ln_kv_b, r->eps);
    if (!e) e = fc_resampler_sincos(kp.data, h, w, (int)D);
    if (!e) e = fc_op_add(&kp, &kp, &kv);
    if (!e) e = fc_op_linear(&K, &kp, &r->wk, &r->bk);
    if (!e) e = fc_op_linear(&V, &kv, &r->wv, &r->bv);
    if (!e) e = fc_tensor_copy(&q, &r->query);
    if (!e) e = fc_op_layernorm(&q, &q, &r->ln_q_w, &r->ln_q_b, r->eps);
    if (!e) e = fc_op_linear(&Qp, &q, &r->wq, &r->bq);
    if (!e) e = fc_op_attention(&attn, &Q3, &K3, &V3, 1.0f / sqrtf((float)HD), false);
    if (!e) e = fc_op_linear(&o, &attn, &r->out_w, &r->out_b);
    if (!e) e = fc_op_layernorm(&o, &o, &r->ln_post_w, &r->ln_post_b, r->eps);
    if (!e) e = fc_op_linear(out, &o, &r->proj_t, NULL);
    fc_tensor_free(&buf);
    return e;
}
