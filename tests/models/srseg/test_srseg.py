"""SRSEG and the SRResNet/SRGAN it extends (SRSEG paper, Sec. 3.1-3.5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.gan_helpers import tiny_extractor, trainer
from helpers.srseg_data import coco_stuff_standin, region_image
from sr_zoo.data import SRDataModule
from sr_zoo.models import SRSEG, SRResNet, create_model
from sr_zoo.models.srseg.loss import masked_cross_entropy
from sr_zoo.models.srseg.srgan import SRGANDiscriminator, SRResNetGenerator


def _tiny(cls=SRSEG, **kwargs):  # noqa: ANN001, ANN202
    defaults = dict(scale=4, n=16, blocks=2, patch_size=32, perceptual_extractor=tiny_extractor())
    if cls is SRResNet:
        defaults.pop("patch_size"), defaults.pop("perceptual_extractor")
    return cls(**{**defaults, **kwargs})


# ------------------------------------------------------------------ networks
def test_generator_follows_section_3_1() -> None:
    g = SRResNetGenerator(4)
    assert len(g.body) == 16 and len(g.upsample) == 2  # x4: two x2 stages
    assert len(SRResNetGenerator(8).upsample) == 3 and len(SRResNetGenerator(2).upsample) == 1
    block = g.body[0].body
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "LeakyReLU"] * 2
    assert all(m.out_channels == 64 and m.kernel_size == (3, 3) for m in block if isinstance(m, torch.nn.Conv2d))
    lr = torch.rand(2, 3, 10, 12)
    assert g.features(lr).shape == (2, 128, 10, 12)  # last block concatenated with the first conv's features
    assert g(lr).shape == (2, 3, 40, 48)
    with pytest.raises(ValueError, match="powers of 2"):
        SRResNetGenerator(3)


def test_discriminator_as_srgan_at_the_patch_size() -> None:
    d = SRGANDiscriminator(82)
    convs = [m for m in d.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert [m.out_features for m in d.classifier if isinstance(m, torch.nn.Linear)] == [1024, 1]
    assert d(torch.rand(2, 3, 82, 82)).shape == (2, 1)
    with pytest.raises(ValueError, match="takes 82x82 HR patches"):
        d(torch.rand(1, 3, 96, 96))


def test_inference_network_of_srseg_is_srresnet() -> None:
    torch.manual_seed(0)
    srseg, srresnet = create_model("srseg", 4), create_model("srresnet", 4)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(srseg.net) == count(srresnet.net) == 1_659_843
    assert not any("seg" in name for name, _ in srseg.net.named_modules())
    srresnet.net.load_state_dict(srseg.net.state_dict())  # same keys, same shapes
    lr = torch.rand(1, 3, 12, 12)
    srseg.eval(), srresnet.eval()
    with torch.no_grad():
        assert torch.equal(srseg(lr), srresnet(lr))
    assert count(srseg.seg_head) > 0 and count(srseg) > count(srseg.net) + count(srseg.discriminator)


# ------------------------------------------------------------------ the boundary-masked cross-entropy
def test_masked_cross_entropy_by_hand() -> None:
    logits = torch.tensor([[[[2.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [3.0, 0.0]]]])  # (1, 2 classes, 2, 2)
    label = torch.tensor([[[0, 1], [255, 0]]])
    mask = torch.tensor([[[True, False], [True, True]]])
    # Counted: (0,0) label 0 and (1,1) label 0; (0,1) masked out, (1,0) unlabeled.
    ce00 = -math.log(math.exp(2) / (math.exp(2) + math.exp(0)))
    ce11 = -math.log(math.exp(1) / (math.exp(1) + math.exp(0)))
    assert masked_cross_entropy(logits, label, mask).item() == pytest.approx((ce00 + ce11) / 2, abs=1e-6)
    # Without a mask the masked-out pixel counts too.
    ce01 = -math.log(math.exp(1) / (math.exp(0) + math.exp(1)))
    assert masked_cross_entropy(logits, label).item() == pytest.approx((ce00 + ce01 + ce11) / 3, abs=1e-6)
    nothing = masked_cross_entropy(logits.requires_grad_(), label, torch.zeros_like(mask))
    assert nothing.item() == 0.0
    nothing.backward()  # still in the graph, with zero gradient
    assert torch.count_nonzero(logits.grad) == 0


def test_segmentation_head_learns_textured_regions() -> None:
    """Regions of six textures as classes: over 90% pixel accuracy on new images after a short CPU run."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [region_image(24, rng) for _ in range(n)]
        images = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).float() / 255
        return images, torch.from_numpy(np.stack([p[1] for p in pairs]))

    model = _tiny()
    params = [*model.net.head.parameters(), *model.net.body.parameters(), *model.seg_head.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    for _ in range(250):
        lr, label = batch(8)
        loss = masked_cross_entropy(model.segment(lr), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    lr, label = batch(16)
    with torch.no_grad():
        accuracy = (model.segment(lr).argmax(1) == label).float().mean().item()
    assert accuracy > 0.9, accuracy


# ------------------------------------------------------------------ the three stages
def _coco(tmp_path: Path) -> SRDataModule:
    coco_stuff_standin(tmp_path / "data", n=4, size=64)
    return SRDataModule(train=["coco-stuff"], val=[], scale=4, recipe="srseg", patch_size=32, batch_size=2,
                        samples_per_epoch=4, num_workers=0, root=str(tmp_path / "data"), seed=0)


@pytest.mark.parametrize("lr_schedule,rates", [
    # one decay over the run: /10 after every epoch, whatever the stage
    ("run", [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]),
    # restarted at each stage (the default, srseg 3.5 read per step): stages start at epochs 0, 1 and 3
    ("stage", [1e-3, 1e-3, 1e-4, 1e-3, 1e-4]),
])
def test_three_stages_at_their_epochs_and_after_resume(tmp_path: Path, lr_schedule: str, rates: list[float]) -> None:
    from lightning.pytorch.callbacks import Callback, ModelCheckpoint

    class Record(Callback):
        def __init__(self) -> None:
            self.rows = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
            logged = set(trainer.callback_metrics)
            self.rows.append((trainer.current_epoch, pl_module.phase, "train/segmentation" in logged,
                              "train/adversarial" in logged, trainer.optimizers[0].param_groups[0]["lr"]))

    def fit(epochs: int, ckpt: str | None = None) -> Record:
        torch.manual_seed(0)
        record = Record()
        model = _tiny(mse_epochs=1, segmentation_epochs=2, lr_decay_every=1, lr_decay=0.1, lr_schedule=lr_schedule)
        saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", filename="{epoch}", save_top_k=-1)
        trainer(max_epochs=epochs, callbacks=[record, saver], enable_checkpointing=True,
                default_root_dir=tmp_path).fit(model, datamodule=_coco(tmp_path), ckpt_path=ckpt)
        return record

    rows = fit(5).rows
    # 2 batches an epoch: epoch 0 MSE, epochs 1-2 + segmentation, then adversarial.
    assert [r[1] for r in rows] == ["pretrain"] * 2 + ["segmentation"] * 4 + ["adversarial"] * 4
    assert [r[2] for r in rows] == [False] * 2 + [True] * 8
    assert [r[3] for r in rows] == [False] * 6 + [True] * 4
    assert [r[4] for r in rows[::2]] == pytest.approx(rates)
    resumed = fit(5, ckpt=str(tmp_path / "ckpt" / "epoch=1.ckpt")).rows  # after epoch 1: inside the segmentation stage
    assert resumed == rows[4:]


# ------------------------------------------------------------------ command line
def _fit_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["fit", "--model", "srseg", "--scale", "4", "--trainer.fast_dev_run=true", "--data.num_workers=0",
            f"--data.root={tmp_path / 'data'}", f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--model.init_args.n=16", "--model.init_args.blocks=2",
            "--model.init_args.mse_epochs=0", "--model.init_args.segmentation_epochs=1", "--data.val=[]", *extra]


def test_fast_dev_run_on_coco_stuff(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from sr_zoo.cli import main

    coco_stuff_standin(tmp_path / "data", n=4, size=96)
    assert main(_fit_args(tmp_path, "--data.train=[coco-stuff]", "--data.recipe=srseg")) == 0
    assert "segmentation term is off" not in caplog.text


def test_fast_dev_run_on_demo_says_the_segmentation_term_is_off_once(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from sr_zoo.cli import main

    assert main(_fit_args(tmp_path, "--data.patch_size=84", "--trainer.fast_dev_run=3")) == 0
    assert caplog.text.count("segmentation term is off") == 1


def test_a_checkpoint_written_with_steplr_resumes(tmp_path: Path) -> None:
    """Checkpoints of the previous layout kept StepLR states; the LambdaLR schedules resume from them."""
    model = _tiny(mse_epochs=1, segmentation_epochs=1, lr_decay_every=1, lr_decay=0.1)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    old = torch.optim.lr_scheduler.StepLR(opt, 1, 0.1)
    for _ in range(2):
        opt.step()
        old.step()
    checkpoint = {"lr_schedulers": [old.state_dict(), old.state_dict()]}
    model.on_load_checkpoint(checkpoint)
    (opt_g, opt_d), schedulers = model.configure_optimizers()
    for scheduler, state in zip(schedulers, checkpoint["lr_schedulers"]):
        scheduler.load_state_dict(state)
        assert scheduler.last_epoch == 2
    schedulers[0].step()  # epoch 3: the adversarial stage, restarted by lr_schedule="stage" at epoch 2
    assert opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.1 ** (3 - 2))


def test_ledigs_srresnet_is_figure_4_of_the_srgan_paper() -> None:
    """``variant="ledig"``: 1,550,659 parameters at x4 with 16 blocks of 64 maps, worked by hand from Fig. 4:
    head conv9 3->64 (15,616) + PReLU(64); 16 x [2 conv3 64->64 (36,928 each), 2 BN (128 each), PReLU(64)];
    conv3 + BN after the blocks (37,056); 2 x [conv3 64->256 (147,712), PReLU(64)]; conv9 64->3 (15,555)."""
    g = SRResNetGenerator(4, variant="ledig")
    per_block = 2 * 36_928 + 2 * 128 + 64
    assert sum(p.numel() for p in g.parameters()) == 15_616 + 64 + 16 * per_block + 37_056 + 2 * (147_712 + 64) + 15_555
    assert g.feature_channels == 64 and g.upsample[0][0].in_channels == 64  # the sum, not a concatenation, upsampled
    assert isinstance(g.head[1], torch.nn.PReLU) and g.head[1].weight.shape == (64,)  # a slope per channel
    block = g.body[0].body
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "PReLU", "Conv2d", "BatchNorm2d"]
    g.eval()
    lr = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        torch.nn.init.zeros_(g.fuse[1].weight)  # the blocks' path silenced: features are the head's alone (long skip)
        torch.nn.init.zeros_(g.fuse[1].bias)
        assert torch.allclose(g.features(lr), g.head(lr))
        torch.nn.init.zeros_(block[4].weight)  # nothing after the second BN: a block can subtract
        torch.nn.init.constant_(block[4].bias, -1.0)
        x = torch.rand(1, 64, 5, 5)
        assert torch.equal(g.body[0](x), x - 1.0)
        assert g(lr).shape == (1, 3, 48, 40)
    srseg = SRResNetGenerator(4)
    assert srseg.fuse is None and srseg.feature_channels == 128  # the SRSEG paper's variant stays the default
    model = create_model("srresnet", 2, n=8, blocks=2, variant="ledig")
    assert model.hparams.variant == "ledig" and model.net.variant == "ledig"
    with pytest.raises(ValueError, match="variant must be 'srseg' or 'ledig'"):
        SRResNetGenerator(4, variant="esrgan")
