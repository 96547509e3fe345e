"""Write the shipped weights in the Hugging Face Hub's format, one folder per key with config.json,
model.safetensors and a model card (README.md), each checked to load back identical:

    python benchmarks/convert_to_hub.py OUT [KEY ...] [--owner NAME]   (default: every shipped key)
    hf upload NAME/fsrcnn_x4 OUT/fsrcnn_x4 .   (then, per folder; older huggingface_hub: huggingface-cli upload)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sr_zoo.files.download import sha256_of
from sr_zoo.models import create_model
from sr_zoo.models.hub import WEIGHTS_FILE, from_pretrained, shipped_to_hub
from sr_zoo.models.pretrained import available_pretrained


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write OUT/<model>_x<scale>/ into")
    parser.add_argument("keys", nargs="*", help="shipped keys (fsrcnn_x4 ...); default: all")
    parser.add_argument("--owner", default="OWNER", help="Hub user or organisation named in the model cards")
    args = parser.parse_args(argv)
    print("| folder | model.safetensors | sha256 | loads back identical |")
    print("|---|---|---|---|")
    for key in args.keys or available_pretrained():
        folder = shipped_to_hub(key, args.out, args.owner)
        name, scale = key.rsplit("_x", 1)
        shipped = create_model(name, int(scale), pretrained=True).net.state_dict()
        loaded = from_pretrained(folder).net.state_dict()
        same = shipped.keys() == loaded.keys() and all(torch.equal(shipped[k], loaded[k]) for k in shipped)
        weights = folder / WEIGHTS_FILE
        size, sha = weights.stat().st_size, sha256_of(weights)
        print(f"| `{folder}` | {size:,} bytes | `{sha[:12]}` | {'yes' if same else 'NO'} |")
        if not same:
            raise SystemExit(f"{folder}: the converted weights differ from the shipped ones")


if __name__ == "__main__":
    main()
