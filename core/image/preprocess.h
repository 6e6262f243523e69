/* preprocess.h: the pixel tensors each vision encoder receives, made exactly as the reference processors
 * make them (../shared/reference/model-architectures.md §2.3 and §3.3).
 *
 * - LLaVA-1.5 (transformers CLIPImageProcessor, slow/PIL path): resize so the shortest edge is 336 (long
 *   edge int(336*long/short)), center crop 336x336 (offsets (H-336)//2, (W-336)//2; zero padding when the
 *   image is smaller, as transformers' center_crop), rescale in f64 then cast to f32, normalise in f32, CHW.
 *   Optional expand2square (LLaVA's original "pad" aspect mode) first; off by default, as in llava-hf.
 * - MiniCPM-V-2.6 (image_processing_minicpmv.py): overview image plus up to max_slice_nums slices, all PIL
 *   BICUBIC from the original image, sides multiples of 14; x/255 in f32, then (x - mean)/std in f32.
 *
 * Settings come from the model folder's preprocessor_config.json (fc_preproc_config_load), or the defaults.
 */
#ifndef FC_PREPROCESS_H
#define FC_PREPROCESS_H

#include <stdbool.h>

#include "core/image/image.h"

typedef enum { FC_PREPROC_NONE = 0, FC_PREPROC_LLAVA, FC_PREPROC_MINICPMV } fc_preproc_kind;

typedef struct {
    bool do_resize;
    int shortest_edge;        /* size.shortest_edge; 0 when size is {height, width} */
    int size_h, size_w;       /* size.{height,width} when shortest_edge is 0 */
    bool do_center_crop;
    int crop_h, crop_w;       /* 336, 336 */
    bool do_rescale;
    double rescale_factor;    /* 1/255 */
    bool do_normalize;
    float mean[3], std[3];    /* CLIP's (0.4815, 0.4578, 0.4082) and (0.2686, 0.2613, 0.2758) */
    bool pad_to_square;       /* LLaVA expand2square with int(mean*255) background; not in the HF processor */
    fc_resize_order order;    /* FC_RESIZE_PILLOW (Pillow >= 13, the default); H_FIRST: Pillow < 12.2 */
} fc_clip_preproc_cfg;

typedef struct {
    bool slice_mode;          /* false: the image is used as it is (no resize), as the reference code does */
    int scale_resolution;     /* S = 448 */
    int patch_size;           /* P = 14 */
    int max_slice_nums;       /* 9 */
    float mean[3], std[3];    /* 0.5 */
    fc_resize_order order;    /* FC_RESIZE_PILLOW (Pillow >= 13, the default); H_FIRST: Pillow < 12.2 (10.1) */
} fc_minicpmv_slice_cfg;

void fc_clip_preproc_cfg_default(fc_clip_preproc_cfg *cfg);    /* llava-1.5-7b-hf's values */
void fc_minicpmv_slice_cfg_default(fc_minicpmv_slice_cfg *cfg); /* MiniCPM-V-2.6's values */

/* Which processor a model folder needs: config.json's model_type ("llava" / "minicpmv"), else the files
 * present (preprocessor_config.json naming CLIPImageProcessor -> LLaVA; llm_config.json, or a
 * tokenizer_config.json that mentions "<slice>" -> MiniCPM-V). FC_ENOTFOUND naming the folder otherwise. */
fc_err fc_preproc_detect_kind(const char *model_dir, fc_preproc_kind *kind);

/* Fills *clip (kind LLaVA) or *mcv (kind MiniCPM-V; the other pointer may be NULL) with the defaults of
 * `kind`, overridden by model_dir/preprocessor_config.json when that file exists (the shared MiniCPM-V
 * folder has none). Keys we use are type- and range-checked (resample must be 3, BICUBIC); errors name
 * the file and the key; unknown keys are ignored. */
fc_err fc_preproc_config_load(const char *model_dir, fc_preproc_kind kind, fc_clip_preproc_cfg *clip,
                              fc_minicpmv_slice_cfg *mcv);

/* The CLIP pipeline up to the uint8 image the normalisation reads: resize (shortest edge) and center crop
 * (and expand2square first when enabled). *out is crop_w x crop_h (or the resized size without crop). */
fc_err fc_clip_preprocess_u8(const fc_image *img, const fc_clip_preproc_cfg *cfg, fc_image *out);

/* Size of the tensor fc_clip_preprocess writes: (3, *h, *w). */
fc_err fc_clip_output_size(const fc_image *img, const fc_clip_preproc_cfg *cfg, int *h, int *w);

/* The full CLIP pipeline: out receives (3, h, w) f32 CHW with (h, w) from fc_clip_output_size
 * (336x336 for LLaVA-1.5). */
fc_err fc_clip_preprocess(const fc_image *img, const fc_clip_preproc_cfg *cfg, float *out);

/* rescale + normalise of one uint8 RGB image into (3, h, w) CHW f32, as the CLIP processor does:
 * f32(u8 * factor computed in f64), then (x - mean) / std in f32. */
void fc_clip_normalize(const fc_image *img, const fc_clip_preproc_cfg *cfg, float *out);

/* MiniCPM-V slicing. Sizes are (w, h) as in PIL. */
typedef struct {
    int n;              /* pieces: 1 (overview only) .. 1 + max_slice_nums */
    int grid_cols;      /* slice grid (cols, rows); 0, 0 when unsliced */
    int grid_rows;
    fc_image *u8;       /* (n) each piece's RGB pixels after resize/crop, overview first, then row-major slices */
    float **pixels;     /* (n) each piece's (3, h, w) normalised f32 CHW, owned */
    int (*tgt)[2];      /* (n) patch grid (h/14, w/14) of each piece */
} fc_minicpmv_slices;

/* The grid image_processing_minicpmv.py's get_sliced_grid picks for a w x h image: *cols, *rows, or 0, 0
 * when the image is not sliced. Pure arithmetic (exposed for the grid-sweep test). */
void fc_minicpmv_grid(const fc_minicpmv_slice_cfg *cfg, int w, int h, int *cols, int *rows);
/* find_best_resize((w, h), allow_upscale) -> (*bw, *bh); w, h may be fractional as in get_refine_size. */
void fc_minicpmv_best_resize(const fc_minicpmv_slice_cfg *cfg, double w, double h, bool allow_upscale, int *bw,
                             int *bh);
/* get_refine_size((w, h), (cols, rows)) -> (*rw, *rh). */
void fc_minicpmv_refine_size(const fc_minicpmv_slice_cfg *cfg, int w, int h, int cols, int rows, int *rw, int *rh);

/* Slices and normalises img. On failure *out is empty (fc_minicpmv_slices_free accepts it). */
fc_err fc_minicpmv_slice(const fc_image *img, const fc_minicpmv_slice_cfg *cfg, fc_minicpmv_slices *out);
void fc_minicpmv_slices_free(fc_minicpmv_slices *s);

#endif
