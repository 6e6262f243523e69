/* hfconfig.c: config.json (or llm_config.json) -> fc_model_config, with transformers' defaults.
 *
 * Defaults are those of the transformers classes that would read the same file (transformers 4.57,
 * /work/venv/lib/python3.11/site-packages/transformers/models/...):
 *   llama/configuration_llama.py   LlamaConfig: vocab 32000, hidden 4096, intermediate 11008, layers 32,
 *                                  heads 32, kv heads None -> heads, silu, max_pos 2048, rms eps 1e-6,
 *                                  bos 1, eos 2, pad None, tie False, theta 10000, attention/mlp bias False,
 *                                  head_dim None -> hidden // heads.
 *   qwen2/configuration_qwen2.py   Qwen2Config: vocab 151936, hidden 4096, intermediate 22016, layers 32,
 *                                  heads 32, kv heads 32 (None -> heads), silu, max_pos 32768, eps 1e-6,
 *                                  tie False, theta 10000, bos/eos/pad None (PretrainedConfig); the q/k/v
 *                                  bias is hard-coded True in qwen2/modeling_qwen2.py, which also reads
 *                                  head_dim with getattr(config, "head_dim", hidden // heads).
 *   llava/configuration_llava.py   LlavaConfig: image_token_index 32000 (alias image_token_id),
 *                                  projector gelu, strategy "default", feature layer -2, projector bias
 *                                  True; text_config defaults to LlamaConfig (model_type "llama"); an absent
 *                                  vision_config is CLIP with the LLaVA sizes (1024/4096/24/16/336/14).
 *   clip/configuration_clip.py     CLIPVisionConfig: hidden 768, intermediate 3072, layers 12, heads 12,
 *                                  channels 3, image 224, patch 32, quick_gelu, eps 1e-5.
 *   MiniCPM-V-2.6 remote code      configuration_minicpm.py (404805854/minicpmv2.6-onnx@48804ee):
 *                                  MiniCPMVConfig(Qwen2Config): query_num 64, drop_vision_last_layer True,
 *                                  use_image_id True, slice_config None -> MiniCPMVSliceConfig(max_slice_nums
 *                                  =1), a dict -> (patch 14, max_slice_nums 9, scale 448) + the dict;
 *                                  vision_config None -> default_vision_config (1152/4304/27/16/980/14), a
 *                                  dict -> SiglipVisionConfig defaults (siglip/configuration_siglip.py:
 *                                  768/3072/12/12/224/16, gelu_pytorch_tanh, eps 1e-6) + the dict.
 * Keys we do not read are ignored; every key we read is type- and range-checked.
 */
#include "core/io/hfconfig.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/mem.h"
#include "core/base/file.h"

/* config.json files are a few KiB; anything this large is not one. */
#define HFCONFIG_MAX_BYTES (16u << 20)

static const char *const arch_names[] = {
    [FC_ARCH_LLAMA] = "llama",
    [FC_ARCH_QWEN2] = "qwen2",
    [FC_ARCH_LLAVA] = "llava",
    [FC_ARCH_MINICPMV] = "minicpmv",
};
_Static_assert(sizeof(arch_names) / sizeof(arch_names[0]) == FC_ARCH_COUNT, "arch_names out of sync with fc_arch");

const char *fc_arch_name(fc_arch a) {
    if ((unsigned)a >= FC_ARCH_COUNT) return "?";
    return arch_names[a];
}

/* ---- typed access to one JSON object, with "<file>: <section>.<key>: ..." messages ---- */

typedef struct {
    const char *file;    /* for messages */
    const char *section; /* "" at top level, else "text_config" etc. */
    const cJSON *obj;    /* may be NULL: every key is then absent */
} jobj;

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    return "invalid value";
}

static fc_err jerr(const jobj *o, const char *key, fc_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static fc_err jerr(const jobj *o, const char *key, fc_err code, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fc_err_set(code, "%s: %s%s%.80s: %s", o->file, o->section, *o->section ? "." : "", key, what);
}

/* The value of `key`, or NULL when it is absent or null (HF's None: the default applies). */
static const cJSON *jget(const jobj *o, const char *key) {
    if (!o->obj) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o->obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static fc_err jint_value(const jobj *o, const char *key, const cJSON *v, long lo, long hi, int *out) {
    if (!cJSON_IsNumber(v)) return jerr(o, key, FC_EFORMAT, "expected integer, got %s", json_type_name(v));
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d)) return jerr(o, key, FC_EFORMAT, "expected integer, got %.17g", d);
    if (d < (double)lo || d > (double)hi)
        return jerr(o, key, FC_EINVAL, "must be in [%ld, %ld], got %.17g", lo, hi, d);
    *out = (int)d;
    return FC_OK;
}

/* Leaves *out (the default) alone when the key is absent. */
static fc_err jint(const jobj *o, const char *key, long lo, long hi, int *out) {
    const cJSON *v = jget(o, key);
    return v ? jint_value(o, key, v, lo, hi, out) : FC_OK;
}

/* A token id: an integer, or (eos_token_id in newer configs) a non-empty list whose first entry counts.
 * -1 is accepted as "none": some converted Llama configs write "pad_token_id": -1. */
static fc_err jtoken(const jobj *o, const char *key, int *out) {
    const cJSON *v = jget(o, key);
    if (!v) return FC_OK;
    if (cJSON_IsArray(v)) {
        if (cJSON_GetArraySize(v) == 0) return jerr(o, key, FC_EFORMAT, "expected integer or list of integers, got []");
        const cJSON *e;
        int first = -1, id;
        bool got = false;
        cJSON_ArrayForEach(e, v) {
            FC_TRY(jint_value(o, key, e, -1, FC_HFCONFIG_MAX_VOCAB - 1, &id));
            if (!got) first = id, got = true;
        }
        *out = first;
        return FC_OK;
    }
    return jint_value(o, key, v, -1, FC_HFCONFIG_MAX_VOCAB - 1, out);
}

/* A finite number in the open interval (lo, hi). */
static fc_err jdouble(const jobj *o, const char *key, double lo, double hi, double *out) {
    const cJSON *v = jget(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsNumber(v)) return jerr(o, key, FC_EFORMAT, "expected number, got %s", json_type_name(v));
    double d = v->valuedouble;
    if (!isfinite(d) || !(d > lo && d < hi))
        return jerr(o, key, FC_EINVAL, "must be in (%g, %g), got %.17g", lo, hi, d);
    *out = d;
    return FC_OK;
}

static fc_err jbool(const jobj *o, const char *key, bool *out) {
    const cJSON *v = jget(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsBool(v)) return jerr(o, key, FC_EFORMAT, "expected boolean, got %s", json_type_name(v));
    *out = cJSON_IsTrue(v);
    return FC_OK;
}

/* *out points into the JSON tree (NULL when absent). */
static fc_err jstr(const jobj *o, const char *key, const char **out) {
    const cJSON *v = jget(o, key);
    if (!v) return FC_OK;
    if (!cJSON_IsString(v)) return jerr(o, key, FC_EFORMAT, "expected string, got %s", json_type_name(v));
    *out = v->valuestring;
    return FC_OK;
}

static fc_err jstr_copy(const jobj *o, const char *key, char *buf, size_t cap) {
    const char *s = NULL;
    FC_TRY(jstr(o, key, &s));
    if (!s) return FC_OK;
    if (strlen(s) >= cap) return jerr(o, key, FC_EINVAL, "value '%.32s...' is longer than %zu bytes", s, cap - 1);
    memcpy(buf, s, strlen(s) + 1);
    return FC_OK;
}

static fc_err jact(const jobj *o, const char *key, fc_act *out) {
    const char *s = NULL;
    FC_TRY(jstr(o, key, &s));
    if (!s) return FC_OK;
    fc_err e = fc_act_from_name(s, out);
    return e ? jerr(o, key, e, "%s", fc_errmsg()) : FC_OK;
}

/* A nested object: *child->obj is NULL when absent or null. */
static fc_err jsection(const jobj *o, const char *key, char *secbuf, size_t cap, jobj *child) {
    const cJSON *v = jget(o, key);
    snprintf(secbuf, cap, "%s%s%s", o->section, *o->section ? "." : "", key);
    *child = (jobj){.file = o->file, .section = secbuf, .obj = NULL};
    if (!v) return FC_OK;
    if (!cJSON_IsObject(v)) return jerr(o, key, FC_EFORMAT, "expected object, got %s", json_type_name(v));
    child->obj = v;
    return FC_OK;
}

/* cJSON keeps every duplicate and answers the first, Python's json the last: rather than disagree
 * silently with transformers, a repeated key in an object we read is an error. */
static fc_err jcheck_duplicates(const jobj *o) {
    if (!o->obj) return FC_OK;
    for (const cJSON *a = o->obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && !strcmp(a->string, b->string))
                return jerr(o, a->string, FC_EFORMAT, "duplicate key");
    return FC_OK;
}

/* ---- the decoder ---- */

static void llm_defaults(fc_llm_config *t, fc_arch arch) {
    memset(t, 0, sizeof *t);
    t->arch = arch;
    t->hidden_act = FC_ACT_SILU;
    t->pad_token_id = -1;
    t->rope_theta = 10000.0;
    t->rms_norm_eps = 1e-6;
    t->tie_word_embeddings = false;
    t->num_kv_heads = -1; /* resolved after reading: heads when absent (Llama) */
    t->head_dim = -1;     /* resolved after reading: hidden / heads when absent */
    if (arch == FC_ARCH_LLAMA) {
        t->vocab_size = 32000, t->hidden_size = 4096, t->intermediate_size = 11008;
        t->num_layers = 32, t->num_heads = 32;
        t->max_position_embeddings = 2048;
        t->bos_token_id = 1, t->eos_token_id = 2;
    } else {
        t->vocab_size = 151936, t->hidden_size = 4096, t->intermediate_size = 22016;
        t->num_layers = 32, t->num_heads = 32, t->num_kv_heads = 32;
        t->max_position_embeddings = 32768;
        t->bos_token_id = -1, t->eos_token_id = -1;
        t->attention_bias = true;
    }
}

/* rope_scaling: only none / {"rope_type": "default"} is what we implement; anything else would change
 * the positions silently. */
static fc_err check_rope_scaling(const jobj *o) {
    const cJSON *v = jget(o, "rope_scaling");
    if (!v) return FC_OK;
    if (!cJSON_IsObject(v)) return jerr(o, "rope_scaling", FC_EFORMAT, "expected object, got %s", json_type_name(v));
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "rope_type");
    if (!type) type = cJSON_GetObjectItemCaseSensitive(v, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "default")) return FC_OK;
    return jerr(o, "rope_scaling", FC_EUNSUPPORTED, "rope scaling '%.32s' is not supported (only the default rope)",
                cJSON_IsString(type) ? type->valuestring : "?");
}

static fc_err parse_llm(const jobj *o, fc_arch arch, fc_llm_config *t) {
    const long C = FC_HFCONFIG_MAX_COUNT - 1, V = FC_HFCONFIG_MAX_VOCAB - 1;
    llm_defaults(t, arch);
    FC_TRY(jcheck_duplicates(o));
    FC_TRY(jint(o, "vocab_size", 1, V, &t->vocab_size));
    FC_TRY(jint(o, "hidden_size", 1, C, &t->hidden_size));
    FC_TRY(jint(o, "intermediate_size", 1, C, &t->intermediate_size));
    FC_TRY(jint(o, "num_hidden_layers", 1, C, &t->num_layers));
    FC_TRY(jint(o, "num_attention_heads", 1, C, &t->num_heads));
    const cJSON *raw_kv = o->obj ? cJSON_GetObjectItemCaseSensitive(o->obj, "num_key_value_heads") : NULL;
    FC_TRY(jint(o, "num_key_value_heads", 1, C, &t->num_kv_heads));
    /* LlamaConfig: absent or None -> heads. Qwen2Config: absent -> its default 32, None -> heads. */
    if (!jget(o, "num_key_value_heads") && (arch == FC_ARCH_LLAMA || raw_kv)) t->num_kv_heads = t->num_heads;
    FC_TRY(jint(o, "head_dim", 1, C, &t->head_dim));
    FC_TRY(jint(o, "max_position_embeddings", 1, V, &t->max_position_embeddings));
    FC_TRY(jdouble(o, "rms_norm_eps", 0.0, 1.0, &t->rms_norm_eps));
    FC_TRY(jdouble(o, "rope_theta", 0.0, 1e12, &t->rope_theta));
    FC_TRY(check_rope_scaling(o));
    if (arch == FC_ARCH_LLAMA) { /* Qwen2Config has neither key; its q/k/v bias is always on */
        FC_TRY(jbool(o, "attention_bias", &t->attention_bias));
        FC_TRY(jbool(o, "mlp_bias", &t->mlp_bias));
    } else {
        bool sliding = false;
        FC_TRY(jbool(o, "use_sliding_window", &sliding));
        if (sliding) return jerr(o, "use_sliding_window", FC_EUNSUPPORTED, "sliding-window attention is not supported");
    }
    FC_TRY(jbool(o, "tie_word_embeddings", &t->tie_word_embeddings));
    FC_TRY(jact(o, "hidden_act", &t->hidden_act));
    FC_TRY(jtoken(o, "bos_token_id", &t->bos_token_id));
    FC_TRY(jtoken(o, "eos_token_id", &t->eos_token_id));
    FC_TRY(jtoken(o, "pad_token_id", &t->pad_token_id));
    /* transformers >= 4.56 writes "dtype", older ones "torch_dtype" */
    FC_TRY(jstr_copy(o, "torch_dtype", t->torch_dtype, sizeof t->torch_dtype));
    FC_TRY(jstr_copy(o, "dtype", t->torch_dtype, sizeof t->torch_dtype));

    if (t->num_heads % t->num_kv_heads != 0)
        return jerr(o, "num_key_value_heads", FC_EINVAL, "%d does not divide num_attention_heads %d", t->num_kv_heads,
                    t->num_heads);
    if (t->head_dim < 0) {
        if (t->hidden_size % t->num_heads != 0)
            return jerr(o, "num_attention_heads", FC_EINVAL, "%d does not divide hidden_size %d (and no head_dim is given)",
                        t->num_heads, t->hidden_size);
        t->head_dim = t->hidden_size / t->num_heads;
    }
    if ((int64_t)t->num_heads * t->head_dim >= FC_HFCONFIG_MAX_COUNT)
        return jerr(o, "head_dim", FC_EINVAL, "num_attention_heads %d x head_dim %d is too large", t->num_heads,
                    t->head_dim);
    return FC_OK;
}

/* ---- the vision tower ---- */

typedef struct {
    int hidden, intermediate, layers, heads, image, patch;
    fc_act act;
    double eps;
} vision_defaults;

static const vision_defaults CLIP_CLASS = {768, 3072, 12, 12, 224, 32, FC_ACT_QUICK_GELU, 1e-5};
static const vision_defaults LLAVA_ABSENT = {1024, 4096, 24, 16, 336, 14, FC_ACT_QUICK_GELU, 1e-5};
static const vision_defaults SIGLIP_CLASS = {768, 3072, 12, 12, 224, 16, FC_ACT_GELU_TANH, 1e-6};
static const vision_defaults MINICPMV_ABSENT = {1152, 4304, 27, 16, 980, 14, FC_ACT_GELU_TANH, 1e-6};

static fc_err parse_vision(const jobj *o, const vision_defaults *d, const char *const *model_types,
                           fc_vision_config *v) {
    const long C = FC_HFCONFIG_MAX_COUNT - 1;
    *v = (fc_vision_config){.present = true, .hidden_size = d->hidden, .intermediate_size = d->intermediate,
                            .num_layers = d->layers, .num_heads = d->heads, .image_size = d->image,
                            .patch_size = d->patch, .num_channels = 3, .layer_norm_eps = d->eps,
                            .hidden_act = d->act};
    FC_TRY(jcheck_duplicates(o));
    const char *mt = NULL;
    FC_TRY(jstr(o, "model_type", &mt));
    if (mt) {
        bool ok = false;
        for (const char *const *m = model_types; *m; m++) ok |= !strcmp(mt, *m);
        if (!ok)
            return jerr(o, "model_type", FC_EUNSUPPORTED, "vision model '%.40s' is not supported here (expected '%s')",
                        mt, model_types[0]);
    }
    FC_TRY(jint(o, "hidden_size", 1, C, &v->hidden_size));
    FC_TRY(jint(o, "intermediate_size", 1, C, &v->intermediate_size));
    FC_TRY(jint(o, "num_hidden_layers", 1, C, &v->num_layers));
    FC_TRY(jint(o, "num_attention_heads", 1, C, &v->num_heads));
    FC_TRY(jint(o, "image_size", 1, C, &v->image_size));
    FC_TRY(jint(o, "patch_size", 1, C, &v->patch_size));
    FC_TRY(jint(o, "num_channels", 1, 16, &v->num_channels));
    FC_TRY(jdouble(o, "layer_norm_eps", 0.0, 1.0, &v->layer_norm_eps));
    FC_TRY(jact(o, "hidden_act", &v->hidden_act));
    if (v->hidden_size % v->num_heads != 0) /* CLIPAttention / SiglipAttention raise on this too */
        return jerr(o, "num_attention_heads", FC_EINVAL, "%d does not divide hidden_size %d", v->num_heads,
                    v->hidden_size);
    if (v->patch_size > v->image_size)
        return jerr(o, "patch_size", FC_EINVAL, "%d is larger than image_size %d", v->patch_size, v->image_size);
    return FC_OK;
}

/* ---- the three layouts ---- */

static fc_err parse_llava(const jobj *top, fc_model_config *cfg) {
    char sec_text[64], sec_vision[64];
    jobj text, vision;
    cfg->arch = FC_ARCH_LLAVA;
    cfg->image_token_id = 32000;
    cfg->vision_feature_layer = -2;
    strcpy(cfg->vision_feature_select_strategy, "default");
    cfg->projector_act = FC_ACT_GELU;
    cfg->projector_bias = true;

    FC_TRY(jsection(top, "text_config", sec_text, sizeof sec_text, &text));
    const char *tmt = NULL;
    FC_TRY(jstr(&text, "model_type", &tmt));
    fc_arch tarch = FC_ARCH_LLAMA; /* LlavaConfig: text_config.get("model_type", "llama") */
    if (tmt && !strcmp(tmt, "qwen2"))
        tarch = FC_ARCH_QWEN2;
    else if (tmt && strcmp(tmt, "llama"))
        return jerr(&text, "model_type", FC_EUNSUPPORTED, "text model '%.40s' is not supported (llama or qwen2)", tmt);
    FC_TRY(parse_llm(&text, tarch, &cfg->text));
    /* The llava-1.5 file keeps pad_token_id (32001) at top level only; the model pads with it. */
    if (!jget(&text, "pad_token_id")) FC_TRY(jtoken(top, "pad_token_id", &cfg->text.pad_token_id));
    if (!cfg->text.torch_dtype[0]) {
        FC_TRY(jstr_copy(top, "torch_dtype", cfg->text.torch_dtype, sizeof cfg->text.torch_dtype));
        FC_TRY(jstr_copy(top, "dtype", cfg->text.torch_dtype, sizeof cfg->text.torch_dtype));
    }

    FC_TRY(jsection(top, "vision_config", sec_vision, sizeof sec_vision, &vision));
    static const char *const clip_types[] = {"clip_vision_model", NULL};
    FC_TRY(parse_vision(&vision, vision.obj ? &CLIP_CLASS : &LLAVA_ABSENT, clip_types, &cfg->vision));

    /* image_token_index on disk; newer transformers also accept image_token_id (attribute_map) */
    FC_TRY(jtoken(top, "image_token_index", &cfg->image_token_id));
    FC_TRY(jtoken(top, "image_token_id", &cfg->image_token_id));
    FC_TRY(jact(top, "projector_hidden_act", &cfg->projector_act));
    FC_TRY(jbool(top, "multimodal_projector_bias", &cfg->projector_bias));
    const cJSON *fl = jget(top, "vision_feature_layer");
    if (cJSON_IsArray(fl))
        return jerr(top, "vision_feature_layer", FC_EUNSUPPORTED, "a list of feature layers is not supported");
    int L = cfg->vision.num_layers;
    /* hidden_states has L + 1 entries (embeddings first), indexed from either end */
    FC_TRY(jint(top, "vision_feature_layer", -(long)L - 1, L, &cfg->vision_feature_layer));
    FC_TRY(jstr_copy(top, "vision_feature_select_strategy", cfg->vision_feature_select_strategy,
                     sizeof cfg->vision_feature_select_strategy));
    if (strcmp(cfg->vision_feature_select_strategy, "default") && strcmp(cfg->vision_feature_select_strategy, "full"))
        return jerr(top, "vision_feature_select_strategy", FC_EINVAL, "expected 'default' or 'full', got '%s'",
                    cfg->vision_feature_select_strategy);
    return FC_OK;
}

static fc_err parse_minicpmv(const jobj *top, fc_model_config *cfg) {
    char sec_vision[64], sec_slice[64];
    jobj vision, slice;
    cfg->arch = FC_ARCH_MINICPMV;
    FC_TRY(parse_llm(top, FC_ARCH_QWEN2, &cfg->text)); /* MiniCPMVConfig extends Qwen2Config */

    FC_TRY(jsection(top, "vision_config", sec_vision, sizeof sec_vision, &vision));
    static const char *const siglip_types[] = {"siglip", "siglip_vision_model", NULL};
    FC_TRY(parse_vision(&vision, vision.obj ? &SIGLIP_CLASS : &MINICPMV_ABSENT, siglip_types, &cfg->vision));

    cfg->query_num = 64;
    cfg->use_image_id = true;
    cfg->drop_vision_last_layer = true; /* the class default; the 2.6 checkpoint's 27 layers suggest its file says false */
    FC_TRY(jint(top, "query_num", 1, FC_HFCONFIG_MAX_COUNT - 1, &cfg->query_num));
    FC_TRY(jbool(top, "use_image_id", &cfg->use_image_id));
    FC_TRY(jbool(top, "drop_vision_last_layer", &cfg->drop_vision_last_layer));
    if (cfg->drop_vision_last_layer && cfg->vision.num_layers < 2)
        return jerr(top, "drop_vision_last_layer", FC_EINVAL, "the vision tower has only %d layer",
                    cfg->vision.num_layers);
    cfg->vision_feature_layer = cfg->drop_vision_last_layer ? -2 : -1;

    FC_TRY(jsection(top, "slice_config", sec_slice, sizeof sec_slice, &slice));
    FC_TRY(jcheck_duplicates(&slice));
    cfg->max_slice_nums = slice.obj ? 9 : 1;
    cfg->slice_patch_size = 14;
    cfg->scale_resolution = 448;
    FC_TRY(jint(&slice, "max_slice_nums", 1, 1024, &cfg->max_slice_nums));
    FC_TRY(jint(&slice, "patch_size", 1, 4096, &cfg->slice_patch_size));
    FC_TRY(jint(&slice, "scale_resolution", 1, 65536, &cfg->scale_resolution));
    if (cfg->scale_resolution < cfg->slice_patch_size)
        return jerr(&slice, "scale_resolution", FC_EINVAL, "%d is smaller than patch_size %d", cfg->scale_resolution,
                    cfg->slice_patch_size);
    return FC_OK;
}

static fc_err parse_tree(fc_model_config *cfg, const char *name, const cJSON *root) {
    memset(cfg, 0, sizeof *cfg);
    cfg->image_token_id = -1;
    jobj top = {.file = name, .section = "", .obj = root};
    FC_TRY(jcheck_duplicates(&top));
    const char *mt = NULL;
    FC_TRY(jstr(&top, "model_type", &mt));
    if (!mt) return jerr(&top, "model_type", FC_ENOTFOUND, "missing (expected llama, qwen2, llava or minicpmv)");
    if (!strcmp(mt, "llama") || !strcmp(mt, "qwen2")) {
        cfg->arch = !strcmp(mt, "llama") ? FC_ARCH_LLAMA : FC_ARCH_QWEN2;
        return parse_llm(&top, cfg->arch, &cfg->text);
    }
    if (!strcmp(mt, "llava")) return parse_llava(&top, cfg);
    if (!strcmp(mt, "minicpmv")) return parse_minicpmv(&top, cfg);
    return jerr(&top, "model_type", FC_EUNSUPPORTED, "'%.40s' is not supported (llama, qwen2, llava or minicpmv)", mt);
}

/* ---- bytes -> JSON tree ---- */

/* Offset of the first byte that breaks UTF-8 (overlongs, surrogates, > U+10FFFF and NUL included),
 * or len when the text is valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n + 1;
    }
    return len;
}

static void line_col(const char *buf, size_t off, size_t *line, size_t *col) {
    *line = 1, *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') ++*line, *col = 1;
        else ++*col;
    }
}

fc_err fc_hfconfig_parse(fc_model_config *cfg, const char *name, const char *buf, size_t len) {
    if (len == 0) return fc_err_set(FC_EFORMAT, "%s: file is empty", name);
    if (len > HFCONFIG_MAX_BYTES)
        return fc_err_set(FC_EFORMAT, "%s: %zu bytes is too large for a config (limit %u)", name, len, HFCONFIG_MAX_BYTES);
    size_t bad = utf8_invalid_at((const unsigned char *)buf, len);
    if (bad < len) {
        size_t line, col;
        line_col(buf, bad, &line, &col);
        return fc_err_set(FC_EFORMAT, "%s: invalid UTF-8 (byte 0x%02x) at byte offset %zu (line %zu, column %zu)", name,
                          (unsigned char)buf[bad], bad, line, col);
    }
    /* cJSON wants a NUL-terminated text to reject trailing garbage ("{} x") */
    char *text = fc_malloc(len + 1, "config.json text");
    if (!text) return fc_err_prefix(FC_ENOMEM, "%s", name);
    memcpy(text, buf, len);
    text[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        /* cJSON reports where it stopped, which can be a character past the fault (or the end of the text
         * for an unterminated value): hence "near" */
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
        size_t line, col;
        line_col(text, off, &line, &col);
        fc_err e = fc_err_set(FC_EFORMAT, "%s: invalid JSON near byte offset %zu (line %zu, column %zu)%s", name, off,
                              line, col, off >= len ? ": unexpected end of text" : "");
        free(text);
        return e;
    }
    fc_err e = cJSON_IsObject(root) ? parse_tree(cfg, name, root)
                                    : fc_err_set(FC_EFORMAT, "%s: expected a JSON object at top level, got %s", name,
                                                 json_type_name(root));
    cJSON_Delete(root);
    free(text);
    return e;
}

/* ---- files and folders ---- */

fc_err fc_hfconfig_load(fc_model_config *cfg, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return fc_err_set(errno == ENOENT ? FC_ENOTFOUND : FC_EIO, "%s: cannot open: %s", path, strerror(errno));
    char file[4096];
    if (S_ISDIR(st.st_mode)) {
        static const char *const names[] = {"config.json", "llm_config.json"};
        int dirlen = (int)strlen(path);
        while (dirlen > 1 && path[dirlen - 1] == '/') dirlen--; /* "dir/" -> "dir/config.json", not "dir//..." */
        file[0] = '\0';
        for (int i = 0; i < 2 && !file[0]; i++) {
            int k = snprintf(file, sizeof file, "%.*s/%s", dirlen, path, names[i]);
            if (k < 0 || (size_t)k >= sizeof file) return fc_err_set(FC_EINVAL, "%.200s...: path too long", path);
            if (stat(file, &st) != 0) file[0] = '\0';
        }
        if (!file[0]) return fc_err_set(FC_ENOTFOUND, "%s: no config.json or llm_config.json in this folder", path);
    } else {
        if (strlen(path) >= sizeof file) return fc_err_set(FC_EINVAL, "%.200s...: path too long", path);
        strcpy(file, path);
    }
    char *buf = NULL;
    size_t len = 0;
    FC_TRY(fc_file_read(file, HFCONFIG_MAX_BYTES, "a config", &buf, &len));
    fc_err e = fc_hfconfig_parse(cfg, file, buf, len);
    free(buf);
    return e;
}
