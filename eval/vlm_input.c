/* vlm_input.c: a VLM and one request from files, for the fc-eval commands (vlm_input.h). */
#include "eval/vlm_input.h"

#include <stdbool.h>
#include <string.h>

fc_err fc_eval_vlm_request(fc_vlm *vlm, const char *const *images, int n_images, const char *question,
                           fc_vlm_request *req) {
    memset(req, 0, sizeof *req);
    if (n_images < 0 || n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%d images (at most %d)", n_images, FC_VLM_MAX_IMAGES);
    fc_image img[FC_VLM_MAX_IMAGES];
    memset(img, 0, sizeof img);
    fc_err e = FC_OK;
    for (int k = 0; k < n_images && !e; k++) e = fc_image_load(&img[k], images[k]);
    if (!e) e = fc_vlm_request_build(vlm, img, n_images, question, req);
    for (int k = 0; k < n_images; k++) fc_image_free(&img[k]);
    return e;
}

fc_err fc_eval_vlm_open(fc_eval_vlm *v, const char *model_dir, const char *tok_dir, const char *const *images,
                        int n_images, const char *question) {
    memset(v, 0, sizeof *v);
    if (n_images < 0 || n_images > FC_VLM_MAX_IMAGES)
        return fc_err_set(FC_EINVAL, "%d images (at most %d)", n_images, FC_VLM_MAX_IMAGES);
    fc_err e = fc_vlm_load(&v->vlm, model_dir, tok_dir);
    if (!e) e = fc_eval_vlm_request(v->vlm, images, n_images, question, &v->req);
    if (e) fc_eval_vlm_close(v);
    return e;
}

void fc_eval_vlm_close(fc_eval_vlm *v) {
    fc_vlm_request_free(&v->req);
    fc_vlm_free(v->vlm);
    v->vlm = NULL;
}

void fc_eval_vlm_print_layout(const fc_eval_vlm *v, FILE *f) {
    const fc_vlm_request *r = &v->req;
    fprintf(f, "prompt: %d tokens (%s), %d image(s), %d image span(s)\n", r->n_ids, fc_arch_name(v->vlm->cfg.arch),
            r->n_images, r->n_spans);
    for (int k = 0; k < r->n_spans; k++) {
        const fc_vlm_span *s = &r->spans[k];
        bool overview = v->vlm->cfg.arch == FC_ARCH_MINICPMV;
        fprintf(f, "  image %d %s", s->image, s->piece ? "slice" : overview ? "overview" : "all");
        if (s->piece) fprintf(f, " %d", s->piece - 1);
        fprintf(f, ": tokens [%d, %d) (%d)\n", s->start, s->start + s->len, s->len);
    }
    for (int k = 0; k < r->n_images; k++)
        if (r->grid[2 * k]) fprintf(f, "  image %d slice grid: %d cols x %d rows\n", k, r->grid[2 * k], r->grid[2 * k + 1]);
}
