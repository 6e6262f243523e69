/* decode_png.c: PNG -> 8-bit RGB through libpng, matching what Pillow's own PNG reader + convert("RGB") give.
 *
 * Pillow's modes per PNG type, and what convert("RGB") then does (see image.h): palette -> colours (tRNS
 * ignored); grey 1/2/4-bit -> scaled to 0..255 by bit replication (Pillow's "1"/"L;2"/"L;4" unpackers and
 * libpng's expand agree); alpha dropped; 16-bit colour or grey+alpha -> high byte ("RGB;16B", "LA;16B");
 * 16-bit grey alone -> mode I;16, whose conversion to RGB clamps the value to 255.
 *
 * libpng's progressive ("push") reader is used because it fails the way Pillow fails: Pillow feeds the
 * IDAT data to zlib and is done once every row has come out, needing neither the rest of the zlib stream,
 * the chunk CRC nor IEND; a file that ends before the last row is "image file is truncated". With the push
 * reader we hand libpng the whole buffer, count the rows it delivers, and call the image complete at the
 * last row; a libpng error after that point (a damaged CRC or chunk after the image data) is ignored, as
 * Pillow never looks there. Its warnings (bad ancillary chunks) are ignored, as Pillow skips them too.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "core/base/mem.h"
#include "core/image/decode.h"

/* Locals that must keep their values across png_longjmp live in this struct (see decode_jpeg.c). */
typedef struct {
    png_structp png;
    png_infop info;
    const char *name;
    char msg[256];
    fc_err err;          /* set by a callback before it aborts libpng */
    int grey16;          /* 16-bit grey without alpha: clamped, not stripped */
    int channels;        /* after our transforms: 1..4 */
    size_t rowbytes;
    int last_pass;       /* the last Adam7 pass holding pixels (0 when not interlaced) */
    int last_row;        /* its last image row */
    uint8_t *buf;        /* interlaced only: (h, rowbytes), rows combined pass by pass */
    int done;            /* the last row has been delivered */
    fc_image out;
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
    png_job *job = png_get_error_ptr(png);
    if (job) snprintf(job->msg, sizeof job->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg;
}

/* Converts one row of libpng output (after our transforms) into RGB. */
static void row_to_rgb(uint8_t *dst, const uint8_t *row, int w, int channels, int grey16) {
    if (grey16) { /* big-endian 16-bit samples, clamped as Pillow's I;16 -> RGB */
        for (int x = 0; x < w; x++) {
            unsigned v = ((unsigned)row[2 * x] << 8) | row[2 * x + 1];
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = (uint8_t)(v > 255 ? 255 : v);
        }
        return;
    }
    switch (channels) {
    case 1:
    case 2:
        for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[channels * x];
        break;
    case 3: memcpy(dst, row, (size_t)w * 3); break;
    default:
        for (int x = 0; x < w; x++) memcpy(dst + 3 * x, row + 4 * x, 3);
        break;
    }
}

static void fail_in_callback(png_job *job, fc_err e) {
    job->err = e;
    png_longjmp(job->png, 1);
}

static void on_info(png_structp png, png_infop info) {
    png_job *job = png_get_progressive_ptr(png);
    png_uint_32 w32, h32;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w32, &h32, &depth, &ctype, &interlace, NULL, NULL);
    fc_err e = fc_image_check_size(w32, h32, job->name);
    if (e) fail_in_callback(job, e);
    int w = (int)w32, h = (int)h32;
    job->grey16 = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !job->grey16) png_set_strip_16(png); /* keeps the high byte, as "RGB;16B" */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    job->channels = png_get_channels(png, info);
    job->rowbytes = png_get_rowbytes(png, info);
    size_t want = (size_t)w * (size_t)(job->grey16 ? 2 : job->channels);
    if (job->channels < 1 || job->channels > 4 || job->rowbytes != want || (job->grey16 && job->channels != 1))
        fail_in_callback(job, fc_err_set(FC_EFORMAT, "%s: unexpected libpng row layout (%d channels, %zu bytes per row)",
                                         job->name, job->channels, job->rowbytes));
    job->last_pass = 0, job->last_row = h - 1;
    if (passes > 1) {
        for (int p = 0; p < 7; p++)
            if (PNG_PASS_COLS(w32, p) > 0 && PNG_PASS_ROWS(h32, p) > 0) job->last_pass = p;
        int y0 = PNG_PASS_START_ROW(job->last_pass), dy = PNG_PASS_ROW_OFFSET(job->last_pass);
        job->last_row = y0 + (h - 1 - y0) / dy * dy;
        size_t total;
        if (!fc_mul_size(job->rowbytes, (size_t)h, &total) || !(job->buf = fc_calloc(total, 1, "PNG interlaced image")))
            fail_in_callback(job, fc_err_prefix(FC_ENOMEM, "%s", job->name));
    }
    if ((e = fc_image_alloc(&job->out, w, h))) fail_in_callback(job, fc_err_prefix(e, "%s", job->name));
}

/* new_row is NULL for rows an interlace pass leaves unchanged. */
static void on_row(png_structp png, png_bytep new_row, png_uint_32 row_num, int pass) {
    png_job *job = png_get_progressive_ptr(png);
    if (job->done || row_num >= (png_uint_32)job->out.h) return;
    if (new_row) {
        uint8_t *dst = job->out.rgb + (size_t)row_num * job->out.w * 3;
        if (job->buf) {
            uint8_t *acc = job->buf + (size_t)row_num * job->rowbytes;
            png_progressive_combine_row(png, acc, new_row);
            row_to_rgb(dst, acc, job->out.w, job->channels, job->grey16);
        } else {
            row_to_rgb(dst, new_row, job->out.w, job->channels, job->grey16);
        }
    }
    if (pass == job->last_pass && (int)row_num >= job->last_row) job->done = 1;
}

static fc_err decode(png_job *job, const uint8_t *data, size_t n) {
    const char *name = job->name;
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    if (!job->png) return fc_err_set(FC_ENOMEM, "%s: libpng could not create a reader", name);
    job->info = png_create_info_struct(job->png);
    if (!job->info) return fc_err_set(FC_ENOMEM, "%s: libpng could not create an info struct", name);
    if (setjmp(png_jmpbuf(job->png))) {
        if (job->err) return job->err;   /* a callback's own error, message already set */
        if (job->done) return FC_OK;     /* damage after the image data: Pillow never reads it */
        return fc_err_set(FC_EFORMAT, "%s: corrupt PNG: %s", name, job->msg);
    }
    png_set_progressive_read_fn(job->png, job, on_info, on_row, NULL);
    png_process_data(job->png, job->info, (png_bytep)data, n);
    if (!job->done) {
        if (!job->out.rgb) return fc_err_set(FC_EFORMAT, "%s: image file is truncated (PNG header)", name);
        return fc_err_set(FC_EFORMAT, "%s: image file is truncated (PNG image data ends early)", name);
    }
    return FC_OK;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

fc_err fc_image_decode_png(fc_image *img, const uint8_t *data, size_t n, const char *name) {
    /* The size check comes before libpng reads on, as Pillow refuses a decompression bomb at open: the
     * first chunk after the signature must be IHDR (width, height at bytes 16..23). */
    if (n >= 24 && !memcmp(data + 12, "IHDR", 4)) FC_TRY(fc_image_check_size(be32(data + 16), be32(data + 20), name));
    png_job *job = fc_calloc(1, sizeof *job, "PNG decoder");
    if (!job) return fc_err_prefix(FC_ENOMEM, "%s", name);
    job->name = name;
    snprintf(job->msg, sizeof job->msg, "unknown libpng error");
    fc_err e = decode(job, data, n);
    if (job->png) png_destroy_read_struct(&job->png, job->info ? &job->info : NULL, NULL);
    free(job->buf);
    if (e == FC_OK)
        *img = job->out;
    else
        fc_image_free(&job->out);
    free(job);
    return e;
}
