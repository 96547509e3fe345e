"""Acceptance: the evaluation pipeline reproduces the published bicubic table on real Set5/Set14."""

from __future__ import annotations

import json

import pytest
import torch

from helpers.paths import shared_set
from helpers.published import published_bicubic
from sr_zoo.cli import main

PSNR_TOLERANCE = 0.03  # dB
SSIM_TOLERANCE = 0.003


@pytest.mark.parametrize("round_y", [False, True], ids=["float-y", "uint8-y"])
def test_bicubic_reproduces_published_table(round_y: bool, capsys: pytest.CaptureFixture) -> None:
    expected = published_bicubic()
    folders = [str(shared_set("Set5")), str(shared_set("Set14"))]
    argv = ["benchmark", "--model", "bicubic", "--scale", "2", "3", "4", "8", "--data", *folders, "--json"]
    assert main(argv + (["--round-y"] if round_y else []) + ["--device", "cpu"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 8
    for row in results:
        psnr, ssim = expected[(row["dataset"], row["scale"])]
        assert row["images"] == {"Set5": 5, "Set14": 14}[row["dataset"]]
        assert abs(row["psnr"] - psnr) <= PSNR_TOLERANCE, row
        assert abs(row["ssim"] - ssim) <= SSIM_TOLERANCE, row


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_bicubic_on_gpu_agrees_with_cpu(capsys: pytest.CaptureFixture) -> None:
    folders = [str(shared_set("Set5")), str(shared_set("Set14"))]
    rows = {}
    for device in ("cpu", "cuda"):
        main(["benchmark", "--scale", "2", "3", "4", "8", "--data", *folders, "--json", "--device", device])
        rows[device] = json.loads(capsys.readouterr().out)["results"]
    for cpu, gpu in zip(rows["cpu"], rows["cuda"]):
        assert abs(cpu["psnr"] - gpu["psnr"]) < 0.005, (cpu, gpu)
        assert abs(cpu["ssim"] - gpu["ssim"]) < 0.0005, (cpu, gpu)
