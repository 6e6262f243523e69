/* clip_preproc.c: transformers' CLIPImageProcessor (slow, PIL path) as llava-hf/llava-1.5-7b-hf uses it.
 * The resize and the center crop are fused: only the crop window of the resized image is computed, which
 * gives the same pixels (see fc_image_resize_bicubic_window) without materialising a 336 x 168000 strip for
 * a 1 x 500 image. */
#include <string.h>

#include "core/base/mem.h"
#include "core/image/preprocess.h"

void fc_clip_preproc_cfg_default(fc_clip_preproc_cfg *cfg) {
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(cfg, 0, sizeof *cfg);
    cfg->do_resize = true;
    cfg->shortest_edge = 336;
    cfg->do_center_crop = true;
    cfg->crop_h = cfg->crop_w = 336;
    cfg->do_rescale = true;
    cfg->rescale_factor = 0.00392156862745098;
    cfg->do_normalize = true;
    memcpy(cfg->mean, mean, sizeof mean);
    memcpy(cfg->std, std, sizeof std);
}

/* Python's a // b for b > 0. */
static int floordiv(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* transformers' get_resize_output_image_size(default_to_square=False): the short side becomes `edge`, the
 * long side int(edge * long / short) with the product exact and the quotient a correctly rounded double,
 * as Python's int * int / int is. */
static fc_err resized_size(const fc_image *img, const fc_clip_preproc_cfg *cfg, int *w, int *h) {
    if (!cfg->do_resize) {
        *w = img->w, *h = img->h;
        return FC_OK;
    }
    if (cfg->shortest_edge <= 0) {
        *w = cfg->size_w, *h = cfg->size_h;
        return FC_OK;
    }
    int64_t sh = img->w <= img->h ? img->w : img->h, lo = img->w <= img->h ? img->h : img->w;
    double l = (double)((int64_t)cfg->shortest_edge * lo) / (double)sh;
    if (l > 2147483647.0) return fc_err_set(FC_ESHAPE, "clip preprocess: resized long side %.0f is too large", l);
    int nl = (int)l;
    if (img->w <= img->h)
        *w = cfg->shortest_edge, *h = nl;
    else
        *w = nl, *h = cfg->shortest_edge;
    return FC_OK;
}

fc_err fc_clip_output_size(const fc_image *img, const fc_clip_preproc_cfg *cfg, int *h, int *w) {
    if (cfg->do_center_crop) {
        *h = cfg->crop_h, *w = cfg->crop_w;
        return FC_OK;
    }
    int side = img->w > img->h ? img->w : img->h;
    fc_image sq = {.w = cfg->pad_to_square ? side : img->w, .h = cfg->pad_to_square ? side : img->h};
    return resized_size(&sq, cfg, w, h);
}

/* LLaVA's expand2square: the image pasted centred ((W-H)//2) on a square of int(mean*255) colour. */
static fc_err expand2square(const fc_image *img, const fc_clip_preproc_cfg *cfg, fc_image *out) {
    int side = img->w > img->h ? img->w : img->h;
    FC_TRY(fc_image_alloc(out, side, side));
    uint8_t bg[3];
    for (int c = 0; c < 3; c++) bg[c] = (uint8_t)(int)(cfg->mean[c] * 255); /* Python int(x*255) on the f64 mean */
    for (size_t i = 0; i < (size_t)side * side; i++) memcpy(out->rgb + 3 * i, bg, 3);
    int x0 = (side - img->w) / 2, y0 = (side - img->h) / 2;
    for (int y = 0; y < img->h; y++)
        memcpy(out->rgb + ((size_t)(y0 + y) * side + x0) * 3, img->rgb + (size_t)y * img->w * 3, (size_t)img->w * 3);
    return FC_OK;
}

fc_err fc_clip_preprocess_u8(const fc_image *img, const fc_clip_preproc_cfg *cfg, fc_image *out) {
    memset(out, 0, sizeof *out);
    fc_image sq = {0};
    if (cfg->pad_to_square && img->w != img->h) {
        FC_TRY(expand2square(img, cfg, &sq));
        img = &sq;
    }
    int rw = 0, rh = 0;
    fc_err e = resized_size(img, cfg, &rw, &rh);
    if (e) goto done;
    if (rw < 1 || rh < 1) {
        e = fc_err_set(FC_EINVAL, "clip preprocess: resize target %dx%d is empty", rw, rh);
        goto done;
    }
    if (!cfg->do_center_crop) {
        e = fc_image_resize_bicubic_ex(out, img, rw, rh, 0, 0, rw, rh, cfg->order);
        goto done;
    }
    /* transformers' center_crop: top = (H - ch) // 2 in the resized image; rows outside it are zero. */
    int top = floordiv(rh - cfg->crop_h, 2), left = floordiv(rw - cfg->crop_w, 2);
    int y0 = top < 0 ? 0 : top, x0 = left < 0 ? 0 : left;
    int y1 = top + cfg->crop_h > rh ? rh : top + cfg->crop_h, x1 = left + cfg->crop_w > rw ? rw : left + cfg->crop_w;
    if ((e = fc_image_alloc(out, cfg->crop_w, cfg->crop_h))) goto done;
    if (y0 == top && x0 == left && y1 - y0 == cfg->crop_h && x1 - x0 == cfg->crop_w) {
        fc_image_free(out);
        e = fc_image_resize_bicubic_ex(out, img, rw, rh, x0, y0, x1 - x0, y1 - y0, cfg->order);
        goto done;
    }
    memset(out->rgb, 0, (size_t)out->w * out->h * 3);
    fc_image win = {0};
    if ((e = fc_image_resize_bicubic_ex(&win, img, rw, rh, x0, y0, x1 - x0, y1 - y0, cfg->order))) goto done;
    for (int y = 0; y < win.h; y++)
        memcpy(out->rgb + ((size_t)(y0 - top + y) * out->w + (x0 - left)) * 3, win.rgb + (size_t)y * win.w * 3,
               (size_t)win.w * 3);
    fc_image_free(&win);
done:
    fc_image_free(&sq);
    if (e) fc_image_free(out);
    return e;
}

void fc_clip_normalize(const fc_image *img, const fc_clip_preproc_cfg *cfg, float *out) {
    size_t hw = (size_t)img->w * img->h;
    for (int c = 0; c < 3; c++) {
        float lut[256]; /* the per-channel map is a function of the byte: compute it once */
        for (int v = 0; v < 256; v++) {
            float x = cfg->do_rescale ? (float)((double)v * cfg->rescale_factor) : (float)v;
            lut[v] = cfg->do_normalize ? (x - cfg->mean[c]) / cfg->std[c] : x;
        }
        float *o = out + (size_t)c * hw;
        for (size_t i = 0; i < hw; i++) o[i] = lut[img->rgb[3 * i + c]];
    }
}

fc_err fc_clip_preprocess(const fc_image *img, const fc_clip_preproc_cfg *cfg, float *out) {
    fc_image u8;
    FC_TRY(fc_clip_preprocess_u8(img, cfg, &u8));
    fc_clip_normalize(&u8, cfg, out);
    fc_image_free(&u8);
    return FC_OK;
}
