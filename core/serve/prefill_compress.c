/* prefill_compress.c: prompt -> compressed cache (prefill_compress.h). */
#include "core/serve/prefill_compress.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/llm_capture.h"

int fc_serve_image_spans(const fc_vlm_request *req, int n, fc_compress_span *spans) {
    int k = 0;
    for (int i = 0; i < req->n_spans; i++)
        if (req->spans[i].start + req->spans[i].len <= n)
            spans[k++] = (fc_compress_span){req->spans[i].start, req->spans[i].start + req->spans[i].len};
    return k;
}

fc_err fc_serve_prefill_compress(fc_llm *llm, fc_kv_pool *kv, const fc_llm_seq_input *in, int n,
                                 const fc_compress_method *m, const fc_compress_span *spans, int n_spans,
                                 fc_llm_rows rows, float *logits, fc_compress_seq_result *res) {
    if (n < 1 || n > in->n)
        return fc_err_set(FC_EINVAL, "compress at %d: the prompt has %d tokens (want 1..%d)", n, in->n, in->n);
    if (in->n_embeds > 0 && in->embeds_start + in->n_embeds > n)
        return fc_err_set(FC_EINVAL, "compress at %d cuts the image rows [%d, %d): compress after them", n,
                          in->embeds_start, in->embeds_start + in->n_embeds);
    fc_llm_seq_input pre = *in;
    pre.n = n;
    if (!m) {
        FC_TRY(fc_llm_forward(llm, kv, &pre, 1, rows, logits, NULL));
        if (res)
            *res = (fc_compress_seq_result){.len_before = n, .len_after = n, .next_pos = fc_kv_seq_next_pos(kv, in->seq),
                                            .bytes_before = fc_kv_seq_bytes(kv, in->seq),
                                            .bytes_after = fc_kv_seq_bytes(kv, in->seq), .ratio_achieved = 1.0,
                                            .entries_before = (int64_t)n * llm->cfg.num_layers,
                                            .entries_after = (int64_t)n * llm->cfg.num_layers, .len_min_after = n};
        return FC_OK;
    }
    /* kvpress sees the whole prefix in one forward: the capture records this call (llm_capture.h); for a
     * method that needs only K and V it records nothing */
    fc_llm_capture *cap = NULL;
    FC_TRY(fc_llm_capture_create(&cap, llm, m));
    pre.capture = cap;
    fc_err e = fc_llm_forward(llm, kv, &pre, 1, rows, logits, NULL);
    if (!e)
        e = fc_compress_sequence(kv, in->seq, m, llm->cfg.num_heads, spans, n_spans, fc_llm_capture_extras, cap, res);
    fc_llm_capture_free(cap);
    return e;
}

fc_err fc_serve_prompt_to_cache(fc_llm *llm, fc_kv_pool *kv, const fc_vlm_request *req, fc_kv_handle seq,
                                const fc_compress_method *m, bool hold_last, float *logits,
                                fc_compress_seq_result *res) {
    const int T = req->n_ids, at = hold_last ? T - 1 : T;
    if (at < 1) return fc_err_set(FC_EINVAL, "a prompt of %d token%s cannot hold its last token back", T, T == 1 ? "" : "s");
    fc_compress_span *spans = NULL;
    if (req->n_spans > 0 && !(spans = fc_malloc((size_t)req->n_spans * sizeof *spans, "compress spans"))) return FC_ENOMEM;
    int n_spans = spans ? fc_serve_image_spans(req, at, spans) : 0;
    fc_llm_seq_input in = fc_vlm_seq_input(req, seq);
    fc_err e = fc_serve_prefill_compress(llm, kv, &in, at, m, spans, n_spans, FC_LLM_ROWS_LAST, logits, res);
    free(spans);
    if (!e && at < T) e = fc_llm_decode(llm, kv, &seq, &req->ids[T - 1], 1, logits);
    return e;
}

fc_err fc_serve_mark_take(fc_serve_mark *mk, const fc_kv_pool *kv, fc_kv_handle seq) {
    const int L = fc_kv_pool_params_of(kv)->n_layers;
    if (!fc_kv_seq_live(kv, seq)) return fc_err_set(FC_EINVAL, "sequence %u#%u is not live", seq.slot, seq.gen);
    if (!(mk->layer_len = fc_malloc((size_t)L * sizeof(int), "sequence mark"))) return FC_ENOMEM;
    mk->n_layers = L;
    for (int l = 0; l < L; l++) mk->layer_len[l] = fc_kv_seq_layer_len(kv, seq, l);
    mk->next_pos = fc_kv_seq_next_pos(kv, seq);
    return FC_OK;
}

fc_err fc_serve_mark_rewind(const fc_serve_mark *mk, fc_kv_pool *kv, fc_kv_handle seq) {
    for (int l = 0; l < mk->n_layers; l++)
        if (fc_kv_seq_layer_len(kv, seq, l) < mk->layer_len[l])
            return fc_err_set(FC_EINVAL, "sequence %u#%u layer %d has %d entries, fewer than the %d marked", seq.slot, seq.gen, l,
                              fc_kv_seq_layer_len(kv, seq, l), mk->layer_len[l]);
    for (int l = 0; l < mk->n_layers; l++) FC_TRY(fc_kv_truncate_layer(kv, seq, l, mk->layer_len[l]));
    return fc_kv_seq_set_next_pos(kv, seq, mk->next_pos);
}

void fc_serve_mark_free(fc_serve_mark *mk) {
    if (!mk) return;
    free(mk->layer_len);
    mk->layer_len = NULL;
    mk->n_layers = 0;
}

void fc_serve_method_note(const fc_compress_method *m, const fc_vlm_request *req, int n, int n_layers, int *budgets,
                          fc_compress_note *note) {
    int S = n;
    if (strstr(fc_compress_spec(m), "scope=image")) { /* the method then scores the image tokens only */
        S = 0;
        for (int i = 0; i < req->n_spans; i++)
            if (req->spans[i].start + req->spans[i].len <= n) S += req->spans[i].len;
    }
    fc_compress_note_make(m, S, n_layers, budgets, note);
}

void fc_serve_print_compress(FILE *f, const fc_compress_method *m, const fc_compress_seq_result *r) {
    char after[48];
    if (r->len_min_after != r->len_after) /* per-layer budgets (pyramidkv): shortest..longest layer */
        snprintf(after, sizeof after, "%d..%d", r->len_min_after, r->len_after);
    else
        snprintf(after, sizeof after, "%d", r->len_after);
    fprintf(f, "compress %s: %d -> %s tokens per layer (%.3gx achieved, kvpress compression_ratio %.4f), "
               "KV %zu -> %zu bytes, %.1f ms\n",
            m ? fc_compress_spec(m) : "none", r->len_before, after, r->ratio_achieved, 1.0 - 1.0 / r->ratio_achieved,
            r->bytes_before, r->bytes_after, r->seconds * 1e3);
}
