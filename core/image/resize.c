/* resize.c: Pillow's Image.resize(size, Image.BICUBIC) for 8-bit RGB, bit for bit.
 *
 * This follows the algorithm of Pillow's src/libImaging/Resample.c (described in
 * ../shared/reference/model-architectures.md §1; no code copied): Keys cubic kernel with a = -0.5 and
 * support 2, widened by the scale when shrinking (antialiasing); per output pixel, taps xmin..xmin+n from
 * `center = (i + 0.5) * scale` and weights normalised to sum 1 in double, then converted to fixed point with
 * 22 fractional bits (rounded half away from zero); accumulation starts at 1 << 21 and the result is the
 * sum >> 22 clamped to 0..255. Two passes through an 8-bit temporary (order: Pillow 13's rule, see
 * vertical_first); a pass whose size does not change is skipped. The double arithmetic must be evaluated
 * exactly as written (no FMA contraction): -std=c11 keeps GCC's -ffp-contract=off, and no -ffast-math is
 * used anywhere.
 */
#include <math.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/image/image.h"

#define PRECISION_BITS 22 /* 32 - 8 bits of the sample - 2 bits of headroom, as Pillow */

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Filter taps for output positions o0 .. o0+n-1 of a 1-D resize in_size -> out_size. */
typedef struct {
    int ksize;    /* taps reserved per output position */
    int *first;   /* (n) first input index */
    int *count;   /* (n) number of taps */
    int32_t *k;   /* (n, ksize) fixed-point weights */
} taps;

static void taps_free(taps *t) {
    free(t->first);
    free(t->count);
    free(t->k);
    memset(t, 0, sizeof *t);
}

static fc_err taps_make(taps *t, int in_size, int out_size, int o0, int n) {
    memset(t, 0, sizeof *t);
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    double ss = 1.0 / filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    size_t nk;
    double *w = NULL;
    if (!fc_mul_size((size_t)n, (size_t)t->ksize, &nk)) return fc_err_set(FC_ENOMEM, "resize %d -> %d: too many taps", in_size, out_size);
    t->first = fc_malloc((size_t)n * sizeof *t->first, "resize taps");
    t->count = fc_malloc((size_t)n * sizeof *t->count, "resize taps");
    t->k = fc_calloc(nk, sizeof *t->k, "resize taps");
    w = fc_malloc((size_t)t->ksize * sizeof *w, "resize taps");
    if (!t->first || !t->count || !t->k || !w) {
        free(w);
        taps_free(t);
        return FC_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        int xx = o0 + i;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = bicubic((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = t->k + (size_t)i * t->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->first[i] = xmin;
        t->count[i] = xmax;
    }
    free(w);
    return FC_OK;
}

static inline uint8_t clip8(int v) {
    if (v < 0) return 0;
    v >>= PRECISION_BITS;
    return (uint8_t)(v > 255 ? 255 : v);
}

/* dst: (rows, n, 3). Row y reads src row y_first + y (src is src_w pixels wide); tap indices are shifted
 * by -x_shift (the first column src holds). */
static void pass_horizontal(uint8_t *dst, const uint8_t *src, int src_w, int x_shift, int y_first, int rows,
                            const taps *t, int n) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)(y_first + y) * src_w * 3;
        uint8_t *out = dst + (size_t)y * n * 3;
        for (int i = 0; i < n; i++) {
            const int32_t *k = t->k + (size_t)i * t->ksize;
            const uint8_t *p = in + (size_t)(t->first[i] - x_shift) * 3;
            int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < t->count[i]; x++) {
                s0 += p[3 * x] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            out[3 * i] = clip8(s0);
            out[3 * i + 1] = clip8(s1);
            out[3 * i + 2] = clip8(s2);
        }
    }
}

/* dst: (n, w, 3). Output row i reads src rows t->first[i] - y_first .. (src is src_w pixels wide), columns
 * x_first .. x_first + w. acc: (w * 3) scratch. Rows are accumulated whole (tap-outer, byte-inner) so the
 * inner loop runs over contiguous bytes; integer sums are exact, so the order does not change the result. */
static void pass_vertical(uint8_t *dst, int w, const uint8_t *src, int src_w, int x_first, int y_first,
                          const taps *t, int n, int32_t *acc) {
    size_t stride = (size_t)src_w * 3, wb = (size_t)w * 3;
    for (int i = 0; i < n; i++) {
        const int32_t *k = t->k + (size_t)i * t->ksize;
        const uint8_t *row0 = src + (size_t)(t->first[i] - y_first) * stride + (size_t)x_first * 3;
        for (size_t c = 0; c < wb; c++) acc[c] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < t->count[i]; y++) {
            const uint8_t *row = row0 + (size_t)y * stride;
            int32_t ky = k[y];
            for (size_t c = 0; c < wb; c++) acc[c] += row[c] * ky;
        }
        uint8_t *out = dst + (size_t)i * wb;
        for (size_t c = 0; c < wb; c++) out[c] = clip8(acc[c]);
    }
}

/* Which pass runs first, from Pillow 13.0.0's src/libImaging/Resample.c, function ImagingResampleInner
 * (python-pillow/Pillow PR #9549, "If height is scaled down significantly more than width, resize
 * vertically first"): the vertical pass runs first exactly when the height shrinks and it loses more than
 * twice as many pixels as the width does,
 *     dh > 0 && dh > 2 * dw    with dh = src_h - out_h, dw = src_w - out_w (pixels, not ratios),
 * so a width that grows (dw < 0) or stays (dw = 0) never blocks it. The rule looks at the whole resize
 * (src -> out_w x out_h), not at the window computed here, as Pillow resizes the whole image before the
 * processor crops. Differences are taken in 64 bits (Pillow's int arithmetic cannot overflow for the sizes
 * it accepts; ours must not either). FC_RESIZE_H_FIRST: Pillow < 12.2, horizontal first always. */
static int vertical_first(const fc_image *src, int out_w, int out_h, fc_resize_order order) {
    if (order != FC_RESIZE_PILLOW) return 0;
    int64_t dh = (int64_t)src->h - out_h, dw = (int64_t)src->w - out_w;
    return dh > 0 && dh > 2 * dw;
}

fc_err fc_image_resize_bicubic_ex(fc_image *dst, const fc_image *src, int out_w, int out_h, int x0, int y0,
                                  int win_w, int win_h, fc_resize_order order) {
    memset(dst, 0, sizeof *dst);
    if (!src->rgb || src->w < 1 || src->h < 1) return fc_err_set(FC_EINVAL, "resize: empty source image");
    if (out_w < 1 || out_h < 1) return fc_err_set(FC_EINVAL, "resize: target size %dx%d is empty", out_w, out_h);
    if (x0 < 0 || y0 < 0 || win_w < 1 || win_h < 1 || x0 > out_w - win_w || y0 > out_h - win_h)
        return fc_err_set(FC_EINVAL, "resize: window %dx%d at (%d,%d) is outside the %dx%d result", win_w, win_h, x0,
                          y0, out_w, out_h);
    int need_h = out_w != src->w, need_v = out_h != src->h;
    taps th = {0}, tv = {0};
    fc_image tmp = {0};
    int32_t *acc = NULL;
    fc_err e = FC_OK;
    if (need_v && (e = taps_make(&tv, src->h, out_h, y0, win_h))) goto done;
    if (need_h && (e = taps_make(&th, src->w, out_w, x0, win_w))) goto done;
    if (need_v && vertical_first(src, out_w, out_h, order)) {
        /* vertical over the source columns the horizontal taps read, then horizontal */
        int x_first = need_h ? th.first[0] : x0;
        int x_last = need_h ? th.first[win_w - 1] + th.count[win_w - 1] : x0 + win_w;
        if ((e = fc_image_alloc(&tmp, x_last - x_first, win_h))) goto done;
        if (!(acc = fc_malloc((size_t)tmp.w * 3 * sizeof *acc, "resize row"))) {
            e = FC_ENOMEM;
            goto done;
        }
        pass_vertical(tmp.rgb, tmp.w, src->rgb, src->w, x_first, 0, &tv, win_h, acc);
        if (!need_h) {
            *dst = tmp;
            tmp.rgb = NULL;
            goto done;
        }
        if ((e = fc_image_alloc(dst, win_w, win_h))) goto done;
        pass_horizontal(dst->rgb, tmp.rgb, tmp.w, x_first, 0, win_h, &th, win_w);
        goto done;
    }
    /* horizontal over the source rows the vertical taps read, then vertical */
    int y_first = need_v ? tv.first[0] : y0;
    int y_last = need_v ? tv.first[win_h - 1] + tv.count[win_h - 1] : y0 + win_h;
    if ((e = fc_image_alloc(&tmp, win_w, y_last - y_first))) goto done;
    if (need_h) {
        pass_horizontal(tmp.rgb, src->rgb, src->w, 0, y_first, tmp.h, &th, win_w);
    } else {
        for (int y = 0; y < tmp.h; y++)
            memcpy(tmp.rgb + (size_t)y * win_w * 3, src->rgb + ((size_t)(y_first + y) * src->w + x0) * 3,
                   (size_t)win_w * 3);
    }
    if (!need_v) { /* tmp already holds rows y0 .. y0+win_h */
        *dst = tmp;
        tmp.rgb = NULL;
        goto done;
    }
    if ((e = fc_image_alloc(dst, win_w, win_h))) goto done;
    if (!(acc = fc_malloc((size_t)win_w * 3 * sizeof *acc, "resize row"))) {
        e = FC_ENOMEM;
        goto done;
    }
    pass_vertical(dst->rgb, win_w, tmp.rgb, win_w, 0, y_first, &tv, win_h, acc);
done:
    taps_free(&th);
    taps_free(&tv);
    fc_image_free(&tmp);
    free(acc);
    if (e) fc_image_free(dst);
    return e;
}

fc_err fc_image_resize_bicubic_window(fc_image *dst, const fc_image *src, int out_w, int out_h, int x0, int y0,
                                      int win_w, int win_h) {
    return fc_image_resize_bicubic_ex(dst, src, out_w, out_h, x0, y0, win_w, win_h, FC_RESIZE_PILLOW);
}

fc_err fc_image_resize_bicubic(fc_image *dst, const fc_image *src, int out_w, int out_h) {
    return fc_image_resize_bicubic_window(dst, src, out_w, out_h, 0, 0, out_w, out_h);
}
