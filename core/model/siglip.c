/* siglip.c: MiniCPM-V's SigLIP/NaViT encoder (see siglip.h). */
#include "core/model/siglip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "kernels/wpack.h"

static const char *const k_vpm_prefixes[] = {"vpm.", NULL};

/* torch.arange(start, ., step) of n float32 elements as ATen's CPU kernel writes them: accscalar_t is double;
 * the contiguous bulk goes through Vectorized<float>::arange in pairs of 8-lane vectors, each vector being
 * float(base) + i*step with base = float(start + step*idx0), and the tail through the scalar start + step*k.
 * The products are kept in volatile doubles so that the compiler cannot fuse them into an FMA, which would
 * round differently from torch. Checked against torch for nps 1..79 and n 1..128 (buckets.safetensors). */
static void torch_arange_f32(float *out, int64_t n, double start, double step) {
    enum { LANES = 8 };
    const int64_t nvec = n / (2 * LANES) * (2 * LANES);
    for (int64_t k = 0; k < n; k++) {
        if (k < nvec) {
            const int64_t i0 = k / LANES * LANES;
            volatile double p0 = step * (double)i0;
            const float base = (float)(start + p0);
            volatile double pi = (double)(k - i0) * step;
            out[k] = (float)((double)base + pi);
        } else {
            volatile double p = step * (double)k;
            out[k] = (float)(start + p);
        }
    }
}

fc_err fc_navit_bucket(int n, int nps, int32_t *out) {
    if (n < 1 || n > FC_NAVIT_MAX_SIDE || nps < 1 || nps > FC_NAVIT_MAX_SIDE)
        return fc_err_set(FC_EINVAL, "navit position buckets: side %d patches / %d buckets outside 1..%d", n, nps,
                          FC_NAVIT_MAX_SIDE);
    /* boundaries = arange(1/nps, 1.0, 1/nps): its length is ceil((end - start) / step) in double, which is
     * nps - 1 for most nps but nps for some (7: the last boundary lands just below 1) */
    const double bstep = 1.0 / nps;
    const int64_t nb = (int64_t)ceil((1.0 - bstep) / bstep);
    /* frac = arange(0, 1 - 1e-6, 1/n) with 1/n computed on an int tensor, hence in float32 */
    const float fstep = 1.0f / (float)n;
    const int64_t nf = (int64_t)ceil((1.0 - 1e-6) / (double)fstep);
    FC_ASSERT(nf == n && nb >= 0 && nb <= nps); /* n <= FC_NAVIT_MAX_SIDE keeps n * 1e-6 < 1 */
    float *b = fc_malloc((size_t)(nb + 1) * sizeof *b + (size_t)n * sizeof(float), "navit buckets");
    if (!b) return FC_ENOMEM;
    float *frac = b + nb + 1;
    torch_arange_f32(b, nb, bstep, bstep);
    torch_arange_f32(frac, n, 0.0, (double)fstep);
    fc_err e = FC_OK;
    for (int i = 0; i < n; i++) {
        /* bucketize(right=True): the number of boundaries <= x (boundaries ascend) */
        int64_t lo = 0, hi = nb;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (b[mid] <= frac[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= nps) {
            /* torch would index past the position table here; refuse rather than read outside it */
            e = fc_err_set(FC_EINVAL, "navit position buckets: side %d with %d buckets gives bucket %lld at %d",
                           n, nps, (long long)lo, i);
            break;
        }
        out[i] = (int32_t)lo;
    }
    free(b);
    return e;
}

static fc_err navit_check_config(fc_navit *m, const fc_model_config *cfg) {
    const fc_vision_config *v = &cfg->vision;
    if (!v->present) return fc_err_set(FC_EINVAL, "config: no vision_config for the SigLIP encoder");
    if (v->hidden_size <= 0 || v->num_heads <= 0 || v->hidden_size % v->num_heads)
        return fc_err_set(FC_EINVAL, "config: vision_config.hidden_size %d is not a multiple of num_attention_heads %d",
                          v->hidden_size, v->num_heads);
    if (v->patch_size <= 0 || v->image_size < v->patch_size)
        return fc_err_set(FC_EINVAL, "config: vision_config.image_size %d / patch_size %d", v->image_size,
                          v->patch_size);
    if (v->num_channels != 3)
        return fc_err_set(FC_EUNSUPPORTED, "config: vision_config.num_channels %d (only RGB, 3, is supported)",
                          v->num_channels);
    if (v->num_layers <= 0 || v->intermediate_size <= 0)
        return fc_err_set(FC_EINVAL, "config: vision_config.num_hidden_layers %d / intermediate_size %d must be positive",
                          v->num_layers, v->intermediate_size);
    m->n_layers_used = v->num_layers - (cfg->drop_vision_last_layer ? 1 : 0);
    if (m->n_layers_used <= 0)
        return fc_err_set(FC_EINVAL, "config: drop_vision_last_layer leaves no layer of %d", v->num_layers);
    m->patch_size = v->patch_size;
    m->nps = v->image_size / v->patch_size; /* integer division, as num_patches_per_side in HF */
    if (m->nps > FC_NAVIT_MAX_SIDE)
        return fc_err_set(FC_EINVAL, "config: vision_config.image_size / patch_size = %d exceeds %d", m->nps,
                          FC_NAVIT_MAX_SIDE);
    m->dims = (fc_vit_dims){.C = v->hidden_size, .H = v->num_heads, .D = v->hidden_size / v->num_heads,
                            .F = v->intermediate_size, .eps = (float)v->layer_norm_eps, .act = v->hidden_act};
    return FC_OK;
}

static fc_err navit_load_weights(fc_navit *m, const fc_st_model *st) {
    const char *pre = fc_vit_find_prefix(st, k_vpm_prefixes, "embeddings.patch_embedding.weight");
    if (!pre) return FC_ENOTFOUND;
    const int64_t C = m->dims.C, P = m->patch_size;
    const int64_t conv[4] = {C, 3, P, P}, conv2[2] = {C, 3 * P * P}, vC[1] = {C}, pos[2] = {(int64_t)m->nps * m->nps, C};
    FC_TRY(fc_vit_get_weight(&m->patch_w, st, pre, "embeddings.patch_embedding.weight", 4, conv));
    m->patch_w = fc_tensor_view(m->patch_w.data, m->patch_w.dtype, m->patch_w.device, 2, conv2);
    FC_TRY(fc_vit_get_weight(&m->patch_b, st, pre, "embeddings.patch_embedding.bias", 1, vC));
    FC_TRY(fc_vit_get_weight(&m->pos_emb, st, pre, "embeddings.position_embedding.weight", 2, pos));
    FC_TRY(fc_vit_get_weight(&m->post_ln_w, st, pre, "post_layernorm.weight", 1, vC));
    FC_TRY(fc_vit_get_weight(&m->post_ln_b, st, pre, "post_layernorm.bias", 1, vC));
    m->layers = fc_calloc((size_t)m->n_layers_used, sizeof *m->layers, "navit layers");
    if (!m->layers) return FC_ENOMEM;
    for (int i = 0; i < m->n_layers_used; i++) {
        char lp[160];
        snprintf(lp, sizeof lp, "%sencoder.layers.%d.", pre, i);
        FC_TRY(fc_vit_layer_load(&m->layers[i], st, lp, &m->dims));
        FC_TRY(fc_vit_layer_pack(&m->layers[i])); /* --precision bf16 only */
    }
    return fc_wpack_tensor(&m->patch_w);
}

fc_err fc_navit_load(fc_navit **out, const fc_st_model *st, const fc_model_config *cfg) {
    *out = NULL;
    fc_navit *m = fc_calloc(1, sizeof *m, "navit");
    if (!m) return FC_ENOMEM;
    fc_err e = navit_check_config(m, cfg);
    if (!e) e = navit_load_weights(m, st);
    if (e) {
        fc_navit_free(m);
        return e;
    }
    *out = m;
    return FC_OK;
}

void fc_navit_free(fc_navit *m) {
    if (!m) return;
    for (int i = 0; m->layers && i < m->n_layers_used; i++) fc_vit_layer_release(&m->layers[i]);
    fc_wpack_release(&m->patch_w);
    free(m->layers);
    free(m);
}

/* ids (h*w) = bucket(r; h) * nps + bucket(c; w), row-major like the patches. */
static fc_err navit_position_ids(const fc_navit *m, int h, int w, int32_t *ids) {
    int32_t *bh = fc_malloc(((size_t)h + (size_t)w) * sizeof *bh, "navit position ids");
    if (!bh) return FC_ENOMEM;
    int32_t *bw = bh + h;
    fc_err e = fc_navit_bucket(h, m->nps, bh);
    if (!e) e = fc_navit_bucket(w, m->nps, bw);
    if (!e)
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) ids[(int64_t)r * w + c] = bh[r] * m->nps + bw[c];
    free(bh);
    return e;
}

fc_err fc_navit_encode(const fc_navit *m, const fc_tensor *pixels, int h, int w, fc_tensor *out) {
    if (h < 1 || w < 1 || h > FC_NAVIT_MAX_SIDE || w > FC_NAVIT_MAX_SIDE)
        return fc_err_set(FC_EINVAL, "navit: patch grid %dx%d outside 1..%d", h, w, FC_NAVIT_MAX_SIDE);
    const int64_t P = m->patch_size, C = m->dims.C, T = (int64_t)h * w, K = 3 * P * P;
    const int64_t px[3] = {3, h * P, w * P}, os[2] = {T, C}, ps[2] = {T, K};
    FC_TRY(fc_vit_check_act(pixels, "navit: pixels", 3, px));
    FC_TRY(fc_vit_check_act(out, "navit: features", 2, os));
    fc_tensor patches = {0};
    fc_vit_scratch s = {0};
    int32_t *ids = NULL;
    fc_err e = fc_tensor_create(&patches, FC_DTYPE_F32, FC_DEVICE_CPU, 2, ps);
    if (!e) e = fc_vit_patchify(&patches, pixels, (int)P, h, w);
    if (!e) e = fc_op_linear(out, &patches, &m->patch_w, &m->patch_b); /* conv with bias in SigLIP */
    fc_tensor_free(&patches);
    if (!e) e = fc_vit_scratch_create(&s, T, &m->dims);
    if (!e && !(ids = fc_malloc((size_t)T * sizeof *ids, "navit position ids"))) e = FC_ENOMEM;
    if (!e) e = navit_position_ids(m, h, w, ids);
    if (!e) e = fc_op_embedding(&s.h, &m->pos_emb, ids, (int)T);
    if (!e) e = fc_op_add(out, out, &s.h);
    for (int i = 0; !e && i < m->n_layers_used; i++) e = fc_vit_layer_fwd(&m->layers[i], &m->dims, out, &s);
    if (!e) e = fc_op_layernorm(out, out, &m->post_ln_w, &m->post_ln_b, m->dims.eps);
    free(ids);
    fc_vit_scratch_free(&s);
    return e;
}
