#!/usr/bin/env python3
"""PyTorch twin of benches/augment/lite.mjs: the same augmentation
configurations on the same tiles, as a PyTorch DataLoader worker would run
them: torchvision transforms applied per image to uint8 CHW tensors, then the
32 results stacked into one float batch (default_collate's torch.stack).
1 thread: in this process (torch.set_num_threads(1)); N > 1: a DataLoader
with N worker processes, as PyTorch users spread augmentation over cores.
Prints one JSON line.

    /usr/bin/python3 benches/augment/torch_augment.py --threads 1|2 --data DIR

DIR holds tiles.npy ([64, 224, 224, 3] uint8) and spec.json (the study's
ranges, the configurations, the fitted stain distribution and the timing
settings, the quick ones after run.mjs --quick), written by
benches/augment/run.mjs. Each configuration runs the same steps in the same
order as lite-cnn's kernel (crates/kernels/src/image/mod.rs): stain
randomization on the 8-bit image, the affine warp (bilinear) and flip, HED
jitter, colour jitter; then /255 (done here by ConvertImageDtype right after
the warp, so HED and ColorJitter work on [0, 1] floats: the same maths at
another scale).

Differences that do not change the work much, stated so the ratio is read
right: torchvision's RandomAffine draws one isotropic scale (Keras / lite-cnn
draw row and column zoom separately), fills outside points with a constant
(it has no 'nearest' fill mode), and flips as a separate copy (lite-cnn folds
the flip into the warp). torchvision has no HED jitter or RandStainNA: they
are written below, vectorised over the image's pixels in float32 (torch for
HED, NumPy for RandStainNA: the faster of the two for each), as lite-cnn
computes in f32 (scikit-image, which the field's Python tools call, works in
float64 and is not installed for /usr/bin/python3 here).
"""
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision import transforms as T

# bench:step's reading of /proc/stat, for the other-load check below.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch_step import machine_busy_ms  # noqa: E402


def arg(name):
    return sys.argv[sys.argv.index(name) + 1]


# --- HED stain jitter (Tellez et al. 2019; HEDJitter / tiatoolbox style) -----
# scikit-image's rgb_from_hed (stain OD vectors: haematoxylin, eosin, DAB) and
# hed_from_rgb = inv(rgb_from_hed), as lite-cnn's hed.rs. Concentrations are in
# optical density: rgb2hed also divides by -ln(1e-6) ~ 13.8, lite-cnn does not,
# so the shift here has lite-cnn's units (0.05 OD). Checked against lite-cnn:
# given the alpha and beta its kernel drew (fitted back from its output), this
# gives its output within 2e-7 on the [0, 1] scale.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)
# Transposed so that a (3, pixels) OD array is multiplied from the left.
HED_T = torch.from_numpy(HED_FROM_RGB.T.copy()).float()
RGB_T = torch.from_numpy(RGB_FROM_HED.T.copy()).float()


class HedJitter:
    """Float CHW in [0, 1]: od = -ln(max(v, 1e-6)); s = max(od @ hed_from_rgb, 0);
    s' = alpha*s + beta per stain, alpha uniform in [1 - scale, 1 + scale], beta
    in [-shift, shift] (one draw per image and stain); v' = clip(exp(-(s' @ rgb_from_hed)), 0, 1)."""

    def __init__(self, scale, shift):
        self.scale, self.shift = scale, shift

    def __call__(self, img):
        alpha = 1 + self.scale * (2 * torch.rand(3, 1) - 1)
        beta = self.shift * (2 * torch.rand(3, 1) - 1)
        od = img.reshape(3, -1).clamp(min=1e-6).log_().neg_()
        conc = (HED_T @ od).clamp_(min=0).mul_(alpha).add_(beta)
        return (RGB_T @ conc).neg_().exp_().clamp_(0, 1).reshape(img.shape)


# --- RandStainNA (Shen et al. 2022): Reinhard transfer to a drawn L*a*b* target ---
# sRGB <-> CIE L*a*b*, D65 2-degree white, scikit-image's rgb2lab/lab2rgb
# constants (lite-cnn's normalize/lab.rs): xyz_from_rgb, the white point,
# delta = 6/29, the sRGB curve (0.04045 / 12.92 / 2.4 / 0.055 and 0.0031308 back).
# In NumPy float32, like RandStainNA's own code: it was faster than the same
# maths in torch here (3.6 against 4.6 ms per 224x224 image at 1 thread; torch's
# pow(1/3) and std are the slow parts), while HED jitter was level (1.2 ms) and
# stays in torch. Checked against lite-cnn: with spread 0 (every target the
# average) it gives lite-cnn's f64 Reinhard transfer (normalizeStains) to the
# level on all but ~1e-5 of the pixels (off by one there).
XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
WHITE = np.array([0.95047, 1.0, 1.08883])
DELTA = 6 / 29
TO_XYZN = (XYZ_FROM_RGB / WHITE[:, None]).astype(np.float32)  # rows divided by the white point
FROM_XYZN = (np.linalg.inv(XYZ_FROM_RGB) * WHITE[None, :]).astype(np.float32)  # columns multiplied by it
_c = np.arange(256) / 255
# The sRGB linearisation of each byte (a table, as lite-cnn and any 8-bit implementation use).
LINEAR = np.where(_c > 0.04045, ((_c + 0.055) / 1.055) ** 2.4, _c / 12.92).astype(np.float32)
FLAT_STD = 1e-3  # a flatter channel is only shifted (lite-cnn's reinhard::FLAT_STD)
F32 = np.float32


def lab_f(t):
    return np.where(t > F32(DELTA**3), np.cbrt(t), t * F32(1 / (3 * DELTA**2)) + F32(4 / 29))


def lab_f_inv(f):
    return np.where(f > F32(DELTA), f * f * f, F32(3 * DELTA**2) * (f - F32(4 / 29)))


class RandStainNA:
    """uint8 CHW -> uint8 CHW: with `probability`, the image's L*a*b* values v
    become (v - own mean) * target std / own std + target mean per channel, the
    target drawn as mean_avg + spread*mean_std*z, max(0, std_avg + spread*std_std*z')
    (z, z' standard normals), then back to 8-bit sRGB (rounded, clipped)."""

    def __init__(self, distribution, spread, probability):
        d = distribution
        self.mean_avg, self.std_avg = np.array(d["means"]["mean"], F32), np.array(d["stds"]["mean"], F32)
        self.mean_std, self.std_std = F32(spread) * np.array(d["means"]["std"], F32), F32(spread) * np.array(d["stds"]["std"], F32)
        self.probability = probability

    def __call__(self, img):
        if torch.rand(()) >= self.probability:
            return img
        z = torch.randn(6).numpy()
        target_mean = self.mean_avg + self.mean_std * z[:3]
        target_std = np.maximum(self.std_avg + self.std_std * z[3:], 0)
        f = lab_f(TO_XYZN @ LINEAR[img.numpy().reshape(3, -1)])
        lab = np.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])
        mean, std = lab.mean(1), lab.std(1)
        gain = np.where(std < FLAT_STD, F32(1), target_std / std)
        lab = lab * gain[:, None] + (target_mean - mean * gain)[:, None]
        fy = (lab[0] + 16) / 116
        lin = np.clip(FROM_XYZN @ lab_f_inv(np.stack([lab[1] / 500 + fy, fy, fy - lab[2] / 200])), 0, 1)
        srgb = np.where(lin > F32(0.0031308), F32(1.055) * lin ** F32(1 / 2.4) - F32(0.055), F32(12.92) * lin)
        return torch.from_numpy(np.rint(srgb * 255).astype(np.uint8).reshape(img.shape))


# --- the configurations -------------------------------------------------------
JITTER = ("brightness", "contrast", "saturation", "hue")
KNOWN = {"stainScale", "stainShift", "stainRandomization", *JITTER}


def pipeline(spec, add):
    """torchvision's Compose for the study's augmentation plus `add` (AugmentationConfig names)."""
    unknown = set(add) - KNOWN
    if unknown:  # a configuration added in configs.mjs must be mirrored here, not silently skipped
        raise SystemExit(f"torch_augment.py: no PyTorch twin for {sorted(unknown)}")
    s = spec["study"]
    zoom = s.get("zoomRange", 0)
    zoom = (1 - zoom, 1 + zoom) if isinstance(zoom, (int, float)) else tuple(zoom)
    steps = []
    if "stainRandomization" in add:
        r = add["stainRandomization"]
        steps.append(RandStainNA(spec["distribution"], r.get("spread", 1), r.get("probability", 1)))
    steps.append(T.RandomAffine(
        degrees=s.get("rotationRange", 0),
        translate=(s.get("widthShiftRange", 0), s.get("heightShiftRange", 0)),
        scale=zoom,
        shear=s.get("shearRange", 0),  # degrees, as Keras' shear_range and lite-cnn's shearRange
        interpolation=T.InterpolationMode.BILINEAR,  # lite-cnn samples bilinearly (torchvision's default is nearest)
    ))
    if s.get("horizontalFlip"):
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.ConvertImageDtype(torch.float32))  # uint8 -> float / 255 (lite-cnn's minmax)
    if "stainScale" in add or "stainShift" in add:
        steps.append(HedJitter(add.get("stainScale", 0), add.get("stainShift", 0)))
    if any(k in add for k in JITTER):
        steps.append(T.ColorJitter(**{k: add.get(k, 0) for k in JITTER}))
    return T.Compose(steps)


def mixed(batch, mix, classes=2):
    """MixUp or CutMix of a collated float batch (NCHW) and its one-hot targets, as lite-cnn's
    kernel and fit's `mix` do: each image with the one before it (roll(1)), a Beta(alpha, alpha)
    weight per image, CutMix boxes by torchvision's rule (half-sides floor(0.5*sqrt(1 - lam)*side)
    around a uniform pixel, clipped; lam the share left). What torchvision.transforms.v2's MixUp and
    CutMix do in a DataLoader's collate_fn (not in Debian's torchvision 0.14), with one lam per image
    instead of per batch."""
    n, _, h, w = batch.shape
    lam = torch.distributions.Beta(mix["alpha"], mix["alpha"]).sample((n,))
    partner = batch.roll(1, 0)
    if mix["kind"] == "mixup":
        lw = lam.view(n, 1, 1, 1)
        out = batch * lw + partner * (1 - lw)
    else:
        out = batch.clone()
        cy, cx = torch.randint(h, (n,)).tolist(), torch.randint(w, (n,)).tolist()
        for i in range(n):
            r = 0.5 * float(1 - lam[i]) ** 0.5
            hh, hw = int(r * h), int(r * w)
            y0, y1, x0, x1 = max(cy[i] - hh, 0), min(cy[i] + hh, h), max(cx[i] - hw, 0), min(cx[i] + hw, w)
            out[i, :, y0:y1, x0:x1] = partner[i, :, y0:y1, x0:x1]
            lam[i] = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    labels = torch.arange(n) % classes
    onehot = torch.nn.functional.one_hot(labels, classes).float()
    targets = lam.view(n, 1) * onehot + (1 - lam.view(n, 1)) * onehot.roll(1, 0)
    return out, targets


class MixedCollate:
    """default_collate's stack, then the batch mixing (a DataLoader's collate_fn; picklable for workers)."""

    def __init__(self, mix):
        self.mix = mix

    def __call__(self, items):
        return mixed(torch.stack(items), self.mix)


# --- timing: lite.mjs' rules (benches/peers/timing.mjs, measure.mjs), with the
# settings run.mjs wrote into spec.json, so both sides stop and repeat alike. ---
def now_ms():
    return time.perf_counter() * 1e3


def timed(run, s):
    """timing.mjs' time(): median of >= RUNS timed runs after WARMUP warm-up runs
    (warm-up stops after WARMUP_MAX_MS), more while they total under MIN_MS; a
    slow measurement stops after MAX_MS once MIN_TIMED runs are in (PyTorch at
    2 threads under other load takes seconds per batch)."""
    w0 = now_ms()
    for i in range(s["WARMUP"]):
        if i > 0 and now_ms() - w0 >= s["WARMUP_MAX_MS"]:
            break
        run()
    times, t0 = [], now_ms()
    while True:
        elapsed = now_ms() - t0
        if len(times) >= s["RUNS"] and (elapsed >= s["MIN_MS"] or len(times) >= 5000):
            break
        if len(times) >= s["MIN_TIMED"] and elapsed >= s["MAX_MS"]:
            break
        t = now_ms()
        run()
        times.append(now_ms() - t)
    return statistics.median(times), len(times)


def cpu_ms(pids):
    """CPU time (user + system) of this process and of the processes `pids` (a DataLoader's workers), in ms."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = time.process_time() * 1e3
    for pid in pids:
        # /proc/PID/stat: fields 14 and 15 are utime and stime in clock ticks (after the parenthesised name).
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) * 1e3 / ticks
    return total


def watched(run, s, attempts=3, workers=()):
    """measure.mjs' watched(): times `run` and the CPU other processes used
    meanwhile (machine busy time minus this process's and its `workers'`, per
    wall ms, in cores); repeated (at most 3 attempts) while that exceeds 0.25
    core, unless the measurement took under 100 ms or over 20 s; the
    least-disturbed attempt is kept."""
    best = None
    for attempt in range(attempts):
        b0, c0, w0 = machine_busy_ms(), cpu_ms(workers), now_ms()
        ms, n = timed(run, s)
        wall = now_ms() - w0
        own = cpu_ms(workers) - c0
        b1 = machine_busy_ms()
        foreign = None if b0 is None else max(0.0, (b1 - b0 - own) / wall)
        if best is None or (foreign or 0) < (best["foreign"] or 0):
            best = {"ms": ms, "n": n, "foreign": foreign, "wall": wall}
        best["attempts"] = attempt + 1
        if foreign is None or foreign <= 0.25 or wall < 100 or wall > 20_000:
            break
    return best


class Tiles(torch.utils.data.Dataset):
    """The tiles, cycled without end (a DataLoader's batches keep coming), each through `transform`."""

    def __init__(self, images, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return 1 << 30

    def __getitem__(self, i):
        return self.transform(self.images[i % len(self.images)])


def main():
    threads = int(arg("--threads"))
    data = Path(arg("--data"))
    spec = json.loads((data / "spec.json").read_text())
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    # Decoded images as a Dataset would hold them: uint8 CHW (PILToTensor's layout), converted once.
    images = torch.from_numpy(np.load(data / "tiles.npy")).permute(0, 3, 1, 2).contiguous()
    batch = spec["batch"]
    results = []
    for c in spec["configs"]:
        transform = pipeline(spec, c["add"])
        if threads == 1:
            start = [0]

            def next_batch():
                # The next `batch` images, cycling over the tiles; per-image transforms, then collated.
                idx = [(start[0] + i) % len(images) for i in range(batch)]
                start[0] += batch
                stacked = torch.stack([transform(images[i]) for i in idx])
                return mixed(stacked, c["mix"]) if c.get("mix") else stacked

            r = {"config": c["name"], **watched(next_batch, spec["timing"])}
        else:
            # More cores: what PyTorch users run, a DataLoader with one worker process per core
            # (each worker single-threaded, torch's default there). set_num_threads(2) on
            # per-image transforms is slower than 1 thread here: each small op's parallel region
            # costs more than it saves.
            collate = {"collate_fn": MixedCollate(c["mix"])} if c.get("mix") else {}
            loader = torch.utils.data.DataLoader(Tiles(images, transform), batch_size=batch, num_workers=threads, persistent_workers=True, prefetch_factor=2, **collate)
            batches = iter(loader)

            def next_cycle():
                # One batch from each worker: the workers run in parallel, so single batches
                # arrive in bursts (one after ~2 batch times, the next at once); a cycle's time
                # over its batch count is the steady throughput.
                for _ in range(threads):
                    next(batches)

            pids = [w.pid for w in batches._workers]
            r = {"config": c["name"], "workers": threads, **watched(next_cycle, spec["timing"], workers=pids)}
            r["ms"] /= threads
            del batches, loader
        load = "?" if r["foreign"] is None else f"{r['foreign']:.2f}"
        print(f"torch {threads}t {c['name']}: {r['ms']:.1f} ms per batch of {batch} (other load {load} cores)", file=sys.stderr)
        results.append(r)
    print(json.dumps({
        "library": "pytorch",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "runs": spec["timing"]["RUNS"],
        "warmup": spec["timing"]["WARMUP"],
        "results": results,
    }))


if __name__ == "__main__":
    main()
