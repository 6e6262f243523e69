/* decode.h: the per-format decoders behind fc_image_load_mem (internal to core/image/).
 * Both take the whole file in memory, write *img only on success, and name `name` in every message. */
#ifndef FC_IMAGE_DECODE_H
#define FC_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/image/image.h"

fc_err fc_image_decode_jpeg(fc_image *img, const uint8_t *data, size_t n, const char *name);
fc_err fc_image_decode_png(fc_image *img, const uint8_t *data, size_t n, const char *name);

/* FC_ESHAPE naming `name` unless 1 <= w, h and w*h <= FC_IMAGE_MAX_PIXELS; decoders call it on the header
 * sizes before allocating anything. */
fc_err fc_image_check_size(int64_t w, int64_t h, const char *name);

#endif
