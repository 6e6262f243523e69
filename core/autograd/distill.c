/* distill.c: the distillation context, sample checks, the teacher and the student step (see distill.h).
 * The step is: CCM forward per layer (ccm_grad.c) -> decoder forward over the compressed prefix
 * (student.c) -> loss (distill_loss.c) -> decoder backward, whose per-layer callback runs that layer's
 * CCM backward with the gradient of its compressed K and V. */
#include "core/autograd/distill.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "core/base/mem.h"

static const char *const loss_names[] = {"kl", "fastcache"};
_Static_assert(sizeof loss_names / sizeof *loss_names == FC_DISTILL_LOSS_COUNT, "loss_names out of sync");

const char *fc_distill_loss_name(fc_distill_loss l) {
    return (unsigned)l < FC_DISTILL_LOSS_COUNT ? loss_names[l] : "?";
}

fc_err fc_distill_loss_from_name(const char *name, fc_distill_loss *out) {
    for (int i = 0; i < FC_DISTILL_LOSS_COUNT; i++)
        if (!strcmp(name, loss_names[i])) {
            *out = (fc_distill_loss)i;
            return FC_OK;
        }
    return fc_err_set(FC_EINVAL, "loss '%s' is not one of kl, fastcache", name);
}

fc_distill_opts fc_distill_default_opts(void) {
    return (fc_distill_opts){.loss = FC_DISTILL_LOSS_KL, .tau = 1.0f, .dropout = false, .position_rule = -1,
                             .grad_scale = 1.0f, .backward = true};
}

struct fc_distill {
    fc_llm *m;
    int max_tokens;
    fc_ag_teacher tw;       /* the teacher's pass (teacher.c) */
    fc_ag_student act;      /* the student's decoder activations */
    fc_ag_ccm ccm;
    float *kc, *vc;         /* (L, Hkv, C, D) compressed prefix */
    float *logits, *dlogits;/* (n_sup, V) */
    float *hid, *dhid;      /* (L, n_sup, C) */
    int32_t *pos;           /* (T) */
    double *dscratch;       /* n_slots 4 max(V, C) + 6 n_sup */
    int *iscratch;          /* n_slots V */
    int n_slots;            /* threads the loss rows may use (omp_get_max_threads at creation) */
    size_t cap_kc, cap_vc, cap_lg, cap_dlg, cap_hid, cap_dhid, cap_pos, cap_ds, cap_is;
    /* the step in flight, for the per-layer backward callback */
    fc_ccm_train *c;
    const fc_distill_teacher *t;
    bool dropout;
};

fc_err fc_distill_create(fc_llm *m, int max_tokens, fc_distill **out) {
    *out = NULL;
    if (max_tokens < 0) return fc_err_set(FC_EINVAL, "distill: max_tokens %d < 0", max_tokens);
    fc_distill *d = fc_calloc(1, sizeof *d, "distill");
    if (!d) return FC_ENOMEM;
    d->m = m;
    d->n_slots = omp_get_max_threads();
    d->max_tokens = max_tokens ? max_tokens : m->cfg.max_position_embeddings;
    if (d->max_tokens <= 0) d->max_tokens = 1 << 20;
    *out = d;
    return FC_OK;
}

void fc_distill_free(fc_distill *d) {
    if (!d) return;
    fc_ag_teacher_free(&d->tw);
    fc_ag_student_free(&d->act);
    fc_ag_ccm_free(&d->ccm);
    free(d->kc);
    free(d->vc);
    free(d->logits);
    free(d->dlogits);
    free(d->hid);
    free(d->dhid);
    free(d->pos);
    free(d->dscratch);
    free(d->iscratch);
    free(d);
}

fc_err fc_distill_check_sample(const fc_distill *d, const fc_distill_sample *s) {
    const fc_llm_config *c = &d->m->cfg;
    if (!s->prompt_ids || s->n_prompt < 2)
        return fc_err_set(FC_EINVAL, "sample: prompt of %d tokens (needs >= 2: a prefix and the token re-fed after it)",
                          s->n_prompt);
    if (!s->cont_ids || !s->supervised || s->n_cont < 1)
        return fc_err_set(FC_EINVAL, "sample: no continuation (an answer is needed)");
    if ((int64_t)s->n_prompt + s->n_cont > d->max_tokens)
        return fc_err_set(FC_EINVAL, "sample: %d prompt + %d continuation tokens exceed the model's context of %d",
                          s->n_prompt, s->n_cont, d->max_tokens);
    int S = s->n_prompt - 1, n_sup = 0;
    for (int t = 0; t < s->n_cont; t++) n_sup += s->supervised[t] != 0;
    if (n_sup == 0) return fc_err_set(FC_EINVAL, "sample: no supervised token in the continuation of %d", s->n_cont);
    if (s->embeds && (s->embeds_start < 0 || s->n_embeds < 0 || s->embeds_start + s->n_embeds > S))
        return fc_err_set(FC_EINVAL, "sample: embedding rows [%d, %d) outside the prefix [0, %d)", s->embeds_start,
                          s->embeds_start + s->n_embeds, S);
    if (s->n_spans < 0 || (s->n_spans > 0 && !s->spans))
        return fc_err_set(FC_EINVAL, "sample: %d image spans but no span array", s->n_spans);
    for (int i = 0; i < s->n_spans; i++)
        if (s->spans[i].start < (i ? s->spans[i - 1].end : 0) || s->spans[i].end <= s->spans[i].start ||
            s->spans[i].end > S)
            return fc_err_set(FC_EINVAL, "sample: image span %d [%d, %d) is empty, out of order or outside the prefix "
                              "[0, %d)", i, s->spans[i].start, s->spans[i].end, S);
    for (int t = 0; t < s->n_prompt; t++) {
        bool replaced = s->embeds && t >= s->embeds_start && t < s->embeds_start + s->n_embeds;
        if (!replaced && (s->prompt_ids[t] < 0 || s->prompt_ids[t] >= c->vocab_size))
            return fc_err_set(FC_EINVAL, "sample: prompt token %d is id %d, outside the vocabulary [0, %d)", t,
                              (int)s->prompt_ids[t], c->vocab_size);
    }
    for (int t = 0; t < s->n_cont; t++)
        if (s->cont_ids[t] < 0 || s->cont_ids[t] >= c->vocab_size)
            return fc_err_set(FC_EINVAL, "sample: continuation token %d is id %d, outside the vocabulary [0, %d)", t,
                              (int)s->cont_ids[t], c->vocab_size);
    return FC_OK;
}

void fc_distill_teacher_free(fc_distill_teacher *t) {
    if (!t) return;
    free(t->k);
    free(t->v);
    free(t->inputs);
    free(t->targets);
    free(t->sup);
    free(t->logits);
    free(t->hidden);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

static fc_err grow_scratch(fc_distill *d, int T, int n_sup, int C_len) {
    const fc_llm_config *c = &d->m->cfg;
    size_t L = c->num_layers, V = c->vocab_size, C = c->hidden_size, kvsz = L * c->num_kv_heads * (size_t)C_len * c->head_dim;
    FC_TRY(fc_ag_grow(&d->kc, &d->cap_kc, kvsz, sizeof(float), "distill compressed cache"));
    FC_TRY(fc_ag_grow(&d->vc, &d->cap_vc, kvsz, sizeof(float), "distill compressed cache"));
    FC_TRY(fc_ag_grow(&d->logits, &d->cap_lg, (size_t)n_sup * V, sizeof(float), "distill logits"));
    FC_TRY(fc_ag_grow(&d->dlogits, &d->cap_dlg, (size_t)n_sup * V, sizeof(float), "distill logits"));
    FC_TRY(fc_ag_grow(&d->hid, &d->cap_hid, L * n_sup * C, sizeof(float), "distill hidden states"));
    FC_TRY(fc_ag_grow(&d->dhid, &d->cap_dhid, L * n_sup * C, sizeof(float), "distill hidden states"));
    FC_TRY(fc_ag_grow(&d->pos, &d->cap_pos, (size_t)T, sizeof(int32_t), "distill positions"));
    size_t slots = (size_t)d->n_slots, per = 4 * (V > C ? V : C);
    FC_TRY(fc_ag_grow(&d->dscratch, &d->cap_ds, slots * per + 6 * (size_t)n_sup, sizeof(double), "distill loss scratch"));
    FC_TRY(fc_ag_grow(&d->iscratch, &d->cap_is, slots * V, sizeof(int), "distill loss scratch"));
    return FC_OK;
}

fc_err fc_distill_teacher_run(fc_distill *d, const fc_distill_sample *s, bool with_hidden, fc_distill_teacher *t) {
    FC_TRY(fc_distill_check_sample(d, s));
    const fc_llm_config *c = &d->m->cfg;
    int S = s->n_prompt - 1, T = s->n_cont, n_sup = 0;
    for (int i = 0; i < T; i++) n_sup += s->supervised[i] != 0;
    t->n_layers = c->num_layers, t->Hkv = c->num_kv_heads, t->D = c->head_dim, t->C = c->hidden_size;
    t->V = c->vocab_size, t->S = S, t->T = T, t->n_sup = n_sup, t->n_spans = s->n_spans;
    size_t kv = (size_t)t->n_layers * t->Hkv * S * t->D;
    FC_TRY(fc_ag_grow(&t->k, &t->cap[0], kv, sizeof(float), "teacher KV"));
    FC_TRY(fc_ag_grow(&t->v, &t->cap[1], kv, sizeof(float), "teacher KV"));
    FC_TRY(fc_ag_grow(&t->inputs, &t->cap[2], (size_t)T, sizeof(int32_t), "teacher inputs"));
    FC_TRY(fc_ag_grow(&t->targets, &t->cap[3], (size_t)T, sizeof(int32_t), "teacher inputs"));
    FC_TRY(fc_ag_grow(&t->sup, &t->cap[4], (size_t)n_sup, sizeof(int32_t), "teacher rows"));
    FC_TRY(fc_ag_grow(&t->logits, &t->cap[5], (size_t)n_sup * t->V, sizeof(float), "teacher logits"));
    if (with_hidden)
        FC_TRY(fc_ag_grow(&t->hidden, &t->cap[6], (size_t)t->n_layers * n_sup * t->C, sizeof(float), "teacher hidden"));
    t->has_hidden = with_hidden;
    if (s->n_spans > 0) {
        FC_TRY(fc_ag_grow(&t->spans, &t->cap[7], (size_t)s->n_spans, sizeof *t->spans, "teacher spans"));
        memcpy(t->spans, s->spans, sizeof *t->spans * s->n_spans);
    }
    t->inputs[0] = s->prompt_ids[S];
    for (int i = 0; i < T; i++) {
        if (i > 0) t->inputs[i] = s->cont_ids[i - 1];
        t->targets[i] = s->cont_ids[i];
    }
    for (int i = 0, j = 0; i < T; i++)
        if (s->supervised[i]) t->sup[j++] = i;
    /* the prefix and then the T inputs at their own positions S + i, the full cache (teacher.c) */
    return fc_err_prefix(fc_ag_teacher_forward(&d->tw, d->m, s, t->inputs, T, t->sup, n_sup, t->k, t->v, t->logits,
                                               with_hidden ? t->hidden : NULL), "teacher");
}

static fc_err layer_backward(void *ctx, int l, const float *dkp, const float *dvp) {
    fc_distill *d = ctx;
    const fc_distill_teacher *t = d->t;
    size_t per = (size_t)t->Hkv * t->S * t->D;
    return fc_err_prefix(fc_ag_ccm_backward(&d->ccm, d->c, l, t->k + l * per, t->v + l * per, dkp, dvp, d->dropout),
                         "ccm layer %d", l);
}

fc_err fc_distill_step(fc_distill *d, fc_ccm_train *c, const fc_distill_teacher *t, const fc_distill_opts *opts,
                       fc_distill_stats *st) {
    fc_distill_opts o = opts ? *opts : fc_distill_default_opts();
    const fc_llm_config *mc = &d->m->cfg;
    if (t->n_layers != mc->num_layers || t->Hkv != mc->num_kv_heads || t->D != mc->head_dim || t->V != mc->vocab_size)
        return fc_err_set(FC_EINVAL, "distill: the teacher data was made by another model");
    if (c->cfg.n_layers != mc->num_layers || c->cfg.head_dim != mc->head_dim)
        return fc_err_set(FC_EINVAL, "distill: compressor of %d layers x head dim %d does not fit the model's %d x %d",
                          c->cfg.n_layers, c->cfg.head_dim, mc->num_layers, mc->head_dim);
    if ((unsigned)o.loss >= FC_DISTILL_LOSS_COUNT) return fc_err_set(FC_EINVAL, "distill: loss %d unknown", o.loss);
    if (!(o.tau > 0) || !isfinite(o.tau)) return fc_err_set(FC_EINVAL, "distill: temperature %g must be > 0", o.tau);
    if (o.loss == FC_DISTILL_LOSS_FASTCACHE && !t->has_hidden)
        return fc_err_set(FC_EINVAL, "distill: the fastcache loss needs the teacher's hidden states (run the teacher "
                          "with with_hidden)");
    if (o.position_rule >= FC_CCM_POS_COUNT)
        return fc_err_set(FC_EINVAL, "distill: position rule %d unknown", o.position_rule);
    float scale = o.grad_scale == 0.0f ? 1.0f : o.grad_scale;
    fc_ccm_pos_rule prule = o.position_rule < 0 ? c->cfg.position_rule : (fc_ccm_pos_rule)o.position_rule;
    int L = mc->num_layers, T = t->T, n_sup = t->n_sup, S = t->S, V = t->V, Cd = mc->hidden_size;
    FC_TRY(fc_ag_ccm_plan(&d->ccm, c, c->cfg.segment_rule, S, t->Hkv, t->spans, t->n_spans, L));
    int Cc = d->ccm.C;
    FC_TRY(grow_scratch(d, T, n_sup, Cc));
    size_t per_in = (size_t)t->Hkv * S * t->D, per_out = (size_t)t->Hkv * Cc * t->D;
    bool dropout = o.dropout && c->dropout > 0;
    for (int l = 0; l < L; l++)
        FC_TRY(fc_err_prefix(fc_ag_ccm_forward(&d->ccm, c, l, t->k + l * per_in, t->v + l * per_in, d->kc + l * per_out,
                                               d->vc + l * per_out, dropout), "ccm layer %d", l));
    int base = prule == FC_CCM_POS_ORIGINAL ? S : Cc;
    for (int i = 0; i < T; i++) d->pos[i] = base + i;
    fc_ag_prefix px = {.k = d->kc, .v = d->vc, .P = Cc};
    bool fastcache = o.loss == FC_DISTILL_LOSS_FASTCACHE;
    FC_TRY(fc_err_prefix(fc_ag_student_forward(&d->act, d->m, &px, t->inputs, d->pos, T, t->sup, n_sup, d->logits,
                                               fastcache ? d->hid : NULL), "student"));
    fc_ag_loss_out lo;
    fc_ag_logit_loss(o.loss, o.tau, t->logits, d->logits, n_sup, V, o.backward ? d->dlogits : NULL, scale,
                     d->dscratch, d->iscratch, d->n_slots, &lo);
    if (fastcache) {
        lo.hs = fc_ag_hidden_loss(d->hid, t->hidden, L, n_sup, Cd, o.backward ? d->dhid : NULL, 0.5f * scale,
                                  d->dscratch);
        lo.loss += 0.5 * lo.hs;
    }
    if (o.backward) {
        d->c = c, d->t = t, d->dropout = dropout;
        fc_err e = fc_ag_student_backward(&d->act, d->m, &px, d->pos, t->sup, d->dlogits, fastcache ? d->dhid : NULL,
                                          layer_backward, d);
        d->c = NULL, d->t = NULL;
        FC_TRY(fc_err_prefix(e, "student backward"));
    }
    if (st)
        *st = (fc_distill_stats){.loss = lo.loss, .kl = lo.kl, .top1 = lo.top1, .ce = lo.ce, .js = lo.js, .l1 = lo.l1,
                                 .hs = lo.hs, .n_sup = n_sup, .n_tokens = T, .n_prefix = S, .n_compressed = Cc};
    return FC_OK;
}
