"""How much each of EMTCM's two tasks pulls on the weights (EMTCM paper, eq. 6-8), per reduction.

For batches of the x3 recipe's training patches (T91, emtcm preset, batch 16), at HR patch sides 48
(the recipes') and 96, this prints each task's value and the norm of its gradient with respect to the
network's weights, and the ratio ``|beta * grad CE| / |grad SSIM task|`` at beta = 1e-4: with the CE a
per-image mean over pixels (the default) and summed over pixels (``ce_pixels="sum"``). Run for the
shipped x3 weights and for a freshly initialised network.
Usage: python benchmarks/emtcm_loss_terms.py [--data ../shared/data] [--batches 20]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402

from sr_zoo.data import SRDataModule  # noqa: E402
from sr_zoo.losses import DistributionCrossEntropy, SSIMLoss  # noqa: E402
from sr_zoo.models import create_model  # noqa: E402
from sr_zoo.ops import rgb_to_y  # noqa: E402

BETA = 1e-4


def gradient_norm(loss: torch.Tensor, params: list[torch.Tensor]) -> float:
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))


def measure(net: torch.nn.Module, batches: list[dict]) -> dict[str, float]:
    params = [p for p in net.parameters() if p.requires_grad]
    ssim_task = SSIMLoss()
    ce_mean, ce_sum = DistributionCrossEntropy(pixels="mean"), DistributionCrossEntropy(pixels="sum")
    totals = {"ssim": 0.0, "ce_mean": 0.0, "ce_sum": 0.0, "g_ssim": 0.0, "g_mean": 0.0, "g_sum": 0.0}
    for batch in batches:
        sr, hr = net(rgb_to_y(batch["lr"])), rgb_to_y(batch["hr"])
        terms = {"ssim": ssim_task(sr, hr), "ce_mean": ce_mean(sr, hr), "ce_sum": ce_sum(sr, hr)}
        for key, value in terms.items():
            totals[key] += float(value.detach()) / len(batches)
        totals["g_ssim"] += gradient_norm(terms["ssim"], params) / len(batches)
        totals["g_mean"] += BETA * gradient_norm(terms["ce_mean"], params) / len(batches)
        totals["g_sum"] += BETA * gradient_norm(terms["ce_sum"], params) / len(batches)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    if not (args.data / "T91").is_dir():
        parser.error(f"--data {args.data}: no T91 folder (see ../shared/data/PROVENANCE.md)")
    torch.manual_seed(0)
    networks = {"shipped emtcm_x3": create_model("emtcm", 3, pretrained=True).net,
                "initialised": create_model("emtcm", 3).net}
    print("| network | HR patch | 1 - SSIM per image | CE per image (mean over pixels) | ratio beta*|grad CE| / "
          "|grad SSIM|, CE mean | same, CE summed over pixels |")
    print("|---|---|---|---|---|---|")
    for patch in (48, 96):
        data = SRDataModule(train=["t91"], val=[], scale=3, recipe="emtcm", patch_size=patch, batch_size=16,
                            num_workers=0, root=str(args.data), seed=0)
        data.setup("fit")
        loader = iter(data.train_dataloader())
        batches = [next(loader) for _ in range(args.batches)]
        for name, net in networks.items():
            t = measure(net, batches)
            per_image = batches[0]["lr"].shape[0]  # the tasks sum over the batch (eq. 6, 7)
            print(f"| {name} | {patch} | {t['ssim'] / per_image:.3f} | {t['ce_mean'] / per_image:.3f} "
                  f"| {t['g_mean'] / t['g_ssim']:.2e} "
                  f"| {t['g_sum'] / t['g_ssim']:.2e} |", flush=True)


if __name__ == "__main__":
    main()
