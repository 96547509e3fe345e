"""Issue 17, probe cases 3, 6/7 and 8 (checkpoints): a checkpoint of another model or scale, a file that is
not a checkpoint, a dict without Lightning's keys, weights of the wrong widths, records of odd types and
NaN weights are each one line naming the file, in every command that reads a checkpoint (``fit
--ckpt_path``, ``init_from``, ``upscale``/``benchmark``/``compare``); a deliberate cross-scale
``init_from`` says in one line what it loads. All through the real CLI (``cli_runner``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers.cli_runner import CliResult, run_cli


def _fit(root: Path, run: str, model: str, scale: int, *extra: str) -> list[str]:
    return ["fit", "--model", model, "--scale", str(scale), "--data.train", f"[{root / 'train'}]", "--data.val", "[]",
            "--data.root", str(root / "data"), "--data.num_workers", "0", "--data.batch_size", "4",
            "--data.samples_per_epoch", "4", "--data.patch_size", "24", "--trainer.max_steps", "1",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--trainer.default_root_dir", str(root / run), *extra]


def _crafted(root: Path, fsrcnn: Path, emtcm: Path) -> dict[str, Path]:
    """Bad checkpoints made from real ones (so that everything else about them is right)."""
    from sr_zoo.models.fsrcnn import FSRCNN

    good = torch.load(fsrcnn, weights_only=True)
    files: dict[str, Path] = {}

    def save(name: str, obj: object) -> None:
        files[name] = root / f"{name}.ckpt"
        torch.save(obj, files[name])

    (root / "text.ckpt").write_text("epoch 3: weights in the next file\n")
    files["text"] = root / "text.ckpt"
    save("no_lightning_keys", {"weights": {"a": torch.zeros(1)}, "note": "not from Lightning"})
    narrow = copy.deepcopy(good)  # the right model, other widths (d=32), under hyper-parameters saying d=56
    narrow["state_dict"] = {k: v for k, v in FSRCNN(scale=2, d=32).state_dict().items()}
    save("wrong_widths", narrow)
    for name, key, value in [("record_str", "sr_zoo", "fsrcnn"),
                             ("scale_str", "sr_zoo", {"model": "fsrcnn", "scale": "2"}),
                             ("state_dict_list", "state_dict", [1, 2]), ("hparams_list", "hyper_parameters", [1]),
                             ("tensor_str", "state_dict", {"net.deconv.weight": "zeros"})]:
        odd = copy.deepcopy(good)
        odd[key] = value
        save(name, odd)
    weights_only = copy.deepcopy(good)
    for key in ("optimizer_states", "lr_schedulers", "loops"):
        weights_only.pop(key)
    save("weights_only", weights_only)
    nan = copy.deepcopy(good)
    nan["state_dict"]["net.deconv.weight"] = torch.full_like(nan["state_dict"]["net.deconv.weight"], float("nan"))
    save("nan_weights", nan)
    return files


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("checkpoints")
    rng = np.random.default_rng(0)
    for folder, n, size in (("train", 2, 48), ("set", 2, 40)):
        (root / folder).mkdir()
        for i in range(n):
            cv2.imwrite(str(root / folder / f"{i}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    made = run_cli([_fit(root, "fsrcnn_x2", "fsrcnn", 2), _fit(root, "emtcm_x3", "emtcm", 3)], cwd=root)
    for result in made:
        assert result.returncode == 0, result
    fsrcnn, emtcm = (root / run / "checkpoints" / "last.ckpt" for run in ("fsrcnn_x2", "emtcm_x3"))
    files = _crafted(root, fsrcnn, emtcm)
    img = root / "set" / "0.png"

    def benchmark(ckpt: Path, *extra: str) -> list:
        return ["benchmark", "--model", "fsrcnn", "--ckpt", ckpt, "--scale", "2", "--data", root / "set", *extra]

    def upscale(ckpt: Path, out: str = "out") -> list:
        return ["upscale", img, "-o", root / out, "--model", "fsrcnn", "--scale", "2", "--ckpt", ckpt]

    cases: dict[str, list] = {
        # case 3: another model / another scale given to fit --ckpt_path
        "fit: FSRCNN checkpoint for emtcm": _fit(root, "r1", "emtcm", 2, "--ckpt_path", fsrcnn),
        "fit: x3 EMTCM for x2": _fit(root, "r2", "emtcm", 2, "--ckpt_path", emtcm),
        "fit: x3 EMTCM for x2 (config file)": _fit(root, "r3", "emtcm", 2, "--ckpt_path", emtcm),
        "init_from: x3 EMTCM into x2 (cross-scale)": _fit(root, "r4", "emtcm", 2, "--model.init_args.init_from", emtcm),
        "init_from: FSRCNN into emtcm": _fit(root, "r5", "emtcm", 2, "--model.init_args.init_from", fsrcnn),
        "init_from: text file": _fit(root, "r6", "emtcm", 2, "--model.init_args.init_from", files["text"]),
        "resume (control)": _fit(root, "emtcm_x3", "emtcm", 3, "--ckpt_path", emtcm, "--trainer.max_steps", "2"),
        # cases 6/7: not checkpoints, in every command
        "benchmark: text file": benchmark(files["text"]),
        "upscale: text file": upscale(files["text"]),
        "compare: text file": ["compare", img, "-o", root / "fig.png", "--models", f"fsrcnn={files['text']}",
                               "--scale", "2"],
        "fit: text file": _fit(root, "r7", "fsrcnn", 2, "--ckpt_path", files["text"]),
        "validate: text file": ["validate", *_fit(root, "r8", "fsrcnn", 2, "--ckpt_path", files["text"])[1:]],
    }
    for name in ("no_lightning_keys", "wrong_widths", "record_str", "scale_str", "state_dict_list", "hparams_list",
                 "tensor_str", "weights_only"):
        cases[f"fit: {name}"] = _fit(root, f"r_{name}", "fsrcnn", 2, "--ckpt_path", files[name])
    for name in ("wrong_widths", "record_str", "tensor_str"):
        cases[f"upscale: {name}"] = upscale(files[name])
    # case 8: NaN weights
    cases["benchmark --json: NaN weights"] = benchmark(files["nan_weights"], "--json")
    cases["upscale: NaN weights"] = upscale(files["nan_weights"], "nan_out")
    config = root / "emtcm_x2.yaml"  # the run's model and scale from a config file, as recipes give them
    config.write_text("model:\n  class_path: sr_zoo.models.EMTCM\ndata:\n  scale: 2\n")
    cases["fit: x3 EMTCM for x2 (config file)"] = ["fit", "--config", config, *_fit(root, "r3", "emtcm", 2)[5:],
                                                   "--ckpt_path", emtcm]
    results = dict(zip(cases, run_cli(list(cases.values()), cwd=root)))
    return {"root": root, "results": results, "files": files, "fsrcnn": fsrcnn, "emtcm": emtcm}


def _error_line(result: CliResult, *fragments: str, exactly_one: bool = True) -> str:
    """The run failed with status 2 and an ``sr-zoo: error:`` line (the only stderr line where the error
    comes before LightningCLI starts; the last one where Lightning has printed its banner first)."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result
    if exactly_one:
        assert len(result.err_lines) == 1, result
    line = result.err_lines[-1]
    assert line.startswith("sr-zoo: error: "), result
    for fragment in fragments:
        assert fragment in line, result
    return line


MISMATCHES = {
    "fit: FSRCNN checkpoint for emtcm": ("fsrcnn_x2/checkpoints/last.ckpt", "a checkpoint of 'fsrcnn', not of 'emtcm'"),
    "fit: x3 EMTCM for x2": ("emtcm_x3/checkpoints/last.ckpt", "trained for scale 3, not 2", "init_from"),
    "fit: x3 EMTCM for x2 (config file)": ("emtcm_x3/checkpoints/last.ckpt", "trained for scale 3, not 2"),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_fit_ckpt_path_of_another_model_or_scale_is_refused_before_training(probe: dict, case: str) -> None:
    _error_line(probe["results"][case], "--ckpt_path", *MISMATCHES[case])
    args = probe["results"][case].args
    run = probe["root"] / args[args.index("--trainer.default_root_dir") + 1]
    assert not (run / "checkpoints").exists()  # nothing trained


def test_a_matching_checkpoint_still_resumes(probe: dict) -> None:
    result = probe["results"]["resume (control)"]
    assert result.returncode == 0, result
    resumed = torch.load(probe["emtcm"], weights_only=True)
    assert resumed["global_step"] == 2 and resumed["sr_zoo"] == {"model": "emtcm", "scale": 3}


def test_init_from_across_scales_says_what_it_loads(probe: dict) -> None:
    result = probe["results"]["init_from: x3 EMTCM into x2 (cross-scale)"]
    assert result.returncode == 0, result
    said = [line for line in (result.stdout + result.stderr).splitlines() if "init_from" in line]
    assert len(said) == 1, result
    assert "emtcm_x3/checkpoints/last.ckpt" in said[0]
    assert "of a emtcm x3 checkpoint into this emtcm x2 (cross-scale start" in said[0]
    trained = torch.load(probe["root"] / "r4" / "checkpoints" / "last.ckpt", weights_only=True)
    assert trained["sr_zoo"] == {"model": "emtcm", "scale": 2}


@pytest.mark.parametrize("case,fragments", [
    ("init_from: FSRCNN into emtcm",
     ("fsrcnn_x2/checkpoints/last.ckpt", "init_from", "a checkpoint of 'fsrcnn', not of 'emtcm'")),
    ("init_from: text file", ("text.ckpt", "not a PyTorch checkpoint file")),
])
def test_init_from_refuses_in_one_line(probe: dict, case: str, fragments: tuple) -> None:
    _error_line(probe["results"][case], *fragments)  # before the trainer starts: its only line


@pytest.mark.parametrize("case", ["benchmark: text file", "upscale: text file", "compare: text file", "fit: text file",
                                  "validate: text file"])
def test_a_text_file_as_a_checkpoint_is_one_line_in_every_command(probe: dict, case: str) -> None:
    _error_line(probe["results"][case], "text.ckpt: not a loadable checkpoint: not a PyTorch checkpoint file")


CRAFTED = {
    "fit: no_lightning_keys": "not a Lightning checkpoint (no state_dict; it holds note, weights)",
    "fit: wrong_widths": "weights do not fit fsrcnn (size mismatch for net.body.0.0.weight",
    "fit: record_str": "its 'sr_zoo' record is a str, not a dict",
    "fit: scale_str": "its scale is a str: '2'",
    "fit: state_dict_list": "its state_dict is a list",
    "fit: hparams_list": "hyper_parameters is a list, not a dict",
    "fit: tensor_str": "state_dict entry 'net.deconv.weight' is a str, not a tensor",
    "fit: weights_only": "cannot resume a fit from it: no training state (optimizer_states, lr_schedulers, loops",
    "upscale: wrong_widths": "weights do not fit fsrcnn (size mismatch for net.body.0.0.weight",
    "upscale: record_str": "its 'sr_zoo' record is a str, not a dict",
    "upscale: tensor_str": "state_dict entry 'net.deconv.weight' is a str, not a tensor",
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_checkpoints_are_one_line_naming_the_file(probe: dict, case: str) -> None:
    name = case.split(": ")[1]
    line = _error_line(probe["results"][case], f"{name}.ckpt", CRAFTED[case])
    assert line.startswith("sr-zoo: error: --ckpt_path ") == case.startswith("fit")


def test_nan_weights_are_an_error_and_json_stays_valid(probe: dict) -> None:
    result = probe["results"]["benchmark --json: NaN weights"]
    _error_line(result, "nan_weights.ckpt", "weights are NaN or infinite")
    payload = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert payload["results"] == [] and "NaN or infinite" in payload["error"]
    _error_line(probe["results"]["upscale: NaN weights"], "nan_weights.ckpt", "weights are NaN or infinite")
    assert not (probe["root"] / "nan_out").exists() or not any((probe["root"] / "nan_out").iterdir())
