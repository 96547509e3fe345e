"""Acceptance: a run stopped at any batch and resumed ends bit-identical to the uninterrupted run."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import torch

from helpers.resume_runs import BATCHES_PER_EPOCH, SignalAt, gan_steps, run, same, weights
from sr_zoo.errors import TrainingInterrupted

EPOCHS = 4


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """Each model trained for EPOCHS without a stop, a checkpoint after every batch."""
    out = {}
    for name in ("emtcm", "emtcm-bank", "csrcnn", "msfmgan"):
        root = tmp_path_factory.mktemp(name)
        model, trainer, trace = run(name, root, EPOCHS)
        assert trainer.fit_loop.total_batch_idx + 1 == EPOCHS * BATCHES_PER_EPOCH
        out[name] = (weights(model), root, trace.rows)
    return out


def test_the_runs_go_through_their_stages(uninterrupted: dict) -> None:
    """What the resumes below must reproduce: EMTCM halves its rates at epoch 2 (and trains on the
    extended data), CSRCNN trains x2 for 2 epochs, then blends x4 in over epoch 2, batch by batch."""
    for name in ("emtcm", "emtcm-bank"):
        assert [row[4] for row in uninterrupted[name][2]] == [1e-3] * 6 + [5e-4] * 6
    assert [r[3] for r in uninterrupted["emtcm"][2]] != [r[3] for r in uninterrupted["emtcm-bank"][2]]  # other patches
    csrcnn = uninterrupted["csrcnn"][2]
    assert [row[5] for row in csrcnn] == [1] * 6 + [2] * 6
    assert [row[6] for row in csrcnn] == [1.0] * 6 + [0.0, round(1 / 3, 6), round(2 / 3, 6)] + [1.0] * 3
    assert [row[7] for row in csrcnn] == ["l1"] * 9 + ["l2"] * 3
    assert [row[:3] for row in csrcnn] == [(i, i // 3, i % 3) for i in range(12)]
    gan = uninterrupted["msfmgan"][2]
    assert [row[8] for row in gan] == ["pretrain"] * 4 + ["d_warmup"] + ["adversarial"] * 7
    # Read after each batch's scheduler step: halved after iterations 5 and 10.
    assert [row[4] for row in gan] == [1e-3] * 4 + [5e-4] * 5 + [2.5e-4] * 3


# Steps (batches, counted from 1) after which the run is stopped: inside an epoch; at the stage
# boundary (end of epoch 1: EMTCM switches data and halves its rates, CSRCNN starts its x4 stage);
# inside the blend or just after the switch (batch 2 of epoch 2).
STOPS = {"inside_epoch": 4, "stage_boundary": 6, "inside_blend": 8}


@pytest.mark.parametrize("name", ["emtcm", "emtcm-bank", "csrcnn", "msfmgan"])
@pytest.mark.parametrize("where", list(STOPS))
def test_resume_from_a_killed_run_is_bit_identical(name: str, where: str, uninterrupted: dict, tmp_path: Path) -> None:
    """SIGKILL after batch k leaves the checkpoint of batch k (written atomically every batch); resume from it.

    For the GAN the stops fall in the MSE stage, right after the discriminator's warm-up batch, and in
    the adversarial stage; its checkpoints are named by optimizer steps (``GANModule.optimizer_steps``).
    """
    full, root, rows = uninterrupted[name]
    step = STOPS[where] if name != "msfmgan" else {"inside_epoch": 3, "stage_boundary": 5, "inside_blend": 8}[where]
    name_step = step if name != "msfmgan" else gan_steps(step)
    ckpt = root / "run" / "checkpoints" / f"step={name_step}.ckpt"
    work = tmp_path / "resumed"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("run"))
    model, trainer, trace = run(name, work, EPOCHS, ckpt=str(ckpt))
    assert trainer.fit_loop.total_batch_idx + 1 == EPOCHS * BATCHES_PER_EPOCH
    # Same batches, positions, rates and stage, batch by batch, from the stop on ...
    assert trace.rows == rows[step:]
    # ... and the same weights at the end, to the bit.
    assert same(weights(model), full), f"{name} resumed after step {step} differs from the uninterrupted run"


def test_resume_without_the_data_position_is_not_identical(uninterrupted: dict, tmp_path: Path) -> None:
    """The check above can fail: drop the data stream's position from the checkpoint and the weights differ."""
    full, root, _ = uninterrupted["emtcm"]
    checkpoint = torch.load(root / "run" / "checkpoints" / "step=4.ckpt", weights_only=True)
    del checkpoint["SRDataModule"]
    stripped = tmp_path / "stripped.ckpt"
    torch.save(checkpoint, stripped)
    work = tmp_path / "resumed"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("run"))
    model, _, _ = run("emtcm", work, EPOCHS, ckpt=str(stripped))
    assert not same(weights(model), full)


@pytest.mark.parametrize("name,step", [("emtcm", 5), ("csrcnn", 7)])
def test_sigterm_writes_a_checkpoint_at_the_batch_and_resume_is_bit_identical(name: str, step: int, uninterrupted: dict,
                                                                             tmp_path: Path) -> None:
    full, root, _ = uninterrupted[name]
    work = tmp_path / "run"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("run"))
    with pytest.raises(TrainingInterrupted) as stopped:
        run(name, work, EPOCHS, callbacks=(SignalAt(step),), every_step=False)
    assert stopped.value.exit_code == 143 and "SIGTERM" in str(stopped.value)
    last = work / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == step
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored after the stop
    model, _, _ = run(name, work, EPOCHS, ckpt=str(last), every_step=False)
    assert same(weights(model), full)


@pytest.mark.parametrize("name", ["emtcm", "emtcm-bank"])
def test_resume_with_other_worker_count_is_bit_identical(name: str, uninterrupted: dict, tmp_path: Path) -> None:
    """Randomness is per item, not per worker: 2 loader workers after a stop give the same weights (with the
    patch bank, each worker maps the bank's files itself)."""
    full, root, _ = uninterrupted[name]
    work = tmp_path / "resumed"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("run"))
    model, _, _ = run(name, work, EPOCHS, ckpt=str(root / "run" / "checkpoints" / "step=7.ckpt"), workers=2)
    assert same(weights(model), full)


def test_a_run_stopped_by_max_steps_continues_exactly(uninterrupted: dict, tmp_path: Path) -> None:
    """Stopped by ``max_steps`` inside epoch 1 (before the data switch), resumed from ``last.ckpt`` with a
    larger ``max_steps``: the same batches, stage and weights as one run (the switch is not early)."""
    full, root, rows = uninterrupted["emtcm"]
    work = tmp_path / "run"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("run"))
    run("emtcm", work, EPOCHS, every_step=False, max_steps=4)
    last = work / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["SRDataModule"]["progress"]["batches"] == 4
    model, trainer, trace = run("emtcm", work, EPOCHS, every_step=False, ckpt=str(last))
    assert trainer.global_step == EPOCHS * BATCHES_PER_EPOCH  # not an epoch short
    # Lightning restarts batch_idx at 0 for the rest of the epoch (column 2); all else is the same.
    assert [r[:2] + r[3:] for r in trace.rows] == [r[:2] + r[3:] for r in rows[4:]]
    assert same(weights(model), full)
