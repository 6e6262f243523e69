/* teacher.c: the teacher's forward (autograd_internal.h): the frozen decoder over the whole sequence,
 * prefix = prompt[:-1] then the T answer inputs, in one pass, with the full cache.
 *
 * What the step needs from it is each layer's K and V of the prefix (the compressor's input) and the
 * logits at the supervised answer rows (the targets), nothing else. So:
 *   - every layer computes K and V for all S + T rows (the prefix's go to the caller, head-major);
 *   - the last layer computes queries, attention, o_proj and the MLP for the T answer rows only: its
 *     output at the prefix rows would only feed the prefix's own logits, which nobody reads (a quarter of
 *     a 7B layer's work per prefix token is its K/V, the rest is skipped; on the 2-layer benchmark models
 *     that is 37% of the teacher, on a 32-layer model about 2%);
 *   - lm_head runs on the supervised rows only.
 * The prefix and the answer share each GEMM (S + T rows instead of S, then T), and no paged cache is
 * filled and gathered. The answer rows see exactly what the engine's prefill + decode would give them
 * (test_teacher_matches_engine_forward). MLP rows go in chunks, which bounds the (rows, F) buffers.
 */
#include <math.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "kernels/ops.h"
#include "kernels/ops_backward.h"

#define MLP_CHUNK 256 /* rows per MLP chunk */

void fc_ag_teacher_free(fc_ag_teacher *w) {
    if (!w) return;
    float **f[] = {&w->x, &w->xn, &w->q, &w->k, &w->v, &w->att, &w->lse, &w->g, &w->u, &w->hsel};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) free(*f[i]);
    free(w->ids);
    free(w->pos);
    memset(w, 0, sizeof *w);
}

static fc_tensor v2(float *p, int64_t a, int64_t b) { return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){a, b}); }
static fc_tensor v3(float *p, int64_t a, int64_t b, int64_t c) {
    return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){a, b, c});
}
static const fc_tensor *opt(const fc_tensor *t) { return t->data ? t : NULL; }

static fc_err setup(fc_ag_teacher *w, const fc_llm_config *c, int64_t R, int n_sup) {
    size_t C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim, F = c->intermediate_size,
           r = (size_t)R, ch = R < MLP_CHUNK ? r : MLP_CHUNK;
    struct {
        float **ptr;
        size_t n;
    } b[] = {{&w->x, r * C}, {&w->xn, r * C}, {&w->q, r * H * D}, {&w->k, r * Hkv * D}, {&w->v, r * Hkv * D},
             {&w->att, r * H * D}, {&w->lse, r * H}, {&w->g, ch * F}, {&w->u, ch * F}, {&w->hsel, (size_t)n_sup * C}};
    for (size_t i = 0; i < sizeof b / sizeof *b; i++)
        FC_TRY(fc_ag_grow(b[i].ptr, &w->cap[i], b[i].n, sizeof(float), "teacher activations"));
    FC_TRY(fc_ag_grow(&w->ids, &w->cap[10], r, sizeof(int32_t), "teacher activations"));
    FC_TRY(fc_ag_grow(&w->pos, &w->cap[11], r, sizeof(int32_t), "teacher activations"));
    return FC_OK;
}

/* x[r0 .. r0 + n) += the MLP of those rows, in chunks */
static fc_err mlp(fc_ag_teacher *w, const fc_llm_layer *W, const fc_llm_config *c, int64_t r0, int64_t n) {
    int64_t C = c->hidden_size, F = c->intermediate_size;
    for (int64_t a = r0; a < r0 + n; a += MLP_CHUNK) {
        int64_t m = r0 + n - a < MLP_CHUNK ? r0 + n - a : MLP_CHUNK;
        fc_tensor tx = v2(w->x + a * C, m, C), txn = v2(w->xn, m, C), tg = v2(w->g, m, F), tu = v2(w->u, m, F);
        FC_TRY(fc_op_rmsnorm(&txn, &tx, &W->mlp_norm, (float)c->rms_norm_eps));
        FC_TRY(fc_op_linear(&tg, &txn, &W->w_gate, opt(&W->b_gate)));
        FC_TRY(fc_op_linear(&tu, &txn, &W->w_up, opt(&W->b_up)));
        FC_TRY(fc_op_silu_mul(&tg, &tg, &tu));
        FC_TRY(fc_op_linear(&txn, &tg, &W->w_down, opt(&W->b_down)));
        FC_TRY(fc_op_add(&tx, &tx, &txn));
    }
    return FC_OK;
}

fc_err fc_ag_teacher_forward(fc_ag_teacher *w, fc_llm *m, const fc_distill_sample *s, const int32_t *inputs, int T,
                             const int32_t *sup, int n_sup, float *kp, float *vp, float *logits, float *hidden) {
    const fc_llm_config *c = &m->cfg;
    int64_t L = c->num_layers, C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim;
    int64_t S = s->n_prompt - 1, R = S + T;
    float eps = (float)c->rms_norm_eps, theta = (float)c->rope_theta, scale = 1.0f / sqrtf((float)D);
    FC_TRY(setup(w, c, R, n_sup));
    for (int64_t r = 0; r < R; r++) {
        bool replaced = s->embeds && r >= s->embeds_start && r < s->embeds_start + s->n_embeds;
        w->ids[r] = r < S ? (replaced ? 0 : s->prompt_ids[r]) : inputs[r - S];
        w->pos[r] = (int32_t)r;
    }
    fc_tensor tx = v2(w->x, R, C);
    FC_TRY(fc_op_embedding(&tx, &m->embed, w->ids, (int)R));
    if (s->embeds && s->n_embeds > 0)
        memcpy(w->x + (size_t)s->embeds_start * C, s->embeds, sizeof(float) * (size_t)s->n_embeds * C);
    for (int64_t l = 0; l < L; l++) {
        const fc_llm_layer *W = &m->layers[l];
        int64_t r0 = l == L - 1 ? S : 0, n = R - r0; /* the rows whose output is needed */
        fc_tensor txn = v2(w->xn, R, C), tk = v2(w->k, R, Hkv * D), tv = v2(w->v, R, Hkv * D);
        FC_TRY(fc_op_rmsnorm(&txn, &tx, &W->attn_norm, eps));
        FC_TRY(fc_op_linear(&tk, &txn, &W->wk, opt(&W->bk)));
        FC_TRY(fc_op_linear(&tv, &txn, &W->wv, opt(&W->bv)));
        fc_tensor k3 = v3(w->k, R, Hkv, D);
        FC_TRY(fc_op_rope(&k3, w->pos, theta));
        /* the prefix's K/V, head-major (Hkv, S, D) */
        float *kl = kp + (size_t)l * Hkv * S * D, *vl = vp + (size_t)l * Hkv * S * D;
        for (int64_t h = 0; h < Hkv; h++)
            for (int64_t r = 0; r < S; r++) {
                memcpy(kl + (h * S + r) * D, w->k + (r * Hkv + h) * D, sizeof(float) * D);
                memcpy(vl + (h * S + r) * D, w->v + (r * Hkv + h) * D, sizeof(float) * D);
            }
        fc_tensor txq = v2(w->xn + r0 * C, n, C), tq = v2(w->q, n, H * D);
        FC_TRY(fc_op_linear(&tq, &txq, &W->wq, opt(&W->bq)));
        fc_tensor q3 = v3(w->q, n, H, D);
        FC_TRY(fc_op_rope(&q3, w->pos + r0, theta));
        /* rows r0.. attend to [the prefix's first r0 rows (head-major); their own rows] */
        fc_tensor pk = v3(kl, Hkv, r0, D), pv = v3(vl, Hkv, r0, D);
        fc_tensor ok = v3(w->k + r0 * Hkv * D, n, Hkv, D), ov = v3(w->v + r0 * Hkv * D, n, Hkv, D);
        fc_tensor tatt = v3(w->att, n, H, D), tlse = v2(w->lse, n, H);
        FC_TRY(fc_op_attention_prefix(&tatt, &tlse, &q3, &pk, &pv, &ok, &ov, scale));
        fc_tensor tatt2 = v2(w->att, n, H * D), to = v2(w->xn, n, C), txr = v2(w->x + r0 * C, n, C);
        FC_TRY(fc_op_linear(&to, &tatt2, &W->wo, opt(&W->bo)));
        FC_TRY(fc_op_add(&txr, &txr, &to));
        FC_TRY(mlp(w, W, c, r0, n));
        if (hidden && l < L - 1)
            for (int i = 0; i < n_sup; i++)
                memcpy(hidden + ((size_t)l * n_sup + i) * C, w->x + (size_t)(S + sup[i]) * C, sizeof(float) * C);
    }
    for (int i = 0; i < n_sup; i++)
        memcpy(w->xn + (size_t)i * C, w->x + (size_t)(S + sup[i]) * C, sizeof(float) * C);
    fc_tensor tsel = v2(w->xn, n_sup, C), ths = v2(w->hsel, n_sup, C), tl = v2(logits, n_sup, c->vocab_size);
    FC_TRY(fc_op_rmsnorm(&ths, &tsel, &m->norm, eps));
    if (hidden) memcpy(hidden + (size_t)(L - 1) * n_sup * C, w->hsel, sizeof(float) * (size_t)n_sup * C);
    return fc_op_linear(&tl, &ths, &m->lm_head, NULL);
}
