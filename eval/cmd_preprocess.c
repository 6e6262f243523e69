/* cmd_preprocess.c: `fc-eval preprocess`: an image file -> the pixel tensors the vision encoder receives,
 * exactly as the model's reference processor makes them, written to safetensors for inspection and for
 * comparing with Python. LLaVA: "pixel_values" f32 [1,3,336,336]. MiniCPM-V: "pixel_values.<i>" f32
 * [3,H,W] per piece (overview first, then the slices row by row) and "tgt_sizes" i32 [n,2] (H/14, W/14);
 * the slice grid goes in the metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/mem.h"
#include "core/image/image.h"
#include "core/image/preprocess.h"
#include "core/io/safetensors.h"
#include "eval/commands.h"

static fc_err write_llava(const fc_image *img, const fc_clip_preproc_cfg *cfg, const char *image, const char *out) {
    int h, w;
    FC_TRY(fc_clip_output_size(img, cfg, &h, &w));
    size_t n;
    if (!fc_mul_size((size_t)h * (size_t)w, 3 * sizeof(float), &n)) return fc_err_set(FC_ENOMEM, "pixel tensor too large");
    float *px = fc_malloc(n, "pixel_values");
    if (!px) return FC_ENOMEM;
    fc_st_writer *wr = NULL;
    fc_err e = fc_clip_preprocess(img, cfg, px);
    char buf[64];
    if (!e) e = fc_st_writer_create(&wr);
    if (!e) e = fc_st_writer_add(wr, "pixel_values", FC_DTYPE_F32, 4, (const int64_t[]){1, 3, h, w}, px);
    if (!e) e = fc_st_writer_meta(wr, "model_type", "llava");
    if (!e) e = fc_st_writer_meta(wr, "image", image);
    snprintf(buf, sizeof buf, "%dx%d", img->w, img->h);
    if (!e) e = fc_st_writer_meta(wr, "image_size", buf);
    if (!e) e = fc_st_writer_meta(wr, "pad_to_square", cfg->pad_to_square ? "true" : "false");
    if (!e) e = fc_st_writer_meta(wr, "resize_order", cfg->order == FC_RESIZE_H_FIRST ? "pillow<12.2" : "pillow>=13");
    if (!e) e = fc_st_writer_write(wr, out);
    if (!e) printf("llava: %s %dx%d -> pixel_values [1,3,%d,%d] -> %s\n", image, img->w, img->h, h, w, out);
    fc_st_writer_free(wr);
    free(px);
    return e;
}

static fc_err write_minicpmv(const fc_image *img, const fc_minicpmv_slice_cfg *cfg, const char *image, const char *out) {
    fc_minicpmv_slices sl;
    FC_TRY(fc_minicpmv_slice(img, cfg, &sl));
    fc_st_writer *wr = NULL;
    int32_t *tgt = fc_malloc((size_t)sl.n * 2 * sizeof(int32_t), "tgt_sizes");
    fc_err e = tgt ? fc_st_writer_create(&wr) : FC_ENOMEM;
    char name[32], buf[64];
    for (int i = 0; !e && i < sl.n; i++) {
        snprintf(name, sizeof name, "pixel_values.%d", i);
        e = fc_st_writer_add(wr, name, FC_DTYPE_F32, 3, (const int64_t[]){3, sl.u8[i].h, sl.u8[i].w}, sl.pixels[i]);
        tgt[2 * i] = sl.tgt[i][0];
        tgt[2 * i + 1] = sl.tgt[i][1];
    }
    if (!e) e = fc_st_writer_add(wr, "tgt_sizes", FC_DTYPE_I32, 2, (const int64_t[]){sl.n, 2}, tgt);
    if (!e) e = fc_st_writer_meta(wr, "model_type", "minicpmv");
    if (!e) e = fc_st_writer_meta(wr, "image", image);
    snprintf(buf, sizeof buf, "%dx%d", img->w, img->h);
    if (!e) e = fc_st_writer_meta(wr, "image_size", buf);
    snprintf(buf, sizeof buf, "%d,%d", sl.grid_cols, sl.grid_rows);
    if (!e) e = fc_st_writer_meta(wr, "grid", buf); /* cols,rows; 0,0 when unsliced */
    snprintf(buf, sizeof buf, "%d", sl.n);
    if (!e) e = fc_st_writer_meta(wr, "n_pieces", buf);
    if (!e) e = fc_st_writer_meta(wr, "resize_order", cfg->order == FC_RESIZE_H_FIRST ? "pillow<12.2" : "pillow>=13");
    if (!e) e = fc_st_writer_write(wr, out);
    if (!e) {
        printf("minicpmv: %s %dx%d -> grid %dx%d, %d piece%s:", image, img->w, img->h, sl.grid_cols, sl.grid_rows,
               sl.n, sl.n == 1 ? "" : "s");
        for (int i = 0; i < sl.n; i++) printf(" %dx%d", sl.u8[i].w, sl.u8[i].h);
        printf(" -> %s\n", out);
    }
    fc_st_writer_free(wr);
    free(tgt);
    fc_minicpmv_slices_free(&sl);
    return e;
}

static const fc_cli_option options[] = {
    {"--model", "DIR", 1,
     "model folder: its config.json / preprocessor_config.json pick the processor and\n"
     "its settings (llava-hf CLIPImageProcessor, or MiniCPM-V-2.6 slicing)"},
    {"--model-type", "T", 1, "llava or minicpmv: overrides the detection (without --model: default settings)"},
    {"--image", "FILE", 1, "the image (JPEG or PNG)"},
    {"--out", "FILE", 1,
     "output .safetensors: LLaVA 'pixel_values' [1,3,336,336]; MiniCPM-V\n"
     "'pixel_values.0..n-1' [3,H,W] (overview first) and 'tgt_sizes' i32 [n,2]"},
    {"--pad", NULL, 1,
     "LLaVA only: expand2square with the mean colour first (original LLaVA-1.5\n"
     "'pad' mode; the HF processor does not do it)"},
    {"--legacy-resize", NULL, 1,
     "Pillow < 12.2's bicubic pass order (horizontal pass always first), as the\n"
     "Pillow 10.1 pinned by MiniCPM-V's README, for inputs preprocessed with it.\n"
     "Default: Pillow 13's order (vertical pass first when the height loses more\n"
     "than twice as many pixels as the width); only such resizes differ (tall images)"},
    {0}};

static int cmd_preprocess(const fc_cli_args *a) {
    const char *model = fc_cli_value(a, "--model"), *type = fc_cli_value(a, "--model-type");
    const char *image = fc_cli_value(a, "--image"), *out = fc_cli_value(a, "--out");
    bool pad = fc_cli_flag(a, "--pad"), legacy = fc_cli_flag(a, "--legacy-resize");
    if (!model && !type) return fc_cli_error("preprocess: give --model DIR or --model-type llava|minicpmv"), 2;
    if (!image) return fc_cli_error("preprocess: --image FILE is required"), 2;
    if (!out) return fc_cli_error("preprocess: --out FILE.safetensors is required"), 2;
    fc_preproc_kind kind = FC_PREPROC_NONE;
    if (type) {
        if (!strcmp(type, "llava")) kind = FC_PREPROC_LLAVA;
        else if (!strcmp(type, "minicpmv")) kind = FC_PREPROC_MINICPMV;
        else return fc_cli_error("preprocess: --model-type: '%s' is not llava or minicpmv", type), 2;
    }
    fc_err e;
    if (!kind && (e = fc_preproc_detect_kind(model, &kind))) return fc_cli_fail(e);
    if (pad && kind != FC_PREPROC_LLAVA) return fc_cli_error("preprocess: --pad applies to LLaVA only"), 2;
    fc_clip_preproc_cfg clip;
    fc_minicpmv_slice_cfg mcv;
    if (model) {
        if ((e = fc_preproc_config_load(model, kind, &clip, &mcv))) return fc_cli_fail(e);
    } else if (kind == FC_PREPROC_LLAVA) {
        fc_clip_preproc_cfg_default(&clip);
    } else {
        fc_minicpmv_slice_cfg_default(&mcv);
    }
    if (pad) clip.pad_to_square = true;
    if (legacy) clip.order = mcv.order = FC_RESIZE_H_FIRST; /* only the chosen kind's settings are used */
    fc_image img;
    if ((e = fc_image_load(&img, image))) return fc_cli_fail(e);
    e = kind == FC_PREPROC_LLAVA ? write_llava(&img, &clip, image, out) : write_minicpmv(&img, &mcv, image, out);
    fc_image_free(&img);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_preprocess = {
    "preprocess", cmd_preprocess, "an image -> the encoder's pixel tensors (LLaVA CLIP / MiniCPM-V slices), to safetensors",
    "(--model DIR | --model-type llava|minicpmv) --image FILE --out FILE.safetensors\n"
    "                          [--pad] [--legacy-resize]",
    "Decodes a JPEG/PNG as Pillow does and writes the encoder's pixel tensors (f32, CHW).", options, 0, NULL};
