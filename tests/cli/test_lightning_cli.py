"""``sr-zoo fit/validate/test/predict`` through LightningCLI, ``sr-zoo models``, and their errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.paths import REPO
from helpers.small_models import LIGHT
from sr_zoo.cli import main
from sr_zoo.cli.lightning import translate_args
from sr_zoo.data import read_image
from sr_zoo.models import model_info
from sr_zoo.ops import imresize


def _common(tmp_path: Path) -> list[str]:
    return [f"--data.root={tmp_path / 'data'}", "--data.num_workers=0", f"--trainer.default_root_dir={tmp_path}",
            "--trainer.logger=false", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


@pytest.mark.parametrize("name,scale", [(name, model_info(name).small[0]) for name in LIGHT])
def test_fast_dev_run_on_a_fresh_install(name: str, scale: int, tmp_path: Path) -> None:
    argv = ["fit", "--model", name, "--scale", str(scale), "--trainer.fast_dev_run=true", *_common(tmp_path)]
    assert main(argv) == 0


def test_translate_args() -> None:
    assert translate_args(["fit", "--model", "emtcm", "--scale=3", "--trainer.max_epochs=1"]) == [
        "fit", "--model=sr_zoo.models.EMTCM", "--data.scale=3", "--trainer.max_epochs=1"
    ]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["fit", "--model", "edsr"],
         "unknown model 'edsr'; available: bicubic, csrcnn, emtcm, fsrcnn, msfmgan, srcnn, srgan, srresnet, srseg"),
        (["fit", "--model", "emtcm", "--scale", "8"], "model 'emtcm' cannot do scale 8; allowed scales: 2, 3, 4"),
        (["fit", "--model", "emtcm", "--scale", "x"], "--scale: expected an integer, got 'x'"),
    ],
)
def test_bad_model_or_scale_is_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"sr-zoo: error: {message}"


def test_print_config_of_a_recipe() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sr_zoo", "fit", "--config", "experiments/emtcm_x3.yaml", "--scale", "2",
         "--print_config"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "class_path: sr_zoo.models.EMTCM" in out or "class_path: sr_zoo.models.emtcm.EMTCM" in out
    assert "scale: 2" in out and "recipe: emtcm" in out and "TwoStepDataSchedule" in out


@pytest.mark.parametrize("recipe", sorted(
    [p.name for p in (REPO / "experiments").glob("*.yaml")]
    + [f"../benchmarks/configs/{p.name}" for p in (REPO / "benchmarks" / "configs").glob("*.yaml")]))
def test_every_recipe_parses(recipe: str) -> None:
    from sr_zoo.cli.lightning import SRZooCLI
    from sr_zoo.data import SRDataModule
    from sr_zoo.models import SRModule

    cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, run=False, auto_configure_optimizers=False,
                   args=["--config", str(REPO / "experiments" / recipe), "--trainer.logger=false"])
    assert cli.model.scale == cli.datamodule.scale


def test_the_fsrcnn_plateau_overlay_parses_on_its_base() -> None:
    """benchmarks/configs/overlays/fsrcnn_x3_plateau.yaml after fsrcnn_x3_cpu_long.yaml (how its run was made):
    General-100 validation, ValidationPlateau and StepDecay, the base's model and data."""
    from sr_zoo.cli.lightning import SRZooCLI
    from sr_zoo.data import SRDataModule
    from sr_zoo.models import SRModule
    from sr_zoo.training.schedules import StepDecay, ValidationPlateau

    configs = REPO / "benchmarks" / "configs"
    cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, run=False, auto_configure_optimizers=False,
                   args=["--config", str(configs / "fsrcnn_x3_cpu_long.yaml"),
                         "--config", str(configs / "overlays" / "fsrcnn_x3_plateau.yaml")])
    assert cli.datamodule.val_sources == ["general100"] and cli.trainer.max_steps == 400_000
    kinds = {type(c) for c in cli.trainer.callbacks}
    assert {StepDecay, ValidationPlateau} <= kinds


@pytest.mark.parametrize("scale,table6", [(2, 1_549_000), (4, 3_059_000), (8, 4_568_000)])
def test_csrcnn_table6_overlay_builds_the_network_table_vi_counts(scale: int, table6: int) -> None:
    """experiments/overlays/csrcnn_table6.yaml after csrcnn_x<scale>.yaml: within 0.2% of Table VI."""
    from sr_zoo.cli.lightning import SRZooCLI
    from sr_zoo.data import SRDataModule
    from sr_zoo.models import SRModule

    recipe = REPO / "experiments" / f"csrcnn_x{scale}.yaml"
    counts = {}
    overlay = REPO / "experiments" / "overlays" / "csrcnn_table6.yaml"
    for name, extra in (("text", []), ("table6", ["--config", str(overlay)])):
        cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, run=False, auto_configure_optimizers=False,
                       args=["--config", str(recipe), *extra, "--trainer.logger=false"])
        counts[name] = sum(p.numel() for p in cli.model.net.parameters())
        assert cli.model.scale == scale
    assert abs(counts["table6"] - table6) / table6 < 0.002
    assert counts["text"] == {2: 1_964_611, 4: 3_402_310, 8: 4_368_201}[scale]  # 6/4/2 (sr-zoo models)


def test_models_lists_every_model_with_counts(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    first_table = lines[: next(i for i, line in enumerate(lines) if line.startswith("weights:"))]
    rows = {line.split()[0]: " ".join(line.split()) for line in first_table}
    # name, scales, the scales with weights (the package's manifest), parameters of the inference network
    for name, start in [("emtcm", "emtcm 2 3 4 x2 x3 x4 x2: 19,409, x3: 19,409, x4: 19,409"),
                        ("fsrcnn", "fsrcnn 2 3 4 x2 x3 x4 x2: 12,809"), ("srcnn", "srcnn 2 3 4 x2 x3 x4 x2: 8,129"),
                        ("bicubic", "bicubic any none needed x2: 0"),
                        # GANs: the generator only (SRSEG's inference network is SRResNet's).
                        ("srresnet", "srresnet 2 4 8 - x2: 1,512,131, x4: 1,659,843"),
                        ("srseg", "srseg 2 4 8 - x2: 1,512,131, x4: 1,659,843"),
                        ("srgan", "srgan 2 4 8 - x2: 1,512,131")]:
        assert rows[name].startswith(start), rows[name]


def test_predict_writes_upscaled_images(tmp_path: Path) -> None:
    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    cv2.imwrite(str(lr_dir / "a.png"), np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8))
    out = tmp_path / "sr"
    argv = ["predict", "--model", "bicubic", "--scale", "2", f"--data.predict=[{lr_dir}]", *_common(tmp_path),
            "--trainer.callbacks+=sr_zoo.inference.SRPredictionWriter", f"--trainer.callbacks.output_dir={out}"]
    assert main(argv) == 0
    sr = read_image(out / "a.png")
    expected = imresize(read_image(lr_dir / "a.png")[None], scale=2)[0].clamp(0, 1)
    assert sr.shape == (3, 20, 24)
    assert (sr - expected).abs().max() <= 0.5 / 255 + 1e-6


def test_validate_logs_per_set_metrics(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["validate", "--model", "bicubic", "--scale", "2", "--data.val=[demo]", *_common(tmp_path)]
    assert main(argv) == 0
    assert "val/demo/psnr" in capsys.readouterr().out


@pytest.mark.parametrize("trainer", sorted(p.name for p in (REPO / "experiments" / "trainer").glob("*.yaml")))
def test_every_trainer_config_composes_with_a_recipe(trainer: str) -> None:
    """Each experiments/trainer/*.yaml parses after a recipe (instantiated on this CPU: accelerator overridden)."""
    from sr_zoo.cli.lightning import SRZooCLI
    from sr_zoo.data import SRDataModule
    from sr_zoo.models import SRModule

    cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, run=False, auto_configure_optimizers=False,
                   args=["--config", str(REPO / "experiments" / "msfmgan_x4.yaml"),
                         "--config", str(REPO / "experiments" / "trainer" / trainer),
                         "--trainer.logger=false", "--trainer.accelerator=cpu", "--trainer.devices=1"])
    assert cli.model.scale == 4
    config = cli.config.as_dict()["trainer"]
    expected = {"bf16.yaml": ("precision", "bf16-mixed"), "fp16.yaml": ("precision", "16-mixed"),
                "ddp_gpus.yaml": ("strategy", "ddp_find_unused_parameters_true"),
                "ddp_multinode.yaml": ("num_nodes", 2)}[trainer]
    assert config[expected[0]] == expected[1]


def test_the_zoos_warnings_print_as_one_line_and_others_as_python_prints_them() -> None:
    """``quiet_known_noise``'s format: a warning raised in sr_zoo's code is one ``sr_zoo: warning:`` line (no
    source line under it); another package's keeps Python's format."""
    import os

    from sr_zoo.cli.lightning import _zoo_warning_line

    zoo = os.path.join("site-packages", "sr_zoo", "data", "patches.py")
    assert _zoo_warning_line(UserWarning("skipped 4 image version(s)"), UserWarning, zoo, 9) == \
        "sr_zoo: warning: skipped 4 image version(s)\n"
    other = _zoo_warning_line(UserWarning("x"), UserWarning, "/lib/other/mod.py", 3, "y = 1")
    assert other.startswith("/lib/other/mod.py:3: UserWarning: x")
