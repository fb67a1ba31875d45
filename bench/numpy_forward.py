"""Delve's exported weights, read by someone else's code: the plain net's forward pass in
numpy alone, on the Fashion-MNIST test set, normalised as the file's metadata says.

    cargo run -p experiments -- export results/runs/d30-msra-relu-s0 --output w.safetensors
    python3 bench/numpy_forward.py w.safetensors        # needs numpy and safetensors

prints the top-1 error on the 10,000 test images, which is the run's
`final_full_test_error` in its summary.json (to the last digit or two: float32 sums in
another order).
"""
import gzip
import json
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open


def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    ndims = b[3]
    dims = [int.from_bytes(b[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndims).reshape(dims)


def conv3x3(x, w, b):
    """'Same' 3x3 convolution, stride 1: x [N, C, H, W], w [O, C, 3, 3]."""
    n, c, h, wd = x.shape
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([p[:, :, i:i + h, j:j + wd] for i in range(3) for j in range(3)], axis=2)
    cols = cols.reshape(n, c * 9, h * wd)  # [N, C*9, H*W], (c, ky, kx) order as w
    y = np.einsum("ok,nkp->nop", w.reshape(w.shape[0], -1), cols, optimize=True)
    return y.reshape(n, -1, h, wd) + b[None, :, None, None]


def pool2(x):
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2).max(axis=(3, 5))


def forward(t, run, x):
    for s, convs in enumerate(run["stages"], start=1):
        for i in range(1, convs + 1):
            name = f"stage{s}.conv{i}"
            x = np.maximum(conv3x3(x, t[name + ".weight"], t[name + ".bias"]), 0)
        x = pool2(x)
    x = x.reshape(x.shape[0], -1)
    for i in (1, 2):
        x = np.maximum(x @ t[f"fc{i}.weight"].T + t[f"fc{i}.bias"], 0)
    return x @ t["fc3.weight"].T + t["fc3.bias"]


def main():
    path = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else "data/fashion-mnist"
    t = load_file(path)
    meta = safe_open(path, "np").metadata()
    run = json.loads(meta["run"])
    mean, std = float(meta["normalisation_mean"]), float(meta["normalisation_std"])
    images = idx(f"{data}/t10k-images-idx3-ubyte.gz").astype(np.float32)
    labels = idx(f"{data}/t10k-labels-idx1-ubyte.gz")
    x = ((images / 255.0 - mean) / std)[:, None, :, :].astype(np.float32)
    wrong = 0
    for i in range(0, len(x), 500):
        wrong += int((forward(t, run, x[i:i + 500]).argmax(axis=1) != labels[i:i + 500]).sum())
    print(f"{run['name']}: top-1 error on {len(x)} test images: {wrong / len(x):.4f}")


if __name__ == "__main__":
    main()
