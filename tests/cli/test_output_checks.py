"""Issue 17, probe case 2 and compare's -o: no command writes over an input, and an output that cannot be
written is one line before any model runs. Every case runs the real CLI (``python -m sr_zoo``, forked
from one interpreter by ``cli_runner``); inputs are compared byte for byte afterwards."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.cli_runner import run_cli


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)]
    return subprocess.run(command, check=False, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(0)
    photos = root / "photos"
    photos.mkdir()
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(photos / name), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    (root / "link").symlink_to(photos)  # -o through a symlink to the input folder
    other = root / "other"
    other.mkdir()
    cv2.imwrite(str(other / "c.pgm"), rng.integers(0, 256, (24, 32), dtype=np.uint8))  # upscaled to c.png ...
    cv2.imwrite(str(other / "c.png"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))  # ... which is a photo here
    hard = root / "hard"
    hard.mkdir()
    os.link(photos / "a.png", hard / "a.png")  # the output folder holds a hard link to the input
    noise = root / "noise.png"  # incompressible: its figure is larger than the small disk below
    cv2.imwrite(str(noise), rng.integers(0, 256, (128, 128, 3), dtype=np.uint8))
    (root / "afile").write_text("not a folder")
    (root / "figs.png").mkdir()
    readonly, full = root / "ro", root / "full"
    mounted = {"ro": _mount(readonly, "ro,size=64k"), "full": _mount(full, "size=64k")}
    if mounted["full"]:
        (full / "fig.png").write_bytes(b"an earlier figure")
    before = _digest(root)
    missing = root / "missing.ckpt"  # a model that would fail if it ran: an -o error must come first

    def upscale(src: Path, out: Path) -> list:
        return ["upscale", src, "-o", out, "--model", "bicubic", "--scale", "2"]

    def compare(src: Path, out: Path, model: str = f"emtcm={missing}") -> list:
        return ["compare", src, "-o", out, "--models", model, "--scale", "2"]

    cases = {
        "upscale DIR -o DIR": upscale(photos, photos),
        "upscale DIR -o DIR/../DIR": upscale(photos, photos / ".." / "photos"),
        "upscale DIR -o symlink": upscale(photos, root / "link"),
        "upscale FILE -o its folder": upscale(photos / "b.jpg", photos),
        "upscale -o holds a hard link": upscale(photos / "a.png", hard),
        "upscale -o name collides beside inputs": upscale(other / "c.pgm", other),
        "compare a -o a": compare(photos / "a.png", photos / "a.png"),
        "compare a -o ../a": compare(photos / "a.png", root / "link" / ".." / "photos" / "a.png"),
        "compare -o folder": compare(noise, root / "figs.png"),
        "compare -o under a file": compare(noise, root / "afile" / "fig.png"),
        "compare -o read-only": compare(noise, readonly / "fig.png"),
        "compare -o full disk": compare(noise, full / "fig.png", "bicubic"),
        "upscale DIR -o elsewhere (control)": upscale(photos, root / "out"),
    }
    results = dict(zip(cases, run_cli(list(cases.values()), cwd=root)))
    after = _digest(root)
    leftovers = sorted(p.name for p in full.iterdir()) if mounted["full"] else []
    for name, ok in mounted.items():
        if ok:
            subprocess.run(["umount", str(root / name)], check=False)
    return {"root": root, "results": results, "before": before, "after": after, "mounted": mounted,
            "leftovers": leftovers}


REFUSED = {
    "upscale DIR -o DIR": ("would overwrite the input", "photos/a.png"),
    "upscale DIR -o DIR/../DIR": ("would overwrite the input", "photos/a.png"),
    "upscale DIR -o symlink": ("would overwrite the input", "photos/a.png"),
    "upscale FILE -o its folder": ("would overwrite the input", "photos/b.jpg"),
    "upscale -o holds a hard link": ("would overwrite the input", "photos/a.png"),
    "upscale -o name collides beside inputs": ("inputs' own folder", "c.png already exists"),
    "compare a -o a": ("would overwrite the input", "photos/a.png"),
    "compare a -o ../a": ("would overwrite the input", "photos/a.png"),
    "compare -o folder": ("figs.png: is a folder",),
    "compare -o under a file": ("afile is a file, not a folder",),
    "compare -o read-only": ("cannot write there (Read-only file system)",),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_output_over_an_input_or_unwritable_is_one_line_and_nothing_changes(probe: dict, case: str) -> None:
    if case == "compare -o read-only" and not probe["mounted"]["ro"]:
        pytest.skip("needs a read-only tmpfs mount (root)")
    probe["results"][case].one_error_line(*REFUSED[case])
    assert probe["results"][case].stdout == ""


def test_inputs_are_unchanged_byte_for_byte(probe: dict) -> None:
    before, after = probe["before"], probe["after"]
    assert {k: v for k, v in after.items() if k in before} == before
    assert not [k for k in after if k not in before and not k.startswith("out/")]  # nothing written but the control's


def test_a_full_disk_is_one_line_and_keeps_the_earlier_figure(probe: dict) -> None:
    if not probe["mounted"]["full"]:
        pytest.skip("needs a tmpfs mount (root)")
    probe["results"]["compare -o full disk"].one_error_line("full/fig.png: not written (No space left on device)",
                                                             "unchanged")
    assert probe["leftovers"] == ["fig.png"]  # no temporary file left; the earlier fig.png is in the digest check


def test_the_control_run_writes_where_it_is_told(probe: dict) -> None:
    result = probe["results"]["upscale DIR -o elsewhere (control)"]
    assert result.returncode == 0, result
    assert sorted(p.name for p in (probe["root"] / "out").iterdir()) == ["a.png", "b.jpg"]
