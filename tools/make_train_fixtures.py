#!/usr/bin/env python3
"""make_train_fixtures.py: reference numbers for fc-train's optimizer and schedules, from torch itself,
written to tests/fixtures/train/optim.safetensors.

  adamw_wd{0,1}.*   torch.optim.AdamW (lr varying per step, as a schedule does) on 1003 parameters for
                    5 steps of fixed gradients: p0, grads (5, n), lrs (5), then after every step the
                    parameters (5, n), and the moments after the last (m, v). wd1 uses weight_decay 0.1 and
                    betas (0.8, 0.99), eps 1e-6, so every hyperparameter is exercised.
  clip.*            torch.nn.utils.clip_grad_norm_ on a gradient vector: g, max_norm, norm (returned), want
                    (clipped), and a case that is not clipped (max_norm above the norm).
  plateau.*         ReduceLROnPlateau(mode='min', factor=0.5, patience=2, min_lr=1e-5) stepped on a sequence
                    of validation losses: losses, lrs (the lr after each step).

  conv.json + images/  a tiny LLaVA conversation set for the fc-train CLI tests: 16 samples (single and
                    multi-turn) over 8 GQA demo images ($SHARED/data/gqa-demo) shrunk to 84x63 JPEGs with Pillow.
  bad/*.json        the bad-input cases of tests/cli/train.sh: malformed JSON, a missing image, a sample
                    without an answer, a prompt longer than the tiny models' context (4096 positions).

Run: $PYTHON tools/make_train_fixtures.py   (deterministic; library versions go into __metadata__)
"""
import os

import json

import PIL
import safetensors
import torch
from PIL import Image
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "train",
                   "optim.safetensors")
torch.manual_seed(4242)
torch.set_num_threads(1)
tensors = {}


def put(name, t):
    tensors[name] = t.detach().contiguous().clone()


def adamw_case(name, wd, betas, eps):
    n, steps = 1003, 5
    p0 = torch.randn(n)
    # gradients over several magnitudes, some exactly zero, so sqrt(v) ~ eps matters for a few entries
    grads = torch.randn(steps, n) * torch.logspace(-6, 1, n)
    grads[:, ::97] = 0
    lrs = torch.tensor([5e-4, 1e-3, 2e-3, 7.5e-4, 1e-4], dtype=torch.float64)
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], lr=float(lrs[0]), betas=betas, eps=eps, weight_decay=wd, foreach=False)
    after = []
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = float(lrs[s])
        p.grad = grads[s].clone()
        opt.step()
        after.append(p.detach().clone())
    st = opt.state[p]
    put(f"{name}.p0", p0)
    put(f"{name}.grads", grads)
    put(f"{name}.lrs", lrs.float())
    put(f"{name}.hyper", torch.tensor([betas[0], betas[1], eps, wd], dtype=torch.float64).float())
    put(f"{name}.after", torch.stack(after))
    put(f"{name}.m", st["exp_avg"])
    put(f"{name}.v", st["exp_avg_sq"])


adamw_case("adamw_wd0", 0.0, (0.9, 0.999), 1e-8)
adamw_case("adamw_wd1", 0.1, (0.8, 0.99), 1e-6)

g = torch.randn(777) * 3
for name, max_norm in (("clip", 1.0), ("noclip", 1e4)):
    p = torch.nn.Parameter(torch.zeros(777))
    p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_([p], max_norm)
    put(f"{name}.g", g)
    put(f"{name}.max_norm", torch.tensor([max_norm]))
    put(f"{name}.norm", norm.reshape(1))
    put(f"{name}.want", p.grad)

losses = torch.tensor([1.0, 0.9, 0.95, 0.9, 0.91, 0.8, 0.8, 0.79995, 0.81, 0.82, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6,
                       0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], dtype=torch.float64)
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.Adam([p], lr=5e-4)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, min_lr=1e-5)
lrs = []
for l in losses:
    sched.step(float(l))
    lrs.append(opt.param_groups[0]["lr"])
put("plateau.losses", losses)
put("plateau.lrs", torch.tensor(lrs, dtype=torch.float64))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
save_file(tensors, OUT, metadata={"torch": torch.__version__, "safetensors": safetensors.__version__,
                                  "generator": "tools/make_train_fixtures.py"})
with open(os.path.join(os.path.dirname(OUT), "VERSIONS"), "w") as f:
    f.write(f"made by tools/make_train_fixtures.py with torch {torch.__version__}, "
            f"safetensors {safetensors.__version__}\n")
os.chmod(OUT, 0o644)
print("wrote", OUT)

# ---- the conversation set of the CLI tests ----
HERE = os.path.dirname(OUT)
SHARED = os.environ.get("SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
src = os.path.join(SHARED, "data", "gqa-demo", "gqa")
names = sorted(os.listdir(src))[:8]
os.makedirs(os.path.join(HERE, "images", "gqa"), exist_ok=True)
for n in names:
    im = Image.open(os.path.join(src, n)).convert("RGB").resize((84, 63), Image.BICUBIC)
    im.save(os.path.join(HERE, "images", "gqa", n), quality=90)
questions = ["What is in the picture?", "Describe the scene briefly.", "What colour dominates the image?",
             "Is it day or night?"]
answers = ["A street with cars and a tall building.", "Two people walking beside a red wall.",
           "Mostly green: grass and trees.", "It is daytime, the sky is bright.", "A table with plates and cups.",
           "A dog lying on the floor.", "Some boats on calm water.", "A kitchen with white cabinets."]
conv = []
for i in range(16):
    img = names[i % len(names)]
    turns = [{"from": "human", "value": "<image>\n" + questions[i % 4]}, {"from": "gpt", "value": answers[(i * 3) % 8]}]
    if i % 5 == 2:
        turns += [{"from": "human", "value": "And anything else?"}, {"from": "gpt", "value": answers[(i + 1) % 8]}]
    conv.append({"id": f"t{i:02d}", "image": "gqa/" + img, "conversations": turns})
with open(os.path.join(HERE, "conv.json"), "w") as f:
    json.dump(conv, f, indent=1)
os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
one = conv[0]
with open(os.path.join(HERE, "bad", "malformed.json"), "w") as f:
    f.write(json.dumps([one])[:-3] + "\n")   # cut inside the last object
with open(os.path.join(HERE, "bad", "missing_image.json"), "w") as f:
    json.dump([one, dict(conv[1], image="gqa/not-there.jpg")], f, indent=1)
with open(os.path.join(HERE, "bad", "no_answer.json"), "w") as f:
    json.dump([one, dict(conv[1], conversations=conv[1]["conversations"][:1])], f, indent=1)
with open(os.path.join(HERE, "bad", "long_prompt.json"), "w") as f:
    long_q = "<image>\n" + " ".join(["word"] * 5000)
    json.dump([one, dict(conv[1], id="long", conversations=[{"from": "human", "value": long_q},
                                                             {"from": "gpt", "value": "ok"}])], f, indent=1)
with open(os.path.join(HERE, "VERSIONS"), "a") as f:
    f.write(f"conv.json, images/, bad/: tools/make_train_fixtures.py with Pillow {PIL.__version__}\n")
print("wrote", os.path.join(HERE, "conv.json"))

# ---- a FastCache LLaVA compressor (the original nn.Module, torch init) for llava-tiny's decoder (2 layers,
# head dim 8), saved as a training checkpoint .pth and converted by tools/convert_fastcache_pth.py: what
# `fc-train --init` must accept ----
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_fastcache_pth as conv  # noqa: E402

torch.manual_seed(5)
# paths relative to the repository, so the converter's "source" metadata is the same on every machine
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
cwd = os.getcwd()
os.chdir(ROOT)
pth = "tests/fixtures/train/fastcache_llava_tiny.pth"
try:
    torch.save({"epoch": 3, "model_state_dict": {"compressor": conv.KVCacheLinearDecoupleCompressor(2, 8, 5, 2).state_dict()},
                "loss": 0.5}, pth)
    conv.main([pth, "tests/fixtures/train/fastcache_llava_tiny.safetensors"])
    os.chmod("tests/fixtures/train/fastcache_llava_tiny.safetensors", 0o644)
finally:
    if os.path.exists(pth):
        os.remove(pth)
    os.chdir(cwd)
with open(os.path.join(HERE, "VERSIONS"), "a") as f:
    f.write("fastcache_llava_tiny.safetensors: FastCache's KVCacheLinearDecoupleCompressor(L=2, D=8, cf=5) "
            "through tools/convert_fastcache_pth.py\n")
