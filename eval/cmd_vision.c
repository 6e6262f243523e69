/* cmd_vision.c: `fc-eval vision MODEL`: load a model's vision side and time one image encode.
 *
 * LLaVA: CLIP tower up to the feature layer + projector on one (3, S, S) image. MiniCPM-V: SigLIP NaViT +
 * resampler on one slice of --grid HxW patches. The pixels are a fixed pseudo-random pattern, so this needs
 * no image decoder and measures the encoder alone (bench/vision.sh compares it with PyTorch). The last line is
 * `ms_per_image=<t>` for scripts.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cli.h"
#include "core/base/timer.h"
#include "core/io/hfconfig.h"
#include "core/io/safetensors.h"
#include "core/model/clip.h"
#include "core/model/resampler.h"
#include "core/model/siglip.h"
#include "eval/commands.h"

typedef struct {
    const char *model;
    int grid_h, grid_w;
    long reps, warmup;
} vision_opts;

/* Deterministic pixels in [-2, 2), roughly the range of normalised images. */
static void fill_pixels(fc_tensor *px) {
    uint32_t s = 12345u;
    float *p = px->data;
    for (int64_t i = 0; i < fc_tensor_numel(px); i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / (float)(1u << 24) * 4.0f - 2.0f;
    }
}

static double mean_abs(const fc_tensor *t) {
    double acc = 0;
    const float *p = t->data;
    for (int64_t i = 0; i < fc_tensor_numel(t); i++) acc += fabs((double)p[i]);
    return acc / (double)fc_tensor_numel(t);
}

static fc_err parse_grid(const char *s, int *h, int *w) {
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != 'x') return fc_err_set(FC_EINVAL, "--grid: expected HxW, got '%s'", s);
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || a < 1 || b < 1 || a > 256 || b > 256)
        return fc_err_set(FC_EINVAL, "--grid: expected HxW with 1 <= H, W <= 256, got '%s'", s);
    *h = (int)a;
    *w = (int)b;
    return FC_OK;
}

static const fc_cli_option options[] = {
    {"--grid", "HxW", 1, "MiniCPM-V slice in patches (default 32x32, a 448x448 slice)"},
    {"--reps", "N", 1, "timed encodes, 1..1000 (default 3)"},
    {"--warmup", "N", 1, "untimed encodes first, 0..100 (default 1)"},
    {0}};

static fc_err parse_args(const fc_cli_args *a, vision_opts *o) {
    *o = (vision_opts){.grid_h = 32, .grid_w = 32, .reps = 3, .warmup = 1};
    const char *grid = fc_cli_value(a, "--grid");
    if (grid) FC_TRY(parse_grid(grid, &o->grid_h, &o->grid_w));
    FC_TRY(fc_cli_long(a, "--reps", 1, 1000, &o->reps));
    FC_TRY(fc_cli_long(a, "--warmup", 0, 100, &o->warmup));
    if (a->n_args != 1) return fc_err_set(FC_EINVAL, "missing MODEL (see fc-eval vision --help)");
    o->model = a->args[0];
    return FC_OK;
}

static void report(const char *what, double total_s, long reps, const fc_tensor *out) {
    printf("%s: output [%lld,%lld] mean|x| %.6g, threads %d\n", what, (long long)out->shape[0],
           (long long)out->shape[1], mean_abs(out), omp_get_max_threads());
    printf("ms_per_image=%.3f\n", 1e3 * total_s / (double)reps);
}

static fc_err run_llava(const vision_opts *o, const fc_model_config *cfg, const fc_st_model *st) {
    fc_clip *m = NULL;
    FC_TRY(fc_clip_load(&m, st, cfg));
    const int64_t ps[3] = {3, m->image_size, m->image_size}, os[2] = {fc_clip_n_tokens(m), fc_clip_out_dim(m)};
    fc_tensor px = {0}, out = {0};
    fc_err e = fc_tensor_create(&px, FC_DTYPE_F32, FC_DEVICE_CPU, 3, ps);
    if (!e) e = fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os);
    if (!e) fill_pixels(&px);
    for (long i = 0; !e && i < o->warmup; i++) e = fc_clip_encode(m, &px, &out);
    double t0 = fc_time_now();
    for (long i = 0; !e && i < o->reps; i++) e = fc_clip_encode(m, &px, &out);
    double dt = fc_time_now() - t0;
    if (!e) {
        printf("clip: %dx%d image, %d of %d layers, %d tokens\n", m->image_size, m->image_size, m->n_layers_used,
               cfg->vision.num_layers, fc_clip_n_tokens(m));
        report("clip+projector", dt, o->reps, &out);
    }
    fc_tensor_free(&px);
    fc_tensor_free(&out);
    fc_clip_free(m);
    return e;
}

static fc_err run_minicpm(const vision_opts *o, const fc_model_config *cfg, const fc_st_model *st) {
    fc_navit *nv = NULL;
    fc_resampler *r = NULL;
    fc_tensor px = {0}, feats = {0}, out = {0};
    fc_err e = fc_navit_load(&nv, st, cfg);
    if (!e) e = fc_resampler_load(&r, st, cfg);
    const int h = o->grid_h, w = o->grid_w;
    if (!e) {
        const int64_t P = nv->patch_size, ps[3] = {3, h * P, w * P}, fs[2] = {(int64_t)h * w, nv->dims.C},
                      os[2] = {r->n_queries, r->D};
        e = fc_tensor_create(&px, FC_DTYPE_F32, FC_DEVICE_CPU, 3, ps);
        if (!e) e = fc_tensor_create(&feats, FC_DTYPE_F32, FC_DEVICE_CPU, 2, fs);
        if (!e) e = fc_tensor_create(&out, FC_DTYPE_F32, FC_DEVICE_CPU, 2, os);
        if (!e) fill_pixels(&px);
    }
    for (long i = 0; !e && i < o->warmup; i++) {
        e = fc_navit_encode(nv, &px, h, w, &feats);
        if (!e) e = fc_resampler_encode(r, &feats, h, w, &out);
    }
    double t_nv = 0, t_rs = 0;
    for (long i = 0; !e && i < o->reps; i++) {
        double t0 = fc_time_now();
        e = fc_navit_encode(nv, &px, h, w, &feats);
        double t1 = fc_time_now();
        if (!e) e = fc_resampler_encode(r, &feats, h, w, &out);
        t_nv += t1 - t0;
        t_rs += fc_time_now() - t1;
    }
    if (!e) {
        printf("navit: %dx%d patches, %d of %d layers; resampler: %d queries x %d\n", h, w, nv->n_layers_used,
               cfg->vision.num_layers, r->n_queries, r->D);
        printf("navit_ms=%.3f resampler_ms=%.3f\n", 1e3 * t_nv / (double)o->reps, 1e3 * t_rs / (double)o->reps);
        report("navit+resampler", t_nv + t_rs, o->reps, &out);
    }
    fc_tensor_free(&px);
    fc_tensor_free(&feats);
    fc_tensor_free(&out);
    fc_resampler_free(r);
    fc_navit_free(nv);
    return e;
}

static int cmd_vision(const fc_cli_args *a) {
    vision_opts o;
    fc_err e = parse_args(a, &o);
    if (e) return fc_cli_fail(e);
    fc_model_config cfg;
    if ((e = fc_hfconfig_load(&cfg, o.model))) return fc_cli_fail(e);
    if (cfg.arch != FC_ARCH_LLAVA && cfg.arch != FC_ARCH_MINICPMV)
        return fc_cli_fail(fc_err_set(FC_EUNSUPPORTED, "%s: model_type %s has no vision encoder (llava or minicpmv expected)",
                                      o.model, fc_arch_name(cfg.arch)));
    fc_st_model st;
    if ((e = fc_st_model_open(&st, o.model))) return fc_cli_fail(e);
    e = cfg.arch == FC_ARCH_LLAVA ? run_llava(&o, &cfg, &st) : run_minicpm(&o, &cfg, &st);
    fc_st_model_close(&st);
    return e ? fc_cli_fail(e) : 0;
}

const fc_cli_command fc_cmd_vision = {
    "vision", cmd_vision, "time a model's vision encoder (CLIP+projector, SigLIP+resampler) on one image",
    "MODEL [--grid HxW] [--reps N] [--warmup N]",
    "Loads the vision encoder of MODEL (a LLaVA or MiniCPM-V folder: config.json + safetensors) and\n"
    "times the encode of one image of fixed pseudo-random pixels, printing milliseconds per image.\n"
    "LLaVA: CLIP tower up to vision_feature_layer + projector on a (3, S, S) image.\n"
    "MiniCPM-V: SigLIP NaViT + resampler on one slice of HxW patches.",
    options, 1, NULL};
