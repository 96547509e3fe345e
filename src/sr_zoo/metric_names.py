"""The metrics the zoo scores, by name, importable without torch: the one list behind ``--metrics`` of
``sr-zoo benchmark``/``compare``, ``SRDataModule(eval_metrics=...)`` and ``sr_zoo.metrics.extra_metrics``."""

from __future__ import annotations

__all__ = ["EXTRA_METRICS", "TABLE_METRICS"]

TABLE_METRICS = ("psnr", "ssim")  # Y-channel PSNR and SSIM: every score has them, as the papers' tables
EXTRA_METRICS = ("lpips", "niqe")  # asked for by name: LPIPS (RGB, against HR), NIQE (Y, no reference)
