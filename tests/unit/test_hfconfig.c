/* test_hfconfig.c: config.json reading. Expected values come from (a) the reference tables for the two
 * real configs in ../shared/data/models (model-architectures.md §2.1, §3.1), (b) what transformers reports
 * for the tiny configs in tests/fixtures/config/<name>/ (expected.json, written by
 * tools/make_config_fixtures.py), and (c) the definition of each rejected input, whose message must name
 * the file and the key. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/io/hfconfig.h"
#include "tests/test.h"

#define FIXTURES "tests/fixtures/config"

/* ---- the two real configs ---- */

static void test_llava_real(fc_test *t) {
    char path[512];
    snprintf(path, sizeof path, "%s/data/models/llava-1.5-7b-hf", fc_test_shared());
    fc_model_config c;
    fc_err e = fc_hfconfig_load(&c, path);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    const fc_llm_config *x = &c.text;
    FC_CHECK(t, c.arch == FC_ARCH_LLAVA && x->arch == FC_ARCH_LLAMA, "arch %d/%d", c.arch, x->arch);
    FC_CHECK(t, x->hidden_size == 4096 && x->intermediate_size == 11008 && x->num_layers == 32, "sizes");
    FC_CHECK(t, x->num_heads == 32 && x->num_kv_heads == 32 && x->head_dim == 128, "heads %d/%d/%d", x->num_heads,
             x->num_kv_heads, x->head_dim);
    FC_CHECK(t, x->vocab_size == 32064 && x->max_position_embeddings == 4096, "vocab %d pos %d", x->vocab_size,
             x->max_position_embeddings);
    FC_CHECK(t, x->rms_norm_eps == 1e-5 && x->rope_theta == 10000.0, "eps %g theta %g", x->rms_norm_eps, x->rope_theta);
    FC_CHECK(t, !x->attention_bias && !x->mlp_bias && !x->tie_word_embeddings, "bias/tie");
    FC_CHECK(t, x->hidden_act == FC_ACT_SILU, "act %d", x->hidden_act);
    FC_CHECK(t, x->bos_token_id == 1 && x->eos_token_id == 2 && x->pad_token_id == 32001, "ids %d %d %d",
             x->bos_token_id, x->eos_token_id, x->pad_token_id);
    FC_CHECK(t, !strcmp(x->torch_dtype, "float16"), "dtype '%s'", x->torch_dtype);
    const fc_vision_config *v = &c.vision;
    FC_CHECK(t, v->present && v->hidden_size == 1024 && v->intermediate_size == 4096 && v->num_layers == 24 &&
                    v->num_heads == 16, "vision sizes");
    FC_CHECK(t, v->image_size == 336 && v->patch_size == 14 && v->num_channels == 3, "vision image");
    FC_CHECK(t, v->hidden_act == FC_ACT_QUICK_GELU && v->layer_norm_eps == 1e-5, "vision act/eps");
    FC_CHECK(t, c.image_token_id == 32000 && c.vision_feature_layer == -2, "image token %d layer %d", c.image_token_id,
             c.vision_feature_layer);
    FC_CHECK(t, !strcmp(c.vision_feature_select_strategy, "default"), "strategy");
    FC_CHECK(t, c.projector_act == FC_ACT_GELU && c.projector_bias, "projector");
}

static void test_minicpm_llm_real(fc_test *t) {
    char path[512];
    snprintf(path, sizeof path, "%s/data/models/minicpm-v-2_6", fc_test_shared());
    fc_model_config c;
    fc_err e = fc_hfconfig_load(&c, path); /* the folder has llm_config.json only */
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    const fc_llm_config *x = &c.text;
    FC_CHECK(t, c.arch == FC_ARCH_QWEN2 && x->arch == FC_ARCH_QWEN2 && !c.vision.present, "arch %d", c.arch);
    FC_CHECK(t, x->hidden_size == 3584 && x->intermediate_size == 18944 && x->num_layers == 28, "sizes");
    FC_CHECK(t, x->num_heads == 28 && x->num_kv_heads == 4 && x->head_dim == 128, "heads");
    FC_CHECK(t, x->vocab_size == 151666 && x->max_position_embeddings == 32768, "vocab/pos");
    FC_CHECK(t, x->rms_norm_eps == 1e-6 && x->rope_theta == 1e6, "eps %g theta %g", x->rms_norm_eps, x->rope_theta);
    FC_CHECK(t, x->attention_bias && !x->mlp_bias && !x->tie_word_embeddings, "bias/tie");
    FC_CHECK(t, x->bos_token_id == 151643 && x->eos_token_id == 151645 && x->pad_token_id == -1, "ids");
    FC_CHECK(t, !strcmp(x->torch_dtype, "bfloat16"), "dtype '%s'", x->torch_dtype);
}

/* ---- the transformers-written fixtures ---- */

typedef struct {
    fc_test *t;
    const char *name;
    bool ok;
} cmp;

static const cJSON *need(cmp *c, const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    c->t->checks++;
    if (!v) c->ok = fc_test_fail(c->t, "%s: expected.json lacks '%s'", c->name, key);
    return v;
}

static void cmp_int(cmp *c, const cJSON *obj, const char *key, int got) {
    const cJSON *v = need(c, obj, key);
    if (v && !(cJSON_IsNumber(v) && v->valuedouble == got))
        c->ok = fc_test_fail(c->t, "%s: %s: got %d, transformers says %g", c->name, key, got, v->valuedouble);
}

static void cmp_double(cmp *c, const cJSON *obj, const char *key, double got) {
    const cJSON *v = need(c, obj, key);
    /* exact: both sides parse the same decimal text with a correctly rounded strtod */
    if (v && !(cJSON_IsNumber(v) && v->valuedouble == got))
        c->ok = fc_test_fail(c->t, "%s: %s: got %.17g, transformers says %.17g", c->name, key, got, v->valuedouble);
}

static void cmp_bool(cmp *c, const cJSON *obj, const char *key, bool got) {
    const cJSON *v = need(c, obj, key);
    if (v && !(cJSON_IsBool(v) && (bool)cJSON_IsTrue(v) == got))
        c->ok = fc_test_fail(c->t, "%s: %s: got %s", c->name, key, got ? "true" : "false");
}

static void cmp_str(cmp *c, const cJSON *obj, const char *key, const char *got) {
    const cJSON *v = need(c, obj, key);
    if (v && !(cJSON_IsString(v) && !strcmp(v->valuestring, got)))
        c->ok = fc_test_fail(c->t, "%s: %s: got '%s', transformers says '%s'", c->name, key, got,
                             cJSON_IsString(v) ? v->valuestring : "?");
}

/* Activations compare through our canonical names: HF's name must map to the same fc_act. */
static void cmp_act(cmp *c, const cJSON *obj, const char *key, fc_act got) {
    const cJSON *v = need(c, obj, key);
    fc_act want;
    if (v && !(cJSON_IsString(v) && fc_act_from_name(v->valuestring, &want) == FC_OK && want == got))
        c->ok = fc_test_fail(c->t, "%s: %s: got %s, transformers says %s", c->name, key, fc_act_name(got),
                             cJSON_IsString(v) ? v->valuestring : "?");
}

static void compare_fixture(fc_test *t, const char *name) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "/%s/expected.json", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fc_test_fail(t, "%s: cannot open (run tools/make_config_fixtures.py)", path);
        return;
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *exp = cJSON_Parse(buf);
    if (!exp) {
        fc_test_fail(t, "%s: not JSON", path);
        return;
    }
    snprintf(path, sizeof path, FIXTURES "/%s", name);
    fc_model_config c;
    fc_err e = fc_hfconfig_load(&c, path);
    t->checks++;
    if (e) {
        fc_test_fail(t, "%s: %s", name, fc_errmsg());
        cJSON_Delete(exp);
        return;
    }
    cmp m = {t, name, true};
    cmp_str(&m, exp, "arch", fc_arch_name(c.arch));
    const cJSON *x = need(&m, exp, "text");
    if (x) {
        const fc_llm_config *l = &c.text;
        cmp_str(&m, x, "model_type", fc_arch_name(l->arch));
        cmp_int(&m, x, "hidden_size", l->hidden_size);
        cmp_int(&m, x, "intermediate_size", l->intermediate_size);
        cmp_int(&m, x, "num_layers", l->num_layers);
        cmp_int(&m, x, "num_heads", l->num_heads);
        cmp_int(&m, x, "num_kv_heads", l->num_kv_heads);
        cmp_int(&m, x, "head_dim", l->head_dim);
        cmp_int(&m, x, "vocab_size", l->vocab_size);
        cmp_int(&m, x, "max_position_embeddings", l->max_position_embeddings);
        cmp_double(&m, x, "rms_norm_eps", l->rms_norm_eps);
        cmp_double(&m, x, "rope_theta", l->rope_theta);
        cmp_bool(&m, x, "attention_bias", l->attention_bias);
        cmp_bool(&m, x, "mlp_bias", l->mlp_bias);
        cmp_bool(&m, x, "tie_word_embeddings", l->tie_word_embeddings);
        cmp_act(&m, x, "hidden_act", l->hidden_act);
        cmp_int(&m, x, "bos_token_id", l->bos_token_id);
        cmp_int(&m, x, "eos_token_id", l->eos_token_id);
        cmp_int(&m, x, "pad_token_id", l->pad_token_id);
        cmp_str(&m, x, "torch_dtype", l->torch_dtype);
    }
    cmp_bool(&m, exp, "vision_present", c.vision.present);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(exp, "vision");
    if (v) {
        const fc_vision_config *w = &c.vision;
        cmp_int(&m, v, "hidden_size", w->hidden_size);
        cmp_int(&m, v, "intermediate_size", w->intermediate_size);
        cmp_int(&m, v, "num_layers", w->num_layers);
        cmp_int(&m, v, "num_heads", w->num_heads);
        cmp_int(&m, v, "image_size", w->image_size);
        cmp_int(&m, v, "patch_size", w->patch_size);
        cmp_int(&m, v, "num_channels", w->num_channels);
        cmp_double(&m, v, "layer_norm_eps", w->layer_norm_eps);
        cmp_act(&m, v, "hidden_act", w->hidden_act);
    }
    if (c.arch == FC_ARCH_LLAVA) {
        cmp_int(&m, exp, "image_token_id", c.image_token_id);
        cmp_int(&m, exp, "vision_feature_layer", c.vision_feature_layer);
        cmp_str(&m, exp, "vision_feature_select_strategy", c.vision_feature_select_strategy);
        cmp_act(&m, exp, "projector_act", c.projector_act);
        cmp_bool(&m, exp, "projector_bias", c.projector_bias);
    }
    if (c.arch == FC_ARCH_MINICPMV) {
        cmp_int(&m, exp, "query_num", c.query_num);
        cmp_int(&m, exp, "max_slice_nums", c.max_slice_nums);
        cmp_int(&m, exp, "slice_patch_size", c.slice_patch_size);
        cmp_int(&m, exp, "scale_resolution", c.scale_resolution);
        cmp_bool(&m, exp, "use_image_id", c.use_image_id);
        cmp_bool(&m, exp, "drop_vision_last_layer", c.drop_vision_last_layer);
        cmp_int(&m, exp, "vision_feature_layer", c.vision_feature_layer);
    }
    cJSON_Delete(exp);
}

#define FIXTURE_CASE(nm)                                \
    static void test_fixture_##nm(fc_test *t) { compare_fixture(t, #nm); }
FIXTURE_CASE(llama_tiny)
FIXTURE_CASE(llama_head_dim)
FIXTURE_CASE(llama_minimal)
FIXTURE_CASE(qwen2_tiny)
FIXTURE_CASE(qwen2_minimal)
FIXTURE_CASE(llava_tiny)
FIXTURE_CASE(llava_qwen2_tiny)
FIXTURE_CASE(llava_minimal)
FIXTURE_CASE(minicpmv_tiny)
FIXTURE_CASE(minicpmv_minimal)
FIXTURE_CASE(minicpmv_no_vision)

/* ---- rejected inputs ---- */

#define LLAMA_OK "\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4"

typedef struct {
    const char *what;
    const char *json; /* NULL-free text; the length is strlen unless len is set */
    size_t len;
    fc_err code;
    const char *msg1, *msg2; /* substrings the message must hold (msg2 may be NULL) */
} bad_case;

static const bad_case bad_cases[] = {
    {"empty file", "", 0, FC_EFORMAT, "config.json: file is empty", NULL},
    /* cJSON stops one past the '}' at offset 23 */
    {"invalid JSON", "{\"model_type\": \"llama\",}", 0, FC_EFORMAT, "config.json: invalid JSON near byte offset 2",
     "(line 1, column 2"},
    {"invalid JSON line 3", "{\n\"model_type\": \"llama\",\n\"hidden_size\": 64x}", 0, FC_EFORMAT,
     "config.json: invalid JSON", "line 3"},
    /* cJSON blames the start of the unterminated string */
    {"truncated JSON", "{\"model_type\": \"ll", 0, FC_EFORMAT, "config.json: invalid JSON near byte offset 16", NULL},
    {"truncated after colon", "{\"model_type\": ", 0, FC_EFORMAT, "config.json: invalid JSON near byte offset 15",
     "unexpected end of text"},
    {"trailing garbage", "{\"model_type\": \"llama\"} x", 0, FC_EFORMAT, "config.json: invalid JSON near byte offset 24",
     NULL},
    {"invalid UTF-8", "{\"model_type\": \"ll\xff\"}", 0, FC_EFORMAT, "config.json: invalid UTF-8 (byte 0xff) at byte offset 18",
     NULL},
    {"overlong UTF-8", "{\"model_type\": \"\xc0\xaf\"}", 0, FC_EFORMAT, "invalid UTF-8", "offset 16"},
    {"UTF-16 surrogate", "{\"model_type\": \"\xed\xa0\x80\"}", 0, FC_EFORMAT, "invalid UTF-8", NULL},
    {"NUL byte", "{\"model_type\"\0: 1}", 17, FC_EFORMAT, "invalid UTF-8 (byte 0x00) at byte offset 13", NULL},
    {"top-level array", "[1, 2]", 0, FC_EFORMAT, "config.json: expected a JSON object at top level, got array", NULL},
    {"deep nesting", NULL, 0, FC_EFORMAT, "config.json: invalid JSON", NULL},
    {"missing model_type", "{\"hidden_size\": 64}", 0, FC_ENOTFOUND, "config.json: model_type: missing", NULL},
    {"model_type not a string", "{\"model_type\": 7}", 0, FC_EFORMAT, "config.json: model_type: expected string, got number", NULL},
    {"unknown model_type", "{\"model_type\": \"gpt2\"}", 0, FC_EUNSUPPORTED, "config.json: model_type: 'gpt2' is not supported",
     NULL},
    {"heads as string", "{\"model_type\": \"llava\", \"text_config\": {\"num_attention_heads\": \"32\"}}", 0, FC_EFORMAT,
     "config.json: text_config.num_attention_heads: expected integer, got string", NULL},
    {"heads fractional", "{" LLAMA_OK ", \"num_key_value_heads\": 2.5}", 0, FC_EFORMAT,
     "config.json: num_key_value_heads: expected integer, got 2.5", NULL},
    {"negative heads", "{\"model_type\": \"llama\", \"num_attention_heads\": -3}", 0, FC_EINVAL,
     "config.json: num_attention_heads: must be in [1, 1048575], got -3", NULL},
    {"zero layers", "{\"model_type\": \"qwen2\", \"num_hidden_layers\": 0}", 0, FC_EINVAL,
     "config.json: num_hidden_layers: must be in [1,", NULL},
    {"heads do not divide hidden", "{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 5}", 0,
     FC_EINVAL, "config.json: num_attention_heads: 5 does not divide hidden_size 64", NULL},
    {"kv heads do not divide heads", "{" LLAMA_OK ", \"num_key_value_heads\": 3}", 0, FC_EINVAL,
     "config.json: num_key_value_heads: 3 does not divide num_attention_heads 4", NULL},
    {"qwen2 default kv heads 32", "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 16}", 0,
     FC_EINVAL, "config.json: num_key_value_heads: 32 does not divide num_attention_heads 16", NULL},
    {"absurd vocab", "{" LLAMA_OK ", \"vocab_size\": 1000000000}", 0, FC_EINVAL,
     "config.json: vocab_size: must be in [1, 16777215], got 1000000000", NULL},
    {"huge number", "{\"model_type\": \"llama\", \"hidden_size\": 1e300}", 0, FC_EINVAL, "config.json: hidden_size: must be in", NULL},
    {"heads x head_dim too large", "{\"model_type\": \"llama\", \"num_attention_heads\": 1024, \"head_dim\": 1024}", 0, FC_EINVAL,
     "config.json: head_dim: num_attention_heads 1024 x head_dim 1024 is too large", NULL},
    {"eps zero", "{" LLAMA_OK ", \"rms_norm_eps\": 0}", 0, FC_EINVAL, "config.json: rms_norm_eps: must be in (0, 1)", NULL},
    {"theta negative", "{" LLAMA_OK ", \"rope_theta\": -1}", 0, FC_EINVAL, "config.json: rope_theta: must be in (0,", NULL},
    {"eps as string", "{" LLAMA_OK ", \"rms_norm_eps\": \"1e-6\"}", 0, FC_EFORMAT,
     "config.json: rms_norm_eps: expected number, got string", NULL},
    {"bool as number", "{" LLAMA_OK ", \"tie_word_embeddings\": 1}", 0, FC_EFORMAT,
     "config.json: tie_word_embeddings: expected boolean, got number", NULL},
    {"unknown activation", "{" LLAMA_OK ", \"hidden_act\": \"swishy\"}", 0, FC_EUNSUPPORTED,
     "config.json: hidden_act: unknown activation 'swishy'", NULL},
    {"gelu_fast is not gelu_tanh", "{" LLAMA_OK ", \"hidden_act\": \"gelu_fast\"}", 0, FC_EUNSUPPORTED,
     "config.json: hidden_act: unknown activation 'gelu_fast'", NULL},
    {"rope scaling", "{" LLAMA_OK ", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2}}", 0, FC_EUNSUPPORTED,
     "config.json: rope_scaling: rope scaling 'linear' is not supported", NULL},
    {"sliding window", "{\"model_type\": \"qwen2\", \"num_key_value_heads\": 4, \"use_sliding_window\": true}", 0,
     FC_EUNSUPPORTED, "config.json: use_sliding_window:", NULL},
    {"empty eos list", "{" LLAMA_OK ", \"eos_token_id\": []}", 0, FC_EFORMAT, "config.json: eos_token_id: expected integer or list", NULL},
    {"eos list with a string", "{" LLAMA_OK ", \"eos_token_id\": [2, \"x\"]}", 0, FC_EFORMAT,
     "config.json: eos_token_id: expected integer, got string", NULL},
    {"negative bos", "{" LLAMA_OK ", \"bos_token_id\": -5}", 0, FC_EINVAL, "config.json: bos_token_id: must be in [-1,", NULL},
    {"duplicate key", "{" LLAMA_OK ", \"hidden_size\": 128}", 0, FC_EFORMAT, "config.json: hidden_size: duplicate key", NULL},
    {"dtype too long", "{" LLAMA_OK ", \"torch_dtype\": \"float16float16float16\"}", 0, FC_EINVAL,
     "config.json: torch_dtype: value", NULL},
    {"text_config a string", "{\"model_type\": \"llava\", \"text_config\": \"llama\"}", 0, FC_EFORMAT,
     "config.json: text_config: expected object, got string", NULL},
    {"text model unknown", "{\"model_type\": \"llava\", \"text_config\": {\"model_type\": \"mistral\"}}", 0,
     FC_EUNSUPPORTED, "config.json: text_config.model_type: text model 'mistral' is not supported", NULL},
    {"vision model unknown", "{\"model_type\": \"llava\", \"vision_config\": {\"model_type\": \"siglip_vision_model\"}}", 0,
     FC_EUNSUPPORTED, "config.json: vision_config.model_type: vision model 'siglip_vision_model'", NULL},
    {"vision heads do not divide", "{\"model_type\": \"llava\", \"vision_config\": {\"num_attention_heads\": 7}}", 0,
     FC_EINVAL, "config.json: vision_config.num_attention_heads: 7 does not divide hidden_size 768", NULL},
    {"vision patch > image", "{\"model_type\": \"llava\", \"vision_config\": {\"patch_size\": 300}}", 0, FC_EINVAL,
     "config.json: vision_config.patch_size: 300 is larger than image_size 224", NULL},
    {"vision duplicate key", "{\"model_type\": \"llava\", \"vision_config\": {\"patch_size\": 14, \"patch_size\": 16}}", 0,
     FC_EFORMAT, "config.json: vision_config.patch_size: duplicate key", NULL},
    {"feature layer out of range", "{\"model_type\": \"llava\", \"vision_feature_layer\": 30}", 0, FC_EINVAL,
     "config.json: vision_feature_layer: must be in [-25, 24], got 30", NULL},
    {"feature layer list", "{\"model_type\": \"llava\", \"vision_feature_layer\": [-2, -5]}", 0, FC_EUNSUPPORTED,
     "config.json: vision_feature_layer: a list", NULL},
    {"bad strategy", "{\"model_type\": \"llava\", \"vision_feature_select_strategy\": \"cls\"}", 0, FC_EINVAL,
     "config.json: vision_feature_select_strategy: expected 'default' or 'full', got 'cls'", NULL},
    {"minicpmv slices zero", "{\"model_type\": \"minicpmv\", \"num_key_value_heads\": 4, \"slice_config\": {\"max_slice_nums\": 0}}",
     0, FC_EINVAL, "config.json: slice_config.max_slice_nums: must be in [1, 1024], got 0", NULL},
    {"minicpmv query_num type", "{\"model_type\": \"minicpmv\", \"num_key_value_heads\": 4, \"query_num\": true}", 0,
     FC_EFORMAT, "config.json: query_num: expected integer, got boolean", NULL},
};

static void test_bad_inputs(fc_test *t) {
    /* 2000 nested arrays: cJSON's nesting limit (1000) must turn it into an error, not a stack overflow */
    static char deep[4002];
    memset(deep, '[', 2000);
    memset(deep + 2000, ']', 2000);
    deep[4000] = '\0';
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        const char *json = b->json ? b->json : deep;
        size_t len = b->len ? b->len : strlen(json);
        fc_model_config c;
        fc_err_clear();
        fc_err e = fc_hfconfig_parse(&c, "config.json", json, len);
        const char *m = fc_errmsg();
        FC_CHECK(t, e == b->code, "%s: code %s, want %s (message: %s)", b->what, fc_err_name(e), fc_err_name(b->code), m);
        FC_CHECK(t, strstr(m, b->msg1) != NULL, "%s: message '%s' lacks '%s'", b->what, m, b->msg1);
        FC_CHECK(t, !b->msg2 || strstr(m, b->msg2) != NULL, "%s: message '%s' lacks '%s'", b->what, m, b->msg2);
    }
}

static void test_null_means_default(fc_test *t) {
    /* HF treats None as "use the default": head_dim null -> hidden/heads, kv null -> heads (also for Qwen2) */
    const char *j = "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 8, "
                    "\"num_key_value_heads\": null, \"head_dim\": null, \"pad_token_id\": null}";
    fc_model_config c;
    fc_err e = fc_hfconfig_parse(&c, "config.json", j, strlen(j));
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.text.num_kv_heads == 8 && c.text.head_dim == 8 && c.text.pad_token_id == -1, "kv %d hd %d pad %d",
             c.text.num_kv_heads, c.text.head_dim, c.text.pad_token_id);
}

static void test_image_token_id_alias(fc_test *t) {
    const char *j = "{\"model_type\": \"llava\", \"image_token_id\": 77}";
    fc_model_config c;
    fc_err e = fc_hfconfig_parse(&c, "config.json", j, strlen(j));
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, c.image_token_id == 77, "image_token_id %d", c.image_token_id);
}

static void test_files_and_folders(fc_test *t) {
    fc_model_config c;
    fc_err e = fc_hfconfig_load(&c, "tests/fixtures/config/no-such-dir");
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "no-such-dir"), "%s", fc_errmsg());
    e = fc_hfconfig_load(&c, "tests/fixtures"); /* a folder with neither file */
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "tests/fixtures: no config.json or llm_config.json"), "%s",
             fc_errmsg());
    e = fc_hfconfig_load(&c, FIXTURES "/llama_tiny/config.json"); /* a file path works too */
    FC_CHECK(t, e == FC_OK && c.text.hidden_size == 64, "%s", fc_errmsg());
    e = fc_hfconfig_load(&c, FIXTURES "/VERSIONS"); /* not JSON: the message names the path */
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), FIXTURES "/VERSIONS: invalid JSON near byte offset 0"), "%s", fc_errmsg());
}

static void test_act_names(fc_test *t) {
    /* HF spellings (transformers/activations.py ACT2CLS) onto the same formulas */
    static const struct {
        const char *name;
        fc_act act;
    } ok[] = {{"silu", FC_ACT_SILU},         {"swish", FC_ACT_SILU},
              {"gelu", FC_ACT_GELU},         {"gelu_python", FC_ACT_GELU},
              {"gelu_pytorch_tanh", FC_ACT_GELU_TANH}, {"gelu_new", FC_ACT_GELU_TANH},
              {"gelu_python_tanh", FC_ACT_GELU_TANH},  {"quick_gelu", FC_ACT_QUICK_GELU},
              {"relu", FC_ACT_RELU}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        fc_act a = FC_ACT_COUNT;
        FC_CHECK(t, fc_act_from_name(ok[i].name, &a) == FC_OK && a == ok[i].act, "%s -> %d", ok[i].name, a);
    }
    for (int a = 0; a < FC_ACT_COUNT; a++) { /* the canonical name round-trips */
        fc_act back = FC_ACT_COUNT;
        FC_CHECK(t, fc_act_from_name(fc_act_name((fc_act)a), &back) == FC_OK && (int)back == a, "%d", a);
    }
    static const char *const bad[] = {"gelu_fast", "gelu_10", "gelu_accurate", "tanh", "SiLU", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_act a = FC_ACT_RELU;
        FC_CHECK(t, fc_act_from_name(bad[i], &a) == FC_EUNSUPPORTED && a == FC_ACT_RELU, "%s accepted", bad[i]);
    }
    FC_CHECK(t, !strcmp(fc_act_name(FC_ACT_COUNT), "?"), "out-of-range name");
}

static void test_print(fc_test *t) {
    char path[512];
    snprintf(path, sizeof path, "%s/data/models/llava-1.5-7b-hf/config.json", fc_test_shared());
    fc_model_config c;
    FC_CHECK(t, fc_hfconfig_load(&c, path) == FC_OK, "%s", fc_errmsg());
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    FC_CHECK(t, f != NULL, "open_memstream");
    fc_hfconfig_print(&c, f);
    fclose(f);
    bool ok = strstr(out, "model_type: llava\n") && strstr(out, "  vocab_size: 32064\n") &&
              strstr(out, "  rms_norm_eps: 1e-05\n") && strstr(out, "  hidden_act: quick_gelu\n") &&
              strstr(out, "  image_token_id: 32000\n") && strstr(out, "  pad_token_id: 32001\n");
    FC_CHECK(t, ok, "print output:\n%s", out);
    free(out);
}

static const fc_test_case cases[] = {
    FC_CASE(test_llava_real),
    FC_CASE(test_minicpm_llm_real),
    FC_CASE(test_fixture_llama_tiny),
    FC_CASE(test_fixture_llama_head_dim),
    FC_CASE(test_fixture_llama_minimal),
    FC_CASE(test_fixture_qwen2_tiny),
    FC_CASE(test_fixture_qwen2_minimal),
    FC_CASE(test_fixture_llava_tiny),
    FC_CASE(test_fixture_llava_qwen2_tiny),
    FC_CASE(test_fixture_llava_minimal),
    FC_CASE(test_fixture_minicpmv_tiny),
    FC_CASE(test_fixture_minicpmv_minimal),
    FC_CASE(test_fixture_minicpmv_no_vision),
    FC_CASE(test_bad_inputs),
    FC_CASE(test_null_means_default),
    FC_CASE(test_image_token_id_alias),
    FC_CASE(test_files_and_folders),
    FC_CASE(test_act_names),
    FC_CASE(test_print),
};

int main(int argc, char **argv) { return fc_test_main(argc, argv, cases, FC_NCASES(cases)); }
