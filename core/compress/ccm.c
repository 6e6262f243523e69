/* ccm.c: loading a CCM checkpoint and its inference forward (window MLPs over segments). See ccm.h. */
#include "core/compress/ccm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/compress/internal.h"
#include "core/io/safetensors.h"
#include "kernels/ops.h"
#include "kernels/wpack.h"

static const char *const kind_names[] = {"ik", "iv", "tk", "tv"};
static const char *const seg_names[] = {"spans", "prefix", "whole"};
static const char *const pos_names[] = {"compressed", "original"};
_Static_assert(sizeof kind_names / sizeof *kind_names == FC_CCM_KIND_COUNT, "kind_names out of sync");
_Static_assert(sizeof seg_names / sizeof *seg_names == FC_CCM_SEG_COUNT, "seg_names out of sync");
_Static_assert(sizeof pos_names / sizeof *pos_names == FC_CCM_POS_COUNT, "pos_names out of sync");

const char *fc_ccm_kind_name(fc_ccm_kind k) { return (unsigned)k < FC_CCM_KIND_COUNT ? kind_names[k] : "?"; }
const char *fc_ccm_seg_rule_name(fc_ccm_seg_rule r) { return (unsigned)r < FC_CCM_SEG_COUNT ? seg_names[r] : "?"; }
const char *fc_ccm_pos_rule_name(fc_ccm_pos_rule r) { return (unsigned)r < FC_CCM_POS_COUNT ? pos_names[r] : "?"; }

struct fc_ccm {
    fc_ccm_config cfg;
    float *params;  /* every weight and bias, f32, one allocation */
    float **w, **b; /* [(layer * 4 + kind) * depth + j]; NULL for absent ik/iv */
    fc_tensor *wt;  /* the same weights as tensors; with --precision bf16 each carries its packed copy
                     * (kernels/wpack.h) and the MLP runs through fc_op_linear; NULL with f32 */
    int n_mlp;
};

static fc_err pack_weights(fc_ccm *c);

void fc_ccm_free(fc_ccm *c) {
    if (!c) return;
    for (int i = 0; c->wt && i < c->n_mlp; i++) fc_wpack_release(&c->wt[i]);
    free(c->wt);
    free(c->params);
    free(c->w);
    free(c->b);
    free(c);
}

const fc_ccm_config *fc_ccm_get_config(const fc_ccm *c) { return &c->cfg; }

static fc_err meta_int(const fc_st_file *f, const char *key, long lo, long hi, int *out) {
    const char *s = fc_st_meta(f, key);
    if (!s) return fc_err_set(FC_ENOTFOUND, "%s: metadata key '%s' is missing", f->path, key);
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return fc_err_set(FC_EFORMAT, "%s: metadata '%s' = '%s', want an integer in [%ld, %ld]", f->path, key, s, lo,
                          hi);
    *out = (int)v;
    return FC_OK;
}

static fc_err meta_enum(const fc_st_file *f, const char *key, const char *const *names, int n, int *out) {
    const char *s = fc_st_meta(f, key);
    if (!s) return fc_err_set(FC_ENOTFOUND, "%s: metadata key '%s' is missing", f->path, key);
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return FC_OK;
        }
    return fc_err_set(FC_EFORMAT, "%s: metadata '%s' = '%s' is not one of the known values (e.g. '%s')", f->path,
                      key, s, names[0]);
}

static fc_err read_config(const fc_st_file *f, fc_ccm_config *c) {
    const char *fmt = fc_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "fastcache-ccm"))
        return fc_err_set(FC_EFORMAT, "%s: metadata 'format' is %s%s%s, want 'fastcache-ccm' (convert FastCache .pth "
                          "files with tools/convert_fastcache_pth.py)", f->path, fmt ? "'" : "", fmt ? fmt : "missing",
                          fmt ? "'" : "");
    int ver = 0, has_image = 0, seg = 0, pos = 0;
    FC_TRY(meta_int(f, "format_version", 1, 1, &ver));
    FC_TRY(meta_int(f, "n_layers", 1, 1024, &c->n_layers));
    FC_TRY(meta_int(f, "head_dim", 1, 4096, &c->head_dim));
    FC_TRY(meta_int(f, "cf", 1, 64, &c->cf));
    FC_TRY(meta_int(f, "hidden", 1, 65536, &c->hidden));
    FC_TRY(meta_int(f, "depth", 1, 16, &c->depth));
    FC_TRY(meta_int(f, "min_windows", 0, 1 << 20, &c->min_windows));
    FC_TRY(meta_int(f, "has_image", 0, 1, &has_image));
    FC_TRY(meta_enum(f, "segment_rule", seg_names, FC_CCM_SEG_COUNT, &seg));
    FC_TRY(meta_enum(f, "position_rule", pos_names, FC_CCM_POS_COUNT, &pos));
    c->has_image = has_image;
    c->segment_rule = (fc_ccm_seg_rule)seg;
    c->position_rule = (fc_ccm_pos_rule)pos;
    if (c->segment_rule != FC_CCM_SEG_WHOLE && !c->has_image)
        return fc_err_set(FC_EFORMAT, "%s: segment_rule '%s' needs image MLPs but has_image is 0", f->path,
                          seg_names[seg]);
    const char *fam = fc_st_meta(f, "family");
    snprintf(c->family, sizeof c->family, "%s", fam ? fam : "unknown");
    return FC_OK;
}

/* in/out sizes of Linear j of the window MLP */
static void linear_dims(const fc_ccm_config *c, int j, int *in, int *out) {
    *in = j == 0 ? c->cf * c->head_dim : c->hidden;
    *out = j == c->depth - 1 ? c->head_dim : c->hidden;
}

static fc_err load_param(const fc_st_file *f, const char *name, int ndim, const int64_t *shape, float *dst) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return fc_err_set(FC_ENOTFOUND, "%s: tensor '%s' is missing", f->path, name);
    bool ok = e->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = e->shape[i] == shape[i];
    if (!ok) {
        char want[64], got[64];
        fc_shape_str(want, sizeof want, ndim, shape);
        fc_shape_str(got, sizeof got, e->ndim > FC_MAX_DIMS ? FC_MAX_DIMS : e->ndim, e->shape);
        return fc_err_set(FC_ESHAPE, "%s: tensor '%s' has shape %s, the metadata says %s", f->path, name, got, want);
    }
    fc_tensor src;
    fc_err err = fc_st_tensor(e, &src);
    if (err || src.dtype == FC_DTYPE_I32)
        return fc_err_set(err ? err : FC_EUNSUPPORTED, "%s: tensor '%s' has dtype %s, want F32, F16 or BF16", f->path,
                          name, fc_st_dtype_name(e->st_dtype));
    fc_tensor dt = fc_tensor_view(dst, FC_DTYPE_F32, FC_DEVICE_CPU, ndim, shape);
    return fc_err_prefix(fc_tensor_copy(&dt, &src), "%s: tensor '%s'", f->path, name);
}

static fc_err load_weights(const fc_st_file *f, fc_ccm *c) {
    const fc_ccm_config *g = &c->cfg;
    size_t n_mlp = (size_t)g->n_layers * FC_CCM_KIND_COUNT * g->depth, total = 0;
    for (int j = 0; j < g->depth; j++) {
        int in, out;
        linear_dims(g, j, &in, &out);
        total += (size_t)out * in + out;
    }
    total *= (size_t)g->n_layers * (g->has_image ? 4 : 2);
    c->params = fc_malloc(total * sizeof(float), "ccm weights");
    c->w = fc_calloc(n_mlp, sizeof(float *), "ccm weights");
    c->b = fc_calloc(n_mlp, sizeof(float *), "ccm weights");
    if (!c->params || !c->w || !c->b) return FC_ENOMEM;
    float *p = c->params;
    int expected = 0;
    for (int l = 0; l < g->n_layers; l++)
        for (int k = g->has_image ? 0 : FC_CCM_TK; k < FC_CCM_KIND_COUNT; k++)
            for (int j = 0; j < g->depth; j++) {
                int in, out;
                linear_dims(g, j, &in, &out);
                char name[96];
                size_t at = ((size_t)l * FC_CCM_KIND_COUNT + k) * g->depth + j;
                snprintf(name, sizeof name, "ccm.layers.%d.%s.%d.weight", l, kind_names[k], j);
                FC_TRY(load_param(f, name, 2, (int64_t[]){out, in}, p));
                c->w[at] = p, p += (size_t)out * in;
                snprintf(name, sizeof name, "ccm.layers.%d.%s.%d.bias", l, kind_names[k], j);
                FC_TRY(load_param(f, name, 1, (int64_t[]){out}, p));
                c->b[at] = p, p += out;
                expected += 2;
            }
    if (f->n_entries != expected) /* a tensor we did not read means the metadata and the file disagree */
        for (int i = 0; i < f->n_entries; i++) {
            const char *nm = f->entries[i].name;
            int l, j, n = 0;
            char kind[3];
            if (sscanf(nm, "ccm.layers.%d.%2[a-z].%d.%*[a-z]%n", &l, kind, &j, &n) < 3 || nm[n] || l >= g->n_layers ||
                j >= g->depth || (!g->has_image && kind[0] == 'i'))
                return fc_err_set(FC_EFORMAT, "%s: unexpected tensor '%s' (metadata: n_layers %d, depth %d, has_image "
                                  "%d)", f->path, nm, g->n_layers, g->depth, g->has_image);
        }
    return FC_OK;
}

fc_err fc_ccm_load(const char *path, fc_ccm **out) {
    *out = NULL;
    fc_st_file f;
    FC_TRY(fc_st_open(&f, path));
    fc_ccm *c = fc_calloc(1, sizeof *c, "ccm");
    fc_err e = c ? read_config(&f, &c->cfg) : FC_ENOMEM;
    if (!e) e = load_weights(&f, c);
    if (!e) e = pack_weights(c);
    fc_st_close(&f);
    if (e) {
        fc_ccm_free(c);
        return e;
    }
    *out = c;
    return FC_OK;
}

int fc_ccm_segments(fc_ccm_seg_rule rule, int S, const fc_compress_span *spans, int n_spans, fc_ccm_segment *segs) {
    for (int i = 0; i < n_spans; i++)
        if (spans[i].start < (i ? spans[i - 1].end : 0) || spans[i].end <= spans[i].start || spans[i].end > S) {
            fc_err_set(FC_EINVAL, "image span %d [%d, %d) is empty, out of order, overlaps the previous one or "
                       "leaves the prefix of %d tokens", i, spans[i].start, spans[i].end, S);
            return -1;
        }
    int n = 0;
    if (rule == FC_CCM_SEG_WHOLE || n_spans == 0) {
        segs[n++] = (fc_ccm_segment){0, S, false};
    } else if (rule == FC_CCM_SEG_PREFIX) {
        int end = spans[n_spans - 1].end;
        segs[n++] = (fc_ccm_segment){0, end, true};
        if (end < S) segs[n++] = (fc_ccm_segment){end, S - end, false};
    } else {
        int pos = 0;
        for (int i = 0; i < n_spans; i++) {
            if (spans[i].start > pos) segs[n++] = (fc_ccm_segment){pos, spans[i].start - pos, false};
            segs[n++] = (fc_ccm_segment){spans[i].start, spans[i].end - spans[i].start, true};
            pos = spans[i].end;
        }
        if (pos < S) segs[n++] = (fc_ccm_segment){pos, S - pos, false};
    }
    return n;
}

static int out_len(int cf, int min_windows, int len) {
    int n = len / cf;
    return n < min_windows || n == 0 ? len : n + len % cf;
}

int fc_ccm_segment_out_len(const fc_ccm *c, int len) { return out_len(c->cfg.cf, c->cfg.min_windows, len); }

/* --precision bf16: every MLP weight packed once at load for the bf16 GEMM (kernels/wpack.h). */
static fc_err pack_weights(fc_ccm *c) {
    if (fc_precision_get() == FC_PREC_F32) return FC_OK;
    size_t n_mlp = (size_t)c->cfg.n_layers * FC_CCM_KIND_COUNT * c->cfg.depth;
    c->wt = fc_calloc(n_mlp, sizeof *c->wt, "ccm packed weights");
    if (!c->wt) return FC_ENOMEM;
    c->n_mlp = (int)n_mlp;
    const fc_ccm_config *g = &c->cfg;
    for (size_t at = 0; at < n_mlp; at++) {
        if (!c->w[at]) continue;
        int din, dout;
        linear_dims(g, (int)(at % (size_t)g->depth), &din, &dout);
        c->wt[at] = fc_tensor_view(c->w[at], FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){dout, din});
        FC_TRY(fc_wpack_tensor(&c->wt[at]));
    }
    return FC_OK;
}

/* y rows (n, D) = the MLP of x rows (n, cf*D), both contiguous; h1, h2 scratch (n, hidden). */
static fc_err mlp_rows(const fc_ccm *c, size_t at, const float *x, int n, float *h1, float *h2, float *y) {
    const fc_ccm_config *g = &c->cfg;
    const float *in = x;
    for (int j = 0; j < g->depth; j++) {
        int din, dout;
        linear_dims(g, j, &din, &dout);
        bool last = j == g->depth - 1;
        float *o = last ? y : (j % 2 ? h2 : h1);
        if (c->wt && c->wt[at + j].pack) { /* bf16 GEMM, bias included */
            fc_tensor xt = fc_tensor_view((float *)in, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){n, din});
            fc_tensor ot = fc_tensor_view(o, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){n, dout});
            fc_tensor bt = fc_tensor_view(c->b[at + j], FC_DTYPE_F32, FC_DEVICE_CPU, 1, (int64_t[]){dout});
            FC_TRY(fc_op_linear(&ot, &xt, &c->wt[at + j], &bt));
        } else {
            for (int r = 0; r < n; r++) memcpy(o + (size_t)r * dout, c->b[at + j], sizeof(float) * dout);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, dout, din, 1.0f, in, din, c->w[at + j], din, 1.0f,
                        o, dout);
        }
        if (!last)
            for (size_t i = 0; i < (size_t)n * dout; i++) o[i] = o[i] > 0 ? o[i] : 0.0f;
        in = o;
    }
    return FC_OK;
}

/* A run of n consecutive windows of one head in one segment: the MLP's input rows are src (n, cf*D; a
 * window of cf rows of [S, D] is cf*D consecutive floats), its output rows go to dst (n, D). */
typedef struct {
    const float *src;
    float *dst;
    int n;
} window_run;

/* Scratch of one batched MLP call: at most `rows` rows of input (cf*D), two hidden (hidden) and output (D). */
typedef struct {
    float *x, *h1, *h2, *y;
    int rows;
} mlp_scratch;

/* rows per batched MLP call: every window of a layer's segments in one GEMM, bounded to ~32 MiB of scratch
 * (long prompts are cut into chunks; a row's result does not depend on the chunk it is in beyond the
 * GEMM's own rounding) */
#define MLP_SCRATCH_FLOATS ((size_t)8 << 20)
static int batch_rows_cap; /* tests only (internal.h): rows per call at most; 0 = the bound above */
void fc_ccm_set_batch_rows(int rows) { batch_rows_cap = rows > 0 ? rows : 0; }

static fc_err scratch_make(const fc_ccm_config *g, int max_rows, mlp_scratch *s) {
    memset(s, 0, sizeof *s);
    if (max_rows < 1) return FC_OK;
    size_t per_row = (size_t)g->cf * g->head_dim + 2 * (size_t)g->hidden + g->head_dim;
    size_t cap = MLP_SCRATCH_FLOATS / per_row;
    if (batch_rows_cap && (size_t)batch_rows_cap < cap) cap = (size_t)batch_rows_cap;
    s->rows = cap < 1 ? 1 : cap < (size_t)max_rows ? (int)cap : max_rows;
    s->x = fc_malloc(sizeof(float) * per_row * (size_t)s->rows, "ccm activations");
    if (!s->x) return FC_ENOMEM;
    s->h1 = s->x + (size_t)s->rows * g->cf * g->head_dim;
    s->h2 = s->h1 + (size_t)s->rows * g->hidden;
    s->y = s->h2 + (size_t)s->rows * g->hidden;
    return FC_OK;
}

/* The MLP at `at` over every window of runs[0..n_runs): windows gathered into s->x up to s->rows at a
 * time, one MLP call per chunk, outputs scattered back. */
static fc_err mlp_runs(const fc_ccm *c, size_t at, const window_run *runs, int n_runs, mlp_scratch *s) {
    const size_t in_w = (size_t)c->cfg.cf * c->cfg.head_dim, D = (size_t)c->cfg.head_dim;
    int u = 0, off = 0; /* next window: run u, window off */
    while (u < n_runs) {
        int m = 0, u0 = u, off0 = off;
        while (m < s->rows && u < n_runs) {
            int take = runs[u].n - off < s->rows - m ? runs[u].n - off : s->rows - m;
            memcpy(s->x + (size_t)m * in_w, runs[u].src + (size_t)off * in_w, sizeof(float) * in_w * (size_t)take);
            m += take, off += take;
            if (off == runs[u].n) u++, off = 0;
        }
        if (m == 0) break; /* only empty runs left */
        FC_TRY(mlp_rows(c, at, s->x, m, s->h1, s->h2, s->y));
        for (int r = 0; r < m;) {
            int take = runs[u0].n - off0 < m - r ? runs[u0].n - off0 : m - r;
            memcpy(runs[u0].dst + (size_t)off0 * D, s->y + (size_t)r * D, sizeof(float) * D * (size_t)take);
            r += take, off0 += take;
            if (off0 == runs[u0].n) u0++, off0 = 0;
        }
    }
    return FC_OK;
}

/* Index of the first weight of (layer, kind)'s MLP, or an error when the checkpoint has none. */
static fc_err mlp_index(const fc_ccm *c, int layer, fc_ccm_kind kind, size_t *at) {
    const fc_ccm_config *g = &c->cfg;
    if (layer < 0 || layer >= g->n_layers)
        return fc_err_set(FC_EINVAL, "ccm: layer %d outside the checkpoint's %d layers", layer, g->n_layers);
    if ((unsigned)kind >= FC_CCM_KIND_COUNT) return fc_err_set(FC_EINVAL, "ccm: MLP kind %d does not exist", kind);
    *at = ((size_t)layer * FC_CCM_KIND_COUNT + kind) * g->depth;
    if (!c->w[*at])
        return fc_err_set(FC_EINVAL, "ccm: the checkpoint has no '%s' MLP (has_image 0)", fc_ccm_kind_name(kind));
    return FC_OK;
}

/* One segment of the layer plan: where it is read and written, whether its windows go through an MLP. */
typedef struct {
    int start, len, out_pos, n_win; /* n_win: windows compressed (0: the segment is copied raw) */
    bool image;
} seg_plan;

/* Runs one layer's plan for x -> y ([Hkv, S_in, D] -> [Hkv, S_out, D]): per MLP kind (image, text) one
 * batched MLP over the windows of every head and segment of that kind, then the raw rows copied. */
static fc_err run_plan(const fc_ccm *c, int layer, const seg_plan *p, int ns, bool is_v, const float *x, int Hkv,
                       int S_in, float *y, int S_out) {
    const int D = c->cfg.head_dim, cf = c->cfg.cf;
    int rows[2] = {0, 0};
    for (int i = 0; i < ns; i++) rows[p[i].image] += p[i].n_win * Hkv;
    size_t at[2] = {0, 0};
    for (int img = 0; img < 2; img++)
        if (rows[img])
            FC_TRY(mlp_index(c, layer, img ? (is_v ? FC_CCM_IV : FC_CCM_IK) : (is_v ? FC_CCM_TV : FC_CCM_TK), &at[img]));
    mlp_scratch s = {0};
    window_run *runs = fc_malloc(sizeof *runs * ((size_t)ns * Hkv + 1), "ccm window runs");
    fc_err e = runs ? scratch_make(&c->cfg, rows[0] > rows[1] ? rows[0] : rows[1], &s) : FC_ENOMEM;
    for (int img = 0; img < 2 && !e; img++) {
        if (!rows[img]) continue;
        int n_runs = 0;
        for (int i = 0; i < ns; i++)
            for (int hd = 0; p[i].image == img && p[i].n_win && hd < Hkv; hd++)
                runs[n_runs++] = (window_run){x + ((size_t)hd * S_in + p[i].start) * D,
                                              y + ((size_t)hd * S_out + p[i].out_pos) * D, p[i].n_win};
        e = mlp_runs(c, at[img], runs, n_runs, &s);
    }
    for (int i = 0; i < ns && !e; i++) { /* rows after the last whole window (or the whole raw segment) */
        int done = p[i].n_win * cf;
        for (int hd = 0; hd < Hkv; hd++)
            memcpy(y + ((size_t)hd * S_out + p[i].out_pos + p[i].n_win) * D,
                   x + ((size_t)hd * S_in + p[i].start + done) * D, sizeof(float) * (size_t)(p[i].len - done) * D);
    }
    free(s.x);
    free(runs);
    return e;
}

static fc_err apply_segment(const fc_ccm *c, int layer, fc_ccm_kind kind, const float *x, int Hkv, int S_in,
                            int start, int len, int min_windows, float *y, int S_out, int out_pos) {
    size_t at;
    FC_TRY(mlp_index(c, layer, kind, &at));
    int olen = out_len(c->cfg.cf, min_windows, len);
    if (start < 0 || len < 0 || start + len > S_in || out_pos < 0 || out_pos + olen > S_out)
        return fc_err_set(FC_EINVAL, "ccm: segment [%d, +%d) -> [%d, +%d) outside %d input / %d output rows", start,
                          len, out_pos, olen, S_in, S_out);
    bool image = kind == FC_CCM_IK || kind == FC_CCM_IV, is_v = kind == FC_CCM_IV || kind == FC_CCM_TV;
    seg_plan p = {start, len, out_pos, olen == len ? 0 : len / c->cfg.cf, image};
    return run_plan(c, layer, &p, 1, is_v, x, Hkv, S_in, y, S_out);
}

fc_err fc_ccm_apply_segment(const fc_ccm *c, int layer, fc_ccm_kind kind, const float *x, int Hkv, int S_in,
                            int start, int len, float *y, int S_out, int out_pos) {
    return apply_segment(c, layer, kind, x, Hkv, S_in, start, len, c->cfg.min_windows, y, S_out, out_pos);
}

fc_err fc_ccm_apply_layer(const fc_ccm *c, int layer, const float *k, const float *v, int Hkv, int S,
                          const fc_compress_span *spans, int n_spans, const fc_ccm_run_opts *opts, float *k_out,
                          float *v_out, int *n_out) {
    if (layer < 0 || layer >= c->cfg.n_layers)
        return fc_err_set(FC_EINVAL, "ccm: layer %d outside the checkpoint's %d layers", layer, c->cfg.n_layers);
    int min_windows = opts->min_windows < 0 ? c->cfg.min_windows : opts->min_windows;
    bool image_only = opts->image_only;
    fc_ccm_seg_rule rule = opts->segment_rule < 0 ? c->cfg.segment_rule : (fc_ccm_seg_rule)opts->segment_rule;
    if (rule != FC_CCM_SEG_WHOLE && n_spans > 0 && !c->cfg.has_image)
        return fc_err_set(FC_EINVAL, "ccm: segment rule '%s' needs image MLPs; this checkpoint (%s) has none: use "
                          "segments=whole", fc_ccm_seg_rule_name(rule), c->cfg.family);
    fc_ccm_segment *segs = fc_malloc(sizeof *segs * (2 * (size_t)(n_spans > 0 ? n_spans : 0) + 1), "ccm segments");
    if (!segs) return FC_ENOMEM;
    int ns = fc_ccm_segments(rule, S, spans, n_spans, segs);
    fc_err e = ns < 0 ? fc_err_prefix(FC_EINVAL, "ccm: layer %d", layer) : FC_OK;
    int total = 0;
    for (int i = 0; i < ns; i++) {
        bool keep_raw = image_only && !segs[i].image;
        total += keep_raw ? segs[i].len : out_len(c->cfg.cf, min_windows, segs[i].len);
    }
    seg_plan *plan = e ? NULL : fc_malloc(sizeof *plan * ((size_t)ns + 1), "ccm segments");
    if (!e && !plan) e = FC_ENOMEM;
    int pos = 0;
    for (int i = 0; i < ns && !e; i++) {
        const fc_ccm_segment *s = &segs[i];
        int mw = image_only && !s->image ? 1 << 30 : min_windows; /* 2^30 windows: always raw */
        int olen = out_len(c->cfg.cf, mw, s->len);
        plan[i] = (seg_plan){s->start, s->len, pos, olen == s->len ? 0 : s->len / c->cfg.cf, s->image};
        pos += olen;
    }
    if (!e) e = run_plan(c, layer, plan, ns, false, k, Hkv, S, k_out, total);
    if (!e) e = run_plan(c, layer, plan, ns, true, v, Hkv, S, v_out, total);
    free(plan);
    free(segs);
    if (e) return e;
    FC_ASSERT(pos == total);
    *n_out = total;
    return FC_OK;
}
