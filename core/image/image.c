/* image.c: loading (file -> bytes -> the decoder its magic bytes name), allocation, crop. */
#include "core/image/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/image/decode.h"
#include "core/base/file.h"

/* An image file larger than this is refused before reading it: no JPEG/PNG within the pixel limit needs
 * more (a 179 Mpixel PNG stored uncompressed with 16-bit RGBA is ~1.4 GiB; we stop at 1 GiB). */
#define FC_IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

fc_err fc_image_check_size(int64_t w, int64_t h, const char *name) {
    if (w < 1 || h < 1) return fc_err_set(FC_EFORMAT, "%s: image size %lldx%lld is empty", name, (long long)w, (long long)h);
    if (w > FC_IMAGE_MAX_PIXELS || h > FC_IMAGE_MAX_PIXELS || w * h > FC_IMAGE_MAX_PIXELS)
        return fc_err_set(FC_ESHAPE, "%s: image size %lldx%lld exceeds the limit of %lld pixels (Pillow's decompression-bomb limit)",
                          name, (long long)w, (long long)h, (long long)FC_IMAGE_MAX_PIXELS);
    return FC_OK;
}

fc_err fc_image_alloc(fc_image *img, int w, int h) {
    memset(img, 0, sizeof *img);
    FC_TRY(fc_image_check_size(w, h, "image"));
    img->rgb = fc_malloc((size_t)w * (size_t)h * 3, "image pixels");
    if (!img->rgb) return FC_ENOMEM;
    img->w = w;
    img->h = h;
    return FC_OK;
}

void fc_image_free(fc_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

fc_err fc_image_load_mem(fc_image *img, const uint8_t *data, size_t n, const char *name) {
    memset(img, 0, sizeof *img);
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return fc_image_decode_jpeg(img, data, n, name);
    if (n >= 8 && !memcmp(data, png_sig, 8)) return fc_image_decode_png(img, data, n, name);
    if (n == 0) return fc_err_set(FC_EFORMAT, "%s: empty file, not an image", name);
    return fc_err_set(FC_EFORMAT, "%s: not a JPEG or PNG file (first bytes %02x %02x %02x %02x)", name, data[0],
                      n > 1 ? data[1] : 0, n > 2 ? data[2] : 0, n > 3 ? data[3] : 0);
}

fc_err fc_image_load(fc_image *img, const char *path) {
    memset(img, 0, sizeof *img);
    char *buf;
    size_t n;
    FC_TRY(fc_file_read(path, FC_IMAGE_MAX_FILE_BYTES, "images", &buf, &n));
    fc_err e = fc_image_load_mem(img, (const uint8_t *)buf, n, path);
    free(buf);
    return e;
}

fc_err fc_image_crop(fc_image *dst, const fc_image *src, int x, int y, int w, int h) {
    memset(dst, 0, sizeof *dst);
    if (x < 0 || y < 0 || w < 1 || h < 1 || x > src->w - w || y > src->h - h)
        return fc_err_set(FC_EINVAL, "crop %dx%d at (%d,%d) is outside the %dx%d image", w, h, x, y, src->w, src->h);
    FC_TRY(fc_image_alloc(dst, w, h));
    for (int r = 0; r < h; r++)
        memcpy(dst->rgb + (size_t)r * w * 3, src->rgb + ((size_t)(y + r) * src->w + x) * 3, (size_t)w * 3);
    return FC_OK;
}
