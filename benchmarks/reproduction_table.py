"""The zoo's shipped SRCNN, FSRCNN and EMTCM weights beside the papers and the authors' released weights.

    python benchmarks/reproduction_table.py

Reads, measures nothing: the papers' values (EMTCM paper Table 2, every network trained on the 91 images) and
the authors' published values for their released weights are the paper folders' ``published.json`` rows (the
zoo reproduces the latter within 0.03 dB: ``benchmarks/authors_weights.py``); ours are the shipped weights'
scores in ``sr_zoo/models/weights/manifest.json``, measured by ``benchmarks/export_pretrained.py`` and
re-checked by ``tests/models/test_pretrained.py``. Prints a Markdown table of Set5 and Set14 PSNR (dB).
"""

from __future__ import annotations

import json
from importlib import resources

from sr_zoo.inference.published import AUTHORS_TABLE, published_for


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    manifest = json.loads((resources.files("sr_zoo.models.weights") / "manifest.json").read_text())
    print("| model | set | scale | paper (EMTCM Table 2) | authors' weights | ours | ours - paper | ours - authors' |")
    print("|---|---|---|---|---|---|---|---|")
    for model in ("srcnn", "fsrcnn", "emtcm"):
        for test in ("Set5", "Set14"):
            for scale in (2, 3, 4):
                rows = published_for(model, test, scale)
                paper = next((r.psnr for r in rows if r.table.startswith("Table 2")), None)
                authors = next((r.psnr for r in rows if r.table == AUTHORS_TABLE), None)
                entry = manifest.get(f"{model}_x{scale}")
                ours = entry["scores"][test]["psnr"] if entry else None
                diff = lambda ref: "-" if ref is None or ours is None else f"{ours - ref:+.2f}"  # noqa: E731
                print(f"| {model} | {test} | x{scale} | {_cell(paper)} | {_cell(authors)} | {_cell(ours)} | "
                      f"{diff(paper)} | {diff(authors)} |")


if __name__ == "__main__":
    main()
