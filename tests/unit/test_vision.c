/* test_vision.c: the vision towers against transformers / torch (fixtures from tools/make_vision_fixtures.py):
 * CLIP + LLaVA projector (tiny LlavaForConditionalGeneration), SigLIP NaViT (tiny Idefics2VisionTransformer
 * with MiniCPM-V-2.6's position ids), the MiniCPM-V-2.6 resampler, and the position buckets against the
 * table torch computes.
 *
 * Tolerance 1e-4 abs + 1e-4 rel: both sides compute in f32 with f32 weights; what differs is summation order
 * (BLAS blocking, softmax) over a few hundred terms of O(1) values, i.e. ~1e-6, so 1e-4 leaves room for the
 * layer stack while still catching a wrong bucket, transpose or activation (errors of 1e-2 and more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/model/clip.h"
#include "core/model/resampler.h"
#include "core/model/siglip.h"
#include "tests/test.h"

#define FIX "tests/fixtures/vision"
#define ATOL 1e-4
#define RTOL 1e-4

/* A case tensor of a fixture file as f32 (the fixtures store f32) or i32. */
static bool case_tensor(fc_test *t, const fc_st_file *f, const char *name, fc_tensor *out) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return fc_test_fail(t, "fixture %s: no tensor '%s'", f->path, name);
    if (fc_st_tensor(e, out) != FC_OK) return fc_test_fail(t, "fixture %s: '%s': %s", f->path, name, fc_errmsg());
    return true;
}

static int case_count(fc_test *t, const fc_st_file *f) {
    const char *c = fc_st_meta(f, "cases");
    if (!c) {
        fc_test_fail(t, "fixture %s: no 'cases' metadata", f->path);
        return 0;
    }
    return atoi(c);
}

/* ---------------------------------------------------------------- position buckets */

static void test_navit_bucket_matches_torch(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX "/buckets.safetensors") == FC_OK, "%s", fc_errmsg());
    static const int nps_list[] = {70, 5, 4, 7};
    int compared = 0, refused = 0;
    for (size_t k = 0; k < sizeof nps_list / sizeof nps_list[0]; k++) {
        int nps = nps_list[k];
        char name[32];
        snprintf(name, sizeof name, "bucket_%d", nps);
        fc_tensor tab;
        if (!case_tensor(t, &f, name, &tab)) break;
        const int32_t *want = tab.data;
        for (int n = 1; n <= 128; n++) {
            int32_t got[128];
            const int32_t *row = want + (n - 1) * 128;
            bool torch_overflows = false;
            for (int i = 0; i < n; i++)
                if (row[i] >= nps) torch_overflows = true;
            fc_err e = fc_navit_bucket(n, nps, got);
            t->checks++;
            if (torch_overflows) {
                /* torch would index past the table; we must refuse, not read outside it */
                if (e != FC_EINVAL) fc_test_fail(t, "nps %d n %d: expected FC_EINVAL, got %d", nps, n, e);
                refused++;
                continue;
            }
            if (e != FC_OK) {
                fc_test_fail(t, "nps %d n %d: %s", nps, n, fc_errmsg());
                continue;
            }
            for (int i = 0; i < n; i++)
                if (got[i] != row[i]) {
                    fc_test_fail(t, "nps %d n %d i %d: got bucket %d, torch %d", nps, n, i, got[i], row[i]);
                    break;
                }
            compared++;
        }
    }
    fc_st_close(&f);
    FC_CHECK(t, compared >= 4 * 120, "only %d rows compared (%d refused)", compared, refused);
}

/* The pitfall the reference describes: torch's float32 buckets are not floor(70*i/n). */
static void test_navit_bucket_not_floor(fc_test *t) {
    int32_t b[25];
    FC_CHECK(t, fc_navit_bucket(25, 70, b) == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, b[5] == 13, "n=25 i=5: got %d, torch gives 13 (floor would give 14)", b[5]);
    FC_CHECK(t, fc_navit_bucket(0, 70, b) == FC_EINVAL, "n=0 must be refused");
    FC_CHECK(t, fc_navit_bucket(5, 0, b) == FC_EINVAL, "nps=0 must be refused");
    FC_CHECK(t, fc_navit_bucket(FC_NAVIT_MAX_SIDE + 1, 70, b) == FC_EINVAL, "huge n must be refused");
}

/* ---------------------------------------------------------------- CLIP + projector */

typedef struct {
    fc_model_config cfg;
    fc_st_model st;
    fc_clip *clip;
} llava_fix;

static bool llava_open(fc_test *t, llava_fix *L, const char *weights) {
    memset(L, 0, sizeof *L);
    if (fc_hfconfig_load(&L->cfg, FIX "/llava-tiny") != FC_OK) return fc_test_fail(t, "config: %s", fc_errmsg());
    if (fc_st_model_open(&L->st, weights) != FC_OK) return fc_test_fail(t, "weights: %s", fc_errmsg());
    if (fc_clip_load(&L->clip, &L->st, &L->cfg) != FC_OK) {
        fc_st_model_close(&L->st);
        return fc_test_fail(t, "clip load: %s", fc_errmsg());
    }
    return true;
}

static void llava_close(llava_fix *L) {
    fc_clip_free(L->clip);
    fc_st_model_close(&L->st);
}

/* Encodes every case of llava-cases with the model and compares tower features and projector output. */
static void check_llava_cases(fc_test *t, const fc_clip *m, int max_cases) {
    fc_st_file f;
    if (fc_st_open(&f, FIX "/llava-cases.safetensors") != FC_OK) {
        fc_test_fail(t, "%s", fc_errmsg());
        return;
    }
    int n = case_count(t, &f);
    if (n > max_cases) n = max_cases;
    const int64_t ts[2] = {fc_clip_n_tokens(m), m->dims.C}, fs[2] = {fc_clip_n_tokens(m), fc_clip_out_dim(m)};
    fc_tensor tower = {0}, feat = {0};
    if (fc_tensor_create(&tower, FC_DTYPE_F32, FC_DEVICE_CPU, 2, ts) || fc_tensor_create(&feat, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs)) {
        fc_test_fail(t, "%s", fc_errmsg());
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        char name[32];
        fc_tensor px, want_tower, want_feat;
        snprintf(name, sizeof name, "pixels_%d", i);
        if (!case_tensor(t, &f, name, &px)) break;
        snprintf(name, sizeof name, "tower_%d", i);
        if (!case_tensor(t, &f, name, &want_tower)) break;
        snprintf(name, sizeof name, "feat_%d", i);
        if (!case_tensor(t, &f, name, &want_feat)) break;
        t->checks++;
        if (fc_tensor_numel(&want_tower) != fc_tensor_numel(&tower) || fc_tensor_numel(&want_feat) != fc_tensor_numel(&feat)) {
            fc_test_fail(t, "case %d: fixture sizes differ from the model's", i);
            break;
        }
        if (fc_clip_encode_tower(m, &px, &tower) != FC_OK || fc_clip_encode(m, &px, &feat) != FC_OK) {
            fc_test_fail(t, "case %d: %s", i, fc_errmsg());
            break;
        }
        snprintf(name, sizeof name, "tower_%d", i);
        fc_test_close(t, name, tower.data, want_tower.data, (size_t)fc_tensor_numel(&tower), ATOL, RTOL);
        snprintf(name, sizeof name, "feat_%d", i);
        fc_test_close(t, name, feat.data, want_feat.data, (size_t)fc_tensor_numel(&feat), ATOL, RTOL);
    }
    fc_tensor_free(&tower);
    fc_tensor_free(&feat);
    fc_st_close(&f);
}

static void test_clip_llava_tiny(fc_test *t) {
    llava_fix L;
    if (!llava_open(t, &L, FIX "/llava-tiny")) return;
    /* 3 layers, feature layer -2: two applied; 42/14 = 3x3 patches, CLS dropped */
    FC_CHECK(t, L.clip->n_layers_used == 2, "layers used %d, want 2", L.clip->n_layers_used);
    FC_CHECK(t, fc_clip_n_tokens(L.clip) == 9 && fc_clip_out_dim(L.clip) == 64, "tokens %d dim %d",
             fc_clip_n_tokens(L.clip), fc_clip_out_dim(L.clip));
    check_llava_cases(t, L.clip, 100);
    llava_close(&L);
}

/* Other feature selections against the same torch run: "full" keeps the CLS row, layer -1 applies all 3. */
static void test_clip_feature_selection(fc_test *t) {
    fc_model_config cfg;
    fc_st_model st;
    FC_CHECK(t, fc_hfconfig_load(&cfg, FIX "/llava-tiny") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_st_model_open(&st, FIX "/llava-tiny") == FC_OK, "%s", fc_errmsg());
    fc_st_file f;
    if (fc_st_open(&f, FIX "/llava-cases.safetensors") != FC_OK) {
        fc_st_model_close(&st);
        FC_CHECK(t, false, "%s", fc_errmsg());
    }
    static const struct {
        const char *strategy;
        int layer;
        const char *want;
        int tokens, layers;
    } sel[] = {{"full", -2, "tower_full_%d", 10, 2}, {"default", -1, "tower_last_%d", 9, 3}};
    for (size_t k = 0; k < sizeof sel / sizeof sel[0] && !t->failed; k++) {
        fc_model_config c = cfg;
        snprintf(c.vision_feature_select_strategy, sizeof c.vision_feature_select_strategy, "%s", sel[k].strategy);
        c.vision_feature_layer = sel[k].layer;
        fc_clip *m = NULL;
        if (fc_clip_load(&m, &st, &c) != FC_OK) {
            fc_test_fail(t, "%s/%d: %s", sel[k].strategy, sel[k].layer, fc_errmsg());
            break;
        }
        t->checks++;
        if (fc_clip_n_tokens(m) != sel[k].tokens || m->n_layers_used != sel[k].layers)
            fc_test_fail(t, "%s/%d: %d tokens, %d layers", sel[k].strategy, sel[k].layer, fc_clip_n_tokens(m),
                         m->n_layers_used);
        const int64_t fs[2] = {fc_clip_n_tokens(m), m->dims.C};
        fc_tensor feats = {0};
        for (int i = 0; i < 3 && !t->failed; i++) {
            char name[32];
            fc_tensor px, want;
            snprintf(name, sizeof name, "pixels_%d", i);
            if (!case_tensor(t, &f, name, &px)) break;
            snprintf(name, sizeof name, sel[k].want, i);
            if (!case_tensor(t, &f, name, &want)) break;
            t->checks++;
            if ((!feats.data && fc_tensor_create(&feats, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs)) ||
                fc_tensor_numel(&want) != fc_tensor_numel(&feats) || fc_clip_encode_tower(m, &px, &feats)) {
                fc_test_fail(t, "%s: %s", name, fc_errmsg());
                break;
            }
            fc_test_close(t, name, feats.data, want.data, (size_t)fc_tensor_numel(&feats), ATOL, RTOL);
        }
        fc_tensor_free(&feats);
        fc_clip_free(m);
    }
    fc_st_close(&f);
    fc_st_model_close(&st);
}

/* Writes the tiny LLaVA's tensors under the names transformers >= 4.52 uses in memory
 * (model.vision_tower.*, model.multi_modal_projector.*) and checks the same outputs. */
static void test_clip_new_weight_names(fc_test *t) {
    fc_st_model src;
    FC_CHECK(t, fc_st_model_open(&src, FIX "/llava-tiny") == FC_OK, "%s", fc_errmsg());
    fc_st_writer *w = NULL;
    char path[256];
    snprintf(path, sizeof path, "/tmp/fc_test_vision_%d.safetensors", (int)getpid());
    bool ok = fc_st_writer_create(&w) == FC_OK;
    char **names = calloc((size_t)src.n_entries, sizeof *names);
    for (int i = 0; ok && i < src.n_entries; i++) {
        const fc_st_entry *e = src.entries[i];
        fc_tensor v;
        names[i] = malloc(strlen(e->name) + 8);
        if (!strncmp(e->name, "vision_tower.", 13) || !strncmp(e->name, "multi_modal_projector.", 22))
            sprintf(names[i], "model.%s", e->name);
        else
            strcpy(names[i], e->name);
        ok = fc_st_tensor(e, &v) == FC_OK && fc_st_writer_add_tensor(w, names[i], &v) == FC_OK;
    }
    if (ok) ok = fc_st_writer_write(w, path) == FC_OK;
    const char *msg = ok ? "" : fc_errmsg();
    fc_st_writer_free(w);
    for (int i = 0; i < src.n_entries; i++) free(names[i]);
    free(names);
    fc_st_model_close(&src);
    FC_CHECK(t, ok, "writing %s: %s", path, msg);
    llava_fix L;
    if (llava_open(t, &L, path)) {
        check_llava_cases(t, L.clip, 1);
        llava_close(&L);
    }
    unlink(path);
}

static void test_clip_bad_inputs(fc_test *t) {
    llava_fix L;
    if (!llava_open(t, &L, FIX "/llava-tiny")) return;
    const int64_t bad_px[3] = {3, 28, 42}, out_s[2] = {9, 64}, wrong_out[2] = {10, 64};
    fc_tensor px = {0}, out = {0}, out2 = {0};
    FC_CHECK(t, fc_tensor_create(&px, FC_DTYPE_F32, FC_DEVICE_CPU, 3, bad_px) == FC_OK, "alloc");
    FC_CHECK(t, fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, out_s) == FC_OK, "alloc");
    FC_CHECK(t, fc_tensor_create(&out2, FC_DTYPE_F32, FC_DEVICE_CPU, 2, wrong_out) == FC_OK, "alloc");
    fc_err e = fc_clip_encode(L.clip, &px, &out);
    bool named = strstr(fc_errmsg(), "pixels") != NULL;
    fc_err e2 = fc_clip_encode(L.clip, &px, &out2);
    fc_tensor_free(&px);
    fc_tensor_free(&out);
    fc_tensor_free(&out2);
    llava_close(&L);
    FC_CHECK(t, e == FC_ESHAPE && named, "wrong pixel shape: %d '%s'", e, fc_errmsg());
    FC_CHECK(t, e2 == FC_ESHAPE, "wrong output shape: %d", e2);

    /* a config that disagrees with the checkpoint: every failure names the tensor */
    fc_model_config cfg;
    fc_st_model st;
    fc_clip *m = NULL;
    FC_CHECK(t, fc_hfconfig_load(&cfg, FIX "/llava-tiny") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_st_model_open(&st, FIX "/llava-tiny") == FC_OK, "%s", fc_errmsg());
    fc_model_config c = cfg;
    c.vision.intermediate_size = 65;
    e = fc_clip_load(&m, &st, &c);
    FC_CHECK(t, e == FC_ESHAPE && m == NULL && strstr(fc_errmsg(), "mlp.fc1.weight"), "fc1 mismatch: %d '%s'", e,
             fc_errmsg());
    c = cfg;
    c.vision.num_layers = 6;
    c.vision_feature_layer = -1; /* needs layers 3..5, absent */
    e = fc_clip_load(&m, &st, &c);
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "encoder.layers.3."), "missing layer: %d '%s'", e,
             fc_errmsg());
    c = cfg;
    c.vision_feature_layer = -5;
    e = fc_clip_load(&m, &st, &c);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "vision_feature_layer"), "feature layer: %d '%s'", e, fc_errmsg());
    c = cfg;
    c.vision.image_size = 56; /* 4x4 patches need 17 positions; the checkpoint has 10 */
    e = fc_clip_load(&m, &st, &c);
    FC_CHECK(t, e == FC_ESHAPE && strstr(fc_errmsg(), "position_embedding"), "positions: %d '%s'", e, fc_errmsg());
    c = cfg;
    strcpy(c.vision_feature_select_strategy, "cls");
    e = fc_clip_load(&m, &st, &c);
    FC_CHECK(t, e == FC_EUNSUPPORTED, "strategy: %d '%s'", e, fc_errmsg());
    fc_st_model_close(&st);
}

/* ---------------------------------------------------------------- SigLIP NaViT + resampler */

typedef struct {
    fc_model_config cfg;
    fc_st_model st;
    fc_st_file cases;
    int n_cases;
} minicpm_fix;

static bool minicpm_open(fc_test *t, minicpm_fix *M) {
    memset(M, 0, sizeof *M);
    if (fc_hfconfig_load(&M->cfg, FIX "/minicpm-tiny") != FC_OK) return fc_test_fail(t, "config: %s", fc_errmsg());
    if (fc_st_model_open(&M->st, FIX "/minicpm-tiny") != FC_OK) return fc_test_fail(t, "weights: %s", fc_errmsg());
    if (fc_st_open(&M->cases, FIX "/minicpm-cases.safetensors") != FC_OK) {
        fc_st_model_close(&M->st);
        return fc_test_fail(t, "cases: %s", fc_errmsg());
    }
    M->n_cases = case_count(t, &M->cases);
    return true;
}

static void minicpm_close(minicpm_fix *M) {
    fc_st_close(&M->cases);
    fc_st_model_close(&M->st);
}

/* Case i: pixels, grid (h, w) and the expected tensor `what`_i. */
static bool minicpm_case(fc_test *t, minicpm_fix *M, int i, const char *what, fc_tensor *px, int *h, int *w,
                         fc_tensor *want) {
    char name[32];
    fc_tensor grid;
    snprintf(name, sizeof name, "pixels_%d", i);
    if (!case_tensor(t, &M->cases, name, px)) return false;
    snprintf(name, sizeof name, "grid_%d", i);
    if (!case_tensor(t, &M->cases, name, &grid)) return false;
    snprintf(name, sizeof name, "%s_%d", what, i);
    if (!case_tensor(t, &M->cases, name, want)) return false;
    *h = ((const int32_t *)grid.data)[0];
    *w = ((const int32_t *)grid.data)[1];
    return true;
}

static void check_navit(fc_test *t, bool drop_last) {
    minicpm_fix M;
    if (!minicpm_open(t, &M)) return;
    fc_model_config cfg = M.cfg;
    cfg.drop_vision_last_layer = drop_last;
    fc_navit *m = NULL;
    if (fc_navit_load(&m, &M.st, &cfg) != FC_OK) {
        fc_test_fail(t, "navit load: %s", fc_errmsg());
        minicpm_close(&M);
        return;
    }
    t->checks++;
    if (m->n_layers_used != 3 - drop_last) fc_test_fail(t, "layers used %d", m->n_layers_used);
    for (int i = 0; i < M.n_cases && !t->failed; i++) {
        fc_tensor px, want, out = {0};
        int h, w;
        if (!minicpm_case(t, &M, i, drop_last ? "vpm_drop" : "vpm", &px, &h, &w, &want)) break;
        const int64_t os[2] = {(int64_t)h * w, m->dims.C};
        t->checks++;
        if (fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os) || fc_navit_encode(m, &px, h, w, &out)) {
            fc_test_fail(t, "case %d (%dx%d): %s", i, h, w, fc_errmsg());
        } else {
            char name[48];
            snprintf(name, sizeof name, "vpm_%d (%dx%d)", i, h, w);
            fc_test_close(t, name, out.data, want.data, (size_t)fc_tensor_numel(&out), ATOL, RTOL);
        }
        fc_tensor_free(&out);
    }
    fc_navit_free(m);
    minicpm_close(&M);
}

static void test_navit_minicpm_tiny(fc_test *t) { check_navit(t, false); }
static void test_navit_drop_last_layer(fc_test *t) { check_navit(t, true); }

/* The resampler on the fixture's vpm output, and the whole chain pixels -> navit -> resampler. */
static void test_resampler_minicpm_tiny(fc_test *t) {
    minicpm_fix M;
    if (!minicpm_open(t, &M)) return;
    fc_navit *nv = NULL;
    fc_resampler *r = NULL;
    if (fc_navit_load(&nv, &M.st, &M.cfg) != FC_OK || fc_resampler_load(&r, &M.st, &M.cfg) != FC_OK) {
        fc_test_fail(t, "load: %s", fc_errmsg());
        goto done;
    }
    FC_CHECK(t, r->n_heads == 2 && r->n_queries == 8 && r->D == 256, "heads %d queries %d D %d", r->n_heads,
             r->n_queries, r->D);
    for (int i = 0; i < M.n_cases && !t->failed; i++) {
        fc_tensor px, vpm, want, feats = {0}, out = {0}, out2 = {0};
        int h, w;
        if (!minicpm_case(t, &M, i, "res", &px, &h, &w, &want)) break;
        char name[32];
        snprintf(name, sizeof name, "vpm_%d", i);
        if (!case_tensor(t, &M.cases, name, &vpm)) break;
        const int64_t os[2] = {r->n_queries, r->D}, fs[2] = {(int64_t)h * w, nv->dims.C};
        t->checks++;
        if (fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os) ||
            fc_tensor_create(&out2, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os) ||
            fc_tensor_create(&feats, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs) || fc_resampler_encode(r, &vpm, h, w, &out) ||
            fc_navit_encode(nv, &px, h, w, &feats) || fc_resampler_encode(r, &feats, h, w, &out2)) {
            fc_test_fail(t, "case %d (%dx%d): %s", i, h, w, fc_errmsg());
        } else {
            snprintf(name, sizeof name, "res_%d (%dx%d)", i, h, w);
            fc_test_close(t, name, out.data, want.data, (size_t)fc_tensor_numel(&out), ATOL, RTOL);
            snprintf(name, sizeof name, "chain_%d (%dx%d)", i, h, w);
            fc_test_close(t, name, out2.data, want.data, (size_t)fc_tensor_numel(&out2), ATOL, RTOL);
        }
        fc_tensor_free(&feats);
        fc_tensor_free(&out);
        fc_tensor_free(&out2);
    }
    /* a grid that does not match the input rows is refused */
    if (!t->failed) {
        fc_tensor vpm, out = {0};
        const int64_t os[2] = {r->n_queries, r->D};
        if (case_tensor(t, &M.cases, "vpm_0", &vpm) && fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os) == FC_OK) {
            fc_err e = fc_resampler_encode(r, &vpm, 7, 7, &out);
            t->checks++;
            if (e != FC_ESHAPE) fc_test_fail(t, "grid 7x7 on %lld rows: got %d", (long long)vpm.shape[0], e);
        }
        fc_tensor_free(&out);
    }
done:
    fc_resampler_free(r);
    fc_navit_free(nv);
    minicpm_close(&M);
}

/* The sin-cos table puts the column index first: row (r=0, c=1) has sin(1*omega_0) = sin(1) at 0 and
 * sin(0) = 0 at D/2; definitions from resampler.py's get_2d_sincos_pos_embed. */
static void test_resampler_sincos_layout(fc_test *t) {
    const int D = 256, h = 2, w = 3;
    float pos[2 * 3 * 256];
    FC_CHECK(t, fc_resampler_sincos(pos, h, w, D) == FC_OK, "%s", fc_errmsg());
    const float *r0c1 = pos + 1 * D, *r1c0 = pos + 3 * D;
    FC_CHECK(t, fabsf(r0c1[0] - sinf(1.0f)) < 1e-6f && fabsf(r0c1[64] - cosf(1.0f)) < 1e-6f, "col half: %g %g", r0c1[0],
             r0c1[64]);
    FC_CHECK(t, r0c1[128] == 0.0f && r0c1[192] == 1.0f, "row half of row 0: %g %g", r0c1[128], r0c1[192]);
    FC_CHECK(t, fabsf(r1c0[128] - sinf(1.0f)) < 1e-6f && r1c0[0] == 0.0f, "row half of row 1: %g %g", r1c0[128], r1c0[0]);
    /* omega_k = 10000^(-k/64): k = 32 gives 0.01 */
    FC_CHECK(t, fabsf(r0c1[32] - sinf(0.01f)) < 1e-6f, "omega_32: %g", r0c1[32]);
}

static void test_navit_bad_inputs(fc_test *t) {
    minicpm_fix M;
    if (!minicpm_open(t, &M)) return;
    fc_navit *m = NULL;
    fc_model_config c = M.cfg;
    c.vision.hidden_size = 48; /* 4 heads of 12: every tensor disagrees */
    fc_err e = fc_navit_load(&m, &M.st, &c);
    bool named = strstr(fc_errmsg(), "vpm.embeddings.patch_embedding.weight") != NULL;
    c = M.cfg;
    c.vision.image_size = 84; /* 6 per side: 36 positions, the checkpoint has 25 */
    fc_err e2 = fc_navit_load(&m, &M.st, &c);
    c = M.cfg;
    c.text.hidden_size = 200; /* not a multiple of 128 */
    fc_resampler *r = NULL;
    fc_err e3 = fc_resampler_load(&r, &M.st, &c);
    c = M.cfg;
    c.query_num = 9;
    fc_err e4 = fc_resampler_load(&r, &M.st, &c);
    bool named4 = strstr(fc_errmsg(), "resampler.query") != NULL;
    fc_err e5 = fc_navit_load(&m, &M.st, &M.cfg);
    fc_err e6 = FC_OK;
    if (!e5) {
        const int64_t px_s[3] = {3, 28, 42}, os[2] = {6, 32};
        fc_tensor px = {0}, out = {0};
        if (!fc_tensor_create(&px, FC_DTYPE_F32, FC_DEVICE_CPU, 3, px_s) &&
            !fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os))
            e6 = fc_navit_encode(m, &px, 3, 2, &out); /* pixels are 2x3 patches, not 3x2 */
        fc_tensor_free(&px);
        fc_tensor_free(&out);
    }
    fc_navit_free(m);
    minicpm_close(&M);
    FC_CHECK(t, e == FC_ESHAPE && named, "hidden mismatch: %d", e);
    FC_CHECK(t, e2 == FC_ESHAPE, "position table mismatch: %d", e2);
    FC_CHECK(t, e3 == FC_EINVAL, "resampler width: %d", e3);
    FC_CHECK(t, e4 == FC_ESHAPE && named4, "query count: %d", e4);
    FC_CHECK(t, e5 == FC_OK && e6 == FC_ESHAPE, "transposed grid: %d %d", e5, e6);
}

static const fc_test_case cases[] = {
    FC_CASE(test_navit_bucket_matches_torch), FC_CASE(test_navit_bucket_not_floor),
    FC_CASE(test_clip_llava_tiny),            FC_CASE(test_clip_feature_selection),
    FC_CASE(test_clip_new_weight_names),
    FC_CASE(test_clip_bad_inputs),            FC_CASE(test_navit_minicpm_tiny),
    FC_CASE(test_navit_drop_last_layer),      FC_CASE(test_resampler_minicpm_tiny),
    FC_CASE(test_resampler_sincos_layout),    FC_CASE(test_navit_bad_inputs),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
