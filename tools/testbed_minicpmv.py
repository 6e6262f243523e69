"""testbed_minicpmv.py: the MiniCPM-V-2.6-style testbed model for tools/train_testbed.py (--model minicpmv).

MiniCPM-V is not in transformers; its parts are the project's torch rendering of the remote code, the same
one the tiny fixtures use and tools/check_minicpmv_reference.py checks against the remote code:
Idefics2VisionTransformer as the SigLIP NaViT with MiniCPM-V's position buckets
(make_vision_fixtures.navit_forward), the resampler of resampler.py (make_vision_fixtures.Resampler; heads =
hidden // 128), and Qwen2ForCausalLM as the LLM. Real settings where they matter for the C loaders: the real
Qwen2 tokenizer (vocab 151666, tied narrow embeddings), 64 queries, slicing with scale_resolution 448 and
max_slice_nums 9 (a 336 px picture is not sliced: it is up-scaled to 448 x 448, 32 x 32 patches), image ids
on, the real chat template with its default system turn. Saved as the remote code names its weights (vpm.*,
resampler.*, llm.*), bf16, config.json with model_type minicpmv.
"""
import json
import math
import os
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

import make_vision_fixtures as mvf
import make_vlm_fixtures as mvlm

PATCH, QUERIES, S_RES, MAX_SLICES, VISION_IMAGE_SIZE = 14, 64, 448, 9, 980  # 980 / 14 = 70 buckets, as the real one
SIDE = S_RES // PATCH  # 32 patches a side for the testbed's square pictures
ARCH = dict(vis_hidden=64, vis_layers=2, vis_heads=4, vis_mlp=256, llm_hidden=128, llm_layers=3, llm_heads=4,
            llm_kv_heads=2, llm_mlp=384)
SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


def real_dir(shared):
    return os.path.join(shared, "data", "models", "minicpm-v-2_6")


def tokenizer(shared):
    from transformers import Qwen2TokenizerFast
    d = real_dir(shared)
    return Qwen2TokenizerFast(vocab_file=os.path.join(d, "vocab.json"), merges_file=os.path.join(d, "merges.txt"),
                              tokenizer_file=None, **_added(d))


def _added(d):
    cfg = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
    from tokenizers import AddedToken
    toks = [AddedToken(v["content"], special=v.get("special", True), normalized=v.get("normalized", False))
            for _, v in sorted(cfg["added_tokens_decoder"].items(), key=lambda kv: int(kv[0]))]
    return {"additional_special_tokens": toks, "unk_token": cfg.get("unk_token"), "eos_token": cfg.get("eos_token"),
            "pad_token": cfg.get("pad_token")}


class MiniCPMV(nn.Module):
    def __init__(self, arch, vocab):
        super().__init__()
        from transformers import Qwen2Config, Qwen2ForCausalLM
        from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig
        from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer
        D = arch["llm_hidden"]
        assert D % 128 == 0, "the resampler has hidden // 128 heads"
        self.vcfg = Idefics2VisionConfig(hidden_size=arch["vis_hidden"], intermediate_size=arch["vis_mlp"],
                                         num_hidden_layers=arch["vis_layers"], num_attention_heads=arch["vis_heads"],
                                         image_size=VISION_IMAGE_SIZE, patch_size=PATCH,
                                         hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
        self.vpm = Idefics2VisionTransformer(self.vcfg)
        self.resampler = mvf.Resampler(QUERIES, D, D // 128, arch["vis_hidden"])
        self.qcfg = Qwen2Config(hidden_size=D, intermediate_size=arch["llm_mlp"], num_hidden_layers=arch["llm_layers"],
                                num_attention_heads=arch["llm_heads"], num_key_value_heads=arch["llm_kv_heads"],
                                vocab_size=vocab, rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=32768,
                                tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645)
        self.llm = Qwen2ForCausalLM(self.qcfg)
        self.llm.tie_weights()
        self.arch = arch
        with torch.no_grad():  # resampler.py: trunc_normal_(query, std=.02) (zeros would make 64 equal queries)
            nn.init.trunc_normal_(self.resampler.query, std=0.02)
        self.register_buffer("pos", torch.from_numpy(mvf.sincos_2d(D, SIDE, SIDE)).float().reshape(SIDE * SIDE, D),
                             persistent=False)
        self.rows = None  # training: the trained rows of the tied embedding (use_vocab)

    def use_vocab(self, ids):
        """Training: only the rows of the token ids the data uses are parameters (`rows`); all other rows of
        the tied 151666 x D embedding are zero and frozen. A zero row's logit is exactly 0, so the loss over the
        full vocabulary is the softmax over the used rows plus one column log(#unused) (forward_loss); AdamW
        then updates |ids| rows instead of 151666 (it dominated the step). sync_vocab writes the rows back."""
        ids = torch.as_tensor(sorted(set(int(i) for i in ids)), dtype=torch.long)
        V = self.qcfg.vocab_size
        remap = torch.full((V,), -1, dtype=torch.long)
        remap[ids] = torch.arange(len(ids))
        self.register_buffer("vocab", ids)
        self.register_buffer("remap", remap, persistent=False)
        w = self.llm.model.embed_tokens.weight
        self.rows = nn.Parameter(w.detach()[ids].clone())
        w.requires_grad_(False)
        self.n_unused = V - len(ids)
        self.sync_vocab()

    @torch.no_grad()
    def sync_vocab(self):
        w = self.llm.model.embed_tokens.weight
        w.zero_()
        w[self.vocab] = self.rows.detach()

    def dense_state(self):
        """The state dict of the plain model (full tied embedding with the trained rows; no training extras)."""
        if self.rows is not None:
            self.sync_vocab()
        return {k: v for k, v in self.state_dict().items() if k not in ("rows", "vocab")}

    def patches(self, pixels):
        """(B, 3, 448, 448) -> (B, 1024, vis_hidden): navit_forward for a batch of unsliced squares."""
        nps = VISION_IMAGE_SIZE // PATCH
        emb = self.vpm.embeddings
        x = emb.patch_embedding(pixels).flatten(2).transpose(1, 2)
        b = mvf.minicpm_buckets(SIDE, nps)
        x = x + emb.position_embedding((b[:, None] * nps + b).flatten())[None]
        for layer in self.vpm.encoder.layers:
            out = layer(x, attention_mask=None)
            x = out[0] if isinstance(out, tuple) else out
        return self.vpm.post_layernorm(x)

    def features(self, patches):
        """(B, 1024, vis_hidden) -> (B, 64, D): mvf.Resampler.forward for the whole batch at once (the same
        operations; nn.MultiheadAttention takes (L, B, D)), its 2-D sin-cos positions computed once."""
        r = self.resampler
        x = r.ln_kv(r.kv_proj(patches)).transpose(0, 1)                   # (1024, B, D)
        q = r.ln_q(r.query).unsqueeze(1).expand(-1, x.shape[1], -1)     # (64, B, D)
        out = r.attn(q, x + self.pos.unsqueeze(1), x)[0]                  # (64, B, D)
        return r.ln_post(out.transpose(0, 1)) @ r.proj


def data_vocab(toks, convs):
    """Every token id the training conversations use (prompts, answers, the stop tokens, and 0: the id that
    train_testbed.Data pads a batch with, after the last real token): use_vocab's rows."""
    ids = {0, toks.im_end, 151643, toks.unk}
    for e in convs:
        c = e["conversations"]
        for i in range(0, len(c), 2):
            q = c[i]["value"].replace("<image>\n", "")
            ids.update(toks.user(q, True))
            ids.update(toks.user(q, False))
            ids.update(toks.answer(c[i + 1]["value"]))
    return ids


def load_pixels(path):
    im = Image.open(path).convert("RGB")
    assert im.size == (336, 336), im.size
    grid, pieces = mvlm.slice_image(im)
    assert grid is None and pieces[0].size == (S_RES, S_RES), (grid, pieces[0].size)
    return mvlm.to_pixels(pieces[0])


def configure_slicing():
    """make_vlm_fixtures' slicing functions read these module constants: the real MiniCPM-V-2.6 values."""
    mvlm.S_RES, mvlm.MAX_SLICES, mvlm.QUERIES, mvlm.PATCH = S_RES, MAX_SLICES, QUERIES, PATCH


class Tokens:
    """The prompt as fc_chat_minicpmv_render/expand writes it (one user turn, image placeholder with id 0,
    "\\n" then the question), answers closed by <|im_end|>, later turns in the chat template's form."""

    def __init__(self, tok):
        self.tok = tok
        self.cache = {}
        self.im_end = tok.convert_tokens_to_ids("<|im_end|>")
        self.unk = tok.convert_tokens_to_ids("<unk>")
        self.image_end = tok.convert_tokens_to_ids("</image>")

    def prefix_len(self, u):
        """train_testbed.build_sample_isolated: the first turn's tokens up to and including </image>."""
        return len(u) - u[::-1].index(self.image_end)

    def enc(self, s):
        return self.tok(s, add_special_tokens=False).input_ids

    def user(self, q, first):
        k = (q, first)
        if k not in self.cache:
            if first:
                ph = mvlm.placeholder(0, None)
                s = SYSTEM + "<|im_start|>user\n" + ph + "\n" + q + "<|im_end|>\n<|im_start|>assistant\n"
            else:
                s = "\n<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n"
            self.cache[k] = self.enc(s)
        return self.cache[k]

    def answer(self, a):
        k = ("a", a)
        if k not in self.cache:
            self.cache[k] = self.enc(a) + [self.im_end]
        return self.cache[k]


def aux_targets(scene, grid, colors, shapes):
    """(1024, 4): per vision patch (32 x 32 over the 448 px up-scaled picture) its cell's object colour/shape
    (or empty), row and column."""
    cell_of = {(o["row"], o["col"]): o for o in scene["objects"]}
    t = np.zeros((SIDE, SIDE, 4), dtype=np.int64)
    for pr in range(SIDE):
        for pc in range(SIDE):
            r, c = min((2 * pr + 1) * grid // (2 * SIDE), grid - 1), min((2 * pc + 1) * grid // (2 * SIDE), grid - 1)
            o = cell_of.get((r, c))
            t[pr, pc] = (colors.index(o["color"]) if o else len(colors), shapes.index(o["shape"]) if o else len(shapes),
                         r, c)
    return torch.from_numpy(t.reshape(SIDE * SIDE, 4))


class Aux(nn.Module):
    """Training only, dropped at export. patch: per SigLIP patch output, its cell's colour, shape, row and
    column (the LLaVA testbed's head; the patches are spatial here too). scene: from all 64 resampler outputs
    together (the LLM's image rows; the queries are not spatial), every cell's colour and shape (or empty), so
    the resampler is pushed to carry the whole scene to the LLM."""

    def __init__(self, patch_head, d, grid, n_colors, n_shapes):
        super().__init__()
        self.patch = patch_head
        self.grid, self.nc, self.ns = grid, n_colors + 1, n_shapes + 1
        self.scene = nn.Linear(QUERIES * d, grid * grid * (self.nc + self.ns))
        centre = [((2 * r + 1) * SIDE) // (2 * grid) for r in range(grid)]
        self.register_buffer("cells", torch.tensor([pr * SIDE + pc for pr in centre for pc in centre]),
                             persistent=False)

    def loss(self, patches, feats, targets):
        # patches (B, 1024, C); feats (B, 64, D); targets (B, 1024, 4): colour, shape, row, col per patch
        t = targets[:, self.cells]                                        # (B, 9, 4) at the cell centres
        z = self.scene(feats.reshape(feats.shape[0], -1)).reshape(-1, self.grid * self.grid, self.nc + self.ns)
        scene = F.cross_entropy(z[..., :self.nc].reshape(-1, self.nc), t[..., 0].reshape(-1)) + \
            F.cross_entropy(z[..., self.nc:].reshape(-1, self.ns), t[..., 1].reshape(-1))
        return self.patch.loss(patches, targets) + scene


def forward_loss(model, aux, batch, aux_weight):
    """Training forward: the model's forward with the sparse vocabulary of use_vocab (the same numbers as the
    dense model with zero unused rows: the unused tokens enter the softmax as one column log(#unused))."""
    ids, labels = batch["ids"], batch["labels"]
    p = model.patches(batch["pixels"])
    feats = model.features(p)
    sid = model.remap[ids]
    assert int(sid.min()) >= 0, "a token outside the training vocabulary"
    emb = F.embedding(sid, model.rows)
    mask = ids == model.unk
    emb = emb.masked_scatter(mask.unsqueeze(-1), feats.reshape(-1, feats.shape[-1]).to(emb.dtype))
    if "mask" in batch:  # --isolate-turns: positions and visibility of the single-turn prompts
        h = model.llm.model(inputs_embeds=emb, attention_mask=batch["mask"], position_ids=batch["pos"]).last_hidden_state
    else:
        h = model.llm.model(inputs_embeds=emb).last_hidden_state
    tgt = model.remap[labels[:, 1:].clamp(min=0)]
    sel = labels[:, 1:] != -100
    logits = h[:, :-1][sel] @ model.rows.t()                             # (n, |vocab|): the tied LM head
    rest = torch.full((logits.shape[0], 1), math.log(model.n_unused))    # n_unused zero rows: logit 0 each
    logits = torch.cat([logits.float(), rest], 1)
    lm = F.cross_entropy(logits, tgt[sel])
    acc = (logits.argmax(-1) == tgt[sel]).float().mean()
    la = aux.loss(p, feats, batch["aux"]) if aux is not None and aux_weight > 0 else torch.zeros(())
    return lm, la, acc


def dense_loss(model, batch):
    """The same loss through the plain model (full embedding, full LM head): the check of forward_loss."""
    ids, labels = batch["ids"], batch["labels"]
    feats = model.features(model.patches(batch["pixels"]))
    emb = model.llm.model.embed_tokens(ids)
    emb = emb.masked_scatter((ids == model.unk).unsqueeze(-1), feats.reshape(-1, feats.shape[-1]).to(emb.dtype))
    h = model.llm.model(inputs_embeds=emb).last_hidden_state
    tgt = labels[:, 1:]
    sel = tgt != -100
    return F.cross_entropy(model.llm.lm_head(h[:, :-1][sel]).float(), tgt[sel])


def vision_loss(model, aux, batch):
    p = model.patches(batch["pixels"])
    return aux.loss(p, model.features(p), batch["aux"])


@torch.no_grad()
def greedy(model, tok, pixels, question, max_new):  # -> (text, ids without the stop token)
    """Our torch rendering answering one question (recomputing the prompt each step: <= a few tokens)."""
    T = Tokens(tok)
    ids = T.user(question, True)
    feats = model.features(model.patches(pixels[None]))
    out = []
    for _ in range(max_new):
        x = torch.tensor([ids + out])
        emb = model.llm.model.embed_tokens(x)
        emb = emb.masked_scatter((x == T.unk).unsqueeze(-1), feats.reshape(-1, feats.shape[-1]))
        nxt = int(model.llm.lm_head(model.llm.model(inputs_embeds=emb).last_hidden_state[0, -1]).argmax())
        if nxt in (T.im_end, 151643):
            break
        out.append(nxt)
    return tok.decode(out, skip_special_tokens=True), out


def export(model, arch, out, shared, versions):
    from safetensors.torch import save_file
    sd = {f"vpm.{k}": v for k, v in model.vpm.state_dict().items()}
    sd.update({f"resampler.{k}": v for k, v in model.resampler.state_dict().items()})
    sd.update({f"llm.{k}": v for k, v in model.llm.state_dict().items() if k != "lm_head.weight"})  # tied
    sd = {k: v.detach().bfloat16().contiguous() for k, v in sd.items()}
    os.makedirs(out, exist_ok=True)
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    q, v = model.qcfg, model.vcfg
    config = {
        "architectures": ["MiniCPMV"], "model_type": "minicpmv", "version": 2.6,
        "hidden_size": q.hidden_size, "intermediate_size": q.intermediate_size,
        "num_hidden_layers": q.num_hidden_layers, "num_attention_heads": q.num_attention_heads,
        "num_key_value_heads": q.num_key_value_heads, "hidden_act": "silu", "rms_norm_eps": 1e-6,
        "rope_theta": 1e6, "max_position_embeddings": q.max_position_embeddings, "vocab_size": q.vocab_size,
        "tie_word_embeddings": True, "bos_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16",
        "query_num": QUERIES, "image_size": S_RES, "patch_size": PATCH, "drop_vision_last_layer": False,
        "use_image_id": True, "slice_mode": True,
        "slice_config": {"max_slice_nums": MAX_SLICES, "patch_size": PATCH, "scale_resolution": S_RES},
        "vision_config": {"hidden_size": v.hidden_size, "image_size": v.image_size,
                          "intermediate_size": v.intermediate_size, "model_type": "siglip",
                          "num_attention_heads": v.num_attention_heads, "num_hidden_layers": v.num_hidden_layers,
                          "patch_size": PATCH, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    pre = {"image_processor_type": "MiniCPMVImageProcessor", "image_feature_size": QUERIES,
           "max_slice_nums": MAX_SLICES, "scale_resolution": S_RES, "patch_size": PATCH, "use_image_id": True,
           "slice_mode": True, "norm_mean": [0.5, 0.5, 0.5], "norm_std": [0.5, 0.5, 0.5]}
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=1)
    d = real_dir(shared)
    for f in ("vocab.json", "merges.txt", "added_tokens.json", "special_tokens_map.json", "generation_config.json"):
        shutil.copyfile(os.path.join(d, f), os.path.join(out, f))
    cfg = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
    cfg["tokenizer_class"] = "Qwen2Tokenizer"  # no remote code needed: the same BPE as MiniCPMVTokenizerFast
    cfg.pop("auto_map", None)
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
