/* image.h: 8-bit RGB images: decode JPEG/PNG files the way Pillow's `Image.open(p).convert("RGB")` does,
 * crop, and resize with Pillow's BICUBIC filter bit for bit.
 *
 * What "as Pillow does" means here (each point checked against Pillow 13 by tests/unit/test_image.c):
 * - JPEG through libjpeg(-turbo) with its defaults (ISLOW IDCT, fancy upsampling), as Pillow's decoder
 *   uses them. Grey -> (v,v,v); CMYK/YCCK -> RGB with Pillow's cmyk2rgb (Adobe files are stored inverted,
 *   Pillow reads them as "CMYK;I"). A file that ends before the image data does is an error, as Pillow's
 *   "image file is truncated"; libjpeg's warnings about corrupt-but-decodable data are ignored, as in Pillow.
 * - PNG through libpng: palette -> its RGB colours, grey 1/2/4-bit scaled to 8 bits, alpha and tRNS dropped
 *   (convert("RGB") drops alpha, it does not composite), 16-bit RGB(A)/LA keep the high byte (Pillow's
 *   "RGB;16B" unpackers), 16-bit grey without alpha is clamped to 255 (Pillow's I;16 -> RGB conversion:
 *   a value of 300 becomes 255, not 300>>8 = 1). Gamma, sBIT and ICC profiles are ignored, as in Pillow.
 * - EXIF orientation is not applied (convert() does not apply it).
 * - Images with more pixels than Pillow's decompression-bomb limit (2 * 89478485) are refused before any
 *   pixel buffer is allocated, as Pillow refuses them.
 */
#ifndef FC_IMAGE_H
#define FC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* Pillow's Image.MAX_IMAGE_PIXELS is 89478485; above twice that, Image.open raises DecompressionBombError. */
#define FC_IMAGE_MAX_PIXELS ((int64_t)2 * 89478485)

typedef struct {
    int w, h;      /* width and height in pixels, both >= 1 for a loaded image */
    uint8_t *rgb;  /* (h, w, 3) interleaved RGB, row-major, owned by the image */
} fc_image;

/* Decodes the JPEG or PNG file at `path` (the kind comes from the magic bytes, not the name) into *img.
 * Errors: FC_EIO (cannot open/read), FC_EFORMAT (not JPEG/PNG, corrupt or truncated), FC_EUNSUPPORTED
 * (a JPEG colour space Pillow does not open either), FC_ESHAPE (too many pixels), FC_ENOMEM; every message
 * starts with the path. On failure *img is empty (fc_image_free accepts it). The caller frees *img. */
fc_err fc_image_load(fc_image *img, const char *path);

/* Same from a buffer of `n` bytes; `name` is only used in messages. */
fc_err fc_image_load_mem(fc_image *img, const uint8_t *data, size_t n, const char *name);

/* Allocates an uninitialised w x h image (1 <= w, h and w*h <= FC_IMAGE_MAX_PIXELS). */
fc_err fc_image_alloc(fc_image *img, int w, int h);

/* Releases the pixels and zeroes *img; accepts NULL and an empty image. */
void fc_image_free(fc_image *img);

/* *dst = the w x h region of src at (x, y), which must lie inside src (FC_EINVAL otherwise). */
fc_err fc_image_crop(fc_image *dst, const fc_image *src, int x, int y, int w, int h);

/* *dst = src resized to out_w x out_h with Pillow's Image.resize(size, BICUBIC) (no box, no reducing_gap):
 * the two-pass 8-bit fixed-point resampler of Pillow's libImaging/Resample.c. Same size gives a copy, as
 * Pillow does. Target size bounded as the decoder's input (FC_ESHAPE). */
fc_err fc_image_resize_bicubic(fc_image *dst, const fc_image *src, int out_w, int out_h);

/* Which of the two passes runs first. The 8-bit intermediate differs, so the pixels do (noise images of
 * 200x3000 -> 112x1736 and 400x1300 -> 336x1092: 23% and 30% of the bytes, by up to 9 and 21 levels; one
 * GQA photo by up to 14, mostly by 1). Pillow's order by version:
 * - Pillow < 12.2: horizontal first always (FC_RESIZE_H_FIRST, `--legacy-resize`; checked against 12.1.1;
 *   MiniCPM-V-2.6's README pins Pillow 10.1, which predates the change);
 * - Pillow 12.2.x: horizontal first, except images taller than 100x their width that shrink vertically,
 *   which Image.resize (Python) resized vertically first (not reproduced here);
 * - Pillow 13.0 (FC_RESIZE_PILLOW, the default and the fixtures; read at 13.0.0): vertical first exactly
 *   when the height shrinks by more than twice as many pixels as the width does: src_h - out_h > 0 and
 *   src_h - out_h > 2 * (src_w - out_w) (Resample.c, ImagingResampleInner; Pillow PR #9549).
 * Both image pipelines are affected: CLIP's shortest-edge resize of a tall image wider than 336 pixels
 * (e.g. 400x1300 -> 336x1092) and MiniCPM-V's overview/refine resizes of tall images (200x3000 -> 112x1736). */
typedef enum { FC_RESIZE_PILLOW = 0, FC_RESIZE_H_FIRST } fc_resize_order;

/* As fc_image_resize_bicubic_window, with the pass order chosen explicitly. */
fc_err fc_image_resize_bicubic_ex(fc_image *dst, const fc_image *src, int out_w, int out_h, int x0, int y0,
                                  int win_w, int win_h, fc_resize_order order);

/* The (x0, y0, win_w, win_h) window of what fc_image_resize_bicubic(src, out_w, out_h) would give, computed
 * without making the whole resized image. Each output pixel depends only on its own filter taps, so the
 * window equals the crop of the full result exactly; the CLIP processor uses it to resize-then-center-crop
 * very elongated images without allocating the whole resized strip. The window must lie inside out_w x
 * out_h (FC_EINVAL). */
fc_err fc_image_resize_bicubic_window(fc_image *dst, const fc_image *src, int out_w, int out_h, int x0, int y0,
                                      int win_w, int win_h);

#endif
