/* test_compress_ccm.c: FastCache's CCM forward against torch, checkpoint loading and its errors.
 *
 * tests/fixtures/compress/ccm_weights.safetensors is a random-init FastCache LLaVA compressor (the exact
 * nn.Module structure, D=32, cf=5, 2 layers) converted by tools/convert_fastcache_pth.py; ccm_ref holds
 * random K, V [3, 97, 32] and torch's compress_layer outputs per segment rule (tools/make_compress_fixtures.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/compress/ccm.h"
#include "core/compress/compress.h"
#include "core/io/safetensors.h"
#include "tests/test.h"

#define WEIGHTS "tests/fixtures/compress/ccm_weights.safetensors"
#define REF "tests/fixtures/compress/ccm_ref.safetensors"

static const float *ref_f32(fc_test *t, const fc_st_file *f, const char *name, int64_t *numel) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e || e->st_dtype != FC_ST_F32) {
        fc_test_fail(t, "%s: tensor '%s' missing or not F32", f->path, name);
        return NULL;
    }
    *numel = 1;
    for (int i = 0; i < e->ndim; i++) *numel *= e->shape[i];
    return e->data;
}

static void test_config_from_metadata(fc_test *t) {
    fc_ccm *c;
    FC_CHECK(t, fc_ccm_load(WEIGHTS, &c) == FC_OK, "%s", fc_errmsg());
    const fc_ccm_config *g = fc_ccm_get_config(c);
    FC_CHECK(t, g->n_layers == 2 && g->head_dim == 32 && g->cf == 5 && g->hidden == 32 && g->depth == 3 &&
                    g->min_windows == 2 && g->has_image && !strcmp(g->family, "llava"),
             "config %d %d %d %d %d %d %d %s", g->n_layers, g->head_dim, g->cf, g->hidden, g->depth, g->min_windows,
             g->has_image, g->family);
    FC_CHECK(t, g->segment_rule == FC_CCM_SEG_PREFIX && g->position_rule == FC_CCM_POS_COMPRESSED, "rules");
    /* out lengths by the spec's rule: S -> S/5 + S%5, raw below 2 windows */
    FC_CHECK(t, fc_ccm_segment_out_len(c, 53) == 13 && fc_ccm_segment_out_len(c, 9) == 9 &&
                    fc_ccm_segment_out_len(c, 10) == 2 && fc_ccm_segment_out_len(c, 0) == 0, "out_len");
    fc_ccm_free(c);
    fc_ccm_free(NULL);
}

static void test_segments(fc_test *t) {
    fc_ccm_segment s[5];
    fc_compress_span sp[2] = {{2, 9}, {40, 91}};
    int n = fc_ccm_segments(FC_CCM_SEG_SPANS, 97, sp, 2, s);
    FC_CHECK(t, n == 5 && s[0].start == 0 && s[0].len == 2 && !s[0].image && s[1].start == 2 && s[1].len == 7 &&
                    s[1].image && s[2].len == 31 && s[3].start == 40 && s[3].len == 51 && s[4].len == 6, "spans n=%d", n);
    n = fc_ccm_segments(FC_CCM_SEG_PREFIX, 97, sp, 2, s);
    FC_CHECK(t, n == 2 && s[0].len == 91 && s[0].image && s[1].start == 91 && !s[1].image, "prefix");
    n = fc_ccm_segments(FC_CCM_SEG_WHOLE, 97, sp, 2, s);
    FC_CHECK(t, n == 1 && s[0].len == 97 && !s[0].image, "whole");
    fc_compress_span end[1] = {{90, 97}};
    n = fc_ccm_segments(FC_CCM_SEG_SPANS, 97, end, 1, s);
    FC_CHECK(t, n == 2 && s[1].start == 90 && s[1].len == 7, "span at the end");
    fc_compress_span bad[2] = {{40, 91}, {2, 9}};
    FC_CHECK(t, fc_ccm_segments(FC_CCM_SEG_SPANS, 97, bad, 2, s) == -1 && strstr(fc_errmsg(), "image span 1 [2, 9)"),
             "%s", fc_errmsg());
    fc_compress_span out[1] = {{90, 98}};
    FC_CHECK(t, fc_ccm_segments(FC_CCM_SEG_SPANS, 97, out, 1, s) == -1, "span past the end");
}

/* Each case of the fixture through the method interface ("ccm:weights=...,segments=<rule>"). Tolerance:
 * both sides are f32 GEMMs of 160-long dot products (torch's CPU matmul vs OpenBLAS), outputs of order 1:
 * 1e-5 absolute + 1e-5 relative, as the task asks. */
static void test_matches_torch(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, REF) == FC_OK, "%s", fc_errmsg());
    const char *names[] = {"spans", "two", "prefix", "whole"};
    const int Hkv = 3, S = 97, D = 32, L = 2;
    float *ko = malloc(sizeof(float) * Hkv * S * D), *vo = malloc(sizeof(float) * Hkv * S * D);
    for (int c = 0; c < 4 && !t->failed; c++) {
        char spec[256], nm[64];
        snprintf(spec, sizeof spec, "ccm:weights=%s,segments=%s", WEIGHTS, names[c][0] == 't' ? "spans" : names[c]);
        fc_compress_method *m;
        FC_CHECK(t, fc_compress_create(spec, &m) == FC_OK, "%s", fc_errmsg());
        FC_CHECK(t, fc_compress_ratio(m) == 5 && (fc_compress_needs(m) & FC_NEED_SPANS), "ccm ratio/needs");
        snprintf(nm, sizeof nm, "%s.spans", names[c]);
        const fc_st_entry *se = fc_st_find(&f, nm);
        FC_CHECK(t, se && se->st_dtype == FC_ST_I32 && se->ndim == 2, "%s", nm);
        const int32_t *sp = se->data;
        fc_compress_span spans[4];
        for (int i = 0; i < se->shape[0]; i++) spans[i] = (fc_compress_span){sp[2 * i], sp[2 * i + 1]};
        for (int l = 0; l < L && !t->failed; l++) {
            int64_t n;
            snprintf(nm, sizeof nm, "L%d.k", l);
            const float *k = ref_f32(t, &f, nm, &n);
            snprintf(nm, sizeof nm, "L%d.v", l);
            const float *v = ref_f32(t, &f, nm, &n);
            snprintf(nm, sizeof nm, "%s.L%d.k_out", names[c], l);
            const float *kw = ref_f32(t, &f, nm, &n);
            snprintf(nm, sizeof nm, "%s.L%d.v_out", names[c], l);
            const float *vw = ref_f32(t, &f, nm, &n);
            if (!k || !v || !kw || !vw) break;
            fc_compress_inputs in = {.Hkv = Hkv, .H = Hkv, .S = S, .D = D, .k = k, .v = v, .layer = l, .n_layers = L,
                                     .spans = spans, .n_spans = (int)se->shape[0]};
            fc_compress_output o = {ko, vo, NULL, 0, false};
            FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_OK, "%s layer %d: %s", names[c], l, fc_errmsg());
            FC_CHECK(t, o.merged && (int64_t)Hkv * o.n_out * D == n, "%s layer %d: n_out %d, torch %lld", names[c], l,
                     o.n_out, (long long)(n / Hkv / D));
            snprintf(nm, sizeof nm, "%s layer %d K", names[c], l);
            fc_test_close(t, nm, ko, kw, (size_t)n, 1e-5, 1e-5);
            snprintf(nm, sizeof nm, "%s layer %d V", names[c], l);
            fc_test_close(t, nm, vo, vw, (size_t)n, 1e-5, 1e-5);
        }
        fc_compress_free(m);
    }
    free(ko), free(vo);
    fc_st_close(&f);
}

/* scope=image: text segments come out unchanged, image segments compressed (lengths from the definition). */
static void test_scope_image_keeps_text(fc_test *t) {
    fc_compress_method *m;
    FC_CHECK(t, fc_compress_create("ccm:weights=" WEIGHTS ",segments=spans,scope=image", &m) == FC_OK, "%s",
             fc_errmsg());
    const int Hkv = 2, S = 40, D = 32;
    float *k = calloc((size_t)Hkv * S * D, sizeof(float)), *v = calloc((size_t)Hkv * S * D, sizeof(float));
    float *ko = malloc(sizeof(float) * Hkv * S * D), *vo = malloc(sizeof(float) * Hkv * S * D);
    for (int i = 0; i < Hkv * S * D; i++) k[i] = (float)(i % 7) - 3, v[i] = (float)(i % 5);
    fc_compress_span sp[1] = {{8, 30}}; /* text 8 raw | image 22 -> 4 + 2 | text 10 raw */
    fc_compress_inputs in = {.Hkv = Hkv, .H = Hkv, .S = S, .D = D, .k = k, .v = v, .layer = 1, .n_layers = 2,
                             .spans = sp, .n_spans = 1};
    fc_compress_output o = {ko, vo, NULL, 0, false};
    FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, o.n_out == 8 + 6 + 10, "n_out %d", o.n_out);
    for (int h = 0; h < Hkv; h++) {
        FC_CHECK(t, !memcmp(ko + (size_t)h * o.n_out * D, k + (size_t)h * S * D, sizeof(float) * 8 * D), "head text");
        FC_CHECK(t, !memcmp(ko + ((size_t)h * o.n_out + 12) * D, k + ((size_t)h * S + 28) * D, sizeof(float) * 12 * D),
                 "remainder + tail text");
    }
    in.layer = 2;
    FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_EINVAL && strstr(fc_errmsg(), "layer 2 outside"), "%s",
             fc_errmsg());
    in.layer = 0, in.D = 16;
    FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_ESHAPE && strstr(fc_errmsg(), "head dim 16"), "%s", fc_errmsg());
    free(k), free(v), free(ko), free(vo);
    fc_compress_free(m);
}

/* The MiniCPM layout (tk/tv only): its rule is "whole", so image spans do not matter; asking for image
 * segments is refused by name. Output lengths from the definition: 60 tokens -> 12 windows. */
static void test_minicpm_layout(fc_test *t) {
    fc_ccm *c;
    FC_CHECK(t, fc_ccm_load("tests/fixtures/compress/ccm_minicpm.safetensors", &c) == FC_OK, "%s", fc_errmsg());
    const fc_ccm_config *g = fc_ccm_get_config(c);
    FC_CHECK(t, !g->has_image && g->segment_rule == FC_CCM_SEG_WHOLE && g->position_rule == FC_CCM_POS_ORIGINAL &&
                    g->n_layers == 1 && g->head_dim == 16, "config");
    const int Hkv = 2, S = 60, D = 16;
    float *k = calloc((size_t)Hkv * S * D, sizeof(float)), *ko = malloc(sizeof(float) * Hkv * S * D);
    float *vo = malloc(sizeof(float) * Hkv * S * D);
    fc_compress_span sp[1] = {{5, 30}};
    int n = 0;
    fc_ccm_run_opts auto_rule = {-1, -1, false}, spans = {FC_CCM_SEG_SPANS, -1, false};
    FC_CHECK(t, fc_ccm_apply_layer(c, 0, k, k, Hkv, S, sp, 1, &auto_rule, ko, vo, &n) == FC_OK && n == 12, "%s n=%d",
             fc_errmsg(), n);
    FC_CHECK(t, fc_ccm_apply_layer(c, 0, k, k, Hkv, S, sp, 1, &spans, ko, vo, &n) == FC_EINVAL &&
                    strstr(fc_errmsg(), "needs image MLPs; this checkpoint (minicpm) has none"), "%s", fc_errmsg());
    FC_CHECK(t, fc_ccm_apply_segment(c, 0, FC_CCM_IK, k, Hkv, S, 0, 20, ko, S, 0) == FC_EINVAL &&
                    strstr(fc_errmsg(), "no 'ik' MLP"), "%s", fc_errmsg());
    free(k), free(ko), free(vo);
    fc_ccm_free(c);
}

/* A damaged checkpoint: rewrite the fixture with one change and expect an error naming it. */
static void expect_load_error(fc_test *t, const char *drop, const char *meta_key, const char *meta_val,
                              const char *needle) {
    fc_st_file f;
    if (fc_st_open(&f, WEIGHTS) != FC_OK) {
        fc_test_fail(t, "%s", fc_errmsg());
        return;
    }
    fc_st_writer *w;
    fc_st_writer_create(&w);
    for (int i = 0; i < f.n_entries; i++) {
        const fc_st_entry *e = &f.entries[i];
        if (drop && !strcmp(e->name, drop)) continue;
        int64_t shape[8];
        for (int d = 0; d < e->ndim; d++) shape[d] = e->shape[d];
        if (drop && !strcmp(drop, "reshape") && i == 0) shape[0] = 1, shape[1] = e->shape[0] * e->shape[1];
        fc_st_writer_add(w, e->name, FC_DTYPE_F32, e->ndim, shape, e->data);
    }
    for (int i = 0; i < f.n_meta; i++)
        if (!meta_key || strcmp(f.meta_keys[i], meta_key)) fc_st_writer_meta(w, f.meta_keys[i], f.meta_vals[i]);
    if (meta_key && meta_val) fc_st_writer_meta(w, meta_key, meta_val);
    char path[128];
    snprintf(path, sizeof path, "/tmp/fc_test_ccm_%d.safetensors", (int)getpid());
    fc_err e = fc_st_writer_write(w, path);
    fc_st_writer_free(w);
    fc_st_close(&f);
    if (e) {
        fc_test_fail(t, "writing %s: %s", path, fc_errmsg());
        return;
    }
    fc_ccm *c = (fc_ccm *)1;
    e = fc_ccm_load(path, &c);
    t->checks++;
    if (e == FC_OK || c != NULL || !strstr(fc_errmsg(), needle) || !strstr(fc_errmsg(), path))
        fc_test_fail(t, "got %d, message '%s', want it to name the file and contain '%s'", e, fc_errmsg(), needle);
    if (e == FC_OK) fc_ccm_free(c);
    unlink(path);
}

static void test_load_errors(fc_test *t) {
    expect_load_error(t, "ccm.layers.1.iv.2.bias", NULL, NULL, "tensor 'ccm.layers.1.iv.2.bias' is missing");
    expect_load_error(t, NULL, "format", "something-else", "metadata 'format' is 'something-else'");
    expect_load_error(t, NULL, "cf", "0", "metadata 'cf' = '0', want an integer in [1, 64]");
    expect_load_error(t, NULL, "cf", "4", "has shape [32,160], the metadata says [32,128]");
    expect_load_error(t, NULL, "depth", "2", "unexpected tensor 'ccm.layers.0.ik.2.bias'");
    expect_load_error(t, NULL, "segment_rule", "diagonal", "metadata 'segment_rule' = 'diagonal'");
    expect_load_error(t, NULL, "n_layers", NULL, "metadata key 'n_layers' is missing");
    expect_load_error(t, "reshape", NULL, NULL, "the metadata says");
}

static const fc_test_case cases[] = {
    FC_CASE(test_config_from_metadata), FC_CASE(test_segments),   FC_CASE(test_matches_torch),
    FC_CASE(test_scope_image_keeps_text), FC_CASE(test_minicpm_layout), FC_CASE(test_load_errors),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
