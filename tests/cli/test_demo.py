"""The demo ``sr-zoo fit --model NAME --scale S`` sized to the machine: threads, batch and patch from a measured step,
validation halfway and at the end, a resumed demo on its checkpoint's data, missing VGG16 weights before any work."""

from __future__ import annotations

import itertools
import os
import re
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from sr_zoo.cli import demo, main, threads


class _Clock:
    """``time.perf_counter`` advancing ``step`` seconds per call: a forward and backward timed by two calls takes
    ``step`` seconds, whatever the machine."""

    def __init__(self, step: float) -> None:
        self.ticks = itertools.count()
        self.step = step

    def __call__(self) -> float:
        return next(self.ticks) * self.step


@pytest.mark.parametrize(("seconds_per_sample", "batch", "patch"), [
    (0.001, 16, 72),  # 144 s / 16 ms: 9,000 steps
    (0.1, 4, 72),  # 144 s / 0.4 s = 360 steps; batch 8 would leave 180
    (0.4, 1, 72),  # 360 steps at batch 1
    (1.0, 1, 36),  # 144 steps at batch 1; half the side, a quarter of the pixels: 576
    (10.0, 1, 36),  # nothing leaves 300 steps: the smallest step there is
])
def test_the_batch_and_patch_are_the_largest_that_leave_300_steps(monkeypatch: pytest.MonkeyPatch,
                                                                  seconds_per_sample: float, batch: int,
                                                                  patch: int) -> None:
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(perf_counter=_Clock(seconds_per_sample)))
    assert demo.budget_seconds() == 180 and demo.DEMO_MIN_STEPS == 300
    chosen = demo.demo_batch(nn.Conv2d(1, 1, 3, padding=1), 1, 3, 72, min_side=8)
    expected_step = seconds_per_sample * batch * (patch / 72) ** 2
    assert chosen == (batch, patch, pytest.approx(expected_step))


def test_the_patch_keeps_the_network_s_smallest_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Halving a 12-pixel LR side would give 6, under the models' 8-pixel minimum input (``min_input_side``)."""
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(perf_counter=_Clock(10.0)))
    assert demo.demo_batch(nn.Conv2d(3, 3, 3, padding=1), 3, 4, 48, min_side=8)[:2] == (1, 32)
    assert demo.demo_batch(nn.Conv2d(3, 3, 3, padding=1), 3, 4, 24, min_side=8)[:2] == (1, 24)  # 6: never larger


def test_a_network_with_nothing_to_train_is_timed_by_its_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(perf_counter=_Clock(0.001)))
    assert demo.demo_batch(nn.Upsample(scale_factor=3, mode="bicubic"), 3, 3, 72, min_side=8)[:2] == (16, 72)


def test_a_cpu_demo_takes_one_thread_per_idle_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    chosen: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", chosen.append)
    for load, expected in ((0.2, (4, 0)), (1.3, (3, 1)), (2.6, (1, 3)), (9.0, (1, 3))):
        monkeypatch.setattr(threads, "_busy_now", lambda load=load: load)
        assert demo.demo_threads() == expected
    assert chosen == [4, 3, 1, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice stands
    assert demo.demo_threads() == (None, 0)


def test_the_demo_validates_halfway_and_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """On the demo photos' crops (not Set5/Set14 found under the data root: CSRCNN x8 took minutes on their 19
    images), with Lightning's time-based interval at half the budget (its stop at ``max_time`` validates once more:
    the run summary test's demo ends with a validation); what and when to validate, if the user said it, stands."""
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--model", "fsrcnn", "--scale", "3", "--trainer.accelerator", "cpu", "--print_config"]
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    assert "max_time: 00:00:03:00" in out and "val_check_interval: 00:00:01:30" in out, out
    assert "check_val_every_n_epoch: null" in out
    assert "patch_size: " in out and "patch_size: null" not in out
    assert re.search(r"\n  val:\n  - demo\n", out), out  # the crops, even where Set5/Set14 are under the data root
    with pytest.raises(SystemExit):
        main([*argv, "--trainer.check_val_every_n_epoch", "2", "--data.val", "[set5]"])
    out = capsys.readouterr().out
    assert "max_time: 00:00:03:00" in out and "check_val_every_n_epoch: 2" in out and "val_check_interval: null" in out
    assert re.search(r"\n  val:\n  - set5\n", out), out


def test_processes_started_by_ddp_take_the_first_process_s_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Lightning's DDP launcher re-runs the command line in each new process: they read the plan the first one
    measured (``DEMO_PLAN_ENV``) instead of measuring again, and do not print the demo line; the variable is gone
    when the first process's command ends."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo, "demo_batch", lambda *args, **kwargs: (8, 36, 0.1))
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "3", "--trainer.accelerator", "cpu", "--print_config"])
    assert "batch_size: 8" in capsys.readouterr().out
    assert demo.DEMO_PLAN_ENV not in os.environ
    monkeypatch.setenv(demo.DEMO_PLAN_ENV, "2,30,1")  # as the first process leaves it for DDP's
    monkeypatch.setattr(demo, "demo_batch", lambda *args, **kwargs: pytest.fail("measured again"))
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "3", "--trainer.accelerator", "cpu", "--print_config"])
    out = capsys.readouterr().out
    assert "batch_size: 2" in out and "patch_size: 30" in out
    assert os.environ[demo.DEMO_PLAN_ENV] == "2,30,1"


def test_the_command_leaves_torch_s_threads_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_busy_now", lambda: 64.0)  # every core busy
    before = torch.get_num_threads()
    chosen: list[int] = []
    set_threads = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (chosen.append(n), set_threads(n)))
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "3", "--trainer.accelerator", "cpu", "--print_config"])
    assert chosen == [1, before]  # one thread for the demo, then torch's own again
    assert torch.get_num_threads() == before


def test_a_resumed_demo_keeps_its_checkpoint_s_batch_and_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Resuming with the interrupt hint (the demo's command and ``--ckpt_path``) continues the same data stream:
    the checkpoint's batch and patch, not a new measurement's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    assert main(["fit", "--model", "fsrcnn", "--scale", "3", "--data.batch_size", "3", "--data.patch_size", "30",
                 "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false", "--trainer.logger", "false",
                 "--trainer.limit_val_batches", "0"]) == 0
    checkpoint = next(tmp_path.rglob("last.ckpt"))
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["fit", "--model", "fsrcnn", "--scale", "3", "--ckpt_path", str(checkpoint), "--print_config"])
    out = capsys.readouterr().out
    assert "batch_size: 3" in out and "patch_size: 30" in out, out
    with pytest.raises(SystemExit):  # on a CPU and where there is a GPU alike
        main(["fit", "--model", "fsrcnn", "--scale", "3", "--ckpt_path", str(checkpoint), "--trainer.accelerator",
              "cpu", "--print_config"])
    out = capsys.readouterr().out
    assert "batch_size: 3" in out and "patch_size: 30" in out, out


def test_a_gan_demo_without_vgg16_stops_before_the_trainer_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Offline with an empty torch cache: one line naming the VGG16 file, before Lightning's model summary."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SR_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["fit", "--model", "srgan", "--scale", "4", "--trainer.logger", "false",
                 "--trainer.enable_progress_bar", "false"]) == 2
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [err.strip()]
    assert "vgg16-397923af.pth: VGG16 ImageNet weights (for the perceptual loss) not found" in err
    assert "Trainable params" not in out and "sr_zoo: training;" not in out
