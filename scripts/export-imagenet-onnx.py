#!/usr/bin/env python3
"""Exports torchvision's ImageNet ResNet50 and VGG16 to ONNX for the study's
baselines (`npm run reproduce -- --resnet50 resnet50.onnx --vgg16 vgg16.onnx`,
or `lite-cnn train --from resnet50.onnx --trainable-last 20 --data DIR`).

Run it on a machine that can download torchvision's weights (about 100 MB for
ResNet50, 530 MB for VGG16); lite-cnn itself never downloads anything.

usage: python3 scripts/export-imagenet-onnx.py [OUT_DIR]   (default: .)

The export is torch.onnx.export in eval mode (BatchNorm folded into the
convolutions), opset 13, a fixed 224x224 RGB input with a dynamic batch, the
network's logits as output. The importer then adds the new classifier head
and freezes all but the last N layers; the inputs it needs are torchvision's
preprocessing (`--preprocess torchvision`: /255, ImageNet mean and std), the
train command's default with --from.
"""
import os
import sys

import torch
import torchvision


def export(name: str, weights: str, out_dir: str) -> None:
    model = getattr(torchvision.models, name)(weights=weights).eval()
    x = torch.rand(1, 3, 224, 224)
    path = os.path.join(out_dir, f"{name}.onnx")
    torch.onnx.export(
        model,
        x,
        path,
        input_names=["input"],
        output_names=["logits"],
        opset_version=13,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB)")


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    export("resnet50", "IMAGENET1K_V1", out_dir)  # the original ResNet50 weights (Keras' as well)
    export("vgg16", "IMAGENET1K_V1", out_dir)


if __name__ == "__main__":
    main()
