/* image_preprocess.c: time our image pipeline per image, for bench/image_preprocess.sh.
 *   image_preprocess llava|minicpmv MODEL_DIR REPS FILE...
 * Decodes each file and makes the encoder's f32 pixels (CLIP crop, or MiniCPM-V overview + slices), REPS
 * passes over all files; prints "<seconds per image, best pass> <sum of all output values of one pass>".
 * The peer doing the same in Python (Pillow + transformers CLIPImageProcessor) is bench/image_preprocess.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/image/image.h"
#include "core/image/preprocess.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int one(const char *kind, const fc_clip_preproc_cfg *clip, const fc_minicpmv_slice_cfg *mcv, const char *path,
               double *sum) {
    fc_image im;
    if (fc_image_load(&im, path)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
    if (!strcmp(kind, "llava")) {
        int h, w;
        fc_clip_output_size(&im, clip, &h, &w);
        float *px = malloc(sizeof(float) * 3 * (size_t)h * (size_t)w);
        if (!px || fc_clip_preprocess(&im, clip, px)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
        for (size_t i = 0; i < (size_t)3 * h * w; i++) *sum += px[i];
        free(px);
    } else {
        fc_minicpmv_slices sl;
        if (fc_minicpmv_slice(&im, mcv, &sl)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
        for (int p = 0; p < sl.n; p++)
            for (size_t i = 0; i < (size_t)3 * sl.u8[p].w * sl.u8[p].h; i++) *sum += sl.pixels[p][i];
        fc_minicpmv_slices_free(&sl);
    }
    fc_image_free(&im);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) return fprintf(stderr, "usage: image_preprocess llava|minicpmv MODEL_DIR REPS FILE...\n"), 2;
    const char *kind = argv[1];
    fc_clip_preproc_cfg clip;
    fc_minicpmv_slice_cfg mcv;
    fc_preproc_kind k = !strcmp(kind, "llava") ? FC_PREPROC_LLAVA : FC_PREPROC_MINICPMV;
    if (fc_preproc_config_load(argv[2], k, &clip, &mcv)) return fprintf(stderr, "%s\n", fc_errmsg()), 1;
    int reps = atoi(argv[3]), n = argc - 4;
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; r++) {
        double s = 0, t0 = now();
        for (int i = 0; i < n; i++)
            if (one(kind, &clip, &mcv, argv[4 + i], &s)) return 1;
        double dt = (now() - t0) / n;
        if (dt < best) best = dt;
        sum = s;
    }
    printf("%.6f %.6e\n", best, sum);
    return 0;
}
