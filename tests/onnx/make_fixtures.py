#!/usr/bin/env python3
"""Exports networks with seeded random weights to ONNX with torch.onnx.export
(torch 1.13's TorchScript exporter), with a seeded input batch and torch's
output on it, for ts/sdk/test/onnx-import*.test.ts. Nothing is downloaded.

usage: make_fixtures.py ARCH SIZE OUT_DIR [--bn folded|preserved]
                        [--batch dynamic|fixed] [--opset N]
  ARCH: resnet18 | mobilenet_v2 | mobilenet_v3_small | efficientnet_b0 | tiny (the committed fixture's net: conv, BN,
        ReLU, max pool, depthwise conv with ReLU6, residual add, adaptive
        average pool to 7x7, flatten, linear, softmax) | activations (tanh,
        SiLU, hardswish, hardsigmoid between convolutions)
writes OUT_DIR/ARCH.onnx and OUT_DIR/ARCH-reference.safetensors (`input`: NCHW
float32 [2, 3, SIZE, SIZE], `output`: torch's output on it).

BatchNorm: torch.onnx.export of an eval-mode model folds BatchNorm into the
preceding convolution (the default, `folded`). `preserved` exports with
training=torch.onnx.TrainingMode.PRESERVE, which in torch 1.13 keeps
BatchNormalization nodes (do_constant_folding=False alone does not: the
eval-mode peephole pass folds them anyway).

With `--committed` (ARCH tiny only) the input is sin(0.37 i) over the NCHW
batch, and the output goes to OUT_DIR/ARCH-expected.json instead, so the test can
rebuild the input without torch.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchvision"))
from export_reference import randomize, write_safetensors  # noqa: E402


class Tiny(torch.nn.Module):
    """Every importer op family in a few KB of weights."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.pool = torch.nn.MaxPool2d(2)
        self.dw = torch.nn.Conv2d(4, 8, 3, padding=1, groups=4)
        self.pw = torch.nn.Conv2d(4, 8, 1)
        self.avg = torch.nn.AdaptiveAvgPool2d((7, 7))
        self.fc = torch.nn.Linear(8 * 7 * 7, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pool(torch.relu(self.bn1(self.conv1(x))))
        y = torch.nn.functional.relu6(self.dw(p)) + self.pw(p)
        return torch.softmax(self.fc(torch.flatten(self.avg(y), 1)), dim=1)


class Activations(torch.nn.Module):
    """Tanh, SiLU (exported as Sigmoid and Mul), Hardswish and Hardsigmoid between convolutions whose
    weights are scaled so that the hard ones see inputs beyond their kinks at -3 and 3."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(6, 4, 1)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.silu(torch.tanh(self.conv1(x)))
        y = torch.nn.functional.hardsigmoid(self.conv3(torch.nn.functional.hardswish(self.conv2(y))))
        return torch.softmax(self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1)), dim=1)


def build(arch: str) -> torch.nn.Module:
    if arch == "activations":
        net = Activations()
        with torch.no_grad():
            net.conv2.weight.mul_(60)  # inputs well past the hard activations' kinks at -3 and 3
            net.conv3.weight.mul_(10)
            net.fc.weight.mul_(20)
        return net
    if arch == "tiny":
        tiny = Tiny()
        with torch.no_grad():
            tiny.fc.weight.mul_(20)  # confident outputs, so a misplaced weight shows far above float error
        return tiny
    return getattr(torchvision.models, arch)(num_classes=10)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("arch", choices=["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "tiny", "activations"])
    p.add_argument("size", type=int)
    p.add_argument("out_dir")
    p.add_argument("--bn", choices=["folded", "preserved"], default="folded")
    p.add_argument("--batch", choices=["dynamic", "fixed"], default="dynamic")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--committed", action="store_true", help="the committed fixture: sin input, expected output as JSON")
    a = p.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = build(a.arch)
    randomize(model, gen)
    model.eval()
    shape = (2, 3, a.size, a.size)
    if a.committed:
        x = torch.from_numpy(np.sin(np.arange(np.prod(shape), dtype=np.float64) * 0.37).astype(np.float32).reshape(shape))
    else:
        x = torch.rand(*shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    os.makedirs(a.out_dir, exist_ok=True)
    torch.onnx.export(
        model,
        x,
        os.path.join(a.out_dir, f"{a.arch}.onnx"),
        input_names=["input"],
        output_names=["output"],
        opset_version=a.opset,
        training=torch.onnx.TrainingMode.PRESERVE if a.bn == "preserved" else torch.onnx.TrainingMode.EVAL,
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}} if a.batch == "dynamic" else None,
    )
    if a.committed:
        with open(os.path.join(a.out_dir, f"{a.arch}-expected.json"), "w") as f:
            json.dump({"input": {"shape": list(shape), "values": "sin(0.37 * i), i over the NCHW batch"},
                       "output": [round(float(v), 8) for v in y.numpy().ravel()], "outputShape": list(y.shape)}, f, indent=1)
            f.write("\n")
    else:
        write_safetensors(os.path.join(a.out_dir, f"{a.arch}-reference.safetensors"), {"input": x.numpy(), "output": y.numpy()})


if __name__ == "__main__":
    main()
