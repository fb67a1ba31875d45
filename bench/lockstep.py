#!/usr/bin/env python3
"""Replays a delve run step for step in PyTorch, and compares the two.

    cargo run -p experiments -- lockstep --depth 30 --init xavier --steps 1000 --out results/lockstep
    python3 bench/lockstep.py replay results/lockstep/d30-xavier-relu-s0 --dtype float32
    python3 bench/lockstep.py replay results/lockstep/d30-xavier-relu-s0 --dtype float64
    python3 bench/lockstep.py compare results/lockstep/d30-xavier-relu-s0
    python3 bench/lockstep.py summary results/lockstep

`replay` reads the run's `init.safetensors` (delve's weights before the first step, the
image indices of every step and the input normalisation), builds the spec's plain net in
PyTorch with those weights, takes the same steps (SGD, momentum, weight decay on weights
only, mean cross-entropy) on the same batches, and writes `torch-<dtype>.csv` with the
columns of delve's `delve.csv`. `compare` prints, per quantity, where delve and PyTorch
part, next to where PyTorch in float32 parts from PyTorch in float64 (the rounding floor:
delve computes in float32 only), and the stall growth rate of the first layer's gradient.
It writes the same as `compare.md`. Needs numpy and safetensors; `replay` needs torch.
"""
import argparse
import csv
import gzip
import json
import math
import os
import struct
import sys

import numpy as np

QUANTITIES = ["loss", "grad_norm_first", "grad_norm_last", "weight_norm_first", "weight_norm_last"]


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4 : 4 + 4 * ndims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def data_file(folder, name):
    gz = os.path.join(folder, name + ".gz")
    return gz if os.path.exists(gz) else os.path.join(folder, name)


def load_init(folder):
    from safetensors import safe_open

    path = os.path.join(folder, "init.safetensors")
    with safe_open(path, framework="np") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if meta.get("format") != "delve-lockstep":
        sys.exit(f"{path}: not a delve lockstep file (format {meta.get('format')!r})")
    return meta, tensors


def build(run, torch):
    """The spec's plain net, its parameters listed in delve's order with delve's names."""
    nn = torch.nn
    layers, named, c = [], [], 1

    def rectifier(name, width):
        if run["activation"] == "relu":
            return nn.ReLU()
        act = nn.PReLU(num_parameters=1 if run["activation"] == "prelu-shared" else width)
        named.append((f"{name}.slope", act.weight, False))
        return act

    for s, (n, width) in enumerate(zip(run["stages"], run["widths"]), start=1):
        for i in range(1, n + 1):
            conv = nn.Conv2d(c, width, 3, 1, 1)
            named += [(f"stage{s}.conv{i}.weight", conv.weight, True), (f"stage{s}.conv{i}.bias", conv.bias, False)]
            layers += [conv, rectifier(f"stage{s}.act{i}", width)]
            c = width
        layers.append(nn.MaxPool2d(2, 2))
    layers.append(nn.Flatten())
    n_in, side = c, 28
    for _ in range(3):
        side //= 2
    n_in = c * side * side
    for i in (1, 2):
        fc = nn.Linear(n_in, run["fc_width"])
        named += [(f"fc{i}.weight", fc.weight, True), (f"fc{i}.bias", fc.bias, False)]
        layers += [fc, rectifier(f"fc{i}.act", run["fc_width"])]
        n_in = run["fc_width"]
    fc = nn.Linear(n_in, 10)
    named += [("fc3.weight", fc.weight, True), ("fc3.bias", fc.bias, False)]
    layers.append(fc)
    return nn.Sequential(*layers), named


def replay(args):
    import torch

    torch.set_num_threads(args.threads)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    npdt = {"float32": np.float32, "float64": np.float64}[args.dtype]
    meta, tensors = load_init(args.dir)
    run = json.loads(meta["run"])
    net, named = build(run, torch)
    names = json.loads(meta["params"])
    if names != [n for n, _, _ in named]:
        sys.exit(f"parameter names differ:\n delve {names}\n torch {[n for n, _, _ in named]}")
    with torch.no_grad():
        for name, p, _ in named:
            value = torch.from_numpy(tensors[name].copy())
            if tuple(value.shape) != tuple(p.shape):
                sys.exit(f"{name}: delve {tuple(value.shape)} vs torch {tuple(p.shape)}")
            p.copy_(value)
    net = net.to(dtype)
    params = [p for _, p, _ in named]
    weights = [p for _, p, w in named if w]
    others = [p for _, p, w in named if not w]
    sgd = torch.optim.SGD(
        [{"params": weights, "weight_decay": run["weight_decay"]}, {"params": others, "weight_decay": 0.0}],
        lr=run["lr"],
        momentum=run["momentum"],
    )
    assert len(params) == len(weights) + len(others)

    images = read_idx(data_file(args.data, "train-images-idx3-ubyte"))
    labels = read_idx(data_file(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    # delve: x = p·(1/(255·std)) − mean/std, each factor rounded to float32 first.
    mean, std = np.float32(float(meta["mean"])), np.float32(float(meta["std"]))
    if args.dtype == "float32":
        scale, shift = np.float32(1.0) / (np.float32(255.0) * std), mean / std
    else:
        scale, shift = 1.0 / (255.0 * np.float64(std)), np.float64(mean) / np.float64(std)
    batches, ends = tensors["batches"].astype(np.int64), tensors["batch_ends"].astype(np.int64)
    steps = len(ends) if args.steps is None else min(args.steps, len(ends))
    first, last = weights[0], weights[-1]
    norm = lambda t: float(torch.linalg.vector_norm(t.detach().double()))
    out = os.path.join(args.dir, f"torch-{args.dtype}.csv")
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step"] + QUANTITIES)
        start = 0
        for step in range(steps):
            idx = batches[start : ends[step]]
            start = ends[step]
            x = images[idx].astype(npdt)[:, None, :, :] * npdt(scale) - npdt(shift)
            x, y = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(labels[idx])
            sgd.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            g_first, g_last = norm(first.grad), norm(last.grad)
            sgd.step()
            w.writerow([step + 1, repr(loss.item()), repr(g_first), repr(g_last), repr(norm(first)), repr(norm(last))])
            if (step + 1) % 100 == 0:
                print(f"{args.dir}: {args.dtype} step {step + 1}/{steps} loss {loss.item():.6f}", file=sys.stderr)
    print(f"wrote {out}", file=sys.stderr)


def read_rows(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {q: np.array([float(r[q]) for r in rows]) for q in ["step"] + QUANTITIES}


def rel(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-30)


def growth(g, lo=100, hi=900):
    """Doublings per 100 iterations of `g`, a least-squares line through log2 g on iterations lo..hi."""
    it = np.arange(1, len(g) + 1)
    keep = (it >= lo) & (it <= hi) & (g > 0)
    if keep.sum() < 10:
        return None
    slope = np.polyfit(it[keep], np.log2(g[keep]), 1)[0]
    return 100.0 * slope


def first_above(r, threshold):
    hits = np.nonzero(r > threshold)[0]
    return int(hits[0]) + 1 if len(hits) else None


def compare(args):
    runs = {}
    for name, file in [("delve", "delve.csv"), ("torch32", "torch-float32.csv"), ("torch64", "torch-float64.csv")]:
        path = os.path.join(args.dir, file)
        if os.path.exists(path):
            runs[name] = read_rows(path)
    pairs = [(a, b) for a, b in [("delve", "torch64"), ("torch32", "torch64"), ("delve", "torch32")] if a in runs and b in runs]
    if not pairs:
        sys.exit(f"{args.dir}: need delve.csv and at least one torch-*.csv")
    steps = min(len(r["loss"]) for r in runs.values())
    lines = [
        f"# Lockstep: {os.path.basename(os.path.normpath(args.dir))}, {steps} steps",
        "",
        "Relative difference |a − b| / |b| per step. `first > 1e-4`: the first step where it exceeds 1e-4.",
        "",
        "| quantity | a vs b | max, steps 1-100 | max, all steps | first > 1e-4 | first > 1e-2 |",
        "|---|---|---|---|---|---|",
    ]
    for q in QUANTITIES:
        for a, b in pairs:
            r = rel(runs[a][q][:steps], runs[b][q][:steps])
            fmt = lambda s: "never" if s is None else str(s)
            lines.append(
                f"| {q} | {a} vs {b} | {r[:100].max():.2e} | {r.max():.2e} | {fmt(first_above(r, 1e-4))} | {fmt(first_above(r, 1e-2))} |"
            )
    lines += ["", "Growth of the first conv layer's gradient norm, doublings per 100 iterations (fit on iterations 100-900):", ""]
    lines += ["| run | growth |", "|---|---|"]
    for name, r in runs.items():
        g = growth(r["grad_norm_first"][:steps])
        lines.append(f"| {name} | {'n/a (fewer than 900 steps)' if g is None else f'{g:.3f}'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.dir, "compare.md"), "w") as f:
        f.write(text)


def max_rel(a, b, steps):
    r = rel(a[:steps], b[:steps])
    return f"{r.max():.2e}"


def summary(args):
    """The table README quotes, one row per run under the folder (test-checked)."""
    lines = [
        "| run | steps | loss, steps 1-100: delve vs PyTorch f32 | PyTorch f32 vs f64 | delve vs PyTorch f64 | gradient growth, delve | gradient growth, PyTorch f32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(os.listdir(args.dir)):
        folder = os.path.join(args.dir, name)
        files = {k: os.path.join(folder, f) for k, f in [("delve", "delve.csv"), ("t32", "torch-float32.csv"), ("t64", "torch-float64.csv")]}
        if not (os.path.exists(files["delve"]) and os.path.exists(files["t32"])):
            continue
        r = {k: read_rows(f) for k, f in files.items() if os.path.exists(f)}
        steps = min(len(r["delve"]["loss"]), len(r["t32"]["loss"]))
        cells = [name, str(steps), max_rel(r["delve"]["loss"], r["t32"]["loss"], 100)]
        for a, b in [("t32", "t64"), ("delve", "t64")]:
            cells.append(max_rel(r[a]["loss"], r[b]["loss"], 100) if b in r else "-")
        for k in ["delve", "t32"]:
            g = growth(r[k]["grad_norm_first"][:steps])
            cells.append("-" if g is None else f"{g:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.dir, "summary.md"), "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("replay", help="take delve's steps in PyTorch")
    r.add_argument("dir")
    r.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--steps", type=int, default=None)
    r.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "fashion-mnist"))
    c = sub.add_parser("compare", help="where delve and PyTorch part")
    c.add_argument("dir")
    s = sub.add_parser("summary", help="README's table over every run in a folder")
    s.add_argument("dir")
    args = p.parse_args()
    {"replay": replay, "compare": compare, "summary": summary}[args.cmd](args)


if __name__ == "__main__":
    main()
