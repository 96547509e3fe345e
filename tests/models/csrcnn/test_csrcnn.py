"""CSRCNN (CSRCNN paper): shapes, the BP-U block by hand, curriculum, loss schedule, overfitting."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from helpers.standins import write_images
from sr_zoo.data import SRDataModule
from sr_zoo.models import CSRCNN, create_model
from sr_zoo.models.csrcnn import BPUBlock, CSRCNNNet
from sr_zoo.models.csrcnn.schedules import Curriculum, LossSchedule


@pytest.mark.parametrize("scale,levels", [(2, 1), (4, 2), (8, 3)])
def test_shapes_at_every_level(scale: int, levels: int) -> None:
    net = CSRCNNNet(scale, blocks_per_level=[1] * levels)
    assert len(net.levels) == levels
    lr = torch.rand(2, 3, 10, 7)  # not a multiple of 4: padded inside, cropped back
    with torch.no_grad():
        for active in range(1, levels + 1):
            net.active_levels = active
            assert net(lr).shape == (2, 3, 10 * 2**active, 7 * 2**active)


def test_default_depth_is_asymmetric_and_configurable() -> None:
    assert [len(level.group.blocks) for level in CSRCNNNet(8).levels] == [6, 4, 2]
    assert [len(level.group.blocks) for level in CSRCNNNet(4).levels] == [6, 4]
    assert [len(level.group.blocks) for level in CSRCNNNet(8, blocks_per_level=[4, 4, 4]).levels] == [4, 4, 4]
    with pytest.raises(ValueError, match="needs 3 entries"):
        CSRCNNNet(8, blocks_per_level=[4, 4])


def _bpu_by_hand(block: BPUBlock, x: torch.Tensor, plain: bool) -> torch.Tensor:
    """Eq. (1)-(5) written with functional ops and the block's own weights."""
    def conv(layer, inp, stride=1):
        return F.relu(F.conv2d(inp, layer.weight, layer.bias, stride=stride, padding=layer.kernel_size[0] // 2))

    def deconv(layer, inp):
        return F.relu(F.conv_transpose2d(inp, layer.weight, layer.bias, stride=2, padding=1, output_padding=1))

    f0 = conv(block.regulate, x)
    f1 = conv(block.down1, f0, 2)                      # (1) F1 = (W1 * F0) down 2
    f2 = conv(block.down2, f1, 2)                      # (2) F2 = (W2 * F1) down 2
    f3 = conv(block.conv, f2)                          # (3) F3 = [W3 * F2, F2]
    if plain:
        f4 = deconv(block.up1, f3)                     # plain U: no concatenation, no subtraction
    else:
        f4 = deconv(block.up1, torch.cat([f3, f2], 1)) - f1   # (4) F4 = (W4 * F3) up 2 - F1
    return deconv(block.up2, f4) + f0                  # (5) F5 = (W5 * F4) up 2 + F0


@pytest.mark.parametrize("plain", [False, True])
def test_bpu_block_matches_the_equations(plain: bool) -> None:
    """In float64. The block and the equations sum the same products (equal to the bit on the test
    machine), but nothing makes a CPU's convolution kernels order them alike for the two; in float32
    that rounding, over ~1000 products per output of values up to 6, can reach the 1e-5 the test used
    to allow. In float64 (2**-53 relative) it stays below 1e-13, so 1e-10 holds on any CPU."""
    torch.manual_seed(0)
    block = BPUBlock(128, 64, plain_u=plain).double()
    x = torch.randn(2, 128, 16, 12, dtype=torch.float64)
    with torch.no_grad():
        assert (block(x) - _bpu_by_hand(block, x, plain)).abs().max().item() < 1e-10
    assert block.up1.in_channels == (64 if plain else 128)


def test_loss_schedule_alternates_with_its_period() -> None:
    schedule = LossSchedule(l1_epochs=3, period=2)
    kinds = [schedule.loss_kind(e) for e in range(11)]
    assert kinds == ["l1", "l1", "l1", "l2", "l2", "l1", "l1", "l2", "l2", "l1", "l1"]
    assert [LossSchedule(0, 1).loss_kind(e) for e in range(4)] == ["l2", "l1", "l2", "l1"]


def test_curriculum_stage_boundaries() -> None:
    curriculum = Curriculum(stage_epochs=[2, 3])
    assert [curriculum.stage(e, 3)[0] for e in range(8)] == [0, 0, 1, 1, 1, 2, 2, 2]
    assert [curriculum.stage(e, 2)[0] for e in range(4)] == [0, 0, 1, 1]  # an x4 model has two stages
    assert curriculum.stage(3, 3) == (1, 2)


class _Recorder(L.Callback):
    def __init__(self) -> None:
        self.epochs: dict[int, dict] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        record = self.epochs.setdefault(trainer.current_epoch, {"blend": []})
        record["blend"].append(round(pl_module.net.blend, 3))
        record.update(levels=pl_module.net.active_levels, loss=pl_module.loss_kind,
                      trainable=all(p.requires_grad for p in pl_module.parameters()))

    def on_validation_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        if not trainer.sanity_checking:
            self.epochs.setdefault(trainer.current_epoch, {})["val_scale"] = trainer.datamodule.val_sets[0].scale



def test_curriculum_and_loss_schedule_in_training_and_resume(tmp_path: Path) -> None:
    train = str(write_images(tmp_path / "train", size=72, blur=2))
    val = str(write_images(tmp_path / "val", size=72, blur=2))

    def data() -> SRDataModule:
        return SRDataModule(train=[train], val=[val], scale=8, patch_size=32, batch_size=2, samples_per_epoch=4,
                            num_workers=0, root=str(tmp_path / "root"))

    def model() -> CSRCNN:
        return CSRCNN(scale=8, blocks_per_level=[1, 1, 1], stage_epochs=[1, 2], blend_epochs=1, l1_epochs=2,
                      loss_period=1, optimizer="adam", lr=1e-4)

    recorder = _Recorder()
    trainer = L.Trainer(accelerator="cpu", max_epochs=2, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, callbacks=[recorder])
    trainer.fit(model(), datamodule=data())
    assert recorder.epochs[0] == {"blend": [1.0, 1.0], "levels": 1, "loss": "l1", "trainable": True, "val_scale": 2}
    # Stage 2 starts at epoch 1: x4, the new level blended in linearly over its first epoch.
    assert recorder.epochs[1] == {"blend": [0.0, 0.5], "levels": 2, "loss": "l1", "trainable": True, "val_scale": 4}

    # Resume mid-stage (after epoch 1): epoch 2 is still the x4 stage, fully blended; L2 from epoch 2.
    recorder = _Recorder()
    resumed = L.Trainer(accelerator="cpu", max_epochs=4, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, callbacks=[recorder])
    ckpt = next((tmp_path / "checkpoints").glob("epoch=1-*.ckpt"))
    resumed.fit(model(), datamodule=data(), ckpt_path=str(ckpt))
    assert recorder.epochs[2] == {"blend": [1.0, 1.0], "levels": 2, "loss": "l2", "trainable": True, "val_scale": 4}
    assert recorder.epochs[3] == {"blend": [0.0, 0.5], "levels": 3, "loss": "l1", "trainable": True, "val_scale": 8}


def test_stage_target_is_the_hr_reduced_to_the_stage_factor() -> None:
    from sr_zoo.ops import imresize

    model = CSRCNN(scale=8, blocks_per_level=[1, 1, 1])
    model.net.active_levels = 1
    captured = {}
    model.log = lambda *a, **k: None

    def forward(lr: torch.Tensor) -> torch.Tensor:  # a x2 output of zeros, kept
        return captured.setdefault("sr", torch.zeros(lr.shape[0], 3, lr.shape[-2] * 2, lr.shape[-1] * 2))

    model.net.forward = forward
    hr = torch.rand(1, 3, 64, 64)
    loss = model.training_step({"lr": imresize(hr, scale=1 / 8), "hr": hr}, 0)["loss"]
    target = imresize(hr, size=(16, 16)).clamp(0, 1)
    assert loss.item() == pytest.approx(target.abs().mean().item(), abs=1e-6)  # L1 against the x2 target


def test_level_outputs_and_the_eq8_loss_over_every_level() -> None:
    """III-A (loss at the end only, the default) against eq. 8 (summed over the levels), by hand."""
    from sr_zoo.ops import imresize

    torch.manual_seed(0)
    hr = torch.rand(2, 3, 64, 32)
    lr = imresize(hr, scale=1 / 8)  # 8x4: a multiple of 4, so no padding inside
    batch = {"lr": lr, "hr": hr}
    top, every = (CSRCNN(scale=8, blocks_per_level=[1, 1, 1], level_loss=kind) for kind in ("top", "all"))
    every.load_state_dict(top.state_dict())
    for model in (top, every):
        model.log = lambda *a, **k: None
    with torch.no_grad():
        levels = top.net.forward_levels(lr)
        assert [out.shape[-2:] for out in levels] == [(16, 8), (32, 16), (64, 32)]
        assert torch.equal(levels[-1], top.net(lr))
        # Each level's output is its own RGB convolution, computed independently here.
        x = top.net.head(lr)
        for index, level in enumerate(top.net.levels):
            x = level(x)
            assert torch.allclose(levels[index], level.to_rgb(x), atol=1e-6)
        targets = [imresize(hr, size=(16, 8)).clamp(0, 1), imresize(hr, size=(32, 16)).clamp(0, 1), hr]
        per_level = [(out - target).abs().mean().item() for out, target in zip(levels, targets)]
        # At the full scale the step also returns the final output's L1, whichever loss trains.
        out = top.training_step(batch, 0)
        assert out["loss"].item() == pytest.approx(per_level[2], rel=1e-6)
        assert out["final_l1"].item() == pytest.approx(per_level[2], rel=1e-6)
        assert every.training_step(batch, 0)["loss"].item() == pytest.approx(sum(per_level), rel=1e-6)
        every.loss_kind = "l2"
        assert every.training_step(batch, 0)["final_l1"].item() == pytest.approx(per_level[2], rel=1e-6)
        assert every.training_step(batch, 0)["loss"].item() == pytest.approx(
            sum(((out - t) ** 2).mean().item() for out, t in zip(levels, targets)), rel=1e-6)
    # Only eq. 8 trains the lower levels' RGB convolutions.
    for model in (top, every):
        model.training_step(batch, 0)["loss"].backward()
    assert top.net.levels[0].to_rgb.weight.grad is None
    assert every.net.levels[0].to_rgb.weight.grad.abs().sum() > 0
    # Inside the curriculum's blend, eq. 8 covers the active levels only, the top one blended.
    every.net.active_levels, every.net.blend = 2, 0.25
    with torch.no_grad():
        blended = every.net.forward_levels(lr)
        assert len(blended) == 2 and torch.equal(blended[-1], every.net(lr))
        doubled = F.interpolate(blended[0], scale_factor=2, mode="bilinear", align_corners=False)
        assert torch.allclose(blended[1], 0.25 * every.net.levels[1].to_rgb(every.net.levels[1](every.net.levels[0](
            every.net.head(lr)))) + 0.75 * doubled, atol=1e-6)


def test_overfits_a_fixed_batch_at_x8() -> None:
    torch.manual_seed(0)
    from sr_zoo.ops import imresize

    hr = imresize(torch.rand(2, 3, 5, 5), size=(32, 32)).clamp(0, 1)
    batch = {"hr": hr, "lr": imresize(hr, scale=1 / 8)}
    model = create_model("csrcnn", 8, optimizer="adam", lr=1e-3)
    model.log = lambda *a, **k: None
    optimizer = model.configure_optimizers()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = model.training_step(batch, 0)["loss"]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 4, (losses[0], losses[-1])


class _FinalL1(L.Callback):
    def __init__(self) -> None:
        self.values: list[float | None] = []
        self.rates: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        value = trainer.callback_metrics.get("train/final_l1")
        self.values.append(None if value is None else float(value))
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_steady_state_decays_then_stops_on_the_full_scale_l1(tmp_path: Path) -> None:
    """The recipes' budget (IV-B "steady state"): the rate halves when the full-scale L1 stops improving,
    then the run stops; the L1 only exists once the curriculum has reached the full scale."""
    from sr_zoo.training.schedules import SteadyStateStop

    train = str(write_images(tmp_path / "train", size=72, blur=2))
    data = SRDataModule(train=[train], val=[train], scale=4, patch_size=16, batch_size=2, samples_per_epoch=4,
                        num_workers=0, root=str(tmp_path / "root"), seed=0)
    torch.manual_seed(0)
    # A rate so small that the weights do not move: the epochs' L1 differ by their random patches only,
    # so some epochs do not improve; L2 and L1 alternate, and the watched L1 ignores which one trains.
    model = CSRCNN(scale=4, blocks_per_level=[1, 1], stage_epochs=[1], blend_epochs=1, l1_epochs=1, loss_period=1,
                   optimizer="sgd", lr=1e-12)
    watch = _FinalL1()
    stop = SteadyStateStop(patience=1, min_improvement=1e-3, monitor="final_l1", lr_decays=2, lr_factor=0.5)
    trainer = L.Trainer(accelerator="cpu", max_epochs=30, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path,
                        limit_val_batches=0, callbacks=[watch, stop])
    trainer.fit(model, datamodule=data)
    # Epoch 0 trains x2 and epoch 1 blends x4 in: no full-scale L1, the rate is untouched.
    assert watch.values[:2] == [None, None] and watch.rates[:2] == [1e-12, 1e-12]
    # Replay the rule on the logged epoch means: a third non-improving epoch ends the run.
    best, rate, decays, expected, stopped_after = float("inf"), 1e-12, 0, [], None
    for epoch, value in enumerate(watch.values[2:], start=2):
        expected.append(rate)
        if value < best * (1 - 1e-3):
            best = value
        elif decays < 2:
            rate, decays = rate * 0.5, decays + 1
        else:
            stopped_after = epoch
            break
    assert stopped_after is not None and len(watch.values) == stopped_after + 1 < 30
    assert watch.rates[2:] == pytest.approx(expected, rel=1e-9)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.25e-12, rel=1e-9)
    assert stop.plateau.best == pytest.approx(best, rel=1e-6)
