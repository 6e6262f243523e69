"""st_open.py: the peer of bench/st_open.c: one timed "open a safetensors file and touch one tensor" with the
Python `safetensors` library (safe_open + get_tensor, numpy framework so no torch import is timed).
Usage: st_open.py PATH NAME   prints "<seconds> <sum>". The import happens before the clock starts."""
import sys
import time

import numpy  # noqa: F401  (imported before the clock: safe_open(framework="numpy") would import it lazily)
from safetensors import safe_open


def main():
    path, name = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    with safe_open(path, framework="numpy") as f:
        x = f.get_tensor(name)
        s = float(x.sum(dtype="float64"))
    dt = time.perf_counter() - t0
    print(f"{dt:.9f} {s:g}")


if __name__ == "__main__":
    main()
