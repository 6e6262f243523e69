/* load_workload.c: data-set records as load-run prompts (load_workload.h). */
#include "eval/load_workload.h"

#include <string.h>

#include "core/image/image.h"
#include "core/image/preprocess.h"

static void free_images(fc_image *img, int n) {
    for (int k = 0; k < n; k++) fc_image_free(&img[k]);
}

static fc_err load_images(const fc_data_record *rec, fc_image *img) {
    if (rec->n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "record '%s': %d images (at most %d)", rec->id, rec->n_images, FC_VLM_MAX_IMAGES);
    memset(img, 0, (size_t)rec->n_images * sizeof *img);
    for (int k = 0; k < rec->n_images; k++) {
        fc_err e = fc_image_load(&img[k], rec->images[k]);
        if (e) {
            free_images(img, k);
            return fc_err_prefix(e, "record '%s'", rec->id);
        }
    }
    return FC_OK;
}

/* The prompt layout needs each image's slice grid (MiniCPM-V), which its size decides; no tower runs. */
static fc_err vlm_length(void *ctx, int r, int *n) {
    fc_load_vlm_data *c = ctx;
    const fc_data_record *rec = &c->data->recs[r];
    fc_image img[FC_VLM_MAX_IMAGES];
    FC_TRY(load_images(rec, img));
    int grids[2 * FC_VLM_MAX_IMAGES] = {0};
    fc_err e = FC_OK;
    if (c->vlm->cfg.arch == FC_ARCH_MINICPMV && c->vlm->slice_pp.slice_mode) /* as fc_minicpmv_slice decides */
        for (int k = 0; k < rec->n_images; k++)
            fc_minicpmv_grid(&c->vlm->slice_pp, img[k].w, img[k].h, &grids[2 * k], &grids[2 * k + 1]);
    free_images(img, rec->n_images);
    fc_vlm_request req;
    if (!e) e = fc_vlm_build_prompt(c->vlm, rec->n_images, grids, rec->question, &req);
    if (e) return fc_err_prefix(e, "record '%s'", rec->id);
    *n = req.n_ids;
    fc_vlm_request_free(&req);
    return FC_OK;
}

static fc_err vlm_build(void *ctx, int r, fc_vlm_request *out) {
    fc_load_vlm_data *c = ctx;
    const fc_data_record *rec = &c->data->recs[r];
    fc_image img[FC_VLM_MAX_IMAGES];
    FC_TRY(load_images(rec, img));
    fc_err e = fc_vlm_request_build(c->vlm, img, rec->n_images, rec->question, out);
    free_images(img, rec->n_images);
    return e ? fc_err_prefix(e, "record '%s'", rec->id) : FC_OK;
}

void fc_load_vlm_workload(fc_load_vlm_data *ctx, fc_serve_workload *w) {
    *w = (fc_serve_workload){.n_records = ctx->data->n, .ctx = ctx, .length = vlm_length, .build = vlm_build,
                             .description = ctx->data->path};
}
