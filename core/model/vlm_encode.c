/* vlm_encode.c: a request's image rows: preprocessing (CLIP / MiniCPM-V slicing), the vision tower per
 * piece, and the splice into one embedding range (vlm.h). */
#include <stdlib.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/model/vlm_internal.h"
#include "core/tensor/dtype.h"

void fc_vlm_pixels_free(fc_vlm_pixels *px) {
    free(px->pixels);
    fc_minicpmv_slices_free(&px->slices);
    memset(px, 0, sizeof *px);
}

fc_err fc_vlm_preprocess(const fc_vlm *m, const fc_image *img, fc_vlm_pixels *px) {
    memset(px, 0, sizeof *px);
    if (!img || !img->rgb || img->w < 1 || img->h < 1) return fc_err_set(FC_EINVAL, "empty image");
    if (m->cfg.arch == FC_ARCH_MINICPMV) return fc_minicpmv_slice(img, &m->slice_pp, &px->slices);
    int h, w, S = m->clip->image_size;
    FC_TRY(fc_clip_output_size(img, &m->clip_pp, &h, &w));
    if (h != S || w != S)
        return fc_err_set(FC_ESHAPE, "preprocessor_config.json makes %dx%d pixels, the vision tower takes %dx%d", w, h,
                          S, S);
    if (!(px->pixels = fc_malloc((size_t)3 * S * S * sizeof(float), "image pixels"))) return FC_ENOMEM;
    fc_err e = fc_clip_preprocess(img, &m->clip_pp, px->pixels);
    if (e) fc_vlm_pixels_free(px);
    return e;
}

/* One piece into its rows out (len, C). */
static fc_err encode_piece(fc_vlm *m, const fc_vlm_pixels *px, int piece, fc_tensor *out) {
    if (m->cfg.arch == FC_ARCH_LLAVA) {
        int64_t S = m->clip->image_size, shape[3] = {3, S, S};
        fc_tensor pix = fc_tensor_view(px->pixels, FC_DTYPE_F32, FC_DEVICE_CPU, 3, shape);
        return fc_clip_encode(m->clip, &pix, out);
    }
    int P = m->navit->patch_size, h = px->slices.tgt[piece][0], w = px->slices.tgt[piece][1];
    int64_t ps[3] = {3, (int64_t)h * P, (int64_t)w * P}, vs[2] = {(int64_t)h * w, m->navit->dims.C};
    fc_tensor pix = fc_tensor_view(px->slices.pixels[piece], FC_DTYPE_F32, FC_DEVICE_CPU, 3, ps), feats;
    FC_TRY(fc_tensor_create(&feats, FC_DTYPE_F32, FC_DEVICE_CPU, 2, vs));
    fc_err e = fc_navit_encode(m->navit, &pix, h, w, &feats);
    if (!e) e = fc_resampler_encode(m->resampler, &feats, h, w, out);
    fc_tensor_free(&feats);
    return e;
}

fc_err fc_vlm_encode(fc_vlm *m, const fc_vlm_pixels *px, fc_vlm_request *req) {
    if (req->n_spans == 0) return FC_OK;
    const fc_tensor *E = &m->llm->embed;
    int C = m->cfg.text.hidden_size, V = m->cfg.text.vocab_size;
    int first = req->spans[0].start, last = req->spans[req->n_spans - 1].start + req->spans[req->n_spans - 1].len;
    size_t bytes;
    if (!fc_mul_size((size_t)(last - first), (size_t)C * sizeof(float), &bytes))
        return fc_err_set(FC_ENOMEM, "image rows too large");
    if (!(req->embeds = fc_malloc(bytes, "image rows"))) return FC_ENOMEM;
    req->embeds_start = first, req->n_embeds = last - first;
    /* the tokens between image runs keep their own embeddings: fc_llm replaces one range per sequence */
    size_t esz = fc_dtype_size(E->dtype);
    for (int i = first; i < last; i++) {
        int32_t t = req->ids[i];
        if (t < 0 || t >= V) return fc_err_set(FC_EINVAL, "prompt position %d: token %d outside the vocabulary (%d)", i, t, V);
        fc_dtype_convert(req->embeds + (size_t)(i - first) * C, FC_DTYPE_F32, (const char *)E->data + (size_t)t * C * esz,
                         E->dtype, (size_t)C);
    }
    for (int s = 0; s < req->n_spans; s++) {
        const fc_vlm_span *sp = &req->spans[s];
        int n_pieces = m->cfg.arch == FC_ARCH_LLAVA ? 1 : px[sp->image].slices.n;
        if (sp->piece >= n_pieces)
            return fc_err_set(FC_EINVAL, "image %d has %d piece(s), the prompt asks for piece %d", sp->image, n_pieces,
                              sp->piece);
        int64_t shape[2] = {sp->len, C};
        fc_tensor rows = fc_tensor_view(req->embeds + (size_t)(sp->start - first) * C, FC_DTYPE_F32, FC_DEVICE_CPU, 2, shape);
        fc_err e = encode_piece(m, &px[sp->image], sp->piece, &rows);
        if (e) return fc_err_prefix(e, "image %d piece %d", sp->image, sp->piece);
    }
    return FC_OK;
}
