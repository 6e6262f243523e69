/* test_llm.c: the Llama / Qwen2 decoder against transformers (tests/fixtures/llm, made by
 * tools/make_llm_fixtures.py): logits at every prefill position and over 5 greedy decode steps, each
 * sequence alone and all of them batched (mixed lengths, one call), chunked prefill, rows of embeddings
 * replaced, and the loader's errors.
 *
 * Tolerance: max abs diff 1e-4 on logits of magnitude ~1-10. The reference is transformers' eager attention in
 * f32; we differ only in summation order (blocked GEMM, our softmax loop), worth ~1e-6 relative per layer.
 * The f16 / bf16 checkpoints are compared with transformers run in f32 on the same weights upcast (exactly),
 * which is what our CPU path computes: weights kept in 16 bits, converted as used, f32 arithmetic.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/io/safetensors.h"
#include "core/kv/kv_pool.h"
#include "core/model/llm.h"
#include "tests/test.h"

#define FIX "tests/fixtures/llm/"
#define ATOL 1e-4
#define N_SEQ 4

static const char *const models[] = {"llama_plain", "llama_gqa_tied", "qwen2_odd", "llama_f16", "qwen2_bf16"};
#define N_MODELS ((int)(sizeof models / sizeof models[0]))

typedef struct {
    fc_llm *m;
    fc_st_file ref;
    int V, n_decode;
} fixture;

static bool fixture_open(fc_test *t, fixture *f, const char *name) {
    memset(f, 0, sizeof *f);
    char path[256];
    snprintf(path, sizeof path, FIX "%s", name);
    if (fc_llm_load(&f->m, path)) return fc_test_fail(t, "load %s: %s", name, fc_errmsg());
    snprintf(path, sizeof path, FIX "%s/ref.safetensors", name);
    if (fc_st_open(&f->ref, path)) return fc_test_fail(t, "%s", fc_errmsg());
    f->V = f->m->cfg.vocab_size;
    const fc_st_entry *e = fc_st_find(&f->ref, "seq0.logits");
    const fc_st_entry *ids = fc_st_find(&f->ref, "seq0.ids");
    if (!e || !ids) return fc_test_fail(t, "%s: ref.safetensors lacks seq0", name);
    f->n_decode = (int)(e->shape[0] - ids->shape[0]);
    return true;
}

static void fixture_close(fixture *f) {
    fc_llm_free(f->m);
    fc_st_close(&f->ref);
}

/* A reference tensor "<key>.<what>" as data pointer + element count. */
static const void *ref(const fixture *f, const char *key, const char *what, int64_t *n) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", key, what);
    const fc_st_entry *e = fc_st_find(&f->ref, name);
    if (!e) return NULL;
    *n = 1;
    for (int i = 0; i < e->ndim; i++) *n *= e->shape[i];
    return e->data;
}

static fc_kv_pool *pool_for(fc_test *t, const fc_llm *m) {
    fc_kv_pool_params p = fc_llm_kv_params(m, 4, 64, 8); /* block 4: sequences span several blocks */
    fc_kv_pool *pool;
    if (fc_kv_pool_create(&pool, &p)) {
        fc_test_fail(t, "pool: %s", fc_errmsg());
        return NULL;
    }
    return pool;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Decodes n_decode greedy steps for the sequences seqs[0..B) (teacher-forced with the reference tokens, so
 * batched and single runs see the same inputs) and compares each step's logits with the reference rows
 * after the prompt, and each argmax with the reference's greedy token. */
static bool check_decode(fc_test *t, fixture *f, fc_kv_pool *pool, const fc_kv_handle *seqs, const char *const *keys, int B,
                         const char *tag) {
    float *lg = malloc((size_t)B * f->V * sizeof(float));
    bool ok = lg != NULL;
    for (int step = 0; ok && step < f->n_decode; step++) {
        int32_t tok[N_SEQ + 1];
        for (int b = 0; b < B; b++) {
            int64_t nt, nl, ni;
            const int32_t *tokens = ref(f, keys[b], "tokens", &nt);
            ref(f, keys[b], "ids", &ni);
            (void)nl;
            tok[b] = tokens[step];
        }
        if (fc_llm_decode(f->m, pool, seqs, tok, B, lg)) {
            ok = fc_test_fail(t, "%s: decode step %d: %s", tag, step, fc_errmsg());
            break;
        }
        for (int b = 0; b < B && ok; b++) {
            int64_t nl, ni, nt;
            const float *want = ref(f, keys[b], "logits", &nl);
            const int32_t *tokens = ref(f, keys[b], "tokens", &nt);
            ref(f, keys[b], "ids", &ni);
            char what[96];
            snprintf(what, sizeof what, "%s %s decode step %d", tag, keys[b], step);
            ok = fc_test_close(t, what, lg + (size_t)b * f->V, want + (ni + step) * f->V, (size_t)f->V, ATOL, 0);
            int am = argmax(lg + (size_t)b * f->V, f->V);
            if (ok && am != tokens[step + 1])
                ok = fc_test_fail(t, "%s: greedy token %d, transformers %d", what, am, (int)tokens[step + 1]);
        }
    }
    free(lg);
    return ok;
}

/* Each sequence alone: prefill with logits at every position, then decode. */
static void check_single(fc_test *t, const char *name) {
    fixture f;
    if (!fixture_open(t, &f, name)) return fixture_close(&f);
    fc_kv_pool *pool = pool_for(t, f.m);
    for (int s = 0; pool && s < N_SEQ; s++) {
        char key[16];
        snprintf(key, sizeof key, "seq%d", s);
        int64_t T, nl;
        const int32_t *ids = ref(&f, key, "ids", &T);
        const float *want = ref(&f, key, "logits", &nl);
        fc_kv_handle seq;
        FC_CHECK(t, fc_kv_seq_create(pool, &seq) == FC_OK, "%s", fc_errmsg());
        float *lg = malloc((size_t)T * f.V * sizeof(float));
        fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = (int)T};
        fc_err e = fc_llm_forward(f.m, pool, &in, 1, FC_LLM_ROWS_ALL, lg, NULL);
        bool ok = e == FC_OK || fc_test_fail(t, "%s %s prefill: %s", name, key, fc_errmsg());
        char what[64];
        snprintf(what, sizeof what, "%s %s prefill", name, key);
        ok = ok && fc_test_close(t, what, lg, want, (size_t)(T * f.V), ATOL, 0);
        int64_t nt;
        const int32_t *tokens = ref(&f, key, "tokens", &nt);
        if (ok && argmax(lg + (T - 1) * f.V, f.V) != tokens[0])
            ok = fc_test_fail(t, "%s: first greedy token %d, transformers %d", what, argmax(lg + (T - 1) * f.V, f.V),
                              (int)tokens[0]);
        free(lg);
        const char *keys[1] = {key};
        ok = ok && check_decode(t, &f, pool, &seq, keys, 1, name);
        fc_kv_seq_free(pool, seq);
        if (!ok) break;
    }
    fc_kv_pool_free(pool);
    fixture_close(&f);
}

/* All sequences in one prefill call (rows concatenated, no padding), then batched decode steps. */
static void check_batched(fc_test *t, const char *name) {
    fixture f;
    if (!fixture_open(t, &f, name)) return fixture_close(&f);
    fc_kv_pool *pool = pool_for(t, f.m);
    if (!pool) return fixture_close(&f);
    fc_llm_seq_input in[N_SEQ];
    fc_kv_handle seqs[N_SEQ];
    const char *keys[N_SEQ] = {"seq0", "seq1", "seq2", "seq3"};
    int64_t total = 0;
    /* a gap in the pool's sequence ids, so seq ids and input order differ */
    fc_kv_handle dummy;
    fc_kv_seq_create(pool, &dummy);
    for (int s = 0; s < N_SEQ; s++) {
        int64_t T;
        const int32_t *ids = ref(&f, keys[s], "ids", &T);
        fc_kv_seq_create(pool, &seqs[s]);
        in[s] = (fc_llm_seq_input){.seq = seqs[s], .ids = ids, .n = (int)T};
        total += T;
    }
    fc_kv_seq_free(pool, dummy);
    float *lg = malloc((size_t)total * f.V * sizeof(float));
    fc_err e = fc_llm_forward(f.m, pool, in, N_SEQ, FC_LLM_ROWS_ALL, lg, NULL);
    bool ok = e == FC_OK || fc_test_fail(t, "%s batched prefill: %s", name, fc_errmsg());
    int64_t row = 0;
    for (int s = 0; ok && s < N_SEQ; s++) {
        int64_t nl;
        const float *want = ref(&f, keys[s], "logits", &nl);
        char what[64];
        snprintf(what, sizeof what, "%s batched prefill %s", name, keys[s]);
        ok = fc_test_close(t, what, lg + row * f.V, want, (size_t)(in[s].n * f.V), ATOL, 0);
        row += in[s].n;
    }
    free(lg);
    ok = ok && check_decode(t, &f, pool, seqs, keys, N_SEQ, "batched");
    fc_kv_pool_free(pool);
    fixture_close(&f);
}

#define PER_MODEL(fn, i)                                           \
    static void test_llm_##fn##_##i(fc_test *t) { check_##fn(t, models[i]); }
PER_MODEL(single, 0)
PER_MODEL(single, 1)
PER_MODEL(single, 2)
PER_MODEL(single, 3)
PER_MODEL(single, 4)
PER_MODEL(batched, 0)
PER_MODEL(batched, 1)
PER_MODEL(batched, 2)
PER_MODEL(batched, 3)
PER_MODEL(batched, 4)

/* The longest prompt prefilled in chunks of 6, 1 and the rest (each chunk attends to the cached past and
 * causally within itself), mixed in one call with another sequence's whole prompt; LAST rows only. */
static void test_llm_chunked_prefill_mixed(fc_test *t) {
    fixture f;
    if (!fixture_open(t, &f, "qwen2_odd")) return fixture_close(&f);
    fc_kv_pool *pool = pool_for(t, f.m);
    int64_t T3, T1, nl;
    const int32_t *ids3 = ref(&f, "seq3", "ids", &T3), *ids1 = ref(&f, "seq1", "ids", &T1);
    const float *want3 = ref(&f, "seq3", "logits", &nl), *want1 = ref(&f, "seq1", "logits", &nl);
    fc_kv_handle a, b;
    fc_kv_seq_create(pool, &a);
    fc_kv_seq_create(pool, &b);
    float lg[2 * 400], hid[2 * 200];
    FC_CHECK(t, f.V <= 400 && f.m->cfg.hidden_size <= 200, "fixture too large for the test's buffers");
    fc_llm_seq_input in1 = {.seq = a, .ids = ids3, .n = 6};
    FC_CHECK(t, fc_llm_forward(f.m, pool, &in1, 1, FC_LLM_ROWS_LAST, lg, NULL) == FC_OK, "%s", fc_errmsg());
    fc_test_close(t, "chunk 1 last row", lg, want3 + 5 * f.V, (size_t)f.V, ATOL, 0);
    in1 = (fc_llm_seq_input){.seq = a, .ids = ids3 + 6, .n = 1};
    FC_CHECK(t, fc_llm_forward(f.m, pool, &in1, 1, FC_LLM_ROWS_LAST, lg, NULL) == FC_OK, "%s", fc_errmsg());
    fc_test_close(t, "chunk 2 (one token)", lg, want3 + 6 * f.V, (size_t)f.V, ATOL, 0);
    fc_llm_seq_input in2[2] = {{.seq = b, .ids = ids1, .n = (int)T1}, {.seq = a, .ids = ids3 + 7, .n = (int)T3 - 7}};
    FC_CHECK(t, fc_llm_forward(f.m, pool, in2, 2, FC_LLM_ROWS_LAST, lg, hid) == FC_OK, "%s", fc_errmsg());
    fc_test_close(t, "whole prompt beside a chunk", lg, want1 + (T1 - 1) * f.V, (size_t)f.V, ATOL, 0);
    fc_test_close(t, "last chunk", lg + f.V, want3 + (T3 - 1) * f.V, (size_t)f.V, ATOL, 0);
    FC_CHECK(t, fc_kv_seq_len(pool, a) == T3 && fc_kv_seq_next_pos(pool, a) == T3, "len %d",
             fc_kv_seq_len(pool, a));
    /* hidden states are the rows lm_head multiplies: logits = hidden . lm_head^T by definition (f32 weights) */
    const float *W = f.m->lm_head.data;
    int C = f.m->cfg.hidden_size;
    for (int v = 0; v < f.V; v += 37) {
        double acc = 0;
        for (int c = 0; c < C; c++) acc += (double)hid[C + c] * W[(size_t)v * C + c];
        FC_CHECK(t, fabs(acc - lg[f.V + v]) < 1e-4, "logit %d: %g from hidden, %g returned", v, acc, lg[f.V + v]);
    }
    fc_kv_pool_free(pool);
    fixture_close(&f);
}

/* Rows [start, start+4) of the prompt's embeddings replaced (the VLM image-feature path). */
static void test_llm_embeds_override(fc_test *t) {
    for (int mi = 0; mi < N_MODELS; mi++) {
        fixture f;
        if (!fixture_open(t, &f, models[mi])) return fixture_close(&f);
        fc_kv_pool *pool = pool_for(t, f.m);
        int64_t T, ne, ns, nl;
        const int32_t *ids = ref(&f, "ovr", "ids", &T), *start = ref(&f, "ovr", "start", &ns);
        const float *emb = ref(&f, "ovr", "embeds", &ne), *want = ref(&f, "ovr", "logits", &nl);
        fc_kv_handle seq;
        fc_kv_seq_create(pool, &seq);
        int32_t bad_ids[64];
        FC_CHECK(t, T <= 64, "T %lld", (long long)T);
        memcpy(bad_ids, ids, (size_t)T * sizeof *ids);
        int n_emb = (int)(ne / f.m->cfg.hidden_size);
        for (int i = 0; i < n_emb; i++) bad_ids[start[0] + i] = -5; /* replaced rows' ids are never looked up */
        fc_llm_seq_input in = {.seq = seq, .ids = bad_ids, .n = (int)T, .embeds = emb, .embeds_start = start[0],
                               .n_embeds = n_emb};
        float *lg = malloc((size_t)T * f.V * sizeof(float));
        fc_err e = fc_llm_forward(f.m, pool, &in, 1, FC_LLM_ROWS_ALL, lg, NULL);
        char what[64];
        snprintf(what, sizeof what, "%s override prefill", models[mi]);
        bool ok = e == FC_OK || fc_test_fail(t, "%s: %s", what, fc_errmsg());
        ok = ok && fc_test_close(t, what, lg, want, (size_t)(T * f.V), ATOL, 0);
        free(lg);
        const char *keys[1] = {"ovr"};
        ok = ok && check_decode(t, &f, pool, &seq, keys, 1, models[mi]);
        fc_kv_pool_free(pool);
        fixture_close(&f);
        if (!ok) return;
    }
}

/* Bad inputs come back as errors and leave the pool as it was. */
static void test_llm_forward_errors(fc_test *t) {
    fixture f;
    if (!fixture_open(t, &f, "llama_plain")) return fixture_close(&f);
    fc_kv_pool_params p = fc_llm_kv_params(f.m, 4, 3, 4);
    fc_kv_pool *pool;
    FC_CHECK(t, fc_kv_pool_create(&pool, &p) == FC_OK, "%s", fc_errmsg());
    fc_kv_handle a, b;
    fc_kv_seq_create(pool, &a);
    fc_kv_seq_create(pool, &b);
    int32_t ids[16] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    float lg[2 * 300];
    fc_llm_seq_input in[2] = {{.seq = a, .ids = ids, .n = 8}, {.seq = b, .ids = ids, .n = 8}};
    /* 8 + 8 entries need 4 blocks of 4; the pool has 3 */
    fc_err e = fc_llm_forward(f.m, pool, in, 2, FC_LLM_ROWS_LAST, lg, NULL);
    fc_kv_stats st;
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, e == FC_ENOMEM && st.blocks_used == 0 && fc_kv_seq_len(pool, a) == 0, "e=%d used %d: %s", e,
             st.blocks_used, fc_errmsg());
    ids[3] = 300;
    in[1].n = 4;
    e = fc_llm_forward(f.m, pool, in, 2, FC_LLM_ROWS_LAST, lg, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "id 300"), "e=%d: %s", e, fc_errmsg());
    ids[3] = 8;
    in[1].seq = a;
    e = fc_llm_forward(f.m, pool, in, 2, FC_LLM_ROWS_LAST, lg, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "twice"), "e=%d: %s", e, fc_errmsg());
    in[1].seq = (fc_kv_handle){3, 1};
    e = fc_llm_forward(f.m, pool, in, 2, FC_LLM_ROWS_LAST, lg, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "not live"), "e=%d: %s", e, fc_errmsg());
    in[1] = (fc_llm_seq_input){.seq = b, .ids = ids, .n = 4, .embeds = (const float *)ids, .embeds_start = 2,
                               .n_embeds = 3};
    e = fc_llm_forward(f.m, pool, in, 2, FC_LLM_ROWS_LAST, lg, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "embedding rows"), "e=%d: %s", e, fc_errmsg());
    fc_kv_pool_stats(pool, &st);
    FC_CHECK(t, st.blocks_used == 0, "blocks used after failed calls: %d", st.blocks_used);
    fc_kv_pool_free(pool);
    /* a pool of another geometry */
    p.head_dim = 8;
    FC_CHECK(t, fc_kv_pool_create(&pool, &p) == FC_OK, "%s", fc_errmsg());
    fc_kv_seq_create(pool, &a);
    in[0].seq = a;
    e = fc_llm_forward(f.m, pool, in, 1, FC_LLM_ROWS_LAST, lg, NULL);
    FC_CHECK(t, e == FC_EINVAL && strstr(fc_errmsg(), "kv pool"), "e=%d: %s", e, fc_errmsg());
    fc_kv_pool_free(pool);
    fixture_close(&f);
}

/* Missing and wrongly-shaped tensors: the message names the tensor and both shapes. */
static void test_llm_load_errors(fc_test *t) {
    fc_st_model st;
    FC_CHECK(t, fc_st_model_open(&st, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    fc_model_config mc;
    FC_CHECK(t, fc_hfconfig_load(&mc, FIX "llama_plain") == FC_OK, "%s", fc_errmsg());
    fc_llm *m = NULL;
    FC_CHECK(t, fc_llm_create(&m, &mc.text, &st) == FC_OK, "%s", fc_errmsg());
    fc_llm_free(m);
    fc_llm_config c = mc.text;
    c.intermediate_size = 173;
    fc_err e = fc_llm_create(&m, &c, &st);
    FC_CHECK(t, e == FC_ESHAPE && m == NULL &&
                    strstr(fc_errmsg(), "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight': shape "
                                        "[172,64], config says [173,64]"),
             "e=%d: %s", e, fc_errmsg());
    c = mc.text;
    c.attention_bias = true;
    e = fc_llm_create(&m, &c, &st);
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "'model.layers.0.self_attn.q_proj.bias' is missing"),
             "e=%d: %s", e, fc_errmsg());
    c = mc.text;
    c.vocab_size = 301;
    e = fc_llm_create(&m, &c, &st);
    FC_CHECK(t, e == FC_ESHAPE && strstr(fc_errmsg(), "embed_tokens.weight': shape [300,64], config says [301,64]"),
             "e=%d: %s", e, fc_errmsg());
    c = mc.text;
    c.hidden_act = FC_ACT_GELU;
    e = fc_llm_create(&m, &c, &st);
    FC_CHECK(t, e == FC_EUNSUPPORTED, "gelu decoder accepted: %s", fc_errmsg());
    fc_st_model_close(&st);
    /* the tied model has no lm_head.weight: untying it must fail, naming the tensor */
    FC_CHECK(t, fc_st_model_open(&st, FIX "llama_gqa_tied") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, fc_hfconfig_load(&mc, FIX "llama_gqa_tied") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, mc.text.tie_word_embeddings, "fixture is not tied");
    c = mc.text;
    c.tie_word_embeddings = false;
    e = fc_llm_create(&m, &c, &st);
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "lm_head.weight' is missing"), "e=%d: %s", e, fc_errmsg());
    fc_st_model_close(&st);
    e = fc_llm_load(&m, FIX "no_such_model");
    FC_CHECK(t, e != FC_OK && m == NULL, "loading a missing folder succeeded");
}

/* The same weights under LLaVA's hub names, transformers >= 4.52 LLaVA names and MiniCPM-V's names load
 * and give the same logits (the checkpoint is re-written under the other names by our writer). */
static void test_llm_prefix_spellings(fc_test *t) {
    static const char *const spell[][2] = {{"language_model.model.", "language_model.lm_head.weight"},
                                           {"model.language_model.", "lm_head.weight"},
                                           {"llm.model.", "llm.lm_head.weight"}};
    fixture f;
    if (!fixture_open(t, &f, "llama_plain")) return fixture_close(&f);
    const fc_st_model *st = f.m->weights;
    char dir[] = "/tmp/fc_test_llm_XXXXXX";
    FC_CHECK(t, mkdtemp(dir) != NULL, "mkdtemp failed");
    for (int sp = 0; sp < 3; sp++) {
        fc_st_writer *w;
        FC_CHECK(t, fc_st_writer_create(&w) == FC_OK, "%s", fc_errmsg());
        char names[64][128];
        FC_CHECK(t, st->n_entries <= 64, "%d tensors", st->n_entries);
        for (int i = 0; i < st->n_entries; i++) {
            const fc_st_entry *e = st->entries[i];
            if (!strcmp(e->name, "lm_head.weight"))
                snprintf(names[i], sizeof names[i], "%s", spell[sp][1]);
            else
                snprintf(names[i], sizeof names[i], "%s%s", spell[sp][0], e->name + strlen("model."));
            fc_tensor v;
            FC_CHECK(t, fc_st_tensor(e, &v) == FC_OK, "%s", fc_errmsg());
            FC_CHECK(t, fc_st_writer_add_tensor(w, names[i], &v) == FC_OK, "%s", fc_errmsg());
        }
        char path[128];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        fc_err e = fc_st_writer_write(w, path);
        fc_st_writer_free(w);
        FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
        fc_st_model st2;
        FC_CHECK(t, fc_st_model_open(&st2, path) == FC_OK, "%s", fc_errmsg());
        fc_llm *m2;
        e = fc_llm_create(&m2, &f.m->cfg, &st2);
        if (e) fc_st_model_close(&st2);
        FC_CHECK(t, e == FC_OK, "%s: %s", spell[sp][0], fc_errmsg());
        FC_CHECK(t, !strcmp(m2->prefix, spell[sp][0]), "prefix %s", m2->prefix);
        fc_kv_pool *pool = pool_for(t, m2);
        int64_t T, nl;
        const int32_t *ids = ref(&f, "seq1", "ids", &T);
        const float *want = ref(&f, "seq1", "logits", &nl);
        fc_kv_handle seq;
        fc_kv_seq_create(pool, &seq);
        fc_llm_seq_input in = {.seq = seq, .ids = ids, .n = (int)T};
        float *lg = malloc((size_t)f.V * sizeof(float));
        e = fc_llm_forward(m2, pool, &in, 1, FC_LLM_ROWS_LAST, lg, NULL);
        bool ok = e == FC_OK || fc_test_fail(t, "%s", fc_errmsg());
        ok = ok && fc_test_close(t, spell[sp][0], lg, want + (T - 1) * f.V, (size_t)f.V, ATOL, 0);
        free(lg);
        fc_kv_pool_free(pool);
        fc_llm_free(m2);
        fc_st_model_close(&st2);
        remove(path);
        if (!ok) break;
    }
    rmdir(dir);
    fixture_close(&f);
}

static const fc_test_case cases[] = {
    FC_CASE(test_llm_single_0),  FC_CASE(test_llm_single_1),  FC_CASE(test_llm_single_2),
    FC_CASE(test_llm_single_3),  FC_CASE(test_llm_single_4),  FC_CASE(test_llm_batched_0),
    FC_CASE(test_llm_batched_1), FC_CASE(test_llm_batched_2), FC_CASE(test_llm_batched_3),
    FC_CASE(test_llm_batched_4), FC_CASE(test_llm_chunked_prefill_mixed), FC_CASE(test_llm_embeds_override),
    FC_CASE(test_llm_forward_errors), FC_CASE(test_llm_load_errors), FC_CASE(test_llm_prefix_spellings),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
