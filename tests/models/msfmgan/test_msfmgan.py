"""The MSFM GAN and the shared adversarial machinery (MSFM GAN paper, Sec. 3-4.1)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.gan_helpers import GradNormProbe, digest, loader, textures, tiny_extractor, tiny_gan, trainer
from helpers.paths import REPO
from sr_zoo.losses import AdversarialLoss, PerceptualLoss
from sr_zoo.models import MSFMGAN, create_model
from sr_zoo.models.msfmgan import MSFMGenerator, PatchDiscriminator
from sr_zoo.ops import imresize


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(16, 16), (15, 11)])
def test_generator_upscales_any_size(scale: int, size: tuple[int, int]) -> None:
    g = MSFMGenerator(scale, widths=(8, 16, 32))
    out = g(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)


def test_generator_layers_as_section_3_1() -> None:
    g = MSFMGenerator(4)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    # 7 encoder + 6 MSFM sub-pixel + 2 decoder sub-pixel + 7 decoder convolutions; no batch norm.
    assert len(convs) == 22
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules())
    assert [c.kernel_size for c in g.enc_full] == [(5, 5), (3, 3)] and g.last.kernel_size == (5, 5)
    # Widths double after each max-pool (3.1.1).
    assert [c.out_channels for c in [*g.enc_full, *g.enc_half, *g.enc_quarter]] == [64, 64, 128, 128, 256, 256, 256]
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in g.modules()) == 8


def test_global_residual_adds_the_bicubic_input() -> None:
    torch.manual_seed(0)
    g = MSFMGenerator(2, widths=(8, 16, 32), global_residual=True)
    for p in g.last.parameters():
        torch.nn.init.zeros_(p)
    lr = torch.rand(1, 3, 8, 8)
    assert torch.allclose(g(lr), imresize(lr, scale=2), atol=1e-6)


def test_patch_discriminator_shape_as_section_3_2() -> None:
    d = PatchDiscriminator()
    first = d.body[0]
    assert first.kernel_size == (5, 5) and first.stride == (2, 2)
    others = [m for m in d.body if isinstance(m, torch.nn.Conv2d)][1:]
    assert all(m.kernel_size == (3, 3) and m.stride == (1, 1) for m in others)
    assert d(torch.rand(2, 3, 128, 128)).shape == (2, 1, 16, 16)  # /2 stride, /2 /2 pools: a logit per patch


# ------------------------------------------------------------------ losses
def test_adversarial_losses_by_hand() -> None:
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 1.0]]]])
    p = torch.sigmoid(logits).flatten()
    bce = AdversarialLoss("bce", "mean_probability")
    assert bce.generator(logits).item() == pytest.approx(-math.log(p.mean().item()), abs=1e-6)  # eq. 5
    assert bce.discriminator(logits, logits).item() == pytest.approx(
        -math.log(p.mean().item()) - math.log(1 - p.mean().item()), abs=1e-6)
    per_patch = AdversarialLoss("bce", "per_patch")
    assert per_patch.generator(logits).item() == pytest.approx(-torch.log(p).mean().item(), abs=1e-6)
    ls = AdversarialLoss("lsgan", "per_patch")
    assert ls.discriminator(logits, logits).item() == pytest.approx(
        ((logits - 1) ** 2).mean().item() + (logits**2).mean().item(), abs=1e-6)
    # Stable where sigmoid saturates.
    assert torch.isfinite(bce.generator(torch.full((1, 1, 2, 2), -200.0)))


def test_perceptual_loss_normalises_and_compares_features() -> None:
    extractor = tiny_extractor()
    loss = PerceptualLoss(extractor=extractor)
    sr, hr = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = F.mse_loss(extractor((sr - mean) / std), extractor((hr - mean) / std))
    assert loss(sr, hr).item() == pytest.approx(expected.item(), rel=1e-6)
    assert list(loss.state_dict()) == []  # the extractor never enters a checkpoint


def test_model_checkpoint_holds_no_perceptual_network() -> None:
    model = tiny_gan()
    assert not [k for k in model.state_dict() if "perceptual" in k or "extractor" in k]
    assert {k.split(".")[0] for k in model.state_dict()} == {"net", "discriminator"}


# ------------------------------------------------------------------ learning
def test_discriminator_alone_separates_real_from_blurred() -> None:
    torch.manual_seed(0)
    real = textures(8, 32, seed=1)
    fake = imresize(imresize(real, scale=0.25), scale=4).clamp(0, 1)  # the blurred versions
    d = PatchDiscriminator((8, 16, 16, 16))
    loss_fn = AdversarialLoss()
    opt = torch.optim.Adam(d.parameters(), lr=1e-3)
    for _ in range(150):
        opt.zero_grad()
        loss_fn.discriminator(d(real), d(fake)).backward()
        opt.step()
    d.eval()  # scored with the running batch-norm statistics, as at inference
    with torch.no_grad():
        p_real = torch.sigmoid(d(real)).flatten(1).mean(1)
        p_fake = torch.sigmoid(d(fake)).flatten(1).mean(1)
    # Every image classified right at 0.5, with a wide margin (untrained: both near 0.5).
    assert (p_real > 0.5).all() and (p_fake < 0.5).all(), (p_real, p_fake)
    assert p_real.min() - p_fake.max() > 0.5, (p_real, p_fake)


def test_generator_overfits_a_fixed_batch_in_the_mse_stage() -> None:
    torch.manual_seed(0)
    hr = textures(4, 32, seed=2)
    model = tiny_gan(pretrain_iterations=10_000, lr=2e-3, global_residual=True)
    bicubic = F.mse_loss(imresize(imresize(hr, scale=0.5), scale=2).clamp(0, 1), hr).item()
    trainer(max_epochs=1).fit(model, train_dataloaders=loader(hr, 2, 150))
    with torch.no_grad():
        mse = F.mse_loss(model(imresize(hr, scale=0.5).clamp(0, 1)), hr).item()
    assert model.phase == "pretrain"
    assert mse < 0.5 * bicubic, (mse, bicubic)


class _Hashing(MSFMGAN):
    """Records which networks changed across each optimizer step."""

    def _discriminator_step(self, opt_d, fake, real, size):  # noqa: ANN001
        before = (digest(self.net), digest(self.discriminator))
        super()._discriminator_step(opt_d, fake, real, size)
        self.changes.append(("D", digest(self.net) != before[0], digest(self.discriminator) != before[1]))

    def _generator_step(self, opt_g, sr, batch, size):  # noqa: ANN001
        before = (digest(self.net), digest(self.discriminator))
        super()._generator_step(opt_g, sr, batch, size)
        self.changes.append(("G", digest(self.net) != before[0], digest(self.discriminator) != before[1]))


def test_only_d_changes_on_d_steps_and_only_g_on_g_steps() -> None:
    torch.manual_seed(0)
    from helpers.gan_helpers import tiny_extractor as te

    model = _Hashing(scale=2, widths=[8, 16, 32], d_widths=[8, 16, 16, 16], lr_decay_every=0,
                     perceptual_extractor=te(), pretrain_iterations=1, d_warmup_iterations=1, d_steps=2)
    model.changes = []
    trainer(max_epochs=1).fit(model, train_dataloaders=loader(textures(2, 32), 2, 4))
    # pretrain: G; warm-up: D, D; adversarial: D, D, G (twice).
    assert [c[0] for c in model.changes] == ["G", "D", "D", "D", "D", "G", "D", "D", "G"]
    for kind, g_changed, d_changed in model.changes:
        assert (g_changed, d_changed) == ((True, False) if kind == "G" else (False, True)), model.changes


def test_schedulers_advance_once_per_iteration_and_global_step_counts_optimizer_steps() -> None:
    torch.manual_seed(0)
    model = tiny_gan(pretrain_iterations=2, d_warmup_iterations=1, d_steps=2, lr=1e-3, lr_decay_every=2, lr_decay=0.5)
    t = trainer(max_epochs=1)
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 7))
    # 7 iterations: the rate halves after iterations 2, 4 and 6, for both sides.
    for optimizer in t.optimizers:
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**3)
    assert [s.scheduler.last_epoch for s in t.lr_scheduler_configs] == [7, 7]
    # global_step: 2 pretrain steps + 1 warm-up batch x 2 D steps + 4 adversarial batches x (2 + 1).
    assert t.global_step == model.optimizer_steps(7) == 2 + 2 + 4 * 3
    # max_steps counts the same optimizer steps: it stops after 5 iterations here.
    model = tiny_gan(pretrain_iterations=2, d_warmup_iterations=1, d_steps=2)
    t = trainer(max_steps=model.optimizer_steps(5))
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 7))
    assert t.fit_loop.total_batch_idx + 1 == 5


def test_fit_runs_in_bf16_mixed_on_cpu() -> None:
    torch.manual_seed(0)
    model = tiny_gan(pretrain_iterations=1)
    t = trainer(max_epochs=1, precision="bf16-mixed")
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 3))
    metrics = t.callback_metrics
    terms = ("train/loss", "train/d_loss", "train/adversarial", "train/perceptual")
    assert all(torch.isfinite(metrics[k]) for k in terms)


def _fp16_autocast_missing(model: MSFMGAN, hr: torch.Tensor) -> str | None:
    """Why this CPU build cannot run ``model``'s training step in fp16 autocast (a missing Half kernel),
    or None if it can: a forward and backward pass through generator, discriminator and perceptual loss,
    on a copy, before any ``fit``."""
    probe = copy.deepcopy(model)
    lr = imresize(hr, scale=1 / model.scale).clamp(0, 1)
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            sr = probe.net(lr)
            loss = probe.discriminator(sr).float().mean() + F.mse_loss(sr.float(), hr)
            if probe.perceptual is not None:
                loss = loss + probe.perceptual(sr, hr).float()
        loss.backward()
    except RuntimeError as exc:
        return str(exc).splitlines()[0]
    return None


def test_clipping_acts_on_unscaled_gradients_under_fp16_loss_scaling() -> None:
    """With a GradScaler at scale 2^10 the clipped gradient norm is the threshold itself (not 2^-10 of it).

    The GAN trains by manual optimization, where Lightning refuses ``Trainer(gradient_clip_val)``: the
    model clips itself (``gradient_clip``). Whether fp16 autocast runs on this CPU is asked before ``fit``
    (a skip says which kernel is missing); ``fit`` itself must then succeed."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.plugins.precision import MixedPrecision

    torch.manual_seed(0)
    model = GradNormProbe(scale=2, widths=[8, 16, 32], d_widths=[8, 16, 16, 16], lr_decay_every=0,
                          perceptual_extractor=tiny_extractor(), gradient_clip=1e-3)
    assert model.automatic_optimization is False
    with pytest.raises(MisconfigurationException, match="gradient clipping is not supported for manual optimization"):
        trainer(max_steps=1, gradient_clip_val=1e-3).fit(tiny_gan(), train_dataloaders=loader(textures(2, 32), 2, 1))

    hr = textures(2, 32)
    missing = _fp16_autocast_missing(model, hr)
    if missing is not None:
        pytest.skip(f"fp16 autocast on CPU not available in this torch build: {missing}")
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    trainer(max_epochs=1, plugins=[MixedPrecision("16-mixed", "cpu", scaler=scaler)]).fit(
        model, train_dataloaders=loader(hr, 2, 2))
    norms = model.grad_norms
    finite = [n for n in norms if math.isfinite(n)]
    assert finite and all(n == pytest.approx(1e-3, rel=1e-2) for n in finite), norms


def test_registry_and_checkpoint_round_trip(tmp_path) -> None:  # noqa: ANN001
    model = tiny_gan()
    t = trainer(max_epochs=1, default_root_dir=tmp_path)
    t.fit(model, train_dataloaders=loader(textures(2, 32), 2, 1))
    t.save_checkpoint(tmp_path / "m.ckpt")
    rebuilt = create_model("msfmgan", 2, checkpoint=tmp_path / "m.ckpt", perceptual_extractor=tiny_extractor())
    lr = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(lr), model.eval()(lr))


# ------------------------------------------------------------------ command line and recipes
def _fit(tmp_path, *extra: str) -> list[str]:  # noqa: ANN001
    return ["fit", "--model", "msfmgan", "--scale", "4", "--trainer.fast_dev_run=true",
            f"--data.root={tmp_path / 'data'}", "--data.num_workers=0", "--data.patch_size=32",
            f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--model.init_args.widths=[8, 16, 32]",
            "--model.init_args.d_widths=[8, 16, 16, 16]", *extra]


def test_fit_without_vgg_weights_offline_is_one_line_before_training(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    from sr_zoo.cli import main

    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert main(_fit(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    weights = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    assert err.startswith(f"sr-zoo: error: {weights}: VGG16 ImageNet weights")


def test_fit_fast_dev_run_without_the_perceptual_term(tmp_path) -> None:  # noqa: ANN001
    from sr_zoo.cli import main

    assert main(_fit(tmp_path, "--model.init_args.perceptual_weight=0")) == 0


def test_recipes_follow_section_4_1() -> None:
    import yaml

    gan = yaml.safe_load((REPO / "experiments" / "msfmgan_x4.yaml").read_text())
    args = gan["model"]["init_args"]
    model = tiny_gan(pretrain_iterations=args["pretrain_iterations"])
    assert gan["trainer"]["max_steps"] == model.optimizer_steps(args["pretrain_iterations"] + 200_000)
    data = gan["data"]
    assert (data["batch_size"], data["crops_per_image"], data["recipe"]) == (128, 16, "msfmgan")
    assert (args["lr"], args["lr_decay_every"], args["lr_decay"]) == (1e-4, 20_000, 0.8)
    assert (args["perceptual_weight"], args["adversarial_weight"], args["perceptual_layer"]) == (0.1, 1e-3, "relu4_3")
    for scale in (2, 3, 4):
        mse = yaml.safe_load((REPO / "experiments" / f"msfmgan_mse_x{scale}.yaml").read_text())
        # MSE for the whole run: 200k iterations, one optimizer step each.
        assert mse["model"]["init_args"]["pretrain_iterations"] == mse["trainer"]["max_steps"] == 200_000
        assert mse["data"]["scale"] == scale and mse["data"]["patch_size"] % scale == 0


def test_init_from_starts_a_new_run_from_another_generator(tmp_path) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    first = tiny_gan(pretrain_iterations=100)
    t = trainer(max_epochs=1, default_root_dir=tmp_path)
    t.fit(first, train_dataloaders=loader(textures(2, 32), 2, 2))
    with torch.no_grad():  # mark the saved discriminator: it must not be loaded
        for p in first.discriminator.parameters():
            p.add_(1.0)
    t.save_checkpoint(tmp_path / "mse.ckpt")
    torch.manual_seed(1)
    second = tiny_gan(init_from=str(tmp_path / "mse.ckpt"))
    assert digest(second.net) != digest(first.net)
    trainer(max_steps=0).fit(second, train_dataloaders=loader(textures(2, 32), 2, 1))
    assert digest(second.net) == digest(first.net)  # loaded at fit start, before any step
    assert digest(second.discriminator) != digest(first.discriminator)  # the generator only
    other = tiny_gan(init_from=str(tmp_path / "mse.ckpt"))
    other.model_name = "srgan"
    with pytest.raises(Exception, match="init_from needs a checkpoint of 'srgan', not of 'msfmgan'"):
        trainer(max_steps=0).fit(other, train_dataloaders=loader(textures(2, 32), 2, 1))
