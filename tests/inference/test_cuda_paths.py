"""The CUDA variants of the precision, tiling and batch-norm checks (skipped without a CUDA device).

benchmarks/gpu/run.sh runs these on a lent GPU. The tolerances of the reduced-precision upscales were
measured with the same models in CPU autocast (FSRCNN/EMTCM/SRCNN x3, 96x96 textures, 32-pixel tiles):
fp16 at most 1 grey level from fp32, bf16 at most 7 and 1.1 on average; the bounds below allow about
twice that. CUDA convolutions use TF32 by default, so CUDA fp32 is compared with the CPU within 2 levels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from helpers.gan_helpers import GradNormProbe, digest, loader, textures, tiny_extractor, tiny_gan, trainer
from helpers.paths import EXPERIMENTS
from helpers.standins import write_images
from sr_zoo.cli import main

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

GPU = dict(accelerator="gpu", devices=1, deterministic=False)


class _DtypeProbe:
    """Records the dtype of a module's output during training (what autocast ran it in)."""

    def __init__(self, module: nn.Module) -> None:
        self.dtypes: set[torch.dtype] = set()
        module.register_forward_hook(lambda m, args, out: self.dtypes.add(out.dtype) if m.training else None)


def _finite_terms(metrics: dict) -> dict[str, float]:
    terms = ("train/loss", "train/d_loss", "train/adversarial")
    return {k: float(metrics[k]) for k in terms if k in metrics}


def test_16_mixed_gan_steps_scale_the_loss_and_clip_unscaled_gradients() -> None:
    """Under fp16 loss scaling every backward goes through the GradScaler (its scale multiplies the loss),
    the networks run in fp16, and the clipped gradient norm is the threshold in true units (1e-3), not
    2^-10 of it: Lightning unscales before ``GANModule.on_before_optimizer_step`` clips."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    torch.manual_seed(0)
    model = GradNormProbe(scale=2, widths=[8, 16, 32], d_widths=[8, 16, 16, 16], lr_decay_every=0,
                          perceptual_extractor=tiny_extractor(), gradient_clip=1e-3, pretrain_iterations=1)
    first_conv = next(m for m in model.net.modules() if isinstance(m, nn.Conv2d))
    probe = _DtypeProbe(first_conv)
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**10)
    scaled: list[float] = []
    original_scale = scaler.scale
    scaler.scale = lambda loss: (scaled.append(float(scaler.get_scale())), original_scale(loss))[1]  # type: ignore
    t = trainer(max_epochs=1, plugins=[MixedPrecision("16-mixed", "cuda", scaler=scaler)], **GPU)
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 4))
    # One backward per optimizer step (4 batches: one generator-only pretraining step, then D and G steps).
    assert len(scaled) == model.optimizer_steps(4) == t.global_step and all(s > 1 for s in scaled), scaled
    assert probe.dtypes == {torch.float16}
    terms = _finite_terms(t.callback_metrics)
    assert set(terms) == {"train/loss", "train/d_loss", "train/adversarial"} and all(map(math.isfinite, terms.values()))
    norms = model.grad_norms
    finite = [n for n in norms if math.isfinite(n)]
    assert finite and all(n == pytest.approx(1e-3, rel=1e-2) for n in finite), norms
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_bf16_mixed_gan_steps_run_in_bf16_and_train() -> None:
    torch.manual_seed(0)
    model = tiny_gan(pretrain_iterations=1)
    probe = _DtypeProbe(next(m for m in model.net.modules() if isinstance(m, nn.Conv2d)))
    before = digest(model.net)
    t = trainer(max_epochs=1, precision="bf16-mixed", **GPU)
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 3))
    assert probe.dtypes == {torch.bfloat16}
    terms = _finite_terms(t.callback_metrics)
    assert len(terms) == 3 and all(map(math.isfinite, terms.values())), terms
    assert digest(model.net) != before
    assert all(p.dtype == torch.float32 for p in model.parameters())


def _texture_png(path: Path) -> Path:
    image = (textures(1, 96, seed=5)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(path), image[..., ::-1])
    return path


def _upscale(image: Path, out: Path, device: str, precision: str, tile: int | None) -> np.ndarray:
    args = ["upscale", str(image), "-o", str(out), "--model", "fsrcnn", "--scale", "3", "--device", device,
            "--precision", precision]
    assert main([*args, "--tile", str(tile)] if tile else args) == 0
    result = cv2.imread(str(out / image.name), cv2.IMREAD_UNCHANGED)
    assert result is not None and result.shape == (288, 288, 3)
    return result.astype(np.float64)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize("precision, max_levels, min_psnr", [("16", 2, 55.0), ("bf16", 16, 38.0)])
def test_tiled_reduced_precision_upscale_is_within_tolerance_of_fp32(tmp_path: Path, precision: str,
                                                                     max_levels: int, min_psnr: float) -> None:
    """``sr-zoo upscale --tile 32 --precision 16|bf16 --device cuda`` (the shipped FSRCNN x3) against fp32."""
    image = _texture_png(tmp_path / "texture.png")
    cpu = _upscale(image, tmp_path / "cpu", "cpu", "32", None)
    fp32 = _upscale(image, tmp_path / "fp32", "cuda", "32", 32)
    reduced = _upscale(image, tmp_path / precision, "cuda", precision, 32)
    assert np.abs(fp32 - cpu).max() <= 2 and _psnr(fp32, cpu) > 55.0
    assert np.abs(reduced - fp32).max() <= max_levels, np.abs(reduced - fp32).max()
    assert _psnr(reduced, fp32) > min_psnr
    if precision == "bf16":  # the flag took effect: bf16's 8-bit mantissa shows in the 8-bit output
        assert not np.array_equal(reduced, fp32)



def test_fp16_recipe_overlay_fits_emtcm_with_loss_scaling(tmp_path: Path) -> None:
    """``sr-zoo fit ... --config experiments/trainer/fp16.yaml`` on CUDA: the checkpoint holds the GradScaler's
    state (Lightning saves it only for 16-mixed with a scaler) and finite weights."""
    train = write_images(tmp_path / "train", 3, 72, seed=0, blur=2)
    val = write_images(tmp_path / "val", 1, 48, seed=1, blur=2)
    code = main(["fit", "--model", "emtcm", "--scale", "3", "--config", str(EXPERIMENTS / "trainer" / "fp16.yaml"),
                 "--trainer.accelerator", "gpu", "--trainer.devices", "1", "--trainer.max_steps", "4",
                 "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
                 f"--trainer.default_root_dir={tmp_path / 'run'}", f"--data.train=[{train}]", f"--data.val=[{val}]",
                 f"--data.root={tmp_path / 'root'}", "--data.num_workers", "0", "--data.batch_size", "4",
                 "--data.samples_per_epoch", "8"])
    assert code == 0
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["global_step"] == 4
    scale = saved["MixedPrecision"]["scale"]
    assert 0 < scale <= 2.0**16 and math.log2(scale) == int(math.log2(scale))
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point())


def test_sync_batchnorm_path_converts_the_discriminator_on_one_gpu() -> None:
    """``--trainer.sync_batchnorm true`` (experiments/trainer/ddp_gpus.yaml) with DDP on one GPU: the
    discriminator trains with SyncBatchNorm in place of every BatchNorm2d, and its statistics move."""
    seen: dict[str, int] = {}

    class Look(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
            modules = list(pl_module.discriminator.modules())
            seen.update(sync=sum(isinstance(m, nn.SyncBatchNorm) for m in modules),
                        plain=sum(type(m) is nn.BatchNorm2d for m in modules), world=trainer.world_size)

    torch.manual_seed(0)
    model = tiny_gan(pretrain_iterations=1)
    expected = sum(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())
    assert expected > 0
    environment = dict(os.environ)
    t = trainer(max_epochs=1, strategy="ddp", sync_batchnorm=True, callbacks=[Look()], **GPU)
    try:
        t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 3))
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        os.environ.clear()
        os.environ.update(environment)
    assert seen == {"sync": expected, "plain": 0, "world": 1}
    terms = _finite_terms(t.callback_metrics)
    assert len(terms) == 3 and all(map(math.isfinite, terms.values())), terms
    norms = [m for m in model.discriminator.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert all(m.running_mean.abs().sum() > 0 for m in norms)
