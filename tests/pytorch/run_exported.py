#!/usr/bin/env python3
"""Runs exported PyTorch modules (lite-cnn export --format pytorch) for
ts/sdk/test/pytorch-export.test.ts and the torchvision round trip.

usage: run_exported.py MANIFEST.json

The manifest lists cases: {"dir": folder with model.py, "input": a safetensors
file whose tensor "input" is NHWC [n, h, w, c], "train": bool}. For each case
the module from load() runs on the input (as NCHW) in eval mode and its output
(NHWC again when spatial) is written to DIR/output.safetensors. With "train",
one SGD step on a fixed batch follows, and the loss before and after it and
whether every gradient was finite are printed (JSON, by dir).
"""
import importlib.util
import json
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "torchvision"))
from export_reference import write_safetensors  # noqa: E402


def load_module(folder: Path, index: int):
    spec = importlib.util.spec_from_file_location(f"exported_{index}", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_module_input(module, x: torch.Tensor) -> torch.Tensor:
    """NHWC from the test as what the module takes: NCHW, or [n, features]."""
    if len(module.INPUT_SHAPE) == 1:
        return x.reshape(x.shape[0], -1)
    return x.permute(0, 3, 1, 2).contiguous()


def train_step(net, x: torch.Tensor) -> dict:
    """One SGD step on cross-entropy of the module's probabilities; the loss must fall on the same batch."""
    net.train()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        classes = net(x).shape[1]
    target = torch.randint(0, classes, (x.shape[0],), generator=gen)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)

    def loss_fn():
        return F.nll_loss(torch.log(net(x).clamp_min(1e-12)), target)

    loss0 = loss_fn()
    opt.zero_grad()
    loss0.backward()
    finite = all(torch.isfinite(p.grad).all().item() for p in net.parameters() if p.grad is not None)
    opt.step()
    with torch.no_grad():
        loss1 = loss_fn()
    return {"loss0": loss0.item(), "loss1": loss1.item(), "grads_finite": finite and math.isfinite(loss0.item())}


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    report = {}
    for i, case in enumerate(cases):
        folder = Path(case["dir"])
        module = load_module(folder, i)
        net = module.load()
        x = as_module_input(module, module.read_safetensors(case["input"])["input"])
        with torch.no_grad():
            y = net(x)
        if y.dim() == 4:
            y = y.permute(0, 2, 3, 1)
        write_safetensors(str(folder / "output.safetensors"), {"output": y.contiguous().numpy()})
        report[case["dir"]] = train_step(net, x) if case.get("train") else {}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
