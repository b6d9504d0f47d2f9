#!/usr/bin/env python3
"""Train a lite-cnn model exported with `lite-cnn export --format pytorch` on
one or many machines with PyTorch DistributedDataParallel (docs/scaling.md).

One machine, 4 processes:
    torchrun --nproc_per_node=4 train_ddp.py --model-dir exported --data images/
Two machines (run on each, same endpoint):
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d \
             --rdzv_endpoint=HOST:29500 train_ddp.py --model-dir exported --data images/

--data is an image folder (<root>/<class>/*.png, torchvision's ImageFolder,
classes in sorted order like lite-cnn's), preprocessed as the model file says
(METADATA in model.py); --synthetic N trains on N random samples instead (a
smoke test). Rank 0 writes the trained weights to --out (a state dict that
model.py's Model().load_state_dict accepts). CPU with gloo, or GPUs with nccl
when CUDA is available.
"""
import argparse
import importlib.util
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def exported_module(folder: str):
    """The exported model.py as a module (Model, load, METADATA, INPUT_SHAPE)."""
    spec = importlib.util.spec_from_file_location("exported_model", Path(folder) / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preprocess(metadata: dict):
    """The model file's preprocessing as a torchvision transform of an RGB PIL image."""
    from torchvision import transforms

    p = metadata["preprocessing"]
    to_unit = transforms.ToTensor()  # [0, 1], CHW
    if p["kind"] == "minmax":
        return to_unit
    if p["kind"] == "standardize":
        return transforms.Compose([to_unit, transforms.Normalize(p["mean"], p["std"])])
    if p["kind"] == "caffe":  # BGR, 0-255, mean subtracted
        mean = torch.tensor(p["mean"]).view(3, 1, 1)
        return transforms.Compose([to_unit, transforms.Lambda(lambda x: x.flip(0) * 255 - mean)])
    return transforms.Compose([to_unit, transforms.Lambda(lambda x: x * 255)])


def dataset(args, module):
    if args.synthetic:
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(args.synthetic, *module.INPUT_SHAPE, generator=gen)
        with torch.no_grad():
            classes = module.Model()(x[:1]).shape[1]
        return TensorDataset(x, torch.randint(0, classes, (args.synthetic,), generator=gen))
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    channels, height, width = module.INPUT_SHAPE
    steps = [transforms.Resize((height, width))] + ([transforms.Grayscale()] if channels == 1 else [])
    return ImageFolder(args.data, transform=transforms.Compose(steps + [preprocess(module.METADATA)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", required=True, help="the folder lite-cnn export --format pytorch wrote")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="an image folder: <root>/<class>/*.png")
    source.add_argument("--synthetic", type=int, help="train on this many random samples (smoke test)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: run every epoch)")
    parser.add_argument("--out", default="trained.pt")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    torch.manual_seed(0)

    module = exported_module(args.model_dir)
    net = module.load().to(device).train()
    model = DistributedDataParallel(net, device_ids=[local_rank] if cuda else None)
    data = dataset(args, module)
    sampler = DistributedSampler(data, shuffle=True)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    step = 0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            # The exported module ends as the lite-cnn model did: probabilities after its softmax.
            loss = F.nll_loss(torch.log(model(x).clamp_min(1e-12)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if rank == 0:
                print(f"epoch {epoch + 1} step {step} loss {loss.item():.4f}", flush=True)
            if step == args.max_steps:
                break
        if step == args.max_steps:
            break
    if rank == 0:
        torch.save(net.state_dict(), args.out)
        print(f"saved {args.out}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
