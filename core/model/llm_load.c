/* llm_load.c: building an fc_llm from a config and a checkpoint: every tensor found under its prefix and
 * shape-checked against the config, nothing copied (views into the mapping). */
#include <stdio.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/llm.h"
#include "core/model/weights.h"
#include "kernels/wpack.h"

/* Loads "<prefix>layers.<l>.<suffix>" of the given shape (1 or 2 dims). */
static fc_err layer_tensor(fc_llm *m, int l, const char *suffix, int64_t d0, int64_t d1, bool optional,
                           fc_tensor *out) {
    char name[256];
    snprintf(name, sizeof name, "%slayers.%d.%s", m->prefix, l, suffix);
    int64_t shape[2] = {d0, d1};
    return fc_weights_get(m->weights, name, d1 ? 2 : 1, shape, optional, out);
}

static fc_err load_layer(fc_llm *m, int l) {
    const fc_llm_config *c = &m->cfg;
    fc_llm_layer *L = &m->layers[l];
    int64_t C = c->hidden_size, F = c->intermediate_size;
    int64_t QD = (int64_t)c->num_heads * c->head_dim, KD = (int64_t)c->num_kv_heads * c->head_dim;
    bool qkv_bias = c->attention_bias;
    /* Llama puts attention_bias on o_proj as well; Qwen2 never has an o_proj bias */
    bool o_bias = c->attention_bias && c->arch == FC_ARCH_LLAMA;
    FC_TRY(layer_tensor(m, l, "input_layernorm.weight", C, 0, false, &L->attn_norm));
    FC_TRY(layer_tensor(m, l, "self_attn.q_proj.weight", QD, C, false, &L->wq));
    FC_TRY(layer_tensor(m, l, "self_attn.k_proj.weight", KD, C, false, &L->wk));
    FC_TRY(layer_tensor(m, l, "self_attn.v_proj.weight", KD, C, false, &L->wv));
    FC_TRY(layer_tensor(m, l, "self_attn.o_proj.weight", C, QD, false, &L->wo));
    if (qkv_bias) {
        FC_TRY(layer_tensor(m, l, "self_attn.q_proj.bias", QD, 0, false, &L->bq));
        FC_TRY(layer_tensor(m, l, "self_attn.k_proj.bias", KD, 0, false, &L->bk));
        FC_TRY(layer_tensor(m, l, "self_attn.v_proj.bias", KD, 0, false, &L->bv));
    }
    if (o_bias) FC_TRY(layer_tensor(m, l, "self_attn.o_proj.bias", C, 0, false, &L->bo));
    FC_TRY(layer_tensor(m, l, "post_attention_layernorm.weight", C, 0, false, &L->mlp_norm));
    FC_TRY(layer_tensor(m, l, "mlp.gate_proj.weight", F, C, false, &L->w_gate));
    FC_TRY(layer_tensor(m, l, "mlp.up_proj.weight", F, C, false, &L->w_up));
    FC_TRY(layer_tensor(m, l, "mlp.down_proj.weight", C, F, false, &L->w_down));
    if (c->mlp_bias) {
        FC_TRY(layer_tensor(m, l, "mlp.gate_proj.bias", F, 0, false, &L->b_gate));
        FC_TRY(layer_tensor(m, l, "mlp.up_proj.bias", F, 0, false, &L->b_up));
        FC_TRY(layer_tensor(m, l, "mlp.down_proj.bias", C, 0, false, &L->b_down));
    }
    return FC_OK;
}

/* Calls fn on every Linear weight of the decoder (lm_head last), stopping at the first error. */
static fc_err each_linear(fc_llm *m, fc_err (*fn)(fc_tensor *)) {
    for (int l = 0; m->layers && l < m->cfg.num_layers; l++) {
        fc_llm_layer *L = &m->layers[l];
        fc_tensor *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) FC_TRY(fn(ws[i]));
    }
    return fn(&m->lm_head);
}

static fc_err release_one(fc_tensor *w) {
    fc_wpack_release(w);
    return FC_OK;
}

static fc_err check_config(const fc_llm_config *c) {
    if (c->arch != FC_ARCH_LLAMA && c->arch != FC_ARCH_QWEN2)
        return fc_err_set(FC_EUNSUPPORTED, "decoder: architecture %s (want llama or qwen2)", fc_arch_name(c->arch));
    if (c->hidden_act != FC_ACT_SILU)
        return fc_err_set(FC_EUNSUPPORTED, "decoder: hidden_act %s (the SwiGLU MLP wants silu)",
                          fc_act_name(c->hidden_act));
    if (c->hidden_size <= 0 || c->intermediate_size <= 0 || c->num_layers <= 0 || c->num_heads <= 0 ||
        c->num_kv_heads <= 0 || c->head_dim <= 0 || c->vocab_size <= 0 || c->num_heads % c->num_kv_heads != 0 ||
        c->head_dim % 2 != 0)
        return fc_err_set(FC_EINVAL,
                          "decoder: sizes do not fit (hidden %d, intermediate %d, layers %d, heads %d, kv heads %d, "
                          "head_dim %d (even), vocab %d)",
                          c->hidden_size, c->intermediate_size, c->num_layers, c->num_heads, c->num_kv_heads,
                          c->head_dim, c->vocab_size);
    return FC_OK;
}

fc_err fc_llm_create(fc_llm **out, const fc_llm_config *cfg, const fc_st_model *st) {
    *out = NULL;
    FC_TRY(check_config(cfg));
    fc_llm *m = fc_calloc(1, sizeof *m, "decoder");
    if (!m) return FC_ENOMEM;
    m->cfg = *cfg;
    m->weights = st;
    m->act_keep = FC_LLM_ACT_KEEP_DEFAULT;
    fc_err e = fc_weights_llm_prefix(st, &m->prefix);
    if (e) goto fail;
    int64_t V = cfg->vocab_size, C = cfg->hidden_size;
    int64_t vc[2] = {V, C}, c1[1] = {C};
    char name[256];
    snprintf(name, sizeof name, "%sembed_tokens.weight", m->prefix);
    if ((e = fc_weights_get(st, name, 2, vc, false, &m->embed))) goto fail;
    snprintf(name, sizeof name, "%snorm.weight", m->prefix);
    if ((e = fc_weights_get(st, name, 1, c1, false, &m->norm))) goto fail;
    /* HF ties lm_head to the embedding when the config says so, whatever the file holds */
    const char *head = fc_weights_lm_head_name(st);
    if (cfg->tie_word_embeddings) {
        m->lm_head = m->embed;
        m->tied = true;
    } else if (!head) {
        e = fc_err_set(FC_ENOTFOUND, "%s: tensor 'lm_head.weight' is missing (tie_word_embeddings is false)",
                       st->dir ? st->dir : "checkpoint");
        goto fail;
    } else if ((e = fc_weights_get(st, head, 2, vc, false, &m->lm_head))) {
        goto fail;
    }
    m->layers = fc_calloc((size_t)cfg->num_layers, sizeof *m->layers, "decoder layers");
    if (!m->layers) {
        e = FC_ENOMEM;
        goto fail;
    }
    for (int l = 0; l < cfg->num_layers; l++)
        if ((e = load_layer(m, l))) goto fail;
    /* --precision bf16: every Linear weight is reordered once, here, into the GEMM kernel's layout */
    if ((e = each_linear(m, fc_wpack_tensor))) goto fail;
    *out = m;
    return FC_OK;
fail:
    fc_llm_free(m);
    return e;
}

fc_err fc_llm_load(fc_llm **out, const char *dir) {
    *out = NULL;
    fc_model_config mc;
    FC_TRY(fc_hfconfig_load(&mc, dir));
    fc_st_model *st = fc_calloc(1, sizeof *st, "decoder");
    if (!st) return FC_ENOMEM;
    fc_err e = fc_st_model_open(st, dir);
    if (e) {
        free(st);
        return e;
    }
    fc_llm *m;
    e = fc_llm_create(&m, &mc.text, st);
    if (e) {
        fc_st_model_close(st);
        free(st);
        return e;
    }
    m->owned_st = st;
    *out = m;
    return FC_OK;
}

void fc_llm_free(fc_llm *m) {
    if (!m) return;
    (void)each_linear(m, release_one);
    if (m->owned_st) {
        fc_st_model_close(m->owned_st);
        free(m->owned_st);
    }
    free(m->layers);
    free(m->act);
    free(m->marks);
    free(m->sel);
    free(m->sel_idx);
    free(m);
}

fc_kv_pool_params fc_llm_kv_params(const fc_llm *m, int block_size, int n_blocks, int max_seqs) {
    fc_kv_pool_params p = {.n_layers = m->cfg.num_layers, .n_kv_heads = m->cfg.num_kv_heads,
                           .head_dim = m->cfg.head_dim, .block_size = block_size, .n_blocks = n_blocks,
                           .max_seqs = max_seqs, .dtype = FC_DTYPE_F32, .device = FC_DEVICE_CPU};
    return p;
}
