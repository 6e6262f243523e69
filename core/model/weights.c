/* weights.c: shape-checked tensor views and decoder prefix resolution (see weights.h). */
#include "core/model/weights.h"

#include <stdio.h>
#include <string.h>

static const char *const llm_prefixes[] = {"model.", "language_model.model.", "model.language_model.",
                                           "llm.model.", NULL};
static const char *const head_names[] = {"lm_head.weight", "language_model.lm_head.weight", "llm.lm_head.weight",
                                         NULL};

const char *fc_weights_find_prefix(const fc_st_model *st, const char *const *prefixes, const char *probe) {
    char name[512];
    for (int i = 0; prefixes[i]; i++) {
        snprintf(name, sizeof name, "%s%s", prefixes[i], probe);
        if (fc_st_model_find(st, name)) return prefixes[i];
    }
    return NULL;
}

fc_err fc_weights_llm_prefix(const fc_st_model *st, const char **prefix) {
    *prefix = fc_weights_find_prefix(st, llm_prefixes, "embed_tokens.weight");
    if (!*prefix)
        return fc_err_set(FC_ENOTFOUND,
                          "%s: no decoder embedding: none of model., language_model.model., model.language_model., "
                          "llm.model. + embed_tokens.weight",
                          st->dir ? st->dir : "checkpoint");
    return FC_OK;
}

const char *fc_weights_lm_head_name(const fc_st_model *st) {
    for (int i = 0; head_names[i]; i++)
        if (fc_st_model_find(st, head_names[i])) return head_names[i];
    return NULL;
}

static const char *file_of(const fc_st_model *st, const fc_st_entry *e) {
    if (e && e->shard >= 0 && e->shard < st->n_files && st->files[e->shard].path) {
        const char *p = st->files[e->shard].path, *slash = strrchr(p, '/');
        return slash ? slash + 1 : p;
    }
    return st->dir ? st->dir : "checkpoint";
}

fc_err fc_weights_get(const fc_st_model *st, const char *name, int ndim, const int64_t *shape, bool optional,
                      fc_tensor *out) {
    memset(out, 0, sizeof *out);
    const fc_st_entry *e = fc_st_model_find(st, name);
    if (!e) {
        if (optional) return FC_OK;
        return fc_err_set(FC_ENOTFOUND, "%s: tensor '%s' is missing", st->dir ? st->dir : "checkpoint", name);
    }
    bool same = e->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = e->shape[i] == shape[i];
    if (!same) {
        char a[128], b[128];
        int found = e->ndim <= FC_MAX_DIMS ? e->ndim : FC_MAX_DIMS;
        return fc_err_set(FC_ESHAPE, "%s: tensor '%s': shape %s%s, config says %s", file_of(st, e), name,
                          fc_shape_str(a, sizeof a, found, e->shape), e->ndim > FC_MAX_DIMS ? "..." : "",
                          fc_shape_str(b, sizeof b, ndim, shape));
    }
    fc_err err = fc_st_tensor(e, out);
    if (err) return fc_err_prefix(err, "%s: tensor '%s'", file_of(st, e), name);
    if (out->dtype != FC_DTYPE_F32 && out->dtype != FC_DTYPE_F16 && out->dtype != FC_DTYPE_BF16)
        return fc_err_set(FC_EUNSUPPORTED, "%s: tensor '%s': dtype %s (want F32, F16 or BF16)", file_of(st, e), name,
                          fc_dtype_name(out->dtype));
    return FC_OK;
}
