"""summary.json and summary.md of a ``benchmarks/gpu/run.sh`` run, from the files its steps wrote.

    python benchmarks/gpu/summarize.py RUN_DIR OUT_DIR MODE SECONDS

Standard library only (it runs even where a step's packages failed to install). Each step's status
comes from RUN_DIR/steps.tsv; the tables put the measured figures beside the papers' (CSRCNN Table VI,
SRSEG's 20.24 frames/s) and the GPU-trained weights beside the shipped ones and the published scores.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "src" / "sr_zoo" / "models" / "weights" / "manifest.json"
MODELS = REPO / "src" / "sr_zoo" / "models"  # each paper folder's published.json
PRETRAINED = ("emtcm_x3", "srcnn_x3", "fsrcnn_x3")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _steps(run: Path) -> list[dict[str, Any]]:
    rows = []
    for line in (run / "steps.tsv").read_text().splitlines() if (run / "steps.tsv").is_file() else []:
        name, status, rc, seconds, budget, note = (line.split("\t") + [""] * 6)[:6]
        rows.append({"name": name, "status": status, "rc": None if rc == "-" else int(rc),
                     "seconds": float(seconds), "budget_s": int(budget), "note": note,
                     "log": f"run/logs/{name}.log"})
    return rows


def _tests(path: Path) -> dict[str, Any] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    cases = []
    for case in root.iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                reason = (child.get("message") or "").splitlines()[0][:160] if child.get("message") else ""
                break
        else:
            reason = ""
        cases.append({"test": f"{case.get('classname')}::{case.get('name')}", "outcome": outcome, "reason": reason})
    counts = {k: sum(c["outcome"] == k for c in cases) for k in ("passed", "failed", "error", "skipped")}
    return {"count": len(cases), **counts, "cases": cases}


def _curve(run: Path) -> dict[str, Any] | None:
    files = sorted((run / "csrcnn_x2").glob("**/metrics.csv"))
    if not files:
        return None
    train, val = [], []
    with files[0].open() as f:
        for row in csv.DictReader(f):
            step = int(row["step"])
            if row.get("train/loss"):
                train.append({"step": step, "loss": float(row["train/loss"])})
            psnr = {k.split("/")[1]: float(v) for k, v in row.items() if k.startswith("val/") and k.endswith("/psnr")
                    and k.count("/") == 2 and v}
            if psnr:
                val.append({"step": step, "psnr": psnr})
    checkpoints = []
    for ckpt in sorted((run / "csrcnn_x2").glob("**/last.ckpt")):
        checkpoints.append({"path": str(ckpt.relative_to(run.parent)), "bytes": ckpt.stat().st_size,
                            "sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest()})
    return {"metrics_csv": str(files[0].relative_to(run.parent)), "train": train, "val": val,
            "checkpoints": checkpoints}


def _published(model: str, test: str) -> dict[str, Any] | None:
    rows = [row for path in sorted(MODELS.glob("*/published.json")) for row in (_json(path) or {}).get("rows", [])]
    found = [r for r in rows if r["model"] == model and r["test"] == test and r["scale"] == 3 and r["train"] == "T91"]
    return found[0] if found else None


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _generic(data: Any) -> list[str]:
    """The first list of flat rows in a JSON written by a benchmark whose layout this file does not know."""
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return ["(no rows)"]
    # Columns from every row: a key empty in the first (a skip's reason) is still a column.
    keys = list(dict.fromkeys(k for r in rows if isinstance(r, dict) for k, v in r.items()
                              if isinstance(v, (int, float, str))))
    fmt = [[f"{r.get(k):.4g}" if isinstance(r.get(k), float) else "" if r.get(k) is None else r.get(k) for k in keys]
           for r in rows]
    return _md_table(keys, fmt)


def summarize(run: Path, out: Path, mode: str, seconds: int) -> dict[str, Any]:
    env = _json(run / "env.json") or {}
    summary: dict[str, Any] = {"mode": mode, "seconds": seconds, "machine": env.get("machine"), "env": env,
                               "steps": _steps(run), "results": {}}
    results = summary["results"]
    results["cuda_tests"] = _tests(run / "cuda_tests.xml")
    for name in ("table6", "srseg", "roofline", "lightning_overhead"):
        results[name] = _json(run / f"{name}.json")
    weights = _json(run / "weights" / "manifest.json") or {}
    for key, entry in weights.items():  # the sha256 again, from the file itself
        path = run / "weights" / entry["file"]
        entry["sha256_ok"] = path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    results["weights"] = weights
    results["scores_md"] = {p.stem: p.read_text() for p in sorted((run / "scores").glob("*.md"))}
    results["csrcnn_x2"] = _curve(run)
    summary["notes"] = [
        "SRDataModule cannot hold the training data on the GPU: patches are decoded and cut by CPU DataLoader "
        "workers (--data.num_workers), pinned, then copied.",
        "EMTCM x3 uses train_pretrained.sh's CPU config (benchmarks/configs/emtcm_x3_cpu.yaml), which adds "
        "General-100 at epoch 200; General-100 is not carried, so the runs stop by epoch 199 at the latest.",
        "CSRCNN x2: experiments/csrcnn_x2.yaml on T91 (DIV2K is not carried), Adam 5e-4; checkpoints are "
        "left out of results.tar.gz (their sha256 is here).",
    ]
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text("\n".join(_markdown(summary)) + "\n")
    return summary


def _markdown(s: dict[str, Any]) -> list[str]:
    r = s["results"]
    lines = [f"# sr_zoo GPU run ({'dry run, CPU, toy sizes' if s['mode'] == 'dry' else 'GPU'})", "",
             f"Machine: {s['machine']}; commit {s['env'].get('commit')}; {s['seconds']} s in all.", "", "## Steps", ""]
    lines += _md_table(["step", "status", "seconds", "budget (s)", "log"],
                       [[x["name"], x["status"], x["seconds"], x["budget_s"], x["log"]] for x in s["steps"]])
    t = r.get("cuda_tests")
    if t:
        lines += ["", "## CUDA tests", "",
                  f"{t['count']} tests: {t['passed']} passed, {t['failed']} failed, {t['error']} errors, "
                  f"{t['skipped']} skipped.", ""]
        lines += _md_table(["test", "outcome", "reason"], [[c["test"], c["outcome"], c["reason"]] for c in t["cases"]])
    t6 = r.get("table6")
    if t6:
        lines += ["", f"## CSRCNN Table VI ({t6['device_name']}, LR {t6['lr_size']}x{t6['lr_size']}, "
                  f"median of {t6['repeats']})", "",
                  "`table6` is the network Table VI counts; the paper's column is its GTX 1080 Ti figures.", ""]
        rows = []
        for row in t6["rows"]:
            paper = t6["paper"].get(f"x{row['scale']}", {}) if row["variant"] == "table6" else {}
            device_mb = f"{row['device_mb']:.0f}" if "device_mb" in row else "-"
            paper_text = f"{paper['params_k']:,} K, {paper['ms']} ms, {paper['mb']:,} MB" if paper else ""
            rows.append([f"x{row['scale']}", row["variant"], f"{row['params']:,}", f"{row['ms']:.2f}",
                         f"{row['mb']:.0f}", device_mb, paper_text])
        lines += _md_table(["scale", "network", "params", "ms", "peak MB (allocated)", "device MB", "paper"], rows)
    sg = r.get("srseg")
    if sg:
        inf, tr = sg["inference"], sg["training"]
        w, h = inf["input"]
        ow, oh = inf["output"]
        lines += ["", f"## SRSEG ({sg['device_name']})", "",
                  f"Inference {w}x{h} -> {ow}x{oh}: srseg {inf['fps']['srseg']:.2f} frames/s, srresnet "
                  f"{inf['fps']['srresnet']:.2f} (paper: {inf['paper_fps']} on a GTX 1080 Ti). Training step, batch "
                  f"{tr['batch']} of {tr['patch']}x{tr['patch']}: srseg {tr['srseg_s']:.4f} s, srgan "
                  f"{tr['srgan_s']:.4f} s, ratio {tr['ratio']:.2f} (paper: {tr['paper_ratio']})."]
    for name, title in (("roofline", "Inference roofline"), ("lightning_overhead", "Lightning overhead")):
        if r.get(name) is not None:
            lines += ["", f"## {title}", ""] + _generic(r[name])
    weights = r.get("weights") or {}
    if weights:
        shipped = _json(SHIPPED) or {}
        lines += ["", "## Weights trained here (Set5 / Set14 x3, PSNR / SSIM)", ""]
        rows = []
        for key in sorted(weights):
            e, old = weights[key], shipped.get(key, {}).get("scores", {})
            paper = [_published(key.split("_x")[0], t) for t in ("Set5", "Set14")]
            rows.append([key, e["iterations"], *(f"{e['scores'][t]['psnr']:.2f} / {e['scores'][t]['ssim']:.4f}"
                                                  for t in ("Set5", "Set14")),
                         " ; ".join(f"{old[t]['psnr']:.2f}" for t in ("Set5", "Set14")) if old else "-",
                         " ; ".join(f"{p['psnr']:.2f}" if p else "-" for p in paper),
                         f"`{e['sha256'][:12]}`" + ("" if e["sha256_ok"] else " (MISMATCH)")])
        lines += _md_table(["weights", "iterations", "Set5", "Set14", "shipped (CPU) PSNR", "paper PSNR", "sha256"],
                           rows)
        lines += ["", f"Command: `{next(iter(weights.values()))['command']}`"]
    for name, text in (r.get("scores_md") or {}).items():
        lines += ["", f"### sr-zoo benchmark: {name}", "", text.strip()]
    c = r.get("csrcnn_x2")
    if c:
        lines += ["", "## CSRCNN x2 curve", "", f"`{c['metrics_csv']}` ({len(c['train'])} loss points).", ""]
        pick = {p["step"]: p for p in c["train"][:: max(1, len(c["train"]) // 10)] + c["train"][-1:]}
        lines += _md_table(["step", "train loss"], [[p["step"], f"{p['loss']:.4f}"] for p in pick.values()])
        if c["val"]:
            sets = sorted(c["val"][0]["psnr"])
            lines += [""] + _md_table(["step", *(f"{x} PSNR" for x in sets)],
                                      [[v["step"], *(f"{v['psnr'].get(x, float('nan')):.2f}" for x in sets)]
                                       for v in c["val"]])
        for ck in c["checkpoints"]:
            lines += ["", f"Checkpoint `{ck['path']}`: {ck['bytes']:,} bytes, sha256 `{ck['sha256']}`."]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in s["notes"]]
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    summarize(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
