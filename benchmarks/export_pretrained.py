"""Copy the networks trained by ``benchmarks/train_pretrained.sh`` into the package, with their sha256,
the command that made them and their Set5/Set14 scores (``sr_zoo/models/weights/manifest.json``).

    python benchmarks/export_pretrained.py RUNS_DIR   (data: SR_ZOO_DATA, default ../shared/data)
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import torch

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.files.download import sha256_of
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.models import create_model
from sr_zoo.training.checkpointing import atomic_torch_save, load_checkpoint_file

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sr_zoo" / "pretrained"
_DROP = {"init_from", "finetune", "sample_images"}  # training-only arguments


def main() -> None:
    runs = Path(sys.argv[1])
    data = Path(os.environ.get("SR_ZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    entries = {}
    for run in sorted(p for p in runs.iterdir() if (p / "checkpoints" / "last.ckpt").is_file()):
        name, scale = run.name.rsplit("_x", 1)
        ckpt = run / "checkpoints" / "last.ckpt"
        saved = load_checkpoint_file(ckpt)
        model = create_model(name, int(scale), checkpoint=ckpt).eval()
        hparams = {k: v for k, v in saved["hyper_parameters"].items() if not k.startswith("_") and k not in _DROP}
        target = PACKAGE / f"{name}_x{scale}.pt"
        atomic_torch_save({"state_dict": {k: v.clone() for k, v in model.net.state_dict().items()},
                           "hyper_parameters": hparams}, target)
        scores = {}
        for set_name in ("Set5", "Set14"):
            result = evaluate(model, BenchmarkDataset(data / set_name, int(scale)), name)
            scores[set_name] = {"psnr": round(result.psnr, 2), "ssim": round(result.ssim, 4)}
        entries[f"{name}_x{scale}"] = {
            "file": target.name,
            "sha256": sha256_of(target),
            "parameters": sum(p.numel() for p in model.net.parameters()),
            "iterations": saved.get("SRDataModule", {}).get("progress", {}).get("batches"),
            "scores": scores,
            "command": "bash benchmarks/train_pretrained.sh && python benchmarks/export_pretrained.py runs/pretrained",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
        }
        print(f"{name} x{scale}: Set5 {scores['Set5']['psnr']:.2f} / {scores['Set5']['ssim']:.4f}, "
              f"Set14 {scores['Set14']['psnr']:.2f} / {scores['Set14']['ssim']:.4f}")
    (PACKAGE / "manifest.json").write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    print("| weights | parameters | iterations | Set5 | Set14 | sha256 |")
    print("|---|---|---|---|---|---|")
    for key, e in sorted(entries.items()):
        s5, s14 = e["scores"]["Set5"], e["scores"]["Set14"]
        print(f"| `{key}` | {e['parameters']:,} | {e['iterations']} | {s5['psnr']:.2f} / {s5['ssim']:.4f} | "
              f"{s14['psnr']:.2f} / {s14['ssim']:.4f} | `{e['sha256'][:12]}` |")


if __name__ == "__main__":
    main()
