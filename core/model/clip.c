/* clip.c: CLIP ViT tower + LLaVA projector (see clip.h). */
#include "core/model/clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "kernels/wpack.h"

static const char *const k_tower_prefixes[] = {"vision_tower.vision_model.", "model.vision_tower.vision_model.",
                                               NULL};
static const char *const k_proj_prefixes[] = {"multi_modal_projector.", "model.multi_modal_projector.", NULL};

/* Resolves the config into sizes, rejecting what the tower cannot run. */
static fc_err clip_check_config(fc_clip *m, const fc_model_config *cfg) {
    const fc_vision_config *v = &cfg->vision;
    if (!v->present) return fc_err_set(FC_EINVAL, "config: no vision_config for the CLIP tower");
    if (v->hidden_size <= 0 || v->num_heads <= 0 || v->hidden_size % v->num_heads)
        return fc_err_set(FC_EINVAL, "config: vision_config.hidden_size %d is not a multiple of num_attention_heads %d",
                          v->hidden_size, v->num_heads);
    if (v->patch_size <= 0 || v->image_size <= 0 || v->image_size % v->patch_size)
        return fc_err_set(FC_EINVAL, "config: vision_config.image_size %d is not a multiple of patch_size %d",
                          v->image_size, v->patch_size);
    if (v->num_channels != 3)
        return fc_err_set(FC_EUNSUPPORTED, "config: vision_config.num_channels %d (only RGB, 3, is supported)",
                          v->num_channels);
    if (v->num_layers <= 0 || v->intermediate_size <= 0)
        return fc_err_set(FC_EINVAL, "config: vision_config.num_hidden_layers %d / intermediate_size %d must be positive",
                          v->num_layers, v->intermediate_size);
    /* hidden_states has L+1 entries (embeddings, then each layer's output); a negative index counts from
     * the end as in Python, so -2 of 24 layers is entry 23: 23 layers applied */
    int L = v->num_layers, fl = cfg->vision_feature_layer;
    int idx = fl < 0 ? L + 1 + fl : fl;
    if (idx < 0 || idx > L)
        return fc_err_set(FC_EINVAL, "config: vision_feature_layer %d is outside the %d hidden states of a %d-layer tower",
                          fl, L + 1, L);
    if (!strcmp(cfg->vision_feature_select_strategy, "default"))
        m->drop_cls = true;
    else if (!strcmp(cfg->vision_feature_select_strategy, "full"))
        m->drop_cls = false;
    else
        return fc_err_set(FC_EUNSUPPORTED, "config: vision_feature_select_strategy '%s' (expected default or full)",
                          cfg->vision_feature_select_strategy);
    m->n_layers_used = idx;
    m->image_size = v->image_size;
    m->patch_size = v->patch_size;
    m->grid = v->image_size / v->patch_size;
    m->dims = (fc_vit_dims){.C = v->hidden_size, .H = v->num_heads, .D = v->hidden_size / v->num_heads,
                            .F = v->intermediate_size, .eps = (float)v->layer_norm_eps, .act = v->hidden_act};
    return FC_OK;
}

static fc_err clip_load_weights(fc_clip *m, const fc_st_model *st, const fc_model_config *cfg) {
    const char *pre = fc_vit_find_prefix(st, k_tower_prefixes, "embeddings.patch_embedding.weight");
    if (!pre) return FC_ENOTFOUND;
    const char *ppre = fc_vit_find_prefix(st, k_proj_prefixes, "linear_1.weight");
    if (!ppre) return FC_ENOTFOUND;
    const int64_t C = m->dims.C, P = m->patch_size, npos = (int64_t)m->grid * m->grid + 1;
    const int64_t conv[4] = {C, 3, P, P}, vC[1] = {C}, pos[2] = {npos, C};
    FC_TRY(fc_vit_get_weight(&m->patch_w, st, pre, "embeddings.patch_embedding.weight", 4, conv));
    const int64_t conv2[2] = {C, 3 * P * P};
    m->patch_w = fc_tensor_view(m->patch_w.data, m->patch_w.dtype, m->patch_w.device, 2, conv2);
    FC_TRY(fc_vit_get_weight(&m->class_emb, st, pre, "embeddings.class_embedding", 1, vC));
    const int64_t row[2] = {1, C};
    m->class_emb = fc_tensor_view(m->class_emb.data, m->class_emb.dtype, m->class_emb.device, 2, row);
    FC_TRY(fc_vit_get_weight(&m->pos_emb, st, pre, "embeddings.position_embedding.weight", 2, pos));
    FC_TRY(fc_vit_get_weight(&m->pre_ln_w, st, pre, "pre_layrnorm.weight", 1, vC));
    FC_TRY(fc_vit_get_weight(&m->pre_ln_b, st, pre, "pre_layrnorm.bias", 1, vC));
    if (m->n_layers_used > 0) {
        m->layers = fc_calloc((size_t)m->n_layers_used, sizeof *m->layers, "clip layers");
        if (!m->layers) return FC_ENOMEM;
    }
    for (int i = 0; i < m->n_layers_used; i++) {
        char lp[160];
        snprintf(lp, sizeof lp, "%sencoder.layers.%d.", pre, i);
        FC_TRY(fc_vit_layer_load(&m->layers[i], st, lp, &m->dims));
        FC_TRY(fc_vit_layer_pack(&m->layers[i])); /* --precision bf16 only */
    }
    FC_TRY(fc_projector_load(&m->proj, st, ppre, cfg));
    FC_TRY(fc_wpack_tensor(&m->patch_w));
    return fc_projector_pack(&m->proj);
}

fc_err fc_clip_load(fc_clip **out, const fc_st_model *st, const fc_model_config *cfg) {
    *out = NULL;
    fc_clip *m = fc_calloc(1, sizeof *m, "clip");
    if (!m) return FC_ENOMEM;
    fc_err e = clip_check_config(m, cfg);
    if (!e) e = clip_load_weights(m, st, cfg);
    if (e) {
        fc_clip_free(m);
        return e;
    }
    *out = m;
    return FC_OK;
}

void fc_clip_free(fc_clip *m) {
    if (!m) return;
    for (int i = 0; m->layers && i < m->n_layers_used; i++) fc_vit_layer_release(&m->layers[i]);
    fc_projector_release(&m->proj);
    fc_wpack_release(&m->patch_w);
    free(m->layers);
    free(m);
}

int fc_clip_n_tokens(const fc_clip *m) { return m->grid * m->grid + (m->drop_cls ? 0 : 1); }
int fc_clip_out_dim(const fc_clip *m) { return m->proj.out_dim; }

/* Embeddings + pre_layrnorm + the used layers into x (T, C) with T = grid^2 + 1 (CLS first). */
static fc_err clip_forward(const fc_clip *m, const fc_tensor *pixels, fc_tensor *x, fc_vit_scratch *s) {
    const int64_t C = m->dims.C, n = (int64_t)m->grid * m->grid, T = n + 1, K = 3 * (int64_t)m->patch_size * m->patch_size;
    const int64_t ps[2] = {n, K}, nc[2] = {n, C}, row[2] = {1, C};
    fc_tensor patches = {0};
    FC_TRY(fc_tensor_create(&patches, FC_DTYPE_F32, FC_DEVICE_CPU, 2, ps));
    fc_tensor body = fc_tensor_view((float *)x->data + C, FC_DTYPE_F32, FC_DEVICE_CPU, 2, nc);
    fc_tensor cls = fc_tensor_view(x->data, FC_DTYPE_F32, FC_DEVICE_CPU, 2, row);
    fc_err e = fc_vit_patchify(&patches, pixels, m->patch_size, m->grid, m->grid);
    if (!e) e = fc_op_linear(&body, &patches, &m->patch_w, NULL); /* the conv has no bias in CLIP */
    fc_tensor_free(&patches);
    if (!e) e = fc_tensor_copy(&cls, &m->class_emb);
    if (e) return e;
    /* position ids are 0..n (the CLS takes 0); gathered into scratch, then added */
    int32_t *ids = fc_malloc((size_t)T * sizeof *ids, "clip position ids");
    if (!ids) return FC_ENOMEM;
    for (int64_t i = 0; i < T; i++) ids[i] = (int32_t)i;
    e = fc_op_embedding(&s->h, &m->pos_emb, ids, (int)T);
    free(ids);
    if (!e) e = fc_op_add(x, x, &s->h);
    if (!e) e = fc_op_layernorm(x, x, &m->pre_ln_w, &m->pre_ln_b, m->dims.eps);
    for (int i = 0; !e && i < m->n_layers_used; i++) e = fc_vit_layer_fwd(&m->layers[i], &m->dims, x, s);
    return e;
}

fc_err fc_clip_encode_tower(const fc_clip *m, const fc_tensor *pixels, fc_tensor *feats) {
    const int64_t C = m->dims.C, T = (int64_t)m->grid * m->grid + 1;
    const int64_t px[3] = {3, m->image_size, m->image_size}, fs[2] = {fc_clip_n_tokens(m), C}, xs[2] = {T, C};
    FC_TRY(fc_vit_check_act(pixels, "clip: pixels", 3, px));
    FC_TRY(fc_vit_check_act(feats, "clip: features", 2, fs));
    fc_tensor x = {0};
    fc_vit_scratch s = {0};
    fc_err e = fc_tensor_create(&x, FC_DTYPE_F32, FC_DEVICE_CPU, 2, xs);
    if (!e) e = fc_vit_scratch_create(&s, T, &m->dims);
    if (!e) e = clip_forward(m, pixels, &x, &s);
    if (!e) {
        size_t skip = m->drop_cls ? (size_t)C : 0;
        memcpy(feats->data, (float *)x.data + skip, (size_t)fs[0] * (size_t)C * sizeof(float));
    }
    fc_vit_scratch_free(&s);
    fc_tensor_free(&x);
    return e;
}

fc_err fc_clip_encode(const fc_clip *m, const fc_tensor *pixels, fc_tensor *out) {
    const int64_t os[2] = {fc_clip_n_tokens(m), m->proj.out_dim}, fs[2] = {os[0], m->dims.C};
    FC_TRY(fc_vit_check_act(out, "clip: image embeddings", 2, os));
    fc_tensor feats = {0};
    FC_TRY(fc_tensor_create(&feats, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs));
    fc_err e = fc_clip_encode_tower(m, pixels, &feats);
    if (!e) e = fc_projector_fwd(&m->proj, &feats, out);
    fc_tensor_free(&feats);
    return e;
}
