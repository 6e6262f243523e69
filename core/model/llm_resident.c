/* llm_resident.c: the decoder resident on one device (llm_resident.h). The layer loop is llm.c's, op for
 * op; what differs is where the tensors live, that K/V rows reach the cache through fc_op_kv_scatter, and
 * that the cache is a fixed array of blocks per slot. */
#include "core/model/llm_resident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/ops.h"
#include "kernels/train_ops.h"

enum { RES_BS = 16 }; /* block size of the resident cache */

typedef struct {
    fc_tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, mlp_norm, w_gate, w_up, w_down, b_gate, b_up, b_down;
    fc_tensor kc, vc; /* (n_blocks, RES_BS, Hkv, D) */
} res_layer;

struct fc_llm_resident {
    fc_llm_config cfg;
    fc_device dev;
    fc_dtype adt;
    int max_seqs, max_len, max_tokens, blocks_per_seq;
    fc_tensor embed, norm, lm_head;
    res_layer *layers;
    int *len;                                    /* [max_seqs] */
    fc_tensor x, xn, q, k, v, att, gate, up, lg; /* activations, max_tokens rows (lg: max_tokens x V) */
    int32_t *ids, *pos, *rows, *tables;          /* host staging */
    fc_paged_seq *pseq;
};

/* A device copy of a weight (absent ones, data NULL, stay absent) in the resident dtype: f32 activations
 * take f32 weights (widened exactly), half activations their own half type. */
static fc_err put(fc_llm_resident *r, fc_tensor *dst, const fc_tensor *src) {
    memset(dst, 0, sizeof *dst);
    if (!src->data) return FC_OK;
    return fc_tensor_to(dst, src, r->dev, r->adt);
}

static fc_tensor rows2(const fc_tensor *t, int64_t row0, int64_t rows, int64_t cols) {
    size_t es = fc_dtype_size(t->dtype);
    return fc_tensor_view((char *)t->data + (size_t)(row0 * cols) * es, t->dtype, t->device, 2, (int64_t[]){rows, cols});
}

static fc_tensor rows3(const fc_tensor *t, int64_t rows, int64_t a, int64_t b) {
    return fc_tensor_view(t->data, t->dtype, t->device, 3, (int64_t[]){rows, a, b});
}

static const fc_tensor *opt(const fc_tensor *t) { return t->data ? t : NULL; }

void fc_llm_resident_free(fc_llm_resident *r) {
    if (!r) return;
    if (r->layers)
        for (int l = 0; l < r->cfg.num_layers; l++) {
            fc_tensor *ts = &r->layers[l].attn_norm;
            for (size_t i = 0; i < sizeof(res_layer) / sizeof(fc_tensor); i++) fc_tensor_free(&ts[i]);
        }
    fc_tensor *ts[] = {&r->embed, &r->norm, &r->lm_head, &r->x, &r->xn, &r->q, &r->k, &r->v, &r->att, &r->gate,
                       &r->up, &r->lg};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) fc_tensor_free(ts[i]);
    free(r->layers), free(r->len), free(r->ids), free(r->pos), free(r->rows), free(r->tables), free(r->pseq);
    free(r);
}

fc_err fc_llm_resident_create(fc_llm_resident **out, const fc_llm *m, fc_device device, fc_dtype adt, int max_seqs,
                              int max_len, int max_tokens) {
    *out = NULL;
    if (device == FC_DEVICE_CPU && adt != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "resident decoder: the CPU computes in f32, not %s", fc_dtype_name(adt));
    if (adt != FC_DTYPE_F32 && adt != FC_DTYPE_BF16 && adt != FC_DTYPE_F16)
        return fc_err_set(FC_EUNSUPPORTED, "resident decoder: activations must be f32, bf16 or f16, not %s",
                          fc_dtype_name(adt));
    if (max_seqs < 1 || max_len < 1 || max_tokens < 1 || (int64_t)max_seqs * max_len > INT32_MAX / 2)
        return fc_err_set(FC_EINVAL, "resident decoder: %d sequences of %d entries, %d tokens per call", max_seqs,
                          max_len, max_tokens);
    fc_llm_resident *r = calloc(1, sizeof *r);
    if (!r) return fc_err_set(FC_ENOMEM, "resident decoder: out of memory");
    const fc_llm_config *c = &m->cfg;
    r->cfg = *c, r->dev = device, r->adt = adt;
    r->max_seqs = max_seqs, r->max_len = max_len, r->max_tokens = max_tokens;
    r->blocks_per_seq = (max_len + RES_BS - 1) / RES_BS;
    int64_t C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim, F = c->intermediate_size;
    int64_t T = max_tokens, NB = (int64_t)max_seqs * r->blocks_per_seq;
    r->layers = calloc((size_t)c->num_layers, sizeof *r->layers);
    r->len = calloc((size_t)max_seqs, sizeof *r->len);
    r->ids = malloc((size_t)T * sizeof *r->ids), r->pos = malloc((size_t)T * sizeof *r->pos);
    r->rows = malloc((size_t)T * sizeof *r->rows);
    r->tables = malloc((size_t)NB * sizeof *r->tables);
    r->pseq = malloc((size_t)max_seqs * sizeof *r->pseq);
    fc_err e = FC_OK;
    if (!r->layers || !r->len || !r->ids || !r->pos || !r->rows || !r->tables || !r->pseq)
        e = fc_err_set(FC_ENOMEM, "resident decoder: out of memory");
    for (int64_t i = 0; !e && i < NB; i++) r->tables[i] = (int32_t)i; /* slot s owns blocks [s*bps, (s+1)*bps) */
    if (!e) e = put(r, &r->embed, &m->embed);
    if (!e) e = put(r, &r->norm, &m->norm);
    if (!e) e = put(r, &r->lm_head, &m->lm_head);
    for (int l = 0; !e && l < c->num_layers; l++) {
        const fc_llm_layer *s = &m->layers[l];
        res_layer *d = &r->layers[l];
        const fc_tensor *src[] = {&s->attn_norm, &s->wq, &s->wk, &s->wv, &s->wo, &s->bq, &s->bk, &s->bv,
                                  &s->bo, &s->mlp_norm, &s->w_gate, &s->w_up, &s->w_down, &s->b_gate, &s->b_up, &s->b_down};
        fc_tensor *dst = &d->attn_norm;
        for (size_t i = 0; !e && i < sizeof src / sizeof *src; i++) e = put(r, &dst[i], src[i]);
        if (!e) e = fc_tensor_create(&d->kc, adt, device, 4, (int64_t[]){NB, RES_BS, Hkv, D});
        if (!e) e = fc_tensor_create(&d->vc, adt, device, 4, (int64_t[]){NB, RES_BS, Hkv, D});
    }
    struct { fc_tensor *t; int64_t cols; } acts[] = {{&r->x, C},       {&r->xn, C},      {&r->q, H * D},
                                                     {&r->k, Hkv * D}, {&r->v, Hkv * D}, {&r->att, H * D},
                                                     {&r->gate, F},    {&r->up, F},      {&r->lg, c->vocab_size}};
    for (size_t i = 0; !e && i < sizeof acts / sizeof *acts; i++)
        e = fc_tensor_create(acts[i].t, adt, device, 2, (int64_t[]){T, acts[i].cols});
    if (e) {
        fc_llm_resident_free(r);
        return fc_err_prefix(e, "resident decoder on %s", fc_device_name(device));
    }
    *out = r;
    return FC_OK;
}

void fc_llm_resident_reset(fc_llm_resident *r, int s) {
    if (s >= 0 && s < r->max_seqs) r->len[s] = 0;
}

int fc_llm_resident_len(const fc_llm_resident *r, int s) { return s >= 0 && s < r->max_seqs ? r->len[s] : 0; }

/* Every input fits: slots distinct and in range, lengths within max_len, ids in the vocabulary. */
static fc_err check(const fc_llm_resident *r, const int *slots, const int32_t *const *ids, const int *n, int n_in,
                    int64_t *total) {
    *total = 0;
    if (n_in < 1) return fc_err_set(FC_EINVAL, "resident decoder: forward of %d sequences", n_in);
    for (int i = 0; i < n_in; i++) {
        int s = slots[i];
        if (s < 0 || s >= r->max_seqs) return fc_err_set(FC_EINVAL, "resident decoder: input %d: slot %d of %d", i, s, r->max_seqs);
        for (int j = 0; j < i; j++)
            if (slots[j] == s) return fc_err_set(FC_EINVAL, "resident decoder: slot %d given twice", s);
        if (n[i] < 1 || !ids[i]) return fc_err_set(FC_EINVAL, "resident decoder: input %d: %d tokens", i, n[i]);
        if (r->len[s] + (int64_t)n[i] > r->max_len)
            return fc_err_set(FC_ENOMEM, "resident decoder: slot %d: %d + %d entries exceed its %d", s, r->len[s], n[i],
                              r->max_len);
        for (int t = 0; t < n[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= r->cfg.vocab_size)
                return fc_err_set(FC_EINVAL, "resident decoder: input %d: token %d is id %d, outside [0, %d)", i, t,
                                  (int)ids[i][t], r->cfg.vocab_size);
        *total += n[i];
    }
    if (*total > r->max_tokens)
        return fc_err_set(FC_ENOMEM, "resident decoder: %lld tokens in one call, room for %d", (long long)*total,
                          r->max_tokens);
    return FC_OK;
}

static fc_err layer(fc_llm_resident *r, int l, int64_t N, int n_in) {
    const fc_llm_config *c = &r->cfg;
    res_layer *L = &r->layers[l];
    int64_t C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim, F = c->intermediate_size;
    float eps = (float)c->rms_norm_eps;
    fc_tensor x = rows2(&r->x, 0, N, C), xn = rows2(&r->xn, 0, N, C), q = rows2(&r->q, 0, N, H * D);
    fc_tensor k = rows2(&r->k, 0, N, Hkv * D), v = rows2(&r->v, 0, N, Hkv * D), att = rows2(&r->att, 0, N, H * D);
    fc_tensor q3 = rows3(&r->q, N, H, D), k3 = rows3(&r->k, N, Hkv, D), v3 = rows3(&r->v, N, Hkv, D);
    int64_t cache_rows = (int64_t)r->max_seqs * r->blocks_per_seq * RES_BS;
    fc_tensor kc = fc_tensor_view(L->kc.data, r->adt, r->dev, 3, (int64_t[]){cache_rows, Hkv, D});
    fc_tensor vc = fc_tensor_view(L->vc.data, r->adt, r->dev, 3, (int64_t[]){cache_rows, Hkv, D});
    FC_TRY(fc_op_rmsnorm(&xn, &x, &L->attn_norm, eps));
    FC_TRY(fc_op_linear(&q, &xn, &L->wq, opt(&L->bq)));
    FC_TRY(fc_op_linear(&k, &xn, &L->wk, opt(&L->bk)));
    FC_TRY(fc_op_linear(&v, &xn, &L->wv, opt(&L->bv)));
    FC_TRY(fc_op_rope(&q3, r->pos, (float)c->rope_theta));
    FC_TRY(fc_op_rope(&k3, r->pos, (float)c->rope_theta));
    FC_TRY(fc_op_kv_scatter(&kc, &k3, r->rows));
    FC_TRY(fc_op_kv_scatter(&vc, &v3, r->rows));
    FC_TRY(fc_op_paged_attention(&att, &q3, &L->kc, &L->vc, r->pseq, n_in, 1.0f / sqrtf((float)D)));
    FC_TRY(fc_op_linear(&xn, &att, &L->wo, opt(&L->bo)));
    FC_TRY(fc_op_add(&x, &x, &xn));
    FC_TRY(fc_op_rmsnorm(&xn, &x, &L->mlp_norm, eps));
    fc_tensor g = rows2(&r->gate, 0, N, F), u = rows2(&r->up, 0, N, F);
    FC_TRY(fc_op_linear(&g, &xn, &L->w_gate, opt(&L->b_gate)));
    FC_TRY(fc_op_linear(&u, &xn, &L->w_up, opt(&L->b_up)));
    FC_TRY(fc_op_silu_mul(&g, &g, &u));
    FC_TRY(fc_op_linear(&xn, &g, &L->w_down, opt(&L->b_down)));
    return fc_op_add(&x, &x, &xn);
}

/* The R rows of lg (adt, on the device) as host f32 logits. */
static fc_err download(fc_llm_resident *r, int64_t R, float *logits) {
    int64_t V = r->cfg.vocab_size;
    fc_tensor lg = rows2(&r->lg, 0, R, V), host;
    FC_TRY(fc_tensor_to(&host, &lg, FC_DEVICE_CPU, FC_DTYPE_F32));
    memcpy(logits, host.data, (size_t)(R * V) * sizeof(float));
    fc_tensor_free(&host);
    return FC_OK;
}

fc_err fc_llm_resident_forward(fc_llm_resident *r, const int *slots, const int32_t *const *ids, const int *n, int n_in,
                               bool all_rows, float *logits) {
    int64_t N;
    FC_TRY(check(r, slots, ids, n, n_in, &N));
    const fc_llm_config *c = &r->cfg;
    int64_t C = c->hidden_size, q0 = 0;
    for (int i = 0; i < n_in; i++) {
        int s = slots[i], len = r->len[s];
        const int32_t *tb = r->tables + (int64_t)s * r->blocks_per_seq;
        r->pseq[i] = (fc_paged_seq){.q_start = (int)q0, .n_q = n[i], .n_keys = len + n[i], .blocks = tb};
        for (int t = 0; t < n[i]; t++) {
            int e = len + t;
            r->ids[q0 + t] = ids[i][t];
            r->pos[q0 + t] = e;
            r->rows[q0 + t] = tb[e / RES_BS] * RES_BS + e % RES_BS;
        }
        q0 += n[i];
    }
    fc_tensor x = rows2(&r->x, 0, N, C);
    FC_TRY(fc_op_embedding(&x, &r->embed, r->ids, (int)N));
    for (int l = 0; l < c->num_layers; l++) {
        fc_err e = layer(r, l, N, n_in);
        if (e) return fc_err_prefix(e, "resident decoder layer %d", l);
    }
    /* the output rows: all of x, or each input's last token gathered into xn (free after the last layer),
     * then the final norm (in place for the gathered rows) and lm_head */
    int64_t R = all_rows ? N : n_in;
    fc_tensor src = rows2(&r->x, 0, N, C), hs = rows2(&r->xn, 0, R, C), lg = rows2(&r->lg, 0, R, c->vocab_size);
    if (!all_rows) {
        for (int i = 0; i < n_in; i++) {
            fc_tensor from = rows2(&r->x, r->pseq[i].q_start + n[i] - 1, 1, C), to = rows2(&r->xn, i, 1, C);
            FC_TRY(fc_tensor_copy(&to, &from));
        }
        src = hs;
    }
    FC_TRY(fc_op_rmsnorm(&hs, &src, &r->norm, (float)c->rms_norm_eps));
    FC_TRY(fc_op_linear(&lg, &hs, &r->lm_head, NULL));
    FC_TRY(download(r, R, logits));
    for (int i = 0; i < n_in; i++) r->len[slots[i]] += n[i]; /* committed only when the call succeeded */
    return FC_OK;
}
