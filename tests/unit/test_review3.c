/* test_review3.c: regression tests for defects the third review (evaluation and serving) found, each named
 * after its defect. Expected values come from torch (tests/fixtures/compress/ccm_ref.safetensors, made by
 * tools/make_compress_fixtures.py) or from arithmetic on the inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compress/ccm.h"
#include "core/compress/compress.h"
#include "core/compress/internal.h"
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

/* Defect: CCM compression ran one small GEMM per kv head, segment and Linear (768 calls per request of a
 * 2-layer 7B-width model, each a parallel region: 10.2 s of a 23 s `fc-eval load` run). ccm.c now gathers
 * the windows of every head and segment of a layer into one batched MLP call per kind, cut into chunks of
 * bounded scratch. Every chunking (one window per call, 7 windows: chunks that split a head's run and span
 * two heads and segments, and the default: all in one) must give torch's output, on every segment rule
 * (one and two image spans, prefix, whole). Tolerance as test_compress_ccm: 1e-5 + 1e-5 relative. */
static void test_review3_ccm_one_gemm_per_head_batched(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, REF) == FC_OK, "%s", fc_errmsg());
    const char *names[] = {"spans", "two", "prefix", "whole"};
    const int Hkv = 3, S = 97, D = 32, L = 2, caps[] = {1, 7, 0};
    float *ko = malloc(sizeof(float) * Hkv * S * D), *vo = malloc(sizeof(float) * Hkv * S * D);
    for (int ci = 0; ci < 3 && !t->failed; ci++) {
        fc_ccm_set_batch_rows(caps[ci]);
        for (int c = 0; c < 4 && !t->failed; c++) {
            char spec[256], nm[96];
            snprintf(spec, sizeof spec, "ccm:weights=%s,segments=%s", WEIGHTS, names[c][0] == 't' ? "spans" : names[c]);
            fc_compress_method *m;
            FC_CHECK(t, fc_compress_create(spec, &m) == FC_OK, "%s", fc_errmsg());
            snprintf(nm, sizeof nm, "%s.spans", names[c]);
            const fc_st_entry *se = fc_st_find(&f, nm);
            FC_CHECK(t, se && se->st_dtype == FC_ST_I32 && se->ndim == 2 && se->shape[0] <= 4, "%s", nm);
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
                fc_compress_inputs in = {.Hkv = Hkv, .H = Hkv, .S = S, .D = D, .k = k, .v = v, .layer = l,
                                         .n_layers = L, .spans = spans, .n_spans = (int)se->shape[0]};
                fc_compress_output o = {ko, vo, NULL, 0, false};
                FC_CHECK(t, fc_compress_layer(m, &in, &o) == FC_OK, "%s layer %d: %s", names[c], l, fc_errmsg());
                FC_CHECK(t, (int64_t)Hkv * o.n_out * D == n, "%s layer %d: n_out %d", names[c], l, o.n_out);
                snprintf(nm, sizeof nm, "rows per call %d, %s layer %d K", caps[ci], names[c], l);
                fc_test_close(t, nm, ko, kw, (size_t)n, 1e-5, 1e-5);
                snprintf(nm, sizeof nm, "rows per call %d, %s layer %d V", caps[ci], names[c], l);
                fc_test_close(t, nm, vo, vw, (size_t)n, 1e-5, 1e-5);
            }
            fc_compress_free(m);
        }
    }
    fc_ccm_set_batch_rows(0);
    free(ko), free(vo);
    fc_st_close(&f);
}

static const fc_test_case cases[] = {
    FC_CASE(test_review3_ccm_one_gemm_per_head_batched),
};
int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
