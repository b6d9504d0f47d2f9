#!/usr/bin/env python3
"""PyTorch twin of benches/step.mjs: the same two reference nets, timed the same way.

A benchmark, not a test. benches/step.mjs runs it with Debian's interpreter
(`/usr/bin/python3`, which sees the `python3-torch` package; a pyenv or venv
python does not) and parses the JSON it prints on stdout.

    /usr/bin/python3 benches/torch_step.py            # >= 25 timed runs each
    /usr/bin/python3 benches/torch_step.py --quick    # >= 5 timed runs each
    /usr/bin/python3 benches/torch_step.py --threads 1  # one thread count only

For each net and for torch.set_num_threads(1) and (2), in separate
measurements:
  - train:   one training step at batch 32 (forward in training mode, softmax
             cross-entropy, backward, Adam update), inputs and labels already in
             place (created once, outside the timing);
  - infer1:  inference at batch 1, eval mode under torch.no_grad();
  - infer32: the same at batch 32.
Each value is the median, in ms, of at least RUNS timed runs (more while
they total under MIN_MS) after warm-up runs.

Layouts are PyTorch's own (NCHW); shapes, padding ('valid') and parameter
counts are those of the lite-cnn nets (3,554 and 319,106 trainable parameters,
checked below). BatchNorm uses eps 1e-3 and momentum 0.01 (Keras 0.99); Adam
lr 1e-3, betas (0.9, 0.999), eps 1e-7.
"""

import json
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn

QUICK = "--quick" in sys.argv
# benches/step.mjs measures one thread count at a time, alternating with lite-cnn.
THREADS = [int(sys.argv[sys.argv.index("--threads") + 1])] if "--threads" in sys.argv else [1, 2]
RUNS = 5 if QUICK else 25
WARMUP = 3 if QUICK else 5
MIN_MS = 50 if QUICK else 300  # short measurements repeat beyond RUNS until this much time has passed
BATCH = 32


def mnist_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2),   # 28x28x1 -> 13x13x8
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2),   # -> 6x6x8
        nn.ReLU(),
        nn.Flatten(),                   # 288
        nn.Linear(288, 10),             # softmax fused into the loss
    )


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def breakhis_net():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=4), bn(16), nn.ReLU(),    # 224x224x3 -> 56x56x16
        nn.Conv2d(16, 32, 3, stride=2), bn(32), nn.ReLU(),   # -> 27x27x32
        nn.MaxPool2d(2),                                     # -> 13x13x32
        nn.Conv2d(32, 64, 3, stride=2), bn(64), nn.ReLU(),   # -> 6x6x64
        nn.Flatten(),                                        # 2304
        nn.Linear(2304, 128), nn.ReLU(),
        nn.Linear(128, 2),                                   # softmax fused into the loss
    )


NETS = [
    # name, constructor, input shape (C, H, W), classes, expected trainable params
    ("mnist", mnist_net, (1, 28, 28), 10, 3_554),
    ("breakhis", breakhis_net, (3, 224, 224), 2, 319_106),
]


def median_ms(fn):
    for _ in range(WARMUP):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < RUNS or ((time.perf_counter() - start) * 1e3 < MIN_MS and len(times) < 5000):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def machine_busy_ms():
    """Busy CPU time of the whole machine in ms (Linux /proc/stat, USER_HZ 100), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) * 10
    except OSError:
        return None


def watched(measure):
    """Like step.mjs: (median ms, CPU used by other processes in cores or None
    when under 100 ms of wall time); re-measured up to 3 times while others
    used more than 0.25 of a core, keeping the least-disturbed attempt."""
    best = None
    for _ in range(3):
        b0, c0, w0 = machine_busy_ms(), time.process_time(), time.perf_counter()
        ms = measure()
        wall = (time.perf_counter() - w0) * 1e3
        own = (time.process_time() - c0) * 1e3
        b1 = machine_busy_ms()
        foreign = None if b0 is None or wall < 100 else max(0.0, (b1 - b0 - own) / wall)
        if best is None or (foreign or 0) < (best[1] or 0):
            best = (ms, foreign)
        if foreign is None or foreign <= 0.25:
            break
    return best


def measure(name, make, shape, classes, expected, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params != expected:
        raise SystemExit(f"{name}: expected {expected} trainable parameters, got {params}")
    x = torch.rand(BATCH, *shape)
    y = torch.randint(0, classes, (BATCH,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    train = watched(lambda: median_ms(step))

    model.eval()
    x1 = x[:1].clone()

    def infer(inp):
        with torch.no_grad():
            model(inp)

    infer1 = watched(lambda: median_ms(lambda: infer(x1)))
    infer32 = watched(lambda: median_ms(lambda: infer(x)))
    return {
        "net": name, "threads": threads, "params": params,
        "train": train[0], "infer1": infer1[0], "infer32": infer32[0],
        # CPU used by other processes during each measurement, in cores (None: too short to tell)
        "foreign": [train[1], infer1[1], infer32[1]],
    }


def main():
    torch.set_num_interop_threads(1)
    results = []
    for net in NETS:
        for threads in THREADS:
            results.append(measure(*net, threads))
    print(json.dumps({
        "torch": torch.__version__,
        "python": platform.python_version(),
        "runs": RUNS,
        "warmup": WARMUP,
        "results": results,
    }))


if __name__ == "__main__":
    main()
