/* vlm_internal.h: what vlm.c and vlm_encode.c share (not part of the public API). */
#ifndef FC_MODEL_VLM_INTERNAL_H
#define FC_MODEL_VLM_INTERNAL_H

#include "core/model/vlm.h"

/* One image after preprocessing: LLaVA's (3, S, S) pixels, or MiniCPM-V's pieces. */
typedef struct {
    float *pixels;               /* LLaVA: (3, S, S) f32, owned */
    fc_minicpmv_slices slices;   /* MiniCPM-V: overview + slices (grid 0 0 for LLaVA) */
} fc_vlm_pixels;

/* Preprocesses one image for m's vision tower. On failure *px is empty. */
fc_err fc_vlm_preprocess(const fc_vlm *m, const fc_image *img, fc_vlm_pixels *px);
void fc_vlm_pixels_free(fc_vlm_pixels *px); /* accepts an empty one */

/* Encodes every piece of px[0..req->n_images) into req's embedding rows (allocating them) and fills the
 * rows between the spans with the tokens' own embeddings. req's prompt and spans must be built. */
fc_err fc_vlm_encode(fc_vlm *m, const fc_vlm_pixels *px, fc_vlm_request *req);

#endif
