"""Is data loading the bottleneck? Patches/s served per recipe vs patches/s an FSRCNN-sized model consumes.

For each recipe, an ``SRDataModule`` (default worker count) serves batches from stand-ins in the
recipe's real layout, built in a temporary folder from the photos bundled with scikit-image (or the
real T91 from ../shared/data for EMTCM when present). Then an FSRCNN-sized network (d=56, s=12, m=4,
9x9 deconvolution: the fastest model of the zoo) runs training steps on batches of the same LR patch
size. Each line prints both rates and their ratio, measured in this one run; the ratio must be >= 3.
Loader rates are taken after one warm-up epoch (at most 200 batches): the steady state of training, where
each worker has decoded its images once.

Run:  python benchmarks/data_throughput.py [--batches 100] [--workers 2]

Rates depend on the machine; on a 2-core CPU the loader and the model are measured one after the other,
each with the whole machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from sr_zoo.data import SRDataModule
from sr_zoo.data.sources import demo_folder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def fsrcnn_sized(scale: int) -> nn.Module:
    """A network of FSRCNN's size and layout (Dong et al. 2016), on one (Y) channel."""
    layers: list[nn.Module] = [nn.Conv2d(1, 56, 5, padding=2), nn.PReLU(56), nn.Conv2d(56, 12, 1), nn.PReLU(12)]
    for _ in range(4):
        layers += [nn.Conv2d(12, 12, 3, padding=1), nn.PReLU(12)]
    layers += [nn.Conv2d(12, 56, 1), nn.PReLU(56), nn.ConvTranspose2d(56, 1, 9, scale, 4, output_padding=scale - 1)]
    return nn.Sequential(*layers)


def build_standins(root: Path) -> None:
    """DIV2K and COCO-Stuff layouts from the bundled photos (random 6-class label maps for COCO)."""
    photos = sorted(demo_folder(root).glob("*.png"))
    rng = np.random.default_rng(0)
    div2k = root / "DIV2K" / "DIV2K_train_HR"
    coco = root / "coco-stuff"
    for folder in (div2k, coco / "train2017", coco / "stuffthingmaps_trainval2017" / "train2017"):
        folder.mkdir(parents=True, exist_ok=True)
    for i, photo in enumerate(photos):
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        cv2.imwrite(str(div2k / f"{i + 1:04d}.png"), image)
        stem = f"{i + 1:012d}"
        cv2.imwrite(str(coco / "train2017" / f"{stem}.jpg"), image)
        blocks = rng.choice([156, 148, 95, 168, 154, 0], size=(image.shape[0] // 32 + 1, image.shape[1] // 32 + 1))
        labels = np.kron(blocks, np.ones((32, 32)))[: image.shape[0], : image.shape[1]].astype(np.uint8)
        cv2.imwrite(str(coco / "stuffthingmaps_trainval2017" / "train2017" / f"{stem}.png"), labels)


def loader_rate(dm: SRDataModule, batches: int, windows: int = 3) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dm.setup("fit")
    loader = dm.train_dataloader()
    # Warm-up: one epoch (at most 200 batches), so that workers have decoded their images once, as in
    # every epoch after the first one of a real run.
    for i, _ in enumerate(loader):
        if i == 200:
            break
    it = iter(loader)
    rates = []
    for _ in range(windows):  # the median of a few windows: this shared 2-core machine has hiccups
        served, start = 0, time.perf_counter()
        for _ in range(batches):
            try:
                batch = next(it)
            except StopIteration:
                it = iter(loader)
                batch = next(it)
            served += batch["hr"].shape[0]
        rates.append(served / (time.perf_counter() - start))
    return statistics.median(rates)


def model_rate(scale: int, lr_patch: int, batch_size: int, steps: int, windows: int = 3) -> float:
    net = fsrcnn_sized(scale)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)
    lr = torch.rand(batch_size, 1, lr_patch, lr_patch)
    hr = torch.rand(batch_size, 1, lr_patch * scale, lr_patch * scale)
    rates = []
    for window in range(windows + 1):  # the first window is a warm-up
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(net(lr), hr)
            loss.backward()
            optimizer.step()
        if window:
            rates.append(batch_size * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches per timing window (3 windows)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_standins(root)
        t91 = f"t91:{SHARED}" if (SHARED / "T91").is_dir() else "demo"
        cases = [
            ("none (demo)", dict(train=["demo"], scale=4)),
            ("emtcm", dict(train=[t91], recipe="emtcm", scale=3)),
            ("csrcnn", dict(train=["div2k"], recipe="csrcnn", scale=2, batch_size=32)),
            ("msfmgan", dict(train=["div2k"], recipe="msfmgan", scale=4, batch_size=32, crops_per_image=16)),
            ("srseg", dict(train=["coco-stuff"], recipe="srseg", scale=4)),
        ]
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.workers} loader workers")
        print(f"{'recipe':<12} {'source':<12} {'batch':>5} {'LR patch':>8} {'loader p/s':>11} {'model p/s':>10} "
              f"{'ratio':>7}")
        worst = float("inf")
        for name, kwargs in cases:
            dm = SRDataModule(val=[], num_workers=args.workers, root=str(root), download=False, **kwargs)
            served = loader_rate(dm, args.batches)
            lr_patch = dm.patch_size // dm.scale
            consumed = model_rate(dm.scale, lr_patch, dm.hparams.batch_size, steps=15)
            worst = min(worst, served / consumed)
            source = kwargs["train"][0].split(":")[0]
            print(f"{name:<12} {source:<12} {dm.hparams.batch_size:>5} {lr_patch:>8} {served:>11.0f} "
                  f"{consumed:>10.0f} {served / consumed:>6.1f}x")
        verdict = "OK" if worst >= 3 else "BELOW 3x"
        print(f"lowest ratio: {worst:.1f}x ({verdict}: data loading must serve >= 3x what the model consumes)")
    return 0 if worst >= 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
