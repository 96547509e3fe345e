"""SRCNN networks on their own training patches: the training loss each reaches, and how many ReLU units never fire.

    python benchmarks/srcnn_units.py CKPT [CKPT ...] [--batches 40] [--bank-dir DIR]

Each checkpoint (a zoo checkpoint, or the authors' weights converted with ``sr-zoo convert``) is scored on the same
batches of 64 patches of the ``emtcm`` recipe at x3 (T91 with the FSRCNN/EMTCM augmentation; 72x72 HR, the loss
on the central 48x48, ``loss_border_for(9, 1, 5, 3)``), as PSNR of the mean MSE, beside bicubic; then each ReLU
layer's units that are zero on every pixel of the last batch. A network with a higher training loss than another
of the same architecture did not find what the architecture can do on these data (an optimisation problem, not
one of data); units that never fire are capacity lost.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import torch

from sr_zoo.data import SRDataModule
from sr_zoo.models import create_model
from sr_zoo.models.srcnn.model import loss_border_for
from sr_zoo.ops import imresize

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--bank-dir", default=None, help="where the patch bank is kept (default: DATA/banks)")
    args = parser.parse_args(argv)
    os.environ.setdefault("SR_ZOO_DATA", str(ROOT.parent / "shared" / "data"))
    torch.manual_seed(0)
    models = {str(path): create_model("srcnn", 3, checkpoint=path).eval() for path in args.checkpoints}
    data = SRDataModule(train=["t91"], scale=3, recipe="emtcm", patch_size=72, val=[], test=[], batch_size=64,
                        num_workers=0, seed=0, bank_dir=args.bank_dir, bank_channels=1)  # fit's Y bank
    data.setup("fit")
    border = loss_border_for(9, 1, 5, 3)
    inner = (..., slice(border, -border), slice(border, -border))
    errors = {name: 0.0 for name in ["bicubic", *models]}
    batches = iter(data.train_dataloader())
    with torch.no_grad():
        for _ in range(args.batches):
            batch = next(batches)
            lr, hr = batch["lr"], batch["hr"][inner]
            errors["bicubic"] += torch.mean((imresize(lr, scale=3)[inner] - hr) ** 2).item() / args.batches
            for name, model in models.items():
                errors[name] += torch.mean((model.net(lr)[inner] - hr) ** 2).item() / args.batches
        print(f"{args.batches} batches of 64 T91 x3 patches (emtcm recipe), loss on the central 48x48:\n")
        print("| network | training PSNR (dB) | layer 1 units never active | layer 2 units never active |")
        print("|---|---|---|---|")
        print(f"| bicubic | {10 * math.log10(1 / errors['bicubic']):.3f} | | |")
        upsampled = imresize(lr, scale=3)
        for name, model in models.items():
            first = torch.relu(model.net.features(upsampled))
            second = torch.relu(model.net.mapping(first))
            dead = [int((layer.amax(dim=(0, 2, 3)) == 0).sum()) for layer in (first, second)]
            print(f"| {name} | {10 * math.log10(1 / errors[name]):.3f} | {dead[0]} of {first.shape[1]} | "
                  f"{dead[1]} of {second.shape[1]} |")


if __name__ == "__main__":
    main()
