"""Copy the networks trained by ``benchmarks/train_pretrained.sh`` into the package, with their sha256,
the command that made them and their Set5/Set14 scores (``sr_zoo/models/weights/manifest.json``).

    python benchmarks/export_pretrained.py RUNS_DIR [--out DIR] [--command TEXT] [--machine TEXT]
                                          [--cpu-minutes N] [--only NAME_xS ...]
    (data: SR_ZOO_DATA, default ../shared/data)

``--out`` writes the weights and manifest elsewhere (benchmarks/gpu/run.sh: its output folder); the
manifest there keeps the entries of runs not exported this time. Scores are computed on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from sr_zoo.data.eval_sets import BenchmarkDataset
from sr_zoo.files.download import sha256_of
from sr_zoo.inference.evaluation import evaluate
from sr_zoo.models import create_model
from sr_zoo.models._registry import TRAINING_ONLY_HPARAMS
from sr_zoo.training.checkpointing import atomic_torch_save, load_checkpoint_file

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sr_zoo" / "models" / "weights"
COMMAND = "bash benchmarks/train_pretrained.sh && python benchmarks/export_pretrained.py runs/pretrained"
_DROP = {*TRAINING_ONLY_HPARAMS, "sample_images"}  # not the network: how it was trained, what it logged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="folder of <model>_x<scale>/checkpoints/last.ckpt runs")
    parser.add_argument("--out", type=Path, default=PACKAGE, help="where the weights and manifest go (the package)")
    parser.add_argument("--command", default=COMMAND, help="the command recorded as having made the weights")
    parser.add_argument("--machine", default=None, help="the machine recorded (default: this one's CPU and torch)")
    parser.add_argument("--cpu-minutes", type=float, default=None,
                        help="the training's CPU time (thread-minutes) recorded with the weights")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME_xS",
                        help="export only these runs (e.g. fsrcnn_x3); the other entries stay as they are")
    args = parser.parse_args(argv)
    runs = args.runs
    if not runs.is_dir():
        raise SystemExit(f"{runs}: no such folder (the runs of benchmarks/train_pretrained.sh)")
    data = Path(os.environ.get("SR_ZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    machine = args.machine or f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
    manifest = args.out / "manifest.json"
    entries = json.loads(manifest.read_text()) if manifest.is_file() else {}
    exported = []
    for run in sorted(p for p in runs.iterdir() if (p / "checkpoints" / "last.ckpt").is_file()):
        if args.only is not None and run.name not in args.only:
            continue
        name, scale = run.name.rsplit("_x", 1)
        ckpt = run / "checkpoints" / "last.ckpt"
        saved = load_checkpoint_file(ckpt)
        model = create_model(name, int(scale), checkpoint=ckpt).eval()
        hparams = {k: v for k, v in saved["hyper_parameters"].items() if not k.startswith("_") and k not in _DROP}
        target = args.out / f"{name}_x{scale}.pt"
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
            # the layout the weights were trained with (how the layers pad), which loading restores
            "hyper_parameters": {k: model.hparams[k] for k in type(model).legacy_hparams},
            "iterations": saved.get("SRDataModule", {}).get("progress", {}).get("batches"),
            "scores": scores,
            "command": args.command,
            "machine": machine,
            **({"cpu_minutes": round(args.cpu_minutes)} if args.cpu_minutes is not None else {}),
        }
        exported.append(f"{name}_x{scale}")
        print(f"{name} x{scale}: Set5 {scores['Set5']['psnr']:.2f} / {scores['Set5']['ssim']:.4f}, "
              f"Set14 {scores['Set14']['psnr']:.2f} / {scores['Set14']['ssim']:.4f}")
    if not exported:
        raise SystemExit(f"{runs}: no <model>_x<scale>/checkpoints/last.ckpt run to export")
    manifest.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    print("| weights | parameters | iterations | Set5 | Set14 | sha256 |")
    print("|---|---|---|---|---|---|")
    for key, e in sorted((k, entries[k]) for k in exported):
        s5, s14 = e["scores"]["Set5"], e["scores"]["Set14"]
        print(f"| `{key}` | {e['parameters']:,} | {e['iterations']} | {s5['psnr']:.2f} / {s5['ssim']:.4f} | "
              f"{s14['psnr']:.2f} / {s14['ssim']:.4f} | `{e['sha256'][:12]}` |")


if __name__ == "__main__":
    main()
