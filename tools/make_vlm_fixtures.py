#!/usr/bin/env python3
"""make_vlm_fixtures.py: end-to-end golden fixtures for the assembled VLMs (tests/unit/test_vlm.c).

Writes tests/fixtures/vlm/:
  llava-tiny/      transformers' LlavaForConditionalGeneration on a tiny random config (CLIP 56px/14 -> 16 image
                   tokens, Llama hidden 16, vocab 32064 so that the REAL llava-1.5 tokenizer in
                   ../shared/data/models/llava-1.5-7b-hf applies, image_token_index 32000), f16, saved with the
                   names model.state_dict() has in transformers >= 4.52 (model.language_model.*,
                   model.vision_tower.*, model.multi_modal_projector.*, lm_head.weight), plus a
                   preprocessor_config.json (CLIPImageProcessor, 56px). No tokenizer files: tests pass the
                   shared folder as the tokenizer folder.
  minicpmv-tiny/   MiniCPM-V-2.6 in miniature (transformers has no class for it): Idefics2VisionTransformer as
                   vpm.* (MiniCPM-V's position buckets), the resampler of resampler.py in plain torch
                   (resampler.*, from tools/make_vision_fixtures.py), Qwen2ForCausalLM as llm.*; bf16; config.json
                   (model_type minicpmv, slice_config scale_resolution 56 so GQA images are sliced) and
                   preprocessor_config.json; and a Qwen2 tokenizer cut from the real MiniCPM-V one (see below).
  minicpmv-no-vision/  config.json + a checkpoint with llm.* only (the missing-vision-weights error).
  small.png        a 48x40 image: smaller than 56x56, so MiniCPM-V does not slice it (it is up-scaled).
  cases.safetensors  per case c (llava_0, llava_1, minicpmv_0, minicpmv_1):
                   <c>.ids i32 [T]            the prompt after placeholder expansion
                   <c>.spans i32 [n, 2]       (start, length) of each image piece's run in the prompt
                   <c>.pixels_<k> f32 [3,H,W] each piece's pixels (overview first, slices row-major)
                   <c>.features f32 [N, C]    image rows spliced into the prompt (after projector / resampler)
                   <c>.rows i32 [R]           prompt positions whose logits are stored
                   <c>.logits f32 [R, V]      logits at those positions (the full-prompt forward)
                   <c>.greedy i32 [8]         8 greedy tokens (argmax, no EOS stop), recomputed from scratch
                                              each step
  VERSIONS         library versions.
Metadata of cases.safetensors: one key "info", a JSON object with the versions and each case's
                   "<case>.image" path and "<case>.question".

Why MiniCPM-V does not use the full 151666-token vocabulary here: its resampler has embed_dim // 128 heads,
so the LLM width must be a multiple of 128, and a 151666 x 128 bf16 embedding (plus lm_head) is ~78 MB. The
tokenizer is the real one cut to its first 3000 tokens (byte alphabet + the first 2744 merges, in rank
order, so BPE of any text is still well defined) with the 23 added tokens renumbered from 3000 on. Prompt
building with the full real tokenizer is covered by the tokenizer/chat fixtures.

REFERENCE_F64: references are computed in f64 from the f16/bf16-rounded weights (and the f32 pixels), then
stored as f32. The weights are at a real model's conditioning (init_like_real), so f32 rounding moves these
outputs by only ~3e-6: the generator runs the reference in f32 too, prints the f32-vs-f64 max |diff| of
features and logits per case (report_f32) and fails above 5e-6, so that the C side's 1e-4 tolerance is not
eaten by rounding and any correct f32 summation order passes. (The first version used std 0.3 weights: the
f32 reference was off by up to 1.9e-4 and a reordered f32 C kernel by 2.5e-4.) Deterministic (seeded), CPU,
1 thread. VLM_OUT=DIR writes elsewhere; VLM_NO_F32_CHECK=1 only reports the f32 discrepancy.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import PIL
import safetensors
import tokenizers
import torch
import transformers
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_vision_fixtures as mvf  # noqa: E402  (Resampler, navit_forward, randomize: one definition)

OUT = os.environ.get("VLM_OUT", os.path.join(ROOT, "tests", "fixtures", "vlm"))
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
MODELS = os.path.join(SHARED, "data", "models")
GQA = os.path.join(SHARED, "data", "gqa-demo", "gqa")
IMAGES = ["2316686.jpg", "2322630.jpg"]
QUESTIONS = ["What is on the table?", "Is the sky blue?"]
STEPS = 8
TINY_VOCAB = 3000
# token embeddings: on the scale of the spliced image features (~0.5-3), so that both the text and the image
# steer the output. Measured: std 0.02 let the image rows drown the text (greedy repeated one token 7 times),
# std 1.0 drowned LLaVA's image (both images gave the same first 6 greedy tokens).
TOKEN_EMB_STD = 0.2


def versions():
    return {"generator": "tools/make_vlm_fixtures.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__, "safetensors": safetensors.__version__, "Pillow": PIL.__version__}


def init_like_real(module, gen, head=1.0, gain=0.5):
    """Weights conditioned like a real checkpoint's, at this fixture's tiny widths: each matrix (linear, conv,
    attention, resampler projection) std gain/sqrt(fan_in), so no layer amplifies its input (and its
    rounding), as a real model's 0.02-std weights do not at width ~4096 (0.02 ~ 1.3/sqrt(4096)); vision
    position embeddings and resampler queries std 0.02 (HF's initializer_range), token embeddings
    TOKEN_EMB_STD; norm gains 1 + 0.05 noise (not exactly 1, so a dropped gain still shows); biases
    0.02. The LM head gets std head/sqrt(hidden): logits O(1-10) like a trained model's, so greedy steps have
    clear margins. Why not the old std 0.3 everywhere: at width 128 it multiplies activations by ~3.4 per
    matrix, which amplified f32 rounding until a legitimate change of f32 summation order moved MiniCPM-V
    logits by 2.5e-4, above the tests' 1e-4 tolerance (report_f32 now guards this)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.split(".")
            if "norm" in name or (len(leaf) > 1 and leaf[-2] in ("ln_q", "ln_kv", "ln_post")):
                std, base = (0.05, 1.0) if name.endswith("weight") else (0.02, 0.0)
                p.copy_(base + std * torch.randn(p.shape, generator=gen))
            elif p.ndim == 1:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))  # biases
            elif "embed_tokens" in name:
                p.copy_(TOKEN_EMB_STD * torch.randn(p.shape, generator=gen))
            elif "position_embedding" in name or name == "query":
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
            elif name == "lm_head.weight" or name.endswith(".lm_head.weight"):
                p.copy_(head / math.sqrt(p.shape[1]) * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if name != "proj" else p.shape[0]  # resampler: x @ proj
                p.copy_(gain * fan_in ** -0.5 * torch.randn(p.shape, generator=gen))


def max_diff(a, b):
    return float((a.double() - b.double()).abs().max())


def report_f32(name, feat32, feat64, logits32, logits64):
    """The reference run in f32 against the f64 one: how much f32 rounding alone moves this fixture's
    outputs. Must stay far below the C tests' 1e-4 tolerance, so that any correct f32 summation order passes."""
    df, dl = max_diff(feat32, feat64), max_diff(logits32, logits64)
    print(f"{name}: |features| max {float(feat64.abs().max()):.3g}, |logits| max {float(logits64.abs().max()):.3g};"
          f" f32 vs f64 reference: features {df:.2e}, logits {dl:.2e}", file=sys.stderr)
    assert os.environ.get("VLM_NO_F32_CHECK") or (dl < 5e-6 and df < 5e-6), \
        f"{name}: f32 rounding moves the reference by {max(df, dl):.2e}"


def greedy(step_logits, n):
    """n greedy tokens; step_logits(tokens_so_far) -> logits (V) of the next token. Checks the margins so that
    f32 rounding in another implementation cannot flip an argmax."""
    out, margin = [], float("inf")
    for _ in range(n):
        lg = step_logits(out)
        top = torch.topk(lg, 2).values
        margin = min(margin, float(top[0] - top[1]))
        assert float(top[0] - top[1]) > 1e-3, f"near tie in greedy step {len(out)}: {top.tolist()}"
        out.append(int(torch.argmax(lg)))
    print(f"  greedy {out}, smallest top-2 margin {margin:.3g}", file=sys.stderr)
    return out


def logit_rows(T, spans):
    """Positions whose logits are kept: the first token, each span's first and last row, the token after the
    last span, and the last prompt position."""
    rows = {0, T - 1}
    for s, n in spans:
        rows.update((s, s + n - 1, min(s + n, T - 1)))
    return sorted(rows)


def spans_of(ids, starts, ends):
    """MiniCPM-V image_bound / LLaVA runs: positions strictly between a start and the next end token."""
    out, open_at = [], None
    for i, t in enumerate(ids):
        if t in starts:
            open_at = i + 1
        elif t in ends and open_at is not None:
            out.append((open_at, i - open_at))
            open_at = None
    return out


# ---------------------------------------------------------------- LLaVA
def make_llava(gen, cases, meta):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig
    from transformers import LlavaForConditionalGeneration

    side = 56
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                       num_attention_heads=4, image_size=side, patch_size=14),
        text_config=LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                num_key_value_heads=2, vocab_size=32064, rms_norm_eps=1e-5,
                                max_position_embeddings=4096, bos_token_id=1, eos_token_id=2, pad_token_id=32001),
        image_token_index=32000, projector_hidden_act="gelu", pad_token_id=32001,
        vision_feature_layer=-2, vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(cfg).eval()
    init_like_real(model, gen)
    # the reference runs in f32 on the f16-rounded weights the C side reads. Only the parameters are rounded:
    # model.half() would also round the rotary inv_freq buffer, which the checkpoint does not hold
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    out_dir = os.path.join(OUT, "llava-tiny")
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir, safe_serialization=True)  # config.json, generation_config.json
    # replace the (legacy-named) weights with the in-memory names of transformers >= 4.52: the other spelling
    # the loader accepts (tests/fixtures/vision/llava-tiny has the hub's legacy names)
    sd = {k: v.half().contiguous() for k, v in model.state_dict().items()}
    assert "lm_head.weight" in sd and any(k.startswith("model.language_model.") for k in sd), list(sd)[:5]
    for f in os.listdir(out_dir):
        if f.endswith(".safetensors") or f.endswith(".index.json"):
            os.remove(os.path.join(out_dir, f))
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    proc = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side},
                              do_center_crop=True, resample=3)
    proc.save_pretrained(out_dir)
    with open(os.path.join(out_dir, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)
    tok = tokenizers.Tokenizer.from_file(os.path.join(MODELS, "llava-1.5-7b-hf", "tokenizer.json"))
    n_img = (side // 14) ** 2
    for c, (img, q) in enumerate(zip(IMAGES, QUESTIONS)):
        im = Image.open(os.path.join(GQA, img)).convert("RGB")
        px32 = proc(images=im, return_tensors="pt")["pixel_values"]  # slow (PIL) CLIPImageProcessor, f32
        text = f"USER: <image>\n{q} ASSISTANT:".replace("<image>", "<image>" * n_img)
        ids = tok.encode(text).ids  # BOS added by the post-processor
        spans = [(ids.index(32000), n_img)]
        assert ids[spans[0][0]:spans[0][0] + n_img] == [32000] * n_img and ids.count(32000) == n_img
        t_ids = torch.tensor([ids])

        def forward(dtype):
            m, px = model.to(dtype), px32.to(dtype)
            with torch.no_grad():
                ft = m.get_image_features(px, vision_feature_layer=-2, vision_feature_select_strategy="default")
                ft = (ft[0] if isinstance(ft, (list, tuple)) else ft).reshape(n_img, -1)
                return m, px, ft, m(input_ids=t_ids, pixel_values=px).logits[0]

        _, _, feat32, logits32 = forward(torch.float32)
        model, px, feat, logits = forward(torch.float64)  # see REFERENCE_F64
        report_f32(f"llava_{c}", feat32, feat, logits32, logits)
        with torch.no_grad():
            def step(gen_so_far):
                full = torch.tensor([ids + gen_so_far])
                return model(input_ids=full, pixel_values=px).logits[0, -1]

            toks = greedy(step, STEPS)
        rows = logit_rows(len(ids), spans)
        name = f"llava_{c}"
        cases[f"{name}.ids"] = torch.tensor(ids, dtype=torch.int32)
        cases[f"{name}.spans"] = torch.tensor(spans, dtype=torch.int32)
        cases[f"{name}.pixels_0"] = px32[0].contiguous()
        cases[f"{name}.features"] = feat.float().contiguous()
        cases[f"{name}.rows"] = torch.tensor(rows, dtype=torch.int32)
        cases[f"{name}.logits"] = logits[rows].float().contiguous()
        cases[f"{name}.greedy"] = torch.tensor(toks, dtype=torch.int32)
        meta[f"{name}.image"] = f"gqa-demo/gqa/{img}"
        meta[f"{name}.question"] = q


# ---------------------------------------------------------------- MiniCPM-V
S_RES, PATCH, MAX_SLICES, QUERIES, NPS = 56, 14, 4, 8, 5


def ensure_divide(length, p):
    return max(round(length / p) * p, p)


def find_best_resize(size, allow_upscale=False):
    width, height = size
    if width * height > S_RES * S_RES or allow_upscale:
        r = width / height
        height = int(S_RES / math.sqrt(r))
        width = int(height * r)
    return ensure_divide(width, PATCH), ensure_divide(height, PATCH)


def get_sliced_grid(size):
    """image_processing_minicpmv.py get_sliced_grid, with this fixture's scale_resolution / max_slice_nums."""
    w, h = size
    log_ratio = math.log(w / h)
    multiple = min(math.ceil(w * h / (S_RES * S_RES)), MAX_SLICES)
    if multiple <= 1:
        return None
    grids = []
    for n in (multiple - 1, multiple, multiple + 1):
        if n == 1 or n > MAX_SLICES:
            continue
        grids += [[m, n // m] for m in range(1, n + 1) if n % m == 0]
    best, min_err = None, float("inf")
    for g in grids:
        err = abs(log_ratio - math.log(g[0] / g[1]))
        if err < min_err:
            best, min_err = g, err
    return best


def slice_image(im):
    grid = get_sliced_grid(im.size)
    if grid is None:
        return None, [im.resize(find_best_resize(im.size, True), Image.BICUBIC)]
    source = im.resize(find_best_resize(im.size), Image.BICUBIC)
    rw, rh = ensure_divide(im.size[0], grid[0]), ensure_divide(im.size[1], grid[1])
    bw, bh = find_best_resize((rw / grid[0], rh / grid[1]), allow_upscale=True)
    refine = im.resize((bw * grid[0], bh * grid[1]), Image.BICUBIC)
    pieces = [source]
    for i in range(grid[1]):
        for j in range(grid[0]):
            pieces.append(refine.crop((j * bw, i * bh, (j + 1) * bw, (i + 1) * bh)))
    return grid, pieces


def to_pixels(im):
    x = np.asarray(im, dtype=np.uint8).astype(np.float32) / 255
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def placeholder(k, grid):
    ph = f"<image_id>{k}</image_id>" + "<image>" + "<unk>" * QUERIES + "</image>"
    if grid is not None:
        sl = "<slice>" + "<unk>" * QUERIES + "</slice>"
        ph += "\n".join(sl * grid[0] for _ in range(grid[1]))
    return ph


def make_tiny_qwen_tokenizer(out_dir):
    """The real MiniCPM-V-2.6 tokenizer cut to TINY_VOCAB model tokens (+ its added tokens renumbered)."""
    src = os.path.join(MODELS, "minicpm-v-2_6")
    vocab = json.load(open(os.path.join(src, "vocab.json"), encoding="utf-8"))
    keep = {t: i for t, i in vocab.items() if i < TINY_VOCAB}
    assert len(keep) == TINY_VOCAB
    merges = []
    for line in open(os.path.join(src, "merges.txt"), encoding="utf-8").read().split("\n"):
        if not line or line.startswith("#version"):
            continue
        a, b = line.split(" ")
        if a in keep and b in keep and a + b in keep:
            merges.append(line)
        if len(merges) == TINY_VOCAB - 256:
            break
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(keep, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    cfg = json.load(open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8"))
    added = sorted(cfg["added_tokens_decoder"].items(), key=lambda kv: int(kv[0]))
    cfg["added_tokens_decoder"] = {str(TINY_VOCAB + i): v for i, (_, v) in enumerate(added)}
    cfg["tokenizer_class"] = "Qwen2Tokenizer"  # no remote code here; same fast tokenizer as MiniCPMVTokenizerFast
    cfg.pop("auto_map", None)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
    return TINY_VOCAB + len(added), cfg["chat_template"]


def make_minicpmv(gen, cases, meta):
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2TokenizerFast
    from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig
    from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer

    out_dir = os.path.join(OUT, "minicpmv-tiny")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    vocab_size, template = make_tiny_qwen_tokenizer(out_dir)
    tok = Qwen2TokenizerFast.from_pretrained(out_dir)
    assert len(tok) == vocab_size, (len(tok), vocab_size)

    D = 128  # resampler heads = embed_dim // 128 = 1
    vcfg = Idefics2VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                image_size=PATCH * NPS, patch_size=PATCH, hidden_act="gelu_pytorch_tanh",
                                layer_norm_eps=1e-6)
    vcfg._attn_implementation = "eager"
    vpm = Idefics2VisionTransformer(vcfg).eval()
    init_like_real(vpm, gen)
    res = mvf.Resampler(QUERIES, D, D // 128, vcfg.hidden_size).eval()
    init_like_real(res, gen)
    with torch.no_grad():
        res.proj.copy_((D ** -0.5) * torch.randn(D, D, generator=gen))
    qcfg = Qwen2Config(hidden_size=D, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2,
                       num_key_value_heads=1, vocab_size=vocab_size, rms_norm_eps=1e-6, rope_theta=1e6,
                       max_position_embeddings=1024, tie_word_embeddings=False,
                       bos_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
                       eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
    qcfg._attn_implementation = "eager"
    llm = Qwen2ForCausalLM(qcfg).eval()
    init_like_real(llm, gen)
    with torch.no_grad():
        for p in list(vpm.parameters()) + list(res.parameters()) + list(llm.parameters()):
            p.copy_(p.bfloat16().float())
    sd = {f"vpm.{k}": v for k, v in vpm.state_dict().items()}
    sd.update({f"resampler.{k}": v for k, v in res.state_dict().items()})
    sd.update({f"llm.{k}": v for k, v in llm.state_dict().items()})
    sd = {k: v.bfloat16().contiguous() for k, v in sd.items()}
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})  # versions: VERSIONS
    config = {
        "architectures": ["MiniCPMV"], "model_type": "minicpmv", "version": 2.6,
        "hidden_size": D, "intermediate_size": qcfg.intermediate_size, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "hidden_act": "silu", "rms_norm_eps": 1e-6,
        "rope_theta": 1e6, "max_position_embeddings": 1024, "vocab_size": vocab_size, "tie_word_embeddings": False,
        "bos_token_id": qcfg.bos_token_id, "eos_token_id": qcfg.eos_token_id, "torch_dtype": "bfloat16",
        "query_num": QUERIES, "image_size": 448, "patch_size": PATCH, "drop_vision_last_layer": False,
        "use_image_id": True, "slice_mode": True,
        "slice_config": {"max_slice_nums": MAX_SLICES, "patch_size": PATCH, "scale_resolution": S_RES},
        "vision_config": {"hidden_size": vcfg.hidden_size, "image_size": vcfg.image_size,
                          "intermediate_size": vcfg.intermediate_size, "model_type": "siglip",
                          "num_attention_heads": vcfg.num_attention_heads,
                          "num_hidden_layers": vcfg.num_hidden_layers, "patch_size": PATCH,
                          "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6},
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    pre = {"image_processor_type": "MiniCPMVImageProcessor", "image_feature_size": QUERIES,
           "max_slice_nums": MAX_SLICES, "scale_resolution": S_RES, "patch_size": PATCH, "use_image_id": True,
           "slice_mode": True, "norm_mean": [0.5, 0.5, 0.5], "norm_std": [0.5, 0.5, 0.5]}
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=1)
    with open(os.path.join(out_dir, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)

    small = Image.open(os.path.join(GQA, IMAGES[1])).convert("RGB").resize((48, 40), Image.BICUBIC)
    small.save(os.path.join(OUT, "small.png"))
    ids_of = tok.convert_tokens_to_ids
    starts, ends = {ids_of("<image>"), ids_of("<slice>")}, {ids_of("</image>"), ids_of("</slice>")}
    for c, (path, q) in enumerate([(os.path.join(GQA, IMAGES[0]), QUESTIONS[0]),
                                   (os.path.join(OUT, "small.png"), QUESTIONS[1])]):
        im = Image.open(path).convert("RGB")
        grid, pieces = slice_image(im)
        assert (grid is not None) == (c == 0), grid
        # model.chat(): image part "(<image>./</image>)" joined to the text with "\n", then the chat template
        msgs = [{"role": "user", "content": "(<image>./</image>)\n" + q}]
        rendered = tok.apply_chat_template(msgs, chat_template=template, add_generation_prompt=True, tokenize=False)
        text = rendered.replace("(<image>./</image>)", placeholder(0, grid))
        ids = tok.encode(text)
        spans = spans_of(ids, starts, ends)
        assert len(spans) == len(pieces) and all(n == QUERIES for _, n in spans), spans
        def forward(dtype):
            vpm.to(dtype), res.to(dtype), llm.to(dtype)
            fs = []
            with torch.no_grad():
                for p in pieces:
                    px = to_pixels(p).to(dtype)
                    h, w = px.shape[1] // PATCH, px.shape[2] // PATCH
                    v = mvf.navit_forward(vpm, px[None], h, w, NPS, drop_last=False)
                    fs.append(res(v, h, w))
                fs = torch.cat(fs)  # overview first, then slices row-major: the order of image_bound

                def embeds_of(all_ids):
                    e = llm.get_input_embeddings()(torch.tensor([all_ids]))[0].clone()
                    for k, (s, n) in enumerate(spans):
                        e[s:s + n] = fs[k * QUERIES:(k + 1) * QUERIES]
                    return e[None]

                return fs, embeds_of, llm(inputs_embeds=embeds_of(ids)).logits[0]

        feats32, _, logits32 = forward(torch.float32)
        feats, embeds_of, logits = forward(torch.float64)  # see REFERENCE_F64
        report_f32(f"minicpmv_{c}", feats32, feats, logits32, logits)
        with torch.no_grad():
            toks = greedy(lambda g: llm(inputs_embeds=embeds_of(ids + g)).logits[0, -1], STEPS)
        rows = logit_rows(len(ids), spans)
        name = f"minicpmv_{c}"
        cases[f"{name}.ids"] = torch.tensor(ids, dtype=torch.int32)
        cases[f"{name}.spans"] = torch.tensor(spans, dtype=torch.int32)
        for k, p in enumerate(pieces):
            cases[f"{name}.pixels_{k}"] = to_pixels(p)
        cases[f"{name}.features"] = feats.float().contiguous()
        cases[f"{name}.rows"] = torch.tensor(rows, dtype=torch.int32)
        cases[f"{name}.logits"] = logits[rows].float().contiguous()
        cases[f"{name}.greedy"] = torch.tensor(toks, dtype=torch.int32)
        meta[f"{name}.image"] = f"gqa-demo/gqa/{IMAGES[0]}" if c == 0 else "vlm/small.png"
        meta[f"{name}.question"] = q
        meta[f"{name}.grid"] = json.dumps(grid)


def make_no_vision(gen):
    """A MiniCPM-V folder whose checkpoint holds only the decoder (llm.*): the loader must say the vision
    weights are missing. Tiny (vocab 64) since the error comes before the tokenizer is read."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out_dir = os.path.join(OUT, "minicpmv-no-vision")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    with open(os.path.join(OUT, "minicpmv-tiny", "config.json")) as f:
        config = json.load(f)
    config.update({"vocab_size": 64, "num_hidden_layers": 1, "intermediate_size": 32, "bos_token_id": 0,
                   "eos_token_id": 1})
    qcfg = Qwen2Config(hidden_size=config["hidden_size"], intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, vocab_size=64, tie_word_embeddings=False)
    llm = Qwen2ForCausalLM(qcfg)
    mvf.randomize(llm, gen)
    sd = {f"llm.{k}": v.bfloat16().contiguous() for k, v in llm.state_dict().items()}
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})  # versions: VERSIONS
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(4321)
    cases, meta = {}, versions()
    make_llava(gen, cases, meta)
    make_minicpmv(gen, cases, meta)
    make_no_vision(gen)
    # one metadata key holding sorted JSON: safetensors writes __metadata__ from a hash map, whose order (and
    # so the file's bytes) would change from run to run with several keys
    save_file(cases, os.path.join(OUT, "cases.safetensors"), metadata={"info": json.dumps(meta, sort_keys=True)})
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
