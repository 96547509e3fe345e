"""The metrics inside a Lightning validation loop and across two DDP (gloo) processes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from sr_zoo.metrics import YPSNR, YSSIM, y_psnr, y_ssim


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(6, 3, 32, 32, generator=g)
    sr = (hr + 0.1 * torch.rand(6, 3, 32, 32, generator=g) * torch.arange(1, 7).view(6, 1, 1, 1) / 6).clamp(0, 1)
    return sr, hr


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    sr, hr = _images()
    psnr, ssim = YPSNR(crop_border=2), YSSIM(crop_border=2)
    # Uneven shards: rank 0 scores 1 image, rank 1 scores 5, so an average of averages would be wrong.
    part = slice(0, 1) if rank == 0 else slice(1, 6)
    psnr.update(sr[part], hr[part])
    ssim.update(sr[part], hr[part])
    torch.save({"psnr": psnr.compute(), "ssim": ssim.compute()}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def test_ddp_processes_agree_on_the_mean_over_all_images(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    sr, hr = _images()
    expected_psnr = y_psnr(sr, hr, crop_border=2).mean().item()
    expected_ssim = y_ssim(sr, hr, crop_border=2).mean().item()
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got["psnr"].item() == pytest.approx(expected_psnr, abs=1e-9)
        assert got["ssim"].item() == pytest.approx(expected_ssim, abs=1e-12)


class _Scorer(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.psnr, self.ssim = YPSNR(crop_border=2), YSSIM(crop_border=2)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        sr, hr = batch
        self.psnr.update(sr, hr)
        self.ssim.update(sr, hr)
        self.log("val/psnr", self.psnr, batch_size=sr.shape[0])
        self.log("val/ssim", self.ssim, batch_size=sr.shape[0])


def test_metrics_log_the_per_image_mean_in_a_lightning_loop() -> None:
    sr, hr = _images()
    loader = DataLoader(list(zip(sr, hr)), batch_size=4)  # batches of 4 and 2 images
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    (logged,) = trainer.validate(_Scorer(), loader, verbose=False)
    assert logged["val/psnr"] == pytest.approx(y_psnr(sr, hr, crop_border=2).mean().item(), abs=1e-4)
    assert logged["val/ssim"] == pytest.approx(y_ssim(sr, hr, crop_border=2).mean().item(), abs=1e-6)
