/* hfconfig_print.c: fc_model_config as "key: value" lines, the form `fc-eval inspect` shows. Keys are
 * the HF names where one exists, so a line can be compared with the config.json it came from. */
#include "core/io/hfconfig.h"

static const char *yn(bool b) { return b ? "true" : "false"; }

static void print_llm(const fc_llm_config *t, FILE *f) {
    fprintf(f, "text:\n");
    fprintf(f, "  model_type: %s\n", fc_arch_name(t->arch));
    fprintf(f, "  hidden_size: %d\n", t->hidden_size);
    fprintf(f, "  intermediate_size: %d\n", t->intermediate_size);
    fprintf(f, "  num_hidden_layers: %d\n", t->num_layers);
    fprintf(f, "  num_attention_heads: %d\n", t->num_heads);
    fprintf(f, "  num_key_value_heads: %d\n", t->num_kv_heads);
    fprintf(f, "  head_dim: %d\n", t->head_dim);
    fprintf(f, "  vocab_size: %d\n", t->vocab_size);
    fprintf(f, "  max_position_embeddings: %d\n", t->max_position_embeddings);
    fprintf(f, "  rms_norm_eps: %.9g\n", t->rms_norm_eps);
    fprintf(f, "  rope_theta: %.9g\n", t->rope_theta);
    fprintf(f, "  attention_bias: %s\n", yn(t->attention_bias));
    fprintf(f, "  mlp_bias: %s\n", yn(t->mlp_bias));
    fprintf(f, "  tie_word_embeddings: %s\n", yn(t->tie_word_embeddings));
    fprintf(f, "  hidden_act: %s\n", fc_act_name(t->hidden_act));
    fprintf(f, "  bos_token_id: %d\n", t->bos_token_id);
    fprintf(f, "  eos_token_id: %d\n", t->eos_token_id);
    fprintf(f, "  pad_token_id: %d\n", t->pad_token_id);
    fprintf(f, "  torch_dtype: %s\n", t->torch_dtype[0] ? t->torch_dtype : "(unset)");
}

static void print_vision(const fc_vision_config *v, FILE *f) {
    fprintf(f, "vision:\n");
    fprintf(f, "  hidden_size: %d\n", v->hidden_size);
    fprintf(f, "  intermediate_size: %d\n", v->intermediate_size);
    fprintf(f, "  num_hidden_layers: %d\n", v->num_layers);
    fprintf(f, "  num_attention_heads: %d\n", v->num_heads);
    fprintf(f, "  image_size: %d\n", v->image_size);
    fprintf(f, "  patch_size: %d\n", v->patch_size);
    fprintf(f, "  num_channels: %d\n", v->num_channels);
    fprintf(f, "  layer_norm_eps: %.9g\n", v->layer_norm_eps);
    fprintf(f, "  hidden_act: %s\n", fc_act_name(v->hidden_act));
}

void fc_hfconfig_print(const fc_model_config *cfg, FILE *f) {
    fprintf(f, "model_type: %s\n", fc_arch_name(cfg->arch));
    print_llm(&cfg->text, f);
    if (cfg->vision.present) print_vision(&cfg->vision, f);
    if (cfg->arch == FC_ARCH_LLAVA) {
        fprintf(f, "llava:\n");
        fprintf(f, "  image_token_id: %d\n", cfg->image_token_id);
        fprintf(f, "  vision_feature_layer: %d\n", cfg->vision_feature_layer);
        fprintf(f, "  vision_feature_select_strategy: %s\n", cfg->vision_feature_select_strategy);
        fprintf(f, "  projector_hidden_act: %s\n", fc_act_name(cfg->projector_act));
        fprintf(f, "  multimodal_projector_bias: %s\n", yn(cfg->projector_bias));
    } else if (cfg->arch == FC_ARCH_MINICPMV) {
        fprintf(f, "minicpmv:\n");
        fprintf(f, "  query_num: %d\n", cfg->query_num);
        fprintf(f, "  max_slice_nums: %d\n", cfg->max_slice_nums);
        fprintf(f, "  slice_patch_size: %d\n", cfg->slice_patch_size);
        fprintf(f, "  scale_resolution: %d\n", cfg->scale_resolution);
        fprintf(f, "  use_image_id: %s\n", yn(cfg->use_image_id));
        fprintf(f, "  drop_vision_last_layer: %s\n", yn(cfg->drop_vision_last_layer));
        fprintf(f, "  vision_feature_layer: %d\n", cfg->vision_feature_layer);
    }
}
