#!/usr/bin/env python3
"""train_testbed.py: train the tiny testbed VLMs on the synthetic visual-QA data of `fc-eval synth`.

The models are in the exact Hugging Face layouts of the targets, so the project's loaders (core/model/vlm)
run them as they run the real ones:
  llava   LlavaForConditionalGeneration: CLIP ViT at 336 px, patch 14 -> 576 image tokens, vision_feature_layer
          -2 (the last CLIP layer exists but is never used, as in LLaVA-1.5), GELU projector, Llama with the real
          llava-1.5 tokenizer (vocab 32064, image token 32000) and tied narrow embeddings.

Subcommands (all CPU; torch threads set by --threads, default 2):
  data    run bin/fc-eval synth to make the training/test data (the settings used by train)
  train   train (or --resume) with checkpoints every --ckpt-minutes; stops after --minutes or --steps
  export  write the HF folder (bf16 safetensors, config.json, tokenizer and processor files, training.json)
  eval    accuracy of an exported folder on a split's questions (transformers' own generate), and with the
          image blanked (the background colour only); optional --c-check N: the same questions through
          bin/fc-eval run, counting agreement with transformers' answers

Training recipe (why each piece; see issue 11 for the measurements that led to it):
  - all of an image's questions in one multi-turn conversation (fc-eval synth --pack), order reshuffled every
    time the image is seen, and a last "Describe the image." turn naming every object with its cell: one
    ~750-token forward then supervises ~40 answer tokens instead of 1-2, so the vision side gets gradient;
  - --isolate-turns (llava from step 3248 on, minicpmv from step 1970 on): the packed turns were answerable from earlier turns'
    text (0.87 training token accuracy, ~51% on single-question test prompts), so every turn is laid out as
    its own single-turn prompt after one shared image prefix, seeing only the prefix and itself
    (build_sample_isolated; its logits equal the single-turn HF forward's to 1.3e-5);
  - a training-only auxiliary head on the projector outputs: every image token predicts the colour, shape,
    row and column of the object in its grid cell (or "empty"); dense, cheap, and dropped from the saved
    model so that the layout stays exact;
  - the loss only at answer tokens, the LM head applied only there (the 32064-way head over 750 positions
    would otherwise cost more than the model), and the unused last CLIP layer skipped in training (its output
    is never read with vision_feature_layer -2, so skipping it changes nothing but the time).
Everything follows from --seed (model init, data order, turn order); settings and seeds are written to
training.json beside the weights.
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
LLAVA_REAL = os.path.join(SHARED, "data", "models", "llava-1.5-7b-hf")
IMAGE_TOKEN = 32000
N_IMAGE_TOKENS = 576
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
COLORS = ["red", "green", "blue", "yellow", "purple"]
SHAPES = ["circle", "square", "triangle"]
BACKGROUND = (110, 110, 110)  # data/synth_vqa.c fc_synth_background_rgb: the blanked image

MINICPMV_VOCAB = 151666  # the real MiniCPM-V-2.6 LLM's vocab_size (its tokenizer's 151643 + 23 added tokens)
sys.path.insert(0, os.path.join(ROOT, "tools"))
# the model's shape; recorded in training.json
LLAVA_ARCH = dict(clip_hidden=64, clip_layers=3, clip_heads=4, clip_mlp=256,
                  llm_hidden=128, llm_layers=3, llm_heads=4, llm_mlp=384)
# the data: fc-eval synth options (train split; test/validation are generated with the same settings)
DATA_ARGS = ["--grid", "3", "--objects", "1..5", "--questions", "14", "--pack", "--describe"]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ------------------------------------------------------------------ model
def llava_config(arch):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig
    return LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=arch["clip_hidden"], intermediate_size=arch["clip_mlp"],
                                       num_hidden_layers=arch["clip_layers"], num_attention_heads=arch["clip_heads"],
                                       image_size=336, patch_size=14, projection_dim=arch["clip_hidden"]),
        text_config=LlamaConfig(hidden_size=arch["llm_hidden"], intermediate_size=arch["llm_mlp"],
                                num_hidden_layers=arch["llm_layers"], num_attention_heads=arch["llm_heads"],
                                num_key_value_heads=arch["llm_heads"], vocab_size=32064, rms_norm_eps=1e-5,
                                max_position_embeddings=16384, bos_token_id=1, eos_token_id=2, pad_token_id=32001,
                                tie_word_embeddings=True),
        image_token_index=IMAGE_TOKEN, projector_hidden_act="gelu", pad_token_id=32001, image_seq_length=576,
        vision_feature_layer=-2, vision_feature_select_strategy="default", tie_word_embeddings=True)


class AuxHead(nn.Module):
    """Training only: from each projected image token, the colour (5 + empty), shape (3 + empty), row and
    column of the object in its grid cell."""

    def __init__(self, d, grid):
        super().__init__()
        self.grid = grid
        self.color = nn.Linear(d, len(COLORS) + 1)
        self.shape = nn.Linear(d, len(SHAPES) + 1)
        self.row = nn.Linear(d, grid)
        self.col = nn.Linear(d, grid)

    def loss(self, feats, targets):
        # feats (B, 576, d); targets (B, 576, 4) long
        t = targets.reshape(-1, 4)
        f = feats.reshape(-1, feats.shape[-1])
        return (F.cross_entropy(self.color(f), t[:, 0]) + F.cross_entropy(self.shape(f), t[:, 1]) +
                0.5 * F.cross_entropy(self.row(f), t[:, 2]) + 0.5 * F.cross_entropy(self.col(f), t[:, 3]))


def image_features(model, pixels):
    """Projected image rows as LlavaModel.get_image_features computes them with vision_feature_layer -2 and
    the default strategy (drop CLS), but without running the last CLIP layer, whose output is not used."""
    vm = model.model.vision_tower.vision_model
    x = vm.embeddings(pixels)
    x = vm.pre_layrnorm(x)
    for layer in vm.encoder.layers[:-1]:
        out = layer(x, None, None)
        x = out[0] if isinstance(out, tuple) else out
    return model.model.multi_modal_projector(x[:, 1:])


def forward_loss(model, aux, batch, aux_weight):
    ids, labels, pixels, aux_t = batch["ids"], batch["labels"], batch["pixels"], batch["aux"]
    feats = image_features(model, pixels)                      # (B, 576, H)
    emb = model.model.language_model.embed_tokens(ids.clamp(max=31999))
    mask = ids == IMAGE_TOKEN
    emb = emb.masked_scatter(mask.unsqueeze(-1), feats.reshape(-1, feats.shape[-1]).to(emb.dtype))
    if "mask" in batch:  # isolated turns: positions and visibility of the single-turn prompts
        h = model.model.language_model(inputs_embeds=emb, attention_mask=batch["mask"],
                                       position_ids=batch["pos"]).last_hidden_state
    else:
        h = model.model.language_model(inputs_embeds=emb).last_hidden_state
    # next-token targets: position p predicts labels[p + 1]
    tgt = labels[:, 1:]
    sel = tgt != -100
    logits = model.lm_head(h[:, :-1][sel])
    lm = F.cross_entropy(logits.float(), tgt[sel])
    acc = (logits.argmax(-1) == tgt[sel]).float().mean()
    la = aux.loss(feats, aux_t) if aux is not None and aux_weight > 0 else torch.zeros(())
    return lm, la, acc


# ------------------------------------------------------------------ data
def load_pixels(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    assert a.shape == (336, 336, 3), (path, a.shape)
    return torch.from_numpy(((a - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1).copy())


def aux_targets(scene, grid):
    """(576, 4): per image token (24 x 24 patches, row-major), its cell's object colour/shape (or empty = last
    class), and the cell's row and column."""
    cell_of = {(o["row"], o["col"]): o for o in scene["objects"]}
    t = np.zeros((24, 24, 4), dtype=np.int64)
    per = 24 // grid
    for pr in range(24):
        for pc in range(24):
            r, c = min(pr // per, grid - 1), min(pc // per, grid - 1)
            o = cell_of.get((r, c))
            t[pr, pc] = (COLORS.index(o["color"]) if o else len(COLORS), SHAPES.index(o["shape"]) if o else len(SHAPES),
                         r, c)
    return torch.from_numpy(t.reshape(576, 4))


class Tokens:
    """The prompt pieces tokenised as the C engine and LLaVA's processor tokenise the whole prompt: the first
    user turn with BOS and one <image> (expanded to 576 ids), answers as the continuation after 'ASSISTANT:',
    each answer closed by </s> (LLaVA-1.5's sep2), later user turns after it."""

    def __init__(self, tok):
        self.tok = tok
        self.cache = {}

    def enc(self, s):
        return self.tok(s, add_special_tokens=False).input_ids

    def answer(self, a):
        k = ("a", a)
        if k not in self.cache:
            base = self.enc("ASSISTANT:")
            full = self.enc("ASSISTANT: " + a)
            assert full[:len(base)] == base, (a, base, full)
            self.cache[k] = full[len(base):] + [2]
        return self.cache[k]

    def user(self, q, first):
        k = ("u", q, first)
        if k not in self.cache:
            if first:
                ids = [1] + self.enc("USER: <image>\n" + q + " ASSISTANT:")
                i = ids.index(IMAGE_TOKEN)
                ids = ids[:i] + [IMAGE_TOKEN] * N_IMAGE_TOKENS + ids[i + 1:]
            else:
                ids = self.enc("USER: " + q + " ASSISTANT:")
            self.cache[k] = ids
        return self.cache[k]


def build_sample_isolated(toks, conv, rng):
    """conv: the LLaVA conversation (packed), laid out as one image prefix followed by every question turn
    (describe included) each as if it were the only one: turn j holds the single-turn prompt's tokens after
    the image ('\n' + question + ' ASSISTANT:') and its answer, at the positions the single-turn prompt gives
    them, and (through the mask Data.batch builds from `seg`) sees only the prefix and itself. So each turn
    computes exactly what the one-question prompt of evaluation computes, and no answer can be read off an
    earlier turn's text instead of the image (the shortcut the plain packing leaves open).
    -> ids, labels, pos, seg (-1 for the prefix, j for turn j)."""
    pairs = [(conv[i]["value"].replace("<image>\n", ""), conv[i + 1]["value"]) for i in range(0, len(conv), 2)]
    rng.shuffle(pairs)
    ids = labels = pos = seg = None
    for j, (q, a) in enumerate(pairs):
        u = toks.user(q, True)
        # the shared prefix: up to and including the last image token (MiniCPM-V: its closing </image>)
        P = toks.prefix_len(u) if hasattr(toks, "prefix_len") else len(u) - u[::-1].index(IMAGE_TOKEN)
        if ids is None:
            ids, labels, pos, seg = list(u[:P]), [-100] * P, list(range(P)), [-1] * P
        assert u[:P] == ids[:P], "the image prefix depends on the question"
        ans = toks.answer(a)
        turn = u[P:] + ans
        ids += turn
        labels += [-100] * (len(u) - P) + ans
        pos += range(P, P + len(turn))
        seg += [j] * len(turn)
    return ids, labels, pos, seg


def isolated_mask(seg, T):
    """(T, T) additive attention mask for build_sample_isolated's layout: row i sees column k <= i when k is in
    the prefix or in i's own turn; padding rows (seg -2) see themselves only."""
    s = torch.full((T,), -2, dtype=torch.long)
    s[:len(seg)] = torch.tensor(seg)
    i = torch.arange(T)
    causal = i[None, :] <= i[:, None]
    ok = causal & ((s[None, :] == -1) | (s[None, :] == s[:, None]))
    ok |= torch.eye(T, dtype=torch.bool)
    m = torch.zeros((T, T))
    m.masked_fill_(~ok, torch.finfo(torch.float32).min)
    return m


def build_sample(toks, conv, rng, describe_last=True):
    """conv: the LLaVA conversation (packed). Questions reshuffled; the describe turn (if any) last."""
    pairs = [(conv[i]["value"].replace("<image>\n", ""), conv[i + 1]["value"]) for i in range(0, len(conv), 2)]
    desc = [p for p in pairs if p[0] == "Describe the image."]
    qs = [p for p in pairs if p[0] != "Describe the image."]
    rng.shuffle(qs)
    pairs = qs + desc if describe_last else qs
    ids, labels = [], []
    for i, (q, a) in enumerate(pairs):
        u = toks.user(q, i == 0)
        ids += u
        labels += [-100] * len(u)
        ans = toks.answer(a)
        ids += ans
        labels += ans
    return ids, labels


class Data:
    """toks: Tokens (LLaVA) or testbed_minicpmv.Tokens; pixels(path) and aux(scene) per model."""

    def __init__(self, data_dir, split, toks, grid, pixels=None, aux=None):
        with open(os.path.join(data_dir, f"{split}.json")) as f:
            self.convs = json.load(f)
        with open(os.path.join(data_dir, f"{split}_scenes.json")) as f:
            self.scenes = json.load(f)
        self.dir = data_dir
        self.toks = toks
        self.grid = grid
        self.pixels = pixels or load_pixels
        self.aux = aux or (lambda scene: aux_targets(scene, grid))
        self.isolate = False  # build_sample_isolated's layout (--isolate-turns)

    def batch(self, idxs, rng):
        seqs, pix, aux = [], [], []
        for i in idxs:
            e = self.convs[i]
            if self.isolate:
                seqs.append(build_sample_isolated(self.toks, e["conversations"], rng))
            else:
                seqs.append(build_sample(self.toks, e["conversations"], rng))
            pix.append(self.pixels(os.path.join(self.dir, e["image"])))
            aux.append(self.aux(self.scenes[e["id"]]))
        T = max(len(s[0]) for s in seqs)
        ids = torch.zeros((len(seqs), T), dtype=torch.long)  # right padding never reaches a real token (causal)
        labels = torch.full((len(seqs), T), -100, dtype=torch.long)
        for b, (s, l, *_) in enumerate(seqs):
            ids[b, :len(s)] = torch.tensor(s)
            labels[b, :len(l)] = torch.tensor(l)
        out = {"ids": ids, "labels": labels, "pixels": torch.stack(pix), "aux": torch.stack(aux)}
        if self.isolate:
            pos = torch.zeros((len(seqs), T), dtype=torch.long)
            for b, (s, _, p, _) in enumerate(seqs):
                pos[b, :len(p)] = torch.tensor(p)
            out["pos"] = pos
            out["mask"] = torch.stack([isolated_mask(sq[3], T) for sq in seqs]).unsqueeze(1)  # (B, 1, T, T)
        return out


# ------------------------------------------------------------------ commands
def cmd_data(a):
    fc = os.path.join(ROOT, "bin", "fc-eval")
    for split, n in (("train", a.n_train), ("validation", a.n_eval), ("test", a.n_eval)):
        cmd = [fc, "synth", "--out", a.data, "--split", split, "--n", str(n), "--seed", str(a.data_seed)] + DATA_ARGS
        log(" ".join(cmd))
        subprocess.run(cmd, check=True)


def save_ckpt(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def build(a):
    """(model, aux head, train Data, arch, full loss(batch), vision-only loss(batch)) for --model."""
    from transformers import AutoTokenizer, LlavaForConditionalGeneration
    torch.manual_seed(a.seed)
    if a.model == "llava":
        arch = dict(LLAVA_ARCH)
        model = LlavaForConditionalGeneration(llava_config(arch))
        aux = AuxHead(arch["llm_hidden"], 3)
        data = Data(a.data, "train", Tokens(AutoTokenizer.from_pretrained(LLAVA_REAL)), 3)
        data.isolate = a.isolate_turns
        return (model, aux, data, arch, lambda b: forward_loss(model, aux, b, a.aux_weight),
                lambda b: aux.loss(image_features(model, b["pixels"]), b["aux"]))
    import testbed_minicpmv as mc
    mc.configure_slicing()
    arch = dict(mc.ARCH)
    model = mc.MiniCPMV(arch, MINICPMV_VOCAB)
    aux = mc.Aux(AuxHead(arch["vis_hidden"], 3), arch["llm_hidden"], 3, len(COLORS), len(SHAPES))
    toks = mc.Tokens(mc.tokenizer(SHARED))
    data = Data(a.data, "train", toks, 3, pixels=mc.load_pixels, aux=lambda sc: mc.aux_targets(sc, 3, COLORS, SHAPES))
    model.unk = toks.unk
    data.isolate = a.isolate_turns
    model.use_vocab(mc.data_vocab(toks, data.convs))
    for split in ("validation", "test"):  # their prompts must not need a row that training never sees
        with open(os.path.join(a.data, f"{split}.json")) as f:
            extra = mc.data_vocab(toks, json.load(f)) - set(model.vocab.tolist())
        assert not extra, f"{split} uses tokens the train split never has: {sorted(extra)[:10]}"
    log(f"training vocabulary: {len(model.vocab)} of {MINICPMV_VOCAB} rows trained, the rest zero")
    return (model, aux, data, arch, lambda b: mc.forward_loss(model, aux, b, a.aux_weight),
            lambda b: mc.vision_loss(model, aux, b))


def cmd_train(a):
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    ck = os.path.join(a.work, "ckpt.pt")
    model, aux, data, arch, full_loss, vision_loss = build(a)
    params = [p for p in list(model.parameters()) + list(aux.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    state = {"step": 0, "seen": 0, "epoch": 0, "cursor": 0, "elapsed": 0.0, "history": []}
    if a.resume and os.path.exists(ck):
        s = torch.load(ck, weights_only=False)
        model.load_state_dict(s["model"])
        aux.load_state_dict(s["aux"])
        opt.load_state_dict(s["opt"])
        state = s["state"]
        log(f"resumed {ck} at step {state['step']} ({state['seen']} images, {state['elapsed'] / 60:.1f} min)")
    elif a.init_from:  # a shipped model (bf16) as the start, fresh optimiser and aux head, counters from training.json
        if a.model != "llava":
            raise SystemExit("--init-from: llava only so far")
        from transformers import LlavaForConditionalGeneration
        src = LlavaForConditionalGeneration.from_pretrained(a.init_from, dtype=torch.float32)
        model.load_state_dict(src.state_dict())
        info = json.load(open(os.path.join(a.init_from, "training.json")))
        state.update(step=info["steps"], seen=info["images_seen"], epoch=info["epochs"],
                     elapsed=info["train_minutes"] * 60, cursor=info.get("cursor", 0))
        log(f"initialised from {a.init_from} (step {state['step']}); optimiser state starts fresh")
    model.train()
    n = len(data.convs)
    log(f"model {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, {n} train images, batch {a.batch}")
    t0, last_ck, acc_hist = time.time(), time.time(), []
    start_elapsed = state["elapsed"]
    stop = []  # SIGTERM / SIGINT: finish the step, write the checkpoint, exit (a session's end loses nothing)
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    while not stop:
        el = start_elapsed + time.time() - t0
        if (a.minutes and el - start_elapsed >= a.minutes * 60) or (a.steps and state["step"] >= a.steps):
            break
        perm = np.random.default_rng(a.seed * 1000 + state["epoch"]).permutation(n)
        if state["cursor"] + a.batch > n:
            state["epoch"] += 1
            state["cursor"] = 0
            continue
        idxs = perm[state["cursor"]:state["cursor"] + a.batch]
        rng = random.Random(a.seed * 7919 + state["step"])
        batch = data.batch(idxs, rng)
        step = state["step"]
        lr = a.lr * min(1.0, (step + 1) / a.warmup)
        if a.decay_from and step > a.decay_from:
            lr *= max(0.1, 1 - (step - a.decay_from) / max(1, a.decay_len))
        for g in opt.param_groups:
            g["lr"] = lr
        if step < a.vision_steps:  # warm-up of the vision side alone: the auxiliary targets, no LLM (cheap)
            la = vision_loss(batch)
            lm, acc, loss = torch.zeros(()), torch.zeros(()), la
        else:
            lm, la, acc = full_loss(batch)
            loss = lm + a.aux_weight * la
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        state["step"] += 1
        state["seen"] += len(idxs)
        state["cursor"] += a.batch
        acc_hist.append((lm.item(), la.item(), acc.item()))
        if state["step"] % a.log_every == 0:
            m = np.mean(acc_hist, axis=0)
            acc_hist = []
            el = start_elapsed + time.time() - t0
            log(f"step {state['step']} seen {state['seen']} lr {lr:.2e} lm {m[0]:.4f} aux {m[1]:.4f} "
                f"tok_acc {m[2]:.3f} elapsed {el / 60:.1f} min")
            state["history"].append([state["step"], state["seen"], round(float(m[0]), 4), round(float(m[1]), 4),
                                     round(float(m[2]), 4), round(el / 60, 2)])
        if time.time() - last_ck > a.ckpt_minutes * 60:
            state["elapsed"] = start_elapsed + time.time() - t0
            if hasattr(model, "sync_vocab"):
                model.sync_vocab()
            save_ckpt(ck, {"model": model.state_dict(), "aux": aux.state_dict(), "opt": opt.state_dict(),
                           "state": state, "args": vars(a), "arch": arch})
            last_ck = time.time()
            log(f"checkpoint {ck} step {state['step']}")
    state["elapsed"] = start_elapsed + time.time() - t0
    if hasattr(model, "sync_vocab"):
        model.sync_vocab()
    save_ckpt(ck, {"model": model.state_dict(), "aux": aux.state_dict(), "opt": opt.state_dict(), "state": state,
                   "args": vars(a), "arch": arch})
    log(f"done: step {state['step']}, {state['seen']} images, {state['elapsed'] / 60:.1f} min; checkpoint {ck}")


def versions():
    import PIL
    import safetensors
    import tokenizers
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
            "numpy": np.__version__, "Pillow": PIL.__version__, "python": sys.version.split()[0]}


def cmd_export(a):
    s = torch.load(os.path.join(a.work, "ckpt.pt"), weights_only=False)
    kind = s["args"].get("model", "llava")
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):
        if f.endswith(".safetensors") or f.endswith(".index.json"):
            os.remove(os.path.join(a.out, f))
    if kind == "llava":
        from transformers import LlavaForConditionalGeneration
        model = LlavaForConditionalGeneration(llava_config(s["arch"]))
        model.load_state_dict(s["model"])
        model = model.to(torch.bfloat16).eval()
        model.save_pretrained(a.out, safe_serialization=True)
        for f in ("added_tokens.json", "chat_template.jinja", "chat_template.json", "preprocessor_config.json",
                  "processor_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model",
                  "tokenizer_config.json"):
            shutil.copyfile(os.path.join(LLAVA_REAL, f), os.path.join(a.out, f))
    else:
        import testbed_minicpmv as mc
        model = mc.MiniCPMV(s["arch"], MINICPMV_VOCAB)
        model.load_state_dict({k: v for k, v in s["model"].items() if k not in ("rows", "vocab")})
        mc.export(model, s["arch"], a.out, SHARED, versions())
    info_path = os.path.join(a.out, "training.json")
    info = {}
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
    st = s["state"]
    info.update({
        "script": "tools/train_testbed.py", "model": kind, "arch": s["arch"], "args": s["args"],
        "data": {"generator": "bin/fc-eval synth", "options": DATA_ARGS, "seed": s["args"]["data_seed"],
                 "train_images": s["args"].get("n_train")},
        "steps": st["step"], "images_seen": st["seen"], "epochs": st["epoch"], "cursor": st["cursor"],
        "train_minutes": round(st["elapsed"] / 60, 1),
        "history": st["history"][-20:], "versions": versions(),
        "auxiliary_head": "training only (colour, shape, row, col per image token), not saved"})
    if kind == "minicpmv":
        info["auxiliary_head"] = ("training only, not saved: colour, shape, row, col per SigLIP patch output, and "
                                  "every cell's colour and shape from the 64 resampler outputs together")
        info["embedding"] = (f"{len(s['model']['vocab'])} rows of the tied {MINICPMV_VOCAB}-row embedding are "
                             "trained (the token ids the train split uses); all other rows are zero")
    with open(info_path, "w") as f:
        json.dump(info, f, indent=1)
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out) if f.endswith(".safetensors"))
    log(f"exported step {st['step']} to {a.out}: safetensors {size / 1e6:.2f} MB")


def norm_answer(s):
    return s.strip().lower().rstrip(".").strip()


def answerer(a):
    """question answering of an exported folder in torch: LLaVA through transformers' own classes and
    generate; MiniCPM-V through our torch rendering loaded from the exported safetensors (bf16 -> f32)."""
    if a.model == "llava":
        from transformers import AutoProcessor, LlavaForConditionalGeneration
        model = LlavaForConditionalGeneration.from_pretrained(a.out, dtype=torch.float32).eval()
        proc = AutoProcessor.from_pretrained(a.out)

        def ask(im, question):
            inp = proc(images=im, text=f"USER: <image>\n{question} ASSISTANT:", return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**inp, max_new_tokens=6, do_sample=False)
            ids = [int(t) for t in out[0, inp["input_ids"].shape[1]:] if int(t) != 2]
            return proc.tokenizer.decode(ids, skip_special_tokens=True), ids
        return ask
    import testbed_minicpmv as mc
    from safetensors.torch import load_file
    mc.configure_slicing()
    cfg = json.load(open(os.path.join(a.out, "config.json")))
    arch = json.load(open(os.path.join(a.out, "training.json")))["arch"]
    model = mc.MiniCPMV(arch, cfg["vocab_size"]).eval()
    sd = {k: v.float() for k, v in load_file(os.path.join(a.out, "model.safetensors")).items()}
    model.vpm.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("vpm.")})
    model.resampler.load_state_dict({k[10:]: v for k, v in sd.items() if k.startswith("resampler.")})
    model.llm.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("llm.")}, strict=False)
    model.llm.tie_weights()
    tok = mc.tokenizer(SHARED)

    def ask(im, question):
        grid, pieces = mvlm_slice(im)
        return mc.greedy(model, tok, mc.mvlm.to_pixels(pieces[0]), question, 6)
    return ask


def mvlm_slice(im):
    import testbed_minicpmv as mc
    return mc.mvlm.slice_image(im)


def cmd_eval(a):
    torch.set_num_threads(a.threads)
    ask = answerer(a)
    with open(os.path.join(a.data, f"{a.split}_questions.json")) as f:
        qs = json.load(f)
    with open(os.path.join(a.data, f"{a.split}_scenes.json")) as f:
        scenes = json.load(f)
    items = list(qs.items())
    items = random.Random(0).sample(items, min(a.n, len(items)))  # spread over images and kinds
    blank = Image.new("RGB", (336, 336), BACKGROUND)
    res = {"n": len(items), "by_type": {}, "blank_by_type": {}}
    correct = blank_correct = 0
    answers = {}
    t0 = time.time()
    for qid, q in items:
        img = Image.open(os.path.join(a.data, scenes[q["imageId"]]["file"])).convert("RGB")
        for which, im in (("image", img), ("blank", blank)):
            ans, ids = ask(im, q["question"])
            ok = norm_answer(ans) == norm_answer(q["answer"])
            key = "by_type" if which == "image" else "blank_by_type"
            c = res[key].setdefault(q["type"], [0, 0])
            c[0] += ok
            c[1] += 1
            if which == "image":
                correct += ok
                answers[qid] = ids
                if len(answers) <= a.show:
                    log(f"{qid} [{q['type']}] {q['question']} -> '{ans.strip()}' (want '{q['answer']}')")
            else:
                blank_correct += ok
    res["accuracy"] = correct / len(items)
    res["blank_accuracy"] = blank_correct / len(items)
    # the majority-answer rate per type: what a blind model that knows the answer prior scores
    with open(os.path.join(a.data, f"{a.split}_questions.json")) as f:
        allq = json.load(f)
    from collections import Counter
    by = {}
    for q in allq.values():
        by.setdefault(q["type"], Counter())[q["answer"]] += 1
    maj = sum(max(by[q["type"]].values()) / sum(by[q["type"]].values()) for _, q in items) / len(items)
    res["majority_rate"] = maj
    res["seconds"] = round(time.time() - t0, 1)
    if a.c_check:
        fc = os.path.join(ROOT, "bin", "fc-eval")
        agree = 0
        for qid, q in items[:a.c_check]:
            # the same greedy tokens, compared as ids (the answer's text could hide a difference)
            r = subprocess.run([fc, "run", "--model", a.out, "--image", os.path.join(a.data, scenes[q["imageId"]]["file"]),
                                "--prompt", q["question"], "--max-new-tokens", "6", "--print-ids"],
                               capture_output=True, text=True)
            cids = [int(t) for t in r.stdout.split()] if r.returncode == 0 else f"<error {r.stderr.strip()}>"
            agree += cids == answers[qid]
            if cids != answers[qid]:
                log(f"C/torch differ on {qid}: C {cids} torch {answers[qid]}")
        res["c_agreement"] = [agree, min(a.c_check, len(items))]
    res["by_type"] = {k: f"{v[0]}/{v[1]}" for k, v in sorted(res["by_type"].items())}
    res["blank_by_type"] = {k: f"{v[0]}/{v[1]}" for k, v in sorted(res["blank_by_type"].items())}
    print(json.dumps(res, indent=1))
    if a.record:
        info_path = os.path.join(a.out, "training.json")
        info = json.load(open(info_path)) if os.path.exists(info_path) else {}
        info.setdefault("eval", {})[a.split] = dict(res, command=" ".join(sys.argv))
        with open(info_path, "w") as f:
            json.dump(info, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["data", "train", "export", "eval"])
    p.add_argument("--model", default="llava", choices=["llava", "minicpmv"])
    p.add_argument("--data", default="/tmp/testbed-data", help="fc-eval synth output folder")
    p.add_argument("--work", default=None, help="checkpoint folder (ckpt.pt); default /tmp/testbed-work-MODEL")
    p.add_argument("--out", default=None, help="exported model folder; default data/testbed/MODEL-tiny")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-seed", type=int, default=11)
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--n-eval", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--decay-from", type=int, default=0)
    p.add_argument("--decay-len", type=int, default=2000)
    p.add_argument("--aux-weight", type=float, default=1.0)
    p.add_argument("--isolate-turns", action="store_true",
                   help="every question turn sees only the image prefix and itself, at single-turn positions")
    p.add_argument("--vision-steps", type=int, default=0, help="first steps train the vision side on the aux targets only")
    p.add_argument("--minutes", type=float, default=0)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--ckpt-minutes", type=float, default=5)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--resume", action="store_true", help="continue from WORK/ckpt.pt (weights, optimiser, data cursor)")
    p.add_argument("--init-from", default=None, help="start from an exported folder (when WORK/ckpt.pt is gone)")
    p.add_argument("--split", default="test")
    p.add_argument("--n", type=int, default=300, help="eval: questions")
    p.add_argument("--c-check", type=int, default=0)
    p.add_argument("--show", type=int, default=10, help="eval: print the first answers")
    p.add_argument("--record", action="store_true", help="eval: store the figures in training.json")
    a = p.parse_args()
    a.work = a.work or f"/tmp/testbed-work-{a.model}"
    a.out = a.out or os.path.join(ROOT, "data", "testbed", f"{a.model}-tiny")
    {"data": cmd_data, "train": cmd_train, "export": cmd_export, "eval": cmd_eval}[a.command](a)


if __name__ == "__main__":
    main()
