/* hfconfig.h: a Hugging Face config.json read into the fields our models use, with the defaults
 * transformers applies per model_type where the file leaves a field out.
 *
 * Understood layouts: a plain decoder (model_type "llama" or "qwen2"), LLaVA ("llava": text_config +
 * vision_config, with LlamaConfig / CLIPVisionConfig defaults), and MiniCPM-V ("minicpmv": the Qwen2
 * fields at top level plus vision_config (SigLIP), query_num, slice_config, ...). A folder with no
 * config.json but an llm_config.json (as ../shared/data/models/minicpm-v-2_6 has) reads that as the
 * decoder. Errors name the file and the key: "config.json: text_config.num_attention_heads: expected
 * integer, got string"; keys we do not use are ignored (HF configs carry many), but every key we
 * use is type- and range-checked, and inconsistent sizes (hidden_size not divisible by heads, kv heads
 * not dividing heads) are errors. A JSON null counts as absent (HF's None: the default applies).
 */
#ifndef FC_HFCONFIG_H
#define FC_HFCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/err.h"
#include "kernels/ops.h" /* fc_act */

typedef enum { FC_ARCH_LLAMA = 0, FC_ARCH_QWEN2, FC_ARCH_LLAVA, FC_ARCH_MINICPMV, FC_ARCH_COUNT } fc_arch;
/* "llama", "qwen2", "llava", "minicpmv" (the HF model_type); "?" outside the enum. */
const char *fc_arch_name(fc_arch a);

/* Upper bounds of what a config may ask for, so that an absurd value is an error here and not a giant
 * allocation later. Counts (sizes, layers, heads) are < FC_HFCONFIG_MAX_COUNT, heads * head_dim too;
 * vocab, positions and token ids < FC_HFCONFIG_MAX_VOCAB. */
#define FC_HFCONFIG_MAX_COUNT (1 << 20)
#define FC_HFCONFIG_MAX_VOCAB (1 << 24)

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
    bool attention_bias;       /* q/k/v bias (Qwen2: always true, hard-coded in modeling_qwen2.py) */
    bool mlp_bias;
    bool tie_word_embeddings;
    fc_act hidden_act;
    int bos_token_id, eos_token_id, pad_token_id; /* -1 if absent; a list of eos ids keeps the first */
    char torch_dtype[16];      /* "dtype" or "torch_dtype" as written ("float16", ...), "" if absent */
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
    /* LLaVA (-1 / "" / defaults elsewhere) */
    int image_token_id;          /* <image> (32000 for llava-1.5); -1 if none */
    int vision_feature_layer;    /* index into the tower's hidden states (-2 for LLaVA). MiniCPM-V: -2 when
                                    drop_vision_last_layer, else -1, the same meaning */
    char vision_feature_select_strategy[16]; /* "default" (drop CLS) or "full" */
    fc_act projector_act;
    bool projector_bias;         /* multimodal_projector_bias (true) */
    /* MiniCPM-V (0 / false elsewhere) */
    int query_num;               /* 64 */
    int max_slice_nums;          /* 9 in the real file; 1 when slice_config is absent (MiniCPMVConfig) */
    int slice_patch_size;        /* slice_config.patch_size, 14 */
    int scale_resolution;        /* 448 */
    bool use_image_id;
    bool drop_vision_last_layer;
} fc_model_config;

/* Reads `path` (a config.json, or a folder holding config.json or else llm_config.json) into *cfg.
 * Returns FC_EIO (unreadable), FC_EFORMAT (not UTF-8, not JSON, wrong JSON type of a used key),
 * FC_EINVAL (a value out of range or sizes that do not fit together), FC_ENOTFOUND (no config file in
 * the folder), FC_EUNSUPPORTED (a model_type, activation or rope scaling we do not implement); the
 * message names the file and the key. On failure *cfg is unspecified. Allocates nothing that outlives
 * the call. */
fc_err fc_hfconfig_load(fc_model_config *cfg, const char *path);

/* The same from `len` bytes in memory (need not be NUL-terminated); `name` stands for the file in
 * messages. The fuzz target's entry point. */
fc_err fc_hfconfig_parse(fc_model_config *cfg, const char *name, const char *buf, size_t len);

/* Prints every parsed field as "key: value" lines, sections indented (used by fc-eval inspect). */
void fc_hfconfig_print(const fc_model_config *cfg, FILE *f);

#endif
