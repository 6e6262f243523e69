/* encode.c: PNG and JPEG writers (encode.h). libpng and libjpeg report errors by longjmp; the state that
 * must survive it lives in a struct, as in the decoders. */
#include "core/image/encode.h"

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/file.h"
#include "core/base/mem.h"

static fc_err check_size(const char *path, int w, int h) {
    if (w < 1 || h < 1 || w > 65535 || h > 65535)
        return fc_err_set(FC_EINVAL, "%s: cannot encode a %dx%d image (want 1..65535 a side)", path, w, h);
    return FC_OK;
}

/* ---- PNG ---- */
typedef struct {
    uint8_t *buf;
    size_t n, cap;
    int oom;
    char msg[200];
} png_sink;

static void png_put(png_structp png, png_bytep data, png_size_t n) {
    png_sink *s = png_get_io_ptr(png);
    if (s->oom) return;
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->n + n) cap *= 2;
        uint8_t *p = realloc(s->buf, cap);
        if (!p) {
            s->oom = 1;
            return;
        }
        s->buf = p, s->cap = cap;
    }
    memcpy(s->buf + s->n, data, n);
    s->n += n;
}

static void png_flush_nop(png_structp png) { (void)png; }

static void png_on_error(png_structp png, png_const_charp msg) {
    png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

fc_err fc_image_write_png(const char *path, const uint8_t *rgb, int w, int h) {
    FC_TRY(check_size(path, w, h));
    png_sink sink = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return fc_err_set(FC_ENOMEM, "%s: libpng could not start", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(sink.buf);
        return fc_err_set(FC_EIO, "%s: libpng: %s", path, sink.msg);
    }
    png_set_write_fn(png, &sink, png_put, png_flush_nop);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * w * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fc_err e = sink.oom ? fc_err_set(FC_ENOMEM, "%s: out of memory encoding the PNG", path)
                        : fc_file_write_atomic(path, sink.buf, sink.n);
    free(sink.buf);
    return e;
}

/* ---- JPEG ---- */
typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    unsigned char *out; /* jpeg_mem_dest's buffer: here, not in a local, so it is still known after a longjmp */
    unsigned long n;
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

fc_err fc_image_write_jpeg(const char *path, const uint8_t *rgb, int w, int h, int quality) {
    FC_TRY(check_size(path, w, h));
    if (quality < 1 || quality > 100) return fc_err_set(FC_EINVAL, "%s: JPEG quality %d (want 1..100)", path, quality);
    struct jpeg_compress_struct c;
    jpeg_err err = {.out = NULL, .n = 0};
    c.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    if (setjmp(err.jmp)) {
        jpeg_destroy_compress(&c);
        free(err.out);
        return fc_err_set(FC_EIO, "%s: libjpeg: %s", path, err.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &err.out, &err.n);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fc_err e = fc_file_write_atomic(path, err.out, err.n);
    free(err.out);
    return e;
}
