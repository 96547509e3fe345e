"""What trains: every trainable parameter is in an optimizer, and every recipe in ``experiments/``, run
through ``sr-zoo fit --config`` as a user runs it, changes exactly the parameters its model declares
for each stage, and the declarations say what the papers say (independent expectations below).

The recipes run with loader workers as they set them, the default W&B logger with no account (no
``WANDB_MODE``, no key, an empty home) and the network blocked; only sizes are overridden (stand-in
data in each source's real layout, batches of 2, a few batches per stage, stage lengths shortened, a
random-weight VGG16 of the real architecture where the ImageNet file cannot be fetched).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from helpers.cli_runner import run_cli
from helpers.paths import EXPERIMENTS, REPO
from sr_zoo.models import create_model, list_models

# YAMLs that are not recipes: how each is covered.
OVERLAYS = {"overlays/csrcnn_table6.yaml": "csrcnn_x2.yaml"}  # run on top of that recipe
TRAINER_CONFIGS = {
    "trainer/bf16.yaml": "fsrcnn_x3.yaml",  # runs on CPU: trained with that recipe
    "trainer/fp16.yaml": None,  # CUDA (16-mixed): parsed with --print_config only
    "trainer/ddp_gpus.yaml": None,
    "trainer/ddp_multinode.yaml": None,
}


# ------------------------------------------------------------------ every model, its optimizers
def _optimizers(model: Any) -> list[torch.optim.Optimizer]:
    configured = model.configure_optimizers()
    if configured is None:
        return []
    if isinstance(configured, torch.optim.Optimizer):
        return [configured]
    if isinstance(configured, dict):
        return [configured["optimizer"]]
    first = configured[0]
    return list(first) if isinstance(first, (list, tuple)) else [first]


@pytest.mark.parametrize("name,kwargs", [(n, {}) for n in list_models()] + [("emtcm", {"finetune": "deconv"})])
def test_every_trainable_parameter_is_in_exactly_one_optimizer(name: str, kwargs: dict) -> None:
    scale = 4 if name != "emtcm" else 3
    model = create_model(name, scale=scale, **kwargs)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    seen: dict[int, int] = {}
    for optimizer in _optimizers(model):
        for group in optimizer.param_groups:
            for p in group["params"]:
                seen[id(p)] = seen.get(id(p), 0) + 1
    by_id = {id(p): n for n, p in model.named_parameters()}
    assert {by_id[i] for i in seen} == trainable  # nothing trainable left out, nothing frozen put in
    assert set(seen.values()) <= {1}  # no tensor in two optimizers or groups
    declared = {n for groups in model.optimizer_parameters().values() for g in groups for n in g["params"]}
    assert declared == trainable
    if name == "srseg":
        assert any(n.startswith("seg_head.") for n in model.optimizer_parameters()["generator"][0]["params"])


# ------------------------------------------------------------------ every recipe, through sr-zoo fit
def _yamls() -> list[str]:
    return sorted(str(p.relative_to(EXPERIMENTS)) for p in EXPERIMENTS.rglob("*.yaml"))


def _recipes() -> list[str]:
    return [y for y in _yamls() if "/" not in y]


def test_every_yaml_in_experiments_is_covered() -> None:
    uncovered = [y for y in _yamls() if "/" in y and y not in OVERLAYS and y not in TRAINER_CONFIGS]
    assert not uncovered, f"add these to the what-trains audit: {uncovered}"
    assert set(OVERLAYS.values()) | {v for v in TRAINER_CONFIGS.values() if v} <= set(_recipes())


def _reached_gan_stages(init: dict, max_steps: int) -> list[str]:
    """The MSFM GAN's stages (in iterations) that a recipe's ``max_steps`` reaches, from the model's own
    accounting of optimizer steps per iteration (1 in pretrain, d_steps in warm-up, d_steps + 1 after)."""
    d_steps = init.get("d_steps", 1)
    stages = [("pretrain", init.get("pretrain_iterations", 0), 1),
              ("d_warmup", init.get("d_warmup_iterations", 0), d_steps), ("adversarial", None, d_steps + 1)]
    reached, steps = [], 0
    for name, length, per in stages:
        if length == 0:
            continue
        if max_steps != -1 and steps >= max_steps:
            break
        reached.append(name)
        steps += (length or 0) * per
    return reached


def _plan(recipe: str, data: Path, run: Path) -> tuple[list[str], list[str]]:
    """The overrides that make ``recipe`` small, and the stages the shortened run must go through."""
    config = yaml.safe_load((EXPERIMENTS / recipe).read_text())
    cls = config["model"]["class_path"].rsplit(".", 1)[-1]
    init = config["model"].get("init_args", {})
    scale = config["data"]["scale"]
    args = [f"--data.root={data}", "--data.batch_size=2", "--data.crops_per_image=1", f"--data.patch_size={12 * scale}",
            "--trainer.limit_val_batches=0", "--trainer.val_check_interval=1.0", "--trainer.enable_progress_bar=false",
            "--trainer.max_steps=-1", "--trainer.log_every_n_steps=1", f"--trainer.default_root_dir={run}"]
    batches, epochs = 3, 1
    if cls in ("SRCNN", "FSRCNN", "EMTCM", "SRResNet"):
        stages = ["train"]
    elif cls == "CSRCNN":
        levels = int(math.log2(scale))
        batches, epochs = 4, levels
        args += [f"--model.init_args.stage_epochs={[1] * (levels - 1)}", "--model.init_args.blend_epochs=0.5"]
        stages = ["x2"] + [s for level in range(2, levels + 1) for s in (f"x{2**level} blend", f"x{2**level}")]
    elif cls in ("SRGAN", "SRSEG"):
        batches = 2
        args += ["--data.patch_size=48", "--model.init_args.patch_size=48", "--model.init_args.mse_epochs=1"]
        stages = ["pretrain", "adversarial"]
        if cls == "SRSEG":
            args.append("--model.init_args.segmentation_epochs=1")
            stages = ["pretrain", "segmentation", "adversarial"]
        epochs = len(stages)
    elif cls == "MSFMGAN":
        batches = 2
        stages = _reached_gan_stages(init, config["trainer"].get("max_steps", -1))
        for key in ("pretrain_iterations", "d_warmup_iterations"):
            if init.get(key):
                args.append(f"--model.init_args.{key}={batches}")
        epochs = len(stages)
    else:
        raise AssertionError(f"{recipe}: model {cls} has no shortening in the what-trains audit; add one")
    args += [f"--data.samples_per_epoch={2 * batches}", f"--trainer.max_epochs={epochs}"]
    return args, stages


def _expected_by_paper(recipe: str, stage: str, changed: list[str]) -> None:
    """What the papers say trains, independently of the models' declarations."""
    g = [n for n in changed if n.startswith("net.")]
    d = [n for n in changed if n.startswith("discriminator.")]
    head = [n for n in changed if n.startswith("seg_head.")]
    assert g or d, f"{recipe} {stage}: nothing trained"
    if stage in ("pretrain", "segmentation"):
        assert not d, f"{recipe} {stage}: the discriminator moved"
    if stage == "adversarial":
        assert g and d, f"{recipe} {stage}: both networks train"
    if recipe.startswith("srseg"):
        assert bool(head) == (stage in ("segmentation", "adversarial")), f"{recipe} {stage}: segmentation head {head}"
    if "from_x3" in recipe:  # EMTCM 4.2 cross-scale: only the deconvolution
        assert g and all(n.startswith("net.deconv.") for n in g), f"{recipe}: {g}"
    if recipe.startswith("csrcnn"):
        top = int(math.log2(int(stage.split()[0][1:]))) - 1
        assert not [n for n in g if n.startswith("net.levels.") and int(n.split(".")[2]) > top], f"{recipe} {stage}"
        assert any(n.startswith(f"net.levels.{top}.") for n in g), f"{recipe} {stage}: the new level does not train"


@pytest.fixture(scope="module")
def recipe_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from helpers.standins import training_sets, vgg16_standin

    work = tmp_path_factory.mktemp("recipes")
    data = training_sets(work / "data")
    vgg16_standin(work / "torch")
    plan, expected = [], {}
    recipes = sorted(_recipes(), key=lambda r: "from_x3" in r)  # the x3 EMTCM first: the cross-scale ones start from it
    for recipe in recipes:
        args, stages = _plan(recipe, data, work / "runs" / recipe)
        entry = {"name": recipe, "args": ["fit", f"--config={EXPERIMENTS / recipe}", *args,
                                          "--trainer.callbacks+=helpers.what_trains.WhatTrainsRecorder"],
                 "out": str(work / f"{recipe}.json")}
        if recipe == "emtcm_x3_t91.yaml":
            entry["keep_last_as"] = str(work / "checkpoints" / "emtcm_x3.ckpt")  # the recipes' init_from path
        plan.append(entry)
        expected[recipe] = stages
    on_top = [*OVERLAYS.items(), *((config, base) for config, base in TRAINER_CONFIGS.items() if base)]
    for extra, base in on_top:  # a YAML run on top of a recipe
        args, stages = _plan(base, data, work / "runs" / extra)
        plan.append({"name": extra,
                     "args": ["fit", f"--config={EXPERIMENTS / base}", f"--config={EXPERIMENTS / extra}", *args,
                              "--trainer.callbacks+=helpers.what_trains.WhatTrainsRecorder"],
                     "out": str(work / f"{extra.replace('/', '_')}.json")})
        expected[extra] = stages
    (work / "plan.json").write_text(json.dumps(plan))
    (work / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}  # a user without a W&B account
    env.update(HOME=str(work / "home"), TORCH_HOME=str(work / "torch"), SR_ZOO_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "helpers" / "no_network"), str(REPO / "tests")]))
    command = [sys.executable, "-m", "helpers.run_recipes", str(work / "plan.json"), str(work / "status.json")]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh", *command]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=1500)
    status = json.loads((work / "status.json").read_text()) if (work / "status.json").is_file() else {}
    return {"work": work, "plan": plan, "expected": expected, "status": status, "stderr": done.stderr}


def _entries() -> list[str]:
    return _recipes() + list(OVERLAYS) + [c for c, base in TRAINER_CONFIGS.items() if base]


@pytest.mark.parametrize("entry", _entries())
def test_recipe_trains_what_its_model_declares(entry: str, recipe_runs: dict[str, Any]) -> None:
    work, stderr = recipe_runs["work"], recipe_runs["stderr"]
    section = stderr.split(f"=== {entry}\n", 1)[-1].split("\n=== ", 1)[0]
    assert recipe_runs["status"].get(entry) == 0, section[-3000:]
    record = json.loads((work / f"{entry.replace('/', '_')}.json").read_text())
    assert record["not_in_any_optimizer"] == []
    assert [s["stage"] for s in record["segments"]] == recipe_runs["expected"][entry]
    for segment in record["segments"]:
        difference = set(segment["changed"]) ^ set(segment["declared"])
        assert segment["changed"] == segment["declared"], (segment["stage"], difference)
        _expected_by_paper(entry.rsplit("/", 1)[-1] if entry not in OVERLAYS else OVERLAYS[entry], segment["stage"],
                           segment["changed"])
    # No W&B account, no network: the recipe's logger went offline.
    assert record["loggers"] == [{"type": "SRZooWandbLogger", "offline": True}]


def test_recipes_logged_offline_runs_without_an_account(recipe_runs: dict[str, Any]) -> None:
    runs = list((recipe_runs["work"] / "wandb").glob("offline-run-*"))
    assert len(runs) == len(recipe_runs["plan"])
    assert "wandb sync" in recipe_runs["stderr"]


def test_gpu_trainer_configs_parse_with_a_recipe(tmp_path: Path) -> None:
    configs = [c for c, base in TRAINER_CONFIGS.items() if not base]
    results = run_cli([["fit", f"--config={EXPERIMENTS / 'fsrcnn_x3.yaml'}", f"--config={EXPERIMENTS / config}",
                        "--print_config"] for config in configs], cwd=tmp_path)  # one interpreter start, not three
    for config, done in zip(configs, results):
        assert done.returncode == 0, done
        printed = yaml.safe_load(done.stdout)
        for key, value in yaml.safe_load((EXPERIMENTS / config).read_text())["trainer"].items():
            assert printed["trainer"][key] == value, (config, key)
