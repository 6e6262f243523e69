/* autograd_internal.h: what the files of core/autograd share: the RNG, grow-only buffers, the CCM's
 * training forward/backward (ccm_grad.c), the dense decoder over [prefix; new] with its backward
 * (student.c), and the losses (distill_loss.c). Not a public API. */
#ifndef FC_AUTOGRAD_INTERNAL_H
#define FC_AUTOGRAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/autograd/ccm_train.h"
#include "core/autograd/distill.h"
#include "core/base/err.h"
#include "core/model/llm.h"

/* splitmix64: one 64-bit state, cheap to save and restore. */
static inline uint64_t fc_ag_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [0, 1) with 53 bits */
static inline double fc_ag_rng_uniform(uint64_t *s) { return (double)(fc_ag_rng_next(s) >> 11) * 0x1.0p-53; }

/* Makes *p hold at least n elements of `size` bytes (grow-only, contents not kept). */
fc_err fc_ag_grow(void *pp, size_t *cap, size_t n, size_t size, const char *what);

/* ---- ccm_grad.c: the CCM over one sample's prefix, with saved activations ---- */
typedef struct {
    /* plan for the current sample (same for every layer) */
    int S, Hkv, n_segs, C;        /* prefix entries, kv heads, segments, compressed length */
    fc_ccm_segment *segs;         /* (n_segs) */
    int *out_pos, *n_win;         /* (n_segs) where each segment's output starts; its windows (0 = stays raw) */
    size_t *act_off;              /* (n_segs) offset of the segment's saved activations within one (layer, K/V) */
    size_t per_lkv;               /* floats (and gate bytes) saved per (layer, K/V) */
    int max_rows;                 /* Hkv * the most windows of one segment */
    size_t cap_segs;
    /* saved: A_j = dropout(relu(Z_j)) for hidden layers j, and gate bytes (relu > 0 and kept) */
    float *acts;
    uint8_t *gates;
    size_t cap_acts, cap_gates;
    /* scratch */
    float *y, *da, *db_;          /* (max_rows, D), (max_rows, hidden) x 2 */
    size_t cap_y, cap_da;
} fc_ag_ccm;

void fc_ag_ccm_free(fc_ag_ccm *s);
/* Cuts the prefix of S entries by rule into segments, sizes the buffers for n_layers layers. */
fc_err fc_ag_ccm_plan(fc_ag_ccm *s, const fc_ccm_train *c, fc_ccm_seg_rule rule, int S, int Hkv,
                      const fc_compress_span *spans, int n_spans, int n_layers);
/* k, v (Hkv, S, D) -> kc, vc (Hkv, C, D) for layer l; saves what the backward needs. With dropout the masks
 * come from c->rng (advanced). */
fc_err fc_ag_ccm_forward(fc_ag_ccm *s, fc_ccm_train *c, int l, const float *k, const float *v, float *kc, float *vc,
                         bool dropout);
/* Accumulates into c->grads the gradient of layer l's MLPs from dkc, dvc (Hkv, C, D). */
fc_err fc_ag_ccm_backward(fc_ag_ccm *s, fc_ccm_train *c, int l, const float *k, const float *v, const float *dkc,
                          const float *dvc, bool dropout);

/* ---- bwd_pack.c: the frozen weights packed for the bf16 backward (dx = dy . W) ---- */
typedef struct fc_wpack fc_wpack;
enum { FC_AG_BWD_QKV, FC_AG_BWD_O, FC_AG_BWD_GATE_UP, FC_AG_BWD_DOWN, FC_AG_BWD_PER_LAYER };
typedef struct {
    const fc_llm *m;   /* the model they were made from */
    int n_layers;
    fc_wpack **layer;  /* (n_layers, FC_AG_BWD_PER_LAYER): [Wq; Wk; Wv], Wo, [Wg; Wu], Wd */
    fc_wpack *lm_head;
} fc_ag_bwd;

/* True when the model runs the bf16 path (its weights were packed at load, kernels/wpack.h): the backward
 * then runs bf16 too. */
bool fc_ag_bwd_wanted(const fc_llm *m);
/* Makes the packs of m (once: a second call for the same model does nothing). */
fc_err fc_ag_bwd_create(fc_ag_bwd *b, const fc_llm *m);
void fc_ag_bwd_free(fc_ag_bwd *b);
/* dx (M, K) = dy (M, N) . W for a pack of W (N, K). */
fc_err fc_ag_bwd_dx(float *dx, const float *dy, int64_t M, fc_wpack *p);

/* ---- student.c: the frozen decoder over T new tokens after a per-layer prefix cache ---- */
typedef struct {
    int T, P, n_sup;
    /* saved forward activations */
    float *xin;        /* (L + 1, T, C) residual stream entering layer l; [L] = leaving the last layer */
    float *xmid;       /* (L, T, C) after the attention residual */
    float *q;          /* (L, T, H, D) post-RoPE */
    float *kn, *vn;    /* (L, T, Hkv, D) new tokens' K (post-RoPE) and V */
    float *att;        /* (L, T, H, D) attention output before o_proj */
    float *lse;        /* (L, T, H) */
    float *gate, *up;  /* (L, T, F) */
    float *hn;         /* (T, C) final-normed */
    float *hsel;       /* (n_sup, C) hn at the supervised rows */
    /* scratch */
    float *xn;         /* (T, C) */
    float *h;          /* (T, F) */
    float *dx, *dxn;   /* (T, C) */
    float *dq, *datt;  /* (T, H, D) */
    float *dkn, *dvn;  /* (T, Hkv, D) */
    float *dh, *dg, *du; /* (T, F) */
    float *dkp, *dvp;  /* (Hkv, P, D) */
    int32_t *ids;      /* (T) */
    float *dgu;        /* (T, 2F) [dg du] per row, the bf16 backward's stacked gradient */
    float *dqkv;       /* (T, (H + 2 Hkv) D) [dq dk dv] per row, likewise */
    size_t cap[27];
    fc_ag_bwd bwd;     /* the bf16 backward's packs (empty on the f32 path) */
} fc_ag_student;

void fc_ag_student_free(fc_ag_student *a);

/* kp(l), vp(l): the prefix of layer l, (Hkv, P, D). */
typedef struct {
    const float *k, *v; /* (L, Hkv, P, D), each layer contiguous */
    int P;              /* entries per layer */
} fc_ag_prefix;

/* Forward of the T inputs at positions pos; logits (n_sup, V) at rows sup; hidden (L, n_sup, C) (may be
 * NULL): HF hidden_states[1..L] at those rows. */
fc_err fc_ag_student_forward(fc_ag_student *a, fc_llm *m, const fc_ag_prefix *px, const int32_t *ids,
                             const int32_t *pos, int T, const int32_t *sup, int n_sup, float *logits, float *hidden);

/* Backward from dlogits (n_sup, V) and optional dhidden (L, n_sup, C); for each layer (top down) calls
 * on_layer with d(prefix K), d(prefix V) of that layer, (Hkv, P, D). */
typedef fc_err (*fc_ag_layer_fn)(void *ctx, int l, const float *dkp, const float *dvp);
fc_err fc_ag_student_backward(fc_ag_student *a, fc_llm *m, const fc_ag_prefix *px, const int32_t *pos,
                              const int32_t *sup, const float *dlogits, const float *dhidden, fc_ag_layer_fn on_layer,
                              void *ctx);

/* ---- teacher.c: the teacher's one pass over [prefix; answer inputs] ---- */
typedef struct {
    float *x, *xn, *q, *k, *v, *att, *lse, *g, *u, *hsel;
    int32_t *ids, *pos;
    size_t cap[12];
} fc_ag_teacher;

void fc_ag_teacher_free(fc_ag_teacher *w);
/* The prefix s->prompt[:-1] (S rows, s's embedding overrides applied) then the T inputs at positions S..,
 * full causal attention. Writes every layer's prefix K (post-RoPE) and V to kp, vp (L, Hkv, S, D), the
 * logits (n_sup, V) at answer rows sup, and hidden (L, n_sup, C) (may be NULL) as the student's forward. */
fc_err fc_ag_teacher_forward(fc_ag_teacher *w, fc_llm *m, const fc_distill_sample *s, const int32_t *inputs, int T,
                             const int32_t *sup, int n_sup, float *kp, float *vp, float *logits, float *hidden);

/* ---- distill_loss.c ---- */
typedef struct {
    double loss, kl, top1, ce, js, l1, hs;
} fc_ag_loss_out;

/* The logit part of the loss over n rows (distill.h): teacher zt, student zs (n, V). Writes dzs (n, V) =
 * scale * d(loss)/d(zs) when dzs is not NULL. Means over the n rows. Rows run on up to n_slots OpenMP
 * threads; scratch: n_slots * 4 V + 6 n doubles, iscratch: n_slots * V ints. The figures are summed in row
 * order, so they do not depend on the thread count. */
void fc_ag_logit_loss(fc_distill_loss kind, float tau, const float *zt, const float *zs, int n, int V, float *dzs,
                      float scale, double *scratch, int *iscratch, int n_slots, fc_ag_loss_out *out);
/* mask[v] = 1 for the top-p set of p (sorted descending, ties by index, kept while the mass before is
 * <= top_p) among the n candidates idx (reordered); others untouched. Returns the kept mass. */
double fc_ag_top_p_mask(const double *p, int *idx, int n, double top_p, double *mask);
/* FastCache's hidden-state term HS over L layers of (n, C) rows; dhs = scale * dHS/dhs when not NULL. */
double fc_ag_hidden_loss(const float *hs, const float *ht, int L, int n, int C, float *dhs, float scale,
                         double *scratch);

#endif
