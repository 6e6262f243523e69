/* preproc_config.c: which processor a model folder needs, and its preprocessor_config.json settings. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/image/preprocess.h"
#include "core/base/file.h"

#define MAX_JSON_BYTES ((size_t)64 << 20) /* config and tokenizer_config files are kilobytes */

static fc_err read_json(const char *path, cJSON **out) {
    char *s;
    *out = NULL;
    FC_TRY(fc_file_read(path, MAX_JSON_BYTES, "a processor config", &s, NULL));
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 1);
    if (!j) {
        fc_err e = fc_err_set(FC_EFORMAT, "%s: invalid JSON near byte %ld", path, end ? (long)(end - s) : -1L);
        free(s);
        return e;
    }
    free(s);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return fc_err_set(FC_EFORMAT, "%s: top level is not a JSON object", path);
    }
    *out = j;
    return FC_OK;
}

static void join(char *buf, size_t cap, const char *dir, const char *file) {
    snprintf(buf, cap, "%s/%s", dir, file);
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

fc_err fc_preproc_detect_kind(const char *dir, fc_preproc_kind *kind) {
    char path[4096];
    *kind = FC_PREPROC_NONE;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return fc_err_set(FC_ENOTFOUND, "%s: not a model folder", dir);
    cJSON *j;
    join(path, sizeof path, dir, "config.json");
    if (file_exists(path)) {
        FC_TRY(read_json(path, &j));
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
        if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "llava")) *kind = FC_PREPROC_LLAVA;
        if (cJSON_IsString(mt) && !strcmp(mt->valuestring, "minicpmv")) *kind = FC_PREPROC_MINICPMV;
        cJSON_Delete(j);
        if (*kind) return FC_OK;
    }
    join(path, sizeof path, dir, "preprocessor_config.json");
    if (file_exists(path)) {
        FC_TRY(read_json(path, &j));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "image_processor_type");
        if (cJSON_IsString(t) && (!strcmp(t->valuestring, "CLIPImageProcessor") || !strcmp(t->valuestring, "LlavaImageProcessor")))
            *kind = FC_PREPROC_LLAVA;
        if (cJSON_IsString(t) && !strcmp(t->valuestring, "MiniCPMVImageProcessor")) *kind = FC_PREPROC_MINICPMV;
        cJSON_Delete(j);
        if (*kind) return FC_OK;
    }
    join(path, sizeof path, dir, "llm_config.json");
    if (file_exists(path)) {
        *kind = FC_PREPROC_MINICPMV;
        return FC_OK;
    }
    join(path, sizeof path, dir, "tokenizer_config.json");
    if (file_exists(path)) {
        char *s;
        FC_TRY(fc_file_read(path, MAX_JSON_BYTES, "a processor config", &s, NULL));
        if (strstr(s, "<slice>")) *kind = FC_PREPROC_MINICPMV;
        free(s);
        if (*kind) return FC_OK;
    }
    return fc_err_set(FC_ENOTFOUND,
                      "%s: cannot tell the model type (no config.json model_type llava/minicpmv, no "
                      "preprocessor_config.json naming a known processor, no llm_config.json); use --model-type",
                      dir);
}

/* --- typed getters: absent keys leave the value alone; present ones must have the right type/range --- */

static fc_err get_bool(const cJSON *o, const char *key, const char *path, bool *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsBool(v)) return fc_err_set(FC_EFORMAT, "%s: %s: expected true or false", path, key);
    *out = cJSON_IsTrue(v);
    return FC_OK;
}

/* `shown` is the key as messages name it ("size.height"); NULL means `key`. */
static fc_err get_int_as(const cJSON *o, const char *key, const char *shown, const char *path, int lo, int hi, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return fc_err_set(FC_EFORMAT, "%s: %s: expected an integer in [%d, %d]", path, shown ? shown : key, lo, hi);
    *out = (int)v->valuedouble;
    return FC_OK;
}

static fc_err get_int(const cJSON *o, const char *key, const char *path, int lo, int hi, int *out) {
    return get_int_as(o, key, NULL, path, lo, hi, out);
}

static fc_err get_num(const cJSON *o, const char *key, const char *path, double lo, double hi, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return fc_err_set(FC_EFORMAT, "%s: %s: expected a number in [%g, %g]", path, key, lo, hi);
    *out = v->valuedouble;
    return FC_OK;
}

/* A list of 3 numbers, or one number for all channels (transformers accepts both). */
static fc_err get_vec3(const cJSON *o, const char *key, const char *path, bool positive, float out[3]) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return FC_OK;
    double d[3];
    if (cJSON_IsNumber(v)) {
        d[0] = d[1] = d[2] = v->valuedouble;
    } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3) {
        for (int i = 0; i < 3; i++) {
            const cJSON *x = cJSON_GetArrayItem(v, i);
            if (!cJSON_IsNumber(x)) return fc_err_set(FC_EFORMAT, "%s: %s[%d]: expected a number", path, key, i);
            d[i] = x->valuedouble;
        }
    } else {
        return fc_err_set(FC_EFORMAT, "%s: %s: expected a list of 3 numbers", path, key);
    }
    for (int i = 0; i < 3; i++) {
        if (!isfinite(d[i]) || (positive && !(d[i] > 0)) || fabs(d[i]) > 1e6)
            return fc_err_set(FC_EFORMAT, "%s: %s[%d]: %g is out of range", path, key, i, d[i]);
        out[i] = (float)d[i]; /* numpy casts mean/std to the image's float32 */
    }
    return FC_OK;
}

/* size / crop_size: {"shortest_edge": n} or {"height": h, "width": w}, or a bare int (square). */
static fc_err get_size(const cJSON *o, const char *key, const char *path, bool allow_shortest, int *edge, int *h, int *w) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return FC_OK;
    const int MAXS = 1 << 16;
    if (cJSON_IsNumber(v)) {
        int s = 0;
        FC_TRY(get_int(o, key, path, 1, MAXS, &s));
        if (allow_shortest) *edge = s; /* transformers' get_size_dict(int, default_to_square=False) */
        else *h = *w = s;
        return FC_OK;
    }
    if (!cJSON_IsObject(v)) return fc_err_set(FC_EFORMAT, "%s: %s: expected an object", path, key);
    char sh[64], sw[64];
    if (allow_shortest && cJSON_GetObjectItemCaseSensitive(v, "shortest_edge")) {
        snprintf(sh, sizeof sh, "%s.shortest_edge", key);
        return get_int_as(v, "shortest_edge", sh, path, 1, MAXS, edge);
    }
    int hh = 0, ww = 0;
    snprintf(sh, sizeof sh, "%s.height", key);
    snprintf(sw, sizeof sw, "%s.width", key);
    FC_TRY(get_int_as(v, "height", sh, path, 1, MAXS, &hh));
    FC_TRY(get_int_as(v, "width", sw, path, 1, MAXS, &ww));
    if (!hh || !ww)
        return fc_err_set(FC_EFORMAT, "%s: %s: needs height and width%s", path, key, allow_shortest ? " or shortest_edge" : "");
    if (allow_shortest) *edge = 0;
    *h = hh, *w = ww;
    return FC_OK;
}

static fc_err load_clip(const cJSON *j, const char *path, fc_clip_preproc_cfg *c) {
    FC_TRY(get_bool(j, "do_resize", path, &c->do_resize));
    FC_TRY(get_size(j, "size", path, true, &c->shortest_edge, &c->size_h, &c->size_w));
    FC_TRY(get_bool(j, "do_center_crop", path, &c->do_center_crop));
    FC_TRY(get_size(j, "crop_size", path, false, NULL, &c->crop_h, &c->crop_w));
    FC_TRY(get_bool(j, "do_rescale", path, &c->do_rescale));
    FC_TRY(get_num(j, "rescale_factor", path, 0, 1e6, &c->rescale_factor));
    FC_TRY(get_bool(j, "do_normalize", path, &c->do_normalize));
    FC_TRY(get_vec3(j, "image_mean", path, false, c->mean));
    FC_TRY(get_vec3(j, "image_std", path, true, c->std));
    FC_TRY(get_bool(j, "do_pad", path, &c->pad_to_square)); /* LlavaImageProcessor's expand2square switch */
    int resample = 3;
    FC_TRY(get_int(j, "resample", path, 0, 5, &resample));
    if (resample != 3)
        return fc_err_set(FC_EUNSUPPORTED, "%s: resample: %d is not BICUBIC (3), the only filter implemented", path, resample);
    return FC_OK;
}

static fc_err load_minicpmv(const cJSON *j, const char *path, fc_minicpmv_slice_cfg *c) {
    FC_TRY(get_bool(j, "slice_mode", path, &c->slice_mode));
    FC_TRY(get_int(j, "scale_resolution", path, 14, 1 << 14, &c->scale_resolution));
    FC_TRY(get_int(j, "patch_size", path, 1, 1024, &c->patch_size));
    FC_TRY(get_int(j, "max_slice_nums", path, 1, 64, &c->max_slice_nums));
    FC_TRY(get_vec3(j, "norm_mean", path, false, c->mean));
    FC_TRY(get_vec3(j, "norm_std", path, true, c->std));
    return FC_OK;
}

fc_err fc_preproc_config_load(const char *dir, fc_preproc_kind kind, fc_clip_preproc_cfg *clip,
                              fc_minicpmv_slice_cfg *mcv) {
    if (kind == FC_PREPROC_LLAVA) fc_clip_preproc_cfg_default(clip);
    else if (kind == FC_PREPROC_MINICPMV) fc_minicpmv_slice_cfg_default(mcv);
    else return fc_err_set(FC_EINVAL, "preprocess: no model kind given");
    char path[4096];
    join(path, sizeof path, dir, "preprocessor_config.json");
    if (!file_exists(path)) return FC_OK;
    cJSON *j;
    FC_TRY(read_json(path, &j));
    fc_err e = kind == FC_PREPROC_LLAVA ? load_clip(j, path, clip) : load_minicpmv(j, path, mcv);
    cJSON_Delete(j);
    return e;
}
