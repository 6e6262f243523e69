/* minicpmv_slice.c: MiniCPM-V-2.6's image slicing (image_processing_minicpmv.py: slice_image,
 * get_sliced_grid, find_best_resize, get_refine_size, ensure_divide, split_to_patches), reference §3.3.
 * Python's round() is half-to-even: nearbyint() in the default rounding mode, never C's round(). Every
 * division and log is the same IEEE double operation the Python code performs, in the same order. */
#include <math.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/image/preprocess.h"

void fc_minicpmv_slice_cfg_default(fc_minicpmv_slice_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->slice_mode = true;
    cfg->scale_resolution = 448;
    cfg->patch_size = 14;
    cfg->max_slice_nums = 9;
    for (int c = 0; c < 3; c++) cfg->mean[c] = cfg->std[c] = 0.5f;
}

/* ensure_divide(length, p) = max(round(length / p) * p, p) */
static int ensure_divide(double len, int p) {
    double r = nearbyint(len / p) * p;
    return r > p ? (int)r : p;
}

void fc_minicpmv_best_resize(const fc_minicpmv_slice_cfg *cfg, double w, double h, bool allow_upscale, int *bw,
                             int *bh) {
    double s = cfg->scale_resolution;
    if (w * h > s * s || allow_upscale) { /* w, h are integers below 2^31 or exact halves: products are exact */
        double r = w / h;
        h = (double)(int64_t)(s / sqrt(r));
        w = (double)(int64_t)(h * r);
    }
    *bw = ensure_divide(w, cfg->patch_size);
    *bh = ensure_divide(h, cfg->patch_size);
}

void fc_minicpmv_grid(const fc_minicpmv_slice_cfg *cfg, int w, int h, int *cols, int *rows) {
    *cols = *rows = 0;
    double log_ratio = log((double)w / (double)h);
    int64_t s2 = (int64_t)cfg->scale_resolution * cfg->scale_resolution;
    double ratio = (double)((int64_t)w * h) / (double)s2;
    double mult_d = ceil(ratio);
    int multiple = mult_d < cfg->max_slice_nums ? (int)mult_d : cfg->max_slice_nums;
    if (multiple <= 1) return;
    double best_err = INFINITY;
    int bc = 1, br = 1;
    for (int n = multiple - 1; n <= multiple + 1; n++) {
        if (n == 1 || n > cfg->max_slice_nums) continue;
        for (int m = 1; m <= n; m++) {
            if (n % m) continue;
            double err = fabs(log_ratio - log((double)m / (double)(n / m)));
            if (err < best_err) { /* strict: the earlier grid wins ties, as in the Python loop */
                best_err = err;
                bc = m, br = n / m;
            }
        }
    }
    *cols = bc, *rows = br;
}

void fc_minicpmv_refine_size(const fc_minicpmv_slice_cfg *cfg, int w, int h, int cols, int rows, int *rw, int *rh) {
    int refine_w = ensure_divide(w, cols), refine_h = ensure_divide(h, rows);
    int bw, bh;
    fc_minicpmv_best_resize(cfg, (double)refine_w / cols, (double)refine_h / rows, true, &bw, &bh);
    *rw = bw * cols;
    *rh = bh * rows;
}

void fc_minicpmv_slices_free(fc_minicpmv_slices *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        if (s->u8) fc_image_free(&s->u8[i]);
        if (s->pixels) free(s->pixels[i]);
    }
    free(s->u8);
    free(s->pixels);
    free(s->tgt);
    memset(s, 0, sizeof *s);
}

/* x = f32(u8) / 255 in f32, then (x - mean) / std in f32: numpy's float32 arithmetic in the reference. */
static fc_err normalize_piece(const fc_image *img, const fc_minicpmv_slice_cfg *cfg, float **out) {
    size_t hw = (size_t)img->w * img->h, n;
    if (!fc_mul_size(hw, 3 * sizeof(float), &n)) return fc_err_set(FC_ENOMEM, "minicpmv: piece too large");
    float *o = fc_malloc(n, "minicpmv pixels");
    if (!o) return FC_ENOMEM;
    for (int c = 0; c < 3; c++) {
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = ((float)v / 255.0f - cfg->mean[c]) / cfg->std[c];
        for (size_t i = 0; i < hw; i++) o[(size_t)c * hw + i] = lut[img->rgb[3 * i + c]];
    }
    *out = o;
    return FC_OK;
}

/* Guards the arithmetic against sizes that would overflow an int: a resize target beyond the decoder's
 * pixel limit is refused (only pathological aspect ratios, such as 1 x 10^7, get there). */
static fc_err check_target(int w, int h, const char *what) {
    if ((int64_t)w * h > FC_IMAGE_MAX_PIXELS)
        return fc_err_set(FC_ESHAPE, "minicpmv: %s size %dx%d exceeds %lld pixels", what, w, h,
                          (long long)FC_IMAGE_MAX_PIXELS);
    return FC_OK;
}

fc_err fc_minicpmv_slice(const fc_image *img, const fc_minicpmv_slice_cfg *cfg, fc_minicpmv_slices *out) {
    memset(out, 0, sizeof *out);
    if (!img->rgb || img->w < 1 || img->h < 1) return fc_err_set(FC_EINVAL, "minicpmv: empty image");
    int cols = 0, rows = 0;
    if (cfg->slice_mode) fc_minicpmv_grid(cfg, img->w, img->h, &cols, &rows);
    int n = 1 + cols * rows;
    fc_err e = FC_OK;
    fc_image refine = {0};
    out->u8 = fc_calloc((size_t)n, sizeof *out->u8, "minicpmv slices");
    out->pixels = fc_calloc((size_t)n, sizeof *out->pixels, "minicpmv slices");
    out->tgt = fc_calloc((size_t)n, sizeof *out->tgt, "minicpmv slices");
    if (!out->u8 || !out->pixels || !out->tgt) {
        e = FC_ENOMEM;
        goto done;
    }
    out->n = n;
    out->grid_cols = cols, out->grid_rows = rows;
    if (!cfg->slice_mode) { /* the reference returns the image unchanged in this mode */
        e = fc_image_crop(&out->u8[0], img, 0, 0, img->w, img->h);
    } else {
        int bw, bh;
        fc_minicpmv_best_resize(cfg, img->w, img->h, cols == 0, &bw, &bh);
        if (!(e = check_target(bw, bh, "overview"))) e = fc_image_resize_bicubic_ex(&out->u8[0], img, bw, bh, 0, 0, bw, bh, cfg->order);
    }
    if (e) goto done;
    if (cols) {
        int rw, rh;
        fc_minicpmv_refine_size(cfg, img->w, img->h, cols, rows, &rw, &rh);
        if ((e = check_target(rw, rh, "refine"))) goto done;
        if ((e = fc_image_resize_bicubic_ex(&refine, img, rw, rh, 0, 0, rw, rh, cfg->order))) goto done;
        int gw = rw / cols, gh = rh / rows; /* split_to_patches: int(width / grid[0]) */
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                if ((e = fc_image_crop(&out->u8[1 + r * cols + c], &refine, c * gw, r * gh, gw, gh))) goto done;
    }
    for (int i = 0; i < n; i++) {
        if ((e = normalize_piece(&out->u8[i], cfg, &out->pixels[i]))) goto done;
        out->tgt[i][0] = out->u8[i].h / cfg->patch_size;
        out->tgt[i][1] = out->u8[i].w / cfg->patch_size;
    }
done:
    fc_image_free(&refine);
    if (e) fc_minicpmv_slices_free(out);
    return e;
}
