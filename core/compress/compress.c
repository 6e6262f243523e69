/* compress.c: the method registry, spec parsing with one option table, and fc_compress_layer (input checks,
 * scope, scoring, selection, or the CCM merge). The scorers live in score_*.c, selection in select.c. */
#include "core/compress/compress.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/compress/internal.h"

/* ---- the option table: one row per option any method has ---- */
typedef enum { OPT_DOUBLE, OPT_INT, OPT_ENUM, OPT_PATH } opt_type;
typedef struct {
    const char *name;
    opt_type type;
    size_t offset;       /* into fc_compress_opts */
    double lo, hi;       /* bounds of numbers */
    const char *range;   /* as shown to users */
    const char *help;
    const char *const *names; /* OPT_ENUM: the values, NULL-terminated; NULL otherwise */
} opt_row;

static const char *const scope_names[] = {"all", "image", NULL};
static const char *const segment_names[] = {"auto", "spans", "prefix", "whole", NULL}; /* 1 + fc_ccm_seg_rule */
static const char *const position_names[] = {"auto", "compressed", "original", NULL}; /* 1 + fc_ccm_pos_rule */

#define OFF(f) offsetof(fc_compress_opts, f)
static const opt_row opt_rows[] = {
    {"ratio", OPT_DOUBLE, OFF(ratio), 1, 1e6, "[1, 1e6]", "compression in the x form: 5 keeps 1/5 (kvpress "
     "compression_ratio = 1 - 1/ratio)", NULL},
    {"window", OPT_INT, OFF(window), 1, 1 << 20, "[1, 2^20]", "observation window: the last queries whose attention "
     "scores the keys; the window itself is kept", NULL},
    {"kernel", OPT_INT, OFF(kernel), 1, 255, "odd, [1, 255]", "average-pooling kernel over the scores", NULL},
    {"n_sink", OPT_INT, OFF(n_sink), 0, 1 << 20, "[0, 2^20]", "first tokens always kept (attention sinks)", NULL},
    {"n_future", OPT_INT, OFF(n_future), 1, 1 << 20, "[1, 2^20]", "future positions the RoPE rotation is averaged "
     "over", NULL},
    {"cov", OPT_INT, OFF(cov), 0, 1, "0|1", "use the query covariance, not only the mean", NULL},
    {"vnorm", OPT_INT, OFF(vnorm), 0, 1, "0|1", "rescale scores by the value norm", NULL},
    {"epsilon", OPT_DOUBLE, OFF(epsilon), 0, 1e6, "[0, 1e6]", "added to scores before the value-norm rescale", NULL},
    {"beta", OPT_INT, OFF(beta), 1, 1 << 20, "[1, 2^20]", "pyramid steepness: larger gives lower layers more", NULL},
    {"seed", OPT_INT, OFF(seed), 0, 9007199254740992.0, "[0, 2^53]", "seed of our generator (one stream per layer "
     "and head; not torch's)", NULL},
    {"scope", OPT_ENUM, OFF(scope), 0, 0, "all|image", "tokens the method may touch: the whole prefix, or only "
     "image tokens (the rest always kept)", scope_names},
    {"segments", OPT_ENUM, OFF(segments), 0, 0, "auto|spans|prefix|whole", "how image spans cut the prefix into "
     "segments (ccm.h); auto: the checkpoint's rule", segment_names},
    {"positions", OPT_ENUM, OFF(positions), 0, 0, "auto|compressed|original", "where tokens after the compressed "
     "prefix take their RoPE positions: from the compressed length or the original one; auto: the checkpoint's "
     "position_rule (what it was trained with)", position_names},
    {"min_windows", OPT_INT, OFF(min_windows), -1, 1 << 20, "[-1, 2^20]", "segments with fewer windows stay raw; -1: "
     "the checkpoint's", NULL},
    {"weights", OPT_PATH, OFF(weights), 0, 0, "path", "CCM checkpoint (safetensors, see core/compress/ccm.h)", NULL},
};
#define N_OPT_ROWS ((int)(sizeof opt_rows / sizeof opt_rows[0]))

/* ---- the methods ---- */
#define SCOPE {"scope", "all"}
static const fc_compress_def defs[] = {
    {"knorm", "KnormPress: keeps the keys with the lowest L2 norm", 0, fc_score_knorm, NULL,
     {{"ratio", "2"}, SCOPE}},
    {"snapkv", "SnapKVPress: attention of the last `window` queries, pooled, per kv group", FC_NEED_QWINDOW,
     fc_score_snapkv, NULL, {{"ratio", "2"}, {"window", "64"}, {"kernel", "5"}, SCOPE}},
    {"expected_attention", "ExpectedAttentionPress: expected attention of future queries from query statistics",
     FC_NEED_QSTATS, fc_score_expected, NULL,
     {{"ratio", "2"}, {"n_future", "512"}, {"n_sink", "4"}, {"cov", "1"}, {"vnorm", "1"}, {"epsilon", "0"}, SCOPE}},
    {"streaming_llm", "StreamingLLMPress: the first n_sink tokens and the most recent ones", 0, fc_score_streaming,
     NULL, {{"ratio", "2"}, {"n_sink", "4"}, SCOPE}},
    {"tova", "TOVAPress: attention of the last query, averaged over all heads", FC_NEED_QWINDOW, fc_score_tova, NULL,
     {{"ratio", "2"}, SCOPE}},
    {"random", "RandomPress: uniform random scores (our generator, seeded)", FC_NEED_LAYER, fc_score_random, NULL,
     {{"ratio", "2"}, {"seed", "0"}, SCOPE}},
    {"observed_attention", "ObservedAttentionPress: mean attention each key received in prefill (H2O-like)",
     FC_NEED_ATTN_SUM, fc_score_observed, NULL, {{"ratio", "2"}, SCOPE}},
    {"pyramidkv", "PyramidKVPress: SnapKV scores with a per-layer pyramid budget", FC_NEED_QWINDOW | FC_NEED_LAYER,
     fc_score_snapkv, fc_budget_pyramid, {{"ratio", "2"}, {"window", "64"}, {"kernel", "5"}, {"beta", "20"}, SCOPE}},
    {"ccm", "FastCache CCM: learned window MLPs merge cf tokens into one, per layer, K/V, image/text segment",
     FC_NEED_SPANS | FC_NEED_LAYER, NULL, NULL, {{"weights", ""}, {"segments", "auto"}, {"positions", "auto"}, {"min_windows", "-1"}, SCOPE}},
};
#define N_DEFS ((int)(sizeof defs / sizeof defs[0]))

static const opt_row *find_row(const char *name, size_t n) {
    for (int i = 0; i < N_OPT_ROWS; i++)
        if (strlen(opt_rows[i].name) == n && !strncmp(opt_rows[i].name, name, n)) return &opt_rows[i];
    return NULL;
}

static bool method_has(const fc_compress_def *d, const opt_row *r) {
    for (int i = 0; i < FC_COMPRESS_MAX_OPTS && d->opts[i].name; i++)
        if (!strcmp(d->opts[i].name, r->name)) return true;
    return false;
}

static void list_opts(const fc_compress_def *d, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 0; i < FC_COMPRESS_MAX_OPTS && d->opts[i].name; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? ", " : "", d->opts[i].name);
}

/* Parses value text (n bytes) into o by row r; errors name the method, option and bounds. */
static fc_err set_opt(const fc_compress_def *d, const opt_row *r, const char *val, size_t n, fc_compress_opts *o) {
    char text[512];
    if (n >= sizeof text) return fc_err_set(FC_EINVAL, "%s: value of '%s' is too long", d->name, r->name);
    memcpy(text, val, n);
    text[n] = 0;
    char *p = (char *)o + r->offset;
    if (r->type == OPT_PATH) {
        memcpy(p, text, n + 1);
        return FC_OK;
    }
    if (r->type == OPT_ENUM) {
        for (int i = 0; r->names[i]; i++)
            if (!strcmp(text, r->names[i])) {
                *(int *)p = i;
                return FC_OK;
            }
        return fc_err_set(FC_EINVAL, "%s: option '%s' = '%s', want one of %s", d->name, r->name, text, r->range);
    }
    size_t len = strlen(text);
    if (!strcmp(r->name, "ratio") && len > 1 && (text[len - 1] == 'x' || text[len - 1] == 'X')) text[--len] = 0;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    bool whole = r->type != OPT_INT || v == floor(v);
    if (!len || *end || errno || !isfinite(v) || !whole || v < r->lo || v > r->hi ||
        (!strcmp(r->name, "kernel") && fmod(v, 2) == 0))
        return fc_err_set(FC_EINVAL, "%s: option '%s' = '%s', want %s %s", d->name, r->name, text,
                          r->type == OPT_INT ? "an integer in" : "a number in", r->range);
    if (r->type == OPT_DOUBLE) *(double *)p = v;
    else if (r->offset == OFF(seed)) *(int64_t *)p = (int64_t)v;
    else *(int *)p = (int)v;
    return FC_OK;
}

static void format_spec(fc_compress_method *m) {
    char *s = m->spec;
    size_t cap = sizeof m->spec;
    snprintf(s, cap, "%s", m->def->name);
    for (int i = 0; i < FC_COMPRESS_MAX_OPTS && m->def->opts[i].name; i++) {
        const opt_row *r = find_row(m->def->opts[i].name, strlen(m->def->opts[i].name));
        const char *p = (const char *)&m->o + r->offset;
        size_t at = strlen(s);
        const char *sep = i ? "," : ":";
        if (r->type == OPT_DOUBLE) snprintf(s + at, cap - at, "%s%s=%.17g", sep, r->name, *(const double *)p);
        else if (r->type == OPT_ENUM) snprintf(s + at, cap - at, "%s%s=%s", sep, r->name, r->names[*(const int *)p]);
        else if (r->type == OPT_PATH) snprintf(s + at, cap - at, "%s%s=%s", sep, r->name, p);
        else if (r->offset == OFF(seed)) snprintf(s + at, cap - at, "%s%s=%lld", sep, r->name,
                                                  (long long)*(const int64_t *)p);
        else snprintf(s + at, cap - at, "%s%s=%d", sep, r->name, *(const int *)p);
    }
}

fc_err fc_compress_create(const char *spec, fc_compress_method **out) {
    *out = NULL;
    if (!spec) return fc_err_set(FC_EINVAL, "compression method: empty spec");
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const fc_compress_def *d = NULL;
    for (int i = 0; i < N_DEFS; i++)
        if (strlen(defs[i].name) == nlen && !strncmp(defs[i].name, spec, nlen)) d = &defs[i];
    if (!d) {
        char known[256] = "";
        for (int i = 0; i < N_DEFS; i++) snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                                                  i ? ", " : "", defs[i].name);
        return fc_err_set(FC_EINVAL, "unknown compression method '%.*s' (known: %s)", (int)nlen, spec, known);
    }
    fc_compress_method *m = fc_calloc(1, sizeof *m, "compression method");
    if (!m) return FC_ENOMEM;
    m->def = d;
    fc_err e = FC_OK;
    for (int i = 0; i < FC_COMPRESS_MAX_OPTS && d->opts[i].name && !e; i++) /* defaults go through the parser */
        e = set_opt(d, find_row(d->opts[i].name, strlen(d->opts[i].name)), d->opts[i].def, strlen(d->opts[i].def),
                    &m->o);
    FC_ASSERT(e == FC_OK);
    const char *p = colon ? colon + 1 : NULL;
    while (p && *p && !e) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        const opt_row *r = eq ? find_row(p, (size_t)(eq - p)) : NULL;
        if (!eq) {
            e = fc_err_set(FC_EINVAL, "%s: option '%.*s' has no value (write name=value)", d->name, (int)len, p);
        } else if (!r || !method_has(d, r)) {
            char opts[256];
            list_opts(d, opts, sizeof opts);
            e = fc_err_set(FC_EINVAL, "%s: unknown option '%.*s' (options: %s)", d->name, (int)(eq - p), p, opts);
        } else {
            e = set_opt(d, r, eq + 1, len - (size_t)(eq + 1 - p), &m->o);
        }
        p = comma ? comma + 1 : NULL;
    }
    if (!e && d->score == NULL) { /* ccm */
        if (!m->o.weights[0]) e = fc_err_set(FC_EINVAL, "ccm: option 'weights' (the checkpoint path) is required");
        else e = fc_err_prefix(fc_ccm_load(m->o.weights, &m->ccm), "ccm");
    }
    if (e) {
        fc_compress_free(m);
        return e;
    }
    format_spec(m);
    *out = m;
    return FC_OK;
}

void fc_compress_free(fc_compress_method *m) {
    if (!m) return;
    fc_ccm_free(m->ccm);
    free(m);
}

const char *fc_compress_name(const fc_compress_method *m) { return m->def->name; }
const char *fc_compress_spec(const fc_compress_method *m) { return m->spec; }

unsigned fc_compress_needs(const fc_compress_method *m) {
    return m->def->needs | (m->o.scope == FC_SCOPE_IMAGE ? FC_NEED_SPANS : 0u);
}

int fc_compress_window(const fc_compress_method *m) {
    if (!(m->def->needs & FC_NEED_QWINDOW)) return 0;
    return m->def->score == fc_score_tova ? 1 : m->o.window;
}

int fc_compress_qstats_skip(const fc_compress_method *m) { return m->def->needs & FC_NEED_QSTATS ? m->o.n_sink : 0; }

double fc_compress_ratio(const fc_compress_method *m) {
    return m->ccm ? (double)fc_ccm_get_config(m->ccm)->cf : m->o.ratio;
}

bool fc_compress_renumbers_positions(const fc_compress_method *m) {
    if (!m->ccm) return false;
    int rule = m->o.positions > 0 ? m->o.positions - 1 : (int)fc_ccm_get_config(m->ccm)->position_rule;
    return rule == FC_CCM_POS_COMPRESSED;
}

fc_err fc_compress_check_model(const fc_compress_method *m, int n_layers, int head_dim) {
    if (!m->ccm) return FC_OK;
    const fc_ccm_config *c = fc_ccm_get_config(m->ccm);
    if (c->n_layers != n_layers || c->head_dim != head_dim)
        return fc_err_set(FC_EINVAL, "%s: a CCM checkpoint for %d layers of head dim %d; the model has %d layers of "
                                     "head dim %d", m->o.weights, c->n_layers, c->head_dim, n_layers, head_dim);
    return FC_OK;
}

bool fc_compress_uniform_length(const fc_compress_method *m) { return m->def->budget == NULL; }

int fc_compress_layer_budget(const fc_compress_method *m, int S, int layer, int n_layers) {
    if (!m->def->score) return -1;
    fc_compress_inputs in = {.S = S, .layer = layer, .n_layers = n_layers};
    return m->def->budget ? m->def->budget(&m->o, &in, S) : fc_compress_n_kept(S, fc_compress_cr(m->o.ratio));
}

double fc_compress_kvpress_ratio(const fc_compress_method *m) { return fc_compress_cr(fc_compress_ratio(m)); }

/* ---- one layer ---- */
static fc_err check_inputs(const fc_compress_method *m, const fc_compress_inputs *in, const fc_compress_output *out) {
    const char *nm = m->def->name;
    unsigned needs = fc_compress_needs(m);
    if (in->Hkv < 1 || in->H < in->Hkv || in->H % in->Hkv || in->S < 1 || in->D < 1)
        return fc_err_set(FC_ESHAPE, "%s: layer %d: bad sizes Hkv=%d H=%d S=%d D=%d (H must be a multiple of Hkv)",
                          nm, in->layer, in->Hkv, in->H, in->S, in->D);
    if (!in->k || !in->v || !out->k_out || !out->v_out || (m->def->score && !out->kept))
        return fc_err_set(FC_EINVAL, "%s: layer %d: K, V and the output buffers are required", nm, in->layer);
    if ((needs & FC_NEED_QWINDOW) && !in->q_window)
        return fc_err_set(FC_EINVAL, "%s: layer %d: needs the last %d queries (q_window)", nm, in->layer,
                          fc_compress_window(m));
    if ((needs & FC_NEED_QSTATS) && (!in->qstats || !in->inv_freq))
        return fc_err_set(FC_EINVAL, "%s: layer %d: needs query statistics and the RoPE inv_freq", nm, in->layer);
    if ((needs & FC_NEED_ATTN_SUM) && !in->attn_sum)
        return fc_err_set(FC_EINVAL, "%s: layer %d: needs the prefill attention summed over queries (attn_sum)", nm,
                          in->layer);
    if ((needs & FC_NEED_LAYER) && (in->layer < 0 || in->layer >= in->n_layers))
        return fc_err_set(FC_EINVAL, "%s: layer %d outside [0, %d)", nm, in->layer, in->n_layers);
    if (in->n_spans < 0 || (in->n_spans > 0 && !in->spans))
        return fc_err_set(FC_EINVAL, "%s: layer %d: %d image spans but no span array", nm, in->layer, in->n_spans);
    for (int i = 0; i < in->n_spans; i++)
        if (in->spans[i].start < (i ? in->spans[i - 1].end : 0) || in->spans[i].end <= in->spans[i].start ||
            in->spans[i].end > in->S)
            return fc_err_set(FC_EINVAL, "%s: layer %d: image span %d [%d, %d) is empty, out of order, overlapping or "
                              "outside the prefix of %d tokens", nm, in->layer, i, in->spans[i].start,
                              in->spans[i].end, in->S);
    return FC_OK;
}

fc_err fc_compress_layer(const fc_compress_method *m, const fc_compress_inputs *in, fc_compress_output *out) {
    FC_TRY(check_inputs(m, in, out));
    bool image_only = m->o.scope == FC_SCOPE_IMAGE;
    if (m->ccm) {
        const fc_ccm_config *c = fc_ccm_get_config(m->ccm);
        if (c->head_dim != in->D)
            return fc_err_set(FC_ESHAPE, "ccm: layer %d: head dim %d, the checkpoint is for %d", in->layer, in->D,
                              c->head_dim);
        if (in->n_layers != c->n_layers)
            return fc_err_set(FC_ESHAPE, "ccm: the model has %d layers, the checkpoint %d", in->n_layers, c->n_layers);
        out->merged = true;
        fc_ccm_run_opts ro = {m->o.segments - 1, m->o.min_windows, image_only};
        return fc_ccm_apply_layer(m->ccm, in->layer, in->k, in->v, in->Hkv, in->S, in->spans, in->n_spans, &ro,
                                  out->k_out, out->v_out, &out->n_out);
    }
    uint8_t *cand = NULL;
    int n_cand = in->S;
    if (image_only) {
        cand = fc_calloc((size_t)in->S, 1, "compress candidates");
        if (!cand) return FC_ENOMEM;
        n_cand = 0;
        for (int i = 0; i < in->n_spans; i++)
            for (int j = in->spans[i].start; j < in->spans[i].end; j++) cand[j] = 1, n_cand++;
    }
    float *scores = fc_malloc(sizeof(float) * (size_t)in->Hkv * in->S, "compress scores");
    fc_err e = scores ? m->def->score(&m->o, in, scores) : FC_ENOMEM;
    if (!e) {
        int n_sel = m->def->budget ? m->def->budget(&m->o, in, n_cand)
                                   : fc_compress_n_kept(n_cand, fc_compress_cr(m->o.ratio));
        if (n_cand == 0) n_sel = 0;
        e = fc_compress_select(in, scores, cand, n_sel, out);
    }
    free(scores);
    free(cand);
    return e;
}

fc_err fc_compress_scores(const fc_compress_method *m, const fc_compress_inputs *in, float *scores) {
    if (!m->def->score) return fc_err_set(FC_EUNSUPPORTED, "%s merges entries; it has no scores", m->def->name);
    fc_compress_output none = {scores, scores, (int32_t *)scores, 0, false}; /* only checked for NULL */
    FC_TRY(check_inputs(m, in, &none));
    return m->def->score(&m->o, in, scores);
}

/* ---- listing ---- */
int fc_compress_n_methods(void) { return N_DEFS; }

const char *fc_compress_method_info(int i, const char **summary, const fc_compress_option_info **opts, int *n_opts) {
    static fc_compress_option_info info[N_DEFS][FC_COMPRESS_MAX_OPTS];
    if (i < 0 || i >= N_DEFS) return NULL;
    int n = 0;
    for (; n < FC_COMPRESS_MAX_OPTS && defs[i].opts[n].name; n++) {
        const opt_row *r = find_row(defs[i].opts[n].name, strlen(defs[i].opts[n].name));
        info[i][n] = (fc_compress_option_info){r->name, defs[i].opts[n].def, r->range, r->help};
    }
    if (summary) *summary = defs[i].summary;
    if (opts) *opts = info[i];
    if (n_opts) *n_opts = n;
    return defs[i].name;
}
