#!/usr/bin/env python3
"""The spec's plain net and training step in PyTorch, measured like `experiments bench`.

    python3 bench/pytorch_reference.py --depth 30 --batch-size 128 --threads 2

Prints one JSON object with the same fields as `experiments bench --json`. PyTorch is
optional for delve; install it with `pip install torch` to compare on your machine.
"""
import argparse
import json
import statistics
import sys
import time


def build(depth, torch, widths=(16, 32, 64), fc_width=256):
    nn = torch.nn
    convs = depth - 3
    stages = [convs // 3 + (1 if s < convs % 3 else 0) for s in range(3)]
    layers, c = [], 1
    for n, width in zip(stages, widths):
        for _ in range(n):
            layers += [nn.Conv2d(c, width, 3, 1, 1), nn.ReLU()]
            c = width
        layers.append(nn.MaxPool2d(2, 2))
    layers.append(nn.Flatten())
    side = 28
    for _ in range(3):
        side //= 2
    layers += [nn.Linear(c * side * side, fc_width), nn.ReLU(), nn.Linear(fc_width, fc_width), nn.ReLU(), nn.Linear(fc_width, 10)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


def forward_flops(net, torch):
    flops, x = 0, torch.zeros(1, 1, 28, 28)
    for m in net:
        y = m(x)
        if isinstance(m, torch.nn.Conv2d):
            flops += 2 * m.weight[0].numel() * y.numel()
        elif isinstance(m, torch.nn.Linear):
            flops += 2 * m.weight.numel()
        x = y
    return flops


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--depth", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", default="16,32,64")
    p.add_argument("--fc-width", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is not installed: pip install torch")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    widths = tuple(int(w) for w in a.width.split(","))
    net = build(a.depth, torch, widths, a.fc_width)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(a.batch_size, 1, 28, 28) * 2 - 1
    y = torch.randint(0, 10, (a.batch_size,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    infer = []
    with torch.no_grad():
        for _ in range(a.steps):
            t0 = time.perf_counter()
            net(x)
            infer.append(time.perf_counter() - t0)
    t, ti = statistics.median(times), statistics.median(infer)
    flops = forward_flops(net, torch)
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}",
        "depth": a.depth,
        "batch_size": a.batch_size,
        "widths": list(widths),
        "fc_width": a.fc_width,
        "simd": f"torch {torch.backends.cpu.get_cpu_capability()}",
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "train_images_per_sec": a.batch_size / t,
        "infer_images_per_sec": a.batch_size / ti,
        "train_step_ms": t * 1e3,
        "gflops": 3 * flops * a.batch_size / t / 1e9,
        "forward_flops_per_image": flops,
        "peak_rss_mib": peak_rss_mib(),
    }))


if __name__ == "__main__":
    main()
