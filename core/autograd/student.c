/* student.c: the frozen decoder (Llama / Qwen2, core/model/llm.h's weights) over T new tokens that follow a
 * per-layer prefix cache, with the activations its backward needs, and that backward (llm.c style: one
 * explicit pass, layer by layer, top down).
 *
 * Forward per layer (as llm.c of core/model, with the prefix in place of the paged pool):
 *   xn = rmsnorm(x); q, k, v = xn W^T (+ b); RoPE(q, k) at pos; att = attention over [prefix; k, v];
 *   xmid = x + att Wo^T; xn = rmsnorm(xmid); g, u = xn Wg^T, xn Wu^T; x' = xmid + (silu(g) u) Wd^T.
 * Saved per layer: x, xmid, q, k, v, att, the attention's log-sum-exp, g, u; the normed inputs and
 * silu(g) u are recomputed in the backward (cheap elementwise work against (T, F) arrays kept).
 * Backward: activation gradients only (the model is frozen); the gradient w.r.t. each layer's prefix K/V
 * is handed to a callback, which is where the CCM's backward hooks in. Gradient rule: dx, the residual
 * stream's gradient, is added to by each branch; every other buffer is overwritten.
 * HF's hidden_states[1..L] are the residual after layers 0..L-2 and the final-normed output; the
 * fastcache loss's gradient w.r.t. them enters the residual gradient at those points.
 * With --precision bf16 (the model's weights packed at load) the forward's linears run on those packs and
 * the backward's dx = dy W on bwd_pack.c's, q/k/v and gate/up each as one stacked GEMM.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/autograd/autograd_internal.h"
#include "kernels/ops.h"
#include "kernels/ops_backward.h"



void fc_ag_student_free(fc_ag_student *a) {
    if (!a) return;
    float **f[] = {&a->xin, &a->xmid, &a->q, &a->kn, &a->vn, &a->att, &a->lse, &a->gate, &a->up, &a->hn, &a->hsel,
                   &a->xn, &a->h, &a->dx, &a->dxn, &a->dq, &a->datt, &a->dkn, &a->dvn, &a->dh, &a->dg, &a->du,
                   &a->dkp, &a->dvp};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) free(*f[i]);
    free(a->ids);
    free(a->dgu);
    free(a->dqkv);
    fc_ag_bwd_free(&a->bwd);
    memset(a, 0, sizeof *a);
}

static fc_err setup(fc_ag_student *a, const fc_llm *m, int T, int P, int n_sup) {
    const fc_llm_config *c = &m->cfg;
    size_t L = c->num_layers, C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim,
           F = c->intermediate_size, t = T, p = P > 0 ? P : 1;
    struct {
        float **ptr;
        size_t n;
    } b[] = {{&a->xin, (L + 1) * t * C}, {&a->xmid, L * t * C}, {&a->q, L * t * H * D}, {&a->kn, L * t * Hkv * D},
             {&a->vn, L * t * Hkv * D}, {&a->att, L * t * H * D}, {&a->lse, L * t * H}, {&a->gate, L * t * F},
             {&a->up, L * t * F}, {&a->hn, t * C}, {&a->hsel, (size_t)n_sup * C}, {&a->xn, t * C}, {&a->h, t * F},
             {&a->dx, t * C}, {&a->dxn, t * C}, {&a->dq, t * H * D}, {&a->datt, t * H * D}, {&a->dkn, t * Hkv * D},
             {&a->dvn, t * Hkv * D}, {&a->dh, t * F}, {&a->dg, t * F}, {&a->du, t * F}, {&a->dkp, Hkv * p * D},
             {&a->dvp, Hkv * p * D}};
    for (size_t i = 0; i < sizeof b / sizeof *b; i++)
        FC_TRY(fc_ag_grow(b[i].ptr, &a->cap[i], b[i].n, sizeof(float), "student activations"));
    FC_TRY(fc_ag_grow(&a->ids, &a->cap[24], t, sizeof(int32_t), "student activations"));
    if (fc_ag_bwd_wanted(m)) {
        FC_TRY(fc_ag_grow(&a->dgu, &a->cap[25], t * 2 * F, sizeof(float), "student activations"));
        FC_TRY(fc_ag_grow(&a->dqkv, &a->cap[26], t * (H + 2 * Hkv) * D, sizeof(float), "student activations"));
    }
    a->T = T, a->P = P, a->n_sup = n_sup;
    return FC_OK;
}

static fc_tensor v2(float *p, int64_t a, int64_t b) { return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 2, (int64_t[]){a, b}); }
static fc_tensor v3(float *p, int64_t a, int64_t b, int64_t c) {
    return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 3, (int64_t[]){a, b, c});
}
static const fc_tensor *opt(const fc_tensor *t) { return t->data ? t : NULL; }

fc_err fc_ag_student_forward(fc_ag_student *a, fc_llm *m, const fc_ag_prefix *px, const int32_t *ids,
                             const int32_t *pos, int T, const int32_t *sup, int n_sup, float *logits, float *hidden) {
    const fc_llm_config *c = &m->cfg;
    int64_t L = c->num_layers, C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim,
            F = c->intermediate_size, P = px->P;
    float eps = (float)c->rms_norm_eps, theta = (float)c->rope_theta, scale = 1.0f / sqrtf((float)D);
    FC_TRY(setup(a, m, T, (int)P, n_sup));
    memcpy(a->ids, ids, sizeof(int32_t) * T);
    fc_tensor x0 = v2(a->xin, T, C);
    FC_TRY(fc_op_embedding(&x0, &m->embed, a->ids, T));
    for (int64_t l = 0; l < L; l++) {
        const fc_llm_layer *W = &m->layers[l];
        float *xin = a->xin + l * T * C, *xmid = a->xmid + l * T * C, *xout = a->xin + (l + 1) * T * C;
        float *q = a->q + l * T * H * D, *kn = a->kn + l * T * Hkv * D, *vn = a->vn + l * T * Hkv * D;
        float *att = a->att + l * T * H * D, *lse = a->lse + l * T * H;
        float *gate = a->gate + l * T * F, *up = a->up + l * T * F;
        fc_tensor tx = v2(xin, T, C), txn = v2(a->xn, T, C), tq = v2(q, T, H * D), tk = v2(kn, T, Hkv * D),
                  tv = v2(vn, T, Hkv * D);
        FC_TRY(fc_op_rmsnorm(&txn, &tx, &W->attn_norm, eps));
        FC_TRY(fc_op_linear(&tq, &txn, &W->wq, opt(&W->bq)));
        FC_TRY(fc_op_linear(&tk, &txn, &W->wk, opt(&W->bk)));
        FC_TRY(fc_op_linear(&tv, &txn, &W->wv, opt(&W->bv)));
        fc_tensor q3 = v3(q, T, H, D), k3 = v3(kn, T, Hkv, D), v3n = v3(vn, T, Hkv, D);
        FC_TRY(fc_op_rope(&q3, pos, theta));
        FC_TRY(fc_op_rope(&k3, pos, theta));
        fc_tensor kp = v3((float *)px->k + (size_t)l * Hkv * px->P * D, Hkv, P, D);
        fc_tensor vp = v3((float *)px->v + (size_t)l * Hkv * px->P * D, Hkv, P, D);
        fc_tensor tatt = v3(att, T, H, D), tlse = v2(lse, T, H);
        FC_TRY(fc_op_attention_prefix(&tatt, &tlse, &q3, &kp, &vp, &k3, &v3n, scale));
        fc_tensor tatt2 = v2(att, T, H * D), tmid = v2(xmid, T, C);
        FC_TRY(fc_op_linear(&txn, &tatt2, &W->wo, opt(&W->bo)));
        FC_TRY(fc_op_add(&tmid, &tx, &txn));
        FC_TRY(fc_op_rmsnorm(&txn, &tmid, &W->mlp_norm, eps));
        fc_tensor tg = v2(gate, T, F), tu = v2(up, T, F), th = v2(a->h, T, F), tout = v2(xout, T, C);
        FC_TRY(fc_op_linear(&tg, &txn, &W->w_gate, opt(&W->b_gate)));
        FC_TRY(fc_op_linear(&tu, &txn, &W->w_up, opt(&W->b_up)));
        FC_TRY(fc_op_silu_mul(&th, &tg, &tu));
        FC_TRY(fc_op_linear(&txn, &th, &W->w_down, opt(&W->b_down)));
        FC_TRY(fc_op_add(&tout, &tmid, &txn));
        if (hidden && l < L - 1)
            for (int i = 0; i < n_sup; i++)
                memcpy(hidden + ((size_t)l * n_sup + i) * C, xout + (size_t)sup[i] * C, sizeof(float) * C);
    }
    fc_tensor txl = v2(a->xin + L * T * C, T, C), thn = v2(a->hn, T, C);
    FC_TRY(fc_op_rmsnorm(&thn, &txl, &m->norm, eps));
    for (int i = 0; i < n_sup; i++) {
        memcpy(a->hsel + (size_t)i * C, a->hn + (size_t)sup[i] * C, sizeof(float) * C);
        if (hidden) memcpy(hidden + ((size_t)(L - 1) * n_sup + i) * C, a->hn + (size_t)sup[i] * C, sizeof(float) * C);
    }
    fc_tensor ths = v2(a->hsel, n_sup, C), tl = v2(logits, n_sup, c->vocab_size);
    return fc_op_linear(&tl, &ths, &m->lm_head, NULL);
}

/* dx (T, C) += dh (n_sup, C) scattered to the supervised rows */
static void add_rows(float *dx, const float *dh, const int32_t *sup, int n_sup, int64_t C) {
    for (int i = 0; i < n_sup; i++)
        for (int64_t c = 0; c < C; c++) dx[(size_t)sup[i] * C + c] += dh[(size_t)i * C + c];
}

fc_err fc_ag_student_backward(fc_ag_student *a, fc_llm *m, const fc_ag_prefix *px, const int32_t *pos,
                              const int32_t *sup, const float *dlogits, const float *dhidden, fc_ag_layer_fn on_layer,
                              void *ctx) {
    const fc_llm_config *c = &m->cfg;
    int64_t L = c->num_layers, C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim,
            F = c->intermediate_size, P = px->P, T = a->T;
    int n_sup = a->n_sup;
    float eps = (float)c->rms_norm_eps, theta = (float)c->rope_theta, scale = 1.0f / sqrtf((float)D);
    /* lm_head and the final norm: d hn is zero off the supervised rows */
    bool bf16 = fc_ag_bwd_wanted(m);
    if (bf16) FC_TRY(fc_ag_bwd_create(&a->bwd, m));
    fc_tensor tdl = v2((float *)dlogits, n_sup, c->vocab_size), tdhs = v2(a->hsel, n_sup, C); /* hsel is free now */
    if (bf16)
        FC_TRY(fc_ag_bwd_dx(a->hsel, dlogits, n_sup, a->bwd.lm_head));
    else
        FC_TRY(fc_op_linear_bwd(&tdhs, NULL, NULL, &tdl, NULL, &m->lm_head, false));
    memset(a->dxn, 0, sizeof(float) * (size_t)(T * C));
    add_rows(a->dxn, a->hsel, sup, n_sup, C);
    if (dhidden) add_rows(a->dxn, dhidden + (size_t)(L - 1) * n_sup * C, sup, n_sup, C);
    fc_tensor tdx = v2(a->dx, T, C), tdxn = v2(a->dxn, T, C), txl = v2(a->xin + L * T * C, T, C);
    FC_TRY(fc_op_rmsnorm_bwd(&tdx, NULL, &tdxn, &txl, &m->norm, eps, false));
    for (int64_t l = L - 1; l >= 0; l--) {
        const fc_llm_layer *W = &m->layers[l];
        if (dhidden && l < L - 1) add_rows(a->dx, dhidden + (size_t)l * n_sup * C, sup, n_sup, C);
        float *xin = a->xin + l * T * C, *xmid = a->xmid + l * T * C;
        float *q = a->q + l * T * H * D, *kn = a->kn + l * T * Hkv * D, *vn = a->vn + l * T * Hkv * D;
        float *att = a->att + l * T * H * D, *lse = a->lse + l * T * H;
        float *gate = a->gate + l * T * F, *up = a->up + l * T * F;
        /* MLP: dx is d(out); x' = xmid + down(silu(g) u) */
        fc_tensor tdh = v2(a->dh, T, F), tdg = v2(a->dg, T, F), tdu = v2(a->du, T, F);
        fc_tensor tg = v2(gate, T, F), tu = v2(up, T, F), tmid = v2(xmid, T, C);
        fc_wpack **bp = bf16 ? a->bwd.layer + l * FC_AG_BWD_PER_LAYER : NULL;
        if (bf16) { /* dh = dx Wd; [dg du] row by row; dxn = [dg du] [Wg; Wu] */
            FC_TRY(fc_ag_bwd_dx(a->dh, a->dx, T, bp[FC_AG_BWD_DOWN]));
            for (int64_t t = 0; t < T; t++) {
                fc_tensor rdg = v2(a->dgu + t * 2 * F, 1, F), rdu = v2(a->dgu + t * 2 * F + F, 1, F),
                          rdh = v2(a->dh + t * F, 1, F), rg = v2(gate + t * F, 1, F), ru = v2(up + t * F, 1, F);
                FC_TRY(fc_op_silu_mul_bwd(&rdg, &rdu, &rdh, &rg, &ru));
            }
            FC_TRY(fc_ag_bwd_dx(a->dxn, a->dgu, T, bp[FC_AG_BWD_GATE_UP]));
        } else {
            FC_TRY(fc_op_linear_bwd(&tdh, NULL, NULL, &tdx, NULL, &W->w_down, false));
            FC_TRY(fc_op_silu_mul_bwd(&tdg, &tdu, &tdh, &tg, &tu));
            FC_TRY(fc_op_linear_bwd(&tdxn, NULL, NULL, &tdg, NULL, &W->w_gate, false));
            FC_TRY(fc_op_linear_bwd(&tdxn, NULL, NULL, &tdu, NULL, &W->w_up, true));
        }
        FC_TRY(fc_op_rmsnorm_bwd(&tdx, NULL, &tdxn, &tmid, &W->mlp_norm, eps, true)); /* dx is now d(xmid) */
        /* attention: xmid = x + o_proj(att) */
        fc_tensor tdatt = v2(a->datt, T, H * D);
        if (bf16)
            FC_TRY(fc_ag_bwd_dx(a->datt, a->dx, T, bp[FC_AG_BWD_O]));
        else
            FC_TRY(fc_op_linear_bwd(&tdatt, NULL, NULL, &tdx, NULL, &W->wo, false));
        fc_tensor kp = v3((float *)px->k + (size_t)l * Hkv * px->P * D, Hkv, P, D);
        fc_tensor vp = v3((float *)px->v + (size_t)l * Hkv * px->P * D, Hkv, P, D);
        fc_tensor tdkp = v3(a->dkp, Hkv, P, D), tdvp = v3(a->dvp, Hkv, P, D);
        fc_tensor tq = v3(q, T, H, D), tk = v3(kn, T, Hkv, D), tv = v3(vn, T, Hkv, D), to = v3(att, T, H, D);
        fc_tensor tdq = v3(a->dq, T, H, D), tdk = v3(a->dkn, T, Hkv, D), tdv = v3(a->dvn, T, Hkv, D);
        fc_tensor tdo = v3(a->datt, T, H, D), tlse = v2(lse, T, H);
        FC_TRY(fc_op_attention_prefix_bwd(&tdq, &tdkp, &tdvp, &tdk, &tdv, &tdo, &tq, &kp, &vp, &tk, &tv, &to, &tlse,
                                          scale));
        /* the gradient of layer 0's input would only reach the frozen embedding: its q/k/v backward is skipped */
        if (l > 0) {
            FC_TRY(fc_op_rope_bwd(&tdq, pos, theta));
            FC_TRY(fc_op_rope_bwd(&tdk, pos, theta));
            if (bf16) { /* dxn = [dq dk dv] [Wq; Wk; Wv] */
                int64_t nq = H * D, nk = Hkv * D, nr = nq + 2 * nk;
                for (int64_t t = 0; t < T; t++) {
                    memcpy(a->dqkv + t * nr, a->dq + t * nq, sizeof(float) * nq);
                    memcpy(a->dqkv + t * nr + nq, a->dkn + t * nk, sizeof(float) * nk);
                    memcpy(a->dqkv + t * nr + nq + nk, a->dvn + t * nk, sizeof(float) * nk);
                }
                FC_TRY(fc_ag_bwd_dx(a->dxn, a->dqkv, T, bp[FC_AG_BWD_QKV]));
            } else {
                fc_tensor tdq2 = v2(a->dq, T, H * D), tdk2 = v2(a->dkn, T, Hkv * D), tdv2 = v2(a->dvn, T, Hkv * D);
                FC_TRY(fc_op_linear_bwd(&tdxn, NULL, NULL, &tdq2, NULL, &W->wq, false));
                FC_TRY(fc_op_linear_bwd(&tdxn, NULL, NULL, &tdk2, NULL, &W->wk, true));
                FC_TRY(fc_op_linear_bwd(&tdxn, NULL, NULL, &tdv2, NULL, &W->wv, true));
            }
            fc_tensor tx = v2(xin, T, C);
            FC_TRY(fc_op_rmsnorm_bwd(&tdx, NULL, &tdxn, &tx, &W->attn_norm, eps, true)); /* dx is now d(xin) */
        }
        if (on_layer && P > 0) FC_TRY(on_layer(ctx, (int)l, a->dkp, a->dvp));
    }
    return FC_OK;
}
