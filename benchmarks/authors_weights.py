"""The SRCNN and FSRCNN authors' released weights scored by the zoo, beside what the authors published.

    python benchmarks/authors_weights.py [--weights ../shared/weights/authors] [--data ../shared/data]

Each ``.mat`` file is converted as ``sr-zoo convert`` converts it (``sr_zoo.models.convert``) and scored on
Set5 and Set14 as ``sr-zoo benchmark`` scores (MATLAB bicubic LR, SR rounded to 8 bits, Y, border = scale);
the published values are the paper folders' ``published.json`` "the authors' released weights" rows.
Prints a Markdown table: published, measured here, difference (PSNR dB / SSIM).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.inference.published import AUTHORS_TABLE, published_for
from sr_zoo.models import create_model
from sr_zoo.models.convert import convert_mat
from sr_zoo.training.checkpointing import atomic_torch_save

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=SHARED / "weights" / "authors")
    parser.add_argument("--data", type=Path, default=SHARED / "data")
    parser.add_argument("--work", type=Path, default=Path("runs/authors_weights"), help="converted checkpoints")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("| weights | set | scale | published | measured here | difference |")
    print("|---|---|---|---|---|---|")
    for path in sorted(args.weights.glob("*/*.mat")):
        checkpoint = convert_mat(path)
        name, scale = checkpoint["sr_zoo"]["model"], checkpoint["sr_zoo"]["scale"]
        ckpt = args.work / f"{path.stem}.ckpt"
        atomic_torch_save(checkpoint, ckpt)
        model = create_model(name, scale, checkpoint=ckpt).eval()
        for set_name in ("Set5", "Set14"):
            result = evaluate(model, BenchmarkDataset(args.data / set_name, scale), name)
            (paper,) = [r for r in published_for(name, set_name, scale) if r.table == AUTHORS_TABLE]
            print(f"| {name} (`{path.name}`) | {set_name} | x{scale} | {paper.psnr:.2f} / {paper.ssim:.4f} | "
                  f"{result.psnr:.2f} / {result.ssim:.4f} | {result.psnr - paper.psnr:+.2f} / "
                  f"{result.ssim - paper.ssim:+.4f} |", flush=True)


if __name__ == "__main__":
    main()
