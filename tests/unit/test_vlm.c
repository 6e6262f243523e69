/* test_vlm.c: the assembled VLMs end to end against the Python references of tools/make_vlm_fixtures.py:
 * transformers' LlavaForConditionalGeneration (tiny, real llava-1.5 tokenizer from the shared folder) and
 * MiniCPM-V-2.6 in miniature (Idefics2 vision + resampler + Qwen2ForCausalLM, composed as the remote code
 * does). For each of two images: the expanded prompt ids, every image span, the pixels of every piece, the
 * spliced image rows, the prompt logits at the stored rows, and 8 greedy tokens.
 *
 * Tolerance 1e-4 abs + 1e-4 rel (the brief's 1e-4): both sides compute in f32 from the same f16/bf16-rounded
 * weights; they differ only in summation order (~1e-6 relative through a few layers), while a wrong span,
 * row order or position moves logits by 1e-2 and more. Greedy tokens must be equal: the generator checked
 * that every step's top-2 margin exceeds 1e-3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/io/safetensors.h"
#include "core/model/vlm.h"
#include "core/model/vlm_internal.h"
#include "tests/test.h"

#define FIX "tests/fixtures/vlm"
#ifndef ATOL
#define ATOL 1e-4
#endif
#ifndef RTOL
#define RTOL 1e-4
#endif

static bool fix_tensor(fc_test *t, const fc_st_file *f, const char *name, fc_tensor *out) {
    const fc_st_entry *e = fc_st_find(f, name);
    if (!e) return fc_test_fail(t, "fixture %s: no tensor '%s'", f->path, name);
    if (fc_st_tensor(e, out) != FC_OK) return fc_test_fail(t, "fixture %s: '%s': %s", f->path, name, fc_errmsg());
    return true;
}

static void tok_dir(char *buf, size_t n, const char *model) {
    snprintf(buf, n, "%s/data/models/%s", fc_test_shared(), model);
}

/* A string of the fixture's metadata "info", a JSON object (one key keeps the file's bytes reproducible). */
static const char *case_info(const cJSON *info, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The image a case was made from: "<case>.image" is relative to the shared data folder, or "vlm/..."
 * inside the fixtures. */
static bool case_image(fc_test *t, const cJSON *info, const char *c, fc_image *img) {
    char key[64], path[4096];
    snprintf(key, sizeof key, "%s.image", c);
    const char *rel = case_info(info, key);
    if (!rel) return fc_test_fail(t, "fixture: no metadata %s", key);
    if (!strncmp(rel, "vlm/", 4)) snprintf(path, sizeof path, FIX "/%s", rel + 4);
    else snprintf(path, sizeof path, "%s/data/%s", fc_test_shared(), rel);
    if (fc_image_load(img, path) != FC_OK) return fc_test_fail(t, "%s", fc_errmsg());
    return true;
}

/* Everything one case stores, checked against the C pipeline. */
static void check_case(fc_test *t, fc_vlm *m, const fc_st_file *f, const cJSON *info, const char *c) {
    char key[64];
    fc_image img = {0};
    fc_vlm_request req = {0};
    fc_vlm_pixels px = {0};
    fc_kv_pool *kv = NULL;
    float *logits = NULL;
    int32_t *out = NULL;
    fc_tensor ids, spans, rows, want_logits, greedy, feats;
    if (!case_image(t, info, c, &img)) goto done;
#define FIXT(name, var)                                      \
    snprintf(key, sizeof key, "%s." name, c);                \
    if (!fix_tensor(t, f, key, &var)) goto done;
    FIXT("ids", ids);
    FIXT("spans", spans);
    FIXT("rows", rows);
    FIXT("logits", want_logits);
    FIXT("greedy", greedy);
    FIXT("features", feats);
    snprintf(key, sizeof key, "%s.question", c);
    const char *question = case_info(info, key);
    if (!question) {
        fc_test_fail(t, "%s: no question", c);
        goto done;
    }
    /* pixels of every piece (the preprocessing the request uses) */
    t->checks++;
    if (fc_vlm_preprocess(m, &img, &px) != FC_OK) {
        fc_test_fail(t, "%s: preprocess: %s", c, fc_errmsg());
        goto done;
    }
    int n_pieces = m->cfg.arch == FC_ARCH_LLAVA ? 1 : px.slices.n;
    if (n_pieces != (int)spans.shape[0]) {
        fc_test_fail(t, "%s: %d pieces, reference %d", c, n_pieces, (int)spans.shape[0]);
        goto done;
    }
    for (int k = 0; k < n_pieces; k++) {
        fc_tensor want;
        snprintf(key, sizeof key, "%s.pixels_%d", c, k);
        if (!fix_tensor(t, f, key, &want)) goto done;
        const float *got = m->cfg.arch == FC_ARCH_LLAVA ? px.pixels : px.slices.pixels[k];
        if (m->cfg.arch == FC_ARCH_MINICPMV &&
            (px.slices.tgt[k][0] * 14 != want.shape[1] || px.slices.tgt[k][1] * 14 != want.shape[2])) {
            fc_test_fail(t, "%s: piece %d is %dx%d patches, reference %lldx%lld px", c, k, px.slices.tgt[k][0],
                         px.slices.tgt[k][1], (long long)want.shape[1], (long long)want.shape[2]);
            goto done;
        }
        if (!fc_test_close(t, key, got, want.data, (size_t)fc_tensor_numel(&want), 1e-6, 0)) goto done;
    }
    /* the request: ids and spans exactly */
    t->checks++;
    if (fc_vlm_request_build(m, &img, 1, question, &req) != FC_OK) {
        fc_test_fail(t, "%s: request: %s", c, fc_errmsg());
        goto done;
    }
    t->checks++;
    if (req.n_ids != (int)ids.shape[0] || memcmp(req.ids, ids.data, (size_t)req.n_ids * sizeof(int32_t))) {
        int i = 0;
        while (i < req.n_ids && i < ids.shape[0] && req.ids[i] == ((int32_t *)ids.data)[i]) i++;
        fc_test_fail(t, "%s: prompt ids differ at %d (got %d ids, reference %lld)", c, i, req.n_ids,
                     (long long)ids.shape[0]);
        goto done;
    }
    const int32_t *sp = spans.data;
    for (int k = 0; k < req.n_spans; k++) {
        t->checks++;
        if (req.spans[k].start != sp[2 * k] || req.spans[k].len != sp[2 * k + 1] || req.spans[k].image != 0 ||
            req.spans[k].piece != k) {
            fc_test_fail(t, "%s: span %d = (%d, %d, image %d, piece %d), reference (%d, %d)", c, k, req.spans[k].start,
                         req.spans[k].len, req.spans[k].image, req.spans[k].piece, sp[2 * k], sp[2 * k + 1]);
            goto done;
        }
    }
    /* image rows, in span order */
    int C = m->cfg.text.hidden_size, V = m->cfg.text.vocab_size;
    for (int k = 0, row = 0; k < req.n_spans; row += req.spans[k].len, k++) {
        snprintf(key, sizeof key, "%s.features[span %d]", c, k);
        const float *got = req.embeds + (size_t)(req.spans[k].start - req.embeds_start) * C;
        if (!fc_test_close(t, key, got, (const float *)feats.data + (size_t)row * C, (size_t)req.spans[k].len * C, ATOL,
                           RTOL))
            goto done;
    }
    /* prompt logits at the stored rows */
    int T = req.n_ids;
    fc_kv_handle seq;
    fc_kv_pool_params pp = fc_llm_kv_params(m->llm, 16, (T + 16) / 16 + 2, 2);
    if (fc_kv_pool_create(&kv, &pp) || fc_kv_seq_create(kv, &seq)) {
        fc_test_fail(t, "pool: %s", fc_errmsg());
        goto done;
    }
    if (!(logits = malloc((size_t)T * V * sizeof(float)))) goto done;
    if (fc_vlm_prefill(m, kv, &req, seq, FC_LLM_ROWS_ALL, logits) != FC_OK) {
        fc_test_fail(t, "%s: prefill: %s", c, fc_errmsg());
        goto done;
    }
    fc_kv_seq_free(kv, seq);
    const int32_t *rw = rows.data;
    for (int r = 0; r < rows.shape[0]; r++) {
        snprintf(key, sizeof key, "%s.logits[pos %d]", c, rw[r]);
        if (!fc_test_close(t, key, logits + (size_t)rw[r] * V, (const float *)want_logits.data + (size_t)r * V, V,
                           ATOL, RTOL))
            goto done;
    }
    /* greedy tokens, no stop token (the reference ran 8 steps regardless) */
    int steps = (int)greedy.shape[0], n_out = 0;
    fc_gen_params gp = fc_vlm_gen_params(m, steps, 0, 0, 1, 0);
    gp.n_eos = 0;
    out = calloc((size_t)steps, sizeof *out);
    t->checks++;
    if (!out || fc_vlm_generate(m, kv, &req, 1, &gp, &out, &n_out) != FC_OK) {
        fc_test_fail(t, "%s: generate: %s", c, fc_errmsg());
        goto done;
    }
    t->checks++;
    if (n_out != steps || memcmp(out, greedy.data, (size_t)steps * sizeof(int32_t))) {
        const int32_t *g = greedy.data;
        fc_test_fail(t, "%s: greedy tokens %d %d %d %d ..., reference %d %d %d %d ... (%d of %d)", c, out[0], out[1],
                     out[2], out[3], g[0], g[1], g[2], g[3], n_out, steps);
    }
done:
    free(out);
    free(logits);
    fc_kv_pool_free(kv);
    fc_vlm_request_free(&req);
    fc_vlm_pixels_free(&px);
    fc_image_free(&img);
}

static void run_model(fc_test *t, const char *dir, const char *tok_model, const char *prefix) {
    char tdir[4096];
    fc_st_file f;
    fc_vlm *m = NULL;
    FC_CHECK(t, fc_st_open(&f, FIX "/cases.safetensors") == FC_OK, "%s", fc_errmsg());
    const char *meta = fc_st_meta(&f, "info");
    cJSON *info = meta ? cJSON_Parse(meta) : NULL;
    if (tok_model) tok_dir(tdir, sizeof tdir, tok_model);
    t->checks++;
    if (fc_vlm_load(&m, dir, tok_model ? tdir : NULL) != FC_OK) {
        fc_test_fail(t, "load %s: %s", dir, fc_errmsg());
    } else {
        for (int c = 0; c < 2 && !t->failed; c++) {
            char name[32];
            snprintf(name, sizeof name, "%s_%d", prefix, c);
            check_case(t, m, &f, info, name);
        }
    }
    cJSON_Delete(info);
    fc_vlm_free(m);
    fc_st_close(&f);
}

static void test_llava_matches_transformers(fc_test *t) {
    run_model(t, FIX "/llava-tiny", "llava-1.5-7b-hf", "llava");
}

static void test_minicpmv_matches_reference(fc_test *t) {
    run_model(t, FIX "/minicpmv-tiny", NULL, "minicpmv");
}

/* Spans of multi-image prompts, from the definitions: every span's run is exactly the image tokens, bounded
 * by the start/end tags (MiniCPM-V) or by non-image tokens (LLaVA), images and pieces numbered in order. */
static void test_multi_image_spans(fc_test *t) {
    char tdir[4096];
    tok_dir(tdir, sizeof tdir, "llava-1.5-7b-hf");
    fc_vlm *m = NULL;
    fc_vlm_request r = {0};
    FC_CHECK(t, fc_vlm_load(&m, FIX "/llava-tiny", tdir) == FC_OK, "%s", fc_errmsg());
    fc_err e = fc_vlm_build_prompt(m, 2, NULL, "Compare them.", &r);
    bool ok = !e && r.n_spans == 2 && r.spans[0].image == 0 && r.spans[1].image == 1;
    for (int k = 0; ok && k < r.n_spans; k++) {
        const fc_vlm_span *s = &r.spans[k];
        ok = s->len == m->image_tokens && s->piece == 0 && r.ids[s->start - 1] != m->image_id &&
             r.ids[s->start + s->len] != m->image_id && r.ids[s->start] == m->image_id;
    }
    int n_img = 0;
    for (int i = 0; i < r.n_ids; i++) n_img += r.ids[i] == m->image_id;
    fc_vlm_request_free(&r);
    fc_vlm_free(m);
    m = NULL;
    FC_CHECK(t, ok && n_img == 2 * 16, "llava 2-image spans wrong (%s)", e ? fc_errmsg() : "layout");

    FC_CHECK(t, fc_vlm_load(&m, FIX "/minicpmv-tiny", NULL) == FC_OK, "%s", fc_errmsg());
    int grids[4] = {2, 2, 0, 0}; /* 5 pieces, then 1 */
    e = fc_vlm_build_prompt(m, 2, grids, "Compare them.", &r);
    ok = !e && r.n_spans == 6;
    static const int want_image[6] = {0, 0, 0, 0, 0, 1}, want_piece[6] = {0, 1, 2, 3, 4, 0};
    for (int k = 0; ok && k < r.n_spans; k++) {
        const fc_vlm_span *s = &r.spans[k];
        int32_t open = r.ids[s->start - 1], close = r.ids[s->start + s->len];
        bool overview = s->piece == 0;
        ok = s->len == m->cfg.query_num && s->image == want_image[k] && s->piece == want_piece[k] &&
             open == m->start_ids[overview ? 0 : 1] && close == m->end_ids[overview ? 0 : 1];
        for (int i = s->start; ok && i < s->start + s->len; i++) ok = r.ids[i] == fc_tokenizer_token_id(m->tok, "<unk>");
    }
    fc_vlm_request_free(&r);
    fc_vlm_free(m);
    FC_CHECK(t, ok, "minicpmv 2-image spans wrong (%s)", e ? fc_errmsg() : "layout");
}

/* Copies every tensor of src not starting with `drop` into dir/model.safetensors (and config.json). */
static bool strip_checkpoint(fc_test *t, const char *src, const char *dir, const char *drop) {
    char path[4096], cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s/config.json' '%s/preprocessor_config.json' '%s/'", src, src, dir);
    if (system(cmd) != 0) return fc_test_fail(t, "cannot copy %s", src);
    fc_st_model st;
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    if (fc_st_model_open(&st, path)) return fc_test_fail(t, "%s", fc_errmsg());
    fc_st_writer *w = NULL;
    bool ok = fc_st_writer_create(&w) == FC_OK;
    for (int i = 0; ok && i < st.n_entries; i++) {
        fc_tensor v;
        if (!strncmp(st.entries[i]->name, drop, strlen(drop))) continue;
        ok = fc_st_tensor(st.entries[i], &v) == FC_OK && fc_st_writer_add_tensor(w, st.entries[i]->name, &v) == FC_OK;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ok = ok && fc_st_writer_write(w, path) == FC_OK;
    if (!ok) fc_test_fail(t, "writing %s: %s", path, fc_errmsg());
    fc_st_writer_free(w);
    fc_st_model_close(&st);
    return ok;
}

static void test_bad_inputs(fc_test *t) {
    char tdir[4096], dir[] = "/tmp/fc_test_vlm_XXXXXX";
    tok_dir(tdir, sizeof tdir, "llava-1.5-7b-hf");
    fc_vlm *m = NULL;
    /* not a VLM */
    FC_CHECK(t, fc_vlm_load(&m, "tests/fixtures/llm/llama_plain", NULL) == FC_EUNSUPPORTED && !m, "%s", fc_errmsg());
    FC_CHECK(t, strstr(fc_errmsg(), "not a vision-language model"), "%s", fc_errmsg());
    /* a folder without the tokenizer */
    FC_CHECK(t, fc_vlm_load(&m, FIX "/llava-tiny", NULL) != FC_OK && !m, "loaded without a tokenizer");
    /* vision weights missing */
    FC_CHECK(t, mkdtemp(dir), "mkdtemp");
    bool made = strip_checkpoint(t, FIX "/llava-tiny", dir, "model.vision_tower.");
    fc_err e = made ? fc_vlm_load(&m, dir, tdir) : FC_OK;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stdout, "  (could not remove %s)\n", dir);
    if (!made) return;
    FC_CHECK(t, e == FC_ENOTFOUND && !m && strstr(fc_errmsg(), "vision_tower"), "%d: %s", (int)e, fc_errmsg());

    /* image count mismatch: a question that writes the image markup itself */
    FC_CHECK(t, fc_vlm_load(&m, FIX "/llava-tiny", tdir) == FC_OK, "%s", fc_errmsg());
    fc_vlm_request r;
    e = fc_vlm_build_prompt(m, 1, NULL, "What is <image> here?", &r);
    FC_CHECK(t, e == FC_EINVAL && !r.ids && strstr(fc_errmsg(), "<image>"), "%d: %s", (int)e, fc_errmsg());
    e = fc_vlm_build_prompt(m, FC_VLM_MAX_IMAGES + 1, NULL, "Too many.", &r);
    FC_CHECK(t, e == FC_EINVAL && !r.ids, "%d: %s", (int)e, fc_errmsg());
    /* an empty image */
    fc_image empty = {0};
    e = fc_vlm_request_build(m, &empty, 1, "Hm?", &r);
    FC_CHECK(t, e == FC_EINVAL && !r.ids && strstr(fc_errmsg(), "image 0"), "%d: %s", (int)e, fc_errmsg());
    fc_vlm_free(m);
    m = NULL;

    FC_CHECK(t, fc_vlm_load(&m, FIX "/minicpmv-tiny", NULL) == FC_OK, "%s", fc_errmsg());
    int grid[2] = {0, 0};
    e = fc_vlm_build_prompt(m, 1, grid, "Look: (<image>./</image>)", &r);
    FC_CHECK(t, e != FC_OK && !r.ids, "a second image tag was accepted");
    e = fc_vlm_build_prompt(m, 1, grid, "Look: <slice>", &r);
    FC_CHECK(t, e == FC_EINVAL && !r.ids, "%d: %s", (int)e, fc_errmsg());
    e = fc_vlm_build_prompt(m, 0, NULL, "Text only.", &r);
    FC_CHECK(t, e == FC_OK && r.n_spans == 0 && r.n_ids > 0, "%s", fc_errmsg());
    fc_vlm_request_free(&r);
    fc_vlm_free(m);
}

/* A model shell holding only what prompt building reads (config fields, tokenizer, token ids), with the
 * real models' sizes: lets the real tokenizers be checked at full size (576 LLaVA rows, 64 MiniCPM-V
 * queries) without their weights. */
static bool shell_vlm(fc_test *t, fc_vlm *m, fc_arch arch) {
    char dir[4096];
    memset(m, 0, sizeof *m);
    m->cfg.arch = arch;
    tok_dir(dir, sizeof dir, arch == FC_ARCH_LLAVA ? "llava-1.5-7b-hf" : "minicpm-v-2_6");
    if (fc_tokenizer_load(&m->tok, dir) != FC_OK) return fc_test_fail(t, "%s", fc_errmsg());
    if (arch == FC_ARCH_LLAVA) {
        m->image_tokens = 576;
        m->image_id = fc_tokenizer_token_id(m->tok, "<image>");
    } else {
        m->image_tokens = 64;
        m->cfg.query_num = 64;
        m->cfg.use_image_id = true;
        m->start_ids[0] = fc_tokenizer_token_id(m->tok, "<image>");
        m->start_ids[1] = fc_tokenizer_token_id(m->tok, "<slice>");
        m->end_ids[0] = fc_tokenizer_token_id(m->tok, "</image>");
        m->end_ids[1] = fc_tokenizer_token_id(m->tok, "</slice>");
    }
    return true;
}

static bool ids_equal(fc_test *t, const char *what, const fc_vlm_request *r, const cJSON *ids) {
    t->checks++;
    int n = cJSON_GetArraySize(ids), i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ids) {
        if (i >= r->n_ids || r->ids[i] != it->valueint) break;
        i++;
    }
    if (i != n || n != r->n_ids)
        return fc_test_fail(t, "%s: ids differ at %d (got %d ids, reference %d)", what, i, r->n_ids, n);
    return true;
}

/* Full-size prompts with the real tokenizers against the tokenizer fixtures' transformers run
 * (tests/fixtures/tokenizer/chat.json: LlavaProcessor; MiniCPMVProcessor's expansion + the Qwen2 tokenizer):
 * one user turn with its images first, then the text. */
static void test_real_tokenizer_prompts(fc_test *t) {
    FILE *fp = fopen("tests/fixtures/tokenizer/chat.json", "rb");
    FC_CHECK(t, fp, "cannot open tests/fixtures/tokenizer/chat.json");
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    FC_CHECK(t, len < sizeof buf, "chat.json is larger than the test's buffer");
    cJSON *root = cJSON_ParseWithLength(buf, len);
    FC_CHECK(t, root, "chat.json does not parse");
    fc_vlm m;
    fc_vlm_request r = {0};
    const cJSON *c;
    for (int model = 0; model < 2 && !t->failed; model++) {
        fc_arch arch = model ? FC_ARCH_MINICPMV : FC_ARCH_LLAVA;
        if (!shell_vlm(t, &m, arch)) break;
        int done = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, model ? "minicpmv" : "llava")) {
            const cJSON *msgs = cJSON_GetObjectItem(c, "messages"), *m0 = cJSON_GetArrayItem(msgs, 0);
            if (cJSON_GetArraySize(msgs) != 1 || strcmp(cJSON_GetArrayItem(m0, 0)->valuestring, "user") ||
                !cJSON_IsString(cJSON_GetArrayItem(m0, 2)))
                continue; /* only single user turns: what a request is */
            int n_img = cJSON_GetArrayItem(m0, 1)->valueint, grids[8] = {0}, n_pieces = 0;
            const cJSON *g = cJSON_GetObjectItem(c, "grids");
            for (int k = 0; k < n_img && k < 4; k++) {
                if (model) {
                    grids[2 * k] = cJSON_GetArrayItem(cJSON_GetArrayItem(g, k), 0)->valueint;
                    grids[2 * k + 1] = cJSON_GetArrayItem(cJSON_GetArrayItem(g, k), 1)->valueint;
                }
                n_pieces += 1 + grids[2 * k] * grids[2 * k + 1];
            }
            const char *q = cJSON_GetArrayItem(m0, 2)->valuestring;
            fc_err e = fc_vlm_build_prompt(&m, n_img, grids, q, &r);
            if (e) {
                fc_test_fail(t, "%s '%s': %s", fc_arch_name(arch), q, fc_errmsg());
                break;
            }
            char what[128];
            snprintf(what, sizeof what, "%s '%s' (%d image(s))", fc_arch_name(arch), q, n_img);
            bool ok = ids_equal(t, what, &r, cJSON_GetObjectItem(c, "ids"));
            t->checks++;
            if (ok && r.n_spans != n_pieces) ok = fc_test_fail(t, "%s: %d spans, want %d", what, r.n_spans, n_pieces);
            for (int k = 0; ok && k < r.n_spans; k++)
                if (r.spans[k].len != m.image_tokens) ok = fc_test_fail(t, "%s: span %d has %d rows", what, k, r.spans[k].len);
            fc_vlm_request_free(&r);
            if (!ok) break;
            done++;
        }
        fc_tokenizer_free(m.tok);
        t->checks++;
        if (!t->failed && done < (model ? 5 : 1)) fc_test_fail(t, "%s: only %d cases compared", fc_arch_name(arch), done);
    }
    cJSON_Delete(root);
}

int main(int argc, char **argv) {
    static const fc_test_case cases[] = {
        FC_CASE(test_llava_matches_transformers),
        FC_CASE(test_minicpmv_matches_reference),
        FC_CASE(test_multi_image_spans),
        FC_CASE(test_real_tokenizer_prompts),
        FC_CASE(test_bad_inputs),
    };
    return fc_test_main(argc, argv, cases, FC_NCASES(cases));
}
