#!/usr/bin/env python3
"""make_config_fixtures.py: tiny config.json files written by transformers' save_pretrained, and the
values transformers reports for each field, for tests/unit/test_hfconfig.c.

Writes tests/fixtures/config/<name>/config.json and tests/fixtures/config/<name>/expected.json. The
expected values are read back the way the model code reads them: the config is reloaded with
AutoConfig.from_pretrained, and the facts that live in the modeling code rather than the config (is there a
q/k/v bias, an MLP bias, what head_dim do the projections have, are the embeddings tied) are taken from a
model instantiated from that config (random weights, a few KiB). MiniCPM-V is remote code that transformers
does not ship: its file is written here as the 2.6 release lays it out, and its expectations come from
Qwen2Config + SiglipVisionConfig (which MiniCPMVConfig builds on) and the MiniCPMVConfig defaults named in
the comments. Deterministic (no randomness reaches the outputs); versions recorded in VERSIONS and in each
expected.json.
"""
import json
import os
import shutil

import torch
import transformers
from transformers import (AutoConfig, AutoModelForCausalLM, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration, Qwen2Config, SiglipVisionConfig)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "config")
VERSIONS = {"transformers": transformers.__version__, "torch": torch.__version__}


def tok(v):
    if isinstance(v, (list, tuple)):
        v = v[0] if v else None
    return -1 if v is None else int(v)


def dtype_str(cfg):
    d = getattr(cfg, "torch_dtype", None) or getattr(cfg, "dtype", None)
    if d is None:
        return ""
    return str(d).replace("torch.", "")


def text_expect(cfg, lm, pad_fallback=None):
    """cfg: the (text) config; lm: the decoder module built from it (LlamaModel / Qwen2Model)."""
    attn = lm.layers[0].self_attn
    mlp = lm.layers[0].mlp
    heads = cfg.num_attention_heads
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else pad_fallback
    return {
        "model_type": cfg.model_type,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_layers": cfg.num_hidden_layers,
        "num_heads": heads,
        "num_kv_heads": cfg.num_key_value_heads,
        "head_dim": attn.q_proj.weight.shape[0] // heads,  # what the projection really has
        "vocab_size": cfg.vocab_size,
        "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "attention_bias": attn.q_proj.bias is not None,
        "mlp_bias": mlp.gate_proj.bias is not None,
        "hidden_act": cfg.hidden_act,
        "bos_token_id": tok(cfg.bos_token_id),
        "eos_token_id": tok(cfg.eos_token_id),
        "pad_token_id": tok(pad),
        "torch_dtype": dtype_str(cfg),
    }


def vision_expect(v):
    return {
        "hidden_size": v.hidden_size,
        "intermediate_size": v.intermediate_size,
        "num_layers": v.num_hidden_layers,
        "num_heads": v.num_attention_heads,
        "image_size": v.image_size,
        "patch_size": v.patch_size,
        "num_channels": v.num_channels,
        "layer_norm_eps": v.layer_norm_eps,
        "hidden_act": v.hidden_act,
    }


def tied(model):
    return model.get_output_embeddings().weight is model.get_input_embeddings().weight


def build(fn, cfg):
    """The model on the meta device: structure only, no memory (the LLaVA default is 7B)."""
    with torch.device("meta"):
        return fn(cfg)


def saver(cfg_or_doc):
    """save_pretrained for a config object, a verbatim json.dump for a dict (files that leave keys out)."""
    if isinstance(cfg_or_doc, dict):
        def save(d):
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg_or_doc, f, indent=2)
                f.write("\n")
        return save
    return cfg_or_doc.save_pretrained


def write(name, save, expect):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    save(d)
    expect["_made_by"] = dict(VERSIONS, script="tools/make_config_fixtures.py")
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")


def decoder_case(name, cfg):
    save = saver(cfg)
    write(name, save, {})  # save first, then read back what transformers reads from the file
    back = AutoConfig.from_pretrained(os.path.join(OUT, name))
    model = build(AutoModelForCausalLM.from_config, back)
    exp = {"arch": back.model_type, "text": text_expect(back, model.model), "vision_present": False}
    exp["text"]["tie_word_embeddings"] = tied(model)
    write(name, save, exp)


def llava_case(name, cfg):
    save = saver(cfg)
    write(name, save, {})
    back = AutoConfig.from_pretrained(os.path.join(OUT, name))
    model = build(LlavaForConditionalGeneration, back)
    tc = back.text_config
    exp = {
        "arch": "llava",
        # LLaVA keeps pad_token_id at top level when text_config has none (the 1.5 release does)
        "text": text_expect(tc, model.model.language_model, pad_fallback=back.pad_token_id),
        "vision_present": True,
        "vision": vision_expect(back.vision_config),
        "image_token_id": back.image_token_id,
        "vision_feature_layer": back.vision_feature_layer,
        "vision_feature_select_strategy": back.vision_feature_select_strategy,
        "projector_act": back.projector_hidden_act,
        "projector_bias": model.model.multi_modal_projector.linear_1.bias is not None,
    }
    if not exp["text"]["torch_dtype"]:
        exp["text"]["torch_dtype"] = dtype_str(back)
    exp["text"]["tie_word_embeddings"] = tied(model)
    write(name, save, exp)


# MiniCPMVConfig.default_vision_config, used when the file has no vision_config
MINICPMV_DEFAULT_VISION = {"hidden_size": 1152, "image_size": 980, "intermediate_size": 4304, "model_type": "siglip",
                           "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14}


def minicpmv_case(name, doc):
    """doc: the config.json dict. MiniCPMVConfig(Qwen2Config) of the 2.6 remote code
    (configuration_minicpm.py): query_num 64, use_image_id True, drop_vision_last_layer True,
    slice_config None -> max_slice_nums 1 (patch 14, scale 448), a dict -> MiniCPMVSliceConfig defaults
    (14, 9, 448) updated by it; vision_config dict -> SiglipVisionConfig(**dict)."""
    save = saver(doc)
    text_fields = {k: v for k, v in doc.items() if k not in ("model_type", "vision_config", "slice_config", "query_num",
                                                             "use_image_id", "drop_vision_last_layer", "architectures")}
    qcfg = Qwen2Config(**text_fields)
    lm = build(AutoModelForCausalLM.from_config, qcfg)
    vcfg = SiglipVisionConfig(**(doc.get("vision_config") or MINICPMV_DEFAULT_VISION))
    sl = dict(patch_size=14, max_slice_nums=9, scale_resolution=448)
    sl.update(doc.get("slice_config") or {})
    if doc.get("slice_config") is None:
        sl["max_slice_nums"] = 1
    drop = doc.get("drop_vision_last_layer", True)
    exp = {
        "arch": "minicpmv",
        "text": text_expect(qcfg, lm.model),
        "vision_present": True,
        "vision": vision_expect(vcfg),
        "query_num": doc.get("query_num", 64),
        "max_slice_nums": sl["max_slice_nums"],
        "slice_patch_size": sl["patch_size"],
        "scale_resolution": sl["scale_resolution"],
        "use_image_id": doc.get("use_image_id", True),
        "drop_vision_last_layer": drop,
        "vision_feature_layer": -2 if drop else -1,
    }
    exp["text"]["model_type"] = "qwen2"
    exp["text"]["tie_word_embeddings"] = tied(lm)
    write(name, save, exp)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    # Llama with GQA, non-default eps/theta/ids, tied embeddings, bf16 label
    decoder_case("llama_tiny", LlamaConfig(
        vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=500000.0,
        bos_token_id=5, eos_token_id=6, pad_token_id=0, tie_word_embeddings=True, torch_dtype="bfloat16"))
    # Llama with head_dim that is not hidden / heads (60 / 4 = 15, head_dim 16), attention + MLP bias
    decoder_case("llama_head_dim", LlamaConfig(
        vocab_size=128, hidden_size=60, intermediate_size=80, num_hidden_layers=1, num_attention_heads=4,
        num_key_value_heads=4, head_dim=16, max_position_embeddings=64, attention_bias=True, mlp_bias=True,
        hidden_act="gelu"))
    # Qwen2: its own defaults for everything left out (eps, ids None, bias always on)
    decoder_case("qwen2_tiny", Qwen2Config(
        vocab_size=320, hidden_size=56, intermediate_size=112, num_hidden_layers=2, num_attention_heads=7,
        num_key_value_heads=1, max_position_embeddings=512, rope_theta=1000000.0, tie_word_embeddings=False,
        bos_token_id=300, eos_token_id=[301, 302]))
    # LLaVA: text_config with LlamaConfig defaults filled in (tiny sizes), CLIP vision tower tiny
    llava_case("llava_tiny", LlavaConfig(
        text_config=LlamaConfig(vocab_size=200, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                num_attention_heads=4, max_position_embeddings=128, rms_norm_eps=1e-5).to_dict(),
        vision_config=CLIPVisionConfig(hidden_size=24, intermediate_size=40, num_hidden_layers=3,
                                       num_attention_heads=2, image_size=28, patch_size=14).to_dict(),
        image_token_index=199, pad_token_id=198, vision_feature_layer=-2, vision_feature_select_strategy="default"))
    # LLaVA with a Qwen2 text model, "full" strategy, last feature layer, no projector bias
    llava_case("llava_qwen2_tiny", LlavaConfig(
        text_config=Qwen2Config(vocab_size=160, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128).to_dict(),
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                       num_attention_heads=2, image_size=32, patch_size=8, hidden_act="gelu").to_dict(),
        image_token_index=150, vision_feature_layer=-1, vision_feature_select_strategy="full",
        multimodal_projector_bias=False, projector_hidden_act="gelu_pytorch_tanh"))
    # Files that leave almost everything to the class defaults (hand-written: save_pretrained writes
    # every field of a top-level config)
    decoder_case("llama_minimal", {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
                                   "num_hidden_layers": 1, "intermediate_size": 32, "vocab_size": 100})
    decoder_case("qwen2_minimal", {"model_type": "qwen2", "hidden_size": 64, "num_attention_heads": 32,
                                   "num_hidden_layers": 1, "intermediate_size": 32, "vocab_size": 100})
    llava_case("llava_minimal", {"model_type": "llava"})
    minicpmv_case("minicpmv_minimal", {"model_type": "minicpmv", "hidden_size": 56, "num_attention_heads": 7,
                                       "num_key_value_heads": 7, "vision_config": {"hidden_size": 48}})
    minicpmv_case("minicpmv_no_vision", {"model_type": "minicpmv", "hidden_size": 56, "num_attention_heads": 7,
                                         "num_key_value_heads": 7})
    # MiniCPM-V 2.6 layout (hub config.json shape), tiny sizes
    minicpmv_case("minicpmv_tiny", {
        "architectures": ["MiniCPMV"], "model_type": "minicpmv",
        "hidden_size": 56, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 7,
        "num_key_value_heads": 1, "vocab_size": 400, "max_position_embeddings": 1024, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "hidden_act": "silu", "bos_token_id": 390, "eos_token_id": 391,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "use_sliding_window": False,
        "query_num": 8, "use_image_id": True, "drop_vision_last_layer": False,
        "slice_config": {"max_slice_nums": 9, "model_type": "minicpmv", "patch_size": 14, "scale_resolution": 448},
        "vision_config": {"hidden_size": 24, "image_size": 70, "intermediate_size": 40, "model_type": "siglip",
                          "num_attention_heads": 2, "num_hidden_layers": 3, "patch_size": 14},
    })
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        for k, v in sorted(VERSIONS.items()):
            f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main()
