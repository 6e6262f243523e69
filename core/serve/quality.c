/* quality.c: the quality loop over records and methods (quality.h). */
#include "core/serve/quality.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/serve/prefill_compress.h"

double fc_quality_kl(const float *ref, const float *x, int V) {
    double mr = -INFINITY, mx = -INFINITY;
    for (int i = 0; i < V; i++) {
        if (ref[i] > mr) mr = ref[i];
        if (x[i] > mx) mx = x[i];
    }
    double sr = 0, sx = 0;
    for (int i = 0; i < V; i++) sr += exp((double)ref[i] - mr), sx += exp((double)x[i] - mx);
    const double lr = mr + log(sr), lx = mx + log(sx);
    double kl = 0;
    for (int i = 0; i < V; i++) {
        double a = (double)ref[i] - lr, b = (double)x[i] - lx; /* log p, log q */
        kl += exp(a) * (a - b);
    }
    return kl;
}

int fc_quality_argmax(const float *x, int V) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void fc_quality_result_free(fc_quality_result *r) {
    if (!r) return;
    for (int i = 0; r->cells && i < r->n_records * r->n_methods; i++) free(r->cells[i].prediction), free(r->cells[i].greedy);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

/* Per-run scratch: one pool (grown when a record needs more), logits rows of the reference and of the
 * method under test, the record's request. */
typedef struct {
    fc_vlm *vlm;
    const fc_quality_opts *o;
    fc_kv_pool *kv;
    int kv_tokens;             /* tokens one sequence may hold in kv */
    float *ref, *cur;          /* (cap_rows, V) teacher-forced logits: full cache, method under test */
    float *next;               /* (V) greedy step logits */
    int cap_rows, V;
    int32_t *answer;           /* (n_answer) reference answer tokens + stop token */
    int n_answer;
} run_ctx;

static fc_err ensure_pool(run_ctx *c, int tokens) {
    if (c->kv && tokens <= c->kv_tokens) return FC_OK;
    fc_llm *llm = c->vlm->llm;
    const int bs = 16;
    fc_kv_pool_params p = fc_llm_kv_params(llm, bs, 1, 1);
    size_t per_block = (size_t)p.n_layers * 2 * (size_t)p.n_kv_heads * (size_t)p.head_dim * (size_t)bs *
                       fc_dtype_size(p.dtype);
    int blocks = (tokens + bs - 1) / bs;
    if (c->o->kv_budget_bytes) {
        long have = (long)(c->o->kv_budget_bytes / per_block);
        if (blocks > have)
            return fc_err_set(FC_EINVAL, "needs %d tokens of KV cache (%zu bytes), more than the KV budget of %zu "
                                         "bytes holds (%ld tokens; one block of %d tokens is %zu bytes)", tokens,
                              (size_t)blocks * per_block, c->o->kv_budget_bytes, have * bs, bs, per_block);
        if (c->kv) return FC_OK; /* the budget's pool holds it */
        if (have > INT32_MAX / 2 / p.n_layers)
            return fc_err_set(FC_EINVAL, "a KV budget of %zu bytes is %ld blocks, more than one pool can address",
                              c->o->kv_budget_bytes, have);
        blocks = (int)have;
    }
    fc_kv_pool_free(c->kv);
    c->kv = NULL;
    p.n_blocks = blocks;
    FC_TRY(fc_kv_pool_create(&c->kv, &p));
    c->kv_tokens = blocks * bs;
    return FC_OK;
}

static fc_err ensure_rows(run_ctx *c, int rows) {
    if (rows <= c->cap_rows) return FC_OK;
    size_t n;
    if (!fc_mul_size((size_t)rows, (size_t)c->V * sizeof(float), &n)) return fc_err_set(FC_ENOMEM, "%d logits rows", rows);
    float *a = fc_realloc(c->ref, n, "quality logits"), *b = a ? fc_realloc(c->cur, n, "quality logits") : NULL;
    if (a) c->ref = a;
    if (!b) return FC_ENOMEM;
    c->cur = b;
    c->cap_rows = rows;
    return FC_OK;
}

/* One record's prompt under one method: teacher-forced rows into `rows` (n_answer, V), greedy answer into
 * cell. */
static fc_err run_method(run_ctx *c, const fc_vlm_request *req, const fc_compress_method *m, float *rows,
                         fc_quality_cell *cell) {
    fc_llm *llm = c->vlm->llm;
    const int V = c->V, L = c->n_answer;
    fc_kv_handle seq = FC_KV_NONE;
    fc_serve_mark mk = {0};
    fc_compress_seq_result r;
    fc_err e = fc_kv_seq_create(c->kv, &seq);
    if (!e) e = fc_serve_prompt_to_cache(llm, c->kv, req, seq, m, c->o->hold_last, rows, &r);
    if (!e) e = fc_serve_mark_take(&mk, c->kv, seq);
    if (e) goto done;
    memcpy(c->next, rows, (size_t)V * sizeof(float));
    cell->kv_bytes = r.bytes_after, cell->kv_bytes_full = r.bytes_before;
    cell->entries_before = r.entries_before, cell->entries_after = r.entries_after;
    cell->compress_seconds = r.seconds;
    cell->prompt_tokens = req->n_ids;
    if (m) fc_serve_method_note(m, req, c->o->hold_last ? req->n_ids - 1 : req->n_ids, llm->cfg.num_layers, NULL,
                                &cell->note);
    else cell->note = (fc_compress_note){.S = r.len_before, .budget_min = r.len_before, .budget_max = r.len_before};
    if (L > 1) { /* teacher forcing: answer tokens 0..L-2 give the rows predicting 1..L-1 */
        fc_llm_seq_input tf = {.seq = seq, .ids = c->answer, .n = L - 1};
        if ((e = fc_llm_forward(llm, c->kv, &tf, 1, FC_LLM_ROWS_ALL, rows + V, NULL))) goto done;
    }
    if ((e = fc_serve_mark_rewind(&mk, c->kv, seq))) goto done;
    const int N = c->o->max_new_tokens;
    if (!(cell->greedy = fc_malloc((size_t)N * sizeof(int32_t), "greedy answer"))) {
        e = FC_ENOMEM;
        goto done;
    }
    for (;;) {
        int32_t t = fc_quality_argmax(c->next, V);
        bool stop = false;
        for (int i = 0; i < c->vlm->n_eos; i++) stop |= t == c->vlm->eos[i];
        if (stop) break;
        cell->greedy[cell->n_greedy++] = t;
        if (cell->n_greedy >= N) break;
        if ((e = fc_llm_decode(llm, c->kv, &seq, &t, 1, c->next))) goto done;
    }
    e = fc_tokenizer_decode(c->vlm->tok, cell->greedy, cell->n_greedy, true, &cell->prediction);
done:
    fc_serve_mark_free(&mk);
    fc_kv_seq_free(c->kv, seq);
    return e;
}

/* The record's request: its images decoded and encoded, the question with the suffix. */
static fc_err build_request(run_ctx *c, const fc_data_record *rec, fc_vlm_request *req) {
    if (rec->n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%d images (at most %d per request)", rec->n_images, FC_VLM_MAX_IMAGES);
    fc_image *img = rec->n_images ? fc_calloc((size_t)rec->n_images, sizeof *img, "record images") : NULL;
    const char *sfx = c->o->prompt_suffix ? c->o->prompt_suffix : "";
    size_t nq = strlen(rec->question), ns = strlen(sfx);
    char *q = fc_malloc(nq + ns + 1, "prompt");
    fc_err e = (rec->n_images && !img) || !q ? FC_ENOMEM : FC_OK;
    if (q) memcpy(q, rec->question, nq), memcpy(q + nq, sfx, ns + 1);
    for (int k = 0; k < rec->n_images && !e; k++) e = fc_image_load(&img[k], rec->images[k]);
    if (!e) e = fc_vlm_request_build(c->vlm, img, rec->n_images, q, req);
    for (int k = 0; img && k < rec->n_images; k++) fc_image_free(&img[k]);
    free(img), free(q);
    return e;
}

static fc_err tokenize_answer(run_ctx *c, const fc_data_record *rec, bool *cut) {
    int32_t *ids = NULL;
    int n = 0;
    free(c->answer);
    c->answer = NULL;
    /* the answer as the model would continue the prompt: no BOS; Llama's tokenizer adds its leading "▁"
     * as it does after "ASSISTANT:" */
    FC_TRY(fc_tokenizer_encode(c->vlm->tok, rec->answer, strlen(rec->answer), false, &ids, &n));
    int keep = n + 1 > c->o->max_answer_tokens ? c->o->max_answer_tokens - 1 : n;
    *cut = keep < n;
    int32_t *a = fc_malloc((size_t)(keep + 1) * sizeof(int32_t), "answer tokens");
    if (!a) {
        free(ids);
        return FC_ENOMEM;
    }
    memcpy(a, ids, (size_t)keep * sizeof(int32_t));
    free(ids);
    a[keep] = c->vlm->eos[0]; /* the model should stop after the answer: the stop token is a target too */
    c->answer = a, c->n_answer = keep + 1;
    return FC_OK;
}

static int first_divergence(const int32_t *a, int na, const int32_t *b, int nb) {
    int i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

fc_err fc_quality_run(fc_vlm *vlm, const fc_data_record *recs, int n_recs, const fc_quality_method *methods,
                      int n_methods, const fc_quality_opts *o, fc_progress *prog, fc_quality_result *out) {
    memset(out, 0, sizeof *out);
    if (n_methods < 1 || methods[0].m) return fc_err_set(FC_EINVAL, "quality: method 0 must be the full cache");
    if (o->max_new_tokens < 1 || o->max_answer_tokens < 1)
        return fc_err_set(FC_EINVAL, "quality: max_new_tokens %d and max_answer_tokens %d must be >= 1",
                          o->max_new_tokens, o->max_answer_tokens);
    if (o->kv_budget_bytes) { /* a budget no pool can address fails here, not as a record's error */
        fc_kv_pool_params p = fc_llm_kv_params(vlm->llm, 16, 1, 1);
        size_t per_block = (size_t)p.n_layers * 2 * (size_t)p.n_kv_heads * (size_t)p.head_dim * 16 * fc_dtype_size(p.dtype);
        if (o->kv_budget_bytes / per_block > (size_t)(INT32_MAX / 2 / p.n_layers))
            return fc_err_set(FC_EINVAL, "a KV budget of %zu bytes is %zu blocks of %zu bytes, more than one pool can "
                                         "address", o->kv_budget_bytes, o->kv_budget_bytes / per_block, per_block);
    }
    for (int j = 1; j < n_methods; j++) /* a CCM made for another model fails here, before any record runs */
        FC_TRY(fc_compress_check_model(methods[j].m, vlm->llm->cfg.num_layers, vlm->llm->cfg.head_dim));
    run_ctx c = {.vlm = vlm, .o = o, .V = vlm->llm->cfg.vocab_size};
    fc_vlm_request req = {0};
    fc_err e = FC_OK;
    if (!(out->cells = fc_calloc((size_t)n_recs * (size_t)n_methods + 1, sizeof *out->cells, "quality cells")) ||
        !(c.next = fc_malloc((size_t)c.V * sizeof(float), "quality logits"))) {
        e = FC_ENOMEM;
        goto done;
    }
    out->n_records = n_recs, out->n_methods = n_methods;
    for (int s = 0; s < n_recs && !e; s++) {
        const fc_data_record *rec = &recs[s];
        bool cut = false;
        if ((e = build_request(&c, rec, &req)) || (e = tokenize_answer(&c, rec, &cut)) ||
            (e = ensure_rows(&c, c.n_answer)))
            goto record_failed;
        out->answers_cut += cut;
        /* the prompt, the teacher-forced answer and the greedy answer at once in one sequence */
        if ((e = ensure_pool(&c, req.n_ids + (c.n_answer > o->max_new_tokens ? c.n_answer : o->max_new_tokens) + 1)))
            goto record_failed;
        fc_quality_cell *row = &out->cells[(size_t)s * n_methods];
        for (int j = 0; j < n_methods && !e; j++) {
            fc_quality_cell *cell = &row[j];
            float *rows = j == 0 ? c.ref : c.cur;
            if ((e = run_method(&c, &req, methods[j].m, rows, cell))) {
                e = fc_err_prefix(e, "method %s", methods[j].spec);
                break;
            }
            double kl = 0;
            int agree = 0;
            for (int i = 0; i < c.n_answer; i++) {
                const float *a = c.ref + (size_t)i * c.V, *b = rows + (size_t)i * c.V;
                kl += fc_quality_kl(a, b, c.V);
                agree += fc_quality_argmax(a, c.V) == fc_quality_argmax(b, c.V);
            }
            cell->n_tf = c.n_answer;
            cell->kl = kl / c.n_answer, cell->top1 = (double)agree / c.n_answer;
            const fc_quality_cell *full = &row[0];
            cell->first_divergence = first_divergence(full->greedy, full->n_greedy, cell->greedy, cell->n_greedy);
            cell->greedy_identical = cell->n_greedy == full->n_greedy && cell->first_divergence == cell->n_greedy;
            e = fc_answer_score_text(cell->prediction, rec->answer, (const char *const *)rec->choices, rec->n_choices,
                                     rec->answer_choice, &cell->score);
            if (prog) fc_progress_add(prog, 1);
        }
    record_failed:
        char shown[160];
        if (e) e = fc_err_prefix(e, "record %d (id '%s')", rec->index, fc_data_id_for_message(rec->id, shown, sizeof shown));
        fc_vlm_request_free(&req);
    }
done:
    fc_vlm_request_free(&req);
    fc_kv_pool_free(c.kv);
    free(c.ref), free(c.cur), free(c.next), free(c.answer);
    if (e) fc_quality_result_free(out);
    return e;
}

void fc_quality_summarize(const fc_quality_result *r, int method, fc_quality_summary *s) {
    memset(s, 0, sizeof *s);
    double eb = 0, ea = 0;
    for (int i = 0; i < r->n_records; i++) {
        const fc_quality_cell *c = &r->cells[(size_t)i * r->n_methods + method];
        s->n++;
        s->accuracy_exact += c->score.exact, s->accuracy_contains += c->score.contains;
        s->kl_mean += c->kl, s->top1_agreement += c->top1;
        s->greedy_identical += c->greedy_identical, s->first_divergence_mean += c->first_divergence;
        s->kv_bytes_mean += (double)c->kv_bytes, s->kv_bytes_full_mean += (double)c->kv_bytes_full;
        eb += (double)c->entries_before, ea += (double)c->entries_after;
        s->below_window += c->note.below_window, s->uniform_fallback += c->note.uniform_fallback;
        if (i == 0 || c->note.budget_min < s->budget_min) s->budget_min = c->note.budget_min;
        if (i == 0 || c->note.budget_max > s->budget_max) s->budget_max = c->note.budget_max;
    }
    if (s->n) {
        double n = s->n;
        s->accuracy_exact /= n, s->accuracy_contains /= n, s->kl_mean /= n, s->top1_agreement /= n;
        s->greedy_identical /= n, s->first_divergence_mean /= n, s->kv_bytes_mean /= n, s->kv_bytes_full_mean /= n;
    }
    s->achieved_ratio = ea > 0 ? eb / ea : 1.0;
}
