"""The papers' published tables, read from ../shared/reference/published-numbers.md."""

from __future__ import annotations

import re

import pytest

from helpers.paths import PUBLISHED


def published_bicubic() -> dict[tuple[str, int], tuple[float, float]]:
    """The 'Bicubic baseline' table: ``{(set, scale): (psnr, ssim)}``; skips the test where it is absent."""
    if not PUBLISHED.is_file():
        pytest.skip(f"published numbers not available: {PUBLISHED} is absent")
    text = PUBLISHED.read_text()
    section = text.split("## Bicubic baseline", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| Set |"))
    scales = [int(s) for s in re.findall(r"x(\d+)", header)]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(scales) + 1 and "/" in cells[1]:
            for scale, cell in zip(scales, cells[1:]):
                psnr, ssim = (float(v) for v in cell.split("/"))
                table[(cells[0], scale)] = (psnr, ssim)
    assert len(table) == 8, f"could not parse the bicubic table in {PUBLISHED}"
    return table
