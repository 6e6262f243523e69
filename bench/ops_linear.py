"""ops_linear.py: the peer of bench/ops_linear.c: torch.nn.functional.linear for one shape and weight dtype.

Usage: ops_linear.py M N K f32|bf16|f16 ITERS THREADS   prints "ms <median> <min>".
With f32 weights x is f32; with bf16/f16 weights x has the weight's dtype, which is how a PyTorch user runs a
half checkpoint on the CPU (torch needs one dtype; its oneDNN/mkldnn kernels do the half GEMM natively).
"""
import sys
import time

import torch


def main():
    M, N, K = (int(a) for a in sys.argv[1:4])
    dt = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[sys.argv[4]]
    iters, threads = int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(M, K, generator=g) - 0.5).to(dt)
    w = (torch.rand(N, K, generator=g) - 0.5).to(dt)
    with torch.inference_mode():
        torch.nn.functional.linear(x, w)  # warm-up
        ts = []
        for _ in range(iters):
            t0 = time.perf_counter()
            torch.nn.functional.linear(x, w)
            ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    print(f"ms {ts[len(ts) // 2]:.4f} {ts[0]:.4f}")


if __name__ == "__main__":
    main()
