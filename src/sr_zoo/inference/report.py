"""Benchmark results as tables people read or load: the papers' published values beside each measured
row (each paper folder's ``published.json``: ``sr_zoo.inference.published``), in table, Markdown, CSV or JSON
form, per set or per image."""

from __future__ import annotations

import csv
import io
import json
from typing import Sequence

from sr_zoo.inference.evaluation import BenchmarkResult, format_table
from sr_zoo.inference.published import PublishedRow, published, published_for

__all__ = ["FORMATS", "PublishedRow", "format_results", "published", "published_for"]

FORMATS = ("table", "markdown", "csv", "json")


def _rows(results: Sequence[BenchmarkResult], per_image: bool) -> list[dict]:
    rows = []
    for result in results:
        if per_image:
            for image in result.per_image:
                rows.append({"model": result.model, "dataset": result.dataset, "scale": result.scale, **image})
            continue
        row = result.as_dict()
        paper = published_for(result.model, result.dataset, result.scale)
        if paper:
            row["paper_psnr"], row["paper_ssim"] = paper[0].psnr, paper[0].ssim
            row["psnr_diff"] = round(result.psnr - paper[0].psnr, 2)
            row["paper_source"] = paper[0].source
        rows.append(row)
    return rows


def _against_papers(results: Sequence[BenchmarkResult]) -> str:
    lines = []
    for r in results:
        for paper in published_for(r.model, r.dataset, r.scale):
            ssim = f" / {paper.ssim:.4f}" if paper.ssim is not None else ""
            lines.append(f"  {r.dataset} x{r.scale}: measured {r.psnr:.2f} / {r.ssim:.4f}, "
                         f"paper {paper.psnr:.2f}{ssim} ({paper.source}): {r.psnr - paper.psnr:+.2f} dB")
    return "against the papers:\n" + "\n".join(lines) if lines else ""


def _markdown_cell(value: object) -> str:
    """A table cell that stays one cell: a pipe escaped, line breaks shown as ``<br>`` (a file name may hold both)."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>").replace(
        "\r", "<br>")


def format_results(results: Sequence[BenchmarkResult], fmt: str = "table", per_image: bool = False) -> str:
    """``results`` as ``table`` (a grid per set and scale, then the papers' values), ``markdown`` or ``csv``
    (a row per set and scale, or per image), or ``json`` (``{"results": [...]}``)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        return json.dumps({"results": _rows(results, per_image)}, allow_nan=False)
    if fmt == "table" and not per_image:
        return "\n".join(part for part in (format_table(results), _against_papers(results)) if part)
    rows = _rows(results, per_image)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    cells = [[_markdown_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])
