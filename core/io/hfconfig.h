/* hfconfig.h: a Hugging Face config.json read into the fields our models use, with the defaults
 * transformers applies per model_type where the file leaves a field out.
 *
 * Understood layouts: a plain decoder (model_type "llama" or "qwen2"), LLaVA ("llava": text_config +
 * vision_config, with LlamaConfig / CLIPVisionConfig defaults), and MiniCPM-V ("minicpmv": the Qwen2
 * fields at top level plus vision_config (SigLIP), query_num, slice_config, ...). A folder with no
 * config.json but an llm_config.json (as ../shared/data/models/minicpm-v-2_6 has) reads that as the
 * decoder. Errors name the file and the key: "config.json: text_config.num_attention_heads: expected a
 * positive integer, got -3"; keys we do not use are ignored (HF configs carry many), but every key we
 * use is type- and range-checked, and inconsistent sizes (hidden_size not divisible by heads, kv heads
 * not dividing heads) are errors.
 */
#ifndef FC_HFCONFIG_H
#define FC_HFCONFIG_H

#include <stdbool.h>

#include "core/base/err.h"
#include "kernels/ops.h" /* fc_act */

typedef enum { FC_ARCH_LLAMA = 0, FC_ARCH_QWEN2, FC_ARCH_LLAVA, FC_ARCH_MINICPMV, FC_ARCH_COUNT } fc_arch;
const char *fc_arch_name(fc_arch a);


/* The decoder (Llama or Qwen2). */
typedef struct {
    fc_arch arch;              /* FC_ARCH_LLAMA or FC_ARCH_QWEN2 */
    int hidden_size;           /* C */
    int intermediate_size;
    int num_layers;            /* L */
    int num_heads;             /* H */
    int num_kv_heads;          /* Hkv (== H without GQA) */
    int head_dim;              /* D; config's head_dim or hidden/heads */
    int vocab_size;            /* V */
    int max_position_embeddings;
    double rms_norm_eps;
    double rope_theta;
    bool attention_bias;       /* q/k/v bias (Qwen2: true) */
    bool mlp_bias;
    bool tie_word_embeddings;
    fc_act hidden_act;
    int bos_token_id, eos_token_id, pad_token_id; /* -1 if absent */
    char torch_dtype[16];      /* as written ("float16", "bfloat16", "float32"), "" if absent */
} fc_llm_config;

/* The vision tower (CLIP for LLaVA, SigLIP/NaViT for MiniCPM-V). */
typedef struct {
    bool present;
    int hidden_size, intermediate_size, num_layers, num_heads;
    int image_size, patch_size, num_channels;
    double layer_norm_eps;
    fc_act hidden_act;
} fc_vision_config;

typedef struct {
    fc_arch arch;                /* of the whole model */
    fc_llm_config text;
    fc_vision_config vision;
    /* LLaVA */
    int image_token_id;          /* <image> (32000 for llava-1.5); -1 if none */
    int vision_feature_layer;    /* -2 */
    char vision_feature_select_strategy[16]; /* "default" (drop CLS) or "full" */
    fc_act projector_act;
    /* MiniCPM-V */
    int query_num;               /* 64 */
    int max_slice_nums;          /* 9 */
    int scale_resolution;        /* 448 */
    bool use_image_id;
    bool drop_vision_last_layer;
} fc_model_config;

/* Reads `path` (a config.json, or a folder holding config.json or llm_config.json). On failure the
 * message names the file and key; *cfg is unspecified. */
fc_err fc_hfconfig_load(fc_model_config *cfg, const char *path);
/* Prints the parsed config as indented "key: value" lines (used by fc-eval inspect). */
void fc_hfconfig_print(const fc_model_config *cfg, void *file /* FILE* */);

#endif
