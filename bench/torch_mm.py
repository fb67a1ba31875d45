"""The machine's matrix-multiply ceiling, as issue 14 measures it: the median GFLOP/s of
`torch.mm` on 2048x2048 float32 matrices (2 * 2048^3 flops each), on the given number of
threads. delve's effective GFLOP/s (`experiments bench`) is compared with this figure.

    python3 bench/torch_mm.py [threads] [rounds]

Prints one JSON line.
"""
import json
import statistics
import sys
import time

import torch


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    torch.set_num_threads(threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    gflops = 2 * n**3 / statistics.median(times) / 1e9
    print(json.dumps({
        "framework": f"torch.mm {torch.__version__}",
        "n": n,
        "threads": threads,
        "simd": f"torch {torch.backends.cpu.get_cpu_capability()}",
        "gflops": gflops,
    }))


if __name__ == "__main__":
    main()
