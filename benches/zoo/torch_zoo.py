#!/usr/bin/env python3
"""PyTorch twin of benches/zoo/lite.mjs: torchvision's resnet18 and
mobilenet_v2 (random weights, 2-class head) at 224x224, timed the same way,
at 1 and 2 threads. With --onnx DIR, also writes DIR/<net>.onnx (input x,
NCHW, dynamic batch) for onnxruntime-web. With --stages, also ResNet-18's
inference time per stage (forward hooks on torchvision's top-level modules,
grouped as benches/zoo/nets.mjs' resnetStage does). Prints one JSON line.

    /usr/bin/python3 benches/zoo/torch_zoo.py [--quick] [--onnx DIR] [--only NET] [--threads 1|2] [--stages]
"""
import json
import statistics
import sys
import time

import torch
import torchvision

QUICK = "--quick" in sys.argv
RUNS, WARMUP, MIN_MS = (3, 1, 50) if QUICK else (15, 3, 300)
BATCH, SIZE, CLASSES = 32, 224, 2
NETS = [("resnet18", "resnet18", "layer4."), ("mobilenetv2", "mobilenet_v2", "features.16")]
# benches/zoo/run.mjs measures one thread count at a time, alternating with lite-cnn.
THREADS = [int(sys.argv[sys.argv.index("--threads") + 1])] if "--threads" in sys.argv else [1, 2]
if "--only" in sys.argv:  # as in nets.mjs
    NETS = [n for n in NETS if n[0] == sys.argv[sys.argv.index("--only") + 1]]


def timed(fn):
    for _ in range(WARMUP):
        fn()
    samples, total = [], 0.0
    while len(samples) < RUNS or total < MIN_MS:
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1000
        samples.append(ms)
        total += ms
    return {"ms": statistics.median(samples), "n": len(samples)}


def resnet_stage(name):
    """As benches/zoo/nets.mjs' resnetStage: stem, layer1-layer4 or head."""
    if name.startswith("layer"):
        return name
    return "stem" if name in ("conv1", "bn1", "relu", "maxpool") else "head"


def stage_ms(model, x, runs):
    """Milliseconds per pass in each stage, from pre/post forward hooks on the top-level modules."""
    totals, started, handles = {}, {}, []
    for name, module in model.named_children():
        def pre(_m, _i, name=name):
            started[name] = time.perf_counter()

        def post(_m, _i, _o, name=name):
            stage = resnet_stage(name)
            totals[stage] = totals.get(stage, 0.0) + (time.perf_counter() - started[name]) * 1000
        handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    with torch.no_grad():
        model(x)  # warm-up
        totals.clear()
        for _ in range(runs):
            model(x)
    for h in handles:
        h.remove()
    return {k: v / runs for k, v in totals.items()}


def freeze_before(model, prefix):
    """requires_grad False and BatchNorm in eval mode before `prefix` (Keras' trainable = False)."""
    trainable = False
    frozen_bn = []
    for name, module in model.named_modules():
        if name.startswith(prefix):
            trainable = True
        if not list(module.children()):
            for p in module.parameters(recurse=False):
                p.requires_grad_(trainable)
            if isinstance(module, torch.nn.BatchNorm2d) and not trainable:
                frozen_bn.append(module)
    # The head (fc / classifier) comes after the prefix in module order.
    return frozen_bn


def main():
    onnx_dir = sys.argv[sys.argv.index("--onnx") + 1] if "--onnx" in sys.argv else None
    out = {"library": "pytorch", "version": torch.__version__, "results": []}
    for threads in THREADS:
        torch.set_num_threads(threads)
        for name, arch, prefix in NETS:
            torch.manual_seed(0)
            model = getattr(torchvision.models, arch)(num_classes=CLASSES)
            x1, x32 = torch.rand(1, 3, SIZE, SIZE), torch.rand(BATCH, 3, SIZE, SIZE)
            y = torch.randint(0, CLASSES, (BATCH,))
            r = {"net": name, "threads": threads}
            model.eval()
            with torch.no_grad():
                r["infer1"] = timed(lambda: model(x1))
                r["infer32"] = timed(lambda: model(x32))
            if "--stages" in sys.argv and name == "resnet18":
                r["stages"] = {"infer1": stage_ms(model, x1, 10), "infer32": stage_ms(model, x32, 2)}
            if onnx_dir and threads == THREADS[0]:
                torch.onnx.export(model, x1, f"{onnx_dir}/{name}.onnx", input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
            frozen_bn = freeze_before(model, prefix)
            model.train()
            for bn in frozen_bn:
                bn.eval()
            opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3, eps=1e-7)
            loss_fn = torch.nn.CrossEntropyLoss()

            def tune():
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x32), y).backward()
                opt.step()

            with torch.no_grad():
                r["forward32"] = timed(lambda: model(x32))
            r["tune32"] = timed(tune)
            print(f"torch {threads}t {name}: {r}", file=sys.stderr)
            out["results"].append(r)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
