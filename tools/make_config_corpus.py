#!/usr/bin/env python3
"""make_config_corpus.py: the config.json and YAML parts of the bad-input corpus.

tests/corpus/config/<case>/config.json: each derived from the real LLaVA-1.5 config.json (or the real
MiniCPM-V llm_config.json) in $SHARED/data/models and wrong in exactly one way, in a folder of its own so
that `fc-eval inspect <folder>` reads it. tests/corpus/yaml/<case>.yaml: each derived from
configs/train-llava.yaml or configs/eval-llava.yaml and wrong in exactly one way. The READMEs beside them
say what is wrong with each; tests/cli/config_corpus.sh checks the message for each; tests/fuzz/run.sh
uses them as seeds. Deterministic: no randomness, only the Python standard library.
"""
import json
import os
import platform
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
OUT_CONFIG = os.path.join(ROOT, "tests", "corpus", "config")
OUT_YAML = os.path.join(ROOT, "tests", "corpus", "yaml")


INDEX = {"metadata": {"total_size": 16}, "weight_map": {"lm_head.weight": "model-00001-of-00001.safetensors"}}


def llava():
    with open(os.path.join(SHARED, "data", "models", "llava-1.5-7b-hf", "config.json")) as f:
        return json.load(f)


def qwen2():
    with open(os.path.join(SHARED, "data", "models", "minicpm-v-2_6", "llm_config.json")) as f:
        return json.load(f)


def dumps(doc):
    return (json.dumps(doc, indent=2) + "\n").encode()


def edit(base, fn):
    doc = base()
    fn(doc)
    return dumps(doc)


def config_cases():
    good = dumps(llava())
    # truncated: cut in the middle of text_config
    cut = good[: good.index(b'"vocab_size": 32064') + 10]
    # duplicate key: the text has hidden_size twice (json.dumps cannot write that)
    dup = dumps(qwen2()).replace(b'"hidden_size": 3584,', b'"hidden_size": 3584,\n  "hidden_size": 4096,')
    assert dup.count(b'"hidden_size"') == 2
    return {
        "invalid_json": good.replace(b'"ignore_index": -100,', b'"ignore_index": -100,,'),
        "truncated_json": cut,
        "invalid_utf8": good.replace(b"lmsys/vicuna-7b-v1.5", b"lmsys/vicuna-7b-v1.5\xff"),
        "empty": b"",
        "top_level_array": b"[1, 2, 3]\n",
        "wrong_type_heads": edit(llava, lambda d: d["text_config"].update(num_attention_heads="32")),
        "wrong_type_eps": edit(qwen2, lambda d: d.update(rms_norm_eps=[1e-6])),
        "wrong_type_text_config": edit(llava, lambda d: d.update(text_config="llama")),
        "negative_heads": edit(llava, lambda d: d["text_config"].update(num_attention_heads=-32)),
        "heads_not_divisible": edit(llava, lambda d: d["text_config"].update(num_attention_heads=30)),
        "kv_heads_not_dividing": edit(qwen2, lambda d: d.update(num_key_value_heads=5)),
        "vision_heads_not_divisible": edit(llava, lambda d: d["vision_config"].update(num_attention_heads=15)),
        "absurd_vocab": edit(qwen2, lambda d: d.update(vocab_size=10**12)),
        "absurd_layers": edit(llava, lambda d: d["text_config"].update(num_hidden_layers=2**31)),
        "zero_eps": edit(qwen2, lambda d: d.update(rms_norm_eps=0)),
        "missing_model_type": edit(qwen2, lambda d: d.pop("model_type")),
        "unknown_model_type": edit(qwen2, lambda d: d.update(model_type="gpt2")),
        "unknown_text_model_type": edit(llava, lambda d: d["text_config"].update(model_type="mistral")),
        "unknown_activation": edit(qwen2, lambda d: d.update(hidden_act="swiglu")),
        "rope_scaling_linear": edit(qwen2, lambda d: d.update(rope_scaling={"type": "linear", "factor": 2.0})),
        "feature_layer_out_of_range": edit(llava, lambda d: d.update(vision_feature_layer=-30)),
        "bad_select_strategy": edit(llava, lambda d: d.update(vision_feature_select_strategy="cls")),
        "duplicate_key": dup,
    }


def read(rel):
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


def yaml_cases():
    train = read("configs/train-llava.yaml")
    ev = read("configs/eval-llava.yaml")

    def sub(text, old, new):
        assert old in text, old
        return text.replace(old, new, 1)

    return {
        "syntax_error": sub(train, b"  epochs: 40\n", b"  epochs: [40\n"),
        "unknown_key": sub(train, b"  lr: 5.0e-4\n", b"  learnig_rate: 5.0e-4\n"),
        "unknown_top_key": sub(ev, b"max_new_tokens: 512\n", b"max_new_token: 512\n"),
        "type_error": sub(train, b"  lr: 5.0e-4\n", b"  lr: fast\n"),
        "type_error_int": sub(ev, b"  num_requests: 90\n", b"  num_requests: 90.5\n"),
        "scalar_for_section": sub(ev, b"batching:                # stage batch sizes of the staged scheduler\n"
                                      b"  prefill: 15\n  compress: 45\n  decode: 90\n", b"batching: [15, 45, 90]\n"),
        "duplicate_key": sub(train, b"  seed: 48\n", b"  seed: 48\n  seed: 49\n"),
        "out_of_range": sub(train, b"  dropout: 0.4\n", b"  dropout: 1.5\n"),
        "bad_ratio": sub(train, b"  ratio: 5x ", b"  ratio: 0.8 "),
        "bad_enum": sub(ev, b"  process: poisson ", b"  process: bursty "),
        "bad_method": sub(ev, b"  - snapkv:ratio=5x,window=64\n", b"  - snapkv:ratio=5x,window\n"),
        "missing_required": sub(train, b"output: ckpt/llava-5x.safetensors\n", b""),
        "tabs": sub(train, b"  batch: 1\n", b"\tbatch: 1\n"),
        "empty": b"",
        "comments_only": b"# an experiment config that was never written\n",
        "not_utf8": sub(train, b"  loss: kl ", b"  loss: k\xe9l "),
        "no_kind": sub(train, b"kind: train\n", b""),
        "unknown_kind": sub(train, b"kind: train\n", b"kind: serve\n"),
        "two_documents": train + b"---\n" + train,
        "ratio_window_mismatch": sub(train, b"  window: 5 ", b"  window: 4 "),
        # issue 15: nesting past FC_YAML_MAX_DEPTH (32, the top mapping counting 1) stops at the first
        # collection over it; libyaml's scanner is quadratic in flow depth, so this must not read on
        "deep_flow": sub(train, b"  epochs: 40\n", b"  epochs: " + b"[" * 1000 + b"]" * 1000 + b"\n"),
        "deep_flow_map": sub(ev, b"max_new_tokens: 512\n", b"max_new_tokens: " + b"{a: " * 1000 + b"}" * 1000 + b"\n"),
        "deep_block": sub(train, b"  epochs: 40\n",
                          b"  epochs:\n" + b"".join(b"  " * (i + 2) + b"a:\n" for i in range(40)) + b"  " * 42 + b"1\n"),
    }


def main():
    for out in (OUT_CONFIG, OUT_YAML):
        for name in os.listdir(out) if os.path.isdir(out) else []:
            p = os.path.join(out, name)
            if name not in ("README.md",):
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
        os.makedirs(out, exist_ok=True)
    for name, data in config_cases().items():
        os.makedirs(os.path.join(OUT_CONFIG, name))
        with open(os.path.join(OUT_CONFIG, name, "config.json"), "wb") as f:
            f.write(data)
        # a valid index whose one shard is absent, as in $SHARED/data/models: `fc-eval inspect` accepts such a
        # folder and so reaches the config, which is the one thing wrong here
        with open(os.path.join(OUT_CONFIG, name, "model.safetensors.index.json"), "w") as f:
            json.dump(INDEX, f, indent=2)
            f.write("\n")
    for name, data in yaml_cases().items():
        with open(os.path.join(OUT_YAML, name + ".yaml"), "wb") as f:
            f.write(data)
    for out in (OUT_CONFIG, OUT_YAML):
        with open(os.path.join(out, "VERSIONS"), "w") as f:
            f.write(f"python {platform.python_version()} (standard library only)\n")


if __name__ == "__main__":
    main()
