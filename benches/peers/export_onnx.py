#!/usr/bin/env python3
"""Writes the two reference nets as ONNX files for the onnxruntime-web benchmark.

    /usr/bin/python3 benches/peers/export_onnx.py OUT_DIR

The nets are benches/torch_step.py's (same shapes, 'valid' padding, 3,554 and
319,106 trainable parameters, checked there and again here), with a final
Softmax so that, like lite-cnn and TensorFlow.js, the model outputs
probabilities. Exported in eval mode (BatchNorm with its moving statistics;
torch folds it into the preceding convolution, which onnxruntime would do
anyway), NCHW input named "x" with a dynamic batch axis, output "y", opset 13.
Weights are torch's random initialization: the benchmark times, it does not
compare outputs. Run at bench time into a temporary directory (needs Debian's
python3-torch; torch.onnx.export works offline without the `onnx` package);
nothing generated here is committed.
"""

import importlib.util
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("torch_step", os.path.join(HERE, "..", "torch_step.py"))
torch_step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_step)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, make, shape, _classes, expected in torch_step.NETS:
        torch.manual_seed(1)
        net = make()
        params = sum(p.numel() for p in net.parameters() if p.requires_grad)
        if params != expected:
            raise SystemExit(f"{name}: expected {expected} trainable parameters, got {params}")
        model = nn.Sequential(net, nn.Softmax(dim=1)).eval()
        path = os.path.join(out_dir, f"{name}.onnx")
        with torch.no_grad():
            torch.onnx.export(
                model, torch.rand(1, *shape), path,
                input_names=["x"], output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                opset_version=13,
            )
        written.append({"net": name, "path": path, "params": params, "input": list(shape), "bytes": os.path.getsize(path)})
    print(json.dumps({"torch": torch.__version__, "opset": 13, "models": written}))


if __name__ == "__main__":
    main()
