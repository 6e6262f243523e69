/* ccm_train.c: the trainable CCM's storage, init, checkpoint load and save (see ccm_train.h). */
#include "core/autograd/ccm_train.h"
#include "core/autograd/autograd_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/io/safetensors.h"

static void linear_dims(const fc_ccm_config *c, int j, int *in, int *out) {
    *in = j == 0 ? c->cf * c->head_dim : c->hidden;
    *out = j == c->depth - 1 ? c->head_dim : c->hidden;
}

static fc_err check_config(const fc_ccm_config *c) {
    if (c->n_layers < 1 || c->n_layers > 1024 || c->head_dim < 1 || c->head_dim > 4096 || c->cf < 1 || c->cf > 64 ||
        c->hidden < 1 || c->hidden > 65536 || c->depth < 1 || c->depth > 16 || c->min_windows < 0)
        return fc_err_set(FC_EINVAL, "ccm: config out of range (n_layers %d, head_dim %d, cf %d, hidden %d, depth %d, "
                          "min_windows %d)", c->n_layers, c->head_dim, c->cf, c->hidden, c->depth, c->min_windows);
    if ((unsigned)c->segment_rule >= FC_CCM_SEG_COUNT || (unsigned)c->position_rule >= FC_CCM_POS_COUNT)
        return fc_err_set(FC_EINVAL, "ccm: segment rule %d or position rule %d unknown", c->segment_rule,
                          c->position_rule);
    if (c->segment_rule != FC_CCM_SEG_WHOLE && !c->has_image)
        return fc_err_set(FC_EINVAL, "ccm: segment rule '%s' needs image MLPs but has_image is 0",
                          fc_ccm_seg_rule_name(c->segment_rule));
    return FC_OK;
}

/* Lays out the views and allocates params and grads (zeroed). */
static fc_err layout(const fc_ccm_config *cfg, float dropout, fc_ccm_train **out) {
    *out = NULL;
    FC_TRY(check_config(cfg));
    if (!(dropout >= 0 && dropout < 1)) return fc_err_set(FC_EINVAL, "ccm: dropout %g outside [0, 1)", dropout);
    fc_ccm_train *c = fc_calloc(1, sizeof *c, "ccm_train");
    if (!c) return FC_ENOMEM;
    c->cfg = *cfg;
    c->dropout = dropout;
    int kinds = cfg->has_image ? 4 : 2;
    size_t n_mlp = (size_t)cfg->n_layers * FC_CCM_KIND_COUNT * cfg->depth;
    c->n_tensors = cfg->n_layers * kinds * cfg->depth * 2;
    c->tensors = fc_calloc((size_t)c->n_tensors, sizeof *c->tensors, "ccm_train views");
    c->w_idx = fc_malloc(n_mlp * sizeof *c->w_idx, "ccm_train views");
    if (!c->tensors || !c->w_idx) {
        fc_ccm_train_free(c);
        return FC_ENOMEM;
    }
    for (size_t i = 0; i < n_mlp; i++) c->w_idx[i] = -1;
    size_t off = 0;
    int t = 0;
    for (int l = 0; l < cfg->n_layers; l++)
        for (int k = cfg->has_image ? 0 : FC_CCM_TK; k < FC_CCM_KIND_COUNT; k++)
            for (int j = 0; j < cfg->depth; j++) {
                int in, o;
                linear_dims(cfg, j, &in, &o);
                c->w_idx[((size_t)l * FC_CCM_KIND_COUNT + k) * cfg->depth + j] = t;
                fc_ccm_param *w = &c->tensors[t++], *b = &c->tensors[t++];
                *w = (fc_ccm_param){.ndim = 2, .shape = {o, in}, .offset = off, .numel = (size_t)o * in};
                snprintf(w->name, sizeof w->name, "ccm.layers.%d.%s.%d.weight", l, fc_ccm_kind_name(k), j);
                off += w->numel;
                *b = (fc_ccm_param){.ndim = 1, .shape = {o, 0}, .offset = off, .numel = (size_t)o};
                snprintf(b->name, sizeof b->name, "ccm.layers.%d.%s.%d.bias", l, fc_ccm_kind_name(k), j);
                off += b->numel;
            }
    c->n_params = off;
    c->params = fc_calloc(off, sizeof(float), "ccm_train params");
    c->grads = fc_calloc(off, sizeof(float), "ccm_train grads");
    if (!c->params || !c->grads) {
        fc_ccm_train_free(c);
        return FC_ENOMEM;
    }
    *out = c;
    return FC_OK;
}

void fc_ccm_train_free(fc_ccm_train *c) {
    if (!c) return;
    free(c->params);
    free(c->grads);
    free(c->tensors);
    free(c->w_idx);
    free(c);
}

fc_err fc_ccm_train_create(const fc_ccm_config *cfg, float dropout, uint64_t seed, fc_ccm_train **out) {
    FC_TRY(layout(cfg, dropout, out));
    fc_ccm_train *c = *out;
    uint64_t s = seed;
    /* torch nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) gives bound sqrt(6/((1+5) fan_in)) =
     * 1/sqrt(fan_in); the bias bound is 1/sqrt(fan_in) as well */
    for (int i = 0; i < c->n_tensors; i++) {
        const fc_ccm_param *p = &c->tensors[i];
        int64_t fan_in = p->ndim == 2 ? p->shape[1] : c->tensors[i - 1].shape[1];
        double bound = 1.0 / sqrt((double)fan_in);
        for (size_t e = 0; e < p->numel; e++) c->params[p->offset + e] = (float)((2 * fc_ag_rng_uniform(&s) - 1) * bound);
    }
    c->rng = fc_ag_rng_next(&s);
    return FC_OK;
}

fc_err fc_ccm_train_load(const char *path, float default_dropout, uint64_t seed, fc_ccm_train **out) {
    *out = NULL;
    fc_ccm *ref = NULL; /* the inference loader validates the metadata and every tensor's name and shape */
    FC_TRY(fc_ccm_load(path, &ref));
    fc_ccm_config cfg = *fc_ccm_get_config(ref);
    fc_ccm_free(ref);
    fc_st_file f;
    FC_TRY(fc_st_open(&f, path));
    float dropout = default_dropout;
    const char *ds = fc_st_meta(&f, "dropout");
    if (ds) {
        char *end;
        double v = strtod(ds, &end);
        if (end == ds || *end || !(v >= 0 && v < 1)) {
            fc_st_close(&f);
            return fc_err_set(FC_EFORMAT, "%s: metadata 'dropout' = '%s', want a number in [0, 1)", path, ds);
        }
        dropout = (float)v;
    }
    fc_err e = layout(&cfg, dropout, out);
    for (int i = 0; !e && i < (*out)->n_tensors; i++) {
        const fc_ccm_param *p = &(*out)->tensors[i];
        const fc_st_entry *en = fc_st_find(&f, p->name);
        fc_tensor src;
        if (!en) {
            e = fc_err_set(FC_ENOTFOUND, "%s: tensor '%s' is missing", path, p->name);
            break;
        }
        e = fc_st_tensor(en, &src);
        if (!e) {
            fc_tensor dst = fc_tensor_view((*out)->params + p->offset, FC_DTYPE_F32, FC_DEVICE_CPU, p->ndim, p->shape);
            e = fc_err_prefix(fc_tensor_copy(&dst, &src), "%s: tensor '%s'", path, p->name);
        }
    }
    fc_st_close(&f);
    if (e) {
        fc_ccm_train_free(*out);
        *out = NULL;
        return e;
    }
    uint64_t s = seed;
    (*out)->rng = fc_ag_rng_next(&s);
    return FC_OK;
}

static fc_err save(const fc_ccm_train *c, const float *data, const char *path, const char *const *meta, int n_meta) {
    fc_st_writer *w = NULL;
    FC_TRY(fc_st_writer_create(&w));
    const fc_ccm_config *g = &c->cfg;
    char num[10][32];
    snprintf(num[0], 32, "%d", g->n_layers);
    snprintf(num[1], 32, "%d", g->head_dim);
    snprintf(num[2], 32, "%d", g->cf);
    snprintf(num[3], 32, "%d", g->hidden);
    snprintf(num[4], 32, "%d", g->depth);
    snprintf(num[5], 32, "%d", g->min_windows);
    snprintf(num[6], 32, "%.9g", (double)c->dropout);
    const char *kv[][2] = {{"format", "fastcache-ccm"},
                           {"format_version", "1"},
                           {"family", g->family[0] ? g->family : "unknown"},
                           {"n_layers", num[0]},
                           {"head_dim", num[1]},
                           {"cf", num[2]},
                           {"hidden", num[3]},
                           {"depth", num[4]},
                           {"min_windows", num[5]},
                           {"has_image", g->has_image ? "1" : "0"},
                           {"segment_rule", fc_ccm_seg_rule_name(g->segment_rule)},
                           {"position_rule", fc_ccm_pos_rule_name(g->position_rule)},
                           {"dropout", num[6]}};
    fc_err e = FC_OK;
    for (size_t i = 0; !e && i < sizeof kv / sizeof *kv; i++) e = fc_st_writer_meta(w, kv[i][0], kv[i][1]);
    for (int i = 0; !e && i < n_meta; i++) {
        if (!meta[2 * i] || !meta[2 * i + 1]) {
            e = fc_err_set(FC_EINVAL, "%s: extra metadata pair %d has a NULL key or value", path, i);
            break;
        }
        e = fc_st_writer_meta(w, meta[2 * i], meta[2 * i + 1]);
    }
    for (int i = 0; !e && i < c->n_tensors; i++) {
        const fc_ccm_param *p = &c->tensors[i];
        e = fc_st_writer_add(w, p->name, FC_DTYPE_F32, p->ndim, p->shape, data + p->offset);
    }
    if (!e) e = fc_st_writer_write(w, path);
    fc_st_writer_free(w);
    return e;
}

fc_err fc_ccm_train_save(const fc_ccm_train *c, const char *path, const char *const *meta, int n_meta) {
    return save(c, c->params, path, meta, n_meta);
}

fc_err fc_ccm_train_save_grads(const fc_ccm_train *c, const char *path, const char *const *meta, int n_meta) {
    return save(c, c->grads, path, meta, n_meta);
}

void fc_ccm_train_zero_grad(fc_ccm_train *c) { memset(c->grads, 0, c->n_params * sizeof(float)); }

const fc_ccm_param *fc_ccm_train_find(const fc_ccm_train *c, const char *name) {
    for (int i = 0; i < c->n_tensors; i++)
        if (!strcmp(c->tensors[i].name, name)) return &c->tensors[i];
    return NULL;
}

uint64_t fc_ccm_train_get_rng(const fc_ccm_train *c) { return c->rng; }
void fc_ccm_train_set_rng(fc_ccm_train *c, uint64_t state) { c->rng = state; }

static float *tensor_ptr(const fc_ccm_train *c, int layer, fc_ccm_kind kind, int j, int grad, int bias) {
    if (layer < 0 || layer >= c->cfg.n_layers || (unsigned)kind >= FC_CCM_KIND_COUNT || j < 0 || j >= c->cfg.depth)
        return NULL;
    int i = c->w_idx[((size_t)layer * FC_CCM_KIND_COUNT + kind) * c->cfg.depth + j];
    if (i < 0) return NULL;
    return (grad ? c->grads : c->params) + c->tensors[i + bias].offset;
}

float *fc_ccm_train_weight(const fc_ccm_train *c, int layer, fc_ccm_kind kind, int j, int grad) {
    return tensor_ptr(c, layer, kind, j, grad, 0);
}
float *fc_ccm_train_bias(const fc_ccm_train *c, int layer, fc_ccm_kind kind, int j, int grad) {
    return tensor_ptr(c, layer, kind, j, grad, 1);
}
