"""Issue 17, probe cases 4, 5 and 8 (images and arguments): a bad file in a later set fails before any
scoring; tiny images come out at their colour (padded as tiles are) and ``compare`` takes any image it
accepts; too-small tiles and oversized images are one line before work; ``--json`` is always valid JSON;
gray+alpha stays gray+alpha; odd folder entries are reported; bad ``--device``/``--tile-overlap`` are one
line. All through the real CLI (``cli_runner``)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from helpers.cli_runner import CliResult, run_cli

COLOUR = (120, 30, 200)  # RGB of the tiny images
TINY = {"1x1": (1, 1), "3x3": (3, 3), "1x64": (1, 64)}
TINY_MODELS = [("emtcm", 2), ("emtcm", 3), ("fsrcnn", 2), ("srcnn", 2)]


def _png(path: Path, width: int, height: int, colour_type: int = 2, depth: int = 8, rows: bytes | None = None) -> None:
    """A PNG written by hand: any declared size (the pixel data may be a single row), or gray+alpha 16-bit."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    data = rows if rows is not None else b"\0" * (1 + 3 * min(width, 64))
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def _tiny(h: int, w: int) -> np.ndarray:
    """The colour, with a little texture on the larger ones (so that the test is not only of a constant)."""
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = COLOUR
    if h * w > 1:
        texture = np.random.default_rng(h * w).integers(-10, 11, rgb.shape)
        rgb = np.clip(rgb.astype(int) + texture, 0, 255).astype(np.uint8)
    return rgb


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name in ("good", "later"):
        (root / name).mkdir()
        for i in range(3):
            cv2.imwrite(str(root / name / f"{i}.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    data = (root / "later" / "1.png").read_bytes()
    (root / "later" / "1.png").write_bytes(data[: len(data) // 3])  # the header passes, the pixels do not
    (root / "tiny").mkdir()
    for name, (h, w) in TINY.items():
        cv2.imwrite(str(root / "tiny" / f"{name}.png"), _tiny(h, w)[:, :, ::-1])
    for side in (1, 2, 3, 5, 8, 12, 19):
        cv2.imwrite(str(root / f"square{side}.png"), rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    _png(root / "declares_huge.png", 100_000, 100_000)
    Image.new("1", (20_000, 20_000)).save(root / "real_20000.png")  # a real, decodable 400-megapixel image
    gray_alpha = np.dstack([np.full((6, 5), 90, np.uint8), np.full((6, 5), 200, np.uint8)])
    Image.fromarray(gray_alpha, "LA").save(root / "la8.png")
    row = struct.pack(">2H", 40000, 50000) * 5
    _png(root / "la16.png", 5, 6, colour_type=4, depth=16, rows=(b"\0" + row) * 6)  # 16-bit gray + alpha
    odd = root / "odd"
    odd.mkdir()
    cv2.imwrite(str(odd / "real.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    (odd / "folder.png").mkdir()
    (odd / "loop.png").symlink_to(odd / "loop.png")
    (odd / "dangling.jpg").symlink_to(odd / "nowhere.jpg")
    img = root / "good" / "0.png"

    def upscale(src: Path, out: str, model: str, scale: int, *extra: str) -> list:
        return ["upscale", src, "-o", root / out, "--model", model, "--scale", str(scale), *extra]

    cases: dict[str, list | dict] = {
        "benchmark: truncated file in the later set": ["benchmark", "--scale", "2", "--data", root / "good",
                                                       root / "later"],
        "benchmark --json: truncated file in the later set": ["benchmark", "--scale", "2", "--data", root / "good",
                                                              root / "later", "--json"],
        "benchmark --json --scale 1": ["benchmark", "--scale", "1", "--data", root / "good", "--json"],
        "benchmark --json (control)": ["benchmark", "--scale", "2", "--data", root / "good", "--json"],
        "upscale --tile 1 (aligned csrcnn)": upscale(img, "t1", "csrcnn", 4, "--tile", "1"),
        "upscale --tile 3 (aligned msfmgan)": upscale(img, "t3", "msfmgan", 2, "--tile", "3"),
        "upscale --tile 3 (fsrcnn)": upscale(img, "t3", "fsrcnn", 2, "--tile", "3"),
        "upscale --tile-overlap -1": upscale(img, "t4", "fsrcnn", 2, "--tile", "16", "--tile-overlap", "-1"),
        "upscale --device mps": upscale(img, "t5", "fsrcnn", 2, "--device", "mps"),
        "upscale: declares 100000x100000": upscale(root / "declares_huge.png", "h1", "bicubic", 2),
        "compare: declares 100000x100000": ["compare", root / "declares_huge.png", "-o", root / "h2.png", "--models",
                                            "bicubic", "--scale", "2"],
        "benchmark: declares 100000x100000": ["benchmark", "--scale", "2", "--data", root / "huge_set"],
        "upscale: a real 20000x20000": upscale(root / "real_20000.png", "h3", "bicubic", 2),
        "upscale: OpenCV's own limit": {"args": upscale(root / "declares_huge.png", "h4", "bicubic", 2),
                                        "env": {"SR_ZOO_MAX_PIXELS": str(10**12)}},
        "upscale: 8-bit gray+alpha": upscale(root / "la8.png", "la", "bicubic", 2),
        "upscale: 16-bit gray+alpha": upscale(root / "la16.png", "la", "bicubic", 2),
        "upscale: odd folder entries": upscale(odd, "odd_out", "bicubic", 2),
        "benchmark: odd folder entries": ["benchmark", "--scale", "2", "--data", odd],
    }
    (root / "huge_set").mkdir()
    (root / "huge_set" / "a.png").symlink_to(root / "declares_huge.png")
    for model, scale in TINY_MODELS:
        cases[f"tiny: {model} x{scale}"] = upscale(root / "tiny", f"tiny_{model}_x{scale}", model, scale)
    for side in (1, 2, 3, 5, 8, 12, 19):
        cases[f"compare {side}x{side}"] = ["compare", root / f"square{side}.png", "-o", root / f"fig{side}.png",
                                           "--models", "bicubic", "emtcm", "--scale", "2"]
    results = dict(zip(cases, run_cli(list(cases.values()), cwd=root)))
    return {"root": root, "results": results}


def _error_line(result: CliResult, *fragments: str) -> str:
    assert result.returncode == 2, result
    assert len(result.err_lines) == 1 and "Traceback" not in result.stderr, result
    line = result.err_lines[0]
    assert line.startswith("sr-zoo: error: "), result
    for fragment in fragments:
        assert fragment in line, result
    return line


def _strict_json(text: str) -> dict:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))


def test_a_truncated_file_in_a_later_set_fails_before_any_scoring(probe: dict) -> None:
    result = probe["results"]["benchmark: truncated file in the later set"]
    _error_line(result, "later/1.png: cannot decode")
    assert result.stdout == ""  # Set "good" was not scored and then thrown away: nothing was scored
    result = probe["results"]["benchmark --json: truncated file in the later set"]
    _error_line(result, "later/1.png: cannot decode")
    assert _strict_json(result.stdout) == {"results": [], "error": _error_line(result)[len("sr-zoo: error: "):]}


def test_json_is_always_valid_and_an_infinite_psnr_names_its_cause(probe: dict) -> None:
    result = probe["results"]["benchmark --json --scale 1"]
    _error_line(result, "PSNR is infinite", "x1 with bicubic is the identity")
    assert _strict_json(result.stdout)["results"] == []
    control = probe["results"]["benchmark --json (control)"]
    assert control.returncode == 0, control
    (row,) = _strict_json(control.stdout)["results"]
    assert row["dataset"] == "good" and row["images"] == 3 and 5 < row["psnr"] < 40


@pytest.mark.parametrize("model,scale", TINY_MODELS)
@pytest.mark.parametrize("name", list(TINY))
def test_tiny_images_come_out_at_their_colour(probe: dict, model: str, scale: int, name: str) -> None:
    from sr_zoo.ops import imresize

    result = probe["results"][f"tiny: {model} x{scale}"]
    assert result.returncode == 0, result
    h, w = TINY[name]
    out = cv2.imread(str(probe["root"] / f"tiny_{model}_x{scale}" / f"{name}.png"))[:, :, ::-1].astype(float)
    assert out.shape == (h * scale, w * scale, 3)
    bicubic = imresize(torch.from_numpy(_tiny(h, w).transpose(2, 0, 1).copy()).float()[None] / 255, scale=scale)
    bicubic = np.floor(bicubic[0].clamp(0, 1).numpy().transpose(1, 2, 0) * 255 + 0.5)
    mean_gap = np.abs(out.mean(axis=(0, 1)) - bicubic.mean(axis=(0, 1)))
    assert mean_gap.max() <= 3, (f"{name} x{scale} {model}: mean colour {out.mean(axis=(0, 1))}"
                                 f" vs bicubic {bicubic.mean(axis=(0, 1))}")
    assert np.abs(out - bicubic).max() <= 16  # no pixel far off (the unpadded 1x1 was 82 levels off)


@pytest.mark.parametrize("side", [2, 3, 5, 8, 12, 19])
def test_compare_takes_any_image_it_accepts(probe: dict, side: int) -> None:
    result = probe["results"][f"compare {side}x{side}"]
    assert result.returncode == 0, result
    report = _strict_json(result.stdout)
    assert set(report["scores"]) == {"bicubic", "emtcm"}
    for scores in report["scores"].values():  # scored where the border of 2 leaves enough, null where not
        assert (scores["psnr"] is None) == (side - side % 2 - 4 < 1)
        assert (scores["ssim"] is None) == (side - side % 2 - 4 < 11)
    assert Image.open(probe["root"] / f"fig{side}.png").format == "PNG"


def test_compare_refuses_an_image_smaller_than_the_scale(probe: dict) -> None:
    _error_line(probe["results"]["compare 1x1"], "square1.png: image of 1x1 is smaller than the scale x2")


@pytest.mark.parametrize("case,fragments", [
    ("upscale --tile 1 (aligned csrcnn)", ("--tile 1: below csrcnn's minimum of 8 pixels",)),
    ("upscale --tile 3 (aligned msfmgan)", ("--tile 3: below msfmgan's minimum of 8 pixels",)),
    ("upscale --tile 3 (fsrcnn)", ("--tile 3: below fsrcnn's minimum of 8 pixels",)),
    ("upscale --tile-overlap -1", ("--tile-overlap: expected 'auto' or a number of pixels >= 0, got -1",)),
    ("upscale --device mps", ("--device: mps requested but no Apple MPS device is available",)),
    ("upscale: declares 100000x100000",
     ("declares_huge.png: 100000x100000 pixels", "exceeds the limit", "SR_ZOO_MAX_PIXELS")),
    ("compare: declares 100000x100000", ("declares_huge.png: 100000x100000 pixels", "exceeds the limit")),
    ("benchmark: declares 100000x100000", ("huge_set/a.png: 100000x100000 pixels", "exceeds the limit")),
    ("upscale: a real 20000x20000", ("real_20000.png: 20000x20000 pixels (400 megapixels) exceeds the limit of 268",)),
    ("upscale: OpenCV's own limit", ("declares_huge.png: cannot decode (OpenCV refused it",)),
])
def test_arguments_and_sizes_beyond_the_limits_are_one_line_before_work(probe: dict, case: str,
                                                                        fragments: tuple) -> None:
    if case == "upscale --device mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    result = probe["results"][case]
    _error_line(result, *fragments)
    assert result.stdout == ""


def test_gray_alpha_comes_back_gray_alpha(probe: dict) -> None:
    for case in ("upscale: 8-bit gray+alpha", "upscale: 16-bit gray+alpha"):
        assert probe["results"][case].returncode == 0, probe["results"][case]
    with Image.open(probe["root"] / "la" / "la8.png") as im:
        assert im.mode == "LA" and im.size == (10, 12)
        assert {tuple(px) for px in np.asarray(im).reshape(-1, 2)} == {(90, 200)}
    deep = cv2.imread(str(probe["root"] / "la" / "la16.png"), cv2.IMREAD_UNCHANGED)  # the documented equivalent:
    assert deep.dtype == np.uint16 and deep.shape == (12, 10, 4)  # RGBA, 16 bits, three equal channels
    assert (deep[..., 0] == deep[..., 1]).all() and (deep[..., 1] == deep[..., 2]).all()
    assert abs(int(deep[..., 0].mean()) - 40000) <= 2 and abs(int(deep[..., 3].mean()) - 50000) <= 2


@pytest.mark.parametrize("case", ["upscale: odd folder entries", "benchmark: odd folder entries"])
def test_odd_folder_entries_are_reported_in_one_line(probe: dict, case: str) -> None:
    result = probe["results"][case]
    assert result.returncode == 0, result
    (line,) = result.err_lines
    assert line.startswith("sr-zoo: warning: ")
    assert "odd: skipped 3 entries named like images that are not image files" in line
    for entry in ("folder.png (a folder)", "loop.png (a symlink loop)", "dangling.jpg (a dangling symlink)"):
        assert entry in line


@pytest.mark.parametrize("as_json", [False, True])
def test_sets_scored_before_a_later_failure_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    """A failure that no up-front check can see (a file changed mid-run) keeps the finished sets."""
    import sr_zoo.cli.benchmark as benchmark_cli
    from sr_zoo.cli import main
    from sr_zoo.errors import ImageReadError

    rng = np.random.default_rng(0)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "0.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    real = benchmark_cli.evaluate

    def evaluate(model, dataset, *args, **kwargs):
        if dataset.name == "second":
            raise ImageReadError(f"{dataset.files[0]}: cannot decode (changed during the run)")
        return real(model, dataset, *args, **kwargs)

    monkeypatch.setattr(benchmark_cli, "evaluate", evaluate)
    code = main(["benchmark", "--scale", "2", "--data", str(tmp_path / "first"), str(tmp_path / "second")]
                + (["--json"] if as_json else []))
    out, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == f"sr-zoo: error: {tmp_path / 'second' / '0.png'}: cannot decode (changed during the run)"
    if as_json:
        payload = _strict_json(out)
        assert [r["dataset"] for r in payload["results"]] == ["first"] and "changed during the run" in payload["error"]
    else:
        assert "incomplete" in out and "| first " in out and "second" not in out
