/* encode.h: 8-bit RGB -> PNG or JPEG files (the synthetic testbed writes its pictures with these).
 *
 * Both encode in memory and then write the file under a temporary name that is renamed into place, so a
 * killed run never leaves a half-written image. The output depends only on the pixels and the library
 * version (no timestamps, no metadata): the same pixels give the same bytes.
 */
#ifndef FC_IMAGE_ENCODE_H
#define FC_IMAGE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/err.h"

/* rgb: (h, w, 3) row-major. Writes an 8-bit RGB PNG (zlib level 6, no filters chosen adaptively: libpng's
 * defaults). FC_EINVAL for sizes outside 1..65535, FC_EIO naming the path when it cannot be written. */
fc_err fc_image_write_png(const char *path, const uint8_t *rgb, int w, int h);

/* Baseline JPEG through libjpeg at `quality` 1..100 (4:2:0 chroma, libjpeg's defaults otherwise). */
fc_err fc_image_write_jpeg(const char *path, const uint8_t *rgb, int w, int h, int quality);

#endif
