"""SRSEG's cost against SRResNet (inference) and SRGAN (training), measured in one run, side by side.

    python benchmarks/srseg_speed.py [--frames N] [--steps N] [--device cpu|cuda] [--json PATH] [--smoke]

(``--smoke``: a 32x24 input, one frame, one timed step of batch 1: checks the code path only.)

1. Inference, 256x192 -> 1024x768 at x4 (SRSEG paper, Sec. 4.5): frames/s of ``srseg``'s and
   ``srresnet``'s inference networks with the same weights, interleaved; the paper: the head is removed
   at run time, so the ratio should be 1.0 (and 20.24 frames/s on a GTX 1080 Ti).
2. Training, adversarial stage, batch 16 of 84x84 HR crops: seconds per step of SRSEG (with its
   segmentation head and loss) against SRGAN; the paper: 1.3x. The perceptual network is VGG16's
   architecture up to relu4_1 with random weights: the same cost as the real one, nothing downloaded.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightning as L
import torch
from _common import BatchTimer, FixedBatches, sync
from torch.utils.data import DataLoader
from torchvision.models import vgg16

from sr_zoo.losses import VGG16_LAYERS
from sr_zoo.models import SRGAN, SRSEG, SRResNet

PAPER_FPS = 20.24  # SRSEG paper, Sec. 4.5: 256x192 -> 1024x768, GTX 1080 Ti
PAPER_TRAINING_RATIO = 1.3  # SRSEG paper: SRSEG's training step against SRGAN's
PATCH = 84  # HR training patch: the discriminator (SRGAN paper) fixes 84x84 (21x21 LR at x4)


def inference(frames: int, device: torch.device, width: int = 256, height: int = 192) -> dict[str, float]:
    torch.manual_seed(0)
    srseg, srresnet = SRSEG(scale=4).to(device).eval(), SRResNet(scale=4).to(device).eval()
    srresnet.net.load_state_dict(srseg.net.state_dict())
    lr = torch.rand(1, 3, height, width, device=device)
    times = {"srseg": 0.0, "srresnet": 0.0}
    with torch.no_grad():
        for net in (srseg.net, srresnet.net):  # warm-up
            net(lr)
        for _ in range(frames):
            for name, net in (("srseg", srseg.net), ("srresnet", srresnet.net)):
                sync(device)
                start = time.perf_counter()
                out = net(lr)
                sync(device)
                times[name] += time.perf_counter() - start
    assert out.shape[-2:] == (4 * height, 4 * width)
    return {name: frames / t for name, t in times.items()}


def training_step_time(cls: type, steps: int, batch: int, accelerator: str) -> float:
    torch.manual_seed(0)
    extractor = vgg16(weights=None).features[: VGG16_LAYERS["relu4_1"] + 1].requires_grad_(False).eval()
    kwargs = {"segmentation_epochs": 0} if cls is SRSEG else {}
    model = cls(scale=4, mse_epochs=0, perceptual_extractor=extractor, **kwargs)  # adversarial from the start
    timer = BatchTimer()
    g = torch.Generator().manual_seed(0)
    side = PATCH // 4
    fixed = {"hr": torch.rand(batch, 3, PATCH, PATCH, generator=g), "lr": torch.rand(batch, 3, side, side, generator=g),
             "label": torch.randint(0, 6, (batch, side, side), generator=g),
             "boundary_mask": torch.rand(batch, side, side, generator=g) > 0.3}
    L.Trainer(accelerator=accelerator, devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
              callbacks=[timer]).fit(model, DataLoader(FixedBatches(fixed, steps + 1), batch_size=None))
    return sum(timer.times[1:]) / len(timer.times[1:])  # the first step warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one frame and one step (a code check)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    width, height = (32, 24) if args.smoke else (256, 192)
    if args.smoke:
        args.frames, args.steps, args.batch = 1, 1, 1
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    fps = inference(args.frames, device, width, height)
    print(f"inference {width}x{height} -> {4 * width}x{4 * height} (x4), {name}:")
    print("| network | frames/s | vs srresnet |")
    print("|---|---|---|")
    for net, rate in fps.items():
        print(f"| {net} | {rate:.3f} | {rate / fps['srresnet']:.3f}x |")
    print(f"(paper: {PAPER_FPS} frames/s at 256x192 -> 1024x768 on a GTX 1080 Ti)")
    srseg = training_step_time(SRSEG, args.steps, args.batch, device.type)
    srgan = training_step_time(SRGAN, args.steps, args.batch, device.type)
    print(f"training step, adversarial stage, batch {args.batch} of {PATCH}x{PATCH}, {name}:")
    print("| model | s/step | vs srgan |")
    print("|---|---|---|")
    print(f"| srseg | {srseg:.3f} | {srseg / srgan:.3f}x (paper: {PAPER_TRAINING_RATIO}x) |")
    print(f"| srgan | {srgan:.3f} | 1.000x |")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "device": device.type, "device_name": name, "torch": torch.__version__, "smoke": args.smoke,
            "inference": {"input": [width, height], "output": [4 * width, 4 * height], "frames": args.frames,
                          "fps": fps, "paper_fps": PAPER_FPS},
            "training": {"batch": args.batch, "patch": PATCH, "steps": args.steps, "srseg_s": srseg, "srgan_s": srgan,
                         "ratio": srseg / srgan, "paper_ratio": PAPER_TRAINING_RATIO},
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
