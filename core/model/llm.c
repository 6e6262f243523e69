/* llm.c: the decoder forward over the paged KV pool (see llm.h): embeddings (with rows optionally replaced),
 * L pre-norm layers writing their K/V into each sequence's blocks, the final norm and lm_head on the rows
 * asked for. Every op is one call of kernels/ops.h; the attention is fc_op_paged_attention.
 *
 * Activations live in one buffer carved into named arrays (sizes from the call's shape, llm.c style). The
 * MLP runs over row chunks of at most MLP_ROWS tokens so that a long batched prefill does not need two
 * (tokens x intermediate) arrays at once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/llm.h"
#include "core/model/llm_capture.h"
#include "kernels/ops.h"

enum { MLP_ROWS = 512 };

/* Pointers into the activation buffer for one call; shapes in comments (N tokens, R output rows). */
typedef struct {
    float *x;       /* (N, C) residual stream */
    float *xn;      /* (N, C) normed input of a sublayer, then its output */
    float *q;       /* (N, H*D) */
    float *k, *v;   /* (N, Hkv*D) */
    float *att;     /* (N, H*D) */
    float *gate;    /* (min(N, MLP_ROWS), F) */
    float *up;      /* (min(N, MLP_ROWS), F) */
    float *sel;     /* (R, C) rows picked for the output */
    float *hid;     /* (R, C) final-normed rows (unless the caller passed its own) */
    int32_t *ids;   /* (N) ids to look up (0 where an embedding row is replaced) */
    int32_t *pos;   /* (N) RoPE positions */
    fc_paged_seq *pseq; /* (n_in) */
} acts;

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

enum { NA = 13 };

/* Byte sizes of the arrays of acts for one call, in field order. */
static void acts_sizes(const fc_llm *m, int64_t N, int64_t R, bool need_hid, int n_in, size_t sizes[NA]) {
    const fc_llm_config *c = &m->cfg;
    int64_t C = c->hidden_size, QD = (int64_t)c->num_heads * c->head_dim, KD = (int64_t)c->num_kv_heads * c->head_dim;
    int64_t Fm = (N < MLP_ROWS ? N : MLP_ROWS) * (int64_t)c->intermediate_size;
    size_t f = sizeof(float);
    size_t v[NA] = {N * C * f, N * C * f, N * QD * f, N * KD * f, N * KD * f, N * QD * f, Fm * f, Fm * f,
                    R * C * f, (need_hid ? R : 0) * C * f, N * sizeof(int32_t), N * sizeof(int32_t),
                    n_in * sizeof(fc_paged_seq)};
    memcpy(sizes, v, sizeof v);
}

size_t fc_llm_act_bytes(const fc_llm *m, int64_t N, int64_t R, bool caller_hidden, int n_in) {
    size_t sizes[NA], total = 0;
    acts_sizes(m, N, R, !caller_hidden, n_in, sizes);
    for (int i = 0; i < NA; i++) total += round64(sizes[i]);
    return total;
}

void fc_llm_set_act_limits(fc_llm *m, size_t limit, size_t keep) {
    m->act_limit = limit;
    m->act_keep = keep;
}

void fc_llm_trim(fc_llm *m) {
    free(m->act);
    m->act = NULL;
    m->act_cap = 0;
}

/* Lays the arrays out in m->act, growing it only when this call needs more than any before (up to the
 * cap; the buffer is released after a call above act_keep, see forward_impl). */
static fc_err acts_setup(fc_llm *m, int64_t N, int64_t R, bool need_hid, int n_in, acts *a) {
    size_t sizes[NA], total = 0;
    acts_sizes(m, N, R, need_hid, n_in, sizes);
    for (int i = 0; i < NA; i++) total += round64(sizes[i]);
    if (m->act_limit && total > m->act_limit)
        return fc_err_set(FC_ENOMEM,
                          "decoder: %lld tokens need %zu bytes of activations, over the cap of %zu (split the "
                          "prefill into chunks: fc_llm_act_bytes)",
                          (long long)N, total, m->act_limit);
    if (total > m->act_cap) {
        fc_llm_trim(m);
        m->act = aligned_alloc(64, total);
        if (!m->act)
            return fc_err_set(FC_ENOMEM, "decoder: out of memory for %zu bytes of activations (%lld tokens)", total,
                              (long long)N);
        m->act_cap = total;
    }
    char *p = m->act;
    void *ptr[NA];
    for (int i = 0; i < NA; i++) ptr[i] = p, p += round64(sizes[i]);
    *a = (acts){ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7], ptr[8], ptr[9], ptr[10], ptr[11], ptr[12]};
    return FC_OK;
}

static fc_tensor view2(float *p, int64_t a, int64_t b) {
    int64_t s[2] = {a, b};
    return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 2, s);
}
static fc_tensor view3(float *p, int64_t a, int64_t b, int64_t c) {
    int64_t s[3] = {a, b, c};
    return fc_tensor_view(p, FC_DTYPE_F32, FC_DEVICE_CPU, 3, s);
}
static const fc_tensor *opt(const fc_tensor *t) { return t->data ? t : NULL; }

/* What concerns the whole call: the pool's geometry, dtype and owner. */
static fc_err check_call(const fc_llm *m, const fc_kv_pool *kv, int n_in) {
    const fc_kv_pool_params *p = &kv->p;
    if (p->n_layers != m->cfg.num_layers || p->n_kv_heads != m->cfg.num_kv_heads || p->head_dim != m->cfg.head_dim)
        return fc_err_set(FC_EINVAL, "decoder: kv pool of %d layers x %d kv heads x %d dims, model has %d x %d x %d",
                          p->n_layers, p->n_kv_heads, p->head_dim, m->cfg.num_layers, m->cfg.num_kv_heads,
                          m->cfg.head_dim);
    if (p->device != FC_DEVICE_CPU || p->dtype != FC_DTYPE_F32)
        return fc_err_set(FC_EUNSUPPORTED, "decoder: the CPU forward wants an f32 CPU kv pool (got %s on %s)",
                          fc_dtype_name(p->dtype), fc_device_name(p->device));
    if (!fc_kv_pool_owned(kv))
        return fc_err_set(FC_EINVAL, "decoder: forward called from a thread that does not own the kv pool "
                          "(kv_pool.h, THREADS)");
    if (n_in < 1) return fc_err_set(FC_EINVAL, "decoder: forward of %d sequences", n_in);
    return FC_OK;
}

/* What concerns input i alone (a sequence listed twice is refused at its second appearance). */
static fc_err check_one(const fc_llm *m, const fc_kv_pool *kv, const fc_llm_seq_input *in, int i) {
    const fc_llm_seq_input *s = &in[i];
    if (!fc_kv_seq_live(kv, s->seq))
        return fc_err_set(FC_EINVAL, "decoder: input %d: kv sequence %u#%u is not live (stale or swapped out)", i,
                          s->seq.slot, s->seq.gen);
    for (int j = 0; j < i; j++)
        if (fc_kv_handle_eq(in[j].seq, s->seq))
            return fc_err_set(FC_EINVAL, "decoder: kv sequence %u#%u appears twice in one call (inputs %d and %d)",
                              s->seq.slot, s->seq.gen, j, i);
    if (s->n < 1 || !s->ids) return fc_err_set(FC_EINVAL, "decoder: input %d: %d tokens", i, s->n);
    if (s->embeds && (s->embeds_start < 0 || s->n_embeds < 0 || s->embeds_start > s->n - s->n_embeds))
        return fc_err_set(FC_EINVAL, "decoder: input %d: embedding rows [%d, %d) outside its %d tokens", i,
                          s->embeds_start, s->embeds_start + s->n_embeds, s->n);
    for (int t = 0; t < s->n; t++) {
        bool replaced = s->embeds && t >= s->embeds_start && t < s->embeds_start + s->n_embeds;
        if (!replaced && (s->ids[t] < 0 || s->ids[t] >= m->cfg.vocab_size))
            return fc_err_set(FC_EINVAL, "decoder: input %d: token %d is id %d, outside the vocabulary [0, %d)", i, t,
                              (int)s->ids[t], m->cfg.vocab_size);
    }
    if (fc_kv_seq_next_pos(kv, s->seq) > INT32_MAX - s->n)
        return fc_err_set(FC_EINVAL, "decoder: input %d: position overflow", i);
    return FC_OK;
}

/* Grows the per-call scratch (marks, selected inputs) for n_in inputs. */
static fc_err scratch_setup(fc_llm *m, int n_in) {
    size_t L = (size_t)m->cfg.num_layers;
    if ((size_t)n_in * L > (size_t)m->marks_cap) {
        if ((size_t)n_in * L > INT32_MAX) return fc_err_set(FC_ENOMEM, "decoder: forward of %d sequences", n_in);
        fc_kv_layer_mark *mk = fc_realloc(m->marks, (size_t)n_in * L * sizeof *mk, "decoder marks");
        if (!mk) return FC_ENOMEM;
        m->marks = mk;
        m->marks_cap = (int)((size_t)n_in * L);
    }
    if (n_in > m->sel_cap) {
        fc_llm_seq_input *sel = fc_realloc(m->sel, (size_t)n_in * sizeof *sel, "decoder inputs");
        if (sel) m->sel = sel;
        int *idx = sel ? fc_realloc(m->sel_idx, (size_t)n_in * sizeof *idx, "decoder inputs") : NULL;
        if (idx) m->sel_idx = idx;
        if (!sel || !idx) return FC_ENOMEM;
        m->sel_cap = n_in;
    }
    return FC_OK;
}

/* Embeddings of all N tokens, with the override rows copied in. */
static fc_err embed(fc_llm *m, const fc_llm_seq_input *in, int n_in, int64_t N, acts *a) {
    int64_t C = m->cfg.hidden_size, r = 0;
    for (int i = 0; i < n_in; i++)
        for (int t = 0; t < in[i].n; t++, r++) {
            bool replaced = in[i].embeds && t >= in[i].embeds_start && t < in[i].embeds_start + in[i].n_embeds;
            a->ids[r] = replaced ? 0 : in[i].ids[t];
        }
    fc_tensor x = view2(a->x, N, C);
    FC_TRY(fc_op_embedding(&x, &m->embed, a->ids, (int)N));
    r = 0;
    for (int i = 0; i < n_in; i++) {
        if (in[i].embeds && in[i].n_embeds > 0)
            memcpy(a->x + (r + in[i].embeds_start) * C, in[i].embeds, (size_t)(in[i].n_embeds * C) * sizeof(float));
        r += in[i].n;
    }
    return FC_OK;
}

static fc_err attention_block(fc_llm *m, fc_kv_pool *kv, int l, const fc_llm_seq_input *in, int n_in, int64_t N,
                              acts *a) {
    const fc_llm_config *c = &m->cfg;
    const fc_llm_layer *L = &m->layers[l];
    int64_t C = c->hidden_size, H = c->num_heads, Hkv = c->num_kv_heads, D = c->head_dim;
    fc_tensor x = view2(a->x, N, C), xn = view2(a->xn, N, C);
    fc_tensor q = view2(a->q, N, H * D), k = view2(a->k, N, Hkv * D), v = view2(a->v, N, Hkv * D);
    FC_TRY(fc_op_rmsnorm(&xn, &x, &L->attn_norm, (float)c->rms_norm_eps));
    FC_TRY(fc_op_linear(&q, &xn, &L->wq, opt(&L->bq)));
    FC_TRY(fc_op_linear(&k, &xn, &L->wk, opt(&L->bk)));
    FC_TRY(fc_op_linear(&v, &xn, &L->wv, opt(&L->bv)));
    fc_tensor q3 = view3(a->q, N, H, D), k3 = view3(a->k, N, Hkv, D);
    for (int i = 0; i < n_in; i++) /* captures: off is one pointer test per sequence and layer */
        if (in[i].capture)
            FC_TRY(fc_llm_capture_pre_rope(in[i].capture, l, a->q + a->pseq[i].q_start * H * D, in[i].n));
    FC_TRY(fc_op_rope(&q3, a->pos, (float)c->rope_theta));
    FC_TRY(fc_op_rope(&k3, a->pos, (float)c->rope_theta));
    /* the new tokens' K/V go to slots [len, len + n) of each sequence, then attention reads them back */
    size_t row = (size_t)(Hkv * D) * sizeof(float);
    int64_t r = 0;
    for (int i = 0; i < n_in; i++) {
        int len = fc_kv_seq_layer_len(kv, in[i].seq, l); /* each layer at its own length (PyramidKV) */
        for (int t = 0; t < in[i].n; t++, r++) {
            memcpy(fc_kv_slot_k(kv, in[i].seq, l, len + t), a->k + r * Hkv * D, row);
            memcpy(fc_kv_slot_v(kv, in[i].seq, l, len + t), a->v + r * Hkv * D, row);
        }
        a->pseq[i].n_keys = len + in[i].n;
        a->pseq[i].blocks = fc_kv_seq_layer_blocks(kv, in[i].seq, l);
    }
    for (int i = 0; i < n_in; i++)
        if (in[i].capture)
            FC_TRY(fc_llm_capture_post_rope(in[i].capture, l, a->q + a->pseq[i].q_start * H * D, in[i].n, kv,
                                            in[i].seq));
    fc_tensor att = view2(a->att, N, H * D);
    fc_tensor kc = fc_kv_layer_k(kv, l), vc = fc_kv_layer_v(kv, l);
    FC_TRY(fc_op_paged_attention(&att, &q3, &kc, &vc, a->pseq, n_in, 1.0f / sqrtf((float)D)));
    FC_TRY(fc_op_linear(&xn, &att, &L->wo, opt(&L->bo)));
    return fc_op_add(&x, &x, &xn);
}

static fc_err mlp_block(fc_llm *m, int l, int64_t N, acts *a) {
    const fc_llm_config *c = &m->cfg;
    const fc_llm_layer *L = &m->layers[l];
    int64_t C = c->hidden_size, F = c->intermediate_size;
    fc_tensor x = view2(a->x, N, C), xn = view2(a->xn, N, C);
    FC_TRY(fc_op_rmsnorm(&xn, &x, &L->mlp_norm, (float)c->rms_norm_eps));
    /* equal chunks of at most MLP_ROWS rows: 600 rows as 300 + 300 rather than 512 + 88, whose small
     * sgemm runs well below peak and converts the weights a second time for few rows */
    int64_t n_chunks = N > 0 ? (N + MLP_ROWS - 1) / MLP_ROWS : 1;
    int64_t chunk = (N + n_chunks - 1) / n_chunks;
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
        int64_t n = N - r0 < chunk ? N - r0 : chunk;
        fc_tensor xi = view2(a->xn + r0 * C, n, C), g = view2(a->gate, n, F), u = view2(a->up, n, F);
        FC_TRY(fc_op_linear(&g, &xi, &L->w_gate, opt(&L->b_gate)));
        FC_TRY(fc_op_linear(&u, &xi, &L->w_up, opt(&L->b_up)));
        FC_TRY(fc_op_silu_mul(&g, &g, &u));
        FC_TRY(fc_op_linear(&xi, &g, &L->w_down, opt(&L->b_down))); /* rows r0.. of xn: already consumed */
    }
    return fc_op_add(&x, &x, &xn);
}

static fc_err run(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows, int64_t N,
                  float *logits, float *hidden, acts *a) {
    const fc_llm_config *c = &m->cfg;
    int64_t C = c->hidden_size, r = 0;
    for (int i = 0; i < n_in; i++) {
        int pos0 = fc_kv_seq_next_pos(kv, in[i].seq);
        a->pseq[i] = (fc_paged_seq){.q_start = (int)r, .n_q = in[i].n}; /* n_keys, blocks: per layer */
        for (int t = 0; t < in[i].n; t++) a->pos[r + t] = pos0 + t;
        r += in[i].n;
    }
    FC_TRY(embed(m, in, n_in, N, a));
    for (int l = 0; l < c->num_layers; l++) {
        fc_err e = attention_block(m, kv, l, in, n_in, N, a);
        if (!e) e = mlp_block(m, l, N, a);
        if (e) return fc_err_prefix(e, "decoder layer %d", l);
    }
    int64_t R = rows == FC_LLM_ROWS_ALL ? N : n_in;
    const float *src = a->x;
    if (rows == FC_LLM_ROWS_LAST) {
        for (int i = 0; i < n_in; i++)
            memcpy(a->sel + i * C, a->x + (a->pseq[i].q_start + in[i].n - 1) * C, (size_t)C * sizeof(float));
        src = a->sel;
    }
    float *h = hidden ? hidden : a->hid;
    fc_tensor hs = view2(h, R, C), xs = view2((float *)src, R, C);
    FC_TRY(fc_op_rmsnorm(&hs, &xs, &m->norm, (float)c->rms_norm_eps));
    if (logits) {
        fc_tensor lg = view2(logits, R, c->vocab_size);
        FC_TRY(fc_op_linear(&lg, &hs, &m->lm_head, NULL));
    }
    return FC_OK;
}

/* Moves output rows from the run's compact layout (the n_sel inputs that ran, in order) to the caller's
 * layout (all n_in inputs), NaN in refused inputs' rows. width: floats per row. Rows only move towards
 * the end, so going backwards never overwrites a row not yet moved. */
static void scatter_rows(float *out, int64_t width, const fc_llm_seq_input *in, int n_in, const int *sel_idx,
                         int n_sel, fc_llm_rows rows) {
    if (!out) return;
    int64_t full_end = 0, sel_end = 0; /* row counts of the full and compact layouts */
    for (int i = 0; i < n_in; i++) full_end += rows == FC_LLM_ROWS_ALL ? in[i].n : 1;
    for (int j = 0; j < n_sel; j++) sel_end += rows == FC_LLM_ROWS_ALL ? in[sel_idx[j]].n : 1;
    int j = n_sel - 1;
    for (int i = n_in - 1; i >= 0; i--) {
        int64_t n = rows == FC_LLM_ROWS_ALL ? (in[i].n > 0 ? in[i].n : 0) : 1;
        full_end -= n;
        if (j >= 0 && sel_idx[j] == i) {
            sel_end -= n;
            if (sel_end != full_end)
                memmove(out + full_end * width, out + sel_end * width, (size_t)(n * width) * sizeof(float));
            j--;
        } else {
            for (int64_t k = 0; k < n * width; k++) out[full_end * width + k] = NAN;
        }
    }
}

/* The forward of both entry points; status NULL: all or nothing (fc_llm_forward). */
static fc_err forward_impl(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows,
                           float *logits, float *hidden, fc_err *status, int *n_run) {
    if (n_run) *n_run = 0;
    fc_err e = check_call(m, kv, n_in);
    if (!e) e = scratch_setup(m, n_in);
    if (e) {
        for (int i = 0; status && i < n_in; i++) status[i] = e;
        return e;
    }
    const int L = m->cfg.num_layers;
    fc_err refused = FC_OK;
    char msg[512] = "";
    /* every input is checked before any reservation, so a bad input costs the others nothing */
    for (int i = 0; i < n_in; i++) {
        fc_err ei = check_one(m, kv, in, i);
        if (ei && !status) return ei;
        if (status) status[i] = ei;
        if (ei) refused = ei, snprintf(msg, sizeof msg, "%s", fc_errmsg());
    }
    int n_sel = 0;
    int64_t N = 0;
    for (int i = 0; i < n_in; i++) {
        if (status && status[i]) continue;
        fc_kv_layer_mark *mk = m->marks + (size_t)n_sel * L;
        fc_err ei = fc_kv_seq_mark(kv, in[i].seq, mk);
        if (!ei) ei = fc_kv_seq_reserve(kv, in[i].seq, in[i].n);
        if (ei) {
            ei = fc_err_prefix(ei, "decoder: input %d", i);
            if (status) {
                status[i] = ei, refused = ei, snprintf(msg, sizeof msg, "%s", fc_errmsg());
                continue;
            }
            for (int j = n_sel - 1; j >= 0; j--)
                FC_ASSERT(fc_kv_seq_rollback(kv, m->sel[j].seq, m->marks + (size_t)j * L) == FC_OK);
            return ei;
        }
        m->sel[n_sel] = in[i];
        m->sel_idx[n_sel++] = i;
        N += in[i].n;
    }
    if (n_sel > 0) {
        int64_t R = rows == FC_LLM_ROWS_ALL ? N : n_sel;
        acts a = {0};
        e = acts_setup(m, N, R, hidden == NULL, n_sel, &a);
        if (!e) e = run(m, kv, m->sel, n_sel, rows, N, logits, hidden, &a);
        for (int j = n_sel - 1; j >= 0; j--) { /* reverse order: each rollback sees the state its mark saw */
            if (e)
                FC_ASSERT(fc_kv_seq_rollback(kv, m->sel[j].seq, m->marks + (size_t)j * L) == FC_OK);
            else
                FC_ASSERT(fc_kv_seq_commit(kv, m->sel[j].seq, m->sel[j].n) == FC_OK);
        }
        if (m->act_cap > m->act_keep) fc_llm_trim(m); /* a long prefill's buffer does not outlive its call */
        if (e) {
            for (int i = 0; status && i < n_in; i++) status[i] = e;
            return e;
        }
    }
    if (n_sel < n_in) {
        scatter_rows(logits, m->cfg.vocab_size, in, n_in, m->sel_idx, n_sel, rows);
        scatter_rows(hidden, m->cfg.hidden_size, in, n_in, m->sel_idx, n_sel, rows);
    }
    if (n_run) *n_run = n_sel;
    if (refused) fc_err_set(refused, "%s", msg); /* the last refusal's message, for the caller's log */
    return FC_OK;
}

fc_err fc_llm_forward(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows,
                      float *logits, float *hidden) {
    return forward_impl(m, kv, in, n_in, rows, logits, hidden, NULL, NULL);
}

fc_err fc_llm_forward_each(fc_llm *m, fc_kv_pool *kv, const fc_llm_seq_input *in, int n_in, fc_llm_rows rows,
                           float *logits, float *hidden, fc_err *status, int *n_run) {
    return forward_impl(m, kv, in, n_in, rows, logits, hidden, status, n_run);
}

fc_err fc_llm_decode(fc_llm *m, fc_kv_pool *kv, const fc_kv_handle *seqs, const int32_t *tokens, int B,
                     float *logits) {
    if (B < 1) return fc_err_set(FC_EINVAL, "decoder: decode step for %d sequences", B);
    fc_llm_seq_input stack[64], *in = stack;
    if (B > 64 && !(in = fc_malloc((size_t)B * sizeof *in, "decode inputs"))) return FC_ENOMEM;
    for (int b = 0; b < B; b++) in[b] = (fc_llm_seq_input){.seq = seqs[b], .ids = &tokens[b], .n = 1};
    fc_err e = fc_llm_forward(m, kv, in, B, FC_LLM_ROWS_LAST, logits, NULL);
    if (in != stack) free(in);
    return e;
}
