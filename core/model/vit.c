/* vit.c: the shared parts of the vision towers (see vit.h). */
#include "core/model/vit.h"
#include "kernels/wpack.h"

#include "core/model/weights.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FC_VIT_NAME_MAX 256

fc_err fc_vit_get_weight(fc_tensor *out, const fc_st_model *st, const char *prefix, const char *name, int ndim,
                         const int64_t *shape) {
    char full[FC_VIT_NAME_MAX];
    if (snprintf(full, sizeof full, "%s%s", prefix, name) >= (int)sizeof full)
        return fc_err_set(FC_EINVAL, "tensor name '%s%s' is too long", prefix, name);
    return fc_weights_get(st, full, ndim, shape, false, out);
}

const char *fc_vit_find_prefix(const fc_st_model *st, const char *const *prefixes, const char *probe) {
    const char *found = fc_weights_find_prefix(st, prefixes, probe);
    if (found) return found;
    char tried[512] = "";
    size_t used = 0;
    for (int i = 0; prefixes[i]; i++) {
        int n = snprintf(tried + used, sizeof tried - used, "%s'%s%s'", i ? ", " : "", prefixes[i], probe);
        if (n > 0 && (size_t)n < sizeof tried - used) used += (size_t)n;
    }
    fc_err_set(FC_ENOTFOUND, "%s: none of the tensors %s is present", st->dir ? st->dir : "checkpoint", tried);
    return NULL;
}

fc_err fc_vit_layer_load(fc_vit_layer *l, const fc_st_model *st, const char *prefix, const fc_vit_dims *d) {
    const int64_t C = d->C, F = d->F;
    const int64_t vC[1] = {C}, vF[1] = {F}, mCC[2] = {C, C}, mFC[2] = {F, C}, mCF[2] = {C, F};
    struct {
        fc_tensor *t;
        const char *name;
        int ndim;
        const int64_t *shape;
    } w[] = {
        {&l->ln1_w, "layer_norm1.weight", 1, vC},      {&l->ln1_b, "layer_norm1.bias", 1, vC},
        {&l->q_w, "self_attn.q_proj.weight", 2, mCC},  {&l->q_b, "self_attn.q_proj.bias", 1, vC},
        {&l->k_w, "self_attn.k_proj.weight", 2, mCC},  {&l->k_b, "self_attn.k_proj.bias", 1, vC},
        {&l->v_w, "self_attn.v_proj.weight", 2, mCC},  {&l->v_b, "self_attn.v_proj.bias", 1, vC},
        {&l->o_w, "self_attn.out_proj.weight", 2, mCC}, {&l->o_b, "self_attn.out_proj.bias", 1, vC},
        {&l->ln2_w, "layer_norm2.weight", 1, vC},      {&l->ln2_b, "layer_norm2.bias", 1, vC},
        {&l->fc1_w, "mlp.fc1.weight", 2, mFC},         {&l->fc1_b, "mlp.fc1.bias", 1, vF},
        {&l->fc2_w, "mlp.fc2.weight", 2, mCF},         {&l->fc2_b, "mlp.fc2.bias", 1, vC},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        FC_TRY(fc_vit_get_weight(w[i].t, st, prefix, w[i].name, w[i].ndim, w[i].shape));
    return FC_OK;
}

fc_err fc_vit_layer_pack(fc_vit_layer *l) {
    fc_tensor *ws[] = {&l->q_w, &l->k_w, &l->v_w, &l->o_w, &l->fc1_w, &l->fc2_w};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) FC_TRY(fc_wpack_tensor(ws[i]));
    return FC_OK;
}

void fc_vit_layer_release(fc_vit_layer *l) {
    fc_tensor *ws[] = {&l->q_w, &l->k_w, &l->v_w, &l->o_w, &l->fc1_w, &l->fc2_w};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) fc_wpack_release(ws[i]);
}

fc_err fc_vit_scratch_create(fc_vit_scratch *s, int64_t T, const fc_vit_dims *d) {
    memset(s, 0, sizeof *s);
    s->T = T;
    const int64_t tc[2] = {T, d->C}, tf[2] = {T, d->F};
    fc_tensor *tcs[] = {&s->h, &s->q, &s->k, &s->v, &s->attn};
    for (size_t i = 0; i < sizeof tcs / sizeof tcs[0]; i++) {
        fc_err e = fc_tensor_create(tcs[i], FC_DTYPE_F32, FC_DEVICE_CPU, 2, tc);
        if (e) {
            fc_vit_scratch_free(s);
            return fc_err_prefix(e, "vision encoder activations for %lld tokens", (long long)T);
        }
    }
    fc_err e = fc_tensor_create(&s->mlp, FC_DTYPE_F32, FC_DEVICE_CPU, 2, tf);
    if (e) {
        fc_vit_scratch_free(s);
        return fc_err_prefix(e, "vision encoder activations for %lld tokens", (long long)T);
    }
    return FC_OK;
}

void fc_vit_scratch_free(fc_vit_scratch *s) {
    if (!s) return;
    fc_tensor_free(&s->h);
    fc_tensor_free(&s->q);
    fc_tensor_free(&s->k);
    fc_tensor_free(&s->v);
    fc_tensor_free(&s->attn);
    fc_tensor_free(&s->mlp);
}

fc_err fc_vit_layer_fwd(const fc_vit_layer *l, const fc_vit_dims *d, fc_tensor *x, fc_vit_scratch *s) {
    const int64_t T = x->shape[0];
    FC_ASSERT(x->ndim == 2 && T == s->T && x->shape[1] == d->C);
    /* attention heads are views of the (T, C) projections: column j*D.. of row t is head j */
    const int64_t thd[3] = {T, d->H, d->D};
    fc_tensor q3 = fc_tensor_view(s->q.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, thd);
    fc_tensor k3 = fc_tensor_view(s->k.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, thd);
    fc_tensor v3 = fc_tensor_view(s->v.data, FC_DTYPE_F32, FC_DEVICE_CPU, 3, thd);

    FC_TRY(fc_op_layernorm(&s->h, x, &l->ln1_w, &l->ln1_b, d->eps));
    FC_TRY(fc_op_linear(&s->q, &s->h, &l->q_w, &l->q_b));
    FC_TRY(fc_op_linear(&s->k, &s->h, &l->k_w, &l->k_b));
    FC_TRY(fc_op_linear(&s->v, &s->h, &l->v_w, &l->v_b));
    FC_TRY(fc_op_attention(&s->attn, &q3, &k3, &v3, 1.0f / sqrtf((float)d->D), false));
    FC_TRY(fc_op_linear(&s->h, &s->attn, &l->o_w, &l->o_b));
    FC_TRY(fc_op_add(x, x, &s->h));

    FC_TRY(fc_op_layernorm(&s->h, x, &l->ln2_w, &l->ln2_b, d->eps));
    FC_TRY(fc_op_linear(&s->mlp, &s->h, &l->fc1_w, &l->fc1_b));
    FC_TRY(fc_op_act(&s->mlp, &s->mlp, d->act));
    FC_TRY(fc_op_linear(&s->h, &s->mlp, &l->fc2_w, &l->fc2_b));
    FC_TRY(fc_op_add(x, x, &s->h));
    return FC_OK;
}

fc_err fc_vit_check_act(const fc_tensor *t, const char *what, int ndim, const int64_t *shape) {
    if (t->device != FC_DEVICE_CPU || t->dtype != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "%s: expected an f32 CPU tensor, got %s on %s", what,
                          fc_dtype_name(t->dtype), fc_device_name(t->device));
    bool ok = t->ndim == ndim && t->data != NULL;
    for (int i = 0; ok && i < ndim; i++)
        if (shape[i] >= 0 && t->shape[i] != shape[i]) ok = false;
    if (!ok) {
        char got[96], want[96];
        fc_shape_str(got, sizeof got, t->ndim, t->shape);
        fc_shape_str(want, sizeof want, ndim, shape);
        return fc_err_set(FC_ESHAPE, "%s: shape %s, expected %s", what, got, want);
    }
    return FC_OK;
}

fc_err fc_vit_patchify(fc_tensor *out, const fc_tensor *pixels, int P, int h, int w) {
    if (P <= 0 || h <= 0 || w <= 0)
        return fc_err_set(FC_EINVAL, "patchify: patch size %d and grid %dx%d must be positive", P, h, w);
    const int64_t px_shape[3] = {3, (int64_t)h * P, (int64_t)w * P};
    const int64_t out_shape[2] = {(int64_t)h * w, 3 * (int64_t)P * P};
    FC_TRY(fc_vit_check_act(pixels, "pixels", 3, px_shape));
    FC_TRY(fc_vit_check_act(out, "patches", 2, out_shape));
    const float *src = pixels->data;
    float *dst = out->data;
    const int64_t W = (int64_t)w * P, HW = (int64_t)h * P * W, K = 3 * (int64_t)P * P;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < (int64_t)h * w; p++) {
        const int64_t r = p / w, c = p % w;
        float *row = dst + p * K;
        for (int ch = 0; ch < 3; ch++)
            for (int ky = 0; ky < P; ky++)
                memcpy(row + ((int64_t)ch * P + ky) * P, src + ch * HW + (r * P + ky) * W + c * P,
                       (size_t)P * sizeof(float));
    }
    return FC_OK;
}
