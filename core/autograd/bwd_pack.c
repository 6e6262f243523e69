/* bwd_pack.c: the frozen decoder's weights packed for the backward's bf16 GEMMs (autograd_internal.h).
 *
 * The backward of a frozen linear is dx = dy . W only (no dW). With --precision bf16 the forward runs on the
 * packs made at load (fc_tensor.pack, the layout of y = x . W^T); the backward needs W read the other way
 * (reduction over W's rows), which that layout cannot serve, so each weight gets a second pack, made once
 * when the first backward runs. Linears that read the same input are stacked into one pack, so their
 * backward is one GEMM with no accumulation: dxn = [dq dk dv] . [Wq; Wk; Wv] and dxn = [dg du] . [Wg; Wu].
 * Once both packs of a weight exist its checkpoint copy is not read any more: its pages are handed back
 * (MADV_DONTNEED; the checkpoint is a read-only private file mapping, so a later read would fault them in
 * again from the file), which keeps the process at the two packed copies instead of three.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/autograd/autograd_internal.h"
#include "core/base/mem.h"
#include "kernels/cpu/gemm_dnnl.h"

bool fc_ag_bwd_wanted(const fc_llm *m) { return m->cfg.num_layers > 0 && m->layers[0].wq.pack != NULL; }

void fc_ag_bwd_free(fc_ag_bwd *b) {
    if (!b) return;
    if (b->layer)
        for (int i = 0; i < b->n_layers * FC_AG_BWD_PER_LAYER; i++) fc_dnnl_w_free(b->layer[i]);
    free(b->layer);
    fc_dnnl_w_free(b->lm_head);
    memset(b, 0, sizeof *b);
}

/* The whole pages inside w's data, handed back when w also has its forward pack. */
static void release_pages(const fc_tensor *w) {
    if (!w->pack || !w->data) return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)w->data;
    uintptr_t b = a + (uintptr_t)fc_tensor_numel(w) * fc_dtype_size(w->dtype);
    a = (a + pg - 1) / pg * pg, b = b / pg * pg;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED); /* a hint: failure changes nothing */
}

static fc_err stack(fc_wpack **out, int n, const fc_tensor *const *w) {
    const void *data[3] = {0};
    fc_dtype dt[3] = {0};
    int64_t rows[3] = {0};
    for (int i = 0; i < n; i++) data[i] = w[i]->data, dt[i] = w[i]->dtype, rows[i] = w[i]->shape[0];
    FC_TRY(fc_dnnl_wt_create(out, n, data, dt, rows, w[0]->shape[1], FC_DTYPE_BF16));
    for (int i = 0; i < n; i++) release_pages(w[i]);
    return FC_OK;
}

fc_err fc_ag_bwd_create(fc_ag_bwd *b, const fc_llm *m) {
    if (b->m == m && b->layer) return FC_OK;
    fc_ag_bwd_free(b);
    int L = m->cfg.num_layers;
    b->layer = fc_calloc((size_t)L * FC_AG_BWD_PER_LAYER, sizeof *b->layer, "backward packs");
    if (!b->layer) return FC_ENOMEM;
    b->n_layers = L;
    /* the checkpoint pages the load's packing read are handed back first; each stack below reads its own
     * parts again (from the page cache) and hands them back; lm_head, the largest, goes first, while the
     * fewest backward packs exist */
    for (int l = 0; l < L; l++) {
        const fc_llm_layer *W = &m->layers[l];
        const fc_tensor *ws[] = {&W->wq, &W->wk, &W->wv, &W->wo, &W->w_gate, &W->w_up, &W->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) release_pages(ws[i]);
    }
    release_pages(&m->lm_head);
    fc_err e = stack(&b->lm_head, 1, (const fc_tensor *[]){&m->lm_head});
    for (int l = 0; !e && l < L; l++) {
        const fc_llm_layer *W = &m->layers[l];
        fc_wpack **p = b->layer + (size_t)l * FC_AG_BWD_PER_LAYER;
        e = stack(&p[FC_AG_BWD_QKV], 3, (const fc_tensor *[]){&W->wq, &W->wk, &W->wv});
        if (!e) e = stack(&p[FC_AG_BWD_O], 1, (const fc_tensor *[]){&W->wo});
        if (!e) e = stack(&p[FC_AG_BWD_GATE_UP], 2, (const fc_tensor *[]){&W->w_gate, &W->w_up});
        if (!e) e = stack(&p[FC_AG_BWD_DOWN], 1, (const fc_tensor *[]){&W->w_down});
    }
    if (e) {
        fc_ag_bwd_free(b);
        return fc_err_prefix(e, "packing the decoder's weights for the bf16 backward");
    }
    b->m = m;
    return FC_OK;
}

fc_err fc_ag_bwd_dx(float *dx, const float *dy, int64_t M, fc_wpack *p) {
    return fc_dnnl_linear(dx, dy, M, p, NULL, FC_DTYPE_F32);
}
