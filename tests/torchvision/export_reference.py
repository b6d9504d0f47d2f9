#!/usr/bin/env python3
"""Writes a torchvision network with seeded random weights, a seeded batch of
images and torchvision's logits as one safetensors file, in lite-cnn's layout
(NHWC images, HWIO kernels, [in, out] linear weights), for the cross-check in
ts/sdk/test/torchvision-crosscheck.test.ts. Nothing is downloaded.

usage: export_reference.py ARCH SIZE OUT   (ARCH: resnet18 | mobilenet_v2 | resnet50 | vgg16)
"""
import json
import struct
import sys

import numpy as np
import torch
import torchvision


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BatchNorm statistics and affine parameters (a fresh model
    has mean 0, var 1, gamma 1, beta 0, which would hide layout mistakes)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def to_lite(key: str, t: torch.Tensor, depthwise: bool) -> np.ndarray:
    a = t.detach().numpy().astype(np.float32)
    if a.ndim == 4:  # [out, in/groups, kh, kw]
        if depthwise:  # [c, 1, kh, kw] -> [kh, kw, c, 1]
            return np.ascontiguousarray(a.transpose(2, 3, 0, 1))
        return np.ascontiguousarray(a.transpose(2, 3, 1, 0))
    if a.ndim == 2:  # [out, in] -> [in, out]
        return np.ascontiguousarray(a.T)
    return a


def write_safetensors(path: str, tensors: dict) -> None:
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main() -> None:
    arch, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = getattr(torchvision.models, arch)(num_classes=10)
    randomize(model, gen)
    model.eval()
    depthwise = {name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1}
    x = torch.rand(2, 3, size, size, generator=gen)
    with torch.no_grad():
        logits = model(x)
    tensors = {"input": x.numpy().transpose(0, 2, 3, 1), "logits": logits.numpy()}
    for key, t in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        module = key.rsplit(".", 1)[0]
        tensors["param:" + key] = to_lite(key, t, module in depthwise)
    write_safetensors(out, tensors)


if __name__ == "__main__":
    main()
