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
    for (int i = 0; r->cells && i < r->n_items * r->n_methods; i++) free(r->cells[i].prediction), free(r->cells[i].greedy);
    free(r->cells), free(r->item_record), free(r->item_turn);
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
    /* the record's questions (items): item t's reference answer + stop token ans[t] (n_ans[t]); its rows
     * start at row_off[t] of ref/cur; ctx[t] (t >= 1): the turn's question in the chat layout, fed after
     * the previous item's answer (ctx[0] unused: the first question is in the prompt) */
    int n_items, cap_items;
    int32_t **ans, **ctx;
    char **text; /* item t's reference answer as written, trimmed (scored against the greedy answer) */
    int *n_ans, *n_ctx, *row_off;
    int total_rows, context_tokens; /* answer rows of all items; tokens fed after the prompt before the last item */
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

/* The greedy answer from c->next (the logits before its first token) into cell; decodes on seq. */
static fc_err greedy_answer(run_ctx *c, fc_kv_handle *seq, fc_quality_cell *cell) {
    fc_llm *llm = c->vlm->llm;
    const int N = c->o->max_new_tokens;
    if (!(cell->greedy = fc_malloc((size_t)N * sizeof(int32_t), "greedy answer"))) return FC_ENOMEM;
    for (;;) {
        int32_t t = fc_quality_argmax(c->next, c->V);
        bool stop = false;
        for (int i = 0; i < c->vlm->n_eos; i++) stop |= t == c->vlm->eos[i];
        if (stop) break;
        cell->greedy[cell->n_greedy++] = t;
        if (cell->n_greedy >= N) break;
        FC_TRY(fc_llm_decode(llm, c->kv, seq, &t, 1, c->next));
    }
    return fc_tokenizer_decode(c->vlm->tok, cell->greedy, cell->n_greedy, true, &cell->prediction);
}

/* One record under one method: the prompt to the (compressed) cache once; then per item (question) t:
 * teacher-forced rows into rows + row_off[t] (n_ans[t], V), the greedy answer into cells[t], and, before
 * the next item, the reference answer and the next question appended to the cache uncompressed (the
 * layout fc-train's continuation uses: a multi-turn chat whose first prompt was compressed). */
static fc_err run_method(run_ctx *c, const fc_vlm_request *req, const fc_compress_method *m, float *rows,
                         fc_quality_cell *cells) {
    fc_llm *llm = c->vlm->llm;
    const int V = c->V;
    fc_kv_handle seq = FC_KV_NONE;
    fc_serve_mark mk = {0};
    fc_compress_seq_result r;
    fc_err e = fc_kv_seq_create(c->kv, &seq);
    if (!e) e = fc_serve_prompt_to_cache(llm, c->kv, req, seq, m, c->o->hold_last, rows, &r);
    if (e) goto done;
    fc_compress_note note;
    if (m) fc_serve_method_note(m, req, c->o->hold_last ? req->n_ids - 1 : req->n_ids, llm->cfg.num_layers, NULL,
                                &note);
    else note = (fc_compress_note){.S = r.len_before, .budget_min = r.len_before, .budget_max = r.len_before};
    for (int t = 0; t < c->n_items && !e; t++) {
        fc_quality_cell *cell = &cells[t];
        float *rt = rows + (size_t)c->row_off[t] * V;
        cell->kv_bytes = r.bytes_after, cell->kv_bytes_full = r.bytes_before;
        cell->entries_before = r.entries_before, cell->entries_after = r.entries_after;
        cell->compress_seconds = t == 0 ? r.seconds : 0;
        cell->prompt_tokens = req->n_ids;
        cell->note = note;
        if (t > 0) memcpy(rt, c->next, (size_t)V * sizeof(float));
        memcpy(c->next, rt, (size_t)V * sizeof(float));
        const int L = c->n_ans[t];
        if ((e = fc_serve_mark_take(&mk, c->kv, seq))) break;
        if (L > 1) { /* teacher forcing: answer tokens 0..L-2 give the rows predicting 1..L-1 */
            fc_llm_seq_input tf = {.seq = seq, .ids = c->ans[t], .n = L - 1};
            if ((e = fc_llm_forward(llm, c->kv, &tf, 1, FC_LLM_ROWS_ALL, rt + V, NULL))) break;
        }
        if ((e = fc_serve_mark_rewind(&mk, c->kv, seq)) || (e = greedy_answer(c, &seq, cell)) ||
            (e = fc_serve_mark_rewind(&mk, c->kv, seq)))
            break;
        fc_serve_mark_free(&mk);
        if (t + 1 < c->n_items) { /* the reference answer (stop token included), then the next question */
            fc_llm_seq_input in[1] = {{.seq = seq, .ids = c->ans[t], .n = L}};
            if ((e = fc_llm_forward(llm, c->kv, in, 1, FC_LLM_ROWS_LAST, c->next, NULL))) break;
            in[0] = (fc_llm_seq_input){.seq = seq, .ids = c->ctx[t + 1], .n = c->n_ctx[t + 1]};
            if ((e = fc_llm_forward(llm, c->kv, in, 1, FC_LLM_ROWS_LAST, c->next, NULL))) break;
        }
    }
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

/* text without leading and trailing whitespace, malloc'd */
static char *trimmed(const char *t) {
    while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r') t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\t' || t[n - 1] == '\r')) n--;
    char *o = fc_malloc(n + 1, "answer text");
    if (o) memcpy(o, t, n), o[n] = '\0';
    return o;
}

/* Tokens of text as the model would continue the cache (no BOS), malloc'd into *ids, with room for one
 * more. */
static fc_err encode_cont(run_ctx *c, const char *text, int32_t **ids, int *n) {
    FC_TRY(fc_tokenizer_encode(c->vlm->tok, text, strlen(text), false, ids, n));
    int32_t *a = fc_realloc(*ids, (size_t)(*n + 1) * sizeof(int32_t), "answer tokens");
    if (!a) {
        free(*ids), *ids = NULL;
        return FC_ENOMEM;
    }
    *ids = a;
    return FC_OK;
}

static void items_clear(run_ctx *c) {
    for (int t = 0; t < c->n_items; t++) {
        free(c->ans[t]), free(c->ctx[t]), free(c->text[t]);
        c->ans[t] = c->ctx[t] = NULL, c->text[t] = NULL;
    }
    c->n_items = 0, c->total_rows = 0, c->context_tokens = 0;
}

/* The record's items: its first question/answer (rec->question, rec->answer), then, unless first_turn_only,
 * every later human turn followed by a gpt turn. Answers are cut to max_answer_tokens (stop included). */
static fc_err record_items(run_ctx *c, const fc_data_record *rec, int *cut) {
    items_clear(c);
    int n = fc_quality_record_items(rec, c->o->first_turn_only);
    if (n > c->cap_items) {
        int32_t **a = fc_realloc(c->ans, (size_t)n * sizeof *a, "quality items"),
                **x = a ? fc_realloc(c->ctx, (size_t)n * sizeof *x, "quality items") : NULL;
        if (a) c->ans = a;
        if (x) c->ctx = x;
        int *na = x ? fc_realloc(c->n_ans, (size_t)n * sizeof *na, "quality items") : NULL;
        if (na) c->n_ans = na;
        int *nx = na ? fc_realloc(c->n_ctx, (size_t)n * sizeof *nx, "quality items") : NULL;
        if (nx) c->n_ctx = nx;
        int *ro = nx ? fc_realloc(c->row_off, (size_t)n * sizeof *ro, "quality items") : NULL;
        if (ro) c->row_off = ro;
        char **tx = ro ? fc_realloc(c->text, (size_t)n * sizeof *tx, "quality items") : NULL;
        if (!tx) return FC_ENOMEM;
        c->text = tx;
        for (int t = c->cap_items; t < n; t++) c->ans[t] = c->ctx[t] = NULL, c->text[t] = NULL;
        c->cap_items = n;
    }
    const bool llava = c->vlm->cfg.arch == FC_ARCH_LLAVA;
    *cut = 0;
    int turn = 3; /* the gpt turn of the next later item */
    for (int t = 0; t < n; t++) {
        c->n_items = t + 1;
        const char *answer = rec->answer;
        c->n_ctx[t] = 0;
        if (t > 0) {
            while (!(rec->turns[turn].role == FC_DATA_GPT && rec->turns[turn - 1].role == FC_DATA_HUMAN)) turn += 2;
            char *q = fc_data_strip_image_markers(rec->turns[turn - 1].text);
            size_t len = q ? strlen(q) + 64 : 0;
            char *text = q ? fc_malloc(len, "question text") : NULL;
            if (!text) {
                free(q);
                return FC_ENOMEM;
            }
            /* fc-train's layout (train/sample.c): the chat template's turn boundary after the answer */
            if (llava) snprintf(text, len, "USER: %s ASSISTANT:", q);
            else snprintf(text, len, "\n<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", q);
            free(q);
            fc_err e = encode_cont(c, text, &c->ctx[t], &c->n_ctx[t]);
            free(text);
            FC_TRY(e);
            answer = rec->turns[turn].text;
            turn += 2;
        }
        char *a = trimmed(answer);
        if (!a) return FC_ENOMEM;
        if (!*a) {
            free(a);
            return fc_err_set(FC_EINVAL, "turn %d: the answer is empty", turn - 1);
        }
        int na = 0;
        c->text[t] = a;
        /* the answer as the model would continue the prompt: no BOS; Llama's tokenizer adds its leading "▁"
         * as it does after "ASSISTANT:" */
        FC_TRY(encode_cont(c, a, &c->ans[t], &na));
        int keep = na + 1 > c->o->max_answer_tokens ? c->o->max_answer_tokens - 1 : na;
        *cut += keep < na;
        c->ans[t][keep] = c->vlm->eos[0]; /* the model should stop after the answer: the stop token is a target */
        c->n_ans[t] = keep + 1;
        c->row_off[t] = c->total_rows;
        c->total_rows += keep + 1;
        if (t + 1 < n) c->context_tokens += keep + 1;
        if (t > 0) c->context_tokens += c->n_ctx[t];
    }
    return FC_OK;
}

int fc_quality_record_items(const fc_data_record *rec, bool first_turn_only) {
    int n = 1;
    for (int i = 3; !first_turn_only && i < rec->n_turns; i += 2)
        n += rec->turns[i].role == FC_DATA_GPT && rec->turns[i - 1].role == FC_DATA_HUMAN;
    return n;
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
    int64_t n_items = 0;
    for (int s = 0; s < n_recs; s++) n_items += fc_quality_record_items(&recs[s], o->first_turn_only);
    if (n_items > INT32_MAX / (n_methods + 1)) return fc_err_set(FC_EINVAL, "quality: %lld questions", (long long)n_items);
    if (!(out->cells = fc_calloc((size_t)n_items * (size_t)n_methods + 1, sizeof *out->cells, "quality cells")) ||
        !(out->item_record = fc_malloc((size_t)n_items * sizeof(int) + 1, "quality items")) ||
        !(out->item_turn = fc_malloc((size_t)n_items * sizeof(int) + 1, "quality items")) ||
        !(c.next = fc_malloc((size_t)c.V * sizeof(float), "quality logits"))) {
        e = FC_ENOMEM;
        goto done;
    }
    out->n_records = n_recs, out->n_methods = n_methods, out->n_items = (int)n_items;
    for (int s = 0, item = 0; s < n_recs && !e; s++) {
        const fc_data_record *rec = &recs[s];
        int cut = 0;
        if ((e = build_request(&c, rec, &req)) || (e = record_items(&c, rec, &cut)) || (e = ensure_rows(&c, c.total_rows)))
            goto record_failed;
        out->answers_cut += cut;
        int last = c.n_ans[c.n_items - 1];
        /* the prompt, the earlier items' answers and questions, then the last item's teacher-forced or greedy
         * answer at once in one sequence */
        if ((e = ensure_pool(&c, req.n_ids + c.context_tokens + (last > o->max_new_tokens ? last : o->max_new_tokens) + 1)))
            goto record_failed;
        for (int t = 0; t < c.n_items; t++) out->item_record[item + t] = s, out->item_turn[item + t] = t + 1;
        fc_quality_cell *row = &out->cells[(size_t)item * n_methods];
        fc_quality_cell *tmp = fc_calloc((size_t)c.n_items, sizeof *tmp, "quality cells");
        if (!tmp) {
            e = FC_ENOMEM;
            goto record_failed;
        }
        for (int j = 0; j < n_methods && !e; j++) {
            float *rows = j == 0 ? c.ref : c.cur;
            memset(tmp, 0, (size_t)c.n_items * sizeof *tmp);
            e = run_method(&c, &req, methods[j].m, rows, tmp);
            for (int t = 0; t < c.n_items; t++) row[(size_t)t * n_methods + j] = tmp[t]; /* owned by out now */
            if (e) {
                e = fc_err_prefix(e, "method %s", methods[j].spec);
                break;
            }
            for (int t = 0; t < c.n_items && !e; t++) {
                fc_quality_cell *cell = &row[(size_t)t * n_methods + j];
                const int off = c.row_off[t], L = c.n_ans[t];
                double kl = 0;
                int agree = 0;
                for (int i = 0; i < L; i++) {
                    const float *a = c.ref + (size_t)(off + i) * c.V, *b = rows + (size_t)(off + i) * c.V;
                    kl += fc_quality_kl(a, b, c.V);
                    agree += fc_quality_argmax(a, c.V) == fc_quality_argmax(b, c.V);
                }
                cell->n_tf = L, cell->kl_sum = kl, cell->top1_count = agree;
                cell->kl = kl / L, cell->top1 = (double)agree / L;
                const fc_quality_cell *full = &row[(size_t)t * n_methods];
                cell->first_divergence = first_divergence(full->greedy, full->n_greedy, cell->greedy, cell->n_greedy);
                cell->greedy_identical = cell->n_greedy == full->n_greedy && cell->first_divergence == cell->n_greedy;
                /* MileBench's choices belong to its one question; later turns are scored as free text */
                e = fc_answer_score_text(cell->prediction, c.text[t], t == 0 ? (const char *const *)rec->choices : NULL,
                                         t == 0 ? rec->n_choices : 0, t == 0 ? rec->answer_choice : -1, &cell->score);
            }
            if (prog) fc_progress_add(prog, c.n_items);
        }
        free(tmp);
        item += c.n_items;
    record_failed:
        char shown[160];
        if (e) e = fc_err_prefix(e, "record %d (id '%s')", rec->index, fc_data_id_for_message(rec->id, shown, sizeof shown));
        fc_vlm_request_free(&req);
    }
done:
    fc_vlm_request_free(&req);
    fc_kv_pool_free(c.kv);
    items_clear(&c);
    free(c.ans), free(c.ctx), free(c.text), free(c.n_ans), free(c.n_ctx), free(c.row_off);
    free(c.ref), free(c.cur), free(c.next);
    if (e) fc_quality_result_free(out);
    return e;
}

void fc_quality_summarize(const fc_quality_result *r, int method, fc_quality_summary *s) {
    memset(s, 0, sizeof *s);
    double eb = 0, ea = 0, kl_sum = 0;
    int64_t top1_count = 0;
    for (int i = 0; i < r->n_items; i++) {
        const fc_quality_cell *c = &r->cells[(size_t)i * r->n_methods + method];
        s->n++;
        s->accuracy_exact += c->score.exact, s->accuracy_contains += c->score.contains;
        s->kl_mean += c->kl, s->top1_agreement += c->top1;
        kl_sum += c->kl_sum, top1_count += c->top1_count, s->n_tokens += c->n_tf;
        s->greedy_identical += c->greedy_identical, s->first_divergence_mean += c->first_divergence;
        if (r->item_turn[i] != 1) continue; /* sizes and budgets: once per record (its prompt's compression) */
        s->n_records++;
        s->kv_bytes_mean += (double)c->kv_bytes, s->kv_bytes_full_mean += (double)c->kv_bytes_full;
        eb += (double)c->entries_before, ea += (double)c->entries_after;
        s->below_window += c->note.below_window, s->uniform_fallback += c->note.uniform_fallback;
        if (s->n_records == 1 || c->note.budget_min < s->budget_min) s->budget_min = c->note.budget_min;
        if (s->n_records == 1 || c->note.budget_max > s->budget_max) s->budget_max = c->note.budget_max;
    }
    if (s->n) {
        double n = s->n;
        s->accuracy_exact /= n, s->accuracy_contains /= n, s->kl_mean /= n, s->top1_agreement /= n;
        s->greedy_identical /= n, s->first_divergence_mean /= n;
    }
    if (s->n_records) s->kv_bytes_mean /= s->n_records, s->kv_bytes_full_mean /= s->n_records;
    if (s->n_tokens) s->kl_per_token = kl_sum / (double)s->n_tokens, s->top1_per_token = (double)top1_count / (double)s->n_tokens;
    s->achieved_ratio = ea > 0 ? eb / ea : 1.0;
}
