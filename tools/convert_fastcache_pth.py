#!/usr/bin/env python3
"""convert_fastcache_pth.py: FastCache compressor checkpoints (.pth) <-> our CCM safetensors format.

  convert_fastcache_pth.py IN.pth OUT.safetensors [--family llava|minicpm] [--cf 5] [--min-windows 2]
  convert_fastcache_pth.py --reverse IN.safetensors OUT.pth [--checkpoint]

Input layout (reference/fastcache-compressor-spec.md §2, §3, §5): a torch.save'd checkpoint dict whose
['model_state_dict']['compressor'] is the compressor's state_dict, or a bare state_dict, with keys
compress_{tk,tv,ik,iv}.{l}.{0,3,6}.{weight,bias} (nn.Sequential indices of the three Linears; 1,2,4,5 are
ReLU/Dropout) and attention.{l}.{weight,bias} (never used by the forward: dropped).

Output: tensors ccm.layers.{l}.{ik,iv,tk,tv}.{0,1,2}.{weight,bias} (Linear j of the window MLP, PyTorch
[out, in] layout, dtype as stored) and the metadata documented in core/compress/ccm.h. MiniCPM: only tk/tv
(its ik/iv, if present, were never trained; spec §3) and segment_rule "whole"; LLaVA: all four and
segment_rule "prefix" (image segment = everything through the last image token, spec §9.2).
--reverse writes a state_dict with the FastCache key names (bare, or wrapped as a training checkpoint with
--checkpoint), so a round trip can be tested; attention.* cannot be restored and is not written.

The nn.Module classes below rebuild the FastCache module structure (module_ccm_v11.py) so tests can make a
state_dict with exactly its keys and shapes from a random init.
"""
import argparse
import re
import sys

import torch
from torch import nn

KINDS = ("ik", "iv", "tk", "tv")
FORMAT = "fastcache-ccm"
FORMAT_VERSION = "1"


def window_mlp(cf, d, p=0.4):
    return nn.Sequential(nn.Linear(cf * d, d), nn.ReLU(), nn.Dropout(p), nn.Linear(d, d), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(d, d))


class KVCacheLinearDecoupleCompressor(nn.Module):
    """FastCache's LLaVA compressor: tk/tv/ik/iv window MLPs per layer, plus the unused attention Linears."""

    def __init__(self, n_layers, head_dim, compression_factor=5, min_seq_len=2):
        super().__init__()
        self.cf, self.min_seq_len = compression_factor, min_seq_len
        for kind in ("tk", "tv", "ik", "iv"):
            setattr(self, "compress_" + kind,
                    nn.ModuleList([window_mlp(compression_factor, head_dim) for _ in range(n_layers)]))
        self.attention = nn.ModuleList([nn.Linear(head_dim, 1) for _ in range(n_layers)])


class KVCacheHybridCompressor(nn.Module):
    """FastCache's MiniCPM compressor: tk/tv only, one pair per layer over the whole prefix."""

    def __init__(self, n_layers, head_dim, compression_factor=5, min_seq_len=2):
        super().__init__()
        self.cf, self.min_seq_len = compression_factor, min_seq_len
        self.compress_tk = nn.ModuleList([window_mlp(compression_factor, head_dim) for _ in range(n_layers)])
        self.compress_tv = nn.ModuleList([window_mlp(compression_factor, head_dim) for _ in range(n_layers)])
        self.compress_ik = self.compress_iv = None


def compress_layer(x, mlp, cf, min_seq_len):
    """FastCache's compress_layer on one segment x [B, H, S, D]: windows of cf tokens, token-major features."""
    B, H, S, D = x.shape
    n = S // cf
    if n < min_seq_len:
        return x
    c = n * cf
    y = mlp(x[:, :, :c, :].reshape(B, H, n, cf * D))
    if S > c:
        y = torch.cat([y, x[:, :, c:, :]], dim=2)
    return y


def mlp_for(comp, layer, which, is_image):
    return getattr(comp, "compress_" + ("i" if is_image else "t") + which)[layer]


def segments(S, spans, rule):
    """(start, end, is_image) segments of a prefix of S tokens, as core/compress/ccm.c cuts them."""
    if rule == "whole" or not spans:
        return [(0, S, False)]
    if rule == "prefix":
        end = spans[-1][1]
        return [(0, end, True)] + ([(end, S, False)] if end < S else [])
    out, pos = [], 0
    for a, b in spans:
        if a > pos:
            out.append((pos, a, False))
        out.append((a, b, True))
        pos = b
    if pos < S:
        out.append((pos, S, False))
    return out


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict) and "model_state_dict" in obj:
        msd = obj["model_state_dict"]
        if not isinstance(msd, dict) or "compressor" not in msd:
            raise SystemExit(f"{path}: checkpoint has model_state_dict but no 'compressor' entry")
        obj = msd["compressor"]
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: neither a checkpoint dict nor a state_dict")
    return obj


def pth_to_ours(sd, family, cf=5, min_windows=2, source=""):
    """State dict with FastCache keys -> (tensors with our names, metadata)."""
    pat = re.compile(r"^compress_(tk|tv|ik|iv)\.(\d+)\.(0|3|6)\.(weight|bias)$")
    kinds = ("tk", "tv") if family == "minicpm" else KINDS
    out, layers = {}, set()
    for key, t in sd.items():
        if key.startswith("attention."):
            continue
        m = pat.match(key)
        if not m:
            raise SystemExit(f"unexpected key '{key}' (want compress_{{tk,tv,ik,iv}}.L.{{0,3,6}}.*)")
        kind, l, j, what = m.group(1), int(m.group(2)), int(m.group(3)) // 3, m.group(4)
        if kind not in kinds:
            continue
        layers.add(l)
        out[f"ccm.layers.{l}.{kind}.{j}.{what}"] = t.detach().contiguous()
    n_layers = max(layers) + 1
    for l in range(n_layers):
        for kind in kinds:
            for j in range(3):
                for what in ("weight", "bias"):
                    if f"ccm.layers.{l}.{kind}.{j}.{what}" not in out:
                        raise SystemExit(f"missing compress_{kind}.{l}.{3 * j}.{what}")
    w0 = out["ccm.layers.0.tk.0.weight"]
    hidden, in_dim = w0.shape
    head_dim = out["ccm.layers.0.tk.2.weight"].shape[0]
    if in_dim != cf * head_dim:
        raise SystemExit(f"compress_tk.0.0.weight is {list(w0.shape)}, want [hidden, cf*D] = [*, {cf * head_dim}]")
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "family": family, "n_layers": str(n_layers),
        "head_dim": str(head_dim), "cf": str(cf), "hidden": str(hidden), "depth": "3",
        "min_windows": str(min_windows), "has_image": "1" if family == "llava" else "0",
        "segment_rule": "whole" if family == "minicpm" else "prefix",
        # LLaVA was trained and served with positions renumbered to the compressed length; MiniCPM trained with
        # original positions (spec §4.3)
        "position_rule": "original" if family == "minicpm" else "compressed",
        "dropout": "0.4", "source": source,
    }
    return out, meta


def ours_to_pth(tensors):
    pat = re.compile(r"^ccm\.layers\.(\d+)\.(tk|tv|ik|iv)\.(0|1|2)\.(weight|bias)$")
    sd = {}
    for key, t in tensors.items():
        m = pat.match(key)
        if not m:
            raise SystemExit(f"unexpected tensor '{key}'")
        sd[f"compress_{m.group(2)}.{m.group(1)}.{int(m.group(3)) * 3}.{m.group(4)}"] = t
    return sd


def main(argv=None):
    from safetensors import safe_open
    from safetensors.torch import save_file
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--reverse", action="store_true", help="ours (.safetensors) -> FastCache .pth")
    ap.add_argument("--checkpoint", action="store_true", help="with --reverse: wrap as a training checkpoint")
    ap.add_argument("--family", choices=("llava", "minicpm"), default="llava")
    ap.add_argument("--cf", type=int, default=5)
    ap.add_argument("--min-windows", type=int, default=2)
    a = ap.parse_args(argv)
    if a.reverse:
        with safe_open(a.src, "pt") as f:
            if (f.metadata() or {}).get("format") != FORMAT:
                raise SystemExit(f"{a.src}: metadata format is not '{FORMAT}'")
            sd = ours_to_pth({k: f.get_tensor(k) for k in f.keys()})
        obj = {"epoch": 0, "model_state_dict": {"compressor": sd}, "loss": 0.0} if a.checkpoint else sd
        torch.save(obj, a.dst)
    else:
        tensors, meta = pth_to_ours(load_state_dict(a.src), a.family, a.cf, a.min_windows, source=a.src)
        save_file(tensors, a.dst, metadata=meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
