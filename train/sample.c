/* sample.c: prompts and continuations of training samples (sample.h). */
#include "train/sample.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"

fc_err fc_train_sample_prompt(fc_vlm *m, const fc_data_record *r, const char *where, fc_train_sample *s) {
    memset(s, 0, sizeof *s);
    s->id = r->id;
    char shown[160]; /* ids come from the data file: quoted on one line, cut (fc_data_id_for_message) */
    const char *id = fc_data_id_for_message(r->id, shown, sizeof shown);
    if (r->n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%s: sample '%s': %d images (at most %d)", where, id, r->n_images,
                          FC_VLM_MAX_IMAGES);
    fc_image img[FC_VLM_MAX_IMAGES];
    memset(img, 0, sizeof img);
    fc_err e = FC_OK;
    for (int k = 0; k < r->n_images && !e; k++)
        if ((e = fc_image_load(&img[k], r->images[k])))
            fc_err_prefix(e, "%s: sample '%s'", where, id);
    if (!e && (e = fc_vlm_request_build(m, img, r->n_images, r->question, &s->req)))
        fc_err_prefix(e, "%s: sample '%s'", where, id);
    for (int k = 0; k < r->n_images; k++) fc_image_free(&img[k]);
    if (!e && s->req.n_ids < 2)
        e = fc_err_set(FC_EINVAL, "%s: sample '%s': the prompt has %d tokens (at least 2 needed)", where, id, s->req.n_ids);
    if (!e && s->req.n_spans) {
        s->spans = fc_malloc((size_t)s->req.n_spans * sizeof *s->spans, "sample spans");
        if (!s->spans) e = FC_ENOMEM;
        for (int k = 0; !e && k < s->req.n_spans; k++)
            s->spans[k] = (fc_compress_span){s->req.spans[k].start, s->req.spans[k].start + s->req.spans[k].len};
    }
    if (e) fc_train_sample_free(s);
    return e;
}

/* Appends ids[0..n) with mask value sup. */
static fc_err cont_push(fc_train_sample *s, const int32_t *ids, int n, uint8_t sup) {
    int32_t *c = fc_realloc(s->cont, (size_t)(s->n_cont + n) * sizeof *c + 1, "continuation");
    if (!c) return FC_ENOMEM;
    s->cont = c;
    uint8_t *m = fc_realloc(s->sup, (size_t)(s->n_cont + n) + 1, "continuation mask");
    if (!m) return FC_ENOMEM;
    s->sup = m;
    memcpy(s->cont + s->n_cont, ids, (size_t)n * sizeof *ids);
    memset(s->sup + s->n_cont, sup, (size_t)n);
    s->n_cont += n;
    if (sup) s->n_sup += n;
    return FC_OK;
}

static fc_err push_text(const fc_vlm *m, fc_train_sample *s, const char *text, uint8_t sup) {
    int32_t *ids = NULL;
    int n = 0;
    FC_TRY(fc_tokenizer_encode(m->tok, text, strlen(text), false, &ids, &n));
    fc_err e = cont_push(s, ids, n, sup);
    free(ids);
    return e;
}

static void cont_reset(fc_train_sample *s) {
    free(s->cont);
    free(s->sup);
    s->cont = NULL, s->sup = NULL, s->n_cont = s->n_sup = 0;
}

/* text with leading and trailing whitespace removed, malloc'd */
static char *trimmed(const char *t) {
    while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r') t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\t' || t[n - 1] == '\r')) n--;
    char *o = fc_malloc(n + 1, "answer text");
    if (o) memcpy(o, t, n), o[n] = '\0';
    return o;
}

fc_err fc_train_sample_answers(const fc_vlm *m, const fc_data_record *r, const char *where, fc_train_sample *s) {
    cont_reset(s);
    char shown[160];
    const char *id = fc_data_id_for_message(r->id, shown, sizeof shown);
    const bool llava = m->cfg.arch == FC_ARCH_LLAVA;
    const int32_t end = m->eos[0];
    fc_err e = FC_OK;
    for (int i = 1; i < r->n_turns && !e; i++) {
        const fc_data_turn *turn = &r->turns[i];
        if (turn->role == FC_DATA_GPT) {
            char *a = trimmed(turn->text);
            if (!a) return FC_ENOMEM;
            if (!*a) e = fc_err_set(FC_EINVAL, "%s: sample '%s': turn %d: the answer is empty", where, id, i + 1);
            /* MiniCPM-V's answer ends with <|im_end|> written in the text (an added token, matched as such) */
            size_t n = strlen(a) + 16;
            char *t = fc_malloc(n, "answer text");
            if (!t) e = FC_ENOMEM;
            if (!e) {
                snprintf(t, n, "%s%s", a, llava ? "" : "<|im_end|>");
                e = push_text(m, s, t, 1);
            }
            if (!e && llava) e = cont_push(s, &end, 1, 1);
            free(t);
            free(a);
        } else {
            char *q = fc_data_strip_image_markers(turn->text);
            if (!q) return FC_ENOMEM;
            size_t n = strlen(q) + 64;
            char *t = fc_malloc(n, "question text");
            if (!t) e = FC_ENOMEM;
            if (!e) {
                if (llava) snprintf(t, n, "USER: %s ASSISTANT:", q);
                else snprintf(t, n, "\n<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", q);
                e = push_text(m, s, t, 0);
            }
            free(t);
            free(q);
        }
    }
    if (!e && s->n_sup == 0)
        e = fc_err_set(FC_EINVAL, "%s: sample '%s': no answer to learn from (no assistant turn after the question)",
                       where, id);
    if (e) cont_reset(s);
    return e;
}

fc_err fc_train_sample_teacher(fc_vlm *m, fc_kv_pool *kv, const fc_gen_params *p, const char *where,
                               fc_train_sample *s) {
    cont_reset(s);
    int32_t *out = fc_malloc((size_t)p->max_new_tokens * sizeof *out + 4, "teacher generation");
    if (!out) return FC_ENOMEM;
    int n = 0;
    fc_err e = fc_vlm_generate(m, kv, &s->req, 1, p, &out, &n);
    char shown[160];
    if (e) fc_err_prefix(e, "%s: sample '%s': teacher generation", where, fc_data_id_for_message(s->id, shown, sizeof shown));
    if (!e) e = cont_push(s, out, n, 1);
    /* it stopped before the limit: on an end token, which is part of what the student must learn */
    if (!e && n < p->max_new_tokens) e = cont_push(s, &m->eos[0], 1, 1);
    free(out);
    if (e) cont_reset(s);
    return e;
}

fc_distill_sample fc_train_sample_view(const fc_train_sample *s) {
    return (fc_distill_sample){.prompt_ids = s->req.ids, .n_prompt = s->req.n_ids, .embeds = s->req.embeds,
                               .embeds_start = s->req.embeds_start, .n_embeds = s->req.n_embeds,
                               .spans = s->spans, .n_spans = s->req.n_spans, .cont_ids = s->cont,
                               .supervised = s->sup, .n_cont = s->n_cont};
}

void fc_train_sample_free(fc_train_sample *s) {
    if (!s) return;
    fc_vlm_request_free(&s->req);
    free(s->spans);
    cont_reset(s);
    memset(s, 0, sizeof *s);
}
