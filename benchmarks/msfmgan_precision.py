"""MSFM GAN training iterations per second by precision, measured in one run, side by side.

    python benchmarks/msfmgan_precision.py [--batch N] [--iterations N] [--precisions 32-true bf16-mixed 16-mixed]

On a GPU (default batch 128 of 128x128 HR crops, the paper's 4.1) it compares 32-true, 16-mixed and
bf16-mixed; on the CPU (default batch 4) 32-true and bf16-mixed. Adversarial iterations (D step + G
step) with a stand-in perceptual network (VGG16's cost is left out so nothing is downloaded); inputs
are random. Reports iterations/s, the ratio to 32-true, and whether any loss was inf/NaN.
"""

from __future__ import annotations

import argparse
import math

import lightning as L
import torch
from _common import BatchTimer, FixedBatches
from torch import nn
from torch.utils.data import DataLoader

from sr_zoo.models import MSFMGAN


class _FiniteLosses(L.Callback):
    """Whether every logged loss stayed finite (a precision that overflows shows here)."""

    def __init__(self) -> None:
        self.finite = True

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        losses = [v for k, v in trainer.callback_metrics.items() if "loss" in k or "adversarial" in k]
        self.finite &= all(math.isfinite(float(v)) for v in losses)


def measure(precision: str, batch: int, iterations: int, device: str) -> tuple[float, bool]:
    torch.manual_seed(0)
    extractor = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU()).requires_grad_(False)
    model = MSFMGAN(scale=4, perceptual_extractor=extractor, lr_decay_every=0)
    timer, finite = BatchTimer(), _FiniteLosses()
    g = torch.Generator().manual_seed(0)
    fixed = {"hr": torch.rand(batch, 3, 128, 128, generator=g), "lr": torch.rand(batch, 3, 32, 32, generator=g)}
    trainer = L.Trainer(accelerator=device, devices=1, precision=precision, max_epochs=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, callbacks=[timer, finite])
    trainer.fit(model, DataLoader(FixedBatches(fixed, iterations + 2), batch_size=None))
    return timer.rate(warmup=2), finite.finite


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128 if cuda else 4)
    parser.add_argument("--iterations", type=int, default=20 if cuda else 5)
    parser.add_argument("--precisions", nargs="+",
                        default=["32-true", "16-mixed", "bf16-mixed"] if cuda else ["32-true", "bf16-mixed"])
    args = parser.parse_args()
    device = "cuda" if cuda else "cpu"
    name = torch.cuda.get_device_name(0) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"MSFM GAN x4, batch {args.batch} of 128x128 HR, adversarial iterations, {name}")
    rows = {p: measure(p, args.batch, args.iterations, device) for p in args.precisions}
    base = rows.get("32-true", (None,))[0]
    print("| precision | iterations/s | vs 32-true | all losses finite |")
    print("|---|---|---|---|")
    for precision, (rate, finite) in rows.items():
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"| {precision} | {rate:.3f} | {ratio} | {'yes' if finite else 'NO'} |")


if __name__ == "__main__":
    main()
