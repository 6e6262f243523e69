/* decode_jpeg.c: JPEG -> 8-bit RGB through libjpeg(-turbo), matching Pillow's JpegDecode.c + convert("RGB").
 *
 * Pillow leaves libjpeg's defaults alone (ISLOW IDCT, fancy upsampling, no scaling) and asks for L, RGB or
 * CMYK output by the number of components; so do we, which gives the same pixels as the libjpeg-turbo
 * that Pillow's wheels bundle (checked on the 66 GQA images). Two things differ from a plain libjpeg loop:
 * - libjpeg's error_exit calls exit(); ours longjmps back and turns the message into FC_EFORMAT.
 * - Truncation is decided the way Pillow decides it: Pillow feeds libjpeg through a suspending source and
 *   raises "image file is truncated" when libjpeg asks for more bytes than the file has before the last
 *   scanline is out (it does not need the EOI marker). Our source suspends the same way when the buffer
 *   is exhausted (libjpeg's own memory source would instead invent an EOI and return grey rows).
 *   Pillow ignores libjpeg's warnings about corrupt-but-decodable data, and so do we.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h> /* needs stdio.h and stddef.h first */

#include "core/base/mem.h"
#include "core/image/decode.h"

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to this struct */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err_ctx;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_err_ctx *ctx = (jpeg_err_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

/* Warnings (level -1) and trace messages are not printed, as in Pillow. */
static void on_emit_message(j_common_ptr cinfo, int level) {
    (void)cinfo, (void)level;
}

/* A source holding the whole file: once it is consumed, libjpeg's requests for more data suspend. */
static void src_init(j_decompress_ptr ci) {
    (void)ci;
}
static boolean src_fill(j_decompress_ptr ci) {
    (void)ci;
    return FALSE;
}
static void src_skip(j_decompress_ptr ci, long n) {
    struct jpeg_source_mgr *s = ci->src;
    if (n <= 0) return;
    if ((size_t)n > s->bytes_in_buffer) n = (long)s->bytes_in_buffer; /* the next fill then suspends */
    s->next_input_byte += n;
    s->bytes_in_buffer -= (size_t)n;
}
static void src_term(j_decompress_ptr ci) {
    (void)ci;
}

/* Pillow's Convert.c cmyk2rgb applied to Pillow's "CMYK;I" reading of the samples (it assumes Adobe
 * polarity for every CMYK JPEG and stores 255 - v): with nk = 255 - K, each of R, G, B is
 * nk - MULDIV255(C, nk), clamped at 0, where MULDIV255 is Pillow's rounded a*b/255. */
static inline int muldiv255(int a, int b) {
    int tmp = a * b + 128;
    return ((tmp >> 8) + tmp) >> 8;
}

static void cmyk_row_to_rgb(uint8_t *rgb, const uint8_t *raw, int w) {
    for (int x = 0; x < w; x++) {
        int nk = raw[4 * x + 3]; /* 255 - K with K = 255 - raw */
        for (int c = 0; c < 3; c++) {
            int v = nk - muldiv255(255 - raw[4 * x + c], nk);
            rgb[3 * x + c] = (uint8_t)(v < 0 ? 0 : v);
        }
    }
}

/* The state that must survive the longjmp lives in a struct the caller owns, not in locals of the
 * function that called setjmp (those are indeterminate after longjmp unless volatile). */
typedef struct {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_source_mgr src;
    jpeg_err_ctx err;
    uint8_t *row;     /* one decoded row (w * components) */
    fc_image out;
} jpeg_job;

static fc_err decode(jpeg_job *job, const uint8_t *data, size_t n, const char *name) {
    struct jpeg_decompress_struct *ci = &job->cinfo;
    ci->err = jpeg_std_error(&job->err.pub);
    job->err.pub.error_exit = on_error_exit;
    job->err.pub.emit_message = on_emit_message;
    if (setjmp(job->err.jump)) return fc_err_set(FC_EFORMAT, "%s: corrupt JPEG: %s", name, job->err.msg);
    jpeg_create_decompress(ci);
    job->src.next_input_byte = data;
    job->src.bytes_in_buffer = n;
    job->src.init_source = src_init;
    job->src.fill_input_buffer = src_fill;
    job->src.skip_input_data = src_skip;
    job->src.resync_to_restart = jpeg_resync_to_restart;
    job->src.term_source = src_term;
    ci->src = &job->src;
    if (jpeg_read_header(ci, TRUE) == JPEG_SUSPENDED)
        return fc_err_set(FC_EFORMAT, "%s: image file is truncated (JPEG header)", name);
    FC_TRY(fc_image_check_size(ci->image_width, ci->image_height, name));
    int ncomp = ci->num_components;
    /* Pillow picks its mode from the component count alone: 1 -> L, 3 -> RGB, 4 -> CMYK */
    if (ncomp == 1)
        ci->out_color_space = JCS_GRAYSCALE;
    else if (ncomp == 3)
        ci->out_color_space = JCS_RGB;
    else if (ncomp == 4)
        ci->out_color_space = JCS_CMYK;
    else
        return fc_err_set(FC_EUNSUPPORTED, "%s: JPEG with %d components (Pillow opens 1, 3 or 4)", name, ncomp);
    if (!jpeg_start_decompress(ci)) /* suspended: a progressive file reads every scan here */
        return fc_err_set(FC_EFORMAT, "%s: image file is truncated (JPEG scans end early)", name);
    int w = (int)ci->output_width, h = (int)ci->output_height;
    if (ci->output_components != ncomp)
        return fc_err_set(FC_EFORMAT, "%s: libjpeg gave %d output components for %d", name, ci->output_components, ncomp);
    FC_TRY(fc_image_alloc(&job->out, w, h));
    job->row = fc_malloc((size_t)w * (size_t)ncomp, "JPEG row");
    if (!job->row) return fc_err_prefix(FC_ENOMEM, "%s", name);
    while (ci->output_scanline < ci->output_height) {
        int y = (int)ci->output_scanline;
        JSAMPROW rows[1] = {job->row};
        if (jpeg_read_scanlines(ci, rows, 1) != 1) /* suspended */
            return fc_err_set(FC_EFORMAT, "%s: image file is truncated (at row %d of %d)", name, y, h);
        uint8_t *dst = job->out.rgb + (size_t)y * w * 3;
        if (ncomp == 3) {
            memcpy(dst, job->row, (size_t)w * 3);
        } else if (ncomp == 1) {
            for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = job->row[x];
        } else {
            cmyk_row_to_rgb(dst, job->row, w);
        }
    }
    return FC_OK;
}

fc_err fc_image_decode_jpeg(fc_image *img, const uint8_t *data, size_t n, const char *name) {
    jpeg_job *job = fc_calloc(1, sizeof *job, "JPEG decoder");
    if (!job) return fc_err_prefix(FC_ENOMEM, "%s", name);
    fc_err e = decode(job, data, n, name);
    jpeg_destroy_decompress(&job->cinfo); /* a no-op while cinfo.mem is NULL (calloc'd, create never ran) */
    free(job->row);
    if (e == FC_OK)
        *img = job->out;
    else
        fc_image_free(&job->out);
    free(job);
    return e;
}
